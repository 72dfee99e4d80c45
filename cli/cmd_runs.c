/*
 * cmd_runs.c — `scaling runs`: list the runs in the results database as an
 * aligned table (or CSV/JSON), filtered by sweep and status.
 */
#include <getopt.h>
#include <string.h>

#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling runs [--sweep NAME] [--status S] [--db FILE] [--csv|--json]\n"
    "\n"
    "Lists runs: id, sweep, label, status, shape (layers x d_model), parameters\n"
    "(total and non-embedding), token budget, training FLOPs, final validation\n"
    "loss (nats/token), tokens done and, for a branch, the run it forked from and\n"
    "the parent's tokens at the fork; ordered by sweep, budget and size.\n"
    "\n"
    "  --sweep NAME   only runs of this sweep\n"
    "  --status S     only runs in status S (planned running done failed diverged)\n"
    "  --db FILE      results database (default results.db)\n"
    "  --csv, --json  machine-readable output instead of a table\n";

int cmd_runs(int argc, char **argv) {
    static const struct option opts[] = {{"sweep", required_argument, 0, 's'},
                                         {"status", required_argument, 0, 't'},
                                         {"db", required_argument, 0, 'd'},
                                         {"csv", no_argument, 0, 'c'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *sweep = NULL, *status = NULL, *db = CLI_DEFAULT_DB;
    int fmt = STORE_FMT_TABLE, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sweep = optarg;
            break;
        case 't':
            status = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'c':
            fmt = STORE_FMT_CSV;
            break;
        case 'j':
            fmt = STORE_FMT_JSON;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("runs", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("runs", "unexpected argument '%s'", argv[optind]);
    if (status && store_status_index(status) < 0)
        return cli_usage("runs",
                         "--status: expected planned, running, done, failed or diverged, got '%s'",
                         status);
    char err[UTIL_ERRLEN];
    store *s = NULL;
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return cli_fail("runs", "%s", err);
    const char *params[2] = {sweep, status};
    int rc = store_query_params(
        s,
        "SELECT id, sweep, label, status, "
        "CASE WHEN n_layer IS NULL THEN NULL ELSE n_layer || 'x' || d_model END AS shape, "
        "params_total, params_nonembedding AS params_nonemb, tokens, flops, "
        "final_val_loss, tokens_done, parent_run AS parent, fork_tokens AS fork_at "
        "FROM runs WHERE (?1 IS NULL OR sweep = ?1) AND (?2 IS NULL OR status = ?2) "
        "ORDER BY sweep, compute_budget, params_nonembedding, id",
        params, 2, fmt, stdout, err, sizeof err);
    store_close(s);
    return rc ? cli_fail("runs", "%s", err) : EXIT_OK;
}
