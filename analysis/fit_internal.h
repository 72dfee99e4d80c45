/*
 * fit_internal.h — helpers shared by the fit*.c files of the analysis module
 * (not part of its public interface): input checks, least squares, bootstrap
 * resampling and percentile intervals.
 */
#ifndef SCALING_FIT_INTERNAL_H
#define SCALING_FIT_INTERNAL_H

#include "fit.h"

/* Every run has finite, positive N (under p), tokens and loss; else
 * UTIL_EINVAL naming the run, the field and the value. `what` prefixes it. */
int fit__check_runs(const fit_data *d, fit_params p, const char *what, char *err, size_t errlen);

/* Ordinary least squares y = icpt + slope x over n points (n >= 2, x not all
 * equal); returns 0 or -1 when degenerate. */
int fit__ols(const double *x, const double *y, int n, double *slope, double *icpt);

/* Solves the k x k system A x = b (row-major, k <= 8) by Gaussian elimination
 * with partial pivoting; A and b are overwritten. Returns -1 if singular. */
int fit__solve(double *A, double *b, int k);

/* A resample of d: n runs drawn with replacement (structs copied, curves
 * shared, not owned). out->runs is malloc'd; free it with free(out->runs). */
int fit__resample(const fit_data *d, util_rng *r, fit_data *out);

/* Approach 1's and L(Cmin)'s envelope (docs/fit.md): a curve is interpolated
 * (linearly in ln C) only between evals at most FIT_GAP_MAX apart in
 * compute; elsewhere it has a value only within FIT_SNAP of an eval. */
#define FIT_GAP_MAX 1.5
#define FIT_SNAP 1.05
/* Run r's curve as (ln C, loss smoothed in ln C) into lc, ls (r->ncurve
 * room); returns the points. */
int fit__curve(const fit_run *r, const fit_opts *o, double *lc, double *ls);
/* The curve (lc, ls, m points) at ln C = x: interpolated inside a segment no
 * wider than FIT_GAP_MAX, else the nearest eval within FIT_SNAP, else NaN.
 * *measured: 1 when the value is an eval's own (at or snapped to it). */
double fit__curve_at(const double *lc, const double *ls, int m, double x, int *measured);
/* fit_envelope that also says, per point, whether its value is an eval's own
 * (env_measured may be NULL). */
int fit__envelope(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                  int *env_run, int *env_measured, char *err, size_t errlen);

/* Attaches to each run of d (loaded from s) its final eval's per-window
 * losses (fit_run.win); a run stored without them keeps none. fit_noise.c. */
int fit__noise_load(fit_data *d, store *s, char *err, size_t errlen);

/* Percentile interval (2.5%, 97.5%) of k draws (sorted in place) into v->lo,
 * v->hi; NaN when k < 2. */
void fit__interval(double *draws, int k, fit_val *v);

/* A fit_val with est and NaN interval. */
fit_val fit__val(double est);

/* Whether the design separates N from D, as a law in both needs: the spread
 * of ln N and of ln D, and of ln D given ln N (the residual of regressing one
 * on the other; 0 when all runs share one compute budget or one tokens per
 * parameter). Returns 0, or -1 with msg saying, in one line, what is missing
 * and what to add. lnN, lnD: (n,). */
int fit__design(const double *lnN, const double *lnD, int n, char *msg, size_t msglen);
#define FIT_MIN_SPREAD 0.15 /* std of ln D given ln N (and of ln N, ln D) below this: refuse */

/* Sets v's flags (fit.h) from its estimate, interval and draws: est_at is 1
 * when the estimate sits at its lower bound lo_b, 2 at its upper bound hi_b;
 * nlow, nhigh of the m draws sit at those bounds (2.5% or more: that end of
 * the interval becomes the bound). kind FIT__SCALE (a positive quantity:
 * unidentified when hi/lo > 100) or FIT__EXPONENT (unidentified when the
 * interval reaches 0 or is wider than 0.5); a zero-width interval from m >= 2
 * draws is unidentified too (a flat direction the optimiser did not leave). */
enum { FIT__SCALE, FIT__EXPONENT };
void fit__mark(fit_val *v, int est_at, int nlow, int nhigh, int m, double lo_b, double hi_b,
               int kind);

/* Appends to w (a law's warning) one clause per flagged value of vals. */
void fit__flag_notes(char *w, size_t wlen, const char *const *names, const fit_val *const *vals,
                     int k);

/* Appends msg to the warning w, "; "-separated. */
void fit__warn(char *w, size_t wlen, const char *msg);

/* Distinct values among x[0..n-1] (exactly equal counts once). */
int fit__ndistinct(const double *x, int n);
/* The run at the top of run i's WSD family in d: follows parent links (a
 * branch's trunk; an adaptive sweep's chain, budget to budget) while the
 * parent is in d; i itself when it has none there. */
int fit__family_root(const fit_data *d, int i);
/* One run per configuration (fit_run.config) of d: the seeds of a
 * configuration whose curves share their token counts become one run with
 * the mean loss and the mean curve (Approach 1: the envelope of the seeds'
 * mean, not the luckier seed at each compute). Runs without a configuration,
 * or whose curves differ in tokens, stay as they are. out owns its curves
 * and carries no windows (fit_data_free). 0 or UTIL_ENOMEM. */
int fit__seed_mean(const fit_data *d, fit_data *out);
int fit__cmp_double(const void *a, const void *b); /* qsort, ascending */

#endif
