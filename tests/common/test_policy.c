/* test_policy — the rates finance judges a discount policy by, worked out by
 * hand (each expected figure is in a comment, to more digits than the
 * rounding keeps): nominal and effective annual rates against net and the next
 * tier, balance-point rates, a customer's implied rate, DSO by countback, and
 * what each returns outside its domain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy.h"
#include "schedule.h"
#include "testutil.h"

static sk_policy_apr_t s_apr(int32_t rate, int32_t next, int days)
{
    sk_policy_apr_t a;
    assert_int_equal(sk_policy_apr(rate, next, days, &a), SK_POLICY_OK);
    return a;
}

static int32_t s_balance(int32_t k, int days)
{
    int32_t v = -1;
    assert_int_equal(sk_policy_balance_ppm(k, days, &v), SK_POLICY_OK);
    return v;
}

static int32_t s_simple(int32_t k, int days)
{
    int32_t v = -1;
    assert_int_equal(sk_policy_balance_simple_ppm(k, days, &v), SK_POLICY_OK);
    return v;
}

static sk_schedule_t s_sched(const char *terms, const char *baseline)
{
    sk_terms_t t;
    sk_schedule_t s;
    sk_err_t e;
    if (sk_terms_parse(terms, &t, &e) != 0)
        fail_msg("%s: %s", terms, e.msg);
    if (sk_schedule_compute(&t, sk_test_day(baseline), 10000, 0, sk_currency_find("CNY"), NULL, &s,
                            &e) != 0)
        fail_msg("%s from %s: %s", terms, baseline, e.msg);
    return s;
}

/* ---- annual rates --------------------------------------------------------- */

static void test_2_10_net_30(void **state)
{
    (void)state;
    /* 2/98 x 365/20 = 37.2449 %; (1/0.98)^(365/20) - 1 = 44.5853 % */
    sk_policy_apr_t a = s_apr(20000, 0, 20);
    assert_int_equal(a.nominal_bp, 3724);
    assert_int_equal(a.effective_bp, 4459);
}

static void test_seed_terms_vs_net_and_next(void **state)
{
    (void)state;
    /* 2/0,1/10,0.5/30,n/60. Against net: 2 % for 60 days 12.4150 / 13.0771,
     * 1 % for 50 days 7.3737 / 7.6126, 0.5 % for 30 days 6.1139 / 6.2884. */
    sk_policy_apr_t a = s_apr(20000, 0, 60);
    assert_int_equal(a.nominal_bp, 1241);
    assert_int_equal(a.effective_bp, 1308);
    a = s_apr(10000, 0, 50);
    assert_int_equal(a.nominal_bp, 737);
    assert_int_equal(a.effective_bp, 761);
    a = s_apr(5000, 0, 30);
    assert_int_equal(a.nominal_bp, 611);
    assert_int_equal(a.effective_bp, 629);
    /* Against the next tier: 2 % on day 0 instead of 1 % on day 10:
     * 0.01/0.98 x 365/10 = 37.2449; (0.99/0.98)^36.5 - 1 = 44.8548.
     * 1 % on day 10 instead of 0.5 % on day 30: 9.2172 / 9.6299. */
    a = s_apr(20000, 10000, 10);
    assert_int_equal(a.nominal_bp, 3724);
    assert_int_equal(a.effective_bp, 4485);
    a = s_apr(10000, 5000, 20);
    assert_int_equal(a.nominal_bp, 922);
    assert_int_equal(a.effective_bp, 963);
}

static void test_own_case_3_10_net_60(void **state)
{
    (void)state;
    /* 3/97 x 365/50 = 22.5773 %; (1/0.97)^7.3 - 1 = 24.9011 % */
    sk_policy_apr_t a = s_apr(30000, 0, 50);
    assert_int_equal(a.nominal_bp, 2258);
    assert_int_equal(a.effective_bp, 2490);
}

static void test_effective_never_below_nominal_within_a_year(void **state)
{
    (void)state;
    /* Compounding more than once a year adds; at exactly one period a year
     * (d = 365) the two agree: 1/99 = 1.0101 %. */
    for (int32_t r = 1000; r <= 100000; r += 1000)
        for (int d = 1; d <= 365; d += 7) {
            sk_policy_apr_t a = s_apr(r, 0, d);
            assert_true(a.effective_bp >= a.nominal_bp);
        }
    sk_policy_apr_t a = s_apr(10000, 0, 365);
    assert_int_equal(a.nominal_bp, 101);
    assert_int_equal(a.effective_bp, 101);
}

static void test_schedule_days_from_month_lengths(void **state)
{
    (void)state;
    /* 3/d15+1m,n/d15+2m from 2023-01-10 and 2024-01-10: the tier ends on
     * 15 February, net on 15 March, 28 days apart in 2023 and 29 in the leap
     * year; the year stays 365 days either way:
     * 3/97 x 365/28 = 40.3166, (1/0.97)^(365/28) - 1 = 48.7441;
     * 3/97 x 365/29 = 38.9264, (1/0.97)^(365/29) - 1 = 46.7215. */
    sk_schedule_t s = s_sched("3/d15+1m,n/d15+2m", "2023-01-10");
    int d = (int)(s.net_due - s.tiers[0].last_day);
    assert_int_equal(d, 28);
    sk_policy_apr_t a = s_apr(s.tiers[0].rate_ppm, 0, d);
    assert_int_equal(a.nominal_bp, 4032);
    assert_int_equal(a.effective_bp, 4874);
    assert_int_equal(a.nominal_bp, s.tiers[0].apr_vs_net_bp); /* the schedule agrees */

    s = s_sched("3/d15+1m,n/d15+2m", "2024-01-10");
    d = (int)(s.net_due - s.tiers[0].last_day);
    assert_int_equal(d, 29);
    a = s_apr(s.tiers[0].rate_ppm, 0, d);
    assert_int_equal(a.nominal_bp, 3893);
    assert_int_equal(a.effective_bp, 4672);

    /* End-of-month terms: 2/10eom,n/30eom are 20 days apart whatever the month. */
    s = s_sched("2/10eom,n/30eom", "2024-02-20");
    assert_int_equal(s.net_due - s.tiers[0].last_day, 20);
    /* Plain days over 29 February 2024 are still 20 days: 37.24 / 44.59. */
    s = s_sched("2/10,n/30", "2024-02-20");
    sk_test_assert_date(s.tiers[0].last_day, "2024-03-01");
    d = (int)(s.net_due - s.tiers[0].last_day);
    assert_int_equal(d, 20);
    a = s_apr(20000, 0, d);
    assert_int_equal(a.nominal_bp, 3724);
    assert_int_equal(a.effective_bp, 4459);
}

static void test_cash_tier_on_day_0(void **state)
{
    (void)state;
    /* 2/0,n/30: the tier's own "0" is the baseline; 30 days to net.
     * 2/98 x 365/30 = 24.8299; (1/0.98)^(365/30) - 1 = 27.8643. */
    sk_schedule_t s = s_sched("2/0,n/30", "2026-03-02");
    int d = (int)(s.net_due - s.tiers[0].last_day);
    assert_int_equal(d, 30);
    sk_policy_apr_t a = s_apr(20000, 0, d);
    assert_int_equal(a.nominal_bp, 2483);
    assert_int_equal(a.effective_bp, 2786);
}

static void test_rates_outside_the_domain(void **state)
{
    (void)state;
    sk_policy_apr_t a = {7, 7};
    /* d = 0 (and below): no time bought, no annual rate. */
    assert_int_equal(sk_policy_apr(20000, 0, 0, &a), SK_POLICY_NO_DAYS);
    assert_int_equal(a.nominal_bp, 0);
    assert_int_equal(a.effective_bp, 0);
    assert_int_equal(sk_policy_apr(20000, 0, -5, &a), SK_POLICY_NO_DAYS);
    /* r >= 100 %: 1 - r = 0 would divide by zero. */
    a = (sk_policy_apr_t){7, 7};
    assert_int_equal(sk_policy_apr(SK_PPM, 0, 20, &a), SK_POLICY_BAD_RATE);
    assert_int_equal(a.nominal_bp, 0);
    assert_int_equal(a.effective_bp, 0);
    assert_int_equal(sk_policy_apr(SK_PPM + 1, 0, 20, &a), SK_POLICY_BAD_RATE);
    assert_int_equal(sk_policy_apr(-1, 0, 20, &a), SK_POLICY_BAD_RATE);
    /* A next tier above this one is not terms; equal rates buy nothing. */
    assert_int_equal(sk_policy_apr(10000, 20000, 20, &a), SK_POLICY_BAD_RATE);
    assert_int_equal(sk_policy_apr(10000, -1, 20, &a), SK_POLICY_BAD_RATE);
    a = s_apr(10000, 10000, 20);
    assert_int_equal(a.nominal_bp, 0);
    assert_int_equal(a.effective_bp, 0);
    /* Absurd tiers saturate instead of overflowing: 50 % for a day compounds
     * to 2^365; 99.9999 % for a day is 3.65e12 hundredths nominal. */
    a = s_apr(500000, 0, 1);
    assert_int_equal(a.nominal_bp, 3650000); /* 0.5/0.5 x 365 = 36500 % */
    assert_int_equal(a.effective_bp, INT32_MAX);
    a = s_apr(999999, 0, 1);
    assert_int_equal(a.nominal_bp, INT32_MAX);
    assert_int_equal(a.effective_bp, INT32_MAX);
    /* The smallest rate keeps its digits: 1 ppm for a year is 0.0001 %, 0 bp. */
    a = s_apr(1, 0, 365);
    assert_int_equal(a.nominal_bp, 0);
    assert_int_equal(a.effective_bp, 0);
}

/* ---- balance points -------------------------------------------------------- */

static void test_balance_at_8_percent(void **state)
{
    (void)state;
    /* 2/10,n/30 at 8 %: 1 - 1.08^(-20/365) = 0.420816 %;
     * x = 0.08 x 20/365 = 0.0043836, x/(1+x) = 0.436443 %. */
    assert_int_equal(s_balance(80000, 20), 4208);
    assert_int_equal(s_simple(80000, 20), 4364);
    /* The seed's tiers at 8 %: 60 days 1.257144 / 1.297999, 50 days
     * 1.048723 / 1.084011, 30 days 0.630560 / 0.653239. */
    assert_int_equal(s_balance(80000, 60), 12571);
    assert_int_equal(s_simple(80000, 60), 12980);
    assert_int_equal(s_balance(80000, 50), 10487);
    assert_int_equal(s_simple(80000, 50), 10840);
    assert_int_equal(s_balance(80000, 30), 6306);
    assert_int_equal(s_simple(80000, 30), 6532);
    /* Own case: 12 % for 35 days: 1.080830 / 1.137595. */
    assert_int_equal(s_balance(120000, 35), 10808);
    assert_int_equal(s_simple(120000, 35), 11376);
}

static void test_balance_a_year_and_beyond(void **state)
{
    (void)state;
    /* For a whole year both are k/(1+k) = 0.08/1.08 = 7.407407 %. */
    assert_int_equal(s_balance(80000, 365), 74074);
    assert_int_equal(s_simple(80000, 365), 74074);
    /* Ten years: 1 - 1.08^(-3660/365) = 53.778214 %, x = 0.802 -> 44.512010 %. */
    assert_int_equal(s_balance(80000, 3660), 537782);
    assert_int_equal(s_simple(80000, 3660), 445120);
    /* Under a year the simple figure is the larger. */
    for (int d = 1; d < 365; d++)
        assert_true(s_simple(80000, d) >= s_balance(80000, d));
}

static void test_balance_below_tier_rate_means_it_costs(void **state)
{
    (void)state;
    /* 2/10,n/30 grants 2 % = 20000 ppm where 8 % money is worth 4208 ppm:
     * the tier pays out almost five times its balance point. */
    int32_t b = s_balance(80000, 20);
    assert_true(b < 20000);
    /* At the balance rate the nominal rate is about the cost of capital
     * (4208/995792 x 365/20 = 7.71 %; effective: 8.00 %). */
    sk_policy_apr_t a = s_apr(b, 0, 20);
    assert_int_equal(a.effective_bp, 800);
}

static void test_balance_outside_the_domain(void **state)
{
    (void)state;
    int32_t v = 7;
    /* k = 0: money costs nothing, no discount is worth granting. */
    assert_int_equal(s_balance(0, 20), 0);
    assert_int_equal(s_simple(0, 20), 0);
    /* d = 0: no time, no discount. */
    assert_int_equal(s_balance(80000, 0), 0);
    assert_int_equal(s_simple(80000, 0), 0);
    assert_int_equal(sk_policy_balance_ppm(-1, 20, &v), SK_POLICY_BAD_RATE);
    assert_int_equal(v, 0);
    v = 7;
    assert_int_equal(sk_policy_balance_simple_ppm(-1, 20, &v), SK_POLICY_BAD_RATE);
    assert_int_equal(v, 0);
    assert_int_equal(sk_policy_balance_ppm(80000, -1, &v), SK_POLICY_BAD_INPUT);
    assert_int_equal(sk_policy_balance_simple_ppm(80000, -1, &v), SK_POLICY_BAD_INPUT);
    /* The largest inputs stay below 100 %. */
    assert_true(s_balance(INT32_MAX, 3660) <= SK_PPM);
    assert_true(s_simple(INT32_MAX, 3660) < SK_PPM);
}

/* ---- a customer's implied rate ---------------------------------------------- */

static void test_implied_rate_day_45(void **state)
{
    (void)state;
    /* 2/10,n/30 from 2026-03-02; the customer pays on day 45 (2026-04-16):
     * taking the discount on day 10 gains 35 days.
     * 2/98 x 365/35 = 21.2828 %; (1/0.98)^(365/35) - 1 = 23.4524 %. */
    sk_schedule_t s = s_sched("2/10,n/30", "2026-03-02");
    sk_day_t base = sk_test_day("2026-03-02");
    sk_policy_apr_t a;
    assert_int_equal(sk_policy_implied(20000, s.tiers[0].last_day, base + 45, &a), SK_POLICY_OK);
    assert_int_equal(a.nominal_bp, 2128);
    assert_int_equal(a.effective_bp, 2345);
    /* Paying at net, the customer's rate is the tier's against net. */
    assert_int_equal(sk_policy_implied(20000, s.tiers[0].last_day, s.net_due, &a), SK_POLICY_OK);
    assert_int_equal(a.nominal_bp, 3724);
    assert_int_equal(a.effective_bp, 4459);
    /* Paying within the window anyway, the discount buys no days. */
    a = (sk_policy_apr_t){7, 7};
    assert_int_equal(sk_policy_implied(20000, s.tiers[0].last_day, s.tiers[0].last_day, &a),
                     SK_POLICY_NO_DAYS);
    assert_int_equal(a.nominal_bp, 0);
    assert_int_equal(a.effective_bp, 0);
    assert_int_equal(sk_policy_implied(20000, s.tiers[0].last_day, base + 5, &a),
                     SK_POLICY_NO_DAYS);
    /* Days far apart do not overflow. */
    assert_int_equal(sk_policy_implied(20000, INT32_MIN, INT32_MAX, &a), SK_POLICY_OK);
    assert_int_equal(sk_policy_implied(20000, INT32_MAX, INT32_MIN, &a), SK_POLICY_NO_DAYS);
}

/* ---- DSO ---------------------------------------------------------------- */

static int32_t s_dso(int64_t ar, const sk_policy_month_t *m, int n, sk_policy_status_t want)
{
    int32_t v = -1;
    assert_int_equal(sk_policy_dso_countback(ar, m, n, &v), want);
    return v;
}

static void test_dso_countback_vector(void **state)
{
    (void)state;
    /* 212,000 - 100,000 (30 days) - 80,000 (30 days) leaves 32,000 of the
     * 70,000 before: 60 + 32/70 x 30 = 73.714 days. In minor units. */
    const sk_policy_month_t m[] = {{10000000, 30}, {8000000, 30}, {7000000, 30}};
    assert_int_equal(s_dso(21200000, m, 3, SK_POLICY_OK), 7371);
    /* Receivables within the latest month: 50,000 of 100,000 is 15 days. */
    assert_int_equal(s_dso(5000000, m, 3, SK_POLICY_OK), 1500);
    /* Exactly the latest month's sales: 30 days; exactly all three: 90. */
    assert_int_equal(s_dso(10000000, m, 3, SK_POLICY_OK), 3000);
    assert_int_equal(s_dso(25000000, m, 3, SK_POLICY_OK), 9000);
}

static void test_dso_real_month_lengths(void **state)
{
    (void)state;
    /* The same figures in March, February, January (latest first): 31 + 28 +
     * 32/70 x 31 = 73.171 days in 2026; February 2024 has 29: 74.171. */
    sk_policy_month_t m[] = {{10000000, sk_days_in_month(2026, 3)},
                             {8000000, sk_days_in_month(2026, 2)},
                             {7000000, sk_days_in_month(2026, 1)}};
    assert_int_equal(s_dso(21200000, m, 3, SK_POLICY_OK), 7317);
    m[1].days = sk_days_in_month(2024, 2);
    assert_int_equal(s_dso(21200000, m, 3, SK_POLICY_OK), 7417);
    /* A month without sales counts whole: 30 + 30 + 50/70 x 30 = 81.429. */
    const sk_policy_month_t gap[] = {{10000000, 30}, {0, 30}, {7000000, 30}};
    assert_int_equal(s_dso(15000000, gap, 3, SK_POLICY_OK), 8143);
}

static void test_dso_outside_the_domain(void **state)
{
    (void)state;
    const sk_policy_month_t m[] = {{10000000, 30}, {8000000, 30}, {7000000, 30}};
    const sk_policy_month_t none[] = {{0, 30}, {0, 31}};
    /* Nothing owed: 0 days, whatever the sales. */
    assert_int_equal(s_dso(0, m, 3, SK_POLICY_OK), 0);
    assert_int_equal(s_dso(0, none, 2, SK_POLICY_OK), 0);
    assert_int_equal(s_dso(0, NULL, 0, SK_POLICY_OK), 0);
    /* Owed with no sales to count back: undefined, 0. */
    assert_int_equal(s_dso(100, none, 2, SK_POLICY_NO_SALES), 0);
    assert_int_equal(s_dso(100, NULL, 0, SK_POLICY_NO_SALES), 0);
    /* More owed than three months sold: at least 90 days. */
    assert_int_equal(s_dso(26000000, m, 3, SK_POLICY_BEYOND), 9000);
    /* Nonsense in: BAD_INPUT, 0. */
    const sk_policy_month_t neg[] = {{-1, 30}};
    const sk_policy_month_t len0[] = {{100, 0}};
    const sk_policy_month_t len32[] = {{100, 32}};
    assert_int_equal(s_dso(-1, m, 3, SK_POLICY_BAD_INPUT), 0);
    assert_int_equal(s_dso(100, neg, 1, SK_POLICY_BAD_INPUT), 0);
    assert_int_equal(s_dso(100, len0, 1, SK_POLICY_BAD_INPUT), 0);
    assert_int_equal(s_dso(100, len32, 1, SK_POLICY_BAD_INPUT), 0);
    assert_int_equal(s_dso(100, m, -1, SK_POLICY_BAD_INPUT), 0);
    assert_int_equal(s_dso(100, m, SK_POLICY_DSO_MAX_MONTHS + 1, SK_POLICY_BAD_INPUT), 0);
    assert_int_equal(s_dso(100, NULL, 3, SK_POLICY_BAD_INPUT), 0);
    /* The largest amounts do not overflow: SK_MONEY_MAX owed against one
     * month of 1 minor unit is beyond; against itself 30 days. */
    const sk_policy_month_t tiny[] = {{1, 31}};
    const sk_policy_month_t huge[] = {{SK_MONEY_MAX, 30}};
    assert_int_equal(s_dso(SK_MONEY_MAX, tiny, 1, SK_POLICY_BEYOND), 3100);
    assert_int_equal(s_dso(SK_MONEY_MAX, huge, 1, SK_POLICY_OK), 3000);
    assert_int_equal(s_dso(1, huge, 1, SK_POLICY_OK), 0);
}

/* ---- cost of capital ------------------------------------------------------ */

static void test_cost_of_capital_parse(void **state)
{
    (void)state;
    int32_t k = 0;
    sk_err_t e;
    assert_int_equal(sk_policy_cost_parse("8", &k, &e), 0);
    assert_int_equal(k, 80000);
    assert_int_equal(sk_policy_cost_parse("7.25", &k, &e), 0);
    assert_int_equal(k, 72500);
    assert_int_equal(sk_policy_cost_parse("0.0001", &k, &e), 0);
    assert_int_equal(k, 1);
    static const char *const bad[] = {"", "0", "100", "-8", "8%", "8,5", "7.12345", "abc", " 8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = 7;
        assert_int_equal(sk_policy_cost_parse(bad[i], &k, &e), -1);
        assert_int_equal(k, 7);
        assert_string_equal(e.code, "bad_cost_of_capital");
        assert_non_null(strstr(e.msg, "percent a year above 0 and below 100"));
    }
    assert_int_equal(sk_policy_cost_parse(NULL, &k, &e), -1);
    assert_int_equal(sk_policy_cost_parse("1\n2", &k, &e), -1);
    assert_null(strchr(e.msg, '\n'));
}

/* ---- amount-weighted rates ------------------------------------------------- */

static void test_weighted_mean(void **state)
{
    (void)state;
    int64_t v[] = {1552, 2191, 99999}, w[] = {100000, 50000, 0};
    /* (1552 x 2 + 2191) / 3 = 1765.00; the zero weight is ignored */
    assert_int_equal(sk_policy_weighted_mean(v, w, 3), 1765);
    int64_t v2[] = {1, 2}, w2[] = {1, 1};
    assert_int_equal(sk_policy_weighted_mean(v2, w2, 2), 2); /* 1.5: half away from zero */
    int64_t v3[] = {-1, -2};
    assert_int_equal(sk_policy_weighted_mean(v3, w2, 2), -2);
    assert_int_equal(sk_policy_weighted_mean(v, w, 0), 0);
}

static void test_weighted_end_of_month_days(void **state)
{
    (void)state;
    /* 2/10,n/30eom, 1000.00 shipped 11-02 (last day 11-12, net 12-30: 48 days)
     * and 500.00 shipped 11-16 (11-26: 34 days). Per bucket:
     *   48 days: 2/98 x 365/48 = 15.5187 % -> 1552; (1/0.98)^(365/48) - 1 = 16.6118 % -> 1661;
     *            balance at 8 %: 1 - 1.08^(-48/365) = 1.00703 % -> 10070
     *   34 days: 21.9088 % -> 2191; 24.2210 % -> 2422; 0.71426 % -> 7143
     * weighted 2:1: nominal (2 x 1552 + 2191) / 3 = 1765, effective
     * (2 x 1661 + 2422) / 3 = 1914.67 -> 1915, balance (2 x 10070 + 7143) / 3
     * = 9094.33 -> 9094; at the mean 43 days it would be 1732, 1871, 9026. */
    sk_schedule_t a = s_sched("2/10,n/30eom", "2026-11-02"), b = s_sched("2/10,n/30eom", "2026-11-16");
    assert_int_equal(a.net_due - a.tiers[0].last_day, 48);
    assert_int_equal(b.net_due - b.tiers[0].last_day, 34);
    sk_policy_bucket_t bk[] = {{20000, 0, 48, 48, 100000}, {20000, 0, 34, 34, 50000}};
    sk_policy_weighted_t w;
    assert_int_equal(sk_policy_weighted(bk, 2, 80000, &w), SK_POLICY_OK);
    assert_int_equal(w.amount, 150000);
    assert_int_equal(w.rate_ppm, 20000);
    assert_false(w.rates_differ);
    assert_true(w.has_net && w.has_next);
    assert_int_equal(w.vs_net.nominal_bp, 1765);
    assert_int_equal(w.vs_net.effective_bp, 1915);
    assert_int_equal(w.vs_next.nominal_bp, 1765);
    assert_int_equal(w.balance_ppm, 9094);
    sk_policy_apr_t mean = s_apr(20000, 0, 43);
    assert_int_equal(mean.nominal_bp, 1732);
}

static void test_weighted_rates_differ(void **state)
{
    (void)state;
    /* an override granted 1 % instead of 2 % on a third of the amount:
     * rate (2 x 2 % + 1 %) / 3 = 1.6667 % -> 16667 ppm; vs net over 20 days
     * (2 x 3724 + 1843) / 3 = 3097 (1/99 x 365/20 = 18.4343 % -> 1843) */
    sk_policy_bucket_t bk[] = {{20000, 0, 20, 20, 200}, {10000, 0, 20, 20, 100}};
    sk_policy_weighted_t w;
    assert_int_equal(sk_policy_weighted(bk, 2, 80000, &w), SK_POLICY_OK);
    assert_true(w.rates_differ);
    assert_int_equal(w.rate_ppm, 16667);
    assert_int_equal(w.vs_net.nominal_bp, 3097);
    assert_int_equal(w.balance_ppm, 4208); /* the same 20 days for both */
}

static void test_weighted_outside_the_domain(void **state)
{
    (void)state;
    sk_policy_weighted_t w;
    assert_int_equal(sk_policy_weighted(NULL, 0, 80000, &w), SK_POLICY_NO_DAYS);
    assert_int_equal(w.vs_net.nominal_bp, 0);
    sk_policy_bucket_t bk[] = {{20000, 0, 20, 20, 0}, {20000, 0, 0, 0, 100}};
    /* the first has no amount; the second no days: rates left out, balance 0 */
    assert_int_equal(sk_policy_weighted(bk, 2, 80000, &w), SK_POLICY_OK);
    assert_int_equal(w.amount, 100);
    assert_false(w.has_net);
    assert_int_equal(w.vs_net.nominal_bp, 0);
    assert_int_equal(w.balance_ppm, 0);
    assert_int_equal(sk_policy_weighted(bk, 2, -1, &w), SK_POLICY_BAD_RATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_2_10_net_30),
        cmocka_unit_test(test_seed_terms_vs_net_and_next),
        cmocka_unit_test(test_own_case_3_10_net_60),
        cmocka_unit_test(test_effective_never_below_nominal_within_a_year),
        cmocka_unit_test(test_schedule_days_from_month_lengths),
        cmocka_unit_test(test_cash_tier_on_day_0),
        cmocka_unit_test(test_rates_outside_the_domain),
        cmocka_unit_test(test_balance_at_8_percent),
        cmocka_unit_test(test_balance_a_year_and_beyond),
        cmocka_unit_test(test_balance_below_tier_rate_means_it_costs),
        cmocka_unit_test(test_balance_outside_the_domain),
        cmocka_unit_test(test_implied_rate_day_45),
        cmocka_unit_test(test_dso_countback_vector),
        cmocka_unit_test(test_dso_real_month_lengths),
        cmocka_unit_test(test_dso_outside_the_domain),
        cmocka_unit_test(test_cost_of_capital_parse),
        cmocka_unit_test(test_weighted_mean),
        cmocka_unit_test(test_weighted_end_of_month_days),
        cmocka_unit_test(test_weighted_rates_differ),
        cmocka_unit_test(test_weighted_outside_the_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
