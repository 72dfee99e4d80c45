/* test_data.c — the data pipeline: tokenizers, token files, the document
 * split, the Brown untagger, prepared directories, and `scaling data` errors.
 * Every fixture is written by the test into its own mkdtemp directory. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../data/data.h"
#include "testlib.h"

/* ==== Fixtures ============================================================== */

static char *mktmp(void) {
    char *d = strdup("/tmp/scaling-test-data.XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void rmrf(const char *d) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

static char *pjoin(const char *a, const char *b) {
    char *p;
    cr_assert(asprintf(&p, "%s/%s", a, b) >= 0);
    return p;
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void write_str(const char *path, const char *s) {
    write_file(path, s, strlen(s));
}

static int exists(const char *p) {
    return access(p, F_OK) == 0;
}

/* Real English prose (adapted from the opening of a public-domain novel),
 * varied enough to give BPE something to learn. */
static const char *prose =
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be "
    "on his first entering a neighbourhood, this truth is so well fixed in the minds of the "
    "surrounding families, that he is considered the rightful property of some one or other of "
    "their daughters.\n\"My dear Mr. Bennet,\" said his lady to him one day, \"have you heard "
    "that Netherfield Park is let at last?\"\nMr. Bennet replied that he had not. \"But it is,\" "
    "returned she; \"for Mrs. Long has just been here, and she told me all about it.\" -- 1796, "
    "3 volumes, 61 chapters; naïve café résumé.\n";

/* A corpus directory of ndocs files, each about `words` words, built from prose. */
static void make_corpus_dir(const char *dir, int ndocs, int words, unsigned seed) {
    cr_assert_eq(mkdir(dir, 0777), 0);
    size_t plen = strlen(prose);
    for (int d = 0; d < ndocs; d++) {
        char name[64], *buf = malloc((size_t)words * 16 + 64);
        snprintf(name, sizeof name, "doc%03d.txt", d);
        size_t n = (size_t)sprintf(buf, "Document %d.\n", d);
        unsigned s = seed * 7919u + (unsigned)d;
        for (int w = 0; w < words; w++) {
            s = s * 1103515245u + 12345u;
            size_t at = (s >> 8) % plen;
            while (at > 0 && prose[at - 1] != ' ')
                at--;
            size_t e = at;
            while (e < plen && prose[e] != ' ' && prose[e] != '\n')
                e++;
            memcpy(buf + n, prose + at, e - at);
            n += e - at;
            buf[n++] = (w % 13 == 12) ? '\n' : ' ';
        }
        char *p = pjoin(dir, name);
        write_file(p, buf, n);
        free(p);
        free(buf);
    }
}

static void random_bytes(uint8_t *b, size_t n, uint64_t seed) {
    util_rng r;
    util_rng_seed(&r, seed, "test-bytes");
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)util_rng_u64(&r);
}

static void check_roundtrip(const data_tok *t, const uint8_t *b, size_t n) {
    uint32_t *tok;
    size_t nt, m;
    uint8_t *back;
    char err[UTIL_ERRLEN];
    cr_assert_eq(data_tok_encode(t, b, n, &tok, &nt, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < nt; i++)
        cr_assert_lt(tok[i], (uint32_t)data_tok_vocab(t));
    cr_assert_eq(data_tok_decode(t, tok, nt, &back, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m, n);
    cr_assert(memcmp(back, b, n) == 0, "decode(encode(x)) != x");
    free(tok);
    free(back);
}

/* Runs `SCALING_BIN args` with stdout+stderr captured; returns the exit code. */
static int run(char *out, size_t n, const char *fmt, ...) {
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tl_sh(out, n, "%s %s", SCALING_BIN, args);
}

/* Nothing named DIR or DIR.tmp.* is left after a failed prepare. */
static void assert_no_output(const char *parent, const char *name) {
    char cmd[4200], buf[256];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '^%s' || true", parent, name);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_not_null(fgets(buf, sizeof buf, p));
    pclose(p);
    cr_assert_eq(atoi(buf), 0, "output %s/%s* left behind", parent, name);
}

/* ==== Tokenizers ============================================================ */

Test(data_tok, byte_roundtrip_random_and_text) {
    data_tok *t;
    char err[UTIL_ERRLEN];
    cr_assert_eq(data_tok_byte(&t, err, sizeof err), 0);
    cr_assert_eq(data_tok_vocab(t), 256);
    cr_assert_eq(data_tok_kind_of(t), DATA_TOK_BYTE);
    uint8_t b[5000];
    random_bytes(b, sizeof b, 1);
    check_roundtrip(t, b, sizeof b);
    check_roundtrip(t, (const uint8_t *)prose, strlen(prose));
    check_roundtrip(t, b, 0);
    uint32_t bad = 256, *tok;
    uint8_t *out;
    size_t n;
    cr_assert_eq(data_tok_decode(t, &bad, 1, &out, &n, err, sizeof err), UTIL_EINVAL);
    (void)tok;
    data_tok_free(t);
}

Test(data_tok, bpe_merges_by_hand) {
    /* One chunk "aaabdaaabac". Pair counts: aa 4, ab 2, bd da ba ac 1.
     * 1: (a,a)->256: 256 a b d 256 a b a c; (256,a) 2 and (a,b) 2, ties go
     *    to the smaller (left,right): (a,b)->257: 256 257 d 256 257 a c;
     * 3: (256,257) 2 ->258: 258 d 258 a c; all pairs 1, smallest first:
     * 4: (a,c)->259; 5: (d,258)->260 [258 260 259]; 6: (258,260)->261;
     * 7: (261,259)->262; then one symbol is left: the vocab stops at 263. */
    const char *text = "aaabdaaabac";
    const uint32_t want[7][2] = {{'a', 'a'}, {'a', 'b'}, {256, 257}, {'a', 'c'},
                                 {'d', 258}, {258, 260}, {261, 259}};
    data_tok *t;
    char err[UTIL_ERRLEN];
    cr_assert_eq(
        data_tok_train_bpe(&t, (const uint8_t *)text, strlen(text), NULL, 0, 300, err, sizeof err),
        0, "%s", err);
    cr_assert_eq(data_tok_vocab(t), 263);
    for (int i = 0; i < 7; i++) {
        uint32_t l, r;
        cr_assert_eq(data_tok_merge(t, i, &l, &r), 0);
        cr_assert(l == want[i][0] && r == want[i][1], "merge %d: (%u,%u), want (%u,%u)", i, l, r,
                  want[i][0], want[i][1]);
    }
    uint32_t l, r;
    cr_assert_eq(data_tok_merge(t, 7, &l, &r), UTIL_EINVAL);
    uint32_t *tok;
    size_t nt;
    cr_assert_eq(
        data_tok_encode(t, (const uint8_t *)text, strlen(text), &tok, &nt, err, sizeof err), 0);
    cr_assert_eq(nt, 1);
    cr_assert_eq(tok[0], 262);
    free(tok);
    data_tok_free(t);

    /* Chunks " the" etc.: merges stay inside them (no (e,' ') pair ever).
     * "the cat the hat": the 1, " cat" 1, " the" 1, " hat" 1; th he at 2:
     * (a,t) smallest ->256, (h,e)->257, (t,257) 2 ->258, then (' ',c)->259. */
    const char *t2 = "the cat the hat";
    const uint32_t want2[4][2] = {{'a', 't'}, {'h', 'e'}, {'t', 257}, {' ', 'c'}};
    cr_assert_eq(
        data_tok_train_bpe(&t, (const uint8_t *)t2, strlen(t2), NULL, 0, 260, err, sizeof err), 0,
        "%s", err);
    cr_assert_eq(data_tok_vocab(t), 260);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(data_tok_merge(t, i, &l, &r), 0);
        cr_assert(l == want2[i][0] && r == want2[i][1], "merge %d: (%u,%u)", i, l, r);
    }
    data_tok_free(t);

    /* Documents are separate: "ab" | "ab" has pair (a,b) twice, (b,a) never. */
    const char *t3 = "abab";
    size_t ends[2] = {2, 4};
    cr_assert_eq(data_tok_train_bpe(&t, (const uint8_t *)t3, 4, ends, 2, 1000, err, sizeof err), 0);
    cr_assert_eq(data_tok_vocab(t), 257);
    data_tok_free(t);
}

/* Naive BPE: recount every pair over every word before each merge. */
static int naive_bpe(uint32_t **words, size_t *lens, size_t nw, int nmerges, uint32_t *merges) {
    int m;
    size_t cap = 1u << 20;
    uint32_t *cnt = malloc(cap * sizeof *cnt);
    for (m = 0; m < nmerges; m++) {
        memset(cnt, 0, cap * sizeof *cnt);
        uint32_t best = UINT32_MAX, bestc = 0;
        for (size_t w = 0; w < nw; w++)
            for (size_t j = 0; j + 1 < lens[w]; j++) {
                uint32_t k = (words[w][j] << 10) | words[w][j + 1]; /* ids < 1024 here */
                cnt[k]++;
                if (cnt[k] > bestc || (cnt[k] == bestc && k < best)) bestc = cnt[k], best = k;
            }
        if (!bestc) break;
        /* ties: smallest (left, right); the running max above may have picked a
         * larger key first, so rescan for the smallest key with the max count */
        for (uint32_t k = 0; k < cap; k++)
            if (cnt[k] == bestc) {
                best = k;
                break;
            }
        uint32_t a = best >> 10, b = best & 1023, z = 256 + (uint32_t)m;
        merges[2 * m] = a;
        merges[2 * m + 1] = b;
        for (size_t w = 0; w < nw; w++) {
            size_t o = 0;
            for (size_t j = 0; j < lens[w];) {
                if (j + 1 < lens[w] && words[w][j] == a && words[w][j + 1] == b) {
                    words[w][o++] = z;
                    j += 2;
                } else {
                    words[w][o++] = words[w][j++];
                }
            }
            lens[w] = o;
        }
    }
    free(cnt);
    return m;
}

Test(data_tok, bpe_training_matches_naive_recount) {
    /* Documents of 5..60 letters from a small alphabet: each document is one
     * chunk, so the naive version can treat documents as words. */
    util_rng r;
    util_rng_seed(&r, 11, "naive-bpe");
    size_t nd = 400, n = 0, ends[400];
    uint8_t text[400 * 60];
    uint32_t *words[400];
    size_t lens[400];
    for (size_t d = 0; d < nd; d++) {
        size_t len = 5 + util_rng_below(&r, 56);
        words[d] = malloc(len * sizeof *words[d]);
        lens[d] = len;
        for (size_t j = 0; j < len; j++) {
            /* skewed letters so that counts differ and ties also occur */
            uint64_t x = util_rng_below(&r, 10);
            uint8_t c = x < 4 ? 'a' : x < 7 ? 'b' : x < 9 ? 'c' : 'd';
            text[n++] = c;
            words[d][j] = c;
        }
        ends[d] = n;
    }
    int nm = 300;
    uint32_t *want = malloc((size_t)nm * 2 * sizeof *want);
    int got_m = naive_bpe(words, lens, nd, nm, want);
    data_tok *t;
    char err[UTIL_ERRLEN];
    cr_assert_eq(data_tok_train_bpe(&t, text, n, ends, nd, 256 + nm, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(data_tok_vocab(t), 256 + got_m);
    for (int i = 0; i < got_m; i++) {
        uint32_t l, rr;
        cr_assert_eq(data_tok_merge(t, i, &l, &rr), 0);
        cr_assert(l == want[2 * i] && rr == want[2 * i + 1], "merge %d: (%u,%u), naive (%u,%u)", i,
                  l, rr, want[2 * i], want[2 * i + 1]);
    }
    check_roundtrip(t, text, n);
    data_tok_free(t);
    free(want);
    for (size_t d = 0; d < nd; d++)
        free(words[d]);
}

Test(data_tok, bpe_roundtrip_random_and_text_and_save_load) {
    char *dir = mktmp();
    char err[UTIL_ERRLEN];
    size_t n = 40000;
    uint8_t *b = malloc(n);
    /* Train on English, encode random bytes (NULs, invalid UTF-8, long runs). */
    size_t plen = strlen(prose), tn = plen * 20;
    uint8_t *train = malloc(tn);
    for (size_t i = 0; i < 20; i++)
        memcpy(train + i * plen, prose, plen);
    data_tok *t, *u;
    cr_assert_eq(data_tok_train_bpe(&t, train, tn, NULL, 0, 600, err, sizeof err), 0, "%s", err);
    cr_assert_gt(data_tok_vocab(t), 400);
    cr_assert_eq(data_tok_kind_of(t), DATA_TOK_BPE);
    random_bytes(b, n, 2);
    check_roundtrip(t, b, n);
    memset(b, 'a', 5000);
    memset(b + 5000, ' ', 3000);
    check_roundtrip(t, b, 9000);
    check_roundtrip(t, train, tn);
    /* It compresses the text it was trained on. */
    uint32_t *tok;
    size_t nt;
    cr_assert_eq(data_tok_encode(t, train, tn, &tok, &nt, err, sizeof err), 0);
    cr_assert_lt(nt * 3, tn, "%zu tokens for %zu bytes", nt, tn);
    free(tok);
    /* Trained on random bytes, still the identity on text. */
    cr_assert_eq(data_tok_train_bpe(&u, b, n, NULL, 0, 2000, err, sizeof err), 0, "%s", err);
    check_roundtrip(u, train, tn);
    data_tok_free(u);
    /* Save and load give the same tokens; a damaged file is refused. */
    char *path = pjoin(dir, "tok.bpe");
    cr_assert_eq(data_tok_save(t, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(data_tok_load(&u, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(data_tok_vocab(u), data_tok_vocab(t));
    uint32_t *t1, *t2;
    size_t n1, n2;
    cr_assert_eq(data_tok_encode(t, train, tn, &t1, &n1, err, sizeof err), 0);
    cr_assert_eq(data_tok_encode(u, train, tn, &t2, &n2, err, sizeof err), 0);
    cr_assert_eq(n1, n2);
    cr_assert(memcmp(t1, t2, n1 * sizeof *t1) == 0);
    free(t1);
    free(t2);
    data_tok_free(u);
    char *raw;
    size_t rn;
    cr_assert_eq(util_read_file(path, &raw, &rn, err, sizeof err), 0);
    raw[20] ^= 1;
    write_file(path, raw, rn);
    cr_assert_eq(data_tok_load(&u, path, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, path), "%s", err);
    write_file(path, raw, rn / 2);
    cr_assert_eq(data_tok_load(&u, path, err, sizeof err), UTIL_ECORRUPT);
    free(raw);
    /* Vocab out of range. */
    cr_assert_eq(data_tok_train_bpe(&u, train, tn, NULL, 0, 256, err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "256"), "%s", err);
    cr_assert_eq(data_tok_train_bpe(&u, train, tn, NULL, 0, 65537, err, sizeof err), UTIL_EINVAL);
    data_tok_free(t);
    free(path);
    free(train);
    free(b);
    rmrf(dir);
    free(dir);
}

/* ==== Token files =========================================================== */

Test(data_tokfile, write_read_and_rejections) {
    char *dir = mktmp(), *path = pjoin(dir, "x.tok");
    char err[UTIL_ERRLEN];
    uint32_t tok[1000];
    for (int i = 0; i < 1000; i++)
        tok[i] = (uint32_t)(i * 37 % 300);
    cr_assert_eq(data_tokfile_write(path, tok, 1000, 300, err, sizeof err), 0, "%s", err);
    data_tokfile f;
    cr_assert_eq(data_tokfile_open(&f, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.ntokens, 1000);
    cr_assert_eq(f.vocab, 300);
    cr_assert_eq(f.width, 2);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(data_tokfile_get(&f, (uint64_t)i), tok[i]);
    data_tokfile_close(&f);
    /* A token outside the vocabulary is refused when writing. */
    cr_assert_eq(data_tokfile_write(path, tok, 1000, 200, err, sizeof err), UTIL_EINVAL);
    /* Width 4 for a vocabulary over 65536. */
    char *p4 = pjoin(dir, "w4.tok");
    tok[3] = 70000;
    cr_assert_eq(data_tokfile_write(p4, tok, 1000, 70001, err, sizeof err), 0, "%s", err);
    cr_assert_eq(data_tokfile_open(&f, p4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.width, 4);
    cr_assert_eq(data_tokfile_get(&f, 3), 70000);
    cr_assert_eq(data_tokfile_get(&f, 999), tok[999]);
    data_tokfile_close(&f);
    char *raw;
    size_t n;
    cr_assert_eq(util_read_file(path, &raw, &n, err, sizeof err), 0);
    cr_assert_eq(n, 32 + 2000);
    char *bad = pjoin(dir, "bad.tok");
    /* Truncated: by one token, and inside the header. */
    write_file(bad, raw, n - 2);
    cr_assert_eq(data_tokfile_open(&f, bad, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, bad) && strstr(err, "truncated"), "%s", err);
    write_file(bad, raw, 20);
    cr_assert_eq(data_tokfile_open(&f, bad, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, "truncated"), "%s", err);
    /* Wrong magic. */
    raw[0] ^= 0x55;
    write_file(bad, raw, n);
    cr_assert_eq(data_tokfile_open(&f, bad, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, "magic"), "%s", err);
    raw[0] ^= 0x55;
    /* A future version. */
    raw[8] = DATA_TOKFILE_VERSION + 1;
    write_file(bad, raw, n);
    cr_assert_eq(data_tokfile_open(&f, bad, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, "version 2") && strstr(err, "newer"), "%s", err);
    raw[8] = DATA_TOKFILE_VERSION;
    /* A token outside the header's vocabulary. */
    raw[32] = (char)0xff;
    raw[33] = (char)0xff;
    write_file(bad, raw, n);
    cr_assert_eq(data_tokfile_open(&f, bad, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, "65535"), "%s", err);
    /* Missing file. */
    char *none = pjoin(dir, "none.tok");
    cr_assert_eq(data_tokfile_open(&f, none, err, sizeof err), UTIL_EIO);
    cr_assert(strstr(err, none), "%s", err);
    data_tokfile_close(&f); /* harmless on a zeroed struct */
    free(raw);
    free(none);
    free(bad);
    free(p4);
    free(path);
    rmrf(dir);
    free(dir);
}

/* ==== Brown untagger ======================================================== */

Test(data_brown, untag_fixture) {
    const char *in =
        "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd ``/`` no/at "
        "evidence/nn ''/'' that/cs any/dti took/vbd place/nn ./.\n"
        "It/pps cost/vbd $1,000/nns (/( 1/2/cd of/in it/ppo )/) ,/, and/or/cc AAb//nn ;/. "
        "he/pps asked/vbd :/: why/wrb ?/.\n"
        "\n\n"
        "Five/cd-hl held/vbn-hl for/in-hl trial/nn-hl\n"
        "\tHe/pps said/vbd ,/, '/' Don't/do* worry/vb '/' ''/'' ./.\n"
        "\n\n\tAnother/dt paragraph/nn ,/, ``/`` quoted/vbn ''/'' !/.\n";
    const char *want =
        "The Fulton County Grand Jury said \"no evidence\" that any took place. It cost $1,000 "
        "(1/2 of it), and/or AAb/; he asked: why?\n"
        "Five held for trial\n"
        "He said, 'Don't worry'\".\n"
        "Another paragraph, \"quoted\"!\n";
    char *out, err[UTIL_ERRLEN];
    size_t n;
    cr_assert_eq(data_brown_untag(in, strlen(in), &out, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, strlen(out));
    cr_assert_str_eq(out, want);
    free(out);
    cr_assert_eq(data_brown_untag("", 0, &out, &n, err, sizeof err), 0);
    cr_assert_eq(n, 0);
    free(out);
}

/* ==== Prepared directories ================================================== */

static data_prepare_opts small_opts(void) {
    data_prepare_opts o;
    data_prepare_defaults(&o);
    o.min_ctx = 64;
    o.val_fraction = 0.1;
    return o;
}

Test(data_prepare, split_is_deterministic_and_by_document) {
    char *dir = mktmp(), *cdir = pjoin(dir, "corpus"), *o1 = pjoin(dir, "p1"),
         *o2 = pjoin(dir, "p2"), *o3 = pjoin(dir, "p3");
    char err[UTIL_ERRLEN], info[1024];
    make_corpus_dir(cdir, 40, 150, 1);
    data_prepare_opts o = small_opts();
    const char *in[1] = {cdir};
    cr_assert_eq(data_prepare(in, 1, NULL, o1, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(data_prepare(in, 1, NULL, o2, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    o.seed = 2;
    cr_assert_eq(data_prepare(in, 1, NULL, o3, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    const char *files[2] = {"train.tok", "val.tok"};
    for (int k = 0; k < 2; k++) {
        char *a = pjoin(o1, files[k]), *b = pjoin(o2, files[k]), *c = pjoin(o3, files[k]);
        char *ra, *rb, *rc;
        size_t na, nb, nc;
        cr_assert_eq(util_read_file(a, &ra, &na, err, sizeof err), 0);
        cr_assert_eq(util_read_file(b, &rb, &nb, err, sizeof err), 0);
        cr_assert_eq(util_read_file(c, &rc, &nc, err, sizeof err), 0);
        cr_assert(na == nb && memcmp(ra, rb, na) == 0, "%s differs between runs", files[k]);
        cr_assert(na != nc || memcmp(ra, rc, na) != 0, "seed 2 gave the same %s", files[k]);
        free(ra);
        free(rb);
        free(rc);
        free(a);
        free(b);
        free(c);
    }
    /* 4 of 40 documents are held out, whole: each val document's first line
     * "Document N." appears in val and not in train. */
    data_info in1;
    cr_assert_eq(data_info_read(o1, &in1, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(in1.val_docs, 4);
    cr_assert_eq(in1.train_docs, 36);
    cr_assert_str_eq(in1.tokenizer, "byte");
    cr_assert_eq(in1.vocab, 256);
    cr_assert_eq(in1.train_tokens, in1.train_bytes);
    cr_assert_float_eq(in1.bytes_per_token, 1.0, 1e-12);
    cr_assert_str_eq(in1.source, cdir);
    data_tokfile tv, tt;
    char *pv = pjoin(o1, "val.tok"), *pt = pjoin(o1, "train.tok");
    cr_assert_eq(data_tokfile_open(&tv, pv, err, sizeof err), 0);
    cr_assert_eq(data_tokfile_open(&tt, pt, err, sizeof err), 0);
    cr_assert_eq(tv.ntokens, in1.val_tokens);
    char *vtext = calloc(tv.ntokens + 1, 1), *ttext = calloc(tt.ntokens + 1, 1);
    for (uint64_t i = 0; i < tv.ntokens; i++)
        vtext[i] = (char)data_tokfile_get(&tv, i);
    for (uint64_t i = 0; i < tt.ntokens; i++)
        ttext[i] = (char)data_tokfile_get(&tt, i);
    int nval = 0;
    for (int d = 0; d < 40; d++) {
        char key[32];
        snprintf(key, sizeof key, "Document %d.\n", d);
        int v = strstr(vtext, key) != NULL, t = strstr(ttext, key) != NULL;
        cr_assert(v != t, "document %d in both or neither split", d);
        nval += v;
    }
    cr_assert_eq(nval, 4);
    free(vtext);
    free(ttext);
    data_tokfile_close(&tv);
    data_tokfile_close(&tt);
    free(pv);
    free(pt);
    free(cdir);
    free(o1);
    free(o2);
    free(o3);
    rmrf(dir);
    free(dir);
}

Test(data_prepare, bpe_single_file_brown_replace_and_verify) {
    char *dir = mktmp(), *file = pjoin(dir, "book.txt"), *out = pjoin(dir, "prep");
    char err[UTIL_ERRLEN], info[1024];
    /* A single file: documents at blank lines. */
    size_t plen = strlen(prose);
    char *buf = malloc((plen + 32) * 30 + 1), *w = buf;
    for (int i = 0; i < 30; i++)
        w += sprintf(w, "Part %d. %s\n\n", i, prose);
    write_str(file, buf);
    data_prepare_opts o = small_opts();
    o.tokenizer = DATA_TOK_BPE;
    o.vocab = 400;
    const char *in[1] = {file};
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    data_info di;
    cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(di.train_docs + di.val_docs, 30);
    cr_assert_eq(di.val_docs, 3);
    cr_assert_str_eq(di.tokenizer, "bpe");
    cr_assert_eq(di.vocab, 400);
    cr_assert_gt(di.bytes_per_token, 1.5);
    cr_assert_float_eq(di.bytes_per_token, (double)di.val_bytes / (double)di.val_tokens, 1e-12);
    /* The saved tokenizer decodes val.tok back to text that holds the prose. */
    char *tp = pjoin(out, "tokenizer.bpe"), *vp = pjoin(out, "val.tok");
    data_tok *t;
    cr_assert_eq(data_tok_load(&t, tp, err, sizeof err), 0, "%s", err);
    data_tokfile f;
    cr_assert_eq(data_tokfile_open(&f, vp, err, sizeof err), 0, "%s", err);
    uint32_t *tok = malloc(f.ntokens * sizeof *tok);
    for (uint64_t i = 0; i < f.ntokens; i++)
        tok[i] = data_tokfile_get(&f, i);
    uint8_t *text;
    size_t tn;
    cr_assert_eq(data_tok_decode(t, tok, f.ntokens, &text, &tn, err, sizeof err), 0);
    cr_assert_eq(tn, di.val_bytes);
    cr_assert(memmem(text, tn, prose, plen) != NULL);
    free(text);
    free(tok);
    data_tokfile_close(&f);
    data_tok_free(t);

    /* `brown` from a fixture package: non-document files are skipped. */
    char *bdir = pjoin(dir, "brown");
    cr_assert_eq(mkdir(bdir, 0777), 0);
    for (int d = 0; d < 20; d++) {
        char name[16], *p, line[4096];
        snprintf(name, sizeof name, "c%c%02d", 'a' + d % 3, d + 1);
        p = pjoin(bdir, name);
        char *s = line;
        s += sprintf(s, "\n\n\tDoc/nn %d/cd says/vbz ``/`` hello/uh ''/'' ./.\n", d);
        for (int k = 0; k < 20; k++)
            s += sprintf(s, "Words/nns here/rb ,/, again/rb ./.\n");
        write_str(p, line);
        free(p);
    }
    char *readme = pjoin(bdir, "README"), *contents = pjoin(bdir, "CONTENTS");
    write_str(readme, "BROWN CORPUS\n");
    write_file(contents, "\0\1\2", 3); /* would fail as a document: it is not text */
    o = small_opts();
    const char *bin[1] = {"brown"};
    /* Replacing an existing prepared directory. */
    cr_assert_eq(data_prepare(bin, 1, bdir, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(di.source, "brown");
    cr_assert_str_eq(di.tokenizer, "byte");
    cr_assert_eq(di.train_docs + di.val_docs, 20);
    cr_assert(!exists(tp), "old tokenizer.bpe survived the replacement");
    char *tt = pjoin(out, "train.tok");
    char *raw;
    size_t rn;
    cr_assert_eq(util_read_file(tt, &raw, &rn, err, sizeof err), 0);
    cr_assert(memmem(raw, rn, "\"\0h\0e\0l\0l\0o\0\"\0.\0", 16) != NULL, "untagged text missing");
    /* A changed byte or a truncation is caught by verify, not by a plain read. */
    raw[40] ^= 1;
    write_file(tt, raw, rn);
    cr_assert_eq(data_info_read(out, &di, 0, err, sizeof err), 0);
    cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, tt) && strstr(err, "checksum"), "%s", err);
    raw[40] ^= 1;
    write_file(tt, raw, rn - 2);
    cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), UTIL_ECORRUPT);
    cr_assert(strstr(err, tt), "%s", err);
    free(raw);
    free(tt);
    free(readme);
    free(contents);
    free(bdir);
    free(tp);
    free(vp);
    free(buf);
    free(file);
    free(out);
    rmrf(dir);
    free(dir);
}

Test(data_prepare, bad_inputs_fail_cleanly) {
    char *dir = mktmp(), *out = pjoin(dir, "out");
    char err[UTIL_ERRLEN], info[256];
    data_prepare_opts o = small_opts();
    const char *in[1];
#define EXPECT_FAIL(code, text)                                                                    \
    do {                                                                                           \
        err[0] = 0;                                                                                \
        cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), code, \
                     "%s", err);                                                                   \
        cr_assert(strstr(err, text), "message '%s' lacks '%s'", err, text);                        \
        cr_assert(strchr(err, '\n') == NULL, "multi-line message: %s", err);                       \
        assert_no_output(dir, "out");                                                              \
    } while (0)
    /* Missing path. */
    char *missing = pjoin(dir, "nope.txt");
    in[0] = missing;
    EXPECT_FAIL(UTIL_ENOTFOUND, missing);
    /* Empty corpus: an empty file, a directory of empty files. */
    char *empty = pjoin(dir, "empty.txt"), *edir = pjoin(dir, "edir"), *e1 = pjoin(edir, "a");
    write_str(empty, "");
    in[0] = empty;
    EXPECT_FAIL(UTIL_EINVAL, "empty corpus");
    cr_assert_eq(mkdir(edir, 0777), 0);
    write_str(e1, "");
    in[0] = edir;
    EXPECT_FAIL(UTIL_EINVAL, "empty corpus");
    /* Smaller than one training context. */
    char *small = pjoin(dir, "small.txt");
    write_str(small, "one short document\n\nand another\n\nand a third\n");
    in[0] = small;
    EXPECT_FAIL(UTIL_EINVAL, "corpus too small");
    cr_assert(strstr(err, small) && strstr(err, "64 tokens"), "%s", err);
    /* Binary: a NUL byte; invalid UTF-8 (inside a directory, named). */
    char *bin = pjoin(dir, "bin.txt");
    write_file(bin, "text\0more", 9);
    in[0] = bin;
    EXPECT_FAIL(UTIL_EINVAL, "NUL byte at byte offset 4");
    cr_assert(strstr(err, bin), "%s", err);
    char *bdir = pjoin(dir, "bdir"), *good = pjoin(bdir, "good.txt"), *latin = pjoin(bdir, "x.txt");
    make_corpus_dir(bdir, 10, 100, 3);
    write_str(latin, "caf\xe9 au lait\n");
    in[0] = bdir;
    EXPECT_FAIL(UTIL_EINVAL, "invalid UTF-8 at byte offset 3");
    cr_assert(strstr(err, latin), "%s", err);
    unlink(latin);
    /* Vocab out of range. */
    o.tokenizer = DATA_TOK_BPE;
    o.vocab = 70000;
    EXPECT_FAIL(UTIL_EINVAL, "70000");
    o.vocab = 256;
    EXPECT_FAIL(UTIL_EINVAL, "257..65536");
    o = small_opts();
    /* Brown corpus missing. */
    in[0] = "brown";
    err[0] = 0;
    cr_assert_eq(data_prepare(in, 1, missing, out, &o, info, sizeof info, err, sizeof err),
                 UTIL_ENOTFOUND);
    cr_assert(strstr(err, "scripts/fetch-brown") && strstr(err, missing), "%s", err);
    assert_no_output(dir, "out");
    /* Unwritable output directory: its parent is a file. */
    in[0] = bdir;
    char *under = pjoin(small, "out");
    cr_assert_neq(data_prepare(in, 1, NULL, under, &o, info, sizeof info, err, sizeof err), 0);
    cr_assert(strstr(err, small), "%s", err);
    free(under);
    /* An existing directory that is not a prepared one is never replaced. */
    char *keep = pjoin(out, "precious.txt");
    cr_assert_eq(mkdir(out, 0777), 0);
    write_str(keep, "keep me");
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), UTIL_EIO);
    cr_assert(strstr(err, "not a prepared data directory"), "%s", err);
    cr_assert(exists(keep));
    /* A prepared directory is replaced only at the end: a failing prepare
     * leaves the old one intact and verifiable. */
    unlink(keep);
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    data_info before, after;
    cr_assert_eq(data_info_read(out, &before, 1, err, sizeof err), 0, "%s", err);
    in[0] = small;
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err),
                 UTIL_EINVAL);
    cr_assert_eq(data_info_read(out, &after, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(before.checksum_train, after.checksum_train);
    /* info on a directory that is not prepared. */
    cr_assert_eq(data_info_read(dir, &after, 0, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert(strstr(err, dir) && strstr(err, "meta.json"), "%s", err);
#undef EXPECT_FAIL
    free(keep);
    free(good);
    free(latin);
    free(bdir);
    free(bin);
    free(small);
    free(e1);
    free(edir);
    free(empty);
    free(missing);
    free(out);
    rmrf(dir);
    free(dir);
}

/* Warnings the library hands back instead of printing. */
typedef struct {
    int n;
    char msg[16][1024];
} warns;

static void collect(void *ctx, const char *m) {
    warns *w = ctx;
    cr_assert(strchr(m, '\n') == NULL, "multi-line warning: %s", m);
    if (w->n < 16) snprintf(w->msg[w->n], sizeof w->msg[0], "%s", m);
    w->n++;
}

/* The whole content of a file (malloc'd, *n bytes). */
static char *slurp(const char *dir, const char *name, size_t *n) {
    char *p = pjoin(dir, name), *s, err[UTIL_ERRLEN];
    cr_assert_eq(util_read_file(p, &s, n, err, sizeof err), 0, "%s", err);
    free(p);
    return s;
}

static int same_file(const char *d1, const char *d2, const char *name) {
    size_t n1, n2;
    char *a = slurp(d1, name, &n1), *b = slurp(d2, name, &n2);
    int same = n1 == n2 && memcmp(a, b, n1) == 0;
    free(a);
    free(b);
    return same;
}

/* A text saved with Windows (CRLF) or old Mac (CR) line endings prepares to
 * the same token files as its LF copy, unless verbatim is asked for. */
Test(data_prepare, line_endings_normalised_unless_verbatim) {
    char *dir = mktmp(), *lf = pjoin(dir, "lf.txt"), *crlf = pjoin(dir, "crlf.txt"),
         *cr = pjoin(dir, "cr.txt"), *pl = pjoin(dir, "pl"), *pc = pjoin(dir, "pc"),
         *pr = pjoin(dir, "pr"), *pv = pjoin(dir, "pv");
    char err[UTIL_ERRLEN], info[1024];
    size_t plen = strlen(prose);
    char *a = malloc((plen + 32) * 30 * 2 + 1), *b = malloc((plen + 32) * 30 * 2 + 1),
         *c = malloc((plen + 32) * 30 + 1);
    size_t na = 0, nb = 0;
    for (int i = 0; i < 30; i++)
        na += (size_t)sprintf(a + na, "Part %d.\n%s\n", i, prose);
    for (size_t i = 0; i < na; i++) {
        if (a[i] == '\n') b[nb++] = '\r';
        b[nb++] = a[i];
        c[i] = a[i] == '\n' ? '\r' : a[i];
    }
    write_file(lf, a, na);
    write_file(crlf, b, nb);
    write_file(cr, c, na);
    data_prepare_opts o = small_opts();
    o.tokenizer = DATA_TOK_BPE;
    o.vocab = 300;
    const char *in[1] = {lf};
    cr_assert_eq(data_prepare(in, 1, NULL, pl, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    in[0] = crlf;
    cr_assert_eq(data_prepare(in, 1, NULL, pc, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    in[0] = cr;
    cr_assert_eq(data_prepare(in, 1, NULL, pr, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    const char *files[3] = {"train.tok", "val.tok", "tokenizer.bpe"};
    for (int k = 0; k < 3; k++) {
        cr_assert(same_file(pl, pc, files[k]), "CRLF copy: %s differs", files[k]);
        cr_assert(same_file(pl, pr, files[k]), "CR copy: %s differs", files[k]);
    }
    data_info il, iv;
    cr_assert_eq(data_info_read(pl, &il, 1, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(il.line_endings, "lf");
    cr_assert_eq(il.train_docs + il.val_docs, 30);
    /* verbatim: every \r is kept and counted */
    o.verbatim = 1;
    in[0] = crlf;
    cr_assert_eq(data_prepare(in, 1, NULL, pv, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(data_info_read(pv, &iv, 1, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(iv.line_endings, "verbatim");
    cr_assert_eq(iv.train_docs + iv.val_docs, 30);
    /* every CR inside a document is kept; the 30 blank separator lines are not text */
    cr_assert_eq(iv.train_bytes + iv.val_bytes - (il.train_bytes + il.val_bytes),
                 (uint64_t)(nb - na - 30), "the CRs are not all kept");
    cr_assert(!same_file(pl, pv, "train.tok"));
    /* the byte tokenizer on a directory of CRLF files: the same as LF too */
    char *d1 = pjoin(dir, "d1"), *d2 = pjoin(dir, "d2");
    make_corpus_dir(d1, 12, 80, 4);
    make_corpus_dir(d2, 12, 80, 4);
    for (int d = 0; d < 12; d++) {
        char name[32], *p, *t;
        size_t n;
        snprintf(name, sizeof name, "doc%03d.txt", d);
        t = slurp(d2, name, &n);
        char *w = malloc(2 * n + 1);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '\n') w[m++] = '\r';
            w[m++] = t[i];
        }
        p = pjoin(d2, name);
        write_file(p, w, m);
        free(p);
        free(w);
        free(t);
    }
    o = small_opts();
    char *q1 = pjoin(dir, "q1"), *q2 = pjoin(dir, "q2");
    in[0] = d1;
    cr_assert_eq(data_prepare(in, 1, NULL, q1, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    in[0] = d2;
    cr_assert_eq(data_prepare(in, 1, NULL, q2, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert(same_file(q1, q2, "train.tok") && same_file(q1, q2, "val.tok"));
    free(q1);
    free(q2);
    free(d1);
    free(d2);
    free(a);
    free(b);
    free(c);
    free(lf);
    free(crlf);
    free(cr);
    free(pl);
    free(pc);
    free(pr);
    free(pv);
    rmrf(dir);
    free(dir);
}

/* Links are followed; a dangling link, a link to itself, a link back to a
 * directory above it and a fifo are each skipped with one warning, counted. */
Test(data_prepare, dangling_links_and_loops_are_skipped_with_warnings) {
    char *dir = mktmp(), *cdir = pjoin(dir, "c"), *sub = pjoin(cdir, "sub"),
         *out = pjoin(dir, "prep");
    char err[UTIL_ERRLEN], info[1024];
    make_corpus_dir(cdir, 10, 100, 6);
    cr_assert_eq(mkdir(sub, 0777), 0);
    char *b = pjoin(cdir, "b"), *loop = pjoin(cdir, "loop"), *up = pjoin(sub, "up"),
         *fifo = pjoin(cdir, "fifo"), *good = pjoin(sub, "good"), *doc0 = pjoin(cdir, "doc000.txt");
    cr_assert_eq(symlink("nowhere", b), 0);
    cr_assert_eq(symlink("loop", loop), 0);
    cr_assert_eq(symlink("..", up), 0);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    cr_assert_eq(symlink(doc0, good), 0); /* a link to a file is followed: one more document */
    data_prepare_opts o = small_opts();
    warns w = {0};
    o.warn = collect;
    o.warn_ctx = &w;
    const char *in[1] = {cdir};
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(w.n, 4, "%d warnings: %s | %s", w.n, w.msg[0], w.msg[1]);
    const char *want[4][2] = {{b, "dangling symbolic link"},
                              {fifo, "not a regular file"},
                              {loop, "symbolic link loop"},
                              {up, "symbolic link loop"}};
    for (int k = 0; k < 4; k++) {
        int found = 0;
        for (int i = 0; i < w.n; i++)
            found |= strncmp(w.msg[i], want[k][0], strlen(want[k][0])) == 0 &&
                     w.msg[i][strlen(want[k][0])] == ':' && strstr(w.msg[i], want[k][1]);
        cr_assert(found, "no warning '%s: ...%s'", want[k][0], want[k][1]);
    }
    cr_assert(strstr(info, "4 entries skipped"), "%s", info);
    data_info di;
    cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(di.skipped, 4);
    cr_assert_eq(di.train_docs + di.val_docs, 11);
    /* the command line: one warning line each on stderr, and the count */
    char buf[8192];
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s' --ctx 64", cdir, out), 0, "%s",
                 buf);
    int lines = 0;
    for (char *p = buf; (p = strstr(p, "scaling data: warning: ")); p++)
        lines++;
    cr_assert_eq(lines, 4, "%s", buf);
    cr_assert(strstr(buf, "4 entries skipped"), "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data info '%s'", out), 0, "%s", buf);
    cr_assert(strstr(buf, "skipped          4 entries"), "%s", buf);
    free(b);
    free(loop);
    free(up);
    free(fifo);
    free(good);
    free(doc0);
    free(sub);
    free(cdir);
    free(out);
    rmrf(dir);
    free(dir);
}

/* Three documents cannot hold out 5%: prepare says so; split by position,
 * the validation split is the stream's last whole windows and decoding
 * train.tok then val.tok gives the stream back, for bytes and for BPE. */
Test(data_prepare, few_documents_warn_and_split_by_position) {
    char *dir = mktmp(), *file = pjoin(dir, "three.txt"), *out = pjoin(dir, "prep"),
         *one = pjoin(dir, "one.txt");
    char err[UTIL_ERRLEN], info[1024];
    size_t plen = strlen(prose);
    char *text = malloc(plen * 12 + 64), *stream = malloc(plen * 12 + 64);
    size_t n = 0;
    for (int d = 0; d < 3; d++) {
        for (int k = 0; k < 4; k++)
            n += (size_t)sprintf(text + n, "%s", prose);
        if (d < 2) text[n++] = '\n'; /* a blank line between documents */
    }
    text[n] = 0;
    write_file(file, text, n);
    /* the stream: each document, its final newline, one blank line */
    memcpy(stream, text, n);
    stream[n] = '\n';
    size_t ns = n + 1;
    data_prepare_opts o = small_opts();
    o.val_fraction = 0.05;
    warns w = {0};
    o.warn = collect;
    o.warn_ctx = &w;
    const char *in[1] = {file};
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(w.n, 1, "%d warnings", w.n);
    cr_assert(strstr(w.msg[0], file) && strstr(w.msg[0], "1 of 3 documents") &&
                  strstr(w.msg[0], "far from the requested --val-fraction 0.05") &&
                  strstr(w.msg[0], "--split position"),
              "%s", w.msg[0]);
    data_info di;
    cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(di.split, "document");
    for (int bpe = 0; bpe < 2; bpe++) {
        o.split = DATA_SPLIT_POSITION;
        o.tokenizer = bpe ? DATA_TOK_BPE : DATA_TOK_BYTE;
        o.vocab = bpe ? 300 : 256;
        w.n = 0;
        cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0,
                     "%s", err);
        cr_assert_eq(w.n, 0, "%s", w.msg[0]);
        cr_assert(strstr(info, "split by position"), "%s", info);
        cr_assert_eq(data_info_read(out, &di, 1, err, sizeof err), 0, "%s", err);
        cr_assert_str_eq(di.split, "position");
        cr_assert_eq(di.window_tokens, 65);
        cr_assert_gt(di.val_windows, 0);
        cr_assert_eq(di.val_tokens, (uint64_t)di.val_windows * 65);
        cr_assert_eq(di.train_bytes + di.val_bytes, ns);
        double frac = (double)di.val_tokens / (double)(di.val_tokens + di.train_tokens);
        cr_assert(frac > 0.025 && frac < 0.1, "val fraction %g", frac);
        /* train.tok then val.tok decode to the stream, byte for byte */
        data_tok *t;
        if (bpe) {
            char *tp = pjoin(out, "tokenizer.bpe");
            cr_assert_eq(data_tok_load(&t, tp, err, sizeof err), 0, "%s", err);
            free(tp);
        } else {
            cr_assert_eq(data_tok_byte(&t, err, sizeof err), 0);
        }
        uint32_t *tok = malloc((di.train_tokens + di.val_tokens) * sizeof *tok);
        size_t nt = 0;
        const char *names[2] = {"train.tok", "val.tok"};
        for (int k = 0; k < 2; k++) {
            char *p = pjoin(out, names[k]);
            data_tokfile f;
            cr_assert_eq(data_tokfile_open(&f, p, err, sizeof err), 0, "%s", err);
            for (uint64_t i = 0; i < f.ntokens; i++)
                tok[nt++] = data_tokfile_get(&f, i);
            data_tokfile_close(&f);
            free(p);
        }
        uint8_t *back;
        size_t nback;
        cr_assert_eq(data_tok_decode(t, tok, nt, &back, &nback, err, sizeof err), 0);
        cr_assert_eq(nback, ns);
        cr_assert(memcmp(back, stream, ns) == 0, "the splits do not decode to the stream");
        uint8_t *vb;
        size_t nvb;
        cr_assert_eq(
            data_tok_decode(t, tok + di.train_tokens, di.val_tokens, &vb, &nvb, err, sizeof err),
            0);
        cr_assert_eq(nvb, di.val_bytes);
        free(vb);
        free(back);
        free(tok);
        data_tok_free(t);
    }
    /* one document: refused by document (naming the way out), fine by
     * position, and by position by default (issue 17) */
    write_file(one, text, n / 3);
    in[0] = one;
    o = small_opts();
    cr_assert_eq(o.split, DATA_SPLIT_AUTO);
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    cr_assert(strstr(info, "split by position"), "%s", info);
    o.split = DATA_SPLIT_DOCUMENT;
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err),
                 UTIL_EINVAL);
    cr_assert(strstr(err, "only one document") && strstr(err, "--split position"), "%s", err);
    o.split = DATA_SPLIT_POSITION;
    cr_assert_eq(data_prepare(in, 1, NULL, out, &o, info, sizeof info, err, sizeof err), 0, "%s",
                 err);
    /* the command line: the warning, --split, and what info says */
    char buf[8192];
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s' --ctx 64", file, out), 0, "%s",
                 buf);
    cr_assert(strstr(buf, "scaling data: warning: ") && strstr(buf, "1 of 3 documents"), "%s", buf);
    cr_assert_eq(
        run(buf, sizeof buf, "data prepare '%s' --out '%s' --ctx 64 --split position", file, out),
        0, "%s", buf);
    cr_assert(!strstr(buf, "warning"), "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data info '%s'", out), 0, "%s", buf);
    cr_assert(strstr(buf, "split            by position: val is the last") &&
                  strstr(buf, "windows of 65 tokens") && strstr(buf, "line endings     normalised"),
              "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data info '%s' --json", out), 0, "%s", buf);
    cr_assert(strstr(buf, "\"split\":\"position\"") && strstr(buf, "\"window_tokens\":65"), "%s",
              buf);
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s' --split words", file, out), 2);
    cr_assert(strstr(buf, "--split: expected auto, document or position, got 'words'"), "%s", buf);
    free(text);
    free(stream);
    free(one);
    free(file);
    free(out);
    rmrf(dir);
    free(dir);
}

/* ==== The command line ====================================================== */

Test(data_cli, prepare_info_verify_and_errors) {
    char *dir = mktmp(), *cdir = pjoin(dir, "c"), *out = pjoin(dir, "prep");
    char buf[8192];
    make_corpus_dir(cdir, 20, 40, 5);
    cr_assert_eq(
        run(buf, sizeof buf, "data prepare '%s' --out '%s' --ctx 64 --val-fraction 0.1", cdir, out),
        0, "%s", buf);
    cr_assert(strstr(buf, "18 train, 2 val"), "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data info '%s/'", out), 0, "%s", buf);
    cr_assert(strstr(buf, "byte, vocab 256") && strstr(buf, cdir), "%s", buf);
    /* A trailing slash names the same directory (and the temporary is its sibling). */
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s/' --ctx 64 --val-fraction 0.1",
                     cdir, out),
                 0, "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data verify '%s'", out), 0, "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data info '%s' --json", out), 0, "%s", buf);
    cr_assert(buf[0] == '{' && strstr(buf, "\"val_docs\":2") && strstr(buf, "\"vocab\":256"), "%s",
              buf);
    cr_assert_eq(run(buf, sizeof buf, "data verify '%s'", out), 0, "%s", buf);
    cr_assert_eq(run(buf, sizeof buf,
                     "data prepare '%s' --out '%s' --ctx 64 --tokenizer bpe --vocab 300", cdir,
                     out),
                 0, "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data info '%s'", out), 0, "%s", buf);
    cr_assert(strstr(buf, "bpe, vocab 300"), "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data --help"), 0);
    cr_assert(strstr(buf, "usage: scaling data prepare"), "%s", buf);

    /* Usage errors: exit 2. */
    struct {
        const char *args, *msg;
    } usage[] = {
        {"data", "expected a subcommand"},
        {"data frob", "unknown subcommand 'frob'"},
        {"data prepare x", "--out DIR is required"},
        {"data prepare --out /tmp/x", "no INPUT"},
        {"data prepare x --out y --vocab 70000 --tokenizer bpe",
         "--vocab: expected an integer in [257, 65536], got '70000'"},
        {"data prepare x --out y --vocab 100 --tokenizer bpe", "got '100'"},
        {"data prepare x --out y --tokenizer word",
         "--tokenizer: expected byte or bpe, got 'word'"},
        {"data prepare x --out y --val-fraction 0.9", "--val-fraction"},
        {"data prepare x --out y --vocab 500", "--vocab applies to --tokenizer bpe"},
        {"data prepare x --out y --bogus", "unknown option"},
        {"data info", "expected exactly one DIR"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        cr_assert_eq(run(buf, sizeof buf, "%s", usage[i].args), 2, "%s: %s", usage[i].args, buf);
        cr_assert(strstr(buf, usage[i].msg), "%s: %s", usage[i].args, buf);
    }

    /* Runtime failures: exit 1, one line naming the path. */
    char *missing = pjoin(dir, "missing.txt"), *bin = pjoin(dir, "bin.txt"), *o2 = pjoin(dir, "o2");
    write_file(bin, "ab\0cd", 5);
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s'", missing, o2), 1);
    cr_assert(strstr(buf, missing) && strstr(buf, "No such file"), "%s", buf);
    char *empty = pjoin(dir, "empty.txt");
    write_str(empty, "\n\n \n");
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s'", empty, o2), 1);
    cr_assert(strstr(buf, empty) && strstr(buf, "empty corpus"), "%s", buf);
    free(empty);
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s'", bin, o2), 1);
    cr_assert(strstr(buf, bin) && strstr(buf, "not a text file"), "%s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s'", cdir, o2), 1);
    cr_assert(strstr(buf, "corpus too small") && strstr(buf, "1024 tokens"), "%s", buf);
    cr_assert_eq(strchr(buf, '\n'), strrchr(buf, '\n'), "more than one line: %s", buf);
    cr_assert_eq(run(buf, sizeof buf, "data prepare '%s' --out '%s/sub' --ctx 64", cdir, bin), 1);
    cr_assert(strstr(buf, bin), "%s", buf);
    cr_assert_eq(
        run(buf, sizeof buf, "data prepare brown --out '%s' --brown-dir '%s'", o2, missing), 1);
    cr_assert(strstr(buf, "scripts/fetch-brown"), "%s", buf);
    setenv("SCALING_BROWN_DIR", missing, 1);
    cr_assert_eq(run(buf, sizeof buf, "data prepare brown --out '%s'", o2), 1);
    cr_assert(strstr(buf, missing) && strstr(buf, "scripts/fetch-brown"), "%s", buf);
    unsetenv("SCALING_BROWN_DIR");
    cr_assert(!exists(o2));
    cr_assert_eq(run(buf, sizeof buf, "data info '%s'", dir), 1);
    cr_assert(strstr(buf, "not a prepared data directory"), "%s", buf);
    /* A damaged token file: verify fails, info (no verify) still reads meta. */
    char *vt = pjoin(out, "val.tok");
    FILE *f = fopen(vt, "r+b");
    cr_assert_not_null(f);
    fseek(f, 40, SEEK_SET);
    fputc(0x01, f);
    fclose(f);
    cr_assert_eq(run(buf, sizeof buf, "data verify '%s'", out), 1);
    cr_assert(strstr(buf, vt) && strstr(buf, "checksum"), "%s", buf);
    free(vt);
    free(missing);
    free(bin);
    free(o2);
    free(cdir);
    free(out);
    rmrf(dir);
    free(dir);
}

/* ---- the training window order ------------------------------------------- */

/* Each epoch visits every whole window exactly once, epochs differ in order,
 * and the k-th window is a function of (seed, k) alone (resumability). */
Test(data, sampler_passes_without_replacement) {
    char err[UTIL_ERRLEN];
    data_sampler a, b;
    const int T = 8;
    const uint64_t usable = 8 * 100 + 5; /* 100 windows, 4 tokens left over */
    cr_assert_eq(data_sampler_init(&a, usable, T, 42, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.nwin, 100);
    static unsigned char seen[100];
    uint64_t first[100], second[100];
    for (int e = 0; e < 3; e++) {
        memset(seen, 0, sizeof seen);
        for (uint64_t i = 0; i < 100; i++) {
            uint64_t st = data_sampler_start(&a, (uint64_t)e * 100 + i);
            cr_assert_eq(st % T, 0);
            cr_assert_leq(st + T + 1, usable, "window %llu runs past the data",
                          (unsigned long long)st);
            cr_assert_eq(seen[st / T], 0, "window %llu twice in epoch %d", (unsigned long long)st,
                         e);
            seen[st / T] = 1;
            if (e == 0) first[i] = st;
            if (e == 1) second[i] = st;
        }
    }
    cr_assert(memcmp(first, second, sizeof first) != 0, "epochs 0 and 1 in the same order");
    /* a fresh sampler jumping straight to epoch 1 agrees (no hidden state) */
    cr_assert_eq(data_sampler_init(&b, usable, T, 42, err, sizeof err), 0, "%s", err);
    for (uint64_t i = 0; i < 100; i++)
        cr_assert_eq(data_sampler_start(&b, 100 + i), second[i]);
    data_sampler_free(&b);
    /* another seed, another order */
    cr_assert_eq(data_sampler_init(&b, usable, T, 43, err, sizeof err), 0, "%s", err);
    int same = 0;
    for (uint64_t i = 0; i < 100; i++)
        same += data_sampler_start(&b, i) == first[i];
    cr_assert_lt(same, 20);
    data_sampler_free(&b);
    data_sampler_free(&a);
    /* too few tokens for one window */
    cr_assert_eq(data_sampler_init(&a, 8, T, 1, err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "no window"), "%s", err);
    data_sampler_free(&a);
}
