/* sk_heartbeat — the one writer of a worker's heartbeat.
 *
 * Every worker writes, about once a second (wall time), one field of the hash
 * sk:{sys}:hb: its name -> a JSON object
 *   {"pid":4711,"role":"discount","at_ms":1764585450123,<counters>...}
 * pid, role and at_ms (wall-clock ms) first, then the worker's counters in
 * the order it named them. `skontoctl status` and deploy/local.sh read this
 * format (local.sh looks for "pid":N), so it stays as it is.
 *
 *   sk_heartbeat_t *hb = sk_heartbeat_new("discount-1", "discount");
 *   sk_heartbeat_count(hb, "processed", n); ...          each turn, any order
 *   if (sk_heartbeat_due(hb, sk_now_ms())) sk_heartbeat_write(hb, redis, &err);
 *   sk_heartbeat_destroy(&hb); */
#ifndef SK_HEARTBEAT_H
#define SK_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "sk_error.h"

struct redisContext;

#define SK_HEARTBEAT_EVERY_MS 1000
#define SK_HEARTBEAT_COUNTERS 16 /* counters one heartbeat can carry */

typedef struct _sk_heartbeat_t sk_heartbeat_t;

/* name is the worker's field in sk:{sys}:hb, role its kind; both copied. */
sk_heartbeat_t *sk_heartbeat_new(const char *name, const char *role);
void sk_heartbeat_destroy(sk_heartbeat_t **self_p);

/* Sets counter `field` (a string literal: kept, not copied) to value; a new
 * field goes after the ones set before. Beyond SK_HEARTBEAT_COUNTERS fields a
 * new one is ignored (a programmer's mistake, not input). */
void sk_heartbeat_count(sk_heartbeat_t *self, const char *field, int64_t value);
/* Sets text field `field` (a literal, kept) to value (copied, at most 127
 * bytes); "" leaves the field out of the heartbeat. Written after the counters. */
void sk_heartbeat_text(sk_heartbeat_t *self, const char *field, const char *value);

/* True when the last write is SK_HEARTBEAT_EVERY_MS or more before now_ms
 * (and before the first write). */
bool sk_heartbeat_due(const sk_heartbeat_t *self, int64_t now_ms);
/* Forgets the last write, so the next sk_heartbeat_due is true (after a reconnect). */
void sk_heartbeat_reset(sk_heartbeat_t *self);

/* The JSON value for at_ms (malloc'd; NULL when out of memory). */
char *sk_heartbeat_json(const sk_heartbeat_t *self, int64_t at_ms);

/* HSET sk:{sys}:hb name <json> with at_ms = sk_now_ms(): queued on c (the
 * caller reads the reply, one integer, in its pipeline: append) or sent and
 * its reply checked (write). 0, or -1 and err. */
int sk_heartbeat_append(sk_heartbeat_t *self, struct redisContext *c, sk_err_t *err);
int sk_heartbeat_write(sk_heartbeat_t *self, struct redisContext *c, sk_err_t *err);

#endif
