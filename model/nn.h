/*
 * nn.h — the model module's internals, exposed for its tests and its other
 * files: a tiny thread pool, the layer ops (forward/backward pairs, fast and
 * naive), the GPT network with its one-buffer parameter layout, AdamW, and
 * checkpoints. Public API for other modules is model.h; this header is not.
 *
 * Conventions (after llm.c): outputs first, then inputs, then weights, then
 * dimensions, then the pool. Shapes in comments; N = B*T rows of a (B, T, C)
 * row-major activation. Ops never allocate. Backward ops say which outputs
 * they overwrite and which they accumulate into.
 * Threading: matmuls are split across the pool's threads (each calls
 * cblas_sgemm single-threaded on its slab), attention over (batch, head),
 * elementwise ops over rows. A given thread count gives the same bits.
 */
#ifndef SCALING_NN_H
#define SCALING_NN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* ---- Thread pool ---------------------------------------------------------- */

typedef struct nn_pool nn_pool;
typedef void (*nn_task_fn)(void *arg, int tid, int nthreads);

/* nthreads >= 1 (the caller's thread is thread 0). *out NULL on failure. */
int nn_pool_create(nn_pool **out, int nthreads, char *err, size_t errlen);
void nn_pool_free(nn_pool *p); /* accepts NULL */
int nn_pool_threads(const nn_pool *p);
/* Runs fn(arg, tid, n) for tid = 0..n-1 and returns when all are done.
 * p == NULL runs fn(arg, 0, 1) in the caller. */
void nn_pool_run(nn_pool *p, nn_task_fn fn, void *arg);

/* ---- Layer ops (fast) --------------------------------------------------- */

/* out (B,T,C) = wte[tok] + wpe[t]. tok (B,T). */
void nn_encoder_forward(float *out, const int *tok, const float *wte, const float *wpe, int B,
                        int T, int C, nn_pool *p);
/* dwte (V,C), dwpe (T,C) accumulated from dout (B,T,C). */
void nn_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tok, int B, int T,
                         int C, nn_pool *p);

/* out (N,C) = (inp - mean) * rstd * w + b; mean, rstd (N) saved for backward. */
void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C, nn_pool *p);
/* dinp (N,C), dw, db (C): all accumulated. */
void nn_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C,
                           nn_pool *p);

/* out (N,OC) = inp (N,C) . w (OC,C)^T + bias (OC; may be NULL). */
void nn_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                       int C, int OC, nn_pool *p);
/* dinp (N,C) overwritten (may be NULL: skipped); dw (OC,C) and dbias (OC;
 * may be NULL) accumulated. */
void nn_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC, nn_pool *p);

/* Causal multi-head attention. qkv (B,T,3C) holds q | k | v, head h at
 * columns h*hs..; out (B,T,C); att (B,NH,T,T floats) the softmaxed weights
 * saved for the backward: row t valid in columns 0..t (zero after), except
 * for heads of up to 16 with T a multiple of 16, where the small kernels keep
 * each head's weights in their own order (read one with
 * nn_attention_weight). scratch: nn_attention_scratch(T,C,NH) floats per
 * pool thread. */
size_t nn_attention_scratch(int T, int C, int NH);
void nn_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                          float *scratch, nn_pool *p);
/* The weight of key j in row t of head h, sequence b, from att as written
 * by nn_attention_forward. */
float nn_attention_weight(const float *att, int b, int h, int t, int j, int T, int C, int NH);
/* dqkv (B,T,3C) overwritten, from dout (B,T,C). */
void nn_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           int B, int T, int C, int NH, float *scratch, nn_pool *p);

/* GELU, tanh approximation. out/inp (N). Backward overwrites dinp. */
void nn_gelu_forward(float *out, const float *inp, size_t n, nn_pool *p);
void nn_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, nn_pool *p);

/* out = a + b (n). */
void nn_residual_forward(float *out, const float *a, const float *b, size_t n, nn_pool *p);

/* Softmax + cross-entropy. logits (N,V) are replaced by probabilities;
 * losses (N) in nats. targets (N). */
void nn_softmax_xent_forward(float *logits_probs, float *losses, const int *targets, int N, int V,
                             nn_pool *p);
/* probs (N,V) replaced in place by dlogits = (probs - onehot) * scale. */
void nn_softmax_xent_backward(float *probs_dlogits, const int *targets, float scale, int N, int V,
                              nn_pool *p);

/* ---- Layer ops (naive references for tests; double accumulators) ------- */

void nn_matmul_forward_naive(float *out, const float *inp, const float *w, const float *bias, int N,
                             int C, int OC);
void nn_matmul_backward_naive(float *dinp, float *dw, float *dbias, const float *dout,
                              const float *inp, const float *w, int N, int C, int OC);
void nn_attention_forward_naive(float *out, float *att, const float *qkv, int B, int T, int C,
                                int NH);
void nn_attention_backward_naive(float *dqkv, const float *dout, const float *qkv, const float *att,
                                 int B, int T, int C, int NH);
void nn_layernorm_forward_naive(float *out, float *mean, float *rstd, const float *inp,
                                const float *w, const float *b, int N, int C);
void nn_gelu_forward_naive(float *out, const float *inp, size_t n);
void nn_softmax_xent_forward_naive(float *probs, float *losses, const float *logits,
                                   const int *targets, int N, int V);

/* Fast exp used by the ops (relative error < 2e-7 on [-87, 88]). */
float nn_expf(float x);

/* ---- The network ---------------------------------------------------------- */

#define NN_NTENSORS 16
/* Named views into one parameter buffer (per-layer tensors stacked on L). */
typedef struct {
    float *wte;      /* (V, C) token embedding, tied output head */
    float *wpe;      /* (T, C) */
    float *ln1w;     /* (L, C) */
    float *ln1b;     /* (L, C) */
    float *qkvw;     /* (L, 3C, C) */
    float *qkvb;     /* (L, 3C) */
    float *attprojw; /* (L, C, C) */
    float *attprojb; /* (L, C) */
    float *ln2w;     /* (L, C) */
    float *ln2b;     /* (L, C) */
    float *fcw;      /* (L, F, C) */
    float *fcb;      /* (L, F) */
    float *fcprojw;  /* (L, C, F) */
    float *fcprojb;  /* (L, C) */
    float *lnfw;     /* (C) */
    float *lnfb;     /* (C) */
} nn_params;

/* Element counts of the 16 tensors in layout order; the one place the
 * parameter shapes are defined (model_count_params sums these). */
void nn_param_sizes(const model_shape *s, size_t sizes[NN_NTENSORS]);
extern const char *const nn_tensor_names[NN_NTENSORS];
extern const int nn_tensor_is_matrix[NN_NTENSORS]; /* weight decay applies */

typedef struct {
    model_shape s;
    int B; /* max sequences per forward */
    size_t nparams;
    size_t sizes[NN_NTENSORS];
    float *params_mem, *grads_mem, *m_mem, *v_mem; /* (nparams) each */
    nn_params params, grads;
    /* activations, sized once for B sequences of T = n_ctx tokens */
    float *acts_mem;
    size_t nacts;                     /* floats in acts_mem */
    float *encoded;                   /* (B,T,C) */
    float *ln1, *ln1_mean, *ln1_rstd; /* (L,B,T,C), (L,B,T), (L,B,T) */
    float *qkv;                       /* (L,B,T,3C) */
    float *atty;                      /* (L,B,T,C) */
    float *att;                       /* (L,B,NH,T,T) */
    float *res2;                      /* (L,B,T,C) after attention residual */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fch_gelu;            /* (L,B,T,F) */
    float *res3;                      /* (L,B,T,C) block output */
    float *lnf, *lnf_mean, *lnf_rstd; /* (B,T,C), (B,T), (B,T) */
    float *logits;                    /* (B,T,V) logits -> probs -> dlogits */
    float *losses;                    /* (B,T) */
    float *tmp;                       /* (B,T,C) projection outputs before the residual add */
    /* gradient scratch for one layer at a time */
    float *dres;             /* (B,T,C) gradient of the residual stream */
    float *dln;              /* (B,T,C) */
    float *dqkv;             /* (B,T,3C) */
    float *datty;            /* (B,T,C) */
    float *dfch, *dfch_gelu; /* (B,T,F) */
    float *scratch;          /* attention scratch, per thread */
    int *inputs, *targets;   /* (B,T) */
    int cur_B;               /* sequences in the last forward */
    nn_pool *pool;
} nn_gpt;

/* Allocates everything for micro-batches of up to B sequences; sets
 * OpenBLAS to one thread (the pool splits the GEMMs). Params are zero. */
int nn_gpt_create(nn_gpt **out, const model_shape *s, int B, int threads, char *err, size_t errlen);
void nn_gpt_free(nn_gpt *g);          /* accepts NULL */
size_t nn_gpt_bytes(const nn_gpt *g); /* params+grads+m+v+activations, bytes */
/* GPT-2 init from util_rng(seed, "init"): N(0, 0.02), residual projections
 * N(0, 0.02/sqrt(2L)), biases 0, layernorm weights 1. Zeroes m, v, grads. */
void nn_gpt_init(nn_gpt *g, uint64_t seed);
/* Forward on g->inputs/targets for B sequences; returns mean loss, nats/token. */
double nn_gpt_forward(nn_gpt *g, int B);
/* Backward of the last forward, accumulating into grads: the gradient of
 * scale * sum(token losses). */
void nn_gpt_backward(nn_gpt *g, float scale);
void nn_gpt_zero_grad(nn_gpt *g);
double nn_gpt_grad_norm(nn_gpt *g); /* global L2 norm of grads */
/* AdamW step t (1-based), grads multiplied by gscale first; decoupled
 * weight decay wd on matrices only. */
void nn_gpt_adamw(nn_gpt *g, float lr, float beta1, float beta2, float eps, float wd, float gscale,
                  int64_t t);

/* ---- Checkpoints -------------------------------------------------------- */

#define NN_CKPT_MAGIC 0x54504b434c435353ULL /* "SSCLCKPT" little-endian */
#define NN_CKPT_VERSION 1

/* Training-loop state saved next to parameters and AdamW moments. */
typedef struct {
    char run_id[17];           /* the configuration that wrote it */
    int64_t step;              /* optimizer steps done */
    int64_t tokens;            /* tokens trained */
    util_rng data_rng;         /* the window sampler's state = data position */
    double best_val;           /* best validation loss so far (inf if none) */
    double last_val, last_bpb; /* last validation (NaN if none) */
    double last_train;         /* last step's train loss */
    int32_t bad_evals;         /* evals since best_val improved */
    int32_t evals_done;        /* eval points passed */
    double elapsed;            /* training seconds before this process */
} nn_ckpt_state;

/* Atomic write: header, state, params, m, v, FNV-1a 64 checksum. */
int nn_ckpt_save(const char *path, const nn_gpt *g, const nn_ckpt_state *st, char *err,
                 size_t errlen);
/* Reads and verifies (magic, version, shape, size, checksum) into g and st;
 * UTIL_ECORRUPT naming the file on any mismatch, g unchanged then. */
int nn_ckpt_load(const char *path, nn_gpt *g, nn_ckpt_state *st, char *err, size_t errlen);

#endif
