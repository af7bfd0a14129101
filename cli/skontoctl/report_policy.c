/* report_policy — `skontoctl report policy`: is the discount policy paying?
 *
 * Reads only counters the discount worker keeps with the state they count
 * (common/invoice_rules.h, sk_invoice_policy, names every field): per shard
 * sk:{sN}:pol (per terms x tier x close month x currency, sales by month,
 * cash paid early by net due day), sk:{sN}:pcust (per customer x close
 * month), sk:{sN}:psp (per salesperson x close month), sk:{sN}:fc:net (the open balances by net due
 * day) and, for the HTML report's forecast chart, sk:{sN}:fc:hist (by the day history expects them;
 * skontoctl forecast's other series). 80 HGETALLs in one pipeline, never a scan of the invoices;
 * and the audit worker's override records (override_records.h) for the overrides per salesperson.
 * The arithmetic is common/policy.h's. Read-only. */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "date.h"
#include "invoice_rules.h"
#include "keys.h"
#include "money.h"
#include "override_records.h"
#include "policy.h"
#include "report_html.h"
#include "report_policy.h"
#include "sk_clock.h"
#include "sk_map.h"
#include "sk_redis.h"
#include "terms.h"

#define VERB "report policy"
#define S_ROWS_MAX SIZE_MAX

static const char *const s_vnames[SK_POL_V_COUNT] = {"n", "a", "dn", "tk", "dc", "pa", "pd", "ds"};

/* ---------------------------------------------------------------- grouped rows */

static bool s_in_range(const sk_pol_rep_t *r, const char *m)
{
    return (!r->from[0] || strcmp(m, r->from) >= 0) && (!r->to[0] || strcmp(m, r->to) <= 0);
}

/* "t3" -> 3, "net" -> -1, "*" -> -2; -3 otherwise. */
static int s_tier_of(const char *s)
{
    if (!strcmp(s, "net"))
        return SK_POL_TIER_NET;
    if (!strcmp(s, "*"))
        return SK_POL_TIER_ALL;
    if (s[0] == 't' && s[1] >= '0' && s[1] < '0' + SK_TERMS_MAX_TIERS && !s[2])
        return s[1] - '0';
    return -3;
}

static bool s_i64(const redisReply *v, int64_t *out)
{
    char *end;
    if (v->type != REDIS_REPLY_STRING || !v->len)
        return false;
    long long x = strtoll(v->str, &end, 10);
    if (*end)
        return false;
    *out = x;
    return true;
}

/* Splits s at its first n-1 '|' into parts (the last one is the rest). */
static int s_split(char *s, char **parts, int n)
{
    int k = 0;
    parts[k++] = s;
    while (k < n) {
        char *p = strchr(parts[k - 1], '|');
        if (!p)
            break;
        *p = '\0';
        parts[k++] = p + 1;
    }
    return k;
}

static void s_drow_add(sk_pol_tab_t *t, const char *key, const char *cur, int64_t v)
{
    char k[32];
    snprintf(k, sizeof k, "%s|%s", key, cur);
    long i = sk_pol_row(t, k);
    if (i < 0)
        return;
    sk_pol_drow_t *d = SK_POL_AT(t, sk_pol_drow_t, i);
    snprintf(d->key, sizeof d->key, "%s", key);
    memcpy(d->cur, cur, 4);
    d->v += v;
}

static void s_trow_add(sk_pol_tab_t *t, const char *terms, const char *cur, int tier, int vi,
                       int64_t v)
{
    char k[SK_TERMS_MAX_LEN + 32];
    snprintf(k, sizeof k, "%s|%s|%d", terms, cur, tier);
    long i = sk_pol_row(t, k);
    if (i < 0)
        return;
    sk_pol_trow_t *row = SK_POL_AT(t, sk_pol_trow_t, i);
    snprintf(row->terms, sizeof row->terms, "%s", terms);
    memcpy(row->cur, cur, 4);
    row->tier = tier;
    row->v[vi] += v;
}

static bool s_cur_ok(const char *c)
{
    return strlen(c) == 3 && sk_currency_find(c);
}

/* "w<r>,<rn>,<dnet>,<dnext>" into b's rates and days; false when malformed
 * (rates outside 0..<100 %, rn above r, days beyond +-SK_TERMS_MAX_DAYS x 10). */
static bool s_bucket_of(const char *s, sk_policy_bucket_t *b)
{
    long long v[4];
    const char *q = s + 1;
    for (int k = 0; k < 4; k++) {
        char *end;
        if (!((*q >= '0' && *q <= '9') || *q == '-'))
            return false;
        v[k] = strtoll(q, &end, 10);
        if (end == q || *end != (k < 3 ? ',' : '\0'))
            return false;
        q = end + 1;
    }
    long long dmax = 10LL * SK_TERMS_MAX_DAYS;
    if (v[0] < 0 || v[0] >= SK_PPM || v[1] < 0 || v[1] > v[0] || v[2] < -dmax || v[2] > dmax ||
        v[3] < -dmax || v[3] > dmax)
        return false;
    b->rate_ppm = (int32_t)v[0];
    b->next_ppm = (int32_t)v[1];
    b->d_net = (int)v[2];
    b->d_next = (int)v[3];
    return true;
}

/* A rate bucket of sk:{sN}:pol, split: M, w..., CUR, t<i>, T. */
static void s_take_bucket(sk_pol_rep_t *r, char **p, int64_t v)
{
    sk_policy_bucket_t b;
    int tier = s_tier_of(p[3]);
    if (tier < 0 || strlen(p[0]) != 7 || !s_cur_ok(p[2]) || !s_bucket_of(p[1], &b)) {
        r->skipped++;
        return;
    }
    if (!s_in_range(r, p[0]))
        return;
    char k[SK_TERMS_MAX_LEN + 64];
    snprintf(k, sizeof k, "%s|%s|%d|%s", p[4], p[2], tier, p[1]);
    long i = sk_pol_row(&r->buckets, k);
    if (i < 0)
        return;
    sk_pol_brow_t *row = SK_POL_AT(&r->buckets, sk_pol_brow_t, i);
    snprintf(row->terms, sizeof row->terms, "%s", p[4]);
    memcpy(row->cur, p[2], 4);
    row->tier = tier;
    if (__builtin_add_overflow(row->b.amount, v, &b.amount)) {
        r->skipped++; /* beyond int64: not a counter the apply step can have written */
        return;
    }
    row->b = b;
}

/* One field of sk:{sN}:pol. */
static void s_take_pol(sk_pol_rep_t *r, char *f, int64_t v)
{
    char *p[5];
    int n = s_split(f, p, 5);
    if (n == 3 && (!strcmp(p[0], "s") || !strcmp(p[0], "pn")) && s_cur_ok(p[2])) {
        s_drow_add(p[0][0] == 's' ? &r->sales : &r->early, p[1], p[2], v);
        return;
    }
    if (n == 5 && p[1][0] == 'w') {
        s_take_bucket(r, p, v);
        return;
    }
    int vi = -1;
    for (int k = 0; n == 5 && k < SK_POL_V_COUNT; k++)
        if (!strcmp(p[1], s_vnames[k]))
            vi = k;
    int tier = n == 5 ? s_tier_of(p[3]) : -3;
    if (vi < 0 || tier < -2 || strlen(p[0]) != 7 || !s_cur_ok(p[2])) {
        r->skipped++;
        return;
    }
    if (!s_in_range(r, p[0]))
        return;
    s_trow_add(&r->tiers, p[4], p[2], tier, vi, v);
    if (vi == SK_POL_V_DC || vi == SK_POL_V_PD)
        s_trow_add(&r->months, p[0], p[2], tier, vi, v); /* terms = the month */
}

/* Splits a per-id field "M|x|ID" (pcust, psp; the id last, it may hold
 * '|') into p; false when it is malformed (counted as skipped) or its month
 * is out of the range. */
static bool s_id_field(sk_pol_rep_t *r, char *f, char *p[3])
{
    if (s_split(f, p, 3) != 3 || strlen(p[0]) != 7 || strlen(p[2]) > SK_ID_MAX) {
        r->skipped++;
        return false;
    }
    return s_in_range(r, p[0]);
}

/* The counters of a per-id row (sk_pol_crow_t, sk_pol_srow_t) by the name
 * its fields carry: an int64_t, or with per_cur an int64_t[SK_POL_CUR_MAX]
 * parallel to the row's currencies. */
typedef struct {
    const char *name;
    size_t off;
    bool per_cur;
} s_name_t;

#define S_N(type, f) {#f, offsetof(type, f), false}
#define S_C(type, f) {#f, offsetof(type, f), true}
static const s_name_t s_cust_names[] = {
    S_N(sk_pol_crow_t, n),  S_N(sk_pol_crow_t, ot), S_N(sk_pol_crow_t, ds),
    S_N(sk_pol_crow_t, un), S_N(sk_pol_crow_t, in), S_N(sk_pol_crow_t, ir),
    S_N(sk_pol_crow_t, ig), S_N(sk_pol_crow_t, net), S_C(sk_pol_crow_t, ua),
    S_C(sk_pol_crow_t, dc), {NULL, 0, false}};
static const s_name_t s_sp_names[] = {S_N(sk_pol_srow_t, n),  S_N(sk_pol_srow_t, tk),
                                      S_N(sk_pol_srow_t, un), S_C(sk_pol_srow_t, dc),
                                      S_C(sk_pol_srow_t, a),  S_C(sk_pol_srow_t, ua),
                                      {NULL, 0, false}};
#undef S_N
#undef S_C

/* The counter field name x ("n", "dc.CNY") names in tab, with *cur its
 * currency (per_cur ones); NULL when none. */
static const s_name_t *s_name(const s_name_t *tab, const char *x, const char **cur)
{
    const char *dot = strchr(x, '.');
    size_t nx = dot ? (size_t)(dot - x) : strlen(x);
    *cur = dot ? dot + 1 : NULL;
    for (; tab->name; tab++)
        if (strlen(tab->name) == nx && !strncmp(x, tab->name, nx) &&
            tab->per_cur == (dot != NULL) && (!dot || s_cur_ok(dot + 1)))
            return tab;
    return NULL;
}

/* The counter nm names in row (cur: the row's currencies, kept sorted by
 * code so every output lists them in one order; a new one is inserted and
 * every per_cur array of tab moved along), or NULL when the row has
 * SK_POL_CUR_MAX other currencies. */
static int64_t *s_counter(void *row, char (*cur)[4], const s_name_t *tab, const s_name_t *nm,
                          const char *code)
{
    int64_t *at = (int64_t *)((char *)row + nm->off);
    if (!nm->per_cur)
        return at;
    int k = 0, n = 0;
    while (n < SK_POL_CUR_MAX && cur[n][0])
        n++;
    while (k < n && strcmp(cur[k], code) < 0)
        k++;
    if (k < n && !strcmp(cur[k], code))
        return at + k;
    if (n == SK_POL_CUR_MAX)
        return NULL;
    memmove(cur[k + 1], cur[k], (size_t)(n - k) * sizeof cur[0]);
    for (; tab->name; tab++)
        if (tab->per_cur) {
            int64_t *v = (int64_t *)((char *)row + tab->off);
            memmove(&v[k + 1], &v[k], (size_t)(n - k) * sizeof v[0]);
            v[k] = 0;
        }
    memcpy(cur[k], code, 4);
    return at + k;
}

/* One field of sk:{sN}:pcust: "M|x|C", x a tier (t<i>), or one of s_cust_names. */
static void s_take_cust(sk_pol_rep_t *r, char *f, int64_t v)
{
    char *p[3];
    if (!s_id_field(r, f, p))
        return;
    /* the field's name first: a malformed one makes no row and takes no slot */
    const char *code;
    int t = s_tier_of(p[1]);
    const s_name_t *nm = t >= 0 ? NULL : s_name(s_cust_names, p[1], &code);
    if (t < 0 && !nm) {
        r->skipped++;
        return;
    }
    long i = sk_pol_row(&r->custs, p[2]);
    if (i < 0)
        return;
    sk_pol_crow_t *c = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
    snprintf(c->id, sizeof c->id, "%s", p[2]);
    int64_t *at = t >= 0 ? &c->t[t] : s_counter(c, c->ucur, s_cust_names, nm, code);
    if (at)
        *at += v;
    else
        r->skipped++;
}

/* The row of salesperson id (created zeroed), or NULL when out of memory. */
static sk_pol_srow_t *s_sp_row(sk_pol_rep_t *r, const char *id)
{
    long i = sk_pol_row(&r->sps, id);
    if (i < 0)
        return NULL;
    sk_pol_srow_t *sp = SK_POL_AT(&r->sps, sk_pol_srow_t, i);
    snprintf(sp->id, sizeof sp->id, "%s", id);
    return sp;
}

/* One field of sk:{sN}:psp: "M|x|SP", x one of s_sp_names. */
static void s_take_sp(sk_pol_rep_t *r, char *f, int64_t v)
{
    char *p[3];
    if (!s_id_field(r, f, p))
        return;
    const char *code;
    const s_name_t *nm = s_name(s_sp_names, p[1], &code);
    if (!nm) {
        r->skipped++; /* checked first: a malformed one makes no row and takes no slot */
        return;
    }
    sk_pol_srow_t *sp = s_sp_row(r, p[2]);
    if (!sp)
        return;
    int64_t *at = s_counter(sp, sp->cur, s_sp_names, nm, code);
    if (at)
        *at += v;
    else
        r->skipped++;
}

/* One override record (sk_override_record_fn): counted for its salesperson. */
static void s_sp_override(void *arg, const Skonto__V1__OverrideRecord *o, const char *salesperson)
{
    sk_pol_rep_t *r = arg;
    if (strlen(salesperson) > SK_ID_MAX)
        return; /* ids are bounded where they enter: not one of ours */
    sk_pol_srow_t *sp = s_sp_row(r, salesperson);
    if (!sp)
        return;
    sp->ov_requested++;
    sp->ov_approved += sk_override_record_approved(o);
    sp->ov_refused += sk_override_record_refusals(o);
}

/* The overrides per salesperson, requested in the report's months; when the
 * audit worker's keys are absent or cannot be read, sps_no_overrides says
 * why and the report goes on without them. */
static int s_load_sp_overrides(redisContext *c, sk_pol_rep_t *r)
{
    const char *av[4] = {"EXISTS", SK_KEY_AUDIT_OVERRIDES, SK_KEY_AUDIT_LOG,
                         SK_KEY_AUDIT_CHECKPOINTS};
    redisReply *e = redisCommandArgv(c, 4, av, NULL);
    if (!e)
        return sk_cli_fail(VERB, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
    r->sps_no_audit_log = e->type == REDIS_REPLY_INTEGER && e->integer == 0;
    if (r->sps_no_audit_log)
        snprintf(r->sps_no_overrides, sizeof r->sps_no_overrides,
                 "no audit log in this store (%s, %s)", SK_KEY_AUDIT_LOG, SK_KEY_AUDIT_OVERRIDES);
    else if (e->type != REDIS_REPLY_INTEGER)
        snprintf(r->sps_no_overrides, sizeof r->sps_no_overrides, "Redis EXISTS %s: %s",
                 SK_KEY_AUDIT_OVERRIDES,
                 e->type == REDIS_REPLY_ERROR ? e->str : "unexpected reply");
    freeReplyObject(e);
    if (r->sps_no_overrides[0])
        return SK_EXIT_OK;
    sk_day_t from = INT32_MIN, to = INT32_MAX;
    char d[16];
    sk_err_t err;
    if (r->from[0]) {
        snprintf(d, sizeof d, "%s-01", r->from);
        sk_date_parse(d, &from, &err);
    }
    if (r->to[0]) {
        snprintf(d, sizeof d, "%s-01", r->to);
        if (sk_date_parse(d, &to, &err) >= 0)
            to = sk_date_end_of_month(to);
    }
    size_t n0 = r->sps.n; /* the rows of the counters; the scan may add some */
    if (sk_override_records_scan(VERB, c, from, to, s_sp_override, r, &r->sps.nomem,
                                 r->sps_no_overrides, sizeof r->sps_no_overrides) != 0) {
        /* counted so far: dropped, not half shown, with the rows only they made
         * (the index is not read after the load) */
        r->sps.n = n0;
        for (size_t i = 0; i < r->sps.n; i++) {
            sk_pol_srow_t *sp = SK_POL_AT(&r->sps, sk_pol_srow_t, i);
            sp->ov_requested = sp->ov_approved = sp->ov_refused = 0;
        }
        if (!c->err)
            return SK_EXIT_OK;
        return sk_cli_fail(VERB, "%s", r->sps_no_overrides);
    }
    return r->sps.nomem ? sk_cli_fail(VERB, "out of memory") : SK_EXIT_OK;
}

/* One field of sk:{sN}:fc:net or fc:hist ("YYYY-MM-DD|CUR") into t. */
static void s_take_open(sk_pol_rep_t *r, sk_pol_tab_t *t, char *f, int64_t v)
{
    char *p[2];
    if (s_split(f, p, 2) != 2 || strlen(p[0]) != 10 || !s_cur_ok(p[1])) {
        r->skipped++;
        return;
    }
    s_drow_add(t, p[0], p[1], v);
}

#define S_HASHES 5 /* per shard: pol, pcust, fc:net, fc:hist, psp */

static int s_load(redisContext *c, sk_pol_rep_t *r)
{
    char key[SK_KEY_MAX];
    for (int s = 0; s < SK_SHARDS; s++)
        for (int h = 0; h < S_HASHES; h++) {
            const char *av[2] = {"HGETALL", h == 0   ? sk_key_policy(key, s)
                                            : h == 1 ? sk_key_policy_customers(key, s)
                                            : h == 2 ? sk_key_forecast_net(key, s)
                                            : h == 3 ? sk_key_forecast_history(key, s)
                                                     : sk_key_policy_salespeople(key, s)};
            if (sk_cli_redis_append(VERB, c, 2, av) != SK_EXIT_OK)
                return SK_EXIT_FAIL;
        }
    int rc = SK_EXIT_OK;
    for (int i = 0; i < S_HASHES * SK_SHARDS; i++) {
        redisReply *rp = sk_cli_redis_reply(VERB, c);
        if (!rp)
            return SK_EXIT_FAIL;
        if (rc == SK_EXIT_OK && rp->type == REDIS_REPLY_ERROR)
            rc = sk_cli_fail(VERB, "Redis HGETALL: %s", rp->str);
        else if (rc == SK_EXIT_OK && (rp->type != REDIS_REPLY_ARRAY || rp->elements % 2))
            rc = sk_cli_fail(VERB, "Redis HGETALL: unexpected reply");
        for (size_t k = 0; rc == SK_EXIT_OK && k + 1 < rp->elements; k += 2) {
            const redisReply *fr = rp->element[k];
            int64_t v;
            char f[SK_ID_MAX + SK_TERMS_MAX_LEN + 64];
            if (fr->type != REDIS_REPLY_STRING || fr->len >= sizeof f ||
                !s_i64(rp->element[k + 1], &v)) {
                r->skipped++;
                continue;
            }
            memcpy(f, fr->str, fr->len + 1);
            if (i % S_HASHES == 0)
                s_take_pol(r, f, v);
            else if (i % S_HASHES == 1)
                s_take_cust(r, f, v);
            else if (i % S_HASHES == 4)
                s_take_sp(r, f, v);
            else
                s_take_open(r, i % S_HASHES == 2 ? &r->open : &r->hist, f, v);
        }
        freeReplyObject(rp);
    }
    if (rc == SK_EXIT_OK &&
        (r->tiers.nomem || r->months.nomem || r->sales.nomem || r->early.nomem || r->open.nomem ||
         r->custs.nomem || r->hist.nomem || r->sps.nomem))
        rc = sk_cli_fail(VERB, "out of memory");
    if (rc == SK_EXIT_OK && r->buckets.nomem)
        rc = sk_cli_fail(VERB, "out of memory");
    return rc;
}

/* ---------------------------------------------------------------- figures */

static int s_cmp_trow(const void *a, const void *b)
{
    const sk_pol_trow_t *x = a, *y = b;
    int c = strcmp(x->terms, y->terms);
    if (!c)
        c = strcmp(x->cur, y->cur);
    if (!c) /* t0, t1, ..., net */
        c = (x->tier < 0 ? 100 : x->tier) - (y->tier < 0 ? 100 : y->tier);
    return c;
}

/* Month rows by currency, month, tier (the totals are per currency). */
static int s_cmp_mrow(const void *a, const void *b)
{
    const sk_pol_trow_t *x = a, *y = b;
    int c = strcmp(x->cur, y->cur);
    return c ? c : s_cmp_trow(a, b);
}

static int s_cmp_drow(const void *a, const void *b)
{
    const sk_pol_drow_t *x = a, *y = b;
    int c = strcmp(x->cur, y->cur);
    return c ? c : strcmp(x->key, y->key);
}

static int s_cmp_crow(const void *a, const void *b)
{
    return strcmp(((const sk_pol_crow_t *)a)->id, ((const sk_pol_crow_t *)b)->id);
}

/* Salespeople by id ("" first). */
static int s_cmp_srow(const void *a, const void *b)
{
    return strcmp(((const sk_pol_srow_t *)a)->id, ((const sk_pol_srow_t *)b)->id);
}

/* {CUR: money} of the n currencies whose value is not 0. */
static json_t *s_cur_map(const char (*cur)[4], const int64_t *v, int n)
{
    json_t *m = json_object();
    for (int k = 0; m && k < n && cur[k][0]; k++)
        if (v[k] &&
            json_object_set_new(m, cur[k], sk_cli_json_money(v[k], sk_currency_find(cur[k]))))
            return json_decref(m), NULL;
    return m;
}

/* The salespeople[] of --json. */
static json_t *s_sp_json(const sk_pol_rep_t *r)
{
    json_t *arr = json_array();
    bool ov = !r->sps_no_overrides[0];
    for (size_t i = 0; arr && i < r->sps.n; i++) {
        const sk_pol_srow_t *sp = SK_POL_AT(&r->sps, sk_pol_srow_t, i);
        json_t *o = json_pack(
            "{s:o, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o}", "salesperson",
            sp->id[0] ? json_string(sp->id) : json_null(), "closed", (json_int_t)sp->n, "taken",
            (json_int_t)sp->tk, "share", sk_cli_json_bp(sk_pol_sp_share_bp(sp)), "discounted",
            s_cur_map(sp->cur, sp->dc, SK_POL_CUR_MAX), "amount",
            s_cur_map(sp->cur, sp->a, SK_POL_CUR_MAX), "unearned_attempts", (json_int_t)sp->un,
            "unearned_amount", s_cur_map(sp->cur, sp->ua, SK_POL_CUR_MAX), "overrides",
            ov ? json_pack("{s:I, s:I, s:I}", "requested", (json_int_t)sp->ov_requested, "approved",
                           (json_int_t)sp->ov_approved, "refused", (json_int_t)sp->ov_refused)
               : json_null());
        if (!o || json_array_append_new(arr, o))
            return json_decref(arr), NULL;
    }
    return arr;
}

static json_t *s_apr_json(const sk_policy_apr_t *a, int32_t k_ppm)
{
    return json_pack("{s:o, s:o, s:b}", "nominal", sk_cli_json_bp(a->nominal_bp), "effective",
                     sk_cli_json_bp(a->effective_bp), "above_cost_of_capital",
                     a->effective_bp * 100 > k_ppm);
}

/* The recommendation's items: every key in every item, null where not the kind's. */
static json_t *s_advice_json(const sk_pol_rep_t *r)
{
    static sk_advice_t a[SK_ADVICE_MAX];
    int n = sk_pol_advice(r, a);
    json_t *arr = n < 0 ? NULL : json_array();
    int bad = !arr;
    for (int i = 0; !bad && i < n; i++) {
        const sk_advice_t *x = &a[i];
        const sk_currency_t *cc = x->cur ? sk_currency_find(x->cur) : NULL;
        bool tier = x->kind == SK_ADVICE_TIER_ABOVE_COST || x->kind == SK_ADVICE_TIER_BELOW_BALANCE;
        char tn[16], text[1024];
        sk_pol_advice_text(r, x, "en", text, sizeof text);
        json_t *o = json_object();
        bad |= !o;
        bad |= json_object_set_new(o, "kind", json_string(sk_advice_kind_code(x->kind)));
        bad |= json_object_set_new(o, "terms", tier ? json_string(x->terms) : json_null());
        bad |= json_object_set_new(o, "currency",
                                   x->cur && x->cur[0] ? json_string(x->cur) : json_null());
        bad |= json_object_set_new(
            o, "tier", tier ? json_string(sk_pol_tier_name(x->tier, tn, sizeof tn)) : json_null());
        bad |= json_object_set_new(o, "customer", tier ? json_null() : json_string(x->customer));
        bad |= json_object_set_new(o, "rate", tier ? sk_cli_json_rate(x->rate_ppm) : json_null());
        bad |= json_object_set_new(o, "balance_rate",
                                   tier ? sk_cli_json_rate(x->balance_ppm) : json_null());
        bad |= json_object_set_new(o, "apr_vs_net_effective",
                                   tier ? sk_cli_json_bp(x->apr_bp) : json_null());
        bad |= json_object_set_new(o, "discounted",
                                   tier ? sk_cli_json_money(x->discounted, cc) : json_null());
        bad |= json_object_set_new(o, "value_of_earlier_cash",
                                   tier ? sk_cli_json_money(x->value, cc) : json_null());
        bool above = x->kind == SK_ADVICE_TIER_ABOVE_COST;
        bad |= json_object_set_new(o, "excess",
                                   above ? sk_cli_json_money(x->excess, cc) : json_null());
        bad |= json_object_set_new(o, "per_year",
                                   above ? sk_cli_json_money(x->per_year, cc) : json_null());
        bad |= json_object_set_new(o, "closed", json_integer(x->closed));
        bad |= json_object_set_new(o, "count", tier ? json_null() : json_integer(x->count));
        bad |= json_object_set_new(o, "amount", sk_cli_json_money(x->amount, cc));
        bad |= json_object_set_new(o, "other_currencies", json_boolean(x->other_currencies));
        bad |= json_object_set_new(o, "text", json_string(text));
        bad |= json_array_append_new(arr, o);
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *s_json(const sk_pol_rep_t *r)
{
    json_t *root = json_object(), *tiers = json_array(), *custs = json_array(),
           *never = json_array(), *always = json_array(), *months = json_array(),
           *totals = json_array(), *dso = json_array();
    int bad = !root || !tiers || !custs || !never || !always || !months || !totals || !dso;
    char b[24];
    bad |= json_object_set_new(root, "from", r->from[0] ? json_string(r->from) : json_null());
    bad |= json_object_set_new(root, "to", r->to[0] ? json_string(r->to) : json_null());
    bad |= json_object_set_new(root, "as_of", sk_cli_json_date(r->as_of));
    bad |= json_object_set_new(root, "cost_of_capital", sk_cli_json_rate(r->k_ppm));
    for (size_t i = 0; i < r->tiers.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->tiers, sk_pol_trow_t, i);
        if (row->tier == SK_POL_TIER_ALL)
            continue;
        sk_pol_tier_fig_t f;
        sk_pol_tier_figures(r, row, &f);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "terms", row->terms,
            "currency", row->cur, "tier", sk_pol_tier_name(row->tier, b, sizeof b), "offered",
            (json_int_t)f.offered, "taken", (json_int_t)f.taken, "share",
            sk_cli_json_bp(f.share_bp), "discounted", sk_cli_json_money(f.discounted, f.cur),
            "avg_days_before_net", f.has_days ? sk_cli_json_bp(f.avg_days_c) : json_null(),
            "avg_days_before_net_by_amount",
            f.has_days ? sk_cli_json_bp(f.avg_days_amount_c) : json_null(), "value_of_earlier_cash",
            sk_cli_json_money(f.value, f.cur), "net_effect",
            sk_cli_json_money(f.net_effect, f.cur));
        bad |= !o;
        if (o && f.has_rates) {
            bad |= json_object_set_new(o, "rate", sk_cli_json_rate(f.rate_ppm));
            bad |= json_object_set_new(o, "days_to_net", json_integer(f.d_net));
            bad |= json_object_set_new(o, "days_to_next", json_integer(f.d_next));
            bad |= json_object_set_new(o, "apr_vs_net", s_apr_json(&f.vs_net, r->k_ppm));
            bad |= json_object_set_new(o, "apr_vs_next", s_apr_json(&f.vs_next, r->k_ppm));
            bad |= json_object_set_new(o, "balance_rate", sk_cli_json_rate(f.balance_ppm));
            bad |= json_object_set_new(o, "balance_rate_simple",
                                       sk_cli_json_rate(f.balance_simple_ppm));
        } else if (o) {
            const char *k[] = {"rate", "days_to_net", "days_to_next", "apr_vs_net",
                               "apr_vs_next", "balance_rate", "balance_rate_simple"};
            for (size_t j = 0; j < sizeof k / sizeof k[0]; j++)
                bad |= json_object_set_new(o, k[j], json_null());
        }
        bad |= json_array_append_new(tiers, o);
    }
    for (size_t i = 0; i < r->custs.n; i++) {
        const sk_pol_crow_t *c = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
        if (c->n <= 0)
            continue;
        sk_pol_cust_fig_t f;
        sk_pol_cust_figures(c, &f);
        json_t *ua = s_cur_map(c->ucur, c->ua, SK_POL_CUR_MAX);
        json_t *o = json_pack(
            "{s:s, s:I, s:s, s:I, s:o, s:o, s:I, s:o, s:o}", "customer", c->id, "closed",
            (json_int_t)c->n, "preferred_tier", sk_pol_tier_name(f.preferred, b, sizeof b), "taken",
            (json_int_t)f.discounted_count, "on_time_share", sk_cli_json_bp(f.on_time_bp),
            "avg_days_before_net", sk_cli_json_bp(f.avg_days_c), "unearned_attempts",
            (json_int_t)c->un, "unearned_amount", ua ? ua : json_object(), "implied_apr",
            f.has_implied ? json_pack("{s:o, s:o}", "nominal", sk_cli_json_bp(f.implied.nominal_bp),
                                      "effective", sk_cli_json_bp(f.implied.effective_bp))
                          : json_null());
        json_t *dc = s_cur_map(c->ucur, c->dc, SK_POL_CUR_MAX);
        bad |= !o || !dc || json_object_set_new(o, "discounted", dc);
        bad |= !o || json_array_append_new(custs, o);
        if (f.discounted_count == 0)
            bad |= json_array_append_new(never, json_string(c->id));
        else if (c->net == 0)
            bad |= json_array_append_new(always, json_string(c->id));
    }
    /* net effect: per month x currency x tier, then per currency */
    for (size_t i = 0; i < r->months.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->months, sk_pol_trow_t, i);
        const sk_currency_t *cc = sk_currency_find(row->cur);
        int64_t v = sk_pol_value(row->v[SK_POL_V_PD], r->k_ppm);
        bad |= json_array_append_new(
            months, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "month", row->terms, "currency",
                              row->cur, "tier", sk_pol_tier_name(row->tier, b, sizeof b),
                              "value_of_earlier_cash", sk_cli_json_money(v, cc), "discounts",
                              sk_cli_json_money(row->v[SK_POL_V_DC], cc), "net_effect",
                              sk_cli_json_money(v - row->v[SK_POL_V_DC], cc)));
    }
    for (size_t i = 0; i < r->months.n;) {
        sk_pol_sum_t t;
        i = sk_pol_month_sum(r, i, false, &t);
        const sk_currency_t *cc = sk_currency_find(t.cur);
        bad |= json_array_append_new(
            totals, json_pack("{s:s, s:o, s:o, s:o}", "currency", t.cur, "value_of_earlier_cash",
                              sk_cli_json_money(t.value, cc), "discounts",
                              sk_cli_json_money(t.discounts, cc), "net_effect",
                              sk_cli_json_money(t.value - t.discounts, cc)));
    }
    sk_pol_dso_t d[SK_POL_DSO_MAX];
    int nd = sk_pol_dso(r, d, SK_POL_DSO_MAX);
    for (int k = 0; k < nd; k++) {
        const sk_currency_t *cc = sk_currency_find(d[k].cur);
        bad |= json_array_append_new(
            dso, json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:s, s:i}", "currency", d[k].cur,
                           "receivables", sk_cli_json_money(d[k].receivables, cc), "days",
                           sk_cli_json_bp(d[k].dso_c), "status", sk_pol_dso_status(d[k].st),
                           "receivables_at_net", sk_cli_json_money(d[k].receivables_at_net, cc),
                           "days_at_net", sk_cli_json_bp(d[k].dso_at_net_c), "status_at_net",
                           sk_pol_dso_status(d[k].st_at_net), "months", d[k].months));
    }
    bad |= json_object_set_new(root, "tiers", tiers);
    bad |= json_object_set_new(root, "customers", custs);
    bad |= json_object_set_new(root, "never_take", never);
    bad |= json_object_set_new(root, "always_take", always);
    bad |= json_object_set_new(root, "net_effect",
                               json_pack("{s:o, s:o}", "by_month", months, "total", totals));
    bad |= json_object_set_new(root, "dso", dso);
    json_t *advice = s_advice_json(r);
    bad |= !advice || json_object_set_new(root, "range_days", json_integer(sk_pol_range_days(r)));
    bad |= json_object_set_new(root, "recommendations", advice);
    json_t *sps = s_sp_json(r);
    bad |= !sps || json_object_set_new(root, "salespeople", sps);
    bad |= json_object_set_new(root, "overrides_not_counted",
                               r->sps_no_overrides[0] ? json_string(r->sps_no_overrides)
                                                      : json_null());
    bad |= json_object_set_new(root, "skipped_fields", json_integer(r->skipped));
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static char *s_bp(bool has, int32_t bp, char *buf, size_t n)
{
    if (!has)
        snprintf(buf, n, "-");
    else
        sk_cli_bp_pct(bp, buf, n);
    return buf;
}

static char *s_days(bool has, int32_t c, char *buf, size_t n)
{
    if (!has)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%s%d.%02d", c < 0 ? "-" : "", abs(c) / 100, abs(c) % 100);
    return buf;
}

/* "11.30 CNY, 2.00 EUR" of the currencies whose value is not 0 ("-" none). */
static char *s_cur_text(const char (*cur)[4], const int64_t *v, char *buf, size_t n)
{
    if (!sk_pol_cur_list(cur, v, false, ", ", buf, n)[0])
        snprintf(buf, n, "-");
    return buf;
}

/* The per-salesperson table of the text report. */
static int s_sp_text(const sk_pol_rep_t *r)
{
    static const char *const h[] = {"salesperson", "closed",   "taken",    "share",
                                    "discounted",  "amount",   "unearned", "unearned amt",
                                    "overrides",   "approved", "refused"};
    sk_cli_table_t *t = sk_cli_table_new(11, h, "lrrrrrrrrrr");
    if (!t)
        return sk_cli_fail(VERB, "out of memory");
    int bad = 0;
    bool ov = !r->sps_no_overrides[0];
    for (size_t i = 0; i < r->sps.n; i++) {
        const sk_pol_srow_t *sp = SK_POL_AT(&r->sps, sk_pol_srow_t, i);
        char v[11][200];
        snprintf(v[0], 200, "%.60s", sp->id[0] ? sp->id : "-");
        snprintf(v[1], 200, "%" PRId64, sp->n);
        snprintf(v[2], 200, "%" PRId64, sp->tk);
        sk_cli_bp_pct(sk_pol_sp_share_bp(sp), v[3], 200);
        s_cur_text(sp->cur, sp->dc, v[4], 200);
        s_cur_text(sp->cur, sp->a, v[5], 200);
        snprintf(v[6], 200, "%" PRId64, sp->un);
        s_cur_text(sp->cur, sp->ua, v[7], 200);
        snprintf(v[8], 200, ov ? "%ld" : "-", sp->ov_requested);
        snprintf(v[9], 200, ov ? "%ld" : "-", sp->ov_approved);
        snprintf(v[10], 200, ov ? "%ld" : "-", sp->ov_refused);
        const char *cells[11];
        for (int j = 0; j < 11; j++)
            cells[j] = v[j];
        bad |= sk_cli_table_add(t, cells);
    }
    printf("\nper salesperson\n");
    if (r->sps.n == 0) {
        sk_cli_table_destroy(&t);
        printf("none\n");
    } else if (sk_cli_table_emit(VERB, &t, bad) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    if (!ov)
        printf("overrides not counted: %s\n", r->sps_no_overrides);
    return SK_EXIT_OK;
}

static int s_text(const sk_pol_rep_t *r)
{
    char k[24], from[16], to[16];
    sk_date_format(r->as_of, from, sizeof from);
    printf("Discount policy, closed %s to %s; cost of capital %s a year; DSO as of %s\n\n",
           r->from[0] ? r->from : "any month", r->to[0] ? r->to : "any month",
           sk_cli_rate_pct(r->k_ppm, k, sizeof k), from);
    (void)to;
    static const char *const th[] = {"terms",    "cur",      "tier",    "rate",     "offered",
                                     "taken",    "share",    "discounted", "days<net", "apr net",
                                     "eff net",  "eff next", "balance", "value k",  "net effect"};
    sk_cli_table_t *t = sk_cli_table_new(15, th, "lllrrrrrrrrrrrr");
    if (!t)
        return sk_cli_fail(VERB, "out of memory");
    int bad = 0;
    for (size_t i = 0; i < r->tiers.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->tiers, sk_pol_trow_t, i);
        if (row->tier == SK_POL_TIER_ALL)
            continue;
        sk_pol_tier_fig_t f;
        sk_pol_tier_figures(r, row, &f);
        char c[15][48];
        snprintf(c[0], 48, "%.47s", row->terms);
        snprintf(c[1], 48, "%s", row->cur);
        sk_pol_tier_name(row->tier, c[2], 48);
        if (f.has_rates)
            sk_cli_rate_pct(f.rate_ppm, c[3], 48);
        else
            snprintf(c[3], 48, "-");
        snprintf(c[4], 48, "%" PRId64, f.offered);
        snprintf(c[5], 48, "%" PRId64, f.taken);
        sk_cli_bp_pct(f.share_bp, c[6], 48);
        sk_money_format(f.discounted, f.cur, c[7], 48);
        s_days(f.has_days, f.avg_days_c, c[8], 48);
        s_bp(f.has_rates, f.vs_net.nominal_bp, c[9], 48);
        s_bp(f.has_rates, f.vs_net.effective_bp, c[10], 48);
        s_bp(f.has_rates, f.vs_next.effective_bp, c[11], 48);
        if (f.has_rates)
            sk_cli_rate_pct(f.balance_ppm, c[12], 48);
        else
            snprintf(c[12], 48, "-");
        sk_money_format(f.value, f.cur, c[13], 48);
        sk_money_format(f.net_effect, f.cur, c[14], 48);
        const char *cells[15];
        for (int j = 0; j < 15; j++)
            cells[j] = c[j];
        bad |= sk_cli_table_add(t, cells);
    }
    if (r->tiers.n == 0)
        printf("no invoice closed by payment%s\n", r->from[0] || r->to[0] ? " in the range" : "");
    else if (sk_cli_table_emit(VERB, &t, bad) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    sk_cli_table_destroy(&t);

    static const char *const ch[] = {"customer", "closed",  "preferred", "on time",
                                     "days<net", "unearned", "implied",   "implied eff"};
    t = sk_cli_table_new(8, ch, "lrlrrrrr");
    if (!t)
        return sk_cli_fail(VERB, "out of memory");
    bad = 0;
    for (size_t i = 0; i < r->custs.n; i++) {
        const sk_pol_crow_t *c = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
        if (c->n <= 0)
            continue;
        sk_pol_cust_fig_t f;
        sk_pol_cust_figures(c, &f);
        char v[8][48];
        snprintf(v[0], 48, "%.47s", c->id);
        snprintf(v[1], 48, "%" PRId64, c->n);
        sk_pol_tier_name(f.preferred, v[2], 48);
        sk_cli_bp_pct(f.on_time_bp, v[3], 48);
        s_days(true, f.avg_days_c, v[4], 48);
        snprintf(v[5], 48, "%" PRId64, c->un);
        s_bp(f.has_implied, f.implied.nominal_bp, v[6], 48);
        s_bp(f.has_implied, f.implied.effective_bp, v[7], 48);
        const char *cells[8];
        for (int j = 0; j < 8; j++)
            cells[j] = v[j];
        bad |= sk_cli_table_add(t, cells);
    }
    printf("\nper customer\n");
    if (sk_cli_table_emit(VERB, &t, bad) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    sk_cli_table_destroy(&t);
    for (int always = 0; always < 2; always++) {
        printf("%s:", always ? "always take a discount" : "never take a discount");
        int n = 0;
        for (size_t i = 0; i < r->custs.n; i++) {
            const sk_pol_crow_t *c = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
            sk_pol_cust_fig_t f;
            sk_pol_cust_figures(c, &f);
            if (c->n > 0 && (always ? f.discounted_count > 0 && c->net == 0
                                    : f.discounted_count == 0)) {
                printf(" %s", c->id);
                n++;
            }
        }
        printf("%s\n", n ? "" : " none");
    }

    if (s_sp_text(r) != SK_EXIT_OK)
        return SK_EXIT_FAIL;

    static const char *const nh[] = {"month", "cur", "tier", "value k", "discounts",
                                     "net effect"};
    t = sk_cli_table_new(6, nh, "lllrrr");
    if (!t)
        return sk_cli_fail(VERB, "out of memory");
    bad = 0;
    for (size_t i = 0; i < r->months.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->months, sk_pol_trow_t, i);
        const sk_currency_t *cc = sk_currency_find(row->cur);
        int64_t v = sk_pol_value(row->v[SK_POL_V_PD], r->k_ppm);
        char a[40], b2[40], e[40], tn[16];
        const char *cells[6] = {row->terms,
                                row->cur,
                                sk_pol_tier_name(row->tier, tn, sizeof tn),
                                sk_money_format(v, cc, a, sizeof a),
                                sk_money_format(row->v[SK_POL_V_DC], cc, b2, sizeof b2),
                                sk_money_format(v - row->v[SK_POL_V_DC], cc, e, sizeof e)};
        bad |= sk_cli_table_add(t, cells);
    }
    printf("\nnet effect: value of earlier cash at %s a year minus the discounts\n", k);
    if (sk_cli_table_emit(VERB, &t, bad) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    sk_cli_table_destroy(&t);
    for (size_t i = 0; i < r->months.n;) {
        sk_pol_sum_t sum;
        i = sk_pol_month_sum(r, i, false, &sum);
        const sk_currency_t *cc = sk_currency_find(sum.cur);
        char a[40], b2[40], e[40];
        printf("total %s: value %s, discounts %s, net effect %s\n", sum.cur,
               sk_money_format(sum.value, cc, a, sizeof a),
               sk_money_format(sum.discounts, cc, b2, sizeof b2),
               sk_money_format(sum.value - sum.discounts, cc, e, sizeof e));
    }

    sk_pol_dso_t d[SK_POL_DSO_MAX];
    int nd = sk_pol_dso(r, d, SK_POL_DSO_MAX);
    printf("\nDSO (countback)\n");
    for (int i = 0; i < nd; i++) {
        const sk_currency_t *cc = sk_currency_find(d[i].cur);
        char a[40], b2[40], x[24], y[24];
        printf("  %s: receivables %s, %s days (%s); as if all paid at net: %s, %s days (%s)\n",
               d[i].cur, sk_money_format(d[i].receivables, cc, a, sizeof a),
               s_days(true, d[i].dso_c, x, sizeof x), sk_pol_dso_status(d[i].st),
               sk_money_format(d[i].receivables_at_net, cc, b2, sizeof b2),
               s_days(true, d[i].dso_at_net_c, y, sizeof y), sk_pol_dso_status(d[i].st_at_net));
    }
    static sk_advice_t adv[SK_ADVICE_MAX];
    int na = sk_pol_advice(r, adv);
    if (na < 0)
        return sk_cli_fail(VERB, "out of memory");
    printf("\nrecommendations (over %d days)\n", sk_pol_range_days(r));
    for (int i = 0; i < na; i++) {
        char text[1024];
        printf("  - %s\n", sk_pol_advice_text(r, &adv[i], "en", text, sizeof text));
    }
    if (na == 0)
        printf("  none\n");
    if (r->skipped)
        printf("\n%ld malformed counter fields skipped\n", r->skipped);
    return SK_EXIT_OK;
}

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl report policy [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
            "                               [--cost-of-capital PCT] [--json]\n"
            "                               [--html FILE [--locale zh-CN|en]]\n"
            "\n"
            "Is the discount policy paying? From the discount worker's counters only\n"
            "(never a scan of the invoices):\n"
            "  per terms x tier  invoices offered (closed by payment under those terms),\n"
            "                    taken (closed in the tier) and their share, the amount\n"
            "                    discounted, the average days paid before the net due date,\n"
            "                    the nominal and effective annual rate against net and\n"
            "                    against the next tier (against the cost of capital), the\n"
            "                    balance-point rate beside the tier's rate;\n"
            "  per customer      preferred tier, share paid on time, average days before\n"
            "                    net (negative: late), unearned discounts attempted, the\n"
            "                    customer's own implied rate; who never and who always\n"
            "                    takes a discount;\n"
            "  per salesperson   invoices closed, taken in a tier and their share, the\n"
            "                    discount and the amount, unearned discounts attempted,\n"
            "                    and the overrides asked for their invoices (requested,\n"
            "                    approved, refused; from the audit worker's records);\n"
            "  net effect        value of the cash received before net at the cost of\n"
            "                    capital minus the discounts, per month x tier and in total;\n"
            "  DSO               countback of the open receivables over the monthly sales,\n"
            "                    as they are and as if every customer had paid at net;\n"
            "  recommendations   the above in words (see below).\n"
            "Currencies are never added together.\n"
            "\n"
            "options:\n"
            "  --from D, --to D       invoices closed (by their closing payment) in the\n"
            "                         months of D and after / up to D's month: the counters\n"
            "                         are per month, so a range is rounded out to whole\n"
            "                         months; DSO is as of --to (default: today)\n"
            "  --cost-of-capital PCT  percent a year (default SKONTO_COST_OF_CAPITAL, else 8)\n"
            "  --json                 stable JSON (every key in the README)\n"
            "  --html FILE            write the report as one self-contained HTML file\n"
            "                         (tables and SVG charts; no network, no script)\n"
            "                         instead of the text (with --json: and the JSON)\n"
            "  --locale L             the HTML's labels: en (default) or zh-CN; numbers\n"
            "                         are formatted as in --json in every locale\n"
            "\n"
            "Rates where days or rates differ per invoice (end-of-month and fixed-day\n"
            "terms, an override's rate) are each invoice's own, weighted by amount.\n"
            "recommendations: tiers above their balance rate (what they cost a year\n"
            "beyond the cost of capital: (discounts - value of earlier cash) x 365 /\n"
            "the range's days) or below it, customers who pay at net anyway, always\n"
            "take the first tier, or claim discounts after the window; at most 5 per\n"
            "kind, largest amount first.\n"
            "\n"
            "Not computed (they would need more counters): invoices closed by a credit\n"
            "note or cancelled (not counted).\n"
            "\n"
            "Environment: SKONTO_REDIS_URL, SKONTO_COST_OF_CAPITAL, SKONTO_CLOCK.\n");
}

static void s_month_of(sk_day_t d, char out[8])
{
    char b[16];
    sk_date_format(d, b, sizeof b);
    memcpy(out, b, 7);
    out[7] = '\0';
}

#define S_TABS 8 /* the row tables of sk_pol_rep_t */

int sk_cmd_report_policy(int argc, char **argv)
{
    /* argv[0] is "report", argv[1] "policy" */
    argc--, argv++;
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    static const sk_cli_opt_t opts[] = {
        {"from", true, false},  {"to", true, false},   {"cost-of-capital", true, false},
        {"json", false, false}, {"html", true, false}, {"locale", true, false},
        {NULL, false, false}};
    static sk_pol_rep_t r;
    memset(&r, 0, sizeof r);
    sk_day_t from = -1, to = -1;
    bool json = false;
    const char *html = NULL, *locale = "en";
    const char *k = getenv("SKONTO_COST_OF_CAPITAL");
    sk_err_t err;
    if (!k || !k[0])
        k = "8";
    if (sk_policy_cost_parse(k, &r.k_ppm, &err) != 0)
        return sk_cli_usage_error(VERB, "SKONTO_COST_OF_CAPITAL: %s", err.msg);
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, opts, argc, argv);
    const char *value;
    int o;
    while ((o = sk_cli_scan_opt(&sc, "skontoctl report policy --help", &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = opts[o].name;
        sk_err_clear(&err);
        if (!strcmp(name, "from") || !strcmp(name, "to")) {
            if (sk_date_parse(value, !strcmp(name, "from") ? &from : &to, &err) < 0)
                return sk_cli_opt_err(VERB, name, value, &err);
        } else if (!strcmp(name, "cost-of-capital")) {
            if (sk_policy_cost_parse(value, &r.k_ppm, &err) != 0)
                return sk_cli_opt_err(VERB, name, value, &err);
        } else if (!strcmp(name, "html")) {
            if (!value[0])
                return sk_cli_usage_error(VERB, "--html needs a file name");
            html = value;
        } else if (!strcmp(name, "locale")) {
            if (strcmp(value, "en") && strcmp(value, "zh-CN"))
                return sk_cli_usage_error(VERB, "--locale \"%s\": zh-CN or en", value);
            locale = value;
        } else {
            json = true;
        }
    }
    if (from >= 0 && to >= 0 && to < from) {
        char a[16], b[16];
        return sk_cli_usage_error(VERB, "--to %s is before --from %s",
                                  sk_date_format(to, a, sizeof a),
                                  sk_date_format(from, b, sizeof b));
    }
    if (from >= 0)
        s_month_of(from, r.from);
    if (to >= 0)
        s_month_of(to, r.to);
    sk_pol_tab_t *tabs[S_TABS] = {&r.tiers, &r.months, &r.sales, &r.early,
                                  &r.open,  &r.custs,  &r.hist,  &r.sps};
    const size_t sizes[S_TABS] = {
        sizeof(sk_pol_trow_t), sizeof(sk_pol_trow_t), sizeof(sk_pol_drow_t), sizeof(sk_pol_drow_t),
        sizeof(sk_pol_drow_t), sizeof(sk_pol_crow_t), sizeof(sk_pol_drow_t), sizeof(sk_pol_srow_t)};
    int rc = SK_EXIT_OK;
    for (int i = 0; i < S_TABS; i++) {
        tabs[i]->size = sizes[i];
        if (!(tabs[i]->ix = sk_map_new(S_ROWS_MAX)))
            rc = sk_cli_fail(VERB, "out of memory");
    }
    r.buckets.size = sizeof(sk_pol_brow_t);
    if (!(r.buckets.ix = sk_map_new(S_ROWS_MAX)))
        rc = sk_cli_fail(VERB, "out of memory");
    redisContext *c = rc == SK_EXIT_OK ? sk_cli_redis_connect(VERB) : NULL;
    if (!c && rc == SK_EXIT_OK)
        rc = SK_EXIT_FAIL;
    if (rc == SK_EXIT_OK && to < 0) {
        sk_clock_t *clock = sk_clock_new_env(&err);
        if (!clock || sk_clock_tick(clock, c, &err) != 0)
            rc = sk_cli_fail(VERB, "clock: %s", err.msg);
        else
            to = sk_clock_today(clock);
        sk_clock_destroy(&clock);
    }
    r.as_of = to;
    if (rc == SK_EXIT_OK)
        rc = s_load(c, &r);
    if (rc == SK_EXIT_OK)
        rc = s_load_sp_overrides(c, &r);
    if (c)
        redisFree(c);
    if (rc == SK_EXIT_OK) {
        /* sorted for the output; the maps are rebuilt on the sorted order */
        /* an empty table has no rows array: qsort must not see NULL */
        if (r.tiers.n)
            qsort(r.tiers.rows, r.tiers.n, r.tiers.size, s_cmp_trow);
        if (r.months.n)
            qsort(r.months.rows, r.months.n, r.months.size, s_cmp_mrow);
        if (r.sales.n)
            qsort(r.sales.rows, r.sales.n, r.sales.size, s_cmp_drow);
        if (r.custs.n)
            qsort(r.custs.rows, r.custs.n, r.custs.size, s_cmp_crow);
        if (r.sps.n)
            qsort(r.sps.rows, r.sps.n, r.sps.size, s_cmp_srow);
        for (size_t i = 0; i < r.tiers.n; i++) {
            const sk_pol_trow_t *row = SK_POL_AT(&r.tiers, sk_pol_trow_t, i);
            char key[SK_TERMS_MAX_LEN + 32];
            snprintf(key, sizeof key, "%s|%s|%d", row->terms, row->cur, row->tier);
            if (sk_map_put(r.tiers.ix, key, (intptr_t)i) < 0)
                rc = sk_cli_fail(VERB, "out of memory");
        }
        if (rc == SK_EXIT_OK && sk_pol_buckets_index(&r) != 0)
            rc = sk_cli_fail(VERB, "out of memory");
        for (size_t i = 0; i < r.sales.n; i++) {
            const sk_pol_drow_t *row = SK_POL_AT(&r.sales, sk_pol_drow_t, i);
            char key[32];
            snprintf(key, sizeof key, "%s|%s", row->key, row->cur);
            if (sk_map_put(r.sales.ix, key, (intptr_t)i) < 0)
                rc = sk_cli_fail(VERB, "out of memory");
        }
    }
    if (rc == SK_EXIT_OK) {
        /* --html writes the file and names it; with --json stdout gets the JSON too */
        if (html)
            rc = sk_report_html_write(VERB, &r, locale, html);
        if (rc == SK_EXIT_OK && html && !json)
            printf("wrote %s\n", html);
        else if (rc == SK_EXIT_OK)
            rc = json ? sk_cli_json_print(VERB, s_json(&r)) : s_text(&r);
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    for (int i = 0; i < S_TABS; i++) {
        sk_map_destroy(&tabs[i]->ix);
        free(tabs[i]->rows);
    }
    sk_map_destroy(&r.buckets.ix);
    free(r.buckets.rows);
    free(r.bk);
    return rc;
}
