/* accept — the accept steps of a segment (see accept.h and accept.lua). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "keys.h"
#include "reply.h"
#include "sk_fmt.h"
#include "sk_log.h"

/* Interprets the stored index value of an order for item it. */
static void s_check_index(ingest_pipe_t *pipe, ingest_item_t *it, const redisReply *r)
{
    const char *oid = sk_event_order_id(it->env);
    if (r->type == REDIS_REPLY_NIL && it->kind != SK_EVENT_INVOICE) {
        ingest_item_reject(
            it, SK_REASON_UNKNOWN_ORDER,
            "order %s is unknown: its order_shipped or invoice_issued was not accepted", oid);
        return;
    }
    if (r->type != REDIS_REPLY_STRING) {
        ingest_item_fail(it, pipe, "HGET order index", r);
        return;
    }
    char cust[SK_EVENT_ID_MAX + 1], cur[4];
    if (sk_order_index_parse(r->str, r->len, cust, sizeof cust, cur)) {
        ingest_item_fail(it, pipe, "corrupt order index entry", NULL);
        return;
    }
    if (it->kind == SK_EVENT_INVOICE) {
        const Skonto__V1__Invoice *inv = sk_event_invoice(it->env);
        if (strcmp(cust, inv->customer_id) != 0)
            ingest_item_reject(it, SK_REASON_ORDER_CUSTOMER_MISMATCH,
                               "order %s belongs to customer %s, not %s", oid, cust,
                               inv->customer_id);
        else if (strcmp(cur, inv->currency) != 0)
            ingest_item_reject(it, SK_REASON_CURRENCY_MISMATCH,
                               "order %s is in %s; this version says %s", oid, cur, inv->currency);
        return;
    }
    it->shard = sk_shard_of(cust);
    /* A payment or credit note names its currency only to guard against an
     * amount scaled by the wrong power of ten: it must be the invoice's. */
    const char *pcur = it->kind == SK_EVENT_PAYMENT
                           ? ingest_str(it->env->payment_received->currency)
                       : it->kind == SK_EVENT_CREDIT ? ingest_str(it->env->credit_note->currency)
                                                     : "";
    if (*pcur && strcmp(pcur, cur) != 0)
        ingest_item_reject(it, SK_REASON_CURRENCY_MISMATCH, "%s in %s for order %s, which is in %s",
                           it->kind == SK_EVENT_PAYMENT ? "payment" : "credit note", pcur, oid,
                           cur);
}

static void s_read_customer(ingest_pipe_t *pipe, ingest_item_t *it, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        ingest_item_fail(it, pipe, "HMGET customer", r);
        return;
    }
    const redisReply *upd = r->element[0], *terms = r->element[1];
    if (upd->type == REDIS_REPLY_STRING)
        it->known_customer = it->stored_customer = true;
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
static int s_phase_read_claim(ingest_pipe_t *pipe, ingest_claims_t *claims,
                              ingest_sources_t *sources, ingest_item_t *items, int a, int b)
{
    if (ingest_pipe_ready(pipe))
        return -1;
    ingest_claims_begin(claims);
    int nclaims = ingest_claims_append(claims, pipe, items, a, b);
    if (nclaims < 0 || (nclaims && ingest_pipe_flush(pipe))) /* claimed while the rest is built */
        return -1;
    int queued = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        it->nrep = 0;
        if (it->state == INGEST_CLAIMING && it->kind != SK_EVENT_CUSTOMER) {
            const char *oid = sk_event_order_id(it->env);
            char okey[SK_KEY_MAX];
            sk_key_order_index(okey, oid);
            if (it->kind == SK_EVENT_INVOICE) {
                if (it->need_customer) {
                    char ckey[SK_KEY_MAX];
                    sk_key_customer(ckey, it->shard, sk_event_customer_id(it->env));
                    const char *argv[4] = {"HMGET", ckey, "updated_ms", "terms"};
                    if (ingest_pipe_appendv(pipe, 4, argv))
                        return -1;
                }
                const char *claim[4] = {"HSETNX", okey, oid, it->o2c};
                if (ingest_pipe_appendv(pipe, 4, claim))
                    return -1;
            } else {
                const char *get[3] = {"HGET", okey, oid};
                if (ingest_pipe_appendv(pipe, 3, get))
                    return -1;
            }
            it->nrep = 1;
            queued++;
        }
        if (ingest_sources_append_load(sources, pipe, it))
            return -1;
        queued += it->seq_load;
    }
    if (nclaims && ingest_claims_read(claims, pipe, items, a, b))
        return -1;
    if (!queued)
        return 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        redisReply *r;
        if (it->nrep && it->kind == SK_EVENT_INVOICE) {
            redisReply *cust = NULL;
            if (it->need_customer && ingest_pipe_get(pipe, &cust))
                return -1;
            if (ingest_pipe_get(pipe, &r)) {
                if (cust)
                    freeReplyObject(cust);
                return -1;
            }
            if (cust)
                s_read_customer(pipe, it, cust);
            if (r->type != REDIS_REPLY_INTEGER)
                ingest_item_fail(it, pipe, "HSETNX order index", r);
            else if (r->integer == 1)
                it->holds |= INGEST_HOLDS_INDEX; /* released again in step 2 if not stored */
            else if (it->state == INGEST_CLAIMED)
                ingest_item_to(it, INGEST_CHECKING); /* resent or revised: step 1b compares */
            if (cust)
                freeReplyObject(cust);
            freeReplyObject(r);
        } else if (it->nrep) {
            if (ingest_pipe_get(pipe, &r))
                return -1;
            if (it->state == INGEST_CLAIMED)
                s_check_index(pipe, it, r);
            freeReplyObject(r);
        }
        if (ingest_sources_read_load(sources, pipe, it))
            return -1;
    }
    return 0;
}

/* After step 1: is each order's customer known, and do its terms work? A
 * payment, credit note or cancellation that found the claim of an order of
 * this segment that is now rejected has no order after all. */
static void s_decide_customers(ingest_item_t *items, int a, int b)
{
    bool released = false;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        if (!ingest_item_valid(it) || it->kind != SK_EVENT_INVOICE)
            continue;
        const Skonto__V1__Invoice *inv = sk_event_invoice(it->env);
        if (!it->known_customer) {
            ingest_item_reject(
                it, SK_REASON_UNKNOWN_CUSTOMER,
                "customer %s is unknown: send the customer first or inline in the order",
                inv->customer_id);
        } else if (!it->terms) {
            ingest_item_reject(it, SK_REASON_BAD_TERMS,
                               "order %s has no terms and customer %s has no default terms",
                               inv->order_id, inv->customer_id);
        } else if (it->stored_terms) {
            char whose[SK_EVENT_ID_MAX + 32];
            snprintf(whose, sizeof whose, "customer %s's terms", inv->customer_id);
            if (sk_event_check_terms(it->terms, inv, whose, &it->err))
                ingest_item_to(it, INGEST_REJECTED);
        }
        released |= !ingest_item_valid(it) && (it->holds & INGEST_HOLDS_INDEX);
    }
    for (int i = a; released && i < b; i++) {
        const ingest_item_t *o = &items[i];
        if (o->kind != SK_EVENT_INVOICE || !(o->holds & INGEST_HOLDS_INDEX) || ingest_item_valid(o))
            continue;
        for (int j = i + 1; j < b; j++) {
            ingest_item_t *it = &items[j];
            if (ingest_item_valid(it) && it->kind != SK_EVENT_INVOICE &&
                it->kind != SK_EVENT_CUSTOMER &&
                !strcmp(sk_event_order_id(it->env), sk_event_order_id(o->env)))
                ingest_item_reject(
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
static int s_phase_confirm(ingest_pipe_t *pipe, ingest_item_t *items, int a, int b)
{
    int queued = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        char key[SK_KEY_MAX];
        if (it->state == INGEST_CHECKING) {
            const char *oid = sk_event_order_id(it->env);
            const char *get[3] = {"HGET", sk_key_order_index(key, oid), oid};
            if (ingest_pipe_appendv(pipe, 3, get))
                return -1;
            queued++;
        }
    }
    if (!queued)
        return 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        redisReply *r;
        if (it->state == INGEST_CHECKING) {
            if (ingest_pipe_get(pipe, &r))
                return -1;
            s_check_index(pipe, it, r);
            freeReplyObject(r);
            if (it->state == INGEST_CHECKING)
                ingest_item_to(it, INGEST_CLAIMED);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- step 2 */

/* The customer hash's `optout` (docs/REMINDERS.md): "1" opted out, "0" in. */
static const char *s_optout_value(int rm)
{
    switch (rm) {
    case SKONTO__V1__REMINDERS__REMINDERS_ON:
        return "0";
    case SKONTO__V1__REMINDERS__REMINDERS_OFF:
        return "1";
    default:
        return ""; /* unspecified: keep the stored setting (none stored: on) */
    }
}

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
static int s_append_accept(ingest_pipe_t *pipe, ingest_item_t *items, int a, int b, int shard,
                           const char *now, const char *record)
{
    ingest_cmd_t c = ingest_pipe_cmd(pipe);
    int nkeys = 4, nev = 0;
    /* Keys first: stored, events, versions, stats, then one customer key per
     * customer-writing event. */
    char kstored[SK_KEY_MAX], kevents[SK_KEY_MAX], kver[SK_KEY_MAX], kstats[SK_KEY_MAX];
    char nkeys_s[16], nev_s[16];
    ingest_cmd_args(&c, "EVALSHA");
    ingest_cmd_args(&c, ingest_pipe_sha(pipe, INGEST_SCRIPT_ACCEPT));
    ingest_cmd_args(&c, ""); /* numkeys, below */
    ingest_cmd_args(&c, sk_key_stored(kstored, shard));
    ingest_cmd_args(&c, sk_key_events(kevents, shard));
    ingest_cmd_args(&c, sk_key_order_versions(kver, shard));
    ingest_cmd_args(&c, sk_key_ingest_stats(kstats, shard));
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        if (it->state != INGEST_CLAIMED || it->shard != shard)
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
            ingest_cmd_args(&c, sk_key_customer(it->ckey, shard, cid));
            it->kidx = ++nkeys;
        }
    }
    if (!nev)
        return 0;
    snprintf(nkeys_s, sizeof nkeys_s, "%d", nkeys);
    snprintf(nev_s, sizeof nev_s, "%d", nev);
    c.argv[2] = nkeys_s, c.lens[2] = strlen(nkeys_s);
    ingest_cmd_args(&c, nev_s);
    ingest_cmd_args(&c, record);
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        if (!it->nrep || it->shard != shard)
            continue;
        bool order = it->kind == SK_EVENT_INVOICE;
        ingest_cmd_args(&c, it->env->event_id);
        ingest_cmd_arg(&c, zmq_msg_data(&it->body), zmq_msg_size(&it->body));
        const char *oid = sk_event_order_id(it->env);
        ingest_cmd_args(&c, oid ? oid : "");
        sk_fmt_i64(it->num[2], order ? it->version : 0);
        ingest_cmd_args(&c, it->num[2]);
        ingest_cmd_args(&c, order ? it->vhash : "");
        ingest_cmd_args(&c, order ? it->shash : "");
        ingest_cmd_args(&c, ingest_item_may_reschedule(it) ? "1" : "0");
        ingest_cmd_args(&c, ingest_item_user(it)); /* kept with the event (field u) */
        sk_fmt_i64(it->num[0], it->kidx);
        ingest_cmd_args(&c, it->num[0]);
        int npairs_at = c.argc;
        ingest_cmd_args(&c, "0");
        if (!it->kidx)
            continue;
        const Skonto__V1__CustomerUpsert *cu =
            it->kind == SK_EVENT_CUSTOMER ? it->env->customer : sk_event_invoice(it->env)->customer;
        const char *stmt = s_statement_name((int)cu->statement);
        const char *pairs[][2] = {{"name", ingest_str(cu->name)},
                                  {"email", ingest_str(cu->email)},
                                  {"tz", ingest_str(cu->timezone)},
                                  {"locale", ingest_str(cu->locale)},
                                  {"statement", stmt ? stmt : ""},
                                  {"terms", ingest_str(cu->terms)},
                                  {"optout", s_optout_value((int)cu->reminders)},
                                  {"updated_ms", now}};
        int np = 0;
        /* An empty string means "not given": the stored value stays. */
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            if (!*pairs[k][1])
                continue;
            ingest_cmd_args(&c, pairs[k][0]);
            ingest_cmd_args(&c, pairs[k][1]);
            np++;
        }
        sk_fmt_i64(it->num[1], np);
        c.argv[npairs_at] = it->num[1], c.lens[npairs_at] = strlen(it->num[1]);
    }
    if (ingest_pipe_append(pipe, &c))
        return -1;
    return nev;
}

/* Interprets one result of the accept script for item it. */
static void s_accept_result(ingest_pipe_t *pipe, ingest_item_t *it, const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_INTEGER) {
        ingest_item_fail(it, pipe, "accept script", v);
        return;
    }
    const char *oid = sk_event_order_id(it->env);
    if (v->integer == 1) {
        ingest_item_to(it, INGEST_ACCEPTED);
    } else if (v->integer == 2) {
        ingest_item_to(it, INGEST_UNCHANGED);
        snprintf(it->err.msg, sizeof it->err.msg,
                 "order %s version %" PRIu32
                 " was accepted before with the same content: nothing changed",
                 oid, it->version);
    } else if (v->integer == 3) {
        ingest_item_reject(it, SK_REASON_ERP_ONLY,
                           "order %s version %" PRIu32
                           " changes its terms, dates or amount: only an erp key may change a "
                           "schedule (this key is an operator's); to adjust a computed result, "
                           "use skontoctl override request",
                           oid, it->version);
    } else if (v->integer < 0) {
        long long accepted = -(v->integer + 1);
        ingest_item_reject(
            it, SK_REASON_STALE_VERSION,
            "order %s is at version %lld; version %" PRIu32
            " has other content and is not higher: send version %lld or higher to replace it",
            oid, accepted, it->version, accepted + 1);
    } else {
        ingest_item_fail(it, pipe, "accept script (unknown result)", v);
    }
}

/* Step 2: the order-index releases, the accept scripts (one per shard), the
 * dead letters; a second round trip only for orders the accept script found
 * stale (their dead letter must be stored before their Ack). */
static int s_phase_write(ingest_pipe_t *pipe, ingest_claims_t *claims, ingest_item_t *items, int a,
                         int b)
{
    if (ingest_pipe_ready(pipe))
        return -1;
    int64_t age = ingest_claims_age_ms(claims);
    for (int i = a; i < b; i++)
        items[i].nrep = 0;
    if (age > INGEST_LEASE_MS / 2) {
        /* Claims this old may be settled by another ingest's recovery any
         * moment: storing now could store an event twice. */
        sk_log("a batch took %" PRId64 " ms since its claims: not storing it (no Acks; "
               "the clients retry)",
               age);
        for (int i = a; i < b; i++)
            if (ingest_item_valid(&items[i]))
                ingest_item_to(&items[i], INGEST_FAILED);
    }
    int64_t now = sk_now_ms();
    char now_s[24], record[INGEST_PENDING_MAX];
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    ingest_claims_pending(claims, record, sizeof record); /* the stored records' field */
    /* Order-index entries this segment created for events that turned out
     * duplicates or rejections are released: a duplicate changes nothing.
     * Not for an event another ingest is storing (BUSY): it needs the entry. */
    int released = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        if (!(it->holds & INGEST_HOLDS_INDEX) || ingest_item_valid(it) || it->state == INGEST_BUSY)
            continue;
        char key[SK_KEY_MAX];
        const char *oid = sk_event_order_id(it->env);
        const char *argv[3] = {"HDEL", sk_key_order_index(key, oid), oid};
        if (ingest_pipe_appendv(pipe, 3, argv))
            return -1;
        released++;
    }
    int groups[SK_SHARDS];
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        groups[sh] = s_append_accept(pipe, items, a, b, sh, now_s, record);
        /* sent at once: Redis stores this shard's events while the next call is built */
        if (groups[sh] < 0 || (groups[sh] && ingest_pipe_flush(pipe)))
            return -1;
    }
    for (int i = a; i < b; i++)
        items[i].dlq = 0;
    int dlq = ingest_dlq_append(pipe, items, a, b, 1, now);
    if (dlq < 0)
        return -1;

    for (int k = 0; k < released; k++)
        if (ingest_pipe_read_int(pipe, "HDEL of a rejected order's index entry"))
            return -1;
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        if (!groups[sh])
            continue;
        redisReply *r;
        if (ingest_pipe_get(pipe, &r))
            return -1;
        /* An array says what happened to each event it covers (the ones
         * after an error were not looked at); anything else leaves every
         * event of the call unsure: stored or not, a resend finds out. */
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements <= (size_t)groups[sh];
        ingest_pipe_note(pipe, r);
        size_t e = 0;
        for (int i = a; i < b; i++) {
            ingest_item_t *it = &items[i];
            if (!it->nrep || it->shard != sh)
                continue;
            if (ok && e < r->elements)
                s_accept_result(pipe, it, r->element[e++]);
            else if (ok)
                ingest_item_fail(it, pipe, "accept script (not reached after an error)", NULL);
            else
                ingest_item_unsure(it, pipe, r);
        }
        freeReplyObject(r);
    }
    if (dlq && ingest_dlq_read(pipe, items, a, b, 1))
        return -1;
    /* Stale versions, found by the accept script: their dead letters now. */
    dlq = ingest_dlq_append(pipe, items, a, b, 2, now);
    if (dlq < 0 || (dlq && ingest_dlq_read(pipe, items, a, b, 2)))
        return -1;
    ingest_claims_finish(claims, items, a, b);
    return 0;
}
int ingest_accept(ingest_pipe_t *pipe, ingest_claims_t *claims, ingest_sources_t *sources,
                  ingest_item_t *items, int a, int b)
{
    if (s_phase_read_claim(pipe, claims, sources, items, a, b))
        return -1;
    s_decide_customers(items, a, b);
    return s_phase_confirm(pipe, items, a, b) || s_phase_write(pipe, claims, items, a, b) ? -1 : 0;
}
