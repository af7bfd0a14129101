/* money — amounts as int64 minor units of an ISO 4217 currency.
 *
 * Invariants: no floating point touches an amount; every parse rejects what it
 * cannot represent exactly (too many fraction digits, overflow, junk); every
 * rounding is explicit. Rates are parts per million of an amount (ppm):
 * 2 % = 20000 ppm, 0.5 % = 5000 ppm; a percent with at most 4 fraction digits
 * is exactly representable. */
#ifndef SK_MONEY_H
#define SK_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"

#define SK_PPM 1000000
/* Largest amount accepted anywhere: 10^15 minor units (10 trillion CNY). Keeps
 * every product with a ppm rate far inside int64 and inside a double's exact range. */
#define SK_MONEY_MAX INT64_C(1000000000000000)

typedef struct {
    char code[4];  /* "CNY" */
    int digits;    /* minor-unit exponent: CNY 2, JPY 0, KRW 0 */
} sk_currency_t;

typedef enum { SK_ROUND_HALF_UP = 0, SK_ROUND_HALF_EVEN = 1 } sk_rounding_t;

/* Looks up an ISO 4217 code (upper case, exactly 3 letters); NULL if unknown.
 * Known: CNY USD EUR JPY GBP HKD KRW CHF and a few more. */
const sk_currency_t *sk_currency_find(const char *code);

/* Parses a decimal string such as "1130.00", "1130", "0.5" into minor units of cur.
 * Rejects (code "bad_amount"): empty, sign (amounts are never negative here),
 * more fraction digits than the currency has, anything but digits and one '.',
 * values above SK_MONEY_MAX. */
int sk_money_parse(const char *s, const sk_currency_t *cur, int64_t *out, sk_err_t *err);

/* Formats minor units as a decimal string at the currency's precision:
 * 113000 CNY -> "1130.00", 500 JPY -> "500", -5 CNY -> "-0.05".
 * buf should hold at least 32 bytes; returns buf. */
char *sk_money_format(int64_t minor, const sk_currency_t *cur, char *buf, size_t n);

/* round(num / den) with the given rule; den > 0; num may be negative. */
int64_t sk_div_round(__int128 num, __int128 den, sk_rounding_t rule);

/* round(amount * ppm / 10^6): the discount of a rate on an amount. */
int64_t sk_money_apply_rate(int64_t amount, int32_t ppm, sk_rounding_t rule);

/* Parses a percent such as "2", "0.5", "12.3456" into ppm. Rejects (code
 * "bad_rate") more than 4 fraction digits, values <= 0 or >= 100, junk. */
int sk_percent_parse(const char *s, int32_t *ppm, sk_err_t *err);

/* Formats ppm as the shortest percent: 20000 -> "2", 5000 -> "0.5",
 * 123456 -> "12.3456". buf >= 16 bytes; returns buf. */
char *sk_percent_format(int32_t ppm, char *buf, size_t n);

/* Parses "half-up" or "half-even" (else code "bad_rounding"). */
int sk_rounding_parse(const char *s, sk_rounding_t *out, sk_err_t *err);

#endif
