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

/* Called by sk_invoice_read_each once per order id: got 0 and inv (valid
 * only during the call) the invoice; else -1 and err, code "no_invoice"
 * (nothing stored: it went away since the ids were read) or "bad_invoice"
 * (damaged). Return 0 to go on, -1 to stop. */
typedef int (*sk_invoice_each_fn)(void *ctx, const char *order_id, int got, const sk_err_t *err,
                                  const sk_invoice_t *inv);

/* Reads the invoices of the order ids in `ids` (a Redis array reply of
 * strings, e.g. ZRANGE of a customer's open set), all of one shard,
 * pipelined in batches of SK_INVOICE_BATCH, in either layout (an invoice
 * still in the old layout is read after its batch, so fn may see it after
 * the others of the batch). 0 when every id was handed to fn; -1 and err
 * when Redis failed (code "redis"), an id is malformed ("bad_invoice", before
 * any call), out of memory, or fn stopped (err untouched). */
#define SK_INVOICE_BATCH 256
int sk_invoice_read_each(struct redisContext *c, int shard, const struct redisReply *ids,
                         sk_invoice_each_fn fn, void *ctx, sk_err_t *err);

#endif
