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

int cmd_query(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'}, {"csv", no_argument, 0, 'c'},
        {"json", no_argument, 0, 'j'},     {"timeout", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},     {0, 0, 0, 0}};
    const char *db = CLI_DEFAULT_DB;
    int fmt = STORE_FMT_TABLE, c;
    double timeout = 10; /* seconds: a runaway recursive CTE stops by itself */
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            fmt = STORE_FMT_CSV;
            break;
        case 'j':
            fmt = STORE_FMT_JSON;
            break;
        case 't':
            if (cli_double("query", "--timeout", optarg, 0, 1e9, &timeout)) return EXIT_USAGE;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("query", "unknown option");
        }
    }
    if (optind >= argc) return cli_usage("query", "missing the SQL statement");
    if (optind + 1 < argc)
        return cli_usage("query", "unexpected argument '%s' (quote the SQL as one argument)",
                         argv[optind + 1]);
    if (!argv[optind][strspn(argv[optind], " \t\n;")])
        return cli_usage("query", "the SQL statement is empty");
    char err[UTIL_ERRLEN];
    store *s = NULL;
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return cli_fail("query", "%s", err);
    store_set_query_timeout(s, timeout);
    int rc = store_query(s, argv[optind], fmt, stdout, err, sizeof err);
    store_close(s);
    if (rc && strstr(err, "time limit"))
        return cli_fail("query", "%s (raise it with --timeout SECS, 0 for none)", err);
    return rc ? cli_fail("query", "%s", err) : EXIT_OK;
}
