/* sk_fmt — integers as decimal text without printf, for the formats the
 * workers write thousands of times a second (dates, instants, rates, Redis
 * arguments). Each writes at p and NUL-terminates; returns the length. */
#ifndef SK_FMT_H
#define SK_FMT_H

#include <stddef.h>
#include <stdint.h>

/* v in decimal (room for >= 21 bytes). */
size_t sk_fmt_i64(char *p, int64_t v);
/* v >= 0 in decimal with at least `width` digits, zeros in front (room for
 * max(width, 20) + 1 bytes): sk_fmt_pad(p, 7, 2) writes "07". */
size_t sk_fmt_pad(char *p, uint64_t v, int width);

#endif
