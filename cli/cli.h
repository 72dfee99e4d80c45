/*
 * cli.h — what the subcommands share: the command table's signature, exit
 * codes, and option-value parsing that names the option and the bad value.
 * Only the CLI prints and chooses exit codes; library modules return errors.
 */
#ifndef SCALING_CLI_H
#define SCALING_CLI_H

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

/* The options `plot` and `report` share, getopt codes 'b' --bootstrap, 'S'
 * --seed, 'a' --a3-starts (the plot_opts fields of the same names): returns
 * 1 when c is one of them and its value is good, -1 on a bad value (message
 * printed; callers return EXIT_USAGE), 0 when c is not one of them. */
int cli_plot_option(const char *cmd, int c, const char *val, int *bootstrap, uint64_t *seed,
                    int *a3_starts);

/* Default results database path: "results.db" in the current directory. */
#define CLI_DEFAULT_DB "results.db"

/* Path of this executable (for re-launching subcommands as worker processes). */
const char *cli_self_exe(void);

#endif
