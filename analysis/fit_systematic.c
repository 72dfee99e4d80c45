/*
 * fit_systematic.c — the systematic table: the frontier exponents a
 * (N_opt ∝ C^a) and b (D_opt ∝ C^b) under each choice a researcher makes
 * before fitting, beside the bootstrap intervals, so that the spread the
 * choices cause can be read against the spread the noise causes:
 *   N counted as total or non-embedding parameters,
 *   C counted as Chinchilla's, 6 N D, or the trainer's actual matmul FLOPs,
 *   Approach 3 inside its domain or on every run,
 *   Approach 2 with the window of 2 ranks or every size.
 * Approach 3's L(N, D) does not depend on the count of C, its frontier does:
 * under a count other than 6ND the frontier is not a power law, so a and b
 * are its mean slopes between the smallest and largest compute of the data,
 * a = ln(N_opt(C_hi) / N_opt(C_lo)) / ln(C_hi / C_lo) (and b with D_opt),
 * each bootstrap draw likewise; under 6ND they are beta/(alpha+beta) and
 * alpha/(alpha+beta) exactly.
 * Does not own: the fits (fit_approach2, fit_approach3_fit), printing (CLI,
 * report).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

const char *fit_sys_estimator_name(int e) {
    static const char *const n[FIT_SYS_NEST] = {"approach3 in domain", "approach3 all runs",
                                                "approach2 window 2", "approach2 all sizes"};
    return e >= 0 && e < FIT_SYS_NEST ? n[e] : "?";
}

static const model_flops_count sys_counts[FIT_SYS_NCOUNTS] = {MODEL_FLOPS_CHINCHILLA,
                                                              MODEL_FLOPS_6ND, MODEL_FLOPS_ACTUAL};

/* The smallest and largest training compute of d's runs under (p, f). */
static void compute_range(const fit_data *d, fit_params p, model_flops_count f, double *lo,
                          double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < d->nruns; i++) {
        double C = fit_run_flops(&d->runs[i], p, f);
        if (C > 0 && isfinite(C)) *lo = fmin(*lo, C), *hi = fmax(*hi, C);
    }
}

/* Mean slopes of the frontier of p = (E, A, B, alpha, beta) under count
 * between Clo and Chi: ln N_opt and ln D_opt against ln C. */
static void slopes(const double p[5], const model_flops_frontier *count, double Clo, double Chi,
                   double *a, double *b) {
    double N1, D1, N2, D2, l = log(Chi / Clo);
    fit_approach3_optimal_at(p, count, Clo, &N1, &D1, NULL);
    fit_approach3_optimal_at(p, count, Chi, &N2, &D2, NULL);
    *a = log(N2 / N1) / l;
    *b = log(D2 / D1) / l;
}

/* Approach 3's a and b under the count of (p, f), from a fit f3 (its
 * estimate and its bootstrap draws kept in f3->samples). */
static void a3_cell(const fit_data *d, const fit_approach3 *f3, fit_params p, model_flops_count f,
                    fit_sys_cell *c) {
    model_flops_frontier count;
    fit_count_frontier(d, p, f, &count);
    double Clo, Chi;
    compute_range(d, p, f, &Clo, &Chi);
    c->a = fit__val(NAN), c->b = fit__val(NAN);
    if (!(Chi > Clo)) {
        snprintf(c->error, sizeof c->error, "the runs span no range of compute");
        return;
    }
    c->Clo = Clo, c->Chi = Chi;
    double est[5] = {f3->E.est, f3->A.est, f3->B.est, f3->alpha.est, f3->beta.est};
    slopes(est, &count, Clo, Chi, &c->a.est, &c->b.est);
    int m = f3->nsamples;
    double *da = malloc((size_t)(m ? m : 1) * sizeof *da),
           *db = malloc((size_t)(m ? m : 1) * sizeof *db);
    if (!da || !db) {
        free(da), free(db);
        snprintf(c->error, sizeof c->error, "out of memory");
        return;
    }
    for (int j = 0; j < m; j++)
        slopes(f3->samples[j], &count, Clo, Chi, &da[j], &db[j]);
    fit__interval(da, m, &c->a);
    fit__interval(db, m, &c->b);
    fit__mark(&c->a, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
    fit__mark(&c->b, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
    free(da), free(db);
}

int fit_systematic_table(const fit_data *d, const fit_opts *o, fit_systematic *out, char *err,
                         size_t errlen) {
    memset(out, 0, sizeof *out);
    fit_approach3 *f3 = malloc(sizeof *f3);
    fit_frontier *f2 = malloc(sizeof *f2);
    if (!f3 || !f2) {
        free(f3), free(f2);
        return util_err(err, errlen, UTIL_ENOMEM, "systematic table: out of memory");
    }
    for (int pi = 0; pi < 2; pi++) {
        fit_params p = pi ? FIT_PARAMS_NONEMB : FIT_PARAMS_TOTAL;
        /* Approach 3: one fit per (N, domain), its frontier under each count */
        for (int dom = 0; dom < 2; dom++) {
            fit_opts oo = *o;
            oo.params = p;
            oo.a3_domain_all = dom;
            char why[UTIL_ERRLEN];
            int rc = fit_approach3_fit(d, &oo, f3, why, sizeof why);
            if (rc == UTIL_ENOMEM) goto oom;
            for (int fi = 0; fi < FIT_SYS_NCOUNTS; fi++) {
                fit_sys_cell *c = &out->cell[out->n++];
                c->params = p, c->flops = sys_counts[fi];
                c->estimator = dom ? FIT_SYS_A3_ALL : FIT_SYS_A3_DOMAIN;
                c->a = fit__val(NAN), c->b = fit__val(NAN);
                if (rc) {
                    snprintf(c->error, sizeof c->error, "%s", why);
                    continue;
                }
                c->nruns = f3->npoints;
                a3_cell(d, f3, p, sys_counts[fi], c);
            }
        }
        /* Approach 2: one fit per (N, count, window) */
        for (int fi = 0; fi < FIT_SYS_NCOUNTS; fi++)
            for (int w = 0; w < 2; w++) {
                fit_opts oo = *o;
                oo.params = p;
                oo.flops = sys_counts[fi];
                oo.a2_window = w ? 0 : 2;
                fit_sys_cell *c = &out->cell[out->n++];
                c->params = p, c->flops = sys_counts[fi];
                c->estimator = w ? FIT_SYS_A2_ALL : FIT_SYS_A2_W2;
                c->a = fit__val(NAN), c->b = fit__val(NAN);
                char why[UTIL_ERRLEN];
                int rc = fit_approach2(d, &oo, f2, why, sizeof why);
                if (rc == UTIL_ENOMEM) goto oom;
                if (rc) {
                    snprintf(c->error, sizeof c->error, "%s", why);
                    continue;
                }
                c->a = f2->a, c->b = f2->b;
                c->nruns = f2->nruns_used;
                if (f2->pts.n > 0) c->Clo = f2->pts.C[0], c->Chi = f2->pts.C[f2->pts.n - 1];
            }
    }
    free(f3), free(f2);
    return 0;
oom:
    free(f3), free(f2);
    return util_err(err, errlen, UTIL_ENOMEM, "systematic table: out of memory");
}

/* The spread of the choices: the largest minus the smallest estimate of a
 * and of b over the cells fitted. */
void fit_systematic_spread(const fit_systematic *t, double *da, double *db) {
    double alo = INFINITY, ahi = -INFINITY, blo = INFINITY, bhi = -INFINITY;
    for (int i = 0; i < t->n; i++) {
        const fit_sys_cell *c = &t->cell[i];
        if (c->error[0] || !isfinite(c->a.est) || !isfinite(c->b.est)) continue;
        alo = fmin(alo, c->a.est), ahi = fmax(ahi, c->a.est);
        blo = fmin(blo, c->b.est), bhi = fmax(bhi, c->b.est);
    }
    *da = ahi >= alo ? ahi - alo : NAN;
    *db = bhi >= blo ? bhi - blo : NAN;
}
