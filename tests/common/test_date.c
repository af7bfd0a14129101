/* test_date — civil dates, month arithmetic and the holiday calendar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "date.h"
#include "testutil.h"

static void test_leap_years(void **state)
{
    (void)state;
    assert_true(sk_is_leap_year(2000));
    assert_false(sk_is_leap_year(1900));
    assert_false(sk_is_leap_year(2100));
    assert_true(sk_is_leap_year(2024));
    assert_false(sk_is_leap_year(2023));
    assert_int_equal(sk_days_in_month(2000, 2), 29);
    assert_int_equal(sk_days_in_month(1900, 2), 28);
    assert_int_equal(sk_days_in_month(2100, 2), 28);
    assert_int_equal(sk_days_in_month(2024, 4), 30);
    assert_int_equal(sk_days_in_month(2024, 12), 31);
    assert_true(sk_date_valid_ymd(2000, 2, 29));
    assert_false(sk_date_valid_ymd(1900, 2, 29));
    assert_false(sk_date_valid_ymd(1899, 12, 31));
    assert_false(sk_date_valid_ymd(10000, 1, 1));
}

static void test_day_numbers(void **state)
{
    (void)state;
    /* Known day numbers (days since 1970-01-01). */
    assert_int_equal(sk_test_day("1970-01-01"), 0);
    assert_int_equal(sk_test_day("2000-03-01"), 11017);
    assert_int_equal(sk_test_day("1900-01-01"), -25567);
    assert_int_equal(sk_test_day("9999-12-31"), 2932896);
    assert_int_equal(sk_test_day("2026-11-02"), 20759);
    /* Every day of the valid range round-trips, and consecutive days are consecutive. */
    sk_day_t first = sk_test_day("1900-01-01"), last = sk_test_day("9999-12-31");
    int py = 1899, pm = 12, pd = 31;
    for (sk_day_t day = first; day <= last; day++) {
        int y, m, d;
        sk_date_to_ymd(day, &y, &m, &d);
        if (!sk_date_valid_ymd(y, m, d) || sk_date_from_ymd(y, m, d) != day)
            fail_msg("day %d -> %04d-%02d-%02d", day, y, m, d);
        bool next = (y == py && m == pm && d == pd + 1) ||
                    (d == 1 && ((y == py && m == pm + 1) || (y == py + 1 && m == 1 && pm == 12)));
        if (!next)
            fail_msg("day %d (%04d-%02d-%02d) does not follow %04d-%02d-%02d", day, y, m, d, py, pm,
                     pd);
        py = y, pm = m, pd = d;
    }
}

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(sk_date_weekday(sk_test_day("1970-01-01")), 4); /* Thursday */
    assert_int_equal(sk_date_weekday(sk_test_day("2026-11-02")), 1); /* Monday */
    assert_int_equal(sk_date_weekday(sk_test_day("2026-11-14")), 6); /* Saturday */
    assert_int_equal(sk_date_weekday(sk_test_day("2026-11-15")), 7); /* Sunday */
    assert_int_equal(sk_date_weekday(sk_test_day("1900-01-01")), 1); /* Monday, before day 0 */
    assert_int_equal(sk_date_weekday(sk_test_day("9999-12-31")), 5); /* Friday */
}

static void test_month_arithmetic(void **state)
{
    (void)state;
    sk_test_assert_date(sk_date_end_of_month(sk_test_day("2024-02-10")), "2024-02-29");
    sk_test_assert_date(sk_date_end_of_month(sk_test_day("2023-02-28")), "2023-02-28");
    sk_test_assert_date(sk_date_end_of_month(sk_test_day("2026-12-01")), "2026-12-31");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2024-01-31"), 1), "2024-02-29");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2023-01-31"), 1), "2023-02-28");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2024-03-31"), -1), "2024-02-29");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2024-12-15"), 1), "2025-01-15");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2024-01-15"), -13), "2022-12-15");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2024-02-29"), 12), "2025-02-28");
    sk_test_assert_date(sk_date_add_months(sk_test_day("2024-02-29"), 48), "2028-02-29");
    sk_test_assert_date(sk_date_day_of_month(sk_test_day("2026-11-20"), 15, 1), "2026-12-15");
    sk_test_assert_date(sk_date_day_of_month(sk_test_day("2026-11-20"), 25, 2), "2027-01-25");
    sk_test_assert_date(sk_date_day_of_month(sk_test_day("2024-01-31"), 31, 1), "2024-02-29");
    sk_test_assert_date(sk_date_day_of_month(sk_test_day("2023-01-31"), 31, 1), "2023-02-28");
    sk_test_assert_date(sk_date_day_of_month(sk_test_day("2026-04-02"), 31, 0), "2026-04-30");
}

static void s_reject(const char *in, const char *piece)
{
    sk_day_t d = 12345;
    sk_err_t e;
    assert_int_equal(sk_date_parse(in, &d, &e), -1);
    assert_string_equal(e.code, "bad_date");
    if (!strstr(e.msg, piece))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, e.msg, piece);
    assert_int_equal(d, 12345);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    s_reject("2026-02-30", "date \"2026-02-30\": February 2026 has 28 days");
    s_reject("2100-02-29", "February 2100 has 28 days");
    s_reject("2026-04-31", "April 2026 has 30 days");
    s_reject("2026-13-01", "date \"2026-13-01\": month must be 01..12");
    s_reject("2026-00-10", "month must be 01..12");
    s_reject("2026-01-00", "day must be 01..31");
    s_reject("26-1-1", "date \"26-1-1\": want YYYY-MM-DD");
    s_reject("2026/01/01", "want YYYY-MM-DD");
    s_reject("2026-1-01", "want YYYY-MM-DD");
    s_reject("2026-01-01 ", "want YYYY-MM-DD");
    s_reject("2026-01-0a", "want YYYY-MM-DD");
    s_reject("+026-01-01", "want YYYY-MM-DD");
    s_reject("1899-12-31", "year must be 1900..9999");
    s_reject("", "empty");
    sk_day_t d;
    assert_int_equal(sk_date_parse(NULL, &d, NULL), -1);
    sk_test_assert_date(sk_test_day("2000-02-29"), "2000-02-29");
}

static const char s_holidays[] = "# China 2026 (part)\n"
                                 "2026-01-01\n"
                                 "\n"
                                 "2026-10-01   # National Day\r\n"
                                 "2026-10-02\n"
                                 "  2026-10-05\n"
                                 "2026-10-01\n"; /* a repeat is harmless */

static void test_calendar(void **state)
{
    (void)state;
    sk_calendar_t *cal = sk_calendar_new();
    assert_non_null(cal);
    sk_err_t e;
    assert_int_equal(sk_calendar_load_text(cal, s_holidays, strlen(s_holidays), &e), 0);
    assert_false(
        sk_calendar_is_business_day(cal, sk_test_day("2026-01-01")));         /* Thursday holiday */
    assert_true(sk_calendar_is_business_day(cal, sk_test_day("2026-01-02"))); /* Friday */
    assert_false(sk_calendar_is_business_day(cal, sk_test_day("2026-01-03"))); /* Saturday */
    assert_true(sk_calendar_is_business_day(NULL, sk_test_day("2026-01-01"))); /* weekends only */
    /* Thu 10-01 and Fri 10-02 are holidays, then the weekend, then Mon 10-05: Tue 10-06. */
    sk_test_assert_date(sk_calendar_next_business_day(cal, sk_test_day("2026-10-01")),
                        "2026-10-06");
    sk_test_assert_date(sk_calendar_next_business_day(NULL, sk_test_day("2026-10-01")),
                        "2026-10-01");
    sk_test_assert_date(sk_calendar_next_business_day(NULL, sk_test_day("2026-11-14")),
                        "2026-11-16");
    sk_test_assert_date(sk_calendar_next_business_day(cal, sk_test_day("2026-09-30")),
                        "2026-09-30");
    sk_calendar_destroy(&cal);
    assert_null(cal);
    sk_calendar_destroy(&cal); /* harmless twice */
}

static void s_bad_text(const char *text, const char *piece)
{
    sk_calendar_t *cal = sk_calendar_new();
    assert_non_null(cal);
    sk_err_t e;
    assert_int_equal(sk_calendar_load_text(cal, text, strlen(text), &e), -1);
    assert_string_equal(e.code, "bad_holidays");
    if (!strstr(e.msg, piece))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, piece);
    sk_calendar_destroy(&cal);
}

static void test_calendar_rejects(void **state)
{
    (void)state;
    s_bad_text("2026-01-01\n# ok\n2026-02-30\n",
               "line 3: date \"2026-02-30\": February 2026 has 28 days");
    s_bad_text("2026-01-01 2026-01-02\n",
               "line 1: date \"2026-01-01 2026-01-02\": want YYYY-MM-DD");
    s_bad_text("\n\nholiday\n", "line 3: date \"holiday\": want YYYY-MM-DD");
    /* An embedded NUL byte is a bad line, not the end of the text. */
    static const char nul[] = "2026-01-01\n2026-01\0002\n";
    sk_calendar_t *cal = sk_calendar_new();
    sk_err_t e;
    assert_int_equal(sk_calendar_load_text(cal, nul, sizeof nul - 1, &e), -1);
    assert_non_null(strstr(e.msg, "line 2:"));
    /* Empty text is an empty calendar. */
    assert_int_equal(sk_calendar_load_text(cal, "", 0, &e), 0);
    sk_calendar_destroy(&cal);
}

/* Instants as text, worked by hand from the day numbers above: 2026-12-01
 * is day 20788, so 08:17:30.123 that day is 20788 * 86400000 + 29850123. */
static void test_time_format(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(sk_time_format(0, SK_TIME_ISO_MS, b, sizeof b), "1970-01-01T00:00:00.000Z");
    assert_string_equal(sk_time_format(1796113050123, SK_TIME_ISO_MS, b, sizeof b),
                        "2026-12-01T08:17:30.123Z");
    assert_string_equal(sk_time_format(1796113050123, SK_TIME_ISO, b, sizeof b),
                        "2026-12-01T08:17:30Z");
    assert_string_equal(sk_time_format(1796113050123, SK_TIME_TEXT, b, sizeof b),
                        "2026-12-01 08:17:30");
    /* The last millisecond of a leap day, and the one before the epoch. */
    assert_string_equal(sk_time_format(951868799999, SK_TIME_ISO_MS, b, sizeof b),
                        "2000-02-29T23:59:59.999Z");
    assert_string_equal(sk_time_format(-1, SK_TIME_ISO_MS, b, sizeof b),
                        "1969-12-31T23:59:59.999Z");
    assert_string_equal(sk_time_format(-86400000, SK_TIME_TEXT, b, sizeof b),
                        "1969-12-31 00:00:00");
    /* A short buffer is cut, never overrun. */
    char small[11];
    assert_string_equal(sk_time_format(0, SK_TIME_TEXT, small, sizeof small), "1970-01-01");
}

/* The formats as printf writes them ("%04d-%02d-%02d", and the instants'
 * "...T%02d:%02d:%02d.%03dZ"), which the formatters write without printf:
 * every 7th day of the years 1900..9999, days ten thousand years around
 * them, and 300 000 instants spread over them, before 1970 too, each in
 * every style, the same text. */
static void test_format_like_printf(void **state)
{
    (void)state;
    char got[SK_TIME_MAX], want[SK_TIME_MAX];
    sk_day_t first = sk_date_from_ymd(1900, 1, 1), last = sk_date_from_ymd(9999, 12, 31);
    for (sk_day_t day = first; day <= last; day += 7) {
        int y, m, d;
        sk_date_to_ymd(day, &y, &m, &d);
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        assert_string_equal(sk_date_format(day, got, sizeof got), want);
    }
    /* far outside the years a date may be parsed in, before year 0 too
     * ("%04d" of -5 is "-005") */
    for (sk_day_t day = -4000000; day <= 4000000; day += 99991) {
        int y, m, d;
        sk_date_to_ymd(day, &y, &m, &d);
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        assert_string_equal(sk_date_format(day, got, sizeof got), want);
    }
    uint64_t x = 88172645463325252u; /* xorshift64: a spread of instants */
    int64_t lo = (int64_t)first * SK_MS_PER_DAY, span = ((int64_t)last + 1 - first) * SK_MS_PER_DAY;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = lo + (int64_t)(x % (uint64_t)span);
        if (i % 4 == 0)
            ms -= ms % 1000; /* whole seconds: ISO_EXACT writes no fraction */
        sk_day_t day = sk_time_day(ms);
        int64_t rem = ms - (int64_t)day * SK_MS_PER_DAY;
        int y, m, d, hh = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60),
                     ss = (int)(rem / 1000 % 60), f = (int)(rem % 1000);
        sk_date_to_ymd(day, &y, &m, &d);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, hh, mi, ss, f);
        assert_string_equal(sk_time_format(ms, SK_TIME_ISO_MS, got, sizeof got), want);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, hh, mi, ss);
        assert_string_equal(sk_time_format(ms, SK_TIME_ISO, got, sizeof got), want);
        if (f)
            snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, hh, mi, ss,
                     f);
        assert_string_equal(sk_time_format(ms, SK_TIME_ISO_EXACT, got, sizeof got), want);
        snprintf(want, sizeof want, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, hh, mi, ss);
        assert_string_equal(sk_time_format(ms, SK_TIME_TEXT, got, sizeof got), want);
    }
}

/* ---- instants: sk_time_parse, sk_time_format (exact), sk_time_day */

static int64_t s_ms(const char *s)
{
    int64_t ms = 0;
    sk_err_t err;
    assert_int_equal(sk_time_parse(s, &ms, &err), 0);
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
    char buf[SK_TIME_MAX];
    assert_string_equal(sk_time_format(INT64_C(1793610000000), SK_TIME_ISO_EXACT, buf, sizeof buf),
                        "2026-11-02T09:00:00Z");
    assert_string_equal(sk_time_format(INT64_C(1793610000250), SK_TIME_ISO_EXACT, buf, sizeof buf),
                        "2026-11-02T09:00:00.250Z");
    assert_string_equal(sk_time_format(-1, SK_TIME_ISO_EXACT, buf, sizeof buf),
                        "1969-12-31T23:59:59.999Z");
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
        assert_int_equal(sk_time_parse(bad[i], &ms, &err), -1);
        assert_non_null(strstr(err.msg, "want an instant in UTC such as 2026-11-02T09:00:00Z"));
    }
}

static void test_utc_day(void **state)
{
    (void)state;
    /* the last millisecond of a day is still that day; before 1970 floors */
    assert_int_equal(sk_time_day(s_ms("2026-11-02T23:59:59.999Z")), sk_date_from_ymd(2026, 11, 2));
    assert_int_equal(sk_time_day(s_ms("2026-11-03T00:00:00Z")), sk_date_from_ymd(2026, 11, 3));
    assert_int_equal(sk_time_day(-1), sk_date_from_ymd(1969, 12, 31));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_day_numbers),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_month_arithmetic),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_calendar_rejects),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_format_like_printf),
        cmocka_unit_test(test_instants),
        cmocka_unit_test(test_bad_instants),
        cmocka_unit_test(test_utc_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
