/*
 * A minimal TAP producer for the C unit tests, read by prove(1).
 *
 *     ok(cond, "name %d", i);
 *     is_str(got, "expected", "name");
 *     is_int(got, 42, "name");
 *     return done_testing();
 *
 * plan(n) announces the count up front; otherwise done_testing() prints
 * "1..N" at the end.  done_testing() returns the exit status: zero only
 * when every test passed and the plan, if any, was met.
 */

#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <string.h>


#if defined(__GNUC__)
#define TAP_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#else
#define TAP_PRINTF(f, a)
#endif


static inline void plan(int n);
static inline int ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);
static inline int is_str(const char *got, const char *expected,
    const char *fmt, ...) TAP_PRINTF(3, 4);
static inline int is_int(long long got, long long expected,
    const char *fmt, ...) TAP_PRINTF(3, 4);
static inline void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
static inline int done_testing(void);
static inline int tap_vok(int cond, const char *fmt, va_list args)
    TAP_PRINTF(2, 0);


static int  tap_planned = -1;
static int  tap_run;
static int  tap_failed;


static inline void
plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}


static inline int
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    cond = tap_vok(cond, fmt, args);
    va_end(args);

    return cond;
}


static inline int
is_str(const char *got, const char *expected, const char *fmt, ...)
{
    int      pass;
    va_list  args;

    if (got == NULL || expected == NULL) {
        pass = (got == expected);

    } else {
        pass = (strcmp(got, expected) == 0);
    }

    va_start(args, fmt);
    tap_vok(pass, fmt, args);
    va_end(args);

    if (!pass) {
        diag("         got: %s%s%s", got ? "'" : "", got ? got : "NULL",
             got ? "'" : "");
        diag("    expected: %s%s%s", expected ? "'" : "",
             expected ? expected : "NULL", expected ? "'" : "");
    }

    return pass;
}


static inline int
is_int(long long got, long long expected, const char *fmt, ...)
{
    int      pass;
    va_list  args;

    pass = (got == expected);

    va_start(args, fmt);
    tap_vok(pass, fmt, args);
    va_end(args);

    if (!pass) {
        diag("         got: %lld", got);
        diag("    expected: %lld", expected);
    }

    return pass;
}


static inline void
diag(const char *fmt, ...)
{
    va_list  args;

    /* keep diagnostics next to the test line they explain */
    fflush(stdout);

    fputs("# ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    fflush(stderr);
}


static inline int
done_testing(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_run);

    } else if (tap_planned != tap_run) {
        diag("planned %d tests but ran %d", tap_planned, tap_run);
    }

    fflush(stdout);

    if (tap_failed) {
        diag("failed %d of %d tests", tap_failed, tap_run);
        return tap_failed < 255 ? tap_failed : 254;
    }

    return (tap_planned < 0 || tap_planned == tap_run) ? 0 : 255;
}


static inline int
tap_vok(int cond, const char *fmt, va_list args)
{
    tap_run++;

    if (!cond) {
        tap_failed++;
        fputs("not ", stdout);
    }

    printf("ok %d - ", tap_run);
    vprintf(fmt, args);
    putchar('\n');
    fflush(stdout);

    if (!cond) {
        diag("  Failed test %d", tap_run);
    }

    return cond != 0;
}


#endif /* _TAP_H_INCLUDED_ */
