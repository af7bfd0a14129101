/* invoice_rules — what each event does to an invoice, as pure computation.
 *
 * The discount worker reads an invoice, decodes the event and the customer's
 * payment history, and calls one function per event kind:
 *
 *   sk_invoice_on_order    an order shipped / invoice issued (first version or a replacement)
 *   sk_invoice_on_payment  a payment received
 *   sk_invoice_on_credit   a credit note
 *   sk_invoice_on_cancel   an order cancelled
 *
 * Each takes the invoice as stored (NULL: there is none yet) and the decoded
 * event, and fills an sk_invoice_change_t: the outcome, the new
 * invoice, the counter and forecast deltas that move with it, and what
 * happens to the customer's open set. Nothing here reads
 * or writes anything: the worker persists the change (atomically, with a
 * revision check) and these rules are tested in microseconds.
 *
 * Rules kept here, once:
 * - The terms that apply to an order: its own, else the inline customer's,
 *   else the stored customer's (sk_terms_that_apply; ingest, its validation
 *   and the discount worker all ask it).
 * - Tax proration: when credit notes lower an amount, the tax shrinks in
 *   proportion, half-up, and stays below the amount (sk_tax_prorate).
 * - The customer's usual tier: the tier with most invoices closed in it,
 *   ties to the later one, net counting as the latest (sk_history_usual_tier).
 * - Forecast: an open invoice contributes its balance to "at net" on its net
 *   due date, and "by history" the payable for its balance on the last day of
 *   the usual tier (net due date when that is net or the schedule has no such
 *   tier). What was added is kept on the invoice, so each later change adds
 *   the difference and a close subtracts exactly that. The usual tier is
 *   chosen when the order is stored or replaced; payments and credit notes
 *   keep that choice.
 * - Take-up: offered|t<i>|<rate> per tier of a stored schedule (withdrawn
 *   when replaced); on a close by payment taken|t<i>|<rate> (or taken|net),
 *   sp|<salesperson>|t<i> (or |net), disc|<CUR> and the customer's history
 *   t<i> (or net) and n. A close by credit note or by a new amount counts
 *   no take-up.
 * - Windows: the next window is the first one that has not closed before the
 *   reference day (today, or the payment's date if later). */
#ifndef SK_INVOICE_RULES_H
#define SK_INVOICE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schedule.h"
#include "settlement.h"
#include "sk_error.h"

#define SK_ID_MAX 256 /* bytes of an id (the same as ingest's SK_EVENT_ID_MAX) */
#define SK_INVOICE_MAX_PAYMENTS 64
#define SK_DAY_INVALID INT32_MIN /* a date the event carried but that does not parse */

typedef enum { SK_INV_OPEN = 0, SK_INV_PAID = 1, SK_INV_CANCELLED = 2 } sk_invoice_status_t;

/* An approved override applied to the invoice (override_rules.h; issue 9),
 * kept in it for who reads it. A new order version keeps the list (its
 * schedule no longer carries their change: `version` tells). */
#define SK_INVOICE_MAX_OVERRIDES 8 /* each ~400 bytes of sk_invoice_t, copied on every event */
#define SK_OVERRIDE_ID_MAX 64   /* bytes of an override id */
#define SK_OVERRIDE_USER_MAX 64 /* a ZAP User-Id (sk_auth.h's SK_AUTH_USER_MAX) */
typedef struct {
    char id[SK_OVERRIDE_ID_MAX + 1];
    int kind;               /* sk_override_kind_t (override_rules.h) */
    int tier;               /* EXTEND, GRANT, RATE */
    sk_day_t new_last_day;  /* EXTEND */
    int32_t new_rate_ppm;   /* RATE */
    int payment;            /* GRANT */
    char old_value[64];     /* as sk_override_apply words them */
    char new_value[64];
    int64_t effect;         /* extra discount granted, minor units */
    char requested_by[SK_OVERRIDE_USER_MAX + 1];
    char approved_by[SK_OVERRIDE_USER_MAX + 1];
    int64_t applied_at_ms;
    uint32_t version;       /* the order version it changed */
    int64_t revision;       /* the invoice revision it made */
} sk_invoice_override_t;

typedef struct {
    char order_id[SK_ID_MAX + 1];
    char customer_id[SK_ID_MAX + 1];
    char salesperson[SK_ID_MAX + 1];
    char terms[SK_TERMS_MAX_LEN];
    sk_day_t invoice_date;  /* -1 if not given */
    sk_day_t delivery_date; /* -1 if not given */
    sk_schedule_t schedule; /* currency, amount, tax, baseline, net due, tiers */
    int64_t balance;
    int npayments;
    sk_applied_t payments[SK_INVOICE_MAX_PAYMENTS];
    bool payment_full[SK_INVOICE_MAX_PAYMENTS];
    int64_t discount_total, unearned_total, credit_total;
    sk_invoice_status_t status;
    uint32_t version;
    int64_t rev;
    /* The number (ingest's `q`) of the last of the order's events applied to
     * this invoice, 0 if unknown (stored before events were numbered). */
    int64_t seq;
    /* Forecast contributions now added to the forecast for this invoice;
     * amount 0 means none. */
    sk_day_t fc_hist_day;
    int64_t fc_hist_amount;
    sk_day_t fc_net_day;
    int64_t fc_net_amount;
    int noverrides;
    sk_invoice_override_t overrides[SK_INVOICE_MAX_OVERRIDES];
} sk_invoice_t;

/* The override of inv with this id, or NULL. */
const sk_invoice_override_t *sk_invoice_find_override(const sk_invoice_t *inv, const char *id);

/* Puts an approved override's change on a schedule computed from terms
 * (a credit note's new amount, reconciliation): kind 1 (EXTEND) moves tier's
 * last day, kind 3 (RATE) sets its rate and its discount on the discount
 * base (payable follows); any other kind leaves the schedule. false when the
 * tier is not in the schedule or the change would break its invariants
 * (last days strictly increasing before net due, rates strictly
 * decreasing): then nothing changes. */
bool sk_schedule_redo_override(sk_schedule_t *s, int kind, int tier, sk_day_t new_last_day,
                               int32_t new_rate_ppm);

/* An empty invoice: zeroes, dates -1, status open. */
void sk_invoice_init(sk_invoice_t *inv);

const char *sk_invoice_status_name(sk_invoice_status_t st);

/* ---------------------------------------------------------------- the rules on their own */

typedef enum {
    SK_TERMS_FROM_NONE = 0,
    SK_TERMS_FROM_ORDER,
    SK_TERMS_FROM_INLINE_CUSTOMER, /* the customer sent inside the order */
    SK_TERMS_FROM_CUSTOMER,        /* the stored customer profile */
} sk_terms_source_t;

/* The terms that apply to an order: its own, else the inline customer's, else
 * the stored customer's. Any argument may be NULL or "" (none; NULL for the
 * stored customer also means "not read yet"). Returns the text that applies,
 * or NULL when none does; *source (may be NULL) says whose it is. */
const char *sk_terms_that_apply(const char *order_terms, const char *inline_customer_terms,
                                const char *stored_customer_terms, sk_terms_source_t *source);

/* The tax part of new_amount when an amount of `amount` with `tax` in it is
 * lowered (credit notes) to new_amount: tax * new_amount / amount, half-up,
 * kept below new_amount. amount > 0, 0 < new_amount <= amount. */
int64_t sk_tax_prorate(int64_t tax, int64_t amount, int64_t new_amount);

/* A customer's payment history: invoices closed inside each tier, after
 * every window (net), and in total. */
typedef struct {
    int64_t tier[SK_TERMS_MAX_TIERS];
    int64_t net;
    int64_t n;
} sk_history_t;

/* The tier this customer usually pays in, for a schedule of ntiers tiers:
 * the tier with most invoices closed in it, ties going to the later one, net
 * counting as the latest; -1 for net (also without history, or when the
 * usual tier is not in the schedule). hist may be NULL (no history). */
int sk_history_usual_tier(const sk_history_t *hist, int ntiers);

/* Sets inv's forecast contributions for its balance, by history in tier
 * hist_tier (-1: net); none when the invoice is closed or has no balance. */
void sk_invoice_forecast(sk_invoice_t *inv, int hist_tier);

/* The tier inv's stored history forecast points at (-1 for net). */
int sk_invoice_forecast_tier(const sk_invoice_t *inv);

/* ---------------------------------------------------------------- events, decoded */

/* An order shipped / invoice issued. Dates: -1 not given, SK_DAY_INVALID
 * given but malformed. */
typedef struct {
    const char *order_id, *customer_id, *salesperson; /* salesperson may be NULL */
    const char *currency;                             /* ISO 4217 code */
    const char *terms; /* the terms that apply (sk_terms_that_apply), NULL if none */
    sk_day_t ship_date, invoice_date, delivery_date;
    int64_t amount, tax;
    uint32_t version; /* 0 counts as 1 */
} sk_order_event_t;

typedef struct {
    const char *order_id;
    const char *currency; /* NULL or "": the invoice's */
    sk_day_t paid_on;     /* SK_DAY_INVALID: malformed */
    int64_t amount;
    bool full;
} sk_payment_event_t;

typedef struct {
    const char *order_id;
    const char *currency; /* NULL or "": the invoice's */
    int64_t amount;
} sk_credit_event_t;

/* ---------------------------------------------------------------- the change */

typedef enum {
    SK_CHANGE_APPLY = 0, /* store inv, apply the deltas and set ops */
    SK_CHANGE_NONE,      /* nothing changes, and that is fine (msg may say why) */
    SK_CHANGE_NOINV,     /* the invoice is not there yet: try again later */
    SK_CHANGE_ERROR,     /* nothing changes; code and msg say why */
} sk_change_outcome_t;

/* The counters a change moves (each a hash of field -> integer). */
typedef enum {
    SK_COUNTER_HISTORY = 0, /* the customer's history: t<i>, net, n */
    SK_COUNTER_FC_HIST,     /* forecast by history: "YYYY-MM-DD|CUR" */
    SK_COUNTER_FC_NET,      /* forecast at net: "YYYY-MM-DD|CUR" */
    SK_COUNTER_TAKEUP,      /* take-up: offered|..., taken|..., sp|..., disc|CUR */
    SK_COUNTER_POLICY,      /* the policy report's, per shard (sk_invoice_policy) */
    SK_COUNTER_PCUST,       /* the policy report's per customer, per shard */
    SK_COUNTER_PSP,         /* the policy report's per salesperson, per shard */
} sk_tally_t;

typedef struct {
    sk_tally_t counter;
    char field[SK_ID_MAX + 48];
    int64_t delta; /* never 0 in a change */
} sk_delta_t;

/* at most 2*8 offered + 4 forecast + 2 sales + 2 x (5 take-up + 24 policy + 10 per customer
 * + 6 per salesperson) = 112 (an override that moves a close) */
#define SK_CHANGE_MAX_DELTAS 128

typedef enum { SK_SET_KEEP = 0, SK_SET_ADD, SK_SET_REMOVE } sk_set_op_t;

typedef struct {
    sk_change_outcome_t outcome;
    char code[32];    /* for SK_CHANGE_ERROR: a stable reason */
    char msg[1024];   /* what happened, one line ("" when nothing to say) */
    sk_invoice_t inv; /* the new invoice (SK_CHANGE_APPLY) */
    int ndeltas;
    sk_delta_t deltas[SK_CHANGE_MAX_DELTAS];
    /* The customer's open invoices, scored by net due day. */
    sk_set_op_t open_op;
    sk_day_t open_score;
} sk_invoice_change_t;

/* Each returns ch->outcome. old is the stored invoice, NULL when there is
 * none. For an order, hist is the customer's history (NULL: none). */
sk_change_outcome_t sk_invoice_on_order(const sk_invoice_t *old, const sk_order_event_t *o,
                                        const sk_history_t *hist, sk_invoice_change_t *ch);
sk_change_outcome_t sk_invoice_on_payment(const sk_invoice_t *old, const sk_payment_event_t *p,
                                          sk_invoice_change_t *ch);
sk_change_outcome_t sk_invoice_on_credit(const sk_invoice_t *old, const sk_credit_event_t *c,
                                         sk_invoice_change_t *ch);
sk_change_outcome_t sk_invoice_on_cancel(const sk_invoice_t *old, const char *order_id,
                                         sk_invoice_change_t *ch);

/* An approved override turned old into nw (override_rules.h's
 * sk_override_apply): ch gets nw with its forecast recomputed (the same
 * usual tier), the forecast deltas, the offered take-up moved when a rate
 * changed, the take-up of a close (a waiver or grant that closes the
 * invoice counts it as a payment's close does; a grant on an invoice a
 * payment closed moves that count to the new tier and discount), and the
 * customer's open set. Always SK_CHANGE_APPLY. */
sk_change_outcome_t sk_invoice_on_override(const sk_invoice_t *old, const sk_invoice_t *nw,
                                           sk_invoice_change_t *ch);

/* ---------------------------------------------------------------- the policy counters
 *
 * What `skontoctl report policy` reads (README, "Redis layout"), moved with
 * the take-up (a close by payment counts them, an override that re-opens or
 * changes a close takes them back and counts the new one) and with sales
 * (every change moves an invoice's sales from its old state to its new).
 * M is the month (YYYY-MM) of the closing payment's date, CUR the currency,
 * TIER t<i> or net (the tier the invoice was closed in), T the terms text;
 * "days before net" is net due - a payment's date (negative when late).
 * SK_COUNTER_POLICY (sk:{sN}:pol):
 *   M|n|CUR|*|T       invoices closed by payment (each offered every tier of T)
 *   M|a|CUR|*|T       their amounts
 *   M|dn|CUR|t<i>|T   sum of amount x (net due - tier i's last day)
 *   M|w<r>,<rn>,<dnet>,<dnext>|CUR|t<i>|T
 *                     sum of amount, per tier i of the invoice's schedule: r its
 *                     rate (ppm) as stored on the invoice (an override's), rn the
 *                     next tier's (0 after the last), dnet = net due - tier i's
 *                     last day, dnext = tier i+1's last day - tier i's (dnet after
 *                     the last): the report's amount-weighted rates
 *   M|tk|CUR|TIER|T   invoices closed in TIER
 *   M|dc|CUR|TIER|T   discount granted
 *   M|pa|CUR|TIER|T   cash paid (payments less what they overpaid)
 *   M|pd|CUR|TIER|T   sum of cash x days before net, per payment
 *   M|ds|CUR|TIER|T   sum of the closing payment's days before net
 *   pn|YYYY-MM-DD|CUR cash paid before the net due date, by that date
 *   s|M|CUR           sales: amount of every invoice not cancelled, by the
 *                     month of its baseline (ship date)
 * SK_COUNTER_PCUST (sk:{sN}:pcust), per customer C (last, it may hold '|'):
 *   M|n|C  closed by payment     M|TIER|C  closed in TIER
 *   M|ot|C paid by net due       M|ds|C    sum of days before net
 *   M|un|C payments that claimed a discount not earned
 *   M|ua.CUR|C their unearned amount
 *   M|dc.CUR|C discount granted
 *   M|in|C closed with tiers     M|ir|C sum of tier 0's rate (ppm)
 *   M|ig|C sum of days between tier 0's last day and the closing payment
 * SK_COUNTER_PSP (sk:{sN}:psp), per salesperson SP (last, it may hold '|';
 * "" for an invoice without one), in the shard of the invoice's customer:
 *   M|n|SP       closed by payment      M|tk|SP      of them closed in a tier
 *   M|dc.CUR|SP  discount granted       M|a.CUR|SP   their amounts
 *   M|un|SP      payments that claimed a discount not earned
 *   M|ua.CUR|SP  their unearned amount */

/* The counters inv contributes as it is stored (what the live deltas add
 * up to): ch is reset and gets them as deltas (a rebuild adds them). A close
 * by payment is a paid invoice whose last payment took its balance to 0. */
void sk_invoice_policy(const sk_invoice_t *inv, sk_invoice_change_t *ch);

/* The delta of ch on (counter, field), 0 if none (tests and logs). */
int64_t sk_change_delta(const sk_invoice_change_t *ch, sk_tally_t counter, const char *field);

/* "YYYY-MM-DD|CUR" of a forecast counter into buf (>= 16 bytes); returns buf. */
char *sk_forecast_field(char *buf, sk_day_t day, const sk_currency_t *cur);

#endif
