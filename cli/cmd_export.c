/*
 * cmd_export.c — `scaling export`: a table of the results database as CSV or
 * JSON, for pandas and spreadsheets, to stdout or atomically to a file.
 */
#include <getopt.h>
#include <string.h>

#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling export [--format csv|json] [--table T] [--sweep NAME] [--db FILE]\n"
    "                      [--out FILE]\n"
    "\n"
    "Writes one table of the results database: runs (default), steps, evals,\n"
    "sweeps or fits. With --sweep only that sweep's rows (for steps and evals:\n"
    "those of the sweep's runs). CSV has a header line, empty fields for NULL and\n"
    "reals that read back exactly; JSON is an array of objects.\n"
    "\n"
    "  --format F     csv (default) or json\n"
    "  --table T      runs, steps, evals, sweeps or fits\n"
    "  --sweep NAME   only this sweep\n"
    "  --db FILE      results database (default results.db)\n"
    "  --out FILE     write to FILE (replaced only when complete) instead of stdout\n";

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"table", required_argument, 0, 't'},
                                         {"sweep", required_argument, 0, 's'},
                                         {"db", required_argument, 0, 'd'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = CLI_DEFAULT_DB, *table = "runs", *sweep = NULL, *out = NULL;
    int fmt = STORE_FMT_CSV, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "csv"))
                fmt = STORE_FMT_CSV;
            else if (!strcmp(optarg, "json"))
                fmt = STORE_FMT_JSON;
            else
                return cli_usage("export", "--format: expected csv or json, got '%s'", optarg);
            break;
        case 't':
            table = optarg;
            break;
        case 's':
            sweep = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("export", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("export", "unexpected argument '%s'", argv[optind]);
    static const char *const tables[] = {"runs", "steps", "evals", "sweeps", "fits"};
    int known = 0;
    for (int i = 0; i < 5; i++)
        known |= !strcmp(table, tables[i]);
    if (!known)
        return cli_usage("export", "--table: expected runs, steps, evals, sweeps or fits, got '%s'",
                         table);
    char err[UTIL_ERRLEN];
    store *s = NULL;
    util_afile *af = NULL;
    int rc = EXIT_FAIL;
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return cli_fail("export", "%s", err);
    if (out && util_afile_open(&af, out, err, sizeof err)) {
        cli_fail("export", "%s", err);
        goto done;
    }
    if (store_export(s, table, sweep, fmt, af ? util_afile_fp(af) : stdout, err, sizeof err)) {
        cli_fail("export", "%s", err);
        goto done;
    }
    if (af) {
        int r = util_afile_commit(af, err, sizeof err);
        af = NULL;
        if (r) {
            cli_fail("export", "%s", err);
            goto done;
        }
    }
    rc = EXIT_OK;
done:
    util_afile_abort(af);
    store_close(s);
    return rc;
}
