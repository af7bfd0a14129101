/* invoice_rules — see invoice_rules.h. No I/O: every input is a decoded
 * struct, every output goes into the change. */
#include "invoice_rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sk_fmt.h"

void sk_invoice_init(sk_invoice_t *inv)
{
    memset(inv, 0, sizeof *inv);
    inv->invoice_date = -1;
    inv->delivery_date = -1;
    inv->status = SK_INV_OPEN;
    inv->schedule.rounding = SK_ROUND_HALF_UP;
}

const sk_invoice_override_t *sk_invoice_find_override(const sk_invoice_t *inv, const char *id)
{
    for (int i = 0; i < inv->noverrides && i < SK_INVOICE_MAX_OVERRIDES; i++)
        if (!strcmp(inv->overrides[i].id, id))
            return &inv->overrides[i];
    return NULL;
}

bool sk_schedule_redo_override(sk_schedule_t *s, int kind, int tier, sk_day_t new_last_day,
                               int32_t new_rate_ppm)
{
    if (kind != 1 && kind != 3)
        return true; /* a grant or waiver settles a payment again: no schedule change */
    if (tier < 0 || tier >= s->ntiers)
        return false;
    sk_schedule_tier_t *t = &s->tiers[tier];
    if (kind == 1) {
        sk_day_t lo = tier > 0 ? s->tiers[tier - 1].last_day : s->baseline - 1;
        sk_day_t hi = tier + 1 < s->ntiers ? s->tiers[tier + 1].last_day : s->net_due;
        if (new_last_day <= lo || new_last_day >= hi)
            return false;
        t->last_day = new_last_day;
    } else {
        int32_t hi = tier > 0 ? s->tiers[tier - 1].rate_ppm : SK_PPM;
        int32_t lo = tier + 1 < s->ntiers ? s->tiers[tier + 1].rate_ppm : 0;
        if (new_rate_ppm <= lo || new_rate_ppm >= hi)
            return false;
        t->rate_ppm = new_rate_ppm;
        t->discount = sk_money_apply_rate(s->discount_base, new_rate_ppm, s->rounding);
        t->payable = s->amount - t->discount;
    }
    sk_schedule_annual_rates(s);
    return true;
}

const char *sk_invoice_status_name(sk_invoice_status_t st)
{
    switch (st) {
    case SK_INV_OPEN:
        return "open";
    case SK_INV_PAID:
        return "paid";
    case SK_INV_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

/* ---------------------------------------------------------------- rules on their own */

const char *sk_terms_that_apply(const char *order_terms, const char *inline_customer_terms,
                                const char *stored_customer_terms, sk_terms_source_t *source)
{
    sk_terms_source_t src = SK_TERMS_FROM_NONE;
    const char *t = NULL;
    if (order_terms && order_terms[0])
        t = order_terms, src = SK_TERMS_FROM_ORDER;
    else if (inline_customer_terms && inline_customer_terms[0])
        t = inline_customer_terms, src = SK_TERMS_FROM_INLINE_CUSTOMER;
    else if (stored_customer_terms && stored_customer_terms[0])
        t = stored_customer_terms, src = SK_TERMS_FROM_CUSTOMER;
    if (source)
        *source = src;
    return t;
}

int64_t sk_tax_prorate(int64_t tax, int64_t amount, int64_t new_amount)
{
    int64_t t = sk_div_round((__int128)tax * new_amount, amount, SK_ROUND_HALF_UP);
    if (t >= new_amount)
        t = new_amount - 1;
    return t;
}

int sk_history_usual_tier(const sk_history_t *hist, int ntiers)
{
    if (!hist)
        return -1;
    int best = -1;
    int64_t best_count = 0;
    /* Slot SK_TERMS_MAX_TIERS is net: the latest option, so it wins a tie. */
    for (int s = 0; s <= SK_TERMS_MAX_TIERS; s++) {
        int64_t c = s < SK_TERMS_MAX_TIERS ? hist->tier[s] : hist->net;
        if (c > 0 && c >= best_count) {
            best = s;
            best_count = c;
        }
    }
    return best >= 0 && best < ntiers ? best : -1;
}

void sk_invoice_forecast(sk_invoice_t *inv, int hist_tier)
{
    const sk_schedule_t *s = &inv->schedule;
    inv->fc_hist_amount = inv->fc_net_amount = 0;
    inv->fc_hist_day = inv->fc_net_day = 0;
    if (inv->status != SK_INV_OPEN || inv->balance <= 0)
        return;
    int64_t b = inv->balance;
    inv->fc_net_day = s->net_due;
    inv->fc_net_amount = b;
    if (hist_tier >= 0 && hist_tier < s->ntiers) {
        inv->fc_hist_day = s->tiers[hist_tier].last_day;
        inv->fc_hist_amount = b - sk_money_apply_rate(b, s->tiers[hist_tier].rate_ppm, s->rounding);
    } else {
        inv->fc_hist_day = s->net_due;
        inv->fc_hist_amount = b;
    }
}

int sk_invoice_forecast_tier(const sk_invoice_t *inv)
{
    if (!inv->fc_hist_amount)
        return -1;
    for (int k = 0; k < inv->schedule.ntiers; k++)
        if (inv->schedule.tiers[k].last_day == inv->fc_hist_day)
            return k;
    return -1;
}

char *sk_forecast_field(char *buf, sk_day_t day, const sk_currency_t *cur)
{
    int y, m, d;
    sk_date_to_ymd(day, &y, &m, &d);
    buf[0] = (char)('0' + y / 1000 % 10);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '|';
    memcpy(buf + 11, cur ? cur->code : "", cur ? 4 : 1);
    return buf;
}

/* ---------------------------------------------------------------- building a change */

static void s_reset(sk_invoice_change_t *ch)
{
    ch->outcome = SK_CHANGE_APPLY;
    ch->code[0] = '\0';
    ch->msg[0] = '\0';
    ch->ndeltas = 0;
    ch->open_op = SK_SET_KEEP;
    ch->open_score = 0;
}

static sk_change_outcome_t s_say(sk_invoice_change_t *ch, sk_change_outcome_t outcome,
                                 const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the outcome, its code and message; returns the outcome. */
static sk_change_outcome_t s_say(sk_invoice_change_t *ch, sk_change_outcome_t outcome,
                                 const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ch->msg, sizeof ch->msg, fmt, ap);
    va_end(ap);
    snprintf(ch->code, sizeof ch->code, "%s", code);
    ch->outcome = outcome;
    return outcome;
}

static void s_delta(sk_invoice_change_t *ch, sk_tally_t counter, const char *field, int64_t delta)
{
    if (delta == 0)
        return;
    for (int i = 0; i < ch->ndeltas; i++)
        if (ch->deltas[i].counter == counter && !strcmp(ch->deltas[i].field, field)) {
            ch->deltas[i].delta += delta;
            return;
        }
    if (ch->ndeltas == SK_CHANGE_MAX_DELTAS)
        return; /* cannot happen: see SK_CHANGE_MAX_DELTAS */
    sk_delta_t *d = &ch->deltas[ch->ndeltas++];
    d->counter = counter;
    sk_text_t t = sk_text(d->field, sizeof d->field); /* cut as snprintf would; per delta */
    sk_text_str(&t, field);
    d->delta = delta;
}

int64_t sk_change_delta(const sk_invoice_change_t *ch, sk_tally_t counter, const char *field)
{
    for (int i = 0; i < ch->ndeltas; i++)
        if (ch->deltas[i].counter == counter && !strcmp(ch->deltas[i].field, field))
            return ch->deltas[i].delta;
    return 0;
}

/* Drops the deltas that summed to 0 (a forecast that stayed where it was). */
static void s_compact(sk_invoice_change_t *ch)
{
    int n = 0;
    for (int i = 0; i < ch->ndeltas; i++)
        if (ch->deltas[i].delta != 0)
            ch->deltas[n++] = ch->deltas[i];
    ch->ndeltas = n;
}

/* "YYYY-MM" of day into buf (>= 8 bytes). */
static char *s_month(char *buf, sk_day_t day)
{
    char d[16];
    sk_date_format(day, d, sizeof d);
    memcpy(buf, d, 7);
    buf[7] = '\0';
    return buf;
}

/* The sales inv counts (see sk_invoice_policy), with sign. */
static void s_sales(sk_invoice_change_t *ch, const sk_invoice_t *inv, int sign)
{
    char f[32], mo[8];
    if (!inv || inv->status == SK_INV_CANCELLED || inv->schedule.amount <= 0 ||
        !inv->schedule.currency)
        return;
    sk_text_t t = sk_text(f, sizeof f); /* "s|%s|%s" */
    sk_text_str(&t, "s|");
    sk_text_str(&t, s_month(mo, inv->schedule.baseline));
    sk_text_char(&t, '|');
    sk_text_str(&t, inv->schedule.currency->code);
    s_delta(ch, SK_COUNTER_POLICY, f, sign * inv->schedule.amount);
}

/* The rate buckets of inv's close by payment in month mo (see
 * sk_invoice_policy): per tier, its amount under the tier's own rates and
 * days, so that the report weighs each invoice's rate by its amount where
 * days differ per invoice (end-of-month, fixed-day terms) or an override
 * changed a rate. */
static void s_policy_buckets(sk_invoice_change_t *ch, const sk_invoice_t *inv, const char *mo,
                             int sign)
{
    /* fits the delta's field: rates < 10^6, days within the ten years of
     * SK_TERMS_MAX_DAYS (5 digits), terms < SK_TERMS_MAX_LEN: 297 bytes (a
     * longer one cannot be: it is skipped rather than cut) */
    char f[SK_ID_MAX + 48];
    const sk_schedule_t *s = &inv->schedule;
    for (int k = 0; k < s->ntiers; k++) {
        bool last = k + 1 == s->ntiers;
        int32_t next = last ? 0 : s->tiers[k + 1].rate_ppm;
        int dnet = (int)(s->net_due - s->tiers[k].last_day);
        int dnext = last ? dnet : (int)(s->tiers[k + 1].last_day - s->tiers[k].last_day);
        int n = snprintf(f, sizeof f, "%s|w%" PRId32 ",%" PRId32 ",%d,%d|%s|t%d|%s", mo,
                         s->tiers[k].rate_ppm, next, dnet, dnext, s->currency->code, k, inv->terms);
        if (n > 0 && (size_t)n < sizeof f)
            s_delta(ch, SK_COUNTER_POLICY, f, sign * s->amount);
    }
}

/* One per-salesperson field "M|x|SP" (cur: "M|x.CUR|SP"), by delta. */
static void s_sp_delta(sk_invoice_change_t *ch, const char *mo, const char *x, const char *cur,
                       const char *sp, int64_t delta)
{
    char f[SK_ID_MAX + 48];
    snprintf(f, sizeof f, "%s|%s%s%s|%s", mo, x, cur ? "." : "", cur ? cur : "", sp);
    s_delta(ch, SK_COUNTER_PSP, f, delta);
}

/* The per-salesperson policy counters of inv's close by payment (see
 * sk_invoice_policy), with sign: mo its close month, taken whether it was
 * closed in a tier, attempts and unearned its unearned discounts. */
static void s_policy_salesperson(sk_invoice_change_t *ch, const sk_invoice_t *inv, const char *mo,
                                 bool taken, int64_t attempts, int64_t unearned, int sign)
{
    const char *cur = inv->schedule.currency->code, *sp = inv->salesperson;
    s_sp_delta(ch, mo, "n", NULL, sp, sign);
    s_sp_delta(ch, mo, "tk", NULL, sp, taken ? sign : 0);
    s_sp_delta(ch, mo, "dc", cur, sp, sign * inv->discount_total);
    s_sp_delta(ch, mo, "a", cur, sp, sign * inv->schedule.amount);
    s_sp_delta(ch, mo, "un", NULL, sp, sign * attempts);
    s_sp_delta(ch, mo, "ua", cur, sp, sign * unearned);
}

/* The policy counters of inv's close by payment in `tier` (see
 * sk_invoice_policy), with sign. */
static void s_policy(sk_invoice_change_t *ch, const sk_invoice_t *inv, int tier, int sign)
{
    char f[SK_ID_MAX + 48], mo[8], t[16], d[16];
    const sk_schedule_t *s = &inv->schedule;
    const char *cur = s->currency->code, *T = inv->terms;
    if (tier >= 0)
        snprintf(t, sizeof t, "t%d", tier);
    else
        snprintf(t, sizeof t, "net");
    sk_day_t closed = inv->npayments > 0 ? inv->payments[inv->npayments - 1].date : s->net_due;
    s_month(mo, closed);
    int64_t cash = 0, cash_days = 0, unearned = 0, attempts = 0, early = 0;
    for (int k = 0; k < inv->npayments && k < SK_INVOICE_MAX_PAYMENTS; k++) {
        const sk_applied_t *a = &inv->payments[k];
        int64_t c = a->paid - a->overpaid;
        cash += c;
        cash_days += c * (int64_t)(s->net_due - a->date);
        if (a->date < s->net_due)
            early += c;
        if (a->unearned_discount > 0) {
            attempts++;
            unearned += a->unearned_discount;
        }
    }
    int64_t before = (int64_t)(s->net_due - closed);
#define S_POL(x, tr, v)                                                                                do {                                                                                                   snprintf(f, sizeof f, "%s|%s|%s|%s|%s", mo, x, cur, tr, T);                                        s_delta(ch, SK_COUNTER_POLICY, f, sign * (int64_t)(v));                                        } while (0)
    S_POL("n", "*", 1);
    S_POL("a", "*", s->amount);
    for (int k = 0; k < s->ntiers; k++) {
        snprintf(d, sizeof d, "t%d", k);
        S_POL("dn", d, s->amount * (int64_t)(s->net_due - s->tiers[k].last_day));
    }
    S_POL("tk", t, 1);
    S_POL("dc", t, inv->discount_total);
    S_POL("pa", t, cash);
    S_POL("pd", t, cash_days);
    S_POL("ds", t, before);
#undef S_POL
    s_policy_buckets(ch, inv, mo, sign);
    if (early > 0) {
        char nd[16];
        snprintf(f, sizeof f, "pn|%s|%s", sk_date_format(s->net_due, nd, sizeof nd), cur);
        s_delta(ch, SK_COUNTER_POLICY, f, sign * early);
    }
    const char *C = inv->customer_id;
#define S_CUS(x, v)                                                                                    do {                                                                                                   snprintf(f, sizeof f, "%s|%s|%s", mo, x, C);                                                       s_delta(ch, SK_COUNTER_PCUST, f, sign * (int64_t)(v));                                         } while (0)
    S_CUS("n", 1);
    S_CUS(t, 1);
    S_CUS("ot", before >= 0 ? 1 : 0);
    S_CUS("ds", before);
    S_CUS("un", attempts);
    char ua[16];
    snprintf(ua, sizeof ua, "ua.%s", cur);
    S_CUS(ua, unearned);
    char dc[16];
    snprintf(dc, sizeof dc, "dc.%s", cur);
    S_CUS(dc, inv->discount_total);
    if (s->ntiers > 0) {
        S_CUS("in", 1);
        S_CUS("ir", s->tiers[0].rate_ppm);
        S_CUS("ig", (int64_t)(closed - s->tiers[0].last_day));
    }
#undef S_CUS
    s_policy_salesperson(ch, inv, mo, tier >= 0, attempts, unearned, sign);
}

/* What moves the forecast (and the sales) from old (NULL: none) to new. */
static void s_forecast_deltas(sk_invoice_change_t *ch, const sk_invoice_t *old)
{
    char f[24];
    const sk_invoice_t *nw = &ch->inv;
    s_sales(ch, old, -1);
    s_sales(ch, nw, +1);
    if (old && old->fc_hist_amount)
        s_delta(ch, SK_COUNTER_FC_HIST,
                sk_forecast_field(f, old->fc_hist_day, old->schedule.currency),
                -old->fc_hist_amount);
    if (old && old->fc_net_amount)
        s_delta(ch, SK_COUNTER_FC_NET,
                sk_forecast_field(f, old->fc_net_day, old->schedule.currency), -old->fc_net_amount);
    if (nw->fc_hist_amount)
        s_delta(ch, SK_COUNTER_FC_HIST,
                sk_forecast_field(f, nw->fc_hist_day, nw->schedule.currency), nw->fc_hist_amount);
    if (nw->fc_net_amount)
        s_delta(ch, SK_COUNTER_FC_NET, sk_forecast_field(f, nw->fc_net_day, nw->schedule.currency),
                nw->fc_net_amount);
}

static void s_offered(sk_invoice_change_t *ch, const sk_schedule_t *s, int sign)
{
    char f[48];
    for (int k = 0; k < s->ntiers; k++) {
        sk_text_t t = sk_text(f, sizeof f); /* "offered|t%d|%d", per tier and order */
        sk_text_str(&t, "offered|t");
        sk_text_int(&t, k);
        sk_text_char(&t, '|');
        sk_text_int(&t, s->tiers[k].rate_ppm);
        s_delta(ch, SK_COUNTER_TAKEUP, f, sign);
    }
}

/* Take-up of inv closed by a payment in `tier` (-1: after every window),
 * counted (sign +1) or taken back (-1). */
static void s_takeup(sk_invoice_change_t *ch, const sk_invoice_t *inv, int tier, int sign)
{
    char f[SK_ID_MAX + 48], t[16];
    if (tier >= 0) {
        snprintf(t, sizeof t, "t%d", tier);
        snprintf(f, sizeof f, "taken|t%d|%" PRId32, tier, inv->schedule.tiers[tier].rate_ppm);
    } else {
        snprintf(t, sizeof t, "net");
        snprintf(f, sizeof f, "taken|net");
    }
    s_delta(ch, SK_COUNTER_TAKEUP, f, sign);
    if (inv->salesperson[0]) {
        snprintf(f, sizeof f, "sp|%s|%s", inv->salesperson, t);
        s_delta(ch, SK_COUNTER_TAKEUP, f, sign);
    }
    s_delta(ch, SK_COUNTER_HISTORY, t, sign);
    s_delta(ch, SK_COUNTER_HISTORY, "n", sign);
    if (inv->discount_total > 0) {
        snprintf(f, sizeof f, "disc|%s", inv->schedule.currency->code);
        s_delta(ch, SK_COUNTER_TAKEUP, f, sign * inv->discount_total);
    }
    s_policy(ch, inv, tier, sign);
}

/* Take-up of the new invoice, closed by a payment in `tier` (-1: after every window). */
static void s_takeup_close(sk_invoice_change_t *ch, int tier)
{
    s_takeup(ch, &ch->inv, tier, +1);
}

/* The customer's open set for the new state: open -> in it by net due (when
 * asked), closed -> out of it. */
static void s_sets(sk_invoice_change_t *ch, bool set_open)
{
    const sk_invoice_t *nw = &ch->inv;
    if (nw->status != SK_INV_OPEN) {
        ch->open_op = SK_SET_REMOVE;
    } else if (set_open) {
        ch->open_op = SK_SET_ADD;
        ch->open_score = nw->schedule.net_due;
    }
}

/* Copies a validated id (at most SK_ID_MAX bytes) into an SK_ID_MAX + 1 buffer. */
static void s_copy_id(char *dst, const char *src)
{
    size_t n = src ? strnlen(src, SK_ID_MAX) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* ---------------------------------------------------------------- the events */

sk_change_outcome_t sk_invoice_on_order(const sk_invoice_t *old, const sk_order_event_t *o,
                                        const sk_history_t *hist, sk_invoice_change_t *ch)
{
    sk_err_t err;
    s_reset(ch);
    if (!o->terms || !o->terms[0])
        return s_say(ch, SK_CHANGE_ERROR, "bad_terms",
                     "order %s has no terms and customer %s has none", o->order_id, o->customer_id);
    sk_terms_t terms;
    if (sk_terms_parse(o->terms, &terms, &err) != 0)
        return s_say(ch, SK_CHANGE_ERROR, err.code, "order %s: %s", o->order_id, err.msg);
    const sk_currency_t *cur = sk_currency_find(o->currency);
    if (!cur || o->ship_date == SK_DAY_INVALID)
        return s_say(ch, SK_CHANGE_ERROR, "bad_event", "order %s: bad currency or ship date",
                     o->order_id);
    uint32_t ver = o->version ? o->version : 1;

    if (old) {
        if (strcmp(old->customer_id, o->customer_id))
            return s_say(ch, SK_CHANGE_ERROR, "customer_mismatch",
                         "order %s belongs to customer %s, not %s", o->order_id, old->customer_id,
                         o->customer_id);
        if (ver <= old->version)
            return s_say(ch, SK_CHANGE_NONE, "stale_version",
                         "order %s version %u ignored: version %u is stored", o->order_id, ver,
                         old->version);
        if (old->status != SK_INV_OPEN)
            return s_say(ch, SK_CHANGE_ERROR, "not_open", "order %s is %s; version %u not applied",
                         o->order_id, sk_invoice_status_name(old->status), ver);
        if (strcmp(old->schedule.currency->code, cur->code))
            return s_say(ch, SK_CHANGE_ERROR, "currency_mismatch",
                         "order %s is in %s, version %u in %s", o->order_id,
                         old->schedule.currency->code, ver, cur->code);
    }

    sk_invoice_t *nw = &ch->inv;
    if (old)
        *nw = *old;
    else
        sk_invoice_init(nw);
    s_copy_id(nw->order_id, o->order_id);
    s_copy_id(nw->customer_id, o->customer_id);
    s_copy_id(nw->salesperson, o->salesperson);
    sk_terms_format(&terms, nw->terms, sizeof nw->terms);
    if (o->invoice_date == SK_DAY_INVALID)
        return s_say(ch, SK_CHANGE_ERROR, "bad_event", "bad invoice date");
    if (o->delivery_date == SK_DAY_INVALID)
        return s_say(ch, SK_CHANGE_ERROR, "bad_event", "bad delivery date");
    nw->invoice_date = o->invoice_date;
    nw->delivery_date = o->delivery_date;
    nw->version = ver;
    nw->rev = old ? old->rev + 1 : 1;

    /* A replacement keeps the payments and credit notes already applied. */
    int64_t amount = o->amount, tax = o->tax;
    if (old && old->credit_total > 0) {
        amount = o->amount - old->credit_total;
        if (amount <= 0) {
            char cn[32], am[32];
            return s_say(ch, SK_CHANGE_ERROR, "credit_above_amount",
                         "order %s version %u: credit notes of %s %s exceed the new amount %s %s",
                         o->order_id, ver, sk_money_format(old->credit_total, cur, cn, sizeof cn),
                         cur->code, sk_money_format(o->amount, cur, am, sizeof am), cur->code);
        }
        tax = sk_tax_prorate(o->tax, o->amount, amount);
    }
    if (sk_schedule_compute(&terms, o->ship_date, amount, tax, cur, NULL, &nw->schedule, &err) != 0)
        return s_say(ch, SK_CHANGE_ERROR, err.code, "order %s: %s", o->order_id, err.msg);
    int64_t settled = 0;
    for (int k = 0; k < nw->npayments; k++)
        settled += nw->payments[k].settled;
    nw->balance = amount - settled;
    nw->status = SK_INV_OPEN;
    if (nw->balance <= 0) {
        nw->balance = 0;
        nw->status = SK_INV_PAID; /* closed by the new amount: no take-up to count */
        s_say(ch, SK_CHANGE_APPLY, "", "order %s version %u: payments cover the new amount; closed",
              o->order_id, ver);
    }
    sk_invoice_forecast(nw, sk_history_usual_tier(hist, nw->schedule.ntiers));
    s_forecast_deltas(ch, old);
    if (old)
        s_offered(ch, &old->schedule, -1);
    s_offered(ch, &nw->schedule, +1);
    s_sets(ch, true);
    s_compact(ch);
    return ch->outcome;
}

/* What a payment or credit note needs before it can touch an invoice: the
 * invoice exists (else wait for it), is open, and is in the event's currency
 * if the event names one. Returns true when the outcome is already decided. */
static bool s_needs_open_invoice(sk_invoice_change_t *ch, const sk_invoice_t *old, const char *what,
                                 const char *order_id, const char *currency)
{
    if (!old) {
        ch->outcome = SK_CHANGE_NOINV;
        return true;
    }
    if (old->status != SK_INV_OPEN) {
        s_say(ch, SK_CHANGE_ERROR, "not_open", "%s on order %s, which is %s: not recorded", what,
              order_id, sk_invoice_status_name(old->status));
        return true;
    }
    if (currency && currency[0] && strcmp(currency, old->schedule.currency->code)) {
        s_say(ch, SK_CHANGE_ERROR, "currency_mismatch", "%s in %s on order %s in %s: not recorded",
              what, currency, order_id, old->schedule.currency->code);
        return true;
    }
    return false;
}

sk_change_outcome_t sk_invoice_on_payment(const sk_invoice_t *old, const sk_payment_event_t *p,
                                          sk_invoice_change_t *ch)
{
    sk_err_t err;
    s_reset(ch);
    if (s_needs_open_invoice(ch, old, "payment", p->order_id, p->currency))
        return ch->outcome;
    if (old->npayments >= SK_INVOICE_MAX_PAYMENTS)
        return s_say(ch, SK_CHANGE_ERROR, "too_many_payments",
                     "order %s already has %d payments: not recorded", p->order_id,
                     SK_INVOICE_MAX_PAYMENTS);
    if (p->paid_on == SK_DAY_INVALID)
        return s_say(ch, SK_CHANGE_ERROR, "bad_event", "bad payment date");
    sk_payment_t pay = {p->paid_on, p->amount, p->full};

    sk_invoice_t *nw = &ch->inv;
    *nw = *old;
    sk_applied_t a;
    int64_t bal = old->balance;
    if (sk_settle_apply(&old->schedule, &bal, &pay, &a, &err) != 0)
        return s_say(ch, SK_CHANGE_ERROR, err.code, "payment on order %s not recorded: %s",
                     p->order_id, err.msg);
    nw->payments[nw->npayments] = a;
    nw->payment_full[nw->npayments] = p->full;
    nw->npayments++;
    nw->balance = bal;
    nw->discount_total += a.discount;
    nw->unearned_total += a.unearned_discount;
    nw->rev = old->rev + 1;
    if (bal == 0)
        nw->status = SK_INV_PAID;
    sk_invoice_forecast(nw, sk_invoice_forecast_tier(old));
    s_forecast_deltas(ch, old);
    if (bal == 0)
        s_takeup_close(ch, a.tier);
    s_sets(ch, false);
    s_compact(ch);
    return ch->outcome;
}

sk_change_outcome_t sk_invoice_on_credit(const sk_invoice_t *old, const sk_credit_event_t *c,
                                         sk_invoice_change_t *ch)
{
    sk_err_t err;
    s_reset(ch);
    if (s_needs_open_invoice(ch, old, "credit note", c->order_id, c->currency))
        return ch->outcome;
    if (c->amount <= 0 || c->amount > old->balance) {
        const sk_currency_t *cur = old->schedule.currency;
        char cn[32], bal[32];
        return s_say(ch, SK_CHANGE_ERROR, "credit_above_balance",
                     "credit note of %s %s on order %s is above its open balance %s %s: not "
                     "recorded",
                     sk_money_format(c->amount, cur, cn, sizeof cn), cur->code, c->order_id,
                     sk_money_format(old->balance, cur, bal, sizeof bal), cur->code);
    }
    sk_invoice_t *nw = &ch->inv;
    *nw = *old;
    int64_t amount = old->schedule.amount - c->amount;
    nw->balance = old->balance - c->amount;
    nw->credit_total += c->amount;
    nw->rev = old->rev + 1;
    if (amount > 0) {
        sk_terms_t terms;
        int64_t tax = sk_tax_prorate(old->schedule.tax, old->schedule.amount, amount);
        if (sk_terms_parse(old->terms, &terms, &err) != 0 ||
            sk_schedule_compute(&terms, old->schedule.baseline, amount, tax, old->schedule.currency,
                                NULL, &nw->schedule, &err) != 0)
            return s_say(ch, SK_CHANGE_ERROR, err.code, "credit note on order %s: %s", c->order_id,
                         err.msg);
        /* The approved overrides of this version still stand: a credit note
         * changes the amount, not the windows a director agreed to. */
        for (int k = 0; k < nw->noverrides && k < SK_INVOICE_MAX_OVERRIDES; k++) {
            const sk_invoice_override_t *o = &nw->overrides[k];
            if (o->version == nw->version)
                sk_schedule_redo_override(&nw->schedule, o->kind, o->tier, o->new_last_day,
                                          o->new_rate_ppm);
        }
    } else {
        /* Credited in full: nothing is left to discount. */
        nw->schedule.amount = nw->schedule.tax = nw->schedule.discount_base = 0;
        nw->schedule.ntiers = 0;
    }
    if (nw->balance == 0)
        nw->status = SK_INV_PAID; /* closed by the credit: no take-up */
    sk_invoice_forecast(nw, sk_invoice_forecast_tier(old));
    s_forecast_deltas(ch, old);
    s_sets(ch, false);
    s_compact(ch);
    return ch->outcome;
}

sk_change_outcome_t sk_invoice_on_cancel(const sk_invoice_t *old, const char *order_id,
                                         sk_invoice_change_t *ch)
{
    s_reset(ch);
    if (!old) {
        ch->outcome = SK_CHANGE_NOINV;
        return ch->outcome;
    }
    if (old->status != SK_INV_OPEN)
        return s_say(ch, SK_CHANGE_ERROR, "not_open",
                     "cancellation of order %s, which is %s: ignored", order_id,
                     sk_invoice_status_name(old->status));
    ch->inv = *old;
    ch->inv.status = SK_INV_CANCELLED;
    ch->inv.rev = old->rev + 1;
    sk_invoice_forecast(&ch->inv, -1);
    s_forecast_deltas(ch, old);
    s_sets(ch, false);
    s_compact(ch);
    return ch->outcome;
}

/* The tier of inv's last payment (-1: none, or after every window). */
static int s_last_tier(const sk_invoice_t *inv)
{
    return inv->npayments > 0 ? inv->payments[inv->npayments - 1].tier : -1;
}

void sk_invoice_policy(const sk_invoice_t *inv, sk_invoice_change_t *ch)
{
    s_reset(ch);
    s_sales(ch, inv, +1);
    /* closed by a payment: its last payment took the balance to 0 (a close
     * by credit note or by a new amount comes after it) */
    if (inv->status == SK_INV_PAID && inv->npayments > 0 &&
        inv->payments[inv->npayments - 1].balance_after == 0 && inv->schedule.currency)
        s_policy(ch, inv, s_last_tier(inv), +1);
    s_compact(ch);
}

sk_change_outcome_t sk_invoice_on_override(const sk_invoice_t *old, const sk_invoice_t *nw,
                                           sk_invoice_change_t *ch)
{
    s_reset(ch);
    ch->inv = *nw;
    sk_invoice_t *inv = &ch->inv;
    sk_invoice_forecast(inv, sk_invoice_forecast_tier(old));
    s_forecast_deltas(ch, old);
    bool rates = old->schedule.ntiers != inv->schedule.ntiers;
    for (int k = 0; !rates && k < inv->schedule.ntiers; k++)
        rates = old->schedule.tiers[k].rate_ppm != inv->schedule.tiers[k].rate_ppm;
    if (rates) {
        s_offered(ch, &old->schedule, -1);
        s_offered(ch, &inv->schedule, +1);
    }
    /* A close by payment counted its take-up (a close by credit note none). */
    bool counted = old->status == SK_INV_PAID && old->credit_total == 0;
    if (counted)
        s_takeup(ch, old, s_last_tier(old), -1);
    if (inv->status == SK_INV_PAID && (counted || old->status == SK_INV_OPEN))
        s_takeup(ch, inv, s_last_tier(inv), +1);
    s_sets(ch, false);
    s_compact(ch);
    return ch->outcome;
}
