/* reminder's metrics: what `GET /metrics` shows (README, "Metrics").
 *
 * Registered once at start, every series of every reason included (so a
 * counter reads 0 before its first event, never "absent"); the loop counts
 * through the calls below, each one atomic add. With SKONTO_METRICS_ADDR
 * set they are served over HTTP with /healthz (common/io/sk_metrics_http.h).
 * Every call is a no-op on NULL. */
#ifndef REMINDER_METRICS_H
#define REMINDER_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "sk_error.h"

/* Why a claimed key was not sent (docs/REMINDERS.md, "Reminder worker"). */
typedef enum {
    REMINDER_SKIP_NO_INVOICE = 0, /* the invoice is not stored (any more) */
    REMINDER_SKIP_PAID,           /* paid, or fully credited: no balance */
    REMINDER_SKIP_CANCELLED,
    REMINDER_SKIP_SUPERSEDED, /* the key's tier no longer ends on the key's day */
    REMINDER_SKIP_CLOSED,     /* the window has closed in the customer's zone */
    REMINDER_SKIP_COLLAPSED,  /* a later lead of the same window is also due */
    REMINDER_SKIP_OPTED_OUT,
    REMINDER_SKIP_NO_ADDRESS,
    REMINDER_SKIP_UNDELIVERABLE, /* the address is in undeliv */
    REMINDER_SKIP_NO_WINDOW,     /* a statement without an open window (advanced) */
    REMINDER_SKIP_ALREADY_SENT,  /* in rsent already */
    REMINDER_SKIP_NO_CUSTOMER,   /* a statement's customer is not stored */
    REMINDER_SKIP_BAD_KEY,       /* a member that is not a key */
    REMINDER_SKIP_N
} reminder_skip_t;

/* "paid", "no_window", ...: the label value and the log's word. */
const char *reminder_skip_name(reminder_skip_t r);

typedef enum { REMINDER_KIND_REMINDER = 0, REMINDER_KIND_STATEMENT = 1 } reminder_kind_t;

typedef struct _reminder_metrics_t reminder_metrics_t;

/* NULL with err set (naming the variable) when SKONTO_METRICS_ADDR is bad
 * or cannot be bound: the worker refuses to start. */
reminder_metrics_t *reminder_metrics_new(sk_err_t *err);
const char *reminder_metrics_address(const reminder_metrics_t *self);
void reminder_metrics_destroy(reminder_metrics_t **self_p);

void reminder_metrics_claimed(reminder_metrics_t *self, size_t due, size_t expired);
void reminder_metrics_sent(reminder_metrics_t *self, reminder_kind_t kind);
void reminder_metrics_skipped(reminder_metrics_t *self, reminder_skip_t why);
void reminder_metrics_retried(reminder_metrics_t *self);
void reminder_metrics_ambiguous(reminder_metrics_t *self);
void reminder_metrics_dead_lettered(reminder_metrics_t *self);
void reminder_metrics_lease_lost(reminder_metrics_t *self);
/* sent records forgotten after the retention (docs/REMINDERS.md) */
void reminder_metrics_forgotten(reminder_metrics_t *self, size_t n);
void reminder_metrics_redis_error(reminder_metrics_t *self);
void reminder_metrics_loop(reminder_metrics_t *self, bool redis_up);

#endif
