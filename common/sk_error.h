/* sk_error — the error every fallible Skonto function fills.
 *
 * A function returns 0 on success or -1 on failure; on failure it has set
 * err->code to a stable machine-readable reason (what ingest puts in an Ack's
 * reason_code and what tests assert on) and err->msg to one human line that
 * names what is wrong ("terms: tier 2 rate 3 % is not below tier 1 rate 2 %").
 * err may be NULL when the caller does not care. */
#ifndef SK_ERROR_H
#define SK_ERROR_H

#include <stddef.h>

typedef struct {
    char code[32];  /* e.g. "bad_terms", "bad_date", "bad_amount", "bad_currency" */
    char msg[256];  /* one line, no trailing newline */
} sk_err_t;

/* Sets code and a printf-formatted message; returns -1 so callers can
 * `return sk_err_set(err, "bad_date", "...")`. */
int sk_err_set(sk_err_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with "prefix: " (for context such as "--baseline"). */
void sk_err_prefix(sk_err_t *err, const char *prefix);

void sk_err_clear(sk_err_t *err);

/* Copies at most 40 characters of untrusted input s[0..len) into buf (n
 * bytes; 48 is enough) for an error message: anything unprintable becomes
 * '?', and "..." marks input that was cut, so a message stays one readable
 * line. Returns buf. */
#define SK_ERR_QUOTE_MAX 48
const char *sk_err_quote(const char *s, size_t len, char *buf, size_t n);
/* The same for a NUL-terminated s, into a buffer of SK_ERR_QUOTE_MAX: called
 * where a message is written, not before (parsers run per event). */
const char *sk_err_quote_str(const char *s, char buf[SK_ERR_QUOTE_MAX]);

#endif
