/*
 * cmd_curve.c — `scaling curve RUN`: one run's configuration line, its
 * evaluations and its training steps from the results database.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling curve RUN [--db FILE] [--every K] [--csv|--json]\n"
    "\n"
    "Prints run RUN's evaluations (step, tokens, FLOPs, validation loss in\n"
    "nats/token, bits/byte) and training steps (train loss, learning rate,\n"
    "gradient norm, elapsed seconds).\n"
    "\n"
    "  --db FILE      results database (default results.db)\n"
    "  --every K      print every K-th step (and the last) instead of all\n"
    "  --csv, --json  machine-readable tables (evals, then steps)\n";

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

/* --every K */
static int curve_option(void *ctx, int c, const char *val) {
    if (c != 'e') return 1;
    return cli_int("curve", "--every", val, 1, 1000000000, (long long *)ctx) ? -1 : 0;
}

int cmd_curve(int argc, char **argv) {
    static const struct option opts[] = {CLI_OPT_DB,   {"every", required_argument, 0, 'e'},
                                         CLI_OPT_CSV,  CLI_OPT_JSON,
                                         CLI_OPT_HELP, {0, 0, 0, 0}};
    long long every = 1;
    cli_opts o = {0};
    int code = cli_getopt("curve", argc, argv, opts, usage_text, &o, curve_option, &every);
    if (code >= 0) return code;
    if (optind >= argc) return cli_usage("curve", "missing the run id");
    if (optind + 1 < argc) return cli_usage("curve", "unexpected argument '%s'", argv[optind + 1]);
    const char *id = argv[optind];
    char err[UTIL_ERRLEN];
    store *s = NULL;
    store_run r;
    store_run_init(&r);
    int rc = EXIT_FAIL;
    if (store_open(&s, o.db, STORE_READONLY, err, sizeof err)) return cli_fail("curve", "%s", err);
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
    if (store_print_evals(s, id, o.fmt, stdout, err, sizeof err)) {
        cli_fail("curve", "%s", err);
        goto done;
    }
    if (o.fmt == STORE_FMT_TABLE) printf("\nsteps:\n");
    if (store_print_steps(s, id, every, o.fmt, stdout, err, sizeof err)) {
        cli_fail("curve", "%s", err);
        goto done;
    }
    rc = EXIT_OK;
done:
    store_run_free_fields(&r);
    store_close(s);
    return rc;
}
