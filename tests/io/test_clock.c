/* sk_clock: which clock SKONTO_CLOCK / SKONTO_TODAY choose (instants and
 * their UTC day are tested with common/date in tests/common/test_date.c).
 * (Moving simulated time in Redis is proven end to end
 * in tests/e2e/test_clock.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sk_clock.h"

static void test_modes(void **state)
{
    (void)state;
    sk_err_t err;
    char how[160];
    sk_clock_t *c = sk_clock_new(NULL, NULL, &err);
    assert_non_null(c);
    assert_int_equal(sk_clock_mode(c), SK_CLOCK_SYSTEM);
    int64_t before = sk_now_ms();
    assert_int_equal(sk_clock_tick(c, NULL, &err), 0);
    assert_true(sk_clock_now(c) >= before && sk_clock_now(c) <= sk_now_ms());
    sk_clock_destroy(&c);
    assert_null(c);

    c = sk_clock_new("fixed:2026-11-02T09:00:00Z", NULL, &err);
    assert_non_null(c);
    assert_int_equal(sk_clock_mode(c), SK_CLOCK_FIXED);
    assert_string_equal(sk_clock_mode_name(c), "fixed");
    assert_int_equal(sk_clock_tick(c, NULL, &err), 0);
    assert_int_equal(sk_clock_now(c), INT64_C(1793610000000));
    assert_int_equal(sk_clock_today(c), sk_date_from_ymd(2026, 11, 2));
    assert_string_equal(sk_clock_describe(c, how, sizeof how),
                        "fixed at 2026-11-02T09:00:00Z (SKONTO_CLOCK)");
    sk_clock_destroy(&c);

    /* SKONTO_TODAY keeps working, and wins over SKONTO_CLOCK */
    c = sk_clock_new("redis", "2026-11-13", &err);
    assert_non_null(c);
    assert_int_equal(sk_clock_mode(c), SK_CLOCK_FIXED);
    assert_int_equal(sk_clock_today(c), sk_date_from_ymd(2026, 11, 13));
    assert_string_equal(sk_clock_describe(c, how, sizeof how),
                        "fixed at 2026-11-13T00:00:00Z (SKONTO_TODAY)");
    sk_clock_destroy(&c);

    /* redis without a connection yet: the wall clock until the first read */
    c = sk_clock_new("redis", "", &err);
    assert_non_null(c);
    assert_int_equal(sk_clock_mode(c), SK_CLOCK_REDIS);
    assert_false(sk_clock_is_set(c));
    assert_true(sk_clock_now(c) >= before);
    sk_clock_destroy(&c);
}

static void test_bad_settings_name_the_variable(void **state)
{
    (void)state;
    sk_err_t err;
    sk_clock_t *midnight = sk_clock_new("fixed:2026-11-02", NULL, &err); /* a date: its midnight */
    assert_non_null(midnight);
    assert_int_equal(sk_clock_now(midnight), INT64_C(1793577600000));
    sk_clock_destroy(&midnight);
    assert_null(sk_clock_new("simulated", NULL, &err));
    assert_string_equal(err.msg, "SKONTO_CLOCK \"simulated\": want system, redis or fixed:INSTANT "
                                 "(such as fixed:2026-11-02T09:00:00Z)");
    assert_null(sk_clock_new("fixed:next monday", NULL, &err));
    assert_non_null(strstr(err.msg, "SKONTO_CLOCK \"fixed:next monday\": want system, redis or "
                                    "fixed:INSTANT"));
    assert_null(sk_clock_new(NULL, "2026-13-01", &err));
    assert_non_null(strstr(err.msg, "SKONTO_TODAY \"2026-13-01\": want a date, YYYY-MM-DD"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_bad_settings_name_the_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
