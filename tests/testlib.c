/*
 * testlib.c — linked into every test executable: the command runner of
 * testlib.h, and the LeakSanitizer suppression below.
 */
#define _GNU_SOURCE /* vasprintf, asprintf */
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int tl_sh(char *out, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL, *full = NULL;
    int len = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) return -1;
    if (asprintf(&full, "%s 2>&1", cmd) < 0) {
        free(cmd);
        return -1;
    }
    free(cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (!p) return -1;
    size_t got = 0, k;
    char buf[4096];
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) {
        size_t room = n > got + 1 ? n - 1 - got : 0;
        if (k < room) room = k;
        if (out && room) memcpy(out + got, buf, room), got += room;
    }
    if (out && n) out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tl_sh_in(const char *dir, char *out, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    int len = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) return -1;
    int rc = tl_sh(out, n, "cd '%s' && %s", dir, cmd);
    free(cmd);
    return rc;
}

/* Criterion's runner itself leaks 48 bytes (a calloc inside libcriterion)
 * when a long test runs beside short ones under --jobs 2; LeakSanitizer then
 * fails the whole executable. Suppress leaks whose allocation is in
 * libcriterion only; ours are still reported. Harmless without sanitizers. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libcriterion.so\n";
}
