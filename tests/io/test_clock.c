/* sk_clock: which clock SKONTO_CLOCK / SKONTO_TODAY choose, instants and the
 * UTC day of an instant. (Moving simulated time in Redis is proven end to end
 * in tests/e2e/test_clock.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sk_clock.h"

static int64_t s_ms(const char *s)
{
    int64_t ms = 0;
    sk_err_t err;
    assert_int_equal(sk_clock_parse_instant(s, &ms, &err), 0);
    return ms;
}

static void test_instants(void **state)
{
    (void)state;
    /* 2026-11-02T09:00:00Z = 1793610000 s: date -u -d 2026-11-02T09:00:00Z +%s */
    assert_int_equal(s_ms("2026-11-02T09:00:00Z"), INT64_C(1793610000000));
    assert_int_equal(s_ms("2026-11-02"), INT64_C(1793577600000));
    assert_int_equal(s_ms("2026-11-02T09:00:00.250Z"), INT64_C(1793610000250));
    assert_int_equal(s_ms("1970-01-01T00:00:00Z"), 0);
    char buf[SK_CLOCK_INSTANT_MAX];
    assert_string_equal(sk_clock_format_instant(INT64_C(1793610000000), buf, sizeof buf),
                        "2026-11-02T09:00:00Z");
    assert_string_equal(sk_clock_format_instant(INT64_C(1793610000250), buf, sizeof buf),
                        "2026-11-02T09:00:00.250Z");
    assert_string_equal(sk_clock_format_instant(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
}

static void test_bad_instants(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "2026-11-02T09:00:00",
                         "2026-11-02 09:00:00Z",
                         "2026-02-30",
                         "2026-11-02T24:00:00Z",
                         "2026-11-02T09:60:00Z",
                         "2026-11-02T09:00:00+01:00",
                         "2026-11-02T09:00:00.5Z",
                         "tomorrow",
                         "2026-11-02Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        sk_err_t err;
        assert_int_equal(sk_clock_parse_instant(bad[i], &ms, &err), -1);
        assert_non_null(strstr(err.msg, "want an instant in UTC such as 2026-11-02T09:00:00Z"));
    }
}

static void test_utc_day(void **state)
{
    (void)state;
    /* the last millisecond of a day is still that day; before 1970 floors */
    assert_int_equal(sk_clock_day_of(s_ms("2026-11-02T23:59:59.999Z")),
                     sk_date_from_ymd(2026, 11, 2));
    assert_int_equal(sk_clock_day_of(s_ms("2026-11-03T00:00:00Z")), sk_date_from_ymd(2026, 11, 3));
    assert_int_equal(sk_clock_day_of(-1), sk_date_from_ymd(1969, 12, 31));
}

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
        cmocka_unit_test(test_instants),
        cmocka_unit_test(test_bad_instants),
        cmocka_unit_test(test_utc_day),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_bad_settings_name_the_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
