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
#include "sk_map.h"

/* round(a / b), half away from zero; b > 0. */
static int64_t s_div(__int128 a, int64_t b)
{
    __int128 q = a / b, rm = a % b;
    if (2 * (rm < 0 ? -rm : rm) >= b)
        q += a < 0 ? -1 : 1;
    return (int64_t)q;
}

/* Value of earlier cash: sum(cash x days before net) x k / 365, minor units. */
int64_t sk_pol_value(int64_t cash_days, int32_t k_ppm)
{
    return s_div((__int128)cash_days * k_ppm, (int64_t)365 * SK_PPM);
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

