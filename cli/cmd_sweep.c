/* cmd_sweep.c — placeholder until the module behind `scaling sweep` lands. */
#include "cli.h"

int cmd_sweep(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("sweep", "not implemented yet");
}
