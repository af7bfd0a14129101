/* sk_conns — the connections of a bound ZeroMQ socket, seen through a socket
 * monitor: how many are open, and a log line and a count for each one that
 * closes. ZeroMQ closes connections without telling the socket's owner (a
 * frame over ZMQ_MAXMSGSIZE, a peer that went away, a failed handshake), so
 * this is the only way a worker can say so.
 *
 * Two threads take part: the one that owns the socket starts the monitor
 * (sk_conns_monitor), and exactly one thread, the watcher, reads its events
 * (sk_conns_new, then sk_conns_drain whenever sk_conns_socket is readable).
 * The watcher may be the owner itself, or the ZAP handler's thread, which
 * then refuses a handshake while too many connections are open (sk_zap_watch
 * in sk_auth.h). sk_conns_closed may be read from any thread.
 *
 * Invariant: open = connections accepted - connections closed, never below 0
 * (a connection accepted before the monitor started is not counted);
 * authenticated = handshakes succeeded + failed - connections closed. */
#ifndef SK_CONNS_H
#define SK_CONNS_H

#include <stdint.h>

#include "sk_error.h"

typedef struct _sk_conns_t sk_conns_t;
typedef void (*sk_conns_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Starts a monitor of sock's accepted and closed connections, published at
 * the inproc endpoint `endpoint`. Call from sock's thread. 0 or -1. */
int sk_conns_monitor(void *sock, const char *endpoint, sk_err_t *err);

/* The watcher's end, in the calling thread: connects to the monitor at
 * endpoint (in ctx). log (may be NULL) receives one line per closed
 * connection, naming `what` (e.g. "ingest's ROUTER"). NULL and err on failure. */
sk_conns_t *sk_conns_new(void *ctx, const char *endpoint, const char *what, sk_conns_log_fn log,
                         sk_err_t *err);
/* The socket to poll for ZMQ_POLLIN. */
void *sk_conns_socket(sk_conns_t *self);
/* Reads every event waiting, without blocking. */
void sk_conns_drain(sk_conns_t *self);
/* Connections open now (as of the last drain). */
int sk_conns_open(const sk_conns_t *self);
/* ... of them, those whose handshake succeeded: the ones that can queue
 * messages. A peer that only opens TCP connections never counts here. */
int sk_conns_authenticated(const sk_conns_t *self);
/* Connections closed since the start (any thread). */
uint64_t sk_conns_closed(const sk_conns_t *self);
/* Closes the watcher's socket (in the watcher's thread). */
void sk_conns_destroy(sk_conns_t **self_p);

#endif
