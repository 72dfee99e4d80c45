/*
 * query.c — read-only SQL for `scaling query`, `runs`, `curve` and `export`:
 * refusing statements that would write, and printing rows as an aligned
 * table, CSV (RFC 4180, for pandas and spreadsheets) or JSON.
 *
 * A statement is refused when sqlite3_stmt_readonly says it writes, or when
 * the authorizer sees something that changes the connection or other files
 * (ATTACH, transactions, setting pragmas); the CLI also opens the database
 * with SQLITE_OPEN_READONLY as the backstop.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

/* ======================================================================== */
/* Refusing writes                                                          */
/* ======================================================================== */

/* Pragmas that only read, when given no value (or a table/index name). */
static const char *const read_pragmas[] = {
    "user_version",    "application_id", "schema_version",   "page_count",        "page_size",
    "freelist_count",  "journal_mode",   "foreign_keys",     "encoding",          "database_list",
    "compile_options", "table_list",     "table_info",       "table_xinfo",       "index_list",
    "index_info",      "index_xinfo",    "foreign_key_list", "foreign_key_check", "integrity_check",
    "quick_check",     "collation_list", "function_list",    "pragma_list",
};
/* Pragmas whose argument names a table or index rather than setting a value. */
static const char *const arg_pragmas[] = {
    "table_info",       "table_xinfo",       "index_list", "index_info",      "index_xinfo",
    "foreign_key_list", "foreign_key_check", "table_list", "integrity_check", "quick_check",
};

typedef struct {
    int denied; /* set by the authorizer when it refuses something */
    char what[64];
} auth_state;

static int in_list(const char *name, const char *const *list, size_t n) {
    for (size_t i = 0; name && i < n; i++)
        if (!strcasecmp(name, list[i])) return 1;
    return 0;
}

static int authorize(void *ud, int action, const char *a1, const char *a2, const char *db,
                     const char *trigger) {
    (void)db;
    (void)trigger;
    auth_state *as = ud;
    const char *what = NULL;
    switch (action) {
    case SQLITE_ATTACH:
        what = "ATTACH";
        break;
    case SQLITE_DETACH:
        what = "DETACH";
        break;
    case SQLITE_TRANSACTION:
        what = "a transaction statement";
        break;
    case SQLITE_SAVEPOINT:
        what = "SAVEPOINT";
        break;
    case SQLITE_PRAGMA:
        if (!in_list(a1, read_pragmas, sizeof read_pragmas / sizeof *read_pragmas) ||
            (a2 && !in_list(a1, arg_pragmas, sizeof arg_pragmas / sizeof *arg_pragmas)))
            what = "PRAGMA that sets a value";
        break;
    default:
        break;
    }
    if (!what) return SQLITE_OK;
    as->denied = 1;
    snprintf(as->what, sizeof as->what, "%s", what);
    return SQLITE_DENY;
}

/* The first line of sql, shortened, for error messages. */
static void sql_excerpt(char *buf, size_t n, const char *sql) {
    size_t j = 0;
    while (*sql && isspace((unsigned char)*sql))
        sql++;
    for (; *sql && j + 4 < n; sql++)
        buf[j++] = (*sql == '\n' || *sql == '\t') ? ' ' : *sql;
    if (*sql) {
        while (j > 0 && j + 4 > n)
            j--;
        buf[j++] = '.', buf[j++] = '.', buf[j++] = '.';
    }
    while (j > 0 && isspace((unsigned char)buf[j - 1]))
        j--;
    buf[j] = 0;
}

/* Prepares exactly one read-only statement. */
static int prepare_readonly(store *s, const char *sql, sqlite3_stmt **out, char *err,
                            size_t errlen) {
    auth_state as = {0, ""};
    const char *tail = NULL;
    char ex[96];
    int rc = 0;
    *out = NULL;
    sql_excerpt(ex, sizeof ex, sql);
    sqlite3_set_authorizer(s->db, authorize, &as);
    int r = sqlite3_prepare_v2(s->db, sql, -1, out, &tail);
    if (r != SQLITE_OK) {
        if (as.denied)
            rc = util_err(err, errlen, UTIL_EINVAL, "refusing %s (queries are read-only): %s",
                          as.what, ex);
        else
            rc = util_err(err, errlen, UTIL_EINVAL, "SQL error: %s in: %s", sqlite3_errmsg(s->db),
                          ex);
        goto done;
    }
    if (!*out) {
        rc = util_err(err, errlen, UTIL_EINVAL, "no SQL statement given");
        goto done;
    }
    if (!sqlite3_stmt_readonly(*out)) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "refusing a statement that would change the database (queries are "
                      "read-only): %s",
                      ex);
        goto done;
    }
    /* Only comments, blanks and semicolons may follow. */
    while (tail && *tail) {
        sqlite3_stmt *more = NULL;
        const char *t2 = NULL;
        if (sqlite3_prepare_v2(s->db, tail, -1, &more, &t2) != SQLITE_OK || more) {
            sqlite3_finalize(more);
            rc = util_err(err, errlen, UTIL_EINVAL,
                          "give one SQL statement at a time (more follows: %s)", ex);
            goto done;
        }
        if (t2 == tail) break;
        tail = t2;
    }
done:
    sqlite3_set_authorizer(s->db, NULL, NULL);
    if (rc) {
        sqlite3_finalize(*out);
        *out = NULL;
    }
    return rc;
}

/* ======================================================================== */
/* Printing rows                                                            */
/* ======================================================================== */

static void csv_field(FILE *fp, const char *v) {
    int quote = 0;
    for (const char *p = v; *p; p++)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') quote = 1;
    if (*v == ' ' || (*v && v[strlen(v) - 1] == ' ')) quote = 1;
    if (!quote) {
        fputs(v, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = v; *p; p++) {
        if (*p == '"') fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

static void json_string(FILE *fp, const char *v) {
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", fp);
            break;
        case '\\':
            fputs("\\\\", fp);
            break;
        case '\n':
            fputs("\\n", fp);
            break;
        case '\r':
            fputs("\\r", fp);
            break;
        case '\t':
            fputs("\\t", fp);
            break;
        default:
            if (*p < 0x20)
                fprintf(fp, "\\u%04x", *p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

/* A REAL with enough digits to read back the same double ("%.17g"), or the
 * shorter %.6g form for the human-readable table. */
static void fmt_real(char *buf, size_t n, double v, int exact) {
    if (!exact) {
        snprintf(buf, n, "%.6g", v);
        return;
    }
    /* Shortest of %.15g..%.17g that round-trips, so 0.1 prints as 0.1. */
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* Keep REAL columns REAL for readers that guess types (pandas): 3 -> 3.0. */
    if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 <= n) strcat(buf, ".0");
}

/* Table mode keeps every cell as text, then pads columns to their widths. */
typedef struct {
    char **cells; /* nrow × ncol, row-major; NULL = SQL NULL */
    int nrow, cap, ncol;
} table_buf;

static int table_add(table_buf *t, char **row) {
    if (t->nrow == t->cap) {
        int nc = t->cap ? 2 * t->cap : 64;
        char **nv = realloc(t->cells, (size_t)nc * (size_t)t->ncol * sizeof *nv);
        if (!nv) return -1;
        t->cells = nv;
        t->cap = nc;
    }
    memcpy(t->cells + (size_t)t->nrow * (size_t)t->ncol, row, (size_t)t->ncol * sizeof *row);
    t->nrow++;
    return 0;
}

/* Display width of UTF-8 text (code points; good enough for our columns). */
static int utf8_width(const char *s) {
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) w++;
    return w;
}

static int is_number(const char *s) {
    if (!s || !*s) return 0;
    char *end;
    strtod(s, &end);
    return *end == 0;
}

#define TABLE_MAXW 48 /* wider text (config_json, file_text) is cut with "..." */

static void table_print(FILE *fp, sqlite3_stmt *st, table_buf *t) {
    int nc = t->ncol;
    int *w = calloc((size_t)nc, sizeof *w), *right = calloc((size_t)nc, sizeof *right);
    if (!w || !right) goto done;
    for (int c = 0; c < nc; c++) {
        w[c] = utf8_width(sqlite3_column_name(st, c));
        int num = 1, any = 0;
        for (int r = 0; r < t->nrow; r++) {
            const char *v = t->cells[(size_t)r * nc + c];
            if (!v) continue;
            int vw = utf8_width(v);
            if (vw > TABLE_MAXW) vw = TABLE_MAXW;
            if (vw > w[c]) w[c] = vw;
            any = 1;
            if (!is_number(v)) num = 0;
        }
        right[c] = num && any;
    }
    for (int c = 0; c < nc; c++) {
        const char *h = sqlite3_column_name(st, c);
        int pad = w[c] - utf8_width(h);
        if (right[c])
            fprintf(fp, "%s%*s%s", c ? "  " : "", pad, "", h);
        else
            fprintf(fp, "%s%s%*s", c ? "  " : "", h, c == nc - 1 ? 0 : pad, "");
    }
    fputc('\n', fp);
    for (int c = 0; c < nc; c++) {
        fprintf(fp, "%s", c ? "  " : "");
        for (int i = 0; i < w[c]; i++)
            fputc('-', fp);
    }
    fputc('\n', fp);
    for (int r = 0; r < t->nrow; r++) {
        for (int c = 0; c < nc; c++) {
            const char *v = t->cells[(size_t)r * nc + c];
            char cut[TABLE_MAXW * 4 + 8];
            if (!v) v = "";
            if (utf8_width(v) > TABLE_MAXW) {
                /* Cut at a code-point boundary; newlines become spaces. */
                int cps = 0;
                size_t j = 0;
                for (const char *p = v; *p && j < sizeof cut - 8; p++) {
                    if (((unsigned char)*p & 0xc0) != 0x80 && ++cps > TABLE_MAXW - 3) break;
                    cut[j++] = *p;
                }
                memcpy(cut + j, "...", 4);
                v = cut;
            }
            int pad = w[c] - utf8_width(v);
            if (right[c])
                fprintf(fp, "%s%*s", c ? "  " : "", pad, "");
            else
                fputs(c ? "  " : "", fp);
            for (const char *p = v; *p; p++)
                fputc(*p == '\n' || *p == '\t' ? ' ' : *p, fp);
            if (!right[c] && c < nc - 1) fprintf(fp, "%*s", pad, "");
        }
        fputc('\n', fp);
    }
done:
    free(w);
    free(right);
}

int store__emit(sqlite3_stmt *st, int fmt, FILE *fp, char *err, size_t errlen) {
    int nc = sqlite3_column_count(st), rc = 0, r;
    table_buf t = {NULL, 0, 0, nc};
    char **row = calloc((size_t)(nc ? nc : 1), sizeof *row);
    int64_t nrows = 0;
    if (!row) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    if (fmt == STORE_FMT_CSV) {
        for (int c = 0; c < nc; c++) {
            if (c) fputc(',', fp);
            csv_field(fp, sqlite3_column_name(st, c));
        }
        fputc('\n', fp);
    } else if (fmt == STORE_FMT_JSON) {
        fputc('[', fp);
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == STORE_FMT_JSON) fputs(nrows ? ",\n {" : "\n {", fp);
        for (int c = 0; c < nc; c++) {
            int type = sqlite3_column_type(st, c);
            char num[64];
            const char *v = NULL;
            if (type == SQLITE_INTEGER) {
                snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, c));
                v = num;
            } else if (type == SQLITE_FLOAT) {
                double d = sqlite3_column_double(st, c);
                if (isfinite(d)) {
                    fmt_real(num, sizeof num, d, fmt != STORE_FMT_TABLE);
                    v = num;
                } else {
                    type = SQLITE_NULL; /* JSON has no inf; the store never writes one */
                }
            } else if (type != SQLITE_NULL) {
                v = (const char *)sqlite3_column_text(st, c);
                if (!v) v = "";
            }
            if (fmt == STORE_FMT_CSV) {
                if (c) fputc(',', fp);
                if (v) csv_field(fp, v);
            } else if (fmt == STORE_FMT_JSON) {
                if (c) fputs(", ", fp);
                json_string(fp, sqlite3_column_name(st, c));
                fputs(": ", fp);
                if (!v)
                    fputs("null", fp);
                else if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
                    fputs(v, fp);
                else
                    json_string(fp, v);
            } else {
                row[c] = v ? strdup(v) : NULL;
                if (v && !row[c]) goto oom;
            }
        }
        if (fmt == STORE_FMT_CSV)
            fputc('\n', fp);
        else if (fmt == STORE_FMT_JSON)
            fputc('}', fp);
        else if (table_add(&t, row))
            goto oom;
        memset(row, 0, (size_t)nc * sizeof *row);
        nrows++;
    }
    if (r != SQLITE_DONE) {
        rc = util_err(err, errlen, UTIL_EDB, "query failed: %s",
                      sqlite3_errmsg(sqlite3_db_handle(st)));
        goto done;
    }
    if (fmt == STORE_FMT_JSON)
        fputs(nrows ? "\n]\n" : "]\n", fp);
    else if (fmt == STORE_FMT_TABLE)
        table_print(fp, st, &t);
    if (ferror(fp)) rc = util_err(err, errlen, UTIL_EIO, "writing the output failed");
    goto done;
oom:
    for (int c = 0; c < nc; c++)
        free(row[c]);
    rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory printing rows");
done:
    for (size_t i = 0; i < (size_t)t.nrow * (size_t)nc; i++)
        free(t.cells[i]);
    free(t.cells);
    free(row);
    return rc;
}

/* ======================================================================== */
/* Public entry points                                                      */
/* ======================================================================== */

void store_set_query_timeout(store *s, double seconds) {
    s->query_timeout = seconds > 0 ? seconds : 0;
}

/* sqlite3_progress_handler: non-zero interrupts the statement. */
static int past_deadline(void *vs) {
    store *s = vs;
    return util_now() > s->query_deadline;
}

int store_query_params(store *s, const char *sql, const char *const *params, int nparams, int fmt,
                       FILE *fp, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    if (!sql) return util_err(err, errlen, UTIL_EINVAL, "no SQL statement given");
    if (fmt < STORE_FMT_TABLE || fmt > STORE_FMT_JSON)
        return util_err(err, errlen, UTIL_EINVAL, "unknown output format %d", fmt);
    int rc = prepare_readonly(s, sql, &st, err, errlen);
    if (rc) return rc;
    if (nparams > sqlite3_bind_parameter_count(st)) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%d parameters given, the SQL takes %d", nparams,
                      sqlite3_bind_parameter_count(st));
        goto done;
    }
    for (int i = 0; i < nparams; i++) {
        if (params[i])
            sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, i + 1);
    }
    if (s->query_timeout > 0) {
        s->query_deadline = util_now() + s->query_timeout;
        /* every 10000 virtual-machine instructions: well under a millisecond */
        sqlite3_progress_handler(s->db, 10000, past_deadline, s);
    }
    rc = store__emit(st, fmt, fp, err, errlen);
    if (s->query_timeout > 0) {
        if (rc && sqlite3_errcode(s->db) == SQLITE_INTERRUPT)
            rc = util_err(err, errlen, UTIL_EDB, "%s: query stopped at its time limit of %g s",
                          s->path, s->query_timeout);
        sqlite3_progress_handler(s->db, 0, NULL, NULL);
    }
done:
    sqlite3_finalize(st);
    return rc;
}

int store_query(store *s, const char *sql, int fmt, FILE *fp, char *err, size_t errlen) {
    return store_query_params(s, sql, NULL, 0, fmt, fp, err, errlen);
}

int store_export(store *s, const char *table, const char *sweep, int fmt, FILE *fp, char *err,
                 size_t errlen) {
    /* Constant SQL per table; the sweep is a bound parameter. */
    static const struct {
        const char *table, *sql;
    } q[] = {
        {"runs", "SELECT * FROM runs WHERE ?1 IS NULL OR " STORE_SQL_IN_SWEEP(
                     "?1") " "
                           "ORDER BY sweep, compute_budget, params_nonembedding, id"},
        {"steps", "SELECT * FROM steps WHERE ?1 IS NULL OR run_id IN "
                  "(SELECT id FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") ") ORDER BY run_id, step"},
        {"evals",
         "SELECT * FROM evals WHERE ?1 IS NULL OR run_id IN "
         "(SELECT id FROM runs WHERE " STORE_SQL_IN_SWEEP("?1") ") ORDER BY run_id, tokens"},
        {"sweeps", "SELECT * FROM sweeps WHERE ?1 IS NULL OR name=?1 ORDER BY name"},
        {"fits", "SELECT * FROM fits WHERE ?1 IS NULL OR sweep=?1 ORDER BY id"},
        {"sweep_runs", "SELECT * FROM sweep_runs WHERE ?1 IS NULL OR sweep=?1 "
                       "ORDER BY sweep, run_id"},
    };
    if (fmt != STORE_FMT_CSV && fmt != STORE_FMT_JSON && fmt != STORE_FMT_TABLE)
        return util_err(err, errlen, UTIL_EINVAL, "unknown export format %d", fmt);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (table && !strcmp(table, q[i].table)) {
            const char *p[1] = {sweep && *sweep ? sweep : NULL};
            return store_query_params(s, q[i].sql, p, 1, fmt, fp, err, errlen);
        }
    return util_err(err, errlen, UTIL_EINVAL,
                    "table '%s': expected runs, steps, evals, sweeps, fits or sweep_runs",
                    table ? table : "");
}
