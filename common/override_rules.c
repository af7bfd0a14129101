/* override_rules — see override_rules.h. No I/O: the invoice and the request
 * come in as structs, the new invoice and the decision go out. */
#include "override_rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const s_kinds[] = {
    [SK_OVERRIDE_EXTEND] = "extend",
    [SK_OVERRIDE_GRANT] = "grant",
    [SK_OVERRIDE_RATE] = "rate",
    [SK_OVERRIDE_WAIVE] = "waive",
};
#define S_NKINDS ((int)(sizeof s_kinds / sizeof s_kinds[0]))

const char *sk_override_kind_name(sk_override_kind_t kind)
{
    return (int)kind > 0 && (int)kind < S_NKINDS ? s_kinds[kind] : "unknown";
}

sk_override_kind_t sk_override_kind_parse(const char *name)
{
    for (int k = 1; name && k < S_NKINDS; k++)
        if (!strcmp(name, s_kinds[k]))
            return (sk_override_kind_t)k;
    return 0;
}

/* ---------------------------------------------------------------- applying */

/* The discount a payment of the whole balance B earns at rate_ppm: the same
 * expression as sk_settle_apply's full discount (settlement.c), so an
 * effect is exactly what the settlement will later grant. */
static int64_t s_full_discount(const sk_schedule_t *s, int64_t B, int32_t rate_ppm)
{
    if (B <= 0 || rate_ppm <= 0 || s->amount <= 0)
        return 0;
    int64_t d = sk_div_round((__int128)B * s->discount_base * rate_ppm,
                             (__int128)s->amount * SK_PPM, s->rounding);
    return d > B ? B : d;
}

/* A tier's discount and payable after its rate changed (schedule.h's rule). */
static void s_retier(sk_schedule_t *s, int k)
{
    sk_schedule_tier_t *t = &s->tiers[k];
    t->discount = sk_money_apply_rate(s->discount_base, t->rate_ppm, s->rounding);
    t->payable = s->amount - t->discount;
    sk_schedule_annual_rates(s);
}

static int s_tier_ok(const sk_invoice_t *inv, int k, sk_err_t *err)
{
    if (k < 0 || k >= inv->schedule.ntiers)
        return sk_err_set(err, "bad_tier", "order %s has no tier %d (it has %d: 0..%d)",
                          inv->order_id, k, inv->schedule.ntiers, inv->schedule.ntiers - 1);
    return 0;
}

static int s_open(const sk_invoice_t *inv, const char *what, sk_err_t *err)
{
    if (inv->status != SK_INV_OPEN)
        return sk_err_set(err, "not_open", "%s on order %s, which is %s", what, inv->order_id,
                          sk_invoice_status_name(inv->status));
    return 0;
}

static int s_extend(const sk_invoice_t *inv, const sk_override_change_t *c, sk_day_t today,
                    sk_override_result_t *r, sk_err_t *err)
{
    char d1[16], d2[16];
    if (s_open(inv, "an extension", err) || s_tier_ok(inv, c->tier, err))
        return -1;
    const sk_schedule_t *s = &inv->schedule;
    int k = c->tier;
    sk_day_t old = s->tiers[k].last_day, nw = c->new_last_day;
    if (nw <= old)
        return sk_err_set(err, "not_later", "tier %d ends %s: the new last day %s is not later", k,
                          sk_date_format(old, d1, sizeof d1), sk_date_format(nw, d2, sizeof d2));
    sk_day_t limit = k + 1 < s->ntiers ? s->tiers[k + 1].last_day : s->net_due;
    if (nw >= limit)
        return sk_err_set(err, "bad_last_day",
                          "tier %d may end at the latest the day before %s (%s), not %s", k,
                          k + 1 < s->ntiers ? "the next tier's last day" : "the net due date",
                          sk_date_format(limit, d1, sizeof d1), sk_date_format(nw, d2, sizeof d2));
    if (nw < today)
        return sk_err_set(err, "in_the_past",
                          "tier %d extended to %s, before today %s: grants nothing (a payment "
                          "made late needs a grant)",
                          k, sk_date_format(nw, d1, sizeof d1),
                          sk_date_format(today, d2, sizeof d2));
    for (int j = 0; j < inv->npayments; j++)
        if (inv->payments[j].date > old && inv->payments[j].date <= nw)
            return sk_err_set(err, "payment_in_extension",
                              "payment %d of %s falls in the days added: it needs a grant", j,
                              sk_date_format(inv->payments[j].date, d1, sizeof d1));
    int32_t before = k + 1 < s->ntiers ? s->tiers[k + 1].rate_ppm : 0;
    r->effect = s_full_discount(s, inv->balance, s->tiers[k].rate_ppm) -
                s_full_discount(s, inv->balance, before);
    r->inv.schedule.tiers[k].last_day = nw;
    sk_schedule_annual_rates(&r->inv.schedule);
    sk_date_format(old, r->old_value, sizeof r->old_value);
    sk_date_format(nw, r->new_value, sizeof r->new_value);
    return 0;
}

static int s_rate(const sk_invoice_t *inv, const sk_override_change_t *c, sk_day_t today,
                  sk_override_result_t *r, sk_err_t *err)
{
    char p1[16], p2[16];
    if (s_open(inv, "a rate change", err) || s_tier_ok(inv, c->tier, err))
        return -1;
    const sk_schedule_t *s = &inv->schedule;
    int k = c->tier;
    int32_t old = s->tiers[k].rate_ppm, nw = c->new_rate_ppm;
    if (s->tiers[k].last_day < today) {
        char d1[16];
        return sk_err_set(err, "window_closed", "tier %d closed on %s: a new rate grants nothing",
                          k, sk_date_format(s->tiers[k].last_day, d1, sizeof d1));
    }
    if (nw <= old)
        return sk_err_set(err, "rate_not_higher",
                          "tier %d's rate %s %% would become %s %%: an override only raises a rate",
                          k, sk_percent_format(old, p1, sizeof p1),
                          nw > 0 ? sk_percent_format(nw, p2, sizeof p2) : "0");
    int32_t ceiling = k > 0 ? s->tiers[k - 1].rate_ppm : SK_PPM;
    if (nw >= ceiling)
        return sk_err_set(err, "bad_rate", "tier %d's rate must stay below %s %% (%s), not %s %%",
                          k, sk_percent_format(ceiling, p1, sizeof p1),
                          k > 0 ? "the previous tier's" : "the whole amount",
                          sk_percent_format(nw, p2, sizeof p2));
    r->effect = s_full_discount(s, inv->balance, nw) - s_full_discount(s, inv->balance, old);
    r->inv.schedule.tiers[k].rate_ppm = nw;
    s_retier(&r->inv.schedule, k);
    sk_percent_format(old, r->old_value, sizeof r->old_value);
    sk_percent_format(nw, r->new_value, sizeof r->new_value);
    return 0;
}

static void s_tier_text(int tier, char *buf, size_t n)
{
    if (tier >= 0)
        snprintf(buf, n, "tier %d", tier);
    else
        snprintf(buf, n, "net");
}

static int s_grant(const sk_invoice_t *inv, const sk_override_change_t *c, sk_override_result_t *r,
                   sk_err_t *err)
{
    if (inv->status == SK_INV_CANCELLED)
        return sk_err_set(err, "not_open", "a grant on order %s, which is cancelled",
                          inv->order_id);
    if (s_tier_ok(inv, c->tier, err))
        return -1;
    int j = c->payment;
    if (inv->npayments == 0 || j != inv->npayments - 1)
        return sk_err_set(err, "bad_payment",
                          "order %s: payment %d is not its last payment (it has %d)", inv->order_id,
                          j, inv->npayments);
    const sk_schedule_t *s = &inv->schedule;
    const sk_applied_t *p = &inv->payments[j];
    int k = c->tier;
    if (p->date <= s->tiers[k].last_day) {
        char d1[16], d2[16];
        return sk_err_set(err, "not_after_window",
                          "payment %d of %s was inside tier %d's window (to %s): nothing to grant",
                          j, sk_date_format(p->date, d1, sizeof d1), k,
                          sk_date_format(s->tiers[k].last_day, d2, sizeof d2));
    }
    /* Settled again from the balance it found, as if paid on the tier's last
     * day; sk_schedule_tier_on puts that day in tier k (last days increase). */
    int64_t before = p->balance_after + p->settled;
    sk_payment_t pay = {s->tiers[k].last_day, p->paid, inv->payment_full[j]};
    sk_applied_t a;
    int64_t bal = before;
    if (sk_settle_apply(s, &bal, &pay, &a, err) != 0)
        return -1;
    a.date = p->date;
    sk_invoice_t *nw = &r->inv;
    nw->payments[j] = a;
    nw->balance = bal;
    nw->discount_total += a.discount - p->discount;
    nw->unearned_total += a.unearned_discount - p->unearned_discount;
    if (bal == 0)
        nw->status = SK_INV_PAID;
    r->effect = a.discount - p->discount;
    s_tier_text(p->tier, r->old_value, sizeof r->old_value);
    s_tier_text(k, r->new_value, sizeof r->new_value);
    return 0;
}

static int s_waive(const sk_invoice_t *inv, sk_override_result_t *r, sk_err_t *err)
{
    if (s_open(inv, "a waiver", err))
        return -1;
    const sk_applied_t *p = inv->npayments ? &inv->payments[inv->npayments - 1] : NULL;
    if (!p || p->unearned_discount <= 0 || inv->balance <= 0)
        return sk_err_set(err, "nothing_to_waive",
                          "order %s: its last payment left no unearned discount", inv->order_id);
    int64_t w = p->unearned_discount < inv->balance ? p->unearned_discount : inv->balance;
    sk_invoice_t *nw = &r->inv;
    sk_applied_t *a = &nw->payments[inv->npayments - 1];
    a->discount += w;
    a->settled += w;
    a->unearned_discount -= w;
    a->balance_after -= w;
    nw->balance -= w;
    nw->discount_total += w;
    nw->unearned_total -= w;
    if (nw->balance == 0)
        nw->status = SK_INV_PAID;
    r->effect = w;
    const sk_currency_t *cur = inv->schedule.currency;
    char m[32];
    snprintf(r->old_value, sizeof r->old_value, "%s unearned",
             sk_money_format(p->unearned_discount, cur, m, sizeof m));
    snprintf(r->new_value, sizeof r->new_value, "%s unearned",
             sk_money_format(p->unearned_discount - w, cur, m, sizeof m));
    return 0;
}

int sk_override_apply(const sk_invoice_t *inv, const sk_override_change_t *c, sk_day_t today,
                      sk_override_result_t *out, sk_err_t *err)
{
    if (!inv || !c || !out || (const void *)out == (const void *)inv)
        return sk_err_set(err, "bad_request", "no invoice, no change or no separate result");
    if (!inv->schedule.currency || inv->npayments < 0 || inv->npayments > SK_INVOICE_MAX_PAYMENTS ||
        inv->schedule.ntiers < 0 || inv->schedule.ntiers > SK_TERMS_MAX_TIERS)
        return sk_err_set(err, "bad_invoice", "order %s: the stored invoice is malformed",
                          inv->order_id);
    /* Built in *out (an invoice is several KiB: not copied twice). */
    sk_override_result_t *r = out;
    memset(r, 0, sizeof *r);
    r->inv = *inv;
    int rc;
    switch (c->kind) {
    case SK_OVERRIDE_EXTEND:
        rc = s_extend(inv, c, today, r, err);
        break;
    case SK_OVERRIDE_GRANT:
        rc = s_grant(inv, c, r, err);
        break;
    case SK_OVERRIDE_RATE:
        rc = s_rate(inv, c, today, r, err);
        break;
    case SK_OVERRIDE_WAIVE:
        rc = s_waive(inv, r, err);
        break;
    default:
        return sk_err_set(err, "bad_kind", "unknown override kind %d", (int)c->kind);
    }
    if (rc != 0)
        return -1;
    if (r->effect <= 0)
        return sk_err_set(err, "no_effect",
                          "%s on order %s grants no discount: nothing would change",
                          sk_override_kind_name(c->kind), inv->order_id);
    r->inv.rev = inv->rev + 1;
    return 0;
}

/* ---------------------------------------------------------------- deciding */

sk_override_role_t sk_override_role_parse(const char *name)
{
    if (!name)
        return SK_OVERRIDE_ROLE_OTHER;
    if (!strcmp(name, "sales"))
        return SK_OVERRIDE_ROLE_SALES;
    if (!strcmp(name, "sales_director"))
        return SK_OVERRIDE_ROLE_SALES_DIRECTOR;
    if (!strcmp(name, "finance_director"))
        return SK_OVERRIDE_ROLE_FINANCE_DIRECTOR;
    return SK_OVERRIDE_ROLE_OTHER;
}

int sk_override_threshold(const sk_override_thresholds_t *th, const char *currency, int64_t *above)
{
    for (int i = 0; th && currency && i < th->n && i < SK_OVERRIDE_MAX_THRESHOLDS; i++)
        if (th->t[i].currency && !strcmp(th->t[i].currency->code, currency)) {
            *above = th->t[i].above;
            return 0;
        }
    return -1;
}

const char *sk_decision_name(sk_decision_t d)
{
    switch (d) {
    case SK_DECISION_ALLOWED:
        return "allowed";
    case SK_DECISION_BAD_REQUEST:
        return "bad_request";
    case SK_DECISION_NOT_A_DIRECTOR:
        return "not_a_director";
    case SK_DECISION_SELF_APPROVAL:
        return "self_approval";
    case SK_DECISION_STALE:
        return "stale";
    case SK_DECISION_EXPIRED:
        return "expired";
    case SK_DECISION_NEEDS_FINANCE_DIRECTOR:
        return "needs_finance_director";
    }
    return "unknown";
}

static sk_decision_t s_why(sk_decision_t d, char *msg, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sk_decision_t s_why(sk_decision_t d, char *msg, size_t n, const char *fmt, ...)
{
    if (msg && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, n, fmt, ap);
        va_end(ap);
    }
    return d;
}

sk_decision_t sk_override_decide(const sk_override_request_t *req, const sk_override_decider_t *by,
                                 int64_t current_rev, int64_t now_ms, int64_t ttl_ms,
                                 const sk_override_thresholds_t *th, char *msg, size_t n)
{
    const sk_currency_t *cur = req && req->currency ? sk_currency_find(req->currency) : NULL;
    if (!req || !by || !req->requested_by || !req->requested_by[0] || !by->user || !by->user[0] ||
        !cur || req->effect < 0 || req->effect > SK_MONEY_MAX || req->created_at_ms > now_ms ||
        ttl_ms <= 0)
        return s_why(SK_DECISION_BAD_REQUEST, msg, n,
                     "the request record is inconsistent (requester, currency, effect or time)");
    bool finance = by->role == SK_OVERRIDE_ROLE_FINANCE_DIRECTOR;
    if (!finance && by->role != SK_OVERRIDE_ROLE_SALES_DIRECTOR)
        return s_why(SK_DECISION_NOT_A_DIRECTOR, msg, n,
                     "%s is not a sales or finance director: only directors decide overrides",
                     by->user);
    if (!strcmp(by->user, req->requested_by))
        return s_why(SK_DECISION_SELF_APPROVAL, msg, n,
                     "%s made this request: another director must decide it", by->user);
    if (!by->approve)
        return s_why(SK_DECISION_ALLOWED, msg, n, "rejected by %s", by->user);
    if (current_rev != req->invoice_rev)
        return s_why(SK_DECISION_STALE, msg, n,
                     "the invoice is at revision %" PRId64 ", the request was made against %" PRId64
                     ": make it again",
                     current_rev, req->invoice_rev);
    /* Subtraction, not created + ttl: no overflow for any recorded instant. */
    if (now_ms - req->created_at_ms > ttl_ms)
        return s_why(SK_DECISION_EXPIRED, msg, n,
                     "the request expired %" PRId64 " ms ago: make it again",
                     now_ms - req->created_at_ms - ttl_ms);
    if (!finance) {
        int64_t above;
        if (sk_override_threshold(th, cur->code, &above) != 0)
            return s_why(SK_DECISION_NEEDS_FINANCE_DIRECTOR, msg, n,
                         "no threshold is set for %s: a finance director must approve", cur->code);
        if (req->effect > above) {
            char a1[32], a2[32];
            return s_why(SK_DECISION_NEEDS_FINANCE_DIRECTOR, msg, n,
                         "the effect %s %s is above %s %s: a finance director must approve",
                         sk_money_format(req->effect, cur, a1, sizeof a1), cur->code,
                         sk_money_format(above, cur, a2, sizeof a2), cur->code);
        }
    }
    return s_why(SK_DECISION_ALLOWED, msg, n, "approved by %s", by->user);
}
