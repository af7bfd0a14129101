/* ingest's metrics (see metrics.h). */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "item.h"
#include "sk_metrics.h"
#include "sk_metrics_event.h"
#include "sk_metrics_http.h"

/* Every reason code ingest answers (sk_event_reasons), so each series
 * exists from the start, and "other" for a code not in that list. */
#define S_NREASONS (SK_REASONS_N + 1)

static const char *s_reason(size_t i)
{
    return i < SK_REASONS_N ? sk_event_reasons[i] : "other";
}

enum { S_ACCEPTED, S_DUPLICATE, S_REJECTED };

struct _ingest_metrics_t {
    sk_metrics_http_t *http; /* the registry, and its server when SKONTO_METRICS_ADDR is set */
    sk_event_counters_t *events;
    sk_counter_t *rejections[S_NREASONS];
    sk_histogram_t *ack_latency;
    sk_gauge_t *batch;
    sk_counter_t *redis_errors;
};

static int s_register(sk_metrics_t *m, void *arg, sk_err_t *err)
{
    ingest_metrics_t *self = arg;
    self->events = sk_event_counters_new(
        m, "skonto_ingest_events_total",
        "Events handled, by kind and by the outcome ingest answered (or, for a PUB feed, "
        "decided)",
        (const char *[]){"accepted", "duplicate", "rejected", NULL}, err);
    if (!self->events)
        return -1;
    for (size_t i = 0; i < S_NREASONS; i++) {
        self->rejections[i] =
            sk_metrics_counter(m, "skonto_ingest_rejections_total",
                               "Events rejected (kept in the dead-letter list), by reason code",
                               (const char *[]){"reason", s_reason(i), NULL}, err);
        if (!self->rejections[i])
            return -1;
    }
    self->ack_latency = sk_metrics_histogram(
        m, "skonto_ingest_ack_latency_seconds",
        "Time from receiving an event to sending its Ack (its outcome durable in Redis)", NULL,
        NULL, 0, err);
    self->batch =
        sk_metrics_gauge(m, "skonto_ingest_batch_messages",
                         "Messages in the batch being handled (0 between batches)", NULL, err);
    self->redis_errors = sk_metrics_counter(
        m, "skonto_ingest_redis_errors_total",
        "Redis commands that failed, and connections lost or refused", NULL, err);
    return self->ack_latency && self->batch && self->redis_errors ? 0 : -1;
}

ingest_metrics_t *ingest_metrics_new(sk_err_t *err)
{
    ingest_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        sk_err_set(err, "out_of_memory", "metrics: out of memory");
    else if (!(self->http = sk_metrics_http_worker(s_register, self, err)))
        ingest_metrics_destroy(&self);
    return self;
}

const char *ingest_metrics_address(const ingest_metrics_t *self)
{
    return sk_metrics_http_address(self ? self->http : NULL);
}

void ingest_metrics_destroy(ingest_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_metrics_http_destroy(&(*self_p)->http); /* first: it reads the counters */
    sk_event_counters_destroy(&(*self_p)->events);
    free(*self_p);
    *self_p = NULL;
}

void ingest_metrics_outcome(ingest_metrics_t *self, const Skonto__V1__Envelope *env, int status,
                            const char *reason)
{
    if (!self)
        return;
    switch (status) {
    case INGEST_ACCEPTED:
        sk_event_counters_inc(self->events, env, S_ACCEPTED);
        break;
    case INGEST_DUPLICATE:
    case INGEST_UNCHANGED:
        sk_event_counters_inc(self->events, env, S_DUPLICATE);
        break;
    case INGEST_REJECTED: {
        sk_event_counters_inc(self->events, env, S_REJECTED);
        size_t i = 0;
        while (i + 1 < S_NREASONS && strcmp(s_reason(i), reason ? reason : ""))
            i++;
        sk_counter_inc(self->rejections[i]);
        break;
    }
    default:
        break;
    }
}

void ingest_metrics_acked(ingest_metrics_t *self, uint64_t received_ns)
{
    if (self)
        sk_histogram_since(self->ack_latency, received_ns);
}

void ingest_metrics_batch(ingest_metrics_t *self, int n)
{
    if (self)
        sk_gauge_set(self->batch, n);
}

void ingest_metrics_redis_error(ingest_metrics_t *self)
{
    if (self)
        sk_counter_inc(self->redis_errors);
}

void ingest_metrics_loop(ingest_metrics_t *self, bool redis_up)
{
    if (self)
        sk_metrics_http_alive(self->http, redis_up);
}
