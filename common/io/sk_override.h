/* sk_override — the override settings of issue 9, read once through
 * sk_config (the one reader of SKONTO_*); the rules they feed are
 * common/override_rules.h.
 *
 *   SKONTO_OVERRIDE_FINANCE_ABOVE  CUR:AMOUNT[,CUR:AMOUNT...]: per currency,
 *       an override whose effect is above AMOUNT needs a finance director,
 *       e.g. "CNY:5000.00,USD:700.00". CUR a known ISO 4217 code, each at
 *       most once, AMOUNT a decimal at the currency's precision (money.h:
 *       no sign, no more fraction digits than the currency has, at most
 *       10^15 minor units), at most 16 pairs, no spaces. Unset or empty:
 *       no currency is named, so every override needs a finance director.
 *   SKONTO_OVERRIDE_TTL  how long a request may wait for its approval: a
 *       duration with its unit ("72h", "3d", "1d12h"), 1 minute .. 365
 *       days (default 72h). A bare number is refused: hours or days?
 *
 * A bad value: -1 and err (code bad_config), one line naming the variable,
 * quoting the value and saying the form wanted, e.g.
 *   SKONTO_OVERRIDE_FINANCE_ABOVE "CNY:5000.000": want CUR:AMOUNT[,CUR:AMOUNT...] ... */
#ifndef SK_OVERRIDE_H
#define SK_OVERRIDE_H

#include <stdint.h>

#include "override_rules.h"
#include "sk_error.h"

#define SK_OVERRIDE_TTL_DEFAULT_MS ((int64_t)72 * 3600 * 1000)

typedef struct {
    sk_override_thresholds_t finance_above;
    int64_t ttl_ms;
} sk_override_settings_t;

/* From the environment. 0, or -1 and err; *s is set only on success. */
int sk_override_settings_load(sk_override_settings_t *s, sk_err_t *err);
/* The same from given values (NULL or "" = unset), for tests. */
int sk_override_settings_parse(sk_override_settings_t *s, const char *finance_above,
                               const char *ttl, sk_err_t *err);

#endif
