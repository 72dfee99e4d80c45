/*
 * test_sweep.c — the sweep module: plan expansion of each mode, token budgets
 * from FLOP budgets, shapes from target parameter counts, parser errors with
 * FILE:LINE, overrides, the lr rule, the launch order and shards, and (through
 * the `scaling` binary) a sweep SIGKILLed mid-way that resumes to the same
 * final losses as an uninterrupted one. Fixtures (a tiny prepared data
 * directory, sweep files, databases) are written into a mkdtemp directory.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../data/data.h"
#include "../model/model.h"
#include "../results/store.h"
#include "../sweep/sweep.h"
#include "testlib.h"

/* ---- fixtures ------------------------------------------------------------ */

static char tmp[256];
static char datadir[512];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A directory of 24 small pseudo-English documents, prepared byte-level. */
static void make_data(void) {
    snprintf(tmp, sizeof tmp, "/tmp/test_sweep_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    char src[512];
    snprintf(src, sizeof src, "%s/text", tmp);
    mkdir(src, 0755);
    static const char *words[] = {"the", "of", "and", "a",  "to",   "in",  "is",
                                  "was", "he", "for", "it", "with", "as",  "his",
                                  "on",  "be", "at",  "by", "had",  "word"};
    util_rng r;
    util_rng_seed(&r, 7, "test text");
    for (int d = 0; d < 24; d++) {
        char path[600], doc[4096];
        size_t n = 0;
        while (n < sizeof doc - 16) {
            const char *w = words[util_rng_below(&r, 20)];
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
    int rc = data_prepare(inputs, 1, NULL, datadir, &o, NULL, 0, err, sizeof err);
    cr_assert_eq(rc, 0, "data_prepare: %s", err);
}

static void cleanup(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (tmp[0]) cr_assert_eq(system(cmd), 0);
}

/* Writes a sweep file: "[sweep]\ndata = DATADIR\n" followed by body. */
static void sweep_file(char *path, size_t n, const char *name, const char *body) {
    snprintf(path, n, "%s/%s.ini", tmp, name);
    char text[8192];
    snprintf(text, sizeof text, "[sweep]\ndata = %s\n%s", datadir, body);
    write_file(path, text);
}

static int parse(const char *path, const char *const *ov, int nov, sweep_plan *p, char *err) {
    return sweep_parse(path, ov, nov, NULL, p, err, UTIL_ERRLEN);
}

TestSuite(sweep, .init = make_data, .fini = cleanup, .timeout = 600);

/* ---- plan expansion ------------------------------------------------------- */

Test(sweep, grid_mode_is_shapes_times_tokens) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "g",
               "mode = grid\nname = g\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "[family]\nd_model = 16, 32\nn_layer = 1, 2\ntokens = 1000, 4000\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.mode, SWEEP_GRID);
    cr_assert_str_eq(p.name, "g");
    cr_assert_eq(p.nruns, 8); /* 2 d_model x 2 n_layer x 2 tokens */
    int seen[2][3][2] = {{{0}}};
    for (int i = 0; i < p.nruns; i++) {
        const sweep_item *r = &p.runs[i];
        const model_shape *s = &r->cfg.shape;
        cr_assert_str_eq(r->label, "family");
        cr_assert_eq(s->n_head, s->d_model / 8);
        cr_assert_eq(s->d_ff, 4 * s->d_model);
        cr_assert_eq(s->n_ctx, 16);
        cr_assert_eq(s->n_vocab, 256);
        /* tokens rounded up to whole steps of 4 x 16 = 64 tokens */
        int64_t want = r->cfg.tokens <= 1024 ? 1024 : 4032;
        cr_assert_eq(r->cfg.tokens, want, "tokens %lld", (long long)r->cfg.tokens);
        cr_assert(isnan(r->compute_budget));
        model_counts c;
        model_count_params(s, &c);
        cr_assert_eq(c.total, r->counts.total);
        cr_assert_float_eq(r->flops, (double)r->cfg.tokens * model_flops_chinchilla(s), 1e-6);
        char id[17];
        model_run_id(&r->cfg, id);
        cr_assert_str_eq(r->id, id);
        seen[s->d_model / 16 - 1][s->n_layer][want == 4032]++;
        cr_assert_not_null(strstr(r->config_json, r->id));
    }
    for (int a = 0; a < 2; a++)
        for (int b = 1; b <= 2; b++)
            for (int t = 0; t < 2; t++)
                cr_assert_eq(seen[a][b][t], 1);
    cr_assert_not_null(strstr(p.plan_json, "\"mode\":\"grid\""));
    sweep_plan_free(&p);
}

Test(sweep, tokens_for_budget_hand_worked) {
    /* 1e9 FLOPs at 1000 FLOPs/token, 100 tokens/step: 10000 steps */
    cr_assert_eq(sweep_tokens_for_budget(1e9, 1000, 100), 1000000);
    /* 1.00004e9: 10000.4 steps rounds to 10000; 1.00006e9 to 10001 */
    cr_assert_eq(sweep_tokens_for_budget(1.00004e9, 1000, 100), 1000000);
    cr_assert_eq(sweep_tokens_for_budget(1.00006e9, 1000, 100), 1000100);
    /* below one step: one step */
    cr_assert_eq(sweep_tokens_for_budget(10, 1000, 100), 100);
}

Test(sweep, isoflop_budgets_derive_tokens) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "iso",
               "mode = isoflop\nflops = 6nd\nn_ctx = 16\nbatch = 2\nhead_size = 8\n"
               "[iso]\nbudget = logspace(1e8, 1e10, 3)\nd_model = 16, 24, 32\nn_layer = 2\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 9);
    cr_assert_eq(p.flops_count, MODEL_FLOPS_6ND);
    int per_budget[3] = {0};
    for (int i = 0; i < p.nruns; i++) {
        const sweep_item *r = &p.runs[i];
        /* 6nd by hand: 6 x total parameters per token */
        double F = 6.0 * (double)r->counts.total;
        cr_assert_float_eq(r->flops_per_token, F, 1e-9 * F);
        int64_t tps = 2 * 16;
        cr_assert_eq(r->cfg.tokens % tps, 0);
        double B = r->compute_budget;
        int k = B == 1e8 ? 0 : B == 1e9 ? 1 : B == 1e10 ? 2 : -1;
        cr_assert_geq(k, 0, "budget %g", B);
        per_budget[k]++;
        /* nearest whole step: neighbours are no closer */
        double got = (double)r->cfg.tokens * F;
        cr_assert_leq(fabs(got - B), fabs(got + tps * F - B) + 1e-6);
        if (r->cfg.tokens > tps) cr_assert_leq(fabs(got - B), fabs(got - tps * F - B) + 1e-6);
        cr_assert_float_eq(r->flops, got, 1e-6 * got);
        /* the cosine ends at the run's own budget: schedule length is its tokens */
        cr_assert_eq(r->cfg.schedule, SCHED_COSINE);
    }
    for (int k = 0; k < 3; k++)
        cr_assert_eq(per_budget[k], 3);
    sweep_plan_free(&p);
}

Test(sweep, flops_actual_counts_the_trainers_matmuls) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "act",
               "mode = isoflop\nflops = actual\nn_ctx = 16\nbatch = 2\nhead_size = 8\n"
               "[iso]\nbudget = 1e9\nd_model = 16, 32\nn_layer = 2\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.flops_count, MODEL_FLOPS_ACTUAL);
    cr_assert_eq(p.nruns, 2);
    for (int i = 0; i < p.nruns; i++) {
        const sweep_item *r = &p.runs[i];
        const model_shape *s = &r->cfg.shape;
        /* by hand: 3 [L (8 C^2 + 4 C F + 2 C (T+1)) + 2 C V] */
        double C = s->d_model, F = s->d_ff, T = s->n_ctx, V = s->n_vocab;
        double want = 3 * (s->n_layer * (8 * C * C + 4 * C * F + 2 * C * (T + 1)) + 2 * C * V);
        cr_assert_float_eq(r->flops_per_token, want, 1e-9 * want);
        cr_assert_eq(r->cfg.tokens, sweep_tokens_for_budget(1e9, want, 32));
    }
    sweep_plan_free(&p);
}

Test(sweep, warmup_min_floors_short_runs) {
    char path[512], err[UTIL_ERRLEN];
    /* 2e8 FLOPs gives runs of a few to a few hundred steps across sizes */
    sweep_file(path, sizeof path, "wmin",
               "mode = isoflop\nflops = 6nd\nn_ctx = 16\nbatch = 2\nhead_size = 8\n"
               "warmup_frac = 0.1\nwarmup_min = 20\n"
               "[iso]\nbudget = 2e8, 2e9\nd_model = 16, 32, 64\nn_layer = 2\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    int floored = 0, fraction = 0;
    for (int i = 0; i < p.nruns; i++) {
        const model_train_config *g = &p.runs[i].cfg;
        int64_t steps = model_train_steps(g);
        int want = (int)floor(0.1 * (double)steps + 0.5);
        if (want < 20)
            want = 20, floored++;
        else
            fraction++;
        if (want >= steps && steps > 1) want = (int)(steps - 1);
        cr_expect_eq(g->warmup, want, "run %d: %lld steps, warmup %d", i, (long long)steps,
                     g->warmup);
    }
    cr_expect_gt(floored, 0, "some runs are short enough for the floor");
    cr_expect_gt(fraction, 0, "and some long enough for the fraction");
    sweep_plan_free(&p);
}

Test(sweep, params_targets_pick_valid_shapes) {
    for (int tot = 0; tot < 2; tot++) {
        for (double T = 5e4; T <= 5e6; T *= 3) {
            model_shape s;
            char err[UTIL_ERRLEN];
            int rc = sweep_shape_for_params(T, tot, 32, 16, 4, 64, 256, &s, err, sizeof err);
            cr_assert_eq(rc, 0, "%s", err);
            cr_assert_geq(s.n_layer, 1);
            cr_assert_eq(s.d_model % 16, 0);
            cr_assert_eq(s.n_head, s.d_model / 16);
            model_counts c;
            model_count_params(&s, &c);
            double N = (double)(tot ? c.total : c.nonembedding);
            cr_assert_lt(fabs(log(N / T)), log(1.25), "target %g got %g (%dx%d)", T, N, s.n_layer,
                         s.d_model);
            double asp = (double)s.d_model / s.n_layer;
            cr_assert(asp > 32 / 4.0 && asp < 32 * 4.0, "aspect %g for %dx%d", asp, s.n_layer,
                      s.d_model);
        }
    }
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "pa",
               "mode = grid\nn_ctx = 16\nbatch = 2\nhead_size = 8\naspect = 16\n"
               "[fam]\nparams = logspace(2e4, 2e5, 3)\nparams_count = total\ntokens = 640\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert(p.runs[i].target_total);
        double ratio = (double)p.runs[i].counts.total / p.runs[i].target_params;
        cr_assert(ratio > 0.8 && ratio < 1.25, "ratio %g", ratio);
        cr_assert_not_null(strstr(p.runs[i].config_json, "\"target_params\""));
    }
    sweep_plan_free(&p);
}

Test(sweep, kaplan_mode_curves_and_data_limited) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "kap",
               "mode = kaplan\nn_ctx = 16\nbatch = 2\nhead_size = 8\ntokens = 3200\n"
               "[curves]\nshapes = 1x16, 2x16\n"
               "[limited]\nshapes = 2x16\nunique_tokens = all, 1000, 2000\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    /* 2 curves + 3 limited, of which the unlimited 2x16 is the same run as a curve */
    cr_assert_eq(p.nruns, 4, "%d", p.nruns);
    cr_assert_eq(p.nwarnings, 1, "%d warnings", p.nwarnings);
    cr_assert_not_null(strstr(p.warnings[0], "planned once"), "%s", p.warnings[0]);
    int lim = 0;
    for (int i = 0; i < p.nruns; i++)
        lim += p.runs[i].cfg.unique_tokens > 0;
    cr_assert_eq(lim, 2);
    sweep_plan_free(&p);
}

Test(sweep, kaplan_defaults_and_epochs) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "kap2",
               "mode = kaplan\nn_ctx = 16\nbatch = 2\nhead_size = 8\ntokens = 6400\n"
               "[limited]\nshapes = 2x16\nunique_tokens = all, 1000\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 2);
    int limited = 0;
    for (int i = 0; i < 2; i++) {
        const sweep_item *r = &p.runs[i];
        cr_assert_eq(r->cfg.evals, 30);
        if (r->cfg.unique_tokens) {
            limited++;
            cr_assert_eq(r->cfg.unique_tokens, 1000);
            cr_assert_eq(r->cfg.patience, 3);
            /* exact passes over the 62 whole windows of 16 tokens in 1000 */
            cr_assert_float_eq(r->epochs, 6400.0 / 992, 1e-12);
        } else {
            cr_assert_float_eq(r->epochs, 6400.0 / (double)((p.data.train_tokens - 1) / 16 * 16),
                               1e-12);
        }
    }
    cr_assert_eq(limited, 1);
    /* 6.4 epochs over 1000 unique tokens: warned */
    int warned = 0;
    for (int i = 0; i < p.nwarnings; i++)
        warned |= strstr(p.warnings[i], "more than 4") != NULL;
    cr_assert(warned);
    sweep_plan_free(&p);
}

/* eval_windows beyond what the validation split holds: capped in the plan,
 * with one note per value, so the run's id and stored config say what ran */
Test(sweep, eval_windows_capped_at_the_split) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "ew",
               "mode = grid\nname = ew\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "eval_windows = 100000\n[family]\nd_model = 16, 32\nn_layer = 1\ntokens = 1000\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 2);
    int most = (int)((p.data.val_tokens - 1) / 16);
    cr_assert_lt(most, 100000);
    char key[64];
    snprintf(key, sizeof key, "\"eval_windows\":%d", most);
    for (int i = 0; i < p.nruns; i++) {
        cr_assert_eq(p.runs[i].cfg.eval_windows, most);
        cr_assert(strstr(p.runs[i].config_json, key), "%s", p.runs[i].config_json);
    }
    int notes = 0;
    for (int i = 0; i < p.nwarnings; i++)
        notes += strstr(p.warnings[i], "eval_windows = 100000 capped") != NULL;
    cr_assert_eq(notes, 1, "%d notes", notes);
    sweep_plan_free(&p);
}

Test(sweep, lr_mode_and_overrides) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "lr",
               "mode = lr\nn_ctx = 16\nbatch = 2\nhead_size = 8\ntokens = 640\nseed = 5\n"
               "[scan]\nd_model = 16, 32\nn_layer = 1\nlr = 1e-3, 3e-3, 1e-2\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(p.runs[i].cfg.seed, 5);
    sweep_plan_free(&p);
    /* [sweep] override and a section override */
    const char *ov[] = {"seed=9", "scan.lr=range(1e-3, 4e-3, 1e-3)", "scan.n_layer = 2"};
    cr_assert_eq(parse(path, ov, 3, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 2 * 3);
    for (int i = 0; i < p.nruns; i++) {
        cr_assert_eq(p.runs[i].cfg.seed, 9);
        cr_assert_eq(p.runs[i].cfg.shape.n_layer, 2);
        double lr = p.runs[i].cfg.lr;
        cr_assert(fabs(lr - 1e-3) < 1e-12 || fabs(lr - 2e-3) < 1e-12 || fabs(lr - 3e-3) < 1e-12,
                  "lr %g", lr);
    }
    cr_assert_not_null(strstr(p.file_text, "; override: seed=9"));
    sweep_plan_free(&p);
    const char *bad[] = {"nosuch.lr=1"};
    cr_assert_neq(parse(path, bad, 1, &p, err), 0);
    cr_assert_not_null(strstr(err, "no section [nosuch]"), "%s", err);
    const char *bad2[] = {"lr=abc"};
    cr_assert_neq(parse(path, bad2, 1, &p, err), 0);
    cr_assert_not_null(strstr(err, "override 'lr=abc'"), "%s", err);
}

Test(sweep, lr_rule_from_database) {
    char db[512], err[UTIL_ERRLEN];
    snprintf(db, sizeof db, "%s/rule.db", tmp);
    store *s;
    cr_assert_eq(store_open(&s, db, STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(s, "scan", "lr", "", "{}", err, sizeof err), 0, "%s", err);
    /* N = 1e4: best lr 1e-2; N = 1e6: best lr 1e-3 → p = 0.5, c = 1e-2 * 1e4^0.5 = 1 */
    struct {
        double N, lr, loss;
    } rows[] = {
        {1e4, 3e-3, 3.0}, {1e4, 1e-2, 2.5}, {1e4, 3e-2, 2.8},
        {1e6, 1e-3, 2.0}, {1e6, 3e-3, 2.2}, {1e6, 3e-4, 2.1},
    };
    for (int i = 0; i < 6; i++) {
        store_run r;
        store_run_init(&r);
        snprintf(r.id, sizeof r.id, "%016x", i + 1);
        snprintf(r.sweep, sizeof r.sweep, "scan");
        snprintf(r.status, sizeof r.status, "running");
        r.params_nonembedding = (int64_t)rows[i].N;
        r.lr = rows[i].lr;
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
        r.final_val_loss = rows[i].loss;
        snprintf(r.status, sizeof r.status, "done");
        cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
    }
    store_close(s);
    double c, p;
    int ns;
    cr_assert_eq(sweep_lr_rule(db, "scan", &c, &p, &ns, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ns, 2);
    cr_assert_float_eq(p, 0.5, 1e-9);
    cr_assert_float_eq(c, 1.0, 1e-9);
    cr_assert_neq(sweep_lr_rule(db, "other", &c, &p, &ns, err, sizeof err), 0);

    char path[512];
    sweep_file(path, sizeof path, "use",
               "mode = grid\nn_ctx = 16\nbatch = 2\nhead_size = 8\ntokens = 640\n"
               "lr = rule(scan)\n[a]\nd_model = 16, 32\nn_layer = 1\n"
               "[b]\nd_model = 16\nn_layer = 1\nlr = powerlaw(2, 0.25)\n");
    sweep_plan pl;
    cr_assert_eq(sweep_parse(path, NULL, 0, db, &pl, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pl.nruns, 3);
    for (int i = 0; i < pl.nruns; i++) {
        const sweep_item *r = &pl.runs[i];
        double N = (double)r->counts.nonembedding;
        double want = !strcmp(r->label, "a") ? pow(N, -0.5) : 2 * pow(N, -0.25);
        cr_assert_float_eq(r->cfg.lr, want, 1e-9 * want);
    }
    sweep_plan_free(&pl);
    /* without a database rule() is an error naming the line */
    cr_assert_neq(sweep_parse(path, NULL, 0, NULL, &pl, err, sizeof err), 0);
    char want[600];
    snprintf(want, sizeof want, "%s:8:", path);
    cr_assert_not_null(strstr(err, want), "%s", err);
}

/* ---- errors with FILE:LINE ------------------------------------------------ */

static void expect_error(const char *body, int line, const char *fragment) {
    char path[512], err[UTIL_ERRLEN], want[600];
    static int k;
    char name[32];
    snprintf(name, sizeof name, "bad%d", k++);
    sweep_file(path, sizeof path, name, body);
    sweep_plan p;
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0, "no error for:\n%s", body);
    snprintf(want, sizeof want, "%s:%d:", path, line);
    cr_assert_not_null(strstr(err, want), "expected '%s' in: %s", want, err);
    cr_assert_not_null(strstr(err, fragment), "expected '%s' in: %s", fragment, err);
    cr_assert_null(strchr(err, '\n'), "one line: %s", err);
    cr_assert_eq(p.nruns, 0);
    sweep_plan_free(&p);
}

Test(sweep, parser_errors_name_file_and_line) {
    /* lines: 1 [sweep], 2 data, then the body */
    const char *base = "mode = grid\nn_ctx = 16\nbatch = 2\nhead_size = 8\n";
    char body[2048];
    snprintf(body, sizeof body,
             "%s[s]\nd_model = 16\nn_layer = 1\ntokens = 640\nlearning_rate = 1\n", base);
    expect_error(body, 11, "unknown key 'learning_rate'");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16, abc\nn_layer = 1\ntokens = 640\n", base);
    expect_error(body, 8, "d_model = 16, abc");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nn_layer = 1.5\ntokens = 640\n", base);
    expect_error(body, 9, "expected an integer");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nn_layer = 1\ntokens = logspace(1e3, 1e4)\n",
             base);
    expect_error(body, 10, "logspace(first, last, count)");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nn_layer = 1\ntokens = expspace(1, 2, 3)\n",
             base);
    expect_error(body, 10, "unknown generator 'expspace'");
    snprintf(body, sizeof body, "%s[s]\nd_model = 20\nn_layer = 1\ntokens = 640\n", base);
    expect_error(body, 8, "impossible shape");
    snprintf(body, sizeof body,
             "mode = grid\nn_ctx = 16\nbatch = 2\n[s]\nd_model = 30, 32\nn_head = 4\nn_layer = "
             "1\ntokens = 640\n");
    expect_error(body, 7, "not divisible by n_head 4");
    expect_error("mode = sideways\n[s]\nd_model = 16\n", 3, "expected grid, isoflop, kaplan or lr");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nn_layer = 1\ntokens = 640\nbudget = 1e9\n",
             base);
    expect_error(body, 11, "only isoflop mode takes budgets");
    expect_error("mode = isoflop\nn_ctx = 16\n[s]\nd_model = 16\nn_layer = 1\ntokens = 640\n", 8,
                 "derives tokens from budget");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nn_layer = 1\n", base);
    expect_error(body, 7, "has no tokens");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nd_model = 32\n", base);
    expect_error(body, 9, "set twice");
    snprintf(body, sizeof body, "%s[s]\nname = x\n", base);
    expect_error(body, 8, "belongs in [sweep]");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\n  n_layer = 1\ntokens = 640\n", base);
    expect_error(body, 9, "indented line continues the value of 'd_model'");
    /* an indented line without '=' continues a list */
    {
        char path[512], err[UTIL_ERRLEN];
        snprintf(body, sizeof body, "%s[s]\nd_model = 16,\n  24, 32\nn_layer = 1\ntokens = 640\n",
                 base);
        sweep_file(path, sizeof path, "cont", body);
        sweep_plan p;
        cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
        cr_assert_eq(p.nruns, 3);
        sweep_plan_free(&p);
    }
    snprintf(body, sizeof body, "%s[s]\nthis line has no equals sign\n", base);
    expect_error(body, 8, "expected 'key = value'");
    snprintf(body, sizeof body,
             "%s[s]\nd_model = 16\nn_layer = 1\ntokens = 640\nunique_tokens = 1e12\n", base);
    expect_error(body, 11, "has only");
    snprintf(body, sizeof body, "%s[s]\nd_model = 16\nn_layer = 1\ntokens = 640\nlr = -1\n", base);
    expect_error(body, 11, "out of range");
}

/* ---- order and shards ----------------------------------------------------- */

Test(sweep, shards_cover_the_plan_exactly_once) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "sh",
               "mode = isoflop\nn_ctx = 16\nbatch = 2\nhead_size = 8\n"
               "[a]\nbudget = logspace(1e8, 1e10, 5)\nd_model = 16, 24, 32\nn_layer = 1, 2\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 30);
    int *all = malloc(p.nruns * sizeof *all), n;
    sweep_order(&p, 1, 1, all, &n);
    cr_assert_eq(n, p.nruns);
    for (int k = 1; k < n; k++)
        cr_assert_geq(p.runs[all[k - 1]].flops, p.runs[all[k]].flops);
    for (int N = 1; N <= 7; N++) {
        int *count = calloc(p.nruns, sizeof *count), total = 0;
        for (int I = 1; I <= N; I++) {
            int *o = malloc(p.nruns * sizeof *o), m;
            sweep_order(&p, I, N, o, &m);
            cr_assert(m == p.nruns / N || m == p.nruns / N + 1, "shard %d/%d has %d", I, N, m);
            for (int k = 0; k < m; k++)
                count[o[k]]++;
            total += m;
            free(o);
        }
        cr_assert_eq(total, p.nruns);
        for (int i = 0; i < p.nruns; i++)
            cr_assert_eq(count[i], 1, "run %d in %d shards", i, count[i]);
        free(count);
    }
    free(all);
    sweep_plan_free(&p);
}

/* ---- running: SIGKILL mid-sweep, then resume ------------------------------ */

static const char *bin(void) {
    const char *b = getenv("SCALING_BIN");
    return b && *b ? b : SCALING_BIN;
}

/* Runs the sweep to completion; returns the exit status, output in out. */
static int run_sweep(const char *path, const char *db, char *out, size_t n) {
    return tl_sh(out, n, "%s sweep %s --db %s -j 2 --threads 1 --quiet", bin(), path, db);
}

/* Starts `scaling sweep path --db db -j 2 --threads 1 --quiet` in the
 * background, its output discarded; returns its pid. */
static pid_t spawn_sweep(const char *path, const char *db) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin(), bin(), "sweep", path, "--db", db, "-j", "2", "--threads", "1", "--quiet",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int count_status(const char *db, const char *status) {
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM runs WHERE status = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return n;
}

/* A run of db with status running whose checkpoint (DB.runs/ID.ckpt) exists:
 * its id into id; 0 if none. */
static int running_with_checkpoint(const char *db, char id[24]) {
    sqlite3 *h;
    int found = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return 0;
    }
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "SELECT id FROM runs WHERE status = 'running'", -1, &st, NULL) ==
        SQLITE_OK) {
        while (!found && sqlite3_step(st) == SQLITE_ROW) {
            char ck[1200];
            snprintf(ck, sizeof ck, "%s.runs/%.16s.ckpt", db,
                     (const char *)sqlite3_column_text(st, 0));
            if (access(ck, F_OK) == 0) {
                snprintf(id, 24, "%.16s", (const char *)sqlite3_column_text(st, 0));
                found = 1;
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return found;
}

Test(sweep, sigkill_mid_sweep_resumes_to_identical_results, .timeout = 900) {
    char path[512];
    sweep_file(path, sizeof path, "resume",
               "name = resume\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "lr = 3e-3\nwarmup = 5\nevals = 4\neval_windows = 4\ncheckpoint_secs = 0.01\n"
               "log_every = 5\n"
               "[iso]\nbudget = 2e9, 4e9\nd_model = 16, 32\nn_layer = 1, 2\n");
    sweep_plan p;
    char err[UTIL_ERRLEN];
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    int nruns = p.nruns;
    cr_assert_eq(nruns, 8);

    /* uninterrupted */
    char dbA[512], dbB[512], out[65536];
    snprintf(dbA, sizeof dbA, "%s/a.db", tmp);
    snprintf(dbB, sizeof dbB, "%s/b.db", tmp);
    int rc = run_sweep(path, dbA, out, sizeof out);
    cr_assert_eq(rc, 0, "sweep exited %d:\n%s", rc, out);
    cr_assert_eq(count_status(dbA, "done"), nruns, "%s", out);

    /* interrupted by SIGKILL once some runs are done and others running.
     * The run picked before the kill may still finish in the instant
     * between the query and the signal (its workers die with the sweep
     * through PR_SET_PDEATHSIG, a moment later), so the run to follow is
     * chosen again after the kill, once every worker is gone; if none was
     * left mid-way with a checkpoint, the sweep is resumed and killed again. */
    int killed = 0;
    char resumed_id[24] = "";
    for (int attempt = 0; attempt < 6 && !killed; attempt++) {
        pid_t pid = spawn_sweep(path, dbB);
        double t0 = util_now();
        int st, signalled = 0;
        while (util_now() - t0 < 300) {
            if (waitpid(pid, &st, WNOHANG) == pid) break; /* finished before we could kill it */
            int d = count_status(dbB, "done");
            if (d >= 1 && running_with_checkpoint(dbB, resumed_id)) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                signalled = 1;
                break;
            }
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!signalled) break; /* the sweep ran to the end: nothing left to interrupt */
        struct timespec settle = {0, 300 * 1000 * 1000};
        nanosleep(&settle, NULL);
        killed = running_with_checkpoint(dbB, resumed_id);
    }
    cr_assert(killed, "the sweep ended before it could be killed: make the runs longer");
    int done_at_kill = count_status(dbB, "done");
    cr_assert_lt(done_at_kill, nruns);
    /* the ids finished before the kill must not be launched again */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(dbB, &h), SQLITE_OK);
    char done_ids[64][24];
    int nd = 0;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(h, "SELECT id FROM runs WHERE status = 'done'", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW && nd < 64)
        snprintf(done_ids[nd++], sizeof done_ids[0], "%.16s",
                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);

    rc = run_sweep(path, dbB, out, sizeof out);
    cr_assert_eq(rc, 0, "resumed sweep exited %d:\n%s", rc, out);
    cr_assert_eq(count_status(dbB, "done"), nruns, "%s", out);
    for (int i = 0; i < nd; i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "start    %.16s", done_ids[i]);
        cr_assert_null(strstr(out, needle), "finished run %s relaunched:\n%s", done_ids[i], out);
        snprintf(needle, sizeof needle, "skip     %.16s", done_ids[i]);
        cr_assert_not_null(strstr(out, needle), "finished run %s not skipped:\n%s", done_ids[i],
                           out);
    }

    /* the run killed after a checkpoint continued from it: its worker log
     * (appended per launch) shows a second start at a step past 0 */
    {
        char logp[1200], *text = NULL, e2[UTIL_ERRLEN];
        size_t n;
        snprintf(logp, sizeof logp, "%s.runs/%s.log", dbB, resumed_id);
        cr_assert_eq(util_read_file(logp, &text, &n, e2, sizeof e2), 0, "%s", e2);
        const char *second = strstr(text, "start_step=");
        second = second ? strstr(second + 1, "start_step=") : NULL;
        cr_assert_not_null(second, "run %s was not relaunched:\n%s", resumed_id, text);
        cr_assert(second[11] >= '1' && second[11] <= '9',
                  "run %s restarted from scratch, not from its checkpoint:\n%s", resumed_id, text);
        free(text);
    }

    /* identical final losses, run by run */
    sqlite3 *a, *b;
    cr_assert_eq(sqlite3_open(dbA, &a), SQLITE_OK);
    cr_assert_eq(sqlite3_open(dbB, &b), SQLITE_OK);
    for (int i = 0; i < nruns; i++) {
        double la = NAN, lb = NAN;
        for (int k = 0; k < 2; k++) {
            sqlite3_stmt *q;
            sqlite3_prepare_v2(k ? b : a, "SELECT final_val_loss FROM runs WHERE id = ?1", -1, &q,
                               NULL);
            sqlite3_bind_text(q, 1, p.runs[i].id, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW) *(k ? &lb : &la) = sqlite3_column_double(q, 0);
            sqlite3_finalize(q);
        }
        cr_assert(isfinite(la) && la > 0, "run %s: loss %g", p.runs[i].id, la);
        cr_assert_float_eq(la, lb, 1e-9 * la, "run %s: %.17g uninterrupted vs %.17g resumed",
                           p.runs[i].id, la, lb);
    }
    sqlite3_close(a);
    sqlite3_close(b);

    /* each run keeps the plan's resolved configuration, budget included */
    {
        store *s;
        store_run r;
        char e2[UTIL_ERRLEN];
        cr_assert_eq(store_open(&s, dbB, STORE_READONLY, e2, sizeof e2), 0, "%s", e2);
        for (int i = 0; i < nruns; i++) {
            store_run_init(&r);
            cr_assert_eq(store_get_run(s, p.runs[i].id, &r, e2, sizeof e2), 0, "%s", e2);
            cr_assert_str_eq(r.config_json, p.runs[i].config_json);
            cr_assert_float_eq(r.compute_budget, p.runs[i].compute_budget, 1e-6);
            cr_assert_str_eq(r.label, "iso");
            store_run_free_fields(&r);
        }
        store_close(s);
    }

    /* scaling status agrees */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s status --db %s --sweep resume 2>&1", bin(), dbB);
    FILE *sp = popen(cmd, "r");
    size_t sl = fread(out, 1, sizeof out - 1, sp);
    out[sl] = 0;
    cr_assert_eq(pclose(sp), 0, "%s", out);
    cr_assert_not_null(strstr(out, "8 runs: 8 done, 0 running, 0 planned, 0 failed"), "%s", out);
    cr_assert_not_null(strstr(out, "(100.0%)"), "%s", out);

    /* and a third invocation has nothing to do */
    rc = run_sweep(path, dbB, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_null(strstr(out, "start "), "%s", out);
    sweep_plan_free(&p);
}

/* ---- the command line ------------------------------------------------------ */

static int run_cmd(const char *args, char *out, size_t n) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin(), args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(sweep, cli_dry_run_shards_and_errors) {
    char path[512], args[1200], out[65536], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "cli",
               "mode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "[a]\nbudget = 1e9, 2e9, 4e9\nd_model = 16, 32\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    snprintf(args, sizeof args, "sweep %s --dry-run", path);
    cr_assert_eq(run_cmd(args, out, sizeof out), 0, "%s", out);
    for (int i = 0; i < p.nruns; i++)
        cr_assert_not_null(strstr(out, p.runs[i].id), "%s", out);
    cr_assert_not_null(strstr(out, "total: 6 runs"), "%s", out);
    cr_assert_not_null(strstr(out, "wall time"), "estimate missing:\n%s", out);
    /* shards of the dry run list disjoint thirds */
    int seen[6] = {0};
    for (int s = 1; s <= 3; s++) {
        snprintf(args, sizeof args, "sweep %s --dry-run --no-estimate --shard %d/3", path, s);
        cr_assert_eq(run_cmd(args, out, sizeof out), 0, "%s", out);
        cr_assert_not_null(strstr(out, "total: 2 runs"), "%s", out);
        for (int i = 0; i < p.nruns; i++)
            seen[i] += strstr(out, p.runs[i].id) != NULL;
    }
    for (int i = 0; i < p.nruns; i++)
        cr_assert_eq(seen[i], 1);
    /* an override reaches the plan; a bad one is a runtime error naming it */
    snprintf(args, sizeof args, "sweep %s a.d_model=16 --dry-run --no-estimate", path);
    cr_assert_eq(run_cmd(args, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "total: 3 runs"), "%s", out);
    snprintf(args, sizeof args, "sweep %s a.d_model=12 --dry-run --no-estimate", path);
    cr_assert_eq(run_cmd(args, out, sizeof out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "override 'a.d_model=12': impossible shape"), "%s", out);
    /* a database holding runs of this sweep that the plan lacks (an edited
     * sweep file) is warned about, naming them; the plan's own runs are not */
    char db[600];
    snprintf(db, sizeof db, "%s/stale.db", tmp);
    store *st;
    cr_assert_eq(store_open(&st, db, STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(st, p.name, "isoflop", "", "{}", err, sizeof err), 0, "%s", err);
    const char *ids[2] = {p.runs[0].id, "deadbeef00000000"};
    for (int i = 0; i < 2; i++) {
        store_run row;
        store_run_init(&row);
        snprintf(row.id, sizeof row.id, "%s", ids[i]);
        snprintf(row.sweep, sizeof row.sweep, "%s", p.name);
        snprintf(row.status, sizeof row.status, "done");
        cr_assert_eq(store_put_run(st, &row, err, sizeof err), 0, "%s", err);
        store_run_free_fields(&row);
    }
    store_close(st);
    snprintf(args, sizeof args, "sweep %s --dry-run --no-estimate --db %s", path, db);
    cr_assert_eq(run_cmd(args, out, sizeof out), 0, "%s", out);
    char *w = strstr(out, "note: "), *eol = w ? strchr(w, '\n') : NULL;
    if (eol) *eol = 0; /* the note alone, not the plan listed after it */
    cr_assert(w && strstr(w, "this plan changes sweep cli") && strstr(w, "1 of its runs") &&
                  strstr(w, "(1 finished)") && strstr(w, "deadbeef00000000"),
              "%s", out);
    cr_assert_null(strstr(w, p.runs[0].id), "a planned run is not stale: %s", out);
    /* usage errors */
    cr_assert_eq(run_cmd("sweep", out, sizeof out), 2, "%s", out);
    snprintf(args, sizeof args, "sweep %s --shard 4/3", path);
    cr_assert_eq(run_cmd(args, out, sizeof out), 2, "%s", out);
    cr_assert_eq(run_cmd("sweep --help", out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "usage: scaling sweep"));
    snprintf(args, sizeof args, "status --db %s/none.db", tmp);
    cr_assert_eq(run_cmd(args, out, sizeof out), 1, "%s", out);
    sweep_plan_free(&p);
}

/* ---- failures are recorded and the sweep goes on ---------------------------- */

static const char *status_of(const char *db, const char *id, char *buf, size_t n) {
    store *s;
    char err[UTIL_ERRLEN];
    store_run r;
    buf[0] = 0;
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return buf;
    store_run_init(&r);
    if (store_get_run(s, id, &r, err, sizeof err) == 0) snprintf(buf, n, "%s", r.status);
    store_run_free_fields(&r);
    store_close(s);
    return buf;
}

Test(sweep, crashes_and_divergence_are_recorded) {
    char path[512], err[UTIL_ERRLEN], db[512], exe[512], st[32];
    sweep_file(path, sizeof path, "fail",
               "mode = grid\nn_ctx = 16\nbatch = 4\nhead_size = 8\ntokens = 640\n"
               "[a]\nd_model = 8, 16, 24\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 3);
    /* a stand-in worker: the d_model 8 run "diverges" (exit 3), d_model 16
     * crashes (SIGKILL), d_model 24 fails (exit 1) */
    snprintf(exe, sizeof exe, "%s/worker.sh", tmp);
    write_file(exe, "#!/bin/sh\n"
                    "for a; do case \"$prev\" in --d-model) d=$a;; esac; prev=$a; done\n"
                    "case $d in 8) exit 3;; 16) kill -9 $$;; *) exit 1;; esac\n");
    chmod(exe, 0755);
    snprintf(db, sizeof db, "%s/fail.db", tmp);
    sweep_run_opts o = {
        .db_path = db, .exe = exe, .workers = 2, .threads = 1, .shard_i = 1, .shard_n = 1};
    sweep_progress last;
    cr_assert_eq(sweep_run(&p, &o, &last, err, sizeof err), 0, "%s", err);
    cr_assert_eq(last.total, 3);
    cr_assert_eq(last.done, 1); /* a diverged run has ended */
    cr_assert_eq(last.diverged, 1);
    cr_assert_eq(last.failed, 2);
    for (int i = 0; i < 3; i++) {
        const char *want = p.runs[i].cfg.shape.d_model == 8 ? "diverged" : "failed";
        cr_assert_str_eq(status_of(db, p.runs[i].id, st, sizeof st), want, "d_model %d",
                         p.runs[i].cfg.shape.d_model);
    }
    /* worker logs and the checkpoint directory sit next to the database */
    char logp[1024];
    snprintf(logp, sizeof logp, "%s.runs/%s.log", db, p.runs[0].id);
    cr_assert_eq(access(logp, F_OK), 0, "%s", logp);
    /* rerun with a worker that succeeds but records nothing: the diverged run
     * is skipped, the failed ones are retried, and a worker that exits 0
     * without the database saying done is a failure, not a success */
    write_file(exe, "#!/bin/sh\nexit 0\n");
    cr_assert_eq(sweep_run(&p, &o, &last, err, sizeof err), 0, "%s", err);
    cr_assert_eq(last.done, 1);
    cr_assert_eq(last.failed, 2);
    /* a second sweep process on the same database is refused */
    char lockp[1024];
    snprintf(lockp, sizeof lockp, "%s.runs/sweep.lock", db);
    int lfd = open(lockp, O_RDWR);
    cr_assert_geq(lfd, 0);
    cr_assert_eq(flock(lfd, LOCK_EX | LOCK_NB), 0);
    cr_assert_neq(sweep_run(&p, &o, &last, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "another sweep is running"), "%s", err);
    close(lfd);
    /* a missing executable is refused before anything runs */
    o.exe = "/nonexistent/scaling";
    cr_assert_neq(sweep_run(&p, &o, &last, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "/nonexistent/scaling"), "%s", err);
    sweep_plan_free(&p);
}

/* ---- hostile values and files (issue 18) ---------------------------------- */

/* Every number a sweep file can give is range-checked, and what the plan
 * computes from it (tokens from a FLOP budget) is checked before it is
 * converted: an overflow is an error naming FILE:LINE, never a run of 0 or
 * negative tokens. */
Test(sweep, budgets_past_the_token_limit_are_errors) {
    char path[512], err[UTIL_ERRLEN], want[600];
    sweep_file(path, sizeof path, "huge",
               "mode = isoflop\nn_ctx = 16\nbatch = 2\nhead_size = 8\n"
               "[iso]\nd_model = 16\nn_layer = 1\nbudget = 1e24, 1e30\n");
    sweep_plan p;
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0, "planned %d runs", p.nruns);
    snprintf(want, sizeof want, "%s:10: ", path);
    cr_assert(strstr(err, want) && strstr(err, "budget"), "%s", err);
    cr_assert_eq(p.nruns, 0);
    sweep_plan_free(&p);
    cr_assert_eq(sweep_tokens_for_budget(1e30, 1000, 32), -1);
    cr_assert_eq(sweep_tokens_for_budget(1e9, 0, 32), -1);
    cr_assert_eq(sweep_tokens_for_budget(1e9, 1000, 0), -1);
    /* a warm-up that does not fit an int is refused where it is written */
    sweep_file(path, sizeof path, "wu",
               "mode = grid\nn_ctx = 16\nbatch = 2\nhead_size = 8\nwarmup = 1e11\n"
               "[g]\nd_model = 16\nn_layer = 1\ntokens = 1000\n");
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    snprintf(want, sizeof want, "%s:7: warmup", path);
    cr_assert(strstr(err, want) && strstr(err, "out of range"), "%s", err);
    sweep_plan_free(&p);
}

/* What libinih would misread: a section name longer than its buffer (it
 * reports the error on a later line, or cuts the name), one whose name holds
 * " ;" (an inline comment to libinih), and a NUL byte (the rest of the line
 * silently dropped). Each is an error on its own line. */
Test(sweep, ini_edge_cases_error_on_their_line) {
    char path[512], err[UTIL_ERRLEN], want[600];
    sweep_plan p;
    const char *cases[][2] = {
        {"mode = grid\n[g_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
         "d_model = 16\nn_layer = 1\ntokens = 1000\n",
         "4"},
        {"mode = grid\n[g ;x]\nd_model = 16\nn_layer = 1\ntokens = 1000\n", "4"},
    };
    for (int k = 0; k < 2; k++) {
        sweep_file(path, sizeof path, "edge", cases[k][0]);
        cr_assert_neq(parse(path, NULL, 0, &p, err), 0, "case %d parsed", k);
        snprintf(want, sizeof want, "%s:%s: ", path, cases[k][1]);
        cr_assert(strstr(err, want) && strstr(err, "section"), "case %d: %s", k, err);
        sweep_plan_free(&p);
    }
    /* n_ctx = 16<NUL>0: libinih would read 16 and drop the rest */
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "[sweep]\ndata = %s\nmode = grid\nn_ctx = 16", datadir);
    fputc(0, f);
    fputs("0\nbatch = 2\nhead_size = 8\n[g]\nd_model = 16\nn_layer = 1\ntokens = 1000\n", f);
    fclose(f);
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0, "a NUL byte was read past");
    snprintf(want, sizeof want, "%s:4: ", path);
    cr_assert(strstr(err, want) && strstr(err, "NUL"), "%s", err);
    sweep_plan_free(&p);
}

/* A status the sweep cannot write (here a trigger raising SQLite's "database
 * or disk is full", installed by the stand-in worker once the sweep has
 * started) stops the sweep with that error: it never goes on printing
 * progress the database does not hold. */
Test(sweep, failed_status_writes_stop_the_sweep) {
    char path[512], err[UTIL_ERRLEN], db[512], exe[512];
    sweep_file(path, sizeof path, "full",
               "mode = grid\nn_ctx = 16\nbatch = 4\nhead_size = 8\ntokens = 640\n"
               "[a]\nd_model = 8, 16, 24\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    snprintf(db, sizeof db, "%s/full.db", tmp);
    snprintf(exe, sizeof exe, "%s/filler.sh", tmp);
    char script[1024];
    snprintf(script, sizeof script,
             "#!/bin/sh\nsqlite3 '%s' \"CREATE TRIGGER IF NOT EXISTS full BEFORE UPDATE ON runs "
             "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;\"\nexit 1\n",
             db);
    write_file(exe, script);
    chmod(exe, 0755);
    sweep_run_opts o = {
        .db_path = db, .exe = exe, .workers = 1, .threads = 1, .shard_i = 1, .shard_n = 1};
    sweep_progress last;
    int rc = sweep_run(&p, &o, &last, err, sizeof err);
    cr_assert_neq(rc, 0, "the failed status write was swallowed");
    cr_assert(strstr(err, "disk is full"), "%s", err);
    cr_assert_lt(last.done + last.failed, 3, "went on launching after the failure");
    sweep_plan_free(&p);
}

/* One sweep per database, wherever its checkpoints go: the lock is a row of
 * the database naming host and pid; a holder that died is taken over. */
Test(sweep, one_sweep_per_database_whatever_the_checkpoint_dir) {
    char path[512], err[UTIL_ERRLEN], db[512], exe[512], other[512];
    sweep_file(path, sizeof path, "lk",
               "mode = grid\nn_ctx = 16\nbatch = 4\nhead_size = 8\ntokens = 640\n"
               "[a]\nd_model = 8\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    snprintf(db, sizeof db, "%s/lk.db", tmp);
    snprintf(other, sizeof other, "%s/elsewhere", tmp);
    snprintf(exe, sizeof exe, "%s/ok.sh", tmp);
    write_file(exe, "#!/bin/sh\nexit 1\n");
    chmod(exe, 0755);
    /* another live process (a child that sleeps) holds the database's lock */
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t holder = fork();
    if (holder == 0) {
        store *s = NULL;
        char e[UTIL_ERRLEN];
        int ok = store_open(&s, db, STORE_CREATE, e, sizeof e) == 0 &&
                 store_lock(s, STORE_LOCK_SWEEP, "sweep other", 120, NULL, NULL, e, sizeof e) == 0;
        if (write(pfd[1], ok ? "y" : "n", 1) != 1) _exit(2);
        pause();
        _exit(0);
    }
    char c = 0;
    cr_assert_eq(read(pfd[0], &c, 1), 1);
    cr_assert_eq(c, 'y');
    sweep_run_opts o = {.db_path = db,
                        .ckpt_dir = other,
                        .exe = exe,
                        .workers = 1,
                        .threads = 1,
                        .shard_i = 1,
                        .shard_n = 1};
    sweep_progress last;
    cr_assert_neq(sweep_run(&p, &o, &last, err, sizeof err), 0, "two sweeps on one database");
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)holder);
    cr_assert(strstr(err, pid) && strstr(err, "sweep other"), "%s", err);
    /* the holder dies without releasing it (SIGKILL): the lock is stale. Its
     * workers died with it, on whatever node: their run locks (fresh
     * heartbeats from another host) go; a plain trainer's lock stays. */
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    sqlite3 *raw = NULL;
    cr_assert_eq(sqlite3_open(db, &raw), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(raw,
                              "INSERT INTO locks VALUES ('run:w', 'node9', 1, 0, 'sweep worker "
                              "(sweep lk)', 'now', 1e12, 600), ('run:t', 'node9', 1, 0, 'scaling "
                              "train', 'now', 1e12, 600)",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(raw));
    sqlite3_close(raw);
    cr_assert_eq(sweep_run(&p, &o, &last, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_prepare_v2(raw, "SELECT group_concat(name) FROM locks", -1, &q, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "run:t");
    sqlite3_finalize(q);
    sqlite3_close(raw);
    close(pfd[0]);
    close(pfd[1]);
    sweep_plan_free(&p);
}

/* ---- WSD families ------------------------------------------------------------ */

Test(sweep, wsd_isoflop_trunks_branches_and_flops) {
    char path[512], err[UTIL_ERRLEN];
    /* five budgets a factor ~3.2 apart, as in the chinchilla preset */
    sweep_file(path, sizeof path, "wsdplan",
               "mode = isoflop\nn_ctx = 16\nbatch = 2\nhead_size = 8\nwarmup_frac = 0.1\n"
               "schedule = wsd\ncooldown = 0.2\n"
               "[a]\nbudget = logspace(1e9, 1e11, 5)\nd_model = 16, 32\nn_layer = 1\n");
    sweep_plan p, cos;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    const char *ov[] = {"schedule=cosine"};
    cr_assert_eq(parse(path, ov, 1, &cos, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 10);
    cr_assert_eq(cos.nruns, 10);
    double nominal = 0, trained = 0, cos_flops = 0;
    int trunks = 0;
    for (int i = 0; i < p.nruns; i++) {
        const sweep_item *r = &p.runs[i];
        nominal += r->flops;
        trained += r->flops_trained;
        cos_flops += cos.runs[i].flops_trained;
        cr_assert_eq(cos.runs[i].parent, -1);
        cr_assert_eq(cos.runs[i].cfg.nkeep, 0);
        if (r->parent < 0) {
            /* the largest budget of its shape, keeping a checkpoint per branch */
            trunks++;
            cr_assert_eq(r->cfg.nkeep, 4, "%s keeps %d", r->id, r->cfg.nkeep);
            cr_assert_float_eq(r->compute_budget, 1e11, 1e-3);
            continue;
        }
        const sweep_item *t = &p.runs[r->parent];
        cr_assert_eq(t->parent, -1);
        cr_assert_eq(t->cfg.shape.d_model, r->cfg.shape.d_model);
        cr_assert_str_eq(r->cfg.fork_parent, t->id);
        cr_assert_eq(r->cfg.warmup, t->cfg.warmup); /* one warm-up per family */
        int64_t tps = (int64_t)r->cfg.batch * r->cfg.shape.n_ctx;
        cr_assert_eq(r->cfg.fork_tokens,
                     model_wsd_decay_start(&r->cfg, model_train_steps(&r->cfg)) * tps);
        int kept = 0;
        for (int k = 0; k < t->cfg.nkeep; k++)
            kept |= t->cfg.keep_tokens[k] == r->cfg.fork_tokens;
        cr_assert(kept, "trunk %s does not keep %lld", t->id, (long long)r->cfg.fork_tokens);
        cr_assert_float_eq(r->flops_trained,
                           (double)(r->cfg.tokens - r->cfg.fork_tokens) * r->flops_per_token,
                           1e-6 * r->flops);
        cr_assert_lt(r->flops_trained, 0.25 * r->flops);
        /* its own budget, and its fork in its id and JSON */
        cr_assert(strstr(r->config_json, "\"fork_parent\""), "%s", r->config_json);
        char id[17];
        model_run_id(&r->cfg, id);
        cr_assert_str_eq(id, r->id);
    }
    cr_assert_eq(trunks, 2);
    cr_assert_float_eq(cos_flops, nominal, 1e-6 * nominal);
    cr_assert_leq(trained, 0.75 * nominal, "WSD trains %.4g of %.4g nominal FLOPs (%.3f)", trained,
                  nominal, trained / nominal);

    /* shards keep each family together */
    for (int N = 2; N <= 3; N++)
        for (int I = 1; I <= N; I++) {
            int o[10], m;
            sweep_order(&p, I, N, o, &m);
            for (int k = 0; k < m; k++) {
                int par = p.runs[o[k]].parent, found = par < 0;
                for (int j = 0; j < m && !found; j++)
                    found = o[j] == par;
                cr_assert(found, "shard %d/%d holds a branch without its trunk", I, N);
            }
        }

    /* the dry run prints both sums */
    char out[65536];
    int rc = tl_sh(out, sizeof out, "%s sweep %s --dry-run --no-estimate --db %s/wsdplan.db", bin(),
                   path, tmp);
    cr_assert_eq(rc, 0, "%s", out);
    char want[128];
    snprintf(want, sizeof want, "FLOPs trained (%.3f of nominal)", trained / nominal);
    cr_assert_not_null(strstr(out, want), "want '%s' in:\n%s", want, out);
    cr_assert_not_null(strstr(out, "branch of "), "%s", out);
    sweep_plan_free(&p);
    sweep_plan_free(&cos);
}

/* The pid of the `scaling train` worker of run id (from /proc), 0 if none. */
static pid_t worker_pid(const char *id) {
    pid_t found = 0;
    FILE *ls = popen("ls /proc", "r");
    char name[64];
    while (!found && ls && fgets(name, sizeof name, ls)) {
        int pid = atoi(name);
        if (pid <= 0) continue;
        char path[128], buf[8192];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (!buf[i]) buf[i] = ' ';
        buf[n] = 0;
        char needle[64];
        snprintf(needle, sizeof needle, " train ");
        char idn[64];
        snprintf(idn, sizeof idn, "--run-id %s ", id);
        if (strstr(buf, needle) && strstr(buf, idn)) found = pid;
    }
    if (ls) pclose(ls);
    return found;
}

static double final_loss(const char *db, const char *id) {
    sqlite3 *h;
    double l = NAN;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        sqlite3_prepare_v2(h, "SELECT final_val_loss FROM runs WHERE id = ?1", -1, &q, NULL);
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW) l = sqlite3_column_double(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return l;
}

Test(sweep, wsd_trunk_sigkilled_while_branches_wait_resumes_to_identical_results, .timeout = 900) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "wsdkill",
               "name = wsdkill\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "lr = 3e-3\nwarmup = 5\nevals = 4\neval_windows = 4\ncheckpoint_secs = 0.01\n"
               "log_every = 5\nschedule = wsd\n"
               "[iso]\nbudget = 1e9, 2e9, 8e9\nd_model = 16\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 3);
    int trunk = -1;
    for (int i = 0; i < 3; i++)
        if (p.runs[i].parent < 0) trunk = i;
    cr_assert_geq(trunk, 0);
    const sweep_item *T = &p.runs[trunk];
    cr_assert_eq(T->cfg.nkeep, 2);

    char dbA[512], dbB[512], out[65536];
    snprintf(dbA, sizeof dbA, "%s/wa.db", tmp);
    int rc = run_sweep(path, dbA, out, sizeof out);
    cr_assert_eq(rc, 0, "sweep exited %d:\n%s", rc, out);
    cr_assert_eq(count_status(dbA, "done"), 3, "%s", out);

    /* B: SIGKILL the trunk's worker after its first checkpoint, before it has
     * reached its last fork point (a branch still waits for it). Between the
     * check and the signal a fast machine can write that fork checkpoint;
     * then the branch may start and the trial proves nothing: try again on a
     * fresh database (up to 6 times). */
    char last_fork[1200], trunk_ckpt[1200];
    int killed = 0, st = 0;
    for (int attempt = 0; attempt < 6 && !killed; attempt++) {
        snprintf(dbB, sizeof dbB, "%s/wb%d.db", tmp, attempt);
        snprintf(trunk_ckpt, sizeof trunk_ckpt, "%s.runs/%s.ckpt", dbB, T->id);
        model_fork_path(trunk_ckpt, T->cfg.keep_tokens[T->cfg.nkeep - 1], last_fork,
                        sizeof last_fork);
        pid_t pid = spawn_sweep(path, dbB);
        double t0 = util_now();
        while (util_now() - t0 < 300) {
            if (waitpid(pid, &st, WNOHANG) == pid) break;
            if (access(trunk_ckpt, F_OK) == 0 && access(last_fork, F_OK) != 0) {
                pid_t w = worker_pid(T->id);
                if (w > 0 && access(last_fork, F_OK) != 0) {
                    kill(w, SIGKILL);
                    killed = 1;
                    break;
                }
            }
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        waitpid(pid, &st, 0);
        if (killed && access(last_fork, F_OK) == 0) killed = 0; /* written just before the kill */
    }
    cr_assert(killed, "the trunk reached its last fork point before it could be killed, 6 times");
    /* the sweep went on: the branch whose fork checkpoint never came failed */
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "sweep status %d", st);
    cr_assert_lt(count_status(dbB, "done"), 3);
    cr_assert_geq(count_status(dbB, "failed"), 2); /* the trunk and a waiting branch */
    {
        /* the waiting branch's log says why it did not start */
        int waiting = -1;
        for (int i = 0; i < 3; i++)
            if (p.runs[i].parent >= 0 &&
                p.runs[i].cfg.fork_tokens == T->cfg.keep_tokens[T->cfg.nkeep - 1])
                waiting = i;
        cr_assert_geq(waiting, 0);
        char logp[1200], *text = NULL, e2[UTIL_ERRLEN];
        size_t n;
        snprintf(logp, sizeof logp, "%s.runs/%s.log", dbB, p.runs[waiting].id);
        cr_assert_eq(util_read_file(logp, &text, &n, e2, sizeof e2), 0, "%s", e2);
        cr_assert(strstr(text, "not started: trunk"), "%s", text);
        free(text);
    }

    rc = run_sweep(path, dbB, out, sizeof out);
    cr_assert_eq(rc, 0, "resumed sweep exited %d:\n%s", rc, out);
    cr_assert_eq(count_status(dbB, "done"), 3, "%s", out);
    for (int i = 0; i < 3; i++) {
        double la = final_loss(dbA, p.runs[i].id), lb = final_loss(dbB, p.runs[i].id);
        cr_assert(isfinite(la) && la > 0, "run %s: loss %g", p.runs[i].id, la);
        cr_assert(memcmp(&la, &lb, sizeof la) == 0, "run %s: %.17g uninterrupted vs %.17g resumed",
                  p.runs[i].id, la, lb);
    }
    /* the trunk resumed from its checkpoint, not from scratch */
    {
        char logp[1200], *text = NULL, e2[UTIL_ERRLEN];
        size_t n;
        snprintf(logp, sizeof logp, "%s.runs/%s.log", dbB, T->id);
        cr_assert_eq(util_read_file(logp, &text, &n, e2, sizeof e2), 0, "%s", e2);
        const char *second = strstr(text, "start_step=");
        second = second ? strstr(second + 1, "start_step=") : NULL;
        cr_assert_not_null(second, "%s", text);
        cr_assert(second[11] >= '1' && second[11] <= '9', "restarted from scratch:\n%s", text);
        free(text);
    }
    /* the family in the database, the fork checkpoints gone */
    store *s;
    cr_assert_eq(store_open(&s, dbB, STORE_READONLY, err, sizeof err), 0, "%s", err);
    double trained = 0, nominal = 0;
    for (int i = 0; i < 3; i++) {
        store_run r;
        store_run_init(&r);
        cr_assert_eq(store_get_run(s, p.runs[i].id, &r, err, sizeof err), 0, "%s", err);
        if (i == trunk) {
            cr_assert_str_eq(r.parent_run, "");
            cr_assert_eq(r.fork_tokens, -1);
        } else {
            cr_assert_str_eq(r.parent_run, T->id);
            cr_assert_eq(r.fork_tokens, p.runs[i].cfg.fork_tokens);
        }
        trained += (double)(r.tokens_done - (r.fork_tokens > 0 ? r.fork_tokens : 0)) *
                   r.flops_per_token_chinchilla;
        nominal += (double)r.tokens_done * r.flops_per_token_chinchilla;
        store_run_free_fields(&r);
    }
    store_close(s);
    double pt = 0, pn = 0;
    for (int i = 0; i < 3; i++)
        pt += p.runs[i].flops_trained, pn += p.runs[i].flops;
    cr_assert_float_eq(trained / nominal, pt / pn, 1e-9);
    for (int k = 0; k < T->cfg.nkeep; k++) {
        char f[1300];
        model_fork_path(trunk_ckpt, T->cfg.keep_tokens[k], f, sizeof f);
        cr_assert_neq(access(f, F_OK), 0, "%s was left behind", f);
    }
    sweep_plan_free(&p);
}

/* ---- held-out runs (issue 15) ------------------------------------------------ */

Test(sweep, holdout_section_plans_its_own_runs_and_bad_values_are_refused) {
    char path[512], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "ho",
               "name = ho\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\nschedule = wsd\n"
               "[iso]\nbudget = 1e9, 2e9\nd_model = 16\nn_layer = 1\n"
               "[held]\nholdout = true\nbudget = 4e9\nd_model = 16\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 3);
    int held = -1;
    for (int i = 0; i < p.nruns; i++) {
        cr_assert_eq(p.runs[i].holdout, !strcmp(p.runs[i].label, "held"));
        if (p.runs[i].holdout) held = i;
    }
    cr_assert_geq(held, 0);
    /* same shape and schedule as [iso]'s family, yet its own run: no fitted
     * run branches off it, and it branches off none */
    cr_assert_eq(p.runs[held].parent, -1);
    for (int i = 0; i < p.nruns; i++)
        cr_assert_neq(p.runs[i].parent, held);
    sweep_plan_free(&p);
    /* holdout = maybe, and holdout in [sweep], are one-line errors */
    sweep_file(path, sizeof path, "ho2",
               "mode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "[held]\nholdout = maybe\nbudget = 4e9\nd_model = 16\nn_layer = 1\n");
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    cr_assert(strstr(err, "ho2.ini:") && strstr(err, "holdout = maybe: expected true or false"),
              "%s", err);
    sweep_file(path, sizeof path, "ho3",
               "mode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\nholdout = true\n"
               "[iso]\nbudget = 4e9\nd_model = 16\nn_layer = 1\n");
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    cr_assert(strstr(err, "holdout = true: expected in a section of its own"), "%s", err);
}

/* The held-out run is trained, never fitted (the fit's run count leaves it
 * out, and no stored fit names it), and predict and fit list it with its
 * measured loss and each approach's prediction. */
Test(sweep, holdout_runs_never_enter_a_fit_and_are_predicted, .timeout = 600) {
    char path[512], db[600], out[1 << 16], err[UTIL_ERRLEN];
    sweep_file(path, sizeof path, "hofit",
               "name = hofit\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "lr = 3e-3\nwarmup = 2\nevals = 2\neval_windows = 4\nlog_every = 5\n"
               "[iso]\nbudget = 1e9, 2e9, 4e9\nd_model = 16, 24, 32\nn_layer = 1\n"
               "[held]\nholdout = true\nbudget = 4e9\nd_model = 40\nn_layer = 1\n");
    sweep_plan p;
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    char held[17] = "";
    for (int i = 0; i < p.nruns; i++)
        if (p.runs[i].holdout) snprintf(held, sizeof held, "%s", p.runs[i].id);
    cr_assert(held[0]);
    snprintf(db, sizeof db, "%s/hofit.db", tmp);
    cr_assert_eq(run_sweep(path, db, out, sizeof out), 0, "%s", out);
    int done = count_status(db, "done");
    cr_assert_eq(done, p.nruns, "%s", out);
    /* fit: the run count is the fitted runs only */
    cr_assert_eq(
        tl_sh(out, sizeof out, "%s fit --sweep hofit --db %s --bootstrap 20 --json", bin(), db), 0,
        "%s", out);
    char want[64];
    snprintf(want, sizeof want, "\"runs\":\t%d", done - 1);
    cr_assert_not_null(strstr(out, want), "%s", out);
    char *ho = strstr(out, "\"holdout\"");
    cr_assert_not_null(ho, "%s", out);
    cr_assert_not_null(strstr(ho, held), "%s", out);
    cr_assert_not_null(strstr(ho, "\"measured_loss\""), "%s", out);
    *ho = 0; /* before the held-out check, the id is nowhere */
    cr_assert_null(strstr(out, held), "%s", out);
    /* and no stored fit names it, in its parameters or its selection */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT count(*), sum(instr(params_json, ?1) + "
                                    "instr(selection_json, ?1)) FROM fits",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(st, 1, held, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_geq(sqlite3_column_int(st, 0), 1);
    cr_assert_eq(sqlite3_column_int(st, 1), 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    /* predict lists it with the measured loss and, from Approach 3, a
     * predicted loss and the error in % */
    cr_assert_eq(tl_sh(out, sizeof out, "%s predict --sweep hofit --db %s", bin(), db), 0, "%s",
                 out);
    char *line = strstr(out, held);
    cr_assert(line && strstr(line, "measured loss"), "%s", out);
    if (strstr(out, "approach3  predicts")) cr_assert_not_null(strstr(out, "error "), "%s", out);
    cr_assert(strstr(out, "approach3  predicts") || strstr(out, "approach1  n/a"), "%s", out);
    /* the report's Answer section holds the same check */
    char rep[700], *html = NULL, e2[UTIL_ERRLEN];
    size_t hn = 0;
    snprintf(rep, sizeof rep, "%s/horep", tmp);
    cr_assert_eq(tl_sh(out, sizeof out, "%s report --sweep hofit --db %s --out %s", bin(), db, rep),
                 0, "%s", out);
    snprintf(rep, sizeof rep, "%s/horep/index.html", tmp);
    cr_assert_eq(util_read_file(rep, &html, &hn, e2, sizeof e2), 0, "%s", e2);
    char *hc = strstr(html, "Held-out check: runs trained but never fitted");
    cr_assert(hc && strstr(hc, held), "no held-out check naming %s in the report", held);
    free(html);
    sweep_plan_free(&p);
}

/* ---- adaptive sizes (params = auto) ---------------------------------------- */

/* N as the planner counts it, tokens at the budget, and epochs. */
static void auto_check_shape(const sweep_auto_space *sp, double budget, const model_shape *s,
                             double *N, double *tpp, double *epochs) {
    model_counts c;
    model_count_params(s, &c);
    *N = (double)(sp->count_total ? c.total : c.nonembedding);
    double t = (double)sweep_tokens_for_budget(budget, model_flops_per_token(s, sp->flops),
                                               sp->tokens_per_step);
    *tpp = t / *N;
    *epochs = t / (double)sp->epoch_tokens;
}

Test(sweep, auto_placement_never_breaks_its_constraints) {
    /* random budgets, centres (priors) and corpus sizes: every placement is k
     * distinct sizes, ascending, each with >= 2 layers, >= 1 token per
     * parameter and <= 4 epochs; every refusal names a budget that works */
    util_rng r;
    util_rng_seed(&r, 11, "auto placement");
    int placed = 0, refused = 0;
    for (int trial = 0; trial < 120; trial++) {
        sweep_auto_space sp = {0};
        sp.k = 3 + (int)util_rng_below(&r, 5);
        sp.width_dex = 0.25 + 0.75 * util_rng_uniform(&r);
        sp.count_total = (int)util_rng_below(&r, 2);
        sp.aspect = util_rng_below(&r, 2) ? 16 : 32;
        sp.ff_mult = 4;
        sp.head_size = util_rng_below(&r, 2) ? 8 : 16;
        sp.n_ctx = util_rng_below(&r, 2) ? 32 : 64;
        sp.n_vocab = 256;
        sp.flops = util_rng_below(&r, 2) ? MODEL_FLOPS_CHINCHILLA : MODEL_FLOPS_KAPLAN;
        sp.tokens_per_step = 16LL * sp.n_ctx;
        sp.epoch_tokens = (uint64_t)pow(10, 5 + 4 * util_rng_uniform(&r));
        double budget = pow(10, 10 + 5 * util_rng_uniform(&r));
        double center = pow(10, 3 + 4 * util_rng_uniform(&r));
        model_shape sh[8];
        double tg[8];
        char err[UTIL_ERRLEN];
        int rc = sweep_auto_place(&sp, budget, center, sh, tg, err, sizeof err);
        if (rc) {
            refused++;
            const char *at = strstr(err, "allows them is ");
            if (!at) {
                cr_assert_not_null(strstr(err, "no budget allows them"), "%s", err);
                continue;
            }
            double ok = atof(at + strlen("allows them is "));
            cr_assert(ok > 0, "%s", err);
            char e2[UTIL_ERRLEN];
            cr_assert_eq(sweep_auto_place(&sp, ok, center, sh, tg, e2, sizeof e2), 0,
                         "refused %.3g (%s) but then %.4g: %s", budget, err, ok, e2);
            continue;
        }
        placed++;
        double prevN = 0;
        for (int i = 0; i < sp.k; i++) {
            double N, tpp, ep;
            auto_check_shape(&sp, budget, &sh[i], &N, &tpp, &ep);
            cr_assert_geq(sh[i].n_layer, SWEEP_AUTO_MIN_LAYERS, "trial %d size %d", trial, i);
            cr_assert_geq(tpp, SWEEP_AUTO_MIN_TPP, "trial %d size %d: %.3g tokens/param", trial,
                          i, tpp);
            cr_assert_leq(ep, SWEEP_AUTO_MAX_EPOCHS, "trial %d size %d: %.3g epochs", trial, i,
                          ep);
            cr_assert_gt(N, prevN, "trial %d: sizes not distinct and ascending", trial);
            cr_assert_eq(sh[i].d_model % sp.head_size, 0);
            prevN = N;
        }
    }
    /* the draws cover both outcomes */
    cr_assert_gt(placed, 20, "placed %d", placed);
    cr_assert_gt(refused, 5, "refused %d", refused);
}

Test(sweep, auto_window_follows_its_centre_and_slides_at_a_constraint) {
    /* a corpus of 5e7 tokens: at 1e12 FLOPs the epoch limit binds below the
     * smallest size here, and 1 token per parameter near 4e5 */
    sweep_auto_space sp = {5, 0.5, 1, 16, 4, 8, 64, 256, MODEL_FLOPS_CHINCHILLA, 1024, 50000000};
    model_shape a[5], b[5];
    char err[UTIL_ERRLEN];
    /* a larger centre moves the window up */
    cr_assert_eq(sweep_auto_place(&sp, 1e12, 2e4, a, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sweep_auto_place(&sp, 1e12, 2e5, b, NULL, err, sizeof err), 0, "%s", err);
    model_counts ca, cb;
    model_count_params(&a[2], &ca);
    model_count_params(&b[2], &cb);
    cr_assert_gt(cb.total, 3 * ca.total);
    /* a centre far above what 1 token per parameter allows: the window
     * slides down against the constraint instead of breaking it */
    cr_assert_eq(sweep_auto_place(&sp, 1e12, 1e9, b, NULL, err, sizeof err), 0, "%s", err);
    double N, tpp, ep;
    auto_check_shape(&sp, 1e12, &b[4], &N, &tpp, &ep);
    cr_assert_geq(tpp, 1.0);
    cr_assert_lt(tpp, 1.0 * pow(10, 2 * sweep_auto_step(&sp) + 0.1), "tpp %g: not at the edge",
                 tpp);
}

Test(sweep, auto_vertex_and_extrapolation_recover_known_optima) {
    /* L = 2 + 0.3 (ln N - ln 3e4)^2: the vertex is 3e4 */
    double N[7], L[7];
    for (int i = 0; i < 7; i++) {
        N[i] = 1e4 * pow(10, i / 6.0);
        double u = log(N[i] / 3e4);
        L[i] = 2 + 0.3 * u * u;
    }
    int valley;
    cr_assert_float_eq(sweep_auto_vertex(N, L, 7, 0.5, &valley), 3e4, 3e4 * 1e-9);
    cr_assert_eq(valley, 1);
    /* losses that fall all the way: the vertex is kept within 0.5 dex */
    for (int i = 0; i < 7; i++)
        L[i] = 3 - 0.1 * i + 0.001 * i * i;
    double v = sweep_auto_vertex(N, L, 7, 0.5, &valley);
    cr_assert_eq(valley, 1);
    cr_assert_leq(v, 1e5 * pow(10, 0.5) * (1 + 1e-9));
    /* no valley at all: the lowest loss */
    for (int i = 0; i < 7; i++)
        L[i] = 3 - 0.1 * i - 0.01 * i * i;
    cr_assert_float_eq(sweep_auto_vertex(N, L, 7, 0.5, &valley), N[6], 1e-9 * N[6]);
    cr_assert_eq(valley, 0, "no valley is said");
    /* N_opt = 0.1 C^0.45 from three budgets; the slope and the next optimum */
    double C[3] = {1e11, 1e12, 1e13}, No[3], a;
    for (int i = 0; i < 3; i++)
        No[i] = 0.1 * pow(C[i], 0.45);
    double n = sweep_auto_extrapolate(C, No, 3, 1e14, 0.5, &a);
    cr_assert_float_eq(a, 0.45, 1e-9);
    cr_assert_float_eq(n, 0.1 * pow(1e14, 0.45), 1e-6 * n);
    /* one budget: the prior slope through it */
    n = sweep_auto_extrapolate(C, No, 1, 1e13, 0.5, &a);
    cr_assert_float_eq(a, 0.5, 1e-12);
    cr_assert_float_eq(n, No[0] * 10, 1e-6 * n); /* (100x)^0.5 */
    /* a slope outside [0.25, 0.75] is clamped */
    for (int i = 0; i < 3; i++)
        No[i] = pow(C[i], 0.95);
    sweep_auto_extrapolate(C, No, 3, 1e14, 0.5, &a);
    cr_assert_float_eq(a, SWEEP_AUTO_A_MAX, 1e-12);
}

/* id|loss of every finished run of db, sorted, into out. */
static void done_runs(const char *db, char *out, size_t n) {
    tl_sh(out, n, "sqlite3 %s \"SELECT id || ' ' || printf('%%.12g', final_val_loss) FROM runs "
                  "WHERE status = 'done' ORDER BY id\"",
          db);
}

Test(sweep, auto_plan_is_identical_across_resume_and_shards, .timeout = 900) {
    char path[512], out[65536];
    sweep_file(path, sizeof path, "auto",
               "name = auto\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\naspect = 8\n"
               "lr = 3e-3\nwarmup = 5\nevals = 3\neval_windows = 4\nschedule = wsd\n"
               "cooldown = 0.2\ncheckpoint_secs = 0.01\nseed = 1, 2\n"
               "[iso]\nbudget = 2e9, 3e9, 4.5e9\nparams = auto\nparams_count = total\n"
               "auto_sizes = 3\nauto_width = 0.3\nprior_tokens_per_param = 10\n"
               "[held]\nholdout = true\nbudget = 9e9\nparams = optimal\nseed = 1\n");
    /* planned without a database: the first budget only, the rest said */
    sweep_plan p;
    char err[UTIL_ERRLEN];
    cr_assert_eq(parse(path, NULL, 0, &p, err), 0, "%s", err);
    cr_assert_eq(p.nruns, 6, "3 sizes x 2 seeds at the first budget, got %d", p.nruns);
    cr_assert_eq(p.npending, 3, "2 budgets and the held-out run wait, got %d", p.npending);
    cr_assert_not_null(strstr(p.pending, "wait"), "%s", p.pending);
    for (int i = 0; i < p.nruns; i++) {
        cr_assert_eq(p.runs[i].stage, 0);
        cr_assert_geq(p.runs[i].cfg.shape.n_layer, 2);
        cr_assert_eq(p.runs[i].cfg.nkeep, 1, "keeps its stable phase for the next budget");
    }
    sweep_plan_free(&p);

    /* one machine, one command: every budget, then the held-out run */
    char dbA[600], a[65536];
    snprintf(dbA, sizeof dbA, "%s/auto-a.db", tmp);
    int rc = run_sweep(path, dbA, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    done_runs(dbA, a, sizeof a);
    int nA = count_status(dbA, "done");
    cr_assert_eq(nA, 3 * 6 + 1, "%s", out);
    cr_assert_null(strstr(out, "not planned yet"), "%s", out);
    /* chains: a size at a later budget forked from its earlier run */
    char q[4096];
    tl_sh(q, sizeof q, "sqlite3 %s \"SELECT count(*) FROM runs WHERE parent_run IS NOT NULL\"",
          dbA);
    cr_assert_gt(atoi(q), 0, "no WSD chain: %s", q);
    tl_sh(q, sizeof q, "sqlite3 %s \"SELECT count(*) FROM sweep_runs WHERE holdout = 1\"", dbA);
    cr_assert_eq(atoi(q), 1, "held-out runs: %s", q);

    /* the same plan again: nothing to train */
    rc = run_sweep(path, dbA, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_null(strstr(out, "start "), "%s", out);

    /* two shards with a merge between rounds: the same runs, the same losses */
    char s1[600], s2[600], b[65536];
    snprintf(s1, sizeof s1, "%s/auto-s1.db", tmp);
    snprintf(s2, sizeof s2, "%s/auto-s2.db", tmp);
    for (int round = 0; round < 8 && count_status(s1, "done") < nA; round++) {
        for (int i = 1; i <= 2; i++) {
            rc = tl_sh(out, sizeof out, "%s sweep %s --db %s --shard %d/2 -j 1 --threads 1 --quiet",
                       bin(), path, i == 1 ? s1 : s2, i);
            cr_assert_eq(rc, 0, "round %d shard %d: %s", round, i, out);
        }
        if (round == 0) { /* a shard alone cannot plan the next budget, and says so */
            cr_assert_not_null(strstr(out, "not planned yet"), "%s", out);
            rc = tl_sh(out, sizeof out, "%s status --db %s", bin(), s1);
            cr_assert(rc == 0 && strstr(out, "not planned yet: 3 budgets"), "%s", out);
        }
        rc = tl_sh(out, sizeof out, "%s merge %s %s && %s merge %s %s", bin(), s1, s2, bin(), s2,
                   s1);
        cr_assert_eq(rc, 0, "%s", out);
    }
    done_runs(s1, b, sizeof b);
    cr_assert_str_eq(b, a, "shards:\n%s\none machine:\n%s", b, a);

    /* SIGKILLed once the second budget is under way, then resumed */
    char dbC[600], c2[65536];
    snprintf(dbC, sizeof dbC, "%s/auto-c.db", tmp);
    pid_t pid = spawn_sweep(path, dbC);
    double t0 = util_now();
    int st;
    while (util_now() - t0 < 300) {
        if (waitpid(pid, &st, WNOHANG) == pid) break;
        if (count_status(dbC, "done") >= 7) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rc = run_sweep(path, dbC, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    done_runs(dbC, c2, sizeof c2);
    cr_assert_str_eq(c2, a, "resumed:\n%s\none machine:\n%s", c2, a);
}

Test(sweep, auto_refusals_name_the_line_and_the_way_out) {
    char path[512], err[UTIL_ERRLEN];
    sweep_plan p;
    const char *head = "name = r\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
                       "aspect = 8\nschedule = wsd\n[iso]\nparams = auto\nauto_sizes = 3\n"
                       "auto_width = 0.3\nparams_count = total\n";
    char body[2048];
    /* every budget is checked before any trains, and the way out works */
    snprintf(body, sizeof body, "%sbudget = 2e9, 1e14\n", head);
    sweep_file(path, sizeof path, "r1", body);
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    cr_assert(strstr(err, "r1.ini:") && strstr(err, "budget 1e+14 FLOPs") &&
                  strstr(err, "the largest budget that allows them is "),
              "%s", err);
    char ok[64];
    snprintf(ok, sizeof ok, "iso.budget=%s",
             strstr(err, "allows them is ") + strlen("allows them is "));
    *strchr(ok, ' ') = 0;
    const char *ov[] = {ok};
    cr_assert_eq(parse(path, ov, 1, &p, err), 0, "%s: %s", ok, err);
    sweep_plan_free(&p);
    /* params = optimal only in a held-out section */
    snprintf(body, sizeof body, "%sbudget = 2e9\n[opt]\nbudget = 8e9\nparams = optimal\n", head);
    sweep_file(path, sizeof path, "r2", body);
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    cr_assert(strstr(err, "set holdout = true in [opt]"), "%s", err);
    /* the planner's keys only with params = auto */
    sweep_file(path, sizeof path, "r3",
               "name = r\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "[iso]\nbudget = 2e9\nshapes = 2x16\nauto_sizes = 3\n");
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    cr_assert(strstr(err, "r3.ini:") && strstr(err, "auto_sizes: only sections with params = auto"),
              "%s", err);
    /* one run cannot be both fitted and held out */
    sweep_file(path, sizeof path, "r4",
               "name = r\nmode = isoflop\nn_ctx = 16\nbatch = 4\nhead_size = 8\n"
               "[iso]\nbudget = 2e9\nshapes = 2x16, 2x24\n[ho]\nholdout = true\nbudget = 2e9\n"
               "shapes = 2x24\n");
    cr_assert_neq(parse(path, NULL, 0, &p, err), 0);
    cr_assert(strstr(err, "cannot be both fitted and held out"), "%s", err);
}
