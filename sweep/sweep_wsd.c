/*
 * sweep_wsd.c — WSD families: one trunk per (section, shape, seed, ...) that
 * serves every token budget of the family through branched cooldowns.
 *
 * With schedule = wsd the learning rate of a run is a function of its own
 * length only inside its cooldown (model_lr_at), so runs of a section that
 * differ only in their token budget (and the warm-up derived from it) follow
 * the same trajectory up to the first cooldown step d of each: the largest
 * budget trains in full (the trunk, which keeps a checkpoint at every other
 * member's d) and each other member is a branch that starts from that
 * checkpoint and trains only its cooldown, (tokens - d) tokens instead of
 * tokens (Hägele et al. 2024, arXiv 2405.18392, §3-4). The warm-up of a family
 * is the shortest of its members' (that of its smallest budget), so every
 * branch's warm-up is its trunk's. A branch computes bit for bit what the
 * same configuration trained alone computes; its run id hashes its parent and
 * fork point besides (model_run_id), so the database says how it was made.
 */
#define _GNU_SOURCE /* qsort_r */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_priv.h"

/* The family key of a run: its id with the budget and warm-up left out. */
static void family_key(const sweep_item *r, char out[17]) {
    model_train_config k = r->cfg;
    k.tokens = 0;
    k.warmup = 0;
    model_run_id(&k, out);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A run's id changed: the plan's warnings name it by its new id. */
static void rename_in_warnings(sweep_plan *p, const char *old, const char *id) {
    for (int w = 0; w < p->nwarnings; w++)
        for (char *q = strstr(p->warnings[w], old); q; q = strstr(q + 16, old))
            memcpy(q, id, 16);
}

static int redo_json(sweep_plan *p, sweep_item *r, char *err, size_t errlen) {
    char *j = sweep_item_json(p, r);
    if (!j) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    free(r->config_json);
    r->config_json = j;
    return 0;
}

/* The chain key of an auto run: family_key with its fork left out too. */
static void chain_key(const sweep_item *r, char out[17]) {
    model_train_config k = r->cfg;
    k.tokens = 0;
    k.warmup = 0;
    k.fork_parent[0] = 0;
    k.fork_tokens = 0;
    k.fork_checkpoint[0] = 0;
    k.nkeep = 0;
    model_run_id(&k, out);
}

static int by_stage(const void *a, const void *b, void *arg) {
    const sweep_plan *p = arg;
    const sweep_item *x = &p->runs[*(const int *)a], *y = &p->runs[*(const int *)b];
    return (x->stage > y->stage) - (x->stage < y->stage);
}

/* params = auto with schedule = wsd: budgets are planned one after another,
 * so a size's runs cannot share a trunk planned in advance. Instead each
 * auto run keeps a checkpoint at its own cooldown's start d, and the same
 * size (same section, seed and settings) at the next budget it appears in
 * forks from there and trains (tokens - d) tokens: a chain of branches. It
 * takes its predecessor's warm-up, so its trajectory up to d is the
 * predecessor's and it computes what it would alone. */
int sweep_auto_chains(sweep_plan *p, char *err, size_t errlen) {
    int n = p->nruns, m = 0, rc = 0;
    int *idx = malloc((n ? n : 1) * sizeof *idx);
    char(*key)[17] = malloc((n ? n : 1) * sizeof *key);
    if (!idx || !key) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (p->runs[i].stage >= 0 && p->runs[i].cfg.schedule == SCHED_WSD) idx[m++] = i;
    qsort_r(idx, (size_t)m, sizeof *idx, by_stage, p); /* predecessors first */
    for (int a = 0; a < m; a++)
        chain_key(&p->runs[idx[a]], key[idx[a]]);
    for (int a = 0; a < m; a++) {
        sweep_item *r = &p->runs[idx[a]];
        int64_t tps = (int64_t)r->cfg.batch * r->cfg.shape.n_ctx;
        int q = -1; /* the latest earlier stage of the same chain */
        for (int b = 0; b < a; b++) {
            const sweep_item *o = &p->runs[idx[b]];
            if (o->stage < r->stage && !strcmp(o->label, r->label) &&
                !strcmp(key[idx[b]], key[idx[a]]) && (q < 0 || o->stage > p->runs[q].stage))
                q = idx[b];
        }
        char old[17];
        memcpy(old, r->id, 17);
        if (q >= 0) {
            const sweep_item *t = &p->runs[q];
            r->cfg.warmup = t->cfg.warmup;
            int64_t d = t->cfg.nkeep > 0 ? t->cfg.keep_tokens[0] : 0;
            int64_t dr = model_wsd_decay_start(&r->cfg, model_train_steps(&r->cfg)) * tps;
            if (d > 0 && d < dr) {
                snprintf(r->cfg.fork_parent, sizeof r->cfg.fork_parent, "%s", t->id);
                r->cfg.fork_tokens = d;
                r->parent = q;
                r->flops_trained = (double)(r->cfg.tokens - d) * r->flops_per_token;
            }
        }
        int64_t d = model_wsd_decay_start(&r->cfg, model_train_steps(&r->cfg));
        r->cfg.nkeep = 0;
        if (d > r->cfg.warmup && d * tps > r->cfg.fork_tokens && d * tps < r->cfg.tokens) {
            r->cfg.nkeep = 1; /* for the next budget's run of this size */
            r->cfg.keep_tokens[0] = d * tps;
        }
        model_run_id(&r->cfg, r->id);
        rename_in_warnings(p, old, r->id);
        if ((rc = redo_json(p, r, err, errlen))) goto done;
    }
done:
    free(idx);
    free(key);
    return rc;
}

int sweep_wsd_families(sweep_plan *p, char *err, size_t errlen) {
    int n = p->nruns, rc = 0;
    for (int i = 0; i < n; i++) {
        p->runs[i].parent = -1;
        p->runs[i].flops_trained = p->runs[i].flops;
    }
    if (p->mode == SWEEP_LR) return 0; /* an lr sweep compares runs, it does not reuse them */
    char(*key)[17] = malloc((n ? n : 1) * sizeof *key);
    int *fam = malloc((n ? n : 1) * sizeof *fam), *mem = malloc((n ? n : 1) * sizeof *mem);
    if (!key || !fam || !mem) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        family_key(&p->runs[i], key[i]);
        fam[i] = -1;
    }
    for (int i = 0; i < n; i++) {
        /* auto sizes chain from budget to budget instead (sweep_auto_chains) */
        if (fam[i] >= 0 || p->runs[i].cfg.schedule != SCHED_WSD || p->runs[i].stage >= 0)
            continue;
        int nm = 0, trunk = i;
        for (int j = i; j < n; j++)
            if (fam[j] < 0 && p->runs[j].stage < 0 && !strcmp(key[j], key[i]) &&
                !strcmp(p->runs[j].label, p->runs[i].label)) {
                fam[j] = i;
                mem[nm++] = j;
                if (p->runs[j].cfg.tokens > p->runs[trunk].cfg.tokens) trunk = j;
            }
        if (nm < 2) continue;
        int warmup = p->runs[i].cfg.warmup;
        for (int m = 0; m < nm; m++)
            if (p->runs[mem[m]].cfg.warmup < warmup) warmup = p->runs[mem[m]].cfg.warmup;
        sweep_item *t = &p->runs[trunk];
        char old[17];
        t->cfg.warmup = warmup;
        memcpy(old, t->id, 17);
        model_run_id(&t->cfg, t->id);
        rename_in_warnings(p, old, t->id);
        t->cfg.nkeep = 0;
        for (int m = 0; m < nm; m++) {
            sweep_item *b = &p->runs[mem[m]];
            if (b == t) continue;
            b->cfg.warmup = warmup;
            int64_t tps = (int64_t)b->cfg.batch * b->cfg.shape.n_ctx;
            int64_t d = model_wsd_decay_start(&b->cfg, model_train_steps(&b->cfg));
            if (d > 0) { /* else the whole run is cooldown: it trains alone */
                snprintf(b->cfg.fork_parent, sizeof b->cfg.fork_parent, "%s", t->id);
                b->cfg.fork_tokens = d * tps;
                b->parent = trunk;
                b->flops_trained =
                    (double)(b->cfg.tokens - b->cfg.fork_tokens) * b->flops_per_token;
                int seen = 0;
                for (int k = 0; k < t->cfg.nkeep; k++)
                    seen |= t->cfg.keep_tokens[k] == b->cfg.fork_tokens;
                if (!seen) {
                    if (t->cfg.nkeep >= MODEL_MAX_KEEP) {
                        rc = util_err(err, errlen, UTIL_EINVAL,
                                      "%s:%d: [%s] run %s: more than %d branches fork from one "
                                      "trunk",
                                      p->path, t->line, t->label, t->id, MODEL_MAX_KEEP);
                        goto done;
                    }
                    t->cfg.keep_tokens[t->cfg.nkeep++] = b->cfg.fork_tokens;
                }
            }
            memcpy(old, b->id, 17);
            model_run_id(&b->cfg, b->id);
            rename_in_warnings(p, old, b->id);
            if ((rc = redo_json(p, b, err, errlen))) goto done;
        }
        qsort(t->cfg.keep_tokens, (size_t)t->cfg.nkeep, sizeof t->cfg.keep_tokens[0], cmp_i64);
        if ((rc = redo_json(p, t, err, errlen))) goto done;
    }
    rc = sweep_auto_chains(p, err, errlen);
done:
    free(key);
    free(fam);
    free(mem);
    return rc;
}
