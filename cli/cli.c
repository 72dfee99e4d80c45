/*
 * cli.c — shared helpers for subcommands: messages, exit codes, number parsing.
 */
#include "cli.h"

#include "../analysis/plot.h"
#include "../results/store.h"

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

/* A shared option c with value val: 0 taken, -1 bad value, 1 not shared. */
static int shared_option(const char *cmd, int c, const char *val, cli_opts *o) {
    long long v;
    switch (c) {
    case CLI_O_DB:
        o->db = val;
        return 0;
    case CLI_O_SWEEP:
        if (o->nsweeps == CLI_MAX_SWEEPS) {
            cli_usage(cmd, "--sweep: at most %d sweeps compared at once", CLI_MAX_SWEEPS);
            return -1;
        }
        if (!o->sweep) o->sweep = val;
        o->sweeps[o->nsweeps++] = val;
        return 0;
    case CLI_O_OUT:
        o->out = val;
        return 0;
    case CLI_O_CSV:
        o->fmt = STORE_FMT_CSV;
        return 0;
    case CLI_O_JSON:
        o->fmt = STORE_FMT_JSON;
        return 0;
    case CLI_O_FORMAT:
        if (!strcmp(val, "csv"))
            o->fmt = STORE_FMT_CSV;
        else if (!strcmp(val, "json"))
            o->fmt = STORE_FMT_JSON;
        else if (!strcmp(val, "table"))
            o->fmt = STORE_FMT_TABLE;
        else {
            cli_usage(cmd, "--format: expected csv, json or table, got '%s'", val);
            return -1;
        }
        return 0;
    case CLI_O_BOOTSTRAP:
        if (!o->bootstrap) return 1;
        if (cli_int(cmd, "--bootstrap", val, 0, 100000, &v)) return -1;
        *o->bootstrap = (int)v;
        return 0;
    case CLI_O_SEED:
        if (!o->seed) return 1;
        if (cli_int(cmd, "--seed", val, 0, 9007199254740992LL, &v)) return -1;
        *o->seed = (uint64_t)v;
        return 0;
    case CLI_O_A3:
        if (!o->a3_starts) return 1;
        if (cli_int(cmd, "--a3-starts", val, 0, 100000, &v)) return -1;
        *o->a3_starts = (int)v;
        return 0;
    }
    return 1;
}

int cli_getopt(const char *cmd, int argc, char **argv, const struct option *opts, const char *usage,
               cli_opts *o, cli_own_fn own, void *ctx) {
    o->db = CLI_DEFAULT_DB;
    o->sweep = o->out = NULL;
    o->nsweeps = 0;
    o->fmt = STORE_FMT_TABLE;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        int r = shared_option(cmd, c, optarg, o);
        if (r == 1 && own) r = own(ctx, c, optarg);
        if (r == -1) return EXIT_USAGE;
        if (r == 1) return cli_usage(cmd, "unknown option");
    }
    return -1;
}

int cli_pick_sweep(const char *cmd, const char *db, const char **sweep) {
    static char only[128];
    char err[UTIL_ERRLEN], names[1024];
    store *s = NULL;
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return cli_fail(cmd, "%s", err);
    int n = store_sweep_names(s, names, sizeof names, err, sizeof err), rc = -1;
    store_sweep_name *one = NULL;
    int none = 0;
    if (n >= 0 && *sweep) {
        if (store_list_sweeps(s, *sweep, &one, &none, err, sizeof err) == 0 && none == 0)
            rc = cli_fail(cmd, "%s: no sweep named '%s' (sweeps there: %s)", db, *sweep, names);
        free(one);
    } else if (n == 1) {
        if (store_list_sweeps(s, NULL, &one, &none, err, sizeof err) == 0 && none == 1)
            snprintf(only, sizeof only, "%s", one[0].name);
        free(one);
        *sweep = only;
    } else if (n > 1) {
        rc = cli_usage(cmd,
                       "%s holds %d sweeps (%s): choose one with --sweep NAME; fitting "
                       "sweeps of different designs as one mixes their runs",
                       db, n, names);
    }
    if (n < 0) rc = cli_fail(cmd, "%s", err);
    store_close(s);
    return rc;
}

/* "0.512 [0.43, 0.60]", "0.512 (n/a: zero width)" or "0.512" */
static void print_interval(double est, double lo, double hi, int positive, const char *fmt) {
    char why[160], buf[64];
    snprintf(buf, sizeof buf, fmt, est);
    printf("  %10s", buf);
    if (fit_interval_degenerate(est, lo, hi, positive, why, sizeof why)) {
        char *colon = strchr(why, ':');
        if (colon) *colon = 0;
        printf(" %-22s", why);
    } else if (isfinite(lo) && isfinite(hi)) {
        char b2[64];
        snprintf(buf, sizeof buf, fmt, lo);
        snprintf(b2, sizeof b2, fmt, hi);
        char iv[160];
        snprintf(iv, sizeof iv, "[%s, %s]", buf, b2);
        printf(" %-22s", iv);
    } else {
        printf(" %-22s", "");
    }
}

const char *cli_compare_outdir(const char *out, const char *const *sweeps, int n, char *buf,
                               size_t len) {
    if (out) return out;
    size_t m = (size_t)snprintf(buf, len, "out/compare");
    for (int i = 0; i < n && m < len; i++)
        m += (size_t)snprintf(buf + m, len - m, "-%s", sweeps[i]);
    return buf;
}

int cli_compare(const char *cmd, const char *db, const char *const *sweeps, int n, const void *po,
                const char *outdir, int html) {
    char err[UTIL_ERRLEN], msg[512];
    store *s = NULL;
    plot_compare_row rows[PLOT_COMPARE_MAX];
    int fig_rc = PLOT_SKIPPED;
    for (int i = 0; i < n; i++) {
        const char *one = sweeps[i];
        int r = cli_pick_sweep(cmd, db, &one);
        if (r >= 0) return r;
    }
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return cli_fail(cmd, "%s", err);
    int rc = plot_compare(s, sweeps, n, (const plot_opts *)po, outdir, html, rows, &fig_rc, msg,
                          sizeof msg, err, sizeof err);
    store_close(s);
    if (rc) return cli_fail(cmd, "%s", err);
    printf("sweeps compared (each fitted on its own; 95%% bootstrap intervals; tokens per "
           "parameter at each sweep's largest budget):\n");
    printf("%-16s %-10s  %10s %-22s  %10s %-22s  %10s %-22s\n", "sweep", "approach", "a", "", "b",
           "", "D/N", "");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            const plot_compare_row *r = &rows[i];
            printf("%-16s approach %d", r->sweep, k + 1);
            if (r->rc[k]) {
                printf("  not fitted: %s\n", r->why[k]);
                continue;
            }
            print_interval(r->a[k].est, r->a[k].lo, r->a[k].hi, 0, "%.3f");
            print_interval(r->b[k].est, r->b[k].lo, r->b[k].hi, 0, "%.3f");
            print_interval(r->tpp[k], r->tpp_lo[k], r->tpp_hi[k], 1, "%.3g");
            printf("\n");
        }
    if (outdir) {
        if (fig_rc == 0)
            printf("compare              drawn: %s/compare.png, %s/compare.svg\n", outdir, outdir);
        else
            printf("compare              skipped: %s\n", msg);
        if (html) printf("report: %s/index.html\n", outdir);
    }
    return EXIT_OK;
}
