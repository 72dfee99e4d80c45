/*
 * cmd_merge.c — `scaling merge OUT.db IN.db...`: fold databases written on
 * other machines (one per shard of a sweep) into OUT.db, created if missing.
 * Each input is merged in its own transaction; conflicts go to stderr.
 */
#include <getopt.h>
#include <string.h>

#include "../results/store.h"
#include "cli.h"

static const char *usage_text =
    "usage: scaling merge OUT.db IN.db...\n"
    "\n"
    "Folds each IN.db into OUT.db (created if missing). Merging is idempotent:\n"
    "merging the same input twice adds nothing. A run finished in IN.db and\n"
    "planned or running in OUT.db is updated; a run whose configuration or final\n"
    "results differ, and a sweep whose file differs, is a conflict: reported on\n"
    "stderr and left as it is in OUT.db. Fits are appended unless identical.\n"
    "A shard may be merged while its sweep runs: a run further along in IN.db\n"
    "(a later status, or a longer curve) updates OUT.db's copy.\n"
    "Exit status 1 if an input could not be merged (it is then left out whole)\n"
    "or a conflict remains.\n";

int cmd_merge(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        return cli_usage("merge", "unknown option");
    }
    if (argc - optind < 2) return cli_usage("merge", "expected OUT.db and at least one IN.db");
    const char *outp = argv[optind];
    char err[UTIL_ERRLEN];
    store *s = NULL;
    if (store_open(&s, outp, STORE_CREATE, err, sizeof err)) return cli_fail("merge", "%s", err);
    int rc = EXIT_OK, total_conflicts = 0;
    for (int i = optind + 1; i < argc; i++) {
        store_merge_stats ms;
        if (store_merge_ex(s, argv[i], &ms, stderr, err, sizeof err)) {
            rc = cli_fail("merge", "%s", err);
            continue;
        }
        total_conflicts += ms.conflicts;
        printf("%s: %d runs added, %d updated, %d conflicts; %d sweeps, %lld steps, %lld evals, "
               "%d fits added\n",
               argv[i], ms.runs_added, ms.runs_updated, ms.conflicts, ms.sweeps_added,
               (long long)ms.steps_added, (long long)ms.evals_added, ms.fits_added);
    }
    if (total_conflicts) {
        fprintf(stderr, "scaling merge: %d conflicts left as they were in %s (see above)\n",
                total_conflicts, outp);
        rc = EXIT_FAIL;
    }
    store_close(s);
    return rc;
}
