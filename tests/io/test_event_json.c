/* event_json: the ERP's JSON lines -> Envelope, field by field, and every
 * class of rejected line with the reason code skontoctl send reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "event_json.h"

/* A caller's order -> currency table, as skontoctl send keeps it. */
static const char *s_lookup(void *arg, const char *order_id)
{
    (void)arg;
    if (strcmp(order_id, "SO-1") == 0)
        return "CNY";
    if (strcmp(order_id, "SO-JP") == 0)
        return "JPY";
    return NULL;
}

static sk_event_json_t *s_parse_ok(const char *line)
{
    sk_err_t err = {{0}, {0}};
    sk_event_json_t *ev = sk_event_json_parse(line, strlen(line), s_lookup, NULL, &err);
    if (!ev)
        fail_msg("rejected %s: %s: %s", line, err.code, err.msg);
    return ev;
}

static void test_customer(void **state)
{
    (void)state;
    sk_event_json_t *ev = s_parse_ok(
        "{\"type\":\"customer\",\"event_id\":\"E1\",\"customer_id\":\"C-1\",\"name\":\"Acme\","
        "\"email\":\"ap@example.com\",\"timezone\":\"Asia/Shanghai\",\"locale\":\"zh-CN\","
        "\"statement\":\"weekly\",\"terms\":\"2/0,1/10,0.5/30,n/60\"}");
    const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
    assert_string_equal(env->event_id, "E1");
    assert_string_equal(env->source, "skontoctl");
    assert_int_equal(env->sequence, 0);
    assert_int_equal(env->occurred_at_ms, 0);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_CUSTOMER);
    assert_string_equal(sk_event_kind_name(env), "customer");
    const Skonto__V1__CustomerUpsert *c = env->customer;
    assert_string_equal(c->customer_id, "C-1");
    assert_string_equal(c->name, "Acme");
    assert_string_equal(c->email, "ap@example.com");
    assert_string_equal(c->timezone, "Asia/Shanghai");
    assert_string_equal(c->locale, "zh-CN");
    assert_int_equal(c->statement, SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_WEEKLY);
    assert_string_equal(c->terms, "2/0,1/10,0.5/30,n/60");
    sk_event_json_destroy(&ev);
    assert_null(ev);

    ev = s_parse_ok("{\"type\":\"customer\",\"event_id\":\"E1b\",\"customer_id\":\"C-2\","
                    "\"statement\":\"daily\",\"name\":\"\xe5\xae\x8f\xe8\xbe\xbe\"}");
    env = sk_event_json_envelope(ev);
    assert_int_equal(env->customer->statement, SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_DAILY);
    assert_string_equal(env->customer->name, "\xe5\xae\x8f\xe8\xbe\xbe");
    assert_string_equal(env->customer->email, "");
    sk_event_json_destroy(&ev);

    ev = s_parse_ok("{\"type\":\"customer\",\"event_id\":\"E1c\",\"customer_id\":\"C-3\","
                    "\"statement\":\"none\",\"terms\":null}");
    env = sk_event_json_envelope(ev);
    assert_int_equal(env->customer->statement, SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_NONE);
    assert_string_equal(env->customer->terms, "");
    sk_event_json_destroy(&ev);

    /* regression (fuzz_event_json): an empty "source" is "not given", so it
     * gets the default and the event round-trips through its JSON display */
    ev = s_parse_ok("{\"type\":\"customer\",\"event_id\":\"E1b\",\"customer_id\":\"C\","
                    "\"source\":\"\"}");
    assert_string_equal(sk_event_json_envelope(ev)->source, "skontoctl");
    sk_event_json_destroy(&ev);
}

static void test_order_shipped(void **state)
{
    (void)state;
    sk_event_json_t *ev = s_parse_ok(
        "{\"type\":\"order_shipped\",\"event_id\":\"E2\",\"order_id\":\"SO-1\",\"customer_id\":"
        "\"C-1\",\"salesperson\":\"S-7\",\"currency\":\"CNY\",\"amount\":\"1130.00\",\"tax\":"
        "\"130.00\",\"ship_date\":\"2026-11-02\",\"invoice_date\":\"2026-11-03\",\"terms\":"
        "\"2/0,1/10,0.5/30,n/60\"}");
    const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED);
    assert_string_equal(env->event_id, "E2");
    const Skonto__V1__Invoice *o = env->order_shipped;
    assert_string_equal(o->order_id, "SO-1");
    assert_string_equal(o->customer_id, "C-1");
    assert_string_equal(o->salesperson, "S-7");
    assert_string_equal(o->currency, "CNY");
    assert_int_equal(o->amount, 113000);
    assert_int_equal(o->tax, 13000);
    assert_string_equal(o->ship_date, "2026-11-02");
    assert_string_equal(o->invoice_date, "2026-11-03");
    assert_string_equal(o->delivery_date, "");
    assert_string_equal(o->terms, "2/0,1/10,0.5/30,n/60");
    assert_int_equal(o->version, 0);
    assert_null(o->customer);
    sk_event_json_destroy(&ev);
}

/* Every optional field, an inline customer, and a currency without decimals. */
static void test_invoice_issued_full(void **state)
{
    (void)state;
    sk_event_json_t *ev =
        s_parse_ok("{\"type\":\"invoice_issued\",\"event_id\":\"E9\",\"source\":\"erp-main\","
                   "\"sequence\":42,\"occurred_at_ms\":1793577600000,\"order_id\":\"SO-JP\","
                   "\"customer_id\":\"C-9\",\"currency\":\"JPY\",\"amount\":\"1000\",\"ship_date\":"
                   "\"2024-02-29\",\"delivery_date\":\"2024-03-01\",\"version\":3,"
                   "\"customer\":{\"name\":\"Nippon KK\",\"email\":\"ap@nippon.example\","
                   "\"statement\":\"none\"}}");
    const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED);
    assert_string_equal(sk_event_kind_name(env), "invoice_issued");
    assert_string_equal(env->source, "erp-main");
    assert_int_equal(env->sequence, 42);
    assert_int_equal(env->occurred_at_ms, INT64_C(1793577600000));
    const Skonto__V1__Invoice *o = env->invoice_issued;
    assert_string_equal(o->currency, "JPY");
    assert_int_equal(o->amount, 1000);
    assert_int_equal(o->tax, 0);
    assert_string_equal(o->ship_date, "2024-02-29");
    assert_string_equal(o->delivery_date, "2024-03-01");
    assert_int_equal(o->version, 3);
    assert_non_null(o->customer);
    assert_string_equal(o->customer->customer_id, "C-9"); /* defaults to the order's */
    assert_string_equal(o->customer->name, "Nippon KK");
    assert_string_equal(o->customer->email, "ap@nippon.example");
    assert_int_equal(o->customer->statement, SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_NONE);
    sk_event_json_destroy(&ev);
}

static void test_payment(void **state)
{
    (void)state;
    /* currency from the caller's lookup (the order seen earlier) */
    sk_event_json_t *ev = s_parse_ok("{\"type\":\"payment_received\",\"event_id\":\"E3\","
                                     "\"order_id\":\"SO-1\",\"paid_on\":\"2026-11-10\","
                                     "\"amount\":\"1118.70\",\"full\":true}");
    const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED);
    const Skonto__V1__PaymentReceived *p = env->payment_received;
    assert_string_equal(p->order_id, "SO-1");
    assert_string_equal(p->paid_on, "2026-11-10");
    assert_int_equal(p->amount, 111870);
    assert_true(p->full);
    assert_string_equal(p->currency, ""); /* not given: ingest uses the invoice's */
    assert_string_equal(p->payment_id, "");
    sk_event_json_destroy(&ev);

    /* JPY order via lookup: "1000" is 1000 minor units */
    ev = s_parse_ok("{\"type\":\"payment_received\",\"event_id\":\"E3j\",\"order_id\":\"SO-JP\","
                    "\"paid_on\":\"2024-03-05\",\"amount\":\"1000\",\"full\":false,"
                    "\"payment_id\":\"PAY-77\"}");
    p = sk_event_json_envelope(ev)->payment_received;
    assert_int_equal(p->amount, 1000);
    assert_false(p->full);
    assert_string_equal(p->payment_id, "PAY-77");
    sk_event_json_destroy(&ev);

    /* an explicit currency wins over the lookup, and travels to ingest */
    ev = s_parse_ok("{\"type\":\"payment_received\",\"event_id\":\"E3x\",\"order_id\":\"SO-1\","
                    "\"paid_on\":\"2026-11-10\",\"amount\":\"500\",\"currency\":\"JPY\"}");
    p = sk_event_json_envelope(ev)->payment_received;
    assert_int_equal(p->amount, 500);
    assert_string_equal(p->currency, "JPY");
    sk_event_json_destroy(&ev);

    /* an explicit currency makes the lookup unnecessary */
    sk_err_t err;
    const char *line = "{\"type\":\"payment_received\",\"event_id\":\"E3y\",\"order_id\":\"X\","
                       "\"paid_on\":\"2026-11-10\",\"amount\":\"12.5\",\"currency\":\"USD\"}";
    ev = sk_event_json_parse(line, strlen(line), NULL, NULL, &err);
    assert_non_null(ev);
    assert_int_equal(sk_event_json_envelope(ev)->payment_received->amount, 1250);
    sk_event_json_destroy(&ev);
}

static void test_credit_note_and_cancel(void **state)
{
    (void)state;
    sk_event_json_t *ev = s_parse_ok("{\"type\":\"credit_note\",\"event_id\":\"E4\",\"order_id\":"
                                     "\"SO-1\",\"issued_on\":\"2026-11-05\",\"amount\":\"100.00\","
                                     "\"credit_note_id\":\"CN-3\"}");
    const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE);
    assert_string_equal(env->credit_note->order_id, "SO-1");
    assert_string_equal(env->credit_note->issued_on, "2026-11-05");
    assert_int_equal(env->credit_note->amount, 10000);
    assert_string_equal(env->credit_note->credit_note_id, "CN-3");
    sk_event_json_destroy(&ev);

    /* an explicit currency scales the amount and travels, so ingest can check
     * it against the invoice's */
    ev = s_parse_ok("{\"type\":\"credit_note\",\"event_id\":\"E4b\",\"order_id\":\"SO-JP\","
                    "\"issued_on\":\"2024-03-02\",\"amount\":\"250\",\"currency\":\"JPY\"}");
    assert_int_equal(sk_event_json_envelope(ev)->credit_note->amount, 250);
    assert_string_equal(sk_event_json_envelope(ev)->credit_note->currency, "JPY");
    sk_event_json_destroy(&ev);

    ev = s_parse_ok("{\"type\":\"order_cancelled\",\"event_id\":\"E5\",\"order_id\":\"SO-1\"}");
    env = sk_event_json_envelope(ev);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED);
    assert_string_equal(env->order_cancelled->order_id, "SO-1");
    assert_string_equal(env->order_cancelled->reason, "");
    sk_event_json_destroy(&ev);

    ev = s_parse_ok("{\"type\":\"order_cancelled\",\"event_id\":\"E6\",\"order_id\":\"SO-2\","
                    "\"reason\":\"customer withdrew\"}");
    assert_string_equal(sk_event_json_envelope(ev)->order_cancelled->reason, "customer withdrew");
    sk_event_json_destroy(&ev);
}

/* Bad terms are not this module's business: they must reach ingest to be
 * rejected and dead-lettered there. The same for tax >= amount. */
static void test_business_rules_travel(void **state)
{
    (void)state;
    sk_event_json_t *ev = s_parse_ok(
        "{\"type\":\"order_shipped\",\"event_id\":\"E7\",\"order_id\":\"SO-7\",\"customer_id\":"
        "\"C-1\",\"currency\":\"CNY\",\"amount\":\"10.00\",\"tax\":\"20.00\",\"ship_date\":"
        "\"2026-11-02\",\"terms\":\"5/40,1/10,n/zzz\"}\n");
    const Skonto__V1__Invoice *o = sk_event_json_envelope(ev)->order_shipped;
    assert_string_equal(o->terms, "5/40,1/10,n/zzz");
    assert_int_equal(o->tax, 2000);
    sk_event_json_destroy(&ev);
}

/* Packed bytes decode with protobuf-c to the same fields (what ingest sees). */
static void test_pack_roundtrip(void **state)
{
    (void)state;
    sk_event_json_t *ev = s_parse_ok(
        "{\"type\":\"order_shipped\",\"event_id\":\"E2\",\"source\":\"erp\",\"sequence\":7,"
        "\"order_id\":\"SO-1\",\"customer_id\":\"C-1\",\"currency\":\"CNY\",\"amount\":"
        "\"1130.00\",\"tax\":\"130.00\",\"ship_date\":\"2026-11-02\",\"customer\":{"
        "\"customer_id\":\"C-1\",\"name\":\"Acme\",\"statement\":\"weekly\"}}");
    uint8_t *buf = NULL;
    size_t n = sk_event_json_pack(ev, &buf);
    assert_true(n > 0);
    assert_non_null(buf);
    Skonto__V1__Envelope *env = skonto__v1__envelope__unpack(NULL, n, buf);
    assert_non_null(env);
    assert_string_equal(env->event_id, "E2");
    assert_string_equal(env->source, "erp");
    assert_int_equal(env->sequence, 7);
    assert_int_equal(env->body_case, SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED);
    assert_int_equal(env->order_shipped->amount, 113000);
    assert_int_equal(env->order_shipped->tax, 13000);
    assert_string_equal(env->order_shipped->ship_date, "2026-11-02");
    assert_non_null(env->order_shipped->customer);
    assert_string_equal(env->order_shipped->customer->name, "Acme");
    assert_int_equal(env->order_shipped->customer->statement,
                     SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_WEEKLY);
    skonto__v1__envelope__free_unpacked(env, NULL);
    free(buf);
    sk_event_json_destroy(&ev);
}

/* Envelope -> JSON (dead-letter display) gives back the line that made it. */
static void s_expect_json_roundtrip(const char *line, const char *expected)
{
    sk_event_json_t *ev = s_parse_ok(line);
    json_t *got = sk_event_to_json(sk_event_json_envelope(ev));
    assert_non_null(got);
    json_error_t jerr;
    json_t *want = json_loads(expected, 0, &jerr);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *s = json_dumps(got, JSON_COMPACT);
        fail_msg("to_json gave %s, expected %s", s, expected);
    }
    /* and that JSON converts back to the same bytes */
    char *text = json_dumps(got, JSON_COMPACT);
    assert_non_null(text);
    sk_event_json_t *ev2 = s_parse_ok(text);
    uint8_t *a = NULL, *b = NULL;
    size_t na = sk_event_json_pack(ev, &a), nb = sk_event_json_pack(ev2, &b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    free(text);
    sk_event_json_destroy(&ev2);
    json_decref(want);
    json_decref(got);
    sk_event_json_destroy(&ev);
}

static void test_to_json(void **state)
{
    (void)state;
    const char *order =
        "{\"type\":\"order_shipped\",\"event_id\":\"E2\",\"order_id\":\"SO-1\",\"customer_id\":"
        "\"C-1\",\"salesperson\":\"S-7\",\"currency\":\"CNY\",\"amount\":\"1130.00\",\"tax\":"
        "\"130.00\",\"ship_date\":\"2026-11-02\",\"invoice_date\":\"2026-11-03\",\"terms\":"
        "\"2/0,1/10,0.5/30,n/60\"}";
    s_expect_json_roundtrip(
        order,
        "{\"type\":\"order_shipped\",\"event_id\":\"E2\",\"source\":\"skontoctl\","
        "\"order_id\":\"SO-1\",\"customer_id\":\"C-1\",\"salesperson\":\"S-7\","
        "\"currency\":\"CNY\",\"amount\":\"1130.00\",\"tax\":\"130.00\",\"ship_date\":"
        "\"2026-11-02\",\"invoice_date\":\"2026-11-03\",\"terms\":\"2/0,1/10,0.5/30,n/60\"}");
    /* amounts are shown at the currency's precision: "1130" CNY is "1130.00" */
    s_expect_json_roundtrip(
        "{\"type\":\"invoice_issued\",\"event_id\":\"E9\",\"source\":\"erp\",\"sequence\":5,"
        "\"occurred_at_ms\":17,\"order_id\":\"SO-2\",\"customer_id\":\"C-2\",\"currency\":"
        "\"CNY\",\"amount\":\"1130\",\"ship_date\":\"2026-11-02\",\"version\":2,\"customer\":{"
        "\"email\":\"x@y.example\",\"statement\":\"daily\"}}",
        "{\"type\":\"invoice_issued\",\"event_id\":\"E9\",\"source\":\"erp\",\"sequence\":5,"
        "\"occurred_at_ms\":17,\"order_id\":\"SO-2\",\"customer_id\":\"C-2\",\"currency\":"
        "\"CNY\",\"amount\":\"1130.00\",\"ship_date\":\"2026-11-02\",\"version\":2,\"customer\":{"
        "\"customer_id\":\"C-2\",\"email\":\"x@y.example\",\"statement\":\"daily\"}}");
    s_expect_json_roundtrip(
        "{\"type\":\"customer\",\"event_id\":\"E1\",\"customer_id\":\"C-1\",\"name\":\"Acme\","
        "\"statement\":\"weekly\",\"terms\":\"2/10,n/30\"}",
        "{\"type\":\"customer\",\"event_id\":\"E1\",\"source\":\"skontoctl\",\"customer_id\":"
        "\"C-1\",\"name\":\"Acme\",\"statement\":\"weekly\",\"terms\":\"2/10,n/30\"}");
    /* issue 8: reminders alone, as `skontoctl customer optout` sends it */
    s_expect_json_roundtrip(
        "{\"type\":\"customer\",\"event_id\":\"E1o\",\"customer_id\":\"C-1\","
        "\"reminders\":\"off\"}",
        "{\"type\":\"customer\",\"event_id\":\"E1o\",\"source\":\"skontoctl\",\"customer_id\":"
        "\"C-1\",\"reminders\":\"off\"}");
    s_expect_json_roundtrip(
        "{\"type\":\"invoice_issued\",\"event_id\":\"E9r\",\"order_id\":\"SO-2\","
        "\"customer_id\":\"C-2\",\"currency\":\"CNY\",\"amount\":\"1\",\"ship_date\":"
        "\"2026-11-02\",\"customer\":{\"reminders\":\"on\"}}",
        "{\"type\":\"invoice_issued\",\"event_id\":\"E9r\",\"source\":\"skontoctl\","
        "\"order_id\":\"SO-2\",\"customer_id\":\"C-2\",\"currency\":\"CNY\",\"amount\":"
        "\"1.00\",\"ship_date\":\"2026-11-02\",\"customer\":{\"customer_id\":\"C-2\","
        "\"reminders\":\"on\"}}");
    s_expect_json_roundtrip(
        "{\"type\":\"payment_received\",\"event_id\":\"E3\",\"order_id\":\"SO-1\",\"paid_on\":"
        "\"2026-11-10\",\"amount\":\"1000\",\"currency\":\"JPY\",\"full\":true}",
        "{\"type\":\"payment_received\",\"event_id\":\"E3\",\"source\":\"skontoctl\","
        "\"order_id\":\"SO-1\",\"paid_on\":\"2026-11-10\",\"amount\":\"1000\",\"full\":true,"
        "\"currency\":\"JPY\"}");
    s_expect_json_roundtrip(
        "{\"type\":\"order_cancelled\",\"event_id\":\"E5\",\"order_id\":\"SO-1\",\"reason\":\"r\"}",
        "{\"type\":\"order_cancelled\",\"event_id\":\"E5\",\"source\":\"skontoctl\","
        "\"order_id\":\"SO-1\",\"reason\":\"r\"}");

    /* a payment or credit note whose envelope names no currency shows minor units */
    sk_event_json_t *ev =
        s_parse_ok("{\"type\":\"credit_note\",\"event_id\":\"E4\",\"order_id\":"
                   "\"SO-1\",\"issued_on\":\"2026-11-05\",\"amount\":\"100.00\"}");
    json_t *j = sk_event_to_json(sk_event_json_envelope(ev));
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "amount_minor")), 10000);
    assert_null(json_object_get(j, "amount"));
    json_decref(j);
    sk_event_json_destroy(&ev);

    assert_null(sk_event_to_json(NULL));
}

/* A dead-lettered envelope may carry bytes that are not UTF-8 (protobuf-c does
 * not check): the display must still work and mark them. */
static void test_to_json_bad_utf8(void **state)
{
    (void)state;
    Skonto__V1__Envelope env = SKONTO__V1__ENVELOPE__INIT;
    Skonto__V1__OrderCancelled c = SKONTO__V1__ORDER_CANCELLED__INIT;
    env.event_id = (char *)"E\xff\xc3\xa9";
    env.body_case = SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED;
    env.order_cancelled = &c;
    c.order_id = (char *)"SO-\xc0\xaf"; /* overlong '/' */
    json_t *j = sk_event_to_json(&env);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "event_id")), "E\xef\xbf\xbd\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(j, "order_id")),
                        "SO-\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "order_cancelled");
    json_decref(j);

    Skonto__V1__Envelope empty = SKONTO__V1__ENVELOPE__INIT;
    j = sk_event_to_json(&empty);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "unknown");
    json_decref(j);
}

typedef struct {
    const char *line;
    const char *code;
    const char *msg_part; /* the message must name what is wrong */
} s_reject_t;

#define ORDER_HEAD                                                                                 \
    "{\"type\":\"order_shipped\",\"event_id\":\"E2\",\"order_id\":\"SO-1\",\"customer_id\":\"C-"   \
    "1\","
#define ORDER_OK "\"currency\":\"CNY\",\"amount\":\"1130.00\",\"ship_date\":\"2026-11-02\""
/* 22 CJK characters, 66 bytes: a message quoting at most 64 bytes cuts one */
#define HAN3 "\xe5\xae\x8f"
#define HAN22                                                                                      \
    HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 HAN3 \
        HAN3 HAN3 HAN3
#define PAY_HEAD "{\"type\":\"payment_received\",\"event_id\":\"E3\",\"order_id\":\"SO-1\","

static const s_reject_t s_rejects[] = {
    /* not JSON / not an object */
    {"", "bad_json", "invalid JSON"},
    {"{\"type\":\"customer\",", "bad_json", "invalid JSON"},
    {"not json", "bad_json", "invalid JSON"},
    {"[1,2]", "bad_json", "must be a JSON object, not an array"},
    {"\"order_shipped\"", "bad_json", "not a string"},
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":\"A\"} x", "bad_json",
     "invalid JSON"},
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":\"A\",\"order_id\":\"B\"}",
     "bad_json", "duplicate"},
    {"{\"type\":\"customer\",\"event_id\":\"E\",\"customer_id\":\"\xff\"}", "bad_json",
     "invalid JSON"},
    /* type */
    {"{\"event_id\":\"E\",\"order_id\":\"A\"}", "missing_field", "\"type\""},
    {"{\"type\":\"refund\",\"event_id\":\"E\"}", "bad_type", "\"refund\""},
    {"{\"type\":7,\"event_id\":\"E\"}", "bad_field", "\"type\" must be a string, not an integer"},
    /* missing required fields */
    {"{\"type\":\"order_cancelled\",\"order_id\":\"A\"}", "missing_field", "\"event_id\""},
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\"}", "missing_field", "\"order_id\""},
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":null}", "missing_field",
     "\"order_id\""},
    {"{\"type\":\"customer\",\"event_id\":\"E\"}", "missing_field", "\"customer_id\""},
    {ORDER_HEAD "\"currency\":\"CNY\",\"ship_date\":\"2026-11-02\"}", "missing_field",
     "\"amount\""},
    {ORDER_HEAD "\"currency\":\"CNY\",\"amount\":\"1.00\"}", "missing_field", "\"ship_date\""},
    {ORDER_HEAD "\"amount\":\"1.00\",\"ship_date\":\"2026-11-02\"}", "missing_field",
     "\"currency\""},
    {PAY_HEAD "\"amount\":\"1.00\"}", "missing_field", "\"paid_on\""},
    {"{\"type\":\"credit_note\",\"event_id\":\"E\",\"order_id\":\"SO-1\",\"amount\":\"1\"}",
     "missing_field", "\"issued_on\""},
    /* unknown fields, top level and inline */
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":\"A\",\"foo\":1}",
     "unknown_field", "\"foo\""},
    {PAY_HEAD "\"paid_on\":\"2026-11-10\",\"amount\":\"1.00\",\"ful\":true}", "unknown_field",
     "\"ful\""},
    {"{\"type\":\"customer\",\"event_id\":\"E\",\"customer_id\":\"C\",\"amount\":\"1\"}",
     "unknown_field", "\"amount\""},
    {ORDER_HEAD ORDER_OK ",\"customer\":{\"name\":\"A\",\"type\":\"customer\"}}", "unknown_field",
     "customer: unknown field \"type\""},
    /* peer text in a message is kept to one line of valid UTF-8 */
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":\"A\",\"x\\ny\":1}",
     "unknown_field", "\"x?y\""},
    {"{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":\"A\",\"" HAN22 "\":1}",
     "unknown_field", "unknown field"},
    /* wrong JSON types */
    {"{\"type\":\"order_cancelled\",\"event_id\":5,\"order_id\":\"A\"}", "bad_field",
     "\"event_id\" must be a string"},
    {ORDER_HEAD "\"currency\":\"CNY\",\"amount\":1130,\"ship_date\":\"2026-11-02\"}", "bad_field",
     "\"amount\" must be a string, not an integer"},
    {ORDER_HEAD ORDER_OK ",\"version\":\"2\"}", "bad_field", "\"version\" must be an integer"},
    {ORDER_HEAD ORDER_OK ",\"version\":-1}", "bad_field", "\"version\""},
    {ORDER_HEAD ORDER_OK ",\"version\":4294967296}", "bad_field", "\"version\""},
    {ORDER_HEAD ORDER_OK ",\"sequence\":-1}", "bad_field", "\"sequence\" must not be negative"},
    {ORDER_HEAD ORDER_OK ",\"sequence\":1.5}", "bad_field", "\"sequence\" must be an integer"},
    {ORDER_HEAD ORDER_OK ",\"occurred_at_ms\":\"now\"}", "bad_field", "\"occurred_at_ms\""},
    {ORDER_HEAD ORDER_OK ",\"customer\":\"C-1\"}", "bad_field", "\"customer\" must be an object"},
    {ORDER_HEAD ORDER_OK ",\"customer\":{\"statement\":\"monthly\"}}", "bad_field", "\"monthly\""},
    {ORDER_HEAD ORDER_OK ",\"terms\":[2,10]}", "bad_field", "\"terms\" must be a string"},
    {PAY_HEAD "\"paid_on\":\"2026-11-10\",\"amount\":\"1.00\",\"full\":\"yes\"}", "bad_field",
     "\"full\" must be true or false"},
    {PAY_HEAD "\"paid_on\":\"2026-11-10\",\"amount\":\"1.00\",\"full\":1}", "bad_field",
     "\"full\" must be true or false"},
    {"{\"type\":\"customer\",\"event_id\":\"E\",\"customer_id\":\"C\",\"statement\":\"monthly\"}",
     "bad_field", "must be weekly, daily or none"},
    {"{\"type\":\"customer\",\"event_id\":\"E\",\"customer_id\":\"C\",\"statement\":1}",
     "bad_field", "\"statement\" must be a string"},
    {"{\"type\":\"customer\",\"event_id\":\"E\",\"customer_id\":\"C\",\"reminders\":\"no\"}",
     "bad_field", "reminders \"no\" must be on or off"},
    {"{\"type\":\"customer\",\"event_id\":\"E\",\"customer_id\":\"C\",\"reminders\":false}",
     "bad_field", "\"reminders\" must be a string"},
    /* amounts */
    {ORDER_HEAD "\"currency\":\"CNY\",\"amount\":\"11.305\",\"ship_date\":\"2026-11-02\"}",
     "bad_amount", "amount"},
    {ORDER_HEAD "\"currency\":\"JPY\",\"amount\":\"1000.5\",\"ship_date\":\"2026-11-02\"}",
     "bad_amount", "amount"},
    {ORDER_HEAD "\"currency\":\"CNY\",\"amount\":\"-5.00\",\"ship_date\":\"2026-11-02\"}",
     "bad_amount", "amount"},
    {ORDER_HEAD "\"currency\":\"CNY\",\"amount\":\"\",\"ship_date\":\"2026-11-02\"}", "bad_amount",
     "amount"},
    {ORDER_HEAD ORDER_OK ",\"tax\":\"1,30\"}", "bad_amount", "tax"},
    {PAY_HEAD "\"paid_on\":\"2026-11-10\",\"amount\":\"1e3\"}", "bad_amount", "amount"},
    /* currencies */
    {ORDER_HEAD "\"currency\":\"XYZ\",\"amount\":\"1.00\",\"ship_date\":\"2026-11-02\"}",
     "bad_currency", "\"XYZ\""},
    {ORDER_HEAD "\"currency\":\"cny\",\"amount\":\"1.00\",\"ship_date\":\"2026-11-02\"}",
     "bad_currency", "\"cny\""},
    {"{\"type\":\"payment_received\",\"event_id\":\"E\",\"order_id\":\"SO-404\",\"paid_on\":"
     "\"2026-11-10\",\"amount\":\"1.00\"}",
     "bad_currency", "\"SO-404\""},
    {PAY_HEAD "\"paid_on\":\"2026-11-10\",\"amount\":\"1.00\",\"currency\":\"EURO\"}",
     "bad_currency", "\"EURO\""},
    /* dates */
    {ORDER_HEAD "\"currency\":\"CNY\",\"amount\":\"1.00\",\"ship_date\":\"2026-02-30\"}",
     "bad_date", "ship_date"},
    {ORDER_HEAD ORDER_OK ",\"invoice_date\":\"03.11.2026\"}", "bad_date", "invoice_date"},
    {ORDER_HEAD ORDER_OK ",\"delivery_date\":\"2026-11-2\"}", "bad_date", "delivery_date"},
    {PAY_HEAD "\"paid_on\":\"yesterday\",\"amount\":\"1.00\"}", "bad_date", "paid_on"},
    {"{\"type\":\"credit_note\",\"event_id\":\"E\",\"order_id\":\"SO-1\",\"issued_on\":"
     "\"2026-13-01\",\"amount\":\"1\"}",
     "bad_date", "issued_on"},
};

static void test_rejections(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_rejects / sizeof s_rejects[0]; i++) {
        const s_reject_t *r = &s_rejects[i];
        sk_err_t err = {{0}, {0}};
        sk_event_json_t *ev = sk_event_json_parse(r->line, strlen(r->line), s_lookup, NULL, &err);
        if (ev)
            fail_msg("accepted %s", r->line);
        if (strcmp(err.code, r->code) != 0 || !strstr(err.msg, r->msg_part))
            fail_msg("%s\n  gave   %s: %s\n  wanted %s: ...%s...", r->line, err.code, err.msg,
                     r->code, r->msg_part);
        assert_null(strchr(err.msg, '\n'));
        json_t *as_json = json_string(err.msg); /* NULL if not valid UTF-8 */
        if (!as_json)
            fail_msg("message of %s is not valid UTF-8: %s", r->line, err.msg);
        json_decref(as_json);
    }
    /* NULL input and a NULL err are safe */
    assert_null(sk_event_json_parse(NULL, 0, NULL, NULL, NULL));
    assert_null(sk_event_json_parse("{", 1, NULL, NULL, NULL));
}

/* The line need not be NUL-terminated: only len bytes are read. */
static void test_length_bounded(void **state)
{
    (void)state;
    const char *buf = "{\"type\":\"order_cancelled\",\"event_id\":\"E\",\"order_id\":\"A\"}GARBAGE";
    size_t len = strlen(buf) - strlen("GARBAGE");
    sk_err_t err;
    sk_event_json_t *ev = sk_event_json_parse(buf, len, NULL, NULL, &err);
    assert_non_null(ev);
    assert_string_equal(sk_event_json_envelope(ev)->order_cancelled->order_id, "A");
    sk_event_json_destroy(&ev);
    sk_event_json_destroy(&ev); /* idempotent on NULL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_customer),
        cmocka_unit_test(test_order_shipped),
        cmocka_unit_test(test_invoice_issued_full),
        cmocka_unit_test(test_payment),
        cmocka_unit_test(test_credit_note_and_cancel),
        cmocka_unit_test(test_business_rules_travel),
        cmocka_unit_test(test_pack_roundtrip),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_to_json_bad_utf8),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_length_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
