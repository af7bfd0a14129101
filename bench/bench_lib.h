/* bench_lib — what the benchmarks that drive a running stack share: events
 * pre-built as protobuf Envelopes and sent on one DEALER to ingest with a
 * window of unacknowledged ones (bench_pipeline.c, bench_policy.c). */
#ifndef BENCH_LIB_H
#define BENCH_LIB_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stddef.h>

#include "skonto/v1/skonto.pb-c.h"

#define BENCH_TERMS "2/0,1/10,0.5/30,n/60"
/* The take-up counter that counts every invoice with BENCH_TERMS: it offers
 * tier 0 at 2 % (20 000 ppm). */
#define BENCH_OFFERED "offered|t0|20000"
#define ACK_TIMEOUT_MS 30000

typedef struct {
    size_t len;
    uint8_t *data;
} bench_buf_t;

typedef struct {
    void *ctx, *dealer;
    redisContext *redis;
    char today[11];
    long rejected;
    char first_reject[256];
} bench_t;

/* Connects b to Redis (SKONTO_REDIS_URL) and a DEALER without high-water
 * marks (the window bounds what is in flight) to SKONTO_INGEST_ENDPOINT; dies
 * with a line on failure. bench_close undoes it. */
void bench_connect(bench_t *b);
void bench_close(bench_t *b);
uint64_t bench_now_ns(void);
void bench_die(const char *what) __attribute__((noreturn));
void *bench_xmalloc(size_t n);
bench_buf_t bench_pack(Skonto__V1__Envelope *env);
/* Customer BC-<i> (Asia/Shanghai, the bench's terms). */
bench_buf_t bench_customer_event(long i, uint64_t seq);
/* An order of customer (i mod customers), shipped on `ship` (YYYY-MM-DD); the
 * event and order ids carry prefix (the phase): "<prefix><i>", "B<prefix><i>". */
bench_buf_t bench_order_event(const char *prefix, long i, long customers, uint64_t seq,
                              const char *ship);
/* A full payment of that order, paid on `paid_on` with the amount `amount`. */
bench_buf_t bench_payment_event(const char *prefix, long i, uint64_t seq, const char *paid_on,
                                int64_t amount);
/* The amount bench_order_event gives order i. */
int64_t bench_order_amount(long i);

/* Receives acks for up to timeout_ms (0 = only what is ready). For each one calls
 * on_ack(arg, event_id) and returns how many arrived; counts rejections. */
typedef void (*bench_ack_fn)(void *arg, const char *event_id, uint64_t now);

long bench_recv_acks(bench_t *b, int timeout_ms, bench_ack_fn on_ack, void *arg);
void bench_send(bench_t *b, const bench_buf_t *m);
/* Sends every message keeping at most `window` unacknowledged; returns when all are acked. */
void bench_send_windowed(bench_t *b, const bench_buf_t *msgs, long n, long window);

#endif
