/* sources — sequence tracking of the PUB feeds (SKONTO_INGEST_SUB).
 *
 * A PUB envelope carries its source and a per-source sequence number; ingest
 * keeps the last number seen per source (sk:{sys}:seq, read the first time a
 * source is met in a connection) and counts the numbers that never arrived
 * (sk:{sys}:gaps). Gaps can be detected, not repaired (README: "Sending
 * events"). An event Redis did not record counts as missing.
 *
 * Bounded: at most 4096 sources are tracked (a feed inventing sources stops
 * adding new ones). */
#ifndef INGEST_SOURCES_H
#define INGEST_SOURCES_H

#include "item.h"
#include "pipe.h"

typedef struct _ingest_sources_t ingest_sources_t;

ingest_sources_t *ingest_sources_new(void);
void ingest_sources_destroy(ingest_sources_t **self_p);

/* Sets it->src for a decoded SUB message with a sequence number: the record
 * of its source, created on first sight; -1 if the source is not a clean id
 * (the message is then rejected anyway). */
void ingest_sources_track(ingest_sources_t *self, ingest_item_t *it);
/* After a reconnect what was read from Redis may be stale: read it again. */
void ingest_sources_forget(ingest_sources_t *self);

/* Step 1: appends the HGET of the last number of its source if it was not
 * read yet (it->seq_load says so); 0 or -1. */
int ingest_sources_append_load(ingest_sources_t *self, ingest_pipe_t *pipe, ingest_item_t *it);
/* Reads that reply; 0 or -1 (connection lost). */
int ingest_sources_read_load(ingest_sources_t *self, ingest_pipe_t *pipe, ingest_item_t *it);
/* After the outcome: its number moves the source's last one on; a jump is a gap. */
void ingest_sources_account(ingest_sources_t *self, const ingest_item_t *it);
/* Step D: writes back the last numbers and the gaps found; 0 or -1. */
int ingest_sources_write(ingest_sources_t *self, ingest_pipe_t *pipe);

#endif
