/*
 * flops.c — how compute is counted: training FLOPs per token under each
 * counting convention (Kaplan, Chinchilla, 6N, actual) and the MFU count, and the
 * conversion of a budget C into (N, D) along a family of shapes.
 * Does not own: parameter counts (shape.c), which N is optimal (the fits).
 */
#include <math.h>
#include <string.h>

#include "nn.h"

/* ======================================================================== */
/* FLOPs per training token                                                 */
/* ======================================================================== */

/* Kaplan et al. 2020, §2.1 / Table 1: forward C_forward = 2N + 2 n_layer n_ctx d_attn
 * (d_attn = d_model here), N the non-embedding parameters; training = 3 × forward
 * (backward ≈ 2 × forward). The de-embedding (logits) matmul adds 2 d_model n_vocab
 * per forward token when counted. */
double model_flops_kaplan(const model_shape *s, int with_deembed) {
    model_counts c;
    model_count_params(s, &c);
    double fwd = 2.0 * (double)c.nonembedding + 2.0 * s->n_layer * (double)s->n_ctx * s->d_model;
    if (with_deembed) fwd += 2.0 * (double)s->d_model * s->n_vocab;
    return 3.0 * fwd;
}

/* Hoffmann et al. 2022 (Chinchilla), Appendix F, per token of a full-context
 * sequence (their table is per sequence; divided by n_ctx here), with
 * key_size * n_heads = d_model:
 *   embeddings          2 n_vocab d_model
 *   per layer:
 *     QKV projections   2 · 3 · d_model (key_size n_heads)
 *     attention logits  2 n_ctx (key_size n_heads)
 *     softmax           3 n_heads n_ctx
 *     reduction (att·V) 2 n_ctx (key_size n_heads)
 *     output projection 2 (key_size n_heads) d_model
 *     dense block       2 · 2 d_model d_ff
 *   final logits        2 d_model n_vocab
 * forward = embeddings + n_layer × per-layer + logits; training = 3 × forward
 * (backward = 2 × forward). Biases and layer norms are not counted. */
double model_flops_chinchilla(const model_shape *s) {
    double C = s->d_model, T = s->n_ctx, V = s->n_vocab, F = s->d_ff, H = s->n_head;
    double kh = C; /* key_size * n_heads */
    double emb = 2.0 * V * C;
    double layer = 2.0 * 3.0 * C * kh   /* QKV */
                   + 2.0 * T * kh       /* logits */
                   + 3.0 * H * T        /* softmax */
                   + 2.0 * T * kh       /* reduction */
                   + 2.0 * kh * C       /* output projection */
                   + 2.0 * 2.0 * C * F; /* dense block */
    double logits = 2.0 * C * V;
    double fwd = emb + s->n_layer * layer + logits;
    return 3.0 * fwd;
}

/* The MFU count shared with shared/bench/torch_gpt_bench.py: 6 (N + d_model n_vocab)
 * for the matmuls (forward 2, backward 4 per weight per token, the tied head
 * counted once as a matmul) plus 12 n_layer n_ctx d_model for attention
 * (QK^T and att·V, 2 × 2 n_ctx d_model forward, ×3 with backward; the full
 * square, not the causal half, as PyTorch's and nanoGPT's counts do). */
double model_flops_mfu(const model_shape *s) {
    model_counts c;
    model_count_params(s, &c);
    return 6.0 * ((double)c.nonembedding + (double)s->d_model * s->n_vocab) +
           12.0 * s->n_layer * (double)s->n_ctx * s->d_model;
}

/* The matmul FLOPs this trainer actually runs per training token (one
 * multiply-add = 2 FLOPs), read off gpt.c's nn_gpt_forward / nn_gpt_backward
 * and nn.c's ops, with C = d_model, F = d_ff, T = n_ctx, V = n_vocab. Every
 * training window is a full n_ctx, so per token = per window / T.
 * Forward, per layer and token:
 *   qkv        nn_matmul_forward (N,C)x(C,3C)      2 · 3C · C  = 6 C^2
 *   attention  nn_attention_forward: scores Q K^T and att · V over the causal
 *              triangle; the token at position t (0-based) meets t + 1 keys,
 *              2 (t+1) C FLOPs each product summed over heads, and the mean
 *              of t + 1 over t = 0..T-1 is (T + 1)/2:
 *                                                   2 · 2 C (T+1)/2 = 2 C (T+1)
 *   attproj    (N,C)x(C,C)                          2 C^2
 *   fc         (N,C)x(C,F)                          2 C F
 *   fcproj     (N,F)x(F,C)                          2 F C
 *   = 8 C^2 + 4 C F + 2 C (T+1)
 * then the head, logits = lnf · wte^T (the tied token embedding, used once
 * as a matmul): 2 C V. The embedding lookup (nn_encoder_forward) is a gather
 * and counts nothing; biases, layer norms, GELU, residuals, softmax and the
 * cross-entropy are elementwise and are not counted (as no convention does).
 * Backward: every weight matmul runs twice more (nn_matmul_backward: dinp =
 * dout · W and dW += dout^T · inp, 2 × its forward each; gpt.c asks for dinp
 * of every matmul, the first layer's too, since the embeddings are trained),
 * and nn_attention_backward runs four triangle products (datt = dO V^T,
 * dQ = D K, dV = att^T dO, dK = D^T Q), 2 × the forward's two. So
 *   training = 3 × forward = 3 [n_layer (8 C^2 + 4 C F + 2 C (T+1)) + 2 C V].
 * Against Kaplan's 6 N + 6 n_layer T C (N non-embedding): the same weight
 * term less the biases and norms, half the attention (the causal triangle,
 * where Kaplan counts the square), plus the head's 6 C V that Kaplan leaves
 * out. The kernels compute a few masked entries above the diagonal within
 * their blocks (nn.c: 16- or 64-row tiles); those are waste, not counted. */
double model_flops_actual(const model_shape *s) {
    double C = s->d_model, F = s->d_ff, T = s->n_ctx, V = s->n_vocab;
    double layer = 8.0 * C * C + 4.0 * C * F + 2.0 * C * (T + 1.0);
    return 3.0 * (s->n_layer * layer + 2.0 * C * V);
}

/* ======================================================================== */
/* Counting conventions                                                     */
/* ======================================================================== */

const char *model_flops_name(model_flops_count f) {
    static const char *const n[MODEL_FLOPS_NCOUNTS] = {"chinchilla", "kaplan", "6nd", "actual"};
    return (unsigned)f < MODEL_FLOPS_NCOUNTS ? n[f] : "?";
}

int model_flops_parse(const char *name, model_flops_count *out) {
    for (int f = 0; f < MODEL_FLOPS_NCOUNTS; f++)
        if (name && !strcmp(name, model_flops_name((model_flops_count)f))) {
            *out = (model_flops_count)f;
            return 0;
        }
    return UTIL_EINVAL;
}

double model_flops_per_token(const model_shape *s, model_flops_count f) {
    if (f == MODEL_FLOPS_KAPLAN) return model_flops_kaplan(s, 0);
    if (f == MODEL_FLOPS_ACTUAL) return model_flops_actual(s);
    if (f == MODEL_FLOPS_6ND) {
        model_counts c;
        model_count_params(s, &c);
        return 6.0 * (double)c.total;
    }
    return model_flops_chinchilla(s);
}

/* ======================================================================== */
/* A budget along a family of shapes                                        */
/* ======================================================================== */

int model_frontier_add(model_flops_frontier *f, double N, double fpt) {
    if (!(N > 0 && isfinite(N) && fpt > 0 && isfinite(fpt))) return UTIL_EINVAL;
    int i = 0;
    while (i < f->n && f->N[i] < N)
        i++;
    if (i < f->n && f->N[i] == N) return 0;
    if (f->n >= MODEL_FRONTIER_MAX) return UTIL_EINVAL;
    memmove(f->N + i + 1, f->N + i, (size_t)(f->n - i) * sizeof *f->N);
    memmove(f->fpt + i + 1, f->fpt + i, (size_t)(f->n - i) * sizeof *f->fpt);
    f->N[i] = N;
    f->fpt[i] = fpt;
    f->n++;
    return 0;
}

/* The count of the nearest sizes: a measured size gives its own count
 * exactly; between two, ln fpt is linear in ln N (a power law through both);
 * beyond the ends fpt / N stays at the end's (extra terms such as attention
 * and embeddings neither vanish nor grow faster than N there). */
double model_frontier_fpt(const model_flops_frontier *f, double N) {
    if (f->n == 0) return 6.0 * N;
    if (N <= f->N[0]) return N == f->N[0] ? f->fpt[0] : f->fpt[0] / f->N[0] * N;
    int k = f->n - 1;
    if (N >= f->N[k]) return N == f->N[k] ? f->fpt[k] : f->fpt[k] / f->N[k] * N;
    int i = 1;
    while (f->N[i] < N)
        i++;
    if (f->N[i] == N) return f->fpt[i];
    double t = log(N / f->N[i - 1]) / log(f->N[i] / f->N[i - 1]);
    return exp(log(f->fpt[i - 1]) + t * log(f->fpt[i] / f->fpt[i - 1]));
}

double model_frontier_tokens(const model_flops_frontier *f, double C, double N) {
    return C / model_frontier_fpt(f, N);
}
