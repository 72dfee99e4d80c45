/*
 * sweep_rule.c — the learning-rate rule lr = c · N^-p fitted to an lr sweep
 * in the results database: per model size (non-embedding N) the lr of the
 * finished run with the lowest final validation loss, then least squares of
 * log lr on log N. Read-only on the database.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../results/store.h"
#include "sweep_priv.h"

int sweep_lr_rule(const char *db_path, const char *sweep_name, double *c, double *p, int *nsizes,
                  char *err, size_t errlen) {
    store *s = NULL;
    sqlite3_stmt *st = NULL;
    double *N = NULL, *lr = NULL, *loss = NULL;
    int n = 0, cap = 0, rc;
    if ((rc = store_open(&s, db_path, STORE_READONLY, err, errlen))) return rc;
    const char *sql = "SELECT params_nonembedding, lr, final_val_loss FROM runs WHERE sweep = ?1 "
                      "AND status = 'done' AND final_val_loss IS NOT NULL";
    if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: %s", db_path, sqlite3_errmsg(store_db(s)));
        goto done;
    }
    sqlite3_bind_text(st, 1, sweep_name, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        double n_ = sqlite3_column_double(st, 0), lr_ = sqlite3_column_double(st, 1),
               l_ = sqlite3_column_double(st, 2);
        if (!(n_ > 0 && lr_ > 0 && isfinite(l_))) continue;
        int k;
        for (k = 0; k < n; k++)
            if (N[k] == n_) break;
        if (k == n) {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                double *a = realloc(N, cap * sizeof *a), *b = NULL, *d = NULL;
                if (a) N = a;
                if (a) b = realloc(lr, cap * sizeof *b);
                if (b) lr = b;
                if (b) d = realloc(loss, cap * sizeof *d);
                if (d) loss = d;
                if (!d) {
                    rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
                    goto done;
                }
            }
            N[n] = n_;
            lr[n] = lr_;
            loss[n] = l_;
            n++;
        } else if (l_ < loss[k]) {
            lr[k] = lr_;
            loss[k] = l_;
        }
    }
    if (r != SQLITE_DONE) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: %s", db_path, sqlite3_errmsg(store_db(s)));
        goto done;
    }
    if (n < 2) {
        rc = util_err(err, errlen, UTIL_ENOTFOUND,
                      "%s: lr sweep '%s' has finished runs for %d model size%s; the rule needs 2",
                      db_path, sweep_name, n, n == 1 ? "" : "s");
        goto done;
    }
    /* least squares: log lr = a + b log N */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double x = log(N[i]), y = log(lr[i]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    double den = n * sxx - sx * sx;
    double b = den > 0 ? (n * sxy - sx * sy) / den : 0;
    double a = (sy - b * sx) / n;
    *c = exp(a);
    *p = -b;
    if (nsizes) *nsizes = n;
    rc = 0;
done:
    sqlite3_finalize(st);
    store_close(s);
    free(N);
    free(lr);
    free(loss);
    return rc;
}
