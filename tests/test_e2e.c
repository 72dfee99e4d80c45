/*
 * test_e2e.c — the whole pipeline through the CLI, as a user runs it:
 * data prepare → sweep (isoflop, tiny models, worker processes) → database →
 * fit → plot → report, checking each stage's output, then a second sweep
 * invocation that must resume (nothing retrained).
 *
 * Everything lives in a mkdtemp directory made by the test; the corpus is
 * generated text (a few hundred "documents" of pseudo-English), so no
 * download is needed. One test on purpose: the stages depend on each other.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"
#include "testlib.h"

static char dir[256];
static char out[1 << 16];

/* Runs a shell command in the test directory; its exit code, output in `out`. */
#define sh(...) tl_sh_in(dir, out, sizeof out, __VA_ARGS__)

static long file_size(const char *name) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Pseudo-English: words drawn from a Zipf-ish vocabulary, so that bigger
 * models and more tokens both help, as on real text. */
static void write_corpus(void) {
    static const char *words[] = {
        "the",   "of",    "and",   "to",     "a",    "in",     "that",   "is",      "was",
        "he",    "for",   "it",    "with",   "as",   "his",    "on",     "be",      "at",
        "by",    "had",   "are",   "but",    "from", "or",     "have",   "an",      "they",
        "which", "one",   "you",   "were",   "her",  "all",    "she",    "there",   "would",
        "their", "we",    "him",   "been",   "has",  "when",   "who",    "will",    "more",
        "no",    "if",    "out",   "so",     "said", "what",   "up",     "its",     "about",
        "into",  "than",  "them",  "can",    "only", "other",  "new",    "some",    "could",
        "time",  "these", "two",   "may",    "then", "do",     "first",  "any",     "my",
        "now",   "such",  "like",  "our",    "over", "man",    "me",     "even",    "most",
        "made",  "after", "also",  "did",    "many", "before", "must",   "through", "back",
        "years", "where", "much",  "your",   "way",  "well",   "down",   "should",  "because",
        "each",  "just",  "those", "people", "how",  "too",    "little", "state",   "good",
        "very",  "make",  "world", "still"};
    int nw = (int)(sizeof words / sizeof words[0]);
    char path[512];
    snprintf(path, sizeof path, "%s/corpus", dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    util_rng r;
    util_rng_seed(&r, 5, "e2e-corpus");
    for (int d = 0; d < 120; d++) {
        snprintf(path, sizeof path, "%s/corpus/doc%03d.txt", dir, d);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        int prev = 0;
        for (int s = 0; s < 40; s++) {
            int len = 6 + (int)util_rng_below(&r, 10);
            for (int w = 0; w < len; w++) {
                /* A Markov-ish chain: the next word depends on the previous one
                 * half of the time, so there is structure to learn. */
                double u = util_rng_uniform(&r);
                int k = u < 0.5 ? (prev * 7 + 3) % nw : (int)(nw * u * u);
                if (w)
                    fprintf(f, " %s", words[k]);
                else
                    fprintf(f, "%c%s", words[k][0] - 32, words[k] + 1);
                prev = k;
            }
            fputs(". ", f);
        }
        fputc('\n', f);
        fclose(f);
    }
}

Test(e2e, sweep_fit_plot_report_and_resume, .timeout = 900) {
    snprintf(dir, sizeof dir, "/tmp/sc_e2e_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    const char *S = SCALING_BIN;
    write_corpus();

    /* ---- data */
    cr_assert_eq(sh("%s data prepare corpus --out data --ctx 32", S), 0, "%s", out);
    cr_assert_eq(sh("%s data info data --json", S), 0, "%s", out);
    cr_assert(strstr(out, "\"vocab\"") != NULL, "%s", out);

    /* ---- sweep: 2 budgets x 3 sizes, isoflop */
    FILE *f;
    char path[512];
    snprintf(path, sizeof path, "%s/tiny.ini", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[sweep]\n"
          "name = tiny\n"
          "mode = isoflop\n"
          "data = data\n"
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
          "shapes = 1x8, 1x16, 2x24\n",
          f);
    fclose(f);
    cr_assert_eq(sh("%s sweep tiny.ini --dry-run --no-estimate --db r.db", S), 0, "%s", out);
    cr_assert_eq(sh("%s sweep tiny.ini --db r.db --quiet -j 2 --threads 1", S), 0, "%s", out);

    /* ---- database: every run done, with evals and steps */
    cr_assert_eq(sh("%s query \"SELECT COUNT(*) FROM runs WHERE sweep='tiny' AND status='done'\" "
                    "--db r.db --csv",
                    S),
                 0, "%s", out);
    cr_assert(strstr(out, "\n6") != NULL, "expected 6 finished runs: %s", out);
    cr_assert_eq(sh("%s query \"SELECT COUNT(*) FROM runs r WHERE sweep='tiny' AND NOT EXISTS "
                    "(SELECT 1 FROM evals e WHERE e.run_id = r.id)\" --db r.db --csv",
                    S),
                 0, "%s", out);
    cr_assert(strstr(out, "\n0") != NULL, "every run needs evals: %s", out);
    cr_assert_eq(sh("%s query \"SELECT MIN(final_val_loss) > 0 AND MAX(final_val_loss) < 6 "
                    "FROM runs WHERE sweep='tiny'\" --db r.db --csv",
                    S),
                 0, "%s", out);
    cr_assert(strstr(out, "\n1") != NULL, "final losses should be finite and below ln 256: %s",
              out);

    /* ---- resume: the same command again trains nothing new */
    cr_assert_eq(sh("%s query \"SELECT COUNT(*) FROM steps\" --db r.db --csv", S), 0);
    char steps_before[256];
    cr_assert_lt(strlen(out), sizeof steps_before);
    memcpy(steps_before, out, strlen(out) + 1);
    cr_assert_eq(sh("%s sweep tiny.ini --db r.db --quiet", S), 0, "%s", out);
    cr_assert_eq(sh("%s query \"SELECT COUNT(*) FROM steps\" --db r.db --csv", S), 0);
    cr_assert_str_eq(out, steps_before, "a finished sweep re-run must not train again");

    /* ---- fit: approach 2 and 3 on the IsoFLOP grid, stored */
    cr_assert_eq(sh("%s fit --sweep tiny --db r.db --approach 2 --bootstrap 20", S), 0, "%s", out);
    /* 6 tiny runs, some of them mostly warm-up: inside Approach 3's domain
     * too few are left, which it refuses naming them; every run is fitted */
    cr_assert_eq(sh("%s fit --sweep tiny --db r.db --approach 3 --bootstrap 10 --starts 32", S), 1,
                 "%s", out);
    cr_assert(strstr(out, "outside the domain; --a3-domain all fits them"), "%s", out);
    cr_assert_eq(sh("%s fit --sweep tiny --db r.db --approach 3 --bootstrap 10 --starts 32 --json "
                    "--a3-domain all",
                    S),
                 0, "%s", out);
    cr_assert(strstr(out, "\"alpha\"") && strstr(out, "\"beta\""), "%s", out);
    cr_assert_eq(sh("%s query \"SELECT COUNT(*) FROM fits WHERE sweep='tiny'\" --db r.db --csv", S),
                 0);
    cr_assert(strstr(out, "\n2") != NULL, "two fits stored: %s", out);

    /* ---- headline: both approaches at the largest budget, with intervals */
    cr_assert_eq(sh("%s predict --sweep tiny --db r.db --json", S), 0, "%s", out);
    cr_assert(strstr(out, "\"approach2\"") && strstr(out, "\"approach3\""), "%s", out);
    cr_assert(strstr(out, "\"compute\":\t8000000000") != NULL, "largest budget: %s", out);
    cr_assert(strstr(out, "\"tokens_per_param\"") && strstr(out, "\"lo\""), "%s", out);
    /* a fit with Kaplan's counting is read at the largest run in Kaplan's
     * FLOPs (smaller than the nominal Chinchilla-counted budget) */
    cr_assert_eq(sh("%s fit --sweep tiny --db r.db --approach 2 --bootstrap 0 --params "
                    "nonembedding --flops kaplan >/dev/null && %s predict --sweep tiny --db r.db",
                    S, S),
                 0, "%s", out);
    char *a2 = strstr(out, "(approach2"), *a3 = strstr(out, "(approach3");
    cr_assert(a2 && a3, "%s", out);
    double c2 = 0, c3 = 0;
    cr_assert(sscanf(strstr(a2, "compute ") + 8, "%lf", &c2) == 1 &&
                  sscanf(strstr(a3, "compute ") + 8, "%lf", &c3) == 1,
              "%s", out);
    cr_assert_eq(c3, 8e9, "%s", out);
    cr_assert(c2 > 0.2 * c3 && c2 < 0.99 * c3, "Kaplan-counted compute %g: %s", c2, out);

    /* ---- figures: the IsoFLOP figure must be drawn (it has what it needs) */
    cr_assert_eq(sh("%s plot --figure chinchilla-isoflop --sweep tiny --db r.db --out figs "
                    "--bootstrap 0",
                    S),
                 0, "%s", out);
    cr_assert_gt(file_size("figs/chinchilla-isoflop.png"), 5000);
    cr_assert_gt(file_size("figs/chinchilla-isoflop.svg"), 5000);

    /* ---- report */
    cr_assert_eq(sh("%s report --sweep tiny --db r.db --out rep --bootstrap 0 --a3-starts 32", S),
                 0, "%s", out);
    cr_assert_gt(file_size("rep/index.html"), 2000);
    cr_assert_eq(sh("grep -c 'chinchilla-isoflop' rep/index.html"), 0, "%s", out);

    if (!getenv("SCALING_TEST_KEEP")) sh("cd / && rm -rf '%s'", dir);
}
