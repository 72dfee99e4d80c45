/*
 * test_plot.c — figures and the report: every figure drawn from a fixture
 * database of synthetic runs that follow a known L(N, D) (an IsoFLOP grid
 * with learning curves); figures skipped with a reason when their runs are
 * missing; gnuplot string quoting checked by gnuplot itself; gnuplot errors
 * and a missing gnuplot reported; HTML escaping of hostile names.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../analysis/plot.h"
#include "../results/store.h"
#include "testlib.h"

/* ---- Fixture ------------------------------------------------------------- */

/* The law the synthetic runs follow (Chinchilla-like, scaled to tiny models). */
#define LAW_E 1.8
#define LAW_A 60.0
#define LAW_B 90.0
#define LAW_ALPHA 0.34
#define LAW_BETA 0.28

static double law(double N, double D) {
    return LAW_E + LAW_A / pow(N, LAW_ALPHA) + LAW_B / pow(D, LAW_BETA);
}

static const char *HOSTILE_SWEEP = "sw<script>alert(1)</script>\"'&_^{x}";
static const char *HOSTILE_LABEL = "<script>alert(1)</script>";

/* mkdtemp'd directory for one test; removed (with its plain files) by rmdir_all. */
static void tmpdir(char *out, size_t n) {
    snprintf(out, n, "/tmp/test_plot.XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

static void rmdir_all(const char *dir) {
    if (getenv("SCALING_TEST_KEEP")) { /* debugging: keep the figures to look at */
        fprintf(stderr, "kept %s\n", dir);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rmdir_all(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Writes a database at path: with_budgets, an IsoFLOP grid of 4 budgets x 5
 * sizes; without, the same runs with no compute budget. Four data-limited
 * runs (no budget) are added in both. Every run has an eval curve of 8
 * points following law(N, tokens) with small deterministic noise.
 * One planned run and one failed run are added (not finished). */
static void make_fixture(const char *path, int with_budgets) {
    char err[UTIL_ERRLEN];
    store *s = NULL;
    cr_assert_eq(store_open(&s, path, STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(s, HOSTILE_SWEEP, with_budgets ? "isoflop" : "grid",
                                 "[sweep]\nname = <b>bold</b>\n", "{\"runs\": 22}", err,
                                 sizeof err),
                 0, "%s", err);
    static const double budgets[4] = {1e14, 4e14, 1.6e15, 6.4e15};
    int id = 0;
    for (int b = 0; b < 4; b++) {
        /* sizes around the law's optimum for this budget, 0.5 dex apart in total */
        double G = pow(LAW_ALPHA * LAW_A / (LAW_BETA * LAW_B), 1 / (LAW_ALPHA + LAW_BETA));
        double Nopt = G * pow(budgets[b] / 6, LAW_BETA / (LAW_ALPHA + LAW_BETA));
        for (int k = 0; k < 5; k++) {
            double N = round(Nopt * pow(10, (k - 2) * 0.3));
            double D = round(budgets[b] / (6 * N));
            store_run r;
            store_run_init(&r);
            snprintf(r.id, sizeof r.id, "run%02d", id);
            snprintf(r.sweep, sizeof r.sweep, "%s", HOSTILE_SWEEP);
            snprintf(r.label, sizeof r.label, "%s b%d k%d \"'&", id == 0 ? HOSTILE_LABEL : "iso", b,
                     k);
            snprintf(r.status, sizeof r.status, "running");
            r.n_vocab = 256;
            r.n_layer = 2 + k;
            r.d_model = 32;
            r.n_head = 2;
            r.n_ctx = 64;
            r.params_total = (int64_t)N;
            r.params_embedding = (int64_t)(N * 0.1);
            r.params_nonembedding = (int64_t)(N * 0.9);
            r.flops_per_token_chinchilla = 6 * N;
            r.flops_per_token_kaplan = 6 * N * 0.9;
            r.tokens = (int64_t)D;
            r.unique_tokens = 0;
            r.compute_budget = with_budgets ? budgets[b] : NAN;
            r.flops = 6 * N * D;
            cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
            double L = 0;
            for (int e = 1; e <= 8; e++) {
                double t = round(D * e / 8);
                double noise = 0.004 * sin(1.7 * id + 2.3 * e);
                L = law(N, t) + noise;
                cr_assert_eq(store_add_eval(s, r.id, e * 10, (int64_t)t, 6 * N * t, L, L / log(2),
                                            err, sizeof err),
                             0, "%s", err);
            }
            snprintf(r.status, sizeof r.status, "done");
            r.final_val_loss = L;
            r.best_val_loss = L;
            r.tokens_done = (int64_t)D;
            cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
            id++;
        }
    }
    /* data-limited runs of one larger size (Kaplan's L(D)): one epoch of a
     * limited set of unique tokens, so the law holds with D = unique tokens */
    for (int k = 0; k < 4; k++) {
        double N = 8e6, U = 3e6 * pow(10, k * 0.5);
        store_run r;
        store_run_init(&r);
        snprintf(r.id, sizeof r.id, "lim%d", k);
        snprintf(r.sweep, sizeof r.sweep, "%s", HOSTILE_SWEEP);
        snprintf(r.label, sizeof r.label, "data-limited %d", k);
        snprintf(r.status, sizeof r.status, "running");
        r.params_total = (int64_t)N;
        r.params_embedding = (int64_t)(N * 0.1);
        r.params_nonembedding = (int64_t)(N * 0.9);
        r.flops_per_token_chinchilla = 6 * N;
        r.flops_per_token_kaplan = 6 * N * 0.9;
        r.tokens = (int64_t)U;
        r.unique_tokens = (int64_t)U;
        r.flops = 6 * N * U;
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
        double L = 0;
        for (int e = 1; e <= 8; e++) {
            double t = round(U * e / 8);
            L = law(N, t) + 0.004 * sin(0.9 * k + 1.3 * e);
            cr_assert_eq(store_add_eval(s, r.id, e * 10, (int64_t)t, 6 * N * t, L, L / log(2), err,
                                        sizeof err),
                         0, "%s", err);
        }
        snprintf(r.status, sizeof r.status, "done");
        r.final_val_loss = r.best_val_loss = L;
        r.tokens_done = (int64_t)U;
        cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
    }
    /* a planned and a failed run: counted in the report, not plotted */
    for (int k = 0; k < 2; k++) {
        store_run r;
        store_run_init(&r);
        snprintf(r.id, sizeof r.id, "extra%d", k);
        snprintf(r.sweep, sizeof r.sweep, "%s", HOSTILE_SWEEP);
        snprintf(r.label, sizeof r.label, "%s", k ? "failed one" : HOSTILE_LABEL);
        snprintf(r.status, sizeof r.status, "%s", k ? "failed" : "planned");
        r.params_total = 1000;
        r.params_nonembedding = 900;
        r.tokens = 1000;
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    }
    store_close(s);
}

/* Test options: few bootstrap draws, few approach-3 starts, to stay fast. */
static plot_opts test_opts(void) {
    plot_opts o;
    plot_opts_defaults(&o);
    o.bootstrap = 8;
    o.a3_starts = 8;
    return o;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* No temporary (".NAME.png.tmp.PID") left in dir. */
static void assert_no_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert(!strstr(e->d_name, ".tmp."), "temporary left behind: %s/%s", dir, e->d_name);
    closedir(d);
}

/* Runs a shell command line, capturing stdout+stderr; returns the exit code. */
static int run_cmd(const char *cmdline, char *out, size_t n) {
    return tl_sh(out, n, "%s", cmdline);
}

/* ---- Quoting --------------------------------------------------------------- */

Test(plot, quote_rules) {
    char out[64], err[UTIL_ERRLEN];
    cr_assert_eq(plot_gp_quote("it's", out, sizeof out, err, sizeof err), 0);
    cr_assert_str_eq(out, "'it'.\"'\".'s'");
    cr_assert_eq(plot_gp_quote("''", out, sizeof out, err, sizeof err), 0);
    cr_assert_str_eq(out, "''.\"'\".''.\"'\".''");
    cr_assert_eq(plot_gp_quote("", out, sizeof out, err, sizeof err), 0);
    cr_assert_str_eq(out, "''");
    cr_assert_eq(plot_gp_quote("a\"b\\c$d`e", out, sizeof out, err, sizeof err), 0);
    cr_assert_str_eq(out, "'a\"b\\c$d`e'");
    cr_assert_eq(plot_gp_quote("line\nbreak", out, sizeof out, err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "control character 0x0a"), "%s", err);
    cr_assert_eq(plot_gp_quote("tab\there", out, sizeof out, err, sizeof err), UTIL_EINVAL);
    cr_assert_eq(plot_gp_quote("del\x7f", out, sizeof out, err, sizeof err), UTIL_EINVAL);
    cr_assert_eq(plot_gp_quote("''''''", out, 8, err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "too long"), "%s", err);
}

/* gnuplot itself reads the quoted literal back to the original bytes. */
Test(plot, quote_roundtrips_through_gnuplot) {
    char dir[64], path[128], q[512], qp[512], err[UTIL_ERRLEN], script[2048];
    tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/o'ut.txt", dir);
    const char *hostile = "a'b''c\"d\\e$f`g;h # system('x') @{}^_ é";
    cr_assert_eq(plot_gp_quote(hostile, q, sizeof q, err, sizeof err), 0, "%s", err);
    cr_assert_eq(plot_gp_quote(path, qp, sizeof qp, err, sizeof err), 0, "%s", err);
    snprintf(script, sizeof script, "set print %s\ns = %s\nprint s\nunset print\n", qp, q);
    cr_assert_eq(plot_gnuplot_run(NULL, script, strlen(script), err, sizeof err), 0, "%s", err);
    char *text = NULL;
    size_t n = 0;
    cr_assert_eq(util_read_file(path, &text, &n, err, sizeof err), 0, "%s", err);
    char want[512];
    snprintf(want, sizeof want, "%s\n", hostile);
    cr_assert_str_eq(text, want);
    free(text);
    rmdir_all(dir);
}

/* ---- gnuplot process ---------------------------------------------------------- */

Test(plot, gnuplot_error_is_reported) {
    char err[UTIL_ERRLEN];
    const char *bad = "set terminal svg\nset output '/dev/null'\nplot no_such_function(x)\n";
    cr_assert_eq(plot_gnuplot_run(NULL, bad, strlen(bad), err, sizeof err), UTIL_EEXTERNAL);
    cr_assert(strstr(err, "no_such_function") || strstr(err, "undefined"), "%s", err);
    const char *good = "set terminal svg\nset output '/dev/null'\nplot x\n";
    cr_assert_eq(plot_gnuplot_run(NULL, good, strlen(good), err, sizeof err), 0, "%s", err);
}

Test(plot, gnuplot_absent_names_the_package) {
    char err[UTIL_ERRLEN];
    const char *good = "print 1\n";
    cr_assert_eq(plot_gnuplot_run("/nonexistent", good, strlen(good), err, sizeof err),
                 UTIL_EEXTERNAL);
    cr_assert(strstr(err, "gnuplot-nox") && strstr(err, "/nonexistent"), "%s", err);

    /* through the CLI, with the environment override */
    char dir[64], db[128], cmd[1024], out[8192];
    tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    make_fixture(db, 1);
    snprintf(cmd, sizeof cmd,
             "SCALING_GNUPLOT=/nonexistent %s plot --figure kaplan-curves --db %s --out %s/fig",
             SCALING_BIN, db, dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "gnuplot-nox"), "%s", out);
    char path[256];
    snprintf(path, sizeof path, "%s/fig/kaplan-curves.png", dir);
    cr_assert_eq(file_size(path), -1);
    snprintf(cmd, sizeof cmd, "SCALING_GNUPLOT=/nonexistent %s report --db %s --out %s/rep",
             SCALING_BIN, db, dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "gnuplot-nox"), "%s", out);
    snprintf(path, sizeof path, "%s/rep/index.html", dir);
    cr_assert_eq(file_size(path), -1, "a report was written without figures");
    rmdir_all(dir);
}

/* A gnuplot that fails, or succeeds without writing, leaves the previous
 * figure as it was and no temporary behind. */
Test(plot, failed_gnuplot_keeps_previous_output) {
    char dir[64], db[128], cmd[1024], out[8192], path[256];
    tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    make_fixture(db, 1);
    snprintf(cmd, sizeof cmd, "%s plot --figure kaplan-curves --db %s --out %s", SCALING_BIN, db,
             dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    snprintf(path, sizeof path, "%s/kaplan-curves.png", dir);
    long before = file_size(path);
    cr_assert_gt(before, 15000);
    static const char *const fakes[2] = {"/bin/false", "/bin/true"};
    static const char *const says[2] = {"failed (exit 1)", "wrote no PNG"};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd,
                 "SCALING_GNUPLOT=%s %s plot --figure kaplan-curves --db %s --out %s", fakes[k],
                 SCALING_BIN, db, dir);
        cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
        /* /bin/true may exit before reading its script: "stopped reading" */
        cr_assert(strstr(out, says[k]) || (k && strstr(out, "stopped reading its script")), "%s",
                  out);
        cr_assert_eq(file_size(path), before, "previous figure changed");
        assert_no_temporaries(dir);
    }
    rmdir_all(dir);
}

/* ---- Figures ---------------------------------------------------------------- */

Test(plot, every_figure_from_a_full_sweep, .timeout = 300) {
    char dir[64], db[128], out[160], err[UTIL_ERRLEN], msg[1024], path[256];
    tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(out, sizeof out, "%s/fig", dir);
    make_fixture(db, 1);
    store *s = NULL;
    cr_assert_eq(store_open(&s, db, STORE_READONLY, err, sizeof err), 0, "%s", err);
    plot_opts o = test_opts();
    plot_ctx *c = NULL;
    cr_assert_eq(plot_ctx_open(&c, s, HOSTILE_SWEEP, &o, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < plot_figure_count; i++) {
        const char *name = plot_figure_names[i];
        int rc = plot_ctx_figure(c, name, out, msg, sizeof msg, err, sizeof err);
        cr_assert_eq(rc, 0, "%s: rc %d: %s%s", name, rc, rc < 0 ? err : "", rc > 0 ? msg : "");
        snprintf(path, sizeof path, "%s/%s.png", out, name);
        long png = file_size(path);
        cr_assert_gt(png, 15000, "%s: PNG only %ld bytes", name, png);
        FILE *pf = fopen(path, "rb");
        unsigned char magic[8] = {0};
        cr_assert_not_null(pf);
        cr_assert_eq(fread(magic, 1, 8, pf), 8);
        fclose(pf);
        cr_assert(!memcmp(magic, "\x89PNG\r\n\x1a\n", 8), "%s: not a PNG", name);
        snprintf(path, sizeof path, "%s/%s.svg", out, name);
        long svg = file_size(path);
        cr_assert_gt(svg, 15000, "%s: SVG only %ld bytes", name, svg);
        char *text = NULL;
        size_t n;
        cr_assert_eq(util_read_file(path, &text, &n, err, sizeof err), 0);
        cr_assert(strstr(text, "<svg") && strstr(text, "</svg>"), "%s: not an SVG", name);
        free(text);
    }
    assert_no_temporaries(out);
    cr_assert_eq(plot_ctx_figure(c, "no-such-figure", out, msg, sizeof msg, err, sizeof err),
                 UTIL_EINVAL);
    cr_assert(strstr(err, "kaplan-fig1"), "%s", err);
    plot_ctx_free(c);
    store_close(s);
    rmdir_all(dir);
}

Test(plot, missing_budgets_skip_isoflop_only, .timeout = 300) {
    char dir[64], db[128], cmd[1024], out[16384], path[256];
    tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    make_fixture(db, 0);
    snprintf(cmd, sizeof cmd,
             "%s plot --figure all --db %s --out %s/fig --bootstrap 4 --a3-starts 8", SCALING_BIN,
             db, dir);
    int rc = run_cmd(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "chinchilla-isoflop   skipped: no IsoFLOP budgets"), "%s", out);
    snprintf(path, sizeof path, "%s/fig/chinchilla-isoflop.png", dir);
    cr_assert_eq(file_size(path), -1, "a skipped figure was written");
    static const char *drawn[] = {"kaplan-fig1", "kaplan-curves", "chinchilla-envelope"};
    for (int i = 0; i < 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "%-20s drawn", drawn[i]);
        cr_assert(strstr(out, line), "%s not drawn:\n%s", drawn[i], out);
        snprintf(path, sizeof path, "%s/fig/%s.png", dir, drawn[i]);
        cr_assert_gt(file_size(path), 15000, "%s", path);
    }
    /* an empty database: every figure skipped, none fails */
    char db2[128];
    snprintf(db2, sizeof db2, "%s/empty.db", dir);
    char err[UTIL_ERRLEN];
    store *s = NULL;
    cr_assert_eq(store_open(&s, db2, STORE_CREATE, err, sizeof err), 0, "%s", err);
    store_close(s);
    snprintf(cmd, sizeof cmd, "%s plot --figure all --db %s --out %s/fig2", SCALING_BIN, db2, dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    int skipped = 0;
    for (const char *p = out; (p = strstr(p, "skipped:")); p++)
        skipped++;
    cr_assert_eq(skipped, plot_figure_count, "%s", out);
    assert_no_temporaries(dir);
    rmdir_all(dir);
}

Test(plot, unknown_sweep_is_an_error) {
    char dir[64], db[128], cmd[1024], out[8192];
    tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    make_fixture(db, 0);
    snprintf(cmd, sizeof cmd, "%s plot --figure all --sweep nosuch --db %s --out %s/fig",
             SCALING_BIN, db, dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "no sweep named 'nosuch'"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s report --sweep nosuch --db %s --out %s/rep", SCALING_BIN, db,
             dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "no sweep named 'nosuch'"), "%s", out);
    rmdir_all(dir);
}

Test(plot, cli_usage_errors) {
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s plot --figure bogus --out /tmp/x", SCALING_BIN);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "bogus") && strstr(out, "chinchilla-isoflop"), "%s", out);
    /* --out has a default now (out/<sweep>/, issue 17): a missing database is what fails */
    snprintf(cmd, sizeof cmd, "%s plot --figure all --db /nonexistent/r.db", SCALING_BIN);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "/nonexistent/r.db"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s plot --help", SCALING_BIN);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "usage: scaling plot"), "%s", out);
}

/* ---- Report ------------------------------------------------------------------- */

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

Test(report, escapes_hostile_names_and_links_every_figure, .timeout = 300) {
    char dir[64], db[128], cmd[1024], out[16384], path[256], err[UTIL_ERRLEN];
    tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    make_fixture(db, 1);
    setenv("PLOT_TEST_SWEEP", HOSTILE_SWEEP, 1);
    snprintf(cmd, sizeof cmd,
             "%s report --sweep \"$PLOT_TEST_SWEEP\" --db %s --out %s/rep --bootstrap 4 "
             "--a3-starts 8",
             SCALING_BIN, db, dir);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "report: ") && strstr(out, "/rep/index.html"), "%s", out);
    cr_assert_eq(count(out, " drawn"), plot_figure_count, "%s", out);

    snprintf(path, sizeof path, "%s/rep/index.html", dir);
    char *html = NULL;
    size_t n = 0;
    cr_assert_eq(util_read_file(path, &html, &n, err, sizeof err), 0, "%s", err);
    /* the page's one script is its own (it sorts the runs table), so any
     * other "<script" would be injected */
    char *own = strcasestr(html, "<script");
    static const char mine[] = "<script>document.querySelectorAll('table.sortable th')";
    cr_assert(own && !strncmp(own, mine, sizeof mine - 1),
              "the first script is not the page's own");
    cr_assert(!strcasestr(own + 7, "<script"), "unescaped script tag in the report");
    cr_assert(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), "label not escaped");
    cr_assert(strstr(html, "&quot;&#39;&amp;"), "quotes and ampersand not escaped");
    cr_assert(strstr(html, "&lt;b&gt;bold&lt;/b&gt;"), "sweep file not escaped");
    cr_assert(!strstr(html, "http:") && !strstr(html, "https:"), "report refers to the network");
    /* every figure linked relatively, and present beside the page */
    for (int i = 0; i < plot_figure_count; i++) {
        char img[128];
        snprintf(img, sizeof img, "<img src=\"%s.svg\"", plot_figure_names[i]);
        cr_assert(strstr(html, img), "%s missing from the page", plot_figure_names[i]);
        snprintf(path, sizeof path, "%s/rep/%s.svg", dir, plot_figure_names[i]);
        cr_assert_gt(file_size(path), 15000, "%s", path);
    }
    /* status counts (24 done, 1 planned, 1 failed) and the runs table */
    cr_assert(strstr(html, "<td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">24"
                           "</td><td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">26"
                           "</td>"),
              "status counts (planned running done failed diverged total) wrong");
    cr_assert(strstr(html, "Runs (26)"), "runs table");
    cr_assert_eq(count(html, "<tr><td><a href=\"#curve-run"), 20);
    cr_assert_eq(count(html, "<tr><td><a href=\"#curve-lim"), 4);
    cr_assert_eq(count(html, "<tr><td><a href=\"#curve-extra"), 2);
    /* the approach 3 row recovers the fixture's exponents, beside the published ones */
    cr_assert(strstr(html, "Chinchilla 2022"), "published values missing");
    /* the systematic table: 2 counts of N x 3 of C per estimator */
    cr_assert(strstr(html, "<h2 id=\"systematic\">Systematic table</h2>"), "no systematic table");
    static const char *const est[4] = {"approach3 in domain", "approach3 all runs",
                                       "approach2 window 2", "approach2 all sizes"};
    for (int e = 0; e < 4; e++)
        cr_expect_eq(count(html, est[e]), 6, "%s", est[e]);
    cr_assert(strstr(html, ">approach 3</td><td>α</td><td class=\"n\">0.3"), "alpha row");
    free(html);
    assert_no_temporaries(dir);
    rmdir_all(dir);
}

Test(report, html_escape_function) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    plot_html_escape(fp, "<a href=\"x\">'&'</a>");
    plot_html_escape(fp, NULL);
    fclose(fp);
    cr_assert_str_eq(buf, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    free(buf);
}
