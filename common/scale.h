/* scale — linear chart scales with 1-2-5 ticks (pure, integers in and out).
 *
 * A chart of values in [lo, hi] (minor units, counts, hundredths) gets an axis
 * from a multiple of step at or below lo to one at or above hi, step being
 * 1, 2 or 5 times a power of ten, the smallest such step that needs at most
 * max_ticks intervals. The axis always contains 0 when lo >= 0 (bars start
 * at zero). Used by the HTML report's SVG charts (cli/skontoctl/report_html.c). */
#ifndef SK_SCALE_H
#define SK_SCALE_H

#include <stdint.h>

typedef struct {
    int64_t lo, hi; /* the axis: lo = first tick, hi = last tick */
    int64_t step;   /* 1, 2 or 5 x 10^k, > 0 */
    int n;          /* ticks lo, lo+step, ..., hi: n of them, 2..max_ticks+1 */
} sk_scale_t;

/* The 1-2-5 axis over [lo, hi] with at most max_ticks intervals (>= 1).
 * lo > hi is swapped; lo == hi (an empty chart) gets [0, 1] or an axis around
 * the value; |lo|, |hi| below 10^17. Returns 0, or -1 on bad arguments. */
int sk_scale_ticks(int64_t lo, int64_t hi, int max_ticks, sk_scale_t *out);

/* The position of v on [0, len] for the axis (0 at s->lo, len at s->hi),
 * rounded to the nearest integer; v outside the axis is clamped. */
int64_t sk_scale_pos(const sk_scale_t *s, int64_t v, int64_t len);

#endif
