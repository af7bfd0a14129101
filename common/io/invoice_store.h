/* invoice_store — reading a stored invoice from Redis, in either layout.
 *
 * The codec (invoice.h) turns a value into an sk_invoice_t; this module asks
 * Redis for it. An invoice is one string (GET); one still in the layout of
 * before issue 7 (a hash, until the discount worker has migrated it) answers
 * GET with WRONGTYPE and is read with HGETALL instead, so skontoctl shows the
 * same invoice before and after the migration. hiredis types are declared,
 * not included. */
#ifndef SK_INVOICE_STORE_H
#define SK_INVOICE_STORE_H

#include "invoice.h"

struct redisContext;
struct redisReply;

/* Parses the reply of `GET <invoice key>`: 0, or -1 with code "no_invoice"
 * (nil: nothing stored), "old_layout" (a hash of before issue 7: read it with
 * sk_invoice_read), "redis" (another error) or "bad_invoice". */
int sk_invoice_from_reply(const struct redisReply *r, const char *order_id, sk_invoice_t *inv,
                          sk_err_t *err);

/* Reads the invoice stored under key, in either layout (one or two round
 * trips). Codes as sk_invoice_from_reply, but never "old_layout". */
int sk_invoice_read(struct redisContext *c, const char *key, const char *order_id,
                    sk_invoice_t *inv, sk_err_t *err);

/* Reads one invoice by order id: HGET the order index for the customer's
 * shard, then sk_invoice_read. Fails with code "unknown_order" (no index
 * entry), "no_invoice" (accepted by ingest, not yet stored by discount),
 * "redis" or "bad_invoice". */
int sk_invoice_fetch(struct redisContext *c, const char *order_id, sk_invoice_t *inv,
                     sk_err_t *err);

#endif
