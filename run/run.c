/*
 * run.c — a run's configuration, its row in the results database, its
 * status and exit codes. The one place that turns a configuration into the
 * `runs` row and its config_json, for the sweep that registers a run and for
 * `scaling train --db` that starts it.
 */
#include "run.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ======================================================================== */
/* Configuration                                                            */
/* ======================================================================== */

void run_config_defaults(run_config *rc) {
    memset(rc, 0, sizeof *rc);
    model_train_defaults(&rc->train);
    rc->train.threads = 1;
    snprintf(rc->flops_count, sizeof rc->flops_count, "chinchilla");
    rc->compute_budget = NAN;
    rc->target_params = NAN;
}

void run_resolve(run_config *rc, const data_info *data) {
    if (rc->train.shape.n_vocab == 0 && data) rc->train.shape.n_vocab = data->vocab;
    if (!rc->id[0]) model_run_id(&rc->train, rc->id);
}

/* Tokens actually trained (whole optimizer steps) and the passes they make
 * over the training tokens available (the --unique-tokens prefix or all). */
static int64_t trained_tokens(const run_config *rc) {
    return model_train_steps(&rc->train) * (int64_t)rc->train.batch * rc->train.shape.n_ctx;
}
static double planned_epochs(const run_config *rc, const data_info *data) {
    double avail = (double)data->train_tokens;
    if (rc->train.unique_tokens > 0 && (uint64_t)rc->train.unique_tokens < data->train_tokens)
        avail = (double)rc->train.unique_tokens;
    return (double)trained_tokens(rc) /
           (double)data_epoch_tokens((uint64_t)avail, rc->train.shape.n_ctx);
}

/* ======================================================================== */
/* The row                                                                  */
/* ======================================================================== */

char *run_config_json(const run_config *rc, const data_info *data) {
    const model_train_config *g = &rc->train;
    model_counts counts;
    model_count_params(&g->shape, &counts);
    model_flops_count f;
    double fpt = model_flops_parse(rc->flops_count, &f) ? NAN : model_flops_per_token(&g->shape, f);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "id", rc->id);
    cJSON_AddStringToObject(o, "sweep", rc->sweep);
    cJSON_AddStringToObject(o, "label", rc->label);
    if (rc->mode[0]) cJSON_AddStringToObject(o, "mode", rc->mode);
    cJSON_AddStringToObject(o, "data", g->data_dir);
    model_shape_to_json(&g->shape, o);
    cJSON_AddNumberToObject(o, "params_total", (double)counts.total);
    cJSON_AddNumberToObject(o, "params_embedding", (double)counts.embedding);
    cJSON_AddNumberToObject(o, "params_nonembedding", (double)counts.nonembedding);
    if (isfinite(rc->target_params)) {
        cJSON_AddNumberToObject(o, "target_params", rc->target_params);
        cJSON_AddStringToObject(o, "target_count", rc->target_total ? "total" : "nonembedding");
    }
    model_optim_to_json(g, o);
    cJSON_AddNumberToObject(o, "log_every", g->log_every);
    cJSON_AddNumberToObject(o, "checkpoint_secs", g->checkpoint_secs);
    cJSON_AddNumberToObject(o, "seed", (double)g->seed);
    cJSON_AddStringToObject(o, "flops_count", rc->flops_count);
    cJSON_AddNumberToObject(o, "flops_per_token", fpt);
    cJSON_AddNumberToObject(o, "flops", (double)trained_tokens(rc) * fpt);
    if (g->fork_parent[0]) /* a branch trains from its fork on */
        cJSON_AddNumberToObject(o, "flops_trained",
                                (double)(trained_tokens(rc) - g->fork_tokens) * fpt);
    if (isfinite(rc->compute_budget))
        cJSON_AddNumberToObject(o, "compute_budget", rc->compute_budget);
    cJSON_AddNumberToObject(o, "epochs", planned_epochs(rc, data));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int run_row(const run_config *rc, const data_info *data, store_run *row, char *err, size_t errlen) {
    const model_train_config *g = &rc->train;
    const model_shape *s = &g->shape;
    model_counts counts;
    model_count_params(s, &counts);
    store_run_init(row);
    snprintf(row->id, sizeof row->id, "%s", rc->id);
    snprintf(row->sweep, sizeof row->sweep, "%s", rc->sweep);
    snprintf(row->label, sizeof row->label, "%s", rc->label);
    snprintf(row->data_dir, sizeof row->data_dir, "%s", g->data_dir);
    snprintf(row->tokenizer, sizeof row->tokenizer, "%s", data->tokenizer);
    row->n_vocab = s->n_vocab;
    row->n_layer = s->n_layer;
    row->d_model = s->d_model;
    row->n_head = s->n_head;
    row->d_ff = s->d_ff;
    row->n_ctx = s->n_ctx;
    row->params_total = counts.total;
    row->params_embedding = counts.embedding;
    row->params_nonembedding = counts.nonembedding;
    row->flops_per_token_kaplan = model_flops_per_token(s, MODEL_FLOPS_KAPLAN);
    row->flops_per_token_chinchilla = model_flops_per_token(s, MODEL_FLOPS_CHINCHILLA);
    row->tokens = g->tokens;
    row->unique_tokens = g->unique_tokens;
    row->batch = g->batch;
    row->lr = g->lr;
    snprintf(row->schedule, sizeof row->schedule, "%s", model_sched_name(g->schedule));
    row->warmup = g->warmup;
    row->cycle_tokens = g->cycle_tokens;
    snprintf(row->parent_run, sizeof row->parent_run, "%s", g->fork_parent);
    if (g->fork_parent[0]) row->fork_tokens = g->fork_tokens;
    row->seed = g->seed;
    row->threads = g->threads;
    row->compute_budget = rc->compute_budget;
    /* runs.flops is always the Chinchilla count (docs/results.md) */
    row->flops = (double)trained_tokens(rc) * row->flops_per_token_chinchilla;
    row->epochs = planned_epochs(rc, data);
    row->config_json = run_config_json(rc, data);
    if (!row->config_json) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    return 0;
}

int run_register(store *db, const run_config *rc, const data_info *data, char *err, size_t errlen) {
    store_run row;
    int rc_ = run_row(rc, data, &row, err, errlen);
    if (!rc_) rc_ = store_put_run(db, &row, err, errlen);
    store_run_free_fields(&row);
    return rc_;
}

int run_register_start(store *db, const run_config *rc, const data_info *data,
                       const char *blas_kernel, char *err, size_t errlen) {
    store_run row;
    int rc_ = run_row(rc, data, &row, err, errlen);
    if (rc_) return rc_;
    snprintf(row.status, sizeof row.status, "%s", store_status_name(STORE_RUNNING));
    util_utc_iso(row.started, sizeof row.started);
    util_hostname(row.host, sizeof row.host);
    snprintf(row.git_rev, sizeof row.git_rev, "%s", util_git_rev());
    snprintf(row.blas_kernel, sizeof row.blas_kernel, "%s", blas_kernel ? blas_kernel : "");
    rc_ = store_put_run(db, &row, err, errlen);
    /* an existing row keeps its status through store_put_run */
    if (!rc_) rc_ = store_set_status(db, row.id, row.status, err, errlen);
    store_run_free_fields(&row);
    return rc_;
}

int run_record_end(store *db, const char *id, int rc, const model_train_result *res, char *err,
                   size_t errlen) {
    store_run r;
    store_run_init(&r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.status, sizeof r.status, "%s", run_status_of(rc, res->status));
    if (!rc) {
        r.final_train_loss = res->final_train_loss;
        r.final_val_loss = res->final_val_loss;
        r.final_val_bpb = res->final_val_bpb;
        r.best_val_loss = res->best_val_loss;
        r.final_val_tokens = res->final_val_tokens;
        r.tokens_done = res->tokens;
        r.epochs = res->epochs;
    }
    return store_finish_run(db, &r, err, errlen);
}

/* ======================================================================== */
/* Status and exit codes                                                    */
/* ======================================================================== */

int run_status_finished(int status) {
    return status == STORE_DONE || status == STORE_DIVERGED;
}

const char *run_status_of(int rc, model_status st) {
    if (rc) return store_status_name(STORE_FAILED);
    return store_status_name(st == MODEL_DIVERGED ? STORE_DIVERGED : STORE_DONE);
}

run_exit run_exit_of(int rc, model_status st) {
    if (rc == UTIL_EINTR) return RUN_EXIT_INTERRUPTED;
    if (rc) return RUN_EXIT_FAIL;
    return st == MODEL_DIVERGED ? RUN_EXIT_DIVERGED : RUN_EXIT_OK;
}
