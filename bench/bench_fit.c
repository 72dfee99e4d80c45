/*
 * bench_fit.c — time of Approach 3 on 250 synthetic runs (10 budgets x 25
 * sizes drawn from Chinchilla's law with 1% noise): the full 4500-start grid,
 * then 1000 bootstrap resamples, with 1 and 2 threads, and the grid cut to
 * the best 64 starts, and the bootstrap alone. Prints seconds per configuration and their ratios.
 * usage: bench_fit [csv]   (a CSV instead of the synthetic runs)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../analysis/fit.h"

static double chin(double N, double D) {
    return 1.69 + 406.4 / pow(N, 0.34) + 410.7 / pow(D, 0.28);
}

int main(int argc, char **argv) {
    fit_data d = {0, NULL};
    char err[UTIL_ERRLEN];
    if (argc > 1) {
        if (fit_load_csv(&d, argv[1], err, sizeof err)) {
            fprintf(stderr, "bench_fit: %s\n", err);
            return 1;
        }
    } else {
        util_rng r;
        util_rng_seed(&r, 1, "bench");
        d.runs = calloc(250, sizeof *d.runs);
        for (int b = 0; b < 10; b++)
            for (int k = 0; k < 25; k++) {
                double C = pow(10, 18 + 0.4 * b),
                       N = 1e8 * pow(10, 0.4 * b * 0.45 + 0.08 * (k - 12));
                fit_run *x = &d.runs[d.nruns++];
                snprintf(x->id, sizeof x->id, "b%dk%d", b, k);
                x->n_total = x->n_nonemb = N;
                x->fpt_chinchilla = 6 * N;
                x->tokens = C / (6 * N);
                x->budget = C;
                x->loss = chin(N, x->tokens) * exp(0.01 * util_rng_normal(&r));
            }
    }
    static fit_approach3 f;
    struct {
        int threads, starts, boot;
        const char *what;
    } cfg[] = {
        {2, 0, 0, "full grid (4500 starts), 2 threads"},
        {1, 0, 0, "full grid (4500 starts), 1 thread"},
        {2, 0, 1000, "full grid + 1000 bootstrap, 2 threads"},
        {1, 0, 1000, "full grid + 1000 bootstrap, 1 thread"},
        {2, 64, 1000, "best 64 starts + 1000 bootstrap, 2 threads"},
        {2, 1, 1000, "bootstrap alone (1 start) 1000, 2 threads"},
        {1, 1, 1000, "bootstrap alone (1 start) 1000, 1 thread"},
    };
    double t[7];
    for (int i = 0; i < 7; i++) {
        fit_opts o;
        fit_opts_defaults(&o);
        o.threads = cfg[i].threads;
        o.a3_starts = cfg[i].starts;
        o.bootstrap = cfg[i].boot;
        double t0 = util_now();
        if (fit_approach3_fit(&d, &o, &f, err, sizeof err)) {
            fprintf(stderr, "bench_fit: %s\n", err);
            return 1;
        }
        t[i] = util_now() - t0;
        printf("%-45s %6.2f s   (%d runs; alpha %.4f [%.4f, %.4f] beta %.4f)\n", cfg[i].what, t[i],
               d.nruns, f.alpha.est, f.alpha.lo, f.alpha.hi, f.beta.est);
    }
    printf("speed-up of 2 threads: grid %.2fx, grid + bootstrap %.2fx, bootstrap alone %.2fx\n",
           t[1] / t[0], t[3] / t[2], t[6] / t[5]);
    if (argc > 1)
        fit_data_free(&d);
    else
        free(d.runs);
    return 0;
}
