/* sk_tz: local send times and ends of days in customers' zones, against
 * the system's tz database, with the vectors of issue 8 and every kind of
 * daylight-saving change (gap, overlap, a zone whose midnight is skipped,
 * a zone whose winter time tzdata calls "daylight"). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "sk_tz.h"

#define H9 (9 * 60)

static sk_day_t s_day(const char *ymd)
{
    sk_day_t d;
    assert_int_equal(sk_date_parse(ymd, &d, NULL), 0);
    return d;
}

static const sk_tz_t *s_zone(const char *id)
{
    sk_err_t err;
    const sk_tz_t *tz = sk_tz_find(id, &err);
    if (!tz)
        fail_msg("%s: %s", id, err.msg);
    return tz;
}

/* The instant written as ISO UTC, so a failure shows both times readably. */
static void s_assert_at(int64_t ms, const char *iso)
{
    char buf[32];
    assert_string_equal(sk_time_format(ms, SK_TIME_ISO, buf, sizeof buf), iso);
}

static void test_issue_vectors(void **state)
{
    (void)state;
    const sk_tz_t *ny = s_zone("America/New_York");
    /* the Saturday before and the Monday after the spring change */
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-03-07"), H9), "2026-03-07T14:00:00Z");
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-03-09"), H9), "2026-03-09T13:00:00Z");
    /* Mexico abolished daylight-saving time in 2022: UTC-6 all year (ICU 72
     * in Debian 12 would say 14:00Z) */
    const sk_tz_t *mx = s_zone("America/Mexico_City");
    s_assert_at(sk_tz_local_instant(mx, s_day("2026-07-15"), H9), "2026-07-15T15:00:00Z");
    s_assert_at(sk_tz_local_instant(mx, s_day("2026-01-15"), H9), "2026-01-15T15:00:00Z");
    const sk_tz_t *sh = s_zone("Asia/Shanghai");
    s_assert_at(sk_tz_local_instant(sh, s_day("2026-07-15"), H9), "2026-07-15T01:00:00Z");
    s_assert_at(sk_tz_local_instant(sh, s_day("2026-12-15"), H9), "2026-12-15T01:00:00Z");
    /* a zone that only exists in recent tzdata (2022g) */
    const sk_tz_t *cj = s_zone("America/Ciudad_Juarez");
    s_assert_at(sk_tz_local_instant(cj, s_day("2026-07-15"), H9), "2026-07-15T15:00:00Z");
}

static void test_end_of_day_across_month_and_leap_day(void **state)
{
    (void)state;
    /* Shanghai is ahead of UTC: the end of 2026-01-31 is still January in UTC */
    const sk_tz_t *sh = s_zone("Asia/Shanghai");
    s_assert_at(sk_tz_day_start(sh, s_day("2026-01-31") + 1), "2026-01-31T16:00:00Z");
    /* Los Angeles is behind: the end of 2026-01-31 is February in UTC */
    const sk_tz_t *la = s_zone("America/Los_Angeles");
    s_assert_at(sk_tz_day_start(la, s_day("2026-01-31") + 1), "2026-02-01T08:00:00Z");
    assert_int_equal(sk_tz_local_day(la, sk_tz_day_start(la, s_day("2026-02-01")) - 1, NULL),
                     s_day("2026-01-31"));
    /* Auckland in summer (+13): local 1 March begins on 28 February UTC */
    const sk_tz_t *ak = s_zone("Pacific/Auckland");
    s_assert_at(sk_tz_day_start(ak, s_day("2026-03-01")), "2026-02-28T11:00:00Z");
    /* 29 February 2028 */
    s_assert_at(sk_tz_day_start(sh, s_day("2028-02-29") + 1), "2028-02-29T16:00:00Z");
    s_assert_at(sk_tz_local_instant(sh, s_day("2028-02-29"), H9), "2028-02-29T01:00:00Z");
    const sk_tz_t *ny = s_zone("America/New_York");
    s_assert_at(sk_tz_day_start(ny, s_day("2028-02-29") + 1), "2028-03-01T05:00:00Z");
    assert_int_equal(sk_tz_local_day(ny, sk_tz_day_start(ny, s_day("2028-03-01")) - 1, NULL),
                     s_day("2028-02-29"));
}

static void test_gap_moves_forward_overlap_takes_first(void **state)
{
    (void)state;
    const sk_tz_t *ny = s_zone("America/New_York");
    /* 02:30 on 2026-03-08 does not exist: the gap ends at 03:00 EDT = 07:00Z */
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-03-08"), 2 * 60 + 30), "2026-03-08T07:00:00Z");
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-03-08"), 3 * 60), "2026-03-08T07:00:00Z");
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-03-08"), 1 * 60 + 59), "2026-03-08T06:59:00Z");
    /* 01:30 on 2026-11-01 happens twice: the first (EDT, 05:30Z) */
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-11-01"), 90), "2026-11-01T05:30:00Z");
    s_assert_at(sk_tz_local_instant(ny, s_day("2026-11-01"), H9), "2026-11-01T14:00:00Z");
    /* Dublin: tzdata marks winter (GMT) as the "daylight" time; the first
     * 01:30 of 2026-10-25 is still IST (+01:00) */
    const sk_tz_t *du = s_zone("Europe/Dublin");
    s_assert_at(sk_tz_local_instant(du, s_day("2026-10-25"), 90), "2026-10-25T00:30:00Z");
    s_assert_at(sk_tz_local_instant(du, s_day("2026-07-01"), H9), "2026-07-01T08:00:00Z");
    s_assert_at(sk_tz_local_instant(du, s_day("2026-12-01"), H9), "2026-12-01T09:00:00Z");
    /* Santiago springs forward at midnight: 2026-09-06 begins at 01:00 -03,
     * so the end of 2026-09-05 is 04:00Z and 2026-09-05 ends an hour early */
    const sk_tz_t *cl = s_zone("America/Santiago");
    s_assert_at(sk_tz_day_start(cl, s_day("2026-09-06")), "2026-09-06T04:00:00Z");
    assert_int_equal(sk_tz_local_day(cl, sk_tz_day_start(cl, s_day("2026-09-06")), NULL),
                     s_day("2026-09-06"));
    assert_int_equal(sk_tz_local_day(cl, sk_tz_day_start(cl, s_day("2026-09-06")) - 1, NULL),
                     s_day("2026-09-05"));
}

static void test_local_day_and_offset(void **state)
{
    (void)state;
    const sk_tz_t *ny = s_zone("America/New_York");
    int minute = -1;
    /* 2026-03-09T03:59Z is 23:59 on the 8th in New York (EDT, -4) */
    int64_t ms = sk_tz_local_instant(ny, s_day("2026-03-08"), 23 * 60 + 59);
    assert_int_equal(sk_tz_local_day(ny, ms, &minute), s_day("2026-03-08"));
    assert_int_equal(minute, 23 * 60 + 59);
    assert_int_equal(sk_tz_offset_s(ny, ms), -4 * 3600);
    assert_int_equal(sk_tz_offset_s(ny, sk_tz_local_instant(ny, s_day("2026-01-08"), 0)),
                     -5 * 3600);
    /* before the epoch too */
    const sk_tz_t *utc = s_zone("UTC");
    assert_int_equal(sk_tz_local_day(utc, -1, &minute), -1);
    assert_int_equal(minute, 23 * 60 + 59);
    /* every local 09:00 of two years maps back to itself in every zone */
    const char *zones[] = {"America/New_York", "Europe/Dublin", "America/Santiago",
                           "Pacific/Auckland", "Asia/Kolkata",  "Australia/Lord_Howe"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        const sk_tz_t *tz = s_zone(zones[z]);
        for (sk_day_t d = s_day("2026-01-01"); d < s_day("2028-01-01"); d++) {
            int m;
            assert_int_equal(sk_tz_local_day(tz, sk_tz_local_instant(tz, d, H9), &m), d);
            assert_int_equal(m, H9);
            assert_true(sk_tz_day_start(tz, d) < sk_tz_day_start(tz, d + 1));
        }
    }
}

static void test_statement_next(void **state)
{
    (void)state;
    const sk_tz_t *ny = s_zone("America/New_York");
    int64_t next;
    int64_t sat = sk_tz_local_instant(ny, s_day("2026-03-07"), H9); /* a Saturday */
    /* weekly on Monday: across the spring change, 09:00 EDT */
    assert_true(sk_tz_statement_next(ny, SK_CADENCE_WEEKLY, 1, H9, sat, &next));
    s_assert_at(next, "2026-03-09T13:00:00Z");
    /* strictly after: the Monday's own instant gives the next Monday */
    assert_true(sk_tz_statement_next(ny, SK_CADENCE_WEEKLY, 1, H9, next, &next));
    s_assert_at(next, "2026-03-16T13:00:00Z");
    assert_true(sk_tz_statement_next(ny, SK_CADENCE_WEEKLY, 1, H9, next - 1, &next));
    s_assert_at(next, "2026-03-16T13:00:00Z");
    /* daily: the next day at 09:00 local, itself across the change */
    assert_true(sk_tz_statement_next(ny, SK_CADENCE_DAILY, 1, H9, sat, &next));
    s_assert_at(next, "2026-03-08T13:00:00Z");
    assert_true(sk_tz_statement_next(ny, SK_CADENCE_DAILY, 1, H9, sat - 1, &next));
    s_assert_at(next, "2026-03-07T14:00:00Z");
    /* weekly on Sunday from a Sunday evening in Shanghai: a week later */
    const sk_tz_t *sh = s_zone("Asia/Shanghai");
    assert_true(sk_tz_statement_next(sh, SK_CADENCE_WEEKLY, 7, H9,
                                     sk_tz_local_instant(sh, s_day("2026-03-08"), 20 * 60), &next));
    s_assert_at(next, "2026-03-15T01:00:00Z");
    next = 42;
    assert_false(sk_tz_statement_next(ny, SK_CADENCE_NONE, 1, H9, sat, &next));
    assert_int_equal(next, 42);
}

static void test_unknown_zones_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "Mars/Olympus",
                         "ABC3",
                         "+05:00",
                         "UTC+3",
                         "right/UTC",
                         "posix/UTC",
                         "../etc/passwd",
                         "/etc/UTC",
                         "America/",
                         "America//New_York",
                         "America/New_York ",
                         "localtime",
                         "zone.tab",
                         "america/new_york"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sk_err_t err;
        if (sk_tz_known(bad[i]))
            fail_msg("\"%s\" taken as a zone", bad[i]);
        assert_null(sk_tz_find(bad[i], &err));
        assert_string_equal(err.code, "bad_timezone");
    }
    sk_err_t err;
    assert_null(sk_tz_find("Mars/Olympus", &err));
    assert_string_equal(err.msg, "timezone \"Mars/Olympus\" is not a zone of the system's tz "
                                 "database (an IANA id such as Europe/Berlin)");
    const char *good[] = {"UTC",       "Europe/Berlin", "EST5EDT", "America/Argentina/Buenos_Aires",
                          "Etc/GMT+5", "Asia/Calcutta"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!sk_tz_known(good[i]))
            fail_msg("\"%s\" refused", good[i]);
    assert_string_equal(sk_tz_id(s_zone("Asia/Calcutta")), "Asia/Calcutta");
}

/* Threads find the same zones and compute the same instants at once; the
 * cache hands every one the same handle. */
#define S_THREADS 4
static void *s_worker(void *arg)
{
    int64_t *sum = arg;
    const char *zones[] = {"America/New_York", "Asia/Shanghai", "Europe/Dublin", "Asia/Tokyo"};
    for (int i = 0; i < 2000; i++) {
        const sk_tz_t *tz = sk_tz_find(zones[i % 4], NULL);
        if (!tz)
            return NULL;
        *sum += sk_tz_local_instant(tz, 20500 + i % 400, H9) / 1000;
    }
    return arg;
}

/* sk_tz_local_instant remembers its last answers per thread: asked again,
 * in another order, zone after zone, and after the zone cache is cleared
 * (a zone may come back at the address of a freed one), it answers the
 * same, and each zone its own. */
static void test_instants_remembered_per_zone(void **state)
{
    (void)state;
    enum { N = 48 * 3 };
    static const char *const ids[] = {"America/New_York", "Europe/Berlin", "Asia/Tokyo"};
    static const int64_t off_h[] = {-5, 1, 9}; /* on 2026-01-15, no DST anywhere */
    int64_t first[3][N];
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            sk_tz_cache_clear();
        for (int k = 0; k < N; k++) {
            int kk = round == 1 ? N - 1 - k : k;
            for (int z = 0; z < 3; z++) {
                const sk_tz_t *tz = s_zone(ids[z]);
                sk_day_t d = s_day("2026-01-14") + kk / 48;
                int64_t t = sk_tz_local_instant(tz, d, (kk % 48) * 30);
                if (round == 0) {
                    first[z][kk] = t;
                    int64_t local = ((int64_t)d * 1440 + (kk % 48) * 30) * 60000;
                    assert_int_equal(t, local - off_h[z] * 3600000);
                } else {
                    assert_int_equal(t, first[z][kk]);
                }
            }
        }
    }
}

static void test_cache_shared_and_thread_safe(void **state)
{
    (void)state;
    sk_tz_cache_clear();
    pthread_t t[S_THREADS];
    int64_t sums[S_THREADS] = {0};
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_worker, &sums[i]), 0);
    for (int i = 0; i < S_THREADS; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_non_null(r);
    }
    int64_t alone = 0;
    s_worker(&alone);
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal(sums[i], alone);
    assert_ptr_equal(s_zone("Asia/Tokyo"), s_zone("Asia/Tokyo"));
}

static int s_teardown(void **state)
{
    (void)state;
    sk_tz_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_vectors),
        cmocka_unit_test(test_end_of_day_across_month_and_leap_day),
        cmocka_unit_test(test_gap_moves_forward_overlap_takes_first),
        cmocka_unit_test(test_local_day_and_offset),
        cmocka_unit_test(test_statement_next),
        cmocka_unit_test(test_unknown_zones_refused),
        cmocka_unit_test(test_instants_remembered_per_zone),
        cmocka_unit_test(test_cache_shared_and_thread_safe),
    };
    return cmocka_run_group_tests(tests, NULL, s_teardown);
}
