/*
 * fit_json.c — the JSON form of fit results (the `fits` table's params_json
 * and `scaling fit --json`) and reading it back for `scaling predict`. The
 * published values printed beside ours are in published.c.
 *
 * A fitted value is {"est": x, "lo": y, "hi": z}; non-finite numbers are null.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

/* ---- Writing ------------------------------------------------------------------- */

static cJSON *num(double x) {
    return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull();
}

static void add_val(cJSON *o, const char *name, fit_val v) {
    cJSON *j = cJSON_AddObjectToObject(o, name);
    if (!j) return;
    cJSON_AddItemToObject(j, "est", num(v.est));
    cJSON_AddItemToObject(j, "lo", num(v.lo));
    cJSON_AddItemToObject(j, "hi", num(v.hi));
    /* what the numbers can be trusted for (fit.h's FIT_* flags) */
    if (v.flags & (FIT_AT_LOWER | FIT_AT_UPPER))
        cJSON_AddStringToObject(j, "at_bound", v.flags & FIT_AT_LOWER ? "lower" : "upper");
    else
        cJSON_AddNullToObject(j, "at_bound");
    cJSON_AddBoolToObject(j, "draws_at_bound", (v.flags & FIT_DRAWS_AT_BOUND) != 0);
    cJSON_AddItemToObject(j, "bound", num(v.bound));
    cJSON_AddBoolToObject(j, "identified", !(v.flags & FIT_UNIDENTIFIED));
}

static cJSON *row(const double *x, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, num(x[i]));
    return a;
}

static char *finish(cJSON *o) {
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* The fitted values of each result, by name, in the order they are written. */
static const char *const frontier_names[4] = {"a", "b", "kN", "kD"};
static const char *const a3_names[8] = {"E", "A", "B", "alpha", "beta", "a", "b", "G"};

char *fit_frontier_json(const fit_frontier *f) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    const fit_val *v[4] = {&f->a, &f->b, &f->kN, &f->kD};
    for (int i = 0; i < 4; i++)
        add_val(o, frontier_names[i], *v[i]);
    cJSON_AddNumberToObject(o, "npoints", f->npoints_used);
    cJSON_AddNumberToObject(o, "nruns", f->nruns_used);
    cJSON_AddStringToObject(o, "warning", f->warning);
    cJSON *pts = cJSON_AddArrayToObject(o, "optima");
    for (int i = 0; pts && i < f->pts.n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToObject(p, "C", num(f->pts.C[i]));
        cJSON_AddItemToObject(p, "N", num(f->pts.N[i]));
        cJSON_AddItemToObject(p, "D", num(f->pts.D[i]));
        cJSON_AddItemToObject(p, "L", num(f->pts.L[i]));
        cJSON_AddBoolToObject(p, "extrapolated", f->pts.extrapolated[i]);
        cJSON_AddBoolToObject(p, "interpolated", f->pts.interpolated[i]);
        cJSON_AddItemToObject(p, "weight", num(f->pts.weight[i]));
        cJSON_AddItemToObject(p, "parabola", row(f->pts.parab[i], 3));
        cJSON_AddItemToArray(pts, p);
    }
    cJSON *s = cJSON_AddArrayToObject(o, "samples"); /* (kN, a, kD, b) per draw */
    for (int i = 0; s && i < f->nsamples; i++)
        cJSON_AddItemToArray(s, row(f->samples[i], 4));
    return finish(o);
}

char *fit_approach3_json(const fit_approach3 *f) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    const fit_val *v[8] = {&f->E, &f->A, &f->B, &f->alpha, &f->beta, &f->a, &f->b, &f->G};
    for (int i = 0; i < 8; i++)
        add_val(o, a3_names[i], *v[i]);
    cJSON_AddItemToObject(o, "objective", num(f->objective));
    cJSON_AddBoolToObject(o, "on_grid_edge", f->on_grid_edge);
    cJSON_AddItemToObject(o, "start", row(f->start, 5));
    cJSON_AddNumberToObject(o, "starts_run", f->starts_run);
    cJSON_AddNumberToObject(o, "npoints", f->npoints);
    cJSON_AddNumberToObject(o, "bootstrap_failed", f->boot_failed);
    cJSON_AddNumberToObject(o, "bootstrap_starts", f->boot_starts);
    cJSON_AddStringToObject(o, "bootstrap_draws", f->boot_noise ? "noise" : "runs");
    /* the domain: every run, or the runs inside it with the others listed */
    cJSON_AddStringToObject(o, "domain", f->domain_all ? "all" : "in");
    cJSON_AddNumberToObject(o, "nexcluded", f->nexcluded);
    cJSON *ex = cJSON_AddArrayToObject(o, "excluded");
    for (int i = 0; ex && i < f->nexcluded && i < FIT_MAX_EXCLUDED; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "run", f->excluded[i].run);
        cJSON_AddStringToObject(e, "reason", f->excluded[i].reason);
        cJSON_AddItemToArray(ex, e);
    }
    cJSON_AddStringToObject(o, "warning", f->warning);
    /* the fit's count of C along its sizes, for its frontier: {"N": [...],
     * "flops_per_token": [...]}; empty arrays mean C = 6 N D */
    cJSON *cnt = cJSON_AddObjectToObject(o, "count");
    if (cnt) {
        cJSON_AddItemToObject(cnt, "N", row(f->count.N, f->count.n));
        cJSON_AddItemToObject(cnt, "flops_per_token", row(f->count.fpt, f->count.n));
    }
    cJSON *s = cJSON_AddArrayToObject(o, "samples"); /* (E, A, B, alpha, beta) per draw */
    for (int i = 0; s && i < f->nsamples; i++)
        cJSON_AddItemToArray(s, row(f->samples[i], 5));
    return finish(o);
}

char *fit_systematic_json(const fit_systematic *t) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON *cells = cJSON_AddArrayToObject(o, "cells");
    for (int i = 0; cells && i < t->n; i++) {
        const fit_sys_cell *c = &t->cell[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "params",
                                c->params == FIT_PARAMS_NONEMB ? "nonembedding" : "total");
        cJSON_AddStringToObject(j, "flops", model_flops_name(c->flops));
        cJSON_AddStringToObject(j, "estimator", fit_sys_estimator_name(c->estimator));
        add_val(j, "a", c->a);
        add_val(j, "b", c->b);
        cJSON_AddNumberToObject(j, "nruns", c->nruns);
        cJSON_AddItemToObject(j, "C_lo", num(c->Clo));
        cJSON_AddItemToObject(j, "C_hi", num(c->Chi));
        if (c->error[0])
            cJSON_AddStringToObject(j, "error", c->error);
        else
            cJSON_AddNullToObject(j, "error");
        cJSON_AddItemToArray(cells, j);
    }
    double da, db;
    fit_systematic_spread(t, &da, &db);
    cJSON_AddItemToObject(o, "spread_a", num(da));
    cJSON_AddItemToObject(o, "spread_b", num(db));
    return finish(o);
}

static void add_pl(cJSON *o, const char *name, const fit_powerlaw *p, int have) {
    if (!have) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    cJSON *j = cJSON_AddObjectToObject(o, name);
    add_val(j, "Xc", p->Xc);
    add_val(j, "alpha", p->alpha);
    add_val(j, "E", p->E);
    cJSON_AddNumberToObject(j, "npoints", p->npoints);
}

char *fit_kaplan_json(const fit_kaplan *f) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_pl(o, "LN", &f->LN, 1);
    add_pl(o, "LD", &f->LD, f->have_LD);
    add_pl(o, "LC", &f->LC, isfinite(f->LC.alpha.est));
    /* the other form of L(Cmin) (with E when LC has none), and where its points start */
    add_pl(o, "LC_other", &f->LC_other, isfinite(f->LC_other.alpha.est));
    cJSON_AddBoolToObject(o, "LC_other_with_E", f->LC_other_with_E);
    if (isfinite(f->LC_from))
        cJSON_AddNumberToObject(o, "LC_from", f->LC_from);
    else
        cJSON_AddNullToObject(o, "LC_from");
    if (f->have_joint) {
        cJSON *j = cJSON_AddObjectToObject(o, "joint");
        add_val(j, "Nc", f->Nc);
        add_val(j, "Dc", f->Dc);
        add_val(j, "aN", f->aN);
        add_val(j, "aD", f->aD);
    } else {
        cJSON_AddNullToObject(o, "joint");
    }
    cJSON_AddStringToObject(o, "warning", f->warning);
    return finish(o);
}

/* ---- Reading back ------------------------------------------------------------ */

static double getnum(const cJSON *j) {
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

static int get_val(const cJSON *o, const char *name, fit_val *v) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsObject(j)) return -1;
    v->est = getnum(cJSON_GetObjectItemCaseSensitive(j, "est"));
    v->lo = getnum(cJSON_GetObjectItemCaseSensitive(j, "lo"));
    v->hi = getnum(cJSON_GetObjectItemCaseSensitive(j, "hi"));
    v->bound = getnum(cJSON_GetObjectItemCaseSensitive(j, "bound"));
    const char *ab = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "at_bound"));
    v->flags = 0; /* fits stored before the flags existed read as ordinary values */
    if (ab) v->flags |= !strcmp(ab, "lower") ? FIT_AT_LOWER : FIT_AT_UPPER;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "draws_at_bound")))
        v->flags |= FIT_DRAWS_AT_BOUND;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "identified")))
        v->flags |= FIT_UNIDENTIFIED;
    return isfinite(v->est) ? 0 : -1;
}

static int get_samples(const cJSON *o, double *dst, int width, int *n) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "samples"), *r;
    *n = 0;
    if (!s) return 0;
    if (!cJSON_IsArray(s)) return -1;
    cJSON_ArrayForEach(r, s) {
        if (*n >= FIT_SAMPLES) break;
        if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != width) return -1;
        for (int k = 0; k < width; k++)
            dst[(size_t)*n * width + k] = getnum(cJSON_GetArrayItem(r, k));
        (*n)++;
    }
    return 0;
}

/* The "count" of an approach 3 fit; absent (fits stored before it was
 * recorded) means C = 6 N D. -1 when present but malformed. */
static int get_count(const cJSON *o, model_flops_frontier *c) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "count");
    c->n = 0;
    if (!j) return 0;
    const cJSON *N = cJSON_GetObjectItemCaseSensitive(j, "N");
    const cJSON *F = cJSON_GetObjectItemCaseSensitive(j, "flops_per_token");
    int n = cJSON_GetArraySize(N);
    if (!cJSON_IsArray(N) || !cJSON_IsArray(F) || cJSON_GetArraySize(F) != n) return -1;
    for (int i = 0; i < n; i++)
        if (model_frontier_add(c, getnum(cJSON_GetArrayItem(N, i)),
                               getnum(cJSON_GetArrayItem(F, i))))
            return -1;
    return c->n == n ? 0 : -1;
}

int fit_approach3_from_json(fit_approach3 *f, const char *json, char *err, size_t errlen) {
    cJSON *o = cJSON_Parse(json);
    memset(f, 0, sizeof *f);
    int bad = !o;
    fit_val *vals[8] = {&f->E, &f->A, &f->B, &f->alpha, &f->beta, &f->a, &f->b, &f->G};
    for (int i = 0; !bad && i < 8; i++)
        bad = get_val(o, a3_names[i], vals[i]);
    if (!bad) {
        f->objective = getnum(cJSON_GetObjectItemCaseSensitive(o, "objective"));
        f->npoints = (int)getnum(cJSON_GetObjectItemCaseSensitive(o, "npoints"));
        bad = get_samples(o, &f->samples[0][0], 5, &f->nsamples) || get_count(o, &f->count);
    }
    cJSON_Delete(o);
    if (bad)
        return util_err(err, errlen, UTIL_ECORRUPT,
                        "fit: stored approach 3 parameters are not valid JSON of a fit");
    return 0;
}

int fit_frontier_from_json(fit_frontier *f, const char *json, char *err, size_t errlen) {
    cJSON *o = cJSON_Parse(json);
    memset(f, 0, sizeof *f);
    fit_val *vals[4] = {&f->a, &f->b, &f->kN, &f->kD};
    int bad = !o;
    for (int i = 0; !bad && i < 4; i++)
        bad = get_val(o, frontier_names[i], vals[i]);
    if (!bad) {
        f->npoints_used = (int)getnum(cJSON_GetObjectItemCaseSensitive(o, "npoints"));
        bad = get_samples(o, &f->samples[0][0], 4, &f->nsamples);
    }
    cJSON_Delete(o);
    if (bad)
        return util_err(err, errlen, UTIL_ECORRUPT,
                        "fit: stored frontier parameters are not valid JSON of a fit");
    return 0;
}
