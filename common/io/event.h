/* event — decoding and complete validation of an ERP event (skonto.v1.Envelope).
 *
 * protobuf-c decodes almost anything: random bytes sometimes give a plausible
 * message, an empty buffer gives all defaults, and string fields are never
 * checked for UTF-8. So a decoded Envelope is untrusted until
 * sk_event_validate says 0. Validation is pure (no I/O): what needs Redis
 * (does the customer exist, which customer owns an order) is ingest's job.
 *
 * Reason codes (sk_err_t.code; the Ack's reason_code and the dead letter's):
 *   bad_envelope            undecodable bytes, or no event body set
 *   bad_id                  an id (event_id, source, customer/order/payment/
 *                           credit note ids, salesperson) empty where required,
 *                           over 64 characters (or 256 bytes), or with control
 *                           characters (a NUL byte included)
 *   bad_utf8                any string that is not valid UTF-8
 *   bad_field               other malformed fields: names over 200 bytes or with
 *                           control characters, a NUL byte in any other string
 *                           (terms, dates and currency included; protobuf-c would
 *                           silently cut the string there), implausible email, timezone /
 *                           locale not printable ASCII or too long, statement
 *                           or reminders out of range, negative occurred_at, an inline
 *                           customer naming another customer
 *   bad_amount              amount outside 1..SK_MONEY_MAX, tax outside 0..amount-1
 *   bad_currency            missing or unknown ISO 4217 code
 *   bad_date                a date that is not strict YYYY-MM-DD
 *   bad_terms               terms that do not parse, or whose windows do not
 *                           strictly increase for the order's ship date
 * and, decided by ingest against Redis:
 *   unknown_customer        an order for a customer never sent and not inline
 *   unknown_order           a payment / credit note / cancellation for an
 *                           order ingest has not accepted
 *   order_customer_mismatch an order id already owned by another customer
 *   currency_mismatch       a payment (or an order revision) in a currency other
 *                           than the order's
 *
 * Invariants of a validated envelope: every string is valid UTF-8 without
 * control characters (so it can go into JSON, a Redis key or a log line as is),
 * ids are 1..SK_EVENT_ID_MAX_CHARS characters (so at most SK_EVENT_ID_MAX
 * bytes), no string had a NUL byte on the wire, exactly one body is set and every amount
 * and date in it is usable by common/ without further checks. Error messages
 * are one line of valid UTF-8 (peer text in them is sanitized) and show an
 * amount in its currency's decimals ("1130.00"), or say "minor units" when
 * the event names no currency. */
#ifndef SK_EVENT_H
#define SK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"
#include "skonto/v1/skonto.pb-c.h"

/* Ids (event ids, sources, customer, order, payment and credit note ids,
 * salespeople) are counted in characters, as the .proto says; the byte cap is
 * what buffers are sized by (SK_EVENT_ID_MAX + 1 holds any valid id). 64
 * characters of UTF-8 are at most 256 bytes, so the cap never refuses a valid
 * id: it bounds the work before the characters are counted. */
#define SK_EVENT_ID_MAX 256          /* bytes of an id */
#define SK_EVENT_ID_MAX_CHARS 64     /* characters (Unicode code points) of an id */
#define SK_EVENT_NAME_MAX 200        /* names, emails, free text (bytes of UTF-8) */
#define SK_EVENT_TZ_MAX 64           /* timezone and locale */
#define SK_EVENT_MAX_BYTES 65536     /* largest envelope ingest accepts */
#define SK_EVENT_FRAME_MAX (1 << 20) /* larger frames drop the connection (ZMQ_MAXMSGSIZE) */

#define SK_REASON_BAD_ENVELOPE "bad_envelope"
#define SK_REASON_BAD_ID "bad_id"
#define SK_REASON_BAD_UTF8 "bad_utf8"
#define SK_REASON_BAD_FIELD "bad_field"
#define SK_REASON_BAD_AMOUNT "bad_amount"
#define SK_REASON_BAD_CURRENCY "bad_currency"
#define SK_REASON_BAD_DATE "bad_date"
#define SK_REASON_BAD_TERMS "bad_terms"
#define SK_REASON_UNKNOWN_CUSTOMER "unknown_customer"
#define SK_REASON_UNKNOWN_ORDER "unknown_order"
#define SK_REASON_ORDER_CUSTOMER_MISMATCH "order_customer_mismatch"
#define SK_REASON_CURRENCY_MISMATCH "currency_mismatch"
#define SK_REASON_TOO_LARGE "too_large"         /* a frame over SK_EVENT_MAX_BYTES */
#define SK_REASON_STALE_VERSION "stale_version" /* an order version not above the accepted one */
/* a new order version changing terms, dates or amount, from a key that is not erp (issue 9) */
#define SK_REASON_ERP_ONLY "erp_only"
#define SK_REASON_BAD_TIMEZONE "bad_timezone"   /* a customer's zone the tz database lacks */
/* Every reason code above, in that order: the one list (metrics count by it). */
#define SK_REASONS_N 16
extern const char *const sk_event_reasons[SK_REASONS_N];

typedef enum {
    SK_EVENT_NONE = 0,
    SK_EVENT_CUSTOMER, /* customer upsert */
    SK_EVENT_INVOICE,  /* order_shipped or invoice_issued */
    SK_EVENT_PAYMENT,
    SK_EVENT_CREDIT,
    SK_EVENT_CANCEL,
} sk_event_kind_t;

/* Decodes len bytes (at most SK_EVENT_MAX_BYTES) and validates the result.
 * On success *out owns the message (free with sk_event_free, never with
 * skonto__v1__envelope__free_unpacked: it lives in one block of its own).
 * On a decode failure *out is NULL and err says bad_envelope; on a validation
 * failure *out is still set (so the caller can echo event_id) and err says why.
 * Returns 0 or -1. */
int sk_event_decode(const void *data, size_t len, Skonto__V1__Envelope **out, sk_err_t *err);
/* The decoding alone, without the size limit and the checks (to echo the
 * event id of an envelope too large to take): NULL if undecodable or out
 * of memory. */
Skonto__V1__Envelope *sk_event_unpack(const void *data, size_t len);
/* Frees what sk_event_decode or sk_event_unpack gave (NULL: nothing). */
void sk_event_free(Skonto__V1__Envelope *env);

/* The event_id bytes of an encoded Envelope exactly as on the wire (NUL and
 * invalid UTF-8 included, which the decoded string cannot show): *id points
 * into data. False if the bytes hold none (or stop parsing before one). */
bool sk_event_raw_id(const void *data, size_t len, const uint8_t **id, size_t *idlen);

/* Checks every field of a decoded envelope; 0 or -1 with err filled. */
int sk_event_validate(const Skonto__V1__Envelope *env, sk_err_t *err);

sk_event_kind_t sk_event_kind(const Skonto__V1__Envelope *env);
/* The invoice of an order_shipped / invoice_issued, else NULL. */
const Skonto__V1__Invoice *sk_event_invoice(const Skonto__V1__Envelope *env);
/* The order id of an invoice, payment, credit note or cancellation; NULL otherwise. */
const char *sk_event_order_id(const Skonto__V1__Envelope *env);
/* The customer id of a customer upsert or an invoice; NULL otherwise. */
const char *sk_event_customer_id(const Skonto__V1__Envelope *env);
/* Short name of the body ("customer", "order_shipped", ...; "unknown" if
 * unset): the JSON events' "type" and the name in logs and records. */
const char *sk_event_kind_name(const Skonto__V1__Envelope *env);
/* The same name by body case (the one table of the names). */
const char *sk_event_body_name(Skonto__V1__Envelope__BodyCase body_case);

/* Checks that `terms` parse and give increasing windows for the invoice's ship
 * date, amount and tax (the invoice must be valid). `whose` names the terms in
 * the message ("customer C-1's terms"). Used for a customer's default terms,
 * which ingest only learns from Redis. */
int sk_event_check_terms(const char *terms, const Skonto__V1__Invoice *inv, const char *whose,
                         sk_err_t *err);

/* The rule for every id, for ingest and skontoctl alike: s[0..len) (it
 * need not be NUL-terminated) is 1..SK_EVENT_ID_MAX_CHARS characters of valid
 * UTF-8 within SK_EVENT_ID_MAX bytes, without control characters or NUL bytes;
 * empty is fine when !required. `field` names it in the message ("order_id is
 * 65 characters long (at most 64 characters and 256 bytes)"). 0, or -1 with
 * err (may be NULL) filled: code bad_id, or bad_utf8. */
int sk_event_check_id(const char *field, const char *s, size_t len, bool required, sk_err_t *err);

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes left), 0 if invalid;
 * *cp (may be NULL) receives its code point. */
size_t sk_utf8_char(const char *s, size_t n, uint32_t *cp);
/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool sk_utf8_valid(const char *s, size_t len);
/* Copies src[0..len) into dst (capacity n >= 1, always NUL-terminated) as valid
 * UTF-8 without control characters: invalid bytes and controls become '?', and
 * a character that does not fit is dropped whole. Returns the bytes written. */
size_t sk_utf8_sanitize(char *dst, size_t n, const char *src, size_t len);

#endif
