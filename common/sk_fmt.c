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
