/* schedule — one invoice's discount windows, computed from terms.
 *
 * For each tier: the inclusive last day (resolved from the baseline, plus grace
 * days, then moved to the next business day if asked), the discount
 * round(base * rate) at the currency's precision, the payable amount - discount,
 * and the annual rates finance compares with its cost of capital. The net due
 * date is resolved the same way but without grace days.
 *
 * Invariants of a computed schedule (else sk_schedule_compute fails with
 * code "bad_terms" naming the tier): last days strictly increase, none is before
 * the baseline (a dDAY already past), and all are before net_due; rates strictly
 * decrease; payable + discount == amount. A net due date after 9999-12-31 fails
 * with "bad_date". The annual rates are rounded half-up and saturate at INT32_MAX
 * (only for absurd tiers such as 99 % for one day). */
#ifndef SK_SCHEDULE_H
#define SK_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "date.h"
#include "money.h"
#include "terms.h"

typedef enum { SK_BASE_GROSS = 0, SK_BASE_NET = 1 } sk_discount_base_t;

typedef struct {
    sk_discount_base_t base;      /* gross (default) or net of tax */
    int grace_days;               /* 0..365, added to each discount tier's last day */
    bool business_days;           /* move last days and net due off weekends/holidays */
    const sk_calendar_t *calendar;/* holidays for business_days; may be NULL */
    sk_rounding_t rounding;
} sk_schedule_opts_t;

typedef struct {
    int32_t rate_ppm;
    sk_day_t last_day;
    int64_t discount;
    int64_t payable;
    int32_t apr_vs_net_bp;  /* hundredths of a percent: 3724 = 37.24 % */
    int32_t apr_vs_next_bp;
} sk_schedule_tier_t;

typedef struct {
    const sk_currency_t *currency;
    int64_t amount;        /* gross, minor units */
    int64_t tax;           /* part of amount */
    int64_t discount_base; /* amount, or amount - tax */
    sk_day_t baseline;
    sk_day_t net_due;
    sk_rounding_t rounding;
    int ntiers;
    sk_schedule_tier_t tiers[SK_TERMS_MAX_TIERS];
} sk_schedule_t;

/* opts may be NULL for the defaults (gross, no grace, calendar days, half-up).
 * Fails with "bad_amount" for amount <= 0 or > SK_MONEY_MAX or tax outside
 * 0..amount-1, "bad_terms" for windows that do not strictly increase before net. */
int sk_schedule_compute(const sk_terms_t *terms, sk_day_t baseline, int64_t amount, int64_t tax,
                        const sk_currency_t *cur, const sk_schedule_opts_t *opts,
                        sk_schedule_t *out, sk_err_t *err);

/* Recomputes each tier's annual rates from its rate and last day and the
 * net due date (after an override moved a last day or changed a rate; the
 * caller keeps the invariants above). */
void sk_schedule_annual_rates(sk_schedule_t *s);

/* Index of the tier a payment on `day` falls in (first tier whose last day >= day),
 * or -1 when every window has closed. */
int sk_schedule_tier_on(const sk_schedule_t *s, sk_day_t day);

#endif
