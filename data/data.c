/*
 * data.c — token files, reading corpora, the document split, and prepared
 * data directories (data_prepare, data_info_read).
 *
 * Token file (little-endian): a 32-byte header
 *   u64 magic DATA_TOKFILE_MAGIC, u32 version, u32 vocab, u64 ntokens,
 *   u32 width (2 or 4 bytes per token), u32 reserved (0)
 * followed by ntokens tokens of `width` bytes. Readers mmap it.
 *
 * Documents: a directory contributes each regular file (recursively, sorted by
 * name, hidden names skipped, symbolic links followed; dangling links, link
 * loops, unreadable and special files skipped with a warning) as one
 * document; a single text file is cut into documents at blank lines; `brown`
 * contributes the 500 Brown files ca01..cr09, untagged. Line endings become
 * LF unless verbatim. Each split is its documents concatenated in input
 * order, each ending with a newline and followed by one blank line.
 * Does not own: the tokenizers (tokenizer.c), the Brown untagger (brown.c).
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"

#define TOK_HEADER 32
#define META_FORMAT "scaling-data"
#define META_VERSION 1

/* ==== Token files ========================================================== */

int data_tokfile_write(const char *path, const uint32_t *tok, size_t n, uint32_t vocab, char *err,
                       size_t errlen) {
    if (vocab < 1 || vocab > (1u << 31))
        return util_err(err, errlen, UTIL_EINVAL, "%s: vocab %u out of range", path, vocab);
    uint32_t width = vocab <= 65536 ? 2 : 4;
    for (size_t i = 0; i < n; i++)
        if (tok[i] >= vocab)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: token %u at index %zu is outside the vocabulary of %u", path,
                            tok[i], i, vocab);
    util_afile *f;
    int rc = util_afile_open(&f, path, err, errlen);
    if (rc) return rc;
    FILE *fp = util_afile_fp(f);
    uint8_t hdr[TOK_HEADER] = {0};
    util_put_le64(hdr, DATA_TOKFILE_MAGIC);
    util_put_le32(hdr + 8, DATA_TOKFILE_VERSION);
    util_put_le32(hdr + 12, vocab);
    util_put_le64(hdr + 16, (uint64_t)n);
    util_put_le32(hdr + 24, width);
    int ok = fwrite(hdr, 1, sizeof hdr, fp) == sizeof hdr;
    uint8_t buf[1 << 14];
    size_t per = sizeof buf / width;
    for (size_t i = 0; ok && i < n; i += per) {
        size_t m = n - i < per ? n - i : per;
        for (size_t j = 0; j < m; j++) {
            if (width == 2) {
                buf[2 * j] = (uint8_t)tok[i + j];
                buf[2 * j + 1] = (uint8_t)(tok[i + j] >> 8);
            } else {
                util_put_le32(buf + 4 * j, tok[i + j]);
            }
        }
        ok = fwrite(buf, width, m, fp) == m;
    }
    if (!ok) {
        int e = errno;
        util_afile_abort(f);
        return util_err(err, errlen, UTIL_EIO, "%s: write failed: %s", path, strerror(e));
    }
    return util_afile_commit(f, err, errlen);
}

int data_tokfile_open(data_tokfile *f, const char *path, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    /* non-blocking: opening a FIFO would otherwise wait for a writer forever;
     * the fstat below refuses it (and anything else not a regular file) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return util_err(err, errlen, UTIL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    void *map = MAP_FAILED;
    size_t len = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: not a regular file", path);
        goto done;
    }
    len = (size_t)st.st_size;
    if (len < TOK_HEADER) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: truncated token file (%zu bytes, the header alone is %d)", path, len,
                      TOK_HEADER);
        goto done;
    }
    map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot map: %s", path, strerror(errno));
        goto done;
    }
    const uint8_t *p = map;
    uint64_t magic = util_get_le64(p), n = util_get_le64(p + 16);
    uint32_t ver = util_get_le32(p + 8), vocab = util_get_le32(p + 12),
             width = util_get_le32(p + 24);
    if (magic != DATA_TOKFILE_MAGIC) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: not a token file (bad magic)", path);
        goto done;
    }
    if (ver != DATA_TOKFILE_VERSION) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: token file format version %u, this program reads version %d%s", path,
                      ver, DATA_TOKFILE_VERSION, ver > DATA_TOKFILE_VERSION ? " (newer)" : "");
        goto done;
    }
    if ((width != 2 && width != 4) || vocab == 0 || (width == 2 && vocab > 65536)) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: bad header (width %u, vocab %u)", path,
                      width, vocab);
        goto done;
    }
    if (n > (len - TOK_HEADER) / width || TOK_HEADER + n * width != len) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: truncated or padded: header says %" PRIu64 " tokens (%" PRIu64
                      " bytes) but the file has %zu bytes",
                      path, n, (uint64_t)TOK_HEADER + n * (uint64_t)width, len);
        goto done;
    }
    f->base = map;
    f->map_len = len;
    f->tokens = p + TOK_HEADER;
    f->ntokens = n;
    f->vocab = vocab;
    f->width = width;
    /* One pass so that training can index embeddings without checks. */
    for (uint64_t i = 0; i < n; i++) {
        uint32_t t = data_tokfile_get(f, i);
        if (t >= vocab) {
            rc = util_err(err, errlen, UTIL_ECORRUPT,
                          "%s: token %u at index %" PRIu64 " is outside the vocabulary of %u", path,
                          t, i, vocab);
            memset(f, 0, sizeof *f);
            goto done;
        }
    }
    map = MAP_FAILED; /* owned by f now */
done:
    if (map != MAP_FAILED) munmap(map, len);
    close(fd);
    return rc;
}

void data_tokfile_close(data_tokfile *f) {
    if (!f) return;
    if (f->base) munmap((void *)f->base, f->map_len);
    memset(f, 0, sizeof *f);
}

/* FNV-1a 64 of a whole file. */
static int file_fnv(const char *path, uint64_t *out, char *err, size_t errlen) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return util_err(err, errlen, UTIL_EIO, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 1 << 16, got;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    }
    uint64_t h = UTIL_FNV_INIT;
    while ((got = fread(buf, 1, cap, fp)) > 0)
        h = util_fnv64(h, buf, got);
    int bad = ferror(fp);
    fclose(fp);
    free(buf);
    if (bad) return util_err(err, errlen, UTIL_EIO, "%s: read failed", path);
    *out = h;
    return 0;
}

/* ==== Corpus: documents in one buffer ===================================== */

typedef struct {
    size_t off, len; /* bytes of the document in corpus.buf */
} doc_span;

typedef struct {
    uint8_t *buf;
    size_t n, cap;
    doc_span *docs;
    size_t ndocs, dcap;
} corpus;

static void corpus_free(corpus *c) {
    free(c->buf);
    free(c->docs);
    memset(c, 0, sizeof *c);
}

static int corpus_add(corpus *c, const void *text, size_t n, char *err, size_t errlen) {
    if (n == 0) return 0; /* empty documents carry nothing */
    if (c->n + n > c->cap) {
        size_t cap = c->cap ? c->cap : (1 << 20);
        while (c->n + n > cap)
            cap *= 2;
        uint8_t *nb = realloc(c->buf, cap);
        if (!nb) return util_err(err, errlen, UTIL_ENOMEM, "out of memory reading the corpus");
        c->buf = nb;
        c->cap = cap;
    }
    if (c->ndocs == c->dcap) {
        size_t cap = c->dcap ? 2 * c->dcap : 256;
        doc_span *nd = realloc(c->docs, cap * sizeof *nd);
        if (!nd) return util_err(err, errlen, UTIL_ENOMEM, "out of memory reading the corpus");
        c->docs = nd;
        c->dcap = cap;
    }
    memcpy(c->buf + c->n, text, n);
    c->docs[c->ndocs++] = (doc_span){c->n, n};
    c->n += n;
    return 0;
}

/* Offset of the first byte that makes s not text (NUL or invalid UTF-8), or
 * n when it is all text; *why says which. */
static size_t text_check(const uint8_t *s, size_t n, const char **why) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) {
            *why = "NUL byte";
            return i;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07, min = 0x10000;
        else {
            *why = "invalid UTF-8";
            return i;
        }
        if (i + len > n) {
            *why = "invalid UTF-8 (truncated sequence)";
            return i;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *why = "invalid UTF-8";
                return i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *why = "invalid UTF-8";
            return i;
        }
        i += len;
    }
    return n;
}

/* CRLF and lone CR become LF, in place; returns the new length. The same
 * text saved on Windows then gives the same bytes, tokens and bits per byte. */
static size_t normalise_eol(char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            s[w++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n') i++;
        } else {
            s[w++] = s[i];
        }
    }
    return w;
}

/* Reads a text file; with verbatim == 0 its line endings become LF. Byte
 * offsets in errors are those of the file as it is on disk. */
static int read_text(const char *path, int verbatim, char **out, size_t *n, char *err,
                     size_t errlen) {
    int rc = util_read_file(path, out, n, err, errlen);
    if (rc) return rc;
    const char *why = NULL;
    size_t at = text_check((const uint8_t *)*out, *n, &why);
    if (at < *n) {
        free(*out);
        *out = NULL;
        return util_err(err, errlen, UTIL_EINVAL, "%s: not a text file (%s at byte offset %zu)",
                        path, why, at);
    }
    if (!verbatim) *n = normalise_eol(*out, *n);
    return 0;
}

/* Passes one line to the caller's warning callback, if any. */
static void warnf(const data_prepare_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warnf(const data_prepare_opts *o, const char *fmt, ...) {
    if (!o->warn) return;
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    o->warn(o->warn_ctx, m);
}

/* A single text file: documents are separated by blank lines. */
static int add_file_blocks(corpus *c, const char *path, int verbatim, char *err, size_t errlen) {
    char *s;
    size_t n;
    int rc = read_text(path, verbatim, &s, &n, err, errlen);
    if (rc) return rc;
    size_t i = 0, start = 0, end = 0; /* current block is [start, end) */
    int inblock = 0;
    while (i < n && !rc) {
        size_t eol = i;
        while (eol < n && s[eol] != '\n')
            eol++;
        size_t next = eol < n ? eol + 1 : eol;
        int blank = 1;
        for (size_t k = i; k < eol; k++)
            if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r') blank = 0;
        if (blank) {
            if (inblock) rc = corpus_add(c, s + start, end - start, err, errlen);
            inblock = 0;
        } else {
            if (!inblock) start = i;
            inblock = 1;
            end = next;
        }
        i = next;
    }
    if (!rc && inblock) rc = corpus_add(c, s + start, end - start, err, errlen);
    free(s);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (hidden ones skipped) that pass keep (NULL keeps all). */
static int list_dir(const char *dir, int (*keep)(const char *), char ***names, size_t *count,
                    char *err, size_t errlen) {
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return util_err(err, errlen, UTIL_EIO, "%s: cannot list: %s", dir, strerror(errno));
    char **v = NULL;
    size_t nv = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (keep && !keep(e->d_name)) continue;
        if (nv == cap) {
            cap = cap ? 2 * cap : 64;
            char **nvp = realloc(v, cap * sizeof *v);
            if (!nvp) {
                rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
                break;
            }
            v = nvp;
        }
        if (!(v[nv] = strdup(e->d_name))) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            break;
        }
        nv++;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < nv; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    if (nv) qsort(v, nv, sizeof *v, cmp_str);
    *names = v;
    *count = nv;
    return 0;
}

static void free_names(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A directory on the path being read: a link back to one of them is a loop. */
typedef struct dir_id {
    dev_t dev;
    ino_t ino;
    const struct dir_id *up; /* the directory it was found in; NULL for an INPUT */
} dir_id;

/* A directory: each regular file below it is one document. Links are
 * followed; what cannot be read as a regular file or a directory (dangling
 * link, link loop, no permission, fifo, socket, device) is skipped with one
 * warning and counted in *skipped. */
static int add_dir(corpus *c, const char *dir, const dir_id *self, int depth,
                   const data_prepare_opts *o, size_t *skipped, char *err, size_t errlen) {
    if (depth > 32)
        return util_err(err, errlen, UTIL_EINVAL, "%s: directories nested too deep", dir);
    char **names;
    size_t nn;
    int rc = list_dir(dir, NULL, &names, &nn, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < nn && !rc; i++) {
        char *path;
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            break;
        }
        struct stat st, lst;
        const dir_id *a = NULL;
        if (stat(path, &st) != 0) {
            int e = errno;
            int link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
            warnf(o, "%s: skipped: %s", path,
                  link && e == ENOENT ? "dangling symbolic link (its target does not exist)"
                  : e == ELOOP        ? "symbolic link loop"
                                      : strerror(e));
            ++*skipped;
        } else if (S_ISDIR(st.st_mode)) {
            for (a = self; a && !(a->dev == st.st_dev && a->ino == st.st_ino); a = a->up)
                ;
            if (a) {
                warnf(o, "%s: skipped: symbolic link loop (leads back to a directory above it)",
                      path);
                ++*skipped;
            } else {
                dir_id me = {st.st_dev, st.st_ino, self};
                rc = add_dir(c, path, &me, depth + 1, o, skipped, err, errlen);
            }
        } else if (S_ISREG(st.st_mode) && access(path, R_OK) != 0) {
            warnf(o, "%s: skipped: not readable: %s", path, strerror(errno));
            ++*skipped;
        } else if (S_ISREG(st.st_mode)) {
            char *s;
            size_t n;
            rc = read_text(path, o->verbatim, &s, &n, err, errlen);
            if (!rc) {
                rc = corpus_add(c, s, n, err, errlen);
                free(s);
            }
        } else {
            warnf(o, "%s: skipped: not a regular file or directory", path);
            ++*skipped;
        }
        free(path);
    }
    free_names(names, nn);
    return rc;
}

/* Brown document names: c, a category letter a..r, two digits. */
static int is_brown_doc(const char *s) {
    return strlen(s) == 4 && s[0] == 'c' && s[1] >= 'a' && s[1] <= 'r' && s[2] >= '0' &&
           s[2] <= '9' && s[3] >= '0' && s[3] <= '9';
}

static int add_brown(corpus *c, const char *dir, int verbatim, char *err, size_t errlen) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return util_err(err, errlen, UTIL_ENOTFOUND,
                        "%s: Brown corpus not found; run scripts/fetch-brown (or give "
                        "--brown-dir DIR / set SCALING_BROWN_DIR)",
                        dir);
    char **names;
    size_t nn;
    int rc = list_dir(dir, is_brown_doc, &names, &nn, err, errlen);
    if (rc) return rc;
    if (nn == 0) {
        free_names(names, nn);
        return util_err(err, errlen, UTIL_ENOTFOUND,
                        "%s: no Brown documents (ca01..cr09) there; run scripts/fetch-brown", dir);
    }
    for (size_t i = 0; i < nn && !rc; i++) {
        char *path = NULL, *raw = NULL, *plain = NULL;
        size_t n, pn;
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            break;
        }
        rc = read_text(path, verbatim, &raw, &n, err, errlen);
        if (!rc) rc = data_brown_untag(raw, n, &plain, &pn, err, errlen);
        if (!rc) rc = corpus_add(c, plain, pn, err, errlen);
        free(plain);
        free(raw);
        free(path);
    }
    free_names(names, nn);
    return rc;
}

/* ==== Prepared directories ================================================= */

void data_prepare_defaults(data_prepare_opts *o) {
    memset(o, 0, sizeof *o);
    o->tokenizer = DATA_TOK_BYTE;
    o->vocab = 256;
    o->val_fraction = 0.05;
    o->seed = 1;
    o->min_ctx = 1024;
    o->split = DATA_SPLIT_AUTO;
}

/* One split's text: documents joined, each ending in "\n" plus a blank line. */
typedef struct {
    uint8_t *buf;
    size_t n;
    size_t *ends; /* (ndocs) end offsets of each document's text */
    size_t ndocs;
    uint32_t *tok;
    size_t ntok;
    uint64_t fnv; /* of the token file */
} split_text;

static void split_free(split_text *s) {
    free(s->buf);
    free(s->ends);
    free(s->tok);
}

static int split_build(split_text *s, const corpus *c, const uint8_t *is_val, uint8_t want,
                       char *err, size_t errlen) {
    size_t total = 0, nd = 0;
    for (size_t i = 0; i < c->ndocs; i++)
        if (is_val[i] == want) total += c->docs[i].len + 2, nd++;
    s->buf = malloc(total ? total : 1);
    s->ends = malloc((nd ? nd : 1) * sizeof *s->ends);
    if (!s->buf || !s->ends) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->ndocs; i++) {
        if (is_val[i] != want) continue;
        memcpy(s->buf + s->n, c->buf + c->docs[i].off, c->docs[i].len);
        s->n += c->docs[i].len;
        if (s->buf[s->n - 1] != '\n') s->buf[s->n++] = '\n';
        s->buf[s->n++] = '\n';
        s->ends[s->ndocs++] = s->n;
    }
    return 0;
}

/* Holds out whole documents: a seeded shuffle picks round(f * ndocs) of them
 * (at least 1, at most all but one). */
static int split_by_document(const corpus *c, const data_prepare_opts *o, split_text *tr,
                             split_text *va, char *err, size_t errlen) {
    uint8_t *is_val = calloc(c->ndocs, 1);
    size_t *order = malloc(c->ndocs * sizeof *order);
    int rc = 0;
    if (!is_val || !order) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    size_t nval = (size_t)llround(o->val_fraction * (double)c->ndocs);
    if (nval < 1) nval = 1;
    if (nval > c->ndocs - 1) nval = c->ndocs - 1;
    util_rng rng;
    util_rng_seed(&rng, o->seed, "data-split");
    for (size_t i = 0; i < c->ndocs; i++)
        order[i] = i;
    for (size_t i = c->ndocs - 1; i > 0; i--) {
        size_t j = (size_t)util_rng_below(&rng, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < nval; i++)
        is_val[order[i]] = 1;
    rc = split_build(tr, c, is_val, 0, err, errlen);
    if (!rc) rc = split_build(va, c, is_val, 1, err, errlen);
done:
    free(is_val);
    free(order);
    return rc;
}

/* Holds out the end of the stream: all documents in input order as one text;
 * the tokenizer trained on the bytes before a cut at about (1 - f) of them;
 * the validation split the last m whole windows of W = min_ctx + 1 tokens of
 * what follows the cut (m = round(f * all tokens), at least 1); the tokens
 * between the cut and those windows go to training. Decoding train.tok then
 * val.tok gives the stream back byte for byte. *nwin gets m. tr->buf and
 * va->buf stay NULL: the split texts are the tokens' decodings. */
static int split_by_position(const corpus *c, const data_prepare_opts *o, split_text *tr,
                             split_text *va, data_tok **tok, double *t_bpe, size_t *nwin,
                             const char *sources, char *err, size_t errlen) {
    split_text all = {0};
    uint8_t *none = calloc(c->ndocs, 1), *dec = NULL;
    uint32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, ndec = 0, W = (size_t)o->min_ctx + 1;
    int rc = 0;
    if (!none) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    rc = split_build(&all, c, none, 0, err, errlen);
    free(none);
    if (rc) goto done;
    size_t n = all.n, cut;
    size_t vb = (size_t)ceil(o->val_fraction * (double)n) + W; /* bytes after the cut */
    if (vb > n - 1) vb = n - 1;
    for (;;) {
        cut = n - vb;
        data_tok_free(*tok);
        *tok = NULL;
        free(a);
        free(b);
        a = b = NULL;
        if (o->tokenizer == DATA_TOK_BPE) {
            /* document ends before the cut, then the cut itself */
            size_t nd = 0;
            while (all.ends[nd] < cut)
                nd++;
            size_t keep = all.ends[nd];
            all.ends[nd] = cut;
            double tb = util_now();
            rc = data_tok_train_bpe(tok, all.buf, cut, all.ends, nd + 1, o->vocab, err, errlen);
            *t_bpe = util_now() - tb;
            all.ends[nd] = keep;
        } else {
            rc = data_tok_byte(tok, err, errlen);
        }
        if (!rc) rc = data_tok_encode(*tok, all.buf, cut, &a, &na, err, errlen);
        if (!rc) rc = data_tok_encode(*tok, all.buf + cut, n - cut, &b, &nb, err, errlen);
        if (rc) goto done;
        if (nb >= W) break;
        if (vb == n - 1) {
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "%s: corpus too small: the validation split has %zu tokens, not more "
                          "than one training context of %d tokens (--ctx)",
                          sources, nb, o->min_ctx);
            goto done;
        }
        vb = 2 * vb < n - 1 ? 2 * vb : n - 1; /* BPE packed the tail into fewer tokens */
    }
    size_t m = (size_t)llround(o->val_fraction * (double)(na + nb) / (double)W);
    if (m < 1) m = 1;
    if (m > nb / W) m = nb / W;
    size_t k = nb - m * W; /* tokens after the cut that go to training */
    rc = data_tok_decode(*tok, b, k, &dec, &ndec, err, errlen);
    if (rc) goto done;
    uint32_t *t2 = realloc(a, (na + k ? na + k : 1) * sizeof *t2);
    va->tok = malloc(m * W * sizeof *va->tok);
    if (t2) a = t2;
    if (!t2 || !va->tok) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(a + na, b, k * sizeof *a);
    memcpy(va->tok, b + k, m * W * sizeof *b);
    tr->tok = a;
    tr->ntok = na + k;
    a = NULL;
    va->ntok = m * W;
    tr->n = cut + ndec;
    va->n = n - tr->n;
    /* a document that straddles the boundary counts in both */
    for (size_t d = 0; d < all.ndocs; d++) {
        size_t start = d ? all.ends[d - 1] : 0;
        tr->ndocs += start < tr->n;
        va->ndocs += all.ends[d] > tr->n;
    }
    *nwin = m;
done:
    split_free(&all);
    free(a);
    free(b);
    free(dec);
    return rc;
}

/* Removes a flat directory of files (ours: a temporary or a replaced prepared dir). */
static void rm_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p;
            if (asprintf(&p, "%s/%s", dir, e->d_name) >= 0) {
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

/* An existing output directory may be replaced only if it is empty or a
 * prepared directory (meta.json, no subdirectories). */
static int check_out_dir(const char *out, int *exists, char *err, size_t errlen) {
    struct stat st;
    *exists = 0;
    if (stat(out, &st) != 0) {
        if (errno == ENOENT) return 0;
        return util_err(err, errlen, UTIL_EIO, "%s: %s", out, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return util_err(err, errlen, UTIL_EIO, "%s: exists and is not a directory", out);
    *exists = 1;
    DIR *d = opendir(out);
    if (!d) return util_err(err, errlen, UTIL_EIO, "%s: cannot list: %s", out, strerror(errno));
    int entries = 0, meta = 0, subdir = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        entries++;
        if (!strcmp(e->d_name, "meta.json")) meta = 1;
        char *p;
        if (asprintf(&p, "%s/%s", out, e->d_name) >= 0) {
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) subdir = 1;
            free(p);
        }
    }
    closedir(d);
    if (entries && (!meta || subdir))
        return util_err(err, errlen, UTIL_EIO,
                        "%s: exists and is not a prepared data directory; refusing to replace it",
                        out);
    return 0;
}

static void hex64(char *buf, uint64_t v) {
    snprintf(buf, 17, "%016" PRIx64, v);
}

static cJSON *split_json(const split_text *s, const char *file) {
    cJSON *o = cJSON_CreateObject();
    char hex[17];
    hex64(hex, s->fnv);
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddNumberToObject(o, "docs", (double)s->ndocs);
    cJSON_AddNumberToObject(o, "bytes", (double)s->n);
    cJSON_AddNumberToObject(o, "tokens", (double)s->ntok);
    cJSON_AddNumberToObject(o, "bytes_per_token", s->ntok ? (double)s->n / (double)s->ntok : 0);
    cJSON_AddStringToObject(o, "fnv1a64", hex);
    return o;
}

/* One preparation as it goes: its inputs and options, the documents read,
 * the two splits, the tokenizer and what the summary reports. */
typedef struct {
    const char *const *inputs;
    int ninputs;
    const char *brown_dir;
    const data_prepare_opts *o; /* &oc */
    data_prepare_opts oc;       /* the caller's options, the auto split resolved */
    char sources[512]; /* the inputs joined by commas, for messages */
    corpus c;
    split_text tr, va;
    data_tok *tok;
    size_t skipped; /* directory entries skipped (not readable regular files) */
    size_t nwin;    /* validation windows of a split by position */
    double t0;      /* util_now() at the start */
    double t_bpe;   /* seconds spent training BPE */
} prep;

/* The options, checked before any work. */
static int check_prepare_opts(int ninputs, const data_prepare_opts *o, char *err, size_t errlen) {
    if (ninputs < 1) return util_err(err, errlen, UTIL_EINVAL, "no input given");
    if (o->tokenizer == DATA_TOK_BPE && (o->vocab < 257 || o->vocab > 65536))
        return util_err(err, errlen, UTIL_EINVAL, "BPE vocab %d out of range: expected 257..65536",
                        o->vocab);
    if (o->tokenizer != DATA_TOK_BPE && o->tokenizer != DATA_TOK_BYTE)
        return util_err(err, errlen, UTIL_EINVAL, "unknown tokenizer kind %d", (int)o->tokenizer);
    if (o->split != DATA_SPLIT_DOCUMENT && o->split != DATA_SPLIT_POSITION &&
        o->split != DATA_SPLIT_AUTO)
        return util_err(err, errlen, UTIL_EINVAL, "unknown split kind %d", (int)o->split);
    if (!(o->val_fraction > 0 && o->val_fraction <= 0.5))
        return util_err(err, errlen, UTIL_EINVAL,
                        "validation fraction %g out of range: expected (0, 0.5]", o->val_fraction);
    if (o->min_ctx < 1)
        return util_err(err, errlen, UTIL_EINVAL, "context %d out of range: expected >= 1",
                        o->min_ctx);
    return 0;
}

/* The output location, checked: out_dir usable (*exists when it is a
 * prepared directory to replace), its parent made, and an empty temporary
 * sibling *tmp (malloc'd) created to write into. */
static int make_tmp_dir(const char *out_dir, int *exists, char **tmp, char *err, size_t errlen) {
    int rc = 0;
    char *parent = NULL;
    *tmp = NULL;
    if (!*out_dir || !strcmp(out_dir, "/") || !strcmp(out_dir, ".") || !strcmp(out_dir, ".."))
        return util_err(err, errlen, UTIL_EINVAL, "'%s': not usable as an output directory",
                        out_dir);
    if ((rc = check_out_dir(out_dir, exists, err, errlen))) return rc;
    parent = strdup(out_dir);
    if (!parent) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        rc = util_mkdirs(parent, err, errlen);
    }
    free(parent);
    if (rc) return rc;
    if (asprintf(tmp, "%s.tmp.%ld", out_dir, (long)getpid()) < 0) {
        *tmp = NULL;
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    }
    rm_flat_dir(*tmp); /* a leftover of a crashed run with the same pid */
    if (mkdir(*tmp, 0777) != 0) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot create output directory: %s", out_dir,
                      strerror(errno));
        free(*tmp);
        *tmp = NULL;
    }
    return rc;
}

/* Reads every input into P->c: `brown`, a directory, or a text file. */
static int read_inputs(prep *P, char *err, size_t errlen) {
    const data_prepare_opts *o = P->o;
    int rc = 0;
    for (int i = 0; i < P->ninputs && !rc; i++) {
        const char *in = P->inputs[i];
        size_t used = strlen(P->sources);
        snprintf(P->sources + used, sizeof P->sources - used, "%s%s", used ? "," : "", in);
        if (!strcmp(in, "brown")) {
            rc = add_brown(&P->c, P->brown_dir, o->verbatim, err, errlen);
            continue;
        }
        struct stat st;
        if (stat(in, &st) != 0) {
            rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: %s", in, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            dir_id top = {st.st_dev, st.st_ino, NULL};
            rc = add_dir(&P->c, in, &top, 0, o, &P->skipped, err, errlen);
        } else if (S_ISREG(st.st_mode)) {
            rc = add_file_blocks(&P->c, in, o->verbatim, err, errlen);
        } else {
            rc = util_err(err, errlen, UTIL_EINVAL, "%s: not a file or directory", in);
        }
    }
    if (rc) return rc;
    if (P->c.n == 0)
        return util_err(err, errlen, UTIL_EINVAL, "%s: empty corpus (no text)", P->sources);
    if (P->oc.split == DATA_SPLIT_AUTO) {
        P->oc.split = P->c.ndocs < 2 ? DATA_SPLIT_POSITION : DATA_SPLIT_DOCUMENT;
        if (P->c.ndocs < 2)
            warnf(o,
                  "%s: only one document (no blank lines, one file): the validation split is "
                  "the end of the token stream, whole windows of --ctx + 1 = %d tokens "
                  "(--split position; 'data info' says so)",
                  P->sources, o->min_ctx + 1);
    }
    if (P->c.ndocs < 2 && o->split == DATA_SPLIT_DOCUMENT)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: only one document; a validation split by document needs at least 2 "
                        "(separate documents by blank lines, give a directory of files, or split "
                        "by position: --split position)",
                        P->sources);
    return 0;
}

/* The split (whole documents by a seeded shuffle, or the stream's end),
 * with a warning when it is far from the requested fraction. */
static int split_corpus(prep *P, char *err, size_t errlen) {
    const data_prepare_opts *o = P->o;
    int rc;
    if (o->split == DATA_SPLIT_POSITION)
        rc = split_by_position(&P->c, o, &P->tr, &P->va, &P->tok, &P->t_bpe, &P->nwin, P->sources,
                               err, errlen);
    else
        rc = split_by_document(&P->c, o, &P->tr, &P->va, err, errlen);
    if (rc) return rc;
    /* A few documents cannot hold out 5%: one of three is a third of the text. */
    double got = (double)P->va.n / (double)(P->tr.n + P->va.n);
    if (got > 2 * o->val_fraction || got < o->val_fraction / 2) {
        if (o->split == DATA_SPLIT_POSITION)
            warnf(o,
                  "%s: the validation split is %.1f%% of the text, far from the requested "
                  "--val-fraction %g: it holds at least one whole window of --ctx + 1 = %d tokens",
                  P->sources, 100 * got, o->val_fraction, o->min_ctx + 1);
        else
            warnf(o,
                  "%s: the validation split is %.1f%% of the text (%zu of %zu documents), far "
                  "from the requested --val-fraction %g: a split by document holds out whole "
                  "documents; --split position holds out the end of the token stream instead",
                  P->sources, 100 * got, P->va.ndocs, P->c.ndocs, o->val_fraction);
    }
    return 0;
}

/* The tokenizer, trained on the training split only, and both splits
 * encoded; each must hold more than one context. */
static int tokenize_splits(prep *P, char *err, size_t errlen) {
    const data_prepare_opts *o = P->o;
    split_text *tr = &P->tr, *va = &P->va;
    int rc;
    if (P->tok) {
        rc = 0; /* the position split has trained and encoded already */
    } else if (o->tokenizer == DATA_TOK_BPE) {
        double tb = util_now();
        rc =
            data_tok_train_bpe(&P->tok, tr->buf, tr->n, tr->ends, tr->ndocs, o->vocab, err, errlen);
        P->t_bpe = util_now() - tb;
    } else {
        rc = data_tok_byte(&P->tok, err, errlen);
    }
    if (!rc && !tr->tok)
        rc = data_tok_encode(P->tok, tr->buf, tr->n, &tr->tok, &tr->ntok, err, errlen);
    if (!rc && !va->tok)
        rc = data_tok_encode(P->tok, va->buf, va->n, &va->tok, &va->ntok, err, errlen);
    if (rc) return rc;
    if (tr->ntok <= (size_t)o->min_ctx || va->ntok <= (size_t)o->min_ctx)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: corpus too small: the %s split has %zu tokens, not more than one "
                        "training context of %d tokens (--ctx)",
                        P->sources, tr->ntok <= (size_t)o->min_ctx ? "training" : "validation",
                        tr->ntok <= (size_t)o->min_ctx ? tr->ntok : va->ntok, o->min_ctx);
    return 0;
}

static const char *const split_files[2] = {"train.tok", "val.tok"};

/* The token files (with their checksums) and the BPE merges, into tmp. */
static int write_token_files(prep *P, const char *tmp, char *err, size_t errlen) {
    uint32_t vocab = (uint32_t)data_tok_vocab(P->tok);
    split_text *sp[2] = {&P->tr, &P->va};
    char *path = NULL;
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        free(path);
        if (asprintf(&path, "%s/%s", tmp, split_files[k]) < 0) {
            path = NULL;
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            break;
        }
        rc = data_tokfile_write(path, sp[k]->tok, sp[k]->ntok, vocab, err, errlen);
        if (!rc) rc = file_fnv(path, &sp[k]->fnv, err, errlen);
    }
    if (!rc && P->o->tokenizer == DATA_TOK_BPE) {
        free(path);
        if (asprintf(&path, "%s/tokenizer.bpe", tmp) < 0) {
            path = NULL;
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        } else {
            rc = data_tok_save(P->tok, path, err, errlen);
        }
    }
    free(path);
    return rc;
}

/* meta.json's text (malloc'd; NULL when out of memory). */
static char *meta_json(const prep *P) {
    const data_prepare_opts *o = P->o;
    uint32_t vocab = (uint32_t)data_tok_vocab(P->tok);
    char created[32];
    util_utc_iso(created, sizeof created);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", META_FORMAT);
    cJSON_AddNumberToObject(m, "version", META_VERSION);
    cJSON_AddStringToObject(m, "created", created);
    cJSON_AddStringToObject(m, "program", util_version());
    cJSON_AddStringToObject(m, "git", util_git_rev());
    cJSON_AddStringToObject(m, "source", P->sources);
    cJSON *srcs = cJSON_AddArrayToObject(m, "sources");
    for (int i = 0; i < P->ninputs; i++)
        cJSON_AddItemToArray(srcs, cJSON_CreateString(P->inputs[i]));
    for (int i = 0; i < P->ninputs; i++)
        if (!strcmp(P->inputs[i], "brown")) {
            cJSON_AddStringToObject(m, "brown_dir", P->brown_dir);
            break;
        }
    cJSON *tj = cJSON_AddObjectToObject(m, "tokenizer");
    cJSON_AddStringToObject(tj, "kind", o->tokenizer == DATA_TOK_BPE ? "bpe" : "byte");
    cJSON_AddNumberToObject(tj, "vocab", vocab);
    if (o->tokenizer == DATA_TOK_BPE) {
        cJSON_AddNumberToObject(tj, "requested_vocab", o->vocab);
        cJSON_AddStringToObject(tj, "file", "tokenizer.bpe");
        cJSON_AddNumberToObject(tj, "train_seconds", P->t_bpe);
    }
    cJSON_AddNumberToObject(m, "val_fraction", o->val_fraction);
    cJSON_AddNumberToObject(m, "seed", (double)o->seed);
    cJSON_AddNumberToObject(m, "min_ctx", o->min_ctx);
    cJSON_AddNumberToObject(m, "docs", (double)P->c.ndocs);
    cJSON_AddStringToObject(m, "split", o->split == DATA_SPLIT_POSITION ? "position" : "document");
    if (o->split == DATA_SPLIT_POSITION) {
        cJSON_AddNumberToObject(m, "val_windows", (double)P->nwin);
        cJSON_AddNumberToObject(m, "window_tokens", o->min_ctx + 1);
    }
    cJSON_AddStringToObject(m, "line_endings", o->verbatim ? "verbatim" : "lf");
    cJSON_AddNumberToObject(m, "skipped", (double)P->skipped);
    cJSON_AddNumberToObject(m, "bytes_per_token", (double)P->va.n / (double)P->va.ntok);
    cJSON *sj = cJSON_AddObjectToObject(m, "splits");
    cJSON_AddItemToObject(sj, "train", split_json(&P->tr, split_files[0]));
    cJSON_AddItemToObject(sj, "val", split_json(&P->va, split_files[1]));
    char *json = cJSON_Print(m);
    cJSON_Delete(m);
    return json;
}

/* Puts tmp in place of out_dir: swapped with an existing directory (or
 * renamed around it), else renamed. *made_tmp is cleared once tmp is gone. */
static int put_in_place(const char *tmp, const char *out_dir, int exists, int *made_tmp, char *err,
                        size_t errlen) {
    if (!exists) {
        if (rename(tmp, out_dir) != 0)
            return util_err(err, errlen, UTIL_EIO, "%s: cannot rename into place: %s", out_dir,
                            strerror(errno));
        *made_tmp = 0;
        return 0;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_EXCHANGE) == 0) {
        rm_flat_dir(tmp); /* now the old contents */
        *made_tmp = 0;
        return 0;
    }
    char *old;
    if (asprintf(&old, "%s.old.%ld", out_dir, (long)getpid()) < 0)
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    int rc = 0;
    if (rename(out_dir, old) != 0) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot replace: %s", out_dir, strerror(errno));
    } else if (rename(tmp, out_dir) != 0) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot rename into place: %s", out_dir,
                      strerror(errno));
        rename(old, out_dir);
    } else {
        rm_flat_dir(old);
        *made_tmp = 0;
    }
    free(old);
    return rc;
}

/* The one-line summary of a finished preparation. */
static void prepare_summary(const prep *P, const char *out_dir, char *info, size_t infolen) {
    const data_prepare_opts *o = P->o;
    const split_text *tr = &P->tr, *va = &P->va;
    uint32_t vocab = (uint32_t)data_tok_vocab(P->tok);
    int fewer = o->tokenizer == DATA_TOK_BPE && (int)vocab < o->vocab;
    int k = snprintf(info, infolen,
                     "%s: %zu documents (%zu train, %zu val); tokenizer %s, vocab %u%s; train "
                     "%zu bytes -> %zu tokens, val %zu bytes -> %zu tokens, %.4f bytes/token "
                     "(val); %.2f s",
                     out_dir, P->c.ndocs, tr->ndocs, va->ndocs,
                     o->tokenizer == DATA_TOK_BPE ? "bpe" : "byte", vocab,
                     fewer ? " (fewer than asked: the text ran out of pairs)" : "", tr->n, tr->ntok,
                     va->n, va->ntok, (double)va->n / (double)va->ntok, util_now() - P->t0);
    if (o->tokenizer == DATA_TOK_BPE && k > 0 && (size_t)k < infolen)
        k += snprintf(info + k, infolen - (size_t)k, " (BPE training %.2f s)", P->t_bpe);
    if (o->split == DATA_SPLIT_POSITION && k > 0 && (size_t)k < infolen)
        k += snprintf(info + k, infolen - (size_t)k,
                      "; split by position: val is the last %zu windows of %d tokens", P->nwin,
                      o->min_ctx + 1);
    if (P->skipped && k > 0 && (size_t)k < infolen)
        snprintf(info + k, infolen - (size_t)k, "; %zu entr%s skipped (not readable regular files)",
                 P->skipped, P->skipped == 1 ? "y" : "ies");
}

int data_prepare(const char *const *inputs, int ninputs, const char *brown_dir, const char *out_dir,
                 const data_prepare_opts *o, char *info, size_t infolen, char *err, size_t errlen) {
    prep P;
    memset(&P, 0, sizeof P);
    P.inputs = inputs;
    P.ninputs = ninputs;
    P.brown_dir = brown_dir ? brown_dir : "corpus/brown/package";
    P.oc = *o;
    P.o = &P.oc;
    o = P.o;
    P.t0 = util_now();
    char *tmp = NULL, *path = NULL, *json = NULL, *outbuf = NULL;
    int rc = 0, made_tmp = 0, exists = 0;
    if (info && infolen) info[0] = 0;
    if ((rc = check_prepare_opts(ninputs, o, err, errlen))) return rc;
    /* "data/brown/" names the same directory as "data/brown"; the temporary
     * must be its sibling, not its child. */
    if (!(outbuf = strdup(out_dir))) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    for (size_t l = strlen(outbuf); l > 1 && outbuf[l - 1] == '/'; l--)
        outbuf[l - 1] = 0;
    out_dir = outbuf;
    if ((rc = make_tmp_dir(out_dir, &exists, &tmp, err, errlen))) goto done;
    made_tmp = 1;

    if ((rc = read_inputs(&P, err, errlen)) || (rc = split_corpus(&P, err, errlen)) ||
        (rc = tokenize_splits(&P, err, errlen)) || (rc = write_token_files(&P, tmp, err, errlen)))
        goto done;
    json = meta_json(&P);
    if (!json || asprintf(&path, "%s/meta.json", tmp) < 0) {
        path = NULL;
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = util_write_atomic(path, json, strlen(json), err, errlen))) goto done;
    if ((rc = put_in_place(tmp, out_dir, exists, &made_tmp, err, errlen))) goto done;
    if (info && infolen) prepare_summary(&P, out_dir, info, infolen);
done:
    if (made_tmp) rm_flat_dir(tmp);
    data_tok_free(P.tok);
    split_free(&P.tr);
    split_free(&P.va);
    corpus_free(&P.c);
    free(tmp);
    free(path);
    free(json);
    free(outbuf);
    return rc;
}

/* ==== Reading a prepared directory ========================================= */

static int get_num(const cJSON *o, const char *key, double *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x)) return -1;
    *v = x->valuedouble;
    return 0;
}

static int get_split(const cJSON *splits, const char *name, uint64_t *docs, uint64_t *bytes,
                     uint64_t *tokens, uint64_t *fnv) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(splits, name);
    double d, b, t;
    if (!cJSON_IsObject(s) || get_num(s, "docs", &d) || get_num(s, "bytes", &b) ||
        get_num(s, "tokens", &t))
        return -1;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "fnv1a64");
    if (!cJSON_IsString(h)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(h->valuestring, &end, 16);
    if (errno || *end || end == h->valuestring) return -1;
    *docs = (uint64_t)d;
    *bytes = (uint64_t)b;
    *tokens = (uint64_t)t;
    *fnv = v;
    return 0;
}

int data_info_read(const char *dir, data_info *info, int verify, char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    char *path = NULL, *text = NULL;
    size_t n;
    cJSON *m = NULL;
    int rc = 0;
    if (asprintf(&path, "%s/meta.json", dir) < 0)
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    if (access(path, F_OK) != 0) {
        rc = util_err(err, errlen, UTIL_ENOTFOUND,
                      "%s: not a prepared data directory (no meta.json); run 'scaling data "
                      "prepare'",
                      dir);
        goto done;
    }
    rc = util_read_file(path, &text, &n, err, errlen);
    if (rc) goto done;
    m = cJSON_Parse(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "format");
    const cJSON *tj = cJSON_GetObjectItemCaseSensitive(m, "tokenizer");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(tj, "kind");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
    const cJSON *splits = cJSON_GetObjectItemCaseSensitive(m, "splits");
    double ver = 0, vocab = 0;
    if (!m || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, META_FORMAT) ||
        get_num(m, "version", &ver)) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: not a prepared-data meta.json", path);
        goto done;
    }
    if (ver != META_VERSION) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: metadata version %g, this program reads version %d", path, ver,
                      META_VERSION);
        goto done;
    }
    if (!cJSON_IsString(kind) || get_num(tj, "vocab", &vocab) || !cJSON_IsString(src) ||
        get_split(splits, "train", &info->train_docs, &info->train_bytes, &info->train_tokens,
                  &info->checksum_train) ||
        get_split(splits, "val", &info->val_docs, &info->val_bytes, &info->val_tokens,
                  &info->checksum_val) ||
        (strcmp(kind->valuestring, "byte") && strcmp(kind->valuestring, "bpe")) ||
        info->val_tokens == 0) {
        rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: missing or malformed fields", path);
        goto done;
    }
    snprintf(info->tokenizer, sizeof info->tokenizer, "%s", kind->valuestring);
    snprintf(info->source, sizeof info->source, "%s", src->valuestring);
    info->vocab = (int)vocab;
    info->bytes_per_token = (double)info->val_bytes / (double)info->val_tokens;
    /* recorded since line-ending normalisation and the position split; older
     * directories are split by document and kept their bytes as read */
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(m, "split");
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(m, "line_endings");
    snprintf(info->split, sizeof info->split, "%s",
             cJSON_IsString(sp) ? sp->valuestring : "document");
    snprintf(info->line_endings, sizeof info->line_endings, "%s",
             cJSON_IsString(le) ? le->valuestring : "");
    double x;
    if (!get_num(m, "val_windows", &x)) info->val_windows = (int)x;
    if (!get_num(m, "window_tokens", &x)) info->window_tokens = (int)x;
    if (!get_num(m, "skipped", &x)) info->skipped = (uint64_t)x;
    if (verify) {
        const char *names[2] = {"train.tok", "val.tok"};
        uint64_t want_fnv[2] = {info->checksum_train, info->checksum_val};
        uint64_t want_n[2] = {info->train_tokens, info->val_tokens};
        for (int k = 0; k < 2 && !rc; k++) {
            free(path);
            if (asprintf(&path, "%s/%s", dir, names[k]) < 0) {
                path = NULL;
                rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
                break;
            }
            data_tokfile f;
            rc = data_tokfile_open(&f, path, err, errlen);
            if (rc) break;
            uint64_t got_n = f.ntokens;
            uint32_t got_v = f.vocab;
            data_tokfile_close(&f);
            if (got_n != want_n[k] || got_v != (uint32_t)info->vocab) {
                rc = util_err(err, errlen, UTIL_ECORRUPT,
                              "%s: holds %" PRIu64 " tokens of vocab %u, meta.json says %" PRIu64
                              " of vocab %d",
                              path, got_n, got_v, want_n[k], info->vocab);
                break;
            }
            uint64_t h;
            rc = file_fnv(path, &h, err, errlen);
            if (!rc && h != want_fnv[k])
                rc = util_err(err, errlen, UTIL_ECORRUPT,
                              "%s: checksum %016" PRIx64 " does not match meta.json's %016" PRIx64
                              " (the file changed since it was prepared)",
                              path, h, want_fnv[k]);
        }
        if (!rc && !strcmp(info->tokenizer, "bpe")) {
            free(path);
            if (asprintf(&path, "%s/tokenizer.bpe", dir) < 0) {
                path = NULL;
                rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
                goto done;
            }
            data_tok *t;
            rc = data_tok_load(&t, path, err, errlen);
            if (!rc && data_tok_vocab(t) != info->vocab)
                rc = util_err(err, errlen, UTIL_ECORRUPT, "%s: vocab %d, meta.json says %d", path,
                              data_tok_vocab(t), info->vocab);
            data_tok_free(t);
        }
    }
done:
    if (rc) memset(info, 0, sizeof *info);
    cJSON_Delete(m);
    free(text);
    free(path);
    return rc;
}
