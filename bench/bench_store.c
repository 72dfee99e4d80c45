/*
 * bench_store.c — what logging to the results database costs a training run.
 *
 *   bench_store [ROWS] [STEP_MS]
 *
 * 1. store_add_step, ROWS rows (default 200000) with the default flush policy
 *    (every 256 rows or 2 s): amortised microseconds per row.
 * 2. store_add_eval, one committed transaction each: microseconds per eval.
 * 3. A simulated training loop: steps of about STEP_MS ms of arithmetic
 *    (default 3), one step row each and an eval every 50 steps, timed in
 *    alternating blocks with and without logging; the overhead in percent.
 * The database lives in a fresh mkdtemp directory under /tmp, removed after.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../results/store.h"

static volatile double sink;

/* CPU seconds of this process: less disturbed than wall time on a shared machine. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* About `iters` multiply-adds of work (the stand-in for a training step). */
static void work(long iters) {
    double a = 1.0, b = 1e-9;
    for (long i = 0; i < iters; i++)
        a = a * 0.9999999 + b;
    sink = a;
}

static void die(const char *what, const char *err) {
    fprintf(stderr, "bench_store: %s: %s\n", what, err);
    exit(1);
}

int main(int argc, char **argv) {
    long rows = argc > 1 ? atol(argv[1]) : 200000;
    double step_ms = argc > 2 ? atof(argv[2]) : 3.0;
    if (rows <= 0 || !(step_ms > 0)) {
        fprintf(stderr, "usage: bench_store [ROWS] [STEP_MS]\n");
        return 2;
    }
    char dir[] = "/tmp/bench_store.XXXXXX", path[64], err[UTIL_ERRLEN];
    if (!mkdtemp(dir)) die("mkdtemp", "failed");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    store *s = NULL;
    if (store_open(&s, path, STORE_CREATE, err, sizeof err)) die("open", err);
    store_run r;
    store_run_init(&r);
    snprintf(r.id, sizeof r.id, "bench");
    if (store_put_run(s, &r, err, sizeof err)) die("put_run", err);

    /* 1. Steps. */
    double t0 = util_now(), c0 = cpu_now();
    for (long i = 0; i < rows; i++)
        if (store_add_step(s, "bench", i, i * 4096, i * 1e9, 3.0 + 1.0 / (double)(i + 1), 1e-3, 0.5,
                           0.001 * (double)i, err, sizeof err))
            die("add_step", err);
    if (store_flush(s, err, sizeof err)) die("flush", err);
    double t_step = (util_now() - t0) / (double)rows, c_step = (cpu_now() - c0) / (double)rows;
    printf("store_add_step: %ld rows in %.3f s = %.2f us/row wall, %.2f us/row CPU (flush every "
           "256 rows or 2 s)\n",
           rows, t_step * (double)rows, t_step * 1e6, c_step * 1e6);

    /* 2. Evals, each its own committed transaction. */
    int nev = 500;
    t0 = util_now(), c0 = cpu_now();
    for (int i = 0; i < nev; i++)
        if (store_add_eval(s, "bench", i, (int64_t)i * 4096, i * 1e9, 3.0, 4.0, err, sizeof err))
            die("add_eval", err);
    double t_eval = (util_now() - t0) / nev, c_eval = (cpu_now() - c0) / nev;
    printf("store_add_eval: %d evals, %.1f us each wall, %.1f us CPU (one commit each, WAL, "
           "synchronous=NORMAL)\n",
           nev, t_eval * 1e6, c_eval * 1e6);

    /* 3. Calibrate the work loop to step_ms, then alternate blocks. */
    long iters = 100000;
    for (;;) {
        t0 = util_now();
        work(iters);
        double dt = util_now() - t0;
        if (dt > 0.02) {
            iters = (long)((double)iters * step_ms * 1e-3 / dt);
            break;
        }
        iters *= 2;
    }
    int blocks = 50, per = 20;
    double t_off = 0, t_on = 0, c_off = 0, c_on = 0;
    int64_t step = 0;
    for (int b = 0; b < blocks; b++) {
        t0 = util_now(), c0 = cpu_now();
        for (int i = 0; i < per; i++)
            work(iters);
        t_off += util_now() - t0, c_off += cpu_now() - c0;
        t0 = util_now(), c0 = cpu_now();
        for (int i = 0; i < per; i++, step++) {
            work(iters);
            if (store_add_step(s, "bench", rows + step, step, step * 1e9, 3.0, 1e-3, 0.5, 0, err,
                               sizeof err))
                die("add_step", err);
            if (step % 50 == 49 &&
                store_add_eval(s, "bench", rows + step, (int64_t)(rows + step) * 4096 + 1, 1.0, 3.0,
                               4.0, err, sizeof err))
                die("add_eval", err);
        }
        t_on += util_now() - t0, c_on += cpu_now() - c0;
    }
    int n = blocks * per;
    printf("simulated training, %d steps of %.2f ms (a step row each, an eval every 50), "
           "alternating blocks:\n"
           "  wall: without logging %.3f s, with %.3f s, overhead %+.2f%%\n"
           "  CPU:  without logging %.3f s, with %.3f s, overhead %+.2f%%\n"
           "  from (1)+(2): %.3f%% of a step (wall), %.3f%% (CPU)\n",
           n, t_off / n * 1e3, t_off, t_on, 100.0 * (t_on - t_off) / t_off, c_off, c_on,
           100.0 * (c_on - c_off) / c_off, 100.0 * (t_step + t_eval / 50) / (t_off / n),
           100.0 * (c_step + c_eval / 50) / (c_off / n));
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_store: could not remove %s\n", dir);
    return 0;
}
