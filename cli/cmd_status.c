/* cmd_status.c — placeholder until the module behind `scaling status` lands. */
#include "cli.h"

int cmd_status(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("status", "not implemented yet");
}
