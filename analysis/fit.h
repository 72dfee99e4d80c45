/*
 * fit.h — scaling-law fits: Kaplan's L(N), L(D), L(Cmin), L(N, D) and
 * Chinchilla's Approaches 1, 2 and 3, with bootstrap intervals over runs.
 *
 * Owns: loading (runs, curves) from the results database (through store.h's
 * typed reads; no SQL here) or a CSV, the fits, their bootstrap, their JSON
 * form (the `fits` table's params_json), and the published reference values.
 * Does not own: the database and its SQL (store.h), how compute is counted
 * (model.h: the fits read the FLOPs per token stored with each run), drawing
 * (plot.h), printing (the CLI).
 * Errors: 0 or negative UTIL_E*, message in the caller's buffer; degenerate
 * input (too few points, one size only, non-positive loss, NaN) is an error,
 * never a silently wrong fit.
 */
#ifndef SCALING_FIT_H
#define SCALING_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "../model/model.h"
#include "../results/store.h"
#include "../util/util.h"

/* ---- Data --------------------------------------------------------------- */

/* One run: its shape counts, budget, final result and (optionally) eval curve. */
typedef struct {
    char id[17];
    char label[128];
    double n_total, n_nonemb;          /* parameters */
    double fpt_kaplan, fpt_chinchilla; /* training FLOPs per token, 0 if unknown */
    double tokens;                     /* tokens trained */
    double unique_tokens;              /* 0: unlimited */
    double budget;                     /* IsoFLOP compute budget (FLOPs), NaN if none */
    double loss;                       /* final (or best) validation loss, nats/token */
    int ncurve;                        /* eval points: curve_tokens[i], curve_loss[i] */
    double *curve_tokens, *curve_loss;
    char parent[17]; /* a WSD branch: the run it forked from (runs.parent_run), "" if none */
    int line;        /* CSV: the physical line of the row (0: from the database) */
    /* The final eval's per-window losses (nats/token, table final_eval), for
     * fit_noise_draw; NULL (nwin 0) for CSV rows and runs stored without them */
    float *win;
    int nwin, win_ctx;    /* windows, and their length in tokens */
    uint64_t config;      /* hash of the configuration without the seed: runs
                           * sharing it are seeds of one configuration (0: unknown) */
    double n_vocab;       /* vocabulary size, 0 if unknown */
    double warmup_tokens; /* tokens of the lr warm-up, 0 if unknown */
    double fpt_actual;    /* model_flops_actual of the run's shape, 0 if unknown (CSV) */
    double epochs;        /* passes over the unique training tokens, NaN if unknown */
    int wsd;              /* trained with schedule = wsd: only its end is annealed (its
                           * curve is its family's annealed ends, fit_load_store) */
} fit_run;

typedef struct {
    int nruns;
    fit_run *runs;
} fit_data;

/* What reading a CSV found besides the runs, for the CLI to say. */
typedef struct {
    int nrows;      /* data rows in the file: runs plus rows set aside */
    int nset_aside; /* rows not loaded because their status column is not 'done' */
    int loss_bits;  /* the loss column is in bits per token (not converted) */
    char note[512]; /* what was set aside or assumed, "" when nothing */
} fit_csv_info;

typedef enum { FIT_PARAMS_TOTAL = 0, FIT_PARAMS_NONEMB = 1 } fit_params;

/* Loads the finished runs of `sweep` (NULL: all) with their eval curves.
 * A WSD family (a trunk and the branches forked from it) gets one curve, on
 * the trunk: the family's cooldown ends (annealed losses at each budget);
 * the trunk's constant-lr evals and the branches' own curves are dropped
 * (docs/fit.md, "WSD families"). */
int fit_load_store(fit_data *d, store *s, const char *sweep, char *err, size_t errlen);
/* The same for the held-out runs of `sweep` (NULL: of every sweep): the runs
 * no fit sees (store_holdout_runs), which fits predict instead. */
int fit_load_holdout(fit_data *d, store *s, const char *sweep, char *err, size_t errlen);
/* Loads a CSV (RFC 4180 as libcsv reads it; a UTF-8 byte-order mark, CRLF,
 * blank lines and ';' or tab separators are accepted) whose header names
 * params, tokens or flops (or only budget), and loss, by the names and
 * aliases of docs/fit.md; other columns are ignored. tokens = flops /
 * (6 params) when only flops is given. Every row becomes a run, except rows
 * whose `status` column is not `done` (counted in d->nset_aside, said in
 * d->note). Errors name the file, the physical line and the column; nothing
 * is loaded then. Duplicated rows are kept (see fit_duplicates). */
int fit_load_csv(fit_data *d, const char *path, char *err, size_t errlen);
/* fit_load_csv that also says what it set aside or assumed (info may be NULL). */
int fit_read_csv(fit_data *d, fit_csv_info *info, const char *path, char *err, size_t errlen);
/* Rows of d that repeat an earlier row exactly (params, tokens, FLOPs, loss,
 * budget): returns how many, and names them in msg ("line 9 repeats line
 * 2, ..."); with collapse, removes them (the first of each stays), which
 * keeps the bootstrap from counting one run twice. */
int fit_duplicates(fit_data *d, int collapse, char *msg, size_t msglen);
void fit_data_free(fit_data *d);

/* N and C of a run under the chosen counting: C is the run's tokens times the
 * FLOPs per token stored with it (runs.flops_per_token_*, from
 * model_flops_per_token), 6 N for 6nd (and where none is stored). */
double fit_run_params(const fit_run *r, fit_params p);
double fit_run_flops(const fit_run *r, fit_params p, model_flops_count f); /* at r->tokens */
/* Training FLOPs of the run after `tokens` tokens (a point of its curve). */
double fit_run_flops_at(const fit_run *r, fit_params p, model_flops_count f, double tokens);
/* The fit's count along the data's sizes: for each distinct N (under p), the
 * run's FLOPs per token under f (the first run of a size counts); for 6nd no
 * sizes (n = 0, exactly 6 N). Budgets turn into (N, D) through it
 * (model_frontier_tokens) in every approach. */
void fit_count_frontier(const fit_data *d, fit_params p, model_flops_count f,
                        model_flops_frontier *out);
/* Best validation loss seen: min(r->loss, min of the curve). */
double fit_run_best_loss(const fit_run *r);
/* Approach 2's grouping of runs into IsoFLOP budgets: group[i] in 0..*ngroups-1
 * for each run (-1: no budget). Runs with a finite `budget` are grouped by it;
 * without one (CSV data) by their FLOPs, sorted, a new group starting 0.1 dex
 * (x1.26) above the first of the current one. When only some runs have a
 * budget, each of the others joins the budget nearest its FLOPs if within
 * 0.1 dex, else the others are clustered by FLOPs among themselves: no run is
 * left without a group. group has d->nruns entries. */
int fit_budget_groups(const fit_data *d, fit_params p, model_flops_count f, int *group,
                      int *ngroups);

/* ---- Results ------------------------------------------------------------ */

/* What a fitted value's estimate and interval can be trusted for. */
enum {
    FIT_AT_LOWER = 1,       /* the estimate sits at its lower bound (`bound`): E = 0, say */
    FIT_AT_UPPER = 2,       /* the estimate sits at its upper bound (`bound`) */
    FIT_DRAWS_AT_BOUND = 4, /* 2.5% or more of the bootstrap draws sit at a bound,
                             * so that end of the interval is the bound itself */
    FIT_UNIDENTIFIED = 8,   /* the interval spans more than 2 orders of magnitude
                             * (an exponent: reaches 0 or is wider than 0.5) */
};

typedef struct {
    double est, lo, hi; /* point estimate and bootstrap interval (NaN when none) */
    unsigned flags;     /* FIT_AT_LOWER | ... (0: an ordinary estimate) */
    double bound;       /* the bound meant by FIT_AT_* and FIT_DRAWS_AT_BOUND */
} fit_val;

#define FIT_MAX_POINTS 256
#define FIT_SAMPLES 1000 /* bootstrap draws kept in a result for predictions */

/* Approach 1 and 2 share this: per compute value, the optimum found. */
typedef struct {
    int n;
    double C[FIT_MAX_POINTS], N[FIT_MAX_POINTS], D[FIT_MAX_POINTS], L[FIT_MAX_POINTS];
    int extrapolated[FIT_MAX_POINTS]; /* approach 2: minimum outside the sampled sizes */
    /* approach 1: 1 for an envelope point between two evals (interpolated),
     * 0 for an eval's own; the regression weight of each point (interpolated
     * points together weigh no more than the measured ones; approach 2: 1) */
    int interpolated[FIT_MAX_POINTS];
    double weight[FIT_MAX_POINTS];
    /* approach 2: parabola L = p0 + p1 x + p2 x^2 with x = ln N, per budget */
    double parab[FIT_MAX_POINTS][3];
} fit_optima;

typedef struct {
    fit_val a, b;   /* N_opt ∝ C^a, D_opt ∝ C^b */
    fit_val kN, kD; /* prefactors: N_opt = kN C^a, D_opt = kD C^b */
    fit_optima pts;
    int npoints_used;
    int nruns_used;    /* runs behind the optima (approach 2: in the budgets fitted) */
    char warning[512]; /* e.g. extrapolated minima, edge of the grid */
    /* bootstrap draws (kN, a, kD, b), the first FIT_SAMPLES kept, for
     * intervals of predictions at any compute (scaling predict) */
    int nsamples;
    double samples[FIT_SAMPLES][4];
} fit_frontier;

/* A run Approach 3 left out, and why ("0.47 tokens per parameter (< 1)"). */
typedef struct {
    char run[17];
    char reason[112];
} fit_exclusion;
#define FIT_MAX_EXCLUDED 256 /* listed; nexcluded counts them all */

typedef struct {
    fit_val E, A, B, alpha, beta; /* L = E + A/N^alpha + B/D^beta */
    fit_val a, b, G;              /* frontier exponents and G under C = 6ND (see fit_approach3.c) */
    model_flops_frontier count; /* the fit's own count of C along its sizes (fit_count_frontier) */
    double objective;           /* best Huber objective */
    int on_grid_edge;           /* best start was on the initialisation grid's edge */
    char warning[512];
    int npoints;     /* runs fitted */
    double start[5]; /* best start (a, b, e, alpha, beta) of the grid */
    int starts_run;  /* L-BFGS runs made from the grid */
    int boot_failed; /* resamples whose fit failed (not counted) */
    int boot_starts; /* L-BFGS starts per resample: the best of the grid (+ the fit) */
    int boot_noise;  /* the resamples were noise draws (fit_noise_draw), not whole runs */
    int domain_all;  /* every run fitted (--a3-domain all); else the domain's */
    int nexcluded;   /* runs outside the domain, left out; the first
                      * FIT_MAX_EXCLUDED listed in excluded[] */
    fit_exclusion excluded[FIT_MAX_EXCLUDED];
    /* bootstrap draws (E, A, B, alpha, beta), the first FIT_SAMPLES kept */
    int nsamples;
    double samples[FIT_SAMPLES][5];
} fit_approach3;

typedef struct {
    /* L(X) = E + (Xc/X)^alphaX, E = 0 unless with_E */
    fit_val Xc, alpha, E;
    int npoints;
} fit_powerlaw;

typedef struct {
    fit_powerlaw LN, LD, LC; /* L(N), L(D), L(Cmin) */
    /* L(Cmin) in the other form: with E when the fit's laws have none
     * (fit_opts.with_E 0), pure when they have one; the same points */
    fit_powerlaw LC_other;
    int LC_other_with_E;
    /* compute (FLOPs) where L(Cmin)'s points start: past the warm-up of the
     * run on the frontier and below the unigram plateau ln V - 1 (NaN: no
     * point was left out, e.g. without vocabulary or warm-up known) */
    double LC_from;
    fit_val Nc, Dc, aN, aD; /* joint L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD */
    int have_LD, have_joint;
    char warning[512];
} fit_kaplan;

typedef struct {
    fit_params params;
    model_flops_count flops; /* how C is counted (model.h); 6nd: 6 N with N as counted here */
    int bootstrap;           /* resamples (0: no intervals) */
    uint64_t seed;           /* bootstrap stream seed */
    int with_E;              /* Kaplan laws with an irreducible term */
    double huber_delta;      /* approach 3, 1e-3 */
    int threads;             /* worker threads for approach 3 (default 2) */
    int a3_starts;           /* approach 3: L-BFGS from the best this many grid points
                              * by objective value; 0 (default): from all 4500 */
    int a3_domain_all;       /* approach 3: fit every run; 0 (default): only the runs
                              * inside the law's domain (fit_a3_outside) */
    int a3_boot_starts;      /* approach 3: each resample runs L-BFGS from the best
                              * this many grid points on its own data, and from the
                              * full-data fit (64; 0: from the full-data fit only) */
    int envelope_points;     /* approach 1 and L(Cmin): log-spaced compute values (200) */
    int a2_window;           /* approach 2: parabola through the sizes within this many
                                ranks of each budget's lowest loss (2: up to 5 sizes; 0: all) */
    int bootstrap_mode;      /* FIT_BOOT_NOISE (default): each resample is fit_noise_draw;
                              * FIT_BOOT_RUNS: whole runs drawn with replacement */
} fit_opts;

enum { FIT_BOOT_NOISE = 0, FIT_BOOT_RUNS = 1 };

/* One draw of the measurement noise behind d (docs/fit.md, "Noise draws"):
 * out gets a copy of d's runs whose losses are re-estimated
 *  - from a resample with replacement of each run's final-eval windows, the
 *    same window indices for every run sharing (win_ctx, nwin): paired, so
 *    a hard window raises every run's loss together;
 *  - where a configuration (fit_run.config) was trained under k seeds, from
 *    k of its seeds drawn with replacement (each member takes the loss and
 *    curve of a drawn seed, plus that seed's window resampling).
 * The design stays: every run keeps its size, tokens, budget and family.
 * A run's curve moves with its final loss (shifted by the draw's change; a
 * WSD trunk's family curve takes its members' drawn losses). Runs without
 * windows keep their loss (fit_noise_missing counts them). out's runs own
 * their curves and carry no windows: free it with fit_data_free. */
int fit_noise_draw(const fit_data *d, fit_data *out, util_rng *r, char *err, size_t errlen);
/* Whether a draw of d has any noise to draw: some run has windows or some
 * configuration has 2 or more seeds. Without (a CSV, say) the bootstraps in
 * FIT_BOOT_NOISE mode resample whole runs instead, and say so. */
int fit_noise_available(const fit_data *d);
/* Runs of d without final-eval windows (their eval noise is in no draw). */
int fit_noise_missing(const fit_data *d);
/* Appends to w the note "eval noise not included for N runs" when N > 0, or
 * the fallback to whole runs when !fit_noise_available(d). */
void fit_noise_note(const fit_data *d, char *w, size_t wlen);

void fit_opts_defaults(fit_opts *o);

int fit_approach1(const fit_data *d, const fit_opts *o, fit_frontier *out, char *err,
                  size_t errlen);
int fit_approach2(const fit_data *d, const fit_opts *o, fit_frontier *out, char *err,
                  size_t errlen);
/* Approach 3's domain: runs whose loss the law L = E + A/N^alpha + B/D^beta
 * can describe with D the tokens trained. Outside it are runs
 *  - with fewer than FIT_A3_MIN_TPP tokens per parameter (N under p): the
 *    loss is still falling through start-up, not along B/D^beta;
 *  - trained for fewer than FIT_A3_MIN_WARMUP times their warm-up (tokens
 *    against warm-up tokens, i.e. steps against warm-up steps): mostly warm-up;
 *  - with more than FIT_A3_MAX_EPOCHS passes over their unique tokens:
 *    repeated tokens are worth less than new ones, which flattens L in D.
 * Unknown quantities (a CSV without them) do not exclude. Returns 1 and the
 * reasons, "; "-separated, in why (may be NULL), or 0 when inside. */
#define FIT_A3_MIN_TPP 1.0
#define FIT_A3_MIN_WARMUP 10.0
#define FIT_A3_MAX_EPOCHS 4.0
int fit_a3_outside(const fit_run *r, fit_params p, char *why, size_t whylen);

/* The type fit_approach3 takes the plain name, so Approach 3's function is
 * fit_approach3_fit (a typedef and a function cannot share a name in C). */
int fit_approach3_fit(const fit_data *d, const fit_opts *o, fit_approach3 *out, char *err,
                      size_t errlen);
int fit_kaplan_laws(const fit_data *d, const fit_opts *o, fit_kaplan *out, char *err,
                    size_t errlen);

/* Compute-optimal allocation from an Approach 3 fit at C FLOPs counted as the
 * fit counted them: N_opt minimises L(N, D) on the budget's curve D =
 * model_frontier_tokens(&f->count, C, N); D_opt and the loss there (any
 * output may be NULL). With an empty count (6nd) it is the closed form
 * N_opt = G (C/6)^a, D_opt = (C/6)^b / G. _at does the same for the
 * parameters p = (E, A, B, alpha, beta), a bootstrap draw say. */
void fit_approach3_optimal(const fit_approach3 *f, double C, double *N, double *D, double *L);
void fit_approach3_optimal_at(const double p[5], const model_flops_frontier *count, double C,
                              double *N, double *D, double *L);

/* Sets the point estimates (.est) of f to p = (E, A, B, alpha, beta), one
 * bootstrap draw say, and of the frontier they imply: a = beta/(alpha+beta),
 * b = alpha/(alpha+beta), G = (alpha A / (beta B))^(1/(alpha+beta)); enough
 * for fit_approach3_optimal. Nothing else of f is touched (it is called per
 * draw, and f holds 40 KB of draws). */
void fit_approach3_from_params(fit_approach3 *f, const double p[5]);

/* The 2.5% and 97.5% percentiles (linear between order statistics, numpy's
 * default) of the finite values among x[0..n-1], which are reordered; NaN
 * when fewer than 2 are finite. Every interval of fit/, predict and plot. */
void fit_percentiles(double *x, int n, double *lo, double *hi);

/* Lower envelope of all eval curves against compute, at n log-spaced points
 * between the smallest and largest compute seen: env_C[i], env_L[i], and the
 * index of the run on the envelope. A curve (smoothed in ln C) counts only
 * between evals at most 1.5x apart in compute or within 5% of an eval: a
 * point no curve covers so is NaN with run -1 (a gap). Used by Approach 1,
 * L(Cmin) and figures. */
int fit_envelope(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                 int *env_run, char *err, size_t errlen);

/* Kaplan's compute frontier: fit_envelope made monotone (the lowest loss
 * reached with at most C FLOPs, a running minimum, where the envelope is
 * defined; gaps stay NaN), so a curve that ends does not let the envelope
 * jump up to the next run. L(Cmin) and its figure use
 * it; Approach 1 keeps the plain envelope, whose run gives N_opt at that C. */
int fit_envelope_frontier(const fit_data *d, const fit_opts *o, int n, double *env_C, double *env_L,
                          int *env_run, char *err, size_t errlen);

/* A prediction at C FLOPs from a stored fit of `law` ("approach1", "approach2"
 * or "approach3") given as its params_json: N_opt, D_opt, tokens per
 * parameter and (approach 3 only; NaN otherwise) the loss, each with the 2.5%
 * and 97.5% percentiles over the fit's bootstrap draws, and the fit's a and b.
 * Approaches 1 and 2 read their fitted N_opt = kN C^a, D_opt = kD C^b;
 * approach 3 solves its frontier with its own count (fit_approach3_optimal).
 * UTIL_EINVAL for another law, UTIL_ECORRUPT for bad JSON. `scaling predict`. */
/* How a fit's warning begins its note that a noise bootstrap held no seed
 * noise (fit_noise.c writes it; `predict` looks for it in the stored fit). */
#define FIT_NOTE_NO_SEED_NOISE "seed noise not included"

typedef struct {
    fit_val N, D, tpp, L; /* N_opt, D_opt, D_opt / N_opt, loss */
    fit_val a, b;         /* the fit's exponents */
    int nsamples;         /* bootstrap draws used */
    /* the fit's parameters (E, A, B, alpha, beta, a, b) whose value sat at a
     * bound or was not identified (fit_val.flags), comma-separated; "" if none */
    char caution[200];
} fit_prediction;
int fit_predict(const char *law, const char *params_json, double C, fit_prediction *out, char *err,
                size_t errlen);

/* JSON of a fit result (malloc'd string, caller frees): the fits table's
 * params_json and `scaling fit --json` use it. */
char *fit_frontier_json(const fit_frontier *f);
char *fit_approach3_json(const fit_approach3 *f);
char *fit_kaplan_json(const fit_kaplan *f);
/* Reads back what fit_approach3_json / fit_frontier_json wrote (the point
 * estimates, intervals and bootstrap draws); UTIL_ECORRUPT on a bad string. */
int fit_approach3_from_json(fit_approach3 *f, const char *json, char *err, size_t errlen);
int fit_frontier_from_json(fit_frontier *f, const char *json, char *err, size_t errlen);

/* The same prediction from the fits themselves (one of f2, for approach 1
 * or 2, and f3 non-NULL): the report's headline and the comparison of sweeps
 * read their fits with it, so they print what `scaling predict` prints.
 * UTIL_ENOMEM or 0. */
int fit_predict_fits(const fit_frontier *f2, const fit_approach3 *f3, double C,
                     fit_prediction *out);
/* The loss an Approach 3 fit predicts at N parameters (counted as the fit
 * counted them) and D tokens: L = E + A/N^alpha + B/D^beta, with the 2.5%
 * and 97.5% percentiles over its bootstrap draws (NaN with fewer than 2).
 * UTIL_ENOMEM or 0. fit_predict_loss reads the fit from its params_json
 * (law "approach3"; UTIL_EINVAL for another law: approaches 1 and 2 give
 * N_opt(C), not L(N, D)). */
int fit_predict_loss_fit(const fit_approach3 *f3, double N, double D, fit_val *L);
int fit_predict_loss(const char *law, const char *params_json, double N, double D, fit_val *L,
                     char *err, size_t errlen);
#define FIT_HOLDOUT_NA "n/a: the approach gives N_opt(C), not L(N, D)"
/* Why the 95% interval [lo, hi] around est is no measure of uncertainty,
 * written into why (returns 1), or 0 when it is one: zero width (every draw
 * the same: too few points to vary) or, for a positive quantity (positive =
 * 1), a span of more than 3 orders of magnitude. why opens with a short
 * phrase ending at the first ':' ("zero width", "4 orders of magnitude
 * wide") for tight places. A missing interval (NaN) is not degenerate. */
int fit_interval_degenerate(double est, double lo, double hi, int positive, char *why, size_t n);

/* ---- The systematic table (fit_systematic.c) ----------------------------- */

/* a and b under each choice made before fitting (docs/fit.md, "The
 * systematic table"): N total or non-embedding x C counted as chinchilla,
 * 6nd or actual x {Approach 3 in domain, Approach 3 on every run, Approach 2
 * window 2, Approach 2 every size}: 24 cells, each with its bootstrap
 * interval (o->bootstrap draws of o->bootstrap_mode). Approach 3's a and b
 * under a count other than 6nd are its frontier's mean slopes between the
 * smallest and largest compute of the runs (Clo, Chi). */
enum { FIT_SYS_A3_DOMAIN, FIT_SYS_A3_ALL, FIT_SYS_A2_W2, FIT_SYS_A2_ALL, FIT_SYS_NEST };
#define FIT_SYS_NCOUNTS 3 /* chinchilla, 6nd, actual */
typedef struct {
    fit_params params;
    model_flops_count flops;
    int estimator;           /* FIT_SYS_* */
    fit_val a, b;            /* NaN estimate when not fitted */
    int nruns;               /* runs behind the fit */
    double Clo, Chi;         /* compute range the exponents describe (approach 2: its budgets) */
    char error[UTIL_ERRLEN]; /* why the cell was not fitted; "" when it was */
} fit_sys_cell;
typedef struct {
    int n;
    fit_sys_cell cell[2 * FIT_SYS_NCOUNTS * FIT_SYS_NEST];
} fit_systematic;
/* Fits every cell; a cell the data cannot support keeps its reason (only
 * running out of memory is an error). o gives the bootstrap and options;
 * its params, flops, a3_domain_all and a2_window are overridden per cell. */
int fit_systematic_table(const fit_data *d, const fit_opts *o, fit_systematic *out, char *err,
                         size_t errlen);
const char *fit_sys_estimator_name(int e); /* "approach3 in domain", ... */
/* The largest minus the smallest estimate of a, and of b, over the cells fitted. */
void fit_systematic_spread(const fit_systematic *t, double *da, double *db);
/* JSON of the table: {"cells": [{"params", "flops", "estimator", "a", "b",
 * "nruns", "C_lo", "C_hi", "error"}...], "spread_a", "spread_b"}. */
char *fit_systematic_json(const fit_systematic *t);

/* ---- Published reference values (published.c) ------------------------- */

/* A value from a paper, keyed by the quantity of our fits it sits beside
 * ("approach3.alpha", "kaplan.LN.alpha", ...); a key may have several sources. */
typedef struct {
    const char *what, *source;
    double value;
} fit_published;
extern const fit_published fit_published_values[];
extern const int fit_published_count;

/* The value of `what` from the first source that starts with `source`
 * ("Chinchilla 2022"); NaN when there is none. */
double fit_published_get(const char *what, const char *source);

/* The published compute-optimal model size at C FLOPs: which 0 is Kaplan's
 * eq. 6.1 (non-embedding N, C in FLOPs), 1..3 Chinchilla's approaches 1-3;
 * NaN for another which. The frontier figure draws them. */
double fit_published_nopt(int which, double C);

#endif
