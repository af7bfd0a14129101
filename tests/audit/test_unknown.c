/* test_unknown — services/audit/unknown: one entry per unknown key per
 * interval, at most 60 an hour, every other attempt counted and said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unknown.h"

#define MIN ((int64_t)60 * 1000)
#define HOUR (60 * MIN)

static void s_key(uint8_t k[32], unsigned i)
{
    memset(k, 0, 32);
    memcpy(k, &i, sizeof i);
}

/* An attempt; when allowed, its entry appended at *seq (then seq + 1). */
static bool s_try(audit_unknown_t *u, unsigned key, int64_t now, uint64_t *seq,
                  audit_unknown_verdict_t *v)
{
    uint8_t k[32];
    s_key(k, key);
    if (!audit_unknown_attempt(u, k, now, v))
        return false;
    audit_unknown_logged(u, k, now, true, (*seq)++);
    return true;
}

static void test_one_entry_per_key_per_interval(void **state)
{
    (void)state;
    audit_unknown_t *u = audit_unknown_new(HOUR);
    audit_unknown_verdict_t v;
    uint64_t seq = 10;
    assert_true(s_try(u, 1, 0, &seq, &v));
    assert_int_equal(v.key_more, 0);
    assert_false(v.key_prev);
    for (int i = 1; i <= 5; i++)
        assert_false(s_try(u, 1, i * MIN, &seq, &v));
    assert_true(s_try(u, 2, 6 * MIN, &seq, &v)); /* another key: its own entry */
    assert_int_equal(audit_unknown_unlogged(u), 5);
    assert_false(s_try(u, 1, HOUR - 1, &seq, &v));
    assert_true(s_try(u, 1, HOUR, &seq, &v)); /* an hour after its entry */
    assert_int_equal(v.key_more, 6);
    assert_true(v.key_prev);
    assert_int_equal(v.key_prev_seq, 10);
    assert_int_equal(v.other_more, 0);
    char msg[512];
    audit_unknown_message(msg, sizeof msg, "KEY", "127.0.0.1", &v);
    assert_string_equal(msg, "unknown key KEY from 127.0.0.1: 7 attempts (this one and 6 more "
                             "attempts since entry 10)");
    audit_unknown_destroy(&u);
    assert_null(u);
}

static void test_at_most_60_an_hour(void **state)
{
    (void)state;
    audit_unknown_t *u = audit_unknown_new(HOUR);
    audit_unknown_verdict_t v;
    uint64_t seq = 0, logged = 0;
    /* 1000 distinct keys in ten minutes: 60 entries, the rest counted */
    for (unsigned k = 0; k < 1000; k++)
        logged += s_try(u, k, (int64_t)k * 600, &seq, &v);
    assert_int_equal(logged, 60);
    assert_int_equal(audit_unknown_unlogged(u), 940);
    /* the next entry, when the first of the 60 is an hour old, says so */
    assert_false(s_try(u, 5000, HOUR - 1, &seq, &v));
    assert_true(s_try(u, 5001, HOUR, &seq, &v));
    assert_int_equal(v.other_more, 941);
    assert_true(v.other_prev);
    assert_int_equal(v.other_prev_seq, 59);
    char msg[512];
    audit_unknown_message(msg, sizeof msg, "KEY", "10.0.0.9", &v);
    assert_string_equal(msg, "unknown key KEY from 10.0.0.9: 1 attempt; and 941 more attempts "
                             "of unknown keys not logged since entry 59 (at most 60 entries an "
                             "hour)");
    /* one freed place: the next key waits again */
    assert_false(s_try(u, 5002, HOUR, &seq, &v));
    audit_unknown_destroy(&u);
}

static void test_failed_append_and_dropped_reports_are_counted(void **state)
{
    (void)state;
    audit_unknown_t *u = audit_unknown_new(1000);
    audit_unknown_verdict_t v;
    uint8_t k[32];
    s_key(k, 7);
    assert_true(audit_unknown_attempt(u, k, 0, &v));
    audit_unknown_logged(u, k, 0, false, 0); /* Redis failed */
    audit_unknown_dropped(u, 3);             /* the ZAP handler's queue was full */
    assert_int_equal(audit_unknown_unlogged(u), 4);
    assert_true(audit_unknown_attempt(u, k, 1, &v)); /* never logged: may be logged now */
    assert_int_equal(v.other_more, 4);
    assert_false(v.other_prev);
    audit_unknown_logged(u, k, 1, true, 0);
    assert_false(audit_unknown_attempt(u, k, 1000, &v));
    assert_true(audit_unknown_attempt(u, k, 1001, &v));
    assert_int_equal(v.key_more, 1);
    assert_int_equal(v.other_more, 0);
    audit_unknown_destroy(&u);
}

static void test_the_table_is_bounded(void **state)
{
    (void)state;
    /* a short interval so that the hourly limit is what bounds the log */
    audit_unknown_t *u = audit_unknown_new(1000);
    audit_unknown_verdict_t v;
    uint64_t seq = 0, logged = 0;
    for (unsigned k = 0; k < 3 * AUDIT_UNKNOWN_KEYS_MAX; k++)
        logged += s_try(u, k, (int64_t)k * HOUR / 60, &seq, &v);
    assert_int_equal(logged, 3 * AUDIT_UNKNOWN_KEYS_MAX);
    /* the first key was forgotten: a new entry, at most one an interval still */
    assert_true(s_try(u, 0, 3 * AUDIT_UNKNOWN_KEYS_MAX * HOUR / 60, &seq, &v));
    assert_false(v.key_prev);
    audit_unknown_destroy(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_entry_per_key_per_interval),
        cmocka_unit_test(test_at_most_60_an_hour),
        cmocka_unit_test(test_failed_append_and_dropped_reports_are_counted),
        cmocka_unit_test(test_the_table_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
