/*
 * lock.c — who is using a results database now: rows of `locks` naming a
 * host and process, so that a second sweep on the same database, or a second
 * process training the same run into it, is refused with the holder named.
 * A lock left by a process that died (SIGKILL, a lost node) is taken over:
 * on the holder's host when its pid is gone (or reused: the start time
 * differs), elsewhere when its heartbeat is older than the holder's own
 * stale_secs. The heartbeat is renewed by every flush of steps and by
 * store_lock_refresh.
 *
 * Why rows and not flock(2): the lock must travel with the database file
 * itself (another --ckpt-dir, another node of a cluster sharing the file),
 * and on NFS flock is emulated with the same byte-range locks SQLite uses.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "store_priv.h"

/* Start time of process pid in clock ticks since boot (/proc/PID/stat field
 * 22), 0 when unknown: tells a live holder from a new process that reuses
 * its pid. *state gets field 3 ('Z' for a zombie: dead, but not yet reaped,
 * as under a container's init that reaps nothing), 0 when unknown. */
static int64_t proc_start(int64_t pid, char *state) {
    char path[64], buf[1024];
    *state = 0;
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return 0;
    long long v = 0;
    /* after ")": state is field 3, starttime field 22 */
    if (sscanf(p + 1,
               " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
               "%*d %lld",
               state, &v) != 2)
        return 0;
    return v;
}

/* Whether the holder (on this host) still runs. */
static int local_alive(int64_t pid, int64_t start) {
    if (pid <= 0) return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    char state;
    int64_t now = proc_start(pid, &state);
    if (state == 'Z' || state == 'X') return 0;
    return !(start && now && now != start);
}

static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int held_index(store *s, const char *name) {
    for (int i = 0; i < s->nheld; i++)
        if (!strcmp(s->held[i], name)) return i;
    return -1;
}

int store_lock(store *s, const char *name, const char *what, double stale_secs,
               store_lock_holder *holder, int *took_over, char *err, size_t errlen) {
    store_lock_holder local;
    int dummy;
    if (!holder) holder = &local;
    if (!took_over) took_over = &dummy;
    memset(holder, 0, sizeof *holder);
    *took_over = 0;
    if (!name || !*name || strlen(name) >= sizeof s->held[0])
        return util_err(err, errlen, UTIL_EINVAL, "lock name '%s': expected 1 to %d characters",
                        name ? name : "", (int)sizeof s->held[0] - 1);
    if (held_index(s, name) < 0 && s->nheld == (int)(sizeof s->held / sizeof s->held[0]))
        return util_err(err, errlen, UTIL_EINVAL, "%s: too many locks held", s->path);
    char host[128];
    util_hostname(host, sizeof host);
    char state;
    int64_t pid = (int64_t)getpid(), start = proc_start(pid, &state);
    int rc = store__begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT host, pid, pid_start, what, since, ?2 - heartbeat, stale_secs "
                           "FROM locks WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "reading locks");
        goto done;
    }
    double now = unix_now();
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, now);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        snprintf(holder->host, sizeof holder->host, "%s", (const char *)sqlite3_column_text(st, 0));
        holder->pid = sqlite3_column_int64(st, 1);
        int64_t hstart = sqlite3_column_int64(st, 2);
        snprintf(holder->what, sizeof holder->what, "%s", (const char *)sqlite3_column_text(st, 3));
        snprintf(holder->since, sizeof holder->since, "%s",
                 (const char *)sqlite3_column_text(st, 4));
        holder->age_secs = sqlite3_column_double(st, 5);
        double hstale = sqlite3_column_double(st, 6);
        int mine = !strcmp(holder->host, host) && holder->pid == pid;
        int live;
        if (mine)
            live = 0;
        else if (!strcmp(holder->host, host))
            live = local_alive(holder->pid, hstart);
        else
            live = holder->age_secs <= hstale;
        if (live) {
            rc = util_err(err, errlen, UTIL_EDB,
                          "%s: %s is held by %s (pid %lld on host %s, since %s, heartbeat %.0f s "
                          "ago)",
                          s->path, name, holder->what, (long long)holder->pid, holder->host,
                          holder->since, holder->age_secs);
            goto done;
        }
        *took_over = !mine;
        if (mine) memset(holder, 0, sizeof *holder);
    } else if (r != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "reading locks");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    char since[32];
    util_utc_iso(since, sizeof since);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO locks(name, host, pid, pid_start, what, since, "
                           "heartbeat, stale_secs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "writing a lock");
        goto done;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, pid);
    sqlite3_bind_int64(st, 4, start);
    sqlite3_bind_text(st, 5, what ? what : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, since, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 7, now);
    sqlite3_bind_double(st, 8, stale_secs);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "writing a lock");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = store__commit(s, err, errlen);
    if (!rc && held_index(s, name) < 0)
        snprintf(s->held[s->nheld++], sizeof s->held[0], "%s", name);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}

int store__lock_beat(store *s, char *err, size_t errlen) {
    if (s->nheld == 0) return 0;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, "UPDATE locks SET heartbeat = ?3 WHERE name = ?1 AND pid = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "renewing locks");
    for (int i = 0; i < s->nheld && !rc; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, s->held[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)getpid());
        sqlite3_bind_double(st, 3, unix_now());
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = store__dberr(s, err, errlen, "renewing locks");
        else if (sqlite3_changes(s->db) == 0)
            rc = util_err(err, errlen, UTIL_EDB,
                          "%s: lost %s: another process took it over (this one was taken for "
                          "dead)",
                          s->path, s->held[i]);
    }
    sqlite3_finalize(st);
    return rc;
}

int store_lock_refresh(store *s, char *err, size_t errlen) {
    if (s->nheld == 0) return 0;
    int rc = store__begin(s, err, errlen);
    if (rc) return rc;
    rc = store__lock_beat(s, err, errlen);
    if (!rc) return store__commit(s, err, errlen);
    store__rollback(s);
    return rc;
}

int store_unlock(store *s, const char *name, char *err, size_t errlen) {
    int i = held_index(s, name);
    if (i < 0) return 0;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM locks WHERE name = ?1 AND pid = ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "releasing a lock");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)getpid());
    if (sqlite3_step(st) != SQLITE_DONE) rc = store__dberr(s, err, errlen, "releasing a lock");
    sqlite3_finalize(st);
    if (!rc) {
        memmove(s->held[i], s->held[i + 1], (size_t)(s->nheld - i - 1) * sizeof s->held[0]);
        s->nheld--;
    }
    return rc;
}

void store__unlock_all(store *s) {
    char e[UTIL_ERRLEN];
    while (s->nheld > 0) {
        char name[64];
        snprintf(name, sizeof name, "%s", s->held[s->nheld - 1]);
        if (store_unlock(s, name, e, sizeof e)) s->nheld--; /* best effort */
    }
}

int store_lock_drop_workers(store *s, int *n, char *err, size_t errlen) {
    if (n) *n = 0;
    if (held_index(s, STORE_LOCK_SWEEP) < 0)
        return util_err(err, errlen, UTIL_EINVAL, "%s: dropping workers' locks needs the %s lock",
                        s->path, STORE_LOCK_SWEEP);
    int rc = store__begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "DELETE FROM locks WHERE substr(name, 1, length(?1)) = ?1 AND "
                           "substr(what, 1, length(?2)) = ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store__dberr(s, err, errlen, "dropping workers' locks");
        goto done;
    }
    sqlite3_bind_text(st, 1, STORE_LOCK_RUN_PREFIX, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, STORE_LOCK_WORKER, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store__dberr(s, err, errlen, "dropping workers' locks");
        goto done;
    }
    if (n) *n = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    st = NULL;
    rc = store__commit(s, err, errlen);
done:
    sqlite3_finalize(st);
    if (rc) store__rollback(s);
    return rc;
}
