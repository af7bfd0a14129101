/* sk_signal — the one SIGTERM / SIGINT handling of every worker.
 *
 * sk_signal_install makes SIGTERM and SIGINT set a flag that the worker's
 * loop polls (sk_signal_stopping: finish the batch, write the last
 * heartbeat, exit 0) and ignores SIGPIPE (a closed socket is an error
 * return, not a death). A signal also interrupts a blocking call in the
 * main thread (EINTR), so a loop notices it at once.
 *
 * ZeroMQ starts I/O threads; a signal delivered to one of them would not
 * interrupt the main thread's zmq_poll. sk_signal_zmq_ctx_new creates the
 * context with SIGTERM/SIGINT blocked, so its threads inherit that mask and
 * the signal always reaches the main thread. */
#ifndef SK_SIGNAL_H
#define SK_SIGNAL_H

#include <stdbool.h>

#include "sk_error.h"

/* 0, or -1 and err. */
int sk_signal_install(sk_err_t *err);
/* True once SIGTERM or SIGINT arrived. */
bool sk_signal_stopping(void);
/* zmq_ctx_new() whose threads never take SIGTERM/SIGINT; NULL and err. */
void *sk_signal_zmq_ctx_new(sk_err_t *err);

#endif
