/* ingest — the worker's object: batches through the phases (see ingest.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accept.h"
#include "claim.h"
#include "ingest.h"
#include "item.h"
#include "keys.h"
#include "pipe.h"
#include "receive.h"
#include "reply.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_map.h"
#include "sk_redis.h"
#include "sources.h"

struct _ingest_t {
    const char *name; /* SKONTO_WORKER_NAME */
    ingest_pipe_t *pipe;
    ingest_claims_t *claims;
    ingest_sources_t *sources;
    void *router;
    void *subs[INGEST_MAX_SUBS];
    int nsubs;
    const sk_conns_t *conns; /* the ROUTER's connections: closed ones are counted */
    ingest_item_t buf[2][INGEST_BATCH];
    ingest_item_t *items; /* the batch being processed: buf[0] or buf[1] */
    int nitems;
    ingest_item_t *next; /* the other: received while the batch's Redis work is on its way */
    int nnext;
    sk_map_t *seg_ids, *seg_orders, *seg_writers; /* s_segment_end's, kept between batches */
    sk_map_t *known; /* customers seen stored in Redis, while connected (s_known_customers) */
    ingest_counts_t counts;
    ingest_metrics_t *metrics; /* GET /metrics (metrics.h); not owned, may be NULL */
};

ingest_t *ingest_new(const char *name, int64_t retention_ms)
{
    ingest_t *self = calloc(1, sizeof *self); /* large: the batch */
    if (!self)
        return NULL;
    self->name = name;
    self->items = self->buf[0];
    self->next = self->buf[1];
    self->pipe = ingest_pipe_new();
    self->claims = ingest_claims_new(name, retention_ms);
    self->sources = ingest_sources_new();
    self->seg_ids = sk_map_new(INGEST_BATCH);
    self->seg_orders = sk_map_new(INGEST_BATCH);
    self->seg_writers = sk_map_new(INGEST_BATCH);
    self->known = sk_map_new(INGEST_KNOWN_CUSTOMERS);
    if (!self->pipe || !self->claims || !self->sources || !self->seg_ids || !self->seg_orders ||
        !self->seg_writers || !self->known)
        ingest_destroy(&self);
    return self;
}

void ingest_destroy(ingest_t **self_p)
{
    ingest_t *self = *self_p;
    if (!self)
        return;
    ingest_clear_batch(self);
    for (int i = 0; i < self->nnext; i++)
        ingest_item_clear(&self->next[i]);
    ingest_pipe_destroy(&self->pipe);
    ingest_claims_destroy(&self->claims);
    ingest_sources_destroy(&self->sources);
    sk_map_destroy(&self->seg_ids);
    sk_map_destroy(&self->seg_orders);
    sk_map_destroy(&self->seg_writers);
    sk_map_destroy(&self->known);
    free(self);
    *self_p = NULL;
}

void ingest_set_sockets(ingest_t *self, void *router, void *const *subs, int nsubs)
{
    self->router = router;
    self->nsubs = nsubs < INGEST_MAX_SUBS ? nsubs : INGEST_MAX_SUBS;
    for (int k = 0; k < self->nsubs; k++)
        self->subs[k] = subs[k];
}

void ingest_set_conns(ingest_t *self, const sk_conns_t *conns)
{
    self->conns = conns;
}

void ingest_set_metrics(ingest_t *self, ingest_metrics_t *metrics)
{
    self->metrics = metrics;
}

void ingest_disconnect(ingest_t *self)
{
    ingest_pipe_drop(self->pipe);
    /* What was read from Redis may be stale after an outage (a Redis that
     * restarted without its data no longer has the customers). */
    ingest_sources_forget(self->sources);
    sk_map_clear(self->known);
}

static void s_prefetch(void *arg);

int ingest_connect(ingest_t *self)
{
    if (ingest_pipe_connect(self->pipe))
        return -1;
    ingest_pipe_set_idle(self->pipe, s_prefetch, self);
    if (ingest_claims_recover(self->claims, self->pipe)) {
        ingest_disconnect(self);
        return -1;
    }
    sk_log("connected to Redis at %s", sk_redis_url_env());
    return 0;
}

bool ingest_connected(const ingest_t *self)
{
    return ingest_pipe_connected(self->pipe);
}

/* The idle hook of the pipe (ingest_pipe_set_idle): while a batch's
 * pipeline is on its way, the messages waiting now are received and
 * decoded as the next batch, so Redis does not wait for that work. Once. */
static void s_prefetch(void *arg)
{
    ingest_t *self = arg;
    if (self->nnext == 0 && self->nitems > 0)
        self->nnext = ingest_receive(self->router, self->subs, self->nsubs, self->sources,
                                     self->next, INGEST_BATCH);
}

int ingest_receive_batch(ingest_t *self)
{
    if (self->nnext) { /* received during the last batch: first, then what came since */
        ingest_item_t *t = self->items;
        self->items = self->next;
        self->next = t;
        self->nitems = self->nnext;
        self->nnext = 0;
    }
    self->nitems += ingest_receive(self->router, self->subs, self->nsubs, self->sources,
                                   self->items + self->nitems, INGEST_BATCH - self->nitems);
    return self->nitems;
}

bool ingest_has_received(const ingest_t *self)
{
    return self->nnext > 0;
}

void ingest_clear_batch(ingest_t *self)
{
    for (int i = 0; i < self->nitems; i++)
        ingest_item_clear(&self->items[i]);
    self->nitems = 0;
}

/* ---------------------------------------------------------------- segments */

/* End of the segment that starts at `start`: before the first order that
 * must read a customer an earlier message of the segment writes, before
 * the second order of the segment with the same order id (the first one's
 * claim on the order index must be settled before the second looks at it),
 * and before the second event with the same event id (it is a duplicate only
 * if the first is accepted). */
static int s_segment_end(ingest_t *self, int start)
{
    /* The event ids, order ids of orders and customers written seen so far
     * in the segment (customer writers are rare: usually that map stays
     * empty). When a map cannot take a key (out of memory) the segment ends
     * there: a shorter segment is always safe, it only costs round trips. */
    sk_map_clear(self->seg_ids);
    sk_map_clear(self->seg_orders);
    sk_map_clear(self->seg_writers);
    for (int i = start; i < self->nitems; i++) {
        const ingest_item_t *it = &self->items[i];
        if (it->state != INGEST_RECEIVED)
            continue;
        int rc = sk_map_put(self->seg_ids, it->env->event_id, i);
        if (rc == 0 && it->kind == SK_EVENT_INVOICE)
            rc = sk_map_put(self->seg_orders, sk_event_order_id(it->env), i);
        if (rc == 0 && it->need_customer &&
            sk_map_get(self->seg_writers, sk_event_customer_id(it->env), NULL))
            rc = 1;
        if (rc == 0 && it->writes_customer)
            rc = sk_map_put(self->seg_writers, sk_event_customer_id(it->env), i) < 0 ? -1 : 0;
        if (rc != 0)
            return rc < 0 && i == start ? i + 1 : i;
    }
    return self->nitems;
}

static int s_segment(ingest_t *self, int a, int b)
{
    if (ingest_accept(self->pipe, self->claims, self->sources, self->items, a, b))
        return -1;
    ingest_reply_account(&self->counts, self->metrics, self->sources, self->items, a, b);
    bool from_sub = false;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->origin)
            from_sub = true;
        else if (it->state == INGEST_ACCEPTED || ingest_item_duplicate(it) ||
                 it->state == INGEST_REJECTED)
            ingest_reply_ack(self->router, &self->counts, self->metrics, it);
    }
    return from_sub ? ingest_sources_write(self->sources, self->pipe) : 0;
}

/* Customers are never deleted, so an order with its own terms whose
 * customer was seen stored needs no HMGET to know it exists: marks such
 * orders before the batch is cut into segments (before = true), and after it
 * remembers the customers the batch's HMGETs found. The memory is dropped
 * with the connection, and when full (INGEST_KNOWN_CUSTOMERS). */
static void s_known_customers(ingest_t *self, bool before)
{
    for (int i = 0; i < self->nitems; i++) {
        ingest_item_t *it = &self->items[i];
        if (it->kind != SK_EVENT_INVOICE || !it->env)
            continue;
        const char *cid = sk_event_customer_id(it->env);
        if (before && it->need_customer && it->terms && it->state == INGEST_RECEIVED &&
            sk_map_get(self->known, cid, NULL)) {
            it->known_customer = true;
            it->need_customer = false;
        } else if (!before && it->stored_customer && sk_map_put(self->known, cid, 0) < 0) {
            sk_map_clear(self->known);
            sk_map_put(self->known, cid, 0); /* out of memory: simply not remembered */
        }
    }
}

int ingest_process(ingest_t *self)
{
    int start = 0;
    s_known_customers(self, true);
    while (start < self->nitems) {
        int end = s_segment_end(self, start);
        if (s_segment(self, start, end))
            goto failed;
        start = end;
    }
    s_known_customers(self, false);
    if (ingest_claims_resolve(self->claims, self->pipe))
        goto failed;
    return 0;
failed:
    self->counts.errors++;
    return -1;
}

const ingest_counts_t *ingest_counts(const ingest_t *self)
{
    return &self->counts;
}

/* ---------------------------------------------------------------- heartbeat */

int ingest_heartbeat(ingest_t *self, sk_heartbeat_t *hb)
{
    sk_heartbeat_count(hb, "processed", (int64_t)self->counts.processed);
    sk_heartbeat_count(hb, "errors", (int64_t)self->counts.errors);
    sk_heartbeat_count(hb, "accepted", (int64_t)self->counts.accepted);
    sk_heartbeat_count(hb, "duplicate", (int64_t)self->counts.duplicate);
    sk_heartbeat_count(hb, "rejected", (int64_t)self->counts.rejected);
    sk_heartbeat_count(hb, "disconnects",
                       self->conns ? (int64_t)sk_conns_closed(self->conns) : 0);
    /* where /metrics is served, for skontoctl status */
    sk_heartbeat_text(hb, "metrics", ingest_metrics_address(self->metrics));
    char *json = sk_heartbeat_json(hb, sk_now_ms());
    if (!json) {
        sk_log_error("heartbeat: out of memory");
        return 0;
    }
    const char *argv[4] = {"HSET", SK_KEY_HEARTBEATS, self->name, json};
    int rc =
        ingest_claims_flush(self->claims, self->pipe) || ingest_pipe_appendv(self->pipe, 4, argv);
    free(json);
    return rc || ingest_pipe_read_int(self->pipe, "HSET " SK_KEY_HEARTBEATS) ? -1 : 0;
}
