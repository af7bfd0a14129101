/* test_schedule — discount windows worked out by hand: last days, discounts,
 * payables, annual rates; grace and business days; what a schedule rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "schedule.h"
#include "testutil.h"

static sk_schedule_t s_sched(const char *terms, const char *baseline, int64_t amount, int64_t tax,
                             const char *cur, const sk_schedule_opts_t *opts)
{
    sk_terms_t t;
    sk_schedule_t s;
    sk_err_t e;
    if (sk_terms_parse(terms, &t, &e) != 0)
        fail_msg("%s: %s", terms, e.msg);
    if (sk_schedule_compute(&t, sk_test_day(baseline), amount, tax, sk_currency_find(cur), opts, &s,
                            &e) != 0)
        fail_msg("%s from %s: %s", terms, baseline, e.msg);
    return s;
}

static void s_reject(const char *terms, const char *baseline, int64_t amount, int64_t tax,
                     const sk_schedule_opts_t *opts, const char *code, const char *piece)
{
    sk_terms_t t;
    sk_schedule_t s;
    sk_err_t e;
    if (sk_terms_parse(terms, &t, &e) != 0)
        fail_msg("%s: %s", terms, e.msg);
    assert_int_equal(sk_schedule_compute(&t, sk_test_day(baseline), amount, tax,
                                         sk_currency_find("CNY"), opts, &s, &e),
                     -1);
    assert_string_equal(e.code, code);
    if (!strstr(e.msg, piece))
        fail_msg("%s from %s: message \"%s\" lacks \"%s\"", terms, baseline, e.msg, piece);
}

static void test_seed_gross(void **state)
{
    (void)state;
    /* The seed: 2 % cash on shipment, 1 % within 10 days, 0.5 % within 30, net 60. */
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 13000, "CNY", NULL);
    assert_int_equal(s.ntiers, 3);
    assert_int_equal(s.discount_base, 113000);
    sk_test_assert_date(s.tiers[0].last_day, "2026-11-02");
    sk_test_assert_date(s.tiers[1].last_day, "2026-11-12");
    sk_test_assert_date(s.tiers[2].last_day, "2026-12-02");
    sk_test_assert_date(s.net_due, "2027-01-01");
    int64_t disc[] = {2260, 1130, 565}, pay[] = {110740, 111870, 112435};
    int32_t vs_net[] = {1241, 737, 611}, vs_next[] = {3724, 922, 611};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(s.tiers[k].discount, disc[k]);
        assert_int_equal(s.tiers[k].payable, pay[k]);
        assert_int_equal(s.tiers[k].apr_vs_net_bp, vs_net[k]);
        assert_int_equal(s.tiers[k].apr_vs_next_bp, vs_next[k]);
    }
}

static void test_seed_net_base(void **state)
{
    (void)state;
    sk_schedule_opts_t o = {.base = SK_BASE_NET};
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 13000, "CNY", &o);
    assert_int_equal(s.discount_base, 100000);
    assert_int_equal(s.tiers[0].discount, 2000);
    assert_int_equal(s.tiers[0].payable, 111000);
    assert_int_equal(s.tiers[1].discount, 1000);
    assert_int_equal(s.tiers[2].discount, 500);
    assert_int_equal(s.tiers[2].payable, 112500);
}

static void test_classic_apr(void **state)
{
    (void)state;
    /* 2/10,n/30: 2/98 * 365/20 = 37.24 %. */
    sk_schedule_t s = s_sched("2/10,n/30", "2026-03-01", 100000, 0, "USD", NULL);
    assert_int_equal(s.tiers[0].apr_vs_net_bp, 3724);
    assert_int_equal(s.tiers[0].apr_vs_next_bp, 3724);
    sk_test_assert_date(s.tiers[0].last_day, "2026-03-11");
    sk_test_assert_date(s.net_due, "2026-03-31");
    assert_int_equal(s.tiers[0].discount, 2000);
}

static void test_sap_dates(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("3/d15+1m,2/d25+2m,n/d15+3m", "2026-11-20", 100000, 0, "EUR", NULL);
    sk_test_assert_date(s.tiers[0].last_day, "2026-12-15");
    sk_test_assert_date(s.tiers[1].last_day, "2027-01-25");
    sk_test_assert_date(s.net_due, "2027-02-15");
    assert_int_equal(s.tiers[0].discount, 3000);
    assert_int_equal(s.tiers[1].discount, 2000);
    assert_int_equal(s.tiers[0].apr_vs_net_bp, 1821); /* 3/97 * 365/62 */
    assert_int_equal(s.tiers[0].apr_vs_next_bp, 918); /* 1/97 * 365/41 */
    assert_int_equal(s.tiers[1].apr_vs_net_bp, 3547); /* 2/98 * 365/21 */
}

static void test_month_end_rules(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/d31+1m,n/d31+2m", "2024-01-31", 100000, 0, "CNY", NULL);
    sk_test_assert_date(s.tiers[0].last_day, "2024-02-29");
    sk_test_assert_date(s.net_due, "2024-03-31");
    s = s_sched("2/d31+1m,n/d31+2m", "2023-01-31", 100000, 0, "CNY", NULL);
    sk_test_assert_date(s.tiers[0].last_day, "2023-02-28");
    s = s_sched("2/10eom,n/30eom", "2024-02-10", 100000, 0, "CNY", NULL);
    sk_test_assert_date(s.tiers[0].last_day, "2024-03-10");
    sk_test_assert_date(s.net_due, "2024-03-30");
    /* Across a year end, in the leap-day century exception: 2100 is not leap. */
    s = s_sched("1/0eom,n/d31+2m", "2099-12-15", 100000, 0, "CNY", NULL);
    sk_test_assert_date(s.tiers[0].last_day, "2099-12-31");
    sk_test_assert_date(s.net_due, "2100-02-28");
    s = s_sched("1/0eom,n/d31+2m", "1999-12-15", 100000, 0, "CNY", NULL);
    sk_test_assert_date(s.net_due, "2000-02-29");
    /* Mixed kinds ordered by date once the baseline is known. */
    s = s_sched("2/40,1/d15+1m,n/60", "2026-11-01", 100000, 0, "CNY", NULL);
    sk_test_assert_date(s.tiers[0].last_day, "2026-12-11");
    sk_test_assert_date(s.tiers[1].last_day, "2026-12-15");
}

static void test_no_decimals(void **state)
{
    (void)state;
    /* 2 % of 999 yen = 19.98 -> 20 yen, payable 979. */
    sk_schedule_t s = s_sched("2/10,n/30", "2026-11-02", 999, 0, "JPY", NULL);
    assert_int_equal(s.tiers[0].discount, 20);
    assert_int_equal(s.tiers[0].payable, 979);
    /* 1.5 % of 1 001 won = 15.015 -> 15. */
    s = s_sched("1.5/10,n/30", "2026-11-02", 1001, 0, "KRW", NULL);
    assert_int_equal(s.tiers[0].discount, 15);
    assert_int_equal(s.tiers[0].payable, 986);
}

static void test_rounding_ties(void **state)
{
    (void)state;
    sk_schedule_opts_t even = {.rounding = SK_ROUND_HALF_EVEN};
    /* 0.5 % of 1.00 = 0.005. */
    sk_schedule_t s = s_sched("0.5/10,n/30", "2026-11-02", 100, 0, "CNY", NULL);
    assert_int_equal(s.tiers[0].discount, 1);
    assert_int_equal(s.tiers[0].payable, 99);
    s = s_sched("0.5/10,n/30", "2026-11-02", 100, 0, "CNY", &even);
    assert_int_equal(s.tiers[0].discount, 0);
    assert_int_equal(s.tiers[0].payable, 100);
    /* 1 % of 0.50 = 0.005 -> 0.01 vs 0.00; 1 % of 1.50 = 0.015 -> 0.02 both. */
    s = s_sched("1/10,n/30", "2026-11-02", 50, 0, "CNY", NULL);
    assert_int_equal(s.tiers[0].discount, 1);
    s = s_sched("1/10,n/30", "2026-11-02", 50, 0, "CNY", &even);
    assert_int_equal(s.tiers[0].discount, 0);
    s = s_sched("1/10,n/30", "2026-11-02", 150, 0, "CNY", &even);
    assert_int_equal(s.tiers[0].discount, 2);
    assert_int_equal(s.rounding, SK_ROUND_HALF_EVEN);
}

static void test_grace_days(void **state)
{
    (void)state;
    sk_schedule_opts_t o = {.grace_days = 3};
    sk_schedule_t s = s_sched("2/10,n/30", "2026-11-02", 100000, 0, "CNY", &o);
    sk_test_assert_date(s.tiers[0].last_day, "2026-11-15");
    sk_test_assert_date(s.net_due, "2026-12-02"); /* grace never moves the net due date */
    /* 20 days to net now 17: 2/98 * 365/17 = 43.82 %. */
    assert_int_equal(s.tiers[0].apr_vs_net_bp, 4382);
    sk_schedule_opts_t o2 = {.grace_days = 2};
    s_reject("2/28,n/30", "2026-11-02", 100000, 0, &o2, "bad_terms",
             "tier 1 ends 2026-12-02, not before the net due date 2026-12-02");
    sk_schedule_opts_t o3 = {.grace_days = 366};
    s_reject("2/10,n/30", "2026-11-02", 100000, 0, &o3, "bad_terms", "grace days 366");
}

static const char s_holidays[] = "2026-11-16\n2026-12-25\n";

static void test_business_days(void **state)
{
    (void)state;
    sk_calendar_t *cal = sk_calendar_new();
    sk_err_t e;
    assert_int_equal(sk_calendar_load_text(cal, s_holidays, strlen(s_holidays), &e), 0);
    /* 2026-11-04 (Wed) + 10 = Sat 11-14 -> Mon 11-16, a holiday -> Tue 11-17.
     * Net: + 30 = Fri 12-04, a business day. */
    sk_schedule_opts_t o = {.business_days = true, .calendar = cal};
    sk_schedule_t s = s_sched("2/10,n/30", "2026-11-04", 100000, 0, "CNY", &o);
    sk_test_assert_date(s.tiers[0].last_day, "2026-11-17");
    sk_test_assert_date(s.net_due, "2026-12-04");
    /* Without a calendar only weekends move. */
    sk_schedule_opts_t wk = {.business_days = true};
    s = s_sched("2/10,n/30", "2026-11-04", 100000, 0, "CNY", &wk);
    sk_test_assert_date(s.tiers[0].last_day, "2026-11-16");
    /* The net due date moves too: 2026-11-25 + 30 = Fri 12-25 (holiday) -> Mon 12-28. */
    s = s_sched("2/10,n/30", "2026-11-25", 100000, 0, "CNY", &o);
    sk_test_assert_date(s.net_due, "2026-12-28");
    /* Business days off: the calendar is ignored. */
    sk_schedule_opts_t off = {.calendar = cal};
    s = s_sched("2/10,n/30", "2026-11-04", 100000, 0, "CNY", &off);
    sk_test_assert_date(s.tiers[0].last_day, "2026-11-14");
    /* Two tiers pushed onto the same Monday: rejected, naming both. */
    s_reject("2/10,1/12,n/30", "2026-11-04", 100000, 0, &wk, "bad_terms",
             "tier 2 (1 %) ends 2026-11-16, not after tier 1's 2026-11-16 (after business-day "
             "adjustment)");
    sk_calendar_destroy(&cal);
}

static void test_rejects(void **state)
{
    (void)state;
    s_reject("2/10,n/30", "2026-11-02", 0, 0, NULL, "bad_amount", "must be above 0");
    s_reject("2/10,n/30", "2026-11-02", -100, 0, NULL, "bad_amount", "amount -1.00");
    s_reject("2/10,n/30", "2026-11-02", SK_MONEY_MAX + 1, 0, NULL, "bad_amount",
             "at most 10000000000000.00");
    s_reject("2/10,n/30", "2026-11-02", 100000, 100000, NULL, "bad_amount",
             "tax 1000.00: must be at least 0 and below the amount 1000.00");
    s_reject("2/10,n/30", "2026-11-02", 100000, -1, NULL, "bad_amount", "tax -0.01");
    /* Mixed kinds that cross once dated. */
    s_reject("2/40,1/d15+1m,n/60", "2026-11-20", 100000, 0, NULL, "bad_terms",
             "tier 2 (1 %) ends 2026-12-15, not after tier 1's 2026-12-30");
    s_reject("2/40,n/d15+1m", "2026-11-20", 100000, 0, NULL, "bad_terms",
             "tier 1 ends 2026-12-30, not before the net due date 2026-12-15");
    /* A fixed day already past on the baseline. */
    s_reject("2/d15,n/d15+1m", "2026-11-20", 100000, 0, NULL, "bad_terms",
             "tier 1 ends 2026-11-15, before the baseline 2026-11-20");
    s_reject("n/d15", "2026-11-20", 100000, 0, NULL, "bad_terms",
             "the net due date 2026-11-15 is before the baseline 2026-11-20");
    /* Past the calendar's end. */
    s_reject("2/10,n/60", "9999-12-01", 100000, 0, NULL, "bad_date", "after 9999-12-31");
    /* Terms built by hand, not by the parser, are still checked. */
    sk_terms_t t = {.ntiers = 2,
                    .tiers = {{20000, {SK_WHEN_DAYS, 10, 0, 0}}, {30000, {SK_WHEN_DAYS, 20, 0, 0}}},
                    .net = {SK_WHEN_DAYS, 30, 0, 0}};
    sk_schedule_t s;
    sk_err_t e;
    assert_int_equal(sk_schedule_compute(&t, sk_test_day("2026-11-02"), 100, 0,
                                         sk_currency_find("CNY"), NULL, &s, &e),
                     -1);
    assert_string_equal(e.code, "bad_terms");
    t.tiers[1].rate_ppm = 10000;
    t.net.days = 1000000;
    assert_int_equal(sk_schedule_compute(&t, sk_test_day("2026-11-02"), 100, 0,
                                         sk_currency_find("CNY"), NULL, &s, &e),
                     -1);
    assert_non_null(strstr(e.msg, "net term out of range"));
}

static void test_tier_on(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 0, "CNY", NULL);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-11-01")),
                     0); /* before the baseline */
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-11-02")), 0);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-11-03")), 1);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-11-12")), 1);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-11-13")), 2);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-12-02")), 2);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2026-12-03")), -1);
    assert_int_equal(sk_schedule_tier_on(&s, sk_test_day("2027-06-01")), -1);
    sk_schedule_t n = s_sched("n/30", "2026-11-02", 113000, 0, "CNY", NULL);
    assert_int_equal(n.ntiers, 0);
    assert_int_equal(sk_schedule_tier_on(&n, sk_test_day("2026-11-02")), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_gross),      cmocka_unit_test(test_seed_net_base),
        cmocka_unit_test(test_classic_apr),     cmocka_unit_test(test_sap_dates),
        cmocka_unit_test(test_month_end_rules), cmocka_unit_test(test_no_decimals),
        cmocka_unit_test(test_rounding_ties),   cmocka_unit_test(test_grace_days),
        cmocka_unit_test(test_business_days),   cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_tier_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
