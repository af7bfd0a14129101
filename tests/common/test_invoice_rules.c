/* test_invoice_rules — what each event does to an invoice, worked out by hand:
 * the terms that apply, the seed's schedule and its forecast, the usual tier
 * from history, full and partial payments with their take-up, credit notes
 * with tax proration, cancellation, replacement by a higher version, and the
 * errors a user sees in the log. The amounts are the ones the e2e tests
 * (tests/e2e/test_discount.py) check through a real worker; the last test
 * replays many invoices and checks the totals test_crash.py checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "invoice_rules.h"
#include "testutil.h"

#define SEED "2/0,1/10,0.5/30,n/60"

static sk_invoice_change_t s_ch; /* large: off the stack */

/* Applies an order and returns the new invoice; fails the test unless APPLY. */
static sk_invoice_t s_stored(const sk_invoice_t *old, const sk_order_event_t *o,
                             const sk_history_t *h)
{
    if (sk_invoice_on_order(old, o, h, &s_ch) != SK_CHANGE_APPLY)
        fail_msg("order %s: %s", o->order_id, s_ch.msg);
    return s_ch.inv;
}

static sk_invoice_t s_paid(const sk_invoice_t *old, const char *on, int64_t amount, bool full)
{
    sk_payment_event_t p = {old->order_id, "", sk_test_day(on), amount, full};
    if (sk_invoice_on_payment(old, &p, &s_ch) != SK_CHANGE_APPLY)
        fail_msg("payment %s %lld: %s", on, (long long)amount, s_ch.msg);
    return s_ch.inv;
}

static int64_t s_delta(sk_tally_t c, const char *field)
{
    return sk_change_delta(&s_ch, c, field);
}

static void test_the_terms_that_apply(void **state)
{
    (void)state;
    sk_terms_source_t src;
    assert_string_equal(sk_terms_that_apply("2/10,n/30", "n/60", "n/90", &src), "2/10,n/30");
    assert_int_equal(src, SK_TERMS_FROM_ORDER);
    assert_string_equal(sk_terms_that_apply("", "n/60", "n/90", &src), "n/60");
    assert_int_equal(src, SK_TERMS_FROM_INLINE_CUSTOMER);
    assert_string_equal(sk_terms_that_apply(NULL, "", "n/90", &src), "n/90");
    assert_int_equal(src, SK_TERMS_FROM_CUSTOMER);
    assert_null(sk_terms_that_apply("", NULL, "", &src));
    assert_int_equal(src, SK_TERMS_FROM_NONE);
    assert_null(sk_terms_that_apply(NULL, NULL, NULL, NULL));
}

static void test_tax_prorate(void **state)
{
    (void)state;
    /* 130.00 of 1130.00, credited down to 1030.00: 118.4955.. -> 118.50 */
    assert_int_equal(sk_tax_prorate(13000, 113000, 103000), 11850);
    assert_int_equal(sk_tax_prorate(13000, 113000, 113000), 13000);
    /* 0.5 rounds up, and the tax stays below the amount: 0.99 of 1 -> 1 -> 0 */
    assert_int_equal(sk_tax_prorate(1, 2, 1), 0);
    assert_int_equal(sk_tax_prorate(99, 100, 1), 0);
    assert_int_equal(sk_tax_prorate(0, 100, 50), 0);
}

static void test_usual_tier(void **state)
{
    (void)state;
    sk_history_t h = {{0}, 0, 0};
    assert_int_equal(sk_history_usual_tier(NULL, 3), -1);
    assert_int_equal(sk_history_usual_tier(&h, 3), -1); /* no history: net */
    h.tier[1] = 1, h.n = 1;
    assert_int_equal(sk_history_usual_tier(&h, 3), 1);
    h.tier[0] = 1; /* a tie goes to the later option */
    assert_int_equal(sk_history_usual_tier(&h, 3), 1);
    h.tier[0] = 2;
    assert_int_equal(sk_history_usual_tier(&h, 3), 0);
    h.net = 2; /* net is the latest option */
    assert_int_equal(sk_history_usual_tier(&h, 3), -1);
    memset(&h, 0, sizeof h);
    h.tier[2] = 5; /* a tier the schedule does not have: net */
    assert_int_equal(sk_history_usual_tier(&h, 2), -1);
    assert_int_equal(sk_history_usual_tier(&h, 3), 2);
}

static void test_order_gets_the_seed_schedule(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    o.invoice_date = sk_test_day("2026-11-03");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    assert_string_equal(s_ch.msg, "");
    assert_string_equal(inv.customer_id, "C-1");
    assert_string_equal(inv.salesperson, "S-7");
    assert_string_equal(inv.schedule.currency->code, "CNY");
    assert_string_equal(inv.terms, SEED);
    assert_int_equal(inv.schedule.amount, 113000);
    assert_int_equal(inv.schedule.tax, 13000);
    assert_int_equal(inv.balance, 113000);
    sk_test_assert_date(inv.schedule.baseline, "2026-11-02");
    sk_test_assert_date(inv.invoice_date, "2026-11-03");
    assert_int_equal(inv.delivery_date, -1);
    sk_test_assert_date(inv.schedule.net_due, "2027-01-01");
    /* 22.60 / 11.30 / 5.65 off, last days 11-02 / 11-12 / 12-02 */
    assert_int_equal(inv.schedule.ntiers, 3);
    const int64_t disc[3] = {2260, 1130, 565};
    const char *last[3] = {"2026-11-02", "2026-11-12", "2026-12-02"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(inv.schedule.tiers[k].discount, disc[k]);
        sk_test_assert_date(inv.schedule.tiers[k].last_day, last[k]);
    }
    assert_int_equal(inv.status, SK_INV_OPEN);
    assert_int_equal(inv.version, 1);
    assert_int_equal(inv.rev, 1);
    assert_int_equal(inv.npayments, 0);
    /* no history yet: forecast at net by history too */
    sk_test_assert_date(inv.fc_net_day, "2027-01-01");
    assert_int_equal(inv.fc_net_amount, 113000);
    sk_test_assert_date(inv.fc_hist_day, "2027-01-01");
    assert_int_equal(inv.fc_hist_amount, 113000);
    assert_int_equal(s_ch.ndeltas, 6);
    assert_int_equal(s_delta(SK_COUNTER_POLICY, "s|2026-11|CNY"), 113000); /* sales, by ship month */
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t0|20000"), 1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t1|10000"), 1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t2|5000"), 1);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), 113000);
    assert_int_equal(s_delta(SK_COUNTER_FC_HIST, "2027-01-01|CNY"), 113000);
    /* in the customer's open set by net due */
    assert_int_equal(s_ch.open_op, SK_SET_ADD);
    sk_test_assert_date(s_ch.open_score, "2027-01-01");
}

static void test_order_with_the_customers_terms(void **state)
{
    (void)state;
    sk_order_event_t o =
        sk_test_order("SO-2", sk_terms_that_apply("", NULL, "2/10,n/30", NULL), 100000, 0, "2026-11-20");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    assert_string_equal(inv.terms, "2/10,n/30");
    assert_int_equal(inv.schedule.ntiers, 1);
    assert_int_equal(inv.schedule.tiers[0].rate_ppm, 20000);
    sk_test_assert_date(inv.schedule.tiers[0].last_day, "2026-11-30");
    assert_int_equal(inv.schedule.tiers[0].discount, 2000);
    sk_test_assert_date(inv.schedule.net_due, "2026-12-20");

    o = sk_test_order("SO-3", sk_terms_that_apply("", NULL, "", NULL), 113000, 13000, "2026-11-02");
    o.customer_id = "C-3";
    assert_int_equal(sk_invoice_on_order(NULL, &o, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "order SO-3 has no terms and customer C-3 has none");
    assert_string_equal(s_ch.code, "bad_terms");
}

static void test_full_payment_in_tier_two_counts_take_up(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    sk_invoice_t paid = s_paid(&inv, "2026-11-10", 111870, true);
    assert_int_equal(paid.status, SK_INV_PAID);
    assert_int_equal(paid.balance, 0);
    assert_int_equal(paid.discount_total, 1130);
    assert_int_equal(paid.rev, 2);
    assert_int_equal(paid.npayments, 1);
    const sk_applied_t *a = &paid.payments[0];
    sk_test_assert_date(a->date, "2026-11-10");
    assert_int_equal(a->paid, 111870);
    assert_int_equal(a->tier, 1);
    assert_int_equal(a->discount, 1130);
    assert_int_equal(a->settled, 113000);
    assert_int_equal(a->unearned_discount, 0);
    assert_int_equal(a->overpaid, 0);
    assert_true(paid.payment_full[0]);
    /* the forecast leaves, take-up counts the close in tier 1 */
    assert_int_equal(paid.fc_hist_amount, 0);
    assert_int_equal(paid.fc_net_amount, 0);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -113000);
    assert_int_equal(s_delta(SK_COUNTER_FC_HIST, "2027-01-01|CNY"), -113000);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "taken|t1|10000"), 1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "sp|S-7|t1"), 1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "disc|CNY"), 1130);
    assert_int_equal(s_delta(SK_COUNTER_HISTORY, "t1"), 1);
    assert_int_equal(s_delta(SK_COUNTER_HISTORY, "n"), 1);
    /* the policy counters of the close in 2026-11: offered every tier, days
     * to net 60/50/30 by amount, paid 52 days before net 2027-01-01 */
#define P(f) s_delta(SK_COUNTER_POLICY, "2026-11|" f "|" SEED)
    assert_int_equal(P("n|CNY|*"), 1);
    assert_int_equal(P("a|CNY|*"), 113000);
    assert_int_equal(P("dn|CNY|t0"), 113000 * 60);
    assert_int_equal(P("dn|CNY|t1"), 113000 * 50);
    assert_int_equal(P("dn|CNY|t2"), 113000 * 30);
    assert_int_equal(P("tk|CNY|t1"), 1);
    assert_int_equal(P("dc|CNY|t1"), 1130);
    assert_int_equal(P("pa|CNY|t1"), 111870);
    assert_int_equal(P("pd|CNY|t1"), 111870 * 52);
    assert_int_equal(P("ds|CNY|t1"), 52);
    /* a rate bucket per tier: its rate, the next's, days to net and to the next */
    assert_int_equal(P("w20000,10000,60,10|CNY|t0"), 113000);
    assert_int_equal(P("w10000,5000,50,20|CNY|t1"), 113000);
    assert_int_equal(P("w5000,0,30,30|CNY|t2"), 113000);
#undef P
    assert_int_equal(s_delta(SK_COUNTER_POLICY, "pn|2027-01-01|CNY"), 111870);
    assert_int_equal(s_delta(SK_COUNTER_POLICY, "s|2026-11|CNY"), 0); /* sales unchanged */
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|n|C-1"), 1);
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|t1|C-1"), 1);
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|ot|C-1"), 1);
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|ds|C-1"), 52);
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|in|C-1"), 1);
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|ir|C-1"), 20000);
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|ig|C-1"), 8); /* 11-02 -> 11-10 */
    assert_int_equal(s_delta(SK_COUNTER_PCUST, "2026-11|dc.CNY|C-1"), 1130);
    assert_int_equal(s_delta(SK_COUNTER_PSP, "2026-11|n|S-7"), 1);
    assert_int_equal(s_ch.ndeltas, 33);
    assert_int_equal(s_ch.open_op, SK_SET_REMOVE);

    /* the customer now usually pays in tier 1: a new order is forecast there */
    sk_history_t h = {{0, 1}, 0, 1};
    o = sk_test_order("SO-4", SEED, 113000, 13000, "2026-11-20");
    inv = s_stored(NULL, &o, &h);
    sk_test_assert_date(inv.fc_hist_day, "2026-11-30");
    assert_int_equal(inv.fc_hist_amount, 111870);
    sk_test_assert_date(inv.fc_net_day, "2027-01-19");
    assert_int_equal(inv.fc_net_amount, 113000);
    assert_int_equal(s_delta(SK_COUNTER_FC_HIST, "2026-11-30|CNY"), 111870);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-19|CNY"), 113000);
}

static void test_partial_payments(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    /* 500.00 inside the 1 % window settles 505.05, discount 5.05 */
    sk_invoice_t p1 = s_paid(&inv, "2026-11-10", 50000, false);
    assert_int_equal(p1.balance, 113000 - 50505);
    assert_int_equal(p1.discount_total, 505);
    assert_int_equal(p1.status, SK_INV_OPEN);
    assert_int_equal(p1.fc_net_amount, 62495);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -50505);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "taken|t1|10000"), 0); /* not closed */
    assert_int_equal(s_ch.open_op, SK_SET_KEEP);
    /* the rest inside the 0.5 % window: 0.5 % of 624.95 = 3.12 */
    sk_invoice_t p2 = s_paid(&p1, "2026-11-20", 62495 - 312, false);
    assert_int_equal(p2.balance, 0);
    assert_int_equal(p2.status, SK_INV_PAID);
    assert_int_equal(p2.discount_total, 505 + 312);
    assert_int_equal(p2.npayments, 2);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "taken|t2|5000"), 1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "taken|t1|10000"), 0);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "disc|CNY"), 817);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -62495);
}

static void test_credit_notes(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    sk_credit_event_t c = {"SO-1", "", 10000};
    assert_int_equal(sk_invoice_on_credit(&inv, &c, &s_ch), SK_CHANGE_APPLY);
    sk_invoice_t cr = s_ch.inv;
    assert_int_equal(cr.schedule.amount, 103000);
    assert_int_equal(cr.balance, 103000);
    assert_int_equal(cr.schedule.tax, 11850);
    assert_int_equal(cr.credit_total, 10000);
    assert_int_equal(cr.schedule.tiers[0].discount, 2060);
    assert_int_equal(cr.schedule.tiers[1].discount, 1030);
    assert_int_equal(cr.schedule.tiers[2].discount, 515);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -10000);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t0|20000"), 0); /* same offers */

    /* another currency, or above the balance: nothing is recorded */
    sk_credit_event_t usd = {"SO-1", "USD", 100};
    assert_int_equal(sk_invoice_on_credit(&cr, &usd, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "credit note in USD on order SO-1 in CNY: not recorded");
    sk_credit_event_t big = {"SO-1", "", 103001};
    assert_int_equal(sk_invoice_on_credit(&cr, &big, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "credit note of 1030.01 CNY on order SO-1 is above its open "
                                  "balance 1030.00 CNY: not recorded");

    /* crediting the rest closes it without a take-up */
    sk_credit_event_t rest = {"SO-1", "CNY", 103000};
    assert_int_equal(sk_invoice_on_credit(&cr, &rest, &s_ch), SK_CHANGE_APPLY);
    assert_int_equal(s_ch.inv.status, SK_INV_PAID);
    assert_int_equal(s_ch.inv.schedule.amount, 0);
    assert_int_equal(s_ch.inv.balance, 0);
    assert_int_equal(s_ch.inv.schedule.ntiers, 0);
    /* the forecast and the sales leave; no take-up, no history */
    assert_int_equal(s_ch.ndeltas, 3);
    assert_int_equal(s_delta(SK_COUNTER_POLICY, "s|2026-11|CNY"), -103000);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -103000);
    assert_int_equal(s_delta(SK_COUNTER_FC_HIST, "2027-01-01|CNY"), -103000);
    assert_int_equal(s_ch.open_op, SK_SET_REMOVE);
}

static void test_cancellation(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    assert_int_equal(sk_invoice_on_cancel(&inv, "SO-1", &s_ch), SK_CHANGE_APPLY);
    sk_invoice_t gone = s_ch.inv;
    assert_int_equal(gone.status, SK_INV_CANCELLED);
    assert_int_equal(gone.rev, 2);
    assert_int_equal(gone.fc_hist_amount, 0);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -113000);
    assert_int_equal(s_ch.open_op, SK_SET_REMOVE);
    /* a later payment, or a second cancellation, records nothing */
    sk_payment_event_t p = {"SO-1", "", sk_test_day("2026-11-10"), 111870, true};
    assert_int_equal(sk_invoice_on_payment(&gone, &p, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "payment on order SO-1, which is cancelled: not recorded");
    assert_int_equal(sk_invoice_on_cancel(&gone, "SO-1", &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "cancellation of order SO-1, which is cancelled: ignored");
}

static void test_events_before_their_invoice_wait(void **state)
{
    (void)state;
    sk_payment_event_t p = {"SO-1", "", sk_test_day("2026-11-10"), 50000, false};
    sk_credit_event_t c = {"SO-1", "", 100};
    assert_int_equal(sk_invoice_on_payment(NULL, &p, &s_ch), SK_CHANGE_NOINV);
    assert_int_equal(sk_invoice_on_credit(NULL, &c, &s_ch), SK_CHANGE_NOINV);
    assert_int_equal(sk_invoice_on_cancel(NULL, "SO-1", &s_ch), SK_CHANGE_NOINV);
}

static void test_payment_errors(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-2", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    sk_payment_event_t usd = {"SO-2", "USD", sk_test_day("2026-11-10"), 50000, false};
    assert_int_equal(sk_invoice_on_payment(&inv, &usd, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "payment in USD on order SO-2 in CNY: not recorded");
    sk_payment_event_t bad = {"SO-2", "", SK_DAY_INVALID, 50000, false};
    assert_int_equal(sk_invoice_on_payment(&inv, &bad, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "bad payment date");
    sk_invoice_t paid = s_paid(&inv, "2026-11-10", 111870, true);
    sk_payment_event_t late = {"SO-2", "", sk_test_day("2026-11-11"), 50000, false};
    assert_int_equal(sk_invoice_on_payment(&paid, &late, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "payment on order SO-2, which is paid: not recorded");
}

static void test_higher_version_replaces_keeping_payments(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    sk_invoice_t p1 = s_paid(&inv, "2026-11-10", 50000, false);
    sk_order_event_t v2 = sk_test_order("SO-1", "3/10,n/30", 226000, 26000, "2026-11-02");
    v2.version = 2;
    sk_invoice_t nw = s_stored(&p1, &v2, NULL);
    assert_int_equal(nw.version, 2);
    assert_int_equal(nw.rev, 3);
    assert_int_equal(nw.schedule.amount, 226000);
    assert_string_equal(nw.terms, "3/10,n/30");
    assert_int_equal(nw.schedule.ntiers, 1);
    assert_int_equal(nw.schedule.tiers[0].rate_ppm, 30000);
    sk_test_assert_date(nw.schedule.tiers[0].last_day, "2026-11-12");
    assert_int_equal(nw.schedule.tiers[0].discount, 6780);
    assert_int_equal(nw.balance, 226000 - 50505);
    assert_int_equal(nw.npayments, 1);
    assert_int_equal(nw.discount_total, 505);
    /* the old schedule's offers are withdrawn */
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t0|20000"), -1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t1|10000"), -1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t2|5000"), -1);
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "offered|t0|30000"), 1);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -62495);
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2026-12-02|CNY"), 226000 - 50505);

    /* an equal or lower version is ignored, and that is no error */
    sk_order_event_t v1 = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    v1.version = 1;
    assert_int_equal(sk_invoice_on_order(&nw, &v1, NULL, &s_ch), SK_CHANGE_NONE);
    assert_string_equal(s_ch.msg, "order SO-1 version 1 ignored: version 2 is stored");
    v2.amount = 1000, v2.tax = 0;
    assert_int_equal(sk_invoice_on_order(&nw, &v2, NULL, &s_ch), SK_CHANGE_NONE);

    /* another customer or currency is an error */
    sk_order_event_t v3 = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    v3.version = 3;
    v3.customer_id = "C-2";
    assert_int_equal(sk_invoice_on_order(&nw, &v3, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "order SO-1 belongs to customer C-1, not C-2");
    v3.customer_id = "C-1";
    v3.currency = "USD";
    assert_int_equal(sk_invoice_on_order(&nw, &v3, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "order SO-1 is in CNY, version 3 in USD");
}

static void test_replacement_after_credit_prorates_tax(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    sk_credit_event_t c = {"SO-1", "", 10000};
    sk_invoice_on_credit(&inv, &c, &s_ch);
    sk_invoice_t cr = s_ch.inv;
    /* version 2 of 2260.00 with 260.00 tax, less the 100.00 credited: 2160.00,
     * tax 260.00 * 2160/2260 = 248.4955.. -> 248.50 */
    sk_order_event_t v2 = sk_test_order("SO-1", SEED, 226000, 26000, "2026-11-02");
    v2.version = 2;
    sk_invoice_t nw = s_stored(&cr, &v2, NULL);
    assert_int_equal(nw.schedule.amount, 216000);
    assert_int_equal(nw.schedule.tax, 24850);
    assert_int_equal(nw.balance, 216000);
    assert_int_equal(nw.credit_total, 10000);
    /* a new amount the credits exceed is refused */
    sk_order_event_t v3 = sk_test_order("SO-1", SEED, 10000, 0, "2026-11-02");
    v3.version = 3;
    assert_int_equal(sk_invoice_on_order(&nw, &v3, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "order SO-1 version 3: credit notes of 100.00 CNY exceed the "
                                  "new amount 100.00 CNY");
}

static void test_new_amount_covered_by_payments_closes(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    /* after every window: 1000.00 settles 1000.00 */
    sk_invoice_t p = s_paid(&inv, "2027-01-10", 100000, false);
    assert_int_equal(p.balance, 13000);
    sk_order_event_t v2 = sk_test_order("SO-1", SEED, 90000, 0, "2026-11-02");
    v2.version = 2;
    sk_invoice_t nw = s_stored(&p, &v2, NULL);
    assert_int_equal(nw.status, SK_INV_PAID);
    assert_int_equal(nw.balance, 0);
    assert_string_equal(s_ch.msg, "order SO-1 version 2: payments cover the new amount; closed");
    assert_int_equal(s_delta(SK_COUNTER_TAKEUP, "taken|net"), 0); /* no take-up to count */
    assert_int_equal(s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY"), -13000);
    assert_int_equal(s_ch.open_op, SK_SET_REMOVE);
}

static void test_bad_order_fields(void **state)
{
    (void)state;
    sk_order_event_t o = sk_test_order("SO-1", "2/10,n/5", 113000, 13000, "2026-11-02");
    assert_int_equal(sk_invoice_on_order(NULL, &o, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.code, "bad_terms");
    o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    o.ship_date = SK_DAY_INVALID;
    assert_int_equal(sk_invoice_on_order(NULL, &o, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "order SO-1: bad currency or ship date");
    o = sk_test_order("SO-1", SEED, 113000, 13000, "2026-11-02");
    o.delivery_date = SK_DAY_INVALID;
    assert_int_equal(sk_invoice_on_order(NULL, &o, NULL, &s_ch), SK_CHANGE_ERROR);
    assert_string_equal(s_ch.msg, "bad delivery date");
}

/* Many invoices with payments in every tier, after every window, or none
 * (as test_crash.py drives through the workers): the forecast at net sums to
 * the open balances, by history to their payables in the usual tier, and
 * take-up counts each close once in its tier. */
static void test_totals_over_many_invoices(void **state)
{
    (void)state;
    static sk_invoice_t invs[200];
    int64_t fc_net = 0, fc_hist = 0, taken[4] = {0}, hist_n = 0, open_bal = 0, open_hist = 0;
    uint32_t r = 12345;
    sk_history_t h = {{0, 1}, 0, 1};
    for (int i = 0; i < 200; i++) {
        char oid[16];
        snprintf(oid, sizeof oid, "SO-%d", i);
        r = r * 1103515245u + 12345u;
        int64_t amount = 10000 + (r >> 8) % 1000000;
        sk_order_event_t o = sk_test_order(oid, SEED, amount, amount / 10, "2026-11-02");
        invs[i] = s_stored(NULL, &o, &h);
        fc_net += s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY");
        fc_hist += s_delta(SK_COUNTER_FC_HIST, "2026-11-12|CNY");
        int choice = (int)((r >> 4) % 5); /* 0..2 tiers, 3 after every window, 4 unpaid */
        if (choice == 4) {
            open_bal += invs[i].balance;
            open_hist +=
                invs[i].balance - sk_money_apply_rate(invs[i].balance, 10000, SK_ROUND_HALF_UP);
            continue;
        }
        const char *on[4] = {"2026-11-02", "2026-11-12", "2026-12-02", "2027-01-20"};
        int64_t pay = choice < 3 ? invs[i].schedule.tiers[choice].payable : amount;
        sk_invoice_t paid = s_paid(&invs[i], on[choice], pay, true);
        assert_int_equal(paid.status, SK_INV_PAID);
        fc_net += s_delta(SK_COUNTER_FC_NET, "2027-01-01|CNY");
        fc_hist += s_delta(SK_COUNTER_FC_HIST, "2026-11-12|CNY");
        const char *tk[4] = {"taken|t0|20000", "taken|t1|10000", "taken|t2|5000", "taken|net"};
        for (int k = 0; k < 4; k++)
            taken[k] += s_delta(SK_COUNTER_TAKEUP, tk[k]);
        hist_n += s_delta(SK_COUNTER_HISTORY, "n");
        assert_int_equal(s_delta(SK_COUNTER_TAKEUP, tk[choice]), 1);
    }
    assert_int_equal(fc_net, open_bal);
    assert_int_equal(fc_hist, open_hist);
    assert_int_equal(taken[0] + taken[1] + taken[2] + taken[3], hist_n);
    assert_true(taken[0] > 0 && taken[1] > 0 && taken[2] > 0 && taken[3] > 0);
}

/* The policy counters of the live deltas, summed over the changes. */
typedef struct {
    int n;
    sk_delta_t d[256];
} s_sum_t;

static void s_sum_add(s_sum_t *sum, const sk_invoice_change_t *ch)
{
    for (int i = 0; i < ch->ndeltas; i++) {
        const sk_delta_t *x = &ch->deltas[i];
        if (x->counter != SK_COUNTER_POLICY && x->counter != SK_COUNTER_PCUST &&
            x->counter != SK_COUNTER_PSP)
            continue;
        int k = 0;
        while (k < sum->n && !(sum->d[k].counter == x->counter && !strcmp(sum->d[k].field, x->field)))
            k++;
        if (k == sum->n) {
            assert_true(sum->n < 256);
            sum->d[sum->n++] = *x;
            sum->d[k].delta = 0;
        }
        sum->d[k].delta += x->delta;
    }
}

/* What the rebuild adds for an invoice is what the live changes added up to. */
static void s_assert_rebuild(const s_sum_t *live, const sk_invoice_t *inv)
{
    static sk_invoice_change_t ch;
    sk_invoice_policy(inv, &ch);
    int nonzero = 0;
    for (int k = 0; k < live->n; k++)
        if (live->d[k].delta != 0) {
            nonzero++;
            assert_int_equal(sk_change_delta(&ch, live->d[k].counter, live->d[k].field),
                             live->d[k].delta);
        }
    assert_int_equal(ch.ndeltas, nonzero);
}

static void test_policy_rebuild_matches_live(void **state)
{
    (void)state;
    static s_sum_t sum;
    /* a credit note, a version, a partial then a late full payment */
    memset(&sum, 0, sizeof sum);
    sk_order_event_t o = sk_test_order("SO-9", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    s_sum_add(&sum, &s_ch);
    s_assert_rebuild(&sum, &inv);
    sk_credit_event_t c = {"SO-9", "", 10000};
    assert_int_equal(sk_invoice_on_credit(&inv, &c, &s_ch), SK_CHANGE_APPLY);
    inv = s_ch.inv;
    s_sum_add(&sum, &s_ch);
    s_assert_rebuild(&sum, &inv);
    sk_invoice_t paid = s_paid(&inv, "2026-11-20", 50000, false);
    s_sum_add(&sum, &s_ch);
    paid = s_paid(&paid, "2027-01-10", 53000, true);
    s_sum_add(&sum, &s_ch);
    assert_int_equal(paid.status, SK_INV_PAID);
    s_assert_rebuild(&sum, &paid);

    /* paid at net after a partial payment: counted, late, per payment */
    memset(&sum, 0, sizeof sum);
    o = sk_test_order("SO-10", SEED, 100000, 0, "2026-11-02");
    inv = s_stored(NULL, &o, NULL);
    s_sum_add(&sum, &s_ch);
    paid = s_paid(&inv, "2026-12-22", 40000, false);
    s_sum_add(&sum, &s_ch);
    paid = s_paid(&paid, "2027-01-11", 60000, true);
    s_sum_add(&sum, &s_ch);
    s_assert_rebuild(&sum, &paid);
    /* 40000 x 10 days before net, 60000 x 10 after */
    assert_int_equal(sk_change_delta(&s_ch, SK_COUNTER_POLICY, "2027-01|pd|CNY|net|" SEED),
                     40000 * 10 - 60000 * 10);
    assert_int_equal(sk_change_delta(&s_ch, SK_COUNTER_POLICY, "2027-01|ds|CNY|net|" SEED), -10);
    assert_int_equal(sk_change_delta(&s_ch, SK_COUNTER_POLICY, "pn|2027-01-01|CNY"), 40000);
    assert_int_equal(sk_change_delta(&s_ch, SK_COUNTER_PCUST, "2027-01|ot|C-1"), 0);
    assert_int_equal(sk_change_delta(&s_ch, SK_COUNTER_PCUST, "2027-01|ig|C-1"), 70);
}

/* The per-salesperson counters (sk:{sN}:psp): the close month, the
 * salesperson last (an invoice without one counts under ""), what the
 * rebuild adds is what the live changes added up to. */
static void test_policy_salesperson_counters(void **state)
{
    (void)state;
    static s_sum_t sum;
    /* closed in tier 1 on 11-10: CNY 11.30 discount on 1130.00 */
    memset(&sum, 0, sizeof sum);
    sk_order_event_t o = sk_test_order("SO-20", SEED, 113000, 13000, "2026-11-02");
    sk_invoice_t inv = s_stored(NULL, &o, NULL);
    s_sum_add(&sum, &s_ch);
    sk_invoice_t paid = s_paid(&inv, "2026-11-10", 111870, true);
    s_sum_add(&sum, &s_ch);
#define SP(f) s_delta(SK_COUNTER_PSP, f)
    assert_int_equal(SP("2026-11|n|S-7"), 1);
    assert_int_equal(SP("2026-11|tk|S-7"), 1);
    assert_int_equal(SP("2026-11|dc.CNY|S-7"), 1130);
    assert_int_equal(SP("2026-11|a.CNY|S-7"), 113000);
    assert_int_equal(SP("2026-11|un|S-7"), 0);
    assert_int_equal(SP("2026-11|ua.CNY|S-7"), 0);
    s_assert_rebuild(&sum, &paid);

    /* no salesperson; after every window on 12-20 it claims 0.5 % (5.65),
     * not earned, then pays the rest on 12-22: closed at net in 2026-12 */
    memset(&sum, 0, sizeof sum);
    o = sk_test_order("SO-21", SEED, 113000, 13000, "2026-11-02");
    o.salesperson = NULL;
    inv = s_stored(NULL, &o, NULL);
    s_sum_add(&sum, &s_ch);
    paid = s_paid(&inv, "2026-12-20", 112435, true);
    s_sum_add(&sum, &s_ch);
    assert_int_equal(paid.status, SK_INV_OPEN);
    assert_int_equal(SP("2026-12|n|"), 0); /* not closed yet */
    paid = s_paid(&paid, "2026-12-22", 565, true);
    s_sum_add(&sum, &s_ch);
    assert_int_equal(paid.status, SK_INV_PAID);
    assert_int_equal(SP("2026-12|n|"), 1);
    assert_int_equal(SP("2026-12|tk|"), 0);
    assert_int_equal(SP("2026-12|dc.CNY|"), 0);
    assert_int_equal(SP("2026-12|a.CNY|"), 113000);
    assert_int_equal(SP("2026-12|un|"), 1);
    assert_int_equal(SP("2026-12|ua.CNY|"), 565);
    s_assert_rebuild(&sum, &paid);

    /* a salesperson id that holds '|' stays whole, last in the field */
    o = sk_test_order("SO-22", SEED, 100000, 0, "2026-11-02");
    o.salesperson = "EAST|S-9";
    inv = s_stored(NULL, &o, NULL);
    paid = s_paid(&inv, "2026-11-02", 98000, true);
    assert_int_equal(SP("2026-11|tk|EAST|S-9"), 1);
    assert_int_equal(SP("2026-11|dc.CNY|EAST|S-9"), 2000);
#undef SP
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_terms_that_apply),
        cmocka_unit_test(test_tax_prorate),
        cmocka_unit_test(test_usual_tier),
        cmocka_unit_test(test_order_gets_the_seed_schedule),
        cmocka_unit_test(test_order_with_the_customers_terms),
        cmocka_unit_test(test_full_payment_in_tier_two_counts_take_up),
        cmocka_unit_test(test_partial_payments),
        cmocka_unit_test(test_credit_notes),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_events_before_their_invoice_wait),
        cmocka_unit_test(test_payment_errors),
        cmocka_unit_test(test_higher_version_replaces_keeping_payments),
        cmocka_unit_test(test_replacement_after_credit_prorates_tax),
        cmocka_unit_test(test_new_amount_covered_by_payments_closes),
        cmocka_unit_test(test_bad_order_fields),
        cmocka_unit_test(test_totals_over_many_invoices),
        cmocka_unit_test(test_policy_rebuild_matches_live),
        cmocka_unit_test(test_policy_salesperson_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
