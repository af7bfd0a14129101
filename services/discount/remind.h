/* remind — what the discount worker writes into the due queue
 * (docs/REMINDERS.md, "Discount worker"), as pure computation.
 *
 * For one invoice changed from `old` to `neu` it answers which reminder keys
 * leave sk:{sN}:rdue and which enter it, with their due instants; for one
 * customer, the key and instant of its next statement. The apply step
 * (apply.c), the customer re-time (retime.c) and the backfill (backfill.c)
 * write these answers; nothing here does I/O.
 *
 * Invariants:
 *   - an invoice that is not open or has a balance of 0 (paid, cancelled,
 *     credited in full) plans nothing: all of its keys are dropped;
 *   - add[] is sk_remind_plan over the new tiers' last days in the
 *     customer's zone at now (a closed window: nothing; several passed
 *     reminders of one window: one, due now), in due order (equal instants
 *     in tier order). The due queue holds only the first of them that is
 *     neither sent nor being sent (the invoice's next reminder); whoever
 *     settles it queues the one after (docs/REMINDERS.md);
 *   - drop[] is every key of the old tiers x the current leads (and, for
 *     a re-time, of the same tiers) that add[] does not hold: a key is never
 *     in both, and a key of add[] is never dropped;
 *   - the same inputs give the same lists. */
#ifndef DISCOUNT_REMIND_H
#define DISCOUNT_REMIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_rules.h"
#include "sk_remind.h"

#define DISCOUNT_REMIND_MAX SK_REMIND_PLAN_MAX
_Static_assert(SK_TERMS_MAX_TIERS * SK_REMIND_MAX_LEADS <= SK_REMIND_PLAN_MAX,
               "a plan of the most tiers at the most leads fits");

typedef struct {
    char key[SK_REMIND_KEY_MAX];
    int64_t due_ms;
} discount_due_t;

typedef struct {
    size_t nadd;
    discount_due_t add[DISCOUNT_REMIND_MAX]; /* the plan: its first not sent nor in process is ZADDed */
    size_t ndrop;
    char drop[DISCOUNT_REMIND_MAX][SK_REMIND_KEY_MAX]; /* ZREM */
} discount_remind_ops_t;

/* A customer's profile as far as the queue needs it. */
typedef struct {
    const sk_tz_t *tz; /* never NULL after discount_profile_parse */
    sk_cadence_t cadence;
    bool optout;
} discount_profile_t;

/* From the customer hash's `tz`, `statement` and `optout` (each NULL or ""
 * when absent). Always fills p with something usable: an unknown zone is
 * the default zone, an unknown cadence weekly (the default of a new
 * customer). Returns 0, or -1 with err saying which field was bad (for the
 * log). */
int discount_profile_parse(const sk_remind_settings_t *s, const char *tz, const char *statement,
                           const char *optout, discount_profile_t *p, sk_err_t *err);

/* Whether inv gets reminders at all: open, with a balance above 0. */
bool discount_remind_open(const sk_invoice_t *inv);

/* The queue's change when invoice order_id goes from old to neu (either NULL:
 * none), in zone tz at now_ms. neu == old (the same pointer) is a re-time:
 * the invoice's keys planned again in a (new) zone. -1 and err for an order
 * id too long for a key. */
int discount_remind_diff(const sk_remind_settings_t *s, const char *order_id,
                         const sk_invoice_t *old, const sk_invoice_t *neu, const sk_tz_t *tz,
                         int64_t now_ms, discount_remind_ops_t *ops, sk_err_t *err);

/* The customer's next statement after now_ms: its key (buf of
 * SK_REMIND_KEY_MAX) and instant. false when it gets none (opted out,
 * cadence none, or an id too long for a key). */
bool discount_statement_next(const sk_remind_settings_t *s, const char *customer_id,
                             const discount_profile_t *p, int64_t now_ms, char *key,
                             int64_t *due_ms);

#endif
