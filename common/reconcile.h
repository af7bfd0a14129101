/* reconcile — the schedule an open invoice must have, and where its stored
 * one differs (issue 9: `skontoctl audit reconcile` names every invoice a
 * write that bypassed the workers changed). Pure: no I/O.
 *
 * The expected schedule is recomputed from what the schedule comes from —
 * the invoice's canonical terms, its amount and tax (after credit notes, as
 * stored) and its baseline (ship date), with sk_schedule_compute as the
 * discount worker does — and then its approved overrides, in the order
 * applied (override_rules.h):
 *   EXTEND  tier k's last day becomes the new day;
 *   RATE    tier k's rate becomes the new rate, and its discount the one of
 *           that rate on the discount base (the worker's rounding);
 *   GRANT, WAIVE  settle a payment again; the schedule stays.
 * (sk_schedule_redo_override, the same step a credit note takes). An
 * override naming a tier the schedule does not have, or a change it cannot
 * take, is itself a difference ("override"). The comparison covers the number of tiers, the
 * net due date and each tier's rate, last day and discount. */
#ifndef SK_RECONCILE_H
#define SK_RECONCILE_H

#include <stdint.h>

#include "invoice_rules.h"
#include "override_rules.h"
#include "sk_error.h"

typedef enum {
    SK_RECON_TIERS = 0, /* number of tiers (tier -1) */
    SK_RECON_NET_DUE,   /* net due day (tier -1) */
    SK_RECON_RATE,      /* ppm */
    SK_RECON_LAST_DAY,  /* day number */
    SK_RECON_DISCOUNT,  /* minor units */
    SK_RECON_OVERRIDE,  /* an override's tier is not in the schedule (stored: its tier) */
} sk_recon_field_t;

/* "tiers", "net_due", "rate", "last_day", "discount", "override". */
const char *sk_recon_field_name(sk_recon_field_t f);

typedef struct {
    sk_recon_field_t field;
    int tier; /* 0-based; -1 for the invoice as a whole */
    int64_t stored, expected;
} sk_recon_diff_t;

#define SK_RECON_MAX_DIFFS (3 * SK_TERMS_MAX_TIERS + 4)

typedef struct {
    sk_schedule_t expected;
    int ndiffs;
    sk_recon_diff_t diffs[SK_RECON_MAX_DIFFS];
} sk_recon_t;

/* The schedule inv must have given the overrides ovr[0..n) (approved and
 * applied, in the order applied), and every difference from the stored one.
 * 0 (out->ndiffs 0: it is as it must be), or -1 and err when the expected
 * schedule cannot be computed (terms that do not parse: "bad_terms", an
 * amount the schedule refuses ...): that too is for a person to look at. */
int sk_reconcile(const sk_invoice_t *inv, const sk_override_change_t *ovr, int n, sk_recon_t *out,
                 sk_err_t *err);

#endif
