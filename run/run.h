/*
 * run.h — one training run: what it is, the row it writes, its status, its
 * exit codes and the command line that starts it.
 *
 * Owns: run_config (the model's training configuration plus where the run
 * belongs: sweep, label, and the plan's budget, FLOP count and target size),
 * its id (model_run_id of the configuration unless given), the one builder
 * of its `runs` row and config_json (so a sweep that registers a run and
 * `scaling train --db` that starts it write the same row), which status a
 * training outcome gives and what counts as finished, the process exit codes
 * of `scaling` (one enum for the trainer, the sweep pool and every command),
 * and the table of `scaling train`'s flags that both the command's parser
 * and the sweep's worker command line are made from.
 * Does not own: training and the configuration hash (model/), the schema
 * and its SQL (results/), plans and the worker pool (sweep/), printing and
 * the other commands' options (cli/).
 * Errors: 0 or a negative UTIL_E* code, message in the caller's buffer.
 */
#ifndef SCALING_RUN_H
#define SCALING_RUN_H

#include <stddef.h>

#include "../data/data.h"
#include "../model/model.h"
#include "../results/store.h"
#include "../util/util.h"

/* ---- Exit codes --------------------------------------------------------- */

/* Exit status of every `scaling` command; `scaling train` adds 3 and 4, which
 * the sweep pool reads back from its workers. */
typedef enum {
    RUN_EXIT_OK = 0,          /* done (a run: also early-stopped) */
    RUN_EXIT_FAIL = 1,        /* runtime failure */
    RUN_EXIT_USAGE = 2,       /* bad command line */
    RUN_EXIT_DIVERGED = 3,    /* training diverged (recorded as such) */
    RUN_EXIT_INTERRUPTED = 4, /* stopped on request; checkpoint written, resumable */
} run_exit;

/* ---- Configuration -------------------------------------------------------- */

typedef struct {
    model_train_config train; /* what is trained, with threads, checkpoint and resume */
    char id[17];              /* model_run_id(&train) unless given (--run-id); "" until resolved */
    char sweep[128];          /* sweep it belongs to, "" for none */
    char label[128];          /* the sweep section that generated it, "" for none */
    char mode[16];            /* the sweep's mode, "" for none */
    char flops_count[16];     /* FLOP count of the budget: a model_flops_name */
    double compute_budget;    /* the IsoFLOP budget that generated it (FLOPs), NaN if none */
    double target_params;     /* the shape rule's target parameters, NaN if none */
    int target_total;         /* the target counts total (1) or non-embedding (0) parameters */
} run_config;

/* model_train_defaults, one thread, no sweep, budget and target NaN, FLOPs
 * counted the Chinchilla way. */
void run_config_defaults(run_config *rc);

/* The id (model_run_id unless already set) and n_vocab from `data`
 * (data_info_read of train.data_dir) when 0. */
void run_resolve(run_config *rc, const data_info *data);

/* ---- The row -------------------------------------------------------------- */

/* The runs row of a resolved configuration: every column that follows from
 * the configuration and its data (shape, counts, FLOPs per token, budget,
 * optimiser, planned FLOPs and epochs, config_json). Status is left "" (a new
 * row is planned, an existing one keeps its status); started, host, git_rev
 * and blas_kernel are the starting process's, set by run_register_start.
 * row->config_json is malloc'd (store_run_free_fields). UTIL_ENOMEM. */
int run_row(const run_config *rc, const data_info *data, store_run *row, char *err, size_t errlen);

/* The run's configuration as JSON (runs.config_json and the plan's runs[]):
 * malloc'd, NULL when out of memory. */
char *run_config_json(const run_config *rc, const data_info *data);

/* Writes the run's row (run_row) into db: as planned when it is new. */
int run_register(store *db, const run_config *rc, const data_info *data, char *err, size_t errlen);
/* The row again with this process's start (time, host, revision, BLAS
 * kernel), and status running. */
int run_register_start(store *db, const run_config *rc, const data_info *data,
                       const char *blas_kernel, char *err, size_t errlen);
/* Records the end of a training attempt: rc 0 → done/diverged with res's
 * numbers, rc != 0 → failed. */
int run_record_end(store *db, const char *id, int rc, const model_train_result *res, char *err,
                   size_t errlen);

/* ---- Status --------------------------------------------------------------- */

/* Finished: done or diverged, nothing left to train (status as in
 * store_status_index; -1 is not finished). */
int run_status_finished(int status);
/* The status word a training attempt leaves: "failed" when rc != 0, else
 * "diverged" or "done". */
const char *run_status_of(int rc, model_status st);
/* The exit code `scaling train` gives for that attempt (UTIL_EINTR →
 * interrupted). */
run_exit run_exit_of(int rc, model_status st);

/* ---- Command line ------------------------------------------------------- */

/* The subcommand that trains a run. */
#define RUN_TRAIN_COMMAND "train"

/* `scaling train`'s flags (without the leading "--"), as one table: the
 * command's parser reads it, run_worker_argv writes it, so a flag renamed
 * here is renamed for both. Flags marked RUN_FLAG_PROCESS are not part of
 * the configuration (the caller handles them by id). */
typedef enum {
    RUN_F_DATA,
    RUN_F_LAYERS,
    RUN_F_DMODEL,
    RUN_F_HEADS,
    RUN_F_DFF,
    RUN_F_CTX,
    RUN_F_BATCH,
    RUN_F_MICRO,
    RUN_F_TOKENS,
    RUN_F_UNIQUE,
    RUN_F_LR,
    RUN_F_MINLR,
    RUN_F_WARMUP,
    RUN_F_SCHED,
    RUN_F_CYCLE,
    RUN_F_COOLDOWN,
    RUN_F_COOLSHAPE,
    RUN_F_FORK,
    RUN_F_AT,
    RUN_F_FORKCKPT,
    RUN_F_KEEPAT,
    RUN_F_WD,
    RUN_F_CLIP,
    RUN_F_EVALS,
    RUN_F_EVALW,
    RUN_F_FINALEVAL,
    RUN_F_PATIENCE,
    RUN_F_LOGEVERY,
    RUN_F_SEED,
    RUN_F_CKPTSECS,
    RUN_F_THREADS,
    RUN_F_DB,
    RUN_F_RUNID,
    RUN_F_SWEEP,
    RUN_F_LABEL,
    RUN_F_MODE,
    RUN_F_FLOPSCOUNT,
    RUN_F_BUDGET,
    RUN_F_TARGET,
    RUN_F_TARGETCOUNT,
    RUN_F_CKPT,
    RUN_F_RESUME,
    RUN_F_QUIET,
    RUN_NFLAGS
} run_flag_id;

enum { RUN_FLAG_VALUE = 1, RUN_FLAG_PROCESS = 2 };

typedef struct {
    const char *name; /* "d-model" for --d-model */
    int flags;        /* RUN_FLAG_VALUE: takes a value; RUN_FLAG_PROCESS: not configuration */
} run_flag;
extern const run_flag run_flags[RUN_NFLAGS];

/* Sets configuration flag f from its value `val` (NULL for a switch).
 * UTIL_EINVAL with "--NAME: expected ..., got 'VAL'" on a bad value. */
int run_flag_set(run_config *rc, run_flag_id f, const char *val, char *err, size_t errlen);

/* The worker's argv for rc: `exe train`, every configuration flag that
 * differs from "unset" (ids, sweep bookkeeping, checkpoint, --resume), then
 * --db db_path and --quiet. NULL-terminated, malloc'd strings and array
 * (run_argv_free); NULL when out of memory. */
char **run_worker_argv(const run_config *rc, const char *exe, const char *db_path);
void run_argv_free(char **argv);

#endif
