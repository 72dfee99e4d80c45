/*
 * plot_figures.c — the figures: the loaded context and its fits, one gnuplot
 * script per figure (data inline as datablocks, the plot commands emitted
 * once for pngcairo and once for svg), and the atomic writing of the outputs.
 *
 * Conventions of every figure: losses in nats/token; Kaplan figures count
 * non-embedding parameters and Kaplan's FLOPs (shown in PF-days = FLOPs /
 * 8.64e19), Chinchilla figures the fit module's default counting (total
 * parameters, FLOPs); runs coloured by N on a log colour scale; each fitted
 * law with its exponent (and bootstrap interval) written in the legend.
 * Nothing from the database reaches gnuplot except through plot_gp_quote.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot_internal.h"

#define PFDAY 8.64e19 /* FLOPs in a petaflop/s-day: 1e15 * 86400 */

const char *const plot_figure_names[] = {
    "kaplan-fig1",         "kaplan-curves", "chinchilla-envelope", "chinchilla-isoflop",
    "chinchilla-contours", "frontier",      "residuals",
};
const int plot_figure_count = (int)(sizeof plot_figure_names / sizeof plot_figure_names[0]);

void plot_opts_defaults(plot_opts *o) {
    memset(o, 0, sizeof *o);
    /* the fit's own defaults, so that the figures, the report and `scaling
     * fit` print the same intervals */
    fit_opts f;
    fit_opts_defaults(&f);
    o->bootstrap = f.bootstrap;
    o->seed = f.seed;
    o->gnuplot = NULL;
}

/* ---- Context and fits ----------------------------------------------------- */

/* 1 if the database knows `sweep` (as a sweep or on a run), 0 if not, <0 error. */
static int sweep_known(store *s, const char *sweep, char *err, size_t errlen) {
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM sweeps WHERE name = ?1 "
                           "UNION ALL SELECT 1 FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") " LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return util_err(err, errlen, UTIL_EDB, "plot: looking up sweep: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, sweep, -1, SQLITE_STATIC);
    int r = sqlite3_step(st), rc = r == SQLITE_ROW ? 1 : 0;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_EDB, "plot: looking up sweep: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

int plot_ctx_open(plot_ctx **out, store *s, const char *sweep, const plot_opts *o, char *err,
                  size_t errlen) {
    int rc;
    *out = NULL;
    plot_ctx *c = calloc(1, sizeof *c);
    if (!c) return util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
    c->s = s;
    snprintf(c->sweep, sizeof c->sweep, "%s", sweep ? sweep : "");
    if (o)
        c->o = *o;
    else
        plot_opts_defaults(&c->o);
    fit_opts_defaults(&c->chin_opts);
    c->chin_opts.bootstrap = c->o.bootstrap;
    c->chin_opts.seed = c->o.seed;
    if (c->o.a3_starts > 0) c->chin_opts.a3_starts = c->o.a3_starts;
    c->kap_opts = c->chin_opts;
    c->kap_opts.params = FIT_PARAMS_NONEMB;
    c->kap_opts.flops = FIT_FLOPS_KAPLAN;
    if (sweep && *sweep) {
        rc = sweep_known(s, sweep, err, errlen);
        if (rc == 0)
            rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: no sweep named '%s'", store_path(s),
                          sweep);
        if (rc < 0) {
            free(c);
            return rc;
        }
    }
    if ((rc = fit_load_store(&c->d, s, sweep && *sweep ? sweep : NULL, err, errlen))) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void plot_ctx_free(plot_ctx *c) {
    if (!c) return;
    fit_data_free(&c->d);
    free(c->a1);
    free(c->a2);
    free(c->a3);
    free(c);
}

const char *plot__fit_name(int which) {
    static const char *const names[PLOT_NFITS] = {"Kaplan laws", "Chinchilla approach 1",
                                                  "Chinchilla approach 2", "Chinchilla approach 3"};
    return which >= 0 && which < PLOT_NFITS ? names[which] : "?";
}

int plot__fit(plot_ctx *c, int which) {
    if (c->done[which]) return c->rc[which];
    int rc = 0;
    char *why = c->why[which];
    size_t wl = sizeof c->why[which];
    switch (which) {
    case PLOT_FIT_KAPLAN:
        rc = fit_kaplan_laws(&c->d, &c->kap_opts, &c->kap, why, wl);
        break;
    case PLOT_FIT_A1:
    case PLOT_FIT_A2: {
        fit_frontier **f = which == PLOT_FIT_A1 ? &c->a1 : &c->a2;
        *f = calloc(1, sizeof **f);
        if (!*f)
            rc = util_err(why, wl, UTIL_ENOMEM, "out of memory");
        else if (which == PLOT_FIT_A1)
            rc = fit_approach1(&c->d, &c->chin_opts, *f, why, wl);
        else
            rc = fit_approach2(&c->d, &c->chin_opts, *f, why, wl);
        break;
    }
    case PLOT_FIT_A3:
        c->a3 = calloc(1, sizeof *c->a3);
        if (!c->a3)
            rc = util_err(why, wl, UTIL_ENOMEM, "out of memory");
        else
            rc = fit_approach3_fit(&c->d, &c->chin_opts, c->a3, why, wl);
        break;
    }
    if (rc == 0)
        why[0] = 0;
    else if (!why[0])
        snprintf(why, wl, "failed (code %d)", rc);
    c->done[which] = 1;
    c->rc[which] = rc;
    return rc;
}

/* ---- Script building -------------------------------------------------------- */

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
} gp;

/* The gnuplot literal of s (valid until 8 more calls). */
static const char *Q(gp *g, const char *s) {
    char *b = g->qbuf[g->qi++ % 8];
    if (plot_gp_quote(s, b, sizeof g->qbuf[0], g->bad ? NULL : g->qerr, sizeof g->qerr) < 0) {
        g->bad = 1;
        strcpy(b, "''");
    }
    return b;
}

/* printf into a small static-free buffer and quote it: Qf(g, buf, "%s", x) */
static const char *Qf(gp *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *Qf(gp *g, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return Q(g, tmp);
}

/* A fit value as text: "0.076 [0.070, 0.082]", or "0.076" without interval. */
static const char *fv(char *buf, size_t n, fit_val v, const char *numfmt) {
    char a[64], lo[64], hi[64];
    snprintf(a, sizeof a, numfmt, v.est);
    if (isfinite(v.lo) && isfinite(v.hi)) {
        snprintf(lo, sizeof lo, numfmt, v.lo);
        snprintf(hi, sizeof hi, numfmt, v.hi);
        snprintf(buf, n, "%s [%s, %s]", a, lo, hi);
    } else {
        snprintf(buf, n, "%s", a);
    }
    return buf;
}

/* viridis, stopping short of its pale yellow end so lines stay visible on
 * white; the light variant (mixed half with white) is for background curves */
static const char *PALETTE =
    "set palette defined (0 '#440154', 0.2 '#414487', 0.4 '#2a788e', 0.6 '#22a884', "
    "0.8 '#7ad151', 1 '#bddf26')\n";
static const char *PALETTE_LIGHT =
    "set palette defined (0 '#a180a9', 0.2 '#a0a1c3', 0.4 '#94bbc6', 0.6 '#90d3c1', "
    "0.8 '#bce8a8', 1 '#deef92')\n";

/* tics format for an autoscaled log axis: gnuplot widens it to whole
 * decades, so its major tics are always powers of ten */
static const char *logfmt(double lo, double hi) {
    (void)lo, (void)hi;
    return "10^{%L}";
}

/* Explicit tics for a log axis with the fixed range [lo, hi] (the colour
 * bar): 1, 2, 5 x 10^k inside it, only the powers of ten when that is too
 * many, and lo, mid, hi when fewer than two fall inside. */
static void log_tics(gp *g, const char *ax, double lo, double hi) {
    double v[64];
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        n = 0;
        for (int e = (int)floor(log10(lo)) - 1; e <= (int)ceil(log10(hi)) && n < 60; e++)
            for (int m = 1; m <= 5; m += (m == 1 ? 1 : 3)) {
                if (pass && m != 1) continue;
                double x = m * pow(10, e);
                if (x >= lo * (1 - 1e-9) && x <= hi * (1 + 1e-9)) v[n++] = x;
            }
        if (n <= 8) break;
    }
    if (n < 2) v[0] = lo, v[1] = sqrt(lo * hi), v[2] = hi, n = 3;
    fprintf(g->body, "set %stics (", ax);
    for (int i = 0; i < n; i++) {
        int e = (int)floor(log10(v[i]) + 1e-9);
        double m = v[i] / pow(10, e);
        char lab[64];
        if (fabs(m - 1) < 1e-6)
            snprintf(lab, sizeof lab, "10^{%d}", e);
        else
            snprintf(lab, sizeof lab, "%.2g·10^{%d}", m, e);
        fprintf(g->body, "%s%s %.9g", i ? ", " : "", Q(g, lab), v[i]);
    }
    fprintf(g->body, ")\n");
}

/* The colour scale: log of x over [lo, hi], labelled. */
static void colour_scale(gp *g, double lo, double hi, const char *label, int light) {
    if (!(hi > lo)) lo /= 1.5, hi *= 1.5;
    fprintf(g->body, "%sset logscale cb\nset cbrange [%.6g:%.6g]\nset cblabel %s\n",
            light ? PALETTE_LIGHT : PALETTE, lo, hi, Q(g, label));
    log_tics(g, "cb", lo, hi);
    fprintf(g->body, "set rmargin 14\n"); /* room for the colour bar's tics and label */
}

static void logaxis(gp *g, const char *ax, double lo, double hi) {
    fprintf(g->body, "set logscale %s\nset format %s %s\n", ax, ax,
            Q(g, isfinite(lo) && isfinite(hi) && hi > lo ? logfmt(lo, hi) : "10^{%L}"));
}

/* A loss axis (log, as in the papers) over [lo, hi] padded a little. Losses
 * span less than a decade, where gnuplot's log tics would be bare powers of
 * ten outside the range, so tics are placed at round linear steps. */
static void loss_axis(gp *g, const char *ax, double lo, double hi) {
    if (!(lo > 0) || !(hi >= lo)) {
        fprintf(g->body, "set logscale %s\n", ax);
        return;
    }
    lo /= 1.04, hi *= 1.04;
    fprintf(g->body, "set logscale %s\nset %srange [%.6g:%.6g]\nset format %s '%%g'\n", ax, ax, lo,
            hi, ax);
    if (hi / lo >= 10) return;
    double raw = (hi - lo) / 6, mag = pow(10, floor(log10(raw))), step = mag;
    static const double nice[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (nice[i] * mag >= raw) {
            step = nice[i] * mag;
            break;
        }
    fprintf(g->body, "set %stics (", ax);
    int n = 0;
    for (double t = ceil(lo / step) * step; t <= hi && n < 30; t += step, n++)
        fprintf(g->body, "%s%.6g", n ? ", " : "", t);
    fprintf(g->body, ")\nset m%stics 1\n", ax);
}

static void panel_common(gp *g) {
    fprintf(g->body, "set grid xtics ytics mxtics mytics lc rgb '#e0e0e0' lw 1\n"
                     "set key top right box opaque samplen 2 spacing 1.1 font ',9'\n"
                     "set border lw 1\n");
}

/* Figure title with the sweep name (from the database, hence quoted and
 * noenhanced so that '_' and '^' in it are printed as they are). */
static void fig_title(gp *g, plot_ctx *c, const char *what, int multiplot, int rows, int cols) {
    char t[512];
    snprintf(t, sizeof t, "%s — %s%s", what, c->sweep[0] ? "sweep " : "all runs", c->sweep);
    for (char *p = t; *p; p++) /* a title is only shown: control characters become '?' */
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    if (multiplot)
        fprintf(g->body, "set multiplot layout %d,%d title %s noenhanced font ',12'\n", rows, cols,
                Q(g, t));
    else
        fprintf(g->body, "set title %s noenhanced font ',12'\n", Q(g, t));
}

/* ---- Data blocks ----------------------------------------------------------- */

typedef struct {
    int runs, points; /* runs with >= 2 curve points; points written */
    double Nlo, Nhi;  /* parameter range */
    double Clo, Chi;  /* compute range, FLOPs */
    double Llo, Lhi;  /* loss range */
    double Dlo, Dhi;  /* token range */
} span;

static void span_init(span *s) {
    s->runs = s->points = 0;
    s->Nlo = s->Clo = s->Llo = s->Dlo = INFINITY;
    s->Nhi = s->Chi = s->Lhi = s->Dhi = -INFINITY;
}

static void span_add(span *s, double N, double D, double C, double L) {
    if (N < s->Nlo) s->Nlo = N;
    if (N > s->Nhi) s->Nhi = N;
    if (D < s->Dlo) s->Dlo = D;
    if (D > s->Dhi) s->Dhi = D;
    if (C < s->Clo) s->Clo = C;
    if (C > s->Chi) s->Chi = C;
    if (L < s->Llo) s->Llo = L;
    if (L > s->Lhi) s->Lhi = L;
}

static int pos(double x) {
    return isfinite(x) && x > 0;
}

/* $name: learning curves, one block per run (blank line between):
 * columns 1 tokens, 2 FLOPs, 3 PF-days, 4 loss, 5 N. */
static void write_curves(gp *g, plot_ctx *c, const char *name, const fit_opts *o, span *sp) {
    span_init(sp);
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < c->d.nruns; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params);
        int n = 0;
        for (int k = 0; k < r->ncurve; k++) {
            double t = r->curve_tokens[k], L = r->curve_loss[k];
            double C = fit_run_flops_at(r, o->params, o->flops, t);
            if (!pos(t) || !pos(L) || !pos(C) || !pos(N)) continue;
            fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g\n", t, C, C / PFDAY, L, N);
            span_add(sp, N, t, C, L);
            n++;
            sp->points++;
        }
        if (n) fprintf(g->data, "\n");
        if (n >= 2) sp->runs++;
    }
    fprintf(g->data, "EOD\n");
}

/* $name: final results, one line per run: 1 N, 2 tokens, 3 FLOPs, 4 PF-days,
 * 5 loss, 6 best loss (of the curve), 7 unique tokens (0: unlimited), 8 1 if
 * the run is on Kaplan's L(N) (its size's best among unlimited-data runs, or
 * among all when none is unlimited), 9 1 if on L(D) (data-limited, its unique
 * token count's best) — the points fit_kaplan_laws fits. Returns the number
 * of runs written. */
/* Whether run i is a point of Kaplan's L(N) (which 0) or L(D) (which 1), as
 * fit_kaplan_laws selects them: each size's (or unique token count's) best
 * loss, L(N) among unlimited-data runs when there are any, L(D) among
 * data-limited runs. Ties go to the first run. */
static int on_kaplan_law(const plot_ctx *c, const fit_opts *o, int i, int which) {
    const fit_data *d = &c->d;
    int any_unlimited = 0;
    for (int j = 0; j < d->nruns; j++)
        any_unlimited |= d->runs[j].unique_tokens == 0;
    const fit_run *r = &d->runs[i];
    if (which == 0 && any_unlimited && r->unique_tokens > 0) return 0;
    if (which == 1 && !(r->unique_tokens > 0)) return 0;
    double x = which ? r->unique_tokens : fit_run_params(r, o->params);
    double L = fit_run_best_loss(r);
    for (int j = 0; j < d->nruns; j++) {
        const fit_run *q = &d->runs[j];
        if (j == i || (which == 0 && any_unlimited && q->unique_tokens > 0) ||
            (which == 1 && !(q->unique_tokens > 0)))
            continue;
        double y = which ? q->unique_tokens : fit_run_params(q, o->params);
        double Lq = fit_run_best_loss(q);
        if (y == x && (Lq < L || (Lq == L && j < i))) return 0;
    }
    return 1;
}

static int write_finals(gp *g, plot_ctx *c, const char *name, const fit_opts *o, span *sp) {
    int n = 0;
    span_init(sp);
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < c->d.nruns; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params), C = fit_run_flops(r, o->params, o->flops);
        if (!pos(N) || !pos(r->tokens) || !pos(C) || !pos(r->loss)) continue;
        fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g %.9g %.9g %d %d\n", N, r->tokens, C, C / PFDAY,
                r->loss, fit_run_best_loss(r), r->unique_tokens, on_kaplan_law(c, o, i, 0),
                on_kaplan_law(c, o, i, 1));
        span_add(sp, N, r->tokens, C, r->loss);
        span_add(sp, N, r->unique_tokens > 0 ? r->unique_tokens : r->tokens, C,
                 fit_run_best_loss(r));
        n++;
    }
    fprintf(g->data, "EOD\n");
    return n;
}

/* Kaplan's single-variable law L(X) = E + (Xc/X)^alpha at x. */
static double powerlaw(const fit_powerlaw *p, double x) {
    double E = isfinite(p->E.est) ? p->E.est : 0;
    return E + pow(p->Xc.est / x, p->alpha.est);
}

/* $name: n log-spaced x in [lo, hi] with y = law(x), x written times xscale. */
static void write_powerlaw(gp *g, const char *name, const fit_powerlaw *p, double lo, double hi,
                           double xscale) {
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < 100; i++) {
        double x = lo * pow(hi / lo, i / 99.0);
        double y = powerlaw(p, x);
        if (pos(y)) fprintf(g->data, "%.9g %.9g\n", x * xscale, y);
    }
    fprintf(g->data, "EOD\n");
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* 2.5% and 97.5% points of v[0..n-1] (reordered); NaN when n < 5. */
static void pct_band(double *v, int n, double *lo, double *hi) {
    if (n < 5) {
        *lo = *hi = NAN;
        return;
    }
    fit_percentiles(v, n, lo, hi);
}

/* $name: frontier over n log-spaced C in [lo, hi]: 1 C, 2 N_opt, 3 D_opt,
 * 4 N lo, 5 N hi, 6 D lo, 7 D hi (bands from the fit's bootstrap draws; the
 * estimate where there are none). fr or a3 gives the law. Returns 1 when a
 * band was drawn; *rows gets the number of rows (0: the law gives no
 * frontier, e.g. a non-positive exponent). */
static int write_frontier(gp *g, const char *name, const fit_frontier *fr, const fit_approach3 *a3,
                          double lo, double hi, int *rows) {
    int ns = fr ? fr->nsamples : a3->nsamples, band = 0;
    *rows = 0;
    double *vn = malloc((ns ? ns : 1) * sizeof *vn), *vd = malloc((ns ? ns : 1) * sizeof *vd);
    fit_approach3 *tmp = a3 ? malloc(sizeof *tmp) : NULL;
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < 60; i++) {
        double C = lo * pow(hi / lo, i / 59.0), N, D, L, nlo = NAN, nhi = NAN, dlo = NAN, dhi = NAN;
        if (fr) {
            N = fr->kN.est * pow(C, fr->a.est);
            D = fr->kD.est * pow(C, fr->b.est);
        } else {
            fit_approach3_optimal(a3, C, &N, &D, &L);
        }
        int k = 0;
        for (int s = 0; vn && vd && s < ns; s++) {
            double n_, d_;
            if (fr) {
                n_ = fr->samples[s][0] * pow(C, fr->samples[s][1]);
                d_ = fr->samples[s][2] * pow(C, fr->samples[s][3]);
            } else if (tmp) {
                fit_approach3_from_params(tmp, a3->samples[s]);
                fit_approach3_optimal(tmp, C, &n_, &d_, &L);
            } else {
                continue;
            }
            if (pos(n_) && pos(d_)) vn[k] = n_, vd[k] = d_, k++;
        }
        pct_band(vn, k, &nlo, &nhi);
        pct_band(vd, k, &dlo, &dhi);
        if (isfinite(nlo))
            band = 1;
        else
            nlo = nhi = N, dlo = dhi = D;
        if (pos(N) && pos(D)) {
            fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g %.9g %.9g\n", C, N, D, nlo, nhi, dlo, dhi);
            (*rows)++;
        }
    }
    fprintf(g->data, "EOD\n");
    free(vn);
    free(vd);
    free(tmp);
    return band;
}

/* $name: the optima of approach 1 or 2: 1 C, 2 N, 3 D, 4 L, 5 1 if the
 * minimum lies outside the sampled sizes (approach 2). */
static void write_optima(gp *g, const char *name, const fit_optima *p) {
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < p->n; i++)
        if (pos(p->C[i]) && pos(p->N[i]) && pos(p->D[i]))
            fprintf(g->data, "%.9g %.9g %.9g %.9g %d\n", p->C[i], p->N[i], p->D[i], p->L[i],
                    p->extrapolated[i] != 0);
    fprintf(g->data, "EOD\n");
}

static void range_of_optima(const fit_optima *p, double *lo, double *hi) {
    for (int i = 0; i < p->n; i++)
        if (pos(p->C[i])) {
            if (p->C[i] < *lo) *lo = p->C[i];
            if (p->C[i] > *hi) *hi = p->C[i];
        }
}

/* Two panels N_opt(C) and D_opt(C) for approach 1 or 2 (inside a multiplot). */
static void optima_panels(gp *g, const fit_frontier *f, const char *tag, const char *approach) {
    char ta[200], tb[200];
    double lo = INFINITY, hi = -INFINITY;
    range_of_optima(&f->pts, &lo, &hi);
    char opt[32], line[32];
    snprintf(opt, sizeof opt, "$%s_opt", tag);
    snprintf(line, sizeof line, "$%s_line", tag);
    write_optima(g, opt, &f->pts);
    int rows, band = write_frontier(g, line, f, NULL, lo / 2, hi * 2, &rows);
    fv(ta, sizeof ta, f->a, "%.3f");
    fv(tb, sizeof tb, f->b, "%.3f");
    for (int k = 0; k < 2; k++) {
        fprintf(g->body, "reset\n");
        panel_common(g);
        /* bmargin 7: aligned with the first panel, whose legend is below it */
        fprintf(g->body, "set key top left\nset bmargin 7\n");
        logaxis(g, "x", lo, hi);
        logaxis(g, "y", 1, 1e9);
        fprintf(g->body, "set xlabel 'compute C (FLOPs)'\nset ylabel %s\nset title %s\n",
                Q(g, k ? "optimal tokens D_{opt} (tokens)" : "optimal parameters N_{opt}"),
                Qf(g, "%s: %s", approach, k ? "D_{opt}(C)" : "N_{opt}(C)"));
        fprintf(g->body, "plot ");
        if (band)
            fprintf(g->body,
                    "%s using 1:%d:%d with filledcurves fs transparent solid 0.2 "
                    "noborder lc rgb '#1f77b4' title '95%% bootstrap band', ",
                    line, k ? 6 : 4, k ? 7 : 5);
        fprintf(g->body,
                "%s using 1:%d with lines lw 2 lc rgb '#1f77b4' title %s, "
                "%s using 1:%d with points pt 7 ps %s lc rgb '#d62728' title %s\n",
                line, k ? 3 : 2,
                k ? Qf(g, "D_{opt} ∝ C^{b}, b = %s", tb) : Qf(g, "N_{opt} ∝ C^{a}, a = %s", ta),
                opt, k ? 3 : 2, f->pts.n > 30 ? "0.5" : "1.2",
                Q(g, k ? "D at the optimum" : "N at the optimum"));
    }
}

/* ---- kaplan-fig1 ------------------------------------------------------------ */

static int fig_kaplan_fig1(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    span cs, fs;
    write_curves(g, c, "$curves", &c->kap_opts, &cs);
    int nf = write_finals(g, c, "$final", &c->kap_opts, &fs);
    if (cs.runs < 2 || nf < 2) {
        snprintf(msg, msglen,
                 "needs at least 2 finished runs with learning curves (eval points); found %d "
                 "with curves, %d with a final loss",
                 cs.runs, nf);
        return PLOT_SKIPPED;
    }
    if (plot__fit(c, PLOT_FIT_KAPLAN)) {
        snprintf(msg, msglen, "needs the Kaplan fits: %s", c->why[PLOT_FIT_KAPLAN]);
        return PLOT_SKIPPED;
    }
    const fit_kaplan *k = &c->kap;
    int n = 100;
    double envC[100], envL[100];
    int envR[100];
    char why[UTIL_ERRLEN];
    int have_env =
        fit_envelope_frontier(&c->d, &c->kap_opts, n, envC, envL, envR, why, sizeof why) == 0;
    fprintf(g->data, "$env << EOD\n");
    for (int i = 0; have_env && i < n; i++)
        if (pos(envL[i])) fprintf(g->data, "%.9g %.9g\n", envC[i] / PFDAY, envL[i]);
    fprintf(g->data, "EOD\n");
    write_powerlaw(g, "$LC", &k->LC, cs.Clo, cs.Chi, 1 / PFDAY);
    double ulo = INFINITY, uhi = -INFINITY; /* L(D) is drawn over the data-limited runs */
    for (int i = 0; i < c->d.nruns; i++) {
        double U = c->d.runs[i].unique_tokens;
        if (U > 0) ulo = fmin(ulo, U), uhi = fmax(uhi, U);
    }
    if (!(uhi >= ulo)) ulo = fs.Dlo, uhi = fs.Dhi;
    write_powerlaw(g, "$LD", &k->LD, ulo / 1.5, uhi * 1.5, 1);
    write_powerlaw(g, "$LN", &k->LN, fs.Nlo / 1.5, fs.Nhi * 1.5, 1);

    char t1[200], t2[200], t3[200];
    g->w = 1650, g->h = 560;
    fig_title(g, c, "Kaplan et al. Figure 1: smooth power laws", 1, 1, 3);
    /* panel 1: loss against compute */
    fprintf(g->body, "reset\n");
    panel_common(g);
    colour_scale(g, cs.Nlo, cs.Nhi, "parameters N (non-embedding)", 1);
    fprintf(g->body, "unset colorbox\nset rmargin\n");
    logaxis(g, "x", cs.Clo / PFDAY, cs.Chi / PFDAY);
    loss_axis(g, "y", cs.Llo, cs.Lhi);
    fprintf(g->body, "set xlabel 'compute C (PF-days, non-embedding)'\n"
                     "set ylabel 'test loss (nats/token)'\nset title 'L(C_{min})'\n");
    fprintf(g->body,
            "plot $curves using 3:4:5 with lines lw 1.5 lc palette title 'learning curves', "
            "$env using 1:2 with lines lw 3 lc rgb '#222222' title 'compute frontier (lowest loss "
            "at ≤ C)', "
            "$LC using 1:2 with lines lw 2 dt 2 lc rgb '#ff7f0e' title %s\n",
            Qf(g, "L = (C_c/C_{min})^{α_C}, α_C = %s", fv(t1, sizeof t1, k->LC.alpha, "%.3f")));
    /* panel 2: loss against dataset size */
    fprintf(g->body, "reset\n");
    panel_common(g);
    colour_scale(g, fs.Nlo, fs.Nhi, "parameters N (non-embedding)", 0);
    fprintf(g->body, "unset colorbox\nset rmargin\n");
    logaxis(g, "x", fs.Dlo, fs.Dhi);
    loss_axis(g, "y", fs.Llo, fs.Lhi);
    fprintf(g->body, "set xlabel 'dataset size D (tokens)'\n"
                     "set ylabel 'test loss (nats/token)'\nset title 'L(D)'\n");
    if (k->have_LD)
        fprintf(g->body,
                "plot $final using ($9 > 0 ? $7 : 1/0):6:1 with points pt 7 ps 1 lc palette "
                "title 'data-limited runs (best loss, D = unique tokens)'");
    else
        fprintf(g->body, "plot $final using 2:5:1 with points pt 7 ps 1 lc palette "
                         "title 'runs (final loss; none data-limited)'");
    if (k->have_LD)
        fprintf(g->body, ", $LD using 1:2 with lines lw 2 dt 2 lc rgb '#ff7f0e' title %s",
                Qf(g, "L = (D_c/D)^{α_D}, α_D = %s", fv(t2, sizeof t2, k->LD.alpha, "%.3f")));
    fprintf(g->body, "\n");
    /* panel 3: loss against parameters */
    fprintf(g->body, "reset\n");
    panel_common(g);
    colour_scale(g, fs.Nlo, fs.Nhi, "parameters N (non-embedding)", 0);
    logaxis(g, "x", fs.Nlo, fs.Nhi);
    loss_axis(g, "y", fs.Llo, fs.Lhi);
    fprintf(g->body, "set xlabel 'parameters N (non-embedding)'\n"
                     "set ylabel 'test loss (nats/token)'\nset title 'L(N)'\n");
    fprintf(g->body,
            "plot $final using 1:5:1 with points pt 6 ps 0.8 lc palette title 'runs (final loss)', "
            "$final using ($8 > 0 ? $1 : 1/0):6:1 with points pt 7 ps 1.2 lc palette "
            "title 'best loss per size (fitted)', "
            "$LN using 1:2 with lines lw 2 dt 2 lc rgb '#ff7f0e' title %s\n",
            Qf(g, "L = (N_c/N)^{α_N}, α_N = %s", fv(t3, sizeof t3, k->LN.alpha, "%.3f")));
    fprintf(g->body, "unset multiplot\n");
    if (!have_env)
        snprintf(msg, msglen, "envelope left out: %s", why);
    else if (!k->have_LD)
        snprintf(msg, msglen, "%s", k->warning[0] ? k->warning : "L(D) not fitted");
    return 0;
}

/* ---- kaplan-curves ------------------------------------------------------------ */

static int fig_kaplan_curves(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    span cs;
    write_curves(g, c, "$curves", &c->kap_opts, &cs);
    if (cs.runs < 1) {
        snprintf(msg, msglen,
                 "needs finished runs with learning curves (2+ eval points); "
                 "found none");
        return PLOT_SKIPPED;
    }
    g->w = 1300, g->h = 540;
    fig_title(g, c, "Kaplan et al.: learning curves (sample efficiency)", 1, 1, 2);
    for (int k = 0; k < 2; k++) {
        fprintf(g->body, "reset\n");
        panel_common(g);
        colour_scale(g, cs.Nlo, cs.Nhi, "parameters N (non-embedding)", 0);
        if (k == 0) fprintf(g->body, "unset colorbox\nset rmargin\n");
        logaxis(g, "x", k ? cs.Clo / PFDAY : cs.Dlo, k ? cs.Chi / PFDAY : cs.Dhi);
        loss_axis(g, "y", cs.Llo, cs.Lhi);
        fprintf(g->body, "set xlabel %s\nset ylabel 'test loss (nats/token)'\n",
                Q(g, k ? "compute C (PF-days, non-embedding)" : "tokens processed D"));
        fprintf(g->body, "plot $curves using %d:4:5 with lines lw 1.5 lc palette title %s\n",
                k ? 3 : 1, Q(g, "learning curves (colour: N)"));
    }
    fprintf(g->body, "unset multiplot\n");
    (void)msg;
    return 0;
}

/* ---- chinchilla-envelope ------------------------------------------------------- */

static int fig_chinchilla_envelope(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    span cs;
    write_curves(g, c, "$curves", &c->chin_opts, &cs);
    if (cs.runs < 2) {
        snprintf(msg, msglen, "needs at least 2 finished runs with learning curves; found %d",
                 cs.runs);
        return PLOT_SKIPPED;
    }
    if (plot__fit(c, PLOT_FIT_A1)) {
        snprintf(msg, msglen, "needs Chinchilla approach 1: %s", c->why[PLOT_FIT_A1]);
        return PLOT_SKIPPED;
    }
    int n = 100;
    double envC[100], envL[100];
    int envR[100];
    char why[UTIL_ERRLEN];
    int have_env = fit_envelope(&c->d, &c->chin_opts, n, envC, envL, envR, why, sizeof why) == 0;
    fprintf(g->data, "$env << EOD\n");
    for (int i = 0; have_env && i < n; i++)
        if (pos(envL[i])) fprintf(g->data, "%.9g %.9g\n", envC[i], envL[i]);
    fprintf(g->data, "EOD\n");
    g->w = 1650, g->h = 560;
    fig_title(g, c, "Chinchilla Figure 2 (approach 1: minimum over training curves)", 1, 1, 3);
    fprintf(g->body, "reset\n");
    panel_common(g);
    colour_scale(g, cs.Nlo, cs.Nhi, "parameters N", 0);
    logaxis(g, "x", cs.Clo, cs.Chi);
    fprintf(g->body, "set xlabel 'compute C (FLOPs)'\nset ylabel 'validation loss (nats/token)'\n"
                     "set title 'learning curves and their envelope'\nset bmargin 7\n");
    fprintf(g->body,
            "plot $curves using 2:4:5 with lines lw 1.2 lc palette title 'learning curves', "
            "$env using 1:2 with points pt 7 ps 0.5 lc rgb '#222222' title 'envelope'\n");
    optima_panels(g, c->a1, "a1", "approach 1");
    fprintf(g->body, "unset multiplot\n");
    if (!have_env)
        snprintf(msg, msglen, "envelope left out: %s", why);
    else if (c->a1->warning[0])
        snprintf(msg, msglen, "approach 1: %s", c->a1->warning);
    return 0;
}

/* ---- chinchilla-isoflop ---------------------------------------------------------- */

static int fig_chinchilla_isoflop(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    const fit_opts *o = &c->chin_opts;
    int nr = c->d.nruns, ng = 0, rc = 0;
    int *group = malloc((nr ? nr : 1) * sizeof *group);
    if (!group) return util_err(msg, msglen, UTIL_ENOMEM, "out of memory");
    int have_budget = 0;
    for (int i = 0; i < nr; i++)
        if (isfinite(c->d.runs[i].budget)) have_budget = 1;
    if (!have_budget) {
        snprintf(msg, msglen,
                 "no IsoFLOP budgets: none of the %d finished runs has a compute "
                 "budget (plan the sweep in isoflop mode)",
                 nr);
        rc = PLOT_SKIPPED;
        goto done;
    }
    if (plot__fit(c, PLOT_FIT_A2)) {
        snprintf(msg, msglen, "needs Chinchilla approach 2: %s", c->why[PLOT_FIT_A2]);
        rc = PLOT_SKIPPED;
        goto done;
    }
    fit_budget_groups(&c->d, o->params, o->flops, group, &ng);
    const fit_frontier *f = c->a2;
    double Nlo = INFINITY, Nhi = -INFINITY, Clo = INFINITY, Chi = -INFINITY;
    /* runs: 1 N, 2 loss, 3 budget (FLOPs) — the budget colours them */
    fprintf(g->data, "$iso << EOD\n");
    for (int i = 0; i < nr; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params);
        double B = isfinite(r->budget) ? r->budget : fit_run_flops(r, o->params, o->flops);
        if (group[i] < 0 || !pos(N) || !pos(r->loss) || !pos(B)) continue;
        fprintf(g->data, "%.9g %.9g %.9g\n", N, r->loss, B);
        if (N < Nlo) Nlo = N;
        if (N > Nhi) Nhi = N;
        if (B < Clo) Clo = B;
        if (B > Chi) Chi = B;
    }
    fprintf(g->data, "EOD\n");
    /* parabolas over each budget's sampled sizes, widened a little */
    fprintf(g->data, "$parab << EOD\n");
    for (int p = 0; p < f->pts.n; p++) {
        double lo = INFINITY, hi = -INFINITY, Cp = f->pts.C[p];
        for (int i = 0; i < nr; i++) {
            const fit_run *r = &c->d.runs[i];
            double B = isfinite(r->budget) ? r->budget : fit_run_flops(r, o->params, o->flops);
            if (group[i] < 0 || !pos(B) || fabs(log10(B / Cp)) > 0.1) continue;
            double N = fit_run_params(r, o->params);
            if (N < lo) lo = N;
            if (N > hi) hi = N;
        }
        if (!(hi > lo)) continue;
        double xlo = log(lo) - 0.3, xhi = log(hi) + 0.3;
        for (int k = 0; k < 50; k++) {
            double x = xlo + (xhi - xlo) * k / 49.0;
            double L = f->pts.parab[p][0] + f->pts.parab[p][1] * x + f->pts.parab[p][2] * x * x;
            fprintf(g->data, "%.9g %.9g %.9g\n", exp(x), L, Cp);
        }
        fprintf(g->data, "\n");
    }
    fprintf(g->data, "EOD\n");
    write_optima(g, "$min", &f->pts);

    g->w = 1650, g->h = 560;
    fig_title(g, c, "Chinchilla Figure 3 (approach 2: IsoFLOP profiles)", 1, 1, 3);
    fprintf(g->body, "reset\n");
    panel_common(g);
    colour_scale(g, Clo, Chi, "compute budget C (FLOPs)", 0);
    logaxis(g, "x", Nlo, Nhi);
    fprintf(g->body, "set xlabel 'parameters N'\nset ylabel 'final loss (nats/token)'\n"
                     "set title 'IsoFLOP profiles with fitted parabolas'\n"
                     "set key below Left reverse maxrows 2 font ',9'\nset bmargin 7\n");
    int nextra = 0;
    for (int p = 0; p < f->pts.n; p++)
        nextra += f->pts.extrapolated[p] != 0;
    fprintf(g->body,
            "plot $iso using 1:2:3 with points pt 7 ps 1.1 lc palette title 'runs', "
            "$parab using 1:2:3 with lines lw 1.5 lc palette title 'parabola in ln N', "
            "$min using ($5 > 0 ? 1/0 : $2):4 with points pt 13 ps 1.8 lc rgb '#222222' "
            "title 'minima'%s\n",
            nextra ? ", $min using ($5 > 0 ? $2 : 1/0):4 with points pt 12 ps 1.8 lw 2 "
                     "lc rgb '#d62728' title 'extrapolated minimum'"
                   : "");
    optima_panels(g, c->a2, "a2", "approach 2");
    fprintf(g->body, "unset multiplot\n");
    if (f->warning[0]) snprintf(msg, msglen, "approach 2: %s", f->warning);
done:
    free(group);
    return rc;
}

/* ---- chinchilla-contours -------------------------------------------------------- */

static double a3_loss(const fit_approach3 *f, double N, double D) {
    return f->E.est + f->A.est / pow(N, f->alpha.est) + f->B.est / pow(D, f->beta.est);
}

static int fig_chinchilla_contours(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    const fit_opts *o = &c->chin_opts;
    span fs;
    int nf = write_finals(g, c, "$final", o, &fs);
    if (nf < 5) {
        snprintf(msg, msglen, "needs at least 5 finished runs with a final loss; found %d", nf);
        return PLOT_SKIPPED;
    }
    if (plot__fit(c, PLOT_FIT_A3)) {
        snprintf(msg, msglen, "needs Chinchilla approach 3: %s", c->why[PLOT_FIT_A3]);
        return PLOT_SKIPPED;
    }
    const fit_approach3 *f = c->a3;
    double Clo = fs.Clo / 10, Chi = fs.Chi * 10, Nlo = fs.Nlo / 10, Nhi = fs.Nhi * 10;
    /* grid in (log10 C, log10 N): contours are traced in log space */
    fprintf(g->data, "$grid << EOD\n");
    for (int i = 0; i < 81; i++) {
        double lc = log10(Clo) + (log10(Chi) - log10(Clo)) * i / 80.0;
        for (int j = 0; j < 81; j++) {
            double ln = log10(Nlo) + (log10(Nhi) - log10(Nlo)) * j / 80.0;
            double N = pow(10, ln), D = pow(10, lc) / (6 * N);
            double L = a3_loss(f, N, D);
            fprintf(g->data, "%.6f %.6f %.9g\n", lc, ln, isfinite(L) ? L : 1e9);
        }
        fprintf(g->data, "\n");
    }
    fprintf(g->data, "EOD\n");
    fprintf(g->data, "$front << EOD\n");
    int nfront = 0;
    for (int i = 0; i < 80; i++) {
        double C = Clo * pow(Chi / Clo, i / 79.0), N, D, L;
        fit_approach3_optimal(f, C, &N, &D, &L);
        if (pos(N)) fprintf(g->data, "%.9g %.9g %.9g\n", C, N, L), nfront++;
    }
    fprintf(g->data, "EOD\n");
    /* IsoFLOP budgets: vertical lines, and the model's slices */
    int nb = 0;
    double budgets[64];
    for (int i = 0; i < c->d.nruns && nb < 64; i++) {
        double B = c->d.runs[i].budget;
        if (!pos(B)) continue;
        int seen = 0;
        for (int k = 0; k < nb; k++)
            if (fabs(log10(B / budgets[k])) < 0.01) seen = 1;
        if (!seen) budgets[nb++] = B;
    }
    qsort(budgets, nb, sizeof *budgets, cmp_dbl);
    fprintf(g->data, "$isolines << EOD\n");
    for (int k = 0; k < nb; k++)
        fprintf(g->data, "%.9g %.9g\n%.9g %.9g\n\n", budgets[k], Nlo, budgets[k], Nhi);
    fprintf(g->data, "EOD\n$slices << EOD\n");
    for (int k = 0; k < nb; k++) {
        for (int j = 0; j < 60; j++) {
            double N = fs.Nlo / 3 * pow(9 * fs.Nhi / fs.Nlo, j / 59.0);
            double L = a3_loss(f, N, budgets[k] / (6 * N));
            if (pos(L) && L < 2 * fs.Lhi) fprintf(g->data, "%.9g %.9g %.9g\n", N, L, budgets[k]);
        }
        fprintf(g->data, "\n");
    }
    fprintf(g->data, "EOD\n$runs << EOD\n");
    for (int i = 0; i < c->d.nruns; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params), C = fit_run_flops(r, o->params, o->flops);
        if (pos(N) && pos(C) && pos(r->loss))
            fprintf(g->data, "%.9g %.9g %.9g %.9g\n", C, N, r->loss,
                    pos(r->budget) ? r->budget : C);
    }
    fprintf(g->data, "EOD\n");

    double lo = fs.Llo - 0.02 * (fs.Lhi - fs.Llo), hi = fs.Lhi + 0.1 * (fs.Lhi - fs.Llo);
    if (!(hi > lo)) lo -= 0.1, hi += 0.1;
    char ta[200], tE[200], tal[200], tbe[200];
    g->w = nb ? 1400 : 800, g->h = 600;
    /* contour lines into a datablock, then drawn in 2D with the rest */
    fprintf(g->body,
            "reset\nset contour base\nunset surface\nset view map\n"
            "set cntrparam levels incremental %.9g, %.9g, %.9g\nset cntrparam cubicspline\n"
            "set table $cont\nsplot $grid using 1:2:3 with lines\nunset table\n"
            "unset contour\nset surface\n",
            lo, (hi - lo) / 12, hi);
    fig_title(g, c, "Chinchilla Figure 4 (approach 3: parametric fit)", 1, 1, nb ? 2 : 1);
    fprintf(g->body, "reset\n");
    panel_common(g);
    fprintf(g->body,
            "set key bottom right\n%sset cbrange [%.9g:%.9g]\nset cblabel 'loss (nats/token)'\n",
            PALETTE, lo, hi);
    logaxis(g, "x", Clo, Chi);
    logaxis(g, "y", Nlo, Nhi);
    fprintf(g->body, "set xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n", Clo, Chi, Nlo, Nhi);
    fprintf(g->body, "set xlabel 'compute C (FLOPs)'\nset ylabel 'parameters N'\n"
                     "set title 'L(N, D) contours, D = C/(6N)'\n");
    fprintf(g->body, "plot $cont using (10**$1):(10**$2):3 with lines lw 1 lc palette notitle, ");
    if (nb)
        fprintf(g->body, "$isolines using 1:2 with lines dt 3 lw 1 lc rgb '#888888' "
                         "title 'IsoFLOP budgets', ");
    if (nfront)
        fprintf(
            g->body, "$front using 1:2 with lines lw 3 lc rgb '#1f77b4' title %s, ",
            Qf(g, "efficient frontier N_{opt} ∝ C^{a}, a = %s", fv(ta, sizeof ta, f->a, "%.3f")));
    fprintf(g->body,
            "$runs using 1:2:3 with points pt 7 ps 1 lc palette title 'runs (colour: loss)'\n");
    if (nb) {
        fprintf(g->body, "reset\n");
        panel_common(g);
        colour_scale(g, budgets[0], budgets[nb - 1], "compute budget C (FLOPs)", 0);
        logaxis(g, "x", fs.Nlo, fs.Nhi);
        fprintf(g->body, "set xlabel 'parameters N'\nset ylabel 'loss (nats/token)'\n"
                         "set title 'IsoFLOP slices of the fitted L = E + A/N^{α} + B/D^{β}'\n"
                         "set key top left\n");
        fprintf(g->body, "set label 1 %s at graph 0.03, 0.10 left front font ',9'\n",
                Qf(g, "E = %s,  α = %s,  β = %s", fv(tE, sizeof tE, f->E, "%.2f"),
                   fv(tal, sizeof tal, f->alpha, "%.2f"), fv(tbe, sizeof tbe, f->beta, "%.2f")));
        fprintf(g->body, "set label 2 %s at graph 0.03, 0.05 left front font ',9'\n",
                Qf(g, "A = %s,  B = %s", fv(tal, sizeof tal, f->A, "%.4g"),
                   fv(tbe, sizeof tbe, f->B, "%.4g")));
        fprintf(
            g->body,
            "plot $slices using 1:2:3 with lines lw 2 lc palette title 'fitted L(N, C/(6N))', "
            "$runs using 2:3:4 with points pt 7 ps 1 lc palette title 'runs (colour: budget)'\n");
    }
    fprintf(g->body, "unset multiplot\n");
    if (f->warning[0]) snprintf(msg, msglen, "approach 3: %s", f->warning);
    return 0;
}

/* ---- frontier ---------------------------------------------------------------- */

/* Published lines (constants from the papers):
 * Kaplan et al. 2020, eq. 6.1: N_opt = 1.3e9 (C / PF-day)^0.73 (non-embedding).
 * Hoffmann et al. 2022, approach 3: E 1.69, A 406.4, B 410.7, alpha 0.34,
 * beta 0.28, N_opt = G (C/6)^a, G = (alpha A / (beta B))^(1/(alpha+beta)),
 * a = beta/(alpha+beta); approaches 1 and 2: a = 0.50 and 0.49, drawn through
 * Chinchilla itself (70e9 parameters at 5.76e23 FLOPs). */
static double kaplan_nopt(double C) {
    return 1.3e9 * pow(C / PFDAY, 0.73);
}
static double chin_a3_nopt(double C) {
    double al = 0.34, be = 0.28, A = 406.4, B = 410.7;
    double G = pow(al * A / (be * B), 1 / (al + be));
    return G * pow(C / 6, be / (al + be));
}
static double chin_a1_nopt(double C) {
    return 70e9 * pow(C / 5.76e23, 0.50);
}
static double chin_a2_nopt(double C) {
    return 70e9 * pow(C / 5.76e23, 0.49);
}

static int fig_frontier(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    int ok[3], nok = 0;
    double lo = INFINITY, hi = -INFINITY;
    char why[3][UTIL_ERRLEN];
    for (int k = 0; k < 3; k++) {
        ok[k] = plot__fit(c, PLOT_FIT_A1 + k) == 0;
        nok += ok[k];
        snprintf(why[k], sizeof why[k], "%s", c->why[PLOT_FIT_A1 + k]);
    }
    if (!nok) {
        snprintf(msg, msglen,
                 "needs at least one Chinchilla approach; approach 1: %s; "
                 "approach 2: %s; approach 3: %s",
                 c->why[PLOT_FIT_A1], c->why[PLOT_FIT_A2], c->why[PLOT_FIT_A3]);
        return PLOT_SKIPPED;
    }
    for (int i = 0; i < c->d.nruns; i++) {
        double C = fit_run_flops(&c->d.runs[i], c->chin_opts.params, c->chin_opts.flops);
        if (pos(C)) {
            if (C < lo) lo = C;
            if (C > hi) hi = C;
        }
    }
    if (ok[0]) range_of_optima(&c->a1->pts, &lo, &hi);
    if (ok[1]) range_of_optima(&c->a2->pts, &lo, &hi);
    if (!(hi > lo)) lo /= 10, hi *= 10;
    lo /= 10, hi *= 10;
    static const char *const colour[3] = {"#1f77b4", "#2ca02c", "#d62728"};
    char band[3] = {0}, t[3][200];
    for (int k = 0; k < 3; k++) {
        if (!ok[k]) continue;
        char name[16];
        snprintf(name, sizeof name, "$f%d", k + 1);
        int rows;
        band[k] = (char)write_frontier(g, name, k < 2 ? (k ? c->a2 : c->a1) : NULL,
                                       k == 2 ? c->a3 : NULL, lo, hi, &rows);
        if (!rows) { /* fitted, but no frontier (e.g. an exponent not positive) */
            ok[k] = 0;
            nok--;
            snprintf(why[k], sizeof why[k], "%s",
                     k == 2 && c->a3->warning[0] ? c->a3->warning : "the fit gives no frontier");
            continue;
        }
        fv(t[k], sizeof t[k], k < 2 ? (k ? c->a2->a : c->a1->a) : c->a3->a, "%.3f");
        if (k < 2) {
            snprintf(name, sizeof name, "$o%d", k + 1);
            write_optima(g, name, k ? &c->a2->pts : &c->a1->pts);
        }
    }
    if (!nok) {
        snprintf(msg, msglen,
                 "no approach gives a frontier; approach 1: %s; approach 2: %s; "
                 "approach 3: %s",
                 why[0], why[1], why[2]);
        return PLOT_SKIPPED;
    }
    fprintf(g->data, "$pub << EOD\n");
    for (int i = 0; i < 60; i++) {
        double C = lo * pow(hi / lo, i / 59.0);
        fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g\n", C, kaplan_nopt(C), chin_a3_nopt(C),
                chin_a1_nopt(C), chin_a2_nopt(C));
    }
    fprintf(g->data, "EOD\n");
    g->w = 1100, g->h = 900;
    fig_title(g, c, "Compute-optimal model size: our three approaches and the published laws", 0, 0,
              0);
    panel_common(g);
    int nent = 4; /* legend lines: the published laws, and ours with their bands */
    for (int k = 0; k < 3; k++)
        nent += ok[k] ? 1 + band[k] : 0;
    /* the legend goes under the plot, in a bottom margin sized to hold it */
    fprintf(g->body,
            "set key below left Left reverse font ',9' spacing 1.1 maxcols 1\n"
            "set bmargin %d\n",
            (int)(nent * 1.05) + 5);
    logaxis(g, "x", lo, hi);
    logaxis(g, "y", 1, 1e9);
    fprintf(g->body,
            "set xrange [%.9g:%.9g]\nset xlabel 'compute C (FLOPs)'\n"
            "set ylabel 'compute-optimal parameters N_{opt}'\n",
            lo, hi);
    fprintf(g->body, "plot ");
    for (int k = 0; k < 3; k++) {
        if (!ok[k]) continue;
        if (band[k])
            fprintf(g->body,
                    "$f%d using 1:4:5 with filledcurves fs transparent solid 0.15 "
                    "noborder lc rgb '%s' title %s, ",
                    k + 1, colour[k], Qf(g, "approach %d: 95%% bootstrap band", k + 1));
        fprintf(g->body, "$f%d using 1:2 with lines lw 2.5 lc rgb '%s' title %s, ", k + 1,
                colour[k], Qf(g, "ours, approach %d: N_{opt} ∝ C^{a}, a = %s", k + 1, t[k]));
        if (k < 2)
            fprintf(g->body, "$o%d using 1:2 with points pt %d ps %s lc rgb '%s' notitle, ", k + 1,
                    k ? 9 : 7, (k ? c->a2 : c->a1)->pts.n > 30 ? "0.4" : "1.1", colour[k]);
    }
    fprintf(g->body,
            "$pub using 1:2 with lines dt 2 lw 2 lc rgb '#ff7f0e' title "
            "'Kaplan: N_{opt} = 1.3·10^9 (C/PF-day)^{0.73} (non-embedding)', "
            "$pub using 1:3 with lines dt 2 lw 2 lc rgb '#9467bd' title "
            "'Chinchilla approach 3: G (C/6)^{0.452}, E=1.69 A=406.4 B=410.7 α=0.34 β=0.28', "
            "$pub using 1:4 with lines dt 4 lw 1.5 lc rgb '#8c564b' title "
            "'Chinchilla approach 1: C^{0.50} through 70B at 5.76·10^{23}', "
            "$pub using 1:5 with lines dt 5 lw 1.5 lc rgb '#e377c2' title "
            "'Chinchilla approach 2: C^{0.49} through 70B at 5.76·10^{23}'\n");
    if (nok < 3) {
        size_t m = 0;
        msg[0] = 0;
        for (int k = 0; k < 3; k++)
            if (!ok[k] && m < msglen)
                m += snprintf(msg + m, msglen - m, "%sapproach %d left out: %s", m ? "; " : "",
                              k + 1, why[k]);
    }
    return 0;
}

/* ---- residuals --------------------------------------------------------------- */

/* "plot" with the datasets that have points (cmds[i] with counts[i] > 0); a
 * panel with none says so instead of letting gnuplot fail on empty data. */
static void plot_nonempty(gp *g, const char *const *cmds, const int *counts, int n,
                          const char *why_empty) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (counts[i] > 0) fprintf(g->body, "%s%s", k++ ? ", " : "plot ", cmds[i]);
    if (k) {
        fprintf(g->body, "\n");
        return;
    }
    fprintf(g->body,
            "unset logscale\nunset xzeroaxis\nset xrange [0:1]\nset yrange [0:1]\n"
            "set label 9 %s at graph 0.5, 0.5 center\nplot -1 notitle\nunset label 9\n",
            Q(g, why_empty));
}

/* Residuals of what each law describes: Kaplan L(N) and L(D) against the
 * points fit_kaplan_laws fits (each size's best loss; data-limited runs at
 * their unique token count), L(Cmin) against the envelope,
 * approach 3 against every run (loss, nats); approaches 1 and 2 as
 * ln(N_found / N_fit) at each optimum. Points for L(N), L(D), approach 3 are
 * runs, coloured by N. */
static int fig_residuals(plot_ctx *c, gp *g, char *msg, size_t msglen) {
    int ok[PLOT_NFITS], nok = 0;
    for (int k = 0; k < PLOT_NFITS; k++) {
        ok[k] = plot__fit(c, k) == 0;
        nok += ok[k];
    }
    if (!nok) {
        snprintf(msg, msglen,
                 "no fit succeeded: Kaplan: %s; approach 1: %s; approach 2: %s; "
                 "approach 3: %s",
                 c->why[0], c->why[1], c->why[2], c->why[3]);
        return PLOT_SKIPPED;
    }
    const fit_data *d = &c->d;
    const fit_opts *ko = &c->kap_opts, *co = &c->chin_opts;
    double Nlo = INFINITY, Nhi = -INFINITY;
    int cnt[4] = {0, 0, 0, 0}, ocnt[4] = {0, 0, 0, 0}; /* rows of $rN $rD $rC $r3, $o1 $o2 */
    /* $rN, $rD: 1 C (FLOPs), 2 residual, 3 N */
    for (int which = 0; which < 2; which++) {
        fprintf(g->data, "%s << EOD\n", which ? "$rD" : "$rN");
        for (int i = 0; ok[PLOT_FIT_KAPLAN] && i < d->nruns; i++) {
            const fit_run *r = &d->runs[i];
            if ((which && !c->kap.have_LD) || !on_kaplan_law(c, ko, i, which)) continue;
            double x = which ? r->unique_tokens : fit_run_params(r, ko->params);
            double N = fit_run_params(r, ko->params);
            fprintf(g->data, "%.9g %.9g %.9g\n", fit_run_flops(r, ko->params, ko->flops),
                    fit_run_best_loss(r) - powerlaw(which ? &c->kap.LD : &c->kap.LN, x), N);
            cnt[which]++;
        }
        fprintf(g->data, "EOD\n");
    }
    fprintf(g->data, "$rC << EOD\n");
    if (ok[PLOT_FIT_KAPLAN]) {
        double envC[60], envL[60];
        int envR[60];
        char why[UTIL_ERRLEN];
        if (fit_envelope_frontier(d, ko, 60, envC, envL, envR, why, sizeof why) == 0)
            for (int i = 0; i < 60; i++)
                if (pos(envL[i])) {
                    fprintf(g->data, "%.9g %.9g\n", envC[i],
                            envL[i] - powerlaw(&c->kap.LC, envC[i]));
                    cnt[2]++;
                }
    }
    fprintf(g->data, "EOD\n$r3 << EOD\n");
    for (int i = 0; ok[PLOT_FIT_A3] && i < d->nruns; i++) {
        const fit_run *r = &d->runs[i];
        double N = fit_run_params(r, co->params);
        if (!pos(N) || !pos(r->tokens) || !pos(r->loss)) continue;
        fprintf(g->data, "%.9g %.9g %.9g\n", fit_run_flops(r, co->params, co->flops),
                r->loss - a3_loss(c->a3, N, r->tokens), N);
        cnt[3]++;
    }
    fprintf(g->data, "EOD\n");
    for (int i = 0; i < d->nruns; i++) {
        double N = fit_run_params(&d->runs[i], co->params);
        double M = fit_run_params(&d->runs[i], ko->params);
        if (pos(N)) Nlo = fmin(Nlo, fmin(N, M)), Nhi = fmax(Nhi, fmax(N, M));
    }
    /* $o1, $o2: 1 C, 2 ln(N/N_fit), 3 ln(D/D_fit) */
    for (int k = 0; k < 2; k++) {
        const fit_frontier *f = k ? c->a2 : c->a1;
        fprintf(g->data, "$o%d << EOD\n", k + 1);
        for (int i = 0; ok[PLOT_FIT_A1 + k] && i < f->pts.n; i++) {
            double C = f->pts.C[i];
            double Nf = f->kN.est * pow(C, f->a.est), Df = f->kD.est * pow(C, f->b.est);
            if (pos(C) && pos(f->pts.N[i]) && pos(f->pts.D[i]) && pos(Nf) && pos(Df)) {
                fprintf(g->data, "%.9g %.9g %.9g\n", C, log(f->pts.N[i] / Nf),
                        log(f->pts.D[i] / Df));
                ocnt[2 * k] = ocnt[2 * k + 1] = ocnt[2 * k] + 1;
            }
        }
        fprintf(g->data, "EOD\n");
    }
    g->w = 1400, g->h = 560;
    fig_title(g, c, "Residuals of each fit against compute", 1, 1, 2);
    fprintf(g->body, "reset\n");
    panel_common(g);
    colour_scale(g, Nlo, Nhi, "parameters N (runs)", 0);
    fprintf(g->body, "set logscale x\nset format x '10^{%%L}'\nset xlabel 'compute C (FLOPs)'\n"
                     "set ylabel 'observed − fitted loss (nats/token)'\n"
                     "set title 'loss laws'\nset xzeroaxis lt -1\n");
    static const char *const loss_sets[4] = {
        "$rN using 1:2:3 with points pt 7 ps 1.1 lc palette title 'Kaplan L(N) (best loss per N)'",
        "$rD using 1:2:3 with points pt 5 ps 1.1 lc palette title 'Kaplan L(D) (data-limited, best "
        "per D)'",
        "$rC using 1:2 with linespoints pt 1 ps 0.6 lc rgb '#ff7f0e' title "
        "'Kaplan L(C_{min}) vs envelope'",
        "$r3 using 1:2:3 with points pt 9 ps 1.2 lc palette title 'approach 3 L(N, D) (every run)'",
    };
    plot_nonempty(g, loss_sets, cnt, 4, "no loss law fitted (Kaplan laws, approach 3)");
    fprintf(g->body, "reset\n");
    panel_common(g);
    fprintf(g->body, "set logscale x\nset format x '10^{%%L}'\nset xlabel 'compute C (FLOPs)'\n"
                     "set ylabel 'ln(found / fitted)'\nset title 'compute-optimal frontier laws'\n"
                     "set xzeroaxis lt -1\n");
    static const char *const opt_sets[4] = {
        "$o1 using 1:2 with points pt 7 ps 0.6 lc rgb '#1f77b4' title 'approach 1 N_{opt}'",
        "$o1 using 1:3 with points pt 6 ps 0.6 lc rgb '#1f77b4' title 'approach 1 D_{opt}'",
        "$o2 using 1:2 with points pt 5 ps 1.2 lc rgb '#2ca02c' title 'approach 2 N_{opt}'",
        "$o2 using 1:3 with points pt 4 ps 1.2 lc rgb '#2ca02c' title 'approach 2 D_{opt}'",
    };
    plot_nonempty(g, opt_sets, ocnt, 4, "no frontier law fitted (approaches 1 and 2)");
    fprintf(g->body, "unset multiplot\n");
    if (nok < PLOT_NFITS) {
        size_t m = 0;
        msg[0] = 0;
        for (int k = 0; k < PLOT_NFITS; k++)
            if (!ok[k] && m < msglen)
                m += snprintf(msg + m, msglen - m, "%s%s left out: %s", m ? "; " : "",
                              plot__fit_name(k), c->why[k]);
    }
    return 0;
}

/* ---- Drawing a figure --------------------------------------------------------- */

typedef int (*fig_fn)(plot_ctx *c, gp *g, char *msg, size_t msglen);
static const fig_fn figure_fns[] = {
    fig_kaplan_fig1,         fig_kaplan_curves, fig_chinchilla_envelope, fig_chinchilla_isoflop,
    fig_chinchilla_contours, fig_frontier,      fig_residuals,
};

/* fsync a finished output so the rename publishes complete contents */
static int sync_file(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int plot_ctx_figure(plot_ctx *c, const char *name, const char *outdir, char *msg, size_t msglen,
                    char *err, size_t errlen) {
    int idx = -1, rc = 0;
    gp g;
    char *script = NULL;
    size_t slen = 0;
    FILE *sf = NULL;
    char tmp[2][4096], fin[2][4096];
    int have_tmp = 0;
    memset(&g, 0, sizeof g);
    msg[0] = 0;
    for (int i = 0; i < plot_figure_count; i++)
        if (!strcmp(name, plot_figure_names[i])) idx = i;
    if (idx < 0) {
        char list[512];
        size_t m = 0;
        for (int i = 0; i < plot_figure_count; i++)
            m += snprintf(list + m, sizeof list - m, "%s%s", i ? ", " : "", plot_figure_names[i]);
        return util_err(err, errlen, UTIL_EINVAL, "unknown figure '%s' (expected one of: %s)", name,
                        list);
    }
    g.data = open_memstream(&g.dbuf, &g.dlen);
    g.body = open_memstream(&g.bbuf, &g.blen);
    if (!g.data || !g.body) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
        goto done;
    }
    g.w = 1200, g.h = 800;
    fprintf(g.body, "reset\n"); /* the body is drawn twice: start clean each time */
    rc = figure_fns[idx](c, &g, msg, msglen);
    if (rc != 0) {
        if (rc < 0) snprintf(err, errlen, "%s: %s", name, msg), msg[0] = 0;
        goto done;
    }
    if (g.bad) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: %s", name, g.qerr);
        goto done;
    }
    fflush(g.data);
    fflush(g.body);
    if ((rc = util_mkdirs(outdir, err, errlen))) goto done;
    for (int k = 0; k < 2; k++) {
        const char *ext = k ? "svg" : "png";
        if ((size_t)snprintf(tmp[k], sizeof tmp[k], "%s/.%s.%s.tmp.%ld", outdir, name, ext,
                             (long)getpid()) >= sizeof tmp[k] ||
            (size_t)snprintf(fin[k], sizeof fin[k], "%s/%s.%s", outdir, name, ext) >=
                sizeof fin[k]) {
            rc = util_err(err, errlen, UTIL_EINVAL, "%s: output directory path too long", outdir);
            goto done;
        }
    }
    sf = open_memstream(&script, &slen);
    if (!sf) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
        goto done;
    }
    have_tmp = 1;
    fprintf(sf, "# scaling plot %s\nset encoding utf8\n", name);
    fwrite(g.dbuf, 1, g.dlen, sf);
    fprintf(sf,
            "set terminal pngcairo size %d,%d enhanced font 'Sans,10' background '#ffffff'\n"
            "set output %s\n",
            g.w, g.h, Q(&g, tmp[0]));
    fwrite(g.bbuf, 1, g.blen, sf);
    fprintf(sf,
            "set output\nset terminal svg size %d,%d dynamic enhanced font 'Sans,10' "
            "background '#ffffff'\nset output %s\n",
            g.w, g.h, Q(&g, tmp[1]));
    fwrite(g.bbuf, 1, g.blen, sf);
    fprintf(sf, "set output\n");
    if (fclose(sf) != 0) {
        sf = NULL;
        rc = util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
        goto done;
    }
    sf = NULL;
    if (g.bad) { /* the output path itself could not be quoted */
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: %s", name, g.qerr);
        goto done;
    }
    if ((rc = plot_gnuplot_run(c->o.gnuplot, script, slen, err, errlen))) {
        char e2[UTIL_ERRLEN];
        snprintf(e2, sizeof e2, "%s: %s", name, err);
        snprintf(err, errlen, "%s", e2);
        goto done;
    }
    for (int k = 0; k < 2; k++) {
        struct stat st;
        if (stat(tmp[k], &st) != 0 || st.st_size == 0) {
            rc = util_err(err, errlen, UTIL_EEXTERNAL, "%s: gnuplot wrote no %s", name,
                          k ? "SVG" : "PNG");
            goto done;
        }
        if (sync_file(tmp[k]) != 0) {
            rc = util_err(err, errlen, UTIL_EIO, "%s: %s", tmp[k], strerror(errno));
            goto done;
        }
    }
    for (int k = 0; k < 2; k++)
        if (rename(tmp[k], fin[k]) != 0) {
            rc = util_err(err, errlen, UTIL_EIO, "cannot rename %s to %s: %s", tmp[k], fin[k],
                          strerror(errno));
            goto done;
        }
    have_tmp = 0;
done:
    if (have_tmp) {
        unlink(tmp[0]);
        unlink(tmp[1]);
    }
    if (sf) fclose(sf);
    free(script);
    if (g.data) fclose(g.data);
    if (g.body) fclose(g.body);
    free(g.dbuf);
    free(g.bbuf);
    return rc;
}

int plot_figure(store *s, const char *sweep, const char *name, const char *outdir,
                const plot_opts *o, char *msg, size_t msglen, char *err, size_t errlen) {
    plot_ctx *c = NULL;
    int rc = plot_ctx_open(&c, s, sweep, o, err, errlen);
    if (rc) return rc;
    rc = plot_ctx_figure(c, name, outdir, msg, msglen, err, errlen);
    plot_ctx_free(c);
    return rc;
}
