/*
 * util.c — error formatting, RNG streams, FNV hashing, atomic files, clocks.
 * See util.h for the contracts.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SCALING_GIT_REV
#define SCALING_GIT_REV "unknown"
#endif
#ifndef SCALING_VERSION
#define SCALING_VERSION "0.1.0"
#endif

int util_err(char *err, size_t errlen, int code, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ==== RNG ================================================================ */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void util_rng_seed(util_rng *r, uint64_t seed, const char *purpose) {
    /* Mixing the purpose's hash into the seed gives independent streams for
     * "init", "data", "bootstrap", ... from one user-visible seed. */
    uint64_t x =
        seed ^ util_fnv64(UTIL_FNV_INIT, purpose ? purpose : "", purpose ? strlen(purpose) : 0);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t util_rng_u64(util_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double util_rng_uniform(util_rng *r) {
    return (double)(util_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t util_rng_below(util_rng *r, uint64_t n) {
    /* Rejection sampling removes the modulo bias. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = util_rng_u64(r);
    while (x >= lim);
    return x % n;
}

double util_rng_normal(util_rng *r) {
    /* Box–Muller; one of the pair is discarded to keep the state a plain
     * 4-word struct (no cached spare), which makes checkpoints trivial. */
    double u1 = util_rng_uniform(r), u2 = util_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ==== Hashing ============================================================ */

uint64_t util_fnv64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ==== Files ============================================================== */

struct util_afile {
    FILE *fp;
    char *path; /* final name */
    char *tmp;  /* temporary name in the same directory, so rename is atomic */
};

int util_afile_open(util_afile **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    util_afile *f = calloc(1, sizeof *f);
    if (!f) return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    f->path = strdup(path);
    if (asprintf(&f->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) f->tmp = NULL;
    if (!f->path || !f->tmp) {
        util_afile_abort(f);
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory");
    }
    f->fp = fopen(f->tmp, "wb");
    if (!f->fp) {
        int e = errno;
        util_err(err, errlen, UTIL_EIO, "%s: cannot write: %s", path, strerror(e));
        free(f->path);
        free(f->tmp);
        free(f);
        return UTIL_EIO;
    }
    *out = f;
    return 0;
}

FILE *util_afile_fp(util_afile *f) {
    return f->fp;
}

int util_afile_commit(util_afile *f, char *err, size_t errlen) {
    int rc = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: write failed: %s", f->path, strerror(errno));
        util_afile_abort(f);
        return rc;
    }
    if (fclose(f->fp) != 0) {
        f->fp = NULL;
        rc = util_err(err, errlen, UTIL_EIO, "%s: write failed: %s", f->path, strerror(errno));
        util_afile_abort(f);
        return rc;
    }
    f->fp = NULL;
    if (rename(f->tmp, f->path) != 0) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: cannot rename into place: %s", f->path,
                      strerror(errno));
        util_afile_abort(f);
        return rc;
    }
    free(f->path);
    free(f->tmp);
    free(f);
    return 0;
}

void util_afile_abort(util_afile *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    if (f->tmp) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    free(f);
}

int util_write_atomic(const char *path, const void *buf, size_t n, char *err, size_t errlen) {
    util_afile *f;
    int rc = util_afile_open(&f, path, err, errlen);
    if (rc) return rc;
    if (n && fwrite(buf, 1, n, f->fp) != n) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: write failed: %s", path, strerror(errno));
        util_afile_abort(f);
        return rc;
    }
    return util_afile_commit(f, err, errlen);
}

int util_read_file(const char *path, char **out, size_t *n, char *err, size_t errlen) {
    *out = NULL;
    if (n) *n = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return util_err(err, errlen, UTIL_EIO, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    if (!buf) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap) break;
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) {
            rc = util_err(err, errlen, UTIL_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        buf = nb;
        cap *= 2;
    }
    if (ferror(fp)) {
        rc = util_err(err, errlen, UTIL_EIO, "%s: read failed: %s", path, strerror(errno));
        goto done;
    }
    buf[len] = 0;
    *out = buf;
    buf = NULL;
    if (n) *n = len;
done:
    free(buf);
    fclose(fp);
    return rc;
}

int util_mkdirs(const char *path, char *err, size_t errlen) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return util_err(err, errlen, UTIL_EINVAL, "bad directory path '%s'", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return util_err(err, errlen, UTIL_EIO, "%s: cannot create directory: %s", buf,
                                strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return util_err(err, errlen, UTIL_EIO, "%s: not a directory", path);
    return 0;
}

/* ==== Clocks and environment ============================================ */

double util_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void util_utc_iso(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void util_hostname(char *buf, size_t n) {
    if (gethostname(buf, n) != 0) snprintf(buf, n, "unknown");
    buf[n - 1] = 0;
}

const char *util_git_rev(void) {
    return SCALING_GIT_REV;
}
const char *util_version(void) {
    return SCALING_VERSION;
}

void util_line_fit(const double *x, const double *y, int n, double *slope, double *icpt) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    double den = n * sxx - sx * sx;
    double b = den > 0 ? (n * sxy - sx * sy) / den : 0;
    *slope = b;
    *icpt = n > 0 ? (sy - b * sx) / n : 0;
}

/* Levenshtein distance of a and b (case ignored, '-' = '_'), capped at 64 characters. */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 64) la = 64;
    if (lb > 64) lb = 64;
    int prev[65], cur[65];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int ca = a[i - 1] == '-' ? '_' : a[i - 1] | 32,
                cb = b[j - 1] == '-' ? '_' : b[j - 1] | 32;
            int d = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < d) d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            cur[j] = d;
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

const char *util_nearest(const char *name, const char *const *names, int n) {
    const char *best = NULL;
    int bd = 1 << 30, len = (int)strlen(name);
    int limit = len / 3 > 2 ? len / 3 : 2;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(name, names[i]);
        if (d < bd) bd = d, best = names[i];
    }
    return bd <= limit ? best : NULL;
}
