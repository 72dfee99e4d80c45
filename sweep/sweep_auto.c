/*
 * sweep_auto.c — the adaptive IsoFLOP planner's arithmetic (params = auto,
 * docs/sweep.md "Adaptive sizes"): where a budget's sizes go, from a prior or
 * from the budgets already trained, under the constraints every size must
 * meet. Pure functions of their arguments: the plan expansion
 * (sweep_plan.c) feeds them the losses it reads from the database.
 *
 * Sizes sit on one lattice for the whole sweep, target parameter counts
 * N_m = 10^(m * step) with step = 2 w / (k - 1) dex, so a size placed at two
 * budgets is the same shape at both and its WSD chain can carry on from one
 * budget's stable phase to the next (sweep_wsd.c).
 */
#include <math.h>
#include <string.h>

#include "sweep_priv.h"

double sweep_auto_step(const sweep_auto_space *sp) {
    return 2 * sp->width_dex / (sp->k - 1);
}

/* The shape nearest `target` parameters, with at least SWEEP_AUTO_MIN_LAYERS
 * layers: the shape rule's own choice when deep enough, else the best
 * d_model at the minimum depth. */
int sweep_auto_shape(const sweep_auto_space *sp, double target, model_shape *s) {
    char why[UTIL_ERRLEN];
    model_shape t;
    int ok = !sweep_shape_for_params(target, sp->count_total, sp->aspect, sp->head_size,
                                     sp->ff_mult, sp->n_ctx, sp->n_vocab, &t, why, sizeof why);
    if (ok && t.n_layer >= SWEEP_AUTO_MIN_LAYERS) {
        *s = t;
        return 0;
    }
    double best = INFINITY;
    for (int m = 1; m * sp->head_size <= 65536; m++) {
        int d = m * sp->head_size;
        model_shape u = {SWEEP_AUTO_MIN_LAYERS, d, m, (int)floor(sp->ff_mult * d + 0.5),
                         sp->n_ctx, sp->n_vocab};
        if (u.d_ff < 1) u.d_ff = 1;
        model_counts c;
        model_count_params(&u, &c);
        double N = (double)(sp->count_total ? c.total : c.nonembedding), e = fabs(log(N / target));
        if (e < best) best = e, *s = u;
        if (N > target) break;
    }
    return best <= log(2.0) ? 0 : UTIL_EINVAL;
}

/* Lattice point m: its shape, parameter count, tokens at `budget`, and
 * whether it meets the constraints. */
typedef struct {
    model_shape s;
    double target, N, tokens, tpp, epochs;
    int ok;
} point;

static void eval_point(const sweep_auto_space *sp, double budget, int m, point *p) {
    memset(p, 0, sizeof *p);
    p->target = pow(10.0, m * sweep_auto_step(sp));
    if (sweep_auto_shape(sp, p->target, &p->s)) return;
    model_counts c;
    model_count_params(&p->s, &c);
    p->N = (double)(sp->count_total ? c.total : c.nonembedding);
    double fpt = model_flops_per_token(&p->s, sp->flops);
    int64_t t = sweep_tokens_for_budget(budget, fpt, sp->tokens_per_step);
    if (t < 0) return;
    p->tokens = (double)t;
    p->tpp = p->tokens / p->N;
    p->epochs = sp->epoch_tokens > 0 ? p->tokens / (double)sp->epoch_tokens : 0;
    p->ok = p->s.n_layer >= SWEEP_AUTO_MIN_LAYERS && p->tpp >= SWEEP_AUTO_MIN_TPP &&
            p->epochs <= SWEEP_AUTO_MAX_EPOCHS;
}

static int same_shape(const model_shape *a, const model_shape *b) {
    return a->n_layer == b->n_layer && a->d_model == b->d_model;
}

/* The lattice range worth looking at: 100 parameters to 1e12. */
#define M_LO(st) ((int)floor(2.0 / (st)))
#define M_HI(st) ((int)ceil(12.0 / (st)))

/* The feasible lattice points at `budget`, distinct shapes, ascending:
 * their count (at most cap kept). */
static int feasible(const sweep_auto_space *sp, double budget, point *out, int cap) {
    double st = sweep_auto_step(sp);
    int n = 0;
    model_shape last = {0};
    for (int m = M_LO(st); m <= M_HI(st); m++) {
        point p;
        eval_point(sp, budget, m, &p);
        if (!p.ok || (n > 0 && same_shape(&last, &p.s))) continue;
        last = p.s;
        if (n < cap) out[n] = p;
        n++;
    }
    return n;
}

int sweep_auto_place(const sweep_auto_space *sp, double budget, double N_center,
                     model_shape *shapes, double *targets, char *err, size_t errlen) {
    enum { CAP = 512 };
    static __thread point pts[CAP];
    if (sp->k < 2 || !(sp->width_dex > 0) || !(budget > 0) || !(N_center > 0))
        return util_err(err, errlen, UTIL_EINVAL, "auto sizes: bad arguments");
    int n = feasible(sp, budget, pts, CAP);
    if (n > CAP) n = CAP;
    if (n < sp->k) {
        /* The nearest budgets that have k sizes, in 0.05 dex steps: below
         * (the corpus runs out of epochs) and above (the sizes run out of
         * tokens per parameter). */
        double below = NAN, above = NAN, f = pow(10, 0.05);
        for (double c = budget / f; c > 1e3 && !isfinite(below); c /= f)
            if (feasible(sp, c, pts, CAP) >= sp->k) below = c;
        for (double c = budget * f; c < budget * 1e6 && !isfinite(above); c *= f)
            if (feasible(sp, c, pts, CAP) >= sp->k) above = c;
        /* then to 0.1% by bisection in ln C between the feasible budget
         * found and its infeasible neighbour */
        for (int side = 0; side < 2; side++) {
            double *ok = side ? &above : &below;
            if (!isfinite(*ok)) continue;
            double good = log(*ok), bad = log(side ? *ok / f : *ok * f);
            while (fabs(good - bad) > 1e-3) {
                double mid = 0.5 * (good + bad);
                if (feasible(sp, exp(mid), pts, CAP) >= sp->k)
                    good = mid;
                else
                    bad = mid;
            }
            /* 4 significant digits, rounded towards the feasible side, so
             * the budget said is one that works as written */
            double e = pow(10, floor(log10(exp(good))) - 3);
            *ok = side ? ceil(exp(good) / e) * e : floor(exp(good) / e) * e;
        }
        char most[160];
        if (isfinite(below))
            snprintf(most, sizeof most,
                     "the corpus is too small for it: the largest budget that allows them is "
                     "%.4g FLOPs",
                     below);
        else if (isfinite(above))
            snprintf(most, sizeof most,
                     "the budget is too small for them: the smallest budget that allows them is "
                     "%.4g FLOPs",
                     above);
        else
            snprintf(most, sizeof most, "no budget allows them on this corpus");
        return util_err(err, errlen, UTIL_EINVAL,
                        "budget %.3g FLOPs: %d sizes of at least %d layers, each with at least "
                        "%g tokens per parameter and at most %g epochs of the %llu training "
                        "tokens, are needed and %d qualify; %s",
                        budget, sp->k, SWEEP_AUTO_MIN_LAYERS, SWEEP_AUTO_MIN_TPP,
                        SWEEP_AUTO_MAX_EPOCHS, (unsigned long long)sp->epoch_tokens, n, most);
    }
    /* the k consecutive feasible sizes whose middle is nearest N_center
     * (in log N), so the window slides inward at a constraint's edge */
    int best = 0;
    double bd = INFINITY, lc = log(N_center);
    for (int i = 0; i + sp->k <= n; i++) {
        double mid = 0.5 * (log(pts[i].N) + log(pts[i + sp->k - 1].N)), d = fabs(mid - lc);
        if (d < bd - 1e-12) bd = d, best = i;
    }
    for (int i = 0; i < sp->k; i++) {
        shapes[i] = pts[best + i].s;
        if (targets) targets[i] = pts[best + i].target;
    }
    return 0;
}

double sweep_auto_prior(const sweep_auto_space *sp, double budget, double tokens_per_param) {
    /* the lattice point whose tokens per parameter at the budget is nearest */
    double st = sweep_auto_step(sp), best = INFINITY, N = NAN;
    for (int m = M_LO(st); m <= M_HI(st); m++) {
        point p;
        eval_point(sp, budget, m, &p);
        if (!(p.N > 0) || !(p.tokens > 0)) continue;
        double d = fabs(log(p.tpp / tokens_per_param));
        if (d < best) best = d, N = p.N;
    }
    return N;
}

double sweep_auto_vertex(const double *N, const double *L, int n, double half_width_dex,
                         int *valley) {
    if (valley) *valley = 0;
    /* least squares L = q0 + q1 u + q2 u^2, u = ln N - mean (conditioning) */
    double xm = 0, lo = INFINITY, hi = -INFINITY;
    int best = -1;
    for (int i = 0; i < n; i++) {
        double x = log(N[i]);
        xm += x / n;
        lo = fmin(lo, x), hi = fmax(hi, x);
        if (isfinite(L[i]) && (best < 0 || L[i] < L[best])) best = i;
    }
    if (best < 0) return NAN;
    double A[3][4] = {{0}};
    int used = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(L[i])) continue;
        double u = log(N[i]) - xm, pw[3] = {1, u, u * u};
        for (int r = 0; r < 3; r++) {
            A[r][3] += pw[r] * L[i];
            for (int c = 0; c < 3; c++)
                A[r][c] += pw[r] * pw[c];
        }
        used++;
    }
    /* Gaussian elimination with partial pivoting on the 3x3 normal equations */
    int ok = used >= 3;
    for (int col = 0; col < 3 && ok; col++) {
        int piv = col;
        for (int r = col + 1; r < 3; r++)
            if (fabs(A[r][col]) > fabs(A[piv][col])) piv = r;
        if (fabs(A[piv][col]) < 1e-12) {
            ok = 0;
            break;
        }
        for (int c = 0; c < 4; c++) {
            double t = A[col][c];
            A[col][c] = A[piv][c];
            A[piv][c] = t;
        }
        for (int r = 0; r < 3; r++) {
            if (r == col) continue;
            double f = A[r][col] / A[col][col];
            for (int c = col; c < 4; c++)
                A[r][c] -= f * A[col][c];
        }
    }
    double q1 = ok ? A[1][3] / A[1][1] : NAN, q2 = ok ? A[2][3] / A[2][2] : NAN;
    if (!(q2 > 0)) return N[best]; /* no valley: the lowest loss measured */
    if (valley) *valley = 1;
    double x = xm - q1 / (2 * q2), h = half_width_dex * log(10.0);
    if (x < lo - h) x = lo - h; /* a vertex far outside the sizes is a guess */
    if (x > hi + h) x = hi + h;
    return exp(x);
}

double sweep_auto_extrapolate(const double *C, const double *N, int n, double budget,
                              double prior_a, double *a_used) {
    double a = prior_a, lc = 0, ln = 0;
    for (int i = 0; i < n; i++)
        lc += log(C[i]) / n, ln += log(N[i]) / n;
    if (n >= 2) {
        double sxy = 0, sxx = 0;
        for (int i = 0; i < n; i++)
            sxy += (log(C[i]) - lc) * (log(N[i]) - ln), sxx += (log(C[i]) - lc) * (log(C[i]) - lc);
        if (sxx > 0) a = sxy / sxx;
        /* a few noisy optima can give any slope; Chinchilla-like laws have
         * a in [0.25, 0.75] (Hoffmann et al. 2022 Table 2; Kaplan 0.73) */
        if (!(a >= SWEEP_AUTO_A_MIN)) a = SWEEP_AUTO_A_MIN;
        if (a > SWEEP_AUTO_A_MAX) a = SWEEP_AUTO_A_MAX;
    }
    if (a_used) *a_used = a;
    if (n < 1) return NAN;
    return exp(ln + a * (log(budget) - lc));
}
