/* test_cli.c — the command table: help, version, unknown commands, exit codes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Runs `SCALING_BIN args`, capturing stdout+stderr into out; returns exit code. */
static int run(const char *args, char *out, size_t n) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", SCALING_BIN, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
