/*
 * plot_sweeps.c — several sweeps side by side (issue 17): each fitted on its
 * own through its plot context (the fits its own report shows), a and b per
 * approach with intervals, tokens per parameter at each sweep's largest
 * budget, one gnuplot figure overlaying the sweeps' N_opt(C) frontiers and
 * IsoFLOP minima (compare.png, compare.svg), and an HTML page around them.
 * Does not print.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

/* The largest budget of the fitted runs (as the report's headline reads it). */
static double largest(const fit_data *d) {
    double C = 0, Cb = 0;
    for (int i = 0; i < d->nruns; i++) {
        double f = fit_run_flops(&d->runs[i], FIT_PARAMS_TOTAL, MODEL_FLOPS_CHINCHILLA);
        if (isfinite(d->runs[i].budget) && d->runs[i].budget > Cb) Cb = d->runs[i].budget;
        if (isfinite(f) && f > C) C = f;
    }
    return Cb > 0 ? Cb : C;
}

static void fill_row(plot_ctx *c, plot_compare_row *r) {
    snprintf(r->sweep, sizeof r->sweep, "%.255s", c->sweep); /* names are short */
    r->nruns = c->d.nruns;
    r->Cmax = largest(&c->d);
    for (int k = 0; k < 3; k++) {
        int w = PLOT_FIT_A1 + k;
        r->rc[k] = plot__fit(c, w);
        r->tpp[k] = r->tpp_lo[k] = r->tpp_hi[k] = NAN;
        if (r->rc[k]) {
            snprintf(r->why[k], sizeof r->why[k], "%.255s", c->why[w]); /* a line's worth */
            continue;
        }
        const fit_frontier *f2 = k == 0 ? c->a1 : k == 1 ? c->a2 : NULL;
        const fit_approach3 *f3 = k == 2 ? c->a3 : NULL;
        r->a[k] = f3 ? f3->a : f2->a;
        r->b[k] = f3 ? f3->b : f2->b;
        fit_prediction p;
        if (r->Cmax > 0 && fit_predict_fits(f2, f3, r->Cmax, &p) == 0) {
            r->tpp[k] = p.tpp.est;
            r->tpp_lo[k] = p.tpp.lo;
            r->tpp_hi[k] = p.tpp.hi;
        }
    }
}

/* The gnuplot script of the overlay: per sweep, its frontier (approach 3,
 * else 2, else 1) over its own runs' compute range widened tenfold, and the
 * IsoFLOP minima of approach 2 (else 1). 0 rows drawn: PLOT_SKIPPED. */
static int compare_script(plot_ctx **cs, int n, const char *outdir, char **script, size_t *len,
                          char *msg, size_t msglen, char *err, size_t errlen) {
    FILE *f = open_memstream(script, len);
    if (!f) return util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
    char plots[8192] = "";
    size_t pl = 0;
    int drawn = 0;
    static const char *const colour[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                         "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    fprintf(f, "set encoding utf8\n");
    for (int i = 0; i < n; i++) {
        plot_ctx *c = cs[i];
        int w = !plot__fit(c, PLOT_FIT_A3)   ? PLOT_FIT_A3
                : !plot__fit(c, PLOT_FIT_A2) ? PLOT_FIT_A2
                : !plot__fit(c, PLOT_FIT_A1) ? PLOT_FIT_A1
                                             : -1;
        if (w < 0) continue;
        double hi = largest(&c->d) * 10, lo = hi / 1e3;
        const fit_frontier *f2 = w == PLOT_FIT_A1 ? c->a1 : w == PLOT_FIT_A2 ? c->a2 : NULL;
        const fit_approach3 *f3 = w == PLOT_FIT_A3 ? c->a3 : NULL;
        fprintf(f, "$f%d << EOD\n", i);
        int rows = 0;
        for (int k = 0; k < 40 && hi > 0; k++) {
            double C = lo * pow(hi / lo, k / 39.0), N, D, L;
            if (f3)
                fit_approach3_optimal(f3, C, &N, &D, &L);
            else
                N = f2->kN.est * pow(C, f2->a.est);
            if (isfinite(N) && N > 0) fprintf(f, "%.9g %.9g\n", C, N), rows++;
        }
        fprintf(f, "EOD\n");
        if (!rows) continue;
        const fit_frontier *opt = !plot__fit(c, PLOT_FIT_A2)   ? c->a2
                                  : !plot__fit(c, PLOT_FIT_A1) ? c->a1
                                                               : NULL;
        fprintf(f, "$o%d << EOD\n", i);
        for (int k = 0; opt && k < opt->pts.n; k++)
            fprintf(f, "%.9g %.9g\n", opt->pts.C[k], opt->pts.N[k]);
        fprintf(f, "EOD\n");
        char title[300], q[700];
        const fit_val a = f3 ? f3->a : f2->a;
        snprintf(title, sizeof title, "%s: %s, a = %.3f", c->sweep,
                 w == PLOT_FIT_A3   ? "approach 3"
                 : w == PLOT_FIT_A2 ? "approach 2"
                                    : "approach 1",
                 a.est);
        if (plot_gp_quote(title, q, sizeof q, err, errlen)) {
            fclose(f);
            return UTIL_EINVAL;
        }
        pl += (size_t)snprintf(plots + pl, sizeof plots - pl,
                               "%s$f%d u 1:2 w l lw 2 lc rgb '%s' t %s", pl ? ", " : "", i,
                               colour[i % 8], q);
        if (opt && opt->pts.n)
            pl += (size_t)snprintf(plots + pl, sizeof plots - pl,
                                   ", $o%d u 1:2 w p pt 7 ps 1.3 lc rgb '%s' t 'IsoFLOP minima'", i,
                                   colour[i % 8]);
        drawn++;
    }
    if (!drawn) {
        fclose(f);
        snprintf(msg, msglen, "no sweep has a Chinchilla frontier to draw");
        return PLOT_SKIPPED;
    }
    char png[4200], svg[4200], qp[9000], qs[9000];
    snprintf(png, sizeof png, "%s/compare.png", outdir);
    snprintf(svg, sizeof svg, "%s/compare.svg", outdir);
    if (plot_gp_quote(png, qp, sizeof qp, err, errlen) ||
        plot_gp_quote(svg, qs, sizeof qs, err, errlen)) {
        fclose(f);
        return UTIL_EINVAL;
    }
    const char *body = "set logscale xy\nset grid\nset key top left\n"
                       "set xlabel 'compute C (FLOPs)'\nset ylabel 'N_{opt} (parameters)'\n"
                       "set title 'Compute-optimal model size: the sweeps compared'\n";
    fprintf(f,
            "set terminal pngcairo size 1000,700 enhanced font 'Sans,10' background '#ffffff'\n"
            "set output %s\n%splot %s\nset output\n"
            "set terminal svg size 1000,700 dynamic enhanced font 'Sans,10' "
            "background '#ffffff'\nset output %s\n%splot %s\nset output\n",
            qp, body, plots, qs, body, plots);
    if (fclose(f)) return util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
    return 0;
}

static void cell(FILE *fp, fit_val v, int positive) {
    char why[160];
    fprintf(fp, "<td class=\"n\">%.3f", v.est);
    if (fit_interval_degenerate(v.est, v.lo, v.hi, positive, why, sizeof why)) {
        char *colon = strchr(why, ':');
        if (colon) *colon = 0;
        fprintf(fp, " [interval n/a: %s]", why);
    } else if (isfinite(v.lo) && isfinite(v.hi)) {
        fprintf(fp, " [%.3f, %.3f]", v.lo, v.hi);
    }
    fprintf(fp, "</td>");
}

static int compare_html(const char *outdir, const plot_compare_row *rows, int n, int fig_rc,
                        const char *msg, char *err, size_t errlen) {
    char path[4200];
    util_afile *af = NULL;
    snprintf(path, sizeof path, "%s/index.html", outdir);
    int rc = util_afile_open(&af, path, err, errlen);
    if (rc) return rc;
    FILE *fp = util_afile_fp(af);
    fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>scaling report: sweeps compared</title>\n<style>body{font-family:"
                "system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em}"
                "table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.3em .7em}"
                "td.n{text-align:right}</style>\n</head>\n<body>\n<h1>Sweeps compared:");
    for (int i = 0; i < n; i++) {
        fprintf(fp, "%s <code>", i ? "," : "");
        plot_html_escape(fp, rows[i].sweep);
        fprintf(fp, "</code>");
    }
    fprintf(fp, "</h1>\n<h2 id=\"answer\">Answer</h2>\n<p>Each sweep fitted on its own (95%% "
                "bootstrap intervals); tokens per parameter at each sweep's largest budget.</p>\n"
                "<table><tr><th>sweep</th><th>runs</th><th>approach</th><th>a</th><th>b</th>"
                "<th>tokens per parameter</th><th>at C (FLOPs)</th></tr>\n");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            const plot_compare_row *r = &rows[i];
            fprintf(fp, "<tr><td>");
            plot_html_escape(fp, r->sweep);
            fprintf(fp, "</td><td class=\"n\">%d</td><td>approach %d</td>", r->nruns, k + 1);
            if (r->rc[k]) {
                fprintf(fp, "<td colspan=\"4\">not fitted: ");
                plot_html_escape(fp, r->why[k]);
                fprintf(fp, "</td></tr>\n");
                continue;
            }
            cell(fp, r->a[k], 0);
            cell(fp, r->b[k], 0);
            fit_val t = {r->tpp[k], r->tpp_lo[k], r->tpp_hi[k], 0, 0};
            cell(fp, t, 1);
            fprintf(fp, "<td class=\"n\">%.3g</td></tr>\n", r->Cmax);
        }
    fprintf(fp, "</table>\n");
    if (fig_rc == 0)
        fprintf(fp, "<figure><img src=\"compare.svg\" alt=\"frontiers compared\"></figure>\n");
    else {
        fprintf(fp, "<p>No figure: ");
        plot_html_escape(fp, msg);
        fprintf(fp, "</p>\n");
    }
    fprintf(fp, "<p>Each sweep's own report: <code>scaling report --sweep NAME</code>.</p>\n"
                "</body>\n</html>\n");
    return util_afile_commit(af, err, errlen);
}

int plot_compare(store *s, const char *const *sweeps, int n, const plot_opts *o, const char *outdir,
                 int html, plot_compare_row *rows, int *fig_rc, char *msg, size_t msglen, char *err,
                 size_t errlen) {
    plot_ctx *cs[PLOT_COMPARE_MAX] = {NULL};
    char *script = NULL;
    size_t slen = 0;
    int rc = 0;
    if (fig_rc) *fig_rc = PLOT_SKIPPED;
    if (msg && msglen) msg[0] = 0;
    if (n < 1 || n > PLOT_COMPARE_MAX)
        return util_err(err, errlen, UTIL_EINVAL, "compare: %d sweeps; expected 1 to %d", n,
                        PLOT_COMPARE_MAX);
    for (int i = 0; i < n && !rc; i++)
        rc = plot_ctx_open(&cs[i], s, sweeps[i], o, err, errlen);
    if (rc) goto done;
    for (int i = 0; i < n; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        fill_row(cs[i], &rows[i]);
    }
    if (!outdir) goto done;
    if ((rc = util_mkdirs(outdir, err, errlen))) goto done;
    int fr = compare_script(cs, n, outdir, &script, &slen, msg, msglen, err, errlen);
    if (fr < 0) {
        rc = fr;
        goto done;
    }
    if (fr == 0 && (rc = plot_gnuplot_run(o ? o->gnuplot : NULL, script, slen, err, errlen)))
        goto done;
    if (fig_rc) *fig_rc = fr;
    if (html) rc = compare_html(outdir, rows, n, fr, msg, err, errlen);
done:
    free(script);
    for (int i = 0; i < n; i++)
        plot_ctx_free(cs[i]);
    return rc;
}
