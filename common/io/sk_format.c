/* sk_format — see sk_format.h. */
#include "sk_format.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/udat.h>
#include <unicode/unumberformatter.h>
#include <unicode/ustring.h>

#include "money.h"

typedef enum { S_MONEY, S_PERCENT, S_DATE } s_kind_t;

typedef struct {
    s_kind_t kind;
    char locale[SK_FORMAT_LOCALE_MAX + 1];
    char currency[4];
    UNumberFormatter *num; /* S_MONEY, S_PERCENT */
    UDateFormat *date;     /* S_DATE */
} s_entry_t;

struct sk_format {
    s_entry_t e[SK_FORMAT_CACHE];
    size_t n;
    size_t next_evict; /* round robin once full */
    size_t created;
    UFormattedNumber *result; /* reused by every number format */
};

sk_format_t *sk_format_new(void)
{
    sk_format_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    UErrorCode ue = U_ZERO_ERROR;
    f->result = unumf_openResult(&ue);
    if (U_FAILURE(ue)) {
        free(f);
        return NULL;
    }
    return f;
}

static void s_entry_close(s_entry_t *e)
{
    if (e->num)
        unumf_close(e->num);
    if (e->date)
        udat_close(e->date);
    memset(e, 0, sizeof *e);
}

void sk_format_destroy(sk_format_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_format_t *f = *self_p;
    for (size_t i = 0; i < f->n; i++)
        s_entry_close(&f->e[i]);
    unumf_closeResult(f->result);
    free(f);
    *self_p = NULL;
}

size_t sk_format_created(const sk_format_t *self)
{
    return self->created;
}

static int s_check_locale(const char *locale, sk_err_t *err)
{
    size_t len = locale ? strlen(locale) : 0;
    bool ok = len > 0 && len <= SK_FORMAT_LOCALE_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char c = locale[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_';
    }
    if (!ok) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, "bad_locale", "locale \"%s\": want a tag such as zh-CN or en-US",
                          locale ? sk_err_quote(locale, len, q, sizeof q) : "");
    }
    return 0;
}

/* The cached entry for (kind, locale, currency), created on first use. */
static s_entry_t *s_get(sk_format_t *f, s_kind_t kind, const char *locale, const char *currency,
                        sk_err_t *err)
{
    if (s_check_locale(locale, err) != 0)
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        s_entry_t *e = &f->e[i];
        if (e->kind == kind && strcmp(e->locale, locale) == 0 && strcmp(e->currency, currency) == 0)
            return e;
    }
    s_entry_t *e;
    if (f->n < SK_FORMAT_CACHE) {
        e = &f->e[f->n++];
    } else {
        e = &f->e[f->next_evict];
        f->next_evict = (f->next_evict + 1) % SK_FORMAT_CACHE;
        s_entry_close(e);
    }
    e->kind = kind;
    snprintf(e->locale, sizeof e->locale, "%s", locale);
    snprintf(e->currency, sizeof e->currency, "%s", currency);
    UErrorCode ue = U_ZERO_ERROR;
    if (kind == S_DATE) {
        /* the civil date is given as midnight UTC: format it in UTC */
        e->date = udat_open(UDAT_NONE, UDAT_FULL, locale, u"UTC", -1, NULL, 0, &ue);
    } else {
        UChar skeleton[32];
        char s[32];
        if (kind == S_MONEY)
            snprintf(s, sizeof s, "currency/%s", currency);
        else
            snprintf(s, sizeof s, "percent");
        u_uastrcpy(skeleton, s);
        e->num = unumf_openForSkeletonAndLocale(skeleton, -1, locale, &ue);
    }
    if (U_FAILURE(ue)) {
        sk_err_set(err, "icu", "locale %s: ICU formatter: %s", locale, u_errorName(ue));
        s_entry_close(e);
        /* keep the array dense: move the last entry into the hole */
        size_t at = (size_t)(e - f->e);
        if (at != f->n - 1)
            f->e[at] = f->e[f->n - 1];
        memset(&f->e[f->n - 1], 0, sizeof f->e[0]);
        f->n--;
        return NULL;
    }
    f->created++;
    return e;
}

/* ICU's UTF-16 result into out as UTF-8. */
static int s_utf8(const UChar *u, int32_t ulen, char *out, size_t n, sk_err_t *err)
{
    UErrorCode ue = U_ZERO_ERROR;
    int32_t len = 0;
    u_strToUTF8(out, (int32_t)n, &len, u, ulen, &ue);
    if (U_FAILURE(ue) || len < 0 || (size_t)len >= n)
        return sk_err_set(err, "too_long", "formatted text does not fit %zu bytes", n);
    return 0;
}

static int s_number(sk_format_t *f, s_entry_t *e, const char *decimal, char *out, size_t n,
                    sk_err_t *err)
{
    UErrorCode ue = U_ZERO_ERROR;
    unumf_formatDecimal(e->num, decimal, -1, f->result, &ue);
    UChar buf[128];
    int32_t len = U_SUCCESS(ue) ? unumf_resultToString(f->result, buf, 128, &ue) : 0;
    if (U_FAILURE(ue))
        return sk_err_set(err, "icu", "formatting %s in %s: %s", decimal, e->locale,
                          u_errorName(ue));
    return s_utf8(buf, len, out, n, err);
}

int sk_format_money(sk_format_t *self, const char *locale, const char *currency, int64_t minor,
                    char *out, size_t n, sk_err_t *err)
{
    const sk_currency_t *cur = currency ? sk_currency_find(currency) : NULL;
    if (!cur) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, "bad_currency", "currency \"%s\": not one Skonto knows",
                          currency ? sk_err_quote(currency, strlen(currency), q, sizeof q) : "");
    }
    if (minor > SK_MONEY_MAX || minor < -SK_MONEY_MAX)
        return sk_err_set(err, "bad_amount", "amount %lld is out of range", (long long)minor);
    s_entry_t *e = s_get(self, S_MONEY, locale, cur->code, err);
    if (!e)
        return -1;
    char decimal[32];
    sk_money_format(minor, cur, decimal, sizeof decimal);
    return s_number(self, e, decimal, out, n, err);
}

int sk_format_percent(sk_format_t *self, const char *locale, int32_t ppm, char *out, size_t n,
                      sk_err_t *err)
{
    if (ppm <= 0 || ppm >= SK_PPM)
        return sk_err_set(err, "bad_rate", "rate %d ppm is not between 0 and 100 %%", (int)ppm);
    s_entry_t *e = s_get(self, S_PERCENT, locale, "", err);
    if (!e)
        return -1;
    char decimal[16];
    sk_percent_format(ppm, decimal, sizeof decimal);
    return s_number(self, e, decimal, out, n, err);
}

int sk_format_date(sk_format_t *self, const char *locale, sk_day_t day, char *out, size_t n,
                   sk_err_t *err)
{
    s_entry_t *e = s_get(self, S_DATE, locale, "", err);
    if (!e)
        return -1;
    /* UDate is ms since the epoch as a double: exact for any day number */
    UDate at = (UDate)day * 86400000.0;
    UChar buf[128];
    UErrorCode ue = U_ZERO_ERROR;
    int32_t len = udat_format(e->date, at, buf, 128, NULL, &ue);
    if (U_FAILURE(ue))
        return sk_err_set(err, "icu", "formatting a date in %s: %s", locale, u_errorName(ue));
    return s_utf8(buf, len, out, n, err);
}
