/*
 * test_everyday.c — issue 17: the first afternoon of a new user, through the
 * CLI. Each test names the point it holds; each would have failed
 * before: sweeps that keep their runs under a second name (1), a plan that
 * changes says so and fits only its runs (2), no pooling of sweeps without
 * --sweep (3), `train` records into results.db (4), diverged runs said as
 * such (5), one vocabulary of flags and columns (6), the defaults a user
 * expects (7), `fit --csv` on the tool's own export (8), a live view (11),
 * one-document corpora (12), runs excluded with a reason (15).
 *
 * Each test makes its own mkdtemp directory, generated corpus and tiny
 * sweep (six runs of seconds), so the tests stay independent.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"
#include "testlib.h"

static char dir[256];
static char out[1 << 16];
#define S SCALING_BIN

/* Runs a shell command in the test directory; its exit code, output in `out`. */
#define sh(...) tl_sh_in(dir, out, sizeof out, __VA_ARGS__)

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* Number of lines of `out` that contain needle. */
static int count_lines(const char *needle) {
    int n = 0;
    for (const char *p = out; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        n += strstr(line, needle) != NULL;
        p = e ? e + 1 : NULL;
    }
    return n;
}

/* Pseudo-English documents (a Markov-ish chain over a small vocabulary). */
static void write_corpus(void) {
    static const char *words[] = {"the", "of",   "and", "to",   "a",  "in",   "that",
                                  "is",  "was",  "he",  "for",  "it", "with", "as",
                                  "his", "on",   "be",  "at",   "by", "had",  "are",
                                  "but", "from", "or",  "have", "an", "they", "which"};
    int nw = (int)(sizeof words / sizeof words[0]);
    char path[512];
    snprintf(path, sizeof path, "%s/corpus", dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    util_rng r;
    util_rng_seed(&r, 5, "everyday-corpus");
    for (int d = 0; d < 60; d++) {
        snprintf(path, sizeof path, "%s/corpus/doc%03d.txt", dir, d);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        int prev = 0;
        for (int s = 0; s < 40; s++) {
            int len = 6 + (int)util_rng_below(&r, 10);
            for (int w = 0; w < len; w++) {
                double u = util_rng_uniform(&r);
                int k = u < 0.5 ? (prev * 7 + 3) % nw : (int)(nw * u * u);
                fprintf(f, w ? " %s" : "%s", words[k]);
                prev = k;
            }
            fputs(".\n", f);
        }
        fclose(f);
    }
}

static const char *tiny_ini = "[sweep]\n"
                              "name = tiny\n"
                              "mode = isoflop\n"
                              "data = data\n"
                              "description = two budgets, three sizes\n"
                              "n_ctx = 32\n"
                              "batch = 8\n"
                              "head_size = 8\n"
                              "lr = 3e-3\n"
                              "warmup_frac = 0.1\n"
                              "evals = 3\n"
                              "eval_windows = 16\n"
                              "log_every = 5\n"
                              "seed = 1\n"
                              "\n"
                              "[iso]\n"
                              "budget = 2e9, 8e9\n"
                              "shapes = 1x8, 1x16, 2x24\n";

/* A directory with data/ prepared and tiny.ini; with `run`, the sweep trained into r.db. */
static void setup(int run) {
    snprintf(dir, sizeof dir, "/tmp/scaling-everyday-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    write_corpus();
    cr_assert_eq(sh("%s data prepare corpus --out data --ctx 64", S), 0, "%s", out);
    write_file("tiny.ini", tiny_ini);
    if (run) cr_assert_eq(sh("%s sweep tiny.ini --db r.db --quiet -j 2", S), 0, "%s", out);
}

static void teardown(void) {
    if (dir[0] && !getenv("SCALING_TEST_KEEP")) tl_sh(out, sizeof out, "rm -rf '%s'", dir);
}
static void setup_run(void) {
    setup(1);
}
static void setup_data(void) {
    setup(0);
}

/* Runs in the Kaplan fit of `sweep` ("Kaplan laws, N runs"), -1 if not printed. */
static int fitted_runs(const char *sweep) {
    if (sh("%s fit --db r.db --sweep %s --approach kaplan --bootstrap 0 --no-store", S, sweep))
        return -1;
    const char *p = strstr(out, "Kaplan laws, ");
    int n = -1;
    if (p) sscanf(p + strlen("Kaplan laws, "), "%d", &n);
    return n;
}

/* ---- 1. a sweep re-run under a new name keeps its runs ----------------- */
Test(everyday, p1_rerun_under_new_name_keeps_runs, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s sweep tiny.ini name=other --db r.db --quiet", S), 0, "%s", out);
    cr_assert_eq(sh("%s status --db r.db --sweep tiny", S), 0, "%s", out);
    cr_assert(strstr(out, "6 runs: 6 done"), "the first sweep lost its runs:\n%s", out);
    cr_assert_eq(sh("%s status --db r.db --sweep other", S), 0, "%s", out);
    cr_assert(strstr(out, "6 runs: 6 done"), "%s", out);
    cr_assert_eq(fitted_runs("tiny"), 6, "%s", out);
    cr_assert_eq(fitted_runs("other"), 6, "%s", out);
    /* the membership table holds both */
    cr_assert_eq(sh("%s query \"SELECT count(*) FROM sweep_runs\" --db r.db --csv", S), 0);
    cr_assert(strstr(out, "\n12"), "%s", out);
    /* and `runs --sweep other` shows them under the sweep asked for */
    cr_assert_eq(sh("%s runs --db r.db --sweep other --csv", S), 0, "%s", out);
    cr_assert_eq(count_lines(",other,"), 6, "%s", out);
}

/* ---- 2. an override that changes the plan says so; fits take the plan -- */
Test(everyday, p2_changed_plan_is_named_and_fits_take_it, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s sweep tiny.ini lr=1e-2 --db r.db --quiet 2>&1", S), 0, "%s", out);
    cr_assert(strstr(out, "this plan changes sweep tiny") && strstr(out, "name=..."), "%s", out);
    /* 12 runs in the database, 6 in the sweep's plan: the fit sees 6 */
    cr_assert_eq(sh("%s query \"SELECT count(*) FROM runs\" --db r.db --csv", S), 0);
    cr_assert(strstr(out, "\n12"), "%s", out);
    cr_assert_eq(fitted_runs("tiny"), 6, "lr 3e-3 and 1e-2 pooled: %s", out);
    cr_assert_eq(sh("%s runs --db r.db --sweep tiny --csv", S), 0, "%s", out);
    cr_assert_eq(count_lines(",tiny,"), 6, "%s", out);
}

/* ---- 3. no pooling of sweeps without --sweep --------------------------- */
Test(everyday, p3_several_sweeps_need_sweep, .init = setup_run, .fini = teardown) {
    /* one sweep: it is the default */
    cr_assert_eq(sh("%s fit --db r.db --approach kaplan --bootstrap 0 --no-store", S), 0, "%s",
                 out);
    write_file("wide.ini",
               "[sweep]\nname = wide\nmode = grid\ndata = data\nn_ctx = 16\n"
               "batch = 4\nhead_size = 8\nlr = 3e-3\nevals = 1\neval_windows = 4\nshapes = 1x8\n"
               "tokens = 2000\n");
    cr_assert_eq(sh("%s sweep wide.ini --db r.db --quiet", S), 0, "%s", out);
    const char *cmds[] = {"fit --approach kaplan --bootstrap 0", "plot --bootstrap 0",
                          "report --bootstrap 0"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sh("%s %s --db r.db", S, cmds[i]), 2, "%s: %s", cmds[i], out);
        cr_assert(strstr(out, "2 sweeps (tiny, wide)") && strstr(out, "--sweep NAME"), "%s: %s",
                  cmds[i], out);
    }
    /* a sweep that does not exist: the ones that do are listed */
    cr_assert_eq(sh("%s fit --db r.db --sweep tyni", S), 1, "%s", out);
    cr_assert(strstr(out, "no sweep named 'tyni' (sweeps there: tiny, wide)"), "%s", out);
}

/* ---- 4. `scaling train` records into results.db by default ------------- */
Test(everyday, p4_train_writes_results_db, .init = setup_data, .fini = teardown) {
    /* the sweep files' names of the shape flags are accepted too (6.) */
    cr_assert_eq(sh("%s train --data data --n_layer 1 --d_model 8 --n_head 1 --n_ctx 16 "
                    "--batch 4 --tokens 640 --evals 1 --eval-windows 4 --quiet",
                    S),
                 0, "%s", out);
    cr_assert_eq(sh("test -s results.db"), 0, "scaling train wrote no results.db");
    cr_assert_eq(sh("%s runs --csv", S), 0, "%s", out);
    cr_assert_eq(count_lines(",done,"), 1, "%s", out);
    /* --no-db records nothing */
    cr_assert_eq(sh("rm results.db && %s train --data data --layers 1 --d-model 8 --heads 1 "
                    "--ctx 16 --batch 4 --tokens 640 --evals 1 --eval-windows 4 --quiet --no-db "
                    "&& test ! -e results.db",
                    S),
                 0, "%s", out);
}

/* ---- 5. diverged runs are said as such --------------------------------- */
Test(everyday, p5_all_diverged_is_a_failure, .init = setup_data, .fini = teardown) {
    write_file("div.ini",
               "[sweep]\nname = div\nmode = grid\ndata = data\nn_ctx = 16\n"
               "batch = 4\nhead_size = 8\nlr = 100\nwarmup = 0\nevals = 2\neval_windows = 4\n"
               "shapes = 1x16, 2x16\ntokens = 20000\n");
    cr_assert_eq(sh("%s sweep div.ini --db r.db --quiet 2>&1", S), 1, "%s", out);
    cr_assert(strstr(out, "0 of 2 runs done, 2 diverged"), "%s", out);
    cr_assert(strstr(out, "warm-up") && strstr(out, "no run of sweep div trained"), "%s", out);
    cr_assert_eq(sh("%s status --db r.db", S), 0, "%s", out);
    cr_assert(strstr(out, "2 runs: 0 done"), "%s", out);
    /* the label line says done as the header does, and the FLOPs are the trained ones */
    cr_assert(strstr(out, "      2     0 "), "label line: %s", out);
    cr_assert(!strstr(out, "(100.0%)"), "diverged runs stopped early: %s", out);
}

/* ---- 5. --retry diverged: the same runs with a longer warm-up ---------- */
#define DIV_INI                                                                                    \
    "[sweep]\nname = div\nmode = grid\ndata = data\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"        \
    "warmup = 0\nevals = 2\neval_windows = 4\ntokens = 20000\n"

/* The warm-ups of the runs in sweep div's plan, "W W\n" in id order, into buf. */
static void plan_warmups(char *buf, size_t n) {
    cr_assert_eq(
        sh("%s query \"SELECT group_concat(warmup, ' ') FROM (SELECT warmup FROM runs WHERE id "
           "IN (SELECT run_id FROM sweep_runs WHERE sweep = 'div' AND in_plan = 1) "
           "ORDER BY id)\" --db r.db --csv",
           S),
        0, "%s", out);
    const char *nl = strchr(out, '\n');
    snprintf(buf, n, "%s", nl ? nl + 1 : "");
}

Test(everyday, p5_retry_diverged, .init = setup_data, .fini = teardown) {
    static char runs[sizeof out];
    char w[64];
    write_file("div.ini", DIV_INI "lr = 100\nshapes = 1x16, 2x16\n");
    cr_assert_eq(sh("%s sweep div.ini --db r.db --quiet 2>&1", S), 1, "%s", out);
    cr_assert(strstr(out, "--retry diverged"), "the hint names the retry: %s", out);
    /* the retry says what changes; at lr 100 the runs diverge again, said the same way */
    cr_assert_eq(sh("%s sweep div.ini --db r.db --retry diverged --quiet 2>&1", S), 1, "%s", out);
    cr_assert_eq(count_lines("): warmup 0 -> 50 steps, as run "), 2, "%s", out);
    cr_assert(strstr(out, "(1x16, ") && strstr(out, "(2x16, "), "%s", out);
    cr_assert(strstr(out, "0 of 2 runs done, 2 diverged"), "%s", out);
    plan_warmups(w, sizeof w);
    cr_assert_str_eq(w, "50 50\n");
    /* the originals stay in the database with the reason, out of the plan */
    cr_assert_eq(sh("%s runs --db r.db --csv", S), 0, "%s", out);
    cr_assert_eq(count_lines(",diverged,"), 4, "%s", out);
    cr_assert_eq(count_lines("diverged; retried as "), 2, "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --sweep div --csv", S), 0, "%s", out);
    cr_assert_eq(count_lines(",div,"), 2, "%s", out);
    cr_assert_eq(count_lines("retried as"), 0, "%s", out);
    snprintf(runs, sizeof runs, "%s", out);
    cr_assert_eq(sh("%s status --db r.db --sweep div", S), 0, "%s", out);
    cr_assert(strstr(out, "2 runs: 0 done") && strstr(out, "2 diverged"), "%s", out);
    /* the plan is remembered: the same command without --retry keeps it */
    cr_assert_eq(sh("%s sweep div.ini --db r.db --quiet 2>&1", S), 1, "%s", out);
    cr_assert(!strstr(out, "this plan changes") && !strstr(out, " start "), "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --sweep div --csv", S), 0, "%s", out);
    cr_assert_str_eq(out, runs);
    /* a second retry doubles again */
    cr_assert_eq(sh("%s sweep div.ini --db r.db --retry diverged --quiet 2>&1", S), 1, "%s", out);
    cr_assert_eq(count_lines("): warmup 50 -> 100 steps, as run "), 2, "%s", out);
    plan_warmups(w, sizeof w);
    cr_assert_str_eq(w, "100 100\n");
    /* overrides that change the runs already replace them: said, not retried */
    cr_assert_eq(sh("%s sweep div.ini lr=1e-3 --db r.db --retry diverged --dry-run --no-estimate "
                    "2>&1",
                    S),
                 0, "%s", out);
    cr_assert_eq(count_lines("not retried: the overrides already change its configuration"), 2,
                 "%s", out);
}

Test(everyday, p5_retry_trains_and_fits_see_it, .init = setup_data, .fini = teardown) {
    /* lr 1 diverges without a warm-up and trains with 50 steps of it */
    write_file("div.ini", DIV_INI "lr = 1\nshapes = 1x16, 2x16, 3x16\n");
    cr_assert_eq(sh("%s sweep div.ini --db r.db --quiet 2>&1", S), 1, "%s", out);
    cr_assert(strstr(out, "0 of 3 runs done, 3 diverged"), "%s", out);
    cr_assert_eq(sh("%s sweep div.ini --db r.db --retry diverged --quiet 2>&1", S), 0, "%s", out);
    cr_assert_eq(count_lines("): warmup 0 -> 50 steps"), 3, "%s", out);
    cr_assert(strstr(out, "3 of 3 runs done, 0 diverged"), "%s", out);
    cr_assert_eq(sh("%s status --db r.db --sweep div", S), 0, "%s", out);
    cr_assert(strstr(out, "3 runs: 3 done"), "%s", out);
    cr_assert_eq(fitted_runs("div"), 3, "%s", out);
    /* nothing left to retry: said, exit 0 */
    cr_assert_eq(sh("%s sweep div.ini --db r.db --retry diverged 2>&1", S), 0, "%s", out);
    cr_assert(strstr(out, "nothing to retry"), "%s", out);
}

/* ---- 6. one vocabulary ------------------------------------------------- */
Test(everyday, p6_one_vocabulary, .init = setup_run, .fini = teardown) {
    static char a[sizeof out];
    cr_assert_eq(sh("%s export --db r.db --format json --table evals", S), 0, "%s", out);
    snprintf(a, sizeof a, "%s", out);
    cr_assert_eq(sh("%s export --db r.db --json --table evals", S), 0, "%s", out);
    cr_assert_str_eq(a, out);
    cr_assert_eq(sh("%s runs --db r.db --format csv", S), 0, "%s", out);
    snprintf(a, sizeof a, "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --csv", S), 0, "%s", out);
    cr_assert_str_eq(a, out);
    /* the runs listing's columns are the database's */
    cr_assert(strstr(out, "params_nonembedding") && !strstr(out, "params_nonemb,") &&
                  !strstr(out, "shape"),
              "%s", out);
    /* one set of fit defaults: plot and report say what fit uses */
    cr_assert_eq(sh("%s help report", S), 0);
    cr_assert(strstr(out, "default 200") && strstr(out, "default 20240417"), "%s", out);
    cr_assert_eq(sh("%s fit --db r.db --approach kaplan --no-store", S), 0, "%s", out);
    cr_assert(strstr(out, "200 bootstrap resamples (seed 20240417)"), "%s", out);
}

/* ---- 7. the defaults a user expects ------------------------------------- */
Test(everyday, p7_help_suggests_and_prints_no_format_escapes) {
    char o[8192];
    cr_assert_eq(tl_sh(o, sizeof o, "%s help sweeep", S), 2);
    cr_assert(strstr(o, "did you mean 'sweep'"), "%s", o);
    cr_assert_eq(tl_sh(o, sizeof o, "%s hlep", S), 2);
    cr_assert(strstr(o, "did you mean 'help'"), "%s", o);
    static const char *cmds[] = {"data",  "train",  "bench", "sweep", "status",  "runs", "curve",
                                 "query", "export", "merge", "fit",   "predict", "plot", "report"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(tl_sh(o, sizeof o, "%s help %s", S, cmds[i]), 0, "%s", cmds[i]);
        cr_assert(!strstr(o, "%%"), "help %s prints a format escape:\n%s", cmds[i], o);
    }
}

Test(everyday, p7_run_prefixes_one_csv_table_lookups, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s query \"SELECT id FROM runs ORDER BY id LIMIT 1\" --db r.db --csv", S), 0);
    char id[17] = "";
    cr_assert_eq(sscanf(strchr(out, '\n') + 1, "%16s", id), 1, "%s", out);
    /* a unique prefix of 6 characters finds the run */
    cr_assert_eq(sh("%s curve %.6s --db r.db", S, id), 0, "%s", out);
    char want[64];
    snprintf(want, sizeof want, "run %s", id);
    cr_assert(strstr(out, want), "%s", out);
    /* one CSV table: the evals, or the steps with --steps */
    cr_assert_eq(sh("%s curve %.6s --db r.db --csv", S, id), 0, "%s", out);
    cr_assert(!strncmp(out, "step,tokens,flops,val_loss,val_bpb\n", 35), "%s", out);
    cr_assert_eq(count_lines("step,"), 1, "%s", out);
    cr_assert_eq(sh("%s curve %.6s --db r.db --csv --steps", S, id), 0, "%s", out);
    cr_assert(!strncmp(out, "step,tokens,flops,train_loss,", 29), "%s", out);
    cr_assert_eq(count_lines("step,"), 1, "%s", out);
    /* a missing run: some that exist are named */
    cr_assert_eq(sh("%s curve zzzz --db r.db", S), 1, "%s", out);
    cr_assert(strstr(out, "unknown run id 'zzzz'") && strstr(out, "latest runs: "), "%s", out);
    /* plot without --figure and --out: every figure into out/<sweep>/ */
    cr_assert_eq(sh("%s plot --db r.db --bootstrap 0 --a3-starts 8", S), 0, "%s", out);
    cr_assert_eq(sh("test -s out/tiny/chinchilla-isoflop.svg"), 0, "%s", out);
}

Test(everyday, p7_sweep_file_reports_every_error, .init = setup_data, .fini = teardown) {
    write_file("bad.ini", "[sweep]\nname = bad\nmode = grid\ndata = data\nn_ctx = 16\n"
                          "batch = 4\nlearning_rate = 3e-3\nn_layers = 2\nshapes = 1x8\n"
                          "tokens = 2000\n");
    cr_assert_eq(sh("%s sweep bad.ini --dry-run --no-estimate", S), 1, "%s", out);
    cr_assert(strstr(out, "bad.ini:7: unknown key 'learning_rate'"), "%s", out);
    cr_assert(strstr(out, "bad.ini:8: unknown key 'n_layers'; did you mean 'n_layer'?"), "%s", out);
}

/* ---- 8. fit --csv reads the tool's own export --------------------------- */
Test(everyday, p8_fit_reads_export_csv, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s export --db r.db --format csv --out runs.csv", S), 0, "%s", out);
    cr_assert_eq(sh("%s fit --csv runs.csv --approach kaplan --bootstrap 0", S), 0, "%s", out);
    cr_assert(strstr(out, "6 runs from runs.csv"), "%s", out);
    /* an excluded run is set aside from the CSV as from the database */
    cr_assert_eq(sh("%s runs --db r.db --exclude $(%s query \"SELECT id FROM runs LIMIT 1\" "
                    "--db r.db --csv | tail -1) --why test",
                    S, S),
                 0, "%s", out);
    cr_assert_eq(sh("%s export --db r.db --csv > runs2.csv && %s fit --csv runs2.csv --approach "
                    "kaplan --bootstrap 0",
                    S, S),
                 0, "%s", out);
    cr_assert(strstr(out, "5 runs from runs2.csv"), "%s", out);
}

/* ---- 11. a live view ---------------------------------------------------- */
Test(everyday, p11_live_losses_and_follow, .init = setup_data, .fini = teardown) {
    write_file("long.ini",
               "[sweep]\nname = long\nmode = grid\ndata = data\nn_ctx = 32\n"
               "batch = 8\nhead_size = 8\nlr = 3e-3\nevals = 4\neval_windows = 8\nlog_every = 5\n"
               "shapes = 2x32\ntokens = 1200000\n");
    /* 1.2M tokens: a few seconds even on a fast machine; the pool reads the
     * running losses twice a second (sweep_run.c) and a live line needs one */
    /* a log (not a terminal) gets "running" lines with the run's latest loss */
    cr_assert_eq(sh("SCALING_LIVE_EVERY=0.5 %s sweep long.ini --db r.db", S), 0, "%s", out);
    cr_assert(count_lines(" running  ") >= 1, "no live line:\n%s", out);
    const char *p = strstr(out, " running  ");
    char id[9];
    double loss;
    cr_assert(p && sscanf(p + 10, "%8s %lf", id, &loss) == 2 && loss > 0 && loss < 10, "%s", out);
    /* curve --follow: the evals, the loss plot, and the end of the run */
    cr_assert_eq(sh("%s curve %s --follow --db r.db --interval 0.1", S, id), 0, "%s", out);
    /* evals = 4 (log-spaced, the last the end), plus the dense tail over the
     * last 80% (model/train.c eval_points): 8 */
    cr_assert_eq(count_lines("eval  tokens"), 8, "%s", out);
    cr_assert(strstr(out, "train loss ") && strstr(out, "\u2581") && strstr(out, ": done"), "%s",
              out);
}

/* ---- 12. one-document corpora are split by position --------------------- */
Test(everyday, p12_one_document_corpus, .init = setup_data, .fini = teardown) {
    cr_assert_eq(sh("tr '\\n' ' ' < corpus/doc000.txt > one.txt && for i in 1 2 3 4 5 6 7 8; do "
                    "cat corpus/doc00$i.txt | tr '\\n' ' ' >> one.txt; done"),
                 0, "%s", out);
    cr_assert_eq(sh("%s data prepare one.txt --out d1 --ctx 32 2>&1", S), 0, "%s", out);
    cr_assert(strstr(out, "only one document") && strstr(out, "split by position"), "%s", out);
    cr_assert_eq(sh("%s data info d1", S), 0, "%s", out);
    cr_assert(strstr(out, "by position"), "%s", out);
    /* documents, where they exist, are still held out whole */
    cr_assert_eq(sh("%s data info data", S), 0, "%s", out);
    cr_assert(strstr(out, "by document"), "%s", out);
    /* and --split document still refuses one document, naming the way out */
    cr_assert_eq(sh("%s data prepare one.txt --out d2 --ctx 32 --split document", S), 1, "%s", out);
    cr_assert(strstr(out, "--split position"), "%s", out);
}

/* ---- 15. a run excluded with a reason; the sweep's description ---------- */
Test(everyday, p15_exclude_with_reason, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s query \"SELECT id FROM runs ORDER BY id LIMIT 1\" --db r.db --csv", S), 0);
    char id[17] = "";
    cr_assert_eq(sscanf(strchr(out, '\n') + 1, "%16s", id), 1, "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --exclude %.5s", S, id), 2, "%s", out);
    cr_assert(strstr(out, "--why"), "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --exclude %.5s --why 'loss spike at step 40'", S, id), 0,
                 "%s", out);
    cr_assert_eq(fitted_runs("tiny"), 5, "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --csv", S), 0, "%s", out);
    cr_assert(strstr(out, ",loss spike at step 40"), "%s", out);
    cr_assert_eq(sh("%s report --db r.db --out rep --bootstrap 0 --a3-starts 8", S), 0, "%s", out);
    cr_assert_eq(sh("grep -c 'loss spike at step 40' rep/index.html"), 0, "%s", out);
    cr_assert_eq(sh("%s runs --db r.db --include %s", S, id), 0, "%s", out);
    cr_assert_eq(fitted_runs("tiny"), 6, "%s", out);
    /* the sweep file's description is stored */
    cr_assert_eq(sh("%s query \"SELECT description FROM sweeps\" --db r.db --csv", S), 0);
    cr_assert(strstr(out, "two budgets, three sizes"), "%s", out);
}

/* ---- 9. the report leads with the answer -------------------------------- */
Test(everyday, p9_report_leads_with_the_answer, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s report --db r.db --out rep --bootstrap 20 --a3-starts 16", S), 0, "%s",
                 out);
    /* the answer comes before the plan, the IsoFLOP figure (an isoflop
     * sweep's) before the other figures */
    cr_assert_eq(sh("grep -n -o 'id=\"answer\"\\|id=\"plan\"\\|id=\"fig-chinchilla-isoflop\"\\|"
                    "id=\"fig-kaplan-fig1\"' rep/index.html | cut -d: -f2 | tr '\\n' ' '"),
                 0, "%s", out);
    cr_assert(strstr(out, "id=\"answer\" id=\"fig-chinchilla-isoflop\" id=\"plan\" "
                          "id=\"fig-kaplan-fig1\""),
              "order: %s", out);
    cr_assert_eq(sh("sed -n '/id=\"answer\"/,/<\\/section>/p' rep/index.html"), 0, "%s", out);
    cr_assert(strstr(out, "approach 1") && strstr(out, "approach 3") &&
                  strstr(out, "tokens per parameter") && strstr(out, "IsoFLOP minima"),
              "%s", out);
    /* approach 2 on two budgets: an interval from the noise draws (eval
     * windows, the default bootstrap), or, where the draws are all the same
     * or too few, said so: never a bare value printed as certainty */
    const char *a2 = strstr(out, "Chinchilla approach 2"), *end = a2 ? strstr(a2, "</tr>") : NULL;
    const char *na = a2 ? strstr(a2, "interval n/a: ") : NULL, *iv = a2 ? strstr(a2, " [") : NULL;
    cr_assert(end && ((na && na < end) || (iv && iv < end)), "%s", out);
    /* the runs table sorts and each run links to its curve */
    cr_assert_eq(sh("grep -c 'table class=\"sortable\"' rep/index.html"), 0, "%s", out);
    cr_assert_eq(sh("grep -o 'href=\"#curve-[0-9a-f]*\"' rep/index.html | sort -u | wc -l"), 0);
    cr_assert(atoi(out) == 6, "%s", out);
    cr_assert_eq(sh("grep -o 'id=\"curve-[0-9a-f]*\"' rep/index.html | sort -u | wc -l"), 0);
    cr_assert(atoi(out) == 6, "%s", out);
}

/* ---- 9 and 10: the report and predict print the same numbers; predict
 * says how far it extrapolates and which intervals say nothing ----------- */
Test(everyday, p10_predict_extrapolation_and_na, .init = setup_run, .fini = teardown) {
    /* whole-run resampling: this tiny design gives zero-width intervals */
    cr_assert_eq(
        sh("%s fit --db r.db --approach 2 --bootstrap 20 --bootstrap-mode runs >/dev/null", S), 0,
        "%s", out);
    cr_assert_eq(sh("%s predict --db r.db --sweep tiny", S), 0, "%s", out);
    cr_assert(strstr(out, "within the fitted budgets (largest 8e+09 FLOPs)"), "%s", out);
    cr_assert(strstr(out, "interval n/a: zero width") || strstr(out, "intervals n/a: "), "%s", out);
    double tpp = 0;
    const char *p = strstr(out, "tokens_per_param");
    cr_assert(p && sscanf(p + 16, "%lf", &tpp) == 1, "%s", out);
    cr_assert_eq(sh("%s predict --db r.db --sweep tiny --compute 8e12", S), 0, "%s", out);
    cr_assert(strstr(out, "1e+03\u00d7 beyond the largest fitted budget (8e+09 FLOPs)"), "%s", out);
    cr_assert_eq(sh("%s predict --db r.db --sweep tiny --json --compute 8e12", S), 0, "%s", out);
    cr_assert(strstr(out, "\"extrapolation\":\t1000") &&
                  (strstr(out, "\"interval_na\"") || strstr(out, "\"intervals_na\"")),
              "%s", out);
    /* the report's headline shows the same tokens per parameter for approach 2 */
    cr_assert_eq(sh("%s report --db r.db --out rep --bootstrap 20 --a3-starts 16", S), 0, "%s",
                 out);
    char want[64];
    snprintf(want, sizeof want, "<td class=\"n\">%.3g ", tpp); /* then its interval or n/a */
    cr_assert_eq(sh("sed -n '/Chinchilla approach 2/,/<\\/tr>/p' rep/index.html"), 0);
    cr_assert(strstr(out, want), "want %s in %s", want, out);
}

/* A noise bootstrap of a single-seed sweep redraws the evaluation set only:
 * predict says what its intervals cover, in text and JSON. */
Test(everyday, predict_says_what_noise_intervals_cover, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s fit --db r.db --approach 2 --bootstrap 20 >/dev/null", S), 0, "%s", out);
    cr_assert_eq(sh("%s predict --db r.db --sweep tiny", S), 0, "%s", out);
    cr_assert(strstr(out, "intervals cover eval-window noise only"), "%s", out);
    cr_assert_eq(sh("%s predict --db r.db --sweep tiny --json", S), 0, "%s", out);
    cr_assert(strstr(out, "\"intervals_cover\""), "%s", out);
    /* whole-run resampling makes no such claim */
    cr_assert_eq(
        sh("%s fit --db r.db --approach 2 --bootstrap 20 --bootstrap-mode runs >/dev/null", S), 0,
        "%s", out);
    cr_assert_eq(sh("%s predict --db r.db --sweep tiny", S), 0, "%s", out);
    cr_assert(!strstr(out, "intervals cover eval-window noise only"), "%s", out);
}

/* ---- 14. comparing sweeps ------------------------------------------------ */
Test(everyday, p14_sweeps_compared, .init = setup_run, .fini = teardown) {
    cr_assert_eq(sh("%s sweep tiny.ini name=wide n_ctx=64 --db r.db --quiet", S), 0, "%s", out);
    cr_assert_eq(sh("%s fit --db r.db --sweep tiny --sweep wide --bootstrap 10 --starts 16", S), 0,
                 "%s", out);
    cr_assert(strstr(out, "sweeps compared"), "%s", out);
    cr_assert_eq(count_lines("tiny             approach"), 3, "%s", out);
    cr_assert_eq(count_lines("wide             approach"), 3, "%s", out);
    cr_assert_eq(sh("%s plot --db r.db --sweep tiny --sweep wide --bootstrap 10 --a3-starts 16", S),
                 0, "%s", out);
    cr_assert_eq(sh("test -s out/compare-tiny-wide/compare.svg && grep -c 'IsoFLOP minima' "
                    "out/compare-tiny-wide/compare.svg"),
                 0, "%s", out);
    cr_assert_eq(sh("%s report --db r.db --sweep tiny --sweep wide --out cmp --bootstrap 10 "
                    "--a3-starts 16",
                    S),
                 0, "%s", out);
    cr_assert_eq(sh("grep -c '<td>wide</td>' cmp/index.html"), 0, "%s", out);
    cr_assert(atoi(out) == 3, "%s", out);
    cr_assert_eq(sh("%s fit --db r.db --sweep tiny --sweep nosuch", S), 1, "%s", out);
    cr_assert(strstr(out, "no sweep named 'nosuch'"), "%s", out);
}
