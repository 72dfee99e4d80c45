/*
 * plot_kaplan.c — Kaplan et al.'s figures: kaplan-fig1 (loss against compute,
 * data and parameters with the fitted power laws) and kaplan-curves (the
 * learning curves against tokens and compute). Counting: non-embedding
 * parameters and Kaplan's FLOPs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "plot_internal.h"

/* ---- kaplan-fig1 ------------------------------------------------------------ */

int plot__fig_kaplan_fig1(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
    plot_span cs, fs;
    plot__write_curves(g, c, "$curves", &c->kap_opts, &cs);
    int nf = plot__write_finals(g, c, "$final", &c->kap_opts, &fs);
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
        if (plot__pos(envL[i])) fprintf(g->data, "%.9g %.9g\n", envC[i] / PLOT_PFDAY, envL[i]);
    fprintf(g->data, "EOD\n");
    plot__write_powerlaw(g, "$LC", &k->LC, cs.Clo, cs.Chi, 1 / PLOT_PFDAY);
    double ulo = INFINITY, uhi = -INFINITY; /* L(D) is drawn over the data-limited runs */
    for (int i = 0; i < c->d.nruns; i++) {
        double U = c->d.runs[i].unique_tokens;
        if (U > 0) ulo = fmin(ulo, U), uhi = fmax(uhi, U);
    }
    if (!(uhi >= ulo)) ulo = fs.Dlo, uhi = fs.Dhi;
    plot__write_powerlaw(g, "$LD", &k->LD, ulo / 1.5, uhi * 1.5, 1);
    plot__write_powerlaw(g, "$LN", &k->LN, fs.Nlo / 1.5, fs.Nhi * 1.5, 1);

    char t1[200], t2[200], t3[200];
    g->w = 1650, g->h = 560;
    plot__title(g, c, "Kaplan et al. Figure 1: smooth power laws", 1, 1, 3);
    /* panel 1: loss against compute */
    plot__panel_by_size(g, cs.Nlo, cs.Nhi, "parameters N (non-embedding)", 1, 0);
    plot__logaxis(g, "x", cs.Clo / PLOT_PFDAY, cs.Chi / PLOT_PFDAY);
    plot__loss_axis(g, "y", cs.Llo, cs.Lhi);
    fprintf(g->body, "set xlabel 'compute C (PF-days, non-embedding)'\n"
                     "set ylabel 'test loss (nats/token)'\nset title 'L(C_{min})'\n");
    fprintf(g->body,
            "plot $curves using 3:4:5 with lines lw 1.5 lc palette title 'learning curves', "
            "$env using 1:2 with lines lw 3 lc rgb '#222222' title 'compute frontier (lowest loss "
            "at ≤ C)', "
            "$LC using 1:2 with lines lw 2 dt 2 lc rgb '#ff7f0e' title %s\n",
            plot__qf(g, "L = (C_c/C_{min})^{α_C}, α_C = %s",
                     plot__fv(t1, sizeof t1, k->LC.alpha, "%.3f")));
    /* panel 2: loss against dataset size */
    plot__panel_by_size(g, fs.Nlo, fs.Nhi, "parameters N (non-embedding)", 0, 0);
    plot__logaxis(g, "x", fs.Dlo, fs.Dhi);
    plot__loss_axis(g, "y", fs.Llo, fs.Lhi);
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
                plot__qf(g, "L = (D_c/D)^{α_D}, α_D = %s",
                         plot__fv(t2, sizeof t2, k->LD.alpha, "%.3f")));
    fprintf(g->body, "\n");
    /* panel 3: loss against parameters */
    plot__panel_by_size(g, fs.Nlo, fs.Nhi, "parameters N (non-embedding)", 0, 1);
    plot__logaxis(g, "x", fs.Nlo, fs.Nhi);
    plot__loss_axis(g, "y", fs.Llo, fs.Lhi);
    fprintf(g->body, "set xlabel 'parameters N (non-embedding)'\n"
                     "set ylabel 'test loss (nats/token)'\nset title 'L(N)'\n");
    fprintf(
        g->body,
        "plot $final using 1:5:1 with points pt 6 ps 0.8 lc palette title 'runs (final loss)', "
        "$final using ($8 > 0 ? $1 : 1/0):6:1 with points pt 7 ps 1.2 lc palette "
        "title 'best loss per size (fitted)', "
        "$LN using 1:2 with lines lw 2 dt 2 lc rgb '#ff7f0e' title %s\n",
        plot__qf(g, "L = (N_c/N)^{α_N}, α_N = %s", plot__fv(t3, sizeof t3, k->LN.alpha, "%.3f")));
    fprintf(g->body, "unset multiplot\n");
    if (!have_env)
        snprintf(msg, msglen, "envelope left out: %s", why);
    else if (!k->have_LD)
        snprintf(msg, msglen, "%s", k->warning[0] ? k->warning : "L(D) not fitted");
    return 0;
}

/* ---- kaplan-curves ------------------------------------------------------------ */

int plot__fig_kaplan_curves(plot_ctx *c, plot_gp *g, char *msg, size_t msglen) {
    plot_span cs;
    plot__write_curves(g, c, "$curves", &c->kap_opts, &cs);
    if (cs.runs < 1) {
        snprintf(msg, msglen,
                 "needs finished runs with learning curves (2+ eval points); "
                 "found none");
        return PLOT_SKIPPED;
    }
    g->w = 1300, g->h = 540;
    plot__title(g, c, "Kaplan et al.: learning curves (sample efficiency)", 1, 1, 2);
    for (int k = 0; k < 2; k++) {
        plot__panel_by_size(g, cs.Nlo, cs.Nhi, "parameters N (non-embedding)", 0, k != 0);
        plot__logaxis(g, "x", k ? cs.Clo / PLOT_PFDAY : cs.Dlo, k ? cs.Chi / PLOT_PFDAY : cs.Dhi);
        plot__loss_axis(g, "y", cs.Llo, cs.Lhi);
        fprintf(g->body, "set xlabel %s\nset ylabel 'test loss (nats/token)'\n",
                plot__q(g, k ? "compute C (PF-days, non-embedding)" : "tokens processed D"));
        fprintf(g->body, "plot $curves using %d:4:5 with lines lw 1.5 lc palette title %s\n",
                k ? 3 : 1, plot__q(g, "learning curves (colour: N)"));
    }
    fprintf(g->body, "unset multiplot\n");
    (void)msg;
    return 0;
}
