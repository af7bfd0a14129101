/* override — see override.h. */
#include "override.h"

#include <stdio.h>
#include <string.h>

#include "date.h"
#include "keys.h"
#include "skonto/v1/skonto.pb-c.h"

/* A string field of 1..max bytes (0.. when optional) into dst (max + 1 bytes). */
static bool s_str(char *dst, const char *s, size_t max, bool required)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n > max || (required && n == 0))
        return false;
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
    return true;
}

static void s_bad(discount_override_t *o, const char *why)
{
    o->valid = false;
    snprintf(o->error, sizeof o->error, "override order %s of ovq:%d: %s",
             o->override_id[0] ? o->override_id : "(no id)", o->shard, why);
}

void discount_override_decode(discount_override_t *o, int shard, const char *entry_id, size_t idlen,
                              const void *data, size_t len)
{
    memset(o, 0, sizeof *o);
    o->shard = shard;
    if (idlen >= sizeof o->entry_id)
        idlen = sizeof o->entry_id - 1;
    memcpy(o->entry_id, entry_id, idlen);
    o->entry_id[idlen] = '\0';
    if (!data) {
        s_bad(o, "the entry has no field o");
        return;
    }
    if (len == 0 || len > DISCOUNT_OVERRIDE_BYTES_MAX) {
        s_bad(o, "the order is empty or too large");
        return;
    }
    Skonto__V1__OverrideOrder *m = skonto__v1__override_order__unpack(NULL, len, data);
    if (!m) {
        s_bad(o, "the order does not decode");
        return;
    }
    const char *why = NULL;
    if (!s_str(o->override_id, m->override_id, SK_OVERRIDE_ID_MAX, true))
        why = "bad override_id";
    else if (!s_str(o->order_id, m->order_id, SK_ID_MAX, true))
        why = "bad order_id";
    else if (!s_str(o->customer_id, m->customer_id, SK_ID_MAX, true))
        why = "bad customer_id";
    else if (sk_shard_of(o->customer_id) != shard)
        why = "its customer is not in this queue's shard";
    else if (!s_str(o->requested_by, m->requested_by, SK_OVERRIDE_USER_MAX, true) ||
             !s_str(o->approved_by, m->approved_by, SK_OVERRIDE_USER_MAX, true))
        why = "bad requested_by or approved_by";
    else if (m->invoice_revision < 1)
        why = "bad invoice_revision";
    else if (!m->change)
        why = "no change";
    if (!why) {
        const Skonto__V1__OverrideChange *c = m->change;
        sk_override_change_t *ch = &o->change;
        ch->kind = (sk_override_kind_t)c->kind;
        ch->tier = (int)c->tier;
        ch->payment = (int)c->payment;
        o->revision = m->invoice_revision;
        switch (c->kind) {
        case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND:
            if (c->tier >= SK_TERMS_MAX_TIERS || !c->new_last_day ||
                strnlen(c->new_last_day, 11) != 10 ||
                sk_date_parse(c->new_last_day, &ch->new_last_day, NULL) != 0)
                why = "bad extension (tier or new_last_day)";
            break;
        case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE:
            if (c->tier >= SK_TERMS_MAX_TIERS || c->new_rate_ppm < 1 || c->new_rate_ppm >= SK_PPM)
                why = "bad rate change (tier or new_rate_ppm)";
            ch->new_rate_ppm = c->new_rate_ppm;
            break;
        case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_GRANT:
            if (c->tier >= SK_TERMS_MAX_TIERS || c->payment >= SK_INVOICE_MAX_PAYMENTS)
                why = "bad grant (tier or payment)";
            break;
        case SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_WAIVE:
            ch->tier = 0;
            ch->payment = 0;
            break;
        default:
            why = "unknown kind";
        }
    }
    skonto__v1__override_order__free_unpacked(m, NULL);
    if (why) {
        s_bad(o, why);
        return;
    }
    o->valid = true;
}

/* The change as the log gets it: built from the checked values. */
static void s_change(const discount_override_t *o, Skonto__V1__OverrideChange *c, char *day,
                     size_t n)
{
    skonto__v1__override_change__init(c);
    c->kind = (Skonto__V1__OverrideKind)o->change.kind;
    c->tier = (uint32_t)o->change.tier;
    if (o->change.kind == SK_OVERRIDE_EXTEND)
        c->new_last_day = sk_date_format(o->change.new_last_day, day, n);
    if (o->change.kind == SK_OVERRIDE_RATE)
        c->new_rate_ppm = o->change.new_rate_ppm;
    if (o->change.kind == SK_OVERRIDE_GRANT)
        c->payment = (uint32_t)o->change.payment;
}

static size_t s_pack(Skonto__V1__AuditHandoff *h, uint8_t *buf, size_t cap)
{
    size_t need = skonto__v1__audit_handoff__get_packed_size(h);
    if (need > cap)
        return 0;
    return skonto__v1__audit_handoff__pack(h, buf);
}

size_t discount_handoff_applied(const discount_override_t *o, const char *refusal,
                                const sk_override_result_t *r, int64_t rev_after,
                                const char *currency, int64_t at_ms, uint8_t *buf, size_t cap)
{
    Skonto__V1__AuditHandoff h = SKONTO__V1__AUDIT_HANDOFF__INIT;
    Skonto__V1__OverrideApplied a = SKONTO__V1__OVERRIDE_APPLIED__INIT;
    Skonto__V1__OverrideChange c;
    char day[16];
    s_change(o, &c, day, sizeof day);
    a.override_id = (char *)o->override_id;
    a.order_id = (char *)o->order_id;
    a.applied_at_ms = at_ms;
    a.change = &c;
    a.currency = (char *)(currency ? currency : "");
    a.invoice_revision = rev_after;
    a.requested_by = (char *)o->requested_by;
    a.approved_by = (char *)o->approved_by;
    a.refusal_code = (char *)(refusal ? refusal : "");
    if (r && (!refusal || !refusal[0])) {
        a.old_value = (char *)r->old_value;
        a.new_value = (char *)r->new_value;
        a.effect = r->effect;
    }
    h.body_case = SKONTO__V1__AUDIT_HANDOFF__BODY_APPLIED;
    h.applied = &a;
    return s_pack(&h, buf, cap);
}

bool discount_schedule_changed(const sk_invoice_t *old, const sk_invoice_t *nw)
{
    return strcmp(old->terms, nw->terms) != 0 || old->schedule.amount != nw->schedule.amount ||
           old->schedule.baseline != nw->schedule.baseline;
}

size_t discount_handoff_schedule(const sk_invoice_t *old, const sk_invoice_t *nw,
                                 const char *sender, const char *event_id, uint8_t *buf, size_t cap)
{
    Skonto__V1__AuditHandoff h = SKONTO__V1__AUDIT_HANDOFF__INIT;
    Skonto__V1__ScheduleChanged s = SKONTO__V1__SCHEDULE_CHANGED__INIT;
    char ob[16], nb[16];
    s.order_id = (char *)nw->order_id;
    s.sender = (char *)(sender ? sender : "");
    s.old_version = old->version;
    s.new_version = nw->version;
    s.old_terms = (char *)old->terms;
    s.new_terms = (char *)nw->terms;
    s.old_amount = old->schedule.amount;
    s.new_amount = nw->schedule.amount;
    s.old_baseline = sk_date_format(old->schedule.baseline, ob, sizeof ob);
    s.new_baseline = sk_date_format(nw->schedule.baseline, nb, sizeof nb);
    s.currency = (char *)(nw->schedule.currency ? nw->schedule.currency->code : "");
    s.event_id = (char *)(event_id ? event_id : "");
    h.body_case = SKONTO__V1__AUDIT_HANDOFF__BODY_SCHEDULE_CHANGED;
    h.schedule_changed = &s;
    return s_pack(&h, buf, cap);
}

void discount_override_record(const discount_override_t *o, const sk_override_result_t *r,
                              uint32_t version, int64_t at_ms, sk_invoice_override_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", o->override_id);
    out->kind = (int)o->change.kind;
    out->tier = o->change.kind == SK_OVERRIDE_WAIVE ? 0 : o->change.tier;
    out->new_last_day = o->change.new_last_day;
    out->new_rate_ppm = o->change.new_rate_ppm;
    out->payment = o->change.payment;
    snprintf(out->old_value, sizeof out->old_value, "%s", r->old_value);
    snprintf(out->new_value, sizeof out->new_value, "%s", r->new_value);
    out->effect = r->effect;
    snprintf(out->requested_by, sizeof out->requested_by, "%s", o->requested_by);
    snprintf(out->approved_by, sizeof out->approved_by, "%s", o->approved_by);
    out->applied_at_ms = at_ms;
    out->version = version;
    out->revision = r->inv.rev;
}
