/* remind (services/discount/remind.h): what an invoice's change does to the
 * due queue — the keys that enter it with their instants (across New York's
 * 2026-03-08 daylight-saving change), the keys that leave it (paid, moved
 * dates, collapsed leads, a re-time), the customer profile as stored, and
 * the next statement. Instants are written as UTC text computed outside this
 * code (09:00 New York: 14:00Z in winter, 13:00Z in summer; Shanghai 01:00Z). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "remind.h"
#include "../common/testutil.h"

static sk_remind_settings_t S;

static int64_t s_at(const char *iso)
{
    int64_t ms;
    if (sk_time_parse(iso, &ms, NULL))
        fail_msg("bad instant %s", iso);
    return ms;
}

static const sk_tz_t *s_tz(const char *id)
{
    const sk_tz_t *tz = sk_tz_find(id, NULL);
    assert_non_null(tz);
    return tz;
}

/* An open invoice of 113000 whose discount tiers end on the given days. */
static void s_invoice(sk_invoice_t *inv, const char *d0, const char *d1)
{
    sk_invoice_init(inv);
    inv->schedule.ntiers = d1 ? 2 : 1;
    inv->schedule.tiers[0].last_day = sk_test_day(d0);
    if (d1)
        inv->schedule.tiers[1].last_day = sk_test_day(d1);
    inv->balance = 113000;
    inv->status = SK_INV_OPEN;
}

static void s_assert_add(const discount_remind_ops_t *ops, size_t i, const char *key,
                         const char *due)
{
    char buf[32];
    assert_true(i < ops->nadd);
    assert_string_equal(ops->add[i].key, key);
    assert_string_equal(sk_time_format(ops->add[i].due_ms, SK_TIME_ISO, buf, sizeof buf), due);
}

/* discount_remind_diff of order SO-1, which must succeed. */
static void s_diff(const sk_invoice_t *old, const sk_invoice_t *neu, const char *zone,
                   const char *now, discount_remind_ops_t *ops)
{
    assert_int_equal(discount_remind_diff(&S, "SO-1", old, neu, s_tz(zone), s_at(now), ops, NULL),
                     0);
}

static int s_setup(void **state)
{
    (void)state;
    return sk_remind_settings_parse(&S, NULL, NULL, NULL, NULL, NULL, NULL);
}

static void new_invoice_queues_each_lead_at_nine_local_across_dst(void **state)
{
    (void)state;
    static sk_invoice_t inv;
    static discount_remind_ops_t ops;
    s_invoice(&inv, "2026-03-10", "2026-03-22");
    s_diff(NULL, &inv, "America/New_York", "2026-03-01T12:00:00Z", &ops);
    assert_int_equal(ops.nadd, 4);
    assert_int_equal(ops.ndrop, 0);
    s_assert_add(&ops, 0, "r|0|2026-03-10|3|SO-1", "2026-03-07T14:00:00Z");
    s_assert_add(&ops, 1, "r|0|2026-03-10|1|SO-1", "2026-03-09T13:00:00Z");
    s_assert_add(&ops, 2, "r|1|2026-03-22|3|SO-1", "2026-03-19T13:00:00Z");
    s_assert_add(&ops, 3, "r|1|2026-03-22|1|SO-1", "2026-03-21T13:00:00Z");
}

static void closed_or_zero_balance_drops_every_key(void **state)
{
    (void)state;
    static sk_invoice_t old, neu;
    static discount_remind_ops_t ops;
    const sk_invoice_status_t closed[] = {SK_INV_PAID, SK_INV_CANCELLED, SK_INV_OPEN};
    for (size_t k = 0; k < 3; k++) {
        s_invoice(&old, "2026-03-10", "2026-03-22");
        neu = old;
        neu.status = closed[k];
        if (closed[k] == SK_INV_OPEN)
            neu.balance = 0; /* credited in full */
        assert_false(discount_remind_open(&neu));
        s_diff(&old, &neu, "UTC", "2026-03-01T12:00:00Z", &ops);
        assert_int_equal(ops.nadd, 0);
        assert_int_equal(ops.ndrop, 4);
        assert_string_equal(ops.drop[0], "r|0|2026-03-10|3|SO-1");
        assert_string_equal(ops.drop[3], "r|1|2026-03-22|1|SO-1");
    }
    /* and one that was closed already drops nothing (its keys went then) */
    neu.status = SK_INV_PAID;
    s_diff(&neu, &neu, "UTC", "2026-03-01T12:00:00Z", &ops);
    assert_int_equal(ops.nadd + ops.ndrop, 0);
}

static void moved_dates_replace_the_keys(void **state)
{
    (void)state;
    static sk_invoice_t old, neu;
    static discount_remind_ops_t ops;
    s_invoice(&old, "2026-03-10", "2026-03-22");
    s_invoice(&neu, "2026-03-10", "2026-03-24"); /* only the second tier moved */
    s_diff(&old, &neu, "UTC", "2026-03-01T12:00:00Z", &ops);
    assert_int_equal(ops.nadd, 4);
    s_assert_add(&ops, 2, "r|1|2026-03-24|3|SO-1", "2026-03-21T09:00:00Z");
    assert_int_equal(ops.ndrop, 2);
    assert_string_equal(ops.drop[0], "r|1|2026-03-22|3|SO-1");
    assert_string_equal(ops.drop[1], "r|1|2026-03-22|1|SO-1");
}

static void passed_leads_collapse_and_the_collapsed_ones_leave(void **state)
{
    (void)state;
    static sk_invoice_t inv;
    static discount_remind_ops_t ops;
    s_invoice(&inv, "2026-03-10", NULL);
    /* one passed (lead 3): due now, and lead 1 ahead */
    s_diff(&inv, &inv, "America/New_York", "2026-03-08T00:00:00Z", &ops);
    assert_int_equal(ops.nadd, 2);
    s_assert_add(&ops, 0, "r|0|2026-03-10|3|SO-1", "2026-03-08T00:00:00Z");
    assert_int_equal(ops.ndrop, 0);
    /* both passed: one, the last, due now; the other leaves the queue */
    s_diff(&inv, &inv, "America/New_York", "2026-03-09T20:00:00Z", &ops);
    assert_int_equal(ops.nadd, 1);
    s_assert_add(&ops, 0, "r|0|2026-03-10|1|SO-1", "2026-03-09T20:00:00Z");
    assert_int_equal(ops.ndrop, 1);
    assert_string_equal(ops.drop[0], "r|0|2026-03-10|3|SO-1");
    /* the window closed at New York's midnight (04:00Z): nothing queued */
    s_diff(&inv, &inv, "America/New_York", "2026-03-11T04:00:00Z", &ops);
    assert_int_equal(ops.nadd, 0);
    assert_int_equal(ops.ndrop, 2);
}

static void a_re_time_moves_the_instants_to_the_new_zone(void **state)
{
    (void)state;
    static sk_invoice_t inv;
    static discount_remind_ops_t ops;
    s_invoice(&inv, "2026-03-10", NULL);
    s_diff(&inv, &inv, "Asia/Shanghai", "2026-03-01T12:00:00Z", &ops);
    assert_int_equal(ops.nadd, 2);
    s_assert_add(&ops, 0, "r|0|2026-03-10|3|SO-1", "2026-03-07T01:00:00Z");
    s_assert_add(&ops, 1, "r|0|2026-03-10|1|SO-1", "2026-03-09T01:00:00Z");
    assert_int_equal(ops.ndrop, 0);
}

static void other_leads_come_from_the_settings(void **state)
{
    (void)state;
    static sk_remind_settings_t s2;
    static sk_invoice_t inv;
    static discount_remind_ops_t ops;
    assert_int_equal(
        sk_remind_settings_parse(&s2, "7,0", "17:30", "Europe/Berlin", NULL, NULL, NULL), 0);
    s_invoice(&inv, "2026-03-10", NULL);
    assert_int_equal(discount_remind_diff(&s2, "SO-1", NULL, &inv, s2.default_tz,
                                          s_at("2026-03-01T12:00:00Z"), &ops, NULL),
                     0);
    assert_int_equal(ops.nadd, 2);
    s_assert_add(&ops, 0, "r|0|2026-03-10|7|SO-1", "2026-03-03T16:30:00Z");
    s_assert_add(&ops, 1, "r|0|2026-03-10|0|SO-1", "2026-03-10T16:30:00Z");
}

static void the_profile_as_stored(void **state)
{
    (void)state;
    discount_profile_t p;
    sk_err_t err;
    assert_int_equal(discount_profile_parse(&S, "Asia/Shanghai", "daily", "0", &p, &err), 0);
    assert_string_equal(sk_tz_id(p.tz), "Asia/Shanghai");
    assert_int_equal(p.cadence, SK_CADENCE_DAILY);
    assert_false(p.optout);
    /* absent fields: the default zone, weekly, not opted out */
    assert_int_equal(discount_profile_parse(&S, NULL, NULL, NULL, &p, &err), 0);
    assert_string_equal(sk_tz_id(p.tz), "UTC");
    assert_int_equal(p.cadence, SK_CADENCE_WEEKLY);
    assert_false(p.optout);
    assert_int_equal(discount_profile_parse(&S, "", "none", "1", &p, &err), 0);
    assert_int_equal(p.cadence, SK_CADENCE_NONE);
    assert_true(p.optout);
    /* a zone the database no longer has: the default, and said so */
    assert_int_equal(discount_profile_parse(&S, "Mars/Olympus", "weekly", NULL, &p, &err), -1);
    assert_string_equal(sk_tz_id(p.tz), "UTC");
    assert_non_null(strstr(err.msg, "Mars/Olympus"));
    assert_int_equal(discount_profile_parse(&S, "UTC", "monthly", NULL, &p, &err), -1);
    assert_int_equal(p.cadence, SK_CADENCE_WEEKLY);
}

static void the_next_statement(void **state)
{
    (void)state;
    discount_profile_t p = {s_tz("America/New_York"), SK_CADENCE_WEEKLY, false};
    char key[SK_REMIND_KEY_MAX];
    int64_t due;
    char buf[32];
    /* Sunday 03-01 12:00Z: the next Monday 09:00 New York */
    assert_true(discount_statement_next(&S, "C-1", &p, s_at("2026-03-01T12:00:00Z"), key, &due));
    assert_string_equal(key, "s|2026-03-02T14:00:00Z|C-1");
    assert_string_equal(sk_time_format(due, SK_TIME_ISO, buf, sizeof buf), "2026-03-02T14:00:00Z");
    p.cadence = SK_CADENCE_DAILY;
    assert_true(discount_statement_next(&S, "C-1", &p, s_at("2026-03-01T12:00:00Z"), key, &due));
    assert_string_equal(key, "s|2026-03-01T14:00:00Z|C-1");
    p.cadence = SK_CADENCE_NONE;
    assert_false(discount_statement_next(&S, "C-1", &p, s_at("2026-03-01T12:00:00Z"), key, &due));
    p.cadence = SK_CADENCE_WEEKLY;
    p.optout = true;
    assert_false(discount_statement_next(&S, "C-1", &p, s_at("2026-03-01T12:00:00Z"), key, &due));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_invoice_queues_each_lead_at_nine_local_across_dst),
        cmocka_unit_test(closed_or_zero_balance_drops_every_key),
        cmocka_unit_test(moved_dates_replace_the_keys),
        cmocka_unit_test(passed_leads_collapse_and_the_collapsed_ones_leave),
        cmocka_unit_test(a_re_time_moves_the_instants_to_the_new_zone),
        cmocka_unit_test(other_leads_come_from_the_settings),
        cmocka_unit_test(the_profile_as_stored),
        cmocka_unit_test(the_next_statement),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
