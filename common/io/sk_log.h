/* sk_log — a worker's log lines and its wall clock.
 *
 * One line per call on stderr, written with one fprintf so that lines from
 * several threads (the ZAP handler's, say) never interleave:
 *   2026-12-01T10:37:30.123Z ingest[4711]: connected to Redis at ...
 * The worker's name is set once at start (sk_log_init); before that lines
 * say "skonto". (Issue 7 brings one logger, JSON lines, for every worker;
 * this module is where it goes.) */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stdint.h>

/* Names the worker in every later line (the string must outlive the process). */
void sk_log_init(const char *worker);
void sk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wall-clock time, milliseconds since the Unix epoch (UTC). */
int64_t sk_now_ms(void);

#endif
