/*
 * cli.h — what the subcommands share: the command table's signature, exit
 * codes (run.h's run_exit), the options several commands take (--db,
 * --sweep, --out, --csv/--json, the fit options) parsed in one place, and
 * option-value parsing that names the option and the bad value.
 * Owns: printing and the exit status. Does not own: library logic (every
 * command calls its module), `scaling train`'s flags (run/run.h's table).
 */
#ifndef SCALING_CLI_H
#define SCALING_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "../run/run.h"

/* Exit codes (jq/git style): usage errors are distinct from runtime failures.
 * The values are run.h's run_exit, the one enum the trainer, the sweep pool
 * and every command share; these are its short names inside cli/. */
#define EXIT_OK RUN_EXIT_OK
#define EXIT_FAIL RUN_EXIT_FAIL
#define EXIT_USAGE RUN_EXIT_USAGE

/* Every subcommand: `int cmd_NAME(int argc, char **argv)`, argv[0] the
 * command's name. `--help`/`-h` prints its usage to stdout and returns 0. */
typedef int (*cli_cmd_fn)(int argc, char **argv);

int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_curve(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints "scaling CMD: message" to stderr and returns EXIT_USAGE (with a hint
 * to run `scaling help CMD`) or EXIT_FAIL. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse option values; on a bad value print "scaling CMD: --OPT: expected ..., got 'VAL'"
 * and return -1 (callers return EXIT_USAGE). Accept 1e6-style for integers. */
int cli_int(const char *cmd, const char *opt, const char *val, long long lo, long long hi,
            long long *out);
int cli_double(const char *cmd, const char *opt, const char *val, double lo, double hi,
               double *out);

/* ---- Options several commands share ------------------------------------
 * --db FILE, --sweep NAME, --out PATH, --csv, --json, and the fit options of
 * `plot` and `report` (--bootstrap N, --seed S, --a3-starts N), parsed in
 * one place. A command lists the ones it takes in its option table with
 * these getopt codes and its own options with other codes. */
enum {
    CLI_O_DB = 'd',
    CLI_O_SWEEP = 's',
    CLI_O_OUT = 'o',
    CLI_O_CSV = 'c',
    CLI_O_JSON = 'j',
    CLI_O_BOOTSTRAP = 'b',
    CLI_O_SEED = 'S',
    CLI_O_A3 = 'a',
    CLI_O_FORMAT = 'F', /* --format csv|json|table: export's spelling, accepted everywhere */
};
/* one option-table entry per macro, as written */
// clang-format off
#define CLI_OPT_DB {"db", required_argument, 0, CLI_O_DB}
#define CLI_OPT_SWEEP {"sweep", required_argument, 0, CLI_O_SWEEP}
#define CLI_OPT_OUT {"out", required_argument, 0, CLI_O_OUT}
#define CLI_OPT_CSV {"csv", no_argument, 0, CLI_O_CSV}
#define CLI_OPT_JSON {"json", no_argument, 0, CLI_O_JSON}
#define CLI_OPT_FORMAT {"format", required_argument, 0, CLI_O_FORMAT}
#define CLI_OPT_FIT {"bootstrap", required_argument, 0, CLI_O_BOOTSTRAP}, \
    {"seed", required_argument, 0, CLI_O_SEED}, {"a3-starts", required_argument, 0, CLI_O_A3}
#define CLI_OPT_HELP {"help", no_argument, 0, 'h'}
// clang-format on

/* The help lines of --db, --out and the fit options, as `plot` and `report`
 * print them. */
#define CLI_USAGE_DB_OUT_FIT                                                                       \
    "  --db FILE          results database (default results.db)\n"                                 \
    "  --out DIR          output directory (created if missing)\n"                                 \
    "  --bootstrap N      bootstrap resamples for intervals and bands (default 200,\n"             \
    "                     as scaling fit)\n"                                                       \
    "  --seed S           bootstrap seed (default 20240417, as scaling fit)\n"                     \
    "  --a3-starts N      approach 3: L-BFGS starts from the best N grid points\n"                 \
    "                     (default: the fit module's, all 4500)\n"                                 \
    "Environment: SCALING_GNUPLOT overrides the gnuplot binary.\n"

#define CLI_MAX_SWEEPS 8 /* --sweep given more than once: sweeps compared */
typedef struct {
    const char *db;    /* --db, default CLI_DEFAULT_DB */
    const char *sweep; /* --sweep, NULL when not given (the first when given several times) */
    const char *sweeps[CLI_MAX_SWEEPS]; /* every --sweep, in order */
    int nsweeps;
    const char *out; /* --out, NULL when not given */
    int fmt;         /* STORE_FMT_TABLE, or _CSV / _JSON from --csv / --json */
    int *bootstrap;  /* where --bootstrap, --seed, --a3-starts go (plot_opts fields) */
    uint64_t *seed;
    int *a3_starts;
} cli_opts;

/* A command's own options: returns 0 when it took getopt code c (value
 * val), -1 when the value is bad (message printed), 1 when c is not one of
 * its options. */
typedef int (*cli_own_fn)(void *ctx, int c, const char *val);

/* Runs getopt_long over argv with the table opts: --help prints usage to
 * stdout, shared options fill *o (its defaults set first, pointers kept),
 * the others go to own (may be NULL). Returns -1 when the options were good
 * (optind at the first positional argument), else the exit code for the
 * command to return: EXIT_OK after --help, EXIT_USAGE after a message. */
int cli_getopt(const char *cmd, int argc, char **argv, const struct option *opts, const char *usage,
               cli_opts *o, cli_own_fn own, void *ctx);

/* The sweep a command that reads one sweep works on. Given (*sweep
 * non-NULL): it must exist, else an error that lists the sweeps there are.
 * Not given: the database's only sweep; with several, an error that lists
 * them (pooling sweeps of different designs would fit nonsense); with none,
 * *sweep stays NULL (runs trained outside sweeps). Returns -1 when good, else
 * the exit code, the message printed. */
int cli_pick_sweep(const char *cmd, const char *db, const char **sweep);

/* Several sweeps compared (`fit`, `plot`, `report` with --sweep more than
 * once): each must exist; fits each (bootstrap, seed, starts from po, NULL
 * for the defaults) and prints a and b side by side and tokens per parameter
 * at each sweep's largest budget; with outdir also the overlay figure, and
 * with html the page. Returns the exit code. */
int cli_compare(const char *cmd, const char *db, const char *const *sweeps, int n, const void *po,
                const char *outdir, int html);
/* The folder of a comparison's figure: out when given, else
 * "out/compare-A-B..." written into buf (len bytes). */
const char *cli_compare_outdir(const char *out, const char *const *sweeps, int n, char *buf,
                               size_t len);

/* Default results database path: "results.db" in the current directory. */
#define CLI_DEFAULT_DB "results.db"

/* Path of this executable (for re-launching subcommands as worker processes). */
const char *cli_self_exe(void);

/* The held-out check (cli_holdout.c): for each held-out run of h, its
 * measured loss and, per fit k (laws[k], the approach's name; f3[k] its
 * Approach 3 fit, NULL for an approach that predicts no L(N, D)), the loss
 * predicted at its (N, D) with N counted as p, the 95% interval and the
 * error in %. Prints nothing for no held-out run. */
#include <cjson/cJSON.h>

#include "../analysis/fit.h"
void cli_holdout_print(const fit_data *h, fit_params p, const char *const *laws,
                       const fit_approach3 *const *f3, int nlaws, FILE *fp);
cJSON *cli_holdout_json(const fit_data *h, fit_params p, const char *const *laws,
                        const fit_approach3 *const *f3, int nlaws);

#endif
