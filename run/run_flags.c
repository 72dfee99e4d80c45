/*
 * run_flags.c — `scaling train`'s flags as one table: names, what field of
 * run_config each sets, accepted ranges. cli/cmd_train.c parses with it and
 * the sweep pool writes its workers' command lines with it, so the two
 * cannot disagree on a flag's name or on how its value is written (%.17g
 * for reals: a written value reads back to the same bits, and so to the
 * same run id).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

typedef enum {
    K_INT,    /* int field */
    K_I64,    /* int64_t field */
    K_U64,    /* uint64_t field */
    K_DBL,    /* double field */
    K_STR,    /* char array field of `size` bytes */
    K_SCHED,  /* model_sched */
    K_COOL,   /* model_cooldown */
    K_KEEP,   /* token counts, comma-separated, appended to train.keep_tokens */
    K_FLOPS,  /* FLOP count name, a char array */
    K_TCOUNT, /* target count: int, 1 total / 0 nonembedding */
    K_SWITCH, /* int set to 1, no value */
    K_PROC,   /* not configuration: the caller handles it */
} kind;

/* When the worker's command line leaves a flag out. */
typedef enum {
    W_ALWAYS, /* always written */
    W_UNSET,  /* left out when 0, "" or NaN */
    W_SPECIAL /* decided by omit_special */
} when;

typedef struct {
    kind k;
    size_t off, size; /* field of run_config */
    double lo, hi;    /* numbers: the accepted range; K_STR: the least length */
    when w;
} flag_def;

#define F(field) offsetof(run_config, field), sizeof(((run_config *)0)->field)
#define T(field) F(train.field)
#define S(field) F(train.shape.field)

const run_flag run_flags[RUN_NFLAGS] = {
    [RUN_F_DATA] = {"data", RUN_FLAG_VALUE},
    [RUN_F_LAYERS] = {"layers", RUN_FLAG_VALUE},
    [RUN_F_DMODEL] = {"d-model", RUN_FLAG_VALUE},
    [RUN_F_HEADS] = {"heads", RUN_FLAG_VALUE},
    [RUN_F_DFF] = {"d-ff", RUN_FLAG_VALUE},
    [RUN_F_CTX] = {"ctx", RUN_FLAG_VALUE},
    [RUN_F_BATCH] = {"batch", RUN_FLAG_VALUE},
    [RUN_F_MICRO] = {"micro-batch", RUN_FLAG_VALUE},
    [RUN_F_TOKENS] = {"tokens", RUN_FLAG_VALUE},
    [RUN_F_UNIQUE] = {"unique-tokens", RUN_FLAG_VALUE},
    [RUN_F_LR] = {"lr", RUN_FLAG_VALUE},
    [RUN_F_MINLR] = {"min-lr-frac", RUN_FLAG_VALUE},
    [RUN_F_WARMUP] = {"warmup", RUN_FLAG_VALUE},
    [RUN_F_SCHED] = {"schedule", RUN_FLAG_VALUE},
    [RUN_F_CYCLE] = {"cycle-tokens", RUN_FLAG_VALUE},
    [RUN_F_COOLDOWN] = {"cooldown", RUN_FLAG_VALUE},
    [RUN_F_COOLSHAPE] = {"cooldown-shape", RUN_FLAG_VALUE},
    [RUN_F_FORK] = {"fork", RUN_FLAG_VALUE},
    [RUN_F_AT] = {"at", RUN_FLAG_VALUE},
    [RUN_F_FORKCKPT] = {"fork-checkpoint", RUN_FLAG_VALUE},
    [RUN_F_KEEPAT] = {"keep-at", RUN_FLAG_VALUE},
    [RUN_F_WD] = {"weight-decay", RUN_FLAG_VALUE},
    [RUN_F_CLIP] = {"grad-clip", RUN_FLAG_VALUE},
    [RUN_F_EVALS] = {"evals", RUN_FLAG_VALUE},
    [RUN_F_EVALW] = {"eval-windows", RUN_FLAG_VALUE},
    [RUN_F_FINALEVAL] = {"final-eval-tokens", RUN_FLAG_VALUE},
    [RUN_F_PATIENCE] = {"patience", RUN_FLAG_VALUE},
    [RUN_F_LOGEVERY] = {"log-every", RUN_FLAG_VALUE},
    [RUN_F_SEED] = {"seed", RUN_FLAG_VALUE},
    [RUN_F_CKPTSECS] = {"checkpoint-secs", RUN_FLAG_VALUE},
    [RUN_F_THREADS] = {"threads", RUN_FLAG_VALUE},
    [RUN_F_DB] = {"db", RUN_FLAG_VALUE | RUN_FLAG_PROCESS},
    [RUN_F_RUNID] = {"run-id", RUN_FLAG_VALUE},
    [RUN_F_SWEEP] = {"sweep", RUN_FLAG_VALUE},
    [RUN_F_LABEL] = {"label", RUN_FLAG_VALUE},
    [RUN_F_MODE] = {"mode", RUN_FLAG_VALUE},
    [RUN_F_FLOPSCOUNT] = {"flops-count", RUN_FLAG_VALUE},
    [RUN_F_BUDGET] = {"compute-budget", RUN_FLAG_VALUE},
    [RUN_F_TARGET] = {"target-params", RUN_FLAG_VALUE},
    [RUN_F_TARGETCOUNT] = {"target-count", RUN_FLAG_VALUE},
    [RUN_F_CKPT] = {"checkpoint", RUN_FLAG_VALUE},
    [RUN_F_RESUME] = {"resume", 0},
    [RUN_F_QUIET] = {"quiet", RUN_FLAG_PROCESS},
};

static const flag_def defs[RUN_NFLAGS] = {
    [RUN_F_DATA] = {K_STR, T(data_dir), 1, 0, W_ALWAYS},
    [RUN_F_LAYERS] = {K_INT, S(n_layer), 1, 1024, W_ALWAYS},
    [RUN_F_DMODEL] = {K_INT, S(d_model), 1, 65536, W_ALWAYS},
    [RUN_F_HEADS] = {K_INT, S(n_head), 1, 65536, W_ALWAYS},
    [RUN_F_DFF] = {K_INT, S(d_ff), 1, 1 << 20, W_ALWAYS},
    [RUN_F_CTX] = {K_INT, S(n_ctx), 1, 65536, W_ALWAYS},
    [RUN_F_BATCH] = {K_INT, T(batch), 1, 1 << 20, W_ALWAYS},
    [RUN_F_MICRO] = {K_INT, T(micro_batch), 1, 1 << 20, W_UNSET},
    [RUN_F_TOKENS] = {K_I64, T(tokens), 1, 4e18, W_ALWAYS},
    [RUN_F_UNIQUE] = {K_I64, T(unique_tokens), 1, 4e18, W_UNSET},
    [RUN_F_LR] = {K_DBL, T(lr), 1e-12, 1e6, W_ALWAYS},
    [RUN_F_MINLR] = {K_DBL, T(min_lr_frac), 0, 1, W_ALWAYS},
    [RUN_F_WARMUP] = {K_INT, T(warmup), 0, 1 << 30, W_ALWAYS},
    [RUN_F_SCHED] = {K_SCHED, T(schedule), 0, 0, W_ALWAYS},
    [RUN_F_CYCLE] = {K_I64, T(cycle_tokens), 1, 4e18, W_SPECIAL},
    [RUN_F_COOLDOWN] = {K_DBL, T(cooldown), 1e-9, 1, W_SPECIAL},
    [RUN_F_COOLSHAPE] = {K_COOL, T(cooldown_shape), 0, 0, W_SPECIAL},
    [RUN_F_FORK] = {K_STR, T(fork_parent), 1, 0, W_UNSET},
    [RUN_F_AT] = {K_I64, T(fork_tokens), 1, 4e18, W_UNSET},
    [RUN_F_FORKCKPT] = {K_STR, T(fork_checkpoint), 1, 0, W_UNSET},
    [RUN_F_KEEPAT] = {K_KEEP, T(nkeep), 1, 4e18, W_UNSET},
    [RUN_F_WD] = {K_DBL, T(weight_decay), 0, 10, W_ALWAYS},
    [RUN_F_CLIP] = {K_DBL, T(grad_clip), 0, 1e9, W_ALWAYS},
    [RUN_F_EVALS] = {K_INT, T(evals), 1, 10000, W_ALWAYS},
    [RUN_F_EVALW] = {K_INT, T(eval_windows), 1, 1 << 20, W_ALWAYS},
    [RUN_F_FINALEVAL] = {K_I64, T(final_eval_tokens), 0, 4e18, W_ALWAYS},
    [RUN_F_PATIENCE] = {K_INT, T(patience), 0, 10000, W_ALWAYS},
    [RUN_F_LOGEVERY] = {K_INT, T(log_every), 1, 1 << 30, W_ALWAYS},
    [RUN_F_SEED] = {K_U64, T(seed), 0, 4e18, W_ALWAYS},
    [RUN_F_CKPTSECS] = {K_DBL, T(checkpoint_secs), 0, 1e9, W_ALWAYS},
    [RUN_F_THREADS] = {K_INT, T(threads), 1, 256, W_ALWAYS},
    [RUN_F_DB] = {K_PROC, 0, 0, 0, 0, W_ALWAYS},
    [RUN_F_RUNID] = {K_STR, F(id), 1, 0, W_UNSET},
    [RUN_F_SWEEP] = {K_STR, F(sweep), 0, 0, W_UNSET},
    [RUN_F_LABEL] = {K_STR, F(label), 0, 0, W_UNSET},
    [RUN_F_MODE] = {K_STR, F(mode), 0, 0, W_UNSET},
    [RUN_F_FLOPSCOUNT] = {K_FLOPS, F(flops_count), 0, 0, W_ALWAYS},
    [RUN_F_BUDGET] = {K_DBL, F(compute_budget), 1e-300, 1e300, W_UNSET},
    [RUN_F_TARGET] = {K_DBL, F(target_params), 1e-300, 1e300, W_UNSET},
    [RUN_F_TARGETCOUNT] = {K_TCOUNT, F(target_total), 0, 0, W_SPECIAL},
    [RUN_F_CKPT] = {K_STR, T(checkpoint), 0, 0, W_UNSET},
    [RUN_F_RESUME] = {K_SWITCH, T(resume), 0, 0, W_UNSET},
    [RUN_F_QUIET] = {K_PROC, 0, 0, 0, 0, W_ALWAYS},
};

/* ======================================================================== */
/* Parsing                                                                  */
/* ======================================================================== */

/* A number, accepting 1e6 for integers; 0 or -1. */
static int number(const char *val, double *out) {
    char *end;
    errno = 0;
    double v = val ? strtod(val, &end) : NAN;
    if (!val || end == val || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int run_flag_set(run_config *rc, run_flag_id f, const char *val, char *err, size_t errlen) {
    if (f < 0 || f >= RUN_NFLAGS || defs[f].k == K_PROC)
        return util_err(err, errlen, UTIL_EINVAL, "flag %d is not a run's configuration", f);
    const flag_def *d = &defs[f];
    const char *name = run_flags[f].name;
    void *p = (char *)rc + d->off;
    double v;
    switch (d->k) {
    case K_INT:
    case K_I64:
    case K_U64:
        if (number(val, &v) || v != floor(v) || v < d->lo || v > d->hi)
            return util_err(err, errlen, UTIL_EINVAL,
                            "--%s: expected an integer in [%lld, %lld], got '%s'", name,
                            (long long)d->lo, (long long)d->hi, val ? val : "");
        if (d->k == K_INT)
            *(int *)p = (int)v;
        else if (d->k == K_I64)
            *(int64_t *)p = (int64_t)v;
        else
            *(uint64_t *)p = (uint64_t)v;
        return 0;
    case K_DBL:
        if (number(val, &v) || v < d->lo || v > d->hi)
            return util_err(err, errlen, UTIL_EINVAL,
                            "--%s: expected a number in [%g, %g], got '%s'", name, d->lo, d->hi,
                            val ? val : "");
        *(double *)p = v;
        return 0;
    case K_STR:
        if (!val || strlen(val) < (size_t)d->lo || strlen(val) >= d->size)
            return util_err(err, errlen, UTIL_EINVAL,
                            "--%s: expected %d to %zu characters, got '%s'", name, (int)d->lo,
                            d->size - 1, val ? val : "");
        snprintf((char *)p, d->size, "%s", val);
        return 0;
    case K_SCHED:
        if (!val || model_sched_parse(val, (model_sched *)p))
            return util_err(err, errlen, UTIL_EINVAL,
                            "--%s: expected cosine, constant, fixed-cosine or wsd, got '%s'", name,
                            val ? val : "");
        return 0;
    case K_COOL:
        if (!val || model_cooldown_parse(val, (model_cooldown *)p))
            return util_err(err, errlen, UTIL_EINVAL, "--%s: expected 1-sqrt or linear, got '%s'",
                            name, val ? val : "");
        return 0;
    case K_KEEP: { /* "N[,N...]"; the flag may repeat */
        model_train_config *g = &rc->train;
        const char *q = val ? val : "";
        do {
            char *end;
            errno = 0;
            double t = strtod(q, &end);
            if (end == q || (*end && *end != ',') || errno || t != floor(t) || t < d->lo ||
                t > d->hi)
                return util_err(err, errlen, UTIL_EINVAL,
                                "--%s: expected token counts N[,N...], got '%s'", name,
                                val ? val : "");
            if (g->nkeep >= MODEL_MAX_KEEP)
                return util_err(err, errlen, UTIL_EINVAL, "--%s: at most %d token counts", name,
                                MODEL_MAX_KEEP);
            g->keep_tokens[g->nkeep++] = (int64_t)t;
            q = *end ? end + 1 : end;
        } while (*q);
        return 0;
    }
    case K_FLOPS:
        if (!model_flops_parse(val, &(model_flops_count){0})) {
            snprintf((char *)p, d->size, "%s", val);
            return 0;
        }
        return util_err(err, errlen, UTIL_EINVAL,
                        "--%s: expected chinchilla, kaplan, 6nd or actual, got '%s'", name,
                        val ? val : "");
    case K_TCOUNT:
        if (val && (!strcmp(val, "total") || !strcmp(val, "nonembedding"))) {
            *(int *)p = !strcmp(val, "total");
            return 0;
        }
        return util_err(err, errlen, UTIL_EINVAL, "--%s: expected total or nonembedding, got '%s'",
                        name, val ? val : "");
    case K_SWITCH:
        *(int *)p = 1;
        return 0;
    case K_PROC:
        break;
    }
    return util_err(err, errlen, UTIL_EINVAL, "--%s: not a run's configuration", name);
}

/* ======================================================================== */
/* Writing the worker's command line                                        */
/* ======================================================================== */

static int addf(char **argv, int *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int addf(char **argv, int *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&argv[*n], fmt, ap);
    va_end(ap);
    if (rc < 0) {
        argv[*n] = NULL;
        return -1;
    }
    (*n)++;
    return 0;
}

/* Whether flag f's value in rc is "unset" (0, "", NaN). */
static int unset(const run_config *rc, run_flag_id f) {
    const void *p = (const char *)rc + defs[f].off;
    switch (defs[f].k) {
    case K_INT:
    case K_TCOUNT:
    case K_SWITCH:
    case K_KEEP: /* nkeep */
        return *(const int *)p == 0;
    case K_I64:
        return *(const int64_t *)p == 0;
    case K_U64:
        return *(const uint64_t *)p == 0;
    case K_DBL:
        return isnan(*(const double *)p);
    case K_STR:
    case K_FLOPS:
        return !*(const char *)p;
    default:
        return 0;
    }
}

static int omitted(const run_config *rc, run_flag_id f) {
    switch (defs[f].w) {
    case W_ALWAYS:
        return 0;
    case W_UNSET:
        return unset(rc, f);
    case W_SPECIAL:
        if (f == RUN_F_CYCLE) return rc->train.schedule != SCHED_FIXED_COSINE;
        if (f == RUN_F_COOLDOWN || f == RUN_F_COOLSHAPE) return rc->train.schedule != SCHED_WSD;
        if (f == RUN_F_TARGETCOUNT) return !isfinite(rc->target_params);
        return 0;
    }
    return 0;
}

/* Appends "--NAME" and, for a flag with a value, the value as written. */
static int add_flag(char **a, int *n, const run_config *rc, run_flag_id f) {
    const void *p = (const char *)rc + defs[f].off;
    if (addf(a, n, "--%s", run_flags[f].name)) return -1;
    switch (defs[f].k) {
    case K_INT:
        return addf(a, n, "%d", *(const int *)p);
    case K_I64:
        return addf(a, n, "%lld", (long long)*(const int64_t *)p);
    case K_U64:
        return addf(a, n, "%llu", (unsigned long long)*(const uint64_t *)p);
    case K_DBL:
        return addf(a, n, "%.17g", *(const double *)p);
    case K_STR:
    case K_FLOPS:
        return addf(a, n, "%s", (const char *)p);
    case K_SCHED:
        return addf(a, n, "%s", model_sched_name(*(const model_sched *)p));
    case K_COOL:
        return addf(a, n, "%s", model_cooldown_name(*(const model_cooldown *)p));
    case K_KEEP: { /* one comma list */
        const model_train_config *g = &rc->train;
        char buf[MODEL_MAX_KEEP * 21 + 1];
        size_t len = 0;
        buf[0] = 0;
        for (int k = 0; k < g->nkeep && len < sizeof buf; k++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", k ? "," : "",
                                    (long long)g->keep_tokens[k]);
        return addf(a, n, "%s", buf);
    }
    case K_TCOUNT:
        return addf(a, n, "%s", *(const int *)p ? "total" : "nonembedding");
    case K_SWITCH:
    case K_PROC:
        return 0;
    }
    return 0;
}

void run_argv_free(char **argv) {
    if (!argv) return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

char **run_worker_argv(const run_config *rc, const char *exe, const char *db_path) {
    char **a = calloc(2 * RUN_NFLAGS + 4, sizeof *a);
    int n = 0, bad = 0;
    if (!a) return NULL;
    bad |= addf(a, &n, "%s", exe);
    bad |= addf(a, &n, "%s", RUN_TRAIN_COMMAND);
    for (int f = 0; f < RUN_NFLAGS; f++) {
        if (f == RUN_F_DB && db_path) {
            bad |= addf(a, &n, "--%s", run_flags[f].name);
            bad |= addf(a, &n, "%s", db_path);
        } else if (f == RUN_F_QUIET) {
            bad |= addf(a, &n, "--%s", run_flags[f].name);
        } else if (defs[f].k != K_PROC && !omitted(rc, (run_flag_id)f)) {
            bad |= add_flag(a, &n, rc, (run_flag_id)f);
        }
    }
    a[n] = NULL;
    if (bad) {
        run_argv_free(a);
        return NULL;
    }
    return a;
}
