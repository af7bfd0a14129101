/* report_policy.h — the policy report's rows and figures, shared by its
 * text/JSON output (report_policy.c) and its HTML output (report_html.c), so
 * that every figure is computed once, in report_figures.c (the rows are
 * loaded by report_policy.c).
 *
 * The rows are grouped counters as read from sk:{sN}:pol, sk:{sN}:pcust,
 * sk:{sN}:psp and sk:{sN}:fc:net (and the overrides per salesperson from the
 * audit worker's records); the figure functions derive what a row shows. */
#ifndef SK_REPORT_POLICY_H
#define SK_REPORT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "invoice_rules.h"
#include "keys.h"
#include "money.h"
#include "policy.h"
#include "policy_advice.h"
#include "sk_map.h"
#include "terms.h"

#define SK_POL_TIER_ALL (-2) /* "*": the invoices of a terms, whatever tier */
#define SK_POL_TIER_NET (-1)

/* Rows of one kind, found by a text key. */
typedef struct {
    sk_map_t *ix;
    char *rows;
    size_t n, cap, size;
    bool nomem;
} sk_pol_tab_t;

#define SK_POL_AT(t, type, i) ((type *)((t)->rows + (size_t)(i) * (t)->size))

enum {
    SK_POL_V_N,
    SK_POL_V_A,
    SK_POL_V_DN,
    SK_POL_V_TK,
    SK_POL_V_DC,
    SK_POL_V_PA,
    SK_POL_V_PD,
    SK_POL_V_DS,
    SK_POL_V_COUNT
};

typedef struct {
    char terms[SK_TERMS_MAX_LEN];
    char cur[4];
    int tier;
    int64_t v[SK_POL_V_COUNT];
} sk_pol_trow_t; /* per terms x currency x tier (and per month x currency x tier: terms "") */

typedef struct {
    char key[16]; /* "YYYY-MM" or "YYYY-MM-DD" */
    char cur[4];
    int64_t v;
} sk_pol_drow_t; /* sales by month, early cash and open balances by day */

typedef struct {
    char terms[SK_TERMS_MAX_LEN];
    char cur[4];
    int tier;
    sk_policy_bucket_t b;
} sk_pol_brow_t; /* a rate bucket: terms x currency x tier x (rates, days), Σ amount */

#define SK_POL_CUR_MAX 4
typedef struct {
    char id[SK_ID_MAX + 1];
    int64_t n, ot, ds, un, in, ir, ig, net;
    int64_t t[SK_TERMS_MAX_TIERS];
    char ucur[SK_POL_CUR_MAX][4]; /* the currencies of ua and dc */
    int64_t ua[SK_POL_CUR_MAX];
    int64_t dc[SK_POL_CUR_MAX]; /* discount granted */
} sk_pol_crow_t;

/* Per salesperson (sk:{sN}:psp; id "" for invoices without one), with the
 * overrides asked for them (override_records.h). */
typedef struct {
    char id[SK_ID_MAX + 1];
    int64_t n, tk, un;
    char cur[SK_POL_CUR_MAX][4]; /* the currencies of dc, a, ua */
    int64_t dc[SK_POL_CUR_MAX], a[SK_POL_CUR_MAX], ua[SK_POL_CUR_MAX];
    long ov_requested, ov_approved, ov_refused;
} sk_pol_srow_t;

typedef struct {
    char from[8], to[8]; /* close months selected ("" unbounded) */
    sk_day_t as_of;
    int32_t k_ppm;
    sk_pol_tab_t tiers, months, sales, early, open, custs;
    sk_pol_tab_t hist; /* sk:{sN}:fc:hist: open balances by the day history expects them */
    /* rate buckets (sk_pol_brow_t); after sk_pol_buckets_index sorted by
     * terms, currency, tier, with bk their buckets in that order and
     * buckets.ix "terms|cur|tier" -> the first */
    sk_pol_tab_t buckets;
    sk_policy_bucket_t *bk;
    long skipped;
    sk_pol_tab_t sps;           /* sk_pol_srow_t, by id */
    char sps_no_overrides[200]; /* "": overrides counted; else why they are not */
    bool sps_no_audit_log;      /* why: the store has no audit keys (the HTML says it in its locale) */
} sk_pol_rep_t;

/* Everything a tier row shows. */
typedef struct {
    const sk_pol_trow_t *row;
    const sk_currency_t *cur;
    int64_t offered, taken, discounted, value, net_effect;
    int32_t share_bp; /* hundredths of a percent */
    bool has_days, has_rates, has_next;
    int32_t avg_days_c, avg_days_amount_c; /* hundredths of a day */
    int32_t rate_ppm, next_ppm, balance_ppm, balance_simple_ppm;
    int d_net, d_next;
    sk_policy_apr_t vs_net, vs_next;
    bool weighted;     /* rates and balance rates weighted over the row's buckets */
    bool rates_differ; /* its buckets differ in rate (rate_ppm is their weighted mean) */
} sk_pol_tier_fig_t;

/* Everything a customer row shows. */
typedef struct {
    const sk_pol_crow_t *row;
    int preferred; /* -1 net */
    int32_t on_time_bp, avg_days_c;
    bool has_implied;
    sk_policy_apr_t implied;
    int64_t discounted_count; /* closed in a tier */
} sk_pol_cust_fig_t;

/* DSO of one currency, as the discounts are and as if everyone paid at net. */
typedef struct {
    char cur[4];
    int64_t receivables, receivables_at_net;
    int32_t dso_c, dso_at_net_c;
    sk_policy_status_t st, st_at_net;
    int months;
} sk_pol_dso_t;

#define SK_POL_DSO_MAX 32

/* The index of key's row in t (a new zeroed one when absent), or -1 when out
 * of memory (t->nomem set). */
long sk_pol_row(sk_pol_tab_t *t, const char *key);
/* Sorts r->buckets, fills r->bk and re-indexes buckets.ix by terms|cur|tier
 * (see sk_pol_rep_t); 0, or -1 when out of memory. */
int sk_pol_buckets_index(sk_pol_rep_t *r);

/* Value of earlier cash: sum(cash x days before net) x k / 365, minor units. */
int64_t sk_pol_value(int64_t cash_days, int32_t k_ppm);
/* A run of the month rows (sorted by currency, month, tier) from row i: the
 * rows of its currency, and with per_month of its month too, summed; returns
 * the index after the run (i < months.n). */
typedef struct {
    const char *cur, *month;
    int64_t discounts, cash_days; /* summed: discount granted, cash x days before net */
    int64_t value;                /* sk_pol_value(cash_days): the value of the earlier cash */
} sk_pol_sum_t;
size_t sk_pol_month_sum(const sk_pol_rep_t *r, size_t i, bool per_month, sk_pol_sum_t *out);
/* "t0".."t9", "net" */
const char *sk_pol_tier_name(int tier, char *buf, size_t n);
void sk_pol_tier_figures(const sk_pol_rep_t *r, const sk_pol_trow_t *row, sk_pol_tier_fig_t *f);
void sk_pol_cust_figures(const sk_pol_crow_t *c, sk_pol_cust_fig_t *f);
/* A row's non-zero amounts per currency (cur/v as in its row), in the row's
 * order (by code), "1.00 CNY, 2.00 USD" (or code first: "CNY 1.00; USD 2.00"),
 * into buf; "" when none; returns buf. */
char *sk_pol_cur_list(const char (*cur)[4], const int64_t *v, bool code_first, const char *sep,
                      char *buf, size_t n);
/* The days the report's range covers: from the first day of --from's month
 * (unbounded: of the earliest close month read) to the last of --to's
 * (unbounded: as_of), at least 1; what the advice scales a year by. */
int sk_pol_range_days(const sk_pol_rep_t *r);
/* The recommendation (common/policy_advice.h) from the tier and customer
 * figures into out (room for SK_ADVICE_MAX); returns how many, -1 when out of
 * memory. A customer is one input: its discount in the currency where it is
 * largest, its unearned claims (all counted) with the amount in the currency
 * where that is largest, each flagged when it has others. Items point into
 * r's rows. */
int sk_pol_advice(const sk_pol_rep_t *r, sk_advice_t *out);
/* An item as one sentence in locale "en" or "zh-CN" into buf; returns buf. */
char *sk_pol_advice_text(const sk_pol_rep_t *r, const sk_advice_t *a, const char *locale, char *buf,
                         size_t n);

/* A salesperson's take-up: closed in a tier / closed by payment, hundredths
 * of a percent (0 when none closed). */
int32_t sk_pol_sp_share_bp(const sk_pol_srow_t *s);
/* "ok", "no_sales", "beyond", "bad_input" */
const char *sk_pol_dso_status(sk_policy_status_t st);
/* The DSO per currency into out (at most nmax); returns how many. */
int sk_pol_dso(const sk_pol_rep_t *r, sk_pol_dso_t *out, int nmax);

#endif
