/*
 * sweep_run.c — running a plan: register the sweep and its runs in the
 * database (rows built by run/run.h), then keep up to `workers` worker
 * processes (`scaling train ... --resume` from run_worker_argv, one per run,
 * fork + exec) busy, largest FLOPs first; record a crash as failed and go on;
 * on a stop request forward SIGINT (workers checkpoint and exit
 * RUN_EXIT_INTERRUPTED) and wait. Workers run in their own process group
 * (so a terminal's Ctrl-C reaches only us and is forwarded once) and die with
 * us (PR_SET_PDEATHSIG), so a SIGKILLed sweep leaves no orphan writing a
 * checkpoint that the next invocation is resuming.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "../results/store.h"
#include "../run/run.h"
#include "sweep_priv.h"

/* ======================================================================
 * The worker's command line
 * ====================================================================== */

void sweep_run_config(const sweep_plan *plan, const sweep_item *r, int threads,
                      const char *ckpt_dir, run_config *rc) {
    run_config_defaults(rc);
    rc->train = r->cfg;
    rc->train.threads = threads;
    if (ckpt_dir) {
        snprintf(rc->train.checkpoint, sizeof rc->train.checkpoint, "%s/%s.ckpt", ckpt_dir, r->id);
        rc->train.resume = 1;
    }
    snprintf(rc->id, sizeof rc->id, "%s", r->id);
    snprintf(rc->sweep, sizeof rc->sweep, "%s", plan->name);
    snprintf(rc->label, sizeof rc->label, "%s", r->label);
    snprintf(rc->mode, sizeof rc->mode, "%s", sweep_mode_name(plan->mode));
    snprintf(rc->flops_count, sizeof rc->flops_count, "%s", model_flops_name(plan->flops_count));
    rc->compute_budget = r->compute_budget;
    rc->target_params = r->target_params;
    rc->target_total = r->target_total;
}

char **sweep_worker_argv(const sweep_plan *plan, const sweep_item *r, const sweep_run_opts *o,
                         const char *ckpt_dir) {
    run_config rc;
    sweep_run_config(plan, r, o->threads, ckpt_dir, &rc);
    return run_worker_argv(&rc, o->exe, o->db_path);
}

void sweep_argv_free(char **argv) {
    run_argv_free(argv);
}

/* ======================================================================
 * The pool
 * ====================================================================== */

typedef struct {
    pid_t pid;
    int run;        /* plan index */
    double started; /* util_now() */
} worker;

typedef struct {
    const sweep_plan *plan;
    const sweep_run_opts *o;
    store *db;
    sweep_progress pr;
    double t0;
    double flops_at_start; /* finished FLOPs when this invocation began */
    double *partial;       /* per run: FLOPs of the run done so far (from its steps) */
    char *finished;        /* per run: 1 when it needs no more work */
    int db_rc;             /* first failed write of a status (a full disk): the sweep stops */
    char db_err[UTIL_ERRLEN];
    char *ended;           /* per run: its worker ended unfinished (failed or stopped) */
    char ckpt_dir[1024];
} pool;

/* Keeps the first failed database write (rc != 0) for sweep_run to return:
 * the database must never silently disagree with the progress printed. */
static void note(pool *P, int rc, const char *e) {
    if (rc && !P->db_rc) {
        P->db_rc = rc;
        snprintf(P->db_err, sizeof P->db_err, "%s", e);
    }
}

/* ======================================================================
 * WSD families: when a branch may start, and the fork checkpoints
 * ====================================================================== */

static void fork_file(const pool *P, const sweep_item *b, char *out, size_t n) {
    char parent[1100];
    snprintf(parent, sizeof parent, "%s/%s.ckpt", P->ckpt_dir, b->cfg.fork_parent);
    model_fork_path(parent, b->cfg.fork_tokens, out, n);
}

/* 1: run r can start now; 0: it waits for its trunk; -1: its trunk ended
 * without reaching the fork and never will this time. */
static int ready(const pool *P, int r) {
    const sweep_item *b = &P->plan->runs[r];
    if (b->parent < 0) return 1;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.ckpt", P->ckpt_dir, b->id);
    if (access(path, F_OK) == 0) return 1; /* resumes from its own checkpoint */
    fork_file(P, b, path, sizeof path);
    if (access(path, F_OK) == 0) return 1;
    return P->finished[b->parent] || P->ended[b->parent] ? -1 : 0;
}

static int has_status(pool *P, int r, const char *status) {
    store_run row;
    char e[UTIL_ERRLEN];
    store_run_init(&row);
    int yes = store_get_run(P->db, P->plan->runs[r].id, &row, e, sizeof e) == 0 &&
              !strcmp(row.status, status);
    store_run_free_fields(&row);
    return yes;
}

/* Says in branch b's log why it did not start: its trunk ended without the
 * checkpoint it forks from. */
static void orphan_note(const pool *P, int b, int diverged) {
    const sweep_item *r = &P->plan->runs[b];
    char logpath[1200], fork[1200];
    snprintf(logpath, sizeof logpath, "%s/%s.log", P->ckpt_dir, r->id);
    fork_file(P, r, fork, sizeof fork);
    FILE *f = fopen(logpath, "a");
    if (!f) return;
    fprintf(f,
            "sweep: not started: trunk %s ended (%s) without %s, the checkpoint this branch "
            "forks from at %lld tokens; %s\n",
            r->cfg.fork_parent, diverged ? "diverged" : "failed, stopped or done", fork,
            (long long)r->cfg.fork_tokens,
            diverged ? "the branch would have diverged with it"
                     : "run the sweep again: an unfinished trunk resumes and writes it (a "
                       "finished one must be retrained)");
    fclose(f);
}

/* Deletes the fork checkpoints whose branches are all finished: the trunk
 * keeps checkpoints where branches need them and nothing else piles up. */
static void drop_forks(const pool *P) {
    const sweep_plan *pl = P->plan;
    for (int i = 0; i < pl->nruns; i++) {
        const sweep_item *b = &pl->runs[i];
        if (b->parent < 0 || !P->finished[i]) continue;
        int all = 1;
        for (int j = 0; j < pl->nruns && all; j++) {
            const sweep_item *o = &pl->runs[j];
            if (o->parent == b->parent && o->cfg.fork_tokens == b->cfg.fork_tokens)
                all = P->finished[j];
        }
        char path[1200];
        fork_file(P, b, path, sizeof path);
        if (all) unlink(path); /* ENOENT when already gone: nothing to do */
    }
}

static void emit(pool *P, sweep_event ev, int run, int code) {
    P->pr.ev = ev;
    P->pr.run = run;
    P->pr.exit_code = code;
    P->pr.elapsed = util_now() - P->t0;
    double done = 0;
    for (int i = 0; i < P->plan->nruns; i++)
        done += P->partial[i];
    P->pr.flops_done = done;
    double rate = (done - P->flops_at_start) / (P->pr.elapsed > 0 ? P->pr.elapsed : 1);
    P->pr.eta = rate > 0 && P->pr.elapsed > 2 ? (P->pr.flops_total - done) / rate : NAN;
    if (P->pr.running == 0 && P->pr.left == 0) P->pr.eta = 0;
    if (P->o->progress) P->o->progress(P->o->ctx, run >= 0 ? &P->plan->runs[run] : NULL, &P->pr);
}

/* FLOPs done so far by a running run: its last logged step's tokens; and
 * the live note of the running runs' latest losses. */
static void refresh_partial(pool *P, const worker *w, int nw) {
    size_t len = 0;
    P->pr.live[0] = 0;
    for (int i = 0; i < nw; i++) {
        const sweep_item *r = &P->plan->runs[w[i].run];
        int64_t t;
        double loss;
        char e[UTIL_ERRLEN];
        if (store_run_last_step(P->db, r->id, &t, &loss, e, sizeof e) || t < 0) continue;
        double f = (double)(t - (r->parent >= 0 ? r->cfg.fork_tokens : 0)) * r->flops_per_token;
        P->partial[w[i].run] = f < r->flops_trained ? f : r->flops_trained;
        if (len < sizeof P->pr.live)
            len += (size_t)snprintf(
                P->pr.live + len, sizeof P->pr.live - len, "%s%.8s %.3f (%.0f%%)", len ? ", " : "",
                r->id, loss, r->cfg.tokens > 0 ? 100.0 * (double)t / (double)r->cfg.tokens : 0.0);
    }
}

static pid_t launch(pool *P, int run, const char *ckpt_dir, char *err, size_t errlen) {
    const sweep_item *r = &P->plan->runs[run];
    char **argv = sweep_worker_argv(P->plan, r, P->o, ckpt_dir);
    char logpath[2048];
    if (!argv) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    snprintf(logpath, sizeof logpath, "%s/%s.log", ckpt_dir, r->id);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        sweep_argv_free(argv);
        return util_err(err, errlen, UTIL_EIO, "%s: cannot open: %s", logpath, strerror(errno));
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        sweep_argv_free(argv);
        return util_err(err, errlen, UTIL_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
#endif
        (void)parent;
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    sweep_argv_free(argv);
    return pid;
}

/* A worker ended: classify it, make the database agree, report it. */
static void reap(pool *P, const worker *w, int status) {
    const sweep_item *r = &P->plan->runs[w->run];
    store_run row;
    char e[UTIL_ERRLEN];
    store_run_init(&row);
    int have = store_get_run(P->db, r->id, &row, e, sizeof e) == 0;
    sweep_event ev;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (code == 0 && have && run_status_finished(store_status_index(row.status)))
        ev = !strcmp(row.status, "diverged") ? SWEEP_EV_DIVERGED : SWEEP_EV_DONE;
    else if (code == RUN_EXIT_DIVERGED)
        ev = SWEEP_EV_DIVERGED;
    else if (code == RUN_EXIT_INTERRUPTED)
        ev = SWEEP_EV_STOPPED;
    else
        ev = SWEEP_EV_FAILED;
    if (ev == SWEEP_EV_DIVERGED && (!have || strcmp(row.status, "diverged")))
        note(P, store_set_status(P->db, r->id, "diverged", e, sizeof e), e);
    if (ev == SWEEP_EV_FAILED) note(P, store_set_status(P->db, r->id, "failed", e, sizeof e), e);
    if (ev == SWEEP_EV_STOPPED && have && !strcmp(row.status, "running"))
        note(P, store_set_status(P->db, r->id, "planned", e, sizeof e), e);
    store_run_free_fields(&row);
    P->pr.running--;
    if (ev == SWEEP_EV_DONE || ev == SWEEP_EV_DIVERGED) {
        P->partial[w->run] = r->flops_trained;
        P->finished[w->run] = 1;
        P->pr.done++;
        if (ev == SWEEP_EV_DIVERGED) P->pr.diverged++;
        drop_forks(P);
    } else if (ev == SWEEP_EV_FAILED) {
        P->partial[w->run] = 0;
        P->ended[w->run] = 1;
        P->pr.failed++;
    } else {
        P->ended[w->run] = 1;
        P->pr.left++; /* resumable: it will continue next time */
    }
    emit(P, ev, w->run, code);
}

int sweep_run(const sweep_plan *plan, const sweep_run_opts *o, sweep_progress *last, char *err,
              size_t errlen) {
    pool P;
    memset(&P, 0, sizeof P);
    P.plan = plan;
    P.o = o;
    int rc = 0, n = 0, nw = 0, lockfd = -1;
    int *order = NULL;
    worker *w = NULL;
    char ckpt_dir[1024];
    if (!o->db_path || !o->exe || o->workers < 1 || o->threads < 1 || o->shard_n < 1 ||
        o->shard_i < 1 || o->shard_i > o->shard_n)
        return util_err(err, errlen, UTIL_EINVAL,
                        "sweep_run: needs a database, an executable, workers >= 1, threads >= 1 "
                        "and a shard I/N with 1 <= I <= N");
    if (o->ckpt_dir && o->ckpt_dir[0])
        snprintf(ckpt_dir, sizeof ckpt_dir, "%s", o->ckpt_dir);
    else
        snprintf(ckpt_dir, sizeof ckpt_dir, "%s.runs", o->db_path);
    snprintf(P.ckpt_dir, sizeof P.ckpt_dir, "%s", ckpt_dir);
    if ((rc = util_mkdirs(ckpt_dir, err, errlen))) return rc;
    if (access(o->exe, X_OK))
        return util_err(err, errlen, UTIL_EINVAL, "%s: not an executable", o->exe);
    /* one sweep process per database and checkpoint directory: a second
     * would launch the same runs onto the same checkpoints */
    char lockpath[1100];
    snprintf(lockpath, sizeof lockpath, "%s/sweep.lock", ckpt_dir);
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0)
        return util_err(err, errlen, UTIL_EIO, "%s: cannot open: %s", lockpath, strerror(errno));
    if (flock(lockfd, LOCK_EX | LOCK_NB)) {
        close(lockfd);
        return util_err(err, errlen, UTIL_EIO,
                        "%s: another sweep is running on this database (lock %s)", o->db_path,
                        lockpath);
    }

    order = malloc((plan->nruns ? plan->nruns : 1) * sizeof *order);
    P.partial = calloc(plan->nruns ? plan->nruns : 1, sizeof *P.partial);
    P.finished = calloc(plan->nruns ? plan->nruns : 1, 1);
    P.ended = calloc(plan->nruns ? plan->nruns : 1, 1);
    w = calloc(o->workers, sizeof *w);
    if (!order || !P.partial || !P.finished || !P.ended || !w) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = store_open(&P.db, o->db_path, STORE_CREATE, err, errlen))) goto done;
    /* one sweep per database, wherever its checkpoints are: the lock is a
     * row in the database (released by store_close, stale when we die) */
    char what[200];
    snprintf(what, sizeof what, "sweep %.120s", plan->name);
    if ((rc = store_lock(P.db, STORE_LOCK_SWEEP, what, 120, NULL, NULL, err, errlen))) goto done;
    /* workers of an earlier sweep died with it: their run locks are stale */
    if ((rc = store_lock_drop_workers(P.db, NULL, err, errlen))) goto done;
    if ((rc = store_put_sweep(P.db, plan->name, sweep_mode_name(plan->mode), plan->file_text,
                              plan->plan_json, err, errlen)))
        goto done;
    sweep_order(plan, o->shard_i, o->shard_n, order, &n);

    /* register every run of the shard; note the finished ones */
    int queued = 0;
    for (int k = 0; k < n; k++) {
        const sweep_item *r = &plan->runs[order[k]];
        store_run row;
        char e[UTIL_ERRLEN];
        store_run_init(&row);
        int have = store_get_run(P.db, r->id, &row, e, sizeof e) == 0;
        int fin = have && run_status_finished(store_status_index(row.status));
        int div = have && store_status_index(row.status) == STORE_DIVERGED;
        store_run_free_fields(&row);
        /* the row `scaling train` writes again when the worker starts */
        run_config rc_;
        sweep_run_config(plan, r, o->threads, ckpt_dir, &rc_);
        if ((rc = run_register(P.db, &rc_, &plan->data, err, errlen))) goto done;
        P.pr.flops_total += r->flops;
        P.pr.total++;
        if (fin) {
            P.finished[order[k]] = 1;
            P.partial[order[k]] = r->flops_trained;
            P.pr.done++;
            P.pr.diverged += div;
            P.flops_at_start += r->flops_trained;
            emit(&P, SWEEP_EV_SKIP, order[k], 0);
        } else {
            order[queued++] = order[k];
        }
    }
    /* the sweep's plan is this plan: runs of an earlier one (other
     * overrides, an edited file) stay in the database, out of its fits */
    {
        const char **ids = malloc((plan->nruns ? plan->nruns : 1) * sizeof *ids);
        if (!ids) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < plan->nruns; i++)
            ids[i] = plan->runs[i].id;
        rc = store_sweep_plan(P.db, plan->name, ids, plan->nruns, NULL, err, errlen);
        int nheld = 0; /* its held-out runs, kept out of its fits */
        for (int i = 0; i < plan->nruns; i++)
            if (plan->runs[i].holdout) ids[nheld++] = plan->runs[i].id;
        if (!rc) rc = store_sweep_holdout(P.db, plan->name, ids, nheld, err, errlen);
        free(ids);
        if (!rc) rc = store_sweep_describe(P.db, plan->name, plan->description, err, errlen);
        if (rc) goto done;
    }
    P.pr.left = queued;
    P.t0 = util_now();
    drop_forks(&P); /* of branches finished before an interruption */

    /* ---- the loop ----------------------------------------------------- */
    int next = 0, forwarded = 0, lost = 0, halted = 0;
    double last_tick = 0, last_poll = 0, last_lock = 0;
    for (;;) {
        int stopping = (o->stop && *o->stop) || lost || P.db_rc;
        if ((lost || P.db_rc) && !halted) { /* the database failed us: stop, all resumable */
            for (int i = 0; i < nw; i++)
                kill(w[i].pid, SIGINT);
            halted = 1;
        }
        if (stopping && o->stop && forwarded < (int)*o->stop) {
            int sig = *o->stop >= 2 ? SIGKILL : SIGINT;
            for (int i = 0; i < nw; i++)
                kill(w[i].pid, sig);
            forwarded = (int)*o->stop;
        }
        while (!stopping && nw < o->workers && next < queued) {
            /* the first run in order that can start; a branch whose trunk
             * ended short of the fork fails (diverged with it if it diverged) */
            int at = -1;
            for (int k = next; k < queued && at < 0; k++) {
                int rd = ready(&P, order[k]);
                if (rd > 0) at = k;
                if (rd < 0) {
                    int b = order[k], par = plan->runs[b].parent;
                    int div = P.finished[par] && has_status(&P, par, "diverged");
                    char e[UTIL_ERRLEN];
                    note(&P,
                         store_set_status(P.db, plan->runs[b].id, div ? "diverged" : "failed", e,
                                          sizeof e),
                         e);
                    orphan_note(&P, b, div);
                    memmove(order + k, order + k + 1, (size_t)(queued - k - 1) * sizeof *order);
                    queued--, k--;
                    P.pr.left--;
                    if (div) {
                        P.finished[b] = 1, P.pr.done++, P.pr.diverged++;
                        emit(&P, SWEEP_EV_DIVERGED, b, 0);
                    } else {
                        P.ended[b] = 1, P.pr.failed++;
                        emit(&P, SWEEP_EV_FAILED, b, 0);
                    }
                }
            }
            if (at < 0 && nw == 0 && next < queued) { /* cannot happen: trunks go first */
                rc = util_err(err, errlen, UTIL_EINVAL,
                              "sweep %s: %d branches wait for trunks that are not running",
                              plan->name, queued - next);
                goto done;
            }
            if (at < 0) break; /* branches wait for their trunks' fork checkpoints */
            int run = order[at];
            memmove(order + next + 1, order + next, (size_t)(at - next) * sizeof *order);
            order[next++] = run;
            char e[UTIL_ERRLEN];
            note(&P, store_set_status(P.db, plan->runs[run].id, "running", e, sizeof e), e);
            if (P.db_rc) break;
            pid_t pid = launch(&P, run, ckpt_dir, err, errlen);
            if (pid < 0) {
                rc = (int)pid;
                store_set_status(P.db, plan->runs[run].id, "planned", e, sizeof e);
                /* stop the others cleanly: everything stays resumable */
                for (int i = 0; i < nw; i++)
                    kill(w[i].pid, SIGINT);
                while (nw > 0) {
                    int st;
                    pid_t p = waitpid(-1, &st, 0);
                    if (p < 0 && errno != EINTR) break;
                    for (int i = 0; i < nw; i++)
                        if (w[i].pid == p) {
                            reap(&P, &w[i], st);
                            w[i] = w[--nw];
                            break;
                        }
                }
                goto done;
            }
            w[nw].pid = pid;
            w[nw].run = run;
            w[nw].started = util_now();
            nw++;
            P.pr.running++;
            P.pr.left--;
            emit(&P, SWEEP_EV_START, run, 0);
        }
        if (nw == 0 && (next >= queued || stopping)) break;

        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
            for (int i = 0; i < nw; i++)
                if (w[i].pid == p) {
                    worker done_w = w[i];
                    w[i] = w[--nw];
                    reap(&P, &done_w, st);
                    break;
                }
            continue;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        double now = util_now();
        /* the running runs' progress and losses twice a second (the ETA and
         * the live line); the sweep's lock every 2 s */
        if (now - last_poll >= 0.5) {
            refresh_partial(&P, w, nw);
            last_poll = now;
        }
        if (now - last_lock >= 2.0) {
            last_lock = now;
            if (!lost) lost = store_lock_refresh(P.db, err, errlen); /* taken for dead? */
        }
        if (now - last_tick >= 1.0) {
            emit(&P, SWEEP_EV_TICK, -1, 0);
            last_tick = now;
        }
    }
    emit(&P, SWEEP_EV_TICK, -1, 0);
    if (lost)
        rc = lost; /* err says why */
    else if (P.db_rc)
        rc = util_err(err, errlen, P.db_rc, "%s (the sweep stopped; every run is resumable)",
                      P.db_err);
    else if (o->stop && *o->stop)
        rc = util_err(err, errlen, UTIL_EINTR,
                      "stopped on request: "
                      "every run is resumable");
done:
    if (last) *last = P.pr;
    if (lockfd >= 0) close(lockfd); /* releases the lock */
    store_close(P.db);
    free(order);
    free(P.partial);
    free(P.finished);
    free(P.ended);
    free(w);
    return rc;
}
