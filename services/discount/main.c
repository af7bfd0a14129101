/* skonto-discount — the calculator and settlement worker.
 *
 * Reads the 16 shard streams `sk:{sN}:events` as consumer SKONTO_WORKER_NAME
 * of group `discount`, and turns each entry into its invoice's new state with
 * one atomic Lua step (see apply.h). The loop, per batch:
 *   1. entries: its own pending ones at start (ID 0), retries that are due,
 *      entries claimed from dead consumers (XAUTOCLAIM, every ~5 s), new ones
 *      (XREADGROUP '>' COUNT 256 BLOCK 200);
 *   2. in waves, so that one order's entries apply in stream order and each
 *      is computed from the state its predecessor left: one pipelined round
 *      trip reads every invoice / history / customer profile (terms, zone,
 *      statement cadence, opt-out) of the wave (not the invoice of a first
 *      version of an order: the script's rev check answers STALE if it
 *      exists after all), a customer event's open invoices are re-timed and
 *      its statement set (retime.h, before its entry is acknowledged), the
 *      plans are computed in C with the due queue's changes (remind.h),
 *      and the wave's entries of each shard go to Redis as one apply script
 *      call per DISCOUNT_BATCH_ENTRIES, pipelined; each entry has its own result;
 *   3. STALE (someone changed the invoice in between) -> planned again at
 *      once; WAIT (the invoice says an earlier event of the order, by its
 *      `q`, is not applied: another worker holds it) -> left pending,
 *      retried with backoff; NOINV (a payment before its order) -> left pending, retried with
 *      backoff, given up (acknowledged, counted as an error) after
 *      SKONTO_NOINV_GIVEUP_MS. An order that has an entry waiting holds back
 *      its later entries, so they still apply in order.
 * At start, after the layout migration (migrate.h), what was stored before
 * the due queue existed is queued once (backfill.h).
 * Approved overrides (issue 9; docs/AUDIT.md section 8): after a batch (at
 * most every S_OVQ_EVERY_MS, 50 ms), the new orders of the 16 queues
 * sk:{audit}:ovq:N (same group and consumer
 * name; every S_CLAIM_EVERY_MS also this consumer's pending ones and a dead
 * consumer's idle ones), one at a time: GET the invoice and HMGET the
 * customer, plan (apply.h, discount_override_plan), one apply script call
 * (the invoice, counters, reminders and the hand-off to sk:{sN}:auditq, or
 * only the refusal's hand-off), then XACK + XDEL of the queue entry.
 * An entry acknowledged without being recorded (an error: paid invoice, other
 * currency, malformed, given up, ...) is kept on sk:{sN}:unapplied by the
 * same script call (see apply.h), so no money received goes unseen.
 * Nothing is acknowledged outside the apply script, so a kill -9 at any
 * instant leaves entries pending for this worker's restart (or another
 * worker's XAUTOCLAIM), and the script's XACK check makes a second
 * application a no-op.
 *
 * Environment (read with common/io/sk_config; a bad value stops the start,
 * exit 2): SKONTO_REDIS_URL, SKONTO_WORKER_NAME (default discount-1),
 * SKONTO_CLAIM_IDLE_MS (default 30000), SKONTO_NOINV_GIVEUP_MS (default
 * 600000; both ms, or a duration such as 30s), SKONTO_CLOCK / SKONTO_TODAY
 * (common/io/sk_clock: "today", read once per loop turn; default the UTC
 * date), SKONTO_LOG_FORMAT (json lines, or text; common/io/sk_log), and the
 * reminder settings of common/io/sk_remind (SKONTO_REMINDER_LEADS,
 * SKONTO_REMINDER_HOUR, SKONTO_DEFAULT_TZ, SKONTO_STATEMENT_WEEKDAY,
 * SKONTO_MAIL_DOMAIN): the due queue's instants are computed here.
 * Heartbeat each second: HSET sk:{sys}:hb <name> {pid, role, at_ms,
 * processed, errors, stale_retries, duplicates, order_waits (WAIT: an
 * earlier event of the order was held by another worker), waiting,
 * overrides_applied, overrides_refused}
 * (common/io/sk_heartbeat). SIGTERM/SIGINT (common/io/sk_signal): finish the
 * batch, exit 0. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "backfill.h"
#include "invoice.h"
#include "migrate.h"
#include "requeue.h"
#include "retime.h"
#include "keys.h"
#include "metrics.h"
#include "sk_clock.h"
#include "sk_config.h"
#include "sk_grow.h"
#include "sk_fmt.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_map.h"
#include "sk_metrics.h"
#include "sk_redis.h"
#include "sk_signal.h"

#define S_COUNT 256            /* entries per stream per read */
#define S_BLOCK_MS 200
#define S_CLAIM_EVERY_MS 5000
#define S_CLAIM_ROUNDS 8       /* XAUTOCLAIM pages per stream per sweep */
#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_CONFIG_DAY_MS ((int64_t)86400000)

typedef struct {
    discount_entry_t e;
    int attempts;
    int64_t first_ms; /* first NOINV */
    int64_t next_ms;  /* not retried before */
    uint64_t read_ns; /* sk_metrics_now_ns when read from its stream: the apply latency's start */
    /* per wave */
    redisReply *r_inv, *r_hist, *r_cust;
    discount_plan_t plan;
    bool sent;
    bool noinv; /* waiting for its invoice (holds back only non-order entries) */
    bool waits; /* waiting for an earlier event of its order (holds back nothing) */
} s_item_t;

typedef struct {
    s_item_t **v;
    size_t n, cap;
} s_list_t;

typedef struct {
    redisContext *c;
    char name[SK_ID_MAX + 1];
    char sha[41];
    char streams[SK_SHARDS][SK_KEY_MAX];
    char ovq[SK_SHARDS][SK_KEY_MAX]; /* sk:{audit}:ovq:N: approved overrides (override.h) */
    int64_t overrides_applied, overrides_refused, last_ovq_sweep_ms, last_ovq_ms;
    int64_t processed, errors, stale, dups, waits;
    int64_t claim_idle_ms, giveup_ms;
    int64_t last_claim_ms;
    sk_clock_t *clock;    /* business time: "today" (SKONTO_CLOCK, SKONTO_TODAY) */
    sk_remind_settings_t remind; /* SKONTO_REMINDER_* ...: the due queue's instants */
    char retime_sha[41];
    discount_requeue_t *requeue; /* a customer's re-time (requeue.lua) */
    sk_heartbeat_t *hb;
    s_list_t retry;
    discount_argv_t *argv;
    discount_batch_t *batch;
    discount_metrics_t *metrics; /* GET /metrics (metrics.h) */
} s_worker_t;

/* ---------------------------------------------------------------- lists and sets */

static int s_list_push(s_list_t *l, s_item_t *it)
{
    s_item_t **v = sk_grow(l->v, l->n, &l->cap, sizeof *v, 256);
    if (!v)
        return -1;
    l->v = v;
    l->v[l->n++] = it;
    return 0;
}

/* Items are recycled: a batch holds thousands, and fresh pages each time cost
 * more than the work on them. */
#define S_POOL_MAX 8192
static s_item_t *s_pool[S_POOL_MAX];
static size_t s_pool_n;

static s_item_t *s_item_new(void)
{
    s_item_t *it = s_pool_n ? s_pool[--s_pool_n] : malloc(sizeof *it);
    if (it) {
        it->attempts = 0;
        it->first_ms = it->next_ms = 0;
        it->r_inv = it->r_hist = it->r_cust = NULL;
        it->sent = it->noinv = it->waits = false;
    }
    return it;
}

static void s_item_free(s_item_t *it)
{
    if (!it)
        return;
    discount_entry_clear(&it->e);
    if (it->r_inv)
        freeReplyObject(it->r_inv);
    if (it->r_hist)
        freeReplyObject(it->r_hist);
    if (it->r_cust)
        freeReplyObject(it->r_cust);
    if (s_pool_n < S_POOL_MAX)
        s_pool[s_pool_n++] = it;
    else
        free(it);
}

static void s_pool_destroy(void)
{
    while (s_pool_n)
        free(s_pool[--s_pool_n]);
}

static void s_list_free_items(s_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        s_item_free(l->v[i]);
    l->n = 0;
}

static void s_list_destroy(s_list_t *l)
{
    s_list_free_items(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

/* The key that orders an item's application: shard and order id. */
static const char *s_order_key(const s_item_t *it, char *buf, size_t n)
{
    if (!it->e.env || !it->e.order_id)
        return NULL;
    sk_text_t t = sk_text(buf, n); /* "%d|%s", per entry and wave */
    sk_text_int(&t, it->e.shard);
    sk_text_char(&t, '|');
    sk_text_str(&t, it->e.order_id);
    return buf;
}

/* Orders with an entry waiting in the retry list. Their later entries wait
 * behind it, except that an entry waiting for its invoice (NOINV) does not
 * hold back the order event that creates the invoice. */
typedef struct {
    sk_map_t *all, *noinv; /* sets: "shard|order_id" -> 0 */
} s_block_t;

/* They grow with the retry list (no bound of their own). */
static int s_block_init(s_block_t *b)
{
    b->all = sk_map_new(SIZE_MAX);
    b->noinv = sk_map_new(SIZE_MAX);
    if (!b->all || !b->noinv) {
        sk_map_destroy(&b->all);
        sk_map_destroy(&b->noinv);
        return -1;
    }
    return 0;
}

static void s_block_destroy(s_block_t *b)
{
    sk_map_destroy(&b->all);
    sk_map_destroy(&b->noinv);
}

/* 0: it may go; 1: an entry of its order waits; 2: an entry of its order
 * waits for the invoice (so it, not an order event, waits for it too). */
static int s_blocked(const s_block_t *b, const s_item_t *it)
{
    char k[SK_ID_MAX + 16];
    const char *ok = s_order_key(it, k, sizeof k);
    if (!ok)
        return 0;
    if (sk_map_get(b->all, ok, NULL))
        return 1;
    if (it->e.kind != SK_EVENT_INVOICE && sk_map_get(b->noinv, ok, NULL))
        return 2;
    return 0;
}

/* Records that it waits in the retry list. An entry waiting for an earlier
 * event of its order (WAIT) holds nothing back: that earlier event must get
 * through, and anything later waits by its own number anyway. */
static void s_block(s_block_t *b, const s_item_t *it)
{
    char k[SK_ID_MAX + 16];
    const char *ok = it->waits ? NULL : s_order_key(it, k, sizeof k);
    if (ok)
        sk_map_put(it->noinv ? b->noinv : b->all, ok, 0); /* out of memory: not held back */
}

/* ---------------------------------------------------------------- Redis */

static bool s_conn_broken(const s_worker_t *w)
{
    return w->c == NULL || w->c->err != 0;
}

static void s_heartbeat(s_worker_t *w)
{
    sk_heartbeat_count(w->hb, "processed", w->processed);
    sk_heartbeat_count(w->hb, "errors", w->errors);
    sk_heartbeat_count(w->hb, "stale_retries", w->stale);
    sk_heartbeat_count(w->hb, "duplicates", w->dups);
    sk_heartbeat_count(w->hb, "order_waits", w->waits);
    sk_heartbeat_count(w->hb, "overrides_applied", w->overrides_applied);
    sk_heartbeat_count(w->hb, "overrides_refused", w->overrides_refused);
    sk_heartbeat_count(w->hb, "waiting", (int64_t)w->retry.n);
    sk_heartbeat_text(w->hb, "metrics", discount_metrics_address(w->metrics)); /* skontoctl status */
    sk_err_t err;
    if (sk_heartbeat_write(w->hb, w->c, &err))
        sk_log_error("%s", err.msg);
}

static void s_warn(const char *msg)
{
    sk_log_error("%s", msg);
}

static int s_setup(s_worker_t *w)
{
    sk_err_t err;
    w->c = sk_redis_connect_env(&err);
    if (!w->c) {
        sk_log_error("%s", err.msg);
        return -1;
    }
    w->requeue->c = w->c;
    if (sk_redis_load_script(w->c, DISCOUNT_APPLY_LUA, w->sha, &err) != 0 ||
        sk_redis_load_script(w->c, DISCOUNT_RETIME_LUA, w->retime_sha, &err) != 0 ||
        sk_redis_load_script(w->c, DISCOUNT_REQUEUE_LUA, w->requeue->sha, &err) != 0) {
        sk_log_error("%s", err.msg);
        return -1;
    }
    long migrated = 0;
    if (discount_migrate(w->c, s_warn, &migrated, &err) != 0) {
        sk_log_error("migrating invoices: %s", err.msg);
        return -1;
    }
    if (migrated > 0)
        sk_log("migrated %ld invoices to the packed layout", migrated);
    /* The due queue for what was stored before it existed, at the clock's
     * now (a redis clock is read first). */
    if (sk_clock_tick(w->clock, w->c, &err) != 0)
        sk_log_error("clock: %s", err.msg);
    discount_backfill_t bf;
    if (discount_backfill(w->c, &w->remind, sk_clock_now(w->clock), &bf, &err) != 0) {
        sk_log_error("backfilling the due queue: %s", err.msg);
        return -1;
    }
    if (!bf.skipped)
        sk_log("due queue backfilled: %ld reminders of %ld open invoices, %ld statements",
               bf.reminders, bf.invoices, bf.statements);
    discount_policy_rebuild_t pr;
    if (discount_policy_rebuild(w->c, &pr, &err) != 0) {
        sk_log_error("rebuilding the policy counters: %s", err.msg);
        return -1;
    }
    if (!pr.skipped)
        sk_log("policy counters rebuilt from %ld invoices", pr.invoices);
    for (int s = 0; s < 2 * SK_SHARDS; s++) {
        /* ID 0: entries added before the group existed are not skipped.
         * The event streams, then the override queues. */
        const char *stream = s < SK_SHARDS ? w->streams[s] : w->ovq[s - SK_SHARDS];
        const char *argv[6] = {"XGROUP", "CREATE", stream, SK_GROUP_DISCOUNT, "0", "MKSTREAM"};
        redisReply *r = redisCommandArgv(w->c, 6, argv, NULL);
        if (!r) {
            sk_log_error("XGROUP CREATE %s: %s", stream, w->c->errstr);
            return -1;
        }
        int bad = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0;
        if (bad)
            sk_log_error("XGROUP CREATE %s: %s", stream, r->str);
        freeReplyObject(r);
        if (bad)
            return -1;
    }
    return 0;
}

/* Turns the entries of one stream's reply into items appended to out.
 * skip (may be NULL) holds "shard|id" of entries already held. */
static int s_take_entries(s_worker_t *w, int shard, const redisReply *entries, s_list_t *out,
                          const sk_map_t *skip)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *en = entries->element[i];
        if (en->type != REDIS_REPLY_ARRAY || en->elements < 1 ||
            en->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const redisReply *id = en->element[0];
        if (skip) {
            char k[96];
            snprintf(k, sizeof k, "%d|%s", shard, id->str);
            if (sk_map_get(skip, k, NULL))
                continue;
        }
        const char *data = NULL, *seq = "", *user = "";
        size_t len = 0;
        if (en->elements >= 2 && en->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *fv = en->element[1];
            for (size_t j = 0; j + 1 < fv->elements; j += 2) {
                const redisReply *f = fv->element[j], *v = fv->element[j + 1];
                if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                    continue;
                if (!strcmp(f->str, "e")) {
                    data = v->str;
                    len = v->len;
                } else if (!strcmp(f->str, "q") && v->len > 0 && v->len < 20 &&
                           strspn(v->str, "0123456789") == v->len) {
                    seq = v->str;
                } else if (!strcmp(f->str, "u") && v->len <= SK_OVERRIDE_USER_MAX &&
                           strlen(v->str) == v->len) {
                    user = v->str; /* the sender ingest stored (accept.lua) */
                }
            }
        }
        s_item_t *it = s_item_new();
        if (!it)
            return -1;
        discount_entry_decode(&it->e, shard, id->str, id->len, data, len);
        it->read_ns = sk_metrics_now_ns();
        sk_text_t ts = sk_text(it->e.seq, sizeof it->e.seq),
                  tu = sk_text(it->e.user, sizeof it->e.user);
        sk_text_str(&ts, seq);
        sk_text_str(&tu, user);
        if (s_list_push(out, it) != 0) {
            s_item_free(it);
            return -1;
        }
    }
    return 0;
}

static int s_shard_of_stream(const s_worker_t *w, const redisReply *key)
{
    if (key->type != REDIS_REPLY_STRING)
        return -1;
    for (int s = 0; s < SK_SHARDS; s++)
        if (!strcmp(key->str, w->streams[s]))
            return s;
    return -1;
}

/* XREADGROUP on all streams; ids = NULL for '>' (new entries), else the
 * per-stream cursors into this consumer's pending entries (advanced). */
static int s_read(s_worker_t *w, char ids[SK_SHARDS][48], int block_ms, s_list_t *out)
{
    const char *argv[10 + 2 * SK_SHARDS];
    char count[16], block[16];
    int argc = 0;
    snprintf(count, sizeof count, "%d", S_COUNT);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = SK_GROUP_DISCOUNT;
    argv[argc++] = w->name;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (block_ms > 0) {
        snprintf(block, sizeof block, "%d", block_ms);
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    for (int s = 0; s < SK_SHARDS; s++)
        argv[argc++] = w->streams[s];
    for (int s = 0; s < SK_SHARDS; s++)
        argv[argc++] = ids ? ids[s] : ">";
    redisReply *r = redisCommandArgv(w->c, argc, argv, NULL);
    if (!r) {
        sk_log_error("XREADGROUP: %s", w->c->errstr);
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        sk_log_error("XREADGROUP: %s", r->str);
        rc = -1;
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *sr = r->element[i];
            if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2)
                continue;
            int shard = s_shard_of_stream(w, sr->element[0]);
            if (shard < 0)
                continue;
            const redisReply *en = sr->element[1];
            if (ids && en->type == REDIS_REPLY_ARRAY && en->elements > 0) {
                const redisReply *last = en->element[en->elements - 1];
                if (last->type == REDIS_REPLY_ARRAY && last->elements >= 1 &&
                    last->element[0]->type == REDIS_REPLY_STRING)
                    snprintf(ids[shard], 48, "%s", last->element[0]->str);
            }
            rc = s_take_entries(w, shard, en, out, NULL);
        }
    }
    freeReplyObject(r);
    return rc;
}

/* Claims entries idle for claim_idle_ms from any consumer (a dead worker's). */
static int s_claim(s_worker_t *w, s_list_t *out)
{
    char idle[24], count[16], key[96];
    sk_map_t *held;
    snprintf(idle, sizeof idle, "%" PRId64, w->claim_idle_ms);
    snprintf(count, sizeof count, "%d", S_COUNT);
    if (!(held = sk_map_new(w->retry.n)))
        return -1;
    for (size_t i = 0; i < w->retry.n; i++) {
        snprintf(key, sizeof key, "%d|%s", w->retry.v[i]->e.shard, w->retry.v[i]->e.id);
        sk_map_put(held, key, 0);
    }
    int rc = 0;
    size_t before = out->n;
    for (int s = 0; s < SK_SHARDS && rc == 0; s++) {
        char cursor[48] = "0-0";
        for (int round = 0; round < S_CLAIM_ROUNDS && rc == 0; round++) {
            const char *argv[9] = {"XAUTOCLAIM", w->streams[s], SK_GROUP_DISCOUNT, w->name, idle,
                                   cursor, "COUNT", count, NULL};
            redisReply *r = redisCommandArgv(w->c, 8, argv, NULL);
            if (!r) {
                sk_log_error("XAUTOCLAIM: %s", w->c->errstr);
                rc = -1;
                break;
            }
            bool more = false;
            if (r->type == REDIS_REPLY_ERROR) {
                sk_log_error("XAUTOCLAIM %s: %s", w->streams[s], r->str);
            } else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
                       r->element[0]->type == REDIS_REPLY_STRING) {
                snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
                rc = s_take_entries(w, s, r->element[1], out, held);
                more = strcmp(cursor, "0-0") != 0;
            }
            freeReplyObject(r);
            if (!more)
                break;
        }
    }
    sk_map_destroy(&held);
    if (out->n > before)
        sk_log("claimed %zu idle entries from other consumers", out->n - before);
    return rc;
}

/* ---------------------------------------------------------------- processing */

enum { S_HELD = 0, S_AGAIN = 1, S_BACKOFF = 2 };

/* Puts it in the retry list: S_HELD (behind another entry of its order) at
 * once; S_AGAIN (STALE) at once for the first tries, then like S_BACKOFF,
 * after a doubling delay. */
static int s_retry(s_worker_t *w, s_item_t *it, int64_t now, int why)
{
    if (why != S_HELD)
        it->attempts++;
    if (why == S_BACKOFF || (why == S_AGAIN && it->attempts > 3)) {
        int shift = it->attempts < 8 ? it->attempts - 1 : 7;
        int64_t d = (int64_t)S_BACKOFF_MIN_MS << shift;
        it->next_ms = now + (d < S_BACKOFF_MAX_MS ? d : S_BACKOFF_MAX_MS);
    } else {
        it->next_ms = now;
    }
    if (it->r_inv)
        freeReplyObject(it->r_inv);
    if (it->r_hist)
        freeReplyObject(it->r_hist);
    if (it->r_cust)
        freeReplyObject(it->r_cust);
    it->r_inv = it->r_hist = it->r_cust = NULL;
    it->sent = false;
    if (s_list_push(&w->retry, it) != 0) {
        s_item_free(it); /* stays pending in Redis: re-read after a restart */
        return -1;
    }
    return 0;
}

static int s_get_reply(s_worker_t *w, redisReply **out)
{
    void *r = NULL;
    if (redisGetReply(w->c, &r) != REDIS_OK || !r) {
        sk_log_error("Redis: %s", w->c->errstr[0] ? w->c->errstr : "no reply");
        return -1;
    }
    *out = r;
    return 0;
}

/* Queues the command built in a (sent with the next flush or reply read). */
static int s_append(s_worker_t *w, discount_argv_t *a)
{
    size_t len;
    const char *cmd = discount_argv_resp(a, &len);
    if (a->overflow) {
        sk_log_error("Redis: a command is too large to queue");
        return -1;
    }
    if (redisAppendFormattedCommand(w->c, cmd, len) != REDIS_OK) {
        sk_log_error("Redis: cannot queue a command: %s", w->c->errstr);
        return -1;
    }
    return 0;
}

/* Queues a small command given as strings. */
static int s_append3(s_worker_t *w, const char *a0, const char *a1, const char *a2)
{
    discount_argv_reset(w->argv);
    discount_argv_addz(w->argv, a0);
    discount_argv_addz(w->argv, a1);
    if (a2)
        discount_argv_addz(w->argv, a2);
    return s_append(w, w->argv);
}

/* Writes what hiredis has buffered (a blocking socket: until it is all sent). */
static int s_flush(s_worker_t *w)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(w->c, &done) != REDIS_OK) {
            sk_log_error("Redis: %s", w->c->errstr);
            return -1;
        }
    return 0;
}

/* Whether the wave reads its invoice. A first version of an order is planned
 * as if the invoice did not exist (nearly always true): the apply script
 * answers STALE if it does, and the retry reads it. */
static bool s_reads_invoice(const s_item_t *it)
{
    const discount_entry_t *e = &it->e;
    if (!discount_entry_needs_invoice(e))
        return false;
    if (e->kind == SK_EVENT_INVOICE && it->attempts == 0) {
        const Skonto__V1__Invoice *o = sk_event_invoice(e->env);
        if (o && o->version <= 1)
            return false;
    }
    return true;
}

/* Sends the batch's script call (queued, flushed with the next flush). */
static int s_send_batch(s_worker_t *w)
{
    size_t len;
    const char *cmd = discount_batch_command(w->batch, w->sha, &len);
    if (!cmd) {
        sk_log_error("Redis: a batch is too large to queue");
        return -1;
    }
    if (redisAppendFormattedCommand(w->c, cmd, len) != REDIS_OK) {
        sk_log_error("Redis: cannot queue a command: %s", w->c->errstr);
        return -1;
    }
    return s_flush(w); /* Redis runs it while the next batch is planned */
}

/* The entry's event id for a log line (NULL for an undecodable entry). */
static const char *s_event_id(const s_item_t *it)
{
    return it->e.env ? it->e.env->event_id : NULL;
}

/* What the apply script said about one entry: handles it. */
static int s_outcome(s_worker_t *w, s_item_t *it, const redisReply *r, bool *reload,
                     s_block_t *blocked, int64_t now)
{
    bool done = false;
    int why = S_AGAIN;
    if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)) {
        if (!strcmp(r->str, "OK")) {
            done = true;
            w->processed++;
            discount_metrics_entry(w->metrics, it->e.env,
                                   it->plan.error ? DISCOUNT_METRICS_ERROR
                                                  : DISCOUNT_METRICS_APPLIED,
                                   it->read_ns);
            if (it->plan.error) {
                w->errors++;
                sk_log_at(SK_LOG_ERROR, s_event_id(it), it->e.order_id, "%s", it->plan.msg);
            } else if (it->plan.msg[0]) {
                sk_log_at(SK_LOG_INFO, s_event_id(it), it->e.order_id, "%s", it->plan.msg);
            }
        } else if (!strcmp(r->str, "DUP")) {
            done = true;
            w->dups++;
            discount_metrics_entry(w->metrics, it->e.env, DISCOUNT_METRICS_DUPLICATE,
                                   it->read_ns);
        } else if (!strcmp(r->str, "STALE")) {
            w->stale++;
        } else {
            sk_log_error("entry %s: unexpected script reply %s", it->e.id, r->str);
            why = S_BACKOFF;
        }
    } else if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        *reload = true; /* Redis restarted or SCRIPT FLUSH: load it again below */
    } else {
        sk_log_error("entry %s: apply script failed: %s", it->e.id,
              r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        w->errors++;
        discount_metrics_redis_error(w->metrics);
        why = S_BACKOFF;
    }
    if (done) {
        s_item_free(it);
        return 0;
    }
    it->noinv = it->waits = false;
    s_block(blocked, it);
    return s_retry(w, it, now, why);
}

/* A customer event's re-time (retime.h); 0 also when the data could not be
 * used (logged: the event is acknowledged all the same), -1 when Redis
 * failed (the entry stays pending). */
static int s_retime(s_worker_t *w, const s_item_t *it, int64_t now_ms)
{
    const discount_entry_t *e = &it->e;
    if (!e->env || e->kind != SK_EVENT_CUSTOMER || !e->env->customer ||
        !e->env->customer->customer_id)
        return 0;
    const char *cid = e->env->customer->customer_id;
    discount_retime_t rt;
    sk_err_t err;
    if (discount_retime_customer(w->c, w->retime_sha, w->requeue, &w->remind, e->shard, cid,
                                 now_ms, &rt, &err) != 0) {
        sk_log_error("customer %s: re-timing its reminders: %s", cid, err.msg);
        return strcmp(err.code, "redis") ? 0 : -1;
    }
    if (rt.invoices || rt.statement)
        sk_log_at(SK_LOG_INFO, e->env->event_id, NULL,
                  "customer %s: %ld open invoices re-timed (%ld next reminders queued), "
                  "statement %s",
                  cid, rt.invoices, rt.queued, rt.statement ? "changed" : "kept");
    return 0;
}

/* Runs one wave: every item has a distinct order. Items that must wait are
 * moved to the retry list and their order key added to blocked. The items
 * of one shard are applied by one script call per DISCOUNT_BATCH_ENTRIES. */
static int s_wave(s_worker_t *w, s_list_t *wave, s_block_t *blocked)
{
    char key[SK_KEY_MAX];
    int64_t now = sk_now_ms();
    /* read once this loop turn */
    const discount_when_t when = {sk_clock_today(w->clock), sk_clock_now(w->clock), &w->remind};

    /* 1. reads */
    for (size_t i = 0; i < wave->n; i++) {
        s_item_t *it = wave->v[i];
        const discount_entry_t *e = &it->e;
        if (s_reads_invoice(it)) {
            if (s_append3(w, "GET", sk_key_invoice(key, e->shard, e->order_id), NULL) != 0)
                return -1;
        }
        if (discount_entry_needs_history(e)) {
            if (s_append3(w, "HGETALL", sk_key_history(key, e->shard, e->customer_id), NULL) != 0)
                return -1;
        }
        if (discount_entry_needs_customer(e)) {
            static const char *const fields[] = DISCOUNT_CUSTOMER_FIELDS;
            discount_argv_reset(w->argv);
            discount_argv_addz(w->argv, "HMGET");
            discount_argv_addz(w->argv, sk_key_customer(key, e->shard, e->customer_id));
            for (int f = 0; f < DISCOUNT_CUSTOMER_NFIELDS; f++)
                discount_argv_addz(w->argv, fields[f]);
            if (s_append(w, w->argv) != 0)
                return -1;
        }
    }
    for (size_t i = 0; i < wave->n; i++) {
        s_item_t *it = wave->v[i];
        const discount_entry_t *e = &it->e;
        if (s_reads_invoice(it) && s_get_reply(w, &it->r_inv) != 0)
            return -1;
        if (discount_entry_needs_history(e) && s_get_reply(w, &it->r_hist) != 0)
            return -1;
        if (discount_entry_needs_customer(e) && s_get_reply(w, &it->r_cust) != 0)
            return -1;
    }

    /* 1b. customer events: their invoices re-timed and statement set before
     * the entry is acknowledged below (retime.h) */
    for (size_t i = 0; i < wave->n; i++) {
        if (s_retime(w, wave->v[i], when.now_ms) != 0)
            return -1;
    }

    /* 2. plans, shard by shard, into batches; sent[] lists the items in the
     * order of their results, nsent[] the items of each batch. */
    s_item_t **sent = malloc((wave->n ? wave->n : 1) * sizeof *sent);
    size_t *nsent = malloc((wave->n ? wave->n : 1) * sizeof *nsent);
    size_t ns = 0, nb = 0;
    if (!sent || !nsent) {
        free(sent);
        free(nsent);
        sk_log_error("out of memory");
        return -1;
    }
    int rc = 0;
    w->batch->at_ms = now;
    for (int shard = 0; shard < SK_SHARDS && rc == 0; shard++) {
        discount_batch_reset(w->batch, shard);
        for (size_t i = 0; i < wave->n && rc == 0; i++) {
            s_item_t *it = wave->v[i];
            if (it->e.shard != shard)
                continue;
            discount_apply_plan(&it->e, it->r_inv, it->r_hist, it->r_cust, &when, w->batch,
                                &it->plan);
            if (it->plan.kind == DISCOUNT_PLAN_WAIT) {
                w->waits++; /* another worker holds an earlier event of the order */
                continue;
            }
            if (it->plan.kind == DISCOUNT_PLAN_NOINV) {
                if (!it->first_ms)
                    it->first_ms = now;
                if (now - it->first_ms < w->giveup_ms)
                    continue;
                it->plan.kind = DISCOUNT_PLAN_ACK;
                it->plan.error = true;
                snprintf(it->plan.msg, sizeof it->plan.msg,
                         "event %s: no invoice for order %s after %" PRId64 " s: not recorded",
                         it->e.env->event_id, it->e.order_id, (now - it->first_ms) / 1000);
                discount_apply_ack(&it->e, &it->plan, false, w->batch);
            }
            it->sent = true;
            sent[ns++] = it;
            if (discount_batch_full(w->batch)) {
                rc = s_send_batch(w);
                nsent[nb++] = (size_t)w->batch->n;
                discount_batch_reset(w->batch, shard);
            }
        }
        if (rc == 0 && w->batch->n > 0) {
            rc = s_send_batch(w);
            nsent[nb++] = (size_t)w->batch->n;
        }
    }
    if (rc != 0) {
        free(sent);
        free(nsent);
        return -1;
    }

    /* 3. outcomes (no other command may be sent before all are read) */
    bool reload = false;
    for (size_t i = 0; i < wave->n; i++) {
        s_item_t *it = wave->v[i];
        wave->v[i] = NULL;
        if (it->sent)
            continue; /* handled below, with its batch's reply */
        /* NOINV: wait for the order; WAIT: for the order's earlier event */
        it->noinv = it->plan.kind == DISCOUNT_PLAN_NOINV;
        it->waits = it->plan.kind == DISCOUNT_PLAN_WAIT;
        s_block(blocked, it);
        if (rc == 0 && s_retry(w, it, now, S_BACKOFF) != 0)
            rc = -1;
        else if (rc != 0)
            s_item_free(it); /* still pending in Redis */
    }
    size_t k = 0;
    for (size_t b = 0; b < nb; b++) {
        redisReply *r = NULL;
        if (rc == 0 && s_get_reply(w, &r) != 0)
            rc = -1;
        bool per_entry = r && r->type == REDIS_REPLY_ARRAY && r->elements == nsent[b];
        if (r && r->type == REDIS_REPLY_ARRAY && !per_entry)
            sk_log_error("apply script: %zu results for %zu entries", r->elements, nsent[b]);
        for (size_t j = 0; j < nsent[b]; j++, k++) {
            s_item_t *it = sent[k];
            if (rc != 0) {
                s_item_free(it); /* still pending in Redis: re-read after reconnecting */
                continue;
            }
            const redisReply *one = per_entry ? r->element[j] : (r->type == REDIS_REPLY_ARRAY ? NULL : r);
            if (s_outcome(w, it, one, &reload, blocked, now) != 0)
                rc = -1;
        }
        if (r)
            freeReplyObject(r);
    }
    free(sent);
    free(nsent);
    wave->n = 0;
    if (rc != 0)
        return -1;
    if (reload) {
        sk_err_t err;
        if (sk_redis_load_script(w->c, DISCOUNT_APPLY_LUA, w->sha, &err) != 0)
            sk_log_error("%s", err.msg);
    }
    return s_conn_broken(w) ? -1 : 0;
}

/* Applies a batch (takes its items). Entries of one order go in successive
 * waves, in stream order; entries of an order that has one waiting in the
 * retry list (blocked) join it there. */
static int s_process(s_worker_t *w, s_list_t *batch, s_block_t *blocked)
{
    s_list_t cur = *batch, later = {0}, wave = {0};
    char okey[SK_ID_MAX + 16];
    int rc = 0;
    memset(batch, 0, sizeof *batch);
    while (rc == 0 && cur.n > 0) {
        sk_map_t *inwave = sk_map_new(cur.n); /* orders with an entry in this wave */
        if (!inwave) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < cur.n; i++) {
            s_item_t *it = cur.v[i];
            const char *ok = s_order_key(it, okey, sizeof okey);
            int prc;
            cur.v[i] = NULL;
            int why = s_blocked(blocked, it);
            if (why) {
                it->noinv = why == 2;
                prc = s_retry(w, it, sk_now_ms(), S_HELD);
            }
            else if (ok && sk_map_put(inwave, ok, 0) == 1)
                prc = s_list_push(&later, it);
            else
                prc = s_list_push(&wave, it);
            if (prc != 0) {
                rc = -1;
                s_item_free(it); /* still pending in Redis */
            }
        }
        sk_map_destroy(&inwave);
        cur.n = 0;
        if (rc == 0 && wave.n)
            rc = s_wave(w, &wave, blocked);
        s_list_free_items(&wave);
        s_list_t t = cur;
        cur = later;
        later = t;
    }
    s_list_destroy(&cur);
    s_list_destroy(&later);
    s_list_destroy(&wave);
    return rc;
}

/* Moves the retries that are due (in order) into batch; an order with an
 * entry still waiting blocks its later entries. Returns ms until the next
 * retry is due (or S_BLOCK_MS). */
static int s_due_retries(s_worker_t *w, s_list_t *batch, s_block_t *blocked, int64_t now)
{
    int64_t wait = S_BLOCK_MS;
    size_t keep = 0;
    for (size_t i = 0; i < w->retry.n; i++) {
        s_item_t *it = w->retry.v[i];
        int why = s_blocked(blocked, it);
        bool held = why != 0;
        if (held)
            it->noinv = why == 2;
        if (!held && it->next_ms <= now && s_list_push(batch, it) == 0)
            continue;
        if (!held && it->next_ms - now < wait)
            wait = it->next_ms - now;
        s_block(blocked, it);
        w->retry.v[keep++] = it;
    }
    w->retry.n = keep;
    return wait < 0 ? 0 : (int)wait;
}

/* ---------------------------------------------------------------- overrides */

#define S_OVQ_COUNT 32     /* override orders read per queue per turn */
#define S_OVQ_EVERY_MS 50  /* new override orders are looked for at most this often */
#define S_OVQ_ATTEMPTS 8   /* STALE re-plans of one order in a turn */

/* Acknowledges and deletes a queue entry (after its apply call, or when
 * there was nothing to apply). */
static int s_ovq_done(s_worker_t *w, const discount_override_t *o)
{
    const char *ack[4] = {"XACK", w->ovq[o->shard], SK_GROUP_DISCOUNT, o->entry_id};
    const char *del[3] = {"XDEL", w->ovq[o->shard], o->entry_id};
    if (redisAppendCommandArgv(w->c, 4, ack, NULL) != REDIS_OK ||
        redisAppendCommandArgv(w->c, 3, del, NULL) != REDIS_OK)
        return -1;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        redisReply *r = NULL;
        if (s_get_reply(w, &r) != 0)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            sk_log_error("override %s: %s: %s", o->override_id, i ? "XDEL" : "XACK", r->str);
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

/* Applies one override order (apply.h, discount_override_plan): reads its
 * invoice and customer, plans, runs the apply script, then acknowledges the
 * queue entry. A kill -9 before the acknowledgement leaves it pending: read
 * again, it finds the override in the invoice (or its refusal in ovref) and
 * changes nothing. 0, also when it must wait (left pending); -1 when Redis
 * failed. */
static int s_override_one(s_worker_t *w, discount_override_t *o)
{
    char key[SK_KEY_MAX];
    static const char *const fields[] = DISCOUNT_CUSTOMER_FIELDS;
    for (int attempt = 0; attempt < S_OVQ_ATTEMPTS; attempt++) {
        redisReply *inv = NULL, *cust = NULL;
        discount_plan_t plan;
        bool applies = false;
        if (o->valid) {
            if (s_append3(w, "GET", sk_key_invoice(key, o->shard, o->order_id), NULL) != 0)
                return -1;
            discount_argv_reset(w->argv);
            discount_argv_addz(w->argv, "HMGET");
            discount_argv_addz(w->argv, sk_key_customer(key, o->shard, o->customer_id));
            for (int f = 0; f < DISCOUNT_CUSTOMER_NFIELDS; f++)
                discount_argv_addz(w->argv, fields[f]);
            if (s_append(w, w->argv) != 0 || s_get_reply(w, &inv) != 0 ||
                s_get_reply(w, &cust) != 0) {
                if (inv)
                    freeReplyObject(inv);
                return -1;
            }
        }
        const discount_when_t when = {sk_clock_today(w->clock), sk_clock_now(w->clock),
                                      &w->remind};
        discount_batch_reset(w->batch, o->shard);
        w->batch->at_ms = sk_now_ms();
        discount_override_plan(o, inv, cust, &when, w->batch, &plan, &applies);
        if (inv)
            freeReplyObject(inv);
        if (cust)
            freeReplyObject(cust);
        if (plan.kind == DISCOUNT_PLAN_WAIT) {
            sk_log("%s (left pending)", plan.msg);
            return 0;
        }
        const char *outcome = "OK";
        redisReply *r = NULL;
        if (plan.kind == DISCOUNT_PLAN_SCRIPT) {
            if (s_send_batch(w) != 0 || s_get_reply(w, &r) != 0)
                return -1;
            if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
                sk_err_t err;
                freeReplyObject(r);
                if (sk_redis_load_script(w->c, DISCOUNT_APPLY_LUA, w->sha, &err) != 0) {
                    sk_log_error("%s", err.msg);
                    return -1;
                }
                continue;
            }
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
                (r->element[0]->type != REDIS_REPLY_STATUS &&
                 r->element[0]->type != REDIS_REPLY_STRING)) {
                sk_log_error("override %s: apply script failed: %s", o->override_id,
                             r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
                freeReplyObject(r);
                w->errors++;
                return 0; /* left pending: retried at the next sweep */
            }
            outcome = r->element[0]->str;
            if (!strcmp(outcome, "STALE")) {
                freeReplyObject(r);
                w->stale++;
                continue; /* the invoice moved since it was read: plan again */
            }
        }
        if (plan.error) {
            w->errors++;
            sk_log_at(SK_LOG_ERROR, o->override_id, o->order_id[0] ? o->order_id : NULL, "%s",
                      plan.msg);
        } else if (strcmp(outcome, "DUP") != 0 && plan.msg[0]) {
            sk_log_at(SK_LOG_INFO, o->override_id, o->order_id, "%s", plan.msg);
        }
        if (plan.kind == DISCOUNT_PLAN_SCRIPT && !strcmp(outcome, "OK")) {
            if (applies)
                w->overrides_applied++;
            else
                w->overrides_refused++;
        }
        if (r)
            freeReplyObject(r);
        return s_ovq_done(w, o);
    }
    sk_log_error("override %s: the invoice kept moving; left pending", o->override_id);
    return 0;
}

/* Applies the override orders of one queue's entries (XREADGROUP or
 * XAUTOCLAIM reply). */
static int s_ovq_entries(s_worker_t *w, int shard, const redisReply *en)
{
    static discount_override_t o;
    int rc = 0;
    sk_err_t cerr;
    if (en->type == REDIS_REPLY_ARRAY && en->elements > 0 && sk_clock_tick(w->clock, w->c, &cerr))
        sk_log_error("clock: %s", cerr.msg); /* business time: as for the events */
    for (size_t j = 0; en->type == REDIS_REPLY_ARRAY && j < en->elements && rc == 0; j++) {
        const redisReply *e = en->element[j];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue; /* a deleted entry still pending: nothing to apply */
        const char *data = NULL;
        size_t len = 0;
        const redisReply *fv = e->element[1];
        for (size_t k = 0; fv->type == REDIS_REPLY_ARRAY && k + 1 < fv->elements; k += 2)
            if (fv->element[k]->type == REDIS_REPLY_STRING && !strcmp(fv->element[k]->str, "o") &&
                fv->element[k + 1]->type == REDIS_REPLY_STRING) {
                data = fv->element[k + 1]->str;
                len = fv->element[k + 1]->len;
            }
        discount_override_decode(&o, shard, e->element[0]->str, e->element[0]->len, data, len);
        rc = s_override_one(w, &o);
    }
    return rc;
}

/* Reads and applies override orders: new ones (">"), or, on a sweep, this
 * consumer's pending ones ("0": a wait, a crash) and those idle for
 * claim_idle_ms under another consumer (a dead worker's). */
static int s_overrides(s_worker_t *w, bool sweep)
{
    const char *argv[8 + 2 * SK_SHARDS];
    char count[16];
    snprintf(count, sizeof count, "%d", S_OVQ_COUNT);
    int argc = 0;
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = SK_GROUP_DISCOUNT;
    argv[argc++] = w->name;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    argv[argc++] = "STREAMS";
    for (int s = 0; s < SK_SHARDS; s++)
        argv[argc++] = w->ovq[s];
    for (int s = 0; s < SK_SHARDS; s++)
        argv[argc++] = sweep ? "0" : ">";
    redisReply *r = redisCommandArgv(w->c, argc, argv, NULL);
    if (!r) {
        sk_log_error("XREADGROUP (overrides): %s", w->c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        sk_log_error("XREADGROUP (overrides): %s", r->str);
        freeReplyObject(r);
        return 0;
    }
    /* a sweep also claims a dead worker's: one page per queue */
    redisReply *claimed[SK_SHARDS] = {0};
    if (sweep) {
        char idle[24];
        snprintf(idle, sizeof idle, "%" PRId64, w->claim_idle_ms);
        for (int s = 0; s < SK_SHARDS; s++) {
            const char *a[8] = {"XAUTOCLAIM", w->ovq[s], SK_GROUP_DISCOUNT, w->name, idle,
                                "0-0", "COUNT", count};
            if (redisAppendCommandArgv(w->c, 8, a, NULL) != REDIS_OK) {
                freeReplyObject(r);
                return -1;
            }
        }
        for (int s = 0; s < SK_SHARDS; s++)
            if (s_get_reply(w, &claimed[s]) != 0) {
                for (int k = 0; k < s; k++)
                    freeReplyObject(claimed[k]);
                freeReplyObject(r);
                return -1;
            }
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *sr = r->element[i];
            if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2 ||
                sr->element[0]->type != REDIS_REPLY_STRING)
                continue;
            for (int s = 0; s < SK_SHARDS; s++)
                if (!strcmp(sr->element[0]->str, w->ovq[s]))
                    rc = s_ovq_entries(w, s, sr->element[1]);
        }
    for (int s = 0; s < SK_SHARDS && rc == 0; s++)
        if (claimed[s] && claimed[s]->type == REDIS_REPLY_ARRAY && claimed[s]->elements >= 2)
            rc = s_ovq_entries(w, s, claimed[s]->element[1]);
    for (int s = 0; s < SK_SHARDS; s++)
        if (claimed[s])
            freeReplyObject(claimed[s]);
    freeReplyObject(r);
    return rc;
}

/* ---------------------------------------------------------------- main */

/* GET /metrics and /healthz when SKONTO_METRICS_ADDR is set (metrics.h).
 * 0, or -1 (logged) when the variable is bad: the worker refuses to start. */
static int s_metrics_setup(s_worker_t *w)
{
    sk_err_t err;
    w->metrics = discount_metrics_new(&err);
    if (!w->metrics) {
        sk_log_error("%s: refusing to start", err.msg);
        return -1;
    }
    if (*discount_metrics_address(w->metrics))
        sk_log("metrics at http://%s/metrics and /healthz", discount_metrics_address(w->metrics));
    return 0;
}
static int s_run(s_worker_t *w)
{
    char cursors[SK_SHARDS][48];
    bool own_pending = true;
    for (int s = 0; s < SK_SHARDS; s++)
        strcpy(cursors[s], "0");
    w->last_claim_ms = 0; /* a first sweep at once: a crashed worker's entries */
    w->last_ovq_sweep_ms = 0;

    while (!sk_signal_stopping()) {
        int64_t now = sk_now_ms(); /* wall time: heartbeats, retries, claims */
        discount_metrics_loop(w->metrics, true);
        if (sk_heartbeat_due(w->hb, now))
            s_heartbeat(w);
        if (s_conn_broken(w))
            return -1;

        s_list_t batch = {0};
        s_block_t blocked;
        if (s_block_init(&blocked) != 0)
            return -1;
        int rc = 0;
        int wait = s_due_retries(w, &batch, &blocked, now);
        if (own_pending) {
            /* what this consumer held when it last stopped (or was killed) */
            size_t before = batch.n;
            rc = s_read(w, cursors, 0, &batch);
            if (rc == 0 && batch.n == before) {
                own_pending = false;
                sk_log("own pending entries done; reading new entries");
            }
        } else {
            if (now - w->last_claim_ms >= S_CLAIM_EVERY_MS) {
                rc = s_claim(w, &batch);
                w->last_claim_ms = now;
            }
            if (rc == 0)
                rc = s_read(w, NULL, batch.n ? 0 : (wait > 0 ? wait : 1), &batch);
        }
        /* Business time: read once per turn, after the read (which may have
         * blocked), so every entry of the turn is judged by the same instant
         * and none by one from before it arrived. */
        if (rc == 0 && batch.n && !s_conn_broken(w)) {
            sk_err_t cerr;
            char day[16];
            if (sk_clock_tick(w->clock, w->c, &cerr))
                sk_log_error("clock: %s (today stays %s)", cerr.msg,
                             sk_date_format(sk_clock_today(w->clock), day, sizeof day));
        }
        discount_metrics_depth(w->metrics, batch.n, w->retry.n);
        if (rc == 0)
            rc = s_process(w, &batch, &blocked);
        /* Approved overrides (rare): new ones every turn, but at most every
         * S_OVQ_EVERY_MS (a busy worker turns far more often, and each look
         * is a round trip); pending and idle ones (a wait, a crash, a dead
         * worker) every S_CLAIM_EVERY_MS. */
        if (rc == 0 && !s_conn_broken(w)) {
            bool sweep = now - w->last_ovq_sweep_ms >= S_CLAIM_EVERY_MS;
            if (sweep)
                w->last_ovq_sweep_ms = now;
            if (sweep || now - w->last_ovq_ms >= S_OVQ_EVERY_MS) {
                w->last_ovq_ms = now;
                rc = s_overrides(w, sweep);
            }
        }
        s_list_destroy(&batch);
        s_block_destroy(&blocked);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s (configured by the environment: SKONTO_REDIS_URL, "
                        "SKONTO_WORKER_NAME, SKONTO_CLAIM_IDLE_MS, SKONTO_NOINV_GIVEUP_MS, "
                        "SKONTO_CLOCK, SKONTO_TODAY, SKONTO_LOG_FORMAT, SKONTO_METRICS_ADDR, "
                        "SKONTO_REMINDER_LEADS, SKONTO_REMINDER_HOUR, SKONTO_DEFAULT_TZ, "
                        "SKONTO_STATEMENT_WEEKDAY, SKONTO_MAIL_DOMAIN)\n",
                argv[0]);
        return 2;
    }
    static s_worker_t w;
    sk_err_t err;
    const char *name;
    if (sk_config_string("SKONTO_WORKER_NAME", "discount-1", SK_ID_MAX, &name, &err) ||
        sk_log_init(name, &err) ||
        sk_config_duration_ms("SKONTO_CLAIM_IDLE_MS", 30000, 1, S_CONFIG_DAY_MS, 1,
                              &w.claim_idle_ms, &err) ||
        sk_config_duration_ms("SKONTO_NOINV_GIVEUP_MS", 600000, 0, 365 * S_CONFIG_DAY_MS, 1,
                              &w.giveup_ms, &err) ||
        !(w.clock = sk_clock_new_env(&err)) ||
        sk_remind_settings_load(&w.remind, &err)) {
        sk_log_error("%s: refusing to start", err.msg);
        sk_clock_destroy(&w.clock);
        return 2;
    }
    snprintf(w.name, sizeof w.name, "%s", name);
    for (int s = 0; s < SK_SHARDS; s++)
        sk_key_events(w.streams[s], s), sk_key_override_queue(w.ovq[s], s);
    if (s_metrics_setup(&w)) {
        sk_clock_destroy(&w.clock);
        return 2;
    }
    w.argv = malloc(sizeof *w.argv);
    w.batch = discount_batch_new();
    w.requeue = calloc(1, sizeof *w.requeue);
    w.hb = sk_heartbeat_new(w.name, "discount");
    if (!w.argv || !w.batch || !w.requeue || !w.hb || sk_signal_install(&err)) {
        sk_log_error("%s", w.hb ? err.msg : "out of memory");
        free(w.argv);
        discount_batch_destroy(&w.batch);
        free(w.requeue);
        sk_heartbeat_destroy(&w.hb);
        sk_clock_destroy(&w.clock);
        discount_metrics_destroy(&w.metrics);
        return 1;
    }

    char how[160];
    sk_log("starting (pid %ld, Redis %s, clock %s)", (long)getpid(), sk_redis_url_env(),
           sk_clock_describe(w.clock, how, sizeof how));
    int delay_ms = 100, rc = 0;
    while (!sk_signal_stopping()) {
        if (s_setup(&w) == 0) {
            delay_ms = 100;
            if (s_run(&w) == 0)
                break;
        }
        /* Redis went away: drop what is in memory (it is still pending in
         * Redis and will be re-read) and connect again. */
        s_list_free_items(&w.retry);
        if (w.c)
            redisFree(w.c);
        w.c = NULL;
        discount_metrics_redis_error(w.metrics);
        discount_metrics_loop(w.metrics, false);
        if (sk_signal_stopping())
            break;
        sk_log_error("reconnecting in %d ms", delay_ms);
        struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
    if (w.c && !s_conn_broken(&w))
        s_heartbeat(&w);
    sk_log("stopping: %" PRId64 " processed, %" PRId64 " errors, %" PRId64
                  " stale retries, %" PRId64 " duplicates",
          w.processed, w.errors, w.stale, w.dups);
    s_list_destroy(&w.retry);
    s_pool_destroy();
    if (w.c)
        redisFree(w.c);
    free(w.argv);
    discount_batch_destroy(&w.batch);
    free(w.requeue);
    sk_heartbeat_destroy(&w.hb);
    sk_clock_destroy(&w.clock);
    discount_metrics_destroy(&w.metrics);
    return rc;
}
