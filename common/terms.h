/* terms — payment-terms notation, parsed and validated.
 *
 *   TERMS := TIER { "," TIER } "," NET
 *   TIER  := PERCENT "/" WHEN          2/10 = 2 % if paid within 10 days
 *   NET   := "n/" WHEN                 n/30 = whole amount due on day 30
 *   WHEN  := DAYS                      days after the baseline (0 = the baseline day: cash)
 *          | DAYS "eom"                days after the last day of the baseline's month
 *          | "d" DAY [ "+" MONTHS "m" ] day DAY of the baseline's month plus MONTHS (clamped)
 *   PERCENT: decimal > 0 and < 100, at most 4 fraction digits
 *
 * A sk_terms_t holds the parsed form; sk_when_resolve turns a WHEN into a date
 * for a baseline. Parsing checks what it can without a baseline (syntax, rates
 * strictly decreasing, at most SK_TERMS_MAX_TIERS tiers, bounds on numbers, and
 * for plain-day tiers that days strictly increase and stay below net); the
 * schedule checks the resolved dates. Errors use code "bad_terms" and name the
 * tier: `terms "2/10,3/20,n/30": tier 2 (3/20): rate 3 % must be below the previous
 * tier's 2 %`. Spaces and tabs around commas are ignored; letters (n, eom, d, m) may be
 * upper case; sk_terms_format always writes the canonical lower-case form. */
#ifndef SK_TERMS_H
#define SK_TERMS_H

#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"

#define SK_TERMS_MAX_TIERS 8
#define SK_TERMS_MAX_LEN 256   /* longest accepted terms string */
#define SK_TERMS_MAX_DAYS 3660 /* DAYS and DAYS eom at most ten years */
#define SK_TERMS_MAX_MONTHS 120

typedef enum {
    SK_WHEN_DAYS = 0,    /* baseline + days */
    SK_WHEN_EOM = 1,     /* end of baseline's month + days */
    SK_WHEN_DOM = 2,     /* day `dom` of baseline's month + months */
} sk_when_kind_t;

typedef struct {
    sk_when_kind_t kind;
    int days;   /* SK_WHEN_DAYS, SK_WHEN_EOM */
    int dom;    /* SK_WHEN_DOM: 1..31 */
    int months; /* SK_WHEN_DOM: 0..SK_TERMS_MAX_MONTHS */
} sk_when_t;

typedef struct {
    int32_t rate_ppm; /* 2 % = 20000 */
    sk_when_t when;
} sk_tier_t;

typedef struct {
    int ntiers; /* 0..SK_TERMS_MAX_TIERS ("n/30" alone is valid: no discount) */
    sk_tier_t tiers[SK_TERMS_MAX_TIERS];
    sk_when_t net;
} sk_terms_t;

int sk_terms_parse(const char *s, sk_terms_t *out, sk_err_t *err);
/* Canonical text of terms ("2/0,1/10,0.5/30,n/60"); returns buf (>= SK_TERMS_MAX_LEN). */
char *sk_terms_format(const sk_terms_t *t, char *buf, size_t n);
sk_day_t sk_when_resolve(const sk_when_t *w, sk_day_t baseline);

#endif
