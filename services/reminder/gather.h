/* gather — what a reminder or a statement says, read from Redis: the
 * customer's profile and the open windows of its invoices, as the structs
 * notice.h renders. The reminder worker sends what this gathers and
 * `skontoctl statement preview` shows it, so the two never disagree.
 *
 * Rules kept here, once:
 *   - the customer's zone is the profile's `tz`, else SKONTO_DEFAULT_TZ
 *     (sk_remind_zone); a stored zone the system database no longer has
 *     falls back to the default too (the caller is told, to log it);
 *   - "today" is the customer's local day of the clock's instant;
 *   - a window is still open on `today` when its last day is today or later,
 *     and what it saves is what settlement (common/settlement.h) grants a
 *     full payment on that day: the window's discount on the whole open
 *     balance; so `amount` is the open balance and each window's payable is
 *     balance - discount (the rule the discount worker applies to a real
 *     payment, and what `skontoctl customer show` prints);
 *   - a statement lists every open invoice of the customer (copen) that is
 *     open with a balance, at most REMINDER_NOTICE_MAX_INVOICES.
 *
 * Invariants: every string read from Redis is bounded (the event contract's
 * sizes) and checked before it is used; money stays int64 minor units. The
 * customer and invoice structs hold their own copies, so what they point to
 * lives as long as the gathered object. hiredis types are declared, not
 * included. */
#ifndef REMINDER_GATHER_H
#define REMINDER_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_rules.h"
#include "notice.h"
#include "sk_error.h"
#include "sk_remind.h"

struct redisContext;
struct redisReply;

#define REMINDER_NAME_MAX 256 /* bytes of a name, an address, a locale as stored */
#define REMINDER_LOCALE_MAX 64

/* A customer's profile hash (sk:{sN}:cust:<cid>) as the reminder reads it. */
typedef struct {
    char id[SK_ID_MAX + 1];
    char name[REMINDER_NAME_MAX + 1];
    char email[REMINDER_NAME_MAX + 1];
    char locale[REMINDER_LOCALE_MAX + 1];
    char tz_id[SK_TZ_ID_MAX + 1]; /* as stored ("" = the default zone) */
    bool exists;                  /* the hash has fields */
    bool optout;                  /* optout = 1 */
    sk_cadence_t cadence;         /* statement: weekly (default), daily, none */
    const sk_tz_t *tz;            /* the zone used: tz_id's, else the default */
    bool tz_fallback;             /* tz_id was set but unknown: the default was used */
} reminder_profile_t;

/* From the reply of HGETALL on the customer hash. Values too long for the
 * fields above, or holding control characters, are refused (err
 * "bad_customer"); an unknown cadence reads as weekly. */
int reminder_profile_from_reply(const struct redisReply *r, const char *customer_id,
                                const sk_remind_settings_t *s, reminder_profile_t *p,
                                sk_err_t *err);

/* The customer of a notice, pointing into p. */
reminder_customer_t reminder_profile_customer(const reminder_profile_t *p);

/* The windows of inv still open on `today` (the rule above) into *out,
 * pointing into inv (order id, currency). tiers (may be NULL) receives each
 * window's index into inv's schedule. An invoice not open or without
 * balance has none. */
void reminder_invoice_view(const sk_invoice_t *inv, sk_day_t today, reminder_invoice_t *out,
                           int tiers[SK_TERMS_MAX_TIERS]);

/* A customer's statement as it would be made at now_ms. */
typedef struct reminder_gathered reminder_gathered_t;

/* Reads the profile, the customer's open invoices (ZRANGE copen, then one
 * pipelined GET per invoice) and builds the statement. NULL with err:
 * "no_customer" (no profile), "bad_customer", "redis", "bad_invoice" (an
 * invoice that does not decode: named in the message). */
reminder_gathered_t *reminder_statement_gather(struct redisContext *c, const char *customer_id,
                                               const sk_remind_settings_t *s, int64_t now_ms,
                                               sk_err_t *err);
void reminder_gathered_destroy(reminder_gathered_t **self_p);

const reminder_profile_t *reminder_gathered_profile(const reminder_gathered_t *self);
/* The statement (customer, today, invoices), valid while self lives. */
const reminder_statement_t *reminder_gathered_statement(const reminder_gathered_t *self);
/* The tier index in its schedule of each window of the statement's invoice i. */
const int *reminder_gathered_tiers(const reminder_gathered_t *self, size_t i);

#endif
