/*
 * cmd_bench.c — `scaling bench`: this machine's sgemm rate and the training
 * throughput / MFU / memory of the standard shapes, of shapes given on the
 * command line, or of the distinct shapes of a sweep plan weighted by the
 * compute the plan gives each (model_bench_specs).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "../sweep/sweep.h"
#include "cli.h"

static const char usage[] =
    "usage: scaling bench [--threads K] [--steps S] [--json]\n"
    "       scaling bench --shapes LxD[,LxD...] [--ctx T] [--head-size H] [--batch B] ...\n"
    "       scaling bench --sweep FILE [--db FILE] ...\n"
    "\n"
    "Measures OpenBLAS sgemm GFLOP/s at K threads (best of several reps, M=4096,\n"
    "N=K=256..1024), then trains each shape for S timed steps on random tokens\n"
    "and prints tokens/s, model FLOP/s, MFU and memory.\n"
    "MFU = (6 (N + d_model n_vocab) + 12 n_layer n_ctx d_model) x tokens/s / sgemm FLOP/s,\n"
    "both measured in this run at K threads.\n"
    "Without --shapes or --sweep: the standard shapes (n_layer, d_model, n_head) =\n"
    "(2,64,2) (4,128,4) (6,256,8) (8,512,8), 16 x 256 byte tokens per step.\n"
    "\n"
    "  --threads K     threads for sgemm and training (default 1, what a sweep\n"
    "                  worker uses with -j and --threads at their defaults)\n"
    "  --steps S       timed steps per shape (default 5)\n"
    "  --shapes LIST   n_layer x d_model pairs, e.g. 1x32,2x72,4x144 (d_ff 4 d_model,\n"
    "                  byte vocab)\n"
    "  --ctx T         context for --shapes (default 256)\n"
    "  --head-size H   head size for --shapes: n_head = d_model / H (default 32)\n"
    "  --batch B       sequences per step for --shapes (default 16)\n"
    "  --sweep FILE    the distinct shapes of this sweep plan as the plan trains\n"
    "                  them (its context, batch, heads and vocabulary), each\n"
    "                  weighted by its share of the plan's FLOPs; adds the plan's\n"
    "                  MFU: its model FLOPs over the time its tokens take at these\n"
    "                  rates\n"
    "  --db FILE       where the plan's lr = rule(NAME) looks (default results.db)\n"
    "  --cpu-time      time sgemm and training in process CPU seconds, not wall\n"
    "                  seconds: on a machine shared with other jobs, rates at\n"
    "                  --threads 1 that do not count the time spent waiting\n"
    "  --json          one JSON object instead of the table\n";

#define MAX_SPECS 64

/* "LxD[,LxD...]" -> specs with the given context, head size and batch. */
static int parse_shapes(const char *list, int ctx, int hs, int batch, model_bench_spec *specs,
                        int *n) {
    *n = 0;
    const char *p = list;
    while (*p) {
        char *end;
        long L = strtol(p, &end, 10), D;
        if (end == p || *end != 'x') goto bad;
        p = end + 1;
        D = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || L < 1 || L > 1024 || D < 1 || D > 65536) goto bad;
        if (D % hs != 0)
            return cli_usage("bench", "--shapes: d_model %ld is not a multiple of --head-size %d",
                             D, hs);
        if (*n == MAX_SPECS) return cli_usage("bench", "--shapes: at most %d shapes", MAX_SPECS);
        specs[(*n)++] = (model_bench_spec){.shape = {.n_layer = (int)L,
                                                     .d_model = (int)D,
                                                     .n_head = (int)(D / hs),
                                                     .d_ff = 4 * (int)D,
                                                     .n_ctx = ctx,
                                                     .n_vocab = 256},
                                           .batch = batch};
        p = *end ? end + 1 : end;
    }
    if (*n == 0) goto bad;
    return 0;
bad:
    return cli_usage("bench",
                     "--shapes: expected n_layer x d_model pairs like 2x72,4x144, got '%s'", list);
}

/* The plan's distinct (shape, batch) pairs; weight[i] its FLOPs (plan's
 * count), tokens[i] the tokens it trains. */
static int plan_specs(const sweep_plan *plan, model_bench_spec *specs, double *weight,
                      double *tokens, int *n) {
    *n = 0;
    for (int r = 0; r < plan->nruns; r++) {
        const model_train_config *c = &plan->runs[r].cfg;
        model_bench_spec sp = {.shape = c->shape,
                               .batch = c->micro_batch > 0 ? c->micro_batch : c->batch};
        int i = 0;
        while (i < *n && (memcmp(&specs[i].shape, &sp.shape, sizeof sp.shape) != 0 ||
                          specs[i].batch != sp.batch))
            i++;
        if (i == *n) {
            if (*n == MAX_SPECS)
                return cli_fail("bench", "%s: more than %d distinct shapes", plan->path, MAX_SPECS);
            specs[i] = sp;
            weight[i] = tokens[i] = 0;
            (*n)++;
        }
        weight[i] += plan->runs[r].flops;
        tokens[i] += (double)c->tokens;
    }
    if (*n == 0) return cli_fail("bench", "%s: the plan has no runs", plan->path);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    long long threads = 1, steps = 5, ctx = 256, hs = 32, batch = 16;
    int json = 0, cpu_time = 0;
    const char *shapes = NULL, *sweep = NULL, *db = CLI_DEFAULT_DB;
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                         {"steps", required_argument, 0, 's'},
                                         {"shapes", required_argument, 0, 'S'},
                                         {"ctx", required_argument, 0, 'c'},
                                         {"head-size", required_argument, 0, 'H'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"sweep", required_argument, 0, 'w'},
                                         {"db", required_argument, 0, 'd'},
                                         {"cpu-time", no_argument, 0, 'C'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            if (cli_int("bench", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE;
            break;
        case 's':
            if (cli_int("bench", "--steps", optarg, 1, 100000, &steps)) return EXIT_USAGE;
            break;
        case 'S':
            shapes = optarg;
            break;
        case 'c':
            if (cli_int("bench", "--ctx", optarg, 1, 65536, &ctx)) return EXIT_USAGE;
            break;
        case 'H':
            if (cli_int("bench", "--head-size", optarg, 1, 65536, &hs)) return EXIT_USAGE;
            break;
        case 'b':
            if (cli_int("bench", "--batch", optarg, 1, 1 << 20, &batch)) return EXIT_USAGE;
            break;
        case 'w':
            sweep = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'C':
            cpu_time = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default:
            return cli_usage("bench", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("bench", "unexpected argument '%s'", argv[optind]);
    if (shapes && sweep) return cli_usage("bench", "--shapes and --sweep exclude each other");
    if (!shapes && (ctx != 256 || hs != 32 || batch != 16))
        return cli_usage("bench", "--ctx, --head-size and --batch go with --shapes");

    model_bench_spec specs[MAX_SPECS];
    double weight[MAX_SPECS], tokens[MAX_SPECS];
    int n = 0, rc;
    char what[1200];
    if (shapes) {
        if ((rc = parse_shapes(shapes, (int)ctx, (int)hs, (int)batch, specs, &n))) return rc;
        snprintf(what, sizeof what, "batch %lld x ctx %lld, head size %lld, byte vocab", batch, ctx,
                 hs);
    } else if (sweep) {
        sweep_plan plan;
        char perr[UTIL_ERRLEN];
        if (sweep_parse(sweep, NULL, 0, db, &plan, perr, sizeof perr)) {
            sweep_plan_free(&plan);
            return cli_fail("bench", "%s", perr);
        }
        rc = plan_specs(&plan, specs, weight, tokens, &n);
        snprintf(what, sizeof what, "the %d distinct shapes of sweep %s (%s)", n, plan.name,
                 plan.path);
        sweep_plan_free(&plan);
        if (rc) return rc;
    } else {
        snprintf(what, sizeof what, "batch 16 x ctx 256, byte vocab");
    }

    double gflops = 0;
    char kernel[64], err[UTIL_ERRLEN];
    model_bench_row rows[MAX_SPECS];
    if (!json) {
        printf("# threads %lld, %lld timed steps per shape, %s; %s time\n", threads, steps, what,
               cpu_time ? "CPU" : "wall");
        fflush(stdout);
    }
    if (!shapes && !sweep) { /* the standard shapes */
        n = MODEL_BENCH_MAX;
        if (model_bench_standard(specs, &n)) return cli_fail("bench", "internal: shape list");
    }
    rc = model_bench_specs(specs, n, (int)threads, (int)steps, cpu_time, &gflops, kernel, rows, err,
                           sizeof err);
    if (rc) return cli_fail("bench", "%s", err);

    /* The plan's MFU: its model FLOPs (MFU count) over the time its tokens
     * take at the measured rates, against the same sgemm rate. */
    double wsum = 0, plan_mfu = 0;
    if (sweep) {
        double mflops = 0, secs = 0;
        for (int i = 0; i < n; i++) {
            wsum += weight[i];
            mflops += tokens[i] * model_flops_mfu(&specs[i].shape);
            secs += tokens[i] / rows[i].tokens_per_s;
        }
        plan_mfu = mflops / secs / (gflops * 1e9);
    }
    if (json) {
        printf("{\"kernel\": \"%s\", \"threads\": %lld, \"sgemm_gflops\": %.3f, \"shapes\": [",
               kernel, threads, gflops);
        for (int i = 0; i < n; i++) {
            printf("%s{\"n_layer\": %d, \"d_model\": %d, \"n_head\": %d, \"n_ctx\": %d, "
                   "\"batch\": %d, \"tokens_per_s\": %.1f, \"model_gflops\": %.3f, \"mfu\": %.4f, "
                   "\"peak_mem_bytes\": %.0f, \"base_mem_bytes\": %.0f, \"model_mem_bytes\": %.0f",
                   i ? ", " : "", rows[i].n_layer, rows[i].d_model, rows[i].n_head, rows[i].n_ctx,
                   rows[i].batch, rows[i].tokens_per_s, rows[i].model_flops_per_s / 1e9,
                   rows[i].mfu, rows[i].peak_mem_bytes, rows[i].base_mem_bytes,
                   rows[i].model_mem_bytes);
            if (sweep) printf(", \"plan_flops_share\": %.4f", weight[i] / wsum);
            printf("}");
        }
        printf("]");
        if (sweep) printf(", \"plan_mfu\": %.4f", plan_mfu);
        printf("}\n");
        return EXIT_OK;
    }
    printf("openblas kernel %s, sgemm %.1f GFLOP/s at %lld thread%s\n", kernel, gflops, threads,
           threads == 1 ? "" : "s");
    /* peak - base is what training added to the process (the runtime, e.g.
     * libraries and OpenBLAS's buffers, is in base); model_MB is what the
     * model allocated: parameters, gradients, AdamW moments, activations. */
    printf("%8s %8s %7s %5s %5s %12s %12s %7s %10s %10s %10s%s\n", "n_layer", "d_model", "n_head",
           "ctx", "batch", "tokens/s", "GFLOP/s", "MFU", "peak_MB", "base_MB", "model_MB",
           sweep ? "  plan_share" : "");
    for (int i = 0; i < n; i++) {
        printf("%8d %8d %7d %5d %5d %12.1f %12.2f %6.1f%% %10.1f %10.1f %10.1f", rows[i].n_layer,
               rows[i].d_model, rows[i].n_head, rows[i].n_ctx, rows[i].batch, rows[i].tokens_per_s,
               rows[i].model_flops_per_s / 1e9, 100 * rows[i].mfu, rows[i].peak_mem_bytes / 1e6,
               rows[i].base_mem_bytes / 1e6, rows[i].model_mem_bytes / 1e6);
        if (sweep) printf(" %10.1f%%", 100 * weight[i] / wsum);
        printf("\n");
    }
    if (sweep) printf("plan MFU %.1f%% (the plan's compute at these rates)\n", 100 * plan_mfu);
    return EXIT_OK;
}
