/*
 * fit_data.c — the data behind the fits: loading finished runs and their eval
 * curves from the results database, loading (N, D or FLOPs, loss) from a CSV,
 * parameter and FLOP counting, the lower envelope of the learning curves, the
 * grouping of runs into IsoFLOP budgets, and the helpers the fits share.
 *
 * Does not fit anything (fit_laws.c, fit_approach3.c) and does not print.
 */
#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fit.h"
#include "fit_internal.h"

/* ---- Options and counting ------------------------------------------------ */

void fit_opts_defaults(fit_opts *o) {
    /* not named: with_E 0, a3_starts 0 (the full grid) */
    *o = (fit_opts){.params = FIT_PARAMS_TOTAL,
                    .flops = MODEL_FLOPS_CHINCHILLA,
                    .bootstrap = 200,
                    .seed = 20240417,
                    .huber_delta = 1e-3,
                    .threads = 2,
                    .envelope_points = 200,
                    .a2_window = 2,
                    .a3_boot_starts = 64};
}

double fit_run_params(const fit_run *r, fit_params p) {
    if (p == FIT_PARAMS_NONEMB && r->n_nonemb > 0) return r->n_nonemb;
    return r->n_total;
}

double fit_run_flops_at(const fit_run *r, fit_params p, model_flops_count f, double tokens) {
    switch (f) {
    case MODEL_FLOPS_CHINCHILLA:
        if (r->fpt_chinchilla > 0) return r->fpt_chinchilla * tokens;
        break;
    case MODEL_FLOPS_KAPLAN:
        /* Kaplan's C = 6 N D counts non-embedding parameters */
        if (r->fpt_kaplan > 0) return r->fpt_kaplan * tokens;
        return 6.0 * (r->n_nonemb > 0 ? r->n_nonemb : r->n_total) * tokens;
    case MODEL_FLOPS_ACTUAL:
        if (r->fpt_actual > 0) return r->fpt_actual * tokens;
        break;
    case MODEL_FLOPS_6ND:
        break;
    }
    return 6.0 * fit_run_params(r, p) * tokens;
}

double fit_run_flops(const fit_run *r, fit_params p, model_flops_count f) {
    return fit_run_flops_at(r, p, f, r->tokens);
}

void fit_count_frontier(const fit_data *d, fit_params p, model_flops_count f,
                        model_flops_frontier *out) {
    out->n = 0;
    if (f == MODEL_FLOPS_6ND) return;
    for (int i = 0; i < d->nruns; i++) /* a size beyond MODEL_FRONTIER_MAX is left out */
        model_frontier_add(out, fit_run_params(&d->runs[i], p),
                           fit_run_flops_at(&d->runs[i], p, f, 1.0));
}

int fit_a3_outside(const fit_run *r, fit_params p, char *why, size_t whylen) {
    char buf[160] = "";
    size_t len = 0;
    double N = fit_run_params(r, p), tpp = r->tokens / N;
    if (tpp < FIT_A3_MIN_TPP)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%.3g tokens per parameter (< %g)",
                                tpp, FIT_A3_MIN_TPP);
    if (r->warmup_tokens > 0 && r->tokens < FIT_A3_MIN_WARMUP * r->warmup_tokens &&
        len < sizeof buf)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%strained %.3g x its warm-up (< %g)",
                                len ? "; " : "", r->tokens / r->warmup_tokens, FIT_A3_MIN_WARMUP);
    if (r->epochs > FIT_A3_MAX_EPOCHS && len < sizeof buf)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.3g epochs (> %g)",
                                len ? "; " : "", r->epochs, FIT_A3_MAX_EPOCHS);
    if (why && whylen) snprintf(why, whylen, "%s", buf);
    return len > 0;
}

double fit_run_best_loss(const fit_run *r) {
    double best = r->loss;
    for (int i = 0; i < r->ncurve; i++)
        if (isfinite(r->curve_loss[i]) && r->curve_loss[i] > 0 &&
            (!isfinite(best) || r->curve_loss[i] < best))
            best = r->curve_loss[i];
    return best;
}

void fit_data_free(fit_data *d) {
    if (!d) return;
    for (int i = 0; i < d->nruns; i++) {
        free(d->runs[i].curve_tokens);
        free(d->runs[i].curve_loss);
        free(d->runs[i].win);
    }
    free(d->runs);
    d->runs = NULL;
    d->nruns = 0;
}

/* ---- Loading from the results database ----------------------------------- */

/* A WSD family's curve for the envelopes (Approach 1, Kaplan's L(Cmin)): its
 * members' final losses at their own tokens, on the trunk. Before its
 * cooldown a trunk trains at constant lr: those losses were reached, but a run
 * annealed at that compute reaches less (Hägele et al. 2024, Fig. 2-3), so an
 * envelope through them would sit too high; a branch's own evals are its
 * cooldown only. The cooldown ends are each an annealed run. */
int fit__family_root(const fit_data *d, int i) {
    for (int hops = 0; hops < d->nruns && d->runs[i].parent[0]; hops++) {
        int up = -1;
        for (int j = 0; j < d->nruns && up < 0; j++)
            if (j != i && !strcmp(d->runs[j].id, d->runs[i].parent)) up = j;
        if (up < 0) break;
        i = up;
    }
    return i;
}

static int family_curves(fit_data *d, char *err, size_t errlen) {
    int *root = malloc((size_t)(d->nruns ? d->nruns : 1) * sizeof *root);
    if (!root) return util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory");
    for (int i = 0; i < d->nruns; i++)
        root[i] = fit__family_root(d, i);
    for (int t = 0; t < d->nruns; t++) {
        fit_run *T = &d->runs[t];
        int nb = 0;
        for (int i = 0; i < d->nruns; i++)
            nb += i != t && root[i] == t && isfinite(d->runs[i].loss);
        if (!nb && T->wsd && root[t] == t && isfinite(T->loss)) {
            /* a WSD run alone: its evals before the end sit at the stable
             * lr or part-way down the cooldown, not annealed; its curve is
             * its end only */
            if (!T->curve_tokens && !(T->curve_tokens = malloc(sizeof *T->curve_tokens))) {
                free(root);
                return util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory");
            }
            if (!T->curve_loss && !(T->curve_loss = malloc(sizeof *T->curve_loss))) {
                free(root);
                return util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory");
            }
            T->curve_tokens[0] = T->tokens, T->curve_loss[0] = T->loss;
            T->ncurve = 1;
            continue;
        }
        if (!nb || !isfinite(T->loss)) continue;
        double *ct = malloc((size_t)(nb + 1) * sizeof *ct);
        double *cl = malloc((size_t)(nb + 1) * sizeof *cl);
        if (!ct || !cl) {
            free(ct);
            free(cl);
            free(root);
            return util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory");
        }
        int n = 0;
        for (int i = 0; i < d->nruns; i++) {
            fit_run *r = &d->runs[i];
            if (i != t && (root[i] != t || !isfinite(r->loss))) continue;
            int k = n++; /* insertion by tokens */
            while (k > 0 && ct[k - 1] > r->tokens) {
                ct[k] = ct[k - 1], cl[k] = cl[k - 1];
                k--;
            }
            ct[k] = r->tokens, cl[k] = r->loss;
            if (i != t) {
                free(r->curve_tokens), free(r->curve_loss);
                r->curve_tokens = r->curve_loss = NULL;
                r->ncurve = 0;
            }
        }
        free(T->curve_tokens), free(T->curve_loss);
        T->curve_tokens = ct, T->curve_loss = cl;
        T->ncurve = n;
    }
    free(root);
    return 0;
}

int fit__seed_mean(const fit_data *d, fit_data *out) {
    int n = d->nruns;
    out->nruns = 0;
    out->runs = calloc((size_t)(n ? n : 1), sizeof *out->runs);
    int *cnt = calloc((size_t)(n ? n : 1), sizeof *cnt);
    if (!out->runs || !cnt) {
        free(out->runs), free(cnt);
        out->runs = NULL;
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        const fit_run *r = &d->runs[i];
        int into = -1; /* an earlier member with the same curve tokens */
        for (int j = 0; j < out->nruns && into < 0 && r->config; j++) {
            const fit_run *q = &out->runs[j];
            if (q->config != r->config || q->ncurve != r->ncurve || q->tokens != r->tokens)
                continue;
            int same = 1;
            for (int k = 0; k < r->ncurve && same; k++)
                same = q->curve_tokens[k] == r->curve_tokens[k];
            if (same) into = j;
        }
        if (into >= 0) {
            fit_run *q = &out->runs[into];
            int c = ++cnt[into]; /* running means */
            q->loss += (r->loss - q->loss) / c;
            for (int k = 0; k < r->ncurve; k++)
                q->curve_loss[k] += (r->curve_loss[k] - q->curve_loss[k]) / c;
            continue;
        }
        fit_run *q = &out->runs[out->nruns];
        *q = *r;
        q->win = NULL, q->nwin = 0;
        q->curve_tokens = q->curve_loss = NULL;
        if (r->ncurve > 0) {
            q->curve_tokens = malloc((size_t)r->ncurve * sizeof *q->curve_tokens);
            q->curve_loss = malloc((size_t)r->ncurve * sizeof *q->curve_loss);
            if (!q->curve_tokens || !q->curve_loss) {
                free(q->curve_tokens), free(q->curve_loss);
                free(cnt);
                fit_data_free(out);
                return UTIL_ENOMEM;
            }
            memcpy(q->curve_tokens, r->curve_tokens, (size_t)r->ncurve * sizeof *q->curve_tokens);
            memcpy(q->curve_loss, r->curve_loss, (size_t)r->ncurve * sizeof *q->curve_loss);
        }
        cnt[out->nruns++] = 1;
    }
    free(cnt);
    return 0;
}

/* FNV-1a of a NUL-terminated string (util_fnv64); 0 is kept for "unknown". */
static uint64_t fnv1a(const char *s) {
    uint64_t h = util_fnv64(UTIL_FNV_INIT, s, strlen(s));
    return h ? h : 1;
}

static int load_store(fit_data *d, store *s, const char *sweep, int holdout, char *err,
                      size_t errlen) {
    store_fit_run *rows = NULL;
    int n = 0, rc;
    d->nruns = 0;
    d->runs = NULL;
    if ((rc = holdout ? store_holdout_runs(s, sweep, &rows, &n, err, errlen)
                      : store_fit_runs(s, sweep, &rows, &n, err, errlen)))
        return rc;
    if (n && !(d->runs = calloc((size_t)n, sizeof *d->runs))) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory reading runs");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const store_fit_run *x = &rows[i];
        fit_run *r = &d->runs[d->nruns++];
        snprintf(r->id, sizeof r->id, "%s", x->id);
        snprintf(r->label, sizeof r->label, "%s", x->label);
        r->n_total = x->params_total;
        r->n_nonemb = x->params_nonembedding;
        r->fpt_kaplan = isfinite(x->flops_per_token_kaplan) ? x->flops_per_token_kaplan : 0;
        r->fpt_chinchilla =
            isfinite(x->flops_per_token_chinchilla) ? x->flops_per_token_chinchilla : 0;
        r->tokens = x->tokens_done > 0 ? x->tokens_done : x->tokens;
        r->unique_tokens = x->unique_tokens > 0 ? x->unique_tokens : 0;
        r->budget = x->compute_budget > 0 ? x->compute_budget : NAN;
        r->loss = isfinite(x->final_val_loss) ? x->final_val_loss : x->best_val_loss;
        snprintf(r->parent, sizeof r->parent, "%s", x->parent_run);
        r->config = x->config[0] ? fnv1a(x->config) : 0;
        r->n_vocab = x->n_vocab > 0 ? x->n_vocab : 0;
        r->warmup_tokens =
            x->warmup > 0 && x->batch > 0 && x->n_ctx > 0 ? x->warmup * x->batch * x->n_ctx : 0;
        model_shape sh = {.n_layer = x->n_layer,
                          .d_model = x->d_model,
                          .n_head = x->n_head,
                          .d_ff = x->d_ff,
                          .n_ctx = isfinite(x->n_ctx) ? (int)x->n_ctx : 0,
                          .n_vocab = isfinite(x->n_vocab) ? (int)x->n_vocab : 0};
        r->fpt_actual = model_shape_check(&sh, NULL, 0) ? 0 : model_flops_actual(&sh);
        r->epochs = x->epochs >= 0 ? x->epochs : NAN;
        r->wsd = !strcmp(x->schedule, "wsd");
        /* the curve, without points of no compute (the step-0 eval) */
        double *t = NULL, *l = NULL;
        int m = 0;
        if ((rc = store_eval_curve(s, r->id, &t, &l, &m, err, errlen))) goto done;
        r->curve_tokens = t;
        r->curve_loss = l;
        for (int k = 0; k < m; k++)
            if (t[k] > 0 && isfinite(l[k])) t[r->ncurve] = t[k], l[r->ncurve++] = l[k];
        if (!isfinite(r->loss) && r->ncurve > 0) r->loss = r->curve_loss[r->ncurve - 1];
    }
    if ((rc = family_curves(d, err, errlen))) goto done;
    rc = fit__noise_load(d, s, err, errlen);
done:
    free(rows);
    if (rc) fit_data_free(d);
    return rc;
}

int fit_load_store(fit_data *d, store *s, const char *sweep, char *err, size_t errlen) {
    return load_store(d, s, sweep, 0, err, errlen);
}

int fit_load_holdout(fit_data *d, store *s, const char *sweep, char *err, size_t errlen) {
    return load_store(d, s, sweep, 1, err, errlen);
}

/* ---- Loading a CSV: the file as records -------------------------------------- */

/* libcsv does the RFC 4180 parsing (quoted fields, doubled quotes, newlines
 * inside quotes, CR, LF or CRLF). It is fed one byte at a time so that each
 * field knows the physical line where it starts: error messages name that
 * line, blank lines and quoted newlines included. */
typedef struct {
    int nf, cap;
    char **f;  /* (nf,) NUL-terminated, blanks trimmed */
    int *line; /* (nf,) physical line (1-based) where the field starts */
} csv_rec;

typedef struct {
    csv_rec *rec; /* (n,) records in file order */
    int n, cap;
    csv_rec cur; /* the record being read */
    int line;    /* physical line of the byte being fed */
    int pending; /* line of the current field's first non-blank byte, 0 if none yet */
    int oom;
} csv_table;

static void csv_rec_free(csv_rec *r) {
    for (int i = 0; i < r->nf; i++)
        free(r->f[i]);
    free(r->f);
    free(r->line);
    memset(r, 0, sizeof *r);
}

static void csv_table_free(csv_table *t) {
    for (int i = 0; i < t->n; i++)
        csv_rec_free(&t->rec[i]);
    free(t->rec);
    csv_rec_free(&t->cur);
}

static int csv_blank(int c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* libcsv's field callback: appends the field to the current record. */
static void csv_on_field(void *s, size_t len, void *data) {
    csv_table *t = data;
    csv_rec *r = &t->cur;
    int line = t->pending ? t->pending : t->line;
    t->pending = 0;
    if (t->oom) return;
    if (r->nf == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        char **f = realloc(r->f, cap * sizeof *f);
        if (f) r->f = f;
        int *l = realloc(r->line, cap * sizeof *l);
        if (l) r->line = l;
        if (!f || !l) {
            t->oom = 1;
            return;
        }
        r->cap = cap;
    }
    const char *p = s ? s : "";
    while (len && csv_blank((unsigned char)*p))
        p++, len--;
    while (len && csv_blank((unsigned char)p[len - 1]))
        len--;
    char *v = malloc(len + 1);
    if (!v) {
        t->oom = 1;
        return;
    }
    memcpy(v, p, len);
    v[len] = 0;
    r->f[r->nf] = v;
    r->line[r->nf++] = line;
}

/* libcsv's end-of-record callback. */
static void csv_on_record(int c, void *data) {
    (void)c;
    csv_table *t = data;
    if (t->oom) return;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        csv_rec *r = realloc(t->rec, cap * sizeof *r);
        if (!r) {
            t->oom = 1;
            return;
        }
        t->rec = r;
        t->cap = cap;
    }
    t->rec[t->n++] = t->cur;
    memset(&t->cur, 0, sizeof t->cur);
}

/* The physical line (1-based) of byte `at` of buf, and its column (1-based,
 * counting `delim` outside quotes from the start of that line). */
static void csv_locate(const char *buf, size_t at, char delim, int *line, int *col) {
    int l = 1, c = 1, q = 0;
    for (size_t i = 0; i < at; i++) {
        if (buf[i] == '\n' || (buf[i] == '\r' && buf[i + 1] != '\n')) {
            l++, c = 1, q = 0;
        } else if (buf[i] == '"') {
            q = !q;
        } else if (buf[i] == delim && !q) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Reads the CSV text buf[0..len) (NUL-terminated) into t. Handles what
 * spreadsheets and pandas write besides RFC 4180: a UTF-8 byte-order mark,
 * Excel's "sep=;" first line, ';' or tab as the separator (the most frequent
 * of ',', ';' and tab outside quotes on the first line). *delim gets it. */
static int csv_read_table(const char *path, const char *buf, size_t len, csv_table *t, char *delim,
                          char *err, size_t errlen) {
    struct csv_parser p;
    int rc = 0, first_line = 1;
    memset(t, 0, sizeof *t);
    *delim = ',';
    if (len >= 2 && ((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE))
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: the file is UTF-16 (byte-order mark FF FE); save it as CSV UTF-8",
                        path);
    if (len >= 2 && ((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF))
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: the file is UTF-16 (byte-order mark FE FF); save it as CSV UTF-8",
                        path);
    size_t off = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) off = 3; /* UTF-8 byte-order mark */
    if (len - off >= 5 && !strncasecmp(buf + off, "sep=", 4) &&
        (buf[off + 5] == '\n' || buf[off + 5] == '\r')) {
        *delim = buf[off + 4];
        off += 5;
        off += buf[off] == '\r' && buf[off + 1] == '\n' ? 2 : 1;
        first_line = 2;
    } else {
        int n[3] = {0, 0, 0}, q = 0;
        for (size_t i = off; i < len && (q || (buf[i] != '\n' && buf[i] != '\r')); i++) {
            if (buf[i] == '"') q = !q;
            if (!q) n[0] += buf[i] == ',', n[1] += buf[i] == ';', n[2] += buf[i] == '\t';
        }
        if (n[1] > n[0] && n[1] >= n[2]) *delim = ';';
        if (n[2] > n[0] && n[2] > n[1]) *delim = '\t';
    }
    const char *nul = memchr(buf, 0, len);
    if (nul) {
        int l, c;
        csv_locate(buf, (size_t)(nul - buf), *delim, &l, &c);
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s:%d: column %d: a NUL byte; a CSV is text (is the file UTF-16 or "
                        "binary? save it as CSV UTF-8)",
                        path, l, c);
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL))
        return util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", path);
    csv_set_delim(&p, (unsigned char)*delim);
    t->line = first_line;
    for (size_t i = off; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (!t->pending && !csv_blank(c)) t->pending = t->line;
        if (csv_parse(&p, buf + i, 1, csv_on_field, csv_on_record, t) != 1) {
            if (csv_error(&p) == CSV_ENOMEM) {
                t->oom = 1;
                break;
            }
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "%s:%d: column %d: misplaced double quote (RFC 4180: a field with a "
                          "quote in it is quoted whole, and the quote doubled: \"a \"\"b\"\"\")",
                          path, t->line, t->cur.nf + 1);
            goto done;
        }
        if (t->oom) break;
        if (c == '\n' || (c == '\r' && (i + 1 == len || buf[i + 1] != '\n'))) t->line++;
    }
    if (!t->oom && csv_fini(&p, csv_on_field, csv_on_record, t)) {
        int l = t->cur.nf ? t->cur.line[0] : t->pending ? t->pending : t->line;
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s:%d: column %d: a quoted field is never closed (missing '\"')", path, l,
                      t->cur.nf + 1);
        goto done;
    }
    if (t->oom) rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", path);
done:
    csv_free(&p);
    if (rc) csv_table_free(t);
    return rc;
}

/* ---- Loading a CSV: columns and runs ------------------------------------------- */

enum {
    COL_PARAMS,
    COL_TOKENS,
    COL_FLOPS,
    COL_LOSS,
    COL_BUDGET,
    COL_NONEMB,      /* non-embedding parameters, for --params nonembedding */
    COL_TOKENS_DONE, /* `scaling export`: tokens actually trained */
    COL_STATUS,      /* `scaling export`: rows not 'done' are set aside */
    COL_LOSS_BITS,   /* loss in bits per token, when there is no loss column */
    COL_UNIQUE,      /* as runs.unique_tokens: 0 or empty, unlimited */
    COL_EXCLUDED,    /* `scaling export`: a row with a reason here is kept out, as in fits */
    NCOLS
};

/* Column names accepted (case-insensitive; ' ', '_' and '-' alike); the first
 * of each is the contract's. docs/fit.md lists them: keep the two in step. */
static const char *const col_names[NCOLS][10] = {
    {"params", "n", "parameters", "model size", "n_params", "num_params", "params_total", NULL},
    {"tokens", "d", "training tokens", "data", "n_tokens", "train_tokens", NULL},
    {"flops", "c", "compute", "training flop", "training flops", NULL},
    {"loss", "val_loss", "final_val_loss", "final_loss", "eval_loss", "validation_loss", NULL},
    {"budget", "compute_budget", "isoflop_budget", NULL},
    {"params_nonembedding", "nonembedding_params", "n_nonembedding", NULL},
    {"tokens_done", NULL},
    {"status", NULL},
    {"loss_bits", "val_loss_bits", NULL},
    {"unique_tokens", NULL},
    {"excluded", NULL},
};

/* What a column holds, for messages. */
static const char *const col_what[NCOLS] = {
    "parameter count",        "training tokens",
    "training FLOPs",         "loss (nats per token)",
    "IsoFLOP budget (FLOPs)", "non-embedding parameter count",
    "tokens trained",         "run status",
    "loss (bits per token)",  "unique tokens (0: unlimited)",
    "reason for exclusion",
};

static int name_eq(const char *a, const char *b) {
    for (;; a++, b++) {
        int x = tolower((unsigned char)*a), y = tolower((unsigned char)*b);
        if (x == '_' || x == '-') x = ' ';
        if (y == '_' || y == '-') y = ' ';
        if (x != y) return 0;
        if (!x) return 1;
    }
}

/* Maps header fields to columns: col[c] = field index or -1. Two fields
 * naming the same quantity is an error (which would be meant is a guess). */
static int csv_header(const char *path, const csv_rec *h, int *col, char *err, size_t errlen) {
    for (int c = 0; c < NCOLS; c++)
        col[c] = -1;
    for (int i = 0; i < h->nf; i++)
        for (int c = 0; c < NCOLS; c++)
            for (int k = 0; col_names[c][k]; k++) {
                if (!name_eq(h->f[i], col_names[c][k])) continue;
                if (col[c] >= 0)
                    return util_err(err, errlen, UTIL_EINVAL,
                                    "%s:%d: columns %d ('%s') and %d ('%s') both give the %s; "
                                    "remove or rename one",
                                    path, h->line[i], col[c] + 1, h->f[col[c]], i + 1, h->f[i],
                                    col_what[c]);
                col[c] = i;
            }
    if (col[COL_LOSS] < 0 && col[COL_LOSS_BITS] >= 0) col[COL_LOSS] = col[COL_LOSS_BITS];
    const char *miss = col[COL_PARAMS] < 0 ? "the parameter count (params, N, parameters, ...)"
                       : col[COL_LOSS] < 0 ? "the loss (loss, val_loss, final_val_loss, ...)"
                       : col[COL_TOKENS] < 0 && col[COL_FLOPS] < 0 && col[COL_BUDGET] < 0
                           ? "the training tokens or FLOPs (tokens, D, flops, C, compute, ...)"
                           : NULL;
    if (miss)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s:%d: header must name columns params, tokens or flops, and loss: no "
                        "column for %s (names and aliases: docs/fit.md)",
                        path, h->line[0], miss);
    return 0;
}

/* Whether s is digits grouped by thousands separators ("1,234,567.5"). */
static int thousands(const char *s) {
    int digits = 0, groups = 0;
    if (*s == '+' || *s == '-') s++;
    for (; *s && *s != '.'; s++) {
        if (*s == ',') {
            if (digits == 0 || (groups && digits != 3) || (!groups && digits > 3)) return 0;
            groups++, digits = 0;
        } else if (isdigit((unsigned char)*s)) {
            digits++;
        } else {
            return 0;
        }
    }
    return groups && digits == 3;
}

/* Parses a number as spreadsheets write them: with ';' as the separator a
 * decimal comma ("3,13"), otherwise thousands separators ("6,000,000", in a
 * quoted field) are accepted. */
static int csv_number(const char *s, char delim, double *v) {
    char tmp[64];
    if (strchr(s, ',') && strlen(s) < sizeof tmp) {
        size_t k = 0;
        if (delim == ';' && !strchr(s, '.') && strchr(s, ',') == strrchr(s, ',')) {
            for (; *s; s++)
                tmp[k++] = *s == ',' ? '.' : *s;
        } else if (delim != ';' && thousands(s)) {
            for (; *s; s++)
                if (*s != ',') tmp[k++] = *s;
        } else {
            return 0;
        }
        tmp[k] = 0;
        s = tmp;
    }
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && !errno && isfinite(*v);
}

/* Appends ", N" to a list of line numbers in buf (at most ~10, then "..."). */
static void add_line(char *buf, size_t n, int *count, int line) {
    size_t len = strlen(buf);
    if (*count < 10)
        snprintf(buf + len, n - len, "%s%d", *count ? ", " : "", line);
    else if (*count == 10)
        snprintf(buf + len, n - len, ", ...");
    (*count)++;
}

int fit_load_csv(fit_data *d, const char *path, char *err, size_t errlen) {
    return fit_read_csv(d, NULL, path, err, errlen);
}

int fit_read_csv(fit_data *d, fit_csv_info *info, const char *path, char *err, size_t errlen) {
    char *buf = NULL, delim = ',';
    size_t len = 0;
    int rc, col[NCOLS], nbits = 0;
    char aside[128] = "";
    csv_table t;
    fit_csv_info dummy, *in = info ? info : &dummy;
    memset(d, 0, sizeof *d);
    memset(in, 0, sizeof *in);
    if ((rc = util_read_file(path, &buf, &len, err, errlen))) return rc;
    if ((rc = csv_read_table(path, buf, len, &t, &delim, err, errlen))) goto out;
    /* skip blank records (a blank line, or one of empty fields as Excel writes) */
    int h = 0;
    for (; h < t.n; h++) {
        int blank = 1;
        for (int i = 0; i < t.rec[h].nf && blank; i++)
            blank = !*t.rec[h].f[i];
        if (!blank) break;
    }
    if (h == t.n) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s: empty file, expected a header row naming params, tokens or flops, and "
                      "loss",
                      path);
        goto done;
    }
    if ((rc = csv_header(path, &t.rec[h], col, err, errlen))) goto done;
    int flops_from_budget = col[COL_TOKENS] < 0 && col[COL_FLOPS] < 0;
    d->runs = calloc((size_t)(t.n - h > 0 ? t.n - h : 1), sizeof *d->runs);
    if (!d->runs) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int k = h + 1; k < t.n; k++) {
        const csv_rec *r = &t.rec[k];
        int blank = 1;
        for (int i = 0; i < r->nf && blank; i++)
            blank = !*r->f[i];
        if (blank) continue;
        int line = r->line[0];
        in->nrows++;
        if (col[COL_STATUS] >= 0) {
            const char *st = col[COL_STATUS] < r->nf ? r->f[col[COL_STATUS]] : "";
            if (strcasecmp(st, "done")) {
                add_line(aside, sizeof aside, &in->nset_aside, line);
                continue;
            }
        }
        if (col[COL_EXCLUDED] >= 0 && col[COL_EXCLUDED] < r->nf && *r->f[col[COL_EXCLUDED]]) {
            add_line(aside, sizeof aside, &in->nset_aside, line);
            continue;
        }
        double v[NCOLS];
        for (int c = 0; c < NCOLS; c++) {
            v[c] = NAN;
            if (col[c] < 0 || c == COL_STATUS || c == COL_LOSS_BITS || c == COL_EXCLUDED) continue;
            int i = col[c], fl = i < r->nf ? r->line[i] : r->line[r->nf - 1];
            const char *s = i < r->nf ? r->f[i] : "";
            int optional = c == COL_NONEMB || c == COL_TOKENS_DONE || c == COL_UNIQUE ||
                           (c == COL_BUDGET && !flops_from_budget);
            if (!*s) {
                if (optional) continue;
                rc = util_err(err, errlen, UTIL_EINVAL,
                              "%s:%d: column %d ('%s') is empty; expected the %s, a positive "
                              "number%s",
                              path, fl, i + 1, t.rec[h].f[i], col_what[c],
                              c == COL_BUDGET ? " (with no tokens or flops column each run's "
                                                "budget is its compute)"
                                              : "");
                goto done;
            }
            /* unique_tokens, as in the database, may be 0 (unlimited) */
            if (!csv_number(s, delim, &v[c]) || !(c == COL_UNIQUE ? v[c] >= 0 : v[c] > 0)) {
                rc = util_err(err, errlen, UTIL_EINVAL,
                              "%s:%d: column %d ('%s'): expected the %s, a finite %s number%s, "
                              "got '%s'",
                              path, fl, i + 1, t.rec[h].f[i], col_what[c],
                              c == COL_UNIQUE ? "non-negative" : "positive",
                              optional ? " or an empty cell" : "", s);
                goto done;
            }
        }
        fit_run *run = &d->runs[d->nruns++];
        snprintf(run->id, sizeof run->id, "csv%d", line);
        snprintf(run->label, sizeof run->label, "%s:%d", path, line);
        run->line = line;
        run->n_total = v[COL_PARAMS];
        run->n_nonemb = v[COL_NONEMB] > 0 ? v[COL_NONEMB] : v[COL_PARAMS];
        double C = col[COL_FLOPS] >= 0 ? v[COL_FLOPS] : flops_from_budget ? v[COL_BUDGET] : NAN;
        if (col[COL_TOKENS] >= 0) {
            run->tokens = v[COL_TOKENS_DONE] > 0 ? v[COL_TOKENS_DONE] : v[COL_TOKENS];
            if (C > 0) run->fpt_chinchilla = C / run->tokens;
        } else {
            run->tokens = C / (6.0 * run->n_total);
            run->fpt_chinchilla = 6.0 * run->n_total;
        }
        run->budget = v[COL_BUDGET];
        run->unique_tokens = v[COL_UNIQUE] > 0 ? v[COL_UNIQUE] : 0;
        run->loss = v[COL_LOSS];
        /* a CSV has no epochs column: only from unique_tokens, where given */
        run->epochs = run->unique_tokens > 0 ? run->tokens / run->unique_tokens : NAN;
    }
    if (d->nruns == 0) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: no data rows after the header (line %d)%s",
                      path, t.rec[h].line[0],
                      in->nset_aside ? ": every row's status is other than 'done'" : "");
        goto done;
    }
    /* what was assumed or set aside, for the CLI to say */
    if (col[COL_LOSS] == col[COL_LOSS_BITS]) {
        in->loss_bits = 1;
        nbits = snprintf(in->note, sizeof in->note,
                         "loss read from column '%s' in bits per token (published values are in "
                         "nats: nats = bits x ln 2)",
                         t.rec[h].f[col[COL_LOSS]]);
    }
    if (flops_from_budget)
        nbits += snprintf(in->note + nbits, sizeof in->note - nbits,
                          "%sno tokens or flops column: each run's compute is its budget, tokens "
                          "= budget / (6 params)",
                          nbits ? "; " : "");
    if (in->nset_aside && nbits < (int)sizeof in->note)
        snprintf(in->note + nbits, sizeof in->note - nbits,
                 "%s%d of %d rows set aside, their status is not 'done' or they are excluded "
                 "(line%s %s)",
                 nbits ? "; " : "", in->nset_aside, in->nrows, in->nset_aside > 1 ? "s" : "",
                 aside);
done:
    csv_table_free(&t);
out:
    free(buf);
    if (rc) fit_data_free(d);
    return rc;
}

/* Two runs hold the same numbers (NaN budgets equal). */
static int same_run(const fit_run *a, const fit_run *b) {
    return a->n_total == b->n_total && a->n_nonemb == b->n_nonemb && a->tokens == b->tokens &&
           a->fpt_chinchilla == b->fpt_chinchilla && a->loss == b->loss &&
           (a->budget == b->budget || (isnan(a->budget) && isnan(b->budget))) &&
           a->unique_tokens == b->unique_tokens && a->ncurve == 0 && b->ncurve == 0;
}

int fit_duplicates(fit_data *d, int collapse, char *msg, size_t msglen) {
    int ndup = 0, m = 0;
    size_t len = 0;
    if (msglen) msg[0] = 0;
    for (int i = 0; i < d->nruns; i++) {
        int j = 0;
        while (j < i && !same_run(&d->runs[j], &d->runs[i]))
            j++;
        if (j < i) {
            if (msglen && len < msglen && ndup < 8) {
                const fit_run *a = &d->runs[i], *b = &d->runs[j];
                int w = a->line ? snprintf(msg + len, msglen - len, "%sline %d repeats line %d",
                                           ndup ? ", " : "", a->line, b->line)
                                : snprintf(msg + len, msglen - len, "%srun %s repeats run %s",
                                           ndup ? ", " : "", a->id, b->id);
                len += w > 0 ? (size_t)w : 0;
            } else if (msglen && len < msglen && ndup == 8) {
                int w = snprintf(msg + len, msglen - len, ", ...");
                len += w > 0 ? (size_t)w : 0;
            }
            ndup++;
            if (collapse) continue;
        }
        d->runs[m++] = d->runs[i];
    }
    /* the memory of removed runs' curves: none, same_run requires no curve */
    if (collapse) d->nruns = m;
    return ndup;
}

/* ---- Lower envelope of the learning curves -------------------------------- */

/* A run's curve as (ln C, smoothed loss), smoothed in ln C (not by index):
 * each interior eval becomes a Gaussian-weighted mean (sigma = ln 1.5 / 2)
 * of the evals within FIT_GAP_MAX of it in compute, so evals 5-10x apart are
 * never averaged and a sparse curve stays raw. The two ends stay raw:
 * averaging the first eval with the next would pull a steeply falling curve
 * below itself where it starts, and the envelope below every run there. */
int fit__curve(const fit_run *r, const fit_opts *o, double *lc, double *ls) {
    int n = 0;
    for (int i = 0; i < r->ncurve; i++) {
        double c = fit_run_flops_at(r, o->params, o->flops, r->curve_tokens[i]);
        if (!(c > 0) || !isfinite(r->curve_loss[i])) continue;
        lc[n] = log(c);
        ls[n] = r->curve_loss[i];
        n++;
    }
    if (n < 3) return n;
    double *raw = malloc((size_t)n * sizeof *raw);
    if (!raw) return n; /* unsmoothed */
    memcpy(raw, ls, (size_t)n * sizeof *raw);
    const double h = log(FIT_GAP_MAX), sig = h / 2;
    for (int i = 1; i + 1 < n; i++) {
        double sw = 0, sv = 0;
        for (int j = 0; j < n; j++) {
            double u = lc[j] - lc[i];
            if (fabs(u) > h * (1 + 1e-9)) continue;
            double w = exp(-0.5 * u * u / (sig * sig));
            sw += w, sv += w * raw[j];
        }
        ls[i] = sv / sw;
    }
    free(raw);
    return n;
}

double fit__curve_at(const double *lc, const double *ls, int m, double x, int *measured) {
    const double gap = log(FIT_GAP_MAX) * (1 + 1e-9), snap = log(FIT_SNAP);
    *measured = 0;
    if (m < 1) return NAN;
    for (int k = 0; k + 1 < m; k++) { /* inside a segment no wider than FIT_GAP_MAX */
        if (x < lc[k] - 1e-12 || x > lc[k + 1] + 1e-12) continue;
        if (lc[k + 1] - lc[k] > gap) break;
        double t = lc[k + 1] > lc[k] ? (x - lc[k]) / (lc[k + 1] - lc[k]) : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        *measured = t < 1e-9 || t > 1 - 1e-9;
        return ls[k] + t * (ls[k + 1] - ls[k]);
    }
    int best = -1; /* else the nearest measured point within FIT_SNAP */
    for (int k = 0; k < m; k++)
        if (fabs(x - lc[k]) <= snap && (best < 0 || fabs(x - lc[k]) < fabs(x - lc[best])))
            best = k;
    if (best < 0) return NAN;
    *measured = 1;
    return ls[best];
}

int fit__envelope(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                  int *env_run, int *env_measured, char *err, size_t errlen) {
    int rc = 0, maxc = 1;
    double *lc = NULL, *ls = NULL, lo = INFINITY, hi = -INFINITY;
    if (n < 2) return util_err(err, errlen, UTIL_EINVAL, "fit: envelope needs n >= 2, got %d", n);
    for (int i = 0; i < d->nruns; i++) {
        if (d->runs[i].ncurve > maxc) maxc = d->runs[i].ncurve;
        for (int k = 0; k < d->runs[i].ncurve; k++) {
            double c =
                fit_run_flops_at(&d->runs[i], o->params, o->flops, d->runs[i].curve_tokens[k]);
            if (c > 0 && isfinite(d->runs[i].curve_loss[k])) {
                if (c < lo) lo = c;
                if (c > hi) hi = c;
            }
        }
    }
    if (!(hi > lo))
        return util_err(err, errlen, UTIL_EINVAL,
                        "fit: no learning curves to take an envelope of (runs need evals at "
                        "two or more compute values)");
    lc = malloc(maxc * sizeof *lc);
    ls = malloc(maxc * sizeof *ls);
    if (!lc || !ls) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory");
        goto done;
    }
    double llo = log(lo), lhi = log(hi);
    for (int j = 0; j < n; j++) {
        env_C[j] = exp(llo + (lhi - llo) * j / (n - 1));
        env_L[j] = NAN;
        env_run[j] = -1;
        if (env_measured) env_measured[j] = 0;
    }
    for (int i = 0; i < d->nruns; i++) {
        int m = fit__curve(&d->runs[i], o, lc, ls);
        if (m < 2) continue;
        for (int j = 0; j < n; j++) {
            double x = llo + (lhi - llo) * j / (n - 1);
            if (j == 0) x = llo;
            if (j == n - 1) x = lhi;
            int meas;
            double L = fit__curve_at(lc, ls, m, x, &meas);
            if (isfinite(L) && (!isfinite(env_L[j]) || L < env_L[j])) {
                env_L[j] = L;
                env_run[j] = i;
                if (env_measured) env_measured[j] = meas;
            }
        }
    }
done:
    free(lc);
    free(ls);
    return rc;
}

int fit_envelope(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                 int *env_run, char *err, size_t errlen) {
    return fit__envelope(d, o, n, env_C, env_L, env_run, NULL, err, errlen);
}

int fit_envelope_frontier(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                          int *env_run, char *err, size_t errlen) {
    int rc = fit_envelope(d, o, n, env_C, env_L, env_run, err, errlen);
    if (rc) return rc;
    /* where the envelope is defined (no gap), the lowest loss reached so far */
    double best = INFINITY;
    int best_run = -1;
    for (int j = 0; j < n; j++) {
        if (!isfinite(env_L[j])) continue;
        if (env_L[j] < best) best = env_L[j], best_run = env_run[j];
        env_L[j] = best, env_run[j] = best_run;
    }
    return 0;
}

/* ---- IsoFLOP budget groups ------------------------------------------------ */

typedef struct {
    double key; /* log10 of the budget or FLOPs, NaN if none */
    int i;      /* run index */
} keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    int nx = !isfinite(x->key), ny = !isfinite(y->key);
    if (nx || ny) return nx - ny; /* NaN last */
    return x->key < y->key ? -1 : x->key > y->key ? 1 : x->i - y->i;
}

int fit_budget_groups(const fit_data *d, fit_params p, model_flops_count f, int *group,
                      int *ngroups) {
    int n = d->nruns, ng = 0, have_budget = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(d->runs[i].budget)) have_budget = 1;
    keyed *k = malloc((size_t)(n > 0 ? n : 1) * sizeof *k);
    if (!k) return UTIL_ENOMEM;
    /* pass 0: runs with a budget, by it (when any has one); pass 1: the
     * others, by their FLOPs, joining a budget within 0.1 dex of them or
     * clustered among themselves */
    int nb = 0;
    for (int pass = 0; pass < 2; pass++) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            int hasb = isfinite(d->runs[i].budget);
            if (pass == 0 && !(have_budget && hasb)) continue;
            if (pass == 1 && have_budget && hasb) continue;
            double v = pass == 0 ? d->runs[i].budget : fit_run_flops(&d->runs[i], p, f);
            k[m].key = v > 0 ? log10(v) : NAN;
            k[m].i = i;
            group[i] = -1;
            m++;
        }
        qsort(k, m, sizeof *k, cmp_keyed);
        double first = NAN, tol = pass == 0 ? 1e-9 : 0.1;
        for (int j = 0; j < m; j++) {
            if (!isfinite(k[j].key)) continue;
            if (pass == 1 && nb > 0) {
                /* the nearest labelled budget within 0.1 dex, if any */
                int best = -1;
                double bd = 0.1 + 1e-12;
                for (int i = 0; i < n; i++) {
                    if (!isfinite(d->runs[i].budget) || group[i] < 0 || group[i] >= nb) continue;
                    double dd = fabs(log10(d->runs[i].budget) - k[j].key);
                    if (dd < bd) bd = dd, best = group[i];
                }
                if (best >= 0) {
                    group[k[j].i] = best;
                    continue;
                }
            }
            if (!isfinite(first) || k[j].key > first + tol) {
                first = k[j].key;
                ng++;
            }
            group[k[j].i] = ng - 1;
        }
        if (pass == 0) nb = ng;
    }
    free(k);
    *ngroups = ng;
    return 0;
}

/* ---- Shared helpers ------------------------------------------------------- */

int fit__check_runs(const fit_data *d, fit_params p, const char *what, char *err, size_t errlen) {
    for (int i = 0; i < d->nruns; i++) {
        const fit_run *r = &d->runs[i];
        double N = fit_run_params(r, p);
        const char *bad = NULL;
        double v = 0;
        if (!isfinite(r->loss) || r->loss <= 0)
            bad = "loss", v = r->loss;
        else if (!isfinite(N) || N <= 0)
            bad = "parameter count", v = N;
        else if (!isfinite(r->tokens) || r->tokens <= 0)
            bad = "tokens", v = r->tokens;
        if (bad)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: run %s (%s): %s is %g, expected a finite positive number", what,
                            r->id, r->label, bad, v);
    }
    return 0;
}

int fit__ols(const double *x, const double *y, int n, double *slope, double *icpt) {
    if (n < 2) return -1;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++)
        mx += x[i], my += y[i];
    mx /= n;
    my /= n;
    double sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (!(sxx > 1e-300)) return -1;
    *slope = sxy / sxx;
    *icpt = my - *slope * mx;
    return 0;
}

int fit__solve(double *A, double *b, int k) {
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(A[r * k + c]) > fabs(A[piv * k + c])) piv = r;
        if (!(fabs(A[piv * k + c]) > 1e-300)) return -1;
        if (piv != c) {
            for (int j = 0; j < k; j++) {
                double t = A[c * k + j];
                A[c * k + j] = A[piv * k + j];
                A[piv * k + j] = t;
            }
            double t = b[c];
            b[c] = b[piv];
            b[piv] = t;
        }
        for (int r = c + 1; r < k; r++) {
            double m = A[r * k + c] / A[c * k + c];
            for (int j = c; j < k; j++)
                A[r * k + j] -= m * A[c * k + j];
            b[r] -= m * b[c];
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        double s = b[c];
        for (int j = c + 1; j < k; j++)
            s -= A[c * k + j] * b[j];
        b[c] = s / A[c * k + c];
    }
    return 0;
}

int fit__resample(const fit_data *d, util_rng *r, fit_data *out) {
    out->nruns = d->nruns;
    out->runs = malloc((d->nruns ? d->nruns : 1) * sizeof *out->runs);
    if (!out->runs) return UTIL_ENOMEM;
    for (int i = 0; i < d->nruns; i++)
        out->runs[i] = d->runs[util_rng_below(r, (uint64_t)d->nruns)];
    return 0;
}

/* Linear interpolation between order statistics (numpy's default). */
static double quantile(const double *s, int k, double q) {
    double pos = q * (k - 1);
    int i = (int)floor(pos);
    if (i >= k - 1) return s[k - 1];
    return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

void fit_percentiles(double *x, int n, double *lo, double *hi) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) x[m++] = x[i];
    if (m < 2) {
        *lo = *hi = NAN;
        return;
    }
    qsort(x, m, sizeof *x, fit__cmp_double);
    *lo = quantile(x, m, 0.025);
    *hi = quantile(x, m, 0.975);
}

void fit__interval(double *draws, int k, fit_val *v) {
    fit_percentiles(draws, k, &v->lo, &v->hi);
}

fit_val fit__val(double est) {
    fit_val v = {.est = est, .lo = NAN, .hi = NAN, .flags = 0, .bound = NAN};
    return v;
}

int fit__ndistinct(const double *x, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = x[j] == x[i];
        k += !seen;
    }
    return k;
}

int fit__cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- Identifiability: the design and the intervals ---------------------------- */

int fit__design(const double *lnN, const double *lnD, int n, char *msg, size_t msglen) {
    double mN = 0, mD = 0, sNN = 0, sDD = 0, sND = 0;
    double nlo = INFINITY, nhi = -INFINITY, dlo = INFINITY, dhi = -INFINITY;
    if (n < 2) return snprintf(msg, msglen, "fewer than 2 runs"), -1;
    for (int i = 0; i < n; i++)
        mN += lnN[i], mD += lnD[i];
    mN /= n;
    mD /= n;
    for (int i = 0; i < n; i++) {
        double a = lnN[i] - mN, b = lnD[i] - mD;
        sNN += a * a, sDD += b * b, sND += a * b;
        nlo = fmin(nlo, lnN[i]), nhi = fmax(nhi, lnN[i]);
        dlo = fmin(dlo, lnD[i]), dhi = fmax(dhi, lnD[i]);
    }
    if (sqrt(sNN / n) < FIT_MIN_SPREAD) {
        snprintf(msg, msglen,
                 "the model sizes barely vary (within a factor %.3g): A/N^alpha cannot be told "
                 "apart from E; add sizes spanning a factor 10 or more",
                 exp(nhi - nlo));
        return -1;
    }
    if (sqrt(sDD / n) < FIT_MIN_SPREAD) {
        snprintf(msg, msglen,
                 "the token counts barely vary (within a factor %.3g): B/D^beta cannot be told "
                 "apart from E; train some sizes on a factor 4 or more fewer or more tokens",
                 exp(dhi - dlo));
        return -1;
    }
    /* ln D regressed on ln N: what of D does not follow from N */
    double slope = sND / sNN, rlo = INFINITY, rhi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double r = lnD[i] - mD - slope * (lnN[i] - mN);
        rlo = fmin(rlo, r), rhi = fmax(rhi, r);
    }
    double resid = sqrt(fmax(sDD - sND * sND / sNN, 0) / n);
    if (resid >= FIT_MIN_SPREAD) return 0;
    char within[48];
    if (rhi - rlo < 1e-3)
        snprintf(within, sizeof within, "exactly");
    else
        snprintf(within, sizeof within, "to within a factor %.3g", exp(rhi - rlo));
    if (fabs(slope + 1) < 0.2)
        snprintf(msg, msglen,
                 "one compute budget: N and D are tied (D = C/(6N) %s), so A/N^alpha and "
                 "B/D^beta cannot be separated; vary D at fixed N or add budgets",
                 within);
    else if (fabs(slope - 1) < 0.2)
        snprintf(msg, msglen,
                 "D is tied to N (about %.3g tokens per parameter, %s), so A/N^alpha and "
                 "B/D^beta cannot be separated; vary tokens per parameter at fixed N or add "
                 "budgets",
                 exp(mD - mN), within);
    else
        snprintf(msg, msglen,
                 "D is tied to N (D ~ N^%.2f %s), so A/N^alpha and B/D^beta cannot be separated; "
                 "vary D at fixed N or add budgets",
                 slope, within);
    return -1;
}

void fit__mark(fit_val *v, int est_at, int nlow, int nhigh, int m, double lo_b, double hi_b,
               int kind) {
    v->flags = 0;
    v->bound = NAN;
    if (est_at == 1) v->flags |= FIT_AT_LOWER, v->bound = lo_b;
    if (est_at == 2) v->flags |= FIT_AT_UPPER, v->bound = hi_b;
    /* percentile ends: 2.5% of the draws at a bound put that end on it */
    if (m >= 2 && nlow >= 0.025 * m) {
        v->flags |= FIT_DRAWS_AT_BOUND;
        if (!est_at) v->bound = lo_b;
        v->lo = lo_b;
        if (nlow > 0.975 * m) v->hi = lo_b;
    }
    if (m >= 2 && nhigh >= 0.025 * m) {
        v->flags |= FIT_DRAWS_AT_BOUND;
        if (!est_at && !(nlow >= 0.025 * m)) v->bound = hi_b;
        v->hi = hi_b;
        if (nhigh > 0.975 * m) v->lo = hi_b;
    }
    if (est_at || !isfinite(v->lo) || !isfinite(v->hi)) return;
    int wide = kind == FIT__SCALE ? v->lo > 0 && v->hi > 100 * v->lo
                                  : (v->lo <= 0 && v->hi >= 0) || v->hi - v->lo > 0.5;
    /* resampled data that leave a value exactly where it was did not move
     * the optimiser: a flat direction, not a precise estimate */
    int flat = !(v->flags & FIT_DRAWS_AT_BOUND) && v->hi <= v->lo;
    if (wide || flat) v->flags |= FIT_UNIDENTIFIED;
}

void fit__warn(char *w, size_t wlen, const char *msg) {
    size_t len = strlen(w);
    if (len + 3 >= wlen) return;
    snprintf(w + len, wlen - len, "%s%s", len ? "; " : "", msg);
}

void fit__flag_notes(char *w, size_t wlen, const char *const *names, const fit_val *const *vals,
                     int k) {
    char msg[256];
    for (int i = 0; i < k; i++) {
        const fit_val *v = vals[i];
        if (v->flags & (FIT_AT_LOWER | FIT_AT_UPPER)) {
            snprintf(msg, sizeof msg, "%s at its %s bound %.4g: not estimated by these data",
                     names[i], v->flags & FIT_AT_LOWER ? "lower" : "upper", v->bound);
            fit__warn(w, wlen, msg);
        } else if (v->flags & FIT_DRAWS_AT_BOUND) {
            snprintf(msg, sizeof msg, "%s reaches its bound %.4g in the bootstrap draws", names[i],
                     v->bound);
            fit__warn(w, wlen, msg);
        }
    }
    size_t len = (size_t)snprintf(msg, sizeof msg,
                                  "not identified (95%% interval spans over "
                                  "2 orders of magnitude, or 0 for an exponent):");
    int any = 0;
    for (int i = 0; i < k && len < sizeof msg; i++)
        if (vals[i]->flags & FIT_UNIDENTIFIED)
            len +=
                (size_t)snprintf(msg + len, sizeof msg - len, "%s %s", any++ ? "," : "", names[i]);
    if (any) fit__warn(w, wlen, msg);
}
