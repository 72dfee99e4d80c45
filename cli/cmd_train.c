/* cmd_train.c — placeholder until the module behind `scaling train` lands. */
#include "cli.h"

int cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("train", "not implemented yet");
}
