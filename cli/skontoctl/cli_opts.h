/* cli_opts — skontoctl's command lines: option scanning (`--name value`,
 * `--name=value`, flags, positional words, with one clear line for an
 * unknown option, a missing value or an option given twice), the parsers of
 * option values, and the words of `skontoctl VERB show ID`.
 *
 * Invariant: what a user typed reaches a message only through cli_msg
 * (one line, shortened, escaped). */
#ifndef SK_CLI_OPTS_H
#define SK_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_msg.h"
#include "sk_error.h"

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

/* sk_cli_scan_next for a verb that takes no positional word: a word is
 * refused with `unexpected "WORD" (HINT)` (hint: its usage line or where its
 * help is). Returns an option's index, SK_CLI_END, or SK_CLI_BAD after one line. */
int sk_cli_scan_opt(sk_cli_scan_t *sc, const char *hint, const char **value);

/* True when argv (after the verb) asks for help: --help or -h before any "--".
 * Checked before scanning, so `skontoctl quote --bogus --help` still helps. */
bool sk_cli_wants_help(int argc, char **argv);

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

#endif
