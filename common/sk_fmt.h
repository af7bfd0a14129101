/* sk_fmt — integers as decimal text without printf, for the formats the
 * workers write thousands of times a second (dates, instants, rates, Redis
 * arguments). Each writes at p and NUL-terminates; returns the length. */
#ifndef SK_FMT_H
#define SK_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* v in decimal (room for >= 21 bytes). */
size_t sk_fmt_i64(char *p, int64_t v);
/* v >= 0 in decimal with at least `width` digits, zeros in front (room for
 * max(width, 20) + 1 bytes): sk_fmt_pad(p, 7, 2) writes "07". */
size_t sk_fmt_pad(char *p, uint64_t v, int width);

/* Text built piece by piece in a fixed buffer, the printf-free form of
 * snprintf(buf, n, "...%s...%d...", ...): what does not fit is cut (the
 * buffer always ends with a NUL, as snprintf leaves it) and noted.
 *
 *     sk_text_t t = sk_text(buf, sizeof buf);
 *     sk_text_str(&t, "t");
 *     sk_text_int(&t, tier);       // "t2"
 *     if (t.cut) ...              // it did not fit */
typedef struct {
    char *p;
    size_t n, len; /* buffer size, bytes written (without the NUL) */
    bool cut;
} sk_text_t;

sk_text_t sk_text(char *buf, size_t n);
void sk_text_mem(sk_text_t *t, const char *s, size_t len);
void sk_text_str(sk_text_t *t, const char *s);
void sk_text_char(sk_text_t *t, char c);
void sk_text_int(sk_text_t *t, int64_t v);

#endif
