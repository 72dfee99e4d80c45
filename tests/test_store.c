/*
 * test_store.c — the results database: schema and migrations, recognising
 * foreign files, run/step/eval writes, read-only queries, export, merge,
 * SIGKILL of a writer, several writers at once, and the CLI commands on top.
 * Every fixture is written by the test into its own mkdtemp directory.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../results/store.h"
#include "../results/store_priv.h" /* store__db: schema checks */
#include "testlib.h"

/* ======================================================================== */
/* Helpers                                                                  */
/* ======================================================================== */

static char *tmpdir(void) {
    char *d = strdup("/tmp/test_store.XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static char *pathin(const char *dir, const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void rmtree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static store *open_or_die(const char *path, int flags) {
    char err[UTIL_ERRLEN];
    store *s = NULL;
    int rc = store_open(&s, path, flags, err, sizeof err);
    cr_assert_eq(rc, 0, "store_open %s: %s", path, err);
    return s;
}

/* One integer from SQL on a separate raw connection (sees committed data only). */
static int64_t raw_int(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_close(db);
}

static char *integrity(const char *path) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A file's bytes and modification time, to prove it was not touched. */
typedef struct {
    char *bytes;
    size_t n;
    struct timespec mtime;
} snapshot;

static snapshot snap(const char *path) {
    snapshot s = {0};
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    s.mtime = st.st_mtim;
    char err[UTIL_ERRLEN];
    cr_assert_eq(util_read_file(path, &s.bytes, &s.n, err, sizeof err), 0, "%s", err);
    return s;
}

static void assert_untouched(const char *path, snapshot *before) {
    snapshot now = snap(path);
    cr_assert_eq(now.n, before->n, "%s changed size", path);
    cr_assert(memcmp(now.bytes, before->bytes, now.n) == 0, "%s changed bytes", path);
    cr_assert(now.mtime.tv_sec == before->mtime.tv_sec &&
                  now.mtime.tv_nsec == before->mtime.tv_nsec,
              "%s changed mtime", path);
    free(now.bytes);
    free(before->bytes);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* A run with every field set, derived from k so different runs differ. */
static void make_run(store_run *r, const char *id, const char *sweep, int k) {
    store_run_init(r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->sweep, sizeof r->sweep, "%s", sweep ? sweep : "");
    snprintf(r->label, sizeof r->label, "group %d", k);
    snprintf(r->data_dir, sizeof r->data_dir, "data/brown");
    snprintf(r->tokenizer, sizeof r->tokenizer, "byte");
    r->n_vocab = 256, r->n_layer = 2 + k, r->d_model = 64 * (k + 1), r->n_head = 4;
    r->d_ff = 4 * r->d_model, r->n_ctx = 128;
    r->params_total = 100000 + 1000 * k, r->params_embedding = 20000;
    r->params_nonembedding = r->params_total - r->params_embedding;
    r->flops_per_token_kaplan = 6.0 * (double)r->params_nonembedding;
    r->flops_per_token_chinchilla = 6.5 * (double)r->params_total;
    r->tokens = 1000000 + k, r->unique_tokens = 0, r->batch = 16, r->lr = 1e-3 * (k + 1);
    snprintf(r->schedule, sizeof r->schedule, "cosine");
    r->warmup = 100, r->cycle_tokens = r->tokens, r->seed = 0xfedcba9876543210ULL + (unsigned)k;
    r->threads = 2, r->compute_budget = 1e12, r->flops = 1e12 * (k + 1), r->epochs = 0.5;
    snprintf(r->host, sizeof r->host, "host%d", k);
    snprintf(r->git_rev, sizeof r->git_rev, "abc123");
    snprintf(r->blas_kernel, sizeof r->blas_kernel, "Haswell");
    char json[64];
    snprintf(json, sizeof json, "{\"k\": %d}", k);
    r->config_json = strdup(json);
}

/* Runs `SCALING_BIN args` with stdout+stderr into out; returns the exit code. */
static int run_cli(const char *args, char *out, size_t n) {
    return tl_sh(out, n, "%s %s", SCALING_BIN, args);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ======================================================================== */
/* Schema                                                                   */
/* ======================================================================== */

Test(store, schema_created_strict_wal_versioned) {
    char *d = tmpdir(), *p = pathin(d, "r.db");
    store *s = open_or_die(p, STORE_CREATE);
    sqlite3 *db = store__db(s);
    cr_assert_not_null(db);
    store_close(s);
    cr_assert_eq(raw_int(p, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_assert_eq(raw_int(p, "PRAGMA application_id"), STORE_APPLICATION_ID);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_list WHERE schema='main' AND "
                            "strict=1 AND name IN ('sweeps','runs','steps','evals','fits')"),
                 5);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM sqlite_schema WHERE type='index' AND name IN "
                            "('runs_sweep','runs_status')"),
                 2);
    /* The contract's column names exist. */
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_info('runs') WHERE name IN "
                            "('id','status','final_val_loss','params_total','params_nonembedding',"
                            "'tokens','flops','config_json')"),
                 8);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_info('evals') WHERE name IN "
                            "('run_id','tokens','flops','val_loss','val_bpb','step')"),
                 6);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_info('steps') WHERE name IN "
                            "('run_id','step','train_loss','tokens','flops','lr','grad_norm',"
                            "'elapsed')"),
                 8);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_info('runs')"), 44);
    /* v5 (issue 17): which sweeps hold a run, why a run is excluded, a description */
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_info('sweep_runs')"), 4);
    /* v6 (issue 15): a sweep's held-out runs */
    cr_assert_eq(
        raw_int(p, "SELECT count(*) FROM pragma_table_info('sweep_runs') WHERE name='holdout'"), 1);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM pragma_table_info('runs') WHERE name='excluded'"),
                 1);
    cr_assert_eq(
        raw_int(p, "SELECT count(*) FROM pragma_table_info('sweeps') WHERE name='description'"), 1);
    /* WAL is a property of the file. */
    s = open_or_die(p, 0);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(store__db(s), "PRAGMA journal_mode", -1, &st, NULL), 0);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(store__db(s), "PRAGMA foreign_keys", -1, &st, NULL), 0);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    /* CHECK on status and foreign keys hold on a raw insert through our connection. */
    cr_assert_neq(sqlite3_exec(store__db(s), "INSERT INTO runs(id, status) VALUES('x', 'bogus')",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    cr_assert_neq(sqlite3_exec(store__db(s), "INSERT INTO runs(id, sweep) VALUES('x', 'nosweep')",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    cr_assert_neq(sqlite3_exec(store__db(s), "INSERT INTO steps(run_id, step) VALUES('nope', 1)",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    /* STRICT: text in an INTEGER column is refused. */
    cr_assert_neq(sqlite3_exec(store__db(s), "INSERT INTO runs(id, n_layer) VALUES('y', 'four')",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    store_close(s);
    rmtree(d);
    free(p);
    free(d);
}

/* ======================================================================== */
/* Migrations and recognising files                                         */
/* ======================================================================== */

Test(store, empty_sqlite_file_is_initialised) {
    char *d = tmpdir(), *p = pathin(d, "empty.db"), *z = pathin(d, "zero.db");
    raw_exec(p, "VACUUM"); /* a valid SQLite file with user_version 0 and no tables */
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM sqlite_schema"), 0);
    store_close(open_or_die(p, STORE_CREATE));
    cr_assert_eq(raw_int(p, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM sqlite_schema WHERE name='runs'"), 1);
    write_text(z, ""); /* a 0-byte file is an empty database too */
    store_close(open_or_die(z, STORE_CREATE));
    cr_assert_eq(raw_int(z, "PRAGMA application_id"), STORE_APPLICATION_ID);
    rmtree(d);
    free(p), free(z), free(d);
}

Test(store, foreign_files_refused_untouched) {
    char *d = tmpdir();
    char err[UTIL_ERRLEN];
    store *s = NULL;
    struct {
        const char *name, *expect;
        int kind; /* 0 text, 1 other program's tables, 2 other application_id, 3 future version */
    } cases[] = {
        {"notes.txt", "not a SQLite database", 0},
        {"other.db", "another program", 1},
        {"otherapp.db", "another program", 2},
        {"future.db", "newer than this program", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = pathin(d, cases[i].name);
        switch (cases[i].kind) {
        case 0:
            write_text(p, "this is not a database, just a long enough line of text\n");
            break;
        case 1:
            raw_exec(p, "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL)");
            break;
        case 2:
            raw_exec(p, "PRAGMA application_id=1234; VACUUM");
            break;
        case 3:
            store_close(open_or_die(p, STORE_CREATE));
            raw_exec(p, "PRAGMA user_version=99");
            break;
        }
        snapshot before = snap(p);
        int flags[] = {STORE_CREATE, 0, STORE_READONLY};
        for (int f = 0; f < 3; f++) {
            s = (store *)1;
            int rc = store_open(&s, p, flags[f], err, sizeof err);
            cr_assert_lt(rc, 0, "%s opened with flags %d", cases[i].name, flags[f]);
            cr_assert_null(s);
            cr_assert(strstr(err, cases[i].expect) && strstr(err, p), "%s: %s", cases[i].name, err);
            cr_assert_null(strchr(err, '\n'), "one line: %s", err);
        }
        assert_untouched(p, &before);
        free(p);
    }
    /* A directory and a missing file. */
    cr_assert_lt(store_open(&s, d, STORE_CREATE, err, sizeof err), 0);
    cr_assert(strstr(err, "directory"), "%s", err);
    char *m = pathin(d, "missing.db");
    cr_assert_eq(store_open(&s, m, STORE_READONLY, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert(strstr(err, "missing.db"), "%s", err);
    cr_assert_eq(store_open(&s, m, 0, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert_neq(access(m, F_OK), 0, "a failed open must not create the file");
    free(m);
    rmtree(d);
    free(d);
}

Test(store, migration_mechanism) {
    char *d = tmpdir(), *p = pathin(d, "m.db");
    char err[UTIL_ERRLEN];
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    const char *steps[] = {"CREATE TABLE a(x INTEGER) STRICT",
                           "CREATE TABLE b(y INTEGER) STRICT; INSERT INTO b VALUES(7)",
                           "CREATE TABLE c(z INTEGER) STRICT; INSERT INTO nowhere VALUES(1)"};
    /* v0 -> v2 in one go. */
    cr_assert_eq(store_migrate(db, steps, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(raw_int(p, "PRAGMA user_version"), 2);
    cr_assert_eq(raw_int(p, "PRAGMA application_id"), STORE_APPLICATION_ID);
    cr_assert_eq(raw_int(p, "SELECT y FROM b"), 7);
    /* Already at v2: nothing runs again. */
    cr_assert_eq(store_migrate(db, steps, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM b"), 1);
    /* A failing step rolls the whole upgrade back: still v2, no table c. */
    cr_assert_lt(store_migrate(db, steps, 3, err, sizeof err), 0);
    cr_assert(strstr(err, "v2 -> v3"), "%s", err);
    cr_assert_eq(raw_int(p, "PRAGMA user_version"), 2);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM sqlite_schema WHERE name='c'"), 0);
    /* An older program (1 step) refuses the newer file. */
    cr_assert_lt(store_migrate(db, steps, 1, err, sizeof err), 0);
    cr_assert(strstr(err, "newer"), "%s", err);
    sqlite3_close(db);

    /* Our real database upgraded in place to a simulated next version keeps its rows. */
    char *q = pathin(d, "v1.db");
    store *s = open_or_die(q, STORE_CREATE);
    cr_assert_eq(store_put_sweep(s, "sw", "isoflop", "x", NULL, err, sizeof err), 0, "%s", err);
    store_close(s);
    cr_assert_eq(sqlite3_open(q, &db), SQLITE_OK);
    const char *future[STORE_SCHEMA_VERSION + 1];
    for (int v = 0; v < STORE_SCHEMA_VERSION; v++)
        future[v] = "SELECT 'already applied'";
    future[STORE_SCHEMA_VERSION] = "ALTER TABLE runs ADD COLUMN note TEXT";
    cr_assert_eq(store_migrate(db, future, STORE_SCHEMA_VERSION + 1, err, sizeof err), 0, "%s",
                 err);
    sqlite3_close(db);
    cr_assert_eq(raw_int(q, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM pragma_table_info('runs') WHERE name='note'"), 1);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM sweeps"), 1);
    /* ... which this program now refuses. */
    cr_assert_lt(store_open(&s, q, STORE_CREATE, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "schema version %d is newer", STORE_SCHEMA_VERSION + 1);
    cr_assert(strstr(err, want), "%s", err);
    rmtree(d);
    free(p), free(q), free(d);
}

/* ======================================================================== */
/* Runs, steps, evals, fits                                                 */
/* ======================================================================== */

Test(store, run_roundtrip_and_update_rules) {
    char *d = tmpdir(), *p = pathin(d, "r.db");
    char err[UTIL_ERRLEN];
    store *s = open_or_die(p, STORE_CREATE);
    store_run r, g;
    make_run(&r, "run0001", "sw", 3);
    /* The sweep must exist first (foreign key), with a clear message. */
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert(strstr(err, "sweep 'sw'"), "%s", err);
    cr_assert_eq(store_put_sweep(s, "sw", "isoflop", "[isoflop]\n", "{\"n\": 1}", err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_get_run(s, "run0001", &g, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(g.status, "planned");
    cr_assert_str_eq(g.label, "group 3");
    cr_assert_str_eq(g.blas_kernel, "Haswell");
    cr_assert_eq(g.n_layer, 5);
    cr_assert_eq(g.d_ff, r.d_ff);
    cr_assert_eq(g.params_nonembedding, r.params_nonembedding);
    cr_assert_eq(g.seed, r.seed, "a 64-bit seed survives the INTEGER column");
    cr_assert_eq(g.tokens, r.tokens);
    cr_assert_eq(g.unique_tokens, 0);
    cr_assert_float_eq(g.lr, r.lr, 0);
    cr_assert_float_eq(g.flops_per_token_chinchilla, r.flops_per_token_chinchilla, 0);
    cr_assert(isnan(g.final_val_loss));
    cr_assert_eq(g.tokens_done, -1);
    cr_assert_str_eq(g.config_json, "{\"k\": 3}");
    store_run_free_fields(&g);

    /* Re-putting updates configuration but not status or results. */
    r.lr = 0.5;
    snprintf(r.status, sizeof r.status, "done");
    r.final_val_loss = 1.0;
    r.host[0] = 0; /* unknown now: the known value stays */
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_get_run(s, "run0001", &g, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(g.lr, 0.5, 0);
    cr_assert_str_eq(g.status, "planned");
    cr_assert(isnan(g.final_val_loss));
    cr_assert_str_eq(g.host, "host3");
    store_run_free_fields(&g);

    /* Status and finishing. */
    cr_assert_eq(store_set_status(s, "run0001", "running", err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_set_status(s, "run0001", "paused", err, sizeof err), UTIL_EINVAL);
    cr_assert_eq(store_set_status(s, "nope", "done", err, sizeof err), UTIL_ENOTFOUND);
    cr_assert(strstr(err, "'nope'"), "%s", err);
    store_run f;
    store_run_init(&f);
    snprintf(f.id, sizeof f.id, "run0001");
    snprintf(f.status, sizeof f.status, "done");
    f.final_train_loss = 2.25, f.final_val_loss = 2.5, f.final_val_bpb = 3.6, f.best_val_loss = 2.4;
    f.tokens_done = 999;
    cr_assert_eq(store_finish_run(s, &f, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_get_run(s, "run0001", &g, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(g.status, "done");
    cr_assert_float_eq(g.final_val_loss, 2.5, 0);
    cr_assert_eq(g.tokens_done, 999);
    cr_assert_neq(g.started[0], 0, "running sets started");
    cr_assert_neq(g.ended[0], 0, "finishing sets ended");
    cr_assert_float_eq(g.epochs, 0.5, 0, "NaN epochs keeps the planned value");
    store_run_free_fields(&g);
    snprintf(f.id, sizeof f.id, "ghost");
    cr_assert_eq(store_finish_run(s, &f, err, sizeof err), UTIL_ENOTFOUND);

    /* No config_json stores '{}'; unknown numbers stay unknown. */
    store_run m;
    store_run_init(&m);
    snprintf(m.id, sizeof m.id, "bare");
    cr_assert_eq(store_put_run(s, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_get_run(s, "bare", &g, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(g.config_json, "{}");
    cr_assert_eq(g.n_layer, -1);
    cr_assert(isnan(g.flops));
    cr_assert_str_eq(g.sweep, "");
    store_run_free_fields(&g);
    cr_assert_eq(store_get_run(s, "nothere", &g, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert_eq(store_put_run(s, &(store_run){.id = ""}, err, sizeof err), UTIL_EINVAL);
    snprintf(m.status, sizeof m.status, "weird");
    cr_assert_eq(store_put_run(s, &m, err, sizeof err), UTIL_EINVAL);

    /* Listing and counts. */
    store_run *list = NULL;
    int n = 0;
    cr_assert_eq(store_list_runs(s, "sw", NULL, &list, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0].id, "run0001");
    store_runs_free(list, n);
    cr_assert_eq(store_list_runs(s, NULL, "planned", &list, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0].id, "bare");
    store_runs_free(list, n);
    int64_t counts[STORE_NSTATUS];
    cr_assert_eq(store_sweep_counts(s, NULL, counts, err, sizeof err), 0);
    cr_assert_eq(counts[STORE_DONE], 1);
    cr_assert_eq(counts[STORE_PLANNED], 1);
    cr_assert_eq(counts[STORE_RUNNING], 0);

    int64_t fid = 0, fid2 = 0;
    cr_assert_eq(store_add_fit(s, "sw", "approach3", "{\"E\": 1.7}", NULL, &fid, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(store_add_fit(s, "sw", "kaplan_n", "{}", "{}", &fid2, err, sizeof err), 0);
    cr_assert_eq(fid2, fid + 1);
    /* the same fit again is the same row; a different one is a new row */
    int64_t fid3 = 0;
    cr_assert_eq(store_add_fit(s, "sw", "approach3", "{\"E\": 1.7}", "{}", &fid3, err, sizeof err),
                 0);
    cr_assert_eq(fid3, fid, "an identical fit must not be stored twice");
    cr_assert_eq(store_add_fit(s, "sw", "approach3", "{\"E\": 1.8}", "{}", &fid3, err, sizeof err),
                 0);
    cr_assert_eq(fid3, fid2 + 1);
    store_run_free_fields(&r);
    store_close(s);
    rmtree(d);
    free(p), free(d);
}

Test(store, steps_buffered_evals_committed) {
    char *d = tmpdir(), *p = pathin(d, "c.db");
    char err[UTIL_ERRLEN];
    store *s = open_or_die(p, STORE_CREATE);
    store_run r;
    make_run(&r, "c1", NULL, 0);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    store_set_flush(s, 10, 1e9);
    for (int i = 0; i < 25; i++)
        cr_assert_eq(store_add_step(s, "c1", i, 1000 * i, 1e9 * i, 5.0 - 0.1 * i, 1e-3, 0.7,
                                    0.01 * i, err, sizeof err),
                     0, "%s", err);
    /* Two batches of 10 are committed; 5 rows still buffered. */
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM steps"), 20);
    cr_assert_eq(store_flush(s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM steps"), 25);
    /* A resume re-logs step 3: replaced, not duplicated. */
    cr_assert_eq(store_add_step(s, "c1", 3, 3000, 3e9, 9.0, 1e-3, 0.7, 0.0, err, sizeof err), 0);
    /* The eval commits the buffered step with it before returning. */
    cr_assert_eq(store_add_eval(s, "c1", 20, 20000, 2e10, 3.0, 4.3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM steps"), 25);
    cr_assert_eq(raw_int(p, "SELECT CAST(train_loss AS INTEGER) FROM steps WHERE step=3"), 9);
    cr_assert_eq(store_add_eval(s, "c1", 21, 20000, 2e10, 2.0, 4.3, err, sizeof err), 0);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM evals"), 1);
    cr_assert_eq(raw_int(p, "SELECT step * 10 + CAST(val_loss AS INTEGER) FROM evals"), 212);
    /* NaN loss (diverged) is stored as NULL. */
    cr_assert_eq(store_add_eval(s, "c1", 22, 22000, 2.2e10, NAN, NAN, err, sizeof err), 0);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM evals WHERE val_loss IS NULL"), 1);
    /* Unknown runs are refused at once, not at the next flush. */
    cr_assert_eq(store_add_step(s, "zz", 0, 0, 0, 1, 1, 1, 0, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert(strstr(err, "'zz'"), "%s", err);
    cr_assert_eq(store_add_eval(s, "zz", 0, 0, 0, 1, 1, err, sizeof err), UTIL_ENOTFOUND);
    /* The time trigger: after flush_secs a single row goes out. */
    store_set_flush(s, 1000, 0.05);
    cr_assert_eq(store_flush(s, err, sizeof err), 0);
    cr_assert_eq(store_add_step(s, "c1", 100, 0, 0, 1, 1, 1, 0, err, sizeof err), 0);
    usleep(80000);
    cr_assert_eq(store_add_step(s, "c1", 101, 0, 0, 1, 1, 1, 0, err, sizeof err), 0);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM steps WHERE step >= 100"), 2);
    /* Close flushes what is left. */
    cr_assert_eq(store_add_step(s, "c1", 102, 0, 0, 1, 1, 1, 0, err, sizeof err), 0);
    store_close(s);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM steps WHERE step >= 100"), 3);
    /* A read-only store refuses writes. */
    s = open_or_die(p, STORE_READONLY);
    cr_assert_lt(store_add_eval(s, "c1", 1, 1, 1, 1, 1, err, sizeof err), 0);
    cr_assert(strstr(err, "read-only"), "%s", err);
    store_close(s);
    store_run_free_fields(&r);
    rmtree(d);
    free(p), free(d);
}

/* ======================================================================== */
/* Query and export                                                         */
/* ======================================================================== */

/* Fills a database with sweep "sw" (runs a0, a1) and a run "b0" without a sweep. */
static void fill(const char *p) {
    char err[UTIL_ERRLEN];
    store *s = open_or_die(p, STORE_CREATE);
    cr_assert_eq(store_put_sweep(s, "sw", "isoflop", "[a]\nx = 1, \"y\"\n", NULL, err, sizeof err),
                 0);
    const char *ids[] = {"a0", "a1", "b0"};
    for (int k = 0; k < 3; k++) {
        store_run r;
        make_run(&r, ids[k], k < 2 ? "sw" : NULL, k);
        if (k == 1) snprintf(r.label, sizeof r.label, "odd, \"quoted\" label");
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(store_add_step(s, ids[k], i, 100 * i, 0.1 * i, 4 - 0.25 * i, 1e-3, 1, i,
                                        err, sizeof err),
                         0);
        cr_assert_eq(store_add_eval(s, ids[k], 3, 300, 0.3, 3.25 + k, 4.5, err, sizeof err), 0);
        r.final_val_loss = 3.25 + k;
        snprintf(r.status, sizeof r.status, "done");
        cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
        store_run_free_fields(&r);
    }
    store_close(s);
}

/* The typed reads behind fit/, predict and the report return what was written. */
Test(store, analysis_reads) {
    char *dir = tmpdir(), *p = pathin(dir, "a.db"), err[UTIL_ERRLEN];
    fill(p);
    store *s = open_or_die(p, STORE_READONLY);
    store_fit_run *runs = NULL;
    int n = 0;
    cr_assert_eq(store_fit_runs(s, "sw", &runs, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(runs[1].id, "a1");
    cr_assert_eq(runs[1].params_total, 101000);
    cr_assert_eq(runs[1].flops_per_token_chinchilla, 6.5 * 101000);
    cr_assert_eq(runs[1].compute_budget, 1e12);
    cr_assert_eq(runs[1].final_val_loss, 4.25);
    free(runs);
    cr_assert_eq(store_fit_runs(s, NULL, &runs, &n, err, sizeof err), 0);
    cr_assert_eq(n, 3);
    free(runs);
    cr_assert_eq(store_holdout_runs(s, "sw", &runs, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 0);
    free(runs);
    double *t = NULL, *l = NULL;
    cr_assert_eq(store_eval_curve(s, "b0", &t, &l, &n, err, sizeof err), 0);
    cr_assert(n == 1 && t[0] == 300 && l[0] == 5.25);
    free(t);
    free(l);
    cr_assert_eq(store_sweep_known(s, "sw", err, sizeof err), 1);
    cr_assert_eq(store_sweep_known(s, "nope", err, sizeof err), 0);
    store_sweep_row *sw = NULL;
    cr_assert_eq(store_read_sweeps(s, NULL, &sw, &n, err, sizeof err), 0);
    cr_assert(n == 1 && !strcmp(sw[0].name, "sw") && !strcmp(sw[0].mode, "isoflop"));
    store_sweep_rows_free(sw, n);
    store_close(s);
    s = open_or_die(p, 0);
    int64_t id[3];
    cr_assert_eq(store_add_fit(s, "sw", "approach3", "{\"v\":1}", "{}", &id[0], err, sizeof err),
                 0);
    cr_assert_eq(store_add_fit(s, "sw", "approach3", "{\"v\":2}", "{}", &id[1], err, sizeof err),
                 0);
    cr_assert_eq(store_add_fit(s, NULL, "approach1", "{\"v\":3}", "{}", &id[2], err, sizeof err),
                 0);
    store_fit_row *f = NULL;
    cr_assert_eq(store_list_fits(s, "sw", &f, &n, err, sizeof err), 0);
    cr_assert_eq(n, 2);
    store_fit_rows_free(f, n);
    cr_assert_eq(store_latest_fit(s, "sw", "approach3", &f, &n, err, sizeof err), 0);
    cr_assert(n == 1 && f[0].id == id[1] && !strcmp(f[0].params_json, "{\"v\":2}"));
    store_fit_rows_free(f, n);
    cr_assert_eq(store_latest_fit(s, "sw", "approach1", &f, &n, err, sizeof err), 0);
    cr_assert_eq(n, 0);
    store_fit_rows_free(f, n);
    cr_assert_eq(store_get_fit(s, id[2], &f, &n, err, sizeof err), 0);
    cr_assert(n == 1 && !strcmp(f[0].law, "approach1") && !strcmp(f[0].sweep, ""));
    store_fit_rows_free(f, n);
    store_close(s);
    rmtree(dir);
    free(p);
    free(dir);
}

static char *query_to_string(store *s, const char *sql, int fmt, int *rc, char *err) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    *rc = store_query(s, sql, fmt, f, err, UTIL_ERRLEN);
    fclose(f);
    return buf;
}

Test(store, query_readonly_formats) {
    char *d = tmpdir(), *p = pathin(d, "q.db");
    char err[UTIL_ERRLEN];
    int rc;
    fill(p);
    snapshot before = snap(p);
    store *s = open_or_die(p, STORE_READONLY);
    const char *bad[] = {
        "DELETE FROM runs",
        "UPDATE runs SET status='failed'",
        "INSERT INTO fits(law, created) VALUES('x', 'y')",
        "DROP TABLE steps",
        "CREATE TABLE t(x)",
        "PRAGMA user_version=5",
        "PRAGMA journal_mode=DELETE",
        "BEGIN",
        "ATTACH 'other.db' AS o",
        "VACUUM",
        "REPLACE INTO sweeps(name, created) VALUES('z', 'now')",
        "SELECT 1; DELETE FROM runs",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out = query_to_string(s, bad[i], STORE_FMT_TABLE, &rc, err);
        cr_assert_lt(rc, 0, "accepted: %s", bad[i]);
        cr_assert(strstr(err, "refusing") || strstr(err, "one SQL statement"), "%s: %s", bad[i],
                  err);
        cr_assert_eq(out[0], 0, "nothing printed for %s", bad[i]);
        free(out);
    }
    /* Errors in SQL name the statement. */
    char *out = query_to_string(s, "SELECT nosuchcol FROM runs", STORE_FMT_TABLE, &rc, err);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(err, "nosuchcol"), "%s", err);
    free(out);

    /* CSV: header, quoting, NULL as empty, exact reals. */
    out = query_to_string(s,
                          "SELECT id, label, final_val_loss, n_layer, NULL AS empty, lr "
                          "FROM runs ORDER BY id",
                          STORE_FMT_CSV, &rc, err);
    cr_assert_eq(rc, 0, "%s", err);
    const char *hdr = "id,label,final_val_loss,n_layer,empty,lr\n";
    cr_assert(strncmp(out, hdr, strlen(hdr)) == 0, "%s", out);
    cr_assert(strstr(out, "a1,\"odd, \"\"quoted\"\" label\",4.25,3,,0.002\n"), "%s", out);
    cr_assert_eq(count_lines(out), 4);
    free(out);

    /* A whole REAL stays recognisably REAL; an INTEGER stays an integer. */
    out = query_to_string(s, "SELECT 2.0 AS x, 2 AS y, 1e300 AS z", STORE_FMT_CSV, &rc, err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "x,y,z\n2.0,2,1e+300\n");
    free(out);

    /* JSON parses and carries the same values. */
    out = query_to_string(s,
                          "SELECT id, final_val_loss, label, params_total, sweep FROM runs "
                          "ORDER BY id",
                          STORE_FMT_JSON, &rc, err);
    cr_assert_eq(rc, 0, "%s", err);
    cJSON *j = cJSON_Parse(out);
    cr_assert_not_null(j, "invalid JSON: %s", out);
    cr_assert_eq(cJSON_GetArraySize(j), 3);
    cJSON *a1 = cJSON_GetArrayItem(j, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(a1, "label")->valuestring, "odd, \"quoted\" label");
    cr_assert_float_eq(cJSON_GetObjectItem(a1, "final_val_loss")->valuedouble, 4.25, 0);
    cr_assert_float_eq(cJSON_GetObjectItem(a1, "params_total")->valuedouble, 101000, 0);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "sweep")));
    cJSON_Delete(j);
    free(out);
    out = query_to_string(s, "SELECT * FROM runs WHERE 0", STORE_FMT_JSON, &rc, err);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(out, "[]\n");
    free(out);

    /* Table: aligned, header underlined, numbers right-aligned. */
    out = query_to_string(s, "SELECT id, final_val_loss FROM runs ORDER BY id", STORE_FMT_TABLE,
                          &rc, err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "id  final_val_loss\n"
                          "--  --------------\n"
                          "a0            3.25\n"
                          "a1            4.25\n"
                          "b0            5.25\n");
    free(out);

    /* Export: steps and evals of one sweep only. */
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert_eq(store_export(s, "steps", "sw", STORE_FMT_CSV, f, err, sizeof err), 0, "%s", err);
    fclose(f);
    cr_assert_eq(count_lines(buf), 1 + 2 * 4, "%s", buf);
    cr_assert_null(strstr(buf, "b0"));
    free(buf);
    f = open_memstream(&buf, &n);
    cr_assert_eq(store_export(s, "runs", NULL, STORE_FMT_JSON, f, err, sizeof err), 0);
    fclose(f);
    j = cJSON_Parse(buf);
    cr_assert_eq(cJSON_GetArraySize(j), 3);
    /* Runs without a sweep (NULL) sort first: b0, then a0, a1. */
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "config_json")->valuestring,
                     "{\"k\": 0}");
    cJSON_Delete(j);
    free(buf);
    f = open_memstream(&buf, &n);
    cr_assert_eq(store_export(s, "secrets", NULL, STORE_FMT_CSV, f, err, sizeof err), UTIL_EINVAL);
    fclose(f);
    free(buf);
    store_close(s);
    assert_untouched(p, &before);
    rmtree(d);
    free(p), free(d);
}

/* ======================================================================== */
/* Merge                                                                    */
/* ======================================================================== */

static void put(store *s, const char *id, const char *sweep, int k, const char *status,
                double final) {
    char err[UTIL_ERRLEN];
    store_run r;
    make_run(&r, id, sweep, k);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    if (strcmp(status, "planned") != 0) {
        for (int i = 0; i < 3; i++)
            cr_assert_eq(
                store_add_step(s, id, i, 10 * i, i, 3 - i * 0.5, 1e-3, 1, i, err, sizeof err), 0);
        cr_assert_eq(store_add_eval(s, id, 2, 20, 2, final, 1, err, sizeof err), 0);
        snprintf(r.status, sizeof r.status, "%s", status);
        r.final_val_loss = final;
        if (strcmp(status, "running") != 0)
            cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0);
        else
            cr_assert_eq(store_set_status(s, id, "running", err, sizeof err), 0);
    }
    store_run_free_fields(&r);
}

static char *read_all(FILE *f) {
    fflush(f);
    rewind(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return buf;
}

Test(store, merge_shards_idempotent_conflicts) {
    char *d = tmpdir(), *pa = pathin(d, "a.db"), *pb = pathin(d, "b.db"), *po = pathin(d, "o.db");
    char err[UTIL_ERRLEN];
    /* Shard A: x1 done, x2 planned, y1 done; shard B: x2 done, x3 done, y1 done differently,
     * z1 with another config; sweep "other" with a different file. */
    store *a = open_or_die(pa, STORE_CREATE), *b = open_or_die(pb, STORE_CREATE);
    cr_assert_eq(store_put_sweep(a, "sw", "isoflop", "same", NULL, err, sizeof err), 0);
    cr_assert_eq(store_put_sweep(b, "sw", "isoflop", "same", NULL, err, sizeof err), 0);
    cr_assert_eq(store_put_sweep(a, "other", "grid", "file A", NULL, err, sizeof err), 0);
    cr_assert_eq(store_put_sweep(b, "other", "grid", "file B", NULL, err, sizeof err), 0);
    put(a, "x1", "sw", 1, "done", 3.0);
    put(a, "x2", "sw", 2, "planned", NAN);
    put(a, "y1", "sw", 4, "done", 2.0);
    put(a, "z1", "other", 5, "done", 2.5);
    put(b, "x2", "sw", 2, "done", 2.75);
    put(b, "x3", "sw", 3, "done", 2.5);
    put(b, "y1", "sw", 4, "done", 2.125);
    put(b, "z1", "other", 6, "done", 2.5);
    int64_t fid;
    cr_assert_eq(store_add_fit(a, "sw", "approach3", "{\"a\": 1}", "{}", &fid, err, sizeof err), 0);
    cr_assert_eq(store_add_fit(b, "sw", "approach2", "{\"b\": 1}", "{}", &fid, err, sizeof err), 0);
    store_close(a);
    store_close(b);
    snapshot sa = snap(pa), sb = snap(pb);

    store *o = open_or_die(po, STORE_CREATE);
    FILE *rep = tmpfile();
    store_merge_stats ms;
    cr_assert_eq(store_merge_ex(o, pa, &ms, rep, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ms.runs_added, 4);
    cr_assert_eq(ms.sweeps_added, 2);
    cr_assert_eq(ms.steps_added, 9);
    cr_assert_eq(ms.evals_added, 3);
    cr_assert_eq(ms.fits_added, 1);
    cr_assert_eq(ms.conflicts, 0);
    cr_assert_eq(ms.runs_updated, 0);

    cr_assert_eq(store_merge_ex(o, pb, &ms, rep, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ms.runs_added, 1, "x3");
    cr_assert_eq(ms.runs_updated, 1, "x2 planned -> done is an update");
    cr_assert_eq(ms.conflicts, 3, "y1 results, z1 config, sweep 'other' file");
    cr_assert_eq(ms.fits_added, 1);
    char *text = read_all(rep);
    cr_assert_eq(count_lines(text), 3, "%s", text);
    cr_assert(strstr(text, "run y1: final results differ"), "%s", text);
    cr_assert(strstr(text, "run z1: its configuration"), "%s", text);
    cr_assert(strstr(text, "sweep 'other'"), "%s", text);

    /* Idempotent: the same inputs again add nothing and change nothing. */
    store_close(o);
    int64_t steps = raw_int(po, "SELECT count(*) FROM steps");
    int64_t evals = raw_int(po, "SELECT count(*) FROM evals");
    o = open_or_die(po, 0);
    for (int rep2 = 0; rep2 < 2; rep2++) {
        cr_assert_eq(store_merge_ex(o, rep2 ? pb : pa, &ms, NULL, err, sizeof err), 0);
        cr_assert_eq(ms.runs_added + ms.runs_updated + ms.sweeps_added + ms.fits_added, 0);
        cr_assert_eq(ms.steps_added + ms.evals_added, 0);
    }
    int added = -1, conflicts = -1;
    cr_assert_eq(store_merge(o, pa, &added, &conflicts, NULL, err, sizeof err), 0);
    cr_assert_eq(added, 0);
    cr_assert_eq(conflicts, 0);
    /* Merging a database into itself is refused. */
    cr_assert_lt(store_merge(o, po, &added, &conflicts, NULL, err, sizeof err), 0);
    cr_assert(strstr(err, "itself"), "%s", err);
    store_close(o);
    cr_assert_eq(raw_int(po, "SELECT count(*) FROM runs"), 5);
    cr_assert_eq(raw_int(po, "SELECT count(*) FROM steps"), steps);
    cr_assert_eq(raw_int(po, "SELECT count(*) FROM evals"), evals);
    cr_assert_eq(raw_int(po, "SELECT count(*) FROM fits"), 2);
    cr_assert_eq(raw_int(po, "SELECT final_val_loss = 2.75 AND status = 'done' FROM runs "
                             "WHERE id = 'x2'"),
                 1);
    cr_assert_eq(raw_int(po, "SELECT final_val_loss = 2.0 FROM runs WHERE id = 'y1'"), 1,
                 "conflict keeps ours");
    cr_assert_eq(raw_int(po, "SELECT config_json = '{\"k\": 5}' FROM runs WHERE id = 'z1'"), 1);
    cr_assert_eq(raw_int(po, "SELECT count(*) FROM evals WHERE run_id = 'x2'"), 1);
    cr_assert_eq(raw_int(po, "SELECT file_text = 'file A' FROM sweeps WHERE name='other'"), 1);
    /* The inputs are only read. */
    assert_untouched(pa, &sa);
    assert_untouched(pb, &sb);
    /* A bad input is refused whole. */
    char *t = pathin(d, "junk.db");
    write_text(t, "junk junk junk junk junk junk\n");
    o = open_or_die(po, 0);
    cr_assert_lt(store_merge_ex(o, t, &ms, NULL, err, sizeof err), 0);
    cr_assert(strstr(err, "junk.db") && strstr(err, "not a SQLite"), "%s", err);
    store_close(o);
    fclose(rep);
    rmtree(d);
    free(pa), free(pb), free(po), free(t), free(d);
}

/* ======================================================================== */
/* Reliability: SIGKILL and concurrent writers                              */
/* ======================================================================== */

/* Child: writes runs, steps and evals forever, reporting each eval on fd
 * after store_add_eval returned. */
static void killed_writer(const char *path, int iter, int fd) {
    char err[UTIL_ERRLEN];
    store *s = NULL;
    if (store_open(&s, path, STORE_CREATE, err, sizeof err)) _exit(3);
    store_set_flush(s, 7, 0.01);
    for (int run = 0;; run++) {
        store_run r;
        char id[17];
        snprintf(id, sizeof id, "k%d_%d", iter, run);
        make_run(&r, id, NULL, run);
        if (store_put_run(s, &r, err, sizeof err)) _exit(4);
        store_run_free_fields(&r);
        for (int step = 0; step < 200; step++) {
            if (store_add_step(s, id, step, step * 64, step * 1e6, 5.0 / (step + 1), 1e-3, 1.0,
                               0.001 * step, err, sizeof err))
                _exit(5);
            if (step % 5 == 4) {
                if (store_add_eval(s, id, step, step * 64, step * 1e6, 4.0 / (step + 1), 1.0, err,
                                   sizeof err))
                    _exit(6);
                char line[64];
                int n = snprintf(line, sizeof line, "%s %d\n", id, step * 64);
                if (write(fd, line, (size_t)n) != n) _exit(7);
            }
        }
    }
}

Test(store, sigkill_never_corrupts_or_loses_reported_evals, .timeout = 240) {
    char *d = tmpdir(), *p = pathin(d, "k.db");
    srand((unsigned)time(NULL));
    int total_reported = 0;
    for (int iter = 0; iter < 12; iter++) {
        int pfd[2];
        cr_assert_eq(pipe(pfd), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            close(pfd[0]);
            killed_writer(p, iter, pfd[1]);
            _exit(0);
        }
        close(pfd[1]);
        /* A random moment; the first few land while the file is being created. */
        usleep(iter < 3 ? (useconds_t)(rand() % 4000) : 20000 + (useconds_t)(rand() % 250000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "writer ended early: %d", st);
        /* Everything the child reported before dying. */
        FILE *in = fdopen(pfd[0], "r");
        char id[32];
        long long tokens;
        int first = fscanf(in, "%31s %lld", id, &tokens);
        if (access(p, F_OK) != 0) { /* killed before the file existed: nothing reported */
            cr_assert_eq(first, EOF);
            fclose(in);
            continue;
        }
        if (first == 2) {
            sqlite3 *db;
            sqlite3_stmt *q;
            cr_assert_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
            cr_assert_eq(sqlite3_prepare_v2(db,
                                            "SELECT count(*) FROM evals WHERE run_id=?1 AND "
                                            "tokens=?2",
                                            -1, &q, NULL),
                         SQLITE_OK, "%s", sqlite3_errmsg(db));
            do {
                sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(q, 2, tokens);
                cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
                cr_assert_eq(sqlite3_column_int(q, 0), 1, "reported eval %s@%lld lost", id, tokens);
                sqlite3_reset(q);
                total_reported++;
            } while (fscanf(in, "%31s %lld", id, &tokens) == 2);
            sqlite3_finalize(q);
            sqlite3_close(db);
        }
        fclose(in);
        char *ic = integrity(p);
        cr_assert_str_eq(ic, "ok", "iteration %d: %s", iter, ic);
        free(ic);
    }
    cr_assert_gt(total_reported, 0, "the writers never got to report an eval");
    cr_log_info("%d evals reported by killed writers, all present", total_reported);
    /* The database stays usable for a normal writer afterwards. */
    store_close(open_or_die(p, STORE_CREATE));
    rmtree(d);
    free(p), free(d);
}

Test(store, concurrent_writers_every_row_once, .timeout = 240) {
    char *d = tmpdir(), *p = pathin(d, "w.db");
    enum { NPROC = 4, NSTEP = 300 };
    /* No file yet: the writers also race to create it and its schema. */
    pid_t pids[NPROC];
    for (int c = 0; c < NPROC; c++) {
        pids[c] = fork();
        cr_assert_geq(pids[c], 0);
        if (pids[c] == 0) {
            char err[UTIL_ERRLEN], id[17];
            store *s = NULL;
            if (store_open(&s, p, STORE_CREATE, err, sizeof err)) {
                fprintf(stderr, "child %d: %s\n", c, err);
                _exit(3);
            }
            store_set_flush(s, 16, 0.5);
            snprintf(id, sizeof id, "w%d", c);
            store_run r;
            make_run(&r, id, NULL, c);
            if (store_put_run(s, &r, err, sizeof err)) goto bad;
            store_run_free_fields(&r);
            for (int i = 0; i < NSTEP; i++) {
                if (store_add_step(s, id, i, i, i, 1.0, 1.0, 1.0, 0, err, sizeof err)) goto bad;
                if (i % 25 == 24 && store_add_eval(s, id, i, i, i, 1.0, 1.0, err, sizeof err))
                    goto bad;
            }
            r.final_val_loss = 1.0;
            snprintf(r.status, sizeof r.status, "done");
            if (store_finish_run(s, &r, err, sizeof err)) goto bad;
            store_close(s);
            _exit(0);
        bad:
            fprintf(stderr, "child %d: %s\n", c, err);
            _exit(4);
        }
    }
    for (int c = 0; c < NPROC; c++) {
        int st;
        waitpid(pids[c], &st, 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed (%d)", c, st);
    }
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM steps"), NPROC * NSTEP);
    cr_assert_eq(raw_int(p, "SELECT count(DISTINCT run_id || ':' || step) FROM steps"),
                 NPROC * NSTEP);
    cr_assert_eq(raw_int(p, "SELECT min(n) FROM (SELECT count(*) n FROM steps GROUP BY run_id)"),
                 NSTEP);
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM evals"), NPROC * (NSTEP / 25));
    cr_assert_eq(raw_int(p, "SELECT count(*) FROM runs WHERE status='done'"), NPROC);
    char *ic = integrity(p);
    cr_assert_str_eq(ic, "ok");
    free(ic);
    rmtree(d);
    free(p), free(d);
}

/* ======================================================================== */
/* The CLI                                                                  */
/* ======================================================================== */

Test(store_cli, runs_curve_query_export) {
    char *d = tmpdir(), *p = pathin(d, "cli.db");
    char out[65536], args[2048];
    fill(p);
    snapshot before = snap(p);

    snprintf(args, sizeof args, "runs --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "final_val_loss") && strstr(out, "a0") && strstr(out, "b0"), "%s", out);
    cr_assert_eq(count_lines(out), 2 + 3, "%s", out);
    snprintf(args, sizeof args, "runs --sweep sw --status done --db %s --csv", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_eq(count_lines(out), 1 + 2, "%s", out);
    cr_assert_null(strstr(out, "b0"));
    snprintf(args, sizeof args, "runs --status sleeping --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "'sleeping'"), "%s", out);

    snprintf(args, sizeof args, "curve a1 --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "evals:") && strstr(out, "steps:") && strstr(out, "4.25"), "%s", out);
    snprintf(args, sizeof args, "curve nosuchrun --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "unknown run id 'nosuchrun'"), "%s", out);
    cr_assert_eq(count_lines(out), 1, "%s", out);

    snprintf(args, sizeof args,
             "query \"SELECT run_id, count(*) AS n FROM steps GROUP BY run_id\" --db %s --json", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cJSON *j = cJSON_Parse(out);
    cr_assert_not_null(j, "%s", out);
    cr_assert_eq(cJSON_GetArraySize(j), 3);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "n")->valueint, 4);
    cJSON_Delete(j);
    snprintf(args, sizeof args, "query \"DELETE FROM runs\" --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "DELETE FROM runs") && strstr(out, "read-only"), "%s", out);
    cr_assert_eq(count_lines(out), 1, "%s", out);

    char *csv = pathin(d, "evals.csv");
    snprintf(args, sizeof args, "export --format csv --table evals --sweep sw --db %s --out %s", p,
             csv);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    char *text;
    size_t n;
    char err[UTIL_ERRLEN];
    cr_assert_eq(util_read_file(csv, &text, &n, err, sizeof err), 0, "%s", err);
    const char *hdr = "run_id,step,tokens,flops,val_loss,val_bpb\n";
    cr_assert(strncmp(text, hdr, strlen(hdr)) == 0, "%s", text);
    cr_assert_eq(count_lines(text), 3, "%s", text);
    free(text);
    snprintf(args, sizeof args, "export --format xml --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 2, "%s", out);
    snprintf(args, sizeof args, "export --format json --table fits --db %s", p);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "[]\n");
    assert_untouched(p, &before);
    free(csv);
    rmtree(d);
    free(p), free(d);
}

Test(store_cli, bad_inputs_one_line_exit_1_untouched) {
    char *d = tmpdir();
    char out[16384], args[2048];
    char *txt = pathin(d, "notes.txt"), *other = pathin(d, "other.db"),
         *fut = pathin(d, "future.db"), *missing = pathin(d, "missing.db");
    write_text(txt, "hello, this is a text file and not a database at all\n");
    raw_exec(other, "CREATE TABLE invoices(id INTEGER PRIMARY KEY)");
    fill(fut);
    raw_exec(fut, "PRAGMA user_version=42");
    const char *paths[] = {txt, other, fut};
    const char *cmds[] = {"runs --db %s", "curve a0 --db %s", "query \"SELECT 1\" --db %s",
                          "export --db %s", "merge %s"};
    for (int i = 0; i < 3; i++) {
        snapshot before = snap(paths[i]);
        for (int c = 0; c < 5; c++) {
            char fmtd[1024];
            if (c == 4)
                snprintf(fmtd, sizeof fmtd, "merge %s/out.db %s", d, paths[i]);
            else
                snprintf(fmtd, sizeof fmtd, cmds[c], paths[i]);
            snprintf(args, sizeof args, "%s", fmtd);
            cr_assert_eq(run_cli(args, out, sizeof out), 1, "%s: %s", args, out);
            cr_assert(strstr(out, paths[i]), "%s: message must name the path: %s", args, out);
            if (c != 4) cr_assert_eq(count_lines(out), 1, "%s: %s", args, out);
        }
        /* merge with the bad file as OUT is refused too */
        snprintf(args, sizeof args, "merge %s %s", paths[i], fut);
        cr_assert_eq(run_cli(args, out, sizeof out), 1, "%s: %s", args, out);
        assert_untouched(paths[i], &before);
    }
    snprintf(args, sizeof args, "runs --db %s", missing);
    cr_assert_eq(run_cli(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "no such results database"), "%s", out);
    cr_assert_neq(access(missing, F_OK), 0);
    free(txt), free(other), free(fut), free(missing);
    rmtree(d);
    free(d);
}

Test(store_cli, merge_command) {
    char *d = tmpdir(), *pa = pathin(d, "a.db"), *po = pathin(d, "o.db");
    char out[16384], args[2048];
    fill(pa);
    snprintf(args, sizeof args, "merge %s %s", po, pa);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "3 runs added, 0 updated, 0 conflicts; 1 sweeps, 12 steps, 3 evals"),
              "%s", out);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "0 runs added, 0 updated, 0 conflicts; 0 sweeps, 0 steps, 0 evals"), "%s",
              out);
    cr_assert_eq(raw_int(po, "SELECT count(*) FROM runs"), 3);
    snprintf(args, sizeof args, "merge %s", po);
    cr_assert_eq(run_cli(args, out, sizeof out), 2, "%s", out);
    /* A shard whose a0 has another configuration: reported on stderr, ours
     * kept, exit 1 (a conflict that remains is a failure to merge it). */
    char *pb = pathin(d, "b.db");
    fill(pb);
    raw_exec(pb, "UPDATE runs SET config_json = '{\"k\": 99}' WHERE id = 'a0'");
    snprintf(args, sizeof args, "merge %s %s", po, pb);
    cr_assert_eq(run_cli(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "conflict: run a0") && strstr(out, "1 conflicts left"), "%s", out);
    cr_assert_eq(raw_int(po, "SELECT config_json = '{\"k\": 0}' FROM runs WHERE id = 'a0'"), 1);
    rmtree(d);
    free(pa), free(pb), free(po), free(d);
}

/* The final eval's per-window losses round-trip bit for bit, replace an
 * earlier copy, belong to a known run, and final_val_tokens lands with the
 * result. */
Test(store, final_eval_windows_roundtrip) {
    char *d = tmpdir(), *p = pathin(d, "f.db");
    char err[UTIL_ERRLEN];
    store *s = open_or_die(p, STORE_CREATE);
    cr_assert_eq(store_put_sweep(s, "sw", "isoflop", "", NULL, err, sizeof err), 0, "%s", err);
    store_run r;
    make_run(&r, "fe1", "sw", 1);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    float w[5] = {2.5f, 1.25f, -0.0f, 3.0e-7f, 7.75f};
    cr_assert_eq(store_put_final_eval(s, "nosuch", 64, w, 5, err, sizeof err), UTIL_ENOTFOUND);
    cr_assert_eq(store_put_final_eval(s, "fe1", 64, w, 3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_put_final_eval(s, "fe1", 64, w, 5, err, sizeof err), 0, "%s", err);
    float *got = NULL;
    int64_t n = 0;
    int ctx = 0;
    cr_assert_eq(store_get_final_eval(s, "fe1", &ctx, &got, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 5);
    cr_assert_eq(ctx, 64);
    cr_assert(memcmp(got, w, sizeof w) == 0);
    free(got);
    r.final_val_loss = 2.5;
    r.final_val_tokens = 320;
    snprintf(r.status, sizeof r.status, "done");
    cr_assert_eq(store_finish_run(s, &r, err, sizeof err), 0, "%s", err);
    store_run g;
    cr_assert_eq(store_get_run(s, "fe1", &g, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g.final_val_tokens, 320);
    store_run_free_fields(&g);
    store_close(s);
    cr_assert_eq(raw_int(p, "SELECT windows FROM final_eval WHERE run_id='fe1'"), 5);
    rmtree(d);
    free(p), free(d);
}

/* A branch's parent and fork point round-trip; an older file gains the columns
 * (NULL for its runs) when opened for writing. */
Test(store, branch_columns_and_their_migration) {
    char *d = tmpdir(), *p = pathin(d, "b.db");
    char err[UTIL_ERRLEN];
    store *s = open_or_die(p, STORE_CREATE);
    cr_assert_eq(store_put_sweep(s, "sw", "isoflop", "", NULL, err, sizeof err), 0, "%s", err);
    store_run r, g;
    make_run(&r, "trunk", "sw", 1);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    make_run(&r, "branch", "sw", 1);
    snprintf(r.parent_run, sizeof r.parent_run, "trunk");
    r.fork_tokens = 4096;
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_get_run(s, "branch", &g, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(g.parent_run, "trunk");
    cr_assert_eq(g.fork_tokens, 4096);
    store_run_free_fields(&g);
    cr_assert_eq(store_get_run(s, "trunk", &g, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(g.parent_run, "");
    cr_assert_eq(g.fork_tokens, -1);
    store_run_free_fields(&g);
    store_close(s);

    /* a version-3 file (its runs table without the columns) is upgraded in place */
    char *q = pathin(d, "old.db");
    s = open_or_die(q, STORE_CREATE);
    make_run(&r, "old", NULL, 1);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    store_close(s);
    /* v5's additions (issue 17) first, then v4's */
    raw_exec(q, "DROP TABLE sweep_runs");
    raw_exec(q, "ALTER TABLE runs DROP COLUMN excluded");
    raw_exec(q, "ALTER TABLE sweeps DROP COLUMN description");
    raw_exec(q, "ALTER TABLE runs DROP COLUMN fork_tokens");
    raw_exec(q, "ALTER TABLE runs DROP COLUMN parent_run");
    raw_exec(q, "PRAGMA user_version=3");
    s = open_or_die(q, STORE_CREATE);
    store_close(s);
    cr_assert_eq(raw_int(q, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM runs WHERE id='old' AND parent_run IS NULL AND "
                            "fork_tokens IS NULL"),
                 1);
    rmtree(d);
    free(p), free(q), free(d);
}

/* Issue 17: a version-4 file (runs.sweep only) is upgraded in place: every
 * run is in its sweep's plan; a run re-registered by a second sweep belongs
 * to both; a plan that drops a run keeps it in the database, out of the
 * sweep's listings; exclusion is stored and taken back. */
Test(store, sweep_membership_and_its_migration) {
    char *d = tmpdir(), *q = pathin(d, "v4.db");
    char err[UTIL_ERRLEN];
    store *s = open_or_die(q, STORE_CREATE);
    cr_assert_eq(store_put_sweep(s, "a", "grid", "", NULL, err, sizeof err), 0, "%s", err);
    store_run r;
    make_run(&r, "r1", "a", 1);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    make_run(&r, "r2", "a", 1);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    store_close(s);
    raw_exec(q, "DROP TABLE sweep_runs");
    raw_exec(q, "ALTER TABLE runs DROP COLUMN excluded");
    raw_exec(q, "ALTER TABLE sweeps DROP COLUMN description");
    raw_exec(q, "PRAGMA user_version=4");
    s = open_or_die(q, STORE_CREATE);
    cr_assert_eq(raw_int(q, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM sweep_runs WHERE sweep='a' AND in_plan=1"), 2);
    /* a second sweep registers r1: both hold it, runs.sweep keeps the first */
    cr_assert_eq(store_put_sweep(s, "b", "grid", "", NULL, err, sizeof err), 0, "%s", err);
    make_run(&r, "r1", "b", 1);
    cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM sweep_runs WHERE run_id='r1'"), 2);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM runs WHERE id='r1' AND sweep='a'"), 1);
    int64_t counts[STORE_NSTATUS];
    int64_t total = 0;
    cr_assert_eq(store_sweep_counts(s, "b", counts, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < STORE_NSTATUS; i++)
        total += counts[i];
    cr_assert_eq(total, 1);
    /* a's new plan holds r2 only: r1 leaves it, and stays in the database */
    const char *plan[] = {"r2"};
    int dropped = -1;
    cr_assert_eq(store_sweep_plan(s, "a", plan, 1, &dropped, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dropped, 1);
    cr_assert_eq(store_sweep_counts(s, "a", counts, err, sizeof err), 0, "%s", err);
    total = 0;
    for (int i = 0; i < STORE_NSTATUS; i++)
        total += counts[i];
    cr_assert_eq(total, 1);
    cr_assert_eq(raw_int(q, "SELECT count(*) FROM runs"), 2);
    /* exclusion, by a unique prefix, and back */
    char id[17], why[64];
    cr_assert_eq(store_resolve_run(s, "r", id, err, sizeof err), UTIL_EINVAL);
    cr_assert(strstr(err, "ambiguous") && strstr(err, "r1") && strstr(err, "r2"), "%s", err);
    cr_assert_eq(store_resolve_run(s, "r2", id, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_exclude_run(s, id, "spike", err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_run_excluded(s, "r2", why, sizeof why, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(why, "spike");
    cr_assert_eq(store_exclude_run(s, "r2", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_run_excluded(s, "r2", why, sizeof why, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(why, "");
    cr_assert_eq(store_exclude_run(s, "nosuch", "x", err, sizeof err), UTIL_ENOTFOUND);
    store_close(s);
    rmtree(d);
    free(q), free(d);
}

/* Held-out runs (issue 15): a sweep's held-out runs are in no read the fits
 * make, for that sweep or for all runs, and are what store_holdout_runs
 * reads; a new plan that holds out another run moves the mark. */
Test(store, holdout_runs_never_fitted) {
    char *d = tmpdir(), *q = pathin(d, "h.db");
    char err[UTIL_ERRLEN];
    store *s = open_or_die(q, STORE_CREATE);
    cr_assert_eq(store_put_sweep(s, "a", "isoflop", "", NULL, err, sizeof err), 0, "%s", err);
    store_run r;
    const char *ids[3] = {"r1", "r2", "r3"};
    for (int k = 0; k < 3; k++) {
        make_run(&r, ids[k], "a", k);
        snprintf(r.status, sizeof r.status, "done");
        r.final_val_loss = 3.0 + k;
        cr_assert_eq(store_put_run(s, &r, err, sizeof err), 0, "%s", err);
        free(r.config_json);
    }
    const char *held[1] = {"r2"};
    cr_assert_eq(store_sweep_holdout(s, "a", held, 1, err, sizeof err), 0, "%s", err);
    store_fit_run *runs = NULL;
    int n = 0;
    for (int all = 0; all < 2; all++) {
        cr_assert_eq(store_fit_runs(s, all ? NULL : "a", &runs, &n, err, sizeof err), 0, "%s", err);
        cr_assert_eq(n, 2);
        for (int i = 0; i < n; i++)
            cr_assert_str_neq(runs[i].id, "r2");
        free(runs);
        cr_assert_eq(store_holdout_runs(s, all ? NULL : "a", &runs, &n, err, sizeof err), 0, "%s",
                     err);
        cr_assert_eq(n, 1);
        cr_assert_str_eq(runs[0].id, "r2");
        cr_assert_eq(runs[0].final_val_loss, 4.0);
        free(runs);
    }
    /* the next plan holds out r3 instead: r2 is fitted again */
    held[0] = "r3";
    cr_assert_eq(store_sweep_holdout(s, "a", held, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_holdout_runs(s, "a", &runs, &n, err, sizeof err), 0, "%s", err);
    cr_assert(n == 1 && !strcmp(runs[0].id, "r3"));
    free(runs);
    cr_assert_eq(store_sweep_holdout(s, "a", NULL, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_fit_runs(s, "a", &runs, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 3);
    free(runs);
    store_close(s);
    rmtree(d);
    free(q), free(d);
}
