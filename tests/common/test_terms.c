/* test_terms — the terms notation: what parses, its canonical form, what is
 * rejected and how the message names it, and resolving WHENs to dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "terms.h"
#include "testutil.h"

static sk_terms_t s_parse(const char *s)
{
    sk_terms_t t;
    sk_err_t e;
    if (sk_terms_parse(s, &t, &e) != 0)
        fail_msg("\"%s\": %s", s, e.msg);
    return t;
}

static void test_seed_terms(void **state)
{
    (void)state;
    sk_terms_t t = s_parse("2/0,1/10,0.5/30,n/60");
    assert_int_equal(t.ntiers, 3);
    assert_int_equal(t.tiers[0].rate_ppm, 20000);
    assert_int_equal(t.tiers[0].when.kind, SK_WHEN_DAYS);
    assert_int_equal(t.tiers[0].when.days, 0);
    assert_int_equal(t.tiers[1].rate_ppm, 10000);
    assert_int_equal(t.tiers[1].when.days, 10);
    assert_int_equal(t.tiers[2].rate_ppm, 5000);
    assert_int_equal(t.tiers[2].when.days, 30);
    assert_int_equal(t.net.kind, SK_WHEN_DAYS);
    assert_int_equal(t.net.days, 60);
}

static void test_sap_terms(void **state)
{
    (void)state;
    sk_terms_t t = s_parse("3/d15+1m,2/d25+2m,n/d15+3m");
    assert_int_equal(t.ntiers, 2);
    assert_int_equal(t.tiers[0].when.kind, SK_WHEN_DOM);
    assert_int_equal(t.tiers[0].when.dom, 15);
    assert_int_equal(t.tiers[0].when.months, 1);
    assert_int_equal(t.tiers[1].when.dom, 25);
    assert_int_equal(t.tiers[1].when.months, 2);
    assert_int_equal(t.net.kind, SK_WHEN_DOM);
    assert_int_equal(t.net.months, 3);
    sk_day_t base = sk_test_day("2026-11-20");
    sk_test_assert_date(sk_when_resolve(&t.tiers[0].when, base), "2026-12-15");
    sk_test_assert_date(sk_when_resolve(&t.tiers[1].when, base), "2027-01-25");
    sk_test_assert_date(sk_when_resolve(&t.net, base), "2027-02-15");
}

static void test_canonical_form(void **state)
{
    (void)state;
    struct {
        const char *in, *canon;
    } cases[] = {
        {"2/0,1/10,0.5/30,n/60", "2/0,1/10,0.5/30,n/60"},
        {"2/10,n/30", "2/10,n/30"},
        {" 2/10 , n/30 ", "2/10,n/30"},
        {"2.50/10,\tn/30", "2.5/10,n/30"},
        {"3/d15+1m,n/d25+1m", "3/d15+1m,n/d25+1m"},
        {"3/d15+0m,n/d25+0m", "3/d15,n/d25"},
        {"2/10eom,n/30eom", "2/10eom,n/30eom"},
        {"2/10EOM,N/30", "2/10eom,n/30"},
        {"n/30", "n/30"},
        {"n/0", "n/0"},
        {"1.2345/3660,n/d31+120m", "1.2345/3660,n/d31+120m"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char b[SK_TERMS_MAX_LEN];
        sk_terms_t t = s_parse(cases[i].in);
        assert_string_equal(sk_terms_format(&t, b, sizeof b), cases[i].canon);
        /* The canonical text parses back to the same terms. */
        sk_terms_t t2 = s_parse(b);
        assert_memory_equal(&t, &t2, sizeof t);
    }
}

static void test_resolve_month_ends(void **state)
{
    (void)state;
    sk_terms_t t = s_parse("2/d31+1m,n/30eom");
    /* Day 31 of the month after January: the end of February. */
    sk_test_assert_date(sk_when_resolve(&t.tiers[0].when, sk_test_day("2024-01-31")), "2024-02-29");
    sk_test_assert_date(sk_when_resolve(&t.tiers[0].when, sk_test_day("2023-01-31")), "2023-02-28");
    /* 30 days after the end of February 2024. */
    sk_test_assert_date(sk_when_resolve(&t.net, sk_test_day("2024-02-10")), "2024-03-30");
    sk_test_assert_date(sk_when_resolve(&t.net, sk_test_day("2023-02-10")), "2023-03-30");
    sk_terms_t u = s_parse("2/0eom,n/10");
    sk_test_assert_date(sk_when_resolve(&u.tiers[0].when, sk_test_day("2026-12-05")), "2026-12-31");
    sk_test_assert_date(sk_when_resolve(&u.net, sk_test_day("2026-12-25")), "2027-01-04");
}

static void s_reject(const char *in, const char *piece)
{
    sk_terms_t t;
    memset(&t, 0x5a, sizeof t);
    sk_terms_t before = t;
    sk_err_t e;
    sk_err_clear(&e);
    assert_int_equal(sk_terms_parse(in, &t, &e), -1);
    assert_string_equal(e.code, "bad_terms");
    if (!strstr(e.msg, piece))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, e.msg, piece);
    assert_null(strchr(e.msg, '\n'));
    assert_memory_equal(&t, &before, sizeof t); /* untouched on failure */
}

static void test_rejects(void **state)
{
    (void)state;
    /* structure */
    s_reject("", "terms are empty");
    s_reject("   ", "terms are empty");
    s_reject("2/10,n", "terms \"2/10,n\": net term \"n\" needs \"n/DAYS\"");
    s_reject("2/10", "terms \"2/10\": missing net term (e.g. \",n/30\")");
    s_reject("n/30,2/10", "the net term must come last");
    s_reject("2/10,,n/30", "term 2 is empty");
    s_reject("2/10,n/30,", "term 3 is empty");
    s_reject("2", "tier 1 (2): want RATE/DAYS");
    s_reject("2 /10,n/30", "has a space");
    /* rates */
    s_reject("100/10,n/30", "tier 1 (100/10): rate \"100\" must be above 0 and below 100");
    s_reject("0/10,n/30", "must be above 0 and below 100");
    s_reject("1.23456/10,n/30", "at most 4 decimals");
    s_reject("x/10,n/30", "rate \"x\": not a decimal number");
    s_reject("2/10,3/20,n/30", "tier 2 (3/20): rate 3 % must be below the previous tier's 2 %");
    s_reject("2/10,2/20,n/30", "rate 2 % must be below the previous tier's 2 %");
    /* days */
    s_reject("2/10,1/5,n/30", "tier 2 (1/5): 5 days must be after the previous tier's 10 days");
    s_reject("2/10,1/10,n/30", "10 days must be after the previous tier's 10 days");
    s_reject("2/40,n/30", "tier 1 (2/40): ends after the net term n/30");
    s_reject("2/30,n/30", "tier 1 (2/30): ends on the same day as the net term n/30");
    s_reject("2/10eom,1/5eom,n/60", "5eom days must be after the previous tier's 10eom days");
    s_reject("3/d15+2m,2/d25+1m,n/d15+3m",
             "tier 2 (2/d25+1m): d25+1m must be after tier 1's d15+2m");
    s_reject("3/d15+1m,n/d10+1m", "ends after the net term n/d10+1m");
    s_reject("2/3661,n/4000", "at most 3660 days");
    s_reject("2/999999,n/30", "at most 3660 days");
    s_reject("2/d32,n/30", "d32: day must be 1..31");
    s_reject("2/d0,n/30", "d0: day must be 1..31");
    s_reject("2/d15+121m,n/d15+122m", "+121m: at most 120 months");
    s_reject("2/d15+1,n/30", "want d DAY + MONTHS m");
    s_reject("2/d,n/30", "want d DAY");
    s_reject("2/10days,n/30", "want DAYS, DAYSeom or dDAY[+MONTHSm]");
    s_reject("2/-1,n/30", "want DAYS, DAYSeom or dDAY[+MONTHSm]");
    s_reject("2/,n/30", "no days after the \"/\"");
    s_reject("n/x", "net term (n/x)");
    /* bounds */
    s_reject("9/1,8/2,7/3,6/4,5/5,4/6,3/7,2/8,1/9,n/30", "too many tiers (at most 8)");
    char longer[400];
    memset(longer, ' ', sizeof longer);
    memcpy(longer + 300, "2/10,n/30", 10);
    s_reject(longer, "too long (at most 256 characters)");
    s_reject(NULL, "terms are empty");
    s_reject("2/10,n/30\n", "unexpected character");
}

static void test_max_tiers(void **state)
{
    (void)state;
    sk_terms_t t = s_parse("8/1,7/2,6/3,5/4,4/5,3/6,2/7,1/8,n/30");
    assert_int_equal(t.ntiers, SK_TERMS_MAX_TIERS);
    char b[SK_TERMS_MAX_LEN];
    assert_string_equal(sk_terms_format(&t, b, sizeof b), "8/1,7/2,6/3,5/4,4/5,3/6,2/7,1/8,n/30");
    /* Mixed kinds are not ordered at parse time (the schedule orders them). */
    s_parse("2/40,1/d15+1m,n/60");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_terms),     cmocka_unit_test(test_sap_terms),
        cmocka_unit_test(test_canonical_form), cmocka_unit_test(test_resolve_month_ends),
        cmocka_unit_test(test_rejects),        cmocka_unit_test(test_max_tiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
