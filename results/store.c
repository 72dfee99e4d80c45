/*
 * store.c — the results database's connection: opening and recognising our
 * databases, the schema and its forward migrations, transactions that retry
 * on SQLITE_BUSY, and every write (sweeps, runs, buffered steps, evals, fits)
 * plus the reads of single runs. Printing of query results is in query.c,
 * merging of databases in merge.c.
 *
 * Concurrency: WAL mode, synchronous=NORMAL, a 10 s busy timeout and
 * BEGIN IMMEDIATE retried for up to a minute, so several training processes
 * can write to one file. A committed transaction is in the WAL file before
 * COMMIT returns, so killing the process (even SIGKILL) never loses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_priv.h"

/* ======================================================================== */
/* Schema and migrations                                                    */
/* ======================================================================== */

/* migrations[v] takes a database from user_version v to v+1. A later version
 * appends a step here (and bumps STORE_SCHEMA_VERSION); never edit a step
 * that has shipped. Column meanings and units: docs/results.md. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    /* v0 -> v1 */
    "CREATE TABLE sweeps(\n"
    "  name      TEXT PRIMARY KEY NOT NULL,\n"
    "  mode      TEXT NOT NULL DEFAULT '',\n"
    "  file_text TEXT NOT NULL DEFAULT '',\n"
    "  plan_json TEXT NOT NULL DEFAULT '{}',\n"
    "  created   TEXT NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE runs(\n"
    "  id TEXT PRIMARY KEY NOT NULL CHECK(length(id) BETWEEN 1 AND 16),\n"
    "  sweep TEXT REFERENCES sweeps(name),\n"
    "  label TEXT,\n"
    "  status TEXT NOT NULL DEFAULT 'planned'\n"
    "    CHECK(status IN ('planned','running','done','failed','diverged')),\n"
    "  data_dir TEXT, tokenizer TEXT,\n"
    "  n_vocab INTEGER, n_layer INTEGER, d_model INTEGER, n_head INTEGER, d_ff INTEGER,\n"
    "  n_ctx INTEGER,\n"
    "  params_total INTEGER, params_embedding INTEGER, params_nonembedding INTEGER,\n"
    "  flops_per_token_kaplan REAL, flops_per_token_chinchilla REAL,\n"
    "  tokens INTEGER, unique_tokens INTEGER, batch INTEGER, lr REAL, schedule TEXT,\n"
    "  warmup INTEGER, cycle_tokens INTEGER, seed INTEGER, threads INTEGER,\n"
    "  compute_budget REAL, flops REAL, epochs REAL,\n"
    "  final_train_loss REAL, final_val_loss REAL, final_val_bpb REAL, best_val_loss REAL,\n"
    "  tokens_done INTEGER, started TEXT, ended TEXT, host TEXT, git_rev TEXT,\n"
    "  blas_kernel TEXT,\n"
    "  config_json TEXT NOT NULL DEFAULT '{}'\n"
    ") STRICT;\n"
    "CREATE INDEX runs_sweep ON runs(sweep);\n"
    "CREATE INDEX runs_status ON runs(status);\n"
    "CREATE TABLE steps(\n"
    "  run_id TEXT NOT NULL REFERENCES runs(id),\n"
    "  step INTEGER NOT NULL,\n"
    "  tokens INTEGER, flops REAL, train_loss REAL, lr REAL, grad_norm REAL, elapsed REAL,\n"
    "  PRIMARY KEY(run_id, step)\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE evals(\n"
    "  run_id TEXT NOT NULL REFERENCES runs(id),\n"
    "  step INTEGER,\n"
    "  tokens INTEGER NOT NULL,\n"
    "  flops REAL, val_loss REAL, val_bpb REAL,\n"
    "  PRIMARY KEY(run_id, tokens)\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE fits(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  sweep TEXT,\n"
    "  law TEXT NOT NULL,\n"
    "  params_json TEXT NOT NULL DEFAULT '{}',\n"
    "  selection_json TEXT NOT NULL DEFAULT '{}',\n"
    "  created TEXT NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX fits_sweep ON fits(sweep);\n",
    /* v1 -> v2: who is using the database right now (lock.c). Local to one
     * file: merge and export leave it alone. */
    "CREATE TABLE locks(\n"
    "  name TEXT PRIMARY KEY NOT NULL,\n"
    "  host TEXT NOT NULL,\n"
    "  pid INTEGER NOT NULL,\n"
    "  pid_start INTEGER NOT NULL DEFAULT 0,\n"
    "  what TEXT NOT NULL DEFAULT '',\n"
    "  since TEXT NOT NULL,\n"
    "  heartbeat REAL NOT NULL,\n"
    "  stale_secs REAL NOT NULL\n"
    ") STRICT;\n",
    /* v2 -> v3: the final loss on the whole validation split, and its
     * per-window losses for paired resampling of the eval set. */
    "ALTER TABLE runs ADD COLUMN final_val_tokens INTEGER;\n"
    "CREATE TABLE final_eval(\n"
    "  run_id  TEXT PRIMARY KEY NOT NULL REFERENCES runs(id),\n"
    "  n_ctx   INTEGER NOT NULL,\n"
    "  windows INTEGER NOT NULL,\n"
    "  losses  BLOB NOT NULL\n"
    ") STRICT;\n",
    /* v3 -> v4: branches (a run started from another run's checkpoint) */
    "ALTER TABLE runs ADD COLUMN parent_run TEXT;\n"
    "ALTER TABLE runs ADD COLUMN fork_tokens INTEGER;\n",
    /* v4 -> v5 (issue 17): a run belongs to every sweep whose plan holds it
     * (sweep_runs; in_plan 0 = a sweep's earlier plan had it, its fits leave
     * it out); runs.excluded holds why a run is kept out of fits (NULL: it is
     * not); sweeps.description is the sweep file's description. runs.sweep
     * stays: the sweep that registered the run first. */
    "CREATE TABLE sweep_runs(\n"
    "  sweep   TEXT NOT NULL REFERENCES sweeps(name),\n"
    "  run_id  TEXT NOT NULL REFERENCES runs(id),\n"
    "  in_plan INTEGER NOT NULL DEFAULT 1 CHECK(in_plan IN (0, 1)),\n"
    "  PRIMARY KEY(sweep, run_id)\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE INDEX sweep_runs_run ON sweep_runs(run_id);\n"
    "INSERT INTO sweep_runs(sweep, run_id) SELECT sweep, id FROM runs WHERE sweep IS NOT NULL;\n"
    "ALTER TABLE runs ADD COLUMN excluded TEXT;\n"
    "ALTER TABLE sweeps ADD COLUMN description TEXT NOT NULL DEFAULT '';\n",
    /* v5 -> v6 (issue 15): a sweep's held-out runs (a section with holdout
     * = true): trained, never fitted; fits predict them instead. */
    "ALTER TABLE sweep_runs ADD COLUMN holdout INTEGER NOT NULL DEFAULT 0 "
    "CHECK(holdout IN (0, 1));\n",
};

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs sql (BEGIN IMMEDIATE or COMMIT), retried on SQLITE_BUSY/LOCKED for
 * up to a minute. */
static int exec_retry(sqlite3 *db, const char *sql) {
    double t0 = util_now();
    for (;;) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        int prim = rc & 0xff;
        if (rc == SQLITE_OK || (prim != SQLITE_BUSY && prim != SQLITE_LOCKED)) return rc;
        if (util_now() - t0 > 60.0) return rc;
        usleep(1000 + (unsigned)(rand() % 20000)); /* jitter so writers do not march in step */
    }
}

static int begin_db(sqlite3 *db) {
    return exec_retry(db, "BEGIN IMMEDIATE");
}

static int commit_db(sqlite3 *db) {
    return exec_retry(db, "COMMIT");
}

int store_migrate(sqlite3 *db, const char *const *steps, int nsteps, char *err, size_t errlen) {
    int64_t v = 0, app = 0;
    int rc = begin_db(db);
    if (rc != SQLITE_OK)
        return util_err(err, errlen, UTIL_EDB, "cannot start the schema upgrade: %s",
                        sqlite3_errmsg(db));
    /* Read the version inside the write transaction: another process may
     * have migrated the file between our first look and now. */
    if (pragma_int(db, "PRAGMA user_version", &v) != SQLITE_OK ||
        pragma_int(db, "PRAGMA application_id", &app) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "cannot read the schema version: %s",
                      sqlite3_errmsg(db));
        goto fail;
    }
    if (v > nsteps) {
        rc = util_err(err, errlen, UTIL_EDB,
                      "schema version %lld is newer than this program's %d; use a newer scaling",
                      (long long)v, nsteps);
        goto fail;
    }
    if (v < 0 || (app != 0 && app != STORE_APPLICATION_ID)) {
        rc = util_err(err, errlen, UTIL_EDB, "not a scaling results database");
        goto fail;
    }
    for (int64_t i = v; i < nsteps; i++) {
        char *msg = NULL;
        if (sqlite3_exec(db, steps[i], NULL, NULL, &msg) != SQLITE_OK) {
            rc = util_err(err, errlen, UTIL_EDB, "schema upgrade v%lld -> v%lld failed: %s",
                          (long long)i, (long long)i + 1, msg ? msg : "?");
            sqlite3_free(msg);
            goto fail;
        }
    }
    char pragmas[96];
    snprintf(pragmas, sizeof pragmas, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
             STORE_APPLICATION_ID, nsteps);
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "cannot set the schema version: %s",
                      sqlite3_errmsg(db));
        goto fail;
    }
    if (commit_db(db) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "cannot commit the schema upgrade: %s",
                      sqlite3_errmsg(db));
        goto fail;
    }
    return 0;
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ======================================================================== */
/* Opening                                                                  */
/* ======================================================================== */

/* Looks at the file before SQLite does, so a non-database gets a clear
 * message and is never touched: sets *missing (no such file) or *empty (0
 * bytes, which SQLite treats as an empty database); returns 0, or an error
 * for a directory, an unreadable file or one without the SQLite magic. */
static int check_file(const char *path, int *missing, int *empty, char *err, size_t errlen) {
    struct stat stt;
    *missing = *empty = 0;
    if (stat(path, &stt) != 0) {
        if (errno == ENOENT) {
            *missing = 1;
            return 0;
        }
        return util_err(err, errlen, UTIL_EIO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(stt.st_mode))
        return util_err(err, errlen, UTIL_EINVAL, "%s: is a directory, not a results database",
                        path);
    if (stt.st_size == 0) {
        *empty = 1;
        return 0;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) return util_err(err, errlen, UTIL_EIO, "%s: %s", path, strerror(errno));
    char magic[16];
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    if (n != (ssize_t)sizeof magic || memcmp(magic, "SQLite format 3", 16) != 0)
        return util_err(err, errlen, UTIL_ECORRUPT,
                        "%s: not a SQLite database (expected a scaling results database)", path);
    return 0;
}

/* Whether path's directory lets us create files (the -wal and -shm). */
static int dir_writable(const char *path) {
    char *d = strdup(path);
    if (!d) return 0;
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash) {
        slash[slash == d] = 0; /* "/x.db" -> "/" */
        dir = d;
    }
    int ok = access(dir, W_OK) == 0;
    free(d);
    return ok;
}

/* Whether path-wal exists with content (committed rows not yet in the file). */
static int wal_has_rows(const char *path) {
    char w[4096];
    struct stat st;
    snprintf(w, sizeof w, "%s-wal", path);
    return stat(w, &st) == 0 && st.st_size > 0;
}

/* "file:<percent-encoded path>?immutable=1": a database nobody can be
 * writing, read without locks, -wal or -shm (read-only media). */
static char *immutable_uri(const char *path) {
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32);
    if (!u) return NULL;
    char *p = u + sprintf(u, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("/-_.~", *c))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    strcpy(p, "?immutable=1");
    return u;
}

int store_open(store **out, const char *path, int flags, char *err, size_t errlen) {
    int rc = 0, missing, empty;
    store *s = NULL;
    *out = NULL;
    if (!path || !*path) return util_err(err, errlen, UTIL_EINVAL, "empty database path");
    rc = check_file(path, &missing, &empty, err, errlen);
    if (rc) return rc;
    int ro = (flags & STORE_READONLY) != 0, create = (flags & STORE_CREATE) != 0;
    if (missing && (ro || !create))
        return util_err(err, errlen, UTIL_ENOTFOUND, "%s: no such results database", path);
    if (empty && ro)
        return util_err(err, errlen, UTIL_EDB,
                        "%s: empty file, not an initialised results database", path);
    /* Writing needs the file and its directory (for -wal and -shm): say so
     * before SQLite half-opens it and leaves those files behind. */
    if (!ro && !missing && access(path, W_OK) != 0)
        return util_err(err, errlen, UTIL_EDB,
                        "%s: read-only (%s): this command writes to the results database", path,
                        strerror(errno));
    if (!ro && !dir_writable(path))
        return util_err(err, errlen, UTIL_EDB,
                        "%s: its directory is read-only: writing needs room for %s-wal and -shm",
                        path, path);
    /* Reading a file nobody can write (read-only media, a read-only copy):
     * immutable, so no -shm is needed or left behind, unless a -wal holds
     * rows the file lacks. */
    int immutable =
        ro && !missing && (access(path, W_OK) != 0 || !dir_writable(path)) && !wal_has_rows(path);

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory opening %s", path);
        goto fail;
    }
    s->readonly = ro;
    s->flush_rows = 256;
    s->flush_secs = 2.0;
    s->last_flush = util_now();
    int oflags =
        ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    char *uri = immutable ? immutable_uri(path) : NULL;
    if (immutable && !uri) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory opening %s", path);
        goto fail;
    }
    int orc = sqlite3_open_v2(uri ? uri : path, &s->db, oflags | SQLITE_OPEN_URI, NULL);
    free(uri);
    if (orc != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 10000);
    sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);

    /* Recognise the file before changing anything in it. */
    /* One read transaction, so all three come from the same snapshot even
     * while another process is creating the schema. */
    int64_t app = 0, ver = 0, ntables = 0;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        pragma_int(s->db, "PRAGMA application_id", &app) != SQLITE_OK ||
        pragma_int(s->db, "PRAGMA user_version", &ver) != SQLITE_OK ||
        pragma_int(s->db, "SELECT count(*) FROM sqlite_schema", &ntables) != SQLITE_OK) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: cannot read: %s", path, sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (app != STORE_APPLICATION_ID && (app != 0 || ntables > 0)) {
        rc = util_err(err, errlen, UTIL_EDB,
                      "%s: the database of another program (application_id %#llx, %lld "
                      "schema objects), not a scaling results database",
                      path, (unsigned long long)app, (long long)ntables);
        goto fail;
    }
    if (ver > STORE_SCHEMA_VERSION) {
        rc = util_err(err, errlen, UTIL_EDB,
                      "%s: schema version %lld is newer than this program's %d; use a newer "
                      "scaling",
                      path, (long long)ver, STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (ver < STORE_SCHEMA_VERSION && ro) {
        rc = util_err(err, errlen, UTIL_EDB,
                      ver == 0 ? "%s: not an initialised results database (schema version %lld)"
                               : "%s: schema version %lld is older than %d; open it once with a "
                                 "writing command (e.g. scaling merge) to upgrade it",
                      path, (long long)ver, STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (!ro) {
        /* WAL lets readers and several writers share the file; NORMAL is
         * durable against process death (the OS holds the WAL pages). */
        sqlite3_stmt *st = NULL;
        int jr = SQLITE_ERROR;
        /* Several processes creating one file race here, and the switch to
         * WAL does not always wait on the busy handler: retry it. */
        for (double t0 = util_now();;) {
            if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
                break;
            jr = sqlite3_step(st);
            if ((jr & 0xff) != SQLITE_BUSY || util_now() - t0 > 60.0) break;
            sqlite3_finalize(st);
            st = NULL;
            usleep(1000 + (unsigned)(rand() % 20000));
        }
        if (jr == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            if (!mode || strcmp(mode, "wal") != 0) {
                sqlite3_finalize(st);
                rc = util_err(err, errlen, UTIL_EDB, "%s: cannot switch to WAL mode (got %s)", path,
                              mode ? mode : "nothing");
                goto fail;
            }
        } else {
            sqlite3_finalize(st);
            rc = util_err(err, errlen, UTIL_EDB, "%s: cannot switch to WAL mode: %s", path,
                          sqlite3_errmsg(s->db));
            goto fail;
        }
        sqlite3_finalize(st);
        sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        if (ver < STORE_SCHEMA_VERSION) {
            char e2[UTIL_ERRLEN];
            rc = store_migrate(s->db, migrations, STORE_SCHEMA_VERSION, e2, sizeof e2);
            if (rc) {
                rc = util_err(err, errlen, rc, "%s: %s", path, e2);
                goto fail;
            }
        }
    }
    *out = s;
    return 0;
fail:
    store_close(s);
    return rc;
}

sqlite3 *store__db(store *s) {
    return s ? s->db : NULL;
}
const char *store_path(store *s) {
    return s ? s->path : NULL;
}

void store_set_flush(store *s, int rows, double seconds) {
    s->flush_rows = rows < 1 ? 1 : rows;
    s->flush_secs = seconds;
}

void store_close(store *s) {
    if (!s) return;
    if (s->db && s->nbuf > 0) {
        char e[UTIL_ERRLEN];
        store_flush(s, e, sizeof e); /* best effort: close has no way to report */
    }
    if (s->db) store__unlock_all(s);
    sqlite3_finalize(s->ins_step);
    sqlite3_finalize(s->ins_eval);
    if (s->db) sqlite3_close_v2(s->db);
    free(s->buf);
    free(s->path);
    free(s);
}

/* ======================================================================== */
/* Transactions and small helpers                                           */
/* ======================================================================== */

int store__dberr(store *s, char *err, size_t errlen, const char *what) {
    return util_err(err, errlen, UTIL_EDB, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store__begin(store *s, char *err, size_t errlen) {
    if (s->readonly) return util_err(err, errlen, UTIL_EDB, "%s: opened read-only", s->path);
    if (begin_db(s->db) != SQLITE_OK) return store__dberr(s, err, errlen, "BEGIN");
    return 0;
}

int store__commit(store *s, char *err, size_t errlen) {
    if (commit_db(s->db) != SQLITE_OK) {
        int rc = store__dberr(s, err, errlen, "COMMIT");
        store__rollback(s);
        return rc;
    }
    return 0;
}

void store__rollback(store *s) {
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static const char *const status_names[STORE_NSTATUS] = {"planned", "running", "done", "failed",
                                                        "diverged"};

const char *store_status_name(int i) {
    return i >= 0 && i < STORE_NSTATUS ? status_names[i] : NULL;
}

int store_status_index(const char *s) {
    for (int i = 0; s && i < STORE_NSTATUS; i++)
        if (!strcmp(s, status_names[i])) return i;
    return -1;
}

static int check_id(const char *id, char *err, size_t errlen) {
    if (!id || !*id || strlen(id) > 16)
        return util_err(err, errlen, UTIL_EINVAL, "run id '%s': expected 1 to 16 characters",
                        id ? id : "");
    return 0;
}

/* Whether run `id` exists: 1 yes, 0 no, <0 error. */
static int run_exists(store *s, const char *id, char *err, size_t errlen) {
    if (!strcmp(s->known_run, id)) return 1;
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM runs WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "looking up a run");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        rc = 1;
        snprintf(s->known_run, sizeof s->known_run, "%s", id);
    } else if (r == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = store__dberr(s, err, errlen, "looking up a run");
    }
    sqlite3_finalize(st);
    return rc;
}

static int need_run(store *s, const char *id, char *err, size_t errlen) {
    int rc = check_id(id, err, errlen);
    if (rc) return rc;
    rc = run_exists(s, id, err, errlen);
    if (rc < 0) return rc;
    if (rc == 0)
        return util_err(err, errlen, UTIL_ENOTFOUND, "%s: unknown run id '%s'", s->path, id);
    return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_real(sqlite3_stmt *st, int i, double v) {
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i); /* NaN = unknown; inf is not data */
}

/* ======================================================================== */
/* Sweeps                                                                   */
/* ======================================================================== */

int store_put_sweep(store *s, const char *name, const char *mode, const char *file_text,
                    const char *plan_json, char *err, size_t errlen) {
    if (!name || !*name) return util_err(err, errlen, UTIL_EINVAL, "sweep name is empty");
    char now[32];
    util_utc_iso(now, sizeof now);
    int rc = store__begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO sweeps(name, mode, file_text, plan_json, created) "
                           "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO UPDATE SET "
                           "mode=excluded.mode, file_text=excluded.file_text, "
                           "plan_json=excluded.plan_json",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "storing a sweep");
        goto done;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, mode ? mode : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, file_text ? file_text : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, plan_json && *plan_json ? plan_json : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: storing sweep '%s': %s", s->path, name,
                      sqlite3_errmsg(s->db));
        goto done;
    }
    rc = store__commit(s, err, errlen);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

/* ======================================================================== */
/* Runs: one descriptor per column, shared by put, get and list             */
/* ======================================================================== */

enum { K_TEXT, K_INT, K_I64, K_U64, K_DBL, K_JSON };
/* What store_put_run does to the column of an existing run: */
enum {
    U_KEY,   /* the id */
    U_CONF,  /* configuration: a known new value replaces the old */
    U_KEEP,  /* status and results: untouched (store_set_status/store_finish_run own them) */
    U_FIRST, /* started: the first start time is kept across resumes */
};

#define F(name, kind, upd)                                                                         \
    { #name, kind, upd, offsetof(store_run, name), sizeof(((store_run *)0)->name) }
static const struct {
    const char *name;
    int kind, upd;
    size_t off, size;
} cols[] = {
    F(id, K_TEXT, U_KEY),
    F(sweep, K_TEXT, U_FIRST), /* the first sweep; sweep_runs holds them all */
    F(label, K_TEXT, U_CONF),
    F(status, K_TEXT, U_KEEP),
    F(data_dir, K_TEXT, U_CONF),
    F(tokenizer, K_TEXT, U_CONF),
    F(n_vocab, K_INT, U_CONF),
    F(n_layer, K_INT, U_CONF),
    F(d_model, K_INT, U_CONF),
    F(n_head, K_INT, U_CONF),
    F(d_ff, K_INT, U_CONF),
    F(n_ctx, K_INT, U_CONF),
    F(params_total, K_I64, U_CONF),
    F(params_embedding, K_I64, U_CONF),
    F(params_nonembedding, K_I64, U_CONF),
    F(flops_per_token_kaplan, K_DBL, U_CONF),
    F(flops_per_token_chinchilla, K_DBL, U_CONF),
    F(tokens, K_I64, U_CONF),
    F(unique_tokens, K_I64, U_CONF),
    F(batch, K_INT, U_CONF),
    F(lr, K_DBL, U_CONF),
    F(schedule, K_TEXT, U_CONF),
    F(warmup, K_INT, U_CONF),
    F(cycle_tokens, K_I64, U_CONF),
    F(seed, K_U64, U_CONF),
    F(threads, K_INT, U_CONF),
    F(compute_budget, K_DBL, U_CONF),
    F(flops, K_DBL, U_CONF),
    F(epochs, K_DBL, U_CONF),
    F(final_train_loss, K_DBL, U_KEEP),
    F(final_val_loss, K_DBL, U_KEEP),
    F(final_val_bpb, K_DBL, U_KEEP),
    F(best_val_loss, K_DBL, U_KEEP),
    F(final_val_tokens, K_I64, U_KEEP),
    F(tokens_done, K_I64, U_KEEP),
    F(started, K_TEXT, U_FIRST),
    F(ended, K_TEXT, U_KEEP),
    F(host, K_TEXT, U_CONF),
    F(git_rev, K_TEXT, U_CONF),
    F(blas_kernel, K_TEXT, U_CONF),
    F(config_json, K_JSON, U_CONF),
    F(parent_run, K_TEXT, U_CONF),
    F(fork_tokens, K_I64, U_CONF),
    F(excluded, K_TEXT, U_KEEP),
};
#undef F
#define NCOLS (int)(sizeof cols / sizeof cols[0])

void store_run_init(store_run *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < NCOLS; i++) {
        void *p = (char *)r + cols[i].off;
        switch (cols[i].kind) {
        case K_INT:
            *(int *)p = -1;
            break;
        case K_I64:
            *(int64_t *)p = -1;
            break;
        case K_DBL:
            *(double *)p = NAN;
            break;
        default:
            break; /* strings empty, seed 0, config_json NULL */
        }
    }
}

void store_run_free_fields(store_run *r) {
    if (!r) return;
    free(r->config_json);
    r->config_json = NULL;
}

/* Binds column i of r to parameter i+1. -1 integers and NaN become NULL. */
static void bind_col(sqlite3_stmt *st, int i, const store_run *r) {
    const void *p = (const char *)r + cols[i].off;
    switch (cols[i].kind) {
    case K_TEXT:
        bind_text_or_null(st, i + 1, (const char *)p);
        break;
    case K_INT:
    case K_I64: {
        int64_t v = cols[i].kind == K_INT ? *(const int *)p : *(const int64_t *)p;
        if (v == -1)
            sqlite3_bind_null(st, i + 1);
        else
            sqlite3_bind_int64(st, i + 1, v);
        break;
    }
    case K_U64:
        sqlite3_bind_int64(st, i + 1, (int64_t) * (const uint64_t *)p);
        break;
    case K_DBL:
        bind_real(st, i + 1, *(const double *)p);
        break;
    case K_JSON: {
        const char *j = *(char *const *)p;
        sqlite3_bind_text(st, i + 1, j && *j ? j : "{}", -1, SQLITE_TRANSIENT);
        break;
    }
    }
}

/* Reads result column c of st into field i of r (config_json malloc'd). */
static int read_col(sqlite3_stmt *st, int c, int i, store_run *r) {
    void *p = (char *)r + cols[i].off;
    int null = sqlite3_column_type(st, c) == SQLITE_NULL;
    switch (cols[i].kind) {
    case K_TEXT: {
        const char *t = (const char *)sqlite3_column_text(st, c);
        snprintf((char *)p, cols[i].size, "%s", t ? t : "");
        break;
    }
    case K_INT:
        *(int *)p = null ? -1 : sqlite3_column_int(st, c);
        break;
    case K_I64:
        *(int64_t *)p = null ? -1 : sqlite3_column_int64(st, c);
        break;
    case K_U64:
        *(uint64_t *)p = (uint64_t)sqlite3_column_int64(st, c);
        break;
    case K_DBL:
        *(double *)p = null ? NAN : sqlite3_column_double(st, c);
        break;
    case K_JSON: {
        const char *t = (const char *)sqlite3_column_text(st, c);
        char *dup = strdup(t ? t : "{}");
        if (!dup) return UTIL_ENOMEM;
        *(char **)p = dup;
        break;
    }
    }
    return 0;
}

/* "id, sweep, ..." — built from the constant column table, never from values. */
static void col_list(char *buf, size_t n, const char *prefix) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < NCOLS && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s%s", i ? ", " : "", prefix, cols[i].name);
}

int store_put_run(store *s, const store_run *r, char *err, size_t errlen) {
    int rc = check_id(r->id, err, errlen);
    if (rc) return rc;
    if (r->status[0] && store_status_index(r->status) < 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "run %s: status '%s': expected planned, running, done, failed or diverged",
                        r->id, r->status);
    char sql[8192];
    size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO runs(");
    col_list(sql + len, sizeof sql - len, "");
    len = strlen(sql);
    len += (size_t)snprintf(sql + len, sizeof sql - len, ") VALUES(");
    for (int i = 0; i < NCOLS; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s?%d", i ? ", " : "", i + 1);
    len += (size_t)snprintf(sql + len, sizeof sql - len, ") ON CONFLICT(id) DO UPDATE SET ");
    int first = 1;
    for (int i = 0; i < NCOLS; i++) {
        const char *n = cols[i].name;
        if (cols[i].upd == U_CONF)
            len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s=coalesce(excluded.%s, %s)",
                                    first ? "" : ", ", n, n, n);
        else if (cols[i].upd == U_FIRST)
            len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s=coalesce(%s, excluded.%s)",
                                    first ? "" : ", ", n, n, n);
        else
            continue;
        first = 0;
    }
    sqlite3_stmt *st = NULL;
    rc = store__begin(s, err, errlen);
    if (rc) return rc;
    if (r->sweep[0]) {
        sqlite3_stmt *q = NULL;
        int found = 0;
        if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sweeps WHERE name=?1", -1, &q, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(q, 1, r->sweep, -1, SQLITE_TRANSIENT);
            found = sqlite3_step(q) == SQLITE_ROW;
        }
        sqlite3_finalize(q);
        if (!found) {
            rc = util_err(err, errlen, UTIL_ENOTFOUND,
                          "%s: run %s: sweep '%s' is not in the database (store it first)", s->path,
                          r->id, r->sweep);
            goto done;
        }
    }
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "preparing the run insert");
        goto done;
    }
    for (int i = 0; i < NCOLS; i++)
        bind_col(st, i, r);
    if (!r->status[0]) sqlite3_bind_text(st, 4, "planned", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: storing run %s: %s", s->path, r->id,
                      sqlite3_errmsg(s->db));
        goto done;
    }
    /* the sweep registering it now holds it in its plan, whichever sweep
     * registered it first (runs.sweep) */
    if (r->sweep[0]) {
        sqlite3_finalize(st);
        st = NULL;
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO sweep_runs(sweep, run_id, in_plan) VALUES(?1, ?2, 1) "
                               "ON CONFLICT(sweep, run_id) DO UPDATE SET in_plan = 1",
                               -1, &st, NULL) != SQLITE_OK) {
            rc = store__dberr(s, err, errlen, "storing a sweep's run");
            goto done;
        }
        sqlite3_bind_text(st, 1, r->sweep, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, r->id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = util_err(err, errlen, UTIL_EDB, "%s: storing run %s of sweep %s: %s", s->path,
                          r->id, r->sweep, sqlite3_errmsg(s->db));
            goto done;
        }
    }
    rc = store__commit(s, err, errlen);
    if (!rc) snprintf(s->known_run, sizeof s->known_run, "%s", r->id);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

/* SELECT <all columns> FROM runs <where> — used by get and list. */
static int select_runs(store *s, const char *where, sqlite3_stmt **st, char *err, size_t errlen) {
    char sql[4096];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    col_list(sql + len, sizeof sql - len, "");
    len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, " FROM runs %s", where);
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading runs");
    return 0;
}

static int read_run(sqlite3_stmt *st, store_run *r) {
    store_run_init(r);
    for (int i = 0; i < NCOLS; i++)
        if (read_col(st, i, i, r)) {
            store_run_free_fields(r);
            return UTIL_ENOMEM;
        }
    return 0;
}

int store_get_run(store *s, const char *id, store_run *out, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_run_init(out);
    int rc = check_id(id, err, errlen);
    if (rc) return rc;
    rc = select_runs(s, "WHERE id=?1", &st, err, errlen);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        if (read_run(st, out)) rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    } else if (r == SQLITE_DONE) {
        rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: unknown run id '%s'", s->path, id);
    } else {
        rc = store__dberr(s, err, errlen, "reading a run");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_list_runs(store *s, const char *sweep, const char *status, store_run **out, int *n,
                    char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    store_run *v = NULL;
    int nv = 0, cap = 0, rc;
    *out = NULL;
    *n = 0;
    rc = select_runs(s,
                     "WHERE (?1 IS NULL OR " STORE_SQL_IN_SWEEP(
                         "?1") ") AND (?2 IS NULL OR status=?2) "
                               "ORDER BY sweep, compute_budget, params_nonembedding, id",
                     &st, err, errlen);
    if (rc) return rc;
    bind_text_or_null(st, 1, sweep);
    bind_text_or_null(st, 2, status);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (nv == cap) {
            int nc = cap ? 2 * cap : 16;
            store_run *nvv = realloc(v, (size_t)nc * sizeof *v);
            if (!nvv) goto oom;
            v = nvv;
            cap = nc;
        }
        if (read_run(st, &v[nv])) goto oom;
        nv++;
    }
    if (r != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "listing runs");
        goto fail;
    }
    sqlite3_finalize(st);
    *out = v;
    *n = nv;
    return 0;
oom:
    rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory listing runs");
fail:
    sqlite3_finalize(st);
    store_runs_free(v, nv);
    return rc;
}

void store_runs_free(store_run *runs, int n) {
    for (int i = 0; runs && i < n; i++)
        store_run_free_fields(&runs[i]);
    free(runs);
}

int store_set_status(store *s, const char *id, const char *status, char *err, size_t errlen) {
    int rc = check_id(id, err, errlen);
    if (rc) return rc;
    if (store_status_index(status) < 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "status '%s': expected planned, running, done, failed or diverged",
                        status ? status : "");
    char now[32];
    util_utc_iso(now, sizeof now);
    rc = store__begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    /* A run that starts running gets its start time once (kept on resume). */
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE runs SET status=?2, started=CASE WHEN ?2='running' THEN "
                           "coalesce(started, ?3) ELSE started END WHERE id=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "setting a status");
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "setting a status");
        goto done;
    }
    if (sqlite3_changes(s->db) == 0) {
        rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: unknown run id '%s'", s->path, id);
        goto done;
    }
    rc = store__commit(s, err, errlen);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

int store_finish_run(store *s, const store_run *r, char *err, size_t errlen) {
    int rc = check_id(r->id, err, errlen);
    if (rc) return rc;
    const char *status = r->status[0] ? r->status : "done";
    if (store_status_index(status) < 0)
        return util_err(err, errlen, UTIL_EINVAL,
                        "run %s: status '%s': expected planned, running, done, failed or diverged",
                        r->id, status);
    char now[32];
    util_utc_iso(now, sizeof now);
    rc = store__begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    rc = store__write_steps(s, err, errlen); /* the curve lands with the result */
    if (rc) goto done;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE runs SET status=?2, final_train_loss=?3, final_val_loss=?4, "
                           "final_val_bpb=?5, best_val_loss=?6, tokens_done=?7, "
                           "epochs=coalesce(?8, epochs), ended=?9, "
                           "final_val_tokens=coalesce(?10, final_val_tokens) WHERE id=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "finishing a run");
        goto done;
    }
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    bind_real(st, 3, r->final_train_loss);
    bind_real(st, 4, r->final_val_loss);
    bind_real(st, 5, r->final_val_bpb);
    bind_real(st, 6, r->best_val_loss);
    if (r->tokens_done >= 0)
        sqlite3_bind_int64(st, 7, r->tokens_done);
    else
        sqlite3_bind_null(st, 7);
    bind_real(st, 8, r->epochs);
    sqlite3_bind_text(st, 9, r->ended[0] ? r->ended : now, -1, SQLITE_TRANSIENT);
    if (r->final_val_tokens >= 0)
        sqlite3_bind_int64(st, 10, r->final_val_tokens);
    else
        sqlite3_bind_null(st, 10);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "finishing a run");
        goto done;
    }
    if (sqlite3_changes(s->db) == 0) {
        rc = util_err(err, errlen, UTIL_ENOTFOUND, "%s: unknown run id '%s'", s->path, r->id);
        goto done;
    }
    rc = store__commit(s, err, errlen);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

int store_sweep_counts(store *s, const char *sweep, int64_t counts[STORE_NSTATUS], char *err,
                       size_t errlen) {
    for (int i = 0; i < STORE_NSTATUS; i++)
        counts[i] = 0;
    sqlite3_stmt *st = NULL;
    int rc = 0, r;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT status, count(*) FROM runs WHERE (?1 IS NULL OR " STORE_SQL_IN_SWEEP(
                "?1") ") "
                      "GROUP BY status",
            -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "counting runs");
    bind_text_or_null(st, 1, sweep);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int i = store_status_index((const char *)sqlite3_column_text(st, 0));
        if (i >= 0) counts[i] = sqlite3_column_int64(st, 1);
    }
    if (r != SQLITE_DONE) rc = store__dberr(s, err, errlen, "counting runs");
    sqlite3_finalize(st);
    return rc;
}

/* ======================================================================== */
/* Curves: buffered steps, committed evals                                  */
/* ======================================================================== */

int store__write_steps(store *s, char *err, size_t errlen) {
    if (s->nbuf == 0) return 0;
    if (!s->ins_step &&
        sqlite3_prepare_v3(s->db,
                           "INSERT INTO steps(run_id, step, tokens, flops, train_loss, lr, "
                           "grad_norm, elapsed) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                           "ON CONFLICT(run_id, step) DO UPDATE SET tokens=excluded.tokens, "
                           "flops=excluded.flops, train_loss=excluded.train_loss, "
                           "lr=excluded.lr, grad_norm=excluded.grad_norm, "
                           "elapsed=excluded.elapsed",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->ins_step, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "preparing the step insert");
    sqlite3_stmt *st = s->ins_step;
    for (int i = 0; i < s->nbuf; i++) {
        const store_step_row *w = &s->buf[i];
        sqlite3_bind_text(st, 1, w->run_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, w->step);
        sqlite3_bind_int64(st, 3, w->tokens);
        bind_real(st, 4, w->flops);
        bind_real(st, 5, w->train_loss);
        bind_real(st, 6, w->lr);
        bind_real(st, 7, w->grad_norm);
        bind_real(st, 8, w->elapsed);
        int r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE)
            return util_err(err, errlen, UTIL_EDB, "%s: writing step %lld of run %s: %s", s->path,
                            (long long)w->step, w->run_id, sqlite3_errmsg(s->db));
    }
    sqlite3_clear_bindings(st);
    return 0;
}

int store_flush(store *s, char *err, size_t errlen) {
    s->last_flush = util_now();
    if (s->nbuf == 0) return 0;
    int rc = store__begin(s, err, errlen);
    if (rc) return rc; /* still locked after a minute: keep the rows for the next try */
    rc = store__write_steps(s, err, errlen);
    if (!rc) rc = store__lock_beat(s, err, errlen);
    if (!rc) rc = store__commit(s, err, errlen);
    if (rc) {
        store__rollback(s);
        size_t len = err ? strlen(err) : 0;
        if (err && len + 1 < errlen)
            snprintf(err + len, errlen - len, " (%d buffered steps dropped)", s->nbuf);
    }
    /* Rows that failed for a reason other than contention (which the retries
     * absorb) would fail again: drop them rather than wedge every later flush. */
    s->nbuf = 0;
    return rc;
}

int store_add_step(store *s, const char *run_id, int64_t step, int64_t tokens, double flops,
                   double train_loss, double lr, double grad_norm, double elapsed, char *err,
                   size_t errlen) {
    int rc = need_run(s, run_id, err, errlen);
    if (rc) return rc;
    if (s->nbuf == s->capbuf) {
        int nc = s->capbuf ? 2 * s->capbuf : 256;
        store_step_row *nb = realloc(s->buf, (size_t)nc * sizeof *nb);
        if (!nb) return util_err(err, errlen, UTIL_ENOMEM, "out of memory buffering steps");
        s->buf = nb;
        s->capbuf = nc;
    }
    store_step_row *w = &s->buf[s->nbuf++];
    snprintf(w->run_id, sizeof w->run_id, "%s", run_id);
    w->step = step;
    w->tokens = tokens;
    w->flops = flops;
    w->train_loss = train_loss;
    w->lr = lr;
    w->grad_norm = grad_norm;
    w->elapsed = elapsed;
    if (s->nbuf >= s->flush_rows || util_now() - s->last_flush >= s->flush_secs)
        return store_flush(s, err, errlen);
    return 0;
}

int store_add_eval(store *s, const char *run_id, int64_t step, int64_t tokens, double flops,
                   double val_loss, double val_bpb, char *err, size_t errlen) {
    int rc = need_run(s, run_id, err, errlen);
    if (rc) return rc;
    rc = store__begin(s, err, errlen);
    if (rc) return rc;
    rc = store__write_steps(s, err, errlen); /* steps up to this eval land with it */
    s->nbuf = 0;
    s->last_flush = util_now();
    if (rc) goto done;
    if (!s->ins_eval &&
        sqlite3_prepare_v3(s->db,
                           "INSERT INTO evals(run_id, step, tokens, flops, val_loss, val_bpb) "
                           "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(run_id, tokens) DO UPDATE "
                           "SET step=excluded.step, flops=excluded.flops, "
                           "val_loss=excluded.val_loss, val_bpb=excluded.val_bpb",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->ins_eval, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "preparing the eval insert");
        goto done;
    }
    sqlite3_stmt *st = s->ins_eval;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_int64(st, 3, tokens);
    bind_real(st, 4, flops);
    bind_real(st, 5, val_loss);
    bind_real(st, 6, val_bpb);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r != SQLITE_DONE) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: writing the eval at %lld tokens of run %s: %s",
                      s->path, (long long)tokens, run_id, sqlite3_errmsg(s->db));
        goto done;
    }
    rc = store__commit(s, err, errlen); /* committed before we return: never lost */
done:
    if (rc) store__rollback(s);
    return rc;
}

/* ======================================================================== */
/* Fits                                                                     */
/* ======================================================================== */

/* Binds (sweep, law, params_json, selection_json) as ?1..?4. */
static void bind_fit(sqlite3_stmt *st, const char *sweep, const char *law, const char *pj,
                     const char *sj) {
    bind_text_or_null(st, 1, sweep);
    sqlite3_bind_text(st, 2, law, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, pj, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, sj, -1, SQLITE_TRANSIENT);
}

int store_add_fit(store *s, const char *sweep, const char *law, const char *params_json,
                  const char *selection_json, int64_t *id, char *err, size_t errlen) {
    if (!law || !*law) return util_err(err, errlen, UTIL_EINVAL, "fit law name is empty");
    /* Milliseconds: "the latest fit" is ordered by `created`, and a main job
     * makes several fits within one second. */
    char now[40];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(now + k, sizeof now - k, ".%03ldZ", ts.tv_nsec / 1000000);
    int rc = store__begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    const char *pj = params_json && *params_json ? params_json : "{}";
    const char *sj = selection_json && *selection_json ? selection_json : "{}";
    /* Refitting the same data with the same options (a re-run of the main
     * job, say) gives the same JSON; keep one row rather than a pile of
     * identical ones. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM fits WHERE sweep IS ?1 AND law = ?2 AND "
                           "params_json = ?3 AND selection_json = ?4 ORDER BY id LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    bind_fit(st, sweep, law, pj, sj);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        /* The same fit made again is the latest one now: `created` moves
         * forward, so that "the latest fit" (scaling predict) is this one. */
        int64_t old = sqlite3_column_int64(st, 0);
        if (id) *id = old;
        sqlite3_finalize(st);
        st = NULL;
        if (sqlite3_prepare_v2(s->db, "UPDATE fits SET created = ?1 WHERE id = ?2", -1, &st,
                               NULL) != SQLITE_OK)
            goto dberr;
        sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, old);
        if (sqlite3_step(st) != SQLITE_DONE) goto dberr;
        rc = store__commit(s, err, errlen);
        goto done;
    }
    if (step != SQLITE_DONE) goto dberr;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO fits(sweep, law, params_json, selection_json, created) "
                           "VALUES(?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    bind_fit(st, sweep, law, pj, sj);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) goto dberr;
    if (id) *id = sqlite3_last_insert_rowid(s->db);
    rc = store__commit(s, err, errlen);
    goto done;
dberr:
    rc = store__dberr(s, err, errlen, "storing a fit");
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

/* ======================================================================== */
/* The final evaluation's per-window losses                                 */
/* ======================================================================== */

int store_put_final_eval(store *s, const char *run_id, int n_ctx, const float *loss, int64_t n,
                         char *err, size_t errlen) {
    if (n < 1 || (uint64_t)n > (uint64_t)INT32_MAX / sizeof(float))
        return util_err(err, errlen, UTIL_EINVAL, "run %s: %lld final eval windows: expected 1..%d",
                        run_id, (long long)n, (int)(INT32_MAX / sizeof(float)));
    int rc = need_run(s, run_id, err, errlen);
    if (rc) return rc;
    /* little-endian float32 whatever the host, so the blob is portable */
    unsigned char *blob = malloc((size_t)n * 4);
    if (!blob) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &loss[i], 4);
        for (int b = 0; b < 4; b++)
            blob[i * 4 + b] = (unsigned char)(u >> (8 * b));
    }
    sqlite3_stmt *st = NULL;
    rc = store__begin(s, err, errlen);
    if (rc) goto out;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO final_eval(run_id, n_ctx, windows, losses) "
                           "VALUES(?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "storing the final eval");
        goto done;
    }
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n_ctx);
    sqlite3_bind_int64(st, 3, n);
    sqlite3_bind_blob(st, 4, blob, (int)(n * 4), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "storing the final eval");
        goto done;
    }
    rc = store__commit(s, err, errlen);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
out:
    free(blob);
    return rc;
}

int store_get_final_eval(store *s, const char *run_id, int *n_ctx, float **loss, int64_t *n,
                         char *err, size_t errlen) {
    *loss = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT n_ctx, windows, losses FROM final_eval WHERE run_id=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading the final eval");
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE ? util_err(err, errlen, UTIL_ENOTFOUND,
                                         "%s: run %s has no stored final eval", s->path, run_id)
                              : store__dberr(s, err, errlen, "reading the final eval");
        goto done;
    }
    int64_t w = sqlite3_column_int64(st, 1);
    const unsigned char *b = sqlite3_column_blob(st, 2);
    int bytes = sqlite3_column_bytes(st, 2);
    if (w < 1 || bytes != w * 4 || !b) {
        rc = util_err(err, errlen, UTIL_ECORRUPT,
                      "%s: run %s: final eval of %lld windows holds %d bytes", s->path, run_id,
                      (long long)w, bytes);
        goto done;
    }
    float *v = malloc((size_t)w * sizeof *v);
    if (!v) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < w; i++) {
        uint32_t u = 0;
        for (int k = 0; k < 4; k++)
            u |= (uint32_t)b[i * 4 + k] << (8 * k);
        memcpy(&v[i], &u, 4);
    }
    *n_ctx = sqlite3_column_int(st, 0);
    *loss = v;
    *n = w;
done:
    sqlite3_finalize(st);
    return rc;
}
