/*
 * tokenizer.c — the tokenizers: byte-level (token = byte) and byte-level BPE.
 *
 * BPE: tokens 0..255 are the bytes; token 256+i is merge i, the pair
 * (left, right) of earlier tokens. Text is first cut into chunks (an optional
 * leading space plus a run of letters, of digits or of other symbols; runs of
 * whitespace; at most DATA_CHUNK_MAX bytes), and merges never cross a chunk.
 * Encoding applies merges in rank order inside each chunk, so encode followed
 * by decode is the identity on arbitrary bytes.
 *
 * Training is the "word frequency" algorithm: distinct chunks with counts, pair
 * counts updated incrementally for only the chunks that hold the merged pair
 * (found through a per-pair list of chunk ids), and the best pair taken from a
 * lazy max-heap whose entries are upper bounds of the true counts.
 *
 * File format (tokenizer.bpe, little-endian): u64 magic "STSCLBPE", u32
 * version, u32 vocab, then (vocab-256) pairs of u32 (left, right), then u64
 * FNV-1a of everything before it.
 * Does not own: deciding what text to train on (data.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define BPE_MAGIC 0x455042544c435353ULL /* "SSCLTBPE" little-endian */
#define BPE_VERSION 1
#define DATA_CHUNK_MAX 64 /* bytes; bounds the per-chunk merge loop */

struct data_tok {
    data_tok_kind kind;
    int vocab; /* 256 + nmerges */
    int nmerges;
    uint32_t *merges;   /* (nmerges, 2): left, right of merge i */
    uint32_t *rank_key; /* open-addressing table: pair key, or UINT32_MAX if empty */
    int32_t *rank_val;  /* merge index for rank_key */
    size_t rank_cap;    /* power of two */
    uint32_t *str_off;  /* (vocab): offset of each token's bytes in str */
    uint32_t *str_len;  /* (vocab): byte length of each token */
    uint8_t *str;       /* all tokens' bytes */
};

/* ==== Shared helpers ====================================================== */

static inline uint32_t pair_key(uint32_t a, uint32_t b) {
    return (a << 16) | b;
}
static inline uint32_t hash32(uint32_t k) {
    k ^= k >> 16;
    k *= 0x7feb352dU;
    k ^= k >> 15;
    k *= 0x846ca68bU;
    k ^= k >> 16;
    return k;
}

void data_tok_free(data_tok *t) {
    if (!t) return;
    free(t->merges);
    free(t->rank_key);
    free(t->rank_val);
    free(t->str_off);
    free(t->str_len);
    free(t->str);
    free(t);
}

int data_tok_vocab(const data_tok *t) {
    return t->vocab;
}
data_tok_kind data_tok_kind_of(const data_tok *t) {
    return t->kind;
}

int data_tok_merge(const data_tok *t, int i, uint32_t *left, uint32_t *right) {
    if (i < 0 || i >= t->nmerges) return UTIL_EINVAL;
    *left = t->merges[2 * i];
    *right = t->merges[2 * i + 1];
    return 0;
}

int data_tok_byte(data_tok **out, char *err, size_t errlen) {
    *out = NULL;
    data_tok *t = calloc(1, sizeof *t);
    if (!t) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    t->kind = DATA_TOK_BYTE;
    t->vocab = 256;
    *out = t;
    return 0;
}

/* Builds the rank table and the token byte strings from t->merges. */
static int bpe_finish(data_tok *t, char *err, size_t errlen) {
    t->vocab = 256 + t->nmerges;
    t->rank_cap = 1024;
    while (t->rank_cap < 2 * (size_t)t->nmerges + 2)
        t->rank_cap *= 2;
    t->rank_key = malloc(t->rank_cap * sizeof *t->rank_key);
    t->rank_val = malloc(t->rank_cap * sizeof *t->rank_val);
    t->str_off = malloc((size_t)t->vocab * sizeof *t->str_off);
    t->str_len = malloc((size_t)t->vocab * sizeof *t->str_len);
    if (!t->rank_key || !t->rank_val || !t->str_off || !t->str_len)
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory building BPE tables");
    memset(t->rank_key, 0xff, t->rank_cap * sizeof *t->rank_key);
    size_t total = 256;
    for (int i = 0; i < 256; i++)
        t->str_len[i] = 1;
    for (int i = 0; i < t->nmerges; i++) {
        uint32_t a = t->merges[2 * i], b = t->merges[2 * i + 1];
        t->str_len[256 + i] = t->str_len[a] + t->str_len[b];
        total += t->str_len[256 + i];
        if (total > UINT32_MAX)
            return util_err(err, errlen, UTIL_EINVAL, "BPE token strings too long");
        uint32_t k = pair_key(a, b);
        size_t h = hash32(k) & (t->rank_cap - 1);
        while (t->rank_key[h] != UINT32_MAX && t->rank_key[h] != k)
            h = (h + 1) & (t->rank_cap - 1);
        if (t->rank_key[h] == k)
            return util_err(err, errlen, UTIL_ECORRUPT, "BPE merge %d repeats pair (%u, %u)", i, a,
                            b);
        t->rank_key[h] = k;
        t->rank_val[h] = i;
    }
    t->str = malloc(total);
    if (!t->str) return util_err(err, errlen, UTIL_ENOMEM, "out of memory building BPE tables");
    uint32_t off = 0;
    for (int i = 0; i < 256; i++) {
        t->str_off[i] = off;
        t->str[off++] = (uint8_t)i;
    }
    for (int i = 0; i < t->nmerges; i++) {
        uint32_t a = t->merges[2 * i], b = t->merges[2 * i + 1];
        t->str_off[256 + i] = off;
        memcpy(t->str + off, t->str + t->str_off[a], t->str_len[a]);
        memcpy(t->str + off + t->str_len[a], t->str + t->str_off[b], t->str_len[b]);
        off += t->str_len[256 + i];
    }
    return 0;
}

static int32_t rank_of(const data_tok *t, uint32_t a, uint32_t b) {
    uint32_t k = pair_key(a, b);
    size_t h = hash32(k) & (t->rank_cap - 1);
    while (t->rank_key[h] != UINT32_MAX) {
        if (t->rank_key[h] == k) return t->rank_val[h];
        h = (h + 1) & (t->rank_cap - 1);
    }
    return -1;
}

/* ==== Chunking ============================================================ */

/* Byte classes: 0 whitespace, 1 letter (ASCII letters and all bytes >= 0x80,
 * so UTF-8 sequences stay together), 2 digit, 3 anything else. */
static inline int byte_class(uint8_t c) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f') return 0;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return 1;
    if (c >= '0' && c <= '9') return 2;
    return 3;
}

/* Length of the chunk that starts at s[0] (n > 0 bytes remain). */
static size_t chunk_len(const uint8_t *s, size_t n) {
    size_t max = n < DATA_CHUNK_MAX ? n : DATA_CHUNK_MAX;
    size_t i = 0;
    int c0 = byte_class(s[0]);
    if (s[0] == ' ' && max > 1 && byte_class(s[1]) != 0) {
        int c = byte_class(s[1]);
        i = 2;
        while (i < max && byte_class(s[i]) == c)
            i++;
        return i;
    }
    i = 1;
    while (i < max && byte_class(s[i]) == c0)
        i++;
    /* Leave a final space before a word to that word: "  the" -> " ", " the". */
    if (c0 == 0 && i > 1 && i < n && s[i - 1] == ' ' && byte_class(s[i]) != 0) i--;
    return i;
}

/* ==== Encoding and decoding ============================================== */

int data_tok_encode(const data_tok *t, const uint8_t *text, size_t n, uint32_t **out, size_t *ntok,
                    char *err, size_t errlen) {
    *out = NULL;
    *ntok = 0;
    uint32_t *tok = malloc((n ? n : 1) * sizeof *tok); /* never more tokens than bytes */
    if (!tok) return util_err(err, errlen, UTIL_ENOMEM, "out of memory encoding %zu bytes", n);
    size_t m = 0;
    if (t->kind == DATA_TOK_BYTE || t->nmerges == 0) {
        for (size_t i = 0; i < n; i++)
            tok[i] = text[i];
        m = n;
    } else {
        uint32_t sym[DATA_CHUNK_MAX];
        size_t i = 0;
        while (i < n) {
            size_t L = chunk_len(text + i, n - i);
            for (size_t j = 0; j < L; j++)
                sym[j] = text[i + j];
            size_t len = L;
            /* Repeatedly merge the lowest-ranked adjacent pair, all its
             * occurrences left to right, as training did. */
            while (len > 1) {
                int32_t best = -1;
                for (size_t j = 0; j + 1 < len; j++) {
                    int32_t r = rank_of(t, sym[j], sym[j + 1]);
                    if (r >= 0 && (best < 0 || r < best)) best = r;
                }
                if (best < 0) break;
                uint32_t a = t->merges[2 * best], b = t->merges[2 * best + 1];
                size_t w = 0;
                for (size_t j = 0; j < len;) {
                    if (j + 1 < len && sym[j] == a && sym[j + 1] == b) {
                        sym[w++] = 256 + (uint32_t)best;
                        j += 2;
                    } else {
                        sym[w++] = sym[j++];
                    }
                }
                len = w;
            }
            memcpy(tok + m, sym, len * sizeof *sym);
            m += len;
            i += L;
        }
    }
    *out = tok;
    *ntok = m;
    return 0;
}

int data_tok_decode(const data_tok *t, const uint32_t *tok, size_t ntok, uint8_t **out, size_t *n,
                    char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    size_t total = 0;
    for (size_t i = 0; i < ntok; i++) {
        if (tok[i] >= (uint32_t)t->vocab)
            return util_err(err, errlen, UTIL_EINVAL,
                            "token %u at position %zu is outside the vocabulary of %d", tok[i], i,
                            t->vocab);
        total += t->kind == DATA_TOK_BYTE ? 1 : t->str_len[tok[i]];
    }
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf) return util_err(err, errlen, UTIL_ENOMEM, "out of memory decoding %zu tokens", ntok);
    size_t w = 0;
    for (size_t i = 0; i < ntok; i++) {
        if (t->kind == DATA_TOK_BYTE) {
            buf[w++] = (uint8_t)tok[i];
        } else {
            memcpy(buf + w, t->str + t->str_off[tok[i]], t->str_len[tok[i]]);
            w += t->str_len[tok[i]];
        }
    }
    *out = buf;
    *n = w;
    return 0;
}

/* ==== Saving and loading =================================================== */

int data_tok_save(const data_tok *t, const char *path, char *err, size_t errlen) {
    size_t n = 16 + 8 * (size_t)t->nmerges + 8;
    uint8_t *buf = malloc(n);
    if (!buf) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    util_put_le64(buf, BPE_MAGIC);
    util_put_le32(buf + 8, BPE_VERSION);
    util_put_le32(buf + 12, (uint32_t)t->vocab);
    for (int i = 0; i < t->nmerges; i++) {
        util_put_le32(buf + 16 + 8 * (size_t)i, t->merges[2 * i]);
        util_put_le32(buf + 20 + 8 * (size_t)i, t->merges[2 * i + 1]);
    }
    util_put_le64(buf + n - 8, util_fnv64(UTIL_FNV_INIT, buf, n - 8));
    int rc = util_write_atomic(path, buf, n, err, errlen);
    free(buf);
    return rc;
}

int data_tok_load(data_tok **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    char *raw = NULL;
    size_t n = 0;
    data_tok *t = NULL;
    int rc = util_read_file(path, &raw, &n, err, errlen);
    if (rc) return rc;
    const uint8_t *p = (const uint8_t *)raw;
    if (n < 24 || util_get_le64(p) != BPE_MAGIC) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: not a BPE tokenizer file (bad magic)", path);
        goto done;
    }
    uint32_t ver = util_get_le32(p + 8), vocab = util_get_le32(p + 12);
    if (ver != BPE_VERSION) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: tokenizer format version %u, this program reads version %d", path, ver,
                      BPE_VERSION);
        goto done;
    }
    if (vocab < 256 || vocab > 65536 || n != 16 + 8 * (size_t)(vocab - 256) + 8) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: vocab %u and file size %zu bytes disagree (truncated?)", path, vocab, n);
        goto done;
    }
    if (util_get_le64(p + n - 8) != util_fnv64(UTIL_FNV_INIT, p, n - 8)) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: checksum mismatch (file changed)", path);
        goto done;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    t->kind = DATA_TOK_BPE;
    t->nmerges = (int)vocab - 256;
    t->merges = malloc(((size_t)t->nmerges * 2 + 1) * sizeof *t->merges);
    if (!t->merges) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < t->nmerges; i++) {
        uint32_t a = util_get_le32(p + 16 + 8 * (size_t)i),
                 b = util_get_le32(p + 20 + 8 * (size_t)i);
        if (a >= 256 + (uint32_t)i || b >= 256 + (uint32_t)i) {
            rc = util_err(err, errlen, UTIL_ECORRUPT,
                          "%s: merge %d refers to token %u, not yet defined", path, i,
                          a > b ? a : b);
            goto done;
        }
        t->merges[2 * i] = a;
        t->merges[2 * i + 1] = b;
    }
    rc = bpe_finish(t, err, errlen);
    if (rc) goto done;
    *out = t;
    t = NULL;
done:
    data_tok_free(t);
    free(raw);
    return rc;
}

/* ==== Training ============================================================= */

/* A distinct chunk of the training text: its symbols shrink as merges apply. */
typedef struct {
    const uint8_t *text; /* first occurrence in the training text */
    uint32_t len;        /* current number of symbols */
    uint32_t off;        /* symbols at sym[off .. off+len) */
    int64_t freq;        /* occurrences in the training text */
    int32_t last;        /* last merge that processed this word */
} bpe_word;

/* An adjacent pair of symbols, with its total count over all words. */
typedef struct {
    uint32_t key;    /* left << 16 | right */
    int64_t count;   /* occurrences, weighted by word frequency */
    int64_t start;   /* count when first touched in the current merge */
    int32_t touched; /* the merge that last touched this pair */
    int32_t *words;  /* ids of words that held this pair when it was added (may be stale) */
    uint32_t nwords, cap;
} bpe_pair;

typedef struct {
    int64_t count;
    uint32_t key;
} heap_ent;

typedef struct {
    bpe_word *w;
    size_t nw, wcap;
    uint32_t *sym; /* symbol pool */
    int32_t *wtab; /* chunk hash table: word id or -1 */
    size_t wtab_cap;
    bpe_pair *p;
    size_t np, pcap;
    int32_t *ptab; /* pair hash table: pair index or -1 */
    size_t ptab_cap;
    heap_ent *h;
    size_t nh, hcap;
    int32_t *touched; /* pair indices touched in this merge */
    size_t ntouched, tcap;
    int oom;
} bpe_train;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * elem);
    if (!np) return -1;
    *p = np;
    *cap = c;
    return 0;
}

static uint64_t bytes_hash(const uint8_t *s, size_t n) {
    return util_fnv64(UTIL_FNV_INIT, s, n);
}

/* Adds one occurrence of chunk s[0..n) to the word table. */
static void bt_add_chunk(bpe_train *t, const uint8_t *s, size_t n) {
    if (t->oom) return;
    if (2 * (t->nw + 1) > t->wtab_cap) {
        size_t cap = t->wtab_cap ? 2 * t->wtab_cap : 1 << 16;
        int32_t *tab = malloc(cap * sizeof *tab);
        if (!tab) {
            t->oom = 1;
            return;
        }
        memset(tab, 0xff, cap * sizeof *tab);
        for (size_t i = 0; i < t->nw; i++) {
            size_t h = bytes_hash(t->w[i].text, t->w[i].len) & (cap - 1);
            while (tab[h] >= 0)
                h = (h + 1) & (cap - 1);
            tab[h] = (int32_t)i;
        }
        free(t->wtab);
        t->wtab = tab;
        t->wtab_cap = cap;
    }
    size_t h = bytes_hash(s, n) & (t->wtab_cap - 1);
    while (t->wtab[h] >= 0) {
        bpe_word *w = &t->w[t->wtab[h]];
        if (w->len == n && memcmp(w->text, s, n) == 0) {
            w->freq++;
            return;
        }
        h = (h + 1) & (t->wtab_cap - 1);
    }
    if (grow((void **)&t->w, &t->wcap, t->nw + 1, sizeof *t->w)) {
        t->oom = 1;
        return;
    }
    t->w[t->nw] = (bpe_word){s, (uint32_t)n, 0, 1, -1};
    t->wtab[h] = (int32_t)t->nw++;
}

/* Index of pair key, created with count 0 if absent; -1 when out of memory. */
static int32_t bt_pair(bpe_train *t, uint32_t key) {
    if (2 * (t->np + 1) > t->ptab_cap) {
        size_t cap = t->ptab_cap ? 2 * t->ptab_cap : 1 << 16;
        int32_t *tab = malloc(cap * sizeof *tab);
        if (!tab) return -1;
        memset(tab, 0xff, cap * sizeof *tab);
        for (size_t i = 0; i < t->np; i++) {
            size_t h = hash32(t->p[i].key) & (cap - 1);
            while (tab[h] >= 0)
                h = (h + 1) & (cap - 1);
            tab[h] = (int32_t)i;
        }
        free(t->ptab);
        t->ptab = tab;
        t->ptab_cap = cap;
    }
    size_t h = hash32(key) & (t->ptab_cap - 1);
    while (t->ptab[h] >= 0) {
        if (t->p[t->ptab[h]].key == key) return t->ptab[h];
        h = (h + 1) & (t->ptab_cap - 1);
    }
    if (grow((void **)&t->p, &t->pcap, t->np + 1, sizeof *t->p)) return -1;
    t->p[t->np] = (bpe_pair){key, 0, 0, INT32_MIN, NULL, 0, 0};
    t->ptab[h] = (int32_t)t->np;
    return (int32_t)t->np++;
}

/* Heap order: larger count first, then smaller key (deterministic ties). */
static inline int heap_above(heap_ent a, heap_ent b) {
    return a.count > b.count || (a.count == b.count && a.key < b.key);
}

static void heap_push(bpe_train *t, int64_t count, uint32_t key) {
    if (grow((void **)&t->h, &t->hcap, t->nh + 1, sizeof *t->h)) {
        t->oom = 1;
        return;
    }
    size_t i = t->nh++;
    heap_ent e = {count, key};
    while (i > 0 && heap_above(e, t->h[(i - 1) / 2])) {
        t->h[i] = t->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->h[i] = e;
}

static heap_ent heap_pop(bpe_train *t) {
    heap_ent top = t->h[0], e = t->h[--t->nh];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->nh) break;
        if (c + 1 < t->nh && heap_above(t->h[c + 1], t->h[c])) c++;
        if (!heap_above(t->h[c], e)) break;
        t->h[i] = t->h[c];
        i = c;
    }
    if (t->nh) t->h[i] = e;
    return top;
}

/* Changes a pair's count by delta within merge m; with word >= 0, notes that
 * the word now holds the pair. */
static void bt_count(bpe_train *t, uint32_t key, int64_t delta, int32_t m, int32_t word) {
    if (t->oom) return;
    int32_t pi = bt_pair(t, key);
    if (pi < 0) {
        t->oom = 1;
        return;
    }
    bpe_pair *p = &t->p[pi];
    if (p->touched != m) {
        p->touched = m;
        p->start = p->count;
        if (grow((void **)&t->touched, &t->tcap, t->ntouched + 1, sizeof *t->touched)) {
            t->oom = 1;
            return;
        }
        t->touched[t->ntouched++] = pi;
    }
    p->count += delta;
    if (word >= 0 && (p->nwords == 0 || p->words[p->nwords - 1] != word)) {
        size_t cap = p->cap;
        if (grow((void **)&p->words, &cap, (size_t)p->nwords + 1, sizeof *p->words)) {
            t->oom = 1;
            return;
        }
        p->cap = (uint32_t)cap;
        p->words[p->nwords++] = word;
    }
}

/* Pushes the pairs whose count rose in this merge (falls leave a stale entry
 * that is an upper bound, corrected when popped). */
static void bt_flush(bpe_train *t) {
    for (size_t i = 0; i < t->ntouched; i++) {
        bpe_pair *p = &t->p[t->touched[i]];
        if (p->count > p->start) heap_push(t, p->count, p->key);
    }
    t->ntouched = 0;
}

static void bt_free(bpe_train *t) {
    for (size_t i = 0; i < t->np; i++)
        free(t->p[i].words);
    free(t->w);
    free(t->sym);
    free(t->wtab);
    free(t->p);
    free(t->ptab);
    free(t->h);
    free(t->touched);
}

int data_tok_train_bpe(data_tok **out, const uint8_t *text, size_t n, const size_t *doc_ends,
                       size_t ndocs, int vocab, char *err, size_t errlen) {
    *out = NULL;
    if (vocab < 257 || vocab > 65536)
        return util_err(err, errlen, UTIL_EINVAL, "BPE vocab %d out of range: expected 257..65536",
                        vocab);
    bpe_train t = {0};
    data_tok *tok = NULL;
    int rc = 0, nm = vocab - 256, m;

    /* ---- distinct chunks with counts, per document ---- */
    size_t start = 0;
    for (size_t d = 0; d < (doc_ends ? ndocs : 1); d++) {
        size_t end = doc_ends ? doc_ends[d] : n;
        if (end > n || end < start) {
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "document end %zu outside the text of %zu bytes", end, n);
            goto done;
        }
        for (size_t i = start; i < end;) {
            size_t L = chunk_len(text + i, end - i);
            bt_add_chunk(&t, text + i, L);
            i += L;
        }
        start = end;
    }
    size_t total = 0;
    for (size_t i = 0; i < t.nw; i++)
        total += t.w[i].len;
    t.sym = malloc((total ? total : 1) * sizeof *t.sym);
    if (!t.sym || t.oom) goto oom;
    total = 0;
    for (size_t i = 0; i < t.nw; i++) {
        bpe_word *w = &t.w[i];
        w->off = (uint32_t)total;
        for (uint32_t j = 0; j < w->len; j++)
            t.sym[total + j] = w->text[j];
        total += w->len;
        for (uint32_t j = 0; j + 1 < w->len; j++)
            bt_count(&t, pair_key(t.sym[w->off + j], t.sym[w->off + j + 1]), w->freq, -1,
                     (int32_t)i);
    }
    bt_flush(&t);
    if (t.oom) goto oom;

    tok = calloc(1, sizeof *tok);
    if (!tok || !(tok->merges = malloc((size_t)nm * 2 * sizeof *tok->merges))) goto oom;
    tok->kind = DATA_TOK_BPE;

    /* ---- merges: take the most frequent pair, rewrite the words holding it ---- */
    for (m = 0; m < nm; m++) {
        int32_t pi = -1;
        while (t.nh > 0) {
            heap_ent e = heap_pop(&t);
            int32_t i = bt_pair(&t, e.key);
            if (i < 0) goto oom;
            if (t.p[i].count > 0 && t.p[i].count == e.count) {
                pi = i;
                break;
            }
            if (t.p[i].count > 0 && t.p[i].count < e.count) heap_push(&t, t.p[i].count, e.key);
        }
        if (pi < 0 || t.oom) break; /* no pairs left: the text supports fewer merges */
        uint32_t key = t.p[pi].key, a = key >> 16, b = key & 0xffff, z = 256 + (uint32_t)m;
        tok->merges[2 * m] = a;
        tok->merges[2 * m + 1] = b;
        int32_t *list = t.p[pi].words; /* taken: the pair table may move while we work */
        uint32_t nlist = t.p[pi].nwords;
        t.p[pi].words = NULL;
        t.p[pi].nwords = t.p[pi].cap = 0;
        for (uint32_t li = 0; li < nlist; li++) {
            bpe_word *w = &t.w[list[li]];
            if (w->last == m) continue;
            w->last = m;
            uint32_t *s = t.sym + w->off, old[DATA_CHUNK_MAX];
            uint32_t len = w->len, j;
            for (j = 0; j + 1 < len; j++)
                if (s[j] == a && s[j + 1] == b) break;
            if (j + 1 >= len) continue; /* stale entry */
            memcpy(old, s, len * sizeof *s);
            for (j = 0; j + 1 < len; j++)
                bt_count(&t, pair_key(s[j], s[j + 1]), -w->freq, m, -1);
            uint32_t wl = 0;
            for (j = 0; j < len;) {
                if (j + 1 < len && s[j] == a && s[j + 1] == b) {
                    s[wl++] = z;
                    j += 2;
                } else {
                    s[wl++] = s[j++];
                }
            }
            w->len = wl;
            for (j = 0; j + 1 < wl; j++) {
                uint32_t k = pair_key(s[j], s[j + 1]);
                int held = 0; /* already on that pair's word list? */
                for (uint32_t q = 0; q + 1 < len && !held; q++)
                    held = pair_key(old[q], old[q + 1]) == k;
                bt_count(&t, k, w->freq, m, held ? -1 : list[li]);
            }
        }
        free(list);
        bt_flush(&t);
        if (t.oom) goto oom;
    }
    tok->nmerges = m;
    rc = bpe_finish(tok, err, errlen);
    if (rc) goto done;
    *out = tok;
    tok = NULL;
    goto done;
oom:
    rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory training BPE on %zu bytes", n);
done:
    data_tok_free(tok);
    bt_free(&t);
    return rc;
}
