/*
 * lsan.c — linked into every test executable.
 *
 * Criterion's runner itself leaks 48 bytes (a calloc inside libcriterion)
 * when a long test runs beside short ones under --jobs 2; LeakSanitizer then
 * fails the whole executable. Suppress leaks whose allocation is in
 * libcriterion only; ours are still reported. Harmless without sanitizers.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libcriterion.so\n"; }
