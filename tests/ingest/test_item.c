/* Tests of services/ingest/item: what ingest learns from a received frame
 * before it asks Redis (the shard, the order index value, the content hash
 * that tells a resent order from a changed one, the rejections that need no
 * Redis), and the item's states: the transitions its table allows, what an
 * item holds in Redis, and which states get which Ack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "item.h"
#include "keys.h"
#include "pipe.h"

typedef struct {
    Skonto__V1__Envelope env;
    Skonto__V1__Invoice inv;
} s_order_t;

static Skonto__V1__Envelope *s_order(s_order_t *o)
{
    Skonto__V1__Envelope env = SKONTO__V1__ENVELOPE__INIT;
    Skonto__V1__Invoice inv = SKONTO__V1__INVOICE__INIT;
    o->env = env;
    o->env.event_id = "E1";
    o->env.source = "erp-main";
    o->inv = inv;
    o->inv.order_id = "SO-1";
    o->inv.customer_id = "C-1";
    o->inv.salesperson = "S-7";
    o->inv.currency = "CNY";
    o->inv.amount = 113000;
    o->inv.tax = 13000;
    o->inv.ship_date = "2026-11-02";
    o->inv.terms = "2/0,1/10,0.5/30,n/60";
    o->env.body_case = SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED;
    o->env.order_shipped = &o->inv;
    return &o->env;
}

/* An item that received `n` bytes of `data` from the ROUTER, decoded. */
static void s_receive(ingest_item_t *it, const void *data, size_t n)
{
    ingest_item_init(it, 0);
    assert_int_equal(zmq_msg_init_size(&it->body, n), 0);
    if (n)
        memcpy(zmq_msg_data(&it->body), data, n);
    ingest_item_decode(it);
}

static void s_receive_env(ingest_item_t *it, const Skonto__V1__Envelope *env)
{
    size_t n = skonto__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    skonto__v1__envelope__pack(env, buf);
    s_receive(it, buf, n);
    free(buf);
}

static void test_order_is_resolved_without_redis(void **state)
{
    (void)state;
    s_order_t o;
    ingest_item_t it;
    s_receive_env(&it, s_order(&o));
    assert_int_equal(it.state, INGEST_RECEIVED);
    assert_true(ingest_item_valid(&it));
    assert_int_equal(it.kind, SK_EVENT_INVOICE);
    assert_int_equal(it.shard, sk_shard_of("C-1"));       /* the accept script's shard */
    assert_int_equal(it.eid_shard, sk_shard_of("E1"));    /* the claim's shard */
    assert_string_equal(it.o2c, "C-1\tCNY");              /* the order index value */
    assert_int_equal(it.version, 1);                      /* 0 counts as 1 */
    assert_string_equal(it.terms, "2/0,1/10,0.5/30,n/60"); /* its own terms */
    assert_true(it.need_customer); /* no inline customer: its profile must be read */
    assert_false(it.writes_customer);
    assert_int_equal(strlen(it.vhash), 16);
    assert_int_equal(it.holds, 0);
    ingest_item_clear(&it);
}

/* A resend of the same version is answered duplicate, other content with
 * the same version stale_version: the content hash tells them apart. */
static void test_content_hash_tells_a_resend_from_a_change(void **state)
{
    (void)state;
    s_order_t o;
    ingest_item_t a, b, c;
    s_receive_env(&a, s_order(&o));
    o.env.event_id = "E2"; /* another event id, the same content */
    s_receive_env(&b, &o.env);
    o.inv.tax = 13001;
    s_receive_env(&c, &o.env);
    assert_string_equal(a.vhash, b.vhash);
    assert_string_not_equal(a.vhash, c.vhash);
    ingest_item_clear(&a);
    ingest_item_clear(&b);
    ingest_item_clear(&c);
}

static void test_rejected_before_redis(void **state)
{
    (void)state;
    ingest_item_t it;
    /* Over the envelope limit: too_large, whatever the bytes. */
    size_t n = SK_EVENT_MAX_BYTES + 1;
    char *big = calloc(1, n);
    assert_non_null(big);
    s_receive(&it, big, n);
    free(big);
    assert_int_equal(it.state, INGEST_REJECTED);
    assert_string_equal(it.err.code, SK_REASON_TOO_LARGE);
    assert_false(ingest_item_valid(&it));
    ingest_item_clear(&it);
    /* An empty frame decodes to all defaults: no event id, no body. */
    s_receive(&it, "", 0);
    assert_int_equal(it.state, INGEST_REJECTED);
    assert_true(it.err.code[0] != '\0');
    ingest_item_clear(&it);
    /* An order whose terms do not parse. */
    s_order_t o;
    s_order(&o);
    o.inv.terms = "2/10,n/5";
    s_receive_env(&it, &o.env);
    assert_int_equal(it.state, INGEST_REJECTED);
    assert_string_equal(it.err.code, SK_REASON_BAD_TERMS);
    ingest_item_clear(&it);
}

/* The path of an accepted event, and what the item holds on the way. */
static void test_states_of_an_accepted_event(void **state)
{
    (void)state;
    s_order_t o;
    ingest_item_t it;
    s_receive_env(&it, s_order(&o));
    ingest_item_to(&it, INGEST_CLAIMING);
    assert_int_equal(it.holds, 0);
    ingest_item_to(&it, INGEST_CLAIMED);
    assert_int_equal(it.holds, INGEST_HOLDS_CLAIM); /* must be finished from now on */
    ingest_item_to(&it, INGEST_CHECKING);
    ingest_item_to(&it, INGEST_CLAIMED);
    assert_true(ingest_item_valid(&it));
    ingest_item_to(&it, INGEST_ACCEPTED);
    assert_false(ingest_item_valid(&it));
    assert_false(ingest_item_duplicate(&it));
    assert_false(ingest_item_unrecorded(&it));
    assert_int_equal(it.holds, INGEST_HOLDS_CLAIM);
    ingest_item_clear(&it);
}

static void test_which_states_get_which_ack(void **state)
{
    (void)state;
    ingest_item_t it;
    memset(&it, 0, sizeof it);
    const struct {
        ingest_state_t s;
        bool valid, duplicate, unrecorded;
    } cases[] = {
        {INGEST_RECEIVED, true, false, false},   {INGEST_CLAIMING, true, false, false},
        {INGEST_CLAIMED, true, false, false},    {INGEST_CHECKING, true, false, false},
        {INGEST_ACCEPTED, false, false, false},  {INGEST_DUPLICATE, false, true, false},
        {INGEST_UNCHANGED, false, true, false},  {INGEST_REJECTED, false, false, false},
        {INGEST_FAILED, false, false, true},     {INGEST_BUSY, false, false, true},
        {INGEST_UNSURE, false, false, true},
    };
    assert_int_equal(sizeof cases / sizeof cases[0], INGEST_NSTATES);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        it.state = cases[k].s;
        assert_int_equal(ingest_item_valid(&it), cases[k].valid);
        assert_int_equal(ingest_item_duplicate(&it), cases[k].duplicate);
        assert_int_equal(ingest_item_unrecorded(&it), cases[k].unrecorded);
    }
}

/* A Redis error: a valid item fails (no Ack, the client retries); a BUSY one
 * stays BUSY, so the order-index entry another ingest is using is kept; an
 * accept call that failed as a whole leaves its item UNSURE (its claim
 * stays pending for the resend to settle). */
static void test_redis_errors(void **state)
{
    (void)state;
    ingest_pipe_t *pipe = ingest_pipe_new();
    assert_non_null(pipe);
    s_order_t o;
    ingest_item_t it;

    s_receive_env(&it, s_order(&o));
    ingest_item_to(&it, INGEST_CLAIMING);
    ingest_item_to(&it, INGEST_BUSY);
    ingest_item_fail(&it, pipe, "HMGET customer", NULL);
    assert_int_equal(it.state, INGEST_BUSY);
    ingest_item_clear(&it);

    s_receive_env(&it, &o.env);
    ingest_item_to(&it, INGEST_CLAIMING);
    ingest_item_to(&it, INGEST_CLAIMED);
    ingest_item_fail(&it, pipe, "HSETNX order index", NULL);
    assert_int_equal(it.state, INGEST_FAILED);
    assert_true(it.holds & INGEST_HOLDS_CLAIM); /* released after the batch */
    ingest_item_clear(&it);

    s_receive_env(&it, &o.env);
    ingest_item_to(&it, INGEST_CLAIMING);
    ingest_item_to(&it, INGEST_CLAIMED);
    ingest_item_unsure(&it, pipe, NULL);
    assert_int_equal(it.state, INGEST_UNSURE);
    ingest_item_clear(&it);

    /* A rejection whose dead letter could not be stored gets no Ack either. */
    s_receive(&it, "", 0);
    ingest_item_fail(&it, pipe, "dead-letter script", NULL);
    assert_int_equal(it.state, INGEST_FAILED);
    ingest_item_clear(&it);
    ingest_pipe_destroy(&pipe);
    assert_null(pipe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_is_resolved_without_redis),
        cmocka_unit_test(test_content_hash_tells_a_resend_from_a_change),
        cmocka_unit_test(test_rejected_before_redis),
        cmocka_unit_test(test_states_of_an_accepted_event),
        cmocka_unit_test(test_which_states_get_which_ack),
        cmocka_unit_test(test_redis_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
