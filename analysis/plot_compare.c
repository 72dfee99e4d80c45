/*
 * plot_compare.c — the figures that set every fit side by side: frontier
 * (N_opt(C) of the three approaches beside the published laws) and
 * residuals (each law against what it fits).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "plot_internal.h"

/* ---- frontier ---------------------------------------------------------------- */

int plot__fig_frontier(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
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
        if (plot__pos(C)) {
            if (C < lo) lo = C;
            if (C > hi) hi = C;
        }
    }
    if (ok[0]) plot__range_of_optima(&c->a1->pts, &lo, &hi);
    if (ok[1]) plot__range_of_optima(&c->a2->pts, &lo, &hi);
    if (!(hi > lo)) lo /= 10, hi *= 10;
    lo /= 10, hi *= 10;
    static const char *const colour[3] = {"#1f77b4", "#2ca02c", "#d62728"};
    char band[3] = {0}, t[3][200];
    for (int k = 0; k < 3; k++) {
        if (!ok[k]) continue;
        char name[16];
        snprintf(name, sizeof name, "$f%d", k + 1);
        int rows;
        band[k] = (char)plot__write_frontier(g, name, k < 2 ? (k ? c->a2 : c->a1) : NULL,
                                             k == 2 ? c->a3 : NULL, lo, hi, &rows);
        if (!rows) { /* fitted, but no frontier (e.g. an exponent not positive) */
            ok[k] = 0;
            nok--;
            snprintf(why[k], sizeof why[k], "%s",
                     k == 2 && c->a3->warning[0] ? c->a3->warning : "the fit gives no frontier");
            continue;
        }
        plot__fv(t[k], sizeof t[k], k < 2 ? (k ? c->a2->a : c->a1->a) : c->a3->a, "%.3f");
        if (k < 2) {
            snprintf(name, sizeof name, "$o%d", k + 1);
            plot__write_optima(g, name, k ? &c->a2->pts : &c->a1->pts);
        }
    }
    if (!nok) {
        snprintf(msg, msglen,
                 "no approach gives a frontier; approach 1: %s; approach 2: %s; "
                 "approach 3: %s",
                 why[0], why[1], why[2]);
        return PLOT_SKIPPED;
    }
    const char *ch = "Chinchilla 2022";
    double al = fit_published_get("approach3.alpha", ch),
           be = fit_published_get("approach3.beta", ch);
    double chN = fit_published_get("chinchilla.N", ch), chC = fit_published_get("chinchilla.C", ch);
    char cC[64];
    int cexp = (int)floor(log10(chC));
    snprintf(cC, sizeof cC, "%.3g·10^{%d}", chC / pow(10, cexp), cexp);
    fprintf(g->data, "$pub << EOD\n");
    for (int i = 0; i < 60; i++) {
        double C = lo * pow(hi / lo, i / 59.0);
        fprintf(g->data, "%.9g %.9g %.9g %.9g %.9g\n", C, fit_published_nopt(0, C),
                fit_published_nopt(3, C), fit_published_nopt(1, C), fit_published_nopt(2, C));
    }
    fprintf(g->data, "EOD\n");
    g->w = 1100, g->h = 900;
    plot__title(g, c, "Compute-optimal model size: our three approaches and the published laws", 0,
                0, 0);
    plot__panel_common(g);
    int nent = 4; /* legend lines: the published laws, and ours with their bands */
    for (int k = 0; k < 3; k++)
        nent += ok[k] ? 1 + band[k] : 0;
    /* the legend goes under the plot, in a bottom margin sized to hold it */
    fprintf(g->body,
            "set key below left Left reverse font ',9' spacing 1.1 maxcols 1\n"
            "set bmargin %d\n",
            (int)(nent * 1.05) + 5);
    plot__logaxis(g, "x", lo, hi);
    plot__logaxis(g, "y", 1, 1e9);
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
                    k + 1, colour[k], plot__qf(g, "approach %d: 95%% bootstrap band", k + 1));
        fprintf(g->body, "$f%d using 1:2 with lines lw 2.5 lc rgb '%s' title %s, ", k + 1,
                colour[k], plot__qf(g, "ours, approach %d: N_{opt} ∝ C^{a}, a = %s", k + 1, t[k]));
        if (k < 2)
            fprintf(g->body, "$o%d using 1:2 with points pt %d ps %s lc rgb '%s' notitle, ", k + 1,
                    k ? 9 : 7, (k ? c->a2 : c->a1)->pts.n > 30 ? "0.4" : "1.1", colour[k]);
    }
    fprintf(g->body,
            "$pub using 1:2 with lines dt 2 lw 2 lc rgb '#ff7f0e' title %s, "
            "$pub using 1:3 with lines dt 2 lw 2 lc rgb '#9467bd' title %s, "
            "$pub using 1:4 with lines dt 4 lw 1.5 lc rgb '#8c564b' title %s, "
            "$pub using 1:5 with lines dt 5 lw 1.5 lc rgb '#e377c2' title %s\n",
            plot__qf(g, "Kaplan: N_{opt} = %.2g·10^9 (C/PF-day)^{%.2f} (non-embedding)",
                     fit_published_get("kaplan.Nopt.k", "Kaplan") / 1e9,
                     fit_published_get("approach1.a", "Kaplan")),
            plot__qf(g, "Chinchilla approach 3: G (C/6)^{%.3f}, E=%g A=%g B=%g α=%g β=%g",
                     be / (al + be), fit_published_get("approach3.E", ch),
                     fit_published_get("approach3.A", ch), fit_published_get("approach3.B", ch), al,
                     be),
            plot__qf(g, "Chinchilla approach 1: C^{%.2f} through %.0fB at %s",
                     fit_published_get("approach1.a", ch), chN / 1e9, cC),
            plot__qf(g, "Chinchilla approach 2: C^{%.2f} through %.0fB at %s",
                     fit_published_get("approach2.a", ch), chN / 1e9, cC));
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
static void plot_nonempty(plot_gp *g, const char *const *cmds, const int *counts, int n,
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
            plot__q(g, why_empty));
}

/* Residuals of what each law describes: Kaplan L(N) and L(D) against the
 * points fit_kaplan_laws fits (each size's best loss; data-limited runs at
 * their unique token count), L(Cmin) against the envelope,
 * approach 3 against every run (loss, nats); approaches 1 and 2 as
 * ln(N_found / N_fit) at each optimum. Points for L(N), L(D), approach 3 are
 * runs, coloured by N. */
int plot__fig_residuals(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
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
            if ((which && !c->kap.have_LD) || !plot__on_kaplan_law(c, ko, i, which)) continue;
            double x = which ? r->unique_tokens : fit_run_params(r, ko->params);
            double N = fit_run_params(r, ko->params);
            fprintf(g->data, "%.9g %.9g %.9g\n", fit_run_flops(r, ko->params, ko->flops),
                    fit_run_best_loss(r) - plot__powerlaw(which ? &c->kap.LD : &c->kap.LN, x), N);
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
                if (plot__pos(envL[i])) {
                    fprintf(g->data, "%.9g %.9g\n", envC[i],
                            envL[i] - plot__powerlaw(&c->kap.LC, envC[i]));
                    cnt[2]++;
                }
    }
    fprintf(g->data, "EOD\n$r3 << EOD\n");
    for (int i = 0; ok[PLOT_FIT_A3] && i < d->nruns; i++) {
        const fit_run *r = &d->runs[i];
        double N = fit_run_params(r, co->params);
        if (!plot__pos(N) || !plot__pos(r->tokens) || !plot__pos(r->loss)) continue;
        fprintf(g->data, "%.9g %.9g %.9g\n", fit_run_flops(r, co->params, co->flops),
                r->loss - plot__a3_loss(c->a3, N, r->tokens), N);
        cnt[3]++;
    }
    fprintf(g->data, "EOD\n");
    for (int i = 0; i < d->nruns; i++) {
        double N = fit_run_params(&d->runs[i], co->params);
        double M = fit_run_params(&d->runs[i], ko->params);
        if (plot__pos(N)) Nlo = fmin(Nlo, fmin(N, M)), Nhi = fmax(Nhi, fmax(N, M));
    }
    /* $o1, $o2: 1 C, 2 ln(N/N_fit), 3 ln(D/D_fit) */
    for (int k = 0; k < 2; k++) {
        const fit_frontier *f = k ? c->a2 : c->a1;
        fprintf(g->data, "$o%d << EOD\n", k + 1);
        for (int i = 0; ok[PLOT_FIT_A1 + k] && i < f->pts.n; i++) {
            double C = f->pts.C[i];
            double Nf = f->kN.est * pow(C, f->a.est), Df = f->kD.est * pow(C, f->b.est);
            if (plot__pos(C) && plot__pos(f->pts.N[i]) && plot__pos(f->pts.D[i]) && plot__pos(Nf) &&
                plot__pos(Df)) {
                fprintf(g->data, "%.9g %.9g %.9g\n", C, log(f->pts.N[i] / Nf),
                        log(f->pts.D[i] / Df));
                ocnt[2 * k] = ocnt[2 * k + 1] = ocnt[2 * k] + 1;
            }
        }
        fprintf(g->data, "EOD\n");
    }
    g->w = 1400, g->h = 560;
    plot__title(g, c, "Residuals of each fit against compute", 1, 1, 2);
    fprintf(g->body, "reset\n");
    plot__panel_common(g);
    plot__colour_scale(g, Nlo, Nhi, "parameters N (runs)", 0);
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
    plot__panel_common(g);
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
