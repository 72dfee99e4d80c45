/*
 * sweep_file.c — reading a sweep file: the key table, libinih with line
 * tracking (our own reader counts lines, since Debian's libinih handler has no
 * line number), command-line overrides, and value lists with generators
 * (`64, 128`, `logspace(1e5, 1e7, 5)`, `linspace(...)`, `range(a, b, step)`,
 * `2x64` shapes, `rule(NAME)` / `powerlaw(c, p)` learning rates).
 * Does not expand runs (sweep_plan.c does).
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_priv.h"

/* ======================================================================
 * The key table
 * ====================================================================== */

#define BIG 1e30
const sweep_keydef sweep_keys[K_COUNT] = {
    {"name", K_NAME, T_STR, 1, 0, 0, NULL},
    {"mode", K_MODE, T_STR, 1, 0, 0, NULL},
    {"data", K_DATA, T_STR, 1, 0, 0, NULL},
    {"flops", K_FLOPS, T_STR, 1, 0, 0, NULL},
    {"description", K_DESCRIPTION, T_STR, 1, 0, 0, NULL},
    {"n_layer", K_N_LAYER, T_INT, 0, 1, 1024, "layers"},
    {"d_model", K_D_MODEL, T_INT, 0, 1, 65536, NULL},
    {"n_head", K_N_HEAD, T_INT, 0, 1, 4096, "heads"},
    {"head_size", K_HEAD_SIZE, T_INT, 0, 1, 65536, NULL},
    {"d_ff", K_D_FF, T_INT, 0, 1, 1 << 20, NULL},
    {"ff_mult", K_FF_MULT, T_DBL, 0, 0.01, 64, NULL},
    {"n_ctx", K_N_CTX, T_INT, 0, 2, 1 << 20, "ctx"},
    {"shapes", K_SHAPES, T_SHAPES, 0, 0, 0, NULL},
    {"params", K_PARAMS, T_DBL, 0, 1, 1e15, NULL},
    {"params_count", K_PARAMS_COUNT, T_STR, 0, 0, 0, NULL},
    {"aspect", K_ASPECT, T_DBL, 0, 0.01, 1e6, NULL},
    {"tokens", K_TOKENS, T_DBL, 0, 1, 1e18, NULL},
    {"budget", K_BUDGET, T_DBL, 0, 1, 1e30, "budgets"},
    {"unique_tokens", K_UNIQUE_TOKENS, T_DBL, 0, 0, 1e18, NULL},
    {"batch", K_BATCH, T_INT, 0, 1, 1 << 24, NULL},
    {"micro_batch", K_MICRO_BATCH, T_INT, 0, 0, 1 << 24, NULL},
    {"lr", K_LR, T_LR, 0, 1e-12, 100, NULL},
    {"min_lr_frac", K_MIN_LR_FRAC, T_DBL, 0, 0, 1, NULL},
    {"warmup", K_WARMUP, T_INT, 0, 0, SWEEP_MAX_WARMUP, NULL},
    {"warmup_frac", K_WARMUP_FRAC, T_DBL, 0, 0, 1, NULL},
    {"warmup_min", K_WARMUP_MIN, T_INT, 0, 0, SWEEP_MAX_WARMUP, NULL},
    {"schedule", K_SCHEDULE, T_STR, 0, 0, 0, NULL},
    {"cycle_tokens", K_CYCLE_TOKENS, T_DBL, 0, 1, 1e18, NULL},
    {"weight_decay", K_WEIGHT_DECAY, T_DBL, 0, 0, 10, NULL},
    {"beta1", K_BETA1, T_DBL, 0, 0, 0.999999, NULL},
    {"beta2", K_BETA2, T_DBL, 0, 0, 0.999999, NULL},
    {"eps", K_EPS, T_DBL, 0, 1e-30, 1, NULL},
    {"grad_clip", K_GRAD_CLIP, T_DBL, 0, 0, 1e9, NULL},
    {"evals", K_EVALS, T_INT, 0, 0, 100000, NULL},
    {"eval_windows", K_EVAL_WINDOWS, T_INT, 0, 1, 1 << 24, NULL},
    {"final_eval_tokens", K_FINAL_EVAL_TOKENS, T_DBL, 0, 0, 1e18, NULL},
    {"patience", K_PATIENCE, T_INT, 0, 0, 100000, NULL},
    {"log_every", K_LOG_EVERY, T_INT, 0, 1, 1 << 30, NULL},
    {"checkpoint_secs", K_CHECKPOINT_SECS, T_DBL, 0, 0, 1e9, NULL},
    {"seed", K_SEED, T_INT, 0, 0, 9007199254740992.0, "seeds"},
    {"cooldown", K_COOLDOWN, T_DBL, 0, 1e-9, 1, NULL},
    {"cooldown_shape", K_COOLDOWN_SHAPE, T_STR, 0, 0, 0, NULL},
    {"holdout", K_HOLDOUT, T_STR, 0, 0, 0, NULL},
    {"auto_sizes", K_AUTO_SIZES, T_INT, 0, 2, 25, NULL},
    {"auto_width", K_AUTO_WIDTH, T_DBL, 0, 0.05, 3, NULL},
    {"prior_tokens_per_param", K_PRIOR_TPP, T_DBL, 0, 0.01, 1e6, NULL},
    {"prior_a", K_PRIOR_A, T_DBL, 0, SWEEP_AUTO_A_MIN, SWEEP_AUTO_A_MAX, NULL},
};

const sweep_keydef *sweep_key_find(const char *name) {
    for (int i = 0; i < K_COUNT; i++)
        if (!strcmp(sweep_keys[i].name, name) ||
            (sweep_keys[i].alias && !strcmp(sweep_keys[i].alias, name)))
            return &sweep_keys[i];
    return NULL;
}

/* ======================================================================
 * Reading the file
 * ====================================================================== */

#define LINE_MAX_CHARS 4096
/* libinih's MAX_SECTION is 50 bytes with the NUL: a longer name is cut, and
 * the keys that follow land in a section of another name. */
#define SECTION_MAX 50
#define SECTION_MAX_TEXT "49"

typedef struct {
    FILE *fp;
    const char *path;
    int line;                 /* the line the reader last returned (1-based) */
    char cur[LINE_MAX_CHARS]; /* its text, for continuation detection */
    sweep_file *f;
    int err_code; /* first error found by the reader or handler */
    char *err;
    size_t errlen;
} reader_state;

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void rs_fail(reader_state *rs, int code, const char *fmt, const char *a, const char *b) {
    if (rs->err_code) return;
    rs->err_code = code;
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    util_err(rs->err, rs->errlen, code, "%s:%d: %s", rs->path, rs->line, msg);
}

static int add_section(sweep_file *f, const char *name, int line) {
    for (int i = 0; i < f->nsec; i++)
        if (!strcmp(f->sec[i].name, name)) return 0; /* libinih merges repeats */
    if (f->nsec == f->capsec) {
        int cap = f->capsec ? 2 * f->capsec : 8;
        sweep_section *n = realloc(f->sec, cap * sizeof *n);
        if (!n) return UTIL_ENOMEM;
        f->sec = n;
        f->capsec = cap;
    }
    f->sec[f->nsec].name = xstrdup(name);
    if (!f->sec[f->nsec].name) return UTIL_ENOMEM;
    f->sec[f->nsec++].line = line;
    return 0;
}

static int add_entry(sweep_file *f, const char *sec, const char *key, const char *val, int line,
                     const char *origin) {
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 32;
        sweep_entry *n = realloc(f->e, cap * sizeof *n);
        if (!n) return UTIL_ENOMEM;
        f->e = n;
        f->cap = cap;
    }
    sweep_entry *e = &f->e[f->n];
    memset(e, 0, sizeof *e);
    e->section = xstrdup(sec);
    e->key = xstrdup(key);
    e->value = xstrdup(val);
    e->line = line;
    snprintf(e->origin, sizeof e->origin, "%s", origin);
    f->n++;
    if (!e->section || !e->key || !e->value) return UTIL_ENOMEM;
    return 0;
}

/* fgets-style reader for ini_parse_stream: counts lines, notes [section]
 * headers with their line, refuses over-long lines instead of splitting them. */
static char *reader(char *str, int num, void *stream) {
    reader_state *rs = stream;
    /* fgets would hide a NUL byte: strlen stops there and libinih would read
     * a shorter line than the file holds. Count the bytes ourselves. */
    size_t len = 0;
    int c = EOF, nul = 0;
    while (len < sizeof rs->cur - 1 && (c = fgetc(rs->fp)) != EOF) {
        if (c == 0) nul = 1;
        rs->cur[len++] = (char)c;
        if (c == '\n') break;
    }
    rs->cur[len] = 0;
    if (len == 0 && c == EOF) return NULL;
    rs->line++;
    if (nul) {
        rs_fail(rs, UTIL_EINVAL, "a NUL byte: a sweep file is text", NULL, NULL);
        str[0] = '\n';
        str[1] = 0;
        return str;
    }
    int too_long = (len == sizeof rs->cur - 1 && rs->cur[len - 1] != '\n') || (int)len >= num;
    if (too_long) {
        if (len == sizeof rs->cur - 1 && rs->cur[len - 1] != '\n')
            while ((c = fgetc(rs->fp)) != EOF && c != '\n') {
            }
        char lim[32];
        snprintf(lim, sizeof lim, "%d", num - 2);
        rs_fail(rs, UTIL_EINVAL, "line longer than %s characters", lim, NULL);
        str[0] = '\n';
        str[1] = 0;
        return str;
    }
    const char *p = rs->cur;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '[') {
        const char *q = strchr(p, ']');
        if (q) {
            char name[256];
            size_t n = (size_t)(q - p - 1);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, p + 1, n);
            name[n] = 0;
            /* trim */
            char *s = name;
            while (isspace((unsigned char)*s))
                s++;
            char *e = s + strlen(s);
            while (e > s && isspace((unsigned char)e[-1]))
                *--e = 0;
            if (!*s)
                rs_fail(rs, UTIL_EINVAL, "empty section name", NULL, NULL);
            else if (strlen(s) >= SECTION_MAX)
                rs_fail(rs, UTIL_EINVAL, "section name '%s' is longer than %s characters", s,
                        SECTION_MAX_TEXT);
            else if (strpbrk(s, ";#[]"))
                rs_fail(rs, UTIL_EINVAL,
                        "section name '%s': ';', '#', '[' and ']' are not allowed in a section "
                        "name",
                        s, NULL);
            else if (add_section(rs->f, s, rs->line))
                rs_fail(rs, UTIL_ENOMEM, "out of memory", NULL, NULL);
        }
    }
    memcpy(str, rs->cur, len + 1);
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
    reader_state *rs = user;
    sweep_file *f = rs->f;
    if (rs->err_code) return 0;
    if (!section[0]) {
        rs_fail(rs, UTIL_EINVAL, "%s: a key outside any section (start with [sweep])", name, NULL);
        return 0;
    }
    /* libinih calls again with the same name for an indented continuation line */
    int continuation = (rs->cur[0] == ' ' || rs->cur[0] == '\t') && f->n > 0 &&
                       !strcmp(f->e[f->n - 1].section, section) &&
                       !strcmp(f->e[f->n - 1].key, name) && !strchr(rs->cur, '=');
    if ((rs->cur[0] == ' ' || rs->cur[0] == '\t') && f->n > 0 &&
        !strcmp(f->e[f->n - 1].section, section) && !strcmp(f->e[f->n - 1].key, name) &&
        strchr(rs->cur, '=')) {
        /* libinih read an indented "key = value" as a continuation */
        rs_fail(rs, UTIL_EINVAL,
                "an indented line continues the value of '%s'; start 'key = value' lines at the "
                "beginning of the line",
                name, NULL);
        return 0;
    }
    if (continuation) {
        sweep_entry *e = &f->e[f->n - 1];
        size_t n = strlen(e->value) + strlen(value) + 3;
        char *v = malloc(n);
        if (!v) {
            rs_fail(rs, UTIL_ENOMEM, "out of memory", NULL, NULL);
            return 0;
        }
        size_t pl = strlen(e->value);
        snprintf(v, n, "%s%s%s", e->value, pl && e->value[pl - 1] == ',' ? " " : ", ", value);
        free(e->value);
        e->value = v;
        return 1;
    }
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].section, section) && !strcmp(f->e[i].key, name)) {
            char first[32];
            snprintf(first, sizeof first, "%d", f->e[i].line);
            rs_fail(rs, UTIL_EINVAL, "%s: set twice in this section (first at line %s)", name,
                    first);
            return 0;
        }
    char origin[160];
    snprintf(origin, sizeof origin, "%s:%d", rs->path, rs->line);
    if (add_entry(f, section, name, value, rs->line, origin)) {
        rs_fail(rs, UTIL_ENOMEM, "out of memory", NULL, NULL);
        return 0;
    }
    return 1;
}

void sweep_file_free(sweep_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->e[i].section);
        free(f->e[i].key);
        free(f->e[i].value);
    }
    for (int i = 0; i < f->nsec; i++)
        free(f->sec[i].name);
    free(f->e);
    free(f->sec);
    free(f->text);
    memset(f, 0, sizeof *f);
}

static void trim(char *s) {
    char *b = s;
    while (isspace((unsigned char)*b))
        b++;
    memmove(s, b, strlen(b) + 1);
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
}

/* Applies one "key=value" / "section.key=value" override. */
static int apply_override(sweep_file *f, const char *arg, char *err, size_t errlen) {
    char buf[LINE_MAX_CHARS];
    if (strlen(arg) >= sizeof buf)
        return util_err(err, errlen, UTIL_EINVAL, "override too long: '%.40s...'", arg);
    strcpy(buf, arg);
    char *eq = strchr(buf, '=');
    if (!eq)
        return util_err(err, errlen, UTIL_EINVAL,
                        "override '%s': expected key=value or section.key=value", arg);
    *eq = 0;
    char *key = buf, *val = eq + 1;
    trim(key);
    trim(val);
    const char *section = "sweep";
    char *dot = strrchr(key, '.');
    if (dot) {
        *dot = 0;
        section = key;
        key = dot + 1;
        trim(key);
        trim((char *)section);
    }
    if (!*key || !*section)
        return util_err(err, errlen, UTIL_EINVAL,
                        "override '%s': expected key=value or section.key=value", arg);
    int found = 0;
    for (int i = 0; i < f->nsec; i++)
        if (!strcmp(f->sec[i].name, section)) found = 1;
    if (!found)
        return util_err(err, errlen, UTIL_EINVAL, "override '%s': the file has no section [%s]",
                        arg, section);
    char origin[160];
    snprintf(origin, sizeof origin, "override '%.140s'", arg);
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].section, section) && !strcmp(f->e[i].key, key)) {
            char *v = xstrdup(val);
            if (!v) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
            free(f->e[i].value);
            f->e[i].value = v;
            f->e[i].line = 0;
            snprintf(f->e[i].origin, sizeof f->e[i].origin, "%s", origin);
            return 0;
        }
    if (add_entry(f, section, key, val, 0, origin))
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    return 0;
}

int sweep_file_read(const char *path, const char *const *overrides, int noverrides, sweep_file *f,
                    char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    size_t n;
    int rc = util_read_file(path, &f->text, &n, err, errlen);
    if (rc) return rc;
    reader_state rs = {0};
    rs.path = path;
    rs.f = f;
    rs.err = err;
    rs.errlen = errlen;
    rs.fp = fopen(path, "r");
    if (!rs.fp) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot open", path);
        goto fail;
    }
    int r = ini_parse_stream(reader, &rs, handler, &rs);
    fclose(rs.fp);
    if (rs.err_code) {
        rc = rs.err_code;
        goto fail;
    }
    if (r > 0) {
        rc = util_err(err, errlen, UTIL_EINVAL,
                      "%s:%d: expected 'key = value', '[section]' or a comment", path, r);
        goto fail;
    }
    if (r < 0) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot read", path);
        goto fail;
    }
    int have_sweep = 0;
    for (int i = 0; i < f->nsec; i++)
        if (!strcmp(f->sec[i].name, "sweep")) have_sweep = 1;
    if (!have_sweep) {
        rc = util_err(err, errlen, UTIL_EINVAL, "%s:1: no [sweep] section", path);
        goto fail;
    }
    for (int i = 0; i < noverrides; i++)
        if ((rc = apply_override(f, overrides[i], err, errlen))) goto fail;
    return 0;
fail:
    sweep_file_free(f);
    return rc;
}

/* ======================================================================
 * Values
 * ====================================================================== */

void sweep_value_free(sweep_value *v) {
    if (!v) return;
    free(v->v);
    free(v->s);
    memset(v, 0, sizeof *v);
}

static int push(sweep_value *out, int *cap, double x) {
    if (out->n == *cap) {
        int c = *cap ? 2 * *cap : 8;
        if (c > SWEEP_MAX_RUNS * 2) return UTIL_EINVAL;
        double *n = realloc(out->v, c * sizeof *n);
        if (!n) return UTIL_ENOMEM;
        out->v = n;
        *cap = c;
    }
    out->v[out->n++] = x;
    return 0;
}

/* Strict number: the whole (trimmed) string. */
static int num(const char *s, double *x) {
    char *end;
    errno = 0;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s) return -1;
    *x = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s || *end || errno || !isfinite(*x)) return -1;
    return 0;
}

/* Splits "a, f(b, c), d" at top-level commas into items (in place). */
static int split_items(char *s, char **items, int max) {
    int n = 0, depth = 0;
    char *start = s;
    for (char *p = s;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if ((*p == ',' && depth == 0) || !*p) {
            int end = !*p;
            *p = 0;
            if (n == max) return -1;
            trim(start);
            items[n++] = start;
            if (end) break;
            start = p + 1;
        }
    }
    return depth == 0 ? n : -2;
}

/* "name(args)" → name and the args split; returns the arg count or -1. */
static int call_parse(char *item, char **fname, char **args, int max) {
    char *lp = strchr(item, '(');
    size_t len = strlen(item);
    if (!lp || len < 3 || item[len - 1] != ')') return -1;
    *lp = 0;
    item[len - 1] = 0;
    *fname = item;
    trim(*fname);
    return split_items(lp + 1, args, max);
}

int sweep_value_parse(const sweep_entry *e, const sweep_keydef *k, const char *db_path,
                      sweep_value *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    int rc = 0, cap = 0;
    char *buf = xstrdup(e->value);
    char *items[256];
    if (!buf) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
#define BAD(...)                                                                                   \
    do {                                                                                           \
        char why_[768];                                                                            \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        rc = util_err(err, errlen, UTIL_EINVAL, "%s: %s = %s: %s", e->origin, e->key, e->value,    \
                      why_);                                                                       \
        goto done;                                                                                 \
    } while (0)
    if (!e->value[0]) BAD("empty value");
    if (k->type == T_STR) {
        out->s = xstrdup(e->value);
        if (!out->s) rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
        goto done;
    }
    int n = split_items(buf, items, 256);
    if (n == -2) BAD("unbalanced parentheses");
    if (n < 0) BAD("more than 256 items");
    for (int i = 0; i < n; i++) {
        char *it = items[i];
        double x;
        if (!*it) BAD("empty item in the list");
        if (k->type == T_SHAPES) {
            int L, D;
            char c;
            if (sscanf(it, "%d%*[xX]%d%c", &L, &D, &c) != 2 || L < 1 || D < 1 || L > 1024 ||
                D > 65536)
                BAD("expected shapes as N_LAYERxD_MODEL, e.g. 2x64, got '%s'", it);
            if ((rc = push(out, &cap, L)) || (rc = push(out, &cap, D))) goto oom;
            continue;
        }
        if (k->id == K_PARAMS && (!strcmp(it, "auto") || !strcmp(it, "optimal"))) {
            /* adaptive sizes (sweep_auto.c): the value is the word */
            if (n != 1) BAD("'%s' must be the only item", it);
            out->s = xstrdup(it);
            if (!out->s) goto oom;
            goto done;
        }
        if (k->id == K_UNIQUE_TOKENS && !strcmp(it, "all")) {
            if ((rc = push(out, &cap, 0))) goto oom;
            continue;
        }
        if (num(it, &x) == 0) {
            if (k->type == T_INT && x != floor(x)) BAD("expected an integer, got '%s'", it);
            if (x < k->lo || x > k->hi) BAD("'%s' is out of range [%g, %g]", it, k->lo, k->hi);
            if ((rc = push(out, &cap, x))) goto oom;
            continue;
        }
        char *fname, *args[8];
        int na = call_parse(it, &fname, args, 8);
        if (na < 0) BAD("expected a number, a list 'a, b, c' or a generator, got '%s'", it);
        if (k->type == T_LR && (!strcmp(fname, "rule") || !strcmp(fname, "powerlaw"))) {
            if (n != 1) BAD("%s(...) must be the only item", fname);
            out->is_rule = 1;
            if (!strcmp(fname, "powerlaw")) {
                if (na != 2 || num(args[0], &out->rule_c) || num(args[1], &out->rule_p) ||
                    out->rule_c <= 0)
                    BAD("expected powerlaw(c, p) meaning lr = c * N^-p with c > 0");
            } else {
                if (na != 1 || !args[0][0]) BAD("expected rule(SWEEPNAME)");
                if (!db_path) BAD("rule(%s) needs a results database (--db)", args[0]);
                int ns;
                char why[UTIL_ERRLEN];
                if (sweep_lr_rule(db_path, args[0], &out->rule_c, &out->rule_p, &ns, why,
                                  sizeof why))
                    BAD("%s", why);
            }
            goto done;
        }
        double a[3];
        if (na < 2 || na > 3) BAD("%s(...) takes 2 or 3 arguments", fname);
        for (int j = 0; j < na; j++)
            if (num(args[j], &a[j])) BAD("%s(...): '%s' is not a number", fname, args[j]);
        int is_int = k->type == T_INT;
        if (!strcmp(fname, "logspace") || !strcmp(fname, "geomspace") ||
            !strcmp(fname, "linspace")) {
            int lg = strcmp(fname, "linspace") != 0;
            if (na != 3 || a[2] != floor(a[2]) || a[2] < 1 || a[2] > 10000)
                BAD("expected %s(first, last, count) with a whole count", fname);
            if (lg && (a[0] <= 0 || a[1] <= 0)) BAD("%s needs positive bounds", fname);
            int cnt = (int)a[2];
            for (int j = 0; j < cnt; j++) {
                double t = cnt == 1 ? 0 : (double)j / (cnt - 1);
                x = lg ? exp(log(a[0]) + t * (log(a[1]) - log(a[0]))) : a[0] + t * (a[1] - a[0]);
                /* exact end points; 12 significant digits so 1e9 reads back as 1e9 */
                if (j == 0)
                    x = a[0];
                else if (j == cnt - 1)
                    x = a[1];
                else {
                    char d[64];
                    snprintf(d, sizeof d, "%.12g", x);
                    x = strtod(d, NULL);
                }
                if (is_int) x = floor(x + 0.5);
                if (x < k->lo || x > k->hi)
                    BAD("%s gives %g, out of range [%g, %g]", fname, x, k->lo, k->hi);
                int dup = 0;
                for (int m = 0; m < out->n; m++)
                    dup |= out->v[m] == x;
                if (!dup && (rc = push(out, &cap, x))) goto oom;
            }
        } else if (!strcmp(fname, "range")) {
            /* Python's range: end excluded */
            double step = na == 3 ? a[2] : 1;
            if (step == 0 || (a[1] - a[0]) / step > 100000)
                BAD("range(start, stop, step) with a non-zero step and at most 100000 values");
            for (x = a[0]; step > 0 ? x < a[1] - 1e-9 * fabs(step) : x > a[1] + 1e-9 * fabs(step);
                 x += step) {
                if (is_int && x != floor(x)) BAD("range gives %g, expected integers", x);
                if (x < k->lo || x > k->hi)
                    BAD("range gives %g, out of range [%g, %g]", x, k->lo, k->hi);
                if ((rc = push(out, &cap, x))) goto oom;
            }
        } else {
            BAD("unknown generator '%s' (expected logspace, linspace or range%s)", fname,
                k->type == T_LR ? ", or rule/powerlaw" : "");
        }
    }
    if (out->n == 0) BAD("the list is empty");
    for (int i = 0; i < out->n && k->type != T_SHAPES; i++)
        for (int j = 0; j < i; j++)
            if (out->v[i] == out->v[j]) BAD("%g appears twice in the list", out->v[i]);
    goto done;
oom:
    if (rc == UTIL_ENOMEM)
        rc = util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    else
        rc = util_err(err, errlen, rc, "%s: %s: too many values", e->origin, e->key);
done:
#undef BAD
    free(buf);
    if (rc) sweep_value_free(out);
    return rc;
}
