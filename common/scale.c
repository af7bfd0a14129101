/* scale — 1-2-5 ticks; see scale.h. */
#include "scale.h"

#define S_LIMIT 100000000000000000LL /* 10^17: step x ticks never overflows */

static int64_t s_floor_to(int64_t v, int64_t step)
{
    int64_t q = v / step;
    if (v % step != 0 && v < 0)
        q--;
    return q * step;
}

static int64_t s_ceil_to(int64_t v, int64_t step)
{
    int64_t q = v / step;
    if (v % step != 0 && v > 0)
        q++;
    return q * step;
}

int sk_scale_ticks(int64_t lo, int64_t hi, int max_ticks, sk_scale_t *out)
{
    if (!out || max_ticks < 1 || max_ticks > 1000)
        return -1;
    if (lo > hi) {
        int64_t t = lo;
        lo = hi;
        hi = t;
    }
    if (lo <= -S_LIMIT || hi >= S_LIMIT)
        return -1;
    if (lo > 0)
        lo = 0; /* bars and sums start at zero */
    if (hi < 0)
        hi = 0;
    if (lo == hi)
        hi = lo + 1;
    /* the smallest 1-2-5 step with at most max_ticks intervals */
    for (int64_t p = 1;; p *= 10) {
        static const int64_t m[3] = {1, 2, 5};
        for (int i = 0; i < 3; i++) {
            int64_t step = m[i] * p;
            int64_t a = s_floor_to(lo, step), b = s_ceil_to(hi, step);
            if ((b - a) / step <= max_ticks) {
                out->lo = a;
                out->hi = b;
                out->step = step;
                out->n = (int)((b - a) / step) + 1;
                return 0;
            }
        }
    }
}

int64_t sk_scale_pos(const sk_scale_t *s, int64_t v, int64_t len)
{
    if (v <= s->lo)
        return 0;
    if (v >= s->hi)
        return len;
    __int128 num = (__int128)(v - s->lo) * len, den = s->hi - s->lo;
    return (int64_t)((num * 2 + den) / (den * 2));
}
