/* invoice — the codec of the stored invoice (`sk:{sN}:inv:<oid>`), between
 * its Redis value and an sk_invoice_t (common/invoice_rules.h). No I/O: the
 * reads are in invoice_store.h.
 *
 * The stored value is one Redis string: "<rev>.<q>|" and then the packed
 * skonto.v1.InvoiceState (proto/skonto/v1/invoice_state.proto, where the
 * layout is described). rev and q sit in the text header because the apply
 * script checks and moves them without decoding protobuf; everything else is
 * in the message, written only through sk_invoice_pack_state.
 *
 * Reading is strict: the header must be well formed, the message must decode,
 * every field must be within bounds, and the invariants a reader relies on
 * are checked (0 <= balance <= amount, tax below the amount, tiers with
 * decreasing rates and increasing last days inside baseline..net due, at most
 * SK_INVOICE_MAX_PAYMENTS payments); a failure names the field. Fields the
 * reader does not know are ignored, so later issues can add their own. After
 * reading, a tier's payable is amount - discount and its annual rates are
 * filled in when the stored tiers are what the terms give (else 0); a
 * payment's rate_ppm comes from its tier; balance_after is not stored: the
 * last payment's is the balance, each earlier one's the next one's plus what
 * that settled. The overrides applied (issue 9, sk_invoice_override_t) are
 * stored only when there are some.
 *
 * The layout before issue 7 (a ~15-field hash: c, sp, cur, amt, tax, bal,
 * base, inv, dlv, terms, net, tiers "rate_ppm:last_day:discount;...", pays
 * "day:paid:tier:discount:settled:unearned:overpaid:full;...", disc,
 * unearned, credit, st, ver, rev, fch / fcn "YYYY-MM-DD|amount", q) is still
 * read by sk_invoice_from_fields, for the migration (services/discount/
 * migrate.c) and for skontoctl before it has run; sk_invoice_to_fields
 * renders it, for tests of that migration. */
#ifndef SK_INVOICE_H
#define SK_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_rules.h"
#include "sk_error.h"

/* Longest stored value accepted (64 payments of ~40 bytes, and room to grow). */
#define SK_INVOICE_VALUE_MAX 16384

/* Packs inv's state (everything but rev and q) into buf; returns its length,
 * or 0 when it does not fit in cap bytes. */
size_t sk_invoice_pack_state(const sk_invoice_t *inv, uint8_t *buf, size_t cap);

/* The whole stored value of inv: "<rev>.<q>|" and the state; 0 if it does not fit. */
size_t sk_invoice_pack(const sk_invoice_t *inv, uint8_t *buf, size_t cap);

/* Reads a stored value (GET of the invoice key). Fails with code
 * "unknown_order" for an empty value, "bad_invoice" for anything malformed. */
int sk_invoice_unpack(sk_invoice_t *inv, const char *order_id, const void *value, size_t len,
                      sk_err_t *err);

/* Parses a customer's history hash (HGETALL of hist:<cid>: t<i>, net, n);
 * fields it does not know, and values that are not positive integers, are
 * ignored (a missing history is an empty one). */
void sk_history_from_fields(sk_history_t *h, size_t n, const char **fields, const char **values);

/* The layout before issue 7: parses HGETALL pairs (fields[i], values[i], lengths given). */
int sk_invoice_from_fields(sk_invoice_t *inv, const char *order_id, size_t n, const char **fields,
                           const char **values, const size_t *value_lens, sk_err_t *err);

/* The layout before issue 7: calls emit(field, value) once for every field,
 * in a fixed order; value "" means the field is absent. */
typedef void (*sk_invoice_emit_fn)(void *arg, const char *field, const char *value);
void sk_invoice_to_fields(const sk_invoice_t *inv, sk_invoice_emit_fn emit, void *arg);

#endif
