/* keys: where state lives (the shard of an id is part of the data layout)
 * and the order index's value, written and read in one place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"

/* The shard of an id is FNV-1a 32 mod 16: these values are the layout of
 * every run directory, so they must never change. */
static void test_shard_is_stable(void **state)
{
    (void)state;
    assert_int_equal(sk_shard_of(""), 2166136261u % SK_SHARDS);
    assert_int_equal(sk_shard_of("a"), 0xe40c292cu % SK_SHARDS);
    assert_int_equal(sk_shard_of("foobar"), 0xbf9cf968u % SK_SHARDS);
    char key[SK_KEY_MAX];
    assert_string_equal(sk_key_event_claim(key, "foobar"), "sk:{s8}:eid:foobar");
    assert_string_equal(sk_key_order_versions(key, 3), "sk:{s3}:over");
}

static void test_order_index_round_trip(void **state)
{
    (void)state;
    char v[64], cust[32], cur[4];
    assert_int_equal(sk_order_index_format(v, sizeof v, "C-1", "CNY"), 0);
    assert_string_equal(v, "C-1\tCNY");
    assert_int_equal(sk_order_index_parse(v, strlen(v), cust, sizeof cust, cur), 0);
    assert_string_equal(cust, "C-1");
    assert_string_equal(cur, "CNY");
    /* a Chinese customer id is bytes like any other */
    assert_int_equal(sk_order_index_format(v, sizeof v, "客户-7", "JPY"), 0);
    assert_int_equal(sk_order_index_parse(v, strlen(v), cust, sizeof cust, cur), 0);
    assert_string_equal(cust, "客户-7");
    assert_string_equal(cur, "JPY");
    /* too small a buffer */
    assert_int_equal(sk_order_index_format(v, 5, "C-1", "CNY"), -1);
}

static void test_order_index_malformed(void **state)
{
    (void)state;
    char cust[8], cur[4];
    const char *bad[] = {"", "C-1", "\tCNY", "C-1\tCN", "C-1\tCNYX", "C-123456789\tCNY"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sk_order_index_parse(bad[i], strlen(bad[i]), cust, sizeof cust, cur),
                         -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_is_stable),
        cmocka_unit_test(test_order_index_round_trip),
        cmocka_unit_test(test_order_index_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
