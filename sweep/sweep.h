/*
 * sweep.h — families of training runs: the sweep file (INI) → a resolved plan
 * of runs → a pool of `scaling train` worker processes that fill the results
 * database, resumable after any interruption.
 *
 * Owns: the sweep file format (docs/sweep.md), plan expansion for the modes
 * grid / isoflop / kaplan / lr, adaptive IsoFLOP sizes (params = auto: each
 * budget placed from the budgets trained before it, read from the results
 * database) and their WSD chains, shape generation from target parameter counts,
 * token budgets from FLOP budgets, the deterministic run order and sharding,
 * the learning-rate rule fitted from an lr sweep, the worker pool (which
 * registers each run through run.h and starts `scaling train` with
 * run_worker_argv).
 * Does not own: training (model.h; workers are `scaling train` processes),
 * what a run is, its row and its command line (run/run.h), how FLOPs are
 * counted (model_flops_per_token, model.h), SQL (results/store.h), printing
 * (progress goes to a callback; the CLI renders it).
 * Errors: 0 or a negative UTIL_E* code with a one-line message in the caller's
 * buffer; parse errors read "FILE:LINE: key = value: what was expected".
 */
#ifndef SCALING_SWEEP_H
#define SCALING_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../data/data.h"
#include "../model/model.h"
#include "../run/run.h"
#include "../util/util.h"

typedef enum { SWEEP_GRID = 0, SWEEP_ISOFLOP = 1, SWEEP_KAPLAN = 2, SWEEP_LR = 3 } sweep_mode;
const char *sweep_mode_name(sweep_mode m); /* "grid", "isoflop", "kaplan", "lr" */

#define SWEEP_MAX_RUNS 100000

/* One resolved run: everything `scaling train` needs, plus the bookkeeping
 * the plan table and the database show. */
typedef struct {
    char id[17];            /* model_run_id(&cfg) */
    char label[128];        /* the section that generated it (+ ".data" for data-limited) */
    model_train_config cfg; /* fully resolved; threads/checkpoint/stop left unset */
    model_counts counts;
    double flops_per_token;  /* by the plan's FLOP count */
    double flops;            /* cfg.tokens * flops_per_token (FLOPs) */
    double flops_chinchilla; /* cfg.tokens * model_flops_chinchilla: runs.flops */
    double compute_budget;   /* the IsoFLOP budget (FLOPs), NaN when none */
    double target_params;    /* shape-rule target, NaN for explicit shapes */
    int target_total;        /* target counted total params (1) or non-embedding (0) */
    double epochs;           /* cfg.tokens / unique training tokens available */
    double est_seconds;      /* estimated wall time on this machine, NaN if not measured */
    int line;                /* line of the generating section's header in the file */
    int parent;              /* wsd branch: plan index of its trunk (cfg.fork_*), else -1 */
    double flops_trained;    /* FLOPs this run trains itself (a branch: after its fork) */
    int holdout;             /* its section says holdout = true: trained, kept out of fits */
    int stage;               /* params = auto: the budget's rank (0 smallest), else -1 */
    char *config_json;       /* the resolved configuration as JSON (owned) */
} sweep_item;

typedef struct {
    char name[128];  /* [sweep] name (default: the file's base name) */
    char description[512]; /* [sweep] description, "" when none (sweeps.description) */
    char path[1024]; /* the sweep file */
    sweep_mode mode;
    model_flops_count flops_count; /* the FLOP count budgets and totals use (model.h) */
    char data_dir[1024];
    data_info data;  /* of data_dir (vocab, train tokens, bytes/token) */
    char *file_text; /* the file as read, with the overrides appended as comments */
    char *plan_json; /* {"name","mode","flops","data","overrides",runs:[config...]} */
    int nruns;
    sweep_item *runs; /* in file order */
    int nwarnings;
    char **warnings; /* "FILE:LINE: ..." notes the CLI prints (duplicates, >4 epochs) */
    int npending;         /* params = auto: budgets not planned yet (their sizes wait
                           * on the budgets before them, unfinished or in another shard) */
    char pending[768];    /* why, for a person ("" when none) */
    double pending_flops; /* their nominal FLOPs (budget x runs), by the plan's count */
    int nretries;
    struct sweep_retry_item *retries; /* diverged runs this plan replaces (sweep_retry) */
} sweep_plan;

/* A diverged run replaced by the same run with a longer warm-up. The plan
 * remembers its retries in plan_json's "retries" ([{"run","warmup","as"}],
 * in the order made), which the database keeps as the sweep's plan_json:
 * sweep_apply_retries replays them on the next invocation, so the plan stays
 * the same without --retry (docs/sweep.md). */
typedef struct sweep_retry_item {
    char from[17], to[17];      /* the diverged run's id, its replacement's */
    int warmup_from, warmup_to; /* warm-up steps */
    int run;                    /* plan index of the replacement */
    int fresh;                  /* 1: made by sweep_retry now, 0: replayed */
} sweep_retry_item;

/* Parses the sweep file at `path` with command-line overrides ("key=value"
 * for [sweep], "section.key=value" for a section) and expands it into *plan.
 * Reads data_dir's meta.json for the vocabulary and token counts. `db_path`
 * (may be NULL) is where `lr = rule(NAME)` finds the lr sweep NAME.
 * On failure *plan is empty (sweep_plan_free is still safe) and err names
 * FILE:LINE (or the override) and the offending value. */
int sweep_parse(const char *path, const char *const *overrides, int noverrides, const char *db_path,
                sweep_plan *plan, char *err, size_t errlen);
void sweep_plan_free(sweep_plan *plan); /* accepts a zeroed or freed plan */

/* The warm-up a retry of r gets: doubled and at least 50 steps longer, at
 * most the run's steps - 1; -1 when it cannot grow. */
int sweep_retry_warmup(const sweep_item *r);
/* Replaces plan run i by the same run with `warmup` steps of warm-up (a new
 * id and config_json), recorded in plan->retries and plan_json. UTIL_EINVAL
 * for a run of a WSD family (trunk and branches share one warm-up). */
int sweep_retry(sweep_plan *plan, int i, int warmup, char *err, size_t errlen);
/* Replays the retries recorded in stored_plan_json (the sweep's plan_json in
 * the database; NULL or "" for none) on this plan's runs, in the order they
 * were made; those whose run this plan does not have stay recorded. */
int sweep_apply_retries(sweep_plan *plan, const char *stored_plan_json, char *err, size_t errlen);

/* Picks the shape nearest to `target` parameters (non-embedding unless
 * count_total) with d_model/n_layer near `aspect`, d_model a multiple of
 * head_size, n_layer >= 1; *s has n_ctx, n_vocab and ff_mult's d_ff set.
 * Returns 0 or UTIL_EINVAL (no shape within a factor of 2 of the target). */
int sweep_shape_for_params(double target, int count_total, double aspect, int head_size,
                           double ff_mult, int n_ctx, int n_vocab, model_shape *s, char *err,
                           size_t errlen);

/* ---- Adaptive IsoFLOP sizes (params = auto, docs/sweep.md) ---------------
 * Budgets are planned from small to large: the first budget's k sizes sit
 * around a prior (prior_tokens_per_param), each later budget's around the
 * compute-optimal size predicted from the budgets already trained (each
 * budget's IsoFLOP vertex, Hoffmann et al. 2022 §3.2, regressed as
 * ln N_opt = ln G + a ln C). Every size meets the constraints below, the
 * same as Approach 3's domain (fit_a3_outside, analysis/fit.h): at least 2
 * layers (a 1-layer model forms no induction heads, Olsson et al. 2022, and
 * sits off the depth trend, Kaplan et al. 2020 Fig. 5), at least 1 token per
 * parameter, at most 4 epochs of the corpus. */
#define SWEEP_AUTO_MIN_LAYERS 2
#define SWEEP_AUTO_MIN_TPP 1.0
#define SWEEP_AUTO_MAX_EPOCHS 4.0
#define SWEEP_AUTO_A_MIN 0.25 /* the planner's slope a, clamped (sweep_auto_extrapolate) */
#define SWEEP_AUTO_A_MAX 0.75

/* What a budget's sizes are chosen from: k sizes spaced 2 w / (k - 1) dex on
 * one lattice N_m = 10^(m step) shared by every budget. */
typedef struct {
    int k;            /* sizes per budget (auto_sizes, >= 2) */
    double width_dex; /* the sizes span N_center * 10^(+-w) (auto_width) */
    int count_total;  /* N counts total (1) or non-embedding (0) parameters */
    double aspect, ff_mult;
    int head_size, n_ctx, n_vocab;
    model_flops_count flops;  /* how a budget's FLOPs are counted */
    int64_t tokens_per_step;  /* batch * n_ctx */
    uint64_t epoch_tokens;    /* training tokens in one epoch (data_epoch_tokens) */
} sweep_auto_space;

/* The lattice spacing 2 w / (k - 1), in dex. */
double sweep_auto_step(const sweep_auto_space *sp);
/* The k sizes for `budget` FLOPs: k consecutive feasible lattice shapes
 * (distinct, ascending in N) whose middle is nearest N_center, sliding
 * inward where a constraint cuts the window. shapes[k] get n_ctx/n_vocab set;
 * targets[k] (may be NULL) their lattice targets. UTIL_EINVAL when fewer than
 * k lattice sizes meet the constraints, with the nearest budget that has k:
 * "budget C FLOPs: ... the corpus is too small for it: the largest budget
 * that allows them is C' FLOPs" (or "the budget is too small ... smallest"). */
int sweep_auto_place(const sweep_auto_space *sp, double budget, double N_center,
                     model_shape *shapes, double *targets, char *err, size_t errlen);
/* The lattice N whose tokens per parameter at `budget` is nearest the prior
 * (NaN when none): the first budget's centre. */
double sweep_auto_prior(const sweep_auto_space *sp, double budget, double tokens_per_param);
/* One budget's optimum N from its n runs' (N, final loss): the vertex of the
 * least-squares parabola in ln N (Hoffmann et al. 2022 §3.2), kept within
 * half_width_dex of the sizes run; the lowest loss when the losses do not
 * curve upwards. NaN losses are left out; NaN when none is left. *valley
 * (may be NULL) is 1 when the losses did curve upwards (a parabola with a
 * minimum), 0 when the lowest loss stood in. */
double sweep_auto_vertex(const double *N, const double *L, int n, double half_width_dex,
                         int *valley);
/* The shape nearest `target` parameters (as sp counts them) with at least
 * SWEEP_AUTO_MIN_LAYERS layers, by the params rule (aspect, head_size):
 * 0, or UTIL_EINVAL when none is within a factor of 2. */
int sweep_auto_shape(const sweep_auto_space *sp, double target, model_shape *s);
/* N_opt at `budget` from n earlier budgets' optima (C[i], N[i]): the least-
 * squares line ln N = ln G + a ln C, a clamped to [SWEEP_AUTO_A_MIN,
 * SWEEP_AUTO_A_MAX]; with one budget, slope prior_a through it. *a_used (may
 * be NULL) gets the slope. NaN when n < 1. */
double sweep_auto_extrapolate(const double *C, const double *N, int n, double budget,
                              double prior_a, double *a_used);

/* Largest training budget of one run in tokens (`scaling train --tokens`'s
 * limit) and largest warm-up in steps (an int in model_train_config). */
#define SWEEP_MAX_TOKENS 4e18
#define SWEEP_MAX_WARMUP (1 << 30)

/* Token budget (whole optimizer steps of tokens_per_step, at least one step)
 * whose training FLOPs at flops_per_token are nearest to `budget`; -1 when
 * that is more than SWEEP_MAX_TOKENS or an argument is not positive. */
int64_t sweep_tokens_for_budget(double budget, double flops_per_token, int64_t tokens_per_step);

/* The deterministic launch order: largest FLOPs trained first (ties by id),
 * so the long runs start early and the ETA is honest. With shard_n > 1 keeps
 * the entries at positions p of that order (branches not counted) with
 * p % shard_n == shard_i - 1, and the branches of the trunks kept.
 * order must hold plan->nruns entries; *n gets the count kept. */
void sweep_order(const sweep_plan *plan, int shard_i, int shard_n, int *order, int *n);

/* Learning-rate rule lr = c * N^-p (N non-embedding parameters), fitted by
 * least squares in log space to the best lr (lowest final val loss among
 * finished runs) of each model size of the lr sweep `sweep_name` in the
 * database at db_path. Needs at least two sizes: else UTIL_ENOTFOUND. */
int sweep_lr_rule(const char *db_path, const char *sweep_name, double *c, double *p, int *nsizes,
                  char *err, size_t errlen);

/* Measures training throughput on this machine (a few steps of the plan's
 * smallest and largest shape at `threads` OpenBLAS threads) and fills each
 * run's est_seconds by interpolating FLOP/s in log(FLOPs per token). */
int sweep_estimate(sweep_plan *plan, int threads, char *err, size_t errlen);

/* ---- Running ------------------------------------------------------------- */

typedef enum {
    SWEEP_EV_SKIP = 0, /* already finished in the database */
    SWEEP_EV_START,    /* worker launched */
    SWEEP_EV_DONE,     /* worker finished the run */
    SWEEP_EV_DIVERGED, /* worker exited 3: training diverged (recorded, sweep goes on) */
    SWEEP_EV_FAILED,   /* worker crashed or exited with an error (recorded) */
    SWEEP_EV_STOPPED,  /* worker checkpointed and exited on request (resumable) */
    SWEEP_EV_TICK,     /* periodic refresh (about once a second) */
} sweep_event;

typedef struct {
    sweep_event ev;
    int run;       /* index into plan->runs, -1 for ticks */
    int exit_code; /* worker's exit status (SWEEP_EV_FAILED: -signal if killed) */
    int total, done, running, failed, diverged, left; /* in this shard */
    double flops_done, flops_total; /* FLOPs (plan's count) finished or in flight / planned */
    double elapsed, eta;            /* seconds; eta NaN until it can be estimated */
    char live[256]; /* the running runs and their latest train loss, "ID LOSS (PCT%), ..."
                       ("" when none has logged a step); refreshed every 2 s */
} sweep_progress;

typedef struct {
    const char *db_path;         /* results database (created if missing) */
    const char *ckpt_dir;        /* checkpoints and worker logs (NULL: DB_PATH.runs) */
    const char *exe;             /* the `scaling` executable for workers (cli_self_exe()) */
    int workers;                 /* worker processes (>= 1) */
    int threads;                 /* OpenBLAS threads per worker (>= 1) */
    int shard_i, shard_n;        /* 1-based shard of shard_n (1/1: everything) */
    volatile sig_atomic_t *stop; /* raised once: SIGINT workers, wait; twice: SIGKILL them */
    void (*progress)(void *ctx, const sweep_item *run, const sweep_progress *p); /* may be NULL */
    void *ctx;
} sweep_run_opts;

/* Registers the sweep and its planned runs in the database, then runs every
 * unfinished run of the shard (status other than done/diverged) as a worker
 * process `exe train ... --run-id ID --resume`, at most `workers` at a time;
 * a branch starts once its trunk has written the checkpoint it forks from
 * (CKPT_DIR/TRUNK.ckpt.atTOKENS), which is deleted when its branches are done;
 * recording crashes as failed and going on. Returns 0 when every run of the
 * shard ended (done, diverged or failed: see *last), UTIL_EINTR when stopped
 * (all runs resumable), another negative code when the database or the
 * checkpoint directory is unusable. *last (may be NULL) gets the final counts. */
int sweep_run(const sweep_plan *plan, const sweep_run_opts *o, sweep_progress *last, char *err,
              size_t errlen);

/* The run_config of plan run r as the pool starts it: its configuration and
 * the plan's bookkeeping (sweep, label, mode, FLOP count, budget, target),
 * `threads` threads, and with ckpt_dir non-NULL the checkpoint
 * ckpt_dir/ID.ckpt and resume. The pool registers its row with run_register
 * and the worker, given run_worker_argv of it, writes the same row. */
void sweep_run_config(const sweep_plan *plan, const sweep_item *r, int threads,
                      const char *ckpt_dir, run_config *rc);

/* The argv of the worker for run r (NULL-terminated, malloc'd strings and
 * array; sweep_argv_free). Exposed for tests and `--dry-run -v`. */
char **sweep_worker_argv(const sweep_plan *plan, const sweep_item *r, const sweep_run_opts *o,
                         const char *ckpt_dir);
void sweep_argv_free(char **argv);

#endif
