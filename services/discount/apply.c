/* apply — see apply.h. Pure computation over the replies of the read phase:
 * no I/O here, only the arguments of one EVALSHA.
 *
 * Forecast: an open invoice contributes its balance to fc:net on its net due
 * date, and to fc:hist on the last day of the customer's usual tier (the tier
 * with most invoices closed in it in hist:<cid>, ties going to the later
 * option, net counting as the latest; if it is net or the schedule has no such
 * tier: the net due date) the payable for the balance. What was added is kept
 * in the invoice's fch / fcn, so every later change adds the difference and a
 * close subtracts exactly that. The usual tier is chosen when the order is
 * stored (or replaced); payments and credit notes keep that choice.
 *
 * Windows: the zset score is the last day of the first window that has not
 * closed before the reference day (today, or the payment's date if later).
 * Take-up counters move only in the step that closes an invoice by payment. */
#include "apply.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice.h"
#include "keys.h"
#include "money.h"
#include "schedule.h"
#include "settlement.h"
#include "sk_base64.h"
#include "terms.h"


enum { K_HIST = 5, K_FC_HIST = 6, K_FC_NET = 7, K_TAKEUP = 8 };
#define S_SHARD_KEYS 6 /* KEYS before the per-entry ones */

/* ---------------------------------------------------------------- argv */

void discount_argv_reset(discount_argv_t *a)
{
    a->argc = 0;
    a->used = 0;
    a->overflow = false;
}

void discount_argv_add(discount_argv_t *a, const char *s, size_t len)
{
    /* "$<len>\r\n<bytes>\r\n" */
    if (a->overflow || a->argc == DISCOUNT_ARGV_MAX ||
        len + 32 > DISCOUNT_ARGV_BYTES - DISCOUNT_ARGV_HEAD - a->used) {
        a->overflow = true;
        return;
    }
    char *p = a->buf + DISCOUNT_ARGV_HEAD + a->used;
    size_t n = 0;
    p[n++] = '$';
    n += sk_fmt_i64(p + n, (int64_t)len);
    p[n++] = '\r';
    p[n++] = '\n';
    memcpy(p + n, s, len);
    n += len;
    p[n++] = '\r';
    p[n++] = '\n';
    a->used += n;
    a->argc++;
}

void discount_argv_addz(discount_argv_t *a, const char *s)
{
    discount_argv_add(a, s, strlen(s));
}

void discount_argv_add_i64(discount_argv_t *a, int64_t v)
{
    char b[24];
    discount_argv_add(a, b, sk_fmt_i64(b, v));
}

void discount_argv_append(discount_argv_t *a, const discount_argv_t *src)
{
    if (a->overflow || src->overflow || src->argc > DISCOUNT_ARGV_MAX - a->argc ||
        src->used > DISCOUNT_ARGV_BYTES - DISCOUNT_ARGV_HEAD - a->used) {
        a->overflow = true;
        return;
    }
    memcpy(a->buf + DISCOUNT_ARGV_HEAD + a->used, src->buf + DISCOUNT_ARGV_HEAD, src->used);
    a->used += src->used;
    a->argc += src->argc;
}

const char *discount_argv_resp(discount_argv_t *a, size_t *len)
{
    char head[DISCOUNT_ARGV_HEAD];
    size_t n = 0;
    head[n++] = '*';
    n += sk_fmt_i64(head + n, a->argc);
    head[n++] = '\r';
    head[n++] = '\n';
    char *start = a->buf + DISCOUNT_ARGV_HEAD - n;
    memcpy(start, head, n);
    *len = n + a->used;
    return start;
}

/* ---------------------------------------------------------------- entries */

void discount_entry_decode(discount_entry_t *e, int shard, const char *id, size_t idlen, const char *data,
                     size_t len)
{
    memset(e, 0, sizeof *e);
    e->shard = shard;
    if (idlen >= sizeof e->id)
        idlen = sizeof e->id - 1;
    memcpy(e->id, id, idlen);
    e->id[idlen] = '\0';
    if (data && len > 0) {
        e->raw = malloc(len);
        if (e->raw) {
            memcpy(e->raw, data, len);
            e->rawlen = len;
        }
    }
    if (!data) {
        snprintf(e->error, sizeof e->error, "entry has no payload field e");
        return;
    }
    sk_err_t err;
    Skonto__V1__Envelope *env = NULL;
    if (sk_event_decode(data, len, &env, &err) != 0) {
        snprintf(e->error, sizeof e->error, "malformed envelope: %s: %s", err.code, err.msg);
        if (env)
            skonto__v1__envelope__free_unpacked(env, NULL);
        return;
    }
    e->kind = sk_event_kind(env);
    e->order_id = sk_event_order_id(env);
    if (e->kind == SK_EVENT_INVOICE) {
        e->customer_id = sk_event_customer_id(env);
        if (sk_shard_of(e->customer_id) != shard) {
            snprintf(e->error, sizeof e->error,
                     "event %s: order %s of customer %s is in shard %d's stream, not %d",
                     env->event_id, e->order_id, e->customer_id, shard, sk_shard_of(e->customer_id));
            skonto__v1__envelope__free_unpacked(env, NULL);
            e->order_id = e->customer_id = NULL;
            e->kind = SK_EVENT_NONE;
            return;
        }
    }
    if (e->kind != SK_EVENT_CUSTOMER && !e->order_id) {
        snprintf(e->error, sizeof e->error, "event %s has no order id", env->event_id);
        skonto__v1__envelope__free_unpacked(env, NULL);
        e->kind = SK_EVENT_NONE;
        return;
    }
    e->env = env;
}

void discount_entry_clear(discount_entry_t *e)
{
    free(e->raw);
    e->raw = NULL;
    e->rawlen = 0;
    if (e->env)
        skonto__v1__envelope__free_unpacked(e->env, NULL);
    e->env = NULL;
}

bool discount_entry_needs_invoice(const discount_entry_t *e)
{
    return e->env && e->kind != SK_EVENT_CUSTOMER;
}

bool discount_entry_needs_history(const discount_entry_t *e)
{
    return e->env && e->kind == SK_EVENT_INVOICE;
}

bool discount_entry_needs_cust_terms(const discount_entry_t *e)
{
    const Skonto__V1__Invoice *o = e->env ? sk_event_invoice(e->env) : NULL;
    return o && (!o->terms || !o->terms[0]);
}

/* ---------------------------------------------------------------- planning */

typedef struct {
    int key;
    char field[SK_ID_MAX + 48];
    int64_t delta;
} s_incr_t;

#define S_MAX_INCR 48

/* Field names and values of a rendered invoice, in sk_invoice_to_fields order. */
typedef struct {
    int n;
    const char *f[32];
    size_t off[32];
    char buf[12288];
    size_t used;
    bool overflow;
} s_rendered_t;

typedef struct {
    const discount_entry_t *e;
    discount_plan_t *plan;
    bool has_old;
    sk_invoice_t old, nw;
    s_incr_t incr[S_MAX_INCR];
    int nincr;
    char copen_op[24], windows_op[24];
    s_rendered_t r_old, r_new;
} s_ctx_t;

/* Sets the plan's message; returns 0 so planners can `return s_plan_msg(...)`. */
static int s_plan_msg(discount_plan_t *plan, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_plan_msg(discount_plan_t *plan, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(plan->msg, sizeof plan->msg, fmt, ap);
    va_end(ap);
    plan->error = error;
    return 0;
}

static void s_incr(s_ctx_t *x, int key, const char *field, int64_t delta)
{
    if (delta == 0)
        return;
    for (int i = 0; i < x->nincr; i++)
        if (x->incr[i].key == key && !strcmp(x->incr[i].field, field)) {
            x->incr[i].delta += delta;
            return;
        }
    if (x->nincr == S_MAX_INCR)
        return; /* cannot happen: at most 2*8 offered + 4 forecast + 6 take-up */
    s_incr_t *c = &x->incr[x->nincr++];
    size_t n = strlen(field);
    if (n >= sizeof c->field)
        n = sizeof c->field - 1; /* cannot happen: ids are at most SK_ID_MAX */
    c->key = key;
    memcpy(c->field, field, n);
    c->field[n] = '\0';
    c->delta = delta;
}

/* "YYYY-MM-DD|CUR" (buf >= 16 bytes) */
static void s_fc_field(char *buf, size_t n, sk_day_t day, const sk_currency_t *cur)
{
    int y, m, d;
    (void)n;
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
}

/* Adds to the increments what moves the forecast from old to new. */
static void s_forecast_deltas(s_ctx_t *x)
{
    char f[40];
    const sk_currency_t *cur = x->nw.schedule.currency;
    if (x->has_old && x->old.fc_hist_amount) {
        s_fc_field(f, sizeof f, x->old.fc_hist_day, x->old.schedule.currency);
        s_incr(x, K_FC_HIST, f, -x->old.fc_hist_amount);
    }
    if (x->has_old && x->old.fc_net_amount) {
        s_fc_field(f, sizeof f, x->old.fc_net_day, x->old.schedule.currency);
        s_incr(x, K_FC_NET, f, -x->old.fc_net_amount);
    }
    if (x->nw.fc_hist_amount) {
        s_fc_field(f, sizeof f, x->nw.fc_hist_day, cur);
        s_incr(x, K_FC_HIST, f, x->nw.fc_hist_amount);
    }
    if (x->nw.fc_net_amount) {
        s_fc_field(f, sizeof f, x->nw.fc_net_day, cur);
        s_incr(x, K_FC_NET, f, x->nw.fc_net_amount);
    }
}

/* The forecast contribution of an open invoice for its balance; none when closed. */
static void s_forecast(sk_invoice_t *inv, int hist_tier)
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

/* The tier the stored history forecast points at (-1 for net). */
static int s_stored_hist_tier(const sk_invoice_t *inv)
{
    if (!inv->fc_hist_amount)
        return -1;
    for (int k = 0; k < inv->schedule.ntiers; k++)
        if (inv->schedule.tiers[k].last_day == inv->fc_hist_day)
            return k;
    return -1;
}

/* The customer's usual tier from an HGETALL of hist:<cid>, or -1 for net. */
static int s_usual_tier(const redisReply *hist, int ntiers)
{
    int64_t count[SK_TERMS_MAX_TIERS + 1] = {0}; /* [SK_TERMS_MAX_TIERS] = net */
    if (!hist || hist->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i + 1 < hist->elements; i += 2) {
        const redisReply *f = hist->element[i], *v = hist->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        int slot = -1;
        if (!strcmp(f->str, "net"))
            slot = SK_TERMS_MAX_TIERS;
        else if (f->len == 2 && f->str[0] == 't' && f->str[1] >= '0' &&
                 f->str[1] < '0' + SK_TERMS_MAX_TIERS)
            slot = f->str[1] - '0';
        if (slot < 0)
            continue;
        char *end;
        long long c = strtoll(v->str, &end, 10);
        if (*end == '\0' && c > 0)
            count[slot] = c;
    }
    int best = -1;
    int64_t best_count = 0;
    for (int s = 0; s <= SK_TERMS_MAX_TIERS; s++)
        if (count[s] > 0 && count[s] >= best_count) {
            best = s;
            best_count = count[s];
        }
    return best >= 0 && best < ntiers ? best : -1;
}

/* The last day of the first window still open on `ref`; false if none is. */
static bool s_next_window(const sk_schedule_t *s, sk_day_t ref, sk_day_t *out)
{
    for (int k = 0; k < s->ntiers; k++)
        if (s->tiers[k].last_day >= ref) {
            *out = s->tiers[k].last_day;
            return true;
        }
    return false;
}

/* zset updates for the new state: open -> copen by net due (when asked) and
 * windows by the next window; closed -> out of both. */
static void s_zsets(s_ctx_t *x, sk_day_t ref, bool set_copen)
{
    if (x->nw.status != SK_INV_OPEN) {
        strcpy(x->copen_op, "-");
        strcpy(x->windows_op, "-");
        return;
    }
    if (set_copen)
        sk_fmt_i64(x->copen_op, x->nw.schedule.net_due);
    sk_day_t next;
    if (s_next_window(&x->nw.schedule, ref, &next))
        sk_fmt_i64(x->windows_op, next);
    else
        strcpy(x->windows_op, "-");
}

static void s_offered(s_ctx_t *x, const sk_schedule_t *s, int sign)
{
    char f[64];
    for (int k = 0; k < s->ntiers; k++) {
        memcpy(f, "offered|t", 9);
        f[9] = (char)('0' + k);
        f[10] = '|';
        sk_fmt_i64(f + 11, s->tiers[k].rate_ppm);
        s_incr(x, K_TAKEUP, f, sign);
    }
}

/* Take-up of an invoice closed by a payment in `tier` (-1 = after every window). */
static void s_takeup_close(s_ctx_t *x, int tier)
{
    const sk_invoice_t *inv = &x->nw;
    char f[SK_ID_MAX + 48], t[16];
    if (tier >= 0)
        snprintf(t, sizeof t, "t%d", tier);
    else
        strcpy(t, "net");
    if (tier >= 0)
        snprintf(f, sizeof f, "taken|t%d|%" PRId32, tier, inv->schedule.tiers[tier].rate_ppm);
    else
        strcpy(f, "taken|net");
    s_incr(x, K_TAKEUP, f, 1);
    if (inv->salesperson[0]) {
        snprintf(f, sizeof f, "sp|%s|%s", inv->salesperson, t);
        s_incr(x, K_TAKEUP, f, 1);
    }
    s_incr(x, K_HIST, t, 1);
    s_incr(x, K_HIST, "n", 1);
    if (inv->discount_total > 0) {
        snprintf(f, sizeof f, "disc|%s", inv->schedule.currency->code);
        s_incr(x, K_TAKEUP, f, inv->discount_total);
    }
}

static void s_collect(void *arg, const char *field, const char *value)
{
    s_rendered_t *r = arg;
    size_t len = strlen(value);
    if (r->n == 32 || len + 1 > sizeof r->buf - r->used) {
        r->overflow = true;
        return;
    }
    r->f[r->n] = field;
    r->off[r->n] = r->used;
    memcpy(r->buf + r->used, value, len + 1);
    r->used += len + 1;
    r->n++;
}

/* Reads the invoice reply; returns -1 (and sets an error plan) if unusable. */
static int s_load(s_ctx_t *x, const redisReply *r)
{
    const char *f[128], *v[128];
    size_t vl[128];
    sk_err_t err;
    x->has_old = false;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        s_plan_msg(x->plan, true, "event %s: cannot read invoice %s: %s", x->e->env->event_id,
                   x->e->order_id, r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        return -1;
    }
    size_t n = r->elements / 2;
    if (n == 0)
        return 0;
    if (n > 128)
        n = 128;
    for (size_t i = 0; i < n; i++) {
        const redisReply *a = r->element[2 * i], *b = r->element[2 * i + 1];
        if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING) {
            s_plan_msg(x->plan, true, "event %s: invoice %s: unexpected reply",
                       x->e->env->event_id, x->e->order_id);
            return -1;
        }
        f[i] = a->str;
        v[i] = b->str;
        vl[i] = b->len;
    }
    if (sk_invoice_from_fields(&x->old, x->e->order_id, n, f, v, vl, &err) != 0) {
        s_plan_msg(x->plan, true, "event %s: stored invoice is unusable: %s", x->e->env->event_id,
                   err.msg);
        return -1;
    }
    x->has_old = true;
    return 0;
}

/* Copies a validated id (at most SK_ID_MAX bytes) into a SK_ID_MAX + 1 buffer. */
static void s_copy_id(char *dst, const char *src)
{
    size_t n = strnlen(src, SK_ID_MAX);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int s_date(const char *s, sk_day_t *out)
{
    return sk_date_parse(s, out, NULL);
}

static int s_plan_order(s_ctx_t *x, const redisReply *hist, const redisReply *cust_terms,
                         sk_day_t today)
{
    const discount_entry_t *e = x->e;
    const Skonto__V1__Invoice *o = sk_event_invoice(e->env);
    const char *eid = e->env->event_id;
    discount_plan_t *plan = x->plan;
    sk_err_t err;

    const char *terms_text = o->terms;
    if (!terms_text || !terms_text[0]) {
        if (cust_terms && cust_terms->type == REDIS_REPLY_STRING && cust_terms->len > 0)
            terms_text = cust_terms->str;
        else
            return s_plan_msg(plan, true,
                              "event %s: order %s has no terms and customer %s has none", eid,
                              o->order_id, o->customer_id);
    }
    sk_terms_t terms;
    if (sk_terms_parse(terms_text, &terms, &err) != 0)
        return s_plan_msg(plan, true, "event %s: order %s: %s", eid, o->order_id, err.msg);
    const sk_currency_t *cur = sk_currency_find(o->currency);
    sk_day_t ship;
    if (!cur || s_date(o->ship_date, &ship) != 0)
        return s_plan_msg(plan, true, "event %s: order %s: bad currency or ship date", eid,
                          o->order_id);
    uint32_t ver = o->version ? o->version : 1;

    if (x->has_old) {
        const sk_invoice_t *old = &x->old;
        if (strcmp(old->customer_id, o->customer_id))
            return s_plan_msg(plan, true, "event %s: order %s belongs to customer %s, not %s", eid,
                              o->order_id, old->customer_id, o->customer_id);
        if (ver <= old->version) {
            plan->kind = DISCOUNT_PLAN_ACK;
            return s_plan_msg(plan, false, "event %s: order %s version %u ignored: version %u is "
                              "stored", eid, o->order_id, ver, old->version);
        }
        if (old->status != SK_INV_OPEN)
            return s_plan_msg(plan, true, "event %s: order %s is %s; version %u not applied", eid,
                              o->order_id, sk_invoice_status_name(old->status), ver);
        if (strcmp(old->schedule.currency->code, cur->code))
            return s_plan_msg(plan, true, "event %s: order %s is in %s, version %u in %s", eid,
                              o->order_id, old->schedule.currency->code, ver, cur->code);
    }

    sk_invoice_t *nw = &x->nw;
    if (x->has_old)
        *nw = x->old;
    else
        sk_invoice_init(nw);
    s_copy_id(nw->order_id, o->order_id);
    s_copy_id(nw->customer_id, o->customer_id);
    s_copy_id(nw->salesperson, o->salesperson ? o->salesperson : "");
    sk_terms_format(&terms, nw->terms, sizeof nw->terms);
    nw->invoice_date = nw->delivery_date = -1;
    if (o->invoice_date && o->invoice_date[0] && s_date(o->invoice_date, &nw->invoice_date) != 0)
        return s_plan_msg(plan, true, "event %s: bad invoice date", eid);
    if (o->delivery_date && o->delivery_date[0] &&
        s_date(o->delivery_date, &nw->delivery_date) != 0)
        return s_plan_msg(plan, true, "event %s: bad delivery date", eid);
    nw->version = ver;
    nw->rev = x->has_old ? x->old.rev + 1 : 1;

    /* A replacement keeps the payments and credit notes already applied. */
    int64_t amount = o->amount, tax = o->tax;
    if (x->has_old && x->old.credit_total > 0) {
        amount = o->amount - x->old.credit_total;
        if (amount <= 0) {
            char cn[32], am[32];
            return s_plan_msg(plan, true,
                              "event %s: order %s version %u: credit notes of %s %s exceed the "
                              "new amount %s %s",
                              eid, o->order_id, ver,
                              sk_money_format(x->old.credit_total, cur, cn, sizeof cn), cur->code,
                              sk_money_format(o->amount, cur, am, sizeof am), cur->code);
        }
        tax = sk_div_round((__int128)o->tax * amount, o->amount, SK_ROUND_HALF_UP);
        if (tax >= amount)
            tax = amount - 1;
    }
    if (sk_schedule_compute(&terms, ship, amount, tax, cur, NULL, &nw->schedule, &err) != 0)
        return s_plan_msg(plan, true, "event %s: order %s: %s", eid, o->order_id, err.msg);
    int64_t settled = 0;
    for (int k = 0; k < nw->npayments; k++)
        settled += nw->payments[k].settled;
    nw->balance = amount - settled;
    nw->status = SK_INV_OPEN;
    if (nw->balance <= 0) {
        nw->balance = 0;
        nw->status = SK_INV_PAID; /* closed by the new amount: no take-up to count */
        s_plan_msg(plan, false, "event %s: order %s version %u: payments cover the new amount; "
                   "closed", eid, o->order_id, ver);
    }
    s_forecast(nw, s_usual_tier(hist, nw->schedule.ntiers));
    s_forecast_deltas(x);
    if (x->has_old)
        s_offered(x, &x->old.schedule, -1);
    s_offered(x, &nw->schedule, +1);
    s_zsets(x, today, true);
    plan->kind = DISCOUNT_PLAN_SCRIPT;
    return 0;
}

/* What a payment or credit note needs before it can touch an invoice: the
 * invoice exists (else wait for it), is open, and is in the event's currency
 * if the event names one. Returns true when the plan is already decided. */
static bool s_plan_needs_open_invoice(s_ctx_t *x, const char *what, const char *order_id,
                                      const char *currency)
{
    const char *eid = x->e->env->event_id;
    const sk_invoice_t *old = &x->old;
    if (!x->has_old) {
        x->plan->kind = DISCOUNT_PLAN_NOINV;
        return true;
    }
    if (old->status != SK_INV_OPEN) {
        s_plan_msg(x->plan, true, "event %s: %s on order %s, which is %s: not recorded", eid,
                   what, order_id, sk_invoice_status_name(old->status));
        return true;
    }
    if (currency && currency[0] && strcmp(currency, old->schedule.currency->code)) {
        s_plan_msg(x->plan, true, "event %s: %s in %s on order %s in %s: not recorded", eid, what,
                   currency, order_id, old->schedule.currency->code);
        return true;
    }
    return false;
}

static int s_plan_payment(s_ctx_t *x, sk_day_t today)
{
    const Skonto__V1__PaymentReceived *p = x->e->env->payment_received;
    const char *eid = x->e->env->event_id;
    discount_plan_t *plan = x->plan;
    sk_err_t err;
    const sk_invoice_t *old = &x->old;
    sk_invoice_t *nw = &x->nw;

    if (s_plan_needs_open_invoice(x, "payment", p->order_id, p->currency))
        return 0;
    if (old->npayments >= SK_INVOICE_MAX_PAYMENTS)
        return s_plan_msg(plan, true, "event %s: order %s already has %d payments: not recorded",
                          eid, p->order_id, SK_INVOICE_MAX_PAYMENTS);
    sk_payment_t pay = {0, p->amount, p->full};
    if (s_date(p->paid_on, &pay.date) != 0)
        return s_plan_msg(plan, true, "event %s: bad payment date", eid);

    *nw = *old;
    sk_applied_t a;
    int64_t bal = old->balance;
    if (sk_settle_apply(&old->schedule, &bal, &pay, &a, &err) != 0)
        return s_plan_msg(plan, true, "event %s: payment on order %s not recorded: %s", eid,
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
    s_forecast(nw, s_stored_hist_tier(old));
    s_forecast_deltas(x);
    if (bal == 0)
        s_takeup_close(x, a.tier);
    s_zsets(x, pay.date > today ? pay.date : today, false);
    plan->kind = DISCOUNT_PLAN_SCRIPT;
    return 0;
}

static int s_plan_credit(s_ctx_t *x, sk_day_t today)
{
    const Skonto__V1__CreditNote *c = x->e->env->credit_note;
    const char *eid = x->e->env->event_id;
    discount_plan_t *plan = x->plan;
    sk_err_t err;
    const sk_invoice_t *old = &x->old;
    sk_invoice_t *nw = &x->nw;

    if (s_plan_needs_open_invoice(x, "credit note", c->order_id, c->currency))
        return 0;
    if (c->amount <= 0 || c->amount > old->balance) {
        const sk_currency_t *cur = old->schedule.currency;
        char cn[32], bal[32];
        return s_plan_msg(plan, true,
                          "event %s: credit note of %s %s on order %s is above its open balance "
                          "%s %s: not recorded",
                          eid, sk_money_format(c->amount, cur, cn, sizeof cn), cur->code,
                          c->order_id, sk_money_format(old->balance, cur, bal, sizeof bal),
                          cur->code);
    }
    *nw = *old;
    int64_t amount = old->schedule.amount - c->amount;
    nw->balance = old->balance - c->amount;
    nw->credit_total += c->amount;
    nw->rev = old->rev + 1;
    if (amount > 0) {
        sk_terms_t terms;
        int64_t tax = sk_div_round((__int128)old->schedule.tax * amount, old->schedule.amount,
                                   SK_ROUND_HALF_UP);
        if (tax >= amount)
            tax = amount - 1;
        if (sk_terms_parse(old->terms, &terms, &err) != 0 ||
            sk_schedule_compute(&terms, old->schedule.baseline, amount, tax,
                                old->schedule.currency, NULL, &nw->schedule, &err) != 0)
            return s_plan_msg(plan, true, "event %s: credit note on order %s: %s", eid,
                              c->order_id, err.msg);
    } else {
        /* Credited in full: nothing is left to discount. */
        nw->schedule.amount = nw->schedule.tax = nw->schedule.discount_base = 0;
        nw->schedule.ntiers = 0;
    }
    if (nw->balance == 0)
        nw->status = SK_INV_PAID; /* closed by the credit: no take-up */
    s_forecast(nw, s_stored_hist_tier(old));
    s_forecast_deltas(x);
    s_zsets(x, today, false);
    plan->kind = DISCOUNT_PLAN_SCRIPT;
    return 0;
}

static int s_plan_cancel(s_ctx_t *x)
{
    const char *eid = x->e->env->event_id;
    if (!x->has_old) {
        x->plan->kind = DISCOUNT_PLAN_NOINV;
        return 0;
    }
    if (x->old.status != SK_INV_OPEN)
        return s_plan_msg(x->plan, true, "event %s: cancellation of order %s, which is %s: "
                          "ignored", eid, x->e->order_id, sk_invoice_status_name(x->old.status));
    x->nw = x->old;
    x->nw.status = SK_INV_CANCELLED;
    x->nw.rev = x->old.rev + 1;
    s_forecast(&x->nw, -1);
    s_forecast_deltas(x);
    s_zsets(x, 0, false);
    x->plan->kind = DISCOUNT_PLAN_SCRIPT;
    return 0;
}

/* ---------------------------------------------------------------- batches */

void discount_batch_reset(discount_batch_t *b, int shard)
{
    b->shard = shard;
    b->n = 0;
    b->nkeys = 0;
    discount_argv_reset(&b->keys);
    discount_argv_reset(&b->args);
    discount_argv_reset(&b->cmd);
}

/* Room kept for the command's head: EVALSHA, sha, numkeys, the 5 shard keys. */
#define S_CMD_HEAD_BYTES (8 * (SK_KEY_MAX + 32))

bool discount_batch_full(const discount_batch_t *b)
{
    return b->n >= DISCOUNT_BATCH_ENTRIES ||
           b->keys.used + b->args.used + DISCOUNT_ENTRY_BYTES + 3 * (SK_KEY_MAX + 32) +
                   S_CMD_HEAD_BYTES > DISCOUNT_ARGV_BYTES - DISCOUNT_ARGV_HEAD ||
           b->keys.argc + b->args.argc + DISCOUNT_ENTRY_ARGS_MAX + 3 + 8 > DISCOUNT_ARGV_MAX;
}

const char *discount_batch_command(discount_batch_t *b, const char *sha, size_t *len)
{
    char key[SK_KEY_MAX];
    discount_argv_t *c = &b->cmd;
    discount_argv_reset(c);
    discount_argv_addz(c, "EVALSHA");
    discount_argv_addz(c, sha);
    discount_argv_add_i64(c, S_SHARD_KEYS + b->nkeys);
    discount_argv_addz(c, sk_key_events(key, b->shard));
    discount_argv_addz(c, sk_key_windows(key, b->shard));
    discount_argv_addz(c, sk_key_forecast_history(key, b->shard));
    discount_argv_addz(c, sk_key_forecast_net(key, b->shard));
    discount_argv_addz(c, sk_key_takeup(key, b->shard));
    discount_argv_addz(c, sk_key_unapplied(key, b->shard));
    discount_argv_append(c, &b->keys);
    discount_argv_append(c, &b->args);
    if (c->overflow || b->keys.overflow || b->args.overflow)
        return NULL;
    return discount_argv_resp(c, len);
}

/* The JSON record of an event not recorded (see DISCOUNT_APPLY_LUA); NULL when out
 * of memory. Caller frees. */
static char *s_unapplied_json(const discount_entry_t *e, const discount_plan_t *plan, int64_t at_ms)
{
    const Skonto__V1__Envelope *env = e->env;
    json_t *o = json_object();
    char *b64 = NULL, *out = NULL;
    int bad = !o;
    bad |= json_object_set_new(o, "at_ms", json_integer(at_ms));
    bad |= json_object_set_new(o, "entry_id", json_string(e->id));
    bad |= json_object_set_new(o, "event_id", env && env->event_id ? json_string(env->event_id)
                                                                     : json_null());
    bad |= json_object_set_new(o, "order_id", e->order_id ? json_string(e->order_id)
                                                          : json_null());
    bad |= json_object_set_new(o, "kind", json_string(env ? sk_event_kind_name(env)
                                                          : "malformed"));
    bad |= json_object_set_new(o, "reason", json_string(plan->msg));
    bad |= json_object_set_new(o, "payload_bytes", json_integer((json_int_t)e->rawlen));
    if (e->raw && e->rawlen <= DISCOUNT_UNAPPLIED_PAYLOAD_MAX) {
        b64 = sk_base64(e->raw, e->rawlen);
        bad |= !b64;
        bad |= json_object_set_new(o, "payload_b64", b64 ? json_string(b64) : json_null());
    } else {
        bad |= json_object_set_new(o, "payload_b64", json_null()); /* still in the stream log */
    }
    if (!bad)
        out = json_dumps(o, JSON_COMPACT);
    free(b64);
    json_decref(o);
    return out;
}

void discount_apply_ack(const discount_entry_t *e, const discount_plan_t *plan, bool invoice_exists, discount_batch_t *b)
{
    discount_argv_addz(&b->args, e->id);
    discount_argv_addz(&b->args, "*");
    if (plan && plan->error) {
        char *j = s_unapplied_json(e, plan, b->at_ms);
        if (!j) {
            b->args.overflow = true; /* out of memory: the batch is not sent */
            discount_argv_addz(&b->args, "");
        } else {
            discount_argv_addz(&b->args, j);
        }
        free(j);
    } else {
        discount_argv_addz(&b->args, "");
    }
    /* The invoice still counts the event as applied, so the order's next
     * event does not wait for it (see s_waits). */
    if (invoice_exists && e->order_id && e->seq[0]) {
        char key[SK_KEY_MAX];
        discount_argv_addz(&b->keys, sk_key_invoice(key, b->shard, e->order_id));
        b->nkeys++;
        discount_argv_add_i64(&b->args, S_SHARD_KEYS + b->nkeys);
        discount_argv_addz(&b->args, e->seq);
    } else {
        discount_argv_addz(&b->args, "0");
        discount_argv_addz(&b->args, "");
    }
    b->n++;
}

/* The entry's record (see DISCOUNT_APPLY_LUA) into rec; kb is the KEYS index its
 * invoice key will have. */
static void s_script_record(s_ctx_t *x, int kb, discount_argv_t *argv)
{
    const discount_entry_t *e = x->e;
    discount_argv_reset(argv);
    discount_argv_addz(argv, e->id);
    discount_argv_add_i64(argv, x->has_old ? x->old.rev : 0);
    discount_argv_add_i64(argv, kb);
    discount_argv_addz(argv, e->order_id);
    discount_argv_addz(argv, x->copen_op);
    discount_argv_addz(argv, x->windows_op);

    /* Only the fields that changed are written. */
    x->r_new.n = 0, x->r_new.used = 0, x->r_new.overflow = false;
    x->r_old.n = 0, x->r_old.used = 0, x->r_old.overflow = false;
    sk_invoice_to_fields(&x->nw, s_collect, &x->r_new);
    if (x->has_old)
        sk_invoice_to_fields(&x->old, s_collect, &x->r_old);
    int nset = 0, ndel = 0;
    bool set[32] = {false}, del[32] = {false};
    for (int i = 0; i < x->r_new.n; i++) {
        const char *nv = x->r_new.buf + x->r_new.off[i];
        const char *ov = x->has_old && i < x->r_old.n ? x->r_old.buf + x->r_old.off[i] : "";
        if (!strcmp(nv, ov))
            continue;
        if (nv[0])
            set[i] = true, nset++;
        else
            del[i] = true, ndel++;
    }
    discount_argv_add_i64(argv, nset);
    for (int i = 0; i < x->r_new.n; i++)
        if (set[i]) {
            discount_argv_addz(argv, x->r_new.f[i]);
            discount_argv_addz(argv, x->r_new.buf + x->r_new.off[i]);
        }
    discount_argv_add_i64(argv, ndel);
    for (int i = 0; i < x->r_new.n; i++)
        if (del[i])
            discount_argv_addz(argv, x->r_new.f[i]);
    int nincr = 0;
    for (int i = 0; i < x->nincr; i++)
        nincr += x->incr[i].delta != 0;
    discount_argv_add_i64(argv, nincr);
    for (int i = 0; i < x->nincr; i++) {
        if (!x->incr[i].delta)
            continue;
        discount_argv_add_i64(argv, x->incr[i].key);
        discount_argv_addz(argv, x->incr[i].field);
        discount_argv_add_i64(argv, x->incr[i].delta);
    }
    if (x->r_new.overflow || x->r_old.overflow)
        argv->overflow = true;
}

/* An order's events apply in the order ingest stored them (their `q`), even
 * when two workers hold them: while the invoice says an earlier one is not
 * applied yet, the entry waits (DISCOUNT_PLAN_WAIT). The script's rev check makes
 * the invoice read here the one the entry is applied to. */
static bool s_waits(s_ctx_t *x)
{
    const discount_entry_t *e = x->e;
    if (!e->seq[0] || !x->has_old || !x->old.seq)
        return false;
    int64_t q = strtoll(e->seq, NULL, 10);
    if (q <= x->old.seq + 1)
        return false;
    x->plan->kind = DISCOUNT_PLAN_WAIT;
    s_plan_msg(x->plan, false, "event %s: order %s: event %" PRId64 " waits for event %" PRId64,
               e->env->event_id, e->order_id, q, x->old.seq + 1);
    return true;
}

void discount_apply_plan(const discount_entry_t *e, const redisReply *inv, const redisReply *hist,
                   const redisReply *cust_terms, sk_day_t today, discount_batch_t *b,
                   discount_plan_t *plan)
{
    static s_ctx_t ctx;   /* large (two invoices): kept off the stack */
    static discount_argv_t rec; /* the entry's record, before it joins the batch */
    s_ctx_t *x = &ctx;
    memset(plan, 0, sizeof *plan);
    plan->kind = DISCOUNT_PLAN_ACK;
    memset(x->copen_op, 0, sizeof x->copen_op);
    memset(x->windows_op, 0, sizeof x->windows_op);
    x->e = e;
    x->plan = plan;
    x->nincr = 0;
    x->has_old = false;

    if (!e->env) {
        s_plan_msg(plan, true, "entry %s: %s", e->id, e->error);
    } else if (e->kind == SK_EVENT_CUSTOMER) {
        /* ingest already wrote the profile: nothing to compute */
    } else if ((!inv && e->kind == SK_EVENT_INVOICE) || s_load(x, inv) == 0) {
        if (s_waits(x))
            return;
        switch (e->kind) {
        case SK_EVENT_INVOICE:
            s_plan_order(x, hist, cust_terms, today);
            break;
        case SK_EVENT_PAYMENT:
            s_plan_payment(x, today);
            break;
        case SK_EVENT_CREDIT:
            s_plan_credit(x, today);
            break;
        case SK_EVENT_CANCEL:
            s_plan_cancel(x);
            break;
        default:
            s_plan_msg(plan, true, "entry %s: unexpected event kind", e->id);
            break;
        }
    }
    if (plan->kind == DISCOUNT_PLAN_SCRIPT && plan->error)
        plan->kind = DISCOUNT_PLAN_ACK; /* an error found late still records nothing */
    if (plan->kind == DISCOUNT_PLAN_SCRIPT) {
        int64_t q = e->seq[0] ? strtoll(e->seq, NULL, 10) : 0;
        x->nw.seq = q ? q : x->has_old ? x->old.seq : 0;
        s_script_record(x, S_SHARD_KEYS + b->nkeys + 1, &rec);
        if (rec.overflow || rec.argc > DISCOUNT_ENTRY_ARGS_MAX || rec.used > DISCOUNT_ENTRY_BYTES) {
            s_plan_msg(plan, true, "event %s: order %s: state too large to write",
                       e->env->event_id, e->order_id);
            plan->kind = DISCOUNT_PLAN_ACK;
        } else {
            char key[SK_KEY_MAX];
            const char *cid = x->nw.customer_id;
            discount_argv_addz(&b->keys, sk_key_invoice(key, b->shard, e->order_id));
            discount_argv_addz(&b->keys, sk_key_customer_open(key, b->shard, cid));
            discount_argv_addz(&b->keys, sk_key_history(key, b->shard, cid));
            b->nkeys += 3;
            discount_argv_append(&b->args, &rec);
            b->n++;
        }
    }
    if (plan->kind == DISCOUNT_PLAN_ACK)
        discount_apply_ack(e, plan, x->has_old, b);
}
