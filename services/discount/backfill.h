/* backfill — queues what was stored before the due queue existed
 * (docs/REMINDERS.md, "Discount worker, start (backfill)"), when a discount
 * worker starts, like migrate.h.
 *
 * When SK_KEY_REMIND_BACKFILL is absent: SCANs every invoice (packed
 * layout) and, for each open one with a balance, plans its reminders in its
 * customer's zone at now (remind.h) and queues its next reminder with
 * requeue.lua, which checks that the invoice's rev has not moved (an apply
 * in between queued its own plan) and queues the first key of the plan that
 * is neither sent nor in process; then SCANs every customer and queues its statement unless it
 * has one (HSETNX). Then it sets the marker, and later starts skip it.
 * Idempotent: a worker killed midway leaves no marker and the next start
 * does it again without queuing anything twice; two workers at once are
 * safe. An invoice still in the layout of before issue 7 is skipped (its
 * next event plans it). */
#ifndef DISCOUNT_BACKFILL_H
#define DISCOUNT_BACKFILL_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "remind.h"

typedef struct {
    long invoices;   /* open invoices whose plan was sent */
    long reminders;  /* reminder keys added */
    long statements; /* statements added */
    bool skipped;    /* the marker was set: nothing done */
} discount_backfill_t;

/* 0, or -1 and err (a Redis error: the marker is not set). */
int discount_backfill(redisContext *c, const sk_remind_settings_t *s, int64_t now_ms,
                      discount_backfill_t *out, sk_err_t *err);

/* The policy report's counters (common/invoice_rules.h, sk_invoice_policy)
 * rebuilt from the stored invoices, for what was stored before they existed:
 * when SK_KEY_POLICY_REBUILT is not SK_POLICY_REBUILT_VERSION (absent: a
 * store from before issue 10, or an operator who deleted it to rebuild; "1":
 * rebuilt before sk:{sN}:psp existed), empties sk:{sN}:pol, sk:{sN}:pcust and
 * sk:{sN}:psp of every shard, SCANs every invoice (packed layout; one in the old layout
 * is skipped) and adds what it contributes, then sets the marker. Run at
 * start, before the worker consumes: events applied meanwhile by OTHER
 * discount workers may be counted twice or lost, so rebuild with one worker
 * running (the README says so). A worker killed midway leaves no marker and
 * the next start does it again from empty counters. */
typedef struct {
    long invoices; /* invoices read */
    bool skipped;  /* the marker was set: nothing done */
} discount_policy_rebuild_t;

int discount_policy_rebuild(redisContext *c, discount_policy_rebuild_t *out, sk_err_t *err);

#endif
