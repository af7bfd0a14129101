/* ingest — the ERP-facing worker's shared state (see docs/DATAFLOW.md, event
 * path steps 1-4).
 *
 * main.c owns the sockets, the loop, signals and heartbeats; batch.c turns a
 * batch of received messages into Redis work and acknowledgements (main.c
 * calls batch.c, never the other way: both log through common/io/sk_log).
 * One thread, and the ZAP handler's.
 *
 * Invariants:
 *   - an Ack is sent only after Redis has answered the commands that made
 *     the outcome durable: the event-id claim and the accept script
 *     (ACCEPTED / DUPLICATE) or the dead-letter script (REJECTED). When Redis
 *     fails the event gets no Ack at all and the client retries;
 *     de-duplication by event id makes the retry safe;
 *   - an event id is accepted at most once in the whole system: its claim
 *     (sk:{sN}:eid:<id>, N = shard of the id) is taken before the event is
 *     stored and never marked accepted unless the event was stored; a claim
 *     left pending by a crash is settled (accepted if its event was stored,
 *     else released) when ingest restarts or when the event is resent
 *     (batch.c, ingest_recover and ingest_resolve);
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

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "event.h"
#include "keys.h"
#include "metrics.h"
#include "sk_conns.h"
#include "sk_error.h"
#include "sk_heartbeat.h"
#include "terms.h"

#define INGEST_BATCH 256                     /* messages drained and pipelined together */
#define INGEST_MAX_SUBS 16                   /* SKONTO_INGEST_SUB endpoints */
#define INGEST_DLQ_MAX 100000                /* dead letters kept (oldest trimmed beyond) */
#define INGEST_DLQ_MAX_BYTES (64L << 20)     /* ... and at most this many bytes of them */
#define INGEST_DLQ_HEAD 256                  /* bytes of an oversize payload kept in its dead letter */
#define INGEST_RCVHWM 256                    /* frames queued per connection (x SK_EVENT_FRAME_MAX) */
#define INGEST_O2C_MAX (SK_EVENT_ID_MAX + 8) /* "customer_id\tCUR" */
#define INGEST_LEASE_MS 30000   /* a pending claim older than this belongs to a dead ingest */
#define INGEST_RETENTION_DAYS 30 /* default of SKONTO_EVENT_ID_RETENTION_DAYS */
#define INGEST_OWNER_MAX (SK_EVENT_ID_MAX + 64) /* "p:<ms>:" + owner */
#define INGEST_OWNER_ID_MAX (SK_EVENT_ID_MAX + 36) /* owner: "<name>/<pid>/<start ms>" */

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
    uint64_t received_ns;      /* sk_metrics_now_ns at receipt: the Ack latency's start */
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
    uint32_t eid_hash;    /* FNV-1a of the event id, to spot a repeated id in a batch */
    int eid_shard;        /* the event id's shard: where its claim lives */
    bool claiming;        /* in the current claim calls */
    bool claim_ours;      /* the event-id claim is ours (pending): finish it after the outcome */
    bool busy;            /* the event id has another ingest's pending claim: no Ack */
    bool claimed;         /* its HSETNX created the order index entry */
    bool claim_found;     /* its HSETNX found an entry: compare customer and currency */
    const char *terms; /* terms that apply to an order: its own or inline (NULL: the stored ones) */
    bool stored_terms; /* terms came from Redis (not yet checked against this order) */
    char terms_buf[SK_TERMS_MAX_LEN];
    char o2c[INGEST_O2C_MAX]; /* the order index value "customer_id\tCUR" */
    /* which replies this item waits for in the current phase */
    uint8_t nrep;
    bool seq_load;
    uint8_t dlq;       /* its dead letter went in this segment's dead-letter call 1 or 2 */
    bool unchanged;    /* a resent order version with the same content: duplicate, not stored */
    bool unsure;       /* its accept call failed as a whole: stored or not, only Redis knows */
    /* arguments of the accept script that must live until the command is queued */
    int kidx; /* index of its customer key in the script's KEYS, 0: none */
    char ckey[SK_KEY_MAX];
    char num[3][12];
    uint32_t version;  /* an order's version (0 counts as 1) */
    char vhash[17];    /* an order's content hash (hex), to tell a resend from a change */
} ingest_item_t;

/* A claim to finish in the next pipeline: mark it accepted ('a') or release
 * it ('r') if it still holds `expect`; or drop a stored marker ('u'). */
typedef struct {
    char action;
    int shard; /* 'u': the shard of the stored marker */
    char expect[INGEST_OWNER_MAX];
    char eid[SK_EVENT_ID_MAX + 1];
} ingest_finish_t;
#define INGEST_MAX_FINISH (2 * INGEST_BATCH)

/* Arguments of one accept call: 7 + per event 7 + 2 * 7 + a customer key. */
#define INGEST_MAX_ARGS (8 + INGEST_BATCH * 22)

typedef struct {
    const char *name;    /* SKONTO_WORKER_NAME */
    redisContext *redis; /* NULL while disconnected */
    char accept_sha[41], claim_sha[41], dlq_sha[41];
    char owner[INGEST_OWNER_ID_MAX]; /* "<name>/<pid>/<start ms>": whose pending claims */
    int64_t retention_ms;         /* how long an event id is remembered */
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
    ingest_finish_t finbuf[2][INGEST_MAX_FINISH];
    ingest_finish_t *finish, *flushing; /* queued for the next pipeline / in it */
    int nfinish, nflushing;
    ingest_finish_t resolve[INGEST_BATCH]; /* dead ingests' claims met, to settle */
    int nresolve;
    uint8_t flush_cmd[SK_SHARDS]; /* bit 1: a claim script call, bit 2: an HDEL of markers */
    /* claim keys of the command being built: a shard's finishes and claims */
    char keys[INGEST_MAX_FINISH + INGEST_BATCH][SK_KEY_MAX];
    int64_t claim_ms;   /* wall time of the current segment's claims */
    int64_t claim_mono; /* ... and on the monotonic clock (lease check) */
    const sk_conns_t *conns; /* the ROUTER's connections: closed ones are counted */
    ingest_metrics_t *metrics; /* GET /metrics (metrics.h) */
    /* counters since start (heartbeat; the exact ones are in Redis) */
    uint64_t processed, errors, accepted, duplicate, rejected;
} ingest_t;


/* The Lua scripts, services/ingest/{claim,accept,dlq}.lua embedded at build
 * time (each says its KEYS and ARGV at its top). */
extern const char INGEST_CLAIM_LUA[], INGEST_ACCEPT_LUA[], INGEST_DLQ_LUA[];

/* Loads the Lua scripts on the current connection. 0 or -1. */
int ingest_load_script(ingest_t *self);

/* At (re)connect: migrates the pre-claim sk:{sN}:seen hashes into claims,
 * marks accepted the pending claims whose event is stored (a crash between
 * storing and settling) and drops stored markers no longer needed. 0 or -1
 * (Redis failed: drop the connection). */
int ingest_recover(ingest_t *self);

/* Settles the claims a dead ingest left pending that this batch met (see
 * s_claim_held in batch.c): accepted if the event is in a stored set, else
 * released. Run after each batch; 0 or -1. */
int ingest_resolve(ingest_t *self);

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

/* Flushes queued claim finishes and writes the heartbeat hb with ingest's
 * counters (HSET sk:{sys}:hb, common/io/sk_heartbeat). 0 or -1. */
int ingest_heartbeat(ingest_t *self, sk_heartbeat_t *hb);

#endif
