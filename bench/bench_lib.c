/* bench_lib — see bench_lib.h. */
#include "bench_lib.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "sk_redis.h"

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_die(const char *what)
{
    fprintf(stderr, "skonto-bench: %s\n", what);
    exit(1);
}

void *bench_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        bench_die("out of memory");
    return p;
}

/* ------------------------------------------------------------------ events */

bench_buf_t bench_pack(Skonto__V1__Envelope *env)
{
    bench_buf_t b;
    b.len = protobuf_c_message_get_packed_size(&env->base);
    b.data = bench_xmalloc(b.len);
    if (protobuf_c_message_pack(&env->base, b.data) != b.len)
        bench_die("protobuf pack size mismatch");
    return b;
}

/* The envelope of the bench's events: its id and sequence, source "bench". */
static Skonto__V1__Envelope s_envelope(char *eid, uint64_t seq)
{
    Skonto__V1__Envelope env = SKONTO__V1__ENVELOPE__INIT;
    env.event_id = eid;
    env.source = "bench";
    env.sequence = seq;
    return env;
}

bench_buf_t bench_customer_event(long i, uint64_t seq)
{
    char eid[32], cid[32], name[48], email[48];
    snprintf(eid, sizeof eid, "bc-%06ld", i);
    snprintf(cid, sizeof cid, "BC-%06ld", i);
    snprintf(name, sizeof name, "Bench Customer %ld", i);
    snprintf(email, sizeof email, "ap%ld@bench.example", i);
    Skonto__V1__CustomerUpsert cu = SKONTO__V1__CUSTOMER_UPSERT__INIT;
    cu.customer_id = cid;
    cu.name = name;
    cu.email = email;
    cu.timezone = "Asia/Shanghai";
    cu.locale = "zh-CN";
    cu.statement = SKONTO__V1__STATEMENT_FREQUENCY__STATEMENT_WEEKLY;
    cu.terms = BENCH_TERMS;
    Skonto__V1__Envelope env = s_envelope(eid, seq);
    env.body_case = SKONTO__V1__ENVELOPE__BODY_CUSTOMER;
    env.customer = &cu;
    return bench_pack(&env);
}

bench_buf_t bench_order_event(const char *prefix, long i, long customers, uint64_t seq,
                              const char *ship)
{
    char eid[32], oid[32], cid[32], sp[16];
    snprintf(eid, sizeof eid, "%s%ld", prefix, i);
    snprintf(oid, sizeof oid, "B%s%07ld", prefix, i);
    snprintf(cid, sizeof cid, "BC-%06ld", i % customers);
    snprintf(sp, sizeof sp, "S-%02ld", i % 12);
    Skonto__V1__Invoice inv = SKONTO__V1__INVOICE__INIT;
    inv.order_id = oid;
    inv.customer_id = cid;
    inv.salesperson = sp;
    inv.currency = "CNY";
    inv.amount = bench_order_amount(i);
    inv.tax = inv.amount * 13 / 113;
    inv.ship_date = (char *)ship;
    inv.invoice_date = (char *)ship;
    inv.terms = BENCH_TERMS;
    inv.version = 1;
    Skonto__V1__Envelope env = s_envelope(eid, seq);
    env.body_case = SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED;
    env.order_shipped = &inv;
    return bench_pack(&env);
}

/* ------------------------------------------------------------------ ZeroMQ */

void bench_send(bench_t *b, const bench_buf_t *m)
{
    while (zmq_send(b->dealer, m->data, m->len, 0) < 0) {
        if (errno != EINTR)
            bench_die(zmq_strerror(errno));
    }
}

long bench_recv_acks(bench_t *b, int timeout_ms, bench_ack_fn on_ack, void *arg)
{
    long n = 0;
    zmq_pollitem_t item = {b->dealer, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&item, 1, timeout_ms);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;
        bench_die(zmq_strerror(errno));
    }
    if (rc == 0)
        return 0;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, b->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            if (errno == EAGAIN || errno == EINTR)
                break;
            bench_die(zmq_strerror(errno));
        }
        uint64_t now = bench_now_ns();
        Skonto__V1__Ack *ack =
            skonto__v1__ack__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        zmq_msg_close(&msg);
        if (!ack)
            bench_die("ingest sent a frame that is not an Ack");
        if (ack->status != SKONTO__V1__ACK_STATUS__ACK_ACCEPTED &&
            ack->status != SKONTO__V1__ACK_STATUS__ACK_DUPLICATE) {
            if (b->rejected++ == 0)
                snprintf(b->first_reject, sizeof b->first_reject, "%s: %s %s", ack->event_id,
                         ack->reason_code, ack->message);
        }
        if (on_ack)
            on_ack(arg, ack->event_id, now);
        skonto__v1__ack__free_unpacked(ack, NULL);
        n++;
    }
    return n;
}

/* Sends every message keeping at most `window` unacknowledged; returns when all are acked. */
void bench_send_windowed(bench_t *b, const bench_buf_t *msgs, long n, long window)
{
    long sent = 0, acked = 0;
    uint64_t last_progress = bench_now_ns();
    while (acked < n) {
        while (sent < n && sent - acked < window)
            bench_send(b, &msgs[sent++]);
        long got = bench_recv_acks(b, 100, NULL, NULL);
        acked += got;
        if (got)
            last_progress = bench_now_ns();
        else if (bench_now_ns() - last_progress > (uint64_t)ACK_TIMEOUT_MS * 1000000u)
            bench_die("no acknowledgement from ingest for 30 s (is skonto-ingest running?)");
    }
}


int64_t bench_order_amount(long i)
{
    /* 1 000.00 .. 100 999.99 CNY, 13 % VAT included; deterministic. */
    return 100000 + (int64_t)((uint64_t)i * 2654435761u % 10000000u);
}

bench_buf_t bench_payment_event(const char *prefix, long i, uint64_t seq, const char *paid_on,
                                int64_t amount)
{
    char eid[32], oid[32];
    snprintf(eid, sizeof eid, "%sp%ld", prefix, i);
    snprintf(oid, sizeof oid, "B%s%07ld", prefix, i);
    Skonto__V1__PaymentReceived p = SKONTO__V1__PAYMENT_RECEIVED__INIT;
    p.order_id = oid;
    p.paid_on = (char *)paid_on;
    p.amount = amount;
    p.full = true;
    Skonto__V1__Envelope env = s_envelope(eid, seq);
    env.body_case = SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED;
    env.payment_received = &p;
    return bench_pack(&env);
}

void bench_connect(bench_t *b)
{
    const char *endpoint = getenv("SKONTO_INGEST_ENDPOINT");
    if (!endpoint || !*endpoint)
        bench_die("SKONTO_INGEST_ENDPOINT is not set (bench/run.sh sets it)");
    sk_err_t err;
    b->redis = sk_redis_connect_env(&err);
    if (!b->redis)
        bench_die(err.msg);
    b->ctx = zmq_ctx_new();
    b->dealer = b->ctx ? zmq_socket(b->ctx, ZMQ_DEALER) : NULL;
    int hwm = 0, linger = 0;
    if (!b->dealer || zmq_setsockopt(b->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(b->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(b->dealer, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_connect(b->dealer, endpoint))
        bench_die(zmq_strerror(errno));
}

void bench_close(bench_t *b)
{
    zmq_close(b->dealer);
    zmq_ctx_term(b->ctx);
    redisFree(b->redis);
}
