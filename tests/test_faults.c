/*
 * test_faults.c — what a user's cluster does to `scaling` besides the happy
 * path, through the binary: SIGKILL right after a checkpoint (no step row
 * lost), two processes training one run into one database, merging a shard
 * while its runs are still going, a FIFO for a token file, read-only
 * databases and read-only media, and a query that never ends.
 *
 * Fixtures (a small generated corpus, prepared byte-level; databases) live
 * in a mkdtemp directory. Where a test needs a file the process cannot
 * write and runs as root (CI), the command runs as `nobody` through setpriv.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../results/store.h"
#include "../util/util.h"
#include "testlib.h"

static char dir[256];
static char out[1 << 16];
static const char *bin;

static void setup(void) {
    bin = getenv("SCALING_BIN") ? getenv("SCALING_BIN") : SCALING_BIN;
    snprintf(dir, sizeof dir, "/tmp/test_faults_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    chmod(dir, 0755); /* `nobody` must reach the fixtures */
    char path[512];
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 1; i <= 600; i++)
        fprintf(f, "document %d: the quick brown fox %d jumps over the lazy dog, again %d.\n\n", i,
                i * 7919 % 1000, i * 104729 % 977);
    fclose(f);
    cr_assert_eq(tl_sh(out, sizeof out,
                       "cd '%s' && '%s' data prepare corpus.txt --out data --ctx 32 "
                       "--val-fraction 0.1",
                       dir, bin),
                 0, "%s", out);
}

static void teardown(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    if (system(cmd)) {
    }
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 600);

/* Runs a shell command in the test directory; its exit code, output in `out`. */
#define sh(...) tl_sh_in(dir, out, sizeof out, __VA_ARGS__)

/* Starts `scaling ARGS` in the test directory in the background (output to
 * LOG); returns its pid. */
static pid_t spawn(const char *log, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' %s > '%s' 2>&1", dir, bin, args, log);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *at(const char *name) {
    static char p[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* One integer from SQL on the database at path (read-only, -1 on error). */
static int64_t q_int(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int exists(const char *path) {
    return access(path, F_OK) == 0;
}

/* ---- 1: a checkpoint is never ahead of the step rows ---------------------- */

/* The trainer buffers step rows (256 rows or 2 s); its checkpoint used to be
 * written without flushing them, so a SIGKILL right after a checkpoint lost
 * the rows for good (the resume starts past them). Kill the moment the first
 * checkpoint (0.2 s in) exists: step 1's row must be in the database, and
 * after the resume every logged step is there once. One evaluation only (at
 * the end): an evaluation commits the buffered steps too, which would hide
 * the loss. */
Test(faults, sigkill_after_checkpoint_loses_no_step_row) {
    const char *args = "train --data data --layers 1 --d-model 16 --heads 2 --ctx 32 --batch 4 "
                       "--tokens 640000 --log-every 500 --evals 1 --eval-windows 4 --quiet "
                       "--checkpoint c.ckpt --checkpoint-secs 0.2 --db k.db --run-id k";
    pid_t pid = spawn(at("k1.log"), args);
    int waited = 0;
    while (!exists(at("c.ckpt")) && waited < 60000) {
        sleep_ms(2);
        waited += 2;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert(exists(at("c.ckpt")), "no checkpoint within 60 s");
    cr_assert_eq(q_int(at("k.db"), "SELECT count(*) FROM steps WHERE run_id='k' AND step=1"), 1,
                 "step 1 was logged before the checkpoint and is gone after SIGKILL");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s --resume", bin, args);
    cr_assert_eq(sh("%s", cmd), 0, "%s", out);
    /* 5000 steps: the rows of steps 1, 500, 1000, ..., 5000, and the first
     * step of the resumed part */
    int64_t n500 = q_int(at("k.db"), "SELECT count(*) FROM steps WHERE step % 500 = 0");
    cr_assert_eq(n500, 10, "%lld of the 10 rows at multiples of 500", (long long)n500);
    cr_assert_eq(q_int(at("k.db"), "SELECT max(step) FROM steps"), 5000);
}

/* ---- 4: one process per run ----------------------------------------------- */

/* Four identical `scaling train --db same.db` used to share one row
 * silently. While a run is being trained, another process with the same
 * configuration is refused with the holder's host and pid and how to train
 * a repeat; once the holder is dead (SIGKILL), its lock is taken over. */
Test(faults, second_trainer_of_a_run_is_refused) {
    const char *args = "train --data data --layers 1 --d-model 16 --heads 2 --ctx 32 --batch 4 "
                       "--tokens 40000000 --evals 2 --eval-windows 4 --quiet --db t.db";
    pid_t first = spawn(at("t1.log"), args);
    int waited = 0;
    while (q_int(at("t.db"), "SELECT count(*) FROM locks WHERE name LIKE 'run:%'") != 1 &&
           waited < 60000) {
        sleep_ms(20);
        waited += 20;
    }
    cr_assert_eq(q_int(at("t.db"), "SELECT pid FROM locks WHERE name LIKE 'run:%'"), first);
    char cmd[1024], pid[32];
    snprintf(cmd, sizeof cmd, "'%s' %s", bin, args);
    cr_assert_eq(sh("%s", cmd), 1, "%s", out);
    snprintf(pid, sizeof pid, "pid %d", (int)first);
    cr_assert(strstr(out, pid) && strstr(out, "--seed"), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    cr_assert_eq(q_int(at("t.db"), "SELECT count(*) FROM runs WHERE status = 'running'"), 1,
                 "the refused process touched the run");
    /* the holder dies without cleaning up: the next one takes over */
    kill(first, SIGKILL);
    waitpid(first, NULL, 0);
    pid_t second = spawn(at("t2.log"), args);
    waited = 0;
    while (q_int(at("t.db"), "SELECT pid FROM locks WHERE name LIKE 'run:%'") != second &&
           waited < 60000) {
        sleep_ms(20);
        waited += 20;
    }
    cr_assert_eq(q_int(at("t.db"), "SELECT pid FROM locks WHERE name LIKE 'run:%'"), second);
    kill(second, SIGINT); /* clean stop: checkpoint-less, the lock is released */
    waitpid(second, NULL, 0);
    cr_assert_eq(q_int(at("t.db"), "SELECT count(*) FROM locks"), 0);
}

/* ---- 2: merging a shard while it runs ------------------------------------- */

static void put_run(store *s, const char *id, const char *status, const char *json) {
    char err[UTIL_ERRLEN];
    store_run r;
    store_run_init(&r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.sweep, sizeof r.sweep, "sw");
    snprintf(r.status, sizeof r.status, "%s", status);
    r.config_json = (char *)json;
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_set_status(s, id, status, err, sizeof err), 0, "%s", err);
}

static void add_steps(store *s, const char *id, int from, int to) {
    char err[UTIL_ERRLEN];
    for (int k = from; k <= to; k++)
        cr_assert_eq(store_add_step(s, id, k, 10 * k, 100.0 * k, 3.0 - 0.01 * k, 1e-3, 1, k, err,
                                    sizeof err),
                     0, "%s", err);
    cr_assert_eq(store_flush(s, err, sizeof err), 0, "%s", err);
}

/* While a worker trains, its row holds the trainer's configuration JSON;
 * when it ends the sweep puts back the plan's (other members, same values).
 * Merging in between used to call that a conflict, keep the stale copy for
 * good and exit 0. A run further along in the input is an update. */
Test(faults, merge_of_a_running_shard_converges) {
    char err[UTIL_ERRLEN];
    const char *trainer = "{\"n_layer\":1,\"d_model\":16,\"seed\":1,\"threads\":1}";
    const char *plan = "{\"id\":\"r1\",\"label\":\"g\",\"n_layer\":1,\"d_model\":16,\"seed\":1,"
                       "\"flops\":1e9}";
    store *x = NULL, *m = NULL;
    cr_assert_eq(store_open(&x, at("x.db"), STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(x, "sw", "grid", "f", NULL, err, sizeof err), 0, "%s", err);
    put_run(x, "r1", "running", trainer);
    add_steps(x, "r1", 1, 5);
    cr_assert_eq(store_open(&m, at("m.db"), STORE_CREATE, err, sizeof err), 0, "%s", err);
    store_merge_stats ms;
    cr_assert_eq(store_merge_ex(m, at("x.db"), &ms, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ms.runs_added, 1);
    /* more steps while still running: the longer curve is an update */
    add_steps(x, "r1", 6, 9);
    cr_assert_eq(store_merge_ex(m, at("x.db"), &ms, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ms.conflicts, 0);
    cr_assert_eq(ms.runs_updated, 1);
    /* it ends: status done, the plan's JSON back */
    store_run r;
    store_run_init(&r);
    snprintf(r.id, sizeof r.id, "r1");
    snprintf(r.status, sizeof r.status, "done");
    r.final_val_loss = 2.5;
    r.tokens_done = 90;
    cr_assert_eq(store_finish_run(x, &r, err, sizeof err), 0, "%s", err);
    put_run(x, "r1", "done", plan);
    cr_assert_eq(store_merge_ex(m, at("x.db"), &ms, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ms.conflicts, 0, "running -> done with the plan's JSON is an update");
    cr_assert_eq(ms.runs_updated, 1);
    store_close(x);
    store_close(m);
    cr_assert_eq(q_int(at("m.db"), "SELECT status = 'done' AND final_val_loss = 2.5 AND "
                                   "config_json LIKE '%\"label\"%' FROM runs WHERE id = 'r1'"),
                 1);
    cr_assert_eq(q_int(at("m.db"), "SELECT count(*) FROM steps WHERE run_id = 'r1'"), 9);
    /* through the CLI: converged, exit 0; a real conflict exits 1 */
    cr_assert_eq(sh("'%s' merge m.db x.db", bin), 0, "%s", out);
    cr_assert(strstr(out, "0 conflicts"), "%s", out);
    cr_assert_eq(store_open(&x, at("y.db"), STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(x, "sw", "grid", "f", NULL, err, sizeof err), 0, "%s", err);
    put_run(x, "r1", "done", "{\"n_layer\":2,\"d_model\":16,\"seed\":1}");
    store_close(x);
    cr_assert_eq(sh("'%s' merge m.db y.db", bin), 1, "%s", out);
    cr_assert(strstr(out, "conflict: run r1"), "%s", out);
}

/* ---- 6: the smaller kinds ------------------------------------------------- */

/* A FIFO where train.tok should be used to block the open forever. */
Test(faults, fifo_token_file_is_refused) {
    cr_assert_eq(sh("cp -r data fifo && rm fifo/train.tok && mkfifo fifo/train.tok"), 0, "%s", out);
    int rc = sh("timeout 60 '%s' train --data fifo --layers 1 --d-model 16 --heads 2 --ctx 32 "
                "--batch 4 --tokens 1000 --quiet",
                bin);
    cr_assert_eq(rc, 1, "exit %d (124: it blocked): %s", rc, out);
    cr_assert(strstr(out, "train.tok") && strstr(out, "not a regular file"), "%s", out);
}

/* Runs a command line as a user who cannot write what root made read-only
 * (root can write anything): `nobody` through setpriv when we are root. */
static int sh_unprivileged(const char *cmd) {
    if (geteuid() == 0)
        return sh("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \"%s\"", cmd);
    return sh("%s", cmd);
}

/* A database file nobody may write: writing commands say so in one line and
 * leave no -wal/-shm; reading commands read it and leave nothing either. On
 * read-only media (the directory too), reading commands still read it. */
Test(faults, read_only_database_and_media) {
    char err[UTIL_ERRLEN];
    cr_assert_eq(sh("mkdir ro && chmod 755 ro"), 0);
    store *s = NULL;
    cr_assert_eq(store_open(&s, at("ro/r.db"), STORE_CREATE, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_sweep(s, "sw", "grid", "f", NULL, err, sizeof err), 0, "%s", err);
    put_run(s, "r1", "done", "{}");
    store_close(s);
    cr_assert(!exists(at("ro/r.db-wal")) && !exists(at("ro/r.db-shm")));
    chmod(at("ro/r.db"), 0444);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' train --data data --layers 1 --d-model 16 --heads 2 --ctx 32 --batch 4 "
             "--tokens 1000 --quiet --db ro/r.db",
             bin);
    cr_assert_eq(sh_unprivileged(cmd), 1, "%s", out);
    cr_assert(strstr(out, "ro/r.db") && strstr(out, "read-only"), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    snprintf(cmd, sizeof cmd, "'%s' merge ro/r.db ro/r.db", bin);
    cr_assert_eq(sh_unprivileged(cmd), 1, "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    cr_assert(!exists(at("ro/r.db-wal")) && !exists(at("ro/r.db-shm")), "-wal/-shm left");
    snprintf(cmd, sizeof cmd, "'%s' query 'SELECT id FROM runs' --db ro/r.db --csv", bin);
    cr_assert_eq(sh_unprivileged(cmd), 0, "%s", out);
    cr_assert(strstr(out, "r1"), "%s", out);
    cr_assert(!exists(at("ro/r.db-wal")) && !exists(at("ro/r.db-shm")), "-wal/-shm left");
    /* read-only media: neither the file nor its directory can be written */
    chmod(at("ro"), 0555);
    snprintf(cmd, sizeof cmd, "'%s' runs --db ro/r.db", bin);
    int rc = sh_unprivileged(cmd);
    chmod(at("ro"), 0755);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "r1"), "%s", out);
}

/* An infinite recursive CTE stops at the default time limit (10 s) with a
 * message saying so; --timeout sets it. */
Test(faults, query_has_a_time_limit) {
    char err[UTIL_ERRLEN];
    store *s = NULL;
    cr_assert_eq(store_open(&s, at("q.db"), STORE_CREATE, err, sizeof err), 0, "%s", err);
    store_close(s);
    const char *sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                      "SELECT count(*) FROM c";
    cr_assert_eq(sh("timeout 120 '%s' query \"%s\" --db q.db --timeout 0.5", bin, sql), 1, "%s",
                 out);
    cr_assert(strstr(out, "time limit of 0.5 s") && strstr(out, "--timeout"), "%s", out);
    int rc = sh("timeout 120 '%s' query \"%s\" --db q.db", bin, sql);
    cr_assert_eq(rc, 1, "exit %d (124: no default limit): %s", rc, out);
    cr_assert(strstr(out, "time limit of 10 s"), "%s", out);
}
