/*
 * gpt.c — the GPT network on top of the layer ops in nn.c: allocation of the
 * one parameter buffer with its named views and of the activations,
 * initialisation, forward, backward, gradient norm and AdamW.
 * Does not own: tensor shapes and counts (shape.c), FLOP counts (flops.c),
 * schedules (schedule.c), the training loop and data (train.c), checkpoints
 * (checkpoint.c), the benchmark (bench.c).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

/* ======================================================================== */
/* The GPT network                                                          */
/* ======================================================================== */

void nn_gpt_free(nn_gpt *g) {
    if (!g) return;
    nn_pool_free(g->pool);
    free(g->params_mem);
    free(g->grads_mem);
    free(g->m_mem);
    free(g->v_mem);
    free(g->acts_mem);
    free(g->inputs);
    free(g->targets);
    free(g);
}

static void views(float *mem, const size_t sz[NN_NTENSORS], nn_params *v) {
    float **p[NN_NTENSORS] = {&v->wte,      &v->wpe,      &v->ln1w, &v->ln1b, &v->qkvw, &v->qkvb,
                              &v->attprojw, &v->attprojb, &v->ln2w, &v->ln2b, &v->fcw,  &v->fcb,
                              &v->fcprojw,  &v->fcprojb,  &v->lnfw, &v->lnfb};
    for (int i = 0; i < NN_NTENSORS; i++) {
        *p[i] = mem;
        mem += sz[i];
    }
}

/* 64-byte aligned, zeroed. */
static float *falloc(size_t n) {
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

int nn_gpt_create(nn_gpt **out, const model_shape *s, int B, int threads, char *err,
                  size_t errlen) {
    *out = NULL;
    int rc = model_shape_check(s, err, errlen);
    if (rc) return rc;
    if (B < 1) return util_err(err, errlen, UTIL_EINVAL, "micro batch must be >= 1, got %d", B);
    if (threads < 1) threads = 1;
    nn_gpt *g = calloc(1, sizeof *g);
    if (!g) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    g->s = *s;
    g->B = B;
    nn_param_sizes(s, g->sizes);
    for (int i = 0; i < NN_NTENSORS; i++)
        g->nparams += g->sizes[i];
    g->params_mem = falloc(g->nparams);
    g->grads_mem = falloc(g->nparams);
    g->m_mem = falloc(g->nparams);
    g->v_mem = falloc(g->nparams);

    size_t L = (size_t)s->n_layer, C = (size_t)s->d_model, F = (size_t)s->d_ff;
    size_t T = (size_t)s->n_ctx, V = (size_t)s->n_vocab, NH = (size_t)s->n_head;
    size_t BT = (size_t)B * T;
    size_t sc = nn_attention_scratch((int)T, (int)C, (int)NH) * (size_t)threads;
    /* activation sizes, in the order of the pointers below */
    size_t asz[] = {
        BT * C, /* encoded */
        L * BT * C,
        L * BT,
        L * BT,                     /* ln1, mean, rstd */
        L * BT * 3 * C,             /* qkv */
        L * BT * C,                 /* atty */
        L * (size_t)B * NH * T * T, /* att */
        L * BT * C,                 /* res2 */
        L * BT * C,
        L * BT,
        L * BT, /* ln2, mean, rstd */
        L * BT * F,
        L * BT * F, /* fch, fch_gelu */
        L * BT * C, /* res3 */
        BT * C,
        BT,
        BT,     /* lnf, mean, rstd */
        BT * V, /* logits */
        BT,     /* losses */
        BT * C, /* tmp */
        BT * C,
        BT * C,
        BT * 3 * C,
        BT * C, /* dres, dln, dqkv, datty */
        BT * F,
        BT * F, /* dfch, dfch_gelu */
        sc,     /* attention scratch */
    };
    float **ap[] = {&g->encoded,   &g->ln1,      &g->ln1_mean, &g->ln1_rstd, &g->qkv,
                    &g->atty,      &g->att,      &g->res2,     &g->ln2,      &g->ln2_mean,
                    &g->ln2_rstd,  &g->fch,      &g->fch_gelu, &g->res3,     &g->lnf,
                    &g->lnf_mean,  &g->lnf_rstd, &g->logits,   &g->losses,   &g->tmp,
                    &g->dres,      &g->dln,      &g->dqkv,     &g->datty,    &g->dfch,
                    &g->dfch_gelu, &g->scratch};
    size_t na = sizeof asz / sizeof asz[0];
    size_t total = 0;
    for (size_t i = 0; i < na; i++)
        total += (asz[i] + 15) / 16 * 16; /* keep 64-byte alignment */
    g->nacts = total;
    g->acts_mem = falloc(total);
    g->inputs = calloc(BT, sizeof(int));
    g->targets = calloc(BT, sizeof(int));
    if (!g->params_mem || !g->grads_mem || !g->m_mem || !g->v_mem || !g->acts_mem || !g->inputs ||
        !g->targets) {
        double gb = (4.0 * g->nparams + total) * 4.0 / 1e9;
        nn_gpt_free(g);
        return util_err(err, errlen, UTIL_ENOMEM,
                        "out of memory: the model needs %.2f GB (try a smaller --micro-batch)", gb);
    }
    float *m = g->acts_mem;
    for (size_t i = 0; i < na; i++) {
        *ap[i] = m;
        m += (asz[i] + 15) / 16 * 16;
    }
    views(g->params_mem, g->sizes, &g->params);
    views(g->grads_mem, g->sizes, &g->grads);
    rc = nn_pool_create(&g->pool, threads, err, errlen);
    if (rc) {
        nn_gpt_free(g);
        return rc;
    }
    /* The pool splits each GEMM; OpenBLAS runs single-threaded inside it. */
    openblas_set_num_threads(1);
    *out = g;
    return 0;
}

size_t nn_gpt_bytes(const nn_gpt *g) {
    return (4 * g->nparams + g->nacts) * sizeof(float) +
           2 * (size_t)g->B * g->s.n_ctx * sizeof(int);
}

void nn_gpt_init(nn_gpt *g, uint64_t seed) {
    util_rng r;
    util_rng_seed(&r, seed, "init");
    float *mem = g->params_mem;
    double std_resid = 0.02 / sqrt(2.0 * g->s.n_layer);
    for (int i = 0; i < NN_NTENSORS; i++) {
        size_t n = g->sizes[i];
        const char *name = nn_tensor_names[i];
        if (nn_tensor_is_matrix[i]) {
            /* GPT-2: residual projections (attention output, MLP output) scaled */
            double std = (i == 6 || i == 12) ? std_resid : 0.02;
            for (size_t j = 0; j < n; j++)
                mem[j] = (float)(std * util_rng_normal(&r));
        } else if (strcmp(name, "ln1w") == 0 || strcmp(name, "ln2w") == 0 ||
                   strcmp(name, "lnfw") == 0) {
            for (size_t j = 0; j < n; j++)
                mem[j] = 1.0f;
        } else {
            memset(mem, 0, n * sizeof(float));
        }
        mem += n;
    }
    memset(g->grads_mem, 0, g->nparams * sizeof(float));
    memset(g->m_mem, 0, g->nparams * sizeof(float));
    memset(g->v_mem, 0, g->nparams * sizeof(float));
}

/* Layer l's activations: views into acts_mem, strided by the allocated B so
 * that a smaller micro batch uses the front of each. */
typedef struct {
    const float *res;         /* (B, T, C) the layer's input residual */
    float *ln1, *ln1m, *ln1r; /* (B, T, C), (B, T), (B, T) */
    float *qkv, *atty;        /* (B, T, 3C), (B, T, C) */
    float *att;               /* (B, NH, T, T) */
    float *res2, *ln2;        /* (B, T, C) */
    float *ln2m, *ln2r;       /* (B, T) */
    float *fch, *fchg;        /* (B, T, F) */
    float *res3;              /* (B, T, C) the layer's output residual */
} layer_acts;

static layer_acts acts_of(const nn_gpt *g, int l) {
    const model_shape *s = &g->s;
    size_t C = (size_t)s->d_model, F = (size_t)s->d_ff, T = (size_t)s->n_ctx;
    size_t NH = (size_t)s->n_head, sBT = (size_t)g->B * T, L = (size_t)l;
    layer_acts a = {
        .res = l == 0 ? g->encoded : g->res3 + (L - 1) * sBT * C,
        .ln1 = g->ln1 + L * sBT * C,
        .ln1m = g->ln1_mean + L * sBT,
        .ln1r = g->ln1_rstd + L * sBT,
        .qkv = g->qkv + L * sBT * 3 * C,
        .atty = g->atty + L * sBT * C,
        .att = g->att + L * (size_t)g->B * NH * T * T,
        .res2 = g->res2 + L * sBT * C,
        .ln2 = g->ln2 + L * sBT * C,
        .ln2m = g->ln2_mean + L * sBT,
        .ln2r = g->ln2_rstd + L * sBT,
        .fch = g->fch + L * sBT * F,
        .fchg = g->fch_gelu + L * sBT * F,
        .res3 = g->res3 + L * sBT * C,
    };
    return a;
}

double nn_gpt_forward(nn_gpt *g, int B) {
    const model_shape *s = &g->s;
    int L = s->n_layer, C = s->d_model, F = s->d_ff, T = s->n_ctx, V = s->n_vocab, NH = s->n_head;
    int N = B * T;
    size_t BT = (size_t)N, sBT = (size_t)g->B * T; /* layer strides use the allocated B */
    nn_pool *p = g->pool;
    nn_params *w = &g->params;
    g->cur_B = B;
    nn_encoder_forward(g->encoded, g->inputs, w->wte, w->wpe, B, T, C, p);
    for (int l = 0; l < L; l++) {
        layer_acts a = acts_of(g, l);
        nn_layernorm_forward(a.ln1, a.ln1m, a.ln1r, a.res, w->ln1w + l * C, w->ln1b + l * C, N, C,
                             p);
        nn_matmul_forward(a.qkv, a.ln1, w->qkvw + (size_t)l * 3 * C * C, w->qkvb + l * 3 * C, N, C,
                          3 * C, p);
        nn_attention_forward(a.atty, a.att, a.qkv, B, T, C, NH, g->scratch, p);
        nn_matmul_forward(g->tmp, a.atty, w->attprojw + (size_t)l * C * C, w->attprojb + l * C, N,
                          C, C, p);
        nn_residual_forward(a.res2, a.res, g->tmp, BT * C, p);
        nn_layernorm_forward(a.ln2, a.ln2m, a.ln2r, a.res2, w->ln2w + l * C, w->ln2b + l * C, N, C,
                             p);
        nn_matmul_forward(a.fch, a.ln2, w->fcw + (size_t)l * F * C, w->fcb + l * F, N, C, F, p);
        nn_gelu_forward(a.fchg, a.fch, BT * F, p);
        nn_matmul_forward(g->tmp, a.fchg, w->fcprojw + (size_t)l * C * F, w->fcprojb + l * C, N, F,
                          C, p);
        nn_residual_forward(a.res3, a.res2, g->tmp, BT * C, p);
    }
    const float *resL = g->res3 + (size_t)(L - 1) * sBT * C;
    nn_layernorm_forward(g->lnf, g->lnf_mean, g->lnf_rstd, resL, w->lnfw, w->lnfb, N, C, p);
    nn_matmul_forward(g->logits, g->lnf, w->wte, NULL, N, C, V, p);
    nn_softmax_xent_forward(g->logits, g->losses, g->targets, N, V, p);
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += g->losses[i];
    return sum / N;
}

void nn_gpt_backward(nn_gpt *g, float scale) {
    const model_shape *s = &g->s;
    int L = s->n_layer, C = s->d_model, F = s->d_ff, T = s->n_ctx, V = s->n_vocab, NH = s->n_head;
    int B = g->cur_B, N = B * T;
    size_t sBT = (size_t)g->B * T;
    nn_pool *p = g->pool;
    nn_params *w = &g->params, *d = &g->grads;
    const float *resL = g->res3 + (size_t)(L - 1) * sBT * C;

    nn_softmax_xent_backward(g->logits, g->targets, scale, N, V, p);
    /* dlnf into dln; dres = 0 then += layernorm backward */
    nn_matmul_backward(g->dln, d->wte, NULL, g->logits, g->lnf, w->wte, N, C, V, p);
    memset(g->dres, 0, sizeof(float) * (size_t)N * C);
    nn_layernorm_backward(g->dres, d->lnfw, d->lnfb, g->dln, resL, w->lnfw, g->lnf_mean,
                          g->lnf_rstd, N, C, p);
    for (int l = L - 1; l >= 0; l--) {
        layer_acts a = acts_of(g, l);
        /* a.res3 = a.res2 + fcproj(gelu(fc(a.ln2(a.res2)))) */
        nn_matmul_backward(g->dfch_gelu, d->fcprojw + (size_t)l * C * F, d->fcprojb + l * C,
                           g->dres, a.fchg, w->fcprojw + (size_t)l * C * F, N, F, C, p);
        nn_gelu_backward(g->dfch, a.fch, g->dfch_gelu, (size_t)N * F, p);
        nn_matmul_backward(g->dln, d->fcw + (size_t)l * F * C, d->fcb + l * F, g->dfch, a.ln2,
                           w->fcw + (size_t)l * F * C, N, C, F, p);
        nn_layernorm_backward(g->dres, d->ln2w + l * C, d->ln2b + l * C, g->dln, a.res2,
                              w->ln2w + l * C, a.ln2m, a.ln2r, N, C, p);
        /* a.res2 = a.res + attproj(attention(a.qkv(a.ln1(a.res)))) */
        nn_matmul_backward(g->datty, d->attprojw + (size_t)l * C * C, d->attprojb + l * C, g->dres,
                           a.atty, w->attprojw + (size_t)l * C * C, N, C, C, p);
        nn_attention_backward(g->dqkv, g->datty, a.qkv, a.att, B, T, C, NH, g->scratch, p);
        nn_matmul_backward(g->dln, d->qkvw + (size_t)l * 3 * C * C, d->qkvb + l * 3 * C, g->dqkv,
                           a.ln1, w->qkvw + (size_t)l * 3 * C * C, N, C, 3 * C, p);
        nn_layernorm_backward(g->dres, d->ln1w + l * C, d->ln1b + l * C, g->dln, a.res,
                              w->ln1w + l * C, a.ln1m, a.ln1r, N, C, p);
    }
    nn_encoder_backward(d->wte, d->wpe, g->dres, g->inputs, B, T, C, p);
}

void nn_gpt_zero_grad(nn_gpt *g) {
    memset(g->grads_mem, 0, g->nparams * sizeof(float));
}

typedef struct {
    nn_gpt *g;
    double partial[256];
    float lr, b1, b2, eps, wd, gscale, bc1, bc2;
} opt_args;

static void norm_task(void *va, int tid, int nt) {
    opt_args *a = va;
    size_t n = a->g->nparams, lo = n * tid / nt, hi = n * (tid + 1) / nt;
    const float *x = a->g->grads_mem;
    double acc[4] = {0};
    size_t i = lo;
    for (; i + 4 <= hi; i += 4)
        for (int l = 0; l < 4; l++)
            acc[l] += (double)x[i + l] * x[i + l];
    for (; i < hi; i++)
        acc[0] += (double)x[i] * x[i];
    a->partial[tid] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

double nn_gpt_grad_norm(nn_gpt *g) {
    opt_args a = {.g = g};
    int nt = nn_pool_threads(g->pool);
    nn_pool_run(nt <= 256 ? g->pool : NULL, norm_task, &a);
    double s = 0;
    for (int i = 0; i < (nt <= 256 ? nt : 1); i++)
        s += a.partial[i];
    return sqrt(s);
}

static void adam_task(void *va, int tid, int nt) {
    opt_args *a = va;
    nn_gpt *g = a->g;
    size_t off = 0;
    for (int k = 0; k < NN_NTENSORS; k++) {
        size_t n = g->sizes[k], lo = off + n * tid / nt, hi = off + n * (tid + 1) / nt;
        float wd = nn_tensor_is_matrix[k] ? a->wd : 0.0f;
        float *p = g->params_mem, *gr = g->grads_mem, *m = g->m_mem, *v = g->v_mem;
        for (size_t i = lo; i < hi; i++) {
            float gi = gr[i] * a->gscale;
            float mi = a->b1 * m[i] + (1.0f - a->b1) * gi;
            float vi = a->b2 * v[i] + (1.0f - a->b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float mh = mi / a->bc1, vh = vi / a->bc2;
            p[i] -= a->lr * (mh / (sqrtf(vh) + a->eps) + wd * p[i]);
        }
        off += n;
    }
}

void nn_gpt_adamw(nn_gpt *g, float lr, float beta1, float beta2, float eps, float wd, float gscale,
                  int64_t t) {
    opt_args a = {
        .g = g, .lr = lr, .b1 = beta1, .b2 = beta2, .eps = eps, .wd = wd, .gscale = gscale};
    a.bc1 = (float)(1.0 - pow(beta1, (double)t));
    a.bc2 = (float)(1.0 - pow(beta2, (double)t));
    nn_pool_run(g->pool, adam_task, &a);
}
