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
    "       scaling runs --exclude RUN --why TEXT [--db FILE]\n"
    "       scaling runs --include RUN [--db FILE]\n"
    "\n"
    "Lists runs: id, sweep, label, status, n_layer, d_model, params_total,\n"
    "params_nonembedding, tokens (budget), flops (training FLOPs), final_val_loss\n"
    "(nats/token), tokens_done, excluded (why a run is kept out of fits) and, for\n"
    "a branch, parent_run and fork_tokens (the parent's tokens at the fork);\n"
    "ordered by sweep, budget and size; the names are the database's columns.\n"
    "\n"
    "  --sweep NAME   only runs of this sweep\n"
    "  --status S     only runs in status S (planned running done failed diverged)\n"
    "  --db FILE      results database (default results.db)\n"
    "  --csv, --json  machine-readable output instead of a table\n"
    "  --exclude RUN  keep run RUN (an id or a unique prefix) out of every fit,\n"
    "                 plot and report fit, with the reason --why TEXT; it stays\n"
    "                 in the database and in these listings\n"
    "  --include RUN  take an excluded run back into the fits\n";

typedef struct {
    const char *status, *exclude, *include, *why;
} runs_args;

/* --status S, --exclude RUN, --include RUN, --why TEXT */
static int runs_option(void *ctx, int c, const char *val) {
    runs_args *a = ctx;
    switch (c) {
    case 't':
        a->status = val;
        return 0;
    case 'x':
        a->exclude = val;
        return 0;
    case 'i':
        a->include = val;
        return 0;
    case 'w':
        a->why = val;
        return 0;
    }
    return 1;
}

/* --exclude / --include: one run's exclusion from the fits, stored. */
static int set_excluded(const cli_opts *o, const runs_args *a) {
    const char *arg = a->exclude ? a->exclude : a->include;
    char err[UTIL_ERRLEN], id[17];
    store *s = NULL;
    if (store_open(&s, o->db, 0, err, sizeof err)) return cli_fail("runs", "%s", err);
    int rc = store_resolve_run(s, arg, id, err, sizeof err);
    if (!rc) rc = store_exclude_run(s, id, a->exclude ? a->why : NULL, err, sizeof err);
    store_close(s);
    if (rc) return cli_fail("runs", "%s", err);
    if (a->exclude)
        printf("run %s: excluded from fits (%s)\n", id, a->why);
    else
        printf("run %s: included in fits\n", id);
    return EXIT_OK;
}

int cmd_runs(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_SWEEP,
                                         {"status", required_argument, 0, 't'},
                                         {"exclude", required_argument, 0, 'x'},
                                         {"include", required_argument, 0, 'i'},
                                         {"why", required_argument, 0, 'w'},
                                         CLI_OPT_DB,
                                         CLI_OPT_CSV,
                                         CLI_OPT_JSON,
                                         CLI_OPT_FORMAT,
                                         CLI_OPT_HELP,
                                         {0, 0, 0, 0}};
    runs_args a = {0};
    cli_opts o = {0};
    int code = cli_getopt("runs", argc, argv, opts, usage_text, &o, runs_option, &a);
    if (code >= 0) return code;
    const char *status = a.status;
    if (optind < argc) return cli_usage("runs", "unexpected argument '%s'", argv[optind]);
    if (a.exclude && a.include) return cli_usage("runs", "--exclude and --include: one at a time");
    if (a.exclude && (!a.why || !*a.why))
        return cli_usage("runs", "--exclude %s: say why with --why TEXT (stored with the run)",
                         a.exclude);
    if (a.why && !a.exclude) return cli_usage("runs", "--why goes with --exclude RUN");
    if (a.exclude || a.include) return set_excluded(&o, &a);
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
