/* event — see event.h. Every check names the field and, where it helps, the
 * offending value (sanitized and shortened, so a hostile peer cannot put
 * control characters or invalid UTF-8 into an Ack, a log line or JSON). */
#include "event.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "invoice_rules.h"
#include "money.h"
#include "schedule.h"
#include "sk_tz.h"
#include "terms.h"

const char *const sk_event_reasons[SK_REASONS_N] = {
    SK_REASON_BAD_ENVELOPE,      SK_REASON_BAD_ID,         SK_REASON_BAD_UTF8,
    SK_REASON_BAD_FIELD,         SK_REASON_BAD_AMOUNT,     SK_REASON_BAD_CURRENCY,
    SK_REASON_BAD_DATE,          SK_REASON_BAD_TERMS,      SK_REASON_UNKNOWN_CUSTOMER,
    SK_REASON_UNKNOWN_ORDER,     SK_REASON_ORDER_CUSTOMER_MISMATCH,
    SK_REASON_CURRENCY_MISMATCH, SK_REASON_TOO_LARGE,      SK_REASON_STALE_VERSION,
    SK_REASON_BAD_TIMEZONE,      SK_REASON_ERP_ONLY};

#define S_QUOTE_MAX 48 /* bytes of a peer's value quoted in a message */

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t s_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and code points past Unicode are invalid. */
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

size_t sk_utf8_char(const char *s, size_t n, uint32_t *cp)
{
    uint32_t v = 0;
    size_t l = s_utf8_seq((const unsigned char *)s, n, &v);
    if (cp)
        *cp = v;
    return l;
}

static bool s_is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

bool sk_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t l = s_utf8_seq(p + i, len - i, &cp);
        if (!l)
            return false;
        i += l;
    }
    return true;
}

size_t sk_utf8_sanitize(char *dst, size_t n, const char *src, size_t len)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t i = 0, o = 0;
    if (n == 0)
        return 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t l = s_utf8_seq(p + i, len - i, &cp);
        if (!l || s_is_control(cp)) {
            if (o + 1 >= n)
                break;
            dst[o++] = '?';
            i += l ? l : 1;
            continue;
        }
        if (o + l >= n)
            break;
        memcpy(dst + o, p + i, l);
        o += l;
        i += l;
    }
    dst[o] = '\0';
    return o;
}

/* Quotes a peer's string for a message: sanitized, at most S_QUOTE_MAX bytes. */
static const char *s_quote(char buf[S_QUOTE_MAX + 4], const char *s)
{
    size_t len = strlen(s);
    size_t o = sk_utf8_sanitize(buf, S_QUOTE_MAX + 1, s, len);
    if (o < len && o + 3 < S_QUOTE_MAX + 4)
        memcpy(buf + o, "...", 4);
    return buf;
}

/* Has a control character (call only on valid UTF-8). */
static bool s_has_control(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t l = s_utf8_seq(p + i, len - i, &cp);
        if (!l || s_is_control(cp))
            return true;
        i += l;
    }
    return false;
}

/* ---------------------------------------------------------------- field checks */

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static int s_check_utf8(const char *field, const char *s, size_t len, sk_err_t *err)
{
    if (!sk_utf8_valid(s, len))
        return sk_err_set(err, SK_REASON_BAD_UTF8, "%s is not valid UTF-8", field);
    return 0;
}

int sk_event_check_id(const char *field, const char *s, size_t len, bool required, sk_err_t *err)
{
    if (len == 0)
        return required ? sk_err_set(err, SK_REASON_BAD_ID, "%s is empty", field) : 0;
    /* The byte cap first: it bounds the scans below. */
    if (len > SK_EVENT_ID_MAX)
        return sk_err_set(err, SK_REASON_BAD_ID,
                          "%s is %zu bytes long (at most %d characters and %d bytes)", field, len,
                          SK_EVENT_ID_MAX_CHARS, SK_EVENT_ID_MAX);
    if (memchr(s, '\0', len))
        return sk_err_set(err, SK_REASON_BAD_ID, "%s contains a NUL byte", field);
    if (s_check_utf8(field, s, len, err))
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    bool control = false;
    for (size_t i = 0; i < len; chars++) {
        uint32_t cp = 0;
        size_t l = s_utf8_seq(p + i, len - i, &cp); /* > 0: the bytes are valid UTF-8 */
        control |= s_is_control(cp);
        i += l;
    }
    if (chars > SK_EVENT_ID_MAX_CHARS)
        return sk_err_set(err, SK_REASON_BAD_ID,
                          "%s is %zu characters long (at most %d characters and %d bytes)", field,
                          chars, SK_EVENT_ID_MAX_CHARS, SK_EVENT_ID_MAX);
    if (control)
        return sk_err_set(err, SK_REASON_BAD_ID, "%s contains a control character", field);
    return 0;
}

static int s_check_id(const char *field, const char *s, bool required, sk_err_t *err)
{
    s = s_str(s);
    return sk_event_check_id(field, s, strlen(s), required, err);
}

/* Free text (names, reasons): optional, bounded, one line. */
static int s_check_text(const char *field, const char *s, size_t max, sk_err_t *err)
{
    s = s_str(s);
    size_t len = strlen(s);
    if (s_check_utf8(field, s, len, err))
        return -1;
    if (len > max)
        return sk_err_set(err, SK_REASON_BAD_FIELD, "%s is %zu bytes long (at most %zu)", field,
                          len, max);
    if (s_has_control(s, len))
        return sk_err_set(err, SK_REASON_BAD_FIELD, "%s contains a control character", field);
    return 0;
}

/* Timezone, locale: optional printable ASCII without spaces. */
static int s_check_token(const char *field, const char *s, sk_err_t *err)
{
    s = s_str(s);
    size_t len = strlen(s);
    if (s_check_utf8(field, s, len, err))
        return -1;
    if (len > SK_EVENT_TZ_MAX)
        return sk_err_set(err, SK_REASON_BAD_FIELD, "%s is %zu bytes long (at most %d)", field, len,
                          SK_EVENT_TZ_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7F) {
            char q[S_QUOTE_MAX + 4];
            return sk_err_set(err, SK_REASON_BAD_FIELD,
                              "%s \"%s\" must be printable ASCII without spaces", field,
                              s_quote(q, s));
        }
    }
    return 0;
}

static int s_check_email(const char *field, const char *s, sk_err_t *err)
{
    if (s_check_text(field, s, SK_EVENT_NAME_MAX, err))
        return -1;
    s = s_str(s);
    if (!*s)
        return 0;
    char q[S_QUOTE_MAX + 4];
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@') || at == s || at[1] == '\0')
        return sk_err_set(
            err, SK_REASON_BAD_FIELD,
            "%s \"%s\" is not an address (want exactly one '@' between a name and a domain)", field,
            s_quote(q, s));
    /* No spaces, and none of the characters that would smuggle in a second
     * recipient or a display name when the address goes into a mail header. */
    if (strpbrk(s, " ,;<>\"()[]\\"))
        return sk_err_set(err, SK_REASON_BAD_FIELD,
                          "%s \"%s\" is not an address (spaces or , ; < > \" ( ) [ ] \\)", field,
                          s_quote(q, s));
    if (at[1] == '.' || s[strlen(s) - 1] == '.')
        return sk_err_set(err, SK_REASON_BAD_FIELD, "%s \"%s\" has no plausible domain", field,
                          s_quote(q, s));
    return 0;
}

static int s_check_date(const char *field, const char *s, bool required, sk_day_t *out,
                        sk_err_t *err)
{
    s = s_str(s);
    size_t len = strlen(s);
    if (s_check_utf8(field, s, len, err))
        return -1;
    if (len == 0) {
        if (required)
            return sk_err_set(err, SK_REASON_BAD_DATE, "%s is missing (want YYYY-MM-DD)", field);
        return 0;
    }
    char q[S_QUOTE_MAX + 4];
    if (len > 10 || s_has_control(s, len))
        return sk_err_set(err, SK_REASON_BAD_DATE, "%s \"%s\" is not a date (want YYYY-MM-DD)",
                          field, s_quote(q, s));
    sk_day_t day;
    if (sk_date_parse(s, &day, err)) {
        if (err)
            snprintf(err->code, sizeof err->code, "%s", SK_REASON_BAD_DATE);
        sk_err_prefix(err, field);
        return -1;
    }
    if (out)
        *out = day;
    return 0;
}

static int s_check_currency(const char *field, const char *s, bool required,
                            const sk_currency_t **out, sk_err_t *err)
{
    s = s_str(s);
    size_t len = strlen(s);
    if (s_check_utf8(field, s, len, err))
        return -1;
    if (len == 0) {
        if (required)
            return sk_err_set(err, SK_REASON_BAD_CURRENCY,
                              "%s is missing (want an ISO 4217 code such as CNY)", field);
        return 0;
    }
    const sk_currency_t *cur = len == 3 ? sk_currency_find(s) : NULL;
    if (!cur) {
        char q[S_QUOTE_MAX + 4];
        return sk_err_set(err, SK_REASON_BAD_CURRENCY, "%s \"%s\" is not a known ISO 4217 code",
                          field, s_quote(q, s));
    }
    if (out)
        *out = cur;
    return 0;
}

/* An amount in 1..SK_MONEY_MAX. cur: the event's currency, so the message
 * shows the amount as the ERP wrote it ("1130.00"); NULL when the event names
 * none (a payment or credit note takes the invoice's, which only the discount
 * worker knows), and then the message says minor units rather than guess. */
static int s_check_amount(const char *field, int64_t v, const sk_currency_t *cur, sk_err_t *err)
{
    if (v >= 1 && v <= SK_MONEY_MAX)
        return 0;
    if (cur) {
        char a[32], max[32];
        sk_money_format(v, cur, a, sizeof a);
        if (v < 1)
            return sk_err_set(err, SK_REASON_BAD_AMOUNT, "%s %s must be greater than 0", field, a);
        return sk_err_set(err, SK_REASON_BAD_AMOUNT, "%s %s is over the limit %s", field, a,
                          sk_money_format(SK_MONEY_MAX, cur, max, sizeof max));
    }
    if (v < 1)
        return sk_err_set(err, SK_REASON_BAD_AMOUNT,
                          "%s must be greater than 0 (it is %" PRId64 " minor units)", field, v);
    return sk_err_set(err, SK_REASON_BAD_AMOUNT,
                      "%s %" PRId64 " minor units is over the limit of %" PRId64 " minor units",
                      field, v, SK_MONEY_MAX);
}

/* Tax included in a valid amount: 0 <= tax < amount. */
static int s_check_tax(int64_t tax, int64_t amount, const sk_currency_t *cur, sk_err_t *err)
{
    if (tax >= 0 && tax < amount)
        return 0;
    char t[32], a[32];
    sk_money_format(tax, cur, t, sizeof t);
    if (tax < 0)
        return sk_err_set(err, SK_REASON_BAD_AMOUNT, "tax %s must not be negative", t);
    return sk_err_set(err, SK_REASON_BAD_AMOUNT, "tax %s must be less than the amount %s", t,
                      sk_money_format(amount, cur, a, sizeof a));
}

static int s_parse_terms(const char *field, const char *s, sk_terms_t *out, sk_err_t *err)
{
    size_t len = strlen(s);
    if (s_check_utf8(field, s, len, err))
        return -1;
    if (len >= SK_TERMS_MAX_LEN)
        return sk_err_set(err, SK_REASON_BAD_TERMS, "%s is %zu bytes long (at most %d)", field, len,
                          SK_TERMS_MAX_LEN - 1);
    if (s_has_control(s, len))
        return sk_err_set(err, SK_REASON_BAD_TERMS, "%s contains a control character", field);
    if (sk_terms_parse(s, out, err)) {
        if (err)
            snprintf(err->code, sizeof err->code, "%s", SK_REASON_BAD_TERMS);
        /* the parser's message already starts with `terms "..."` */
        if (err && strncmp(err->msg, field, strlen(field)) != 0)
            sk_err_prefix(err, field);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- bodies */

/* inline_of: the order's customer id when this is an order's inline customer
 * (whose customer_id may be empty, meaning the order's), else NULL. */
static int s_check_customer(const Skonto__V1__CustomerUpsert *c, const char *inline_of,
                            sk_err_t *err)
{
    const char *cid = s_str(c->customer_id);
    if (inline_of) {
        if (s_check_id("customer.customer_id", cid, false, err))
            return -1;
        if (*cid && strcmp(cid, inline_of) != 0) {
            char q1[S_QUOTE_MAX + 4], q2[S_QUOTE_MAX + 4];
            return sk_err_set(err, SK_REASON_BAD_FIELD,
                              "inline customer \"%s\" is not the order's customer \"%s\"",
                              s_quote(q1, cid), s_quote(q2, inline_of));
        }
    } else if (s_check_id("customer_id", cid, true, err)) {
        return -1;
    }
    if (s_check_text("name", c->name, SK_EVENT_NAME_MAX, err) ||
        s_check_email("email", c->email, err) || s_check_token("timezone", c->timezone, err) ||
        s_check_token("locale", c->locale, err))
        return -1;
    /* Empty = the default zone (SKONTO_DEFAULT_TZ); else a zone the system's
     * tz database has, or reminders could never be timed. */
    const char *tz = s_str(c->timezone);
    if (*tz && !sk_tz_known(tz)) {
        char q[S_QUOTE_MAX + 4];
        return sk_err_set(err, SK_REASON_BAD_TIMEZONE,
                          "timezone \"%s\" is not a zone of the system's tz database (an IANA "
                          "id such as Europe/Berlin)",
                          s_quote(q, tz));
    }
    if ((int)c->statement < SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_UNSPECIFIED ||
        (int)c->statement > SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_NONE)
        return sk_err_set(err, SK_REASON_BAD_FIELD,
                          "statement %d is not weekly (1), daily (2) or none (3)",
                          (int)c->statement);
    if ((int)c->reminders < SKONTO__V1__REMINDERS__REMINDERS_UNSPECIFIED ||
        (int)c->reminders > SKONTO__V1__REMINDERS__REMINDERS_OFF)
        return sk_err_set(err, SK_REASON_BAD_FIELD, "reminders %d is not on (1) or off (2)",
                          (int)c->reminders);
    const char *terms = s_str(c->terms);
    sk_terms_t t;
    if (*terms && s_parse_terms("terms", terms, &t, err))
        return -1;
    return 0;
}

/* Parses terms and computes a trial schedule on the invoice's ship date: terms
 * whose windows collapse for this baseline (e.g. a day-of-month tier after the
 * net day) are rejected now rather than failing in the discount worker. */
static int s_trial_schedule(const char *field, const char *terms, const Skonto__V1__Invoice *inv,
                            sk_err_t *err)
{
    sk_terms_t t;
    if (s_parse_terms(field, terms, &t, err))
        return -1;
    const sk_currency_t *cur = sk_currency_find(s_str(inv->currency));
    sk_day_t ship;
    if (!cur || sk_date_parse(s_str(inv->ship_date), &ship, NULL))
        return sk_err_set(err, SK_REASON_BAD_FIELD, "invoice must be validated before its terms");
    sk_schedule_t sched;
    if (sk_schedule_compute(&t, ship, inv->amount, inv->tax, cur, NULL, &sched, err)) {
        if (err && !err->code[0])
            snprintf(err->code, sizeof err->code, "%s", SK_REASON_BAD_TERMS);
        sk_err_prefix(err, field);
        return -1;
    }
    return 0;
}

static int s_check_invoice(const Skonto__V1__Invoice *inv, sk_err_t *err)
{
    const sk_currency_t *cur = NULL;
    if (s_check_id("order_id", inv->order_id, true, err) ||
        s_check_id("customer_id", inv->customer_id, true, err) ||
        s_check_id("salesperson", inv->salesperson, false, err) ||
        s_check_currency("currency", inv->currency, true, &cur, err) ||
        s_check_amount("amount", inv->amount, cur, err) ||
        s_check_tax(inv->tax, inv->amount, cur, err))
        return -1;
    if (s_check_date("ship_date", inv->ship_date, true, NULL, err) ||
        s_check_date("invoice_date", inv->invoice_date, false, NULL, err) ||
        s_check_date("delivery_date", inv->delivery_date, false, NULL, err))
        return -1;
    if (inv->customer && s_check_customer(inv->customer, s_str(inv->customer_id), err)) {
        sk_err_prefix(err, "inline customer");
        return -1;
    }
    /* The terms that will apply: the order's own, else an inline customer's.
     * Without either, the stored customer's terms apply and ingest checks them. */
    sk_terms_source_t src;
    const char *terms = sk_terms_that_apply(inv->terms, inv->customer ? inv->customer->terms : NULL,
                                            NULL, &src);
    const char *field = src == SK_TERMS_FROM_INLINE_CUSTOMER ? "inline customer terms" : "terms";
    if (terms && s_trial_schedule(field, terms, inv, err))
        return -1;
    return 0;
}

static int s_check_payment(const Skonto__V1__PaymentReceived *p, sk_err_t *err)
{
    const sk_currency_t *cur = NULL; /* stays NULL when the payment names no currency */
    if (s_check_id("order_id", p->order_id, true, err) ||
        s_check_date("paid_on", p->paid_on, true, NULL, err) ||
        s_check_currency("currency", p->currency, false, &cur, err) ||
        s_check_amount("amount", p->amount, cur, err) ||
        s_check_id("payment_id", p->payment_id, false, err))
        return -1;
    return 0;
}

static int s_check_credit(const Skonto__V1__CreditNote *c, sk_err_t *err)
{
    const sk_currency_t *cur = NULL;
    if (s_check_id("order_id", c->order_id, true, err) ||
        s_check_date("issued_on", c->issued_on, true, NULL, err) ||
        s_check_currency("currency", c->currency, false, &cur, err) ||
        s_check_amount("amount", c->amount, cur, err) ||
        s_check_id("credit_note_id", c->credit_note_id, false, err))
        return -1;
    return 0;
}

static int s_check_cancel(const Skonto__V1__OrderCancelled *c, sk_err_t *err)
{
    if (s_check_id("order_id", c->order_id, true, err) ||
        s_check_text("reason", c->reason, SK_EVENT_NAME_MAX, err))
        return -1;
    return 0;
}

static int s_validate(const Skonto__V1__Envelope *env, sk_err_t *err)
{
    if (!env)
        return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "no envelope");
    if (s_check_id("event_id", env->event_id, true, err) ||
        s_check_id("source", env->source, true, err))
        return -1;
    if (env->occurred_at_ms < 0)
        return sk_err_set(err, SK_REASON_BAD_FIELD, "occurred_at_ms %" PRId64 " is negative",
                          env->occurred_at_ms);
    switch (env->body_case) {
    case SKONTO__V1__ENVELOPE__BODY_CUSTOMER:
        if (!env->customer)
            break;
        return s_check_customer(env->customer, NULL, err);
    case SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED:
    case SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED:
        if (!sk_event_invoice(env))
            break;
        return s_check_invoice(sk_event_invoice(env), err);
    case SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED:
        if (!env->payment_received)
            break;
        return s_check_payment(env->payment_received, err);
    case SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE:
        if (!env->credit_note)
            break;
        return s_check_credit(env->credit_note, err);
    case SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED:
        if (!env->order_cancelled)
            break;
        return s_check_cancel(env->order_cancelled, err);
    default:
        break;
    }
    return sk_err_set(err, SK_REASON_BAD_ENVELOPE,
                      "no event body (want one of customer, order_shipped, invoice_issued, "
                      "payment_received, credit_note, order_cancelled)");
}

/* Messages may quote text that common/ formatted and vsnprintf truncated in
 * the middle of a UTF-8 sequence: make the final line clean. */
static void s_clean_msg(sk_err_t *err)
{
    if (!err)
        return;
    char tmp[sizeof err->msg];
    sk_utf8_sanitize(tmp, sizeof tmp, err->msg, strnlen(err->msg, sizeof err->msg - 1));
    memcpy(err->msg, tmp, sizeof tmp);
    if (!err->code[0])
        snprintf(err->code, sizeof err->code, "%s", SK_REASON_BAD_FIELD);
}

int sk_event_validate(const Skonto__V1__Envelope *env, sk_err_t *err)
{
    sk_err_clear(err);
    if (s_validate(env, err)) {
        s_clean_msg(err);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- NUL bytes on the wire */

#define S_WIRE_DEPTH 8 /* Envelope > body > inline customer is 3; the schema has no cycles */

static const char *const s_id_fields[] = {"event_id",    "source",     "customer_id",   "order_id",
                                          "salesperson", "payment_id", "credit_note_id"};

static bool s_is_id_field(const char *name)
{
    for (size_t i = 0; i < sizeof s_id_fields / sizeof s_id_fields[0]; i++)
        if (!strcmp(name, s_id_fields[i]))
            return true;
    return false;
}

/* Reads a varint at p[*i..len); -1 if it runs past len or over 10 bytes. */
static int s_wire_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && *i < len; shift += 7) {
        uint8_t b = p[(*i)++];
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Why this exists: protobuf-c 1.4 hands a string field over as a NUL-terminated
 * copy and has no API for its wire length, so "X\0other" arrives as "X" and
 * every check above, and every key and hash field ingest writes, sees only the
 * part before the NUL: two different ids become one. So the bytes protobuf-c
 * already accepted are walked again with its own descriptors, and any string
 * field (known to the descriptor; unknown fields are skipped) with a NUL byte
 * is rejected: bad_id for an id, bad_field for every other string. Every read
 * is bounded by len, whatever a length prefix says. prefix goes before the
 * field's name in the message: "" in the envelope and its body, "customer."
 * in an order's inline customer. 0, or -1 with err set (bad_envelope if the
 * bytes do not parse, which protobuf-c should have caught). */
static int s_check_wire_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                            const char *prefix, int depth, sk_err_t *err)
{
    size_t i = 0;
    while (i < len) {
        uint64_t key, n;
        if (s_wire_varint(p, len, &i, &key))
            return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "truncated field key");
        const ProtobufCFieldDescriptor *f =
            (key >> 3) != 0 && (key >> 3) <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                : NULL;
        switch (key & 7) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (s_wire_varint(p, len, &i, &n))
                return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "truncated varint");
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            n = (key & 7) == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
            if (n > len - i)
                return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "truncated fixed-size field");
            i += n;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
            if (s_wire_varint(p, len, &i, &n) || n > len - i)
                return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "length past the end");
            if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p + i, '\0', n))
                return sk_err_set(err,
                                  s_is_id_field(f->name) ? SK_REASON_BAD_ID : SK_REASON_BAD_FIELD,
                                  "%s%s contains a NUL byte", prefix, f->name);
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth + 1 >= S_WIRE_DEPTH)
                    return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "messages nested too deep");
                /* The envelope's body fields are named plainly, as validation
                 * names them; deeper messages by their field ("customer."). */
                char sub[64] = "";
                if (depth > 0)
                    snprintf(sub, sizeof sub, "%s%s.", prefix, f->name);
                if (s_check_wire_nul(f->descriptor, p + i, (size_t)n, sub, depth + 1, err))
                    return -1;
            }
            i += (size_t)n;
            break;
        default: /* groups: protobuf-c does not support them */
            return sk_err_set(err, SK_REASON_BAD_ENVELOPE, "unsupported wire type %u",
                              (unsigned)(key & 7));
        }
    }
    return 0;
}

bool sk_event_raw_id(const void *data, size_t len, const uint8_t **id, size_t *idlen)
{
    const uint8_t *p = data;
    size_t i = 0;
    bool found = false;
    while (i < len) {
        uint64_t key, n = 0;
        if (s_wire_varint(p, len, &i, &key))
            return found;
        switch (key & 7) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (s_wire_varint(p, len, &i, &n))
                return found;
            n = 0;
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            n = 8;
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            n = 4;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
            if (s_wire_varint(p, len, &i, &n))
                return found;
            break;
        default:
            return found;
        }
        if (n > len - i)
            return found;
        /* Field 1 of an Envelope is event_id; the last one on the wire wins. */
        if ((key >> 3) == 1 && (key & 7) == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
            *id = p + i;
            *idlen = (size_t)n;
            found = true;
        }
        i += (size_t)n;
    }
    return found;
}

/* ---- the block a decoded envelope lives in
 *
 * protobuf-c allocates the message, each sub-message, string and array on
 * its own (a dozen mallocs for an order, and as many frees); through this
 * allocator they are carved from one block sized for the wire bytes, and
 * what does not fit is a malloc of its own kept on the block's list. The
 * first thing protobuf-c allocates is the message itself, so the envelope
 * sits at the start of the block's memory and sk_event_free finds the block
 * from it. */
typedef struct s_spill {
    struct s_spill *next;
    max_align_t mem[]; /* the allocation */
} s_spill_t;

typedef struct {
    size_t used, cap;
    s_spill_t *spill;
    max_align_t mem[]; /* cap bytes */
} s_block_t;

#define S_ALIGN (sizeof(max_align_t))

static void *s_block_alloc(void *data, size_t size)
{
    s_block_t *b = data;
    size_t n = (size + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
    if (n >= size && n <= b->cap - b->used) {
        void *p = (char *)b->mem + b->used;
        b->used += n;
        return p;
    }
    s_spill_t *sp = size <= SIZE_MAX - sizeof *sp ? malloc(sizeof *sp + size) : NULL;
    if (!sp)
        return NULL;
    sp->next = b->spill;
    b->spill = sp;
    return sp->mem;
}

static void s_block_free_one(void *data, void *p)
{
    (void)data, (void)p; /* everything goes with the block (s_block_destroy) */
}

static void s_block_destroy(s_block_t *b)
{
    while (b && b->spill) {
        s_spill_t *sp = b->spill;
        b->spill = sp->next;
        free(sp);
    }
    free(b);
}

void sk_event_free(Skonto__V1__Envelope *env)
{
    if (env)
        s_block_destroy((s_block_t *)((char *)env - offsetof(s_block_t, mem)));
}

Skonto__V1__Envelope *sk_event_unpack(const void *data, size_t len)
{
    /* Room for the structs (~1 KiB for an order) and the strings (a subset
     * of the wire bytes, each with its NUL, aligned); the rare rest spills. */
    size_t cap = len > SIZE_MAX / 2 ? 0 : (2048 + len + len / 4 + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
    s_block_t *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->used = 0, b->cap = cap, b->spill = NULL;
    ProtobufCAllocator alloc = {s_block_alloc, s_block_free_one, b};
    Skonto__V1__Envelope *env = skonto__v1__envelope__unpack(&alloc, len, data);
    if (!env || (void *)env != (void *)b->mem) {
        /* undecodable; or (never seen) protobuf-c allocated something before
         * the message, which is not the layout sk_event_free knows */
        s_block_destroy(b);
        return NULL;
    }
    return env;
}

int sk_event_decode(const void *data, size_t len, Skonto__V1__Envelope **out, sk_err_t *err)
{
    *out = NULL;
    if (len > SK_EVENT_MAX_BYTES)
        return sk_err_set(err, SK_REASON_BAD_ENVELOPE,
                          "event of %zu bytes is over the %d-byte limit", len, SK_EVENT_MAX_BYTES);
    Skonto__V1__Envelope *env = sk_event_unpack(data, len);
    if (!env)
        return sk_err_set(err, SK_REASON_BAD_ENVELOPE,
                          "%zu bytes are not a skonto.v1.Envelope (protobuf decoding failed)", len);
    sk_err_t nul;
    sk_err_clear(&nul);
    if (s_check_wire_nul(&skonto__v1__envelope__descriptor, data, len, "", 0, &nul)) {
        if (!strcmp(nul.code, SK_REASON_BAD_ENVELOPE)) {
            sk_event_free(env);
            sk_err_prefix(&nul, "not a skonto.v1.Envelope");
        } else {
            *out = env; /* so the caller can still echo event_id (cut at a NUL) */
        }
        if (err)
            *err = nul;
        return -1;
    }
    *out = env;
    return sk_event_validate(env, err);
}

int sk_event_check_terms(const char *terms, const Skonto__V1__Invoice *inv, const char *whose,
                         sk_err_t *err)
{
    sk_err_clear(err);
    if (s_trial_schedule(whose, s_str(terms), inv, err)) {
        s_clean_msg(err);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- accessors */

sk_event_kind_t sk_event_kind(const Skonto__V1__Envelope *env)
{
    switch (env ? env->body_case : SKONTO__V1__ENVELOPE__BODY__NOT_SET) {
    case SKONTO__V1__ENVELOPE__BODY_CUSTOMER:
        return SK_EVENT_CUSTOMER;
    case SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED:
    case SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED:
        return SK_EVENT_INVOICE;
    case SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED:
        return SK_EVENT_PAYMENT;
    case SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE:
        return SK_EVENT_CREDIT;
    case SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED:
        return SK_EVENT_CANCEL;
    default:
        return SK_EVENT_NONE;
    }
}

const Skonto__V1__Invoice *sk_event_invoice(const Skonto__V1__Envelope *env)
{
    if (!env)
        return NULL;
    if (env->body_case == SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED)
        return env->order_shipped;
    if (env->body_case == SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED)
        return env->invoice_issued;
    return NULL;
}

const char *sk_event_order_id(const Skonto__V1__Envelope *env)
{
    switch (sk_event_kind(env)) {
    case SK_EVENT_INVOICE:
        return sk_event_invoice(env) ? sk_event_invoice(env)->order_id : NULL;
    case SK_EVENT_PAYMENT:
        return env->payment_received ? env->payment_received->order_id : NULL;
    case SK_EVENT_CREDIT:
        return env->credit_note ? env->credit_note->order_id : NULL;
    case SK_EVENT_CANCEL:
        return env->order_cancelled ? env->order_cancelled->order_id : NULL;
    default:
        return NULL;
    }
}

const char *sk_event_customer_id(const Skonto__V1__Envelope *env)
{
    switch (sk_event_kind(env)) {
    case SK_EVENT_CUSTOMER:
        return env->customer ? env->customer->customer_id : NULL;
    case SK_EVENT_INVOICE:
        return sk_event_invoice(env) ? sk_event_invoice(env)->customer_id : NULL;
    default:
        return NULL;
    }
}

const char *sk_event_kind_name(const Skonto__V1__Envelope *env)
{
    return sk_event_body_name(env ? env->body_case : SKONTO__V1__ENVELOPE__BODY__NOT_SET);
}

const char *sk_event_body_name(Skonto__V1__Envelope__BodyCase body_case)
{
    switch (body_case) {
    case SKONTO__V1__ENVELOPE__BODY_CUSTOMER:
        return "customer";
    case SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED:
        return "order_shipped";
    case SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED:
        return "invoice_issued";
    case SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED:
        return "payment_received";
    case SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE:
        return "credit_note";
    case SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED:
        return "order_cancelled";
    default:
        return "unknown";
    }
}
