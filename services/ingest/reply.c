/* reply — Acks, dead letters and the outcome's counts (see reply.h, dlq.lua). */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reply.h"
#include "sk_base64.h"
#include "sk_log.h"

/* The JSON dead letter of a rejected item (malloc'ed), or NULL. */
static char *s_dead_letter(const ingest_item_t *it, int64_t now)
{
    char eid[SK_EVENT_ID_MAX * 2 + 1], src[SK_EVENT_ID_MAX * 2 + 1];
    ingest_item_ids(it, eid, sizeof eid, src, sizeof src);
    char msg[sizeof it->err.msg];
    sk_utf8_sanitize(msg, sizeof msg, it->err.msg, strlen(it->err.msg));
    /* A payload up to the envelope limit is kept whole; a bigger one only as
     * its size, SHA-256 and first bytes, so one record stays under ~90 KiB. */
    const unsigned char *data = zmq_msg_data((zmq_msg_t *)&it->body);
    size_t n = zmq_msg_size((zmq_msg_t *)&it->body);
    bool whole = n <= SK_EVENT_MAX_BYTES;
    char *b64 = sk_base64(data, whole ? n : INGEST_DLQ_HEAD);
    unsigned char sha[crypto_hash_sha256_BYTES];
    char sha_hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(sha, data, n);
    sodium_bin2hex(sha_hex, sizeof sha_hex, sha, sizeof sha);
    json_t *o = json_object();
    char *out = NULL;
    if (b64 && o && !json_object_set_new(o, "at_ms", json_integer(now)) &&
        !json_object_set_new(o, "event_id", json_string(eid)) &&
        !json_object_set_new(o, "source", json_string(src)) &&
        !json_object_set_new(o, "reason_code", json_string(it->err.code)) &&
        !json_object_set_new(o, "message", json_string(msg)) &&
        !json_object_set_new(o, "payload_bytes", json_integer((json_int_t)n)) &&
        !json_object_set_new(o, "payload_sha256", json_string(sha_hex)) &&
        !json_object_set_new(o, whole ? "payload_b64" : "payload_head_b64", json_string(b64)) &&
        (!*ingest_item_user(it) ||
         !json_object_set_new(o, "user", json_string(ingest_item_user(it)))))
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(b64);
    return out;
}

/* Queues one dead-letter script call for the rejected items of [a, b) whose
 * dead letter is not written yet, marking them with `round`. 1 queued, 0
 * nothing to queue, -1 error. */
int ingest_dlq_append(ingest_pipe_t *pipe, ingest_item_t *items, int a, int b, int round,
                      int64_t now)
{
    ingest_cmd_t c = ingest_pipe_cmd(pipe);
    char maxn[24], maxb[24];
    snprintf(maxn, sizeof maxn, "%d", INGEST_DLQ_MAX);
    snprintf(maxb, sizeof maxb, "%ld", INGEST_DLQ_MAX_BYTES);
    ingest_cmd_args(&c, "EVALSHA");
    ingest_cmd_args(&c, ingest_pipe_sha(pipe, INGEST_SCRIPT_DLQ));
    ingest_cmd_args(&c, "2");
    ingest_cmd_args(&c, SK_KEY_DEADLETTERS);
    ingest_cmd_args(&c, SK_KEY_INGEST_STATS);
    ingest_cmd_args(&c, maxn);
    ingest_cmd_args(&c, maxb);
    ingest_cmd_args(&c, "rejected");
    char *dls[INGEST_BATCH];
    int n = 0;
    for (int i = a; i < b; i++) {
        ingest_item_t *it = &items[i];
        if (it->state != INGEST_REJECTED || it->dlq)
            continue;
        char *dl = s_dead_letter(it, now);
        if (!dl) {
            ingest_item_to(it, INGEST_FAILED);
            sk_log("cannot build the dead letter of a rejected event (out of memory)");
            continue;
        }
        dls[n++] = dl;
        ingest_cmd_args(&c, dl);
        it->dlq = (uint8_t)round;
    }
    int rc = n ? ingest_pipe_append(pipe, &c) : 0;
    for (int k = 0; k < n; k++)
        free(dls[k]);
    return rc < 0 ? -1 : n > 0;
}

int ingest_dlq_read(ingest_pipe_t *pipe, ingest_item_t *items, int a, int b, int round)
{
    redisReply *r;
    if (ingest_pipe_get(pipe, &r))
        return -1;
    for (int i = a; i < b && r->type != REDIS_REPLY_INTEGER; i++) {
        ingest_item_t *it = &items[i];
        if (it->state == INGEST_REJECTED && it->dlq == round)
            ingest_item_fail(it, pipe, "dead-letter script", r);
    }
    freeReplyObject(r);
    return 0;
}

/* ---------------------------------------------------------------- outcome */

void ingest_reply_account(ingest_counts_t *self, ingest_metrics_t *metrics,
                          ingest_sources_t *sources, const ingest_item_t *items, int a, int b)
{
    int failed = 0;
    for (int i = a; i < b; i++) {
        const ingest_item_t *it = &items[i];
        ingest_metrics_outcome(metrics, it->env, (int)it->state, it->err.code);
        switch (it->state) {
        case INGEST_ACCEPTED:
            self->accepted++, self->processed++;
            break;
        case INGEST_DUPLICATE:
        case INGEST_UNCHANGED:
            self->duplicate++, self->processed++;
            break;
        case INGEST_REJECTED: {
            self->rejected++, self->processed++;
            char eid[SK_EVENT_ID_MAX + 1], src[SK_EVENT_ID_MAX + 1];
            ingest_item_ids(it, eid, sizeof eid, src, sizeof src);
            const char *user = ingest_item_user(it);
            if (it->env)
                sk_log_at(SK_LOG_WARN, eid, sk_event_order_id(it->env),
                          "rejected event %s (%s from %s via %s%s%s): %s: %s",
                          *eid ? eid : "\"\"", sk_event_kind_name(it->env), *src ? src : "?",
                          it->origin ? "SUB" : "ROUTER", *user ? " as " : "", user, it->err.code,
                          it->err.msg);
            else
                sk_log_at(SK_LOG_WARN, NULL, NULL, "rejected a message via %s%s%s: %s: %s",
                          it->origin ? "SUB" : "ROUTER", *user ? " as " : "", user, it->err.code,
                          it->err.msg);
            break;
        }
        case INGEST_FAILED:
        case INGEST_UNSURE:
            ingest_metrics_redis_error(metrics);
            self->errors++, failed++;
            break;
        case INGEST_BUSY:
            self->errors++, failed++;
            break;
        default:
            break;
        }
        ingest_sources_account(sources, it);
    }
    if (failed)
        sk_log("%d event%s not recorded by Redis: no acknowledgement (the client retries)", failed,
               failed == 1 ? "" : "s");
}

void ingest_reply_ack(void *router, ingest_counts_t *self, ingest_metrics_t *metrics,
                      ingest_item_t *it)
{
    Skonto__V1__Ack ack = SKONTO__V1__ACK__INIT;
    char eid[SK_EVENT_ID_MAX * 2 + 1];
    ingest_item_ids(it, eid, sizeof eid, NULL, 0);
    char msg[sizeof it->err.msg];
    ack.event_id = eid;
    /* The id's bytes as received, so a client can match every Ack. */
    const uint8_t *raw;
    size_t rawlen;
    if (it->env && sk_event_raw_id(zmq_msg_data(&it->body), zmq_msg_size(&it->body), &raw, &rawlen))
        ack.event_id_raw = (ProtobufCBinaryData){rawlen, (uint8_t *)raw};
    sk_utf8_sanitize(msg, sizeof msg, it->err.msg, strlen(it->err.msg));
    if (*msg)
        ack.message = msg; /* a rejection's reason, or why a duplicate changed nothing */
    if (it->state == INGEST_REJECTED) {
        ack.status = SKONTO__V1__ACK_STATUS__ACK_REJECTED;
        ack.reason_code = it->err.code;
    } else {
        ack.status = it->state == INGEST_ACCEPTED ? SKONTO__V1__ACK_STATUS__ACK_ACCEPTED
                                                  : SKONTO__V1__ACK_STATUS__ACK_DUPLICATE;
    }
    /* Bounded: the id is at most the frame (SK_EVENT_FRAME_MAX), the rest small. */
    size_t n = skonto__v1__ack__get_packed_size(&ack);
    uint8_t stack[2048], *buf = n <= sizeof stack ? stack : malloc(n);
    if (!buf) {
        self->errors++;
        sk_log("ack for %s not sent: out of memory", *eid ? eid : "an undecodable message");
        return;
    }
    skonto__v1__ack__pack(&ack, buf);
    /* ROUTER_MANDATORY: a peer that is gone gives EHOSTUNREACH instead of a
     * silent drop; DONTWAIT: a peer that does not read cannot stall ingest. */
    int rc = zmq_send(router, zmq_msg_data(&it->ident), zmq_msg_size(&it->ident),
                      ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0 && it->delim)
        rc = zmq_send(router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send(router, buf, n, ZMQ_DONTWAIT);
    if (rc >= 0)
        ingest_metrics_acked(metrics, it->received_ns);
    if (rc < 0) {
        self->errors++;
        sk_log("ack for %s not sent: %s", *eid ? eid : "an undecodable message",
               zmq_strerror(zmq_errno()));
    }
    if (buf != stack)
        free(buf);
}