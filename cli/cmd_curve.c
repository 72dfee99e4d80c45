/*
 * cmd_curve.c — `scaling curve RUN`: one run's configuration line, its
 * evaluations and its training steps from the results database.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling curve RUN [--db FILE] [--every K] [--csv|--json [--steps]]\n"
    "       scaling curve RUN --follow [--db FILE] [--interval S]\n"
    "\n"
    "Prints run RUN's evaluations (step, tokens, FLOPs, validation loss in\n"
    "nats/token, bits/byte) and training steps (train loss, learning rate,\n"
    "gradient norm, elapsed seconds). RUN is a run id or a unique prefix of one.\n"
    "\n"
    "  --db FILE      results database (default results.db)\n"
    "  --every K      print every K-th step (and the last) instead of all\n"
    "  --csv, --json  one machine-readable table (pandas.read_csv reads the CSV):\n"
    "                 the evals, or with --steps the steps\n"
    "  --steps        with --csv/--json: the steps table instead of the evals\n"
    "  --follow       follow a running run as the database receives its rows: each\n"
    "                 new eval as a line, and the train loss as a compact plot;\n"
    "                 ends when the run is done, diverged or failed (Ctrl-C leaves)\n"
    "  --interval S   seconds between looks at the database (default 2)\n";

typedef struct {
    long long every;
    int steps, follow;
    double interval;
} curve_args;

/* A number for the header lines, "?" when unknown (-1 or NaN). Buffers of 32. */
static const char *num_i(char *buf, int64_t v) {
    if (v < 0) return "?";
    snprintf(buf, 32, "%lld", (long long)v);
    return buf;
}
static const char *num_d(char *buf, double v) {
    if (isnan(v)) return "?";
    snprintf(buf, 32, "%.6g", v);
    return buf;
}

/* A branch names its parent and fork point (its curve before the fork is
 * the parent's); a trunk lists its branches. */
static int print_family(store *s, const store_run *r, char *err, size_t errlen) {
    if (r->parent_run[0])
        printf("branch of %s at %lld tokens (the curve before the fork: scaling curve %s)\n",
               r->parent_run, (long long)r->fork_tokens, r->parent_run);
    store_run *all = NULL;
    int n = 0, nb = 0;
    int rc = store_list_runs(s, r->sweep[0] ? r->sweep : NULL, NULL, &all, &n, err, errlen);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].parent_run, r->id)) continue;
        if (nb++ == 0) printf("branches:");
        printf(" %s (at %lld, %s)", all[i].id, (long long)all[i].fork_tokens, all[i].status);
    }
    if (nb) printf("\n");
    store_runs_free(all, n);
    return 0;
}

/* --every K, --steps, --follow, --interval S */
static int curve_option(void *ctx, int c, const char *val) {
    curve_args *a = ctx;
    switch (c) {
    case 'e':
        return cli_int("curve", "--every", val, 1, 1000000000, &a->every) ? -1 : 0;
    case 'T':
        a->steps = 1;
        return 0;
    case 'f':
        a->follow = 1;
        return 0;
    case 'i':
        return cli_double("curve", "--interval", val, 0.05, 3600, &a->interval) ? -1 : 0;
    }
    return 1;
}

/* The compact plot: loss[0..n-1] resampled into `width` columns of block
 * characters, lowest loss at the bottom, with its range. */
static void sparkline(const double *loss, int n, int width) {
    static const char *bars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                 "\u2585", "\u2586", "\u2587", "\u2588"};
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(loss[i])) {
            lo = loss[i] < lo ? loss[i] : lo;
            hi = loss[i] > hi ? loss[i] : hi;
        }
    if (!(hi >= lo)) return;
    if (width > n) width = n;
    printf("train loss %.3f ", loss[0]);
    for (int c = 0; c < width; c++) {
        /* mean of the column's steps */
        int a = (int)((long long)c * n / width), b = (int)((long long)(c + 1) * n / width);
        double sum = 0;
        int k = 0;
        for (int i = a; i < b; i++)
            if (isfinite(loss[i])) sum += loss[i], k++;
        int level = k && hi > lo ? (int)((sum / k - lo) / (hi - lo) * 7.999) : 0;
        fputs(bars[level < 0 ? 0 : level > 7 ? 7 : level], stdout);
    }
    printf(" %.3f (min %.3f, %d steps)\n", loss[n - 1], lo, n);
}

/* --follow: prints the evals the database has not shown yet and the train
 * loss plot, every interval, until the run leaves planned/running. */
static int follow(store *s, const char *id, double interval) {
    char err[UTIL_ERRLEN];
    int shown = 0, last_steps = -1;
    for (;;) {
        store_run r;
        double *tk = NULL, *ls = NULL, *st = NULL, *sl = NULL;
        int n = 0, ns = 0;
        if (store_get_run(s, id, &r, err, sizeof err) ||
            store_run_losses(s, id, 1, &tk, &ls, &n, err, sizeof err) ||
            store_run_losses(s, id, 0, &st, &sl, &ns, err, sizeof err)) {
            store_run_free_fields(&r);
            free(tk), free(ls), free(st), free(sl);
            return cli_fail("curve", "%s", err);
        }
        for (; shown < n; shown++)
            printf("eval  tokens %-12.0f val_loss %.4f\n", tk[shown], ls[shown]);
        if (ns != last_steps && ns > 0) sparkline(sl, ns, 60);
        last_steps = ns;
        int idx = store_status_index(r.status);
        int over = idx != STORE_PLANNED && idx != STORE_RUNNING;
        if (over) printf("run %s: %s%s", r.id, r.status, isnan(r.final_val_loss) ? "\n" : "");
        if (over && !isnan(r.final_val_loss))
            printf(", final val loss %.4f nats/token\n", r.final_val_loss);
        fflush(stdout);
        store_run_free_fields(&r);
        free(tk), free(ls), free(st), free(sl);
        if (over) return EXIT_OK;
        struct timespec ts = {(time_t)interval, (long)((interval - (time_t)interval) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

int cmd_curve(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_DB,
                                         {"every", required_argument, 0, 'e'},
                                         {"steps", no_argument, 0, 'T'},
                                         {"follow", no_argument, 0, 'f'},
                                         {"interval", required_argument, 0, 'i'},
                                         CLI_OPT_CSV,
                                         CLI_OPT_JSON,
                                         CLI_OPT_FORMAT,
                                         CLI_OPT_HELP,
                                         {0, 0, 0, 0}};
    curve_args a = {1, 0, 0, 2.0};
    cli_opts o = {0};
    int code = cli_getopt("curve", argc, argv, opts, usage_text, &o, curve_option, &a);
    if (code >= 0) return code;
    long long every = a.every;
    if (optind >= argc) return cli_usage("curve", "missing the run id");
    if (optind + 1 < argc) return cli_usage("curve", "unexpected argument '%s'", argv[optind + 1]);
    if (a.steps && o.fmt == STORE_FMT_TABLE)
        return cli_usage("curve", "--steps chooses the table of --csv or --json");
    if (a.follow && o.fmt != STORE_FMT_TABLE)
        return cli_usage("curve", "--follow prints to the terminal; without --csv/--json");
    char err[UTIL_ERRLEN], id[17];
    store *s = NULL;
    store_run r;
    store_run_init(&r);
    int rc = EXIT_FAIL;
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("curve", "%s", err);
    if (store_resolve_run(s, argv[optind], id, err, sizeof err)) {
        cli_fail("curve", "%s", err);
        goto done;
    }
    if (a.follow) {
        rc = follow(s, id, a.interval);
        goto done;
    }
    if (store_get_run(s, id, &r, err, sizeof err)) {
        cli_fail("curve", "%s", err);
        goto done;
    }
    if (o.fmt == STORE_FMT_TABLE) {
        char a[6][32];
        printf("run %s  sweep %s  label %s  status %s\n", r.id, r.sweep[0] ? r.sweep : "-",
               r.label[0] ? r.label : "-", r.status);
        printf("shape %s layers x d_model %s (heads %s, d_ff %s, n_ctx %s, vocab %s)\n",
               num_i(a[0], r.n_layer), num_i(a[1], r.d_model), num_i(a[2], r.n_head),
               num_i(a[3], r.d_ff), num_i(a[4], r.n_ctx), num_i(a[5], r.n_vocab));
        printf("params %s (non-embedding %s)  tokens %s  flops %s  lr %s\n",
               num_i(a[0], r.params_total), num_i(a[1], r.params_nonembedding),
               num_i(a[2], r.tokens), num_d(a[3], r.flops), num_d(a[4], r.lr));
        if (!isnan(r.final_val_loss))
            printf("final val loss %s nats/token (%s bits/byte), train loss %s, tokens done %s\n",
                   num_d(a[0], r.final_val_loss), num_d(a[1], r.final_val_bpb),
                   num_d(a[2], r.final_train_loss), num_i(a[3], r.tokens_done));
        if (print_family(s, &r, err, sizeof err)) {
            cli_fail("curve", "%s", err);
            goto done;
        }
        printf("\nevals:\n");
    }
    /* a table, or one machine-readable table: two CSV tables in one file
     * are not CSV */
    if ((o.fmt == STORE_FMT_TABLE || !a.steps) &&
        store_print_evals(s, id, o.fmt, stdout, err, sizeof err)) {
        cli_fail("curve", "%s", err);
        goto done;
    }
    if (o.fmt == STORE_FMT_TABLE) printf("\nsteps:\n");
    if ((o.fmt == STORE_FMT_TABLE || a.steps) &&
        store_print_steps(s, id, every, o.fmt, stdout, err, sizeof err)) {
        cli_fail("curve", "%s", err);
        goto done;
    }
    rc = EXIT_OK;
done:
    store_run_free_fields(&r);
    store_close(s);
    return rc;
}
