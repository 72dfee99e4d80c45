/*
 * fit_noise.c — draws of the measurement noise behind a fit's data, for the
 * bootstrap of every approach (docs/fit.md, "Noise draws").
 *
 * Two sources, both kept out of a resample of whole runs:
 *  - eval noise: a final loss is the mean over the validation windows; the
 *    windows are a sample of text, and every run is evaluated on the same
 *    ones, so the noise is shared (paired) across runs. A draw resamples the
 *    window indices with replacement, once per (n_ctx, window count), and
 *    re-averages each run's stored per-window losses over them.
 *  - seed noise: where one configuration ran under k seeds, a draw takes k
 *    of them with replacement.
 * The design (sizes, tokens, budgets, WSD families) is never resampled.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

int fit__noise_load(fit_data *d, store *s, char *err, size_t errlen) {
    for (int i = 0; i < d->nruns; i++) {
        fit_run *r = &d->runs[i];
        float *w = NULL;
        int64_t n = 0;
        int ctx = 0;
        int rc = store_get_final_eval(s, r->id, &ctx, &w, &n, err, errlen);
        if (rc == UTIL_ENOTFOUND) {
            *err = 0;
            continue;
        }
        if (rc) return rc;
        if (n < 1 || n > INT32_MAX) { /* nothing to resample */
            free(w);
            continue;
        }
        r->win = w;
        r->nwin = (int)n;
        r->win_ctx = ctx;
    }
    return 0;
}

int fit_noise_missing(const fit_data *d) {
    int m = 0;
    for (int i = 0; i < d->nruns; i++)
        m += d->runs[i].nwin < 1;
    return m;
}

/* 1 if some configuration was trained under more than one seed (two runs
 * share a non-zero config key), i.e. there is seed spread to redraw. */
static int seeds_repeated(const fit_data *d) {
    for (int i = 0; i < d->nruns; i++)
        for (int j = i + 1; d->runs[i].config && j < d->nruns; j++)
            if (d->runs[j].config == d->runs[i].config) return 1;
    return 0;
}

int fit_noise_available(const fit_data *d) {
    return fit_noise_missing(d) < d->nruns || seeds_repeated(d);
}

void fit_noise_note(const fit_data *d, char *w, size_t wlen) {
    if (!fit_noise_available(d)) {
        fit__warn(w, wlen,
                  "no final-eval windows or repeated seeds to redraw: the bootstrap resampled "
                  "whole runs");
        return;
    }
    /* a configuration under one seed has no seed spread to redraw: say so,
     * since the interval then covers the evaluation set's noise only (the
     * presets' two seeds differed by 0.010 nats, median over 50 pairs) */
    if (!seeds_repeated(d))
        fit__warn(w, wlen,
                  FIT_NOTE_NO_SEED_NOISE
                  ": every configuration was trained under one seed, so "
                  "the interval covers eval-window noise only (train a second seed, or compare "
                  "--bootstrap-mode runs)");
    int m = fit_noise_missing(d);
    if (!m) return;
    char msg[96];
    snprintf(msg, sizeof msg, "eval noise not included for %d run%s (no final-eval windows)", m,
             m == 1 ? "" : "s");
    fit__warn(w, wlen, msg);
}

/* Mean of w[0..n-1] weighted by cnt (a resample's multiplicities; NULL: 1). */
static double win_mean(const float *w, const int *cnt, int n) {
    double s = 0;
    long tot = 0;
    for (int k = 0; k < n; k++) {
        int c = cnt ? cnt[k] : 1;
        s += (double)c * w[k];
        tot += c;
    }
    return tot ? s / (double)tot : NAN;
}

/* delta[i]: run i's window-resampled mean minus its mean over all windows
 * (0 without windows). Runs sharing (win_ctx, nwin) share the indices. */
static int eval_deltas(const fit_data *d, util_rng *r, double *delta, char *err, size_t errlen) {
    int n = d->nruns, rc = 0;
    int *done = calloc((size_t)(n ? n : 1), sizeof *done), *cnt = NULL, cap = 0;
    if (!done) return util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory (noise draw)");
    for (int i = 0; i < n; i++)
        delta[i] = 0;
    for (int i = 0; i < n; i++) {
        const fit_run *a = &d->runs[i];
        if (done[i] || a->nwin < 1) continue;
        if (a->nwin > cap) {
            free(cnt);
            cap = a->nwin;
            if (!(cnt = malloc((size_t)cap * sizeof *cnt))) {
                rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory (noise draw)");
                goto out;
            }
        }
        memset(cnt, 0, (size_t)a->nwin * sizeof *cnt);
        for (int k = 0; k < a->nwin; k++)
            cnt[util_rng_below(r, (uint64_t)a->nwin)]++;
        for (int j = i; j < n; j++) {
            const fit_run *b = &d->runs[j];
            if (done[j] || b->nwin != a->nwin || b->win_ctx != a->win_ctx) continue;
            done[j] = 1;
            delta[j] = win_mean(b->win, cnt, b->nwin) - win_mean(b->win, NULL, b->nwin);
        }
    }
out:
    free(done);
    free(cnt);
    return rc;
}

/* src[i]: the run whose measurement stands for run i in this draw. Each
 * configuration's k seeds are replaced by k drawn with replacement. */
static void seed_sources(const fit_data *d, util_rng *r, int *src) {
    int n = d->nruns;
    for (int i = 0; i < n; i++)
        src[i] = i;
    for (int i = 0; i < n; i++) {
        uint64_t c = d->runs[i].config;
        if (!c) continue;
        int k = 0, first = -1;
        for (int j = 0; j < n; j++)
            if (d->runs[j].config == c) {
                if (first < 0) first = j;
                k++;
            }
        if (k < 2 || first != i) continue; /* a single seed, or handled at its first run */
        for (int j = 0; j < n; j++) {
            if (d->runs[j].config != c) continue;
            int pick = (int)util_rng_below(r, (uint64_t)k);
            for (int q = 0; q < n; q++)
                if (d->runs[q].config == c && pick-- == 0) {
                    src[j] = q;
                    break;
                }
        }
    }
}

static int copy_curve(fit_run *o, const fit_run *s, double shift) {
    o->curve_tokens = o->curve_loss = NULL;
    o->ncurve = 0;
    if (s->ncurve < 1) return 0;
    o->curve_tokens = malloc((size_t)s->ncurve * sizeof *o->curve_tokens);
    o->curve_loss = malloc((size_t)s->ncurve * sizeof *o->curve_loss);
    if (!o->curve_tokens || !o->curve_loss) return -1;
    for (int k = 0; k < s->ncurve; k++)
        o->curve_tokens[k] = s->curve_tokens[k], o->curve_loss[k] = s->curve_loss[k] + shift;
    o->ncurve = s->ncurve;
    return 0;
}

/* Whether run t of d heads a WSD family (some run's parent, or the first
 * run of a chain: fit__family_root). */
static int is_trunk(const fit_data *d, int t) {
    if (fit__family_root(d, t) != t) return 0;
    for (int i = 0; i < d->nruns; i++)
        if (i != t && !strcmp(d->runs[i].parent, d->runs[t].id)) return 1;
    return 0;
}

int fit_noise_draw(const fit_data *d, fit_data *out, util_rng *r, char *err, size_t errlen) {
    int n = d->nruns, rc = 0;
    out->nruns = 0;
    out->runs = calloc((size_t)(n ? n : 1), sizeof *out->runs);
    double *delta = malloc((size_t)(n ? n : 1) * sizeof *delta);
    int *src = malloc((size_t)(n ? n : 1) * sizeof *src);
    if (!out->runs || !delta || !src) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory (noise draw)");
        goto done;
    }
    seed_sources(d, r, src);
    if ((rc = eval_deltas(d, r, delta, err, errlen))) goto done;
    for (int i = 0; i < n; i++) {
        const fit_run *s = &d->runs[src[i]];
        fit_run *o = &out->runs[i];
        *o = d->runs[i]; /* the design: id, family, size, tokens, budget */
        o->win = NULL, o->nwin = 0;
        o->loss = s->loss + delta[src[i]];
        out->nruns = i + 1;
        /* a family trunk's curve is its members' losses: set below */
        if (copy_curve(o, is_trunk(d, i) ? &d->runs[i] : s, delta[src[i]])) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory (noise draw)");
            goto done;
        }
    }
    /* a WSD trunk's curve: (tokens, loss) of each member (fit_data.c
     * family_curves), now at the members' drawn losses */
    for (int t = 0; t < n; t++) {
        if (!is_trunk(d, t)) continue;
        fit_run *T = &out->runs[t];
        for (int k = 0; k < T->ncurve; k++)
            for (int i = 0; i < n; i++)
                if ((i == t || fit__family_root(d, i) == t) &&
                    out->runs[i].tokens == T->curve_tokens[k]) {
                    T->curve_loss[k] = out->runs[i].loss;
                    break;
                }
    }
done:
    free(delta);
    free(src);
    if (rc) fit_data_free(out);
    return rc;
}
