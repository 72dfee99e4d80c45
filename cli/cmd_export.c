/* cmd_export.c — placeholder until the module behind `scaling export` lands. */
#include "cli.h"

int cmd_export(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("export", "not implemented yet");
}
