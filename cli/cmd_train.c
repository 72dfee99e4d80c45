/*
 * cmd_train.c — `scaling train`: trains one model from command-line options
 * on a prepared data directory. The flags are run/run.h's table (the sweep
 * writes its workers' command lines from the same table). Prints the
 * configuration, one line per logging step and per evaluation, then
 * `final ...`; with --db the same records go to the results database from
 * the same hook (console and database never disagree), the run's row built
 * by run/ exactly as a sweep registers it.
 * Exit codes (run_exit): 0 done (also early-stopped), 1 failure, 2 usage,
 * 3 diverged, 4 interrupted (checkpoint written, rerun with --resume).
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "../results/store.h"
#include "../run/run.h"
#include "cli.h"

static const char usage[] =
    "usage: scaling train --data DIR --layers L --d-model D --heads H [--d-ff F] --ctx T\n"
    "                     --batch B --tokens N [options]\n"
    "\n"
    "Trains a GPT-2-style model (pre-LayerNorm, GELU MLP, tied head) with AdamW.\n"
    "\n"
    "  --data DIR          prepared data directory (scaling data prepare)\n"
    "  --layers L, --d-model D, --heads H, --d-ff F (default 4D), --ctx T\n"
    "                      (or by the sweep files' names: --n_layer, --d_model,\n"
    "                      --n_head, --d_ff, --n_ctx; - or _ alike)\n"
    "  --batch B           sequences per optimizer step\n"
    "  --micro-batch M     sequences per forward/backward (divides B; default B)\n"
    "  --tokens N          training budget in tokens (rounded up to whole steps)\n"
    "  --lr X              peak learning rate (default 1e-3)\n"
    "  --min-lr-frac F     cosine floor as a fraction of the peak (default 0.1)\n"
    "  --warmup N          linear warm-up steps (default 100, at most a tenth of the run)\n"
    "  --schedule S        cosine (to 10% at the budget) | constant | fixed-cosine | wsd\n"
    "  --cycle-tokens N    fixed-cosine horizon in tokens, independent of --tokens\n"
    "  --cooldown F        wsd: the last fraction F of the steps decays (default 0.2)\n"
    "  --cooldown-shape S  wsd: 1-sqrt (default) | linear\n"
    "  --fork RUN --at N   branch: start from run RUN's checkpoint at N tokens and go on\n"
    "                      under this run's own schedule (docs/model.md, Branching)\n"
    "  --fork-checkpoint P that checkpoint (default: RUN.ckpt.atN beside --checkpoint)\n"
    "  --keep-at N[,N...]  trunk: keep a checkpoint CHECKPOINT.atN at each of these tokens\n"
    "  --weight-decay X    AdamW decay on matrices (default 0.1)\n"
    "  --grad-clip X       global-norm clip (default 1; 0 off)\n"
    "  --unique-tokens U   train on the first U training tokens only (repeated)\n"
    "  --evals K           log-spaced validations (plus the end; default 10)\n"
    "  --eval-windows W    held-out windows per intermediate validation (default 64)\n"
    "  --final-eval-tokens N  score the end of the run on at most N validation tokens\n"
    "                      (default 0: the whole validation split)\n"
    "  --patience P        stop after P validations without improvement (0 off)\n"
    "  --log-every N       steps between step lines (default 10)\n"
    "  --seed S            initialisation and data-order seed (default 1)\n"
    "  --threads K         threads (default 1); same seed and K give the same bits\n"
    "  --checkpoint PATH   write checkpoints here (every --checkpoint-secs, default 300,\n"
    "                      at the end and on SIGINT/SIGTERM)\n"
    "  --resume            continue from --checkpoint if it exists\n"
    "  --db FILE           log the run, its steps and evals into this results database\n"
    "                      (default results.db, as every command that writes results;\n"
    "                      one process per run: a second is refused while it trains)\n"
    "  --no-db             record nothing in a database\n"
    "  --run-id ID         database run id (default: hash of the configuration)\n"
    "  --sweep NAME        sweep the run belongs to (database)\n"
    "  --label L           sweep label (database)\n"
    "  --mode M, --flops-count chinchilla|kaplan|6nd|actual, --compute-budget C,\n"
    "  --target-params N, --target-count total|nonembedding\n"
    "                      what the sweep planned (database; a sweep's workers get them)\n"
    "  --quiet             print only the configuration, evals and the final line\n"
    "\n"
    "Exit status: 0 done or early-stopped, 1 failure, 2 usage, 3 diverged,\n"
    "4 interrupted (checkpoint written; rerun with --resume).\n";

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

typedef struct {
    store *db;
    const run_config *rc; /* resolved: id, n_vocab */
    const data_info *data;
    int quiet;
    model_train_info info;
} train_ctx;

static void fmt_secs(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static int hk_start(void *vctx, const model_train_config *c, const model_train_info *info,
                    char *err, size_t errlen) {
    train_ctx *x = vctx;
    x->info = *info;
    const model_shape *s = &c->shape;
    printf("model: n_layer=%d d_model=%d n_head=%d d_ff=%d n_ctx=%d n_vocab=%d\n", s->n_layer,
           s->d_model, s->n_head, s->d_ff, s->n_ctx, s->n_vocab);
    printf("params: total=%lld embedding=%lld nonembedding=%lld\n", (long long)info->counts.total,
           (long long)info->counts.embedding, (long long)info->counts.nonembedding);
    printf("flops/token: kaplan=%.6g kaplan_deembed=%.6g chinchilla=%.6g mfu=%.6g\n",
           info->flops_kaplan, model_flops_kaplan(s, 1), info->flops_chinchilla,
           model_flops_mfu(s));
    printf("run: id=%s steps=%lld tokens_per_step=%lld tokens=%lld flops=%.6e epochs=%.4g "
           "start_step=%lld\n",
           x->rc->id, (long long)info->steps, (long long)info->tokens_per_step,
           (long long)(info->steps * info->tokens_per_step),
           (double)(info->steps * info->tokens_per_step) * info->flops_chinchilla, info->epochs,
           (long long)info->start_step);
    printf("optim: lr=%g schedule=%s warmup=%d min_lr_frac=%g cycle_tokens=%lld wd=%g "
           "clip=%g batch=%d micro_batch=%d seed=%llu threads=%d blas=%s tokenizer=%s\n",
           c->lr, model_sched_name(c->schedule), c->warmup, c->min_lr_frac,
           (long long)c->cycle_tokens, c->weight_decay, c->grad_clip, c->batch,
           c->micro_batch ? c->micro_batch : c->batch, (unsigned long long)c->seed, c->threads,
           info->blas_kernel, info->tokenizer);
    if (c->schedule == SCHED_WSD)
        printf("wsd: cooldown=%g shape=%s decay_start_step=%lld\n", c->cooldown,
               model_cooldown_name(c->cooldown_shape),
               (long long)model_wsd_decay_start(c, info->steps));
    if (c->fork_parent[0])
        printf("fork: parent=%s at_tokens=%lld checkpoint=%s\n", c->fork_parent,
               (long long)c->fork_tokens, c->fork_checkpoint);
    if (info->eval_windows < info->eval_windows_asked)
        fprintf(stderr,
                "scaling train: note: --eval-windows %d capped at %d: val.tok holds %llu tokens, "
                "room for %d windows of n_ctx + 1 = %d tokens that score no token twice\n",
                info->eval_windows_asked, info->eval_windows, (unsigned long long)info->val_tokens,
                info->eval_windows, s->n_ctx + 1);
    fflush(stdout);
    if (!x->db) return 0;
    /* the row holds the configuration as it runs (eval_windows capped) */
    run_config rc = *x->rc;
    rc.train = *c;
    return run_register_start(x->db, &rc, x->data, info->blas_kernel, err, errlen);
}

static int hk_step(void *vctx, const model_step_rec *r, char *err, size_t errlen) {
    train_ctx *x = vctx;
    if (x->db) {
        int rc = store_add_step(x->db, x->rc->id, r->step, r->tokens, r->flops, r->train_loss,
                                r->lr, r->grad_norm, r->elapsed, err, errlen);
        if (rc) return rc;
    }
    if (!x->quiet) {
        char eta[32];
        fmt_secs(r->eta, eta, sizeof eta);
        printf("step %7lld tokens %12lld loss %.4f lr %.3e gnorm %.3f tok/s %.0f eta %s\n",
               (long long)r->step, (long long)r->tokens, r->train_loss, r->lr, r->grad_norm,
               r->tokens_per_s, eta);
        fflush(stdout);
    }
    return 0;
}

static int hk_eval(void *vctx, const model_eval_rec *r, char *err, size_t errlen) {
    train_ctx *x = vctx;
    if (x->db) {
        int rc = store_add_eval(x->db, x->rc->id, r->step, r->tokens, r->flops, r->val_loss,
                                r->val_bpb, err, errlen);
        if (rc) return rc;
        if (r->window_loss && (rc = store_put_final_eval(x->db, x->rc->id, x->rc->train.shape.n_ctx,
                                                         r->window_loss, r->nwindows, err, errlen)))
            return rc;
    }
    printf("eval step %lld tokens %lld flops %.6e val_loss %.4f val_bpb %.4f val_tokens %lld\n",
           (long long)r->step, (long long)r->tokens, r->flops, r->val_loss, r->val_bpb,
           (long long)r->val_tokens);
    fflush(stdout);
    return 0;
}

/* The checkpoint about to be written is ahead of every buffered step row:
 * commit them first (model_hooks.on_checkpoint). */
static int hk_checkpoint(void *vctx, int64_t step, char *err, size_t errlen) {
    train_ctx *x = vctx;
    (void)step;
    return x->db ? store_flush(x->db, err, errlen) : 0;
}

/* Parses the command line into *rc (and --db, --quiet). Returns -1 when it
 * went well, else the exit code (help printed, or a usage error). */
static int parse_args(int argc, char **argv, run_config *rc, const char **db_path, int *quiet) {
    const char *C = "train";
    /* the sweep files' names of the shape keys, as aliases (one vocabulary) */
    static const struct {
        const char *name;
        run_flag_id f;
    } aliases[] = {
        {"n_layer", RUN_F_LAYERS}, {"n-layer", RUN_F_LAYERS}, {"d_model", RUN_F_DMODEL},
        {"n_head", RUN_F_HEADS},   {"n-head", RUN_F_HEADS},   {"d_ff", RUN_F_DFF},
        {"n_ctx", RUN_F_CTX},      {"n-ctx", RUN_F_CTX},
    };
    enum { NALIAS = sizeof aliases / sizeof aliases[0] };
    struct option opts[RUN_NFLAGS + NALIAS + 3];
    for (int f = 0; f < RUN_NFLAGS; f++)
        opts[f] = (struct option){
            run_flags[f].name,
            run_flags[f].flags & RUN_FLAG_VALUE ? required_argument : no_argument, 0, 256 + f};
    for (int k = 0; k < NALIAS; k++)
        opts[RUN_NFLAGS + k] =
            (struct option){aliases[k].name, required_argument, 0, 256 + (int)aliases[k].f};
    opts[RUN_NFLAGS + NALIAS] = (struct option){"help", no_argument, 0, 'h'};
    opts[RUN_NFLAGS + NALIAS + 1] = (struct option){"no-db", no_argument, 0, 'N'};
    opts[RUN_NFLAGS + NALIAS + 2] = (struct option){0, 0, 0, 0};
    int seen[RUN_NFLAGS] = {0}, ch;
    char err[UTIL_ERRLEN];
    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        if (ch == 'N') {
            *db_path = NULL;
            continue;
        }
        if (ch < 256 || ch >= 256 + RUN_NFLAGS) return cli_usage(C, "unknown option");
        run_flag_id f = (run_flag_id)(ch - 256);
        seen[f] = 1;
        if (f == RUN_F_DB)
            *db_path = optarg;
        else if (f == RUN_F_QUIET)
            *quiet = 1;
        else if (run_flag_set(rc, f, optarg, err, sizeof err))
            return cli_usage(C, "%s", err);
    }
    model_train_config *c = &rc->train;
    if (optind < argc) return cli_usage(C, "unexpected argument '%s'", argv[optind]);
    if (!seen[RUN_F_DATA]) return cli_usage(C, "--data DIR is required");
    if (!seen[RUN_F_LAYERS] || !seen[RUN_F_DMODEL] || !seen[RUN_F_HEADS] || !seen[RUN_F_CTX] ||
        !seen[RUN_F_BATCH] || !seen[RUN_F_TOKENS])
        return cli_usage(C,
                         "--layers, --d-model, --heads, --ctx, --batch and --tokens are required");
    if (!seen[RUN_F_DFF]) c->shape.d_ff = 4 * c->shape.d_model;
    if (!seen[RUN_F_WARMUP]) {
        /* 100 steps, but never more than a tenth of a short run: a warm-up
         * that eats the run leaves no room for the cosine to anneal. */
        int64_t steps = model_train_steps(c);
        if (c->warmup > steps / 10) c->warmup = (int)(steps / 10);
    }
    if (c->schedule == SCHED_FIXED_COSINE && c->cycle_tokens <= 0)
        return cli_usage(C, "--schedule fixed-cosine needs --cycle-tokens N");
    if (c->micro_batch && c->batch % c->micro_batch)
        return cli_usage(C, "--micro-batch %d does not divide --batch %d", c->micro_batch,
                         c->batch);
    if (c->resume && !c->checkpoint[0]) return cli_usage(C, "--resume needs --checkpoint PATH");
    if (!c->fork_parent[0] != !c->fork_tokens)
        return cli_usage(C, "--fork RUN and --at N go together");
    if (c->nkeep && !c->checkpoint[0]) return cli_usage(C, "--keep-at needs --checkpoint PATH");
    if (c->fork_parent[0] && !c->fork_checkpoint[0]) {
        /* the sweep's layout: every run's checkpoint is DIR/ID.ckpt */
        const char *slash = strrchr(c->checkpoint, '/');
        int dirlen = slash ? (int)(slash - c->checkpoint) : 1;
        const char *dir = slash ? c->checkpoint : ".";
        char parent[1100];
        snprintf(parent, sizeof parent, "%.*s/%s.ckpt", dirlen, dir, c->fork_parent);
        model_fork_path(parent, c->fork_tokens, c->fork_checkpoint, sizeof c->fork_checkpoint);
    }
    return -1;
}

/* The closing lines: how the run ended and its final numbers. */
static void print_end(const model_train_result *res) {
    if (res->status == MODEL_DIVERGED)
        printf("status: diverged at step %lld (train loss %g)\n", (long long)res->steps,
               res->final_train_loss);
    else if (res->status == MODEL_EARLY_STOPPED)
        printf("status: early-stopped at step %lld (best val_loss %.6f)\n", (long long)res->steps,
               res->best_val_loss);
    else
        printf("status: done in %.1f s\n", res->elapsed);
    printf("final train_loss=%.6f val_loss=%.6f val_bpb=%.6f val_tokens=%lld tokens=%lld "
           "flops=%.6e\n",
           res->final_train_loss, res->final_val_loss, res->final_val_bpb,
           (long long)res->final_val_tokens, (long long)res->tokens, res->flops);
}

int cmd_train(int argc, char **argv) {
    run_config rc;
    run_config_defaults(&rc);
    const char *db_path = CLI_DEFAULT_DB; /* --no-db: NULL */
    int quiet = 0;
    int code = parse_args(argc, argv, &rc, &db_path, &quiet);
    if (code >= 0) return code;

    char err[UTIL_ERRLEN];
    data_info di;
    memset(&di, 0, sizeof di);
    train_ctx x;
    memset(&x, 0, sizeof x);
    x.quiet = quiet;
    x.rc = &rc;
    x.data = &di;
    if (db_path) {
        /* the row needs the data's tokenizer and size before training starts */
        if (data_info_read(rc.train.data_dir, &di, 0, err, sizeof err))
            return cli_fail("train", "%s", err);
        if (store_open(&x.db, db_path, STORE_CREATE, err, sizeof err))
            return cli_fail("train", "%s", err);
    }
    run_resolve(&rc, db_path ? &di : NULL);
    if (x.db) {
        /* one process per run: a second one would write the same rows */
        char lock[32];
        store_lock_holder h;
        snprintf(lock, sizeof lock, STORE_LOCK_RUN_PREFIX "%s", rc.id);
        char what[200];
        snprintf(what, sizeof what, "%s", "scaling train");
        if (rc.sweep[0]) snprintf(what, sizeof what, STORE_LOCK_WORKER " (sweep %.120s)", rc.sweep);
        if (store_lock(x.db, lock, what, 600, &h, NULL, err, sizeof err)) {
            fprintf(stderr, "scaling train: %s%s\n", err,
                    h.pid ? "; run it once, or train a repeat of this configuration under "
                            "another --seed (the seed is part of the run id)"
                          : "");
            store_close(x.db);
            return EXIT_FAIL;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc.train.stop = &g_stop;

    model_hooks hooks = {.ctx = &x,
                         .on_start = hk_start,
                         .on_step = hk_step,
                         .on_eval = hk_eval,
                         .on_checkpoint = hk_checkpoint};
    model_train_result res;
    memset(&res, 0, sizeof res);
    int trc = model_train(&rc.train, &hooks, &res, err, sizeof err);
    code = run_exit_of(trc, res.status);
    if (trc) fprintf(stderr, "scaling train: %s\n", err);
    if (x.db && code != RUN_EXIT_INTERRUPTED && x.info.steps > 0) {
        char err2[UTIL_ERRLEN];
        if (run_record_end(x.db, rc.id, trc, &res, err2, sizeof err2)) {
            fprintf(stderr, "scaling train: %s\n", err2);
            if (code == EXIT_OK) code = EXIT_FAIL;
        }
    }
    if (x.db) {
        char err2[UTIL_ERRLEN];
        if (store_flush(x.db, err2, sizeof err2)) {
            fprintf(stderr, "scaling train: %s\n", err2);
            if (code == EXIT_OK) code = EXIT_FAIL;
        }
        store_close(x.db);
    }
    if (trc) return code;
    print_end(&res);
    return code;
}
