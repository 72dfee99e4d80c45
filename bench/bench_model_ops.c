/*
 * bench_model_ops.c — where a training step's time goes: wall time of one
 * forward+backward and of each layer op of one block, for a shape given on
 * the command line (batch 16 x ctx 256, byte vocab, random tokens).
 *
 *   bench_model_ops [threads=2] [n_layer=2] [d_model=64] [n_head=2] [reps=5]
 *
 * A developer's tool for tuning model/nn.c; `scaling bench` is the
 * user-facing benchmark.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../model/nn.h"

#define TIME(name, reps, stmt)                                                                     \
    do {                                                                                           \
        double t0_ = util_now();                                                                   \
        for (int r_ = 0; r_ < (reps); r_++) {                                                      \
            stmt;                                                                                  \
        }                                                                                          \
        printf("%-16s %9.3f ms\n", name, (util_now() - t0_) / (reps)*1e3);                         \
    } while (0)

int main(int argc, char **argv) {
    int th = argc > 1 ? atoi(argv[1]) : 2, L = argc > 2 ? atoi(argv[2]) : 2;
    int C = argc > 3 ? atoi(argv[3]) : 64, NH = argc > 4 ? atoi(argv[4]) : 2;
    int reps = argc > 5 ? atoi(argv[5]) : 5;
    const int B = 16, T = 256, V = 256, N = B * T, F = 4 * C;
    model_shape s = {L, C, NH, F, T, V};
    nn_gpt *g;
    char err[UTIL_ERRLEN];
    if (nn_gpt_create(&g, &s, B, th, err, sizeof err)) {
        fprintf(stderr, "bench_model_ops: %s\n", err);
        return 1;
    }
    nn_gpt_init(g, 1);
    util_rng r;
    util_rng_seed(&r, 1, "bench-tokens");
    for (int j = 0; j < N; j++) {
        g->inputs[j] = (int)util_rng_below(&r, V);
        g->targets[j] = (int)util_rng_below(&r, V);
    }
    printf("threads %d, n_layer %d, d_model %d, n_head %d, %d x %d tokens\n", th, L, C, NH, B, T);
    nn_pool *p = g->pool;
    nn_params *w = &g->params, *d = &g->grads;
    TIME("step fwd+bwd", reps, {
        nn_gpt_zero_grad(g);
        nn_gpt_forward(g, B);
        nn_gpt_backward(g, 1.0f / N);
    });
    TIME("forward", reps, nn_gpt_forward(g, B));
    TIME("ln fwd", reps,
         nn_layernorm_forward(g->ln1, g->ln1_mean, g->ln1_rstd, g->encoded, w->ln1w, w->ln1b, N, C,
                              p));
    TIME("qkv fwd", reps, nn_matmul_forward(g->qkv, g->ln1, w->qkvw, w->qkvb, N, C, 3 * C, p));
    TIME("att fwd", reps,
         nn_attention_forward(g->atty, g->att, g->qkv, B, T, C, NH, g->scratch, p));
    TIME("fc fwd", reps, nn_matmul_forward(g->fch, g->ln2, w->fcw, w->fcb, N, C, F, p));
    TIME("gelu fwd", reps, nn_gelu_forward(g->fch_gelu, g->fch, (size_t)N * F, p));
    TIME("fcproj fwd", reps,
         nn_matmul_forward(g->tmp, g->fch_gelu, w->fcprojw, w->fcprojb, N, F, C, p));
    TIME("logits fwd", reps, nn_matmul_forward(g->logits, g->lnf, w->wte, NULL, N, C, V, p));
    TIME("xent fwd", reps, nn_softmax_xent_forward(g->logits, g->losses, g->targets, N, V, p));
    TIME("fcproj bwd", reps,
         nn_matmul_backward(g->dfch_gelu, d->fcprojw, d->fcprojb, g->dres, g->fch_gelu, w->fcprojw,
                            N, F, C, p));
    TIME("gelu bwd", reps, nn_gelu_backward(g->dfch, g->fch, g->dfch_gelu, (size_t)N * F, p));
    TIME("fc bwd", reps,
         nn_matmul_backward(g->dln, d->fcw, d->fcb, g->dfch, g->ln2, w->fcw, N, C, F, p));
    TIME("att bwd", reps,
         nn_attention_backward(g->dqkv, g->datty, g->qkv, g->att, B, T, C, NH, g->scratch, p));
    TIME("ln bwd", reps,
         nn_layernorm_backward(g->dres, d->ln1w, d->ln1b, g->dln, g->encoded, w->ln1w, g->ln1_mean,
                               g->ln1_rstd, N, C, p));
    TIME("grad norm", reps, nn_gpt_grad_norm(g));
    TIME("adamw", reps, nn_gpt_adamw(g, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 1));
    nn_gpt_free(g);
    return 0;
}
