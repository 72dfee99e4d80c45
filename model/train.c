/*
 * train.c — the training loop: shuffled data windows (data/batch.c) from the token
 * files, micro-batched forward/backward, global-norm clipping, AdamW under
 * the schedule, log-spaced validation on fixed held-out windows and a final
 * validation on the whole split, divergence
 * and early stopping, clean stops and bit-exact resume from checkpoints.
 * Does not own: the network (gpt.c, nn.c), printing or the database (the
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

/* Intermediate validations use `nwin` held-out windows spaced evenly over
 * val.tok: a function of the validation file and n_ctx only, so every run of
 * a sweep is evaluated on the same tokens whatever its seed. */
static double evaluate(nn_gpt *g, const data_tokfile *val, int nwin, uint64_t *starts,
                       double *seconds) {
    double t0 = util_now();
    int T = g->s.n_ctx;
    uint64_t span = val->ntokens - (uint64_t)T - 1; /* last valid start */
    double sum = 0;
    int done = 0;
    while (done < nwin) {
        int nb = nwin - done < g->B ? nwin - done : g->B;
        for (int b = 0; b < nb; b++) {
            int w = done + b;
            starts[b] = nwin > 1 ? span * (uint64_t)w / (uint64_t)(nwin - 1) : 0;
        }
        data_fill_batch(g->inputs, g->targets, val, starts, nb, T);
        sum += nn_gpt_forward(g, nb) * nb;
        done += nb;
    }
    *seconds = util_now() - t0;
    return sum / nwin;
}

/* Validation windows of the final evaluation: consecutive, window w covering
 * tokens [wT, wT + T] (T + 1 tokens: inputs and shifted targets), as many as
 * fit in the split or in `cap` tokens when cap > 0 (at least one). */
static int64_t final_windows(const data_tokfile *val, int T, int64_t cap) {
    int64_t n = (int64_t)((val->ntokens - 1) / (uint64_t)T);
    if (cap > 0 && cap / T < n) n = cap / T > 0 ? cap / T : 1;
    return n;
}

/* The final evaluation: the mean loss over all `nwin` final windows, each
 * window's own mean loss in wloss[w] (nats/token). Windows are batched B at a
 * time; the loss of a window is the mean of its T token losses. */
static double evaluate_full(nn_gpt *g, const data_tokfile *val, int64_t nwin, uint64_t *starts,
                            float *wloss, double *seconds) {
    double t0 = util_now();
    int T = g->s.n_ctx;
    double sum = 0;
    int64_t done = 0;
    while (done < nwin) {
        int nb = nwin - done < g->B ? (int)(nwin - done) : g->B;
        for (int b = 0; b < nb; b++)
            starts[b] = (uint64_t)(done + b) * (uint64_t)T;
        data_fill_batch(g->inputs, g->targets, val, starts, nb, T);
        nn_gpt_forward(g, nb);
        for (int b = 0; b < nb; b++) {
            double w = 0;
            for (int t = 0; t < T; t++)
                w += g->losses[b * T + t];
            wloss[done + b] = (float)(w / T);
            sum += w;
        }
        done += nb;
    }
    *seconds = util_now() - t0;
    return sum / ((double)nwin * T);
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

/* Validation points: steps round(steps^(i/K)), i = 1..K (log-spaced from the
 * start), and over the last 80% of the budget a dense tail: from the end down
 * by factors of at most 1.5 (s -> ceil(s / 1.5)) until 20% of the steps, so
 * that neighbouring evals there are at most 1.5x apart in compute, as
 * Approach 1's envelope needs (docs/fit.md); that adds about 5 evals
 * (evals = 4: 9 in all) and derives from `steps` alone, so run ids (which
 * hash `evals`) stay. Sorted, deduplicated, the last the end of the budget.
 * pts has room for K + EVAL_DENSE_MAX + 1. Returns the count written. */
#define EVAL_DENSE_MAX 64 /* the tail has ln 5 / ln 1.5 + 2 = 6 points, more only for tiny steps */
static int eval_points(int64_t steps, int K, int64_t *pts) {
    int n = 0;
    for (int i = 1; i <= K; i++) {
        int64_t s = (int64_t)llround(exp(log((double)steps) * i / K));
        if (s < 1) s = 1;
        if (s > steps) s = steps;
        if (n == 0 || s > pts[n - 1]) pts[n++] = s;
    }
    /* the dense tail, descending, then merged */
    int64_t tail[2 * EVAL_DENSE_MAX];
    int nt = 0;
    for (int64_t s = steps; s >= 1 && nt < 2 * EVAL_DENSE_MAX;) {
        tail[nt++] = s;
        if (s <= 1 || 5 * s <= steps) break;
        int64_t next = (s * 2 + 2) / 3; /* ceil(s / 1.5) */
        s = next < s ? next : s - 1;
    }
    int64_t *m = pts + n; /* merge into the free room after the log points */
    int nm = 0, a = 0, b = nt - 1;
    while (a < n || b >= 0) {
        int64_t v = b < 0 || (a < n && pts[a] < tail[b]) ? pts[a++] : tail[b--];
        if (nm == 0 || v > m[nm - 1]) m[nm++] = v;
    }
    memmove(pts, m, (size_t)nm * sizeof *pts);
    return nm;
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
    if (c->final_eval_tokens < 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "final_eval_tokens: expected >= 0 (0: the whole split), got %lld",
                        (long long)c->final_eval_tokens);
    if (c->unique_tokens < 0)
        return util_err(err, errlen, UTIL_EINVAL, "unique_tokens: expected >= 0");
    if (c->resume && !c->checkpoint[0])
        return util_err(err, errlen, UTIL_EINVAL, "resume needs a checkpoint path");
    if (c->schedule == SCHED_WSD && !(c->cooldown > 0 && c->cooldown <= 1))
        return util_err(err, errlen, UTIL_EINVAL, "cooldown: expected a fraction in (0, 1], got %g",
                        c->cooldown);
    /* fork points must fall on whole steps inside the run, or the step that
     * writes or reads them never comes */
    int64_t tps = (int64_t)c->batch * c->shape.n_ctx;
    if (c->nkeep < 0 || c->nkeep > MODEL_MAX_KEEP)
        return util_err(err, errlen, UTIL_EINVAL, "keep: at most %d fork points, got %d",
                        MODEL_MAX_KEEP, c->nkeep);
    if (c->nkeep > 0 && !c->checkpoint[0])
        return util_err(err, errlen, UTIL_EINVAL, "keeping fork points needs a checkpoint path");
    for (int i = 0; i < c->nkeep; i++)
        if (c->keep_tokens[i] <= 0 || c->keep_tokens[i] % tps || c->keep_tokens[i] >= c->tokens)
            return util_err(err, errlen, UTIL_EINVAL,
                            "keep: fork point %lld tokens: expected a multiple of the %lld tokens "
                            "of a step, above 0 and below the budget %lld",
                            (long long)c->keep_tokens[i], (long long)tps, (long long)c->tokens);
    if (c->fork_parent[0]) {
        if (c->fork_tokens <= 0 || c->fork_tokens % tps || c->fork_tokens >= c->tokens)
            return util_err(err, errlen, UTIL_EINVAL,
                            "fork at %lld tokens: expected a multiple of the %lld tokens of a "
                            "step, above 0 and below the budget %lld",
                            (long long)c->fork_tokens, (long long)tps, (long long)c->tokens);
        if (!c->fork_checkpoint[0])
            return util_err(err, errlen, UTIL_EINVAL, "fork: no parent checkpoint path");
    }
    return 0;
}

/* Starts a branch from its parent's checkpoint at the fork: parameters,
 * AdamW moments, step, tokens and the data order are the parent's there;
 * the identity becomes the branch's, and its clock starts at zero. */
static int load_fork(const model_train_config *c, nn_gpt *g, nn_ckpt_state *st,
                     const char run_id[17], char *err, size_t errlen) {
    int rc = nn_ckpt_load(c->fork_checkpoint, g, st, err, errlen);
    if (rc) return rc;
    if (strcmp(st->run_id, c->fork_parent) != 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: checkpoint belongs to run %s, the fork names parent %s",
                        c->fork_checkpoint, st->run_id, c->fork_parent);
    if (st->tokens != c->fork_tokens)
        return util_err(err, errlen, UTIL_EINVAL,
                        "%s: checkpoint is at %lld tokens, the fork is at %lld", c->fork_checkpoint,
                        (long long)st->tokens, (long long)c->fork_tokens);
    memcpy(st->run_id, run_id, 17);
    st->elapsed = 0;
    return 0;
}

static int save_ckpt(const model_train_config *c, const nn_gpt *g, const nn_ckpt_state *st,
                     const model_hooks *hk, char *err, size_t errlen) {
    if (!c->checkpoint[0]) return 0;
    /* The hook first: a checkpoint must never be ahead of what the caller
     * has made durable, or a resume after SIGKILL would skip those records. */
    if (hk && hk->on_checkpoint) {
        int rc = hk->on_checkpoint(hk->ctx, st->step, err, errlen);
        if (rc) return rc;
    }
    return nn_ckpt_save(c->checkpoint, g, st, err, errlen);
}

int model_train(const model_train_config *cin, const model_hooks *hk, model_train_result *res,
                char *err, size_t errlen) {
    model_train_config cfg = *cin;
    model_train_config *c = &cfg;
    data_tokfile tr = {0}, va = {0};
    int tr_open = 0, va_open = 0;
    nn_gpt *g = NULL;
    int64_t *pts = NULL;
    uint64_t *starts = NULL; /* (micro_batch) window starts of one forward */
    float *wloss = NULL;     /* (nfinal) per-window losses of the final eval */
    data_sampler smp = {0};
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
    snprintf(path, sizeof path, "%.1023s/train.tok", c->data_dir);
    if ((rc = data_tokfile_open(&tr, path, err, errlen))) goto done;
    tr_open = 1;
    if ((rc = check_tokens(&tr, path, c->shape.n_vocab, err, errlen))) goto done;
    snprintf(path, sizeof path, "%.1023s/val.tok", c->data_dir);
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
    if ((rc = data_sampler_init(&smp, U, T, c->seed, err, errlen))) goto done;
    int64_t nfinal = final_windows(&va, T, c->final_eval_tokens);
    starts = malloc((size_t)mb * sizeof *starts);
    wloss = malloc((size_t)nfinal * sizeof *wloss);
    if (!starts || !wloss) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
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
    int forked = 0; /* started from the parent's checkpoint just now */
    if (c->resume && access(c->checkpoint, F_OK) == 0) {
        if ((rc = nn_ckpt_load(c->checkpoint, g, &st, err, errlen))) goto done;
        if (strcmp(st.run_id, run_id) != 0) {
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "%s: checkpoint belongs to run %s, this configuration is run %s",
                          c->checkpoint, st.run_id, run_id);
            goto done;
        }
    } else if (c->fork_parent[0]) {
        if ((rc = load_fork(c, g, &st, run_id, err, errlen))) goto done;
        forked = 1;
    }

    model_train_info info;
    memset(&info, 0, sizeof info);
    model_count_params(&c->shape, &info.counts);
    info.flops_kaplan = model_flops_per_token(&c->shape, MODEL_FLOPS_KAPLAN);
    info.flops_chinchilla = model_flops_per_token(&c->shape, MODEL_FLOPS_CHINCHILLA);
    info.steps = steps;
    info.tokens_per_step = tps;
    info.start_step = st.step;
    double epoch_tokens = (double)data_epoch_tokens(U, T); /* = smp.nwin * T */
    info.epochs = (double)(steps * tps) / epoch_tokens;
    snprintf(info.blas_kernel, sizeof info.blas_kernel, "%s", openblas_get_corename());
    info.bytes_per_token = di.bytes_per_token;
    snprintf(info.tokenizer, sizeof info.tokenizer, "%s", di.tokenizer);
    info.eval_windows = c->eval_windows;
    info.eval_windows_asked = asked;
    info.val_tokens = va.ntokens;
    if (hk && hk->on_start && (rc = hk->on_start(hk->ctx, c, &info, err, errlen))) goto done;

    pts = calloc(2 * ((size_t)c->evals + 2 * EVAL_DENSE_MAX + 2), sizeof *pts);
    if (!pts) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    int npts = eval_points(steps, c->evals, pts);
    if (forked) { /* the branch's own validation points before the fork are the parent's past */
        st.evals_done = 0;
        while (st.evals_done < npts && pts[st.evals_done] <= st.step)
            st.evals_done++;
    }
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
            /* window k of the run: a function of the step alone, so a
             * resumed run reads exactly what an uninterrupted one would */
            uint64_t k0 = (uint64_t)step * (uint64_t)c->batch + (uint64_t)m * (uint64_t)mb;
            for (int b = 0; b < mb; b++)
                starts[b] = data_sampler_start(&smp, k0 + (uint64_t)b);
            data_fill_batch(g->inputs, g->targets, &tr, starts, mb, T);
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
            /* the end of the budget is scored on the whole split (or the
             * final_eval_tokens cap), window by window; the rest cheaply */
            int full = pts[st.evals_done - 1] == steps;
            double vl = full ? evaluate_full(g, &va, nfinal, starts, wloss, &es)
                             : evaluate(g, &va, c->eval_windows, starts, &es);
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
                                    .val_bpb = st.last_bpb,
                                    .val_tokens = full ? nfinal * T : (int64_t)c->eval_windows * T,
                                    .window_loss = full ? wloss : NULL,
                                    .nwindows = full ? nfinal : 0};
                if ((rc = hk->on_eval(hk->ctx, &r, err, errlen))) goto done;
            }
            if (!isfinite(vl))
                status = MODEL_DIVERGED;
            else if (c->patience > 0 && st.bad_evals >= c->patience)
                status = MODEL_EARLY_STOPPED;
        }
        if (status != MODEL_DONE) break;
        for (int k = 0; k < c->nkeep; k++) /* a fork point: keep this step for its branches */
            if (c->keep_tokens[k] == st.tokens) {
                char fp[1100];
                model_fork_path(c->checkpoint, st.tokens, fp, sizeof fp);
                double e0 = st.elapsed;
                st.elapsed += util_now() - t_start;
                rc = nn_ckpt_save(fp, g, &st, err, errlen);
                st.elapsed = e0;
                if (rc) goto done;
            }
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
    /* the last eval done was the full one exactly when every point was reached
     * (a resumed finished run included: the points are a function of steps) */
    if (isfinite(st.last_val))
        res->final_val_tokens = st.evals_done == npts && pts[npts - 1] == st.step
                                    ? nfinal * T
                                    : (int64_t)c->eval_windows * T;
    res->best_val_loss = isfinite(st.best_val) ? st.best_val : NAN;
    res->epochs = (double)st.tokens / epoch_tokens;
    res->elapsed = st.elapsed;
done:
    free(pts);
    free(starts);
    free(wloss);
    data_sampler_free(&smp);
    nn_gpt_free(g);
    if (tr_open) data_tokfile_close(&tr);
    if (va_open) data_tokfile_close(&va);
    return rc;
}
