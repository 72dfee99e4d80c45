/*
 * fit_approach3.c — Chinchilla Approach 3: L(N, D) = E + A/N^alpha + B/D^beta
 * fitted as Hoffmann et al. (2022) did. Minimises the sum over runs of the
 * Huber loss (delta 1e-3) between log L-hat and log L, with
 *   log L-hat = LSE(a - alpha ln N, b - beta ln D, e),  A = e^a, B = e^b, E = e^e,
 * by L-BFGS (liblbfgs, analytic gradient) from their grid of initialisations
 * (alpha, beta in 0..2 step 0.5; e in -1..1 step 0.5; a, b in 0..25 step 5:
 * 4500 starts), keeping the best. Work is split over o->threads pthreads.
 *
 * Domain: by default only the runs inside the law's domain are fitted
 * (fit_a3_outside: at least 1 token per parameter, 10 x the warm-up, at most
 * 4 epochs); the others are listed in out->excluded with the reason.
 *
 * Bootstrap: each resample is a noise draw (fit_noise_draw: eval windows
 * paired across runs, seeds within a configuration, the design kept), or with
 * FIT_BOOT_RUNS (or data with no noise to draw) the runs drawn with
 * replacement. Each is refitted from the best o->a3_boot_starts points of the
 * grid by the resample's own objective, and from the full-data fit; the best
 * of those, polished, is the draw (a resample whose optimum lies in another
 * basin is not held to the full-data one).
 *
 * Frontier: on the budget's curve D = C / FLOPs per token(N), with the fit's own
 * count of C along its sizes (out->count, fit_count_frontier), N_opt minimises
 * L; piecewise the count is a power law fpt = e^c N^s, so on each piece
 *   N_opt = (alpha A / (s beta B (e^c / C)^beta))^(1/(alpha + s beta)),
 * clamped to the piece, and the best piece wins. Under C = 6 N D (an empty
 * count, s = 1, e^c = 6) that is the closed form a = beta/(alpha+beta),
 * b = alpha/(alpha+beta), G = (alpha A / (beta B))^(1/(alpha+beta)),
 * N_opt = G (C/6)^a, D_opt = (C/6)^b / G, whose a, b and G are reported.
 */
#include <lbfgs.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

/* ---- The objective --------------------------------------------------------- */

typedef struct {
    int n;
    const double *lnN, *lnD, *lnL; /* (n,) each */
    const int *idx;                /* (n,) rows of the arrays above, or NULL: 0..n-1 */
    double delta;
} a3_prob;

/* x = (a, b, e, alpha, beta). Returns sum of Huber(r_i)/delta, the
 * objective scaled by 1/delta so that L-BFGS's tolerances see numbers of order
 * |r| rather than delta |r| (the minimiser is the same); fills g if non-NULL. */
static double a3_eval(const a3_prob *p, const double *x, double *g) {
    double f = 0, ga = 0, gb = 0, ge = 0, gal = 0, gbe = 0, d = p->delta;
    for (int k = 0; k < p->n; k++) {
        int i = p->idx ? p->idx[k] : k;
        double u1 = x[0] - x[3] * p->lnN[i], u2 = x[1] - x[4] * p->lnD[i], u3 = x[2];
        double m = u1 > u2 ? u1 : u2;
        if (u3 > m) m = u3;
        double e1 = exp(u1 - m), e2 = exp(u2 - m), e3 = exp(u3 - m), s = e1 + e2 + e3;
        double r = m + log(s) - p->lnL[i];
        double h, dh; /* Huber / delta and its derivative */
        if (fabs(r) <= d) {
            h = 0.5 * r * r / d;
            dh = r / d;
        } else {
            h = fabs(r) - 0.5 * d;
            dh = r > 0 ? 1 : -1;
        }
        f += h;
        if (g) {
            double w1 = e1 / s, w2 = e2 / s, w3 = e3 / s;
            ga += dh * w1;
            gb += dh * w2;
            ge += dh * w3;
            gal -= dh * w1 * p->lnN[i];
            gbe -= dh * w2 * p->lnD[i];
        }
    }
    if (g) g[0] = ga, g[1] = gb, g[2] = ge, g[3] = gal, g[4] = gbe;
    return f;
}

static lbfgsfloatval_t a3_lbfgs_eval(void *inst, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                     const int n, const lbfgsfloatval_t step) {
    (void)n;
    (void)step;
    return a3_eval(inst, x, g);
}

/* L-BFGS from x (5,) in place; returns the scaled objective at the end, or
 * NaN if it is not finite. `tight` selects the final tolerances: Epoch AI
 * (Besiroglu et al. 2024) found Hoffmann et al.'s optimiser stopped early on
 * this objective, so the best grid result is polished with tight ones; the
 * 4500-start scan itself uses looser ones (it only has to find the basin). */
static double a3_minimise(const a3_prob *p, double *x, int tight) {
    lbfgs_parameter_t prm;
    lbfgs_parameter_init(&prm);
    prm.epsilon = tight ? 1e-10 : 1e-5;
    prm.max_iterations = 5000;
    prm.past = 3;
    prm.delta = tight ? 1e-13 : 1e-8;
    prm.max_linesearch = 60;
    lbfgsfloatval_t fx = 0;
    int rc = lbfgs(5, x, &fx, a3_lbfgs_eval, NULL, (void *)p, &prm);
    (void)rc; /* a rounding-error stop at the minimum is normal; fx is the best seen */
    double f = a3_eval(p, x, NULL);
    for (int k = 0; k < 5; k++)
        if (!isfinite(x[k])) return NAN;
    return isfinite(f) ? f : NAN;
}

/* ---- The initialisation grid ------------------------------------------------ */

#define A3_NGRID 4500
/* Start i of the grid as x = (a, b, e, alpha, beta); coordinates' indices in
 * k[5] (a, b in 0..5; e, alpha, beta in 0..4). */
static void a3_start(int i, double *x, int *k) {
    int ib = i % 6, ia = (i / 6) % 6, ie = (i / 36) % 5, ibe = (i / 180) % 5, ial = i / 900;
    x[0] = 5.0 * ia;
    x[1] = 5.0 * ib;
    x[2] = -1.0 + 0.5 * ie;
    x[3] = 0.5 * ial;
    x[4] = 0.5 * ibe;
    if (k) k[0] = ia, k[1] = ib, k[2] = ie, k[3] = ial, k[4] = ibe;
}

/* ---- Threads ------------------------------------------------------------------ */

/* Grid results kept per worker and polished with tight tolerances, so that a
 * basin whose loose-tolerance value happens to rank second is not lost. */
#define A3_KEEP 4

typedef struct {
    const a3_prob *p;
    /* grid phase */
    const int *starts; /* grid indices to run L-BFGS from */
    int nstarts;
    /* bootstrap phase */
    const double *bN, *bD, *bL; /* (nboot, n): each resample's ln N, ln D, ln L */
    int nboot, boot_starts;     /* boot_starts: grid points per resample */
    const double *x0;           /* (5,) the full-data fit, a start of every resample */
    double *boot_x;             /* (nboot, 5) results; NaN row when failed */
    double *fv;                 /* (2 A3_NGRID) this worker's scratch for ranking starts */
    int tid, nthreads;
    /* this worker's A3_KEEP best grid results, ascending by (f, start) */
    int nbest;
    double best_f[A3_KEEP], best_x[A3_KEEP][5];
    int best_start[A3_KEEP];
} a3_work;

static void *a3_grid_worker(void *arg) {
    a3_work *w = arg;
    w->nbest = 0;
    for (int j = w->tid; j < w->nstarts; j += w->nthreads) {
        double x[5];
        int st = w->starts[j];
        a3_start(st, x, NULL);
        double f = a3_minimise(w->p, x, 0);
        if (!isfinite(f)) continue;
        /* insertion into the sorted list of the best A3_KEEP */
        int pos = w->nbest;
        while (pos > 0 &&
               (f < w->best_f[pos - 1] || (f == w->best_f[pos - 1] && st < w->best_start[pos - 1])))
            pos--;
        if (pos >= A3_KEEP) continue;
        int last = w->nbest < A3_KEEP ? w->nbest : A3_KEEP - 1;
        for (int q = last; q > pos; q--) {
            w->best_f[q] = w->best_f[q - 1];
            memcpy(w->best_x[q], w->best_x[q - 1], sizeof x);
            w->best_start[q] = w->best_start[q - 1];
        }
        w->best_f[pos] = f;
        memcpy(w->best_x[pos], x, sizeof x);
        w->best_start[pos] = st;
        if (w->nbest < A3_KEEP) w->nbest++;
    }
    return NULL;
}

static int cmp_fidx(const void *a, const void *b);

/* Resample j: L-BFGS (loose) from the best w->boot_starts grid points by the
 * resample's objective, the best of them polished; and (tight) from the
 * full-data fit. The lower objective wins. */
static void *a3_boot_worker(void *arg) {
    a3_work *w = arg;
    for (int j = w->tid; j < w->nboot; j += w->nthreads) {
        size_t off = (size_t)j * w->p->n;
        a3_prob q = {w->p->n, w->bN + off, w->bD + off, w->bL + off, NULL, w->p->delta};
        double x[5], xb[5] = {0}, fb = INFINITY;
        memcpy(x, w->x0, sizeof x);
        double f = a3_minimise(&q, x, 1);
        if (isfinite(f)) fb = f, memcpy(xb, x, sizeof x);
        int K = w->boot_starts < A3_NGRID ? w->boot_starts : A3_NGRID;
        if (K > 0) {
            for (int i = 0; i < A3_NGRID; i++) {
                a3_start(i, x, NULL);
                double v = a3_eval(&q, x, NULL);
                w->fv[2 * i] = isfinite(v) ? v : INFINITY;
                w->fv[2 * i + 1] = i;
            }
            qsort(w->fv, A3_NGRID, 2 * sizeof *w->fv, cmp_fidx);
            double xg[5], fg = INFINITY;
            for (int k = 0; k < K; k++) {
                a3_start((int)w->fv[2 * k + 1], x, NULL);
                double v = a3_minimise(&q, x, 0);
                if (isfinite(v) && v < fg) fg = v, memcpy(xg, x, sizeof x);
            }
            if (isfinite(fg)) {
                fg = a3_minimise(&q, xg, 1);
                if (isfinite(fg) && fg < fb) fb = fg, memcpy(xb, xg, sizeof xg);
            }
        }
        for (int k = 0; k < 5; k++)
            w->boot_x[j * 5 + k] = isfinite(fb) ? xb[k] : NAN;
    }
    return NULL;
}

/* Runs fn over nthreads workers (the first in this thread). */
static void a3_parallel(void *(*fn)(void *), a3_work *w, int nthreads) {
    pthread_t th[64];
    int started[64] = {0};
    for (int t = 1; t < nthreads; t++)
        started[t] = pthread_create(&th[t], NULL, fn, &w[t]) == 0;
    fn(&w[0]);
    for (int t = 1; t < nthreads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            fn(&w[t]); /* could not start a thread: do its share here */
    }
}

/* ---- The fit ------------------------------------------------------------------ */

static int cmp_fidx(const void *a, const void *b) {
    const double *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* Derived values of a parameter vector x = (a, b, e, alpha, beta):
 * v = (E, A, B, alpha, beta, a_frontier, b_frontier, G). */
static void a3_derived(const double *x, double *v) {
    double al = x[3], be = x[4];
    v[0] = exp(x[2]);
    v[1] = exp(x[0]);
    v[2] = exp(x[1]);
    v[3] = al;
    v[4] = be;
    v[5] = be / (al + be);
    v[6] = al / (al + be);
    /* G = (alpha A / (beta B))^(1/(alpha+beta)), computed in logs */
    v[7] = exp((log(al) + x[0] - log(be) - x[1]) / (al + be));
}

/* range = (min ln N, max ln N, min ln D, max ln D, min L) of the data. */
static void a3_range(const double *lnN, const double *lnD, const double *lnL, int n,
                     double *range) {
    range[0] = range[2] = range[4] = INFINITY;
    range[1] = range[3] = -INFINITY;
    for (int i = 0; i < n; i++) {
        range[0] = fmin(range[0], lnN[i]), range[1] = fmax(range[1], lnN[i]);
        range[2] = fmin(range[2], lnD[i]), range[3] = fmax(range[3], lnD[i]);
        range[4] = fmin(range[4], exp(lnL[i]));
    }
}

/* Whether term q (0: E, 1: A/N^alpha, 2: B/D^beta) of the law v = (E, A, B,
 * alpha, beta, ...) is below 1e-4 of the lowest loss everywhere in the data:
 * then its coefficient sits at the bound 0 (L-BFGS in log space only ever
 * approaches it, e.g. E = 3.9e-20). */
static int a3_vanishes(const double *v, int q, const double *range) {
    double tiny = 1e-4 * range[4];
    if (q == 0) return v[0] < tiny;
    double c = v[q], ex = v[q + 2], lo = range[q == 1 ? 0 : 2], hi = range[q == 1 ? 1 : 3];
    double most = c * exp(-ex * (ex > 0 ? lo : hi)); /* the term's largest value */
    return most < tiny;
}

/* The fit of d's runs (all of them: the domain is chosen by the caller). */
static int a3_fit(const fit_data *d, const fit_opts *o, fit_approach3 *out, char *err,
                  size_t errlen) {
    int rc = 0, n = d->nruns, nth = o->threads < 1 ? 1 : o->threads > 64 ? 64 : o->threads;
    double *lnN = NULL, *lnD = NULL, *lnL = NULL, *fv = NULL, *boot_x = NULL, *draws = NULL;
    double *bN = NULL, *bD = NULL, *bL = NULL, *bfv = NULL;
    int *starts = NULL;
    a3_work w[64];
    if ((rc = fit__check_runs(d, o->params, "approach 3", err, errlen))) return rc;
    if (n < 6)
        return util_err(err, errlen, UTIL_EINVAL,
                        "approach 3: %d runs, need at least 6 to fit 5 parameters", n);
    lnN = malloc(n * sizeof *lnN);
    lnD = malloc(n * sizeof *lnD);
    lnL = malloc(n * sizeof *lnL);
    starts = malloc(A3_NGRID * sizeof *starts);
    fv = malloc(2 * A3_NGRID * sizeof *fv);
    if (!lnN || !lnD || !lnL || !starts || !fv) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "approach 3: out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        lnN[i] = log(fit_run_params(&d->runs[i], o->params));
        lnD[i] = log(d->runs[i].tokens);
        lnL[i] = log(d->runs[i].loss);
    }
    if (fit__ndistinct(lnN, n) < 2) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "approach 3: all %d runs have the same size N = %.4g; A/N^alpha cannot be "
                      "told apart from E",
                      n, exp(lnN[0]));
        goto done;
    }
    if (fit__ndistinct(lnD, n) < 2) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "approach 3: all %d runs have the same token count D = %.4g; B/D^beta "
                      "cannot be told apart from E",
                      n, exp(lnD[0]));
        goto done;
    }
    /* Beyond exact ties: a design that barely moves D apart from N (one
     * budget, near-equal token counts, fixed tokens per parameter) leaves B,
     * beta and E to the optimiser's whim; refuse rather than print them. */
    char why[320];
    if (fit__design(lnN, lnD, n, why, sizeof why)) {
        rc = util_err(err, errlen, UTIL_EINVAL, "approach 3: %s", why);
        goto done;
    }
    double delta = o->huber_delta > 0 ? o->huber_delta : 1e-3;
    a3_prob p = {n, lnN, lnD, lnL, NULL, delta};

    /* Grid phase: all starts, or the best o->a3_starts by objective value. */
    int nstarts = A3_NGRID;
    if (o->a3_starts > 0 && o->a3_starts < A3_NGRID) {
        for (int i = 0; i < A3_NGRID; i++) {
            double x[5];
            a3_start(i, x, NULL);
            double f = a3_eval(&p, x, NULL);
            fv[2 * i] = isfinite(f) ? f : INFINITY;
            fv[2 * i + 1] = i;
        }
        qsort(fv, A3_NGRID, 2 * sizeof *fv, cmp_fidx);
        nstarts = o->a3_starts;
        for (int j = 0; j < nstarts; j++)
            starts[j] = (int)fv[2 * j + 1];
    } else {
        for (int i = 0; i < A3_NGRID; i++)
            starts[i] = i;
    }
    for (int t = 0; t < nth; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].p = &p;
        w[t].starts = starts;
        w[t].nstarts = nstarts;
        w[t].tid = t;
        w[t].nthreads = nth;
    }
    a3_parallel(a3_grid_worker, w, nth);
    /* polish every worker's best few with tight tolerances; keep the best */
    double xbest[5], v[8], fbest = INFINITY;
    int sbest = -1;
    for (int t = 0; t < nth; t++)
        for (int q = 0; q < w[t].nbest; q++) {
            double x[5];
            memcpy(x, w[t].best_x[q], sizeof x);
            double f = a3_minimise(&p, x, 1);
            int st = w[t].best_start[q];
            if (isfinite(f) && (f < fbest || (f == fbest && st < sbest))) {
                fbest = f;
                sbest = st;
                memcpy(xbest, x, sizeof x);
            }
        }
    if (sbest < 0) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "approach 3: no start of the grid reached a finite objective");
        goto done;
    }
    int k[5];
    a3_start(sbest, out->start, k);
    out->on_grid_edge = k[0] == 0 || k[0] == 5 || k[1] == 0 || k[1] == 5 || k[2] == 0 ||
                        k[2] == 4 || k[3] == 0 || k[3] == 4 || k[4] == 0 || k[4] == 4;
    out->starts_run = nstarts;
    out->objective = fbest * delta; /* unscaled: sum of Huber losses */
    out->npoints = n;
    a3_derived(xbest, v);
    out->E = fit__val(v[0]);
    out->A = fit__val(v[1]);
    out->B = fit__val(v[2]);
    out->alpha = fit__val(v[3]);
    out->beta = fit__val(v[4]);
    out->a = fit__val(v[5]);
    out->b = fit__val(v[6]);
    out->G = fit__val(v[7]);
    if (!(v[3] > 0) || !(v[4] > 0))
        snprintf(out->warning, sizeof out->warning,
                 "fitted exponent not positive (alpha %.3g, beta %.3g): no compute-optimal "
                 "frontier",
                 v[3], v[4]);
    else if (out->on_grid_edge)
        snprintf(out->warning, sizeof out->warning,
                 "best start (a %g, b %g, e %g, alpha %g, beta %g) is on the edge of the "
                 "initialisation grid",
                 out->start[0], out->start[1], out->start[2], out->start[3], out->start[4]);

    /* Bootstrap: noise draws of the runs' losses (the design kept), or whole
     * runs drawn with replacement; each refitted from the best grid points of
     * its own objective and from the full-data fit. */
    double range[5];
    a3_range(lnN, lnD, lnL, n, range);
    int est_at[3], nat[3] = {0, 0, 0}, m = 0;
    for (int q = 0; q < 3; q++)
        est_at[q] = a3_vanishes(v, q, range);
    int K = o->bootstrap;
    out->boot_starts = o->a3_boot_starts > 0 ? o->a3_boot_starts : 0;
    out->boot_noise = o->bootstrap_mode == FIT_BOOT_NOISE && fit_noise_available(d);
    if (K > 0) {
        size_t kn = (size_t)K * n;
        bN = malloc(kn * sizeof *bN);
        bD = malloc(kn * sizeof *bD);
        bL = malloc(kn * sizeof *bL);
        bfv = malloc((size_t)nth * 2 * A3_NGRID * sizeof *bfv);
        boot_x = malloc((size_t)K * 5 * sizeof *boot_x);
        draws = malloc((size_t)K * sizeof *draws);
        if (!bN || !bD || !bL || !bfv || !boot_x || !draws) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "approach 3: out of memory (bootstrap)");
            goto done;
        }
        util_rng r;
        util_rng_seed(&r, o->seed, "bootstrap");
        for (int j = 0; j < K; j++) {
            double *jN = bN + (size_t)j * n, *jD = bD + (size_t)j * n, *jL = bL + (size_t)j * n;
            if (out->boot_noise) { /* the design kept, the measurements redrawn */
                fit_data nd = {0, NULL};
                if ((rc = fit_noise_draw(d, &nd, &r, err, errlen))) goto done;
                for (int i = 0; i < n; i++) {
                    jN[i] = lnN[i], jD[i] = lnD[i];
                    jL[i] = nd.runs[i].loss > 0 ? log(nd.runs[i].loss) : NAN;
                }
                fit_data_free(&nd);
            } else {
                for (int i = 0; i < n; i++) {
                    int k = (int)util_rng_below(&r, n);
                    jN[i] = lnN[k], jD[i] = lnD[k], jL[i] = lnL[k];
                }
            }
        }
        for (int t = 0; t < nth; t++) {
            w[t].bN = bN, w[t].bD = bD, w[t].bL = bL;
            w[t].nboot = K;
            w[t].boot_starts = out->boot_starts;
            w[t].x0 = xbest;
            w[t].boot_x = boot_x;
            w[t].fv = bfv + (size_t)t * 2 * A3_NGRID;
        }
        a3_parallel(a3_boot_worker, w, nth);
        double *vals = malloc((size_t)K * 8 * sizeof *vals);
        if (!vals) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "approach 3: out of memory (bootstrap)");
            goto done;
        }
        for (int j = 0; j < K; j++) {
            if (!isfinite(boot_x[j * 5])) {
                out->boot_failed++;
                continue;
            }
            a3_derived(boot_x + j * 5, vals + (size_t)m * 8);
            for (int q = 0; q < 3; q++)
                nat[q] += a3_vanishes(vals + (size_t)m * 8, q, range);
            if (out->nsamples < FIT_SAMPLES) {
                double *s = out->samples[out->nsamples++];
                for (int q = 0; q < 5; q++)
                    s[q] = vals[(size_t)m * 8 + q];
            }
            m++;
        }
        fit_val *fields[8] = {&out->E,    &out->A, &out->B, &out->alpha,
                              &out->beta, &out->a, &out->b, &out->G};
        for (int q = 0; q < 8; q++) {
            for (int j = 0; j < m; j++)
                draws[j] = vals[(size_t)j * 8 + q];
            fit__interval(draws, m, fields[q]);
        }
        free(vals);
    }
    /* E, A and B are positive: a term that vanishes sits at the bound 0 */
    fit_val *scale[3] = {&out->E, &out->A, &out->B},
            *expo[4] = {&out->alpha, &out->beta, &out->a, &out->b};
    for (int q = 0; q < 3; q++)
        fit__mark(scale[q], est_at[q], nat[q], 0, m, 0, NAN, FIT__SCALE);
    for (int q = 0; q < 4; q++)
        fit__mark(expo[q], 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
    static const char *const names[7] = {"E", "A", "B", "alpha", "beta", "a", "b"};
    const fit_val *all[7] = {&out->E, &out->A, &out->B, &out->alpha, &out->beta, &out->a, &out->b};
    fit__flag_notes(out->warning, sizeof out->warning, names, all, 7);
done:
    free(lnN);
    free(lnD);
    free(lnL);
    free(starts);
    free(fv);
    free(bN);
    free(bD);
    free(bL);
    free(bfv);
    free(boot_x);
    free(draws);
    return rc;
}

int fit_approach3_fit(const fit_data *d, const fit_opts *o, fit_approach3 *out, char *err,
                      size_t errlen) {
    memset(out, 0, sizeof *out);
    if (d->nruns < 1) return util_err(err, errlen, UTIL_EINVAL, "approach 3: no runs");
    /* the count along every size measured, those left out included */
    fit_count_frontier(d, o->params, o->flops, &out->count);
    fit_data in = {0, calloc((size_t)d->nruns, sizeof *in.runs)}; /* structs copied, not owned */
    if (!in.runs) return util_err(err, errlen, UTIL_ENOMEM, "approach 3: out of memory");
    int nx = 0;
    for (int i = 0; i < d->nruns; i++) {
        char why[sizeof out->excluded[0].reason];
        if (!o->a3_domain_all && fit_a3_outside(&d->runs[i], o->params, why, sizeof why)) {
            if (nx < FIT_MAX_EXCLUDED) {
                fit_exclusion *x = &out->excluded[nx];
                snprintf(x->run, sizeof x->run, "%s", d->runs[i].id);
                snprintf(x->reason, sizeof x->reason, "%s", why);
            }
            nx++;
            continue;
        }
        in.runs[in.nruns++] = d->runs[i];
    }
    out->domain_all = o->a3_domain_all != 0;
    out->nexcluded = nx;
    int rc = a3_fit(&in, o, out, err, errlen); /* fills the rest of out */
    if (rc && nx) {
        size_t len = strlen(err);
        snprintf(err + len, errlen > len ? errlen - len : 0,
                 " (%d of %d runs left out, outside the domain; --a3-domain all fits them)", nx,
                 d->nruns);
    } else if (!rc && nx) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%d of %d runs outside the domain left out (listed; "
                 "--a3-domain all fits them)",
                 nx, d->nruns);
        fit__warn(out->warning, sizeof out->warning, msg);
    }
    if (!rc && o->bootstrap > 0 && o->bootstrap_mode == FIT_BOOT_NOISE)
        fit_noise_note(&in, out->warning, sizeof out->warning);
    free(in.runs);
    return rc;
}

void fit_approach3_from_params(fit_approach3 *f, const double p[5]) {
    double A = p[1], B = p[2], al = p[3], be = p[4];
    f->E.est = p[0], f->A.est = A, f->B.est = B, f->alpha.est = al, f->beta.est = be;
    f->a.est = be / (al + be);
    f->b.est = al / (al + be);
    f->G.est = pow(al * A / (be * B), 1.0 / (al + be));
}

/* The loss p = (E, A, B, alpha, beta) gives at N on the budget C's curve. */
static double loss_on_budget(const double p[5], const model_flops_frontier *count, double C,
                             double N, double *D) {
    *D = model_frontier_tokens(count, C, N);
    return p[0] + p[1] / pow(N, p[3]) + p[2] / pow(*D, p[4]);
}

/* The minimum over x = ln N in [xlo, xhi] of A e^(-alpha x) + B (e^(c + s x) / C)^beta:
 * convex on the piece, so its stationary point clamped, or the upper end when
 * the count does not grow with N (s <= 0). */
static double piece_optimum(const double p[5], double c, double s, double C, double xlo,
                            double xhi) {
    double A = p[1], B = p[2], al = p[3], be = p[4];
    if (!(s > 0)) return xhi;
    double x = (log(al * A / (s * be * B)) - be * (c - log(C))) / (al + s * be);
    return x < xlo ? xlo : x > xhi ? xhi : x;
}

void fit_approach3_optimal_at(const double p[5], const model_flops_frontier *count, double C,
                              double *N, double *D, double *L) {
    double al = p[3], be = p[4], n, dd, l;
    if (count->n == 0) { /* C = 6 N D: the closed form */
        double a = be / (al + be), b = al / (al + be);
        double G = pow(al * p[1] / (be * p[2]), 1.0 / (al + be));
        n = G * pow(C / 6.0, a), dd = pow(C / 6.0, b) / G;
        l = p[0] + p[1] / pow(n, al) + p[2] / pow(dd, be);
    } else {
        /* pieces: below the smallest size, between each pair, above the
         * largest; ln fpt = c + s ln N on each */
        const double *Ns = count->N, *F = count->fpt;
        int m = count->n;
        n = dd = l = NAN;
        for (int k = 0; k <= m; k++) {
            double xlo = k == 0 ? -INFINITY : log(Ns[k - 1]), xhi = k == m ? INFINITY : log(Ns[k]);
            double s = 1, c;
            if (k == 0)
                c = log(F[0] / Ns[0]);
            else if (k == m)
                c = log(F[m - 1] / Ns[m - 1]);
            else {
                s = log(F[k] / F[k - 1]) / (xhi - xlo);
                c = log(F[k - 1]) - s * xlo;
            }
            double x = piece_optimum(p, c, s, C, xlo, xhi), dk;
            if (!isfinite(x)) continue;
            double lk = loss_on_budget(p, count, C, exp(x), &dk);
            if (isfinite(lk) && !(lk >= l)) n = exp(x), dd = dk, l = lk;
        }
    }
    if (N) *N = n;
    if (D) *D = dd;
    if (L) *L = l;
}

void fit_approach3_optimal(const fit_approach3 *f, double C, double *N, double *D, double *L) {
    if (f->count.n > 0) {
        double p[5] = {f->E.est, f->A.est, f->B.est, f->alpha.est, f->beta.est};
        fit_approach3_optimal_at(p, &f->count, C, N, D, L);
        return;
    }
    double a = f->a.est, b = f->b.est, G = f->G.est;
    double n = G * pow(C / 6.0, a), dd = pow(C / 6.0, b) / G;
    if (N) *N = n;
    if (D) *D = dd;
    if (L) *L = f->E.est + f->A.est / pow(n, f->alpha.est) + f->B.est / pow(dd, f->beta.est);
}
