/* sk_remind — when an invoice's reminders and a customer's statements are
 * due, and what identifies each one. The discount worker calls
 * sk_remind_plan in its apply step (the reminders-to-be are stored with the
 * schedule); the reminder worker uses the same settings and identities.
 *
 * Settings (one struct, read once through sk_config; a bad value refuses to
 * start with one line naming the variable, the value and the form wanted):
 *   SKONTO_REMINDER_LEADS    lead times in whole days before a tier's last
 *                            day: distinct, descending, 0..90, at most 8
 *                            (default 3,1)
 *   SKONTO_REMINDER_HOUR     local send time HH:MM (default 09:00)
 *   SKONTO_DEFAULT_TZ        zone of a customer without one (default UTC);
 *                            an unknown zone refuses to start
 *   SKONTO_STATEMENT_WEEKDAY Monday .. Sunday, weekly statements (Monday)
 *   SKONTO_MAIL_DOMAIN       the domain of Message-IDs (skonto.invalid)
 *
 * Identity. A reminder is (order, tier, the tier's last day, lead time);
 * a statement is (customer, scheduled instant). Each has one key string,
 *   reminder  "r|<tier>|<YYYY-MM-DD>|<lead>|<order id>"
 *   statement "s|<YYYY-MM-DDTHH:MM:SSZ>|<customer id>"
 * (the id last, so ids may hold '|' and the key stays unambiguous), and a
 * Message-ID derived from the key alone: "<r.HEX@DOMAIN>" / "<s.HEX@DOMAIN>",
 * HEX the first 32 hex digits of SHA-256(key). The same reminder always gets
 * the same Message-ID (a resend is recognisable); a moved deadline is a new
 * last day, so a new key and a new Message-ID.
 *
 * When. For a tier whose last day is D in the customer's zone: its window
 * closes at the end of D (the first instant of D + 1, local); the reminder of
 * lead L is due at the send time on D − L, local (sk_tz.h says what a gap
 * or overlap does). Stored at `now`:
 *   - a window that has closed (close <= now) gets no reminder;
 *   - reminders still ahead (due > now) keep their due instant;
 *   - of those whose time has passed (due <= now), only the one due last
 *     (the smallest lead) is kept, due at once (due = now): several passed
 *     reminders of one window make one mail, never several.
 * The plan is pure: the same tiers, zone, settings and now give the same
 * reminders (byte for byte), in tier order and, within a tier, in due order.
 * It does not know what was sent: a schedule stored again (a new version
 * with the same last days) after its 3-day reminder went out gets that
 * reminder's key again, due at once, and the caller must drop keys already
 * sent or queued (the identity is the idempotency key). */
#ifndef SK_REMIND_H
#define SK_REMIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"
#include "sk_tz.h"

#define SK_REMIND_MAX_LEADS 8
#define SK_REMIND_MAX_LEAD_DAYS 90
/* The most reminders one invoice can plan: 8 tiers (terms.h) x 8 leads. */
#define SK_REMIND_PLAN_MAX (8 * SK_REMIND_MAX_LEADS)
#define SK_REMIND_DOMAIN_MAX 200
#define SK_REMIND_DEFAULT_DOMAIN "skonto.invalid"
/* An id is at most 256 bytes (the event contract): a key holds one. */
#define SK_REMIND_KEY_MAX 320
#define SK_REMIND_MSGID_MAX (SK_REMIND_DOMAIN_MAX + 40)

typedef struct {
    int leads[SK_REMIND_MAX_LEADS]; /* days, descending */
    size_t nleads;
    int send_minute;           /* minutes after local midnight */
    const sk_tz_t *default_tz; /* cached zone (sk_tz.h), never NULL */
    int statement_weekday;     /* 1 = Monday .. 7 = Sunday */
    char mail_domain[SK_REMIND_DOMAIN_MAX + 1];
} sk_remind_settings_t;

/* From the environment. 0, or -1 and err (code "bad_config"). */
int sk_remind_settings_load(sk_remind_settings_t *s, sk_err_t *err);
/* The same from given values (NULL or "" = the default), for tests. */
int sk_remind_settings_parse(sk_remind_settings_t *s, const char *leads, const char *hour,
                             const char *default_tz, const char *weekday, const char *domain,
                             sk_err_t *err);

/* The zone of a customer: its id, or the default when the id is empty;
 * NULL and err ("bad_timezone") for an unknown id. */
const sk_tz_t *sk_remind_zone(const sk_remind_settings_t *s, const char *tz_id, sk_err_t *err);

/* Keys and Message-IDs, written into buf (n bytes: SK_REMIND_KEY_MAX,
 * SK_REMIND_MSGID_MAX); -1 if buf is too small (an id over the contract's
 * bound). */
int sk_remind_key(char *buf, size_t n, const char *order_id, int tier, sk_day_t last_day,
                  int lead_days);
int sk_statement_key(char *buf, size_t n, const char *customer_id, int64_t scheduled_ms);
int sk_remind_message_id(char *buf, size_t n, const char *key, const char *domain);

/* A key read back (from the due queue, a sent record): which kind, and its
 * parts. The id points into the key. -1 for a string that is not a key as
 * written above (an id of 0 bytes, a bad date or number). */
typedef enum { SK_REMIND_KIND_REMINDER = 'r', SK_REMIND_KIND_STATEMENT = 's' } sk_remind_kind_t;
typedef struct {
    sk_remind_kind_t kind;
    const char *id; /* order id (reminder) or customer id (statement), into the key */
    int tier;            /* reminder */
    sk_day_t last_day;   /* reminder */
    int lead_days;       /* reminder */
    int64_t scheduled_ms; /* statement */
} sk_remind_key_parts_t;
int sk_remind_key_parse(const char *key, sk_remind_key_parts_t *out);

/* Whether the sent record of key, sent at sent_ms, may be forgotten at now_ms
 * under a retention of retention_ms (SKONTO_SENT_RETENTION_DAYS): it is at
 * least that old, and nothing can queue the key again. A statement key is
 * never planned again once its instant has passed; a reminder key is not
 * planned once its window has closed (sk_remind_plan), which, whatever the
 * customer's zone (UTC-12..UTC+14), is by 00:00 UTC of the tier's last day
 * + 2. False for a string that is not a key. */
bool sk_remind_forgettable(const char *key, int64_t sent_ms, int64_t now_ms,
                           int64_t retention_ms);

/* A customer's statement cadence as the customer profile stores it
 * ("weekly", "daily", "none"; absent or "" = weekly, the default of a new
 * customer); -1 for another value. */
int sk_remind_cadence_parse(const char *v, sk_cadence_t *out);

typedef struct {
    char key[SK_REMIND_KEY_MAX]; /* its Message-ID: sk_remind_message_id(key), when mailed */
    int tier;          /* index into the schedule's tiers */
    sk_day_t last_day; /* the tier's last day, local */
    int lead_days;
    int64_t due_ms;       /* when to send (now, for one whose time had passed) */
    int64_t scheduled_ms; /* its own send time, even if it had passed */
    int64_t closes_ms;    /* end of the last day, local: after it, never send */
} sk_reminder_t;

/* The reminders-to-be of one invoice whose tiers end on last_days[0..ntiers)
 * (the discount tiers, not net), in zone tz at `now_ms`. Writes at most cap
 * into out and the count into *n; -1 (err "bad_field") for an order id
 * that makes a key too long or cap too small (ntiers * nleads is enough). */
int sk_remind_plan(const sk_remind_settings_t *s, const char *order_id, const sk_day_t *last_days,
                   size_t ntiers, const sk_tz_t *tz, int64_t now_ms, sk_reminder_t *out, size_t cap,
                   size_t *n, sk_err_t *err);

/* Puts a plan in due order, keeping the plan's order (tier order) among
 * equal instants: the due queue holds each invoice's first reminder in this
 * order that is neither sent nor being sent, and whoever settles it queues
 * the next (docs/REMINDERS.md). */
void sk_remind_sort_due(sk_reminder_t *plan, size_t n);

#endif
