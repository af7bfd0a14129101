/* schedule — one invoice's discount windows, computed from parsed terms.
 *
 * Steps: resolve each WHEN against the baseline; add grace days to discount
 * tiers (never to the net due date); with business days, move each date to
 * the next business day; then check that the resulting last days strictly
 * increase, none is before the baseline, and all are before the net due date
 * (this is where terms that mix DAYS, eom and dDAY kinds are finally ordered).
 * Money: discount = round(base * rate) at the currency's precision with the
 * chosen rule, payable = amount - discount, so payable + discount == amount
 * by construction. Annual rates are integers in hundredths of a percent,
 * rounded half-up, and saturate at INT32_MAX for absurd (near 100 %, 1-day) tiers. */
#include "schedule.h"

#include <stdio.h>
#include <string.h>

#include "policy.h"

static int s_when_ok(const sk_when_t *w)
{
    switch (w->kind) {
    case SK_WHEN_DAYS:
    case SK_WHEN_EOM:
        return w->days >= 0 && w->days <= SK_TERMS_MAX_DAYS;
    case SK_WHEN_DOM:
        return w->dom >= 1 && w->dom <= 31 && w->months >= 0 && w->months <= SK_TERMS_MAX_MONTHS;
    default:
        return 0;
    }
}

/* Terms may come from somewhere other than sk_terms_parse (a stored record):
 * re-check the bounds that keep the date and money arithmetic safe. */
static int s_check_terms(const sk_terms_t *t, sk_err_t *err)
{
    if (t->ntiers < 0 || t->ntiers > SK_TERMS_MAX_TIERS)
        return sk_err_set(err, "bad_terms", "%d tiers: at most %d", t->ntiers, SK_TERMS_MAX_TIERS);
    if (!s_when_ok(&t->net))
        return sk_err_set(err, "bad_terms", "net term out of range");
    for (int k = 0; k < t->ntiers; k++) {
        const sk_tier_t *ti = &t->tiers[k];
        if (ti->rate_ppm <= 0 || ti->rate_ppm >= 100 * 10000)
            return sk_err_set(err, "bad_terms", "tier %d: rate must be above 0 and below 100 %%",
                              k + 1);
        if (k > 0 && ti->rate_ppm >= t->tiers[k - 1].rate_ppm)
            return sk_err_set(err, "bad_terms", "tier %d: rate must be below the previous tier's",
                              k + 1);
        if (!s_when_ok(&ti->when))
            return sk_err_set(err, "bad_terms", "tier %d: days out of range", k + 1);
    }
    return 0;
}

static sk_day_t s_max_day(void)
{
    return sk_date_from_ymd(SK_DATE_MAX_YEAR, 12, 31);
}

int sk_schedule_compute(const sk_terms_t *terms, sk_day_t baseline, int64_t amount, int64_t tax,
                        const sk_currency_t *cur, const sk_schedule_opts_t *opts,
                        sk_schedule_t *out, sk_err_t *err)
{
    static const sk_schedule_opts_t defaults = {SK_BASE_GROSS, 0, false, NULL, SK_ROUND_HALF_UP};
    if (!opts)
        opts = &defaults;
    if (!terms || !out)
        return sk_err_set(err, "bad_terms", "no terms");
    if (!cur)
        return sk_err_set(err, "bad_currency", "no currency");
    char a1[40], a2[40], d1[16], d2[16];
    if (amount <= 0 || amount > SK_MONEY_MAX)
        return sk_err_set(err, "bad_amount", "amount %s: must be above 0 and at most %s",
                          sk_money_format(amount, cur, a1, sizeof a1),
                          sk_money_format(SK_MONEY_MAX, cur, a2, sizeof a2));
    if (tax < 0 || tax >= amount)
        return sk_err_set(err, "bad_amount", "tax %s: must be at least 0 and below the amount %s",
                          sk_money_format(tax, cur, a1, sizeof a1),
                          sk_money_format(amount, cur, a2, sizeof a2));
    if (opts->grace_days < 0 || opts->grace_days > 365)
        return sk_err_set(err, "bad_terms", "grace days %d: must be 0..365", opts->grace_days);
    if (opts->base != SK_BASE_GROSS && opts->base != SK_BASE_NET)
        return sk_err_set(err, "bad_terms", "unknown discount base");
    if (opts->rounding != SK_ROUND_HALF_UP && opts->rounding != SK_ROUND_HALF_EVEN)
        return sk_err_set(err, "bad_terms", "unknown rounding rule");
    int y, m, d;
    sk_date_to_ymd(baseline, &y, &m, &d);
    if (!sk_date_valid_ymd(y, m, d))
        return sk_err_set(err, "bad_date", "baseline %s: year must be %d..%d",
                          sk_date_format(baseline, d1, sizeof d1), SK_DATE_MIN_YEAR,
                          SK_DATE_MAX_YEAR);
    if (s_check_terms(terms, err) != 0)
        return -1;

    sk_schedule_t s;
    memset(&s, 0, sizeof s);
    s.currency = cur;
    s.amount = amount;
    s.tax = tax;
    s.discount_base = opts->base == SK_BASE_NET ? amount - tax : amount;
    s.baseline = baseline;
    s.rounding = opts->rounding;
    s.ntiers = terms->ntiers;

    const sk_calendar_t *cal = opts->calendar;
    const char *adj = opts->business_days ? " (after business-day adjustment)" : "";
    s.net_due = sk_when_resolve(&terms->net, baseline);
    if (opts->business_days)
        s.net_due = sk_calendar_next_business_day(cal, s.net_due);
    if (s.net_due < baseline)
        return sk_err_set(err, "bad_terms", "the net due date %s is before the baseline %s",
                          sk_date_format(s.net_due, d1, sizeof d1),
                          sk_date_format(baseline, d2, sizeof d2));
    if (s.net_due > s_max_day())
        return sk_err_set(err, "bad_date", "the net due date is after %d-12-31", SK_DATE_MAX_YEAR);

    for (int k = 0; k < s.ntiers; k++) {
        const sk_tier_t *ti = &terms->tiers[k];
        sk_schedule_tier_t *st = &s.tiers[k];
        st->rate_ppm = ti->rate_ppm;
        st->last_day = sk_when_resolve(&ti->when, baseline) + opts->grace_days;
        if (opts->business_days)
            st->last_day = sk_calendar_next_business_day(cal, st->last_day);
        if (st->last_day < baseline)
            return sk_err_set(err, "bad_terms", "tier %d ends %s, before the baseline %s", k + 1,
                              sk_date_format(st->last_day, d1, sizeof d1),
                              sk_date_format(baseline, d2, sizeof d2));
        if (k > 0 && st->last_day <= s.tiers[k - 1].last_day) {
            char r[16];
            return sk_err_set(err, "bad_terms", "tier %d (%s %%) ends %s, not after tier %d's %s%s",
                              k + 1, sk_percent_format(st->rate_ppm, r, sizeof r),
                              sk_date_format(st->last_day, d1, sizeof d1), k,
                              sk_date_format(s.tiers[k - 1].last_day, d2, sizeof d2), adj);
        }
        if (st->last_day >= s.net_due)
            return sk_err_set(err, "bad_terms", "tier %d ends %s, not before the net due date %s%s",
                              k + 1, sk_date_format(st->last_day, d1, sizeof d1),
                              sk_date_format(s.net_due, d2, sizeof d2), adj);
        st->discount = sk_money_apply_rate(s.discount_base, st->rate_ppm, s.rounding);
        st->payable = amount - st->discount;
    }
    sk_schedule_annual_rates(&s);
    *out = s;
    return 0;
}

void sk_schedule_annual_rates(sk_schedule_t *s)
{
    for (int k = 0; k < s->ntiers; k++) {
        sk_schedule_tier_t *st = &s->tiers[k];
        bool last = k + 1 == s->ntiers;
        int32_t next_ppm = last ? 0 : s->tiers[k + 1].rate_ppm;
        sk_day_t next_day = last ? s->net_due : s->tiers[k + 1].last_day;
        /* The invariants keep both inside sk_policy's domain (rates below
         * 100 % and decreasing, days > 0): the status is always OK. */
        sk_policy_nominal_bp(st->rate_ppm, 0, (int)(s->net_due - st->last_day), &st->apr_vs_net_bp);
        sk_policy_nominal_bp(st->rate_ppm, next_ppm, (int)(next_day - st->last_day),
                             &st->apr_vs_next_bp);
    }
}

int sk_schedule_tier_on(const sk_schedule_t *s, sk_day_t day)
{
    for (int k = 0; k < s->ntiers; k++)
        if (day <= s->tiers[k].last_day)
            return k;
    return -1;
}
