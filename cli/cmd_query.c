/*
 * cmd_query.c — `scaling query "SQL"`: any read-only SQL on the results
 * database, printed as an aligned table, CSV or JSON. The database is opened
 * read-only and a statement that would write is refused before it runs.
 */
#include <getopt.h>
#include <string.h>

#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling query \"SQL\" [--db FILE] [--csv|--json] [--timeout SECS]\n"
    "\n"
    "Runs one read-only SQL statement on the results database (tables sweeps,\n"
    "runs, steps, evals, fits; see docs/results.md) and prints the rows.\n"
    "Statements that would change the database are refused.\n"
    "\n"
    "  --db FILE      results database (default results.db)\n"
    "  --csv, --json  CSV (header line) or a JSON array of objects\n"
    "  --timeout SECS stop a query that runs longer (default 10; 0 for no limit)\n"
    "\n"
    "example: scaling query \"SELECT id, params_nonembedding, final_val_loss\n"
    "         FROM runs WHERE status = 'done' ORDER BY flops\"\n";

static int query_option(void *ctx, int c, const char *val) {
    if (c != 't') return 1;
    return cli_double("query", "--timeout", val, 0, 1e9, (double *)ctx) ? -1 : 0;
}

int cmd_query(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_DB,
                                         CLI_OPT_CSV,
                                         CLI_OPT_JSON,
                                         CLI_OPT_FORMAT,
                                         {"timeout", required_argument, 0, 't'},
                                         CLI_OPT_HELP,
                                         {0, 0, 0, 0}};
    cli_opts o = {0};
    double timeout = 10; /* seconds: a runaway recursive CTE stops by itself */
    int code = cli_getopt("query", argc, argv, opts, usage_text, &o, query_option, &timeout);
    if (code >= 0) return code;
    if (optind >= argc) return cli_usage("query", "missing the SQL statement");
    if (optind + 1 < argc)
        return cli_usage("query", "unexpected argument '%s' (quote the SQL as one argument)",
                         argv[optind + 1]);
    if (!argv[optind][strspn(argv[optind], " \t\n;")])
        return cli_usage("query", "the SQL statement is empty");
    char err[UTIL_ERRLEN];
    store *s = NULL;
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("query", "%s", err);
    store_set_query_timeout(s, timeout);
    int rc = store_query(s, argv[optind], o.fmt, stdout, err, sizeof err);
    store_close(s);
    if (rc && strstr(err, "time limit"))
        return cli_fail("query", "%s (raise it with --timeout SECS, 0 for none)", err);
    return rc ? cli_fail("query", "%s", err) : EXIT_OK;
}
