/* backfill — see backfill.h. */
#include "backfill.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "invoice_store.h"
#include "keys.h"
#include "requeue.h"
#include "retime.h"
#include "sk_redis.h"

#define S_CUSTOMER_PATTERN "sk:{s*}:cust:*"

/* The shard and id of "sk:{sN}:<kind>:<id>" (kind "inv" or "cust"); -1 if
 * the key is not one. */
static int s_parse_key(const char *key, const char *kind, const char **id)
{
    int shard = 0;
    const char *p = key;
    if (strncmp(p, "sk:{s", 5) != 0)
        return -1;
    p += 5;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9' && shard < SK_SHARDS)
        shard = shard * 10 + (*p++ - '0');
    size_t kl = strlen(kind);
    if (shard >= SK_SHARDS || strncmp(p, "}:", 2) != 0 || strncmp(p + 2, kind, kl) != 0 ||
        p[2 + kl] != ':' || !p[3 + kl] || strlen(p + 3 + kl) > SK_ID_MAX)
        return -1;
    *id = p + 3 + kl;
    return shard;
}

/* The backfill's batch and its counts. */
typedef struct {
    discount_requeue_t q;
    discount_backfill_t *out;
} s_call_t;

/* One SCAN page: its keys (an array reply) and the next cursor. */
static redisReply *s_scan(redisContext *c, char cursor[32], const char *pattern, const char *type,
                          sk_err_t *err)
{
    const char *argv[8] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", type};
    redisReply *r = redisCommandArgv(c, 8, argv, NULL);
    if (!r) {
        sk_err_set(err, "redis", "SCAN: %s", c->errstr);
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= 32 ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        sk_err_set(err, "redis", "SCAN: %s",
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return NULL;
    }
    memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
    return r;
}

static void s_free_replies(redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i])
            freeReplyObject(r[i]);
}

/* One page of invoice keys: GET each, HMGET the open ones' customers, then
 * per shard the plans. */
static int s_invoice_page(s_call_t *x, const sk_remind_settings_t *s, int64_t now_ms,
                          const redisReply *keys, sk_err_t *err)
{
    static sk_invoice_t inv;
    static discount_remind_ops_t ops;
    size_t n = keys->elements;
    if (n == 0)
        return 0;
    redisReply **iv = calloc(n, sizeof *iv), **cv = calloc(n, sizeof *cv);
    int *shard = calloc(n, sizeof *shard);
    int rc = 0;
    if (!iv || !cv || !shard) {
        rc = sk_err_set(err, "redis", "backfill: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *oid;
        const redisReply *k = keys->element[i];
        shard[i] = k->type == REDIS_REPLY_STRING ? s_parse_key(k->str, "inv", &oid) : -1;
        /* A key that is not an invoice's gets a PING, so replies stay in
         * step with keys (and the ACL need not grant a key outside). */
        const char *argv[2] = {"GET", k->str};
        int argc = 2;
        if (shard[i] < 0)
            argv[0] = "PING", argc = 1;
        if (redisAppendCommandArgv(x->q.c, argc, argv, NULL) != REDIS_OK) {
            rc = sk_err_set(err, "redis", "backfill: %s", x->q.c->errstr);
            goto out;
        }
    }
    if ((rc = discount_read_replies(x->q.c, iv, n, "backfill: GET invoice", err)) != 0) {
        memset(iv, 0, n * sizeof *iv);
        goto out;
    }
    /* the customers of the open ones (the zone), in the same order */
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *oid;
        char ck[SK_KEY_MAX];
        sk_err_t e;
        if (shard[i] < 0 || s_parse_key(keys->element[i]->str, "inv", &oid) < 0 ||
            sk_invoice_from_reply(iv[i], oid, &inv, &e) != 0 || !discount_remind_open(&inv)) {
            shard[i] = -1;
            continue;
        }
        const char *argv[5] = {"HMGET", sk_key_customer(ck, shard[i], inv.customer_id), "tz",
                               "statement", "optout"};
        if (redisAppendCommandArgv(x->q.c, 5, argv, NULL) != REDIS_OK) {
            rc = sk_err_set(err, "redis", "backfill: %s", x->q.c->errstr);
            goto out;
        }
        nc++;
    }
    redisReply **got = cv;
    if ((rc = discount_read_replies(x->q.c, got, nc, "backfill: HMGET customer", err)) != 0) {
        memset(cv, 0, n * sizeof *cv);
        goto out;
    }
    /* spread the customers' replies back to their invoices */
    for (size_t i = n, j = nc; i-- > 0;) {
        redisReply *t = shard[i] >= 0 ? got[--j] : NULL; /* j - 1 <= i: not moved yet */
        cv[i] = t;
    }
    for (int sh = 0; sh < SK_SHARDS && rc == 0; sh++) {
        discount_requeue_reset(&x->q, sh);
        for (size_t i = 0; i < n && rc == 0; i++) {
            const char *oid;
            sk_err_t e;
            discount_profile_t p;
            if (shard[i] != sh)
                continue;
            s_parse_key(keys->element[i]->str, "inv", &oid);
            if (sk_invoice_from_reply(iv[i], oid, &inv, &e) != 0)
                continue;
            discount_profile_from_reply(s, cv[i], 0, &p, &e);
            if (discount_remind_diff(s, oid, NULL, &inv, p.tz, now_ms, &ops, &e) != 0 ||
                ops.nadd == 0)
                continue;
            discount_requeue_invoice(&x->q, keys->element[i]->str, inv.rev, &ops, false);
            x->out->invoices++;
            if (discount_requeue_full(&x->q))
                rc = discount_requeue_flush(&x->q, err);
        }
        if (rc == 0)
            rc = discount_requeue_flush(&x->q, err);
    }
out:
    if (iv)
        s_free_replies(iv, n);
    if (cv)
        s_free_replies(cv, n);
    free(iv);
    free(cv);
    free(shard);
    return rc;
}

/* One page of customer keys: HMGET each profile, then per shard the
 * statements. */
static int s_customer_page(s_call_t *x, const sk_remind_settings_t *s, int64_t now_ms,
                           const redisReply *keys, sk_err_t *err)
{
    size_t n = keys->elements;
    if (n == 0)
        return 0;
    redisReply **cv = calloc(n, sizeof *cv);
    int rc = 0;
    if (!cv)
        return sk_err_set(err, "redis", "backfill: out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *cid;
        const redisReply *k = keys->element[i];
        bool ok = k->type == REDIS_REPLY_STRING && s_parse_key(k->str, "cust", &cid) >= 0;
        const char *argv[5] = {ok ? "HMGET" : "PING", ok ? k->str : "", "tz", "statement",
                               "optout"};
        if (redisAppendCommandArgv(x->q.c, ok ? 5 : 1, argv, NULL) != REDIS_OK) {
            free(cv);
            return sk_err_set(err, "redis", "backfill: %s", x->q.c->errstr);
        }
    }
    if (discount_read_replies(x->q.c, cv, n, "backfill: HMGET customer", err) != 0) {
        free(cv);
        return -1;
    }
    for (int sh = 0; sh < SK_SHARDS && rc == 0; sh++) {
        discount_requeue_reset(&x->q, sh);
        for (size_t i = 0; i < n && rc == 0; i++) {
            const char *cid;
            const redisReply *k = keys->element[i];
            discount_profile_t p;
            sk_err_t e;
            char key[SK_REMIND_KEY_MAX];
            int64_t due;
            if (k->type != REDIS_REPLY_STRING || s_parse_key(k->str, "cust", &cid) != sh)
                continue;
            discount_profile_from_reply(s, cv[i], 0, &p, &e);
            if (!discount_statement_next(s, cid, &p, now_ms, key, &due))
                continue;
            discount_requeue_statement(&x->q, cid, key, due);
            if (discount_requeue_full(&x->q))
                rc = discount_requeue_flush(&x->q, err);
        }
        if (rc == 0)
            rc = discount_requeue_flush(&x->q, err);
    }
    s_free_replies(cv, n);
    free(cv);
    return rc;
}

/* A one-time pass's marker (SK_KEY_REMIND_BACKFILL "1", SK_KEY_POLICY_REBUILT
 * SK_POLICY_REBUILT_VERSION): *done when it says `version`. 0, or -1 and err
 * ("redis"). */
static int s_marker_get(redisContext *c, const char *key, const char *version, bool *done,
                        sk_err_t *err)
{
    redisReply *r = redisCommand(c, "GET %s", key);
    if (!r)
        return sk_err_set(err, "redis", "GET %s: %s", key, c->errstr);
    *done = r->type == REDIS_REPLY_STRING && !strcmp(r->str, version);
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR)
        rc = sk_err_set(err, "redis", "GET %s: %s", key, r->str);
    freeReplyObject(r);
    return rc;
}

/* Sets the marker to `version` once the pass is complete. 0, or -1 and err ("redis"). */
static int s_marker_set(redisContext *c, const char *key, const char *version, sk_err_t *err)
{
    redisReply *r = redisCommand(c, "SET %s %s", key, version);
    if (!r)
        return sk_err_set(err, "redis", "SET %s: %s", key, c->errstr);
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR)
        rc = sk_err_set(err, "redis", "SET %s: %s", key, r->str);
    freeReplyObject(r);
    return rc;
}

int discount_backfill(redisContext *c, const sk_remind_settings_t *s, int64_t now_ms,
                      discount_backfill_t *out, sk_err_t *err)
{
    memset(out, 0, sizeof *out);
    bool done;
    if (s_marker_get(c, SK_KEY_REMIND_BACKFILL, "1", &done, err) != 0)
        return -1;
    if (done) {
        out->skipped = true;
        return 0;
    }
    s_call_t *x = malloc(sizeof *x);
    if (!x)
        return sk_err_set(err, "redis", "backfill: out of memory");
    memset(&x->q, 0, offsetof(discount_requeue_t, keys));
    x->q.c = c;
    x->out = out;
    int rc = sk_redis_load_script(c, DISCOUNT_REQUEUE_LUA, x->q.sha, err);
    const char *patterns[2] = {SK_KEY_INVOICE_PATTERN, S_CUSTOMER_PATTERN};
    const char *types[2] = {"string", "hash"};
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        char cursor[32] = "0";
        do {
            redisReply *page = s_scan(c, cursor, patterns[pass], types[pass], err);
            if (!page) {
                rc = -1;
                break;
            }
            rc = pass == 0 ? s_invoice_page(x, s, now_ms, page->element[1], err)
                           : s_customer_page(x, s, now_ms, page->element[1], err);
            freeReplyObject(page);
        } while (rc == 0 && strcmp(cursor, "0") != 0);
    }
    out->reminders = x->q.reminders;
    out->statements = x->q.statements;
    free(x);
    if (rc != 0)
        return -1;
    return s_marker_set(c, SK_KEY_REMIND_BACKFILL, "1", err);
}

/* ---------------------------------------------------------------- policy counters */

/* Sends the pipelined commands appended so far (n of them) and checks their
 * replies. */
static int s_drain(redisContext *c, size_t n, const char *what, sk_err_t *err)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            return sk_err_set(err, "redis", "%s: %s", what, c->errstr);
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0)
            rc = sk_err_set(err, "redis", "%s: %s", what, r->str);
        freeReplyObject(r);
    }
    return rc;
}

/* Empties one counter hash: HDEL of its fields, a page at a time (the
 * discount user may not DEL). */
static int s_clear_hash(redisContext *c, const char *key, sk_err_t *err)
{
    char cursor[32] = "0";
    do {
        const char *argv[6] = {"HSCAN", key, cursor, "COUNT", "1000"};
        redisReply *r = redisCommandArgv(c, 5, argv, NULL);
        if (!r)
            return sk_err_set(err, "redis", "HSCAN %s: %s", key, c->errstr);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= 32 ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            sk_err_set(err, "redis", "HSCAN %s: %s", key,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
        const redisReply *kv = r->element[1];
        size_t nf = kv->elements / 2;
        int rc = 0;
        if (nf > 0) {
            const char **av = calloc(nf + 2, sizeof *av);
            size_t *al = calloc(nf + 2, sizeof *al);
            if (!av || !al) {
                rc = sk_err_set(err, "redis", "rebuild: out of memory");
            } else {
                av[0] = "HDEL", al[0] = 4;
                av[1] = key, al[1] = strlen(key);
                for (size_t i = 0; i < nf; i++)
                    av[i + 2] = kv->element[2 * i]->str, al[i + 2] = kv->element[2 * i]->len;
                redisReply *d = redisCommandArgv(c, (int)(nf + 2), av, al);
                if (!d || d->type == REDIS_REPLY_ERROR)
                    rc = sk_err_set(err, "redis", "HDEL %s: %s", key,
                                    d ? d->str : c->errstr);
                if (d)
                    freeReplyObject(d);
            }
            free(av);
            free(al);
        }
        freeReplyObject(r);
        if (rc != 0)
            return rc;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* One page of invoice keys: GET each, and HINCRBY what each contributes. */
static int s_policy_page(redisContext *c, const redisReply *keys, discount_policy_rebuild_t *out,
                         sk_err_t *err)
{
    static sk_invoice_t inv;
    static sk_invoice_change_t ch;
    size_t n = keys->elements;
    if (n == 0)
        return 0;
    redisReply **iv = calloc(n, sizeof *iv);
    if (!iv)
        return sk_err_set(err, "redis", "rebuild: out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *oid;
        const redisReply *k = keys->element[i];
        bool ok = k->type == REDIS_REPLY_STRING && s_parse_key(k->str, "inv", &oid) >= 0;
        const char *argv[2] = {ok ? "GET" : "PING", ok ? k->str : ""};
        if (redisAppendCommandArgv(c, ok ? 2 : 1, argv, NULL) != REDIS_OK)
            rc = sk_err_set(err, "redis", "rebuild: %s", c->errstr);
    }
    if (rc == 0 && (rc = discount_read_replies(c, iv, n, "rebuild: GET invoice", err)) != 0)
        memset(iv, 0, n * sizeof *iv);
    size_t sent = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *oid;
        sk_err_t e;
        int sh = s_parse_key(keys->element[i]->str, "inv", &oid);
        if (sh < 0 || sk_invoice_from_reply(iv[i], oid, &inv, &e) != 0)
            continue;
        sk_invoice_policy(&inv, &ch);
        out->invoices++;
        char pk[SK_KEY_MAX], ck[SK_KEY_MAX], spk[SK_KEY_MAX];
        sk_key_policy(pk, sh);
        sk_key_policy_customers(ck, sh);
        sk_key_policy_salespeople(spk, sh);
        for (int d = 0; d < ch.ndeltas && rc == 0; d++) {
            char v[24];
            snprintf(v, sizeof v, "%lld", (long long)ch.deltas[d].delta);
            sk_tally_t k = ch.deltas[d].counter;
            const char *argv[4] = {"HINCRBY",
                                   k == SK_COUNTER_PCUST ? ck
                                   : k == SK_COUNTER_PSP ? spk
                                                         : pk,
                                   ch.deltas[d].field, v};
            if (redisAppendCommandArgv(c, 4, argv, NULL) != REDIS_OK)
                rc = sk_err_set(err, "redis", "rebuild: %s", c->errstr);
            sent++;
        }
    }
    if (rc == 0)
        rc = s_drain(c, sent, "rebuild: HINCRBY", err);
    s_free_replies(iv, n);
    free(iv);
    return rc;
}

int discount_policy_rebuild(redisContext *c, discount_policy_rebuild_t *out, sk_err_t *err)
{
    memset(out, 0, sizeof *out);
    bool done;
    if (s_marker_get(c, SK_KEY_POLICY_REBUILT, SK_POLICY_REBUILT_VERSION, &done, err) != 0)
        return -1;
    if (done) {
        out->skipped = true;
        return 0;
    }
    char key[SK_KEY_MAX];
    for (int sh = 0; sh < SK_SHARDS; sh++)
        if (s_clear_hash(c, sk_key_policy(key, sh), err) != 0 ||
            s_clear_hash(c, sk_key_policy_customers(key, sh), err) != 0 ||
            s_clear_hash(c, sk_key_policy_salespeople(key, sh), err) != 0)
            return -1;
    char cursor[32] = "0";
    int rc = 0;
    do {
        redisReply *page = s_scan(c, cursor, SK_KEY_INVOICE_PATTERN, "string", err);
        if (!page)
            return -1;
        rc = s_policy_page(c, page->element[1], out, err);
        freeReplyObject(page);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    if (rc != 0)
        return -1;
    return s_marker_set(c, SK_KEY_POLICY_REBUILT, SK_POLICY_REBUILT_VERSION, err);
}
