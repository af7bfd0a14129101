/* migrate — see migrate.h. */
#include "migrate.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "invoice_store.h"
#include "keys.h"
#include "sk_redis.h"
#include "sk_fmt.h"

#define S_LAYOUT "2"

/* The order id of an invoice key "sk:{sN}:inv:<oid>", or NULL. */
static const char *s_order_id(const char *key)
{
    const char *p = strstr(key, "}:inv:");
    return p && p[6] ? p + 6 : NULL;
}

/* Migrates one invoice key: 1 moved, 0 nothing to do, -1 Redis error. */
static int s_one(redisContext *c, const char *sha, const char *key, discount_migrate_warn_fn warn,
                 bool *unreadable, sk_err_t *err)
{
    static sk_invoice_t inv;
    static uint8_t val[SK_INVOICE_VALUE_MAX];
    const char *oid = s_order_id(key);
    for (int attempt = 0; attempt < 3; attempt++) {
        sk_err_t e;
        if (!oid || sk_invoice_read(c, key, oid, &inv, &e) != 0) {
            if (oid && !strcmp(e.code, "redis"))
                return sk_err_set(err, "redis", "%s", e.msg);
            if (oid && !strcmp(e.code, "no_invoice"))
                return 0; /* gone since the scan */
            char msg[512];
            snprintf(msg, sizeof msg, "migrate %s: left in the old layout: %s", key,
                     oid ? e.msg : "not an invoice key");
            warn(msg);
            *unreadable = true;
            return 0;
        }
        size_t n = sk_invoice_pack(&inv, val, sizeof val);
        if (n == 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "migrate %s: left in the old layout: too large to pack", key);
            warn(msg);
            *unreadable = true;
            return 0;
        }
        char rev[24];
        sk_fmt_i64(rev, inv.rev);
        const char *argv[6] = {"EVALSHA", sha, "1", key, rev, (const char *)val};
        size_t lens[6] = {7, strlen(sha), 1, strlen(key), strlen(rev), n};
        redisReply *r = redisCommandArgv(c, 6, argv, lens);
        if (!r)
            return sk_err_set(err, "redis", "EVALSHA migrate: %s", c->errstr);
        long long got = r->type == REDIS_REPLY_INTEGER ? r->integer : -2;
        if (got == -2)
            sk_err_set(err, "redis", "EVALSHA migrate: %s",
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        if (got == -2)
            return -1;
        if (got >= 0)
            return (int)got;
        /* rev moved (an older worker wrote it meanwhile): read it again */
    }
    return 0;
}

int discount_migrate(redisContext *c, discount_migrate_warn_fn warn, long *migrated, sk_err_t *err)
{
    *migrated = 0;
    redisReply *r = redisCommand(c, "GET %s", SK_KEY_LAYOUT);
    if (!r)
        return sk_err_set(err, "redis", "GET %s: %s", SK_KEY_LAYOUT, c->errstr);
    bool done = r->type == REDIS_REPLY_STRING && !strcmp(r->str, S_LAYOUT);
    freeReplyObject(r);
    if (done)
        return 0;

    char sha[41];
    if (sk_redis_load_script(c, DISCOUNT_MIGRATE_LUA, sha, err) != 0)
        return -1;
    bool unreadable = false;
    char cursor[32] = "0";
    do {
        const char *argv[8] = {"SCAN",  cursor, "MATCH", SK_KEY_INVOICE_PATTERN,
                               "COUNT", "1000", "TYPE",  "hash"};
        r = redisCommandArgv(c, 8, argv, NULL);
        if (!r)
            return sk_err_set(err, "redis", "SCAN: %s", c->errstr);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof cursor ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            sk_err_set(err, "redis", "SCAN: %s",
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || k->len >= SK_KEY_MAX)
                continue;
            int got = s_one(c, sha, k->str, warn, &unreadable, err);
            if (got < 0) {
                freeReplyObject(r);
                return -1;
            }
            *migrated += got;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);

    if (!unreadable) {
        r = redisCommand(c, "SET %s %s", SK_KEY_LAYOUT, S_LAYOUT);
        if (!r)
            return sk_err_set(err, "redis", "SET %s: %s", SK_KEY_LAYOUT, c->errstr);
        freeReplyObject(r);
    }
    return 0;
}
