/* audit — see audit.h. */
#include "audit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "event.h"
#include "invoice_store.h"
#include "keys.h"
#include "override_rules.h"
#include "sk_grow.h"
#include "sk_log.h"
#include "sk_redis.h"

#define S_WIRE_DEPTH 8
#define S_WARN_EVERY_MS 10000

/* ---------------------------------------------------------------- wire check */

static int s_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*at >= n)
            return -1;
        uint8_t b = p[(*at)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

static int s_wire(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth,
                  char *field, size_t fn)
{
    size_t at = 0;
    while (at < n) {
        uint64_t tag, v;
        if (s_varint(p, n, &at, &tag))
            return snprintf(field, fn, "%s", d->short_name), -1;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
        switch (tag & 7) {
        case 0:
            if (s_varint(p, n, &at, &v))
                return snprintf(field, fn, "%s", d->short_name), -1;
            break;
        case 1:
            at += 8;
            break;
        case 5:
            at += 4;
            break;
        case 2:
            if (s_varint(p, n, &at, &v) || v > n - at)
                return snprintf(field, fn, "%s", d->short_name), -1;
            if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p + at, '\0', v))
                return snprintf(field, fn, "%s", f->name), -1;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth >= S_WIRE_DEPTH ||
                    s_wire(f->descriptor, p + at, v, depth + 1, field, fn)) {
                    if (depth >= S_WIRE_DEPTH)
                        snprintf(field, fn, "%s", f->name);
                    return -1;
                }
            }
            at += v;
            break;
        default:
            return snprintf(field, fn, "%s", d->short_name), -1;
        }
        if (at > n)
            return snprintf(field, fn, "%s", d->short_name), -1;
    }
    return 0;
}

int audit_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                     char *field, size_t n)
{
    return s_wire(d, data, len, 0, field, n);
}

/* ---------------------------------------------------------------- small helpers */

/* The proto's Role for a registry role (the enums are numbered apart). */
static Skonto__V1__Role s_proto_role(sk_role_t r)
{
    switch (r) {
    case SK_ROLE_ERP:
        return SKONTO__V1__ROLE__ROLE_ERP;
    case SK_ROLE_OPERATOR:
        return SKONTO__V1__ROLE__ROLE_OPERATOR;
    case SK_ROLE_SALES:
        return SKONTO__V1__ROLE__ROLE_SALES;
    case SK_ROLE_SALES_DIRECTOR:
        return SKONTO__V1__ROLE__ROLE_SALES_DIRECTOR;
    case SK_ROLE_FINANCE_DIRECTOR:
        return SKONTO__V1__ROLE__ROLE_FINANCE_DIRECTOR;
    case SK_ROLE_AUDITOR:
        return SKONTO__V1__ROLE__ROLE_AUDITOR;
    default:
        return SKONTO__V1__ROLE__ROLE_UNSPECIFIED;
    }
}

static const char *s_status_name(Skonto__V1__OverrideRecord__Status s)
{
    static const char *const names[] = {"pending", "approved", "rejected",
                                        "expired", "applied",  "stale"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}

static bool s_set(const char *s)
{
    return s && *s;
}

/* Free text: at most AUDIT_TEXT_MAX bytes of UTF-8, no control character
 * (C0, DEL, C1). */
static int s_check_text(const char *field, const char *s, bool required, sk_err_t *err)
{
    size_t len = strlen(s);
    if (!len && required)
        return sk_err_set(err, "bad_request", "%s is empty", field);
    if (len > AUDIT_TEXT_MAX)
        return sk_err_set(err, "bad_request", "%s is %zu bytes long (at most %d)", field, len,
                          AUDIT_TEXT_MAX);
    if (!sk_utf8_valid(s, len))
        return sk_err_set(err, "bad_request", "%s is not valid UTF-8", field);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0))
            return sk_err_set(err, "bad_request", "%s contains a control character", field);
    }
    return 0;
}

static int s_check_id(const char *field, const char *s, sk_err_t *err)
{
    sk_err_t e;
    if (sk_event_check_id(field, s, strlen(s), true, &e))
        return sk_err_set(err, "bad_request", "%s", e.msg);
    return 0;
}

static int s_redis_fail(redisContext *c, redisReply *r, const char *what, sk_err_t *err)
{
    sk_err_set(err, "redis", "%s: %s", what,
               !r                             ? c->errstr
               : r->type == REDIS_REPLY_ERROR ? r->str
                                              : "unexpected reply");
    if (r)
        freeReplyObject(r);
    return -1;
}

/* The record of an override id: 0 and *rec (NULL when there is none), -1 on
 * a Redis failure. */
static int s_record_get(audit_t *a, const char *id, Skonto__V1__OverrideRecord **rec, sk_err_t *err)
{
    *rec = NULL;
    redisReply *r = redisCommand(a->c, "HGET %s %s", SK_KEY_AUDIT_OVERRIDES, id);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL))
        return s_redis_fail(a->c, r, "HGET " SK_KEY_AUDIT_OVERRIDES, err);
    if (r->type == REDIS_REPLY_STRING) {
        *rec = skonto__v1__override_record__unpack(NULL, r->len, (const uint8_t *)r->str);
        if (!*rec || !(*rec)->request)
            sk_log_error("override %s: its stored record does not decode", id);
        if (*rec && !(*rec)->request)
            skonto__v1__override_record__free_unpacked(*rec, NULL), *rec = NULL;
    }
    freeReplyObject(r);
    return 0;
}

/* A packed record (malloc'd). */
static uint8_t *s_record_pack(const Skonto__V1__OverrideRecord *rec, size_t *len)
{
    *len = skonto__v1__override_record__get_packed_size(rec);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b)
        skonto__v1__override_record__pack(rec, b);
    return b;
}

/* ---------------------------------------------------------------- a call */

typedef struct {
    audit_t *a;
    const char *user;
    sk_role_t role;
    const char *correlation;
    uint8_t **out;
    size_t *outlen;
    bool redis_failed;
} s_call_t;

static void s_reply(s_call_t *k, Skonto__V1__AuditReply *rep)
{
    rep->correlation = (char *)k->correlation;
    if (rep->log_size == 0)
        rep->log_size = audit_log_size(k->a->log);
    *k->outlen = skonto__v1__audit_reply__get_packed_size(rep);
    *k->out = malloc(*k->outlen ? *k->outlen : 1);
    if (*k->out)
        skonto__v1__audit_reply__pack(rep, *k->out);
    else
        *k->outlen = 0;
}

static void s_answer(s_call_t *k, Skonto__V1__AuditReply__Status st, const char *code,
                     const char *msg, Skonto__V1__OverrideRecord *rec, uint64_t entry_seq)
{
    Skonto__V1__AuditReply rep = SKONTO__V1__AUDIT_REPLY__INIT;
    rep.status = st;
    rep.code = (char *)code;
    rep.message = (char *)msg;
    Skonto__V1__OverrideRecord *recs[1] = {rec};
    if (rec)
        rep.overrides = recs, rep.n_overrides = 1;
    rep.entry_seq = entry_seq;
    s_reply(k, &rep);
}

static void s_bad_request(s_call_t *k, const char *msg)
{
    audit_metrics_bad_request(k->a->metrics);
    s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "bad_request", msg, NULL, 0);
}

/* Redis failed: the caller reconnects and reloads the log. */
static void s_unavailable(s_call_t *k, const sk_err_t *err)
{
    sk_log_error("%s", err->msg);
    k->redis_failed = true;
    k->a->errors++;
    s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "unavailable",
             "the audit log's store is unavailable: try again", NULL, 0);
}

/* An entry about the caller, with the body set by the caller. */
static void s_event_init(s_call_t *k, Skonto__V1__AuditEvent *ev, Skonto__V1__AuditKind kind,
                         const char *subject)
{
    skonto__v1__audit_event__init(ev);
    ev->at_ms = sk_clock_now(k->a->clock);
    ev->actor = (char *)(k->user ? k->user : "");
    ev->role = s_proto_role(k->role);
    ev->subject = (char *)(subject ? subject : "");
    ev->kind = kind;
}

/* Logs a RefusedAttempt; *seq its position. -1 on a Redis failure. */
static int s_log_refused(s_call_t *k, const char *attempted, const char *override_id,
                         const char *order_id, const char *code, const char *msg, char **forged,
                         size_t nforged, uint64_t *seq, sk_err_t *err)
{
    Skonto__V1__RefusedAttempt ra = SKONTO__V1__REFUSED_ATTEMPT__INIT;
    ra.user = (char *)(k->user ? k->user : "");
    ra.role = s_proto_role(k->role);
    ra.attempted = (char *)attempted;
    ra.override_id = (char *)(override_id ? override_id : "");
    ra.order_id = (char *)(order_id ? order_id : "");
    ra.reason_code = (char *)code;
    ra.message = (char *)msg;
    ra.forged_fields = forged, ra.n_forged_fields = nforged;
    Skonto__V1__AuditEvent ev;
    s_event_init(k, &ev, SKONTO__V1__AUDIT_KIND__AUDIT_KIND_REFUSED_ATTEMPT, order_id);
    ev.body_case = SKONTO__V1__AUDIT_EVENT__BODY_REFUSED;
    ev.refused = &ra;
    audit_ops_t ops = {0};
    if (audit_log_append(k->a->log, k->a->c, &ev, &ops, seq, err))
        return -1;
    k->a->refused++;
    audit_metrics_refused(k->a->metrics, code);
    sk_log_warn("refused %s by %s (%s)%s%s: %s %s", attempted, ra.user, sk_role_name(k->role),
                *ra.override_id ? " of " : "", ra.override_id, code, msg);
    return 0;
}

/* Refuses (logged): REFUSED code msg to the caller. */
static void s_refuse(s_call_t *k, const char *attempted, const char *override_id,
                     const char *order_id, const char *code, const char *msg)
{
    sk_err_t err;
    uint64_t seq = 0;
    if (s_log_refused(k, attempted, override_id, order_id, code, msg, NULL, 0, &seq, &err)) {
        s_unavailable(k, &err);
        return;
    }
    s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__REFUSED, code, msg, NULL, seq);
}

/* ---------------------------------------------------------------- request */

/* The names of the worker-set fields a client sent (at most 10). */
static size_t s_forged_request(const Skonto__V1__OverrideRequested *r, char **names)
{
    size_t n = 0;
#define S_F(cond, name)                                                                            \
    if (cond)                                                                                      \
    names[n++] = (char *)name
    S_F(s_set(r->override_id), "override_id");
    S_F(s_set(r->field), "field");
    S_F(s_set(r->old_value), "old_value");
    S_F(s_set(r->new_value), "new_value");
    S_F(s_set(r->requested_by), "requested_by");
    S_F(r->requested_at_ms != 0, "requested_at_ms");
    S_F(r->effect != 0, "effect");
    S_F(s_set(r->currency), "currency");
    S_F(r->requester_role != 0, "requester_role");
    S_F(r->expires_at_ms != 0, "expires_at_ms");
    return n;
}

static size_t s_forged_decision(const Skonto__V1__OverrideDecided *d, char **names)
{
    size_t n = 0;
    S_F(s_set(d->decided_by), "decided_by");
    S_F(d->role != 0, "role");
    S_F(d->decided_at_ms != 0, "decided_at_ms");
    S_F(s_set(d->refusal_code), "refusal_code");
    S_F(d->effect != 0, "effect");
    S_F(s_set(d->currency), "currency");
#undef S_F
    return n;
}

/* The client's change -> the rules' change; -1 and err (bad_request) when malformed. */
static int s_change(const Skonto__V1__OverrideChange *ch, sk_override_change_t *c, sk_err_t *err)
{
    memset(c, 0, sizeof *c);
    if (!ch)
        return sk_err_set(err, "bad_request", "change is missing");
    if (ch->kind < SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND ||
        ch->kind > SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_WAIVE)
        return sk_err_set(err, "bad_request", "change.kind: want extend, grant, rate or waive");
    c->kind = (sk_override_kind_t)ch->kind; /* the enums share their numbers */
    if (ch->tier >= SK_TERMS_MAX_TIERS)
        return sk_err_set(err, "bad_request", "change.tier %u: the invoice has at most %d tiers",
                          ch->tier, SK_TERMS_MAX_TIERS);
    if (ch->payment >= SK_INVOICE_MAX_PAYMENTS)
        return sk_err_set(err, "bad_request", "change.payment %u: at most %d payments", ch->payment,
                          SK_INVOICE_MAX_PAYMENTS);
    c->tier = (int)ch->tier;
    c->payment = (int)ch->payment;
    c->new_rate_ppm = ch->new_rate_ppm;
    c->new_last_day = SK_DAY_INVALID;
    if (c->kind == SK_OVERRIDE_EXTEND) {
        if (strlen(ch->new_last_day) != 10 ||
            sk_date_parse(ch->new_last_day, &c->new_last_day, NULL))
            return sk_err_set(err, "bad_request", "change.new_last_day: want YYYY-MM-DD");
    }
    return 0;
}

static void s_request(s_call_t *k, const Skonto__V1__OverrideRequested *in)
{
    audit_t *a = k->a;
    sk_err_t err;
    sk_override_change_t change;
    if (s_check_id("order_id", in->order_id, &err) ||
        s_check_id("request_id", in->request_id, &err) ||
        s_check_text("reason", in->reason, true, &err) || s_change(in->change, &change, &err)) {
        s_bad_request(k, err.msg);
        return;
    }
    uint64_t seq;
    char *forged[12];
    size_t nforged = s_forged_request(in, forged);
    if (k->role != SK_ROLE_SALES) {
        char msg[160];
        snprintf(msg, sizeof msg, "only a salesperson may request an override; %s is %s", k->user,
                 sk_role_name(k->role));
        if (s_log_refused(k, "request", NULL, in->order_id, "wrong_role", msg, forged, nforged,
                          &seq, &err))
            return s_unavailable(k, &err);
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__REFUSED, "wrong_role", msg, NULL, seq);
        return;
    }
    if (nforged && s_log_refused(k, "request", NULL, in->order_id, "forged_field",
                                 "the request carried fields only the audit worker sets: ignored",
                                 forged, nforged, &seq, &err))
        return s_unavailable(k, &err);

    /* a repeat returns the first request */
    char idem[2 * SK_ID_MAX + 4];
    snprintf(idem, sizeof idem, "%s\t%s", k->user, in->request_id);
    redisReply *r = redisCommand(a->c, "HGET %s %s", SK_KEY_AUDIT_REQUEST_IDS, idem);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        s_redis_fail(a->c, r, "HGET " SK_KEY_AUDIT_REQUEST_IDS, &err);
        return s_unavailable(k, &err);
    }
    if (r->type == REDIS_REPLY_STRING) {
        char first[64];
        snprintf(first, sizeof first, "%.*s", (int)r->len, r->str);
        freeReplyObject(r);
        Skonto__V1__OverrideRecord *rec;
        if (s_record_get(a, first, &rec, &err))
            return s_unavailable(k, &err);
        if (!rec) {
            s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "internal",
                     "the first request of this request_id cannot be read", NULL, 0);
            return;
        }
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__OK, "", "a repeat: the first request", rec,
                 rec->request_seq);
        skonto__v1__override_record__free_unpacked(rec, NULL);
        return;
    }
    freeReplyObject(r);

    sk_invoice_t *inv = malloc(sizeof *inv);
    sk_override_result_t *res = malloc(sizeof *res);
    if (!inv || !res) {
        free(inv), free(res);
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "internal", "out of memory", NULL, 0);
        return;
    }
    char msg[256];
    if (sk_invoice_fetch(a->c, in->order_id, inv, &err)) {
        if (!strcmp(err.code, "redis"))
            s_unavailable(k, &err);
        else
            s_refuse(k, "request", NULL, in->order_id, err.code, err.msg);
        goto out;
    }
    if (in->invoice_revision != inv->rev) {
        snprintf(msg, sizeof msg,
                 "the invoice of %s is at revision %" PRId64 ", not %" PRId64
                 ": look at it again (skontoctl order show)",
                 in->order_id, inv->rev, in->invoice_revision);
        s_refuse(k, "request", NULL, in->order_id, "stale", msg);
        goto out;
    }
    if (sk_override_apply(inv, &change, sk_clock_today(a->clock), res, &err)) {
        s_refuse(k, "request", NULL, in->order_id, err.code, err.msg);
        goto out;
    }
    r = redisCommand(a->c, "INCR %s", SK_KEY_AUDIT_NEXT_ID);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        s_redis_fail(a->c, r, "INCR " SK_KEY_AUDIT_NEXT_ID, &err);
        s_unavailable(k, &err);
        goto out;
    }
    char id[32], expires[24];
    snprintf(id, sizeof id, "OV-%lld", r->integer);
    freeReplyObject(r);

    int64_t now = sk_clock_now(a->clock);
    Skonto__V1__OverrideChange ch = *in->change;
    ch.base.n_unknown_fields = 0, ch.base.unknown_fields = NULL; /* never re-pack those */
    Skonto__V1__OverrideRequested req = SKONTO__V1__OVERRIDE_REQUESTED__INIT;
    req.override_id = id;
    req.order_id = in->order_id;
    req.old_value = res->old_value;
    req.new_value = res->new_value;
    req.reason = in->reason;
    req.requested_by = (char *)k->user;
    req.requested_at_ms = now;
    req.request_id = in->request_id;
    req.invoice_revision = inv->rev;
    req.change = &ch;
    req.effect = res->effect;
    req.currency = (char *)inv->schedule.currency->code;
    req.requester_role = s_proto_role(k->role);
    req.expires_at_ms = now + a->settings->ttl_ms;
    Skonto__V1__OverrideRecord rec = SKONTO__V1__OVERRIDE_RECORD__INIT;
    rec.request = &req;
    rec.status = SKONTO__V1__OVERRIDE_RECORD__STATUS__PENDING;
    rec.request_seq = audit_log_size(a->log);
    rec.customer_id = inv->customer_id;
    rec.salesperson = inv->salesperson;
    size_t rlen;
    uint8_t *rbytes = s_record_pack(&rec, &rlen);
    if (!rbytes) {
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "internal", "out of memory", NULL, 0);
        goto out;
    }
    snprintf(expires, sizeof expires, "%" PRId64, req.expires_at_ms);
    Skonto__V1__AuditEvent ev;
    s_event_init(k, &ev, SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_REQUESTED, in->order_id);
    ev.body_case = SKONTO__V1__AUDIT_EVENT__BODY_REQUESTED;
    ev.requested = &req;
    audit_ops_t ops = {0};
    audit_ops_add(&ops, "hset", SK_KEY_AUDIT_OVERRIDES, id, SIZE_MAX, rbytes, rlen);
    audit_ops_add(&ops, "hset", SK_KEY_AUDIT_REQUEST_IDS, idem, SIZE_MAX, id, SIZE_MAX);
    audit_ops_add(&ops, "zadd", SK_KEY_AUDIT_PENDING, expires, SIZE_MAX, id, SIZE_MAX);
    if (audit_log_append(a->log, a->c, &ev, &ops, &seq, &err)) {
        s_unavailable(k, &err);
    } else {
        a->requests++;
        sk_log("%s requested %s on %s (%s %s -> %s, effect %" PRId64 " %s minor units)", k->user,
               id, in->order_id, sk_override_kind_name(change.kind), res->old_value, res->new_value,
               res->effect, req.currency);
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__OK, "", "requested", &rec, seq);
    }
    free(rbytes);
out:
    free(inv);
    free(res);
}

/* ---------------------------------------------------------------- decide */

static void s_decide(s_call_t *k, const Skonto__V1__OverrideDecided *in)
{
    audit_t *a = k->a;
    sk_err_t err;
    if (s_check_id("override_id", in->override_id, &err) ||
        s_check_text("comment", in->comment, false, &err)) {
        s_bad_request(k, err.msg);
        return;
    }
    const char *attempted = in->approved ? "approve" : "reject";
    uint64_t seq;
    char *forged[8];
    size_t nforged = s_forged_decision(in, forged);
    Skonto__V1__OverrideRecord *rec;
    if (s_record_get(a, in->override_id, &rec, &err))
        return s_unavailable(k, &err);
    if (!rec) {
        char msg[128];
        snprintf(msg, sizeof msg, "no override %s", in->override_id);
        s_bad_request(k, msg);
        return;
    }
    const Skonto__V1__OverrideRequested *req = rec->request;
    if (nforged && s_log_refused(k, attempted, in->override_id, req->order_id, "forged_field",
                                 "the decision carried fields only the audit worker sets: ignored",
                                 forged, nforged, &seq, &err)) {
        skonto__v1__override_record__free_unpacked(rec, NULL);
        return s_unavailable(k, &err);
    }
    sk_invoice_t *inv = malloc(sizeof *inv);
    sk_override_result_t *res = malloc(sizeof *res);
    char msg[256] = "", code[32] = "";
    int64_t effect = req->effect, now = sk_clock_now(a->clock), current_rev = -1;
    const char *currency = req->currency;
    if (!inv || !res) {
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "internal", "out of memory", NULL, 0);
        goto out;
    }
    if (sk_invoice_fetch(a->c, req->order_id, inv, &err)) {
        if (!strcmp(err.code, "redis")) {
            s_unavailable(k, &err);
            goto out;
        }
        /* the invoice is gone: nothing to approve against (stale), a rejection stands */
    } else {
        current_rev = inv->rev;
    }
    sk_override_change_t change;
    const char *apply_code = NULL;
    if (in->approved && current_rev == req->invoice_revision &&
        !s_change(req->change, &change, &err)) {
        /* the effect at decision time (EXTEND and RATE depend on today) */
        if (sk_override_apply(inv, &change, sk_clock_today(a->clock), res, &err)) {
            apply_code = err.code[0] ? err.code : "bad_request";
            snprintf(msg, sizeof msg, "%s", err.msg);
        } else {
            effect = res->effect;
        }
    }
    sk_override_request_t rq = {req->requested_by, req->requested_at_ms, req->invoice_revision,
                                effect, currency};
    sk_override_decider_t by = {k->user, sk_override_role_parse(sk_role_name(k->role)),
                                in->approved};
    char why[160] = "";
    sk_decision_t d = sk_override_decide(&rq, &by, current_rev, now, a->settings->ttl_ms,
                                         &a->settings->finance_above, why, sizeof why);
    /* Who may not decide at all hears that first; a decided or applied
     * record then says so (an expired one is refused by the rules: expired). */
    bool role_refusal = d == SK_DECISION_BAD_REQUEST || d == SK_DECISION_NOT_A_DIRECTOR ||
                        d == SK_DECISION_SELF_APPROVAL;
    bool settled = rec->status != SKONTO__V1__OVERRIDE_RECORD__STATUS__PENDING &&
                   rec->status != SKONTO__V1__OVERRIDE_RECORD__STATUS__EXPIRED;
    if (settled && !role_refusal) {
        snprintf(code, sizeof code, "bad_request");
        snprintf(msg, sizeof msg, "%s is already %s", in->override_id, s_status_name(rec->status));
    } else if (d != SK_DECISION_ALLOWED) {
        snprintf(code, sizeof code, "%s", sk_decision_name(d));
        snprintf(msg, sizeof msg, "%s", why);
    } else if (in->approved && in->invoice_revision != 0 && in->invoice_revision != current_rev) {
        snprintf(code, sizeof code, "stale");
        snprintf(msg, sizeof msg, "the invoice is at revision %" PRId64 ", you looked at %" PRId64,
                 current_rev, in->invoice_revision);
    } else if (apply_code) {
        snprintf(code, sizeof code, "%s", apply_code);
    } else if (rec->status != SKONTO__V1__OVERRIDE_RECORD__STATUS__PENDING) {
        snprintf(code, sizeof code, "bad_request");
        snprintf(msg, sizeof msg, "%s is already %s", in->override_id, s_status_name(rec->status));
    }

    Skonto__V1__OverrideDecided dec = SKONTO__V1__OVERRIDE_DECIDED__INIT;
    dec.override_id = in->override_id;
    dec.approved = in->approved;
    dec.decided_by = (char *)k->user;
    dec.role = s_proto_role(k->role);
    dec.comment = in->comment;
    dec.decided_at_ms = now;
    dec.invoice_revision = current_rev < 0 ? 0 : current_rev;
    dec.refusal_code = code;
    dec.effect = effect;
    dec.currency = (char *)currency;
    Skonto__V1__AuditEvent ev;
    s_event_init(k, &ev, SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_DECIDED, req->order_id);
    ev.body_case = SKONTO__V1__AUDIT_EVENT__BODY_DECIDED;
    ev.decided = &dec;

    Skonto__V1__OverrideDecided *old_decision = rec->decision;
    Skonto__V1__OverrideRecord__Status old_status = rec->status;
    uint64_t old_seq = rec->decision_seq;
    uint64_t pos = audit_log_size(a->log);
    Skonto__V1__OverrideOrder order = SKONTO__V1__OVERRIDE_ORDER__INIT;
    uint8_t *obytes = NULL;
    size_t olen = 0;
    char qkey[SK_KEY_MAX];
    if (*code) {
        rec->refused_decisions++;
    } else {
        rec->status = in->approved ? SKONTO__V1__OVERRIDE_RECORD__STATUS__APPROVED
                                   : SKONTO__V1__OVERRIDE_RECORD__STATUS__REJECTED;
        rec->decision = &dec;
        rec->decision_seq = pos;
    }
    size_t rlen;
    uint8_t *rbytes = s_record_pack(rec, &rlen);
    audit_ops_t ops = {0};
    if (rbytes)
        audit_ops_add(&ops, "hset", SK_KEY_AUDIT_OVERRIDES, in->override_id, SIZE_MAX, rbytes,
                      rlen);
    if (!*code) {
        audit_ops_add(&ops, "zrem", SK_KEY_AUDIT_PENDING, in->override_id, SIZE_MAX, "", 0);
        if (in->approved) {
            order.override_id = in->override_id;
            order.order_id = req->order_id;
            order.customer_id = rec->customer_id;
            order.invoice_revision = req->invoice_revision;
            order.change = req->change;
            order.requested_by = req->requested_by;
            order.approved_by = (char *)k->user;
            order.approved_at_ms = now;
            order.effect = effect;
            order.currency = (char *)currency;
            olen = skonto__v1__override_order__get_packed_size(&order);
            obytes = malloc(olen ? olen : 1);
            if (obytes)
                skonto__v1__override_order__pack(&order, obytes);
            sk_key_override_queue(qkey, sk_shard_of(rec->customer_id));
            if (obytes)
                audit_ops_add(&ops, "xadd", qkey, "o", 1, obytes, olen);
        }
    }
    if (!rbytes || (!*code && in->approved && !obytes)) {
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "internal", "out of memory", NULL, 0);
    } else if (audit_log_append(a->log, a->c, &ev, &ops, &seq, &err)) {
        s_unavailable(k, &err);
    } else if (*code) {
        a->refused++;
        audit_metrics_refused(a->metrics, code);
        sk_log_warn("refused %s of %s by %s (%s): %s %s", attempted, in->override_id, k->user,
                    sk_role_name(k->role), code, msg);
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__REFUSED, code, msg, rec, seq);
    } else {
        sk_log("%s %s %s (effect %" PRId64 " %s minor units)", k->user,
               in->approved ? "approved" : "rejected", in->override_id, effect, currency);
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__OK, "", in->approved ? "approved" : "rejected",
                 rec, seq);
    }
    free(rbytes);
    free(obytes);
    /* the record points at this frame's decision: give it back its own before freeing */
    rec->decision = old_decision;
    rec->status = old_status;
    rec->decision_seq = old_seq;
out:
    free(inv);
    free(res);
    skonto__v1__override_record__free_unpacked(rec, NULL);
}

/* ---------------------------------------------------------------- list, show */

static int s_newest_first(const void *x, const void *y)
{
    const Skonto__V1__OverrideRecord *a = *(Skonto__V1__OverrideRecord *const *)x,
                                     *b = *(Skonto__V1__OverrideRecord *const *)y;
    if (a->request_seq != b->request_seq)
        return a->request_seq > b->request_seq ? -1 : 1;
    return 0;
}

static void s_list(s_call_t *k, const Skonto__V1__OverrideQuery *q)
{
    sk_err_t err;
    if ((s_set(q->order_id) && s_check_id("list.order_id", q->order_id, &err))) {
        s_bad_request(k, err.msg);
        return;
    }
    int want_status = -1;
    if (s_set(q->status)) {
        for (int s = 0; s <= SKONTO__V1__OVERRIDE_RECORD__STATUS__STALE; s++)
            if (!strcmp(q->status, s_status_name(s)))
                want_status = s;
        if (want_status < 0) {
            s_bad_request(k, "list.status: want pending, approved, rejected, expired, applied "
                             "or stale");
            return;
        }
    }
    unsigned limit = q->limit == 0 ? AUDIT_LIST_DEFAULT : q->limit;
    if (limit > AUDIT_LIST_MAX)
        limit = AUDIT_LIST_MAX;
    Skonto__V1__OverrideRecord **all = NULL;
    size_t n = 0, cap = 0;
    char cursor[32] = "0";
    do {
        redisReply *r =
            redisCommand(k->a->c, "HSCAN %s %s COUNT 500", SK_KEY_AUDIT_OVERRIDES, cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            s_redis_fail(k->a->c, r, "HSCAN " SK_KEY_AUDIT_OVERRIDES, &err);
            s_unavailable(k, &err);
            goto out;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *kv = r->element[1];
        for (size_t i = 1; i < kv->elements; i += 2) {
            const redisReply *v = kv->element[i];
            if (v->type != REDIS_REPLY_STRING)
                continue;
            Skonto__V1__OverrideRecord *rec =
                skonto__v1__override_record__unpack(NULL, v->len, (const uint8_t *)v->str);
            if (!rec || !rec->request || (want_status >= 0 && (int)rec->status != want_status) ||
                (s_set(q->order_id) && strcmp(q->order_id, rec->request->order_id))) {
                if (rec)
                    skonto__v1__override_record__free_unpacked(rec, NULL);
                continue;
            }
            Skonto__V1__OverrideRecord **p = sk_grow(all, n, &cap, sizeof *p, 64);
            if (!p) {
                skonto__v1__override_record__free_unpacked(rec, NULL);
                continue;
            }
            all = p;
            all[n++] = rec;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    if (n)
        qsort(all, n, sizeof *all, s_newest_first);
    Skonto__V1__AuditReply rep = SKONTO__V1__AUDIT_REPLY__INIT;
    rep.status = SKONTO__V1__AUDIT_REPLY__STATUS__OK;
    rep.overrides = all;
    rep.n_overrides = n < limit ? n : limit;
    s_reply(k, &rep);
out:
    for (size_t i = 0; i < n; i++)
        skonto__v1__override_record__free_unpacked(all[i], NULL);
    free(all);
}

static void s_show(s_call_t *k, const char *id)
{
    sk_err_t err;
    if (s_check_id("show", id, &err)) {
        s_bad_request(k, err.msg);
        return;
    }
    Skonto__V1__OverrideRecord *rec;
    if (s_record_get(k->a, id, &rec, &err))
        return s_unavailable(k, &err);
    if (!rec) {
        char msg[128];
        snprintf(msg, sizeof msg, "no override %s", id);
        s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__ERROR, "not_found", msg, NULL, 0);
        return;
    }
    s_answer(k, SKONTO__V1__AUDIT_REPLY__STATUS__OK, "", "", rec, 0);
    skonto__v1__override_record__free_unpacked(rec, NULL);
}

static void s_snapshot(s_call_t *k, const Skonto__V1__FeedSnapshotRequest *q)
{
    if (k->role != SK_ROLE_AUDITOR) {
        s_refuse(k, "snapshot", NULL, NULL, "wrong_role", "only an auditor reads the log's feed");
        return;
    }
    sk_err_t err;
    Skonto__V1__AuditReply rep = SKONTO__V1__AUDIT_REPLY__INIT;
    rep.status = SKONTO__V1__AUDIT_REPLY__STATUS__OK;
    rep.log_size = audit_log_size(k->a->log);
    rep.checkpoint = (char *)audit_log_checkpoint_note(k->a->log);
    if (audit_log_snapshot(k->a->log, k->a->c, q->from_seq, q->max, &rep, &err)) {
        audit_log_snapshot_free(&rep);
        return s_unavailable(k, &err);
    }
    s_reply(k, &rep);
    audit_log_snapshot_free(&rep);
}

/* ---------------------------------------------------------------- one request */

int audit_handle(audit_t *a, const char *user, const char *role, const void *data, size_t len,
                 uint8_t **out, size_t *outlen)
{
    sk_role_t r = role ? sk_role_parse(role) : SK_ROLE_NONE;
    s_call_t k = {a, user ? user : "", r, "", out, outlen, false};
    *out = NULL, *outlen = 0;
    Skonto__V1__AuditRequest *rq = skonto__v1__audit_request__unpack(NULL, len, data);
    char field[64] = "", msg[160];
    if (!rq) {
        s_bad_request(&k, "not an AuditRequest");
        return 0;
    }
    audit_wire_check(&skonto__v1__audit_request__descriptor, data, len, field, sizeof field);
    /* echoed unless it is what is wrong */
    if (strlen(rq->correlation) <= AUDIT_CORRELATION_MAX && strcmp(field, "correlation"))
        k.correlation = rq->correlation;
    if (!user || r == SK_ROLE_NONE) {
        /* ZAP admits only registered keys and names their role: never here */
        s_answer(&k, SKONTO__V1__AUDIT_REPLY__STATUS__REFUSED, "unknown_key",
                 "this connection carries no registered user and role", NULL, 0);
    } else if (*field) {
        snprintf(msg, sizeof msg, "%s contains a NUL byte", field);
        s_bad_request(&k, msg);
    } else if (strlen(rq->correlation) > AUDIT_CORRELATION_MAX) {
        snprintf(msg, sizeof msg, "correlation is longer than %d bytes", AUDIT_CORRELATION_MAX);
        s_bad_request(&k, msg);
    } else {
        switch (rq->body_case) {
        case SKONTO__V1__AUDIT_REQUEST__BODY_REQUEST:
            s_request(&k, rq->request);
            break;
        case SKONTO__V1__AUDIT_REQUEST__BODY_DECIDE:
            s_decide(&k, rq->decide);
            break;
        case SKONTO__V1__AUDIT_REQUEST__BODY_LIST:
            s_list(&k, rq->list);
            break;
        case SKONTO__V1__AUDIT_REQUEST__BODY_SHOW:
            s_show(&k, rq->show);
            break;
        case SKONTO__V1__AUDIT_REQUEST__BODY_SNAPSHOT:
            s_snapshot(&k, rq->snapshot);
            break;
        default:
            s_bad_request(&k,
                          "the request names no action (request, decide, list, show, snapshot)");
        }
    }
    skonto__v1__audit_request__free_unpacked(rq, NULL);
    return k.redis_failed ? -1 : 0;
}

/* ---------------------------------------------------------------- unknown keys */

int audit_unknown_key(audit_t *a, const uint8_t key[32], const char *addr, int64_t now_ms)
{
    audit_unknown_verdict_t v;
    if (!audit_unknown_attempt(a->unknown, key, now_ms, &v)) {
        audit_metrics_unknown_unlogged(a->metrics, 1);
        return 0;
    }
    char z85[SK_AUTH_Z85_LEN + 1], msg[512];
    zmq_z85_encode(z85, key, 32);
    audit_unknown_message(msg, sizeof msg, z85, addr, &v);
    /* no user, no role: the key is nobody's */
    s_call_t k = {a, "", SK_ROLE_NONE, "", NULL, NULL, false};
    sk_err_t err;
    uint64_t seq = 0;
    int rc = s_log_refused(&k, "connect", NULL, NULL, "unknown_key", msg, NULL, 0, &seq, &err);
    audit_unknown_logged(a->unknown, key, now_ms, rc == 0, seq);
    if (rc) {
        audit_metrics_unknown_unlogged(a->metrics, 1);
        sk_log_error("unknown key: %s", err.msg);
    }
    return rc;
}

/* ---------------------------------------------------------------- expiry */

int audit_expire(audit_t *a)
{
    sk_err_t err;
    int64_t now = sk_clock_now(a->clock);
    redisReply *r = redisCommand(a->c, "ZRANGEBYSCORE %s -inf (%" PRId64 " LIMIT 0 %d",
                                 SK_KEY_AUDIT_PENDING, now, AUDIT_EXPIRE_BATCH);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        s_redis_fail(a->c, r, "ZRANGEBYSCORE " SK_KEY_AUDIT_PENDING, &err);
        sk_log_error("%s", err.msg);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < r->elements && rc == 0; i++) {
        const redisReply *m = r->element[i];
        if (m->type != REDIS_REPLY_STRING || m->len >= 64)
            continue;
        Skonto__V1__OverrideRecord *rec;
        if (s_record_get(a, m->str, &rec, &err)) {
            rc = -1;
            break;
        }
        audit_ops_t ops = {0};
        if (!rec || rec->status != SKONTO__V1__OVERRIDE_RECORD__STATUS__PENDING) {
            /* decided already (or unreadable): only the index is left over */
            redisReply *z = redisCommand(a->c, "ZREM %s %s", SK_KEY_AUDIT_PENDING, m->str);
            if (!z || z->type == REDIS_REPLY_ERROR)
                rc = s_redis_fail(a->c, z, "ZREM " SK_KEY_AUDIT_PENDING, &err);
            else
                freeReplyObject(z);
        } else {
            Skonto__V1__OverrideExpired ex = SKONTO__V1__OVERRIDE_EXPIRED__INIT;
            ex.override_id = rec->request->override_id;
            ex.order_id = rec->request->order_id;
            ex.expired_at_ms = now;
            s_call_t k = {a, "", SK_ROLE_NONE, "", NULL, NULL, false};
            Skonto__V1__AuditEvent ev;
            s_event_init(&k, &ev, SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_EXPIRED, ex.order_id);
            ev.body_case = SKONTO__V1__AUDIT_EVENT__BODY_EXPIRED;
            ev.expired = &ex;
            rec->status = SKONTO__V1__OVERRIDE_RECORD__STATUS__EXPIRED;
            size_t rlen;
            uint8_t *rb = s_record_pack(rec, &rlen);
            uint64_t seq;
            if (rb) {
                audit_ops_add(&ops, "hset", SK_KEY_AUDIT_OVERRIDES, m->str, SIZE_MAX, rb, rlen);
                audit_ops_add(&ops, "zrem", SK_KEY_AUDIT_PENDING, m->str, SIZE_MAX, "", 0);
                if (audit_log_append(a->log, a->c, &ev, &ops, &seq, &err))
                    rc = -1;
                else
                    sk_log("%s expired undecided (entry %" PRIu64 ")", m->str, seq);
            }
            free(rb);
        }
        if (rec)
            skonto__v1__override_record__free_unpacked(rec, NULL);
    }
    freeReplyObject(r);
    if (rc)
        sk_log_error("expiry: %s", err.msg);
    return rc;
}

/* ---------------------------------------------------------------- hand-offs */

/* Stream ids "ms-seq" in order; an unparsable one sorts first. */
static int s_id_cmp(const char *x, const char *y)
{
    unsigned long long xm = 0, xs = 0, ym = 0, ys = 0;
    sscanf(x, "%llu-%llu", &xm, &xs);
    sscanf(y, "%llu-%llu", &ym, &ys);
    if (xm != ym)
        return xm < ym ? -1 : 1;
    return xs < ys ? -1 : xs > ys;
}

/* Copies of the known fields only: a hand-off's unknown fields are never re-packed. */
static void s_copy_applied(const Skonto__V1__OverrideApplied *in, Skonto__V1__OverrideApplied *o,
                           Skonto__V1__OverrideChange *ch)
{
    skonto__v1__override_applied__init(o);
    o->override_id = in->override_id, o->order_id = in->order_id;
    o->old_value = in->old_value, o->new_value = in->new_value;
    o->applied_at_ms = in->applied_at_ms;
    if (in->change) {
        skonto__v1__override_change__init(ch);
        ch->kind = in->change->kind, ch->tier = in->change->tier;
        ch->new_last_day = in->change->new_last_day;
        ch->new_rate_ppm = in->change->new_rate_ppm, ch->payment = in->change->payment;
        o->change = ch;
    }
    o->effect = in->effect, o->currency = in->currency;
    o->invoice_revision = in->invoice_revision;
    o->requested_by = in->requested_by, o->approved_by = in->approved_by;
    o->refusal_code = in->refusal_code;
}

static void s_copy_schedule(const Skonto__V1__ScheduleChanged *in, Skonto__V1__ScheduleChanged *o)
{
    skonto__v1__schedule_changed__init(o);
    o->order_id = in->order_id, o->sender = in->sender;
    o->old_version = in->old_version, o->new_version = in->new_version;
    o->old_terms = in->old_terms, o->new_terms = in->new_terms;
    o->old_amount = in->old_amount, o->new_amount = in->new_amount;
    o->old_baseline = in->old_baseline, o->new_baseline = in->new_baseline;
    o->currency = in->currency, o->event_id = in->event_id;
}

/* Logs one hand-off (id, bytes) of shard N, qpos[N] = id in the same call. */
static int s_handoff(audit_t *a, int shard, const char *id, const redisReply *bytes, sk_err_t *err)
{
    char shardf[8];
    snprintf(shardf, sizeof shardf, "%d", shard);
    Skonto__V1__AuditHandoff *h =
        bytes ? skonto__v1__audit_handoff__unpack(NULL, bytes->len, (const uint8_t *)bytes->str)
              : NULL;
    char field[64];
    if (!h || h->body_case == SKONTO__V1__AUDIT_HANDOFF__BODY__NOT_SET ||
        audit_wire_check(&skonto__v1__audit_handoff__descriptor, (const uint8_t *)bytes->str,
                         bytes->len, field, sizeof field)) {
        /* not something to log: skip it, remembering that we did */
        sk_log_error("hand-off %s of shard %d does not decode: dropped", id, shard);
        audit_metrics_handoff(a->metrics, false);
        if (h)
            skonto__v1__audit_handoff__free_unpacked(h, NULL);
        redisReply *r = redisCommand(a->c, "HSET %s %s %s", SK_KEY_AUDIT_HANDOFF_POS, shardf, id);
        if (!r || r->type == REDIS_REPLY_ERROR)
            return s_redis_fail(a->c, r, "HSET " SK_KEY_AUDIT_HANDOFF_POS, err);
        freeReplyObject(r);
        return 0;
    }
    s_call_t k = {a, "", SK_ROLE_NONE, "", NULL, NULL, false};
    Skonto__V1__AuditEvent ev;
    Skonto__V1__OverrideApplied ap;
    Skonto__V1__OverrideChange ch;
    Skonto__V1__ScheduleChanged sc;
    Skonto__V1__OverrideRecord *rec = NULL;
    Skonto__V1__OverrideApplied *old_applied = NULL;
    uint8_t *rb = NULL;
    size_t rlen = 0;
    audit_ops_t ops = {0};
    int rc = 0;
    uint64_t pos = audit_log_size(a->log), seq;
    if (h->body_case == SKONTO__V1__AUDIT_HANDOFF__BODY_APPLIED) {
        s_copy_applied(h->applied, &ap, &ch);
        s_event_init(&k, &ev, SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_APPLIED, ap.order_id);
        ev.body_case = SKONTO__V1__AUDIT_EVENT__BODY_APPLIED;
        ev.applied = &ap;
        if (ap.override_id[0] && strlen(ap.override_id) < 64 &&
            s_record_get(a, ap.override_id, &rec, err)) {
            skonto__v1__audit_handoff__free_unpacked(h, NULL);
            return -1;
        }
        if (rec) {
            old_applied = rec->applied;
            rec->applied = &ap;
            rec->applied_seq = pos;
            rec->status = ap.refusal_code[0] ? SKONTO__V1__OVERRIDE_RECORD__STATUS__STALE
                                             : SKONTO__V1__OVERRIDE_RECORD__STATUS__APPLIED;
            rb = s_record_pack(rec, &rlen);
            if (rb)
                audit_ops_add(&ops, "hset", SK_KEY_AUDIT_OVERRIDES, ap.override_id, SIZE_MAX, rb,
                              rlen);
        } else {
            sk_log_warn("hand-off %s: override \"%.64s\" is not known here; logged as it came", id,
                        ap.override_id);
        }
    } else {
        s_copy_schedule(h->schedule_changed, &sc);
        s_event_init(&k, &ev, SKONTO__V1__AUDIT_KIND__AUDIT_KIND_SCHEDULE_CHANGED, sc.order_id);
        ev.actor = sc.sender;
        const sk_principal_t *p = sk_registry_find_user(a->reg, sc.sender);
        ev.role = s_proto_role(p ? p->role : SK_ROLE_NONE);
        ev.body_case = SKONTO__V1__AUDIT_EVENT__BODY_SCHEDULE_CHANGED;
        ev.schedule_changed = &sc;
    }
    audit_ops_add(&ops, "hset", SK_KEY_AUDIT_HANDOFF_POS, shardf, SIZE_MAX, id, SIZE_MAX);
    if (audit_log_append(a->log, a->c, &ev, &ops, &seq, err))
        rc = -1;
    else {
        a->handoffs++;
        audit_metrics_handoff(a->metrics, true);
    }
    free(rb);
    if (rec) {
        rec->applied = old_applied;
        skonto__v1__override_record__free_unpacked(rec, NULL);
    }
    skonto__v1__audit_handoff__free_unpacked(h, NULL);
    return rc;
}

static int s_handoffs_shard(audit_t *a, int shard, const char *qpos, sk_err_t *err)
{
    char key[SK_KEY_MAX];
    sk_key_audit_handoff(key, shard);
    redisReply *r = redisCommand(a->c, "XRANGE %s - + COUNT %d", key, AUDIT_HANDOFF_BATCH);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return s_redis_fail(a->c, r, "XRANGE auditq", err);
    int rc = 0;
    const char *done[AUDIT_HANDOFF_BATCH];
    size_t ndone = 0;
    for (size_t i = 0; i < r->elements && rc == 0; i++) {
        const redisReply *ent = r->element[i];
        if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
            ent->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const char *id = ent->element[0]->str;
        /* logged before a crash kept it from being deleted: delete only */
        if (!*qpos || s_id_cmp(id, qpos) > 0) {
            if (s_handoff(a, shard, id, sk_redis_stream_field(ent->element[1], "a"), err))
                rc = -1;
        }
        if (rc == 0 && ndone < AUDIT_HANDOFF_BATCH)
            done[ndone++] = id;
    }
    if (ndone) {
        const char *argv[2 + AUDIT_HANDOFF_BATCH] = {"XDEL", key};
        for (size_t i = 0; i < ndone; i++)
            argv[2 + i] = done[i];
        redisReply *d = redisCommandArgv(a->c, (int)(2 + ndone), argv, NULL);
        if (!d) {
            if (rc == 0)
                rc = s_redis_fail(a->c, d, "XDEL auditq", err);
        } else {
            /* Refused (the connection still works): what was logged stays
             * logged, and qpos keeps it from being logged again; deleting is
             * tried again next turn. Said at most every S_WARN_EVERY_MS. */
            static int64_t warned;
            int64_t now = sk_now_ms();
            if (d->type == REDIS_REPLY_ERROR && now - warned >= S_WARN_EVERY_MS) {
                sk_log_error("XDEL %s: %s (what was logged is not logged again)", key, d->str);
                warned = now;
            }
            freeReplyObject(d);
        }
    }
    freeReplyObject(r);
    return rc;
}

int audit_handoffs(audit_t *a)
{
    sk_err_t err;
    redisReply *r = redisCommand(a->c, "HGETALL %s", SK_KEY_AUDIT_HANDOFF_POS);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        s_redis_fail(a->c, r, "HGETALL " SK_KEY_AUDIT_HANDOFF_POS, &err);
        sk_log_error("%s", err.msg);
        return -1;
    }
    char qpos[SK_SHARDS][48];
    memset(qpos, 0, sizeof qpos);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        int s = f->type == REDIS_REPLY_STRING ? atoi(f->str) : -1;
        if (s >= 0 && s < SK_SHARDS && v->type == REDIS_REPLY_STRING && v->len < 48)
            memcpy(qpos[s], v->str, v->len + 1);
    }
    freeReplyObject(r);
    for (int s = 0; s < SK_SHARDS; s++)
        if (s_handoffs_shard(a, s, qpos[s], &err)) {
            sk_log_error("hand-offs of shard %d: %s", s, err.msg);
            return -1;
        }
    return 0;
}
