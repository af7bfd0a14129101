/* sk_merkle — RFC 6962 tree hashes, the compact-range appender, proofs and
 * their verification (see sk_merkle.h). */
#include "sk_merkle.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct _sk_merkle_t {
    uint64_t size;
    /* stack[i] is the root of a perfect subtree; depth = popcount(size). */
    sk_hash_t stack[64];
    unsigned depth;
};

void sk_merkle_leaf_hash(const void *leaf, size_t len, sk_hash_t out)
{
    static const uint8_t prefix = 0x00;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, leaf, len);
    crypto_hash_sha256_final(&st, out);
}

void sk_merkle_node_hash(const sk_hash_t left, const sk_hash_t right, sk_hash_t out)
{
    /* one buffer, one update: cheaper than three updates on a 65-byte input */
    uint8_t buf[1 + 2 * SK_MERKLE_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, SK_MERKLE_HASH_LEN);
    memcpy(buf + 1 + SK_MERKLE_HASH_LEN, right, SK_MERKLE_HASH_LEN);
    crypto_hash_sha256(out, buf, sizeof buf);
}

void sk_merkle_empty_root(sk_hash_t out)
{
    crypto_hash_sha256(out, (const unsigned char *)"", 0);
}

/* The largest power of two strictly below n, n >= 2: RFC 6962's split. */
static uint64_t s_split(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

void sk_merkle_tree_hash(const sk_hash_t *lh, uint64_t n, sk_hash_t out)
{
    if (n == 0) {
        sk_merkle_empty_root(out);
        return;
    }
    if (n == 1) {
        memcpy(out, lh[0], SK_MERKLE_HASH_LEN);
        return;
    }
    uint64_t k = s_split(n);
    sk_hash_t l, r;
    sk_merkle_tree_hash(lh, k, l);
    sk_merkle_tree_hash(lh + k, n - k, r);
    sk_merkle_node_hash(l, r, out);
}

sk_merkle_t *sk_merkle_new(void)
{
    return calloc(1, sizeof(sk_merkle_t));
}

void sk_merkle_destroy(sk_merkle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

int sk_merkle_append_hash(sk_merkle_t *self, const sk_hash_t leaf_hash, sk_err_t *err)
{
    if (self->size >= SK_MERKLE_MAX_SIZE)
        return sk_err_set(err, "log_full", "merkle: the tree holds %llu leaves, the most it may",
                          (unsigned long long)self->size);
    sk_hash_t h;
    memcpy(h, leaf_hash, SK_MERKLE_HASH_LEN);
    /* Each trailing 1 bit of size is a perfect subtree of the same height as
     * the one being carried: merge them, as binary addition carries. */
    for (uint64_t s = self->size; s & 1; s >>= 1) {
        self->depth--;
        sk_merkle_node_hash(self->stack[self->depth], h, h);
    }
    memcpy(self->stack[self->depth++], h, SK_MERKLE_HASH_LEN);
    self->size++;
    return 0;
}

int sk_merkle_append(sk_merkle_t *self, const void *leaf, size_t len, sk_hash_t out, sk_err_t *err)
{
    sk_hash_t h;
    sk_merkle_leaf_hash(leaf, len, h);
    if (sk_merkle_append_hash(self, h, err) != 0)
        return -1;
    if (out)
        memcpy(out, h, SK_MERKLE_HASH_LEN);
    return 0;
}

uint64_t sk_merkle_size(const sk_merkle_t *self)
{
    return self->size;
}

void sk_merkle_root(const sk_merkle_t *self, sk_hash_t out)
{
    if (self->depth == 0) {
        sk_merkle_empty_root(out);
        return;
    }
    /* The right-most (smallest) subtree is the deepest right child; fold
     * leftwards: that is MTH's split at the largest power of two. */
    sk_hash_t h;
    memcpy(h, self->stack[self->depth - 1], SK_MERKLE_HASH_LEN);
    for (unsigned i = self->depth - 1; i-- > 0;)
        sk_merkle_node_hash(self->stack[i], h, h);
    memcpy(out, h, SK_MERKLE_HASH_LEN);
}

/* PATH(m, D[n]) of RFC 6962 2.1.1, appended to proof (leaf end first). */
static void s_path(const sk_hash_t *lh, uint64_t n, uint64_t m, sk_hash_t *proof, size_t *len)
{
    if (n <= 1)
        return;
    uint64_t k = s_split(n);
    if (m < k) {
        s_path(lh, k, m, proof, len);
        sk_merkle_tree_hash(lh + k, n - k, proof[(*len)++]);
    } else {
        s_path(lh + k, n - k, m - k, proof, len);
        sk_merkle_tree_hash(lh, k, proof[(*len)++]);
    }
}

/* SUBPROOF(m, D[n], b) of RFC 6962 2.1.2. */
static void s_subproof(const sk_hash_t *lh, uint64_t n, uint64_t m, bool whole, sk_hash_t *proof,
                       size_t *len)
{
    if (m == n) {
        if (!whole)
            sk_merkle_tree_hash(lh, n, proof[(*len)++]);
        return;
    }
    uint64_t k = s_split(n);
    if (m <= k) {
        s_subproof(lh, k, m, whole, proof, len);
        sk_merkle_tree_hash(lh + k, n - k, proof[(*len)++]);
    } else {
        s_subproof(lh + k, n - k, m - k, false, proof, len);
        sk_merkle_tree_hash(lh, k, proof[(*len)++]);
    }
}

int sk_merkle_inclusion_proof(const sk_hash_t *lh, uint64_t n, uint64_t index,
                              sk_hash_t proof[SK_MERKLE_MAX_PROOF], size_t *len, sk_err_t *err)
{
    *len = 0;
    if (n > SK_MERKLE_MAX_SIZE || index >= n)
        return sk_err_set(err, "bad_proof_request", "merkle: no leaf %llu in a tree of %llu leaves",
                          (unsigned long long)index, (unsigned long long)n);
    s_path(lh, n, index, proof, len);
    return 0;
}

int sk_merkle_consistency_proof(const sk_hash_t *lh, uint64_t n, uint64_t m,
                                sk_hash_t proof[SK_MERKLE_MAX_PROOF], size_t *len, sk_err_t *err)
{
    *len = 0;
    if (n > SK_MERKLE_MAX_SIZE || m == 0 || m > n)
        return sk_err_set(err, "bad_proof_request",
                          "merkle: no consistency proof from %llu to %llu leaves",
                          (unsigned long long)m, (unsigned long long)n);
    s_subproof(lh, n, m, true, proof, len);
    return 0;
}

static bool s_eq(const sk_hash_t a, const sk_hash_t b)
{
    return sodium_memcmp(a, b, SK_MERKLE_HASH_LEN) == 0;
}

/* One step up the path of RFC 9162 2.1.3.2 / 2.1.4.2: true when the proof
 * node is a left sibling (fn is a right child, or the last node of its level
 * with no sibling), false when it is a right sibling. fn and sn move up. */
static bool s_step(uint64_t *fn, uint64_t *sn)
{
    bool left = (*fn & 1) || *fn == *sn;
    if (left && !(*fn & 1))
        /* a right edge with no sibling: climb until this node is a right child */
        while (*fn != 0 && !(*fn & 1)) {
            *fn >>= 1;
            *sn >>= 1;
        }
    *fn >>= 1;
    *sn >>= 1;
    return left;
}

bool sk_merkle_verify_inclusion(uint64_t index, uint64_t size, const sk_hash_t leaf_hash,
                                const sk_hash_t *proof, size_t len, const sk_hash_t root)
{
    if (index >= size || size > SK_MERKLE_MAX_SIZE || len > SK_MERKLE_MAX_PROOF)
        return false;
    uint64_t fn = index, sn = size - 1;
    sk_hash_t r;
    memcpy(r, leaf_hash, SK_MERKLE_HASH_LEN);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return false;
        if (s_step(&fn, &sn))
            sk_merkle_node_hash(proof[i], r, r);
        else
            sk_merkle_node_hash(r, proof[i], r);
    }
    return sn == 0 && s_eq(r, root);
}

bool sk_merkle_verify_consistency(uint64_t size1, uint64_t size2, const sk_hash_t root1,
                                  const sk_hash_t root2, const sk_hash_t *proof, size_t len)
{
    if (size1 > size2 || size2 > SK_MERKLE_MAX_SIZE || len > SK_MERKLE_MAX_PROOF)
        return false;
    if (size1 == size2)
        return len == 0 && s_eq(root1, root2);
    if (size1 == 0)
        return len == 0;
    if (len == 0)
        return false;
    /* When size1 is a power of two its root is the first node of the path
     * and the proof leaves it out (RFC 9162 2.1.4.2 step 2). */
    const sk_hash_t *path = proof;
    size_t plen = len;
    sk_hash_t seed;
    size_t start;
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(seed, root1, SK_MERKLE_HASH_LEN);
        start = 0;
    } else {
        memcpy(seed, path[0], SK_MERKLE_HASH_LEN);
        start = 1;
    }
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    sk_hash_t fr, sr;
    memcpy(fr, seed, SK_MERKLE_HASH_LEN);
    memcpy(sr, seed, SK_MERKLE_HASH_LEN);
    for (size_t i = start; i < plen; i++) {
        if (sn == 0)
            return false;
        if (s_step(&fn, &sn)) {
            sk_merkle_node_hash(path[i], fr, fr);
            sk_merkle_node_hash(path[i], sr, sr);
        } else {
            sk_merkle_node_hash(sr, path[i], sr);
        }
    }
    return sn == 0 && s_eq(fr, root1) && s_eq(sr, root2);
}
