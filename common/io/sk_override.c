/* sk_override — see sk_override.h. */
#include "sk_override.h"

#include <string.h>

#include "money.h"
#include "sk_config.h"

#define S_CODE "bad_config"
#define S_ABOVE "SKONTO_OVERRIDE_FINANCE_ABOVE"
#define S_TTL "SKONTO_OVERRIDE_TTL"
#define S_ABOVE_MAX_LEN 1024
#define S_WANT                                                                                     \
    "want CUR:AMOUNT[,CUR:AMOUNT...] such as CNY:5000.00,USD:700.00 (known currencies, each "      \
    "once, amounts at the currency's precision, at most 16)"

static int s_bad(const char *value, const char *why, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    return sk_err_set(err, S_CODE, "%s \"%s\": %s%s%s", S_ABOVE,
                      sk_err_quote(value, strlen(value), q, sizeof q), why, why[0] ? "; " : "",
                      S_WANT);
}

/* "CNY:5000.00,USD:700.00" -> thresholds; value is non-empty. */
static int s_parse_above(const char *value, sk_override_thresholds_t *th, sk_err_t *err)
{
    memset(th, 0, sizeof *th);
    const char *p = value;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (th->n == SK_OVERRIDE_MAX_THRESHOLDS)
            return s_bad(value, "more than 16 currencies", err);
        if (len < 5 || p[3] != ':')
            return s_bad(value, "", err);
        char code[4] = {p[0], p[1], p[2], '\0'};
        const sk_currency_t *cur = sk_currency_find(code);
        if (!cur)
            return s_bad(value, "unknown currency", err);
        int64_t dup;
        if (sk_override_threshold(th, code, &dup) == 0)
            return s_bad(value, "a currency named twice", err);
        char amount[40];
        if (len - 4 >= sizeof amount)
            return s_bad(value, "amount too long", err);
        memcpy(amount, p + 4, len - 4);
        amount[len - 4] = '\0';
        int64_t minor;
        if (sk_money_parse(amount, cur, &minor, NULL) != 0)
            return s_bad(value, "bad amount", err);
        th->t[th->n].currency = cur;
        th->t[th->n].above = minor;
        th->n++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

int sk_override_settings_parse(sk_override_settings_t *s, const char *finance_above,
                               const char *ttl, sk_err_t *err)
{
    sk_override_settings_t t;
    memset(&t, 0, sizeof t);
    const char *v;
    if (sk_config_parse_string(S_ABOVE, finance_above, NULL, S_ABOVE_MAX_LEN, &v, err))
        return -1;
    if (v && s_parse_above(v, &t.finance_above, err))
        return -1;
    /* bare_unit 0: "72" is refused, hours and days are both plausible. */
    if (sk_config_parse_duration_ms(S_TTL, ttl, SK_OVERRIDE_TTL_DEFAULT_MS, (int64_t)60 * 1000,
                                    (int64_t)365 * 86400 * 1000, 0, &t.ttl_ms, err))
        return -1;
    *s = t;
    return 0;
}

int sk_override_settings_load(sk_override_settings_t *s, sk_err_t *err)
{
    const char *above, *ttl;
    if (sk_config_string(S_ABOVE, NULL, 4096, &above, err) ||
        sk_config_string(S_TTL, NULL, 4096, &ttl, err))
        return -1;
    return sk_override_settings_parse(s, above, ttl, err);
}
