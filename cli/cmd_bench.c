/* cmd_bench.c — placeholder until the module behind `scaling bench` lands. */
#include "cli.h"

int cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("bench", "not implemented yet");
}
