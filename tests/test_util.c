/* test_util.c — the shared helpers: RNG streams, hashing, atomic files. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"

Test(util, rng_streams_are_reproducible_and_distinct) {
    util_rng a, b, c;
    util_rng_seed(&a, 42, "init");
    util_rng_seed(&b, 42, "init");
    util_rng_seed(&c, 42, "data");
    int same_ac = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = util_rng_u64(&a), y = util_rng_u64(&b), z = util_rng_u64(&c);
        cr_assert_eq(x, y);
        same_ac += x == z;
    }
    cr_assert_lt(same_ac, 2);
}

Test(util, rng_normal_moments) {
    util_rng r;
    util_rng_seed(&r, 7, "normal");
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = util_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    cr_assert_lt(fabs(s / n), 0.01);
    cr_assert_lt(fabs(s2 / n - 1.0), 0.02);
}

Test(util, rng_below_is_in_range_and_covers) {
    util_rng r;
    util_rng_seed(&r, 1, "below");
    int seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t x = util_rng_below(&r, 7);
        cr_assert_lt(x, 7);
        seen[x]++;
    }
    for (int i = 0; i < 7; i++)
        cr_assert_gt(seen[i], 800);
}

Test(util, fnv_known_value) {
    /* FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (reference value). */
    cr_assert_eq(util_fnv64(UTIL_FNV_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
}

Test(util, atomic_write_replaces_whole_file_and_abort_leaves_nothing) {
    char dir[] = "/tmp/sc_util_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], err[UTIL_ERRLEN];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    cr_assert_eq(util_write_atomic(path, "hello", 5, err, sizeof err), 0, "%s", err);
    char *buf;
    size_t n;
    cr_assert_eq(util_read_file(path, &buf, &n, err, sizeof err), 0);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(buf, "hello");
    free(buf);

    util_afile *f;
    cr_assert_eq(util_afile_open(&f, path, err, sizeof err), 0);
    fputs("partial", util_afile_fp(f));
    util_afile_abort(f);
    cr_assert_eq(util_read_file(path, &buf, &n, err, sizeof err), 0);
    cr_assert_str_eq(buf, "hello", "abort must leave the old file intact");
    free(buf);
    unlink(path);
    rmdir(dir);
}

Test(util, errors_name_the_path) {
    char err[UTIL_ERRLEN];
    char *buf;
    int rc = util_read_file("/nonexistent/x", &buf, NULL, err, sizeof err);
    cr_assert_eq(rc, UTIL_EIO);
    cr_assert(strstr(err, "/nonexistent/x") != NULL, "%s", err);
    rc = util_write_atomic("/nonexistent/dir/x", "a", 1, err, sizeof err);
    cr_assert_eq(rc, UTIL_EIO);
    cr_assert(strstr(err, "/nonexistent/dir/x") != NULL, "%s", err);
}
