/* cli_msg — skontoctl's one-line messages and exit statuses.
 *
 * `skontoctl quote: --baseline "2026-02-30": February 2026 has 28 days`, exit
 * status 2 (SK_EXIT_USAGE) for invalid input and 1 (SK_EXIT_FAIL) for a
 * failure at run time.
 *
 * Invariants: every message printed here is exactly one line (control
 * characters from user input are escaped as \xNN, long input is
 * shortened). */
#ifndef SK_CLI_MSG_H
#define SK_CLI_MSG_H

#include <stddef.h>

#include "sk_error.h"

#define SK_EXIT_OK 0
#define SK_EXIT_FAIL 1  /* a failure at run time */
#define SK_EXIT_USAGE 2 /* invalid usage or input */

/* "skontoctl VERB: MESSAGE" on stderr; returns SK_EXIT_USAGE. */
int sk_cli_usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "skontoctl VERB: --OPT "VALUE": MESSAGE" on stderr; returns SK_EXIT_USAGE. */
int sk_cli_opt_error(const char *verb, const char *opt, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same for an error a domain function returned: its message follows the
 * option, without the library's own `date "VALUE": ` lead-in, which would
 * repeat the value. Returns SK_EXIT_USAGE. */
int sk_cli_opt_err(const char *verb, const char *opt, const char *value, const sk_err_t *err);

/* "skontoctl VERB: MESSAGE" on stderr for a failure at run time; returns SK_EXIT_FAIL. */
int sk_cli_fail(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies untrusted input for a message into buf (n >= 72): at most 60 bytes,
 * then "..."; double quotes and backslashes are escaped so the quoted value
 * reads back. Returns buf. */
const char *sk_cli_shorten(const char *s, char *buf, size_t n);

#endif
