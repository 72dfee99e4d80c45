/*
 * test_fit.c — the scaling-law fits: recovery of known laws from synthetic
 * data (IsoFLOP grids and learning curves drawn from L(N, D) with noise),
 * bootstrap coverage, degenerate input, the CSV and database loaders, the
 * JSON round trip, the CLI, and (when SCALING_CHINCHILLA_CSV names a copy of
 * Besiroglu et al.'s reconstruction of Chinchilla's Figure 4 data) their
 * Approach 3 estimates.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <unistd.h>

#include "../analysis/fit.h"
#include "../analysis/fit_internal.h"
#include "../results/store.h"
#include "../results/store_priv.h" /* store__db: schema checks */
#include "testlib.h"

/* ---- Synthetic data -------------------------------------------------------- */

/* Chinchilla's published law as the truth: E, A, B, alpha, beta. */
static const double T[5] = {1.69, 406.4, 410.7, 0.34, 0.28};
#define T_A (T[4] / (T[3] + T[4])) /* N_opt exponent, 0.4516 */
#define T_B (T[3] / (T[3] + T[4]))

static double chin(double N, double D) {
    return T[0] + T[1] / pow(N, T[3]) + T[2] / pow(D, T[4]);
}

static double n_opt(double C) {
    double G = pow(T[3] * T[1] / (T[4] * T[2]), 1.0 / (T[3] + T[4]));
    return G * pow(C / 6.0, T_A);
}

static fit_run mk_run(int i, double N, double D, double L) {
    fit_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "r%d", i);
    snprintf(r.label, sizeof r.label, "synthetic");
    r.n_total = r.n_nonemb = N;
    r.fpt_chinchilla = r.fpt_kaplan = 6.0 * N;
    r.tokens = D;
    r.budget = NAN;
    r.loss = L;
    return r;
}

/* An IsoFLOP sweep: 5 budgets 1e18..1e22 x 9 sizes from N_opt/6.3 to 6.3 N_opt,
 * loss = L(N, D) exp(sigma eps). d->runs is malloc'd (no curves). */
static void isoflop(fit_data *d, util_rng *r, double sigma) {
    d->nruns = 0;
    d->runs = calloc(45, sizeof *d->runs);
    for (int b = 0; b < 5; b++) {
        double C = pow(10, 18 + b);
        for (int k = 0; k < 9; k++) {
            double N = n_opt(C) * pow(10, 0.2 * (k - 4)), D = C / (6 * N);
            fit_run run = mk_run(d->nruns, N, D, chin(N, D) * exp(sigma * util_rng_normal(r)));
            run.budget = C;
            d->runs[d->nruns++] = run;
        }
    }
}

/* Learning curves: 10 sizes 1e7 x 2^k, each evaluated at 41 token counts
 * 1e8..1e12 with loss L(N, t) exp(sigma eps) (a curve read as the end points of
 * runs of each length, as a cosine schedule matched to each length would give). */
static void curves(fit_data *d, util_rng *r, double sigma) {
    d->nruns = 10;
    d->runs = calloc(10, sizeof *d->runs);
    for (int k = 0; k < 10; k++) {
        double N = 1e7 * pow(2, k);
        fit_run *run = &d->runs[k];
        *run = mk_run(k, N, 1e12, 0);
        run->ncurve = 41;
        run->curve_tokens = malloc(41 * sizeof(double));
        run->curve_loss = malloc(41 * sizeof(double));
        for (int j = 0; j < 41; j++) {
            double t = 1e8 * pow(10, j / 10.0);
            run->curve_tokens[j] = t;
            run->curve_loss[j] = chin(N, t) * exp(sigma * util_rng_normal(r));
        }
        run->loss = run->curve_loss[40];
    }
}

static void free_flat(fit_data *d) {
    free(d->runs);
} /* runs without curves */

#define NEAR(x, truth, tol)                                                                        \
    cr_expect(fabs((x) - (truth)) <= (tol), "%s = %.5g, expected %.5g +- %.3g", #x, (double)(x),   \
              (double)(truth), (double)(tol))

/* ---- Recovery ---------------------------------------------------------------- */

Test(fit, approach3_recovers_the_law_with_the_full_grid) {
    util_rng r;
    util_rng_seed(&r, 1, "test");
    fit_data d;
    isoflop(&d, &r, 0.005);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    cr_assert_eq(o.a3_starts, 0, "the full 4500-start grid is the default");
    fit_approach3 *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f->starts_run, 4500);
    NEAR(f->E.est, T[0], 0.05);
    NEAR(f->alpha.est, T[3], 0.04);
    NEAR(f->beta.est, T[4], 0.04);
    NEAR(f->a.est, T_A, 0.02);
    NEAR(f->b.est, T_B, 0.02);
    double N, D, L, C = 1e21;
    fit_approach3_optimal(f, C, &N, &D, &L);
    NEAR(log(N), log(n_opt(C)), 0.15);
    NEAR(N * D * 6, C, 1e-6 * C);
    NEAR(L, chin(n_opt(C), C / (6 * n_opt(C))), 0.01);
    free(f);
    free_flat(&d);
}

/* A grid of (N, D) from the law, with three runs outside the domain whose
 * losses the law does not describe (too few tokens per parameter, mostly
 * warm-up, repeated data): the default fit leaves them out, names them with
 * the reason, and recovers the law; --a3-domain all fits all of them. */
Test(fit, approach3_fits_inside_its_domain_and_lists_the_rest, .timeout = 300) {
    fit_data d = {0, calloc(40, sizeof(fit_run))};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double N = 1e7 * pow(4, i), D = N * pow(3, j); /* 1 to 243 tokens per parameter */
            d.runs[d.nruns] = mk_run(d.nruns, N, D, chin(N, D));
            d.nruns++;
        }
    int bad[3] = {d.nruns, d.nruns + 1, d.nruns + 2};
    d.runs[bad[0]] = mk_run(bad[0], 1e9, 3e8, chin(1e9, 3e8) + 0.5); /* 0.3 tokens/param */
    d.runs[bad[1]] = mk_run(bad[1], 4e7, 4e9, chin(4e7, 4e9) + 0.5);
    d.runs[bad[1]].warmup_tokens = 5e8; /* 8 x its warm-up */
    d.runs[bad[2]] = mk_run(bad[2], 1e8, 2e10, chin(1e8, 2e10) + 0.3);
    d.runs[bad[2]].epochs = 12; /* the corpus repeated */
    d.nruns += 3;
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 20;
    o.a3_starts = 64;
    o.bootstrap_mode = FIT_BOOT_RUNS; /* no windows to redraw in synthetic runs */
    cr_assert_eq(o.a3_domain_all, 0, "the domain is the default");
    cr_assert_eq(o.a3_boot_starts, 64);
    fit_approach3 *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f->npoints, 36);
    cr_assert_eq(f->nexcluded, 3);
    const char *want[3] = {"0.3 tokens per parameter (< 1)", "trained 8 x its warm-up (< 10)",
                           "12 epochs (> 4)"};
    for (int k = 0; k < 3; k++) {
        cr_expect_str_eq(f->excluded[k].run, d.runs[bad[k]].id);
        cr_expect_str_eq(f->excluded[k].reason, want[k]);
    }
    NEAR(f->alpha.est, T[3], 1e-3);
    NEAR(f->beta.est, T[4], 1e-3);
    cr_expect_lt(f->objective, 1e-6, "the law itself, exactly");
    double in_objective = f->objective;
    cr_expect(f->alpha.lo <= f->alpha.est && f->alpha.est <= f->alpha.hi);
    cr_expect_eq(f->boot_starts, 64);
    cr_expect(strstr(f->warning, "3 of 39 runs outside the domain left out"), "%s", f->warning);
    /* the JSON lists them: {"run": ..., "reason": ...} */
    char *js = fit_approach3_json(f);
    cr_assert(js);
    char frag[256];
    snprintf(frag, sizeof frag, "\"excluded\":[{\"run\":\"%s\",\"reason\":\"%s\"}",
             d.runs[bad[0]].id, want[0]);
    cr_expect(strstr(js, frag), "%s", js);
    cr_expect(strstr(js, "\"domain\":\"in\""), "%s", js);
    free(js);
    /* every run: nothing left out, and the bad runs pull the fit away */
    o.a3_domain_all = 1;
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f->npoints, 39);
    cr_expect_eq(f->nexcluded, 0);
    /* Huber ~ delta |r| for the three: r = ln(1 + 0.5/L) ~ 0.2, 0.2, 0.12 */
    cr_expect_gt(f->objective, 3e-4 + in_objective, "%g: the three runs the law does not describe",
                 f->objective);
    js = fit_approach3_json(f);
    cr_expect(strstr(js, "\"domain\":\"all\"") && strstr(js, "\"excluded\":[]"), "%s", js);
    free(js);
    free(f);
    free_flat(&d);
}

/* Approach 3's objective at p = (E, A, B, alpha, beta) over the runs idx of d
 * (fit_approach3.c's, unscaled: sum of Huber(log L-hat - log L), delta 1e-3). */
static double a3_objective(const fit_data *d, const int *idx, const double *p) {
    double f = 0, dl = 1e-3;
    for (int k = 0; k < d->nruns; k++) {
        const fit_run *x = &d->runs[idx[k]];
        double r =
            log(p[0] + p[1] / pow(x->n_total, p[3]) + p[2] / pow(x->tokens, p[4])) - log(x->loss);
        f += fabs(r) <= dl ? 0.5 * r * r : dl * (fabs(r) - 0.5 * dl);
    }
    return f;
}

/* The bootstrap refits each resample from grid starts of its own, and from
 * the full-data fit: on every resample its draw reaches an objective no worse
 * than the draw started from the full-data fit alone (the old bootstrap). */
Test(fit, approach3_bootstrap_refits_each_resample_from_a_reduced_grid, .timeout = 300) {
    util_rng r;
    util_rng_seed(&r, 5, "test");
    fit_data d;
    isoflop(&d, &r, 0.02);
    fit_opts o;
    fit_opts_defaults(&o);
    o.a3_domain_all = 1;
    o.a3_starts = 64;
    o.bootstrap = 40;
    o.bootstrap_mode = FIT_BOOT_RUNS;
    fit_approach3 *g = calloc(1, sizeof *g), *one = calloc(1, sizeof *one);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach3_fit(&d, &o, g, err, sizeof err), 0, "%s", err);
    o.a3_boot_starts = 0;
    cr_assert_eq(fit_approach3_fit(&d, &o, one, err, sizeof err), 0, "%s", err);
    cr_expect_eq(g->boot_starts, 64);
    cr_expect_eq(one->boot_starts, 0);
    cr_assert_eq(g->nsamples, one->nsamples);
    cr_assert_eq(g->boot_failed, 0);
    cr_assert_eq(one->boot_failed, 0);
    cr_assert_eq(g->nsamples, o.bootstrap);
    /* the same resamples (the bootstrap stream, runs drawn in order) */
    util_rng_seed(&r, o.seed, "bootstrap");
    int *idx = malloc((size_t)d.nruns * sizeof *idx), better = 0;
    for (int j = 0; j < g->nsamples; j++) {
        for (int i = 0; i < d.nruns; i++)
            idx[i] = (int)util_rng_below(&r, (uint64_t)d.nruns);
        double fg = a3_objective(&d, idx, g->samples[j]),
               f1 = a3_objective(&d, idx, one->samples[j]);
        cr_expect_leq(fg, f1 * (1 + 1e-6) + 1e-12, "draw %d: %g from the grid, %g from the fit", j,
                      fg, f1);
        better += fg < f1 * (1 - 1e-3);
    }
    cr_log_info("%d of %d draws reached a lower objective from the reduced grid", better,
                g->nsamples);
    free(idx);
    cr_expect(g->alpha.lo <= g->alpha.est && g->alpha.est <= g->alpha.hi);
    free(g);
    free(one);
    free_flat(&d);
}

/* The systematic table: 24 cells; where every count is 6 N (synthetic runs),
 * Approach 3's frontier slopes equal its closed form under each count, and
 * both approaches find the law's exponents. */
Test(fit, systematic_table_covers_every_choice, .timeout = 300) {
    util_rng r;
    util_rng_seed(&r, 3, "test");
    fit_data d;
    isoflop(&d, &r, 0.002);
    for (int i = 0; i < d.nruns; i++)
        d.runs[i].n_nonemb = 0.9 * d.runs[i].n_total; /* another N, same law */
    fit_opts o;
    fit_opts_defaults(&o);
    o.a3_starts = 32;
    o.a3_boot_starts = 8;
    o.bootstrap = 10;
    o.bootstrap_mode = FIT_BOOT_RUNS;
    fit_systematic *t = calloc(1, sizeof *t);
    fit_approach3 *f3 = calloc(1, sizeof *f3);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_systematic_table(&d, &o, t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t->n, 24);
    int seen[2][4][4] = {{{0}}};
    for (int i = 0; i < t->n; i++) {
        const fit_sys_cell *c = &t->cell[i];
        cr_expect_eq(c->error[0], 0, "%s", c->error);
        seen[c->params][c->flops][c->estimator]++;
        double tol = c->estimator <= FIT_SYS_A3_ALL ? 0.02 : 0.04;
        NEAR(c->a.est, T_A, tol);
        NEAR(c->b.est, T_B, tol);
        cr_expect(c->a.lo <= c->a.est && c->a.est <= c->a.hi, "%s: %g [%g, %g]",
                  fit_sys_estimator_name(c->estimator), c->a.est, c->a.lo, c->a.hi);
    }
    model_flops_count fl[3] = {MODEL_FLOPS_CHINCHILLA, MODEL_FLOPS_6ND, MODEL_FLOPS_ACTUAL};
    for (int p = 0; p < 2; p++)
        for (int f = 0; f < 3; f++)
            for (int e = 0; e < FIT_SYS_NEST; e++)
                cr_expect_eq(seen[p][fl[f]][e], 1, "params %d flops %d estimator %d", p, f, e);
    /* Approach 3 in domain under 6nd: the fit's own a, b */
    o.params = FIT_PARAMS_TOTAL;
    cr_assert_eq(fit_approach3_fit(&d, &o, f3, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < t->n; i++) {
        const fit_sys_cell *c = &t->cell[i];
        if (c->params == FIT_PARAMS_TOTAL && c->estimator == FIT_SYS_A3_DOMAIN) {
            NEAR(c->a.est, f3->a.est, 1e-9);
            NEAR(c->b.est, f3->b.est, 1e-9);
            cr_expect_eq(c->nruns, f3->npoints);
        }
    }
    char *js = fit_systematic_json(t);
    cr_assert(js);
    cr_expect(strstr(js, "\"params\":\"nonembedding\",\"flops\":\"actual\","
                         "\"estimator\":\"approach2 all sizes\""),
              "%s", js);
    cr_expect(strstr(js, "\"spread_a\":"), "%s", js);
    free(js);
    free(t);
    free(f3);
    free_flat(&d);
}

Test(fit, approach3_best_of_a_few_starts_matches_the_full_grid) {
    util_rng r;
    util_rng_seed(&r, 2, "test");
    fit_data d;
    isoflop(&d, &r, 0.01);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_approach3 *full = calloc(1, sizeof *full), *few = calloc(1, sizeof *few);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach3_fit(&d, &o, full, err, sizeof err), 0, "%s", err);
    o.a3_starts = 32;
    cr_assert_eq(fit_approach3_fit(&d, &o, few, err, sizeof err), 0, "%s", err);
    cr_expect_eq(few->starts_run, 32);
    cr_expect(few->objective >= full->objective * (1 - 1e-9), "full grid is never worse");
    NEAR(few->alpha.est, full->alpha.est, 1e-3);
    NEAR(few->beta.est, full->beta.est, 1e-3);
    free(full);
    free(few);
    free_flat(&d);
}

Test(fit, approach2_recovers_the_exponents) {
    util_rng r;
    util_rng_seed(&r, 3, "test");
    fit_data d;
    isoflop(&d, &r, 0.002);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 50;
    fit_frontier *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach2(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f->pts.n, 5);
    NEAR(f->a.est, T_A, 0.03);
    NEAR(f->b.est, T_B, 0.03);
    cr_expect(f->a.lo <= f->a.est && f->a.est <= f->a.hi, "interval around the estimate");
    for (int i = 0; i < f->pts.n; i++) {
        cr_expect(!f->pts.extrapolated[i], "budget %d minimum inside the sizes", i);
        NEAR(log(f->pts.N[i]), log(n_opt(f->pts.C[i])), 0.2);
        /* the stored parabola has its minimum at N_opt */
        double xs = -f->pts.parab[i][1] / (2 * f->pts.parab[i][2]);
        NEAR(xs, log(f->pts.N[i]), 1e-9);
    }
    cr_expect_eq(f->nsamples, 50);
    free(f);
    free_flat(&d);
}

/* Sizes over 3 decades on each side of N_opt, the valley off-centre (as in
 * a real sweep whose size grid is fixed across budgets): a parabola through
 * all sizes misplaces the vertex, one through the sizes around the lowest
 * loss (the default window) finds it. */
Test(fit, approach2_window_finds_an_asymmetric_valley) {
    fit_data d;
    d.nruns = 0;
    d.runs = calloc(5 * 13, sizeof *d.runs);
    for (int b = 0; b < 5; b++) {
        double C = pow(10, 18 + b);
        for (int k = 0; k < 13; k++) {
            double N = n_opt(C) * pow(10, 0.25 * (k - 2)), D = C / (6 * N);
            fit_run run = mk_run(d.nruns, N, D, chin(N, D));
            run.budget = C;
            d.runs[d.nruns++] = run;
        }
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_frontier *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    o.a2_window = 0;
    cr_assert_eq(fit_approach2(&d, &o, f, err, sizeof err), 0, "%s", err);
    double err_all = fabs(log(f->pts.N[2]) - log(n_opt(f->pts.C[2])));
    o.a2_window = 2;
    cr_assert_eq(fit_approach2(&d, &o, f, err, sizeof err), 0, "%s", err);
    double err_win = fabs(log(f->pts.N[2]) - log(n_opt(f->pts.C[2])));
    cr_expect_gt(err_all, 0.15, "the whole-range parabola should miss (off by %g in ln N)",
                 err_all);
    cr_expect_lt(err_win, 0.04, "the windowed parabola should find N_opt (off by %g)", err_win);
    NEAR(f->a.est, T_A, 0.02);
    free(f);
    free_flat(&d);
}

Test(fit, approach2_flags_a_minimum_outside_the_sizes) {
    util_rng r;
    util_rng_seed(&r, 4, "test");
    fit_data d;
    isoflop(&d, &r, 0.0);
    /* shift every size of the first budget up 4x: its optimum is now below them all */
    for (int i = 0; i < 9; i++) {
        d.runs[i].n_total *= 40, d.runs[i].n_nonemb *= 40, d.runs[i].tokens /= 40;
        d.runs[i].loss = chin(d.runs[i].n_total, d.runs[i].tokens);
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_frontier *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach2(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect(f->pts.extrapolated[0], "minimum below the sampled sizes is flagged");
    cr_expect(strstr(f->warning, "extrapolated") != NULL, "warning: %s", f->warning);
    free(f);
    free_flat(&d);
}

/* Item 4's conversion: with FLOPs per token that are not 6 N (here c N^0.9,
 * 1.3 x 6N at N = 1e7, 1.64 x at 1e6, 0.82 x at 1e9), Approaches 2 and 3 and
 * predict turn a budget into the same (N_opt, D_opt), that of the truth: the
 * minimum of L(N, C / fpt(N)) over N. Exact data (no noise). The budgets
 * 1e17..1e19 FLOPs x 25 sizes 1e6..1e9 (8 per decade). */
#define CONV_S 0.9
static double conv_fpt(double N) {
    return 7.8 * pow(1e7, 1 - CONV_S) * pow(N, CONV_S);
}

Test(fit, approaches_2_3_and_predict_convert_a_budget_alike_under_non_6nd_counting) {
    fit_data d = {0, calloc(125, sizeof(fit_run))};
    for (int b = 0; b < 5; b++)
        for (int j = 0; j < 25; j++) {
            double C = 1e17 * pow(10, b / 2.0), N = 1e6 * pow(10, j / 8.0), D = C / conv_fpt(N);
            fit_run run = mk_run(d.nruns, N, D, chin(N, D));
            run.fpt_chinchilla = conv_fpt(N);
            run.budget = C;
            d.runs[d.nruns++] = run;
        }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    o.a2_window = 1; /* 3 sizes around each minimum: the parabola's vertex is then close */
    fit_frontier *f2 = calloc(1, sizeof *f2);
    fit_approach3 *f3 = calloc(1, sizeof *f3);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach2(&d, &o, f2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_approach3_fit(&d, &o, f3, err, sizeof err), 0, "%s", err);
    /* truth at a budget between the sampled ones: on ln fpt = ln k + s ln N,
     * N^(alpha + s beta) = alpha A / (s beta B (k/C)^beta) */
    double C = pow(10, 17.75), k = conv_fpt(1.0);
    double Nt =
        pow(T[3] * T[1] / (CONV_S * T[4] * T[2] * pow(k / C, T[4])), 1 / (T[3] + CONV_S * T[4]));
    double Dt = C / conv_fpt(Nt);
    char *j2 = fit_frontier_json(f2), *j3 = fit_approach3_json(f3);
    fit_prediction p2, p3;
    cr_assert_eq(fit_predict("approach2", j2, C, &p2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_predict("approach3", j3, C, &p3, err, sizeof err), 0, "%s", err);
    double N3, D3;
    fit_approach3_optimal(f3, C, &N3, &D3, NULL);
    /* Approach 2's own optima at the sampled budgets: D_opt = C / fpt(N_opt) */
    for (int i = 0; i < f2->pts.n; i++)
        NEAR(f2->pts.D[i] * conv_fpt(f2->pts.N[i]), f2->pts.C[i], 1e-9 * f2->pts.C[i]);
    NEAR(N3 / Nt, 1, 0.005);
    NEAR(D3 / Dt, 1, 0.005);
    NEAR(p3.N.est / Nt, 1, 0.005);
    NEAR(p3.D.est / Dt, 1, 0.005);
    NEAR(p2.N.est / Nt, 1, 0.005);
    NEAR(p2.D.est / Dt, 1, 0.005);
    NEAR(p2.tpp.est / p3.tpp.est, 1, 0.01);
    free(j2);
    free(j3);
    free(f2);
    free(f3);
    free_flat(&d);
}

Test(fit, approach1_recovers_the_exponents_from_learning_curves) {
    util_rng r;
    util_rng_seed(&r, 5, "test");
    fit_data d;
    curves(&d, &r, 0.002);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 20;
    fit_frontier *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach1(&d, &o, f, err, sizeof err), 0, "%s", err);
    NEAR(f->a.est, T_A, 0.06);
    NEAR(f->b.est, T_B, 0.06);
    cr_expect(f->npoints_used > 20);
    cr_expect(isfinite(f->a.lo) && f->a.lo < f->a.hi);
    free(f);
    fit_data_free(&d);
}

/* Hand-made curves with gaps: evals in dense clusters (1.3x apart) 5-6x
 * apart from each other. Approach 1 interpolates only inside the clusters,
 * never across a gap wider than 1.5x; its other points are evals. */
Test(fit, approach1_interpolates_across_no_gap_wider_than_1_5x) {
    static const double tk[9] = {1e8, 1.3e8, 1.69e8, 1e9, 1.3e9, 1.69e9, 1e10, 1.3e10, 1.69e10};
    fit_data d = {4, calloc(4, sizeof(fit_run))};
    for (int k = 0; k < 4; k++) {
        double N = 1e7 * pow(4, k);
        fit_run *run = &d.runs[k];
        *run = mk_run(k, N, 1.69e10, 0);
        run->ncurve = 9;
        run->curve_tokens = malloc(9 * sizeof(double));
        run->curve_loss = malloc(9 * sizeof(double));
        for (int j = 0; j < 9; j++)
            run->curve_tokens[j] = tk[j], run->curve_loss[j] = chin(N, tk[j]);
        run->loss = run->curve_loss[8];
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_frontier *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach1(&d, &o, f, err, sizeof err), 0, "%s", err);
    int ninterp = 0, nmeas = 0;
    double winterp = 0;
    for (int p = 0; p < f->pts.n; p++) {
        const fit_run *r = NULL;
        for (int k = 0; k < 4; k++)
            if (d.runs[k].n_total == f->pts.N[p]) r = &d.runs[k];
        cr_assert_not_null(r);
        double t = f->pts.C[p] / (6 * r->n_total); /* the run's tokens at that C */
        if (!f->pts.interpolated[p]) {
            int at = 0; /* an eval of its own run */
            for (int j = 0; j < 9; j++)
                at |= fabs(t / tk[j] - 1) < 1e-9;
            cr_assert(at, "measured point at %g tokens is no eval", t);
            nmeas++;
            continue;
        }
        ninterp++;
        winterp += f->pts.weight[p];
        int inside = 0; /* between two evals at most 1.5x apart */
        for (int j = 0; j + 1 < 9; j++)
            inside |= t >= tk[j] * (1 - 1e-9) && t <= tk[j + 1] * (1 + 1e-9) &&
                      tk[j + 1] / tk[j] <= 1.5 + 1e-9;
        cr_assert(inside, "point at %g tokens interpolated across a gap", t);
    }
    cr_expect_gt(nmeas, 2);
    cr_expect_gt(ninterp, 2);
    cr_expect_leq(winterp, nmeas + 1e-9, "interpolated points outweigh the measured");
    /* the plain envelope has gaps too: no curve defined 3x past a cluster */
    double C[200], L[200];
    int run[200], ngap = 0;
    cr_assert_eq(fit_envelope(&d, &o, 200, C, L, run, err, sizeof err), 0, "%s", err);
    for (int j = 0; j < 200; j++)
        ngap += run[j] < 0;
    cr_expect_gt(ngap, 0);
    free(f);
    fit_data_free(&d);
}

Test(fit, envelope_takes_the_lower_curve) {
    util_rng r;
    util_rng_seed(&r, 6, "test");
    fit_data d;
    curves(&d, &r, 0.0);
    fit_opts o;
    fit_opts_defaults(&o);
    double C[50], L[50];
    int run[50];
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_envelope(&d, &o, 50, C, L, run, err, sizeof err), 0, "%s", err);
    NEAR(C[0], 6 * 1e7 * 1e8, 1e10);         /* smallest model, first eval */
    NEAR(C[49], 6 * 1e7 * 512 * 1e12, 1e17); /* largest model, last eval */
    cr_expect_eq(run[0], 0);
    cr_expect_eq(run[49], 9);
    for (int j = 0; j < 50; j++) {
        cr_assert(run[j] >= 0);
        /* no run is below the envelope where its curve is defined */
        for (int k = 0; k < d.nruns; k++) {
            double N = d.runs[k].n_total, t = C[j] / (6 * N);
            if (t >= 1e8 * 1.3 && t <= 1e12 / 1.3)
                cr_expect(L[j] <= chin(N, t) * 1.002, "envelope above run %d at C %g", k, C[j]);
        }
    }
    /* the run on the envelope at large C is larger than at small C */
    cr_expect(d.runs[run[40]].n_total > d.runs[run[10]].n_total);
    fit_data_free(&d);
}

/* Curves that sit on the unigram plateau ln 256 through warm-up and then
 * follow L = (Cc/C)^0.1: L(Cmin) starts after the transient and recovers
 * 0.1; through the plateau (no vocabulary or warm-up known) it does not. */
static void plateau_curves(fit_data *d, int known) {
    const double Cc = 1.024e16, Cw = 5e8; /* L(1e13) = 2; warm-up ends at Cw FLOPs */
    d->nruns = 3;
    d->runs = calloc(3, sizeof *d->runs);
    for (int k = 0; k < 3; k++) {
        double N = 1e6 * pow(2, k), Cend = 1e13 / pow(2, 2 - k);
        fit_run *r = &d->runs[k];
        *r = mk_run(k, N, Cend / (6 * N), 0);
        int m = (int)floor(log(Cend / 1e7) / log(1.2)) + 1;
        r->ncurve = m;
        r->curve_tokens = malloc((size_t)m * sizeof(double));
        r->curve_loss = malloc((size_t)m * sizeof(double));
        for (int j = 0; j < m; j++) {
            double C = 1e7 * pow(1.2, j);
            r->curve_tokens[j] = C / (6 * N);
            r->curve_loss[j] = C < Cw ? log(256) : fmin(log(256), pow(Cc / C, 0.1));
        }
        r->loss = r->curve_loss[m - 1];
        r->n_vocab = known ? 256 : 0;
        r->warmup_tokens = known ? Cw / (6 * N) : 0;
    }
}

Test(fit, kaplan_Cmin_starts_after_the_transient_and_has_both_forms) {
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    char err[UTIL_ERRLEN];
    fit_kaplan *k = calloc(1, sizeof *k);
    fit_data d;
    plateau_curves(&d, 1);
    cr_assert_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), 0, "%s", err);
    NEAR(k->LC.alpha.est, 0.1, 2e-3);
    cr_expect(isfinite(k->LC_from) && k->LC_from >= 2.5e9, "starts at %g", k->LC_from);
    cr_expect_eq(k->LC_other_with_E, 1);
    cr_expect(isfinite(k->LC_other.alpha.est) && isfinite(k->LC_other.E.est));
    cr_expect(k->LC_other.E.est < 0.2, "E %g of a pure power law", k->LC_other.E.est);
    fit_data_free(&d);
    plateau_curves(&d, 0); /* the plateau in the fit: another slope */
    cr_assert_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), 0, "%s", err);
    cr_expect(fabs(k->LC.alpha.est - 0.1) > 0.01, "alpha %g", k->LC.alpha.est);
    cr_expect(!isfinite(k->LC_from));
    fit_data_free(&d);
    free(k);
}

Test(fit, kaplan_power_laws) {
    util_rng r;
    util_rng_seed(&r, 7, "test");
    fit_data d = {0, calloc(20, sizeof(fit_run))};
    /* L(N) from 10 sizes on unlimited data, L(D) from 10 data-limited runs */
    for (int k = 0; k < 10; k++) {
        double N = 1e6 * pow(10, k / 3.0);
        d.runs[d.nruns++] =
            mk_run(k, N, 1e10, pow(8.8e13 / N, 0.076) * exp(0.002 * util_rng_normal(&r)));
    }
    for (int k = 0; k < 10; k++) {
        double D = 1e7 * pow(10, k / 3.0);
        fit_run run =
            mk_run(10 + k, 1e9, 1e11, pow(5.4e13 / D, 0.095) * exp(0.002 * util_rng_normal(&r)));
        run.unique_tokens = D;
        d.runs[d.nruns++] = run;
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 40;
    fit_kaplan *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_kaplan_laws(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f->LN.npoints, 10);
    NEAR(f->LN.alpha.est, 0.076, 0.005);
    NEAR(log10(f->LN.Xc.est), log10(8.8e13), 0.5);
    cr_assert(f->have_LD);
    cr_expect_eq(f->LD.npoints, 10);
    NEAR(f->LD.alpha.est, 0.095, 0.005);
    NEAR(log10(f->LD.Xc.est), log10(5.4e13), 0.5);
    cr_expect(f->LN.alpha.lo < 0.076 + 0.005 && f->LN.alpha.hi > 0.076 - 0.005);
    free(f);
    free_flat(&d);
}

Test(fit, kaplan_with_irreducible_term) {
    util_rng r;
    util_rng_seed(&r, 8, "test");
    fit_data d = {0, calloc(12, sizeof(fit_run))};
    for (int k = 0; k < 12; k++) {
        double N = 1e6 * pow(10, k / 3.0);
        d.runs[d.nruns++] =
            mk_run(k, N, 1e10, (1.5 + pow(1e8 / N, 0.3)) * exp(0.001 * util_rng_normal(&r)));
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    o.with_E = 1;
    fit_kaplan *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_kaplan_laws(&d, &o, f, err, sizeof err), 0, "%s", err);
    NEAR(f->LN.E.est, 1.5, 0.05);
    NEAR(f->LN.alpha.est, 0.3, 0.03);
    NEAR(log10(f->LN.Xc.est), 8, 0.2);
    free(f);
    free_flat(&d);
}

Test(fit, kaplan_joint_law_and_Cmin) {
    util_rng r;
    util_rng_seed(&r, 9, "test");
    /* joint law on a 6 x 6 grid of (N, D) */
    fit_data d = {0, calloc(36, sizeof(fit_run))};
    const double Nc = 8.8e13, Dc = 5.4e13, aN = 0.076, aD = 0.095;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double N = 1e6 * pow(10, i * 0.6), D = 1e8 * pow(10, j * 0.6);
            double L = pow(pow(Nc / N, aN / aD) + Dc / D, aD);
            d.runs[d.nruns] = mk_run(d.nruns, N, D, L * exp(0.001 * util_rng_normal(&r)));
            d.nruns++;
        }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_kaplan *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_kaplan_laws(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_assert(f->have_joint, "%s", f->warning);
    NEAR(f->aN.est, aN, 0.01);
    NEAR(f->aD.est, aD, 0.01);
    NEAR(log10(f->Nc.est), log10(Nc), 1.0);
    NEAR(log10(f->Dc.est), log10(Dc), 1.0);
    free_flat(&d);

    /* L(Cmin): every curve follows the same power law of compute, with noise */
    fit_data c = {5, calloc(5, sizeof(fit_run))};
    for (int k = 0; k < 5; k++) {
        double N = 1e7 * pow(3, k);
        c.runs[k] = mk_run(k, N, 1e11, 0);
        c.runs[k].ncurve = 30;
        c.runs[k].curve_tokens = malloc(30 * sizeof(double));
        c.runs[k].curve_loss = malloc(30 * sizeof(double));
        for (int j = 0; j < 30; j++) {
            double t = 1e8 * pow(10, j / 10.0);
            c.runs[k].curve_tokens[j] = t;
            c.runs[k].curve_loss[j] =
                pow(2.7e28 / (6 * N * t), 0.05) * exp(0.001 * util_rng_normal(&r));
        }
        c.runs[k].loss = c.runs[k].curve_loss[29];
    }
    cr_assert_eq(fit_kaplan_laws(&c, &o, f, err, sizeof err), 0, "%s", err);
    NEAR(f->LC.alpha.est, 0.05, 0.002);
    NEAR(log10(f->LC.Xc.est), log10(2.7e28), 0.3);
    free(f);
    fit_data_free(&c);
}

/* ---- Bootstrap coverage ------------------------------------------------------ */

Test(fit, bootstrap_intervals_cover_the_truth_at_about_the_nominal_rate, .timeout = 600) {
    enum { DRAWS = 40 };
    util_rng r;
    util_rng_seed(&r, 10, "test");
    int cover[4] = {0}, cover2 = 0;
    fit_approach3 *f = calloc(1, sizeof *f);
    fit_frontier *g = calloc(1, sizeof *g);
    char err[UTIL_ERRLEN];
    for (int k = 0; k < DRAWS; k++) {
        fit_data d;
        isoflop(&d, &r, 0.01);
        fit_opts o;
        fit_opts_defaults(&o);
        o.bootstrap = 200;
        o.seed = 1000 + k;
        o.a3_starts = 16;     /* a few grid starts keep this test within budget */
        o.a3_boot_starts = 8; /* (each resample ranks all 4500 and refits from 8) */
        cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
        fit_val *v[4] = {&f->E, &f->alpha, &f->beta, &f->a};
        double truth[4] = {T[0], T[3], T[4], T_A};
        for (int q = 0; q < 4; q++)
            cover[q] += v[q]->lo <= truth[q] && truth[q] <= v[q]->hi;
        cr_assert_eq(fit_approach2(&d, &o, g, err, sizeof err), 0, "%s", err);
        /* Approach 2's parabola is biased; its truth is its noiseless limit */
        cover2 += g->b.lo <= T_B + 0.01 && T_B - 0.01 <= g->b.hi;
        free_flat(&d);
    }
    const char *names[4] = {"E", "alpha", "beta", "a"};
    for (int q = 0; q < 4; q++)
        cr_expect(cover[q] >= 0.8 * DRAWS,
                  "approach 3 %s: 95%% interval covered the truth in %d of %d draws", names[q],
                  cover[q], DRAWS);
    cr_expect(cover2 >= 0.8 * DRAWS, "approach 2 b: covered in %d of %d", cover2, DRAWS);
    cr_log_info(
        "coverage of 95%% intervals over %d draws: E %d alpha %d beta %d a %d; approach 2 b %d",
        DRAWS, cover[0], cover[1], cover[2], cover[3], cover2);
    free(f);
    free(g);
}

/* ---- Published data ------------------------------------------------------------ */

Test(fit, chinchilla_figure4_reconstruction_gives_besiroglu_estimates, .timeout = 600) {
    const char *path = getenv("SCALING_CHINCHILLA_CSV");
    if (!path || !*path)
        cr_skip("SCALING_CHINCHILLA_CSV not set: give it the path of a copy of Besiroglu et al. "
                "2024's svg_extracted_data.csv to check Approach 3 against their estimates");
    fit_data d;
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_load_csv(&d, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.nruns, 245);
    /* As Besiroglu et al. did: leave out the 5 runs of highest loss (240 remain). */
    for (int e = 0; e < 5; e++) {
        int m = 0;
        for (int i = 1; i < d.nruns; i++)
            if (d.runs[i].loss > d.runs[m].loss) m = i;
        fit_run t = d.runs[m];
        d.runs[m] = d.runs[d.nruns - 1];
        d.runs[d.nruns - 1] = t;
        d.nruns--;
    }
    fit_opts o;
    fit_opts_defaults(&o); /* Huber delta 1e-3, the full grid */
    o.bootstrap = 0;
    fit_approach3 *f = calloc(1, sizeof *f);
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_log_info("Chinchilla data, approach 3: E %.4f A %.2f B %.2f alpha %.4f beta %.4f a %.4f "
                "b %.4f objective %.6g",
                f->E.est, f->A.est, f->B.est, f->alpha.est, f->beta.est, f->a.est, f->b.est,
                f->objective);
    /* Besiroglu et al. 2024, Table 1: E 1.82, A 482.01, B 2085.43, alpha 0.3478,
     * beta 0.3658. A and B trade off against alpha and beta along a flat valley,
     * so they are compared relatively. */
    NEAR(f->E.est, 1.82, 0.01);
    NEAR(f->alpha.est, 0.3478, 0.005);
    NEAR(f->beta.est, 0.3658, 0.005);
    NEAR(f->A.est / 482.01, 1, 0.05);
    NEAR(f->B.est / 2085.43, 1, 0.10);
    NEAR(f->a.est, 0.3658 / (0.3478 + 0.3658), 0.005);
    d.nruns += 5;
    fit_data_free(&d);
    free(f);
}

/* ---- Degenerate input ----------------------------------------------------------- */

static fit_data small(int n, double spread) {
    fit_data d = {n, calloc(n, sizeof(fit_run))};
    for (int i = 0; i < n; i++) {
        double N = 1e8 * pow(10, spread * i), D = 1e10 * pow(10, 0.3 * i);
        d.runs[i] = mk_run(i, N, D, chin(N, D));
        d.runs[i].budget = 1e20 * (i % 2 ? 1 : 10);
    }
    return d;
}

Test(fit, degenerate_input_is_an_error) {
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    o.a3_starts = 8;
    char err[UTIL_ERRLEN];
    fit_approach3 *f = calloc(1, sizeof *f);
    fit_frontier *g = calloc(1, sizeof *g);
    fit_kaplan *k = calloc(1, sizeof *k);

    fit_data d = small(4, 0.3); /* fewer points than parameters */
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "need at least 6") != NULL, "%s", err);
    free(d.runs);

    d = small(2, 0.3);
    cr_expect_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "model sizes") != NULL, "%s", err);
    free(d.runs);

    d = small(10, 0.0); /* all runs the same size */
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "same size") != NULL, "%s", err);
    cr_expect_eq(fit_approach2(&d, &o, g, err, sizeof err), UTIL_EINVAL);
    cr_expect_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), UTIL_EINVAL);
    free(d.runs);

    d = small(10, 0.3);
    d.runs[3].loss = -1; /* non-positive loss */
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "r3") && strstr(err, "loss is -1"), "%s", err);
    cr_expect_eq(fit_approach2(&d, &o, g, err, sizeof err), UTIL_EINVAL);
    cr_expect_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), UTIL_EINVAL);
    d.runs[3].loss = NAN; /* NaN */
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "loss is nan") != NULL, "%s", err);
    d.runs[3].loss = 3.0;
    d.runs[5].n_total = NAN;
    cr_expect_eq(fit_approach1(&d, &o, g, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "parameter count") != NULL, "%s", err);
    d.runs[5].n_total = 1e9;
    /* no curves: approach 1 says so; two budgets of 5 distinct sizes each fit */
    cr_expect_eq(fit_approach1(&d, &o, g, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "learning curves") != NULL, "%s", err);
    for (int i = 0; i < 10; i++)
        d.runs[i].budget = 1e20; /* one budget only */
    cr_expect_eq(fit_approach2(&d, &o, g, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "need at least 2") != NULL, "%s", err);
    free(d.runs);
    free(f);
    free(g);
    free(k);
}

/* ---- Loaders ----------------------------------------------------------------------- */

static char tmp_path[64];

static void tmp_cleanup(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_path);
    if (system(cmd) != 0) fprintf(stderr, "test_fit: could not remove %s\n", tmp_path);
}

/* A fresh directory under /tmp, removed when the test's process exits. */
static char *tmpdir(void) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/test_fit_XXXXXX");
    cr_assert(mkdtemp(tmp_path) != NULL);
    atexit(tmp_cleanup);
    return tmp_path;
}

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    cr_assert(fp != NULL, "%s", path);
    fputs(text, fp);
    fclose(fp);
}

Test(fit, csv_loader_contract_and_errors) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN];
    fit_data d;
    snprintf(p, sizeof p, "%s/a.csv", dir);
    write_file(p, "name,params,flops,loss\nx,1e8,6e18,3.0\ny,\"2e8\",1.2e19,2.9\r\n\n");
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.nruns, 2);
    NEAR(d.runs[0].tokens, 6e18 / (6 * 1e8), 1);
    NEAR(d.runs[1].n_total, 2e8, 0);
    NEAR(fit_run_flops(&d.runs[1], FIT_PARAMS_TOTAL, MODEL_FLOPS_CHINCHILLA), 1.2e19, 1e6);
    cr_expect(isnan(d.runs[0].budget));
    fit_data_free(&d);

    /* the published file's names are accepted too */
    write_file(p, "x,Model Size,Training FLOP,loss\n1,1e8,6e18,3\n");
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    NEAR(d.runs[0].tokens, 1e10, 1);
    fit_data_free(&d);

    write_file(p, "params,tokens,loss,budget\n1e8,1e10,3,6e18\n");
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    NEAR(d.runs[0].budget, 6e18, 0);
    NEAR(fit_run_flops(&d.runs[0], FIT_PARAMS_TOTAL, MODEL_FLOPS_CHINCHILLA), 6e18, 1e3);
    fit_data_free(&d);

    write_file(p, "params,loss\n1e8,3\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, ":1: header must name") != NULL, "%s", err);
    write_file(p, "params,tokens,loss\n1e8,1e10,3\n2e8,1e10,nan\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, ":3: column 3 ('loss')") && strstr(err, "'nan'"), "%s", err);
    write_file(p, "params,tokens,loss\n1e8,1e10,-2\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, ":2:") != NULL, "%s", err);
    write_file(p, "params,tokens,loss\n1e8,,3\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "empty") != NULL, "%s", err);
    write_file(p, "params,tokens,loss\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    snprintf(p, sizeof p, "%s/missing.csv", dir);
    cr_expect_neq(fit_load_csv(&d, p, err, sizeof err), 0);
}

/* A CSV's unique_tokens column means what the database's does: those runs
 * repeat their data, and Kaplan's L(D) is fitted from them. */
Test(fit, csv_unique_tokens_feeds_kaplan_LD) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN];
    snprintf(p, sizeof p, "%s/ld.csv", dir);
    FILE *fp = fopen(p, "w");
    cr_assert(fp != NULL);
    fprintf(fp, "params,tokens,loss,unique_tokens\n");
    for (int k = 0; k < 10; k++) { /* unlimited data: an empty cell, or 0 */
        double N = 1e6 * pow(10, k / 3.0);
        fprintf(fp, "%.17g,1e10,%.17g,%s\n", N, pow(8.8e13 / N, 0.076), k % 2 ? "0" : "");
    }
    for (int k = 0; k < 10; k++) {
        double D = 1e7 * pow(10, k / 3.0);
        fprintf(fp, "1e9,1e11,%.17g,%.17g\n", pow(5.4e13 / D, 0.095), D);
    }
    fclose(fp);
    fit_data d;
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.nruns, 20);
    cr_expect_eq(d.runs[0].unique_tokens, 0);
    cr_expect_eq(d.runs[1].unique_tokens, 0);
    NEAR(d.runs[10].unique_tokens, 1e7, 0);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_kaplan *f = calloc(1, sizeof *f);
    cr_assert_eq(fit_kaplan_laws(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_assert(f->have_LD, "L(D) not fitted: %s", f->warning);
    cr_expect_eq(f->LD.npoints, 10);
    NEAR(f->LD.alpha.est, 0.095, 1e-6);
    cr_expect_eq(f->LN.npoints, 10); /* L(N) keeps to the runs on unlimited data */
    NEAR(f->LN.alpha.est, 0.076, 1e-6);
    free(f);
    fit_data_free(&d);
    write_file(p, "params,tokens,loss,unique_tokens\n1e8,1e10,3,-5\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, ":2: column 4 ('unique_tokens')") && strstr(err, "non-negative"), "%s",
              err);
}

Test(fit, budget_groups_cluster_csv_flops) {
    fit_data d = {6, calloc(6, sizeof(fit_run))};
    double C[6] = {9.9e18, 1.02e19, 9.3e18, 3e19, 3.1e19, 1e21};
    for (int i = 0; i < 6; i++)
        d.runs[i] = mk_run(i, 1e8, C[i] / 6e8, 3);
    int g[6], ng;
    cr_assert_eq(fit_budget_groups(&d, FIT_PARAMS_TOTAL, MODEL_FLOPS_6ND, g, &ng), 0);
    cr_expect_eq(ng, 3);
    cr_expect(g[0] == g[1] && g[1] == g[2] && g[3] == g[4] && g[0] != g[3] && g[5] != g[3]);
    free(d.runs);
}

Test(fit, loads_finished_runs_and_curves_from_the_database) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN];
    snprintf(p, sizeof p, "%s/r.db", dir);
    store *s;
    cr_assert_eq(store_open(&s, p, STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(s, "iso", "isoflop", "", "{}", err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 3; i++) {
        store_run r;
        store_run_init(&r);
        snprintf(r.id, sizeof r.id, "run%d", i);
        snprintf(r.sweep, sizeof r.sweep, "iso");
        snprintf(r.label, sizeof r.label, "b1e15");
        r.params_total = 1000000 * (i + 1);
        r.params_embedding = 100000;
        r.params_nonembedding = r.params_total - 100000;
        r.flops_per_token_chinchilla = 6.5 * r.params_total;
        r.flops_per_token_kaplan = 6.0 * r.params_nonembedding;
        r.tokens = 50000000;
        r.unique_tokens = i == 2 ? 1000000 : 0;
        r.compute_budget = 1e15;
        /* a shape (for --flops actual), steps and epochs (for Approach 3's domain) */
        r.n_layer = 2, r.d_model = 32 * (i + 1), r.n_head = 4, r.d_ff = 128 * (i + 1);
        r.n_ctx = 64, r.n_vocab = 256, r.batch = 16, r.warmup = 100;
        r.epochs = i == 1 ? 5.0 : 0.5;
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
        for (int j = 1; j <= 4; j++)
            cr_assert_eq(store_add_eval(s, r.id, j * 10, j * 12500000LL, 0, 5.0 - 0.5 * j - 0.1 * i,
                                        NAN, err, sizeof err),
                         0, "%s", err);
        if (i == 0) { /* the final eval's windows: for noise draws */
            const float w[3] = {2.9f, 3.0f, 3.1f};
            cr_assert_eq(store_put_final_eval(s, r.id, 64, w, 3, err, sizeof err), 0, "%s", err);
        }
        if (i < 2) { /* run2 stays unfinished */
            r.final_val_loss = 3.0 - 0.1 * i;
            r.best_val_loss = 2.9 - 0.1 * i;
            r.tokens_done = 50000000;
            snprintf(r.status, sizeof r.status, "done");
            cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
        }
        store_run_free_fields(&r);
    }
    fit_data d;
    cr_assert_eq(fit_load_store(&d, s, "iso", err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.nruns, 2, "only finished runs");
    cr_expect_str_eq(d.runs[1].id, "run1");
    NEAR(d.runs[1].n_total, 2e6, 0);
    NEAR(d.runs[1].n_nonemb, 1.9e6, 0);
    NEAR(d.runs[1].budget, 1e15, 0);
    NEAR(d.runs[1].loss, 2.9, 1e-12);
    cr_assert_eq(d.runs[1].ncurve, 4);
    NEAR(d.runs[1].curve_tokens[3], 5e7, 0);
    NEAR(d.runs[1].curve_loss[3], 2.9, 1e-12);
    NEAR(fit_run_best_loss(&d.runs[0]), 3.0, 1e-12);
    cr_assert_eq(d.runs[0].nwin, 3);
    cr_assert_eq(d.runs[0].win_ctx, 64);
    NEAR(d.runs[0].win[2], 3.1, 1e-6);
    cr_assert_eq(d.runs[1].nwin, 0, "stored without windows");
    cr_assert_eq(fit_noise_missing(&d), 1);
    cr_assert_neq(d.runs[0].config, 0);
    cr_assert_neq(d.runs[0].config, d.runs[1].config, "different sizes");
    NEAR(fit_run_flops(&d.runs[0], FIT_PARAMS_TOTAL, MODEL_FLOPS_CHINCHILLA), 6.5e6 * 5e7, 1);
    NEAR(fit_run_flops(&d.runs[0], FIT_PARAMS_NONEMB, MODEL_FLOPS_KAPLAN), 6 * 0.9e6 * 5e7, 1);
    NEAR(fit_run_flops(&d.runs[0], FIT_PARAMS_NONEMB, MODEL_FLOPS_6ND), 6 * 0.9e6 * 5e7, 1);
    /* --flops actual: the run's shape counted by model_flops_actual */
    model_shape sh1 = {2, 64, 4, 256, 64, 256};
    NEAR(d.runs[1].fpt_actual, model_flops_actual(&sh1), 0);
    NEAR(fit_run_flops(&d.runs[1], FIT_PARAMS_TOTAL, MODEL_FLOPS_ACTUAL),
         model_flops_actual(&sh1) * 5e7, 1);
    /* the domain's quantities: warm-up 100 steps of 16 x 64 tokens, epochs */
    NEAR(d.runs[1].warmup_tokens, 100 * 16 * 64, 0);
    NEAR(d.runs[1].epochs, 5.0, 0);
    char why[160];
    cr_expect_eq(fit_a3_outside(&d.runs[0], FIT_PARAMS_TOTAL, why, sizeof why), 0, "%s", why);
    cr_expect_eq(fit_a3_outside(&d.runs[1], FIT_PARAMS_TOTAL, why, sizeof why), 1);
    cr_expect_str_eq(why, "5 epochs (> 4)");
    fit_data_free(&d);
    cr_assert_eq(fit_load_store(&d, s, "nosuch", err, sizeof err), 0, "%s", err);
    cr_expect_eq(d.nruns, 0);
    fit_data_free(&d);
    store_close(s);
}

/* A WSD family: each member a finished run at its own budget; one envelope
 * curve on the trunk through the cooldown ends, none elsewhere. With chain,
 * an adaptive sweep's chain instead: w1 forks from w0 and w2 from w1. */
static void wsd_family_curve(int chain) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN];
    snprintf(p, sizeof p, "%s/w.db", dir);
    store *s;
    cr_assert_eq(store_open(&s, p, STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(s, "w", "isoflop", "", "{}", err, sizeof err), 0, "%s", err);
    /* trunk, two branches; w3 a WSD run alone (no family) */
    int64_t tok[4] = {40000000, 10000000, 20000000, 30000000};
    double loss[4] = {2.5, 3.1, 2.8, 2.7};
    if (chain) { /* budget by budget */
        tok[0] = 10000000, tok[1] = 20000000, tok[2] = 40000000;
        loss[0] = 3.1, loss[1] = 2.8, loss[2] = 2.5;
    }
    for (int i = 0; i < 4; i++) {
        store_run r;
        store_run_init(&r);
        snprintf(r.id, sizeof r.id, "w%d", i);
        snprintf(r.schedule, sizeof r.schedule, "wsd");
        snprintf(r.sweep, sizeof r.sweep, "w");
        r.params_total = 1000000;
        r.params_nonembedding = 900000;
        r.flops_per_token_chinchilla = 6.5e6;
        r.tokens = tok[i];
        r.compute_budget = 6.5e6 * (double)tok[i];
        if (i && i < 3) {
            snprintf(r.parent_run, sizeof r.parent_run, "w%d", chain ? i - 1 : 0);
            r.fork_tokens = (chain ? tok[i - 1] : tok[i]) * 4 / 5;
        }
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
        /* constant-lr evals of the trunk lie above the annealed ends */
        for (int j = 1; j <= 4; j++)
            cr_assert_eq(store_add_eval(s, r.id, j, tok[i] * j / 4, 0,
                                        loss[i] + 0.4 * (4 - j) + 0.2, NAN, err, sizeof err),
                         0, "%s", err);
        r.final_val_loss = loss[i];
        r.tokens_done = tok[i];
        snprintf(r.status, sizeof r.status, "done");
        cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
        store_run_free_fields(&r);
    }
    fit_data d;
    cr_assert_eq(fit_load_store(&d, s, "w", err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.nruns, 4);
    cr_expect_str_eq(d.runs[0].id, "w0");
    /* the run alone keeps its annealed end only, not its stable-lr evals */
    cr_assert_eq(d.runs[3].ncurve, 1);
    NEAR(d.runs[3].curve_tokens[0], 3e7, 0);
    NEAR(d.runs[3].curve_loss[0], 2.7, 1e-12);

    cr_expect_str_eq(d.runs[1].parent, "w0");
    cr_expect_str_eq(d.runs[2].parent, chain ? "w1" : "w0");
    for (int i = 0; i < 3; i++) { /* each at its own budget and final loss */
        NEAR(d.runs[i].tokens, (double)tok[i], 0);
        NEAR(d.runs[i].loss, loss[i], 1e-12);
        NEAR(d.runs[i].budget, 6.5e6 * (double)tok[i], 1);
    }
    cr_assert_eq(d.runs[0].ncurve, 3);
    cr_assert_eq(d.runs[1].ncurve, 0);
    cr_assert_eq(d.runs[2].ncurve, 0);
    const double want_t[3] = {1e7, 2e7, 4e7}, want_l[3] = {3.1, 2.8, 2.5};
    for (int k = 0; k < 3; k++) {
        NEAR(d.runs[0].curve_tokens[k], want_t[k], 0);
        NEAR(d.runs[0].curve_loss[k], want_l[k], 1e-12);
    }
    fit_data_free(&d);
    store_close(s);
}

Test(fit, wsd_family_gives_one_curve_through_its_cooldown_ends) {
    wsd_family_curve(0);
}

Test(fit, wsd_chain_gives_one_curve_on_its_first_run) {
    wsd_family_curve(1);
}

/* ---- Noise draws (fit_noise.c) ------------------------------------------------------ */

/* Three runs on the same 200 windows (a shared text difficulty base[k] plus a
 * run offset), one configuration run under two seeds, one run without
 * windows. */
static void noise_data(fit_data *d) {
    enum { W = 200 };
    util_rng g;
    util_rng_seed(&g, 7, "test");
    float base[W];
    for (int k = 0; k < W; k++)
        base[k] = (float)(3.0 + 0.5 * util_rng_normal(&g)); /* a hard or easy window */
    d->nruns = 5;
    d->runs = calloc(5, sizeof *d->runs);
    const double off[5] = {0.0, 0.1, 0.25, 0.3, 0};
    for (int i = 0; i < 5; i++) {
        d->runs[i] = mk_run(i, 1e6 * (i + 1), 2e7, NAN);
        if (i == 4) {
            d->runs[i].loss = 2.9; /* no windows (a CSV row, say) */
            continue;
        }
        d->runs[i].win = malloc(W * sizeof(float));
        d->runs[i].nwin = W;
        d->runs[i].win_ctx = 64;
        double s = 0;
        for (int k = 0; k < W; k++)
            s += d->runs[i].win[k] = base[k] + (float)off[i];
        d->runs[i].loss = s / W;
    }
    /* runs 2 and 3: one configuration, two seeds */
    d->runs[2].config = d->runs[3].config = 42;
    d->runs[3].n_total = d->runs[3].n_nonemb = d->runs[2].n_total;
}

/* With one seed per configuration the interval cannot hold seed noise, and
 * the note says so; with a repeated seed it does not. */
Test(fit, noise_note_says_when_seed_noise_is_missing) {
    fit_data d;
    noise_data(&d);
    char note[512] = "";
    fit_noise_note(&d, note, sizeof note);
    cr_expect(!strstr(note, "seed noise not included"), "%s", note);
    d.runs[3].config = 43; /* every configuration under one seed */
    note[0] = 0;
    fit_noise_note(&d, note, sizeof note);
    cr_expect(strstr(note, "seed noise not included"), "%s", note);
    fit_data_free(&d);
}

Test(fit, noise_draws_are_paired_unbiased_and_deterministic) {
    fit_data d, o, o2;
    char err[UTIL_ERRLEN];
    noise_data(&d);
    cr_assert_eq(fit_noise_missing(&d), 1);
    char note[128] = "";
    fit_noise_note(&d, note, sizeof note);
    cr_expect(strstr(note, "eval noise not included for 1 run"), "%s", note);
    util_rng r, r2;
    util_rng_seed(&r, 5, "bootstrap");
    util_rng_seed(&r2, 5, "bootstrap");
    enum { K = 4000 };
    double sum[5] = {0}, sd0 = 0;
    int moved = 0, seed_swaps = 0;
    for (int k = 0; k < K; k++) {
        cr_assert_eq(fit_noise_draw(&d, &o, &r, err, sizeof err), 0, "%s", err);
        cr_assert_eq(o.nruns, 5);
        if (k < 20) { /* the same seed gives the same draw */
            cr_assert_eq(fit_noise_draw(&d, &o2, &r2, err, sizeof err), 0, "%s", err);
            for (int i = 0; i < 5; i++)
                cr_assert_eq(o.runs[i].loss, o2.runs[i].loss);
            fit_data_free(&o2);
        }
        /* paired: the same windows for every run, so the offsets between
         * runs survive exactly while each loss moves */
        NEAR(o.runs[1].loss - o.runs[0].loss, 0.1, 1e-5);
        moved += fabs(o.runs[0].loss - d.runs[0].loss) > 1e-3;
        sd0 += (o.runs[0].loss - d.runs[0].loss) * (o.runs[0].loss - d.runs[0].loss);
        /* seeds: each of runs 2 and 3 takes one of the two seeds' losses,
         * with the same window draw */
        double o2l = o.runs[2].loss - o.runs[0].loss, o3l = o.runs[3].loss - o.runs[0].loss;
        cr_assert(fabs(o2l - 0.25) < 1e-5 || fabs(o2l - 0.3) < 1e-5, "%g", o2l);
        cr_assert(fabs(o3l - 0.25) < 1e-5 || fabs(o3l - 0.3) < 1e-5, "%g", o3l);
        seed_swaps += fabs(o2l - 0.3) < 1e-5;
        cr_assert_eq(o.runs[4].loss, 2.9, "a run without windows keeps its loss");
        /* the design stays */
        for (int i = 0; i < 5; i++) {
            cr_assert_eq(o.runs[i].n_total, d.runs[i].n_total);
            cr_assert_eq(o.runs[i].tokens, d.runs[i].tokens);
            cr_assert_null(o.runs[i].win);
        }
        for (int i = 0; i < 5; i++)
            sum[i] += o.runs[i].loss;
        fit_data_free(&o);
    }
    cr_expect_gt(moved, K / 2, "the eval noise moves the losses");
    /* the window mean's standard error: 0.5 / sqrt(200) = 0.035 */
    sd0 = sqrt(sd0 / K);
    cr_expect(sd0 > 0.025 && sd0 < 0.045, "sd %g", sd0);
    cr_expect(seed_swaps > K / 3 && seed_swaps < 2 * K / 3, "%d", seed_swaps);
    /* unbiased: the mean over draws is the point estimate (runs 2 and 3:
     * the mean of their configuration's seeds) */
    for (int i = 0; i < 5; i++) {
        double want = i == 2 || i == 3 ? 0.5 * (d.runs[2].loss + d.runs[3].loss) : d.runs[i].loss;
        NEAR(sum[i] / K, want, 4 * sd0 / sqrt(K));
    }
    fit_data_free(&d);
}

/* Approach 2's default bootstrap redraws the eval windows: with windows
 * whose run-specific noise is sigma 0.05 over 100 windows (0.005 per loss),
 * its interval brackets the estimate and differs from the runs bootstrap. */
Test(fit, approach2_bootstraps_eval_noise_by_default) {
    util_rng r;
    util_rng_seed(&r, 21, "test");
    fit_data d;
    isoflop(&d, &r, 0.0);
    float base[100];
    for (int k = 0; k < 100; k++)
        base[k] = (float)(0.3 * util_rng_normal(&r));
    for (int i = 0; i < d.nruns; i++) {
        fit_run *x = &d.runs[i];
        x->win = malloc(100 * sizeof(float));
        x->nwin = 100, x->win_ctx = 64;
        double sum = 0;
        for (int k = 0; k < 100; k++)
            sum += x->win[k] = (float)(x->loss + base[k] + 0.05 * util_rng_normal(&r));
        x->loss = sum / 100;
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 100;
    fit_frontier *f = calloc(1, sizeof *f), *g = calloc(1, sizeof *g);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach2(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect(f->a.lo < f->a.est && f->a.est < f->a.hi, "[%g, %g] around %g", f->a.lo, f->a.hi,
              f->a.est);
    NEAR(f->a.est, T_A, 0.03);
    cr_expect(!strstr(f->warning, "eval noise not included"), "%s", f->warning);
    o.bootstrap_mode = FIT_BOOT_RUNS;
    cr_assert_eq(fit_approach2(&d, &o, g, err, sizeof err), 0, "%s", err);
    cr_expect_eq(g->a.est, f->a.est);
    cr_expect(g->a.lo != f->a.lo || g->a.hi != f->a.hi);
    free(f);
    free(g);
    fit_data_free(&d);
}

/* A WSD trunk's family curve takes its members' drawn losses. */
Test(fit, noise_draw_moves_a_family_curve_with_its_members) {
    fit_data d, o;
    char err[UTIL_ERRLEN];
    noise_data(&d);
    /* run 0 the trunk, run 1 its branch at half the tokens */
    d.runs[1].n_total = d.runs[1].n_nonemb = d.runs[0].n_total;
    d.runs[1].tokens = 1e7;
    snprintf(d.runs[1].parent, sizeof d.runs[1].parent, "%s", d.runs[0].id);
    d.runs[0].ncurve = 2;
    d.runs[0].curve_tokens = malloc(2 * sizeof(double));
    d.runs[0].curve_loss = malloc(2 * sizeof(double));
    d.runs[0].curve_tokens[0] = 1e7, d.runs[0].curve_loss[0] = d.runs[1].loss;
    d.runs[0].curve_tokens[1] = 2e7, d.runs[0].curve_loss[1] = d.runs[0].loss;
    util_rng r;
    util_rng_seed(&r, 9, "bootstrap");
    for (int k = 0; k < 10; k++) {
        cr_assert_eq(fit_noise_draw(&d, &o, &r, err, sizeof err), 0, "%s", err);
        cr_assert_eq(o.runs[0].ncurve, 2);
        cr_assert_eq(o.runs[0].curve_loss[0], o.runs[1].loss);
        cr_assert_eq(o.runs[0].curve_loss[1], o.runs[0].loss);
        fit_data_free(&o);
    }
    fit_data_free(&d);
}

/* ---- JSON --------------------------------------------------------------------------- */

Test(fit, json_round_trip) {
    util_rng r;
    util_rng_seed(&r, 11, "test");
    fit_data d;
    isoflop(&d, &r, 0.01);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 30;
    o.a3_starts = 8;
    fit_approach3 *f = calloc(1, sizeof *f), *back = calloc(1, sizeof *back);
    fit_frontier *g = calloc(1, sizeof *g), *gb = calloc(1, sizeof *gb);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    char *js = fit_approach3_json(f);
    cr_assert(js != NULL);
    cr_assert_eq(fit_approach3_from_json(back, js, err, sizeof err), 0, "%s", err);
    NEAR(back->alpha.est, f->alpha.est, 1e-12);
    NEAR(back->B.hi, f->B.hi, 1e-9 * f->B.hi);
    cr_expect_eq(back->nsamples, 30);
    NEAR(back->samples[29][4], f->samples[29][4], 1e-12);
    free(js);
    cr_assert_eq(fit_approach2(&d, &o, g, err, sizeof err), 0, "%s", err);
    js = fit_frontier_json(g);
    cr_assert_eq(fit_frontier_from_json(gb, js, err, sizeof err), 0, "%s", err);
    NEAR(gb->a.est, g->a.est, 1e-12);
    NEAR(gb->kD.lo, g->kD.lo, 1e-9 * fabs(g->kD.lo));
    free(js);
    cr_expect_eq(fit_approach3_from_json(back, "{\"E\": 1}", err, sizeof err), UTIL_ECORRUPT);
    cr_expect_eq(fit_frontier_from_json(gb, "not json", err, sizeof err), UTIL_ECORRUPT);
    js = fit_kaplan_json(&(fit_kaplan){0});
    cr_expect(js && strstr(js, "\"LD\":null"), "%s", js ? js : "(null)");
    free(js);
    free(f);
    free(back);
    free(g);
    free(gb);
    free_flat(&d);
}

/* ---- CLI --------------------------------------------------------------------------------- */

/* Runs `sh -c cmd`, output to out (if non-NULL, up to n bytes); returns exit status. */
static int run(const char *cmd, char *out, size_t n) {
    return tl_sh(out, n, "%s", cmd);
}

Test(fit, cli_fit_and_predict) {
    char *dir = tmpdir(), csv[256], db[256], cmd[1024];
    static char out[1 << 16];
    snprintf(csv, sizeof csv, "%s/iso.csv", dir);
    snprintf(db, sizeof db, "%s/f.db", dir);
    util_rng r;
    util_rng_seed(&r, 12, "test");
    fit_data d;
    isoflop(&d, &r, 0.005);
    FILE *fp = fopen(csv, "w");
    fprintf(fp, "params,tokens,loss\n");
    for (int i = 0; i < d.nruns; i++)
        fprintf(fp, "%.17g,%.17g,%.17g\n", d.runs[i].n_total, d.runs[i].tokens, d.runs[i].loss);
    fclose(fp);
    free_flat(&d);

    snprintf(cmd, sizeof cmd, "%s fit --csv %s --approach 2 --json --bootstrap 20 2>&1",
             SCALING_BIN, csv);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "\"approach2\"") && strstr(out, "\"a\"") && strstr(out, "\"lo\""), "%s",
              out);
    cr_expect(strstr(out, "\"approach3\"") == NULL);

    snprintf(cmd, sizeof cmd, "%s fit --csv %s --db %s --bootstrap 50 --starts 16 2>&1",
             SCALING_BIN, csv, db);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "Besiroglu 2024") && strstr(out, "approach1: skipped") &&
                  strstr(out, "stored as fit"),
              "%s", out);
    snprintf(cmd, sizeof cmd, "%s predict --compute 1e21 --db %s --json 2>&1", SCALING_BIN, db);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "\"law\":\t\"approach3\"") && strstr(out, "\"loss\""), "%s", out);
    double N = NAN;
    char *p = strstr(out, "\"N_opt\"");
    cr_assert(p && (p = strstr(p, "\"est\":")));
    sscanf(p + 6, "%lf", &N);
    NEAR(log(N), log(n_opt(1e21)), 0.3);

    snprintf(cmd, sizeof cmd, "%s predict --compute 1e21 --db %s --fit 999 2>&1", SCALING_BIN, db);
    cr_expect_eq(run(cmd, out, sizeof out), 1);
    cr_expect(strstr(out, "no fit with id 999") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s fit --approach 7 2>&1", SCALING_BIN);
    cr_expect_eq(run(cmd, out, sizeof out), 2);
    cr_expect(strstr(out, "--approach") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s fit --csv %s/none.csv --no-store 2>&1", SCALING_BIN, dir);
    cr_expect_eq(run(cmd, out, sizeof out), 1);
    snprintf(cmd, sizeof cmd, "%s fit --csv %s --approach 1 --no-store 2>&1", SCALING_BIN, csv);
    cr_expect_eq(run(cmd, out, sizeof out), 1);
    cr_expect(strstr(out, "learning curves") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s predict 2>&1", SCALING_BIN);
    cr_expect_eq(run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s fit --help", SCALING_BIN);
    cr_expect_eq(run(cmd, out, sizeof out), 0);
    cr_expect(strstr(out, "usage: scaling fit") != NULL);
}

Test(fit, cli_fits_a_sweep_from_the_database_and_stores_every_law) {
    char *dir = tmpdir(), db[256], cmd[1024], err[UTIL_ERRLEN];
    static char out[1 << 16];
    snprintf(db, sizeof db, "%s/sweep.db", dir);
    store *s;
    cr_assert_eq(store_open(&s, db, STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(s, "iso", "isoflop", "", "{}", err, sizeof err), 0, "%s", err);
    util_rng r;
    util_rng_seed(&r, 13, "test");
    int id = 0;
    for (int b = 0; b < 5; b++) {
        double C = pow(10, 18 + b);
        for (int k = 0; k < 9; k++) {
            double N = round(n_opt(C) * pow(10, 0.2 * (k - 4))), D = round(C / (6 * N));
            store_run run;
            store_run_init(&run);
            snprintf(run.id, sizeof run.id, "run%d", id++);
            snprintf(run.sweep, sizeof run.sweep, "iso");
            run.params_total = (int64_t)N;
            run.params_embedding = 0;
            run.params_nonembedding = (int64_t)N;
            run.flops_per_token_chinchilla = run.flops_per_token_kaplan = 6 * N;
            run.tokens = (int64_t)D;
            run.unique_tokens = 0;
            run.compute_budget = C;
            cr_assert_eq(store_put_run(s, &run, err, sizeof err), 0, "%s", err);
            double last = NAN;
            for (int j = 1; j <= 10; j++) {
                double t = round(D * j / 10.0);
                last = chin(N, t) * exp(0.003 * util_rng_normal(&r));
                cr_assert_eq(
                    store_add_eval(s, run.id, j, (int64_t)t, 6 * N * t, last, NAN, err, sizeof err),
                    0, "%s", err);
            }
            run.final_val_loss = run.best_val_loss = last;
            run.tokens_done = (int64_t)D;
            snprintf(run.status, sizeof run.status, "done");
            cr_assert_eq(store_finish_run(s, &run, err, sizeof err), 0, "%s", err);
            store_run_free_fields(&run);
        }
    }
    store_close(s);

    snprintf(cmd, sizeof cmd,
             "%s fit --sweep iso --db %s --bootstrap 20 --starts 16 --params nonembedding "
             "--flops 6nd --json 2>&1",
             SCALING_BIN, db);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "\"error\"") == NULL, "every approach fits: %s", out);
    cr_expect(strstr(out, "\"params\":\t\"nonembedding\"") && strstr(out, "\"flops\":\t\"6nd\""),
              "%s", out);
    const char *laws[4] = {"\"kaplan\"", "\"approach1\"", "\"approach2\"", "\"approach3\""};
    for (int i = 0; i < 4; i++) {
        char *p = strstr(out, laws[i]), *q;
        cr_assert(p != NULL, "%s missing: %s", laws[i], out);
        if (i == 0) continue;
        double a = NAN;
        cr_assert((q = strstr(p, "\"a\":")) && (q = strstr(q, "\"est\":")));
        sscanf(q + 6, "%lf", &a);
        NEAR(a, T_A, i == 1 ? 0.08 : 0.03);
    }
    cr_assert_eq(store_open(&s, db, STORE_READONLY, err, sizeof err), 0, "%s", err);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(store__db(s),
                                    "SELECT count(DISTINCT law), min(sweep), "
                                    "min(selection_json LIKE '%\"seed\":20240417%') FROM fits",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), 4, "four laws stored");
    cr_expect_str_eq((const char *)sqlite3_column_text(st, 1), "iso");
    cr_expect_eq(sqlite3_column_int(st, 2), 1, "the seed is recorded");
    sqlite3_finalize(st);
    store_close(s);
    snprintf(cmd, sizeof cmd, "%s predict --compute 1e22 --db %s 2>&1", SCALING_BIN, db);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "tokens_per_param") != NULL, "%s", out);

    /* The headline: the latest fit of each approach for the sweep, at its
     * largest budget (1e22). Fitting with total parameters and then again
     * as the first time (same options: the stored row is reused) must leave
     * the first counting as the latest. */
    char cmd3[4096];
    snprintf(cmd3, sizeof cmd3,
             "%s fit --sweep iso --db %s --bootstrap 20 --starts 16 >/dev/null 2>&1 && "
             "%s fit --sweep iso --db %s --bootstrap 20 --starts 16 --params nonembedding "
             "--flops 6nd >/dev/null 2>&1 && %s predict --sweep iso --db %s 2>&1",
             SCALING_BIN, db, SCALING_BIN, db, SCALING_BIN, db);
    cr_assert_eq(run(cmd3, out, sizeof out), 0, "%s", out);
    const char *p = out;
    for (int i = 1; i <= 3; i++) {
        char head[64];
        snprintf(head, sizeof head, "(approach%d, sweep iso), compute 1e+22 FLOPs", i);
        cr_assert((p = strstr(p, head)) != NULL, "%s missing: %s", head, out);
        const char *eol = strchr(p, '\n'), *c = strstr(p, "parameters nonembedding, FLOPs 6nd");
        cr_assert(eol && c && c < eol, "the latest fit counts as the last one made: %s", out);
        const char *q = strstr(p, "tokens_per_param");
        double tpp = NAN;
        cr_assert(q && sscanf(q + 16, "%lf", &tpp) == 1, "%s", out);
        /* the synthetic law's optimum at 1e22, within the approaches' spread */
        NEAR(log(tpp), log(1e22 / (6 * n_opt(1e22)) / n_opt(1e22)), 0.5);
    }
    cr_expect(strstr(p, "loss") != NULL, "approach 3 predicts the loss: %s", out);
    snprintf(cmd, sizeof cmd, "%s predict --sweep nosuch --db %s 2>&1", SCALING_BIN, db);
    cr_expect_eq(run(cmd, out, sizeof out), 1);
    cr_expect(strstr(out, "'nosuch'") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s predict --sweep iso --fit 1 --db %s 2>&1", SCALING_BIN, db);
    cr_expect_eq(run(cmd, out, sizeof out), 2);
}

/* ---- The files researchers have: fit --csv on ordinary inputs ------------------ */

/* The issue's examples (Hoffmann's law with noise): one IsoFLOP budget, and
 * token counts that differ by a few percent. */
static const char *const one_budget_csv = "params,tokens,budget,loss\n"
                                          "1.06697e+08,9.37236e+09,6e+18,3.130435\n"
                                          "1.89737e+08,5.27046e+09,6e+18,3.114101\n"
                                          "3.37405e+08,2.9638e+09,6e+18,3.118137\n"
                                          "6e+08,1.66667e+09,6e+18,3.173937\n"
                                          "1.06697e+09,9.37236e+08,6e+18,3.281287\n"
                                          "1.89737e+09,5.27046e+08,6e+18,3.459147\n"
                                          "3.37405e+09,2.9638e+08,6e+18,3.648835\n";
static const char *const near_equal_tokens_csv = "params,tokens,loss\n"
                                                 "5e+07,4.4e+09,3.513877\n"
                                                 "1e+08,4.444e+09,3.274721\n"
                                                 "2e+08,4.488e+09,3.120096\n"
                                                 "4e+08,4.532e+09,2.987041\n"
                                                 "8e+08,4.576e+09,2.889282\n"
                                                 "1.6e+09,4.62e+09,2.787958\n";

/* Hoffmann's law with irreducible loss E, noise sigma (log loss). */
static double hoff(double E, double N, double D) {
    return E + T[1] / pow(N, T[3]) + T[2] / pow(D, T[4]);
}

/* An IsoFLOP grid CSV: 5 budgets 1e18..1e21 (0.75 dex apart) x 9 sizes.
 * budget_mode 0: no budget column; 1: every row's budget; 2: every third row's
 * cell empty; 3: only the first budget's rows filled. */
static void write_iso_csv(const char *path, double E, double sigma, uint64_t seed,
                          int budget_mode) {
    util_rng r;
    util_rng_seed(&r, seed, "test");
    FILE *fp = fopen(path, "w");
    cr_assert(fp != NULL, "%s", path);
    fprintf(fp, budget_mode ? "params,tokens,budget,loss\n" : "params,tokens,loss\n");
    for (int b = 0; b < 5; b++) {
        double C = pow(10, 18 + 0.75 * b);
        for (int k = 0; k < 9; k++) {
            double N = n_opt(C) * pow(10, 0.2 * (k - 4)), D = C / (6 * N);
            double L = hoff(E, N, D) * exp(sigma * util_rng_normal(&r));
            if (!budget_mode)
                fprintf(fp, "%.9g,%.9g,%.9g\n", N, D, L);
            else if ((budget_mode == 2 && k % 3 == 1) || (budget_mode == 3 && b > 0))
                fprintf(fp, "%.9g,%.9g,,%.9g\n", N, D, L);
            else
                fprintf(fp, "%.9g,%.9g,%.9g,%.9g\n", N, D, C, L);
        }
    }
    fclose(fp);
}

/* Runs of (N, D) from Hoffmann's law with noise sigma, into d (flat). */
static void runs_of(fit_data *d, const double *N, const double *D, int n, double sigma,
                    uint64_t seed) {
    util_rng r;
    util_rng_seed(&r, seed, "test");
    d->nruns = n;
    d->runs = calloc(n, sizeof *d->runs);
    for (int i = 0; i < n; i++)
        d->runs[i] = mk_run(i, N[i], D[i], chin(N[i], D[i]) * exp(sigma * util_rng_normal(&r)));
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(fit, designs_that_do_not_separate_N_from_D_are_refused) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN];
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    o.a3_starts = 8;
    o.a3_domain_all = 1; /* the designs, not the domain: some runs have D < N */
    fit_approach3 *f = calloc(1, sizeof *f);
    fit_kaplan *k = calloc(1, sizeof *k);
    fit_data d;

    /* the issue's one budget: refused, and Kaplan's L(N) says its exponent is negative */
    snprintf(p, sizeof p, "%s/one.csv", dir);
    write_file(p, one_budget_csv);
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "one compute budget") && strstr(err, "add budgets"), "%s", err);
    cr_assert_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), 0, "%s", err);
    cr_expect(k->LN.alpha.est < 0);
    cr_expect(strstr(k->warning, "L(N) exponent is negative") != NULL, "%s", k->warning);
    cr_expect(!k->have_joint && strstr(k->warning, "L(N, D) not fitted: one compute budget"), "%s",
              k->warning);
    fit_data_free(&d);

    /* the issue's near-equal token counts (within 5%) */
    write_file(p, near_equal_tokens_csv);
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "token counts barely vary") != NULL, "%s", err);
    cr_assert_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), 0, "%s", err);
    cr_expect(k->LN.alpha.est > 0 && !k->have_joint, "%s", k->warning);
    cr_expect(strstr(k->warning, "token counts barely vary") != NULL, "%s", k->warning);
    fit_data_free(&d);

    /* same kinds, other shapes */
    double N[12], D[12];
    for (int i = 0; i < 8; i++) /* 20 tokens per parameter, within 2% */
        N[i] = 1e8 * pow(2, i), D[i] = 20 * N[i] * (1 + 0.01 * (i % 3));
    runs_of(&d, N, D, 8, 0.005, 1);
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "tokens per parameter") != NULL, "%s", err);
    free_flat(&d);
    for (int i = 0; i < 12; i++) { /* two budgets only 10% apart */
        double C = i < 6 ? 1e19 : 1.1e19;
        N[i] = 3e7 * pow(2, i % 6), D[i] = C / (6 * N[i]);
    }
    runs_of(&d, N, D, 12, 0.005, 2);
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "one compute budget") && strstr(err, "within a factor"), "%s", err);
    for (int i = 0; i < 12; i++) /* approach 2 fits them, and says how little they span */
        d.runs[i].budget = i < 6 ? 1e19 : 1.1e19;
    fit_frontier *g = calloc(1, sizeof *g);
    o.bootstrap = 30;
    cr_assert_eq(fit_approach2(&d, &o, g, err, sizeof err), 0, "%s", err);
    cr_expect(strstr(g->warning, "span only a factor 1.1") != NULL, "%s", g->warning);
    cr_expect(g->a.flags & FIT_UNIDENTIFIED, "a [%g, %g]: %s", g->a.lo, g->a.hi, g->warning);
    o.bootstrap = 0;
    free(g);
    free_flat(&d);
    for (int i = 0; i < 8; i++) /* sizes within 8%, tokens over 2 decades */
        N[i] = 1e8 * (1 + 0.01 * i), D[i] = 1e9 * pow(2, i);
    runs_of(&d, N, D, 8, 0.005, 3);
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "model sizes barely vary") != NULL, "%s", err);
    free_flat(&d);
    for (int i = 0; i < 8; i++) /* D = 1e5 sqrt(N): another exact tie */
        N[i] = 1e7 * pow(3, i), D[i] = 1e5 * sqrt(N[i]);
    runs_of(&d, N, D, 8, 0.005, 4);
    cr_expect_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, "N^0.50") && strstr(err, "exactly"), "%s", err);
    free_flat(&d);
    free(f);
    free(k);
}

/* `fit --json`: Approach 3's exclusions with their reasons; --a3-domain all
 * fits every run. A CSV's epochs come from its unique_tokens column. */
Test(fit, cli_approach3_json_lists_its_exclusions, .timeout = 300) {
    char *dir = tmpdir(), csv[256], cmd[1024];
    static char out[1 << 16];
    snprintf(csv, sizeof csv, "%s/dom.csv", dir);
    FILE *fp = fopen(csv, "w");
    cr_assert(fp);
    fprintf(fp, "params,tokens,unique_tokens,loss\n");
    int line = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++, line++) {
            double N = 1e7 * pow(4, i), D = 2 * N * pow(3, j);
            fprintf(fp, "%.6g,%.6g,,%.6f\n", N, D, chin(N, D));
        }
    fprintf(fp, "1e9,2e8,,%.6f\n", chin(1e9, 2e8) + 0.4);       /* line 27: 0.2 tokens/param */
    fprintf(fp, "1e8,5e10,1e10,%.6f\n", chin(1e8, 5e10) + 0.2); /* line 28: 5 epochs */
    fclose(fp);
    snprintf(cmd, sizeof cmd,
             "%s fit --csv %s --approach 3 --json --bootstrap 5 --starts 32 --a3-boot-starts 8 "
             "2>&1",
             SCALING_BIN, csv);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "\"domain\":\t\"in\""), "%s", out);
    cr_expect(
        strstr(out,
               "\"run\":\t\"csv27\",\n\t\t\t\t\"reason\":\t\"0.2 tokens per parameter (< 1)\""),
        "%s", out);
    cr_expect(strstr(out, "\"run\":\t\"csv28\",\n\t\t\t\t\"reason\":\t\"5 epochs (> 4)\""), "%s",
              out);
    cr_expect(strstr(out, "\"npoints\":\t25"), "%s", out);
    cr_expect(strstr(out, "\"a3_domain\":\t\"in\""), "the selection records it: %s", out);
    snprintf(cmd, sizeof cmd,
             "%s fit --csv %s --approach 3 --json --bootstrap 5 --starts 32 --a3-domain all 2>&1",
             SCALING_BIN, csv);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "\"npoints\":\t27") && strstr(out, "\"excluded\":\t[]"), "%s", out);
    cr_expect(strstr(out, "\"domain\":\t\"all\""), "%s", out);
    /* --systematic: the table's 24 cells in the JSON and the text */
    snprintf(cmd, sizeof cmd,
             "%s fit --csv %s --approach 3 --json --bootstrap 4 --starts 16 --a3-boot-starts 4 "
             "--systematic 2>&1",
             SCALING_BIN, csv);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    int cells = 0;
    for (const char *q = strstr(out, "\"systematic\":"); q && (q = strstr(q, "\"estimator\":"));
         q++)
        cells++;
    cr_expect_eq(cells, 24, "%s", out);
    snprintf(cmd, sizeof cmd,
             "%s fit --csv %s --approach 3 --bootstrap 0 --starts 16 --systematic 2>&1",
             SCALING_BIN, csv);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "Systematic table:") && strstr(out, "nonembedding  actual      "
                                                              "approach2 all sizes"),
              "%s", out);
    /* the table says it too */
    snprintf(cmd, sizeof cmd, "%s fit --csv %s --approach 3 --bootstrap 0 --starts 32 2>&1",
             SCALING_BIN, csv);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "excluded, outside the domain (2 of 27 runs)") && strstr(out, "csv28") &&
                  strstr(out, "5 epochs (> 4)"),
              "%s", out);
}

Test(fit, cli_refusals_are_one_line_exit_1_and_store_nothing) {
    char *dir = tmpdir(), csv[256], db[256], cmd[1024];
    static char out[1 << 14];
    const char *files[5] = {one_budget_csv, near_equal_tokens_csv,
                            "params,tokens,budget,loss\n1e8,1e10,1e19,3\n\n2e8,1e10,0,3\n",
                            "params,tokens,loss\n1e8,1e10,3\n2e8,1e10,2.9\n",
                            "params,tokens,loss\n1e8,1e10,3\n2e8,1e10,\"2.9\n"};
    const char *approach[5] = {"3", "3", "all", "all", "all"};
    const char *want[5] = {"approach 3: one compute budget", "approach 3: the token counts",
                           ".csv:4: column 3 ('budget')", ".csv: no law could be fitted: kaplan",
                           ".csv:3: column 3: a quoted field is never closed"};
    snprintf(csv, sizeof csv, "%s/in.csv", dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    for (int i = 0; i < 5; i++) {
        write_file(csv, files[i]);
        snprintf(cmd, sizeof cmd,
                 "%s fit --csv %s --approach %s --db %s --bootstrap 10 --starts 8 "
                 "--a3-domain all 2>&1",
                 SCALING_BIN, csv, approach[i], db);
        cr_expect_eq(run(cmd, out, sizeof out), 1, "%s", out);
        cr_expect_eq(count_lines(out), 1, "%s", out);
        cr_expect(strstr(out, csv) && strstr(out, want[i]), "%s", out);
        cr_expect(access(db, F_OK) != 0, "a refusal left %s behind", db);
    }
    snprintf(cmd, sizeof cmd, "%s fit --csv %s --bootstrap-mode bogus --db %s 2>&1", SCALING_BIN,
             csv, db);
    cr_expect_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "--bootstrap-mode: expected noise or runs"), "%s", out);
}

Test(fit, parameters_at_a_bound_are_reported_as_such, .timeout = 300) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN];
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 40;
    o.a3_starts = 32;
    fit_approach3 *f = calloc(1, sizeof *f);
    fit_kaplan *k = calloc(1, sizeof *k);
    fit_data d;
    /* no loss floor: E = 0; without noise the estimate sits at the bound */
    snprintf(p, sizeof p, "%s/nofloor.csv", dir);
    write_iso_csv(p, 0, 0, 5, 1);
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_log_info("no floor: E %g [%g, %g] flags %u", f->E.est, f->E.lo, f->E.hi, f->E.flags);
    cr_expect(f->E.flags & FIT_AT_LOWER, "E %g flags %u", f->E.est, f->E.flags);
    cr_expect(f->E.lo == 0 && f->E.bound == 0, "E interval [%g, %g]", f->E.lo, f->E.hi);
    cr_expect(strstr(f->warning, "E at its lower bound 0") != NULL, "%s", f->warning);
    fit_data_free(&d);
    /* with noise: at the bound, or some draws are, and the interval starts at 0 */
    write_iso_csv(p, 0, 0.003, 5, 1);
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect(f->E.flags & (FIT_AT_LOWER | FIT_DRAWS_AT_BOUND), "E %g flags %u", f->E.est,
              f->E.flags);
    cr_expect(f->E.lo == 0 && f->E.bound == 0, "E interval [%g, %g]", f->E.lo, f->E.hi);
    cr_expect(strstr(f->warning, "E at its lower bound 0") ||
                  strstr(f->warning, "E reaches its bound 0"),
              "%s", f->warning);
    cr_expect(!(f->alpha.flags || f->beta.flags), "%u %u", f->alpha.flags, f->beta.flags);
    char *js = fit_approach3_json(f);
    cr_expect(strstr(js, "\"bound\":0") != NULL, "%s", js);
    fit_approach3 *back = calloc(1, sizeof *back);
    cr_assert_eq(fit_approach3_from_json(back, js, err, sizeof err), 0, "%s", err);
    cr_expect_eq(back->E.flags, f->E.flags);
    free(back);
    free(js);

    /* Kaplan's --with-E on the same runs: E never clamped to 0 silently */
    o.with_E = 1;
    cr_assert_eq(fit_kaplan_laws(&d, &o, k, err, sizeof err), 0, "%s", err);
    const fit_powerlaw *pl[2] = {&k->LN, &k->LC};
    int flagged = 0;
    for (int i = 0; i < 2; i++) {
        const fit_val *E = &pl[i]->E;
        if (!isfinite(E->est)) continue;
        if (E->est < 1e-3) cr_expect(E->flags & FIT_AT_LOWER, "E %g flags %u", E->est, E->flags);
        cr_expect(!(E->lo == E->hi && E->lo > 0), "zero-width [%g, %g]", E->lo, E->hi);
        flagged += (E->flags & (FIT_AT_LOWER | FIT_DRAWS_AT_BOUND)) != 0;
    }
    cr_expect(flagged > 0 && strstr(k->warning, "bound 0"), "%s", k->warning);
    fit_data_free(&d);

    /* a floor: nothing at a bound */
    write_iso_csv(p, T[0], 0.003, 6, 1);
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_expect(!(f->E.flags || f->alpha.flags || f->beta.flags || f->a.flags), "%s", f->warning);
    NEAR(f->E.est, T[0], 0.1);
    fit_data_free(&d);
    free(f);
    free(k);
}

Test(fit, flags_of_intervals_at_a_bound_or_spanning_orders_of_magnitude) {
    fit_val v = {.est = 0.5, .lo = 0.01, .hi = 1.78};
    fit__mark(&v, 0, 0, 0, 100, 0, NAN, FIT__SCALE); /* E in [0.01, 1.78] */
    cr_expect_eq(v.flags, FIT_UNIDENTIFIED);
    v = (fit_val){.est = 0.3, .lo = -77, .hi = 0.5};
    fit__mark(&v, 0, 0, 0, 100, NAN, NAN, FIT__EXPONENT);
    cr_expect_eq(v.flags, FIT_UNIDENTIFIED);
    v = (fit_val){.est = 0.34, .lo = 0.30, .hi = 0.38};
    fit__mark(&v, 0, 0, 0, 100, NAN, NAN, FIT__EXPONENT);
    cr_expect_eq(v.flags, 0u);
    v = (fit_val){.est = 1.7, .lo = 1e-20, .hi = 1.8}; /* 5 of 100 draws at E = 0 */
    fit__mark(&v, 0, 5, 0, 100, 0, NAN, FIT__SCALE);
    cr_expect(v.flags & FIT_DRAWS_AT_BOUND);
    cr_expect(v.lo == 0 && v.hi == 1.8);
    v = (fit_val){.est = 3.9e-20, .lo = 3.9e-20, .hi = 3.9e-20}; /* at the bound in every draw */
    fit__mark(&v, 1, 100, 0, 100, 0, NAN, FIT__SCALE);
    cr_expect(v.flags & FIT_AT_LOWER);
    cr_expect(v.lo == 0 && v.hi == 0);
    v = (fit_val){.est = 4e22, .lo = 4e22, .hi = 4e22}; /* draws that never moved */
    fit__mark(&v, 0, 0, 0, 100, NAN, NAN, FIT__SCALE);
    cr_expect(v.flags & FIT_UNIDENTIFIED);
    char w[512] = "";
    const fit_val *vals[1] = {&v};
    const char *names[1] = {"Dc"};
    fit__flag_notes(w, sizeof w, names, vals, 1);
    cr_expect(strstr(w, "not identified") && strstr(w, "Dc"), "%s", w);
}

Test(fit, a_weak_design_is_fitted_but_flagged, .timeout = 300) {
    /* 9 sizes x 3 token counts whose spread given N is just above the refusal
     * threshold: the fit runs, and says what it could not pin down */
    double N[27], D[27];
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 3; j++) {
            N[3 * i + j] = 1e8 * pow(10, 0.25 * i);
            D[3 * i + j] = 20 * N[3 * i + j] * exp(0.2 * ((j - 1) + 0.3 * sin(7 * i + j)));
        }
    fit_data d;
    runs_of(&d, N, D, 27, 0.005, 8);
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 60;
    o.a3_starts = 32;
    fit_approach3 *f = calloc(1, sizeof *f);
    char err[UTIL_ERRLEN];
    cr_assert_eq(fit_approach3_fit(&d, &o, f, err, sizeof err), 0, "%s", err);
    cr_log_info("weak design: %s", f->warning);
    unsigned any = f->E.flags | f->A.flags | f->B.flags | f->alpha.flags | f->beta.flags;
    cr_expect(any & (FIT_UNIDENTIFIED | FIT_DRAWS_AT_BOUND | FIT_AT_LOWER), "%s", f->warning);
    cr_expect(strstr(f->warning, "not identified") || strstr(f->warning, "bound"), "%s",
              f->warning);
    free_flat(&d);
    free(f);
}

Test(fit, a_partly_filled_budget_column_drops_no_run) {
    char *dir = tmpdir(), p[256], err[UTIL_ERRLEN], cmd[1024];
    static char out[1 << 15];
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    fit_frontier *full = calloc(1, sizeof *full), *part = calloc(1, sizeof *part);
    fit_data d;
    snprintf(p, sizeof p, "%s/b.csv", dir);
    write_iso_csv(p, T[0], 0.003, 9, 1);
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_approach2(&d, &o, full, err, sizeof err), 0, "%s", err);
    cr_expect_eq(full->nruns_used, 45);
    fit_data_free(&d);
    for (int mode = 2; mode <= 3; mode++) {
        write_iso_csv(p, T[0], 0.003, 9, mode);
        cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
        cr_assert_eq(d.nruns, 45);
        int g[45], ng;
        cr_assert_eq(fit_budget_groups(&d, FIT_PARAMS_TOTAL, MODEL_FLOPS_CHINCHILLA, g, &ng), 0);
        cr_expect_eq(ng, 5);
        for (int i = 0; i < 45; i++)
            cr_expect_eq(g[i], i / 9, "run %d in group %d", i, g[i]);
        cr_assert_eq(fit_approach2(&d, &o, part, err, sizeof err), 0, "%s", err);
        cr_expect_eq(part->nruns_used, 45);
        cr_expect_eq(part->npoints_used, 5);
        NEAR(part->a.est, full->a.est, 1e-9);
        cr_expect(strstr(part->warning, "runs have no budget") != NULL, "%s", part->warning);
        fit_data_free(&d);
    }
    /* the printed counts are the runs fitted */
    snprintf(cmd, sizeof cmd, "%s fit --csv %s --approach 2 --bootstrap 10 --no-store 2>&1",
             SCALING_BIN, p);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "45 runs from") && strstr(out, "45 of 45 runs, 5 budgets"), "%s", out);
    /* a budget the docs forbid is an error naming line and column */
    write_file(p, "params,tokens,budget,loss\n1e8,1e10,1e19,3\n2e8,1e10,-1e19,3\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, ":3: column 3 ('budget')") && strstr(err, "'-1e19'"), "%s", err);
    write_file(p, "params,tokens,budget,loss\n1e8,1e10,0,3\n");
    cr_expect_eq(fit_load_csv(&d, p, err, sizeof err), UTIL_EINVAL);
    cr_expect(strstr(err, ":2: column 3 ('budget')") != NULL, "%s", err);
    /* a budget group too small for a parabola is named with its runs */
    write_file(p, "params,tokens,budget,loss\n"
                  "1e8,1e10,6e18,3.0\n2e8,5e9,6e18,2.95\n4e8,2.5e9,6e18,3.0\n"
                  "1e8,1e11,6e19,2.8\n2e8,5e10,6e19,2.7\n4e8,2.5e10,6e19,2.75\n"
                  "1e9,1e11,6e20,2.6\n2e9,5e10,6e20,2.5\n");
    cr_assert_eq(fit_load_csv(&d, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_approach2(&d, &o, part, err, sizeof err), 0, "%s", err);
    cr_expect_eq(part->nruns_used, 6);
    cr_expect(strstr(part->warning, "1 budgets skipped") &&
                  strstr(part->warning, "2 runs not used"),
              "%s", part->warning);
    fit_data_free(&d);
    free(full);
    free(part);
}

/* fit_load_csv on text; returns its code and leaves the message in err. */
static int load_text(const char *dir, const char *text, size_t len, fit_data *d, fit_csv_info *in,
                     char *err) {
    char p[256];
    snprintf(p, sizeof p, "%s/t.csv", dir);
    FILE *fp = fopen(p, "wb");
    cr_assert(fp != NULL);
    fwrite(text, 1, len, fp);
    fclose(fp);
    return fit_read_csv(d, in, p, err, UTIL_ERRLEN);
}
#define LOAD(text) load_text(dir, text, sizeof(text) - 1, &d, &info, err)

Test(fit, csv_reads_what_spreadsheets_and_pandas_write) {
    char *dir = tmpdir(), err[UTIL_ERRLEN];
    fit_data d;
    fit_csv_info info;
    /* Excel's CSV UTF-8: byte-order mark, CRLF; a blank line */
    cr_assert_eq(LOAD("\xEF\xBB\xBFparams,tokens,loss\r\n1e8,1e10,3.1\r\n\r\n2e8,2e10,3.0\r\n"), 0,
                 "%s", err);
    cr_expect_eq(d.nruns, 2);
    cr_expect(d.runs[0].line == 2 && d.runs[1].line == 4);
    fit_data_free(&d);
    /* errors name the physical line: blank lines count */
    cr_expect_eq(LOAD("\xEF\xBB\xBFparams,tokens,loss\r\n1e8,1e10,3.1\r\n\r\n2e8,2e10,x\r\n"),
                 UTIL_EINVAL);
    cr_expect(strstr(err, "t.csv:4: column 3 ('loss')") && strstr(err, "'x'"), "%s", err);
    /* RFC 4180 quoting: commas, doubled quotes and a newline inside fields */
    cr_assert_eq(LOAD("name,\"params\",\"tokens\",\"loss\"\n"
                      "\"gpt, \"\"small\"\"\",\"1e8\",1e10,3.1\n"
                      "\"two\nlines\",2e8,2e10,3.0\n"),
                 0, "%s", err);
    cr_expect_eq(d.nruns, 2);
    cr_expect_eq(d.runs[1].line, 3);
    fit_data_free(&d);
    cr_expect_eq(LOAD("note,params,tokens,loss\n\"two\nlines\",1e8,1e10,3.1\nx,2e8,2e10,bad\n"),
                 UTIL_EINVAL);
    cr_expect(strstr(err, ":4: column 4 ('loss')") != NULL, "%s", err);
    /* European Excel: ';' with decimal commas, with and without its sep= line */
    cr_assert_eq(LOAD("params;tokens;loss\n1e8;1e10;3,1\n"), 0, "%s", err);
    NEAR(d.runs[0].loss, 3.1, 1e-12);
    fit_data_free(&d);
    cr_assert_eq(LOAD("sep=;\r\nparams;tokens;loss\r\n1e8;1e10;3,1\r\n2e8;1e10;-3\r\n"),
                 UTIL_EINVAL);
    cr_expect(strstr(err, ":4: column 3 ('loss')") != NULL, "%s", err);
    /* thousands separators in quoted fields (not with ';', where ',' is decimal) */
    cr_assert_eq(LOAD("params,tokens,loss\n\"100,000,000\",\"10,000,000,000\",3.1\n"), 0, "%s",
                 err);
    NEAR(d.runs[0].n_total, 1e8, 0);
    NEAR(d.runs[0].tokens, 1e10, 0);
    fit_data_free(&d);
    cr_expect_eq(LOAD("params,tokens,loss\n1e8,1e10,\"3,1\"\n"), UTIL_EINVAL);
    cr_expect(strstr(err, ":2: column 3 ('loss')") && strstr(err, "'3,1'"), "%s", err);
    /* tab-separated; pandas' unnamed index column; Excel's empty trailing rows;
     * no newline at the end */
    cr_assert_eq(LOAD("params\ttokens\tloss\n1e8\t1e10\t3.1\n"), 0, "%s", err);
    fit_data_free(&d);
    cr_assert_eq(LOAD(",params,tokens,loss\n0,1e8,1e10,3.1\n1,2e8,2e10,3.0\n,,,\n,,,\n"), 0, "%s",
                 err);
    cr_expect_eq(d.nruns, 2);
    fit_data_free(&d);
    cr_assert_eq(LOAD("params,tokens,loss\n1e8,1e10,3.1\n2e8,2e10,3.0"), 0, "%s", err);
    cr_expect_eq(d.nruns, 2);
    fit_data_free(&d);
    /* old Mac line ends */
    cr_expect_eq(LOAD("params,tokens,loss\r1e8,1e10,3.1\r2e8,2e10,x\r"), UTIL_EINVAL);
    cr_expect(strstr(err, ":3: column 3") != NULL, "%s", err);
    /* not CSV text: NUL bytes, UTF-16; broken quoting */
    cr_expect_eq(LOAD("params,tokens,loss\n1e8,1e10,3.1\n2e8,1e1\0000,3.0\n"), UTIL_EINVAL);
    cr_expect(strstr(err, ":3: column 2") && strstr(err, "NUL"), "%s", err);
    cr_expect_eq(LOAD("\xFF\xFEp\0a\0r\0"), UTIL_EINVAL);
    cr_expect(strstr(err, "UTF-16") != NULL, "%s", err);
    cr_expect_eq(LOAD("params,tokens,loss\n1e8,1e10,3.1\n2e8,2e10,\"3.0\n"), UTIL_EINVAL);
    cr_expect(strstr(err, ":3: column 3") && strstr(err, "never closed"), "%s", err);
    cr_expect_eq(LOAD("params,tokens,loss\n1e8,1e10,3\"1\n"), UTIL_EINVAL);
    cr_expect(strstr(err, ":2: column 3") && strstr(err, "quote"), "%s", err);
    cr_expect_eq(LOAD("\xEF\xBB\xBF\r\n\r\n"), UTIL_EINVAL);
    cr_expect(strstr(err, "empty file") != NULL, "%s", err);
}

Test(fit, csv_column_names_and_aliases) {
    char *dir = tmpdir(), err[UTIL_ERRLEN];
    fit_data d;
    fit_csv_info info;
    /* `scaling export --format csv`: unfinished runs set aside, counted, named */
    cr_assert_eq(LOAD("id,sweep,status,params_total,params_nonembedding,tokens,tokens_done,"
                      "compute_budget,flops,final_val_loss,best_val_loss\n"
                      "a1,s,done,2e6,1e6,1e8,9e7,1.2e15,1.1e15,4.5,4.4\n"
                      "a2,s,failed,4e6,3e6,1e8,,1.2e15,,,\n"
                      "a3,s,done,8e6,7e6,1e8,1e8,4.8e15,4.8e15,4.1,4.0\n"),
                 0, "%s", err);
    cr_expect_eq(d.nruns, 2);
    cr_expect(info.nrows == 3 && info.nset_aside == 1);
    cr_expect(strstr(info.note, "line 3") != NULL, "%s", info.note);
    NEAR(d.runs[0].tokens, 9e7, 0);
    NEAR(d.runs[0].n_nonemb, 1e6, 0);
    NEAR(d.runs[0].loss, 4.5, 0);
    NEAR(d.runs[0].budget, 1.2e15, 0);
    fit_data_free(&d);
    /* CS336's IsoFLOP names: no tokens or FLOPs, each run's compute is its budget */
    cr_assert_eq(LOAD("parameters,compute_budget,final_loss\n1e8,6e18,3.1\n"), 0, "%s", err);
    NEAR(d.runs[0].tokens, 1e10, 1);
    cr_expect(strstr(info.note, "budget") != NULL, "%s", info.note);
    fit_data_free(&d);
    /* N, D, C and case, spaces and underscores alike */
    cr_assert_eq(LOAD("N,D,val_loss\n1e8,1e10,3.1\n"), 0, "%s", err);
    fit_data_free(&d);
    cr_assert_eq(LOAD("MODEL_SIZE,training-tokens,Loss\n1e8,1e10,3.1\n"), 0, "%s", err);
    fit_data_free(&d);
    cr_assert_eq(LOAD("n,compute,loss\n1e8,6e18,3.1\n"), 0, "%s", err);
    NEAR(d.runs[0].tokens, 1e10, 1);
    fit_data_free(&d);
    /* bits per token: read as given, flagged */
    cr_assert_eq(LOAD("params,tokens,loss_bits\n1e8,1e10,4.5\n"), 0, "%s", err);
    cr_expect(info.loss_bits && strstr(info.note, "bits"), "%s", info.note);
    fit_data_free(&d);
    /* two columns for one quantity; none for another */
    cr_expect_eq(LOAD("N,params,D,loss\n1e8,1e8,1e10,3\n"), UTIL_EINVAL);
    cr_expect(strstr(err, ":1: columns 1 ('N') and 2 ('params')") != NULL, "%s", err);
    cr_expect_eq(LOAD("\n\nparams,tokens,perplexity\n1e8,1e10,22\n"), UTIL_EINVAL);
    cr_expect(strstr(err, ":3: header") && strstr(err, "no column for the loss"), "%s", err);
}

Test(fit, duplicated_rows_are_named_and_collapsed) {
    char *dir = tmpdir(), err[UTIL_ERRLEN], p[256], cmd[1024], msg[400];
    static char out[1 << 15];
    fit_data d;
    fit_csv_info info;
    /* rows 2..4, then a concatenated copy of 2 and 3, then a replicate (other loss) */
    cr_assert_eq(LOAD("params,tokens,loss\n1e8,1e10,3.1\n2e8,1e10,3.0\n4e8,1e10,2.9\n"
                      "1e8,1e10,3.1\n2e8,1e10,3.0\n4e8,1e10,2.91\n"),
                 0, "%s", err);
    cr_expect_eq(fit_duplicates(&d, 0, msg, sizeof msg), 2);
    cr_expect_eq(d.nruns, 6);
    cr_expect(strstr(msg, "line 5 repeats line 2") && strstr(msg, "line 6 repeats line 3"), "%s",
              msg);
    cr_expect_eq(fit_duplicates(&d, 1, msg, sizeof msg), 2);
    cr_expect_eq(d.nruns, 4);
    cr_expect(d.runs[3].line == 7 && d.runs[3].loss == 2.91);
    cr_expect_eq(fit_duplicates(&d, 1, msg, sizeof msg), 0);
    fit_data_free(&d);

    /* the CLI warns on stderr, collapses by default, keeps on request */
    snprintf(p, sizeof p, "%s/iso.csv", dir);
    write_iso_csv(p, T[0], 0.003, 11, 0);
    snprintf(cmd, sizeof cmd, "tail -n 9 %s >> %s", p, p);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "%s fit --csv %s --approach 2 --bootstrap 10 --no-store 2>&1 >/dev/null | cat",
             SCALING_BIN, p);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "warning") && strstr(out, "9 rows repeat") &&
                  strstr(out, "line 47 repeats line 38") && strstr(out, "collapsed"),
              "%s", out);
    snprintf(cmd, sizeof cmd, "%s fit --csv %s --approach 2 --bootstrap 10 --no-store", SCALING_BIN,
             p);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "45 runs from") && strstr(out, "54 data rows read; 9 duplicate rows "
                                                         "collapsed"),
              "%s", out);
    snprintf(cmd, sizeof cmd,
             "%s fit --csv %s --approach 2 --bootstrap 10 --no-store --duplicates keep 2>&1",
             SCALING_BIN, p);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "54 runs from") && strstr(out, "kept"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s fit --csv %s --duplicates drop 2>&1", SCALING_BIN, p);
    cr_expect_eq(run(cmd, out, sizeof out), 2, "%s", out);
}

/* Approach 1 averages the seeds of a configuration before the envelope: a
 * size whose one lucky seed dips under the others must not own the point. */
Test(fit, approach1_takes_the_envelope_of_the_seeds_mean) {
    fit_data d = {0, NULL}, m = {0, NULL};
    d.runs = calloc(6, sizeof *d.runs);
    /* sizes 1e4 and 2e4, each run alone (WSD, its end only) at one budget
     * C = 1.2e12 with two seeds; and a third configuration without seeds */
    const double N[6] = {1e4, 1e4, 2e4, 2e4, 4e4, 4e4};
    const double L[6] = {2.00, 2.10, 1.96, 2.20, 2.30, 2.30};
    for (int i = 0; i < 6; i++) {
        d.runs[i] = mk_run(i, N[i], 1.2e12 / (6 * N[i]), L[i]);
        d.runs[i].config = i < 4 ? 100 + (uint64_t)(i / 2) : 0; /* 4 and 5: unknown */
        d.runs[i].wsd = 1;
        d.runs[i].ncurve = 1;
        d.runs[i].curve_tokens = malloc(sizeof(double));
        d.runs[i].curve_loss = malloc(sizeof(double));
        d.runs[i].curve_tokens[0] = d.runs[i].tokens;
        d.runs[i].curve_loss[0] = L[i];
    }
    d.nruns = 6;
    cr_assert_eq(fit__seed_mean(&d, &m), 0);
    cr_assert_eq(m.nruns, 4, "two configurations of two seeds each, two runs without one");
    NEAR(m.runs[0].loss, 2.05, 1e-12);
    NEAR(m.runs[0].curve_loss[0], 2.05, 1e-12);
    NEAR(m.runs[1].loss, 2.08, 1e-12); /* 2e4's mean is above 1e4's: 1e4 is optimal */
    NEAR(m.runs[1].n_total, 2e4, 0);
    NEAR(m.runs[2].loss, 2.30, 0);
    NEAR(m.runs[3].loss, 2.30, 0);
    fit_data_free(&m);
    fit_data_free(&d);
}

/* Approach 1 on a WSD sweep whose runs are annealed ends only: each
 * budget's best run, at the budget, under the sweep's own FLOP count and
 * under another one (which spreads a budget's runs over a range of C). */
Test(fit, approach1_on_wsd_ends_takes_each_budgets_best_under_any_count) {
    util_rng r;
    util_rng_seed(&r, 3, "test");
    fit_data d;
    isoflop(&d, &r, 0); /* 5 budgets x 9 sizes, the middle size at N_opt */
    for (int i = 0; i < d.nruns; i++) {
        fit_run *x = &d.runs[i];
        x->wsd = 1;
        x->ncurve = 1;
        x->curve_tokens = malloc(sizeof(double));
        x->curve_loss = malloc(sizeof(double));
        x->curve_tokens[0] = x->tokens;
        x->curve_loss[0] = x->loss;
        /* Kaplan's count: 6N plus a per-token cost that weighs small models more */
        x->fpt_kaplan = 6 * x->n_total + 2e5;
    }
    fit_opts o;
    fit_opts_defaults(&o);
    o.bootstrap = 0;
    char err[UTIL_ERRLEN];
    for (int count = 0; count < 2; count++) {
        o.flops = count ? MODEL_FLOPS_KAPLAN : MODEL_FLOPS_CHINCHILLA;
        fit_frontier *f = calloc(1, sizeof *f);
        cr_assert_eq(fit_approach1(&d, &o, f, err, sizeof err), 0, "%s", err);
        cr_assert_eq(f->pts.n, 5, "one point per budget, got %d", f->pts.n);
        for (int k = 0; k < f->pts.n; k++)
            cr_assert(!f->pts.extrapolated[k]);
        cr_assert_eq(f->nruns_used, d.nruns);
        if (!count) /* the middle size wins each budget: the true exponent */
            NEAR(f->a.est, T_A, 1e-9);
        else /* the same sizes, at the budgets' recounted compute */
            cr_assert(f->a.est > 0.3 && f->a.est < 0.6, "a %g under the recount", f->a.est);
        free(f);
    }
    for (int i = 0; i < d.nruns; i++) {
        free(d.runs[i].curve_tokens);
        free(d.runs[i].curve_loss);
    }
    free_flat(&d);
}
