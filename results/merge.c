/*
 * merge.c — folding a results database written elsewhere (one shard of a
 * sweep per machine) into this one: ATTACH the input read-only, then copy
 * sweeps, runs, curves and fits inside one transaction.
 *
 * Rules (idempotent: merging the same input twice adds nothing):
 *   sweeps  new name → copied; same name and content → nothing; different
 *           mode/file_text → conflict, ours kept.
 *   runs    new id → copied with its steps and evals. Same id:
 *           config_json values differ → conflict, ours kept (members only
 *             one side has are no conflict: while a run trains its row holds
 *             the trainer's JSON, and the sweep puts back its plan's when the
 *             run ends, so a shard merged while it runs differs so);
 *           input further along (planned < running < done/failed/diverged,
 *             or both running and the input's curve reaches a later step)
 *             → an update: the input's row and curve replace ours;
 *           both finished with different status or final numbers → conflict;
 *           otherwise the curves are united (rows we lack are added), and the
 *             input's configuration taken when it has more members.
 *   fits    appended unless an identical row (every column but id) exists.
 * Each conflict is one line on `report`; conflicting rows are left as they were.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_priv.h"

static int rank(const char *status) {
    int i = store_status_index(status);
    return i == STORE_PLANNED ? 0 : i == STORE_RUNNING ? 1 : 2;
}

/* "file:<percent-encoded path>?mode=ro" for ATTACH with URI names on. */
static char *ro_uri(const char *path) {
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32);
    if (!u) return NULL;
    char *p = u + sprintf(u, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (isalnum(*c) || strchr("/-_.~", *c))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    strcpy(p, "?mode=ro");
    return u;
}

/* Runs sql (bound to ?1 = text a1 if non-NULL) and adds sqlite3_changes to *count. */
static int exec1(store *s, const char *sql, const char *a1, int64_t *count, char *err,
                 size_t errlen) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "merge");
    if (a1) sqlite3_bind_text(st, 1, a1, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = store__dberr(s, err, errlen, "merge");
    else if (count)
        *count += sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc;
}

/* Column list of main.runs, read from the schema (both files are at our version). */
static int runs_columns(store *s, char *all, size_t n_all, char *set, size_t n_set, char *err,
                        size_t errlen) {
    sqlite3_stmt *st = NULL;
    size_t la = 0, ls = 0;
    all[0] = set[0] = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM pragma_table_info('runs', 'main')", -1, &st,
                           NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "reading the runs columns");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        la += (size_t)snprintf(all + la, n_all - la, "%s%s", la ? ", " : "", c);
        if (strcmp(c, "id") != 0)
            ls += (size_t)snprintf(set + ls, n_set - ls, "%s%s", ls ? ", " : "", c);
    }
    sqlite3_finalize(st);
    if (la >= n_all || ls >= n_set) return util_err(err, errlen, UTIL_EINVAL, "too many columns");
    return 0;
}

static void fmt_num(char *buf, size_t n, sqlite3_stmt *st, int c) {
    if (sqlite3_column_type(st, c) == SQLITE_NULL)
        snprintf(buf, n, "none");
    else
        snprintf(buf, n, "%.6g", sqlite3_column_double(st, c));
}

static int merge_sweeps(store *s, const char *in_path, store_merge_stats *ms, FILE *report,
                        char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    int rc = 0, r;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT i.name, m.name IS NULL, "
                           "m.mode IS NOT i.mode OR m.file_text IS NOT i.file_text "
                           "FROM src.sweeps i LEFT JOIN main.sweeps m ON m.name = i.name "
                           "ORDER BY i.name",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "merging sweeps");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (sqlite3_column_int(st, 1)) {
            int64_t n = 0;
            rc = exec1(s, "INSERT INTO main.sweeps SELECT * FROM src.sweeps WHERE name=?1", name,
                       &n, err, errlen);
            if (rc) goto done;
            ms->sweeps_added += (int)n;
        } else if (sqlite3_column_int(st, 2)) {
            ms->conflicts++;
            if (report)
                fprintf(report, "conflict: sweep '%s': its sweep file differs in %s; kept %s's\n",
                        name, in_path, s->path);
        }
    }
    if (r != SQLITE_DONE) rc = store__dberr(s, err, errlen, "merging sweeps");
done:
    sqlite3_finalize(st);
    return rc;
}

static int copy_curves(store *s, const char *id, int replace, store_merge_stats *ms, char *err,
                       size_t errlen) {
    int rc =
        exec1(s,
              replace ? "INSERT OR REPLACE INTO main.steps SELECT * FROM src.steps WHERE run_id=?1"
                      : "INSERT OR IGNORE INTO main.steps SELECT * FROM src.steps WHERE run_id=?1",
              id, &ms->steps_added, err, errlen);
    if (!rc)
        rc = exec1(s,
                   replace
                       ? "INSERT OR REPLACE INTO main.evals SELECT * FROM src.evals WHERE run_id=?1"
                       : "INSERT OR IGNORE INTO main.evals SELECT * FROM src.evals WHERE run_id=?1",
                   id, &ms->evals_added, err, errlen);
    int64_t windows = 0; /* the per-window losses travel with the run's evals */
    if (!rc)
        rc = exec1(s,
                   replace ? "INSERT OR REPLACE INTO main.final_eval SELECT * FROM src.final_eval "
                             "WHERE run_id=?1"
                           : "INSERT OR IGNORE INTO main.final_eval SELECT * FROM src.final_eval "
                             "WHERE run_id=?1",
                   id, &windows, err, errlen);
    return rc;
}

/* Comparing configurations: 0 when JSON objects a and b disagree on a
 * member both have (or either is not an object and the texts differ), else
 * 1 + (a has more members than b): 2 means a describes the same run more
 * fully. The trainer and the sweep describe one run with different members
 * (the trainer adds threads; the sweep adds its plan's label, budget, FLOP
 * count), never with different values. */
static int json_agree(const char *a, const char *b) {
    if (!strcmp(a, b)) return 1;
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    int ok = cJSON_IsObject(ja) && cJSON_IsObject(jb);
    for (cJSON *m = ok ? ja->child : NULL; ok && m; m = m->next) {
        cJSON *o = cJSON_GetObjectItemCaseSensitive(jb, m->string);
        ok = !o || cJSON_Compare(o, m, 1);
    }
    int r = ok ? 1 + (cJSON_GetArraySize(ja) > cJSON_GetArraySize(jb)) : 0;
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return r;
}

/* Last logged step of run id in schema db ("main" or "src"), -1 if none. */
static int64_t last_step(store *s, const char *db, const char *id) {
    char sql[128];
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    snprintf(sql, sizeof sql, "SELECT max(step) FROM %s.steps WHERE run_id = ?1", db);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static int merge_runs(store *s, const char *in_path, store_merge_stats *ms, FILE *report, char *err,
                      size_t errlen) {
    char all[4096], set[4096], sql[12288];
    sqlite3_stmt *st = NULL;
    int rc = runs_columns(s, all, sizeof all, set, sizeof set, err, errlen), r;
    if (rc) return rc;
    /* Columns: 0 id, 1 new?, 2 config differs?, 3 in status, 4 our status,
     * 5 finals differ?, 6.. in/our final_val_loss, 8.. in/our config_json. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT i.id, m.id IS NULL, m.config_json IS NOT i.config_json, "
                           "i.status, m.status, "
                           "m.status IS NOT i.status OR m.final_train_loss IS NOT "
                           "i.final_train_loss OR m.final_val_loss IS NOT i.final_val_loss OR "
                           "m.final_val_bpb IS NOT i.final_val_bpb OR m.best_val_loss IS NOT "
                           "i.best_val_loss OR m.tokens_done IS NOT i.tokens_done, "
                           "i.final_val_loss, m.final_val_loss, i.config_json, m.config_json "
                           "FROM src.runs i LEFT JOIN main.runs m ON m.id = i.id ORDER BY i.id",
                           -1, &st, NULL) != SQLITE_OK)
        return store__dberr(s, err, errlen, "merging runs");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *ist = (const char *)sqlite3_column_text(st, 3);
        const char *mst = (const char *)sqlite3_column_text(st, 4);
        if (sqlite3_column_int(st, 1)) { /* new run */
            int64_t n = 0;
            snprintf(sql, sizeof sql,
                     "INSERT INTO main.runs(%s) SELECT %s FROM src.runs WHERE id=?1", all, all);
            if ((rc = exec1(s, sql, id, &n, err, errlen))) goto done;
            ms->runs_added += (int)n;
            if ((rc = copy_curves(s, id, 0, ms, err, errlen))) goto done;
            continue;
        }
        int agree = 1; /* 2: the input's configuration is the fuller one */
        if (sqlite3_column_int(st, 2)) {
            const char *ic = (const char *)sqlite3_column_text(st, 8);
            const char *mc = (const char *)sqlite3_column_text(st, 9);
            agree = json_agree(ic ? ic : "", mc ? mc : "");
        }
        if (!agree) {
            ms->conflicts++;
            if (report)
                fprintf(report,
                        "conflict: run %s: its configuration (config_json) differs in %s; kept "
                        "%s's\n",
                        id, in_path, s->path);
            continue;
        }
        int ri = rank(ist), rm = rank(mst);
        if (ri == 1 && rm == 1) { /* both running: the longer curve is further along */
            int64_t a = last_step(s, "src", id), b = last_step(s, "main", id);
            if (a > b) ri = 2;
            if (a < b) rm = 2;
        }
        if (ri > rm) { /* the input's copy is further along: an update, not a conflict */
            snprintf(
                sql, sizeof sql,
                "UPDATE main.runs SET (%s) = (SELECT %s FROM src.runs WHERE id=?1) WHERE id=?1",
                set, set);
            if ((rc = exec1(s, sql, id, NULL, err, errlen))) goto done;
            ms->runs_updated++;
            if ((rc = copy_curves(s, id, 1, ms, err, errlen))) goto done;
        } else if (ri < rm) {
            continue; /* ours is further along */
        } else if (ri == 2 && sqlite3_column_int(st, 5)) {
            char a[32], b[32];
            fmt_num(a, sizeof a, st, 7);
            fmt_num(b, sizeof b, st, 6);
            ms->conflicts++;
            if (report)
                fprintf(report,
                        "conflict: run %s: final results differ (%s: %s, final_val_loss %s; %s: "
                        "%s, final_val_loss %s); kept %s's\n",
                        id, s->path, mst, a, in_path, ist, b, s->path);
        } else {
            if ((rc = copy_curves(s, id, 0, ms, err, errlen))) goto done;
            if (agree == 2) { /* the same run, described more fully in the input */
                if ((rc = exec1(s,
                                "UPDATE main.runs SET config_json = (SELECT config_json FROM "
                                "src.runs WHERE id=?1) WHERE id=?1",
                                id, NULL, err, errlen)))
                    goto done;
                ms->runs_updated++;
            }
        }
    }
    if (r != SQLITE_DONE) rc = store__dberr(s, err, errlen, "merging runs");
done:
    sqlite3_finalize(st);
    return rc;
}

int store_merge_ex(store *s, const char *in_path, store_merge_stats *ms, FILE *report, char *err,
                   size_t errlen) {
    store_merge_stats local;
    char e2[UTIL_ERRLEN];
    int rc = 0, attached = 0;
    char *uri = NULL;
    if (!ms) ms = &local;
    memset(ms, 0, sizeof *ms);
    if (s->readonly) return util_err(err, errlen, UTIL_EDB, "%s: opened read-only", s->path);

    /* Recognise the input first (magic, application_id, version) with the
     * same checks and messages as any open. */
    store *in = NULL;
    rc = store_open(&in, in_path, STORE_READONLY, e2, sizeof e2);
    store_close(in);
    if (rc) return util_err(err, errlen, rc, "%s", e2);
    struct stat a, b;
    if (stat(in_path, &a) == 0 && stat(s->path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return util_err(err, errlen, UTIL_EINVAL, "%s: is the output database itself", in_path);

    if ((rc = store_flush(s, err, errlen))) return rc;
    if (!(uri = ro_uri(in_path))) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "ATTACH DATABASE ?1 AS src", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
        attached = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (!attached) {
        rc = util_err(err, errlen, UTIL_EDB, "%s: cannot attach: %s", in_path,
                      sqlite3_errmsg(s->db));
        goto done;
    }
    if ((rc = store__begin(s, err, errlen))) goto done;
    if ((rc = merge_sweeps(s, in_path, ms, report, err, errlen))) goto done;
    if ((rc = merge_runs(s, in_path, ms, report, err, errlen))) goto done;
    /* sweeps' memberships: a run the input's sweep holds is held by it here */
    rc = exec1(s,
               "INSERT OR IGNORE INTO main.sweep_runs(sweep, run_id, in_plan, holdout) "
               "SELECT r.sweep, r.run_id, r.in_plan, r.holdout FROM src.sweep_runs r "
               "WHERE EXISTS (SELECT 1 FROM main.runs WHERE id = r.run_id) "
               "AND EXISTS (SELECT 1 FROM main.sweeps WHERE name = r.sweep)",
               NULL, NULL, err, errlen);
    if (rc) goto done;
    int64_t nf = 0;
    rc = exec1(s,
               "INSERT INTO main.fits(sweep, law, params_json, selection_json, created) "
               "SELECT f.sweep, f.law, f.params_json, f.selection_json, f.created FROM src.fits f "
               "WHERE NOT EXISTS (SELECT 1 FROM main.fits m WHERE m.sweep IS f.sweep AND "
               "m.law = f.law AND m.params_json = f.params_json AND m.selection_json = "
               "f.selection_json AND m.created = f.created) ORDER BY f.id",
               NULL, &nf, err, errlen);
    if (rc) goto done;
    ms->fits_added = (int)nf;
    rc = store__commit(s, err, errlen);
done:
    if (rc) {
        store__rollback(s);
        memset(ms, 0, sizeof *ms); /* nothing was changed */
    }
    if (attached) sqlite3_exec(s->db, "DETACH DATABASE src", NULL, NULL, NULL);
    s->known_run[0] = 0;
    free(uri);
    return rc;
}

int store_merge(store *s, const char *in_path, int *runs_added, int *conflicts, FILE *report,
                char *err, size_t errlen) {
    store_merge_stats ms;
    int rc = store_merge_ex(s, in_path, &ms, report, err, errlen);
    if (runs_added) *runs_added = rc ? 0 : ms.runs_added;
    if (conflicts) *conflicts = rc ? 0 : ms.conflicts;
    return rc;
}
