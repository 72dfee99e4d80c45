/*
 * plot_internal.h — what plot_figures.c and report.c share inside the
 * analysis module (not public): the loaded context with its lazily computed
 * fits. Not part of plot.h's contract.
 */
#ifndef SCALING_PLOT_INTERNAL_H
#define SCALING_PLOT_INTERNAL_H

#include "fit.h"
#include "plot.h"

/* A fit computed on first use: rc 0 and the result, or rc < 0 and why. */
enum { PLOT_FIT_KAPLAN, PLOT_FIT_A1, PLOT_FIT_A2, PLOT_FIT_A3, PLOT_NFITS };

struct plot_ctx {
    store *s;        /* borrowed */
    char sweep[256]; /* "" for all runs */
    plot_opts o;
    fit_data d;           /* finished runs with curves */
    fit_opts kap_opts;    /* Kaplan counting: non-embedding N, Kaplan FLOPs */
    fit_opts chin_opts;   /* Chinchilla counting: the fit module's defaults */
    int done[PLOT_NFITS]; /* computed (successfully or not) */
    int rc[PLOT_NFITS];
    char why[PLOT_NFITS][UTIL_ERRLEN];
    fit_kaplan kap;
    fit_frontier *a1, *a2; /* large (bootstrap draws): heap */
    fit_approach3 *a3;
};

/* The fit `which` (PLOT_FIT_*), computing it on first use. Returns 0 and the
 * result in the ctx, or the fit's error code with its message in c->why. */
int plot__fit(plot_ctx *c, int which);

/* Display name of a fit ("Kaplan laws", "Approach 1", ...). */
const char *plot__fit_name(int which);

#endif
