/* cmd_predict.c — placeholder until the module behind `scaling predict` lands. */
#include "cli.h"

int cmd_predict(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("predict", "not implemented yet");
}
