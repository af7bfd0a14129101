/* Tests of common/io/event: every rejection class of the ERP event validator,
 * with its reason code and a message that names the field, plus decoding of
 * the wire bytes the way ingest does it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "money.h"

/* A complete, valid set of messages; each test breaks one field. */
typedef struct {
    Skonto__V1__Envelope env;
    Skonto__V1__CustomerUpsert cust;
    Skonto__V1__CustomerUpsert inline_cust;
    Skonto__V1__Invoice inv;
    Skonto__V1__PaymentReceived pay;
    Skonto__V1__CreditNote credit;
    Skonto__V1__OrderCancelled cancel;
} fixture_t;

static void s_init(fixture_t *f)
{
    Skonto__V1__Envelope env = SKONTO__V1__ENVELOPE__INIT;
    Skonto__V1__CustomerUpsert cust = SKONTO__V1__CUSTOMER_UPSERT__INIT;
    Skonto__V1__Invoice inv = SKONTO__V1__INVOICE__INIT;
    Skonto__V1__PaymentReceived pay = SKONTO__V1__PAYMENT_RECEIVED__INIT;
    Skonto__V1__CreditNote credit = SKONTO__V1__CREDIT_NOTE__INIT;
    Skonto__V1__OrderCancelled cancel = SKONTO__V1__ORDER_CANCELLED__INIT;
    f->env = env;
    f->env.event_id = "E1";
    f->env.source = "erp-main";
    f->env.sequence = 1;
    f->cust = cust;
    f->cust.customer_id = "C-1";
    f->cust.name = "Acme 有限公司";
    f->cust.email = "ap@example.com";
    f->cust.timezone = "Asia/Shanghai";
    f->cust.locale = "zh-CN";
    f->cust.statement = SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_WEEKLY;
    f->cust.terms = "2/0,1/10,0.5/30,n/60";
    f->inline_cust = cust;
    f->inline_cust.name = "Inline Ltd";
    f->inv = inv;
    f->inv.order_id = "SO-1";
    f->inv.customer_id = "C-1";
    f->inv.salesperson = "S-7";
    f->inv.currency = "CNY";
    f->inv.amount = 113000;
    f->inv.tax = 13000;
    f->inv.ship_date = "2026-11-02";
    f->inv.invoice_date = "2026-11-03";
    f->inv.terms = "2/0,1/10,0.5/30,n/60";
    f->pay = pay;
    f->pay.order_id = "SO-1";
    f->pay.paid_on = "2026-11-10";
    f->pay.amount = 111870;
    f->pay.full = 1;
    f->credit = credit;
    f->credit.order_id = "SO-1";
    f->credit.issued_on = "2026-11-05";
    f->credit.amount = 10000;
    f->cancel = cancel;
    f->cancel.order_id = "SO-1";
}

static Skonto__V1__Envelope *s_customer(fixture_t *f)
{
    s_init(f);
    f->env.body_case = SKONTO__V1__ENVELOPE__BODY_CUSTOMER;
    f->env.customer = &f->cust;
    return &f->env;
}

static Skonto__V1__Envelope *s_order(fixture_t *f)
{
    s_init(f);
    f->env.body_case = SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED;
    f->env.order_shipped = &f->inv;
    return &f->env;
}

static Skonto__V1__Envelope *s_payment(fixture_t *f)
{
    s_init(f);
    f->env.body_case = SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED;
    f->env.payment_received = &f->pay;
    return &f->env;
}

static Skonto__V1__Envelope *s_credit(fixture_t *f)
{
    s_init(f);
    f->env.body_case = SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE;
    f->env.credit_note = &f->credit;
    return &f->env;
}

static Skonto__V1__Envelope *s_cancel(fixture_t *f)
{
    s_init(f);
    f->env.body_case = SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED;
    f->env.order_cancelled = &f->cancel;
    return &f->env;
}

/* Validates, expects rejection with `code` and a message containing `needle`;
 * the message must be one line of valid UTF-8. */
static void s_expect(const Skonto__V1__Envelope *env, const char *code, const char *needle)
{
    sk_err_t err;
    assert_int_equal(sk_event_validate(env, &err), -1);
    assert_string_equal(err.code, code);
    if (!strstr(err.msg, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", err.msg, needle);
    assert_true(sk_utf8_valid(err.msg, strlen(err.msg)));
    assert_null(strchr(err.msg, '\n'));
}

static void s_expect_ok(const Skonto__V1__Envelope *env)
{
    sk_err_t err;
    int rc = sk_event_validate(env, &err);
    if (rc)
        fail_msg("rejected: %s: %s", err.code, err.msg);
}

/* Validates, expects rejection with `code` and exactly the message `msg`. */
static void s_expect_msg(const Skonto__V1__Envelope *env, const char *code, const char *msg)
{
    sk_err_t err;
    assert_int_equal(sk_event_validate(env, &err), -1);
    assert_string_equal(err.code, code);
    assert_string_equal(err.msg, msg);
}

static char *s_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---------------------------------------------------------------- accepted */

static void test_valid_events(void **state)
{
    fixture_t f;
    s_expect_ok(s_customer(&f));
    s_expect_ok(s_order(&f));
    s_expect_ok(s_payment(&f));
    s_expect_ok(s_credit(&f));
    s_expect_ok(s_cancel(&f));

    /* Optional fields may be empty: an order without terms uses the customer's. */
    s_order(&f);
    f.inv.terms = "";
    f.inv.invoice_date = "";
    f.inv.salesperson = "";
    f.inv.tax = 0;
    s_expect_ok(&f.env);

    /* invoice_issued has the same fields. */
    s_order(&f);
    f.env.body_case = SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED;
    f.env.invoice_issued = &f.inv;
    s_expect_ok(&f.env);
    assert_int_equal(sk_event_kind(&f.env), SK_EVENT_INVOICE);
    assert_string_equal(sk_event_kind_name(&f.env), "invoice_issued");

    /* An inline customer without its own id is the order's customer. */
    s_order(&f);
    f.inline_cust.customer_id = "";
    f.inv.customer = &f.inline_cust;
    s_expect_ok(&f.env);

    /* Limits are inclusive. */
    s_order(&f);
    char *id64 = s_repeat('x', 64), *name200 = s_repeat('n', 200);
    f.env.event_id = id64;
    f.inv.order_id = id64;
    f.inv.amount = SK_MONEY_MAX;
    s_expect_ok(&f.env);
    s_customer(&f);
    f.cust.name = name200;
    f.cust.statement = SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_NONE;
    f.cust.email = "";
    f.cust.terms = "";
    s_expect_ok(&f.env);
    free(id64);
    free(name200);

    /* A payment may name its currency. */
    s_payment(&f);
    f.pay.currency = "CNY";
    s_expect_ok(&f.env);
}

static void test_accessors(void **state)
{
    fixture_t f;
    s_order(&f);
    assert_int_equal(sk_event_kind(&f.env), SK_EVENT_INVOICE);
    assert_string_equal(sk_event_order_id(&f.env), "SO-1");
    assert_string_equal(sk_event_customer_id(&f.env), "C-1");
    assert_ptr_equal(sk_event_invoice(&f.env), &f.inv);
    s_payment(&f);
    assert_int_equal(sk_event_kind(&f.env), SK_EVENT_PAYMENT);
    assert_string_equal(sk_event_order_id(&f.env), "SO-1");
    assert_null(sk_event_customer_id(&f.env));
    assert_null(sk_event_invoice(&f.env));
    s_customer(&f);
    assert_int_equal(sk_event_kind(&f.env), SK_EVENT_CUSTOMER);
    assert_null(sk_event_order_id(&f.env));
    assert_string_equal(sk_event_customer_id(&f.env), "C-1");
    s_credit(&f);
    assert_int_equal(sk_event_kind(&f.env), SK_EVENT_CREDIT);
    s_cancel(&f);
    assert_int_equal(sk_event_kind(&f.env), SK_EVENT_CANCEL);
    assert_string_equal(sk_event_kind_name(&f.env), "order_cancelled");
}

/* ---------------------------------------------------------------- envelope */

static void test_bad_envelope(void **state)
{
    fixture_t f;
    s_init(&f);
    s_expect(&f.env, "bad_envelope", "no event body");

    /* A body case whose message pointer is missing is no body either. */
    s_order(&f);
    f.env.order_shipped = NULL;
    s_expect(&f.env, "bad_envelope", "no event body");

    s_expect(NULL, "bad_envelope", "envelope");

    s_customer(&f);
    f.env.occurred_at_ms = -1;
    s_expect(&f.env, "bad_field", "occurred_at_ms");
}

static void test_decode(void **state)
{
    fixture_t f;
    sk_err_t err;
    Skonto__V1__Envelope *env = NULL;

    /* Garbage that protobuf-c cannot decode. */
    const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(sk_event_decode(junk, sizeof junk, &env, &err), -1);
    assert_null(env);
    assert_string_equal(err.code, "bad_envelope");
    assert_non_null(strstr(err.msg, "not a skonto.v1.Envelope"));

    /* Empty bytes decode to all defaults: still rejected, message kept for the echo. */
    assert_int_equal(sk_event_decode("", 0, &env, &err), -1);
    assert_non_null(env);
    assert_string_equal(err.code, "bad_id");
    sk_event_free(env);

    /* Too large. */
    size_t big = SK_EVENT_MAX_BYTES + 1;
    char *buf = calloc(1, big);
    assert_non_null(buf);
    assert_int_equal(sk_event_decode(buf, big, &env, &err), -1);
    assert_null(env);
    assert_string_equal(err.code, "bad_envelope");
    free(buf);

    /* A real order round-trips, and an unknown field (from a newer contract)
     * does not make it invalid. */
    s_order(&f);
    size_t n = skonto__v1__envelope__get_packed_size(&f.env);
    uint8_t *wire = malloc(n + 3);
    assert_non_null(wire);
    assert_int_equal(skonto__v1__envelope__pack(&f.env, wire), n);
    wire[n] = 0x98; /* key of field 99, wire type varint: (99 << 3) as a varint */
    wire[n + 1] = 0x06;
    wire[n + 2] = 0x01;
    assert_int_equal(sk_event_decode(wire, n + 3, &env, &err), 0);
    assert_string_equal(env->event_id, "E1");
    assert_int_equal(sk_event_kind(env), SK_EVENT_INVOICE);
    assert_int_equal(sk_event_invoice(env)->amount, 113000);
    sk_event_free(env);

    /* Truncated bytes of that order fail to decode. */
    assert_int_equal(sk_event_decode(wire, n - 3, &env, &err), -1);
    assert_null(env);
    assert_string_equal(err.code, "bad_envelope");
    free(wire);
}

/* ---------------------------------------------------------------- ids */

static void test_bad_id(void **state)
{
    fixture_t f;
    char *long_id = s_repeat('x', 65);

    s_order(&f);
    f.env.event_id = "";
    s_expect(&f.env, "bad_id", "event_id is empty");
    s_order(&f);
    f.env.event_id = long_id;
    s_expect(&f.env, "bad_id", "event_id is 65 characters long");
    s_order(&f);
    f.env.event_id = "E\t1";
    s_expect(&f.env, "bad_id", "event_id contains a control character");
    s_order(&f);
    f.env.source = "";
    s_expect(&f.env, "bad_id", "source is empty");
    s_order(&f);
    f.inv.order_id = "";
    s_expect(&f.env, "bad_id", "order_id is empty");
    s_order(&f);
    f.inv.customer_id = long_id;
    s_expect(&f.env, "bad_id", "customer_id");
    s_order(&f);
    f.inv.salesperson = "S\n7";
    s_expect(&f.env, "bad_id", "salesperson");
    s_customer(&f);
    f.cust.customer_id = "";
    s_expect(&f.env, "bad_id", "customer_id is empty");
    s_payment(&f);
    f.pay.order_id = "";
    s_expect(&f.env, "bad_id", "order_id");
    s_payment(&f);
    f.pay.payment_id = long_id;
    s_expect(&f.env, "bad_id", "payment_id");
    s_credit(&f);
    f.credit.order_id = long_id;
    s_expect(&f.env, "bad_id", "order_id");
    s_credit(&f);
    f.credit.credit_note_id = "\x7f";
    s_expect(&f.env, "bad_id", "credit_note_id");
    s_cancel(&f);
    f.cancel.order_id = "";
    s_expect(&f.env, "bad_id", "order_id");
    free(long_id);
}

/* n copies of the UTF-8 character c (malloc'd). */
static char *s_repeat_utf8(const char *c, size_t n)
{
    size_t l = strlen(c);
    char *s = malloc(n * l + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, c, l);
    s[n * l] = '\0';
    return s;
}

/* Issue 6: ids are 1..64 characters, as the .proto says, not 64 bytes; the
 * byte cap is 256 (64 characters of 4 bytes). */
static void test_id_counts_characters(void **state)
{
    fixture_t f;
    sk_err_t err;
    char *zh64 = s_repeat_utf8("\xe8\xae\xa2", 64); /* 订 x 64: 192 bytes */
    char *zh65 = s_repeat_utf8("\xe8\xae\xa2", 65);
    char *emoji64 = s_repeat_utf8("\xf0\x9f\x98\x80", 64); /* 😀 x 64: 256 bytes */
    char *x257 = s_repeat('x', 257);
    assert_int_equal(strlen(emoji64), SK_EVENT_ID_MAX);

    s_order(&f);
    f.env.event_id = zh64;
    f.env.source = zh64;
    f.inv.order_id = zh64;
    f.inv.customer_id = zh64;
    f.inv.salesperson = emoji64;
    s_expect_ok(&f.env);
    s_payment(&f);
    f.pay.order_id = emoji64;
    f.pay.payment_id = zh64;
    s_expect_ok(&f.env);
    s_credit(&f);
    f.credit.credit_note_id = emoji64;
    s_expect_ok(&f.env);
    s_customer(&f);
    f.cust.customer_id = zh64;
    s_expect_ok(&f.env);

    s_order(&f);
    f.inv.order_id = zh65;
    s_expect_msg(&f.env, "bad_id",
                 "order_id is 65 characters long (at most 64 characters and 256 bytes)");
    s_order(&f);
    f.env.event_id = x257;
    s_expect_msg(&f.env, "bad_id",
                 "event_id is 257 bytes long (at most 64 characters and 256 bytes)");
    s_payment(&f);
    f.pay.payment_id = zh65;
    s_expect(&f.env, "bad_id", "payment_id is 65 characters long");
    s_credit(&f);
    f.credit.credit_note_id = zh65;
    s_expect(&f.env, "bad_id", "credit_note_id is 65 characters long");
    s_order(&f);
    f.inv.salesperson = zh65;
    s_expect(&f.env, "bad_id", "salesperson is 65 characters long");
    s_order(&f);
    f.inline_cust.customer_id = zh65;
    f.inv.customer = &f.inline_cust;
    s_expect(&f.env, "bad_id", "customer.customer_id is 65 characters long");

    /* The shared rule, as skontoctl calls it: lengths, not NUL terminators. */
    assert_int_equal(sk_event_check_id("order id", zh64, strlen(zh64), true, &err), 0);
    assert_int_equal(sk_event_check_id("order id", "", 0, false, &err), 0);
    assert_int_equal(sk_event_check_id("order id", "", 0, true, &err), -1);
    assert_string_equal(err.msg, "order id is empty");
    assert_int_equal(sk_event_check_id("order id", "O\0A", 3, true, &err), -1);
    assert_string_equal(err.code, "bad_id");
    assert_string_equal(err.msg, "order id contains a NUL byte");
    const char bad_utf8[] = {'O', (char)0xff, 'A'};
    assert_int_equal(sk_event_check_id("order id", bad_utf8, 3, true, &err), -1);
    assert_string_equal(err.code, "bad_utf8");
    assert_int_equal(sk_event_check_id("order id", "O\xc2\x85", 3, true, NULL), -1);

    /* A 35-character Chinese order id (105 bytes) survives the wire. */
    char *zh35 = s_repeat_utf8("\xe8\xae\xa2", 35);
    s_order(&f);
    f.inv.order_id = zh35;
    size_t n = skonto__v1__envelope__get_packed_size(&f.env);
    uint8_t *wire = malloc(n);
    assert_non_null(wire);
    skonto__v1__envelope__pack(&f.env, wire);
    Skonto__V1__Envelope *env = NULL;
    assert_int_equal(sk_event_decode(wire, n, &env, &err), 0);
    assert_string_equal(sk_event_order_id(env), zh35);
    sk_event_free(env);
    free(wire);
    free(zh35);
    free(zh64);
    free(zh65);
    free(emoji64);
    free(x257);
}

/* ---------------------------------------------------------------- NUL bytes */

/* Packs env, then turns the '~' of the first occurrence of `value` in the wire
 * bytes into a NUL: a C string cannot hold one, the wire can. *n: length. */
static uint8_t *s_wire_with_nul(const Skonto__V1__Envelope *env, const char *value, size_t *n)
{
    *n = skonto__v1__envelope__get_packed_size(env);
    uint8_t *wire = malloc(*n);
    assert_non_null(wire);
    assert_int_equal(skonto__v1__envelope__pack(env, wire), *n);
    size_t vl = strlen(value);
    const char *tilde = strchr(value, '~');
    assert_non_null(tilde);
    for (size_t i = 0; i + vl <= *n; i++)
        if (!memcmp(wire + i, value, vl)) {
            wire[i + (size_t)(tilde - value)] = '\0';
            return wire;
        }
    fail_msg("\"%s\" is not in the packed envelope", value);
    return NULL;
}

/* Decodes env with the '~' of `value` made a NUL: rejected with code and
 * exactly msg, and the envelope is still there for the echo. */
static void s_expect_nul(const Skonto__V1__Envelope *env, const char *value, const char *code,
                         const char *msg)
{
    size_t n;
    uint8_t *wire = s_wire_with_nul(env, value, &n);
    Skonto__V1__Envelope *out = NULL;
    sk_err_t err;
    assert_int_equal(sk_event_decode(wire, n, &out, &err), -1);
    assert_string_equal(err.code, code);
    assert_string_equal(err.msg, msg);
    assert_non_null(out);
    sk_event_free(out);
    free(wire);
}

/* Issue 6: protobuf-c cuts a string at its first NUL ("X\0other" arrives as
 * "X"), so a NUL on the wire is rejected in every string field: bad_id in an
 * id, bad_field in every other string, with the field named. */
static void test_nul_in_string(void **state)
{
    fixture_t f;
    s_order(&f);
    f.env.event_id = "X~";
    s_expect_nul(&f.env, "X~", "bad_id", "event_id contains a NUL byte");
    s_order(&f);
    f.env.event_id = "X~other";
    s_expect_nul(&f.env, "X~other", "bad_id", "event_id contains a NUL byte");
    s_order(&f);
    f.env.source = "erp~2";
    s_expect_nul(&f.env, "erp~2", "bad_id", "source contains a NUL byte");
    s_order(&f);
    f.inv.order_id = "O~A";
    s_expect_nul(&f.env, "O~A", "bad_id", "order_id contains a NUL byte");
    s_order(&f);
    f.inv.customer_id = "C-1~x";
    s_expect_nul(&f.env, "C-1~x", "bad_id", "customer_id contains a NUL byte");
    s_order(&f);
    f.inv.salesperson = "S-7~";
    s_expect_nul(&f.env, "S-7~", "bad_id", "salesperson contains a NUL byte");
    s_order(&f);
    f.inv.terms = "2/10,n/30~garbage";
    s_expect_nul(&f.env, "2/10,n/30~garbage", "bad_field", "terms contains a NUL byte");
    s_order(&f);
    f.inv.currency = "CNY~x";
    s_expect_nul(&f.env, "CNY~x", "bad_field", "currency contains a NUL byte");
    s_order(&f);
    f.inv.ship_date = "2026-11-02~";
    s_expect_nul(&f.env, "2026-11-02~", "bad_field", "ship_date contains a NUL byte");
    s_order(&f);
    f.inv.delivery_date = "2026-11-09~tomorrow";
    s_expect_nul(&f.env, "2026-11-09~", "bad_field", "delivery_date contains a NUL byte");

    /* The inline customer of an order is named as validation names it. */
    s_order(&f);
    f.inline_cust.name = "Ac~me";
    f.inv.customer = &f.inline_cust;
    s_expect_nul(&f.env, "Ac~me", "bad_field", "customer.name contains a NUL byte");
    s_order(&f);
    f.inline_cust.customer_id = "C-1~";
    f.inv.customer = &f.inline_cust;
    s_expect_nul(&f.env, "C-1~", "bad_id", "customer.customer_id contains a NUL byte");
    s_order(&f);
    f.inline_cust.terms = "2/10,n/30~x";
    f.inv.customer = &f.inline_cust;
    s_expect_nul(&f.env, "2/10,n/30~x", "bad_field", "customer.terms contains a NUL byte");

    s_customer(&f);
    f.cust.name = "Ac~me";
    s_expect_nul(&f.env, "Ac~me", "bad_field", "name contains a NUL byte");
    s_customer(&f);
    f.cust.email = "ap@example.com~x";
    s_expect_nul(&f.env, "ap@example.com~x", "bad_field", "email contains a NUL byte");
    s_customer(&f);
    f.cust.timezone = "Asia/Shanghai~";
    s_expect_nul(&f.env, "Asia/Shanghai~", "bad_field", "timezone contains a NUL byte");
    s_payment(&f);
    f.pay.payment_id = "P~1";
    s_expect_nul(&f.env, "P~1", "bad_id", "payment_id contains a NUL byte");
    s_payment(&f);
    f.pay.paid_on = "2026-11-10~";
    s_expect_nul(&f.env, "2026-11-10~", "bad_field", "paid_on contains a NUL byte");
    s_credit(&f);
    f.credit.credit_note_id = "CN~1";
    s_expect_nul(&f.env, "CN~1", "bad_id", "credit_note_id contains a NUL byte");
    s_credit(&f);
    f.credit.currency = "CNY~";
    s_expect_nul(&f.env, "CNY~", "bad_field", "currency contains a NUL byte");
    s_cancel(&f);
    f.cancel.reason = "dup~licate";
    s_expect_nul(&f.env, "dup~licate", "bad_field", "reason contains a NUL byte");

    /* The same envelopes without the NUL are fine: the test changes one byte. */
    s_order(&f);
    f.inline_cust.name = "Ac~me";
    f.inv.customer = &f.inline_cust;
    s_expect_ok(&f.env);
}

/* Appends a varint to buf at *n. */
static void s_put_varint(uint8_t *buf, size_t *n, uint64_t v)
{
    do {
        buf[(*n)++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

/* Appends one unknown field of every wire type (numbers 99..102), the
 * length-delimited one holding NUL bytes: nothing to check in it. */
static void s_put_unknown_fields(uint8_t *buf, size_t *n)
{
    s_put_varint(buf, n, 99u << 3 | 0); /* varint */
    s_put_varint(buf, n, 300);
    s_put_varint(buf, n, 100u << 3 | 1); /* fixed64 */
    memset(buf + *n, 0, 8);
    *n += 8;
    s_put_varint(buf, n, 101u << 3 | 5); /* fixed32 */
    memset(buf + *n, 0, 4);
    *n += 4;
    s_put_varint(buf, n, 102u << 3 | 2); /* length-delimited */
    s_put_varint(buf, n, 3);
    memcpy(buf + *n, "a\0b", 3);
    *n += 3;
}

/* Fields from a newer contract are skipped by the NUL check, in the envelope
 * and inside the body, whatever bytes they hold. */
static void test_nul_check_skips_unknown_fields(void **state)
{
    fixture_t f;
    sk_err_t err;
    Skonto__V1__Envelope *env = NULL;

    /* The body by hand: the packed invoice plus unknown fields, as field 11. */
    s_order(&f);
    uint8_t body[1024], wire[2048];
    size_t nb = skonto__v1__invoice__get_packed_size(&f.inv);
    assert_true(nb < 512);
    skonto__v1__invoice__pack(&f.inv, body);
    s_put_unknown_fields(body, &nb);

    f.env.body_case = SKONTO__V1__ENVELOPE__BODY__NOT_SET;
    f.env.order_shipped = NULL;
    size_t n = skonto__v1__envelope__get_packed_size(&f.env);
    assert_true(n < 512);
    skonto__v1__envelope__pack(&f.env, wire);
    s_put_unknown_fields(wire, &n);
    s_put_varint(wire, &n, 11u << 3 | 2);
    s_put_varint(wire, &n, nb);
    memcpy(wire + n, body, nb);
    n += nb;
    s_put_unknown_fields(wire, &n);

    if (sk_event_decode(wire, n, &env, &err) != 0)
        fail_msg("rejected: %s: %s", err.code, err.msg);
    assert_string_equal(sk_event_order_id(env), "SO-1");
    assert_int_equal(sk_event_invoice(env)->amount, 113000);
    sk_event_free(env);
}

/* ---------------------------------------------------------------- UTF-8 */

static void test_bad_utf8(void **state)
{
    fixture_t f;
    /* A lone continuation byte, an overlong '/', a UTF-16 surrogate, a
     * truncated sequence, a code point past U+10FFFF. */
    const char *bad[] = {"E\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe4\xb8", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_order(&f);
        f.env.event_id = (char *)bad[i];
        s_expect(&f.env, "bad_utf8", "event_id is not valid UTF-8");
        assert_false(sk_utf8_valid(bad[i], strlen(bad[i])));
    }
    s_order(&f);
    f.env.source = "erp\xff";
    s_expect(&f.env, "bad_utf8", "source");
    s_customer(&f);
    f.cust.name = "Acme \xe4\xb8";
    s_expect(&f.env, "bad_utf8", "name");
    s_customer(&f);
    f.cust.email = "a\xff@example.com";
    s_expect(&f.env, "bad_utf8", "email");
    s_order(&f);
    f.inv.terms = "2/10,\xc3n/30";
    s_expect(&f.env, "bad_utf8", "terms");
    s_order(&f);
    f.inv.currency = "CN\xc3";
    s_expect(&f.env, "bad_utf8", "currency");
    s_payment(&f);
    f.pay.paid_on = "2026\xe2\x80-01";
    s_expect(&f.env, "bad_utf8", "paid_on");
    s_cancel(&f);
    f.cancel.reason = "\xfe";
    s_expect(&f.env, "bad_utf8", "reason");

    /* Valid multi-byte text passes. */
    assert_true(sk_utf8_valid("Müller 株式会社 😀", strlen("Müller 株式会社 😀")));
}

static void test_sanitize(void **state)
{
    char out[16];
    assert_int_equal(sk_utf8_sanitize(out, sizeof out,
                                      "a\x80"
                                      "b\n",
                                      4),
                     4);
    assert_string_equal(out, "a?b?");
    /* A character that does not fit is dropped whole. */
    sk_utf8_sanitize(out, 4, "ab\xe4\xb8\xad", 5);
    assert_string_equal(out, "ab");
    sk_utf8_sanitize(out, sizeof out, "\xe4\xb8\xad", 3);
    assert_string_equal(out, "\xe4\xb8\xad");
}

/* ---------------------------------------------------------------- fields */

static void test_bad_field(void **state)
{
    fixture_t f;
    char *long_name = s_repeat('n', 201), *long_tz = s_repeat('z', 65);

    s_customer(&f);
    f.cust.name = long_name;
    s_expect(&f.env, "bad_field", "name is 201 bytes");
    s_customer(&f);
    f.cust.name = "Acme\r\nBcc: x@evil";
    s_expect(&f.env, "bad_field", "name contains a control character");
    s_customer(&f);
    f.cust.name = "Acme\xc2\x85"; /* U+0085, a C1 control (NEL) */
    s_expect(&f.env, "bad_field", "name contains a control character");

    const char *emails[] = {"no-at-sign",      "a@b@example.com",           "@example.com", "ap@",
                            "a p@example.com", "ap@example.com,x@evil.com", "ap@.com"};
    for (size_t i = 0; i < sizeof emails / sizeof emails[0]; i++) {
        s_customer(&f);
        f.cust.email = (char *)emails[i];
        s_expect(&f.env, "bad_field", "email");
    }

    s_customer(&f);
    f.cust.timezone = "Asia/Shang hai";
    s_expect(&f.env, "bad_field", "timezone");
    s_customer(&f);
    f.cust.timezone = long_tz;
    s_expect(&f.env, "bad_field", "timezone is 65 bytes");
    s_customer(&f);
    f.cust.locale = "zh-\xe4\xb8\xad";
    s_expect(&f.env, "bad_field", "locale");
    s_customer(&f);
    f.cust.statement = (Skonto__V1__StatementFrequency)7;
    s_expect(&f.env, "bad_field", "statement 7");
    s_customer(&f);
    f.cust.reminders = (Skonto__V1__Reminders)3;
    s_expect(&f.env, "bad_field", "reminders 3 is not on (1) or off (2)");
    s_customer(&f);
    f.cust.reminders = (Skonto__V1__Reminders)-1;
    s_expect(&f.env, "bad_field", "reminders -1");
    s_cancel(&f);
    f.cancel.reason = long_name;
    s_expect(&f.env, "bad_field", "reason is 201 bytes");

    /* An inline customer must be the order's customer, and is validated too. */
    s_order(&f);
    f.inline_cust.customer_id = "C-2";
    f.inv.customer = &f.inline_cust;
    s_expect(&f.env, "bad_field", "not the order's customer");
    s_order(&f);
    f.inline_cust.email = "nobody";
    f.inv.customer = &f.inline_cust;
    s_expect(&f.env, "bad_field", "inline customer: email");
    free(long_name);
    free(long_tz);
}

/* ---------------------------------------------------------------- money */

static void test_bad_amount(void **state)
{
    fixture_t f;
    s_order(&f);
    f.inv.amount = 0;
    s_expect(&f.env, "bad_amount", "amount 0.00");
    s_order(&f);
    f.inv.amount = -100;
    s_expect(&f.env, "bad_amount", "amount -1.00");
    s_order(&f);
    f.inv.amount = SK_MONEY_MAX + 1;
    s_expect(&f.env, "bad_amount", "amount");
    s_order(&f);
    f.inv.tax = -1;
    s_expect(&f.env, "bad_amount", "tax -0.01");
    s_order(&f);
    f.inv.tax = f.inv.amount;
    s_expect(&f.env, "bad_amount", "tax 1130.00");
    s_payment(&f);
    f.pay.amount = 0;
    s_expect(&f.env, "bad_amount", "amount must be greater than 0");
    s_credit(&f);
    f.credit.amount = 0;
    s_expect(&f.env, "bad_amount", "amount must be greater than 0");
    s_credit(&f);
    f.credit.amount = -5;
    s_expect(&f.env, "bad_amount", "-5 minor units");
}

/* Issue 6: a person reads the amounts as the ERP wrote them, in the
 * currency's decimals (CNY 2, JPY 0), never in minor units, except where the
 * event names no currency and so its decimals are not known yet. */
static void test_amounts_in_currency_decimals(void **state)
{
    fixture_t f;
    s_order(&f);
    f.inv.tax = f.inv.amount;
    s_expect_msg(&f.env, "bad_amount", "tax 1130.00 must be less than the amount 1130.00");
    s_order(&f);
    f.inv.tax = f.inv.amount + 1;
    s_expect_msg(&f.env, "bad_amount", "tax 1130.01 must be less than the amount 1130.00");
    s_order(&f);
    f.inv.tax = -1;
    s_expect_msg(&f.env, "bad_amount", "tax -0.01 must not be negative");
    s_order(&f);
    f.inv.amount = 0;
    s_expect_msg(&f.env, "bad_amount", "amount 0.00 must be greater than 0");
    s_order(&f);
    f.inv.amount = SK_MONEY_MAX + 1;
    s_expect_msg(&f.env, "bad_amount",
                 "amount 10000000000000.01 is over the limit 10000000000000.00");

    s_order(&f);
    f.inv.currency = "JPY";
    f.inv.amount = 500;
    f.inv.tax = 500;
    s_expect_msg(&f.env, "bad_amount", "tax 500 must be less than the amount 500");
    f.inv.amount = SK_MONEY_MAX + 1;
    s_expect_msg(&f.env, "bad_amount",
                 "amount 1000000000000001 is over the limit 1000000000000000");

    /* A payment that names its currency is shown in it ... */
    s_payment(&f);
    f.pay.currency = "JPY";
    f.pay.amount = -5;
    s_expect_msg(&f.env, "bad_amount", "amount -5 must be greater than 0");
    s_credit(&f);
    f.credit.currency = "CNY";
    f.credit.amount = -5;
    s_expect_msg(&f.env, "bad_amount", "amount -0.05 must be greater than 0");
    /* ... one that does not is plainly in minor units. */
    s_payment(&f);
    f.pay.amount = 0;
    s_expect_msg(&f.env, "bad_amount", "amount must be greater than 0 (it is 0 minor units)");
    s_credit(&f);
    f.credit.amount = INT64_MAX;
    s_expect_msg(&f.env, "bad_amount",
                 "amount 9223372036854775807 minor units is over the limit of "
                 "1000000000000000 minor units");
}

static void test_bad_currency(void **state)
{
    fixture_t f;
    const char *bad[] = {"XYZ", "cny", "CNYY", "CN"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_order(&f);
        f.inv.currency = (char *)bad[i];
        s_expect(&f.env, "bad_currency", bad[i]);
    }
    s_order(&f);
    f.inv.currency = "";
    s_expect(&f.env, "bad_currency", "currency is missing");
    s_payment(&f);
    f.pay.currency = "ABC";
    s_expect(&f.env, "bad_currency", "\"ABC\" is not a known ISO 4217 code");
}

/* ---------------------------------------------------------------- dates */

static void test_bad_date(void **state)
{
    fixture_t f;
    s_order(&f);
    f.inv.ship_date = "2026-02-30";
    s_expect(&f.env, "bad_date", "ship_date");
    s_order(&f);
    f.inv.ship_date = "2026-2-3";
    s_expect(&f.env, "bad_date", "ship_date");
    s_order(&f);
    f.inv.ship_date = "";
    s_expect(&f.env, "bad_date", "ship_date is missing");
    s_order(&f);
    f.inv.ship_date = "2026-11-02T00:00";
    s_expect(&f.env, "bad_date", "ship_date");
    s_order(&f);
    f.inv.invoice_date = "2026-13-01";
    s_expect(&f.env, "bad_date", "invoice_date");
    s_order(&f);
    f.inv.delivery_date = "tomorrow";
    s_expect(&f.env, "bad_date", "delivery_date");
    s_payment(&f);
    f.pay.paid_on = "";
    s_expect(&f.env, "bad_date", "paid_on is missing");
    s_payment(&f);
    f.pay.paid_on = "2025-02-29"; /* not a leap year */
    s_expect(&f.env, "bad_date", "paid_on");
    s_credit(&f);
    f.credit.issued_on = "05.11.2026";
    s_expect(&f.env, "bad_date", "issued_on");
}

/* Issue 8: a customer's zone must be one the system's tz database has, or
 * its reminders could never be timed; empty means SKONTO_DEFAULT_TZ. */
static void test_bad_timezone(void **state)
{
    (void)state;
    fixture_t f;
    const char *bad[] = {"Asia/Shangai", "Mars/Olympus", "+08:00", "ABC3", "right/UTC",
                         "../../etc/passwd", "asia/shanghai"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_customer(&f);
        f.cust.timezone = (char *)bad[i];
        s_expect(&f.env, "bad_timezone", bad[i]);
    }
    s_customer(&f);
    f.cust.timezone = "Asia/Shangai";
    s_expect_msg(&f.env, "bad_timezone",
                 "timezone \"Asia/Shangai\" is not a zone of the system's tz database (an IANA "
                 "id such as Europe/Berlin)");
    /* an order's inline customer is checked the same way */
    s_order(&f);
    f.inline_cust.customer_id = "";
    f.inline_cust.timezone = "Europe/Berlim";
    f.inv.customer = &f.inline_cust;
    s_expect(&f.env, "bad_timezone", "Europe/Berlim");
    const char *good[] = {"", "UTC", "America/New_York", "America/Ciudad_Juarez",
                          "America/Argentina/Buenos_Aires", "Etc/GMT-14"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        s_customer(&f);
        f.cust.timezone = (char *)good[i];
        s_expect_ok(&f.env);
    }
}

/* ---------------------------------------------------------------- terms */

static void test_bad_terms(void **state)
{
    fixture_t f;
    sk_err_t err;

    s_order(&f);
    f.inv.terms = "2/10";
    s_expect(&f.env, "bad_terms", "terms");
    s_order(&f);
    f.inv.terms = "1/10,2/20,n/30"; /* rates must decrease */
    s_expect(&f.env, "bad_terms", "terms");
    s_customer(&f);
    f.cust.terms = "bogus";
    s_expect(&f.env, "bad_terms", "terms");

    /* "2/10,n/d15" parses, and works for an order shipped on the 1st (tier
     * ends the 11th, net the 15th), but not for one shipped on the 10th: its
     * tier would end on the 20th, after the net day. The trial schedule on
     * the ship date catches that at ingest. */
    s_order(&f);
    f.inv.terms = "2/10,n/d15";
    f.inv.ship_date = "2026-01-01";
    s_expect_ok(&f.env);
    f.inv.ship_date = "2026-01-10";
    s_expect(&f.env, "bad_terms", "terms");

    /* An inline customer's terms apply when the order has none. */
    s_order(&f);
    f.inv.terms = "";
    f.inline_cust.terms = "2/10,n/d15";
    f.inv.customer = &f.inline_cust;
    f.inv.ship_date = "2026-01-10";
    s_expect(&f.env, "bad_terms", "inline customer terms");

    /* A stored customer's terms, checked by ingest with sk_event_check_terms. */
    s_order(&f);
    f.inv.ship_date = "2026-01-10";
    assert_int_equal(sk_event_check_terms("2/10,n/d15", &f.inv, "customer C-1's terms", &err), -1);
    assert_string_equal(err.code, "bad_terms");
    assert_non_null(strstr(err.msg, "customer C-1's terms"));
    assert_int_equal(sk_event_check_terms("2/10,n/30", &f.inv, "customer C-1's terms", &err), 0);
    assert_int_equal(sk_event_check_terms("", &f.inv, "customer C-1's terms", &err), -1);
    assert_string_equal(err.code, "bad_terms");
}

/* Peer text quoted in a message is cleaned: no control characters, valid UTF-8. */
static void test_messages_are_clean(void **state)
{
    fixture_t f;
    sk_err_t err;
    s_customer(&f);
    f.cust.email = "\xe4\xb8\xad\xe6\x96\x87 x@y";
    assert_int_equal(sk_event_validate(&f.env, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_true(sk_utf8_valid(err.msg, strlen(err.msg)));
    assert_non_null(strstr(err.msg, "\xe4\xb8\xad\xe6\x96\x87"));

    char *long_cur = s_repeat('Q', 300);
    s_order(&f);
    f.inv.currency = long_cur;
    assert_int_equal(sk_event_validate(&f.env, &err), -1);
    assert_string_equal(err.code, "bad_currency");
    assert_true(strlen(err.msg) < 120); /* the value is shortened */
    free(long_cur);
}

/* sk_event_raw_id: the id's bytes exactly as sent, NUL and invalid UTF-8
 * included, the last one on the wire winning; nothing from bytes without one. */
static void test_raw_id(void **state)
{
    (void)state;
    /* field 2 (source) "s", field 1 (event_id) "X\0y\xff", field 3 (sequence) 7 */
    const uint8_t env[] = {0x12, 1, 's', 0x0a, 4, 'X', 0, 'y', 0xff, 0x18, 7};
    const uint8_t *id = NULL;
    size_t n = 0;
    assert_true(sk_event_raw_id(env, sizeof env, &id, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(id, "X\0y\xff", 4);
    /* two event_id fields: the last one counts, as it does for protobuf */
    const uint8_t twice[] = {0x0a, 1, 'A', 0x0a, 2, 'B', 'C'};
    assert_true(sk_event_raw_id(twice, sizeof twice, &id, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(id, "BC", 2);
    /* a length past the end, or no event_id at all */
    const uint8_t cut[] = {0x0a, 9, 'X'};
    assert_false(sk_event_raw_id(cut, sizeof cut, &id, &n));
    const uint8_t none[] = {0x18, 7};
    assert_false(sk_event_raw_id(none, sizeof none, &id, &n));
    assert_false(sk_event_raw_id(none, 0, &id, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_events),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_bad_envelope),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_bad_id),
        cmocka_unit_test(test_id_counts_characters),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_nul_check_skips_unknown_fields),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_bad_field),
        cmocka_unit_test(test_bad_amount),
        cmocka_unit_test(test_amounts_in_currency_decimals),
        cmocka_unit_test(test_bad_currency),
        cmocka_unit_test(test_bad_date),
        cmocka_unit_test(test_bad_timezone),
        cmocka_unit_test(test_bad_terms),
        cmocka_unit_test(test_messages_are_clean),
        cmocka_unit_test(test_raw_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
