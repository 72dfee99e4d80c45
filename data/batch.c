/*
 * batch.c — which training windows a run reads, and copying windows into
 * the (B, T) input and target arrays the network consumes.
 * Does not own: the token file format (data.c) or the network (model/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

int data_sampler_init(data_sampler *s, uint64_t usable, int T, uint64_t seed, char *err,
                      size_t errlen) {
    memset(s, 0, sizeof *s);
    s->epoch = -1;
    if (T < 1 || usable < (uint64_t)T + 1)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%llu training tokens hold no window of n_ctx + 1 = %d tokens",
                        (unsigned long long)usable, T + 1);
    s->nwin = (usable - 1) / (uint64_t)T;
    if (s->nwin >= UINT32_MAX)
        return util_err(err, errlen, UTIL_EINVAL, "%llu training windows: expected < 2^32",
                        (unsigned long long)s->nwin);
    s->T = T;
    s->seed = seed;
    s->perm = malloc(s->nwin * sizeof *s->perm);
    if (!s->perm) return util_err(err, errlen, UTIL_ENOMEM, "out of memory (window order)");
    return 0;
}

void data_sampler_free(data_sampler *s) {
    if (!s) return;
    free(s->perm);
    s->perm = NULL;
}

uint64_t data_sampler_start(data_sampler *s, uint64_t k) {
    int64_t e = (int64_t)(k / s->nwin);
    if (e != s->epoch) {
        char purpose[48];
        snprintf(purpose, sizeof purpose, "data-epoch-%lld", (long long)e);
        util_rng r;
        util_rng_seed(&r, s->seed, purpose);
        for (uint64_t i = 0; i < s->nwin; i++)
            s->perm[i] = (uint32_t)i;
        for (uint64_t i = s->nwin - 1; i > 0; i--) { /* Fisher–Yates */
            uint64_t j = util_rng_below(&r, i + 1);
            uint32_t t = s->perm[i];
            s->perm[i] = s->perm[j];
            s->perm[j] = t;
        }
        s->epoch = e;
    }
    return (uint64_t)s->perm[k % s->nwin] * (uint64_t)s->T;
}

void data_fill_batch(int *inputs, int *targets, const data_tokfile *f, const uint64_t *starts,
                     int B, int T) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            inputs[b * T + t] = (int)data_tokfile_get(f, starts[b] + t);
            targets[b * T + t] = (int)data_tokfile_get(f, starts[b] + t + 1);
        }
}
