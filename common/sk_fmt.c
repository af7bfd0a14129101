/* sk_fmt — see sk_fmt.h. */
#include "sk_fmt.h"

#include <string.h>

size_t sk_fmt_pad(char *p, uint64_t v, int width)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t w = width > 0 ? (size_t)width : 0, k = 0;
    for (; n + k < w; k++)
        p[k] = '0';
    memcpy(p + k, tmp + sizeof tmp - n, n);
    p[k + n] = '\0';
    return k + n;
}

size_t sk_fmt_i64(char *p, int64_t v)
{
    if (v >= 0)
        return sk_fmt_pad(p, (uint64_t)v, 0);
    p[0] = '-';
    return 1 + sk_fmt_pad(p + 1, (uint64_t)0 - (uint64_t)v, 0);
}

sk_text_t sk_text(char *buf, size_t n)
{
    if (buf && n)
        buf[0] = '\0';
    return (sk_text_t){buf, buf ? n : 0, 0, false};
}

void sk_text_mem(sk_text_t *t, const char *s, size_t len)
{
    if (t->n == 0) {
        t->cut = t->cut || len > 0;
        return;
    }
    size_t room = t->n - 1 - t->len;
    if (len > room) {
        len = room;
        t->cut = true;
    }
    memcpy(t->p + t->len, s, len);
    t->len += len;
    t->p[t->len] = '\0';
}

void sk_text_str(sk_text_t *t, const char *s)
{
    sk_text_mem(t, s, strlen(s));
}

void sk_text_char(sk_text_t *t, char c)
{
    sk_text_mem(t, &c, 1);
}

void sk_text_int(sk_text_t *t, int64_t v)
{
    char d[24];
    sk_text_mem(t, d, sk_fmt_i64(d, v));
}
