/* sk_heartbeat — see sk_heartbeat.h. */
#include "sk_heartbeat.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "sk_clock.h"

struct _sk_heartbeat_t {
    char *name, *role;
    struct {
        const char *field;
        int64_t value;
    } counters[SK_HEARTBEAT_COUNTERS];
    int ncounters;
    struct {
        const char *field;
        char value[128];
    } texts[4];
    int ntexts;
    int64_t last_ms; /* wall time of the last write, 0: none yet */
};

sk_heartbeat_t *sk_heartbeat_new(const char *name, const char *role)
{
    sk_heartbeat_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->name = strdup(name);
    self->role = strdup(role);
    if (!self->name || !self->role)
        sk_heartbeat_destroy(&self);
    return self;
}

void sk_heartbeat_destroy(sk_heartbeat_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->name);
    free((*self_p)->role);
    free(*self_p);
    *self_p = NULL;
}

void sk_heartbeat_count(sk_heartbeat_t *self, const char *field, int64_t value)
{
    for (int i = 0; i < self->ncounters; i++)
        if (!strcmp(self->counters[i].field, field)) {
            self->counters[i].value = value;
            return;
        }
    if (self->ncounters < SK_HEARTBEAT_COUNTERS) {
        self->counters[self->ncounters].field = field;
        self->counters[self->ncounters++].value = value;
    }
}

void sk_heartbeat_text(sk_heartbeat_t *self, const char *field, const char *value)
{
    int i = 0;
    while (i < self->ntexts && strcmp(self->texts[i].field, field))
        i++;
    if (i == self->ntexts) {
        if (self->ntexts == (int)(sizeof self->texts / sizeof self->texts[0]))
            return;
        self->texts[self->ntexts++].field = field;
    }
    snprintf(self->texts[i].value, sizeof self->texts[i].value, "%s", value);
}

bool sk_heartbeat_due(const sk_heartbeat_t *self, int64_t now_ms)
{
    return !self->last_ms || now_ms - self->last_ms >= SK_HEARTBEAT_EVERY_MS;
}

void sk_heartbeat_reset(sk_heartbeat_t *self)
{
    self->last_ms = 0;
}

char *sk_heartbeat_json(const sk_heartbeat_t *self, int64_t at_ms)
{
    json_t *o = json_object();
    bool ok = o && !json_object_set_new(o, "pid", json_integer((json_int_t)getpid())) &&
              !json_object_set_new(o, "role", json_string(self->role)) &&
              !json_object_set_new(o, "at_ms", json_integer((json_int_t)at_ms));
    for (int i = 0; ok && i < self->ncounters; i++)
        ok = !json_object_set_new(o, self->counters[i].field,
                                  json_integer((json_int_t)self->counters[i].value));
    for (int i = 0; ok && i < self->ntexts; i++)
        if (self->texts[i].value[0])
            ok = !json_object_set_new(o, self->texts[i].field, json_string(self->texts[i].value));
    char *s = ok ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

int sk_heartbeat_append(sk_heartbeat_t *self, struct redisContext *c, sk_err_t *err)
{
    int64_t now = sk_now_ms();
    char *json = sk_heartbeat_json(self, now);
    if (!json)
        return sk_err_set(err, "oom", "heartbeat: out of memory");
    const char *argv[4] = {"HSET", SK_KEY_HEARTBEATS, self->name, json};
    int rc = redisAppendCommandArgv(c, 4, argv, NULL);
    free(json);
    if (rc != REDIS_OK)
        return sk_err_set(err, "redis", "heartbeat: cannot queue HSET: %s", c->errstr);
    self->last_ms = now;
    return 0;
}

int sk_heartbeat_write(sk_heartbeat_t *self, struct redisContext *c, sk_err_t *err)
{
    if (sk_heartbeat_append(self, c, err))
        return -1;
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK || !r)
        return sk_err_set(err, "redis", "heartbeat: %s", c->errstr[0] ? c->errstr : "no reply");
    int rc = r->type == REDIS_REPLY_INTEGER
                 ? 0
                 : sk_err_set(err, "redis", "heartbeat: HSET %s: %s", SK_KEY_HEARTBEATS,
                              r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}
