/* sk_signal — see sk_signal.h. */
#include "sk_signal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <zmq.h>

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int sk_signal_install(sk_err_t *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
        signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return sk_err_set(err, "signal", "cannot install signal handlers: %s", strerror(errno));
    return 0;
}

bool sk_signal_stopping(void)
{
    return s_stop != 0;
}

void *sk_signal_zmq_ctx_new(sk_err_t *err)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    int masked = pthread_sigmask(SIG_BLOCK, &block, &old);
    void *ctx = zmq_ctx_new();
    if (!ctx) {
        sk_err_set(err, "zmq", "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    } else if (masked || pthread_sigmask(SIG_SETMASK, &old, NULL)) {
        zmq_ctx_term(ctx);
        ctx = NULL;
        sk_err_set(err, "signal", "pthread_sigmask: cannot block signals for ZeroMQ's threads");
    }
    return ctx;
}
