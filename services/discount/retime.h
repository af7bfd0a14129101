/* retime — a customer event's work in the due queue (docs/REMINDERS.md,
 * "Discount worker, customer event").
 *
 * Ingest has stored the new profile before the event reached the stream.
 * Before the event is acknowledged, the worker:
 *   - re-plans each open invoice of the customer (its copen) in the
 *     profile's zone with requeue.lua: the invoice's keys leave rdue and its
 *     next reminder (the first of the new plan neither sent nor in process)
 *     enters at its new instant. DISCOUNT_RETIME_CHUNK invoices per read and
 *     per write, so one customer with many invoices never blocks Redis long;
 *   - sets the customer's statement with retime.lua: opted out or cadence
 *     none, its pending key leaves rdue and stmt; else the next instant
 *     after now replaces the pending key when it differs. A pending key
 *     whose instant has passed (due, or being sent) is left to the reminder
 *     worker, which advances it after sending; retime.lua changes stmt only
 *     if it still holds the key read, so an advance in between wins.
 * Every step is idempotent: a worker killed midway leaves the entry pending,
 * and whoever applies it does it all again. */
#ifndef DISCOUNT_RETIME_H
#define DISCOUNT_RETIME_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "remind.h"
#include "requeue.h"

#define DISCOUNT_RETIME_CHUNK 200

/* The profile from an HMGET reply of the customer hash whose fields tz,
 * statement and optout are at elements at, at + 1, at + 2 (see
 * discount_profile_parse: always usable; -1 and err for a bad field). */
int discount_profile_from_reply(const sk_remind_settings_t *s, const redisReply *r, size_t at,
                                discount_profile_t *p, sk_err_t *err);

/* Reads the replies of n pipelined commands into out[0..n): 0, or -1 and err
 * ("redis": what failed, the connection's message; the replies read so far
 * are freed). Error replies are replies: the caller looks at each. */
int discount_read_replies(redisContext *c, redisReply **out, size_t n, const char *what,
                          sk_err_t *err);

/* What a re-time did, for the log. */
typedef struct {
    long invoices; /* open invoices planned again */
    long queued;   /* next reminders queued again */
    long removed;  /* keys sent to leave rdue (most were not queued) */
    int statement; /* 1 replaced or removed, 0 unchanged */
} discount_retime_t;

/* Re-times customer cid of shard `shard` at now_ms; sha is retime.lua's, q a
 * requeue batch on c with requeue.lua's sha (its counts grow).
 * 0, or -1 and err: code "redis" (the connection is unusable: reconnect,
 * the entry stays pending) or another code for data that cannot be used
 * (logged; the entry is acknowledged). */
int discount_retime_customer(redisContext *c, const char *sha, discount_requeue_t *q,
                             const sk_remind_settings_t *s,
                             int shard, const char *cid, int64_t now_ms, discount_retime_t *out,
                             sk_err_t *err);

/* retime.lua, embedded at build time. */
extern const char DISCOUNT_RETIME_LUA[];

#endif
