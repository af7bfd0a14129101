/* sk_auditverify — an audit log against its signed checkpoints (see
 * sk_auditverify.h). */
#include "sk_auditverify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct {
    sk_checkpoint_t cp;
    size_t idx; /* its place in the caller's notes */
} s_cp_t;

static int s_by_size(const void *a, const void *b)
{
    const s_cp_t *x = a, *y = b;
    if (x->cp.size != y->cp.size)
        return x->cp.size < y->cp.size ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void s_mark(sk_audit_result_t *res, const char *reason, int64_t entry, int64_t cp)
{
    snprintf(res->reason, sizeof res->reason, "%s", reason);
    res->entry = entry;
    res->checkpoint = cp;
}

/* The finding and its message (a macro: snprintf checks the format). */
#define S_FIND(res, reason, entry, cp, ...)                                                        \
    (s_mark((res), (reason), (entry), (cp)), snprintf((res)->msg, sizeof(res)->msg, __VA_ARGS__))

int sk_audit_verify(const sk_checkpoint_verifier_t *key, const sk_audit_note_t *notes,
                    size_t nnotes, sk_audit_next_fn next, void *ctx, sk_audit_result_t *res,
                    sk_err_t *err)
{
    memset(res, 0, sizeof *res);
    res->entry = res->checkpoint = -1;
    if (nnotes > SK_AUDIT_MAX_CHECKPOINTS)
        return sk_err_set(err, "too_many", "audit verify: %zu checkpoints, at most %d", nnotes,
                          SK_AUDIT_MAX_CHECKPOINTS);
    s_cp_t *cps = nnotes ? calloc(nnotes, sizeof *cps) : NULL;
    sk_merkle_t *tree = sk_merkle_new();
    if ((nnotes && !cps) || !tree) {
        free(cps);
        sk_merkle_destroy(&tree);
        return sk_err_set(err, "internal", "audit verify: out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < nnotes; i++) {
        sk_err_t e;
        if (sk_checkpoint_verify(key, notes[i].text, notes[i].len, &cps[i].cp, &e) != 0) {
            S_FIND(res, "bad_checkpoint", -1, (int64_t)i, "checkpoint %zu: %.200s", i, e.msg);
            goto done;
        }
        cps[i].idx = i;
    }
    res->checkpoints_verified = nnotes;
    if (nnotes > 1)
        qsort(cps, nnotes, sizeof *cps, s_by_size);
    for (size_t i = 1; i < nnotes; i++)
        if (cps[i].cp.size == cps[i - 1].cp.size &&
            sodium_memcmp(cps[i].cp.root, cps[i - 1].cp.root, SK_MERKLE_HASH_LEN) != 0) {
            S_FIND(res, "fork", -1, (int64_t)cps[i].idx,
                   "checkpoints %zu and %zu both sign size %llu with different roots: the log "
                   "showed two histories",
                   cps[i - 1].idx, cps[i].idx, (unsigned long long)cps[i].cp.size);
            goto done;
        }

    size_t ci = 0;
    uint64_t covered = 0; /* entries [0, covered) match a signed root */
    sk_hash_t root, lh;
    sk_merkle_root(tree, root);
    for (; ci < nnotes && cps[ci].cp.size == 0; ci++)
        if (sodium_memcmp(cps[ci].cp.root, root, SK_MERKLE_HASH_LEN) != 0) {
            S_FIND(res, "root", 0, (int64_t)cps[ci].idx,
                   "checkpoint %zu signs an empty log with another root than the empty tree's",
                   cps[ci].idx);
            goto done;
        }
    for (uint64_t i = 0;; i++) {
        sk_audit_entry_t e;
        memset(&e, 0, sizeof e);
        int got = next(ctx, &e, err);
        if (got < 0) {
            rc = -1;
            goto done;
        }
        if (got == 0)
            break;
        if (e.has_seq && e.seq != i) {
            if (e.seq > i)
                S_FIND(res, "sequence", (int64_t)i, -1,
                       "entry %llu carries sequence %llu: entries deleted before it",
                       (unsigned long long)i, (unsigned long long)e.seq);
            else
                S_FIND(res, "sequence", (int64_t)i, -1,
                       "entry %llu carries sequence %llu: entries reordered or repeated",
                       (unsigned long long)i, (unsigned long long)e.seq);
            goto done;
        }
        sk_merkle_leaf_hash(e.leaf, e.len, lh);
        if (e.stored_hash && sodium_memcmp(lh, e.stored_hash, SK_MERKLE_HASH_LEN) != 0) {
            S_FIND(res, "leaf_hash", (int64_t)i, -1,
                   "entry %llu: its bytes do not give the leaf hash stored beside them (changed)",
                   (unsigned long long)i);
            goto done;
        }
        if (sk_merkle_append_hash(tree, lh, err) != 0) {
            rc = -1;
            goto done;
        }
        res->size = i + 1;
        if (ci < nnotes && cps[ci].cp.size == i + 1) {
            sk_merkle_root(tree, root);
            for (; ci < nnotes && cps[ci].cp.size == i + 1; ci++)
                if (sodium_memcmp(cps[ci].cp.root, root, SK_MERKLE_HASH_LEN) != 0) {
                    S_FIND(res, "root", (int64_t)covered, (int64_t)cps[ci].idx,
                           "entries %llu..%llu do not give the root checkpoint %zu signed for "
                           "size %llu: entry %llu is the first not covered by a matching root",
                           (unsigned long long)covered, (unsigned long long)i, cps[ci].idx,
                           (unsigned long long)(i + 1), (unsigned long long)covered);
                    goto done;
                }
            covered = i + 1;
        }
    }
    sk_merkle_root(tree, res->root);
    if (ci < nnotes) {
        S_FIND(res, "truncated", (int64_t)res->size, (int64_t)cps[ci].idx,
               "the log ends after %llu entries, checkpoint %zu signed %llu: entry %llu is missing",
               (unsigned long long)res->size, cps[ci].idx, (unsigned long long)cps[ci].cp.size,
               (unsigned long long)res->size);
        goto done;
    }
    S_FIND(res, "ok", -1, -1, "%llu entries, %llu checkpoints verified",
           (unsigned long long)res->size, (unsigned long long)res->checkpoints_verified);
done:
    if (strcmp(res->reason, "ok") != 0 || rc != 0)
        sk_merkle_root(tree, res->root);
    free(cps);
    sk_merkle_destroy(&tree);
    return rc;
}
