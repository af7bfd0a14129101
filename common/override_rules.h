/* override_rules — what a director-approved override does to an invoice, and
 * who may approve it, as pure computation (issue 9).
 *
 * A salesperson cannot change a computed result; a director may adjust one
 * through an override. This module holds the two halves of that rule, with
 * no I/O (the audit worker reads, decides and records; the discount worker,
 * still the only writer of schedules, applies):
 *
 *   sk_override_apply   an override applied to an invoice as stored
 *                       (sk_invoice_t, invoice_rules.h): the new schedule and
 *                       settlement and its EFFECT, the extra discount granted
 *                       in minor units, computed from the invoice alone;
 *   sk_override_decide  may this decider approve (or reject) this request
 *                       now: allowed, or refused with one reason code.
 *
 * Kinds, and when a request makes sense (else -1, err->code in quotes):
 *
 *   EXTEND  tier k's last day moves to a later day D'. The invoice is open
 *           ("not_open"); k is a tier ("bad_tier"); D' is after the tier's
 *           last day ("not_later"), before the next tier's last day and the
 *           net due date, so last days keep strictly increasing
 *           ("bad_last_day"); D' is today or later ("in_the_past": an
 *           extension that already ended grants nothing, a late payment is a
 *           GRANT); no recorded payment falls in the days added
 *           ("payment_in_extension": it would have to be settled again, which
 *           is a GRANT). Effect: on the open balance B, the full discount at
 *           tier k's rate less the full discount those days gave before
 *           (tier k+1's rate, or none when k is the last tier).
 *   GRANT   tier k for payment j, made after tier k's window closed. The
 *           invoice is not cancelled ("not_open"); j is its last payment
 *           ("bad_payment": a grant to an earlier one would resettle every
 *           later payment); k is a tier ("bad_tier"); j is dated after the
 *           tier's last day ("not_after_window"). Payment j is settled again
 *           as if made on tier k's last day, from the balance it found;
 *           effect: its new discount less its old one. The payment keeps its
 *           real date; it shows tier k and its rate.
 *   RATE    tier k's rate becomes R. The invoice is open ("not_open"); k is
 *           a tier ("bad_tier"); tier k's window has not closed (its last day
 *           is today or later, "window_closed"); R is above the current rate
 *           ("rate_not_higher": an override only gives, a lower rate is the
 *           ERP's, through a new order version) and below the previous
 *           tier's and 100 % ("bad_rate"), so rates stay strictly decreasing
 *           (above the next tier's follows). Payments already made keep what
 *           they earned; the new rate applies to the open balance. Effect:
 *           the full discount at R on B less the one at the old rate.
 *   WAIVE   the unearned discount of the last payment (a payment declared
 *           full but short) is forgiven. The invoice is open ("not_open");
 *           the last payment has an unearned discount still in the balance
 *           ("nothing_to_waive"). Effect: min(unearned, balance); the
 *           payment's discount and settled grow by it, the balance shrinks
 *           by it, and a balance of 0 closes the invoice (status paid).
 *
 * Every kind: an effect of 0 is refused ("no_effect": the override would
 * change nothing a customer pays). Hence the invariants tests check: the
 * effect is > 0, the invoice amount (schedule amount and tax) never changes,
 * the schedule keeps the schedule.h invariants, discount_total grows by the
 * effect exactly for GRANT and WAIVE (EXTEND and RATE grant it only when a
 * payment comes), and the revision is old + 1. The "full discount" on a
 * balance is settlement's: round(B * D * r / A) with D the discount base and
 * A the amount (settlement.h). The counters, forecast and reminders that move
 * with the new invoice are the discount worker's to recompute, as for any
 * event. Today matters for EXTEND and RATE: the worker computes the effect
 * when the request is made and again when it decides and applies.
 *
 * Decisions (sk_override_decide), checked in this order, first refusal wins:
 *   bad_request            the record is inconsistent (negative effect,
 *                          created after now, no requester, unknown currency)
 *   not_a_director         the decider is neither sales_director nor
 *                          finance_director (a salesperson, an operator...)
 *   self_approval          the decider is the requester
 *   -- for an approval only (a director may reject at any time):
 *   stale                  the invoice's revision is not the one the request
 *                          was made against: it must be made again
 *   expired                now > created_at + TTL (at exactly TTL it may
 *                          still be approved; one millisecond later not)
 *   needs_finance_director a sales_director approving an effect above the
 *                          currency's threshold (at exactly the threshold a
 *                          sales_director may), or in a currency the
 *                          thresholds do not name
 * Users are compared byte for byte; roles come from the authenticated key
 * (never from a message): the caller maps them with sk_override_role_parse. */
#ifndef SK_OVERRIDE_RULES_H
#define SK_OVERRIDE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_rules.h"
#include "money.h"
#include "sk_error.h"

/* ---------------------------------------------------------------- applying */

typedef enum {
    SK_OVERRIDE_EXTEND = 1, /* extend a tier's last day */
    SK_OVERRIDE_GRANT = 2,  /* grant a tier to a payment made after its window */
    SK_OVERRIDE_RATE = 3,   /* raise a tier's rate */
    SK_OVERRIDE_WAIVE = 4,  /* waive the last payment's unearned discount */
} sk_override_kind_t;

/* "extend", "grant", "rate", "waive"; "unknown" for anything else. */
const char *sk_override_kind_name(sk_override_kind_t kind);
/* The kind named so; 0 if none. */
sk_override_kind_t sk_override_kind_parse(const char *name);

/* What a request asks. Fields a kind does not use are ignored. */
typedef struct {
    sk_override_kind_t kind;
    int tier;              /* EXTEND, GRANT, RATE: 0-based, as t<i> in the counters */
    sk_day_t new_last_day; /* EXTEND */
    int32_t new_rate_ppm;  /* RATE */
    int payment;           /* GRANT: 0-based index into the invoice's payments */
} sk_override_change_t;

typedef struct {
    sk_invoice_t inv;   /* the invoice with the override applied (rev + 1) */
    int64_t effect;     /* extra discount granted, minor units, > 0 */
    char old_value[64]; /* what changed, for the invoice and the log: */
    char new_value[64]; /* "2026-11-15" / "1.5" / "tier 0" / "11.30 unearned" */
} sk_override_result_t;

/* Applies c to inv (as stored) on `today`. 0 and *out filled, or -1 and err
 * (a code listed above; *out then holds nothing to use). out != inv. */
int sk_override_apply(const sk_invoice_t *inv, const sk_override_change_t *c, sk_day_t today,
                      sk_override_result_t *out, sk_err_t *err);

/* ---------------------------------------------------------------- deciding */

typedef enum {
    SK_OVERRIDE_ROLE_OTHER = 0, /* anything that may not decide */
    SK_OVERRIDE_ROLE_SALES,
    SK_OVERRIDE_ROLE_SALES_DIRECTOR,
    SK_OVERRIDE_ROLE_FINANCE_DIRECTOR,
} sk_override_role_t;

/* A key registry's role name ("sales_director", as sk_role_name gives it) ->
 * role; OTHER for any other name or NULL. */
sk_override_role_t sk_override_role_parse(const char *name);

#define SK_OVERRIDE_MAX_THRESHOLDS 16

/* Per currency: an effect above `above` (minor units) needs a finance
 * director. Currencies not listed: every effect needs one. */
typedef struct {
    int n;
    struct {
        const sk_currency_t *currency;
        int64_t above; /* 0 .. SK_MONEY_MAX */
    } t[SK_OVERRIDE_MAX_THRESHOLDS];
} sk_override_thresholds_t;

/* The threshold of a currency code: 0 and *above, or -1 when not named. */
int sk_override_threshold(const sk_override_thresholds_t *th, const char *currency, int64_t *above);

/* A request as the audit worker recorded it (never as a client wrote it). */
typedef struct {
    const char *requested_by; /* the requester's authenticated user */
    int64_t created_at_ms;    /* the worker's clock when it recorded the request */
    int64_t invoice_rev;      /* the invoice revision it was made against */
    int64_t effect;           /* minor units, computed by the worker */
    const char *currency;     /* the invoice's ISO 4217 code */
} sk_override_request_t;

typedef struct {
    const char *user;        /* the decider's authenticated user */
    sk_override_role_t role; /* the decider's registered role */
    bool approve;            /* true: approve; false: reject */
} sk_override_decider_t;

typedef enum {
    SK_DECISION_ALLOWED = 0,
    SK_DECISION_BAD_REQUEST,
    SK_DECISION_NOT_A_DIRECTOR,
    SK_DECISION_SELF_APPROVAL,
    SK_DECISION_STALE,
    SK_DECISION_EXPIRED,
    SK_DECISION_NEEDS_FINANCE_DIRECTOR,
} sk_decision_t;

/* "allowed", "bad_request", "not_a_director", "self_approval", "stale",
 * "expired", "needs_finance_director": the reason codes of the log. */
const char *sk_decision_name(sk_decision_t d);

/* The decision rules above. current_rev is the invoice's revision now, now_ms
 * the worker's clock, ttl_ms > 0. msg (may be NULL; n bytes, 160 is enough)
 * gets one line saying why. */
sk_decision_t sk_override_decide(const sk_override_request_t *req, const sk_override_decider_t *by,
                                 int64_t current_rev, int64_t now_ms, int64_t ttl_ms,
                                 const sk_override_thresholds_t *th, char *msg, size_t n);

#endif
