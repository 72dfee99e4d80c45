/*
 * cli_holdout.c — the held-out check that `scaling predict --sweep` and
 * `scaling fit` print: for every held-out run (a sweep section with
 * holdout = true: trained, never fitted), its measured loss beside the loss
 * each approach predicts at its (N, D), with the 95% interval over the
 * fit's bootstrap draws, and the error in %. Approach 3 predicts L(N, D);
 * approaches 1 and 2 give N_opt(C) only, and say so.
 */
#include <math.h>
#include <stdlib.h>

#include "cli.h"

/* The prediction of fit k for run r (NaN est when the law has none). */
static void predict_run(const fit_run *r, fit_params p, const fit_approach3 *f3, fit_val *L) {
    L->est = L->lo = L->hi = NAN;
    if (f3 && fit_predict_loss_fit(f3, fit_run_params(r, p), r->tokens, L)) L->est = NAN;
}

void cli_holdout_print(const fit_data *h, fit_params p, const char *const *laws,
                       const fit_approach3 *const *f3, int nlaws, FILE *fp) {
    if (!h || h->nruns == 0) return;
    fprintf(fp,
            "held-out runs (trained, never fitted): measured loss and each approach's "
            "prediction at the run's (N, D) (N %s)\n",
            p == FIT_PARAMS_NONEMB ? "non-embedding" : "total");
    for (int i = 0; i < h->nruns; i++) {
        const fit_run *r = &h->runs[i];
        fprintf(fp, "  run %s [%s] N %.5g, D %.5g tokens: measured loss %.4f\n", r->id, r->label,
                fit_run_params(r, p), r->tokens, r->loss);
        for (int k = 0; k < nlaws; k++) {
            fprintf(fp, "    %-10s ", laws[k]);
            if (!f3[k]) {
                fprintf(fp, "%s\n", FIT_HOLDOUT_NA);
                continue;
            }
            fit_val L;
            predict_run(r, p, f3[k], &L);
            fprintf(fp, "predicts %.4f", L.est);
            if (isfinite(L.lo)) fprintf(fp, " [%.4f, %.4f]", L.lo, L.hi);
            fprintf(fp, ", error %+.2f%%\n", 100.0 * (L.est - r->loss) / r->loss);
        }
    }
}

cJSON *cli_holdout_json(const fit_data *h, fit_params p, const char *const *laws,
                        const fit_approach3 *const *f3, int nlaws) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && h && i < h->nruns; i++) {
        const fit_run *r = &h->runs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "run", r->id);
        cJSON_AddStringToObject(o, "label", r->label);
        cJSON_AddNumberToObject(o, "params", fit_run_params(r, p));
        cJSON_AddNumberToObject(o, "tokens", r->tokens);
        cJSON_AddNumberToObject(o, "measured_loss", r->loss);
        cJSON *pr = cJSON_AddArrayToObject(o, "predictions");
        for (int k = 0; k < nlaws; k++) {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddItemToArray(pr, q);
            cJSON_AddStringToObject(q, "law", laws[k]);
            if (!f3[k]) {
                cJSON_AddStringToObject(q, "loss", FIT_HOLDOUT_NA);
                continue;
            }
            fit_val L;
            predict_run(r, p, f3[k], &L);
            cJSON *l = cJSON_AddObjectToObject(q, "loss");
            double v[3] = {L.est, L.lo, L.hi};
            static const char *const f[3] = {"est", "lo", "hi"};
            for (int t = 0; t < 3; t++)
                cJSON_AddItemToObject(
                    l, f[t], isfinite(v[t]) ? cJSON_CreateNumber(v[t]) : cJSON_CreateNull());
            double e = 100.0 * (L.est - r->loss) / r->loss;
            cJSON_AddItemToObject(q, "error_pct",
                                  isfinite(e) ? cJSON_CreateNumber(e) : cJSON_CreateNull());
        }
    }
    return arr;
}
