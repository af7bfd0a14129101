/* invoice — codec between sk_invoice_t and the fields of `sk:{sN}:inv:<oid>`.
 *
 * The stored form is documented in invoice.h and docs/DATAFLOW.md. Parsing is
 * strict: every known field must be well formed and within bounds, the
 * invariants a reader relies on are checked (0 <= balance <= amount, tax <=
 * amount, tiers with decreasing rates and increasing last days before the net
 * due date, at most SK_INVOICE_MAX_PAYMENTS payments), and a failure names the
 * field. Unknown fields are ignored so later workers can add their own.
 * Rendering is the exact inverse: parse(render(x)) == x for every field kept. */
#include "invoice.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "skonto/v1/invoice_state.pb-c.h"
#include "sk_fmt.h"

#define S_VALUE_MAX 8192 /* longest value accepted (64 payments of ~70 bytes) */

_Static_assert(SK_ID_MAX == SK_EVENT_ID_MAX, "an invoice holds any id ingest accepts");

/* ---------------------------------------------------------------- parsing helpers */

/* A strict decimal integer in [min, max]: optional '-', digits, nothing else. */
static int s_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == len || len - i > 19)
        return -1;
    int64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static bool s_day_ok(int64_t day)
{
    int y, m, d;
    if (day < INT32_MIN || day > INT32_MAX)
        return false;
    sk_date_to_ymd((sk_day_t)day, &y, &m, &d);
    return y >= SK_DATE_MIN_YEAR && y <= SK_DATE_MAX_YEAR;
}

/* Splits s[0..len) at `sep`; returns the number of parts (at most max), or -1
 * if there are more. parts/lens receive pointers into s. */
static int s_split(const char *s, size_t len, char sep, const char **parts, size_t *lens, int max)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == sep) {
            if (n == max)
                return -1;
            parts[n] = s + start;
            lens[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    return n;
}

static int s_date(const char *s, size_t len, sk_day_t *out)
{
    char buf[16];
    if (len != 10)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return sk_date_parse(buf, out, NULL);
}

/* "YYYY-MM-DD|amount" with amount > 0 */
static int s_forecast(const char *s, size_t len, sk_day_t *day, int64_t *amount)
{
    if (len < 12 || s[10] != '|')
        return -1;
    if (s_date(s, 10, day) != 0)
        return -1;
    return s_int(s + 11, len - 11, 1, SK_MONEY_MAX, amount);
}

static int s_tiers(sk_invoice_t *inv, const char *s, size_t len)
{
    sk_schedule_t *sc = &inv->schedule;
    sc->ntiers = 0;
    if (len == 0)
        return 0;
    const char *items[SK_TERMS_MAX_TIERS];
    size_t ilens[SK_TERMS_MAX_TIERS];
    int n = s_split(s, len, ';', items, ilens, SK_TERMS_MAX_TIERS);
    if (n < 0)
        return -1;
    for (int k = 0; k < n; k++) {
        const char *p[3];
        size_t pl[3];
        int64_t rate, day, disc;
        if (s_split(items[k], ilens[k], ':', p, pl, 3) != 3)
            return -1;
        if (s_int(p[0], pl[0], 1, SK_PPM - 1, &rate) != 0 ||
            s_int(p[1], pl[1], INT32_MIN, INT32_MAX, &day) != 0 || !s_day_ok(day) ||
            s_int(p[2], pl[2], 0, SK_MONEY_MAX, &disc) != 0)
            return -1;
        sk_schedule_tier_t *t = &sc->tiers[k];
        memset(t, 0, sizeof *t);
        t->rate_ppm = (int32_t)rate;
        t->last_day = (sk_day_t)day;
        t->discount = disc;
        if (k > 0 && (t->rate_ppm >= sc->tiers[k - 1].rate_ppm ||
                      t->last_day <= sc->tiers[k - 1].last_day))
            return -1;
    }
    sc->ntiers = n;
    return 0;
}

static int s_pays(sk_invoice_t *inv, const char *s, size_t len)
{
    inv->npayments = 0;
    if (len == 0)
        return 0;
    const char *items[SK_INVOICE_MAX_PAYMENTS];
    size_t ilens[SK_INVOICE_MAX_PAYMENTS];
    int n = s_split(s, len, ';', items, ilens, SK_INVOICE_MAX_PAYMENTS);
    if (n < 0)
        return -1;
    for (int k = 0; k < n; k++) {
        const char *p[8];
        size_t pl[8];
        int64_t v[8];
        if (s_split(items[k], ilens[k], ':', p, pl, 8) != 8)
            return -1;
        if (s_int(p[0], pl[0], INT32_MIN, INT32_MAX, &v[0]) != 0 || !s_day_ok(v[0]) ||
            s_int(p[1], pl[1], 1, SK_MONEY_MAX, &v[1]) != 0 ||
            s_int(p[2], pl[2], -1, SK_TERMS_MAX_TIERS - 1, &v[2]) != 0 ||
            s_int(p[7], pl[7], 0, 1, &v[7]) != 0)
            return -1;
        for (int f = 3; f < 7; f++)
            if (s_int(p[f], pl[f], 0, SK_MONEY_MAX, &v[f]) != 0)
                return -1;
        sk_applied_t *a = &inv->payments[k];
        memset(a, 0, sizeof *a);
        a->date = (sk_day_t)v[0];
        a->paid = v[1];
        a->tier = (int)v[2];
        a->discount = v[3];
        a->settled = v[4];
        a->unearned_discount = v[5];
        a->overpaid = v[6];
        inv->payment_full[k] = v[7] == 1;
    }
    inv->npayments = n;
    return 0;
}

static int s_id(char *dst, const char *s, size_t len, bool required)
{
    if (len > SK_ID_MAX || (required && len == 0) || memchr(s, '\0', len))
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

/* Fills the annual rates from the stored tiers (not stored: derived from
 * their rates and last days, also for a schedule an override changed).
 * Also checks the terms parse. */
static int s_rates(sk_invoice_t *inv)
{
    sk_terms_t t;
    if (sk_terms_parse(inv->terms, &t, NULL) != 0)
        return -1;
    sk_schedule_annual_rates(&inv->schedule);
    return 0;
}

/* The invariants a reader relies on, checked after either layout is read;
 * then what is not stored is filled in (payables, annual rates, payment rates). */
static int s_finish(sk_invoice_t *inv, sk_err_t *err)
{
    sk_schedule_t *sc = &inv->schedule;
    const char *broken = NULL;
    if (inv->balance > sc->amount)
        broken = "balance above the amount";
    else if (sc->tax > sc->amount || (sc->amount > 0 && sc->tax == sc->amount))
        broken = "tax not below the amount";
    else if (sc->net_due < sc->baseline)
        broken = "net due before the baseline";
    else if (sc->ntiers > 0 && (sc->tiers[0].last_day < sc->baseline ||
                                sc->tiers[sc->ntiers - 1].last_day >= sc->net_due))
        broken = "tiers outside baseline..net due";
    if (!broken)
        for (int k = 0; k < sc->ntiers; k++)
            if (sc->tiers[k].discount > sc->amount)
                broken = "tier discount above the amount";
    if (broken)
        return sk_err_set(err, "bad_invoice", "order %s: %s", inv->order_id, broken);
    if (s_rates(inv) != 0)
        return sk_err_set(err, "bad_invoice", "order %s: field terms is malformed", inv->order_id);

    sc->discount_base = sc->amount; /* the worker computes on the gross amount */
    sc->rounding = SK_ROUND_HALF_UP;
    for (int k = 0; k < sc->ntiers; k++)
        sc->tiers[k].payable = sc->amount - sc->tiers[k].discount;
    for (int k = 0; k < inv->npayments; k++) {
        sk_applied_t *a = &inv->payments[k];
        a->rate_ppm = a->tier >= 0 && a->tier < sc->ntiers ? sc->tiers[a->tier].rate_ppm : 0;
    }
    /* balance_after is not stored: the last payment left today's balance, and
     * each one before it that plus what the next settled (exact for the last
     * payment, which is the one an override's grant settles again, when no
     * credit note came after it). */
    int64_t after = inv->balance;
    for (int k = inv->npayments - 1; k >= 0; k--) {
        inv->payments[k].balance_after = after;
        after += inv->payments[k].settled;
    }
    return 0;
}

/* ---------------------------------------------------------------- parse */

enum {
    F_C = 1 << 0, F_CUR = 1 << 1, F_AMT = 1 << 2, F_BAL = 1 << 3, F_BASE = 1 << 4,
    F_NET = 1 << 5, F_TERMS = 1 << 6, F_ST = 1 << 7, F_VER = 1 << 8, F_REV = 1 << 9,
    F_REQUIRED = (1 << 10) - 1,
};

static const char *s_required_name(unsigned missing)
{
    static const char *names[] = {"c", "cur", "amt", "bal", "base", "net", "terms", "st", "ver", "rev"};
    for (int i = 0; i < 10; i++)
        if (missing & (1u << i))
            return names[i];
    return "?";
}

int sk_invoice_from_fields(sk_invoice_t *inv, const char *order_id, size_t n, const char **fields,
                           const char **values, const size_t *value_lens, sk_err_t *err)
{
    sk_invoice_init(inv);
    if (!order_id || s_id(inv->order_id, order_id, strlen(order_id), true) != 0)
        return sk_err_set(err, "bad_invoice", "bad order id");
    if (n == 0)
        return sk_err_set(err, "unknown_order", "order %s: no invoice", inv->order_id);
    sk_schedule_t *sc = &inv->schedule;
    unsigned seen = 0;
    char cur[4] = "";

    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i], *v = values[i];
        size_t len = value_lens[i];
        int64_t x = 0;
        int bad = 0;
        if (!f || !v)
            return sk_err_set(err, "bad_invoice", "order %s: missing field or value",
                              inv->order_id);
        if (len > S_VALUE_MAX) {
            bad = 1;
        } else if (!strcmp(f, "c")) {
            bad = s_id(inv->customer_id, v, len, true);
            seen |= F_C;
        } else if (!strcmp(f, "sp")) {
            bad = s_id(inv->salesperson, v, len, false);
        } else if (!strcmp(f, "cur")) {
            bad = len != 3;
            if (!bad) {
                memcpy(cur, v, 3);
                cur[3] = '\0';
                sc->currency = sk_currency_find(cur);
                bad = sc->currency == NULL;
            }
            seen |= F_CUR;
        } else if (!strcmp(f, "amt")) {
            bad = s_int(v, len, 0, SK_MONEY_MAX, &sc->amount);
            seen |= F_AMT;
        } else if (!strcmp(f, "tax")) {
            bad = s_int(v, len, 0, SK_MONEY_MAX, &sc->tax);
        } else if (!strcmp(f, "bal")) {
            bad = s_int(v, len, 0, SK_MONEY_MAX, &inv->balance);
            seen |= F_BAL;
        } else if (!strcmp(f, "base")) {
            bad = s_date(v, len, &sc->baseline);
            seen |= F_BASE;
        } else if (!strcmp(f, "inv")) {
            bad = s_date(v, len, &inv->invoice_date);
        } else if (!strcmp(f, "dlv")) {
            bad = s_date(v, len, &inv->delivery_date);
        } else if (!strcmp(f, "terms")) {
            bad = len == 0 || len >= sizeof inv->terms || memchr(v, '\0', len) != NULL;
            if (!bad) {
                memcpy(inv->terms, v, len);
                inv->terms[len] = '\0';
            }
            seen |= F_TERMS;
        } else if (!strcmp(f, "net")) {
            bad = s_date(v, len, &sc->net_due);
            seen |= F_NET;
        } else if (!strcmp(f, "tiers")) {
            bad = s_tiers(inv, v, len);
        } else if (!strcmp(f, "pays")) {
            bad = s_pays(inv, v, len);
        } else if (!strcmp(f, "disc")) {
            bad = s_int(v, len, 0, SK_MONEY_MAX, &inv->discount_total);
        } else if (!strcmp(f, "unearned")) {
            bad = s_int(v, len, 0, SK_MONEY_MAX, &inv->unearned_total);
        } else if (!strcmp(f, "credit")) {
            bad = s_int(v, len, 0, SK_MONEY_MAX, &inv->credit_total);
        } else if (!strcmp(f, "st")) {
            if (len == 4 && !memcmp(v, "open", 4))
                inv->status = SK_INV_OPEN;
            else if (len == 4 && !memcmp(v, "paid", 4))
                inv->status = SK_INV_PAID;
            else if (len == 9 && !memcmp(v, "cancelled", 9))
                inv->status = SK_INV_CANCELLED;
            else
                bad = 1;
            seen |= F_ST;
        } else if (!strcmp(f, "ver")) {
            bad = s_int(v, len, 0, UINT32_MAX, &x);
            inv->version = (uint32_t)x;
            seen |= F_VER;
        } else if (!strcmp(f, "rev")) {
            bad = s_int(v, len, 1, INT64_MAX, &inv->rev);
            seen |= F_REV;
        } else if (!strcmp(f, "q")) {
            bad = s_int(v, len, 0, INT64_MAX, &inv->seq);
        } else if (!strcmp(f, "fch")) {
            bad = s_forecast(v, len, &inv->fc_hist_day, &inv->fc_hist_amount);
        } else if (!strcmp(f, "fcn")) {
            bad = s_forecast(v, len, &inv->fc_net_day, &inv->fc_net_amount);
        }
        if (bad)
            return sk_err_set(err, "bad_invoice", "order %s: field %s is malformed",
                              inv->order_id, f);
    }
    if ((seen & F_REQUIRED) != F_REQUIRED)
        return sk_err_set(err, "bad_invoice", "order %s: field %s is missing", inv->order_id,
                          s_required_name(~seen & F_REQUIRED));

    return s_finish(inv, err);
}

/* ---------------------------------------------------------------- history */

void sk_history_from_fields(sk_history_t *h, size_t n, const char **fields, const char **values)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i];
        int64_t *slot = NULL, c;
        if (!f || !values[i])
            continue;
        if (!strcmp(f, "net"))
            slot = &h->net;
        else if (!strcmp(f, "n"))
            slot = &h->n;
        else if (f[0] == 't' && f[1] >= '0' && f[1] < '0' + SK_TERMS_MAX_TIERS && !f[2])
            slot = &h->tier[f[1] - '0'];
        if (slot && s_int(values[i], strlen(values[i]), 1, INT64_MAX, &c) == 0)
            *slot = c;
    }
}

/* ---------------------------------------------------------------- render */

/* A bounded string builder (no printf: rendering is on the worker's hot path). */
typedef struct {
    char *p;
    size_t cap, len;
} s_out_t;

static void s_put(s_out_t *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap)
        n = o->cap - o->len - 1; /* cannot happen with the sizes below: truncate */
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void s_put_i64(s_out_t *o, int64_t v)
{
    char tmp[24];
    s_put(o, tmp, sk_fmt_i64(tmp, v));
}

static void s_put_2(s_out_t *o, int v)
{
    char d[2] = {(char)('0' + v / 10 % 10), (char)('0' + v % 10)};
    s_put(o, d, 2);
}

/* YYYY-MM-DD */
static void s_put_date(s_out_t *o, sk_day_t day)
{
    int y, m, d;
    sk_date_to_ymd(day, &y, &m, &d);
    s_put_2(o, y / 100);
    s_put_2(o, y % 100);
    s_put(o, "-", 1);
    s_put_2(o, m);
    s_put(o, "-", 1);
    s_put_2(o, d);
}

static void s_emit_i64(sk_invoice_emit_fn emit, void *arg, const char *field, int64_t v,
                       bool omit_zero)
{
    char buf[24];
    s_out_t o = {buf, sizeof buf, 0};
    buf[0] = '\0';
    if (!omit_zero || v != 0)
        s_put_i64(&o, v);
    emit(arg, field, buf);
}

static void s_emit_date(sk_invoice_emit_fn emit, void *arg, const char *field, sk_day_t day,
                        bool optional)
{
    char buf[16];
    s_out_t o = {buf, sizeof buf, 0};
    buf[0] = '\0';
    if (!optional || day != -1)
        s_put_date(&o, day);
    emit(arg, field, buf);
}

static void s_emit_forecast(sk_invoice_emit_fn emit, void *arg, const char *field, sk_day_t day,
                            int64_t amount)
{
    char buf[48];
    s_out_t o = {buf, sizeof buf, 0};
    buf[0] = '\0';
    if (amount > 0) {
        s_put_date(&o, day);
        s_put(&o, "|", 1);
        s_put_i64(&o, amount);
    }
    emit(arg, field, buf);
}

void sk_invoice_to_fields(const sk_invoice_t *inv, sk_invoice_emit_fn emit, void *arg)
{
    const sk_schedule_t *sc = &inv->schedule;
    char big[SK_INVOICE_MAX_PAYMENTS * 128];
    s_out_t o = {big, sizeof big, 0};

    emit(arg, "c", inv->customer_id);
    emit(arg, "sp", inv->salesperson);
    emit(arg, "cur", sc->currency ? sc->currency->code : "");
    s_emit_i64(emit, arg, "amt", sc->amount, false);
    s_emit_i64(emit, arg, "tax", sc->tax, false);
    s_emit_i64(emit, arg, "bal", inv->balance, false);
    s_emit_date(emit, arg, "base", sc->baseline, false);
    s_emit_date(emit, arg, "inv", inv->invoice_date, true);
    s_emit_date(emit, arg, "dlv", inv->delivery_date, true);
    emit(arg, "terms", inv->terms);
    s_emit_date(emit, arg, "net", sc->net_due, false);

    big[0] = '\0';
    for (int k = 0; k < sc->ntiers && k < SK_TERMS_MAX_TIERS; k++) {
        const sk_schedule_tier_t *t = &sc->tiers[k];
        if (k)
            s_put(&o, ";", 1);
        s_put_i64(&o, t->rate_ppm);
        s_put(&o, ":", 1);
        s_put_i64(&o, t->last_day);
        s_put(&o, ":", 1);
        s_put_i64(&o, t->discount);
    }
    emit(arg, "tiers", big);

    o.len = 0;
    big[0] = '\0';
    for (int k = 0; k < inv->npayments && k < SK_INVOICE_MAX_PAYMENTS; k++) {
        const sk_applied_t *a = &inv->payments[k];
        const int64_t v[7] = {a->paid, a->tier, a->discount, a->settled, a->unearned_discount,
                              a->overpaid, inv->payment_full[k] ? 1 : 0};
        if (k)
            s_put(&o, ";", 1);
        s_put_i64(&o, a->date);
        for (int f = 0; f < 7; f++) {
            s_put(&o, ":", 1);
            s_put_i64(&o, v[f]);
        }
    }
    emit(arg, "pays", big);

    s_emit_i64(emit, arg, "disc", inv->discount_total, true);
    s_emit_i64(emit, arg, "unearned", inv->unearned_total, true);
    s_emit_i64(emit, arg, "credit", inv->credit_total, true);
    emit(arg, "st", sk_invoice_status_name(inv->status));
    s_emit_i64(emit, arg, "ver", inv->version, false);
    s_emit_i64(emit, arg, "rev", inv->rev, false);
    s_emit_forecast(emit, arg, "fch", inv->fc_hist_day, inv->fc_hist_amount);
    s_emit_forecast(emit, arg, "fcn", inv->fc_net_day, inv->fc_net_amount);
    s_emit_i64(emit, arg, "q", inv->seq, true);
}

/* ---------------------------------------------------------------- the stored value */

typedef Skonto__V1__InvoiceState s_state_t;
typedef Skonto__V1__InvoiceState__Tier s_tier_t;
typedef Skonto__V1__InvoiceState__Payment s_pay_t;
typedef Skonto__V1__InvoiceState__Forecast s_fc_t;
typedef Skonto__V1__InvoiceState__Override s_ovr_t;

static void s_set_i64(protobuf_c_boolean *has, int64_t *dst, int64_t v)
{
    *has = v != 0; /* a zero costs nothing: absent reads as 0 */
    *dst = v;
}

size_t sk_invoice_pack_state(const sk_invoice_t *inv, uint8_t *buf, size_t cap)
{
    const sk_schedule_t *sc = &inv->schedule;
    s_state_t st = SKONTO__V1__INVOICE_STATE__INIT;
    s_tier_t tiers[SK_TERMS_MAX_TIERS];
    s_tier_t *tp[SK_TERMS_MAX_TIERS];
    s_pay_t pays[SK_INVOICE_MAX_PAYMENTS];
    s_pay_t *pp[SK_INVOICE_MAX_PAYMENTS];
    s_fc_t fch = SKONTO__V1__INVOICE_STATE__FORECAST__INIT;
    s_fc_t fcn = SKONTO__V1__INVOICE_STATE__FORECAST__INIT;

    st.customer_id = (char *)inv->customer_id;
    st.salesperson = inv->salesperson[0] ? (char *)inv->salesperson : NULL;
    st.currency = sc->currency ? (char *)sc->currency->code : NULL;
    st.terms = (char *)inv->terms;
    s_set_i64(&st.has_amount, &st.amount, sc->amount);
    s_set_i64(&st.has_tax, &st.tax, sc->tax);
    s_set_i64(&st.has_balance, &st.balance, inv->balance);
    /* Days after the baseline: one byte for the usual windows (see the .proto). */
    const sk_day_t base = sc->baseline;
    st.has_baseline_day = 1, st.baseline_day = base;
    st.has_net_due_day = 1, st.net_due_day = sc->net_due - base;
    st.has_invoice_day = inv->invoice_date != -1, st.invoice_day = inv->invoice_date - base;
    st.has_delivery_day = inv->delivery_date != -1, st.delivery_day = inv->delivery_date - base;
    int nt = sc->ntiers < SK_TERMS_MAX_TIERS ? sc->ntiers : SK_TERMS_MAX_TIERS;
    for (int k = 0; k < nt; k++) {
        s_tier_t *t = &tiers[k];
        skonto__v1__invoice_state__tier__init(t);
        t->has_rate_ppm = 1, t->rate_ppm = sc->tiers[k].rate_ppm;
        t->last_day = sc->tiers[k].last_day - base;
        t->has_last_day = t->last_day != 0; /* absent: the baseline itself (cash) */
        s_set_i64(&t->has_discount, &t->discount, sc->tiers[k].discount);
        tp[k] = t;
    }
    st.n_tiers = (size_t)nt;
    st.tiers = tp;
    int np = inv->npayments < SK_INVOICE_MAX_PAYMENTS ? inv->npayments : SK_INVOICE_MAX_PAYMENTS;
    for (int k = 0; k < np; k++) {
        const sk_applied_t *a = &inv->payments[k];
        s_pay_t *p = &pays[k];
        skonto__v1__invoice_state__payment__init(p);
        p->has_day = 1, p->day = a->date - base;
        s_set_i64(&p->has_paid, &p->paid, a->paid);
        p->has_tier = 1, p->tier = a->tier;
        s_set_i64(&p->has_discount, &p->discount, a->discount);
        s_set_i64(&p->has_settled, &p->settled, a->settled);
        s_set_i64(&p->has_unearned, &p->unearned, a->unearned_discount);
        s_set_i64(&p->has_overpaid, &p->overpaid, a->overpaid);
        p->has_full = inv->payment_full[k], p->full = inv->payment_full[k];
        pp[k] = p;
    }
    st.n_payments = (size_t)np;
    st.payments = pp;
    s_set_i64(&st.has_discount_total, &st.discount_total, inv->discount_total);
    s_set_i64(&st.has_unearned_total, &st.unearned_total, inv->unearned_total);
    s_set_i64(&st.has_credit_total, &st.credit_total, inv->credit_total);
    st.has_status = inv->status != SK_INV_OPEN;
    st.status = inv->status == SK_INV_PAID        ? SKONTO__V1__INVOICE_STATE__STATUS__PAID
                : inv->status == SK_INV_CANCELLED ? SKONTO__V1__INVOICE_STATE__STATUS__CANCELLED
                                                  : SKONTO__V1__INVOICE_STATE__STATUS__OPEN;
    st.has_version = inv->version != 1, st.version = inv->version; /* default 1 */
    if (inv->fc_hist_amount > 0) {
        fch.has_day = 1, fch.day = inv->fc_hist_day - base;
        fch.has_amount = 1, fch.amount = inv->fc_hist_amount;
        st.forecast_history = &fch;
    }
    if (inv->fc_net_amount > 0) {
        /* The usual net forecast (the balance on the net due day) is an empty
         * message: its defaults. */
        fcn.has_day = inv->fc_net_day != sc->net_due, fcn.day = inv->fc_net_day - base;
        fcn.has_amount = inv->fc_net_amount != inv->balance, fcn.amount = inv->fc_net_amount;
        st.forecast_net = &fcn;
    }
    /* Overrides: none on nearly every invoice, so nothing stored for them. */
    s_ovr_t ovrs[SK_INVOICE_MAX_OVERRIDES];
    s_ovr_t *op[SK_INVOICE_MAX_OVERRIDES];
    int no = inv->noverrides < SK_INVOICE_MAX_OVERRIDES ? inv->noverrides : SK_INVOICE_MAX_OVERRIDES;
    for (int k = 0; k < no; k++) {
        const sk_invoice_override_t *a = &inv->overrides[k];
        s_ovr_t *o = &ovrs[k];
        skonto__v1__invoice_state__override__init(o);
        o->override_id = (char *)a->id;
        o->has_kind = 1, o->kind = (Skonto__V1__InvoiceState__Override__Kind)a->kind;
        o->has_tier = a->kind != 4, o->tier = a->tier;
        o->has_new_last_day = a->kind == 1, o->new_last_day = a->new_last_day - base;
        o->has_new_rate_ppm = a->kind == 3, o->new_rate_ppm = a->new_rate_ppm;
        o->has_payment = a->kind == 2, o->payment = a->payment;
        o->old_value = (char *)a->old_value;
        o->new_value = (char *)a->new_value;
        s_set_i64(&o->has_effect, &o->effect, a->effect);
        o->requested_by = (char *)a->requested_by;
        o->approved_by = (char *)a->approved_by;
        s_set_i64(&o->has_applied_at_ms, &o->applied_at_ms, a->applied_at_ms);
        o->has_version = a->version != 1, o->version = a->version;
        s_set_i64(&o->has_revision, &o->revision, a->revision);
        op[k] = o;
    }
    st.n_overrides = (size_t)no;
    st.overrides = op;
    size_t need = skonto__v1__invoice_state__get_packed_size(&st);
    if (need > cap)
        return 0;
    return skonto__v1__invoice_state__pack(&st, buf);
}

size_t sk_invoice_pack(const sk_invoice_t *inv, uint8_t *buf, size_t cap)
{
    char head[48];
    size_t n = sk_fmt_i64(head, inv->rev);
    head[n++] = '.';
    n += sk_fmt_i64(head + n, inv->seq);
    head[n++] = '|';
    if (cap < n)
        return 0;
    size_t body = sk_invoice_pack_state(inv, buf + n, cap - n);
    if (body == 0)
        return 0;
    memcpy(buf, head, n);
    return n + body;
}

/* An id of the state: 1..SK_ID_MAX bytes (0.. when optional). */
static int s_state_id(char *dst, const char *s, bool required)
{
    return s_id(dst, s ? s : "", s ? strnlen(s, SK_ID_MAX + 1) : 0, required);
}

/* A day stored as days after base. */
static int s_state_day(protobuf_c_boolean has, int32_t v, sk_day_t base, sk_day_t *out)
{
    if (!has || !s_day_ok((int64_t)base + v))
        return -1;
    *out = (sk_day_t)((int64_t)base + v);
    return 0;
}

static bool s_money_ok(int64_t v)
{
    return v >= 0 && v <= SK_MONEY_MAX;
}

/* The state's fields into inv; the name of the first bad field, or NULL. */
static const char *s_from_state(sk_invoice_t *inv, const s_state_t *st)
{
    sk_schedule_t *sc = &inv->schedule;
    if (s_state_id(inv->customer_id, st->customer_id, true) != 0)
        return "customer_id";
    if (s_state_id(inv->salesperson, st->salesperson, false) != 0)
        return "salesperson";
    if (!st->currency || strlen(st->currency) != 3 || !(sc->currency = sk_currency_find(st->currency)))
        return "currency";
    if (!st->terms || !st->terms[0] || strlen(st->terms) >= sizeof inv->terms)
        return "terms";
    memcpy(inv->terms, st->terms, strlen(st->terms) + 1);
    if (!s_money_ok(st->amount))
        return "amount";
    if (!s_money_ok(st->tax))
        return "tax";
    if (!s_money_ok(st->balance))
        return "balance";
    sc->amount = st->amount, sc->tax = st->tax, inv->balance = st->balance;
    if (s_state_day(st->has_baseline_day, st->baseline_day, 0, &sc->baseline) != 0)
        return "baseline_day";
    const sk_day_t base = sc->baseline;
    if (s_state_day(st->has_net_due_day, st->net_due_day, base, &sc->net_due) != 0)
        return "net_due_day";
    if (st->has_invoice_day && s_state_day(1, st->invoice_day, base, &inv->invoice_date) != 0)
        return "invoice_day";
    if (st->has_delivery_day && s_state_day(1, st->delivery_day, base, &inv->delivery_date) != 0)
        return "delivery_day";
    if (st->n_tiers > SK_TERMS_MAX_TIERS)
        return "tiers";
    for (size_t k = 0; k < st->n_tiers; k++) {
        const s_tier_t *t = st->tiers[k];
        sk_schedule_tier_t *o = &sc->tiers[k];
        memset(o, 0, sizeof *o);
        if (t->rate_ppm < 1 || t->rate_ppm >= SK_PPM ||
            s_state_day(1, t->last_day, base, &o->last_day) != 0 || !s_money_ok(t->discount))
            return "tiers";
        o->rate_ppm = t->rate_ppm, o->discount = t->discount;
        if (k > 0 && (o->rate_ppm >= sc->tiers[k - 1].rate_ppm ||
                      o->last_day <= sc->tiers[k - 1].last_day))
            return "tiers";
    }
    sc->ntiers = (int)st->n_tiers;
    if (st->n_payments > SK_INVOICE_MAX_PAYMENTS)
        return "payments";
    for (size_t k = 0; k < st->n_payments; k++) {
        const s_pay_t *p = st->payments[k];
        sk_applied_t *a = &inv->payments[k];
        memset(a, 0, sizeof *a);
        if (s_state_day(p->has_day, p->day, base, &a->date) != 0 || p->paid < 1 ||
            p->paid > SK_MONEY_MAX ||
            p->tier < -1 || p->tier >= SK_TERMS_MAX_TIERS || !s_money_ok(p->discount) ||
            !s_money_ok(p->settled) || !s_money_ok(p->unearned) || !s_money_ok(p->overpaid))
            return "payments";
        a->paid = p->paid, a->tier = p->tier, a->discount = p->discount;
        a->settled = p->settled, a->unearned_discount = p->unearned, a->overpaid = p->overpaid;
        inv->payment_full[k] = p->full;
    }
    inv->npayments = (int)st->n_payments;
    if (!s_money_ok(st->discount_total))
        return "discount_total";
    if (!s_money_ok(st->unearned_total))
        return "unearned_total";
    if (!s_money_ok(st->credit_total))
        return "credit_total";
    inv->discount_total = st->discount_total;
    inv->unearned_total = st->unearned_total;
    inv->credit_total = st->credit_total;
    switch (st->status) {
    case SKONTO__V1__INVOICE_STATE__STATUS__OPEN:
        inv->status = SK_INV_OPEN;
        break;
    case SKONTO__V1__INVOICE_STATE__STATUS__PAID:
        inv->status = SK_INV_PAID;
        break;
    case SKONTO__V1__INVOICE_STATE__STATUS__CANCELLED:
        inv->status = SK_INV_CANCELLED;
        break;
    default:
        return "status";
    }
    inv->version = st->version; /* default 1 (protobuf-c fills it in when absent) */
    const s_fc_t *h = st->forecast_history, *n = st->forecast_net;
    if (h) {
        if (s_state_day(h->has_day, h->day, base, &inv->fc_hist_day) != 0 || h->amount < 1 ||
            h->amount > SK_MONEY_MAX)
            return "forecast_history";
        inv->fc_hist_amount = h->amount;
    }
    if (n) {
        inv->fc_net_day = sc->net_due;
        inv->fc_net_amount = n->has_amount ? n->amount : inv->balance;
        if ((n->has_day && s_state_day(1, n->day, base, &inv->fc_net_day) != 0) ||
            inv->fc_net_amount < 1 || inv->fc_net_amount > SK_MONEY_MAX)
            return "forecast_net";
    }
    if (st->n_overrides > SK_INVOICE_MAX_OVERRIDES)
        return "overrides";
    for (size_t k = 0; k < st->n_overrides; k++) {
        const s_ovr_t *o = st->overrides[k];
        sk_invoice_override_t *a = &inv->overrides[k];
        memset(a, 0, sizeof *a);
        if (!o->override_id || !o->override_id[0] ||
            strlen(o->override_id) > SK_OVERRIDE_ID_MAX || o->kind < 1 || o->kind > 4 ||
            o->tier < 0 || o->tier >= SK_TERMS_MAX_TIERS || o->payment < 0 ||
            o->payment >= SK_INVOICE_MAX_PAYMENTS || o->new_rate_ppm < 0 ||
            o->new_rate_ppm >= SK_PPM || !s_money_ok(o->effect) || o->applied_at_ms < 0 ||
            o->revision < 0 || (o->old_value && strlen(o->old_value) >= sizeof a->old_value) ||
            (o->new_value && strlen(o->new_value) >= sizeof a->new_value) ||
            (o->requested_by && strlen(o->requested_by) > SK_OVERRIDE_USER_MAX) ||
            (o->approved_by && strlen(o->approved_by) > SK_OVERRIDE_USER_MAX))
            return "overrides";
        if (o->has_new_last_day && s_state_day(1, o->new_last_day, base, &a->new_last_day) != 0)
            return "overrides";
        snprintf(a->id, sizeof a->id, "%s", o->override_id);
        a->kind = o->kind, a->tier = o->tier, a->new_rate_ppm = o->new_rate_ppm;
        a->payment = o->payment;
        snprintf(a->old_value, sizeof a->old_value, "%s", o->old_value ? o->old_value : "");
        snprintf(a->new_value, sizeof a->new_value, "%s", o->new_value ? o->new_value : "");
        snprintf(a->requested_by, sizeof a->requested_by, "%s",
                 o->requested_by ? o->requested_by : "");
        snprintf(a->approved_by, sizeof a->approved_by, "%s",
                 o->approved_by ? o->approved_by : "");
        a->effect = o->effect, a->applied_at_ms = o->applied_at_ms;
        a->version = o->version, a->revision = o->revision;
    }
    inv->noverrides = (int)st->n_overrides;
    return NULL;
}

int sk_invoice_unpack(sk_invoice_t *inv, const char *order_id, const void *value, size_t len,
                      sk_err_t *err)
{
    const char *v = value;
    sk_invoice_init(inv);
    if (!order_id || s_id(inv->order_id, order_id, strlen(order_id), true) != 0)
        return sk_err_set(err, "bad_invoice", "bad order id");
    if (len == 0)
        return sk_err_set(err, "unknown_order", "order %s: no invoice", inv->order_id);
    if (len > SK_INVOICE_VALUE_MAX)
        return sk_err_set(err, "bad_invoice", "order %s: stored invoice of %zu bytes is too large",
                          inv->order_id, len);
    /* "<rev>.<q>|" */
    const char *dot = memchr(v, '.', len < 48 ? len : 48);
    const char *bar = dot ? memchr(dot, '|', (size_t)(v + (len < 48 ? len : 48) - dot)) : NULL;
    if (!dot || !bar || s_int(v, (size_t)(dot - v), 1, INT64_MAX, &inv->rev) != 0 ||
        s_int(dot + 1, (size_t)(bar - dot - 1), 0, INT64_MAX, &inv->seq) != 0)
        return sk_err_set(err, "bad_invoice", "order %s: the stored invoice has no revision header",
                          inv->order_id);
    size_t off = (size_t)(bar + 1 - v);
    s_state_t *st = skonto__v1__invoice_state__unpack(NULL, len - off, (const uint8_t *)v + off);
    if (!st)
        return sk_err_set(err, "bad_invoice", "order %s: the stored state does not decode",
                          inv->order_id);
    const char *bad = s_from_state(inv, st);
    skonto__v1__invoice_state__free_unpacked(st, NULL);
    if (bad)
        return sk_err_set(err, "bad_invoice", "order %s: field %s is malformed", inv->order_id,
                          bad);
    return s_finish(inv, err);
}
