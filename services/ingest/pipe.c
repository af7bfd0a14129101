/* pipe — ingest's Redis connection, pipeline and scripts (see pipe.h). */
#include <stdlib.h>
#include <string.h>

#include "item.h"
#include "pipe.h"
#include "sk_grow.h"
#include "sk_log.h"
#include "sk_redis.h"

/* The Lua scripts, services/ingest/{claim,accept,dlq}.lua embedded at build
 * time (each says its KEYS and ARGV at its top). */
extern const char INGEST_CLAIM_LUA[], INGEST_ACCEPT_LUA[], INGEST_DLQ_LUA[];

/* Arguments of one accept call: 7 + per event 7 + 2 * 8 (the customer's
 * fields, accept.c) + a customer key. */
#define S_MAX_ARGS (8 + INGEST_BATCH * 28) /* per event: 10 + 8 pairs + its customer key */

struct _ingest_pipe_t {
    redisContext *redis; /* NULL while disconnected */
    char sha[3][41];     /* by ingest_script_t */
    bool need_script;    /* (re)load the scripts before the next write */
    void (*idle)(void *); /* run while a pipeline is on its way (ingest_pipe_set_idle) */
    void *idle_arg;
    bool idle_due; /* commands appended since the idle hook last ran */
    char *resp;    /* the command being appended, in RESP (ingest_pipe_append) */
    size_t resp_cap;
    const char *argv[S_MAX_ARGS];
    size_t lens[S_MAX_ARGS];
};

ingest_pipe_t *ingest_pipe_new(void)
{
    return calloc(1, sizeof(ingest_pipe_t));
}

void ingest_pipe_destroy(ingest_pipe_t **self_p)
{
    if (!*self_p)
        return;
    ingest_pipe_drop(*self_p);
    free((*self_p)->resp);
    free(*self_p);
    *self_p = NULL;
}

static int s_load_scripts(ingest_pipe_t *self)
{
    sk_err_t err;
    const struct {
        const char *lua, *name;
        char *sha;
    } scripts[] = {{INGEST_CLAIM_LUA, "claim", self->sha[INGEST_SCRIPT_CLAIM]},
                   {INGEST_ACCEPT_LUA, "accept", self->sha[INGEST_SCRIPT_ACCEPT]},
                   {INGEST_DLQ_LUA, "dead-letter", self->sha[INGEST_SCRIPT_DLQ]}};
    for (size_t k = 0; k < sizeof scripts / sizeof scripts[0]; k++) {
        if (sk_redis_load_script(self->redis, scripts[k].lua, scripts[k].sha, &err)) {
            sk_log("redis: cannot load the %s script: %s", scripts[k].name, err.msg);
            return -1;
        }
    }
    self->need_script = false;
    return 0;
}

int ingest_pipe_connect(ingest_pipe_t *self)
{
    sk_err_t err;
    self->redis = sk_redis_connect_env(&err);
    if (!self->redis) {
        sk_log("%s", err.msg);
        return -1;
    }
    if (s_load_scripts(self)) {
        ingest_pipe_drop(self);
        return -1;
    }
    return 0;
}

void ingest_pipe_drop(ingest_pipe_t *self)
{
    if (self->redis)
        redisFree(self->redis);
    self->redis = NULL;
}

bool ingest_pipe_connected(const ingest_pipe_t *self)
{
    return self->redis != NULL;
}

int ingest_pipe_ready(ingest_pipe_t *self)
{
    return self->need_script && s_load_scripts(self) ? -1 : 0;
}

const char *ingest_pipe_sha(const ingest_pipe_t *self, ingest_script_t script)
{
    return self->sha[script];
}

void ingest_pipe_note(ingest_pipe_t *self, const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
        self->need_script = true;
}

ingest_cmd_t ingest_pipe_cmd(ingest_pipe_t *self)
{
    return (ingest_cmd_t){self->argv, self->lens, 0};
}

void ingest_cmd_arg(ingest_cmd_t *c, const char *p, size_t n)
{
    c->argv[c->argc] = p;
    c->lens[c->argc++] = n;
}

void ingest_cmd_args(ingest_cmd_t *c, const char *p)
{
    ingest_cmd_arg(c, p, strlen(p));
}

void ingest_cmd_set(ingest_cmd_t *c, int k, const char *p)
{
    c->argv[k] = p;
    c->lens[k] = strlen(p);
}

int ingest_pipe_append(ingest_pipe_t *self, const ingest_cmd_t *c)
{
    size_t need = SK_RESP_HEAD;
    for (int i = 0; i < c->argc; i++)
        need += c->lens[i] + SK_RESP_HEAD;
    while (self->resp_cap < need) {
        char *p = sk_grow(self->resp, self->resp_cap, &self->resp_cap, 1, 64 * 1024);
        if (!p) {
            sk_log("redis: cannot queue a command: out of memory");
            return -1;
        }
        self->resp = p;
    }
    size_t n = sk_resp_array(self->resp, (size_t)c->argc);
    for (int i = 0; i < c->argc; i++)
        n += sk_resp_bulk(self->resp + n, c->argv[i], c->lens[i]);
    if (redisAppendFormattedCommand(self->redis, self->resp, n) != REDIS_OK) {
        sk_log("redis: cannot queue a command: %s", self->redis->errstr);
        return -1;
    }
    self->idle_due = true;
    return 0;
}

int ingest_pipe_flush(ingest_pipe_t *self)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(self->redis, &done) != REDIS_OK) {
            sk_log("redis: connection lost: %s", self->redis->errstr);
            return -1;
        }
    return 0;
}

int ingest_pipe_appendv(ingest_pipe_t *self, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    ingest_cmd_t c = {argv, lens, argc};
    return ingest_pipe_append(self, &c);
}

void ingest_pipe_set_idle(ingest_pipe_t *self, void (*fn)(void *), void *arg)
{
    self->idle = fn;
    self->idle_arg = arg;
}

int ingest_pipe_get(ingest_pipe_t *self, redisReply **out)
{
    void *r = NULL;
    if (self->idle && self->idle_due) {
        /* Send the pipeline now (redisGetReply would), and use the round trip. */
        if (ingest_pipe_flush(self))
            return -1;
        self->idle_due = false;
        self->idle(self->idle_arg);
    }
    if (redisGetReply(self->redis, &r) != REDIS_OK || !r) {
        sk_log("redis: connection lost: %s",
               self->redis->errstr[0] ? self->redis->errstr : "no reply");
        return -1;
    }
    *out = r;
    return 0;
}

int ingest_pipe_read_int(ingest_pipe_t *self, const char *what)
{
    redisReply *r;
    if (ingest_pipe_get(self, &r))
        return -1;
    if (r->type != REDIS_REPLY_INTEGER)
        sk_log("redis: %s: %s", what, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return 0;
}

int ingest_pipe_drain(ingest_pipe_t *self, int n, const char *what)
{
    int bad = 0;
    for (int k = 0; k < n; k++) {
        redisReply *r;
        if (ingest_pipe_get(self, &r))
            return -1;
        if (r->type == REDIS_REPLY_ERROR && !bad++)
            sk_log("redis: %s: %s", what, r->str);
        freeReplyObject(r);
    }
    return bad ? -1 : 0;
}
