/*
 * shape.c — the shape of the network and what it counts: shape checks, the
 * parameter layout (the one place tensor shapes are defined) and the
 * parameter counts the fits depend on.
 * Does not own: FLOP counts (flops.c), the network's arithmetic (gpt.c).
 */
#include <stdio.h>

#include "nn.h"

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
