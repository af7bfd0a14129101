/* Tests of common/io/sk_format: amounts, rates and dates as the customer
 * reads them, the vectors of issue 8, and the formatter cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "sk_format.h"

static sk_format_t *s_fmt;

static int s_setup(void **state)
{
    (void)state;
    s_fmt = sk_format_new();
    return s_fmt ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    sk_format_destroy(&s_fmt);
    return s_fmt ? -1 : 0;
}

static void s_money(const char *locale, const char *cur, int64_t minor, const char *want)
{
    char out[64];
    sk_err_t e = {0};
    if (sk_format_money(s_fmt, locale, cur, minor, out, sizeof out, &e) != 0)
        fail_msg("%s %s %lld: %s", locale, cur, (long long)minor, e.msg);
    assert_string_equal(out, want);
}

static void test_money_vectors(void **state)
{
    (void)state;
    s_money("zh-CN", "CNY", 123450, "¥1,234.50");
    s_money("en-US", "USD", 123450, "$1,234.50");
    s_money("de-DE", "EUR", 123450, "1.234,50\u00a0€"); /* a no-break space */
    s_money("en-US", "JPY", 123450, "¥123,450");        /* JPY has no minor unit */
    s_money("en-US", "CNY", 5, "CN¥0.05");
    s_money("zh-CN", "CNY", 0, "¥0.00");
    /* the largest amount anywhere stays exact: no floating point on the way */
    s_money("en-US", "USD", INT64_C(1000000000000000), "$10,000,000,000,000.00");
    s_money("en-US", "USD", INT64_C(999999999999999), "$9,999,999,999,999.99");
    s_money("zh_CN", "CNY", 100, "¥1.00"); /* '_' as in POSIX locales */
}

static void test_rates_and_dates(void **state)
{
    (void)state;
    char out[128];
    sk_err_t e = {0};
    assert_int_equal(sk_format_percent(s_fmt, "en-US", 20000, out, sizeof out, &e), 0);
    assert_string_equal(out, "2%");
    assert_int_equal(sk_format_percent(s_fmt, "de-DE", 5000, out, sizeof out, &e), 0);
    assert_string_equal(out, "0,5\u00a0%");
    assert_int_equal(sk_format_percent(s_fmt, "zh-CN", 123456, out, sizeof out, &e), 0);
    assert_string_equal(out, "12.3456%");

    sk_day_t d = sk_date_from_ymd(2026, 11, 9);
    assert_int_equal(sk_format_date(s_fmt, "en-US", d, out, sizeof out, &e), 0);
    assert_string_equal(out, "Monday, November 9, 2026");
    assert_int_equal(sk_format_date(s_fmt, "zh-CN", d, out, sizeof out, &e), 0);
    assert_string_equal(out, "2026年11月9日星期一");
    assert_int_equal(sk_format_date(s_fmt, "de-DE", d, out, sizeof out, &e), 0);
    assert_string_equal(out, "Montag, 9. November 2026");
    assert_int_equal(sk_format_date(s_fmt, "en-DE", d, out, sizeof out, &e), 0);
    assert_string_equal(out, "Monday, 9 November 2026");
    /* a civil date is that date whatever the process's TZ: no zone shifts it */
    assert_int_equal(
        sk_format_date(s_fmt, "en-US", sk_date_from_ymd(2024, 2, 29), out, sizeof out, &e), 0);
    assert_string_equal(out, "Thursday, February 29, 2024");
}

static void test_errors(void **state)
{
    (void)state;
    char out[64];
    sk_err_t e = {0};
    assert_int_equal(sk_format_money(s_fmt, "en-US", "XYZ", 1, out, sizeof out, &e), -1);
    assert_string_equal(e.code, "bad_currency");
    assert_int_equal(sk_format_money(s_fmt, "en US\n", "USD", 1, out, sizeof out, &e), -1);
    assert_string_equal(e.code, "bad_locale");
    assert_int_equal(
        sk_format_money(s_fmt, "en-US", "USD", INT64_C(1000000000000001), out, sizeof out, &e), -1);
    assert_string_equal(e.code, "bad_amount");
    assert_int_equal(sk_format_money(s_fmt, "en-US", "USD", 123450, out, 5, &e), -1);
    assert_string_equal(e.code, "too_long");
    assert_int_equal(sk_format_percent(s_fmt, "en-US", 0, out, sizeof out, &e), -1);
    assert_string_equal(e.code, "bad_rate");
}

/* One ICU formatter per (locale, currency): the second thousand cost nothing. */
static void test_cache(void **state)
{
    (void)state;
    sk_format_t *f = sk_format_new();
    char out[64];
    sk_err_t e = {0};
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sk_format_money(f, "zh-CN", "CNY", i, out, sizeof out, &e), 0);
        assert_int_equal(sk_format_money(f, "de-DE", "EUR", i, out, sizeof out, &e), 0);
        assert_int_equal(sk_format_date(f, "de-DE", 20000 + i, out, sizeof out, &e), 0);
    }
    assert_int_equal(sk_format_created(f), 3);
    /* past the cache's size the oldest are closed, and results stay right */
    char loc[16];
    for (int i = 0; i < SK_FORMAT_CACHE + 10; i++) {
        snprintf(loc, sizeof loc, "en-%c%c", 'A' + i / 26, 'A' + i % 26);
        assert_int_equal(sk_format_money(f, loc, "USD", 100, out, sizeof out, &e), 0);
    }
    assert_int_equal(sk_format_money(f, "de-DE", "EUR", 123450, out, sizeof out, &e), 0);
    assert_string_equal(out, "1.234,50\u00a0€");
    sk_format_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_vectors),
        cmocka_unit_test(test_rates_and_dates),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
