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

/* --status S */
static int runs_option(void *ctx, int c, const char *val) {
    if (c != 't') return 1;
    *(const char **)ctx = val;
    return 0;
}

int cmd_runs(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_SWEEP, {"status", required_argument, 0, 't'},
                                         CLI_OPT_DB,    CLI_OPT_CSV,
                                         CLI_OPT_JSON,  CLI_OPT_HELP,
                                         {0, 0, 0, 0}};
    const char *status = NULL;
    cli_opts o = {0};
    int code = cli_getopt("runs", argc, argv, opts, usage_text, &o, runs_option, &status);
    if (code >= 0) return code;
    if (optind < argc) return cli_usage("runs", "unexpected argument '%s'", argv[optind]);
    if (status && store_status_index(status) < 0)
        return cli_usage("runs",
                         "--status: expected planned, running, done, failed or diverged, got '%s'",
                         status);
    char err[UTIL_ERRLEN];
    store *s = NULL;
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("runs", "%s", err);
    int rc = store_print_runs(s, o.sweep, status, o.fmt, stdout, err, sizeof err);
    store_close(s);
    return rc ? cli_fail("runs", "%s", err) : EXIT_OK;
}
