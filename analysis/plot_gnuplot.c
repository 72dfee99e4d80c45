/*
 * plot_gnuplot.c — the gnuplot process: quoting strings for its scripts,
 * running it through a pipe with its stderr captured, and judging its output.
 *
 * gnuplot reads the whole script (data inline as datablocks) on its stdin;
 * its stderr and stdout go to an anonymous memory file (memfd), so a chatty
 * gnuplot can never block on a full pipe while we are still writing, and
 * nothing is left on disk. SIGPIPE is blocked while writing, so a gnuplot
 * that dies early is an error message, not a killed process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plot.h"

/* ---- Quoting ------------------------------------------------------------- */

/* A quote inside the string closes the literal, appends "'" (a double-quoted
 * string holding nothing but the quote, so no backslash escape, backquote or
 * macro can be in it) and reopens: it's -> 'it'."'".'s'. Doubling ('it''s')
 * is what the manual says, but gnuplot 5.4's scanner misreads two doubled
 * quotes in a row (four quotes inside a literal are a syntax error), so we
 * never rely on it. */
int plot_gp_quote(const char *s, char *out, size_t outlen, char *err, size_t errlen) {
    static const char QQ[] = "'.\"'\".'"; /* 7 bytes: ' . " ' " . ' */
    size_t j = 0;
    if (outlen < 3) return util_err(err, errlen, UTIL_EINVAL, "gnuplot string: buffer too small");
    out[j++] = '\'';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            out[0] = 0;
            return util_err(err, errlen, UTIL_EINVAL,
                            "gnuplot string: control character 0x%02x at offset %zu in '%.40s'", *p,
                            (size_t)(p - (const unsigned char *)s), s);
        }
        size_t need = (*p == '\'') ? sizeof QQ - 1 : 1;
        if (j + need + 2 > outlen) {
            out[0] = 0;
            return util_err(err, errlen, UTIL_EINVAL,
                            "gnuplot string: '%.40s...' too long (%zu bytes max)", s, outlen);
        }
        if (*p == '\'') {
            memcpy(out + j, QQ, sizeof QQ - 1);
            j += sizeof QQ - 1;
        } else {
            out[j++] = (char)*p;
        }
    }
    out[j++] = '\'';
    out[j] = 0;
    return 0;
}

/* ---- Running gnuplot ------------------------------------------------------ */

/* Collapses gnuplot's multi-line complaint into one line for an error message:
 * the lines that say what is wrong, without the caret and echo lines. */
static void one_line(const char *text, char *out, size_t outlen) {
    size_t j = 0, prevn = 0;
    const char *p = text, *prev = NULL;
    out[0] = 0;
    while (*p && j + 4 < outlen) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *a = p;
        while (n && (*a == ' ' || *a == '\t'))
            a++, n--;
        int caret = n && a[0] == '^';
        /* a line repeated (gnuplot says it once per bad point) is kept once */
        int repeat = prev && prevn == n && !memcmp(prev, a, n);
        if (n && !caret && !repeat) {
            prev = a, prevn = n;
            if (j) out[j++] = ' ', out[j++] = '|', out[j++] = ' ';
            for (size_t k = 0; k < n && j + 1 < outlen; k++)
                out[j++] = (a[k] == '\r' || a[k] == '\t') ? ' ' : a[k];
            out[j] = 0;
        }
        if (!e) break;
        p = e + 1;
    }
}

/* True when gnuplot's stderr says something went wrong: a line mentioning
 * "error", the echo of a failed command ("gnuplot>"), or a "line N:" complaint
 * (gnuplot's error format when reading a script). Warnings alone are fine. */
static int stderr_has_error(const char *text) {
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[512];
        size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
        memcpy(line, p, m);
        line[m] = 0;
        if (!strcasestr(line, "warning:")) {
            if (strcasestr(line, "error") || strstr(line, "gnuplot>")) return 1;
            const char *l = strstr(line, "line ");
            if (l) {
                l += 5;
                while (*l >= '0' && *l <= '9')
                    l++;
                if (*l == ':' && l > strstr(line, "line ") + 5) return 1;
            }
        }
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int plot_gnuplot_run(const char *bin, const char *script, size_t len, char *err, size_t errlen) {
    int rc = 0, in[2] = {-1, -1}, ex[2] = {-1, -1}, errfd = -1;
    pid_t pid = -1;
    char *text = NULL;
    sigset_t pipeset, oldset;
    int blocked = 0;

    if (!bin || !*bin) bin = getenv("SCALING_GNUPLOT");
    if (!bin || !*bin) bin = "gnuplot";

    errfd = memfd_create("gnuplot-stderr", MFD_CLOEXEC);
    if (errfd < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
        rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot: cannot create pipes: %s",
                      strerror(errno));
        goto done;
    }
    pid = fork();
    if (pid < 0) {
        rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot: fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        /* child: stdin from the pipe, stdout and stderr into the memfd */
        if (dup2(in[0], 0) < 0 || dup2(errfd, 1) < 0 || dup2(errfd, 2) < 0) _exit(127);
        execlp(bin, bin, (char *)NULL);
        int e = errno;
        ssize_t w = write(ex[1], &e, sizeof e); /* tell the parent why */
        (void)w;
        _exit(127);
    }
    close(in[0]);
    in[0] = -1;
    close(ex[1]);
    ex[1] = -1;

    /* exec succeeded iff the close-on-exec pipe closes without data */
    int child_errno = 0;
    ssize_t r;
    do
        r = read(ex[0], &child_errno, sizeof child_errno);
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)sizeof child_errno) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        pid = -1;
        if (child_errno == ENOENT)
            rc = util_err(err, errlen, UTIL_EEXTERNAL,
                          "gnuplot not found ('%s'): install the gnuplot-nox package "
                          "(apt-get install gnuplot-nox; elsewhere the package is called gnuplot)"
                          " or set SCALING_GNUPLOT to its path",
                          bin);
        else
            rc = util_err(err, errlen, UTIL_EEXTERNAL,
                          "gnuplot ('%s') could not be started: %s; install the gnuplot-nox "
                          "package (or gnuplot) or set SCALING_GNUPLOT",
                          bin, strerror(child_errno));
        goto done;
    }

    /* feed the script; a gnuplot that exits early gives EPIPE, not SIGPIPE */
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipeset, &oldset) == 0) blocked = 1;
    int write_errno = 0;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(in[1], script + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            write_errno = errno;
            break;
        }
        off += (size_t)w;
    }
    close(in[1]);
    in[1] = -1;
    if (blocked) {
        sigset_t pend;
        struct timespec zero = {0, 0};
        if (sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE))
            sigtimedwait(&pipeset, NULL, &zero); /* consume our own SIGPIPE */
        pthread_sigmask(SIG_SETMASK, &oldset, NULL);
        blocked = 0;
    }

    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot: waitpid: %s", strerror(errno));
            pid = -1;
            goto done;
        }
    }
    pid = -1;

    /* read what it said */
    off_t size = lseek(errfd, 0, SEEK_END);
    if (size < 0) size = 0;
    if (size > 65536) size = 65536;
    text = malloc((size_t)size + 1);
    if (!text) {
        rc = util_err(err, errlen, UTIL_ENOMEM, "gnuplot: out of memory");
        goto done;
    }
    ssize_t got = pread(errfd, text, (size_t)size, 0);
    text[got > 0 ? got : 0] = 0;

    char said[400];
    one_line(text, said, sizeof said);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (WIFSIGNALED(st))
            rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot ('%s') killed by signal %d: %s",
                          bin, WTERMSIG(st), said);
        else
            rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot ('%s') failed (exit %d): %s", bin,
                          WEXITSTATUS(st), said[0] ? said : "no message");
    } else if (stderr_has_error(text)) {
        rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot ('%s') reported an error: %s", bin,
                      said);
    } else if (write_errno) {
        rc = util_err(err, errlen, UTIL_EEXTERNAL, "gnuplot ('%s') stopped reading its script: %s",
                      bin, strerror(write_errno));
    }

done:
    if (blocked) pthread_sigmask(SIG_SETMASK, &oldset, NULL);
    if (pid > 0) {
        int st2;
        kill(pid, SIGKILL);
        while (waitpid(pid, &st2, 0) < 0 && errno == EINTR) {
        }
    }
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) close(in[i]);
        if (ex[i] >= 0) close(ex[i]);
    }
    if (errfd >= 0) close(errfd);
    free(text);
    return rc;
}
