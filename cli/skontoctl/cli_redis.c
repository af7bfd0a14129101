/* cli_redis — Redis access of skontoctl's read-only verbs (see cli_redis.h). */
#include "cli_redis.h"

#include <stdbool.h>
#include <string.h>

#include "sk_redis.h"

redisContext *sk_cli_redis_connect(const char *verb)
{
    sk_err_t err;
    sk_err_clear(&err);
    redisContext *c = sk_redis_connect_env(&err);
    if (!c)
        sk_cli_fail(verb, "%s", err.msg);
    return c;
}

/* Fills lens for argv; false (after one line) for an argument count that
 * the fixed array cannot hold, which is a mistake in the calling verb. */
static bool s_redis_lens(const char *verb, int argc, const char **argv,
                         size_t lens[SK_CLI_REDIS_MAX_ARGS])
{
    if (argc < 1 || argc > SK_CLI_REDIS_MAX_ARGS) {
        sk_cli_fail(verb, "Redis command with %d arguments (at most %d)", argc,
                    SK_CLI_REDIS_MAX_ARGS);
        return false;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return true;
}

redisReply *sk_cli_redis_command(const char *verb, redisContext *c, int argc, const char **argv)
{
    size_t lens[SK_CLI_REDIS_MAX_ARGS];
    if (!s_redis_lens(verb, argc, argv, lens))
        return NULL;
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        sk_cli_fail(verb, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        sk_cli_fail(verb, "Redis %s %s: %s", argv[0], argc > 1 ? argv[1] : "", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int sk_cli_redis_append(const char *verb, redisContext *c, int argc, const char **argv)
{
    size_t lens[SK_CLI_REDIS_MAX_ARGS];
    if (!s_redis_lens(verb, argc, argv, lens))
        return SK_EXIT_FAIL;
    if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK)
        return sk_cli_fail(verb, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
    return SK_EXIT_OK;
}

redisReply *sk_cli_redis_reply(const char *verb, redisContext *c)
{
    void *rv = NULL;
    if (redisGetReply(c, &rv) != REDIS_OK || !rv) {
        if (rv)
            freeReplyObject(rv);
        sk_cli_fail(verb, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
        return NULL;
    }
    return rv;
}

const char *sk_cli_hash_get(const redisReply *h, const char *field, const char *dflt)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, field) &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1]->str;
    return dflt;
}
