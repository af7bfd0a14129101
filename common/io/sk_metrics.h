/* sk_metrics — a worker's counters, gauges and histograms, and the one
 * writer of their Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Debian has no C Prometheus client; this module is all of it that Skonto
 * needs. A worker registers every series it will ever touch at start (each
 * registration allocates), keeps the handles, and then only increments them
 * on its hot path: one relaxed atomic add, no lock and no allocation per
 * event. Another thread (the HTTP server, sk_metrics_http) renders the text
 * at any time, under the registry's mutex, which only registration also
 * takes.
 *
 * Invariants:
 *   - a family (one name) has one type, one help text and one set of label
 *     names; each distinct set of label values is one series, registered
 *     once (registering it again returns the same handle);
 *   - names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in
 *     `_total`, label names [a-zA-Z_][a-zA-Z0-9_]* not starting with "__";
 *   - values are integers: counters uint64, gauges int64, histograms observe
 *     nanoseconds and are written in seconds (bucket bounds and _sum in
 *     exact decimal, no floating point anywhere);
 *   - a histogram's _bucket lines are cumulative, end with le="+Inf", and its
 *     _count is that last bucket's value (so the two always agree);
 *   - every operation on a NULL handle is a no-op, so code can count
 *     whether or not metrics were set up. */
#ifndef SK_METRICS_H
#define SK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"

#define SK_METRICS_MAX_LABELS 4   /* label pairs per series */
#define SK_METRICS_MAX_BUCKETS 24 /* finite bucket bounds per histogram */
#define SK_METRICS_NAME_MAX 128   /* bytes of a metric or label name */
#define SK_METRICS_VALUE_MAX 256  /* bytes of a label value */
#define SK_METRICS_HELP_MAX 512   /* bytes of a help text */

typedef struct _sk_metrics_t sk_metrics_t;
typedef struct _sk_counter_t sk_counter_t;
typedef struct _sk_gauge_t sk_gauge_t;
typedef struct _sk_histogram_t sk_histogram_t;

/* Bucket bounds (ns) for request latencies, 100 us .. 10 s: what
 * sk_metrics_histogram uses when given none. */
extern const uint64_t SK_METRICS_LATENCY_NS[];
extern const size_t SK_METRICS_LATENCY_N;

sk_metrics_t *sk_metrics_new(void);
void sk_metrics_destroy(sk_metrics_t **self_p);

/* Registers (or finds) one series. `labels` is NULL or a NULL-terminated
 * list of name, value pairs: (const char *[]){"kind", "customer", NULL}.
 * NULL with err set when a name, a label or the help is invalid or clashes
 * with what the family was registered with (a programmer's mistake: the
 * worker should refuse to start), or when memory runs out. */
sk_counter_t *sk_metrics_counter(sk_metrics_t *self, const char *name, const char *help,
                                 const char *const *labels, sk_err_t *err);
sk_gauge_t *sk_metrics_gauge(sk_metrics_t *self, const char *name, const char *help,
                             const char *const *labels, sk_err_t *err);
/* bounds_ns: nbounds strictly increasing upper bounds in nanoseconds (+Inf
 * is implicit); NULL for SK_METRICS_LATENCY_NS. The name should end in
 * `_seconds`. */
sk_histogram_t *sk_metrics_histogram(sk_metrics_t *self, const char *name, const char *help,
                                     const char *const *labels, const uint64_t *bounds_ns,
                                     size_t nbounds, sk_err_t *err);

void sk_counter_add(sk_counter_t *c, uint64_t n);
void sk_counter_inc(sk_counter_t *c);
uint64_t sk_counter_value(const sk_counter_t *c);
void sk_gauge_set(sk_gauge_t *g, int64_t v);
void sk_gauge_add(sk_gauge_t *g, int64_t delta);
int64_t sk_gauge_value(const sk_gauge_t *g);
void sk_histogram_observe_ns(sk_histogram_t *h, uint64_t ns);
/* Observes the time from `since_ns` (sk_metrics_now_ns) to now. */
void sk_histogram_since(sk_histogram_t *h, uint64_t since_ns);
uint64_t sk_histogram_count(const sk_histogram_t *h);

/* The monotonic clock in nanoseconds, for latencies (never wall time). */
uint64_t sk_metrics_now_ns(void);

/* The whole registry in the text format: families in the order they were
 * first registered, each with its # HELP and # TYPE lines and then its
 * series in registration order. Returns a malloc'd NUL-terminated string
 * (the caller frees it) and its length in *len, or NULL when out of memory. */
char *sk_metrics_render(sk_metrics_t *self, size_t *len);

#endif
