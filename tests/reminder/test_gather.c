/* Tests of services/reminder/gather's pure part, reminder_invoice_view: what
 * a reminder or statement offers for one stored invoice on the customer's
 * day. Terms 2/0,1/10,0.5/30,n/60 from 2026-11-02 on 1,130.00 USD (tiers
 * end 11-02, 11-12, 12-02; net 2027-01-01), worked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gather.h"
#include "schedule.h"

static sk_invoice_t s_inv(int64_t balance)
{
    sk_invoice_t inv;
    sk_terms_t t;
    sk_invoice_init(&inv);
    strcpy(inv.order_id, "SO-1");
    strcpy(inv.customer_id, "C-1");
    assert_int_equal(sk_terms_parse("2/0,1/10,0.5/30,n/60", &t, NULL), 0);
    assert_int_equal(sk_schedule_compute(&t, sk_date_from_ymd(2026, 11, 2), 113000, 0,
                                         sk_currency_find("USD"), NULL, &inv.schedule, NULL),
                     0);
    inv.balance = balance;
    return inv;
}

/* On 11-09 the 2 % window (11-02) has closed: 1 % and 0.5 % are offered,
 * each as its discount on the open balance and what settles it then. */
static void test_open_windows_from_today(void **state)
{
    (void)state;
    sk_invoice_t inv = s_inv(113000);
    reminder_invoice_t v;
    int tiers[SK_TERMS_MAX_TIERS];
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 9), &v, tiers);
    assert_string_equal(v.order_id, "SO-1");
    assert_string_equal(v.currency, "USD");
    assert_int_equal(v.amount, 113000);
    assert_int_equal(v.net_due, sk_date_from_ymd(2027, 1, 1));
    assert_int_equal(v.n_windows, 2);
    assert_int_equal(tiers[0], 1);
    assert_int_equal(tiers[1], 2);
    assert_int_equal(v.windows[0].last_day, sk_date_from_ymd(2026, 11, 12));
    assert_int_equal(v.windows[0].rate_ppm, 10000);
    assert_int_equal(v.windows[0].discount, 1130);
    assert_int_equal(v.windows[0].payable, 111870);
    assert_int_equal(v.windows[1].discount, 565);
    assert_int_equal(v.windows[1].payable, 112435);
    /* the last day itself is still open */
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 12), &v, NULL);
    assert_int_equal(v.n_windows, 2);
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 13), &v, NULL);
    assert_int_equal(v.n_windows, 1);
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 12, 3), &v, NULL);
    assert_int_equal(v.n_windows, 0);
}

/* After a part payment the offer is on what is still open: 1 % of 500.00. */
static void test_part_paid_offers_on_the_balance(void **state)
{
    (void)state;
    sk_invoice_t inv = s_inv(50000);
    reminder_invoice_t v;
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 9), &v, NULL);
    assert_int_equal(v.amount, 50000);
    assert_int_equal(v.n_windows, 2);
    assert_int_equal(v.windows[0].discount, 500);
    assert_int_equal(v.windows[0].payable, 49500);
    assert_int_equal(v.windows[1].discount, 250);
}

/* Paid, cancelled or without balance: nothing to offer. */
static void test_closed_invoice_has_no_window(void **state)
{
    (void)state;
    reminder_invoice_t v;
    sk_invoice_t inv = s_inv(113000);
    inv.status = SK_INV_PAID;
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 9), &v, NULL);
    assert_int_equal(v.n_windows, 0);
    inv = s_inv(113000);
    inv.status = SK_INV_CANCELLED;
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 9), &v, NULL);
    assert_int_equal(v.n_windows, 0);
    inv = s_inv(0);
    reminder_invoice_view(&inv, sk_date_from_ymd(2026, 11, 9), &v, NULL);
    assert_int_equal(v.n_windows, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_windows_from_today),
        cmocka_unit_test(test_part_paid_offers_on_the_balance),
        cmocka_unit_test(test_closed_invoice_has_no_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
