/*
 * schedule.c — the learning-rate schedules (warm-up, cosine, constant,
 * fixed-cosine, warmup-stable-decay), where a WSD branch forks, the step count of a budget and the cap on validation windows.
 * Does not own: the training loop that applies them (train.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

const char *model_sched_name(model_sched s) {
    switch (s) {
    case SCHED_COSINE:
        return "cosine";
    case SCHED_CONSTANT:
        return "constant";
    case SCHED_FIXED_COSINE:
        return "fixed-cosine";
    case SCHED_WSD:
        return "wsd";
    }
    return "?";
}

const char *model_cooldown_name(model_cooldown s) {
    return s == COOLDOWN_LINEAR ? "linear" : s == COOLDOWN_1_SQRT ? "1-sqrt" : "?";
}

int model_cooldown_parse(const char *name, model_cooldown *out) {
    for (int i = 0; i < 2; i++)
        if (strcmp(name, model_cooldown_name((model_cooldown)i)) == 0) {
            *out = (model_cooldown)i;
            return 0;
        }
    return UTIL_EINVAL;
}

int model_sched_parse(const char *name, model_sched *out) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, model_sched_name((model_sched)i)) == 0) {
            *out = (model_sched)i;
            return 0;
        }
    return UTIL_EINVAL;
}

/* Learning rate of optimizer step `step` (0-based) of a run of `steps`:
 * linear warm-up over `warmup` steps (lr·(step+1)/warmup), then
 *   cosine:       lr_min + (lr - lr_min)·½(1 + cos(π p)), p = (step - warmup)/(steps - 1 - warmup),
 *                 so the last step of the budget uses exactly lr_min = min_lr_frac·lr;
 *   constant:     lr;
 *   fixed-cosine: the same cosine over a horizon of cycle_tokens/tokens_per_step steps
 *                 set independently of the run (Kaplan et al.'s set-up), lr_min after it;
 *   wsd:          warm-up, stable, decay (Hägele et al. 2024, "Scaling Laws and
 *                 Compute-Optimal Training Beyond Fixed Training Durations", arXiv
 *                 2405.18392): lr until the cooldown's first step d =
 *                 model_wsd_decay_start (the last n = steps - d steps, n = cooldown·steps),
 *                 then lr_min + (lr - lr_min)·f(p), p = (step - d + 1)/n in (0, 1],
 *                 f = 1 - sqrt(p) (1-sqrt, their best) or 1 - p (linear); the last
 *                 step uses lr_min, as the cosine's does. Every step before d has the
 *                 lr of any longer run with the same warm-up, which is what lets a
 *                 branch leave a longer trunk at d and equal a run trained alone. */
double model_lr_at(const model_train_config *c, int64_t step, int64_t steps) {
    double lr = c->lr, lo = c->lr * c->min_lr_frac;
    if (c->warmup > 0 && step < c->warmup) return lr * (double)(step + 1) / (double)c->warmup;
    int64_t horizon = steps;
    if (c->schedule == SCHED_CONSTANT) return lr;
    if (c->schedule == SCHED_WSD) {
        int64_t d = model_wsd_decay_start(c, steps);
        if (step < d) return lr;
        double p = (double)(step - d + 1) / (double)(steps - d);
        if (p > 1.0) p = 1.0;
        double f = c->cooldown_shape == COOLDOWN_LINEAR ? 1.0 - p : 1.0 - sqrt(p);
        return lo + (lr - lo) * f;
    }
    if (c->schedule == SCHED_FIXED_COSINE) {
        int64_t tps = (int64_t)c->batch * c->shape.n_ctx;
        horizon = tps > 0 ? (c->cycle_tokens + tps - 1) / tps : steps;
    }
    int64_t span = horizon - 1 - c->warmup;
    if (span <= 0) return step >= horizon - 1 ? lo : lr;
    double p = (double)(step - c->warmup) / (double)span;
    if (p > 1.0) p = 1.0;
    if (p < 0.0) p = 0.0;
    return lo + (lr - lo) * 0.5 * (1.0 + cos(M_PI * p));
}

int64_t model_wsd_decay_start(const model_train_config *c, int64_t steps) {
    int64_t n = (int64_t)llround(c->cooldown * (double)steps);
    if (n < 1) n = 1;
    if (n > steps) n = steps;
    return steps - n;
}

void model_fork_path(const char *ckpt, int64_t tokens, char *out, size_t n) {
    snprintf(out, n, "%s.at%lld", ckpt, (long long)tokens);
}

int model_eval_windows_max(uint64_t val_tokens, int n_ctx) {
    if (n_ctx < 1 || val_tokens < (uint64_t)n_ctx + 1) return 0;
    uint64_t m = (val_tokens - 1) / (uint64_t)n_ctx;
    return m > INT32_MAX ? INT32_MAX : (int)m;
}

int64_t model_train_steps(const model_train_config *c) {
    int64_t tps = (int64_t)c->batch * c->shape.n_ctx;
    return tps > 0 ? (c->tokens + tps - 1) / tps : 0;
}
