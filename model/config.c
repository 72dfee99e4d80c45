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
    memset(c, 0, sizeof *c);
    c->shape = (model_shape){
        .n_layer = 2, .d_model = 64, .n_head = 2, .d_ff = 256, .n_ctx = 256, .n_vocab = 0};
    c->batch = 16;
    c->micro_batch = 0;
    c->tokens = 1000000;
    c->unique_tokens = 0;
    c->lr = 1e-3;
    c->min_lr_frac = 0.1;
    c->warmup = 100;
    c->schedule = SCHED_COSINE;
    c->cycle_tokens = 0;
    c->weight_decay = 0.1;
    c->beta1 = 0.9;
    c->beta2 = 0.95;
    c->eps = 1e-8;
    c->grad_clip = 1.0;
    c->evals = 10;
    c->eval_windows = 64;
    c->patience = 0;
    c->log_every = 10;
    c->seed = 1;
    c->threads = 0;
    c->checkpoint_secs = 300;
    c->resume = 0;
    c->stop = NULL;
}

void model_run_id(const model_train_config *c, char out[17]) {
    char buf[2048];
    /* n_vocab is left out (it follows from data_dir and may still be 0);
     * d_ff 0 means the default 4 d_model. */
    const model_shape *s = &c->shape;
    int dff = s->d_ff > 0 ? s->d_ff : 4 * s->d_model;
    int n = snprintf(buf, sizeof buf,
                     "v1|L%d|D%d|H%d|F%d|T%d|data=%s|B%d|tok%lld|u%lld|lr%.17g|min%.17g|w%d|"
                     "s%d|cyc%lld|wd%.17g|b1%.17g|b2%.17g|eps%.17g|clip%.17g|ev%d|evw%d|pat%d|"
                     "seed%llu",
                     s->n_layer, s->d_model, s->n_head, dff, s->n_ctx, c->data_dir, c->batch,
                     (long long)c->tokens, (long long)c->unique_tokens, c->lr, c->min_lr_frac,
                     c->warmup, (int)c->schedule, (long long)c->cycle_tokens, c->weight_decay,
                     c->beta1, c->beta2, c->eps, c->grad_clip, c->evals, c->eval_windows,
                     c->patience, (unsigned long long)c->seed);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    uint64_t h = util_fnv64(UTIL_FNV_INIT, buf, (size_t)n);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ==== Configuration as JSON ================================================ */

void model_shape_to_json(const model_shape *s, struct cJSON *o) {
    cJSON_AddNumberToObject(o, "n_layer", s->n_layer);
    cJSON_AddNumberToObject(o, "d_model", s->d_model);
    cJSON_AddNumberToObject(o, "n_head", s->n_head);
    cJSON_AddNumberToObject(o, "d_ff", s->d_ff);
    cJSON_AddNumberToObject(o, "n_ctx", s->n_ctx);
    cJSON_AddNumberToObject(o, "n_vocab", s->n_vocab);
}

void model_optim_to_json(const model_train_config *c, struct cJSON *o) {
    cJSON_AddNumberToObject(o, "tokens", (double)c->tokens);
    cJSON_AddNumberToObject(o, "unique_tokens", (double)c->unique_tokens);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "micro_batch", c->micro_batch);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "min_lr_frac", c->min_lr_frac);
    cJSON_AddNumberToObject(o, "warmup", c->warmup);
    cJSON_AddStringToObject(o, "schedule", model_sched_name(c->schedule));
    cJSON_AddNumberToObject(o, "cycle_tokens", (double)c->cycle_tokens);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "beta1", c->beta1);
    cJSON_AddNumberToObject(o, "beta2", c->beta2);
    cJSON_AddNumberToObject(o, "eps", c->eps);
    cJSON_AddNumberToObject(o, "grad_clip", c->grad_clip);
    cJSON_AddNumberToObject(o, "evals", c->evals);
    cJSON_AddNumberToObject(o, "eval_windows", c->eval_windows);
    cJSON_AddNumberToObject(o, "patience", c->patience);
}
