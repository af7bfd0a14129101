/* queue — the reminder worker's side of the due queue (docs/REMINDERS.md):
 * the three Lua scripts (claim.lua, record.lua and ingest's dlq.lua, embedded with
 * sk_embed; their KEYS/ARGV/results are at their tops) loaded once and
 * called with EVALSHA, reloaded when Redis answers NOSCRIPT (a restart, a
 * SCRIPT FLUSH).
 *
 * A claim gives the caller a set of keys of one shard and the lease value
 * that is its token for them; every later call about a key passes that
 * token, and record.lua acts only while rproc still holds it.
 *
 * Invariants: at most REMINDER_QUEUE_BATCH_MAX keys per claim, each checked
 * to be a string of 1..SK_REMIND_KEY_MAX-1 bytes before the caller sees it.
 * hiredis types are declared, not included. */
#ifndef REMINDER_QUEUE_H
#define REMINDER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"
#include "sk_remind.h"

struct redisContext;

#define REMINDER_QUEUE_BATCH_MAX 1000
#define REMINDER_DLQ_MAX 100000 /* ingest's bound (INGEST_DLQ_MAX) on the dead-letter list */
#define REMINDER_DLQ_MAX_BYTES (64L << 20) /* ... records and bytes */

typedef struct reminder_queue reminder_queue_t;

/* Loads the scripts on c. NULL with err ("redis"). */
reminder_queue_t *reminder_queue_new(struct redisContext *c, sk_err_t *err);
void reminder_queue_destroy(reminder_queue_t **self_p);
/* Loads them again on a new connection. */
int reminder_queue_reload(reminder_queue_t *self, struct redisContext *c, sk_err_t *err);

typedef struct {
    int shard;
    int64_t lease; /* the token: rproc's score for every key claimed */
    size_t n;      /* keys claimed */
    size_t n_back; /* of which the first n_back came from expired leases */
    char (*keys)[SK_REMIND_KEY_MAX];
} reminder_claim_t;

/* One claim per shard, the 16 calls pipelined: claims[s] for shard s
 * (keys allocated by the call; reminder_claims_clear frees them). now_ms is
 * the clock's instant. Keys that are not strings of a key's size are
 * dropped from rproc's view here (left to expire) and counted in *bad. */
int reminder_queue_claim(reminder_queue_t *self, struct redisContext *c, int64_t now_ms,
                         int64_t lease_ms, int batch, reminder_claim_t claims[], size_t *bad,
                         sk_err_t *err);
void reminder_claims_clear(reminder_claim_t claims[]);

typedef enum {
    REMINDER_SETTLE_SENT = 0,
    REMINDER_SETTLE_DROP,
    REMINDER_SETTLE_RETRY,
    REMINDER_SETTLE_DEAD,
} reminder_settle_action_t;

typedef struct {
    reminder_settle_action_t action;
    const char *key;
    int shard;
    int64_t lease;
    const char *customer_id;
    const char *next_key; /* statement: the next one (NULL or "": none) */
    int64_t next_due_ms;
    const char *record;  /* sent: the JSON sent record */
    int64_t sent_ms;     /* sent: clock ms */
    int64_t backoff_ms;  /* retry */
    int ambiguous;       /* retry: 1 for an ambiguous outcome */
    const char *address; /* dead: the refused address */
    /* reminder, when sent, dropped or dead: the invoice's next reminder is
     * queued (the first of plan, in due order, that is not this key and is
     * neither sent nor in process) if the invoice inv_key is still at
     * inv_rev, the revision the plan was made from. nplan 0: none. */
    const char *inv_key;
    int64_t inv_rev;
    const sk_reminder_t *plan;
    size_t nplan;
} reminder_settle_t;

/* record.lua: 1 done, 0 the lease was no longer ours, -1 with err. */
int reminder_queue_settle(reminder_queue_t *self, struct redisContext *c,
                          const reminder_settle_t *s, sk_err_t *err);

/* dlq.lua: pushes one JSON dead letter. 0, or -1 with err. */
int reminder_queue_dead_letter(reminder_queue_t *self, struct redisContext *c, const char *json,
                               sk_err_t *err);

/* Retention (docs/REMINDERS.md): one page of shard's sent records, HSCAN
 * from *cursor (0 starts a pass) COUNT REMINDER_TRIM_PAGE; the records that
 * sk_remind_forgettable lets go at now_ms under retention_ms are removed with
 * their rlog entries (trim.lua), unless the key is queued or being sent
 * again. *cursor gets the next one (0: the pass over the shard ended),
 * *trimmed how many went. A record that is not JSON with a customer_id of an
 * id's size (the one a statement's key names) and an integer sent_ms is kept
 * and counted in *unreadable. 0, or -1 with err. */
#define REMINDER_TRIM_PAGE 100
int reminder_queue_trim(reminder_queue_t *self, struct redisContext *c, int shard,
                        unsigned long long *cursor, int64_t now_ms, int64_t retention_ms,
                        size_t *trimmed, size_t *unreadable, sk_err_t *err);

#endif
