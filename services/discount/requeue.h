/* requeue — batches of requeue.lua records for one shard (the invoices'
 * next reminders, the customers' statements), written by the backfill
 * (backfill.h) and a customer's re-time (retime.h). requeue.lua's top says
 * what a record does. */
#ifndef DISCOUNT_REQUEUE_H
#define DISCOUNT_REQUEUE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "remind.h"

typedef struct {
    redisContext *c;
    char sha[41]; /* requeue.lua's */
    int shard;
    int nrec;
    discount_argv_t keys, args, cmd;
    long reminders;  /* reminder keys queued so far */
    long statements; /* statements added so far */
} discount_requeue_t;

/* Starts a new batch for shard (what was added so far is kept). */
void discount_requeue_reset(discount_requeue_t *x, int shard);
/* Adds an invoice (its key and the rev it was read at): ops->drop leave rdue
 * (with replace, ops->add's keys too: a re-time, whose instants moved), then
 * the first of ops->add (due order) neither sent nor in process enters. */
void discount_requeue_invoice(discount_requeue_t *x, const char *inv_key, int64_t rev,
                              const discount_remind_ops_t *ops, bool replace);
/* Adds a customer's statement (queued only if it has none). */
void discount_requeue_statement(discount_requeue_t *x, const char *cid, const char *key,
                                int64_t due_ms);
/* Whether the batch should be flushed before another record. */
bool discount_requeue_full(const discount_requeue_t *x);
/* Runs the batch (none: nothing) and starts a new one. 0, or -1 and err ("redis"). */
int discount_requeue_flush(discount_requeue_t *x, sk_err_t *err);

/* requeue.lua, embedded at build time. */
extern const char DISCOUNT_REQUEUE_LUA[];

#endif
