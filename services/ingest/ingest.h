/* ingest — the ERP-facing worker's object: a batch of received messages
 * turned into Redis work and acknowledgements (docs/DATAFLOW.md, event path
 * steps 1-4).
 *
 * main.c owns the sockets, the loop, signals and the configuration and calls
 * this object; the object is made of one module per phase, none of which
 * calls back up:
 *   receive.c  frames into items (item.c: one message and its state)
 *   claim.c    event-id claims (claim.lua)
 *   accept.c   the accept steps (accept.lua)
 *   reply.c    Acks, dead letters (dlq.lua), counts
 *   sources.c  sequence numbers of PUB feeds
 *   pipe.c     the Redis connection, its pipeline and the scripts
 * One thread, and the ZAP handler's.
 *
 * Round trips, not CPU, decide throughput and latency (every round trip may
 * wait behind other workers' pipelines in Redis), so every step pipelines
 * the whole batch, and a batch normally costs two round trips (accept.h).
 * Step 1 of an order must see every customer written before it, and the
 * claim of an earlier order with the same id must be settled; an event id
 * met twice is a duplicate only if the first is accepted. A batch is
 * therefore cut into segments before an order that reads a customer an
 * earlier message of the segment writes, before a second order with the same
 * order id and before a second event with the same event id; each segment
 * runs the steps on its own (rare: it costs round trips only when it
 * happens). After a segment's steps: its Acks, then for PUB messages the
 * sequence bookkeeping.
 *
 * Invariants:
 *   - an Ack is sent only after Redis has answered the commands that made
 *     the outcome durable (reply.h). When Redis fails the event gets no Ack
 *     at all and the client retries; de-duplication by event id makes the
 *     retry safe;
 *   - an event id is accepted at most once in the whole system (claim.h);
 *   - a counter a person reconciles (accepted, duplicate, rejected) is
 *     changed in the same script as what it counts;
 *   - the bytes stored in the events stream are the bytes received, never a
 *     re-packed message;
 *   - a message from a peer never crashes the worker or blocks the ones
 *     behind it: every frame is bounded (ZMQ_MAXMSGSIZE = SK_EVENT_FRAME_MAX,
 *     larger ones drop the connection), a frame over SK_EVENT_MAX_BYTES is
 *     answered too_large, and every envelope is validated. */
#ifndef SK_INGEST_H
#define SK_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "reply.h"
#include "sk_conns.h"
#include "sk_heartbeat.h"

#define INGEST_MAX_SUBS 16       /* SKONTO_INGEST_SUB endpoints */
#define INGEST_RCVHWM 256        /* frames queued per connection (x SK_EVENT_FRAME_MAX) */
#define INGEST_RETENTION_DAYS 30 /* default of SKONTO_EVENT_ID_RETENTION_DAYS */
#define INGEST_KNOWN_CUSTOMERS 65536 /* customer ids remembered as stored (ingest.c) */

typedef struct _ingest_t ingest_t;

/* `name` (SKONTO_WORKER_NAME, at most SK_EVENT_ID_MAX bytes) must outlive the
 * worker; accepted event ids are remembered for retention_ms. NULL: out of
 * memory. */
ingest_t *ingest_new(const char *name, int64_t retention_ms);
void ingest_destroy(ingest_t **self_p);

/* The sockets to read from and answer on (owned by the caller), and the
 * watcher of the ROUTER's connections (closed ones go in the heartbeat). */
void ingest_set_sockets(ingest_t *self, void *router, void *const *subs, int nsubs);
void ingest_set_conns(ingest_t *self, const sk_conns_t *conns);
/* Where outcomes, Ack latencies and Redis errors are counted (not owned; it
 * must outlive self). */
void ingest_set_metrics(ingest_t *self, ingest_metrics_t *metrics);

/* Connects to Redis, loads the scripts and recovers what a crash left
 * (claim.h). 0 or -1 (logged; still disconnected). */
int ingest_connect(ingest_t *self);
/* Drops the connection (after an error: hiredis cannot reuse it). */
void ingest_disconnect(ingest_t *self);
bool ingest_connected(const ingest_t *self);

/* The batch: the messages received while the last batch's Redis work was on
 * its way (a pipeline's round trip is used to receive and decode them), then
 * up to INGEST_BATCH in all of those waiting now; returns how many. */
int ingest_receive_batch(ingest_t *self);
/* Whether messages were received that no batch holds yet: the caller must
 * not wait for more before the next ingest_receive_batch. */
bool ingest_has_received(const ingest_t *self);
/* Runs the Redis work for the batch and sends every Ack it can. Returns 0,
 * or -1 when the Redis connection failed (counted as an error; the caller
 * drops it and reconnects; the items not yet acknowledged simply get no
 * Ack). */
int ingest_process(ingest_t *self);
/* Releases the batch's messages. */
void ingest_clear_batch(ingest_t *self);

/* Flushes queued claim finishes and writes the heartbeat hb with ingest's
 * counters (HSET sk:{sys}:hb, common/io/sk_heartbeat). 0 or -1. */
int ingest_heartbeat(ingest_t *self, sk_heartbeat_t *hb);
const ingest_counts_t *ingest_counts(const ingest_t *self);

#endif
