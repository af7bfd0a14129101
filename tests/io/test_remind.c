/* sk_remind: the reminder settings and every bad value's message, the
 * identities and their Message-IDs (stable across releases: the expected
 * strings are SHA-256 prefixes computed outside this code), and the plan's
 * rules: leads at the local send hour, a passed reminder due at once while
 * its window is open, one mail for several passed, none after the close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "sk_remind.h"
#include "sk_tz.h"

static sk_day_t s_day(const char *ymd)
{
    sk_day_t d;
    assert_int_equal(sk_date_parse(ymd, &d, NULL), 0);
    return d;
}

static int64_t s_at(const char *iso)
{
    int64_t ms;
    if (sk_time_parse(iso, &ms, NULL))
        fail_msg("bad instant %s", iso);
    return ms;
}

static void s_assert_at(int64_t ms, const char *iso)
{
    char buf[32];
    assert_string_equal(sk_time_format(ms, SK_TIME_ISO, buf, sizeof buf), iso);
}

static sk_remind_settings_t s_defaults(void)
{
    sk_remind_settings_t s;
    sk_err_t err;
    if (sk_remind_settings_parse(&s, NULL, NULL, NULL, NULL, NULL, &err))
        fail_msg("%s", err.msg);
    return s;
}

static void test_defaults(void **state)
{
    (void)state;
    sk_remind_settings_t s = s_defaults();
    assert_int_equal(s.nleads, 2);
    assert_int_equal(s.leads[0], 3);
    assert_int_equal(s.leads[1], 1);
    assert_int_equal(s.send_minute, 9 * 60);
    assert_string_equal(sk_tz_id(s.default_tz), "UTC");
    assert_int_equal(s.statement_weekday, 1);
    assert_string_equal(s.mail_domain, "skonto.invalid");
    /* empty values are unset values */
    sk_err_t err;
    assert_int_equal(sk_remind_settings_parse(&s, "", "", "", "", "", &err), 0);
    assert_int_equal(s.nleads, 2);
}

static void test_settings_taken(void **state)
{
    (void)state;
    sk_remind_settings_t s;
    sk_err_t err;
    assert_int_equal(sk_remind_settings_parse(&s, "14,7,3,1,0", "17:45", "Asia/Shanghai", "Sunday",
                                              "mail.example.com", &err),
                     0);
    assert_int_equal(s.nleads, 5);
    assert_int_equal(s.leads[0], 14);
    assert_int_equal(s.leads[4], 0);
    assert_int_equal(s.send_minute, 17 * 60 + 45);
    assert_string_equal(sk_tz_id(s.default_tz), "Asia/Shanghai");
    assert_int_equal(s.statement_weekday, 7);
    assert_string_equal(s.mail_domain, "mail.example.com");
    assert_int_equal(sk_remind_settings_parse(&s, "90", "00:00", NULL, NULL, NULL, &err), 0);
    assert_int_equal(s.leads[0], 90);
    assert_int_equal(s.send_minute, 0);
    assert_int_equal(sk_remind_settings_parse(&s, NULL, "23:59", NULL, NULL, NULL, &err), 0);
    assert_int_equal(s.send_minute, 23 * 60 + 59);
}

static void test_settings_environment(void **state)
{
    (void)state;
    sk_remind_settings_t s;
    sk_err_t err;
    setenv("SKONTO_REMINDER_LEADS", "5,2", 1);
    setenv("SKONTO_DEFAULT_TZ", "Europe/Berlin", 1);
    assert_int_equal(sk_remind_settings_load(&s, &err), 0);
    assert_int_equal(s.leads[0], 5);
    assert_string_equal(sk_tz_id(s.default_tz), "Europe/Berlin");
    setenv("SKONTO_DEFAULT_TZ", "Europe/Berlim", 1);
    assert_int_equal(sk_remind_settings_load(&s, &err), -1);
    assert_string_equal(err.msg, "SKONTO_DEFAULT_TZ \"Europe/Berlim\": want a zone of the "
                                 "system's tz database, an IANA id such as Europe/Berlin");
    unsetenv("SKONTO_REMINDER_LEADS");
    unsetenv("SKONTO_DEFAULT_TZ");
}

static void test_bad_settings_messages(void **state)
{
    (void)state;
    const struct {
        const char *leads, *hour, *tz, *weekday, *domain, *msg;
    } bad[] = {
        {"3,3", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"3,3\": want distinct lead times in descending order, e.g. 3,1"},
        {"1,3", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"1,3\": want distinct lead times in descending order, e.g. 3,1"},
        {"3,,1", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"3,,1\": want whole days before the last day, separated by "
         "commas, e.g. 3,1"},
        {"3,1,", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"3,1,\": want whole days before the last day, separated by "
         "commas, e.g. 3,1"},
        {"-1", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"-1\": want whole days before the last day, separated by "
         "commas, e.g. 3,1"},
        {"3 1", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"3 1\": want whole days before the last day, separated by "
         "commas, e.g. 3,1"},
        {"3d", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"3d\": want whole days before the last day, separated by "
         "commas, e.g. 3,1"},
        {"91", 0, 0, 0, 0, "SKONTO_REMINDER_LEADS \"91\": a lead time is at most 90 days"},
        {"99999999999", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"99999999999\": a lead time is at most 90 days"},
        {"9,8,7,6,5,4,3,2,1", 0, 0, 0, 0,
         "SKONTO_REMINDER_LEADS \"9,8,7,6,5,4,3,2,1\": at most 8 lead times"},
        {0, "9:00", 0, 0, 0,
         "SKONTO_REMINDER_HOUR \"9:00\": want a local time HH:MM from 00:00 to 23:59"},
        {0, "24:00", 0, 0, 0,
         "SKONTO_REMINDER_HOUR \"24:00\": want a local time HH:MM from 00:00 to 23:59"},
        {0, "09:60", 0, 0, 0,
         "SKONTO_REMINDER_HOUR \"09:60\": want a local time HH:MM from 00:00 to 23:59"},
        {0, "09:00Z", 0, 0, 0,
         "SKONTO_REMINDER_HOUR \"09:00Z\": want a local time HH:MM from 00:00 to 23:59"},
        {0, 0, "Mars/Olympus", 0, 0,
         "SKONTO_DEFAULT_TZ \"Mars/Olympus\": want a zone of the system's tz database, an IANA "
         "id such as Europe/Berlin"},
        {0, 0, "+08:00", 0, 0,
         "SKONTO_DEFAULT_TZ \"+08:00\": want a zone of the system's tz database, an IANA id "
         "such as Europe/Berlin"},
        {0, 0, 0, "monday", 0,
         "SKONTO_STATEMENT_WEEKDAY \"monday\": want Monday, Tuesday, Wednesday, Thursday, "
         "Friday, Saturday or Sunday"},
        {0, 0, 0, 0, "example..com",
         "SKONTO_MAIL_DOMAIN \"example..com\": want a domain name such as example.com"},
        {0, 0, 0, 0, "<x>@example.com",
         "SKONTO_MAIL_DOMAIN \"<x>@example.com\": want a domain name such as example.com"},
        {0, 0, 0, 0, "-a.example.com",
         "SKONTO_MAIL_DOMAIN \"-a.example.com\": want a domain name such as example.com"},
        {0, 0, 0, 0, "a-.example.com",
         "SKONTO_MAIL_DOMAIN \"a-.example.com\": want a domain name such as example.com"},
        {0, "09\n00", 0, 0, 0, "SKONTO_REMINDER_HOUR \"09?00\": want no control characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sk_remind_settings_t s = s_defaults();
        sk_remind_settings_t before = s;
        sk_err_t err;
        if (sk_remind_settings_parse(&s, bad[i].leads, bad[i].hour, bad[i].tz, bad[i].weekday,
                                     bad[i].domain, &err) != -1)
            fail_msg("case %zu taken", i);
        assert_string_equal(err.code, "bad_config");
        assert_string_equal(err.msg, bad[i].msg);
        assert_memory_equal(&s, &before, sizeof s); /* untouched */
    }
}

static void test_keys_and_message_ids(void **state)
{
    (void)state;
    char key[SK_REMIND_KEY_MAX], id[SK_REMIND_MSGID_MAX];
    assert_int_equal(sk_remind_key(key, sizeof key, "O-1", 1, s_day("2026-03-10"), 3), 0);
    assert_string_equal(key, "r|1|2026-03-10|3|O-1");
    assert_int_equal(sk_remind_message_id(id, sizeof id, key, "skonto.invalid"), 0);
    assert_string_equal(id, "<r.3587cac5538df92a602c7511beca204a@skonto.invalid>");
    /* an id holding '|' and Chinese text: still one key, a plain Message-ID */
    assert_int_equal(sk_remind_key(key, sizeof key, "订单|7", 0, s_day("2026-03-10"), 1), 0);
    assert_string_equal(key, "r|0|2026-03-10|1|订单|7");
    assert_int_equal(sk_remind_message_id(id, sizeof id, key, "example.cn"), 0);
    assert_string_equal(id, "<r.cd86a0371cdd61705adc33f82b761198@example.cn>");
    assert_int_equal(sk_statement_key(key, sizeof key, "C-1", s_at("2026-03-09T13:00:00Z")), 0);
    assert_string_equal(key, "s|2026-03-09T13:00:00Z|C-1");
    assert_int_equal(sk_remind_message_id(id, sizeof id, key, "skonto.invalid"), 0);
    assert_string_equal(id, "<s.21b0165721df88affd981a977d149689@skonto.invalid>");
    /* a moved deadline is another reminder */
    char moved[SK_REMIND_KEY_MAX], id2[SK_REMIND_MSGID_MAX];
    sk_remind_key(key, sizeof key, "O-1", 1, s_day("2026-03-10"), 3);
    sk_remind_key(moved, sizeof moved, "O-1", 1, s_day("2026-03-11"), 3);
    sk_remind_message_id(id, sizeof id, key, "skonto.invalid");
    sk_remind_message_id(id2, sizeof id2, moved, "skonto.invalid");
    assert_string_not_equal(id, id2);
    /* too small a buffer is refused, never cut */
    char small[8];
    assert_int_equal(sk_remind_key(small, sizeof small, "O-1", 1, 0, 3), -1);
    assert_int_equal(sk_remind_message_id(small, sizeof small, "r|x", "skonto.invalid"), -1);
}

/* Keys read back give what they were written from; anything else is refused. */
static void test_key_parse(void **state)
{
    (void)state;
    char key[SK_REMIND_KEY_MAX];
    sk_remind_key_parts_t p;
    sk_remind_key(key, sizeof key, "订单|7", 2, s_day("2028-02-29"), 3);
    assert_int_equal(sk_remind_key_parse(key, &p), 0);
    assert_int_equal(p.kind, SK_REMIND_KIND_REMINDER);
    assert_string_equal(p.id, "订单|7");
    assert_int_equal(p.tier, 2);
    assert_int_equal(p.last_day, s_day("2028-02-29"));
    assert_int_equal(p.lead_days, 3);
    sk_statement_key(key, sizeof key, "C|1", s_at("2026-11-02T01:00:00Z"));
    assert_int_equal(sk_remind_key_parse(key, &p), 0);
    assert_int_equal(p.kind, SK_REMIND_KIND_STATEMENT);
    assert_string_equal(p.id, "C|1");
    assert_true(p.scheduled_ms == s_at("2026-11-02T01:00:00Z"));
    const char *bad[] = {"", "r", "x|1|2026-03-10|3|O", "r|1|2026-03-10|3|", "r||2026-03-10|3|O",
                         "r|1|2026-02-30|3|O", "r|1|2026-03-10|91|O", "r|9|2026-03-10|3|O",
                         "r|1|2026-03-10|-3|O", "s|2026-03-09|C", "s|2026-03-09T13:00:00Z|"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sk_remind_key_parse(bad[i], &p), -1);
    sk_cadence_t c;
    assert_int_equal(sk_remind_cadence_parse("", &c), 0);
    assert_int_equal(c, SK_CADENCE_WEEKLY);
    assert_int_equal(sk_remind_cadence_parse("daily", &c), 0);
    assert_int_equal(c, SK_CADENCE_DAILY);
    assert_int_equal(sk_remind_cadence_parse("none", &c), 0);
    assert_int_equal(c, SK_CADENCE_NONE);
    assert_int_equal(sk_remind_cadence_parse("monthly", &c), -1);
}

/* A schedule with one tier ending 2026-03-10 in New York (DST starts on the
 * 8th), stored at different moments. */
static size_t s_plan_ny(int64_t now, sk_reminder_t *out, size_t cap)
{
    sk_remind_settings_t s = s_defaults();
    const sk_tz_t *ny = sk_tz_find("America/New_York", NULL);
    sk_day_t last = s_day("2026-03-10");
    size_t n = 99;
    sk_err_t err;
    if (sk_remind_plan(&s, "O-1", &last, 1, ny, now, out, cap, &n, &err))
        fail_msg("%s", err.msg);
    return n;
}

static void test_plan_leads_at_local_hour(void **state)
{
    (void)state;
    sk_reminder_t r[4];
    assert_int_equal(s_plan_ny(s_at("2026-03-01T00:00:00Z"), r, 4), 2);
    /* 3 days before, 09:00 EST; 1 day before, 09:00 EDT */
    s_assert_at(r[0].due_ms, "2026-03-07T14:00:00Z");
    s_assert_at(r[1].due_ms, "2026-03-09T13:00:00Z");
    assert_int_equal(r[0].lead_days, 3);
    assert_int_equal(r[1].lead_days, 1);
    assert_string_equal(r[0].key, "r|0|2026-03-10|3|O-1");
    assert_string_equal(r[1].key, "r|0|2026-03-10|1|O-1");
    /* the window closes at the end of the 10th, New York time */
    s_assert_at(r[0].closes_ms, "2026-03-11T04:00:00Z");
    assert_int_equal(r[0].tier, 0);
    assert_int_equal(r[0].last_day, s_day("2026-03-10"));
    /* the same inputs give the same reminders, Message-IDs included */
    sk_reminder_t again[4];
    assert_int_equal(s_plan_ny(s_at("2026-03-01T00:00:00Z"), again, 4), 2);
    assert_memory_equal(r, again, 2 * sizeof r[0]);
}

static void test_plan_passed_reminders(void **state)
{
    (void)state;
    sk_reminder_t r[4];
    /* the 3-day one has passed: due at once, the 1-day one keeps its time */
    int64_t now = s_at("2026-03-08T00:00:00Z");
    assert_int_equal(s_plan_ny(now, r, 4), 2);
    assert_int_equal(r[0].lead_days, 3);
    assert_int_equal(r[0].due_ms, now);
    s_assert_at(r[0].scheduled_ms, "2026-03-07T14:00:00Z");
    s_assert_at(r[1].due_ms, "2026-03-09T13:00:00Z");
    /* exactly at its time counts as passed */
    now = s_at("2026-03-07T14:00:00Z");
    assert_int_equal(s_plan_ny(now, r, 4), 2);
    assert_int_equal(r[0].due_ms, now);
    /* both passed: one mail, the later (1 day) */
    now = s_at("2026-03-09T20:00:00Z");
    assert_int_equal(s_plan_ny(now, r, 4), 1);
    assert_int_equal(r[0].lead_days, 1);
    assert_int_equal(r[0].due_ms, now);
    assert_string_equal(r[0].key, "r|0|2026-03-10|1|O-1");
    /* the last millisecond of the window: still sent */
    now = s_at("2026-03-11T04:00:00Z") - 1;
    assert_int_equal(s_plan_ny(now, r, 4), 1);
    assert_int_equal(r[0].due_ms, now);
    /* closed: none */
    assert_int_equal(s_plan_ny(s_at("2026-03-11T04:00:00Z"), r, 4), 0);
    assert_int_equal(s_plan_ny(s_at("2026-04-01T00:00:00Z"), r, 4), 0);
}

static void test_plan_tiers_and_zones(void **state)
{
    (void)state;
    sk_remind_settings_t s;
    sk_err_t err;
    assert_int_equal(sk_remind_settings_parse(&s, "7,3,0", NULL, NULL, NULL, "example.cn", &err),
                     0);
    /* 2/0 (cash, closed), 1/10 and 0.5/30 after 2028-02-19 in Shanghai: the
     * second window ends on 29 February 2028 */
    sk_day_t last[] = {s_day("2028-02-19"), s_day("2028-02-29"), s_day("2028-03-20")};
    const sk_tz_t *sh = sk_remind_zone(&s, "Asia/Shanghai", &err);
    assert_non_null(sh);
    sk_reminder_t r[9];
    size_t n;
    int64_t now = s_at("2028-02-20T02:00:00Z");
    assert_int_equal(sk_remind_plan(&s, "SO-88", last, 3, sh, now, r, 9, &n, &err), 0);
    assert_int_equal(n, 6);
    /* tier 1: 7 days before (the 22nd), 3 (the 26th), 0 (the 29th) */
    assert_int_equal(r[0].tier, 1);
    s_assert_at(r[0].due_ms, "2028-02-22T01:00:00Z");
    s_assert_at(r[1].due_ms, "2028-02-26T01:00:00Z");
    s_assert_at(r[2].due_ms, "2028-02-29T01:00:00Z");
    s_assert_at(r[2].closes_ms, "2028-02-29T16:00:00Z");
    /* tier 2: its 7-day one (13 March) and on */
    assert_int_equal(r[3].tier, 2);
    s_assert_at(r[3].due_ms, "2028-03-13T01:00:00Z");
    assert_string_equal(r[4].key, "r|2|2028-03-20|3|SO-88");
    assert_string_equal(r[5].key, "r|2|2028-03-20|0|SO-88");
    s_assert_at(r[5].due_ms, "2028-03-20T01:00:00Z");
    char mid[SK_REMIND_MSGID_MAX];
    assert_int_equal(sk_remind_message_id(mid, sizeof mid, r[4].key, s.mail_domain), 0);
    assert_non_null(strstr(mid, "@example.cn>"));
    /* the cash tier closed at the end of the 19th, Shanghai time: none */
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(r[i].tier, 0);
    /* no zone = the default (UTC here); an unknown one is refused */
    assert_ptr_equal(sk_remind_zone(&s, "", &err), s.default_tz);
    assert_ptr_equal(sk_remind_zone(&s, NULL, &err), s.default_tz);
    assert_null(sk_remind_zone(&s, "Asia/Shangai", &err));
    assert_string_equal(err.code, "bad_timezone");
    /* cap too small */
    assert_int_equal(sk_remind_plan(&s, "SO-88", last, 3, sh, now, r, 4, &n, &err), -1);
    assert_string_equal(err.msg, "reminders: more than 4");
}

/* Tiers whose windows end a day apart: tier 1's 3-day reminder comes before
 * tier 0's 1-day one, so due order is not tier order; equal instants keep
 * the plan's (tier) order. */
static void test_plan_sorted_by_due(void **state)
{
    (void)state;
    sk_remind_settings_t s;
    sk_err_t err;
    assert_int_equal(sk_remind_settings_parse(&s, "3,1", NULL, NULL, NULL, NULL, &err), 0);
    sk_day_t last[] = {s_day("2026-03-10"), s_day("2026-03-11"), s_day("2026-03-13")};
    sk_reminder_t r[6];
    size_t n;
    int64_t now = s_at("2026-03-01T00:00:00Z");
    assert_int_equal(sk_remind_plan(&s, "SO-9", last, 3, s.default_tz, now, r, 6, &n, &err), 0);
    assert_int_equal(n, 6);
    sk_remind_sort_due(r, n);
    const char *want[] = {"r|0|2026-03-10|3|SO-9", "r|1|2026-03-11|3|SO-9",
                          "r|0|2026-03-10|1|SO-9", "r|1|2026-03-11|1|SO-9",
                          "r|2|2026-03-13|3|SO-9", "r|2|2026-03-13|1|SO-9"};
    /* 03-07, 03-08, 03-09 (tier 0's 1-day), 03-10 and tier 2's 03-10: equal */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(r[i].key, want[i]);
    for (size_t i = 1; i < n; i++)
        assert_true(r[i - 1].due_ms <= r[i].due_ms);
    sk_remind_sort_due(r, 0); /* nothing to do */
}

static int s_teardown(void **state)
{
    (void)state;
    sk_tz_cache_clear();
    return 0;
}

/* A sent record may be forgotten once it is as old as the retention and its
 * key cannot come back: a statement's instant has passed, a reminder's window
 * has closed in every zone, which the plan itself confirms in the zone whose
 * windows close last (UTC-12, "Etc/GMT+12"). */
static void test_forgettable(void **state)
{
    (void)state;
    const int64_t day = SK_MS_PER_DAY;
    const char *rk = "r|1|2028-02-29|3|SO-9";
    int64_t sent = s_at("2028-02-26T09:00:00Z");
    /* too young: 30 days' retention, 29.9 days later */
    assert_false(sk_remind_forgettable(rk, sent, sent + 30 * day - 1, 30 * day));
    assert_true(sk_remind_forgettable(rk, sent, sent + 30 * day, 30 * day));
    /* no retention: the window decides */
    assert_false(sk_remind_forgettable(rk, sent, s_at("2028-03-01T23:59:59Z"), 0));
    assert_true(sk_remind_forgettable(rk, sent, s_at("2028-03-02T00:00:00Z"), 0));
    sk_remind_settings_t s = s_defaults();
    sk_err_t err;
    const sk_tz_t *west = sk_remind_zone(&s, "Etc/GMT+12", &err);
    assert_non_null(west);
    sk_day_t last[] = {s_day("2028-02-25"), s_day("2028-02-29")};
    sk_reminder_t r[4];
    size_t n;
    assert_int_equal(sk_remind_plan(&s, "SO-9", last, 2, west, s_at("2028-03-01T11:59:59Z"), r, 4,
                                    &n, &err),
                     0);
    assert_int_equal(n, 1); /* still open there: the key is planned, due at once */
    assert_string_equal(r[0].key, "r|1|2028-02-29|1|SO-9");
    assert_false(sk_remind_forgettable(r[0].key, sent, s_at("2028-03-01T11:59:59Z"), 0));
    assert_int_equal(sk_remind_plan(&s, "SO-9", last, 2, west, s_at("2028-03-01T12:00:00Z"), r, 4,
                                    &n, &err),
                     0);
    assert_int_equal(n, 0);
    /* a statement: once its instant has passed and it is old enough */
    const char *sk = "s|2028-03-06T09:00:00Z|C-1";
    int64_t at = s_at("2028-03-06T09:00:00Z");
    assert_false(sk_remind_forgettable(sk, at, at, 0));
    assert_true(sk_remind_forgettable(sk, at, at + 1, 0));
    assert_false(sk_remind_forgettable(sk, at, at + 7 * day - 1, 7 * day));
    /* not a key: kept */
    assert_false(sk_remind_forgettable("x|junk", 0, sent + 1000 * day, 0));
    assert_false(sk_remind_forgettable("r|1|2028-02-31|3|SO-9", 0, sent + 1000 * day, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_settings_taken),
        cmocka_unit_test(test_settings_environment),
        cmocka_unit_test(test_bad_settings_messages),
        cmocka_unit_test(test_keys_and_message_ids),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_plan_leads_at_local_hour),
        cmocka_unit_test(test_plan_passed_reminders),
        cmocka_unit_test(test_plan_tiers_and_zones),
        cmocka_unit_test(test_plan_sorted_by_due),
        cmocka_unit_test(test_forgettable),
    };
    return cmocka_run_group_tests(tests, NULL, s_teardown);
}
