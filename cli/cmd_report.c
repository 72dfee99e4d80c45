/* cmd_report.c — placeholder until the module behind `scaling report` lands. */
#include "cli.h"

int cmd_report(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("report", "not implemented yet");
}
