/*
 * model.h — the GPT-style decoder-only Transformer and its training loop.
 *
 * Owns: the shape → parameter layout (one contiguous buffer with named views,
 * the same layout for gradients and AdamW moments), the exact parameter and
 * FLOP counts, forward/backward on the CPU through OpenBLAS, AdamW, the
 * learning-rate schedules, evaluation, checkpoints, the run id, and the
 * throughput benchmark.
 * Does not own: printing (the CLI prints what the hooks report), the results
 * database (the CLI forwards the hooks' records to results/store.h), sweeps.
 * Errors: 0 or a negative UTIL_E* code, message in the caller's buffer.
 */
#ifndef SCALING_MODEL_H
#define SCALING_MODEL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

/* ---- Shape and accounting ---------------------------------------------- */

typedef struct {
    int n_layer; /* Transformer blocks */
    int d_model; /* residual width */
    int n_head;  /* attention heads; head size d_model / n_head */
    int d_ff;    /* MLP width (default 4 * d_model) */
    int n_ctx;   /* context length in tokens */
    int n_vocab; /* vocabulary size (from the data) */
} model_shape;

typedef struct {
    int64_t total;        /* every trainable parameter (tied head counted once) */
    int64_t embedding;    /* token + position embeddings */
    int64_t nonembedding; /* total - embedding: Kaplan's N (~12 n_layer d_model^2) */
} model_counts;

/* 0 if the shape is valid, else UTIL_EINVAL naming the offending field. */
int model_shape_check(const model_shape *s, char *err, size_t errlen);
void model_count_params(const model_shape *s, model_counts *out);

/* Training FLOPs per token (forward + backward).
 * Kaplan et al. 2020 §2.1: 3 × (2N + 2 n_layer n_ctx d_model) [+ 3 × 2 d_model n_vocab
 * when de-embedding is counted, with_deembed != 0].
 * Hoffmann et al. 2022 Appendix F: 3 × forward, forward counted op by op.
 * MFU count (shared with ../shared/bench/torch_gpt_bench.py):
 * 6 (N + d_model n_vocab) + 12 n_layer n_ctx d_model. */
double model_flops_kaplan(const model_shape *s, int with_deembed);
double model_flops_chinchilla(const model_shape *s);
double model_flops_mfu(const model_shape *s);

/* ---- Training configuration -------------------------------------------- */

typedef enum { SCHED_COSINE = 0, SCHED_CONSTANT = 1, SCHED_FIXED_COSINE = 2 } model_sched;
const char *model_sched_name(model_sched s);               /* "cosine", ... */
int model_sched_parse(const char *name, model_sched *out); /* 0 or UTIL_EINVAL */

typedef struct {
    model_shape shape;     /* n_vocab is filled from the data if 0 */
    char data_dir[1024];   /* prepared data directory (data.h) */
    int batch;             /* sequences per optimizer step */
    int micro_batch;       /* sequences per forward/backward (0: = batch); batch % micro == 0 */
    int64_t tokens;        /* training budget in tokens (rounded up to whole steps) */
    int64_t unique_tokens; /* 0: all training tokens; else train on this prefix, repeated */
    double lr;             /* peak learning rate */
    double min_lr_frac;    /* cosine floor as a fraction of lr (0.1) */
    int warmup;            /* linear warm-up, in optimizer steps */
    model_sched schedule;
    int64_t cycle_tokens;     /* fixed-cosine horizon in tokens (SCHED_FIXED_COSINE only) */
    double weight_decay;      /* AdamW decoupled decay on matrices only (0.1) */
    double beta1, beta2, eps; /* 0.9, 0.95, 1e-8 */
    double grad_clip;         /* global-norm clip (1.0; 0 disables) */
    int evals;                /* log-spaced validation points (plus the end) */
    int eval_windows;         /* held-out windows per validation */
    int patience;             /* early stop after this many evals without improvement (0: off) */
    int log_every;            /* steps between step records */
    uint64_t seed;
    int threads;            /* worker threads (0: 1); OpenBLAS runs single-threaded inside them */
    char checkpoint[1024];  /* checkpoint path ("" for none) */
    double checkpoint_secs; /* write a checkpoint at most this often (and at the end) */
    int resume;             /* continue from `checkpoint` if it exists */
    volatile sig_atomic_t *stop; /* set non-zero to stop cleanly (checkpoint, EINTR) */
} model_train_config;

void model_train_defaults(model_train_config *c);
/* Optimizer steps in the budget: tokens rounded up to whole steps of
 * batch x n_ctx tokens. */
int64_t model_train_steps(const model_train_config *c);
/* The most validation windows a split of val_tokens tokens holds for n_ctx:
 * (val_tokens - 1) / n_ctx windows of n_ctx + 1 tokens, evenly spaced, score
 * every predicted token at most once; more would score tokens again. 0 when
 * the split is shorter than one window. model_train caps eval_windows here. */
int model_eval_windows_max(uint64_t val_tokens, int n_ctx);

/* Learning rate of optimizer step `step` (0-based) in a run of `steps` steps
 * under c's schedule (see model.c for the formulas). */
double model_lr_at(const model_train_config *c, int64_t step, int64_t steps);

/* Stable run id: 16 hex digits hashing every field that changes what is
 * computed (shape, data checksum-independent path, budget, optimiser, schedule,
 * seed); threads, checkpoint path and logging cadence are left out. */
void model_run_id(const model_train_config *c, char out[17]);

/* The configuration as JSON fields (runs.config_json), added to the cJSON
 * object `o` so that `scaling train` and the sweep planner write the same
 * names: the shape (n_layer .. n_vocab), and the budget and optimiser
 * (tokens .. patience). Callers add what is theirs (ids, seed, threads). */
struct cJSON;
void model_shape_to_json(const model_shape *s, struct cJSON *o);
void model_optim_to_json(const model_train_config *c, struct cJSON *o);

/* ---- Training ----------------------------------------------------------- */

typedef struct {
    model_counts counts;
    double flops_kaplan, flops_chinchilla; /* per training token */
    int64_t steps;                         /* optimizer steps in the budget */
    int64_t tokens_per_step;               /* batch * n_ctx */
    int64_t start_step;                    /* > 0 when resumed */
    double epochs;                         /* passes over the (possibly limited) training tokens */
    char blas_kernel[64];                  /* OpenBLAS core name */
    double bytes_per_token;                /* of the validation split */
    char tokenizer[16];
    int eval_windows;       /* windows per validation, after the cap (model_eval_windows_max) */
    int eval_windows_asked; /* as configured; > eval_windows when capped */
    uint64_t val_tokens;    /* tokens in val.tok */
} model_train_info;

typedef struct {
    int64_t step, tokens;
    double flops;         /* tokens * flops_chinchilla */
    double train_loss;    /* mean nats/token over the step's batch */
    double lr, grad_norm; /* grad_norm before clipping */
    double elapsed;       /* seconds since this process started training */
    double tokens_per_s;
    double eta; /* seconds left */
} model_step_rec;

typedef struct {
    int64_t step, tokens;
    double flops;
    double val_loss; /* nats/token */
    double val_bpb;  /* bits/byte = val_loss / ln 2 / bytes_per_token */
} model_eval_rec;

typedef enum {
    MODEL_DONE = 0,
    MODEL_DIVERGED = 1,
    MODEL_STOPPED = 2, /* interrupted on request; checkpoint written */
    MODEL_EARLY_STOPPED = 3,
} model_status;

typedef struct {
    model_status status;
    int64_t steps, tokens;
    double flops;
    double final_train_loss, final_val_loss, final_val_bpb;
    double best_val_loss;
    double epochs;
    double elapsed;
} model_train_result;

/* Callbacks from the training loop; any may be NULL. A non-zero return from
 * a hook stops training with that code (its message in err). Records are
 * valid only during the call. */
typedef struct {
    void *ctx;
    int (*on_start)(void *ctx, const model_train_config *c, const model_train_info *info, char *err,
                    size_t errlen);
    int (*on_step)(void *ctx, const model_step_rec *r, char *err, size_t errlen);
    int (*on_eval)(void *ctx, const model_eval_rec *r, char *err, size_t errlen);
    int (*on_checkpoint)(void *ctx, int64_t step, char *err, size_t errlen);
} model_hooks;

/* Trains per c. Returns 0 with *res filled when the run finished, diverged
 * (res->status = MODEL_DIVERGED) or was early-stopped; UTIL_EINTR with a
 * checkpoint written when c->stop was raised; another negative code on error. */
int model_train(const model_train_config *c, const model_hooks *hooks, model_train_result *res,
                char *err, size_t errlen);

/* ---- Benchmark ---------------------------------------------------------- */

typedef struct {
    int n_layer, d_model, n_head;
    int n_ctx, batch; /* tokens per sequence, sequences per step */
    double tokens_per_s, model_flops_per_s, mfu;
    double peak_mem_bytes;  /* peak resident set of the process that trained this shape */
    double base_mem_bytes;  /* its resident set before the model was allocated (runtime) */
    double model_mem_bytes; /* params + grads + AdamW m, v + activations, as allocated */
} model_bench_row;

/* One shape to benchmark: the network (n_vocab included) and the sequences
 * of n_ctx tokens per step (random tokens below n_vocab). */
typedef struct {
    model_shape shape;
    int batch;
} model_bench_spec;

/* Measures sgemm GFLOP/s at `threads` (the MFU denominator, in the same
 * run), then trains specs[0..n) for `steps` timed steps each (after one
 * untimed), each in a child process; fills rows[0..n). cpu_time: time both
 * in process CPU seconds instead of wall seconds (for a shared machine; the
 * same thing at one thread on an idle one). Returns 0, or a negative code
 * naming the shape that failed (rows then incomplete). */
int model_bench_specs(const model_bench_spec *specs, int n, int threads, int steps, int cpu_time,
                      double *sgemm_gflops, char kernel[64], model_bench_row *rows, char *err,
                      size_t errlen);

/* The standard shapes, (n_layer, d_model, n_head) = (2,64,2) (4,128,4)
 * (6,256,8) (8,512,8) at 16 x 256 byte tokens, into specs (room for *n);
 * *n gets the count. UTIL_EINVAL if *n is too small. */
#define MODEL_BENCH_MAX 8
int model_bench_standard(model_bench_spec *specs, int *n);

#endif
