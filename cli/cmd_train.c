/*
 * cmd_train.c — `scaling train`: trains one model from command-line options
 * on a prepared data directory. Prints the configuration, one line per
 * logging step and per evaluation, then `final ...`; with --db the same
 * records go to the results database from the same hook (console and
 * database never disagree).
 * Exit codes: 0 done (also early-stopped), 1 failure, 2 usage,
 * 3 diverged, 4 interrupted (checkpoint written, rerun with --resume).
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "../results/store.h"
#include "cli.h"

enum { EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 4 };

static const char usage[] =
    "usage: scaling train --data DIR --layers L --d-model D --heads H [--d-ff F] --ctx T\n"
    "                     --batch B --tokens N [options]\n"
    "\n"
    "Trains a GPT-2-style model (pre-LayerNorm, GELU MLP, tied head) with AdamW.\n"
    "\n"
    "  --data DIR          prepared data directory (scaling data prepare)\n"
    "  --layers L, --d-model D, --heads H, --d-ff F (default 4D), --ctx T\n"
    "  --batch B           sequences per optimizer step\n"
    "  --micro-batch M     sequences per forward/backward (divides B; default B)\n"
    "  --tokens N          training budget in tokens (rounded up to whole steps)\n"
    "  --lr X              peak learning rate (default 1e-3)\n"
    "  --min-lr-frac F     cosine floor as a fraction of the peak (default 0.1)\n"
    "  --warmup N          linear warm-up steps (default 100, at most a tenth of the run)\n"
    "  --schedule S        cosine (to 10%% at the budget) | constant | fixed-cosine\n"
    "  --cycle-tokens N    fixed-cosine horizon in tokens, independent of --tokens\n"
    "  --weight-decay X    AdamW decay on matrices (default 0.1)\n"
    "  --grad-clip X       global-norm clip (default 1; 0 off)\n"
    "  --unique-tokens U   train on the first U training tokens only (repeated)\n"
    "  --evals K           log-spaced validations (plus the end; default 10)\n"
    "  --eval-windows W    held-out windows per validation (default 64)\n"
    "  --patience P        stop after P validations without improvement (0 off)\n"
    "  --log-every N       steps between step lines (default 10)\n"
    "  --seed S            initialisation and data-order seed (default 1)\n"
    "  --threads K         threads (default 1); same seed and K give the same bits\n"
    "  --checkpoint PATH   write checkpoints here (every --checkpoint-secs, default 300,\n"
    "                      at the end and on SIGINT/SIGTERM)\n"
    "  --resume            continue from --checkpoint if it exists\n"
    "  --db FILE           log the run, its steps and evals into this results database\n"
    "  --run-id ID         database run id (default: hash of the configuration)\n"
    "  --sweep NAME        sweep the run belongs to (database)\n"
    "  --label L           sweep label (database)\n"
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
    char run_id[17];
    const char *sweep, *label;
    int quiet;
    model_train_info info;
    const model_train_config *cfg;
} train_ctx;

static void fmt_secs(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static char *config_json(const model_train_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    model_shape_to_json(&c->shape, o);
    cJSON_AddStringToObject(o, "data_dir", c->data_dir);
    model_optim_to_json(c, o);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
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
           x->run_id, (long long)info->steps, (long long)info->tokens_per_step,
           (long long)(info->steps * info->tokens_per_step),
           (double)(info->steps * info->tokens_per_step) * info->flops_chinchilla, info->epochs,
           (long long)info->start_step);
    printf("optim: lr=%g schedule=%s warmup=%d min_lr_frac=%g cycle_tokens=%lld wd=%g "
           "clip=%g batch=%d micro_batch=%d seed=%llu threads=%d blas=%s tokenizer=%s\n",
           c->lr, model_sched_name(c->schedule), c->warmup, c->min_lr_frac,
           (long long)c->cycle_tokens, c->weight_decay, c->grad_clip, c->batch,
           c->micro_batch ? c->micro_batch : c->batch, (unsigned long long)c->seed, c->threads,
           info->blas_kernel, info->tokenizer);
    if (info->eval_windows < info->eval_windows_asked)
        fprintf(stderr,
                "scaling train: note: --eval-windows %d capped at %d: val.tok holds %llu tokens, "
                "room for %d windows of n_ctx + 1 = %d tokens that score no token twice\n",
                info->eval_windows_asked, info->eval_windows, (unsigned long long)info->val_tokens,
                info->eval_windows, s->n_ctx + 1);
    fflush(stdout);
    if (!x->db) return 0;
    store_run r;
    store_run_init(&r);
    snprintf(r.id, sizeof r.id, "%s", x->run_id);
    snprintf(r.sweep, sizeof r.sweep, "%s", x->sweep ? x->sweep : "");
    snprintf(r.label, sizeof r.label, "%s", x->label ? x->label : "");
    snprintf(r.status, sizeof r.status, "running");
    snprintf(r.data_dir, sizeof r.data_dir, "%s", c->data_dir);
    snprintf(r.tokenizer, sizeof r.tokenizer, "%s", info->tokenizer);
    r.n_vocab = s->n_vocab, r.n_layer = s->n_layer, r.d_model = s->d_model;
    r.n_head = s->n_head, r.d_ff = s->d_ff, r.n_ctx = s->n_ctx;
    r.params_total = info->counts.total;
    r.params_embedding = info->counts.embedding;
    r.params_nonembedding = info->counts.nonembedding;
    r.flops_per_token_kaplan = info->flops_kaplan;
    r.flops_per_token_chinchilla = info->flops_chinchilla;
    r.tokens = c->tokens;
    r.unique_tokens = c->unique_tokens;
    r.batch = c->batch;
    r.lr = c->lr;
    snprintf(r.schedule, sizeof r.schedule, "%s", model_sched_name(c->schedule));
    r.warmup = c->warmup;
    r.cycle_tokens = c->cycle_tokens;
    r.seed = c->seed;
    r.threads = c->threads;
    r.flops = (double)(info->steps * info->tokens_per_step) * info->flops_chinchilla;
    r.epochs = info->epochs;
    util_utc_iso(r.started, sizeof r.started);
    util_hostname(r.host, sizeof r.host);
    snprintf(r.git_rev, sizeof r.git_rev, "%s", util_git_rev());
    snprintf(r.blas_kernel, sizeof r.blas_kernel, "%s", info->blas_kernel);
    r.config_json = config_json(c);
    int rc = store_put_run(x->db, &r, err, errlen);
    if (!rc) rc = store_set_status(x->db, r.id, "running", err, errlen);
    store_run_free_fields(&r);
    return rc;
}

static int hk_step(void *vctx, const model_step_rec *r, char *err, size_t errlen) {
    train_ctx *x = vctx;
    if (x->db) {
        int rc = store_add_step(x->db, x->run_id, r->step, r->tokens, r->flops, r->train_loss,
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
        int rc = store_add_eval(x->db, x->run_id, r->step, r->tokens, r->flops, r->val_loss,
                                r->val_bpb, err, errlen);
        if (rc) return rc;
    }
    printf("eval step %lld tokens %lld flops %.6e val_loss %.4f val_bpb %.4f\n", (long long)r->step,
           (long long)r->tokens, r->flops, r->val_loss, r->val_bpb);
    fflush(stdout);
    return 0;
}

int cmd_train(int argc, char **argv) {
    model_train_config c;
    model_train_defaults(&c);
    c.threads = 1;
    const char *db_path = NULL, *run_id = NULL, *sweep = NULL, *label = NULL;
    int quiet = 0, have_data = 0, have_l = 0, have_d = 0, have_h = 0, have_t = 0, have_b = 0,
        have_n = 0, have_ff = 0, have_warmup = 0;
    enum {
        O_DATA = 256,
        O_LAYERS,
        O_DMODEL,
        O_HEADS,
        O_DFF,
        O_CTX,
        O_BATCH,
        O_TOKENS,
        O_LR,
        O_WARMUP,
        O_SCHED,
        O_CYCLE,
        O_UNIQUE,
        O_EVALS,
        O_PATIENCE,
        O_MICRO,
        O_SEED,
        O_THREADS,
        O_CKPT,
        O_RESUME,
        O_DB,
        O_RUNID,
        O_SWEEP,
        O_LABEL,
        O_QUIET,
        O_MINLR,
        O_WD,
        O_CLIP,
        O_EVALW,
        O_LOGEVERY,
        O_CKPTSECS
    };
    static const struct option opts[] = {{"data", required_argument, 0, O_DATA},
                                         {"layers", required_argument, 0, O_LAYERS},
                                         {"d-model", required_argument, 0, O_DMODEL},
                                         {"heads", required_argument, 0, O_HEADS},
                                         {"d-ff", required_argument, 0, O_DFF},
                                         {"ctx", required_argument, 0, O_CTX},
                                         {"batch", required_argument, 0, O_BATCH},
                                         {"tokens", required_argument, 0, O_TOKENS},
                                         {"lr", required_argument, 0, O_LR},
                                         {"warmup", required_argument, 0, O_WARMUP},
                                         {"schedule", required_argument, 0, O_SCHED},
                                         {"cycle-tokens", required_argument, 0, O_CYCLE},
                                         {"unique-tokens", required_argument, 0, O_UNIQUE},
                                         {"evals", required_argument, 0, O_EVALS},
                                         {"patience", required_argument, 0, O_PATIENCE},
                                         {"micro-batch", required_argument, 0, O_MICRO},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"checkpoint", required_argument, 0, O_CKPT},
                                         {"resume", no_argument, 0, O_RESUME},
                                         {"db", required_argument, 0, O_DB},
                                         {"run-id", required_argument, 0, O_RUNID},
                                         {"sweep", required_argument, 0, O_SWEEP},
                                         {"label", required_argument, 0, O_LABEL},
                                         {"quiet", no_argument, 0, O_QUIET},
                                         {"min-lr-frac", required_argument, 0, O_MINLR},
                                         {"weight-decay", required_argument, 0, O_WD},
                                         {"grad-clip", required_argument, 0, O_CLIP},
                                         {"eval-windows", required_argument, 0, O_EVALW},
                                         {"log-every", required_argument, 0, O_LOGEVERY},
                                         {"checkpoint-secs", required_argument, 0, O_CKPTSECS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "train";
    long long v;
    double d;
    optind = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        case O_DATA:
            if (strlen(optarg) >= sizeof c.data_dir) return cli_usage(C, "--data: path too long");
            snprintf(c.data_dir, sizeof c.data_dir, "%s", optarg);
            have_data = 1;
            break;
#define INTOPT(code, name, lo, hi, dst, flag)                                                      \
    case code:                                                                                     \
        if (cli_int(C, name, optarg, lo, hi, &v)) return EXIT_USAGE;                               \
        dst = v;                                                                                   \
        flag;                                                                                      \
        break;
            INTOPT(O_LAYERS, "--layers", 1, 1024, c.shape.n_layer, have_l = 1)
            INTOPT(O_DMODEL, "--d-model", 1, 65536, c.shape.d_model, have_d = 1)
            INTOPT(O_HEADS, "--heads", 1, 65536, c.shape.n_head, have_h = 1)
            INTOPT(O_DFF, "--d-ff", 1, 1 << 20, c.shape.d_ff, have_ff = 1)
            INTOPT(O_CTX, "--ctx", 1, 65536, c.shape.n_ctx, have_t = 1)
            INTOPT(O_BATCH, "--batch", 1, 1 << 20, c.batch, have_b = 1)
            INTOPT(O_TOKENS, "--tokens", 1, (long long)4e18, c.tokens, have_n = 1)
            INTOPT(O_WARMUP, "--warmup", 0, 1 << 30, c.warmup, have_warmup = 1)
            INTOPT(O_CYCLE, "--cycle-tokens", 1, (long long)4e18, c.cycle_tokens, (void)0)
            INTOPT(O_UNIQUE, "--unique-tokens", 1, (long long)4e18, c.unique_tokens, (void)0)
            INTOPT(O_EVALS, "--evals", 1, 10000, c.evals, (void)0)
            INTOPT(O_PATIENCE, "--patience", 0, 10000, c.patience, (void)0)
            INTOPT(O_MICRO, "--micro-batch", 1, 1 << 20, c.micro_batch, (void)0)
            INTOPT(O_SEED, "--seed", 0, (long long)4e18, c.seed, (void)0)
            INTOPT(O_THREADS, "--threads", 1, 256, c.threads, (void)0)
            INTOPT(O_EVALW, "--eval-windows", 1, 1 << 20, c.eval_windows, (void)0)
            INTOPT(O_LOGEVERY, "--log-every", 1, 1 << 30, c.log_every, (void)0)
#undef INTOPT
        case O_LR:
            if (cli_double(C, "--lr", optarg, 1e-12, 1e6, &d)) return EXIT_USAGE;
            c.lr = d;
            break;
        case O_MINLR:
            if (cli_double(C, "--min-lr-frac", optarg, 0, 1, &d)) return EXIT_USAGE;
            c.min_lr_frac = d;
            break;
        case O_WD:
            if (cli_double(C, "--weight-decay", optarg, 0, 10, &d)) return EXIT_USAGE;
            c.weight_decay = d;
            break;
        case O_CLIP:
            if (cli_double(C, "--grad-clip", optarg, 0, 1e9, &d)) return EXIT_USAGE;
            c.grad_clip = d;
            break;
        case O_CKPTSECS:
            if (cli_double(C, "--checkpoint-secs", optarg, 0, 1e9, &d)) return EXIT_USAGE;
            c.checkpoint_secs = d;
            break;
        case O_SCHED:
            if (model_sched_parse(optarg, &c.schedule))
                return cli_usage(
                    C, "--schedule: expected cosine, constant or fixed-cosine, got '%s'", optarg);
            break;
        case O_CKPT:
            if (strlen(optarg) >= sizeof c.checkpoint)
                return cli_usage(C, "--checkpoint: path too long");
            snprintf(c.checkpoint, sizeof c.checkpoint, "%s", optarg);
            break;
        case O_RESUME:
            c.resume = 1;
            break;
        case O_DB:
            db_path = optarg;
            break;
        case O_RUNID:
            run_id = optarg;
            break;
        case O_SWEEP:
            sweep = optarg;
            break;
        case O_LABEL:
            label = optarg;
            break;
        case O_QUIET:
            quiet = 1;
            break;
        default:
            return cli_usage(C, "unknown option");
        }
    }
    if (optind < argc) return cli_usage(C, "unexpected argument '%s'", argv[optind]);
    if (!have_data) return cli_usage(C, "--data DIR is required");
    if (!have_l || !have_d || !have_h || !have_t || !have_b || !have_n)
        return cli_usage(C,
                         "--layers, --d-model, --heads, --ctx, --batch and --tokens are required");
    if (!have_ff) c.shape.d_ff = 4 * c.shape.d_model;
    if (!have_warmup) {
        /* 100 steps, but never more than a tenth of a short run: a warm-up
         * that eats the run leaves no room for the cosine to anneal. */
        int64_t steps = model_train_steps(&c);
        if (c.warmup > steps / 10) c.warmup = (int)(steps / 10);
    }
    if (c.schedule == SCHED_FIXED_COSINE && c.cycle_tokens <= 0)
        return cli_usage(C, "--schedule fixed-cosine needs --cycle-tokens N");
    if (c.micro_batch && c.batch % c.micro_batch)
        return cli_usage(C, "--micro-batch %d does not divide --batch %d", c.micro_batch, c.batch);
    if (c.resume && !c.checkpoint[0]) return cli_usage(C, "--resume needs --checkpoint PATH");
    if (run_id && (strlen(run_id) == 0 || strlen(run_id) > 16))
        return cli_usage(C, "--run-id: expected 1..16 characters, got '%s'", run_id);

    char err[UTIL_ERRLEN];
    train_ctx x;
    memset(&x, 0, sizeof x);
    x.quiet = quiet;
    x.sweep = sweep;
    x.label = label;
    x.cfg = &c;
    /* the run id hashes the configuration with the vocabulary filled in */
    if (run_id) {
        snprintf(x.run_id, sizeof x.run_id, "%s", run_id);
    }
    if (db_path) {
        int rc = store_open(&x.db, db_path, STORE_CREATE, err, sizeof err);
        if (rc) return cli_fail(C, "%s", err);
    }
    if (!run_id) model_run_id(&c, x.run_id);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    c.stop = &g_stop;

    model_hooks hooks = {.ctx = &x, .on_start = hk_start, .on_step = hk_step, .on_eval = hk_eval};
    model_train_result res;
    int rc = model_train(&c, &hooks, &res, err, sizeof err);
    int code = EXIT_OK;
    if (rc == UTIL_EINTR) {
        fprintf(stderr, "scaling train: %s\n", err);
        code = EXIT_INTERRUPTED;
    } else if (rc) {
        fprintf(stderr, "scaling train: %s\n", err);
        code = EXIT_FAIL;
    }
    if (x.db && code != EXIT_INTERRUPTED && x.info.steps > 0) {
        store_run r;
        store_run_init(&r);
        snprintf(r.id, sizeof r.id, "%s", x.run_id);
        const char *st = rc ? "failed" : res.status == MODEL_DIVERGED ? "diverged" : "done";
        snprintf(r.status, sizeof r.status, "%s", st);
        if (!rc) {
            r.final_train_loss = res.final_train_loss;
            r.final_val_loss = res.final_val_loss;
            r.final_val_bpb = res.final_val_bpb;
            r.best_val_loss = res.best_val_loss;
            r.tokens_done = res.tokens;
            r.epochs = res.epochs;
        }
        char err2[UTIL_ERRLEN];
        if (store_finish_run(x.db, &r, err2, sizeof err2)) {
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
    if (rc) return code;
    if (res.status == MODEL_DIVERGED) {
        printf("status: diverged at step %lld (train loss %g)\n", (long long)res.steps,
               res.final_train_loss);
        code = EXIT_DIVERGED;
    } else if (res.status == MODEL_EARLY_STOPPED) {
        printf("status: early-stopped at step %lld (best val_loss %.6f)\n", (long long)res.steps,
               res.best_val_loss);
    } else {
        printf("status: done in %.1f s\n", res.elapsed);
    }
    printf("final train_loss=%.6f val_loss=%.6f val_bpb=%.6f tokens=%lld flops=%.6e\n",
           res.final_train_loss, res.final_val_loss, res.final_val_bpb, (long long)res.tokens,
           res.flops);
    return code;
}
