/* Tests of common/io/sk_auditverify: a log of 50 entries checkpointed every
 * 10 verifies; each tampering an attacker with write access to the store
 * (but not the signing key) can do is found, and the first wrong entry is
 * named: a changed byte, a changed byte with its stored hash rewritten, a
 * deleted entry, two swapped, a truncation, a rollback rewritten past a
 * checkpoint an auditor saved, a forged checkpoint, a fork. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_auditverify.h"

enum { N = 50, EVERY = 10, LEAF = 40 };

typedef struct {
    uint8_t bytes[LEAF];
    size_t len;
    sk_hash_t hash;
    uint64_t seq;
} entry_t;

typedef struct {
    entry_t e[N + 20];
    size_t n;
    size_t at;   /* iterator position */
    int fail_at; /* the iterator fails there, -1 never */
    char notes[N / EVERY + 4][SK_CHECKPOINT_MAX];
    size_t note_len[N / EVERY + 4];
    size_t nnotes;
} log_t;

static char dir[64];
static sk_checkpoint_signer_t *signer;
static sk_checkpoint_verifier_t *verifier;

static int s_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sk_av_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char sk[128], pk[128];
    snprintf(sk, sizeof sk, "%s/audit.key", dir);
    snprintf(pk, sizeof pk, "%s/audit.pub", dir);
    if (sk_checkpoint_keygen("skonto.test/audit", sk, pk, NULL) != 0)
        return -1;
    signer = sk_checkpoint_signer_load(sk, NULL);
    verifier = sk_checkpoint_verifier_load(pk, NULL);
    return signer && verifier ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    sk_checkpoint_signer_destroy(&signer);
    sk_checkpoint_verifier_destroy(&verifier);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_entry(entry_t *e, uint64_t seq, unsigned salt)
{
    e->len = (size_t)snprintf((char *)e->bytes, LEAF, "event %llu salt %u", (unsigned long long)seq,
                              salt);
    e->seq = seq;
    sk_merkle_leaf_hash(e->bytes, e->len, e->hash);
}

/* The honest log: entries 0..n-1 (salt 0), a checkpoint every EVERY. */
static void s_build(log_t *l, size_t n)
{
    memset(l, 0, sizeof *l);
    l->fail_at = -1;
    sk_merkle_t *t = sk_merkle_new();
    for (size_t i = 0; i < n; i++) {
        s_entry(&l->e[i], i, 0);
        assert_int_equal(sk_merkle_append_hash(t, l->e[i].hash, NULL), 0);
        if ((i + 1) % EVERY == 0) {
            sk_hash_t root;
            sk_merkle_root(t, root);
            assert_int_equal(sk_checkpoint_sign(signer, i + 1, root, (int64_t)(1000 + i),
                                                l->notes[l->nnotes], SK_CHECKPOINT_MAX,
                                                &l->note_len[l->nnotes], NULL),
                             0);
            l->nnotes++;
        }
    }
    l->n = n;
    sk_merkle_destroy(&t);
}

static int s_next(void *ctx, sk_audit_entry_t *out, sk_err_t *err)
{
    log_t *l = ctx;
    if ((int)l->at == l->fail_at)
        return sk_err_set(err, "redis", "stream read failed");
    if (l->at >= l->n)
        return 0;
    entry_t *e = &l->e[l->at++];
    out->leaf = e->bytes;
    out->len = e->len;
    out->stored_hash = e->hash;
    out->has_seq = true;
    out->seq = e->seq;
    return 1;
}

static void s_verify(log_t *l, sk_audit_result_t *res)
{
    sk_audit_note_t notes[N / EVERY + 4];
    for (size_t i = 0; i < l->nnotes; i++) {
        notes[i].text = l->notes[i];
        notes[i].len = l->note_len[i];
    }
    l->at = 0;
    sk_err_t err;
    assert_int_equal(sk_audit_verify(verifier, notes, l->nnotes, s_next, l, res, &err), 0);
}

static void s_expect(log_t *l, const char *reason, int64_t entry)
{
    sk_audit_result_t res;
    s_verify(l, &res);
    if (strcmp(res.reason, reason) != 0 || res.entry != entry)
        fail_msg("got %s at entry %lld (%s), want %s at %lld", res.reason, (long long)res.entry,
                 res.msg, reason, (long long)entry);
}

static void test_honest_log_verifies(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    sk_audit_result_t res;
    s_verify(&l, &res);
    assert_string_equal(res.reason, "ok");
    assert_int_equal(res.entry, -1);
    assert_int_equal(res.size, N);
    assert_int_equal(res.checkpoints_verified, N / EVERY);
    /* and no checkpoint at all: nothing to check the entries against but themselves */
    l.nnotes = 0;
    s_expect(&l, "ok", -1);
}

static void test_changed_byte(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    l.e[23].bytes[3] ^= 0x20;
    s_expect(&l, "leaf_hash", 23);
    /* the attacker also rewrites the hash kept beside: the signed root at 30
     * no longer comes out, and 20 is the first entry no matching root covers */
    sk_merkle_leaf_hash(l.e[23].bytes, l.e[23].len, l.e[23].hash);
    s_expect(&l, "root", 20);
}

static void test_deleted_and_swapped(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    memmove(&l.e[17], &l.e[18], (N - 18) * sizeof l.e[0]);
    l.n--;
    s_expect(&l, "sequence", 17);

    s_build(&l, N);
    entry_t tmp = l.e[5];
    l.e[5] = l.e[6];
    l.e[6] = tmp;
    s_expect(&l, "sequence", 5);
    /* swapped with their sequence numbers rewritten too: the root at 10 */
    l.e[5].seq = 5;
    l.e[6].seq = 6;
    s_expect(&l, "root", 0);
}

static void test_truncated(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    l.n = 35; /* XTRIM / XADD MAXLEN: the auditor still holds the checkpoint of 40 */
    s_expect(&l, "truncated", 35);
    l.n = 0; /* emptied */
    s_expect(&l, "truncated", 0);
}

/* Rolled back to the state of 30 entries, then other entries appended (with
 * consistent sequence numbers and hashes); the attacker cannot sign, so the
 * log shows only checkpoints up to 30, but the auditor saved 40 and 50. */
static void test_rollback_rewritten(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    for (size_t i = 30; i < N; i++)
        s_entry(&l.e[i], i, 7);
    s_expect(&l, "root", 30);
    /* only the log's own checkpoints (through 30): it verifies, which is why
     * auditors keep theirs */
    l.nnotes = 3;
    s_expect(&l, "ok", -1);
}

static void test_forged_checkpoint_and_fork(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    l.notes[2][l.note_len[2] - 5] ^= 0x01;
    sk_audit_result_t res;
    s_verify(&l, &res);
    assert_string_equal(res.reason, "bad_checkpoint");
    assert_int_equal(res.checkpoint, 2);
    assert_int_equal(res.entry, -1);

    /* the key holder signs two histories of size 20 */
    s_build(&l, N);
    sk_hash_t other;
    memset(other, 0x42, sizeof other);
    assert_int_equal(sk_checkpoint_sign(signer, 20, other, 5, l.notes[l.nnotes], SK_CHECKPOINT_MAX,
                                        &l.note_len[l.nnotes], NULL),
                     0);
    l.nnotes++;
    s_verify(&l, &res);
    assert_string_equal(res.reason, "fork");
    assert_int_equal(res.checkpoint, (int64_t)l.nnotes - 1);
}

static void test_iterator_error_stops(void **state)
{
    (void)state;
    static log_t l;
    s_build(&l, N);
    l.fail_at = 12;
    sk_audit_note_t note = {l.notes[0], l.note_len[0]};
    sk_audit_result_t res;
    sk_err_t err;
    assert_int_equal(sk_audit_verify(verifier, &note, 1, s_next, &l, &res, &err), -1);
    assert_string_equal(err.code, "redis");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest_log_verifies),
        cmocka_unit_test(test_changed_byte),
        cmocka_unit_test(test_deleted_and_swapped),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_rollback_rewritten),
        cmocka_unit_test(test_forged_checkpoint_and_fork),
        cmocka_unit_test(test_iterator_error_stops),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
