/* event_json — the ERP's JSON lines (what `skontoctl send` reads) to and from
 * the protobuf Envelope that ingest accepts.
 *
 * One line is one event (see README / issue "JSON lines accepted by skontoctl
 * send"):
 *
 *   {"type":"order_shipped","event_id":"E2","order_id":"SO-1","customer_id":"C-1",
 *    "currency":"CNY","amount":"1130.00","tax":"130.00","ship_date":"2026-11-02"}
 *
 * Types and their fields (R = required; every other field is optional):
 *   every type      type R, event_id R, source (default "skontoctl"),
 *                   sequence (integer >= 0, default 0), occurred_at_ms (integer, default 0)
 *   customer        customer_id R, name, email, timezone, locale,
 *                   statement ("weekly" | "daily" | "none"), terms,
 *                   reminders ("on" | "off": opted in / out of reminders and
 *                   statements; absent keeps the stored setting)
 *   order_shipped,  order_id R, customer_id R, currency R, amount R, ship_date R,
 *   invoice_issued  tax, salesperson, invoice_date, delivery_date, terms,
 *                   version (integer 0..2^32-1), customer (an object with the
 *                   customer fields above; its customer_id defaults to the order's)
 *   payment_received order_id R, paid_on R, amount R, full (true | false),
 *                   currency, payment_id
 *   credit_note     order_id R, issued_on R, amount R, credit_note_id, currency
 *   order_cancelled order_id R, reason
 * A JSON null counts as "not given".
 *
 * What this module checks: JSON syntax and that the line is an object, the
 * type, unknown, missing and wrongly typed fields, the currency code, amounts
 * (decimal strings, converted exactly with sk_money_parse at the currency's
 * precision) and dates (strict YYYY-MM-DD). It deliberately does NOT check
 * terms syntax, id lengths, tax < amount and other business rules: such an
 * event still travels to ingest, which validates the whole event, rejects it
 * and keeps it in the dead-letter list where operators see it.
 *
 * Currency of payments and credit notes: their lines usually name only the
 * order, so the caller passes a lookup (order id -> ISO code, or NULL if it
 * does not know the order), e.g. from orders seen earlier in the same input or
 * from Redis's order index. An explicit "currency" on the line wins over the
 * lookup. The protobuf CreditNote has no currency field, so for a credit note
 * an explicit currency that differs from the lookup's is rejected here
 * ("bad_currency") rather than silently scaling the amount wrongly.
 *
 * Error codes (err->code) and what they mean; err->msg is one line naming the
 * field and the value's problem:
 *   bad_json       not JSON (or trailing junk), or not a JSON object
 *   bad_type       "type" is not one of the six event types
 *   missing_field  a required field is absent or null
 *   unknown_field  a field this type does not have (a typo must not be ignored)
 *   bad_field      a field has the wrong JSON type, an integer out of range,
 *                  "full" not a boolean, "statement" not weekly/daily/none,
 *                  "reminders" not on/off
 *   bad_amount     an amount that sk_money_parse rejects
 *   bad_currency   an unknown ISO code, or no currency known for the order
 *   bad_date       a date that sk_date_parse rejects
 *   nomem          allocation failure
 *
 * Ownership: sk_event_json_parse returns a new object that owns the Envelope
 * and every string it points to (the strings point into the parsed JSON tree,
 * kept alive inside the object). Never pass the Envelope to
 * protobuf_c_message_free_unpacked. */
#ifndef SK_EVENT_JSON_H
#define SK_EVENT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"
#include "skonto/v1/skonto.pb-c.h"

/* Currency of an order the caller knows about: an ISO 4217 code such as "CNY",
 * or NULL if the order is unknown. The returned string must stay valid until
 * sk_event_json_parse returns. */
typedef const char *(*sk_currency_lookup_fn)(void *arg, const char *order_id);

typedef struct sk_event_json sk_event_json_t;

/* Converts one JSON line (len bytes; need not be NUL-terminated; surrounding
 * whitespace and a trailing newline are fine). lookup may be NULL. Returns NULL
 * and fills err on any rejection. */
sk_event_json_t *sk_event_json_parse(const char *line, size_t len, sk_currency_lookup_fn lookup,
                                     void *arg, sk_err_t *err);

/* The converted envelope; valid until the object is destroyed. */
const Skonto__V1__Envelope *sk_event_json_envelope(const sk_event_json_t *self);

/* Serializes the envelope into a new malloc'd buffer (*out, caller frees) and
 * returns its length; 0 with *out == NULL if memory ran out. */
size_t sk_event_json_pack(const sk_event_json_t *self, uint8_t **out);

void sk_event_json_destroy(sk_event_json_t **self_p);


/* The reverse, for showing an envelope to a person (dead letters, logs): a new
 * JSON object in the same shape as the input lines. Amounts are decimal
 * strings when the envelope names a known currency (orders, payments with a
 * currency); otherwise they are shown as integers under "amount_minor".
 * Empty optional strings and zero optional numbers are left out. Strings that
 * are not valid UTF-8 (protobuf-c does not check) are shown with U+FFFD for
 * each bad byte. Returns NULL if env is NULL or memory ran out; the caller
 * owns the reference (json_decref). */
json_t *sk_event_to_json(const Skonto__V1__Envelope *env);

#endif
