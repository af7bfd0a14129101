/* money — amounts as int64 minor units, rates as ppm, explicit rounding.
 *
 * Invariants: every parse either yields the exact value of its input or fails
 * with a message that quotes the input; no double is ever used; products of an
 * amount and a rate are formed in __int128 so they cannot overflow. */
#include "money.h"

#include <stdio.h>
#include <string.h>

#include "sk_fmt.h"

/* ISO 4217 minor-unit exponents. Kept sorted by nothing in particular: the
 * table is short and a linear scan is clearer than a search. */
static const sk_currency_t s_currencies[] = {
    {"CNY", 2}, {"USD", 2}, {"EUR", 2}, {"JPY", 0}, {"GBP", 2}, {"HKD", 2}, {"KRW", 0},
    {"CHF", 2}, {"SGD", 2}, {"AUD", 2}, {"CAD", 2}, {"NZD", 2}, {"SEK", 2}, {"NOK", 2},
    {"DKK", 2}, {"TWD", 2}, {"INR", 2}, {"BHD", 3}, {"KWD", 3}, {"OMR", 3}, {"VND", 0},
};

const sk_currency_t *sk_currency_find(const char *code)
{
    if (!code || strlen(code) != 3)
        return NULL;
    for (size_t i = 0; i < sizeof s_currencies / sizeof s_currencies[0]; i++)
        if (memcmp(s_currencies[i].code, code, 3) == 0)
            return &s_currencies[i];
    return NULL;
}

int sk_money_parse(const char *s, const sk_currency_t *cur, int64_t *out, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    if (!cur)
        return sk_err_set(err, "bad_currency", "no currency given for the amount");
    if (!s || !*s)
        return sk_err_set(err, "bad_amount", "amount is empty");
    if (s[0] == '-')
        return sk_err_set(err, "bad_amount", "amount \"%s\": must not be negative",
                          sk_err_quote_str(s, q));

    int64_t units = 0;
    size_t i = 0;
    int int_digits = 0;
    /* The integer part: stop accumulating once past SK_MONEY_MAX so nothing
     * overflows, but keep scanning to tell junk from a too-large number. */
    bool too_big = false;
    for (; s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
        if (!too_big) {
            units = units * 10 + (s[i] - '0');
            if (units > SK_MONEY_MAX)
                too_big = true;
        }
    }
    int frac_digits = 0;
    int64_t frac = 0;
    if (s[i] == '.') {
        i++;
        for (; s[i] >= '0' && s[i] <= '9'; i++, frac_digits++)
            if (frac_digits < 18)
                frac = frac * 10 + (s[i] - '0');
        if (frac_digits == 0)
            return sk_err_set(err, "bad_amount", "amount \"%s\": not a decimal number",
                              sk_err_quote_str(s, q));
    }
    if (s[i] != '\0' || int_digits == 0)
        return sk_err_set(err, "bad_amount", "amount \"%s\": not a decimal number",
                          sk_err_quote_str(s, q));
    if (frac_digits > cur->digits) {
        if (cur->digits == 0)
            return sk_err_set(err, "bad_amount", "amount \"%s\": %s has no decimals",
                              sk_err_quote_str(s, q), cur->code);
        return sk_err_set(err, "bad_amount", "amount \"%s\": %s has %d decimals",
                          sk_err_quote_str(s, q), cur->code, cur->digits);
    }
    int64_t scale = 1;
    for (int k = 0; k < cur->digits; k++)
        scale *= 10;
    for (int k = frac_digits; k < cur->digits; k++)
        frac *= 10;
    __int128 v = (__int128)units * scale + frac;
    if (too_big || v > SK_MONEY_MAX) {
        char max[40];
        return sk_err_set(err, "bad_amount", "amount \"%s\": above the largest amount %s",
                          sk_err_quote_str(s, q),
                          sk_money_format(SK_MONEY_MAX, cur, max, sizeof max));
    }
    *out = (int64_t)v;
    return 0;
}

char *sk_money_format(int64_t minor, const sk_currency_t *cur, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    int digits = cur ? cur->digits : 0;
    /* Magnitude as unsigned so INT64_MIN formats too. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = 1;
    for (int k = 0; k < digits; k++)
        scale *= 10;
    int w;
    if (digits == 0)
        w = snprintf(buf, n, "%s%llu", minor < 0 ? "-" : "", (unsigned long long)mag);
    else
        w = snprintf(buf, n, "%s%llu.%0*llu", minor < 0 ? "-" : "",
                     (unsigned long long)(mag / scale), digits, (unsigned long long)(mag % scale));
    /* A caller's buffer too small for an amount is a programming error; an
     * empty string is safer to print than a silently cut number. */
    if ((w < 0 || (size_t)w >= n) && n > 0)
        buf[0] = '\0';
    return buf;
}

int64_t sk_div_round(__int128 num, __int128 den, sk_rounding_t rule)
{
    __int128 q = num / den; /* truncates toward zero */
    __int128 r = num % den; /* same sign as num */
    if (r == 0)
        return (int64_t)q;
    __int128 ar = r < 0 ? -r : r;
    __int128 rest = den - ar; /* compare ar with den/2 without overflow: ar vs rest */
    int away;
    if (ar > rest)
        away = 1;
    else if (ar < rest)
        away = 0;
    else /* an exact tie */
        away = rule == SK_ROUND_HALF_EVEN ? (int)(q & 1) != 0 : 1;
    if (away)
        q += num < 0 ? -1 : 1;
    return (int64_t)q;
}

int64_t sk_money_apply_rate(int64_t amount, int32_t ppm, sk_rounding_t rule)
{
    return sk_div_round((__int128)amount * ppm, SK_PPM, rule);
}

int sk_percent_parse(const char *s, int32_t *ppm, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    if (!s || !*s)
        return sk_err_set(err, "bad_rate", "rate is empty");
    size_t i = 0;
    int64_t whole = 0;
    int int_digits = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++, int_digits++)
        if (whole < 1000)
            whole = whole * 10 + (s[i] - '0');
    int64_t frac = 0;
    int frac_digits = 0;
    if (s[i] == '.') {
        i++;
        for (; s[i] >= '0' && s[i] <= '9'; i++, frac_digits++)
            if (frac_digits < 4)
                frac = frac * 10 + (s[i] - '0');
        if (frac_digits == 0)
            return sk_err_set(err, "bad_rate", "rate \"%s\": not a decimal number",
                              sk_err_quote_str(s, q));
    }
    if (s[i] != '\0' || int_digits == 0)
        return sk_err_set(err, "bad_rate", "rate \"%s\": not a decimal number",
                          sk_err_quote_str(s, q));
    if (frac_digits > 4)
        return sk_err_set(err, "bad_rate", "rate \"%s\": at most 4 decimals",
                          sk_err_quote_str(s, q));
    for (int k = frac_digits; k < 4; k++)
        frac *= 10;
    int64_t v = whole * 10000 + frac; /* in 1/10000 of a percent == ppm */
    if (v <= 0 || v >= 100 * 10000)
        return sk_err_set(err, "bad_rate", "rate \"%s\" must be above 0 and below 100",
                          sk_err_quote_str(s, q));
    *ppm = (int32_t)v;
    return 0;
}

char *sk_percent_format(int32_t ppm, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    int64_t v = ppm < 0 ? -(int64_t)ppm : ppm;
    int64_t whole = v / 10000, frac = v % 10000;
    int width = 4;
    while (frac && frac % 10 == 0) {
        frac /= 10;
        width--;
    }
    /* "%s%lld" or "%s%lld.%0*lld" without printf (terms are written per
     * order): "-214748.3648" at most */
    char out[16];
    size_t k = 0;
    if (ppm < 0)
        out[k++] = '-';
    k += sk_fmt_pad(out + k, (uint64_t)whole, 0);
    if (frac) {
        out[k++] = '.';
        sk_fmt_pad(out + k, (uint64_t)frac, width);
    }
    sk_text_t t = sk_text(buf, n);
    sk_text_str(&t, out);
    return buf;
}

int sk_rounding_parse(const char *s, sk_rounding_t *out, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    if (s && strcmp(s, "half-up") == 0) {
        *out = SK_ROUND_HALF_UP;
        return 0;
    }
    if (s && strcmp(s, "half-even") == 0) {
        *out = SK_ROUND_HALF_EVEN;
        return 0;
    }
    return sk_err_set(err, "bad_rounding", "rounding \"%s\": want half-up or half-even",
                      s ? sk_err_quote_str(s, q) : "");
}
