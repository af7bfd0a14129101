/* policy — annual rates, balance points and DSO; see policy.h for the
 * formulas, units and domain. */
#include "policy.h"

#include <math.h>
#include <string.h>

#include "money.h"

/* rate_ppm and next_ppm form a tier pair finance can quote. */
static int s_rates_ok(int32_t rate_ppm, int32_t next_ppm)
{
    return rate_ppm >= 0 && rate_ppm < SK_PPM && next_ppm >= 0 && next_ppm <= rate_ppm;
}

/* A non-negative double fraction (0.3724) to an int32 in 1/scale, half away
 * from zero, saturating; also catches inf and NaN from an absurd power. */
static int32_t s_to_units(double v, double scale)
{
    double u = round(v * scale);
    if (!(u < (double)INT32_MAX))
        return INT32_MAX;
    return u < 0 ? 0 : (int32_t)u;
}

sk_policy_status_t sk_policy_nominal_bp(int32_t rate_ppm, int32_t next_ppm, int days, int32_t *bp)
{
    *bp = 0;
    if (!s_rates_ok(rate_ppm, next_ppm))
        return SK_POLICY_BAD_RATE;
    if (days <= 0)
        return SK_POLICY_NO_DAYS;
    /* (r - r_next) / (1 - r) * 365 / d in 1/10000, exactly in integers. */
    __int128 num = (__int128)(rate_ppm - next_ppm) * 365 * 10000;
    __int128 den = (__int128)(SK_PPM - rate_ppm) * days;
    int64_t v = sk_div_round(num, den, SK_ROUND_HALF_UP);
    *bp = v > INT32_MAX ? INT32_MAX : (int32_t)v;
    return SK_POLICY_OK;
}

sk_policy_status_t sk_policy_effective_bp(int32_t rate_ppm, int32_t next_ppm, int days, int32_t *bp)
{
    *bp = 0;
    if (!s_rates_ok(rate_ppm, next_ppm))
        return SK_POLICY_BAD_RATE;
    if (days <= 0)
        return SK_POLICY_NO_DAYS;
    /* ((1 - r_next)/(1 - r))^(365/d) - 1 = expm1(365/d * log1p(g)) with
     * g = (r - r_next)/(1 - r): no 1 + tiny - 1 cancellation for small rates. */
    double g = (double)(rate_ppm - next_ppm) / (double)(SK_PPM - rate_ppm);
    *bp = s_to_units(expm1(365.0 / days * log1p(g)), 10000.0);
    return SK_POLICY_OK;
}

sk_policy_status_t sk_policy_apr(int32_t rate_ppm, int32_t next_ppm, int days, sk_policy_apr_t *out)
{
    sk_policy_status_t st = sk_policy_nominal_bp(rate_ppm, next_ppm, days, &out->nominal_bp);
    sk_policy_effective_bp(rate_ppm, next_ppm, days, &out->effective_bp);
    return st;
}

sk_policy_status_t sk_policy_implied(int32_t rate_ppm, sk_day_t tier_last_day, sk_day_t paid_day,
                                     sk_policy_apr_t *out)
{
    /* int64: two day numbers far apart must not overflow int before the check. */
    int64_t gained = (int64_t)paid_day - tier_last_day;
    if (gained > INT32_MAX)
        gained = INT32_MAX;
    return sk_policy_apr(rate_ppm, 0, gained <= 0 ? 0 : (int)gained, out);
}

sk_policy_status_t sk_policy_balance_ppm(int32_t k_ppm, int days, int32_t *ppm)
{
    *ppm = 0;
    if (k_ppm < 0)
        return SK_POLICY_BAD_RATE;
    if (days < 0)
        return SK_POLICY_BAD_INPUT;
    /* 1 - (1+k)^(-d/365) = -expm1(-d/365 * log1p(k)) */
    double k = (double)k_ppm / SK_PPM;
    *ppm = s_to_units(-expm1(-(double)days / 365.0 * log1p(k)), (double)SK_PPM);
    return SK_POLICY_OK;
}

sk_policy_status_t sk_policy_balance_simple_ppm(int32_t k_ppm, int days, int32_t *ppm)
{
    *ppm = 0;
    if (k_ppm < 0)
        return SK_POLICY_BAD_RATE;
    if (days < 0)
        return SK_POLICY_BAD_INPUT;
    /* x/(1+x) with x = k*d/365 is k*d / (365 + k*d); in ppm, k = k_ppm/10^6:
     * k_ppm*d*10^6 / (365*10^6 + k_ppm*d). Below 10^6, so it fits. */
    __int128 kd = (__int128)k_ppm * days;
    __int128 den = (__int128)365 * SK_PPM + kd;
    *ppm = (int32_t)sk_div_round(kd * SK_PPM, den, SK_ROUND_HALF_UP);
    return SK_POLICY_OK;
}

sk_policy_status_t sk_policy_dso_countback(int64_t receivables, const sk_policy_month_t *months,
                                           int nmonths, int32_t *centidays)
{
    *centidays = 0;
    if (receivables < 0 || nmonths < 0 || nmonths > SK_POLICY_DSO_MAX_MONTHS ||
        (nmonths > 0 && !months))
        return SK_POLICY_BAD_INPUT;
    int64_t any_sales = 0;
    for (int m = 0; m < nmonths; m++) {
        if (months[m].sales < 0 || months[m].days < 1 || months[m].days > 31)
            return SK_POLICY_BAD_INPUT;
        any_sales |= months[m].sales;
    }
    if (receivables == 0)
        return SK_POLICY_OK;
    if (!any_sales)
        return SK_POLICY_NO_SALES;
    int64_t remaining = receivables;
    int64_t whole_days = 0;
    for (int m = 0; m < nmonths; m++) {
        const sk_policy_month_t *mo = &months[m];
        if (remaining > mo->sales) {
            remaining -= mo->sales;
            whole_days += mo->days;
            continue;
        }
        /* (whole_days + remaining/sales * days) * 100, rounded once; sales > 0
         * here because remaining > 0. */
        __int128 num = ((__int128)whole_days * mo->sales + (__int128)remaining * mo->days) * 100;
        *centidays = (int32_t)sk_div_round(num, mo->sales, SK_ROUND_HALF_UP);
        return SK_POLICY_OK;
    }
    *centidays = (int32_t)(whole_days * 100);
    return SK_POLICY_BEYOND;
}

int64_t sk_policy_weighted_mean(const int64_t *v, const int64_t *w, size_t n)
{
    __int128 num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] > 0) {
            num += (__int128)v[i] * w[i];
            den += w[i];
        }
    return den > 0 ? sk_div_round(num, den, SK_ROUND_HALF_UP) : 0;
}

/* One weighted figure: Σ amount x value and Σ amount over the buckets it
 * is defined for. */
typedef struct {
    __int128 num, den;
} s_wsum_t;

static void s_wadd(s_wsum_t *w, int64_t value, int64_t amount)
{
    w->num += (__int128)value * amount;
    w->den += amount;
}

static int32_t s_wmean(const s_wsum_t *w)
{
    return w->den > 0 ? (int32_t)sk_div_round(w->num, w->den, SK_ROUND_HALF_UP) : 0;
}

sk_policy_status_t sk_policy_weighted(const sk_policy_bucket_t *b, size_t n, int32_t k_ppm,
                                      sk_policy_weighted_t *out)
{
    memset(out, 0, sizeof *out);
    if (k_ppm < 0)
        return SK_POLICY_BAD_RATE;
    enum { W_RATE, W_NEXT, W_NET_N, W_NET_E, W_NEXT_N, W_NEXT_E, W_BAL, W_SIMPLE, W_COUNT };
    s_wsum_t w[W_COUNT];
    memset(w, 0, sizeof w);
    int32_t first = 0;
    for (size_t i = 0; i < n; i++) {
        const sk_policy_bucket_t *x = &b[i];
        int64_t sum;
        if (x->amount <= 0 || __builtin_add_overflow(out->amount, x->amount, &sum))
            continue; /* none, or beyond int64 with the others: left out */
        if (out->amount == 0)
            first = x->rate_ppm;
        else if (x->rate_ppm != first)
            out->rates_differ = true;
        out->amount = sum;
        s_wadd(&w[W_RATE], x->rate_ppm, x->amount);
        s_wadd(&w[W_NEXT], x->next_ppm, x->amount);
        sk_policy_apr_t a;
        if (sk_policy_apr(x->rate_ppm, 0, x->d_net, &a) == SK_POLICY_OK) {
            s_wadd(&w[W_NET_N], a.nominal_bp, x->amount);
            s_wadd(&w[W_NET_E], a.effective_bp, x->amount);
        }
        if (sk_policy_apr(x->rate_ppm, x->next_ppm, x->d_next, &a) == SK_POLICY_OK) {
            s_wadd(&w[W_NEXT_N], a.nominal_bp, x->amount);
            s_wadd(&w[W_NEXT_E], a.effective_bp, x->amount);
        }
        int32_t v;
        if (sk_policy_balance_ppm(k_ppm, x->d_net, &v) == SK_POLICY_OK)
            s_wadd(&w[W_BAL], v, x->amount);
        if (sk_policy_balance_simple_ppm(k_ppm, x->d_net, &v) == SK_POLICY_OK)
            s_wadd(&w[W_SIMPLE], v, x->amount);
    }
    if (out->amount == 0)
        return SK_POLICY_NO_DAYS;
    out->rate_ppm = s_wmean(&w[W_RATE]);
    out->next_ppm = s_wmean(&w[W_NEXT]);
    out->has_net = w[W_NET_N].den > 0;
    out->has_next = w[W_NEXT_N].den > 0;
    out->vs_net.nominal_bp = s_wmean(&w[W_NET_N]);
    out->vs_net.effective_bp = s_wmean(&w[W_NET_E]);
    out->vs_next.nominal_bp = s_wmean(&w[W_NEXT_N]);
    out->vs_next.effective_bp = s_wmean(&w[W_NEXT_E]);
    out->balance_ppm = s_wmean(&w[W_BAL]);
    out->balance_simple_ppm = s_wmean(&w[W_SIMPLE]);
    return SK_POLICY_OK;
}

int sk_policy_cost_parse(const char *s, int32_t *k_ppm, sk_err_t *err)
{
    /* The same notation as a tier's rate (sk_percent_parse), with a message
     * that names the cost of capital rather than a rate. */
    int32_t v;
    if (sk_percent_parse(s, &v, NULL) == 0) {
        *k_ppm = v;
        return 0;
    }
    char q[SK_ERR_QUOTE_MAX];
    sk_err_quote(s ? s : "", s ? strlen(s) : 0, q, sizeof q);
    return sk_err_set(err, "bad_cost_of_capital", "cost of capital \"%s\": want %s", q,
                      SK_POLICY_COST_RULE);
}
