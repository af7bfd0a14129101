/* discount's metrics: what `GET /metrics` shows (README, "Metrics").
 *
 * Registered once at start; the loop counts through the calls below, each a
 * few atomic adds (no lock, no allocation). With SKONTO_METRICS_ADDR set
 * they are also served over HTTP with /healthz
 * (common/io/sk_metrics_http.h). Every call is a no-op on NULL. */
#ifndef DISCOUNT_METRICS_H
#define DISCOUNT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

typedef struct _discount_metrics_t discount_metrics_t;

/* How a stream entry ended. */
typedef enum {
    DISCOUNT_METRICS_APPLIED = 0, /* recorded */
    DISCOUNT_METRICS_DUPLICATE,   /* another worker had applied it already */
    DISCOUNT_METRICS_ERROR,       /* acknowledged without being recorded (sk:{sN}:unapplied) */
} discount_metrics_outcome_t;

/* Registers discount's metrics and serves them when SKONTO_METRICS_ADDR is
 * set. NULL with err set (naming the variable) when it is bad or the
 * address cannot be bound: the worker refuses to start. */
discount_metrics_t *discount_metrics_new(sk_err_t *err);
/* Where they are served ("127.0.0.1:9464"), "" when not. */
const char *discount_metrics_address(const discount_metrics_t *self);
void discount_metrics_destroy(discount_metrics_t **self_p);

/* An entry's outcome; read_ns: sk_metrics_now_ns when it was read from its stream. */
void discount_metrics_entry(discount_metrics_t *self, const Skonto__V1__Envelope *env,
                            discount_metrics_outcome_t outcome, uint64_t read_ns);
/* Entries in the batch being applied, and entries waiting in the retry list. */
void discount_metrics_depth(discount_metrics_t *self, size_t batch, size_t retries);
/* A Redis command failed or the connection was lost or refused. */
void discount_metrics_redis_error(discount_metrics_t *self);
/* The loop turned; redis_up: it has a working Redis connection (/healthz). */
void discount_metrics_loop(discount_metrics_t *self, bool redis_up);

#endif
