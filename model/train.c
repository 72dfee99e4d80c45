/*
 * train.c — the training loop: data windows from the memory-mapped token
 * files, micro-batched forward/backward, global-norm clipping, AdamW under
 * the schedule, log-spaced validation on fixed held-out windows, divergence
 * and early stopping, clean stops and bit-exact resume from checkpoints.
 * Does not own: the network (model.c, nn.c), printing or the database (the
 * caller's hooks).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../data/data.h"
#include "nn.h"

/* A loss this far above ln(vocab) (a uniform guess) after warm-up is
 * treated as divergence. */
#define DIVERGE_NATS 4.0

/* The held-out windows are spaced evenly over val.tok: a function of the
 * validation file and n_ctx only, so every run of a sweep is evaluated on the
 * same tokens whatever its seed. */
static double evaluate(nn_gpt *g, const data_tokfile *val, int nwin, double *seconds) {
    double t0 = util_now();
    int T = g->s.n_ctx;
    uint64_t span = val->ntokens - (uint64_t)T - 1; /* last valid start */
    double sum = 0;
    int done = 0;
    while (done < nwin) {
        int nb = nwin - done < g->B ? nwin - done : g->B;
        for (int b = 0; b < nb; b++) {
            int w = done + b;
            uint64_t start = nwin > 1 ? span * (uint64_t)w / (uint64_t)(nwin - 1) : 0;
            for (int t = 0; t < T; t++) {
                g->inputs[b * T + t] = (int)data_tokfile_get(val, start + t);
                g->targets[b * T + t] = (int)data_tokfile_get(val, start + t + 1);
            }
        }
        sum += nn_gpt_forward(g, nb) * nb;
        done += nb;
    }
    *seconds = util_now() - t0;
    return sum / nwin;
}

/* Every token must index the embedding: 0 or UTIL_ECORRUPT naming the file
 * and the first offending offset. One pass, before training. */
static int check_tokens(const data_tokfile *f, const char *path, int vocab, char *err,
                        size_t errlen) {
    for (uint64_t i = 0; i < f->ntokens; i++)
        if (data_tokfile_get(f, i) >= (uint32_t)vocab)
            return util_err(err, errlen, UTIL_ECORRUPT,
                            "%s: token %u at offset %llu is >= n_vocab %d", path,
                            data_tokfile_get(f, i), (unsigned long long)i, vocab);
    return 0;
}

/* Validation points: steps round(steps^(i/K)), i = 1..K, deduplicated (the
 * last is the end of the budget). Returns the count written to pts. */
static int eval_points(int64_t steps, int K, int64_t *pts) {
    int n = 0;
    for (int i = 1; i <= K; i++) {
        int64_t s = (int64_t)llround(exp(log((double)steps) * i / K));
        if (s < 1) s = 1;
        if (s > steps) s = steps;
        if (n == 0 || s > pts[n - 1]) pts[n++] = s;
    }
    if (n == 0 || pts[n - 1] != steps) pts[n++] = steps;
    return n;
}

static int check_config(const model_train_config *c, char *err, size_t errlen) {
    if (c->batch < 1)
        return util_err(err, errlen, UTIL_EINVAL, "batch: expected >= 1, got %d", c->batch);
    int mb = c->micro_batch ? c->micro_batch : c->batch;
    if (mb < 1 || c->batch % mb != 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "micro_batch: expected a divisor of batch %d, got %d", c->batch, mb);
    if (c->tokens < 1)
        return util_err(err, errlen, UTIL_EINVAL, "tokens: expected >= 1, got %lld",
                        (long long)c->tokens);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return util_err(err, errlen, UTIL_EINVAL, "lr: expected > 0, got %g", c->lr);
    if (c->warmup < 0)
        return util_err(err, errlen, UTIL_EINVAL, "warmup: expected >= 0, got %d", c->warmup);
    if (c->schedule == SCHED_FIXED_COSINE && c->cycle_tokens < 1)
        return util_err(err, errlen, UTIL_EINVAL,
                        "cycle_tokens: the fixed-cosine schedule needs a horizon > 0");
    if (c->evals < 1)
        return util_err(err, errlen, UTIL_EINVAL, "evals: expected >= 1, got %d", c->evals);
    if (c->eval_windows < 1)
        return util_err(err, errlen, UTIL_EINVAL, "eval_windows: expected >= 1, got %d",
                        c->eval_windows);
    if (c->unique_tokens < 0)
        return util_err(err, errlen, UTIL_EINVAL, "unique_tokens: expected >= 0");
    if (c->resume && !c->checkpoint[0])
        return util_err(err, errlen, UTIL_EINVAL, "resume needs a checkpoint path");
    return 0;
}

static int save_ckpt(const model_train_config *c, const nn_gpt *g, const nn_ckpt_state *st,
                     const model_hooks *hk, char *err, size_t errlen) {
    if (!c->checkpoint[0]) return 0;
    int rc = nn_ckpt_save(c->checkpoint, g, st, err, errlen);
    if (rc) return rc;
    if (hk && hk->on_checkpoint) return hk->on_checkpoint(hk->ctx, st->step, err, errlen);
    return 0;
}

int model_train(const model_train_config *cin, const model_hooks *hk, model_train_result *res,
                char *err, size_t errlen) {
    model_train_config cfg = *cin;
    model_train_config *c = &cfg;
    data_tokfile tr = {0}, va = {0};
    int tr_open = 0, va_open = 0;
    nn_gpt *g = NULL;
    int64_t *pts = NULL;
    int rc;
    memset(res, 0, sizeof *res);
    res->final_train_loss = res->final_val_loss = res->final_val_bpb = NAN;
    res->best_val_loss = NAN;

    if ((rc = check_config(c, err, errlen))) return rc;
    data_info di;
    if ((rc = data_info_read(c->data_dir, &di, 1, err, errlen))) return rc;
    if (c->shape.n_vocab == 0) c->shape.n_vocab = di.vocab;
    if (c->shape.d_ff == 0) c->shape.d_ff = 4 * c->shape.d_model;
    if (c->shape.n_vocab != di.vocab) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: data vocabulary %d differs from n_vocab %d",
                      c->data_dir, di.vocab, c->shape.n_vocab);
        goto done;
    }
    if ((rc = model_shape_check(&c->shape, err, errlen))) goto done;
    char path[2400];
    snprintf(path, sizeof path, "%s/train.tok", c->data_dir);
    if ((rc = data_tokfile_open(&tr, path, err, errlen))) goto done;
    tr_open = 1;
    if ((rc = check_tokens(&tr, path, c->shape.n_vocab, err, errlen))) goto done;
    snprintf(path, sizeof path, "%s/val.tok", c->data_dir);
    if ((rc = data_tokfile_open(&va, path, err, errlen))) goto done;
    va_open = 1;
    if ((rc = check_tokens(&va, path, c->shape.n_vocab, err, errlen))) goto done;
    int T = c->shape.n_ctx;
    if ((int)tr.vocab > c->shape.n_vocab || (int)va.vocab > c->shape.n_vocab) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: token files index vocab %u/%u > n_vocab %d",
                      c->data_dir, tr.vocab, va.vocab, c->shape.n_vocab);
        goto done;
    }
    uint64_t U = tr.ntokens;
    if (c->unique_tokens > 0 && (uint64_t)c->unique_tokens < U) U = (uint64_t)c->unique_tokens;
    if (U < (uint64_t)T + 2) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s/train.tok: %llu (usable) tokens, need more than n_ctx+1 = %d",
                      c->data_dir, (unsigned long long)U, T + 1);
        goto done;
    }
    if (va.ntokens < (uint64_t)T + 2) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s/val.tok: %llu tokens, need more than n_ctx+1 = %d", c->data_dir,
                      (unsigned long long)va.ntokens, T + 1);
        goto done;
    }

    /* More windows than the split holds would score its tokens again: cap,
     * and tell the caller through info (the stored config says what ran). */
    int asked = c->eval_windows, most = model_eval_windows_max(va.ntokens, T);
    if (c->eval_windows > most) c->eval_windows = most;

    int mb = c->micro_batch ? c->micro_batch : c->batch;
    int threads = c->threads > 0 ? c->threads : 1;
    int64_t tps = (int64_t)c->batch * T;
    int64_t steps = model_train_steps(c);
    if ((rc = nn_gpt_create(&g, &c->shape, mb, threads, err, errlen))) goto done;
    nn_gpt_init(g, c->seed);

    char run_id[17];
    model_run_id(cin, run_id); /* identity of the requested configuration */
    nn_ckpt_state st;
    memset(&st, 0, sizeof st);
    memcpy(st.run_id, run_id, 17);
    util_rng_seed(&st.data_rng, c->seed, "data");
    st.best_val = INFINITY;
    st.last_val = st.last_bpb = st.last_train = NAN;
    if (c->resume && access(c->checkpoint, F_OK) == 0) {
        if ((rc = nn_ckpt_load(c->checkpoint, g, &st, err, errlen))) goto done;
        if (strcmp(st.run_id, run_id) != 0) {
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "%s: checkpoint belongs to run %s, this configuration is run %s",
                          c->checkpoint, st.run_id, run_id);
            goto done;
        }
    }

    model_train_info info;
    memset(&info, 0, sizeof info);
    model_count_params(&c->shape, &info.counts);
    info.flops_kaplan = model_flops_kaplan(&c->shape, 0);
    info.flops_chinchilla = model_flops_chinchilla(&c->shape);
    info.steps = steps;
    info.tokens_per_step = tps;
    info.start_step = st.step;
    info.epochs = (double)(steps * tps) / (double)U;
    snprintf(info.blas_kernel, sizeof info.blas_kernel, "%s", openblas_get_corename());
    info.bytes_per_token = di.bytes_per_token;
    snprintf(info.tokenizer, sizeof info.tokenizer, "%s", di.tokenizer);
    info.eval_windows = c->eval_windows;
    info.eval_windows_asked = asked;
    info.val_tokens = va.ntokens;
    if (hk && hk->on_start && (rc = hk->on_start(hk->ctx, c, &info, err, errlen))) goto done;

    pts = calloc((size_t)c->evals + 2, sizeof *pts);
    if (!pts) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    int npts = eval_points(steps, c->evals, pts);
    double ln_v = log((double)c->shape.n_vocab);
    double t_start = util_now(), t_ckpt = t_start, eval_secs = 0;
    int64_t first_step = st.step;
    model_status status = MODEL_DONE;
    int nmicro = c->batch / mb;
    float scale = 1.0f / (float)((double)c->batch * T);

    /* a run resumed after its early stop stays stopped */
    if (c->patience > 0 && st.bad_evals >= c->patience) status = MODEL_EARLY_STOPPED;
    while (status == MODEL_DONE && st.step < steps) {
        if (c->stop && *c->stop) {
            st.elapsed += util_now() - t_start;
            t_start = util_now();
            if (c->checkpoint[0]) {
                if ((rc = save_ckpt(c, g, &st, hk, err, errlen))) goto done;
                rc = util_err(err, errlen, UTIL_EINTR, "stopped at step %lld; checkpoint %s",
                              (long long)st.step, c->checkpoint);
            } else {
                rc = util_err(err, errlen, UTIL_EINTR,
                              "stopped at step %lld (no checkpoint path: not resumable)",
                              (long long)st.step);
            }
            status = MODEL_STOPPED;
            goto finish;
        }
        int64_t step = st.step;
        double lr = model_lr_at(c, step, steps);
        nn_gpt_zero_grad(g);
        double loss = 0;
        for (int m = 0; m < nmicro; m++) {
            for (int b = 0; b < mb; b++) {
                uint64_t start = util_rng_below(&st.data_rng, U - (uint64_t)T);
                for (int t = 0; t < T; t++) {
                    g->inputs[b * T + t] = (int)data_tokfile_get(&tr, start + t);
                    g->targets[b * T + t] = (int)data_tokfile_get(&tr, start + t + 1);
                }
            }
            loss += nn_gpt_forward(g, mb) * mb;
            nn_gpt_backward(g, scale);
        }
        loss /= c->batch;
        double gnorm = nn_gpt_grad_norm(g);
        st.step++;
        st.tokens += tps;
        st.last_train = loss;
        if (!isfinite(loss) || !isfinite(gnorm) ||
            (step >= c->warmup && loss > ln_v + DIVERGE_NATS)) {
            status = MODEL_DIVERGED;
            break;
        }
        double gscale = (c->grad_clip > 0 && gnorm > c->grad_clip) ? c->grad_clip / gnorm : 1.0;
        nn_gpt_adamw(g, (float)lr, (float)c->beta1, (float)c->beta2, (float)c->eps,
                     (float)c->weight_decay, (float)gscale, st.step);

        double now = util_now();
        double el = now - t_start;
        if (hk && hk->on_step &&
            (st.step % (c->log_every > 0 ? c->log_every : 1) == 0 || st.step == steps ||
             st.step == first_step + 1)) {
            model_step_rec r = {.step = st.step,
                                .tokens = st.tokens,
                                .flops = (double)st.tokens * info.flops_chinchilla,
                                .train_loss = loss,
                                .lr = lr,
                                .grad_norm = gnorm,
                                .elapsed = st.elapsed + el};
            double done_steps = (double)(st.step - first_step);
            double train_secs = el - eval_secs;
            r.tokens_per_s = train_secs > 0 ? done_steps * tps / train_secs : 0;
            r.eta = done_steps > 0 ? train_secs / done_steps * (double)(steps - st.step) : 0;
            if ((rc = hk->on_step(hk->ctx, &r, err, errlen))) goto done;
        }
        while (st.evals_done < npts && pts[st.evals_done] <= st.step) {
            st.evals_done++;
            if (pts[st.evals_done - 1] != st.step) continue; /* passed while resuming */
            double es;
            double vl = evaluate(g, &va, c->eval_windows, &es);
            eval_secs += es;
            st.last_val = vl;
            st.last_bpb = vl / M_LN2 / di.bytes_per_token;
            if (vl < st.best_val) {
                st.best_val = vl;
                st.bad_evals = 0;
            } else {
                st.bad_evals++;
            }
            if (hk && hk->on_eval) {
                model_eval_rec r = {.step = st.step,
                                    .tokens = st.tokens,
                                    .flops = (double)st.tokens * info.flops_chinchilla,
                                    .val_loss = vl,
                                    .val_bpb = st.last_bpb};
                if ((rc = hk->on_eval(hk->ctx, &r, err, errlen))) goto done;
            }
            if (!isfinite(vl))
                status = MODEL_DIVERGED;
            else if (c->patience > 0 && st.bad_evals >= c->patience)
                status = MODEL_EARLY_STOPPED;
        }
        if (status != MODEL_DONE) break;
        if (c->checkpoint[0] && c->checkpoint_secs > 0 && now - t_ckpt >= c->checkpoint_secs &&
            st.step < steps) {
            double e0 = st.elapsed;
            st.elapsed += util_now() - t_start;
            rc = save_ckpt(c, g, &st, hk, err, errlen);
            st.elapsed = e0;
            if (rc) goto done;
            t_ckpt = util_now();
        }
    }
    st.elapsed += util_now() - t_start;
    t_start = util_now();
    if (status == MODEL_DONE || status == MODEL_EARLY_STOPPED) {
        if ((rc = save_ckpt(c, g, &st, hk, err, errlen))) goto done;
    }
    rc = 0;
finish:
    res->status = status;
    res->steps = st.step;
    res->tokens = st.tokens;
    res->flops = (double)st.tokens * info.flops_chinchilla;
    res->final_train_loss = st.last_train;
    res->final_val_loss = st.last_val;
    res->final_val_bpb = st.last_bpb;
    res->best_val_loss = isfinite(st.best_val) ? st.best_val : NAN;
    res->epochs = (double)st.tokens / (double)U;
    res->elapsed = st.elapsed;
done:
    free(pts);
    nn_gpt_free(g);
    if (tr_open) data_tokfile_close(&tr);
    if (va_open) data_tokfile_close(&va);
    return rc;
}
