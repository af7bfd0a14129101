/* sk_clock — where every "now" and "today" of Skonto comes from.
 *
 * Two kinds of time, kept apart on purpose:
 *   - wall time, sk_now_ms(): for the timers that protect the system
 *     (heartbeats, leases, retries, handshake timeouts, log timestamps). It
 *     never jumps when simulated time is moved;
 *   - business time, an sk_clock_t: the instant and the UTC day that domain
 *     decisions are judged by (which discount windows are still open, when a
 *     reminder is due). It is one of (SKONTO_CLOCK)
 *       system                       the wall clock (the default)
 *       fixed:2026-11-02T09:00:00Z   one instant that never moves (also
 *                                    fixed:2026-11-02, midnight UTC)
 *       redis                        simulated time: the instant kept in Redis
 *                                    key sk:{sys}:clock (ms since the epoch),
 *                                    moved only forward by `skontoctl clock`;
 *                                    while the key is absent, the wall clock
 *   SKONTO_TODAY=YYYY-MM-DD keeps working and wins over SKONTO_CLOCK: it is
 *   fixed:<date> (midnight UTC).
 *
 * A worker calls sk_clock_tick once per loop turn and reads the cached
 * instant with sk_clock_now / sk_clock_today for every event of that turn:
 * one Redis read per turn, not per event, and every event of a turn is judged
 * by the same instant. A day is a UTC day number (sk_day_t of common/date.h);
 * a worker that needs a customer's zone converts the instant itself. */
#ifndef SK_CLOCK_H
#define SK_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"

struct redisContext;

typedef enum { SK_CLOCK_SYSTEM = 0, SK_CLOCK_FIXED, SK_CLOCK_REDIS } sk_clock_mode_t;

typedef struct _sk_clock_t sk_clock_t;

/* Wall-clock time, milliseconds since the Unix epoch (UTC). */
int64_t sk_now_ms(void);

/* Instants (parse, format, their UTC day) are common/date.h's sk_time_*. */

/* ---- a clock */

/* From the values of SKONTO_CLOCK (spec) and SKONTO_TODAY (today); either may
 * be NULL or "". NULL and err naming the variable on a bad value. */
sk_clock_t *sk_clock_new(const char *spec, const char *today, sk_err_t *err);
/* The same from the environment. */
sk_clock_t *sk_clock_new_env(sk_err_t *err);
void sk_clock_destroy(sk_clock_t **self_p);

sk_clock_mode_t sk_clock_mode(const sk_clock_t *self);
/* "system", "fixed", "redis": the mode's name as SKONTO_CLOCK spells it. */
const char *sk_clock_mode_name(const sk_clock_t *self);
/* Where the time comes from, for a start-up log line:
 * "system (the wall clock)", "fixed at 2026-11-02T09:00:00Z (SKONTO_TODAY)", ... */
char *sk_clock_describe(const sk_clock_t *self, char *buf, size_t n);

/* Reads the clock once for this loop turn: the wall clock, the fixed instant,
 * or (redis) GET sk:{sys}:clock on c. 0, or -1 and err when Redis fails or
 * the key holds no instant; the cached instant is then left as it was. c may
 * be NULL except in redis mode. */
int sk_clock_tick(sk_clock_t *self, struct redisContext *c, sk_err_t *err);
/* The instant and UTC day of the last tick (before the first: a tick is made
 * without Redis, so a redis clock gives the wall clock until it is read). */
int64_t sk_clock_now(const sk_clock_t *self);
sk_day_t sk_clock_today(const sk_clock_t *self);
/* Whether the last redis tick found the key (false: the wall clock was used). */
bool sk_clock_is_set(const sk_clock_t *self);

/* ---- moving simulated time (skontoctl clock; the caller's Redis user may
 * write sk:{sys}:clock). One atomic script (common/io/sk_clock.lua):
 * set: to at_ms, refused (code clock_earlier, the message naming the current
 * instant) when that is before the current simulated instant; advance: by
 * by_ms > 0. *now_ms receives the new instant. */
int sk_clock_redis_set(struct redisContext *c, int64_t at_ms, int64_t *now_ms, sk_err_t *err);
int sk_clock_redis_advance(struct redisContext *c, int64_t by_ms, int64_t *now_ms, sk_err_t *err);

#endif
