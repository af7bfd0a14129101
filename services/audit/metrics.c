/* audit's metrics (see metrics.h). */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "sk_metrics.h"
#include "sk_metrics_http.h"

/* Every reason a RefusedAttempt or a refused OverrideDecided can carry:
 * sk_decision_name's, the worker's own, and override_rules.h's. */
static const char *const s_codes[] = {"bad_request",   "not_a_director",
                                      "self_approval", "stale",
                                      "expired",       "needs_finance_director",
                                      "wrong_role",    "forged_field",
                                      "unknown_order", "no_invoice",
                                      "not_open",      "bad_tier",
                                      "not_later",     "bad_last_day",
                                      "in_the_past",   "payment_in_extension",
                                      "bad_payment",   "not_after_window",
                                      "window_closed", "rate_not_higher",
                                      "bad_rate",      "nothing_to_waive",
                                      "no_effect",     "unknown_key",
                                      "other"};
#define S_NCODES (sizeof s_codes / sizeof *s_codes)

struct _audit_metrics_t {
    sk_metrics_http_t *http;
    sk_gauge_t *entries, *checkpoints, *feed, *size;
    sk_counter_t *refused[S_NCODES];
    sk_counter_t *handoffs, *handoffs_bad, *bad_requests, *unknown_keys, *unlogged, *redis_errors;
};

static int s_register(sk_metrics_t *m, void *arg, sk_err_t *err)
{
    audit_metrics_t *self = arg;
    self->entries = sk_metrics_gauge(
        m, "skonto_audit_entries_appended",
        "Entries this worker appended to the audit log since it started", NULL, err);
    self->checkpoints =
        sk_metrics_gauge(m, "skonto_audit_checkpoints",
                         "Checkpoints this worker signed since it started", NULL, err);
    self->feed = sk_metrics_gauge(m, "skonto_audit_feed_messages",
                                  "Messages (entries and checkpoints) published on the feed since "
                                  "start",
                                  NULL, err);
    self->size =
        sk_metrics_gauge(m, "skonto_audit_log_size", "Entries in the audit log", NULL, err);
    if (!self->entries || !self->checkpoints || !self->feed || !self->size)
        return -1;
    for (size_t k = 0; k < S_NCODES; k++)
        if (!(self->refused[k] = sk_metrics_counter(
                  m, "skonto_audit_refused_total",
                  "Refused attempts and refused decisions logged, by reason code",
                  (const char *[]){"reason", s_codes[k], NULL}, err)))
            return -1;
    const char *hh = "Hand-offs of the discount worker read from sk:{sN}:auditq";
    self->handoffs = sk_metrics_counter(m, "skonto_audit_handoffs_total", hh,
                                        (const char *[]){"outcome", "logged", NULL}, err);
    self->handoffs_bad = sk_metrics_counter(m, "skonto_audit_handoffs_total", hh,
                                            (const char *[]){"outcome", "undecodable", NULL}, err);
    self->bad_requests = sk_metrics_counter(
        m, "skonto_audit_bad_requests_total",
        "Requests answered ERROR bad_request (malformed, not logged)", NULL, err);
    self->unknown_keys = sk_metrics_counter(
        m, "skonto_audit_auth_refused_total",
        "Connections the ZAP handler refused (unknown key, or a role not admitted)", NULL, err);
    self->unlogged = sk_metrics_counter(
        m, "skonto_audit_unknown_key_unlogged_total",
        "Attempts of unknown keys counted without an entry of their own (one entry per key per "
        "SKONTO_AUDIT_UNKNOWN_KEY_EVERY, at most 60 an hour)",
        NULL, err);
    self->redis_errors =
        sk_metrics_counter(m, "skonto_audit_redis_errors_total",
                           "Redis commands that failed, and connections lost", NULL, err);
    return self->handoffs && self->handoffs_bad && self->bad_requests && self->unknown_keys &&
                   self->unlogged && self->redis_errors
               ? 0
               : -1;
}

audit_metrics_t *audit_metrics_new(sk_err_t *err)
{
    audit_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        sk_err_set(err, "out_of_memory", "metrics: out of memory");
    else if (!(self->http = sk_metrics_http_worker(s_register, self, err)))
        audit_metrics_destroy(&self);
    return self;
}

const char *audit_metrics_address(const audit_metrics_t *self)
{
    return sk_metrics_http_address(self ? self->http : NULL);
}

void audit_metrics_destroy(audit_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_metrics_http_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}

void audit_metrics_log(audit_metrics_t *self, uint64_t entries, uint64_t checkpoints, uint64_t feed,
                       uint64_t size)
{
    if (!self)
        return;
    sk_gauge_set(self->entries, (int64_t)entries);
    sk_gauge_set(self->checkpoints, (int64_t)checkpoints);
    sk_gauge_set(self->feed, (int64_t)feed);
    sk_gauge_set(self->size, (int64_t)size);
}

void audit_metrics_refused(audit_metrics_t *self, const char *code)
{
    if (!self)
        return;
    size_t k = 0;
    while (k + 1 < S_NCODES && strcmp(s_codes[k], code))
        k++;
    sk_counter_inc(self->refused[k]);
}

void audit_metrics_handoff(audit_metrics_t *self, bool logged)
{
    if (self)
        sk_counter_inc(logged ? self->handoffs : self->handoffs_bad);
}

void audit_metrics_bad_request(audit_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->bad_requests);
}

void audit_metrics_unknown_key(audit_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->unknown_keys);
}

void audit_metrics_unknown_unlogged(audit_metrics_t *self, uint64_t n)
{
    if (self)
        sk_counter_add(self->unlogged, n);
}

void audit_metrics_redis_error(audit_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->redis_errors);
}

void audit_metrics_loop(audit_metrics_t *self, bool redis_up)
{
    if (self)
        sk_metrics_http_alive(self->http, redis_up);
}
