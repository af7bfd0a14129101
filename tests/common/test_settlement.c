/* test_settlement — payments applied in order, worked out by hand: partial,
 * short, full-declared, late and overpaid payments, on gross and net bases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "settlement.h"
#include "testutil.h"

static sk_schedule_t s_sched(const char *terms, const char *baseline, int64_t amount, int64_t tax,
                             const sk_schedule_opts_t *opts)
{
    sk_terms_t t;
    sk_schedule_t s;
    sk_err_t e;
    if (sk_terms_parse(terms, &t, &e) != 0)
        fail_msg("%s: %s", terms, e.msg);
    if (sk_schedule_compute(&t, sk_test_day(baseline), amount, tax, sk_currency_find("CNY"), opts,
                            &s, &e) != 0)
        fail_msg("%s from %s: %s", terms, baseline, e.msg);
    return s;
}

static sk_applied_t s_pay(const sk_schedule_t *s, int64_t *balance, const char *date,
                          int64_t amount, bool full)
{
    sk_payment_t p = {sk_test_day(date), amount, full};
    sk_applied_t a;
    sk_err_t e;
    if (sk_settle_apply(s, balance, &p, &a, &e) != 0)
        fail_msg("payment %s %lld: %s", date, (long long)amount, e.msg);
    assert_int_equal(a.settled, a.paid + a.discount - a.overpaid);
    assert_int_equal(a.balance_after, *balance);
    return a;
}

static void test_issue_example(void **state)
{
    (void)state;
    /* 2/5,1/14,n/30 on 1000.00 from 2020-06-25. */
    sk_schedule_t s = s_sched("2/5,1/14,n/30", "2020-06-25", 100000, 0, NULL);
    int64_t bal = s.amount;
    sk_applied_t a = s_pay(&s, &bal, "2020-06-28", 29400, false);
    assert_int_equal(a.tier, 0);
    assert_int_equal(a.rate_ppm, 20000);
    assert_int_equal(a.discount, 600);
    assert_int_equal(a.settled, 30000);
    assert_int_equal(a.unearned_discount, 0);
    assert_int_equal(bal, 70000);
    a = s_pay(&s, &bal, "2020-07-08", 69300, false);
    assert_int_equal(a.tier, 1);
    assert_int_equal(a.rate_ppm, 10000);
    assert_int_equal(a.discount, 700);
    assert_int_equal(a.settled, 70000);
    assert_int_equal(a.overpaid, 0);
    assert_int_equal(bal, 0);
    /* Nothing more to pay. */
    sk_payment_t p = {sk_test_day("2020-07-09"), 100, false};
    sk_err_t e;
    assert_int_equal(sk_settle_apply(&s, &bal, &p, &a, &e), -1);
    assert_string_equal(e.code, "bad_payment");
    assert_non_null(strstr(e.msg, "invoice is already settled"));
}

static void test_seed_full(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 13000, NULL);
    /* Exactly the 1 % payable, declared full, on day 8: settles everything. */
    int64_t bal = s.amount;
    sk_applied_t a = s_pay(&s, &bal, "2026-11-10", 111870, true);
    assert_int_equal(a.tier, 1);
    assert_int_equal(a.discount, 1130);
    assert_int_equal(a.settled, 113000);
    assert_int_equal(a.unearned_discount, 0);
    assert_int_equal(bal, 0);
    /* The customer deducts 2 % on day 8 though only 1 % is due: 11.30 unearned. */
    bal = s.amount;
    a = s_pay(&s, &bal, "2026-11-10", 110740, true);
    assert_int_equal(a.discount, 1130);
    assert_int_equal(a.settled, 111870);
    assert_int_equal(a.unearned_discount, 1130);
    assert_int_equal(bal, 1130);
    /* The same amount not declared full earns in proportion: 1107.40/0.99 = 1118.59... */
    bal = s.amount;
    a = s_pay(&s, &bal, "2026-11-10", 110740, false);
    assert_int_equal(a.settled, 111859);
    assert_int_equal(a.discount, 1119);
    assert_int_equal(a.unearned_discount, 0);
    assert_int_equal(bal, 1141);
}

static void test_partial_then_full(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/5,1/14,n/30", "2020-06-25", 100000, 0, NULL);
    int64_t bal = s.amount;
    s_pay(&s, &bal, "2020-06-28", 29400, false); /* settles 300.00 */
    /* 600.00 declared full on day 13 (1 %): 1 % of the 700.00 open is 7.00,
     * so 607.00 settles and 93.00 stays as unearned discount. */
    sk_applied_t a = s_pay(&s, &bal, "2020-07-08", 60000, true);
    assert_int_equal(a.discount, 700);
    assert_int_equal(a.settled, 60700);
    assert_int_equal(a.unearned_discount, 9300);
    assert_int_equal(bal, 9300);
    /* The rest, late: no discount. */
    a = s_pay(&s, &bal, "2020-08-01", 9300, false);
    assert_int_equal(a.tier, -1);
    assert_int_equal(a.rate_ppm, 0);
    assert_int_equal(a.discount, 0);
    assert_int_equal(bal, 0);
}

static void test_overpaid_and_between(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 13000, NULL);
    /* Paying more than the payable but less than the amount: the discount shrinks. */
    int64_t bal = s.amount;
    sk_applied_t a = s_pay(&s, &bal, "2026-11-02", 111000, false);
    assert_int_equal(a.discount, 2000);
    assert_int_equal(a.settled, 113000);
    assert_int_equal(bal, 0);
    /* Paying more than the whole amount: no discount, the excess is overpaid. */
    bal = s.amount;
    a = s_pay(&s, &bal, "2026-11-02", 120000, false);
    assert_int_equal(a.discount, 0);
    assert_int_equal(a.settled, 113000);
    assert_int_equal(a.overpaid, 7000);
    assert_int_equal(bal, 0);
    /* Overpaying after every window. */
    bal = 5000;
    a = s_pay(&s, &bal, "2027-03-01", 6000, true);
    assert_int_equal(a.tier, -1);
    assert_int_equal(a.settled, 5000);
    assert_int_equal(a.overpaid, 1000);
    assert_int_equal(a.unearned_discount, 0);
}

static void test_late(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 0, NULL);
    int64_t bal = s.amount;
    sk_applied_t a = s_pay(&s, &bal, "2026-12-03", 50000, false);
    assert_int_equal(a.tier, -1);
    assert_int_equal(a.discount, 0);
    assert_int_equal(a.settled, 50000);
    assert_int_equal(bal, 63000);
    /* Declared full after every window: the whole shortfall is unearned. */
    a = s_pay(&s, &bal, "2027-01-10", 60000, true);
    assert_int_equal(a.discount, 0);
    assert_int_equal(a.settled, 60000);
    assert_int_equal(a.unearned_discount, 3000);
    assert_int_equal(bal, 3000);
    /* The last day of a window still counts (inclusive). */
    bal = s.amount;
    a = s_pay(&s, &bal, "2026-12-02", 112435, false);
    assert_int_equal(a.tier, 2);
    assert_int_equal(a.discount, 565);
    assert_int_equal(bal, 0);
}

static void test_net_base(void **state)
{
    (void)state;
    /* Base net of tax: 2 % of 1000.00 = 20.00 on an invoice of 1130.00. */
    sk_schedule_opts_t o = {.base = SK_BASE_NET};
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 13000, &o);
    int64_t bal = s.amount;
    sk_applied_t a = s_pay(&s, &bal, "2026-11-02", 111000, false);
    assert_int_equal(a.discount, 2000);
    assert_int_equal(a.settled, 113000);
    /* A partial payment earns the effective rate 2 % * 1000/1130:
     * 1000.00 * 1130 / (1130 - 20) = 1018.018... -> 1018.02. */
    bal = s.amount;
    a = s_pay(&s, &bal, "2026-11-02", 100000, false);
    assert_int_equal(a.settled, 101802);
    assert_int_equal(a.discount, 1802);
    /* Then the rest at the same tier: the full discount on 111.98 open is
     * 111.98 * 1000/1130 * 2 % = 1.98..., so 110.00 closes it. */
    a = s_pay(&s, &bal, "2026-11-02", 11000, false);
    assert_int_equal(a.settled, 11198);
    assert_int_equal(a.discount, 198);
    assert_int_equal(bal, 0);
}

static void test_half_even_settlement(void **state)
{
    (void)state;
    /* At 1 %, 0.50 paid settles 0.50 / 0.99 = 0.50505... -> 0.51. Then ties: 2 % of
     * 0.25 open = 0.005, half-even 0.00 (no discount), half-up 0.01. */
    sk_schedule_t s = s_sched("1/10,n/30", "2026-11-02", 100, 0, NULL);
    int64_t bal = 100;
    sk_applied_t a = s_pay(&s, &bal, "2026-11-03", 50, false);
    assert_int_equal(a.settled, 51);
    assert_int_equal(a.discount, 1);
    sk_schedule_opts_t even = {.rounding = SK_ROUND_HALF_EVEN};
    s = s_sched("2/10,n/30", "2026-11-02", 100, 0, &even);
    bal = 25;
    a = s_pay(&s, &bal, "2026-11-03", 25, false);
    assert_int_equal(a.discount, 0);
    assert_int_equal(a.settled, 25);
    s = s_sched("2/10,n/30", "2026-11-02", 100, 0, NULL);
    bal = 25;
    a = s_pay(&s, &bal, "2026-11-03", 24, true); /* half-up: 0.005 -> 0.01 discount */
    assert_int_equal(a.discount, 1);
    assert_int_equal(bal, 0);
}

static void test_rejects(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/10,n/30", "2026-11-02", 100000, 0, NULL);
    sk_applied_t a;
    sk_err_t e;
    int64_t bal = 100000;
    sk_payment_t p = {sk_test_day("2026-11-03"), 0, false};
    assert_int_equal(sk_settle_apply(&s, &bal, &p, &a, &e), -1);
    assert_string_equal(e.code, "bad_amount");
    assert_non_null(strstr(e.msg, "payment 0.00"));
    p.amount = SK_MONEY_MAX + 1;
    assert_int_equal(sk_settle_apply(&s, &bal, &p, &a, &e), -1);
    assert_string_equal(e.code, "bad_amount");
    p.amount = -5;
    assert_int_equal(sk_settle_apply(&s, &bal, &p, &a, &e), -1);
    assert_string_equal(e.code, "bad_amount");
    p.amount = 100;
    assert_int_equal(bal, 100000); /* a rejected payment changes nothing */
    bal = 0;
    p.date = sk_test_day("2026-11-03");
    assert_int_equal(sk_settle_apply(&s, &bal, &p, &a, &e), -1);
    assert_non_null(strstr(e.msg, "invoice is already settled"));
}

/* Cash before shipment: a payment dated before the baseline earns the first
 * (cash) window, 2 % of 1130.00 = 22.60, so 1107.40 settles the invoice. */
static void test_prepayment_earns_the_first_window(void **state)
{
    (void)state;
    sk_schedule_t s = s_sched("2/0,1/10,0.5/30,n/60", "2026-11-02", 113000, 13000, NULL);
    int64_t bal = 113000;
    sk_applied_t a = s_pay(&s, &bal, "2026-10-28", 110740, false);
    assert_int_equal(a.tier, 0);
    assert_int_equal(a.discount, 2260);
    assert_int_equal(a.settled, 113000);
    assert_int_equal(bal, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_seed_full),
        cmocka_unit_test(test_partial_then_full),
        cmocka_unit_test(test_overpaid_and_between),
        cmocka_unit_test(test_late),
        cmocka_unit_test(test_net_base),
        cmocka_unit_test(test_half_even_settlement),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_prepayment_earns_the_first_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
