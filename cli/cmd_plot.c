/*
 * cmd_plot.c — `scaling plot`: draw the Kaplan and Chinchilla figures of a
 * sweep with gnuplot into DIR/NAME.png and DIR/NAME.svg, one status line per
 * figure (drawn, skipped with what is missing, or failed).
 */
#include <getopt.h>
#include <string.h>

#include "../analysis/plot.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling plot [--figure NAME|all] [--sweep NAME] [--db FILE] [--out DIR]\n"
    "                    [--bootstrap N] [--seed S] [--a3-starts N]\n"
    "\n"
    "Draws figures with gnuplot (pngcairo and svg): DIR/NAME.png and DIR/NAME.svg.\n"
    "Figures:\n"
    "  kaplan-fig1          loss against compute (PF-days), dataset size and\n"
    "                       parameters, with L(Cmin), L(D), L(N)\n"
    "  kaplan-curves        learning curves against tokens and compute, by size\n"
    "  chinchilla-envelope  Chinchilla Fig. 2: curves, envelope, approach 1 fits\n"
    "  chinchilla-isoflop   Chinchilla Fig. 3: IsoFLOP profiles, approach 2 fits\n"
    "  chinchilla-contours  Chinchilla Fig. 4: approach 3 L(N, D) contours\n"
    "  frontier             N_opt(C) of the three approaches beside the published laws\n"
    "  residuals            each fit's residuals against compute\n"
    "A figure whose runs are missing is skipped with a message; the others are\n"
    "still drawn. Exit 1 if any figure failed (skips are not failures).\n"
    "\n"
    "  --figure NAME|all  which figure(s) (default all)\n"
    "  --sweep NAME       runs of this sweep (default: the database's only sweep;\n"
    "                     with several, name one); given more than once, the sweeps\n"
    "                     are compared: DIR/compare.png and .svg overlay their\n"
    "                     N_opt(C) frontiers and IsoFLOP minima, and a and b are\n"
    "                     printed side by side\n"
    "Without --out the figures go to out/<sweep>/ (compared: "
    "out/compare-A-B/).\n" CLI_USAGE_DB_OUT_FIT;

/* --figure NAME */
static int plot_option(void *ctx, int c, const char *val) {
    if (c != 'f') return 1;
    *(const char **)ctx = val;
    return 0;
}

int cmd_plot(int argc, char **argv) {
    static const struct option opts[] = {{"figure", required_argument, 0, 'f'},
                                         CLI_OPT_SWEEP,
                                         CLI_OPT_DB,
                                         CLI_OPT_OUT,
                                         CLI_OPT_FIT,
                                         CLI_OPT_HELP,
                                         {0, 0, 0, 0}};
    const char *figure = NULL;
    plot_opts po;
    plot_opts_defaults(&po);
    cli_opts o = {.bootstrap = &po.bootstrap, .seed = &po.seed, .a3_starts = &po.a3_starts};
    int code = cli_getopt("plot", argc, argv, opts, usage_text, &o, plot_option, &figure);
    if (code >= 0) return code;
    const char *out = o.out;
    if (optind < argc) return cli_usage("plot", "unexpected argument '%s'", argv[optind]);
    if (!figure) figure = "all";
    if (o.nsweeps > 1) { /* sweeps compared: the overlay figure */
        char outdef[512];
        out = cli_compare_outdir(out, o.sweeps, o.nsweeps, outdef, sizeof outdef);
        return cli_compare("plot", o.db, o.sweeps, o.nsweeps, &po, out, 0);
    }
    int all = !strcmp(figure, "all"), known = all;
    for (int i = 0; i < plot_figure_count; i++)
        if (!strcmp(figure, plot_figure_names[i])) known = 1;
    if (!known) {
        char list[512];
        size_t m = 0;
        for (int i = 0; i < plot_figure_count; i++)
            m += snprintf(list + m, sizeof list - m, "%s, ", plot_figure_names[i]);
        return cli_usage("plot", "--figure: expected one of %sall; got '%s'", list, figure);
    }
    code = cli_pick_sweep("plot", o.db, &o.sweep);
    if (code >= 0) return code;
    char outdef[256];
    if (!out) { /* out/<sweep>/: each sweep's figures apart */
        snprintf(outdef, sizeof outdef, "out/%s", o.sweep ? o.sweep : "all");
        out = outdef;
    }

    char err[UTIL_ERRLEN], msg[1024];
    store *s = NULL;
    plot_ctx *ctx = NULL;
    int failed = 0;
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("plot", "%s", err);
    if (plot_ctx_open(&ctx, s, o.sweep, &po, err, sizeof err)) {
        store_close(s);
        return cli_fail("plot", "%s", err);
    }
    for (int i = 0; i < plot_figure_count; i++) {
        const char *name = plot_figure_names[i];
        if (!all && strcmp(figure, name)) continue;
        int rc = plot_ctx_figure(ctx, name, out, msg, sizeof msg, err, sizeof err);
        if (rc == 0) {
            printf("%-20s drawn: %s/%s.png, %s/%s.svg%s%s\n", name, out, name, out, name,
                   msg[0] ? "; note: " : "", msg);
        } else if (rc == PLOT_SKIPPED) {
            printf("%-20s skipped: %s\n", name, msg);
        } else {
            fflush(stdout);
            cli_fail("plot", "%s", err);
            failed = 1;
            if (rc == UTIL_EEXTERNAL && strstr(err, "install")) break; /* no gnuplot at all */
        }
        fflush(stdout);
    }
    plot_ctx_free(ctx);
    store_close(s);
    return failed ? EXIT_FAIL : EXIT_OK;
}
