/*
 * fit_laws.c — Chinchilla Approaches 1 and 2 (compute-optimal frontiers from
 * the curves' envelope and from IsoFLOP parabolas) and Kaplan et al.'s laws
 * L(N), L(D), L(Cmin) and L(N, D), each with bootstrap intervals over runs.
 *
 * Every fit is a "core" that maps a data set to a vector of values; the
 * bootstrap calls the same core on resamples of whole runs (util_rng stream
 * "bootstrap" of o->seed) and takes percentile intervals of each value.
 */
#include <lbfgs.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

/* ---- Frontier cores (Approaches 1 and 2) ------------------------------------ */

/* Weighted least squares y = icpt + slope x (w > 0); -1 when degenerate. */
static int wols(const double *x, const double *y, const double *w, int n, double *slope,
                double *icpt) {
    double sw = 0, sx = 0, sy = 0;
    for (int i = 0; i < n; i++)
        sw += w[i], sx += w[i] * x[i], sy += w[i] * y[i];
    if (n < 2 || !(sw > 0)) return -1;
    double mx = sx / sw, my = sy / sw, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++)
        sxx += w[i] * (x[i] - mx) * (x[i] - mx), sxy += w[i] * (x[i] - mx) * (y[i] - my);
    if (!(sxx > 1e-300)) return -1;
    *slope = sxy / sxx;
    *icpt = my - *slope * mx;
    return 0;
}

/* Fits N_opt = kN C^a and D_opt = kD C^b to pts (log-log least squares,
 * weighted by pts->weight); v = (a, b, kN, kD). Returns -1 if the points
 * cannot determine them. */
static int frontier_regress(const fit_optima *pts, int skip_extrapolated, double *v) {
    double lc[FIT_MAX_POINTS], ln[FIT_MAX_POINTS], ld[FIT_MAX_POINTS], w[FIT_MAX_POINTS];
    int m = 0;
    for (int i = 0; i < pts->n; i++) {
        if (!(pts->C[i] > 0 && pts->N[i] > 0 && pts->D[i] > 0)) continue;
        if (skip_extrapolated && pts->extrapolated[i]) continue;
        lc[m] = log(pts->C[i]);
        ln[m] = log(pts->N[i]);
        ld[m] = log(pts->D[i]);
        w[m] = pts->weight[i] > 0 ? pts->weight[i] : 1;
        m++;
    }
    double sa, ia, sb, ib;
    if (wols(lc, ln, w, m, &sa, &ia) || wols(lc, ld, w, m, &sb, &ib)) return -1;
    v[0] = sa;
    v[1] = sb;
    v[2] = exp(ia);
    v[3] = exp(ib);
    return 0;
}

/* Whether a point of the compute frontier at C FLOPs with loss L, reached by
 * run r, is past the start-up transient: r's warm-up has ended (its tokens at
 * C) and L is below the unigram plateau ln V - 1 nats (a model that has only
 * learnt byte frequencies sits near ln V minus their entropy gap). Unknown
 * warm-up or vocabulary (a CSV) does not exclude. */
static int past_transient(const fit_run *r, const fit_opts *o, double C, double L) {
    double fpt = fit_run_flops_at(r, o->params, o->flops, 1.0);
    if (r->warmup_tokens > 0 && fpt > 0 && C / fpt < r->warmup_tokens * (1 - 1e-9)) return 0;
    if (r->n_vocab > 1 && !(L < log(r->n_vocab) - 1)) return 0;
    return 1;
}

/* Approach 1, as Hoffmann et al. (2022, 3.1) did it: the lower envelope of
 * the learning curves, each run on it giving N_opt at that C (and D = C /
 * the FLOPs per token at N along the count). Its points are
 *  - every eval (smoothed in ln C) that no other curve undercuts at its
 *    compute (measured points, weight 1), and
 *  - the envelope's log-spaced points that lie between two evals of their
 *    run at most 1.5x apart (interpolated; never across a wider gap), which
 *    together weigh at most as much as the measured points;
 * each past the start-up transient (past_transient: before it, every size
 * sits on the unigram plateau and the one on the envelope says nothing).
 * Fills pts; returns 0, or a negative code with err. */
static int a1_envelope(const fit_data *d, const fit_opts *o, const model_flops_frontier *count,
                       fit_optima *pts, double *v, char *err, size_t errlen);

/* Approach 1 on the seeds' mean curves (fit__seed_mean): with several seeds
 * per configuration, an envelope over the single runs takes the luckier
 * seed at each compute, a minimum of noisy values, biased low and towards
 * whichever size had the larger seed spread. */
/* Approach 1 when every curve is WSD annealed ends (fit_load_store): each
 * IsoFLOP budget's run with the lowest loss, at the budget's compute. The
 * ends are points, not curves: under the sweep's own FLOP count a budget's
 * runs share one C and the envelope there is their minimum; under another
 * count (the systematic table's 6ND, say) they spread over a range of C,
 * and an envelope of scattered points would put the whole valley on it.
 * So the ends are grouped by budget (fit_budget_groups, as Approach 2), and
 * a budget whose best run is its smallest or largest size (the optimum may
 * lie beyond) is left out of the regression when 2 others remain. */
static int a1_budget_ends(const fit_data *d, const fit_opts *o, const model_flops_frontier *count,
                          fit_optima *pts, double *v, char *err, size_t errlen) {
    int n = d->nruns, ngroups = 0, nedge = 0;
    int *group = malloc((size_t)(n ? n : 1) * sizeof *group);
    if (!group) return util_err(err, errlen, UTIL_ENOMEM, "approach 1: out of memory");
    if (fit_budget_groups(d, o->params, o->flops, group, &ngroups)) {
        free(group);
        return util_err(err, errlen, UTIL_ENOMEM, "approach 1: out of memory");
    }
    pts->n = 0;
    for (int g = 0; g < ngroups && pts->n < FIT_MAX_POINTS; g++) {
        int best = -1, m = 0;
        double lcs = 0, nlo = INFINITY, nhi = 0;
        for (int i = 0; i < n; i++) {
            if (group[i] != g || !isfinite(d->runs[i].loss)) continue;
            double N = fit_run_params(&d->runs[i], o->params);
            lcs += log(fit_run_flops(&d->runs[i], o->params, o->flops)), m++;
            nlo = fmin(nlo, N), nhi = fmax(nhi, N);
            if (best < 0 || d->runs[i].loss < d->runs[best].loss) best = i;
        }
        if (best < 0) continue;
        double C = exp(lcs / m), N = fit_run_params(&d->runs[best], o->params);
        if (!past_transient(&d->runs[best], o, C, d->runs[best].loss)) continue;
        int k = pts->n++;
        pts->C[k] = C;
        pts->N[k] = N;
        pts->D[k] = model_frontier_tokens(count, C, N);
        pts->L[k] = d->runs[best].loss;
        pts->extrapolated[k] = nhi > nlo && (N == nlo || N == nhi);
        pts->interpolated[k] = 0;
        pts->weight[k] = 1;
        nedge += pts->extrapolated[k];
    }
    free(group);
    int skip = pts->n - nedge >= 2;
    double Ns[FIT_MAX_POINTS];
    int m = 0;
    for (int k = 0; k < pts->n; k++)
        if (!skip || !pts->extrapolated[k]) Ns[m++] = pts->N[k];
    if (fit__ndistinct(Ns, m) < 2)
        return util_err(err, errlen, UTIL_EINVAL,
                        "approach 1: one model size is best at every budget; N_opt cannot be "
                        "fitted against C (need budgets whose best sizes differ)");
    if (frontier_regress(pts, skip, v))
        return util_err(err, errlen, UTIL_EINVAL, "approach 1: degenerate envelope");
    return 0;
}

/* Whether every curve of d is WSD annealed ends (fit_load_store): Approach
 * 1 then takes each budget's best run (a1_budget_ends). */
static int a1_wsd_ends(const fit_data *d) {
    int wsd = 0, other = 0;
    for (int i = 0; i < d->nruns; i++)
        if (d->runs[i].ncurve > 0) wsd += d->runs[i].wsd, other += !d->runs[i].wsd;
    return wsd && !other;
}

static int a1_core(const fit_data *d, const fit_opts *o, const model_flops_frontier *count,
                   fit_optima *pts, double *v, char *err, size_t errlen) {
    fit_data m = {0, NULL};
    if (fit__seed_mean(d, &m)) return util_err(err, errlen, UTIL_ENOMEM, "approach 1: out of memory");
    int rc = a1_wsd_ends(&m) ? a1_budget_ends(&m, o, count, pts, v, err, errlen)
                             : a1_envelope(&m, o, count, pts, v, err, errlen);
    fit_data_free(&m);
    return rc;
}

static int a1_envelope(const fit_data *d, const fit_opts *o, const model_flops_frontier *count,
                       fit_optima *pts, double *v, char *err, size_t errlen) {
    int n = o->envelope_points > 1 ? o->envelope_points : 200;
    if (n > FIT_MAX_POINTS) n = FIT_MAX_POINTS;
    double C[FIT_MAX_POINTS], L[FIT_MAX_POINTS];
    int run[FIT_MAX_POINTS], meas[FIT_MAX_POINTS], rc;
    if ((rc = fit__envelope(d, o, n, C, L, run, meas, err, errlen))) return rc;
    /* every run's curve, for the measured points */
    int nr = d->nruns, tot = 0;
    for (int i = 0; i < nr; i++)
        tot += d->runs[i].ncurve;
    double *lc = malloc((size_t)(tot ? tot : 1) * sizeof *lc),
           *ls = malloc((size_t)(tot ? tot : 1) * sizeof *ls);
    int *off = malloc((size_t)(nr + 1) * sizeof *off), *cnt = malloc((size_t)(nr + 1) * sizeof *cnt);
    /* candidates: measured (run, C, L) then interpolated envelope points */
    int cap = tot + n;
    double *cC = malloc((size_t)cap * sizeof *cC), *cL = malloc((size_t)cap * sizeof *cL);
    int *crun = malloc((size_t)cap * sizeof *crun);
    if (!lc || !ls || !off || !cnt || !cC || !cL || !crun) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "approach 1: out of memory");
        goto out;
    }
    for (int i = 0, at = 0; i < nr; i++) {
        off[i] = at;
        /* a WSD run alone has its annealed end only (fit_load_store): a
         * measured point of the envelope like any family's ends */
        int one = d->runs[i].ncurve == 1 && d->runs[i].wsd;
        cnt[i] = d->runs[i].ncurve >= 2 || one ? fit__curve(&d->runs[i], o, lc + at, ls + at) : 0;
        at += cnt[i];
    }
    int nm = 0, ni = 0;
    for (int i = 0; i < nr; i++)
        for (int k = 0; k < cnt[i]; k++) {
            double x = lc[off[i] + k], y = ls[off[i] + k];
            int on = 1;
            for (int j = 0; j < nr && on; j++) {
                if (j == i || cnt[j] < 1) continue;
                int mj;
                double yj = fit__curve_at(lc + off[j], ls + off[j], cnt[j], x, &mj);
                on = !(yj < y);
            }
            if (on && past_transient(&d->runs[i], o, exp(x), y))
                cC[nm] = exp(x), cL[nm] = y, crun[nm++] = i;
        }
    for (int j = 0; j < n; j++)
        if (run[j] >= 0 && !meas[j] && past_transient(&d->runs[run[j]], o, C[j], L[j])) {
            cC[nm + ni] = C[j], cL[nm + ni] = L[j], crun[nm + ni] = run[j];
            ni++;
        }
    if (nm > FIT_MAX_POINTS) { /* an extreme case: the first runs' evals */
        ni = 0;
        nm = FIT_MAX_POINTS;
    }
    if (ni > FIT_MAX_POINTS - nm) ni = FIT_MAX_POINTS - nm;
    double wi = ni > nm ? (double)nm / ni : 1;
    /* The smallest and the largest model (among runs with curves) hold the
     * envelope also where the optimum lies beyond the sampled sizes; their
     * stretches are left out of the regression when 2 or more sizes remain. */
    double nmin = INFINITY, nmax = -INFINITY, Nseen[FIT_MAX_POINTS];
    for (int i = 0; i < nr; i++) {
        if (cnt[i] < 1) continue;
        double N = fit_run_params(&d->runs[i], o->params);
        if (N < nmin) nmin = N;
        if (N > nmax) nmax = N;
    }
    for (int pass = 0; pass < 2; pass++) {
        pts->n = 0;
        for (int j = 0; j < nm + ni; j++) {
            const fit_run *r = &d->runs[crun[j]];
            double N = fit_run_params(r, o->params);
            if (pass == 0 && (N == nmin || N == nmax)) continue;
            int k = pts->n++;
            pts->C[k] = cC[j];
            pts->L[k] = cL[j];
            pts->N[k] = N;
            pts->D[k] = model_frontier_tokens(count, cC[j], N);
            pts->extrapolated[k] = 0;
            pts->interpolated[k] = j >= nm;
            pts->weight[k] = j >= nm ? wi : 1;
            Nseen[k] = N;
        }
        if (fit__ndistinct(Nseen, pts->n) >= 2) break;
    }
    if (fit__ndistinct(Nseen, pts->n) < 2) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "approach 1: one model size is on the envelope at every compute value; "
                      "N_opt cannot be fitted against C (need runs of several sizes whose "
                      "curves cross)");
        goto out;
    }
    if (frontier_regress(pts, 0, v))
        rc = util_err(err, errlen, UTIL_EINVAL, "approach 1: degenerate envelope");
out:
    free(lc), free(ls), free(off), free(cnt), free(cC), free(cL), free(crun);
    return rc;
}

/* Approach 2: a parabola in ln N through each budget's final losses; the
 * budget's D_opt = C / (FLOPs per token at N_opt along the count). */
static int a2_core(const fit_data *d, const fit_opts *o, const model_flops_frontier *count,
                   const int *group, int ngroups, fit_optima *pts, double *v, int *nused,
                   char *warn, size_t warnlen, char *err, size_t errlen) {
    int n = d->nruns, nskip = 0, nextra = 0, used = 0, unused = 0;
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return util_err(err, errlen, UTIL_ENOMEM, "approach 2: out of memory");
    }
    pts->n = 0;
    for (int g = 0; g < ngroups && pts->n < FIT_MAX_POINTS; g++) {
        int m = 0;
        double lcsum = 0, xm = 0;
        for (int i = 0; i < n; i++) {
            if (group[i] != g) continue;
            const fit_run *r = &d->runs[i];
            double N = fit_run_params(r, o->params), C = fit_run_flops(r, o->params, o->flops);
            x[m] = log(N);
            y[m] = r->loss;
            lcsum += log(C);
            m++;
        }
        if (m == 0) continue;
        int mg = m; /* the budget's runs, before the window */
        if (fit__ndistinct(x, m) < 3) {
            nskip++;
            unused += mg;
            continue;
        }
        /* A parabola in ln N only describes the valley near its bottom; over a
         * wide size range the steep arm of big under-trained models drags the
         * vertex away. Keep the sizes within a2_window ranks of the lowest
         * loss (at least 3 distinct sizes), as Hoffmann et al. sampled. */
        double Cg = exp(lcsum / m); /* over every run of the budget */
        double xlo = x[0], xhi = x[0];
        for (int i = 1; i < m; i++)
            xlo = fmin(xlo, x[i]), xhi = fmax(xhi, x[i]);
        if (o->a2_window > 0) {
            double sz[FIT_MAX_POINTS];
            int ns = 0, best = 0;
            for (int i = 0; i < m; i++) {
                if (y[i] < y[best]) best = i;
                int seen = 0;
                for (int j = 0; j < ns; j++)
                    seen |= sz[j] == x[i];
                if (!seen && ns < FIT_MAX_POINTS) sz[ns++] = x[i];
            }
            qsort(sz, (size_t)ns, sizeof *sz, fit__cmp_double);
            int r0 = 0;
            while (r0 < ns && sz[r0] != x[best])
                r0++;
            int lo = r0 - o->a2_window, hi = r0 + o->a2_window;
            if (lo < 0) hi -= lo, lo = 0;
            if (hi > ns - 1) lo -= hi - (ns - 1), hi = ns - 1;
            if (lo < 0) lo = 0;
            int k = 0;
            for (int i = 0; i < m; i++)
                if (x[i] >= sz[lo] && x[i] <= sz[hi]) x[k] = x[i], y[k] = y[i], k++;
            m = k;
        }
        for (int i = 0; i < m; i++)
            xm += x[i];
        xm /= m;
        /* least squares L = q0 + q1 u + q2 u^2 with u = ln N - mean, for conditioning */
        double A[9] = {0}, b[3] = {0};
        for (int i = 0; i < m; i++) {
            double u = x[i] - xm, pw[3] = {1, u, u * u};
            for (int r = 0; r < 3; r++) {
                b[r] += pw[r] * y[i];
                for (int c = 0; c < 3; c++)
                    A[r * 3 + c] += pw[r] * pw[c];
            }
        }
        if (fit__solve(A, b, 3) || !(b[2] > 0)) {
            nskip++; /* no minimum: the losses do not curve upwards */
            unused += mg;
            continue;
        }
        used += mg;
        double xs = xm - b[1] / (2 * b[2]), xmin = xlo, xmax = xhi;
        int k = pts->n++;
        double C = Cg, us = xs - xm;
        pts->C[k] = C;
        pts->N[k] = exp(xs);
        pts->D[k] = model_frontier_tokens(count, C, pts->N[k]);
        pts->L[k] = b[0] + b[1] * us + b[2] * us * us;
        pts->extrapolated[k] = xs < xmin || xs > xmax;
        pts->interpolated[k] = 0;
        pts->weight[k] = 1;
        nextra += pts->extrapolated[k];
        pts->parab[k][0] = b[0] - b[1] * xm + b[2] * xm * xm;
        pts->parab[k][1] = b[1] - 2 * b[2] * xm;
        pts->parab[k][2] = b[2];
    }
    free(x);
    free(y);
    if (nused) *nused = used;
    if (warn) {
        char msg[160];
        if (nextra) {
            snprintf(msg, sizeof msg,
                     "%d of %d budgets have their minimum outside the sampled sizes "
                     "(extrapolated)",
                     nextra, pts->n);
            fit__warn(warn, warnlen, msg);
        }
        if (nskip) {
            snprintf(msg, sizeof msg,
                     "%d budgets skipped (fewer than 3 sizes, or no minimum): %d runs not used",
                     nskip, unused);
            fit__warn(warn, warnlen, msg);
        }
    }
    if (pts->n < 2)
        return util_err(err, errlen, UTIL_EINVAL,
                        "approach 2: %d usable IsoFLOP budgets (each needs 3 or more sizes and a "
                        "loss minimum), need at least 2",
                        pts->n);
    double cmin = pts->C[0], cmax = pts->C[0];
    for (int i = 1; i < pts->n; i++)
        cmin = fmin(cmin, pts->C[i]), cmax = fmax(cmax, pts->C[i]);
    if (warn && cmax < 3 * cmin) {
        /* the exponents are slopes against ln C: a short lever arm */
        char msg[160];
        snprintf(msg, sizeof msg,
                 "the budgets span only a factor %.3g: a and b are barely determined; add "
                 "budgets a factor 10 or more apart",
                 cmax / cmin);
        fit__warn(warn, warnlen, msg);
    }
    /* A minimum outside the sampled sizes is the parabola's guess, not a
     * measurement: with 2 or more measured minima, the exponents are fitted
     * to those alone (Hoffmann et al. used budgets whose valley was sampled). */
    int skip = pts->n - nextra >= 2 && nextra > 0;
    if (warn && nextra) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 skip ? "a and b fitted to the %d measured minima only"
                      : "a and b include them (%d measured minima, fewer than 2)",
                 pts->n - nextra);
        fit__warn(warn, warnlen, msg);
    }
    if (frontier_regress(pts, skip, v))
        return util_err(err, errlen, UTIL_EINVAL, "approach 2: degenerate optima");
    return 0;
}

/* Shared driver: full fit, then bootstrap. which = 1 or 2. */
static int frontier_fit(int which, const fit_data *d, const fit_opts *o, fit_frontier *out,
                        char *err, size_t errlen) {
    int rc = 0, ngroups = 0, *group = NULL, K = o->bootstrap;
    double *draws = NULL;
    fit_optima *tmp = NULL;
    fit_data rs = {0, NULL}, nd = {0, NULL};
    const char *what = which == 1 ? "approach 1" : "approach 2";
    memset(out, 0, sizeof *out);
    out->a = out->b = out->kN = out->kD = fit__val(NAN);
    if ((rc = fit__check_runs(d, o->params, what, err, errlen))) return rc;
    group = malloc((d->nruns ? d->nruns : 1) * sizeof *group);
    tmp = malloc(sizeof *tmp);
    if (!group || !tmp) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", what);
        goto done;
    }
    /* one count for the fit and all its resamples, from every run's size */
    model_flops_frontier count;
    fit_count_frontier(d, o->params, o->flops, &count);
    double v[4];
    if (which == 1) {
        int ncurves = 0;
        for (int i = 0; i < d->nruns; i++)
            ncurves += d->runs[i].ncurve >= 2 || (d->runs[i].ncurve == 1 && d->runs[i].wsd);
        if (ncurves < 2) {
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "approach 1: needs the learning curves (evals) of 2 or more runs, "
                          "found %d; final losses alone (e.g. a CSV) do not define the envelope",
                          ncurves);
            goto done;
        }
        rc = a1_core(d, o, &count, &out->pts, v, err, errlen);
    } else {
        if ((rc = fit_budget_groups(d, o->params, o->flops, group, &ngroups))) {
            rc = util_err(err, errlen, rc, "%s: out of memory", what);
            goto done;
        }
        /* runs without a budget among runs with one: grouped, and said so */
        int nb = 0, nnone = 0;
        for (int i = 0; i < d->nruns; i++)
            nb += isfinite(d->runs[i].budget), nnone += !isfinite(d->runs[i].budget);
        if (nb > 0 && nnone > 0) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "%d of %d runs have no budget: each joined the budget within 0.1 dex of its "
                     "FLOPs, or a group of its own by FLOPs",
                     nnone, d->nruns);
            fit__warn(out->warning, sizeof out->warning, msg);
        }
        rc = a2_core(d, o, &count, group, ngroups, &out->pts, v, &out->nruns_used, out->warning,
                     sizeof out->warning, err, errlen);
    }
    if (rc) goto done;
    if (which == 1) {
        if (a1_wsd_ends(d)) /* a1_budget_ends: every run competes in its budget */
            for (int i = 0; i < d->nruns; i++)
                out->nruns_used += isfinite(d->runs[i].loss);
        else
            for (int i = 0; i < d->nruns; i++)
                out->nruns_used += d->runs[i].ncurve >= 2;
    }
    out->npoints_used = out->pts.n;
    out->a = fit__val(v[0]);
    out->b = fit__val(v[1]);
    out->kN = fit__val(v[2]);
    out->kD = fit__val(v[3]);
    if (K > 0) {
        draws = malloc((size_t)K * 4 * sizeof *draws);
        rs.runs = malloc((d->nruns ? d->nruns : 1) * sizeof *rs.runs);
        if (!draws || !rs.runs) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory (bootstrap)", what);
            goto done;
        }
        rs.nruns = d->nruns;
        util_rng r;
        util_rng_seed(&r, o->seed, "bootstrap");
        int m = 0, failed = 0, noise = o->bootstrap_mode == FIT_BOOT_NOISE && fit_noise_available(d);
        char e2[UTIL_ERRLEN];
        for (int k = 0; k < K; k++) {
            const fit_data *bd = &rs;
            if (noise) {
                /* the design kept, the measurements redrawn (fit_noise.c) */
                fit_data_free(&nd);
                if ((rc = fit_noise_draw(d, &nd, &r, err, errlen))) goto done;
                bd = &nd;
            } else if (which == 1) {
                for (int i = 0; i < d->nruns; i++)
                    rs.runs[i] = d->runs[util_rng_below(&r, (uint64_t)d->nruns)];
            } else {
                /* stratified by budget: each run is replaced by a random run of
                 * its own budget, so every IsoFLOP curve keeps its size */
                for (int i = 0; i < d->nruns; i++) {
                    int g = group[i], cnt = 0;
                    if (g < 0) {
                        rs.runs[i] = d->runs[i];
                        continue;
                    }
                    for (int j = 0; j < d->nruns; j++)
                        cnt += group[j] == g;
                    int pick = (int)util_rng_below(&r, (uint64_t)cnt);
                    for (int j = 0; j < d->nruns; j++)
                        if (group[j] == g && pick-- == 0) {
                            rs.runs[i] = d->runs[j];
                            break;
                        }
                }
            }
            double bv[4];
            int brc = which == 1 ? a1_core(bd, o, &count, tmp, bv, e2, sizeof e2)
                                 : a2_core(bd, o, &count, group, ngroups, tmp, bv, NULL, NULL, 0,
                                           e2, sizeof e2);
            if (brc) {
                failed++;
                continue;
            }
            memcpy(draws + (size_t)m * 4, bv, sizeof bv);
            if (out->nsamples < FIT_SAMPLES) {
                double *s = out->samples[out->nsamples++];
                s[0] = bv[2], s[1] = bv[0], s[2] = bv[3], s[3] = bv[1];
            }
            m++;
        }
        fit_val *f[4] = {&out->a, &out->b, &out->kN, &out->kD};
        double *col = malloc((size_t)(m ? m : 1) * sizeof *col);
        if (!col) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory (bootstrap)", what);
            goto done;
        }
        for (int q = 0; q < 4; q++) {
            for (int j = 0; j < m; j++)
                col[j] = draws[(size_t)j * 4 + q];
            fit__interval(col, m, f[q]);
        }
        free(col);
        fit__mark(&out->a, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
        fit__mark(&out->b, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
        static const char *const names[2] = {"a", "b"};
        const fit_val *ab[2] = {&out->a, &out->b};
        fit__flag_notes(out->warning, sizeof out->warning, names, ab, 2);
        /* A percentile interval is only as good as the bootstrap's centring.
         * An optimum over runs is a minimum: a resample's duplicates add
         * nothing to it and leave fewer distinct sizes, which can shift every
         * draw to one side. Say so when the estimate sits in a tail. */
        int below = 0, above = 0;
        for (int j = 0; j < m; j++) {
            below += draws[(size_t)j * 4] < out->a.est;
            above += draws[(size_t)j * 4] > out->a.est;
        }
        if (m >= 20 && (below < 0.1 * m || above < 0.1 * m)) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "only %.0f%% of the bootstrap draws of a lie %s the estimate (%s): read its "
                     "interval as indicative",
                     100.0 * (below < above ? below : above) / m,
                     below < above ? "below" : "above",
                     noise ? "the optima are sampled sizes: a draw moves only to another size"
                           : "fewer distinct sizes per resample");
            fit__warn(out->warning, sizeof out->warning, msg);
        }
        if (failed) {
            char msg[96];
            snprintf(msg, sizeof msg, "%d of %d bootstrap resamples could not be fitted", failed,
                     K);
            fit__warn(out->warning, sizeof out->warning, msg);
        }
        if (o->bootstrap_mode == FIT_BOOT_NOISE)
            fit_noise_note(d, out->warning, sizeof out->warning);
    }
done:
    free(group);
    free(tmp);
    free(draws);
    free(rs.runs);
    fit_data_free(&nd);
    return rc;
}

int fit_approach1(const fit_data *d, const fit_opts *o, fit_frontier *out, char *err,
                  size_t errlen) {
    return frontier_fit(1, d, o, out, err, errlen);
}

int fit_approach2(const fit_data *d, const fit_opts *o, fit_frontier *out, char *err,
                  size_t errlen) {
    return frontier_fit(2, d, o, out, err, errlen);
}

/* ---- Kaplan: single-variable power laws ------------------------------------- */

/* Power law L = E + (Xc/X)^alpha (E = 0 unless with_E) through n points.
 * Returns 0, or -1 if there are not more points than parameters or the X
 * are all equal. v = (Xc, alpha, E). Without E this is exact least squares in
 * ln L; with E, E is profiled (grid then golden section over [0, min L)) with
 * (Xc, alpha) by least squares of ln(L - E) for each E, scored in ln L. */
static double pl_score(const double *lx, const double *L, int n, double E, double *v) {
    double ly[FIT_MAX_POINTS], s, c;
    for (int i = 0; i < n; i++)
        ly[i] = log(L[i] - E);
    if (fit__ols(lx, ly, n, &s, &c)) return INFINITY;
    double alpha = -s, sse = 0;
    if (alpha == 0) return INFINITY;
    for (int i = 0; i < n; i++) {
        double p = E + exp(c + s * lx[i]), r = log(p) - log(L[i]);
        sse += r * r;
    }
    v[0] = exp(c / alpha);
    v[1] = alpha;
    v[2] = E;
    return sse;
}

static int powerlaw_fit(const double *X, const double *L, int n, int with_E, double *v,
                        double *at) {
    double lx[FIT_MAX_POINTS];
    *at = 0;
    if (n > FIT_MAX_POINTS) n = FIT_MAX_POINTS;
    if (n <= (with_E ? 3 : 2)) return -1;
    double minL = INFINITY;
    for (int i = 0; i < n; i++) {
        lx[i] = log(X[i]);
        if (L[i] < minL) minL = L[i];
    }
    if (fit__ndistinct(lx, n) < 2) return -1;
    if (!with_E) return isfinite(pl_score(lx, L, n, 0, v)) ? 0 : -1;
    double best = INFINITY, bv[3], tv[3];
    int bk = 0, G = 200;
    for (int k = 0; k < G; k++) {
        double s = pl_score(lx, L, n, minL * k / G, tv);
        if (s < best) best = s, bk = k, memcpy(bv, tv, sizeof bv);
    }
    if (!isfinite(best)) return -1;
    double lo = minL * (bk > 0 ? bk - 1 : 0) / G, hi = minL * (bk + 1) / G;
    const double gr = 0.6180339887498949;
    for (int it = 0; it < 60; it++) {
        double m1 = hi - gr * (hi - lo), m2 = lo + gr * (hi - lo);
        double s1 = pl_score(lx, L, n, m1, tv), s2 = pl_score(lx, L, n, m2, tv);
        if (s1 < s2)
            hi = m2;
        else
            lo = m1;
    }
    double s = pl_score(lx, L, n, 0.5 * (lo + hi), tv);
    if (s < best) memcpy(bv, tv, sizeof bv);
    memcpy(v, bv, sizeof bv);
    /* E lives in [0, min L): the search pressed against an end is a bound,
     * not an estimate (1: lower, 2: upper), and is reported as such */
    *at = v[2] < 1e-3 * minL ? 1 : v[2] > 0.99 * minL ? 2 : 0;
    return 0;
}

/* ---- Kaplan: the joint law L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD ----------- */

typedef struct {
    int n;
    const double *lnN, *lnD, *lnL;
} joint_prob;

/* x = (ln Nc, ln Dc, aN, aD); sum of squared residuals in ln L. */
static lbfgsfloatval_t joint_eval(void *inst, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                  const int nv, const lbfgsfloatval_t step) {
    (void)nv;
    (void)step;
    const joint_prob *p = inst;
    double f = 0, lNc = x[0], lDc = x[1], aN = x[2], aD = x[3];
    for (int k = 0; k < 4; k++)
        g[k] = 0;
    if (!(aD > 1e-9)) return INFINITY;
    for (int i = 0; i < p->n; i++) {
        double q = lNc - p->lnN[i], t1 = (aN / aD) * q, t2 = lDc - p->lnD[i];
        double m = t1 > t2 ? t1 : t2, u1 = exp(t1 - m), u2 = exp(t2 - m), S = u1 + u2;
        double lnS = m + log(S), w1 = u1 / S, w2 = u2 / S;
        double r = aD * lnS - p->lnL[i];
        f += r * r;
        g[0] += 2 * r * aN * w1;
        g[1] += 2 * r * aD * w2;
        g[2] += 2 * r * w1 * q;
        g[3] += 2 * r * (lnS - w1 * (aN / aD) * q);
    }
    return f;
}

/* Best of L-BFGS from `init` (if non-NULL) and, when `grid`, from 81 starts
 * (aN, aD in {0.05, 0.1, 0.3}; ln Nc, ln Dc at 2, 10, 25 above the largest
 * ln N, ln D). v = (Nc, Dc, aN, aD). */
static int joint_fit(const double *lnN, const double *lnD, const double *lnL, int n,
                     const double *init, int grid, double *v) {
    joint_prob p = {n, lnN, lnD, lnL};
    double maxN = lnN[0], maxD = lnD[0], best = INFINITY;
    for (int i = 1; i < n; i++) {
        if (lnN[i] > maxN) maxN = lnN[i];
        if (lnD[i] > maxD) maxD = lnD[i];
    }
    lbfgs_parameter_t prm;
    lbfgs_parameter_init(&prm);
    prm.epsilon = 1e-9;
    prm.max_iterations = 2000;
    prm.past = 3;
    prm.delta = 1e-12;
    static const double aa[3] = {0.05, 0.1, 0.3}, off[3] = {2, 10, 25};
    for (int s = -1; s < (grid ? 81 : 0); s++) {
        double x[4];
        if (s < 0) {
            if (!init) continue;
            memcpy(x, init, sizeof x);
        } else {
            x[0] = maxN + off[s % 3];
            x[1] = maxD + off[(s / 3) % 3];
            x[2] = aa[(s / 9) % 3];
            x[3] = aa[s / 27];
        }
        lbfgsfloatval_t fx = 0;
        lbfgs(4, x, &fx, joint_eval, NULL, &p, &prm);
        double g[4], f = joint_eval(&p, x, g, 4, 0);
        if (isfinite(f) && f < best && x[3] > 0 && x[2] > 0) {
            best = f;
            memcpy(v, x, sizeof x);
        }
    }
    if (!isfinite(best)) return -1;
    v[0] = exp(v[0]);
    v[1] = exp(v[1]);
    return 0;
}

/* ---- Kaplan: all laws on one data set --------------------------------------- */

/* KV_AT + law: E of L(N), L(D), L(Cmin) at a bound (1 lower, 2 upper, 0 no);
 * KV_MINL + law: the lowest loss of the law's points (E's upper bound). */
enum {
    KV_LN = 0,
    KV_LD = 3,
    KV_LC = 6,
    KV_J = 9,
    KV_AT = 13,
    KV_MINL = 16,
    KV_LC2 = 19, /* L(Cmin) in the other form (E when !with_E, none when with_E) */
    KV_AT2 = 22, /* its E at a bound */
    KV_FROM = 23, /* compute where L(Cmin)'s points start (NaN: all kept) */
    KV_N = 24
};

static double min_of(const double *x, int n) {
    double m = INFINITY;
    for (int i = 0; i < n; i++)
        m = fmin(m, x[i]);
    return m;
}

/* A note when a single-variable law's exponent came out negative. */
static void negative_note(char *warn, size_t warnlen, const char *law, double alpha) {
    char msg[240];
    if (!warn || !(alpha < 0)) return;
    snprintf(msg, sizeof msg,
             "%s exponent is negative (%.3g: loss rises with %s): these runs do not trace the "
             "law, e.g. one IsoFLOP budget gives larger models fewer tokens; it assumes each "
             "point trained to convergence",
             law, alpha,
             law[2] == 'N'   ? "N"
             : law[2] == 'D' ? "D"
                             : "C");
    fit__warn(warn, warnlen, msg);
}

/* v[KV_LN..+2] = L(N) (Nc, aN, E); v[KV_LD..] L(D); v[KV_LC..] L(Cmin);
 * v[KV_J..+3] = (Nc, Dc, aN, aD). have[0..3] = which were fitted; np[0..2]
 * the points of the single-variable laws. */
static int kaplan_core(const fit_data *d, const fit_opts *o, const double *joint_init, double *v,
                       int *have, int *np, char *warn, size_t warnlen, char *err, size_t errlen) {
    int n = d->nruns, rc = 0, any_unlimited = 0, nenv = 0;
    double *X = calloc(n + FIT_MAX_POINTS, sizeof *X), *L = calloc(n + FIT_MAX_POINTS, sizeof *L);
    double *lnN = malloc((n ? n : 1) * sizeof *lnN), *lnD = malloc((n ? n : 1) * sizeof *lnD),
           *lnL = malloc((n ? n : 1) * sizeof *lnL);
    if (!X || !L || !lnN || !lnD || !lnL) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "kaplan: out of memory");
        goto done;
    }
    for (int i = 0; i < KV_N; i++)
        v[i] = NAN;
    for (int i = 0; i < 4; i++)
        have[i] = 0;
    for (int i = 0; i < n; i++)
        any_unlimited |= d->runs[i].unique_tokens == 0;

    /* L(N): each size's best loss (runs on unlimited data, if there are any) */
    int m = 0;
    for (int i = 0; i < n; i++) {
        const fit_run *r = &d->runs[i];
        if (any_unlimited && r->unique_tokens > 0) continue;
        double N = fit_run_params(r, o->params), Lb = fit_run_best_loss(r);
        int j = 0;
        while (j < m && X[j] != N)
            j++;
        if (j == m) {
            if (m == FIT_MAX_POINTS) continue;
            X[m] = N, L[m] = Lb, m++;
        } else if (Lb < L[j]) {
            L[j] = Lb;
        }
    }
    np[0] = m;
    v[KV_MINL] = min_of(L, m);
    if (powerlaw_fit(X, L, m, o->with_E, v + KV_LN, v + KV_AT)) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "kaplan: L(N) needs more distinct model sizes than parameters (%d), got %d",
                      o->with_E ? 3 : 2, m);
        goto done;
    }
    have[0] = 1;
    negative_note(warn, warnlen, "L(N)", v[KV_LN + 1]);

    /* L(D): data-limited runs, D = unique tokens, each D's best loss */
    m = 0;
    for (int i = 0; i < n; i++) {
        const fit_run *r = &d->runs[i];
        if (!(r->unique_tokens > 0)) continue;
        double D = r->unique_tokens, Lb = fit_run_best_loss(r);
        int j = 0;
        while (j < m && X[j] != D)
            j++;
        if (j == m) {
            if (m == FIT_MAX_POINTS) continue;
            X[m] = D, L[m] = Lb, m++;
        } else if (Lb < L[j]) {
            L[j] = Lb;
        }
    }
    np[1] = m;
    v[KV_MINL + 1] = min_of(L, m);
    if (!powerlaw_fit(X, L, m, o->with_E, v + KV_LD, v + KV_AT + 1)) {
        have[1] = 1;
        negative_note(warn, warnlen, "L(D)", v[KV_LD + 1]);
    } else if (warn)
        fit__warn(warn, warnlen,
                       "L(D) not fitted: too few data-limited runs (unique_tokens > 0)");

    /* L(Cmin): the envelope of the curves, or of the final points without
     * curves, from where the transient has ended (past_transient) */
    for (int i = 0; i < n; i++)
        nenv += d->runs[i].ncurve >= 2;
    m = 0;
    int ncut = 0;
    if (nenv > 0) {
        int ne = o->envelope_points > 1 ? o->envelope_points : 200, run[FIT_MAX_POINTS];
        if (ne > FIT_MAX_POINTS) ne = FIT_MAX_POINTS;
        double C[FIT_MAX_POINTS], EL[FIT_MAX_POINTS];
        char e2[UTIL_ERRLEN];
        if (!fit_envelope_frontier(d, o, ne, C, EL, run, e2, sizeof e2))
            for (int j = 0; j < ne; j++) {
                if (run[j] < 0) continue;
                if (!m && !past_transient(&d->runs[run[j]], o, C[j], EL[j])) {
                    ncut++;
                    continue;
                }
                if (!m && ncut) v[KV_FROM] = C[j];
                X[m] = C[j], L[m] = EL[j], m++;
            }
    } else {
        /* Pareto front: runs with a lower loss than every run of less compute */
        for (int i = 0; i < n && m < FIT_MAX_POINTS; i++) {
            double Ci = fit_run_flops(&d->runs[i], o->params, o->flops);
            int dominated = 0;
            for (int j = 0; j < n && !dominated; j++) {
                double Cj = fit_run_flops(&d->runs[j], o->params, o->flops);
                dominated = j != i && Cj <= Ci && d->runs[j].loss < d->runs[i].loss;
            }
            if (dominated) continue;
            if (!past_transient(&d->runs[i], o, Ci, d->runs[i].loss)) {
                ncut++;
                continue;
            }
            X[m] = Ci, L[m] = d->runs[i].loss, m++;
        }
    }
    np[2] = m;
    v[KV_MINL + 2] = min_of(L, m);
    if (!powerlaw_fit(X, L, m, o->with_E, v + KV_LC, v + KV_AT + 2)) {
        have[2] = 1;
        negative_note(warn, warnlen, "L(Cmin)", v[KV_LC + 1]);
        /* the other form through the same points (fit prints both) */
        double at2 = 0;
        if (powerlaw_fit(X, L, m, !o->with_E, v + KV_LC2, &at2))
            for (int q = 0; q < 3; q++)
                v[KV_LC2 + q] = NAN;
        v[KV_AT2] = at2;
    } else if (warn)
        fit__warn(warn, warnlen, "L(Cmin) not fitted: too few points on the envelope");
    if (warn && ncut) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "L(Cmin) starts at %.3g FLOPs: %d earlier envelope points were in warm-up or "
                 "above the unigram plateau ln V - 1",
                 v[KV_FROM], ncut);
        fit__warn(warn, warnlen, msg);
    }

    /* joint L(N, D) */
    for (int i = 0; i < n; i++) {
        const fit_run *r = &d->runs[i];
        int lim = r->unique_tokens > 0;
        lnN[i] = log(fit_run_params(r, o->params));
        lnD[i] = log(lim ? r->unique_tokens : r->tokens);
        lnL[i] = log(lim ? fit_run_best_loss(r) : r->loss);
    }
    char why[320] = "";
    if (n >= 5 && fit__ndistinct(lnN, n) >= 2 && fit__ndistinct(lnD, n) >= 2 &&
        !fit__design(lnN, lnD, n, why, sizeof why)) {
        double init[4], *ip = NULL;
        if (have[1]) {
            init[0] = log(v[KV_LN]);
            init[1] = log(v[KV_LD]);
            init[2] = v[KV_LN + 1];
            init[3] = v[KV_LD + 1];
            if (isfinite(init[0]) && isfinite(init[1]) && init[2] > 0 && init[3] > 0) ip = init;
        }
        if (joint_init && isfinite(joint_init[0])) {
            /* a bootstrap resample: start from the full-data fit only */
            init[0] = log(joint_init[0]);
            init[1] = log(joint_init[1]);
            init[2] = joint_init[2];
            init[3] = joint_init[3];
            ip = init;
        }
        if (!joint_fit(lnN, lnD, lnL, n, ip, joint_init == NULL, v + KV_J)) have[3] = 1;
    }
    if (!have[3] && warn) {
        char msg[400];
        snprintf(msg, sizeof msg, "L(N, D) not fitted: %s",
                 *why ? why : "needs 5 or more runs over 2 or more sizes and token counts");
        fit__warn(warn, warnlen, msg);
    }
done:
    free(X);
    free(L);
    free(lnN);
    free(lnD);
    free(lnL);
    return rc;
}

/* Flags (fit.h) of the Kaplan values from the full-data vector v and the K
 * bootstrap draws (KV_N each; NaN rows failed), and their notes. */
static void kaplan_mark(fit_kaplan *out, const fit_opts *o, const double *v, const double *draws,
                        int K) {
    fit_powerlaw *pl[3] = {&out->LN, &out->LD, &out->LC};
    static const char *const law[3] = {"L(N)", "L(D)", "L(Cmin)"};
    char names[6][24];
    const char *nm[10];
    const fit_val *vals[10];
    int k = 0;
    for (int l = 0; l < 3; l++) {
        if (!isfinite(pl[l]->alpha.est)) continue;
        int m = 0, nlow = 0, nhigh = 0;
        for (int j = 0; j < K; j++) {
            const double *b = draws + (size_t)j * KV_N;
            if (!isfinite(b[3 * l + 2])) continue;
            m++;
            nlow += b[KV_AT + l] == 1;
            nhigh += b[KV_AT + l] == 2;
        }
        fit__mark(&pl[l]->alpha, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
        snprintf(names[k], sizeof names[k], "%s alpha", law[l]);
        nm[k] = names[k], vals[k++] = &pl[l]->alpha;
        if (!o->with_E) continue;
        fit__mark(&pl[l]->E, (int)v[KV_AT + l], nlow, nhigh, m, 0, v[KV_MINL + l], FIT__SCALE);
        snprintf(names[k], sizeof names[k], "%s E", law[l]);
        nm[k] = names[k], vals[k++] = &pl[l]->E;
    }
    if (out->have_joint) {
        int m = 0;
        for (int j = 0; j < K; j++)
            m += isfinite(draws[(size_t)j * KV_N + KV_J + 2]);
        fit__mark(&out->Nc, 0, 0, 0, m, NAN, NAN, FIT__SCALE);
        fit__mark(&out->Dc, 0, 0, 0, m, NAN, NAN, FIT__SCALE);
        fit__mark(&out->aN, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
        fit__mark(&out->aD, 0, 0, 0, m, NAN, NAN, FIT__EXPONENT);
        nm[k] = "L(N, D) Nc", vals[k++] = &out->Nc;
        nm[k] = "L(N, D) Dc", vals[k++] = &out->Dc;
        nm[k] = "L(N, D) aN", vals[k++] = &out->aN;
        nm[k] = "L(N, D) aD", vals[k++] = &out->aD;
    }
    fit__flag_notes(out->warning, sizeof out->warning, nm, vals, k);
}

static void set_pl(fit_powerlaw *p, const double *v, int npoints) {
    p->Xc = fit__val(v[0]);
    p->alpha = fit__val(v[1]);
    p->E = fit__val(v[2]);
    p->npoints = npoints;
}

int fit_kaplan_laws(const fit_data *d, const fit_opts *o, fit_kaplan *out, char *err,
                    size_t errlen) {
    int rc, have[4], np[3], K = o->bootstrap;
    double v[KV_N];
    memset(out, 0, sizeof *out);
    if ((rc = fit__check_runs(d, o->params, "kaplan", err, errlen))) return rc;
    if ((rc = kaplan_core(d, o, NULL, v, have, np, out->warning, sizeof out->warning, err, errlen)))
        return rc;
    set_pl(&out->LN, v + KV_LN, np[0]);
    set_pl(&out->LD, v + KV_LD, np[1]);
    set_pl(&out->LC, v + KV_LC, np[2]);
    set_pl(&out->LC_other, v + KV_LC2, np[2]);
    out->LC_other_with_E = !o->with_E;
    out->LC_from = v[KV_FROM];
    out->Nc = fit__val(v[KV_J]);
    out->Dc = fit__val(v[KV_J + 1]);
    out->aN = fit__val(v[KV_J + 2]);
    out->aD = fit__val(v[KV_J + 3]);
    out->have_LD = have[1];
    out->have_joint = have[3];
    if (K <= 0) {
        kaplan_mark(out, o, v, NULL, 0);
        return 0;
    }
    double *draws = malloc((size_t)K * KV_N * sizeof *draws), *col = malloc(K * sizeof *col);
    fit_data rs = {d->nruns, malloc((d->nruns ? d->nruns : 1) * sizeof *rs.runs)};
    if (!draws || !col || !rs.runs) {
        free(draws);
        free(col);
        free(rs.runs);
        return util_err(err, errlen, UTIL_ENOMEM, "kaplan: out of memory (bootstrap)");
    }
    util_rng r;
    util_rng_seed(&r, o->seed, "bootstrap");
    char e2[UTIL_ERRLEN];
    fit_data nd = {0, NULL};
    int noise = o->bootstrap_mode == FIT_BOOT_NOISE && fit_noise_available(d);
    for (int k = 0; k < K; k++) {
        const fit_data *bd = &rs;
        if (noise) {
            fit_data_free(&nd);
            if ((rc = fit_noise_draw(d, &nd, &r, err, errlen))) {
                free(draws);
                free(col);
                free(rs.runs);
                return rc;
            }
            bd = &nd;
        } else {
            for (int i = 0; i < d->nruns; i++)
                rs.runs[i] = d->runs[util_rng_below(&r, (uint64_t)d->nruns)];
        }
        int bh[4] = {0}, bn[3];
        double *bv = draws + (size_t)k * KV_N;
        if (kaplan_core(bd, o, v + KV_J, bv, bh, bn, NULL, 0, e2, sizeof e2))
            for (int q = 0; q < KV_N; q++)
                bv[q] = NAN;
        for (int q = 0; q < 4; q++) {
            /* a law missing from a resample counts as a failed draw of it */
            static const int lo[4] = {KV_LN, KV_LD, KV_LC, KV_J}, len[4] = {3, 3, 3, 4};
            if (!bh[q])
                for (int t = 0; t < len[q]; t++)
                    bv[lo[q] + t] = NAN;
            if (!bh[q] && q == 2)
                for (int t = 0; t < 3; t++)
                    bv[KV_LC2 + t] = NAN;
        }
    }
    fit_val *f[KV_N] = {&out->LN.Xc, &out->LN.alpha, &out->LN.E,     &out->LD.Xc, &out->LD.alpha,
                        &out->LD.E,  &out->LC.Xc,    &out->LC.alpha, &out->LC.E,  &out->Nc,
                        &out->Dc,    &out->aN,       &out->aD};
    for (int q = 0; q < KV_J + 4; q++) {
        if (!o->with_E && (q == KV_LN + 2 || q == KV_LD + 2 || q == KV_LC + 2)) continue;
        for (int k = 0; k < K; k++)
            col[k] = draws[(size_t)k * KV_N + q];
        fit__interval(col, K, f[q]);
    }
    fit_val *f2[3] = {&out->LC_other.Xc, &out->LC_other.alpha, &out->LC_other.E};
    for (int q = 0; q < 3 && isfinite(out->LC_other.alpha.est); q++) {
        if (!out->LC_other_with_E && q == 2) continue;
        for (int k = 0; k < K; k++)
            col[k] = draws[(size_t)k * KV_N + KV_LC2 + q];
        fit__interval(col, K, f2[q]);
    }
    if (out->LC_other_with_E && isfinite(out->LC_other.E.est)) {
        int m2 = 0, nlow = 0, nhigh = 0;
        for (int k = 0; k < K; k++) {
            const double *b = draws + (size_t)k * KV_N;
            if (!isfinite(b[KV_LC2 + 1])) continue;
            m2++, nlow += b[KV_AT2] == 1, nhigh += b[KV_AT2] == 2;
        }
        fit__mark(&out->LC_other.E, (int)v[KV_AT2], nlow, nhigh, m2, 0, v[KV_MINL + 2],
                  FIT__SCALE);
    }
    fit_data_free(&nd);
    kaplan_mark(out, o, v, draws, K);
    if (o->bootstrap_mode == FIT_BOOT_NOISE) fit_noise_note(d, out->warning, sizeof out->warning);
    free(draws);
    free(col);
    free(rs.runs);
    return 0;
}

/* ======================================================================== */
/* Intervals that say nothing (issue 17)                                    */
/* ======================================================================== */

int fit_interval_degenerate(double est, double lo, double hi, int positive, char *why, size_t n) {
    (void)est;
    if (!isfinite(lo) || !isfinite(hi)) return 0;
    /* equal to rounding: every draw fitted the same points the same way */
    if (fabs(hi - lo) <= 1e-9 * fmax(fabs(lo), fabs(hi))) {
        snprintf(why, n,
                 "zero width: every bootstrap draw gave the same value (too few points "
                 "to vary)");
        return 1;
    }
    if (positive && lo > 0 && hi / lo > 1e3) {
        snprintf(why, n, "%.0f orders of magnitude wide: [%.3g, %.3g]", floor(log10(hi / lo)), lo,
                 hi);
        return 1;
    }
    if (positive && !(lo > 0)) {
        snprintf(why, n, "reaches %.3g: not a positive value", lo);
        return 1;
    }
    return 0;
}
