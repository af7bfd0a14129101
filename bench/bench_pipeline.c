/* bench_pipeline — end-to-end benchmark of the order path, ERP to stored schedule.
 *
 * Drives a running stack (bench/run.sh starts redis-server, skonto-ingest and
 * the discount workers; this program starts nothing) through the public
 * interfaces only: ZeroMQ DEALER -> ingest's ROUTER for events, Redis for
 * completion and memory. It measures, in one run:
 *
 *   (a) throughput: N pre-built order events on one DEALER with a window of W
 *       unacknowledged events; the rate of acknowledgements, and the rate
 *       until every schedule is stored (every order is an open invoice in
 *       Redis), which is the figure the target is about;
 *   (b) acknowledgement latency at a fixed offered load (5 000 orders/s for
 *       10 s): p50, p99, max from send to Ack;
 *   (c) Redis memory per open invoice: INFO used_memory after (a) minus
 *       before (a), divided by the invoices (a) stored. Everything an order
 *       leaves behind counts: the invoice, its next reminder in the due
 *       queue, the customer's open set, the forecast entries, the order
 *       index, the versions record and the claim of its event id;
 *   (d) redis-benchmark's pipelined HSET of 4 fields on random keys against
 *       the same server, and the ratio of (a) to it.
 *
 * "Stored" is counted exactly without SCAN: the discount worker counts every
 * invoice whose schedule offers tier i at rate r in the shard's take-up
 * counter `offered|t<i>|<r>` (README, "Take-up counters"), in the step that
 * stores it, and every bench order has BENCH_TERMS, so the sum of the 16
 * shards' BENCH_OFFERED reaches N exactly when the last schedule is stored.
 * The stream lengths (discount XDELs what it applied) are checked beside it.
 *
 * Where the time goes: SKONTO_BENCH_PIDS="name:pid ..." (run.sh sets it)
 * makes (a) report each process's CPU use, and Redis's command statistics
 * for (a) are printed, so a shortfall can be pinned on a process.
 *
 * Usage: skonto-bench [--orders N] [--customers C] [--window W] [--rate R]
 *                     [--seconds S] [--no-redis-benchmark]
 * Env: SKONTO_INGEST_ENDPOINT, SKONTO_REDIS_URL (unix:///path for (d)). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "date.h"
#include "keys.h"
#include "sk_redis.h"
#include "skonto/v1/skonto.pb-c.h"

#include "bench_lib.h"

#define DRAIN_TIMEOUT_MS 300000

/* Targets from the issue, printed beside the figures. */
#define TARGET_ORDERS_PER_S 40000.0
#define TARGET_P99_MS 10.0
#define TARGET_BYTES_PER_INVOICE 1024.0

typedef struct {
    long orders, customers, window, rate, seconds;
    bool redis_benchmark;
} s_opts_t;

/* ------------------------------------------------------------------ Redis */

static redisReply *s_cmd(bench_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(b->redis, fmt, ap);
    va_end(ap);
    if (!r)
        bench_die(b->redis->errstr);
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "skonto-bench: redis: %s\n", r->str);
        exit(1);
    }
    return r;
}

/* Sum over the 16 shards of the invoices stored (BENCH_OFFERED) and of XLEN events (queued). */
static void s_counts(bench_t *b, long long *stored, long long *queued)
{
    char key[SK_KEY_MAX];
    for (int s = 0; s < SK_SHARDS; s++) {
        redisAppendCommand(b->redis, "HGET %s %s", sk_key_takeup(key, s), BENCH_OFFERED);
        redisAppendCommand(b->redis, "XLEN %s", sk_key_events(key, s));
    }
    *stored = *queued = 0;
    for (int s = 0; s < 2 * SK_SHARDS; s++) {
        redisReply *r;
        if (redisGetReply(b->redis, (void **)&r) != REDIS_OK)
            bench_die(b->redis->errstr);
        if (s % 2 == 0 && r->type == REDIS_REPLY_STRING)
            *stored += strtoll(r->str, NULL, 10);
        else if (s % 2 == 1 && r->type == REDIS_REPLY_INTEGER)
            *queued += r->integer;
        else if (r->type != REDIS_REPLY_NIL)
            bench_die("unexpected reply to HGET/XLEN");
        freeReplyObject(r);
    }
}

/* Waits until `want` invoices are stored and the streams are empty; returns the time. */
static uint64_t s_wait_stored(bench_t *b, long long want)
{
    uint64_t start = bench_now_ns();
    long long stored, queued;
    for (;;) {
        s_counts(b, &stored, &queued);
        if (stored >= want && queued == 0)
            return bench_now_ns();
        if (bench_now_ns() - start > (uint64_t)DRAIN_TIMEOUT_MS * 1000000u) {
            fprintf(stderr,
                    "skonto-bench: after %d s only %lld of %lld invoices stored, %lld events "
                    "queued (are the discount workers running?)\n",
                    DRAIN_TIMEOUT_MS / 1000, stored, want, queued);
            exit(1);
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

static long long s_info_field(bench_t *b, const char *section, const char *field)
{
    redisReply *r = s_cmd(b, "INFO %s", section);
    long long v = -1;
    size_t flen = strlen(field);
    for (const char *p = r->str; p && *p;) {
        if (!strncmp(p, field, flen) && p[flen] == ':') {
            v = strtoll(p + flen + 1, NULL, 10);
            break;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    freeReplyObject(r);
    return v;
}

/* Prints Redis's busiest commands since the last CONFIG RESETSTAT. */
static void s_print_commandstats(bench_t *b, double seconds)
{
    redisReply *r = s_cmd(b, "INFO commandstats");
    struct {
        char name[48];
        long long calls, usec;
    } top[64];
    int n = 0;
    long long total = 0;
    for (const char *p = r->str; p && *p && n < 64;) {
        char name[48];
        long long calls, usec;
        if (sscanf(p, "cmdstat_%47[^:]:calls=%lld,usec=%lld", name, &calls, &usec) == 3) {
            snprintf(top[n].name, sizeof top[n].name, "%s", name);
            top[n].calls = calls;
            top[n].usec = usec;
            total += usec;
            n++;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    freeReplyObject(r);
    for (int i = 0; i < n; i++) /* a handful of entries: selection sort */
        for (int j = i + 1; j < n; j++)
            if (top[j].usec > top[i].usec) {
                __typeof__(top[0]) t = top[i];
                top[i] = top[j];
                top[j] = t;
            }
    printf("    redis-server command time during (a), busiest first (commands a script runs\n"
           "    are counted in evalsha and again on their own line): %.2f s in %.2f s\n",
           (double)total / 1e6, seconds);
    for (int i = 0; i < n && i < 12; i++)
        printf("      %-14s %9lld calls %8.2f s %6.2f us/call\n", top[i].name, top[i].calls,
               (double)top[i].usec / 1e6, top[i].calls ? (double)top[i].usec / top[i].calls : 0);
}

/* ------------------------------------------------------------------ CPU per process */

typedef struct {
    char name[32];
    int pid;
    double cpu0;
} s_proc_t;

static double s_cpu_seconds(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int s_procs_parse(s_proc_t *procs, int max)
{
    const char *env = getenv("SKONTO_BENCH_PIDS");
    int n = 0;
    if (!env)
        return 0;
    if (n < max) { /* the sender itself */
        snprintf(procs[n].name, sizeof procs[n].name, "skonto-bench");
        procs[n].pid = (int)getpid();
        procs[n].cpu0 = s_cpu_seconds(procs[n].pid);
        n++;
    }
    char *copy = strdup(env), *save = NULL;
    if (!copy)
        bench_die("out of memory");
    for (char *tok = strtok_r(copy, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save)) {
        char *colon = strrchr(tok, ':');
        if (!colon)
            continue;
        *colon = '\0';
        snprintf(procs[n].name, sizeof procs[n].name, "%s", tok);
        procs[n].pid = atoi(colon + 1);
        procs[n].cpu0 = s_cpu_seconds(procs[n].pid);
        n++;
    }
    free(copy);
    return n;
}

/* ------------------------------------------------------------------ (b) latency */

typedef struct {
    uint64_t *sent_at;
    uint64_t *latency;
    long n, nlat;
    const char *prefix;
    long rate;             /* offered orders/s: order i is sent in second i / rate */
    double sec_max[64];    /* worst latency (ms) of the orders sent in each second */
} s_lat_t;

static void s_on_latency_ack(void *arg, const char *event_id, uint64_t now)
{
    s_lat_t *l = arg;
    size_t plen = strlen(l->prefix);
    if (strncmp(event_id, l->prefix, plen))
        return;
    char *end;
    long i = strtol(event_id + plen, &end, 10);
    if (*end || i < 0 || i >= l->n || !l->sent_at[i])
        return;
    uint64_t d = now - l->sent_at[i];
    l->latency[l->nlat++] = d;
    long sec = i / l->rate;
    if (sec < 64 && (double)d / 1e6 > l->sec_max[sec])
        l->sec_max[sec] = (double)d / 1e6;
    l->sent_at[i] = 0;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ (d) redis-benchmark */

static double s_redis_benchmark(const char *sock)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "redis-benchmark -s '%s' -P 32 -n 1000000 -r 1000000 -q "
             "HSET key:__rand_int__ f1 v1 f2 v2 f3 v3 f4 v4 2>&1",
             sock);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        return -1;
    /* -q prints progress lines ending in \r, then "...: 271739.14 requests per second, ..." */
    char *hit = strstr(out, " requests per second");
    if (!hit)
        return -1;
    char *start = hit;
    while (start > out && (start[-1] == '.' || (start[-1] >= '0' && start[-1] <= '9')))
        start--;
    return strtod(start, NULL);
}

/* ------------------------------------------------------------------ main */

static long s_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "skonto-bench: %s needs a value\n", argv[*i]);
        exit(2);
    }
    char *end;
    long v = strtol(argv[++*i], &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "skonto-bench: %s %s: want a positive number\n", argv[*i - 1], argv[*i]);
        exit(2);
    }
    return v;
}

static const char *s_verdict(bool ok)
{
    return ok ? "met" : "SHORT";
}

int main(int argc, char **argv)
{
    s_opts_t o = {200000, 5000, 20000, 5000, 10, true};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--orders"))
            o.orders = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--customers"))
            o.customers = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--window"))
            o.window = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--rate"))
            o.rate = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--seconds"))
            o.seconds = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--no-redis-benchmark"))
            o.redis_benchmark = false;
        else {
            fprintf(stderr, "usage: skonto-bench [--orders N] [--customers C] [--window W] "
                            "[--rate R] [--seconds S] [--no-redis-benchmark]\n");
            return 2;
        }
    }
    bench_t b = {0};
    bench_connect(&b);
    sk_date_format((sk_day_t)(time(NULL) / 86400), b.today, sizeof b.today);

    /* Pre-build everything so that (a) measures Skonto, not the sender. */
    uint64_t seq = 1;
    bench_buf_t *cust = bench_xmalloc(sizeof *cust * (size_t)o.customers);
    for (long i = 0; i < o.customers; i++)
        cust[i] = bench_customer_event(i, seq++);
    bench_buf_t *orders = bench_xmalloc(sizeof *orders * (size_t)o.orders);
    for (long i = 0; i < o.orders; i++)
        orders[i] = bench_order_event("a", i, o.customers, seq++, b.today);
    long nlat = o.rate * o.seconds;
    bench_buf_t *lat_orders = bench_xmalloc(sizeof *lat_orders * (size_t)nlat);
    for (long i = 0; i < nlat; i++)
        lat_orders[i] = bench_order_event("b", i, o.customers, seq++, b.today);

    long long stored0, queued0;
    s_counts(&b, &stored0, &queued0);
    if (stored0 || queued0)
        bench_die("the Redis database is not empty: run the bench through bench/run.sh");

    printf("Skonto benchmark: %ld orders over %ld customers, window %ld, ship date %s\n",
           o.orders, o.customers, o.window, b.today);
    printf("  customers ... ");
    fflush(stdout);
    bench_send_windowed(&b, cust, o.customers, o.window);
    s_wait_stored(&b, 0);
    printf("%ld stored\n", o.customers);

    /* ---- (a) */
    long long mem0 = s_info_field(&b, "memory", "used_memory");
    freeReplyObject(s_cmd(&b, "CONFIG RESETSTAT"));
    s_proc_t procs[16];
    int nprocs = s_procs_parse(procs, 16);
    printf("  (a) %ld orders ... ", o.orders);
    fflush(stdout);
    uint64_t t0 = bench_now_ns();
    bench_send_windowed(&b, orders, o.orders, o.window);
    uint64_t t_acked = bench_now_ns();
    uint64_t t_stored = s_wait_stored(&b, o.orders);
    double acked_s = (double)(t_acked - t0) / 1e9, stored_s = (double)(t_stored - t0) / 1e9;
    double ack_rate = o.orders / acked_s, e2e_rate = o.orders / stored_s;
    printf("done in %.2f s\n", stored_s);
    for (int i = 0; i < nprocs; i++) {
        double c = s_cpu_seconds(procs[i].pid) - procs[i].cpu0;
        printf("    %-12s %6.2f CPU s (%3.0f %% of one core), %5.1f us per order\n", procs[i].name,
               c, 100.0 * c / stored_s, c * 1e6 / (double)o.orders);
    }
    s_print_commandstats(&b, stored_s);
    long long stored, queued;
    s_counts(&b, &stored, &queued);

    /* ---- (c), measured before (b) adds invoices of its own */
    long long mem1 = s_info_field(&b, "memory", "used_memory");
    double per_invoice = (double)(mem1 - mem0) / (double)(stored - stored0);

    /* ---- (b) */
    printf("  (b) %ld orders/s for %ld s ... ", o.rate, o.seconds);
    fflush(stdout);
    s_lat_t lat = {bench_xmalloc(sizeof(uint64_t) * (size_t)nlat),
                   bench_xmalloc(sizeof(uint64_t) * (size_t)nlat), nlat, 0, "b", o.rate, {0}};
    memset(lat.sent_at, 0, sizeof(uint64_t) * (size_t)nlat);
    long sent = 0;
    uint64_t tb = bench_now_ns(), last_progress = tb;
    while (lat.nlat < nlat) {
        uint64_t t = bench_now_ns();
        long due = (long)((double)(t - tb) * (double)o.rate / 1e9);
        if (due > nlat)
            due = nlat;
        while (sent < due) {
            lat.sent_at[sent] = bench_now_ns();
            bench_send(&b, &lat_orders[sent++]);
        }
        long before = lat.nlat;
        bench_recv_acks(&b, sent < nlat ? 1 : 100, s_on_latency_ack, &lat);
        if (lat.nlat != before)
            last_progress = bench_now_ns();
        else if (bench_now_ns() - last_progress > (uint64_t)ACK_TIMEOUT_MS * 1000000u)
            bench_die("no acknowledgement from ingest for 30 s during (b)");
    }
    double offered = nlat / ((double)(bench_now_ns() - tb) / 1e9);
    qsort(lat.latency, (size_t)lat.nlat, sizeof(uint64_t), s_cmp_u64);
    double p50 = (double)lat.latency[(lat.nlat - 1) * 50 / 100] / 1e6;
    double p99 = (double)lat.latency[(lat.nlat - 1) * 99 / 100] / 1e6;
    double pmax = (double)lat.latency[lat.nlat - 1] / 1e6;
    long over = 0;
    for (long i = 0; i < lat.nlat; i++)
        over += lat.latency[i] > (uint64_t)(TARGET_P99_MS * 1e6);
    printf("%ld acknowledged at %.0f orders/s, %ld over %.0f ms\n", lat.nlat, offered, over,
           TARGET_P99_MS);
    printf("    worst ack latency of each second, ms:");
    for (long s = 0; s < o.seconds && s < 64; s++)
        printf(" %.1f", lat.sec_max[s]);
    printf("\n");
    s_wait_stored(&b, stored + nlat);

    /* ---- (d) */
    double hset = -1;
    const char *url = sk_redis_url_env();
    if (o.redis_benchmark && !strncmp(url, "unix://", 7)) {
        printf("  (d) redis-benchmark -P 32 HSET 4 fields on random keys ... ");
        fflush(stdout);
        hset = s_redis_benchmark(url + 7);
        printf(hset > 0 ? "%.0f requests/s\n" : "failed\n", hset);
    }

    printf("\n%-52s %14s   %s\n", "figure", "measured", "target");
    printf("%-52s %14.0f\n", "(a) orders/s acknowledged by ingest", ack_rate);
    printf("%-52s %14.0f   >= %.0f  %s\n", "(a) orders/s end to end (acknowledged and scheduled)",
           e2e_rate, TARGET_ORDERS_PER_S, s_verdict(e2e_rate >= TARGET_ORDERS_PER_S));
    printf("%-52s %14.3f\n", "(b) ack latency p50, ms", p50);
    printf("%-52s %14.3f   <= %.0f ms  %s\n", "(b) ack latency p99, ms", p99, TARGET_P99_MS,
           s_verdict(p99 <= TARGET_P99_MS));
    printf("%-52s %14.3f\n", "(b) ack latency max, ms", pmax);
    printf("%-52s %14.0f   <= %.0f B  %s\n", "(c) Redis bytes per open invoice", per_invoice,
           TARGET_BYTES_PER_INVOICE, s_verdict(per_invoice <= TARGET_BYTES_PER_INVOICE));
    if (hset > 0) {
        printf("%-52s %14.0f\n", "(d) redis-benchmark HSET x4 fields -P 32, req/s", hset);
        printf("%-52s %14.3f\n", "(d) ratio end-to-end orders/s / HSET req/s", e2e_rate / hset);
    }
    if (b.rejected)
        printf("\nWARNING: %ld events were rejected; first: %s\n", b.rejected, b.first_reject);
    if (stored - stored0 != o.orders)
        printf("\nWARNING: %lld invoices stored for %ld orders sent\n", stored - stored0, o.orders);

    for (long i = 0; i < o.customers; i++)
        free(cust[i].data);
    for (long i = 0; i < o.orders; i++)
        free(orders[i].data);
    for (long i = 0; i < nlat; i++)
        free(lat_orders[i].data);
    free(cust);
    free(orders);
    free(lat_orders);
    free(lat.sent_at);
    free(lat.latency);
    bench_close(&b);
    return b.rejected ? 1 : 0;
}
