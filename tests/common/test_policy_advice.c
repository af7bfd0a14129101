/* test_policy_advice — the recommendation's items: which tiers cost more than
 * the cost of capital and by how much a year, which are below their balance
 * point, and which customers other terms would suit; the bound per kind and
 * the order. Figures worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy_advice.h"

static void test_tier_above_cost_per_year(void **state)
{
    (void)state;
    /* 2/10,n/30 t0 at 8 %: 2 % against a balance rate of 0.4208 %; discounts
     * 30.00 against earlier cash worth 6.87: 23.13 over the 61 days of
     * 2026-11..12, 2313 x 365 / 61 = 13840.1 -> 138.40 a year */
    sk_advice_tier_t t = {"2/10,n/30", "CNY", 0, 20000, 4208, 4459, 2, 3000, 687};
    sk_advice_t out[SK_ADVICE_MAX];
    assert_int_equal(sk_policy_advise(&t, 1, NULL, 0, 61, out), 1);
    assert_int_equal(out[0].kind, SK_ADVICE_TIER_ABOVE_COST);
    assert_string_equal(sk_advice_kind_code(out[0].kind), "tier_above_cost");
    assert_string_equal(out[0].terms, "2/10,n/30");
    assert_int_equal(out[0].tier, 0);
    assert_int_equal(out[0].excess, 2313);
    assert_int_equal(out[0].per_year, 13840);
    assert_int_equal(out[0].amount, 13840);
    assert_null(out[0].customer);
    /* a year's range: the excess itself */
    assert_int_equal(sk_policy_advise(&t, 1, NULL, 0, 365, out), 1);
    assert_int_equal(out[0].per_year, 2313);
    /* not taken, or the earlier cash worth more: nothing to say */
    t.taken = 0;
    assert_int_equal(sk_policy_advise(&t, 1, NULL, 0, 61, out), 0);
    t.taken = 2;
    t.value = 3000;
    assert_int_equal(sk_policy_advise(&t, 1, NULL, 0, 61, out), 0);
}

static void test_tier_below_and_at_balance(void **state)
{
    (void)state;
    /* 0.3 % for 20 days at 8 %: below 0.4208 %, earning 6.87 - 3.00 */
    sk_advice_tier_t t[] = {{"0.3/10,n/30", "CNY", 0, 3000, 4208, 0, 1, 300, 687},
                            {"x", "CNY", 0, 4208, 4208, 0, 1, 300, 687}};
    sk_advice_t out[SK_ADVICE_MAX];
    assert_int_equal(sk_policy_advise(t, 2, NULL, 0, 30, out), 1);
    assert_string_equal(sk_advice_kind_code(out[0].kind), "tier_below_balance");
    assert_int_equal(out[0].amount, 387);
    assert_int_equal(out[0].balance_ppm, 4208);
}

static void test_customers(void **state)
{
    (void)state;
    sk_advice_cust_t c[] = {
        /* 3 closes, 2 at net, 1 unearned claim of 20.00: pays at net, unearned */
        {.id = "C-B", .cur = "CNY", .closed = 3, .at_net = 2, .in_first = 0, .discount = 1000, .unearned_count = 1, .unearned_cur = "CNY", .unearned_amount = 2000},
        /* 2 closes both in tier 0, 30.00 granted */
        {.id = "C-A", .cur = "CNY", .closed = 2, .at_net = 0, .in_first = 2, .discount = 3000, .unearned_count = 0, .unearned_amount = 0},
        /* one close in tier 0: too few to call a habit */
        {.id = "C-C", .cur = "CNY", .closed = 1, .at_net = 0, .in_first = 1, .discount = 500, .unearned_count = 0, .unearned_amount = 0},
        /* half at net: not more than half */
        {.id = "C-D", .cur = "CNY", .closed = 2, .at_net = 1, .in_first = 1, .discount = 500, .unearned_count = 0, .unearned_amount = 0},
    };
    sk_advice_t out[SK_ADVICE_MAX];
    int n = sk_policy_advise(NULL, 0, c, 4, 30, out);
    assert_int_equal(n, 3);
    assert_string_equal(sk_advice_kind_code(out[0].kind), "customer_pays_at_net");
    assert_string_equal(out[0].customer, "C-B");
    assert_int_equal(out[0].count, 2);
    assert_int_equal(out[0].amount, 1000);
    assert_int_equal(out[0].tier, -1);
    assert_string_equal(sk_advice_kind_code(out[1].kind), "customer_takes_first_tier");
    assert_string_equal(out[1].customer, "C-A");
    assert_int_equal(out[1].amount, 3000);
    assert_string_equal(sk_advice_kind_code(out[2].kind), "customer_unearned");
    assert_string_equal(out[2].customer, "C-B");
    assert_int_equal(out[2].amount, 2000);
}

static void test_at_most_n_per_kind_largest_first(void **state)
{
    (void)state;
    enum { N = 12 };
    sk_advice_cust_t c[N];
    char id[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(id[i], sizeof id[i], "C-%02d", i);
        /* amounts 100, 200, ... with two equal ones at the top (ties by id) */
        int64_t amount = i == N - 1 ? 100 * (N - 1) : 100 * (i + 1);
        c[i] = (sk_advice_cust_t){.id = id[i], .cur = "CNY", .closed = 2, .at_net = 2,
                                  .unearned_count = 1, .unearned_cur = "CNY",
                                  .unearned_amount = amount};
    }
    sk_advice_t out[SK_ADVICE_MAX];
    int n = sk_policy_advise(NULL, 0, c, N, 30, out);
    /* every customer pays at net (discount 0) and claimed an unearned discount */
    assert_int_equal(n, 2 * SK_ADVICE_PER_KIND);
    const sk_advice_t *u = &out[SK_ADVICE_PER_KIND];
    for (int i = 0; i < SK_ADVICE_PER_KIND; i++)
        assert_int_equal(u[i].kind, SK_ADVICE_CUSTOMER_UNEARNED);
    assert_string_equal(u[0].customer, "C-10");
    assert_int_equal(u[0].amount, 1100);
    assert_string_equal(u[1].customer, "C-11");
    assert_int_equal(u[1].amount, 1100);
    assert_int_equal(u[2].amount, 1000);
    assert_int_equal(u[4].amount, 800);
    /* pays at net, all with 0 granted: by id */
    assert_string_equal(out[0].customer, "C-00");
    assert_string_equal(out[4].customer, "C-04");
    assert_string_equal(sk_advice_kind_code(SK_ADVICE_KINDS), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tier_above_cost_per_year),
        cmocka_unit_test(test_tier_below_and_at_balance),
        cmocka_unit_test(test_customers),
        cmocka_unit_test(test_at_most_n_per_kind_largest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
