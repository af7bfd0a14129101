/* item — one received message on its way through a batch (see item.h). */
#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "item.h"

#include "sk_auth.h"
#include "invoice_rules.h"
#include "sk_log.h"
#include "sk_metrics.h"

#define S_BIT(s) (1u << (s))
#define S_VALID                                                                                    \
    (S_BIT(INGEST_RECEIVED) | S_BIT(INGEST_CLAIMING) | S_BIT(INGEST_CLAIMED) |                     \
     S_BIT(INGEST_CHECKING))
#define S_UNRECORDED (S_BIT(INGEST_FAILED) | S_BIT(INGEST_BUSY) | S_BIT(INGEST_UNSURE))

/* The transitions, written once: s_next[from] is the set of states it may go to. */
static const unsigned s_next[INGEST_NSTATES] = {
    [INGEST_RECEIVED] = S_BIT(INGEST_CLAIMING) | S_BIT(INGEST_REJECTED) | S_BIT(INGEST_FAILED),
    [INGEST_CLAIMING] =
        S_BIT(INGEST_CLAIMED) | S_BIT(INGEST_DUPLICATE) | S_BIT(INGEST_BUSY) | S_BIT(INGEST_FAILED),
    [INGEST_CLAIMED] = S_BIT(INGEST_CHECKING) | S_BIT(INGEST_ACCEPTED) | S_BIT(INGEST_UNCHANGED) |
                       S_BIT(INGEST_REJECTED) | S_BIT(INGEST_FAILED) | S_BIT(INGEST_UNSURE),
    [INGEST_CHECKING] = S_BIT(INGEST_CLAIMED) | S_BIT(INGEST_REJECTED) | S_BIT(INGEST_FAILED),
    /* a reply about an id known to be a duplicate can still be an error */
    [INGEST_DUPLICATE] = S_BIT(INGEST_FAILED),
    /* its dead letter could not be stored */
    [INGEST_REJECTED] = S_BIT(INGEST_FAILED),
};

void ingest_item_to(ingest_item_t *it, ingest_state_t to)
{
    if (!(s_next[it->state] & S_BIT(to))) {
        /* A programmer's mistake, never input: loud in a debug build, logged in a release one. */
        sk_log("bug: an item went from state %d to %d", (int)it->state, (int)to);
        assert(!"a transition outside the table");
    }
    if (to == INGEST_CLAIMED)
        it->holds |= INGEST_HOLDS_CLAIM;
    it->state = to;
}

bool ingest_item_valid(const ingest_item_t *it)
{
    return S_VALID & S_BIT(it->state);
}

bool ingest_item_duplicate(const ingest_item_t *it)
{
    return it->state == INGEST_DUPLICATE || it->state == INGEST_UNCHANGED;
}

bool ingest_item_unrecorded(const ingest_item_t *it)
{
    return S_UNRECORDED & S_BIT(it->state);
}

const char *ingest_str(const char *s)
{
    return s ? s : "";
}

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
        sk_event_free(it->env);
    it->env = NULL;
}

/* The content of an order version, hashed: a resend of the same version
 * with the same content changes nothing, other content is a conflict. The
 * fields are joined with a separator no valid field contains (validation
 * rejects control characters), so different contents cannot run together. */
/* Hashes parts (NULL counts as "") into 16 hex characters. The parts are
 * joined with a separator no valid field contains (validation rejects
 * control characters), so different contents cannot run together. */
static void s_hash(const char *const *parts, size_t n, char hex[17])
{
    crypto_generichash_state st;
    unsigned char out[8];
    crypto_generichash_init(&st, NULL, 0, sizeof out);
    for (size_t k = 0; k < n; k++) {
        const char *p = ingest_str(parts[k]);
        crypto_generichash_update(&st, (const unsigned char *)p, strlen(p));
        crypto_generichash_update(&st, (const unsigned char *)"\x1f", 1);
    }
    crypto_generichash_final(&st, out, sizeof out);
    sodium_bin2hex(hex, 17, out, sizeof out);
}

/* The content of an order version, hashed: a resend of the same version
 * with the same content changes nothing, other content is a conflict. */
static void s_content_hash(const Skonto__V1__Invoice *inv, char hex[17])
{
    char num[48];
    snprintf(num, sizeof num, "%" PRId64 "\x1f%" PRId64, inv->amount, inv->tax);
    const char *parts[] = {inv->customer_id, inv->salesperson,  inv->currency,      num,
                           inv->ship_date,   inv->invoice_date, inv->delivery_date, inv->terms};
    s_hash(parts, sizeof parts / sizeof parts[0], hex);
}

/* What an order's schedule comes from, hashed: a new version that changes
 * it changes the schedule (terms, ship / invoice / delivery dates, amount,
 * tax, currency; the inline customer's terms too, which apply when the
 * order has none). */
static void s_schedule_hash(const Skonto__V1__Invoice *inv, char hex[17])
{
    char num[48];
    snprintf(num, sizeof num, "%" PRId64 "\x1f%" PRId64, inv->amount, inv->tax);
    const char *parts[] = {inv->currency,      num,        inv->ship_date,
                           inv->invoice_date,  inv->delivery_date, inv->terms,
                           inv->customer ? inv->customer->terms : ""};
    s_hash(parts, sizeof parts / sizeof parts[0], hex);
}

void ingest_item_decode(ingest_item_t *it)
{
    if (it->state != INGEST_RECEIVED)
        return; /* malformed frames: already rejected */
    Skonto__V1__Envelope *env = NULL;
    size_t size = zmq_msg_size(&it->body);
    if (size > SK_EVENT_MAX_BYTES) {
        /* Decoded only to echo its event id; ZMQ_MAXMSGSIZE bounds the cost. */
        env = sk_event_unpack(zmq_msg_data(&it->body), size);
        ingest_item_to(it, INGEST_REJECTED);
        sk_err_set(&it->err, SK_REASON_TOO_LARGE,
                   "envelope of %zu bytes is over the %d-byte limit (SK_EVENT_MAX_BYTES)", size,
                   SK_EVENT_MAX_BYTES);
    } else if (sk_event_decode(zmq_msg_data(&it->body), size, &env, &it->err)) {
        ingest_item_to(it, INGEST_REJECTED);
    }
    it->env = env;
    it->kind = sk_event_kind(env);
    if (it->state != INGEST_RECEIVED)
        return;

    it->eid_shard = sk_shard_of(env->event_id);
    const char *cid = sk_event_customer_id(env);
    if (it->kind == SK_EVENT_CUSTOMER) {
        it->writes_customer = true;
        it->shard = sk_shard_of(cid);
    } else if (it->kind == SK_EVENT_INVOICE) {
        const Skonto__V1__Invoice *inv = sk_event_invoice(env);
        bool has_inline = inv->customer != NULL;
        it->shard = sk_shard_of(cid);
        it->writes_customer = has_inline;
        it->known_customer = has_inline;
        it->version = inv->version ? inv->version : 1;
        s_content_hash(inv, it->vhash);
        s_schedule_hash(inv, it->shash);
        it->terms = sk_terms_that_apply(inv->terms, has_inline ? inv->customer->terms : NULL,
                                        NULL, NULL);
        /* Only an order with its own customer and terms needs nothing from Redis. */
        it->need_customer = !(it->known_customer && it->terms);
        sk_order_index_format(it->o2c, sizeof it->o2c, cid, inv->currency); /* fits: validated */
    }
}

void ingest_item_reject(ingest_item_t *it, const char *code, const char *fmt, ...)
{
    ingest_item_to(it, INGEST_REJECTED);
    snprintf(it->err.code, sizeof it->err.code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->err.msg, sizeof it->err.msg, fmt, ap);
    va_end(ap);
}

static void s_fail(ingest_item_t *it, ingest_pipe_t *pipe, const char *what, const redisReply *r,
                   ingest_state_t to)
{
    if (!ingest_item_unrecorded(it))
        ingest_item_to(it, to);
    sk_log("redis: %s for event %s: %s", what, it->env ? ingest_str(it->env->event_id) : "?",
           r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    ingest_pipe_note(pipe, r);
}

void ingest_item_fail(ingest_item_t *it, ingest_pipe_t *pipe, const char *what, const redisReply *r)
{
    s_fail(it, pipe, what, r, INGEST_FAILED);
}

void ingest_item_unsure(ingest_item_t *it, ingest_pipe_t *pipe, const redisReply *r)
{
    s_fail(it, pipe, "accept script", r, INGEST_UNSURE);
}

void ingest_item_ids(const ingest_item_t *it, char *eid, size_t neid, char *src, size_t nsrc)
{
    *eid = '\0';
    if (src)
        *src = '\0';
    if (!it->env)
        return;
    const char *e = ingest_str(it->env->event_id), *s = ingest_str(it->env->source);
    sk_utf8_sanitize(eid, neid, e, strlen(e));
    if (src)
        sk_utf8_sanitize(src, nsrc, s, strlen(s));
}

const char *ingest_item_user(const ingest_item_t *it)
{
    if (it->origin != 0)
        return "";
    const char *u = zmq_msg_gets(&it->body, "User-Id");
    return u ? u : "";
}

bool ingest_item_may_reschedule(const ingest_item_t *it)
{
    if (it->origin != 0)
        return true; /* a PUB source: an ERP the operator configured */
    /* The ZAP handler sets Role on every CURVE connection (sk_auth.h);
     * without CURVE there are no roles. */
    const char *role = zmq_msg_gets(&it->body, "Role");
    return !role || sk_role_parse(role) == SK_ROLE_ERP;
}
