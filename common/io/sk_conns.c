/* sk_conns — see sk_conns.h. */
#include "sk_conns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct _sk_conns_t {
    void *sock; /* PAIR connected to the monitor */
    char what[64];
    sk_conns_log_fn log;
    int open;                   /* TCP connections: accepted - closed */
    int64_t shook, failed, gone; /* handshakes succeeded, failed; connections closed */
    uint64_t closed;            /* the same as gone, atomic: read by other threads */
};

int sk_conns_monitor(void *sock, const char *endpoint, sk_err_t *err)
{
    if (zmq_socket_monitor(sock, endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        return sk_err_set(err, "conns", "zmq_socket_monitor %s: %s", endpoint,
                          zmq_strerror(zmq_errno()));
    return 0;
}

sk_conns_t *sk_conns_new(void *ctx, const char *endpoint, const char *what, sk_conns_log_fn log,
                         sk_err_t *err)
{
    sk_conns_t *self = calloc(1, sizeof *self);
    if (!self)
        return sk_err_set(err, "conns", "out of memory"), NULL;
    self->sock = zmq_socket(ctx, ZMQ_PAIR);
    /* No high-water mark: a monitor event dropped under a burst of
     * connections would leave the counts wrong for good. */
    int unlimited = 0;
    if (!self->sock || zmq_setsockopt(self->sock, ZMQ_RCVHWM, &unlimited, sizeof unlimited) ||
        zmq_connect(self->sock, endpoint)) {
        sk_err_set(err, "conns", "cannot watch %s: %s", endpoint, zmq_strerror(zmq_errno()));
        if (self->sock)
            zmq_close(self->sock);
        free(self);
        return NULL;
    }
    snprintf(self->what, sizeof self->what, "%s", what);
    self->log = log;
    return self;
}

void *sk_conns_socket(sk_conns_t *self)
{
    return self->sock;
}

void sk_conns_drain(sk_conns_t *self)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, self->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        /* An event is two frames: 16-bit event and 32-bit value, then the
         * endpoint (the socket's own: the peer's address is not given). */
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2)
            memcpy(&event, zmq_msg_data(&ev), 2);
        zmq_msg_init(&addr);
        if (zmq_msg_more(&ev) && zmq_msg_recv(&addr, self->sock, 0) >= 0) {
            if (event == ZMQ_EVENT_ACCEPTED) {
                self->open++;
            } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                self->shook++;
            } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
                       event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                       event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                self->failed++;
            } else if (event == ZMQ_EVENT_DISCONNECTED) {
                if (self->open > 0)
                    self->open--;
                self->gone++;
                __atomic_add_fetch(&self->closed, 1, __ATOMIC_RELAXED);
                if (self->log)
                    self->log("a client connection to %s closed (%d open): the client went "
                              "away, its handshake failed, or it sent a frame over the limit",
                              self->what, self->open);
            }
        }
        zmq_msg_close(&addr);
        zmq_msg_close(&ev);
    }
}

int sk_conns_open(const sk_conns_t *self)
{
    return self->open;
}

int sk_conns_authenticated(const sk_conns_t *self)
{
    /* Every connection ends its handshake once, succeeded or failed, before
     * it closes; the handshake events carry no connection, so the count is
     * what is left: succeeded + failed - closed. A connection still in its
     * handshake is in none of them. */
    int64_t n = self->shook + self->failed - self->gone;
    return n > 0 ? (int)n : 0;
}

uint64_t sk_conns_closed(const sk_conns_t *self)
{
    return __atomic_load_n(&self->closed, __ATOMIC_RELAXED);
}

void sk_conns_destroy(sk_conns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_conns_t *self = *self_p;
    int linger = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(self->sock);
    free(self);
    *self_p = NULL;
}
