/*
 * cmd_sweep.c — `scaling sweep FILE [key=value ...]`: parse and plan a sweep
 * file (sweep/sweep.h), print the plan (--dry-run) or run it with a pool of
 * worker processes, showing progress on one line on a terminal or as plain
 * log lines (--quiet or not a terminal).
 * --retry diverged replaces the plan's diverged runs (sweep_retry).
 * Exit codes: 0 every run ended (done or diverged) and at least one is done,
 * 1 a run failed, none trained to the end (all diverged) or the sweep could
 * not run, 2 usage, 4 interrupted (everything resumable).
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../results/store.h"
#include "../sweep/sweep.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling sweep FILE [key=value | section.key=value ...] [options]\n"
    "\n"
    "Plans the family of runs described by the sweep file FILE (see docs/sweep.md)\n"
    "and trains every run not yet finished in the database, each in its own\n"
    "worker process. Run it again after any interruption to resume.\n"
    "\n"
    "options:\n"
    "  --db FILE         results database (default results.db)\n"
    "  --ckpt-dir DIR    checkpoints and worker logs (default DB.runs)\n"
    "  -j, --workers N   worker processes (default: cores / threads)\n"
    "  --threads T       OpenBLAS threads per worker (default: cores / workers, else 1)\n"
    "  --dry-run         print the plan with estimated times and exit\n"
    "  --no-estimate     with --dry-run: skip the throughput measurement\n"
    "  --shard I/N       run only shard I of N (1 <= I <= N) of the plan\n"
    "  --quiet           plain log lines instead of a progress line\n"
    "  --retry diverged  plan the runs that diverged again with twice the warm-up\n"
    "                    (at least 50 steps more), as new runs that replace them\n"
    "  -h, --help        this help\n"
    "\n"
    "exit status: 0 all runs ended, 1 a run failed, 2 usage, 4 interrupted (resumable)\n";

static volatile sig_atomic_t stop_requests;
static void on_signal(int sig) {
    (void)sig;
    if (stop_requests < 2) stop_requests++;
}

static void fmt_time(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

typedef struct {
    int tty, quiet;
    int line_open;
    double live_every, last_live; /* seconds between "running" lines in a log, the last */
} ui;

static void progress(void *ctx, const sweep_item *r, const sweep_progress *p) {
    ui *u = ctx;
    char el[32], eta[32];
    fmt_time(p->elapsed, el, sizeof el);
    fmt_time(p->eta, eta, sizeof eta);
    static const char *names[] = {"skip", "start", "done", "diverged", "failed", "stopped", ""};
    int fancy = u->tty && !u->quiet;
    if (p->ev != SWEEP_EV_TICK && r && (!fancy || p->ev >= SWEEP_EV_DIVERGED)) {
        if (u->line_open) fputs("\r\033[K", stderr);
        u->line_open = 0;
        char when[32];
        time_t now = time(NULL);
        strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
        fprintf(fancy ? stderr : stdout, "%s %-8s %s %-12s %dx%d tokens %lld FLOPs %.3g", when,
                names[p->ev], r->id, r->label, r->cfg.shape.n_layer, r->cfg.shape.d_model,
                (long long)r->cfg.tokens, r->flops);
        if (p->ev == SWEEP_EV_FAILED) fprintf(fancy ? stderr : stdout, " (exit %d)", p->exit_code);
        fprintf(fancy ? stderr : stdout, "  [%d/%d done, %d running, %d failed]\n", p->done,
                p->total, p->running, p->failed);
        fflush(stdout);
    }
    if (fancy) {
        double pct = p->flops_total > 0 ? 100 * p->flops_done / p->flops_total : 0;
        fprintf(stderr,
                "\r\033[K%d/%d done, %d running, %d failed, %d left | %.3g/%.3g FLOPs (%.0f%%) | "
                "%s elapsed, ETA %s%s%s",
                p->done, p->total, p->running, p->failed, p->left, p->flops_done, p->flops_total,
                pct, el, eta, p->live[0] ? " | loss " : "", p->live);
        fflush(stderr);
        u->line_open = 1;
    } else if (!u->quiet && p->ev == SWEEP_EV_TICK && p->live[0] &&
               p->elapsed - u->last_live >= u->live_every) {
        /* a log (not a terminal): the running runs' losses now and then */
        char when[32];
        time_t now = time(NULL);
        strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
        printf("%s running  %s  [%s elapsed, ETA %s]\n", when, p->live, el, eta);
        fflush(stdout);
        u->last_live = p->elapsed;
    }
}

/* Longest-processing-time list schedule of the estimates on `workers`. */
static double makespan(const sweep_plan *plan, const int *order, int n, int workers) {
    double *load = calloc(workers, sizeof *load), m = 0;
    if (!load) return NAN;
    for (int k = 0; k < n; k++) {
        int b = 0;
        for (int i = 1; i < workers; i++)
            if (load[i] < load[b]) b = i;
        load[b] += plan->runs[order[k]].est_seconds;
    }
    for (int i = 0; i < workers; i++)
        if (load[i] > m) m = load[i];
    free(load);
    return m;
}

static void print_plan(const sweep_plan *plan, const int *order, int n, int workers, int threads,
                       int estimated) {
    printf("sweep %s: mode %s, %d runs%s, data %s (%llu training tokens, vocab %d), FLOPs "
           "counted by %s\n",
           plan->name, sweep_mode_name(plan->mode), n, n < plan->nruns ? " in this shard" : "",
           plan->data_dir, (unsigned long long)plan->data.train_tokens, plan->data.vocab,
           model_flops_name(plan->flops_count));
    printf("%-16s %-12s %-14s %10s %10s %10s %11s %10s %7s %9s\n", "id", "label", "shape",
           "N_nonemb", "N_total", "target", "tokens", "FLOPs", "epochs", "est");
    double flops = 0, trained = 0, secs = 0;
    for (int k = 0; k < n; k++) {
        const sweep_item *r = &plan->runs[order[k]];
        const model_shape *s = &r->cfg.shape;
        char shape[32], target[32], est[32];
        snprintf(shape, sizeof shape, "%dx%d/%dh", s->n_layer, s->d_model, s->n_head);
        if (isfinite(r->target_params))
            snprintf(target, sizeof target, "%.3g%s", r->target_params, r->target_total ? "t" : "");
        else
            snprintf(target, sizeof target, "-");
        fmt_time(estimated ? r->est_seconds : NAN, est, sizeof est);
        printf("%-16s %-12.12s %-14s %10lld %10lld %10s %11lld %10.3g %7.2f %9s%s", r->id, r->label,
               shape, (long long)r->counts.nonembedding, (long long)r->counts.total, target,
               (long long)r->cfg.tokens, r->flops, r->epochs, est, r->epochs > 4 ? "  !" : "");
        if (r->parent >= 0)
            printf("  branch of %s at %lld tokens: trains %.3g FLOPs", r->cfg.fork_parent,
                   (long long)r->cfg.fork_tokens, r->flops_trained);
        else if (r->cfg.nkeep > 0)
            printf("  trunk: %d fork point%s", r->cfg.nkeep, r->cfg.nkeep == 1 ? "" : "s");
        if (r->holdout) printf("  held out: never fitted");
        printf("\n");
        flops += r->flops;
        trained += r->flops_trained;
        secs += estimated ? r->est_seconds : 0;
    }
    printf("total: %d runs, %.4g FLOPs", n, flops);
    if (trained != flops) /* WSD branches train only from their fork on */
        printf(" in nominal budgets, %.4g FLOPs trained (%.3f of nominal)", trained,
               flops > 0 ? trained / flops : NAN);
    if (estimated) {
        char a[32], b[32];
        fmt_time(secs, a, sizeof a);
        fmt_time(makespan(plan, order, n, workers), b, sizeof b);
        printf(", %s of training; about %s wall time with %d worker%s x %d thread%s", a, b, workers,
               workers == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
    }
    printf("\n");
}

/* Runs of this sweep's current plan in the database that this plan does
 * not have: the sweep file was edited, or run before with different
 * overrides. They stay (nothing finished is thrown away) but leave the
 * sweep's plan, so its fits no longer see them: say so, and name the sweep
 * written. */
static void warn_stale(const sweep_plan *plan, const char *db) {
    if (access(db, F_OK)) return;
    store *s = NULL;
    store_run_brief *runs = NULL;
    char err[UTIL_ERRLEN], ids[5][40];
    int nruns = 0, stale = 0, finished = 0;
    if (store_open(&s, db, STORE_READONLY, err, sizeof err)) return;
    if (store_sweep_runs(s, plan->name, &runs, &nruns, err, sizeof err)) nruns = 0;
    store_close(s);
    for (int k = 0; k < nruns; k++) {
        int found = 0;
        for (int i = 0; i < plan->nruns && !found; i++)
            found = !strcmp(plan->runs[i].id, runs[k].id);
        for (int i = 0; i < plan->nretries && !found; i++) /* said by retry_diverged */
            found = !strcmp(plan->retries[i].from, runs[k].id);
        if (found) continue;
        if (stale < 5) snprintf(ids[stale], sizeof ids[stale], "%s", runs[k].id);
        stale++;
        finished += run_status_finished(runs[k].status);
    }
    free(runs);
    if (!stale) return;
    fprintf(stderr,
            "note: this plan changes sweep %s in %s: %d of its runs (%d finished) %s not in "
            "it (an edited sweep file, or other overrides):",
            plan->name, db, stale, finished, stale == 1 ? "is" : "are");
    for (int i = 0; i < stale && i < 5; i++)
        fprintf(stderr, " %s", ids[i]);
    if (stale > 5) fprintf(stderr, " and %d more", stale - 5);
    fprintf(stderr,
            ". They stay in the database but leave sweep %s, whose fits and figures take only "
            "this plan's runs; to keep both plans, give this one its own name (name=...)\n",
            plan->name);
}

/* "2x64 at 1e+11 FLOPs" or "2x64, 20000 tokens": which run, for a person */
static void run_brief(const sweep_item *r, char *buf, size_t n) {
    if (isfinite(r->compute_budget))
        snprintf(buf, n, "%dx%d at %.3g FLOPs", r->cfg.shape.n_layer, r->cfg.shape.d_model,
                 r->compute_budget);
    else
        snprintf(buf, n, "%dx%d, %lld tokens", r->cfg.shape.n_layer, r->cfg.shape.d_model,
                 (long long)r->cfg.tokens);
}

/* Replays the retries the sweep's stored plan remembers (so the plan stays
 * the same without --retry), then with `retry` replaces each run of the plan
 * that diverged by one with a longer warm-up, printing what changed. Diverged
 * runs of the stored plan that the overrides already changed are said, not
 * retried. Returns 0, -1 when there is nothing to retry, or an exit status. */
static int retry_diverged(sweep_plan *plan, const char *db, int retry) {
    store *s = NULL;
    store_sweep_row *row = NULL;
    store_run_brief *mem = NULL;
    char err[UTIL_ERRLEN];
    int nrow = 0, nmem = 0, rc = 0, todo = 0;
    if (access(db, F_OK) || store_open(&s, db, STORE_READONLY, err, sizeof err)) {
        if (!retry) return 0;
        printf("sweep %s: nothing to retry (%s has no runs)\n", plan->name, db);
        return -1;
    }
    if (store_read_sweeps(s, plan->name, &row, &nrow, err, sizeof err) ||
        (nrow > 0 && sweep_apply_retries(plan, row[0].plan_json, err, sizeof err)) ||
        (retry && store_sweep_runs(s, plan->name, &mem, &nmem, err, sizeof err))) {
        rc = cli_fail("sweep", "%s", err);
        goto out;
    }
    for (int i = 0; retry && i < plan->nruns; i++) {
        store_run r;
        store_run_init(&r);
        int div = !store_get_run(s, plan->runs[i].id, &r, err, sizeof err) &&
                  store_status_index(r.status) == STORE_DIVERGED;
        store_run_free_fields(&r);
        if (!div) continue;
        char what[96], old[17];
        run_brief(&plan->runs[i], what, sizeof what);
        snprintf(old, sizeof old, "%s", plan->runs[i].id);
        int w0 = plan->runs[i].cfg.warmup, w = sweep_retry_warmup(&plan->runs[i]);
        if (w < 0) {
            printf("run %s (%s): diverged; not retried: its warm-up of %d steps is already "
                   "its whole run\n",
                   old, what, w0);
            continue;
        }
        if (sweep_retry(plan, i, w, err, sizeof err)) {
            printf("run %s (%s): diverged; not retried: %s\n", old, what, err);
            continue;
        }
        printf("run %s (%s): warmup %d -> %d steps, as run %s\n", old, what, w0, w,
               plan->runs[i].id);
        todo++;
    }
    /* diverged runs of the stored plan that this plan no longer has */
    for (int k = 0; k < nmem; k++) {
        int found = mem[k].status != STORE_DIVERGED;
        for (int i = 0; i < plan->nruns && !found; i++)
            found = !strcmp(plan->runs[i].id, mem[k].id);
        for (int i = 0; i < plan->nretries && !found; i++)
            found = !strcmp(plan->retries[i].from, mem[k].id);
        if (found) continue;
        printf("run %s: diverged; not retried: the overrides already change its configuration "
               "(this plan's runs replace it)\n",
               mem[k].id);
        todo++;
    }
    if (retry && !todo) {
        printf("sweep %s: nothing to retry (no run of its plan diverged)\n", plan->name);
        rc = -1;
    }
out:
    fflush(stdout); /* before warn_stale's note on stderr */
    free(mem);
    store_sweep_rows_free(row, nrow);
    store_close(s);
    return rc;
}

/* The replaced runs keep their row and status, out of the plan (sweep_run
 * drops them from sweep_runs) and out of fits with the reason. */
static int exclude_retried(const sweep_plan *plan, const char *db) {
    store *s = NULL;
    char err[UTIL_ERRLEN], why[96];
    int rc = 0;
    for (int i = 0; i < plan->nretries && !rc; i++) {
        const sweep_retry_item *t = &plan->retries[i];
        if (!t->fresh) continue;
        snprintf(why, sizeof why, "diverged; retried as %s", t->to);
        rc = (!s && store_open(&s, db, STORE_CREATE, err, sizeof err)) ||
             store_exclude_run(s, t->from, why, err, sizeof err);
    }
    store_close(s);
    return rc ? cli_fail("sweep", "%s", err) : 0;
}

int cmd_sweep(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},
        {"ckpt-dir", required_argument, 0, 'c'},
        {"workers", required_argument, 0, 'j'},
        {"threads", required_argument, 0, 't'},
        {"dry-run", no_argument, 0, 'n'},
        {"no-estimate", no_argument, 0, 'E'},
        {"shard", required_argument, 0, 's'},
        {"quiet", no_argument, 0, 'q'},
        {"retry", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *db = CLI_DEFAULT_DB, *ckpt = NULL;
    long long workers = 0, threads = 0;
    int dry = 0, no_est = 0, quiet = 0, shard_i = 1, shard_n = 1, retry = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            ckpt = optarg;
            break;
        case 'j':
            if (cli_int("sweep", "--workers", optarg, 1, 4096, &workers)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_int("sweep", "--threads", optarg, 1, 4096, &threads)) return EXIT_USAGE;
            break;
        case 'n':
            dry = 1;
            break;
        case 'E':
            no_est = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'r':
            if (strcmp(optarg, "diverged"))
                return cli_usage("sweep", "--retry: expected 'diverged', got '%s'", optarg);
            retry = 1;
            break;
        case 's': {
            char tail;
            if (sscanf(optarg, "%d/%d%c", &shard_i, &shard_n, &tail) != 2 || shard_n < 1 ||
                shard_i < 1 || shard_i > shard_n)
                return cli_usage("sweep", "--shard: expected I/N with 1 <= I <= N, got '%s'",
                                 optarg);
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage("sweep", "unknown option");
        }
    }
    /* getopt_long permutes: what is left is the file and key=value overrides */
    const char *file = NULL;
    const char **ov = calloc(argc + 1, sizeof *ov);
    int nov = 0;
    if (!ov) return cli_fail("sweep", "out of memory");
    for (; optind < argc; optind++) {
        if (strchr(argv[optind], '='))
            ov[nov++] = argv[optind];
        else if (!file)
            file = argv[optind];
        else {
            free(ov);
            return cli_usage("sweep",
                             "unexpected argument '%s' (one sweep file; overrides are key=value)",
                             argv[optind]);
        }
    }
    if (!file) {
        free(ov);
        return cli_usage("sweep", "missing the sweep FILE");
    }

    sweep_plan plan;
    char err[4096]; /* a sweep file's errors, several lines */
    /* params = auto plans a budget once the budgets before it are trained:
     * after each run of the pool the file is planned again, until a plan
     * adds no run (everything planned, or it waits on another shard) */
    int planned_before = -1, status = EXIT_OK, rc;
    char **said = NULL; /* warnings printed by earlier rounds */
    int nsaid = 0;
    long long workers_given = workers, threads_given = threads;
again:
    workers = workers_given, threads = threads_given;
    rc = sweep_parse(file, ov, nov, db, &plan, err, sizeof err);
    if (rc) {
        free(ov);
        for (int i = 0; i < nsaid; i++)
            free(said[i]);
        free(said);
        return cli_fail("sweep", "%s", err);
    }
    if (planned_before >= 0 && plan.nruns <= planned_before) {
        fflush(stdout);
        if (plan.npending) fprintf(stderr, "scaling sweep: not planned yet: %s\n", plan.pending);
        goto out_plan;
    }
    for (int i = 0; i < plan.nwarnings; i++) {
        int seen = 0;
        for (int j = 0; j < nsaid && !seen; j++)
            seen = !strcmp(said[j], plan.warnings[i]);
        if (seen) continue;
        fprintf(stderr, "warning: %s\n", plan.warnings[i]);
        char **g = realloc(said, (nsaid + 1) * sizeof *g);
        if (g && (g[nsaid] = strdup(plan.warnings[i]))) said = g, nsaid++;
        else if (g) said = g;
    }
    if ((rc = retry_diverged(&plan, db, retry))) {
        status = rc < 0 ? EXIT_OK : rc;
        goto out_plan;
    }
    if (planned_before >= 0) {
        printf("sweep %s: %d more run%s planned from the budgets trained\n", plan.name,
               plan.nruns - planned_before, plan.nruns - planned_before == 1 ? "" : "s");
        fflush(stdout);
    }
    warn_stale(&plan, db);

    int *order = malloc(plan.nruns * sizeof *order), n = 0;
    if (!order) {
        status = cli_fail("sweep", "out of memory");
        goto out_plan;
    }
    sweep_order(&plan, shard_i, shard_n, order, &n);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    /* Why this split, for the console: one-thread workers keep every core
     * busy with no GEMM split across threads (the small sweep shapes gain
     * little from a second thread, a second run gains a whole core). */
    char chose[96];
    snprintf(chose, sizeof chose, "%s%s, %ld core%s", workers ? "-j given" : "",
             threads ? (workers ? " and --threads given" : "--threads given")
                     : (workers ? "" : "one 1-thread worker per core"),
             cores, cores == 1 ? "" : "s");
    if (!workers && !threads) {
        threads = 1;
        workers = cores;
    } else if (!threads) {
        threads = cores / workers > 0 ? cores / workers : 1;
    } else if (!workers) {
        workers = cores / threads > 0 ? cores / threads : 1;
    }
    if (workers > n && n > 0) workers = n;

    if (dry) {
        int est = 0;
        if (!no_est) {
            if (sweep_estimate(&plan, (int)threads, err, sizeof err))
                fprintf(stderr, "warning: no time estimate: %s\n", err);
            else
                est = 1;
        }
        print_plan(&plan, order, n, (int)workers, (int)threads, est);
        if (plan.npending)
            printf("not planned yet (%d budget%s waiting on the budgets before %s, about %.3g "
                   "FLOPs in nominal budgets more, before WSD chains): %s\n",
                   plan.npending, plan.npending == 1 ? "" : "s",
                   plan.npending == 1 ? "it" : "them", plan.pending_flops, plan.pending);
        goto out;
    }

    if ((status = exclude_retried(&plan, db))) goto out;

    /* SCALING_LIVE_EVERY: seconds between the running runs' loss lines when
     * the output is a log (default 30) */
    const char *le = getenv("SCALING_LIVE_EVERY");
    ui u = {isatty(2), quiet, 0, le && atof(le) > 0 ? atof(le) : 30.0, -1e30};
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    stop_requests = 0;
    sweep_run_opts o = {
        .db_path = db,
        .ckpt_dir = ckpt,
        .exe = cli_self_exe(),
        .workers = (int)workers,
        .threads = (int)threads,
        .shard_i = shard_i,
        .shard_n = shard_n,
        .stop = &stop_requests,
        .progress = progress,
        .ctx = &u,
    };
    printf("sweep %s: %d runs, %d worker%s x %d thread%s (%s), database %s\n", plan.name, n,
           (int)workers, workers == 1 ? "" : "s", (int)threads, threads == 1 ? "" : "s", chose, db);
    fflush(stdout);
    sweep_progress last;
    rc = sweep_run(&plan, &o, &last, err, sizeof err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (u.line_open) fputc('\n', stderr);
    char el[32];
    fmt_time(last.elapsed, el, sizeof el);
    if (rc == UTIL_EINTR) {
        fprintf(stderr,
                "scaling sweep: interrupted after %s: %d of %d runs done; run the same command "
                "to resume\n",
                el, last.done, last.total);
        status = RUN_EXIT_INTERRUPTED;
    } else if (rc) {
        status = cli_fail("sweep", "%s", err);
    } else {
        /* "done" is what `status` calls done: trained to the end; a diverged
         * run ended, but it trained nothing a fit can use */
        int trained = last.done - last.diverged;
        printf("sweep %s: %d of %d runs done, %d diverged, %d failed, in %s\n", plan.name, trained,
               last.total, last.diverged, last.failed, el);
        if (last.diverged) {
            /* the command to copy: this one's file, overrides and database */
            char again[2048];
            size_t at = (size_t)snprintf(again, sizeof again, "scaling sweep %s", file);
            for (int i = 0; i < nov && at < sizeof again; i++)
                at += (size_t)snprintf(again + at, sizeof again - at, " '%s'", ov[i]);
            if (at < sizeof again && strcmp(db, CLI_DEFAULT_DB))
                snprintf(again + at, sizeof again - at, " --db %s", db);
            fprintf(stderr,
                    "scaling sweep: %d run%s diverged (loss went non-finite or far above its "
                    "start): they stay in the database, out of the fits; a longer warm-up or a "
                    "lower learning rate usually helps: '%s --retry diverged' "
                    "plans them again with twice the warm-up, as new runs\n",
                    last.diverged, last.diverged == 1 ? "" : "s", again);
        }
        if (!last.failed && last.total > 0 && trained == 0) {
            fprintf(stderr, "scaling sweep: no run of sweep %s trained to the end\n", plan.name);
            status = EXIT_FAIL;
        }
        if (last.failed) {
            fprintf(stderr, "scaling sweep: %d run%s failed: see the logs in %s%s\n", last.failed,
                    last.failed == 1 ? "" : "s", ckpt ? ckpt : db, ckpt ? "" : ".runs");
            status = EXIT_FAIL;
        }
    }
    if (status == EXIT_OK && !rc && plan.npending && !(stop_requests)) {
        planned_before = plan.nruns;
        free(order);
        sweep_plan_free(&plan);
        goto again;
    }
    if (!rc && plan.npending) {
        fflush(stdout); /* after the summary line */
        fprintf(stderr, "scaling sweep: not planned yet: %s\n", plan.pending);
    }
out:
    free(order);
out_plan:
    sweep_plan_free(&plan);
    free(ov);
    for (int i = 0; i < nsaid; i++)
        free(said[i]);
    free(said);
    return status;
}
