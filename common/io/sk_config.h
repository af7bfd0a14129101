/* sk_config — the one reader of SKONTO_* environment variables.
 *
 * Every worker and skontoctl read their settings through these functions, so
 * a bad value is refused the same way everywhere: one line that names the
 * variable, quotes the value and says the form it wants, e.g.
 *   SKONTO_INGEST_MAX_CONNECTIONS "abc": want a whole number from 1 to 1024
 * An unset or empty variable takes the default. Each getter returns 0 and
 * fills *out, or -1 with err (code "bad_config") and leaves *out alone.
 *
 * The sk_config_parse_* forms take the value instead of reading the
 * environment (value NULL or "" = unset), for tests and for values that come
 * from a command line. Durations have one syntax, also used by `skontoctl
 * clock advance`: one or more NUMBER UNIT parts, UNIT one of ms, s, m, h, d
 * ("500ms", "30s", "36h", "7d", "1d12h"); a bare number is read in the
 * variable's own unit (SKONTO_CLAIM_IDLE_MS=30000 stays milliseconds). */
#ifndef SK_CONFIG_H
#define SK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"

/* A whole number in [min, max]. */
int sk_config_int(const char *name, int64_t dflt, int64_t min, int64_t max, int64_t *out,
                  sk_err_t *err);
int sk_config_parse_int(const char *name, const char *value, int64_t dflt, int64_t min, int64_t max,
                        int64_t *out, sk_err_t *err);

/* A duration in milliseconds in [min_ms, max_ms]; a bare number counts
 * bare_unit_ms each (1 for a *_MS variable, 0: a unit is required). */
int sk_config_duration_ms(const char *name, int64_t dflt_ms, int64_t min_ms, int64_t max_ms,
                          int64_t bare_unit_ms, int64_t *out, sk_err_t *err);
int sk_config_parse_duration_ms(const char *name, const char *value, int64_t dflt_ms,
                                int64_t min_ms, int64_t max_ms, int64_t bare_unit_ms, int64_t *out,
                                sk_err_t *err);
/* The duration syntax alone: "7d", "36h", "1d12h", "500ms" -> ms (> 0 parts
 * each, total at most 100 years). 0, or -1 and err naming `what`. */
int sk_duration_parse(const char *what, const char *s, int64_t bare_unit_ms, int64_t *ms,
                      sk_err_t *err);

/* 1/0, true/false, yes/no, on/off (any case). */
int sk_config_bool(const char *name, bool dflt, bool *out, sk_err_t *err);
int sk_config_parse_bool(const char *name, const char *value, bool dflt, bool *out, sk_err_t *err);

/* One of choices (a NULL-terminated list); *out is its index. */
int sk_config_choice(const char *name, const char *const *choices, int dflt, int *out,
                     sk_err_t *err);
int sk_config_parse_choice(const char *name, const char *value, const char *const *choices,
                           int dflt, int *out, sk_err_t *err);

/* A string of 1..max_len bytes without control characters; *out points into
 * the environment (or is dflt, which may be NULL). */
int sk_config_string(const char *name, const char *dflt, size_t max_len, const char **out,
                     sk_err_t *err);
int sk_config_parse_string(const char *name, const char *value, const char *dflt, size_t max_len,
                           const char **out, sk_err_t *err);

/* The path of a readable regular file (*out NULL when unset and not required). */
int sk_config_file(const char *name, bool required, const char **out, sk_err_t *err);
int sk_config_parse_file(const char *name, const char *value, bool required, const char **out,
                         sk_err_t *err);

#endif
