/*
 * published.c — the published reference values (Kaplan et al. 2020, Hoffmann
 * et al. 2022, Besiroglu et al. 2024) in one place: the fit tables of
 * `scaling fit`, the report and the frontier figure all read them from here.
 * Does not own: our fits (fit_*.c), how the values are shown (cli/, plot_*.c).
 */
#include <math.h>
#include <string.h>

#include "fit.h"

/* Kaplan et al. 2020 (arXiv:2001.08361) sec. 1.2 and eq. 1.1-1.3, 1.7, 6.1;
 * Hoffmann et al. 2022 (arXiv:2203.15556) Table 2 and sec. 3.3 / eq. 10;
 * Besiroglu et al. 2024 (arXiv:2404.10102) Table 1, their Approach 3 refit.
 * Keys name the quantity of our fits they sit beside ("approach3.alpha");
 * the "chinchilla.*" and "kaplan.Nopt.*" keys place the published frontier
 * lines and match no fitted quantity. */
const fit_published fit_published_values[] = {
    {"kaplan.LN.alpha", "Kaplan 2020", 0.076},
    {"kaplan.LN.Xc", "Kaplan 2020 (non-embedding params)", 8.8e13},
    {"kaplan.LD.alpha", "Kaplan 2020", 0.095},
    {"kaplan.LD.Xc", "Kaplan 2020 (tokens)", 5.4e13},
    {"kaplan.LC.alpha", "Kaplan 2020 (Cmin)", 0.050},
    {"kaplan.LC.Xc", "Kaplan 2020 (3.1e8 PF-days, in FLOPs)", 3.1e8 * 8.64e19},
    {"approach1.a", "Kaplan 2020 (N_opt ~ C^0.73)", 0.73},
    {"approach1.a", "Chinchilla 2022", 0.50},
    {"approach1.b", "Chinchilla 2022", 0.50},
    {"approach2.a", "Chinchilla 2022", 0.49},
    {"approach2.b", "Chinchilla 2022", 0.51},
    {"approach3.a", "Chinchilla 2022", 0.46},
    {"approach3.b", "Chinchilla 2022", 0.54},
    {"approach3.E", "Chinchilla 2022", 1.69},
    {"approach3.A", "Chinchilla 2022", 406.4},
    {"approach3.B", "Chinchilla 2022", 410.7},
    {"approach3.alpha", "Chinchilla 2022", 0.34},
    {"approach3.beta", "Chinchilla 2022", 0.28},
    {"approach3.E", "Besiroglu 2024", 1.82},
    {"approach3.A", "Besiroglu 2024", 482.01},
    {"approach3.B", "Besiroglu 2024", 2085.43},
    {"approach3.alpha", "Besiroglu 2024", 0.3478},
    {"approach3.beta", "Besiroglu 2024", 0.3658},
    {"kaplan.Nopt.k", "Kaplan 2020 (eq. 6.1: N_opt = k (C/PF-day)^0.73, non-embedding)", 1.3e9},
    {"chinchilla.N", "Chinchilla 2022 (the Chinchilla model: parameters)", 70e9},
    {"chinchilla.C", "Chinchilla 2022 (the Chinchilla model: training FLOPs)", 5.76e23},
};
const int fit_published_count = (int)(sizeof fit_published_values / sizeof fit_published_values[0]);

double fit_published_get(const char *what, const char *source) {
    for (int i = 0; i < fit_published_count; i++) {
        const fit_published *p = &fit_published_values[i];
        if (!strcmp(p->what, what) && !strncmp(p->source, source, strlen(source))) return p->value;
    }
    return NAN;
}

/* Kaplan: N_opt = k (C / PF-day)^0.73. Chinchilla approach 3: N_opt = G (C/6)^a,
 * G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), from the
 * fitted E, A, B, alpha, beta (the paper's own counting, C = 6ND); approaches 1
 * and 2: a = 0.50 and 0.49, drawn through Chinchilla itself. */
double fit_published_nopt(int which, double C) {
    const char *ch = "Chinchilla 2022";
    if (which == 0)
        return fit_published_get("kaplan.Nopt.k", "Kaplan 2020") *
               pow(C / 8.64e19, fit_published_get("approach1.a", "Kaplan 2020"));
    if (which == 3) {
        double al = fit_published_get("approach3.alpha", ch);
        double be = fit_published_get("approach3.beta", ch);
        double A = fit_published_get("approach3.A", ch), B = fit_published_get("approach3.B", ch);
        double G = pow(al * A / (be * B), 1 / (al + be));
        return G * pow(C / 6, be / (al + be));
    }
    if (which != 1 && which != 2) return NAN;
    double a = fit_published_get(which == 1 ? "approach1.a" : "approach2.a", ch);
    return fit_published_get("chinchilla.N", ch) *
           pow(C / fit_published_get("chinchilla.C", ch), a);
}
