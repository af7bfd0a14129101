/* test_money — parsing, formatting and rounding of amounts and percents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "money.h"

static const sk_currency_t *s_cur(const char *code)
{
    const sk_currency_t *c = sk_currency_find(code);
    assert_non_null(c);
    return c;
}

static void test_currency_table(void **state)
{
    (void)state;
    struct {
        const char *code;
        int digits;
    } want[] = {{"CNY", 2}, {"USD", 2}, {"EUR", 2}, {"JPY", 0}, {"GBP", 2}, {"HKD", 2},
                {"KRW", 0}, {"CHF", 2}, {"SGD", 2}, {"BHD", 3}, {"KWD", 3}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(s_cur(want[i].code)->digits, want[i].digits);
    assert_null(sk_currency_find("XXX"));
    assert_null(sk_currency_find("cny"));
    assert_null(sk_currency_find("CNYY"));
    assert_null(sk_currency_find(""));
    assert_null(sk_currency_find(NULL));
}

static void test_parse_accepts(void **state)
{
    (void)state;
    const sk_currency_t *cny = s_cur("CNY");
    struct {
        const char *in;
        const char *cur;
        int64_t want;
    } cases[] = {
        {"1130", "CNY", 113000},
        {"1130.5", "CNY", 113050},
        {"1130.00", "CNY", 113000},
        {"0.01", "CNY", 1},
        {"0", "CNY", 0},
        {"999", "JPY", 999},
        {"1.234", "BHD", 1234},
        {"1.2", "BHD", 1200},
        {"10000000000000", "CNY", SK_MONEY_MAX},
        {"1000000000000000", "JPY", SK_MONEY_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -1;
        sk_err_t e;
        assert_int_equal(sk_money_parse(cases[i].in, s_cur(cases[i].cur), &v, &e), 0);
        assert_int_equal(v, cases[i].want);
    }
    (void)cny;
}

static void s_reject(const char *in, const char *cur, const char *piece)
{
    int64_t v = 7;
    sk_err_t e;
    sk_err_clear(&e);
    assert_int_equal(sk_money_parse(in, s_cur(cur), &v, &e), -1);
    assert_string_equal(e.code, "bad_amount");
    if (!strstr(e.msg, piece))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, piece);
    assert_int_equal(v, 7); /* untouched on failure */
}

static void test_parse_rejects(void **state)
{
    (void)state;
    s_reject("12.345", "CNY", "amount \"12.345\": CNY has 2 decimals");
    s_reject("12.5", "JPY", "JPY has no decimals");
    s_reject("-5", "CNY", "amount \"-5\": must not be negative");
    s_reject("1e5", "CNY", "amount \"1e5\": not a decimal number");
    s_reject("+5", "CNY", "not a decimal number");
    s_reject("1,000.00", "CNY", "not a decimal number");
    s_reject(" 5", "CNY", "not a decimal number");
    s_reject("5.", "CNY", "not a decimal number");
    s_reject(".5", "CNY", "not a decimal number");
    s_reject("1.2.3", "CNY", "not a decimal number");
    s_reject("", "CNY", "empty");
    s_reject("10000000000000.01", "CNY", "above the largest amount");
    s_reject("99999999999999999999999999999", "CNY", "above the largest amount");
    s_reject("1000000000000001", "JPY", "above the largest amount");

    int64_t v;
    sk_err_t e;
    assert_int_equal(sk_money_parse("1", NULL, &v, &e), -1);
    assert_string_equal(e.code, "bad_currency");
    /* A control character in the input must not make the message two lines. */
    assert_int_equal(sk_money_parse("1\n2", s_cur("CNY"), &v, &e), -1);
    assert_null(strchr(e.msg, '\n'));
}

static void test_format(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(sk_money_format(113000, s_cur("CNY"), b, sizeof b), "1130.00");
    assert_string_equal(sk_money_format(5, s_cur("CNY"), b, sizeof b), "0.05");
    assert_string_equal(sk_money_format(-5, s_cur("CNY"), b, sizeof b), "-0.05");
    assert_string_equal(sk_money_format(0, s_cur("CNY"), b, sizeof b), "0.00");
    assert_string_equal(sk_money_format(500, s_cur("JPY"), b, sizeof b), "500");
    assert_string_equal(sk_money_format(1234, s_cur("KWD"), b, sizeof b), "1.234");
    assert_string_equal(sk_money_format(INT64_MIN, s_cur("CNY"), b, sizeof b),
                        "-92233720368547758.08");
}

static void test_div_round_ties(void **state)
{
    (void)state;
    /* num/den with exact halves: half-up goes away from zero, half-even to even. */
    assert_int_equal(sk_div_round(5, 10, SK_ROUND_HALF_UP), 1);
    assert_int_equal(sk_div_round(5, 10, SK_ROUND_HALF_EVEN), 0);
    assert_int_equal(sk_div_round(15, 10, SK_ROUND_HALF_UP), 2);
    assert_int_equal(sk_div_round(15, 10, SK_ROUND_HALF_EVEN), 2);
    assert_int_equal(sk_div_round(25, 10, SK_ROUND_HALF_EVEN), 2);
    assert_int_equal(sk_div_round(-5, 10, SK_ROUND_HALF_UP), -1);
    assert_int_equal(sk_div_round(-5, 10, SK_ROUND_HALF_EVEN), 0);
    assert_int_equal(sk_div_round(-15, 10, SK_ROUND_HALF_EVEN), -2);
    assert_int_equal(sk_div_round(14, 10, SK_ROUND_HALF_UP), 1);
    assert_int_equal(sk_div_round(16, 10, SK_ROUND_HALF_EVEN), 2);
    assert_int_equal(sk_div_round(-16, 10, SK_ROUND_HALF_UP), -2);
    assert_int_equal(sk_div_round(20, 10, SK_ROUND_HALF_EVEN), 2);
}

static void test_apply_rate(void **state)
{
    (void)state;
    /* 0.5 % of 1.00 CNY = 0.005: half-up 0.01, half-even 0.00. */
    assert_int_equal(sk_money_apply_rate(100, 5000, SK_ROUND_HALF_UP), 1);
    assert_int_equal(sk_money_apply_rate(100, 5000, SK_ROUND_HALF_EVEN), 0);
    /* 1 % of 0.50 = 0.005 -> 0.01 vs 0.00; 1 % of 1.50 = 0.015 -> 0.02 both. */
    assert_int_equal(sk_money_apply_rate(50, 10000, SK_ROUND_HALF_UP), 1);
    assert_int_equal(sk_money_apply_rate(50, 10000, SK_ROUND_HALF_EVEN), 0);
    assert_int_equal(sk_money_apply_rate(150, 10000, SK_ROUND_HALF_UP), 2);
    assert_int_equal(sk_money_apply_rate(150, 10000, SK_ROUND_HALF_EVEN), 2);
    /* 2 % of 999 JPY = 19.98 -> 20 yen. */
    assert_int_equal(sk_money_apply_rate(999, 20000, SK_ROUND_HALF_UP), 20);
    /* The seed: 2 %, 1 %, 0.5 % of 1130.00 = 22.60, 11.30, 5.65. */
    assert_int_equal(sk_money_apply_rate(113000, 20000, SK_ROUND_HALF_UP), 2260);
    assert_int_equal(sk_money_apply_rate(113000, 10000, SK_ROUND_HALF_UP), 1130);
    assert_int_equal(sk_money_apply_rate(113000, 5000, SK_ROUND_HALF_EVEN), 565);
    /* The largest amount times the largest rate does not overflow. */
    assert_int_equal(sk_money_apply_rate(SK_MONEY_MAX, 999999, SK_ROUND_HALF_UP),
                     INT64_C(999999000000000));
}

/* sk_percent_format writes what printf would ("%lld" or "%lld.%0*lld",
 * the shortest fraction), without it: every 7th ppm of -100 %..100 % and
 * the extremes of int32. */
static void test_percent_like_printf(void **state)
{
    (void)state;
    int32_t extremes[] = {INT32_MIN + 1, INT32_MAX, -1, 0, 1, 10000, -10000};
    for (int64_t k = -1000000 - (int64_t)(sizeof extremes / sizeof extremes[0]); k <= 1000000;
         k += k < -1000000 ? 1 : 7) {
        int32_t ppm = k < -1000000 ? extremes[-1000001 - k] : (int32_t)k;
        int64_t v = ppm < 0 ? -(int64_t)ppm : ppm, whole = v / 10000, frac = v % 10000;
        int width = 4;
        while (frac && frac % 10 == 0)
            frac /= 10, width--;
        char want[32], got[16];
        if (frac)
            snprintf(want, sizeof want, "%s%lld.%0*lld", ppm < 0 ? "-" : "", (long long)whole,
                     width, (long long)frac);
        else
            snprintf(want, sizeof want, "%s%lld", ppm < 0 ? "-" : "", (long long)whole);
        assert_string_equal(sk_percent_format(ppm, got, sizeof got), want);
    }
}

static void test_percent(void **state)
{
    (void)state;
    struct {
        const char *in;
        int32_t ppm;
        const char *canon;
    } ok[] = {
        {"2", 20000, "2"},       {"0.5", 5000, "0.5"},           {"12.3456", 123456, "12.3456"},
        {"0.0001", 1, "0.0001"}, {"99.9999", 999999, "99.9999"}, {"2.50", 25000, "2.5"},
        {"02", 20000, "2"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int32_t ppm = 0;
        char b[16];
        sk_err_t e;
        assert_int_equal(sk_percent_parse(ok[i].in, &ppm, &e), 0);
        assert_int_equal(ppm, ok[i].ppm);
        assert_string_equal(sk_percent_format(ppm, b, sizeof b), ok[i].canon);
    }
    struct {
        const char *in;
        const char *piece;
    } bad[] = {{"12.34567", "at most 4 decimals"},
               {"0", "must be above 0 and below 100"},
               {"0.0000", "must be above 0 and below 100"},
               {"100", "rate \"100\" must be above 0 and below 100"},
               {"250", "must be above 0 and below 100"},
               {"99999999999", "must be above 0 and below 100"},
               {"-1", "not a decimal number"},
               {"2%", "not a decimal number"},
               {"", "empty"},
               {"abc", "not a decimal number"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t ppm = 0;
        sk_err_t e;
        assert_int_equal(sk_percent_parse(bad[i].in, &ppm, &e), -1);
        assert_string_equal(e.code, "bad_rate");
        if (!strstr(e.msg, bad[i].piece))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].in, e.msg, bad[i].piece);
    }
}

static void test_rounding_parse(void **state)
{
    (void)state;
    sk_rounding_t r = SK_ROUND_HALF_UP;
    sk_err_t e;
    assert_int_equal(sk_rounding_parse("half-even", &r, &e), 0);
    assert_int_equal(r, SK_ROUND_HALF_EVEN);
    assert_int_equal(sk_rounding_parse("half-up", &r, &e), 0);
    assert_int_equal(r, SK_ROUND_HALF_UP);
    assert_int_equal(sk_rounding_parse("bankers", &r, &e), -1);
    assert_non_null(strstr(e.msg, "half-up or half-even"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_currency_table), cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_rejects),  cmocka_unit_test(test_format),
        cmocka_unit_test(test_div_round_ties), cmocka_unit_test(test_apply_rate),
        cmocka_unit_test(test_percent),        cmocka_unit_test(test_percent_like_printf),
        cmocka_unit_test(test_rounding_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
