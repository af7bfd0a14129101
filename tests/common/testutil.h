/* testutil — helpers the domain unit tests share: dates written as text.
 *
 * Static inline so that each test program stays one file plus this header;
 * a helper fails the running cmocka test (with the input and the library's
 * message) rather than returning an error the test could forget to check. */
#ifndef SK_TESTUTIL_H
#define SK_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "date.h"

/* The day of "YYYY-MM-DD"; fails the test on text sk_date_parse rejects. */
static inline sk_day_t sk_test_day(const char *s)
{
    sk_day_t d = 0;
    sk_err_t e;
    if (sk_date_parse(s, &d, &e) != 0)
        fail_msg("%s: %s", s, e.msg);
    return d;
}

/* Asserts that day prints as want ("YYYY-MM-DD"). */
static inline void sk_test_assert_date(sk_day_t day, const char *want)
{
    char b[16];
    assert_string_equal(sk_date_format(day, b, sizeof b), want);
}

#endif
