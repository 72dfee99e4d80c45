/* test_model.c — the Transformer engine: layer ops against naive loops,
 * gradients against finite differences, the causal mask, counts and FLOPs
 * worked by hand, schedules, learning, determinism, bit-exact resume,
 * checkpoint corruption, early stopping, divergence, and the CLI contract. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../data/data.h"
#include "../model/model.h"
#include "../model/nn.h"
#include "../results/store.h"

/* ---- helpers --------------------------------------------------------- */

static void fill(float *x, size_t n, util_rng *r, float sd) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sd * util_rng_normal(r));
}

static float *fbuf(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    cr_assert(p);
    return p;
}

static void assert_close(const float *a, const float *b, size_t n, double atol, double rtol,
                         const char *what) {
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        cr_assert(d <= atol + rtol * fabs((double)b[i]), "%s[%zu]: %g vs naive %g", what, i,
                  (double)a[i], (double)b[i]);
    }
}

/* ---- counts and FLOPs by hand ------------------------------------------ */

Test(model, counts_and_flops_by_hand_shape_a) {
    /* L=2, C=64, H=2, F=256, T=256, V=256.
     * embedding = V C + T C = 16384 + 16384 = 32768
     * per layer = ln1 2C + qkv (3C^2 + 3C) + proj (C^2 + C) + ln2 2C + fc (CF + F) + fcproj (FC +
     * C) = 4C^2 + 2CF + 9C + F = 16384 + 32768 + 576 + 256 = 49984 nonembedding = 2 * 49984 + lnf
     * 2C = 99968 + 128 = 100096; total = 132864 */
    model_shape s = {2, 64, 2, 256, 256, 256};
    model_counts c;
    model_count_params(&s, &c);
    cr_assert_eq(c.embedding, 32768);
    cr_assert_eq(c.nonembedding, 100096);
    cr_assert_eq(c.total, 132864);
    /* Kaplan: forward = 2N + 2 L T C = 200192 + 65536 = 265728, x3 = 797184;
     * with de-embedding + 2 C V = 32768: 298496 x3 = 895488 */
    cr_assert_float_eq(model_flops_kaplan(&s, 0), 797184.0, 1e-6);
    cr_assert_float_eq(model_flops_kaplan(&s, 1), 895488.0, 1e-6);
    /* Chinchilla: emb 2VC = 32768; per layer QKV 6C^2 = 24576, logits 2TC = 32768,
     * softmax 3HT = 1536, reduction 2TC = 32768, out 2C^2 = 8192, dense 4CF = 65536
     * -> 165376, x2 = 330752; final logits 2CV = 32768; fwd 396288, x3 = 1188864 */
    cr_assert_float_eq(model_flops_chinchilla(&s), 1188864.0, 1e-6);
    /* MFU: 6 (N + C V) + 12 L T C = 6 * 116480 + 393216 = 1092096 */
    cr_assert_float_eq(model_flops_mfu(&s), 1092096.0, 1e-6);
}

Test(model, counts_and_flops_by_hand_shape_b) {
    /* L=3, C=48, H=3, F=100, T=10, V=11.
     * embedding = 11*48 + 10*48 = 528 + 480 = 1008
     * per layer = 4*2304 + 2*48*100 + 9*48 + 100 = 9216 + 9600 + 432 + 100 = 19348
     * nonembedding = 3*19348 + 96 = 58140; total = 59148 */
    model_shape s = {3, 48, 3, 100, 10, 11};
    model_counts c;
    model_count_params(&s, &c);
    cr_assert_eq(c.embedding, 1008);
    cr_assert_eq(c.nonembedding, 58140);
    cr_assert_eq(c.total, 59148);
    /* Kaplan: 2*58140 + 2*3*10*48 = 116280 + 2880 = 119160, x3 = 357480;
     * + 2*48*11 = 1056 -> 120216 x3 = 360648 */
    cr_assert_float_eq(model_flops_kaplan(&s, 0), 357480.0, 1e-6);
    cr_assert_float_eq(model_flops_kaplan(&s, 1), 360648.0, 1e-6);
    /* Chinchilla: emb 1056; layer 13824 + 960 + 90 + 960 + 4608 + 19200 = 39642,
     * x3 = 118926; final 1056; fwd = 121038, x3 = 363114 */
    cr_assert_float_eq(model_flops_chinchilla(&s), 363114.0, 1e-6);
    /* MFU: 6 (58140 + 528) + 12*3*10*48 = 352008 + 17280 = 369288 */
    cr_assert_float_eq(model_flops_mfu(&s), 369288.0, 1e-6);
    /* Actual: layer 8 C^2 = 18432, 4 C F = 19200, causal attention 2 C (T+1) =
     * 1056 -> 38688, x3 = 116064; head 2 C V = 1056; fwd 117120, x3 = 351360 */
    cr_assert_float_eq(model_flops_actual(&s), 351360.0, 1e-6);
    cr_assert_float_eq(model_flops_per_token(&s, MODEL_FLOPS_ACTUAL), 351360.0, 1e-6);
}

Test(model, actual_flops_match_a_count_of_the_ops_of_a_step) {
    /* L=2, C=8, H=2 (head 4), F=32, T=4, V=16, one window of 4 tokens.
     * By hand, forward per window: per layer qkv 4 tokens x 2 x 8 x 24 = 1536,
     * attproj 4 x 2 x 8 x 8 = 512, fc 4 x 2 x 8 x 32 = 2048, fcproj 2048;
     * attention: positions 0..3 see 1+2+3+4 = 10 keys, per head and key a
     * 4-long dot (scores) and a 4-long axpy (att.V): 10 x 2 heads x 2 x 4 x 2
     * = 320 -> layer 6464, 2 layers 12928; head 4 x 2 x 8 x 16 = 1024;
     * embedding lookup 0. Forward 13952 per window = 3488 per token;
     * backward 2 x forward (each matmul twice, four triangle products):
     * training 3 x 3488 = 10464 per token. */
    model_shape s = {2, 8, 2, 32, 4, 16};
    cr_assert_float_eq(model_flops_actual(&s), 10464.0, 1e-9);
    /* The same by walking the ops as gpt.c runs them, per window of T tokens:
     * matmuls (N,K)x(K,M) cost 2 N K M forward and twice that backward
     * (dinp and dW); attention 2 hs FLOPs per (query, key <= query, head)
     * for each of scores and att.V forward, four such products backward. */
    int L = s.n_layer, C = s.d_model, F = s.d_ff, T = s.n_ctx, V = s.n_vocab, NH = s.n_head;
    int hs = C / NH;
    double mm[5][2] = {{C, 3 * C}, {C, C}, {C, F}, {F, C}, {C, V}}; /* (K, M) */
    double total = 0;
    for (int l = 0; l < L; l++) {
        for (int k = 0; k < 4; k++)
            total += 3 * 2.0 * T * mm[k][0] * mm[k][1];
        for (int t = 0; t < T; t++)
            for (int j = 0; j <= t; j++)
                total += NH * (2 + 4) * 2.0 * hs;
    }
    total += 3 * 2.0 * T * mm[4][0] * mm[4][1];
    cr_assert_float_eq(model_flops_actual(&s), total / T, 1e-9);
    /* causal attention is half the square plus the diagonal's half */
    model_shape big = {1, 64, 4, 256, 128, 2};
    double square = 3 * 2 * 2.0 * big.n_ctx * big.d_model;
    double att = model_flops_actual(&big) - 3 * (8.0 * 64 * 64 + 4.0 * 64 * 256 + 2.0 * 64 * 2);
    cr_assert_float_eq(att, square * (big.n_ctx + 1) / (2.0 * big.n_ctx), 1e-6);
    model_flops_count f;
    cr_assert_eq(model_flops_parse("actual", &f), 0);
    cr_assert_eq(f, MODEL_FLOPS_ACTUAL);
    cr_assert_str_eq(model_flops_name(MODEL_FLOPS_ACTUAL), "actual");
}

Test(model, shape_check_names_the_field) {
    char err[UTIL_ERRLEN];
    model_shape s = {2, 64, 3, 256, 256, 256};
    cr_assert_eq(model_shape_check(&s, err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "n_head"), "%s", err);
    s.n_head = 2;
    cr_assert_eq(model_shape_check(&s, err, sizeof err), 0);
}

/* ---- layer ops against naive loops ------------------------------------- */

Test(model, fast_exp_is_accurate) {
    for (double x = -80; x < 80; x += 0.0137) {
        double e = exp((double)(float)x), f = nn_expf((float)x);
        cr_assert(fabs(f - e) <= 3e-7 * e, "exp(%g) = %g, fast %g", x, e, f);
    }
    /* out of range and NaN inputs are clamped (no undefined float->int conversion) */
    cr_assert(nn_expf(-1000.0f) < 1e-37f && nn_expf(-1000.0f) >= 0);
    cr_assert(isfinite(nn_expf(1000.0f)) && nn_expf(1000.0f) > 1e38f);
    cr_assert(isfinite(nn_expf(NAN)));
}

Test(model, matmul_matches_naive) {
    nn_pool *p;
    char err[UTIL_ERRLEN];
    cr_assert_eq(nn_pool_create(&p, 2, err, sizeof err), 0);
    int N = 37, C = 19, OC = 23;
    util_rng r;
    util_rng_seed(&r, 3, "t");
    float *x = fbuf(N * C), *w = fbuf(OC * C), *b = fbuf(OC), *o1 = fbuf(N * OC),
          *o2 = fbuf(N * OC);
    float *d = fbuf(N * OC), *dx1 = fbuf(N * C), *dx2 = fbuf(N * C), *dw1 = fbuf(OC * C),
          *dw2 = fbuf(OC * C), *db1 = fbuf(OC), *db2 = fbuf(OC);
    fill(x, N * C, &r, 1), fill(w, OC * C, &r, 1), fill(b, OC, &r, 1), fill(d, N * OC, &r, 1);
    fill(dw1, OC * C, &r, 1), memcpy(dw2, dw1, sizeof(float) * OC * C); /* accumulation */
    nn_matmul_forward(o1, x, w, b, N, C, OC, p);
    nn_matmul_forward_naive(o2, x, w, b, N, C, OC);
    assert_close(o1, o2, N * OC, 1e-5, 1e-5, "matmul out");
    nn_matmul_backward(dx1, dw1, db1, d, x, w, N, C, OC, p);
    nn_matmul_backward_naive(dx2, dw2, db2, d, x, w, N, C, OC);
    assert_close(dx1, dx2, N * C, 1e-5, 1e-5, "dinp");
    assert_close(dw1, dw2, OC * C, 1e-5, 1e-5, "dw");
    assert_close(db1, db2, OC, 1e-5, 1e-5, "dbias");
    free(x), free(w), free(b), free(o1), free(o2), free(d), free(dx1), free(dx2), free(dw1);
    free(dw2), free(db1), free(db2);
    nn_pool_free(p);
}

/* Fast attention against the naive one for one shape, at 2 threads. */
static void check_attention(int B, int T, int C, int NH, unsigned seed) {
    nn_pool *p;
    char err[UTIL_ERRLEN];
    cr_assert_eq(nn_pool_create(&p, 2, err, sizeof err), 0);
    util_rng r;
    util_rng_seed(&r, seed, "t");
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
    float *qkv = fbuf(nq), *o1 = fbuf(no), *o2 = fbuf(no), *a1 = fbuf(na), *a2 = fbuf(na);
    float *d = fbuf(no), *dq1 = fbuf(nq), *dq2 = fbuf(nq);
    float *sc = fbuf(2 * nn_attention_scratch(T, C, NH));
    fill(qkv, nq, &r, 1), fill(d, no, &r, 1);
    fill(a1, na, &r, 1), fill(dq1, nq, &r, 1); /* outputs are overwritten, not accumulated */
    nn_attention_forward(o1, a1, qkv, B, T, C, NH, sc, p);
    nn_attention_forward_naive(o2, a2, qkv, B, T, C, NH);
    char what[64];
    snprintf(what, sizeof what, "att T%d C%d NH%d", T, C, NH);
    float *a1r = fbuf(na); /* the fast op's weights, read back row by row */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++)
                for (int j = 0; j < T; j++)
                    a1r[(((size_t)b * NH + h) * T + t) * T + j] =
                        nn_attention_weight(a1, b, h, t, j, T, C, NH);
    assert_close(a1r, a2, na, 1e-6, 1e-5, what);
    free(a1r);
    assert_close(o1, o2, no, 1e-5, 1e-4, what);
    nn_attention_backward(dq1, d, qkv, a1, B, T, C, NH, sc, p);
    nn_attention_backward_naive(dq2, d, qkv, a2, B, T, C, NH);
    assert_close(dq1, dq2, nq, 1e-5, 1e-4, what);
    free(qkv), free(o1), free(o2), free(a1), free(a2), free(d), free(dq1), free(dq2), free(sc);
    nn_pool_free(p);
}

Test(model, attention_matches_naive) {
    check_attention(2, 70, 24, 3, 4);  /* head 8 (small kernels); T crosses 64 */
    check_attention(3, 64, 72, 9, 5);  /* the sweeps' head 8, ctx 64: weights kept by lanes */
    check_attention(2, 32, 16, 4, 11); /* head 4 by lanes */
    check_attention(2, 48, 48, 4, 12); /* head 12 by lanes: the plain kernels */
    check_attention(2, 13, 16, 1, 6);  /* head 16, fewer rows than one block */
    check_attention(2, 37, 16, 4, 7);  /* head 4 */
    check_attention(2, 29, 36, 3, 8);  /* head 12: the plain small kernel */
    check_attention(2, 70, 64, 2, 9);  /* head 32: blocked sgemms */
}

/* The attention backward against central differences of
 * L = sum(out . w) for a fixed random w, at head 8. */
static void check_attention_gradient(int B, int T, int C, int NH) {
    util_rng r;
    util_rng_seed(&r, 10, "t");
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
    float *qkv = fbuf(nq), *o = fbuf(no), *w = fbuf(no), *dq = fbuf(nq);
    float *att = fbuf((size_t)B * NH * T * T), *sc = fbuf(nn_attention_scratch(T, C, NH));
    fill(qkv, nq, &r, 1), fill(w, no, &r, 1);
    nn_attention_forward(o, att, qkv, B, T, C, NH, sc, NULL);
    nn_attention_backward(dq, w, qkv, att, B, T, C, NH, sc, NULL);
    for (int e = 0; e < 60; e++) {
        size_t i = util_rng_below(&r, nq);
        float save = qkv[i];
        const float eps = 1e-2f;
        double l[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            qkv[i] = save + (sgn ? -eps : eps);
            nn_attention_forward(o, att, qkv, B, T, C, NH, sc, NULL);
            l[sgn] = 0;
            for (size_t k = 0; k < no; k++)
                l[sgn] += (double)o[k] * w[k];
        }
        qkv[i] = save;
        double fd = (l[0] - l[1]) / (2.0 * eps);
        cr_assert(fabs(fd - dq[i]) <= 2e-3 + 2e-2 * fabs(fd), "dqkv[%zu]: analytic %g, numeric %g",
                  i, dq[i], fd);
    }
    free(qkv), free(o), free(w), free(dq), free(att), free(sc);
}

Test(model, attention_gradient_matches_finite_differences) {
    check_attention_gradient(2, 21, 16, 2); /* rows, padded blocks */
    check_attention_gradient(2, 32, 16, 2); /* weights kept by lanes */
}

Test(model, attention_is_causal) {
    int B = 1, T = 80, C = 16, NH = 2, tcut = 41;
    util_rng r;
    util_rng_seed(&r, 5, "t");
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
    float *qkv = fbuf(nq), *o1 = fbuf(no), *o2 = fbuf(no), *att = fbuf((size_t)NH * T * T);
    float *sc = fbuf(nn_attention_scratch(T, C, NH));
    fill(qkv, nq, &r, 1);
    nn_attention_forward(o1, att, qkv, B, T, C, NH, sc, NULL);
    for (size_t i = (size_t)(tcut + 1) * 3 * C; i < nq; i++)
        qkv[i] += 5.0f; /* change the future */
    nn_attention_forward(o2, att, qkv, B, T, C, NH, sc, NULL);
    cr_assert(memcmp(o1, o2, sizeof(float) * (tcut + 1) * C) == 0, "past outputs changed");
    cr_assert(memcmp(o1 + (tcut + 1) * C, o2 + (tcut + 1) * C, sizeof(float) * C) != 0);
    free(qkv), free(o1), free(o2), free(att), free(sc);
}

Test(model, model_outputs_do_not_see_later_tokens) {
    model_shape s = {2, 16, 2, 64, 90, 20};
    nn_gpt *g;
    char err[UTIL_ERRLEN];
    cr_assert_eq(nn_gpt_create(&g, &s, 1, 2, err, sizeof err), 0, "%s", err);
    nn_gpt_init(g, 3);
    util_rng r;
    util_rng_seed(&r, 12, "t");
    for (int t = 0; t < s.n_ctx; t++) {
        g->inputs[t] = (int)util_rng_below(&r, s.n_vocab);
        g->targets[t] = (int)util_rng_below(&r, s.n_vocab);
    }
    int k = 70; /* positions 0..k keep their inputs and targets */
    nn_gpt_forward(g, 1);
    float before[90];
    memcpy(before, g->losses, sizeof before);
    for (int t = k + 1; t < s.n_ctx; t++)
        g->inputs[t] = (g->inputs[t] + 7) % s.n_vocab;
    nn_gpt_forward(g, 1);
    cr_assert(memcmp(before, g->losses, sizeof(float) * (k + 1)) == 0, "earlier losses changed");
    cr_assert(memcmp(before + k + 1, g->losses + k + 1, sizeof(float) * (s.n_ctx - k - 1)) != 0);
    nn_gpt_free(g);
}

Test(model, elementwise_ops_match_naive) {
    nn_pool *p;
    char err[UTIL_ERRLEN];
    cr_assert_eq(nn_pool_create(&p, 2, err, sizeof err), 0);
    util_rng r;
    util_rng_seed(&r, 6, "t");
    int N = 33, C = 40, V = 50;
    float *x = fbuf(N * C), *w = fbuf(C), *b = fbuf(C), *o1 = fbuf(N * C), *o2 = fbuf(N * C);
    float *m1 = fbuf(N), *m2 = fbuf(N), *s1 = fbuf(N), *s2 = fbuf(N);
    fill(x, N * C, &r, 2), fill(w, C, &r, 1), fill(b, C, &r, 1);
    nn_layernorm_forward(o1, m1, s1, x, w, b, N, C, p);
    nn_layernorm_forward_naive(o2, m2, s2, x, w, b, N, C);
    assert_close(o1, o2, N * C, 1e-5, 1e-5, "layernorm");
    nn_gelu_forward(o1, x, N * C, p);
    nn_gelu_forward_naive(o2, x, N * C);
    assert_close(o1, o2, N * C, 1e-6, 1e-5, "gelu");
    float *lg = fbuf(N * V), *pr = fbuf(N * V), *l1 = fbuf(N), *l2 = fbuf(N);
    int *tg = calloc(N, sizeof(int));
    fill(lg, N * V, &r, 3);
    for (int i = 0; i < N; i++)
        tg[i] = (int)util_rng_below(&r, V);
    nn_softmax_xent_forward_naive(pr, l2, lg, tg, N, V);
    nn_softmax_xent_forward(lg, l1, tg, N, V, p);
    assert_close(lg, pr, N * V, 1e-7, 1e-5, "softmax");
    assert_close(l1, l2, N, 1e-5, 1e-5, "xent");
    free(x), free(w), free(b), free(o1), free(o2), free(m1), free(m2), free(s1), free(s2);
    free(lg), free(pr), free(l1), free(l2), free(tg);
    nn_pool_free(p);
}

/* The fast softmax takes its maximum with MAXPS, which passes over a NaN:
 * a row with a NaN or an infinite logit, at a lane or in the tail, must
 * still give a NaN loss (the run is then called diverged), and the rows
 * around it must not change. V = 64 has no tail, V = 50 has one of 2. */
Test(model, softmax_xent_row_with_nan_or_inf_has_nan_loss) {
    const int N = 4, Vs[2] = {64, 50};
    for (int vi = 0; vi < 2; vi++) {
        int V = Vs[vi];
        util_rng r;
        util_rng_seed(&r, 7, "nan");
        float *lg = fbuf(N * V), *pr = fbuf(N * V), *l1 = fbuf(N), *l2 = fbuf(N);
        int tg[4] = {0, 5, 9, 1};
        fill(lg, N * V, &r, 3);
        nn_softmax_xent_forward_naive(pr, l2, lg, tg, N, V);
        lg[1 * V + 17] = NAN;      /* a lane of row 1, not its target */
        lg[2 * V + V - 1] = INFINITY; /* the last logit of row 2 (V = 50: the tail) */
        nn_softmax_xent_forward(lg, l1, tg, N, V, NULL);
        cr_assert(isnan(l1[1]), "V %d: a NaN logit gave loss %g", V, l1[1]);
        cr_assert(isnan(l1[2]), "V %d: an infinite logit gave loss %g", V, l1[2]);
        cr_assert(fabsf(l1[0] - l2[0]) < 1e-5f && fabsf(l1[3] - l2[3]) < 1e-5f,
                  "V %d: finite rows changed: %g vs %g, %g vs %g", V, l1[0], l2[0], l1[3], l2[3]);
        free(lg), free(pr), free(l1), free(l2);
    }
}

/* ---- gradients against finite differences ------------------------------ */

Test(model, every_tensor_gradient_matches_finite_differences) {
    /* Float finite differences on a tiny model, eps 1e-2 (central, so O(eps^2)
     * truncation) with the loss accumulated in double; parameters are
     * perturbed to N(0, 0.3) so every tensor (biases, layer norms) carries a
     * gradient well above float noise (~1e-5 here). */
    model_shape s = {2, 8, 2, 12, 5, 7};
    nn_gpt *g;
    char err[UTIL_ERRLEN];
    int B = 2, T = s.n_ctx;
    cr_assert_eq(nn_gpt_create(&g, &s, B, 2, err, sizeof err), 0, "%s", err);
    util_rng r;
    util_rng_seed(&r, 7, "t");
    fill(g->params_mem, g->nparams, &r, 0.3f);
    for (int i = 0; i < B * T; i++) {
        g->inputs[i] = (int)util_rng_below(&r, s.n_vocab);
        g->targets[i] = (int)util_rng_below(&r, s.n_vocab);
    }
    nn_gpt_zero_grad(g);
    nn_gpt_forward(g, B);
    nn_gpt_backward(g, 1.0f / (B * T));
    size_t off = 0;
    int checked = 0;
    for (int k = 0; k < NN_NTENSORS; k++) {
        size_t n = g->sizes[k];
        for (int e = 0; e < 6; e++) {
            size_t i = off + util_rng_below(&r, n);
            float save = g->params_mem[i];
            const float eps = 1e-2f;
            g->params_mem[i] = save + eps;
            double lp = nn_gpt_forward(g, B);
            g->params_mem[i] = save - eps;
            double lm = nn_gpt_forward(g, B);
            g->params_mem[i] = save;
            double fd = (lp - lm) / (2.0 * eps), an = g->grads_mem[i];
            cr_assert(fabs(fd - an) <= 2e-4 + 3e-2 * fabs(fd), "%s[%zu]: analytic %g, numeric %g",
                      nn_tensor_names[k], i - off, an, fd);
            checked++;
        }
        off += n;
    }
    cr_assert_eq(checked, 6 * NN_NTENSORS);
    nn_gpt_free(g);
}

/* ---- learning ------------------------------------------------------------ */

Test(model, untrained_loss_is_ln_vocab_and_short_text_is_learned) {
    model_shape s = {2, 32, 2, 128, 32, 256};
    nn_gpt *g;
    char err[UTIL_ERRLEN];
    int B = 4, T = s.n_ctx;
    cr_assert_eq(nn_gpt_create(&g, &s, B, 2, err, sizeof err), 0, "%s", err);
    nn_gpt_init(g, 11);
    const char *text = "the quick brown fox. ";
    int period = (int)strlen(text);
    util_rng r;
    util_rng_seed(&r, 8, "t");
    double loss = 0;
    for (int step = 1; step <= 150; step++) {
        for (int b = 0; b < B; b++) {
            int o = (int)util_rng_below(&r, period);
            for (int t = 0; t < T; t++) {
                g->inputs[b * T + t] = (unsigned char)text[(o + t) % period];
                g->targets[b * T + t] = (unsigned char)text[(o + t + 1) % period];
            }
        }
        nn_gpt_zero_grad(g);
        loss = nn_gpt_forward(g, B);
        if (step == 1) cr_assert(fabs(loss - log(256.0)) < 0.1, "untrained loss %g", loss);
        nn_gpt_backward(g, 1.0f / (B * T));
        double gn = nn_gpt_grad_norm(g);
        nn_gpt_adamw(g, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.0f, gn > 1 ? (float)(1 / gn) : 1.0f, step);
    }
    cr_assert(loss < 0.15, "loss after training on a repeated text: %g", loss);
    nn_gpt_free(g);
}

/* ---- schedules ------------------------------------------------------------ */

Test(model, schedules) {
    model_train_config c;
    model_train_defaults(&c);
    c.lr = 1.0, c.min_lr_frac = 0.1, c.warmup = 10, c.batch = 2, c.shape.n_ctx = 8;
    int64_t steps = 111; /* decay spans steps 10..110: 100 steps */
    c.schedule = SCHED_COSINE;
    cr_assert_float_eq(model_lr_at(&c, 0, steps), 0.1, 1e-12);
    cr_assert_float_eq(model_lr_at(&c, 4, steps), 0.5, 1e-12);
    cr_assert_float_eq(model_lr_at(&c, 9, steps), 1.0, 1e-12);
    cr_assert_float_eq(model_lr_at(&c, 10, steps), 1.0, 1e-12);
    cr_assert_eq(model_lr_at(&c, steps - 1, steps), 0.1); /* exactly the floor at the budget */
    /* midway through the decay: 0.1 + 0.9 * 0.5 (1 + cos(pi/2)) */
    cr_assert_float_eq(model_lr_at(&c, 60, steps), 0.55, 1e-12);
    for (int64_t t = 11; t < steps; t++)
        cr_assert(model_lr_at(&c, t, steps) < model_lr_at(&c, t - 1, steps));
    c.schedule = SCHED_CONSTANT;
    cr_assert_float_eq(model_lr_at(&c, 5, steps), 0.6, 1e-12);
    cr_assert_eq(model_lr_at(&c, 100, steps), 1.0);
    /* fixed-cosine: horizon 51 steps (cycle 51*16 tokens) whatever the run's length */
    c.schedule = SCHED_FIXED_COSINE;
    c.cycle_tokens = 51 * 16;
    cr_assert_eq(model_lr_at(&c, 50, steps), 0.1);
    cr_assert_eq(model_lr_at(&c, 50, 1000), 0.1);
    cr_assert_eq(model_lr_at(&c, 90, 1000), 0.1);
    cr_assert_float_eq(model_lr_at(&c, 30, steps), model_lr_at(&c, 30, 1000), 0);
    cr_assert_float_eq(model_lr_at(&c, 30, steps), 0.55, 1e-12);
    model_sched m;
    cr_assert_eq(model_sched_parse("fixed-cosine", &m), 0);
    cr_assert_eq(m, SCHED_FIXED_COSINE);
    cr_assert_eq(model_sched_parse("linear", &m), UTIL_EINVAL);
}

Test(model, wsd_schedule) {
    model_train_config c;
    model_train_defaults(&c);
    c.lr = 1.0, c.min_lr_frac = 0.1, c.warmup = 10, c.schedule = SCHED_WSD, c.cooldown = 0.2;
    int64_t steps = 100; /* cooldown: the last 20 steps, 80..99 */
    cr_assert_eq(model_wsd_decay_start(&c, steps), 80);
    cr_assert_eq(model_wsd_decay_start(&c, 7), 6);             /* round(1.4) = 1 step */
    cr_assert_eq(model_wsd_decay_start(&c, 2), 1);             /* at least one step */
    cr_assert_float_eq(model_lr_at(&c, 4, steps), 0.5, 1e-12); /* warm-up as before */
    cr_assert_eq(model_lr_at(&c, 10, steps), 1.0);
    cr_assert_eq(model_lr_at(&c, 79, steps), 1.0);
    /* 1-sqrt: step 84 is p = 5/20, f = 1 - 0.5 */
    cr_assert_float_eq(model_lr_at(&c, 84, steps), 0.1 + 0.9 * 0.5, 1e-12);
    cr_assert_eq(model_lr_at(&c, 99, steps), 0.1); /* the floor at the last step */
    for (int64_t t = 81; t < steps; t++)
        cr_assert(model_lr_at(&c, t, steps) < model_lr_at(&c, t - 1, steps));
    c.cooldown_shape = COOLDOWN_LINEAR;
    cr_assert_float_eq(model_lr_at(&c, 84, steps), 0.1 + 0.9 * 0.75, 1e-12);
    cr_assert_eq(model_lr_at(&c, 99, steps), 0.1);
    /* a shorter run has the same lr as a longer one up to its own cooldown:
     * what lets a branch leave its trunk there */
    for (int64_t t = 0; t < model_wsd_decay_start(&c, 60); t++)
        cr_assert_eq(model_lr_at(&c, t, 60), model_lr_at(&c, t, steps));
    model_cooldown k;
    cr_assert_eq(model_cooldown_parse("1-sqrt", &k), 0);
    cr_assert_eq(k, COOLDOWN_1_SQRT);
    cr_assert_eq(model_cooldown_parse("linear", &k), 0);
    cr_assert_eq(k, COOLDOWN_LINEAR);
    cr_assert_eq(model_cooldown_parse("cosine", &k), UTIL_EINVAL);
    model_sched m;
    cr_assert_eq(model_sched_parse("wsd", &m), 0);
    cr_assert_eq(m, SCHED_WSD);
    /* the cooldown enters the id of a WSD run only; a fork enters it */
    char a[17], b[17];
    model_run_id(&c, a);
    c.cooldown = 0.3;
    model_run_id(&c, b);
    cr_assert_str_neq(a, b);
    c.schedule = SCHED_COSINE;
    model_run_id(&c, a);
    c.cooldown = 0.2;
    model_run_id(&c, b);
    cr_assert_str_eq(a, b);
    snprintf(c.fork_parent, sizeof c.fork_parent, "0123456789abcdef");
    c.fork_tokens = 64;
    model_run_id(&c, b);
    cr_assert_str_neq(a, b);
}

/* ---- training runs on a prepared directory ----------------------------- */

static char g_dir[256];

static void make_data(void) {
    strcpy(g_dir, "/tmp/test_model_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    char path[512], out[512], err[UTIL_ERRLEN];
    snprintf(path, sizeof path, "%s/corpus.txt", g_dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    static const char *words[] = {"the", "cat", "sat", "on",  "a",     "mat", "and", "dog",
                                  "ran", "to",  "big", "red", "house", "in",  "sun"};
    util_rng r;
    util_rng_seed(&r, 9, "corpus");
    for (int para = 0; para < 40; para++) {
        for (int w = 0; w < 60; w++)
            fprintf(f, "%s%s", words[util_rng_below(&r, 15)], w % 12 == 11 ? ".\n" : " ");
        fprintf(f, "\n\n");
    }
    fclose(f);
    snprintf(out, sizeof out, "%s/prep", g_dir);
    data_prepare_opts o;
    data_prepare_defaults(&o);
    o.min_ctx = 32;
    o.val_fraction = 0.2;
    const char *inputs[] = {path};
    cr_assert_eq(data_prepare(inputs, 1, NULL, out, &o, NULL, 0, err, sizeof err), 0, "%s", err);
}

static void rm_data(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

#define MAXREC 256
typedef struct {
    int nsteps, nevals;
    int64_t step[MAXREC];
    double loss[MAXREC], gnorm[MAXREC];
    int64_t estep[MAXREC];
    double vloss[MAXREC];
    int stop_after;
    volatile sig_atomic_t *stop;
} rec;

static int on_step(void *ctx, const model_step_rec *r, char *err, size_t errlen) {
    (void)err, (void)errlen;
    rec *R = ctx;
    if (R->nsteps < MAXREC) {
        R->step[R->nsteps] = r->step;
        R->loss[R->nsteps] = r->train_loss;
        R->gnorm[R->nsteps++] = r->grad_norm;
    }
    if (R->stop_after && r->step == R->stop_after) *R->stop = 1;
    return 0;
}

static int on_eval(void *ctx, const model_eval_rec *r, char *err, size_t errlen) {
    (void)err, (void)errlen;
    rec *R = ctx;
    if (R->nevals < MAXREC) {
        R->estep[R->nevals] = r->step;
        R->vloss[R->nevals++] = r->val_loss;
    }
    return 0;
}

static void small_config(model_train_config *c) {
    model_train_defaults(c);
    snprintf(c->data_dir, sizeof c->data_dir, "%s/prep", g_dir);
    c->shape = (model_shape){1, 16, 2, 64, 16, 0};
    c->batch = 4;
    c->micro_batch = 2;
    c->tokens = 4 * 16 * 30; /* 30 steps */
    c->lr = 3e-3;
    c->warmup = 3;
    c->evals = 4;
    c->eval_windows = 5;
    c->log_every = 1;
    c->threads = 2;
    c->seed = 5;
}

static int run(const model_train_config *c, rec *R, model_train_result *res, char *err) {
    model_hooks h = {.ctx = R, .on_step = on_step, .on_eval = on_eval};
    return model_train(c, &h, res, err, UTIL_ERRLEN);
}

Test(model, training_is_deterministic_and_resumes_bit_exactly, .init = make_data, .fini = rm_data) {
    model_train_config c;
    small_config(&c);
    char err[UTIL_ERRLEN];
    model_train_result res;
    static rec a, b, d;
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    cr_assert_eq(res.status, MODEL_DONE);
    cr_assert_eq(a.nsteps, 30);
    cr_assert_eq(res.steps, 30);
    cr_assert_eq(a.estep[a.nevals - 1], 30); /* an eval at the end */
    /* the log-spaced start (evals = 4: steps 2, 5, 13) and over the last 80%
     * (steps 6..30) neighbouring evals at most 1.5x apart (Approach 1) */
    cr_assert_eq(a.estep[0], 2);
    for (int i = 1; i < a.nevals; i++) {
        cr_assert_gt(a.estep[i], a.estep[i - 1]);
        if (5 * a.estep[i] > 30) /* a point inside the last 80% and its predecessor */
            cr_assert_leq(a.estep[i], 1.5 * a.estep[i - 1], "evals at %lld and %lld",
                          (long long)a.estep[i - 1], (long long)a.estep[i]);
    }
    cr_assert(a.loss[29] < a.loss[0] - 0.5, "loss %g -> %g", a.loss[0], a.loss[29]);
    cr_assert_eq(res.final_val_loss, a.vloss[a.nevals - 1]);
    data_info di;
    cr_assert_eq(data_info_read(c.data_dir, &di, 0, err, sizeof err), 0, "%s", err);
    /* epochs are exact passes over the (train_tokens - 1) / T whole windows */
    cr_assert_float_eq(res.epochs, 30.0 * 64 / (double)((di.train_tokens - 1) / 16 * 16), 1e-12);
    /* same config, same thread count: same bits */
    cr_assert_eq(run(&c, &d, &res, err), 0, "%s", err);
    cr_assert(memcmp(a.loss, d.loss, sizeof(double) * 30) == 0);
    cr_assert(memcmp(a.vloss, d.vloss, sizeof(double) * a.nevals) == 0);

    /* interrupted after step 12, then resumed */
    volatile sig_atomic_t stop = 0;
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s/run.ckpt", g_dir);
    c.stop = &stop;
    b.stop = &stop;
    b.stop_after = 12;
    cr_assert_eq(run(&c, &b, &res, err), UTIL_EINTR, "%s", err);
    cr_assert_eq(b.nsteps, 12);
    cr_assert_eq(access(c.checkpoint, F_OK), 0);
    stop = 0;
    b.stop_after = 0;
    c.resume = 1;
    cr_assert_eq(run(&c, &b, &res, err), 0, "%s", err);
    cr_assert_eq(b.nsteps, 30);
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(b.step[i], a.step[i]);
        cr_assert(memcmp(&b.loss[i], &a.loss[i], sizeof(double)) == 0, "step %d: %.17g vs %.17g",
                  i + 1, b.loss[i], a.loss[i]);
        cr_assert(memcmp(&b.gnorm[i], &a.gnorm[i], sizeof(double)) == 0);
    }
    cr_assert_eq(b.nevals, a.nevals);
    cr_assert(memcmp(a.vloss, b.vloss, sizeof(double) * a.nevals) == 0);
}

/* A branch forked from a WSD trunk at step s (its own cooldown's first step)
 * equals, bit for bit, the same WSD run trained alone: the trunk's lr before
 * s is the branch's, and the checkpoint carries the parameters, the AdamW
 * moments and the data order. */
Test(model, wsd_branch_equals_the_run_trained_alone, .init = make_data, .fini = rm_data) {
    char err[UTIL_ERRLEN], parent[17], ckpt[600], fork[700];
    model_train_result res, alone_res;
    model_train_config t, b;
    small_config(&t);
    t.schedule = SCHED_WSD;
    t.tokens = 4 * 16 * 40; /* the trunk: 40 steps, cooldown from step 32 */
    snprintf(ckpt, sizeof ckpt, "%s/trunk.ckpt", g_dir);
    snprintf(t.checkpoint, sizeof t.checkpoint, "%s", ckpt);
    b = t;
    b.tokens = 4 * 16 * 20; /* the branch: 20 steps, cooldown from step 16 */
    int64_t s = model_wsd_decay_start(&b, 20);
    cr_assert_eq(s, 16);
    t.keep_tokens[0] = s * 64;
    t.nkeep = 1;
    static rec rt, rb, ra;
    cr_assert_eq(run(&t, &rt, &res, err), 0, "%s", err);
    model_fork_path(ckpt, s * 64, fork, sizeof fork);
    cr_assert_eq(access(fork, F_OK), 0, "no fork checkpoint %s", fork);
    model_run_id(&t, parent);

    /* alone */
    b.checkpoint[0] = 0;
    cr_assert_eq(run(&b, &ra, &alone_res, err), 0, "%s", err);
    /* branched: only steps 17..20 are trained */
    snprintf(b.fork_parent, sizeof b.fork_parent, "%s", parent);
    b.fork_tokens = s * 64;
    snprintf(b.fork_checkpoint, sizeof b.fork_checkpoint, "%s", fork);
    cr_assert_eq(run(&b, &rb, &res, err), 0, "%s", err);
    cr_assert_eq(rb.nsteps, 20 - 16);
    cr_assert_eq(rb.step[0], 17);
    for (int i = 0; i < rb.nsteps; i++)
        cr_assert(memcmp(&rb.loss[i], &ra.loss[16 + i], sizeof(double)) == 0,
                  "step %lld: branch %.17g, alone %.17g", (long long)rb.step[i], rb.loss[i],
                  ra.loss[16 + i]);
    cr_assert(memcmp(&res.final_val_loss, &alone_res.final_val_loss, sizeof(double)) == 0,
              "final val loss: branch %.17g, alone %.17g", res.final_val_loss,
              alone_res.final_val_loss);
    cr_assert(memcmp(&res.final_train_loss, &alone_res.final_train_loss, sizeof(double)) == 0);
    cr_assert_eq(res.tokens, alone_res.tokens);
    /* the trunk's own steps before the fork are the branch's past */
    for (int i = 0; i < 16; i++)
        cr_assert(memcmp(&rt.loss[i], &ra.loss[i], sizeof(double)) == 0, "step %d", i + 1);
    /* the trunk's cooldown differs from the branch's: a later step differs */
    cr_assert(memcmp(&rt.loss[19], &ra.loss[19], sizeof(double)) != 0);

    /* a branch interrupted after its own checkpoint resumes from it, not
     * from the fork, and still ends where the run trained alone ends */
    {
        static rec rr;
        volatile sig_atomic_t stop = 0;
        model_train_config r = b;
        snprintf(r.checkpoint, sizeof r.checkpoint, "%s/branch.ckpt", g_dir);
        r.checkpoint_secs = 0;
        r.resume = 1;
        r.stop = &stop;
        rr.stop = &stop;
        rr.stop_after = 18;
        cr_assert_eq(run(&r, &rr, &res, err), UTIL_EINTR, "%s", err);
        cr_assert_eq(access(r.checkpoint, F_OK), 0);
        stop = 0;
        rr.stop_after = 0;
        char aside[800];
        snprintf(aside, sizeof aside, "%s.aside", fork);
        cr_assert_eq(rename(fork, aside), 0); /* the fork checkpoint is not read again */
        cr_assert_eq(run(&r, &rr, &res, err), 0, "%s", err);
        cr_assert_eq(rename(aside, fork), 0);
        cr_assert_eq(rr.nsteps, 4);
        cr_assert(memcmp(&res.final_val_loss, &alone_res.final_val_loss, sizeof(double)) == 0,
                  "resumed branch %.17g, alone %.17g", res.final_val_loss,
                  alone_res.final_val_loss);
    }

    /* a wrong parent or fork point is refused, naming the checkpoint */
    b.fork_tokens = 15 * 64;
    cr_assert_eq(run(&b, &rb, &res, err), UTIL_EINVAL);
    cr_assert(strstr(err, "the fork is at 960"), "%s", err);
    b.fork_tokens = s * 64;
    b.fork_parent[0] = 'x';
    cr_assert_eq(run(&b, &rb, &res, err), UTIL_EINVAL);
    cr_assert(strstr(err, "the fork names parent x"), "%s", err);
    /* a keep point off the step grid would never be written */
    t.keep_tokens[0] = 100;
    cr_assert_eq(run(&t, &rt, &res, err), UTIL_EINVAL);
    cr_assert(strstr(err, "fork point 100 tokens"), "%s", err);
}

/* An adaptive sweep's chain (sweep_auto_chains): the same size at a larger
 * budget forks from the SHORTER run of the budget before, at that run's own
 * cooldown start, and still equals the longer run trained alone. */
Test(model, wsd_chain_from_a_shorter_run_equals_the_run_trained_alone, .init = make_data,
     .fini = rm_data) {
    char err[UTIL_ERRLEN], parent[17], fork[700];
    model_train_result res, alone_res;
    model_train_config q, r;
    small_config(&q);
    q.schedule = SCHED_WSD;
    q.tokens = 4 * 16 * 20; /* the earlier budget: 20 steps, cooldown from step 16 */
    int64_t d = model_wsd_decay_start(&q, 20);
    snprintf(q.checkpoint, sizeof q.checkpoint, "%s/short.ckpt", g_dir);
    q.keep_tokens[0] = d * 64;
    q.nkeep = 1;
    r = q;
    r.tokens = 4 * 16 * 45; /* the next budget: 45 steps, cooldown from step 36 */
    r.nkeep = 0;
    static rec rq, rr, ra;
    cr_assert_eq(run(&q, &rq, &res, err), 0, "%s", err);
    model_fork_path(q.checkpoint, d * 64, fork, sizeof fork);
    cr_assert_eq(access(fork, F_OK), 0, "no fork checkpoint %s", fork);
    model_run_id(&q, parent);
    r.checkpoint[0] = 0;
    cr_assert_eq(run(&r, &ra, &alone_res, err), 0, "%s", err);
    snprintf(r.fork_parent, sizeof r.fork_parent, "%s", parent);
    r.fork_tokens = d * 64;
    snprintf(r.fork_checkpoint, sizeof r.fork_checkpoint, "%s", fork);
    cr_assert_eq(run(&r, &rr, &res, err), 0, "%s", err);
    cr_assert_eq(rr.nsteps, 45 - 16);
    for (int i = 0; i < rr.nsteps; i++)
        cr_assert(memcmp(&rr.loss[i], &ra.loss[16 + i], sizeof(double)) == 0,
                  "step %lld: chained %.17g, alone %.17g", (long long)rr.step[i], rr.loss[i],
                  ra.loss[16 + i]);
    cr_assert(memcmp(&res.final_val_loss, &alone_res.final_val_loss, sizeof(double)) == 0,
              "final val loss: chained %.17g, alone %.17g", res.final_val_loss,
              alone_res.final_val_loss);
}

Test(model, corrupt_checkpoint_is_detected, .init = make_data, .fini = rm_data) {
    model_train_config c;
    small_config(&c);
    c.tokens = 4 * 16 * 3;
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s/run.ckpt", g_dir);
    char err[UTIL_ERRLEN];
    model_train_result res;
    static rec a;
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    FILE *f = fopen(c.checkpoint, "r+b");
    cr_assert(f);
    fseek(f, 300, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 300, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
    c.resume = 1;
    cr_assert_eq(run(&c, &a, &res, err), UTIL_ECORRUPT);
    cr_assert(strstr(err, c.checkpoint), "%s", err);
    cr_assert(strstr(err, "checksum"), "%s", err);
    /* a checkpoint of another configuration is refused by name */
    small_config(&c);
    c.tokens = 4 * 16 * 3;
    c.lr = 1e-3;
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s/run2.ckpt", g_dir);
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    c.lr = 2e-3;
    c.resume = 1;
    cr_assert_neq(run(&c, &a, &res, err), 0);
    cr_assert(strstr(err, "run2.ckpt"), "%s", err);
}

Test(model, early_stopping_and_divergence, .init = make_data, .fini = rm_data) {
    model_train_config c;
    small_config(&c);
    char err[UTIL_ERRLEN];
    model_train_result res;
    static rec a, b;
    /* a learning rate too small to move a float: the val loss never improves */
    c.lr = 1e-13;
    c.evals = 8;
    c.patience = 2;
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    cr_assert_eq(res.status, MODEL_EARLY_STOPPED);
    cr_assert_eq(a.nevals, 3);
    cr_assert_eq(res.best_val_loss, a.vloss[0]);
    cr_assert_lt(res.steps, 30);
    /* resuming an early-stopped run leaves it stopped */
    int64_t stopped_at = res.steps;
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s/es.ckpt", g_dir);
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    c.resume = 1;
    int before = a.nsteps;
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    cr_assert_eq(res.status, MODEL_EARLY_STOPPED);
    cr_assert_eq(res.steps, stopped_at);
    cr_assert_eq(a.nsteps, before);
    small_config(&c);
    c.lr = 1e3;
    c.warmup = 0;
    c.grad_clip = 0;
    cr_assert_eq(run(&c, &b, &res, err), 0, "%s", err);
    cr_assert_eq(res.status, MODEL_DIVERGED);
    cr_assert_lt(res.steps, 30);
}

Test(model, unique_token_limit_counts_epochs, .init = make_data, .fini = rm_data) {
    model_train_config c;
    small_config(&c);
    c.unique_tokens = 200;
    char err[UTIL_ERRLEN];
    model_train_result res;
    static rec a;
    cr_assert_eq(run(&c, &a, &res, err), 0, "%s", err);
    cr_assert_float_eq(res.epochs, 30.0 * 64 / 192.0, 1e-12); /* 12 windows of 16 */
}

/* ---- the CLI ---------------------------------------------------------------- */

static int sh(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(model, cli_train_prints_final_line_and_exit_codes, .init = make_data, .fini = rm_data) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s train --no-db --data %s/prep --layers 1 --d-model 16 --heads 2 --ctx 16 --batch 4 "
             "--tokens 640 --warmup 2 --evals 2 --threads 1 > %s/out.txt 2> %s/err.txt",
             SCALING_BIN, g_dir, g_dir, g_dir);
    cr_assert_eq(sh(cmd), 0);
    char path[512], *text = NULL, e[UTIL_ERRLEN];
    size_t n;
    snprintf(path, sizeof path, "%s/out.txt", g_dir);
    cr_assert_eq(util_read_file(path, &text, &n, e, sizeof e), 0);
    cr_assert(strstr(text, "final train_loss="), "%s", text);
    cr_assert(strstr(text, "nonembedding"), "%s", text);
    free(text);
    /* --db: the run row holds the numbers the console printed */
    snprintf(cmd, sizeof cmd,
             "%s train --data %s/prep --layers 1 --d-model 16 --heads 2 --ctx 16 --batch 4 "
             "--tokens 640 --warmup 2 --evals 2 --threads 1 --run-id abc --db %s/r.db --quiet "
             "> %s/out2.txt 2>&1",
             SCALING_BIN, g_dir, g_dir, g_dir);
    cr_assert_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/out2.txt", g_dir);
    cr_assert_eq(util_read_file(path, &text, &n, e, sizeof e), 0);
    const char *fl = strstr(text, "final train_loss=");
    cr_assert(fl, "%s", text);
    double tl, vl;
    cr_assert_eq(sscanf(fl, "final train_loss=%lf val_loss=%lf", &tl, &vl), 2);
    free(text);
    store *db;
    snprintf(path, sizeof path, "%s/r.db", g_dir);
    cr_assert_eq(store_open(&db, path, STORE_READONLY, e, sizeof e), 0, "%s", e);
    store_run row;
    store_run_init(&row);
    cr_assert_eq(store_get_run(db, "abc", &row, e, sizeof e), 0, "%s", e);
    cr_assert_str_eq(row.status, "done");
    cr_assert_eq(row.n_layer, 1);
    /* 4*16^2 + 2*16*64 + 9*16 + 64 = 3280 per layer, + final LayerNorm 32 */
    cr_assert_eq(row.params_nonembedding, 3312);
    cr_assert(fabs(row.final_val_loss - vl) < 1e-6, "%g vs printed %g", row.final_val_loss, vl);
    cr_assert(fabs(row.final_train_loss - tl) < 1e-6);
    store_run_free_fields(&row);
    store_close(db);
    snprintf(cmd, sizeof cmd,
             "%s train --data %s/prep --layers 1 --d-model 16 --heads 3 --ctx 16 "
             "--batch 4 --tokens 640 2>/dev/null >/dev/null",
             SCALING_BIN, g_dir);
    cr_assert_eq(sh(cmd), 1); /* heads do not divide d_model: a runtime failure */
    snprintf(cmd, sizeof cmd, "%s train --layers 1 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "%s train --no-db --data %s/prep --layers 1 --d-model 16 --heads 2 --ctx 16 --batch 4 "
             "--tokens 6400 --lr 1000 --warmup 0 --threads 1 >/dev/null 2>&1",
             SCALING_BIN, g_dir);
    cr_assert_eq(sh(cmd), 3); /* diverged */
}

/* scaling train --fork: the branch of a trunk run through the CLI records its
 * family in the database and ends where the same run trained alone ends;
 * misuse is a usage error naming the option. */
Test(model, cli_train_fork, .init = make_data, .fini = rm_data) {
    char cmd[4096], base[1024];
    snprintf(base, sizeof base,
             "%s train --data %s/prep --layers 1 --d-model 16 --heads 2 --ctx 16 --batch 4 "
             "--warmup 2 --evals 2 --threads 1 --schedule wsd --db %s/f.db --quiet",
             SCALING_BIN, g_dir, g_dir);
    /* trunk: 30 steps; branch: 10 steps, cooldown from step 8 = 512 tokens */
    snprintf(cmd, sizeof cmd, "%s --tokens 1920 --checkpoint %s/T.ckpt --keep-at 512 > %s/t.txt",
             base, g_dir, g_dir);
    cr_assert_eq(sh(cmd), 0);
    char path[512], *text = NULL, e[UTIL_ERRLEN], tid[17] = "";
    size_t n;
    snprintf(path, sizeof path, "%s/t.txt", g_dir);
    cr_assert_eq(util_read_file(path, &text, &n, e, sizeof e), 0);
    const char *idp = strstr(text, "run: id=");
    cr_assert(idp, "%s", text);
    snprintf(tid, sizeof tid, "%.16s", idp + 8);
    free(text);
    snprintf(cmd, sizeof cmd,
             "%s --tokens 640 --fork %s --at 512 --fork-checkpoint %s/T.ckpt.at512 --run-id br "
             "> %s/b.txt 2>&1",
             base, tid, g_dir, g_dir);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s --tokens 640 --run-id alone > %s/a.txt 2>&1", base, g_dir);
    cr_assert_eq(sh(cmd), 0);
    store *db;
    snprintf(path, sizeof path, "%s/f.db", g_dir);
    cr_assert_eq(store_open(&db, path, STORE_READONLY, e, sizeof e), 0, "%s", e);
    store_run br, al;
    cr_assert_eq(store_get_run(db, "br", &br, e, sizeof e), 0, "%s", e);
    cr_assert_eq(store_get_run(db, "alone", &al, e, sizeof e), 0, "%s", e);
    cr_assert_str_eq(br.parent_run, tid);
    cr_assert_eq(br.fork_tokens, 512);
    cr_assert_str_eq(al.parent_run, "");
    cr_assert_str_eq(br.schedule, "wsd");
    cr_assert(memcmp(&br.final_val_loss, &al.final_val_loss, sizeof(double)) == 0,
              "branch %.17g, alone %.17g", br.final_val_loss, al.final_val_loss);
    cr_assert(strstr(br.config_json, "\"fork_parent\""), "%s", br.config_json);
    store_run_free_fields(&br);
    store_run_free_fields(&al);
    store_close(db);
    /* usage errors */
    snprintf(cmd, sizeof cmd, "%s --tokens 640 --fork %s > %s/u.txt 2>&1", base, tid, g_dir);
    cr_assert_eq(sh(cmd), 2);
    snprintf(path, sizeof path, "%s/u.txt", g_dir);
    cr_assert_eq(util_read_file(path, &text, &n, e, sizeof e), 0);
    cr_assert(strstr(text, "--fork RUN and --at N go together"), "%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "%s --tokens 640 --cooldown-shape cosine 2>/dev/null", base);
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s --tokens 640 --keep-at 64 2>/dev/null", base);
    cr_assert_eq(sh(cmd), 2); /* --keep-at needs --checkpoint */
}

Test(model, cli_bench_usage) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s bench --help >/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s bench --threads 0 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s bench --bogus 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
    /* --shapes: d_model must split into heads; the shape options need --shapes */
    snprintf(cmd, sizeof cmd,
             "%s bench --shapes 2x70 --head-size 8 2>&1 | grep -q 'd_model 70 is not a multiple "
             "of --head-size 8'",
             SCALING_BIN);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s bench --shapes 2x70 --head-size 8 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s bench --shapes 2y 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s bench --ctx 64 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s bench --shapes 1x16 --sweep x.ini 2>/dev/null", SCALING_BIN);
    cr_assert_eq(sh(cmd), 2);
}

Test(model, cli_bench_shapes_json) {
    char cmd[1024], out[64];
    snprintf(out, sizeof out, "/tmp/scaling_test_bench_%d.json", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "%s bench --shapes 1x16,2x24 --ctx 16 --head-size 8 --batch 2 --steps 1 --cpu-time "
             "--json > %s",
             SCALING_BIN, out);
    cr_assert_eq(sh(cmd), 0);
    char *text = NULL, e[UTIL_ERRLEN];
    size_t n;
    cr_assert_eq(util_read_file(out, &text, &n, e, sizeof e), 0, "%s", e);
    remove(out);
    cJSON *j = cJSON_Parse(text);
    cr_assert(j, "%s", text);
    cJSON *shapes = cJSON_GetObjectItem(j, "shapes");
    cr_assert_eq(cJSON_GetArraySize(shapes), 2, "%s", text);
    const int want[2][3] = {{1, 16, 2}, {2, 24, 3}}; /* n_layer, d_model, n_head = d_model / 8 */
    for (int i = 0; i < 2; i++) {
        cJSON *r = cJSON_GetArrayItem(shapes, i);
        cr_assert_eq(cJSON_GetObjectItem(r, "n_layer")->valueint, want[i][0]);
        cr_assert_eq(cJSON_GetObjectItem(r, "d_model")->valueint, want[i][1]);
        cr_assert_eq(cJSON_GetObjectItem(r, "n_head")->valueint, want[i][2]);
        cr_assert_eq(cJSON_GetObjectItem(r, "n_ctx")->valueint, 16);
        cr_assert_eq(cJSON_GetObjectItem(r, "batch")->valueint, 2);
        cr_assert_gt(cJSON_GetObjectItem(r, "tokens_per_s")->valuedouble, 0);
        cr_assert_gt(cJSON_GetObjectItem(r, "mfu")->valuedouble, 0);
    }
    cJSON_Delete(j);
    free(text);
}

/* ---- the final evaluation and the window order ----------------------------- */

typedef struct {
    float w[4096];
    int64_t n, val_tokens;
} final_rec;

static int on_final_eval(void *ctx, const model_eval_rec *r, char *err, size_t errlen) {
    (void)err, (void)errlen;
    final_rec *F = ctx;
    if (r->window_loss) {
        cr_assert_leq(r->nwindows, 4096);
        memcpy(F->w, r->window_loss, (size_t)r->nwindows * sizeof(float));
        F->n = r->nwindows;
        F->val_tokens = r->val_tokens;
    }
    return 0;
}

/* With defaults the final loss covers the whole validation split, and equals
 * an independent evaluation of the run's final checkpoint: one window at a
 * time (B = 1), over every whole window of val.tok, summed in double. */
Test(model, final_loss_is_the_whole_split_and_matches_its_checkpoint, .init = make_data,
     .fini = rm_data) {
    model_train_config c;
    small_config(&c);
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s/final.ckpt", g_dir);
    char err[UTIL_ERRLEN];
    model_train_result res;
    static final_rec F;
    model_hooks h = {.ctx = &F, .on_eval = on_final_eval};
    cr_assert_eq(model_train(&c, &h, &res, err, sizeof err), 0, "%s", err);
    cr_assert_eq(res.status, MODEL_DONE);

    char path[600];
    snprintf(path, sizeof path, "%s/prep/val.tok", g_dir);
    data_tokfile va;
    cr_assert_eq(data_tokfile_open(&va, path, err, sizeof err), 0, "%s", err);
    int T = c.shape.n_ctx;
    int64_t nwin = (int64_t)((va.ntokens - 1) / (uint64_t)T);
    cr_assert_gt(nwin, c.eval_windows, "the split must be larger than the cheap evals");
    cr_assert_eq(res.final_val_tokens, nwin * T);
    cr_assert_eq(F.val_tokens, nwin * T);
    cr_assert_eq(F.n, nwin);
    cr_assert_lt((int64_t)va.ntokens - res.final_val_tokens, T + 1); /* < T tokens unscored */

    data_info di;
    cr_assert_eq(data_info_read(c.data_dir, &di, 0, err, sizeof err), 0, "%s", err);
    model_shape s = c.shape;
    s.n_vocab = di.vocab;
    nn_gpt *g = NULL;
    cr_assert_eq(nn_gpt_create(&g, &s, 1, 1, err, sizeof err), 0, "%s", err);
    nn_ckpt_state st;
    cr_assert_eq(nn_ckpt_load(c.checkpoint, g, &st, err, sizeof err), 0, "%s", err);
    double sum = 0, wsum = 0;
    for (int64_t w = 0; w < nwin; w++) {
        for (int t = 0; t < T; t++) {
            g->inputs[t] = (int)data_tokfile_get(&va, (uint64_t)w * T + t);
            g->targets[t] = (int)data_tokfile_get(&va, (uint64_t)w * T + t + 1);
        }
        double l = nn_gpt_forward(g, 1);
        sum += l * T;
        cr_assert_float_eq(F.w[w], l, 1e-5 * (1 + l), "window %lld: %g vs %g", (long long)w, F.w[w],
                           l);
        wsum += F.w[w];
    }
    double ref = sum / ((double)nwin * T);
    cr_assert_float_eq(res.final_val_loss, ref, 1e-6 * ref, "%.9g vs %.9g", res.final_val_loss,
                       ref);
    cr_assert_float_eq(wsum / nwin, res.final_val_loss, 1e-6 * ref);
    nn_gpt_free(g);
    data_tokfile_close(&va);

    /* a cap keeps whole windows: 40 tokens at T = 16 is 2 windows */
    c.final_eval_tokens = 40;
    c.checkpoint[0] = 0;
    cr_assert_eq(model_train(&c, &h, &res, err, sizeof err), 0, "%s", err);
    cr_assert_eq(res.final_val_tokens, 32);
    cr_assert_eq(F.n, 2);
}

/* More validation windows than the split holds are capped at
 * (val tokens - 1) / n_ctx: the caller is told through info, the loss is the
 * capped count's bit for bit, and `scaling train` prints a note. */
static model_train_info g_info;
static int on_start_info(void *ctx, const model_train_config *c, const model_train_info *info,
                         char *err, size_t errlen) {
    (void)ctx, (void)c, (void)err, (void)errlen;
    g_info = *info;
    return 0;
}

Test(model, eval_windows_capped_at_the_split, .init = make_data, .fini = rm_data) {
    model_train_config c;
    small_config(&c);
    c.tokens = 4 * 16 * 2;
    c.evals = 1;
    c.eval_windows = 100000;
    char err[UTIL_ERRLEN];
    data_info di;
    cr_assert_eq(data_info_read(c.data_dir, &di, 0, err, sizeof err), 0, "%s", err);
    int most = (int)((di.val_tokens - 1) / 16);
    cr_assert_eq(model_eval_windows_max(di.val_tokens, 16), most);
    cr_assert_lt(most, 100000);
    model_hooks h = {.on_start = on_start_info};
    model_train_result big, capped;
    cr_assert_eq(model_train(&c, &h, &big, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g_info.eval_windows_asked, 100000);
    cr_assert_eq(g_info.eval_windows, most);
    c.eval_windows = most;
    cr_assert_eq(model_train(&c, &h, &capped, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g_info.eval_windows, most);
    cr_assert_eq(g_info.eval_windows_asked, most);
    cr_assert(big.final_val_loss == capped.final_val_loss, "%.17g vs %.17g", big.final_val_loss,
              capped.final_val_loss);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s train --no-db --data %s/prep --layers 1 --d-model 16 --heads 2 --ctx 16 --batch 4 "
             "--tokens 128 --evals 1 --eval-windows 100000 --threads 1 > %s/ew.txt 2>&1",
             SCALING_BIN, g_dir, g_dir);
    cr_assert_eq(sh(cmd), 0);
    char path[512], *text = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/ew.txt", g_dir);
    cr_assert_eq(util_read_file(path, &text, &n, err, sizeof err), 0);
    char want[128];
    snprintf(want, sizeof want, "note: --eval-windows 100000 capped at %d", most);
    cr_assert(strstr(text, want), "%s", text);
    free(text);
}
