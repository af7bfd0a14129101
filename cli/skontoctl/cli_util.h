/* cli_util — what every skontoctl verb shares.
 *
 *   - option scanning: `--name value`, `--name=value`, flags, positional words,
 *     with one clear line for an unknown option, a missing value or an option
 *     given twice;
 *   - the one-line errors: `skontoctl quote: --baseline "2026-02-30": February
 *     2026 has 28 days`, exit status 2 (SK_EXIT_USAGE) for invalid input and 1
 *     (SK_EXIT_FAIL) for a failure at run time;
 *   - aligned text tables and JSON output (jansson, never a hand-written
 *     printer) with the project's conventions: amounts as decimal strings at
 *     the currency's precision, rates as percent strings ("0.5"), dates
 *     YYYY-MM-DD, annual rates as numbers with 2 decimals;
 *   - the options that describe one invoice's schedule (--terms, --baseline,
 *     --amount, --currency, --tax, --discount-base, --grace-days,
 *     --business-days, --holidays, --rounding), shared by quote and settle
 *     and by any verb that computes a schedule from the command line;
 *   - reading Redis for the read-only verbs (order, customer, forecast,
 *     status, dlq): connect, one command, pipelined commands and replies,
 *     each failure reported as one line naming the server.
 *
 * Invariants: every message printed here is exactly one line (control
 * characters from user input are escaped, long input is shortened); amounts
 * stay int64 minor units all the way to their decimal string. */
#ifndef SK_CLI_UTIL_H
#define SK_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "date.h"
#include "money.h"
#include "schedule.h"
#include "sk_error.h"
#include "terms.h"

#define SK_EXIT_OK 0
#define SK_EXIT_FAIL 1  /* a failure at run time */
#define SK_EXIT_USAGE 2 /* invalid usage or input */

/* ---- option scanning ---------------------------------------------------- */

typedef struct {
    const char *name; /* long name without the dashes: "terms"; NULL ends a table */
    bool has_value;   /* takes a value (`--terms 2/10,n/30` or `--terms=2/10,n/30`) */
    bool repeatable;  /* may be given more than once (e.g. --payment) */
} sk_cli_opt_t;

#define SK_CLI_MAX_OPTS 64

typedef struct {
    const char *verb;         /* "quote": names the verb in messages */
    const sk_cli_opt_t *opts; /* table ending with {NULL} */
    int argc;
    char **argv;
    int next;        /* argv index read next */
    bool words_only; /* after "--": everything is a word */
    int seen[SK_CLI_MAX_OPTS];
} sk_cli_scan_t;

#define SK_CLI_END (-1)  /* no more arguments */
#define SK_CLI_BAD (-2)  /* invalid; one line was printed on stderr */
#define SK_CLI_WORD (-3) /* a positional word, in *value */

/* argv[0] is the verb itself (as main.c passes it) and is skipped. */
void sk_cli_scan_init(sk_cli_scan_t *sc, const char *verb, const sk_cli_opt_t *opts, int argc,
                      char **argv);

/* Reads the next argument: returns the index of the option in opts (with
 * *value set for an option that takes one, NULL for a flag), SK_CLI_WORD for
 * a positional word, SK_CLI_END at the end, or SK_CLI_BAD after printing one
 * line (unknown option, missing value, value given to a flag, option given
 * twice). The unknown-option line ends with a hint to VERB --help. */
int sk_cli_scan_next(sk_cli_scan_t *sc, const char **value);

/* True when argv (after the verb) asks for help: --help or -h before any "--".
 * Checked before scanning, so `skontoctl quote --bogus --help` still helps. */
bool sk_cli_wants_help(int argc, char **argv);

/* ---- one-line messages -------------------------------------------------- */

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

/* ---- small parsers ------------------------------------------------------ */

/* Strict decimal integer in min..max (no sign unless min < 0, no spaces, no junk). */
int sk_cli_parse_int(const char *s, long min, long max, long *out);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer the
 * caller frees. Fails (code "bad_file") with the reason: "cannot open: No such
 * file or directory", "larger than 1048576 bytes". */
int sk_cli_read_file(const char *path, size_t max, char **buf, size_t *len, sk_err_t *err);

/* An order or customer id as ingest accepts it (sk_event_check_id: 1..64
 * characters of UTF-8, at most 256 bytes, no control characters). */
bool sk_cli_id_ok(const char *id);

/* ---- `skontoctl VERB show ID` (order, customer) --------------------------- */

/* Keeps one positional word in words[0..1] (*nwords counts them). SK_EXIT_OK,
 * or SK_EXIT_USAGE after `unexpected "WORD" (usage: USAGE)` for a third.
 * usage is the verb's usage line: "skontoctl order show ORDER_ID [--json]". */
int sk_cli_show_word(const char *verb, const char *usage, const char **words, int *nwords,
                     const char *word);

/* After scanning: the words must be "show" and an id sk_cli_id_ok accepts.
 * SK_EXIT_OK, or SK_EXIT_USAGE after one line ("which order? usage:
 * skontoctl order show ORDER_ID", "order id is 65 characters long (at most 64
 * characters and 256 bytes)"). */
int sk_cli_show_check(const char *verb, const char *usage, const char *const *words, int nwords);

/* ---- Redis, for the verbs that read it ----------------------------------- */

#define SK_CLI_REDIS_MAX_ARGS 8 /* arguments of one command, verb included */

/* Connects to $SKONTO_REDIS_URL; NULL after printing the reason as one line. */
redisContext *sk_cli_redis_connect(const char *verb);

/* Runs one command of argc (1..SK_CLI_REDIS_MAX_ARGS) NUL-terminated
 * arguments. NULL after printing one line: "Redis at URL: REASON" when the
 * connection failed, "Redis CMD KEY: ERROR" for an error reply. The caller
 * frees the reply. */
redisReply *sk_cli_redis_command(const char *verb, redisContext *c, int argc, const char **argv);

/* Queues one command for a pipeline (argc as above). SK_EXIT_OK, or
 * SK_EXIT_FAIL after printing "Redis at URL: REASON". */
int sk_cli_redis_append(const char *verb, redisContext *c, int argc, const char **argv);

/* The next reply of a pipeline, error replies included (the caller judges
 * them); NULL after printing "Redis at URL: REASON". The caller frees it. */
redisReply *sk_cli_redis_reply(const char *verb, redisContext *c);

/* The string value of field in an HGETALL reply h (h may be NULL), or dflt. */
const char *sk_cli_hash_get(const redisReply *h, const char *field, const char *dflt);

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

/* Flushes stdout and reports a write error (full disk, closed pipe) as one
 * line. Returns SK_EXIT_OK or SK_EXIT_FAIL. Call last in every verb. */
int sk_cli_finish(const char *verb);

/* ---- the schedule options shared by quote, settle and friends ----------- */

/* Spread into a verb's option table: { SK_CLI_SCHEDULE_OPTS, {"json", false, false}, {NULL} }. */
#define SK_CLI_SCHEDULE_OPTS                                                                       \
    {"terms", true, false}, {"baseline", true, false}, {"amount", true, false},                    \
        {"currency", true, false}, {"tax", true, false}, {"discount-base", true, false},           \
        {"grace-days", true, false}, {"business-days", false, false}, {"holidays", true, false},   \
    {                                                                                              \
        "rounding", true, false                                                                    \
    }

typedef struct {
    const char *terms, *baseline, *amount, *currency, *tax, *discount_base, *grace_days, *holidays,
        *rounding;
    bool business_days;
} sk_cli_sched_args_t;

/* Records the option `name` if it is one of SK_CLI_SCHEDULE_OPTS: returns
 * true if it was, false if the caller should handle it. */
bool sk_cli_sched_take(sk_cli_sched_args_t *a, const char *name, const char *value);

typedef struct {
    sk_terms_t terms;
    char terms_text[SK_TERMS_MAX_LEN]; /* canonical form */
    sk_discount_base_t base;           /* gross or net of tax */
    int grace_days;                    /* as given (the schedule already includes them) */
    bool business_days;
    sk_schedule_t schedule;
} sk_cli_sched_t;

/* Validates every schedule option (the first problem wins, in the order of
 * the usage line) and computes the schedule. On invalid input prints one line
 * and returns SK_EXIT_USAGE; on success SK_EXIT_OK. */
int sk_cli_sched_build(const char *verb, const sk_cli_sched_args_t *a, sk_cli_sched_t *out);

/* Help text for the schedule options and the terms notation. */
void sk_cli_sched_help(FILE *out);

/* The schedule's headline, one line: "1130.00 CNY  discount base 1000.00 (net
 * of tax 130.00)  terms 2/10,n/30  baseline 2026-11-02 Mon  net due 2026-12-02 Wed" */
void sk_cli_sched_headline(const sk_cli_sched_t *s, FILE *out);

#endif
