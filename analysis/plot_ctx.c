/*
 * plot_ctx.c — the loaded context of the figures and the report: a sweep's
 * finished runs, loaded once, and its fits (Kaplan laws, Approaches 1-3),
 * each computed on first use and kept (the fit cache).
 * Does not own: drawing (plot_script.c and the figure files), the fits
 * themselves (fit_*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

const char *const plot_figure_names[] = {
    "kaplan-fig1",         "kaplan-curves", "chinchilla-envelope", "chinchilla-isoflop",
    "chinchilla-contours", "frontier",      "residuals",
};
const int plot_figure_count = (int)(sizeof plot_figure_names / sizeof plot_figure_names[0]);

void plot_opts_defaults(plot_opts *o) {
    memset(o, 0, sizeof *o);
    /* the fit's own defaults, so that the figures, the report and `scaling
     * fit` print the same intervals */
    fit_opts f;
    fit_opts_defaults(&f);
    o->bootstrap = f.bootstrap;
    o->seed = f.seed;
    o->gnuplot = NULL;
}

/* ---- Context and fits ----------------------------------------------------- */

int plot_ctx_open(plot_ctx **out, store *s, const char *sweep, const plot_opts *o, char *err,
                  size_t errlen) {
    int rc;
    *out = NULL;
    plot_ctx *c = calloc(1, sizeof *c);
    if (!c) return util_err(err, errlen, UTIL_ENOMEM, "plot: out of memory");
    c->s = s;
    snprintf(c->sweep, sizeof c->sweep, "%s", sweep ? sweep : "");
    if (o)
        c->o = *o;
    else
        plot_opts_defaults(&c->o);
    fit_opts_defaults(&c->chin_opts);
    c->chin_opts.bootstrap = c->o.bootstrap;
    c->chin_opts.seed = c->o.seed;
    if (c->o.a3_starts > 0) c->chin_opts.a3_starts = c->o.a3_starts;
    c->kap_opts = c->chin_opts;
    c->kap_opts.params = FIT_PARAMS_NONEMB;
    c->kap_opts.flops = MODEL_FLOPS_KAPLAN;
    if (sweep && *sweep) {
        rc = store_sweep_known(s, sweep, err, errlen);
        if (rc == 0)
            rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: no sweep named '%s'", store_path(s),
                          sweep);
        if (rc < 0) {
            free(c);
            return rc;
        }
    }
    if ((rc = fit_load_store(&c->d, s, sweep && *sweep ? sweep : NULL, err, errlen))) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void plot_ctx_free(plot_ctx *c) {
    if (!c) return;
    fit_data_free(&c->d);
    free(c->a1);
    free(c->a2);
    free(c->a3);
    free(c);
}

const char *plot__fit_name(int which) {
    static const char *const names[PLOT_NFITS] = {"Kaplan laws", "Chinchilla approach 1",
                                                  "Chinchilla approach 2", "Chinchilla approach 3"};
    return which >= 0 && which < PLOT_NFITS ? names[which] : "?";
}

int plot__fit(plot_ctx *c, int which) {
    if (c->done[which]) return c->rc[which];
    int rc = 0;
    char *why = c->why[which];
    size_t wl = sizeof c->why[which];
    switch (which) {
    case PLOT_FIT_KAPLAN:
        rc = fit_kaplan_laws(&c->d, &c->kap_opts, &c->kap, why, wl);
        break;
    case PLOT_FIT_A1:
    case PLOT_FIT_A2: {
        fit_frontier **f = which == PLOT_FIT_A1 ? &c->a1 : &c->a2;
        *f = calloc(1, sizeof **f);
        if (!*f)
            rc = util_err(why, wl, UTIL_ENOMEM, "out of memory");
        else if (which == PLOT_FIT_A1)
            rc = fit_approach1(&c->d, &c->chin_opts, *f, why, wl);
        else
            rc = fit_approach2(&c->d, &c->chin_opts, *f, why, wl);
        break;
    }
    case PLOT_FIT_A3:
        c->a3 = calloc(1, sizeof *c->a3);
        if (!c->a3)
            rc = util_err(why, wl, UTIL_ENOMEM, "out of memory");
        else
            rc = fit_approach3_fit(&c->d, &c->chin_opts, c->a3, why, wl);
        break;
    }
    if (rc == 0)
        why[0] = 0;
    else if (!why[0])
        snprintf(why, wl, "failed (code %d)", rc);
    c->done[which] = 1;
    c->rc[which] = rc;
    return rc;
}

int plot_figure(store *s, const char *sweep, const char *name, const char *outdir,
                const plot_opts *o, char *msg, size_t msglen, char *err, size_t errlen) {
    plot_ctx *c = NULL;
    int rc = plot_ctx_open(&c, s, sweep, o, err, errlen);
    if (rc) return rc;
    rc = plot_ctx_figure(c, name, outdir, msg, msglen, err, errlen);
    plot_ctx_free(c);
    return rc;
}
