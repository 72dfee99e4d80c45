/*
 * plot_chinchilla.c — Hoffmann et al.'s figures: chinchilla-envelope (Figure
 * 2, Approach 1), chinchilla-isoflop (Figure 3, Approach 2) and
 * chinchilla-contours (Figure 4, Approach 3).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "plot_internal.h"

/* ---- chinchilla-envelope ------------------------------------------------------- */

int plot__fig_chinchilla_envelope(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
    plot_span cs;
    plot__write_curves(g, c, "$curves", &c->chin_opts, &cs);
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
        if (plot__pos(envL[i])) fprintf(g->data, "%.9g %.9g\n", envC[i], envL[i]);
    fprintf(g->data, "EOD\n");
    g->w = 1650, g->h = 560;
    plot__title(g, c, "Chinchilla Figure 2 (approach 1: minimum over training curves)", 1, 1, 3);
    fprintf(g->body, "reset\n");
    plot__panel_common(g);
    plot__colour_scale(g, cs.Nlo, cs.Nhi, "parameters N", 0);
    plot__logaxis(g, "x", cs.Clo, cs.Chi);
    fprintf(g->body, "set xlabel 'compute C (FLOPs)'\nset ylabel 'validation loss (nats/token)'\n"
                     "set title 'learning curves and their envelope'\nset bmargin 7\n");
    fprintf(g->body,
            "plot $curves using 2:4:5 with lines lw 1.2 lc palette title 'learning curves', "
            "$env using 1:2 with points pt 7 ps 0.5 lc rgb '#222222' title 'envelope'\n");
    plot__optima_panels(g, c->a1, "a1", "approach 1");
    fprintf(g->body, "unset multiplot\n");
    if (!have_env)
        snprintf(msg, msglen, "envelope left out: %s", why);
    else if (c->a1->warning[0])
        snprintf(msg, msglen, "approach 1: %s", c->a1->warning);
    return 0;
}

/* ---- chinchilla-isoflop ---------------------------------------------------------- */

int plot__fig_chinchilla_isoflop(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
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
        if (group[i] < 0 || !plot__pos(N) || !plot__pos(r->loss) || !plot__pos(B)) continue;
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
            if (group[i] < 0 || !plot__pos(B) || fabs(log10(B / Cp)) > 0.1) continue;
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
    plot__write_optima(g, "$min", &f->pts);

    g->w = 1650, g->h = 560;
    plot__title(g, c, "Chinchilla Figure 3 (approach 2: IsoFLOP profiles)", 1, 1, 3);
    fprintf(g->body, "reset\n");
    plot__panel_common(g);
    plot__colour_scale(g, Clo, Chi, "compute budget C (FLOPs)", 0);
    plot__logaxis(g, "x", Nlo, Nhi);
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
    plot__optima_panels(g, c->a2, "a2", "approach 2");
    fprintf(g->body, "unset multiplot\n");
    if (f->warning[0]) snprintf(msg, msglen, "approach 2: %s", f->warning);
done:
    free(group);
    return rc;
}

/* ---- chinchilla-contours -------------------------------------------------------- */

int plot__fig_chinchilla_contours(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
    const fit_opts *o = &c->chin_opts;
    plot_span fs;
    int nf = plot__write_finals(g, c, "$final", o, &fs);
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
            double N = pow(10, ln), D = model_frontier_tokens(&f->count, pow(10, lc), N);
            double L = plot__a3_loss(f, N, D);
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
        if (plot__pos(N)) fprintf(g->data, "%.9g %.9g %.9g\n", C, N, L), nfront++;
    }
    fprintf(g->data, "EOD\n");
    /* IsoFLOP budgets: vertical lines, and the model's slices */
    int nb = 0;
    double budgets[64];
    for (int i = 0; i < c->d.nruns && nb < 64; i++) {
        double B = c->d.runs[i].budget;
        if (!plot__pos(B)) continue;
        int seen = 0;
        for (int k = 0; k < nb; k++)
            if (fabs(log10(B / budgets[k])) < 0.01) seen = 1;
        if (!seen) budgets[nb++] = B;
    }
    qsort(budgets, nb, sizeof *budgets, fit__cmp_double);
    fprintf(g->data, "$isolines << EOD\n");
    for (int k = 0; k < nb; k++)
        fprintf(g->data, "%.9g %.9g\n%.9g %.9g\n\n", budgets[k], Nlo, budgets[k], Nhi);
    fprintf(g->data, "EOD\n$slices << EOD\n");
    for (int k = 0; k < nb; k++) {
        for (int j = 0; j < 60; j++) {
            double N = fs.Nlo / 3 * pow(9 * fs.Nhi / fs.Nlo, j / 59.0);
            double L = plot__a3_loss(f, N, model_frontier_tokens(&f->count, budgets[k], N));
            if (plot__pos(L) && L < 2 * fs.Lhi)
                fprintf(g->data, "%.9g %.9g %.9g\n", N, L, budgets[k]);
        }
        fprintf(g->data, "\n");
    }
    fprintf(g->data, "EOD\n$runs << EOD\n");
    for (int i = 0; i < c->d.nruns; i++) {
        const fit_run *r = &c->d.runs[i];
        double N = fit_run_params(r, o->params), C = fit_run_flops(r, o->params, o->flops);
        if (plot__pos(N) && plot__pos(C) && plot__pos(r->loss))
            fprintf(g->data, "%.9g %.9g %.9g %.9g\n", C, N, r->loss,
                    plot__pos(r->budget) ? r->budget : C);
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
    plot__title(g, c, "Chinchilla Figure 4 (approach 3: parametric fit)", 1, 1, nb ? 2 : 1);
    fprintf(g->body, "reset\n");
    plot__panel_common(g);
    fprintf(g->body,
            "set key bottom right\n%sset cbrange [%.9g:%.9g]\nset cblabel 'loss (nats/token)'\n",
            plot__palette, lo, hi);
    plot__logaxis(g, "x", Clo, Chi);
    plot__logaxis(g, "y", Nlo, Nhi);
    fprintf(g->body, "set xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n", Clo, Chi, Nlo, Nhi);
    fprintf(g->body, "set xlabel 'compute C (FLOPs)'\nset ylabel 'parameters N'\n"
                     "set title 'L(N, D) contours, D = C / FLOPs per token(N)'\n");
    fprintf(g->body, "plot $cont using (10**$1):(10**$2):3 with lines lw 1 lc palette notitle, ");
    if (nb)
        fprintf(g->body, "$isolines using 1:2 with lines dt 3 lw 1 lc rgb '#888888' "
                         "title 'IsoFLOP budgets', ");
    if (nfront)
        fprintf(g->body, "$front using 1:2 with lines lw 3 lc rgb '#1f77b4' title %s, ",
                plot__qf(g, "efficient frontier N_{opt} ∝ C^{a}, a = %s",
                         plot__fv(ta, sizeof ta, f->a, "%.3f")));
    fprintf(g->body,
            "$runs using 1:2:3 with points pt 7 ps 1 lc palette title 'runs (colour: loss)'\n");
    if (nb) {
        fprintf(g->body, "reset\n");
        plot__panel_common(g);
        plot__colour_scale(g, budgets[0], budgets[nb - 1], "compute budget C (FLOPs)", 0);
        plot__logaxis(g, "x", fs.Nlo, fs.Nhi);
        fprintf(g->body, "set xlabel 'parameters N'\nset ylabel 'loss (nats/token)'\n"
                         "set title 'IsoFLOP slices of the fitted L = E + A/N^{α} + B/D^{β}'\n"
                         "set key top left\n");
        fprintf(g->body, "set label 1 %s at graph 0.03, 0.10 left front font ',9'\n",
                plot__qf(g, "E = %s,  α = %s,  β = %s", plot__fv(tE, sizeof tE, f->E, "%.2f"),
                         plot__fv(tal, sizeof tal, f->alpha, "%.2f"),
                         plot__fv(tbe, sizeof tbe, f->beta, "%.2f")));
        fprintf(g->body, "set label 2 %s at graph 0.03, 0.05 left front font ',9'\n",
                plot__qf(g, "A = %s,  B = %s", plot__fv(tal, sizeof tal, f->A, "%.4g"),
                         plot__fv(tbe, sizeof tbe, f->B, "%.4g")));
        fprintf(
            g->body,
            "plot $slices using 1:2:3 with lines lw 2 lc palette title 'fitted L(N, C / FLOPs per "
            "token(N))', "
            "$runs using 2:3:4 with points pt 7 ps 1 lc palette title 'runs (colour: budget)'\n");
    }
    fprintf(g->body, "unset multiplot\n");
    if (f->warning[0]) snprintf(msg, msglen, "approach 3: %s", f->warning);
    return 0;
}
