/* cmd_runs.c — placeholder until the module behind `scaling runs` lands. */
#include "cli.h"

int cmd_runs(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("runs", "not implemented yet");
}
