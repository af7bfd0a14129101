/* test_map — sk_map: lookups, replacement, deletion that keeps probe chains
 * intact, the bound, and a long random run checked against a plain array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sk_map.h"

static void test_put_get_replace(void **state)
{
    (void)state;
    sk_map_t *m = sk_map_new(10);
    intptr_t v = 0;
    assert_false(sk_map_get(m, "SO-1", &v));
    assert_int_equal(sk_map_put(m, "SO-1", 7), 0);
    assert_int_equal(sk_map_put(m, "SO-2", 8), 0);
    assert_true(sk_map_get(m, "SO-1", &v));
    assert_int_equal(v, 7);
    assert_int_equal(sk_map_put(m, "SO-1", 9), 1); /* replaced, not added */
    assert_true(sk_map_get(m, "SO-1", &v));
    assert_int_equal(v, 9);
    assert_int_equal(sk_map_size(m), 2);
    assert_false(sk_map_get(m, "SO-", NULL));
    assert_false(sk_map_get(m, "", NULL));
    assert_int_equal(sk_map_put(m, "", 1), 0); /* the empty string is a key like any other */
    assert_true(sk_map_get(m, "", NULL));
    sk_map_destroy(&m);
    assert_null(m);
    sk_map_destroy(&m); /* a second destroy is harmless */
}

static void test_keys_are_copied(void **state)
{
    (void)state;
    sk_map_t *m = sk_map_new(SIZE_MAX);
    char key[16] = "E-1";
    sk_map_put(m, key, 1);
    strcpy(key, "E-2");
    assert_true(sk_map_get(m, "E-1", NULL));
    assert_false(sk_map_get(m, "E-2", NULL));
    sk_map_destroy(&m);
}

static void test_bounded(void **state)
{
    (void)state;
    sk_map_t *m = sk_map_new(3);
    assert_int_equal(sk_map_put(m, "a", 1), 0);
    assert_int_equal(sk_map_put(m, "b", 2), 0);
    assert_int_equal(sk_map_put(m, "c", 3), 0);
    assert_int_equal(sk_map_put(m, "d", 4), -1); /* full */
    assert_false(sk_map_get(m, "d", NULL));
    assert_int_equal(sk_map_put(m, "a", 5), 1); /* replacing needs no room */
    sk_map_del(m, "b");
    assert_int_equal(sk_map_put(m, "d", 4), 0); /* room again */
    assert_int_equal(sk_map_size(m), 3);
    /* Cleared, it is empty and holds max keys again. */
    sk_map_clear(m);
    assert_int_equal(sk_map_size(m), 0);
    assert_false(sk_map_get(m, "a", NULL));
    assert_int_equal(sk_map_put(m, "x", 1), 0);
    assert_int_equal(sk_map_put(m, "y", 2), 0);
    assert_int_equal(sk_map_put(m, "z", 3), 0);
    assert_int_equal(sk_map_put(m, "a", 4), -1);
    sk_map_destroy(&m);
}

/* Deleting from the middle of probe chains (and across the table's end,
 * which 5000 keys in a growing table surely cross) must not lose a key. */
static void test_delete_keeps_chains(void **state)
{
    (void)state;
    enum { N = 5000 };
    sk_map_t *m = sk_map_new(N);
    char k[32];
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "order-%d", i);
        assert_int_equal(sk_map_put(m, k, i), 0);
    }
    for (int i = 0; i < N; i += 3) {
        snprintf(k, sizeof k, "order-%d", i);
        sk_map_del(m, k);
    }
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "order-%d", i);
        intptr_t v = -1;
        bool found = sk_map_get(m, k, &v);
        assert_int_equal(found, i % 3 != 0);
        if (found)
            assert_int_equal(v, i);
    }
    assert_int_equal(sk_map_size(m), N - (N + 2) / 3);
    sk_map_del(m, "not there"); /* nothing happens */
    assert_int_equal(sk_map_size(m), N - (N + 2) / 3);
    sk_map_destroy(&m);
}

/* A long run of random puts and deletes over a small key space, checked
 * after every step against a plain array (the model). */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { KEYS = 300, STEPS = 200000 };
    intptr_t model[KEYS];
    bool present[KEYS] = {false};
    sk_map_t *m = sk_map_new(KEYS);
    uint64_t x = 88172645463325252ull; /* xorshift: the same run every time */
    size_t n = 0;
    char k[16];
    for (int step = 0; step < STEPS; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int key = (int)(x % KEYS);
        snprintf(k, sizeof k, "k%d", key);
        if ((x >> 32) % 3) {
            intptr_t val = (intptr_t)(x >> 40);
            assert_int_equal(sk_map_put(m, k, val), present[key] ? 1 : 0);
            n += !present[key];
            present[key] = true;
            model[key] = val;
        } else {
            sk_map_del(m, k);
            n -= present[key];
            present[key] = false;
        }
        if (step % 997 == 0 || step == STEPS - 1) {
            for (int j = 0; j < KEYS; j++) {
                snprintf(k, sizeof k, "k%d", j);
                intptr_t v;
                assert_int_equal(sk_map_get(m, k, &v), present[j]);
                if (present[j])
                    assert_int_equal(v, model[j]);
            }
        }
        assert_int_equal(sk_map_size(m), n);
    }
    sk_map_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_keys_are_copied),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_delete_keeps_chains),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
