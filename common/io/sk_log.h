/* sk_log — the one logger of every worker: one line per call on stderr.
 *
 * Default (SKONTO_LOG_FORMAT=json): one JSON object a line, encoded with
 * jansson, fields in this order:
 *   {"ts":"2026-12-01T10:37:30.123Z","worker":"discount-1","pid":4711,
 *    "level":"error","event_id":"E7","order_id":"SO-1","msg":"..."}
 * ts is wall time (UTC, milliseconds); worker the name given to sk_log_init;
 * level "info", "warn" or "error"; event_id and order_id only when the call
 * names them (sk_log_at). SKONTO_LOG_FORMAT=text gives readable lines:
 *   2026-12-01T10:37:30.123Z discount-1[4711] error: ...
 * Every line is written with one stdio call, so lines from several threads
 * (the ZAP handler's, say) never interleave. Text that is not valid UTF-8
 * (ids a peer sent) is logged with '?' for the bad bytes, never dropped.
 * Before sk_log_init lines say worker "skonto" in the JSON form. */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stdint.h>

#include "sk_clock.h" /* sk_now_ms, the wall clock, which callers of sk_log used from here */
#include "sk_error.h"

typedef enum { SK_LOG_INFO = 0, SK_LOG_WARN, SK_LOG_ERROR } sk_log_level_t;
typedef enum { SK_LOG_JSON = 0, SK_LOG_TEXT } sk_log_format_t;

/* Names the worker in every later line (the string must outlive the process)
 * and reads SKONTO_LOG_FORMAT (json or text): 0, or -1 and err for a bad value
 * (the format stays JSON). */
int sk_log_init(const char *worker, sk_err_t *err);
void sk_log_set_format(sk_log_format_t format);

/* An info line; sk_log_warn and sk_log_error the same at their levels. */
void sk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sk_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sk_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line about one event and/or order: event_id, order_id may be NULL or "". */
void sk_log_at(sk_log_level_t level, const char *event_id, const char *order_id, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* The line sk_log_at would write, without its newline, into buf (n bytes);
 * ts_ms is the time it names. For tests; returns buf. */
char *sk_log_format_line(char *buf, size_t n, sk_log_format_t format, int64_t ts_ms,
                         sk_log_level_t level, const char *event_id, const char *order_id,
                         const char *msg);

#endif
