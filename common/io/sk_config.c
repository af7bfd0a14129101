/* sk_config — see sk_config.h. */
#include "sk_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_CODE "bad_config"
#define S_DURATION_MAX_MS ((int64_t)100 * 366 * 86400000) /* a century: no overflow below */

static bool s_unset(const char *value)
{
    return !value || !*value;
}

/* Parses a whole decimal number (optional '-') into *out; false if it is not one or overflows. */
static bool s_whole(const char *s, int64_t *out)
{
    if (!*s || (!(*s >= '0' && *s <= '9') && !(*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int sk_config_parse_int(const char *name, const char *value, int64_t dflt, int64_t min, int64_t max,
                        int64_t *out, sk_err_t *err)
{
    if (s_unset(value)) {
        *out = dflt;
        return 0;
    }
    int64_t v;
    if (!s_whole(value, &v) || v < min || v > max) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, S_CODE,
                          "%s \"%s\": want a whole number from %" PRId64 " to %" PRId64, name,
                          sk_err_quote_str(value, q), min, max);
    }
    *out = v;
    return 0;
}

int sk_config_int(const char *name, int64_t dflt, int64_t min, int64_t max, int64_t *out,
                  sk_err_t *err)
{
    return sk_config_parse_int(name, getenv(name), dflt, min, max, out, err);
}

static const struct {
    const char *unit;
    int64_t ms;
} s_units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};

int sk_duration_parse(const char *what, const char *s, int64_t bare_unit_ms, int64_t *ms,
                      sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    const char *want = bare_unit_ms
                           ? "want a duration such as 500ms, 30s, 15m, 36h, 7d or 1d12h, or a "
                             "whole number"
                           : "want a duration such as 500ms, 30s, 15m, 36h, 7d or 1d12h";
    const char *p = s;
    int64_t total = 0;
    if (!s || !*s)
        return sk_err_set(err, S_CODE, "%s \"\": %s", what, want);
    while (*p) {
        if (*p < '0' || *p > '9')
            return sk_err_set(err, S_CODE, "%s \"%s\": %s", what, sk_err_quote_str(s, q), want);
        const char *part = p;
        int64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n > S_DURATION_MAX_MS)
                return sk_err_set(err, S_CODE, "%s \"%s\": more than 100 years", what,
                                  sk_err_quote_str(s, q));
            n = n * 10 + (*p++ - '0');
        }
        int64_t unit = 0;
        size_t ulen = 0;
        for (size_t k = 0; k < sizeof s_units / sizeof s_units[0]; k++) {
            size_t l = strlen(s_units[k].unit);
            /* "m" must not eat the "m" of "ms": the longest unit that matches wins. */
            if (!strncmp(p, s_units[k].unit, l) && l > ulen) {
                unit = s_units[k].ms;
                ulen = l;
            }
        }
        if (!ulen) {
            /* A bare number is allowed alone, in the variable's own unit. */
            if (*p || part != s || !bare_unit_ms)
                return sk_err_set(err, S_CODE, "%s \"%s\": %s", what, sk_err_quote_str(s, q), want);
            unit = bare_unit_ms;
        }
        p += ulen;
        if (n > S_DURATION_MAX_MS / unit || total + n * unit > S_DURATION_MAX_MS)
            return sk_err_set(err, S_CODE, "%s \"%s\": more than 100 years", what,
                              sk_err_quote_str(s, q));
        total += n * unit;
    }
    *ms = total;
    return 0;
}

/* "1500" ms as the shortest readable duration for a message: "1500ms", "30s", "7d". */
static const char *s_duration_text(int64_t ms, char *buf, size_t n)
{
    size_t k = sizeof s_units / sizeof s_units[0];
    while (k > 1 && (ms == 0 || ms % s_units[k - 1].ms))
        k--;
    snprintf(buf, n, "%" PRId64 "%s", ms / s_units[k - 1].ms, s_units[k - 1].unit);
    return buf;
}

int sk_config_parse_duration_ms(const char *name, const char *value, int64_t dflt_ms,
                                int64_t min_ms, int64_t max_ms, int64_t bare_unit_ms, int64_t *out,
                                sk_err_t *err)
{
    if (s_unset(value)) {
        *out = dflt_ms;
        return 0;
    }
    int64_t v = 0;
    if (sk_duration_parse(name, value, bare_unit_ms, &v, err))
        return -1;
    if (v < min_ms || v > max_ms) {
        char q[SK_ERR_QUOTE_MAX], lo[32], hi[32];
        return sk_err_set(err, S_CODE, "%s \"%s\": want a duration from %s to %s", name,
                          sk_err_quote_str(value, q), s_duration_text(min_ms, lo, sizeof lo),
                          s_duration_text(max_ms, hi, sizeof hi));
    }
    *out = v;
    return 0;
}

int sk_config_duration_ms(const char *name, int64_t dflt_ms, int64_t min_ms, int64_t max_ms,
                          int64_t bare_unit_ms, int64_t *out, sk_err_t *err)
{
    return sk_config_parse_duration_ms(name, getenv(name), dflt_ms, min_ms, max_ms, bare_unit_ms,
                                       out, err);
}

int sk_config_parse_bool(const char *name, const char *value, bool dflt, bool *out, sk_err_t *err)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                "off"};
    if (s_unset(value)) {
        *out = dflt;
        return 0;
    }
    for (size_t k = 0; k < 4; k++) {
        if (!strcasecmp(value, yes[k])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(value, no[k])) {
            *out = false;
            return 0;
        }
    }
    char q[SK_ERR_QUOTE_MAX];
    return sk_err_set(err, S_CODE, "%s \"%s\": want 1 or 0 (true/false, yes/no, on/off)", name,
                      sk_err_quote_str(value, q));
}

int sk_config_bool(const char *name, bool dflt, bool *out, sk_err_t *err)
{
    return sk_config_parse_bool(name, getenv(name), dflt, out, err);
}

int sk_config_parse_choice(const char *name, const char *value, const char *const *choices,
                           int dflt, int *out, sk_err_t *err)
{
    if (s_unset(value)) {
        *out = dflt;
        return 0;
    }
    char list[160] = "";
    size_t used = 0;
    for (int k = 0; choices[k]; k++) {
        if (!strcmp(value, choices[k])) {
            *out = k;
            return 0;
        }
        int w = snprintf(list + used, sizeof list - used, "%s%s",
                         k == 0 ? "" : (choices[k + 1] ? ", " : " or "), choices[k]);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    char q[SK_ERR_QUOTE_MAX];
    return sk_err_set(err, S_CODE, "%s \"%s\": want %s", name, sk_err_quote_str(value, q), list);
}

int sk_config_choice(const char *name, const char *const *choices, int dflt, int *out,
                     sk_err_t *err)
{
    return sk_config_parse_choice(name, getenv(name), choices, dflt, out, err);
}

int sk_config_parse_string(const char *name, const char *value, const char *dflt, size_t max_len,
                           const char **out, sk_err_t *err)
{
    if (s_unset(value)) {
        *out = dflt;
        return 0;
    }
    char q[SK_ERR_QUOTE_MAX];
    size_t len = strlen(value);
    if (len > max_len)
        return sk_err_set(err, S_CODE, "%s \"%s\": want at most %zu bytes (it has %zu)", name,
                          sk_err_quote_str(value, q), max_len, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
            return sk_err_set(err, S_CODE, "%s \"%s\": want no control characters", name,
                              sk_err_quote_str(value, q));
    *out = value;
    return 0;
}

int sk_config_string(const char *name, const char *dflt, size_t max_len, const char **out,
                     sk_err_t *err)
{
    return sk_config_parse_string(name, getenv(name), dflt, max_len, out, err);
}

int sk_config_parse_file(const char *name, const char *value, bool required, const char **out,
                         sk_err_t *err)
{
    if (s_unset(value)) {
        if (required)
            return sk_err_set(err, S_CODE, "%s is not set: want the path of a readable file", name);
        *out = NULL;
        return 0;
    }
    char q[SK_ERR_QUOTE_MAX];
    struct stat st;
    if (stat(value, &st) || access(value, R_OK))
        return sk_err_set(err, S_CODE, "%s \"%s\": want a readable file (%s)", name,
                          sk_err_quote_str(value, q), strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sk_err_set(err, S_CODE, "%s \"%s\": want a readable file (not a regular file)", name,
                          sk_err_quote_str(value, q));
    *out = value;
    return 0;
}

int sk_config_file(const char *name, bool required, const char **out, sk_err_t *err)
{
    return sk_config_parse_file(name, getenv(name), required, out, err);
}
