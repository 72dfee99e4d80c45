/*
 * test_run.c — the run module: `scaling train`'s flag table read back from
 * the worker command line it writes (every field, bit for bit), the exit
 * codes and status a training outcome gives, and (through the `scaling`
 * binary) the row a sweep registers for a run equal, column by column, to
 * the row `scaling train --db` writes for the same configuration, and the
 * rows a whole `scaling sweep` leaves equal to those of the same worker
 * started by hand. Fixtures go into a mkdtemp directory.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../data/data.h"
#include "../results/store.h"
#include "../run/run.h"
#include "../sweep/sweep.h"
#include "testlib.h"

static char tmp[256];
static char datadir[512];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A directory of 16 small pseudo-English documents, prepared byte-level. */
static void make_data(void) {
    snprintf(tmp, sizeof tmp, "/tmp/test_run_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    char src[512];
    snprintf(src, sizeof src, "%s/text", tmp);
    mkdir(src, 0755);
    static const char *words[] = {"the", "of", "and", "a", "to", "in", "is", "was", "he", "for"};
    util_rng r;
    util_rng_seed(&r, 11, "test text");
    for (int d = 0; d < 16; d++) {
        char path[600], doc[4096];
        size_t n = 0;
        while (n < sizeof doc - 16) {
            const char *w = words[util_rng_below(&r, 10)];
            n += (size_t)snprintf(doc + n, sizeof doc - n, "%s%s", w,
                                  util_rng_below(&r, 12) == 0 ? ". " : " ");
        }
        snprintf(path, sizeof path, "%s/doc%02d.txt", src, d);
        write_file(path, doc);
    }
    snprintf(datadir, sizeof datadir, "%s/data", tmp);
    data_prepare_opts o;
    data_prepare_defaults(&o);
    o.tokenizer = DATA_TOK_BYTE;
    o.val_fraction = 0.1;
    o.min_ctx = 32;
    const char *inputs[] = {src};
    char err[UTIL_ERRLEN];
    cr_assert_eq(data_prepare(inputs, 1, NULL, datadir, &o, NULL, 0, err, sizeof err), 0, "%s",
                 err);
}

static void cleanup(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (tmp[0]) cr_assert_eq(system(cmd), 0);
}

TestSuite(run, .init = make_data, .fini = cleanup, .timeout = 600);

static const char *bin(void) {
    const char *b = getenv("SCALING_BIN");
    return b && *b ? b : SCALING_BIN;
}

/* ---- the flag table -------------------------------------------------------- */

static int flag_by_name(const char *arg) {
    if (strncmp(arg, "--", 2)) return -1;
    for (int f = 0; f < RUN_NFLAGS; f++)
        if (!strcmp(arg + 2, run_flags[f].name)) return f;
    return -1;
}

Test(run, worker_argv_reads_back_to_the_same_configuration) {
    run_config a, b;
    run_config_defaults(&a);
    model_train_config *g = &a.train;
    snprintf(g->data_dir, sizeof g->data_dir, "/some/data dir");
    g->shape = (model_shape){3, 48, 6, 200, 32, 0};
    g->batch = 8, g->micro_batch = 4, g->tokens = 123456, g->unique_tokens = 7777;
    g->lr = 0.1 + 0.2; /* not a short decimal: %.17g must carry every bit */
    g->min_lr_frac = 1.0 / 3, g->warmup = 0, g->schedule = SCHED_FIXED_COSINE;
    g->cycle_tokens = 99999, g->weight_decay = 0.07, g->grad_clip = 0.5;
    g->evals = 7, g->eval_windows = 9, g->patience = 2, g->log_every = 3;
    g->seed = 4000000000000000000ull, g->checkpoint_secs = 12.5, g->threads = 3;
    snprintf(g->checkpoint, sizeof g->checkpoint, "/tmp/x.ckpt");
    g->resume = 1;
    snprintf(a.id, sizeof a.id, "0123456789abcdef");
    snprintf(a.sweep, sizeof a.sweep, "sw"), snprintf(a.label, sizeof a.label, "iso");
    snprintf(a.mode, sizeof a.mode, "isoflop");
    snprintf(a.flops_count, sizeof a.flops_count, "6nd");
    a.compute_budget = 3.0e11 / 7, a.target_params = 1e6 / 3, a.target_total = 1;

    char **argv = run_worker_argv(&a, "/bin/scaling", "r.db");
    cr_assert_not_null(argv);
    cr_assert_str_eq(argv[0], "/bin/scaling");
    cr_assert_str_eq(argv[1], RUN_TRAIN_COMMAND);
    run_config_defaults(&b);
    int db = 0, quiet = 0;
    char err[UTIL_ERRLEN];
    for (int i = 2; argv[i]; i++) {
        int f = flag_by_name(argv[i]);
        cr_assert_geq(f, 0, "unknown flag %s", argv[i]);
        const char *val = run_flags[f].flags & RUN_FLAG_VALUE ? argv[++i] : NULL;
        if (run_flags[f].flags & RUN_FLAG_VALUE)
            cr_assert_not_null(val, "%s has no value", argv[i - 1]);
        if (f == RUN_F_DB) {
            cr_assert_str_eq(val, "r.db");
            db = 1;
        } else if (f == RUN_F_QUIET) {
            quiet = 1;
        } else {
            cr_assert_eq(run_flag_set(&b, (run_flag_id)f, val, err, sizeof err), 0, "%s", err);
        }
    }
    run_argv_free(argv);
    cr_assert(db && quiet);
    cr_assert_eq(memcmp(&a.train.shape, &b.train.shape, sizeof a.train.shape), 0);
    cr_assert_str_eq(b.train.data_dir, a.train.data_dir);
    cr_assert_eq(b.train.batch, 8);
    cr_assert_eq(b.train.micro_batch, 4);
    cr_assert_eq(b.train.tokens, 123456);
    cr_assert_eq(b.train.unique_tokens, 7777);
    cr_assert_eq(memcmp(&b.train.lr, &a.train.lr, sizeof(double)), 0, "lr %.17g", b.train.lr);
    cr_assert_eq(memcmp(&b.train.min_lr_frac, &a.train.min_lr_frac, sizeof(double)), 0);
    cr_assert_eq(b.train.warmup, 0);
    cr_assert_eq(b.train.schedule, SCHED_FIXED_COSINE);
    cr_assert_eq(b.train.cycle_tokens, 99999);
    cr_assert_eq(b.train.weight_decay, 0.07);
    cr_assert_eq(b.train.grad_clip, 0.5);
    cr_assert_eq(b.train.evals, 7);
    cr_assert_eq(b.train.eval_windows, 9);
    cr_assert_eq(b.train.patience, 2);
    cr_assert_eq(b.train.log_every, 3);
    cr_assert_eq(b.train.seed, 4000000000000000000ull);
    cr_assert_eq(b.train.checkpoint_secs, 12.5);
    cr_assert_eq(b.train.threads, 3);
    cr_assert_str_eq(b.train.checkpoint, "/tmp/x.ckpt");
    cr_assert_eq(b.train.resume, 1);
    cr_assert_str_eq(b.id, a.id);
    cr_assert_str_eq(b.sweep, "sw");
    cr_assert_str_eq(b.label, "iso");
    cr_assert_str_eq(b.mode, "isoflop");
    cr_assert_str_eq(b.flops_count, "6nd");
    cr_assert_eq(memcmp(&b.compute_budget, &a.compute_budget, sizeof(double)), 0);
    cr_assert_eq(memcmp(&b.target_params, &a.target_params, sizeof(double)), 0);
    cr_assert_eq(b.target_total, 1);
    /* the same run id: the configuration hashes to the same bits */
    char ia[17], ib[17];
    model_run_id(&a.train, ia);
    model_run_id(&b.train, ib);
    cr_assert_str_eq(ia, ib);
}

/* A WSD trunk's and a branch's flags read back: cooldown and its shape (only
 * for wsd), the fork point, and the kept fork points as one comma list. */
Test(run, wsd_trunk_and_branch_flags_read_back) {
    run_config a, b;
    char err[UTIL_ERRLEN];
    for (int branch = 0; branch < 2; branch++) {
        run_config_defaults(&a);
        model_train_config *g = &a.train;
        snprintf(g->data_dir, sizeof g->data_dir, "d");
        g->shape = (model_shape){1, 16, 2, 64, 16, 0};
        g->tokens = 64000, g->schedule = SCHED_WSD, g->cooldown = 0.25;
        g->cooldown_shape = COOLDOWN_LINEAR;
        if (branch) {
            snprintf(g->fork_parent, sizeof g->fork_parent, "00112233aabbccdd");
            g->fork_tokens = 4096;
        } else {
            g->keep_tokens[0] = 1024, g->keep_tokens[1] = 4096, g->nkeep = 2;
        }
        char **argv = run_worker_argv(&a, "/bin/scaling", "r.db");
        cr_assert_not_null(argv);
        run_config_defaults(&b);
        int nkeepflags = 0;
        for (int i = 2; argv[i]; i++) {
            int f = flag_by_name(argv[i]);
            cr_assert_geq(f, 0, "unknown flag %s", argv[i]);
            const char *val = run_flags[f].flags & RUN_FLAG_VALUE ? argv[++i] : NULL;
            nkeepflags += f == RUN_F_KEEPAT;
            if (f == RUN_F_DB || f == RUN_F_QUIET) continue;
            cr_assert_eq(run_flag_set(&b, (run_flag_id)f, val, err, sizeof err), 0, "%s", err);
        }
        run_argv_free(argv);
        cr_assert_eq(nkeepflags, branch ? 0 : 1);
        cr_assert_eq(b.train.schedule, SCHED_WSD);
        cr_assert_eq(b.train.cooldown, 0.25);
        cr_assert_eq(b.train.cooldown_shape, COOLDOWN_LINEAR);
        cr_assert_str_eq(b.train.fork_parent, a.train.fork_parent);
        cr_assert_eq(b.train.fork_tokens, a.train.fork_tokens);
        cr_assert_eq(b.train.nkeep, a.train.nkeep);
        for (int k = 0; k < a.train.nkeep; k++)
            cr_assert_eq(b.train.keep_tokens[k], a.train.keep_tokens[k]);
        char ia[17], ib[17];
        model_run_id(&a.train, ia);
        model_run_id(&b.train, ib);
        cr_assert_str_eq(ia, ib);
    }
    /* a cosine run writes no cooldown; a bad shape or list is named */
    run_config_defaults(&a);
    snprintf(a.train.data_dir, sizeof a.train.data_dir, "d");
    char **argv = run_worker_argv(&a, "/bin/scaling", NULL);
    for (int i = 0; argv[i]; i++)
        cr_assert_null(strstr(argv[i], "cooldown"), "%s", argv[i]);
    run_argv_free(argv);
    cr_assert_eq(run_flag_set(&b, RUN_F_COOLSHAPE, "cosine", err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "--cooldown-shape: expected 1-sqrt or linear"), "%s", err);
    cr_assert_eq(run_flag_set(&b, RUN_F_KEEPAT, "10,x", err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "--keep-at: expected token counts"), "%s", err);
}

Test(run, every_flag_is_accepted_by_scaling_train) {
    /* each name of the table is one of `scaling train`'s options: getopt
     * does not call it unrecognized (the run itself fails for want of the
     * other flags, which is not what is tested) */
    char out[4096];
    for (int f = 0; f < RUN_NFLAGS; f++) {
        tl_sh(out, sizeof out, "%s train --%s%s", bin(), run_flags[f].name,
              run_flags[f].flags & RUN_FLAG_VALUE ? " 1" : "");
        cr_assert_null(strstr(out, "unrecognized option"), "--%s: %s", run_flags[f].name, out);
        cr_assert_null(strstr(out, "unknown option"), "--%s: %s", run_flags[f].name, out);
    }
    tl_sh(out, sizeof out, "%s train --no-such-flag 1", bin());
    cr_assert(strstr(out, "unrecognized option"), "%s", out);
}

Test(run, flag_errors_name_the_flag_and_value) {
    run_config rc;
    run_config_defaults(&rc);
    char err[UTIL_ERRLEN];
    cr_assert_eq(run_flag_set(&rc, RUN_F_LAYERS, "2.5", err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "--layers: expected an integer in [1, 1024], got '2.5'"), "%s", err);
    cr_assert_eq(run_flag_set(&rc, RUN_F_FLOPSCOUNT, "6ND", err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "--flops-count"), "%s", err);
    cr_assert_eq(run_flag_set(&rc, RUN_F_TOKENS, "1e6", err, sizeof err), 0, "%s", err);
    cr_assert_eq(rc.train.tokens, 1000000);
}

Test(run, status_and_exit_codes_of_an_outcome) {
    cr_assert_str_eq(run_status_of(0, MODEL_DONE), "done");
    cr_assert_str_eq(run_status_of(0, MODEL_EARLY_STOPPED), "done");
    cr_assert_str_eq(run_status_of(0, MODEL_DIVERGED), "diverged");
    cr_assert_str_eq(run_status_of(UTIL_EIO, MODEL_DONE), "failed");
    cr_assert_eq(run_exit_of(0, MODEL_DONE), RUN_EXIT_OK);
    cr_assert_eq(run_exit_of(0, MODEL_DIVERGED), 3);
    cr_assert_eq(run_exit_of(UTIL_EINTR, MODEL_DONE), 4);
    cr_assert_eq(run_exit_of(UTIL_EIO, MODEL_DONE), RUN_EXIT_FAIL);
    cr_assert(run_status_finished(STORE_DONE) && run_status_finished(STORE_DIVERGED));
    cr_assert(!run_status_finished(STORE_PLANNED) && !run_status_finished(STORE_RUNNING) &&
              !run_status_finished(STORE_FAILED) && !run_status_finished(-1));
}

/* ---- the row --------------------------------------------------------------- */

/* Columns a run's row may differ in between two processes: when and where
 * it was started and ended, and with which build and BLAS kernel. */
static const char *const per_process_columns[] = {"started", "ended", "host", "git_rev",
                                                  "blas_kernel"};
/* Columns only the end of training writes (compared when `results`). */
static const char *const result_columns[] = {
    "status",        "final_train_loss", "final_val_loss",  "final_val_bpb",
    "best_val_loss", "tokens_done",      "final_val_tokens"};

static int in(const char *name, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return 1;
    return 0;
}

/* Asserts run id's rows in databases A and B equal in every column (by
 * name, type and bytes: reals bit for bit) but the per-process ones and,
 * unless `results`, the result columns. Returns the number compared. */
static int assert_same_row(const char *A, const char *B, const char *id, int results) {
    sqlite3 *db[2] = {NULL, NULL};
    sqlite3_stmt *st[2] = {NULL, NULL};
    const char *path[2] = {A, B};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(sqlite3_open_v2(path[k], &db[k], SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        cr_assert_eq(
            sqlite3_prepare_v2(db[k], "SELECT * FROM runs WHERE id = ?1", -1, &st[k], NULL),
            SQLITE_OK);
        sqlite3_bind_text(st[k], 1, id, -1, SQLITE_STATIC);
        cr_assert_eq(sqlite3_step(st[k]), SQLITE_ROW, "run %s not in %s", id, path[k]);
    }
    int n = sqlite3_column_count(st[0]), compared = 0;
    cr_assert_eq(n, sqlite3_column_count(st[1]));
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st[0], i);
        cr_assert_str_eq(name, sqlite3_column_name(st[1], i));
        if (in(name, per_process_columns, sizeof per_process_columns / sizeof *per_process_columns))
            continue;
        if (!results && in(name, result_columns, sizeof result_columns / sizeof *result_columns))
            continue;
        int t = sqlite3_column_type(st[0], i);
        cr_assert_eq(t, sqlite3_column_type(st[1], i), "column %s: types differ", name);
        if (t == SQLITE_FLOAT) {
            double a = sqlite3_column_double(st[0], i), b = sqlite3_column_double(st[1], i);
            cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "column %s: %.17g vs %.17g", name, a, b);
        } else if (t != SQLITE_NULL) {
            const void *a = sqlite3_column_blob(st[0], i);
            int la = sqlite3_column_bytes(st[0], i);
            const void *b = sqlite3_column_blob(st[1], i);
            int lb = sqlite3_column_bytes(st[1], i);
            cr_assert(la == lb && !memcmp(a, b, (size_t)la), "column %s: '%.*s' vs '%.*s'", name,
                      la, (const char *)a, lb, (const char *)b);
        }
        compared++;
    }
    for (int k = 0; k < 2; k++) {
        sqlite3_finalize(st[k]);
        sqlite3_close(db[k]);
    }
    /* every name in the lists is a real column: exactly they were skipped */
    size_t skipped = sizeof per_process_columns / sizeof *per_process_columns +
                     (results ? 0 : sizeof result_columns / sizeof *result_columns);
    cr_assert_eq((size_t)(n - compared), skipped);
    return compared;
}

static void get_status(const char *db, const char *id, char *status, size_t n) {
    store *s = NULL;
    store_run row;
    char err[UTIL_ERRLEN];
    cr_assert_eq(store_open(&s, db, STORE_READONLY, err, sizeof err), 0, "%s", err);
    store_run_init(&row);
    cr_assert_eq(store_get_run(s, id, &row, err, sizeof err), 0, "%s", err);
    snprintf(status, n, "%s", row.status);
    store_run_free_fields(&row);
    store_close(s);
}

/* Runs argv (stdout and stderr to a log file); returns its exit status. */
static int spawn(char **argv, const char *log) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(run, a_sweep_registers_the_row_scaling_train_writes) {
    char ini[600], text[2048], err[UTIL_ERRLEN];
    snprintf(ini, sizeof ini, "%s/one.ini", tmp);
    /* one IsoFLOP run with a parameter target: every bookkeeping column set */
    snprintf(text, sizeof text,
             "[sweep]\nname = one\nmode = isoflop\ndata = %s\nflops = kaplan\nn_ctx = 16\n"
             "batch = 4\nhead_size = 8\nlr = 3e-3\nevals = 2\neval_windows = 4\n"
             "checkpoint_secs = 60\n[iso]\nbudget = 2e7\nparams = 3000\n",
             datadir);
    write_file(ini, text);
    sweep_plan plan;
    cr_assert_eq(sweep_parse(ini, NULL, 0, NULL, &plan, err, sizeof err), 0, "%s", err);
    cr_assert_eq(plan.nruns, 1);
    const sweep_item *it = &plan.runs[0];
    cr_assert(isfinite(it->compute_budget) && isfinite(it->target_params));

    /* (1) what the sweep pool registers before it starts the worker */
    char dbA[600], dbB[600], dbC[600], ckpt[600], log[600];
    snprintf(dbA, sizeof dbA, "%s/a.db", tmp);
    snprintf(dbB, sizeof dbB, "%s/b.db", tmp);
    snprintf(dbC, sizeof dbC, "%s/c.db", tmp);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt", tmp);
    mkdir(ckpt, 0755);
    run_config rc;
    sweep_run_config(&plan, it, 1, ckpt, &rc);
    store *s = NULL;
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(store_open(&s, k ? dbB : dbA, STORE_CREATE, err, sizeof err), 0, "%s", err);
        cr_assert_eq(store_put_sweep(s, plan.name, "isoflop", plan.file_text, plan.plan_json, err,
                                     sizeof err),
                     0, "%s", err);
        if (!k) cr_assert_eq(run_register(s, &rc, &plan.data, err, sizeof err), 0, "%s", err);
        store_close(s);
    }
    char status[16];
    get_status(dbA, it->id, status, sizeof status);
    cr_assert_str_eq(status, "planned");

    /* (2) `scaling train --db` started with the worker's command line */
    char **argv = run_worker_argv(&rc, bin(), dbB);
    cr_assert_not_null(argv);
    snprintf(log, sizeof log, "%s/train.log", tmp);
    cr_assert_eq(spawn(argv, log), 0, "see %s", log);
    run_argv_free(argv);
    get_status(dbB, it->id, status, sizeof status);
    cr_assert_str_eq(status, "done");
    cr_assert_geq(assert_same_row(dbA, dbB, it->id, 0), 29);

    /* (3) the whole sweep leaves the row of (2), results included */
    char out[8192];
    cr_assert_eq(tl_sh(out, sizeof out, "%s sweep %s --db %s --threads 1 --quiet", bin(), ini, dbC),
                 0, "%s", out);
    cr_assert_geq(assert_same_row(dbC, dbB, it->id, 1), 35);
    sweep_plan_free(&plan);
}
