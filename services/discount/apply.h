/* apply — what stream entries change, worked out in C before Redis runs it.
 *
 * The discount worker reads an entry's invoice (and, for an order, the
 * customer's terms and payment history), then calls discount_apply_plan,
 * which decodes them, asks the rules (common/invoice_rules.h) and writes
 * their answer as the entry's record of the apply script. The plan is
 * either "apply this record", "just acknowledge the entry" (nothing to change,
 * or an error that is logged and counted), or "the invoice is not there yet"
 * (leave the entry pending and retry it later). Applied and acknowledged
 * entries are appended to a batch (discount_batch_t): up to DISCOUNT_BATCH_ENTRIES
 * entries of one shard, with distinct orders, sent as ONE call of the apply
 * script — a script call costs Redis more than the commands it runs.
 *
 * The apply script (apply.lua, embedded as DISCOUNT_APPLY_LUA; its KEYS and
 * ARGV are at its top) is the only writer of an invoice. Its KEYS are all in
 * the batch's shard. An order's
 * events apply in the order ingest stored them (their `q`), across workers:
 * the invoice keeps the last applied q (in its header), and a plan waits while
 * an earlier one is missing (DISCOUNT_PLAN_WAIT).
 * An entry acknowledged because of an error (paid invoice, other currency,
 * malformed, ...) is kept on sk:{sN}:unapplied in the step that acks it. In one
 * atomic step, for each entry in order, it checks that the invoice's `rev` is
 * still the one the plan was computed from (else STALE: re-read and plan
 * again), XACKs the entry (0 acknowledged = already applied by another
 * worker: DUP, nothing changes), writes the new invoice (one value) and the
 * customer's open set and the invoice's reminders in the due queue
 * (remind.h); then, once for the whole batch, it adds the counter and
 * forecast deltas of the applied entries
 * (one HINCRBY per distinct field: the sums the worker computed for the
 * batch when every entry that changes state applies, else the applied
 * entries' own deltas summed by the script) and XDELs the acknowledged entries. It
 * returns one result per entry, in order: OK, DUP or STALE. So a worker
 * killed at any instant leaves either nothing or everything of a batch
 * applied, and an entry is never applied twice. */
#ifndef DISCOUNT_APPLY_H
#define DISCOUNT_APPLY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "event.h"
#include "override.h"
#include "sk_map.h"
#include "sk_remind.h"

#define DISCOUNT_ARGV_MAX 8192
#define DISCOUNT_ARGV_BYTES (512 * 1024)
#define DISCOUNT_ARGV_HEAD 16 /* room for the "*<argc>\r\n" header */
/* What one entry's record may take (else: "state too large to write"):
 * the state, SK_CHANGE_MAX_DELTAS (128) deltas (one argument) and up to
 * 2 x 64 reminder keys: 8 + 3 + 64 + 2 x 64 + 3 = 206 arguments. */
#define DISCOUNT_ENTRY_ARGS_MAX 640
#define DISCOUNT_ENTRY_BYTES 98304 /* ~100 deltas of up to ~360 bytes, the keys, the state */
/* The counter sums of a call (see DISCOUNT_APPLY_LUA): at most this many
 * (counter, field), in at most DISCOUNT_SUMS_BYTES; past either, or past
 * int64, the call carries none and the script sums the records' own. */
#define DISCOUNT_SUMS_MAX 512
#define DISCOUNT_SUMS_BYTES (64 * 1024)
/* Entries per script call: enough to spread the call's cost, few enough
 * that Redis is not blocked long (~64 x 15 us) and the reply stays small. */
#define DISCOUNT_BATCH_ENTRIES 64

/* One Redis command, built directly in the Redis protocol (RESP) in a fixed
 * buffer: no printf and no second formatting pass in hiredis (it is sent with
 * redisAppendFormattedCommand), and a peer cannot make it grow. */
typedef struct {
    int argc;
    size_t used; /* bytes after DISCOUNT_ARGV_HEAD */
    bool overflow;
    char buf[DISCOUNT_ARGV_BYTES];
} discount_argv_t;

void discount_argv_reset(discount_argv_t *a);
void discount_argv_add(discount_argv_t *a, const char *s, size_t len);
void discount_argv_addz(discount_argv_t *a, const char *s);
void discount_argv_add_i64(discount_argv_t *a, int64_t v);
/* Appends every argument of src to a. */
void discount_argv_append(discount_argv_t *a, const discount_argv_t *src);
/* The finished command; *len receives its length. Valid until the next reset. */
const char *discount_argv_resp(discount_argv_t *a, size_t *len);

/* One decoded stream entry. env is NULL when the payload was missing or
 * malformed (then `error` says why). */
typedef struct {
    int shard;
    char id[48];                /* stream entry id "ms-seq" */
    Skonto__V1__Envelope *env;  /* owned */
    sk_event_kind_t kind;
    const char *order_id;       /* into env, NULL for a customer upsert */
    const char *customer_id;    /* into env for an order, else NULL */
    char *raw;                  /* owned copy of the payload (NULL: none or out of memory) */
    char seq[24];               /* field `q`: its number among its order's events ("" if none) */
    char user[SK_OVERRIDE_USER_MAX + 1]; /* field `u`: the ZAP User-Id that sent it ("" unknown) */
    size_t rawlen;
    char error[512];
} discount_entry_t;

/* Decodes an entry's payload (field `e`); on failure env stays NULL and
 * e->error is set. */
void discount_entry_decode(discount_entry_t *e, int shard, const char *id, size_t idlen, const char *data,
                     size_t len);
void discount_entry_clear(discount_entry_t *e);

/* Which reads the plan needs (the worker pipelines them in this order). */
bool discount_entry_needs_invoice(const discount_entry_t *e);
bool discount_entry_needs_history(const discount_entry_t *e);     /* hist:<customer_id> */
/* HMGET cust:<customer_id> terms tz statement optout (every order: its zone
 * and statement settings time its reminders) */
bool discount_entry_needs_customer(const discount_entry_t *e);
#define DISCOUNT_CUSTOMER_FIELDS {"terms", "tz", "statement", "optout"}
#define DISCOUNT_CUSTOMER_NFIELDS 4

typedef enum {
    DISCOUNT_PLAN_SCRIPT = 0, /* EVALSHA with plan->argv */
    DISCOUNT_PLAN_ACK,        /* acknowledge only (ack-only script); see plan->error */
    DISCOUNT_PLAN_NOINV,      /* no invoice yet: leave pending, retry later */
    DISCOUNT_PLAN_WAIT,       /* an earlier event of the order is not applied yet, or its
                               * invoice is not migrated yet: retry later */
} discount_plan_kind_t;

typedef struct {
    discount_plan_kind_t kind;
    bool error;       /* counted as an error (message in msg) */
    char msg[1024];   /* what happened, for the log ("" when nothing to say) */
} discount_plan_t;

/* One call of the apply script: entries of one shard. Large (three argv
 * buffers): allocate it, do not put it on the stack. */
typedef struct {
    int shard;
    int n;         /* entries */
    int nkeys;     /* per-entry KEYS so far */
    int64_t at_ms; /* the time stamped on unapplied records (set by the caller) */
    discount_argv_t keys; /* per-entry KEYS (after the shard's, S_SHARD_KEYS in apply.c) */
    discount_argv_t args; /* the entries' records */
    discount_argv_t cmd;  /* the assembled EVALSHA */
    /* what the increments of the records that change state add up to, per
     * (KEYS index of the counter, field), in the order first met; sum_ix:
     * "<KEYS index>\t<field>" -> place in sums */
    int nsum;
    size_t sum_bytes;
    bool sums_off; /* too many, too large: the script sums the records' own */
    struct {
        int key;
        int64_t sum;
        char field[SK_ID_MAX + 48];
    } sums[DISCOUNT_SUMS_MAX];
    sk_map_t *sum_ix;
} discount_batch_t;

/* A batch, empty (reset it before each use); NULL when out of memory. */
discount_batch_t *discount_batch_new(void);
void discount_batch_destroy(discount_batch_t **self_p);
void discount_batch_reset(discount_batch_t *b, int shard);
/* True when it cannot take another entry (send it first). */
bool discount_batch_full(const discount_batch_t *b);
/* The EVALSHA command of the batch; *len its length; NULL if it overflowed
 * (cannot happen when discount_batch_full is respected). */
const char *discount_batch_command(discount_batch_t *b, const char *sha, size_t *len);

/* The business time an entry is planned at: today (the day an override is
 * applied on) and now, the clock's instant the due queue's instants are
 * computed at, with the reminder settings (NULL: the due queue is left
 * alone). */
typedef struct {
    sk_day_t today;
    int64_t now_ms;
    const sk_remind_settings_t *remind;
} discount_when_t;

/* Plans entry e given the replies of its reads (NULL where not read; inv
 * NULL for an order event means "not read: plan it as the first version",
 * which the script's rev check guards; cust is the HMGET of
 * DISCOUNT_CUSTOMER_FIELDS). For DISCOUNT_PLAN_SCRIPT and DISCOUNT_PLAN_ACK
 * appends the entry's record to b (whose shard must be e's and which must
 * not be full). An order's record carries its reminders' changes in the due
 * queue (remind.h) and, when the customer gets statements, its statement;
 * a payment, credit note or cancellation that closes the invoice or takes
 * its balance to 0 drops its reminders. */
void discount_apply_plan(const discount_entry_t *e, const redisReply *inv, const redisReply *hist,
                         const redisReply *cust, const discount_when_t *when, discount_batch_t *b,
                         discount_plan_t *plan);

/* Appends the acknowledge-only record of e (XACK + XDEL). When plan is not
 * NULL and plan->error is set, the event was not recorded: the record also
 * carries a JSON object {at_ms (b->at_ms), entry_id, event_id, order_id,
 * kind, reason (plan->msg), payload_bytes, payload_b64 (null above
 * DISCOUNT_UNAPPLIED_PAYLOAD_MAX bytes)} that the script LPUSHes onto
 * sk:{sN}:unapplied atomically with the XACK, once. */
#define DISCOUNT_UNAPPLIED_PAYLOAD_MAX 16384
void discount_apply_ack(const discount_entry_t *e, const discount_plan_t *plan,
                        bool invoice_exists, discount_batch_t *b);

/* Plans an approved override order (override.h) given the GET of its
 * invoice and the HMGET of its customer (DISCOUNT_CUSTOMER_FIELDS), on the
 * clock's today and now:
 *   DISCOUNT_PLAN_SCRIPT  a record appended to b (b's shard must be o's): the
 *                         override applied to the revision the order names
 *                         (sk_override_apply, the new invoice keeping it, the
 *                         counters, forecast, open set and reminders moved as
 *                         for any change: sk_invoice_on_override) with its
 *                         OverrideApplied hand-off, or, when the revision
 *                         differs ("stale"), the invoice is missing
 *                         ("unknown_order") or the rule refuses (its code),
 *                         only the hand-off saying why;
 *                         A malformed order (plan->error) that names its
 *                         override is refused "bad_request" the same way;
 *   DISCOUNT_PLAN_ACK     nothing to do but acknowledge: the invoice already
 *                         carries the override (a redelivery), or the order
 *                         is malformed and names no override (plan->error);
 *   DISCOUNT_PLAN_WAIT    the invoice cannot be read now: try again later.
 * *applies says which SCRIPT record it is: true for the override applied,
 * false for a refusal. The script answers OK, DUP (a refusal already handed
 * off) or STALE (the invoice moved since it was read: plan again). */
void discount_override_plan(const discount_override_t *o, const redisReply *inv,
                            const redisReply *cust, const discount_when_t *when,
                            discount_batch_t *b, discount_plan_t *plan, bool *applies);

/* apply.lua, embedded at build time. */
extern const char DISCOUNT_APPLY_LUA[];

#endif
