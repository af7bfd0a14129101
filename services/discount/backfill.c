/* backfill — see backfill.h. */
#include "backfill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "invoice_store.h"
#include "keys.h"
#include "retime.h"
#include "sk_redis.h"

#define S_RECORDS_PER_CALL 100 /* invoices or customers per script call */
#define S_SHARD_KEYS 2         /* KEYS before the invoices': rdue, stmt */
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

typedef struct {
    redisContext *c;
    char sha[41];
    int shard;
    int nrec;
    discount_argv_t keys, args, cmd;
    discount_backfill_t *out;
} s_call_t;

static void s_call_reset(s_call_t *x, int shard)
{
    x->shard = shard;
    x->nrec = 0;
    discount_argv_reset(&x->keys);
    discount_argv_reset(&x->args);
}

/* Runs the records gathered for x->shard (none: nothing). */
static int s_call_flush(s_call_t *x, sk_err_t *err)
{
    char key[SK_KEY_MAX];
    if (x->nrec == 0)
        return 0;
    discount_argv_t *c = &x->cmd;
    discount_argv_reset(c);
    discount_argv_addz(c, "EVALSHA");
    discount_argv_addz(c, x->sha);
    discount_argv_add_i64(c, S_SHARD_KEYS + x->keys.argc);
    discount_argv_addz(c, sk_key_remind_due(key, x->shard));
    discount_argv_addz(c, sk_key_statements(key, x->shard));
    discount_argv_append(c, &x->keys);
    discount_argv_addz(c, sk_key_remind_sent(key, x->shard)); /* ARGV 1, 2: only read */
    discount_argv_addz(c, sk_key_remind_proc(key, x->shard));
    discount_argv_append(c, &x->args);
    size_t len;
    const char *cmd = discount_argv_resp(c, &len);
    if (c->overflow)
        return sk_err_set(err, "redis", "backfill: a call is too large");
    if (redisAppendFormattedCommand(x->c, cmd, len) != REDIS_OK)
        return sk_err_set(err, "redis", "backfill: %s", x->c->errstr);
    void *rv = NULL;
    if (redisGetReply(x->c, &rv) != REDIS_OK || !rv)
        return sk_err_set(err, "redis", "backfill: %s", x->c->errstr);
    redisReply *r = rv;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        x->out->reminders += (long)r->element[0]->integer;
        x->out->statements += (long)r->element[1]->integer;
    } else {
        rc = sk_err_set(err, "redis", "backfill: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    s_call_reset(x, x->shard);
    return rc;
}

static bool s_call_full(const s_call_t *x)
{
    return x->nrec >= S_RECORDS_PER_CALL ||
           x->args.used + 2 * DISCOUNT_REMIND_MAX * (SK_REMIND_KEY_MAX + 48) >
               DISCOUNT_ARGV_BYTES / 2;
}

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
        if (redisAppendCommandArgv(x->c, argc, argv, NULL) != REDIS_OK) {
            rc = sk_err_set(err, "redis", "backfill: %s", x->c->errstr);
            goto out;
        }
    }
    if ((rc = discount_read_replies(x->c, iv, n, "backfill: GET invoice", err)) != 0) {
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
        if (redisAppendCommandArgv(x->c, 5, argv, NULL) != REDIS_OK) {
            rc = sk_err_set(err, "redis", "backfill: %s", x->c->errstr);
            goto out;
        }
        nc++;
    }
    redisReply **got = cv;
    if ((rc = discount_read_replies(x->c, got, nc, "backfill: HMGET customer", err)) != 0) {
        memset(cv, 0, n * sizeof *cv);
        goto out;
    }
    /* spread the customers' replies back to their invoices */
    for (size_t i = n, j = nc; i-- > 0;) {
        redisReply *t = shard[i] >= 0 ? got[--j] : NULL; /* j - 1 <= i: not moved yet */
        cv[i] = t;
    }
    for (int sh = 0; sh < SK_SHARDS && rc == 0; sh++) {
        s_call_reset(x, sh);
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
            discount_argv_addz(&x->keys, keys->element[i]->str);
            discount_argv_addz(&x->args, "i");
            discount_argv_add_i64(&x->args, S_SHARD_KEYS + x->keys.argc);
            discount_argv_add_i64(&x->args, inv.rev);
            discount_argv_add_i64(&x->args, (int64_t)ops.nadd);
            for (size_t j = 0; j < ops.nadd; j++) {
                discount_argv_add_i64(&x->args, ops.add[j].due_ms);
                discount_argv_addz(&x->args, ops.add[j].key);
            }
            x->nrec++;
            x->out->invoices++;
            if (s_call_full(x))
                rc = s_call_flush(x, err);
        }
        if (rc == 0)
            rc = s_call_flush(x, err);
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
        if (redisAppendCommandArgv(x->c, ok ? 5 : 1, argv, NULL) != REDIS_OK) {
            free(cv);
            return sk_err_set(err, "redis", "backfill: %s", x->c->errstr);
        }
    }
    if (discount_read_replies(x->c, cv, n, "backfill: HMGET customer", err) != 0) {
        free(cv);
        return -1;
    }
    for (int sh = 0; sh < SK_SHARDS && rc == 0; sh++) {
        s_call_reset(x, sh);
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
            discount_argv_addz(&x->args, "s");
            discount_argv_addz(&x->args, cid);
            discount_argv_addz(&x->args, key);
            discount_argv_add_i64(&x->args, due);
            x->nrec++;
            if (s_call_full(x))
                rc = s_call_flush(x, err);
        }
        if (rc == 0)
            rc = s_call_flush(x, err);
    }
    s_free_replies(cv, n);
    free(cv);
    return rc;
}

int discount_backfill(redisContext *c, const sk_remind_settings_t *s, int64_t now_ms,
                      discount_backfill_t *out, sk_err_t *err)
{
    memset(out, 0, sizeof *out);
    redisReply *r = redisCommand(c, "GET %s", SK_KEY_REMIND_BACKFILL);
    if (!r)
        return sk_err_set(err, "redis", "GET %s: %s", SK_KEY_REMIND_BACKFILL, c->errstr);
    bool done = r->type == REDIS_REPLY_STRING && !strcmp(r->str, "1");
    bool bad = r->type == REDIS_REPLY_ERROR;
    if (bad)
        sk_err_set(err, "redis", "GET %s: %s", SK_KEY_REMIND_BACKFILL, r->str);
    freeReplyObject(r);
    if (bad)
        return -1;
    if (done) {
        out->skipped = true;
        return 0;
    }
    s_call_t *x = malloc(sizeof *x);
    if (!x)
        return sk_err_set(err, "redis", "backfill: out of memory");
    x->c = c;
    x->out = out;
    int rc = sk_redis_load_script(c, DISCOUNT_BACKFILL_LUA, x->sha, err);
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
    free(x);
    if (rc != 0)
        return -1;
    r = redisCommand(c, "SET %s 1", SK_KEY_REMIND_BACKFILL);
    if (!r)
        return sk_err_set(err, "redis", "SET %s: %s", SK_KEY_REMIND_BACKFILL, c->errstr);
    bad = r->type == REDIS_REPLY_ERROR;
    if (bad)
        sk_err_set(err, "redis", "SET %s: %s", SK_KEY_REMIND_BACKFILL, r->str);
    freeReplyObject(r);
    return bad ? -1 : 0;
}
