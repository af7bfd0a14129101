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

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "keys.h"

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

/* Fills the annual rates when the stored tiers are exactly what the terms give
 * (the usual case); leaves them 0 otherwise. Also checks the terms parse. */
static int s_rates(sk_invoice_t *inv)
{
    sk_terms_t t;
    sk_schedule_t fresh;
    sk_schedule_t *sc = &inv->schedule;
    if (sk_terms_parse(inv->terms, &t, NULL) != 0)
        return -1;
    if (sc->amount <= 0)
        return 0;
    if (sk_schedule_compute(&t, sc->baseline, sc->amount, sc->tax, sc->currency, NULL, &fresh,
                            NULL) != 0)
        return 0;
    if (fresh.ntiers != sc->ntiers || fresh.net_due != sc->net_due)
        return 0;
    for (int k = 0; k < sc->ntiers; k++)
        if (fresh.tiers[k].rate_ppm != sc->tiers[k].rate_ppm ||
            fresh.tiers[k].last_day != sc->tiers[k].last_day)
            return 0;
    for (int k = 0; k < sc->ntiers; k++) {
        sc->tiers[k].apr_vs_net_bp = fresh.tiers[k].apr_vs_net_bp;
        sc->tiers[k].apr_vs_next_bp = fresh.tiers[k].apr_vs_next_bp;
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

    /* Invariants a reader relies on. */
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
    return 0;
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

size_t sk_fmt_i64(char *p, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[sizeof tmp - 1 - n++] = '-';
    memcpy(p, tmp + sizeof tmp - n, n);
    p[n] = '\0';
    return n;
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

/* ---------------------------------------------------------------- fetch */

int sk_invoice_fetch(struct redisContext *c, const char *order_id, sk_invoice_t *inv,
                     sk_err_t *err)
{
    char key[SK_KEY_MAX];
    size_t olen = order_id ? strlen(order_id) : 0;
    if (olen == 0 || olen > SK_ID_MAX)
        return sk_err_set(err, "bad_id", "order id must be 1..%d bytes", SK_ID_MAX);

    const char *argv[3] = {"HGET", sk_key_order_index(key, order_id), order_id};
    redisReply *r = redisCommandArgv(c, 3, argv, NULL);
    if (!r)
        return sk_err_set(err, "redis", "HGET %s: %s", key, c->errstr);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return sk_err_set(err, "unknown_order", "order %s is not known", order_id);
    }
    if (r->type != REDIS_REPLY_STRING) {
        sk_err_set(err, "redis", "HGET %s: %s", key,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    char cid[SK_ID_MAX + 1], cur[4];
    int bad = sk_order_index_parse(r->str, r->len, cid, sizeof cid, cur);
    freeReplyObject(r);
    if (bad)
        return sk_err_set(err, "bad_invoice", "order %s: malformed order index entry", order_id);

    const char *argv2[2] = {"HGETALL", sk_key_invoice(key, sk_shard_of(cid), order_id)};
    r = redisCommandArgv(c, 2, argv2, NULL);
    if (!r)
        return sk_err_set(err, "redis", "HGETALL %s: %s", key, c->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        sk_err_set(err, "redis", "HGETALL %s: %s", key,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    size_t n = r->elements / 2;
    int rc = 0;
    if (n == 0) {
        rc = sk_err_set(err, "no_invoice", "order %s has no invoice yet", order_id);
    } else {
        const char *f[128], *v[128];
        size_t vl[128];
        if (n > 128)
            n = 128; /* more fields than the layout has: the rest are unknown ones */
        for (size_t i = 0; i < n; i++) {
            redisReply *a = r->element[2 * i], *b = r->element[2 * i + 1];
            if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING) {
                rc = sk_err_set(err, "redis", "HGETALL %s: unexpected reply", key);
                break;
            }
            f[i] = a->str;
            v[i] = b->str;
            vl[i] = b->len;
        }
        if (rc == 0)
            rc = sk_invoice_from_fields(inv, order_id, n, f, v, vl, err);
    }
    freeReplyObject(r);
    return rc;
}
