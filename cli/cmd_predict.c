/*
 * cmd_predict.c — `scaling predict --compute C`: the compute-optimal model
 * size N_opt, tokens D_opt, tokens per parameter and (from an Approach 3 fit)
 * the predicted loss at C FLOPs, each with a 95% interval taken over the
 * fit's stored bootstrap draws. Reads the `fits` table; writes nothing.
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
    "\n"
    "Compute-optimal N, D, tokens per parameter and loss for a budget of C FLOPs,\n"
    "from a stored fit: by default the latest Approach 3 fit (which also predicts\n"
    "the loss); an Approach 1 or 2 fit (--fit ID) gives N_opt and D_opt only.\n"
    "Intervals are 2.5% and 97.5% percentiles over the fit's bootstrap draws.\n"
    "\n"
    "options:\n"
    "  --compute C   training compute in FLOPs, e.g. 1e21\n"
    "  --fit ID      the fit to use (see: scaling query 'SELECT * FROM fits')\n"
    "  --db FILE     results database (default results.db)\n"
    "  --json        print one JSON object\n"
    "  -h, --help    this help\n";

enum { OPT_COMPUTE = 256, OPT_FIT, OPT_DB, OPT_JSON };
enum { Q_N, Q_D, Q_TPP, Q_L, NQ };

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* 2.5% and 97.5% percentiles of the finite values among x[0..n-1] (sorted in place). */
static void interval(double *x, int n, double *lo, double *hi) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) x[m++] = x[i];
    *lo = *hi = NAN;
    if (m < 2) return;
    qsort(x, m, sizeof *x, cmp_double);
    double p[2] = {0.025 * (m - 1), 0.975 * (m - 1)}, *out[2] = {lo, hi};
    for (int k = 0; k < 2; k++) {
        int i = (int)p[k];
        *out[k] = i >= m - 1 ? x[m - 1] : x[i] + (p[k] - i) * (x[i + 1] - x[i]);
    }
}

int cmd_predict(int argc, char **argv) {
    static const struct option opts[] = {{"compute", required_argument, 0, OPT_COMPUTE},
                                         {"fit", required_argument, 0, OPT_FIT},
                                         {"db", required_argument, 0, OPT_DB},
                                         {"json", no_argument, 0, OPT_JSON},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    double C = NAN;
    long long fit_id = 0;
    const char *db = CLI_DEFAULT_DB;
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
    if (!isfinite(C)) return cli_usage("predict", "--compute C is required");

    char err[UTIL_ERRLEN];
    store *s = NULL;
    sqlite3_stmt *st = NULL;
    fit_approach3 *f3 = calloc(1, sizeof *f3);
    fit_frontier *ff = calloc(1, sizeof *ff);
    double *q[NQ] = {NULL};
    int rc = EXIT_OK;
    if (!f3 || !ff) {
        rc = cli_fail("predict", "out of memory");
        goto done;
    }
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) {
        rc = cli_fail("predict", "%s", err);
        goto done;
    }
    sqlite3 *sdb = store_db(s);
    const char *sql = fit_id ? "SELECT id, law, params_json FROM fits WHERE id = ?1"
                             : "SELECT id, law, params_json FROM fits WHERE law = 'approach3' "
                               "ORDER BY id DESC LIMIT 1";
    if (sqlite3_prepare_v2(sdb, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = cli_fail("predict", "%s: %s", db, sqlite3_errmsg(sdb));
        goto done;
    }
    if (fit_id) sqlite3_bind_int64(st, 1, fit_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fit_id
                 ? cli_fail("predict", "%s: no fit with id %lld", db, fit_id)
                 : cli_fail("predict", "%s: no approach 3 fit stored (run scaling fit first)", db);
        goto done;
    }
    long long id = sqlite3_column_int64(st, 0);
    const char *law = (const char *)sqlite3_column_text(st, 1);
    const char *pj = (const char *)sqlite3_column_text(st, 2);
    int a3 = law && !strcmp(law, "approach3");
    if (!law || (!a3 && strcmp(law, "approach1") && strcmp(law, "approach2"))) {
        rc = cli_fail("predict", "fit %lld is a '%s' fit; predict needs approach1, 2 or 3", id,
                      law ? law : "?");
        goto done;
    }
    if (a3 ? fit_approach3_from_json(f3, pj ? pj : "", err, sizeof err)
           : fit_frontier_from_json(ff, pj ? pj : "", err, sizeof err)) {
        rc = cli_fail("predict", "fit %lld: %s", id, err);
        goto done;
    }

    /* Point estimates, then the same quantities for every bootstrap draw. */
    double est[NQ];
    int ns = a3 ? f3->nsamples : ff->nsamples;
    for (int k = 0; k < NQ; k++)
        if (!(q[k] = malloc((ns ? ns : 1) * sizeof *q[k]))) {
            rc = cli_fail("predict", "out of memory");
            goto done;
        }
    if (a3) {
        fit_approach3_optimal(f3, C, &est[Q_N], &est[Q_D], &est[Q_L]);
        for (int i = 0; i < ns; i++) {
            const double *p = f3->samples[i]; /* E, A, B, alpha, beta */
            fit_approach3 t;
            t.E.est = p[0], t.A.est = p[1], t.B.est = p[2], t.alpha.est = p[3], t.beta.est = p[4];
            t.a.est = p[4] / (p[3] + p[4]);
            t.b.est = p[3] / (p[3] + p[4]);
            t.G.est = pow(p[3] * p[1] / (p[4] * p[2]), 1.0 / (p[3] + p[4]));
            fit_approach3_optimal(&t, C, &q[Q_N][i], &q[Q_D][i], &q[Q_L][i]);
            q[Q_TPP][i] = q[Q_D][i] / q[Q_N][i];
        }
    } else {
        est[Q_N] = ff->kN.est * pow(C, ff->a.est);
        est[Q_D] = ff->kD.est * pow(C, ff->b.est);
        est[Q_L] = NAN;
        for (int i = 0; i < ns; i++) {
            const double *p = ff->samples[i]; /* kN, a, kD, b */
            q[Q_N][i] = p[0] * pow(C, p[1]);
            q[Q_D][i] = p[2] * pow(C, p[3]);
            q[Q_TPP][i] = q[Q_D][i] / q[Q_N][i];
            q[Q_L][i] = NAN;
        }
    }
    est[Q_TPP] = est[Q_D] / est[Q_N];
    double lo[NQ], hi[NQ];
    for (int k = 0; k < NQ; k++)
        interval(q[k], ns, &lo[k], &hi[k]);

    static const char *names[NQ] = {"N_opt", "D_opt", "tokens_per_param", "loss"};
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "fit_id", (double)id);
        cJSON_AddStringToObject(o, "law", law);
        cJSON_AddNumberToObject(o, "compute", C);
        for (int k = 0; k < NQ; k++) {
            if (k == Q_L && !a3) continue;
            cJSON *j = cJSON_AddObjectToObject(o, names[k]);
            double v3[3] = {est[k], lo[k], hi[k]};
            static const char *f[3] = {"est", "lo", "hi"};
            for (int t = 0; t < 3; t++)
                cJSON_AddItemToObject(
                    j, f[t], isfinite(v3[t]) ? cJSON_CreateNumber(v3[t]) : cJSON_CreateNull());
        }
        char *txt = cJSON_Print(o);
        if (txt) puts(txt);
        free(txt);
        cJSON_Delete(o);
    } else {
        printf("fit %lld (%s), compute %.4g FLOPs, %d bootstrap draws\n", id, law, C, ns);
        for (int k = 0; k < NQ; k++) {
            if (k == Q_L && !a3) continue;
            printf("  %-17s %12.5g", names[k], est[k]);
            if (isfinite(lo[k])) printf("  [%.5g, %.5g]", lo[k], hi[k]);
            printf("\n");
        }
    }
done:
    sqlite3_finalize(st);
    store_close(s);
    for (int k = 0; k < NQ; k++)
        free(q[k]);
    free(f3);
    free(ff);
    return rc;
}
