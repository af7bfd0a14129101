/* item — one received message on its way through a batch: its frames, the
 * decoded envelope, what ingest learned about it from Redis, and its state.
 *
 * An item's progress is one state (ingest_state_t); ingest_item_to is the
 * only place that changes it, and the only transitions are the ones its
 * table allows (a transition outside it is a programmer's mistake: assert).
 *
 *   RECEIVED --claim call--> CLAIMING --> CLAIMED (the event-id claim is ours)
 *                                     \-> DUPLICATE (the id was accepted before)
 *                                     \-> BUSY (another ingest holds the claim)
 *   CLAIMED --order index entry exists--> CHECKING --same customer, currency--> CLAIMED
 *   CLAIMED --accept script--> ACCEPTED | UNCHANGED | REJECTED (stale version)
 *   RECEIVED, CLAIMED, CHECKING --invalid--> REJECTED
 *   a valid state, DUPLICATE or REJECTED --Redis error--> FAILED (a BUSY
 *   item stays BUSY: it must keep the order-index entry another ingest uses);
 *   CLAIMED --the accept call failed as a whole--> UNSURE
 *
 * Valid so far: RECEIVED, CLAIMING, CLAIMED, CHECKING. Acknowledged:
 * ACCEPTED, DUPLICATE and UNCHANGED (both ACK_DUPLICATE), REJECTED (once its
 * dead letter is stored). No Ack (the client retries): FAILED, BUSY, UNSURE.
 *
 * Beside the state, what the item holds in Redis and must give back
 * (`holds`): its event-id claim (CLAIMED and every state after it: marked
 * accepted after ACCEPTED, left pending after UNSURE, released otherwise)
 * and the order-index entry its HSETNX created (released again when the
 * order is not stored, unless another ingest is storing it: BUSY). */
#ifndef INGEST_ITEM_H
#define INGEST_ITEM_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "event.h"
#include "keys.h"
#include "pipe.h"
#include "sk_error.h"
#include "terms.h"

#define INGEST_BATCH 256                     /* messages drained and pipelined together */
#define INGEST_O2C_MAX (SK_EVENT_ID_MAX + 8) /* "customer_id\tCUR" */

typedef enum {
    INGEST_RECEIVED = 0, /* valid so far; nothing asked of Redis yet */
    INGEST_CLAIMING,     /* its event id is in the current claim call */
    INGEST_CLAIMED,      /* the event-id claim is ours (pending); valid so far */
    INGEST_CHECKING,     /* claimed; an order whose index entry exists: step 1b compares */
    INGEST_ACCEPTED,     /* stored */
    INGEST_DUPLICATE,    /* the event id was accepted before */
    INGEST_UNCHANGED,    /* an order version accepted before with the same content */
    INGEST_REJECTED,     /* err says why; final once the dead letter is stored */
    INGEST_FAILED,       /* Redis could not record it: no Ack, the client retries */
    INGEST_BUSY,         /* another ingest holds the event id's claim: no Ack */
    INGEST_UNSURE,       /* its accept call failed as a whole: stored or not, only Redis knows */
    INGEST_NSTATES
} ingest_state_t;

/* What an item holds in Redis (bits of ingest_item_t.holds). */
#define INGEST_HOLDS_CLAIM 1u /* the event-id claim is ours: finish it after the outcome */
#define INGEST_HOLDS_INDEX 2u /* its HSETNX created the order-index entry */

typedef struct {
    int origin;                /* 0: the ROUTER; i >= 1: SUB socket i-1 */
    uint64_t received_ns;      /* sk_metrics_now_ns at receipt: the Ack latency's start */
    zmq_msg_t ident;           /* ROUTER routing id (origin 0) */
    bool delim;                /* the client (REQ) sent an empty delimiter: echo it */
    zmq_msg_t body;            /* the received bytes, stored as is */
    Skonto__V1__Envelope *env; /* decoded, NULL if undecodable */
    sk_event_kind_t kind;
    ingest_state_t state; /* change it only with ingest_item_to */
    unsigned holds;       /* INGEST_HOLDS_* */
    sk_err_t err;
    int src; /* index into the PUB sources for a SUB message with a usable source, else -1 */
    /* resolution against Redis */
    int shard;          /* the customer's shard, where the accept script runs */
    bool need_customer; /* an order whose customer (or its terms) must be read */
    bool known_customer;
    bool stored_customer; /* its HMGET found the customer stored (ingest.c remembers it) */
    bool writes_customer; /* a customer upsert, or an order with an inline customer */
    int eid_shard;        /* the event id's shard: where its claim lives */
    const char *terms; /* terms that apply to an order: its own or inline (NULL: the stored ones) */
    bool stored_terms; /* terms came from Redis (not yet checked against this order) */
    char terms_buf[SK_TERMS_MAX_LEN];
    char o2c[INGEST_O2C_MAX]; /* the order index value "customer_id\tCUR" */
    /* which replies this item waits for in the current phase */
    uint8_t nrep;
    bool seq_load;
    uint8_t dlq; /* its dead letter went in this segment's dead-letter call 1 or 2 */
    /* arguments of the accept script that must live until the command is queued */
    int kidx; /* index of its customer key in the script's KEYS, 0: none */
    char ckey[SK_KEY_MAX];
    char num[3][12];
    uint32_t version; /* an order's version (0 counts as 1) */
    char vhash[17];   /* an order's content hash (hex), to tell a resend from a change */
    char shash[17];   /* the hash of what its schedule comes from (terms, dates, amount, tax,
                       * currency): a new version that changes it needs an erp key */
} ingest_item_t;

/* Prepares it to receive a message (initializes its frames). */
void ingest_item_init(ingest_item_t *it, int origin);
/* Releases what it holds. */
void ingest_item_clear(ingest_item_t *it);
/* Decodes and validates the received body; sets state/err and kind. */
void ingest_item_decode(ingest_item_t *it);

/* Moves it to state `to` (a transition outside the table is a bug: asserted, logged). */
void ingest_item_to(ingest_item_t *it, ingest_state_t to);
/* Valid so far: RECEIVED, CLAIMING, CLAIMED or CHECKING. */
bool ingest_item_valid(const ingest_item_t *it);
/* Acknowledged with ACK_DUPLICATE: DUPLICATE or UNCHANGED. */
bool ingest_item_duplicate(const ingest_item_t *it);
/* Redis did not record it (FAILED, BUSY, UNSURE): no Ack, the client retries. */
bool ingest_item_unrecorded(const ingest_item_t *it);

/* Rejects it with a reason code and a message. */
void ingest_item_reject(ingest_item_t *it, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Redis could not record it: logs `what` and the reply, moves it to FAILED
 * (an item that has no Ack already stays as it is); a NOSCRIPT error marks
 * the pipe's scripts for reloading. */
void ingest_item_fail(ingest_item_t *it, ingest_pipe_t *pipe, const char *what,
                      const redisReply *r);
/* The same for an item whose accept call failed as a whole: UNSURE. */
void ingest_item_unsure(ingest_item_t *it, ingest_pipe_t *pipe, const redisReply *r);

/* The item's event id and source, sanitized for a log line or an Ack ("" if none). */
void ingest_item_ids(const ingest_item_t *it, char *eid, size_t neid, char *src, size_t nsrc);
/* The authenticated sender of a ROUTER message (CURVE + ZAP User-Id), or "". */
const char *ingest_item_user(const ingest_item_t *it);
/* Whether its sender may change an order's schedule with a new version
 * (docs/AUDIT.md section 8): a key registered as erp, a PUB source (an ERP
 * the operator configured), or any client when CURVE is off (no roles);
 * not a key registered as operator. */
bool ingest_item_may_reschedule(const ingest_item_t *it);

/* s ? s : "" */
const char *ingest_str(const char *s);

#endif
