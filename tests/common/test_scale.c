/* test_scale — sk_scale_ticks: 1-2-5 steps, axes that start at zero and
 * cover the data, negative values, empty charts, bad arguments; sk_scale_pos. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scale.h"

static void s_check(int64_t lo, int64_t hi, int max, int64_t alo, int64_t ahi, int64_t step, int n)
{
    sk_scale_t s;
    assert_int_equal(sk_scale_ticks(lo, hi, max, &s), 0);
    assert_int_equal(s.lo, alo);
    assert_int_equal(s.hi, ahi);
    assert_int_equal(s.step, step);
    assert_int_equal(s.n, n);
}

static void test_one_two_five(void **state)
{
    (void)state;
    s_check(0, 73, 5, 0, 80, 20, 5);   /* 10 would need 8 intervals */
    s_check(0, 100, 5, 0, 100, 20, 6); /* exactly on a tick */
    s_check(0, 100, 10, 0, 100, 10, 11);
    s_check(0, 7, 5, 0, 8, 2, 5); /* 1 would need 7 intervals, 2 needs 4 */
    s_check(0, 212000, 5, 0, 250000, 50000, 6);
    s_check(0, 3, 5, 0, 3, 1, 4);
}

static void test_starts_at_zero_and_negatives(void **state)
{
    (void)state;
    s_check(40, 73, 5, 0, 80, 20, 5); /* positive data: the axis still starts at 0 */
    s_check(-35, 120, 5, -50, 150, 50, 5);
    s_check(-73, -10, 5, -80, 0, 20, 5);
    s_check(73, 0, 5, 0, 80, 20, 5); /* swapped */
}

static void test_empty_and_bad(void **state)
{
    (void)state;
    s_check(0, 0, 5, 0, 1, 1, 2); /* nothing to chart: a unit axis, never a zero step */
    sk_scale_t s;
    assert_int_equal(sk_scale_ticks(0, 10, 0, &s), -1);
    assert_int_equal(sk_scale_ticks(0, 10, 5, NULL), -1);
    assert_int_equal(sk_scale_ticks(0, INT64_MAX, 5, &s), -1);
    assert_int_equal(sk_scale_ticks(0, 99999999999999999LL, 5, &s), 0);
    assert_true(s.hi >= 99999999999999999LL);
    assert_true(s.n <= 6);
}

static void test_positions(void **state)
{
    (void)state;
    sk_scale_t s;
    assert_int_equal(sk_scale_ticks(-50, 150, 5, &s), 0);
    assert_int_equal(sk_scale_pos(&s, -50, 400), 0);
    assert_int_equal(sk_scale_pos(&s, 0, 400), 100);
    assert_int_equal(sk_scale_pos(&s, 150, 400), 400);
    assert_int_equal(sk_scale_pos(&s, 1, 400), 102);   /* 51 of 200 */
    assert_int_equal(sk_scale_pos(&s, 0, 3), 1);       /* 0.75 rounds up */
    assert_int_equal(sk_scale_pos(&s, 999, 400), 400); /* clamped */
    assert_int_equal(sk_scale_pos(&s, -999, 400), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_two_five),
        cmocka_unit_test(test_starts_at_zero_and_negatives),
        cmocka_unit_test(test_empty_and_bad),
        cmocka_unit_test(test_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
