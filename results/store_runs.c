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
                  "SELECT status, count(*), sum(" RUN_FLOPS "), sum(CASE WHEN status = 'done' "
                  "THEN " RUN_FLOPS " ELSE coalesce(tokens_done * flops_per_token_chinchilla, 0) "
                  "END) FROM runs "
                  "WHERE " STORE_SQL_IN_SWEEP("?1") " GROUP BY status",
                  sweep, &st, what, err, errlen);
    if (rc) return rc;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int i = store_status_index((const char *)sqlite3_column_text(st, 0));
        if (i < 0) continue; /* the schema's CHECK allows no other word */
        totals->runs[i] += sqlite3_column_int64(st, 1);
        totals->flops[i] += sqlite3_column_double(st, 2);
        totals->trained[i] += sqlite3_column_double(st, 3);
    }
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) return store__dberr(s, err, errlen, what);
    /* by label: counts per status, the best final loss of a done run, FLOPs */
    return select_rows(
        s,
        "SELECT label, sum(status = 'planned'), sum(status = 'running'), "
        "sum(status = 'done'), sum(status = 'failed'), "
        "sum(status = 'diverged'), min(CASE WHEN status = 'done' THEN "
        "final_val_loss END), sum(" RUN_FLOPS
        ") FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") " "
                                                      "GROUP BY label ORDER BY label",
        sweep, sizeof **labels, label_row, (void **)labels, nlabels, "reading a sweep's labels",
        err, errlen);
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
                       "FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") " ORDER BY rowid",
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
        "SELECT id, coalesce(?1, sweep) AS sweep, label, status, n_layer, d_model, "
        "params_total, params_nonembedding, tokens, flops, "
        "final_val_loss, tokens_done, excluded, parent_run, fork_tokens "
        "FROM runs WHERE (?1 IS NULL OR " STORE_SQL_IN_SWEEP(
            "?1") ") "
                  "AND (?2 IS NULL OR status = ?2) "
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

/* ======================================================================== */
/* Sweeps that share runs, runs kept out of fits, ids by prefix             */
/* ======================================================================== */

/* Runs sql with ?1..?nargs bound to text (NULL binds NULL) in one
 * transaction; *changed (may be NULL) gets sqlite3_changes. */
static int write1(store *s, const char *sql, const char *const *args, int nargs, int *changed,
                  const char *what, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    int rc = store__begin(s, err, errlen);
    if (rc) return rc;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, what);
        goto done;
    }
    for (int i = 0; i < nargs; i++)
        if (args[i]) sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, what);
        goto done;
    }
    if (changed) *changed = sqlite3_changes(s->db);
    rc = store__commit(s, err, errlen);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

static void id_row(sqlite3_stmt *st, void *e) {
    store_run_brief *b = e;
    copy_text(b->id, sizeof b->id, st, 0);
}

int store_sweep_plan(store *s, const char *sweep, const char *const *ids, int n, int *dropped,
                     char *err, size_t errlen) {
    store_run_brief *m = NULL;
    int nm = 0, rc, gone = 0;
    if (dropped) *dropped = 0;
    rc = select_rows(s, "SELECT run_id FROM sweep_runs WHERE sweep = ?1 AND in_plan = 1", sweep,
                     sizeof *m, id_row, (void **)&m, &nm, "reading a sweep's plan", err, errlen);
    if (rc) return rc;
    for (int k = 0; k < nm && !rc; k++) {
        int found = 0;
        for (int i = 0; i < n && !found; i++)
            found = !strcmp(ids[i], m[k].id);
        if (found) continue;
        const char *a[2] = {sweep, m[k].id};
        int ch = 0;
        rc = write1(s, "UPDATE sweep_runs SET in_plan = 0 WHERE sweep = ?1 AND run_id = ?2", a, 2,
                    &ch, "updating a sweep's plan", err, errlen);
        gone += ch;
    }
    free(m);
    if (dropped) *dropped = gone;
    return rc;
}

int store_sweep_holdout(store *s, const char *sweep, const char *const *ids, int n, char *err,
                        size_t errlen) {
    /* one statement, so no fit sees the set half-changed: ids as a JSON
     * array (run ids are hex, nothing to escape) */
    size_t cap = 3 + (size_t)n * 20;
    char *json = malloc(cap);
    if (!json) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    size_t len = (size_t)snprintf(json, cap, "[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s\"%.16s\"", i ? "," : "", ids[i]);
    snprintf(json + len, cap - len, "]");
    const char *a[2] = {sweep, json};
    int rc = write1(s,
                    "UPDATE sweep_runs SET holdout = (run_id IN (SELECT value FROM json_each(?2))) "
                    "WHERE sweep = ?1",
                    a, 2, NULL, "storing a sweep's held-out runs", err, errlen);
    free(json);
    return rc;
}

int store_sweep_describe(store *s, const char *sweep, const char *description, char *err,
                         size_t errlen) {
    const char *a[2] = {sweep, description ? description : ""};
    return write1(s, "UPDATE sweeps SET description = ?2 WHERE name = ?1", a, 2, NULL,
                  "storing a sweep's description", err, errlen);
}

int store_exclude_run(store *s, const char *id, const char *why, char *err, size_t errlen) {
    if (why && !*why)
        return util_err(err, errlen, UTIL_EINVAL, "run %s: the reason for excluding it is empty",
                        id);
    const char *a[2] = {id, why};
    int ch = 0;
    int rc = write1(s, "UPDATE runs SET excluded = ?2 WHERE id = ?1", a, 2, &ch, "excluding a run",
                    err, errlen);
    if (!rc && !ch)
        rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: unknown run id '%s'", s->path, id);
    return rc;
}

int store_run_excluded(store *s, const char *id, char *why, size_t n, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    why[0] = 0;
    int rc = prepare1(s, "SELECT coalesce(excluded, '') FROM runs WHERE id = ?1", id, &st,
                      "reading a run", err, errlen);
    if (rc) return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        copy_text(why, n, st, 0);
    else if (r == SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: unknown run id '%s'", s->path, id);
    else
        rc = store__dberr(s, err, errlen, "reading a run");
    sqlite3_finalize(st);
    return rc;
}

int store_resolve_run(store *s, const char *prefix, char id[17], char *err, size_t errlen) {
    store_run_brief *m = NULL;
    int nm = 0, rc;
    id[0] = 0;
    if (!prefix || !*prefix || strlen(prefix) > 16)
        return util_err(err, errlen, UTIL_EINVAL, "run id '%s': expected 1 to 16 characters",
                        prefix ? prefix : "");
    /* the exact id first, then ids that start with the prefix (substr, not
     * LIKE: '_' and '%' are literal here) */
    rc = select_rows(s,
                     "SELECT id FROM runs WHERE id = ?1 UNION ALL SELECT id FROM "
                     "(SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 AND id <> ?1 "
                     "ORDER BY id LIMIT 6)",
                     prefix, sizeof *m, id_row, (void **)&m, &nm, "reading run ids", err, errlen);
    if (rc) return rc;
    if (nm >= 1 && (nm == 1 || !strcmp(m[0].id, prefix))) {
        snprintf(id, 17, "%s", m[0].id);
    } else if (nm > 1) {
        char list[256] = "";
        size_t len = 0;
        for (int k = 0; k < nm && k < 5; k++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", m[k].id);
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: run id '%s' is ambiguous: %s%s", s->path,
                      prefix, list, nm > 5 ? ", ..." : "");
    } else {
        free(m);
        m = NULL;
        rc = select_rows(s, "SELECT id FROM runs WHERE ?1 IS NULL ORDER BY rowid DESC LIMIT 5",
                         NULL, sizeof *m, id_row, (void **)&m, &nm, "reading run ids", err, errlen);
        if (rc) return rc;
        char list[256] = "";
        size_t len = 0;
        for (int k = 0; k < nm; k++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", m[k].id);
        rc = util_err(err, errlen, UTIL_ENOTFOUND,
                      "%s: unknown run id '%s' (%s%s; 'scaling runs' lists them)", s->path, prefix,
                      nm ? "latest runs: " : "the database has no runs", list);
    }
    free(m);
    return rc;
}

int store_sweep_names(store *s, char *buf, size_t n, char *err, size_t errlen) {
    store_sweep_name *v = NULL;
    int nv = 0;
    int rc = store_list_sweeps(s, NULL, &v, &nv, err, errlen);
    if (rc) return rc;
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < nv && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", v[i].name);
    if (!nv) snprintf(buf, n, "none");
    free(v);
    return nv;
}

int store_run_last_step(store *s, const char *run_id, int64_t *tokens, double *loss, char *err,
                        size_t errlen) {
    sqlite3_stmt *st = NULL;
    *tokens = -1;
    *loss = NAN;
    int rc = prepare1(s,
                      "SELECT tokens, train_loss FROM steps WHERE run_id = ?1 "
                      "ORDER BY step DESC LIMIT 1",
                      run_id, &st, "reading a run's steps", err, errlen);
    if (rc) return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *tokens = sqlite3_column_int64(st, 0);
        *loss = column_or_nan(st, 1);
    } else if (r != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "reading a run's steps");
    }
    sqlite3_finalize(st);
    return rc;
}

typedef struct {
    double tokens, loss;
} loss_point;

static void loss_row(sqlite3_stmt *st, void *e) {
    loss_point *p = e;
    p->tokens = sqlite3_column_double(st, 0);
    p->loss = column_or_nan(st, 1);
}

int store_run_losses(store *s, const char *run_id, int evals, double **tokens, double **loss,
                     int *n, char *err, size_t errlen) {
    loss_point *v = NULL;
    int nv = 0;
    *tokens = *loss = NULL;
    *n = 0;
    int rc = select_rows(s,
                         evals ? "SELECT tokens, val_loss FROM evals WHERE run_id = ?1 "
                                 "ORDER BY tokens"
                               : "SELECT tokens, train_loss FROM steps WHERE run_id = ?1 "
                                 "ORDER BY step",
                         run_id, sizeof *v, loss_row, (void **)&v, &nv, "reading a run's curve",
                         err, errlen);
    if (rc) return rc;
    if (nv) {
        *tokens = malloc((size_t)nv * sizeof **tokens);
        *loss = malloc((size_t)nv * sizeof **loss);
        if (!*tokens || !*loss) {
            free(*tokens);
            free(*loss);
            *tokens = *loss = NULL;
            free(v);
            return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        }
        for (int i = 0; i < nv; i++) {
            (*tokens)[i] = v[i].tokens;
            (*loss)[i] = v[i].loss;
        }
    }
    free(v);
    *n = nv;
    return 0;
}
