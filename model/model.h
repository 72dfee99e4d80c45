/*
 * model.h — the GPT-style decoder-only Transformer and its training loop.
 *
 * Owns, by file: the shape → parameter layout and the exact parameter counts
 * (shape.c: one contiguous buffer with named views, the same layout for
 * gradients and AdamW moments); how compute is counted, FLOPs per token under
 * each convention (flops.c); the GPT network's forward/backward and AdamW on
 * the CPU through OpenBLAS (gpt.c, layer ops in nn.c); the learning-rate
 * schedules (schedule.c); the configuration's defaults, its hash
 * (model_run_id: a run's id, which checkpoints carry) and JSON (config.c);
 * the training loop and evaluation (train.c); checkpoints (checkpoint.c);
 * the throughput benchmark (bench.c).
 * Does not own: printing (the CLI prints what the hooks report), the results
 * database and a run's row there (run/run.h; the CLI forwards the hooks'
 * records), sweeps, which model size is compute-optimal (analysis/fit.h).
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

/* ---- Counting compute (flops.c) ------------------------------------------ */

/* A counting convention for training compute C. The sweep planner, the
 * trainer, the runs table and the fits all name conventions with this enum;
 * runs.flops_per_token_* hold the counts it gives, so that nothing downstream
 * (SQL included) recomputes FLOPs. */
typedef enum {
    MODEL_FLOPS_CHINCHILLA = 0, /* Hoffmann et al. 2022, Appendix F (model_flops_chinchilla) */
    MODEL_FLOPS_KAPLAN = 1,     /* Kaplan et al. 2020, without de-embedding (model_flops_kaplan) */
    MODEL_FLOPS_6ND = 2,        /* 6 N: 6 x params_total per token */
    MODEL_FLOPS_ACTUAL = 3,     /* the matmuls this trainer runs (model_flops_actual) */
} model_flops_count;
#define MODEL_FLOPS_NCOUNTS 4
/* "chinchilla", "kaplan", "6nd", "actual" */
const char *model_flops_name(model_flops_count f);
int model_flops_parse(const char *name, model_flops_count *out); /* 0 or UTIL_EINVAL */

/* Training FLOPs per token (forward + backward) of shape s under convention f:
 * the one function every consumer of a convention calls (planner, trainer,
 * runs table). */
double model_flops_per_token(const model_shape *s, model_flops_count f);

/* The conventions' formulas, and the MFU count (not a convention of C):
 * Kaplan et al. 2020 §2.1: 3 × (2N + 2 n_layer n_ctx d_model) [+ 3 × 2 d_model n_vocab
 * when de-embedding is counted, with_deembed != 0].
 * Hoffmann et al. 2022 Appendix F: 3 × forward, forward counted op by op.
 * MFU count (shared with ../shared/bench/torch_gpt_bench.py):
 * 6 (N + d_model n_vocab) + 12 n_layer n_ctx d_model.
 * Actual (flops.c derives it from nn.c's ops): 3 × forward with
 * forward = n_layer (8 d_model^2 + 4 d_model d_ff + 2 d_model (n_ctx + 1))
 *         + 2 d_model n_vocab:
 * the weight matmuls, causal attention over the lower triangle only (a mean
 * (n_ctx + 1)/2 keys per token), the tied head once, the embedding lookup,
 * biases, layer norms, GELU and softmax free. */
double model_flops_kaplan(const model_shape *s, int with_deembed);
double model_flops_chinchilla(const model_shape *s);
double model_flops_mfu(const model_shape *s);
double model_flops_actual(const model_shape *s);

/* A convention along a family of shapes, as a budget needs it: FLOPs per
 * token at each model size N (parameters, counted as the caller counts them),
 * N ascending. Between sizes ln(FLOPs per token) is interpolated linearly in
 * ln N; outside them FLOPs per token / N is held at its value at the nearest
 * size; with no sizes (n = 0) the count is 6 N. */
#define MODEL_FRONTIER_MAX 256
typedef struct {
    int n;
    double N[MODEL_FRONTIER_MAX];   /* parameters, ascending, distinct */
    double fpt[MODEL_FRONTIER_MAX]; /* training FLOPs per token at N[i] */
} model_flops_frontier;

/* Adds the size (N, FLOPs per token fpt), kept in order; a size already
 * present keeps its first count. UTIL_EINVAL (nothing added) when N or fpt
 * is not finite and positive, or the frontier is full. */
int model_frontier_add(model_flops_frontier *f, double N, double fpt);
/* FLOPs per token at size N along f (see above). */
double model_frontier_fpt(const model_flops_frontier *f, double N);
/* A budget C split along f at size N: the tokens D = C / FLOPs per token(N)
 * that spend C. The one conversion of C into (N, D) that the planner's
 * counterpart in the fits (Approaches 1-3, predict, the figures) all use. */
double model_frontier_tokens(const model_flops_frontier *f, double C, double N);

/* ---- Training configuration -------------------------------------------- */

typedef enum {
    SCHED_COSINE = 0,
    SCHED_CONSTANT = 1,
    SCHED_FIXED_COSINE = 2,
    SCHED_WSD = 3, /* warm-up, stable, decay (Hägele et al. 2024, arXiv 2405.18392) */
} model_sched;
const char *model_sched_name(model_sched s);               /* "cosine", ... "wsd" */
int model_sched_parse(const char *name, model_sched *out); /* 0 or UTIL_EINVAL */

/* Shape of the WSD cooldown: 1 - sqrt(p) (Hägele et al.'s best) or 1 - p. */
typedef enum { COOLDOWN_1_SQRT = 0, COOLDOWN_LINEAR = 1 } model_cooldown;
const char *model_cooldown_name(model_cooldown s);               /* "1-sqrt", "linear" */
int model_cooldown_parse(const char *name, model_cooldown *out); /* 0 or UTIL_EINVAL */

/* A trunk keeps a checkpoint at most at this many fork points. */
#define MODEL_MAX_KEEP 64

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
    int evals;                /* log-spaced validation points (plus the end and a
                               * dense tail over the last 80%: train.c eval_points) */
    int eval_windows;         /* held-out windows per intermediate validation */
    int64_t final_eval_tokens; /* final validation: 0 = the whole split, else at most this many */
    int patience;             /* early stop after this many evals without improvement (0: off) */
    int log_every;            /* steps between step records */
    uint64_t seed;
    int threads;            /* worker threads (0: 1); OpenBLAS runs single-threaded inside them */
    char checkpoint[1024];  /* checkpoint path ("" for none) */
    double checkpoint_secs; /* write a checkpoint at most this often (and at the end) */
    int resume;             /* continue from `checkpoint` if it exists */
    volatile sig_atomic_t *stop; /* set non-zero to stop cleanly (checkpoint, EINTR) */
    /* SCHED_WSD: the last `cooldown` of the steps decay (0.2), in this shape */
    double cooldown;
    model_cooldown cooldown_shape;
    /* Branching: a branch starts from its parent's checkpoint at fork_tokens
     * (a whole step) instead of from initialisation, and continues under its
     * own schedule; its data order continues the parent's. */
    char fork_parent[17];       /* the parent run's id ("" for none) */
    int64_t fork_tokens;        /* the parent's tokens at the fork */
    char fork_checkpoint[1024]; /* the parent's checkpoint there (model_fork_path) */
    /* A trunk writes model_fork_path(checkpoint, t) when it reaches each t
     * (whole steps, below tokens), for the branches that fork there. */
    int64_t keep_tokens[MODEL_MAX_KEEP];
    int nkeep;
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
 * under c's schedule (see schedule.c for the formulas). */
double model_lr_at(const model_train_config *c, int64_t step, int64_t steps);

/* WSD: the first step of the cooldown of a run of `steps` steps, i.e. the
 * step at which a branch of that length leaves its trunk (the one place the
 * cooldown length is computed: steps - max(1, round(cooldown * steps))). */
int64_t model_wsd_decay_start(const model_train_config *c, int64_t steps);

/* The checkpoint a trunk with checkpoint path `ckpt` keeps at `tokens` for
 * its branches: "CKPT.atTOKENS". */
void model_fork_path(const char *ckpt, int64_t tokens, char *out, size_t n);

/* Stable run id: 16 hex digits hashing every field that changes what is
 * computed (shape, data checksum-independent path, budget, optimiser, schedule,
 * seed, final eval size); threads, checkpoint path and logging cadence are
 * left out. Version 2 ("v2|" in the hashed text): windows drawn without
 * replacement and the final loss on the whole validation split; a v1 id
 * (windows with replacement, 64 final windows) is never reused for v2 work.
 * The WSD cooldown and a branch's parent and fork point are hashed only when
 * set; the fork points a trunk keeps are left out (they change what is
 * saved, not what is computed). */
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
    int64_t val_tokens; /* validation tokens behind val_loss (targets scored) */
    /* The final evaluation only (else NULL, 0): the mean loss of each of its
     * windows, window w covering val.tok tokens [w n_ctx, (w + 1) n_ctx]. */
    const float *window_loss;
    int64_t nwindows;
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
    int64_t final_val_tokens; /* validation tokens behind final_val_loss (0 if none) */
    double best_val_loss;
    double epochs; /* training tokens / tokens in the training windows: exact passes */
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
    /* Called just before a checkpoint at `step` is written: every record
     * reported so far must be durable when it returns (a resume starts after
     * the checkpoint and never reports them again). Non-zero: no checkpoint. */
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
