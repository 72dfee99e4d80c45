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

/* FLOPs of a run as planned: runs.flops, else tokens x chinchilla FLOPs/token. */
#define RUN_FLOPS "coalesce(flops, tokens * flops_per_token_chinchilla, 0)"

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", v ? v : "");
}

static double column_or_nan(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* Grows *v (elements of size sz) to hold one more than *n; 0 or UTIL_ENOMEM. */
static int grow(void **v, int *cap, int n, size_t sz, char *err, size_t errlen) {
    if (n < *cap) return 0;
    int nc = *cap ? 2 * *cap : 16;
    void *p = realloc(*v, (size_t)nc * sz);
    if (!p) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    *v = p;
    *cap = nc;
    return 0;
}

/* ======================================================================== */
/* Sweeps and their progress                                                */
/* ======================================================================== */

int store_list_sweeps(store *s, const char *name, store_sweep_name **out, int *n, char *err,
                      size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_sweep_name *v = NULL;
    int nv = 0, cap = 0, rc = 0, r;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, mode FROM sweeps WHERE ?1 IS NULL OR name = ?1 "
                           "ORDER BY created, name",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading sweeps");
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 1);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = grow((void **)&v, &cap, nv, sizeof *v, err, errlen))) goto done;
        copy_text(v[nv].name, sizeof v[nv].name, st, 0);
        copy_text(v[nv].mode, sizeof v[nv].mode, st, 1);
        nv++;
    }
    if (r != SQLITE_DONE) rc = store__dberr(s, err, errlen, "reading sweeps");
done:
    sqlite3_finalize(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return 0;
}

int store_sweep_status(store *s, const char *sweep, store_status_totals *totals,
                       store_label_status **labels, int *nlabels, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_label_status *v = NULL;
    int nv = 0, cap = 0, rc = 0, r;
    memset(totals, 0, sizeof *totals);
    *labels = NULL;
    *nlabels = 0;
    /* by status: counts and planned FLOPs */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT status, count(*), sum(" RUN_FLOPS ") FROM runs "
                           "WHERE sweep = ?1 GROUP BY status",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading a sweep's status");
    sqlite3_bind_text(st, 1, sweep, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int i = store_status_index((const char *)sqlite3_column_text(st, 0));
        if (i < 0) continue; /* the schema's CHECK allows no other word */
        totals->runs[i] += sqlite3_column_int64(st, 1);
        totals->flops[i] += sqlite3_column_double(st, 2);
    }
    if (r != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "reading a sweep's status");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* by label: counts per status, the best final loss of a done run, FLOPs */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT label, sum(status = 'planned'), sum(status = 'running'), "
                           "sum(status = 'done'), sum(status = 'failed'), "
                           "sum(status = 'diverged'), min(CASE WHEN status = 'done' THEN "
                           "final_val_loss END), sum(" RUN_FLOPS ") FROM runs WHERE sweep = ?1 "
                           "GROUP BY label ORDER BY label",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "reading a sweep's labels");
        goto done;
    }
    sqlite3_bind_text(st, 1, sweep, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = grow((void **)&v, &cap, nv, sizeof *v, err, errlen))) goto done;
        store_label_status *l = &v[nv++];
        copy_text(l->label, sizeof l->label, st, 0);
        for (int i = 0; i < STORE_NSTATUS; i++)
            l->runs[i] = sqlite3_column_int64(st, 1 + i);
        l->best_loss = column_or_nan(st, 6);
        l->flops = sqlite3_column_double(st, 7);
    }
    if (r != SQLITE_DONE) rc = store__dberr(s, err, errlen, "reading a sweep's labels");
done:
    sqlite3_finalize(st);
    if (rc) {
        free(v);
        return rc;
    }
    *labels = v;
    *nlabels = nv;
    return 0;
}

int store_sweep_runs(store *s, const char *sweep, store_run_brief **out, int *n, char *err,
                     size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_run_brief *v = NULL;
    int nv = 0, cap = 0, rc = 0, r;
    *out = NULL;
    *n = 0;
    /* rowid order: the order the runs were registered in */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, status, params_nonembedding, lr, final_val_loss "
                           "FROM runs WHERE sweep = ?1 ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading a sweep's runs");
    sqlite3_bind_text(st, 1, sweep, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = grow((void **)&v, &cap, nv, sizeof *v, err, errlen))) goto done;
        store_run_brief *b = &v[nv++];
        copy_text(b->id, sizeof b->id, st, 0);
        b->status = store_status_index((const char *)sqlite3_column_text(st, 1));
        b->params_nonembedding = column_or_nan(st, 2);
        b->lr = column_or_nan(st, 3);
        b->final_val_loss = column_or_nan(st, 4);
    }
    if (r != SQLITE_DONE) rc = store__dberr(s, err, errlen, "reading a sweep's runs");
done:
    sqlite3_finalize(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return 0;
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
        "final_val_loss, tokens_done "
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
