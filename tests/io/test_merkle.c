/* Tests of common/io/sk_merkle: the RFC 6962 / Certificate Transparency
 * reference tree (the 8 leaves and roots of transparency-dev/merkle's and
 * trillian's tests), their inclusion and consistency proofs, every corrupted
 * form of those proofs refused, and the appender's root equal to the
 * recursive definition for every size 0..300. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_merkle.h"

static void s_hex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void s_assert_hash(const sk_hash_t got, const char *want_hex)
{
    sk_hash_t want;
    s_hex(want_hex, want, SK_MERKLE_HASH_LEN);
    if (memcmp(got, want, SK_MERKLE_HASH_LEN) != 0) {
        char buf[65];
        for (int i = 0; i < 32; i++)
            snprintf(buf + 2 * i, 3, "%02x", got[i]);
        fail_msg("hash %s, want %s", buf, want_hex);
    }
}

static const char *const LEAVES[8] = {"",
                                      "00",
                                      "10",
                                      "2021",
                                      "3031",
                                      "40414243",
                                      "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f"};
static const char *const ROOTS[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void s_ref_leaves(sk_hash_t lh[8])
{
    for (int i = 0; i < 8; i++) {
        uint8_t b[16];
        size_t n = strlen(LEAVES[i]) / 2;
        s_hex(LEAVES[i], b, n);
        sk_merkle_leaf_hash(b, n, lh[i]);
    }
}

static void test_empty_root_is_sha256_of_nothing(void **state)
{
    (void)state;
    sk_hash_t h;
    sk_merkle_empty_root(h);
    s_assert_hash(h, ROOTS[0]);
    sk_merkle_t *t = sk_merkle_new();
    assert_non_null(t);
    sk_merkle_root(t, h);
    s_assert_hash(h, ROOTS[0]);
    assert_int_equal(sk_merkle_size(t), 0);
    sk_merkle_destroy(&t);
    assert_null(t);
}

static void test_reference_roots(void **state)
{
    (void)state;
    sk_hash_t lh[8], h;
    s_ref_leaves(lh);
    sk_merkle_t *t = sk_merkle_new();
    for (int n = 1; n <= 8; n++) {
        uint8_t b[16];
        size_t len = strlen(LEAVES[n - 1]) / 2;
        s_hex(LEAVES[n - 1], b, len);
        sk_hash_t got_leaf;
        assert_int_equal(sk_merkle_append(t, b, len, got_leaf, NULL), 0);
        assert_memory_equal(got_leaf, lh[n - 1], 32);
        sk_merkle_root(t, h);
        s_assert_hash(h, ROOTS[n]);
        sk_merkle_tree_hash(lh, (uint64_t)n, h);
        s_assert_hash(h, ROOTS[n]);
    }
    sk_merkle_destroy(&t);
}

struct proof_vec {
    uint64_t a, b; /* inclusion: leaf (1-based), size; consistency: size1, size2 */
    int n;
    const char *p[3];
};

static const struct proof_vec INCL[] = {
    {1, 1, 0, {NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {3, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {2,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const struct proof_vec CONS[] = {
    {1, 1, 0, {NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void test_inclusion_vectors(void **state)
{
    (void)state;
    sk_hash_t lh[8], root, proof[SK_MERKLE_MAX_PROOF];
    s_ref_leaves(lh);
    for (size_t v = 0; v < sizeof INCL / sizeof INCL[0]; v++) {
        const struct proof_vec *pv = &INCL[v];
        uint64_t idx = pv->a - 1, size = pv->b;
        size_t len = 99;
        assert_int_equal(sk_merkle_inclusion_proof(lh, size, idx, proof, &len, NULL), 0);
        assert_int_equal(len, (size_t)pv->n);
        for (int i = 0; i < pv->n; i++)
            s_assert_hash(proof[i], pv->p[i]);
        s_hex(ROOTS[size], root, 32);
        assert_true(sk_merkle_verify_inclusion(idx, size, lh[idx], proof, len, root));
        /* what an attacker would try: another index, size, leaf, root, or proof */
        assert_false(sk_merkle_verify_inclusion(idx + 1, size, lh[idx], proof, len, root));
        assert_false(sk_merkle_verify_inclusion(idx, size * 2, lh[idx], proof, len, root));
        assert_false(sk_merkle_verify_inclusion(idx, size, lh[(idx + 1) % 8], proof, len, root));
        sk_hash_t empty;
        sk_merkle_empty_root(empty);
        assert_false(sk_merkle_verify_inclusion(idx, size, lh[idx], proof, len, empty));
        if (idx > 0)
            assert_false(sk_merkle_verify_inclusion(idx - 1, size, lh[idx], proof, len, root));
        if (len > 0) {
            assert_false(sk_merkle_verify_inclusion(idx, size, lh[idx], proof, len - 1, root));
            memcpy(proof[len], root, 32);
            assert_false(sk_merkle_verify_inclusion(idx, size, lh[idx], proof, len + 1, root));
            for (size_t i = 0; i < len; i++) {
                proof[i][0] ^= 8;
                assert_false(sk_merkle_verify_inclusion(idx, size, lh[idx], proof, len, root));
                proof[i][0] ^= 8;
            }
        }
    }
    size_t len;
    sk_err_t err;
    assert_int_equal(sk_merkle_inclusion_proof(lh, 8, 8, proof, &len, &err), -1);
    assert_string_equal(err.code, "bad_proof_request");
}

static void test_consistency_vectors(void **state)
{
    (void)state;
    sk_hash_t lh[8], r1, r2, proof[SK_MERKLE_MAX_PROOF];
    s_ref_leaves(lh);
    for (size_t v = 0; v < sizeof CONS / sizeof CONS[0]; v++) {
        const struct proof_vec *pv = &CONS[v];
        size_t len = 99;
        assert_int_equal(sk_merkle_consistency_proof(lh, pv->b, pv->a, proof, &len, NULL), 0);
        assert_int_equal(len, (size_t)pv->n);
        for (int i = 0; i < pv->n; i++)
            s_assert_hash(proof[i], pv->p[i]);
        s_hex(ROOTS[pv->a], r1, 32);
        s_hex(ROOTS[pv->b], r2, 32);
        assert_true(sk_merkle_verify_consistency(pv->a, pv->b, r1, r2, proof, len));
        if (len == 0)
            continue;
        assert_false(sk_merkle_verify_consistency(pv->a, pv->b, r2, r1, proof, len));
        assert_false(sk_merkle_verify_consistency(pv->a + 1, pv->b, r1, r2, proof, len));
        assert_false(sk_merkle_verify_consistency(pv->a - 1, pv->b, r1, r2, proof, len));
        assert_false(sk_merkle_verify_consistency(pv->a, pv->b * 2, r1, r2, proof, len));
        assert_false(sk_merkle_verify_consistency(pv->a, pv->b, r1, r2, proof, 0));
        assert_false(sk_merkle_verify_consistency(pv->a, pv->b, r1, r2, proof, len - 1));
        memcpy(proof[len], r2, 32);
        assert_false(sk_merkle_verify_consistency(pv->a, pv->b, r1, r2, proof, len + 1));
        for (size_t i = 0; i < len; i++) {
            proof[i][0] ^= 16;
            assert_false(sk_merkle_verify_consistency(pv->a, pv->b, r1, r2, proof, len));
            proof[i][0] ^= 16;
        }
    }
    /* a log that went back in time proves nothing */
    assert_false(sk_merkle_verify_consistency(2, 1, r1, r2, proof, 0));
}

/* The property the log stands on: for every size, the appender's compact
 * range gives the recursive MTH, every leaf's proof verifies, and every
 * earlier size is proven a prefix of it. */
static void test_appender_equals_definition_0_to_300(void **state)
{
    (void)state;
    enum { N = 300 };
    sk_hash_t *lh = calloc(N, sizeof(sk_hash_t));
    sk_hash_t *roots = calloc(N + 1, sizeof(sk_hash_t));
    assert_non_null(lh);
    assert_non_null(roots);
    sk_merkle_t *t = sk_merkle_new();
    sk_hash_t a, b, proof[SK_MERKLE_MAX_PROOF];
    for (uint64_t n = 0; n <= N; n++) {
        sk_merkle_root(t, a);
        sk_merkle_tree_hash(lh, n, b);
        assert_memory_equal(a, b, 32);
        memcpy(roots[n], a, 32);
        assert_int_equal(sk_merkle_size(t), n);
        if (n == N)
            break;
        uint8_t leaf[3] = {(uint8_t)n, (uint8_t)(n >> 8), 0xa5};
        assert_int_equal(sk_merkle_append(t, leaf, (size_t)(n % 4), lh[n], NULL), 0);
    }
    for (uint64_t n = 1; n <= N; n += 37) {
        for (uint64_t i = 0; i < n; i++) {
            size_t len;
            assert_int_equal(sk_merkle_inclusion_proof(lh, n, i, proof, &len, NULL), 0);
            assert_true(sk_merkle_verify_inclusion(i, n, lh[i], proof, len, roots[n]));
        }
        for (uint64_t m = 1; m <= n; m++) {
            size_t len;
            assert_int_equal(sk_merkle_consistency_proof(lh, n, m, proof, &len, NULL), 0);
            assert_true(sk_merkle_verify_consistency(m, n, roots[m], roots[n], proof, len));
            if (m < n)
                assert_false(
                    sk_merkle_verify_consistency(m, n, roots[m - 1], roots[n], proof, len));
        }
    }
    sk_merkle_destroy(&t);
    free(lh);
    free(roots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_root_is_sha256_of_nothing),
        cmocka_unit_test(test_reference_roots),
        cmocka_unit_test(test_inclusion_vectors),
        cmocka_unit_test(test_consistency_vectors),
        cmocka_unit_test(test_appender_equals_definition_0_to_300),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
