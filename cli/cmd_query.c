/* cmd_query.c — placeholder until the module behind `scaling query` lands. */
#include "cli.h"

int cmd_query(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("query", "not implemented yet");
}
