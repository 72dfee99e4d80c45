/*
 * plot_script.c — building and running a figure's gnuplot script: quoting,
 * axes, colour scales and titles; the datablocks several figures share
 * (curves, final results, power laws, frontiers, optima); and the atomic
 * writing of DIR/NAME.png and DIR/NAME.svg. The figures themselves are in
 * plot_kaplan.c, plot_chinchilla.c and plot_compare.c.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fit_internal.h"
#include "plot_internal.h"

/* ---- Script building -------------------------------------------------------- */

/* The gnuplot literal of s (valid until 8 more calls). */
const char *plot__q(plot_gp *g, const char *s) {
    char *b = g->qbuf[g->qi++ % 8];
    if (plot_gp_quote(s, b, sizeof g->qbuf[0], g->bad ? NULL : g->qerr, sizeof g->qerr) < 0) {
        g->bad = 1;
        strcpy(b, "''");
    }
    return b;
}

/* printf into a small static-free buffer and quote it: plot__qf(g, buf, "%s", x) */
const char *plot__qf(plot_gp *g, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return plot__q(g, tmp);
}

/* A fit value as text: "0.076 [0.070, 0.082]", or "0.076" without interval. */
const char *plot__fv(char *buf, size_t n, fit_val v, const char *numfmt) {
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
const char *const plot__palette =
    "set palette defined (0 '#440154', 0.2 '#414487', 0.4 '#2a788e', 0.6 '#22a884', "
    "0.8 '#7ad151', 1 '#bddf26')\n";
static const char *const PALETTE_LIGHT =
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
static void log_tics(plot_gp *g, const char *ax, double lo, double hi) {
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
        fprintf(g->body, "%s%s %.9g", i ? ", " : "", plot__q(g, lab), v[i]);
    }
    fprintf(g->body, ")\n");
}

/* The colour scale: log of x over [lo, hi], labelled. */
void plot__colour_scale(plot_gp *g, double lo, double hi, const char *label, int light) {
    if (!(hi > lo)) lo /= 1.5, hi *= 1.5;
    fprintf(g->body, "%sset logscale cb\nset cbrange [%.6g:%.6g]\nset cblabel %s\n",
            light ? PALETTE_LIGHT : plot__palette, lo, hi, plot__q(g, label));
    log_tics(g, "cb", lo, hi);
    fprintf(g->body, "set rmargin 14\n"); /* room for the colour bar's tics and label */
}

void plot__logaxis(plot_gp *g, const char *ax, double lo, double hi) {
    fprintf(g->body, "set logscale %s\nset format %s %s\n", ax, ax,
            plot__q(g, isfinite(lo) && isfinite(hi) && hi > lo ? logfmt(lo, hi) : "10^{%L}"));
}

/* A loss axis (log, as in the papers) over [lo, hi] padded a little. Losses
 * span less than a decade, where gnuplot's log tics would be bare powers of
 * ten outside the range, so tics are placed at round linear steps. */
void plot__loss_axis(plot_gp *g, const char *ax, double lo, double hi) {
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

void plot__panel_common(plot_gp *g) {
    fprintf(g->body, "set grid xtics ytics mxtics mytics lc rgb '#e0e0e0' lw 1\n"
                     "set key top right box opaque samplen 2 spacing 1.1 font ',9'\n"
                     "set border lw 1\n");
}

void plot__panel_by_size(plot_gp *g, double lo, double hi, const char *label, int light, int bar) {
    fprintf(g->body, "reset\n");
    plot__panel_common(g);
    plot__colour_scale(g, lo, hi, label, light);
    if (!bar) fprintf(g->body, "unset colorbox\nset rmargin\n");
}

/* Figure title with the sweep name (from the database, hence quoted and
 * noenhanced so that '_' and '^' in it are printed as they are). */
void plot__title(plot_gp *g, plot_ctx *c, const char *what, int multiplot, int rows, int cols) {
    char t[512];
    snprintf(t, sizeof t, "%s — %s%s", what, c->sweep[0] ? "sweep " : "all runs", c->sweep);
    for (char *p = t; *p; p++) /* a title is only shown: control characters become '?' */
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    if (multiplot)
        fprintf(g->body, "set multiplot layout %d,%d title %s noenhanced font ',12'\n", rows, cols,
                plot__q(g, t));
    else
        fprintf(g->body, "set title %s noenhanced font ',12'\n", plot__q(g, t));
}

/* ---- Data blocks ----------------------------------------------------------- */

static void span_init(plot_span *s) {
    s->runs = s->points = 0;
    s->Nlo = s->Clo = s->Llo = s->Dlo = INFINITY;
    s->Nhi = s->Chi = s->Lhi = s->Dhi = -INFINITY;
}

static void span_add(plot_span *s, double N, double D, double C, double L) {
    if (N < s->Nlo) s->Nlo = N;
    if (N > s->Nhi) s->Nhi = N;
    if (D < s->Dlo) s->Dlo = D;
    if (D > s->Dhi) s->Dhi = D;
    if (C < s->Clo) s->Clo = C;
    if (C > s->Chi) s->Chi = C;
    if (L < s->Llo) s->Llo = L;
    if (L > s->Lhi) s->Lhi = L;
}

int plot__pos(double x) {
    return isfinite(x) && x > 0;
}

/* $name: learning curves, one block per run (blank line between):
 * columns 1 tokens, 2 FLOPs, 3 PF-days, 4 loss, 5 N. */
void plot__write_curves(plot_gp *g, plot_ctx *c, const char *name, const fit_opts *o,
                        plot_span *sp) {
    span_init(sp);
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < c->d.nruns; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params);
        int n = 0;
        for (int k = 0; k < r->ncurve; k++) {
            double t = r->curve_tokens[k], L = r->curve_loss[k];
            double C = fit_run_flops_at(r, o->params, o->flops, t);
            if (!plot__pos(t) || !plot__pos(L) || !plot__pos(C) || !plot__pos(N)) continue;
            fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g\n", t, C, C / PLOT_PFDAY, L, N);
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
int plot__on_kaplan_law(const plot_ctx *c, const fit_opts *o, int i, int which) {
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

int plot__write_finals(plot_gp *g, plot_ctx *c, const char *name, const fit_opts *o,
                       plot_span *sp) {
    int n = 0;
    span_init(sp);
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < c->d.nruns; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params), C = fit_run_flops(r, o->params, o->flops);
        if (!plot__pos(N) || !plot__pos(r->tokens) || !plot__pos(C) || !plot__pos(r->loss))
            continue;
        fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g %.9g %.9g %d %d\n", N, r->tokens, C,
                C / PLOT_PFDAY, r->loss, fit_run_best_loss(r), r->unique_tokens,
                plot__on_kaplan_law(c, o, i, 0), plot__on_kaplan_law(c, o, i, 1));
        span_add(sp, N, r->tokens, C, r->loss);
        span_add(sp, N, r->unique_tokens > 0 ? r->unique_tokens : r->tokens, C,
                 fit_run_best_loss(r));
        n++;
    }
    fprintf(g->data, "EOD\n");
    return n;
}

/* Kaplan's single-variable law L(X) = E + (Xc/X)^alpha at x. */
double plot__powerlaw(const fit_powerlaw *p, double x) {
    double E = isfinite(p->E.est) ? p->E.est : 0;
    return E + pow(p->Xc.est / x, p->alpha.est);
}

/* $name: n log-spaced x in [lo, hi] with y = law(x), x written times xscale. */
void plot__write_powerlaw(plot_gp *g, const char *name, const fit_powerlaw *p, double lo, double hi,
                          double xscale) {
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < 100; i++) {
        double x = lo * pow(hi / lo, i / 99.0);
        double y = plot__powerlaw(p, x);
        if (plot__pos(y)) fprintf(g->data, "%.9g %.9g\n", x * xscale, y);
    }
    fprintf(g->data, "EOD\n");
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
int plot__write_frontier(plot_gp *g, const char *name, const fit_frontier *fr,
                         const fit_approach3 *a3, double lo, double hi, int *rows) {
    int ns = fr ? fr->nsamples : a3->nsamples, band = 0;
    *rows = 0;
    double *vn = malloc((ns ? ns : 1) * sizeof *vn), *vd = malloc((ns ? ns : 1) * sizeof *vd);
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
            } else { /* a draw (E, A, B, alpha, beta) with the fit's own count */
                fit_approach3_optimal_at(a3->samples[s], &a3->count, C, &n_, &d_, &L);
            }
            if (plot__pos(n_) && plot__pos(d_)) vn[k] = n_, vd[k] = d_, k++;
        }
        pct_band(vn, k, &nlo, &nhi);
        pct_band(vd, k, &dlo, &dhi);
        if (isfinite(nlo))
            band = 1;
        else
            nlo = nhi = N, dlo = dhi = D;
        if (plot__pos(N) && plot__pos(D)) {
            fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g %.9g %.9g\n", C, N, D, nlo, nhi, dlo, dhi);
            (*rows)++;
        }
    }
    fprintf(g->data, "EOD\n");
    free(vn);
    free(vd);
    return band;
}

/* $name: the optima of approach 1 or 2: 1 C, 2 N, 3 D, 4 L, 5 1 if the
 * minimum lies outside the sampled sizes (approach 2). */
void plot__write_optima(plot_gp *g, const char *name, const fit_optima *p) {
    fprintf(g->data, "%s << EOD\n", name);
    for (int i = 0; i < p->n; i++)
        if (plot__pos(p->C[i]) && plot__pos(p->N[i]) && plot__pos(p->D[i]))
            fprintf(g->data, "%.9g %.9g %.9g %.9g %d\n", p->C[i], p->N[i], p->D[i], p->L[i],
                    p->extrapolated[i] != 0);
    fprintf(g->data, "EOD\n");
}

void plot__range_of_optima(const fit_optima *p, double *lo, double *hi) {
    for (int i = 0; i < p->n; i++)
        if (plot__pos(p->C[i])) {
            if (p->C[i] < *lo) *lo = p->C[i];
            if (p->C[i] > *hi) *hi = p->C[i];
        }
}

/* Two panels N_opt(C) and D_opt(C) for approach 1 or 2 (inside a multiplot). */
void plot__optima_panels(plot_gp *g, const fit_frontier *f, const char *tag, const char *approach) {
    char ta[200], tb[200];
    double lo = INFINITY, hi = -INFINITY;
    plot__range_of_optima(&f->pts, &lo, &hi);
    char opt[32], line[32];
    snprintf(opt, sizeof opt, "$%s_opt", tag);
    snprintf(line, sizeof line, "$%s_line", tag);
    plot__write_optima(g, opt, &f->pts);
    int rows, band = plot__write_frontier(g, line, f, NULL, lo / 2, hi * 2, &rows);
    plot__fv(ta, sizeof ta, f->a, "%.3f");
    plot__fv(tb, sizeof tb, f->b, "%.3f");
    for (int k = 0; k < 2; k++) {
        fprintf(g->body, "reset\n");
        plot__panel_common(g);
        /* bmargin 7: aligned with the first panel, whose legend is below it */
        fprintf(g->body, "set key top left\nset bmargin 7\n");
        plot__logaxis(g, "x", lo, hi);
        plot__logaxis(g, "y", 1, 1e9);
        fprintf(g->body, "set xlabel 'compute C (FLOPs)'\nset ylabel %s\nset title %s\n",
                plot__q(g, k ? "optimal tokens D_{opt} (tokens)" : "optimal parameters N_{opt}"),
                plot__qf(g, "%s: %s", approach, k ? "D_{opt}(C)" : "N_{opt}(C)"));
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
                k ? plot__qf(g, "D_{opt} ∝ C^{b}, b = %s", tb)
                  : plot__qf(g, "N_{opt} ∝ C^{a}, a = %s", ta),
                opt, k ? 3 : 2, f->pts.n > 30 ? "0.5" : "1.2",
                plot__q(g, k ? "D at the optimum" : "N at the optimum"));
    }
}

double plot__a3_loss(const fit_approach3 *f, double N, double D) {
    return f->E.est + f->A.est / pow(N, f->alpha.est) + f->B.est / pow(D, f->beta.est);
}

/* ---- Drawing a figure --------------------------------------------------------- */

typedef int (*fig_fn)(plot_ctx *c, plot_gp *g, char *msg, size_t msglen);
static const fig_fn figure_fns[] = {
    plot__fig_kaplan_fig1,        plot__fig_kaplan_curves,       plot__fig_chinchilla_envelope,
    plot__fig_chinchilla_isoflop, plot__fig_chinchilla_contours, plot__fig_frontier,
    plot__fig_residuals,
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
    plot_gp g;
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
            g.w, g.h, plot__q(&g, tmp[0]));
    fwrite(g.bbuf, 1, g.blen, sf);
    fprintf(sf,
            "set output\nset terminal svg size %d,%d dynamic enhanced font 'Sans,10' "
            "background '#ffffff'\nset output %s\n",
            g.w, g.h, plot__q(&g, tmp[1]));
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
