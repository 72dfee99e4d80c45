/*
 * sweep_rule.c — the learning-rate rule lr = c · N^-p fitted to an lr sweep
 * in the results database: per model size (non-embedding N) the lr of the
 * finished run with the lowest final validation loss, then least squares of
 * log lr on log N. Read-only on the database.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../results/store.h"
#include "sweep_priv.h"

int sweep_lr_rule(const char *db_path, const char *sweep_name, double *c, double *p, int *nsizes,
                  char *err, size_t errlen) {
    store *s = NULL;
    store_run_brief *runs = NULL;
    double *N = NULL, *lr = NULL, *loss = NULL;
    int n = 0, nruns = 0, rc;
    if ((rc = store_open(&s, db_path, STORE_READONLY, err, errlen))) return rc;
    if ((rc = store_sweep_runs(s, sweep_name, &runs, &nruns, err, errlen))) goto done;
    N = malloc((nruns ? nruns : 1) * sizeof *N);
    lr = malloc((nruns ? nruns : 1) * sizeof *lr);
    loss = malloc((nruns ? nruns : 1) * sizeof *loss);
    if (!N || !lr || !loss) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    /* per size, the lr of the done run with the lowest loss (first wins ties) */
    for (int i = 0; i < nruns; i++) {
        const store_run_brief *b = &runs[i];
        double n_ = b->params_nonembedding, lr_ = b->lr, l_ = b->final_val_loss;
        if (b->status != STORE_DONE || !(n_ > 0 && lr_ > 0 && isfinite(l_))) continue;
        int k;
        for (k = 0; k < n; k++)
            if (N[k] == n_) break;
        if (k == n) {
            N[n] = n_;
            lr[n] = lr_;
            loss[n] = l_;
            n++;
        } else if (l_ < loss[k]) {
            lr[k] = lr_;
            loss[k] = l_;
        }
    }
    if (n < 2) {
        rc = util_err(err, errlen, UTIL_ENOTFOUND,
                      "%s: lr sweep '%s' has finished runs for %d model size%s; the rule needs 2",
                      db_path, sweep_name, n, n == 1 ? "" : "s");
        goto done;
    }
    /* log lr = a + b log N */
    for (int i = 0; i < n; i++) {
        N[i] = log(N[i]);
        lr[i] = log(lr[i]);
    }
    double a, b;
    util_line_fit(N, lr, n, &b, &a);
    *c = exp(a);
    *p = -b;
    if (nsizes) *nsizes = n;
    rc = 0;
done:
    store_close(s);
    free(runs);
    free(N);
    free(lr);
    free(loss);
    return rc;
}
