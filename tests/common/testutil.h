/* testutil — helpers the domain unit tests share: dates written as text,
 * and the order event most tests start from.
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
#include "invoice_rules.h"

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

/* A first-version order of customer C-1 (salesperson S-7) in CNY, without
 * invoice or delivery date; amounts in minor units. */
static inline sk_order_event_t sk_test_order(const char *oid, const char *terms, int64_t amount,
                                             int64_t tax, const char *ship)
{
    sk_order_event_t o = {
        .order_id = oid,
        .customer_id = "C-1",
        .salesperson = "S-7",
        .currency = "CNY",
        .terms = terms,
        .ship_date = sk_test_day(ship),
        .invoice_date = -1,
        .delivery_date = -1,
        .amount = amount,
        .tax = tax,
        .version = 0,
    };
    return o;
}

#endif
