/*
 * store.h — the SQLite results database: schema, migrations, writes from
 * training and sweeps, reads for the CLI and the analysis (typed reads for
 * fit/, the figures, the report, `fit` and `predict` in store_analysis.c),
 * export and merge. The only module that holds SQL.
 *
 * Schema (version 1, PRAGMA user_version; STRICT tables, foreign keys on, WAL):
 *   sweeps(name PK, mode, file_text, plan_json, created)
 *   runs(id PK, sweep → sweeps.name, label, status, data_dir, tokenizer, n_vocab,
 *        n_layer, d_model, n_head, d_ff, n_ctx, params_total, params_embedding,
 *        params_nonembedding, flops_per_token_kaplan, flops_per_token_chinchilla,
 *        tokens, unique_tokens, batch, lr, schedule, warmup, cycle_tokens, seed,
 *        threads, compute_budget, flops, epochs, final_train_loss, final_val_loss,
 *        final_val_bpb, best_val_loss, tokens_done, started, ended, host, git_rev,
 *        blas_kernel, config_json)
 *   steps(run_id → runs.id, step, tokens, flops, train_loss, lr, grad_norm, elapsed)
 *   evals(run_id → runs.id, step, tokens, flops, val_loss, val_bpb)
 *   fits(id PK, sweep, law, params_json, selection_json, created)
 *   locks(name PK, host, pid, pid_start, what, since, heartbeat, stale_secs)  (v2)
 * Units: tokens are counts, flops are FLOPs (tokens × flops_per_token_chinchilla
 * unless said), losses nats/token, bpb bits/byte, times ISO-8601 UTC, elapsed s.
 *
 * Owns: the schema, its migrations, the sqlite3 connection, and every SQL
 * statement of the program: writes, the typed reads other modules call,
 * read-only queries (`scaling query`), export and merge. No file outside
 * results/ (tests aside) includes sqlite3.h or holds SQL text.
 * Does not own: what a run's row holds (run/run.h builds it), analysis,
 * printing. Errors: 0 or negative UTIL_E*, message in the caller's buffer;
 * on error nothing was changed.
 */
#ifndef SCALING_STORE_H
#define SCALING_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../util/util.h"

#define STORE_SCHEMA_VERSION 6

typedef struct store store;
typedef struct sqlite3 sqlite3;

enum { STORE_READONLY = 1, STORE_CREATE = 2 };

/* Opens (and with STORE_CREATE creates or migrates) the database at path.
 * Refuses a non-SQLite file, another program's database and a newer schema.
 * *out is NULL on failure. store_close accepts NULL. */
int store_open(store **out, const char *path, int flags, char *err, size_t errlen);
void store_close(store *s);

/* One row of `runs`. Strings are NUL-terminated; unknown numbers are NaN or -1. */
typedef struct {
    char id[17];
    char sweep[128]; /* "" for none */
    char label[128]; /* the sweep section / group that generated it */
    char status[16]; /* planned running done failed diverged */
    char data_dir[1024];
    char tokenizer[16];
    int n_vocab, n_layer, d_model, n_head, d_ff, n_ctx;
    int64_t params_total, params_embedding, params_nonembedding;
    double flops_per_token_kaplan, flops_per_token_chinchilla;
    int64_t tokens, unique_tokens; /* budget; 0 = unlimited unique */
    int batch;
    double lr;
    char schedule[16];
    int warmup;
    int64_t cycle_tokens;
    char parent_run[17]; /* a branch: the run it forked from ("" for none) */
    int64_t fork_tokens; /* a branch: the parent's tokens at the fork (-1 for none) */
    uint64_t seed;
    int threads;
    double compute_budget; /* the IsoFLOP budget that generated it, NaN if none */
    double flops;          /* total training FLOPs of the budget */
    double epochs;
    double final_train_loss, final_val_loss, final_val_bpb, best_val_loss;
    int64_t final_val_tokens; /* validation tokens behind final_val_loss, -1 unknown */
    int64_t tokens_done;
    char started[32], ended[32], host[128], git_rev[64], blas_kernel[64];
    char *config_json; /* owned by whoever filled it; store_run_free_fields */
    char excluded[256]; /* why it is kept out of fits, "" when it is not (store_exclude_run
                           sets it; store_put_run leaves it) */
} store_run;

void store_run_init(store_run *r);        /* zeroes numbers to NaN/-1, strings empty */
void store_run_free_fields(store_run *r); /* frees config_json */

int store_put_sweep(store *s, const char *name, const char *mode, const char *file_text,
                    const char *plan_json, char *err, size_t errlen);
/* Inserts the run, or updates the configuration of an existing id without
 * touching its status, curve or results. */
int store_put_run(store *s, const store_run *r, char *err, size_t errlen);
int store_get_run(store *s, const char *id, store_run *out, char *err, size_t errlen);
int store_set_status(store *s, const char *id, const char *status, char *err, size_t errlen);
/* Final numbers of a finished (or diverged/failed) run, with status and end time. */
int store_finish_run(store *s, const store_run *r, char *err, size_t errlen);

/* Curve rows. Steps are buffered and written in one transaction every
 * `flush` rows or on store_flush; an eval is committed before returning so a
 * reported eval is never lost. Re-logging a step/eval after a resume replaces it.
 * Contention (SQLITE_BUSY) is retried for up to a minute; a flush that still
 * fails drops the buffered rows (they would fail again) and says how many. */
int store_add_step(store *s, const char *run_id, int64_t step, int64_t tokens, double flops,
                   double train_loss, double lr, double grad_norm, double elapsed, char *err,
                   size_t errlen);
int store_add_eval(store *s, const char *run_id, int64_t step, int64_t tokens, double flops,
                   double val_loss, double val_bpb, char *err, size_t errlen);
int store_flush(store *s, char *err, size_t errlen);

/* The final evaluation's per-window losses (table final_eval): loss[w] is the
 * mean loss in nats/token of validation window w, which covers val.tok tokens
 * [w n_ctx, (w + 1) n_ctx] (inputs and shifted targets), so runs with the same
 * data and n_ctx are evaluated on the same windows and can be resampled
 * paired. Stored as n little-endian float32; replaces an earlier copy. */
int store_put_final_eval(store *s, const char *run_id, int n_ctx, const float *loss, int64_t n,
                         char *err, size_t errlen);
/* Reads them back: *loss malloc'd (free it), *n windows; UTIL_ENOTFOUND if none. */
int store_get_final_eval(store *s, const char *run_id, int *n_ctx, float **loss, int64_t *n,
                         char *err, size_t errlen);

/* Stores a fit; *id gets its rowid. An identical row (same sweep, law and
 * JSON) is not stored twice: *id is then the existing row's. */
int store_add_fit(store *s, const char *sweep, const char *law, const char *params_json,
                  const char *selection_json, int64_t *id, char *err, size_t errlen);

/* Runs read-only SQL and writes the result to fp as an aligned table
 * (STORE_FMT_TABLE), CSV or JSON. A statement that would write is refused. */
enum { STORE_FMT_TABLE = 0, STORE_FMT_CSV = 1, STORE_FMT_JSON = 2 };
int store_query(store *s, const char *sql, int fmt, FILE *fp, char *err, size_t errlen);

/* Folds the database at in_path into s. Idempotent; a run present in both
 * with different content is counted in *conflicts and left as it was, each
 * described on one line appended to `report` (may be NULL). */
int store_merge(store *s, const char *in_path, int *runs_added, int *conflicts, FILE *report,
                char *err, size_t errlen);

/* ---- Added by the results module (beyond the original contract) -------- */

/* PRAGMA application_id of our databases ("SCAL"); another value, or tables
 * under application_id 0, means another program's database. */
#define STORE_APPLICATION_ID 0x5343414C

/* Run statuses, in the order of store_sweep_counts. */
enum { STORE_PLANNED, STORE_RUNNING, STORE_DONE, STORE_FAILED, STORE_DIVERGED, STORE_NSTATUS };
const char *store_status_name(int i);  /* "planned" ... "diverged"; NULL out of range */
int store_status_index(const char *s); /* 0..STORE_NSTATUS-1, or -1 if not a status word */

/* Flush policy for buffered steps: every `rows` rows (default 256) or when
 * `seconds` (default 2.0) have passed since the last flush, checked at each
 * store_add_step. rows <= 1 writes every step at once. */
void store_set_flush(store *s, int rows, double seconds);

const char *store_path(store *s); /* the path given to store_open */

/* Number of runs of `sweep` (NULL or "" = all runs) in each status. */
int store_sweep_counts(store *s, const char *sweep, int64_t counts[STORE_NSTATUS], char *err,
                       size_t errlen);

/* Runs filtered by sweep and status (NULL = any), ordered by sweep, compute
 * budget, non-embedding parameters, id. *out is a malloc'd array of *n runs
 * (NULL when 0); free with store_runs_free. */
int store_list_runs(store *s, const char *sweep, const char *status, store_run **out, int *n,
                    char *err, size_t errlen);
void store_runs_free(store_run *runs, int n);

/* ---- Sweeps that share runs, and runs kept out of fits (issue 17) -------
 * A run belongs to every sweep whose plan registered it (sweep_runs), so a
 * sweep re-run under another name keeps its runs; a sweep's listings,
 * status and fits take the runs of its current plan (in_plan = 1).
 * STORE_SQL_IN_SWEEP(p): the SQL condition "runs.id is in the current plan
 * of the sweep bound to parameter p" (e.g. "?1"), for the reads that still
 * live outside results/ until issue 12 part B moves them here.
 * STORE_SQL_FITTED: the condition that a run is not excluded from fits. */
#define STORE_SQL_IN_SWEEP(p)                                                                      \
    "id IN (SELECT run_id FROM sweep_runs WHERE sweep = " p " AND in_plan = 1)"
#define STORE_SQL_FITTED "excluded IS NULL"
/* STORE_SQL_NOT_HELD_OUT(p): the condition that runs.id is not held out
 * (sweep_runs.holdout) by the sweep bound to parameter p, or by any sweep
 * when p is NULL: held-out runs never enter a fit. */
#define STORE_SQL_NOT_HELD_OUT(p)                                                                  \
    "id NOT IN (SELECT run_id FROM sweep_runs WHERE holdout = 1 AND (" p " IS NULL OR sweep = " p  \
    "))"

/* After a sweep registered its runs: the sweep's members that are not in
 * ids[0..n-1] (its whole plan, every shard) leave its plan (kept in the
 * database, out of its listings and fits); *dropped (may be NULL) counts
 * those that were in it until now. */
int store_sweep_plan(store *s, const char *sweep, const char *const *ids, int n, int *dropped,
                     char *err, size_t errlen);
/* The sweep's runs ids[0..n-1] are its held-out runs (holdout = true in
 * their section: trained, never fitted); its other runs are not. */
int store_sweep_holdout(store *s, const char *sweep, const char *const *ids, int n, char *err,
                        size_t errlen);
/* Stores the sweep file's description (sweeps.description). */
int store_sweep_describe(store *s, const char *sweep, const char *description, char *err,
                         size_t errlen);
/* Keeps run id out of every fit with the reason why (non-empty), or with
 * why NULL takes it back in. UTIL_ENOTFOUND for an unknown id. */
int store_exclude_run(store *s, const char *id, const char *why, char *err, size_t errlen);
/* The reason run id is excluded into why (empty when it is not). */
int store_run_excluded(store *s, const char *id, char *why, size_t n, char *err, size_t errlen);
/* The full id of the one run whose id starts with prefix (a whole id
 * included). UTIL_ENOTFOUND when none does, UTIL_EINVAL when several do; the
 * message names the candidates or some runs that exist. */
int store_resolve_run(store *s, const char *prefix, char id[17], char *err, size_t errlen);
/* For messages: "a, b, c" (the sweeps in the database, oldest first; "none"
 * when there is none) into buf; returns how many there are, or < 0. */
int store_sweep_names(store *s, char *buf, size_t n, char *err, size_t errlen);

/* ---- Reads for the CLI and the sweep pool (store_runs.c) ---------------- */

/* Sweeps named `name` (NULL: every sweep), oldest first. *out is a malloc'd
 * array of *n (NULL when 0); the caller frees it. */
typedef struct {
    char name[128]; /* sweeps.name */
    char mode[16];  /* sweeps.mode */
} store_sweep_name;
int store_list_sweeps(store *s, const char *name, store_sweep_name **out, int *n, char *err,
                      size_t errlen);

/* A sweep's runs and planned FLOPs (runs.flops; 0 where a row has none) in each status, in total
 * and per label (ordered by label). *labels is a malloc'd array of *nlabels; caller frees. */
typedef struct {
    int64_t runs[STORE_NSTATUS];
    double flops[STORE_NSTATUS];
    double trained[STORE_NSTATUS]; /* FLOPs trained: planned for done, tokens_done x
                                      FLOPs/token for the others (a diverged run stopped early) */
} store_status_totals;
typedef struct {
    char label[128];             /* "" for none */
    int64_t runs[STORE_NSTATUS]; /* runs of the label in each status */
    double best_loss;            /* lowest final_val_loss of a done run, NaN if none */
    double flops;                /* planned FLOPs of all its runs */
} store_label_status;
int store_sweep_status(store *s, const char *sweep, store_status_totals *totals,
                       store_label_status **labels, int *nlabels, char *err, size_t errlen);

/* Every run of `sweep` in the order they were registered: id, status and
 * what the learning-rate rule reads. *out is a malloc'd array of *n (NULL
 * when 0); the caller frees it. */
typedef struct {
    char id[17];
    int status;                 /* STORE_PLANNED ... STORE_DIVERGED */
    double params_nonembedding; /* NaN when unknown */
    double lr, final_val_loss;  /* NaN when unknown */
} store_run_brief;
int store_sweep_runs(store *s, const char *sweep, store_run_brief **out, int *n, char *err,
                     size_t errlen);

/* run_id's last logged step: its tokens into *tokens (-1 when none is
 * logged) and its train loss (nats/token) into *loss (NaN when none). */
int store_run_last_step(store *s, const char *run_id, int64_t *tokens, double *loss, char *err,
                        size_t errlen);
/* run_id's curve: evals (tokens, val_loss) when evals, else steps (tokens,
 * train_loss), by tokens. *tokens and *loss are malloc'd arrays of *n (NULL
 * when 0); the caller frees both. */
int store_run_losses(store *s, const char *run_id, int evals, double **tokens, double **loss,
                     int *n, char *err, size_t errlen);
/* Tokens of run_id's last logged step into *tokens, -1 when none is logged. */
int store_run_tokens_logged(store *s, const char *run_id, int64_t *tokens, char *err,
                            size_t errlen);

/* Listings printed to fp in fmt (STORE_FMT_*): runs filtered by sweep and
 * status (NULL = any; ordered by sweep, budget, size, id); one run's evals by
 * tokens; its steps, every `every`-th and the last. */
int store_print_runs(store *s, const char *sweep, const char *status, int fmt, FILE *fp, char *err,
                     size_t errlen);
int store_print_evals(store *s, const char *run_id, int fmt, FILE *fp, char *err, size_t errlen);
int store_print_steps(store *s, const char *run_id, int64_t every, int fmt, FILE *fp, char *err,
                      size_t errlen);

/* Time limit of each later store_query / store_export on s, in seconds
 * (0, the default: none). A query past it stops with UTIL_EDB and a message
 * saying so, whatever rows it had printed. */
void store_set_query_timeout(store *s, double seconds);

/* Writes table ("runs", "steps", "evals", "sweeps", "fits") as CSV or JSON
 * (STORE_FMT_*) to fp; with sweep non-NULL only that sweep's rows (steps and
 * evals of its runs). CSV: header line, NULL as empty field, REAL with 17
 * significant digits; JSON: one array of objects, NULL as null. */
int store_export(store *s, const char *table, const char *sweep, int fmt, FILE *fp, char *err,
                 size_t errlen);

/* store_merge with every count: what was added, runs updated (a finished copy
 * replaced a planned/running one, or running replaced planned), conflicts. */
typedef struct {
    int sweeps_added;    /* sweeps new to s */
    int runs_added;      /* runs new to s */
    int runs_updated;    /* runs whose status advanced from the input */
    int conflicts;       /* runs and sweeps that differ; left as they were */
    int64_t steps_added; /* rows of steps inserted or replaced */
    int64_t evals_added; /* rows of evals inserted or replaced */
    int fits_added;      /* fits with no identical row in s */
} store_merge_stats;
int store_merge_ex(store *s, const char *in_path, store_merge_stats *stats, FILE *report, char *err,
                   size_t errlen);

/* ---- Reads for the analysis, `fit` and `predict` (store_analysis.c) ---- */

/* A finished run as the fits load it; NaN where the column is NULL. */
typedef struct {
    char id[17];
    char label[128];
    double params_total, params_nonembedding;                  /* parameters */
    double flops_per_token_kaplan, flops_per_token_chinchilla; /* training FLOPs per token */
    double tokens, tokens_done;           /* planned budget; trained (tokens) */
    double unique_tokens;                 /* unique training tokens, 0 or NaN: unlimited */
    double compute_budget;                /* IsoFLOP budget that generated it (FLOPs) */
    double final_val_loss, best_val_loss; /* nats/token */
    char parent_run[17];                  /* a WSD branch's trunk (runs.parent_run), "" if none */
    double n_vocab, n_ctx, batch, warmup; /* vocabulary, context, sequences per step, warm-up
                                           * steps (NaN when NULL) */
    /* everything that defines the run except its seed (shape, data, budget,
     * schedule, fork), so runs differing only by seed share it; "" if unknown */
    char config[320];
    int n_layer, d_model, n_head, d_ff; /* the rest of the shape (0 where NULL), for
                                         * the counts not stored (model_flops_actual) */
    double epochs;                      /* passes over the unique training tokens */
    char schedule[16];                  /* runs.schedule: cosine, wsd, ... ("" if NULL) */
} store_fit_run;

/* The runs of `sweep` (NULL: all) whose status is 'done', ordered by id,
 * held-out runs left out. *out is a malloc'd array of *n (NULL when 0),
 * freed with free(). */
int store_fit_runs(store *s, const char *sweep, store_fit_run **out, int *n, char *err,
                   size_t errlen);
/* The held-out runs of `sweep` (NULL: of every sweep) whose status is
 * 'done', as store_fit_runs reads runs, ordered by id. */
int store_holdout_runs(store *s, const char *sweep, store_fit_run **out, int *n, char *err,
                       size_t errlen);

/* The validation curve of run_id, ordered by tokens (evals whose val_loss is
 * NULL left out): *tokens and *val_loss are malloc'd arrays of *n (NULL when
 * 0; NaN for a NULL tokens), freed with free(). */
int store_eval_curve(store *s, const char *run_id, double **tokens, double **val_loss, int *n,
                     char *err, size_t errlen);

/* 1 if the database knows `sweep` (as a sweep or on a run), 0 if not, < 0 error. */
int store_sweep_known(store *s, const char *sweep, char *err, size_t errlen);

/* A row of `sweeps`; every string malloc'd ("" for NULL). */
typedef struct {
    char *name, *mode, *created, *plan_json, *file_text;
} store_sweep_row;
/* The sweep named `sweep` (NULL: every sweep), ordered by creation and name;
 * *out malloc'd, freed with store_sweep_rows_free (accepts NULL). */
int store_read_sweeps(store *s, const char *sweep, store_sweep_row **out, int *n, char *err,
                      size_t errlen);
void store_sweep_rows_free(store_sweep_row *rows, int n);

/* A row of `fits`; every string malloc'd ("" for NULL, e.g. a CSV fit's sweep). */
typedef struct {
    int64_t id;
    char *sweep, *law, *created, *params_json, *selection_json;
} store_fit_row;
/* The fits of `sweep` (NULL: all) by id; the fit with `id` (0 or 1 row); the
 * most recently made fit of `law` for `sweep` (NULL: any sweep; 0 or 1 row).
 * *out malloc'd, freed with store_fit_rows_free (accepts NULL). */
int store_list_fits(store *s, const char *sweep, store_fit_row **out, int *n, char *err,
                    size_t errlen);
int store_get_fit(store *s, int64_t id, store_fit_row **out, int *n, char *err, size_t errlen);
int store_latest_fit(store *s, const char *sweep, const char *law, store_fit_row **out, int *n,
                     char *err, size_t errlen);
void store_fit_rows_free(store_fit_row *rows, int n);

/* The migration mechanism (exposed for tests): brings db from its
 * user_version v to nsteps by running steps[v..nsteps-1] in one transaction,
 * setting application_id and user_version; refuses v > nsteps. On error
 * nothing changed. store_open uses it with the built-in table of steps. */
int store_migrate(sqlite3 *db, const char *const *steps, int nsteps, char *err, size_t errlen);

/* ---- Locks: who is using this database now (lock.c) -------------------- */

/* The holder of a lock, as recorded in its row. */
typedef struct {
    char host[128];  /* util_hostname of the holder */
    int64_t pid;     /* its process id; 0 when the lock was free */
    char what[256];  /* what it said it is doing ("sweep NAME", "scaling train") */
    char since[32];  /* ISO-8601 UTC time it took the lock */
    double age_secs; /* seconds since its last heartbeat */
} store_lock_holder;

/* Lock names: the one sweep a database may have running, and a run being
 * trained (STORE_LOCK_RUN_PREFIX + run id). */
#define STORE_LOCK_SWEEP "sweep"
#define STORE_LOCK_RUN_PREFIX "run:"

/* Takes lock `name` for this process (host, pid) with the description
 * `what`, or confirms that it already holds it. A lock held by another
 * process is taken over when stale: its process is gone (same host), or its
 * heartbeat is older than the holder's stale_secs (another host); *holder
 * (may be NULL) then describes the stale holder and *took_over is 1.
 * Returns UTIL_EDB with holder->pid set and a message naming the holder when
 * a live process holds it; other errors as usual. store_close releases the
 * locks this process took through s. On failure nothing was changed. */
int store_lock(store *s, const char *name, const char *what, double stale_secs,
               store_lock_holder *holder, int *took_over, char *err, size_t errlen);
/* Renews the heartbeat of every lock this connection holds (each flush of
 * steps does it too). UTIL_EDB if one was taken over by another process. */
int store_lock_refresh(store *s, char *err, size_t errlen);
/* Releases lock `name` if this process holds it (else changes nothing). */
int store_unlock(store *s, const char *name, char *err, size_t errlen);
/* What a sweep's worker says it is doing (its run lock's `what` starts so). */
#define STORE_LOCK_WORKER "sweep worker"
/* Drops the run locks of sweep workers. Only for the holder of
 * STORE_LOCK_SWEEP before it launches any: every such lock then belongs to a
 * worker of an earlier sweep, which died with it (perhaps on another node,
 * whose heartbeat would otherwise hold the run for minutes). *n (may be
 * NULL) gets how many. */
int store_lock_drop_workers(store *s, int *n, char *err, size_t errlen);

#endif
