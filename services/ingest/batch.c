/* batch — a batch of received messages turned into Redis work and Acks.
 *
 * Round trips, not CPU, decide throughput and latency (every round trip may
 * wait behind other workers' pipelines in Redis), so every step pipelines the
 * whole batch (redisAppendCommandArgv, then the replies in order), and a batch
 * normally costs two round trips:
 *
 *   1  read and claim, in message order: an order reads its customer (HMGET:
 *      exists? default terms?) when it has no inline customer with terms,
 *      and claims the order index with HSETNX (sk:{oM}:o2c order_id ->
 *      "customer_id\tCUR"); payments, credit notes and cancellations HGET
 *      the index, so a payment after its order in the same batch sees the
 *      order's claim (Redis runs a pipeline in order); PUB sources seen the
 *      first time read their last sequence number.
 *      Then, without Redis: unknown customers and terms that do not work for
 *      the ship date are rejected; so is a payment that found the claim of an
 *      order of the batch that was just rejected.
 *   1b only when needed: an order whose claim found an entry (resent or
 *      revised) reads it to compare customer and currency; an order rejected
 *      on what Redis said checks whether its event id was accepted before (a
 *      resend is a duplicate, not a rejection).
 *   2  write: HDEL of the claims of orders rejected in 1 / 1b, one accept
 *      script call per shard holding valid events (atomic on the customer's
 *      shard: seen check, XADD of the received bytes, customer profile), LPUSH
 *      of a JSON dead letter per rejected event, and the counters of earlier
 *      batches (HINCRBY sk:{sys}:ingest: another slot, so not in the script);
 *   then the Acks, then for PUB messages the sequence bookkeeping.
 *
 * Step 1 of an order must see every customer written before it, and the
 * claim of an earlier order with the same id must be settled. A batch is
 * therefore cut into segments before an order that reads a customer an
 * earlier message of the segment writes, and before a second order with the
 * same order id; each segment runs the steps on its own (rare: it costs round
 * trips only when it happens).
 *
 * Any Redis error on an event's command makes it FAILED: no Ack, the client
 * retries. If an accept call fails half way, the events it had already stored
 * are FAILED too and their retries are acknowledged as duplicates. A claim is
 * released only if its order was rejected before step 2; between step 1 and
 * step 2 another client's payment for that order id could see it (a window of
 * one round trip, for an order that is being rejected). */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "keys.h"
#include "sk_redis.h"

/* The accept script (DATAFLOW step 4), for every valid event of one shard in
 * a batch at once: one script call per shard and batch instead of one per
 * event, because the call itself costs more than the work inside it. Events
 * are handled in message order, each on its own: HSETNX marks the id seen
 * (0: a duplicate, nothing else happens), XADD stores the bytes; should XADD
 * fail, the id is unmarked before the error is returned, so an event is never
 * "seen" without being stored (Redis does not roll a script back).
 * KEYS: seen hash, events stream, then the customer hashes the events write.
 * ARGV: n, then per event: event id, envelope bytes, index in KEYS of its
 *       customer hash (0: none), number of field/value pairs, the pairs.
 * Returns one integer per event: 1 accepted, 0 duplicate. */
static const char s_accept_lua[] =
    "local out, i = {}, 2\n"
    "for e = 1, tonumber(ARGV[1]) do\n"
    "  local id, kidx, np = ARGV[i], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])\n"
    "  if redis.call('HSETNX', KEYS[1], id, '1') == 0 then\n"
    "    out[e] = 0\n"
    "  else\n"
    "    local r = redis.pcall('XADD', KEYS[2], '*', 'e', ARGV[i + 1])\n"
    "    if type(r) == 'table' and r.err then\n"
    "      redis.call('HDEL', KEYS[1], id)\n"
    "      return r\n"
    "    end\n"
    "    if kidx > 0 then\n"
    "      redis.call('HSET', KEYS[kidx], unpack(ARGV, i + 4, i + 3 + 2 * np))\n"
    "      redis.call('HSETNX', KEYS[kidx], 'statement', 'weekly')\n"
    "    end\n"
    "    out[e] = 1\n"
    "  end\n"
    "  i = i + 4 + 2 * np\n"
    "end\n"
    "return out\n";

int ingest_load_script(ingest_t *self)
{
    sk_err_t err;
    if (sk_redis_load_script(self->redis, s_accept_lua, self->accept_sha, &err)) {
        ingest_log("redis: cannot load the accept script: %s", err.msg);
        return -1;
    }
    self->need_script = false;
    return 0;
}

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static uint32_t s_fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* ---------------------------------------------------------------- items */

void ingest_item_init(ingest_item_t *it, int origin)
{
    memset(it, 0, sizeof *it);
    it->origin = origin;
    it->src = -1;
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

void ingest_item_decode(ingest_t *self, ingest_item_t *it)
{
    if (it->status != INGEST_PENDING)
        return; /* malformed frames: already rejected */
    Skonto__V1__Envelope *env = NULL;
    if (sk_event_decode(zmq_msg_data(&it->body), zmq_msg_size(&it->body), &env, &it->err))
        it->status = INGEST_REJECTED;
    it->env = env;
    it->kind = sk_event_kind(env);
    if (it->origin > 0 && env && env->sequence > 0)
        it->src = s_source_index(self, s_str(env->source));
    if (it->status != INGEST_PENDING)
        return;

    const char *cid = sk_event_customer_id(env);
    if (it->kind == SK_EVENT_CUSTOMER) {
        it->writes_customer = true;
        it->cust_hash = s_fnv(cid);
        it->shard = sk_shard_of(cid);
    } else if (it->kind == SK_EVENT_INVOICE) {
        const Skonto__V1__Invoice *inv = sk_event_invoice(env);
        bool has_inline = inv->customer != NULL;
        it->cust_hash = s_fnv(cid);
        it->order_hash = s_fnv(inv->order_id);
        it->shard = sk_shard_of(cid);
        it->writes_customer = has_inline;
        it->known_customer = has_inline;
        if (*s_str(inv->terms))
            it->terms = inv->terms;
        else if (has_inline && *s_str(inv->customer->terms))
            it->terms = inv->customer->terms;
        /* Only an order with its own customer and terms needs nothing from Redis. */
        it->need_customer = !(it->known_customer && it->terms);
        snprintf(it->o2c, sizeof it->o2c, "%s\t%s", cid, inv->currency);
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
    ingest_log("redis: %s for event %s: %s", what, it->env ? s_str(it->env->event_id) : "?",
               r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
        self->need_script = true;
}

/* ---------------------------------------------------------------- Redis plumbing */

static int s_append(ingest_t *self, int argc, const char **argv, const size_t *lens)
{
    if (redisAppendCommandArgv(self->redis, argc, argv, lens) != REDIS_OK) {
        ingest_log("redis: cannot queue a command: %s", self->redis->errstr);
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
        ingest_log("redis: connection lost: %s",
                   self->redis->errstr[0] ? self->redis->errstr : "no reply");
        return -1;
    }
    *out = r;
    return 0;
}

/* Counter deltas not yet written; appended in front of the next pipeline. */
typedef struct {
    int64_t v[3];
    int n;
} s_counters_t;

static int s_append_counters(ingest_t *self, s_counters_t *sent)
{
    static const char *const fields[3] = {"accepted", "duplicate", "rejected"};
    int64_t pend[3] = {self->pend_accepted, self->pend_duplicate, self->pend_rejected};
    sent->n = 0;
    for (int i = 0; i < 3; i++) {
        sent->v[i] = pend[i];
        if (!pend[i])
            continue;
        char num[24];
        snprintf(num, sizeof num, "%" PRId64, pend[i]);
        const char *argv[4] = {"HINCRBY", SK_KEY_INGEST_STATS, fields[i], num};
        if (s_appendv(self, 4, argv))
            return -1;
        sent->n++;
    }
    return 0;
}

static int s_read_counters(ingest_t *self, const s_counters_t *sent)
{
    bool ok = true;
    for (int i = 0; i < sent->n; i++) {
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        if (r->type != REDIS_REPLY_INTEGER) {
            ingest_log("redis: HINCRBY %s: %s", SK_KEY_INGEST_STATS,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            ok = false;
        }
        freeReplyObject(r);
    }
    if (ok) {
        self->pend_accepted -= sent->v[0];
        self->pend_duplicate -= sent->v[1];
        self->pend_rejected -= sent->v[2];
    }
    return 0;
}

/* ---------------------------------------------------------------- segments */

/* End of the segment that starts at `start`: before the first order that
 * must read a customer an earlier message of the segment writes, and before
 * the second order of the segment with the same order id (the first one's
 * claim on the order index must be settled before the second looks at it). */
static int s_segment_end(ingest_t *self, int start)
{
    /* Open-addressing set of the order ids claimed so far: hash -> item + 1. */
    uint16_t claims[2 * INGEST_BATCH];
    memset(claims, 0, sizeof claims);
    const uint32_t mask = 2 * INGEST_BATCH - 1;
    int writers = 0; /* customer writers seen so far in the segment: usually none */
    for (int i = start; i < self->nitems; i++) {
        const ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_PENDING)
            continue;
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

/* Splits an index value "customer_id\tCUR" in place; false if malformed. */
static bool s_split_o2c(char *v, const char **cust, const char **cur)
{
    char *tab = strchr(v, '\t');
    if (!tab || tab == v)
        return false;
    *tab = '\0';
    *cust = v;
    *cur = tab + 1;
    return true;
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
    if (r->type != REDIS_REPLY_STRING || r->len >= sizeof it->o2c) {
        s_fail(self, it, "HGET order index", r);
        return;
    }
    char stored[INGEST_O2C_MAX];
    const char *cust, *cur;
    memcpy(stored, r->str, r->len + 1);
    if (!s_split_o2c(stored, &cust, &cur)) {
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
                ingest_log("redis: HGET %s %s: %s", SK_KEY_SEQUENCES, src->name,
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
        /* A resent order that was accepted before is a duplicate, even if the
         * customer's terms have changed since: step 1b checks its id. */
        it->recheck_seen = it->status == INGEST_REJECTED;
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

/* Step 1b, only when needed (a resent or revised order, or a rejection that
 * may be a duplicate): read whose an already claimed order is, and whether
 * a rejected order's event id was accepted before. */
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
        } else if (it->recheck_seen) {
            const char *argv[3] = {"HEXISTS", sk_key_seen(key, it->shard), it->env->event_id};
            if (s_appendv(self, 3, argv))
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
        } else if (it->recheck_seen) {
            if (s_get(self, &r))
                return -1;
            if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
                it->status = INGEST_DUPLICATE;
            it->recheck_seen = false;
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
    size_t n = zmq_msg_size((zmq_msg_t *)&it->body);
    if (n > SK_EVENT_MAX_BYTES)
        n = SK_EVENT_MAX_BYTES;
    char *b64 = sk_base64(zmq_msg_data((zmq_msg_t *)&it->body), n);
    json_t *o = json_object();
    char *out = NULL;
    if (b64 && o && !json_object_set_new(o, "at_ms", json_integer(now)) &&
        !json_object_set_new(o, "event_id", json_string(eid)) &&
        !json_object_set_new(o, "source", json_string(src)) &&
        !json_object_set_new(o, "reason_code", json_string(it->err.code)) &&
        !json_object_set_new(o, "message", json_string(msg)) &&
        !json_object_set_new(o, "payload_b64", json_string(b64)) &&
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
    const char **argv = self->argv;
    size_t *lens = self->lens;
    int nkeys = 2, nev = 0;
    /* Keys first: seen, events, then one customer key per customer-writing event. */
    char kseen[SK_KEY_MAX], kevents[SK_KEY_MAX], nkeys_s[16], nev_s[16];
    int argc = 3; /* EVALSHA sha numkeys */
    argv[argc] = sk_key_seen(kseen, shard), lens[argc] = strlen(kseen), argc++;
    argv[argc] = sk_key_events(kevents, shard), lens[argc] = strlen(kevents), argc++;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        it->nrep = 0;
        if (it->status != INGEST_PENDING || it->shard != shard)
            continue;
        it->nrep = 1;
        nev++;
        const char *cid = NULL;
        if (it->kind == SK_EVENT_CUSTOMER)
            cid = it->env->customer->customer_id;
        else if (it->kind == SK_EVENT_INVOICE && sk_event_invoice(it->env)->customer)
            cid = sk_event_invoice(it->env)->customer_id; /* the inline one's is empty or equal */
        it->kidx = 0;
        if (cid) {
            sk_key_customer(it->ckey, shard, cid);
            argv[argc] = it->ckey, lens[argc] = strlen(it->ckey), argc++;
            it->kidx = ++nkeys;
        }
    }
    if (!nev)
        return 0;
    snprintf(nkeys_s, sizeof nkeys_s, "%d", nkeys);
    snprintf(nev_s, sizeof nev_s, "%d", nev);
    argv[0] = "EVALSHA", lens[0] = 7;
    argv[1] = self->accept_sha, lens[1] = 40;
    argv[2] = nkeys_s, lens[2] = strlen(nkeys_s);
#define S_ARG(s, n) (argv[argc] = (s), lens[argc] = (n), argc++)
#define S_STR(s) S_ARG((s), strlen(s))
    S_STR(nev_s);
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (!it->nrep)
            continue;
        S_STR(it->env->event_id);
        S_ARG(zmq_msg_data(&it->body), zmq_msg_size(&it->body));
        snprintf(it->num[0], sizeof it->num[0], "%d", it->kidx);
        S_STR(it->num[0]);
        int npairs_at = argc;
        S_STR("0");
        if (!it->kidx)
            continue;
        const Skonto__V1__CustomerUpsert *c =
            it->kind == SK_EVENT_CUSTOMER ? it->env->customer : sk_event_invoice(it->env)->customer;
        const char *stmt = s_statement_name((int)c->statement);
        const char *pairs[][2] = {{"name", s_str(c->name)},
                                  {"email", s_str(c->email)},
                                  {"tz", s_str(c->timezone)},
                                  {"locale", s_str(c->locale)},
                                  {"statement", stmt ? stmt : ""},
                                  {"terms", s_str(c->terms)},
                                  {"updated_ms", now}};
        int np = 0;
        /* An empty string means "not given": the stored value stays. */
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            if (!*pairs[k][1])
                continue;
            S_STR(pairs[k][0]);
            S_STR(pairs[k][1]);
            np++;
        }
        snprintf(it->num[1], sizeof it->num[1], "%d", np);
        argv[npairs_at] = it->num[1], lens[npairs_at] = strlen(it->num[1]);
    }
#undef S_ARG
#undef S_STR
    if (s_append(self, argc, argv, lens))
        return -1;
    return nev;
}

/* Step C: the accept scripts (one per shard), the dead letters, the counters. */
static int s_phase_write(ingest_t *self, int a, int b)
{
    if (self->need_script && ingest_load_script(self))
        return -1;
    int64_t now = ingest_now_ms();
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    s_counters_t sent;
    if (s_append_counters(self, &sent))
        return -1;
    /* Claims of orders rejected (or failed) before this step are released. */
    int released = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (!it->claimed || it->status == INGEST_PENDING)
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
    bool trim = false;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_REJECTED)
            continue;
        it->dlq = false;
        char *dl = s_dead_letter(it, now);
        if (!dl) {
            it->status = INGEST_FAILED;
            ingest_log("cannot build the dead letter of a rejected event (out of memory)");
            continue;
        }
        const char *argv[3] = {"LPUSH", SK_KEY_DEADLETTERS, dl};
        int rc = s_appendv(self, 3, argv);
        free(dl);
        if (rc)
            return -1;
        it->dlq = true;
        trim = true;
    }
    if (trim) {
        char last[24];
        snprintf(last, sizeof last, "%d", INGEST_DLQ_MAX - 1);
        const char *argv[4] = {"LTRIM", SK_KEY_DEADLETTERS, "0", last};
        if (s_appendv(self, 4, argv))
            return -1;
    }

    if (s_read_counters(self, &sent))
        return -1;
    for (int k = 0; k < released; k++) {
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        if (r->type != REDIS_REPLY_INTEGER)
            ingest_log("redis: HDEL of a rejected order's index entry: %s",
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
    }
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        if (!groups[sh])
            continue;
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)groups[sh];
        size_t e = 0;
        for (int i = a; i < b; i++) {
            ingest_item_t *it = &self->items[i];
            if (it->status != INGEST_PENDING || it->shard != sh)
                continue;
            const redisReply *v = ok ? r->element[e++] : NULL;
            if (v && v->type == REDIS_REPLY_INTEGER && (v->integer == 0 || v->integer == 1))
                it->status = v->integer ? INGEST_ACCEPTED : INGEST_DUPLICATE;
            else
                s_fail(self, it, "accept script", ok ? v : r);
        }
        freeReplyObject(r);
    }
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->status != INGEST_REJECTED || !it->dlq)
            continue;
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        if (r->type != REDIS_REPLY_INTEGER)
            s_fail(self, it, "LPUSH dead letter", r);
        freeReplyObject(r);
    }
    if (trim) {
        redisReply *r;
        if (s_get(self, &r))
            return -1;
        freeReplyObject(r);
    }
    return 0;
}

/* ---------------------------------------------------------------- outcome */

static void s_account(ingest_t *self, int a, int b)
{
    int failed = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        switch (it->status) {
        case INGEST_ACCEPTED:
            self->accepted++, self->pend_accepted++, self->processed++;
            break;
        case INGEST_DUPLICATE:
            self->duplicate++, self->pend_duplicate++, self->processed++;
            break;
        case INGEST_REJECTED: {
            self->rejected++, self->pend_rejected++, self->processed++;
            char eid[SK_EVENT_ID_MAX + 1] = "", src[SK_EVENT_ID_MAX + 1] = "";
            if (it->env) {
                sk_utf8_sanitize(eid, sizeof eid, s_str(it->env->event_id),
                                 strlen(s_str(it->env->event_id)));
                sk_utf8_sanitize(src, sizeof src, s_str(it->env->source),
                                 strlen(s_str(it->env->source)));
            }
            const char *user = s_user(it);
            if (it->env)
                ingest_log("rejected event %s (%s from %s via %s%s%s): %s: %s",
                           *eid ? eid : "\"\"", sk_event_kind_name(it->env), *src ? src : "?",
                           it->origin ? "SUB" : "ROUTER", *user ? " as " : "", user, it->err.code,
                           it->err.msg);
            else
                ingest_log("rejected a message via %s%s%s: %s: %s", it->origin ? "SUB" : "ROUTER",
                           *user ? " as " : "", user, it->err.code, it->err.msg);
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
            ingest_log("gap: source %s missing %" PRIu64 " event%s (%" PRIu64 "..%" PRIu64 ")",
                       src->name, missing, missing == 1 ? "" : "s", src->last + 1, seq - 1);
        } else if (seq <= src->last && it->status != INGEST_DUPLICATE) {
            ingest_log("sequence: source %s sent %" PRIu64 " after %" PRIu64
                       " (publisher restarted or reordered)",
                       src->name, seq, src->last);
        }
        if (seq > src->last) {
            src->last = seq;
            src->dirty = true;
        }
    }
    if (failed)
        ingest_log("%d event%s not recorded by Redis: no acknowledgement (the client retries)",
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
    if (it->status == INGEST_REJECTED) {
        ack.status = SKONTO__V1__ACK_STATUS__ACK_REJECTED;
        sk_utf8_sanitize(msg, sizeof msg, it->err.msg, strlen(it->err.msg));
        ack.reason_code = it->err.code;
        ack.message = msg;
    } else {
        ack.status = it->status == INGEST_ACCEPTED ? SKONTO__V1__ACK_STATUS__ACK_ACCEPTED
                                                   : SKONTO__V1__ACK_STATUS__ACK_DUPLICATE;
    }
    uint8_t buf[1024];
    size_t n = skonto__v1__ack__get_packed_size(&ack);
    if (n > sizeof buf) { /* cannot happen: every field is bounded above */
        self->errors++;
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
    if (rc < 0) {
        self->errors++;
        ingest_log("ack for %s not sent: %s", *eid ? eid : "an undecodable message",
                   zmq_strerror(zmq_errno()));
    }
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
                ingest_log("redis: sequence bookkeeping for %s: %s", s->name,
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
    return 0;
}

/* ---------------------------------------------------------------- heartbeat */

int ingest_heartbeat(ingest_t *self)
{
    json_t *o = json_object();
    char *hb = NULL;
    if (o && !json_object_set_new(o, "pid", json_integer((json_int_t)getpid())) &&
        !json_object_set_new(o, "role", json_string("ingest")) &&
        !json_object_set_new(o, "at_ms", json_integer(ingest_now_ms())) &&
        !json_object_set_new(o, "processed", json_integer((json_int_t)self->processed)) &&
        !json_object_set_new(o, "errors", json_integer((json_int_t)self->errors)) &&
        !json_object_set_new(o, "accepted", json_integer((json_int_t)self->accepted)) &&
        !json_object_set_new(o, "duplicate", json_integer((json_int_t)self->duplicate)) &&
        !json_object_set_new(o, "rejected", json_integer((json_int_t)self->rejected)))
        hb = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!hb) {
        ingest_log("heartbeat: out of memory");
        return 0;
    }
    s_counters_t sent;
    const char *argv[4] = {"HSET", SK_KEY_HEARTBEATS, self->name, hb};
    int rc = s_append_counters(self, &sent) || s_appendv(self, 4, argv);
    free(hb);
    if (rc || s_read_counters(self, &sent))
        return -1;
    redisReply *r;
    if (s_get(self, &r))
        return -1;
    if (r->type != REDIS_REPLY_INTEGER)
        ingest_log("redis: HSET %s: %s", SK_KEY_HEARTBEATS,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return 0;
}
