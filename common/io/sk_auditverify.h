/* sk_auditverify — checks an audit log against signed checkpoints and names
 * the first entry that is wrong: what `skontoctl audit verify` is to call.
 *
 * The caller hands the entries in log order through an iterator (from the
 * Redis stream, a file, ...) and the checkpoints it holds (the log's own and
 * those an auditor saved earlier, in any order), with the log's public key.
 * Every checkpoint's signature is checked first; then each entry is hashed
 * (RFC 6962 leaf) and appended to an sk_merkle_t, and at each checkpoint's
 * size the root must be the signed one. Memory is O(log n + checkpoints),
 * whatever the log's length.
 *
 * What it names (sk_audit_result_t.reason):
 *   "ok"              every entry and checkpoint agrees
 *   "bad_checkpoint"  a checkpoint is malformed or its signature is wrong
 *                     (result.checkpoint says which, result.entry is -1)
 *   "fork"            two validly signed checkpoints of one size disagree
 *   "leaf_hash"       entry i's bytes do not give the leaf hash stored beside
 *                     them: a changed byte
 *   "sequence"        entry i carries another sequence number than its
 *                     position: an entry deleted or entries reordered
 *   "root"            the entries up to a checkpoint's size do not give its
 *                     root (a change that also rewrote the stored hash, or a
 *                     history rolled back and rewritten); entry = the first
 *                     entry not covered by an earlier matching checkpoint
 *   "truncated"       the log ends before a checkpoint's size; entry = the
 *                     first missing one (a trim, or a rollback)
 * Only the first finding is reported: after it, nothing later can be
 * trusted either. */
#ifndef SK_AUDITVERIFY_H
#define SK_AUDITVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_checkpoint.h"
#include "sk_error.h"
#include "sk_merkle.h"

/* At most this many checkpoints in one verification. */
#define SK_AUDIT_MAX_CHECKPOINTS 10000000

typedef struct {
    const uint8_t *leaf; /* the exact stored bytes (an AuditEvent) */
    size_t len;
    const uint8_t *stored_hash; /* the leaf hash kept beside them, or NULL */
    bool has_seq;               /* the entry's own sequence number, when it has one */
    uint64_t seq;
} sk_audit_entry_t;

/* Fills *e with the next entry: 1, or 0 at the end, or -1 with err set (the
 * verification stops with that error). What *e points to must stay valid
 * until the next call. */
typedef int (*sk_audit_next_fn)(void *ctx, sk_audit_entry_t *e, sk_err_t *err);

typedef struct {
    const char *text;
    size_t len;
} sk_audit_note_t;

typedef struct {
    char reason[20];    /* see above */
    int64_t entry;      /* the first wrong entry (0-based), -1 when none */
    int64_t checkpoint; /* the index in notes of the checkpoint involved, -1 when none */
    uint64_t size;      /* entries read */
    sk_hash_t root;     /* their root */
    uint64_t checkpoints_verified;
    char msg[256]; /* one line for a person */
} sk_audit_result_t;

/* 0 when the verification ran (its finding in *res, ok or not), -1 when it
 * could not (the iterator failed, out of memory, too many checkpoints). */
int sk_audit_verify(const sk_checkpoint_verifier_t *key, const sk_audit_note_t *notes,
                    size_t nnotes, sk_audit_next_fn next, void *ctx, sk_audit_result_t *res,
                    sk_err_t *err);

#endif
