/* skonto-bench-queue — the due queue with a million reminders pending
 * (issue 8): build-release/bin/skonto-bench-queue SOCKET CLAIM_LUA [pending]
 *
 * Against an empty redis-server on the unix socket SOCKET (bench/remind.sh
 * starts one, no persistence):
 *   1. loads `pending` (default 1,000,000) members into the 16 due queues
 *      sk:{sN}:rdue the way the discount worker writes them: 95 % reminder
 *      keys (sk_remind_key: tiers 0..2, leads 3 and 1, ids SO-0000001 ...,
 *      each order's customer C-000001 .. C-050000 and its shard) and 5 %
 *      statement keys (sk_statement_key), due at 09:00 on days spread over
 *      the next 90 days; pipelined ZADDs. Prints the load rate and Redis
 *      bytes per pending reminder (used_memory after - before, / pending);
 *   2. claims through the reminder worker's own script (CLAIM_LUA,
 *      services/reminder/claim.lua: KEYS rdue, rproc; ARGV now, lease,
 *      batch) with the clock at day 45, so about half of the queue is due:
 *        a. batch 100, one shard at a time (one round trip per call);
 *        b. batch 100, one call per shard per turn, the 16 pipelined (as a
 *           worker turn does);
 *        c. batch 1, one call at a time: the cost of firing one reminder
 *           with ~a million pending (O(log n): compare with d);
 *        d. batch 1 again once the queue holds only 10,000;
 *      each prints claims per second, Redis CPU per claim (INFO cpu: the
 *      server's whole work, sockets included) and the time inside the
 *      script per call (INFO commandstats, EVALSHA's usec).
 * Exits 1 if a claim returns other than what was asked (too few keys while
 * enough are due, or an error). */
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "keys.h"
#include "sk_remind.h"

#define S_CUSTOMERS 50000
#define S_PIPE 1000 /* commands in flight while loading */
#define S_DAY_MS INT64_C(86400000)

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void s_die(redisContext *c, const char *what)
{
    fprintf(stderr, "skonto-bench-queue: %s: %s\n", what, c && c->err ? c->errstr : "failed");
    exit(1);
}

/* A field of INFO (e.g. "used_memory:"), as a number. */
static double s_info(redisContext *c, const char *section, const char *field)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (!r || r->type != REDIS_REPLY_STRING)
        s_die(c, "INFO");
    const char *p = strstr(r->str, field);
    double v = p ? strtod(p + strlen(field), NULL) : -1;
    freeReplyObject(r);
    return v;
}

static double s_redis_cpu(redisContext *c)
{
    return s_info(c, "cpu", "used_cpu_user:") + s_info(c, "cpu", "used_cpu_sys:");
}

/* usec spent in EVALSHA so far (INFO commandstats): the script's own time,
 * without reading and writing the sockets. */
static double s_evalsha_usec(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO commandstats");
    if (!r || r->type != REDIS_REPLY_STRING)
        s_die(c, "INFO commandstats");
    const char *p = strstr(r->str, "cmdstat_evalsha:");
    p = p ? strstr(p, "usec=") : NULL;
    double v = p ? strtod(p + 5, NULL) : 0;
    freeReplyObject(r);
    return v;
}

static long long s_zcard_all(redisContext *c, bool proc)
{
    long long n = 0;
    for (int s = 0; s < SK_SHARDS; s++) {
        char key[SK_KEY_MAX];
        redisReply *r = redisCommand(c, "ZCARD %s",
                                     proc ? sk_key_remind_proc(key, s) : sk_key_remind_due(key, s));
        if (!r || r->type != REDIS_REPLY_INTEGER)
            s_die(c, "ZCARD");
        n += r->integer;
        freeReplyObject(r);
    }
    return n;
}

/* 09:00 UTC-ish on day `d` of the 90, shifted by the customer's "zone"
 * (-12 .. +12 h in whole hours, as customers' zones are). */
static int64_t s_due(int64_t base_ms, long i, long cust)
{
    return base_ms + (int64_t)(i * 7919 % 90) * S_DAY_MS + INT64_C(9) * 3600000 +
           (int64_t)(cust % 25 - 12) * 3600000;
}

static void s_load(redisContext *c, const sk_remind_settings_t *st, long pending, int64_t base_ms)
{
    (void)st;
    long inflight = 0;
    for (long i = 0; i < pending; i++) {
        char member[SK_REMIND_KEY_MAX], score[24], key[SK_KEY_MAX], cust[16];
        long c_no;
        if (i % 20 == 19) { /* a statement: one per customer at most */
            c_no = (i / 20) % S_CUSTOMERS + 1;
            snprintf(cust, sizeof cust, "C-%06ld", c_no);
            sk_statement_key(member, sizeof member, cust, s_due(base_ms, i, c_no));
        } else {
            long order = i / 6 + 1; /* 3 tiers x 2 leads per order */
            int tier = (int)(i % 6 / 2), lead = i % 2 ? 1 : 3;
            char oid[24];
            snprintf(oid, sizeof oid, "SO-%07ld", order);
            c_no = order % S_CUSTOMERS + 1;
            snprintf(cust, sizeof cust, "C-%06ld", c_no);
            sk_day_t last = sk_time_day(base_ms) + (sk_day_t)(i * 7919 % 90) + lead;
            if (sk_remind_key(member, sizeof member, oid, tier, last, lead) < 0)
                s_die(NULL, "sk_remind_key");
        }
        snprintf(score, sizeof score, "%lld", (long long)s_due(base_ms, i, c_no));
        sk_key_remind_due(key, sk_shard_of(cust));
        const char *av[4] = {"ZADD", key, score, member};
        size_t lv[4] = {4, strlen(key), strlen(score), strlen(member)};
        if (redisAppendCommandArgv(c, 4, av, lv) != REDIS_OK)
            s_die(c, "ZADD");
        if (++inflight == S_PIPE || i == pending - 1) {
            for (; inflight > 0; inflight--) {
                void *r;
                if (redisGetReply(c, &r) != REDIS_OK)
                    s_die(c, "ZADD reply");
                if (((redisReply *)r)->type == REDIS_REPLY_ERROR)
                    s_die(NULL, ((redisReply *)r)->str);
                freeReplyObject(r);
            }
        }
    }
}

/* One claim call's reply: the number of keys it took, or exits. */
static long s_claimed(redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        fprintf(stderr, "skonto-bench-queue: claim: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        exit(1);
    }
    return (long)r->elements - 2;
}

typedef struct {
    redisContext *c;
    const char *sha;
    char now[24];
} s_claim_t;

static void s_append_claim(s_claim_t *cl, int shard, int batch)
{
    char due[SK_KEY_MAX], proc[SK_KEY_MAX], b[16];
    snprintf(b, sizeof b, "%d", batch);
    const char *av[8] = {
        "EVALSHA", cl->sha,  "2", sk_key_remind_due(due, shard), sk_key_remind_proc(proc, shard),
        cl->now,   "600000", b};
    size_t lv[8];
    for (int i = 0; i < 8; i++)
        lv[i] = strlen(av[i]);
    if (redisAppendCommandArgv(cl->c, 8, av, lv) != REDIS_OK)
        s_die(cl->c, "EVALSHA");
}

static long s_get_claim(s_claim_t *cl)
{
    void *r;
    if (redisGetReply(cl->c, &r) != REDIS_OK)
        s_die(cl->c, "EVALSHA reply");
    long n = s_claimed(r);
    freeReplyObject(r);
    return n;
}

/* Runs `calls` claim calls (pipelined: 16 at a time, one per shard) and
 * prints the rate. */
static void s_run(s_claim_t *cl, const char *what, long calls, int batch, bool pipelined)
{
    double cpu0 = s_redis_cpu(cl->c), us0 = s_evalsha_usec(cl->c), t0 = s_now();
    long claimed = 0, asked = 0;
    for (long k = 0; k < calls;) {
        int n = pipelined ? SK_SHARDS : 1;
        for (int s = 0; s < n; s++)
            s_append_claim(cl, (int)((k + s) % SK_SHARDS), batch);
        for (int s = 0; s < n; s++)
            claimed += s_get_claim(cl);
        asked += (long)n * batch;
        k += n;
    }
    double secs = s_now() - t0, cpu = s_redis_cpu(cl->c) - cpu0;
    double script_us = s_evalsha_usec(cl->c) - us0;
    if (claimed != asked) {
        fprintf(stderr, "skonto-bench-queue: %s: claimed %ld of %ld asked (not enough due?)\n",
                what, claimed, asked);
        exit(1);
    }
    printf("  %-48s %8.0f claims/s %6.3f ms/call; Redis CPU %5.2f us/claim, in the script "
           "%5.2f us/call\n",
           what, (double)claimed / secs, secs / (double)calls * 1e3, cpu / (double)claimed * 1e6,
           script_us / (double)calls);
}

static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n == 65535) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: skonto-bench-queue SOCKET CLAIM_LUA [pending]\n");
        return 2;
    }
    long pending = argc > 3 ? atol(argv[3]) : 1000000;
    if (pending < 20000 || pending > 20000000) {
        fprintf(stderr, "skonto-bench-queue: pending: want 20000 .. 20000000\n");
        return 2;
    }
    sk_remind_settings_t st;
    sk_err_t err;
    if (sk_remind_settings_parse(&st, NULL, NULL, NULL, NULL, NULL, &err)) {
        fprintf(stderr, "skonto-bench-queue: %s\n", err.msg);
        return 2;
    }
    char *lua = s_read_file(argv[2]);
    if (!lua) {
        fprintf(stderr, "skonto-bench-queue: cannot read %s\n", argv[2]);
        return 2;
    }
    redisContext *c = redisConnectUnix(argv[1]);
    if (!c || c->err)
        s_die(c, "connect");
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", lua);
    free(lua);
    if (!r || r->type != REDIS_REPLY_STRING)
        s_die(c, r && r->type == REDIS_REPLY_ERROR ? r->str : "SCRIPT LOAD");
    char sha[64];
    snprintf(sha, sizeof sha, "%s", r->str);
    freeReplyObject(r);
    if (s_zcard_all(c, false) || s_zcard_all(c, true)) {
        fprintf(stderr, "skonto-bench-queue: the due queues are not empty (use an empty redis)\n");
        return 2;
    }

    int64_t base_ms = INT64_C(1798761600000); /* 2027-01-01T00:00:00Z */
    double mem0 = s_info(c, "memory", "used_memory:");
    double t0 = s_now();
    s_load(c, &st, pending, base_ms);
    double load_s = s_now() - t0;
    double mem1 = s_info(c, "memory", "used_memory:");
    long long n = s_zcard_all(c, false);
    printf("due queue: %lld pending in 16 shards (reminder and statement keys, due over 90 days)\n",
           n);
    printf("  loaded with pipelined ZADD: %.1f s, %.0f members/s\n", load_s,
           (double)pending / load_s);
    printf("  Redis memory: %.0f bytes per pending reminder (used_memory %+.1f MB)\n",
           (mem1 - mem0) / (double)n, (mem1 - mem0) / 1e6);

    /* the clock at day 45: about half is due */
    s_claim_t cl = {c, sha, ""};
    snprintf(cl.now, sizeof cl.now, "%lld", (long long)(base_ms + INT64_C(45) * S_DAY_MS));
    printf("claims through services/reminder/claim.lua (lease 600 s), clock at day 45:\n");
    long calls = pending / 100 / 10; /* ~10 % of the queue per run with batch 100 */
    s_run(&cl, "a. batch 100, one call at a time", calls, 100, false);
    s_run(&cl, "b. batch 100, 16 shards pipelined per turn", calls / 16 * 16, 100, true);
    s_run(&cl, "c. batch 1, one call at a time", pending / 50 < 20000 ? pending / 50 : 20000, 1,
          false);
    long long left = s_zcard_all(c, false);
    printf("  (still pending: %lld; in process: %lld)\n", left, s_zcard_all(c, true));

    /* d. the same with only 10,000 pending: delete all but the first members */
    for (int s = 0; s < SK_SHARDS; s++) {
        char key[SK_KEY_MAX];
        r = redisCommand(c, "ZREMRANGEBYRANK %s %d -1", sk_key_remind_due(key, s),
                         10000 / SK_SHARDS);
        if (!r || r->type != REDIS_REPLY_INTEGER)
            s_die(c, "ZREMRANGEBYRANK");
        freeReplyObject(r);
        r = redisCommand(c, "DEL %s", sk_key_remind_proc(key, s));
        freeReplyObject(r);
    }
    printf("  (now pending: %lld)\n", s_zcard_all(c, false));
    s_run(&cl, "d. batch 1, one call at a time, 10,000 pending",
          pending / 10 < 5000 ? pending / 10 : 5000, 1, false);
    redisFree(c);
    return 0;
}
