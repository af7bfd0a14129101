/* clock — `skontoctl clock show|set|advance`: the stack's business time.
 *
 * show: the clock this environment runs on (SKONTO_CLOCK, SKONTO_TODAY;
 * common/io/sk_clock) and its instant; for SKONTO_CLOCK=redis the simulated
 * instant in sk:{sys}:clock, read as skontoctl's (read-only) Redis user.
 *
 * set INSTANT / advance DURATION move simulated time, and only forward (an
 * earlier instant is refused, atomically in Redis: common/io/sk_clock.lua).
 * Only a stack run with SKONTO_CLOCK=redis accepts it, and only through its
 * own Redis user (SKONTO_CLOCK_USER, default "clock", password in
 * SKONTO_CLOCK_PASSWORD_FILE), which may write the clock key and nothing
 * else: deploy/local.sh creates it only for SKONTO_CLOCK=redis and writes
 * both variables into RUNDIR/env. skontoctl's normal user stays read-only. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "keys.h"
#include "sk_clock.h"
#include "sk_config.h"
#include "sk_redis.h"

#define VERB "clock"
#define S_USAGE "skontoctl clock show [--json] | set INSTANT | advance DURATION"

static const sk_cli_opt_t s_opts[] = {
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl clock show [--json]\n"
            "       skontoctl clock set INSTANT        e.g. 2026-11-02T09:00:00Z or 2026-11-02\n"
            "       skontoctl clock advance DURATION   e.g. 7d, 36h, 1d12h, 30m, 500ms\n"
            "\n"
            "The stack's business time: what \"today\" is for the discount windows\n"
            "(skontoctl customer show, the discount worker) and, later, for reminders.\n"
            "show prints the clock's mode (system, fixed or redis, from SKONTO_CLOCK and\n"
            "SKONTO_TODAY) and its instant (UTC). set and advance move simulated time, only\n"
            "forward, on a stack started with SKONTO_CLOCK=redis (deploy/local.sh up), as\n"
            "the Redis user that may write the clock and nothing else.\n"
            "\n"
            "options:\n"
            "  --json   show as JSON: {mode, instant, instant_ms, today, set}; set is false\n"
            "           while a redis clock was never moved (the wall clock applies)\n"
            "\n"
            "Environment: SKONTO_CLOCK, SKONTO_TODAY, SKONTO_REDIS_URL (and its user, to\n"
            "read); SKONTO_CLOCK_USER (default clock) and SKONTO_CLOCK_PASSWORD_FILE, to move.\n");
}

static int s_show(bool json)
{
    sk_err_t err;
    sk_clock_t *clock = sk_clock_new_env(&err);
    if (!clock)
        return sk_cli_usage_error(VERB, "%s", err.msg);
    int rc = SK_EXIT_OK;
    if (sk_clock_mode(clock) == SK_CLOCK_REDIS) {
        redisContext *c = sk_cli_redis_connect(VERB);
        if (!c) {
            sk_clock_destroy(&clock);
            return SK_EXIT_FAIL;
        }
        if (sk_clock_tick(clock, c, &err))
            rc = sk_cli_fail(VERB, "%s", err.msg);
        redisFree(c);
    } else {
        sk_clock_tick(clock, NULL, NULL);
    }
    if (rc == SK_EXIT_OK) {
        char at[SK_TIME_MAX], day[16];
        bool set = sk_clock_mode(clock) != SK_CLOCK_REDIS || sk_clock_is_set(clock);
        sk_time_format(sk_clock_now(clock), SK_TIME_ISO_EXACT, at, sizeof at);
        sk_date_format(sk_clock_today(clock), day, sizeof day);
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "mode", json_string(sk_clock_mode_name(clock)));
            json_object_set_new(o, "instant", json_string(at));
            json_object_set_new(o, "instant_ms", json_integer((json_int_t)sk_clock_now(clock)));
            json_object_set_new(o, "today", json_string(day));
            json_object_set_new(o, "set", json_boolean(set));
            rc = sk_cli_json_print(VERB, o);
        } else {
            char how[160];
            printf("mode:    %s\n", sk_clock_describe(clock, how, sizeof how));
            printf("instant: %s (today %s)%s\n", at, day,
                   set ? "" : "; simulated time was never set: the wall clock applies");
        }
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    sk_clock_destroy(&clock);
    return rc;
}

/* set (advance = false) or advance, as the clock's own Redis user. */
static int s_move(bool advance, const char *value)
{
    sk_err_t err;
    int64_t v;
    if (advance ? sk_duration_parse("advance", value, 0, &v, &err) : sk_time_parse(value, &v, &err))
        return sk_cli_usage_error(VERB, "%s%s", advance ? "" : "set ", err.msg);
    if (advance && v <= 0)
        return sk_cli_usage_error(VERB, "advance \"%s\": want a duration above zero", value);
    /* Only SKONTO_CLOCK decides whether the stack runs on simulated time;
     * SKONTO_TODAY fixes what a command judges by, not the stack. */
    sk_clock_t *clock = sk_clock_new(getenv("SKONTO_CLOCK"), NULL, &err);
    if (!clock)
        return sk_cli_usage_error(VERB, "%s", err.msg);
    bool redis = sk_clock_mode(clock) == SK_CLOCK_REDIS;
    sk_clock_destroy(&clock);
    if (!redis)
        return sk_cli_fail(VERB,
                           "this stack does not run on simulated time (it needs "
                           "SKONTO_CLOCK=redis, set when the stack starts: "
                           "SKONTO_CLOCK=redis deploy/local.sh up); its clock cannot be %s",
                           advance ? "advanced" : "set");
    const char *user, *pass;
    if (sk_config_string("SKONTO_CLOCK_USER", "clock", 64, &user, &err) ||
        sk_config_file("SKONTO_CLOCK_PASSWORD_FILE", true, &pass, &err))
        return sk_cli_fail(VERB,
                           "%s (the clock's Redis user; deploy/local.sh writes it into "
                           "RUNDIR/env)",
                           err.msg);
    redisContext *c = sk_redis_connect_as(sk_redis_url_env(), user, pass, &err);
    if (!c)
        return sk_cli_fail(VERB, "%s", err.msg);
    int64_t now;
    int rc =
        advance ? sk_clock_redis_advance(c, v, &now, &err) : sk_clock_redis_set(c, v, &now, &err);
    redisFree(c);
    if (rc)
        return sk_cli_fail(VERB, "%s", err.msg);
    char at[SK_TIME_MAX], day[16];
    printf("simulated time is now %s (today %s)\n",
           sk_time_format(now, SK_TIME_ISO_EXACT, at, sizeof at),
           sk_date_format(sk_time_day(now), day, sizeof day));
    return sk_cli_finish(VERB);
}

int sk_cmd_clock(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *words[3] = {NULL, NULL, NULL}, *value;
    int nwords = 0, o;
    bool json = false;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (nwords == 2)
                return sk_cli_usage_error(VERB, "unexpected \"%s\" (usage: %s)", value, S_USAGE);
            words[nwords++] = value;
        } else {
            json = true;
        }
    }
    const char *what = words[0];
    if (what && !strcmp(what, "show") && nwords == 1)
        return s_show(json);
    if (what && (!strcmp(what, "set") || !strcmp(what, "advance")) && !json) {
        if (nwords != 2)
            return sk_cli_usage_error(VERB, "%s what? (usage: %s)", what, S_USAGE);
        return s_move(!strcmp(what, "advance"), words[1]);
    }
    return sk_cli_usage_error(VERB, "want show, set INSTANT or advance DURATION (usage: %s)",
                              S_USAGE);
}
