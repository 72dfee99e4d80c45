/*
 * sweep_plan.c — expanding a sweep file into resolved runs: per section the
 * cartesian product of the model family (explicit shapes, d_model × n_layer,
 * or target parameter counts with a shape rule) and every list-valued key;
 * token budgets (given, or derived from IsoFLOP budgets); validation with
 * FILE:LINE; run ids; the plan and per-run JSON; the launch order and shards.
 */
#define _GNU_SOURCE /* qsort_r */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../results/store.h"
#include "sweep_priv.h"

const char *sweep_mode_name(sweep_mode m) {
    static const char *n[] = {"grid", "isoflop", "kaplan", "lr"};
    return (unsigned)m < 4 ? n[m] : "?";
}

int64_t sweep_tokens_for_budget(double budget, double flops_per_token, int64_t tokens_per_step) {
    double per_step = flops_per_token * (double)tokens_per_step;
    if (!(per_step > 0) || !(budget >= 0) || tokens_per_step < 1) return -1;
    double steps = floor(budget / per_step + 0.5);
    if (steps < 1) steps = 1;
    /* compared in double before any conversion: (int64_t) of a value past
     * INT64_MAX is undefined, and steps * tokens_per_step could wrap */
    if (steps * (double)tokens_per_step > SWEEP_MAX_TOKENS) return -1;
    return (int64_t)steps * tokens_per_step;
}

/* ======================================================================
 * Shapes from target parameter counts
 * ====================================================================== */

int sweep_shape_for_params(double target, int count_total, double aspect, int head_size,
                           double ff_mult, int n_ctx, int n_vocab, model_shape *s, char *err,
                           size_t errlen) {
    /* Two bests: among shapes within 2x of the aspect, and among all. Hitting
     * N matters more to a fit than the exact aspect (Kaplan et al. 2020 Fig.
     * 5: loss varies a few % over aspect 20-200), so the score is mostly
     * |ln N/target|; a shape far off the aspect is taken only when no shape
     * near it comes within 2x of the target. */
    double best[2] = {INFINITY, INFINITY};
    model_shape b[2] = {{0}, {0}};
    for (int L = 1; L <= 256; L++) {
        /* smallest multiple m of head_size whose count reaches the target */
        int lo = 1, hi = 65536 / head_size;
        if (hi < 1) break;
        while (lo < hi) {
            int m = (lo + hi) / 2;
            model_shape t = {L,     m * head_size, m, (int)floor(ff_mult * m * head_size + 0.5),
                             n_ctx, n_vocab};
            model_counts c;
            model_count_params(&t, &c);
            double N = (double)(count_total ? c.total : c.nonembedding);
            if (N >= target)
                hi = m;
            else
                lo = m + 1;
        }
        for (int m = lo - 1; m <= lo; m++) {
            if (m < 1) continue;
            int d = m * head_size;
            model_shape t = {L, d, m, (int)floor(ff_mult * d + 0.5), n_ctx, n_vocab};
            if (t.d_ff < 1) t.d_ff = 1;
            model_counts c;
            model_count_params(&t, &c);
            double N = (double)(count_total ? c.total : c.nonembedding);
            if (N <= 0) continue;
            double da = fabs(log((double)d / L / aspect));
            double score = fabs(log(N / target)) + 0.1 * da;
            for (int k = 0; k < 2; k++) {
                if (k == 0 && da > log(2.0) + 1e-9) continue;
                if (score < best[k]) {
                    best[k] = score;
                    b[k] = t;
                }
            }
        }
    }
    int k = 1;
    if (b[0].n_layer) {
        model_counts c;
        model_count_params(&b[0], &c);
        double N = (double)(count_total ? c.total : c.nonembedding);
        if (fabs(log(N / target)) <= log(2.0)) k = 0;
    }
    if (!b[k].n_layer)
        return util_err(err, errlen, UTIL_EINVAL, "no shape for %g parameters", target);
    model_counts c;
    model_count_params(&b[k], &c);
    double N = (double)(count_total ? c.total : c.nonembedding);
    if (fabs(log(N / target)) > log(2.0))
        return util_err(err, errlen, UTIL_EINVAL,
                        "no shape within a factor of 2 of %g %s parameters (nearest %dx%d has "
                        "%.4g; with head_size %d)",
                        target, count_total ? "total" : "non-embedding", b[k].n_layer, b[k].d_model,
                        N, head_size);
    *s = b[k];
    return 0;
}

/* ======================================================================
 * Expansion
 * ====================================================================== */

typedef struct {
    sweep_file f;
    sweep_value *val; /* parsed value of each entry (f.e[i] ↔ val[i]) */
    const char *db_path;
    sweep_plan *plan;
    int cap;
    char *err;
    size_t errlen;
    int nsweep_runs_seen;
    /* params = auto: the database its earlier budgets' losses come from
     * (opened on first need, NULL when none), and the optima found so far */
    store *db;
    int db_tried;
    int nauto;                 /* auto sections expanded */
    const char *auto_label;    /* the last one's label */
    int auto_complete;         /* every budget of it planned and finished */
    int auto_n;                /* its budgets' optima so far */
    double auto_C[256], auto_N[256];
    sweep_auto_space auto_sp;  /* its lattice */
    double auto_prior_a;
} ctx;

/* Index of the entry for key k seen by section sec: its own, else [sweep]'s, else -1. */
static int lookup(const ctx *c, const char *sec, sweep_key k, int *own) {
    int found = -1;
    for (int pass = 0; pass < 2 && found < 0; pass++) {
        const char *s = pass == 0 ? sec : "sweep";
        for (int i = 0; i < c->f.n; i++) {
            const sweep_keydef *d = sweep_key_find(c->f.e[i].key);
            if (d && d->id == k && !strcmp(c->f.e[i].section, s)) {
                found = i;
                if (own) *own = pass == 0;
                break;
            }
        }
    }
    return found;
}

static int warn(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(ctx *c, const char *fmt, ...) {
    sweep_plan *p = c->plan;
    if (p->nwarnings >= 1000) return 0;
    char **w = realloc(p->warnings, (p->nwarnings + 1) * sizeof *w);
    if (!w) return UTIL_ENOMEM;
    p->warnings = w;
    char *m = malloc(512);
    if (!m) return UTIL_ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, 512, fmt, ap);
    va_end(ap);
    p->warnings[p->nwarnings++] = m;
    return 0;
}

/* The run's configuration JSON, written by run/ as for every run. */
static char *run_json(const sweep_plan *p, const sweep_item *r) {
    run_config rc;
    sweep_run_config(p, r, 0, NULL, &rc);
    return run_config_json(&rc, &p->data);
}

char *sweep_item_json(const sweep_plan *p, const sweep_item *r) {
    return run_json(p, r);
}

#define ORIGIN(c, i, sec) ((i) >= 0 ? (c)->f.e[i].origin : (sec)->origin)

typedef struct {
    const char *name;
    int line;
    char origin[160];
} secref;

static double getv(const ctx *c, int idx, int which, double dflt) {
    if (idx < 0) return dflt;
    return c->val[idx].v ? c->val[idx].v[which] : dflt;
}

static int add_run(ctx *c, sweep_item *r) {
    sweep_plan *p = c->plan;
    for (int i = 0; i < p->nruns; i++)
        if (!strcmp(p->runs[i].id, r->id) && p->runs[i].holdout != r->holdout)
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s:%d: [%s] run %s is also run %s of [%s] (line %d), which is %s: "
                            "one run cannot be both fitted and held out (change its shape, "
                            "budget or seed)",
                            p->path, r->line, r->label, r->id, p->runs[i].id, p->runs[i].label,
                            p->runs[i].line, p->runs[i].holdout ? "held out" : "fitted");
    for (int i = 0; i < p->nruns; i++)
        if (!strcmp(p->runs[i].id, r->id))
            return warn(c, "%s:%d: [%s] repeats run %s of [%s] (line %d); it is planned once",
                        p->path, r->line, r->label, r->id, p->runs[i].label, p->runs[i].line);
    if (p->nruns >= SWEEP_MAX_RUNS)
        return util_err(c->err, c->errlen, UTIL_EINVAL, "%s: more than %d runs", p->path,
                        SWEEP_MAX_RUNS);
    if (p->nruns == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        sweep_item *n = realloc(p->runs, cap * sizeof *n);
        if (!n) return util_err(c->err, c->errlen, UTIL_ENOMEM, "out of memory");
        p->runs = n;
        c->cap = cap;
    }
    p->runs[p->nruns++] = *r;
    return 0;
}

/* Keys whose lists multiply (besides the model family). */
static const sweep_key axis_keys[] = {
    K_N_CTX,       K_HEAD_SIZE,    K_N_HEAD,          K_D_FF,          K_FF_MULT,
    K_ASPECT,      K_TOKENS,       K_BUDGET,          K_UNIQUE_TOKENS, K_BATCH,
    K_MICRO_BATCH, K_LR,           K_MIN_LR_FRAC,     K_WARMUP,        K_WARMUP_FRAC,
    K_WARMUP_MIN,  K_CYCLE_TOKENS, K_WEIGHT_DECAY,    K_BETA1,         K_BETA2,
    K_EPS,         K_GRAD_CLIP,    K_EVALS,           K_EVAL_WINDOWS,  K_FINAL_EVAL_TOKENS,
    K_PATIENCE,    K_LOG_EVERY,    K_CHECKPOINT_SECS, K_SEED,
};
#define NAXIS (int)(sizeof axis_keys / sizeof axis_keys[0])

/* What a section's expansion works from: the section, its model family, its
 * section-wide rules, and the axes of the product with the current point. */
typedef enum { F_NONE, F_SHAPES, F_PARAMS, F_GRID, F_AUTO, F_OPTIMAL } family;
typedef struct {
    ctx *c;
    const secref *sec;
    family fam;
    int i_sh, i_pa, i_dm, i_nl, i_nh, i_hs; /* entries naming the models and heads, -1 */
    int nfam;                               /* models in the family */
    int fam_idx;                            /* the entry naming them (for messages) */
    int count_total;                        /* params counts total parameters */
    model_sched sched;
    int evals_set, patience_set;
    int idx[NAXIS], len[NAXIS], pos[NAXIS]; /* per axis: entry (-1), list length, position */
    int ax_pos[K_COUNT];                    /* axis of each key, -1 when not one */
    int stage;                              /* params = auto: the budget's rank, else -1 */
    model_shape auto_shape[32];             /* F_AUTO / F_OPTIMAL: the sizes placed */
    double auto_target[32];
} section;

/* The value of key k at the current point of the product, dflt if unset. */
static double ax(const section *x, sweep_key k, double dflt) {
    int a = x->ax_pos[k];
    return getv(x->c, x->idx[a], x->pos[a], dflt);
}
static int ax_idx(const section *x, sweep_key k) {
    return x->idx[x->ax_pos[k]];
}

/* The model family (shapes, params, or d_model x n_layer) and the head rule. */
static int section_family(section *x) {
    ctx *c = x->c;
    const secref *sec = x->sec;
    const char *S = sec->name;
    char *err = c->err;
    size_t errlen = c->errlen;
    int own_sh = 0, own_pa = 0, own_dm = 0, own_nl = 0;
    x->i_sh = lookup(c, S, K_SHAPES, &own_sh), x->i_pa = lookup(c, S, K_PARAMS, &own_pa);
    x->i_dm = lookup(c, S, K_D_MODEL, &own_dm), x->i_nl = lookup(c, S, K_N_LAYER, &own_nl);
    int i_sh = x->i_sh, i_pa = x->i_pa, i_dm = x->i_dm, i_nl = x->i_nl;
    family fam = F_NONE;
    for (int lvl = 1; lvl >= 0 && fam == F_NONE; lvl--) {
        int sh = i_sh >= 0 && own_sh == lvl, pa = i_pa >= 0 && own_pa == lvl;
        int dl = (i_dm >= 0 && own_dm == lvl) || (i_nl >= 0 && own_nl == lvl);
        if (sh + pa + dl > 1) {
            int at = pa ? i_pa : i_sh;
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: %s: shapes, params and d_model/n_layer are alternative ways to "
                            "name the models: set one",
                            c->f.e[at].origin, c->f.e[at].key);
        }
        fam = sh ? F_SHAPES : pa ? F_PARAMS : dl ? F_GRID : F_NONE;
    }
    if (fam == F_NONE)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: [%s] names no models: set d_model and n_layer, shapes, or params",
                        sec->origin, S);
    if (fam == F_GRID && (i_dm < 0 || i_nl < 0))
        return util_err(err, errlen, UTIL_EINVAL, "%s: [%s] sets %s but not %s", sec->origin, S,
                        i_dm < 0 ? "n_layer" : "d_model", i_dm < 0 ? "d_model" : "n_layer");
    if (fam == F_PARAMS && c->val[i_pa].s) { /* params = auto | optimal */
        fam = !strcmp(c->val[i_pa].s, "auto") ? F_AUTO : F_OPTIMAL;
        if (c->plan->mode != SWEEP_ISOFLOP)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: params = %s: adaptive sizes need mode = isoflop (this is %s)",
                            c->f.e[i_pa].origin, c->val[i_pa].s, sweep_mode_name(c->plan->mode));
    }
    x->fam = fam;
    if (fam == F_OPTIMAL) {
        int own_ho = 0, i_ho = lookup(c, S, K_HOLDOUT, &own_ho);
        if (i_ho < 0 || !own_ho || strcmp(c->val[i_ho].s, "true"))
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: params = optimal: a run at the predicted optimum checks the fit: "
                            "set holdout = true in [%s] (a fitted run there would fit itself)",
                            c->f.e[i_pa].origin, S);
    }
    /* the planner's keys mean something with params = auto only */
    static const sweep_key auto_keys[] = {K_AUTO_SIZES, K_AUTO_WIDTH, K_PRIOR_TPP, K_PRIOR_A};
    for (int q = 0; q < 4 && fam != F_AUTO; q++) {
        int own = 0, at = lookup(c, S, auto_keys[q], &own);
        if (at >= 0 && own)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: %s: only sections with params = auto place sizes by it",
                            c->f.e[at].origin, c->f.e[at].key);
    }
    if (fam == F_AUTO || fam == F_OPTIMAL) {
        x->nfam = fam == F_OPTIMAL ? 1 : (int)getv(c, lookup(c, S, K_AUTO_SIZES, NULL), 0, 5);
        x->fam_idx = i_pa;
        return 0;
    }
    x->nfam = fam == F_SHAPES   ? c->val[i_sh].n / 2
              : fam == F_PARAMS ? c->val[i_pa].n
                                : c->val[i_dm].n * c->val[i_nl].n;
    x->fam_idx = fam == F_SHAPES ? i_sh : fam == F_PARAMS ? i_pa : i_dm;

    int own_nh = 0, own_hs = 0;
    x->i_nh = lookup(c, S, K_N_HEAD, &own_nh), x->i_hs = lookup(c, S, K_HEAD_SIZE, &own_hs);
    if (x->i_nh >= 0 && x->i_hs >= 0) {
        if (own_nh == own_hs)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: n_head: set n_head or head_size, not both",
                            c->f.e[x->i_nh].origin);
        if (own_nh)
            x->i_hs = -1;
        else
            x->i_nh = -1;
    }
    if (fam == F_PARAMS && x->i_nh >= 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: n_head: with params the head count follows d_model: set head_size",
                        c->f.e[x->i_nh].origin);
    return 0;
}

/* What the mode asks of a section: budgets or tokens, and the lr list. */
static int section_mode_rules(section *x) {
    ctx *c = x->c;
    const secref *sec = x->sec;
    const char *S = sec->name;
    sweep_plan *p = c->plan;
    char *err = c->err;
    size_t errlen = c->errlen;
    int rc;
    int i_tok = lookup(c, S, K_TOKENS, NULL), i_bud = lookup(c, S, K_BUDGET, NULL);
    if (p->mode == SWEEP_ISOFLOP) {
        if (i_tok >= 0)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: tokens: isoflop mode derives tokens from budget; remove it",
                            c->f.e[i_tok].origin);
        if (i_bud < 0)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: [%s] has no budget (isoflop mode: budget = FLOPs, e.g. "
                            "logspace(1e12, 1e14, 3))",
                            sec->origin, S);
    } else {
        if (i_bud >= 0)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: budget: only isoflop mode takes budgets (this is %s mode; set "
                            "tokens)",
                            c->f.e[i_bud].origin, sweep_mode_name(p->mode));
        if (i_tok < 0)
            return util_err(err, errlen, UTIL_EINVAL, "%s: [%s] has no tokens (training budget)",
                            sec->origin, S);
    }
    int i_lr = lookup(c, S, K_LR, NULL);
    if (p->mode == SWEEP_LR && i_lr >= 0 && c->val[i_lr].is_rule)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: lr: an lr sweep scans a list of learning rates, not a rule",
                        c->f.e[i_lr].origin);
    if (p->mode == SWEEP_LR && (i_lr < 0 || c->val[i_lr].n < 2)) {
        if ((rc = warn(c, "%s: [%s] is an lr sweep with a single lr", sec->origin, S))) return rc;
    }
    return 0;
}

/* The axes of the product and the section-wide settings: the parameter
 * count of params, the schedule, the betas and eps the trainer fixes. */
static int section_axes(section *x) {
    ctx *c = x->c;
    const secref *sec = x->sec;
    const char *S = sec->name;
    char *err = c->err;
    size_t errlen = c->errlen;
    double total = x->nfam;
    for (int a = 0; a < NAXIS; a++) {
        x->idx[a] = lookup(c, S, axis_keys[a], NULL);
        x->len[a] = x->idx[a] >= 0 && c->val[x->idx[a]].v ? c->val[x->idx[a]].n : 1;
        if (x->idx[a] >= 0 && c->val[x->idx[a]].is_rule) x->len[a] = 1;
        x->pos[a] = 0;
        total *= x->len[a];
    }
    for (int k = 0; k < K_COUNT; k++)
        x->ax_pos[k] = -1;
    for (int a = 0; a < NAXIS; a++)
        x->ax_pos[axis_keys[a]] = a;
    if (total > SWEEP_MAX_RUNS)
        return util_err(err, errlen, UTIL_EINVAL, "%s: [%s] expands to %.0f runs (at most %d)",
                        sec->origin, S, total, SWEEP_MAX_RUNS);
    int i_pc = lookup(c, S, K_PARAMS_COUNT, NULL), i_sched = lookup(c, S, K_SCHEDULE, NULL);
    x->count_total = 0;
    if (i_pc >= 0) {
        const char *v = c->val[i_pc].s;
        if (!strcmp(v, "total"))
            x->count_total = 1;
        else if (strcmp(v, "nonembedding") && strcmp(v, "non-embedding"))
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: params_count = %s: expected total or nonembedding",
                            c->f.e[i_pc].origin, v);
    }
    x->sched = SCHED_COSINE;
    if (i_sched >= 0) {
        char nm[32];
        snprintf(nm, sizeof nm, "%s", c->val[i_sched].s);
        for (char *q = nm; *q; q++)
            if (*q == '_') *q = '-'; /* fixed_cosine and fixed-cosine both read */
        if (model_sched_parse(nm, &x->sched))
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: schedule = %s: expected cosine, constant, fixed-cosine or wsd",
                            c->f.e[i_sched].origin, c->val[i_sched].s);
    }
    /* the workers are `scaling train`, which keeps AdamW's betas and eps at
     * their defaults */
    static const sweep_key fixed[] = {K_BETA1, K_BETA2, K_EPS};
    for (int q = 0; q < 3; q++) {
        int at = lookup(c, S, fixed[q], NULL);
        if (at >= 0) {
            model_train_config d;
            model_train_defaults(&d);
            double dv = fixed[q] == K_BETA1 ? d.beta1 : fixed[q] == K_BETA2 ? d.beta2 : d.eps;
            for (int v = 0; v < c->val[at].n; v++)
                if (c->val[at].v[v] != dv)
                    return util_err(err, errlen, UTIL_EINVAL,
                                    "%s: %s = %s: the trainer fixes it at %g", c->f.e[at].origin,
                                    c->f.e[at].key, c->f.e[at].value, dv);
        }
    }
    x->evals_set = lookup(c, S, K_EVALS, NULL) >= 0;
    x->patience_set = lookup(c, S, K_PATIENCE, NULL) >= 0;
    return 0;
}

/* Model fi of the family at the current point: its shape and counts. */
static int point_shape(const section *x, int fi, sweep_item *r) {
    const ctx *c = x->c;
    const sweep_plan *p = c->plan;
    char *err = c->err;
    size_t errlen = c->errlen;
    model_shape *s = &r->cfg.shape;
    s->n_vocab = p->data.vocab;
    s->n_ctx = (int)ax(x, K_N_CTX, s->n_ctx > 0 ? s->n_ctx : 128);
    int hs = (int)ax(x, K_HEAD_SIZE, 64);
    double ff_mult = ax(x, K_FF_MULT, 4.0);
    const char *shape_origin = c->f.e[x->fam_idx].origin;
    if (x->fam == F_AUTO || x->fam == F_OPTIMAL) {
        *s = x->auto_shape[fi]; /* placed by expand_auto / expand_optimal */
        r->target_params = x->auto_target[fi];
        r->target_total = x->count_total;
    } else if (x->fam == F_PARAMS) {
        r->target_params = c->val[x->i_pa].v[fi];
        r->target_total = x->count_total;
        char why[UTIL_ERRLEN];
        if (sweep_shape_for_params(r->target_params, x->count_total, ax(x, K_ASPECT, 32.0), hs,
                                   ff_mult, s->n_ctx, s->n_vocab, s, why, sizeof why))
            return util_err(err, errlen, UTIL_EINVAL, "%s: params: %s", shape_origin, why);
    } else {
        if (x->fam == F_SHAPES) {
            s->n_layer = (int)c->val[x->i_sh].v[2 * fi];
            s->d_model = (int)c->val[x->i_sh].v[2 * fi + 1];
        } else {
            int nn = c->val[x->i_nl].n;
            s->d_model = (int)c->val[x->i_dm].v[fi / nn];
            s->n_layer = (int)c->val[x->i_nl].v[fi % nn];
        }
        if (x->i_nh >= 0) {
            s->n_head = (int)ax(x, K_N_HEAD, 1);
            if (s->d_model % s->n_head)
                return util_err(err, errlen, UTIL_EINVAL,
                                "%s: impossible shape: d_model %d is not divisible by "
                                "n_head %d",
                                shape_origin, s->d_model, s->n_head);
        } else {
            if (s->d_model % hs)
                return util_err(err, errlen, UTIL_EINVAL,
                                "%s: impossible shape: d_model %d is not a multiple of "
                                "head_size %d%s",
                                shape_origin, s->d_model, hs,
                                x->i_hs < 0 ? " (the default; set head_size or n_head)" : "");
            s->n_head = s->d_model / hs;
        }
        s->d_ff = (int)floor(ff_mult * s->d_model + 0.5);
    }
    if (ax_idx(x, K_D_FF) >= 0) s->d_ff = (int)ax(x, K_D_FF, s->d_ff);
    char why[UTIL_ERRLEN];
    if (model_shape_check(s, why, sizeof why))
        return util_err(err, errlen, UTIL_EINVAL, "%s: impossible shape %dx%d: %s", shape_origin,
                        s->n_layer, s->d_model, why);
    model_count_params(s, &r->counts);
    return 0;
}

/* The point's batch and token budget (from its FLOP budget in isoflop
 * mode), the data it may use, its FLOPs and epochs. */
static int point_budget(section *x, sweep_item *r) {
    ctx *c = x->c;
    const secref *sec = x->sec;
    const sweep_plan *p = c->plan;
    char *err = c->err;
    size_t errlen = c->errlen;
    model_train_config *g = &r->cfg;
    const model_shape *s = &g->shape;
    int rc;
    g->batch = (int)ax(x, K_BATCH, g->batch);
    g->micro_batch = (int)ax(x, K_MICRO_BATCH, g->micro_batch);
    if (g->micro_batch > 0 && g->batch % g->micro_batch) {
        int at = ax_idx(x, K_MICRO_BATCH);
        return util_err(err, errlen, UTIL_EINVAL, "%s: micro_batch %d does not divide batch %d",
                        ORIGIN(c, at, sec), g->micro_batch, g->batch);
    }
    int64_t tps = (int64_t)g->batch * s->n_ctx;
    r->flops_per_token = model_flops_per_token(s, p->flops_count);
    if (p->mode == SWEEP_ISOFLOP) {
        r->compute_budget = ax(x, K_BUDGET, 0);
        g->tokens = sweep_tokens_for_budget(r->compute_budget, r->flops_per_token, tps);
        if (g->tokens < 0)
            return util_err(err, errlen, UTIL_EINVAL,
                            "%s: budget %.3g FLOPs: [%s] %dx%d would train %.3g tokens, "
                            "more than the %.0e a run can have",
                            ORIGIN(c, ax_idx(x, K_BUDGET), sec), r->compute_budget, sec->name,
                            s->n_layer, s->d_model, r->compute_budget / r->flops_per_token,
                            SWEEP_MAX_TOKENS);
        double got = (double)g->tokens * r->flops_per_token;
        if (got > 2 * r->compute_budget &&
            (rc = warn(c,
                       "%s: [%s] %dx%d: budget %.3g FLOPs is below one step (%.3g "
                       "FLOPs); it trains one step",
                       sec->origin, sec->name, s->n_layer, s->d_model, r->compute_budget, got)))
            return rc;
    } else {
        double t = ax(x, K_TOKENS, 0);
        g->tokens = (int64_t)ceil(t / (double)tps) * tps;
    }
    g->unique_tokens = (int64_t)ax(x, K_UNIQUE_TOKENS, 0);
    if ((uint64_t)g->unique_tokens > p->data.train_tokens) {
        int at = ax_idx(x, K_UNIQUE_TOKENS);
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: unique_tokens = %lld: the training split of %s has only "
                        "%llu tokens",
                        ORIGIN(c, at, sec), (long long)g->unique_tokens, p->data_dir,
                        (unsigned long long)p->data.train_tokens);
    }
    if (g->unique_tokens > 0 && g->unique_tokens <= s->n_ctx) {
        int at = ax_idx(x, K_UNIQUE_TOKENS);
        return util_err(err, errlen, UTIL_EINVAL, "%s: unique_tokens = %lld: must exceed n_ctx %d",
                        ORIGIN(c, at, sec), (long long)g->unique_tokens, s->n_ctx);
    }
    if (p->data.train_tokens <= (uint64_t)s->n_ctx + 1) {
        int at = ax_idx(x, K_N_CTX);
        return util_err(
            err, errlen, UTIL_EINVAL, "%s: n_ctx %d: the training split of %s has only %llu tokens",
            ORIGIN(c, at, sec), s->n_ctx, p->data_dir, (unsigned long long)p->data.train_tokens);
    }
    r->flops = (double)g->tokens * r->flops_per_token;
    r->flops_chinchilla = (double)g->tokens * model_flops_per_token(s, MODEL_FLOPS_CHINCHILLA);
    double avail = g->unique_tokens > 0 ? (double)g->unique_tokens : (double)p->data.train_tokens;
    r->epochs = (double)g->tokens / (double)data_epoch_tokens((uint64_t)avail, s->n_ctx);
    return 0;
}

/* The point's optimiser, schedule, evaluation and seed. */
static int point_optim(section *x, sweep_item *r) {
    ctx *c = x->c;
    const secref *sec = x->sec;
    int rc;
    const sweep_plan *p = c->plan;
    model_train_config *g = &r->cfg;
    int li = ax_idx(x, K_LR);
    if (li >= 0 && c->val[li].is_rule) {
        g->lr = c->val[li].rule_c * pow((double)r->counts.nonembedding, -c->val[li].rule_p);
        const sweep_keydef *lk = sweep_key_find("lr");
        if (!(g->lr >= lk->lo && g->lr <= lk->hi))
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: lr = %s gives %g for [%s] %dx%d (%lld non-embedding "
                            "parameters), out of range [%g, %g]",
                            ORIGIN(c, li, sec), c->f.e[li].value, g->lr, sec->name,
                            g->shape.n_layer, g->shape.d_model, (long long)r->counts.nonembedding,
                            lk->lo, lk->hi);
    } else
        g->lr = ax(x, K_LR, g->lr);
    g->min_lr_frac = ax(x, K_MIN_LR_FRAC, g->min_lr_frac);
    int64_t steps = model_train_steps(g); /* tokens are whole steps here */
    g->warmup = (int)ax(x, K_WARMUP, g->warmup);
    if (ax_idx(x, K_WARMUP_FRAC) >= 0) {
        /* in double first: a fraction of 1e15 steps does not fit an int */
        double w = floor(ax(x, K_WARMUP_FRAC, 0) * (double)steps + 0.5);
        g->warmup = w > SWEEP_MAX_WARMUP ? SWEEP_MAX_WARMUP : (int)w;
    }
    /* A floor in steps: a fraction of a short run is a handful of
     * steps, too few for AdamW's second moments before the peak lr
     * (the chinchilla preset's 10- and 18-step warm-ups diverged). */
    double wmin = ax(x, K_WARMUP_MIN, 0);
    if (g->warmup < wmin) g->warmup = (int)wmin;
    if (g->warmup >= steps && steps > 1) g->warmup = (int)(steps - 1);
    g->schedule = x->sched;
    if (x->sched == SCHED_WSD) {
        int i_cd = lookup(c, x->sec->name, K_COOLDOWN, NULL);
        int i_cs = lookup(c, x->sec->name, K_COOLDOWN_SHAPE, NULL);
        if (i_cd >= 0 && c->val[i_cd].n != 1)
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: cooldown = %s: expected one fraction (a family shares its trunk)",
                            c->f.e[i_cd].origin, c->f.e[i_cd].value);
        g->cooldown = getv(c, i_cd, 0, g->cooldown);
        if (i_cs >= 0 && model_cooldown_parse(c->val[i_cs].s, &g->cooldown_shape))
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: cooldown_shape = %s: expected 1-sqrt or linear",
                            c->f.e[i_cs].origin, c->val[i_cs].s);
    }
    g->cycle_tokens = (int64_t)ax(x, K_CYCLE_TOKENS, (double)g->cycle_tokens);
    if (x->sched == SCHED_FIXED_COSINE && g->cycle_tokens <= 0) g->cycle_tokens = g->tokens;
    g->weight_decay = ax(x, K_WEIGHT_DECAY, g->weight_decay);
    g->beta1 = ax(x, K_BETA1, g->beta1);
    g->beta2 = ax(x, K_BETA2, g->beta2);
    g->eps = ax(x, K_EPS, g->eps);
    g->grad_clip = ax(x, K_GRAD_CLIP, g->grad_clip);
    if (p->mode == SWEEP_KAPLAN && !x->evals_set) g->evals = 30;
    g->evals = (int)ax(x, K_EVALS, g->evals);
    g->eval_windows = (int)ax(x, K_EVAL_WINDOWS, g->eval_windows);
    g->final_eval_tokens = (int64_t)ax(x, K_FINAL_EVAL_TOKENS, (double)g->final_eval_tokens);
    int most = model_eval_windows_max(p->data.val_tokens, g->shape.n_ctx);
    if (most > 0 && g->eval_windows > most) {
        /* what training would do anyway, here so that the run's id
         * and stored configuration say what ran; one note per value */
        char m[1024];
        snprintf(m, sizeof m,
                 "%s: eval_windows = %d capped at %d: the validation split of %.300s holds "
                 "%llu tokens, %d windows of n_ctx + 1 = %d tokens",
                 ORIGIN(c, ax_idx(x, K_EVAL_WINDOWS), sec), g->eval_windows, most, p->data_dir,
                 (unsigned long long)p->data.val_tokens, most, g->shape.n_ctx + 1);
        int seen = 0;
        for (int w = 0; w < p->nwarnings && !seen; w++)
            seen = !strncmp(p->warnings[w], m, 511); /* warn keeps 511 */
        if (!seen && (rc = warn(c, "%s", m))) return rc;
        g->eval_windows = most;
    }
    if (p->mode == SWEEP_KAPLAN && !x->patience_set && g->unique_tokens > 0) g->patience = 3;
    g->patience = (int)ax(x, K_PATIENCE, g->patience);
    g->log_every = (int)ax(x, K_LOG_EVERY, g->log_every);
    g->checkpoint_secs = ax(x, K_CHECKPOINT_SECS, g->checkpoint_secs);
    g->seed = (uint64_t)ax(x, K_SEED, (double)g->seed);
    return 0;
}

/* The run of model fi at the current point, added to the plan. */
static int add_point(section *x, int fi) {
    ctx *c = x->c;
    const secref *sec = x->sec;
    sweep_plan *p = c->plan;
    int rc;
    sweep_item r;
    memset(&r, 0, sizeof r);
    model_train_config *g = &r.cfg;
    model_train_defaults(g);
    g->stop = NULL;
    g->threads = 0;
    g->checkpoint[0] = 0;
    snprintf(g->data_dir, sizeof g->data_dir, "%s", p->data_dir);
    snprintf(r.label, sizeof r.label, "%s", sec->name);
    r.line = sec->line;
    r.compute_budget = NAN;
    r.target_params = NAN;
    r.est_seconds = NAN;
    r.stage = x->stage;
    if ((rc = point_shape(x, fi, &r)) || (rc = point_budget(x, &r)) || (rc = point_optim(x, &r)))
        return rc;
    /* holdout = true|false, in a section of its own ([sweep]'s would hold
     * out every run and leave nothing to fit) */
    int own = 0, i_ho = lookup(c, sec->name, K_HOLDOUT, &own);
    if (i_ho >= 0 && (!own || !strcmp(sec->name, "sweep")))
        return util_err(c->err, c->errlen, UTIL_EINVAL,
                        "%s: holdout = %s: expected in a section of its own, not [sweep] (it would "
                        "hold out every run)",
                        c->f.e[i_ho].origin, c->val[i_ho].s);
    if (i_ho >= 0) {
        const char *v = c->val[i_ho].s;
        if (strcmp(v, "true") && strcmp(v, "false"))
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: holdout = %s: expected true or false", c->f.e[i_ho].origin, v);
        r.holdout = !strcmp(v, "true");
    }

    model_run_id(g, r.id);
    if (r.epochs > 4 && (rc = warn(c,
                                   "%s: [%s] run %s (%dx%d, %lld tokens) repeats its %s %.1f "
                                   "times (more than 4 epochs)",
                                   sec->origin, sec->name, r.id, g->shape.n_layer, g->shape.d_model,
                                   (long long)g->tokens,
                                   g->unique_tokens ? "unique_tokens" : "training data", r.epochs)))
        return rc;
    r.config_json = run_json(p, &r);
    if (!r.config_json) return util_err(c->err, c->errlen, UTIL_ENOMEM, "out of memory");
    int before = p->nruns;
    if ((rc = add_run(c, &r))) {
        free(r.config_json);
        return rc;
    }
    if (p->nruns == before) free(r.config_json);
    return 0;
}

/* Every point of the product of the section's axes for model fi, the axis
 * `fixed` (-1: none) held at its current position. */
static int add_product(section *x, int fi, int fixed) {
    int rc;
    for (int a = 0; a < NAXIS; a++)
        if (a != fixed) x->pos[a] = 0;
    for (;;) {
        if ((rc = add_point(x, fi))) return rc;
        /* next point of the product */
        int a = NAXIS - 1;
        while (a >= 0 && (a == fixed || ++x->pos[a] == x->len[a])) {
            if (a != fixed) x->pos[a] = 0;
            a--;
        }
        if (a < 0) break;
    }
    return 0;
}

/* ---- params = auto: budgets planned one after another (sweep_auto.c) ---- */

/* The results database, read-only, once; NULL when there is none yet. */
static store *auto_db(ctx *c) {
    if (!c->db_tried) {
        c->db_tried = 1;
        char e[UTIL_ERRLEN];
        if (c->db_path && access(c->db_path, F_OK) == 0 &&
            store_open(&c->db, c->db_path, STORE_READONLY, e, sizeof e))
            c->db = NULL;
    }
    return c->db;
}

/* The optimum of stage `stage` of section `label`: its runs' final losses
 * in the database (a diverged run counts as finished, without a loss). 0 and
 * *N when every run is finished; else the number not finished, or -1 when
 * every run finished but none with a loss (all diverged). */
static int auto_stage_optimum(ctx *c, const char *label, int stage, double half_width, double *C,
                              double *N) {
    const sweep_plan *p = c->plan;
    int n = 0, waiting = 0;
    double *Ns = malloc((p->nruns + 1) * sizeof *Ns), *Ls = malloc((p->nruns + 1) * sizeof *Ls);
    if (!Ns || !Ls) {
        free(Ns), free(Ls);
        return 1;
    }
    store *db = auto_db(c);
    for (int i = 0; i < p->nruns; i++) {
        const sweep_item *r = &p->runs[i];
        if (r->stage != stage || strcmp(r->label, label)) continue;
        *C = r->compute_budget;
        store_run row;
        char e[UTIL_ERRLEN];
        store_run_init(&row);
        int found = db && store_get_run(db, r->id, &row, e, sizeof e) == 0;
        if (found && !strcmp(row.status, "done") && isfinite(row.final_val_loss)) {
            Ns[n] = r->target_total ? (double)r->counts.total : (double)r->counts.nonembedding;
            Ls[n++] = row.final_val_loss;
        } else if (!(found && !strcmp(row.status, "diverged"))) {
            waiting++;
        }
        store_run_free_fields(&row);
    }
    int valley = 0;
    if (!waiting) *N = sweep_auto_vertex(Ns, Ls, n, half_width, &valley);
    if (!waiting && !isfinite(*N)) waiting = -1; /* every run diverged: nothing to go on */
    if (!waiting) {
        /* a vertex outside the sizes run, or no valley at all: the valley's
         * arm on that side is missing, and Approach 2 will extrapolate (or
         * drop) this budget */
        double lo = INFINITY, hi = 0;
        for (int i = 0; i < n; i++)
            lo = fmin(lo, Ns[i]), hi = fmax(hi, Ns[i]);
        int rc = 0;
        if (!valley)
            rc = warn(c,
                      "%s: [%s] budget %.3g FLOPs: its losses do not curve upwards over its "
                      "sizes (%.3g ... %.3g): no IsoFLOP valley; the next budget is placed "
                      "from its lowest loss, at %.3g parameters, and Approach 2 will skip it",
                      p->path, label, *C, lo, hi, *N);
        else if (*N < lo || *N > hi)
            rc = warn(c,
                      "%s: [%s] budget %.3g FLOPs: its IsoFLOP vertex (%.3g parameters) lies %s "
                      "its sizes (%.3g ... %.3g); Approach 2 will flag it as extrapolated",
                      p->path, label, *C, *N, *N < lo ? "below" : "above", lo, hi);
        if (rc) {
            free(Ns), free(Ls);
            return 1;
        }
    }
    free(Ns), free(Ls);
    return waiting;
}

static int cmp_budget_asc(const void *a, const void *b, void *arg) {
    const double *v = arg;
    double x = v[*(const int *)a], y = v[*(const int *)b];
    return (x > y) - (x < y);
}

/* The lattice of an auto (or optimal) section: one value of each key that
 * fixes a shape or a step, from the current point. */
static int auto_space(section *x, sweep_auto_space *sp) {
    ctx *c = x->c;
    static const sweep_key one[] = {K_N_CTX, K_HEAD_SIZE, K_FF_MULT, K_ASPECT, K_BATCH, K_D_FF};
    for (int q = 0; q < (int)(sizeof one / sizeof one[0]); q++) {
        int at = ax_idx(x, one[q]);
        if (one[q] == K_D_FF && at >= 0)
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: d_ff: with params = auto the shape rule sets d_ff (use ff_mult)",
                            c->f.e[at].origin);
        if (at >= 0 && x->len[x->ax_pos[one[q]]] > 1)
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: %s = %s: with params = auto it takes one value (the sizes of "
                            "every budget share one lattice)",
                            c->f.e[at].origin, c->f.e[at].key, c->f.e[at].value);
    }
    int i_uq = ax_idx(x, K_UNIQUE_TOKENS);
    if (i_uq >= 0)
        return util_err(c->err, c->errlen, UTIL_EINVAL,
                        "%s: unique_tokens: params = auto places sizes within the whole "
                        "training split (at most %g epochs of it)",
                        c->f.e[i_uq].origin, SWEEP_AUTO_MAX_EPOCHS);
    memset(sp, 0, sizeof *sp);
    sp->k = x->nfam;
    sp->width_dex = getv(c, lookup(c, x->sec->name, K_AUTO_WIDTH, NULL), 0, 0.5);
    sp->count_total = x->count_total;
    sp->aspect = ax(x, K_ASPECT, 32.0);
    sp->ff_mult = ax(x, K_FF_MULT, 4.0);
    sp->head_size = (int)ax(x, K_HEAD_SIZE, 64);
    sp->n_ctx = (int)ax(x, K_N_CTX, 128);
    sp->n_vocab = c->plan->data.vocab;
    sp->flops = c->plan->flops_count;
    model_train_config d;
    model_train_defaults(&d);
    sp->tokens_per_step = (int64_t)ax(x, K_BATCH, d.batch) * sp->n_ctx;
    sp->epoch_tokens = data_epoch_tokens(c->plan->data.train_tokens, sp->n_ctx);
    return 0;
}

static void pending_note(sweep_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pending_note(sweep_plan *p, const char *fmt, ...) {
    size_t len = strlen(p->pending);
    if (len + 2 >= sizeof p->pending) return;
    if (len) p->pending[len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->pending + len, sizeof p->pending - len, fmt, ap);
    va_end(ap);
}

/* The nominal FLOPs of budgets not planned yet: each budget times the runs
 * it will have (sizes x the product of the section's other axes), for the
 * dry run's total. */
static double pending_flops(const section *x, const double *budgets, int n, int sizes) {
    double per = sizes, f = 0;
    int ab = x->ax_pos[K_BUDGET];
    for (int a = 0; a < NAXIS; a++)
        if (a != ab) per *= x->len[a];
    for (int i = 0; i < n; i++)
        f += budgets[i] * per;
    return f;
}

/* params = auto: budgets from small to large, each budget's sizes placed
 * around the optimum the budgets before it predict, as far as the database
 * has finished them; the rest wait (plan->npending). */
static int expand_auto(section *x) {
    ctx *c = x->c;
    sweep_plan *p = c->plan;
    const char *S = x->sec->name;
    int ab = x->ax_pos[K_BUDGET], ib = x->idx[ab], nb = x->len[ab], rc;
    if (x->nfam > 32)
        return util_err(c->err, c->errlen, UTIL_EINVAL, "%s: auto_sizes: at most 32",
                        x->sec->origin);
    if (nb > 256)
        return util_err(c->err, c->errlen, UTIL_EINVAL,
                        "%s: budget: params = auto plans at most 256 budgets",
                        c->f.e[ib].origin);
    sweep_auto_space sp;
    if ((rc = auto_space(x, &sp))) return rc;
    double tpp = getv(c, lookup(c, S, K_PRIOR_TPP, NULL), 0, 20);
    double prior_a = getv(c, lookup(c, S, K_PRIOR_A, NULL), 0, 0.5);
    int ordb[256];
    for (int j = 0; j < nb; j++)
        ordb[j] = j;
    qsort_r(ordb, (size_t)nb, sizeof *ordb, cmp_budget_asc, c->val[ib].v);
    double Cs[256], Ns[256], half = sweep_auto_step(&sp) * (sp.k - 1) / 2;
    int nfit = 0;
    c->nauto++;
    c->auto_label = S;
    c->auto_complete = 0;
    c->auto_sp = sp;
    c->auto_prior_a = prior_a;
    /* every budget must have k sizes that meet the constraints, wherever
     * its centre falls: said now, before any budget trains */
    for (int j = 0; j < nb; j++) {
        char why[UTIL_ERRLEN];
        double C = c->val[ib].v[j], any = sweep_auto_prior(&sp, C, tpp);
        if (!isfinite(any) ||
            sweep_auto_place(&sp, C, any, x->auto_shape, x->auto_target, why, sizeof why))
            return util_err(c->err, c->errlen, UTIL_EINVAL, "%s: [%s] params = auto: %s",
                            c->f.e[ib].origin, S,
                            isfinite(any) ? why : "no size of at least 2 layers fits the budget");
    }
    for (int jj = 0; jj < nb; jj++) {
        x->pos[ab] = ordb[jj];
        double C = c->val[ib].v[ordb[jj]], center;
        if (jj > 0 && C == c->val[ib].v[ordb[jj - 1]]) continue; /* a repeated budget */
        if (jj == 0) {
            center = sweep_auto_prior(&sp, C, tpp);
            if (!isfinite(center))
                return util_err(c->err, c->errlen, UTIL_EINVAL,
                                "%s: [%s] budget %.3g FLOPs: no size near %g tokens per "
                                "parameter",
                                x->sec->origin, S, C, tpp);
        } else {
            if ((rc = sweep_auto_chains(p, c->err, c->errlen))) return rc; /* final ids */
            int waiting = auto_stage_optimum(c, S, x->stage, half, &Cs[nfit], &Ns[nfit]);
            double rest[256];
            for (int q = jj; q < nb; q++)
                rest[q - jj] = c->val[ib].v[ordb[q]];
            if (waiting) p->pending_flops += pending_flops(x, rest, nb - jj, x->nfam);
            if (waiting < 0) {
                p->npending += nb - jj;
                pending_note(p,
                             "[%s]: %d budget%s from %.3g FLOPs cannot be placed: every run of "
                             "budget %.3g FLOPs diverged (scaling sweep --retry diverged plans "
                             "them again with a longer warm-up).",
                             S, nb - jj, nb - jj == 1 ? "" : "s", C, Cs[nfit]);
                return 0;
            }
            if (waiting) {
                p->npending += nb - jj;
                pending_note(p,
                             "[%s]: %d budget%s from %.3g FLOPs wait%s on %d unfinished run%s of "
                             "budget %.3g FLOPs (an unfinished sweep, or runs another shard "
                             "trains: merge the shards' databases into each other and run "
                             "the shards again).",
                             S, nb - jj, nb - jj == 1 ? "" : "s", C, nb - jj == 1 ? "s" : "",
                             waiting, waiting == 1 ? "" : "s", Cs[nfit]);
                return 0;
            }
            nfit++;
            center = sweep_auto_extrapolate(Cs, Ns, nfit, C, prior_a, NULL);
        }
        char why[UTIL_ERRLEN];
        if (sweep_auto_place(&sp, C, center, x->auto_shape, x->auto_target, why, sizeof why))
            return util_err(c->err, c->errlen, UTIL_EINVAL, "%s: [%s] params = auto: %s",
                            c->f.e[ib].origin, S, why);
        x->stage = jj;
        for (int fi = 0; fi < x->nfam; fi++)
            if ((rc = add_product(x, fi, ab))) return rc;
    }
    /* the last budget's optimum, for a held-out run at the predicted optimum */
    if ((rc = sweep_auto_chains(p, c->err, c->errlen))) return rc;
    if (auto_stage_optimum(c, S, x->stage, half, &Cs[nfit], &Ns[nfit]) == 0) {
        nfit++;
        c->auto_complete = 1;
    }
    c->auto_n = nfit;
    memcpy(c->auto_C, Cs, sizeof Cs);
    memcpy(c->auto_N, Ns, sizeof Ns);
    return 0;
}

/* params = optimal: one run per budget at the compute-optimal size the auto
 * section's finished budgets predict (a held-out extrapolation check). */
static int expand_optimal(section *x) {
    ctx *c = x->c;
    sweep_plan *p = c->plan;
    const char *S = x->sec->name;
    int ab = x->ax_pos[K_BUDGET], ib = x->idx[ab], rc;
    if (c->nauto != 1)
        return util_err(c->err, c->errlen, UTIL_EINVAL,
                        "%s: [%s] params = optimal: needs one section with params = auto, the "
                        "file has %d",
                        c->f.e[x->i_pa].origin, S, c->nauto);
    if (!c->auto_complete) {
        p->npending += x->len[ab];
        p->pending_flops += pending_flops(x, c->val[ib].v, x->len[ab], 1);
        pending_note(p, "[%s]: params = optimal waits on every budget of [%s].", S,
                     c->auto_label);
        return 0;
    }
    sweep_auto_space sp;
    if ((rc = auto_space(x, &sp))) return rc;
    for (int j = 0; j < x->len[ab]; j++) {
        x->pos[ab] = j;
        double C = c->val[ib].v[j];
        double N = sweep_auto_extrapolate(c->auto_C, c->auto_N, c->auto_n, C, c->auto_prior_a,
                                          NULL);
        if (!isfinite(N) || sweep_auto_shape(&sp, N, &x->auto_shape[0]))
            return util_err(c->err, c->errlen, UTIL_EINVAL,
                            "%s: [%s] params = optimal: no shape of at least %d layers within a "
                            "factor of 2 of the predicted optimum, %.3g parameters at %.3g FLOPs",
                            c->f.e[ib].origin, S, SWEEP_AUTO_MIN_LAYERS, N, C);
        model_counts cc;
        model_count_params(&x->auto_shape[0], &cc);
        double n0 = (double)(x->count_total ? cc.total : cc.nonembedding);
        double fpt = model_flops_per_token(&x->auto_shape[0], sp.flops);
        double tok = (double)sweep_tokens_for_budget(C, fpt, sp.tokens_per_step);
        double tpp = tok / n0, ep = tok / (double)sp.epoch_tokens;
        if ((tpp < SWEEP_AUTO_MIN_TPP || ep > SWEEP_AUTO_MAX_EPOCHS) &&
            (rc = warn(c,
                       "%s: [%s] params = optimal at %.3g FLOPs: the predicted optimum, %dx%d "
                       "(%.3g parameters for %.3g), trains %.3g tokens per parameter over %.2f "
                       "epochs, outside what the fitted runs met (>= %g, <= %g)",
                       x->sec->origin, S, C, x->auto_shape[0].n_layer, x->auto_shape[0].d_model,
                       n0, N, tpp, ep, SWEEP_AUTO_MIN_TPP, SWEEP_AUTO_MAX_EPOCHS)))
            return rc;
        x->auto_target[0] = N;
        if ((rc = add_product(x, 0, ab))) return rc;
    }
    return 0;
}

/* Every run of one section: its model family times the product of its
 * (and [sweep]'s) value lists. */
static int expand_section(ctx *c, const secref *sec, int optimal_pass) {
    section x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.sec = sec;
    x.stage = -1;
    int rc;
    if ((rc = section_family(&x))) return rc;
    if ((x.fam == F_OPTIMAL) != optimal_pass) return 0; /* optimal sections go last */
    if ((rc = section_mode_rules(&x)) || (rc = section_axes(&x))) return rc;
    if (x.fam == F_AUTO) return expand_auto(&x);
    if (x.fam == F_OPTIMAL) return expand_optimal(&x);
    for (int fi = 0; fi < x.nfam; fi++)
        if ((rc = add_product(&x, fi, -1))) return rc;
    return 0;
}

static int plan_json(sweep_plan *p, const sweep_file *f, const char *const *ov, int nov) {
    cJSON *o = cJSON_CreateObject(), *runs = NULL, *ovs = NULL;
    if (!o) return UTIL_ENOMEM;
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "mode", sweep_mode_name(p->mode));
    cJSON_AddStringToObject(o, "flops", model_flops_name(p->flops_count));
    cJSON_AddStringToObject(o, "data", p->data_dir);
    cJSON_AddStringToObject(o, "file", p->path);
    ovs = cJSON_AddArrayToObject(o, "overrides");
    for (int i = 0; ovs && i < nov; i++)
        cJSON_AddItemToArray(ovs, cJSON_CreateString(ov[i]));
    if (p->npending) { /* params = auto: what this plan could not place yet */
        cJSON_AddNumberToObject(o, "pending_budgets", p->npending);
        cJSON_AddStringToObject(o, "pending", p->pending);
    }
    runs = cJSON_AddArrayToObject(o, "runs");
    for (int i = 0; runs && i < p->nruns; i++) {
        cJSON *r = cJSON_Parse(p->runs[i].config_json);
        if (r) cJSON_AddItemToArray(runs, r);
    }
    (void)f;
    p->plan_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return p->plan_json ? 0 : UTIL_ENOMEM;
}

void sweep_plan_free(sweep_plan *plan) {
    if (!plan) return;
    for (int i = 0; i < plan->nruns; i++)
        free(plan->runs[i].config_json);
    free(plan->runs);
    for (int i = 0; i < plan->nwarnings; i++)
        free(plan->warnings[i]);
    free(plan->warnings);
    free(plan->file_text);
    free(plan->plan_json);
    free(plan->retries);
    memset(plan, 0, sizeof *plan);
}

static const char *base_name(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
    return out;
}

int sweep_parse(const char *path, const char *const *overrides, int noverrides, const char *db_path,
                sweep_plan *plan, char *err, size_t errlen) {
    memset(plan, 0, sizeof *plan);
    ctx c;
    memset(&c, 0, sizeof c);
    c.plan = plan;
    c.err = err;
    c.errlen = errlen;
    c.db_path = db_path;
    int rc = sweep_file_read(path, overrides, noverrides, &c.f, err, errlen);
    if (rc) return rc;
    snprintf(plan->path, sizeof plan->path, "%s", path);

    /* every key known, in a section that may hold it, with a valid value */
    c.val = calloc(c.f.n ? c.f.n : 1, sizeof *c.val);
    if (!c.val) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    /* every entry is checked and every bad one reported, one per line, up
     * to MAX_REPORTED: a file with three typos takes one edit, not three runs */
    {
        enum { MAX_REPORTED = 8 };
        const char *names[K_COUNT];
        for (int k = 0; k < K_COUNT; k++)
            names[k] = sweep_keys[k].name;
        char line[UTIL_ERRLEN];
        size_t len = 0;
        int nbad = 0;
        for (int i = 0; i < c.f.n; i++) {
            const sweep_entry *e = &c.f.e[i];
            const sweep_keydef *k = sweep_key_find(e->key);
            int r = 0;
            if (!k) {
                const char *near = util_nearest(e->key, names, K_COUNT);
                char hint[160] = "";
                if (near) snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
                r = util_err(line, sizeof line, UTIL_EINVAL,
                             "%s: unknown key '%s'%s (see docs/sweep.md)", e->origin, e->key, hint);
            } else if (k->sweep_only && strcmp(e->section, "sweep")) {
                r = util_err(line, sizeof line, UTIL_EINVAL, "%s: %s belongs in [sweep], not [%s]",
                             e->origin, e->key, e->section);
            } else {
                r = sweep_value_parse(e, k, db_path, &c.val[i], line, sizeof line);
            }
            if (!r) continue;
            if (!rc || rc == UTIL_EINVAL) rc = r;
            if (nbad++ < MAX_REPORTED && len < errlen)
                len += (size_t)snprintf(err + len, errlen - len, "%s%s", len ? "\n" : "", line);
            if (r == UTIL_ENOMEM) break;
        }
        if (nbad > MAX_REPORTED && len < errlen)
            snprintf(err + len, errlen - len, "\n(and %d more)", nbad - MAX_REPORTED);
        if (rc) goto fail;
    }

    /* [sweep] settings */
    int i_name = lookup(&c, "sweep", K_NAME, NULL), i_mode = lookup(&c, "sweep", K_MODE, NULL);
    int i_data = lookup(&c, "sweep", K_DATA, NULL), i_fl = lookup(&c, "sweep", K_FLOPS, NULL);
    int i_desc = lookup(&c, "sweep", K_DESCRIPTION, NULL);
    if (i_desc >= 0) snprintf(plan->description, sizeof plan->description, "%s", c.val[i_desc].s);
    if (i_name >= 0)
        snprintf(plan->name, sizeof plan->name, "%s", c.val[i_name].s);
    else
        base_name(path, plan->name, sizeof plan->name);
    for (const char *q = plan->name; *q; q++)
        if (!(*q == '-' || *q == '_' || *q == '.' || (*q >= '0' && *q <= '9') ||
              ((*q | 32) >= 'a' && (*q | 32) <= 'z'))) {
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "%s: name = %s: expected letters, digits, '-', '_' or '.'",
                          i_name >= 0 ? c.f.e[i_name].origin : path, plan->name);
            goto fail;
        }
    if (i_mode < 0) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s:%d: [sweep] has no mode (grid, isoflop, kaplan or lr)", path,
                      c.f.sec[0].line);
        goto fail;
    }
    int m;
    for (m = 0; m < 4; m++)
        if (!strcmp(c.val[i_mode].s, sweep_mode_name((sweep_mode)m))) break;
    if (m == 4) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s: mode = %s: expected grid, isoflop, kaplan or lr", c.f.e[i_mode].origin,
                      c.val[i_mode].s);
        goto fail;
    }
    plan->mode = (sweep_mode)m;
    plan->flops_count = MODEL_FLOPS_CHINCHILLA;
    if (i_fl >= 0 && model_flops_parse(c.val[i_fl].s, &plan->flops_count)) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s: flops = %s: expected chinchilla, kaplan, 6nd or actual",
                      c.f.e[i_fl].origin, c.val[i_fl].s);
        goto fail;
    }
    if (i_data < 0) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s: [sweep] has no data (a directory made by 'scaling data prepare')", path);
        goto fail;
    }
    snprintf(plan->data_dir, sizeof plan->data_dir, "%s", c.val[i_data].s);
    {
        char why[UTIL_ERRLEN];
        if (data_info_read(plan->data_dir, &plan->data, 0, why, sizeof why)) {
            rc = util_err(err, errlen, UTIL_EINVAL, "%s: data = %s: %s", c.f.e[i_data].origin,
                          plan->data_dir, why);
            goto fail;
        }
    }

    /* generating sections: all but [sweep]; [sweep] itself if it is alone;
     * sections at the optimal size (params = optimal) after the others */
    int ngen = 0;
    for (int pass = 0; pass < 2; pass++)
    for (int s = 0; s < c.f.nsec; s++) {
        int is_sweep = !strcmp(c.f.sec[s].name, "sweep");
        if (is_sweep && c.f.nsec > 1) continue;
        secref ref = {c.f.sec[s].name, c.f.sec[s].line, ""};
        snprintf(ref.origin, sizeof ref.origin, "%s:%d", path, ref.line);
        if (is_sweep) ref.name = plan->name;
        if (is_sweep) {
            /* lookups use the section name "sweep" */
            secref r2 = ref;
            r2.name = "sweep";
            int before = plan->nruns;
            if ((rc = expand_section(&c, &r2, pass))) goto fail;
            for (int i = before; i < plan->nruns; i++)
                snprintf(plan->runs[i].label, sizeof plan->runs[i].label, "%s", plan->name);
        } else if ((rc = expand_section(&c, &ref, pass))) {
            goto fail;
        }
        ngen++;
    }
    (void)ngen;
    if (plan->nruns == 0) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: the sweep plans no runs%s%s", path,
                      plan->pending[0] ? ": " : "", plan->pending);
        goto fail;
    }
    if ((rc = sweep_wsd_families(plan, err, errlen))) goto fail;

    /* the stored text: the file, then the overrides as comments */
    {
        size_t n = strlen(c.f.text) + 64;
        for (int i = 0; i < noverrides; i++)
            n += strlen(overrides[i]) + 16;
        plan->file_text = malloc(n);
        if (!plan->file_text) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
        size_t off = (size_t)snprintf(plan->file_text, n, "%s", c.f.text);
        for (int i = 0; i < noverrides; i++)
            off += (size_t)snprintf(plan->file_text + off, n - off, "%s; override: %s\n",
                                    i == 0 && off && plan->file_text[off - 1] != '\n' ? "\n" : "",
                                    overrides[i]);
    }
    if ((rc = plan_json(plan, &c.f, overrides, noverrides))) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < c.f.n; i++)
        sweep_value_free(&c.val[i]);
    free(c.val);
    sweep_file_free(&c.f);
    store_close(c.db);
    return 0;
fail:
    store_close(c.db);
    if (c.val)
        for (int i = 0; i < c.f.n; i++)
            sweep_value_free(&c.val[i]);
    free(c.val);
    sweep_file_free(&c.f);
    sweep_plan_free(plan);
    return rc;
}

/* ======================================================================
 * Retries of diverged runs
 * ====================================================================== */

int sweep_retry_warmup(const sweep_item *r) {
    int64_t steps = model_train_steps(&r->cfg);
    /* doubled, and at least 50 steps more: a 0- or 10-step warm-up doubled
     * is still too short for AdamW's second moments (see warmup_min) */
    int64_t w = 2 * (int64_t)r->cfg.warmup;
    if (w < (int64_t)r->cfg.warmup + 50) w = (int64_t)r->cfg.warmup + 50;
    if (w > steps - 1) w = steps - 1;
    if (w > SWEEP_MAX_WARMUP) w = SWEEP_MAX_WARMUP;
    return w > r->cfg.warmup ? (int)w : -1;
}

/* Appends {"run","warmup","as"} to plan_json's "retries". */
static int record_retry(sweep_plan *p, int i, const char *from, int warmup, const char *to) {
    cJSON *o = cJSON_Parse(p->plan_json ? p->plan_json : "{}"), *runs, *rs, *e;
    if (!o) return UTIL_ENOMEM;
    rs = cJSON_GetObjectItem(o, "retries");
    if (!rs) rs = cJSON_AddArrayToObject(o, "retries");
    e = cJSON_CreateObject();
    if (!rs || !e) goto nomem;
    cJSON_AddItemToArray(rs, e);
    if (!cJSON_AddStringToObject(e, "run", from) || !cJSON_AddNumberToObject(e, "warmup", warmup) ||
        !cJSON_AddStringToObject(e, "as", to))
        goto nomem;
    runs = cJSON_GetObjectItem(o, "runs");
    if (i >= 0 && runs && i < cJSON_GetArraySize(runs)) {
        cJSON *r = cJSON_Parse(p->runs[i].config_json);
        if (!r || !cJSON_ReplaceItemInArray(runs, i, r)) goto nomem;
    }
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!j) return UTIL_ENOMEM;
    free(p->plan_json);
    p->plan_json = j;
    return 0;
nomem:
    cJSON_Delete(o);
    return UTIL_ENOMEM;
}

static int retry_one(sweep_plan *p, int i, int warmup, int fresh, char *err, size_t errlen) {
    sweep_item *r = &p->runs[i];
    if (r->parent >= 0 || r->cfg.nkeep > 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "run %s is part of a WSD family, which shares one warm-up: set warmup "
                        "for its section instead",
                        r->id);
    sweep_item n = *r;
    n.cfg.warmup = warmup;
    model_run_id(&n.cfg, n.id);
    for (int k = 0; k < p->nruns; k++)
        if (!strcmp(p->runs[k].id, n.id))
            return util_err(err, errlen, UTIL_EINVAL,
                            "run %s with warmup %d is run %s, already in the plan", r->id, warmup,
                            n.id);
    n.config_json = run_json(p, &n);
    sweep_retry_item *m = realloc(p->retries, (p->nretries + 1) * sizeof *m);
    if (!n.config_json || !m) {
        free(n.config_json);
        if (m) p->retries = m;
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    }
    p->retries = m;
    sweep_retry_item *t = &p->retries[p->nretries++];
    memset(t, 0, sizeof *t);
    snprintf(t->from, sizeof t->from, "%s", r->id);
    snprintf(t->to, sizeof t->to, "%s", n.id);
    t->warmup_from = r->cfg.warmup;
    t->warmup_to = warmup;
    t->run = i;
    t->fresh = fresh;
    free(r->config_json);
    *r = n;
    if (record_retry(p, i, t->from, warmup, t->to))
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    return 0;
}

int sweep_retry(sweep_plan *plan, int i, int warmup, char *err, size_t errlen) {
    if (i < 0 || i >= plan->nruns || warmup < 0 || warmup > SWEEP_MAX_WARMUP)
        return util_err(err, errlen, UTIL_EINVAL, "retry of run %d with warmup %d: out of range", i,
                        warmup);
    return retry_one(plan, i, warmup, 1, err, errlen);
}

int sweep_apply_retries(sweep_plan *plan, const char *stored_plan_json, char *err, size_t errlen) {
    if (!stored_plan_json || !*stored_plan_json) return 0;
    cJSON *o = cJSON_Parse(stored_plan_json);
    const cJSON *e;
    int rc = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "retries")) {
        const cJSON *from = cJSON_GetObjectItem(e, "run"), *w = cJSON_GetObjectItem(e, "warmup"),
                    *to = cJSON_GetObjectItem(e, "as");
        if (!cJSON_IsString(from) || !cJSON_IsNumber(w) || !cJSON_IsString(to) ||
            w->valuedouble < 0 || w->valuedouble > SWEEP_MAX_WARMUP)
            continue; /* not one this code wrote */
        int i = -1;
        for (int k = 0; k < plan->nruns && i < 0; k++)
            if (!strcmp(plan->runs[k].id, from->valuestring)) i = k;
        if (i >= 0)
            rc = retry_one(plan, i, w->valueint, 0, err, errlen);
        else if (record_retry(plan, -1, from->valuestring, w->valueint, to->valuestring))
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        if (rc) break;
    }
    cJSON_Delete(o);
    return rc;
}

/* ======================================================================
 * Order and shards
 * ====================================================================== */

static int by_flops_desc(const void *a, const void *b, void *arg) {
    const sweep_plan *sp = arg;
    const sweep_item *x = &sp->runs[*(const int *)a], *y = &sp->runs[*(const int *)b];
    if (x->flops_trained != y->flops_trained) return x->flops_trained < y->flops_trained ? 1 : -1;
    return strcmp(x->id, y->id);
}

void sweep_order(const sweep_plan *plan, int shard_i, int shard_n, int *order, int *n) {
    for (int i = 0; i < plan->nruns; i++)
        order[i] = i;
    qsort_r(order, plan->nruns, sizeof *order, by_flops_desc, (void *)plan);
    if (shard_n < 1) shard_n = 1;
    /* a branch goes with its trunk (an auto chain with its first run): it
     * needs the fork checkpoint the trunk writes. A trunk's shard is its
     * position among the trunks in order; an auto run's, its position among
     * the trunks of its own budget, which later budgets planned after it do
     * not move (a shard re-run after a merge keeps every chain together). */
    int *shard = malloc((plan->nruns ? plan->nruns : 1) * sizeof *shard);
    int k = 0, q = 0;
    for (int p = 0; p < plan->nruns && shard; p++) {
        const sweep_item *r = &plan->runs[order[p]];
        if (r->parent >= 0) continue;
        if (r->stage < 0) {
            shard[order[p]] = q++ % shard_n;
            continue;
        }
        int before = 0;
        for (int o = 0; o < p; o++) {
            const sweep_item *t = &plan->runs[order[o]];
            before += t->parent < 0 && t->stage == r->stage && !strcmp(t->label, r->label);
        }
        shard[order[p]] = before % shard_n;
    }
    for (int p = 0; p < plan->nruns; p++) {
        int root = order[p];
        for (int hops = 0; plan->runs[root].parent >= 0 && hops < plan->nruns; hops++)
            root = plan->runs[root].parent;
        int s = !shard ? p % shard_n : shard[root];
        if (s == shard_i - 1 || shard_n == 1) order[k++] = order[p];
    }
    free(shard);
    *n = k;
}
