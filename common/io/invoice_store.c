/* invoice_store — see invoice_store.h. */
#include "invoice_store.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
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

int sk_invoice_read_each(redisContext *c, int shard, const redisReply *ids, sk_invoice_each_fn fn,
                         void *ctx, sk_err_t *err)
{
    if (!ids || ids->type != REDIS_REPLY_ARRAY)
        return sk_err_set(err, "redis", "order ids: unexpected reply");
    for (size_t i = 0; i < ids->elements; i++) {
        const redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING || id->len == 0 || id->len > SK_ID_MAX ||
            memchr(id->str, '\0', id->len))
            return sk_err_set(err, "bad_invoice", "a malformed order id among the open invoices");
    }
    sk_invoice_t *inv = malloc(sizeof *inv);
    if (!inv)
        return sk_err_set(err, "out_of_memory", "reading invoices: out of memory");
    int rc = 0;
    for (size_t base = 0; base < ids->elements && rc == 0; base += SK_INVOICE_BATCH) {
        size_t end = base + SK_INVOICE_BATCH < ids->elements ? base + SK_INVOICE_BATCH
                                                             : ids->elements;
        size_t sent = 0;
        for (size_t i = base; i < end; i++, sent++) {
            char k[SK_KEY_MAX];
            const char *a[2] = {"GET", sk_key_invoice(k, shard, ids->element[i]->str)};
            if (redisAppendCommandArgv(c, 2, a, NULL) != REDIS_OK) {
                rc = sk_err_set(err, "redis", "GET: %s", c->errstr);
                break;
            }
        }
        size_t legacy[SK_INVOICE_BATCH], nlegacy = 0; /* read once the pipeline is drained */
        for (size_t j = 0; j < sent; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                rc = sk_err_set(err, "redis", "GET: %s", c->errstr);
                break; /* the connection is unusable: nothing more to drain */
            }
            const char *oid = ids->element[base + j]->str;
            sk_err_t e;
            sk_err_clear(&e);
            int got = rc == 0 ? sk_invoice_from_reply(r, oid, inv, &e) : 0;
            freeReplyObject(r);
            if (rc != 0)
                continue; /* draining after a stop */
            if (got != 0 && !strcmp(e.code, "old_layout")) {
                legacy[nlegacy++] = base + j;
                continue;
            }
            if (got != 0 && !strcmp(e.code, "redis")) {
                if (err)
                    *err = e;
                rc = -1;
            } else if (fn(ctx, oid, got, &e, inv) != 0) {
                rc = -1;
            }
        }
        for (size_t j = 0; j < nlegacy && rc == 0; j++) {
            char k[SK_KEY_MAX];
            const char *oid = ids->element[legacy[j]]->str;
            sk_err_t e;
            sk_err_clear(&e);
            int got = sk_invoice_read(c, sk_key_invoice(k, shard, oid), oid, inv, &e);
            if (got != 0 && !strcmp(e.code, "redis")) {
                if (err)
                    *err = e;
                rc = -1;
            } else if (fn(ctx, oid, got, &e, inv) != 0) {
                rc = -1;
            }
        }
    }
    free(inv);
    return rc;
}
