/*
 * main.c — the `scaling` program: a git-style table of subcommands.
 * Each subcommand lives in cli/cmd_<name>.c as cmd_<name>(argc, argv).
 */
#include <stdio.h>
#include <string.h>

#include "../util/util.h"
#include "cli.h"

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"data", cmd_data, "prepare a corpus into token files; inspect a prepared directory"},
    {"train", cmd_train, "train one model on a prepared data directory"},
    {"bench", cmd_bench, "measure sgemm peak and training throughput (MFU)"},
    {"sweep", cmd_sweep, "plan and run a family of models from a sweep file"},
    {"status", cmd_status, "summarise a sweep's progress from the database"},
    {"runs", cmd_runs, "list runs in the results database"},
    {"curve", cmd_curve, "print one run's evaluations and steps"},
    {"query", cmd_query, "run read-only SQL on the results database"},
    {"export", cmd_export, "export tables as CSV or JSON"},
    {"merge", cmd_merge, "fold databases from other machines into one"},
    {"fit", cmd_fit, "fit scaling laws (Kaplan; Chinchilla approaches 1, 2, 3)"},
    {"predict", cmd_predict, "compute-optimal N, D and loss for a compute budget"},
    {"plot", cmd_plot, "draw the Kaplan and Chinchilla figures with gnuplot"},
    {"report", cmd_report, "write a self-contained HTML report"},
};
#define NCOMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *fp) {
    fprintf(fp, "usage: scaling <command> [options]\n"
                "       scaling help <command>\n"
                "       scaling --version\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

static int find(const char *name) {
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return i;
    return -1;
}

/* "unknown command", with the nearest command's name when one is near. */
static void unknown(const char *name) {
    const char *names[NCOMMANDS + 1];
    for (int i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    names[NCOMMANDS] = "help";
    const char *near = util_nearest(name, names, NCOMMANDS + 1);
    if (near)
        fprintf(stderr,
                "scaling: unknown command '%s'; did you mean '%s'? (see 'scaling --help')\n", name,
                near);
    else
        fprintf(stderr, "scaling: unknown command '%s' (see 'scaling --help')\n", name);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("scaling %s (git %s)\n", util_version(), util_git_rev());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_OK;
        }
        int i = find(argv[2]);
        if (i < 0) {
            unknown(argv[2]);
            return EXIT_USAGE;
        }
        char *hargv[] = {argv[2], "--help", NULL};
        return commands[i].fn(2, hargv);
    }
    int i = find(cmd);
    if (i < 0) {
        unknown(cmd);
        return EXIT_USAGE;
    }
    return commands[i].fn(argc - 1, argv + 1);
}
