/*
 * store_priv.h — what the files of the results module share and nobody else
 * sees: the connection struct, transactions with retry on SQLITE_BUSY, the
 * result printer behind query/export, and the migration mechanism.
 * Not installed, not included outside results/.
 */
#ifndef SCALING_STORE_PRIV_H
#define SCALING_STORE_PRIV_H

#include <sqlite3.h>

#include "store.h"

/* One buffered row of `steps`, written at the next flush. */
typedef struct {
    char run_id[17];   /* runs.id */
    int64_t step;      /* optimizer step, 0-based */
    int64_t tokens;    /* tokens seen after this step */
    double flops;      /* training FLOPs after this step */
    double train_loss; /* nats/token */
    double lr;         /* learning rate used */
    double grad_norm;  /* global L2 norm before clipping */
    double elapsed;    /* seconds since the run (re)started */
} store_step_row;

struct store {
    sqlite3 *db;
    char *path;             /* as given to store_open */
    int readonly;           /* opened with STORE_READONLY */
    sqlite3_stmt *ins_step; /* cached: upsert of one step */
    sqlite3_stmt *ins_eval; /* cached: upsert of one eval */
    store_step_row *buf;    /* buffered steps, nbuf of capbuf used */
    int nbuf, capbuf;
    int flush_rows;     /* flush when nbuf reaches this */
    double flush_secs;  /* ... or when this long since the last flush */
    double last_flush;  /* util_now() of the last flush */
    char known_run[17]; /* last run id checked to exist (saves a lookup per row) */
    char held[4][64];   /* names of the locks this process took through s (lock.c) */
    int nheld;
    double query_timeout;  /* seconds a store_query* may run, 0 = no limit */
    double query_deadline; /* util_now() past which the running query stops */
};

/* Renews the heartbeat of the held locks inside the caller's open
 * transaction (lock.c); 0 or UTIL_EDB when one was taken over. */
int store__lock_beat(store *s, char *err, size_t errlen);
/* Deletes the held locks' rows, best effort (store_close). */
void store__unlock_all(store *s);

/* BEGIN IMMEDIATE, retried on SQLITE_BUSY/LOCKED for up to a minute on top of
 * the busy timeout; COMMIT likewise. store__rollback never fails loudly. */
int store__begin(store *s, char *err, size_t errlen);
/* The raw connection: results/ and the tests' schema checks only; every
 * other module goes through the typed functions of store.h. */
sqlite3 *store__db(store *s);
int store__commit(store *s, char *err, size_t errlen);
void store__rollback(store *s);

/* Writes buffered steps inside the caller's open transaction. */
int store__write_steps(store *s, char *err, size_t errlen);

/* Steps through a prepared statement and prints its rows to fp in fmt.
 * Does not finalize st. */
int store__emit(sqlite3_stmt *st, int fmt, FILE *fp, char *err, size_t errlen);

/* store_query with text parameters bound to ?1..?n (a NULL entry binds
 * NULL): the read-only path of results/'s own listings. */
int store_query_params(store *s, const char *sql, const char *const *params, int nparams, int fmt,
                       FILE *fp, char *err, size_t errlen);

/* Error text for a failed sqlite call: "<what>: <sqlite message>". */
int store__dberr(store *s, char *err, size_t errlen, const char *what);

#endif
