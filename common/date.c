/* date — civil dates as day numbers since 1970-01-01, and a holiday calendar.
 *
 * The conversions are Howard Hinnant's days_from_civil / civil_from_days
 * (exact for the whole proleptic Gregorian calendar, no tables). A calendar is
 * a sorted array of unique holiday day numbers searched by bisection; weekends
 * are never business days. Invariants: parsing accepts only what it can turn
 * back into the same text; month arithmetic clamps to the month's last day. */
#include "date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_fmt.h"

#include "sk_grow.h"

/* At most this many holidays in one calendar: ~270 years of daily holidays,
 * far more than any file a person writes, and a bound on what a file can allocate. */
#define SK_CALENDAR_MAX 100000

static const char *const s_month_names[12] = {"January",   "February", "March",    "April",
                                              "May",       "June",     "July",     "August",
                                              "September", "October",  "November", "December"};

bool sk_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int sk_days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && sk_is_leap_year(y) ? 29 : dim[m - 1];
}

bool sk_date_valid_ymd(int y, int m, int d)
{
    return y >= SK_DATE_MIN_YEAR && y <= SK_DATE_MAX_YEAR && m >= 1 && m <= 12 && d >= 1 &&
           d <= sk_days_in_month(y, m);
}

sk_day_t sk_date_from_ymd(int y, int m, int d)
{
    /* Years start in March so the leap day is the last day of the "year". */
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;                                   /* [0, 399] */
    const int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void sk_date_to_ymd(sk_day_t day, int *y, int *m, int *d)
{
    const int z = day + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const int doe = z - era * 146097;                                      /* [0, 146096] */
    const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    const int mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    const int dd = doy - (153 * mp + 2) / 5 + 1;
    const int mm = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

static int s_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int sk_date_parse(const char *s, sk_day_t *out, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    if (!s || !*s)
        return sk_err_set(err, "bad_date", "date is empty (want YYYY-MM-DD)");
    int y = -1, m = -1, d = -1;
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        y = s_digits(s, 4);
        m = s_digits(s + 5, 2);
        d = s_digits(s + 8, 2);
    }
    if (y < 0 || m < 0 || d < 0)
        return sk_err_set(err, "bad_date", "date \"%s\": want YYYY-MM-DD", sk_err_quote_str(s, q));
    if (y < SK_DATE_MIN_YEAR || y > SK_DATE_MAX_YEAR)
        return sk_err_set(err, "bad_date", "date \"%s\": year must be %d..%d",
                          sk_err_quote_str(s, q), SK_DATE_MIN_YEAR, SK_DATE_MAX_YEAR);
    if (m < 1 || m > 12)
        return sk_err_set(err, "bad_date", "date \"%s\": month must be 01..12",
                          sk_err_quote_str(s, q));
    int dim = sk_days_in_month(y, m);
    if (d < 1)
        return sk_err_set(err, "bad_date", "date \"%s\": day must be 01..%02d",
                          sk_err_quote_str(s, q), dim);
    if (d > dim)
        return sk_err_set(err, "bad_date", "date \"%s\": %s %d has %d days", sk_err_quote_str(s, q),
                          s_month_names[m - 1], y, dim);
    *out = sk_date_from_ymd(y, m, d);
    return 0;
}

/* "YYYY-MM-DD" at p as printf's "%04d-%02d-%02d" writes it, any year
 * (a negative one "-005"), without printf; returns the length (at most 14
 * with the NUL: years fit 7 digits and a sign). */
static size_t s_put_ymd(char *p, int y, int m, int d)
{
    size_t k = 0;
    if (y < 0)
        p[k++] = '-';
    k += sk_fmt_pad(p + k, y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y, y < 0 ? 3 : 4);
    p[k++] = '-';
    k += sk_fmt_pad(p + k, (uint64_t)m, 2);
    p[k++] = '-';
    return k + sk_fmt_pad(p + k, (uint64_t)d, 2);
}

/* Copies text into buf (n bytes), cut as snprintf cuts; returns buf. */
static char *s_copy(const char *text, char *buf, size_t n)
{
    sk_text_t t = sk_text(buf, n);
    sk_text_str(&t, text);
    return buf;
}

char *sk_date_format(sk_day_t day, char *buf, size_t n)
{
    int y, m, d;
    char out[16];
    sk_date_to_ymd(day, &y, &m, &d);
    s_put_ymd(out, y, m, d); /* written per order by the discount worker: no printf */
    return s_copy(out, buf, n);
}

sk_day_t sk_time_day(int64_t ms)
{
    int64_t d = ms / SK_MS_PER_DAY;
    if (ms % SK_MS_PER_DAY < 0)
        d--; /* floor: an instant before 1970 belongs to the day before */
    return (sk_day_t)d;
}

int sk_time_parse(const char *s, int64_t *ms, sk_err_t *err)
{
    sk_err_t derr;
    sk_day_t day = 0;
    size_t len = s ? strlen(s) : 0;
    int hh = 0, mi = 0, ss = 0, frac = 0;
    bool ok = len >= 10;
    if (ok) {
        char date[11];
        memcpy(date, s, 10);
        date[10] = '\0';
        ok = sk_date_parse(date, &day, &derr) == 0;
    }
    if (ok && len > 10) {
        /* T HH:MM:SS [.mmm] Z */
        const char *t = s + 10;
        ok = (len == 20 || len == 24) && t[0] == 'T' && (hh = s_digits(t + 1, 2)) >= 0 &&
             t[3] == ':' && (mi = s_digits(t + 4, 2)) >= 0 && t[6] == ':' &&
             (ss = s_digits(t + 7, 2)) >= 0 && hh < 24 && mi < 60 && ss < 60;
        if (ok && len == 24)
            ok = t[9] == '.' && (frac = s_digits(t + 10, 3)) >= 0 && t[13] == 'Z';
        else if (ok)
            ok = t[9] == 'Z';
    }
    if (!ok) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, "bad_instant",
                          "\"%s\": want an instant in UTC such as 2026-11-02T09:00:00Z (or a "
                          "date, YYYY-MM-DD, for its midnight)",
                          sk_err_quote(s ? s : "", len, q, sizeof q));
    }
    *ms = (int64_t)day * SK_MS_PER_DAY + ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac;
    return 0;
}

char *sk_time_format(int64_t ms, sk_time_style_t style, char *buf, size_t n)
{
    sk_day_t day = sk_time_day(ms);
    int64_t rem = ms - (int64_t)day * SK_MS_PER_DAY;
    int y, m, d;
    sk_date_to_ymd(day, &y, &m, &d);
    /* "%04d-%02d-%02dT%02d:%02d:%02d[.%03d]Z" (" " and no Z: SK_TIME_TEXT),
     * without printf (the workers' hot paths) */
    char out[SK_TIME_MAX];
    size_t k = s_put_ymd(out, y, m, d);
    out[k++] = style == SK_TIME_TEXT ? ' ' : 'T';
    k += sk_fmt_pad(out + k, (uint64_t)(rem / 3600000), 2);
    out[k++] = ':';
    k += sk_fmt_pad(out + k, (uint64_t)(rem / 60000 % 60), 2);
    out[k++] = ':';
    k += sk_fmt_pad(out + k, (uint64_t)(rem / 1000 % 60), 2);
    if (style == SK_TIME_ISO_MS || (style == SK_TIME_ISO_EXACT && rem % 1000)) {
        out[k++] = '.';
        k += sk_fmt_pad(out + k, (uint64_t)(rem % 1000), 3);
    }
    if (style != SK_TIME_TEXT) {
        out[k++] = 'Z';
        out[k] = '\0';
    }
    return s_copy(out, buf, n);
}

int sk_date_weekday(sk_day_t day)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    int r = (int)(((int64_t)day + 3) % 7);
    if (r < 0)
        r += 7;
    return r + 1;
}

sk_day_t sk_date_end_of_month(sk_day_t day)
{
    int y, m, d;
    sk_date_to_ymd(day, &y, &m, &d);
    return sk_date_from_ymd(y, m, sk_days_in_month(y, m));
}

/* The (year, month) `months` after (y, m), months may be negative. */
static void s_shift_month(int *y, int *m, int months)
{
    int idx = *y * 12 + (*m - 1) + months;
    int ny = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
    *y = ny;
    *m = idx - ny * 12 + 1;
}

sk_day_t sk_date_add_months(sk_day_t day, int months)
{
    int y, m, d;
    sk_date_to_ymd(day, &y, &m, &d);
    s_shift_month(&y, &m, months);
    int dim = sk_days_in_month(y, m);
    return sk_date_from_ymd(y, m, d < dim ? d : dim);
}

sk_day_t sk_date_day_of_month(sk_day_t day, int dom, int months)
{
    int y, m, d;
    sk_date_to_ymd(day, &y, &m, &d);
    s_shift_month(&y, &m, months);
    int dim = sk_days_in_month(y, m);
    if (dom < 1)
        dom = 1;
    return sk_date_from_ymd(y, m, dom < dim ? dom : dim);
}

/* ---- holiday calendar */

struct sk_calendar {
    sk_day_t *days; /* sorted ascending, unique */
    size_t n, cap;
};

sk_calendar_t *sk_calendar_new(void)
{
    return calloc(1, sizeof(sk_calendar_t));
}

void sk_calendar_destroy(sk_calendar_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->days);
    free(*self_p);
    *self_p = NULL;
}

/* Index of the first element >= day. */
static size_t s_lower_bound(const sk_calendar_t *self, sk_day_t day)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->days[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sk_calendar_add(sk_calendar_t *self, sk_day_t holiday)
{
    if (!self)
        return -1;
    size_t at = s_lower_bound(self, holiday);
    if (at < self->n && self->days[at] == holiday)
        return 0;
    if (self->n >= SK_CALENDAR_MAX)
        return -1;
    sk_day_t *days = sk_grow(self->days, self->n, &self->cap, sizeof *days, 16);
    if (!days)
        return -1;
    self->days = days;
    memmove(self->days + at + 1, self->days + at, (self->n - at) * sizeof *self->days);
    self->days[at] = holiday;
    self->n++;
    return 0;
}

static bool s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int sk_calendar_load_text(sk_calendar_t *self, const char *text, size_t len, sk_err_t *err)
{
    if (!self)
        return sk_err_set(err, "bad_holidays", "no calendar");
    if (!text && len)
        return sk_err_set(err, "bad_holidays", "no holiday text");
    size_t pos = 0;
    for (int line = 1; pos < len; line++) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t a = pos, b = end;
        pos = end + 1;
        while (a < b && s_space(text[a]))
            a++;
        /* A trailing "# comment" after the date is allowed. */
        size_t c = a;
        while (c < b && text[c] != '#')
            c++;
        b = c;
        while (b > a && s_space(text[b - 1]))
            b--;
        if (a == b)
            continue; /* blank or comment-only line */
        char tok[48];
        size_t tl = b - a < sizeof tok - 1 ? b - a : sizeof tok - 1;
        memcpy(tok, text + a, tl);
        tok[tl] = '\0';
        for (size_t i = 0; i < tl; i++)
            if (tok[i] == '\0')
                tok[i] = '?'; /* an embedded NUL must not hide the rest of the line */
        sk_err_t e;
        sk_day_t day = 0;
        if (b - a != tl || sk_date_parse(tok, &day, &e) != 0) {
            if (b - a != tl)
                sk_err_set(&e, "bad_date", "want one YYYY-MM-DD");
            return sk_err_set(err, "bad_holidays", "line %d: %s", line, e.msg);
        }
        if (sk_calendar_add(self, day) != 0)
            return sk_err_set(err, "bad_holidays", "line %d: too many holidays (at most %d)", line,
                              SK_CALENDAR_MAX);
    }
    return 0;
}

bool sk_calendar_is_business_day(const sk_calendar_t *self, sk_day_t day)
{
    if (sk_date_weekday(day) >= 6)
        return false;
    if (!self || self->n == 0)
        return true;
    size_t at = s_lower_bound(self, day);
    return !(at < self->n && self->days[at] == day);
}

sk_day_t sk_calendar_next_business_day(const sk_calendar_t *self, sk_day_t day)
{
    /* Terminates: at most n holidays plus the weekends between them. */
    while (!sk_calendar_is_business_day(self, day))
        day++;
    return day;
}
