/* apply — see apply.h. Glue over the replies of the read phase: it decodes
 * the stored invoice, the event and the customer's history, asks the rules
 * (common/invoice_rules.h: what each event does to an invoice, its forecast,
 * take-up and the customer's open set) and turns their answer into the
 * arguments of one EVALSHA. No I/O here, and no money rule. */
#include "apply.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice_rules.h"
#include "override_rules.h"
#include "invoice_store.h"
#include "keys.h"
#include "money.h"
#include "remind.h"
#include "sk_base64.h"
#include "sk_redis.h"
#include "sk_fmt.h"

/* A counter's code in a record's increments (see DISCOUNT_APPLY_LUA): the
 * KEYS index of a shard's counter, 0 for the customer's history. */
enum {
    K_HIST = 0,
    K_FC_HIST = 2,
    K_FC_NET = 3,
    K_TAKEUP = 4,
    K_POLICY = 8,
    K_PCUST = 9,
    K_PSP = 10
};
#define S_SHARD_KEYS 10 /* KEYS before the per-entry ones */

static int s_counter_key(sk_tally_t c);

/* ---------------------------------------------------------------- argv */

void discount_argv_reset(discount_argv_t *a)
{
    a->argc = 0;
    a->used = 0;
    a->overflow = false;
}

void discount_argv_add(discount_argv_t *a, const char *s, size_t len)
{
    if (a->overflow || a->argc == DISCOUNT_ARGV_MAX ||
        len + SK_RESP_HEAD > DISCOUNT_ARGV_BYTES - DISCOUNT_ARGV_HEAD - a->used) {
        a->overflow = true;
        return;
    }
    a->used += sk_resp_bulk(a->buf + DISCOUNT_ARGV_HEAD + a->used, s, len);
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
    char head[SK_RESP_HEAD];
    size_t n = sk_resp_array(head, (size_t)a->argc);
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
            sk_event_free(env);
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
            sk_event_free(env);
            e->order_id = e->customer_id = NULL;
            e->kind = SK_EVENT_NONE;
            return;
        }
    }
    if (e->kind != SK_EVENT_CUSTOMER && !e->order_id) {
        snprintf(e->error, sizeof e->error, "event %s has no order id", env->event_id);
        sk_event_free(env);
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
        sk_event_free(e->env);
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

bool discount_entry_needs_customer(const discount_entry_t *e)
{
    return e->env && e->kind == SK_EVENT_INVOICE && sk_event_invoice(e->env);
}

/* ---------------------------------------------------------------- planning */

typedef struct {
    const discount_entry_t *e;
    discount_plan_t *plan;
    const discount_when_t *when;
    bool has_old;
    sk_invoice_t old;
    sk_invoice_change_t ch;
    /* the due queue's change (remind.h) and the statement to queue ("" none) */
    discount_remind_ops_t ops;
    char skey[SK_REMIND_KEY_MAX];
    int64_t sdue;
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

/* The field and value strings of an HGETALL reply (at most max pairs); -1 if
 * the reply is not one. */
static int s_pairs(const redisReply *r, const char **f, const char **v, size_t *vl, size_t max,
                   size_t *n)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return -1;
    *n = r->elements / 2 < max ? r->elements / 2 : max;
    for (size_t i = 0; i < *n; i++) {
        const redisReply *a = r->element[2 * i], *b = r->element[2 * i + 1];
        if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING)
            return -1;
        f[i] = a->str;
        v[i] = b->str;
        if (vl)
            vl[i] = b->len;
    }
    return 0;
}

/* Reads the invoice reply (GET); returns -1 (and sets the plan) if unusable. */
static int s_load(s_ctx_t *x, const redisReply *r)
{
    sk_err_t err;
    x->has_old = false;
    if (r && r->type == REDIS_REPLY_NIL)
        return 0;
    if (sk_invoice_from_reply(r, x->e->order_id, &x->old, &err) == 0) {
        x->has_old = true;
        return 0;
    }
    if (!strcmp(err.code, "old_layout")) {
        /* A worker at start migrates it: wait, do not drop the event. */
        x->plan->kind = DISCOUNT_PLAN_WAIT;
        s_plan_msg(x->plan, false, "event %s: %s", x->e->env->event_id, err.msg);
    } else if (!strcmp(err.code, "redis")) {
        s_plan_msg(x->plan, true, "event %s: cannot read invoice %s: %s", x->e->env->event_id,
                   x->e->order_id, err.msg);
    } else {
        s_plan_msg(x->plan, true, "event %s: stored invoice is unusable: %s", x->e->env->event_id,
                   err.msg);
    }
    return -1;
}

/* A date field of an event: -1 when absent, SK_DAY_INVALID when malformed. */
static sk_day_t s_event_date(const char *s)
{
    sk_day_t d;
    if (!s || !s[0])
        return -1;
    return sk_date_parse(s, &d, NULL) == 0 ? d : SK_DAY_INVALID;
}

/* The terms that apply to order o; stored is the customer's stored terms
 * (NULL when not read). */
static const char *s_order_terms(const Skonto__V1__Invoice *o, const char *stored)
{
    return sk_terms_that_apply(o->terms, o->customer ? o->customer->terms : NULL, stored, NULL);
}

/* Turns the change into the plan: its kind, and its message prefixed with the event id. */
static void s_plan_from_change(s_ctx_t *x)
{
    const sk_invoice_change_t *ch = &x->ch;
    discount_plan_t *plan = x->plan;
    switch (ch->outcome) {
    case SK_CHANGE_APPLY:
        plan->kind = DISCOUNT_PLAN_SCRIPT;
        break;
    case SK_CHANGE_NONE:
    case SK_CHANGE_ERROR:
        plan->kind = DISCOUNT_PLAN_ACK;
        break;
    case SK_CHANGE_NOINV:
        plan->kind = DISCOUNT_PLAN_NOINV;
        return;
    }
    if (ch->msg[0])
        s_plan_msg(plan, ch->outcome == SK_CHANGE_ERROR, "event %s: %s", x->e->env->event_id,
                   ch->msg);
}

/* Field i of the customer's HMGET reply, NULL when absent or not read. */
static const char *s_cust_field(const redisReply *cust, size_t i)
{
    if (!cust || cust->type != REDIS_REPLY_ARRAY || i >= cust->elements)
        return NULL;
    const redisReply *f = cust->element[i];
    return f->type == REDIS_REPLY_STRING ? f->str : NULL;
}

/* The order's reminders and statement: x->ops, x->skey. */
static void s_plan_order_queue(s_ctx_t *x, const redisReply *cust)
{
    const sk_remind_settings_t *rs = x->when->remind;
    discount_profile_t prof;
    sk_err_t err;
    if (!rs || x->ch.outcome != SK_CHANGE_APPLY)
        return;
    if (discount_profile_parse(rs, s_cust_field(cust, 1), s_cust_field(cust, 2),
                               s_cust_field(cust, 3), &prof, &err) != 0 &&
        !x->plan->msg[0])
        s_plan_msg(x->plan, false, "event %s: customer %s: %s", x->e->env->event_id,
                   x->ch.inv.customer_id, err.msg);
    if (discount_remind_diff(rs, x->e->order_id, x->has_old ? &x->old : NULL, &x->ch.inv, prof.tz,
                             x->when->now_ms, &x->ops, &err) != 0) {
        x->ops.nadd = x->ops.ndrop = 0;
        s_plan_msg(x->plan, false, "event %s: no reminders: %s", x->e->env->event_id, err.msg);
    }
    if (discount_remind_open(&x->ch.inv) &&
        !discount_statement_next(rs, x->ch.inv.customer_id, &prof, x->when->now_ms, x->skey,
                                 &x->sdue))
        x->skey[0] = '\0';
}

/* A payment, credit note or cancellation: the invoice's tiers stay, so its
 * queued reminders stay, unless it is closed or its balance is 0. */
static void s_plan_close_queue(s_ctx_t *x)
{
    sk_err_t err;
    const sk_remind_settings_t *rs = x->when->remind;
    if (!rs || x->ch.outcome != SK_CHANGE_APPLY || !x->has_old ||
        discount_remind_open(&x->ch.inv))
        return;
    if (discount_remind_diff(rs, x->e->order_id, &x->old, NULL, rs->default_tz, x->when->now_ms,
                             &x->ops, &err) != 0)
        x->ops.nadd = x->ops.ndrop = 0;
}

static void s_plan_order(s_ctx_t *x, const redisReply *hist, const redisReply *cust)
{
    const Skonto__V1__Invoice *o = sk_event_invoice(x->e->env);
    const char *stored = s_cust_field(cust, 0);
    sk_order_event_t ev = {
        .order_id = o->order_id,
        .customer_id = o->customer_id,
        .salesperson = o->salesperson,
        .currency = o->currency,
        .terms = s_order_terms(o, stored),
        .invoice_date = s_event_date(o->invoice_date),
        .delivery_date = s_event_date(o->delivery_date),
        .amount = o->amount,
        .tax = o->tax,
        .version = o->version,
    };
    if (!o->ship_date || sk_date_parse(o->ship_date, &ev.ship_date, NULL) != 0)
        ev.ship_date = SK_DAY_INVALID; /* required */
    sk_history_t h;
    const char *f[2 * (SK_TERMS_MAX_TIERS + 2)], *v[2 * (SK_TERMS_MAX_TIERS + 2)];
    size_t n = 0;
    if (s_pairs(hist, f, v, NULL, 2 * (SK_TERMS_MAX_TIERS + 2), &n) != 0)
        n = 0; /* no usable history: forecast at net */
    sk_history_from_fields(&h, n, f, v);
    sk_invoice_on_order(x->has_old ? &x->old : NULL, &ev, &h, &x->ch);
    s_plan_from_change(x);
    s_plan_order_queue(x, cust);
}

static void s_plan_payment(s_ctx_t *x)
{
    const Skonto__V1__PaymentReceived *p = x->e->env->payment_received;
    const sk_payment_event_t ev = {p->order_id, p->currency, s_event_date(p->paid_on), p->amount,
                                   p->full};
    sk_invoice_on_payment(x->has_old ? &x->old : NULL, &ev, &x->ch);
    s_plan_from_change(x);
    s_plan_close_queue(x);
}

static void s_plan_credit(s_ctx_t *x)
{
    const Skonto__V1__CreditNote *c = x->e->env->credit_note;
    const sk_credit_event_t ev = {c->order_id, c->currency, c->amount};
    sk_invoice_on_credit(x->has_old ? &x->old : NULL, &ev, &x->ch);
    s_plan_from_change(x);
    s_plan_close_queue(x);
}

static void s_plan_cancel(s_ctx_t *x)
{
    sk_invoice_on_cancel(x->has_old ? &x->old : NULL, x->e->order_id, &x->ch);
    s_plan_from_change(x);
    s_plan_close_queue(x);
}

/* ---------------------------------------------------------------- batches */

discount_batch_t *discount_batch_new(void)
{
    discount_batch_t *b = calloc(1, sizeof *b);
    if (b && !(b->sum_ix = sk_map_new(DISCOUNT_SUMS_MAX)))
        discount_batch_destroy(&b);
    return b;
}

void discount_batch_destroy(discount_batch_t **self_p)
{
    if (!*self_p)
        return;
    sk_map_destroy(&(*self_p)->sum_ix);
    free(*self_p);
    *self_p = NULL;
}

void discount_batch_reset(discount_batch_t *b, int shard)
{
    b->shard = shard;
    b->n = 0;
    b->nkeys = 0;
    discount_argv_reset(&b->keys);
    discount_argv_reset(&b->args);
    discount_argv_reset(&b->cmd);
    sk_map_clear(b->sum_ix);
    b->nsum = 0;
    b->sum_bytes = 0;
    b->sums_off = false;
}

/* The KEYS index of a counter, for the record whose invoice is KEYS[kb]. */
static int s_counter_index(int code, int kb)
{
    return code == K_HIST ? kb + 2 : code;
}

/* Adds d to the batch's sum of (key, field). */
static void s_sum_add(discount_batch_t *b, int key, const char *field, int64_t d)
{
    size_t len = strlen(field);
    if (b->sums_off || len >= sizeof b->sums[0].field) {
        b->sums_off = true;
        return;
    }
    char name[24 + sizeof b->sums[0].field];
    size_t n = sk_fmt_i64(name, key);
    name[n++] = '\t';
    memcpy(name + n, field, len + 1);
    intptr_t ix;
    if (sk_map_get(b->sum_ix, name, &ix)) {
        if (__builtin_add_overflow(b->sums[ix].sum, d, &b->sums[ix].sum))
            b->sums_off = true;
        return;
    }
    if (b->nsum == DISCOUNT_SUMS_MAX || b->sum_bytes + len + 3 * 32 > DISCOUNT_SUMS_BYTES ||
        sk_map_put(b->sum_ix, name, b->nsum) != 0) {
        b->sums_off = true;
        return;
    }
    b->sums[b->nsum].key = key;
    b->sums[b->nsum].sum = d;
    memcpy(b->sums[b->nsum].field, field, len + 1);
    b->nsum++;
    b->sum_bytes += len + 3 * 32;
}

/* Appends a record that changes state (its invoice KEYS[kb]) and adds its
 * increments to the batch's sums. */
static void s_batch_record(discount_batch_t *b, const sk_invoice_change_t *ch, int kb,
                           const discount_argv_t *rec)
{
    discount_argv_append(&b->args, rec);
    for (int i = 0; i < ch->ndeltas; i++)
        s_sum_add(b, s_counter_index(s_counter_key(ch->deltas[i].counter), kb),
                  ch->deltas[i].field, ch->deltas[i].delta);
}

/* Room kept for the command's head: EVALSHA, sha, numkeys, the shard keys
 * and the two read-only keys at the head of ARGV. */
#define S_CMD_HEAD_BYTES ((S_SHARD_KEYS + 5) * (SK_KEY_MAX + 32))

bool discount_batch_full(const discount_batch_t *b)
{
    /* An entry: its record, up to 4 keys and a hand-off (prefix of 3
     * arguments); the sums: at most DISCOUNT_SUMS_BYTES, 3 x DISCOUNT_SUMS_MAX + 1 arguments. */
    return b->n >= DISCOUNT_BATCH_ENTRIES ||
           b->keys.used + b->args.used + DISCOUNT_SUMS_BYTES + DISCOUNT_ENTRY_BYTES +
                   DISCOUNT_HANDOFF_MAX + 4 * (SK_KEY_MAX + 32) + S_CMD_HEAD_BYTES >
               DISCOUNT_ARGV_BYTES - DISCOUNT_ARGV_HEAD ||
           b->keys.argc + b->args.argc + 3 * DISCOUNT_SUMS_MAX + 1 + DISCOUNT_ENTRY_ARGS_MAX + 7 +
                   S_SHARD_KEYS + 5 >
               DISCOUNT_ARGV_MAX;
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
    discount_argv_addz(c, sk_key_forecast_history(key, b->shard));
    discount_argv_addz(c, sk_key_forecast_net(key, b->shard));
    discount_argv_addz(c, sk_key_takeup(key, b->shard));
    discount_argv_addz(c, sk_key_unapplied(key, b->shard));
    discount_argv_addz(c, sk_key_remind_due(key, b->shard));
    discount_argv_addz(c, sk_key_statements(key, b->shard));
    discount_argv_addz(c, sk_key_policy(key, b->shard));
    discount_argv_addz(c, sk_key_policy_customers(key, b->shard));
    discount_argv_addz(c, sk_key_policy_salespeople(key, b->shard));
    discount_argv_append(c, &b->keys);
    discount_argv_addz(c, sk_key_remind_sent(key, b->shard)); /* ARGV 1, 2: only read */
    discount_argv_addz(c, sk_key_remind_proc(key, b->shard));
    int ns = 0;
    for (int k = 0; k < b->nsum; k++)
        ns += b->sums[k].sum != 0;
    if (b->sums_off) {
        discount_argv_addz(c, "-");
    } else {
        discount_argv_add_i64(c, ns);
        for (int k = 0; k < b->nsum; k++) {
            if (b->sums[k].sum == 0)
                continue;
            discount_argv_add_i64(c, b->sums[k].key);
            discount_argv_addz(c, b->sums[k].field);
            discount_argv_add_i64(c, b->sums[k].sum);
        }
    }
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

/* The script's code of a counter's key (see DISCOUNT_APPLY_LUA). */
static int s_counter_key(sk_tally_t c)
{
    switch (c) {
    case SK_COUNTER_HISTORY:
        return K_HIST;
    case SK_COUNTER_FC_HIST:
        return K_FC_HIST;
    case SK_COUNTER_FC_NET:
        return K_FC_NET;
    case SK_COUNTER_POLICY:
        return K_POLICY;
    case SK_COUNTER_PCUST:
        return K_PCUST;
    case SK_COUNTER_PSP:
        return K_PSP;
    case SK_COUNTER_TAKEUP:
        break;
    }
    return K_TAKEUP;
}

/* A set op as the script's argument: "" nothing, "-" remove, else the score. */
static void s_set_op(discount_argv_t *argv, sk_set_op_t op, sk_day_t score)
{
    if (op == SK_SET_ADD)
        discount_argv_add_i64(argv, score);
    else
        discount_argv_addz(argv, op == SK_SET_REMOVE ? "-" : "");
}

/* The entry's record (see DISCOUNT_APPLY_LUA) into argv; kb is the KEYS
 * index its invoice key will have. */
static void s_script_record(s_ctx_t *x, int kb, discount_argv_t *argv)
{
    static uint8_t state[SK_INVOICE_VALUE_MAX];
    const discount_entry_t *e = x->e;
    const sk_invoice_change_t *ch = &x->ch;
    discount_argv_reset(argv);
    discount_argv_addz(argv, e->id);
    discount_argv_add_i64(argv, x->has_old ? x->old.rev : 0);
    discount_argv_add_i64(argv, kb);
    discount_argv_addz(argv, e->order_id);
    s_set_op(argv, ch->open_op, ch->open_score);
    size_t n = sk_invoice_pack_state(&ch->inv, state, sizeof state);
    if (n == 0)
        argv->overflow = true; /* "state too large to write" */
    discount_argv_add(argv, (const char *)state, n);
    discount_argv_addz(argv, e->seq);
    /* the increments, "<key>\t<field>\t<delta>\n" each, in one argument (a
     * field holds no tab: the ids in it have no control characters, which
     * ingest rejects); the script reads them only when it cannot use the
     * batch's sums (s_batch_record) */
    static char incs[SK_CHANGE_MAX_DELTAS * (sizeof ch->deltas[0].field + 48)];
    size_t ni = 0;
    for (int i = 0; i < ch->ndeltas; i++) {
        const char *f = ch->deltas[i].field;
        size_t fl = strlen(f);
        ni += sk_fmt_i64(incs + ni, s_counter_key(ch->deltas[i].counter));
        incs[ni++] = '\t';
        memcpy(incs + ni, f, fl);
        ni += fl;
        incs[ni++] = '\t';
        ni += sk_fmt_i64(incs + ni, ch->deltas[i].delta);
        incs[ni++] = '\n';
    }
    discount_argv_add(argv, incs, ni);
    /* the due queue: a first version cannot have a key sent or in process */
    discount_argv_addz(argv, x->has_old ? "1" : "0");
    discount_argv_add_i64(argv, (int64_t)x->ops.ndrop);
    for (size_t i = 0; i < x->ops.ndrop; i++)
        discount_argv_addz(argv, x->ops.drop[i]);
    /* the plan in due order: the script queues its first not sent nor in
     * process; of a first version, nothing can be, so the first is enough */
    size_t nadd = x->has_old ? x->ops.nadd : (x->ops.nadd > 0);
    discount_argv_add_i64(argv, (int64_t)nadd);
    for (size_t i = 0; i < nadd; i++) {
        discount_argv_add_i64(argv, x->ops.add[i].due_ms);
        discount_argv_addz(argv, x->ops.add[i].key);
    }
    discount_argv_addz(argv, ch->inv.customer_id);
    discount_argv_addz(argv, x->skey);
    discount_argv_add_i64(argv, x->skey[0] ? x->sdue : 0);
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
                         const redisReply *cust, const discount_when_t *when, discount_batch_t *b,
                         discount_plan_t *plan)
{
    static s_ctx_t ctx;   /* large (three invoices): kept off the stack */
    static discount_argv_t rec; /* the entry's record, before it joins the batch */
    s_ctx_t *x = &ctx;
    memset(plan, 0, sizeof *plan);
    plan->kind = DISCOUNT_PLAN_ACK;
    x->e = e;
    x->plan = plan;
    x->when = when;
    x->has_old = false;
    x->ops.nadd = x->ops.ndrop = 0;
    x->skey[0] = '\0';
    x->sdue = 0;

    if (!e->env) {
        s_plan_msg(plan, true, "entry %s: %s", e->id, e->error);
    } else if (e->kind == SK_EVENT_CUSTOMER) {
        /* ingest already wrote the profile: nothing to compute */
    } else if ((!inv && e->kind == SK_EVENT_INVOICE) || s_load(x, inv) == 0) {
        if (s_waits(x))
            return;
        switch (e->kind) {
        case SK_EVENT_INVOICE:
            s_plan_order(x, hist, cust);
            break;
        case SK_EVENT_PAYMENT:
            s_plan_payment(x);
            break;
        case SK_EVENT_CREDIT:
            s_plan_credit(x);
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
        x->ch.inv.seq = q ? q : x->has_old ? x->old.seq : 0;
        int kb = S_SHARD_KEYS + b->nkeys + 1;
        s_script_record(x, kb, &rec);
        if (rec.overflow || rec.argc > DISCOUNT_ENTRY_ARGS_MAX || rec.used > DISCOUNT_ENTRY_BYTES) {
            s_plan_msg(plan, true, "event %s: order %s: state too large to write",
                       e->env->event_id, e->order_id);
            plan->kind = DISCOUNT_PLAN_ACK;
        } else {
            char key[SK_KEY_MAX];
            const char *cid = x->ch.inv.customer_id;
            /* A new version that changed what the schedule comes from is
             * handed to the audit log in the same step (docs/AUDIT.md 8). */
            bool handoff = e->kind == SK_EVENT_INVOICE && x->has_old &&
                           discount_schedule_changed(&x->old, &x->ch.inv);
            if (handoff) {
                static uint8_t ho[DISCOUNT_HANDOFF_MAX];
                size_t hn = discount_handoff_schedule(&x->old, &x->ch.inv, e->user,
                                                      e->env->event_id, ho, sizeof ho);
                discount_argv_addz(&b->args, "+");
                discount_argv_add_i64(&b->args, S_SHARD_KEYS + b->nkeys + 4);
                discount_argv_add(&b->args, (const char *)ho, hn);
            }
            discount_argv_addz(&b->keys, sk_key_invoice(key, b->shard, e->order_id));
            discount_argv_addz(&b->keys, sk_key_customer_open(key, b->shard, cid));
            discount_argv_addz(&b->keys, sk_key_history(key, b->shard, cid));
            b->nkeys += 3;
            if (handoff) {
                discount_argv_addz(&b->keys, sk_key_audit_handoff(key, b->shard));
                b->nkeys++;
            }
            s_batch_record(b, &x->ch, kb, &rec);
            b->n++;
        }
    }
    if (plan->kind == DISCOUNT_PLAN_ACK)
        discount_apply_ack(e, plan, x->has_old, b);
}

/* ---------------------------------------------------------------- overrides */

/* Appends the hand-off-only record of a refused override (see DISCOUNT_APPLY_LUA). */
static void s_override_refusal(const discount_override_t *o, const char *code,
                               const sk_invoice_t *inv, int64_t at_ms, discount_batch_t *b,
                               discount_plan_t *plan)
{
    static uint8_t ho[DISCOUNT_HANDOFF_MAX];
    char key[SK_KEY_MAX];
    size_t hn = discount_handoff_applied(o, code, NULL, inv ? inv->rev : 0,
                                         inv && inv->schedule.currency ? inv->schedule.currency->code
                                                                       : NULL,
                                         at_ms, ho, sizeof ho);
    discount_argv_addz(&b->args, "?");
    discount_argv_add_i64(&b->args, S_SHARD_KEYS + b->nkeys + 1);
    discount_argv_addz(&b->args, o->override_id);
    discount_argv_add(&b->args, (const char *)ho, hn);
    discount_argv_addz(&b->keys, sk_key_audit_handoff(key, b->shard));
    discount_argv_addz(&b->keys, sk_key_override_refused(key, b->shard));
    b->nkeys += 2;
    b->n++;
    plan->kind = DISCOUNT_PLAN_SCRIPT;
}

void discount_override_plan(const discount_override_t *o, const redisReply *inv,
                            const redisReply *cust, const discount_when_t *when,
                            discount_batch_t *b, discount_plan_t *plan, bool *applies)
{
    /* The planning helpers of the events serve here too: they take an entry,
     * which for an override is its queue entry, with an envelope that only
     * names it (for their log lines). */
    static s_ctx_t ctx;
    static discount_entry_t fake;
    static Skonto__V1__Envelope env;
    static sk_override_result_t res;
    static discount_argv_t rec;
    static uint8_t ho[DISCOUNT_HANDOFF_MAX];
    s_ctx_t *x = &ctx;
    sk_err_t err;
    memset(plan, 0, sizeof *plan);
    plan->kind = DISCOUNT_PLAN_ACK;
    *applies = false;
    if (!o->valid) {
        s_plan_msg(plan, true, "%s", o->error);
        /* An order that names its override is answered, so that its record
         * does not stay approved for ever; one that does not cannot be. */
        if (o->override_id[0])
            s_override_refusal(o, "bad_request", NULL, when->now_ms, b, plan);
        return;
    }
    skonto__v1__envelope__init(&env);
    env.event_id = (char *)o->override_id;
    memset(&fake, 0, sizeof fake);
    fake.shard = o->shard;
    snprintf(fake.id, sizeof fake.id, "%s", o->entry_id);
    fake.env = &env;
    fake.kind = SK_EVENT_INVOICE;
    fake.order_id = o->order_id;
    fake.customer_id = o->customer_id;
    x->e = &fake;
    x->plan = plan;
    x->when = when;
    x->has_old = false;
    x->ops.nadd = x->ops.ndrop = 0;
    x->skey[0] = '\0';
    x->sdue = 0;

    if (!inv || inv->type == REDIS_REPLY_NIL) {
        s_plan_msg(plan, false, "override %s: order %s has no invoice: refused", o->override_id,
                   o->order_id);
        s_override_refusal(o, "unknown_order", NULL, when->now_ms, b, plan);
        return;
    }
    if (sk_invoice_from_reply(inv, o->order_id, &x->old, &err) != 0) {
        if (!strcmp(err.code, "old_layout") || !strcmp(err.code, "redis")) {
            plan->kind = DISCOUNT_PLAN_WAIT;
            s_plan_msg(plan, false, "override %s: %s", o->override_id, err.msg);
            return;
        }
        s_plan_msg(plan, true, "override %s: stored invoice is unusable: %s", o->override_id,
                   err.msg);
        s_override_refusal(o, "bad_invoice", NULL, when->now_ms, b, plan);
        return;
    }
    x->has_old = true;
    const sk_invoice_t *old = &x->old;
    if (sk_invoice_find_override(old, o->override_id)) {
        s_plan_msg(plan, false, "override %s: already applied to order %s (a redelivery)",
                   o->override_id, o->order_id);
        return;
    }
    const char *refusal = NULL;
    if (strcmp(old->customer_id, o->customer_id) != 0) {
        refusal = "bad_request";
        s_plan_msg(plan, true, "override %s: order %s belongs to customer %s, not %s",
                   o->override_id, o->order_id, old->customer_id, o->customer_id);
    } else if (old->rev != o->revision) {
        refusal = "stale";
        s_plan_msg(plan, false,
                   "override %s: order %s is at revision %lld, the override was approved for %lld: "
                   "not applied (stale)",
                   o->override_id, o->order_id, (long long)old->rev, (long long)o->revision);
    } else if (old->noverrides >= SK_INVOICE_MAX_OVERRIDES) {
        refusal = "too_many_overrides";
        s_plan_msg(plan, false, "override %s: order %s already carries %d overrides",
                   o->override_id, o->order_id, SK_INVOICE_MAX_OVERRIDES);
    } else if (sk_override_apply(old, &o->change, when->today, &res, &err) != 0) {
        refusal = err.code;
        s_plan_msg(plan, false, "override %s: not applied: %s (%s)", o->override_id, err.msg,
                   err.code);
    }
    if (refusal) {
        s_override_refusal(o, refusal, old, when->now_ms, b, plan);
        return;
    }

    discount_override_record(o, &res, old->version, when->now_ms,
                             &res.inv.overrides[res.inv.noverrides]);
    res.inv.noverrides++;
    sk_invoice_on_override(old, &res.inv, &x->ch);
    x->ch.inv.seq = old->seq;
    s_plan_order_queue(x, cust);
    int kb = S_SHARD_KEYS + b->nkeys + 1;
    s_script_record(x, kb, &rec);
    size_t hn = discount_handoff_applied(o, "", &res, res.inv.rev, old->schedule.currency->code,
                                         when->now_ms, ho, sizeof ho);
    if (rec.overflow || hn == 0) {
        s_plan_msg(plan, true, "override %s: order %s: state too large to write",
                   o->override_id, o->order_id);
        return;
    }
    char key[SK_KEY_MAX];
    discount_argv_addz(&b->args, "!");
    discount_argv_add_i64(&b->args, kb + 3);
    discount_argv_add(&b->args, (const char *)ho, hn);
    s_batch_record(b, &x->ch, kb, &rec);
    discount_argv_addz(&b->keys, sk_key_invoice(key, b->shard, o->order_id));
    discount_argv_addz(&b->keys, sk_key_customer_open(key, b->shard, o->customer_id));
    discount_argv_addz(&b->keys, sk_key_history(key, b->shard, o->customer_id));
    discount_argv_addz(&b->keys, sk_key_audit_handoff(key, b->shard));
    b->nkeys += 4;
    b->n++;
    plan->kind = DISCOUNT_PLAN_SCRIPT;
    *applies = true;
    char eff[32];
    s_plan_msg(plan, false, "override %s applied to order %s: %s %s -> %s, effect %s %s",
               o->override_id, o->order_id, sk_override_kind_name(o->change.kind), res.old_value,
               res.new_value, sk_money_format(res.effect, old->schedule.currency, eff, sizeof eff),
               old->schedule.currency->code);
}
