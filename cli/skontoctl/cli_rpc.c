/* cli_rpc — one request, one reply over a CURVE DEALER (see cli_rpc.h). */
#include "cli_rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "cli_msg.h"
#include "sk_auth.h"

struct sk_cli_rpc {
    const char *verb;
    sk_cli_peer_t peer;
    void *zctx, *sock;
    sk_cli_watch_t watch;
    int64_t opened_ms;
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void sk_cli_peer_audit(sk_cli_peer_t *p)
{
    memset(p, 0, sizeof *p);
    p->what = "the audit worker";
    p->endpoint = s_env("SKONTO_AUDIT_ENDPOINT");
    if (!p->endpoint)
        p->endpoint = "tcp://127.0.0.1:7770";
    p->server_key = s_env("SKONTO_AUDIT_SERVER_KEY");
    p->server_key_from = p->server_key_env = "SKONTO_AUDIT_SERVER_KEY";
    p->key_file = s_env("SKONTO_CURVE_KEY_FILE");
    p->key_file_from = "SKONTO_CURVE_KEY_FILE";
    p->handshake_timeout_ms = 5000;
    p->timeout_ms = 10000;
}

int sk_cli_peer_opt(sk_cli_peer_t *p, const char *verb, const char *name, const char *value)
{
    if (!strcmp(name, "endpoint")) {
        if (!*value)
            return sk_cli_opt_error(verb, name, value, "must not be empty"), -1;
        p->endpoint = value;
    } else if (!strcmp(name, "server-key")) {
        p->server_key = *value ? value : NULL;
        p->server_key_from = "--server-key";
    } else if (!strcmp(name, "key")) {
        p->key_file = *value ? value : NULL;
        p->key_file_from = "--key";
    } else if (!strcmp(name, "timeout-ms")) {
        if (sk_cli_parse_int(value, 1, 3600000, &p->timeout_ms) < 0)
            return sk_cli_opt_error(verb, name, value, "want milliseconds from 1 to 3600000"), -1;
    } else {
        return 0;
    }
    return 1;
}

int sk_cli_scan_peer(sk_cli_scan_t *sc, sk_cli_peer_t *p, const char **word, const char *what,
                     const char **value)
{
    for (;;) {
        int o = word ? sk_cli_scan_next(sc, value) : sk_cli_scan_opt(sc, what, value);
        if (o == SK_CLI_END || o == SK_CLI_BAD)
            return o;
        if (o == SK_CLI_WORD) {
            if (*word) {
                sk_cli_usage_error(sc->verb, "one %s only (got \"%s\" and \"%s\")", what, *word,
                                   *value);
                return SK_CLI_BAD;
            }
            *word = *value;
            continue;
        }
        int taken = sk_cli_peer_opt(p, sc->verb, sc->opts[o].name, *value);
        if (taken < 0)
            return SK_CLI_BAD;
        if (taken == 0)
            return o;
    }
}

void sk_cli_peer_help(FILE *out)
{
    fprintf(out, "  --endpoint E     the audit worker (default $SKONTO_AUDIT_ENDPOINT, else\n"
                 "                   tcp://127.0.0.1:7770)\n"
                 "  --server-key KEY the audit worker's CURVE public key: its .pub file or the\n"
                 "                   40-character Z85 key (default $SKONTO_AUDIT_SERVER_KEY)\n"
                 "  --key FILE       your CURVE secret key file (default $SKONTO_CURVE_KEY_FILE):\n"
                 "                   you act as the user the key registry names for it\n"
                 "  --timeout-ms T   wait this long for the answer (default 10000); the\n"
                 "                   handshake itself must complete within 5 s\n");
}

int sk_cli_peer_curve(const sk_cli_peer_t *p, const char *verb, void *sock)
{
    if (!p->server_key || !p->key_file)
        return sk_cli_usage_error(verb,
                                  "%s needs CURVE: its public key (--server-key or %s) and "
                                  "your secret key (--key or SKONTO_CURVE_KEY_FILE; skontoctl "
                                  "keygen makes one)",
                                  p->what, p->server_key_env ? p->server_key_env : "its variable");
    char server[SK_AUTH_Z85_LEN + 1];
    sk_keypair_t kp;
    sk_err_t err;
    if (sk_auth_key_arg(p->server_key, server, &err))
        return sk_cli_usage_error(verb, "%s \"%.200s\": %s", p->server_key_from, p->server_key,
                                  err.msg);
    if (sk_auth_keypair_load(p->key_file, &kp, &err))
        return sk_cli_usage_error(verb, "%s \"%.200s\": %s", p->key_file_from, p->key_file,
                                  err.msg);
    int rc = sk_auth_curve_client(sock, server, &kp, &err);
    memset(&kp, 0, sizeof kp);
    if (rc)
        return sk_cli_fail(verb, "%s", err.msg);
    return SK_EXIT_OK;
}

void sk_cli_rpc_destroy(sk_cli_rpc_t **self_p)
{
    sk_cli_rpc_t *self = *self_p;
    if (!self)
        return;
    sk_cli_watch_close(&self->watch);
    if (self->sock)
        zmq_close(self->sock);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    free(self);
    *self_p = NULL;
}

int sk_cli_watch_open(sk_cli_watch_t *w, void *zctx, void *sock)
{
    memset(w, 0, sizeof *w);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://sk-cli-monitor-%p", sock);
    if (zmq_socket_monitor(sock, ep,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0)
        return -1;
    w->monitor = zmq_socket(zctx, ZMQ_PAIR);
    if (!w->monitor || zmq_connect(w->monitor, ep) < 0)
        return -1;
    return 0;
}

int sk_cli_watch_read(sk_cli_watch_t *w, uint32_t *status)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return 0;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&m) >= 6) {
            memcpy(&event, zmq_msg_data(&m), 2);
            memcpy(&value, (const char *)zmq_msg_data(&m) + 2, 4);
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&m);
            more = zmq_msg_recv(&m, w->monitor, 0) < 0 ? 0 : zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (event == ZMQ_EVENT_CONNECTED)
            w->connected = true;
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            w->connected = w->handshaken = true;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            *status = value;
            return event;
        }
    }
}

void sk_cli_watch_close(sk_cli_watch_t *w)
{
    if (w->monitor)
        zmq_close(w->monitor);
    w->monitor = NULL;
}

sk_cli_rpc_t *sk_cli_rpc_open(const char *verb, const sk_cli_peer_t *p, int *rc)
{
    sk_cli_rpc_t *self = calloc(1, sizeof *self);
    if (!self) {
        *rc = sk_cli_fail(verb, "out of memory");
        return NULL;
    }
    self->verb = verb;
    self->peer = *p;
    self->zctx = zmq_ctx_new();
    self->sock = self->zctx ? zmq_socket(self->zctx, ZMQ_DEALER) : NULL;
    if (!self->sock) {
        *rc = sk_cli_fail(verb, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int zero = 0;
    if (zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero) < 0) {
        *rc = sk_cli_fail(verb, "cannot set socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    if ((*rc = sk_cli_peer_curve(p, verb, self->sock)) != SK_EXIT_OK)
        goto fail;
    if (sk_cli_watch_open(&self->watch, self->zctx, self->sock) < 0) {
        *rc = sk_cli_fail(verb, "cannot monitor the socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_connect(self->sock, p->endpoint) < 0) {
        if (errno == EINVAL || errno == EPROTONOSUPPORT)
            *rc = sk_cli_opt_error(verb, "endpoint", p->endpoint,
                                   "not a ZeroMQ endpoint (want e.g. tcp://127.0.0.1:7770): %s",
                                   zmq_strerror(errno));
        else
            *rc = sk_cli_fail(verb, "cannot connect to %s: %s", p->endpoint, zmq_strerror(errno));
        goto fail;
    }
    self->opened_ms = s_now_ms();
    *rc = SK_EXIT_OK;
    return self;
fail:
    sk_cli_rpc_destroy(&self);
    return NULL;
}

void *sk_cli_rpc_context(sk_cli_rpc_t *self)
{
    return self->zctx;
}

/* Reads the monitor: -1 after one line when a handshake was refused. */
static int s_check_monitor(sk_cli_rpc_t *self)
{
    uint32_t status = 0;
    int event = sk_cli_watch_read(&self->watch, &status);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        sk_cli_fail(self->verb,
                    "%s at %s refused your key (authentication status %u): it is not in the key "
                    "registry, or its role may not use this endpoint",
                    self->peer.what, self->peer.endpoint, (unsigned)status);
        return -1;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        sk_cli_fail(self->verb, "handshake with %s at %s failed: wrong server key?",
                    self->peer.what, self->peer.endpoint);
        return -1;
    }
    return 0;
}

int sk_cli_rpc_call(sk_cli_rpc_t *self, const void *req, size_t len,
                    int (*accept)(void *arg, const uint8_t *bytes, size_t n), void *arg)
{
    /* Queued now, delivered once the handshake completes. */
    if (zmq_send(self->sock, req, len, 0) < 0)
        return sk_cli_fail(self->verb, "cannot send to %s: %s", self->peer.what,
                           zmq_strerror(errno));
    /* the answer's deadline runs from the send or, when the handshake came
     * later, from the moment it was seen */
    int64_t sent = s_now_ms();
    bool was_handshaken = self->watch.handshaken;
    for (;;) {
        zmq_pollitem_t items[2] = {{self->sock, 0, ZMQ_POLLIN, 0},
                                   {self->watch.monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 50) < 0 && errno != EINTR)
            return sk_cli_fail(self->verb, "waiting for %s: %s", self->peer.what,
                               zmq_strerror(errno));
        if (s_check_monitor(self) < 0)
            return SK_EXIT_FAIL;
        for (;;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, self->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            self->watch.handshaken = true; /* whatever the monitor has not told yet */
            int more = zmq_msg_more(&m);
            int took = more ? 0 /* not one frame: not an answer */
                            : accept(arg, zmq_msg_data(&m), zmq_msg_size(&m));
            zmq_msg_close(&m);
            while (more) {
                zmq_msg_init(&m);
                more = zmq_msg_recv(&m, self->sock, 0) < 0 ? 0 : zmq_msg_more(&m);
                zmq_msg_close(&m);
            }
            if (took < 0)
                return SK_EXIT_FAIL;
            if (took > 0)
                return SK_EXIT_OK;
        }
        int64_t now = s_now_ms();
        if (!self->watch.handshaken && now - self->opened_ms >= self->peer.handshake_timeout_ms) {
            double secs = (double)self->peer.handshake_timeout_ms / 1000.0;
            if (!self->watch.connected)
                return sk_cli_fail(self->verb,
                                   "no connection to %s within %g s (%s not running, or a "
                                   "wrong endpoint?)",
                                   self->peer.endpoint, secs, self->peer.what);
            return sk_cli_fail(self->verb,
                               "no CURVE handshake with %s within %g s (wrong server key, or "
                               "%s not running?)",
                               self->peer.endpoint, secs, self->peer.what);
        }
        if (self->watch.handshaken && !was_handshaken) {
            was_handshaken = true;
            sent = now;
        }
        if (self->watch.handshaken && now - sent >= self->peer.timeout_ms)
            return sk_cli_fail(self->verb,
                               "no answer from %s at %s within %ld ms; nothing is known about "
                               "the request (run the command again to see)",
                               self->peer.what, self->peer.endpoint, self->peer.timeout_ms);
    }
}
