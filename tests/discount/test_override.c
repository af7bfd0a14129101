/* test_override — the discount worker's reading of an OverrideOrder from
 * sk:{audit}:ovq:N and the hand-offs it builds (services/discount/override.h):
 * a good order decodes into the change it asks; every field out of bounds,
 * an order in another shard's queue, an unknown kind, a kind without the
 * field it needs, a message too large or not protobuf is refused with the
 * reason; an OverrideApplied and a ScheduleChanged decode back to the values
 * given, a refusal carries its code and no effect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "override.h"
#include "skonto/v1/skonto.pb-c.h"

static uint8_t s_buf[8192];
static discount_override_t s_o;

/* An order for customer "C-1" in its shard's queue; fields set by the caller after. */
static Skonto__V1__OverrideOrder s_order(Skonto__V1__OverrideChange *c)
{
    Skonto__V1__OverrideOrder o = SKONTO__V1__OVERRIDE_ORDER__INIT;
    skonto__v1__override_change__init(c);
    c->kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND;
    c->tier = 1;
    c->new_last_day = "2026-11-15";
    o.override_id = "ov-7";
    o.order_id = "SO-1";
    o.customer_id = "C-1";
    o.invoice_revision = 3;
    o.change = c;
    o.requested_by = "sales.li";
    o.approved_by = "dir.wang";
    o.currency = "CNY";
    return o;
}

static void s_decode(const Skonto__V1__OverrideOrder *o, int shard)
{
    size_t n = skonto__v1__override_order__pack(o, s_buf);
    discount_override_decode(&s_o, shard, "1-1", 3, s_buf, n);
}

static void s_refused(const Skonto__V1__OverrideOrder *o, const char *why)
{
    s_decode(o, sk_shard_of("C-1"));
    assert_false(s_o.valid);
    if (!strstr(s_o.error, why))
        fail_msg("\"%s\" does not say \"%s\"", s_o.error, why);
}

static void test_good_orders(void **state)
{
    (void)state;
    Skonto__V1__OverrideChange c;
    Skonto__V1__OverrideOrder o = s_order(&c);
    s_decode(&o, sk_shard_of("C-1"));
    assert_true(s_o.valid);
    assert_string_equal(s_o.override_id, "ov-7");
    assert_string_equal(s_o.entry_id, "1-1");
    assert_int_equal(s_o.revision, 3);
    assert_int_equal(s_o.change.kind, SK_OVERRIDE_EXTEND);
    assert_int_equal(s_o.change.tier, 1);
    char d[16];
    assert_string_equal(sk_date_format(s_o.change.new_last_day, d, sizeof d), "2026-11-15");
    c.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE, c.new_rate_ppm = 15000;
    s_decode(&o, sk_shard_of("C-1"));
    assert_true(s_o.valid);
    assert_int_equal(s_o.change.new_rate_ppm, 15000);
    c.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_GRANT, c.payment = 2;
    s_decode(&o, sk_shard_of("C-1"));
    assert_true(s_o.valid);
    assert_int_equal(s_o.change.payment, 2);
    c.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_WAIVE;
    s_decode(&o, sk_shard_of("C-1"));
    assert_true(s_o.valid);
    assert_int_equal(s_o.change.kind, SK_OVERRIDE_WAIVE);
}

static void test_bad_orders(void **state)
{
    (void)state;
    Skonto__V1__OverrideChange c;
    Skonto__V1__OverrideOrder o;
    char long_id[300];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    o = s_order(&c), o.override_id = "";
    s_refused(&o, "bad override_id");
    o = s_order(&c), o.override_id = long_id;
    s_refused(&o, "bad override_id");
    o = s_order(&c), o.order_id = long_id;
    s_refused(&o, "bad order_id");
    o = s_order(&c), o.customer_id = "";
    s_refused(&o, "bad customer_id");
    o = s_order(&c), o.requested_by = "";
    s_refused(&o, "requested_by");
    o = s_order(&c), o.approved_by = long_id;
    s_refused(&o, "approved_by");
    o = s_order(&c), o.invoice_revision = 0;
    s_refused(&o, "invoice_revision");
    o = s_order(&c), o.change = NULL;
    s_refused(&o, "no change");
    o = s_order(&c), c.kind = 9;
    s_refused(&o, "unknown kind");
    o = s_order(&c), c.kind = 0;
    s_refused(&o, "unknown kind");
    o = s_order(&c), c.new_last_day = "2026-13-01";
    s_refused(&o, "bad extension");
    o = s_order(&c), c.new_last_day = "";
    s_refused(&o, "bad extension");
    o = s_order(&c), c.tier = SK_TERMS_MAX_TIERS;
    s_refused(&o, "bad extension");
    o = s_order(&c), c.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE, c.new_rate_ppm = 0;
    s_refused(&o, "bad rate change");
    o = s_order(&c), c.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE,
    c.new_rate_ppm = 1000000;
    s_refused(&o, "bad rate change");
    o = s_order(&c), c.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_GRANT, c.payment = 64;
    s_refused(&o, "bad grant");
    /* another shard's queue */
    o = s_order(&c);
    s_decode(&o, (sk_shard_of("C-1") + 1) % SK_SHARDS);
    assert_false(s_o.valid);
    assert_non_null(strstr(s_o.error, "not in this queue's shard"));
    /* not protobuf, empty, too large, no field o */
    discount_override_decode(&s_o, 0, "1-1", 3, "\xff\xff\xff", 3);
    assert_non_null(strstr(s_o.error, "does not decode"));
    discount_override_decode(&s_o, 0, "1-1", 3, "", 0);
    assert_non_null(strstr(s_o.error, "empty or too large"));
    discount_override_decode(&s_o, 0, "1-1", 3, s_buf, DISCOUNT_OVERRIDE_BYTES_MAX + 1);
    assert_non_null(strstr(s_o.error, "empty or too large"));
    discount_override_decode(&s_o, 0, "1-1", 3, NULL, 0);
    assert_non_null(strstr(s_o.error, "no field o"));
}

static void test_handoffs(void **state)
{
    (void)state;
    Skonto__V1__OverrideChange c;
    Skonto__V1__OverrideOrder o = s_order(&c);
    s_decode(&o, sk_shard_of("C-1"));
    static sk_override_result_t r;
    memset(&r, 0, sizeof r);
    r.effect = 1130;
    snprintf(r.old_value, sizeof r.old_value, "2026-11-12");
    snprintf(r.new_value, sizeof r.new_value, "2026-11-15");
    size_t n = discount_handoff_applied(&s_o, "", &r, 4, "CNY", 1772450000000, s_buf, sizeof s_buf);
    assert_true(n > 0);
    Skonto__V1__AuditHandoff *h = skonto__v1__audit_handoff__unpack(NULL, n, s_buf);
    assert_non_null(h);
    assert_int_equal(h->body_case, SKONTO__V1__AUDIT_HANDOFF__BODY_APPLIED);
    const Skonto__V1__OverrideApplied *a = h->applied;
    assert_string_equal(a->override_id, "ov-7");
    assert_string_equal(a->order_id, "SO-1");
    assert_string_equal(a->old_value, "2026-11-12");
    assert_string_equal(a->new_value, "2026-11-15");
    assert_int_equal(a->effect, 1130);
    assert_int_equal(a->invoice_revision, 4);
    assert_int_equal(a->applied_at_ms, 1772450000000);
    assert_string_equal(a->requested_by, "sales.li");
    assert_string_equal(a->approved_by, "dir.wang");
    assert_string_equal(a->refusal_code, "");
    assert_string_equal(a->change->new_last_day, "2026-11-15");
    skonto__v1__audit_handoff__free_unpacked(h, NULL);
    /* a refusal: its code, no values, no effect */
    n = discount_handoff_applied(&s_o, "stale", NULL, 5, NULL, 1, s_buf, sizeof s_buf);
    h = skonto__v1__audit_handoff__unpack(NULL, n, s_buf);
    assert_non_null(h);
    assert_string_equal(h->applied->refusal_code, "stale");
    assert_int_equal(h->applied->effect, 0);
    assert_int_equal(h->applied->invoice_revision, 5);
    assert_string_equal(h->applied->old_value, "");
    skonto__v1__audit_handoff__free_unpacked(h, NULL);
    /* too small a buffer: 0, not an overrun */
    assert_int_equal(discount_handoff_applied(&s_o, "", &r, 4, "CNY", 1, s_buf, 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_orders),
        cmocka_unit_test(test_bad_orders),
        cmocka_unit_test(test_handoffs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
