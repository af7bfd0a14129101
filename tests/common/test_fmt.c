/* Tests of common/sk_fmt: integers as decimal text, and text built piece by
 * piece, each compared with what snprintf writes for the same thing, the
 * cut of a full buffer included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sk_fmt.h"

static void test_fmt_integers_like_printf(void **state)
{
    (void)state;
    int64_t v[] = {0, 1, -1, 9, 10, -10, 99999, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char got[32], want[32];
        snprintf(want, sizeof want, "%" PRId64, v[i]);
        assert_int_equal(sk_fmt_i64(got, v[i]), strlen(want));
        assert_string_equal(got, want);
    }
    uint64_t u[] = {0, 7, 42, 999, 1000, 20261201, UINT64_MAX};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        for (int w = 0; w <= 22; w++) {
            char got[32], want[32];
            snprintf(want, sizeof want, "%0*" PRIu64, w, u[i]);
            assert_int_equal(sk_fmt_pad(got, u[i], w), strlen(want));
            assert_string_equal(got, want);
        }
}

/* "r|%d|%s|%d|%s" into buffers of every size from 0 to past its length:
 * the same bytes as snprintf's, cut where it cuts, and noted as cut exactly
 * when snprintf says the text did not fit. */
static void test_text_like_snprintf(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 40; n++) {
        char got[48], want[48];
        memset(got, '#', sizeof got);
        memset(want, '#', sizeof want);
        int w = snprintf(want, n, "r|%d|%s|%d|%s", -2, "2026-12-01", 3, "SO-1");
        sk_text_t t = sk_text(got, n);
        sk_text_str(&t, "r|");
        sk_text_int(&t, -2);
        sk_text_char(&t, '|');
        sk_text_str(&t, "2026-12-01");
        sk_text_char(&t, '|');
        sk_text_int(&t, 3);
        sk_text_mem(&t, "|SO-1x", 5);
        assert_memory_equal(got, want, sizeof got);
        assert_int_equal(t.cut, (size_t)w >= n);
        if (!t.cut)
            assert_int_equal(t.len, (size_t)w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_integers_like_printf),
        cmocka_unit_test(test_text_like_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
