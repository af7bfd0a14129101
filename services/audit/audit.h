/* audit — what the audit worker does with a request, an expiry and a
 * hand-off (docs/AUDIT.md section 8; the rules are common/override_rules.h).
 *
 * Who is asking is the ZAP User-Id of the message and its key's registered
 * role (the ZAP handler's Role property); nothing a message says about its
 * sender is read. Every string of a request is checked by its wire length
 * (audit_wire_check: a
 * NUL inside would make protobuf-c's C string shorter than what was sent)
 * and bounded; a malformed request is answered ERROR bad_request naming the
 * field, and not logged. A refusal by the rules is answered REFUSED and
 * logged (RefusedAttempt, or OverrideDecided with its refusal code). Worker-
 * set fields sent by a client are logged as a forged_field attempt and the
 * request is decided as if they were absent.
 *
 * Every function returns -1 only when Redis failed (the caller reconnects
 * and reloads the log); the reply is made in every case. */
#ifndef AUDIT_AUDIT_H
#define AUDIT_AUDIT_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "auditlog.h"
#include "metrics.h"
#include "sk_auth.h"
#include "sk_clock.h"
#include "sk_override.h"
#include "unknown.h"

#define AUDIT_TEXT_MAX 200       /* bytes of a reason or comment */
#define AUDIT_CORRELATION_MAX 64 /* bytes of a correlation */
#define AUDIT_LIST_DEFAULT 100
#define AUDIT_LIST_MAX 1000
#define AUDIT_EXPIRE_BATCH 100  /* expiries per loop turn */
#define AUDIT_HANDOFF_BATCH 100 /* hand-offs per shard and turn */

/* The worker's state, owned by main.c: every pointer is borrowed. */
typedef struct {
    redisContext *c;
    audit_log_t *log;
    const sk_registry_t *reg;
    sk_clock_t *clock;
    const sk_override_settings_t *settings;
    audit_metrics_t *metrics;
    audit_unknown_t *unknown;
    uint64_t requests, refused, handoffs, errors; /* for the heartbeat */
} audit_t;

/* One request from `user` of `role` (the ZAP User-Id and Role properties of
 * the message): the packed AuditReply into *out (malloc'd, *outlen bytes). */
int audit_handle(audit_t *a, const char *user, const char *role, const void *data, size_t len,
                 uint8_t **out, size_t *outlen);
/* Pending requests past their expiry become EXPIRED (at most a batch). */
int audit_expire(audit_t *a);
/* Logs what the discount workers handed over in sk:{sN}:auditq, then deletes it. */
int audit_handoffs(audit_t *a);

/* The ZAP handler refused an unknown key (32 bytes) from addr at now_ms
 * (monotonic): a RefusedAttempt unknown_key when unknown.h allows one,
 * else only counted. */
int audit_unknown_key(audit_t *a, const uint8_t key[32], const char *addr, int64_t now_ms);

/* 0 when every string field of the message data[0..len) (of type d,
 * recursively) is free of NUL bytes; else -1 and the field's name in
 * field[0..n). The message must already have unpacked. */
int audit_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                     char *field, size_t n);

#endif
