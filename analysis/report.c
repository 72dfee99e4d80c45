/*
 * report.c — the self-contained HTML report: DIR/index.html beside the
 * figures (DIR/NAME.svg, linked relatively; no network; one small inline
 * script sorts the runs table, the page reads the same without it). It leads
 * with the answer (issue 17): a and b per approach with intervals, tokens
 * per parameter at the largest budget, the IsoFLOP minima; then the figure
 * that fits the sweep's mode first, the sweep's plan and status, the other
 * figures, the fits beside the published values, the fits stored in the
 * database, the runs (sortable) and each run's learning curve.
 *
 * Every string that comes from the database (sweep names, labels, ids, hosts,
 * sweep files, JSON) goes through plot_html_escape. Does not print.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

/* ---- HTML helpers ----------------------------------------------------------- */

void plot_html_escape(FILE *fp, const char *s) {
    for (const char *p = s ? s : ""; *p; p++) {
        const char *e = *p == '&'    ? "&amp;"
                        : *p == '<'  ? "&lt;"
                        : *p == '>'  ? "&gt;"
                        : *p == '"'  ? "&quot;"
                        : *p == '\'' ? "&#39;"
                                     : NULL;
        if (e)
            fputs(e, fp);
        else
            fputc(*p, fp);
    }
}

#define H(s) plot_html_escape(fp, (s))

/* a number for a table cell: empty when unknown */
static void num(FILE *fp, double x, const char *fmt) {
    if (isfinite(x)) fprintf(fp, fmt, x);
}

static const char *CSS =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1700px;padding:0 1em;"
    "color:#222}\n"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\n"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}\n"
    "th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "figure{margin:1em 0 2em 0}figure img{max-width:100%;border:1px solid #eee}\n"
    "figcaption{font-size:.9em;color:#555}.skip{color:#8a5a00}.fail{color:#b00020}\n"
    "pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:20em;font-size:.8em}\n"
    ".meta{color:#666;font-size:.9em}\n"
    ".answer{font-size:1.05em}.answer td,.answer th{padding:.3em .8em}.na{color:#8a5a00}\n"
    "th.sort{cursor:pointer}svg.curve{background:#fafafa;border:1px solid #eee}\n";

/* Sorts the runs table by the clicked column (numbers as numbers). */
static const char *SORT_JS =
    "document.querySelectorAll('table.sortable th').forEach(function(th,i){"
    "th.classList.add('sort');th.title='sort';th.onclick=function(){"
    "var t=th.closest('table'),rows=Array.from(t.rows).slice(1),d=th.dataset.d=-(th.dataset.d||-1);"
    "rows.sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent,"
    "u=parseFloat(x),v=parseFloat(y);return d*(isNaN(u)||isNaN(v)?x.localeCompare(y):u-v);});"
    "rows.forEach(function(r){t.tBodies[0].appendChild(r);});};});\n";

/* ---- Sections ---------------------------------------------------------------- */

/* An estimate with its interval, or "n/a" and why when the interval is
 * degenerate (fit_interval_degenerate: the same test `scaling predict` makes). */
static void val_cell(FILE *fp, double est, double lo, double hi, int positive, const char *fmt,
                     int bootstrap) {
    char why[160];
    fprintf(fp, "<td class=\"n\">");
    num(fp, est, fmt);
    int degenerate = fit_interval_degenerate(est, lo, hi, positive, why, sizeof why);
    if (!degenerate && bootstrap > 0 && isfinite(est) && !(isfinite(lo) && isfinite(hi))) {
        snprintf(why, sizeof why,
                 "no interval: fewer than 2 of the %d bootstrap resamples could "
                 "be fitted",
                 bootstrap);
        degenerate = 1;
    }
    if (degenerate) {
        fprintf(fp, " <span class=\"na\" title=\"");
        H(why);
        char *colon = strchr(why, ':');
        if (colon) *colon = 0; /* the short phrase; the whole reason on hover */
        fprintf(fp, "\">[interval n/a: ");
        H(why);
        fprintf(fp, "]</span>");
    } else if (isfinite(lo) && isfinite(hi)) {
        fputs(" [", fp);
        num(fp, lo, fmt);
        fputs(", ", fp);
        num(fp, hi, fmt);
        fputc(']', fp);
    }
    fprintf(fp, "</td>");
}

/* The largest compute budget of the fitted runs, in Chinchilla FLOPs: the
 * IsoFLOP budget where there is one, else tokens x FLOPs per token (as
 * `scaling predict --sweep` reads it). 0 when there is no run. */
static double largest_budget(const fit_data *d) {
    double C = 0, Cb = 0;
    for (int i = 0; i < d->nruns; i++) {
        const fit_run *r = &d->runs[i];
        double f = fit_run_flops(r, FIT_PARAMS_TOTAL, MODEL_FLOPS_CHINCHILLA);
        if (isfinite(r->budget) && r->budget > Cb) Cb = r->budget;
        if (isfinite(f) && f > C) C = f;
    }
    return Cb > 0 ? Cb : C;
}

/* The held-out check: every held-out run of the sweep (holdout = true:
 * trained, never fitted), its measured loss and the loss each approach
 * predicts at its (N, D), as `scaling predict --sweep` prints it. */
static void section_holdout(FILE *fp, plot_ctx *c) {
    fit_data h = {0, NULL};
    char err[UTIL_ERRLEN];
    if (fit_load_holdout(&h, c->s, c->sweep[0] ? c->sweep : NULL, err, sizeof err)) {
        fprintf(fp, "<p class=\"meta\">Held-out check: not read: ");
        H(err);
        fprintf(fp, "</p>\n");
        return;
    }
    if (!h.nruns) {
        fprintf(fp, "<p class=\"meta\">Held-out check: none recorded for this sweep (a section "
                    "with <code>holdout = true</code> adds one).</p>\n");
        return;
    }
    fit_params p = c->chin_opts.params;
    fprintf(fp, "<p>Held-out check: runs trained but never fitted, their measured loss beside "
                "the loss each approach predicts at their (N, D) (95%% interval over the fit's "
                "bootstrap draws):</p>\n<table><tr><th>run</th><th>N</th><th>D</th>"
                "<th>measured loss</th><th>approach</th><th>predicted loss</th><th>error</th>"
                "</tr>\n");
    static const int order[3] = {PLOT_FIT_A1, PLOT_FIT_A2, PLOT_FIT_A3};
    for (int i = 0; i < h.nruns; i++) {
        const fit_run *r = &h.runs[i];
        for (int k = 0; k < 3; k++) {
            int w = order[k];
            fprintf(fp, "<tr><td>%s [", r->id);
            H(r->label);
            fprintf(fp,
                    "]</td><td class=\"n\">%.3g</td><td class=\"n\">%.3g</td>"
                    "<td class=\"n\">%.4f</td><td>%s</td>",
                    fit_run_params(r, p), r->tokens, r->loss, plot__fit_name(w));
            fit_val L;
            if (plot__fit(c, w)) {
                fprintf(fp, "<td colspan=\"2\" class=\"skip\">not fitted</td></tr>\n");
            } else if (w != PLOT_FIT_A3) {
                fprintf(fp, "<td colspan=\"2\" class=\"skip\">%s</td></tr>\n", FIT_HOLDOUT_NA);
            } else if (fit_predict_loss_fit(c->a3, fit_run_params(r, p), r->tokens, &L)) {
                fprintf(fp, "<td colspan=\"2\" class=\"skip\">out of memory</td></tr>\n");
            } else {
                val_cell(fp, L.est, L.lo, L.hi, 1, "%.4f", c->o.bootstrap);
                fprintf(fp, "<td class=\"n\">%+.2f%%</td></tr>\n",
                        100.0 * (L.est - r->loss) / r->loss);
            }
        }
    }
    fprintf(fp, "</table>\n");
    fit_data_free(&h);
}

/* The answer first: what the sweep says about compute-optimal scaling. */
static void section_headline(FILE *fp, plot_ctx *c) {
    double C = largest_budget(&c->d);
    fprintf(fp, "<section id=\"answer\" class=\"answer\"><h2>Answer</h2>\n");
    if (!c->d.nruns) {
        fprintf(fp, "<p>No finished run to fit yet.</p></section>\n");
        return;
    }
    fprintf(fp,
            "<p>Compute-optimal scaling from %d finished runs: N<sub>opt</sub> &prop; "
            "C<sup>a</sup>, D<sub>opt</sub> &prop; C<sup>b</sup> (95%% bootstrap intervals, %d "
            "resamples, seed %llu, as <code>scaling fit</code> and <code>scaling predict</code>); "
            "tokens per parameter at the largest budget, C = %.3g FLOPs.</p>\n",
            c->d.nruns, c->o.bootstrap, (unsigned long long)c->o.seed, C);
    fprintf(fp, "<table><tr><th>approach</th><th>a</th><th>b</th><th>tokens per parameter "
                "at C</th><th>N<sub>opt</sub> at C</th><th>D<sub>opt</sub> at C</th></tr>\n");
    static const int order[3] = {PLOT_FIT_A1, PLOT_FIT_A2, PLOT_FIT_A3};
    for (int k = 0; k < 3; k++) {
        int w = order[k];
        fprintf(fp, "<tr><td>%s</td>", plot__fit_name(w));
        if (plot__fit(c, w)) {
            fprintf(fp, "<td colspan=\"5\" class=\"skip\">not fitted: ");
            H(c->why[w]);
            fprintf(fp, "</td></tr>\n");
            continue;
        }
        const fit_frontier *f2 = w == PLOT_FIT_A1 ? c->a1 : w == PLOT_FIT_A2 ? c->a2 : NULL;
        const fit_approach3 *f3 = w == PLOT_FIT_A3 ? c->a3 : NULL;
        const fit_val *a = f3 ? &f3->a : &f2->a, *b = f3 ? &f3->b : &f2->b;
        fit_prediction p;
        fit_val none = {NAN, NAN, NAN, 0, NAN};
        p.N = p.D = p.tpp = none;
        if (C > 0) fit_predict_fits(f2, f3, C, &p);
        int nb = c->o.bootstrap;
        val_cell(fp, a->est, a->lo, a->hi, 0, "%.3f", nb);
        val_cell(fp, b->est, b->lo, b->hi, 0, "%.3f", nb);
        val_cell(fp, p.tpp.est, p.tpp.lo, p.tpp.hi, 1, "%.3g", nb);
        val_cell(fp, p.N.est, p.N.lo, p.N.hi, 1, "%.3g", nb);
        val_cell(fp, p.D.est, p.D.lo, p.D.hi, 1, "%.3g", nb);
        fprintf(fp, "</tr>\n");
    }
    fprintf(fp, "</table>\n");
    /* the IsoFLOP minima behind approach 2 */
    if (!plot__fit(c, PLOT_FIT_A2) && c->a2->pts.n > 0) {
        const fit_optima *p = &c->a2->pts;
        fprintf(fp, "<p>IsoFLOP minima (approach 2: a parabola in ln N per budget):</p>\n"
                    "<table><tr><th>budget C (FLOPs)</th><th>N<sub>opt</sub></th>"
                    "<th>D<sub>opt</sub></th><th>tokens per parameter</th><th>loss at the "
                    "minimum</th></tr>\n");
        for (int i = 0; i < p->n; i++)
            fprintf(fp,
                    "<tr><td class=\"n\">%.3g</td><td class=\"n\">%.3g%s</td><td "
                    "class=\"n\">%.3g</td><td class=\"n\">%.3g</td><td "
                    "class=\"n\">%.4f</td></tr>\n",
                    p->C[i], p->N[i], p->extrapolated[i] ? " (outside the sizes run)" : "", p->D[i],
                    p->D[i] / p->N[i], p->L[i]);
        fprintf(fp, "</table>\n");
    }
    section_holdout(fp, c);
    fprintf(fp, "</section>\n");
}

/* The end of a table row: three text cells, then two cells whose long text
 * (a sweep file, JSON) is folded under a summary; the caller opened <tr>. */
static void row_end(FILE *fp, const char *const text[3], const char *const summary[2],
                    const char *const folded[2]) {
    for (int k = 0; k < 3; k++) {
        fprintf(fp, "<td>");
        H(text[k]);
        fprintf(fp, "</td>");
    }
    for (int k = 0; k < 2; k++) {
        fprintf(fp, "<td><details><summary>%s</summary><pre>", summary[k]);
        H(folded[k]);
        fprintf(fp, "</pre></details></td>");
    }
    fprintf(fp, "</tr>\n");
}

static int section_plan(FILE *fp, plot_ctx *c, char *err, size_t errlen) {
    store_sweep_row *sw = NULL;
    int rc = 0, n = 0;
    fprintf(fp, "<h2 id=\"plan\">Plan and status</h2>\n");
    if ((rc = store_read_sweeps(c->s, c->sweep[0] ? c->sweep : NULL, &sw, &n, err, errlen)))
        goto done;
    for (int i = 0; i < n; i++) {
        if (!i)
            fprintf(fp, "<table><tr><th>sweep</th><th>mode</th><th>created</th>"
                        "<th>sweep file</th><th>plan</th></tr>\n");
        fprintf(fp, "<tr>");
        row_end(fp, (const char *[3]){sw[i].name, sw[i].mode, sw[i].created},
                (const char *[2]){"file", "plan"},
                (const char *[2]){sw[i].file_text, sw[i].plan_json});
    }
    if (n)
        fprintf(fp, "</table>\n");
    else
        fprintf(fp, "<p>No sweep recorded%s.</p>\n", c->sweep[0] ? " under this name" : "");

    int64_t counts[STORE_NSTATUS], total = 0;
    if ((rc = store_sweep_counts(c->s, c->sweep[0] ? c->sweep : NULL, counts, err, errlen)))
        goto done;
    fprintf(fp, "<table><tr>");
    for (int i = 0; i < STORE_NSTATUS; i++)
        fprintf(fp, "<th>%s</th>", store_status_name(i));
    fprintf(fp, "<th>total</th></tr>\n<tr>");
    for (int i = 0; i < STORE_NSTATUS; i++) {
        fprintf(fp, "<td class=\"n\">%lld</td>", (long long)counts[i]);
        total += counts[i];
    }
    fprintf(fp, "<td class=\"n\">%lld</td></tr></table>\n", (long long)total);
    fprintf(fp,
            "<p class=\"meta\">%d finished runs with %s learning curves are plotted and "
            "fitted.</p>\n",
            c->d.nruns, c->d.nruns == 1 ? "its" : "their");
done:
    store_sweep_rows_free(sw, n);
    return rc;
}

/* The figures; with only = a figure's index, that one alone (the lead
 * figure under the answer), with skip = its index, all the others. */
static void section_figures(FILE *fp, const plot_result *res, int only, int skip) {
    if (only < 0) fprintf(fp, "<h2 id=\"figures\">Figures</h2>\n");
    for (int i = 0; i < plot_figure_count; i++) {
        if ((only >= 0 && i != only) || i == skip) continue;
        const plot_result *r = &res[i];
        if (r->rc == 0) {
            fprintf(fp,
                    "<figure id=\"fig-%s\"><a href=\"%s.png\"><img src=\"%s.svg\" alt=\"%s\"></a>"
                    "<figcaption><b>%s</b> (<a href=\"%s.svg\">SVG</a>, "
                    "<a href=\"%s.png\">PNG</a>)",
                    r->name, r->name, r->name, r->name, r->name, r->name, r->name);
            if (r->msg[0]) {
                fprintf(fp, " — note: ");
                H(r->msg);
            }
            fprintf(fp, "</figcaption></figure>\n");
        } else {
            fprintf(fp, "<p class=\"%s\" id=\"fig-%s\"><b>%s</b> %s: ",
                    r->rc == PLOT_SKIPPED ? "skip" : "fail", r->name, r->name,
                    r->rc == PLOT_SKIPPED ? "skipped" : "failed");
            H(r->msg);
            fprintf(fp, "</p>\n");
        }
    }
}

/* One fits-table row: law, quantity, estimate, interval, published values. */
static void fit_row(FILE *fp, const char *law, const char *key, const char *label, fit_val v,
                    const char *fmt) {
    fprintf(fp, "<tr><td>%s</td><td>%s</td><td class=\"n\">", law, label);
    num(fp, v.est, fmt);
    fprintf(fp, "</td><td class=\"n\">");
    if (isfinite(v.lo) && isfinite(v.hi)) {
        fputc('[', fp);
        num(fp, v.lo, fmt);
        fputs(", ", fp);
        num(fp, v.hi, fmt);
        fputc(']', fp);
    }
    fprintf(fp, "</td><td>");
    int n = 0;
    for (int i = 0; i < fit_published_count; i++) {
        const fit_published *p = &fit_published_values[i];
        if (strcmp(p->what, key)) continue;
        if (n++) fputs("<br>", fp);
        fprintf(fp, fmt, p->value);
        fputs(" (", fp);
        H(p->source);
        fputs(")", fp);
    }
    fprintf(fp, "</td></tr>\n");
}

static void section_fits(FILE *fp, plot_ctx *c) {
    fprintf(fp,
            "<h2 id=\"fits\">Fits</h2>\n<p class=\"meta\">Point estimates with 95%% "
            "bootstrap intervals over runs (%d resamples); Kaplan laws count non-embedding "
            "parameters, the Chinchilla approaches total parameters. C in FLOPs, D in "
            "tokens, L in nats/token.</p>\n",
            c->o.bootstrap);
    fprintf(fp, "<table><tr><th>law</th><th>quantity</th><th>ours</th><th>95%% interval</th>"
                "<th>published</th></tr>\n");
    for (int w = 0; w < PLOT_NFITS; w++) {
        if (plot__fit(c, w)) {
            fprintf(fp, "<tr><td>%s</td><td colspan=\"4\" class=\"skip\">not fitted: ",
                    plot__fit_name(w));
            H(c->why[w]);
            fprintf(fp, "</td></tr>\n");
            continue;
        }
        if (w == PLOT_FIT_KAPLAN) {
            const fit_kaplan *k = &c->kap;
            const char *L = "Kaplan L(N)";
            fit_row(fp, L, "kaplan.LN.alpha", "α<sub>N</sub>", k->LN.alpha, "%.4g");
            fit_row(fp, L, "kaplan.LN.Xc", "N<sub>c</sub>", k->LN.Xc, "%.3g");
            if (isfinite(k->LN.E.est) && (k->LN.E.est != 0 || isfinite(k->LN.E.lo)))
                fit_row(fp, L, "kaplan.LN.E", "E", k->LN.E, "%.4g");
            if (k->have_LD) {
                fit_row(fp, "Kaplan L(D)", "kaplan.LD.alpha", "α<sub>D</sub>", k->LD.alpha, "%.4g");
                fit_row(fp, "Kaplan L(D)", "kaplan.LD.Xc", "D<sub>c</sub>", k->LD.Xc, "%.3g");
            }
            fit_row(fp, "Kaplan L(C<sub>min</sub>)", "kaplan.LC.alpha", "α<sub>C</sub>",
                    k->LC.alpha, "%.4g");
            fit_row(fp, "Kaplan L(C<sub>min</sub>)", "kaplan.LC.Xc", "C<sub>c</sub> (FLOPs)",
                    k->LC.Xc, "%.3g");
            if (k->have_joint) {
                fit_row(fp, "Kaplan L(N, D)", "kaplan.joint.aN", "α<sub>N</sub>", k->aN, "%.4g");
                fit_row(fp, "Kaplan L(N, D)", "kaplan.joint.aD", "α<sub>D</sub>", k->aD, "%.4g");
                fit_row(fp, "Kaplan L(N, D)", "kaplan.joint.Nc", "N<sub>c</sub>", k->Nc, "%.3g");
                fit_row(fp, "Kaplan L(N, D)", "kaplan.joint.Dc", "D<sub>c</sub>", k->Dc, "%.3g");
            }
        } else if (w == PLOT_FIT_A1 || w == PLOT_FIT_A2) {
            const fit_frontier *f = w == PLOT_FIT_A1 ? c->a1 : c->a2;
            const char *L = w == PLOT_FIT_A1 ? "approach 1" : "approach 2";
            const char *ka = w == PLOT_FIT_A1 ? "approach1.a" : "approach2.a";
            const char *kb = w == PLOT_FIT_A1 ? "approach1.b" : "approach2.b";
            fit_row(fp, L, ka, "a (N<sub>opt</sub> ∝ C<sup>a</sup>)", f->a, "%.4g");
            fit_row(fp, L, kb, "b (D<sub>opt</sub> ∝ C<sup>b</sup>)", f->b, "%.4g");
            fit_row(fp, L, "-", "k<sub>N</sub>", f->kN, "%.3g");
            fit_row(fp, L, "-", "k<sub>D</sub>", f->kD, "%.3g");
        } else {
            const fit_approach3 *f = c->a3;
            const char *L = "approach 3";
            fit_row(fp, L, "approach3.E", "E", f->E, "%.4g");
            fit_row(fp, L, "approach3.A", "A", f->A, "%.4g");
            fit_row(fp, L, "approach3.B", "B", f->B, "%.4g");
            fit_row(fp, L, "approach3.alpha", "α", f->alpha, "%.4g");
            fit_row(fp, L, "approach3.beta", "β", f->beta, "%.4g");
            fit_row(fp, L, "approach3.a", "a (N<sub>opt</sub> ∝ C<sup>a</sup>)", f->a, "%.4g");
            fit_row(fp, L, "approach3.b", "b (D<sub>opt</sub> ∝ C<sup>b</sup>)", f->b, "%.4g");
            fit_row(fp, L, "approach3.G", "G", f->G, "%.4g");
        }
    }
    fprintf(fp, "</table>\n");
    for (int w = 0; w < PLOT_NFITS; w++) {
        const char *warn = w == PLOT_FIT_KAPLAN ? c->kap.warning
                           : w == PLOT_FIT_A1   ? (c->a1 ? c->a1->warning : "")
                           : w == PLOT_FIT_A2   ? (c->a2 ? c->a2->warning : "")
                                                : (c->a3 ? c->a3->warning : "");
        if (c->rc[w] == 0 && warn[0]) {
            fprintf(fp, "<p class=\"skip\">%s: ", plot__fit_name(w));
            H(warn);
            fprintf(fp, "</p>\n");
        }
    }
}

/* Approach 3's runs outside its domain, with the reason each was left out. */
static void a3_excluded(FILE *fp, plot_ctx *c) {
    const fit_approach3 *f = c->a3;
    if (!f || c->rc[PLOT_FIT_A3] || !f->nexcluded) return;
    fprintf(fp,
            "<p class=\"meta\">Chinchilla approach 3 left out %d run%s outside its domain "
            "(at least 1 token per parameter, 10&times; the warm-up, at most 4 epochs):</p>\n"
            "<table><tr><th>run</th><th>reason</th></tr>\n",
            f->nexcluded, f->nexcluded == 1 ? "" : "s");
    for (int i = 0; i < f->nexcluded && i < FIT_MAX_EXCLUDED; i++) {
        fprintf(fp, "<tr><td><code>");
        H(f->excluded[i].run);
        fprintf(fp, "</code></td><td>");
        H(f->excluded[i].reason);
        fprintf(fp, "</td></tr>\n");
    }
    fprintf(fp, "</table>\n");
}

/* An exponent with its interval in a cell: "0.574 [0.563, 0.580]". */
static void sys_val(FILE *fp, fit_val v) {
    fprintf(fp, "<td class=\"n\">");
    num(fp, v.est, "%.3f");
    if (isfinite(v.lo) && isfinite(v.hi)) {
        fputs(" [", fp);
        num(fp, v.lo, "%.3f");
        fputs(", ", fp);
        num(fp, v.hi, "%.3f");
        fputc(']', fp);
    }
    if (v.flags & FIT_UNIDENTIFIED) fputs(" (not identified)", fp);
    fprintf(fp, "</td>");
}

/* The systematic table (fit_systematic_table): a and b under each choice made
 * before fitting, beside the intervals. */
static void section_systematic(FILE *fp, plot_ctx *c) {
    char err[UTIL_ERRLEN];
    fit_systematic *t = malloc(sizeof *t);
    fprintf(fp,
            "<h2 id=\"systematic\">Systematic table</h2>\n<p class=\"meta\">a "
            "(N<sub>opt</sub> &prop; C<sup>a</sup>) and b (D<sub>opt</sub> &prop; "
            "C<sup>b</sup>) under each choice made before fitting, with 95%% intervals of "
            "%d bootstrap draws. Approach 3 under the chinchilla and actual counts: its "
            "frontier's mean slopes between the runs' smallest and largest compute "
            "(docs/fit.md).</p>\n",
            c->chin_opts.bootstrap);
    if (!t || fit_systematic_table(&c->d, &c->chin_opts, t, err, sizeof err)) {
        fprintf(fp, "<p class=\"skip\">not computed: ");
        H(t ? err : "out of memory");
        fprintf(fp, "</p>\n");
        free(t);
        return;
    }
    fprintf(fp, "<table><tr><th>N</th><th>C</th><th>estimator</th><th>a</th><th>b</th>"
                "<th>runs</th></tr>\n");
    for (int i = 0; i < t->n; i++) {
        const fit_sys_cell *x = &t->cell[i];
        fprintf(fp, "<tr><td>%s</td><td>%s</td><td>%s</td>",
                x->params == FIT_PARAMS_NONEMB ? "non-embedding" : "total",
                model_flops_name(x->flops), fit_sys_estimator_name(x->estimator));
        if (x->error[0]) {
            fprintf(fp, "<td colspan=\"3\" class=\"skip\">not fitted: ");
            H(x->error);
            fprintf(fp, "</td></tr>\n");
            continue;
        }
        sys_val(fp, x->a);
        sys_val(fp, x->b);
        fprintf(fp, "<td class=\"n\">%d</td></tr>\n", x->nruns);
    }
    double da, db;
    fit_systematic_spread(t, &da, &db);
    fprintf(fp, "</table>\n<p class=\"meta\">Spread over the choices (largest &minus; "
                "smallest estimate): a ");
    num(fp, da, "%.3f");
    fprintf(fp, ", b ");
    num(fp, db, "%.3f");
    fprintf(fp, ".</p>\n");
    free(t);
}

/* Fits stored by `scaling fit` in the fits table. */
static int section_stored_fits(FILE *fp, plot_ctx *c, char *err, size_t errlen) {
    store_fit_row *f = NULL;
    int n = 0, rc = store_list_fits(c->s, c->sweep[0] ? c->sweep : NULL, &f, &n, err, errlen);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
        if (!i)
            fprintf(fp, "<h3>Fits stored in the database</h3>\n<table><tr><th>id</th>"
                        "<th>sweep</th><th>law</th><th>created</th><th>parameters</th>"
                        "<th>selection</th></tr>\n");
        fprintf(fp, "<tr><td class=\"n\">%lld</td>", (long long)f[i].id);
        row_end(fp, (const char *[3]){f[i].sweep, f[i].law, f[i].created},
                (const char *[2]){"params_json", "selection"},
                (const char *[2]){f[i].params_json, f[i].selection_json});
    }
    if (n) fprintf(fp, "</table>\n");
    store_fit_rows_free(f, n);
    return 0;
}

/* One run's curve as a small inline SVG (log tokens, log loss). */
static int run_curve(FILE *fp, store *s, const store_run *r, char *err, size_t errlen) {
    double *tv = NULL, *lv = NULL, *ts = NULL, *ls = NULL;
    int nv = 0, ns = 0, rc;
    if ((rc = store_run_losses(s, r->id, 1, &tv, &lv, &nv, err, errlen)) ||
        (rc = store_run_losses(s, r->id, 0, &ts, &ls, &ns, err, errlen)))
        goto done;
    fprintf(fp, "<div id=\"curve-");
    H(r->id);
    fprintf(fp, "\"><b>");
    H(r->id);
    fprintf(fp, "</b> ");
    H(r->label);
    fprintf(fp, " %d&times;%d, %s", r->n_layer, r->d_model, r->status);
    if (!nv && !ns) {
        fprintf(fp, ": no curve logged</div>\n");
        goto done;
    }
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < 2; k++) {
        const double *t = k ? ts : tv, *l = k ? ls : lv;
        for (int i = 0; i < (k ? ns : nv); i++)
            if (t[i] > 0 && l[i] > 0 && isfinite(l[i])) {
                x0 = fmin(x0, log10(t[i])), x1 = fmax(x1, log10(t[i]));
                y0 = fmin(y0, log10(l[i])), y1 = fmax(y1, log10(l[i]));
            }
    }
    if (!(x1 > x0)) x1 = x0 + 1;
    if (!(y1 > y0)) y1 = y0 + 0.1;
    const int W = 360, Hh = 120;
    fprintf(fp, "<br><svg class=\"curve\" width=\"%d\" height=\"%d\" role=\"img\">", W, Hh);
    for (int k = 1; k >= 0; k--) {
        const double *t = k ? ts : tv, *l = k ? ls : lv;
        fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"",
                k ? "#bbb" : "#1f5fa8", k ? "1" : "2");
        for (int i = 0; i < (k ? ns : nv); i++)
            if (t[i] > 0 && l[i] > 0 && isfinite(l[i]))
                fprintf(fp, "%.1f,%.1f ", 5 + (W - 10) * (log10(t[i]) - x0) / (x1 - x0),
                        5 + (Hh - 10) * (y1 - log10(l[i])) / (y1 - y0));
        fprintf(fp, "\"/>");
    }
    fprintf(fp,
            "</svg><br><span class=\"meta\">tokens %.3g to %.3g (log), loss %.3f to %.3f "
            "(log); blue: validation, grey: train</span></div>\n",
            pow(10, x0), pow(10, x1), pow(10, y0), pow(10, y1));
done:
    free(tv), free(lv), free(ts), free(ls);
    return rc;
}

static int section_runs(FILE *fp, plot_ctx *c, char *err, size_t errlen) {
    store_run *runs = NULL;
    int n = 0, rc;
    if ((rc = store_list_runs(c->s, c->sweep[0] ? c->sweep : NULL, NULL, &runs, &n, err, errlen)))
        return rc;
    fprintf(fp, "<h2 id=\"runs\">Runs (%d)</h2>\n", n);
    if (n) {
        fprintf(fp, "<p class=\"meta\">Click a column's header to sort; a run's id leads "
                    "to its learning curve.</p>\n");
        fprintf(fp, "<table class=\"sortable\"><tr><th>id</th><th>sweep</th><th>label</th>"
                    "<th>status</th>"
                    "<th>shape</th><th>N total</th><th>N non-emb.</th><th>tokens</th>"
                    "<th>budget (FLOPs)</th><th>FLOPs</th><th>val loss</th><th>val bpb</th>"
                    "<th>tokens done</th><th>host</th><th>ended</th><th>excluded from fits"
                    "</th></tr>\n");
    }
    for (int i = 0; i < n; i++) {
        const store_run *r = &runs[i];
        fprintf(fp, "<tr><td><a href=\"#curve-");
        H(r->id);
        fprintf(fp, "\">");
        H(r->id);
        fprintf(fp, "</a>");
        fprintf(fp, "</td><td>");
        H(r->sweep);
        fprintf(fp, "</td><td>");
        H(r->label);
        fprintf(fp, "</td><td>");
        H(r->status);
        fprintf(fp, "</td><td>");
        if (r->n_layer > 0) fprintf(fp, "%d×%d", r->n_layer, r->d_model);
        fprintf(fp, "</td><td class=\"n\">");
        if (r->params_total >= 0) fprintf(fp, "%lld", (long long)r->params_total);
        fprintf(fp, "</td><td class=\"n\">");
        if (r->params_nonembedding >= 0) fprintf(fp, "%lld", (long long)r->params_nonembedding);
        fprintf(fp, "</td><td class=\"n\">");
        if (r->tokens >= 0) fprintf(fp, "%lld", (long long)r->tokens);
        fprintf(fp, "</td><td class=\"n\">");
        num(fp, r->compute_budget, "%.3g");
        fprintf(fp, "</td><td class=\"n\">");
        num(fp, r->flops, "%.3g");
        fprintf(fp, "</td><td class=\"n\">");
        num(fp, r->final_val_loss, "%.4f");
        fprintf(fp, "</td><td class=\"n\">");
        num(fp, r->final_val_bpb, "%.4f");
        fprintf(fp, "</td><td class=\"n\">");
        if (r->tokens_done >= 0) fprintf(fp, "%lld", (long long)r->tokens_done);
        fprintf(fp, "</td><td>");
        H(r->host);
        fprintf(fp, "</td><td>");
        H(r->ended);
        fprintf(fp, "</td><td>");
        H(r->excluded);
        fprintf(fp, "</td></tr>\n");
    }
    if (n) fprintf(fp, "</table>\n");
    /* each run's curve: validation loss (and train loss, grey) against
     * tokens, log-log, as an inline SVG */
    if (n) fprintf(fp, "<h2 id=\"curves\">Learning curves</h2>\n");
    for (int i = 0; i < n && !rc; i++)
        rc = run_curve(fp, c->s, &runs[i], err, errlen);
    store_runs_free(runs, n);
    return rc;
}

/* WSD families (docs/sweep.md): each trunk with its branches, and what the
 * sharing saved: FLOPs trained against the sum of the nominal budgets. */
static int section_families(FILE *fp, plot_ctx *c, char *err, size_t errlen) {
    store_run *runs = NULL;
    int n = 0, rc, ntrunks = 0;
    if ((rc = store_list_runs(c->s, c->sweep[0] ? c->sweep : NULL, NULL, &runs, &n, err, errlen)))
        return rc;
    double nominal = 0, trained = 0;
    for (int i = 0; i < n; i++) {
        const store_run *r = &runs[i];
        double fpt = r->flops_per_token_chinchilla;
        int64_t t = r->tokens_done > 0 ? r->tokens_done : r->tokens;
        if (!(fpt > 0) || t < 0) continue;
        nominal += (double)t * fpt;
        trained += (double)(t - (r->fork_tokens > 0 ? r->fork_tokens : 0)) * fpt;
    }
    for (int i = 0; i < n; i++) {
        const store_run *t = &runs[i];
        int nb = 0;
        for (int j = 0; j < n; j++)
            nb += !strcmp(runs[j].parent_run, t->id);
        if (!nb) continue;
        if (ntrunks++ == 0) {
            fprintf(fp,
                    "<h2 id=\"families\">WSD families</h2>\n<p class=\"meta\">Each trunk "
                    "trains its largest budget; each branch starts from the trunk's "
                    "checkpoint at its fork and trains only its cooldown. FLOPs trained "
                    "(Chinchilla count): %.4g, against %.4g in the nominal budgets (%.3f).</p>\n"
                    "<table><tr><th>trunk</th><th>run</th><th>shape</th><th>budget "
                    "(FLOPs)</th><th>tokens</th><th>fork at</th><th>FLOPs trained</th>"
                    "<th>status</th><th>val loss</th></tr>\n",
                    trained, nominal, nominal > 0 ? trained / nominal : NAN);
        }
        for (int j = 0; j < n; j++) {
            const store_run *r = &runs[j];
            if (j != i && strcmp(r->parent_run, t->id)) continue;
            int64_t fork = r->fork_tokens > 0 ? r->fork_tokens : 0;
            fprintf(fp, "<tr><td>");
            H(t->id);
            fprintf(fp, "</td><td>");
            H(j == i ? "(trunk)" : r->id);
            fprintf(fp, "</td><td>%d×%d</td><td class=\"n\">", r->n_layer, r->d_model);
            num(fp, r->compute_budget, "%.3g");
            fprintf(fp, "</td><td class=\"n\">%lld</td><td class=\"n\">", (long long)r->tokens);
            if (fork) fprintf(fp, "%lld", (long long)fork);
            fprintf(fp, "</td><td class=\"n\">");
            num(fp, (double)(r->tokens - fork) * r->flops_per_token_chinchilla, "%.3g");
            fprintf(fp, "</td><td>");
            H(r->status);
            fprintf(fp, "</td><td class=\"n\">");
            num(fp, r->final_val_loss, "%.4f");
            fprintf(fp, "</td></tr>\n");
        }
    }
    if (ntrunks) fprintf(fp, "</table>\n");
    store_runs_free(runs, n);
    return 0;
}

/* ---- The report --------------------------------------------------------------- */

/* The index of the figure that fits the sweep's mode (IsoFLOP profiles for
 * an isoflop sweep, Kaplan's figure 1 for a kaplan sweep, the envelope for a
 * grid), if it was drawn; -1 otherwise. */
static int lead_figure(plot_ctx *c, const plot_result *res) {
    store_sweep_name *sw = NULL;
    int n = 0;
    char e[UTIL_ERRLEN];
    const char *want = "chinchilla-isoflop";
    if (c->sweep[0] && store_list_sweeps(c->s, c->sweep, &sw, &n, e, sizeof e) == 0 && n == 1)
        want = !strcmp(sw[0].mode, "kaplan") ? "kaplan-fig1"
               : !strcmp(sw[0].mode, "grid") ? "chinchilla-envelope"
                                             : "chinchilla-isoflop";
    free(sw);
    for (int i = 0; i < plot_figure_count; i++)
        if (!strcmp(res[i].name, want) && res[i].rc == 0) return i;
    return -1;
}

int plot_report(store *s, const char *sweep, const char *outdir, const plot_opts *o,
                plot_result *res, char *err, size_t errlen) {
    plot_ctx *c = NULL;
    util_afile *af = NULL;
    char path[4096], when[32];
    int rc;
    for (int i = 0; i < plot_figure_count; i++) {
        res[i].name = plot_figure_names[i];
        res[i].rc = PLOT_SKIPPED;
        res[i].msg[0] = 0;
    }
    if ((rc = util_mkdirs(outdir, err, errlen))) return rc;
    if ((size_t)snprintf(path, sizeof path, "%s/index.html", outdir) >= sizeof path)
        return util_err(err, errlen, UTIL_EINVAL, "%s: output directory path too long", outdir);
    if ((rc = plot_ctx_open(&c, s, sweep, o, err, errlen))) return rc;

    for (int i = 0; i < plot_figure_count; i++) {
        char ferr[UTIL_ERRLEN];
        int r = plot_ctx_figure(c, plot_figure_names[i], outdir, res[i].msg, sizeof res[i].msg,
                                ferr, sizeof ferr);
        res[i].rc = r;
        if (r < 0) {
            snprintf(res[i].msg, sizeof res[i].msg, "%s", ferr);
            if (r == UTIL_EEXTERNAL && strstr(ferr, "install the gnuplot")) {
                /* no gnuplot at all: every figure would fail the same way */
                rc = util_err(err, errlen, r, "%s", ferr);
                goto done;
            }
        }
    }

    if ((rc = util_afile_open(&af, path, err, errlen))) goto done;
    FILE *fp = util_afile_fp(af);
    util_utc_iso(when, sizeof when);
    fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>scaling report: ");
    H(c->sweep[0] ? c->sweep : "all runs");
    fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Scaling report: ", CSS);
    if (c->sweep[0]) {
        fprintf(fp, "sweep <code>");
        H(c->sweep);
        fprintf(fp, "</code>");
    } else {
        fprintf(fp, "all runs");
    }
    fprintf(fp, "</h1>\n<p class=\"meta\">Generated %s by scaling %s (git ", when, util_version());
    H(util_git_rev());
    fprintf(fp, ") from <code>");
    H(store_path(s));
    fprintf(fp, "</code>. Sections: <a href=\"#answer\">answer</a>, "
                "<a href=\"#plan\">plan and status</a>, "
                "<a href=\"#figures\">figures</a>, <a href=\"#fits\">fits</a>, "
                "<a href=\"#systematic\">systematic table</a>, "
                "<a href=\"#families\">WSD families</a> (if any), "
                "<a href=\"#runs\">runs</a>, <a href=\"#curves\">learning curves</a>.</p>\n");
    /* the answer, then the figure that fits the sweep's mode */
    section_headline(fp, c);
    int lead = lead_figure(c, res);
    if (lead >= 0) section_figures(fp, res, lead, -1);
    if ((rc = section_plan(fp, c, err, errlen))) goto done;
    section_figures(fp, res, -1, lead);
    section_fits(fp, c);
    a3_excluded(fp, c);
    section_systematic(fp, c);
    if ((rc = section_stored_fits(fp, c, err, errlen))) goto done;
    if ((rc = section_families(fp, c, err, errlen))) goto done;
    if ((rc = section_runs(fp, c, err, errlen))) goto done;
    fprintf(fp, "<script>%s</script>\n</body>\n</html>\n", SORT_JS);
    rc = util_afile_commit(af, err, errlen);
    af = NULL;
done:
    util_afile_abort(af);
    plot_ctx_free(c);
    return rc;
}
