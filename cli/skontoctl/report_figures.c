/* report_figures — the policy report's figures from its counters (the
 * rows report_policy.c reads), shared by the text, JSON and HTML outputs
 * (report_policy.h says what each is). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "money.h"
#include "policy.h"
#include "report_policy.h"
#include "sk_grow.h"
#include "sk_map.h"

/* round(a / b), half away from zero; b > 0. */
static int64_t s_div(__int128 a, int64_t b)
{
    __int128 q = a / b, rm = a % b;
    if (2 * (rm < 0 ? -rm : rm) >= b)
        q += a < 0 ? -1 : 1;
    return (int64_t)q;
}

long sk_pol_row(sk_pol_tab_t *t, const char *key)
{
    intptr_t i;
    if (sk_map_get(t->ix, key, &i))
        return (long)i;
    char *r = sk_grow(t->rows, t->n, &t->cap, t->size, 64);
    if (!r) {
        t->nomem = true;
        return -1;
    }
    t->rows = r;
    if (sk_map_put(t->ix, key, (intptr_t)t->n) < 0) {
        t->nomem = true;
        return -1;
    }
    memset(t->rows + t->n * t->size, 0, t->size);
    return (long)t->n++;
}

/* Buckets by terms, currency, tier (then rates and days, for a stable order). */
static int s_cmp_brow(const void *a, const void *b)
{
    const sk_pol_brow_t *x = a, *y = b;
    int c = strcmp(x->terms, y->terms);
    if (!c)
        c = strcmp(x->cur, y->cur);
    if (!c)
        c = x->tier - y->tier;
    if (!c)
        c = (x->b.rate_ppm > y->b.rate_ppm) - (x->b.rate_ppm < y->b.rate_ppm);
    if (!c)
        c = (x->b.next_ppm > y->b.next_ppm) - (x->b.next_ppm < y->b.next_ppm);
    if (!c)
        c = x->b.d_net - y->b.d_net;
    if (!c)
        c = x->b.d_next - y->b.d_next;
    return c;
}

int sk_pol_buckets_index(sk_pol_rep_t *r)
{
    sk_pol_tab_t *t = &r->buckets;
    free(r->bk);
    r->bk = NULL;
    sk_map_clear(t->ix);
    if (t->n == 0)
        return 0;
    qsort(t->rows, t->n, t->size, s_cmp_brow);
    if (!(r->bk = malloc(t->n * sizeof *r->bk)))
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        const sk_pol_brow_t *row = SK_POL_AT(t, sk_pol_brow_t, i);
        r->bk[i] = row->b;
        char k[SK_TERMS_MAX_LEN + 32];
        intptr_t first;
        snprintf(k, sizeof k, "%s|%s|%d", row->terms, row->cur, row->tier);
        if (!sk_map_get(t->ix, k, &first) && sk_map_put(t->ix, k, (intptr_t)i) < 0)
            return -1;
    }
    return 0;
}

/* The buckets of (terms, cur, tier): *n of them from the returned one, or
 * NULL (none, or not indexed). */
static const sk_policy_bucket_t *s_buckets(const sk_pol_rep_t *r, const sk_pol_trow_t *row,
                                           size_t *n)
{
    char k[SK_TERMS_MAX_LEN + 32];
    intptr_t first;
    *n = 0;
    snprintf(k, sizeof k, "%s|%s|%d", row->terms, row->cur, row->tier);
    if (!r->bk || !r->buckets.ix || !sk_map_get(r->buckets.ix, k, &first))
        return NULL;
    size_t i = (size_t)first;
    while (i < r->buckets.n) {
        const sk_pol_brow_t *b = SK_POL_AT(&r->buckets, sk_pol_brow_t, i);
        if (strcmp(b->terms, row->terms) || strcmp(b->cur, row->cur) || b->tier != row->tier)
            break;
        i++;
    }
    *n = i - (size_t)first;
    return &r->bk[first];
}

/* Value of earlier cash: sum(cash x days before net) x k / 365, minor units. */
int64_t sk_pol_value(int64_t cash_days, int32_t k_ppm)
{
    return s_div((__int128)cash_days * k_ppm, (int64_t)365 * SK_PPM);
}

size_t sk_pol_month_sum(const sk_pol_rep_t *r, size_t i, bool per_month, sk_pol_sum_t *out)
{
    const sk_pol_trow_t *first = SK_POL_AT(&r->months, sk_pol_trow_t, i);
    out->cur = first->cur;
    out->month = first->terms;
    out->discounts = out->cash_days = 0;
    for (; i < r->months.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->months, sk_pol_trow_t, i);
        if (strcmp(row->cur, first->cur) || (per_month && strcmp(row->terms, first->terms)))
            break;
        out->cash_days += row->v[SK_POL_V_PD];
        out->discounts += row->v[SK_POL_V_DC];
    }
    out->value = sk_pol_value(out->cash_days, r->k_ppm);
    return i;
}

const char *sk_pol_tier_name(int tier, char *buf, size_t n)
{
    if (tier == SK_POL_TIER_NET)
        snprintf(buf, n, "net");
    else
        snprintf(buf, n, "t%d", tier);
    return buf;
}

/* The row of (terms, cur, tier) in the sorted tier rows, or NULL. */
static const sk_pol_trow_t *s_find(const sk_pol_rep_t *r, const char *terms, const char *cur,
                                   int tier)
{
    char k[SK_TERMS_MAX_LEN + 32];
    intptr_t i;
    snprintf(k, sizeof k, "%s|%s|%d", terms, cur, tier);
    return sk_map_get(r->tiers.ix, k, &i) ? SK_POL_AT(&r->tiers, sk_pol_trow_t, i) : NULL;
}

void sk_pol_tier_figures(const sk_pol_rep_t *r, const sk_pol_trow_t *row, sk_pol_tier_fig_t *f)
{
    memset(f, 0, sizeof *f);
    f->row = row;
    f->cur = sk_currency_find(row->cur);
    const sk_pol_trow_t *all = s_find(r, row->terms, row->cur, SK_POL_TIER_ALL);
    int64_t n = all ? all->v[SK_POL_V_N] : 0, a = all ? all->v[SK_POL_V_A] : 0;
    f->offered = n;
    f->taken = row->v[SK_POL_V_TK];
    f->discounted = row->v[SK_POL_V_DC];
    f->share_bp = n > 0 ? (int32_t)s_div((__int128)f->taken * 10000, n) : 0;
    if (f->taken > 0) {
        f->has_days = true;
        f->avg_days_c = (int32_t)s_div((__int128)row->v[SK_POL_V_DS] * 100, f->taken);
        if (row->v[SK_POL_V_PA] > 0)
            f->avg_days_amount_c =
                (int32_t)s_div((__int128)row->v[SK_POL_V_PD] * 100, row->v[SK_POL_V_PA]);
    }
    f->value = sk_pol_value(row->v[SK_POL_V_PD], r->k_ppm);
    f->net_effect = f->value - f->discounted;
    sk_terms_t t;
    sk_err_t err;
    if (row->tier < 0 || a <= 0 || sk_terms_parse(row->terms, &t, &err) != 0 ||
        row->tier >= t.ntiers)
        return;
    const sk_pol_trow_t *next = s_find(r, row->terms, row->cur, row->tier + 1);
    int64_t dn = row->v[SK_POL_V_DN],
            dn_next = row->tier + 1 < t.ntiers ? (next ? next->v[SK_POL_V_DN] : 0) : 0;
    f->has_rates = true;
    f->rate_ppm = t.tiers[row->tier].rate_ppm;
    f->next_ppm = row->tier + 1 < t.ntiers ? t.tiers[row->tier + 1].rate_ppm : 0;
    f->has_next = row->tier + 1 < t.ntiers;
    f->d_net = (int)s_div(dn, a);
    f->d_next = (int)s_div((__int128)dn - dn_next, a);
    sk_policy_apr(f->rate_ppm, 0, f->d_net, &f->vs_net);
    sk_policy_apr(f->rate_ppm, f->next_ppm, f->d_next, &f->vs_next);
    sk_policy_balance_ppm(r->k_ppm, f->d_net, &f->balance_ppm);
    sk_policy_balance_simple_ppm(r->k_ppm, f->d_net, &f->balance_simple_ppm);
    /* each invoice's own rates and days, weighted by amount (a store not
     * rebuilt since the buckets exist has none: the mean days above) */
    size_t nb;
    const sk_policy_bucket_t *b = s_buckets(r, row, &nb);
    sk_policy_weighted_t w;
    if (b && sk_policy_weighted(b, nb, r->k_ppm, &w) == SK_POLICY_OK) {
        f->weighted = true;
        f->rates_differ = w.rates_differ;
        f->rate_ppm = w.rate_ppm;
        f->next_ppm = w.next_ppm;
        f->vs_net = w.vs_net;
        f->vs_next = w.vs_next;
        f->balance_ppm = w.balance_ppm;
        f->balance_simple_ppm = w.balance_simple_ppm;
    }
}

int32_t sk_pol_sp_share_bp(const sk_pol_srow_t *s)
{
    return s->n > 0 ? (int32_t)s_div((__int128)s->tk * 10000, s->n) : 0;
}

void sk_pol_cust_figures(const sk_pol_crow_t *c, sk_pol_cust_fig_t *f)
{
    memset(f, 0, sizeof *f);
    f->row = c;
    sk_history_t h;
    memset(&h, 0, sizeof h);
    for (int k = 0; k < SK_TERMS_MAX_TIERS; k++) {
        h.tier[k] = c->t[k];
        f->discounted_count += c->t[k];
    }
    h.net = c->net;
    h.n = c->n;
    f->preferred = sk_history_usual_tier(&h, SK_TERMS_MAX_TIERS);
    if (c->n > 0) {
        f->on_time_bp = (int32_t)s_div((__int128)c->ot * 10000, c->n);
        f->avg_days_c = (int32_t)s_div((__int128)c->ds * 100, c->n);
    }
    if (c->in > 0) {
        int32_t rate = (int32_t)s_div(c->ir, c->in);
        sk_day_t gain = (sk_day_t)s_div(c->ig, c->in);
        f->has_implied = sk_policy_implied(rate, 0, gain, &f->implied) == SK_POLICY_OK;
    }
}

int sk_pol_range_days(const sk_pol_rep_t *r)
{
    /* the earliest and latest close months read (months rows: terms = month) */
    char lo[8] = "", hi[8] = "";
    for (size_t i = 0; i < r->months.n; i++) {
        const char *m = SK_POL_AT(&r->months, sk_pol_trow_t, i)->terms;
        if (!lo[0] || strcmp(m, lo) < 0)
            snprintf(lo, sizeof lo, "%.7s", m);
        if (!hi[0] || strcmp(m, hi) > 0)
            snprintf(hi, sizeof hi, "%.7s", m);
    }
    const char *from = r->from[0] ? r->from : lo;
    int y, m;
    if (!from[0] || sscanf(from, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12)
        return 1;
    sk_day_t start = sk_date_from_ymd(y, m, 1), end = r->as_of;
    if (r->to[0] && sscanf(r->to, "%4d-%2d", &y, &m) == 2 && m >= 1 && m <= 12)
        end = sk_date_from_ymd(y, m, sk_days_in_month(y, m));
    int64_t days = (int64_t)end - start + 1;
    return days < 1 ? 1 : days > INT32_MAX ? INT32_MAX : (int)days;
}

char *sk_pol_cur_list(const char (*cur)[4], const int64_t *v, bool code_first, const char *sep,
                      char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int k = 0; k < SK_POL_CUR_MAX && cur[k][0] && off < n; k++) {
        if (!v[k])
            continue;
        char m[48];
        sk_money_format(v[k], sk_currency_find(cur[k]), m, sizeof m);
        off += (size_t)snprintf(buf + off, n - off, "%s%s %s", off ? sep : "",
                                code_first ? cur[k] : m, code_first ? m : cur[k]);
    }
    return buf;
}

/* The slot of a customer's largest positive amount (v parallel to its
 * currencies), -1 when none is positive. */
static int s_largest(const int64_t *v)
{
    int k = -1;
    for (int j = 0; j < SK_POL_CUR_MAX; j++)
        if (v[j] > 0 && (k < 0 || v[j] > v[k]))
            k = j;
    return k;
}

/* Whether another slot than k holds a positive amount. */
static bool s_others(const int64_t *v, int k)
{
    for (int j = 0; j < SK_POL_CUR_MAX; j++)
        if (j != k && v[j] > 0)
            return true;
    return false;
}

int sk_pol_advice(const sk_pol_rep_t *r, sk_advice_t *out)
{
    sk_advice_tier_t *t = calloc(r->tiers.n + 1, sizeof *t);
    sk_advice_cust_t *c = calloc(r->custs.n + 1, sizeof *c);
    if (!t || !c) {
        free(t);
        free(c);
        return -1;
    }
    size_t nt = 0, nc = 0;
    for (size_t i = 0; i < r->tiers.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->tiers, sk_pol_trow_t, i);
        if (row->tier < 0)
            continue;
        sk_pol_tier_fig_t f;
        sk_pol_tier_figures(r, row, &f);
        if (!f.has_rates)
            continue;
        t[nt++] = (sk_advice_tier_t){row->terms, row->cur,      row->tier,
                                     f.rate_ppm, f.balance_ppm, f.vs_net.effective_bp,
                                     f.taken,    f.discounted,  f.value};
    }
    for (size_t i = 0; i < r->custs.n; i++) {
        const sk_pol_crow_t *cr = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
        if (cr->n <= 0)
            continue;
        /* each amount in the currency where it is largest; the others flagged */
        int kd = s_largest(cr->dc), ku = s_largest(cr->ua);
        c[nc++] = (sk_advice_cust_t){
            .id = cr->id,
            .cur = cr->ucur[kd >= 0 ? kd : 0], /* "" when it has no amount */
            .closed = cr->n,
            .at_net = cr->net,
            .in_first = cr->t[0],
            .discount = kd >= 0 ? cr->dc[kd] : 0,
            .discount_other = kd >= 0 && s_others(cr->dc, kd),
            .unearned_count = cr->un,
            .unearned_cur = ku >= 0 ? cr->ucur[ku] : NULL,
            .unearned_amount = ku >= 0 ? cr->ua[ku] : 0,
            .unearned_other = ku >= 0 && s_others(cr->ua, ku),
        };
    }
    int n = sk_policy_advise(t, nt, c, nc, sk_pol_range_days(r), out);
    free(t);
    free(c);
    return n;
}

const char *sk_pol_dso_status(sk_policy_status_t st)
{
    switch (st) {
    case SK_POLICY_OK:
        return "ok";
    case SK_POLICY_NO_SALES:
        return "no_sales";
    case SK_POLICY_BEYOND:
        return "beyond";
    default:
        return "bad_input";
    }
}

/* The currencies of the sales and the open balances, sorted rows, into out
 * (at most nmax); returns how many. */
int sk_pol_dso(const sk_pol_rep_t *r, sk_pol_dso_t *out, int nmax)
{
    int n = 0;
    const sk_pol_tab_t *tabs[3] = {&r->sales, &r->open, &r->early};
    for (int ti = 0; ti < 3; ti++)
        for (size_t i = 0; i < tabs[ti]->n; i++) {
            const sk_pol_drow_t *d = SK_POL_AT(tabs[ti], sk_pol_drow_t, i);
            int k = 0;
            while (k < n && strcmp(out[k].cur, d->cur))
                k++;
            if (k == n) {
                if (n == nmax)
                    continue;
                memset(&out[n], 0, sizeof out[n]);
                memcpy(out[n++].cur, d->cur, 4);
            }
            char day[16];
            sk_date_format(r->as_of, day, sizeof day);
            if (ti == 1) {
                out[k].receivables += d->v;
                if (strcmp(d->key, day) > 0)
                    out[k].receivables_at_net += d->v;
            } else if (ti == 2 && strcmp(d->key, day) > 0) {
                out[k].receivables_at_net += d->v;
            }
        }
    static sk_policy_month_t months[SK_POLICY_DSO_MAX_MONTHS];
    for (int k = 0; k < n; k++) {
        /* months back from as_of's (its days up to as_of) to the earliest sale */
        char first[16] = "9999-99";
        for (size_t i = 0; i < r->sales.n; i++) {
            const sk_pol_drow_t *d = SK_POL_AT(&r->sales, sk_pol_drow_t, i);
            if (!strcmp(d->cur, out[k].cur) && d->v > 0 && strcmp(d->key, first) < 0)
                snprintf(first, sizeof first, "%s", d->key);
        }
        int nm = 0, y, m, dd;
        sk_date_to_ymd(r->as_of, &y, &m, &dd);
        int days = dd;
        while (nm < SK_POLICY_DSO_MAX_MONTHS) {
            char key[32];
            snprintf(key, sizeof key, "%04d-%02d|%s", y % 10000, m % 100, out[k].cur);
            intptr_t i;
            months[nm].sales =
                sk_map_get(r->sales.ix, key, &i) ? SK_POL_AT(&r->sales, sk_pol_drow_t, i)->v : 0;
            if (months[nm].sales < 0)
                months[nm].sales = 0;
            months[nm++].days = days;
            key[7] = '\0';
            if (strcmp(key, first) <= 0)
                break;
            if (--m == 0) {
                m = 12;
                y--;
            }
            if (y < SK_DATE_MIN_YEAR)
                break;
            days = sk_days_in_month(y, m);
        }
        out[k].months = nm;
        out[k].st = sk_policy_dso_countback(out[k].receivables < 0 ? 0 : out[k].receivables,
                                            months, nm, &out[k].dso_c);
        out[k].st_at_net = sk_policy_dso_countback(
            out[k].receivables_at_net < 0 ? 0 : out[k].receivables_at_net, months, nm,
            &out[k].dso_at_net_c);
    }
    return n;
}

/* ---------------------------------------------------------------- output */

