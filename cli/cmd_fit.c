/* cmd_fit.c — placeholder until the module behind `scaling fit` lands. */
#include "cli.h"

int cmd_fit(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("fit", "not implemented yet");
}
