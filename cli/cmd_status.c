/*
 * cmd_status.c — `scaling status [--sweep NAME] [--db FILE]`: a sweep's
 * progress from the results database: runs by status, FLOPs finished of the
 * planned total, and per label (generating section) the counts and the best
 * final validation loss. For an lr sweep also the fitted rule lr = c·N^-p.
 * Read-only.
 */
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
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

/* FLOPs of a run as planned: runs.flops, else tokens x chinchilla FLOPs/token. */
#define RUN_FLOPS "coalesce(flops, tokens * flops_per_token_chinchilla, 0)"

static int summarise(sqlite3 *db, const char *db_path, const char *name, const char *mode) {
    sqlite3_stmt *st = NULL;
    int total = 0, n[5] = {0};
    static const char *st_names[5] = {"done", "running", "planned", "failed", "diverged"};
    double f_all = 0, f_done = 0;
    const char *sql = "SELECT status, count(*), sum(" RUN_FLOPS ") FROM runs WHERE sweep = ?1 "
                      "GROUP BY status";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto dberr;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        int c = sqlite3_column_int(st, 1);
        double f = sqlite3_column_double(st, 2);
        total += c;
        f_all += f;
        for (int i = 0; i < 5; i++)
            if (s && !strcmp(s, st_names[i])) n[i] += c;
        if (s && (!strcmp(s, "done") || !strcmp(s, "diverged"))) f_done += f;
    }
    sqlite3_finalize(st);
    st = NULL;
    printf("sweep %s (%s): %d runs: %d done, %d running, %d planned, %d failed, %d diverged\n",
           name, mode, total, n[0], n[1], n[2], n[3], n[4]);
    printf("  FLOPs finished %.4g of %.4g (%.1f%%)\n", f_done, f_all,
           f_all > 0 ? 100 * f_done / f_all : 0.0);

    sql = "SELECT label, count(*), sum(status IN ('done','diverged')), sum(status = 'running'), "
          "sum(status = 'failed'), sum(status = 'diverged'), min(CASE WHEN status = 'done' THEN "
          "final_val_loss END), sum(" RUN_FLOPS ") FROM runs WHERE sweep = ?1 GROUP BY label "
          "ORDER BY label";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto dberr;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    printf("  %-16s %5s %5s %7s %6s %8s %10s %10s\n", "label", "runs", "done", "running", "failed",
           "diverged", "best_loss", "FLOPs");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *l = (const char *)sqlite3_column_text(st, 0);
        char best[32] = "-";
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            snprintf(best, sizeof best, "%.4f", sqlite3_column_double(st, 6));
        printf("  %-16s %5d %5d %7d %6d %8d %10s %10.3g\n", l ? l : "", sqlite3_column_int(st, 1),
               sqlite3_column_int(st, 2), sqlite3_column_int(st, 3), sqlite3_column_int(st, 4),
               sqlite3_column_int(st, 5), best, sqlite3_column_double(st, 7));
    }
    sqlite3_finalize(st);
    if (!strcmp(mode, "lr")) {
        double c, p;
        int ns;
        char err[UTIL_ERRLEN];
        if (sweep_lr_rule(db_path, name, &c, &p, &ns, err, sizeof err) == 0)
            printf("  lr rule from %d sizes: lr = %.4g * N^-%.4f (use lr = rule(%s))\n", ns, c, p,
                   name);
        else
            printf("  lr rule: %s\n", err);
    }
    return 0;
dberr:
    sqlite3_finalize(st);
    return cli_fail("status", "%s: %s", db_path, sqlite3_errmsg(db));
}

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {
        {"sweep", required_argument, 0, 's'},
        {"db", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *db_path = CLI_DEFAULT_DB, *name = NULL;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            name = optarg;
            break;
        case 'd':
            db_path = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("status", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("status", "unexpected argument '%s'", argv[optind]);
    store *s = NULL;
    char err[UTIL_ERRLEN];
    if (store_open(&s, db_path, STORE_READONLY, err, sizeof err))
        return cli_fail("status", "%s", err);
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st = NULL;
    int rc = EXIT_OK, found = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, mode FROM sweeps WHERE ?1 IS NULL OR name = ?1 ORDER BY "
                           "created, name",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = cli_fail("status", "%s: %s", db_path, sqlite3_errmsg(db));
        goto out;
    }
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char nm[256], mode[32];
        snprintf(nm, sizeof nm, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 1));
        if (found++) printf("\n");
        if ((rc = summarise(db, db_path, nm, mode))) break;
    }
    if (!found && rc == EXIT_OK) {
        if (name)
            rc = cli_fail("status", "%s: no sweep named '%s'", db_path, name);
        else
            printf("%s: no sweeps\n", db_path);
    }
out:
    sqlite3_finalize(st);
    store_close(s);
    return rc;
}
