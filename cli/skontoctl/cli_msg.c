/* cli_msg — one-line messages and exit statuses (see cli_msg.h). */
#include "cli_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes "skontoctl VERB: " and the message on stderr as exactly one line:
 * bytes below 0x20 and DEL (a newline or escape sequence smuggled in through
 * an argument) are shown as \xNN instead of being written. */
__attribute__((format(printf, 2, 0))) static void s_vline(const char *verb, const char *fmt,
                                                          va_list ap)
{
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        snprintf(msg, sizeof msg, "(message could not be formatted)");
    fprintf(stderr, "skontoctl %s: ", verb);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

const char *sk_cli_shorten(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    if (!s)
        s = "";
    for (size_t i = 0; s[i]; i++) {
        if (i >= 60 || o + 6 >= n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] == '"' || s[i] == '\\')
            buf[o++] = '\\';
        buf[o++] = s[i];
    }
    buf[o] = '\0';
    return buf;
}

int sk_cli_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vline(verb, fmt, ap);
    va_end(ap);
    return SK_EXIT_USAGE;
}

int sk_cli_fail(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vline(verb, fmt, ap);
    va_end(ap);
    return SK_EXIT_FAIL;
}

int sk_cli_opt_error(const char *verb, const char *opt, const char *value, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(what, sizeof what, "invalid");
    char q[80];
    return sk_cli_usage_error(verb, "--%s \"%s\": %s", opt, sk_cli_shorten(value, q, sizeof q),
                              what);
}

/* The domain library's messages start with what they parsed, e.g.
 * `date "2026-02-30": February 2026 has 28 days` or `terms: tier 2 ...`.
 * After `--baseline "2026-02-30": ` that lead-in only repeats the value, so
 * drop a leading lower-case word, optionally followed by a quoted value,
 * then ": ". A message of another shape is kept whole. */
static const char *s_drop_lead_in(const char *msg)
{
    const char *p = msg;
    while (*p >= 'a' && *p <= 'z')
        p++;
    if (p == msg)
        return msg;
    if (p[0] == ' ' && p[1] == '"') {
        const char *end = strstr(p + 2, "\": ");
        if (!end)
            return msg;
        return end + 3;
    }
    if (p[0] == ':' && p[1] == ' ')
        return p + 2;
    return msg;
}

int sk_cli_opt_err(const char *verb, const char *opt, const char *value, const sk_err_t *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "invalid";
    return sk_cli_opt_error(verb, opt, value, "%s", s_drop_lead_in(msg));
}
