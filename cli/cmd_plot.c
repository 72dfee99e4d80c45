/* cmd_plot.c — placeholder until the module behind `scaling plot` lands. */
#include "cli.h"

int cmd_plot(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("plot", "not implemented yet");
}
