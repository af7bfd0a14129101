/* invoice_store — see invoice_store.h. */
#include "invoice_store.h"

#include <hiredis/hiredis.h>
#include <string.h>

#include "keys.h"

int sk_invoice_from_reply(const redisReply *r, const char *order_id, sk_invoice_t *inv,
                          sk_err_t *err)
{
    if (!r)
        return sk_err_set(err, "redis", "no reply");
    if (r->type == REDIS_REPLY_NIL)
        return sk_err_set(err, "no_invoice", "order %s has no invoice yet", order_id);
    if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "WRONGTYPE", 9))
        return sk_err_set(err, "old_layout",
                          "order %s: the invoice is in the layout of before "
                          "issue 7 (not migrated yet)",
                          order_id);
    if (r->type != REDIS_REPLY_STRING)
        return sk_err_set(err, "redis", "GET: %s",
                          r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    return sk_invoice_unpack(inv, order_id, r->str, r->len, err);
}

/* The layout of before issue 7: HGETALL and the old parser. */
static int s_read_hash(redisContext *c, const char *key, const char *order_id, sk_invoice_t *inv,
                       sk_err_t *err)
{
    const char *argv[2] = {"HGETALL", key};
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    if (!r)
        return sk_err_set(err, "redis", "HGETALL %s: %s", key, c->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        sk_err_set(err, "redis", "HGETALL %s: %s", key,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    size_t n = r->elements / 2;
    int rc = 0;
    if (n == 0) {
        rc = sk_err_set(err, "no_invoice", "order %s has no invoice yet", order_id);
    } else {
        const char *f[128], *v[128];
        size_t vl[128];
        if (n > 128)
            n = 128; /* more fields than the layout has: the rest are unknown ones */
        for (size_t i = 0; i < n; i++) {
            redisReply *a = r->element[2 * i], *b = r->element[2 * i + 1];
            if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING) {
                rc = sk_err_set(err, "redis", "HGETALL %s: unexpected reply", key);
                break;
            }
            f[i] = a->str;
            v[i] = b->str;
            vl[i] = b->len;
        }
        if (rc == 0)
            rc = sk_invoice_from_fields(inv, order_id, n, f, v, vl, err);
    }
    freeReplyObject(r);
    return rc;
}

int sk_invoice_read(redisContext *c, const char *key, const char *order_id, sk_invoice_t *inv,
                    sk_err_t *err)
{
    const char *argv[2] = {"GET", key};
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    if (!r)
        return sk_err_set(err, "redis", "GET %s: %s", key, c->errstr);
    sk_err_t e;
    int rc = sk_invoice_from_reply(r, order_id, inv, &e);
    freeReplyObject(r);
    if (rc != 0 && !strcmp(e.code, "old_layout"))
        return s_read_hash(c, key, order_id, inv, err);
    if (rc != 0 && err)
        *err = e;
    return rc;
}

int sk_invoice_fetch(redisContext *c, const char *order_id, sk_invoice_t *inv, sk_err_t *err)
{
    char key[SK_KEY_MAX];
    size_t olen = order_id ? strlen(order_id) : 0;
    if (olen == 0 || olen > SK_ID_MAX)
        return sk_err_set(err, "bad_id", "order id must be 1..%d bytes", SK_ID_MAX);

    const char *argv[3] = {"HGET", sk_key_order_index(key, order_id), order_id};
    redisReply *r = redisCommandArgv(c, 3, argv, NULL);
    if (!r)
        return sk_err_set(err, "redis", "HGET %s: %s", key, c->errstr);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return sk_err_set(err, "unknown_order", "order %s is not known", order_id);
    }
    if (r->type != REDIS_REPLY_STRING) {
        sk_err_set(err, "redis", "HGET %s: %s", key,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    char cid[SK_ID_MAX + 1], cur[4];
    int bad = sk_order_index_parse(r->str, r->len, cid, sizeof cid, cur);
    freeReplyObject(r);
    if (bad)
        return sk_err_set(err, "bad_invoice", "order %s: malformed order index entry", order_id);
    return sk_invoice_read(c, sk_key_invoice(key, sk_shard_of(cid), order_id), order_id, inv, err);
}
