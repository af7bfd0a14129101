/* skonto-bench-merkle: the audit log's hashing on one core, no Redis:
 *   1. appends per second: N leaves of ~200 bytes hashed and appended to
 *      sk_merkle_t, the root taken after every append (what the audit worker
 *      does per entry);
 *   2. verify: sk_audit_verify over the same N leaves (each leaf hashed and
 *      compared with the hash stored beside it, appended, and the root
 *      compared at every checkpoint) with a signed checkpoint every 100
 *      entries, so every Ed25519 signature is checked too (target: 5 s or
 *      less for 1,000,000 entries).
 * Usage: skonto-bench-merkle [N]   (default 1000000) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "sk_auditverify.h"

enum { LEAF = 200, EVERY = 100 };

typedef struct {
    const uint8_t *leaves;
    const sk_hash_t *hashes;
    uint64_t n, at;
} s_iter_t;

static int s_next(void *ctx, sk_audit_entry_t *e, sk_err_t *err)
{
    (void)err;
    s_iter_t *it = ctx;
    if (it->at == it->n)
        return 0;
    e->leaf = it->leaves + it->at * LEAF;
    e->len = LEAF - (it->at % 16); /* 185..200 bytes */
    e->stored_hash = it->hashes[it->at];
    e->has_seq = true;
    e->seq = it->at++;
    return 1;
}

/* CPU time of this thread: the machine is shared, and "one core" is what
 * the target speaks of; wall time is printed beside it. */
static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The measurements over buffers main owns: 0, 1 when verify did not say
 * ok, 2 on a failure. */
static int s_run(uint64_t n, uint8_t *leaves, sk_hash_t *hashes, char *notes, sk_audit_note_t *nv)
{
    randombytes_buf(leaves, n * LEAF);

    char dir[] = "/tmp/sk_bench_merkle_XXXXXX", skp[64], pkp[64];
    if (!mkdtemp(dir))
        return 2;
    snprintf(skp, sizeof skp, "%s/k", dir);
    snprintf(pkp, sizeof pkp, "%s/p", dir);
    sk_err_t err;
    if (sk_checkpoint_keygen("bench/audit", skp, pkp, &err) != 0)
        return 2;
    sk_checkpoint_signer_t *signer = sk_checkpoint_signer_load(skp, &err);
    sk_checkpoint_verifier_t *key = sk_checkpoint_verifier_load(pkp, &err);
    unlink(skp);
    unlink(pkp);
    rmdir(dir);
    if (!signer || !key)
        return 2;

    /* 1a. appends alone (the root only at checkpoints) */
    sk_merkle_t *t = sk_merkle_new();
    double t0 = s_now(), w0 = s_wall();
    for (uint64_t i = 0; i < n; i++)
        if (sk_merkle_append(t, leaves + i * LEAF, LEAF - (i % 16), hashes[i], &err) != 0)
            return 2;
    double plain_s = s_now() - t0, plain_w = s_wall() - w0;
    printf("append: %" PRIu64 " leaves of 185..200 bytes: %.3f s CPU (%.3f s wall), %.0f "
           "appends/s\n",
           n, plain_s, plain_w, (double)n / plain_s);
    sk_merkle_destroy(&t);

    /* 1b. appends, a root after each, a checkpoint signed every EVERY */
    t = sk_merkle_new();
    sk_hash_t root;
    size_t k = 0;
    double sign_s = 0;
    t0 = s_now();
    for (uint64_t i = 0; i < n; i++) {
        if (sk_merkle_append(t, leaves + i * LEAF, LEAF - (i % 16), hashes[i], &err) != 0)
            return 2;
        sk_merkle_root(t, root);
        if ((i + 1) % EVERY == 0) {
            double s0 = s_now();
            char *note = notes + k * SK_CHECKPOINT_MAX;
            if (sk_checkpoint_sign(signer, i + 1, root, (int64_t)i, note, SK_CHECKPOINT_MAX,
                                   &nv[k].len, &err) != 0)
                return 2;
            nv[k++].text = note;
            sign_s += s_now() - s0;
        }
    }
    double append_s = s_now() - t0 - sign_s;
    printf("append: the same with the root after each: %.3f s CPU, %.0f appends/s\n", append_s,
           (double)n / append_s);
    printf("sign:   %zu checkpoints: %.3f s, %.0f signs/s\n", k, sign_s, (double)k / sign_s);

    /* 2. verify */
    s_iter_t it = {leaves, (const sk_hash_t *)hashes, n, 0};
    sk_audit_result_t res;
    t0 = s_now();
    w0 = s_wall();
    if (sk_audit_verify(key, nv, k, s_next, &it, &res, &err) != 0)
        return 2;
    double verify_s = s_now() - t0, verify_w = s_wall() - w0;
    printf("verify: %" PRIu64 " entries, %" PRIu64 " signed checkpoints: %.3f s CPU (%.3f s "
           "wall) (%s; target <= 5 s for 1,000,000)\n",
           res.size, res.checkpoints_verified, verify_s, verify_w, res.reason);
    int rc = strcmp(res.reason, "ok") == 0 ? 0 : 1;
    sk_merkle_destroy(&t);
    sk_checkpoint_signer_destroy(&signer);
    sk_checkpoint_verifier_destroy(&key);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0 || n > 50000000 || sodium_init() < 0) {
        fprintf(stderr, "usage: skonto-bench-merkle [N: 1..50000000]\n");
        return 2;
    }
    size_t ncp = n / EVERY + 1;
    uint8_t *leaves = malloc(n * LEAF);
    sk_hash_t *hashes = malloc(n * sizeof *hashes);
    char *notes = malloc(ncp * SK_CHECKPOINT_MAX);
    sk_audit_note_t *nv = malloc(ncp * sizeof *nv);
    int rc = leaves && hashes && notes && nv ? s_run(n, leaves, hashes, notes, nv) : 2;
    if (rc == 2)
        fprintf(stderr, "skonto-bench-merkle: failed (out of memory or /tmp not writable)\n");
    free(leaves);
    free(hashes);
    free(notes);
    free(nv);
    return rc;
}
