/* accept — the accept steps of a segment of a batch: what Redis must say
 * before an event can be stored, and the accept script (accept.lua, KEYS
 * and ARGV at its top) that stores it.
 *
 *   1  claim and read, in message order: the claim calls (claim.h); then an
 *      order reads its customer (HMGET: exists? default terms?) when it has
 *      no inline customer with terms, and claims the order index with HSETNX
 *      (sk:{oM}:o2c order_id -> "customer_id\tCUR"); payments, credit notes
 *      and cancellations HGET the index, so a payment after its order in the
 *      same batch sees the order's claim (Redis runs a pipeline in order);
 *      PUB sources seen the first time read their last sequence number.
 *      Then, without Redis: unknown customers and terms that do not work for
 *      the ship date are rejected; so is a payment that found the claim of an
 *      order of the segment that was just rejected.
 *   1b only when needed: an order whose claim found an entry (resent or
 *      revised) reads it to compare customer and currency.
 *   2  write: HDEL of the order-index entries this segment created for events
 *      that turned out duplicates or rejections, one accept script call per
 *      customer shard holding valid events (atomic on that shard: version
 *      check, XADD of the received bytes, the batch's stored record, customer profile,
 *      counters), one dead-letter script call for the rejected events (a
 *      second round trip only for orders the accept script found stale);
 *      then every claim of ours is queued to be finished.
 *
 * Any Redis error on an event's command makes it FAILED: no Ack, the client
 * retries. An accept call that fails as a whole leaves its events UNSURE
 * (stored or not): their claims stay pending and a resend settles them. An
 * order-index entry of a duplicate or rejection is gone one round trip after
 * it was made; in between another client's payment for that order id could
 * see it. */
#ifndef INGEST_ACCEPT_H
#define INGEST_ACCEPT_H

#include "claim.h"
#include "item.h"
#include "pipe.h"
#include "sources.h"

/* Runs steps 1, 1b and 2 for items[a, b): afterwards each is ACCEPTED,
 * DUPLICATE, UNCHANGED, REJECTED (its dead letter stored), or without an
 * Ack. 0, or -1 when the connection failed. */
int ingest_accept(ingest_pipe_t *pipe, ingest_claims_t *claims, ingest_sources_t *sources,
                  ingest_item_t *items, int a, int b);

#endif
