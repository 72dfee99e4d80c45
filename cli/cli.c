/*
 * cli.c — shared helpers for subcommands: messages, exit codes, number parsing.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "scaling %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'scaling help %s')\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "scaling %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_FAIL;
}

int cli_double(const char *cmd, const char *opt, const char *val, double lo, double hi,
               double *out) {
    char *end;
    errno = 0;
    double v = val ? strtod(val, &end) : NAN;
    if (!val || end == val || *end || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "scaling %s: %s: expected a number in [%g, %g], got '%s'\n", cmd, opt, lo,
                hi, val ? val : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cli_int(const char *cmd, const char *opt, const char *val, long long lo, long long hi,
            long long *out) {
    char *end;
    errno = 0;
    double v = val ? strtod(val, &end) : NAN; /* accepts 1e6 */
    if (!val || end == val || *end || errno || !isfinite(v) || v != floor(v) || v < (double)lo ||
        v > (double)hi) {
        fprintf(stderr, "scaling %s: %s: expected an integer in [%lld, %lld], got '%s'\n", cmd, opt,
                lo, hi, val ? val : "");
        return -1;
    }
    *out = (long long)v;
    return 0;
}

const char *cli_self_exe(void) {
    static char buf[4096];
    if (!buf[0]) {
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0)
            strcpy(buf, "scaling");
        else
            buf[n] = 0;
    }
    return buf;
}
