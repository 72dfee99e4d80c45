/*
 * fit_json.c — the JSON form of fit results (the `fits` table's params_json
 * and `scaling fit --json`), reading it back for `scaling predict`, and the
 * published values printed beside ours.
 *
 * A fitted value is {"est": x, "lo": y, "hi": z}; non-finite numbers are null.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

/* ---- Published values -------------------------------------------------------- */

/* Kaplan et al. 2020 (arXiv:2001.08361) sec. 1.2 and eq. 1.1-1.3, 1.7;
 * Hoffmann et al. 2022 (arXiv:2203.15556) Table 2 and sec. 3.3 / eq. 10;
 * Besiroglu et al. 2024 (arXiv:2404.10102) Table 1, their Approach 3 refit. */
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
};
const int fit_published_count = (int)(sizeof fit_published_values / sizeof fit_published_values[0]);

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

char *fit_frontier_json(const fit_frontier *f) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_val(o, "a", f->a);
    add_val(o, "b", f->b);
    add_val(o, "kN", f->kN);
    add_val(o, "kD", f->kD);
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
    add_val(o, "E", f->E);
    add_val(o, "A", f->A);
    add_val(o, "B", f->B);
    add_val(o, "alpha", f->alpha);
    add_val(o, "beta", f->beta);
    add_val(o, "a", f->a);
    add_val(o, "b", f->b);
    add_val(o, "G", f->G);
    cJSON_AddItemToObject(o, "objective", num(f->objective));
    cJSON_AddBoolToObject(o, "on_grid_edge", f->on_grid_edge);
    cJSON_AddItemToObject(o, "start", row(f->start, 5));
    cJSON_AddNumberToObject(o, "starts_run", f->starts_run);
    cJSON_AddNumberToObject(o, "npoints", f->npoints);
    cJSON_AddNumberToObject(o, "bootstrap_failed", f->boot_failed);
    cJSON_AddStringToObject(o, "warning", f->warning);
    cJSON *s = cJSON_AddArrayToObject(o, "samples"); /* (E, A, B, alpha, beta) per draw */
    for (int i = 0; s && i < f->nsamples; i++)
        cJSON_AddItemToArray(s, row(f->samples[i], 5));
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

int fit_approach3_from_json(fit_approach3 *f, const char *json, char *err, size_t errlen) {
    cJSON *o = cJSON_Parse(json);
    memset(f, 0, sizeof *f);
    int bad = !o;
    const char *names[8] = {"E", "A", "B", "alpha", "beta", "a", "b", "G"};
    fit_val *vals[8] = {&f->E, &f->A, &f->B, &f->alpha, &f->beta, &f->a, &f->b, &f->G};
    for (int i = 0; !bad && i < 8; i++)
        bad = get_val(o, names[i], vals[i]);
    if (!bad) {
        f->objective = getnum(cJSON_GetObjectItemCaseSensitive(o, "objective"));
        f->npoints = (int)getnum(cJSON_GetObjectItemCaseSensitive(o, "npoints"));
        bad = get_samples(o, &f->samples[0][0], 5, &f->nsamples);
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
    int bad = !o || get_val(o, "a", &f->a) || get_val(o, "b", &f->b) || get_val(o, "kN", &f->kN) ||
              get_val(o, "kD", &f->kD);
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
