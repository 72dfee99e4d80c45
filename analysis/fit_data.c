/*
 * fit_data.c — the data behind the fits: loading finished runs and their eval
 * curves from the results database, loading (N, D or FLOPs, loss) from a CSV,
 * parameter and FLOP counting, the lower envelope of the learning curves, the
 * grouping of runs into IsoFLOP budgets, and the helpers the fits share.
 *
 * Does not fit anything (fit_laws.c, fit_approach3.c) and does not print.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_internal.h"

/* ---- Options and counting ------------------------------------------------ */

void fit_opts_defaults(fit_opts *o) {
    memset(o, 0, sizeof *o);
    o->params = FIT_PARAMS_TOTAL;
    o->flops = FIT_FLOPS_CHINCHILLA;
    o->bootstrap = 200;
    o->seed = 20240417;
    o->with_E = 0;
    o->huber_delta = 1e-3;
    o->threads = 2;
    o->a3_starts = 0;
    o->envelope_points = 200;
    o->a2_window = 2;
}

double fit_run_params(const fit_run *r, fit_params p) {
    if (p == FIT_PARAMS_NONEMB && r->n_nonemb > 0) return r->n_nonemb;
    return r->n_total;
}

double fit_run_flops_at(const fit_run *r, fit_params p, fit_flops f, double tokens) {
    switch (f) {
    case FIT_FLOPS_CHINCHILLA:
        if (r->fpt_chinchilla > 0) return r->fpt_chinchilla * tokens;
        break;
    case FIT_FLOPS_KAPLAN:
        /* Kaplan's C = 6 N D counts non-embedding parameters */
        if (r->fpt_kaplan > 0) return r->fpt_kaplan * tokens;
        return 6.0 * (r->n_nonemb > 0 ? r->n_nonemb : r->n_total) * tokens;
    case FIT_FLOPS_6ND:
        break;
    }
    return 6.0 * fit_run_params(r, p) * tokens;
}

double fit_run_flops(const fit_run *r, fit_params p, fit_flops f) {
    return fit_run_flops_at(r, p, f, r->tokens);
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
    }
    free(d->runs);
    d->runs = NULL;
    d->nruns = 0;
}

/* ---- Loading from the results database ----------------------------------- */

static double col_num(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int load_curve(sqlite3 *db, fit_run *r, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    int rc = 0, cap = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT tokens, val_loss FROM evals WHERE run_id = ?1 "
                           "AND val_loss IS NOT NULL ORDER BY tokens",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "fit: reading evals: %s", sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        double t = col_num(st, 0), l = col_num(st, 1);
        if (!(t > 0) || !isfinite(l)) continue; /* the step-0 eval has no compute */
        if (r->ncurve == cap) {
            cap = cap ? 2 * cap : 64;
            double *nt = realloc(r->curve_tokens, cap * sizeof *nt);
            if (nt) r->curve_tokens = nt;
            double *nl = realloc(r->curve_loss, cap * sizeof *nl);
            if (nl) r->curve_loss = nl;
            if (!nt || !nl) {
                rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory reading evals");
                goto done;
            }
        }
        r->curve_tokens[r->ncurve] = t;
        r->curve_loss[r->ncurve] = l;
        r->ncurve++;
    }
    if (s != SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_EDB, "fit: reading evals of %s: %s", r->id,
                      sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    return rc;
}

/* A WSD family's curve for the envelopes (Approach 1, Kaplan's L(Cmin)): its
 * members' final losses at their own tokens, on the trunk. Before its
 * cooldown a trunk trains at constant lr: those losses were reached, but a run
 * annealed at that compute reaches less (Hägele et al. 2024, Fig. 2-3), so an
 * envelope through them would sit too high; a branch's own evals are its
 * cooldown only. The cooldown ends are each an annealed run. */
static int family_curves(fit_data *d, char *err, size_t errlen) {
    for (int t = 0; t < d->nruns; t++) {
        fit_run *T = &d->runs[t];
        int nb = 0;
        for (int i = 0; i < d->nruns; i++)
            nb += !strcmp(d->runs[i].parent, T->id) && isfinite(d->runs[i].loss);
        if (!nb || !isfinite(T->loss)) continue;
        double *ct = malloc((size_t)(nb + 1) * sizeof *ct);
        double *cl = malloc((size_t)(nb + 1) * sizeof *cl);
        if (!ct || !cl) {
            free(ct);
            free(cl);
            return util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory");
        }
        int n = 0;
        for (int i = 0; i < d->nruns; i++) {
            fit_run *r = &d->runs[i];
            if (i != t && (strcmp(r->parent, T->id) || !isfinite(r->loss))) continue;
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
    return 0;
}

int fit_load_store(fit_data *d, store *s, const char *sweep, char *err, size_t errlen) {
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st = NULL;
    int rc = 0, cap = 0;
    d->nruns = 0;
    d->runs = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, label, params_total, params_nonembedding, "
                           "flops_per_token_kaplan, flops_per_token_chinchilla, tokens, "
                           "tokens_done, unique_tokens, compute_budget, final_val_loss, "
                           "best_val_loss, parent_run FROM runs WHERE status = 'done' "
                           "AND (?1 IS NULL OR sweep = ?1) ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "fit: reading runs: %s", sqlite3_errmsg(db));
        goto done;
    }
    if (sweep) sqlite3_bind_text(st, 1, sweep, -1, SQLITE_STATIC);
    int sr;
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        if (d->nruns == cap) {
            cap = cap ? 2 * cap : 64;
            fit_run *nr = realloc(d->runs, cap * sizeof *nr);
            if (!nr) {
                rc = util_err(err, errlen, UTIL_ENOMEM, "fit: out of memory reading runs");
                goto done;
            }
            d->runs = nr;
        }
        fit_run *r = &d->runs[d->nruns++];
        memset(r, 0, sizeof *r);
        const unsigned char *id = sqlite3_column_text(st, 0), *label = sqlite3_column_text(st, 1);
        snprintf(r->id, sizeof r->id, "%s", id ? (const char *)id : "");
        snprintf(r->label, sizeof r->label, "%s", label ? (const char *)label : "");
        r->n_total = col_num(st, 2);
        r->n_nonemb = col_num(st, 3);
        r->fpt_kaplan = col_num(st, 4);
        r->fpt_chinchilla = col_num(st, 5);
        if (!isfinite(r->fpt_kaplan)) r->fpt_kaplan = 0;
        if (!isfinite(r->fpt_chinchilla)) r->fpt_chinchilla = 0;
        double tokens = col_num(st, 6), done_ = col_num(st, 7);
        r->tokens = done_ > 0 ? done_ : tokens;
        r->unique_tokens = col_num(st, 8);
        if (!(r->unique_tokens > 0)) r->unique_tokens = 0;
        r->budget = col_num(st, 9);
        if (!(r->budget > 0)) r->budget = NAN;
        double fin = col_num(st, 10), best = col_num(st, 11);
        r->loss = isfinite(fin) ? fin : best;
        const unsigned char *par = sqlite3_column_text(st, 12);
        snprintf(r->parent, sizeof r->parent, "%s", par ? (const char *)par : "");
        if ((rc = load_curve(db, r, err, errlen))) goto done;
        if (!isfinite(r->loss) && r->ncurve > 0) r->loss = r->curve_loss[r->ncurve - 1];
    }
    if (sr == SQLITE_DONE) rc = family_curves(d, err, errlen);
    if (sr != SQLITE_DONE)
        rc = util_err(err, errlen, UTIL_EDB, "fit: reading runs: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    if (rc) fit_data_free(d);
    return rc;
}

/* ---- Loading a CSV ----------------------------------------------------- */

enum { COL_PARAMS, COL_TOKENS, COL_FLOPS, COL_LOSS, COL_BUDGET, COL_UNIQUE, NCOLS };

/* Column names accepted (case-insensitive); the first of each is the contract's. */
static const char *const col_names[NCOLS][6] = {
    {"params", "n", "model size", "parameters", "n_params", NULL},
    {"tokens", "d", "training tokens", "data", NULL},
    {"flops", "c", "training flop", "training flops", "compute", NULL},
    {"loss", "val_loss", "final_val_loss", NULL},
    {"budget", "compute_budget", NULL},
    {"unique_tokens", "unique tokens", NULL}, /* as runs.unique_tokens: 0 or empty, unlimited */
};

/* Splits line (modified in place) at commas into at most max fields,
 * trimming blanks and surrounding double quotes. Returns the count. */
static int split_csv(char *line, char **f, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        char *end = strchr(p, ',');
        if (end) *end = 0;
        while (isspace((unsigned char)*p))
            p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1]))
            p[--len] = 0;
        if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
            p[len - 1] = 0;
            p++;
        }
        if (n < max) f[n++] = p;
        if (!end) break;
        p = end + 1;
    }
    return n;
}

int fit_load_csv(fit_data *d, const char *path, char *err, size_t errlen) {
    char *buf = NULL;
    size_t len = 0;
    int rc, cap = 0, col[NCOLS];
    char *f[256];
    d->nruns = 0;
    d->runs = NULL;
    if ((rc = util_read_file(path, &buf, &len, err, errlen))) return rc;
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    int lineno = 1;
    if (!line) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: empty file, expected a header row", path);
        goto done;
    }
    for (int c = 0; c < NCOLS; c++)
        col[c] = -1;
    {
        line[strcspn(line, "\r")] = 0;
        int nf = split_csv(line, f, 256);
        for (int i = 0; i < nf; i++)
            for (int c = 0; c < NCOLS; c++)
                for (int k = 0; col_names[c][k]; k++)
                    if (col[c] < 0 && !strcasecmp(f[i], col_names[c][k])) col[c] = i;
    }
    if (col[COL_PARAMS] < 0 || col[COL_LOSS] < 0 || (col[COL_TOKENS] < 0 && col[COL_FLOPS] < 0)) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s:1: header must name columns params, tokens or flops, and loss", path);
        goto done;
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        line[strcspn(line, "\r")] = 0;
        if (!*line) continue;
        int nf = split_csv(line, f, 256);
        double v[NCOLS];
        for (int c = 0; c < NCOLS; c++) {
            v[c] = NAN;
            if (col[c] < 0) continue;
            if (col[c] >= nf || !*f[col[c]]) {
                if (c == COL_BUDGET || c == COL_UNIQUE) continue;
                rc = util_err(err, errlen, UTIL_EINVAL, "%s:%d: column '%s' is empty", path, lineno,
                              col_names[c][0]);
                goto done;
            }
            char *end;
            errno = 0;
            v[c] = strtod(f[col[c]], &end);
            if (*end || errno || !isfinite(v[c]) || (c == COL_UNIQUE && v[c] < 0) ||
                (c != COL_BUDGET && c != COL_UNIQUE && v[c] <= 0)) {
                rc = util_err(err, errlen, UTIL_EINVAL,
                              "%s:%d: column '%s': expected a finite %s number, got '%s'", path,
                              lineno, col_names[c][0],
                              c == COL_UNIQUE ? "non-negative" : "positive", f[col[c]]);
                goto done;
            }
        }
        if (d->nruns == cap) {
            cap = cap ? 2 * cap : 256;
            fit_run *nr = realloc(d->runs, cap * sizeof *nr);
            if (!nr) {
                rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", path);
                goto done;
            }
            d->runs = nr;
        }
        fit_run *r = &d->runs[d->nruns++];
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "csv%d", lineno);
        snprintf(r->label, sizeof r->label, "%s:%d", path, lineno);
        r->n_total = r->n_nonemb = v[COL_PARAMS];
        if (col[COL_TOKENS] >= 0) {
            r->tokens = v[COL_TOKENS];
            if (col[COL_FLOPS] >= 0) r->fpt_chinchilla = v[COL_FLOPS] / r->tokens;
        } else {
            r->tokens = v[COL_FLOPS] / (6.0 * r->n_total);
            r->fpt_chinchilla = 6.0 * r->n_total;
        }
        r->budget = v[COL_BUDGET] > 0 ? v[COL_BUDGET] : NAN;
        r->unique_tokens = v[COL_UNIQUE] > 0 ? v[COL_UNIQUE] : 0;
        r->loss = v[COL_LOSS];
    }
    if (d->nruns == 0) rc = util_err(err, errlen, UTIL_EINVAL, "%s: no data rows", path);
done:
    free(buf);
    if (rc) fit_data_free(d);
    return rc;
}

/* ---- Lower envelope of the learning curves -------------------------------- */

/* A run's curve as (ln C, smoothed loss): a centred moving average over 3
 * interior evals takes out eval noise. The two ends stay raw: averaging the
 * first eval with the next one would pull a steeply falling curve below
 * itself where it starts, and the envelope below every run there. */
static int smooth_curve(const fit_run *r, const fit_opts *o, double *lc, double *ls) {
    int n = 0;
    for (int i = 0; i < r->ncurve; i++) {
        double c = fit_run_flops_at(r, o->params, o->flops, r->curve_tokens[i]);
        if (!(c > 0) || !isfinite(r->curve_loss[i])) continue;
        lc[n] = log(c);
        ls[n] = r->curve_loss[i];
        n++;
    }
    if (n >= 3) {
        double raw_prev = 0;
        for (int i = 0; i < n; i++) {
            double raw = ls[i];
            if (i > 0 && i + 1 < n) ls[i] = (raw_prev + raw + ls[i + 1]) / 3;
            raw_prev = raw;
        }
    }
    return n;
}

int fit_envelope(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                 int *env_run, char *err, size_t errlen) {
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
    }
    for (int i = 0; i < d->nruns; i++) {
        int m = smooth_curve(&d->runs[i], o, lc, ls);
        if (m < 2) continue;
        int k = 0;
        for (int j = 0; j < n; j++) {
            double x = llo + (lhi - llo) * j / (n - 1);
            if (j == 0) x = llo;
            if (j == n - 1) x = lhi;
            if (x < lc[0] - 1e-12 || x > lc[m - 1] + 1e-12) continue;
            while (k + 1 < m - 1 && lc[k + 1] < x)
                k++;
            double t = lc[k + 1] > lc[k] ? (x - lc[k]) / (lc[k + 1] - lc[k]) : 0;
            if (t < 0) t = 0;
            if (t > 1) t = 1;
            double L = ls[k] + t * (ls[k + 1] - ls[k]);
            if (!isfinite(env_L[j]) || L < env_L[j]) {
                env_L[j] = L;
                env_run[j] = i;
            }
        }
    }
done:
    free(lc);
    free(ls);
    return rc;
}

int fit_envelope_frontier(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                          int *env_run, char *err, size_t errlen) {
    int rc = fit_envelope(d, o, n, env_C, env_L, env_run, err, errlen);
    if (rc) return rc;
    double best = INFINITY;
    int best_run = -1;
    for (int j = 0; j < n; j++) {
        if (isfinite(env_L[j]) && env_L[j] < best) best = env_L[j], best_run = env_run[j];
        if (best_run >= 0) env_L[j] = best, env_run[j] = best_run;
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

int fit_budget_groups(const fit_data *d, fit_params p, fit_flops f, int *group, int *ngroups) {
    int n = d->nruns, ng = 0, have_budget = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(d->runs[i].budget)) have_budget = 1;
    keyed *k = malloc((size_t)(n > 0 ? n : 1) * sizeof *k);
    if (!k) return UTIL_ENOMEM;
    for (int i = 0; i < n; i++) {
        double v = have_budget ? d->runs[i].budget : fit_run_flops(&d->runs[i], p, f);
        k[i].key = v > 0 ? log10(v) : NAN;
        k[i].i = i;
        group[i] = -1;
    }
    qsort(k, n, sizeof *k, cmp_keyed);
    double first = NAN, tol = have_budget ? 1e-9 : 0.1;
    for (int j = 0; j < n; j++) {
        if (!isfinite(k[j].key)) continue;
        if (!isfinite(first) || k[j].key > first + tol) {
            first = k[j].key;
            ng++;
        }
        group[k[j].i] = ng - 1;
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
    fit_val v = {est, NAN, NAN};
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
