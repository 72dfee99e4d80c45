/*
 * cmd_status.c — `scaling status [--sweep NAME] [--db FILE]`: a sweep's
 * progress from the results database: runs by status, FLOPs finished of the
 * planned total, and per label (generating section) the counts and the best
 * final validation loss. For an lr sweep also the fitted rule lr = c·N^-p.
 * Read-only.
 */
#include <getopt.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../results/store.h"
#include "../sweep/sweep.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling status [--sweep NAME] [--db FILE]\n"
    "\n"
    "Summarises the progress of one sweep (or of every sweep) in the results\n"
    "database: runs by status, FLOPs finished of the total, and per label the\n"
    "counts and the best final validation loss.\n"
    "\n"
    "options:\n"
    "  --sweep NAME   only this sweep\n"
    "  --db FILE      results database (default results.db)\n"
    "  -h, --help     this help\n";

static int summarise(store *s, const char *db_path, const char *name, const char *mode) {
    store_status_totals t;
    store_label_status *lab = NULL;
    int nlab = 0;
    char err[UTIL_ERRLEN];
    if (store_sweep_status(s, name, &t, &lab, &nlab, err, sizeof err))
        return cli_fail("status", "%s", err);
    int64_t total = 0;
    double f_all = 0, f_done = 0;
    for (int i = 0; i < STORE_NSTATUS; i++) {
        total += t.runs[i];
        f_all += t.flops[i];
        f_done += t.trained[i];
    }
    printf("sweep %s (%s): %lld runs: %lld done, %lld running, %lld planned, %lld failed, %lld "
           "diverged\n",
           name, mode, (long long)total, (long long)t.runs[STORE_DONE],
           (long long)t.runs[STORE_RUNNING], (long long)t.runs[STORE_PLANNED],
           (long long)t.runs[STORE_FAILED], (long long)t.runs[STORE_DIVERGED]);
    /* trained, not "finished": a diverged run stopped where it diverged */
    printf("  FLOPs trained %.4g of %.4g (%.1f%%)\n", f_done, f_all,
           f_all > 0 ? 100 * f_done / f_all : 0.0);
    /* params = auto: budgets the stored plan could not place yet are in no
     * count above (sweep_plan.c, plan_json "pending") */
    store_sweep_row *row = NULL;
    int nrow = 0;
    if (!store_read_sweeps(s, name, &row, &nrow, err, sizeof err) && nrow > 0 && row[0].plan_json) {
        cJSON *pj = cJSON_Parse(row[0].plan_json);
        const cJSON *nb = cJSON_GetObjectItemCaseSensitive(pj, "pending_budgets");
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(pj, "pending");
        if (cJSON_IsNumber(nb) && nb->valueint > 0)
            printf("  not planned yet: %d budget%s (params = auto; `scaling sweep FILE --dry-run` "
                   "says what each waits on). When last planned: %s\n",
                   nb->valueint, nb->valueint == 1 ? "" : "s",
                   cJSON_IsString(why) ? why->valuestring : "");
        cJSON_Delete(pj);
    }
    store_sweep_rows_free(row, nrow);
    printf("  %-16s %5s %5s %7s %6s %8s %10s %10s\n", "label", "runs", "done", "running", "failed",
           "diverged", "best_loss", "FLOPs");
    for (int k = 0; k < nlab; k++) {
        const store_label_status *l = &lab[k];
        int64_t runs = 0, fin = 0;
        for (int i = 0; i < STORE_NSTATUS; i++) {
            runs += l->runs[i];
            if (i == STORE_DONE) fin += l->runs[i]; /* the same "done" as the line above */
        }
        char best[32] = "-";
        if (!isnan(l->best_loss)) snprintf(best, sizeof best, "%.4f", l->best_loss);
        printf("  %-16s %5lld %5lld %7lld %6lld %8lld %10s %10.3g\n", l->label, (long long)runs,
               (long long)fin, (long long)l->runs[STORE_RUNNING], (long long)l->runs[STORE_FAILED],
               (long long)l->runs[STORE_DIVERGED], best, l->flops);
    }
    free(lab);
    if (!strcmp(mode, "lr")) {
        double c, p;
        int ns;
        if (sweep_lr_rule(db_path, name, &c, &p, &ns, err, sizeof err) == 0)
            printf("  lr rule from %d sizes: lr = %.4g * N^-%.4f (use lr = rule(%s))\n", ns, c, p,
                   name);
        else
            printf("  lr rule: %s\n", err);
    }
    return 0;
}

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_SWEEP, CLI_OPT_DB, CLI_OPT_HELP, {0, 0, 0, 0}};
    cli_opts o = {0};
    int code = cli_getopt("status", argc, argv, opts, usage_text, &o, NULL, NULL);
    if (code >= 0) return code;
    const char *db_path = o.db, *name = o.sweep;
    if (optind < argc) return cli_usage("status", "unexpected argument '%s'", argv[optind]);
    store *s = NULL;
    char err[UTIL_ERRLEN];
    if (store_open(&s, db_path, STORE_READONLY, err, sizeof err))
        return cli_fail("status", "%s", err);
    store_sweep_name *sw = NULL;
    int nsw = 0, rc = EXIT_OK, found = 0;
    if (store_list_sweeps(s, name, &sw, &nsw, err, sizeof err)) {
        rc = cli_fail("status", "%s", err);
        goto out;
    }
    for (int k = 0; k < nsw; k++) {
        if (found++) printf("\n");
        if ((rc = summarise(s, db_path, sw[k].name, sw[k].mode))) break;
    }
    if (!found && rc == EXIT_OK) {
        if (name)
            rc = cli_fail("status", "%s: no sweep named '%s'", db_path, name);
        else
            printf("%s: no sweeps\n", db_path);
    }
out:
    free(sw);
    store_close(s);
    return rc;
}
