/* invoice — the invoice state kept in Redis (`sk:{sN}:inv:<oid>`), as an
 * sk_invoice_t (common/invoice_rules.h).
 *
 * The discount worker writes it; skontoctl reads it. sk_invoice_from_fields
 * parses the field/value pairs of an HGETALL (see docs/DATAFLOW.md for the
 * field list) and rejects anything malformed rather than guessing.
 *
 * Stored form (every value <= 64 bytes in the usual case, so Redis keeps the
 * hash a listpack: ~370 bytes instead of ~1 KiB as a hashtable):
 *   tiers  "rate_ppm:last_day:discount;..."  last_day a day number (sk_day_t);
 *          payable is not stored: it is amount - discount (a schedule invariant)
 *   pays   "day:paid:tier:discount:settled:unearned:overpaid:full;..."  day a
 *          day number, tier -1 after every window, full 0/1
 *   fch / fcn  "YYYY-MM-DD|amount"  the forecast contribution now counted
 *   disc / unearned / credit / sp / inv / dlv / pays / fch / fcn are absent
 *   when zero or empty.
 * After parsing, a tier's payable is amount - discount and its annual rates are
 * filled in when the stored tiers are what the terms give (else 0); a
 * payment's rate_ppm comes from its tier; balance_after is not stored (0).
 * Unknown fields are ignored (later workers may add their own). */
#ifndef SK_INVOICE_H
#define SK_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_rules.h"
#include "sk_error.h"

/* Parses a customer's history hash (HGETALL of hist:<cid>: t<i>, net, n);
 * fields it does not know, and values that are not positive integers, are
 * ignored (a missing history is an empty one). */
void sk_history_from_fields(sk_history_t *h, size_t n, const char **fields, const char **values);

/* Parses HGETALL pairs (fields[i], values[i], lengths given). */
int sk_invoice_from_fields(sk_invoice_t *inv, const char *order_id, size_t n, const char **fields,
                           const char **values, const size_t *value_lens, sk_err_t *err);

/* Renders the fields of inv for HSET: calls emit(field, value) once for every
 * field of the layout, in a fixed order; value "" means the field is absent
 * (the writer HDELs it). */
typedef void (*sk_invoice_emit_fn)(void *arg, const char *field, const char *value);
void sk_invoice_to_fields(const sk_invoice_t *inv, sk_invoice_emit_fn emit, void *arg);

const char *sk_invoice_status_name(sk_invoice_status_t st);

/* Writes v in decimal at p (room for >= 21 bytes), NUL-terminated; returns
 * the length. No printf: the discount worker formats thousands a second. */
size_t sk_fmt_i64(char *p, int64_t v);

/* Reads one invoice by order id: HGET the order index for the customer's
 * shard, then HGETALL and parse. Fails with code "unknown_order" (no index
 * entry), "no_invoice" (accepted by ingest, not yet stored by discount),
 * "redis" or "bad_invoice". c is a hiredis
 * redisContext (declared here without including hiredis). */
struct redisContext;
int sk_invoice_fetch(struct redisContext *c, const char *order_id, sk_invoice_t *inv,
                     sk_err_t *err);

#endif
