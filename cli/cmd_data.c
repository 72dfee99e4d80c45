/*
 * cmd_data.c — `scaling data prepare|info|verify`: turn text into a prepared
 * data directory and inspect one. The work is in data/ (data.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../data/data.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling data prepare INPUT... --out DIR [--tokenizer byte|bpe] [--vocab N]\n"
    "                            [--val-fraction F] [--split document|position] [--seed S]\n"
    "                            [--ctx N] [--verbatim] [--brown-dir DIR]\n"
    "       scaling data info DIR [--json]\n"
    "       scaling data verify DIR\n"
    "\n"
    "prepare  reads INPUTs (a UTF-8 text file, whose documents are separated by blank lines;\n"
    "         a directory, each file below it one document, links followed, what is not a\n"
    "         readable regular file skipped with a warning; or the word 'brown', the Brown\n"
    "         Corpus at corpus/brown/package, see scripts/fetch-brown), makes line endings LF,\n"
    "         holds out a fraction of the documents for validation, tokenizes, and writes\n"
    "         DIR/train.tok, DIR/val.tok, DIR/meta.json (and DIR/tokenizer.bpe), replacing DIR\n"
    "         only when all is written.\n"
    "  --out DIR           the prepared directory to write (required)\n"
    "  --tokenizer KIND    byte (vocab 256, default) or bpe (trained on the training split)\n"
    "  --vocab N           BPE vocabulary size, 257..65536 (default 4096)\n"
    "  --val-fraction F    fraction of documents held out, (0, 0.5] (default 0.05)\n"
    "  --split KIND        auto (default): by document, or by position when the corpus\n"
    "                      is one document (text8, enwik8, a file without blank lines);\n"
    "                      document: a seeded shuffle holds out whole documents;\n"
    "                      position: the end of the token stream, whole windows of --ctx + 1\n"
    "                      tokens, is held out (for a corpus of one or a few documents)\n"
    "  --verbatim          keep line endings as read (default: CRLF and CR become LF)\n"
    "  --seed S            seeds the document split (default 1)\n"
    "  --ctx N             each split must hold more than N tokens (default 1024)\n"
    "  --brown-dir DIR     where the Brown corpus is (default $SCALING_BROWN_DIR or\n"
    "                      corpus/brown/package)\n"
    "info     prints what a prepared directory holds (--json: as one JSON object)\n"
    "verify   re-hashes the token files against meta.json; exit 1 if they changed\n";

/* The library's warnings (skipped entries, a lopsided split): one line each. */
static void warn_line(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "scaling data: warning: %s\n", msg);
}

static int prepare(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {"vocab", required_argument, 0, 'v'},
                                         {"val-fraction", required_argument, 0, 'f'},
                                         {"seed", required_argument, 0, 's'},
                                         {"ctx", required_argument, 0, 'c'},
                                         {"brown-dir", required_argument, 0, 'b'},
                                         {"split", required_argument, 0, 'p'},
                                         {"verbatim", no_argument, 0, 'V'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    data_prepare_opts o;
    data_prepare_defaults(&o);
    const char *out = NULL, *brown = getenv("SCALING_BROWN_DIR");
    int vocab_given = 0;
    long long v;
    double d;
    optind = 0;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 't':
            if (!strcmp(optarg, "byte"))
                o.tokenizer = DATA_TOK_BYTE;
            else if (!strcmp(optarg, "bpe"))
                o.tokenizer = DATA_TOK_BPE;
            else
                return cli_usage("data", "--tokenizer: expected byte or bpe, got '%s'", optarg);
            break;
        case 'v':
            if (cli_int("data", "--vocab", optarg, 257, 65536, &v)) return EXIT_USAGE;
            o.vocab = (int)v;
            vocab_given = 1;
            break;
        case 'f':
            if (cli_double("data", "--val-fraction", optarg, 1e-9, 0.5, &d)) return EXIT_USAGE;
            o.val_fraction = d;
            break;
        case 's':
            if (cli_int("data", "--seed", optarg, 0, 9007199254740992LL, &v)) return EXIT_USAGE;
            o.seed = (uint64_t)v;
            break;
        case 'c':
            if (cli_int("data", "--ctx", optarg, 1, 1 << 30, &v)) return EXIT_USAGE;
            o.min_ctx = (int)v;
            break;
        case 'b':
            brown = optarg;
            break;
        case 'p':
            if (!strcmp(optarg, "document"))
                o.split = DATA_SPLIT_DOCUMENT;
            else if (!strcmp(optarg, "position"))
                o.split = DATA_SPLIT_POSITION;
            else if (!strcmp(optarg, "auto"))
                o.split = DATA_SPLIT_AUTO;
            else
                return cli_usage("data", "--split: expected auto, document or position, got '%s'",
                                 optarg);
            break;
        case 'V':
            o.verbatim = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("data", "prepare: unknown option or missing value '%s'",
                             argv[optind - 1]);
        }
    }
    if (!out) return cli_usage("data", "prepare: --out DIR is required");
    if (optind >= argc)
        return cli_usage("data", "prepare: no INPUT given (a file, a directory, or brown)");
    if (o.tokenizer == DATA_TOK_BYTE && vocab_given)
        return cli_usage("data", "--vocab applies to --tokenizer bpe (byte-level is always 256)");
    if (o.tokenizer == DATA_TOK_BPE && !vocab_given) o.vocab = 4096;
    o.warn = warn_line;
    char info[1024], err[UTIL_ERRLEN];
    int rc = data_prepare((const char *const *)argv + optind, argc - optind, brown, out, &o, info,
                          sizeof info, err, sizeof err);
    if (rc) return cli_fail("data", "%s", err);
    printf("prepared %s\n", info);
    return EXIT_OK;
}

static int info_cmd(int argc, char **argv, int verify_only) {
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            if (verify_only) return cli_usage("data", "verify: unknown option '--json'");
            json = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("data", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage("data", "%s: expected exactly one DIR", verify_only ? "verify" : "info");
    const char *dir = argv[optind];
    data_info in;
    char err[UTIL_ERRLEN];
    int rc = data_info_read(dir, &in, verify_only, err, sizeof err);
    if (rc) return cli_fail("data", "%s", err);
    if (verify_only) {
        printf("%s: ok (train.tok %016llx, val.tok %016llx)\n", dir,
               (unsigned long long)in.checksum_train, (unsigned long long)in.checksum_val);
        return EXIT_OK;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        char hex[17];
        cJSON_AddStringToObject(o, "dir", dir);
        cJSON_AddStringToObject(o, "source", in.source);
        cJSON_AddStringToObject(o, "tokenizer", in.tokenizer);
        cJSON_AddNumberToObject(o, "vocab", in.vocab);
        cJSON_AddNumberToObject(o, "train_docs", (double)in.train_docs);
        cJSON_AddNumberToObject(o, "val_docs", (double)in.val_docs);
        cJSON_AddNumberToObject(o, "train_bytes", (double)in.train_bytes);
        cJSON_AddNumberToObject(o, "val_bytes", (double)in.val_bytes);
        cJSON_AddNumberToObject(o, "train_tokens", (double)in.train_tokens);
        cJSON_AddNumberToObject(o, "val_tokens", (double)in.val_tokens);
        cJSON_AddNumberToObject(o, "bytes_per_token", in.bytes_per_token);
        cJSON_AddStringToObject(o, "split", in.split);
        if (in.val_windows) {
            cJSON_AddNumberToObject(o, "val_windows", in.val_windows);
            cJSON_AddNumberToObject(o, "window_tokens", in.window_tokens);
        }
        cJSON_AddStringToObject(o, "line_endings",
                                in.line_endings[0] ? in.line_endings : "unknown");
        cJSON_AddNumberToObject(o, "skipped", (double)in.skipped);
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)in.checksum_train);
        cJSON_AddStringToObject(o, "checksum_train", hex);
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)in.checksum_val);
        cJSON_AddStringToObject(o, "checksum_val", hex);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!s) return cli_fail("data", "out of memory");
        printf("%s\n", s);
        free(s);
        return EXIT_OK;
    }
    printf("dir              %s\n"
           "source           %s\n"
           "tokenizer        %s, vocab %d\n"
           "train            %llu docs, %llu bytes, %llu tokens\n"
           "val              %llu docs, %llu bytes, %llu tokens\n"
           "bytes/token      %.4f (validation split; bits/byte = nats/token / (ln 2 * this))\n",
           dir, in.source, in.tokenizer, in.vocab, (unsigned long long)in.train_docs,
           (unsigned long long)in.train_bytes, (unsigned long long)in.train_tokens,
           (unsigned long long)in.val_docs, (unsigned long long)in.val_bytes,
           (unsigned long long)in.val_tokens, in.bytes_per_token);
    if (!strcmp(in.split, "position"))
        printf("split            by position: val is the last %d windows of %d tokens of the "
               "stream\n",
               in.val_windows, in.window_tokens);
    else
        printf("split            by document (whole documents held out)\n");
    printf("line endings     %s\n",
           !strcmp(in.line_endings, "lf")         ? "normalised (CRLF and CR became LF)"
           : !strcmp(in.line_endings, "verbatim") ? "kept as read (--verbatim)"
                                                  : "as read (not recorded: prepared before "
                                                    "normalisation)");
    if (in.skipped)
        printf("skipped          %llu entries that were not readable regular files\n",
               (unsigned long long)in.skipped);
    return EXIT_OK;
}

int cmd_data(int argc, char **argv) {
    if (argc < 2) return cli_usage("data", "expected a subcommand: prepare, info or verify");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (!strcmp(sub, "prepare")) return prepare(argc - 1, argv + 1);
    if (!strcmp(sub, "info")) return info_cmd(argc - 1, argv + 1, 0);
    if (!strcmp(sub, "verify")) return info_cmd(argc - 1, argv + 1, 1);
    return cli_usage("data", "unknown subcommand '%s' (expected prepare, info or verify)", sub);
}
