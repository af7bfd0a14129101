/* reply — what ingest answers: the Acks, the dead letters of rejected
 * events (dlq.lua, KEYS and ARGV at its top), and the counts and log lines
 * of each outcome.
 *
 * Invariants: an Ack is sent only after Redis has answered the commands that
 * made the outcome durable (the caller sends it after ingest_accept): the
 * event-id claim and the accept script (ACCEPTED / DUPLICATE) or the
 * dead-letter script (REJECTED). A rejected event's dead letter keeps the
 * received bytes (base64) up to the envelope limit; of a bigger one its
 * size, SHA-256 and first INGEST_DLQ_HEAD bytes, so a record stays under
 * ~90 KiB. The list keeps the newest INGEST_DLQ_MAX records and at most
 * INGEST_DLQ_MAX_BYTES. */
#ifndef INGEST_REPLY_H
#define INGEST_REPLY_H

#include <stdint.h>

#include "item.h"
#include "metrics.h"
#include "pipe.h"
#include "sources.h"

#define INGEST_DLQ_MAX 100000            /* dead letters kept (oldest trimmed beyond) */
#define INGEST_DLQ_MAX_BYTES (64L << 20) /* ... and at most this many bytes of them */
#define INGEST_DLQ_HEAD 256              /* bytes of an oversize payload kept in its dead letter */

/* Counters since start (heartbeat; the exact ones are in Redis). */
typedef struct {
    uint64_t processed, errors, accepted, duplicate, rejected;
} ingest_counts_t;

/* Queues one dead-letter script call for the rejected items of [a, b) whose
 * dead letter is not written yet, marking them with `round`. 1 queued, 0
 * nothing to queue, -1 error. */
int ingest_dlq_append(ingest_pipe_t *pipe, ingest_item_t *items, int a, int b, int round,
                      int64_t now);
/* Reads its reply: if the call failed, the items of `round` are FAILED. 0 or -1. */
int ingest_dlq_read(ingest_pipe_t *pipe, ingest_item_t *items, int a, int b, int round);

/* Counts the outcomes of items[a, b) (and in metrics, which may be NULL),
 * logs each rejection, and moves the PUB sources' sequence numbers on. */
void ingest_reply_account(ingest_counts_t *self, ingest_metrics_t *metrics,
                          ingest_sources_t *sources, const ingest_item_t *items, int a, int b);
/* Sends the item's Ack on the ROUTER (an error is logged and counted; a sent
 * one's latency goes in metrics). */
void ingest_reply_ack(void *router, ingest_counts_t *self, ingest_metrics_t *metrics,
                      ingest_item_t *it);

#endif
