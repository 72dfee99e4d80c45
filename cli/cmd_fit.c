/*
 * cmd_fit.c — `scaling fit`: fits Kaplan's laws and Chinchilla's Approaches
 * 1, 2 and 3 to a sweep's runs (results database) or to a CSV of (N, D or
 * FLOPs, loss), prints each fitted value with its bootstrap interval beside
 * the published values (or one JSON object with --json), and stores each fit
 * in the database's `fits` table. The numbers printed and stored come from the
 * same fit_*_json strings.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analysis/fit.h"
#include "../analysis/plot.h"
#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling fit [--sweep NAME | --csv FILE] [--approach 1|2|3|kaplan|all]\n"
    "                   [--params total|nonembedding] [--flops chinchilla|kaplan|6nd|actual]\n"
    "                   [--bootstrap K] [--seed S] [--with-E] [--a2-window K] [--starts K]\n"
    "                   [--threads T] [--duplicates collapse|keep] [--db FILE] [--json]\n"
    "                   [--no-store]\n"
    "\n"
    "Fits scaling laws to finished runs and prints each value with its bootstrap\n"
    "percentile interval (2.5%, 97.5%) beside the published values.\n"
    "\n"
    "  kaplan  L(N), L(D), L(Cmin) power laws and the joint L(N, D) (Kaplan 2020)\n"
    "  1       envelope of the learning curves against compute: N_opt ~ C^a, D_opt ~ C^b\n"
    "  2       IsoFLOP parabolas of final loss against ln N, per compute budget\n"
    "  3       L = E + A/N^alpha + B/D^beta by Huber loss and L-BFGS (Hoffmann 2022)\n"
    "\n"
    "options:\n"
    "  --sweep NAME      runs of this sweep (default: the database's only sweep;\n"
    "                    with several, name one); given more than once, the sweeps\n"
    "                    are fitted each on its own and a, b printed side by side\n"
    "  --csv FILE        a CSV instead, header naming params, tokens or flops, loss\n"
    "                    (optional budget column; tokens = flops / (6 params); names,\n"
    "                    aliases and units: docs/fit.md)\n"
    "  --duplicates P    CSV rows repeating an earlier row exactly: collapse (default:\n"
    "                    one run counted once) or keep; either way they are named\n"
    "  --approach WHICH  1, 2, 3, kaplan or all (default all; with all, an approach\n"
    "                    the data cannot support is reported and skipped)\n"
    "  --params P        count total parameters (default, as Chinchilla) or\n"
    "                    nonembedding (as Kaplan)\n"
    "  --flops F         FLOPs per token: chinchilla (default), kaplan, 6nd (6 N) or\n"
    "                    actual (the matmuls the trainer runs, docs/model.md)\n"
    "  --bootstrap K     resamples for the intervals (default 200, 0: none)\n"
    "  --bootstrap-mode M  noise (default): each resample redraws the final-eval\n"
    "                    windows (paired across runs) and the seeds of each\n"
    "                    configuration, the design kept; runs: whole runs drawn\n"
    "                    with replacement (Approach 2: within each budget)\n"
    "  --seed S          bootstrap seed (default 20240417)\n"
    "  --with-E          Kaplan laws with an irreducible term: L = E + (Xc/X)^alpha\n"
    "  --a2-window K     approach 2: fit each parabola to the sizes within K ranks\n"
    "                    of the budget's lowest loss (default 2; 0: every size)\n"
    "  --starts K        approach 3: run L-BFGS from the best K of the 4500 grid\n"
    "                    starts by objective (default 0: from all of them)\n"
    "  --a3-domain D     approach 3: in (default) fits the runs inside the law's\n"
    "                    domain (>= 1 token per parameter, >= 10x the warm-up,\n"
    "                    <= 4 epochs) and lists the others; all fits every run\n"
    "  --a3-boot-starts K  approach 3: each bootstrap resample runs L-BFGS from\n"
    "                    the best K grid starts on its own data and from the\n"
    "                    full-data fit (default 64; 0: from the full-data fit only)\n"
    "  --threads T       approach 3 worker threads (default 2)\n"
    "  --systematic      also the systematic table: a and b under N total or\n"
    "                    non-embedding x C chinchilla, 6nd or actual x Approach 3\n"
    "                    in domain or every run, Approach 2 window 2 or every size\n"
    "  --db FILE         results database (default results.db); fits are stored in\n"
    "                    it (for --csv only when --db is given)\n"
    "  --json            print one JSON object instead of the table\n"
    "  --no-store        do not store the fits\n"
    "  -h, --help        this help\n";

enum {
    OPT_SWEEP = 256,
    OPT_CSV,
    OPT_APPROACH,
    OPT_PARAMS,
    OPT_FLOPS,
    OPT_BOOT,
    OPT_SEED,
    OPT_WITHE,
    OPT_STARTS,
    OPT_A2WIN,
    OPT_THREADS,
    OPT_BOOTMODE,
    OPT_A3DOMAIN,
    OPT_A3BOOT,
    OPT_DB,
    OPT_JSON,
    OPT_NOSTORE,
    OPT_DUPS,
    OPT_SYSTEMATIC
};

enum { DO_KAPLAN = 1, DO_A1 = 2, DO_A2 = 4, DO_A3 = 8 };

static const char *params_name[] = {"total", "nonembedding"};

/* ---- Printing --------------------------------------------------------------- */

static void print_published(const char *key) {
    for (int i = 0; i < fit_published_count; i++)
        if (!strcmp(fit_published_values[i].what, key))
            printf("  %s %.6g;", fit_published_values[i].source, fit_published_values[i].value);
}

static void print_val(const char *law, const char *name, fit_val v) {
    char key[96];
    snprintf(key, sizeof key, "%s.%s", law, name);
    printf("  %-12s %12.5g", name, v.est);
    char why[160];
    /* a zero-width interval is no certainty: as predict and the report say it */
    int degenerate = fit_interval_degenerate(v.est, v.lo, v.hi, 0, why, sizeof why);
    if (degenerate) {
        char *colon = strchr(why, ':');
        if (colon) *colon = 0;
        printf("  %26s", "");
        printf("  (interval n/a: %s)", why);
    } else if (isfinite(v.lo))
        printf("  [%11.5g, %11.5g]", v.lo, v.hi);
    else
        printf("  %26s", "");
    /* never a bare number where the data did not determine it */
    if (v.flags & (FIT_AT_LOWER | FIT_AT_UPPER))
        printf("  (at its %s bound %g)", v.flags & FIT_AT_LOWER ? "lower" : "upper", v.bound);
    else if (v.flags & FIT_DRAWS_AT_BOUND)
        printf("  (draws reach the bound %g)", v.bound);
    if (v.flags & FIT_UNIDENTIFIED) printf("  (not identified)");
    printf("   ");
    print_published(key);
    printf("\n");
}

static void print_frontier(int which, const fit_frontier *f, int nruns) {
    const char *law = which == 1 ? "approach1" : "approach2";
    printf("Chinchilla approach %d (%s), %d of %d runs, %d %s\n", which,
           which == 1 ? "envelope of the learning curves" : "IsoFLOP parabolas", f->nruns_used,
           nruns, f->npoints_used, which == 1 ? "envelope points" : "budgets");
    printf("  %-12s %12s  %26s   published\n", "quantity", "estimate", "95% interval");
    print_val(law, "a", f->a);
    print_val(law, "b", f->b);
    print_val(law, "kN", f->kN);
    print_val(law, "kD", f->kD);
    if (which == 2)
        for (int i = 0; i < f->pts.n; i++)
            printf("    budget C=%-10.4g N_opt %-10.4g D_opt %-10.4g L %.4f%s\n", f->pts.C[i],
                   f->pts.N[i], f->pts.D[i], f->pts.L[i],
                   f->pts.extrapolated[i] ? "  (extrapolated: outside the sampled sizes)" : "");
    if (f->warning[0]) printf("  note: %s\n", f->warning);
}

static void print_a3(const fit_approach3 *f, const fit_data *d) {
    printf("Chinchilla approach 3 (L = E + A/N^alpha + B/D^beta), %d runs (%s), Huber "
           "objective %.6g, L-BFGS from %d starts\n",
           f->npoints, f->domain_all ? "every run" : "inside its domain", f->objective,
           f->starts_run);
    printf("  %-12s %12s  %26s   published\n", "quantity", "estimate", "95% interval");
    print_val("approach3", "E", f->E);
    print_val("approach3", "A", f->A);
    print_val("approach3", "B", f->B);
    print_val("approach3", "alpha", f->alpha);
    print_val("approach3", "beta", f->beta);
    print_val("approach3", "a", f->a);
    print_val("approach3", "b", f->b);
    print_val("approach3", "G", f->G);
    if (f->nexcluded)
        printf("  excluded, outside the domain (%d of %d runs):\n", f->nexcluded,
               f->nexcluded + f->npoints);
    for (int i = 0; i < f->nexcluded && i < FIT_MAX_EXCLUDED; i++) {
        const fit_run *x = NULL;
        for (int k = 0; k < d->nruns && !x; k++)
            if (!strcmp(d->runs[k].id, f->excluded[i].run)) x = &d->runs[k];
        printf("    %-16s N %-9.4g D %-9.4g %s\n", f->excluded[i].run, x ? x->n_total : NAN,
               x ? x->tokens : NAN, f->excluded[i].reason);
    }
    if (f->warning[0]) printf("  note: %s\n", f->warning);
}

static void print_pl(const char *name, const char *x, const fit_powerlaw *p, int with_E) {
    char key[32];
    printf(" %s: L = %s(%sc/%s)^alpha, %d points\n", name, with_E ? "E + " : "", x, x, p->npoints);
    snprintf(key, sizeof key, "kaplan.%s", name[2] == 'N' ? "LN" : name[2] == 'D' ? "LD" : "LC");
    print_val(key, "Xc", p->Xc);
    print_val(key, "alpha", p->alpha);
    if (with_E) print_val(key, "E", p->E);
}

static void print_kaplan(const fit_kaplan *f, int with_E, int nruns) {
    printf("Kaplan laws, %d runs\n", nruns);
    printf("  %-12s %12s  %26s   published\n", "quantity", "estimate", "95% interval");
    print_pl("L(N)", "N", &f->LN, with_E);
    if (f->have_LD) print_pl("L(D)", "D", &f->LD, with_E);
    if (isfinite(f->LC.alpha.est)) {
        /* both forms through the same points: with and without E */
        print_pl("L(Cmin)", "C", &f->LC, with_E);
        if (isfinite(f->LC_other.alpha.est))
            print_pl("L(Cmin)", "C", &f->LC_other, f->LC_other_with_E);
        if (isfinite(f->LC_from))
            printf("  (L(Cmin) points from C = %.4g FLOPs: after warm-up, below ln V - 1)\n",
                   f->LC_from);
    }
    if (f->have_joint) {
        printf(" L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD\n");
        print_val("kaplan.joint", "Nc", f->Nc);
        print_val("kaplan.joint", "Dc", f->Dc);
        print_val("kaplan.joint", "aN", f->aN);
        print_val("kaplan.joint", "aD", f->aD);
    }
    if (f->warning[0]) printf("  note: %s\n", f->warning);
}

/* ---- The command -------------------------------------------------------------- */

/* What the command line asked for. */
typedef struct {
    const char *sweep, *csv, *db; /* db NULL: the default, and a CSV is not stored */
    const char *sweeps[CLI_MAX_SWEEPS]; /* every --sweep: more than one compares them */
    int nsweeps;
    int todo, all;                /* DO_* bits; all: --approach all (a failed law is skipped) */
    int json, nostore;
    int systematic; /* --systematic */
    int collapse; /* --duplicates collapse (1) or keep (0) */
    fit_opts o;
} fit_args;

/* A CSV as read: its rows and the duplicates found in it. */
typedef struct {
    fit_csv_info info;
    char dupmsg[400];
    int ndup;
} csv_read;

/* The fits of one invocation, slot i = laws[i]. */
static const char *laws[4] = {"kaplan", "approach1", "approach2", "approach3"};
static const int bits[4] = {DO_KAPLAN, DO_A1, DO_A2, DO_A3};
typedef struct {
    fit_kaplan *fk;
    fit_frontier *f1, *f2;
    fit_approach3 *f3;
    char *js[4], *errs[4]; /* params JSON of a fitted law, or why it failed */
    int ok[4];
    int64_t ids[4]; /* fits.id where stored */
    fit_systematic *sys; /* --systematic, else NULL */
} fit_results;

/* Parses argv into a; returns -1 to go on, else the exit code (help, usage). */
static int parse_args(int argc, char **argv, fit_args *a) {
    static const struct option opts[] = {{"sweep", required_argument, 0, OPT_SWEEP},
                                         {"csv", required_argument, 0, OPT_CSV},
                                         {"approach", required_argument, 0, OPT_APPROACH},
                                         {"params", required_argument, 0, OPT_PARAMS},
                                         {"flops", required_argument, 0, OPT_FLOPS},
                                         {"bootstrap", required_argument, 0, OPT_BOOT},
                                         {"seed", required_argument, 0, OPT_SEED},
                                         {"with-E", no_argument, 0, OPT_WITHE},
                                         {"starts", required_argument, 0, OPT_STARTS},
                                         {"a2-window", required_argument, 0, OPT_A2WIN},
                                         {"threads", required_argument, 0, OPT_THREADS},
                                         {"bootstrap-mode", required_argument, 0, OPT_BOOTMODE},
                                         {"a3-domain", required_argument, 0, OPT_A3DOMAIN},
                                         {"a3-boot-starts", required_argument, 0, OPT_A3BOOT},
                                         {"db", required_argument, 0, OPT_DB},
                                         {"json", no_argument, 0, OPT_JSON},
                                         {"no-store", no_argument, 0, OPT_NOSTORE},
                                         {"duplicates", required_argument, 0, OPT_DUPS},
                                         {"systematic", no_argument, 0, OPT_SYSTEMATIC},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->todo = DO_KAPLAN | DO_A1 | DO_A2 | DO_A3;
    a->all = 1;
    a->collapse = 1;
    fit_opts_defaults(&a->o);
    fit_opts *o = &a->o;
    long long v;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case OPT_SWEEP:
            if (a->nsweeps == CLI_MAX_SWEEPS)
                return cli_usage("fit", "--sweep: at most %d sweeps compared at once",
                                 CLI_MAX_SWEEPS);
            if (!a->sweep) a->sweep = optarg;
            a->sweeps[a->nsweeps++] = optarg;
            break;
        case OPT_CSV:
            a->csv = optarg;
            break;
        case OPT_DB:
            a->db = optarg;
            break;
        case OPT_JSON:
            a->json = 1;
            break;
        case OPT_NOSTORE:
            a->nostore = 1;
            break;
        case OPT_SYSTEMATIC:
            a->systematic = 1;
            break;
        case OPT_DUPS:
            if (strcmp(optarg, "collapse") && strcmp(optarg, "keep"))
                return cli_usage("fit", "--duplicates: expected collapse or keep, got '%s'",
                                 optarg);
            a->collapse = !strcmp(optarg, "collapse");
            break;
        case OPT_WITHE:
            o->with_E = 1;
            break;
        case OPT_APPROACH:
            a->all = !strcmp(optarg, "all");
            a->todo = a->all                      ? a->todo
                      : !strcmp(optarg, "1")      ? DO_A1
                      : !strcmp(optarg, "2")      ? DO_A2
                      : !strcmp(optarg, "3")      ? DO_A3
                      : !strcmp(optarg, "kaplan") ? DO_KAPLAN
                                                  : 0;
            if (!a->todo)
                return cli_usage("fit", "--approach: expected 1, 2, 3, kaplan or all, got '%s'",
                                 optarg);
            break;
        case OPT_PARAMS:
            if (!strcmp(optarg, "total"))
                o->params = FIT_PARAMS_TOTAL;
            else if (!strcmp(optarg, "nonembedding"))
                o->params = FIT_PARAMS_NONEMB;
            else
                return cli_usage("fit", "--params: expected total or nonembedding, got '%s'",
                                 optarg);
            break;
        case OPT_FLOPS:
            if (model_flops_parse(optarg, &o->flops))
                return cli_usage(
                    "fit", "--flops: expected chinchilla, kaplan, 6nd or actual, got '%s'", optarg);
            break;
        case OPT_BOOT:
            if (cli_int("fit", "--bootstrap", optarg, 0, 1000000, &v)) return EXIT_USAGE;
            o->bootstrap = (int)v;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long sv = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || optarg[0] == '-')
                return cli_usage("fit", "--seed: expected an integer 0..2^64-1, got '%s'", optarg);
            o->seed = sv;
            break;
        }
        case OPT_A2WIN:
            if (cli_int("fit", "--a2-window", optarg, 0, 100, &v)) return EXIT_USAGE;
            o->a2_window = (int)v;
            break;
        case OPT_STARTS:
            if (cli_int("fit", "--starts", optarg, 0, 4500, &v)) return EXIT_USAGE;
            o->a3_starts = (int)v;
            break;
        case OPT_BOOTMODE:
            if (!strcmp(optarg, "noise"))
                o->bootstrap_mode = FIT_BOOT_NOISE;
            else if (!strcmp(optarg, "runs"))
                o->bootstrap_mode = FIT_BOOT_RUNS;
            else
                return cli_usage("fit", "--bootstrap-mode: expected noise or runs, got '%s'",
                                 optarg);
            break;
        case OPT_A3DOMAIN:
            if (strcmp(optarg, "in") && strcmp(optarg, "all"))
                return cli_usage("fit", "--a3-domain: expected in or all, got '%s'", optarg);
            o->a3_domain_all = !strcmp(optarg, "all");
            break;
        case OPT_A3BOOT:
            if (cli_int("fit", "--a3-boot-starts", optarg, 0, 4500, &v)) return EXIT_USAGE;
            o->a3_boot_starts = (int)v;
            break;
        case OPT_THREADS:
            if (cli_int("fit", "--threads", optarg, 1, 64, &v)) return EXIT_USAGE;
            o->threads = (int)v;
            break;
        default:
            return cli_usage("fit", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("fit", "unexpected argument '%s'", argv[optind]);
    if (a->sweep && a->csv) return cli_usage("fit", "--sweep and --csv exclude each other");
    return -1;
}

/* Reads a->csv into d and cr, warning on stderr about repeated rows. */
static int read_csv(const fit_args *a, fit_data *d, csv_read *cr) {
    char err[UTIL_ERRLEN];
    memset(cr, 0, sizeof *cr);
    if (fit_read_csv(d, &cr->info, a->csv, err, sizeof err)) return cli_fail("fit", "%s", err);
    cr->ndup = fit_duplicates(d, a->collapse, cr->dupmsg, sizeof cr->dupmsg);
    if (cr->ndup)
        fprintf(stderr,
                "scaling fit: warning: %s: %d row%s repeat%s an earlier row exactly (%s): "
                "%s\n",
                a->csv, cr->ndup, cr->ndup > 1 ? "s" : "", cr->ndup > 1 ? "" : "s", cr->dupmsg,
                a->collapse ? "collapsed, each run counted once (--duplicates keep keeps them)"
                            : "kept, as --duplicates keep asks (they narrow the intervals)");
    return EXIT_OK;
}

/* Runs every law asked for into r. A law that fails is an error (exit code
 * returned) unless --approach all, where it is kept in r->errs and skipped;
 * nothing fitted at all is one refusal line with every approach's reason. */
static int run_fits(const fit_args *a, const fit_data *d, fit_results *r) {
    char err[UTIL_ERRLEN];
    const char *csv = a->csv;
    for (int i = 0; i < 4; i++) {
        if (!(a->todo & bits[i])) continue;
        int frc = i == 0   ? fit_kaplan_laws(d, &a->o, r->fk, err, sizeof err)
                  : i == 1 ? fit_approach1(d, &a->o, r->f1, err, sizeof err)
                  : i == 2 ? fit_approach2(d, &a->o, r->f2, err, sizeof err)
                           : fit_approach3_fit(d, &a->o, r->f3, err, sizeof err);
        if (frc) {
            if (!a->all)
                return csv ? cli_fail("fit", "%s: %s", csv, err) : cli_fail("fit", "%s", err);
            r->errs[i] = strdup(err);
            continue;
        }
        r->js[i] = i == 0   ? fit_kaplan_json(r->fk)
                   : i == 1 ? fit_frontier_json(r->f1)
                   : i == 2 ? fit_frontier_json(r->f2)
                            : fit_approach3_json(r->f3);
        if (!r->js[i]) return cli_fail("fit", "out of memory");
        r->ok[i] = 1;
    }
    if (!r->ok[0] && !r->ok[1] && !r->ok[2] && !r->ok[3]) {
        char why[2048] = "";
        size_t len = 0;
        for (int i = 0; i < 4 && len < sizeof why; i++)
            if (r->errs[i])
                len += (size_t)snprintf(why + len, sizeof why - len, "%s%s", len ? "; " : "",
                                        r->errs[i]);
        return cli_fail("fit", "%s%sno law could be fitted: %s", csv ? csv : "", csv ? ": " : "",
                        why);
    }
    return EXIT_OK;
}

/* The selection (fits.selection_json): what was fitted and how it was counted. */
static cJSON *selection(const fit_args *a, int nruns, const csv_read *cr) {
    const fit_opts *o = &a->o;
    cJSON *sel = cJSON_CreateObject();
    if (a->csv)
        cJSON_AddStringToObject(sel, "csv", a->csv);
    else if (a->sweep)
        cJSON_AddStringToObject(sel, "sweep", a->sweep);
    else
        cJSON_AddNullToObject(sel, "sweep");
    cJSON_AddStringToObject(sel, "params", params_name[o->params]);
    cJSON_AddStringToObject(sel, "flops", model_flops_name(o->flops));
    cJSON_AddNumberToObject(sel, "bootstrap", o->bootstrap);
    cJSON_AddNumberToObject(sel, "seed", (double)o->seed);
    cJSON_AddStringToObject(sel, "bootstrap_mode",
                            o->bootstrap_mode == FIT_BOOT_RUNS ? "runs" : "noise");
    cJSON_AddBoolToObject(sel, "with_E", o->with_E);
    cJSON_AddNumberToObject(sel, "starts", o->a3_starts);
    cJSON_AddStringToObject(sel, "a3_domain", o->a3_domain_all ? "all" : "in");
    cJSON_AddNumberToObject(sel, "a3_boot_starts", o->a3_boot_starts);
    cJSON_AddNumberToObject(sel, "a2_window", o->a2_window);
    cJSON_AddNumberToObject(sel, "runs", nruns);
    if (a->csv) {
        cJSON_AddNumberToObject(sel, "rows", cr->info.nrows);
        cJSON_AddNumberToObject(sel, "rows_set_aside", cr->info.nset_aside);
        cJSON_AddNumberToObject(sel, "duplicate_rows", cr->ndup);
        cJSON_AddStringToObject(sel, "duplicates", a->collapse ? "collapse" : "keep");
        cJSON_AddBoolToObject(sel, "loss_bits", cr->info.loss_bits);
        cJSON_AddStringToObject(sel, "note", cr->info.note);
    }
    return sel;
}

/* The approaches fitted, for the held-out check (cli_holdout_print):
 * their names into hl, Approach 3's fit (else NULL) into hf; the count. */
static int holdout_laws(const fit_results *r, const char **hl, const fit_approach3 **hf) {
    int n = 0;
    for (int i = 1; i < 4; i++)
        if (r->ok[i]) {
            hl[n] = laws[i];
            hf[n++] = i == 3 ? r->f3 : NULL;
        }
    return n;
}

/* `scaling fit --json`: the selection, one object per law asked for and the
 * held-out check (h: the sweep's held-out runs). */
static void print_json(const fit_args *a, const fit_results *r, cJSON *sel, const fit_data *h) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "selection", sel);
    for (int i = 0; i < 4; i++) {
        if (!(a->todo & bits[i])) continue;
        cJSON *j = r->ok[i] ? cJSON_Parse(r->js[i]) : cJSON_CreateObject();
        if (!r->ok[i])
            cJSON_AddStringToObject(j, "error", r->errs[i]);
        else if (r->ids[i])
            cJSON_AddNumberToObject(j, "fit_id", (double)r->ids[i]);
        /* the bootstrap draws are for `scaling predict`; keep stdout readable */
        cJSON_DeleteItemFromObjectCaseSensitive(j, "samples");
        cJSON_AddItemToObject(out, laws[i], j);
    }
    if (r->sys) {
        char *js = fit_systematic_json(r->sys);
        cJSON *j = js ? cJSON_Parse(js) : NULL;
        free(js);
        if (j) cJSON_AddItemToObject(out, "systematic", j);
    }
    const char *hl[3];
    const fit_approach3 *hf[3];
    int nh = holdout_laws(r, hl, hf);
    cJSON_AddItemToObject(out, "holdout", cli_holdout_json(h, a->o.params, hl, hf, nh));
    char *txt = cJSON_Print(out);
    if (txt) puts(txt);
    free(txt);
    cJSON_Delete(out);
}

/* "0.574 [0.563, 0.580]", or the estimate alone, or "-" */
static const char *fv_text(char *buf, size_t n, fit_val v) {
    if (!isfinite(v.est))
        snprintf(buf, n, "-");
    else if (isfinite(v.lo))
        snprintf(buf, n, "%.3f [%.3f, %.3f]%s", v.est, v.lo, v.hi,
                 v.flags & FIT_UNIDENTIFIED ? "*" : "");
    else
        snprintf(buf, n, "%.3f", v.est);
    return buf;
}

static void print_systematic(const fit_systematic *t, const fit_opts *o) {
    printf("Systematic table: a (N_opt ~ C^a) and b (D_opt ~ C^b) under each choice, with "
           "95%% intervals of %d %s draws (* not identified)\n",
           o->bootstrap, o->bootstrap_mode == FIT_BOOT_RUNS ? "whole-run" : "noise");
    printf("  %-13s %-11s %-20s %-27s %-27s %5s\n", "N", "C", "estimator", "a", "b", "runs");
    for (int i = 0; i < t->n; i++) {
        const fit_sys_cell *c = &t->cell[i];
        char ba[64], bb[64];
        printf("  %-13s %-11s %-20s ", params_name[c->params], model_flops_name(c->flops),
               fit_sys_estimator_name(c->estimator));
        if (c->error[0])
            printf("not fitted: %s\n", c->error);
        else
            printf("%-27s %-27s %5d\n", fv_text(ba, sizeof ba, c->a), fv_text(bb, sizeof bb, c->b),
                   c->nruns);
    }
    double da, db;
    fit_systematic_spread(t, &da, &db);
    printf("  spread over the choices (largest - smallest estimate): a %.3f, b %.3f\n", da, db);
    printf("  Approach 3 under chinchilla and actual: the frontier's mean slopes between the "
           "runs' smallest and largest compute\n\n");
}

/* The tables: a header line, then each law beside the published values. */
static void print_text(const fit_args *a, const fit_results *r, const fit_data *d,
                       const char *db_path, const csv_read *cr, const fit_data *h) {
    int nruns = d->nruns;
    const fit_opts *o = &a->o;
    printf("%d runs from %s; parameters %s, FLOPs %s; %d bootstrap resamples (seed %llu) of %s\n",
           nruns,
           a->csv     ? a->csv
           : a->sweep ? a->sweep
                      : db_path,
           params_name[o->params], model_flops_name(o->flops), o->bootstrap,
           (unsigned long long)o->seed,
           o->bootstrap_mode == FIT_BOOT_RUNS ? "whole runs" : "eval windows and seeds");
    if (a->csv && (cr->info.nrows != nruns || cr->ndup))
        printf("  %d data rows read; %d duplicate rows %s; %d set aside\n", cr->info.nrows,
               cr->ndup, a->collapse ? "collapsed" : "kept", cr->info.nset_aside);
    if (cr->info.note[0]) printf("  note: %s\n", cr->info.note);
    printf("\n");
    for (int i = 0; i < 4; i++) {
        if (!(a->todo & bits[i])) continue;
        if (!r->ok[i]) {
            printf("%s: skipped: %s\n\n", laws[i], r->errs[i]);
            continue;
        }
        if (i == 0) print_kaplan(r->fk, o->with_E, nruns);
        if (i == 1) print_frontier(1, r->f1, nruns);
        if (i == 2) print_frontier(2, r->f2, nruns);
        if (i == 3) print_a3(r->f3, d);
        if (cr->info.loss_bits && (i == 0 || i == 3))
            printf("  note: losses in bits per token; the published values are in nats per "
                   "token (E, A, B in nats = bits x ln 2 = bits x 0.693)\n");
        if (r->ids[i]) printf("  stored as fit %lld\n", (long long)r->ids[i]);
        printf("\n");
    }
    if (r->sys) print_systematic(r->sys, o);
    const char *hl[3];
    const fit_approach3 *hf[3];
    int nh = holdout_laws(r, hl, hf);
    cli_holdout_print(h, o->params, hl, hf, nh, stdout);
}

int cmd_fit(int argc, char **argv) {
    fit_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    if (a.nsweeps > 1) { /* sweeps compared, with this command's bootstrap and seed */
        plot_opts po;
        plot_opts_defaults(&po);
        po.bootstrap = a.o.bootstrap;
        po.seed = a.o.seed;
        po.a3_starts = a.o.a3_starts;
        return cli_compare("fit", a.db ? a.db : CLI_DEFAULT_DB, a.sweeps, a.nsweeps, &po, NULL, 0);
    }
    /* one sweep: the one named, or the database's only one */
    if (!a.csv && (rc = cli_pick_sweep("fit", a.db ? a.db : CLI_DEFAULT_DB, &a.sweep)) >= 0)
        return rc;
    rc = EXIT_OK;
    char err[UTIL_ERRLEN];
    store *s = NULL;
    fit_data d = {0, NULL}, h = {0, NULL}; /* the runs fitted; the held-out runs */
    csv_read cr;
    memset(&cr, 0, sizeof cr);
    int store_it = !a.nostore && (!a.csv || a.db);
    const char *db_path = a.db ? a.db : CLI_DEFAULT_DB;
    fit_results r = {.fk = calloc(1, sizeof *r.fk),
                     .f1 = calloc(1, sizeof *r.f1),
                     .f2 = calloc(1, sizeof *r.f2),
                     .f3 = calloc(1, sizeof *r.f3)};
    cJSON *sel = NULL;
    char *sel_json = NULL;
    if (!r.f1 || !r.f2 || !r.f3 || !r.fk) {
        rc = cli_fail("fit", "out of memory");
        goto done;
    }
    /* A CSV is read, and fitted, before its database is opened: a refused
     * file or design leaves no database behind. */
    if (a.csv) {
        if ((rc = read_csv(&a, &d, &cr))) goto done;
    } else if (store_open(&s, db_path, store_it ? 0 : STORE_READONLY, err, sizeof err) ||
               fit_load_store(&d, s, a.sweep, err, sizeof err) ||
               fit_load_holdout(&h, s, a.sweep, err, sizeof err)) {
        rc = cli_fail("fit", "%s", err);
        goto done;
    }
    if (d.nruns == 0) {
        rc = cli_fail("fit", "no finished runs%s%s in %s", a.sweep ? " in sweep " : "",
                      a.sweep ? a.sweep : "", db_path);
        goto done;
    }
    if ((rc = run_fits(&a, &d, &r))) goto done;
    if (a.systematic && (!(r.sys = malloc(sizeof *r.sys)) ||
                         fit_systematic_table(&d, &a.o, r.sys, err, sizeof err))) {
        rc = cli_fail("fit", "%s", r.sys ? err : "out of memory");
        goto done;
    }
    sel = selection(&a, d.nruns, &cr);
    sel_json = cJSON_PrintUnformatted(sel);
    /* a CSV's database is opened (created) only when there is a fit to store */
    if (store_it && !s && store_open(&s, db_path, STORE_CREATE, err, sizeof err)) {
        rc = cli_fail("fit", "%s", err);
        goto done;
    }
    for (int i = 0; store_it && i < 4; i++)
        if (r.ok[i] && store_add_fit(s, a.csv ? NULL : a.sweep, laws[i], r.js[i], sel_json,
                                     &r.ids[i], err, sizeof err)) {
            rc = cli_fail("fit", "%s", err);
            goto done;
        }
    if (a.json) {
        print_json(&a, &r, sel, &h);
        sel = NULL;
    } else {
        print_text(&a, &r, &d, db_path, &cr, &h);
    }
done:
    cJSON_Delete(sel);
    free(sel_json);
    for (int i = 0; i < 4; i++)
        free(r.js[i]), free(r.errs[i]);
    free(r.f1);
    free(r.f2);
    free(r.f3);
    free(r.fk);
    free(r.sys);
    fit_data_free(&d);
    fit_data_free(&h);
    store_close(s);
    return rc;
}
