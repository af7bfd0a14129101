/* test_reconcile — the schedule an open invoice must have (common/reconcile.h)
 * against what is stored: CNY 1130.00 (130.00 tax) on 2/10,1/20,n/45 shipped
 * 2026-11-02 (tier 0 2 % to 11-12, 22.60; tier 1 1 % to 11-22, 11.30; net
 * 12-17). An invoice as the rules left it reconciles, with every override
 * applied through sk_override_apply given; the same invoice without its
 * overrides names the tier, the field and both values; a grant or waiver
 * changes no schedule; an edit behind the workers' back is named; a credit
 * note's recomputed schedule reconciles; terms that do not parse fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "invoice_rules.h"
#include "override_rules.h"
#include "reconcile.h"
#include "testutil.h"

#define TERMS "2/10,1/20,n/45"
#define SHIP "2026-11-02"

static sk_invoice_change_t s_ch;
static sk_override_result_t s_res;
static sk_recon_t s_rec;

static sk_invoice_t s_invoice(void)
{
    sk_order_event_t o = sk_test_order("O-1", TERMS, 113000, 13000, SHIP);
    if (sk_invoice_on_order(NULL, &o, NULL, &s_ch) != SK_CHANGE_APPLY)
        fail_msg("order: %s", s_ch.msg);
    return s_ch.inv;
}

static sk_invoice_t s_apply(const sk_invoice_t *inv, sk_override_change_t c, const char *today)
{
    sk_err_t e;
    if (sk_override_apply(inv, &c, sk_test_day(today), &s_res, &e) != 0)
        fail_msg("%s: %s", e.code, e.msg);
    return s_res.inv;
}

static void s_reconcile(const sk_invoice_t *inv, const sk_override_change_t *c, int n)
{
    sk_err_t e;
    if (sk_reconcile(inv, c, n, &s_rec, &e) != 0)
        fail_msg("reconcile: %s: %s", e.code, e.msg);
}

static void s_assert_diff(int i, sk_recon_field_t f, int tier, int64_t stored, int64_t expected)
{
    assert_true(i < s_rec.ndiffs);
    assert_string_equal(sk_recon_field_name(s_rec.diffs[i].field), sk_recon_field_name(f));
    assert_int_equal(s_rec.diffs[i].tier, tier);
    assert_int_equal(s_rec.diffs[i].stored, stored);
    assert_int_equal(s_rec.diffs[i].expected, expected);
}

static void test_as_the_rules_left_it(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    s_reconcile(&inv, NULL, 0);
    assert_int_equal(s_rec.ndiffs, 0);
    assert_int_equal(s_rec.expected.ntiers, 2);
    assert_int_equal(s_rec.expected.tiers[0].discount, 2260);
}

static void test_extend(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    sk_override_change_t c = {
        .kind = SK_OVERRIDE_EXTEND, .tier = 0, .new_last_day = sk_test_day("2026-11-15")};
    sk_invoice_t ext = s_apply(&inv, c, "2026-11-05");
    s_reconcile(&ext, &c, 1);
    assert_int_equal(s_rec.ndiffs, 0);
    /* the extension without the approval that made it */
    s_reconcile(&ext, NULL, 0);
    assert_int_equal(s_rec.ndiffs, 1);
    s_assert_diff(0, SK_RECON_LAST_DAY, 0, sk_test_day("2026-11-15"), sk_test_day("2026-11-12"));
    /* an approval the invoice does not show */
    s_reconcile(&inv, &c, 1);
    s_assert_diff(0, SK_RECON_LAST_DAY, 0, sk_test_day("2026-11-12"), sk_test_day("2026-11-15"));
}

static void test_rate(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    sk_override_change_t c = {.kind = SK_OVERRIDE_RATE, .tier = 1, .new_rate_ppm = 15000};
    sk_invoice_t r = s_apply(&inv, c, "2026-11-05");
    assert_int_equal(r.schedule.tiers[1].discount, 1695);
    s_reconcile(&r, &c, 1);
    assert_int_equal(s_rec.ndiffs, 0);
    s_reconcile(&r, NULL, 0);
    assert_int_equal(s_rec.ndiffs, 2);
    s_assert_diff(0, SK_RECON_RATE, 1, 15000, 10000);
    s_assert_diff(1, SK_RECON_DISCOUNT, 1, 1695, 1130);
    /* two overrides in the order applied: extend then raise tier 0 */
    sk_override_change_t both[2] = {
        {.kind = SK_OVERRIDE_EXTEND, .tier = 0, .new_last_day = sk_test_day("2026-11-14")},
        {.kind = SK_OVERRIDE_RATE, .tier = 0, .new_rate_ppm = 25000}};
    sk_invoice_t x = s_apply(&inv, both[0], "2026-11-05");
    sk_invoice_t y = s_apply(&x, both[1], "2026-11-05");
    s_reconcile(&y, both, 2);
    assert_int_equal(s_rec.ndiffs, 0);
    assert_int_equal(s_rec.expected.tiers[0].discount, 2825);
}

static void test_grant_and_waive_keep_the_schedule(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    sk_payment_event_t p = {"O-1", "", sk_test_day("2026-11-14"), 110740, true};
    assert_int_equal(sk_invoice_on_payment(&inv, &p, &s_ch), SK_CHANGE_APPLY);
    sk_invoice_t paid = s_ch.inv;
    sk_override_change_t g = {.kind = SK_OVERRIDE_GRANT, .tier = 0, .payment = 0};
    sk_invoice_t granted = s_apply(&paid, g, "2026-11-15");
    sk_override_change_t w = {.kind = SK_OVERRIDE_WAIVE};
    sk_override_change_t both[2] = {g, w};
    s_reconcile(&granted, both, 2);
    assert_int_equal(s_rec.ndiffs, 0);
}

static void test_edited_behind_the_workers_back(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    inv.schedule.tiers[1].discount = 2000;
    inv.schedule.net_due += 10;
    s_reconcile(&inv, NULL, 0);
    assert_int_equal(s_rec.ndiffs, 2);
    s_assert_diff(0, SK_RECON_NET_DUE, -1, sk_test_day("2026-12-27"), sk_test_day("2026-12-17"));
    s_assert_diff(1, SK_RECON_DISCOUNT, 1, 2000, 1130);
    /* a tier dropped */
    inv = s_invoice();
    inv.schedule.ntiers = 1;
    s_reconcile(&inv, NULL, 0);
    assert_int_equal(s_rec.ndiffs, 1);
    s_assert_diff(0, SK_RECON_TIERS, -1, 1, 2);
    /* an override naming a tier the schedule does not have */
    inv = s_invoice();
    sk_override_change_t c = {.kind = SK_OVERRIDE_RATE, .tier = 5, .new_rate_ppm = 15000};
    s_reconcile(&inv, &c, 1);
    assert_int_equal(s_rec.ndiffs, 1);
    s_assert_diff(0, SK_RECON_OVERRIDE, -1, 5, -1);
}

/* A credit note recomputes the schedule on the new amount and keeps the
 * approved overrides of the order's version (the invoice carries them):
 * the extension stays, the raised rate gives its discount on the new
 * amount; reconciliation agrees. */
static void test_credit_note_keeps_the_overrides(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    sk_override_change_t c[2] = {
        {.kind = SK_OVERRIDE_EXTEND, .tier = 0, .new_last_day = sk_test_day("2026-11-15")},
        {.kind = SK_OVERRIDE_RATE, .tier = 1, .new_rate_ppm = 15000}};
    sk_invoice_t x = s_apply(&inv, c[0], "2026-11-05");
    x.overrides[0] = (sk_invoice_override_t){
        .kind = SK_OVERRIDE_EXTEND, .tier = 0, .new_last_day = c[0].new_last_day, .version = 1};
    x.noverrides = 1;
    sk_invoice_t y = s_apply(&x, c[1], "2026-11-05");
    y.overrides[1] = (sk_invoice_override_t){
        .kind = SK_OVERRIDE_RATE, .tier = 1, .new_rate_ppm = 15000, .version = 1};
    y.noverrides = 2;
    sk_credit_event_t cn = {"O-1", "", 13000};
    assert_int_equal(sk_invoice_on_credit(&y, &cn, &s_ch), SK_CHANGE_APPLY);
    const sk_schedule_t *s = &s_ch.inv.schedule;
    assert_int_equal(s->amount, 100000);
    sk_test_assert_date(s->tiers[0].last_day, "2026-11-15");
    assert_int_equal(s->tiers[0].discount, 2000);
    assert_int_equal(s->tiers[1].rate_ppm, 15000);
    assert_int_equal(s->tiers[1].discount, 1500);
    assert_int_equal(s->tiers[1].payable, 98500);
    sk_invoice_t credited = s_ch.inv;
    s_reconcile(&credited, c, 2);
    assert_int_equal(s_rec.ndiffs, 0);
    /* an override of an earlier version of the order is not put back */
    y.overrides[0].version = 0;
    y.overrides[1].version = 0;
    assert_int_equal(sk_invoice_on_credit(&y, &cn, &s_ch), SK_CHANGE_APPLY);
    sk_test_assert_date(s_ch.inv.schedule.tiers[0].last_day, "2026-11-12");
    /* a change the schedule cannot take is not made */
    sk_schedule_t t = credited.schedule;
    assert_false(
        sk_schedule_redo_override(&t, SK_OVERRIDE_EXTEND, 0, sk_test_day("2026-11-30"), 0));
    assert_false(sk_schedule_redo_override(&t, SK_OVERRIDE_RATE, 1, 0, 25000));
    assert_false(sk_schedule_redo_override(&t, SK_OVERRIDE_RATE, 2, 0, 5000));
    assert_true(sk_schedule_redo_override(&t, SK_OVERRIDE_WAIVE, 0, 0, 0));
    assert_memory_equal(&t, &credited.schedule, sizeof t);
}

static void test_credit_note_and_bad_terms(void **state)
{
    (void)state;
    sk_invoice_t inv = s_invoice();
    sk_credit_event_t c = {"O-1", "", 13000};
    assert_int_equal(sk_invoice_on_credit(&inv, &c, &s_ch), SK_CHANGE_APPLY);
    sk_invoice_t cred = s_ch.inv;
    s_reconcile(&cred, NULL, 0);
    assert_int_equal(s_rec.ndiffs, 0);
    assert_int_equal(s_rec.expected.tiers[0].discount, 2000); /* 2 % of 1000.00 */
    sk_err_t e;
    snprintf(cred.terms, sizeof cred.terms, "nonsense");
    assert_int_equal(sk_reconcile(&cred, NULL, 0, &s_rec, &e), -1);
    assert_string_equal(e.code, "bad_terms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_the_rules_left_it),
        cmocka_unit_test(test_extend),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_grant_and_waive_keep_the_schedule),
        cmocka_unit_test(test_edited_behind_the_workers_back),
        cmocka_unit_test(test_credit_note_keeps_the_overrides),
        cmocka_unit_test(test_credit_note_and_bad_terms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
