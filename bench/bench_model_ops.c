/*
 * bench_model_ops.c — where a training step's time goes: wall time of one
 * forward+backward, of each layer op of one block, of the loss and of AdamW,
 * and each op's share of the step, for a shape given on the command line
 * (batch 16, byte vocab, random tokens).
 *
 *   bench_model_ops [threads=2] [n_layer=2] [d_model=64] [n_head=2] [reps=5] [ctx=256]
 *
 * e.g. the sweep shapes (head size 8, ctx 64, one thread per worker):
 *   bench_model_ops 1 2 72 9 50 64;  bench_model_ops 1 4 144 18 20 64
 * A developer's tool for tuning model/nn.c; `scaling bench` is the
 * user-facing benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../model/nn.h"

static double step_cms; /* CPU ms of one forward+backward+AdamW, for the share column */

/* Process CPU seconds: on a shared machine the CPU time of a one-thread run
 * is steadier than wall time (both are printed). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Per-layer ops are timed once per call; `per_step` is how often a step runs
 * them (n_layer for block ops, 1 for the rest), so the share is of a step. */
#define TIME(name, reps, per_step, stmt)                                                           \
    do {                                                                                           \
        double t0_ = util_now(), c0_ = cpu_now();                                                  \
        for (int r_ = 0; r_ < (reps); r_++) {                                                      \
            stmt;                                                                                  \
        }                                                                                          \
        double ms_ = (util_now() - t0_) / (reps)*1e3, cms_ = (cpu_now() - c0_) / (reps)*1e3;       \
        printf("%-16s %9.3f ms %9.3f cpu-ms %6.1f%%\n", name, ms_, cms_,                           \
               step_cms > 0 ? 100.0 * cms_ * (per_step) / step_cms : 100.0);                       \
    } while (0)

int main(int argc, char **argv) {
    int th = argc > 1 ? atoi(argv[1]) : 2, L = argc > 2 ? atoi(argv[2]) : 2;
    int C = argc > 3 ? atoi(argv[3]) : 64, NH = argc > 4 ? atoi(argv[4]) : 2;
    int reps = argc > 5 ? atoi(argv[5]) : 5, T = argc > 6 ? atoi(argv[6]) : 256;
    const int B = 16, V = 256, N = B * T, F = 4 * C;
    model_shape s = {L, C, NH, F, T, V};
    nn_gpt *g;
    char err[UTIL_ERRLEN];
    if (reps < 1 || T < 1 || nn_gpt_create(&g, &s, B, th, err, sizeof err)) {
        fprintf(stderr, "bench_model_ops: %s\n", reps < 1 || T < 1 ? "bad reps or ctx" : err);
        return 1;
    }
    nn_gpt_init(g, 1);
    util_rng r;
    util_rng_seed(&r, 1, "bench-tokens");
    for (int j = 0; j < N; j++) {
        g->inputs[j] = (int)util_rng_below(&r, V);
        g->targets[j] = (int)util_rng_below(&r, V);
    }
    printf("threads %d, n_layer %d, d_model %d, n_head %d (head size %d), %d x %d tokens\n", th, L,
           C, NH, C / NH, B, T);
    nn_pool *p = g->pool;
    nn_params *w = &g->params, *d = &g->grads;
    nn_gpt_zero_grad(g); /* warm-up */
    nn_gpt_forward(g, B);
    nn_gpt_backward(g, 1.0f / N);
    double t0 = util_now(), c0 = cpu_now();
    for (int i = 0; i < reps; i++) {
        nn_gpt_zero_grad(g);
        nn_gpt_forward(g, B);
        nn_gpt_backward(g, 1.0f / N);
        nn_gpt_adamw(g, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 1);
    }
    double step_ms = (util_now() - t0) / reps * 1e3;
    step_cms = (cpu_now() - c0) / reps * 1e3;
    printf("%-16s %9.3f ms %9.3f cpu-ms %6.1f%%   (per CPU second: %.0f tokens, %.2f model GFLOP)\n",
           "step", step_ms, step_cms, 100.0, N / (step_cms / 1e3),
           model_flops_mfu(&s) * N / (step_cms / 1e3) / 1e9);
    TIME("forward", reps, 1, nn_gpt_forward(g, B));
    TIME("ln fwd", reps, 2 * L,
         nn_layernorm_forward(g->ln1, g->ln1_mean, g->ln1_rstd, g->encoded, w->ln1w, w->ln1b, N, C,
                              p));
    TIME("qkv fwd", reps, L, nn_matmul_forward(g->qkv, g->ln1, w->qkvw, w->qkvb, N, C, 3 * C, p));
    TIME("att fwd", reps, L,
         nn_attention_forward(g->atty, g->att, g->qkv, B, T, C, NH, g->scratch, p));
    TIME("attproj fwd", reps, L,
         nn_matmul_forward(g->tmp, g->atty, w->attprojw, w->attprojb, N, C, C, p));
    TIME("residual fwd", reps, 2 * L, nn_residual_forward(g->res2, g->encoded, g->tmp, (size_t)N * C, p));
    TIME("fc fwd", reps, L, nn_matmul_forward(g->fch, g->ln2, w->fcw, w->fcb, N, C, F, p));
    TIME("gelu fwd", reps, L, nn_gelu_forward(g->fch_gelu, g->fch, (size_t)N * F, p));
    TIME("fcproj fwd", reps, L,
         nn_matmul_forward(g->tmp, g->fch_gelu, w->fcprojw, w->fcprojb, N, F, C, p));
    TIME("logits fwd", reps, 1, nn_matmul_forward(g->logits, g->lnf, w->wte, NULL, N, C, V, p));
    TIME("softmax+loss fwd", reps, 1,
         nn_softmax_xent_forward(g->logits, g->losses, g->targets, N, V, p));
    TIME("softmax+loss bwd", reps, 1,
         nn_softmax_xent_backward(g->logits, g->targets, 1.0f / N, N, V, p));
    TIME("logits bwd", reps, 1,
         nn_matmul_backward(g->dln, d->wte, NULL, g->logits, g->lnf, w->wte, N, C, V, p));
    TIME("fcproj bwd", reps, L,
         nn_matmul_backward(g->dfch_gelu, d->fcprojw, d->fcprojb, g->dres, g->fch_gelu, w->fcprojw,
                            N, F, C, p));
    TIME("gelu bwd", reps, L, nn_gelu_backward(g->dfch, g->fch, g->dfch_gelu, (size_t)N * F, p));
    TIME("fc bwd", reps, L,
         nn_matmul_backward(g->dln, d->fcw, d->fcb, g->dfch, g->ln2, w->fcw, N, C, F, p));
    TIME("attproj bwd", reps, L,
         nn_matmul_backward(g->datty, d->attprojw, d->attprojb, g->dres, g->atty, w->attprojw, N,
                            C, C, p));
    TIME("att bwd", reps, L,
         nn_attention_backward(g->dqkv, g->datty, g->qkv, g->att, B, T, C, NH, g->scratch, p));
    TIME("qkv bwd", reps, L,
         nn_matmul_backward(g->dln, d->qkvw, d->qkvb, g->dqkv, g->ln1, w->qkvw, N, C, 3 * C, p));
    TIME("ln bwd", reps, 2 * L,
         nn_layernorm_backward(g->dres, d->ln1w, d->ln1b, g->dln, g->encoded, w->ln1w, g->ln1_mean,
                               g->ln1_rstd, N, C, p));
    TIME("zero grad", reps, 1, nn_gpt_zero_grad(g));
    TIME("grad norm", reps, 1, nn_gpt_grad_norm(g));
    TIME("adamw", reps, 1, nn_gpt_adamw(g, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 1));
    nn_gpt_free(g);
    return 0;
}
