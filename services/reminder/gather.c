/* gather — see gather.h. */
#include "gather.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "invoice_store.h"
#include "keys.h"
#include "settlement.h"

struct reminder_gathered {
    reminder_profile_t profile;
    sk_invoice_t *inv;                /* the open invoices read */
    reminder_invoice_t *views;        /* their windows, pointing into inv */
    int (*tiers)[SK_TERMS_MAX_TIERS]; /* each window's tier index */
    size_t n;
    reminder_statement_t st;
    sk_err_t read_err; /* why s_keep stopped the read */
};

/* Copies a stored string value into dst (cap bytes with the NUL): -1 if it
 * is longer or holds a control character. */
static int s_copy(char *dst, size_t cap, const redisReply *v)
{
    if (v->type != REDIS_REPLY_STRING || v->len >= cap)
        return -1;
    for (size_t i = 0; i < v->len; i++)
        if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f)
            return -1;
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
    return 0;
}

int reminder_profile_from_reply(const redisReply *r, const char *customer_id,
                                const sk_remind_settings_t *s, reminder_profile_t *p, sk_err_t *err)
{
    memset(p, 0, sizeof *p);
    p->cadence = SK_CADENCE_WEEKLY;
    p->tz = s->default_tz;
    if (strlen(customer_id) > SK_ID_MAX)
        return sk_err_set(err, "bad_customer", "customer id over %d bytes", SK_ID_MAX);
    strcpy(p->id, customer_id);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return sk_err_set(err, "redis", "HGETALL customer %s: %s", customer_id,
                          r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    p->exists = r->elements > 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return sk_err_set(err, "redis", "HGETALL customer %s: unexpected reply", customer_id);
        struct {
            const char *name;
            char *dst;
            size_t cap;
        } fields[] = {{"name", p->name, sizeof p->name},
                      {"email", p->email, sizeof p->email},
                      {"locale", p->locale, sizeof p->locale},
                      {"tz", p->tz_id, sizeof p->tz_id}};
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            if (!strcmp(f->str, fields[k].name) && s_copy(fields[k].dst, fields[k].cap, v) != 0)
                return sk_err_set(err, "bad_customer", "customer %s: stored %s is malformed",
                                  customer_id, fields[k].name);
        if (!strcmp(f->str, "optout"))
            p->optout = v->len == 1 && v->str[0] == '1';
        else if (!strcmp(f->str, "statement") && sk_remind_cadence_parse(v->str, &p->cadence) != 0)
            p->cadence = SK_CADENCE_WEEKLY;
    }
    if (*p->tz_id) {
        const sk_tz_t *tz = sk_remind_zone(s, p->tz_id, NULL);
        p->tz = tz ? tz : s->default_tz;
        p->tz_fallback = !tz;
    }
    return 0;
}

reminder_customer_t reminder_profile_customer(const reminder_profile_t *p)
{
    reminder_customer_t c = {p->id, p->name, p->email, p->locale};
    return c;
}

void reminder_invoice_view(const sk_invoice_t *inv, sk_day_t today, reminder_invoice_t *out,
                           int tiers[SK_TERMS_MAX_TIERS])
{
    const sk_schedule_t *s = &inv->schedule;
    memset(out, 0, sizeof *out);
    out->order_id = inv->order_id;
    out->currency = s->currency ? s->currency->code : "";
    out->amount = inv->balance;
    out->net_due = s->net_due;
    if (inv->status != SK_INV_OPEN || inv->balance <= 0)
        return;
    for (int i = 0; i < s->ntiers && out->n_windows < SK_TERMS_MAX_TIERS; i++) {
        if (s->tiers[i].last_day < today)
            continue;
        /* a payment of one minor unit declared full earns the window's
         * discount on the whole open balance: what paying it off then saves */
        int64_t bal = inv->balance;
        sk_payment_t pay = {s->tiers[i].last_day, 1, true};
        sk_applied_t ap;
        if (sk_settle_apply(s, &bal, &pay, &ap, NULL) < 0 || ap.tier != i)
            continue;
        reminder_window_t *w = &out->windows[out->n_windows];
        w->last_day = s->tiers[i].last_day;
        w->rate_ppm = s->tiers[i].rate_ppm;
        w->discount = ap.discount;
        w->payable = inv->balance - ap.discount;
        if (tiers)
            tiers[out->n_windows] = i;
        out->n_windows++;
    }
}

/* HGETALL of the profile, ZRANGE of copen: two replies of one round trip. */
static int s_read_head(redisContext *c, int shard, const char *cid, redisReply **prof,
                       redisReply **open, sk_err_t *err)
{
    char kc[SK_KEY_MAX], ko[SK_KEY_MAX], lim[24];
    snprintf(lim, sizeof lim, "%d", REMINDER_NOTICE_MAX_INVOICES - 1);
    const char *a1[] = {"HGETALL", sk_key_customer(kc, shard, cid)};
    const char *a2[] = {"ZRANGE", sk_key_customer_open(ko, shard, cid), "0", lim};
    *prof = *open = NULL;
    if (redisAppendCommandArgv(c, 2, a1, NULL) != REDIS_OK ||
        redisAppendCommandArgv(c, 4, a2, NULL) != REDIS_OK ||
        redisGetReply(c, (void **)prof) != REDIS_OK || redisGetReply(c, (void **)open) != REDIS_OK)
        return sk_err_set(err, "redis", "reading customer %s: %s", cid, c->errstr);
    if ((*open)->type != REDIS_REPLY_ARRAY)
        return sk_err_set(err, "redis", "ZRANGE %s: %s", ko,
                          (*open)->type == REDIS_REPLY_ERROR ? (*open)->str : "unexpected reply");
    return 0;
}

/* sk_invoice_read_each's callback: keeps the invoices still open (skipping
 * those gone or closed since copen was read); a damaged one stops the read. */
static int s_keep(void *ctx, const char *oid, int got, const sk_err_t *e, const sk_invoice_t *inv)
{
    reminder_gathered_t *g = ctx;
    (void)oid;
    if (got != 0 && !strcmp(e->code, "no_invoice"))
        return 0;
    if (got != 0) {
        g->read_err = *e;
        return -1;
    }
    if (inv->status == SK_INV_OPEN && inv->balance > 0)
        g->inv[g->n++] = *inv;
    return 0;
}

/* The open invoices of copen, pipelined (common/io/invoice_store). */
static int s_read_invoices(redisContext *c, int shard, const redisReply *open,
                           reminder_gathered_t *g, sk_err_t *err)
{
    size_t n = open->elements;
    g->inv = calloc(n ? n : 1, sizeof *g->inv);
    g->views = calloc(n ? n : 1, sizeof *g->views);
    g->tiers = calloc(n ? n : 1, sizeof *g->tiers);
    if (!g->inv || !g->views || !g->tiers)
        return sk_err_set(err, "out_of_memory", "statement: out of memory");
    sk_err_clear(&g->read_err);
    if (sk_invoice_read_each(c, shard, open, s_keep, g, err) == 0)
        return 0;
    if (g->read_err.code[0] && err)
        *err = g->read_err;
    return -1;
}

reminder_gathered_t *reminder_statement_gather(redisContext *c, const char *customer_id,
                                               const sk_remind_settings_t *s, int64_t now_ms,
                                               sk_err_t *err)
{
    reminder_gathered_t *g = calloc(1, sizeof *g);
    if (!g) {
        sk_err_set(err, "out_of_memory", "statement: out of memory");
        return NULL;
    }
    int shard = sk_shard_of(customer_id);
    redisReply *prof = NULL, *open = NULL;
    int rc = s_read_head(c, shard, customer_id, &prof, &open, err);
    if (rc == 0)
        rc = reminder_profile_from_reply(prof, customer_id, s, &g->profile, err);
    if (rc == 0 && !g->profile.exists)
        rc = sk_err_set(err, "no_customer", "no customer %s", customer_id);
    if (rc == 0)
        rc = s_read_invoices(c, shard, open, g, err);
    if (prof)
        freeReplyObject(prof);
    if (open)
        freeReplyObject(open);
    if (rc != 0) {
        reminder_gathered_destroy(&g);
        return NULL;
    }
    sk_day_t today = sk_tz_local_day(g->profile.tz, now_ms, NULL);
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) {
        /* an invoice read as a hash may be closed: keep only the open ones */
        if (g->inv[i].status != SK_INV_OPEN || g->inv[i].balance <= 0)
            continue;
        if (k != i)
            g->inv[k] = g->inv[i];
        k++;
    }
    g->n = k;
    for (size_t i = 0; i < g->n; i++)
        reminder_invoice_view(&g->inv[i], today, &g->views[i], g->tiers[i]);
    g->st.customer = reminder_profile_customer(&g->profile);
    g->st.today = today;
    g->st.invoices = g->views;
    g->st.n_invoices = g->n;
    return g;
}

void reminder_gathered_destroy(reminder_gathered_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->inv);
    free((*self_p)->views);
    free((*self_p)->tiers);
    free(*self_p);
    *self_p = NULL;
}

const reminder_profile_t *reminder_gathered_profile(const reminder_gathered_t *self)
{
    return &self->profile;
}

const reminder_statement_t *reminder_gathered_statement(const reminder_gathered_t *self)
{
    return &self->st;
}

const int *reminder_gathered_tiers(const reminder_gathered_t *self, size_t i)
{
    return self->tiers[i];
}
