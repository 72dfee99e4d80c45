/*
 * cmd_bench.c — `scaling bench`: this machine's sgemm rate and the training
 * throughput / MFU / memory of the standard shapes (model_bench_ex).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../model/model.h"
#include "cli.h"

static const char usage[] =
    "usage: scaling bench [--threads K] [--steps S] [--json]\n"
    "\n"
    "Measures OpenBLAS sgemm GFLOP/s at K threads (best of several reps, M=4096,\n"
    "N=K=256..1024), then trains each standard shape (n_layer, d_model, n_head) =\n"
    "(2,64,2) (4,128,4) (6,256,8) (8,512,8) for S timed steps of 16 x 256 byte\n"
    "tokens and prints tokens/s, model FLOP/s, MFU and memory.\n"
    "MFU = (6 (N + d_model n_vocab) + 12 n_layer n_ctx d_model) x tokens/s / sgemm FLOP/s.\n"
    "\n"
    "  --threads K   threads for sgemm and training (default 1)\n"
    "  --steps S     timed steps per shape (default 5)\n"
    "  --json        one JSON object instead of the table\n";

int cmd_bench(int argc, char **argv) {
    long long threads = 1, steps = 5;
    int json = 0;
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                         {"steps", required_argument, 0, 's'},
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
    double gflops = 0;
    char kernel[64], err[UTIL_ERRLEN];
    model_bench_row rows[MODEL_BENCH_MAX];
    int n = 0;
    if (!json) {
        printf("# threads %lld, %lld timed steps per shape, batch 16 x ctx 256, byte vocab\n",
               threads, steps);
        fflush(stdout);
    }
    int rc = model_bench_ex((int)threads, (int)steps, &gflops, kernel, rows, &n, err, sizeof err);
    if (rc) return cli_fail("bench", "%s", err);
    if (json) {
        printf("{\"kernel\": \"%s\", \"threads\": %lld, \"sgemm_gflops\": %.3f, \"shapes\": [",
               kernel, threads, gflops);
        for (int i = 0; i < n; i++)
            printf("%s{\"n_layer\": %d, \"d_model\": %d, \"n_head\": %d, \"tokens_per_s\": %.1f, "
                   "\"model_gflops\": %.3f, \"mfu\": %.4f, \"peak_mem_bytes\": %.0f, "
                   "\"base_mem_bytes\": %.0f, \"model_mem_bytes\": %.0f}",
                   i ? ", " : "", rows[i].n_layer, rows[i].d_model, rows[i].n_head,
                   rows[i].tokens_per_s, rows[i].model_flops_per_s / 1e9, rows[i].mfu,
                   rows[i].peak_mem_bytes, rows[i].base_mem_bytes, rows[i].model_mem_bytes);
        printf("]}\n");
        return EXIT_OK;
    }
    printf("openblas kernel %s, sgemm %.1f GFLOP/s\n", kernel, gflops);
    /* peak - base is what training added to the process (the runtime, e.g.
     * libraries and OpenBLAS's buffers, is in base); model_MB is what the
     * model allocated: parameters, gradients, AdamW moments, activations. */
    printf("%8s %8s %7s %12s %12s %7s %10s %10s %10s\n", "n_layer", "d_model", "n_head", "tokens/s",
           "GFLOP/s", "MFU", "peak_MB", "base_MB", "model_MB");
    for (int i = 0; i < n; i++)
        printf("%8d %8d %7d %12.1f %12.2f %6.1f%% %10.1f %10.1f %10.1f\n", rows[i].n_layer,
               rows[i].d_model, rows[i].n_head, rows[i].tokens_per_s,
               rows[i].model_flops_per_s / 1e9, 100 * rows[i].mfu, rows[i].peak_mem_bytes / 1e6,
               rows[i].base_mem_bytes / 1e6, rows[i].model_mem_bytes / 1e6);
    return EXIT_OK;
}
