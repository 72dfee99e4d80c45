/* cmd_data.c — placeholder until the module behind `scaling data` lands. */
#include "cli.h"

int cmd_data(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("data", "not implemented yet");
}
