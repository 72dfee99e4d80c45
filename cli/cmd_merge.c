/* cmd_merge.c — placeholder until the module behind `scaling merge` lands. */
#include "cli.h"

int cmd_merge(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("merge", "not implemented yet");
}
