/* reminder's metrics (see metrics.h). */
#include "metrics.h"

#include <stdlib.h>

#include "sk_metrics.h"
#include "sk_metrics_http.h"

static const char *const s_skip_names[REMINDER_SKIP_N] = {
    "no_invoice",   "paid",        "cancelled",  "superseded",    "closed",
    "collapsed",    "opted_out",   "no_address", "undeliverable", "no_window",
    "already_sent", "no_customer", "bad_key"};

const char *reminder_skip_name(reminder_skip_t r)
{
    return r >= 0 && r < REMINDER_SKIP_N ? s_skip_names[r] : "?";
}

struct _reminder_metrics_t {
    sk_metrics_http_t *http;
    sk_counter_t *claims_due, *claims_expired;
    sk_counter_t *sent[2];
    sk_counter_t *skipped[REMINDER_SKIP_N];
    sk_counter_t *retried, *ambiguous, *dead, *lease_lost, *redis_errors, *forgotten;
};

static int s_register(sk_metrics_t *m, void *arg, sk_err_t *err)
{
    reminder_metrics_t *self = arg;
    const char *ch = "Keys claimed from the due queue (due) or taken back from an expired lease "
                     "(expired: a worker died, or a retry's backoff ended)";
    self->claims_due = sk_metrics_counter(m, "skonto_reminder_claims_total", ch,
                                          (const char *[]){"from", "due", NULL}, err);
    self->claims_expired = sk_metrics_counter(m, "skonto_reminder_claims_total", ch,
                                              (const char *[]){"from", "expired", NULL}, err);
    const char *sh = "Reminders and statements the mail server (or the maildir) accepted";
    self->sent[0] = sk_metrics_counter(m, "skonto_reminder_sent_total", sh,
                                       (const char *[]){"kind", "reminder", NULL}, err);
    self->sent[1] = sk_metrics_counter(m, "skonto_reminder_sent_total", sh,
                                       (const char *[]){"kind", "statement", NULL}, err);
    if (!self->claims_due || !self->claims_expired || !self->sent[0] || !self->sent[1])
        return -1;
    for (int r = 0; r < REMINDER_SKIP_N; r++)
        if (!(self->skipped[r] =
                  sk_metrics_counter(m, "skonto_reminder_skipped_total",
                                     "Claimed keys not sent, by the reason the re-check found",
                                     (const char *[]){"reason", s_skip_names[r], NULL}, err)))
            return -1;
    self->retried = sk_metrics_counter(
        m, "skonto_reminder_retried_total",
        "Sends to be tried again after a backoff (4xx, lost connection, ambiguous)", NULL, err);
    self->ambiguous = sk_metrics_counter(
        m, "skonto_reminder_ambiguous_total",
        "Sends that failed after the whole body was sent (the mail may have arrived; resent "
        "with the same Message-ID)",
        NULL, err);
    self->dead = sk_metrics_counter(
        m, "skonto_reminder_dead_lettered_total",
        "Mails refused for good (5xx, or a mail that cannot be made): dead letters", NULL, err);
    self->lease_lost = sk_metrics_counter(
        m, "skonto_reminder_lease_lost_total",
        "Keys whose lease another worker took before this one settled them", NULL, err);
    self->redis_errors = sk_metrics_counter(
        m, "skonto_reminder_redis_errors_total",
        "Redis commands that failed, and connections lost or refused", NULL, err);
    self->forgotten = sk_metrics_counter(
        m, "skonto_reminder_sent_records_forgotten_total",
        "Sent records removed after SKONTO_SENT_RETENTION_DAYS (their keys cannot come back)",
        NULL, err);
    return self->retried && self->ambiguous && self->dead && self->lease_lost &&
                   self->redis_errors && self->forgotten
               ? 0
               : -1;
}

reminder_metrics_t *reminder_metrics_new(sk_err_t *err)
{
    reminder_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        sk_err_set(err, "out_of_memory", "metrics: out of memory");
    else if (!(self->http = sk_metrics_http_worker(s_register, self, err)))
        reminder_metrics_destroy(&self);
    return self;
}

const char *reminder_metrics_address(const reminder_metrics_t *self)
{
    return sk_metrics_http_address(self ? self->http : NULL);
}

void reminder_metrics_destroy(reminder_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_metrics_http_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}

void reminder_metrics_claimed(reminder_metrics_t *self, size_t due, size_t expired)
{
    if (!self)
        return;
    sk_counter_add(self->claims_due, due);
    sk_counter_add(self->claims_expired, expired);
}

void reminder_metrics_sent(reminder_metrics_t *self, reminder_kind_t kind)
{
    if (self)
        sk_counter_inc(self->sent[kind == REMINDER_KIND_STATEMENT]);
}

void reminder_metrics_skipped(reminder_metrics_t *self, reminder_skip_t why)
{
    if (self && why >= 0 && why < REMINDER_SKIP_N)
        sk_counter_inc(self->skipped[why]);
}

void reminder_metrics_retried(reminder_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->retried);
}

void reminder_metrics_ambiguous(reminder_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->ambiguous);
}

void reminder_metrics_dead_lettered(reminder_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->dead);
}

void reminder_metrics_lease_lost(reminder_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->lease_lost);
}

void reminder_metrics_forgotten(reminder_metrics_t *self, size_t n)
{
    if (self && n)
        sk_counter_add(self->forgotten, n);
}

void reminder_metrics_redis_error(reminder_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->redis_errors);
}

void reminder_metrics_loop(reminder_metrics_t *self, bool redis_up)
{
    if (self)
        sk_metrics_http_alive(self->http, redis_up);
}
