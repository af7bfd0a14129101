/* sk_format — amounts, rates and dates as a customer reads them, with ICU.
 *
 * Money goes to ICU as a decimal string built from int64 minor units
 * (sk_money_format), never as a floating-point number: 123450 CNY in zh-CN is
 * "¥1,234.50", USD in en-US "$1,234.50", EUR in de-DE "1.234,50 €" (with a
 * no-break space, U+00A0). A rate in ppm is a percent the same way (20000 ppm
 * in de-DE is "2 %"). A date is a civil date (the caller has already taken the
 * instant's date in the customer's zone: zones come from the system's tzdata
 * through GLib, never from ICU's older copy), formatted in the locale's full
 * style ("Monday, November 9, 2026", "2026年11月9日星期一"); ICU gets it as
 * midnight UTC of that day and formats it in UTC, so no zone shifts it.
 *
 * Creating an ICU formatter costs ~200 µs, so a sk_format_t keeps every
 * formatter it made (per locale and currency, per locale for rates and dates;
 * at most SK_FORMAT_CACHE, the oldest closed past that). One per thread: it
 * is not thread-safe. Locales are BCP 47 tags of letters, digits and '-'
 * ("zh-CN", "en-US", "de-DE"); ICU falls back to its root data for one it
 * does not know, so any such tag gives a readable result. */
#ifndef SK_FORMAT_H
#define SK_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"

#define SK_FORMAT_CACHE 64
#define SK_FORMAT_LOCALE_MAX 32 /* bytes of a locale tag */

typedef struct sk_format sk_format_t;

sk_format_t *sk_format_new(void);
void sk_format_destroy(sk_format_t **self_p);

/* Each writes a NUL-terminated UTF-8 string into out (n bytes; 64 is plenty)
 * and returns 0, or -1 with err: "bad_locale" (not a tag as above),
 * "bad_currency" (not an ISO code sk_currency_find knows), "bad_amount"
 * (|minor| > SK_MONEY_MAX), "icu" (ICU refused; the message has its error
 * name), "too_long" (out too small). */
int sk_format_money(sk_format_t *self, const char *locale, const char *currency, int64_t minor,
                    char *out, size_t n, sk_err_t *err);
int sk_format_percent(sk_format_t *self, const char *locale, int32_t ppm, char *out, size_t n,
                      sk_err_t *err);
int sk_format_date(sk_format_t *self, const char *locale, sk_day_t day, char *out, size_t n,
                   sk_err_t *err);

/* How many ICU formatters self has created: a test's proof of the cache. */
size_t sk_format_created(const sk_format_t *self);

#endif
