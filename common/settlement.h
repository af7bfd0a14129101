/* settlement — payments applied to an invoice, in order.
 *
 * A payment P on a day inside a tier with rate r settles P / (1 - r) of the
 * open balance (never more than the balance) and earns the difference as
 * discount; partial payments earn in proportion. When the discount base is
 * net of tax the effective rate on the gross balance is r * (amount-tax)/amount.
 * A payment that covers the tier's payable on the whole balance settles it all.
 * A payment declared `full` earns the tier's discount on the whole open balance;
 * a shortfall below (balance - discount) is reported as unearned_discount and
 * stays in the balance. After every window has closed a payment settles itself.
 * A payment larger than the balance settles the balance and reports the excess
 * as overpaid. Everything is integer minor units. */
#ifndef SK_SETTLEMENT_H
#define SK_SETTLEMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "schedule.h"

typedef struct {
    sk_day_t date;
    int64_t amount; /* > 0 */
    bool full;
} sk_payment_t;

typedef struct {
    sk_day_t date;
    int64_t paid;
    int tier;               /* index into the schedule, -1 after every window */
    int32_t rate_ppm;       /* 0 when tier == -1 */
    int64_t discount;       /* discount earned by this payment */
    int64_t settled;        /* paid + discount, at most the balance before it */
    int64_t unearned_discount; /* full payment short of the payable: stays in the balance */
    int64_t overpaid;       /* paid beyond what the balance needed */
    int64_t balance_after;
} sk_applied_t;

/* Applies one payment to *balance (updated in place). Fails ("bad_amount") for
 * amount <= 0 or > SK_MONEY_MAX, ("bad_payment") when the balance is already 0
 * A payment dated before the baseline (a prepayment) falls in the first window. */
int sk_settle_apply(const sk_schedule_t *s, int64_t *balance, const sk_payment_t *p,
                    sk_applied_t *out, sk_err_t *err);

#endif
