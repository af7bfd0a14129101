/* reconcile — `skontoctl audit reconcile [--json]`: every open invoice's
 * stored schedule against the one it must have (common/reconcile.h: its
 * terms, amount, tax and baseline, and the overrides the audit log says were
 * approved and applied), naming each invoice that differs — a write that
 * bypassed the workers shows up here (issue 9).
 *
 * Reads, with skontoctl's read-only Redis user: every OverrideRecord of
 * sk:{audit}:ovr (HSCAN) whose status is APPLIED, then every invoice key
 * (SCAN MATCH sk:{s*}:inv:*), each page's values in one pipelined round
 * trip. An override counts for its invoice unless the invoice says it was
 * applied to an earlier version of the order (a new ERP version replaced that
 * schedule; the audit log has its ScheduleChanged). Exit 0 when every open
 * invoice is as it must be, 1 when one differs (or Redis fails). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "invoice.h"
#include "keys.h"
#include "reconcile.h"
#include "skonto/v1/skonto.pb-c.h"

#define VERB "audit reconcile"
#define S_PAGE "1000" /* SCAN / HSCAN COUNT */

static const sk_cli_opt_t s_opts[] = {
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl audit reconcile [--json]\n"
            "\n"
            "Recomputes the discount schedule every open invoice must have, from its terms,\n"
            "amount, tax and ship date and the overrides the audit log says were approved\n"
            "and applied (an extension moves a tier's last day, a rate change a tier's rate\n"
            "and discount; a grant or waiver leaves the schedule), and names every invoice\n"
            "whose stored schedule differs: order, customer, which tier, stored and expected.\n"
            "A difference means something wrote the invoice without going through the\n"
            "workers. Read-only (skontoctl's Redis user).\n"
            "\n"
            "options:\n"
            "  --json   {checked, overrides, unreadable, differ: [{order_id, customer_id,\n"
            "           revision, differences: [{tier (0-based, null for the invoice),\n"
            "           field (tiers, net_due, rate, last_day, discount, override), stored,\n"
            "           expected}], error}]}; dates YYYY-MM-DD, rates percent strings,\n"
            "           amounts decimal strings in the invoice's currency\n"
            "\n"
            "Exit status 0 when every open invoice is as it must be, 1 when one differs or\n"
            "Redis fails. Environment: SKONTO_REDIS_URL, SKONTO_REDIS_USER,\n"
            "SKONTO_REDIS_PASSWORD_FILE.\n");
}

/* ---------------------------------------------------------------- the overrides */

typedef struct {
    char order_id[SK_ID_MAX + 1];
    char id[SK_OVERRIDE_ID_MAX + 1];
    int64_t rev; /* the invoice revision it made: the order applied */
    sk_override_change_t change;
} s_applied_t;

typedef struct {
    s_applied_t *v;
    size_t n, cap;
} s_applied_list_t;

static int s_cmp(const void *a, const void *b)
{
    const s_applied_t *x = a, *y = b;
    int c = strcmp(x->order_id, y->order_id);
    if (c)
        return c;
    return x->rev < y->rev ? -1 : x->rev > y->rev;
}

/* One stored OverrideRecord; appended to l when APPLIED and well formed. */
static int s_take_record(s_applied_list_t *l, const redisReply *v)
{
    if (v->type != REDIS_REPLY_STRING)
        return 0;
    Skonto__V1__OverrideRecord *r =
        skonto__v1__override_record__unpack(NULL, v->len, (const uint8_t *)v->str);
    if (!r)
        return 0;
    const Skonto__V1__OverrideRequested *q = r->request;
    const Skonto__V1__OverrideChange *c = r->applied && r->applied->change ? r->applied->change
                                          : q                              ? q->change
                                                                           : NULL;
    if (r->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__APPLIED && q && c && q->order_id &&
        q->order_id[0] && strlen(q->order_id) <= SK_ID_MAX) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 64;
            s_applied_t *nv = realloc(l->v, cap * sizeof *nv);
            if (!nv) {
                skonto__v1__override_record__free_unpacked(r, NULL);
                return -1;
            }
            l->v = nv;
            l->cap = cap;
        }
        s_applied_t *a = &l->v[l->n];
        memset(a, 0, sizeof *a);
        snprintf(a->order_id, sizeof a->order_id, "%s", q->order_id);
        snprintf(a->id, sizeof a->id, "%s", q->override_id ? q->override_id : "");
        a->rev = r->applied ? r->applied->invoice_revision : 0;
        a->change.kind = (sk_override_kind_t)c->kind;
        a->change.tier = (int)c->tier;
        a->change.new_rate_ppm = c->new_rate_ppm;
        a->change.payment = (int)c->payment;
        bool ok = true;
        if (a->change.kind == SK_OVERRIDE_EXTEND)
            ok = c->new_last_day &&
                 sk_date_parse(c->new_last_day, &a->change.new_last_day, NULL) == 0;
        if (ok)
            l->n++;
    }
    skonto__v1__override_record__free_unpacked(r, NULL);
    return 0;
}

/* Every APPLIED override of sk:{audit}:ovr, sorted by order and revision. */
static int s_load_overrides(redisContext *c, s_applied_list_t *l)
{
    char cursor[32] = "0";
    do {
        const char *argv[5] = {"HSCAN", SK_KEY_AUDIT_OVERRIDES, cursor, "COUNT", S_PAGE};
        redisReply *r = sk_cli_redis_command(VERB, c, 5, argv);
        if (!r)
            return SK_EXIT_FAIL;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return sk_cli_fail(VERB, "Redis HSCAN %s: unexpected reply", SK_KEY_AUDIT_OVERRIDES);
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *kv = r->element[1];
        for (size_t i = 1; i < kv->elements; i += 2)
            if (s_take_record(l, kv->element[i]) != 0) {
                freeReplyObject(r);
                return sk_cli_fail(VERB, "out of memory");
            }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, s_cmp);
    return SK_EXIT_OK;
}

/* The changes of the overrides that count for inv into out (at most max). */
static int s_changes(const s_applied_list_t *l, const sk_invoice_t *inv, sk_override_change_t *out,
                     int max)
{
    s_applied_t key;
    snprintf(key.order_id, sizeof key.order_id, "%s", inv->order_id);
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* the first of the order's */
        size_t mid = (lo + hi) / 2;
        if (strcmp(l->v[mid].order_id, key.order_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int n = 0;
    for (size_t i = lo; i < l->n && !strcmp(l->v[i].order_id, inv->order_id) && n < max; i++) {
        const sk_invoice_override_t *kept = sk_invoice_find_override(inv, l->v[i].id);
        if (kept && kept->version != inv->version)
            continue; /* a later order version replaced the schedule it changed */
        out[n++] = l->v[i].change;
    }
    return n;
}

/* ---------------------------------------------------------------- output */

static void s_value_text(const sk_recon_diff_t *d, int64_t v, const sk_currency_t *cur, char *buf,
                         size_t n)
{
    switch (d->field) {
    case SK_RECON_NET_DUE:
    case SK_RECON_LAST_DAY:
        sk_date_format((sk_day_t)v, buf, n);
        break;
    case SK_RECON_RATE:
        sk_cli_rate_pct((int32_t)v, buf, n);
        break;
    case SK_RECON_DISCOUNT:
        sk_money_format(v, cur, buf, n);
        break;
    default:
        snprintf(buf, n, "%" PRId64, v);
    }
}

static json_t *s_value_json(const sk_recon_diff_t *d, int64_t v, const sk_currency_t *cur)
{
    switch (d->field) {
    case SK_RECON_NET_DUE:
    case SK_RECON_LAST_DAY:
        return sk_cli_json_date((sk_day_t)v);
    case SK_RECON_RATE:
        return sk_cli_json_rate((int32_t)v);
    case SK_RECON_DISCOUNT:
        return sk_cli_json_money(v, cur);
    default:
        return json_integer(v);
    }
}

typedef struct {
    bool json;
    json_t *differ;
    long checked, unreadable, ndiffer;
} s_report_t;

/* Reports one invoice that differs (rec NULL: its schedule cannot be
 * recomputed, why says so). */
static int s_report(s_report_t *rp, const sk_invoice_t *inv, const sk_recon_t *rec, const char *why)
{
    const sk_currency_t *cur = inv->schedule.currency;
    rp->ndiffer++;
    if (!rp->json) {
        if (!rec) {
            printf("order %s (customer %s): cannot recompute its schedule: %s\n", inv->order_id,
                   inv->customer_id, why);
            return 0;
        }
        for (int i = 0; i < rec->ndiffs; i++) {
            const sk_recon_diff_t *d = &rec->diffs[i];
            char a[40], b[40], t[24] = "";
            if (d->tier >= 0)
                snprintf(t, sizeof t, "tier %d ", d->tier + 1);
            s_value_text(d, d->stored, cur, a, sizeof a);
            s_value_text(d, d->expected, cur, b, sizeof b);
            printf("order %s (customer %s): %s%s: stored %s, expected %s\n", inv->order_id,
                   inv->customer_id, t, sk_recon_field_name(d->field), a, b);
        }
        return 0;
    }
    json_t *diffs = json_array();
    for (int i = 0; rec && diffs && i < rec->ndiffs; i++) {
        const sk_recon_diff_t *d = &rec->diffs[i];
        json_array_append_new(diffs, json_pack("{s:o, s:s, s:o, s:o}", "tier",
                                               d->tier >= 0 ? json_integer(d->tier) : json_null(),
                                               "field", sk_recon_field_name(d->field), "stored",
                                               s_value_json(d, d->stored, cur), "expected",
                                               s_value_json(d, d->expected, cur)));
    }
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:o, s:o}", "order_id", inv->order_id, "customer_id",
                  inv->customer_id, "revision", (json_int_t)inv->rev, "differences",
                  diffs ? diffs : json_array(), "error", why ? json_string(why) : json_null());
    return !o || json_array_append_new(rp->differ, o) != 0 ? -1 : 0;
}

/* One page of invoice keys: their values in one pipelined round trip, each
 * open one reconciled. */
static int s_page(redisContext *c, const redisReply *keys, const s_applied_list_t *ovr,
                  s_report_t *rp, sk_invoice_t *inv)
{
    for (size_t i = 0; i < keys->elements; i++) {
        const char *argv[2] = {"GET", keys->element[i]->str};
        if (keys->element[i]->type != REDIS_REPLY_STRING ||
            sk_cli_redis_append(VERB, c, 2, argv) != SK_EXIT_OK)
            return SK_EXIT_FAIL;
    }
    static sk_override_change_t ch[SK_INVOICE_MAX_OVERRIDES * 4];
    static sk_recon_t rec;
    int rc = SK_EXIT_OK;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *v = sk_cli_redis_reply(VERB, c);
        if (!v)
            return SK_EXIT_FAIL;
        const char *key = keys->element[i]->str, *oid = strstr(key, ":inv:");
        sk_err_t err;
        if (v->type != REDIS_REPLY_STRING || !oid ||
            sk_invoice_unpack(inv, oid + 5, v->str, v->len, &err) != 0) {
            if (v->type != REDIS_REPLY_NIL)
                rp->unreadable++; /* the layout of before issue 7, or malformed */
            freeReplyObject(v);
            continue;
        }
        freeReplyObject(v);
        if (inv->status != SK_INV_OPEN)
            continue;
        rp->checked++;
        int n = s_changes(ovr, inv, ch, (int)(sizeof ch / sizeof ch[0]));
        if (sk_reconcile(inv, ch, n, &rec, &err) != 0) {
            if (s_report(rp, inv, NULL, err.msg) != 0)
                rc = sk_cli_fail(VERB, "out of memory");
        } else if (rec.ndiffs > 0 && s_report(rp, inv, &rec, NULL) != 0) {
            rc = sk_cli_fail(VERB, "out of memory");
        }
    }
    return rc;
}

static int s_run(redisContext *c, bool json)
{
    s_applied_list_t ovr = {0};
    s_report_t rp = {json, json ? json_array() : NULL, 0, 0, 0};
    sk_invoice_t *inv = malloc(sizeof *inv);
    int rc = !inv || (json && !rp.differ) ? sk_cli_fail(VERB, "out of memory")
                                          : s_load_overrides(c, &ovr);
    char cursor[32] = "0";
    while (rc == SK_EXIT_OK) {
        const char *argv[6] = {"SCAN", cursor, "MATCH", SK_KEY_INVOICE_PATTERN, "COUNT", S_PAGE};
        redisReply *r = sk_cli_redis_command(VERB, c, 6, argv);
        if (!r) {
            rc = SK_EXIT_FAIL;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            rc = sk_cli_fail(VERB, "Redis SCAN: unexpected reply");
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        rc = s_page(c, r->element[1], &ovr, &rp, inv);
        freeReplyObject(r);
        if (!strcmp(cursor, "0"))
            break;
    }
    if (rc == SK_EXIT_OK) {
        if (json) {
            json_t *root =
                json_pack("{s:i, s:i, s:i, s:o}", "checked", (int)rp.checked, "overrides",
                          (int)ovr.n, "unreadable", (int)rp.unreadable, "differ", rp.differ);
            rp.differ = NULL;
            rc = sk_cli_json_print(VERB, root);
        } else {
            printf("%ld open invoices checked against %zu applied overrides: %s\n", rp.checked,
                   ovr.n, rp.ndiffer ? "some differ (above)" : "every schedule is as it must be");
            if (rp.unreadable)
                printf("%ld invoices could not be read (not migrated or malformed)\n",
                       rp.unreadable);
        }
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
        if (rc == SK_EXIT_OK && rp.ndiffer)
            rc = SK_EXIT_FAIL;
    }
    json_decref(rp.differ);
    free(ovr.v);
    free(inv);
    return rc;
}

int sk_cmd_audit_reconcile(int argc, char **argv)
{
    /* argv[0] "audit", argv[1] "reconcile" */
    if (sk_cli_wants_help(argc - 1, argv + 1)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc - 1, argv + 1);
    const char *value;
    bool json = false;
    int o;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD)
            return sk_cli_usage_error(VERB, "unexpected argument (usage: skontoctl audit "
                                            "reconcile [--json])");
        json = true;
    }
    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    int rc = s_run(c, json);
    redisFree(c);
    return rc;
}
