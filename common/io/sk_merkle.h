/* sk_merkle — RFC 6962 Merkle tree hashes over SHA-256 (libsodium), the
 * arithmetic of the audit log that proves itself (docs/AUDIT.md).
 *
 *   leaf hash  = SHA-256(0x00 || leaf bytes)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = NODE(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
 *
 * sk_merkle_t is the incremental appender: it keeps only the compact range
 * (the roots of the perfect subtrees the binary digits of n describe, at most
 * 64 hashes), so an append costs O(log n) hashes amortised O(1), and the root
 * after any append costs O(log n). Invariant: stack[0..depth) are the roots
 * of the perfect subtrees from left (largest) to right (smallest), and their
 * sizes are the set bits of size, highest first.
 *
 * The proof functions take every leaf hash of the tree (what a log server
 * holds); the verifiers take only what an auditor holds (RFC 9162 2.1.3.2
 * and 2.1.4.2). A proof has at most SK_MERKLE_MAX_PROOF hashes. Sizes and
 * indexes are uint64_t bounded by SK_MERKLE_MAX_SIZE. No function allocates
 * except sk_merkle_new. */
#ifndef SK_MERKLE_H
#define SK_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"

#define SK_MERKLE_HASH_LEN 32
/* A proof in a tree of at most 2^63 leaves has at most 63 + 1 hashes (the
 * consistency proof's first hash included). */
#define SK_MERKLE_MAX_PROOF 64
#define SK_MERKLE_MAX_SIZE ((uint64_t)1 << 62)

typedef uint8_t sk_hash_t[SK_MERKLE_HASH_LEN];

void sk_merkle_leaf_hash(const void *leaf, size_t len, sk_hash_t out);
void sk_merkle_node_hash(const sk_hash_t left, const sk_hash_t right, sk_hash_t out);
/* The root of the empty tree, SHA-256 of no bytes. */
void sk_merkle_empty_root(sk_hash_t out);

/* MTH over leaf hashes lh[0..n), by the recursive definition (RFC 6962 2.1):
 * the reference the appender is tested against. O(n) time, O(log n) stack. */
void sk_merkle_tree_hash(const sk_hash_t *lh, uint64_t n, sk_hash_t out);

/* ---- the incremental appender ---- */
typedef struct _sk_merkle_t sk_merkle_t;

sk_merkle_t *sk_merkle_new(void); /* NULL when out of memory */
void sk_merkle_destroy(sk_merkle_t **self_p);
/* Appends a leaf hash; -1 (code "log_full") past SK_MERKLE_MAX_SIZE. */
int sk_merkle_append_hash(sk_merkle_t *self, const sk_hash_t leaf_hash, sk_err_t *err);
/* Hashes leaf bytes, appends them and gives their leaf hash (out may be NULL). */
int sk_merkle_append(sk_merkle_t *self, const void *leaf, size_t len, sk_hash_t out, sk_err_t *err);
uint64_t sk_merkle_size(const sk_merkle_t *self);
/* The tree head of the leaves appended so far. */
void sk_merkle_root(const sk_merkle_t *self, sk_hash_t out);

/* ---- proofs (a log's side: every leaf hash at hand) ---- */
/* The audit path of leaf index in the tree of lh[0..n) (RFC 6962 2.1.1) into
 * proof[0..*len), nearest the leaf first. -1 (code "bad_proof_request") when
 * index >= n. */
int sk_merkle_inclusion_proof(const sk_hash_t *lh, uint64_t n, uint64_t index,
                              sk_hash_t proof[SK_MERKLE_MAX_PROOF], size_t *len, sk_err_t *err);
/* The proof that the tree of m leaves is a prefix of the tree of lh[0..n)
 * (RFC 6962 2.1.2), 0 < m <= n; empty when m == n. */
int sk_merkle_consistency_proof(const sk_hash_t *lh, uint64_t n, uint64_t m,
                                sk_hash_t proof[SK_MERKLE_MAX_PROOF], size_t *len, sk_err_t *err);

/* ---- verification (an auditor's side: hashes and sizes only) ---- */
/* true when proof[0..len) proves that leaf_hash is leaf index of the tree of
 * size leaves whose head is root. */
bool sk_merkle_verify_inclusion(uint64_t index, uint64_t size, const sk_hash_t leaf_hash,
                                const sk_hash_t *proof, size_t len, const sk_hash_t root);
/* true when proof[0..len) proves the tree (size1, root1) is a prefix of the
 * tree (size2, root2). size1 == size2 wants an empty proof and equal roots;
 * size1 == 0 an empty proof (the empty tree is a prefix of every tree). */
bool sk_merkle_verify_consistency(uint64_t size1, uint64_t size2, const sk_hash_t root1,
                                  const sk_hash_t root2, const sk_hash_t *proof, size_t len);

#endif
