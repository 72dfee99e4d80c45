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

/* Percentile interval (2.5%, 97.5%) of k draws (sorted in place) into v->lo,
 * v->hi; NaN when k < 2. */
void fit__interval(double *draws, int k, fit_val *v);

/* A fit_val with est and NaN interval. */
fit_val fit__val(double est);

/* Distinct values among x[0..n-1] (exactly equal counts once). */
int fit__ndistinct(const double *x, int n);
int fit__cmp_double(const void *a, const void *b); /* qsort, ascending */

#endif
