/*
 * fit_predict.c — predictions from a stored fit (its params_json): the
 * compute-optimal N, D, tokens per parameter and loss at a budget C, with
 * percentile intervals over the fit's bootstrap draws. `scaling predict`
 * prints them; the conversion test of test_fit.c checks them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

enum { Q_N, Q_D, Q_TPP, Q_L, NQ };

int fit_predict(const char *law, const char *params_json, double C, fit_prediction *out, char *err,
                size_t errlen) {
    memset(out, 0, sizeof *out);
    int a3 = law && !strcmp(law, "approach3");
    if (!law || (!a3 && strcmp(law, "approach1") && strcmp(law, "approach2")))
        return util_err(err, errlen, UTIL_EINVAL, "a '%s' fit; predict needs approach1, 2 or 3",
                        law ? law : "?");
    fit_approach3 *f3 = a3 ? calloc(1, sizeof *f3) : NULL;
    fit_frontier *ff = a3 ? NULL : calloc(1, sizeof *ff);
    int rc = 0;
    if (!f3 && !ff) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = a3 ? fit_approach3_from_json(f3, params_json ? params_json : "", err, errlen)
                 : fit_frontier_from_json(ff, params_json ? params_json : "", err, errlen)))
        goto done;
    if ((rc = fit_predict_fits(ff, f3, C, out))) rc = util_err(err, errlen, rc, "out of memory");
done:
    free(f3);
    free(ff);
    return rc;
}

int fit_predict_fits(const fit_frontier *ff, const fit_approach3 *f3, double C,
                     fit_prediction *out) {
    memset(out, 0, sizeof *out);
    int a3 = f3 != NULL, rc = 0;
    double *q[NQ] = {NULL};

    /* Point estimates, then the same quantities for every bootstrap draw. */
    double est[NQ];
    int ns = a3 ? f3->nsamples : ff->nsamples;
    for (int k = 0; k < NQ; k++)
        if (!(q[k] = malloc((ns ? ns : 1) * sizeof *q[k]))) {
            rc = UTIL_ENOMEM;
            goto done;
        }
    if (a3) {
        fit_approach3_optimal(f3, C, &est[Q_N], &est[Q_D], &est[Q_L]);
        for (int i = 0; i < ns; i++) /* draws (E, A, B, alpha, beta), the fit's own count */
            fit_approach3_optimal_at(f3->samples[i], &f3->count, C, &q[Q_N][i], &q[Q_D][i],
                                     &q[Q_L][i]);
    } else {
        est[Q_N] = ff->kN.est * pow(C, ff->a.est);
        est[Q_D] = ff->kD.est * pow(C, ff->b.est);
        est[Q_L] = NAN;
        for (int i = 0; i < ns; i++) {
            const double *p = ff->samples[i]; /* kN, a, kD, b */
            q[Q_N][i] = p[0] * pow(C, p[1]);
            q[Q_D][i] = p[2] * pow(C, p[3]);
            q[Q_L][i] = NAN;
        }
    }
    for (int i = 0; i < ns; i++)
        q[Q_TPP][i] = q[Q_D][i] / q[Q_N][i];
    est[Q_TPP] = est[Q_D] / est[Q_N];
    fit_val *v[NQ] = {&out->N, &out->D, &out->tpp, &out->L};
    for (int k = 0; k < NQ; k++) {
        v[k]->est = est[k];
        fit_percentiles(q[k], ns, &v[k]->lo, &v[k]->hi);
    }
    out->a = a3 ? f3->a : ff->a;
    out->b = a3 ? f3->b : ff->b;
    out->nsamples = ns;
    /* A fit whose parameters sat at a bound or were not identified predicts
     * what its optimiser happened to reach: say which. */
    const fit_val *fv[7] = {&out->a, &out->b};
    static const char *const nm3[7] = {"E", "A", "B", "alpha", "beta", "a", "b"};
    static const char *const nm2[2] = {"a", "b"};
    if (a3) {
        const fit_val *w[7] = {&f3->E, &f3->A, &f3->B, &f3->alpha, &f3->beta, &f3->a, &f3->b};
        memcpy(fv, w, sizeof w);
    }
    size_t len = 0;
    out->caution[0] = 0;
    for (int k = 0; k < (a3 ? 7 : 2) && len < sizeof out->caution; k++)
        if (fv[k]->flags)
            len += (size_t)snprintf(out->caution + len, sizeof out->caution - len, "%s%s",
                                    len ? ", " : "", (a3 ? nm3 : nm2)[k]);
done:
    for (int k = 0; k < NQ; k++)
        free(q[k]);
    return rc;
}

int fit_predict_loss_fit(const fit_approach3 *f3, double N, double D, fit_val *L) {
    memset(L, 0, sizeof *L);
    L->est = f3->E.est + f3->A.est / pow(N, f3->alpha.est) + f3->B.est / pow(D, f3->beta.est);
    L->lo = L->hi = NAN;
    int ns = f3->nsamples;
    double *q = malloc((ns ? ns : 1) * sizeof *q);
    if (!q) return UTIL_ENOMEM;
    for (int i = 0; i < ns; i++) { /* draws (E, A, B, alpha, beta) */
        const double *p = f3->samples[i];
        q[i] = p[0] + p[1] / pow(N, p[3]) + p[2] / pow(D, p[4]);
    }
    if (ns >= 2) fit_percentiles(q, ns, &L->lo, &L->hi);
    free(q);
    return 0;
}

int fit_predict_loss(const char *law, const char *params_json, double N, double D, fit_val *L,
                     char *err, size_t errlen) {
    memset(L, 0, sizeof *L);
    L->est = L->lo = L->hi = NAN;
    if (!law || strcmp(law, "approach3"))
        return util_err(err, errlen, UTIL_EINVAL, "a '%s' fit: %s", law ? law : "?",
                        FIT_HOLDOUT_NA);
    fit_approach3 *f3 = calloc(1, sizeof *f3);
    if (!f3) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    int rc = fit_approach3_from_json(f3, params_json ? params_json : "", err, errlen);
    if (!rc && (rc = fit_predict_loss_fit(f3, N, D, L)))
        rc = util_err(err, errlen, rc, "out of memory");
    free(f3);
    return rc;
}
