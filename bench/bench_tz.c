/* skonto-bench-tz — what a reminder's due instant costs (issue 8), in one
 * process without Redis: build/bin/skonto-bench-tz [rounds]
 *
 * Prints, per call: a zone looked up in GLib without the cache
 * (g_time_zone_new_identifier, the file parsed each time), the cached
 * sk_tz_find, one due instant (sk_tz_local_instant), one window close
 * (sk_tz_day_start), and sk_remind_plan of a three-tier invoice with the
 * default leads (6 reminders: keys, SHA-256 Message-IDs included) per
 * invoice and per reminder; then the plan from 2 threads at once. */
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "date.h"
#include "sk_remind.h"
#include "sk_tz.h"

static const char *const s_zones[] = {"America/New_York", "Asia/Shanghai", "Europe/Berlin",
                                      "America/Mexico_City", "Australia/Sydney"};
#define S_NZONES 5

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static volatile int64_t s_sink; /* keeps the loops' results alive */

static void s_report(const char *what, double seconds, long calls)
{
    printf("%-46s %10.0f ns/call %12.0f /s\n", what, seconds / (double)calls * 1e9,
           (double)calls / seconds);
}

typedef struct {
    const sk_remind_settings_t *s;
    long rounds;
} plan_arg_t;

static void *s_plan_loop(void *p)
{
    plan_arg_t *a = p;
    sk_reminder_t out[16];
    sk_day_t base = sk_date_from_ymd(2026, 11, 2);
    for (long i = 0; i < a->rounds; i++) {
        const sk_tz_t *tz = sk_tz_find(s_zones[i % S_NZONES], NULL);
        sk_day_t last[3] = {base + (sk_day_t)(i % 300), base + 10 + (sk_day_t)(i % 300),
                            base + 30 + (sk_day_t)(i % 300)};
        size_t n = 0;
        if (sk_remind_plan(a->s, "SO-000123", last, 3, tz, (int64_t)base * 86400000, out, 16, &n,
                           NULL))
            abort();
        s_sink += out[n - 1].due_ms;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    if (rounds < 10)
        rounds = 10;
    sk_remind_settings_t s;
    sk_err_t err;
    if (sk_remind_settings_parse(&s, NULL, NULL, NULL, NULL, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    long lookups = rounds / 20 + 1;
    double t0 = s_now();
    for (long i = 0; i < lookups; i++) {
        GTimeZone *z = g_time_zone_new_identifier(s_zones[i % S_NZONES]);
        s_sink += z != NULL;
        g_time_zone_unref(z);
    }
    s_report("GLib zone lookup, uncached", s_now() - t0, lookups);

    t0 = s_now();
    for (long i = 0; i < rounds; i++)
        s_sink += sk_tz_find(s_zones[i % S_NZONES], NULL) != NULL;
    s_report("sk_tz_find, cached", s_now() - t0, rounds);

    const sk_tz_t *ny = sk_tz_find("America/New_York", NULL);
    sk_day_t base = sk_date_from_ymd(2026, 1, 1);
    t0 = s_now();
    for (long i = 0; i < rounds; i++)
        s_sink += sk_tz_local_instant(ny, base + (sk_day_t)(i % 730), 9 * 60);
    s_report("due instant (sk_tz_local_instant)", s_now() - t0, rounds);

    t0 = s_now();
    for (long i = 0; i < rounds; i++)
        s_sink += sk_tz_day_start(ny, base + (sk_day_t)(i % 730));
    s_report("window close (sk_tz_day_start)", s_now() - t0, rounds);

    plan_arg_t a = {&s, rounds / 4 + 1};
    t0 = s_now();
    s_plan_loop(&a);
    double dt = s_now() - t0;
    s_report("sk_remind_plan, 3 tiers x 2 leads, per invoice", dt, a.rounds);
    s_report("sk_remind_plan, per reminder", dt, a.rounds * 6);

    pthread_t th[2];
    t0 = s_now();
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, s_plan_loop, &a))
            return 1;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    dt = s_now() - t0;
    s_report("sk_remind_plan, 2 threads, per reminder (sum)", dt, 2 * a.rounds * 6);
    sk_tz_cache_clear();
    return 0;
}
