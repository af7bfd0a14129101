/* retime — see retime.h. */
#include "retime.h"

#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "invoice_store.h"
#include "keys.h"

int discount_profile_from_reply(const sk_remind_settings_t *s, const redisReply *r, size_t at,
                                discount_profile_t *p, sk_err_t *err)
{
    const char *v[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3; i++)
        if (r && r->type == REDIS_REPLY_ARRAY && at + i < r->elements &&
            r->element[at + i]->type == REDIS_REPLY_STRING)
            v[i] = r->element[at + i]->str;
    return discount_profile_parse(s, v[0], v[1], v[2], p, err);
}

int discount_read_replies(redisContext *c, redisReply **out, size_t n, const char *what,
                          sk_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK || !r) {
            for (size_t j = 0; j < i; j++)
                freeReplyObject(out[j]);
            return sk_err_set(err, "redis", "%s: %s", what, c->errstr);
        }
        out[i] = r;
    }
    return 0;
}

/* One command's reply: 0 and *out (not NULL), or -1 and err ("redis"). */
static int s_reply(redisContext *c, redisReply **out, const char *what, sk_err_t *err)
{
    void *r = NULL;
    *out = NULL;
    if (redisGetReply(c, &r) != REDIS_OK || !r) {
        sk_err_set(err, "redis", "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
        return -1;
    }
    if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
        sk_err_set(err, "redis", "%s: %s", what, ((redisReply *)r)->str);
        freeReplyObject(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* Re-plans one chunk of open invoices (ids: a ZRANGE reply of at most
 * DISCOUNT_RETIME_CHUNK) in p's zone: their GETs in one round trip, then
 * requeue.lua (more than one call only for huge plans). */
static int s_chunk(redisContext *c, discount_requeue_t *q, const sk_remind_settings_t *s,
                   int shard, const redisReply *ids, const discount_profile_t *p, int64_t now_ms,
                   discount_retime_t *out, sk_err_t *err)
{
    static sk_invoice_t inv;
    static discount_remind_ops_t ops;
    char key[SK_KEY_MAX];
    redisReply *got[DISCOUNT_RETIME_CHUNK];
    const char *oid[DISCOUNT_RETIME_CHUNK];
    size_t n = 0;
    for (size_t i = 0; i < ids->elements && n < DISCOUNT_RETIME_CHUNK; i++) {
        const redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING || id->len > SK_ID_MAX)
            continue;
        const char *argv[2] = {"GET", sk_key_invoice(key, shard, id->str)};
        if (redisAppendCommandArgv(c, 2, argv, NULL) != REDIS_OK)
            return sk_err_set(err, "redis", "GET invoice: %s", c->errstr);
        oid[n++] = id->str;
    }
    if (discount_read_replies(c, got, n, "GET invoice", err) != 0)
        return -1;
    int rc = 0;
    long before = q->reminders;
    discount_requeue_reset(q, shard);
    for (size_t i = 0; i < n; i++) {
        sk_err_t e;
        /* One that cannot be read (gone since, another layout) is left as
         * it is: whatever changes it next plans it again. */
        if (rc == 0 && sk_invoice_from_reply(got[i], oid[i], &inv, &e) == 0 &&
            discount_remind_diff(s, oid[i], &inv, &inv, p->tz, now_ms, &ops, &e) == 0) {
            if (discount_requeue_full(q) && discount_requeue_flush(q, err) != 0)
                rc = -1;
            if (rc == 0) {
                discount_requeue_invoice(q, sk_key_invoice(key, shard, oid[i]), inv.rev, &ops,
                                         true);
                out->removed += (long)(ops.ndrop + ops.nadd);
                out->invoices++;
            }
        }
        freeReplyObject(got[i]);
    }
    if (rc == 0)
        rc = discount_requeue_flush(q, err);
    out->queued += q->reminders - before;
    return rc;
}

int discount_retime_customer(redisContext *c, const char *sha, discount_requeue_t *q,
                             const sk_remind_settings_t *s,
                             int shard, const char *cid, int64_t now_ms, discount_retime_t *out,
                             sk_err_t *err)
{
    char ckey[SK_KEY_MAX], skey[SK_KEY_MAX], okey[SK_KEY_MAX], rdue[SK_KEY_MAX];
    char pending[SK_REMIND_KEY_MAX] = "", next[SK_REMIND_KEY_MAX] = "";
    memset(out, 0, sizeof *out);
    if (strlen(cid) > SK_ID_MAX)
        return sk_err_set(err, "bad_field", "customer id of %zu bytes", strlen(cid));
    sk_key_customer(ckey, shard, cid);
    sk_key_statements(skey, shard);
    sk_key_customer_open(okey, shard, cid);
    sk_key_remind_due(rdue, shard);

    const char *hm[5] = {"HMGET", ckey, "tz", "statement", "optout"};
    const char *hg[3] = {"HGET", skey, cid};
    if (redisAppendCommandArgv(c, 5, hm, NULL) != REDIS_OK ||
        redisAppendCommandArgv(c, 3, hg, NULL) != REDIS_OK)
        return sk_err_set(err, "redis", "customer profile: %s", c->errstr);
    redisReply *prof = NULL, *st = NULL;
    if (s_reply(c, &prof, "HMGET customer", err) != 0)
        return -1;
    if (s_reply(c, &st, "HGET stmt", err) != 0) {
        freeReplyObject(prof);
        return -1;
    }
    discount_profile_t p;
    sk_err_t perr;
    discount_profile_from_reply(s, prof, 0, &p, &perr); /* a bad field: the defaults */
    freeReplyObject(prof);
    if (st->type == REDIS_REPLY_STRING && st->len < sizeof pending)
        memcpy(pending, st->str, st->len + 1);
    freeReplyObject(st);

    /* 1. the open invoices, a chunk at a time */
    for (long start = 0;; start += DISCOUNT_RETIME_CHUNK) {
        char a[24], b[24];
        snprintf(a, sizeof a, "%ld", start);
        snprintf(b, sizeof b, "%ld", start + DISCOUNT_RETIME_CHUNK - 1);
        const char *zr[4] = {"ZRANGE", okey, a, b};
        redisReply *ids = NULL;
        if (redisAppendCommandArgv(c, 4, zr, NULL) != REDIS_OK)
            return sk_err_set(err, "redis", "ZRANGE copen: %s", c->errstr);
        if (s_reply(c, &ids, "ZRANGE copen", err) != 0)
            return -1;
        size_t got = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
        int rc = got ? s_chunk(c, q, s, shard, ids, &p, now_ms, out, err) : 0;
        freeReplyObject(ids);
        if (rc != 0)
            return -1;
        if (got < DISCOUNT_RETIME_CHUNK)
            break;
    }

    /* 2. the statement */
    int64_t due = 0;
    bool on = discount_statement_next(s, cid, &p, now_ms, next, &due);
    sk_remind_key_parts_t parts;
    if (on && pending[0] && sk_remind_key_parse(pending, &parts) == 0 &&
        parts.kind == SK_REMIND_KIND_STATEMENT && parts.scheduled_ms <= now_ms)
        return 0; /* due or being sent: the reminder worker advances it */
    if (!strcmp(pending, next))
        return 0;
    char dues[24];
    snprintf(dues, sizeof dues, "%lld", (long long)due);
    const char *ev[8] = {"EVALSHA", sha, "2", rdue, skey, cid, pending, next};
    const char *argv[9];
    memcpy(argv, ev, sizeof ev);
    argv[8] = dues;
    if (redisAppendCommandArgv(c, 9, argv, NULL) != REDIS_OK)
        return sk_err_set(err, "redis", "EVALSHA retime: %s", c->errstr);
    redisReply *r = NULL;
    if (s_reply(c, &r, "EVALSHA retime", err) != 0)
        return -1;
    out->statement = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return 0;
}
