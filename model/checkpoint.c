/*
 * checkpoint.c — saving and restoring a training run: parameters, AdamW
 * moments, step, the data sampler's RNG state and the loop's bookkeeping.
 *
 * Format (little-endian, version 1):
 *   u64 magic "SSCLCKPT", u32 version, u32 reserved,
 *   i32 n_layer, d_model, n_head, d_ff, n_ctx, n_vocab,
 *   char run_id[16], i64 step, i64 tokens, u64 rng[4],
 *   f64 best_val, last_val, last_bpb, last_train, elapsed, i32 bad_evals, i32 evals_done,
 *   u64 nparams, f32 params[nparams], f32 m[nparams], f32 v[nparams],
 *   u64 FNV-1a 64 of every byte before it.
 * Written under a temporary name and renamed (util_afile), so a crash leaves
 * the previous checkpoint intact. Gradients are not saved (zeroed every step).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define HDR_BYTES (8 + 4 + 4 + 6 * 4 + 16 + 8 + 8 + 32 + 5 * 8 + 4 + 4 + 8)

typedef struct {
    uint8_t buf[HDR_BYTES];
    size_t n;
} hdr_writer;

static void put(hdr_writer *w, const void *p, size_t n) {
    memcpy(w->buf + w->n, p, n);
    w->n += n;
}

static void header(hdr_writer *w, const nn_gpt *g, const nn_ckpt_state *st) {
    uint64_t magic = NN_CKPT_MAGIC, np = g->nparams;
    uint32_t ver = NN_CKPT_VERSION, res = 0;
    int32_t shape[6] = {g->s.n_layer, g->s.d_model, g->s.n_head,
                        g->s.d_ff,    g->s.n_ctx,   g->s.n_vocab};
    char id[16];
    memset(id, 0, sizeof id);
    memcpy(id, st->run_id, strnlen(st->run_id, 16));
    w->n = 0;
    put(w, &magic, 8);
    put(w, &ver, 4);
    put(w, &res, 4);
    put(w, shape, sizeof shape);
    put(w, id, 16);
    put(w, &st->step, 8);
    put(w, &st->tokens, 8);
    put(w, st->data_rng.s, 32);
    put(w, &st->best_val, 8);
    put(w, &st->last_val, 8);
    put(w, &st->last_bpb, 8);
    put(w, &st->last_train, 8);
    put(w, &st->elapsed, 8);
    put(w, &st->bad_evals, 4);
    put(w, &st->evals_done, 4);
    put(w, &np, 8);
}

int nn_ckpt_save(const char *path, const nn_gpt *g, const nn_ckpt_state *st, char *err,
                 size_t errlen) {
    util_afile *f = NULL;
    int rc = util_afile_open(&f, path, err, errlen);
    if (rc) return rc;
    FILE *fp = util_afile_fp(f);
    hdr_writer w;
    header(&w, g, st);
    uint64_t h = util_fnv64(UTIL_FNV_INIT, w.buf, w.n);
    int ok = fwrite(w.buf, 1, w.n, fp) == w.n;
    const float *arrs[3] = {g->params_mem, g->m_mem, g->v_mem};
    for (int i = 0; i < 3 && ok; i++) {
        size_t bytes = g->nparams * sizeof(float);
        h = util_fnv64(h, arrs[i], bytes);
        ok = fwrite(arrs[i], 1, bytes, fp) == bytes;
    }
    if (ok) ok = fwrite(&h, 8, 1, fp) == 1;
    if (!ok) {
        util_afile_abort(f);
        return util_err(err, errlen, UTIL_EIO, "%s: write failed (disk full?)", path);
    }
    return util_afile_commit(f, err, errlen);
}

int nn_ckpt_load(const char *path, nn_gpt *g, nn_ckpt_state *st, char *err, size_t errlen) {
    char *data = NULL;
    size_t n = 0;
    int rc = util_read_file(path, &data, &n, err, errlen);
    if (rc) return rc;
    const uint8_t *b = (const uint8_t *)data;
    size_t want = HDR_BYTES + 3 * g->nparams * sizeof(float) + 8;
    uint64_t magic;
    uint32_t ver;
    int32_t shape[6];
    uint64_t np;
    if (n < HDR_BYTES) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: truncated checkpoint (%zu bytes)", path, n);
        goto done;
    }
    memcpy(&magic, b, 8);
    memcpy(&ver, b + 8, 4);
    memcpy(shape, b + 16, sizeof shape);
    memcpy(&np, b + HDR_BYTES - 8, 8);
    if (magic != NN_CKPT_MAGIC) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: not a scaling checkpoint (bad magic)", path);
        goto done;
    }
    if (ver != NN_CKPT_VERSION) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: checkpoint version %u, expected %d", path,
                      ver, NN_CKPT_VERSION);
        goto done;
    }
    int32_t mine[6] = {g->s.n_layer, g->s.d_model, g->s.n_head,
                       g->s.d_ff,    g->s.n_ctx,   g->s.n_vocab};
    if (memcmp(shape, mine, sizeof mine) != 0 || np != g->nparams) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: checkpoint shape L%d D%d H%d F%d T%d V%d differs from the model's "
                      "L%d D%d H%d F%d T%d V%d",
                      path, shape[0], shape[1], shape[2], shape[3], shape[4], shape[5], mine[0],
                      mine[1], mine[2], mine[3], mine[4], mine[5]);
        goto done;
    }
    if (n != want) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: checkpoint is %zu bytes, expected %zu", path,
                      n, want);
        goto done;
    }
    uint64_t h = util_fnv64(UTIL_FNV_INIT, b, n - 8), stored;
    memcpy(&stored, b + n - 8, 8);
    if (h != stored) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: checkpoint checksum mismatch (stored %016llx, computed %016llx): the "
                      "file is corrupt",
                      path, (unsigned long long)stored, (unsigned long long)h);
        goto done;
    }
    size_t o = 16 + sizeof shape;
    memset(st, 0, sizeof *st);
    memcpy(st->run_id, b + o, 16);
    st->run_id[16] = 0;
    o += 16;
    memcpy(&st->step, b + o, 8), o += 8;
    memcpy(&st->tokens, b + o, 8), o += 8;
    memcpy(st->data_rng.s, b + o, 32), o += 32;
    memcpy(&st->best_val, b + o, 8), o += 8;
    memcpy(&st->last_val, b + o, 8), o += 8;
    memcpy(&st->last_bpb, b + o, 8), o += 8;
    memcpy(&st->last_train, b + o, 8), o += 8;
    memcpy(&st->elapsed, b + o, 8), o += 8;
    memcpy(&st->bad_evals, b + o, 4), o += 4;
    memcpy(&st->evals_done, b + o, 4), o += 4;
    o += 8; /* nparams */
    size_t bytes = g->nparams * sizeof(float);
    memcpy(g->params_mem, b + o, bytes);
    memcpy(g->m_mem, b + o + bytes, bytes);
    memcpy(g->v_mem, b + o + 2 * bytes, bytes);
    rc = 0;
done:
    free(data);
    return rc;
}
