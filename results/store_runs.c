/*
 * store_runs.c — the typed reads the CLI and the sweep pool make of runs:
 * a sweep's progress by status and label, the runs of a sweep in the order
 * they were registered, a running run's last logged tokens, and the run,
 * eval and step listings of `scaling runs` and `scaling curve`. Their SQL
 * lives here so that no caller outside results/ writes any.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

/* FLOPs of a run as planned: runs.flops, which every row is written with
 * (run_row); SQL never recounts FLOPs (model_flops_per_token does). */
#define RUN_FLOPS "coalesce(flops, 0)"

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", v ? v : "");
}

static double column_or_nan(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* Steps st (prepared, bound) to the end, reading each row into a new element
 * of size sz through `row`. *out is malloc'd (NULL when no row), *n its
 * length; on error nothing is returned. Finalizes st. */
static int read_rows(store *s, sqlite3_stmt *st, size_t sz, void (*row)(sqlite3_stmt *, void *),
                     void **out, int *n, const char *what, char *err, size_t errlen) {
    char *v = NULL;
    int nv = 0, cap = 0, rc = 0, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (nv == cap) {
            int nc = cap ? 2 * cap : 16;
            char *p = realloc(v, (size_t)nc * sz);
            if (!p) {
                rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
                break;
            }
            v = p;
            cap = nc;
        }
        memset(v + (size_t)nv * sz, 0, sz);
        row(st, v + (size_t)nv++ * sz);
    }
    if (!rc && r != SQLITE_DONE) rc = store__dberr(s, err, errlen, what);
    sqlite3_finalize(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return 0;
}

/* Prepares sql with ?1 bound to text a1 (NULL binds NULL). */
static int prepare1(store *s, const char *sql, const char *a1, sqlite3_stmt **st, const char *what,
                    char *err, size_t errlen) {
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, what);
    if (a1)
        sqlite3_bind_text(*st, 1, a1, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(*st, 1);
    return 0;
}

/* read_rows of sql with ?1 = a1. */
static int select_rows(store *s, const char *sql, const char *a1, size_t sz,
                       void (*row)(sqlite3_stmt *, void *), void **out, int *n, const char *what,
                       char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    int rc = prepare1(s, sql, a1, &st, what, err, errlen);
    if (rc) return rc;
    return read_rows(s, st, sz, row, out, n, what, err, errlen);
}

/* ======================================================================== */
/* Sweeps and their progress                                                */
/* ======================================================================== */

static void sweep_name_row(sqlite3_stmt *st, void *e) {
    store_sweep_name *v = e;
    copy_text(v->name, sizeof v->name, st, 0);
    copy_text(v->mode, sizeof v->mode, st, 1);
}

int store_list_sweeps(store *s, const char *name, store_sweep_name **out, int *n, char *err,
                      size_t errlen) {
    return select_rows(s,
                       "SELECT name, mode FROM sweeps WHERE ?1 IS NULL OR name = ?1 "
                       "ORDER BY created, name",
                       name, sizeof **out, sweep_name_row, (void **)out, n, "reading sweeps", err,
                       errlen);
}

static void label_row(sqlite3_stmt *st, void *e) {
    store_label_status *l = e;
    copy_text(l->label, sizeof l->label, st, 0);
    for (int i = 0; i < STORE_NSTATUS; i++)
        l->runs[i] = sqlite3_column_int64(st, 1 + i);
    l->best_loss = column_or_nan(st, 6);
    l->flops = sqlite3_column_double(st, 7);
}

int store_sweep_status(store *s, const char *sweep, store_status_totals *totals,
                       store_label_status **labels, int *nlabels, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    const char *what = "reading a sweep's status";
    int rc, r;
    memset(totals, 0, sizeof *totals);
    *labels = NULL;
    *nlabels = 0;
    /* by status: counts and planned FLOPs */
    rc = prepare1(s,
                  "SELECT status, count(*), sum(" RUN_FLOPS ") FROM runs "
                  "WHERE sweep = ?1 GROUP BY status",
                  sweep, &st, what, err, errlen);
    if (rc) return rc;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int i = store_status_index((const char *)sqlite3_column_text(st, 0));
        if (i < 0) continue; /* the schema's CHECK allows no other word */
        totals->runs[i] += sqlite3_column_int64(st, 1);
        totals->flops[i] += sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) return store__dberr(s, err, errlen, what);
    /* by label: counts per status, the best final loss of a done run, FLOPs */
    return select_rows(s,
                       "SELECT label, sum(status = 'planned'), sum(status = 'running'), "
                       "sum(status = 'done'), sum(status = 'failed'), "
                       "sum(status = 'diverged'), min(CASE WHEN status = 'done' THEN "
                       "final_val_loss END), sum(" RUN_FLOPS ") FROM runs WHERE sweep = ?1 "
                       "GROUP BY label ORDER BY label",
                       sweep, sizeof **labels, label_row, (void **)labels, nlabels,
                       "reading a sweep's labels", err, errlen);
}

static void brief_row(sqlite3_stmt *st, void *e) {
    store_run_brief *b = e;
    copy_text(b->id, sizeof b->id, st, 0);
    b->status = store_status_index((const char *)sqlite3_column_text(st, 1));
    b->params_nonembedding = column_or_nan(st, 2);
    b->lr = column_or_nan(st, 3);
    b->final_val_loss = column_or_nan(st, 4);
}

int store_sweep_runs(store *s, const char *sweep, store_run_brief **out, int *n, char *err,
                     size_t errlen) {
    /* rowid order: the order the runs were registered in */
    return select_rows(s,
                       "SELECT id, status, params_nonembedding, lr, final_val_loss "
                       "FROM runs WHERE sweep = ?1 ORDER BY rowid",
                       sweep, sizeof **out, brief_row, (void **)out, n, "reading a sweep's runs",
                       err, errlen);
}

int store_run_tokens_logged(store *s, const char *run_id, int64_t *tokens, char *err,
                            size_t errlen) {
    sqlite3_stmt *st = NULL;
    *tokens = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT max(tokens) FROM steps WHERE run_id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading a run's steps");
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *tokens = sqlite3_column_int64(st, 0);
    else if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = store__dberr(s, err, errlen, "reading a run's steps");
    sqlite3_finalize(st);
    return rc;
}

/* ======================================================================== */
/* Listings printed by `scaling runs` and `scaling curve`                   */
/* ======================================================================== */

int store_print_runs(store *s, const char *sweep, const char *status, int fmt, FILE *fp, char *err,
                     size_t errlen) {
    const char *params[2] = {sweep, status};
    return store_query_params(
        s,
        "SELECT id, sweep, label, status, "
        "CASE WHEN n_layer IS NULL THEN NULL ELSE n_layer || 'x' || d_model END AS shape, "
        "params_total, params_nonembedding AS params_nonemb, tokens, flops, "
        "final_val_loss, tokens_done, parent_run AS parent, fork_tokens AS fork_at "
        "FROM runs WHERE (?1 IS NULL OR sweep = ?1) AND (?2 IS NULL OR status = ?2) "
        "ORDER BY sweep, compute_budget, params_nonembedding, id",
        params, 2, fmt, fp, err, errlen);
}

int store_print_evals(store *s, const char *run_id, int fmt, FILE *fp, char *err, size_t errlen) {
    const char *params[1] = {run_id};
    return store_query_params(s,
                              "SELECT step, tokens, flops, val_loss, val_bpb FROM evals "
                              "WHERE run_id = ?1 ORDER BY tokens",
                              params, 1, fmt, fp, err, errlen);
}

int store_print_steps(store *s, const char *run_id, int64_t every, int fmt, FILE *fp, char *err,
                      size_t errlen) {
    char every_s[32];
    snprintf(every_s, sizeof every_s, "%lld", (long long)(every > 0 ? every : 1));
    const char *params[2] = {run_id, every_s};
    return store_query_params(
        s,
        "SELECT step, tokens, flops, train_loss, lr, grad_norm, elapsed "
        "FROM steps WHERE run_id = ?1 AND (step % CAST(?2 AS INTEGER) = 0 OR "
        "step = (SELECT max(step) FROM steps WHERE run_id = ?1)) ORDER BY step",
        params, 2, fmt, fp, err, errlen);
}
