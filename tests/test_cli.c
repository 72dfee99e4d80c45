/* test_cli.c — the command table: help, version, unknown commands, exit codes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "testlib.h"

/* Runs `SCALING_BIN args`, capturing stdout+stderr into out; returns exit code. */
static int run(const char *args, char *out, size_t n) {
    return tl_sh(out, n, "%s %s", SCALING_BIN, args);
}

Test(cli, version_and_help) {
    char out[8192];
    cr_assert_eq(run("--version", out, sizeof out), 0);
    cr_assert(strncmp(out, "scaling ", 8) == 0, "%s", out);
    cr_assert_eq(run("--help", out, sizeof out), 0);
    cr_assert(strstr(out, "sweep") && strstr(out, "fit") && strstr(out, "data"), "%s", out);
}

Test(cli, unknown_command_is_usage_error) {
    char out[8192];
    cr_assert_eq(run("frobnicate", out, sizeof out), 2);
    cr_assert(strstr(out, "unknown command 'frobnicate'"), "%s", out);
    cr_assert_eq(run("", out, sizeof out), 2);
    cr_assert_eq(run("help frobnicate", out, sizeof out), 2);
}
