/*
 * sweep_estimate.c — how long a plan takes here: train the plan's cheapest
 * and dearest shape (by FLOPs per token) for a few steps through the model
 * library, convert to FLOP/s, and give every run
 *   seconds = tokens × flops_per_token / FLOP/s(interpolated in log F).
 * The measurement runs in this process and writes nothing.
 */
#include <math.h>
#include <string.h>

#include "sweep_priv.h"

#define MEASURE_STEPS 4 /* timed between the first and the last of these */
#define HOOK_STOP 1     /* our hook's return value to end the measurement */

typedef struct {
    double t_first, t_last;
    int64_t steps;
} probe;

static int on_step(void *ctx, const model_step_rec *r, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    probe *p = ctx;
    if (p->steps == 0) p->t_first = r->elapsed;
    p->t_last = r->elapsed;
    p->steps++;
    return p->steps >= MEASURE_STEPS ? HOOK_STOP : 0;
}

/* FLOP/s (plan's count) of run r's shape at `threads`. */
static int measure(const sweep_plan *plan, const sweep_item *r, int threads, double *rate,
                   char *err, size_t errlen) {
    model_train_config c = r->cfg;
    int64_t tps = (int64_t)c.batch * c.shape.n_ctx;
    c.tokens = tps * 1000;
    c.unique_tokens = 0;
    c.evals = 1; /* at the end of the (never reached) budget */
    c.patience = 0;
    c.log_every = 1;
    c.warmup = 0;
    c.threads = threads;
    c.checkpoint[0] = 0;
    c.resume = 0;
    c.stop = NULL;
    c.fork_parent[0] = 0; /* a probe from initialisation, keeping nothing */
    c.nkeep = 0;
    probe p = {0};
    model_hooks h = {.ctx = &p, .on_step = on_step};
    model_train_result res;
    int rc = model_train(&c, &h, &res, err, errlen);
    if (rc != HOOK_STOP && rc != 0) return rc;
    double dt = p.t_last - p.t_first;
    if (p.steps < 2 || dt <= 0)
        return util_err(err, errlen, UTIL_EINVAL, "%s: throughput probe took no measurable time",
                        plan->path);
    *rate = (double)(p.steps - 1) * (double)tps * r->flops_per_token / dt;
    return 0;
}

int sweep_estimate(sweep_plan *plan, int threads, char *err, size_t errlen) {
    if (plan->nruns == 0) return 0;
    int lo = 0, hi = 0;
    for (int i = 1; i < plan->nruns; i++) {
        if (plan->runs[i].flops_per_token < plan->runs[lo].flops_per_token) lo = i;
        if (plan->runs[i].flops_per_token > plan->runs[hi].flops_per_token) hi = i;
    }
    double rlo, rhi;
    int rc = measure(plan, &plan->runs[lo], threads, &rlo, err, errlen);
    if (rc) return rc;
    rhi = rlo;
    if (hi != lo && (rc = measure(plan, &plan->runs[hi], threads, &rhi, err, errlen))) return rc;
    double flo = log(plan->runs[lo].flops_per_token), fhi = log(plan->runs[hi].flops_per_token);
    for (int i = 0; i < plan->nruns; i++) {
        sweep_item *r = &plan->runs[i];
        double t = fhi > flo ? (log(r->flops_per_token) - flo) / (fhi - flo) : 0;
        double rate = exp(log(rlo) + t * (log(rhi) - log(rlo)));
        r->est_seconds = r->flops_trained / rate; /* a branch trains from its fork on */
    }
    return 0;
}
