/* policy_advice — what to change in a cash-discount policy, from the policy
 * report's figures: the recommendation in plain words, as data.
 *
 * Pure: no I/O, no allocation; the caller gives the figures of each tier
 * and customer (skontoctl's report computes them from its counters) and
 * renders the items as sentences. Money is int64 minor units of the item's
 * currency; rates in ppm, annual rates in hundredths of a percent (policy.h).
 *
 * Kinds (stable codes, the --json `kind`):
 *   tier_above_cost       the tier's rate is above its balance rate (its
 *                         effective annual rate against net above the cost of
 *                         capital): the discounts cost more than the earlier
 *                         cash is worth. excess = discounted - value of the
 *                         earlier cash (only excess > 0 is advised);
 *                         per_year = excess x 365 / range_days, rounded half
 *                         away from zero: what the tier costs a year beyond
 *                         the cost of capital at the range's pace. amount = per_year.
 *   tier_below_balance    the tier's rate is below its balance rate: a rate up
 *                         to the balance rate would still pay. amount =
 *                         value - discounted (what the tier earns now; ties
 *                         and negatives allowed).
 *   customer_pays_at_net  more than half the customer's closes were at net
 *                         (no discount taken): the discount buys no earlier
 *                         cash from them, what they were granted only costs.
 *                         amount = discount granted to them.
 *   customer_takes_first_tier every close in the first tier (at least
 *                         SK_ADVICE_MIN_CLOSES): they would likely take a
 *                         smaller or later first tier too. amount = discount granted.
 *   customer_unearned     payments that claimed a discount after its window.
 *                         amount = the unearned amount claimed.
 * At most SK_ADVICE_PER_KIND items per kind, largest amount first (ties: the
 * terms, then the tier, then the customer id, in byte order), in the order
 * of the kinds above. */
#ifndef SK_POLICY_ADVICE_H
#define SK_POLICY_ADVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SK_ADVICE_TIER_ABOVE_COST = 0,
    SK_ADVICE_TIER_BELOW_BALANCE,
    SK_ADVICE_CUSTOMER_PAYS_AT_NET,
    SK_ADVICE_CUSTOMER_TAKES_FIRST_TIER,
    SK_ADVICE_CUSTOMER_UNEARNED,
    SK_ADVICE_KINDS
} sk_advice_kind_t;

#define SK_ADVICE_PER_KIND 5
#define SK_ADVICE_MAX (SK_ADVICE_PER_KIND * SK_ADVICE_KINDS)
#define SK_ADVICE_MIN_CLOSES 2 /* closes before a customer's habit is advised on */

/* A tier row of the report (a tier, not net). */
typedef struct {
    const char *terms, *cur;
    int tier;
    int32_t rate_ppm;    /* the (amount-weighted) rate */
    int32_t balance_ppm; /* the (amount-weighted) balance rate */
    int32_t apr_bp;      /* effective annual rate against net */
    int64_t taken;       /* invoices closed in the tier */
    int64_t discounted;  /* discounts granted in it */
    int64_t value;       /* value of its earlier cash at the cost of capital */
} sk_advice_tier_t;

/* A customer with closes in the range. Its amounts are each in one currency:
 * the caller picks the one with the largest amount (discount_other /
 * unearned_other: it has such amounts in other currencies too). */
typedef struct {
    const char *id, *cur;
    int64_t closed;   /* closes by payment */
    int64_t at_net;   /* of them after every window */
    int64_t in_first; /* of them in the first tier */
    int64_t discount; /* granted to them, minor units of cur */
    bool discount_other;
    int64_t unearned_count; /* claims, in every currency */
    const char *unearned_cur;
    int64_t unearned_amount; /* claimed, minor units of unearned_cur */
    bool unearned_other;
} sk_advice_cust_t;

typedef struct {
    sk_advice_kind_t kind;
    const char *terms, *cur, *customer; /* from the inputs; NULL when not the kind's */
    int tier;                           /* -1 for a customer's */
    int32_t rate_ppm, balance_ppm, apr_bp;
    int64_t discounted, value, excess, per_year; /* tier kinds */
    int64_t closed, count;                       /* customer kinds: closes; at net / in
                                                    the first tier / unearned claims */
    int64_t amount;                              /* what the items are ordered by */
    bool other_currencies; /* customer kinds: amounts in other currencies not shown */
} sk_advice_t;

/* "tier_above_cost", ... ("?" outside the enum). */
const char *sk_advice_kind_code(sk_advice_kind_t kind);

/* The advice on nt tiers and nc customers for a report covering range_days
 * (>= 1; less is taken as 1) into out (room for SK_ADVICE_MAX); returns how
 * many items. Inputs with a NULL terms/id or currency are skipped. */
int sk_policy_advise(const sk_advice_tier_t *tiers, size_t nt, const sk_advice_cust_t *custs,
                     size_t nc, int range_days, sk_advice_t *out);

#endif
