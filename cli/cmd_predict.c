/*
 * cmd_predict.c — `scaling predict`: the compute-optimal model size N_opt,
 * tokens D_opt, tokens per parameter and (from an Approach 3 fit) the
 * predicted loss at C FLOPs, each with a 95% interval taken over the fit's
 * stored bootstrap draws, beside the fit's exponents a and b. With --sweep,
 * one block per approach fitted to that sweep, at its largest budget unless
 * --compute says otherwise: the headline the main job ends with. Reads the
 * `fits` and `runs` tables; writes nothing.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analysis/fit.h"
#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling predict --compute C [--fit ID] [--db FILE] [--json]\n"
    "       scaling predict --sweep NAME [--compute C] [--db FILE] [--json]\n"
    "\n"
    "Compute-optimal N, D, tokens per parameter and loss for a budget of C FLOPs,\n"
    "from a stored fit, with the fit's exponents a and b (N_opt ~ C^a, D_opt ~ C^b):\n"
    "by default the latest Approach 3 fit (which also predicts the loss); an\n"
    "Approach 1 or 2 fit (--fit ID) gives N_opt and D_opt only. With --sweep, the\n"
    "latest Approach 1, 2 and 3 fits of that sweep (latest: most recently made,\n"
    "or made again), each that is stored, at the sweep's largest compute budget\n"
    "(counted as the fit counts FLOPs) unless --compute is given.\n"
    "Intervals are 2.5% and 97.5% percentiles over the fit's bootstrap draws.\n"
    "Then, for every held-out run of the sweep (a section with holdout = true:\n"
    "trained, never fitted), its measured loss beside each approach's prediction\n"
    "at its (N, D) and the error in % (Approach 3 predicts L(N, D); 1 and 2 do not).\n"
    "\n"
    "options:\n"
    "  --compute C   training compute in FLOPs, e.g. 1e21\n"
    "  --fit ID      the fit to use (see: scaling query 'SELECT * FROM fits')\n"
    "  --sweep NAME  the latest fits of each approach for this sweep\n"
    "  --db FILE     results database (default results.db)\n"
    "  --json        print one JSON object\n"
    "  -h, --help    this help\n";

enum { OPT_COMPUTE = 256, OPT_FIT, OPT_SWEEP, OPT_DB, OPT_JSON };

/* An interval that says nothing (zero width, orders of magnitude wide) is
 * not printed as if it were certainty: "n/a" and why (issue 17). */
static void add_val(cJSON *o, const char *name, double est, double lo, double hi, int positive) {
    cJSON *j = cJSON_AddObjectToObject(o, name);
    char why[160];
    int bad = fit_interval_degenerate(est, lo, hi, positive, why, sizeof why);
    double v3[3] = {est, bad ? NAN : lo, bad ? NAN : hi};
    static const char *f[3] = {"est", "lo", "hi"};
    for (int t = 0; t < 3; t++)
        cJSON_AddItemToObject(j, f[t],
                              isfinite(v3[t]) ? cJSON_CreateNumber(v3[t]) : cJSON_CreateNull());
    if (bad) cJSON_AddStringToObject(j, "interval_na", why);
}

static void print_val(const char *name, double est, double lo, double hi, int positive) {
    char why[160];
    printf("  %-17s %12.5g", name, est);
    if (fit_interval_degenerate(est, lo, hi, positive, why, sizeof why))
        printf("  interval n/a: %s", why);
    else if (isfinite(lo))
        printf("  [%.5g, %.5g]", lo, hi);
    printf("\n");
}

/* How N and C were counted for a fit (its selection JSON): "total" or
 * "nonembedding", and "chinchilla", "kaplan" or "6nd"; "" where not recorded. */
static void fit_counting(const char *sj, char *cparams, char *cflops, size_t n) {
    cJSON *sel = sj ? cJSON_Parse(sj) : NULL;
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(sel, "params"));
    snprintf(cparams, n, "%s", v ? v : "");
    v = cJSON_GetStringValue(cJSON_GetObjectItem(sel, "flops"));
    snprintf(cflops, n, "%s", v ? v : "");
    cJSON_Delete(sel);
}

/* The largest compute among the sweep's finished runs d, in FLOPs counted as
 * the fit counted them (a fit with Kaplan's counting measures C in Kaplan's
 * FLOPs): each run's tokens x FLOPs per token, or the nominal budget when the
 * sweep (plan_flops, its plan's "flops") planned its budgets with the fit's
 * counting (the runs' own FLOPs differ from it by whole-step rounding). 0 when
 * there is none. */
static double largest_compute(const fit_data *d, const char *plan_flops, const char *cparams,
                              const char *cflops) {
    fit_params p = !strcmp(cparams, "nonembedding") ? FIT_PARAMS_NONEMB : FIT_PARAMS_TOTAL;
    model_flops_count f = MODEL_FLOPS_CHINCHILLA;
    model_flops_parse(cflops, &f); /* unrecorded: the fits' default */
    int nominal = strcmp(cflops, "6nd") && plan_flops && !strcmp(plan_flops, cflops);
    double C = 0, B = 0;
    for (int i = 0; i < d->nruns; i++) {
        double c = fit_run_flops(&d->runs[i], p, f);
        if (c > C) C = c;
        if (d->runs[i].budget > B) B = d->runs[i].budget;
    }
    return nominal && B > 0 ? B : C;
}

/* The "flops" counting the sweep's plan used ("" when unknown) into out. */
static int plan_flops(store *s, const char *sweep, char *out, size_t n, char *err, size_t errlen) {
    store_sweep_row *sw = NULL;
    int ns = 0, rc = store_read_sweeps(s, sweep, &sw, &ns, err, errlen);
    out[0] = 0;
    if (rc) return rc;
    cJSON *plan = ns ? cJSON_Parse(sw[0].plan_json) : NULL;
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(plan, "flops"));
    snprintf(out, n, "%s", v ? v : "");
    cJSON_Delete(plan);
    store_sweep_rows_free(sw, ns);
    return 0;
}

/* Predicts at C from stored fit `id` (law and params JSON as stored): prints
 * one block, or adds one object to `out` when it is not NULL. Returns
 * EXIT_OK or the exit code of a reported failure. */
static int predict_one(long long id, const char *law, const char *sweep, const char *pj,
                       const char *cparams, const char *cflops, double C, double Cmax, cJSON *out) {
    char err[UTIL_ERRLEN];
    fit_prediction p;
    if (fit_predict(law, pj, C, &p, err, sizeof err))
        return cli_fail("predict", "fit %lld: %s", id, err);
    /* How far beyond the data: C over the largest budget the fit saw (0:
     * unknown, a fit without its sweep's runs). */
    double beyond = Cmax > 0 ? C / Cmax : NAN;
    char extrap[160] = "";
    if (isfinite(beyond) && beyond > 1.05)
        snprintf(extrap, sizeof extrap, "%.3g\u00d7 beyond the largest fitted budget (%.3g FLOPs)",
                 beyond, Cmax);
    else if (isfinite(beyond))
        snprintf(extrap, sizeof extrap, "within the fitted budgets (largest %.3g FLOPs)", Cmax);
    /* what the intervals cover: a noise bootstrap of a single-seed sweep
     * redraws the evaluation set only (the fit's warning says so) */
    const char *covers = NULL;
    cJSON *pjo = cJSON_Parse(pj);
    const cJSON *wj = cJSON_GetObjectItemCaseSensitive(pjo, "warning");
    if (cJSON_IsString(wj) && strstr(wj->valuestring, FIT_NOTE_NO_SEED_NOISE))
        covers = "eval-window noise only: every configuration was trained under one seed, so "
                 "seed-to-seed noise is not in them";
    cJSON_Delete(pjo);
    int a3 = !strcmp(law, "approach3");
    static const char *names[4] = {"N_opt", "D_opt", "tokens_per_param", "loss"};
    const fit_val *q[4] = {&p.N, &p.D, &p.tpp, &p.L};
    if (out) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "fit_id", (double)id);
        cJSON_AddStringToObject(o, "law", law);
        if (sweep) cJSON_AddStringToObject(o, "sweep", sweep);
        if (*cparams) cJSON_AddStringToObject(o, "params", cparams);
        if (*cflops) cJSON_AddStringToObject(o, "flops", cflops);
        cJSON_AddNumberToObject(o, "compute", C);
        cJSON_AddNumberToObject(o, "bootstrap_draws", p.nsamples);
        if (*p.caution) cJSON_AddStringToObject(o, "caution", p.caution);
        if (covers) cJSON_AddStringToObject(o, "intervals_cover", covers);
        if (p.nsamples < 2)
            cJSON_AddStringToObject(o, "intervals_na", "fewer than 2 bootstrap draws stored");
        if (isfinite(beyond)) {
            cJSON_AddNumberToObject(o, "largest_fitted_compute", Cmax);
            cJSON_AddNumberToObject(o, "extrapolation", beyond);
        }
        add_val(o, "a", p.a.est, p.a.lo, p.a.hi, 0);
        add_val(o, "b", p.b.est, p.b.lo, p.b.hi, 0);
        for (int k = 0; k < 4; k++)
            if (k != 3 || a3) add_val(o, names[k], q[k]->est, q[k]->lo, q[k]->hi, 1);
        cJSON_AddItemToArray(out, o);
    } else {
        printf("fit %lld (%s%s%s), compute %.4g FLOPs, %d bootstrap draws", id, law,
               sweep ? ", sweep " : "", sweep ? sweep : "", C, p.nsamples);
        if (*cparams && *cflops) printf("; parameters %s, FLOPs %s", cparams, cflops);
        printf("\n");
        if (*extrap) printf("  extrapolation: %s\n", extrap);
        if (covers) printf("  intervals cover %s\n", covers);
        if (p.nsamples < 2)
            printf("  intervals n/a: %d bootstrap draw%s stored with the fit (2 or more are "
                   "needed; refit with --bootstrap N, or the resamples could not be fitted)\n",
                   p.nsamples, p.nsamples == 1 ? "" : "s");
        print_val("a (N_opt ~ C^a)", p.a.est, p.a.lo, p.a.hi, 0);
        print_val("b (D_opt ~ C^b)", p.b.est, p.b.lo, p.b.hi, 0);
        for (int k = 0; k < 4; k++)
            if (k != 3 || a3) print_val(names[k], q[k]->est, q[k]->lo, q[k]->hi, 1);
        if (*p.caution)
            printf("  caution: %s at a bound or not identified in this fit (scaling fit prints "
                   "which); read these predictions as the optimiser's, not the data's\n",
                   p.caution);
    }
    return EXIT_OK;
}

int cmd_predict(int argc, char **argv) {
    static const struct option opts[] = {{"compute", required_argument, 0, OPT_COMPUTE},
                                         {"fit", required_argument, 0, OPT_FIT},
                                         {"sweep", required_argument, 0, OPT_SWEEP},
                                         {"db", required_argument, 0, OPT_DB},
                                         {"json", no_argument, 0, OPT_JSON},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    double C = NAN;
    long long fit_id = 0;
    const char *db = CLI_DEFAULT_DB, *sweep = NULL;
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_COMPUTE:
            if (cli_double("predict", "--compute", optarg, 1e-300, 1e300, &C)) return EXIT_USAGE;
            break;
        case OPT_FIT:
            if (cli_int("predict", "--fit", optarg, 1, INT64_MAX, &fit_id)) return EXIT_USAGE;
            break;
        case OPT_SWEEP:
            sweep = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            return cli_usage("predict", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("predict", "unexpected argument '%s'", argv[optind]);
    if (sweep && fit_id) return cli_usage("predict", "--sweep and --fit exclude each other");
    if (!sweep && !isfinite(C)) return cli_usage("predict", "--compute C is required");

    char err[UTIL_ERRLEN], pflops[32] = "";
    store *s = NULL;
    fit_data d = {0, NULL};
    store_fit_row *fits = NULL;
    int nfits = 0;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    int rc = EXIT_OK, found = 0;
    /* the fits found, for the held-out check: their laws and Approach 3's
     * fit (NULL for the approaches that predict no L(N, D)) */
    const char *hlaws[3];
    fit_approach3 *hf3[3] = {NULL, NULL, NULL};
    fit_params hp = FIT_PARAMS_TOTAL;
    char hsweep[128] = "";
    fit_data h = {0, NULL};
    if (json && !arr) return cli_fail("predict", "out of memory");
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) {
        rc = cli_fail("predict", "%s", err);
        goto done;
    }
    /* Without --compute, each fit of the sweep is read at the sweep's
     * largest run, in that fit's own FLOP counting. */
    int largest = sweep && !isfinite(C), loaded = 0;
    if (sweep) {
        if ((rc = cli_pick_sweep("predict", db, &sweep)) >= 0) goto done;
        rc = EXIT_OK;
    }
    /* the sweep's runs: its largest budget, and how far a prediction reaches
     * beyond it */
    if (sweep && (fit_load_store(&d, s, sweep, err, sizeof err) ||
                  plan_flops(s, sweep, pflops, sizeof pflops, err, sizeof err))) {
        rc = cli_fail("predict", "%s", err);
        goto done;
    }
    loaded = sweep != NULL;
    if (largest && !(largest_compute(&d, pflops, "total", "chinchilla") > 0)) {
        rc = cli_fail("predict", "%s: sweep '%s' has no finished runs", db, sweep);
        goto done;
    }
    /* The fit asked for; else the latest of each approach for the sweep; else
     * the latest Approach 3 fit. */
    static const char *const laws[3] = {"approach1", "approach2", "approach3"};
    for (int k = fit_id ? 0 : sweep ? 0 : 2; rc == EXIT_OK && k < (fit_id ? 1 : 3); k++) {
        store_fit_rows_free(fits, nfits);
        fits = NULL;
        if (fit_id ? store_get_fit(s, fit_id, &fits, &nfits, err, sizeof err)
                   : store_latest_fit(s, sweep, laws[k], &fits, &nfits, err, sizeof err)) {
            rc = cli_fail("predict", "%s", err);
            goto done;
        }
        if (!nfits) continue;
        const store_fit_row *f = &fits[0];
        char cparams[32], cflops[32];
        fit_counting(f->selection_json, cparams, cflops, sizeof cparams);
        if (!loaded && f->sweep[0]) { /* --fit ID: the runs of the fit's sweep */
            if (fit_load_store(&d, s, f->sweep, err, sizeof err) ||
                plan_flops(s, f->sweep, pflops, sizeof pflops, err, sizeof err)) {
                rc = cli_fail("predict", "%s", err);
                goto done;
            }
            loaded = 1;
        }
        double Cmax = loaded ? largest_compute(&d, pflops, cparams, cflops) : 0;
        double Cf = largest ? Cmax : C;
        if (!found++) C = Cf; /* the top-level "compute" of --json */
        rc = predict_one(f->id, f->law, f->sweep[0] ? f->sweep : NULL, f->params_json, cparams,
                         cflops, Cf, Cmax, arr);
        if (rc == EXIT_OK && f->sweep[0] && found <= 3) {
            int k = found - 1;
            hlaws[k] = !strcmp(f->law, "approach1")   ? "approach1"
                       : !strcmp(f->law, "approach2") ? "approach2"
                                                      : "approach3";
            snprintf(hsweep, sizeof hsweep, "%s", f->sweep);
            if (!strcmp(f->law, "approach3")) {
                hp = !strcmp(cparams, "nonembedding") ? FIT_PARAMS_NONEMB : FIT_PARAMS_TOTAL;
                if (!(hf3[k] = calloc(1, sizeof *hf3[k])) ||
                    fit_approach3_from_json(hf3[k], f->params_json, err, sizeof err)) {
                    rc = cli_fail("predict", "fit %lld: %s", (long long)f->id,
                                  hf3[k] ? err : "out of memory");
                    goto done;
                }
            }
        }
    }
    /* the held-out check: every held-out run of the fits' sweep against
     * each approach (docs/fit.md, "Held-out runs") */
    if (rc == EXIT_OK && hsweep[0] && fit_load_holdout(&h, s, hsweep, err, sizeof err)) {
        rc = cli_fail("predict", "%s", err);
        goto done;
    }
    int nh = found < 3 ? found : 3;
    if (rc == EXIT_OK && !json)
        cli_holdout_print(&h, hp, hlaws, (const fit_approach3 *const *)hf3, nh, stdout);
    if (rc == EXIT_OK && !found) {
        rc = fit_id ? cli_fail("predict", "%s: no fit with id %lld", db, fit_id)
             : sweep
                 ? cli_fail("predict",
                            "%s: no approach 1, 2 or 3 fit stored for sweep '%s' (run "
                            "scaling fit --sweep %s first)",
                            db, sweep, sweep)
                 : cli_fail("predict", "%s: no approach 3 fit stored (run scaling fit first)", db);
    }
    if (rc == EXIT_OK && arr) {
        /* One fit: the object itself, as before --sweep existed; several: an
         * object holding the array, so that the output is always one value. */
        cJSON *top = arr;
        if (sweep) {
            top = cJSON_CreateObject();
            cJSON_AddStringToObject(top, "sweep", sweep);
            cJSON_AddNumberToObject(top, "compute", C);
            cJSON_AddItemToObject(top, "fits", arr);
            arr = NULL;
            cJSON_AddItemToObject(
                top, "holdout",
                cli_holdout_json(&h, hp, hlaws, (const fit_approach3 *const *)hf3, nh));
        }
        char *txt = cJSON_Print(sweep ? top : cJSON_GetArrayItem(top, 0));
        if (txt) puts(txt);
        free(txt);
        if (sweep) cJSON_Delete(top);
    }
done:
    for (int k = 0; k < 3; k++)
        free(hf3[k]);
    fit_data_free(&h);
    store_fit_rows_free(fits, nfits);
    fit_data_free(&d);
    store_close(s);
    cJSON_Delete(arr);
    return rc;
}
