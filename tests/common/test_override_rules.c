/* test_override_rules — the four override kinds on invoices worked out by
 * hand (2/10,1/20,n/45 on CNY 1130.00 with 130.00 tax, the seed's
 * 2/0,1/10,0.5/30,n/60, 2/10,n/30), what a payment then earns, every request
 * that makes no sense, every decision and its reason (thresholds at the limit
 * and one minor unit above, the TTL at exactly 72 h), leap-year and
 * month-end last days, and a property run: the effect is never negative and
 * an override never changes the invoice amount. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "invoice_rules.h"
#include "override_rules.h"
#include "testutil.h"

#define SHIP "2026-11-02"
#define H72 ((int64_t)72 * 3600 * 1000)

/* Large structs: off the stack. */
static sk_invoice_change_t s_ch;
static sk_override_result_t s_res;

/* An invoice for CNY amount/tax under terms, shipped on `ship`. */
static sk_invoice_t s_invoice(const char *terms, int64_t amount, int64_t tax, const char *ship)
{
    sk_order_event_t o = sk_test_order("O-1", terms, amount, tax, ship);
    if (sk_invoice_on_order(NULL, &o, NULL, &s_ch) != SK_CHANGE_APPLY)
        fail_msg("order: %s", s_ch.msg);
    return s_ch.inv;
}

static sk_invoice_t s_pay(const sk_invoice_t *inv, const char *on, int64_t amount, bool full)
{
    sk_payment_event_t p = {inv->order_id, "", sk_test_day(on), amount, full};
    if (sk_invoice_on_payment(inv, &p, &s_ch) != SK_CHANGE_APPLY)
        fail_msg("payment %s: %s", on, s_ch.msg);
    return s_ch.inv;
}

/* Applies c on `today`; fails the test unless it is accepted. */
static const sk_invoice_t *s_apply(const sk_invoice_t *inv, sk_override_change_t c,
                                   const char *today)
{
    sk_err_t e;
    if (sk_override_apply(inv, &c, sk_test_day(today), &s_res, &e) != 0)
        fail_msg("%s: %s: %s", sk_override_kind_name(c.kind), e.code, e.msg);
    return &s_res.inv;
}

/* Asserts that c on `today` is refused with code. */
static void s_refused(const sk_invoice_t *inv, sk_override_change_t c, const char *today,
                      const char *code)
{
    sk_err_t e;
    sk_err_clear(&e);
    if (sk_override_apply(inv, &c, sk_test_day(today), &s_res, &e) == 0)
        fail_msg("%s accepted (effect %lld), want %s", sk_override_kind_name(c.kind),
                 (long long)s_res.effect, code);
    assert_string_equal(e.code, code);
    assert_true(e.msg[0] != '\0');
}

static sk_override_change_t s_extend(int tier, const char *day)
{
    return (sk_override_change_t){
        .kind = SK_OVERRIDE_EXTEND, .tier = tier, .new_last_day = sk_test_day(day)};
}

/* ---------------------------------------------------------------- extend */

static void test_extend_first_tier_then_pay_on_the_extended_day(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    sk_test_assert_date(inv.schedule.tiers[0].last_day, "2026-11-12");
    /* Five more days at 2 %: on those days a payment earned 1 % before, so
     * the extra discount on 1130.00 is 22.60 - 11.30. */
    const sk_invoice_t *ext = s_apply(&inv, s_extend(0, "2026-11-17"), "2026-11-05");
    assert_int_equal(s_res.effect, 1130);
    assert_string_equal(s_res.old_value, "2026-11-12");
    assert_string_equal(s_res.new_value, "2026-11-17");
    sk_test_assert_date(ext->schedule.tiers[0].last_day, "2026-11-17");
    assert_int_equal(ext->schedule.tiers[0].payable, 110740);
    assert_int_equal(ext->rev, inv.rev + 1);
    assert_int_equal(ext->discount_total, 0); /* granted only when paid */
    sk_invoice_t extended = *ext;

    /* The payable of tier 0, paid on the extended day, settles it all. */
    sk_invoice_t paid = s_pay(&extended, "2026-11-17", 110740, false);
    assert_int_equal(paid.status, SK_INV_PAID);
    assert_int_equal(paid.payments[0].tier, 0);
    assert_int_equal(paid.discount_total, 2260);
    /* Without the extension the same payment is in tier 1 and leaves money open. */
    sk_invoice_t late = s_pay(&inv, "2026-11-17", 110740, false);
    assert_int_equal(late.payments[0].tier, 1);
    assert_int_equal(late.status, SK_INV_OPEN);
    assert_true(late.balance > 0);
}

static void test_extend_the_seeds_cash_tier(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/0,1/10,0.5/30,n/60", 113000, 13000, SHIP);
    sk_test_assert_date(inv.schedule.tiers[0].last_day, SHIP);
    const sk_invoice_t *ext = s_apply(&inv, s_extend(0, "2026-11-07"), SHIP);
    assert_int_equal(s_res.effect, 2260 - 1130);
    sk_invoice_t extended = *ext;
    sk_invoice_t paid = s_pay(&extended, "2026-11-07", 110740, false);
    assert_int_equal(paid.status, SK_INV_PAID);
    assert_int_equal(paid.discount_total, 2260);
    /* The last tier (0.5 %) extended: the days added were net, so the extra
     * is the whole 0.5 % (5.65) on the open balance. */
    s_apply(&inv, s_extend(2, "2026-12-10"), SHIP);
    assert_int_equal(s_res.effect, 565);
}

static void test_extend_leap_year_and_month_end(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,n/30", 113000, 13000, "2028-02-18");
    sk_test_assert_date(inv.schedule.tiers[0].last_day, "2028-02-28");
    /* One day later than 2028-02-28 is 2028-02-29 (a leap year). */
    s_apply(&inv, s_extend(0, "2028-02-29"), "2028-02-20");
    sk_test_assert_date(s_res.inv.schedule.tiers[0].last_day, "2028-02-29");
    assert_string_equal(s_res.new_value, "2028-02-29");
    assert_int_equal(s_res.inv.schedule.tiers[0].last_day, inv.schedule.tiers[0].last_day + 1);

    sk_invoice_t jan = s_invoice("2/10,n/30", 113000, 13000, "2026-01-21");
    sk_test_assert_date(jan.schedule.tiers[0].last_day, "2026-01-31");
    s_apply(&jan, s_extend(0, "2026-02-01"), "2026-01-25");
    assert_string_equal(s_res.new_value, "2026-02-01");
    assert_int_equal(s_res.effect, 2260);
}

static void test_extend_refusals(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    s_refused(&inv, s_extend(0, "2026-11-12"), "2026-11-05", "not_later");
    s_refused(&inv, s_extend(0, "2026-11-10"), "2026-11-05", "not_later");
    /* Tier 1 ends 2026-11-22: tier 0 may end 11-21 at the latest. */
    s_refused(&inv, s_extend(0, "2026-11-22"), "2026-11-05", "bad_last_day");
    s_apply(&inv, s_extend(0, "2026-11-21"), "2026-11-05");
    /* The last tier stays before the net due date 2026-12-17. */
    s_refused(&inv, s_extend(1, "2026-12-17"), "2026-11-05", "bad_last_day");
    s_refused(&inv, s_extend(2, "2026-11-30"), "2026-11-05", "bad_tier");
    s_refused(&inv, s_extend(-1, "2026-11-30"), "2026-11-05", "bad_tier");
    s_refused(&inv, s_extend(0, "2026-11-15"), "2026-11-16", "in_the_past");
    /* A partial payment on 11-14 falls in the days 11-13..11-17. */
    sk_invoice_t part = s_pay(&inv, "2026-11-14", 50000, false);
    s_refused(&part, s_extend(0, "2026-11-17"), "2026-11-14", "payment_in_extension");
    sk_invoice_t paid = s_pay(&inv, "2026-11-05", 110740, false);
    s_refused(&paid, s_extend(1, "2026-11-30"), "2026-11-05", "not_open");
    sk_invoice_t nodisc = s_invoice("n/30", 113000, 13000, SHIP);
    s_refused(&nodisc, s_extend(0, "2026-11-30"), "2026-11-05", "bad_tier");
    sk_override_change_t bogus = {.kind = 9};
    s_refused(&inv, bogus, "2026-11-05", "bad_kind");
}

/* ---------------------------------------------------------------- grant */

static void test_grant_after_the_window_gives_exactly_two_percent(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,n/30", 113000, 13000, SHIP);
    /* Day 12: the customer pays the 2 % payable two days late. */
    sk_invoice_t late = s_pay(&inv, "2026-11-14", 110740, false);
    assert_int_equal(late.payments[0].tier, -1);
    assert_int_equal(late.balance, 2260);
    sk_override_change_t g = {.kind = SK_OVERRIDE_GRANT, .tier = 0, .payment = 0};
    const sk_invoice_t *nw = s_apply(&late, g, "2026-11-20");
    assert_int_equal(s_res.effect, 2260); /* 2 % of 1130.00 */
    assert_string_equal(s_res.old_value, "net");
    assert_string_equal(s_res.new_value, "tier 0");
    assert_int_equal(nw->status, SK_INV_PAID);
    assert_int_equal(nw->balance, 0);
    assert_int_equal(nw->discount_total, 2260);
    assert_int_equal(nw->payments[0].tier, 0);
    assert_int_equal(nw->payments[0].rate_ppm, 20000);
    assert_int_equal(nw->payments[0].discount, 2260);
    sk_test_assert_date(nw->payments[0].date, "2026-11-14"); /* the real date stays */
    assert_int_equal(nw->schedule.amount, 113000);
}

static void test_grant_refusals(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    sk_override_change_t g = {.kind = SK_OVERRIDE_GRANT, .tier = 0, .payment = 0};
    s_refused(&inv, g, "2026-11-20", "bad_payment"); /* no payment yet */
    sk_invoice_t in_time = s_pay(&inv, "2026-11-12", 50000, false);
    s_refused(&in_time, g, "2026-11-20", "not_after_window");
    sk_invoice_t two = s_pay(&in_time, "2026-11-25", 10000, false);
    s_refused(&two, g, "2026-11-26", "bad_payment"); /* payment 0 is not the last */
    g.payment = 1;
    g.tier = 5;
    s_refused(&two, g, "2026-11-26", "bad_tier");
    /* Paid the whole gross amount late: settled again in tier 0 it still
     * pays 1130.00, so nothing is granted (a refund is a credit note). */
    sk_invoice_t whole = s_pay(&inv, "2026-11-25", 113000, false);
    g.payment = 0;
    g.tier = 0;
    s_refused(&whole, g, "2026-11-26", "no_effect");
}

/* ---------------------------------------------------------------- rate */

static void test_rate_from_one_to_one_and_a_half_percent(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    sk_override_change_t r = {.kind = SK_OVERRIDE_RATE, .tier = 1, .new_rate_ppm = 15000};
    const sk_invoice_t *nw = s_apply(&inv, r, "2026-11-05");
    /* 1.5 % of 1130.00 is 16.95, 1 % was 11.30: 5.65 more. */
    assert_int_equal(s_res.effect, 565);
    assert_string_equal(s_res.old_value, "1");
    assert_string_equal(s_res.new_value, "1.5");
    assert_int_equal(nw->schedule.tiers[1].rate_ppm, 15000);
    assert_int_equal(nw->schedule.tiers[1].discount, 1695);
    assert_int_equal(nw->schedule.tiers[1].payable, 111305);
    assert_true(nw->schedule.tiers[1].apr_vs_net_bp > inv.schedule.tiers[1].apr_vs_net_bp);
    sk_invoice_t changed = *nw;
    sk_invoice_t paid = s_pay(&changed, "2026-11-20", 111305, false);
    assert_int_equal(paid.status, SK_INV_PAID);
    assert_int_equal(paid.discount_total, 1695);
    /* the policy report's rate buckets count the close at the override's rate:
     * tier 0 (11-12) 2 % against 1.5 %, 35 days to net 12-17, 10 to tier 1
     * (11-22); tier 1 1.5 % against net, 25 days */
    static sk_invoice_change_t ch;
    sk_invoice_policy(&paid, &ch);
#define W(f) sk_change_delta(&ch, SK_COUNTER_POLICY, "2026-11|" f "|2/10,1/20,n/45")
    assert_int_equal(W("w20000,15000,35,10|CNY|t0"), 113000);
    assert_int_equal(W("w15000,0,25,25|CNY|t1"), 113000);
    assert_int_equal(W("w10000,0,25,25|CNY|t1"), 0);
#undef W
}

static void test_rate_refusals(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    sk_override_change_t r = {.kind = SK_OVERRIDE_RATE, .tier = 1, .new_rate_ppm = 10000};
    s_refused(&inv, r, "2026-11-05", "rate_not_higher");
    r.new_rate_ppm = 5000;
    s_refused(&inv, r, "2026-11-05", "rate_not_higher");
    r.new_rate_ppm = 20000; /* tier 0's: rates must stay strictly decreasing */
    s_refused(&inv, r, "2026-11-05", "bad_rate");
    r.new_rate_ppm = 19999;
    s_apply(&inv, r, "2026-11-05");
    r.tier = 0;
    r.new_rate_ppm = SK_PPM; /* 100 % */
    s_refused(&inv, r, "2026-11-05", "bad_rate");
    r.new_rate_ppm = 30000;
    s_refused(&inv, r, "2026-11-13", "window_closed");
    r.tier = 3;
    s_refused(&inv, r, "2026-11-05", "bad_tier");
}

/* ---------------------------------------------------------------- waive */

static void test_waiver_of_an_unearned_discount_closes_the_invoice(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    /* Declared full, 7.40 short of the 1107.40 payable: 22.60 earned, 7.40
     * unearned stays open. */
    sk_invoice_t short_paid = s_pay(&inv, "2026-11-10", 110000, true);
    assert_int_equal(short_paid.balance, 740);
    assert_int_equal(short_paid.unearned_total, 740);
    sk_override_change_t w = {.kind = SK_OVERRIDE_WAIVE};
    const sk_invoice_t *nw = s_apply(&short_paid, w, "2026-11-30");
    assert_int_equal(s_res.effect, 740);
    assert_string_equal(s_res.old_value, "7.40 unearned");
    assert_string_equal(s_res.new_value, "0.00 unearned");
    assert_int_equal(nw->status, SK_INV_PAID);
    assert_int_equal(nw->balance, 0);
    assert_int_equal(nw->unearned_total, 0);
    assert_int_equal(nw->discount_total, 2260 + 740);
    assert_int_equal(nw->payments[0].unearned_discount, 0);
    assert_int_equal(nw->payments[0].balance_after, 0);
    assert_int_equal(nw->schedule.amount, 113000);
    sk_invoice_t closed = *nw;

    /* Nothing to waive: no payment, or one that earned all it claimed. */
    s_refused(&inv, w, "2026-11-30", "nothing_to_waive");
    sk_invoice_t part = s_pay(&inv, "2026-11-10", 50000, false);
    s_refused(&part, w, "2026-11-30", "nothing_to_waive");
    s_refused(&closed, w, "2026-11-30", "not_open");
}

/* ---------------------------------------------------------------- decisions */

static sk_override_thresholds_t s_thresholds(void)
{
    sk_override_thresholds_t th = {.n = 2};
    th.t[0].currency = sk_currency_find("CNY");
    th.t[0].above = 500000; /* CNY 5000.00 */
    th.t[1].currency = sk_currency_find("USD");
    th.t[1].above = 70000; /* USD 700.00 */
    return th;
}

#define T0 INT64_C(1796083200000) /* 2026-12-01T00:00:00Z */

static sk_decision_t s_decide(sk_override_request_t req, const char *user, sk_override_role_t role,
                              bool approve, int64_t rev, int64_t now)
{
    sk_override_thresholds_t th = s_thresholds();
    sk_override_decider_t by = {user, role, approve};
    char msg[160] = "";
    sk_decision_t d = sk_override_decide(&req, &by, rev, now, H72, &th, msg, sizeof msg);
    assert_true(msg[0] != '\0');
    return d;
}

static sk_override_request_t s_req(int64_t effect, const char *cur)
{
    return (sk_override_request_t){"S-7", T0, 4, effect, cur};
}

static void test_who_may_decide(void **state)
{
    (void)state;
    sk_override_request_t r = s_req(1130, "CNY");
    assert_int_equal(s_decide(r, "D-1", SK_OVERRIDE_ROLE_SALES_DIRECTOR, true, 4, T0),
                     SK_DECISION_ALLOWED);
    assert_int_equal(s_decide(r, "F-1", SK_OVERRIDE_ROLE_FINANCE_DIRECTOR, true, 4, T0),
                     SK_DECISION_ALLOWED);
    /* The requester, a salesperson, tries to approve their own request. */
    assert_int_equal(s_decide(r, "S-7", SK_OVERRIDE_ROLE_SALES, true, 4, T0),
                     SK_DECISION_NOT_A_DIRECTOR);
    assert_int_equal(s_decide(r, "S-8", SK_OVERRIDE_ROLE_SALES, true, 4, T0),
                     SK_DECISION_NOT_A_DIRECTOR);
    assert_int_equal(s_decide(r, "ops", sk_override_role_parse("operator"), true, 4, T0),
                     SK_DECISION_NOT_A_DIRECTOR);
    assert_int_equal(s_decide(r, "aud", sk_override_role_parse("auditor"), false, 4, T0),
                     SK_DECISION_NOT_A_DIRECTOR);
    /* A director who made the request cannot approve or reject it. */
    sk_override_request_t own = r;
    own.requested_by = "D-1";
    assert_int_equal(s_decide(own, "D-1", SK_OVERRIDE_ROLE_SALES_DIRECTOR, true, 4, T0),
                     SK_DECISION_SELF_APPROVAL);
    assert_int_equal(s_decide(own, "D-1", SK_OVERRIDE_ROLE_SALES_DIRECTOR, false, 4, T0),
                     SK_DECISION_SELF_APPROVAL);
    assert_int_equal(s_decide(own, "F-1", SK_OVERRIDE_ROLE_FINANCE_DIRECTOR, true, 4, T0),
                     SK_DECISION_ALLOWED);
    assert_int_equal(sk_override_role_parse("sales_director"), SK_OVERRIDE_ROLE_SALES_DIRECTOR);
    assert_int_equal(sk_override_role_parse("finance_director"), SK_OVERRIDE_ROLE_FINANCE_DIRECTOR);
    assert_int_equal(sk_override_role_parse("Sales_Director"), SK_OVERRIDE_ROLE_OTHER);
    assert_int_equal(sk_override_role_parse(NULL), SK_OVERRIDE_ROLE_OTHER);
}

static void test_thresholds_at_the_limit_and_one_unit_above(void **state)
{
    (void)state;
    const sk_override_role_t SD = SK_OVERRIDE_ROLE_SALES_DIRECTOR,
                             FD = SK_OVERRIDE_ROLE_FINANCE_DIRECTOR;
    assert_int_equal(s_decide(s_req(500000, "CNY"), "D-1", SD, true, 4, T0), SK_DECISION_ALLOWED);
    assert_int_equal(s_decide(s_req(500001, "CNY"), "D-1", SD, true, 4, T0),
                     SK_DECISION_NEEDS_FINANCE_DIRECTOR);
    assert_int_equal(s_decide(s_req(500001, "CNY"), "F-1", FD, true, 4, T0), SK_DECISION_ALLOWED);
    assert_int_equal(s_decide(s_req(70000, "USD"), "D-1", SD, true, 4, T0), SK_DECISION_ALLOWED);
    assert_int_equal(s_decide(s_req(70001, "USD"), "D-1", SD, true, 4, T0),
                     SK_DECISION_NEEDS_FINANCE_DIRECTOR);
    /* EUR is not named: even one cent needs a finance director. */
    assert_int_equal(s_decide(s_req(1, "EUR"), "D-1", SD, true, 4, T0),
                     SK_DECISION_NEEDS_FINANCE_DIRECTOR);
    assert_int_equal(s_decide(s_req(1, "EUR"), "F-1", FD, true, 4, T0), SK_DECISION_ALLOWED);
    /* A sales director may still reject what they may not approve. */
    assert_int_equal(s_decide(s_req(900000, "CNY"), "D-1", SD, false, 4, T0), SK_DECISION_ALLOWED);

    int64_t above;
    sk_override_thresholds_t th = s_thresholds();
    assert_int_equal(sk_override_threshold(&th, "USD", &above), 0);
    assert_int_equal(above, 70000);
    assert_int_equal(sk_override_threshold(&th, "EUR", &above), -1);
    assert_int_equal(sk_override_threshold(NULL, "CNY", &above), -1);
    char msg[160];
    sk_override_request_t r = s_req(500001, "CNY");
    sk_override_decider_t by = {"D-1", SD, true};
    sk_override_decide(&r, &by, 4, T0, H72, &th, msg, sizeof msg);
    assert_string_equal(
        msg, "the effect 5000.01 CNY is above 5000.00 CNY: a finance director must approve");
}

static void test_expired_at_exactly_the_ttl_and_after(void **state)
{
    (void)state;
    const sk_override_role_t SD = SK_OVERRIDE_ROLE_SALES_DIRECTOR;
    sk_override_request_t r = s_req(1130, "CNY");
    assert_int_equal(s_decide(r, "D-1", SD, true, 4, T0 + H72), SK_DECISION_ALLOWED);
    assert_int_equal(s_decide(r, "D-1", SD, true, 4, T0 + H72 + 1), SK_DECISION_EXPIRED);
    /* Rejecting an expired request is fine: it changes nothing. */
    assert_int_equal(s_decide(r, "D-1", SD, false, 4, T0 + H72 + 1), SK_DECISION_ALLOWED);
    /* Stale: the invoice moved on (a payment, a new version) since the request. */
    assert_int_equal(s_decide(r, "D-1", SD, true, 5, T0), SK_DECISION_STALE);
    assert_int_equal(s_decide(r, "F-1", SK_OVERRIDE_ROLE_FINANCE_DIRECTOR, true, 3, T0),
                     SK_DECISION_STALE);
    /* Both: stale is said first (making it again is the cure either way). */
    assert_int_equal(s_decide(r, "D-1", SD, true, 5, T0 + H72 + 1), SK_DECISION_STALE);
}

static void test_inconsistent_records_are_refused(void **state)
{
    (void)state;
    const sk_override_role_t SD = SK_OVERRIDE_ROLE_SALES_DIRECTOR;
    assert_int_equal(s_decide(s_req(-1, "CNY"), "D-1", SD, true, 4, T0), SK_DECISION_BAD_REQUEST);
    assert_int_equal(s_decide(s_req(1, "XXX"), "D-1", SD, true, 4, T0), SK_DECISION_BAD_REQUEST);
    assert_int_equal(s_decide(s_req(1, NULL), "D-1", SD, true, 4, T0), SK_DECISION_BAD_REQUEST);
    assert_int_equal(s_decide(s_req(1, "CNY"), "D-1", SD, true, 4, T0 - 1),
                     SK_DECISION_BAD_REQUEST); /* made after now */
    assert_int_equal(s_decide(s_req(1, "CNY"), "", SD, true, 4, T0), SK_DECISION_BAD_REQUEST);
    sk_override_request_t anon = s_req(1, "CNY");
    anon.requested_by = "";
    assert_int_equal(s_decide(anon, "D-1", SD, true, 4, T0), SK_DECISION_BAD_REQUEST);
    /* Every reason has its own name in the log. */
    const char *names[] = {"allowed", "bad_request", "not_a_director",        "self_approval",
                           "stale",   "expired",     "needs_finance_director"};
    for (int d = 0; d <= SK_DECISION_NEEDS_FINANCE_DIRECTOR; d++)
        assert_string_equal(sk_decision_name((sk_decision_t)d), names[d]);
    for (int k = SK_OVERRIDE_EXTEND; k <= SK_OVERRIDE_WAIVE; k++)
        assert_int_equal(sk_override_kind_parse(sk_override_kind_name((sk_override_kind_t)k)), k);
    assert_int_equal(sk_override_kind_parse("discount"), 0);
}

/* ---------------------------------------------------------------- property */

static uint64_t s_rng = 0x9e3779b97f4a7c15u;
static uint32_t s_next(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

static void test_property_effect_never_negative_amount_never_changes(void **state)
{
    (void)state;
    const char *terms[] = {"2/10,1/20,n/45", "2/0,1/10,0.5/30,n/60", "2/10,n/30", "3/5,n/15"};
    int accepted[5] = {0};
    for (int i = 0; i < 20000; i++) {
        int64_t amount = 100 + s_next(100000000);
        int64_t tax = s_next(2) ? amount / 10 : 0;
        sk_invoice_t inv = s_invoice(terms[s_next(4)], amount, tax, SHIP);
        sk_day_t base = inv.schedule.baseline;
        int npay = (int)s_next(3);
        for (int k = 0; k < npay && inv.status == SK_INV_OPEN; k++) {
            char d[16];
            sk_date_format(base + (sk_day_t)s_next(60), d, sizeof d);
            int64_t p = 1 + s_next((uint32_t)(inv.balance < 4000000000 ? inv.balance : 4000000000));
            sk_payment_event_t pe = {inv.order_id, "", sk_test_day(d), p, s_next(2) == 0};
            if (sk_invoice_on_payment(&inv, &pe, &s_ch) == SK_CHANGE_APPLY)
                inv = s_ch.inv;
        }
        sk_override_change_t c = {
            .kind = (sk_override_kind_t)(1 + s_next(4)),
            .tier = (int)s_next(4),
            .new_last_day = base + (sk_day_t)s_next(60),
            .new_rate_ppm = (int32_t)(1000 + s_next(40000)),
            .payment = inv.npayments - 1,
        };
        sk_day_t today = base + (sk_day_t)s_next(20);
        sk_err_t e;
        if (sk_override_apply(&inv, &c, today, &s_res, &e) != 0) {
            assert_true(e.code[0] != '\0');
            continue;
        }
        accepted[c.kind]++;
        const sk_invoice_t *nw = &s_res.inv;
        assert_true(s_res.effect > 0);
        assert_int_equal(nw->schedule.amount, inv.schedule.amount);
        assert_int_equal(nw->schedule.tax, inv.schedule.tax);
        assert_int_equal(nw->schedule.ntiers, inv.schedule.ntiers);
        assert_true(nw->balance >= 0 && nw->balance <= inv.balance);
        assert_int_equal(nw->rev, inv.rev + 1);
        for (int k = 0; k < nw->schedule.ntiers; k++) {
            const sk_schedule_tier_t *t = &nw->schedule.tiers[k];
            assert_int_equal(t->payable + t->discount, nw->schedule.amount);
            assert_true(t->last_day < nw->schedule.net_due);
            if (k > 0) {
                assert_true(t->last_day > nw->schedule.tiers[k - 1].last_day);
                assert_true(t->rate_ppm < nw->schedule.tiers[k - 1].rate_ppm);
            }
        }
        if (c.kind == SK_OVERRIDE_GRANT || c.kind == SK_OVERRIDE_WAIVE) {
            assert_int_equal(nw->discount_total - inv.discount_total, s_res.effect);
            assert_int_equal(inv.balance - nw->balance, s_res.effect);
        } else {
            assert_int_equal(nw->discount_total, inv.discount_total);
            assert_int_equal(nw->balance, inv.balance);
        }
    }
    /* The run reached every kind (else the property says nothing about it). */
    for (int k = SK_OVERRIDE_EXTEND; k <= SK_OVERRIDE_WAIVE; k++)
        assert_true(accepted[k] > 50);
}

/* What an applied override moves besides the invoice (sk_invoice_on_override):
 * the forecast, the offered take-up of a raised rate, the take-up of a close,
 * and the windows set. CNY 1130.00 on 2/10,1/20,n/45 shipped 11-02. */
static sk_invoice_change_t s_ov;

static void test_on_override_moves_the_counters(void **state)
{
    (void)state;
    char f[32];
    sk_invoice_t inv = s_invoice("2/10,1/20,n/45", 113000, 13000, SHIP);
    /* an extension: the windows set follows tier 0's new last day; the
     * forecast (at net: no history) stays, so no forecast delta */
    const sk_invoice_t *ext =
        s_apply(&inv, (sk_override_change_t){.kind = SK_OVERRIDE_EXTEND, .tier = 0,
                                             .new_last_day = sk_test_day("2026-11-15")},
                "2026-11-05");
    assert_int_equal(sk_invoice_on_override(&inv, ext, &s_ov), SK_CHANGE_APPLY);
    assert_int_equal(s_ov.open_op, SK_SET_KEEP); /* still open, the same net due */
    assert_int_equal(s_ov.ndeltas, 0);
    /* a raised rate withdraws the old offer and makes the new one */
    const sk_invoice_t *r = s_apply(
        &inv, (sk_override_change_t){.kind = SK_OVERRIDE_RATE, .tier = 1, .new_rate_ppm = 15000},
        "2026-11-05");
    sk_invoice_on_override(&inv, r, &s_ov);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_TAKEUP, "offered|t1|10000"), -1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_TAKEUP, "offered|t1|15000"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_TAKEUP, "offered|t0|20000"), 0);
    /* a grant that closes an invoice left open by a short full payment:
     * counted as a close in tier 0, forecast taken back */
    sk_invoice_t paid = s_pay(&inv, "2026-11-14", 110740, true);
    const sk_invoice_t *g = s_apply(
        &paid, (sk_override_change_t){.kind = SK_OVERRIDE_GRANT, .tier = 0, .payment = 0},
        "2026-11-15");
    assert_int_equal(g->status, SK_INV_PAID);
    sk_invoice_on_override(&paid, g, &s_ov);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_TAKEUP, "taken|t0|20000"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_TAKEUP, "sp|S-7|t0"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_TAKEUP, "disc|CNY"), 2260);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_HISTORY, "t0"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_HISTORY, "n"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_FC_NET,
                                     sk_forecast_field(f, paid.fc_net_day, paid.schedule.currency)),
                     -paid.fc_net_amount);
    assert_int_equal(s_ov.open_op, SK_SET_REMOVE);
    /* the policy counters of the close too, as the rebuild counts them */
#define T "|2/10,1/20,n/45"
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_POLICY, "2026-11|tk|CNY|t0" T), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_POLICY, "2026-11|dc|CNY|t0" T), 2260);
    /* the grant made the short payment's discount earned: no unearned attempt left */
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_PCUST, "2026-11|un|C-1"), 0);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_PCUST, "2026-11|t0|C-1"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_PSP, "2026-11|tk|S-7"), 1);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_PSP, "2026-11|dc.CNY|S-7"), 2260);
    assert_int_equal(sk_change_delta(&s_ov, SK_COUNTER_PSP, "2026-11|un|S-7"), 0);
#undef T
    static sk_invoice_change_t rebuilt;
    sk_invoice_policy(g, &rebuilt);
    for (int i = 0; i < s_ov.ndeltas; i++)
        if (s_ov.deltas[i].counter == SK_COUNTER_POLICY ||
            s_ov.deltas[i].counter == SK_COUNTER_PCUST || s_ov.deltas[i].counter == SK_COUNTER_PSP)
            assert_int_equal(sk_change_delta(&rebuilt, s_ov.deltas[i].counter,
                                             s_ov.deltas[i].field),
                             s_ov.deltas[i].delta);
    /* a second grant-like change of a closed invoice moves its close: taken
     * back in full and counted again, nothing left over */
    sk_invoice_on_override(g, g, &s_ov);
    for (int i = 0; i < s_ov.ndeltas; i++)
        assert_true(s_ov.deltas[i].counter != SK_COUNTER_POLICY &&
                    s_ov.deltas[i].counter != SK_COUNTER_PCUST &&
                    s_ov.deltas[i].counter != SK_COUNTER_PSP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extend_first_tier_then_pay_on_the_extended_day),
        cmocka_unit_test(test_extend_the_seeds_cash_tier),
        cmocka_unit_test(test_extend_leap_year_and_month_end),
        cmocka_unit_test(test_extend_refusals),
        cmocka_unit_test(test_grant_after_the_window_gives_exactly_two_percent),
        cmocka_unit_test(test_grant_refusals),
        cmocka_unit_test(test_rate_from_one_to_one_and_a_half_percent),
        cmocka_unit_test(test_rate_refusals),
        cmocka_unit_test(test_waiver_of_an_unearned_discount_closes_the_invoice),
        cmocka_unit_test(test_who_may_decide),
        cmocka_unit_test(test_thresholds_at_the_limit_and_one_unit_above),
        cmocka_unit_test(test_expired_at_exactly_the_ttl_and_after),
        cmocka_unit_test(test_inconsistent_records_are_refused),
        cmocka_unit_test(test_property_effect_never_negative_amount_never_changes),
        cmocka_unit_test(test_on_override_moves_the_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
