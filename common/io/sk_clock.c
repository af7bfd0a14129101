/* sk_clock — see sk_clock.h. */
#include "sk_clock.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"

extern const char SK_CLOCK_LUA[]; /* sk_clock.lua, embedded at build time */

struct _sk_clock_t {
    sk_clock_mode_t mode;
    int64_t fixed_ms; /* SK_CLOCK_FIXED */
    bool from_today;  /* fixed by SKONTO_TODAY */
    int64_t now_ms;   /* the last tick's instant */
    bool set;         /* redis: the key was there at the last tick */
};

int64_t sk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sk_clock_t *sk_clock_new(const char *spec, const char *today, sk_err_t *err)
{
    sk_clock_t c = {.mode = SK_CLOCK_SYSTEM};
    char q[SK_ERR_QUOTE_MAX];
    if (today && *today) {
        sk_day_t d;
        sk_err_t derr;
        if (sk_date_parse(today, &d, &derr))
            return sk_err_set(err, "bad_config",
                              "SKONTO_TODAY \"%s\": want a date, YYYY-MM-DD "
                              "(%s)",
                              sk_err_quote(today, strlen(today), q, sizeof q), derr.msg),
                   NULL;
        c.mode = SK_CLOCK_FIXED;
        c.fixed_ms = (int64_t)d * 86400000;
        c.from_today = true;
    } else if (!spec || !*spec || !strcmp(spec, "system")) {
        c.mode = SK_CLOCK_SYSTEM;
    } else if (!strcmp(spec, "redis")) {
        c.mode = SK_CLOCK_REDIS;
    } else if (!strncmp(spec, "fixed:", 6)) {
        sk_err_t ierr;
        if (sk_time_parse(spec + 6, &c.fixed_ms, &ierr))
            return sk_err_set(err, "bad_config",
                              "SKONTO_CLOCK \"%s\": want system, redis or fixed:INSTANT with an "
                              "instant in UTC such as fixed:2026-11-02T09:00:00Z",
                              sk_err_quote(spec, strlen(spec), q, sizeof q)),
                   NULL;
        c.mode = SK_CLOCK_FIXED;
    } else {
        return sk_err_set(err, "bad_config",
                          "SKONTO_CLOCK \"%s\": want system, redis or fixed:INSTANT (such as "
                          "fixed:2026-11-02T09:00:00Z)",
                          sk_err_quote(spec, strlen(spec), q, sizeof q)),
               NULL;
    }
    sk_clock_t *self = malloc(sizeof *self);
    if (!self)
        return sk_err_set(err, "oom", "out of memory"), NULL;
    *self = c;
    sk_clock_tick(self, NULL, NULL);
    return self;
}

sk_clock_t *sk_clock_new_env(sk_err_t *err)
{
    return sk_clock_new(getenv("SKONTO_CLOCK"), getenv("SKONTO_TODAY"), err);
}

void sk_clock_destroy(sk_clock_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

sk_clock_mode_t sk_clock_mode(const sk_clock_t *self)
{
    return self->mode;
}

const char *sk_clock_mode_name(const sk_clock_t *self)
{
    static const char *const names[] = {"system", "fixed", "redis"};
    return names[self->mode];
}

char *sk_clock_describe(const sk_clock_t *self, char *buf, size_t n)
{
    char at[SK_TIME_MAX];
    switch (self->mode) {
    case SK_CLOCK_FIXED:
        snprintf(buf, n, "fixed at %s (%s)",
                 sk_time_format(self->fixed_ms, SK_TIME_ISO_EXACT, at, sizeof at),
                 self->from_today ? "SKONTO_TODAY" : "SKONTO_CLOCK");
        break;
    case SK_CLOCK_REDIS:
        snprintf(buf, n, "redis (simulated time in %s, moved by skontoctl clock)", SK_KEY_CLOCK);
        break;
    default:
        snprintf(buf, n, "system (the wall clock)");
    }
    return buf;
}

/* Parses the key's value: a whole number of ms. */
static bool s_parse_ms(const char *s, size_t len, int64_t *out)
{
    if (!len || len > 19 || strspn(s, "-0123456789") != len)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || (size_t)(end - s) != len)
        return false;
    *out = v;
    return true;
}

int sk_clock_tick(sk_clock_t *self, struct redisContext *c, sk_err_t *err)
{
    if (self->mode == SK_CLOCK_FIXED) {
        self->now_ms = self->fixed_ms;
        return 0;
    }
    if (self->mode == SK_CLOCK_SYSTEM || !c) {
        self->now_ms = sk_now_ms();
        return 0;
    }
    redisReply *r = redisCommand(c, "GET %s", SK_KEY_CLOCK);
    if (!r)
        return sk_err_set(err, "redis", "GET %s: %s", SK_KEY_CLOCK, c->errstr);
    int rc = 0;
    int64_t v;
    if (r->type == REDIS_REPLY_NIL) {
        self->now_ms = sk_now_ms();
        self->set = false;
    } else if (r->type == REDIS_REPLY_STRING && s_parse_ms(r->str, r->len, &v)) {
        self->now_ms = v;
        self->set = true;
    } else {
        char q[SK_ERR_QUOTE_MAX];
        rc = sk_err_set(err, "bad_clock", "%s holds \"%s\": want ms since the epoch", SK_KEY_CLOCK,
                        r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR
                            ? sk_err_quote(r->str, r->len, q, sizeof q)
                            : "?");
    }
    freeReplyObject(r);
    return rc;
}

int64_t sk_clock_now(const sk_clock_t *self)
{
    return self->now_ms;
}

sk_day_t sk_clock_today(const sk_clock_t *self)
{
    return sk_time_day(self->now_ms);
}

bool sk_clock_is_set(const sk_clock_t *self)
{
    return self->set;
}

static int s_move(struct redisContext *c, const char *how, int64_t v, int64_t *now_ms,
                  sk_err_t *err)
{
    char vs[24], wall[24];
    snprintf(vs, sizeof vs, "%" PRId64, v);
    snprintf(wall, sizeof wall, "%" PRId64, sk_now_ms());
    const char *argv[] = {"EVAL", SK_CLOCK_LUA, "1", SK_KEY_CLOCK, how, vs, wall};
    redisReply *r = redisCommandArgv(c, 7, argv, NULL);
    if (!r)
        return sk_err_set(err, "redis", "Redis: %s", c->errstr);
    int rc = 0;
    if (r->type == REDIS_REPLY_INTEGER) {
        *now_ms = r->integer;
    } else if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "EARLIER ", 8)) {
        char cur[SK_TIME_MAX], want[SK_TIME_MAX];
        int64_t cur_ms = strtoll(r->str + 8, NULL, 10);
        rc = sk_err_set(err, "clock_earlier",
                        "simulated time only moves forward: %s is before the current %s",
                        sk_time_format(v, SK_TIME_ISO_EXACT, want, sizeof want),
                        sk_time_format(cur_ms, SK_TIME_ISO_EXACT, cur, sizeof cur));
    } else if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "BADCLOCK")) {
        rc = sk_err_set(err, "bad_clock", "%s holds something that is not ms since the epoch",
                        SK_KEY_CLOCK);
    } else {
        rc = sk_err_set(err, "redis", "moving the clock failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

int sk_clock_redis_set(struct redisContext *c, int64_t at_ms, int64_t *now_ms, sk_err_t *err)
{
    return s_move(c, "set", at_ms, now_ms, err);
}

int sk_clock_redis_advance(struct redisContext *c, int64_t by_ms, int64_t *now_ms, sk_err_t *err)
{
    if (by_ms <= 0)
        return sk_err_set(err, "bad_duration", "advance by a duration above zero");
    return s_move(c, "advance", by_ms, now_ms, err);
}
