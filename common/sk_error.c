#include "sk_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sk_err_set(sk_err_t *err, const char *code, const char *fmt, ...)
{
    if (!err)
        return -1;
    snprintf(err->code, sizeof err->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void sk_err_prefix(sk_err_t *err, const char *prefix)
{
    if (!err)
        return;
    char tmp[sizeof err->msg];
    /* A prefixed message longer than msg is cut short, on purpose. */
    if (snprintf(tmp, sizeof tmp, "%s: %s", prefix, err->msg) < 0)
        return;
    memcpy(err->msg, tmp, sizeof tmp);
}

void sk_err_clear(sk_err_t *err)
{
    if (err)
        err->code[0] = err->msg[0] = '\0';
}

const char *sk_err_quote(const char *s, size_t len, char *buf, size_t n)
{
    size_t i = 0;
    for (; i < len && i < 40 && i + 4 < n; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (i < len && i + 4 < n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

const char *sk_err_quote_str(const char *s, char buf[SK_ERR_QUOTE_MAX])
{
    return sk_err_quote(s, strlen(s), buf, SK_ERR_QUOTE_MAX);
}
