/* receive — frames into items: drains the waiting messages of the ROUTER and
 * the SUB sockets into a batch, without blocking, and decodes each.
 *
 * A DEALER client sends one frame, a serialized skonto.v1.Envelope; a REQ
 * client's empty delimiter is accepted too (and echoed in the Ack). A PUB
 * publication is one frame. Anything else is rejected bad_envelope (keeping
 * the last frame as the body), never a crash: at most a few frames of a
 * message are held (the rest of a long multipart message is dropped as it
 * is read), and each frame is bounded by ZMQ_MAXMSGSIZE. */
#ifndef INGEST_RECEIVE_H
#define INGEST_RECEIVE_H

#include "item.h"
#include "sources.h"

/* Drains up to max (<= INGEST_BATCH) waiting messages into items[], taking turns
 * between the sockets (origin 0 the ROUTER, origin i >= 1 SUB socket i-1)
 * so that one busy feed cannot starve the others; each is decoded and
 * validated, and its PUB source tracked. Returns how many. */
int ingest_receive(void *router, void *const *subs, int nsubs, ingest_sources_t *sources,
                   ingest_item_t *items, int max);

#endif
