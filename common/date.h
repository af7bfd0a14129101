/* date — civil (proleptic Gregorian) dates as day numbers.
 *
 * A sk_day_t counts days since 1970-01-01 (day 0), so "days between" is a
 * subtraction and "add days" an addition. Only years 1900..9999 are valid
 * input; parsing is strict YYYY-MM-DD. Month arithmetic clamps to month end
 * (2024-01-31 + 1 month = 2024-02-29). */
#ifndef SK_DATE_H
#define SK_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"

typedef int32_t sk_day_t;

#define SK_DATE_MIN_YEAR 1900
#define SK_DATE_MAX_YEAR 9999

bool sk_is_leap_year(int y);
int sk_days_in_month(int y, int m);             /* m 1..12 */
sk_day_t sk_date_from_ymd(int y, int m, int d); /* caller guarantees a valid date */
void sk_date_to_ymd(sk_day_t day, int *y, int *m, int *d);
bool sk_date_valid_ymd(int y, int m, int d);

/* Strict "YYYY-MM-DD" (code "bad_date": `date "2026-02-30": February 2026 has 28 days`,
 * `date "2026-13-01": month must be 01..12`, `date "26-1-1": want YYYY-MM-DD`). */
int sk_date_parse(const char *s, sk_day_t *out, sk_err_t *err);
/* Writes "YYYY-MM-DD" into buf (>= 11 bytes); returns buf. */
char *sk_date_format(sk_day_t day, char *buf, size_t n);

/* ---- instants: int64 milliseconds since the Unix epoch, UTC */

#define SK_TIME_MAX 32 /* bytes for any style below, with its NUL */
#define SK_MS_PER_DAY ((int64_t)86400000)

/* How an instant is written (always UTC). */
typedef enum {
    SK_TIME_ISO_MS,    /* 2026-12-01T08:17:30.123Z (log lines) */
    SK_TIME_ISO,       /* 2026-12-01T08:17:30Z */
    SK_TIME_TEXT,      /* 2026-12-01 08:17:30 (tables people read) */
    SK_TIME_ISO_EXACT, /* ISO, with ".123" only when not whole seconds (what sk_time_parse reads) */
} sk_time_style_t;
/* The UTC day of an instant (floor: an instant before 1970 is on its own day). */
sk_day_t sk_time_day(int64_t ms);
/* "YYYY-MM-DDTHH:MM:SS[.mmm]Z" or "YYYY-MM-DD" (midnight UTC) -> ms. 0, or -1
 * and err (code bad_instant) saying the form wanted. */
int sk_time_parse(const char *s, int64_t *ms, sk_err_t *err);
/* Writes the instant `ms` (milliseconds since the Unix epoch; before it
 * too) into buf (>= 25 bytes for every style); returns buf. The one place
 * an instant or a date becomes text: no strftime elsewhere. */
char *sk_time_format(int64_t ms, sk_time_style_t style, char *buf, size_t n);

int sk_date_weekday(sk_day_t day);                     /* 1 = Monday .. 7 = Sunday (ISO) */
sk_day_t sk_date_end_of_month(sk_day_t day);           /* last day of day's month */
sk_day_t sk_date_add_months(sk_day_t day, int months); /* same day-of-month, clamped to month end */
/* Day `dom` (1..31) of the month `months` after day's month, clamped to that month's end. */
sk_day_t sk_date_day_of_month(sk_day_t day, int dom, int months);

/* A holiday calendar: Saturday and Sunday are never business days, plus listed dates. */
typedef struct sk_calendar sk_calendar_t;

sk_calendar_t *sk_calendar_new(void);
void sk_calendar_destroy(sk_calendar_t **self_p);
int sk_calendar_add(sk_calendar_t *self, sk_day_t holiday);
/* Parses holiday-file text: one YYYY-MM-DD a line; blank lines and lines starting
 * with '#' are ignored; a bad line fails with "line N: ..." (code "bad_holidays"). */
int sk_calendar_load_text(sk_calendar_t *self, const char *text, size_t len, sk_err_t *err);
bool sk_calendar_is_business_day(const sk_calendar_t *self,
                                 sk_day_t day); /* self may be NULL: weekends only */
sk_day_t sk_calendar_next_business_day(const sk_calendar_t *self,
                                       sk_day_t day); /* day itself if it is one */

#endif
