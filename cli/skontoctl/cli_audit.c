/* cli_audit — requests to the audit worker and how overrides and log
 * entries are shown (see cli_audit.h). */
#include "cli_audit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli_msg.h"
#include "cli_output.h"
#include "date.h"
#include "money.h"

/* A reply is at most a page of 1,000 entries of a few hundred bytes. */
#define S_REPLY_MAX (16u << 20)

typedef struct {
    const char *verb;
    const char *correlation;
    Skonto__V1__AuditReply *reply;
} s_ask_t;

static int s_accept(void *arg, const uint8_t *bytes, size_t n)
{
    s_ask_t *a = arg;
    if (n > S_REPLY_MAX) {
        sk_cli_fail(a->verb, "the audit worker's answer is %zu bytes (at most %u)", n, S_REPLY_MAX);
        return -1;
    }
    Skonto__V1__AuditReply *r = skonto__v1__audit_reply__unpack(NULL, n, bytes);
    if (!r) {
        sk_cli_fail(a->verb, "the audit worker's answer does not decode (%zu bytes)", n);
        return -1;
    }
    if (strcmp(r->correlation, a->correlation)) { /* an answer to an earlier run's request */
        skonto__v1__audit_reply__free_unpacked(r, NULL);
        return 0;
    }
    a->reply = r;
    return 1;
}

int sk_cli_audit_ask(const char *verb, sk_cli_rpc_t *rpc, Skonto__V1__AuditRequest *req,
                     Skonto__V1__AuditReply **out)
{
    uint8_t rnd[12];
    char corr[2 * sizeof rnd + 1];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return sk_cli_fail(verb, "no random bytes for the request's correlation");
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(corr + 2 * i, 3, "%02x", rnd[i]);
    req->correlation = corr;
    size_t len = skonto__v1__audit_request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return sk_cli_fail(verb, "out of memory");
    skonto__v1__audit_request__pack(req, buf);
    s_ask_t a = {verb, corr, NULL};
    int rc = sk_cli_rpc_call(rpc, buf, len, s_accept, &a);
    free(buf);
    req->correlation = (char *)protobuf_c_empty_string;
    *out = a.reply;
    return rc;
}

int sk_cli_audit_status(const char *verb, const Skonto__V1__AuditReply *r)
{
    if (r->status == SKONTO__V1__AUDIT_REPLY__STATUS__OK)
        return SK_EXIT_OK;
    char code[72], msg[320];
    bool refused = r->status == SKONTO__V1__AUDIT_REPLY__STATUS__REFUSED;
    fprintf(stderr, "skontoctl %s: %s %s: %s\n", verb, refused ? "refused" : "error",
            sk_cli_shorten(r->code, code, sizeof code), sk_cli_clean(r->message, msg, sizeof msg));
    return refused ? SK_EXIT_REFUSED : SK_EXIT_ERROR;
}

const char *sk_cli_role_name(Skonto__V1__Role role)
{
    switch (role) {
    case SKONTO__V1__ROLE__ROLE_ERP:
        return "erp";
    case SKONTO__V1__ROLE__ROLE_SALES:
        return "sales";
    case SKONTO__V1__ROLE__ROLE_SALES_DIRECTOR:
        return "sales_director";
    case SKONTO__V1__ROLE__ROLE_FINANCE_DIRECTOR:
        return "finance_director";
    case SKONTO__V1__ROLE__ROLE_AUDITOR:
        return "auditor";
    case SKONTO__V1__ROLE__ROLE_OPERATOR:
        return "operator";
    default:
        return "";
    }
}

const char *sk_cli_ovr_status(Skonto__V1__OverrideRecord__Status s)
{
    switch (s) {
    case SKONTO__V1__OVERRIDE_RECORD__STATUS__PENDING:
        return "pending";
    case SKONTO__V1__OVERRIDE_RECORD__STATUS__APPROVED:
        return "approved";
    case SKONTO__V1__OVERRIDE_RECORD__STATUS__REJECTED:
        return "rejected";
    case SKONTO__V1__OVERRIDE_RECORD__STATUS__EXPIRED:
        return "expired";
    case SKONTO__V1__OVERRIDE_RECORD__STATUS__APPLIED:
        return "applied";
    case SKONTO__V1__OVERRIDE_RECORD__STATUS__STALE:
        return "stale";
    default:
        return "unknown";
    }
}

const char *sk_cli_audit_kind(Skonto__V1__AuditKind k)
{
    switch (k) {
    case SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_REQUESTED:
        return "requested";
    case SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_DECIDED:
        return "decided";
    case SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_EXPIRED:
        return "expired";
    case SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_APPLIED:
        return "applied";
    case SKONTO__V1__AUDIT_KIND__AUDIT_KIND_SCHEDULE_CHANGED:
        return "schedule_changed";
    case SKONTO__V1__AUDIT_KIND__AUDIT_KIND_REFUSED_ATTEMPT:
        return "refused";
    default:
        return "unknown";
    }
}

char *sk_cli_change_text(const Skonto__V1__OverrideChange *c, char *buf, size_t n)
{
    char rate[16];
    if (!c) {
        snprintf(buf, n, "-");
        return buf;
    }
    switch (c->kind) {
    case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND:
        snprintf(buf, n, "extend t%u to %.10s", c->tier, c->new_last_day);
        break;
    case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_GRANT:
        snprintf(buf, n, "grant t%u to payment %u", c->tier, c->payment);
        break;
    case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE:
        snprintf(buf, n, "rate t%u to %s", c->tier,
                 sk_cli_rate_pct(c->new_rate_ppm, rate, sizeof rate));
        break;
    case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_WAIVE:
        snprintf(buf, n, "waive");
        break;
    default:
        snprintf(buf, n, "unknown change");
        break;
    }
    return buf;
}

char *sk_cli_amount(int64_t minor, const char *currency, char *buf, size_t n)
{
    const sk_currency_t *cur = currency && *currency ? sk_currency_find(currency) : NULL;
    if (cur) {
        char num[40];
        snprintf(buf, n, "%s %s", sk_money_format(minor, cur, num, sizeof num), currency);
    } else if (currency && *currency) {
        char q[72];
        snprintf(buf, n, "%" PRId64 " (minor units of \"%s\")", minor,
                 sk_cli_shorten(currency, q, sizeof q));
    } else if (minor == 0) {
        snprintf(buf, n, "-");
    } else {
        snprintf(buf, n, "%" PRId64 " (minor units)", minor);
    }
    return buf;
}

char *sk_cli_clean(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; s && *s && o + 8 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (s && *s)
        o += (size_t)snprintf(buf + o, n - o, "...");
    buf[o < n ? o : n - 1] = '\0';
    return buf;
}

char *sk_cli_instant(int64_t ms, char *buf, size_t n)
{
    if (!ms)
        snprintf(buf, n, "-");
    else
        sk_time_format(ms, SK_TIME_ISO, buf, n);
    return buf;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *s_json_amount(int64_t minor, const char *currency)
{
    const sk_currency_t *cur = currency && *currency ? sk_currency_find(currency) : NULL;
    return cur ? sk_cli_json_money(minor, cur) : json_integer(minor);
}

static json_t *s_json_instant(int64_t ms)
{
    char t[SK_TIME_MAX];
    return ms ? json_string(sk_time_format(ms, SK_TIME_ISO, t, sizeof t)) : json_null();
}

/* Adds key: value; marks *bad when value is NULL (ENOMEM). */
static void s_set(json_t *o, const char *key, json_t *value, int *bad)
{
    if (!value || json_object_set_new(o, key, value) < 0)
        *bad = 1;
}

static json_t *s_str(const char *s)
{
    return json_stringn(s ? s : "", s ? strlen(s) : 0) ?: json_string("(not UTF-8)");
}

static json_t *s_change_json(const Skonto__V1__OverrideChange *c)
{
    if (!c)
        return json_null();
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        const char *kinds[] = {"", "extend", "grant", "rate", "waive"};
        s_set(o, "kind", json_string(c->kind >= 1 && c->kind <= 4 ? kinds[c->kind] : "unknown"),
              &bad);
        if (c->kind != SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_WAIVE)
            s_set(o, "tier", json_integer(c->tier), &bad);
        if (c->kind == SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND)
            s_set(o, "new_last_day", s_str(c->new_last_day), &bad);
        if (c->kind == SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE)
            s_set(o, "new_rate", sk_cli_json_rate(c->new_rate_ppm), &bad);
        if (c->kind == SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_GRANT)
            s_set(o, "payment", json_integer(c->payment), &bad);
    }
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

json_t *sk_cli_record_json(const Skonto__V1__OverrideRecord *r)
{
    static const Skonto__V1__OverrideRequested none = SKONTO__V1__OVERRIDE_REQUESTED__INIT;
    const Skonto__V1__OverrideRequested *q = r->request ? r->request : &none;
    json_t *o = json_object();
    int bad = !o;
    if (!o)
        return NULL;
    s_set(o, "id", s_str(q->override_id), &bad);
    s_set(o, "order_id", s_str(q->order_id), &bad);
    s_set(o, "customer_id", s_str(r->customer_id), &bad);
    s_set(o, "salesperson", s_str(r->salesperson), &bad);
    s_set(o, "status", json_string(sk_cli_ovr_status(r->status)), &bad);
    s_set(o, "change", s_change_json(q->change), &bad);
    s_set(o, "old_value", s_str(q->old_value), &bad);
    s_set(o, "new_value", s_str(q->new_value), &bad);
    s_set(o, "invoice_revision", json_integer(q->invoice_revision), &bad);
    s_set(o, "effect", s_json_amount(q->effect, q->currency), &bad);
    s_set(o, "currency", s_str(q->currency), &bad);
    s_set(o, "reason", s_str(q->reason), &bad);
    s_set(o, "request_id", s_str(q->request_id), &bad);
    s_set(o, "requested_by", s_str(q->requested_by), &bad);
    s_set(o, "requester_role", json_string(sk_cli_role_name(q->requester_role)), &bad);
    s_set(o, "requested_at", s_json_instant(q->requested_at_ms), &bad);
    s_set(o, "expires_at", s_json_instant(q->expires_at_ms), &bad);
    s_set(o, "request_seq", json_integer((json_int_t)r->request_seq), &bad);
    if (r->decision) {
        const Skonto__V1__OverrideDecided *d = r->decision;
        json_t *dj = json_object();
        if (!dj)
            bad = 1;
        else {
            s_set(dj, "approved", json_boolean(d->approved), &bad);
            s_set(dj, "decided_by", s_str(d->decided_by), &bad);
            s_set(dj, "role", json_string(sk_cli_role_name(d->role)), &bad);
            s_set(dj, "decided_at", s_json_instant(d->decided_at_ms), &bad);
            s_set(dj, "comment", s_str(d->comment), &bad);
            s_set(dj, "effect", s_json_amount(d->effect, d->currency), &bad);
            s_set(dj, "seq", json_integer((json_int_t)r->decision_seq), &bad);
        }
        s_set(o, "decision", dj, &bad);
    } else {
        s_set(o, "decision", json_null(), &bad);
    }
    if (r->applied) {
        const Skonto__V1__OverrideApplied *a = r->applied;
        json_t *aj = json_object();
        if (!aj)
            bad = 1;
        else {
            s_set(aj, "applied_at", s_json_instant(a->applied_at_ms), &bad);
            s_set(aj, "effect", s_json_amount(a->effect, a->currency), &bad);
            s_set(aj, "invoice_revision", json_integer(a->invoice_revision), &bad);
            s_set(aj, "refusal_code", s_str(a->refusal_code), &bad);
            s_set(aj, "seq", json_integer((json_int_t)r->applied_seq), &bad);
        }
        s_set(o, "applied", aj, &bad);
    } else {
        s_set(o, "applied", json_null(), &bad);
    }
    s_set(o, "refused_decisions", json_integer(r->refused_decisions), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* What a user typed, for one line: shortened and escaped. */
#define Q(s, b) sk_cli_shorten((s) ? (s) : "", b, sizeof b)

void sk_cli_record_print(FILE *out, const Skonto__V1__OverrideRecord *r)
{
    static const Skonto__V1__OverrideRequested none = SKONTO__V1__OVERRIDE_REQUESTED__INIT;
    const Skonto__V1__OverrideRequested *q = r->request ? r->request : &none;
    char b1[72], b2[72], b3[72], b4[72], ch[128], amt[96], t1[32], t2[32];
    fprintf(out, "override %s  %s  order %s (customer %s, salesperson %s)\n", Q(q->override_id, b1),
            sk_cli_ovr_status(r->status), Q(q->order_id, b2), Q(r->customer_id, b3),
            *r->salesperson ? Q(r->salesperson, b4) : "-");
    fprintf(out, "  change     %s (revision %" PRId64 "): %s -> %s\n",
            sk_cli_change_text(q->change, ch, sizeof ch), q->invoice_revision,
            *q->old_value ? Q(q->old_value, b1) : "-", *q->new_value ? Q(q->new_value, b2) : "-");
    fprintf(out, "  effect     %s more discount\n",
            sk_cli_amount(q->effect, q->currency, amt, sizeof amt));
    fprintf(out, "  requested  by %s (%s) at %s, expires %s\n", Q(q->requested_by, b1),
            sk_cli_role_name(q->requester_role), sk_cli_instant(q->requested_at_ms, t1, sizeof t1),
            sk_cli_instant(q->expires_at_ms, t2, sizeof t2));
    fprintf(out, "  reason     %s\n", Q(q->reason, b1));
    if (r->decision) {
        const Skonto__V1__OverrideDecided *d = r->decision;
        fprintf(out, "  %-10s by %s (%s) at %s%s%s%s\n", d->approved ? "approved" : "rejected",
                Q(d->decided_by, b1), sk_cli_role_name(d->role),
                sk_cli_instant(d->decided_at_ms, t1, sizeof t1), *d->comment ? ": \"" : "",
                *d->comment ? Q(d->comment, b2) : "", *d->comment ? "\"" : "");
    }
    if (r->applied) {
        const Skonto__V1__OverrideApplied *a = r->applied;
        if (*a->refusal_code)
            fprintf(out, "  not applied at %s: %s\n",
                    sk_cli_instant(a->applied_at_ms, t1, sizeof t1), Q(a->refusal_code, b1));
        else
            fprintf(out, "  applied    at %s: %s, invoice revision %" PRId64 "\n",
                    sk_cli_instant(a->applied_at_ms, t1, sizeof t1),
                    sk_cli_amount(a->effect, a->currency, amt, sizeof amt), a->invoice_revision);
    }
    if (r->refused_decisions)
        fprintf(out, "  refused    %u decision attempt(s)\n", r->refused_decisions);
}

/* ---- log entries ------------------------------------------------------------ */

/* The body's key facts, one line. */
static void s_facts(const Skonto__V1__AuditEvent *ev, char *buf, size_t n)
{
    char b1[72], b2[72], b3[72], b4[72], b5[72], ch[128], amt[96], amt2[96], msg[320];
    switch (ev->body_case) {
    case SKONTO__V1__AUDIT_EVENT__BODY_REQUESTED: {
        const Skonto__V1__OverrideRequested *q = ev->requested;
        snprintf(buf, n, "%s %s: %s -> %s, effect %s, reason \"%s\"", Q(q->override_id, b1),
                 sk_cli_change_text(q->change, ch, sizeof ch), Q(q->old_value, b2),
                 Q(q->new_value, b3), sk_cli_amount(q->effect, q->currency, amt, sizeof amt),
                 Q(q->reason, b4));
        break;
    }
    case SKONTO__V1__AUDIT_EVENT__BODY_DECIDED: {
        const Skonto__V1__OverrideDecided *d = ev->decided;
        if (*d->refusal_code)
            snprintf(buf, n, "%s %s REFUSED %s", Q(d->override_id, b1),
                     d->approved ? "approve" : "reject", Q(d->refusal_code, b2));
        else
            snprintf(buf, n, "%s %s, effect %s%s%s%s", Q(d->override_id, b1),
                     d->approved ? "approved" : "rejected",
                     sk_cli_amount(d->effect, d->currency, amt, sizeof amt),
                     *d->comment ? ", comment \"" : "", *d->comment ? Q(d->comment, b2) : "",
                     *d->comment ? "\"" : "");
        break;
    }
    case SKONTO__V1__AUDIT_EVENT__BODY_EXPIRED:
        snprintf(buf, n, "%s expired undecided", Q(ev->expired->override_id, b1));
        break;
    case SKONTO__V1__AUDIT_EVENT__BODY_APPLIED: {
        const Skonto__V1__OverrideApplied *a = ev->applied;
        if (*a->refusal_code)
            snprintf(buf, n, "%s NOT applied: %s", Q(a->override_id, b1), Q(a->refusal_code, b2));
        else
            snprintf(buf, n,
                     "%s applied: %s -> %s, effect %s, revision %" PRId64
                     ", requested by %s, approved by %s",
                     Q(a->override_id, b1), Q(a->old_value, b2), Q(a->new_value, b3),
                     sk_cli_amount(a->effect, a->currency, amt, sizeof amt), a->invoice_revision,
                     Q(a->requested_by, b4), Q(a->approved_by, b5));
        break;
    }
    case SKONTO__V1__AUDIT_EVENT__BODY_SCHEDULE_CHANGED: {
        const Skonto__V1__ScheduleChanged *s = ev->schedule_changed;
        snprintf(buf, n,
                 "version %u -> %u by %s: terms %s -> %s, amount %s -> %s, baseline %s -> %s",
                 s->old_version, s->new_version, Q(s->sender, b1), Q(s->old_terms, b2),
                 Q(s->new_terms, b3), sk_cli_amount(s->old_amount, s->currency, amt, sizeof amt),
                 sk_cli_amount(s->new_amount, s->currency, amt2, sizeof amt2),
                 Q(s->old_baseline, b4), Q(s->new_baseline, b5));
        break;
    }
    case SKONTO__V1__AUDIT_EVENT__BODY_REFUSED: {
        const Skonto__V1__RefusedAttempt *f = ev->refused;
        snprintf(buf, n, "%s %s: %s: %s", Q(f->attempted, b1),
                 *f->override_id ? Q(f->override_id, b2) : "-", Q(f->reason_code, b3),
                 sk_cli_clean(f->message, msg, sizeof msg));
        break;
    }
    default:
        snprintf(buf, n, "(no body)");
        break;
    }
}

void sk_cli_event_print(FILE *out, uint64_t seq, const Skonto__V1__AuditEvent *ev)
{
    if (!ev) {
        fprintf(out, "%-6" PRIu64 " (the entry's bytes do not decode as an AuditEvent)\n", seq);
        return;
    }
    char t[32], b1[72], b2[72], facts[1024];
    s_facts(ev, facts, sizeof facts);
    fprintf(out, "%-6" PRIu64 " %s  %-12s %-16s %-16s %-10s %s\n", seq,
            sk_cli_instant(ev->at_ms, t, sizeof t), *ev->actor ? Q(ev->actor, b1) : "-",
            *sk_cli_role_name(ev->role) ? sk_cli_role_name(ev->role) : "-",
            sk_cli_audit_kind(ev->kind), *ev->subject ? Q(ev->subject, b2) : "-", facts);
}

json_t *sk_cli_event_json(uint64_t seq, const Skonto__V1__AuditEvent *ev)
{
    json_t *o = json_object();
    int bad = !o;
    if (!o)
        return NULL;
    s_set(o, "seq", json_integer((json_int_t)seq), &bad);
    if (!ev) {
        s_set(o, "error", json_string("the entry's bytes do not decode as an AuditEvent"), &bad);
    } else {
        char facts[1024];
        s_facts(ev, facts, sizeof facts);
        s_set(o, "at", s_json_instant(ev->at_ms), &bad);
        s_set(o, "actor", s_str(ev->actor), &bad);
        s_set(o, "role", json_string(sk_cli_role_name(ev->role)), &bad);
        s_set(o, "kind", json_string(sk_cli_audit_kind(ev->kind)), &bad);
        s_set(o, "order_id", s_str(ev->subject), &bad);
        s_set(o, "facts", s_str(facts), &bad);
        const char *code =
            ev->body_case == SKONTO__V1__AUDIT_EVENT__BODY_REFUSED   ? ev->refused->reason_code
            : ev->body_case == SKONTO__V1__AUDIT_EVENT__BODY_DECIDED ? ev->decided->refusal_code
            : ev->body_case == SKONTO__V1__AUDIT_EVENT__BODY_APPLIED ? ev->applied->refusal_code
                                                                     : "";
        s_set(o, "refusal_code", s_str(code), &bad);
        /* the override and the money, when the body names them */
        const char *oid = "", *cur = "";
        int64_t effect = 0;
        switch (ev->body_case) {
        case SKONTO__V1__AUDIT_EVENT__BODY_REQUESTED:
            oid = ev->requested->override_id;
            effect = ev->requested->effect;
            cur = ev->requested->currency;
            break;
        case SKONTO__V1__AUDIT_EVENT__BODY_DECIDED:
            oid = ev->decided->override_id;
            effect = ev->decided->effect;
            cur = ev->decided->currency;
            break;
        case SKONTO__V1__AUDIT_EVENT__BODY_APPLIED:
            oid = ev->applied->override_id;
            effect = ev->applied->effect;
            cur = ev->applied->currency;
            break;
        case SKONTO__V1__AUDIT_EVENT__BODY_EXPIRED:
            oid = ev->expired->override_id;
            break;
        case SKONTO__V1__AUDIT_EVENT__BODY_REFUSED:
            oid = ev->refused->override_id;
            break;
        default:
            break;
        }
        s_set(o, "override_id", s_str(oid), &bad);
        s_set(o, "effect", *cur ? s_json_amount(effect, cur) : json_null(), &bad);
        s_set(o, "currency", s_str(cur), &bad);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
