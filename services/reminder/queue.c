/* queue — see queue.h. */
#include "queue.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice_rules.h"
#include "keys.h"
#include "sk_redis.h"

/* services/reminder/{claim,record}.lua and the dead-letter list's script,
 * services/ingest/dlq.lua (shared with ingest), embedded at build time */
extern const char REMINDER_CLAIM_LUA[], REMINDER_RECORD_LUA[], REMINDER_DLQ_LUA[],
    REMINDER_TRIM_LUA[];

struct reminder_queue {
    char claim[41], record[41], dlq[41], trim[41];
};

int reminder_queue_reload(reminder_queue_t *self, redisContext *c, sk_err_t *err)
{
    if (sk_redis_load_script(c, REMINDER_CLAIM_LUA, self->claim, err) != 0 ||
        sk_redis_load_script(c, REMINDER_RECORD_LUA, self->record, err) != 0 ||
        sk_redis_load_script(c, REMINDER_DLQ_LUA, self->dlq, err) != 0 ||
        sk_redis_load_script(c, REMINDER_TRIM_LUA, self->trim, err) != 0)
        return -1;
    return 0;
}

reminder_queue_t *reminder_queue_new(redisContext *c, sk_err_t *err)
{
    reminder_queue_t *self = calloc(1, sizeof *self);
    if (!self) {
        sk_err_set(err, "out_of_memory", "queue: out of memory");
        return NULL;
    }
    if (reminder_queue_reload(self, c, err) != 0)
        reminder_queue_destroy(&self);
    return self;
}

void reminder_queue_destroy(reminder_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static bool s_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8);
}

/* EVALSHA argv (argv[1] is the sha), reloading the scripts once on NOSCRIPT. */
static redisReply *s_eval(reminder_queue_t *self, redisContext *c, int argc, const char **argv,
                          sk_err_t *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *r = redisCommandArgv(c, argc, argv, NULL);
        if (!r) {
            sk_err_set(err, "redis", "EVALSHA: %s", c->errstr);
            return NULL;
        }
        if (!s_noscript(r) || attempt == 1)
            return r;
        freeReplyObject(r);
        if (reminder_queue_reload(self, c, err) != 0)
            return NULL;
    }
    return NULL;
}

void reminder_claims_clear(reminder_claim_t claims[])
{
    for (int s = 0; s < SK_SHARDS; s++) {
        free(claims[s].keys);
        memset(&claims[s], 0, sizeof claims[s]);
    }
}

static int s_claim_reply(const redisReply *r, reminder_claim_t *cl, size_t *bad, sk_err_t *err)
{
    if (r->type == REDIS_REPLY_ERROR)
        return sk_err_set(err, "redis", "claim: %s", r->str);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->elements - 2 > REMINDER_QUEUE_BATCH_MAX)
        return sk_err_set(err, "redis", "claim: unexpected reply");
    cl->lease = r->element[0]->integer;
    size_t n = r->elements - 2;
    cl->keys = n ? calloc(n, sizeof *cl->keys) : NULL;
    if (n && !cl->keys)
        return sk_err_set(err, "out_of_memory", "claim: out of memory");
    size_t back = (size_t)r->element[1]->integer;
    for (size_t i = 0; i < n; i++) {
        const redisReply *k = r->element[2 + i];
        if (k->type != REDIS_REPLY_STRING || k->len == 0 || k->len >= SK_REMIND_KEY_MAX ||
            memchr(k->str, '\0', k->len)) {
            (*bad)++;
            continue;
        }
        memcpy(cl->keys[cl->n], k->str, k->len);
        cl->keys[cl->n][k->len] = '\0';
        if (i < back)
            cl->n_back++;
        cl->n++;
    }
    return 0;
}

int reminder_queue_claim(reminder_queue_t *self, redisContext *c, int64_t now_ms, int64_t lease_ms,
                         int batch, reminder_claim_t claims[], size_t *bad, sk_err_t *err)
{
    char now[24], lease[24], nb[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(lease, sizeof lease, "%" PRId64, lease_ms);
    snprintf(nb, sizeof nb, "%d", batch);
    memset(claims, 0, SK_SHARDS * sizeof claims[0]);
    *bad = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        char due[SK_SHARDS][SK_KEY_MAX], proc[SK_SHARDS][SK_KEY_MAX];
        for (int s = 0; s < SK_SHARDS; s++) {
            const char *argv[] = {"EVALSHA",
                                  self->claim,
                                  "2",
                                  sk_key_remind_due(due[s], s),
                                  sk_key_remind_proc(proc[s], s),
                                  now,
                                  lease,
                                  nb};
            if (redisAppendCommandArgv(c, 8, argv, NULL) != REDIS_OK)
                return sk_err_set(err, "redis", "claim: %s", c->errstr);
        }
        int rc = 0;
        bool reload = false;
        for (int s = 0; s < SK_SHARDS; s++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                reminder_claims_clear(claims);
                return sk_err_set(err, "redis", "claim: %s", c->errstr);
            }
            claims[s].shard = s;
            if (s_noscript(r))
                reload = true;
            else if (rc == 0 && s_claim_reply(r, &claims[s], bad, err) != 0)
                rc = -1;
            freeReplyObject(r);
        }
        if (rc != 0) {
            reminder_claims_clear(claims);
            return -1;
        }
        if (!reload)
            return 0;
        /* the script cache is Redis's, so every shard answered NOSCRIPT
         * (a restart or SCRIPT FLUSH): load them again and claim again */
        reminder_claims_clear(claims);
        if (attempt == 1)
            return sk_err_set(err, "redis", "claim: NOSCRIPT after loading the scripts");
        if (reminder_queue_reload(self, c, err) != 0)
            return -1;
    }
    return 0;
}

int reminder_queue_settle(reminder_queue_t *self, redisContext *c, const reminder_settle_t *s,
                          sk_err_t *err)
{
    static const char *const acts[] = {"sent", "drop", "retry", "dead"};
    char k[7][SK_KEY_MAX], lease[24], due[24], a7b[24], a8[24];
    int sh = s->shard;
    snprintf(lease, sizeof lease, "%" PRId64, s->lease);
    snprintf(due, sizeof due, "%" PRId64, s->next_due_ms);
    const char *a7 = "", *a8s = "";
    if (s->action == REMINDER_SETTLE_SENT) {
        a7 = s->record;
        snprintf(a8, sizeof a8, "%" PRId64, s->sent_ms);
        a8s = a8;
    } else if (s->action == REMINDER_SETTLE_RETRY) {
        snprintf(a7b, sizeof a7b, "%" PRId64, s->backoff_ms);
        a7 = a7b;
        a8s = s->ambiguous ? "1" : "0";
    } else if (s->action == REMINDER_SETTLE_DEAD) {
        a7 = s->address ? s->address : "";
    }
    const char *head[] = {"EVALSHA",
                          self->record,
                          "7",
                          sk_key_remind_proc(k[0], sh),
                          sk_key_remind_sent(k[1], sh),
                          sk_key_remind_log(k[2], sh, s->customer_id),
                          sk_key_remind_tries(k[3], sh),
                          sk_key_statements(k[4], sh),
                          sk_key_remind_due(k[5], sh),
                          sk_key_undeliverable(k[6], sh),
                          acts[s->action],
                          s->key,
                          lease,
                          s->customer_id,
                          s->next_key ? s->next_key : "",
                          s->next_key && *s->next_key ? due : "",
                          a7,
                          a8s};
    enum { S_HEAD = sizeof head / sizeof head[0] };
    /* then the chain: [9] invoice key, [10] its rev, [11] n, n x (due, key) */
    const char *argv[S_HEAD + 3 + 2 * SK_REMIND_PLAN_MAX];
    char rev[24], dues[SK_REMIND_PLAN_MAX][24], n[24];
    memcpy(argv, head, sizeof head);
    size_t np = s->plan && s->inv_key ? s->nplan : 0;
    if (np > SK_REMIND_PLAN_MAX)
        np = SK_REMIND_PLAN_MAX;
    snprintf(rev, sizeof rev, "%" PRId64, s->inv_rev);
    snprintf(n, sizeof n, "%zu", np);
    int argc = S_HEAD;
    argv[argc++] = np ? s->inv_key : "";
    argv[argc++] = rev;
    argv[argc++] = n;
    for (size_t i = 0; i < np; i++) {
        snprintf(dues[i], sizeof dues[i], "%" PRId64, s->plan[i].due_ms);
        argv[argc++] = dues[i];
        argv[argc++] = s->plan[i].key;
    }
    redisReply *r = s_eval(self, c, argc, argv, err);
    if (!r)
        return -1;
    int rc;
    if (r->type == REDIS_REPLY_INTEGER)
        rc = r->integer ? 1 : 0;
    else
        rc = sk_err_set(err, "redis", "record: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}

int reminder_queue_dead_letter(reminder_queue_t *self, redisContext *c, const char *json,
                               sk_err_t *err)
{
    char maxn[24], maxb[24];
    snprintf(maxn, sizeof maxn, "%d", REMINDER_DLQ_MAX);
    snprintf(maxb, sizeof maxb, "%ld", REMINDER_DLQ_MAX_BYTES);
    const char *argv[] = {"EVALSHA", self->dlq, "2", SK_KEY_DEADLETTERS, SK_KEY_INGEST_STATS, maxn,
                          maxb,      "",        json};
    redisReply *r = s_eval(self, c, 9, argv, err);
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER
                 ? 0
                 : sk_err_set(err, "redis", "dead letter: %s",
                              r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}

/* The customer (at most n - 1 bytes) and instant of the sent record v of
 * key; false when it has no such fields. */
static bool s_record_parts(const char *key, const redisReply *v, char *cid, size_t n,
                           int64_t *sent_ms)
{
    if (v->type != REDIS_REPLY_STRING)
        return false;
    json_t *o = json_loadb(v->str, v->len, 0, NULL);
    const char *c = json_string_value(json_object_get(o, "customer_id"));
    json_t *t = json_object_get(o, "sent_ms");
    bool ok = c && *c && strlen(c) < n && json_is_integer(t);
    const char *bar;
    /* a statement's key names its customer: the record must agree */
    if (ok && key[0] == 's' && (bar = strchr(key + 2, '|')) && strcmp(bar + 1, c))
        ok = false;
    if (ok) {
        memcpy(cid, c, strlen(c) + 1);
        *sent_ms = json_integer_value(t);
    }
    json_decref(o);
    return ok;
}

int reminder_queue_trim(reminder_queue_t *self, redisContext *c, int shard,
                        unsigned long long *cursor, int64_t now_ms, int64_t retention_ms,
                        size_t *trimmed, size_t *unreadable, sk_err_t *err)
{
    *trimmed = 0;
    *unreadable = 0;
    char sent[SK_KEY_MAX], due[SK_KEY_MAX], proc[SK_KEY_MAX], cur[24], count[8];
    sk_key_remind_sent(sent, shard);
    sk_key_remind_due(due, shard);
    sk_key_remind_proc(proc, shard);
    snprintf(cur, sizeof cur, "%llu", *cursor);
    snprintf(count, sizeof count, "%d", REMINDER_TRIM_PAGE);
    const char *scan[] = {"HSCAN", sent, cur, "COUNT", count};
    redisReply *r = redisCommandArgv(c, 5, scan, NULL);
    if (!r)
        return sk_err_set(err, "redis", "trim: HSCAN: %s", c->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        sk_err_set(err, "redis", "trim: HSCAN: %s",
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    *cursor = strtoull(r->element[0]->str, NULL, 10);
    const redisReply *kv = r->element[1];
    /* HSCAN's COUNT is a hint: a page may hold more, so the keys are sized by it */
    size_t np = kv->elements / 2, m = 0;
    const char **argv = malloc((6 + 2 * np) * sizeof *argv), **keys = malloc((np ? np : 1) * sizeof *keys);
    char(*logs)[SK_KEY_MAX] = malloc((np ? np : 1) * sizeof *logs);
    if (!argv || !keys || !logs) {
        free(argv);
        free(keys);
        free(logs);
        freeReplyObject(r);
        return sk_err_set(err, "out_of_memory", "trim: out of memory");
    }
    char cid[SK_ID_MAX + 1];
    for (size_t i = 0; i < np; i++) {
        const redisReply *k = kv->element[2 * i], *v = kv->element[2 * i + 1];
        int64_t at;
        if (k->type != REDIS_REPLY_STRING || !s_record_parts(k->str, v, cid, sizeof cid, &at)) {
            (*unreadable)++;
        } else if (sk_remind_forgettable(k->str, at, now_ms, retention_ms)) {
            keys[m] = k->str;
            sk_key_remind_log(logs[m++], shard, cid);
        }
    }
    int rc = 0;
    if (m) {
        /* EVALSHA sha 3+m rsent rdue rproc rlog... then the keys, in the same order */
        char nkeys[24];
        size_t a = 0;
        snprintf(nkeys, sizeof nkeys, "%zu", m + 3);
        argv[a++] = "EVALSHA";
        argv[a++] = self->trim;
        argv[a++] = nkeys;
        argv[a++] = sent;
        argv[a++] = due;
        argv[a++] = proc;
        for (size_t j = 0; j < m; j++)
            argv[a++] = logs[j];
        for (size_t j = 0; j < m; j++)
            argv[a++] = keys[j];
        redisReply *t = s_eval(self, c, (int)a, argv, err);
        if (!t)
            rc = -1;
        else if (t->type == REDIS_REPLY_INTEGER)
            *trimmed = (size_t)t->integer;
        else
            rc = sk_err_set(err, "redis", "trim: %s",
                            t->type == REDIS_REPLY_ERROR ? t->str : "unexpected reply");
        if (t)
            freeReplyObject(t);
    }
    free(keys);
    free(argv);
    free(logs);
    freeReplyObject(r);
    return rc;
}
