/* policy — the arithmetic finance uses to judge a cash-discount policy.
 *
 * Pure: no I/O, no allocation. Inputs are the project's integers (rates in
 * ppm, 2 % = 20000; money in int64 minor units; days); outputs are integers
 * of a stated precision:
 *
 *   annual rates     hundredths of a percent ("bp" here): 3724 = 37.24 %
 *   balance rates    ppm, i.e. ten-thousandths of a percent: 4208 = 0.4208 %
 *                    (the unit of a tier's rate, so the two compare directly)
 *   DSO              hundredths of a day: 7371 = 73.71 days
 *
 * Every year has 365 days (the convention of the nominal rates in invoices
 * and of schedule.h; a leap year changes nothing). Figures that need a power
 * are computed in double (expm1/log1p, so small rates keep their digits) and
 * then rounded; the others in integers (__int128). Rounding is half away from
 * zero everywhere. Annual rates saturate at INT32_MAX (21474836.47 %), which
 * only absurd tiers reach (50 % for one day).
 *
 * The formulas, with r the tier's rate, r_next the next tier's (0 for net),
 * d the days between the tier's last day and the next tier's (or net's), k the
 * cost of capital a year:
 *
 *   nominal     (r - r_next) / (1 - r) * 365 / d
 *   effective   ((1 - r_next) / (1 - r))^(365 / d) - 1      (compounded)
 *   balance     1 - (1 + k)^(-d / 365)   the largest rate worth granting for
 *               being paid d days earlier: its present-value break-even
 *   simple      x / (1 + x), x = k * d / 365   the same with simple interest
 *
 * Domain. Each function returns SK_POLICY_OK or one of the reasons below and
 * always writes its output (0 unless said otherwise), so a caller that only
 * prints may ignore the status:
 *
 *   d <= 0 (no time bought)        nominal/effective/implied: SK_POLICY_NO_DAYS, 0
 *                                  balance rates: d = 0 is OK and gives 0 (no
 *                                  time is worth no discount); d < 0 BAD_INPUT
 *   r >= 100 %, r < 0, r_next < 0, SK_POLICY_BAD_RATE, 0 (1 - r = 0 would divide
 *   r_next > r                     by zero; a next tier above this one is not terms)
 *   r == r_next                    OK, 0
 *   k = 0                          balance rates OK, 0 (money that costs nothing
 *                                  is worth no discount); k < 0 SK_POLICY_BAD_RATE
 *   no sales (DSO)                 see sk_policy_dso_countback
 */
#ifndef SK_POLICY_H
#define SK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"

typedef enum {
    SK_POLICY_OK = 0,
    SK_POLICY_NO_DAYS = 1,   /* d <= 0: a rate per year of no time is undefined */
    SK_POLICY_BAD_RATE = 2,  /* rate outside 0..<100 %, next above this, k < 0 */
    SK_POLICY_NO_SALES = 3,  /* DSO with receivables but no sales to count back */
    SK_POLICY_BEYOND = 4,    /* DSO: receivables exceed every month's sales */
    SK_POLICY_BAD_INPUT = 5, /* negative days or money, month lengths outside 1..31 */
} sk_policy_status_t;

/* A rate as finance quotes it: simple (nominal) and compounded (effective). */
typedef struct {
    int32_t nominal_bp;
    int32_t effective_bp;
} sk_policy_apr_t;

/* Nominal annual rate of granting rate_ppm instead of next_ppm, d days
 * earlier; next_ppm = 0 gives the rate against net. 2/10,n/30: (2 %, 0, 20) -> 3724. */
sk_policy_status_t sk_policy_nominal_bp(int32_t rate_ppm, int32_t next_ppm, int days, int32_t *bp);

/* Effective (compounded) annual rate of the same. 2/10,n/30 -> 4459. */
sk_policy_status_t sk_policy_effective_bp(int32_t rate_ppm, int32_t next_ppm, int days,
                                          int32_t *bp);

/* Both of the above; the status is theirs (they fail alike). */
sk_policy_status_t sk_policy_apr(int32_t rate_ppm, int32_t next_ppm, int days,
                                 sk_policy_apr_t *out);

/* A customer's own implied rate: what the discount earns them for paying on
 * the tier's last day instead of on the day they actually pay (paid_day),
 * which may be after net. Paying on day 45 under 2/10,n/30 they gain 35 days:
 * 2128 nominal, 2345 effective. paid_day <= tier_last_day (they pay within
 * the window anyway): SK_POLICY_NO_DAYS and zeros. */
sk_policy_status_t sk_policy_implied(int32_t rate_ppm, sk_day_t tier_last_day, sk_day_t paid_day,
                                     sk_policy_apr_t *out);

/* Balance-point rate in ppm for cost of capital k_ppm (8 % a year = 80000)
 * and d days earlier: 1 - (1+k)^(-d/365). 8 %, 20 days -> 4208. */
sk_policy_status_t sk_policy_balance_ppm(int32_t k_ppm, int days, int32_t *ppm);

/* The same with simple interest: x/(1+x), x = k*d/365. 8 %, 20 days -> 4364.
 * Above the compounded figure for d under a year, equal at 365 days, below
 * it beyond (simple interest then undervalues waiting). */
sk_policy_status_t sk_policy_balance_simple_ppm(int32_t k_ppm, int days, int32_t *ppm);

/* One calendar month of sales for the countback, with its real length. */
typedef struct {
    int64_t sales; /* minor units, >= 0 */
    int days;      /* 28..31 for a calendar month (1..31 accepted) */
} sk_policy_month_t;

#define SK_POLICY_DSO_MAX_MONTHS 1200

/* Days sales outstanding by the countback method: walking back from the most
 * recent month (months[0]), each month whose sales the remaining receivables
 * cover adds its whole length and is taken off; the month they run out in
 * adds its length times the remaining share of its sales. Receivables
 * 212,000 and sales 100,000, 80,000, 70,000 (latest first, 30 days each) ->
 * 7371. Domain: receivables 0 -> OK, 0; receivables > 0 with no sales in any
 * month (or no month) -> SK_POLICY_NO_SALES, 0; receivables above the sales
 * of every month given -> SK_POLICY_BEYOND and the months' total length (a
 * lower bound); negative receivables or sales, a length outside 1..31, or
 * nmonths outside 0..SK_POLICY_DSO_MAX_MONTHS -> SK_POLICY_BAD_INPUT, 0. */
sk_policy_status_t sk_policy_dso_countback(int64_t receivables, const sk_policy_month_t *months,
                                           int nmonths, int32_t *centidays);

/* ---------------------------------------------------------------- weighted rates
 *
 * Where days (or rates) differ per invoice (end-of-month and fixed-day terms,
 * a rate an override changed), a tier's rates are each invoice's own,
 * weighted by its amount. The invoices are grouped in buckets of equal rates
 * and days; every figure is Σ amount x figure(bucket) / Σ amount, with
 * figure(bucket) the function above for that bucket (already rounded to its
 * unit) and the mean rounded half away from zero. A bucket whose figure is
 * outside its domain (d <= 0 for a rate, a bad rate) is left out of that
 * figure's sums; a figure no bucket gives is 0 with its has_ flag false. */

typedef struct {
    int32_t rate_ppm; /* the tier's rate, as stored on the invoices */
    int32_t next_ppm; /* the next tier's (0: net) */
    int d_net;        /* net due - the tier's last day */
    int d_next;       /* the next tier's last day - the tier's (d_net for the last tier) */
    int64_t amount;   /* minor units, > 0 (a bucket of 0 or less is ignored) */
} sk_policy_bucket_t;

typedef struct {
    int64_t amount;             /* Σ amount of the buckets counted */
    int32_t rate_ppm, next_ppm; /* amount-weighted rates */
    bool rates_differ;          /* buckets differ in rate_ppm */
    bool has_net, has_next;     /* vs_net / vs_next computed from some bucket */
    sk_policy_apr_t vs_net;     /* rate against net over d_net */
    sk_policy_apr_t vs_next;    /* rate against the next tier over d_next */
    int32_t balance_ppm;        /* balance rate over each bucket's d_net */
    int32_t balance_simple_ppm;
} sk_policy_weighted_t;

/* The amount-weighted mean of v (weights w, those <= 0 ignored), rounded
 * half away from zero; 0 when no weight is positive. n up to SIZE_MAX. */
int64_t sk_policy_weighted_mean(const int64_t *v, const int64_t *w, size_t n);

/* The weighted figures of n buckets at cost of capital k_ppm: SK_POLICY_OK,
 * or SK_POLICY_NO_DAYS when no bucket has an amount (out all zeros), or
 * SK_POLICY_BAD_RATE for k_ppm < 0. 2/10,n/30eom on 1000.00 shipped the 2nd
 * (48 days to net) and 500.00 the 16th (34): nominal (1000 x 1552 + 500 x 2191)
 * / 1500 = 1765 (17.65 %), where the mean d of 43 would give 1732. */
sk_policy_status_t sk_policy_weighted(const sk_policy_bucket_t *b, size_t n, int32_t k_ppm,
                                      sk_policy_weighted_t *out);

/* What a cost of capital may be, for messages: `want ` SK_POLICY_COST_RULE. */
#define SK_POLICY_COST_RULE                                                                        \
    "a percent a year above 0 and below 100 with at most 4 decimals (8 for 8 %)"

/* Parses a cost of capital given in percent a year ("8", "7.5", at most 4
 * decimals, above 0 and below 100) into ppm. Fails with code
 * "bad_cost_of_capital": `cost of capital "120": want ` SK_POLICY_COST_RULE. */
int sk_policy_cost_parse(const char *s, int32_t *k_ppm, sk_err_t *err);

#endif
