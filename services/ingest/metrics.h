/* ingest's metrics: what `GET /metrics` shows (README, "Metrics").
 *
 * Registered once at start; the loop (main.c) and reply.c count through the calls
 * below, each a few atomic adds (no lock, no allocation). With
 * SKONTO_METRICS_ADDR set they are also served over HTTP with /healthz
 * (common/io/sk_metrics_http.h). Every call is a no-op on NULL. */
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

typedef struct _ingest_metrics_t ingest_metrics_t;

/* Registers ingest's metrics and serves them when SKONTO_METRICS_ADDR is
 * set. NULL with err set (naming the variable) when it is bad or the
 * address cannot be bound: the worker refuses to start. */
ingest_metrics_t *ingest_metrics_new(sk_err_t *err);
/* Where they are served ("127.0.0.1:9464"), "" when not. */
const char *ingest_metrics_address(const ingest_metrics_t *self);
void ingest_metrics_destroy(ingest_metrics_t **self_p);

/* An event's outcome was decided: status an ingest_state_t (accepted,
 * duplicate or unchanged, and rejected are counted, with the rejection's reason code). */
void ingest_metrics_outcome(ingest_metrics_t *self, const Skonto__V1__Envelope *env, int status,
                            const char *reason);
/* Its Ack was sent; received_ns: sk_metrics_now_ns when it was received. */
void ingest_metrics_acked(ingest_metrics_t *self, uint64_t received_ns);
/* Messages in the batch being handled (0 between batches). */
void ingest_metrics_batch(ingest_metrics_t *self, int n);
/* A Redis command failed or the connection was lost or refused. */
void ingest_metrics_redis_error(ingest_metrics_t *self);
/* The loop turned; redis_up: it has a working Redis connection (/healthz). */
void ingest_metrics_loop(ingest_metrics_t *self, bool redis_up);

#endif
