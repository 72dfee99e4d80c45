/*
 * plot_internal.h — what the plot_*.c files and report.c share inside the
 * analysis module (not public): the loaded context with its lazily computed
 * fits (plot_ctx.c), the gnuplot script builder and the datablocks several
 * figures share (plot_script.c), and the figure functions (plot_kaplan.c,
 * plot_chinchilla.c, plot_compare.c). Not part of plot.h's contract.
 */
#ifndef SCALING_PLOT_INTERNAL_H
#define SCALING_PLOT_INTERNAL_H

#include <stdio.h>

#include "fit.h"
#include "plot.h"

#define PLOT_PFDAY 8.64e19 /* FLOPs in a petaflop/s-day: 1e15 * 86400 */

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

/* ---- Script building (plot_script.c) --------------------------------------- */

/* A gnuplot script under construction: datablocks, and the body drawn once
 * per terminal. Quoting failures are remembered and fail the figure. */
typedef struct {
    FILE *data, *body;
    char *dbuf, *bbuf;
    size_t dlen, blen;
    int w, h; /* canvas, pixels */
    int bad;  /* a string could not be quoted */
    char qerr[UTIL_ERRLEN];
    char qbuf[8][1024]; /* ring of quoted strings for one fprintf */
    int qi;
} plot_gp;

/* The gnuplot literal of s (valid until 8 more calls); plot__qf formats first. */
const char *plot__q(plot_gp *g, const char *s);
const char *plot__qf(plot_gp *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fit value as text: "0.076 [0.070, 0.082]", or "0.076" without interval. */
const char *plot__fv(char *buf, size_t n, fit_val v, const char *numfmt);
extern const char *const plot__palette; /* viridis, as a "set palette" command */
/* The colour scale: log of x over [lo, hi], labelled (light: for background curves). */
void plot__colour_scale(plot_gp *g, double lo, double hi, const char *label, int light);
void plot__logaxis(plot_gp *g, const char *ax, double lo, double hi);
/* A loss axis (log, as in the papers) over [lo, hi] padded a little. */
void plot__loss_axis(plot_gp *g, const char *ax, double lo, double hi);
void plot__panel_common(plot_gp *g); /* grid, key, border */
/* Figure title with the sweep name; a multiplot of rows x cols when multiplot. */
void plot__title(plot_gp *g, plot_ctx *c, const char *what, int multiplot, int rows, int cols);
/* A new panel: reset, plot__panel_common, and the colour scale of N over
 * [lo, hi] (without its bar when !bar). */
void plot__panel_by_size(plot_gp *g, double lo, double hi, const char *label, int light, int bar);

/* ---- Datablocks (plot_script.c) -------------------------------------------- */

/* The ranges of what a datablock holds. */
typedef struct {
    int runs, points; /* runs with >= 2 curve points; points written */
    double Nlo, Nhi;  /* parameter range */
    double Clo, Chi;  /* compute range, FLOPs */
    double Llo, Lhi;  /* loss range */
    double Dlo, Dhi;  /* token range */
} plot_span;

int plot__pos(double x); /* finite and > 0 */
/* $name: learning curves, one block per run: 1 tokens, 2 FLOPs, 3 PF-days, 4 loss, 5 N. */
void plot__write_curves(plot_gp *g, plot_ctx *c, const char *name, const fit_opts *o,
                        plot_span *sp);
/* Whether run i is a point of Kaplan's L(N) (which 0) or L(D) (which 1), as
 * fit_kaplan_laws selects them. */
int plot__on_kaplan_law(const plot_ctx *c, const fit_opts *o, int i, int which);
/* $name: final results, one line per run (see plot_script.c); returns the rows. */
int plot__write_finals(plot_gp *g, plot_ctx *c, const char *name, const fit_opts *o, plot_span *sp);
double plot__powerlaw(const fit_powerlaw *p, double x); /* E + (Xc/x)^alpha */
/* $name: 100 log-spaced x in [lo, hi] with y = law(x), x written times xscale. */
void plot__write_powerlaw(plot_gp *g, const char *name, const fit_powerlaw *p, double lo, double hi,
                          double xscale);
/* $name: frontier of fr or a3 over 60 log-spaced C in [lo, hi] with bootstrap
 * bands; returns 1 when a band was drawn, *rows the rows written. */
int plot__write_frontier(plot_gp *g, const char *name, const fit_frontier *fr,
                         const fit_approach3 *a3, double lo, double hi, int *rows);
/* $name: the optima of approach 1 or 2: 1 C, 2 N, 3 D, 4 L, 5 extrapolated. */
void plot__write_optima(plot_gp *g, const char *name, const fit_optima *p);
void plot__range_of_optima(const fit_optima *p, double *lo, double *hi); /* widens [lo, hi] */
/* Two panels N_opt(C) and D_opt(C) for approach 1 or 2 (inside a multiplot). */
void plot__optima_panels(plot_gp *g, const fit_frontier *f, const char *tag, const char *approach);
double plot__a3_loss(const fit_approach3 *f, double N, double D); /* E + A/N^α + B/D^β */

/* ---- The figures, one per name of plot_figure_names ------------------------ */

/* Each writes its script into g; 0, PLOT_SKIPPED (msg says why) or < 0. */
int plot__fig_kaplan_fig1(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
int plot__fig_kaplan_curves(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
int plot__fig_chinchilla_envelope(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
int plot__fig_chinchilla_isoflop(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
int plot__fig_chinchilla_contours(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
int plot__fig_frontier(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
int plot__fig_residuals(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);

#endif
