/* audit's metrics: what `GET /metrics` shows (README, "Metrics").
 *
 * Registered once at start, every series of every reason included (a
 * counter reads 0 before its first event, never "absent"); served with
 * /healthz when SKONTO_METRICS_ADDR is set (common/io/sk_metrics_http.h).
 * Every call is a no-op on NULL. */
#ifndef AUDIT_METRICS_H
#define AUDIT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "sk_error.h"

typedef struct _audit_metrics_t audit_metrics_t;

audit_metrics_t *audit_metrics_new(sk_err_t *err);
const char *audit_metrics_address(const audit_metrics_t *self);
void audit_metrics_destroy(audit_metrics_t **self_p);

/* The log's totals (auditlog.h counts) since start: set, not added. */
void audit_metrics_log(audit_metrics_t *self, uint64_t entries, uint64_t checkpoints, uint64_t feed,
                       uint64_t size);
/* A refused attempt or decision, by its reason code (unknown codes: "other"). */
void audit_metrics_refused(audit_metrics_t *self, const char *code);
void audit_metrics_handoff(audit_metrics_t *self, bool logged); /* false: undecodable, dropped */
void audit_metrics_bad_request(audit_metrics_t *self);
void audit_metrics_unknown_key(audit_metrics_t *self);
/* n attempts of unknown keys counted, not logged (unknown.h). */
void audit_metrics_unknown_unlogged(audit_metrics_t *self, uint64_t n);
void audit_metrics_redis_error(audit_metrics_t *self);
void audit_metrics_loop(audit_metrics_t *self, bool redis_up);

#endif
