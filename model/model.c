/*
 * model.c — the network: shape checks, the parameter layout (the one place
 * tensor shapes are defined), parameter and FLOP counts, the learning-rate
 * schedules, the run id, and the GPT forward/backward/AdamW on top of the
 * layer ops in nn.c.
 * Does not own: the training loop and data (train.c), checkpoints
 * (checkpoint.c), the benchmark (bench.c).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "nn.h"

/* ======================================================================== */
/* Shape, layout, counts                                                    */
/* ======================================================================== */

int model_shape_check(const model_shape *s, char *err, size_t errlen) {
    if (s->n_layer < 1 || s->n_layer > 1024)
        return util_err(err, errlen, UTIL_EINVAL, "n_layer: expected 1..1024, got %d", s->n_layer);
    if (s->d_model < 1 || s->d_model > 65536)
        return util_err(err, errlen, UTIL_EINVAL, "d_model: expected 1..65536, got %d", s->d_model);
    if (s->n_head < 1 || s->d_model % s->n_head != 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "n_head: expected a divisor of d_model %d, got %d", s->d_model, s->n_head);
    if (s->d_ff < 1 || s->d_ff > 1 << 20)
        return util_err(err, errlen, UTIL_EINVAL, "d_ff: expected 1..1048576, got %d", s->d_ff);
    if (s->n_ctx < 1 || s->n_ctx > 1 << 16)
        return util_err(err, errlen, UTIL_EINVAL, "n_ctx: expected 1..65536, got %d", s->n_ctx);
    if (s->n_vocab < 2 || s->n_vocab > 1 << 24)
        return util_err(err, errlen, UTIL_EINVAL, "n_vocab: expected 2..16777216, got %d",
                        s->n_vocab);
    return 0;
}

const char *const nn_tensor_names[NN_NTENSORS] = {
    "wte",  "wpe",  "ln1w", "ln1b", "qkvw",    "qkvb",    "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw",  "fcb",  "fcprojw", "fcprojb", "lnfw",     "lnfb"};
const int nn_tensor_is_matrix[NN_NTENSORS] = {1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0};

void nn_param_sizes(const model_shape *s, size_t sz[NN_NTENSORS]) {
    size_t L = (size_t)s->n_layer, C = (size_t)s->d_model, F = (size_t)s->d_ff;
    size_t V = (size_t)s->n_vocab, T = (size_t)s->n_ctx;
    sz[0] = V * C;         /* wte */
    sz[1] = T * C;         /* wpe */
    sz[2] = L * C;         /* ln1w */
    sz[3] = L * C;         /* ln1b */
    sz[4] = L * 3 * C * C; /* qkvw */
    sz[5] = L * 3 * C;     /* qkvb */
    sz[6] = L * C * C;     /* attprojw */
    sz[7] = L * C;         /* attprojb */
    sz[8] = L * C;         /* ln2w */
    sz[9] = L * C;         /* ln2b */
    sz[10] = L * F * C;    /* fcw */
    sz[11] = L * F;        /* fcb */
    sz[12] = L * C * F;    /* fcprojw */
    sz[13] = L * C;        /* fcprojb */
    sz[14] = C;            /* lnfw */
    sz[15] = C;            /* lnfb */
}

void model_count_params(const model_shape *s, model_counts *out) {
    size_t sz[NN_NTENSORS];
    nn_param_sizes(s, sz);
    int64_t total = 0;
    for (int i = 0; i < NN_NTENSORS; i++)
        total += (int64_t)sz[i];
    out->total = total;
    out->embedding = (int64_t)(sz[0] + sz[1]); /* the tied head is the token embedding */
    out->nonembedding = total - out->embedding;
}

/* ======================================================================== */
/* FLOPs per training token                                                 */
/* ======================================================================== */

/* Kaplan et al. 2020, §2.1 / Table 1: forward C_forward = 2N + 2 n_layer n_ctx d_attn
 * (d_attn = d_model here), N the non-embedding parameters; training = 3 × forward
 * (backward ≈ 2 × forward). The de-embedding (logits) matmul adds 2 d_model n_vocab
 * per forward token when counted. */
double model_flops_kaplan(const model_shape *s, int with_deembed) {
    model_counts c;
    model_count_params(s, &c);
    double fwd = 2.0 * (double)c.nonembedding + 2.0 * s->n_layer * (double)s->n_ctx * s->d_model;
    if (with_deembed) fwd += 2.0 * (double)s->d_model * s->n_vocab;
    return 3.0 * fwd;
}

/* Hoffmann et al. 2022 (Chinchilla), Appendix F, per token of a full-context
 * sequence (their table is per sequence; divided by n_ctx here), with
 * key_size * n_heads = d_model:
 *   embeddings          2 n_vocab d_model
 *   per layer:
 *     QKV projections   2 · 3 · d_model (key_size n_heads)
 *     attention logits  2 n_ctx (key_size n_heads)
 *     softmax           3 n_heads n_ctx
 *     reduction (att·V) 2 n_ctx (key_size n_heads)
 *     output projection 2 (key_size n_heads) d_model
 *     dense block       2 · 2 d_model d_ff
 *   final logits        2 d_model n_vocab
 * forward = embeddings + n_layer × per-layer + logits; training = 3 × forward
 * (backward = 2 × forward). Biases and layer norms are not counted. */
double model_flops_chinchilla(const model_shape *s) {
    double C = s->d_model, T = s->n_ctx, V = s->n_vocab, F = s->d_ff, H = s->n_head;
    double kh = C; /* key_size * n_heads */
    double emb = 2.0 * V * C;
    double layer = 2.0 * 3.0 * C * kh   /* QKV */
                   + 2.0 * T * kh       /* logits */
                   + 3.0 * H * T        /* softmax */
                   + 2.0 * T * kh       /* reduction */
                   + 2.0 * kh * C       /* output projection */
                   + 2.0 * 2.0 * C * F; /* dense block */
    double logits = 2.0 * C * V;
    double fwd = emb + s->n_layer * layer + logits;
    return 3.0 * fwd;
}

/* The MFU count shared with shared/bench/torch_gpt_bench.py: 6 (N + d_model n_vocab)
 * for the matmuls (forward 2, backward 4 per weight per token, the tied head
 * counted once as a matmul) plus 12 n_layer n_ctx d_model for attention
 * (QK^T and att·V, 2 × 2 n_ctx d_model forward, ×3 with backward; the full
 * square, not the causal half, as PyTorch's and nanoGPT's counts do). */
double model_flops_mfu(const model_shape *s) {
    model_counts c;
    model_count_params(s, &c);
    return 6.0 * ((double)c.nonembedding + (double)s->d_model * s->n_vocab) +
           12.0 * s->n_layer * (double)s->n_ctx * s->d_model;
}

/* ======================================================================== */
/* Configuration, schedules, run id                                         */
/* ======================================================================== */

const char *model_sched_name(model_sched s) {
    switch (s) {
    case SCHED_COSINE:
        return "cosine";
    case SCHED_CONSTANT:
        return "constant";
    case SCHED_FIXED_COSINE:
        return "fixed-cosine";
    }
    return "?";
}

int model_sched_parse(const char *name, model_sched *out) {
    for (int i = 0; i < 3; i++)
        if (strcmp(name, model_sched_name((model_sched)i)) == 0) {
            *out = (model_sched)i;
            return 0;
        }
    return UTIL_EINVAL;
}

void model_train_defaults(model_train_config *c) {
    memset(c, 0, sizeof *c);
    c->shape = (model_shape){
        .n_layer = 2, .d_model = 64, .n_head = 2, .d_ff = 256, .n_ctx = 256, .n_vocab = 0};
    c->batch = 16;
    c->micro_batch = 0;
    c->tokens = 1000000;
    c->unique_tokens = 0;
    c->lr = 1e-3;
    c->min_lr_frac = 0.1;
    c->warmup = 100;
    c->schedule = SCHED_COSINE;
    c->cycle_tokens = 0;
    c->weight_decay = 0.1;
    c->beta1 = 0.9;
    c->beta2 = 0.95;
    c->eps = 1e-8;
    c->grad_clip = 1.0;
    c->evals = 10;
    c->eval_windows = 64;
    c->patience = 0;
    c->log_every = 10;
    c->seed = 1;
    c->threads = 0;
    c->checkpoint_secs = 300;
    c->resume = 0;
    c->stop = NULL;
}

void model_run_id(const model_train_config *c, char out[17]) {
    char buf[2048];
    /* n_vocab is left out (it follows from data_dir and may still be 0);
     * d_ff 0 means the default 4 d_model. */
    const model_shape *s = &c->shape;
    int dff = s->d_ff > 0 ? s->d_ff : 4 * s->d_model;
    int n = snprintf(buf, sizeof buf,
                     "v1|L%d|D%d|H%d|F%d|T%d|data=%s|B%d|tok%lld|u%lld|lr%.17g|min%.17g|w%d|"
                     "s%d|cyc%lld|wd%.17g|b1%.17g|b2%.17g|eps%.17g|clip%.17g|ev%d|evw%d|pat%d|"
                     "seed%llu",
                     s->n_layer, s->d_model, s->n_head, dff, s->n_ctx, c->data_dir, c->batch,
                     (long long)c->tokens, (long long)c->unique_tokens, c->lr, c->min_lr_frac,
                     c->warmup, (int)c->schedule, (long long)c->cycle_tokens, c->weight_decay,
                     c->beta1, c->beta2, c->eps, c->grad_clip, c->evals, c->eval_windows,
                     c->patience, (unsigned long long)c->seed);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    uint64_t h = util_fnv64(UTIL_FNV_INIT, buf, (size_t)n);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Learning rate of optimizer step `step` (0-based) of a run of `steps`:
 * linear warm-up over `warmup` steps (lr·(step+1)/warmup), then
 *   cosine:       lr_min + (lr - lr_min)·½(1 + cos(π p)), p = (step - warmup)/(steps - 1 - warmup),
 *                 so the last step of the budget uses exactly lr_min = min_lr_frac·lr;
 *   constant:     lr;
 *   fixed-cosine: the same cosine over a horizon of cycle_tokens/tokens_per_step steps
 *                 set independently of the run (Kaplan et al.'s set-up), lr_min after it. */
double model_lr_at(const model_train_config *c, int64_t step, int64_t steps) {
    double lr = c->lr, lo = c->lr * c->min_lr_frac;
    if (c->warmup > 0 && step < c->warmup) return lr * (double)(step + 1) / (double)c->warmup;
    int64_t horizon = steps;
    if (c->schedule == SCHED_CONSTANT) return lr;
    if (c->schedule == SCHED_FIXED_COSINE) {
        int64_t tps = (int64_t)c->batch * c->shape.n_ctx;
        horizon = tps > 0 ? (c->cycle_tokens + tps - 1) / tps : steps;
    }
    int64_t span = horizon - 1 - c->warmup;
    if (span <= 0) return step >= horizon - 1 ? lo : lr;
    double p = (double)(step - c->warmup) / (double)span;
    if (p > 1.0) p = 1.0;
    if (p < 0.0) p = 0.0;
    return lo + (lr - lo) * 0.5 * (1.0 + cos(M_PI * p));
}

/* ======================================================================== */
/* The GPT network                                                          */
/* ======================================================================== */

void nn_gpt_free(nn_gpt *g) {
    if (!g) return;
    nn_pool_free(g->pool);
    free(g->params_mem);
    free(g->grads_mem);
    free(g->m_mem);
    free(g->v_mem);
    free(g->acts_mem);
    free(g->inputs);
    free(g->targets);
    free(g);
}

static void views(float *mem, const size_t sz[NN_NTENSORS], nn_params *v) {
    float **p[NN_NTENSORS] = {&v->wte,      &v->wpe,      &v->ln1w, &v->ln1b, &v->qkvw, &v->qkvb,
                              &v->attprojw, &v->attprojb, &v->ln2w, &v->ln2b, &v->fcw,  &v->fcb,
                              &v->fcprojw,  &v->fcprojb,  &v->lnfw, &v->lnfb};
    for (int i = 0; i < NN_NTENSORS; i++) {
        *p[i] = mem;
        mem += sz[i];
    }
}

/* 64-byte aligned, zeroed. */
static float *falloc(size_t n) {
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

int nn_gpt_create(nn_gpt **out, const model_shape *s, int B, int threads, char *err,
                  size_t errlen) {
    *out = NULL;
    int rc = model_shape_check(s, err, errlen);
    if (rc) return rc;
    if (B < 1) return util_err(err, errlen, UTIL_EINVAL, "micro batch must be >= 1, got %d", B);
    if (threads < 1) threads = 1;
    nn_gpt *g = calloc(1, sizeof *g);
    if (!g) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    g->s = *s;
    g->B = B;
    nn_param_sizes(s, g->sizes);
    for (int i = 0; i < NN_NTENSORS; i++)
        g->nparams += g->sizes[i];
    g->params_mem = falloc(g->nparams);
    g->grads_mem = falloc(g->nparams);
    g->m_mem = falloc(g->nparams);
    g->v_mem = falloc(g->nparams);

    size_t L = (size_t)s->n_layer, C = (size_t)s->d_model, F = (size_t)s->d_ff;
    size_t T = (size_t)s->n_ctx, V = (size_t)s->n_vocab, NH = (size_t)s->n_head;
    size_t BT = (size_t)B * T;
    size_t sc = nn_attention_scratch((int)T, (int)C, (int)NH) * (size_t)threads;
    /* activation sizes, in the order of the pointers below */
    size_t asz[] = {
        BT * C, /* encoded */
        L * BT * C,
        L * BT,
        L * BT,                     /* ln1, mean, rstd */
        L * BT * 3 * C,             /* qkv */
        L * BT * C,                 /* atty */
        L * (size_t)B * NH * T * T, /* att */
        L * BT * C,                 /* res2 */
        L * BT * C,
        L * BT,
        L * BT, /* ln2, mean, rstd */
        L * BT * F,
        L * BT * F, /* fch, fch_gelu */
        L * BT * C, /* res3 */
        BT * C,
        BT,
        BT,     /* lnf, mean, rstd */
        BT * V, /* logits */
        BT,     /* losses */
        BT * C, /* tmp */
        BT * C,
        BT * C,
        BT * 3 * C,
        BT * C, /* dres, dln, dqkv, datty */
        BT * F,
        BT * F, /* dfch, dfch_gelu */
        sc,     /* attention scratch */
    };
    float **ap[] = {&g->encoded,   &g->ln1,      &g->ln1_mean, &g->ln1_rstd, &g->qkv,
                    &g->atty,      &g->att,      &g->res2,     &g->ln2,      &g->ln2_mean,
                    &g->ln2_rstd,  &g->fch,      &g->fch_gelu, &g->res3,     &g->lnf,
                    &g->lnf_mean,  &g->lnf_rstd, &g->logits,   &g->losses,   &g->tmp,
                    &g->dres,      &g->dln,      &g->dqkv,     &g->datty,    &g->dfch,
                    &g->dfch_gelu, &g->scratch};
    size_t na = sizeof asz / sizeof asz[0];
    size_t total = 0;
    for (size_t i = 0; i < na; i++)
        total += (asz[i] + 15) / 16 * 16; /* keep 64-byte alignment */
    g->nacts = total;
    g->acts_mem = falloc(total);
    g->inputs = calloc(BT, sizeof(int));
    g->targets = calloc(BT, sizeof(int));
    if (!g->params_mem || !g->grads_mem || !g->m_mem || !g->v_mem || !g->acts_mem || !g->inputs ||
        !g->targets) {
        double gb = (4.0 * g->nparams + total) * 4.0 / 1e9;
        nn_gpt_free(g);
        return util_err(err, errlen, UTIL_ENOMEM,
                        "out of memory: the model needs %.2f GB (try a smaller --micro-batch)", gb);
    }
    float *m = g->acts_mem;
    for (size_t i = 0; i < na; i++) {
        *ap[i] = m;
        m += (asz[i] + 15) / 16 * 16;
    }
    views(g->params_mem, g->sizes, &g->params);
    views(g->grads_mem, g->sizes, &g->grads);
    rc = nn_pool_create(&g->pool, threads, err, errlen);
    if (rc) {
        nn_gpt_free(g);
        return rc;
    }
    /* The pool splits each GEMM; OpenBLAS runs single-threaded inside it. */
    openblas_set_num_threads(1);
    *out = g;
    return 0;
}

size_t nn_gpt_bytes(const nn_gpt *g) {
    return (4 * g->nparams + g->nacts) * sizeof(float) +
           2 * (size_t)g->B * g->s.n_ctx * sizeof(int);
}

void nn_gpt_init(nn_gpt *g, uint64_t seed) {
    util_rng r;
    util_rng_seed(&r, seed, "init");
    float *mem = g->params_mem;
    double std_resid = 0.02 / sqrt(2.0 * g->s.n_layer);
    for (int i = 0; i < NN_NTENSORS; i++) {
        size_t n = g->sizes[i];
        const char *name = nn_tensor_names[i];
        if (nn_tensor_is_matrix[i]) {
            /* GPT-2: residual projections (attention output, MLP output) scaled */
            double std = (i == 6 || i == 12) ? std_resid : 0.02;
            for (size_t j = 0; j < n; j++)
                mem[j] = (float)(std * util_rng_normal(&r));
        } else if (strcmp(name, "ln1w") == 0 || strcmp(name, "ln2w") == 0 ||
                   strcmp(name, "lnfw") == 0) {
            for (size_t j = 0; j < n; j++)
                mem[j] = 1.0f;
        } else {
            memset(mem, 0, n * sizeof(float));
        }
        mem += n;
    }
    memset(g->grads_mem, 0, g->nparams * sizeof(float));
    memset(g->m_mem, 0, g->nparams * sizeof(float));
    memset(g->v_mem, 0, g->nparams * sizeof(float));
}

double nn_gpt_forward(nn_gpt *g, int B) {
    const model_shape *s = &g->s;
    int L = s->n_layer, C = s->d_model, F = s->d_ff, T = s->n_ctx, V = s->n_vocab, NH = s->n_head;
    int N = B * T;
    size_t BT = (size_t)N, sBT = (size_t)g->B * T; /* layer strides use the allocated B */
    nn_pool *p = g->pool;
    nn_params *w = &g->params;
    g->cur_B = B;
    nn_encoder_forward(g->encoded, g->inputs, w->wte, w->wpe, B, T, C, p);
    for (int l = 0; l < L; l++) {
        const float *res = l == 0 ? g->encoded : g->res3 + (size_t)(l - 1) * sBT * C;
        float *ln1 = g->ln1 + l * sBT * C, *ln1m = g->ln1_mean + l * sBT,
              *ln1r = g->ln1_rstd + l * sBT;
        float *qkv = g->qkv + l * sBT * 3 * C, *atty = g->atty + l * sBT * C;
        float *att = g->att + l * (size_t)g->B * NH * T * T;
        float *res2 = g->res2 + l * sBT * C, *ln2 = g->ln2 + l * sBT * C;
        float *ln2m = g->ln2_mean + l * sBT, *ln2r = g->ln2_rstd + l * sBT;
        float *fch = g->fch + l * sBT * F, *fchg = g->fch_gelu + l * sBT * F;
        float *res3 = g->res3 + l * sBT * C;
        nn_layernorm_forward(ln1, ln1m, ln1r, res, w->ln1w + l * C, w->ln1b + l * C, N, C, p);
        nn_matmul_forward(qkv, ln1, w->qkvw + (size_t)l * 3 * C * C, w->qkvb + l * 3 * C, N, C,
                          3 * C, p);
        nn_attention_forward(atty, att, qkv, B, T, C, NH, g->scratch, p);
        nn_matmul_forward(g->tmp, atty, w->attprojw + (size_t)l * C * C, w->attprojb + l * C, N, C,
                          C, p);
        nn_residual_forward(res2, res, g->tmp, BT * C, p);
        nn_layernorm_forward(ln2, ln2m, ln2r, res2, w->ln2w + l * C, w->ln2b + l * C, N, C, p);
        nn_matmul_forward(fch, ln2, w->fcw + (size_t)l * F * C, w->fcb + l * F, N, C, F, p);
        nn_gelu_forward(fchg, fch, BT * F, p);
        nn_matmul_forward(g->tmp, fchg, w->fcprojw + (size_t)l * C * F, w->fcprojb + l * C, N, F, C,
                          p);
        nn_residual_forward(res3, res2, g->tmp, BT * C, p);
    }
    const float *resL = g->res3 + (size_t)(L - 1) * sBT * C;
    nn_layernorm_forward(g->lnf, g->lnf_mean, g->lnf_rstd, resL, w->lnfw, w->lnfb, N, C, p);
    nn_matmul_forward(g->logits, g->lnf, w->wte, NULL, N, C, V, p);
    nn_softmax_xent_forward(g->logits, g->losses, g->targets, N, V, p);
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += g->losses[i];
    return sum / N;
}

void nn_gpt_backward(nn_gpt *g, float scale) {
    const model_shape *s = &g->s;
    int L = s->n_layer, C = s->d_model, F = s->d_ff, T = s->n_ctx, V = s->n_vocab, NH = s->n_head;
    int B = g->cur_B, N = B * T;
    size_t sBT = (size_t)g->B * T;
    nn_pool *p = g->pool;
    nn_params *w = &g->params, *d = &g->grads;
    const float *resL = g->res3 + (size_t)(L - 1) * sBT * C;

    nn_softmax_xent_backward(g->logits, g->targets, scale, N, V, p);
    /* dlnf into dln; dres = 0 then += layernorm backward */
    nn_matmul_backward(g->dln, d->wte, NULL, g->logits, g->lnf, w->wte, N, C, V, p);
    memset(g->dres, 0, sizeof(float) * (size_t)N * C);
    nn_layernorm_backward(g->dres, d->lnfw, d->lnfb, g->dln, resL, w->lnfw, g->lnf_mean,
                          g->lnf_rstd, N, C, p);
    for (int l = L - 1; l >= 0; l--) {
        const float *res = l == 0 ? g->encoded : g->res3 + (size_t)(l - 1) * sBT * C;
        float *ln1 = g->ln1 + l * sBT * C, *ln1m = g->ln1_mean + l * sBT,
              *ln1r = g->ln1_rstd + l * sBT;
        float *qkv = g->qkv + l * sBT * 3 * C, *atty = g->atty + l * sBT * C;
        float *att = g->att + l * (size_t)g->B * NH * T * T;
        float *res2 = g->res2 + l * sBT * C, *ln2 = g->ln2 + l * sBT * C;
        float *ln2m = g->ln2_mean + l * sBT, *ln2r = g->ln2_rstd + l * sBT;
        float *fch = g->fch + l * sBT * F, *fchg = g->fch_gelu + l * sBT * F;
        /* res3 = res2 + fcproj(gelu(fc(ln2(res2)))) */
        nn_matmul_backward(g->dfch_gelu, d->fcprojw + (size_t)l * C * F, d->fcprojb + l * C,
                           g->dres, fchg, w->fcprojw + (size_t)l * C * F, N, F, C, p);
        nn_gelu_backward(g->dfch, fch, g->dfch_gelu, (size_t)N * F, p);
        nn_matmul_backward(g->dln, d->fcw + (size_t)l * F * C, d->fcb + l * F, g->dfch, ln2,
                           w->fcw + (size_t)l * F * C, N, C, F, p);
        nn_layernorm_backward(g->dres, d->ln2w + l * C, d->ln2b + l * C, g->dln, res2,
                              w->ln2w + l * C, ln2m, ln2r, N, C, p);
        /* res2 = res + attproj(attention(qkv(ln1(res)))) */
        nn_matmul_backward(g->datty, d->attprojw + (size_t)l * C * C, d->attprojb + l * C, g->dres,
                           atty, w->attprojw + (size_t)l * C * C, N, C, C, p);
        nn_attention_backward(g->dqkv, g->datty, qkv, att, B, T, C, NH, g->scratch, p);
        nn_matmul_backward(g->dln, d->qkvw + (size_t)l * 3 * C * C, d->qkvb + l * 3 * C, g->dqkv,
                           ln1, w->qkvw + (size_t)l * 3 * C * C, N, C, 3 * C, p);
        nn_layernorm_backward(g->dres, d->ln1w + l * C, d->ln1b + l * C, g->dln, res,
                              w->ln1w + l * C, ln1m, ln1r, N, C, p);
    }
    nn_encoder_backward(d->wte, d->wpe, g->dres, g->inputs, B, T, C, p);
}

void nn_gpt_zero_grad(nn_gpt *g) {
    memset(g->grads_mem, 0, g->nparams * sizeof(float));
}

typedef struct {
    nn_gpt *g;
    double partial[256];
    float lr, b1, b2, eps, wd, gscale, bc1, bc2;
} opt_args;

static void norm_task(void *va, int tid, int nt) {
    opt_args *a = va;
    size_t n = a->g->nparams, lo = n * tid / nt, hi = n * (tid + 1) / nt;
    const float *x = a->g->grads_mem;
    double acc[4] = {0};
    size_t i = lo;
    for (; i + 4 <= hi; i += 4)
        for (int l = 0; l < 4; l++)
            acc[l] += (double)x[i + l] * x[i + l];
    for (; i < hi; i++)
        acc[0] += (double)x[i] * x[i];
    a->partial[tid] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

double nn_gpt_grad_norm(nn_gpt *g) {
    opt_args a = {.g = g};
    int nt = nn_pool_threads(g->pool);
    nn_pool_run(nt <= 256 ? g->pool : NULL, norm_task, &a);
    double s = 0;
    for (int i = 0; i < (nt <= 256 ? nt : 1); i++)
        s += a.partial[i];
    return sqrt(s);
}

static void adam_task(void *va, int tid, int nt) {
    opt_args *a = va;
    nn_gpt *g = a->g;
    size_t off = 0;
    for (int k = 0; k < NN_NTENSORS; k++) {
        size_t n = g->sizes[k], lo = off + n * tid / nt, hi = off + n * (tid + 1) / nt;
        float wd = nn_tensor_is_matrix[k] ? a->wd : 0.0f;
        float *p = g->params_mem, *gr = g->grads_mem, *m = g->m_mem, *v = g->v_mem;
        for (size_t i = lo; i < hi; i++) {
            float gi = gr[i] * a->gscale;
            float mi = a->b1 * m[i] + (1.0f - a->b1) * gi;
            float vi = a->b2 * v[i] + (1.0f - a->b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float mh = mi / a->bc1, vh = vi / a->bc2;
            p[i] -= a->lr * (mh / (sqrtf(vh) + a->eps) + wd * p[i]);
        }
        off += n;
    }
}

void nn_gpt_adamw(nn_gpt *g, float lr, float beta1, float beta2, float eps, float wd, float gscale,
                  int64_t t) {
    opt_args a = {
        .g = g, .lr = lr, .b1 = beta1, .b2 = beta2, .eps = eps, .wd = wd, .gscale = gscale};
    a.bc1 = (float)(1.0 - pow(beta1, (double)t));
    a.bc2 = (float)(1.0 - pow(beta2, (double)t));
    nn_pool_run(g->pool, adam_task, &a);
}

/* ==== Configuration as JSON ================================================ */

void model_shape_to_json(const model_shape *s, struct cJSON *o) {
    cJSON_AddNumberToObject(o, "n_layer", s->n_layer);
    cJSON_AddNumberToObject(o, "d_model", s->d_model);
    cJSON_AddNumberToObject(o, "n_head", s->n_head);
    cJSON_AddNumberToObject(o, "d_ff", s->d_ff);
    cJSON_AddNumberToObject(o, "n_ctx", s->n_ctx);
    cJSON_AddNumberToObject(o, "n_vocab", s->n_vocab);
}

void model_optim_to_json(const model_train_config *c, struct cJSON *o) {
    cJSON_AddNumberToObject(o, "tokens", (double)c->tokens);
    cJSON_AddNumberToObject(o, "unique_tokens", (double)c->unique_tokens);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "micro_batch", c->micro_batch);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "min_lr_frac", c->min_lr_frac);
    cJSON_AddNumberToObject(o, "warmup", c->warmup);
    cJSON_AddStringToObject(o, "schedule", model_sched_name(c->schedule));
    cJSON_AddNumberToObject(o, "cycle_tokens", (double)c->cycle_tokens);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "beta1", c->beta1);
    cJSON_AddNumberToObject(o, "beta2", c->beta2);
    cJSON_AddNumberToObject(o, "eps", c->eps);
    cJSON_AddNumberToObject(o, "grad_clip", c->grad_clip);
    cJSON_AddNumberToObject(o, "evals", c->evals);
    cJSON_AddNumberToObject(o, "eval_windows", c->eval_windows);
    cJSON_AddNumberToObject(o, "patience", c->patience);
}

int model_eval_windows_max(uint64_t val_tokens, int n_ctx) {
    if (n_ctx < 1 || val_tokens < (uint64_t)n_ctx + 1) return 0;
    uint64_t m = (val_tokens - 1) / (uint64_t)n_ctx;
    return m > INT32_MAX ? INT32_MAX : (int)m;
}

int64_t model_train_steps(const model_train_config *c) {
    int64_t tps = (int64_t)c->batch * c->shape.n_ctx;
    return tps > 0 ? (c->tokens + tps - 1) / tps : 0;
}
