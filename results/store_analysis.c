/*
 * store_analysis.c — the reads behind the fits, the figures, the report and
 * `scaling fit` / `predict`: finished runs as the fits load them, eval curves,
 * sweeps with their plan, and stored fits. The analysis module and those two
 * commands reach the database only through these typed functions.
 *
 * Every function reads; none changes the database. Strings in returned rows
 * are malloc'd and freed by the matching *_free function.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

/* ---- Helpers ------------------------------------------------------------------ */

/* A REAL column, NaN for NULL. */
static double col_num(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* A copy of a TEXT column ("" for NULL); NULL only when out of memory. */
static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t n) {
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* Grows *arr (elements of size sz, *cap of them) to hold n + 1. */
static int grow(void **arr, int *cap, int n, size_t sz) {
    if (n < *cap) return 0;
    int nc = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, (size_t)nc * sz);
    if (!p) return UTIL_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

/* Prepares sql, binding text params ?1..?np (NULL binds NULL). */
static int prepare(store *s, const char *sql, const char *const *params, int np, sqlite3_stmt **st,
                   const char *what, char *err, size_t errlen) {
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return util_err(err, errlen, UTIL_EDB, "%s: reading %s: %s", s->path, what,
                        sqlite3_errmsg(s->db));
    for (int i = 0; i < np; i++)
        if (params[i]) sqlite3_bind_text(*st, i + 1, params[i], -1, SQLITE_STATIC);
    return 0;
}

/* ---- Runs and curves ------------------------------------------------------------ */

/* The done runs of sweep (NULL: all) that are not excluded: held out
 * (holdout "1") or not ("0"). */
static int fit_runs(store *s, const char *sweep, const char *holdout, store_fit_run **out, int *n,
                    char *err, size_t errlen) {
    const char *params[2] = {sweep, holdout};
    sqlite3_stmt *st = NULL;
    store_fit_run *rows = NULL;
    int rc, cap = 0, m = 0, r;
    *out = NULL;
    *n = 0;
    if ((rc = prepare(
             s,
             "SELECT id, label, params_total, params_nonembedding, "
             "flops_per_token_kaplan, flops_per_token_chinchilla, tokens, "
             "tokens_done, unique_tokens, compute_budget, final_val_loss, "
             "best_val_loss, parent_run, n_vocab, n_ctx, batch, warmup, "
             /* the configuration without the seed (and without what does
              * not change the result: threads, host, times) */
             "ifnull(data_dir, '') || '|' || ifnull(tokenizer, '') || '|' || "
             "ifnull(n_vocab, '') || '|' || ifnull(n_layer, '') || '|' || "
             "ifnull(d_model, '') || '|' || ifnull(n_head, '') || '|' || "
             "ifnull(d_ff, '') || '|' || ifnull(n_ctx, '') || '|' || "
             "ifnull(tokens, '') || '|' || ifnull(unique_tokens, '') || '|' || "
             "ifnull(batch, '') || '|' || ifnull(lr, '') || '|' || "
             "ifnull(schedule, '') || '|' || ifnull(warmup, '') || '|' || "
             "ifnull(cycle_tokens, '') || '|' || ifnull(compute_budget, '') || '|' || "
             "ifnull(fork_tokens, '') || '|' || ifnull(params_total, ''), "
             "n_layer, d_model, n_head, d_ff, epochs, schedule "
             "FROM runs WHERE status = 'done' AND " STORE_SQL_FITTED
             " AND (?1 IS NULL OR " STORE_SQL_IN_SWEEP("?1") ") AND (?2 = '0' AND "
             STORE_SQL_NOT_HELD_OUT("?1") " OR ?2 = '1' AND NOT " STORE_SQL_NOT_HELD_OUT("?1") ") "
             "ORDER BY id",
             params, 2, &st, "runs", err, errlen)))
        goto done;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&rows, &cap, m, sizeof *rows)) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory reading runs", s->path);
            goto done;
        }
        store_fit_run *x = &rows[m++];
        col_copy(st, 0, x->id, sizeof x->id);
        col_copy(st, 1, x->label, sizeof x->label);
        x->params_total = col_num(st, 2);
        x->params_nonembedding = col_num(st, 3);
        x->flops_per_token_kaplan = col_num(st, 4);
        x->flops_per_token_chinchilla = col_num(st, 5);
        x->tokens = col_num(st, 6);
        x->tokens_done = col_num(st, 7);
        x->unique_tokens = col_num(st, 8);
        x->compute_budget = col_num(st, 9);
        x->final_val_loss = col_num(st, 10);
        x->best_val_loss = col_num(st, 11);
        col_copy(st, 12, x->parent_run, sizeof x->parent_run);
        x->n_vocab = col_num(st, 13);
        x->n_ctx = col_num(st, 14);
        x->batch = col_num(st, 15);
        x->warmup = col_num(st, 16);
        col_copy(st, 17, x->config, sizeof x->config);
        int *shape[4] = {&x->n_layer, &x->d_model, &x->n_head, &x->d_ff};
        for (int k = 0; k < 4; k++)
            *shape[k] = sqlite3_column_int(st, 18 + k);
        x->epochs = col_num(st, 22);
        col_copy(st, 23, x->schedule, sizeof x->schedule);
    }
    if (r != SQLITE_DONE)
        rc =
            util_err(err, errlen, UTIL_EDB, "%s: reading runs: %s", s->path, sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    if (rc) {
        free(rows);
        return rc;
    }
    *out = rows;
    *n = m;
    return 0;
}

int store_fit_runs(store *s, const char *sweep, store_fit_run **out, int *n, char *err,
                   size_t errlen) {
    return fit_runs(s, sweep, "0", out, n, err, errlen);
}

int store_holdout_runs(store *s, const char *sweep, store_fit_run **out, int *n, char *err,
                       size_t errlen) {
    return fit_runs(s, sweep, "1", out, n, err, errlen);
}

int store_eval_curve(store *s, const char *run_id, double **tokens, double **val_loss, int *n,
                     char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    double *t = NULL, *l = NULL;
    int rc, cap = 0, m = 0, r;
    *tokens = *val_loss = NULL;
    *n = 0;
    if ((rc = prepare(s,
                      "SELECT tokens, val_loss FROM evals WHERE run_id = ?1 "
                      "AND val_loss IS NOT NULL ORDER BY tokens",
                      &run_id, 1, &st, "evals", err, errlen)))
        goto done;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int c2 = cap;
        if (grow((void **)&t, &cap, m, sizeof *t) || grow((void **)&l, &c2, m, sizeof *l)) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory reading evals", s->path);
            goto done;
        }
        t[m] = col_num(st, 0);
        l[m] = col_num(st, 1);
        m++;
    }
    if (r != SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_EDB, "%s: reading evals of %s: %s", s->path, run_id,
                      sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    if (rc) {
        free(t);
        free(l);
        return rc;
    }
    *tokens = t;
    *val_loss = l;
    *n = m;
    return 0;
}

/* ---- Sweeps --------------------------------------------------------------------- */

int store_sweep_known(store *s, const char *sweep, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "SELECT 1 FROM sweeps WHERE name = ?1 "
                     "UNION ALL SELECT 1 FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") " LIMIT 1",
                     &sweep, 1, &st, "sweeps", err, errlen);
    if (rc) return rc;
    int r = sqlite3_step(st);
    rc = r == SQLITE_ROW ? 1 : 0;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_EDB, "%s: looking up sweep: %s", s->path,
                      sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc;
}

int store_read_sweeps(store *s, const char *sweep, store_sweep_row **out, int *n, char *err,
                      size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_sweep_row *rows = NULL;
    int rc, cap = 0, m = 0, r;
    *out = NULL;
    *n = 0;
    if ((rc = prepare(s,
                      "SELECT name, mode, created, plan_json, file_text FROM sweeps "
                      "WHERE ?1 IS NULL OR name = ?1 ORDER BY created, name",
                      &sweep, 1, &st, "sweeps", err, errlen)))
        goto done;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&rows, &cap, m, sizeof *rows)) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory reading sweeps", s->path);
            goto done;
        }
        store_sweep_row *x = &rows[m++];
        x->name = col_dup(st, 0);
        x->mode = col_dup(st, 1);
        x->created = col_dup(st, 2);
        x->plan_json = col_dup(st, 3);
        x->file_text = col_dup(st, 4);
        if (!x->name || !x->mode || !x->created || !x->plan_json || !x->file_text) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory reading sweeps", s->path);
            goto done;
        }
    }
    if (r != SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_EDB, "%s: reading sweeps: %s", s->path,
                      sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    if (rc) {
        store_sweep_rows_free(rows, m);
        return rc;
    }
    *out = rows;
    *n = m;
    return 0;
}

void store_sweep_rows_free(store_sweep_row *rows, int n) {
    for (int i = 0; rows && i < n; i++) {
        free(rows[i].name);
        free(rows[i].mode);
        free(rows[i].created);
        free(rows[i].plan_json);
        free(rows[i].file_text);
    }
    free(rows);
}

/* ---- Stored fits ---------------------------------------------------------------- */

/* The fits that sql (with text params) selects, columns as store_fit_row. */
static int read_fits(store *s, const char *sql, const char *const *params, int np,
                     store_fit_row **out, int *n, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_fit_row *rows = NULL;
    int rc, cap = 0, m = 0, r;
    *out = NULL;
    *n = 0;
    if ((rc = prepare(s, sql, params, np, &st, "fits", err, errlen))) goto done;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&rows, &cap, m, sizeof *rows)) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory reading fits", s->path);
            goto done;
        }
        store_fit_row *x = &rows[m++];
        x->id = sqlite3_column_int64(st, 0);
        x->sweep = col_dup(st, 1);
        x->law = col_dup(st, 2);
        x->created = col_dup(st, 3);
        x->params_json = col_dup(st, 4);
        x->selection_json = col_dup(st, 5);
        if (!x->sweep || !x->law || !x->created || !x->params_json || !x->selection_json) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory reading fits", s->path);
            goto done;
        }
    }
    if (r != SQLITE_DONE)
        rc =
            util_err(err, errlen, UTIL_EDB, "%s: reading fits: %s", s->path, sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    if (rc) {
        store_fit_rows_free(rows, m);
        return rc;
    }
    *out = rows;
    *n = m;
    return 0;
}

#define FIT_COLS "SELECT id, sweep, law, created, params_json, selection_json FROM fits "

int store_list_fits(store *s, const char *sweep, store_fit_row **out, int *n, char *err,
                    size_t errlen) {
    return read_fits(s, FIT_COLS "WHERE ?1 IS NULL OR sweep = ?1 ORDER BY id", &sweep, 1, out, n,
                     err, errlen);
}

int store_get_fit(store *s, int64_t id, store_fit_row **out, int *n, char *err, size_t errlen) {
    char idtxt[32];
    const char *p = idtxt;
    snprintf(idtxt, sizeof idtxt, "%lld", (long long)id);
    return read_fits(s, FIT_COLS "WHERE id = CAST(?1 AS INTEGER)", &p, 1, out, n, err, errlen);
}

int store_latest_fit(store *s, const char *sweep, const char *law, store_fit_row **out, int *n,
                     char *err, size_t errlen) {
    const char *p[2] = {sweep, law};
    return read_fits(s,
                     FIT_COLS "WHERE law = ?2 AND (?1 IS NULL OR sweep = ?1) "
                              "ORDER BY created DESC, id DESC LIMIT 1",
                     p, 2, out, n, err, errlen);
}

void store_fit_rows_free(store_fit_row *rows, int n) {
    for (int i = 0; rows && i < n; i++) {
        free(rows[i].sweep);
        free(rows[i].law);
        free(rows[i].created);
        free(rows[i].params_json);
        free(rows[i].selection_json);
    }
    free(rows);
}
