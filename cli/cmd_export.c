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
    "  --format F     csv (default) or json; --csv and --json say the same\n"
    "  --table T      runs, steps, evals, sweeps, fits or sweep_runs (which\n"
    "                 sweeps hold which runs)\n"
    "  --sweep NAME   only this sweep\n"
    "  --db FILE      results database (default results.db)\n"
    "  --out FILE     write to FILE (replaced only when complete) instead of stdout\n";

typedef struct {
    int fmt;           /* STORE_FMT_CSV or _JSON */
    const char *table; /* runs steps evals sweeps fits */
} export_args;

/* --format F, --table T */
static int export_option(void *ctx, int c, const char *val) {
    export_args *a = ctx;
    if (c == 't') {
        a->table = val;
        return 0;
    }
    if (c != 'f') return 1;
    if (!strcmp(val, "csv"))
        a->fmt = STORE_FMT_CSV;
    else if (!strcmp(val, "json"))
        a->fmt = STORE_FMT_JSON;
    else
        return cli_usage("export", "--format: expected csv or json, got '%s'", val), -1;
    return 0;
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"table", required_argument, 0, 't'},
                                         CLI_OPT_CSV,
                                         CLI_OPT_JSON,
                                         CLI_OPT_SWEEP,
                                         CLI_OPT_DB,
                                         CLI_OPT_OUT,
                                         CLI_OPT_HELP,
                                         {0, 0, 0, 0}};
    export_args a = {STORE_FMT_CSV, "runs"};
    cli_opts o = {0};
    int code = cli_getopt("export", argc, argv, opts, usage_text, &o, export_option, &a);
    if (code >= 0) return code;
    const char *table = a.table, *out = o.out;
    if (optind < argc) return cli_usage("export", "unexpected argument '%s'", argv[optind]);
    if (o.fmt != STORE_FMT_TABLE) a.fmt = o.fmt; /* --csv / --json, as runs, curve and query */
    static const char *const tables[] = {"runs", "steps", "evals", "sweeps", "fits", "sweep_runs"};
    int known = 0;
    for (int i = 0; i < 6; i++)
        known |= !strcmp(table, tables[i]);
    if (!known)
        return cli_usage(
            "export", "--table: expected runs, steps, evals, sweeps, fits or sweep_runs, got '%s'",
            table);
    char err[UTIL_ERRLEN];
    store *s = NULL;
    util_afile *af = NULL;
    int rc = EXIT_FAIL;
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("export", "%s", err);
    if (out && util_afile_open(&af, out, err, sizeof err)) {
        cli_fail("export", "%s", err);
        goto done;
    }
    if (store_export(s, table, o.sweep, a.fmt, af ? util_afile_fp(af) : stdout, err, sizeof err)) {
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
