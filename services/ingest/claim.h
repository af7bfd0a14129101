/* claim — event-id claims: an event id is accepted at most once in the whole
 * system (claim.lua, KEYS and ARGV at its top).
 *
 * Its claim (sk:{sN}:eid:<id>, N = shard of the id) is taken before the
 * event is stored, as "p:<ms>:<owner>" (pending), and never accepted unless
 * the event was stored. The outcomes of a batch's claims are queued
 * (finishes) and settled at the head of the next pipeline (the next batch's
 * claim calls, or the heartbeat within a second): the claims of events not
 * stored are released, then the owner's watermark rises to the batch's ms,
 * which accepts the rest at once. A batch that leaves a claim in an unknown
 * state raises none and changes the owner, so no later watermark covers that
 * claim; its accepted claims are then marked 'a' one by one. A claim left
 * pending by a crash is settled (accepted if its event was stored, else
 * released) when ingest restarts (ingest_claims_recover) or when the event is
 * resent (ingest_claims_resolve). A pending claim older than INGEST_LEASE_MS
 * belongs to a dead ingest; so does one of an earlier run of this worker. */
#ifndef INGEST_CLAIM_H
#define INGEST_CLAIM_H

#include <stdint.h>

#include "item.h"
#include "pipe.h"

#define INGEST_LEASE_MS 30000 /* a pending claim older than this belongs to a dead ingest */
#define INGEST_OWNER_ID_MAX (SK_EVENT_ID_MAX + 36) /* owner: "<name>/<pid>/<start ms>" */
#define INGEST_PENDING_MAX (INGEST_OWNER_ID_MAX + 28) /* "p:<ms>:<owner>" */

typedef struct _ingest_claims_t ingest_claims_t;

/* `name` (SKONTO_WORKER_NAME, at most SK_EVENT_ID_MAX bytes) must outlive the
 * claims; an event id is remembered for retention_ms. NULL: out of memory. */
ingest_claims_t *ingest_claims_new(const char *name, int64_t retention_ms);
void ingest_claims_destroy(ingest_claims_t **self_p);

/* Starts a segment's claims: their time, on the wall and monotonic clocks. */
void ingest_claims_begin(ingest_claims_t *self);
/* The pending value of the current segment's claims, "p:<ms>:<owner>": also
 * the field of its stored records (accept.lua). */
void ingest_claims_pending(const ingest_claims_t *self, char *buf, size_t n);
/* Milliseconds since ingest_claims_begin (monotonic): claims this old may be
 * settled by another ingest's recovery. */
int64_t ingest_claims_age_ms(const ingest_claims_t *self);

/* Appends, per event-id shard, one claim script call that settles the
 * queued finishes of that shard, raises the watermark and claims the valid
 * events of items[a, b)
 * (none for a flush: a == b), then one HDEL of the shard's stored records
 * that are no longer needed; the claimed items become CLAIMING. Returns the
 * number of commands appended, or -1. */
int ingest_claims_append(ingest_claims_t *self, ingest_pipe_t *pipe, ingest_item_t *items, int a,
                         int b);
/* Reads their replies: per item, CLAIMED, DUPLICATE, BUSY (someone else's
 * pending claim) or FAILED. 0 or -1. */
int ingest_claims_read(ingest_claims_t *self, ingest_pipe_t *pipe, ingest_item_t *items, int a,
                       int b);
/* Settles the queued finishes now, in a pipeline of their own. 0 or -1. */
int ingest_claims_flush(ingest_claims_t *self, ingest_pipe_t *pipe);
/* After the outcomes are known: every claim of ours is finished in the next
 * pipeline, accepted (by the watermark) when its event is stored and
 * released when nothing was; an UNSURE one stays pending for its resend to
 * settle, and the owner changes. */
void ingest_claims_finish(ingest_claims_t *self, const ingest_item_t *items, int a, int b);

/* Settles the claims a dead ingest left pending that this batch met:
 * accepted if the event is in a stored record, else released. Run after each
 * batch; 0 or -1. */
int ingest_claims_resolve(ingest_claims_t *self, ingest_pipe_t *pipe);
/* At (re)connect: migrates the pre-claim sk:{sN}:seen hashes into claims,
 * marks accepted the pending claims whose event is stored (a crash between
 * storing and settling), drops those stored records and the
 * watermarks of owners whose claims have all expired. 0 or -1
 * (Redis failed: drop the connection). */
int ingest_claims_recover(ingest_claims_t *self, ingest_pipe_t *pipe);

#endif
