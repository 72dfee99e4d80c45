/*
 * util.h — small pieces every module shares: error codes and messages, the
 * seeded RNG with named streams, checksums, atomic file writes, clocks, a
 * straight-line least squares.
 *
 * Owns nothing global. Does not print, does not exit: every function that can
 * fail returns 0 or a negative UTIL_E* code and, when given one, writes a
 * complete one-line message into the caller's buffer `err` of `errlen` bytes.
 */
#ifndef SCALING_UTIL_H
#define SCALING_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Error codes shared by all library modules (negative, 0 is success). */
enum {
    UTIL_OK = 0,
    UTIL_EIO = -1,       /* a file or directory could not be read or written */
    UTIL_EINVAL = -2,    /* bad argument or bad input data */
    UTIL_ENOMEM = -3,    /* allocation failed */
    UTIL_ECORRUPT = -4,  /* a file's magic, version, size or checksum is wrong */
    UTIL_EDB = -5,       /* the results database refused an operation */
    UTIL_EDIVERGED = -6, /* training diverged (NaN/inf or exploding loss) */
    UTIL_EINTR = -7,     /* stopped on request (signal); state is resumable */
    UTIL_ENOTFOUND = -8, /* a named thing (run, sweep, file) does not exist */
    UTIL_EEXTERNAL = -9, /* an external program (gnuplot, npm) failed or is missing */
};

#define UTIL_ERRLEN 512 /* a comfortable size for error buffers */

/* Formats a message into err (if non-NULL) and returns code, so that error
 * paths read `return util_err(err, errlen, UTIL_EIO, "%s: ...", path);`. */
int util_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- Random numbers ---------------------------------------------------- */

/* xoshiro256** state. Streams are derived from (seed, purpose) so that, for
 * example, initialisation and data order never share a sequence and a run is
 * reproducible bit for bit from its seed. Plain data: checkpoints copy it. */
typedef struct {
    uint64_t s[4];
} util_rng;

void util_rng_seed(util_rng *r, uint64_t seed, const char *purpose);
uint64_t util_rng_u64(util_rng *r);
double util_rng_uniform(util_rng *r);             /* in [0, 1) */
uint64_t util_rng_below(util_rng *r, uint64_t n); /* in [0, n), n > 0, unbiased */
double util_rng_normal(util_rng *r);              /* standard normal */

/* ---- Hashing ------------------------------------------------------------ */

/* 64-bit FNV-1a; `h` is the running value (start from UTIL_FNV_INIT). */
#define UTIL_FNV_INIT 0xcbf29ce484222325ULL
uint64_t util_fnv64(uint64_t h, const void *data, size_t n);

/* ---- Little-endian integers in byte buffers (file headers) ------------- */

static inline void util_put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void util_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t util_get_le32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t util_get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- Files -------------------------------------------------------------- */

/* An output file written under a temporary name in the same directory and
 * renamed over `path` only by util_afile_commit, so a reader never sees a
 * half-written file. util_afile_abort (also safe after a failed open, and on
 * NULL) removes the temporary. */
typedef struct util_afile util_afile;
int util_afile_open(util_afile **out, const char *path, char *err, size_t errlen);
FILE *util_afile_fp(util_afile *f);
int util_afile_commit(util_afile *f, char *err, size_t errlen); /* fsync, rename, free */
void util_afile_abort(util_afile *f);                           /* unlink temp, free */

/* Whole-buffer convenience on top of util_afile. */
int util_write_atomic(const char *path, const void *buf, size_t n, char *err, size_t errlen);

/* Reads a whole file into a malloc'd, NUL-terminated buffer (*out, caller
 * frees); *n gets the length without the NUL. */
int util_read_file(const char *path, char **out, size_t *n, char *err, size_t errlen);

/* mkdir -p. */
int util_mkdirs(const char *path, char *err, size_t errlen);

/* The name of names[0..n-1] nearest to `name` by edit distance (case
 * ignored; '-' and '_' alike), or NULL when none is within a third of its
 * length (at least 2 edits): for "did you mean" hints. */
const char *util_nearest(const char *name, const char *const *names, int n);

/* ---- Clocks and the environment ---------------------------------------- */

double util_now(void);                  /* monotonic seconds */
void util_utc_iso(char *buf, size_t n); /* "2026-11-26T05:13:29Z" */
void util_hostname(char *buf, size_t n);
const char *util_git_rev(void); /* revision the program was built from */
const char *util_version(void); /* program version string */

/* ---- Numbers -------------------------------------------------------------- */

/* Least-squares line y = icpt + slope x through n points (plain sums, so a
 * learning-rate rule fitted with it, and the run ids that hash its lr, stay
 * what they were). With n < 2 or all x equal the slope is 0 and the
 * intercept the mean of y. */
void util_line_fit(const double *x, const double *y, int n, double *slope, double *icpt);

#endif
