/* sk_metrics_http — a worker's /metrics and /healthz over HTTP (libmicrohttpd).
 *
 * When SKONTO_METRICS_ADDR is set, a worker serves, from one thread of its
 * own:
 *   GET /metrics  the registry (sk_metrics) in the Prometheus text format;
 *   GET /healthz  200 "ok" while the worker's loop turns (it called
 *                 sk_metrics_http_alive within SK_METRICS_STALE_MS) and its
 *                 last word on Redis was "reachable"; else 503 and the
 *                 reason in one line ("starting", "redis unreachable",
 *                 "worker loop stalled for 12 s").
 * Anything else is 404 (405 for a method other than GET or HEAD).
 *
 * The address is host:port. No host (":9464") means 127.0.0.1: a worker's
 * metrics are reachable from other machines only when the address names
 * such a host explicitly (0.0.0.0:9464, 10.0.0.5:9464, [::]:9464). Port 0
 * lets the system pick one; sk_metrics_http_address says which, and the
 * worker logs it.
 *
 * The HTTP thread only reads: the registry under its mutex, the health
 * state from two atomics the worker writes. */
#ifndef SK_METRICS_HTTP_H
#define SK_METRICS_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "sk_error.h"
#include "sk_metrics.h"

#define SK_METRICS_STALE_MS 10000 /* a loop silent this long is reported stalled */
#define SK_METRICS_ADDR_MAX 128   /* bytes of "host:port" as bound */

typedef struct _sk_metrics_http_t sk_metrics_http_t;

/* Parses SKONTO_METRICS_ADDR's form (host:port, [v6]:port, :port) and
 * resolves the host. 0, or -1 with err naming what is wrong. */
int sk_metrics_addr_parse(const char *addr, struct sockaddr_storage *out, socklen_t *outlen,
                          sk_err_t *err);

/* Starts serving m (not owned; it must outlive the server) at addr. NULL
 * with err set when addr is bad or cannot be bound. */
sk_metrics_http_t *sk_metrics_http_new(sk_metrics_t *m, const char *addr, sk_err_t *err);

/* A worker's metrics in one object: makes a registry (owned by the result,
 * see sk_metrics_http_registry), lets reg register the worker's series in
 * it (reg returns 0 or -1 with err set), then serves it at
 * SKONTO_METRICS_ADDR when that is set; when it is unset or empty nothing
 * listens and the address is "". NULL with err set when reg fails or the
 * variable is bad (err names it). */
typedef int sk_metrics_register_fn(sk_metrics_t *m, void *arg, sk_err_t *err);
sk_metrics_http_t *sk_metrics_http_worker(sk_metrics_register_fn *reg, void *arg, sk_err_t *err);
/* The registry the server reads. */
sk_metrics_t *sk_metrics_http_registry(const sk_metrics_http_t *self);

void sk_metrics_http_destroy(sk_metrics_http_t **self_p);

/* "127.0.0.1:9464" (IPv6: "[::1]:9464") as bound: the real port when 0 was
 * asked; "" when nothing is served (and for NULL). */
const char *sk_metrics_http_address(const sk_metrics_http_t *self);

/* The worker's loop turned; redis_up: its Redis connection works. Cheap (two
 * atomic stores); NULL-safe. */
void sk_metrics_http_alive(sk_metrics_http_t *self, bool redis_up);

#endif
