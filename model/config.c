/*
 * config.c — the training configuration: its defaults, its stable run id and
 * its JSON form (runs.config_json).
 * Does not own: what the fields mean to training (train.c, schedule.c).
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "nn.h"

void model_train_defaults(model_train_config *c) {
    /* every field not named is 0: micro_batch (= batch), unique_tokens (all),
     * cycle_tokens, patience (off), threads (1), resume, stop */
    *c = (model_train_config){
        .shape = {.n_layer = 2, .d_model = 64, .n_head = 2, .d_ff = 256, .n_ctx = 256},
        .batch = 16,
        .tokens = 1000000,
        .lr = 1e-3,
        .min_lr_frac = 0.1,
        .warmup = 100,
        .schedule = SCHED_COSINE,
        .weight_decay = 0.1,
        .beta1 = 0.9,
        .beta2 = 0.95,
        .eps = 1e-8,
        .grad_clip = 1.0,
        .evals = 10,
        .eval_windows = 64,
        .log_every = 10,
        .seed = 1,
        .checkpoint_secs = 300,
        .cooldown = 0.2,
        .cooldown_shape = COOLDOWN_1_SQRT};
}

void model_run_id(const model_train_config *c, char out[17]) {
    char buf[2048];
    /* n_vocab is left out (it follows from data_dir and may still be 0);
     * d_ff 0 means the default 4 d_model. */
    const model_shape *s = &c->shape;
    int dff = s->d_ff > 0 ? s->d_ff : 4 * s->d_model;
    int n = snprintf(buf, sizeof buf,
                     "v2|L%d|D%d|H%d|F%d|T%d|data=%s|B%d|tok%lld|u%lld|lr%.17g|min%.17g|w%d|"
                     "s%d|cyc%lld|wd%.17g|b1%.17g|b2%.17g|eps%.17g|clip%.17g|ev%d|evw%d|pat%d|"
                     "seed%llu|fe%lld",
                     s->n_layer, s->d_model, s->n_head, dff, s->n_ctx, c->data_dir, c->batch,
                     (long long)c->tokens, (long long)c->unique_tokens, c->lr, c->min_lr_frac,
                     c->warmup, (int)c->schedule, (long long)c->cycle_tokens, c->weight_decay,
                     c->beta1, c->beta2, c->eps, c->grad_clip, c->evals, c->eval_windows,
                     c->patience, (unsigned long long)c->seed, (long long)c->final_eval_tokens);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    /* appended only when set, so that other runs keep their ids */
    if (c->schedule == SCHED_WSD && (size_t)n < sizeof buf)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "|cd%.17g|cs%d", c->cooldown,
                      (int)c->cooldown_shape);
    if (c->fork_parent[0] && n >= 0 && (size_t)n < sizeof buf)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "|fork=%s@%lld", c->fork_parent,
                      (long long)c->fork_tokens);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    uint64_t h = util_fnv64(UTIL_FNV_INIT, buf, (size_t)n);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ==== Configuration as JSON ================================================ */

void model_shape_to_json(const model_shape *s, struct cJSON *o) {
    static const char *const names[6] = {"n_layer", "d_model", "n_head",
                                         "d_ff",    "n_ctx",   "n_vocab"};
    const int v[6] = {s->n_layer, s->d_model, s->n_head, s->d_ff, s->n_ctx, s->n_vocab};
    for (int i = 0; i < 6; i++)
        cJSON_AddNumberToObject(o, names[i], v[i]);
}

void model_optim_to_json(const model_train_config *c, struct cJSON *o) {
    /* in this order; "schedule" is the one string */
    static const char *const names[] = {"tokens",
                                        "unique_tokens",
                                        "batch",
                                        "micro_batch",
                                        "lr",
                                        "min_lr_frac",
                                        "warmup",
                                        "schedule",
                                        "cycle_tokens",
                                        "weight_decay",
                                        "beta1",
                                        "beta2",
                                        "eps",
                                        "grad_clip",
                                        "evals",
                                        "eval_windows",
                                        "final_eval_tokens",
                                        "patience"};
    const double v[] = {(double)c->tokens,
                        (double)c->unique_tokens,
                        c->batch,
                        c->micro_batch,
                        c->lr,
                        c->min_lr_frac,
                        c->warmup,
                        0,
                        (double)c->cycle_tokens,
                        c->weight_decay,
                        c->beta1,
                        c->beta2,
                        c->eps,
                        c->grad_clip,
                        c->evals,
                        c->eval_windows,
                        (double)c->final_eval_tokens,
                        c->patience};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!strcmp(names[i], "schedule"))
            cJSON_AddStringToObject(o, names[i], model_sched_name(c->schedule));
        else
            cJSON_AddNumberToObject(o, names[i], v[i]);
    if (c->schedule == SCHED_WSD) {
        cJSON_AddNumberToObject(o, "cooldown", c->cooldown);
        cJSON_AddStringToObject(o, "cooldown_shape", model_cooldown_name(c->cooldown_shape));
    }
    if (c->fork_parent[0]) {
        cJSON_AddStringToObject(o, "fork_parent", c->fork_parent);
        cJSON_AddNumberToObject(o, "fork_tokens", (double)c->fork_tokens);
    }
}
