/*
 * bench.c — the throughput benchmark: this machine's sgemm rate through
 * OpenBLAS at the requested thread count (the MFU denominator), then a few
 * training steps (forward, backward, AdamW) of each shape on synthetic
 * tokens: the standard shapes at 16 sequences x 256 byte tokens per step,
 * or any list of shapes (the CLI's --shapes and --sweep).
 * MFU = model_flops_mfu(shape) x tokens/s / measured sgemm FLOP/s.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn.h"

static const int bench_shapes[][3] = {{2, 64, 2}, {4, 128, 4}, {6, 256, 8}, {8, 512, 8}};
#define NSHAPES (int)(sizeof bench_shapes / sizeof bench_shapes[0])

/* Process CPU seconds: on a machine shared with other jobs, a one-thread
 * benchmark timed in CPU time is not charged for the time it waited. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef double (*bench_clock)(void);

/* Best-of-reps sgemm rate for C (M,N) = A (M,K) . B (N,K)^T, the layout of
 * the training GEMMs, with M = 4096 (= 16 x 256 rows) and N = K in
 * 256..1024; the best over sizes and reps. */
static int sgemm_rate(int threads, bench_clock now, double *gflops, char *err, size_t errlen) {
    const int M = 4096, sizes[] = {256, 512, 1024};
    float *A = malloc(sizeof(float) * (size_t)M * 1024), *B = malloc(sizeof(float) * 1024 * 1024),
          *C = malloc(sizeof(float) * (size_t)M * 1024);
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory (sgemm benchmark)");
    }
    util_rng r;
    util_rng_seed(&r, 1, "bench-sgemm");
    for (size_t i = 0; i < (size_t)M * 1024; i++)
        A[i] = (float)util_rng_uniform(&r) - 0.5f;
    for (size_t i = 0; i < 1024 * 1024; i++)
        B[i] = (float)util_rng_uniform(&r) - 0.5f;
    openblas_set_num_threads(threads);
    double best = 0;
    for (int si = 0; si < 3; si++) {
        int N = sizes[si], K = sizes[si];
        int reps = si == 2 ? 3 : 5;
        for (int rep = 0; rep < reps; rep++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C,
                        N);
            double dt = now() - t0;
            double gf = 2.0 * M * N * K / dt / 1e9;
            if (gf > best) best = gf;
        }
    }
    free(A), free(B), free(C);
    *gflops = best;
    return 0;
}

/* Resident set now, bytes (from /proc/self/statm; 0 if unreadable). */
static double rss_now(void) {
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

/* Trains spec for `steps` timed steps (after one untimed) and fills row. */
static int bench_shape(const model_bench_spec *spec, int threads, int steps, bench_clock now,
                       double sgemm_gflops, model_bench_row *row, char *err, size_t errlen) {
    const model_shape s = spec->shape;
    const int B = spec->batch, T = s.n_ctx, V = s.n_vocab;
    memset(row, 0, sizeof *row);
    row->base_mem_bytes = rss_now();
    nn_gpt *g = NULL;
    int rc = nn_gpt_create(&g, &s, B, threads, err, errlen);
    if (rc) return rc;
    nn_gpt_init(g, 1);
    util_rng r;
    util_rng_seed(&r, 1, "bench-tokens");
    for (int j = 0; j < B * T; j++) {
        g->inputs[j] = (int)util_rng_below(&r, V);
        g->targets[j] = (int)util_rng_below(&r, V);
    }
    double t0 = 0;
    for (int st = 0; st <= steps; st++) { /* step 0 warms up, untimed */
        if (st == 1) t0 = now();
        nn_gpt_zero_grad(g);
        nn_gpt_forward(g, B);
        nn_gpt_backward(g, 1.0f / (B * T));
        double gn = nn_gpt_grad_norm(g);
        nn_gpt_adamw(g, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, gn > 1.0 ? (float)(1.0 / gn) : 1.0f,
                     st + 1);
    }
    double dt = now() - t0;
    row->n_layer = s.n_layer;
    row->d_model = s.d_model;
    row->n_head = s.n_head;
    row->n_ctx = T;
    row->batch = B;
    row->tokens_per_s = (double)steps * B * T / dt;
    row->model_flops_per_s = model_flops_mfu(&s) * row->tokens_per_s;
    row->mfu = row->model_flops_per_s / (sgemm_gflops * 1e9);
    row->model_mem_bytes = (double)nn_gpt_bytes(g);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    row->peak_mem_bytes = (double)ru.ru_maxrss * 1024.0;
    nn_gpt_free(g);
    return 0;
}

int model_bench_specs(const model_bench_spec *specs, int n, int threads, int steps, int cpu_time,
                      double *sgemm_gflops, char kernel[64], model_bench_row *rows, char *err,
                      size_t errlen) {
    bench_clock now = cpu_time ? cpu_now : util_now;
    if (threads < 1) threads = 1;
    if (steps < 1) steps = 1;
    for (int i = 0; i < n; i++) {
        int rc = model_shape_check(&specs[i].shape, err, errlen);
        if (rc) return rc;
        if (specs[i].batch < 1)
            return util_err(err, errlen, UTIL_EINVAL, "bench: batch must be >= 1, got %d",
                            specs[i].batch);
    }
    snprintf(kernel, 64, "%s", openblas_get_corename());
    int rc = sgemm_rate(threads, now, sgemm_gflops, err, errlen);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
        /* Each shape trains in its own child process so that its peak
         * resident set is its own, not the largest shape's so far. */
        int fd[2];
        if (pipe(fd) != 0) return util_err(err, errlen, UTIL_EIO, "bench: pipe failed");
        pid_t pid = fork();
        if (pid < 0) {
            close(fd[0]), close(fd[1]);
            return util_err(err, errlen, UTIL_EIO, "bench: fork failed");
        }
        if (pid == 0) {
            close(fd[0]);
            model_bench_row row;
            char e2[UTIL_ERRLEN];
            int crc =
                bench_shape(&specs[i], threads, steps, now, *sgemm_gflops, &row, e2, sizeof e2);
            ssize_t w = crc ? write(fd[1], e2, strlen(e2) + 1) : write(fd[1], &row, sizeof row);
            _exit(crc || w < 0 ? 1 : 0);
        }
        close(fd[1]);
        char buf[sizeof(model_bench_row) > UTIL_ERRLEN ? sizeof(model_bench_row) : UTIL_ERRLEN];
        size_t got = 0;
        ssize_t k;
        while (got < sizeof buf && (k = read(fd[0], buf + got, sizeof buf - got)) > 0)
            got += (size_t)k;
        close(fd[0]);
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || got != sizeof(model_bench_row)) {
            buf[sizeof buf - 1] = 0;
            return util_err(err, errlen, UTIL_EIO, "bench: shape %dx%d failed: %s",
                            specs[i].shape.n_layer, specs[i].shape.d_model,
                            got ? buf : "the benchmark process died");
        }
        memcpy(&rows[i], buf, sizeof(model_bench_row));
    }
    return 0;
}

int model_bench_standard(model_bench_spec *specs, int *n) {
    if (*n < NSHAPES) return UTIL_EINVAL;
    for (int i = 0; i < NSHAPES; i++)
        specs[i] = (model_bench_spec){.shape = {.n_layer = bench_shapes[i][0],
                                                .d_model = bench_shapes[i][1],
                                                .n_head = bench_shapes[i][2],
                                                .d_ff = 4 * bench_shapes[i][1],
                                                .n_ctx = 256,
                                                .n_vocab = 256},
                                      .batch = 16};
    *n = NSHAPES;
    return 0;
}
