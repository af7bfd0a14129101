/* ingest — the ERP-facing worker's shared state (see docs/DATAFLOW.md, event
 * path steps 1-4).
 *
 * main.c owns the sockets, the loop, signals and heartbeats; batch.c turns a
 * batch of received messages into Redis work and acknowledgements. One thread.
 *
 * Invariants:
 *   - an Ack is sent only after Redis has answered the command that made the
 *     outcome durable: the accept script (ACCEPTED / DUPLICATE) or the
 *     dead-letter LPUSH (REJECTED). When Redis fails the event gets no Ack
 *     at all and the client retries; de-duplication by event id makes the
 *     retry safe;
 *   - the bytes stored in the events stream are the bytes received, never a
 *     re-packed message;
 *   - a message from a peer never crashes the worker or blocks the ones
 *     behind it: every frame is bounded (ZMQ_MAXMSGSIZE) and validated. */
#ifndef SK_INGEST_H
#define SK_INGEST_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "event.h"
#include "keys.h"
#include "sk_error.h"
#include "terms.h"

#define INGEST_BATCH 256                     /* messages drained and pipelined together */
#define INGEST_MAX_SUBS 16                   /* SKONTO_INGEST_SUB endpoints */
#define INGEST_DLQ_MAX 100000                /* dead letters kept (oldest trimmed beyond) */
#define INGEST_O2C_MAX (SK_EVENT_ID_MAX + 8) /* "customer_id\tCUR" */

typedef enum {
    INGEST_PENDING = 0, /* valid so far; waiting for Redis */
    INGEST_ACCEPTED,
    INGEST_DUPLICATE,
    INGEST_REJECTED, /* err says why; becomes final once the dead letter is stored */
    INGEST_FAILED,   /* Redis could not record it: no Ack, the client retries */
} ingest_status_t;

/* Sequence tracking of one PUB source. */
typedef struct {
    char name[SK_EVENT_ID_MAX + 1];
    uint64_t last;     /* last sequence number seen (0 = none) */
    uint64_t new_gaps; /* missing numbers found since the last write to Redis */
    bool loaded;       /* last was read from sk:{sys}:seq */
    bool loading;      /* an HGET is in the current pipeline */
    bool dirty;        /* last must be written back */
} ingest_source_t;

typedef struct {
    int origin;                /* 0: the ROUTER; i >= 1: SUB socket i-1 */
    zmq_msg_t ident;           /* ROUTER routing id (origin 0) */
    bool delim;                /* the client (REQ) sent an empty delimiter: echo it */
    zmq_msg_t body;            /* the received bytes, stored as is */
    Skonto__V1__Envelope *env; /* decoded, NULL if undecodable */
    sk_event_kind_t kind;
    ingest_status_t status;
    sk_err_t err;
    int src; /* index into sources for a SUB message with a usable source, else -1 */
    /* resolution against Redis */
    int shard;          /* the customer's shard, where the accept script runs */
    bool need_customer; /* an order whose customer (or its terms) must be read */
    bool known_customer;
    bool writes_customer; /* a customer upsert, or an order with an inline customer */
    uint32_t cust_hash;   /* FNV-1a of the customer id, to spot dependencies quickly */
    uint32_t order_hash;  /* FNV-1a of the order id of an order */
    bool claimed;         /* its HSETNX created the order index entry */
    bool claim_found;     /* its HSETNX found an entry: compare customer and currency */
    const char *terms; /* terms that apply to an order: its own or inline (NULL: the stored ones) */
    bool stored_terms; /* terms came from Redis (not yet checked against this order) */
    char terms_buf[SK_TERMS_MAX_LEN];
    char o2c[INGEST_O2C_MAX]; /* the order index value "customer_id\tCUR" */
    /* which replies this item waits for in the current phase */
    uint8_t nrep;
    bool seq_load;
    bool dlq;          /* its dead letter is in the current pipeline */
    bool recheck_seen; /* rejected on what Redis said: a duplicate of an accepted event? */
    /* arguments of the accept script that must live until the command is queued */
    int kidx; /* index of its customer key in the script's KEYS, 0: none */
    char ckey[SK_KEY_MAX];
    char num[2][12];
} ingest_item_t;

/* Arguments of one accept call: 5 + per event 4 + 2 * 7 + a customer key. */
#define INGEST_MAX_ARGS (8 + INGEST_BATCH * 19)

typedef struct {
    const char *name;    /* SKONTO_WORKER_NAME */
    redisContext *redis; /* NULL while disconnected */
    char accept_sha[41];
    bool need_script; /* (re)load the accept script before the next write */
    void *router;
    void *subs[INGEST_MAX_SUBS];
    int nsubs;
    ingest_item_t items[INGEST_BATCH];
    int nitems;
    const char *argv[INGEST_MAX_ARGS];
    size_t lens[INGEST_MAX_ARGS];
    ingest_source_t *sources;
    size_t nsources, cap_sources;
    /* counters since start (heartbeat) and deltas not yet in sk:{sys}:ingest */
    uint64_t processed, errors, accepted, duplicate, rejected;
    int64_t pend_accepted, pend_duplicate, pend_rejected;
} ingest_t;

void ingest_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t ingest_now_ms(void);

/* Loads the accept script on the current connection. 0 or -1. */
int ingest_load_script(ingest_t *self);

/* Prepares items[i] to receive a message (initializes its frames). */
void ingest_item_init(ingest_item_t *it, int origin);
/* Releases what items[i] holds. */
void ingest_item_clear(ingest_item_t *it);
/* Decodes and validates the received body; sets status/err, kind, src. */
void ingest_item_decode(ingest_t *self, ingest_item_t *it);

/* Runs the Redis work for items[0..nitems) and sends every Ack it can.
 * Returns 0, or -1 when the Redis connection failed (the caller drops it and
 * reconnects; the items not yet acknowledged simply get no Ack). */
int ingest_process(ingest_t *self);

/* Writes pending counter deltas and the heartbeat (HSET sk:{sys}:hb). 0 or -1. */
int ingest_heartbeat(ingest_t *self);

#endif
