/* batch — a batch of received messages turned into Redis work and Acks.
 *
 * Round trips, not CPU, decide throughput and latency (every round trip may
 * wait behind other workers' pipelines in Redis), so every step pipelines the
 * whole batch (redisAppendCommandArgv, then the replies in order), and a batch
 * normally costs two round trips:
 *
 *   1  claim and read, in message order: first one claim script call per
 *      event-id shard, which settles the claims of the previous batch and
 *      claims this batch's event ids (a duplicate is known here); then an
 *      order reads its customer (HMGET: exists? default terms?) when it has
 *      no inline customer with terms, and claims the order index with HSETNX
 *      (sk:{oM}:o2c order_id -> "customer_id\tCUR"); payments, credit notes
 *      and cancellations HGET the index, so a payment after its order in the
 *      same batch sees the order's claim (Redis runs a pipeline in order);
 *      PUB sources seen the first time read their last sequence number.
 *      Then, without Redis: unknown customers and terms that do not work for
 *      the ship date are rejected; so is a payment that found the claim of an
 *      order of the batch that was just rejected.
 *   1b only when needed: an order whose claim found an entry (resent or
 *      revised) reads it to compare customer and currency.
 *   2  write: HDEL of the order-index entries this segment created for events
 *      that turned out duplicates or rejections, one accept script call per
 *      customer shard holding valid events (atomic on that shard: version
 *      check, XADD of the received bytes, stored marker, customer profile,
 *      counters), one dead-letter script call for the rejected events (a
 *      second round trip only for orders the accept script found stale);
 *   then the Acks, then for PUB messages the sequence bookkeeping. The claims'
 *   outcomes are queued and settled at the head of the next pipeline (the
 *   next batch, or the heartbeat within a second).
 *
 * Step 1 of an order must see every customer written before it, and the
 * claim of an earlier order with the same id must be settled; an event id
 * met twice is a duplicate only if the first is accepted. A batch is
 * therefore cut into segments before an order that reads a customer an
 * earlier message of the segment writes, before a second order with the same
 * order id and before a second event with the same event id; each segment
 * runs the steps on its own (rare: it costs round trips only when it happens).
 *
 * Any Redis error on an event's command makes it FAILED: no Ack, the client
 * retries. An accept call that fails as a whole leaves its events unsure
 * (stored or not): their claims stay pending and a resend settles them (see
 * ingest_resolve). An order-index entry of a duplicate or rejection is gone
 * one round trip after it was made; in between another client's payment for
 * that order id could see it. */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "invoice_rules.h"
#include "keys.h"
#include "sk_hash.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_metrics.h"
#include "sk_redis.h"




int ingest_load_script(ingest_t *self)
{
    sk_err_t err;
    const struct {
        const char *lua, *name;
        char *sha;
    } scripts[] = {{INGEST_CLAIM_LUA, "claim", self->claim_sha},
                   {INGEST_ACCEPT_LUA, "accept", self->accept_sha},
                   {INGEST_DLQ_LUA, "dead-letter", self->dlq_sha}};
    for (size_t k = 0; k < sizeof scripts / sizeof scripts[0]; k++) {
        if (sk_redis_load_script(self->redis, scripts[k].lua, scripts[k].sha, &err)) {
            sk_log("redis: cannot load the %s script: %s", scripts[k].name, err.msg);
            return -1;
        }
    }
    self->need_script = false;
    return 0;
}

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* ---------------------------------------------------------------- items */

void ingest_item_init(ingest_item_t *it, int origin)
{
    memset(it, 0, sizeof *it);
    it->origin = origin;
    it->src = -1;
    it->received_ns = sk_metrics_now_ns();
    zmq_msg_init(&it->ident);
    zmq_msg_init(&it->body);
}

void ingest_item_clear(ingest_item_t *it)
{
    zmq_msg_close(&it->ident);
    zmq_msg_close(&it->body);
    if (it->env)
        skonto__v1__envelope__free_unpacked(it->env, NULL);
    it->env = NULL;
}

/* The sequence record of a PUB source, created on first sight; -1 if the
 * source is not a clean id (the message is then rejected anyway). */
static int s_source_index(ingest_t *self, const char *name)
{
    size_t len = strlen(name);
    char clean[SK_EVENT_ID_MAX + 1];
    if (len == 0 || len > SK_EVENT_ID_MAX)
        return -1;
    sk_utf8_sanitize(clean, sizeof clean, name, len);
    if (strcmp(clean, name) != 0)
        return -1;
    for (size_t i = 0; i < self->nsources; i++)
        if (!strcmp(self->sources[i].name, name))
            return (int)i;
    if (self->nsources == self->cap_sources) {
        size_t cap = self->cap_sources ? self->cap_sources * 2 : 8;
        if (cap > 4096)
            return -1; /* a feed inventing sources: stop tracking new ones */
        ingest_source_t *s = realloc(self->sources, cap * sizeof *s);
        if (!s)
            return -1;
        self->sources = s;
        self->cap_sources = cap;
    }
    ingest_source_t *s = &self->sources[self->nsources];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, len + 1);
    return (int)self->nsources++;
}

/* The content of an order version, hashed: a resend of the same version
 * with the same content changes nothing, other content is a conflict. The
 * fields are joined with a separator no valid field contains (validation
 * rejects control characters), so different contents cannot run together. */
static void s_content_hash(const Skonto__V1__Invoice *inv, char hex[17])
{
    char num[48];
    snprintf(num, sizeof num, "%" PRId64 "\x1f%" PRId64, inv->amount, inv->tax);
    const char *parts[] = {inv->customer_id,  inv->salesperson,   inv->currency, num,
                           inv->ship_date,    inv->invoice_date,  inv->delivery_date,
                           inv->terms};
    crypto_generichash_state st;
    unsigned char out[8];
    crypto_generichash_init(&st, NULL, 0, sizeof out);
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        const char *p = s_str(parts[k]);
        crypto_generichash_update(&st, (const unsigned char *)p, strlen(p));
        crypto_generichash_update(&st, (const unsigned char *)"\x1f", 1);
    }
    crypto_generichash_final(&st, out, sizeof out);
    sodium_bin2hex(hex, 17, out, sizeof out);
}

void ingest_item_decode(ingest_t *self, ingest_item_t *it)
{
    if (it->status != INGEST_PENDING)
        return; /* malformed frames: already rejected */
    Skonto__V1__Envelope *env = NULL;
    size_t size = zmq_msg_size(&it->body);
    if (size > SK_EVENT_MAX_BYTES) {
        /* Decoded only to echo its event id; ZMQ_MAXMSGSIZE bounds the cost. */
        env = skonto__v1__envelope__unpack(NULL, size, zmq_msg_data(&it->body));
        it->status = INGEST_REJECTED;
        sk_err_set(&it->err, SK_REASON_TOO_LARGE,
                   "envelope of %zu bytes is over the %d-byte limit (SK_EVENT_MAX_BYTES)", size,
                   SK_EVENT_MAX_BYTES);
    } else if (sk_event_decode(zmq_msg_data(&it->body), size, &env, &it->err)) {
        it->status = INGEST_REJECTED;
    }
    it->env = env;
    it->kind = sk_event_kind(env);
    if (it->origin > 0 && env && env->sequence > 0)
        it->src = s_source_index(self, s_str(env->source));
    if (it->status != INGEST_PENDING)
        return;

    it->eid_hash = sk_fnv1a32(env->event_id);
    it->eid_shard = sk_shard_of(env->event_id);
    const char *cid = sk_event_customer_id(env);
    if (it->kind == SK_EVENT_CUSTOMER) {
        it->writes_customer = true;
        it->cust_hash = sk_fnv1a32(cid);
        it->shard = sk_shard_of(cid);
    } else if (it->kind == SK_EVENT_INVOICE) {
        const Skonto__V1__Invoice *inv = sk_event_invoice(env);
        bool has_inline = inv->customer != NULL;
        it->cust_hash = sk_fnv1a32(cid);
        it->order_hash = sk_fnv1a32(inv->order_id);
        it->shard = sk_shard_of(cid);
        it->writes_customer = has_inline;
        it->known_customer = has_inline;
        it->version = inv->version ? inv->version : 1;
        s_content_hash(inv, it->vhash);
        it->terms = sk_terms_that_apply(inv->terms, has_inline ? inv->customer->terms : NULL,
                                        NULL, NULL);
        /* Only an order with its own customer and terms needs nothing from Redis. */
        it->need_customer = !(it->known_customer && it->terms);
        sk_order_index_format(it->o2c, sizeof it->o2c, cid, inv->currency); /* fits: validated */
    }
}

static void s_reject(ingest_item_t *it, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_reject(ingest_item_t *it, const char *code, const char *fmt, ...)
{
    it->status = INGEST_REJECTED;
    snprintf(it->err.code, sizeof it->err.code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->err.msg, sizeof it->err.msg, fmt, ap);
    va_end(ap);
}

static void s_fail(ingest_t *self, ingest_item_t *it, const char *what, const redisReply *r)
{
    it->status = INGEST_FAILED;
    ingest_metrics_redis_error(self->metrics);
    sk_log("redis: %s for event %s: %s", what, it->env ? s_str(it->env->event_id) : "?",
               r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
        self->need_script = true;
}

/* ---------------------------------------------------------------- Redis plumbing */

static int s_append(ingest_t *self, int argc, const char **argv, const size_t *lens)
{
    if (redisAppendCommandArgv(self->redis, argc, argv, lens) != REDIS_OK) {
        sk_log("redis: cannot queue a command: %s", self->redis->errstr);
        return -1;
    }
    return 0;
}

/* Appends a command whose arguments are C strings. */
static int s_appendv(ingest_t *self, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return s_append(self, argc, argv, lens);
}

static int s_get(ingest_t *self, redisReply **out)
{
    void *r = NULL;
    if (redisGetReply(self->redis, &r) != REDIS_OK || !r) {
        sk_log("redis: connection lost: %s",
                   self->redis->errstr[0] ? self->redis->errstr : "no reply");
        return -1;
    }
    *out = r;
    return 0;
}

/* Reads one reply that should be an integer; anything else is logged as
 * `what` and the batch goes on. -1 only when the connection is lost. */
static int s_read_int(ingest_t *self, const char *what)
{
    redisReply *r;
    if (s_get(self, &r))
        return -1;
    if (r->type != REDIS_REPLY_INTEGER)
        sk_log("redis: %s: %s", what, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return 0;
}

/* A command being built: arguments point into memory that lives until it
 * is appended (redisAppendCommandArgv copies them). */
typedef struct {
    const char **argv;
    size_t *lens;
    int argc;
} s_cmd_t;

static void s_arg(s_cmd_t *c, const char *p, size_t n)
{
    c->argv[c->argc] = p;
    c->lens[c->argc++] = n;
}

static void s_args(s_cmd_t *c, const char *p)
{
    s_arg(c, p, strlen(p));
}

/* ---------------------------------------------------------------- claim finishes */

/* Queues a finish for the next pipeline; when the queue is full the claim
 * stays pending and its event's resend settles it (ingest_resolve). */
static void s_queue_finish(ingest_t *self, char action, int shard, const char *expect,
                           const char *eid)
{
    if (self->nfinish == INGEST_MAX_FINISH) {
        sk_log("claim of event %s left pending for its resend to settle (finish queue full)", eid);
        return;
    }
    ingest_finish_t *f = &self->finish[self->nfinish++];
    f->action = action;
    f->shard = shard;
    snprintf(f->expect, sizeof f->expect, "%s", expect ? expect : "");
    snprintf(f->eid, sizeof f->eid, "%s", eid);
}

/* Someone else's pending claim met while claiming: a live ingest's in
 * flight, or a dead one's (older than the lease, or this worker's previous
 * run), which ingest_resolve settles after the batch. */
static void s_claim_held(ingest_t *self, const char *eid, const char *value);

/* The pending value this process wrote for the current segment's claims. */
static void s_pending_value(const ingest_t *self, char *buf, size_t n)
{
    snprintf(buf, n, "p:%" PRId64 ":%s", self->claim_ms, self->owner);
}

/* Appends, per event-id shard, one claim script call that settles the
 * queued finishes of that shard and claims the valid events of [a, b) (none
 * for a flush: a == b), then one HDEL of the shard's stored markers that are
 * no longer needed. The finish queue moves to self->flushing until the
 * replies are read; the items the calls cover are marked `claiming`.
 * Returns the number of commands appended, or -1. */
static int s_append_claims(ingest_t *self, int a, int b)
{
    ingest_finish_t *f = self->finish;
    self->finish = self->flushing;
    self->flushing = f;
    self->nflushing = self->nfinish;
    self->nfinish = 0;
    memset(self->flush_cmd, 0, sizeof self->flush_cmd);
    char now_s[24], ttl_s[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, self->claim_ms);
    snprintf(ttl_s, sizeof ttl_s, "%" PRId64, self->retention_ms);
    int ncmd = 0;
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        s_cmd_t c = {self->argv, self->lens, 0};
        char nk_s[16], nf_s[16], kstats[SK_KEY_MAX];
        int nf = 0, nk = 0;
        s_args(&c, "EVALSHA");
        s_args(&c, self->claim_sha);
        s_args(&c, ""); /* numkeys, below */
        s_args(&c, sk_key_ingest_stats(kstats, sh));
        for (int k = 0; k < self->nflushing; k++)
            if (f[k].action != 'u' && sk_shard_of(f[k].eid) == sh)
                s_args(&c, sk_key_event_claim(self->keys[nf++], f[k].eid));
        for (int i = a; i < b; i++) {
            ingest_item_t *it = &self->items[i];
            if (it->status == INGEST_PENDING && it->eid_shard == sh) {
                it->claiming = true;
                s_args(&c, sk_key_event_claim(self->keys[nf + nk++], it->env->event_id));
            }
        }
        if (nf + nk) {
            snprintf(nf_s, sizeof nf_s, "%d", nf);
            s_args(&c, now_s);
            s_args(&c, ttl_s);
            s_args(&c, self->owner);
            s_args(&c, nf_s);
            for (int k = 0; k < self->nflushing; k++) {
                if (f[k].action == 'u' || sk_shard_of(f[k].eid) != sh)
                    continue;
                s_arg(&c, f[k].action == 'a' ? "a" : "r", 1);
                s_args(&c, f[k].expect);
            }
            for (int i = a; i < b; i++)
                if (self->items[i].claiming && self->items[i].eid_shard == sh)
                    s_args(&c, self->items[i].env->event_id);
            snprintf(nk_s, sizeof nk_s, "%d", 1 + nf + nk);
            c.argv[2] = nk_s, c.lens[2] = strlen(nk_s);
            if (s_append(self, c.argc, c.argv, c.lens))
                return -1;
            self->flush_cmd[sh] |= 1;
            ncmd++;
        }
        /* Stored markers whose claims are accepted now: no longer needed. */
        c.argc = 0;
        char kstored[SK_KEY_MAX];
        s_args(&c, "HDEL");
        s_args(&c, sk_key_stored(kstored, sh));
        for (int k = 0; k < self->nflushing; k++)
            if (f[k].action == 'u' && f[k].shard == sh)
                s_args(&c, f[k].eid);
        if (c.argc > 2) {
            if (s_append(self, c.argc, c.argv, c.lens))
                return -1;
            self->flush_cmd[sh] |= 2;
            ncmd++;
        }
    }
    return ncmd;
}

/* Reads the replies of s_append_claims: per item, its claim is ours, a
 * duplicate, or someone else's pending claim (no Ack now). An accepted
 * claim's stored marker is dropped in the next pipeline, never in the same
 * one: a marker must not go before its claim says accepted (ingest_resolve
 * reads "no marker" as "not stored"). A failed call leaves its finishes
 * pending (a resend settles them) and its items without an Ack. */
static int s_read_claims(ingest_t *self, int a, int b)
{
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        if (self->flush_cmd[sh] & 1) {
            redisReply *r;
            if (s_get(self, &r))
                return -1;
            bool ok = r->type == REDIS_REPLY_ARRAY;
            if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
                self->need_script = true;
            if (!ok)
                sk_log("redis: claim script of shard %d: %s", sh,
                           r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            size_t e = 0;
            for (int i = a; i < b; i++) {
                ingest_item_t *it = &self->items[i];
                if (!it->claiming || it->eid_shard != sh)
                    continue;
                const redisReply *v = ok && e < r->elements ? r->element[e++] : NULL;
                if (v && v->type == REDIS_REPLY_INTEGER && v->integer == 1) {
                    it->claim_ours = true;
                } else if (v && v->type == REDIS_REPLY_INTEGER && v->integer == 0) {
                    it->status = INGEST_DUPLICATE;
                } else if (v && v->type == REDIS_REPLY_STRING) {
                    it->status = INGEST_FAILED;
                    it->busy = true;
                    s_claim_held(self, it->env->event_id, v->str);
                } else {
                    s_fail(self, it, "claim script", v ? v : r);
                }
            }
            freeReplyObject(r);
            for (int k = 0; ok && k < self->nflushing; k++) {
                const ingest_finish_t *f = &self->flushing[k];
                if (f->action == 'a' && f->shard >= 0 && sk_shard_of(f->eid) == sh)
                    s_queue_finish(self, 'u', f->shard, NULL, f->eid);
            }
        }
        if ((self->flush_cmd[sh] & 2) && s_read_int(self, "HDEL of stored markers"))
            return -1;
    }
    self->nflushing = 0;
    return 0;
}

/* Settles the queued finishes now, in a pipeline of their own. */
static int s_flush_finishes(ingest_t *self)
{
    if (self->need_script && ingest_load_script(self))
        return -1;
    int n = s_append_claims(self, 0, 0);
    return n < 0 || (n && s_read_claims(self, 0, 0)) ? -1 : 0;
}

/* ---------------------------------------------------------------- segments */

/* End of the segment that starts at `start`: before the first order that
 * must read a customer an earlier message of the segment writes, before
 * the second order of the segment with the same order id (the first one's
 * claim on the order index must be settled before the second looks at it),
 * and before the second event with the same event id (it is a duplicate only
 * if the first is accepted). */
static int s_segment_end(ingest_t *self, int start)
{
    /* Open-addressing set of the order ids claimed so far: hash -> item + 1. */
    uint16_t claims[2 * INGEST_BATCH];
    memset(claims, 0, sizeof claims);
    const uint32_t mask = 2 * INGEST_BATCH - 1;
    int writers = 0; /* customer writers seen so far in the segment: usually none */
    /* The same for event ids: a repeated id waits for the first one's outcome. */
    uint16_t ids[2 * INGEST_BATCH];
    memset(ids, 0, sizeof ids);
    for (int i = start; i < self->nitems; i++) {
        const ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_PENDING)
            continue;
        uint32_t h = it->eid_hash & mask;
        for (; ids[h]; h = (h + 1) & mask)
            if (!strcmp(self->items[ids[h] - 1].env->event_id, it->env->event_id))
                return i;
        ids[h] = (uint16_t)(i + 1);
        if (it->kind == SK_EVENT_INVOICE) {
            const char *oid = sk_event_order_id(it->env);
            uint32_t k = it->order_hash & mask;
            for (; claims[k]; k = (k + 1) & mask) {
                const ingest_item_t *o = &self->items[claims[k] - 1];
                if (o->order_hash == it->order_hash && !strcmp(sk_event_order_id(o->env), oid))
                    return i;
            }
            claims[k] = (uint16_t)(i + 1);
        }
        if (writers && it->need_customer) {
            const char *cid = sk_event_customer_id(it->env);
            for (int j = start; j < i; j++) {
                const ingest_item_t *w = &self->items[j];
                if (w->status == INGEST_PENDING && w->writes_customer &&
                    w->cust_hash == it->cust_hash && !strcmp(sk_event_customer_id(w->env), cid))
                    return i;
            }
        }
        if (it->writes_customer)
            writers++;
    }
    return self->nitems;
}

/* Interprets the stored index value of an order for item it. */
static void s_check_index(ingest_t *self, ingest_item_t *it, const redisReply *r)
{
    const char *oid = sk_event_order_id(it->env);
    if (r->type == REDIS_REPLY_NIL && it->kind != SK_EVENT_INVOICE) {
        s_reject(it, SK_REASON_UNKNOWN_ORDER,
                 "order %s is unknown: its order_shipped or invoice_issued was not accepted", oid);
        return;
    }
    if (r->type != REDIS_REPLY_STRING) {
        s_fail(self, it, "HGET order index", r);
        return;
    }
    char cust[SK_EVENT_ID_MAX + 1], cur[4];
    if (sk_order_index_parse(r->str, r->len, cust, sizeof cust, cur)) {
        s_fail(self, it, "corrupt order index entry", NULL);
        return;
    }
    if (it->kind == SK_EVENT_INVOICE) {
        const Skonto__V1__Invoice *inv = sk_event_invoice(it->env);
        if (strcmp(cust, inv->customer_id) != 0)
            s_reject(it, SK_REASON_ORDER_CUSTOMER_MISMATCH,
                     "order %s belongs to customer %s, not %s", oid, cust, inv->customer_id);
        else if (strcmp(cur, inv->currency) != 0)
            s_reject(it, SK_REASON_CURRENCY_MISMATCH, "order %s is in %s; this version says %s",
                     oid, cur, inv->currency);
        return;
    }
    it->shard = sk_shard_of(cust);
    /* A payment or credit note names its currency only to guard against an
     * amount scaled by the wrong power of ten: it must be the invoice's. */
    const char *pcur = it->kind == SK_EVENT_PAYMENT ? s_str(it->env->payment_received->currency)
                       : it->kind == SK_EVENT_CREDIT ? s_str(it->env->credit_note->currency)
                                                     : "";
    if (*pcur && strcmp(pcur, cur) != 0)
        s_reject(it, SK_REASON_CURRENCY_MISMATCH, "%s in %s for order %s, which is in %s",
                 it->kind == SK_EVENT_PAYMENT ? "payment" : "credit note", pcur, oid, cur);
}

static void s_read_customer(ingest_t *self, ingest_item_t *it, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        s_fail(self, it, "HMGET customer", r);
        return;
    }
    const redisReply *upd = r->element[0], *terms = r->element[1];
    if (upd->type == REDIS_REPLY_STRING)
        it->known_customer = true;
    if (!it->terms && terms->type == REDIS_REPLY_STRING && terms->len > 0 &&
        terms->len < sizeof it->terms_buf) {
        memcpy(it->terms_buf, terms->str, terms->len);
        it->terms_buf[terms->len] = '\0';
        it->terms = it->terms_buf;
        it->stored_terms = true;
    }
}

/* Step 1, one round trip, in message order: an order reads its customer
 * (HMGET, when it needs the stored profile) and claims the order index
 * (HSETNX); a payment, credit note or cancellation reads the index (HGET) and
 * so sees the claim of an order earlier in the same batch; a PUB source seen
 * the first time reads its last sequence number. */
static int s_phase_read_claim(ingest_t *self, int a, int b)
{
    if (self->need_script && ingest_load_script(self))
        return -1;
    self->claim_mono = s_mono_ms();
    self->claim_ms = sk_now_ms();
    for (int i = a; i < b; i++)
        self->items[i].claiming = self->items[i].claim_ours = self->items[i].busy = false;
    int claims = s_append_claims(self, a, b);
    if (claims < 0)
        return -1;
    int queued = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        it->nrep = 0;
        it->seq_load = it->claimed = it->claim_found = false;
        if (it->status == INGEST_PENDING && it->kind != SK_EVENT_CUSTOMER) {
            const char *oid = sk_event_order_id(it->env);
            char okey[SK_KEY_MAX];
            sk_key_order_index(okey, oid);
            if (it->kind == SK_EVENT_INVOICE) {
                if (it->need_customer) {
                    char ckey[SK_KEY_MAX];
                    sk_key_customer(ckey, it->shard, sk_event_customer_id(it->env));
                    const char *argv[4] = {"HMGET", ckey, "updated_ms", "terms"};
                    if (s_appendv(self, 4, argv))
                        return -1;
                }
                const char *claim[4] = {"HSETNX", okey, oid, it->o2c};
                if (s_appendv(self, 4, claim))
                    return -1;
            } else {
                const char *get[3] = {"HGET", okey, oid};
                if (s_appendv(self, 3, get))
                    return -1;
            }
            it->nrep = 1;
            queued++;
        }
        if (it->src >= 0) {
            ingest_source_t *src = &self->sources[it->src];
            if (!src->loaded && !src->loading) {
                const char *argv[3] = {"HGET", SK_KEY_SEQUENCES, src->name};
                if (s_appendv(self, 3, argv))
                    return -1;
                src->loading = true;
                it->seq_load = true;
                queued++;
            }
        }
    }
    if (claims && s_read_claims(self, a, b))
        return -1;
    if (!queued)
        return 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        redisReply *r;
        if (it->nrep && it->kind == SK_EVENT_INVOICE) {
            redisReply *cust = NULL;
            if (it->need_customer && s_get(self, &cust))
                return -1;
            if (s_get(self, &r)) {
                if (cust)
                    freeReplyObject(cust);
                return -1;
            }
            if (cust)
                s_read_customer(self, it, cust);
            if (r->type != REDIS_REPLY_INTEGER)
                s_fail(self, it, "HSETNX order index", r);
            else if (r->integer == 1)
                it->claimed = true; /* ours: released again in step 2 if the order is rejected */
            else
                it->claim_found = true; /* resent or revised: step 1b compares */
            if (cust)
                freeReplyObject(cust);
            freeReplyObject(r);
        } else if (it->nrep) {
            if (s_get(self, &r))
                return -1;
            if (it->status == INGEST_PENDING)
                s_check_index(self, it, r);
            freeReplyObject(r);
        }
        if (it->seq_load) {
            if (s_get(self, &r))
                return -1;
            ingest_source_t *src = &self->sources[it->src];
            src->loading = false;
            if (r->type == REDIS_REPLY_STRING) {
                src->last = strtoull(r->str, NULL, 10);
                src->loaded = true;
            } else if (r->type == REDIS_REPLY_NIL) {
                src->last = 0;
                src->loaded = true;
            } else {
                sk_log("redis: HGET %s %s: %s", SK_KEY_SEQUENCES, src->name,
                           r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            }
            freeReplyObject(r);
        }
    }
    return 0;
}

/* After step 1: is each order's customer known, and do its terms work? A
 * payment, credit note or cancellation that found the claim of an order of
 * this segment that is now rejected has no order after all. */
static void s_decide_customers(ingest_t *self, int a, int b)
{
    bool released = false;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_PENDING || it->kind != SK_EVENT_INVOICE)
            continue;
        const Skonto__V1__Invoice *inv = sk_event_invoice(it->env);
        if (!it->known_customer) {
            s_reject(it, SK_REASON_UNKNOWN_CUSTOMER,
                     "customer %s is unknown: send the customer first or inline in the order",
                     inv->customer_id);
        } else if (!it->terms) {
            s_reject(it, SK_REASON_BAD_TERMS,
                     "order %s has no terms and customer %s has no default terms", inv->order_id,
                     inv->customer_id);
        } else if (it->stored_terms) {
            char whose[SK_EVENT_ID_MAX + 32];
            snprintf(whose, sizeof whose, "customer %s's terms", inv->customer_id);
            if (sk_event_check_terms(it->terms, inv, whose, &it->err))
                it->status = INGEST_REJECTED;
        }
        released |= it->status != INGEST_PENDING && it->claimed;
    }
    for (int i = a; released && i < b; i++) {
        const ingest_item_t *o = &self->items[i];
        if (o->kind != SK_EVENT_INVOICE || !o->claimed || o->status == INGEST_PENDING)
            continue;
        for (int j = i + 1; j < b; j++) {
            ingest_item_t *it = &self->items[j];
            if (it->status == INGEST_PENDING && it->kind != SK_EVENT_INVOICE &&
                it->kind != SK_EVENT_CUSTOMER &&
                !strcmp(sk_event_order_id(it->env), sk_event_order_id(o->env)))
                s_reject(
                    it, SK_REASON_UNKNOWN_ORDER,
                    "order %s is unknown: its order_shipped or invoice_issued was not accepted",
                    sk_event_order_id(it->env));
        }
    }
}

/* Step 1b, only when needed (a resent or revised order): read whose an
 * already claimed order is. (A resent order that was accepted before is a
 * duplicate by its event-id claim already, even if the customer's terms have
 * changed since.) */
static int s_phase_confirm(ingest_t *self, int a, int b)
{
    int queued = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        char key[SK_KEY_MAX];
        if (it->status == INGEST_PENDING && it->claim_found) {
            const char *oid = sk_event_order_id(it->env);
            const char *get[3] = {"HGET", sk_key_order_index(key, oid), oid};
            if (s_appendv(self, 3, get))
                return -1;
            queued++;
        }
    }
    if (!queued)
        return 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        redisReply *r;
        if (it->status == INGEST_PENDING && it->claim_found) {
            if (s_get(self, &r))
                return -1;
            s_check_index(self, it, r);
            freeReplyObject(r);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- dead letters */

/* The authenticated sender of a ROUTER message (CURVE + ZAP User-Id), or "". */
static const char *s_user(const ingest_item_t *it)
{
    if (it->origin != 0)
        return "";
    const char *u = zmq_msg_gets(&it->body, "User-Id");
    return u ? u : "";
}

/* The JSON dead letter of a rejected item (malloc'ed), or NULL. */
static char *s_dead_letter(const ingest_item_t *it, int64_t now)
{
    char eid[SK_EVENT_ID_MAX * 2 + 1] = "", src[SK_EVENT_ID_MAX * 2 + 1] = "";
    if (it->env) {
        sk_utf8_sanitize(eid, sizeof eid, s_str(it->env->event_id),
                         strlen(s_str(it->env->event_id)));
        sk_utf8_sanitize(src, sizeof src, s_str(it->env->source), strlen(s_str(it->env->source)));
    }
    char msg[sizeof it->err.msg];
    sk_utf8_sanitize(msg, sizeof msg, it->err.msg, strlen(it->err.msg));
    /* A payload up to the envelope limit is kept whole; a bigger one only as
     * its size, SHA-256 and first bytes, so one record stays under ~90 KiB. */
    const unsigned char *data = zmq_msg_data((zmq_msg_t *)&it->body);
    size_t n = zmq_msg_size((zmq_msg_t *)&it->body);
    bool whole = n <= SK_EVENT_MAX_BYTES;
    char *b64 = sk_base64(data, whole ? n : INGEST_DLQ_HEAD);
    unsigned char sha[crypto_hash_sha256_BYTES];
    char sha_hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(sha, data, n);
    sodium_bin2hex(sha_hex, sizeof sha_hex, sha, sizeof sha);
    json_t *o = json_object();
    char *out = NULL;
    if (b64 && o && !json_object_set_new(o, "at_ms", json_integer(now)) &&
        !json_object_set_new(o, "event_id", json_string(eid)) &&
        !json_object_set_new(o, "source", json_string(src)) &&
        !json_object_set_new(o, "reason_code", json_string(it->err.code)) &&
        !json_object_set_new(o, "message", json_string(msg)) &&
        !json_object_set_new(o, "payload_bytes", json_integer((json_int_t)n)) &&
        !json_object_set_new(o, "payload_sha256", json_string(sha_hex)) &&
        !json_object_set_new(o, whole ? "payload_b64" : "payload_head_b64", json_string(b64)) &&
        (!*s_user(it) || !json_object_set_new(o, "user", json_string(s_user(it)))))
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(b64);
    return out;
}

/* ---------------------------------------------------------------- step C */

static const char *s_statement_name(int st)
{
    switch (st) {
    case SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_WEEKLY:
        return "weekly";
    case SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_DAILY:
        return "daily";
    case SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_NONE:
        return "none";
    default:
        return NULL; /* unspecified: keep the stored setting */
    }
}

/* Queues one EVALSHA accept for the valid items of `shard` in [a, b), in
 * message order; returns how many it covers, or -1 if nothing could be queued. */
static int s_append_accept(ingest_t *self, int a, int b, int shard, const char *now)
{
    s_cmd_t c = {self->argv, self->lens, 0};
    int nkeys = 4, nev = 0;
    /* Keys first: stored, events, versions, stats, then one customer key per
     * customer-writing event. */
    char kstored[SK_KEY_MAX], kevents[SK_KEY_MAX], kver[SK_KEY_MAX], kstats[SK_KEY_MAX];
    char nkeys_s[16], nev_s[16];
    s_args(&c, "EVALSHA");
    s_args(&c, self->accept_sha);
    s_args(&c, ""); /* numkeys, below */
    s_args(&c, sk_key_stored(kstored, shard));
    s_args(&c, sk_key_events(kevents, shard));
    s_args(&c, sk_key_order_versions(kver, shard));
    s_args(&c, sk_key_ingest_stats(kstats, shard));
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_PENDING || it->shard != shard)
            continue;
        it->nrep = 1; /* in an accept call (reset by the caller) */
        nev++;
        const char *cid = NULL;
        if (it->kind == SK_EVENT_CUSTOMER)
            cid = it->env->customer->customer_id;
        else if (it->kind == SK_EVENT_INVOICE && sk_event_invoice(it->env)->customer)
            cid = sk_event_invoice(it->env)->customer_id; /* the inline one's is empty or equal */
        it->kidx = 0;
        if (cid) {
            s_args(&c, sk_key_customer(it->ckey, shard, cid));
            it->kidx = ++nkeys;
        }
    }
    if (!nev)
        return 0;
    snprintf(nkeys_s, sizeof nkeys_s, "%d", nkeys);
    snprintf(nev_s, sizeof nev_s, "%d", nev);
    c.argv[2] = nkeys_s, c.lens[2] = strlen(nkeys_s);
    s_args(&c, nev_s);
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (!it->nrep || it->shard != shard)
            continue;
        bool order = it->kind == SK_EVENT_INVOICE;
        s_args(&c, it->env->event_id);
        s_arg(&c, zmq_msg_data(&it->body), zmq_msg_size(&it->body));
        const char *oid = sk_event_order_id(it->env);
        s_args(&c, oid ? oid : "");
        snprintf(it->num[2], sizeof it->num[2], "%" PRIu32, order ? it->version : 0);
        s_args(&c, it->num[2]);
        s_args(&c, order ? it->vhash : "");
        snprintf(it->num[0], sizeof it->num[0], "%d", it->kidx);
        s_args(&c, it->num[0]);
        int npairs_at = c.argc;
        s_args(&c, "0");
        if (!it->kidx)
            continue;
        const Skonto__V1__CustomerUpsert *cu =
            it->kind == SK_EVENT_CUSTOMER ? it->env->customer : sk_event_invoice(it->env)->customer;
        const char *stmt = s_statement_name((int)cu->statement);
        const char *pairs[][2] = {{"name", s_str(cu->name)},
                                  {"email", s_str(cu->email)},
                                  {"tz", s_str(cu->timezone)},
                                  {"locale", s_str(cu->locale)},
                                  {"statement", stmt ? stmt : ""},
                                  {"terms", s_str(cu->terms)},
                                  {"updated_ms", now}};
        int np = 0;
        /* An empty string means "not given": the stored value stays. */
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            if (!*pairs[k][1])
                continue;
            s_args(&c, pairs[k][0]);
            s_args(&c, pairs[k][1]);
            np++;
        }
        snprintf(it->num[1], sizeof it->num[1], "%d", np);
        c.argv[npairs_at] = it->num[1], c.lens[npairs_at] = strlen(it->num[1]);
    }
    if (s_append(self, c.argc, c.argv, c.lens))
        return -1;
    return nev;
}

/* Interprets one result of the accept script for item it. */
static void s_accept_result(ingest_t *self, ingest_item_t *it, const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_INTEGER) {
        s_fail(self, it, "accept script", v);
        return;
    }
    const char *oid = sk_event_order_id(it->env);
    if (v->integer == 1) {
        it->status = INGEST_ACCEPTED;
    } else if (v->integer == 2) {
        it->status = INGEST_DUPLICATE;
        it->unchanged = true;
        snprintf(it->err.msg, sizeof it->err.msg,
                 "order %s version %" PRIu32
                 " was accepted before with the same content: nothing changed",
                 oid, it->version);
    } else if (v->integer < 0) {
        long long accepted = -(v->integer + 1);
        s_reject(it, SK_REASON_STALE_VERSION,
                 "order %s is at version %lld; version %" PRIu32
                 " has other content and is not higher: send version %lld or higher to replace it",
                 oid, accepted, it->version, accepted + 1);
    } else {
        s_fail(self, it, "accept script (unknown result)", v);
    }
}

/* Queues one dead-letter script call for the rejected items of [a, b) whose
 * dead letter is not written yet, marking them with `round`. 1 queued, 0
 * nothing to queue, -1 error. */
static int s_append_dlq(ingest_t *self, int a, int b, int round, int64_t now)
{
    s_cmd_t c = {self->argv, self->lens, 0};
    char maxn[24], maxb[24];
    snprintf(maxn, sizeof maxn, "%d", INGEST_DLQ_MAX);
    snprintf(maxb, sizeof maxb, "%ld", INGEST_DLQ_MAX_BYTES);
    s_args(&c, "EVALSHA");
    s_args(&c, self->dlq_sha);
    s_args(&c, "2");
    s_args(&c, SK_KEY_DEADLETTERS);
    s_args(&c, SK_KEY_INGEST_STATS);
    s_args(&c, maxn);
    s_args(&c, maxb);
    char *dls[INGEST_BATCH];
    int n = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_REJECTED || it->dlq)
            continue;
        char *dl = s_dead_letter(it, now);
        if (!dl) {
            it->status = INGEST_FAILED;
            sk_log("cannot build the dead letter of a rejected event (out of memory)");
            continue;
        }
        dls[n++] = dl;
        s_args(&c, dl);
        it->dlq = (uint8_t)round;
    }
    int rc = n ? s_append(self, c.argc, c.argv, c.lens) : 0;
    for (int k = 0; k < n; k++)
        free(dls[k]);
    return rc < 0 ? -1 : n > 0;
}

static int s_read_dlq(ingest_t *self, int a, int b, int round)
{
    redisReply *r;
    if (s_get(self, &r))
        return -1;
    for (int i = a; i < b && r->type != REDIS_REPLY_INTEGER; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->status == INGEST_REJECTED && it->dlq == round)
            s_fail(self, it, "dead-letter script", r);
    }
    freeReplyObject(r);
    return 0;
}

/* After the outcomes are known: every claim of ours is finished in the next
 * pipeline, marked accepted when its event is stored and released when
 * nothing was. A failure after the accept call was sent leaves it pending
 * (stored or not, only Redis knows): a resend settles it (ingest_resolve). */
static void s_queue_outcomes(ingest_t *self, int a, int b)
{
    char pend[INGEST_OWNER_MAX];
    s_pending_value(self, pend, sizeof pend);
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (!it->claim_ours)
            continue;
        if (it->status == INGEST_ACCEPTED)
            s_queue_finish(self, 'a', it->shard, pend, it->env->event_id);
        else if (!it->unsure)
            s_queue_finish(self, 'r', -1, pend, it->env->event_id);
    }
}

/* Step 2: the order-index releases, the accept scripts (one per shard), the
 * dead letters; a second round trip only for orders the accept script found
 * stale (their dead letter must be stored before their Ack). */
static int s_phase_write(ingest_t *self, int a, int b)
{
    if (self->need_script && ingest_load_script(self))
        return -1;
    int64_t mono = s_mono_ms();
    for (int i = a; i < b; i++)
        self->items[i].nrep = self->items[i].unsure = 0;
    if (mono - self->claim_mono > INGEST_LEASE_MS / 2) {
        /* Claims this old may be settled by another ingest's recovery any
         * moment: storing now could store an event twice. */
        sk_log("a batch took %" PRId64 " ms since its claims: not storing it (no Acks; "
                   "the clients retry)",
                   mono - self->claim_mono);
        for (int i = a; i < b; i++)
            if (self->items[i].status == INGEST_PENDING)
                self->items[i].status = INGEST_FAILED;
    }
    int64_t now = sk_now_ms();
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    /* Order-index entries this segment created for events that turned out
     * duplicates or rejections are released: a duplicate changes nothing.
     * Not for an event another ingest is storing (busy): it needs the entry. */
    int released = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (!it->claimed || it->status == INGEST_PENDING || it->busy)
            continue;
        char key[SK_KEY_MAX];
        const char *oid = sk_event_order_id(it->env);
        const char *argv[3] = {"HDEL", sk_key_order_index(key, oid), oid};
        if (s_appendv(self, 3, argv))
            return -1;
        released++;
    }
    int groups[SK_SHARDS];
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        groups[sh] = s_append_accept(self, a, b, sh, now_s);
        if (groups[sh] < 0)
            return -1;
    }
    for (int i = a; i < b; i++)
        self->items[i].dlq = 0;
    int dlq = s_append_dlq(self, a, b, 1, now);
    if (dlq < 0)
        return -1;

    for (int k = 0; k < released; k++)
        if (s_read_int(self, "HDEL of a rejected order's index entry"))
            return -1;
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        if (!groups[sh])
            continue;
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        /* An array says what happened to each event it covers (the ones
         * after an error were not looked at); anything else leaves every
         * event of the call unsure: stored or not, a resend finds out. */
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements <= (size_t)groups[sh];
        if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
            self->need_script = true;
        size_t e = 0;
        for (int i = a; i < b; i++) {
            ingest_item_t *it = &self->items[i];
            if (!it->nrep || it->shard != sh)
                continue;
            it->unsure = !ok;
            if (ok && e < r->elements)
                s_accept_result(self, it, r->element[e++]);
            else if (ok)
                s_fail(self, it, "accept script (not reached after an error)", NULL);
            else
                s_fail(self, it, "accept script", r);
        }
        freeReplyObject(r);
    }
    if (dlq && s_read_dlq(self, a, b, 1))
        return -1;
    /* Stale versions, found by the accept script: their dead letters now. */
    dlq = s_append_dlq(self, a, b, 2, now);
    if (dlq < 0 || (dlq && s_read_dlq(self, a, b, 2)))
        return -1;
    s_queue_outcomes(self, a, b);
    return 0;
}

/* ---------------------------------------------------------------- outcome */

static void s_account(ingest_t *self, int a, int b)
{
    int failed = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        ingest_metrics_outcome(self->metrics, it->env, it->status, it->err.code);
        switch (it->status) {
        case INGEST_ACCEPTED:
            self->accepted++, self->processed++;
            break;
        case INGEST_DUPLICATE:
            self->duplicate++, self->processed++;
            break;
        case INGEST_REJECTED: {
            self->rejected++, self->processed++;
            char eid[SK_EVENT_ID_MAX + 1] = "", src[SK_EVENT_ID_MAX + 1] = "";
            if (it->env) {
                sk_utf8_sanitize(eid, sizeof eid, s_str(it->env->event_id),
                                 strlen(s_str(it->env->event_id)));
                sk_utf8_sanitize(src, sizeof src, s_str(it->env->source),
                                 strlen(s_str(it->env->source)));
            }
            const char *user = s_user(it);
            if (it->env)
                sk_log_at(SK_LOG_WARN, eid, sk_event_order_id(it->env),
                          "rejected event %s (%s from %s via %s%s%s): %s: %s",
                          *eid ? eid : "\"\"", sk_event_kind_name(it->env), *src ? src : "?",
                          it->origin ? "SUB" : "ROUTER", *user ? " as " : "", user, it->err.code,
                          it->err.msg);
            else
                sk_log_at(SK_LOG_WARN, NULL, NULL, "rejected a message via %s%s%s: %s: %s",
                          it->origin ? "SUB" : "ROUTER", *user ? " as " : "", user, it->err.code,
                          it->err.msg);
            break;
        }
        case INGEST_FAILED:
            self->errors++, failed++;
            break;
        default:
            break;
        }
        /* Sequence numbers of PUB feeds: an event Redis did not take counts as missing. */
        if (it->src < 0 || it->status == INGEST_FAILED)
            continue;
        ingest_source_t *src = &self->sources[it->src];
        if (!src->loaded)
            continue;
        uint64_t seq = it->env->sequence;
        if (seq > src->last + 1) {
            uint64_t missing = seq - src->last - 1;
            src->new_gaps += missing;
            sk_log("gap: source %s missing %" PRIu64 " event%s (%" PRIu64 "..%" PRIu64 ")",
                       src->name, missing, missing == 1 ? "" : "s", src->last + 1, seq - 1);
        } else if (seq <= src->last && it->status != INGEST_DUPLICATE) {
            sk_log("sequence: source %s sent %" PRIu64 " after %" PRIu64
                       " (publisher restarted or reordered)",
                       src->name, seq, src->last);
        }
        if (seq > src->last) {
            src->last = seq;
            src->dirty = true;
        }
    }
    if (failed)
        sk_log("%d event%s not recorded by Redis: no acknowledgement (the client retries)",
                   failed, failed == 1 ? "" : "s");
}

static void s_send_ack(ingest_t *self, ingest_item_t *it)
{
    Skonto__V1__Ack ack = SKONTO__V1__ACK__INIT;
    char eid[SK_EVENT_ID_MAX * 2 + 1] = "";
    if (it->env)
        sk_utf8_sanitize(eid, sizeof eid, s_str(it->env->event_id),
                         strlen(s_str(it->env->event_id)));
    char msg[sizeof it->err.msg];
    ack.event_id = eid;
    /* The id's bytes as received, so a client can match every Ack. */
    const uint8_t *raw;
    size_t rawlen;
    if (it->env && sk_event_raw_id(zmq_msg_data(&it->body), zmq_msg_size(&it->body), &raw,
                                   &rawlen))
        ack.event_id_raw = (ProtobufCBinaryData){rawlen, (uint8_t *)raw};
    sk_utf8_sanitize(msg, sizeof msg, it->err.msg, strlen(it->err.msg));
    if (*msg)
        ack.message = msg; /* a rejection's reason, or why a duplicate changed nothing */
    if (it->status == INGEST_REJECTED) {
        ack.status = SKONTO__V1__ACK_STATUS__ACK_REJECTED;
        ack.reason_code = it->err.code;
    } else {
        ack.status = it->status == INGEST_ACCEPTED ? SKONTO__V1__ACK_STATUS__ACK_ACCEPTED
                                                   : SKONTO__V1__ACK_STATUS__ACK_DUPLICATE;
    }
    /* Bounded: the id is at most the frame (SK_EVENT_FRAME_MAX), the rest small. */
    size_t n = skonto__v1__ack__get_packed_size(&ack);
    uint8_t stack[2048], *buf = n <= sizeof stack ? stack : malloc(n);
    if (!buf) {
        self->errors++;
        sk_log("ack for %s not sent: out of memory", *eid ? eid : "an undecodable message");
        return;
    }
    skonto__v1__ack__pack(&ack, buf);
    /* ROUTER_MANDATORY: a peer that is gone gives EHOSTUNREACH instead of a
     * silent drop; DONTWAIT: a peer that does not read cannot stall ingest. */
    int rc = zmq_send(self->router, zmq_msg_data(&it->ident), zmq_msg_size(&it->ident),
                      ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0 && it->delim)
        rc = zmq_send(self->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send(self->router, buf, n, ZMQ_DONTWAIT);
    if (rc >= 0)
        ingest_metrics_acked(self->metrics, it->received_ns);
    if (rc < 0) {
        self->errors++;
        sk_log("ack for %s not sent: %s", *eid ? eid : "an undecodable message",
                   zmq_strerror(zmq_errno()));
    }
    if (buf != stack)
        free(buf);
}

/* Step D (PUB feeds only): last sequence per source and the gaps found. */
static int s_phase_sequences(ingest_t *self)
{
    int queued = 0;
    for (size_t i = 0; i < self->nsources; i++) {
        ingest_source_t *s = &self->sources[i];
        if (s->dirty) {
            char num[24];
            snprintf(num, sizeof num, "%" PRIu64, s->last);
            const char *argv[4] = {"HSET", SK_KEY_SEQUENCES, s->name, num};
            if (s_appendv(self, 4, argv))
                return -1;
            queued++;
        }
        if (s->new_gaps) {
            char num[24];
            snprintf(num, sizeof num, "%" PRIu64, s->new_gaps);
            const char *argv[4] = {"HINCRBY", SK_KEY_GAPS, s->name, num};
            if (s_appendv(self, 4, argv))
                return -1;
            queued++;
        }
    }
    if (!queued)
        return 0;
    for (size_t i = 0; i < self->nsources; i++) {
        ingest_source_t *s = &self->sources[i];
        for (int k = 0; k < 2; k++) {
            if (!(k == 0 ? s->dirty : s->new_gaps != 0))
                continue;
            redisReply *r;
            if (s_get(self, &r))
                return -1;
            if (r->type == REDIS_REPLY_INTEGER) {
                if (k == 0)
                    s->dirty = false;
                else
                    s->new_gaps = 0;
            } else {
                sk_log("redis: sequence bookkeeping for %s: %s", s->name,
                           r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            }
            freeReplyObject(r);
        }
    }
    return 0;
}

static int s_segment(ingest_t *self, int a, int b)
{
    if (s_phase_read_claim(self, a, b))
        return -1;
    s_decide_customers(self, a, b);
    if (s_phase_confirm(self, a, b) || s_phase_write(self, a, b))
        return -1;
    s_account(self, a, b);
    bool from_sub = false;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->origin)
            from_sub = true;
        else if (it->status == INGEST_ACCEPTED || it->status == INGEST_DUPLICATE ||
                 it->status == INGEST_REJECTED)
            s_send_ack(self, it);
    }
    return from_sub ? s_phase_sequences(self) : 0;
}

int ingest_process(ingest_t *self)
{
    int start = 0;
    while (start < self->nitems) {
        int end = s_segment_end(self, start);
        if (s_segment(self, start, end))
            return -1;
        start = end;
    }
    return ingest_resolve(self);
}

/* ---------------------------------------------------------------- recovery */

/* One HSCAN page of hash `key`; *cursor is updated ("0" when done). The
 * reply (field, value, ...) is the caller's to free. */
static int s_hscan(ingest_t *self, const char *key, char cursor[32], redisReply **page)
{
    const char *argv[5] = {"HSCAN", key, cursor, "COUNT", "500"};
    redisReply *r;
    if (s_appendv(self, 5, argv) || s_get(self, &r))
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        sk_log("redis: HSCAN %s: %s", key,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    snprintf(cursor, 32, "%s", r->element[0]->str);
    *page = r->element[1];
    r->element[1] = NULL; /* keep the page, free the rest */
    freeReplyObject(r);
    return 0;
}

/* Reads n replies and fails if any is an error. */
static int s_drain_replies(ingest_t *self, int n, const char *what)
{
    int bad = 0;
    for (int k = 0; k < n; k++) {
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        if (r->type == REDIS_REPLY_ERROR && !bad++)
            sk_log("redis: %s: %s", what, r->str);
        freeReplyObject(r);
    }
    return bad ? -1 : 0;
}

/* Event ids accepted before claims existed (sk:{sN}:seen, one hash per
 * customer shard) become accepted claims, then the hash goes. */
static int s_migrate_seen(ingest_t *self)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%" PRId64, self->retention_ms);
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        char kseen[SK_KEY_MAX], cursor[32] = "0";
        sk_key_seen(kseen, sh);
        long moved = 0;
        do {
            redisReply *page;
            if (s_hscan(self, kseen, cursor, &page))
                return -1;
            int n = 0;
            for (size_t k = 0; k + 1 < page->elements; k += 2) {
                const redisReply *f = page->element[k];
                if (f->type != REDIS_REPLY_STRING || f->len > SK_EVENT_ID_MAX || memchr(f->str, 0, f->len))
                    continue;
                char key[SK_KEY_MAX];
                const char *argv[7] = {"SET", sk_key_event_claim(key, f->str), "a", "NX", "PX", ttl};
                if (s_appendv(self, 6, argv)) {
                    freeReplyObject(page);
                    return -1;
                }
                n++;
            }
            freeReplyObject(page);
            if (s_drain_replies(self, n, "migrating seen event ids"))
                return -1;
            moved += n;
        } while (strcmp(cursor, "0") != 0);
        if (moved) {
            const char *argv[2] = {"DEL", kseen};
            if (s_appendv(self, 2, argv) || s_drain_replies(self, 1, "DEL seen"))
                return -1;
            sk_log("migrated %ld accepted event ids of %s into event-id claims", moved, kseen);
        }
    }
    return 0;
}

/* After a crash: a stored marker whose claim is still pending means the
 * event was stored, so the claim is marked accepted; one whose claim is
 * settled (a crash between the two finish steps) is dropped. */
static int s_sweep_stored(ingest_t *self)
{
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        char kstored[SK_KEY_MAX], cursor[32] = "0";
        sk_key_stored(kstored, sh);
        do {
            redisReply *page;
            if (s_hscan(self, kstored, cursor, &page))
                return -1;
            int n = 0;
            for (size_t k = 0; k + 1 < page->elements; k += 2) {
                char key[SK_KEY_MAX];
                const char *argv[2] = {"GET", sk_key_event_claim(key, page->element[k]->str)};
                if (s_appendv(self, 2, argv)) {
                    freeReplyObject(page);
                    return -1;
                }
                n++;
            }
            for (int k = 0; k < n; k++) {
                redisReply *r;
                if (s_get(self, &r)) {
                    freeReplyObject(page);
                    return -1;
                }
                const char *eid = page->element[2 * k]->str;
                if (r->type == REDIS_REPLY_STRING && !strncmp(r->str, "p:", 2))
                    s_queue_finish(self, 'a', sh, r->str, eid); /* stored: say so */
                else
                    s_queue_finish(self, 'u', sh, NULL, eid);
                freeReplyObject(r);
            }
            freeReplyObject(page);
            if (s_flush_finishes(self))
                return -1;
        } while (strcmp(cursor, "0") != 0);
    }
    return 0;
}

/* Whether a pending claim value "p:<ms>:<name>/<pid>/<start>" is this
 * worker's: of an earlier run (worker names are unique among running
 * workers, SKONTO_WORKER_NAME, so that run is dead), or of this run and left
 * pending when a Redis error made its outcome unsure (nothing of this run is
 * in flight between batches). Either can be settled at once instead of
 * after the lease. */
static bool s_own_name(const ingest_t *self, const char *v)
{
    const char *p = strchr(v + 2, ':');
    size_t n = strlen(self->name);
    return p && !strncmp(p + 1, self->name, n) && p[1 + n] == '/';
}

static void s_claim_held(ingest_t *self, const char *eid, const char *value)
{
    char clean[SK_EVENT_ID_MAX + 1];
    sk_utf8_sanitize(clean, sizeof clean, eid, strlen(eid));
    bool stale = !strncmp(value, "p:", 2) &&
                 (strtoll(value + 2, NULL, 10) < sk_now_ms() - INGEST_LEASE_MS ||
                  s_own_name(self, value));
    if (!stale) {
        sk_log("event %s is being stored under another claim (%.120s): no Ack now, the "
                   "client's retry gets the outcome",
                   clean, value);
        return;
    }
    for (int k = 0; k < self->nresolve; k++)
        if (!strcmp(self->resolve[k].eid, eid))
            return;
    if (self->nresolve == INGEST_BATCH)
        return; /* the next resend asks again */
    ingest_finish_t *r = &self->resolve[self->nresolve++];
    snprintf(r->eid, sizeof r->eid, "%s", eid);
    snprintf(r->expect, sizeof r->expect, "%s", value);
    sk_log("event %s has a claim its ingest left pending (%.120s): settling it; no Ack "
               "now, the client's retry gets the outcome",
               clean, value);
}

int ingest_resolve(ingest_t *self)
{
    if (!self->nresolve)
        return 0;
    /* Per claim: is its event in any shard's stored set? */
    for (int k = 0; k < self->nresolve; k++) {
        for (int sh = 0; sh < SK_SHARDS; sh++) {
            char key[SK_KEY_MAX];
            const char *hx[3] = {"HEXISTS", sk_key_stored(key, sh), self->resolve[k].eid};
            if (s_appendv(self, 3, hx))
                return -1;
        }
    }
    for (int k = 0; k < self->nresolve; k++) {
        ingest_finish_t *r = &self->resolve[k];
        int stored_in = -1;
        for (int sh = 0; sh < SK_SHARDS; sh++) {
            redisReply *x;
            if (s_get(self, &x))
                return -1;
            if (x->type == REDIS_REPLY_INTEGER && x->integer == 1)
                stored_in = sh;
            freeReplyObject(x);
        }
        char clean[SK_EVENT_ID_MAX + 1];
        sk_utf8_sanitize(clean, sizeof clean, r->eid, strlen(r->eid));
        sk_log("event %s %s: its claim is %s", clean,
                   stored_in >= 0 ? "was stored" : "was never stored",
                   stored_in >= 0 ? "marked accepted" : "released, a resend stores it");
        s_queue_finish(self, stored_in >= 0 ? 'a' : 'r', stored_in, r->expect, r->eid);
    }
    self->nresolve = 0;
    return s_flush_finishes(self);
}

int ingest_recover(ingest_t *self)
{
    return self->need_script && ingest_load_script(self) ? -1
           : s_migrate_seen(self) || s_sweep_stored(self) ? -1
                                                          : 0;
}

/* ---------------------------------------------------------------- heartbeat */

int ingest_heartbeat(ingest_t *self, sk_heartbeat_t *hb)
{
    sk_heartbeat_count(hb, "processed", (int64_t)self->processed);
    sk_heartbeat_count(hb, "errors", (int64_t)self->errors);
    sk_heartbeat_count(hb, "accepted", (int64_t)self->accepted);
    sk_heartbeat_count(hb, "duplicate", (int64_t)self->duplicate);
    sk_heartbeat_count(hb, "rejected", (int64_t)self->rejected);
    sk_heartbeat_count(hb, "disconnects",
                       self->conns ? (int64_t)sk_conns_closed(self->conns) : 0);
    /* where /metrics is served, for skontoctl status */
    sk_heartbeat_text(hb, "metrics", ingest_metrics_address(self->metrics));
    if (s_flush_finishes(self))
        return -1;
    sk_err_t err;
    if (sk_heartbeat_append(hb, self->redis, &err)) {
        sk_log_error("%s", err.msg);
        return -1;
    }
    return s_read_int(self, "HSET " SK_KEY_HEARTBEATS) ? -1 : 0;
}
