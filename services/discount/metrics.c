/* discount's metrics (see metrics.h). */
#include "metrics.h"

#include <stdlib.h>

#include "sk_metrics.h"
#include "sk_metrics_event.h"
#include "sk_metrics_http.h"

struct _discount_metrics_t {
    sk_metrics_http_t *http; /* the registry, and its server when SKONTO_METRICS_ADDR is set */
    sk_event_counters_t *entries;
    sk_histogram_t *latency;
    sk_gauge_t *batch, *retries;
    sk_counter_t *redis_errors;
};

static int s_register(sk_metrics_t *m, void *arg, sk_err_t *err)
{
    discount_metrics_t *self = arg;
    self->entries = sk_event_counters_new(
        m, "skonto_discount_entries_total",
        "Stream entries finished, by event kind and outcome (error: acknowledged without being "
        "recorded, see skontoctl dlq list --unapplied)",
        (const char *[]){"applied", "duplicate", "error", NULL}, err);
    if (!self->entries)
        return -1;
    self->latency = sk_metrics_histogram(
        m, "skonto_discount_apply_latency_seconds",
        "Time from reading a stream entry to its outcome in Redis (retries included)", NULL, NULL,
        0, err);
    self->batch = sk_metrics_gauge(m, "skonto_discount_batch_entries",
                                   "Entries in the batch being applied", NULL, err);
    self->retries = sk_metrics_gauge(
        m, "skonto_discount_retry_entries",
        "Entries waiting to be tried again (their invoice or an earlier event of their order "
        "not there yet, or a conflict)",
        NULL, err);
    self->redis_errors = sk_metrics_counter(
        m, "skonto_discount_redis_errors_total",
        "Redis commands that failed, and connections lost or refused", NULL, err);
    return self->latency && self->batch && self->retries && self->redis_errors ? 0 : -1;
}

discount_metrics_t *discount_metrics_new(sk_err_t *err)
{
    discount_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        sk_err_set(err, "out_of_memory", "metrics: out of memory");
    else if (!(self->http = sk_metrics_http_worker(s_register, self, err)))
        discount_metrics_destroy(&self);
    return self;
}

const char *discount_metrics_address(const discount_metrics_t *self)
{
    return sk_metrics_http_address(self ? self->http : NULL);
}

void discount_metrics_destroy(discount_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_metrics_http_destroy(&(*self_p)->http); /* first: it reads the counters */
    sk_event_counters_destroy(&(*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

void discount_metrics_entry(discount_metrics_t *self, const Skonto__V1__Envelope *env,
                            discount_metrics_outcome_t outcome, uint64_t read_ns)
{
    if (!self)
        return;
    sk_event_counters_inc(self->entries, env, (int)outcome);
    sk_histogram_since(self->latency, read_ns);
}

void discount_metrics_depth(discount_metrics_t *self, size_t batch, size_t retries)
{
    if (!self)
        return;
    sk_gauge_set(self->batch, (int64_t)batch);
    sk_gauge_set(self->retries, (int64_t)retries);
}

void discount_metrics_redis_error(discount_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->redis_errors);
}

void discount_metrics_loop(discount_metrics_t *self, bool redis_up)
{
    if (self)
        sk_metrics_http_alive(self->http, redis_up);
}
