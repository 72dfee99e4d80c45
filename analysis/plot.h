/*
 * plot.h — the Kaplan and Chinchilla figures (drawn by gnuplot) and the
 * self-contained HTML report.
 *
 * Owns: turning a sweep's runs and fits into gnuplot scripts, running gnuplot
 * through a pipe with the data inline as datablocks, writing DIR/NAME.png and
 * DIR/NAME.svg atomically (gnuplot writes DIR/.NAME.png.tmp.PID, renamed only
 * after gnuplot exits 0 with no error on stderr), and DIR/index.html.
 * Does not own: the fits themselves (fit.h), the database and its SQL (store.h:
 * typed reads), printing
 * (the CLI prints the per-figure status this module returns).
 * Errors: 0 or negative UTIL_E*, message in the caller's buffer. A figure that
 * lacks the runs it needs is not an error: it returns PLOT_SKIPPED and says
 * what is missing in `msg`.
 *
 * gnuplot: the binary is opts->gnuplot, else $SCALING_GNUPLOT, else "gnuplot"
 * from PATH. Missing: UTIL_EEXTERNAL with a message naming the package.
 */
#ifndef SCALING_PLOT_H
#define SCALING_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "../results/store.h"
#include "fit.h"
#include "../util/util.h"

/* Returned by plot_figure when the data lacks what the figure needs. */
#define PLOT_SKIPPED 1

/* The figure names (values of `scaling plot --figure`), in drawing order. */
extern const char *const plot_figure_names[];
extern const int plot_figure_count;

typedef struct {
    int bootstrap;       /* resamples for the frontier bands and fit intervals (0: none) */
    uint64_t seed;       /* bootstrap seed */
    const char *gnuplot; /* gnuplot binary; NULL: $SCALING_GNUPLOT or "gnuplot" */
    int a3_starts;       /* approach 3: L-BFGS starts (0: the fit module's default) */
} plot_opts;

void plot_opts_defaults(plot_opts *o); /* fit_opts_defaults' bootstrap and seed, gnuplot NULL */

/* A loaded sweep with its fits computed on first use, so that drawing all
 * figures loads the data and fits each law once. Borrows `s` (must outlive
 * the context); `sweep` NULL or "" means all runs; a sweep the database does
 * not know is UTIL_ENOTFOUND. plot_ctx_free accepts NULL. */
typedef struct plot_ctx plot_ctx;
int plot_ctx_open(plot_ctx **out, store *s, const char *sweep, const plot_opts *o, char *err,
                  size_t errlen);
void plot_ctx_free(plot_ctx *c);

/* Draws figure `name` into outdir (created if missing): outdir/NAME.png and
 * outdir/NAME.svg. Returns 0 (msg: notes, e.g. a fit left out, or ""),
 * PLOT_SKIPPED (msg: what is missing; nothing written), or a negative
 * UTIL_E* (err; no output file changed, no temporary left). */
int plot_ctx_figure(plot_ctx *c, const char *name, const char *outdir, char *msg, size_t msglen,
                    char *err, size_t errlen);

/* One-shot form of the above: opens a context, draws, frees it. */
int plot_figure(store *s, const char *sweep, const char *name, const char *outdir,
                const plot_opts *o, char *msg, size_t msglen, char *err, size_t errlen);

/* The status of one figure drawn for the report. */
typedef struct {
    const char *name; /* one of plot_figure_names */
    int rc;           /* 0, PLOT_SKIPPED or negative UTIL_E* */
    char msg[512];    /* skip reason, notes or error message */
} plot_result;

/* Draws every figure into outdir and writes outdir/index.html (atomically):
 * plan and status of the sweep(s), the figures (relative <img> links to the
 * SVGs), the fits with intervals beside the published values, and the runs.
 * res[plot_figure_count] gets each figure's status. A figure that fails is
 * reported in the page and in res, not as an error; errors are a database
 * failure, an unwritable outdir, or gnuplot missing (UTIL_EEXTERNAL). */
int plot_report(store *s, const char *sweep, const char *outdir, const plot_opts *o,
                plot_result *res, char *err, size_t errlen);

/* ---- Comparing sweeps (issue 17; plot_compare.c) ----------------------
 * `fit`, `plot` and `report` with --sweep given more than once: each sweep
 * fitted on its own (approaches 1 to 3, the same fits as its own report),
 * a and b side by side, and one figure that overlays the sweeps' N_opt(C)
 * frontiers and IsoFLOP minima. */
#define PLOT_COMPARE_MAX 8
typedef struct {
    char sweep[256];
    int nruns; /* finished runs fitted */
    int rc[3]; /* approaches 1, 2, 3: 0 fitted, else why[k] says why not */
    char why[3][256];
    fit_val a[3], b[3];                  /* N_opt ~ C^a, D_opt ~ C^b */
    double Cmax;                         /* the sweep's largest budget (FLOPs) */
    double tpp[3], tpp_lo[3], tpp_hi[3]; /* tokens per parameter at Cmax, NaN if none */
} plot_compare_row;
/* Fits sweeps[0..n-1] (n <= PLOT_COMPARE_MAX) into rows[]; with outdir
 * non-NULL also draws outdir/compare.png and .svg (PLOT_SKIPPED in *fig_rc
 * with the reason in msg when no sweep has a frontier) and, with html,
 * writes outdir/index.html (the table and the figure). A sweep the database
 * does not know is UTIL_ENOTFOUND; nothing is written then. */
int plot_compare(store *s, const char *const *sweeps, int n, const plot_opts *o, const char *outdir,
                 int html, plot_compare_row *rows, int *fig_rc, char *msg, size_t msglen, char *err,
                 size_t errlen);

/* ---- Pieces exposed for tests ------------------------------------------ */

/* Writes s into out as a gnuplot string expression made of single-quoted
 * literals, inside which nothing is special but the quote itself: it's
 * becomes 'it'."'".'s' (gnuplot 5.4 misparses doubled quotes in a row, so
 * quotes are concatenated instead of doubled). Control characters (bytes
 * < 0x20 and 0x7f) are refused: UTIL_EINVAL; so is too small a buffer. */
int plot_gp_quote(const char *s, char *out, size_t outlen, char *err, size_t errlen);

/* Appends s HTML-escaped (& < > " ') to fp. */
void plot_html_escape(FILE *fp, const char *s);

/* Runs gnuplot on `script` (fed through a pipe); captures its stderr. Fails
 * (UTIL_EEXTERNAL) when it cannot start, exits non-zero, or prints an error. */
int plot_gnuplot_run(const char *bin, const char *script, size_t len, char *err, size_t errlen);

#endif
