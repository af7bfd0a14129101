/* settlement — one payment applied to an invoice's open balance.
 *
 * With A the invoice amount, D the discount base (A, or A - tax) and r the
 * rate of the tier the payment date falls in, the effective rate on the gross
 * balance is r' = r * D / A. Then, in exact integer arithmetic with one
 * rounding each (the schedule's rule):
 *   full discount on balance B:  round(B * D * r / A)
 *   a payment P settles          round(P * A / (A - r * D))   (= P / (1 - r'))
 * A payment that reaches B - full discount settles B; its discount is what is
 * left of B after P (never negative; the excess over B is "overpaid"). A
 * payment declared full earns the full discount on B whatever it is; what it
 * lacks below B - discount is unearned discount and stays in the balance. With
 * gross base and B == A the full discount is exactly the schedule's tier
 * discount, so paying a tier's payable on time settles the invoice. */
#include "settlement.h"

#include <string.h>

int sk_settle_apply(const sk_schedule_t *s, int64_t *balance, const sk_payment_t *p,
                    sk_applied_t *out, sk_err_t *err)
{
    char a1[40];
    if (!s || !balance || !p || !out)
        return sk_err_set(err, "bad_payment", "no payment");
    const sk_currency_t *cur = s->currency;
    int64_t B = *balance, P = p->amount;
    if (B <= 0)
        return sk_err_set(err, "bad_payment", "invoice is already settled");
    if (B > SK_MONEY_MAX)
        return sk_err_set(err, "bad_payment", "balance %s is above the largest amount",
                          sk_money_format(B, cur, a1, sizeof a1));
    if (P <= 0 || P > SK_MONEY_MAX)
        return sk_err_set(err, "bad_amount",
                          "payment %s: must be above 0 and at most the largest "
                          "amount",
                          sk_money_format(P, cur, a1, sizeof a1));
    /* A payment dated before the baseline is a prepayment (cash before
     * shipment): it earns the first window's rate, as sk_schedule_tier_on says. */

    sk_applied_t a;
    memset(&a, 0, sizeof a);
    a.date = p->date;
    a.paid = P;
    a.tier = sk_schedule_tier_on(s, p->date);
    a.rate_ppm = a.tier >= 0 ? s->tiers[a.tier].rate_ppm : 0;

    const __int128 A = s->amount, D = s->discount_base, r = a.rate_ppm;
    /* B, D <= 10^15 and r < 10^6, so B * D * r < 10^36 fits in __int128 (~1.7e38). */
    int64_t full_disc =
        a.tier >= 0 ? sk_div_round((__int128)B * D * r, A * SK_PPM, s->rounding) : 0;
    if (full_disc > B)
        full_disc = B; /* only if the balance exceeds the amount: never settle more than B */

    if (P >= B - full_disc) {
        /* Enough to close the invoice at this tier. */
        a.settled = B;
        a.discount = B > P ? B - P : 0;
        a.overpaid = P > B ? P - B : 0;
    } else if (p->full) {
        /* Declared full but short: the tier's discount on the balance is earned,
         * the rest of the shortfall stays open as unearned discount. */
        a.discount = full_disc;
        a.settled = P + full_disc;
        a.unearned_discount = B - a.settled;
    } else {
        int64_t settled =
            a.tier >= 0 ? sk_div_round((__int128)P * A * SK_PPM, A * SK_PPM - r * D, s->rounding)
                        : P;
        if (settled > B)
            settled = B;
        a.settled = settled;
        a.discount = settled - P;
    }
    a.balance_after = B - a.settled;
    *balance = a.balance_after;
    *out = a;
    return 0;
}
