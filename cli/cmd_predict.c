/*
 * cmd_predict.c — `scaling predict`: the compute-optimal model size N_opt,
 * tokens D_opt, tokens per parameter and (from an Approach 3 fit) the
 * predicted loss at C FLOPs, each with a 95% interval taken over the fit's
 * stored bootstrap draws, beside the fit's exponents a and b. With --sweep,
 * one block per approach fitted to that sweep, at its largest budget unless
 * --compute says otherwise: the headline the main job ends with. Reads the
 * `fits` and `runs` tables; writes nothing.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
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
    "\n"
    "options:\n"
    "  --compute C   training compute in FLOPs, e.g. 1e21\n"
    "  --fit ID      the fit to use (see: scaling query 'SELECT * FROM fits')\n"
    "  --sweep NAME  the latest fits of each approach for this sweep\n"
    "  --db FILE     results database (default results.db)\n"
    "  --json        print one JSON object\n"
    "  -h, --help    this help\n";

enum { OPT_COMPUTE = 256, OPT_FIT, OPT_SWEEP, OPT_DB, OPT_JSON };
enum { Q_N = FIT_PRED_N, Q_D = FIT_PRED_D, Q_TPP = FIT_PRED_TPP, Q_L = FIT_PRED_L, NQ = FIT_NPRED };

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

/* Predicts at C from stored fit `id` (law and params JSON as stored): prints
 * one block, or adds one object to `out` when it is not NULL. Returns
 * EXIT_OK or the exit code of a reported failure. */
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

/* The largest compute among the sweep's finished runs, in FLOPs counted as
 * the fit counted them (a fit with Kaplan's counting measures C in Kaplan's
 * FLOPs): tokens x FLOPs per token, or the nominal budget of an IsoFLOP sweep
 * that counted the same way. 0 when there is none. */
static double largest_compute(sqlite3 *db, const char *sweep, const char *cparams,
                              const char *cflops) {
    const char *fpt = !strcmp(cflops, "kaplan") ? "flops_per_token_kaplan"
                      : !strcmp(cflops, "6nd")
                          ? (!strcmp(cparams, "nonembedding") ? "6.0 * params_nonembedding"
                                                              : "6.0 * params_total")
                          : "flops_per_token_chinchilla";
    /* The nominal budget when the sweep planned its budgets with the fit's
     * counting (the runs' own FLOPs differ from it by whole-step rounding). */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT CASE WHEN ?2 <> '6nd' AND MAX(compute_budget) IS NOT NULL AND "
             "(SELECT json_extract(plan_json, '$.flops') FROM sweeps WHERE name = ?1) = ?2 "
             "THEN MAX(compute_budget) ELSE MAX(CAST(tokens AS REAL) * %s) END "
             "FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") " AND status = 'done' AND " STORE_SQL_FITTED,
             fpt);
    sqlite3_stmt *st = NULL;
    double C = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sweep, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cflops, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            C = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    return C;
}

static int predict_one(long long id, const char *law, const char *sweep, const char *pj,
                       const char *cparams, const char *cflops, double C, double Cmax,
                       cJSON *out) {
    char err[UTIL_ERRLEN];
    int a3 = law && !strcmp(law, "approach3");
    if (!law || (!a3 && strcmp(law, "approach1") && strcmp(law, "approach2")))
        return cli_fail("predict", "fit %lld is a '%s' fit; predict needs approach1, 2 or 3", id,
                        law ? law : "?");
    fit_approach3 *f3 = a3 ? calloc(1, sizeof *f3) : NULL;
    fit_frontier *ff = a3 ? NULL : calloc(1, sizeof *ff);
    int rc = EXIT_OK;
    if (!f3 && !ff) {
        rc = cli_fail("predict", "out of memory");
        goto done;
    }
    if (a3 ? fit_approach3_from_json(f3, pj ? pj : "", err, sizeof err)
           : fit_frontier_from_json(ff, pj ? pj : "", err, sizeof err)) {
        rc = cli_fail("predict", "fit %lld: %s", id, err);
        goto done;
    }

    /* Point estimates and intervals over the bootstrap draws: the same
     * function as the report's headline. */
    double est[NQ], lo[NQ], hi[NQ];
    int ns = a3 ? f3->nsamples : ff->nsamples;
    if (fit_predict(a3 ? NULL : ff, a3 ? f3 : NULL, C, est, lo, hi)) {
        rc = cli_fail("predict", "out of memory");
        goto done;
    }
    /* How far beyond the data: C over the largest budget the fit saw. */
    double beyond = Cmax > 0 ? C / Cmax : NAN;
    char extrap[160] = "";
    if (isfinite(beyond) && beyond > 1.05)
        snprintf(extrap, sizeof extrap, "%.3g\u00d7 beyond the largest fitted budget (%.3g FLOPs)",
                 beyond, Cmax);
    else if (isfinite(beyond))
        snprintf(extrap, sizeof extrap, "within the fitted budgets (largest %.3g FLOPs)", Cmax);
    const fit_val *a = a3 ? &f3->a : &ff->a, *b = a3 ? &f3->b : &ff->b;
    /* A fit whose parameters sat at a bound or were not identified predicts
     * what its optimiser happened to reach: say which, beside the numbers. */
    char caution[200] = "";
    {
        const fit_val *v[7] = {a, b, a, b, a, b, a};
        static const char *const nm3[7] = {"E", "A", "B", "alpha", "beta", "a", "b"};
        static const char *const nm2[2] = {"a", "b"};
        const char *const *nm = a3 ? nm3 : nm2;
        if (a3) {
            const fit_val *w[5] = {&f3->E, &f3->A, &f3->B, &f3->alpha, &f3->beta};
            for (int k = 0; k < 5; k++)
                v[k] = w[k];
            v[5] = a, v[6] = b;
        }
        size_t len = 0;
        for (int k = 0; k < (a3 ? 7 : 2) && len < sizeof caution; k++)
            if (v[k]->flags)
                len += (size_t)snprintf(caution + len, sizeof caution - len, "%s%s",
                                        len ? ", " : "", nm[k]);
    }

    static const char *names[NQ] = {"N_opt", "D_opt", "tokens_per_param", "loss"};
    if (out) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "fit_id", (double)id);
        cJSON_AddStringToObject(o, "law", law);
        if (sweep) cJSON_AddStringToObject(o, "sweep", sweep);
        if (*cparams) cJSON_AddStringToObject(o, "params", cparams);
        if (*cflops) cJSON_AddStringToObject(o, "flops", cflops);
        cJSON_AddNumberToObject(o, "compute", C);
        cJSON_AddNumberToObject(o, "bootstrap_draws", ns);
        if (*caution) cJSON_AddStringToObject(o, "caution", caution);
        if (ns < 2)
            cJSON_AddStringToObject(o, "intervals_na", "fewer than 2 bootstrap draws stored");
        if (isfinite(beyond)) {
            cJSON_AddNumberToObject(o, "largest_fitted_compute", Cmax);
            cJSON_AddNumberToObject(o, "extrapolation", beyond);
        }
        add_val(o, "a", a->est, a->lo, a->hi, 0);
        add_val(o, "b", b->est, b->lo, b->hi, 0);
        for (int k = 0; k < NQ; k++)
            if (k != Q_L || a3) add_val(o, names[k], est[k], lo[k], hi[k], 1);
        cJSON_AddItemToArray(out, o);
    } else {
        printf("fit %lld (%s%s%s), compute %.4g FLOPs, %d bootstrap draws", id, law,
               sweep ? ", sweep " : "", sweep ? sweep : "", C, ns);
        if (*cparams && *cflops) printf("; parameters %s, FLOPs %s", cparams, cflops);
        printf("\n");
        if (*extrap) printf("  extrapolation: %s\n", extrap);
        if (ns < 2)
            printf("  intervals n/a: %d bootstrap draw%s stored with the fit (2 or more are "
                   "needed; refit with --bootstrap N, or the resamples could not be fitted)\n",
                   ns, ns == 1 ? "" : "s");
        print_val("a (N_opt ~ C^a)", a->est, a->lo, a->hi, 0);
        print_val("b (D_opt ~ C^b)", b->est, b->lo, b->hi, 0);
        for (int k = 0; k < NQ; k++)
            if (k != Q_L || a3) print_val(names[k], est[k], lo[k], hi[k], 1);
        if (*caution)
            printf("  caution: %s at a bound or not identified in this fit (scaling fit prints "
                   "which); read these predictions as the optimiser's, not the data's\n",
                   caution);
    }
done:
    free(f3);
    free(ff);
    return rc;
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
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case OPT_COMPUTE:
            if (cli_double("predict", "--compute", optarg, 1e-300, 1e300, &C)) return EXIT_USAGE;
            break;
        case OPT_FIT:
            if (cli_int("predict", "--fit", optarg, 1, INT64_MAX, &fit_id)) return EXIT_USAGE;
            break;
        case OPT_SWEEP:
            sweep = optarg;
            break;
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

    char err[UTIL_ERRLEN];
    store *s = NULL;
    sqlite3_stmt *st = NULL;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    int rc = EXIT_OK, found = 0;
    if (json && !arr) return cli_fail("predict", "out of memory");
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) {
        rc = cli_fail("predict", "%s", err);
        goto done;
    }
    sqlite3 *sdb = store_db(s);
    /* Without --compute, each fit of the sweep is read at the sweep's
     * largest run, in that fit's own FLOP counting. */
    int largest = sweep && !isfinite(C);
    if (largest && !(largest_compute(sdb, sweep, "total", "chinchilla") > 0)) {
        rc = cli_fail("predict", "%s: sweep '%s' has no finished runs", db, sweep);
        goto done;
    }
    const char *sql =
        fit_id  ? "SELECT id, law, sweep, params_json, selection_json FROM fits WHERE id = ?1"
        : sweep ? "SELECT id, law, sweep, params_json, selection_json FROM fits f WHERE sweep = ?2 "
                  "AND law IN ('approach1', 'approach2', 'approach3') AND id = "
                  "(SELECT id FROM fits g WHERE g.sweep = f.sweep AND g.law = f.law "
                  "ORDER BY created DESC, id DESC LIMIT 1) ORDER BY law"
                : "SELECT id, law, sweep, params_json, selection_json FROM fits WHERE law = "
                  "'approach3' "
                  "ORDER BY created DESC, id DESC LIMIT 1";
    if (sqlite3_prepare_v2(sdb, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = cli_fail("predict", "%s: %s", db, sqlite3_errmsg(sdb));
        goto done;
    }
    if (fit_id) sqlite3_bind_int64(st, 1, fit_id);
    if (sweep) sqlite3_bind_text(st, 2, sweep, -1, SQLITE_STATIC);
    while (rc == EXIT_OK && sqlite3_step(st) == SQLITE_ROW) {
        char cparams[32], cflops[32];
        fit_counting((const char *)sqlite3_column_text(st, 4), cparams, cflops, sizeof cparams);
        const char *fsweep = (const char *)sqlite3_column_text(st, 2);
        double Cmax = fsweep ? largest_compute(sdb, fsweep, cparams, cflops) : 0;
        double Cf = largest ? Cmax : C;
        if (!found++) C = Cf; /* the top-level "compute" of --json */
        rc = predict_one(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                         fsweep, (const char *)sqlite3_column_text(st, 3), cparams, cflops, Cf,
                         Cmax, arr);
    }
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
        }
        char *txt = cJSON_Print(sweep ? top : cJSON_GetArrayItem(top, 0));
        if (txt) puts(txt);
        free(txt);
        if (sweep) cJSON_Delete(top);
    }
done:
    sqlite3_finalize(st);
    store_close(s);
    cJSON_Delete(arr);
    return rc;
}
