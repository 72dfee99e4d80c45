/*
 * testlib.h — what every test executable shares (tests/testlib.c is linked
 * into each): running a command line and capturing its output.
 */
#ifndef SCALING_TESTLIB_H
#define SCALING_TESTLIB_H

#include <stddef.h>

/* Runs the printf-formatted shell command line with stdout and stderr
 * captured into out (NUL-terminated, truncated to n-1 bytes; the rest is
 * read and dropped so the command never blocks). Returns its exit code, or
 * -1 if it did not exit normally or could not be started. */
int tl_sh(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* tl_sh with the command run in directory dir (`cd 'dir' && ...`). */
int tl_sh_in(const char *dir, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
