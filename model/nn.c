/*
 * nn.c — the thread pool and the layer ops of the Transformer (forward and
 * backward), plus naive reference versions used by the tests.
 *
 * Fast ops: GEMMs through cblas_sgemm, each pool thread on its own slab
 * (OpenBLAS itself is set to one thread, so there is one set of threads and
 * no two pools spin against each other); attention per (batch, head), as
 * blocked sgemms over the causal lower triangle for heads of 32 and more, as
 * hand-vectorised small kernels (vector types) for heads up to 16, where a
 * BLAS call per 64 x 64 x 8 product costs more than its arithmetic;
 * elementwise loops split by rows.
 * Reductions use 8 independent lanes so that -O3 vectorizes them without
 * -ffast-math; the split of work depends only on the thread count, so a run
 * is bit-for-bit reproducible at a given thread count.
 * Does not own: the network's layout (model.c), training (train.c).
 */
#include <cblas.h>
#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

/* ======================================================================== */
/* Thread pool                                                              */
/* ======================================================================== */

struct nn_pool {
    int n;         /* threads including the caller */
    pthread_t *th; /* n - 1 workers */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    nn_task_fn fn;
    void *arg;
    atomic_uint gen;    /* bumped once per task */
    atomic_int pending; /* workers still running the task */
    atomic_int quit;
};

typedef struct {
    nn_pool *p;
    int tid;
} pool_worker_arg;

#define POOL_SPIN 2000 /* polls before sleeping (some microseconds) */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *pool_worker(void *varg) {
    pool_worker_arg *wa = varg;
    nn_pool *p = wa->p;
    int tid = wa->tid;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit) && spins < POOL_SPIN) {
            cpu_relax();
            spins++;
        }
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->go, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) break;
        seen = atomic_load(&p->gen);
        p->fn(p->arg, tid, p->n);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int nn_pool_create(nn_pool **out, int nthreads, char *err, size_t errlen) {
    *out = NULL;
    if (nthreads < 1)
        return util_err(err, errlen, UTIL_EINVAL, "threads must be >= 1, got %d", nthreads);
    nn_pool *p = calloc(1, sizeof *p);
    if (!p) return util_err(err, errlen, UTIL_ENOMEM, "out of memory (thread pool)");
    p->n = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, 0);
    if (nthreads > 1) {
        p->th = calloc((size_t)nthreads - 1, sizeof *p->th);
        if (!p->th) {
            nn_pool_free(p);
            return util_err(err, errlen, UTIL_ENOMEM, "out of memory (thread pool)");
        }
        for (int i = 1; i < nthreads; i++) {
            pool_worker_arg *wa = malloc(sizeof *wa);
            if (wa) {
                wa->p = p;
                wa->tid = i;
            }
            if (!wa || pthread_create(&p->th[i - 1], NULL, pool_worker, wa) != 0) {
                free(wa);
                p->n = i; /* only i-1 workers exist */
                nn_pool_free(p);
                return util_err(err, errlen, UTIL_ENOMEM, "cannot start thread %d of %d", i,
                                nthreads);
            }
        }
    }
    *out = p;
    return 0;
}

void nn_pool_free(nn_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    if (p->th)
        for (int i = 1; i < p->n; i++)
            pthread_join(p->th[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p);
}

int nn_pool_threads(const nn_pool *p) {
    return p ? p->n : 1;
}

void nn_pool_run(nn_pool *p, nn_task_fn fn, void *arg) {
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    int spins = 0;
    while (atomic_load(&p->pending) > 0 && spins < POOL_SPIN) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

/* [lo, hi) of n items for thread tid of nt: contiguous, fixed by (n, nt). */
static inline void split(size_t n, int tid, int nt, size_t *lo, size_t *hi) {
    *lo = n * (size_t)tid / (size_t)nt;
    *hi = n * (size_t)(tid + 1) / (size_t)nt;
}

/* ======================================================================== */
/* Vectorizable math                                                        */
/* ======================================================================== */

/* exp(x) by range reduction x = n ln2 + r and the Cephes polynomial, written
 * branch-free so that loops calling it vectorize. */
static inline float fast_expf(float x) {
    x = !(x > -87.0f) ? -87.0f : x; /* NaN maps here too: no float->int of a NaN below */
    x = x > 88.0f ? 88.0f : x;
    /* round to nearest by the 1.5 * 2^23 trick (floorf blocks vectorization) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float q = 1.9875691500E-4f;
    q = q * r + 1.3981999507E-3f;
    q = q * r + 8.3334519073E-3f;
    q = q * r + 4.1665795894E-2f;
    q = q * r + 1.6666665459E-1f;
    q = q * r + 5.0000001201E-1f;
    float y = q * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* n in [-126, 127] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

float nn_expf(float x) {
    return fast_expf(x);
}

static inline float fast_tanhf(float u) {
    u = u > 9.0f ? 9.0f : u;
    u = !(u > -9.0f) ? -9.0f : u;
    return 1.0f - 2.0f / (fast_expf(2.0f * u) + 1.0f);
}

static inline float sum8(const float *x, int n) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += x[j + l];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++)
        s += x[j];
    return s;
}

static inline float dot8(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += a[j + l] * b[j + l];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++)
        s += a[j] * b[j];
    return s;
}

static inline float max8(const float *x, int n) {
    float acc[8];
    int j = 0;
    for (int l = 0; l < 8; l++)
        acc[l] = -INFINITY;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++)
            acc[l] = acc[l] > x[j + l] ? acc[l] : x[j + l];
    float m = -INFINITY;
    for (int l = 0; l < 8; l++)
        m = m > acc[l] ? m : acc[l];
    for (; j < n; j++)
        m = m > x[j] ? m : x[j];
    return m;
}

/* ======================================================================== */
/* Encoder                                                                  */
/* ======================================================================== */

typedef struct {
    float *out, *dwte, *dwpe;
    const float *dout, *wte, *wpe;
    const int *tok;
    int B, T, C;
} enc_args;

static void enc_fwd_task(void *va, int tid, int nt) {
    enc_args *a = va;
    size_t lo, hi;
    split((size_t)a->B * a->T, tid, nt, &lo, &hi);
    int C = a->C;
    for (size_t r = lo; r < hi; r++) {
        int t = (int)(r % (size_t)a->T);
        const float *we = a->wte + (size_t)a->tok[r] * C, *pe = a->wpe + (size_t)t * C;
        float *o = a->out + r * C;
        for (int c = 0; c < C; c++)
            o[c] = we[c] + pe[c];
    }
}

void nn_encoder_forward(float *out, const int *tok, const float *wte, const float *wpe, int B,
                        int T, int C, nn_pool *p) {
    enc_args a = {.out = out, .tok = tok, .wte = wte, .wpe = wpe, .B = B, .T = T, .C = C};
    nn_pool_run(p, enc_fwd_task, &a);
}

/* Split by channel so that scattered rows of dwte never race. */
static void enc_bwd_task(void *va, int tid, int nt) {
    enc_args *a = va;
    size_t lo, hi;
    split((size_t)a->C, tid, nt, &lo, &hi);
    int C = a->C;
    for (int b = 0; b < a->B; b++)
        for (int t = 0; t < a->T; t++) {
            size_t r = (size_t)b * a->T + t;
            const float *d = a->dout + r * C;
            float *we = a->dwte + (size_t)a->tok[r] * C, *pe = a->dwpe + (size_t)t * C;
            for (size_t c = lo; c < hi; c++) {
                we[c] += d[c];
                pe[c] += d[c];
            }
        }
}

void nn_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tok, int B, int T,
                         int C, nn_pool *p) {
    enc_args a = {.dwte = dwte, .dwpe = dwpe, .dout = dout, .tok = tok, .B = B, .T = T, .C = C};
    nn_pool_run(p, enc_bwd_task, &a);
}

/* ======================================================================== */
/* LayerNorm                                                                */
/* ======================================================================== */

typedef struct {
    float *out, *mean, *rstd, *dinp, *dw, *db;
    const float *inp, *w, *b, *dout, *cmean, *crstd;
    int N, C;
} ln_args;

static void ln_fwd_task(void *va, int tid, int nt) {
    ln_args *a = va;
    size_t lo, hi;
    split((size_t)a->N, tid, nt, &lo, &hi);
    int C = a->C;
    for (size_t r = lo; r < hi; r++) {
        const float *x = a->inp + r * C;
        float m = sum8(x, C) / C;
        float acc[8] = {0};
        int j = 0;
        for (; j + 8 <= C; j += 8)
            for (int l = 0; l < 8; l++) {
                float d = x[j + l] - m;
                acc[l] += d * d;
            }
        float v = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; j < C; j++)
            v += (x[j] - m) * (x[j] - m);
        v /= C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        float *o = a->out + r * C;
        const float *w = a->w, *bb = a->b;
        for (int c = 0; c < C; c++)
            o[c] = (x[c] - m) * s * w[c] + bb[c];
        a->mean[r] = m;
        a->rstd[r] = s;
    }
}

void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C, nn_pool *p) {
    ln_args a = {
        .out = out, .mean = mean, .rstd = rstd, .inp = inp, .w = w, .b = b, .N = N, .C = C};
    nn_pool_run(p, ln_fwd_task, &a);
}

static void ln_bwd_task(void *va, int tid, int nt) {
    ln_args *a = va;
    int C = a->C;
    size_t lo, hi;
    /* dinp: rows */
    split((size_t)a->N, tid, nt, &lo, &hi);
    for (size_t r = lo; r < hi; r++) {
        const float *x = a->inp + r * C, *d = a->dout + r * C;
        float m = a->cmean[r], s = a->crstd[r];
        float acc1[8] = {0}, acc2[8] = {0};
        const float *wv = a->w;
        int j = 0;
        for (; j + 8 <= C; j += 8)
            for (int l = 0; l < 8; l++) {
                float dn = wv[j + l] * d[j + l];
                acc1[l] += dn;
                acc2[l] += dn * (x[j + l] - m) * s;
            }
        float dmean = 0, dnorm = 0;
        for (int l = 0; l < 8; l++) {
            dmean += acc1[l];
            dnorm += acc2[l];
        }
        for (; j < C; j++) {
            float dn = a->w[j] * d[j];
            dmean += dn;
            dnorm += dn * (x[j] - m) * s;
        }
        dmean /= C;
        dnorm /= C;
        float *di = a->dinp + r * C;
        const float *w = a->w;
        for (int c = 0; c < C; c++) {
            float nrm = (x[c] - m) * s;
            di[c] += (w[c] * d[c] - dmean - nrm * dnorm) * s;
        }
        if (nt == 1) { /* dw, db while the row is in cache: ln_bwd_w_task's sums, same order */
            float *restrict dw = a->dw, *restrict db = a->db;
            for (int c = 0; c < C; c++) {
                dw[c] += d[c] * (x[c] - m) * s;
                db[c] += d[c];
            }
        }
    }
}

/* dw, db: split by channel so every thread sums all rows for its channels. */
static void ln_bwd_w_task(void *va, int tid, int nt) {
    ln_args *a = va;
    int C = a->C;
    size_t lo, hi;
    split((size_t)C, tid, nt, &lo, &hi);
    for (int r = 0; r < a->N; r++) {
        const float *x = a->inp + (size_t)r * C, *d = a->dout + (size_t)r * C;
        float m = a->cmean[r], s = a->crstd[r];
        float *restrict dw = a->dw, *restrict db = a->db;
        for (size_t c = lo; c < hi; c++) {
            dw[c] += d[c] * (x[c] - m) * s;
            db[c] += d[c];
        }
    }
}

void nn_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C,
                           nn_pool *p) {
    ln_args a = {.dinp = dinp,
                 .dw = dw,
                 .db = db,
                 .dout = dout,
                 .inp = inp,
                 .w = w,
                 .cmean = mean,
                 .crstd = rstd,
                 .N = N,
                 .C = C};
    nn_pool_run(p, ln_bwd_task, &a);
    if (nn_pool_threads(p) > 1) nn_pool_run(p, ln_bwd_w_task, &a);
}

/* ======================================================================== */
/* Matmul                                                                   */
/* ======================================================================== */

typedef struct {
    float *out, *dinp, *dw, *dbias;
    const float *inp, *w, *bias, *dout;
    int N, C, OC;
} mm_args;

#define MM_PREFILL_MAX_K 256 /* see mm_fwd_task */

static void mm_fwd_task(void *va, int tid, int nt) {
    mm_args *a = va;
    size_t lo, hi;
    split((size_t)a->N, tid, nt, &lo, &hi);
    if (hi <= lo) return;
    int rows = (int)(hi - lo);
    float *o = a->out + lo * a->OC;
    /* With a bias and a short sum the rows start as the bias and sgemm adds to
     * them (beta 1): one write pass instead of OpenBLAS zeroing C for beta 0
     * and a second pass adding the bias, and the same bits, round(sum + bias),
     * as long as OpenBLAS sums all C terms in one K block (320 on Cooperlake;
     * MM_PREFILL_MAX_K stays below that). Longer sums keep the two passes. */
    int prefill = a->bias && a->C <= MM_PREFILL_MAX_K;
    if (prefill)
        for (int r = 0; r < rows; r++)
            memcpy(o + (size_t)r * a->OC, a->bias, sizeof(float) * (size_t)a->OC);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, a->OC, a->C, 1.0f,
                a->inp + lo * a->C, a->C, a->w, a->C, prefill ? 1.0f : 0.0f, o, a->OC);
    if (a->bias && !prefill)
        for (int r = 0; r < rows; r++) {
            float *orow = o + (size_t)r * a->OC;
            for (int c = 0; c < a->OC; c++)
                orow[c] += a->bias[c];
        }
}

void nn_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                       int C, int OC, nn_pool *p) {
    mm_args a = {.out = out, .inp = inp, .w = w, .bias = bias, .N = N, .C = C, .OC = OC};
    nn_pool_run(p, mm_fwd_task, &a);
}

static void mm_bwd_task(void *va, int tid, int nt) {
    mm_args *a = va;
    size_t lo, hi;
    if (a->dinp) { /* dinp (N,C) = dout (N,OC) . w (OC,C), by rows */
        split((size_t)a->N, tid, nt, &lo, &hi);
        if (hi > lo)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(hi - lo), a->C, a->OC,
                        1.0f, a->dout + lo * a->OC, a->OC, a->w, a->C, 0.0f, a->dinp + lo * a->C,
                        a->C);
    }
    /* dw (OC,C) += dout^T (OC,N) . inp (N,C), by output rows */
    split((size_t)a->OC, tid, nt, &lo, &hi);
    if (hi <= lo) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(hi - lo), a->C, a->N, 1.0f,
                a->dout + lo, a->OC, a->inp, a->C, 1.0f, a->dw + lo * a->C, a->C);
    if (a->dbias)
        for (int r = 0; r < a->N; r++) {
            const float *d = a->dout + (size_t)r * a->OC;
            for (size_t c = lo; c < hi; c++)
                a->dbias[c] += d[c];
        }
}

void nn_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC, nn_pool *p) {
    mm_args a = {.dinp = dinp,
                 .dw = dw,
                 .dbias = dbias,
                 .dout = dout,
                 .inp = inp,
                 .w = w,
                 .N = N,
                 .C = C,
                 .OC = OC};
    nn_pool_run(p, mm_bwd_task, &a);
}

/* ======================================================================== */
/* Attention                                                                */
/* ======================================================================== */

/* Per (batch, head) as blocked sgemms that skip the upper triangle: rows of
 * the T x T score matrix in blocks of ATT_TB; row block [t0, t1) only needs
 * key columns [0, t1). Per thread: one T x T scratch for the backward. */
#define ATT_TB 64

size_t nn_attention_scratch(int T, int C, int NH) {
    /* dscores (T, Tp), transposed keys or values (hs, Tp), one row (Tp);
     * Tp = T rounded up to ATT_JB */
    size_t Tp = (size_t)(T + 15) / 16 * 16;
    return Tp * (Tp + (size_t)(C / NH) + 16) + 16;
}

typedef struct {
    float *out, *att, *dqkv;
    const float *qkv, *dout, *catt;
    int B, T, C, NH;
    float *scratch;
    size_t scratch_per;
} att_args;

/* Small heads (hs <= ATT_SMALL_HS; the sweeps use 8): a 64 x 64 x 8 product
 * is far too small for a BLAS call (the call and its packing cost more than
 * the arithmetic), so these kernels are written with GCC/Clang vector types,
 * which the compiler maps onto whatever the target has (AVX-512 or AVX2
 * under -march=native, SSE2 or scalar code elsewhere: the portable path is
 * the same source):
 *  - forward: ATT_JB query rows at a time, one per lane, so that the scores,
 *    the softmax and att V never reduce across lanes;
 *  - backward: a dscore row ATT_JB keys at a time against a transposed,
 *    zero-padded copy of V; dQ = D K and the transposed products
 *    dK = D^T Q, dV = att^T dO keep ATT_RB rows (or key columns) of one
 *    hs-wide accumulator each in registers.
 * Sums run in a fixed order, so the bits depend only on the shapes; they
 * differ from the sgemm path's in rounding (OpenBLAS orders its sums its own
 * way). */
#if defined(__GNUC__) && !defined(__clang__)
/* Without AVX-512 GCC notes that passing 64-byte vectors by value has no
 * settled ABI; these helpers are static, so no such call leaves this file. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#define ATT_SMALL_HS 16
#define ATT_JB 16 /* keys per block of a score row = lanes of att_v16 */
#define ATT_RB 8  /* rows (or key columns) accumulated together */

typedef float att_v16 __attribute__((vector_size(64)));
typedef int32_t att_i16 __attribute__((vector_size(64)));
typedef float att_v8 __attribute__((vector_size(32)));
typedef float att_v4 __attribute__((vector_size(16)));

static inline int att_pad(int T) {
    return (T + ATT_JB - 1) / ATT_JB * ATT_JB;
}

static inline att_v16 v16_load(const float *p) {
    att_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v16_store(float *p, att_v16 v) {
    memcpy(p, &v, sizeof v);
}

static inline att_v16 v16_splat(float x) {
    return (att_v16){0} + x;
}

/* m ? a : b, lane by lane (m all ones or all zeros per lane). */
static inline att_v16 v16_select(att_i16 m, att_v16 a, att_v16 b) {
    return (att_v16)(((att_i16)a & m) | ((att_i16)b & ~m));
}

/* s > m ? s : m and s < m ? s : m, lane by lane: one instruction where the
 * target has it (MAXPS/MINPS compute exactly these, NaN in s giving m), as
 * the select's three bit operations made the running maximum of the scores
 * a chain of dependent instructions (perf: ~20% of the forward kernel). */
#if defined(__AVX512F__)
#define V16_MAXMIN(NAME, OP, CMP)                                                                  \
    static inline att_v16 NAME(att_v16 s, att_v16 m) {                                             \
        return (att_v16)_mm512_##OP##_ps((__m512)s, (__m512)m);                                    \
    }
#elif defined(__AVX__)
#define V16_MAXMIN(NAME, OP, CMP)                                                                  \
    static inline att_v16 NAME(att_v16 s, att_v16 m) {                                             \
        att_v8 lo = __builtin_shufflevector(s, s, 0, 1, 2, 3, 4, 5, 6, 7),                         \
               hi = __builtin_shufflevector(s, s, 8, 9, 10, 11, 12, 13, 14, 15),                   \
               mlo = __builtin_shufflevector(m, m, 0, 1, 2, 3, 4, 5, 6, 7),                        \
               mhi = __builtin_shufflevector(m, m, 8, 9, 10, 11, 12, 13, 14, 15);                  \
        lo = (att_v8)_mm256_##OP##_ps((__m256)lo, (__m256)mlo);                                    \
        hi = (att_v8)_mm256_##OP##_ps((__m256)hi, (__m256)mhi);                                    \
        return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,   \
                                       15);                                                        \
    }
#else
#define V16_MAXMIN(NAME, OP, CMP)                                                                  \
    static inline att_v16 NAME(att_v16 s, att_v16 m) {                                             \
        return v16_select(s CMP m, s, m);                                                          \
    }
#endif
V16_MAXMIN(v16_max, max, >)
V16_MAXMIN(v16_min, min, <)

/* Sum of the lanes by halving (a fixed order). */
static inline float v16_hsum(att_v16 v) {
    att_v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    att_v4 c =
        __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
    return (c[0] + c[2]) + (c[1] + c[3]);
}

/* The largest lane (exact: any order gives the same value). */
static inline float v16_hmax(att_v16 v) {
    float m = v[0];
    for (int l = 1; l < ATT_JB; l++)
        m = v[l] > m ? v[l] : m;
    return m;
}

/* fast_expf on 16 lanes: the same reduction and polynomial. */
static inline att_v16 v16_exp(att_v16 x) {
    x = v16_max(x, v16_splat(-87.0f));  /* x > -87 ? x : -87 (NaN -> -87) */
    x = v16_min(v16_splat(88.0f), x);   /* 88 < x ? 88 : x */
    att_v16 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    att_v16 r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    att_v16 q = v16_splat(1.9875691500E-4f);
    q = q * r + 1.3981999507E-3f;
    q = q * r + 8.3334519073E-3f;
    q = q * r + 4.1665795894E-2f;
    q = q * r + 1.6666665459E-1f;
    q = q * r + 5.0000001201E-1f;
    att_v16 y = q * r * r + r + 1.0f;
    att_i16 bits = (__builtin_convertvector(n, att_i16) + 127) << 23;
    return y * (att_v16)bits;
}

/* Kt (hs, Tp) = columns [0, hs) of src (T rows, row stride ld), transposed;
 * zero in columns [T, Tp). */
static void att_transpose(float *restrict Kt, const float *restrict src, int T, int Tp, int ld,
                          int hs) {
    for (int j = 0; j < T; j++)
        for (int d = 0; d < hs; d++)
            Kt[(size_t)d * Tp + j] = src[(size_t)j * ld + d];
    for (int d = 0; d < hs; d++)
        for (int j = T; j < Tp; j++)
            Kt[(size_t)d * Tp + j] = 0.0f;
}

static const att_i16 att_iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* row[0, nb ATT_JB) = q (hs) . Kt[:, 0, nb ATT_JB). */
static inline void att_dots(float *restrict row, const float *restrict q, const float *restrict Kt,
                            int Tp, int nb, int hs) {
    for (int b = 0; b < nb; b++) {
        const float *k = Kt + b * ATT_JB;
        att_v16 acc = q[0] * v16_load(k);
        for (int d = 1; d < hs; d++)
            acc += q[d] * v16_load(k + (size_t)d * Tp);
        v16_store(row + b * ATT_JB, acc);
    }
}

/* att_rows_times: out[t, :] (row stride ldo) = sum_j W[t, j] X[j, :] (row
 * stride ldx) for t in [0, T), j up to the end of t's block of ATT_RB rows:
 * W (row stride ldw) must be zero above the diagonal that far.
 * att_cols_times: out[j, :] = sum_{t >= j0} W[t, j] X[t, :] for j in [0, T),
 * j0 the start of j's block of ATT_RB columns: W^T X, W zero above the
 * diagonal likewise. One version per vector type VT of hs lanes (one
 * accumulator per row or column), and a plain one for any hs. */
#define ATT_DEFINE_TIMES(SUF, VT)                                                                  \
    static void att_rows_times_##SUF(float *restrict out, int ldo, const float *restrict W,        \
                                     int ldw, const float *restrict X, int ldx, int T, int hs) {   \
        (void)hs;                                                                                  \
        for (int t0 = 0; t0 < T; t0 += ATT_RB) {                                                   \
            int nr = T - t0 < ATT_RB ? T - t0 : ATT_RB, jn = t0 + nr;                              \
            const float *w0 = W + (size_t)t0 * ldw;                                                \
            VT acc[ATT_RB];                                                                        \
            for (int r = 0; r < ATT_RB; r++)                                                       \
                acc[r] = (VT){0};                                                                  \
            for (int j = 0; j < jn; j++) {                                                         \
                VT x;                                                                              \
                memcpy(&x, X + (size_t)j * ldx, sizeof x);                                         \
                if (nr == ATT_RB)                                                                  \
                    for (int r = 0; r < ATT_RB; r++)                                               \
                        acc[r] += w0[(size_t)r * ldw + j] * x;                                     \
                else                                                                               \
                    for (int r = 0; r < nr; r++)                                                   \
                        acc[r] += w0[(size_t)r * ldw + j] * x;                                     \
            }                                                                                      \
            for (int r = 0; r < nr; r++)                                                           \
                memcpy(out + (size_t)(t0 + r) * ldo, &acc[r], sizeof acc[r]);                      \
        }                                                                                          \
    }                                                                                              \
    static void att_cols_times_##SUF(float *restrict out, int ldo, const float *restrict W,        \
                                     int ldw, const float *restrict X, int ldx, int T, int hs) {   \
        (void)hs;                                                                                  \
        for (int j0 = 0; j0 < T; j0 += ATT_RB) {                                                   \
            int nc = T - j0 < ATT_RB ? T - j0 : ATT_RB;                                            \
            VT acc[ATT_RB];                                                                        \
            for (int c = 0; c < ATT_RB; c++)                                                       \
                acc[c] = (VT){0};                                                                  \
            for (int t = j0; t < T; t++) {                                                         \
                VT x;                                                                              \
                memcpy(&x, X + (size_t)t * ldx, sizeof x);                                         \
                const float *w = W + (size_t)t * ldw + j0;                                         \
                if (nc == ATT_RB)                                                                  \
                    for (int c = 0; c < ATT_RB; c++)                                               \
                        acc[c] += w[c] * x;                                                        \
                else                                                                               \
                    for (int c = 0; c < nc; c++)                                                   \
                        acc[c] += w[c] * x;                                                        \
            }                                                                                      \
            for (int c = 0; c < nc; c++)                                                           \
                memcpy(out + (size_t)(j0 + c) * ldo, &acc[c], sizeof acc[c]);                      \
        }                                                                                          \
    }
ATT_DEFINE_TIMES(16, att_v16)
ATT_DEFINE_TIMES(8, att_v8)
ATT_DEFINE_TIMES(4, att_v4)

static void att_rows_times_any(float *restrict out, int ldo, const float *restrict W, int ldw,
                               const float *restrict X, int ldx, int T, int hs) {
    for (int t = 0; t < T; t++) {
        int jn = (t / ATT_RB + 1) * ATT_RB < T ? (t / ATT_RB + 1) * ATT_RB : T;
        for (int d = 0; d < hs; d++) {
            float s = 0.0f;
            for (int j = 0; j < jn; j++)
                s += W[(size_t)t * ldw + j] * X[(size_t)j * ldx + d];
            out[(size_t)t * ldo + d] = s;
        }
    }
}

static void att_cols_times_any(float *restrict out, int ldo, const float *restrict W, int ldw,
                               const float *restrict X, int ldx, int T, int hs) {
    for (int j = 0; j < T; j++) {
        int j0 = j / ATT_RB * ATT_RB;
        for (int d = 0; d < hs; d++) {
            float s = 0.0f;
            for (int t = j0; t < T; t++)
                s += W[(size_t)t * ldw + j] * X[(size_t)t * ldx + d];
            out[(size_t)j * ldo + d] = s;
        }
    }
}

typedef void (*att_times_fn)(float *restrict out, int ldo, const float *restrict W, int ldw,
                             const float *restrict X, int ldx, int T, int hs);

/* Offset of row block k (rows 16k..16k+15) in a head's weights stored by
 * lanes: block k holds, for each key j < 16 (k + 1), the 16 rows' weights
 * (key-major), 128 k (k + 1) floats before it; T^2 floats in all when T is
 * a multiple of ATT_JB. */
static inline size_t att_lane_off(int k) {
    return (size_t)ATT_JB * ATT_JB / 2 * (size_t)k * (size_t)(k + 1);
}

/* One (batch, head) forward, ATT_JB query rows at a time with one row per
 * lane, so that nothing is reduced across lanes: the scores come out
 * transposed (key j: the 16 rows' scores), the softmax runs down each lane,
 * and att V is hs accumulators of 16 rows. lanes (T a multiple of ATT_JB):
 * the weights stay in A in that order (att_lane_off); otherwise they go
 * through P (Tp x ATT_JB scratch) into A's rows. */
static inline __attribute__((always_inline)) void
att_small_fwd(float *o, float *A, const float *q, int T, int C, int hs, float *P0, int lanes) {
    int ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int t0 = 0; t0 < T; t0 += ATT_JB) {
        int nr = T - t0 < ATT_JB ? T - t0 : ATT_JB, jn = t0 + nr;
        float *P = lanes ? A + att_lane_off(t0 / ATT_JB) : P0;
        att_v16 qt[ATT_SMALL_HS] = {{0}}, acc[ATT_SMALL_HS] = {{0}};
        for (int d = 0; d < hs; d++) {
            for (int l = 0; l < nr; l++)
                qt[d][l] = q[(size_t)(t0 + l) * ld + d];
        }
        /* scores; lane l (row t0 + l) sees keys j <= t0 + l */
        att_v16 mx = v16_splat(-INFINITY);
        for (int j = 0; j < jn; j++) {
            const float *k = q + C + (size_t)j * ld;
            att_v16 s = qt[0] * k[0];
            for (int d = 1; d < hs; d++)
                s += qt[d] * k[d];
            s *= scale;
            if (j > t0) s = v16_select(att_iota + t0 >= j, s, v16_splat(-INFINITY));
            v16_store(P + (size_t)j * ATT_JB, s);
            mx = v16_max(s, mx);
        }
        att_v16 sum = v16_splat(0.0f);
        for (int j = 0; j < jn; j++) {
            att_v16 e = v16_exp(v16_load(P + (size_t)j * ATT_JB) - mx);
            if (j > t0) e = v16_select(att_iota + t0 >= j, e, v16_splat(0.0f));
            v16_store(P + (size_t)j * ATT_JB, e);
            sum += e;
        }
        att_v16 inv = 1.0f / sum;
        /* normalise, and out = att V */
        for (int j = 0; j < jn; j++) {
            att_v16 pj = v16_load(P + (size_t)j * ATT_JB) * inv;
            v16_store(P + (size_t)j * ATT_JB, pj);
            const float *v = q + 2 * C + (size_t)j * ld;
            for (int d = 0; d < hs; d++)
                acc[d] += pj * v[d];
        }
        for (int l = 0; l < nr; l++) {
            float *orow = o + (size_t)(t0 + l) * C;
            for (int d = 0; d < hs; d++)
                orow[d] = acc[d][l];
        }
        if (lanes) continue;
        for (int l = 0; l < nr; l++) {
            float *row = A + (size_t)(t0 + l) * T;
            for (int j = 0; j < jn; j++)
                row[j] = P[(size_t)j * ATT_JB + l];
            for (int j = jn; j < T; j++)
                row[j] = 0.0f;
        }
    }
}

/* hs as a constant where it is common, so the channel loops unroll. */
static void att_small_fwd_any(float *o, float *A, const float *q, int T, int C, int hs, float *P) {
    int lanes = T % ATT_JB == 0;
    if (hs == 8)
        att_small_fwd(o, A, q, T, C, 8, P, lanes);
    else if (hs == 16)
        att_small_fwd(o, A, q, T, C, 16, P, lanes);
    else if (hs == 4)
        att_small_fwd(o, A, q, T, C, 4, P, lanes);
    else
        att_small_fwd(o, A, q, T, C, hs, P, lanes);
}

/* att_cols_times for weights stored by lanes (att_lane_off): out[j, :] =
 * sum_{t >= j0} W(t, j) X[t, :], j0 the start of j's block of ATT_RB. */
#define ATT_DEFINE_COLS_LANES(SUF, VT)                                                             \
    static void att_cols_lanes_##SUF(float *restrict out, int ldo, const float *restrict W,        \
                                     const float *restrict X, int ldx, int T) {                    \
        for (int j0 = 0; j0 < T; j0 += ATT_RB) {                                                   \
            VT acc[ATT_RB];                                                                        \
            for (int c = 0; c < ATT_RB; c++)                                                       \
                acc[c] = (VT){0};                                                                  \
            for (int t = j0; t < T; t++) {                                                         \
                VT x;                                                                              \
                memcpy(&x, X + (size_t)t * ldx, sizeof x);                                         \
                const float *w = W + att_lane_off(t / ATT_JB) + (size_t)j0 * ATT_JB + t % ATT_JB;  \
                for (int c = 0; c < ATT_RB; c++)                                                   \
                    acc[c] += w[c * ATT_JB] * x;                                                   \
            }                                                                                      \
            for (int c = 0; c < ATT_RB; c++)                                                       \
                memcpy(out + (size_t)(j0 + c) * ldo, &acc[c], sizeof acc[c]);                      \
        }                                                                                          \
    }
ATT_DEFINE_COLS_LANES(16, att_v16)
ATT_DEFINE_COLS_LANES(8, att_v8)
ATT_DEFINE_COLS_LANES(4, att_v4)

static void att_cols_lanes_any(float *restrict out, int ldo, const float *restrict W,
                               const float *restrict X, int ldx, int T, int hs) {
    for (int j = 0; j < T; j++) {
        int j0 = j / ATT_RB * ATT_RB;
        for (int d = 0; d < hs; d++) {
            float s = 0.0f;
            for (int t = j0; t < T; t++)
                s += W[att_lane_off(t / ATT_JB) + (size_t)j * ATT_JB + t % ATT_JB] *
                     X[(size_t)t * ldx + d];
            out[(size_t)j * ldo + d] = s;
        }
    }
}

/* One (batch, head) backward with the weights stored by lanes (T a multiple
 * of ATT_JB), 16 rows at a time with one row per lane: datt, the softmax
 * backward and dQ = D K never reduce across lanes; D is kept by lanes in Dl
 * (T x T scratch) for dK = D^T Q, and dV = att^T dO reads A likewise. */
static inline __attribute__((always_inline)) void att_lanes_bwd(float *dq, const float *dO,
                                                                const float *q, const float *A,
                                                                int T, int C, int hs, float *Dl) {
    int ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int t0 = 0; t0 < T; t0 += ATT_JB) {
        int jn = t0 + ATT_JB;
        const float *P = A + att_lane_off(t0 / ATT_JB);
        float *D = Dl + att_lane_off(t0 / ATT_JB);
        att_v16 dot[ATT_SMALL_HS] = {{0}}, acc[ATT_SMALL_HS] = {{0}};
        for (int d = 0; d < hs; d++)
            for (int l = 0; l < ATT_JB; l++)
                dot[d][l] = dO[(size_t)(t0 + l) * C + d];
        /* datt = dO V^T, and s = sum_j att datt per row */
        att_v16 s = v16_splat(0.0f);
        for (int j = 0; j < jn; j++) {
            const float *v = q + 2 * C + (size_t)j * ld;
            att_v16 da = dot[0] * v[0];
            for (int d = 1; d < hs; d++)
                da += dot[d] * v[d];
            v16_store(D + (size_t)j * ATT_JB, da);
            s += v16_load(P + (size_t)j * ATT_JB) * da;
        }
        /* D = att (datt - s) / sqrt(hs) (0 where att is), dQ = D K */
        for (int j = 0; j < jn; j++) {
            att_v16 dj =
                v16_load(P + (size_t)j * ATT_JB) * (v16_load(D + (size_t)j * ATT_JB) - s) * scale;
            v16_store(D + (size_t)j * ATT_JB, dj);
            const float *k = q + C + (size_t)j * ld;
            for (int d = 0; d < hs; d++)
                acc[d] += dj * k[d];
        }
        for (int l = 0; l < ATT_JB; l++)
            for (int d = 0; d < hs; d++)
                dq[(size_t)(t0 + l) * ld + d] = acc[d][l];
    }
    if (hs == 8) {
        att_cols_lanes_8(dq + C, ld, Dl, q, ld, T);    /* dK = D^T Q */
        att_cols_lanes_8(dq + 2 * C, ld, A, dO, C, T); /* dV = att^T dO */
    } else if (hs == 16) {
        att_cols_lanes_16(dq + C, ld, Dl, q, ld, T);
        att_cols_lanes_16(dq + 2 * C, ld, A, dO, C, T);
    } else if (hs == 4) {
        att_cols_lanes_4(dq + C, ld, Dl, q, ld, T);
        att_cols_lanes_4(dq + 2 * C, ld, A, dO, C, T);
    } else {
        att_cols_lanes_any(dq + C, ld, Dl, q, ld, T, hs);
        att_cols_lanes_any(dq + 2 * C, ld, A, dO, C, T, hs);
    }
}

static void att_lanes_bwd_any(float *dq, const float *dO, const float *q, const float *A, int T,
                              int C, int hs, float *Dl) {
    if (hs == 8)
        att_lanes_bwd(dq, dO, q, A, T, C, 8, Dl);
    else if (hs == 16)
        att_lanes_bwd(dq, dO, q, A, T, C, 16, Dl);
    else if (hs == 4)
        att_lanes_bwd(dq, dO, q, A, T, C, 4, Dl);
    else
        att_lanes_bwd(dq, dO, q, A, T, C, hs, Dl);
}

/* One (batch, head) backward. D: T x Tp, Vt: hs x Tp, Ar: Tp scratch. */
static void att_small_bwd(float *dq, const float *dO, const float *q, const float *A, int T, int C,
                          int hs, float *D, float *Vt, float *Ar) {
    int ld = 3 * C, Tp = att_pad(T);
    float scale = 1.0f / sqrtf((float)hs);
    att_times_fn rows = hs == 8    ? att_rows_times_8
                        : hs == 16 ? att_rows_times_16
                        : hs == 4  ? att_rows_times_4
                                   : att_rows_times_any;
    att_times_fn cols = hs == 8    ? att_cols_times_8
                        : hs == 16 ? att_cols_times_16
                        : hs == 4  ? att_cols_times_4
                                   : att_cols_times_any;
    att_transpose(Vt, q + 2 * C, T, Tp, ld, hs);
    for (int t = 0; t < T; t++) {
        int nb = t / ATT_JB + 1, e = nb * ATT_JB < T ? nb * ATT_JB : T;
        float *dr = D + (size_t)t * Tp;
        const float *ar = A + (size_t)t * T;
        if (T != Tp) { /* the last block would run past the row: pad a copy */
            memcpy(Ar, ar, sizeof(float) * (size_t)e);
            for (int j = e; j < nb * ATT_JB; j++)
                Ar[j] = 0.0f;
            ar = Ar;
        }
        /* datt = dO V^T over whole blocks (att is 0 after t, so D is too) */
        att_dots(dr, dO + (size_t)t * C, Vt, Tp, nb, hs);
        att_v16 s = {0};
        for (int b = 0; b < nb; b++) /* sum_j att datt over the row */
            s += v16_load(ar + b * ATT_JB) * v16_load(dr + b * ATT_JB);
        float sum = v16_hsum(s);
        /* softmax backward with the 1/sqrt(hs) scale; zero where att is */
        for (int b = 0; b < nb; b++)
            v16_store(dr + b * ATT_JB,
                      v16_load(ar + b * ATT_JB) * (v16_load(dr + b * ATT_JB) - sum) * scale);
    }
    rows(dq, ld, D, Tp, q + C, ld, T, hs);    /* dQ = D K */
    cols(dq + C, ld, D, Tp, q, ld, T, hs);    /* dK = D^T Q */
    cols(dq + 2 * C, ld, A, T, dO, C, T, hs); /* dV = att^T dO */
}

static void att_fwd_task(void *va, int tid, int nt) {
    att_args *a = va;
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    size_t lo, hi;
    split((size_t)a->B * NH, tid, nt, &lo, &hi);
    for (size_t bh = lo; bh < hi; bh++) {
        int b = (int)(bh / NH), h = (int)(bh % NH);
        const float *q = a->qkv + (size_t)b * T * ld + h * hs, *k = q + C, *v = q + 2 * C;
        float *A = a->att + bh * T * (size_t)T;
        float *o = a->out + (size_t)b * T * C + h * hs;
        if (hs <= ATT_SMALL_HS) {
            att_small_fwd_any(o, A, q, T, C, hs, a->scratch + (size_t)tid * a->scratch_per);
            continue;
        }
        for (int t0 = 0; t0 < T; t0 += ATT_TB) {
            int t1 = t0 + ATT_TB < T ? t0 + ATT_TB : T;
            /* scores[t0:t1, 0:t1] = scale * Q[t0:t1] K[0:t1]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t1 - t0, t1, hs, scale,
                        q + (size_t)t0 * ld, ld, k, ld, 0.0f, A + (size_t)t0 * T, T);
            for (int t = t0; t < t1; t++) {
                float *row = A + (size_t)t * T;
                int n = t + 1;
                float mx = max8(row, n);
                for (int j = 0; j < n; j++)
                    row[j] = fast_expf(row[j] - mx);
                float inv = 1.0f / sum8(row, n);
                for (int j = 0; j < n; j++)
                    row[j] *= inv;
                for (int j = n; j < T; j++)
                    row[j] = 0.0f;
            }
            /* out[t0:t1] = att[t0:t1, 0:t1] V[0:t1] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t1 - t0, hs, t1, 1.0f,
                        A + (size_t)t0 * T, T, v, ld, 0.0f, o + (size_t)t0 * C, C);
        }
    }
}

float nn_attention_weight(const float *att, int b, int h, int t, int j, int T, int C, int NH) {
    const float *A = att + ((size_t)b * NH + h) * T * (size_t)T;
    if (C / NH > ATT_SMALL_HS || T % ATT_JB != 0) return A[(size_t)t * T + j];
    if (j > t / ATT_JB * ATT_JB + ATT_JB - 1) return 0.0f; /* after the row's block */
    return A[att_lane_off(t / ATT_JB) + (size_t)j * ATT_JB + t % ATT_JB];
}

void nn_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                          float *scratch, nn_pool *p) {
    att_args a = {.out = out,
                  .att = att,
                  .qkv = qkv,
                  .B = B,
                  .T = T,
                  .C = C,
                  .NH = NH,
                  .scratch = scratch,
                  .scratch_per = nn_attention_scratch(T, C, NH)};
    nn_pool_run(p, att_fwd_task, &a);
}

static void att_bwd_task(void *va, int tid, int nt) {
    att_args *a = va;
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float *D = a->scratch + (size_t)tid * a->scratch_per; /* (T,T) dscores */
    size_t lo, hi;
    split((size_t)a->B * NH, tid, nt, &lo, &hi);
    for (size_t bh = lo; bh < hi; bh++) {
        int b = (int)(bh / NH), h = (int)(bh % NH);
        const float *q = a->qkv + (size_t)b * T * ld + h * hs, *k = q + C, *v = q + 2 * C;
        float *dq = a->dqkv + (size_t)b * T * ld + h * hs, *dk = dq + C, *dv = dq + 2 * C;
        const float *A = a->catt + bh * T * (size_t)T;
        const float *dO = a->dout + (size_t)b * T * C + h * hs;
        if (hs <= ATT_SMALL_HS && T % ATT_JB == 0) {
            att_lanes_bwd_any(dq, dO, q, A, T, C, hs, D);
            continue;
        }
        if (hs <= ATT_SMALL_HS) {
            float *Vt = D + (size_t)T * att_pad(T);
            att_small_bwd(dq, dO, q, A, T, C, hs, D, Vt, Vt + (size_t)hs * att_pad(T));
            continue;
        }
        for (int t0 = 0; t0 < T; t0 += ATT_TB) {
            int t1 = t0 + ATT_TB < T ? t0 + ATT_TB : T;
            /* datt[t0:t1, 0:t1] = dO[t0:t1] V[0:t1]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t1 - t0, t1, hs, 1.0f,
                        dO + (size_t)t0 * C, C, v, ld, 0.0f, D + (size_t)t0 * T, T);
            /* softmax backward and the 1/sqrt(hs) scale; zero above the diagonal */
            for (int t = t0; t < t1; t++) {
                const float *ar = A + (size_t)t * T;
                float *dr = D + (size_t)t * T;
                int n = t + 1;
                float s = dot8(ar, dr, n);
                for (int j = 0; j < n; j++)
                    dr[j] = ar[j] * (dr[j] - s) * scale;
                for (int j = n; j < t1; j++)
                    dr[j] = 0.0f;
            }
            /* dQ[t0:t1] = D[t0:t1, 0:t1] K[0:t1] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t1 - t0, hs, t1, 1.0f,
                        D + (size_t)t0 * T, T, k, ld, 0.0f, dq + (size_t)t0 * ld, ld);
        }
        for (int j0 = 0; j0 < T; j0 += ATT_TB) {
            int j1 = j0 + ATT_TB < T ? j0 + ATT_TB : T;
            /* dV[j0:j1] = att[j0:T, j0:j1]^T dO[j0:T]; dK likewise from D and Q */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, hs, T - j0, 1.0f,
                        A + (size_t)j0 * T + j0, T, dO + (size_t)j0 * C, C, 0.0f,
                        dv + (size_t)j0 * ld, ld);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, hs, T - j0, 1.0f,
                        D + (size_t)j0 * T + j0, T, q + (size_t)j0 * ld, ld, 0.0f,
                        dk + (size_t)j0 * ld, ld);
        }
    }
}

void nn_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           int B, int T, int C, int NH, float *scratch, nn_pool *p) {
    att_args a = {.dqkv = dqkv,
                  .dout = dout,
                  .qkv = qkv,
                  .catt = att,
                  .B = B,
                  .T = T,
                  .C = C,
                  .NH = NH,
                  .scratch = scratch,
                  .scratch_per = nn_attention_scratch(T, C, NH)};
    nn_pool_run(p, att_bwd_task, &a);
}

/* ======================================================================== */
/* GELU, residual                                                           */
/* ======================================================================== */

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

typedef struct {
    float *out;
    const float *x, *y, *d;
    size_t n;
} ew_args;

static void gelu_fwd_task(void *va, int tid, int nt) {
    ew_args *a = va;
    size_t lo, hi;
    split(a->n, tid, nt, &lo, &hi);
    const float *restrict xs = a->x;
    float *restrict out = a->out;
    for (size_t i = lo; i < hi; i++) {
        float x = xs[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        out[i] = 0.5f * x * (1.0f + fast_tanhf(u));
    }
}

void nn_gelu_forward(float *out, const float *inp, size_t n, nn_pool *p) {
    ew_args a = {.out = out, .x = inp, .n = n};
    nn_pool_run(p, gelu_fwd_task, &a);
}

static void gelu_bwd_task(void *va, int tid, int nt) {
    ew_args *a = va;
    size_t lo, hi;
    split(a->n, tid, nt, &lo, &hi);
    const float *restrict xs = a->x, *restrict d = a->d;
    float *restrict out = a->out;
    for (size_t i = lo; i < hi; i++) {
        float x = xs[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        float th = fast_tanhf(u);
        float g = 0.5f * (1.0f + th) +
                  0.5f * x * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        out[i] = g * d[i];
    }
}

void nn_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, nn_pool *p) {
    ew_args a = {.out = dinp, .x = inp, .d = dout, .n = n};
    nn_pool_run(p, gelu_bwd_task, &a);
}

static void resid_task(void *va, int tid, int nt) {
    ew_args *a = va;
    size_t lo, hi;
    split(a->n, tid, nt, &lo, &hi);
    const float *x = a->x, *y = a->y;
    float *out = a->out;
    for (size_t i = lo; i < hi; i++)
        out[i] = x[i] + y[i];
}

void nn_residual_forward(float *out, const float *a_, const float *b, size_t n, nn_pool *p) {
    ew_args a = {.out = out, .x = a_, .y = b, .n = n};
    nn_pool_run(p, resid_task, &a);
}

/* ======================================================================== */
/* Softmax cross-entropy                                                    */
/* ======================================================================== */

typedef struct {
    float *lp, *losses;
    const int *targets;
    float scale;
    int N, V;
} xent_args;

/* One row: the maximum, exp and its sum, then 1/sum, 16 lanes at a time
 * (att_v16, as in attention; 8-lane loops left half of an AVX-512 register
 * idle: 10% of the 1x32 step at V = 256) and a scalar tail for V not a
 * multiple of 16. The sums run in a fixed order. */
static void xent_fwd_task(void *va, int tid, int nt) {
    xent_args *a = va;
    size_t lo, hi;
    split((size_t)a->N, tid, nt, &lo, &hi);
    int V = a->V, V16 = V / ATT_JB * ATT_JB;
    for (size_t r = lo; r < hi; r++) {
        float *x = a->lp + r * V;
        /* MAXPS drops a NaN, so a non-finite logit is looked for on the side
         * (x * 0 is NaN for NaN and inf): such a row's loss is NaN, and the
         * run is called diverged, as when the maximum carried the NaN. */
        float mx = -INFINITY, bad = 0.0f;
        if (V16) {
            att_v16 m = v16_load(x), z = m * 0.0f;
            for (int j = ATT_JB; j < V16; j += ATT_JB) {
                att_v16 xj = v16_load(x + j);
                m = v16_max(xj, m);
                z += xj * 0.0f;
            }
            mx = v16_hmax(m);
            bad = v16_hsum(z);
        }
        for (int j = V16; j < V; j++) {
            mx = x[j] > mx ? x[j] : mx;
            bad += x[j] * 0.0f;
        }
        float zt = x[a->targets[r]] - mx;
        att_v16 acc = v16_splat(0.0f), vmx = v16_splat(mx);
        for (int j = 0; j < V16; j += ATT_JB) {
            att_v16 e = v16_exp(v16_load(x + j) - vmx);
            v16_store(x + j, e);
            acc += e;
        }
        float s = v16_hsum(acc);
        for (int j = V16; j < V; j++)
            s += x[j] = fast_expf(x[j] - mx);
        float inv = 1.0f / s;
        att_v16 vinv = v16_splat(inv);
        for (int j = 0; j < V16; j += ATT_JB)
            v16_store(x + j, v16_load(x + j) * vinv);
        for (int j = V16; j < V; j++)
            x[j] *= inv;
        a->losses[r] = bad == 0.0f ? logf(s) - zt : NAN;
    }
}

void nn_softmax_xent_forward(float *logits_probs, float *losses, const int *targets, int N, int V,
                             nn_pool *p) {
    xent_args a = {.lp = logits_probs, .losses = losses, .targets = targets, .N = N, .V = V};
    nn_pool_run(p, xent_fwd_task, &a);
}

static void xent_bwd_task(void *va, int tid, int nt) {
    xent_args *a = va;
    size_t lo, hi;
    split((size_t)a->N, tid, nt, &lo, &hi);
    int V = a->V;
    for (size_t r = lo; r < hi; r++) {
        float *x = a->lp + r * V;
        x[a->targets[r]] -= 1.0f;
        for (int j = 0; j < V; j++)
            x[j] *= a->scale;
    }
}

void nn_softmax_xent_backward(float *probs_dlogits, const int *targets, float scale, int N, int V,
                              nn_pool *p) {
    xent_args a = {.lp = probs_dlogits, .targets = targets, .scale = scale, .N = N, .V = V};
    nn_pool_run(p, xent_bwd_task, &a);
}

/* ======================================================================== */
/* Naive references (tests only): straight loops, double accumulators      */
/* ======================================================================== */

void nn_matmul_forward_naive(float *out, const float *inp, const float *w, const float *bias, int N,
                             int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++)
                s += (double)inp[(size_t)n * C + c] * w[(size_t)o * C + c];
            out[(size_t)n * OC + o] = (float)s;
        }
}

void nn_matmul_backward_naive(float *dinp, float *dw, float *dbias, const float *dout,
                              const float *inp, const float *w, int N, int C, int OC) {
    if (dinp)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int o = 0; o < OC; o++)
                    s += (double)dout[(size_t)n * OC + o] * w[(size_t)o * C + c];
                dinp[(size_t)n * C + c] = (float)s;
            }
    for (int o = 0; o < OC; o++) {
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c];
            dw[(size_t)o * C + c] += (float)s;
        }
        if (dbias) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += dout[(size_t)n * OC + o];
            dbias[o] += (float)s;
        }
    }
}

void nn_attention_forward_naive(float *out, float *att, const float *qkv, int B, int T, int C,
                                int NH) {
    int hs = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)hs);
    double *pre = malloc(sizeof(double) * (size_t)T);
    if (!pre) return;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                double mx = -INFINITY;
                for (int j = 0; j <= t; j++) {
                    const float *k = qkv + ((size_t)b * T + j) * C3 + C + h * hs;
                    double s = 0;
                    for (int i = 0; i < hs; i++)
                        s += (double)q[i] * k[i];
                    pre[j] = s * scale;
                    if (pre[j] > mx) mx = pre[j];
                }
                double sum = 0;
                for (int j = 0; j <= t; j++)
                    sum += (pre[j] = exp(pre[j] - mx));
                float *row = att + (((size_t)b * NH + h) * T + t) * T;
                for (int j = 0; j < T; j++)
                    row[j] = j <= t ? (float)(pre[j] / sum) : 0.0f;
                for (int i = 0; i < hs; i++) {
                    double s = 0;
                    for (int j = 0; j <= t; j++)
                        s += pre[j] / sum * qkv[((size_t)b * T + j) * C3 + 2 * C + h * hs + i];
                    out[((size_t)b * T + t) * C + h * hs + i] = (float)s;
                }
            }
    free(pre);
}

void nn_attention_backward_naive(float *dqkv, const float *dout, const float *qkv, const float *att,
                                 int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)hs);
    double *datt = malloc(sizeof(double) * (size_t)T);
    if (!datt) return;
    memset(dqkv, 0, sizeof(float) * (size_t)B * T * C3);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *row = att + (((size_t)b * NH + h) * T + t) * T;
                const float *d = dout + ((size_t)b * T + t) * C + h * hs;
                double dot = 0;
                for (int j = 0; j <= t; j++) {
                    const float *v = qkv + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    float *dv = dqkv + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    double s = 0;
                    for (int i = 0; i < hs; i++) {
                        s += (double)d[i] * v[i];
                        dv[i] += row[j] * d[i];
                    }
                    datt[j] = s;
                    dot += s * row[j];
                }
                const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                float *dq = dqkv + ((size_t)b * T + t) * C3 + h * hs;
                for (int j = 0; j <= t; j++) {
                    double dp = row[j] * (datt[j] - dot) * scale;
                    const float *k = qkv + ((size_t)b * T + j) * C3 + C + h * hs;
                    float *dk = dqkv + ((size_t)b * T + j) * C3 + C + h * hs;
                    for (int i = 0; i < hs; i++) {
                        dq[i] += (float)(dp * k[i]);
                        dk[i] += (float)(dp * q[i]);
                    }
                }
            }
    free(datt);
}

void nn_layernorm_forward_naive(float *out, float *mean, float *rstd, const float *inp,
                                const float *w, const float *b, int N, int C) {
    for (int r = 0; r < N; r++) {
        const float *x = inp + (size_t)r * C;
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (x[c] - m) * (x[c] - m);
        v /= C;
        double s = 1.0 / sqrt(v + 1e-5);
        for (int c = 0; c < C; c++)
            out[(size_t)r * C + c] = (float)((x[c] - m) * s * w[c] + b[c]);
        mean[r] = (float)m;
        rstd[r] = (float)s;
    }
}

void nn_gelu_forward_naive(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
}

void nn_softmax_xent_forward_naive(float *probs, float *losses, const float *logits,
                                   const int *targets, int N, int V) {
    for (int r = 0; r < N; r++) {
        const float *x = logits + (size_t)r * V;
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < V; j++)
            mx = x[j] > mx ? x[j] : mx;
        for (int j = 0; j < V; j++)
            s += exp(x[j] - mx);
        for (int j = 0; j < V; j++)
            probs[(size_t)r * V + j] = (float)(exp(x[j] - mx) / s);
        losses[r] = (float)(log(s) - (x[targets[r]] - mx));
    }
}
