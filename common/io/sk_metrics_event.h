/* sk_metrics_event — a counter per event kind and outcome, for any worker.
 *
 * `skonto_ingest_events_total{kind="order_shipped",outcome="accepted"}`: the
 * kinds are the Envelope's body cases under their sk_event_kind_name (read
 * from the generated descriptor, so a new kind in proto/ gets its counters
 * without a change here) plus "unknown" (no body, or undecodable); the
 * outcomes are the worker's. Every series is registered at creation, so all
 * of them are written from the start (a rate over a counter that appears
 * late misses its first increments), and counting an event is an array
 * lookup and one atomic add. */
#ifndef SK_METRICS_EVENT_H
#define SK_METRICS_EVENT_H

#include "event.h"
#include "sk_metrics.h"

#define SK_METRICS_EVENT_OUTCOMES 4 /* outcomes per table */

typedef struct _sk_event_counters_t sk_event_counters_t;

/* Registers name{kind,outcome} in m for every kind and each of the
 * NULL-terminated outcomes (at most SK_METRICS_EVENT_OUTCOMES). NULL with
 * err set on a bad name or no memory. */
sk_event_counters_t *sk_event_counters_new(sk_metrics_t *m, const char *name, const char *help,
                                           const char *const *outcomes, sk_err_t *err);
void sk_event_counters_destroy(sk_event_counters_t **self_p);

/* Counts one event (env NULL: "unknown") with outcomes[outcome]. NULL-safe. */
void sk_event_counters_inc(sk_event_counters_t *self, const Skonto__V1__Envelope *env, int outcome);

#endif
