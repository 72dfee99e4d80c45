/* cmd_curve.c — placeholder until the module behind `scaling curve` lands. */
#include "cli.h"

int cmd_curve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("curve", "not implemented yet");
}
