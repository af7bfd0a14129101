/* test_report_figures — the policy report's tier figures (skontoctl's
 * report_figures.c) on rows built in memory, as report_policy.c loads them
 * from the counters: end-of-month terms whose days differ per invoice get
 * each invoice's own rate weighted by amount; a store without rate buckets
 * (not rebuilt yet) falls back to the rate at the mean days. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_policy.h"

#define EOM "2/10,n/30eom"

static sk_pol_rep_t s_rep;

static void s_tab(sk_pol_tab_t *t, size_t size)
{
    memset(t, 0, sizeof *t);
    t->size = size;
    t->ix = sk_map_new(SIZE_MAX);
    assert_non_null(t->ix);
}

static sk_pol_trow_t *s_trow(int tier)
{
    char k[64];
    snprintf(k, sizeof k, "%s|CNY|%d", EOM, tier);
    long i = sk_pol_row(&s_rep.tiers, k);
    assert_true(i >= 0);
    sk_pol_trow_t *row = SK_POL_AT(&s_rep.tiers, sk_pol_trow_t, i);
    snprintf(row->terms, sizeof row->terms, "%s", EOM);
    memcpy(row->cur, "CNY", 4);
    row->tier = tier;
    return row;
}

static void s_bucket(int32_t rate, int d_net, int64_t amount)
{
    char k[96];
    snprintf(k, sizeof k, "%s|CNY|0|w%d,0,%d,%d", EOM, (int)rate, d_net, d_net);
    long i = sk_pol_row(&s_rep.buckets, k);
    assert_true(i >= 0);
    sk_pol_brow_t *b = SK_POL_AT(&s_rep.buckets, sk_pol_brow_t, i);
    snprintf(b->terms, sizeof b->terms, "%s", EOM);
    memcpy(b->cur, "CNY", 4);
    b->tier = 0;
    b->b = (sk_policy_bucket_t){rate, 0, d_net, d_net, amount};
}

/* 1000.00 shipped 11-02 (48 days from tier 0's last day to net 12-30) and
 * 500.00 shipped 11-16 (34 days), both taken in tier 0, cost of capital 8 %. */
static int s_setup(void **state)
{
    (void)state;
    memset(&s_rep, 0, sizeof s_rep);
    s_rep.k_ppm = 80000;
    s_tab(&s_rep.tiers, sizeof(sk_pol_trow_t));
    s_tab(&s_rep.buckets, sizeof(sk_pol_brow_t));
    sk_pol_trow_t *all = s_trow(SK_POL_TIER_ALL);
    all->v[SK_POL_V_N] = 2;
    all->v[SK_POL_V_A] = 150000;
    sk_pol_trow_t *t0 = s_trow(0);
    t0->v[SK_POL_V_DN] = 100000 * 48 + 50000 * 34;
    t0->v[SK_POL_V_TK] = 2;
    t0->v[SK_POL_V_DC] = 3000;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    sk_map_destroy(&s_rep.tiers.ix);
    sk_map_destroy(&s_rep.buckets.ix);
    free(s_rep.tiers.rows);
    free(s_rep.buckets.rows);
    free(s_rep.bk);
    return 0;
}

static const sk_pol_trow_t *s_t0(void)
{
    return SK_POL_AT(&s_rep.tiers, sk_pol_trow_t, 1);
}

static void test_no_buckets_falls_back_to_the_mean_days(void **state)
{
    (void)state;
    assert_int_equal(sk_pol_buckets_index(&s_rep), 0);
    sk_pol_tier_fig_t f;
    sk_pol_tier_figures(&s_rep, s_t0(), &f);
    assert_true(f.has_rates);
    assert_false(f.weighted);
    /* (1000 x 48 + 500 x 34) / 1500 = 43.33 -> 43 days: 2/98 x 365/43 = 17.32 % */
    assert_int_equal(f.d_net, 43);
    assert_int_equal(f.vs_net.nominal_bp, 1732);
    assert_int_equal(f.rate_ppm, 20000);
}

static void test_end_of_month_days_weighted_by_amount(void **state)
{
    (void)state;
    s_bucket(20000, 48, 100000);
    s_bucket(20000, 34, 50000);
    assert_int_equal(sk_pol_buckets_index(&s_rep), 0);
    sk_pol_tier_fig_t f;
    sk_pol_tier_figures(&s_rep, s_t0(), &f);
    assert_true(f.weighted);
    assert_false(f.rates_differ);
    /* 48 days: 15.5187 % nominal, 16.6118 % effective, balance 1.00703 %;
     * 34 days: 21.9088 %, 24.2210 %, 0.71426 %; weighted 2:1:
     * (2 x 1552 + 2191) / 3 = 1765, (2 x 1661 + 2422) / 3 = 1914.67 -> 1915,
     * (2 x 10070 + 7143) / 3 = 9094.33 -> 9094; days stay the mean */
    assert_int_equal(f.d_net, 43);
    assert_int_equal(f.d_next, 43);
    assert_int_equal(f.vs_net.nominal_bp, 1765);
    assert_int_equal(f.vs_net.effective_bp, 1915);
    assert_int_equal(f.vs_next.nominal_bp, 1765);
    assert_int_equal(f.balance_ppm, 9094);
    assert_int_equal(f.rate_ppm, 20000);
}

static void test_a_rate_an_override_changed_is_weighted(void **state)
{
    (void)state;
    /* 1000.00 at 2 % and 500.00 at 1 % (an override), both 48 days:
     * rate (2 x 2 % + 1 %) / 3 = 1.6667 %; nominal (2 x 1552 + 768) / 3 = 1290.67
     * -> 1291 (1/99 x 365/48 = 7.6810 % -> 768) */
    s_bucket(20000, 48, 100000);
    s_bucket(10000, 48, 50000);
    assert_int_equal(sk_pol_buckets_index(&s_rep), 0);
    sk_pol_tier_fig_t f;
    sk_pol_tier_figures(&s_rep, s_t0(), &f);
    assert_true(f.rates_differ);
    assert_int_equal(f.rate_ppm, 16667);
    assert_int_equal(f.vs_net.nominal_bp, 1291);
}

/* A customer with amounts in two currencies is advised on once per kind,
 * each amount in the currency where it is largest, the others flagged (not
 * one item per currency, and never its count of claims twice). */
static void test_advice_of_a_customer_in_two_currencies(void **state)
{
    (void)state;
    static sk_pol_rep_t r;
    memset(&r, 0, sizeof r);
    s_tab(&r.tiers, sizeof(sk_pol_trow_t));
    s_tab(&r.custs, sizeof(sk_pol_crow_t));
    /* C-1: 3 closes, 2 at net; granted 5.00 USD; one claim of 7.00 USD */
    long i1 = sk_pol_row(&r.custs, "C-1"), i2 = sk_pol_row(&r.custs, "C-2");
    assert_true(i1 >= 0 && i2 >= 0);
    sk_pol_crow_t *c = SK_POL_AT(&r.custs, sk_pol_crow_t, i1);
    snprintf(c->id, sizeof c->id, "C-1");
    c->n = 3, c->net = 2, c->t[0] = 1, c->un = 1;
    memcpy(c->ucur[0], "CNY", 4);
    memcpy(c->ucur[1], "USD", 4);
    c->dc[1] = 500, c->ua[1] = 700;
    /* C-2: the same, and 2.00 CNY granted, a claim of 1.00 CNY */
    sk_pol_crow_t *d = SK_POL_AT(&r.custs, sk_pol_crow_t, i2);
    *d = *c;
    snprintf(d->id, sizeof d->id, "C-2");
    d->dc[0] = 200, d->ua[0] = 100, d->un = 2;
    sk_advice_t a[SK_ADVICE_MAX];
    int n = sk_pol_advice(&r, a);
    assert_int_equal(n, 4); /* pays at net x 2, unearned x 2 */
    assert_int_equal(a[0].kind, SK_ADVICE_CUSTOMER_PAYS_AT_NET);
    assert_int_equal(a[1].kind, SK_ADVICE_CUSTOMER_PAYS_AT_NET);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(a[i].cur, "USD");
        assert_int_equal(a[i].amount, 500);
    }
    assert_string_equal(a[0].customer, "C-1");
    assert_false(a[0].other_currencies);
    assert_true(a[1].other_currencies);
    assert_int_equal(a[2].kind, SK_ADVICE_CUSTOMER_UNEARNED);
    assert_string_equal(a[2].cur, "USD");
    assert_int_equal(a[2].amount, 700);
    assert_string_equal(a[2].customer, "C-1");
    assert_int_equal(a[2].count, 1);
    assert_false(a[2].other_currencies);
    assert_string_equal(a[3].customer, "C-2");
    assert_int_equal(a[3].count, 2);
    assert_true(a[3].other_currencies);
    sk_map_destroy(&r.tiers.ix);
    sk_map_destroy(&r.custs.ix);
    free(r.custs.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_buckets_falls_back_to_the_mean_days, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_end_of_month_days_weighted_by_amount, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_rate_an_override_changed_is_weighted, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_advice_of_a_customer_in_two_currencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
