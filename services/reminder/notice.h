/* notice — what a customer gets: a reminder before a discount window closes,
 * or a statement of every open window, rendered from the templates in
 * services/reminder/templates/ into a subject, a text and an HTML body (which
 * sk_mime then makes one mail).
 *
 * The reminder worker fills the structs below from the stored invoice and
 * the customer; this module decides nothing about *when* to send, only what
 * the mail says:
 *   - the template language: zh-CN for a Chinese locale of mainland China
 *     ("zh", "zh-CN", "zh-Hans", "zh-Hans-CN", also with '_'), en for every
 *     other locale (reminder_notice_lang);
 *   - amounts and rates in the customer's own locale (de-DE EUR "1.234,50 €"
 *     even in the English mail), dates in the mail's language with the
 *     customer's region ("en-DE": "Monday, 9 November 2026"), through
 *     sk_format (ICU);
 *   - a statement lists first the invoices whose current window closes in the
 *     next 7 local days (today .. today+6), earliest first, then the rest
 *     (earliest next window first, those without one by net due day), and per
 *     currency the total saved by paying the first group in time (the sum of
 *     each one's current discount).
 *
 * The templates are compiled into the program (sk_embed, like the Lua
 * scripts): a program never starts with a template missing, and a bad one
 * fails reminder_notice_new with its file name and line. Templates: one file per
 * kind, language and format, KIND.LANG.txt / KIND.LANG.html; a text
 * template's first line is "Subject: ..." and the blank line after it ends
 * the subject (the README there lists every name a template may use).
 *
 * Invariants: money is int64 minor units of the invoice's currency, never a
 * float; days are civil dates already in the customer's zone (sk_day_t).
 * Strings in the structs belong to the caller and must stay valid during the
 * call. One reminder_notice_t per thread (its formatter cache is not shared). */
#ifndef REMINDER_NOTICE_H
#define REMINDER_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"
#include "terms.h"

#define REMINDER_NOTICE_SOON_DAYS 7 /* a statement's "closing soon": today .. today+6 */

typedef struct {
    sk_day_t last_day; /* the window's last day, a civil date in the customer's zone */
    int32_t rate_ppm;  /* 20000 = 2 % */
    int64_t discount;  /* granted if paid by last_day, minor units */
    int64_t payable;   /* to pay by last_day: amount - discount, minor units */
} reminder_window_t;

typedef struct {
    const char *order_id;
    const char *currency; /* ISO 4217, e.g. "CNY" */
    int64_t amount;       /* payable at net (after credit notes), minor units */
    sk_day_t net_due;
    int n_windows;                                  /* 0 .. SK_TERMS_MAX_TIERS */
    reminder_window_t windows[SK_TERMS_MAX_TIERS]; /* still open, earliest first */
} reminder_invoice_t;

typedef struct {
    const char *id;
    const char *name;   /* shown as written (escaped in HTML) */
    const char *email;  /* the recipient */
    const char *locale; /* BCP 47, e.g. "zh-CN", "en-US", "de-DE"; NULL/"" = en */
} reminder_customer_t;

/* A reminder: invoice.windows[0] is the window that closes; the others are
 * the ones after it. */
typedef struct {
    reminder_customer_t customer;
    reminder_invoice_t invoice;
} reminder_letter_t;

typedef struct {
    reminder_customer_t customer;
    sk_day_t today; /* the customer's local date the statement is made on */
    const reminder_invoice_t *invoices;
    size_t n_invoices; /* at most REMINDER_NOTICE_MAX_INVOICES */
} reminder_statement_t;

#define REMINDER_NOTICE_MAX_INVOICES 10000

typedef struct {
    char *subject;    /* UTF-8, one line */
    char *text;       /* text/plain body */
    char *html;       /* text/html body */
    const char *lang; /* "zh-CN" or "en": the templates used */
} reminder_mail_t;

typedef struct reminder_notice reminder_notice_t;

/* Compiles the embedded templates. NULL with err ("bad_template": file:line). */
reminder_notice_t *reminder_notice_new(sk_err_t *err);
void reminder_notice_destroy(reminder_notice_t **self_p);

/* Render into *out (free with reminder_mail_free). 0, or -1 with err: a bad
 * field ("bad_notice": no window for a reminder, windows out of order, a
 * statement with more than REMINDER_NOTICE_MAX_INVOICES), a currency or locale
 * sk_format refuses, or a template error. */
int reminder_notice_reminder(reminder_notice_t *self, const reminder_letter_t *r, reminder_mail_t *out,
                       sk_err_t *err);
int reminder_notice_statement(reminder_notice_t *self, const reminder_statement_t *s, reminder_mail_t *out,
                        sk_err_t *err);
void reminder_mail_free(reminder_mail_t *m);

/* "zh-CN" or "en": which templates a locale gets. */
const char *reminder_notice_lang(const char *locale);

/* Whether the statement names at least one open window (a customer with none
 * gets no statement). */
int reminder_statement_has_window(const reminder_statement_t *s);

#endif
