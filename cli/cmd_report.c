/*
 * cmd_report.c — `scaling report`: draw every figure of a sweep and write a
 * self-contained DIR/index.html (plan and status, figures, fits beside the
 * published values, runs), printing one status line per figure.
 */
#include <getopt.h>
#include <string.h>

#include "../analysis/plot.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling report [--sweep NAME] [--db FILE] [--out DIR] [--bootstrap N] [--seed S]\n"
    "\n"
    "Writes DIR/index.html with the sweep's plan and status (sweeps, counts by\n"
    "status), every figure of 'scaling plot' (DIR/NAME.svg and .png beside it,\n"
    "linked relatively), the fits with bootstrap intervals beside the published\n"
    "values, the fits stored by 'scaling fit', and the runs. No network, no script.\n"
    "A figure that cannot be drawn is listed with the reason; exit 1 only when\n"
    "the page could not be written (or gnuplot is missing).\n"
    "\n"
    "  --sweep NAME       runs of this sweep (default: the database's only sweep;\n"
    "                     with several, name one); given more than once, a page\n"
    "                     comparing the sweeps (a and b side by side, their\n"
    "                     frontiers and IsoFLOP minima overlaid)\n"
    "Without --out the report goes to out/<sweep>/ (compared: "
    "out/compare-A-B/).\n" CLI_USAGE_DB_OUT_FIT;

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_SWEEP, CLI_OPT_DB,   CLI_OPT_OUT,
                                         CLI_OPT_FIT,   CLI_OPT_HELP, {0, 0, 0, 0}};
    plot_opts po;
    plot_opts_defaults(&po);
    cli_opts o = {.bootstrap = &po.bootstrap, .seed = &po.seed, .a3_starts = &po.a3_starts};
    int code = cli_getopt("report", argc, argv, opts, usage_text, &o, NULL, NULL);
    if (code >= 0) return code;
    const char *out = o.out;
    if (optind < argc) return cli_usage("report", "unexpected argument '%s'", argv[optind]);
    if (o.nsweeps > 1) { /* sweeps compared: a and b side by side, the overlay */
        char outdef[512];
        out = cli_compare_outdir(out, o.sweeps, o.nsweeps, outdef, sizeof outdef);
        return cli_compare("report", o.db, o.sweeps, o.nsweeps, &po, out, 1);
    }
    code = cli_pick_sweep("report", o.db, &o.sweep);
    if (code >= 0) return code;
    char outdef[256];
    if (!out) { /* out/<sweep>/, as plot */
        snprintf(outdef, sizeof outdef, "out/%s", o.sweep ? o.sweep : "all");
        out = outdef;
    }

    char err[UTIL_ERRLEN];
    store *s = NULL;
    plot_result res[16];
    if (plot_figure_count > 16) return cli_fail("report", "internal: too many figures");
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("report", "%s", err);
    int rc = plot_report(s, o.sweep, out, &po, res, err, sizeof err);
    store_close(s);
    if (rc) return cli_fail("report", "%s", err);
    for (int i = 0; i < plot_figure_count; i++) {
        const char *what = res[i].rc == 0              ? "drawn"
                           : res[i].rc == PLOT_SKIPPED ? "skipped"
                                                       : "failed";
        printf("%-20s %s%s%s\n", res[i].name, what, res[i].msg[0] ? ": " : "", res[i].msg);
    }
    printf("report: %s/index.html\n", out);
    return EXIT_OK;
}
