/* auditlog — the audit worker's log: the one appender of sk:{audit}:log, its
 * Merkle tree in memory, its signed checkpoints and its feed
 * (docs/AUDIT.md sections 1-3 and 8).
 *
 * Entry i is stored as stream id 0-(i+1) with fields seq (= i, decimal),
 * h (LH(i), 64 lower-case hex) and e (the exact AuditEvent bytes); the
 * append (append.lua) refuses unless the stream's length is i, and writes in
 * the same call the state the entry describes (audit_ops_t). The tree kept
 * here is the tree of what Redis holds: after any Redis failure the caller
 * reloads it (audit_log_load), since a lost reply may hide an append that
 * happened.
 *
 * audit_log_load reads the whole log, recomputes every leaf hash, checks
 * sequence numbers, stored hashes and stream ids, and checks the newest
 * checkpoint of sk:{audit}:cp by signing its (size, root, time) again with
 * the worker's key (Ed25519 is deterministic: the same bytes or not ours):
 * a log that does not verify is refused (code "log_corrupt") and the worker
 * does not start. A new, empty log gets the checkpoint of the empty tree.
 *
 * Checkpoints go to sk:{audit}:cp (XADD MAXLEN ~ AUDIT_CHECKPOINTS_KEPT:
 * auditors keep their own; the log is never trimmed) and to the feed (PUB,
 * topic "checkpoint"); entries to the feed under topic "entry". */
#ifndef AUDIT_AUDITLOG_H
#define AUDIT_AUDITLOG_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_checkpoint.h"
#include "sk_error.h"
#include "skonto/v1/skonto.pb-c.h"

#define AUDIT_CHECKPOINTS_KEPT 100000 /* sk:{audit}:cp MAXLEN ~ */
#define AUDIT_SNAPSHOT_MAX 1000       /* entries in one snapshot reply */
#define AUDIT_OPS_MAX 8

/* One state write of an entry (append.lua's ops). */
typedef struct {
    const char *op; /* "hset", "zadd", "zrem", "xadd" */
    const char *key;
    const void *a;
    size_t alen;
    const void *b;
    size_t blen;
} audit_op_t;

typedef struct {
    int n;
    audit_op_t op[AUDIT_OPS_MAX];
} audit_ops_t;

/* Adds an op (strings: len = strlen when given as SIZE_MAX). */
void audit_ops_add(audit_ops_t *ops, const char *op, const char *key, const void *a, size_t alen,
                   const void *b, size_t blen);

typedef struct {
    uint64_t entries, checkpoints, feed;
} audit_log_counts_t;

typedef struct _audit_log_t audit_log_t;

/* signer and pub (the feed's PUB socket, may be NULL) are borrowed. */
audit_log_t *audit_log_new(const sk_checkpoint_signer_t *signer, void *pub);
void audit_log_destroy(audit_log_t **self_p);

/* Loads the SHA of append.lua, reads and verifies the whole log (above).
 * 0; -1 and err: "log_corrupt" (refuse to start), "redis" (try again). */
int audit_log_load(audit_log_t *self, redisContext *c, sk_err_t *err);

/* Appends ev (its seq set here to the next position) with ops in one call;
 * *seq its position. -1 and err ("redis", or "position" when another writer
 * appended: reload). The entry is published on success. */
int audit_log_append(audit_log_t *self, redisContext *c, Skonto__V1__AuditEvent *ev,
                     const audit_ops_t *ops, uint64_t *seq, sk_err_t *err);

/* Signs, stores and publishes a checkpoint of the tree now (wall time). */
int audit_log_checkpoint(audit_log_t *self, redisContext *c, sk_err_t *err);
/* Entries appended since the last checkpoint. */
uint64_t audit_log_unsealed(const audit_log_t *self);
int64_t audit_log_last_checkpoint_ms(const audit_log_t *self); /* wall time */

uint64_t audit_log_size(const audit_log_t *self);
const char *audit_log_checkpoint_note(const audit_log_t *self); /* the newest, "" none */
const audit_log_counts_t *audit_log_counts(const audit_log_t *self);

/* Entries [from, from + max) as stored, into reply->entries (freed by
 * audit_log_snapshot_free). max 0 = AUDIT_SNAPSHOT_MAX. */
int audit_log_snapshot(audit_log_t *self, redisContext *c, uint64_t from, unsigned max,
                       Skonto__V1__AuditReply *reply, sk_err_t *err);
void audit_log_snapshot_free(Skonto__V1__AuditReply *reply);

#endif
