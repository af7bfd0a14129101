/* cli_output — what skontoctl prints: aligned text tables, JSON (jansson,
 * never a hand-written printer) and the small formatters both use, with the
 * project's conventions: amounts as decimal strings at the currency's
 * precision, rates as percent strings ("0.5"), dates YYYY-MM-DD, annual
 * rates as numbers with 2 decimals. sk_cli_finish reports a failed write to
 * standard output (a full disk, a closed pipe) as one line.
 *
 * Invariant: amounts stay int64 minor units all the way to their decimal
 * string. */
#ifndef SK_CLI_OUTPUT_H
#define SK_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_msg.h"
#include "date.h"
#include "money.h"

/* ---- formatting --------------------------------------------------------- */

const char *sk_cli_weekday(sk_day_t day);                /* "Mon" .. "Sun" */
char *sk_cli_date_wd(sk_day_t day, char *buf, size_t n); /* "2026-11-02 Mon"; n >= 16 */
char *sk_cli_rate(int32_t ppm, char *buf, size_t n);     /* "2", "0.5", "0"; n >= 16 */
char *sk_cli_rate_pct(int32_t ppm, char *buf, size_t n); /* "2%", "0.5%", "0%"; n >= 16 */
char *sk_cli_bp_pct(int32_t bp, char *buf, size_t n);    /* 3724 -> "37.24%"; n >= 24 */

/* ---- aligned text tables ------------------------------------------------ */

typedef struct sk_cli_table sk_cli_table_t;

/* ncols headers; align has one letter per column, 'l' or 'r'. NULL on ENOMEM. */
sk_cli_table_t *sk_cli_table_new(int ncols, const char *const *headers, const char *align);
void sk_cli_table_destroy(sk_cli_table_t **self_p);
/* Copies one row of ncols cells; -1 on ENOMEM. */
int sk_cli_table_add(sk_cli_table_t *self, const char *const *cells);
/* Prints header and rows, columns two spaces apart, no trailing blanks. */
void sk_cli_table_print(const sk_cli_table_t *self, FILE *out);
/* Ends a table: prints it on stdout unless bad (a row could not be added),
 * destroys it; SK_EXIT_OK, or SK_EXIT_FAIL after "out of memory". */
int sk_cli_table_emit(const char *verb, sk_cli_table_t **self_p, int bad);

/* ---- JSON values (new references; NULL on ENOMEM) ----------------------- */

json_t *sk_cli_json_money(int64_t minor, const sk_currency_t *cur); /* "1130.00", JPY "999" */
json_t *sk_cli_json_rate(int32_t ppm);                              /* "0.5", "0" */
json_t *sk_cli_json_date(sk_day_t day);                             /* "2026-11-02" */
json_t *sk_cli_json_bp(int32_t bp);                                 /* 3724 -> 37.24 */

/* Prints root on stdout (two-space indent, keys in insertion order, reals with
 * up to 15 significant digits so 37.24 prints as 37.24) and a newline; takes
 * the reference. root NULL means building it failed: prints a failure line.
 * Returns SK_EXIT_OK or SK_EXIT_FAIL. */
int sk_cli_json_print(const char *verb, json_t *root);
/* Ends a --json output: arr goes into root under name (both references are
 * taken) and root is printed, or one failure line when building failed (bad,
 * or either is NULL). Returns SK_EXIT_OK or SK_EXIT_FAIL. */
int sk_cli_json_finish(const char *verb, json_t *root, const char *name, json_t *arr, int bad);

/* Flushes stdout and reports a write error (full disk, closed pipe) as one
 * line. Returns SK_EXIT_OK or SK_EXIT_FAIL. Call last in every verb. */
int sk_cli_finish(const char *verb);

#endif
