/* skonto-ingest — the ERP-facing worker (docs/DATAFLOW.md, event path 1-4).
 *
 * Binds a ZeroMQ ROUTER at SKONTO_INGEST_ENDPOINT (default
 * tcp://127.0.0.1:7750). A DEALER client sends one frame, a serialized
 * skonto.v1.Envelope; a REQ client's empty delimiter is accepted too and
 * echoed. Every message gets one Ack frame, sent only once its outcome is
 * durable in Redis (SKONTO_REDIS_URL). Optionally SUBscribes to the PUB
 * endpoints in SKONTO_INGEST_SUB (comma-separated) and stores what they
 * publish the same way, without Acks, counting sequence gaps per source.
 * Writes a heartbeat every second as SKONTO_WORKER_NAME (default "ingest").
 *
 * Authentication (docs/SECURITY.md): with SKONTO_INGEST_SECRET_KEY_FILE and
 * SKONTO_AUTHORIZED_KEYS the ROUTER is a CURVE server and a ZAP handler
 * (common/io/sk_auth) admits only registered keys of the roles erp and
 * operator; every message then carries its sender's User-Id, which rejection
 * logs and dead letters record. Without them the ROUTER is open to whoever
 * reaches it: allowed on a loopback/ipc endpoint only, with a warning
 * (SKONTO_INGEST_ALLOW_UNAUTHENTICATED=1 overrides that, for a container
 * whose network nobody else reaches).
 *
 * Loop: zmq_poll over the ROUTER and the SUBs; drain up to INGEST_BATCH
 * messages without blocking; decode and validate each; hand the batch to
 * ingest_process (ingest.h), which pipelines the Redis work and sends the
 * Acks, and while a pipeline's round trip is on its way receives and
 * decodes the messages waiting then as the start of the next batch. When
 * Redis is unreachable ingest stops reading (messages wait in ZeroMQ's
 * queues, clients retry) and reconnects with backoff.
 * SIGTERM / SIGINT (common/io/sk_signal): finish the batch, flush counters,
 * exit 0 (messages received for the next batch get no Ack: their clients
 * resend them). Settings are read with common/io/sk_config; a bad one is one log
 * line naming it and exit status 2. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "metrics.h"
#include "sk_auth.h"
#include "sk_clock.h"
#include "sk_config.h"
#include "sk_conns.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_signal.h"

#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_MAX_CONNECTIONS 16         /* default of SKONTO_INGEST_MAX_CONNECTIONS */
#define S_MAX_CONNECTIONS_LIMIT 1024 /* its largest value */
#define S_MONITOR_EP "inproc://ingest-router-monitor"

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- sockets */

static int s_setopt(void *sock, int opt, int value, const char *name)
{
    if (zmq_setsockopt(sock, opt, &value, sizeof value)) {
        sk_log_error("zmq_setsockopt %s: %s", name, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static int s_setopt64(void *sock, int opt, int64_t value, const char *name)
{
    if (zmq_setsockopt(sock, opt, &value, sizeof value)) {
        sk_log_error("zmq_setsockopt %s: %s", name, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static void *s_open_router(void *ctx, const char *endpoint, const char *curve_secret)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    if (!s) {
        sk_log_error("zmq_socket ROUTER: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    /* Unroutable Acks fail loudly; a bounded linger lets queued Acks leave at
     * exit without hanging on a client that is gone. A frame up to
     * SK_EVENT_FRAME_MAX is read (and answered too_large if it is over the
     * envelope limit); a bigger one makes ZeroMQ drop the connection before
     * it costs memory. RCVHWM frames per connection bound what one peer can
     * queue: INGEST_RCVHWM x SK_EVENT_FRAME_MAX bytes at worst. */
    if (s_setopt(s, ZMQ_ROUTER_MANDATORY, 1, "ROUTER_MANDATORY") ||
        s_setopt(s, ZMQ_LINGER, 2000, "LINGER") ||
        s_setopt64(s, ZMQ_MAXMSGSIZE, SK_EVENT_FRAME_MAX, "MAXMSGSIZE") ||
        s_setopt(s, ZMQ_RCVHWM, INGEST_RCVHWM, "RCVHWM") ||
        s_setopt(s, ZMQ_SNDHWM, 100000, "SNDHWM")) {
        zmq_close(s);
        return NULL;
    }
    sk_err_t err;
    if (sk_auth_bind_server(s, curve_secret, endpoint, &err)) {
        sk_log_error("%s", err.msg);
        zmq_close(s);
        return NULL;
    }
    return s;
}

static void *s_open_sub(void *ctx, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_SUB);
    if (!s) {
        sk_log_error("zmq_socket SUB: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    if (s_setopt(s, ZMQ_LINGER, 0, "LINGER") ||
        s_setopt64(s, ZMQ_MAXMSGSIZE, SK_EVENT_FRAME_MAX, "MAXMSGSIZE") ||
        s_setopt(s, ZMQ_RCVHWM, INGEST_RCVHWM, "RCVHWM") ||
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) ||
        zmq_connect(s, endpoint)) {
        sk_log_error("cannot subscribe to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Splits SKONTO_INGEST_SUB and connects a SUB per endpoint into subs[*nsubs]. */
static int s_open_subs(void *ctx, const char *list, void **subs, int *nsubs)
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    int rc = 0;
    char *save = NULL;
    for (char *ep = strtok_r(copy, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
        while (*ep == ' ')
            ep++;
        if (!*ep)
            continue;
        if (*nsubs == INGEST_MAX_SUBS) {
            sk_log_error("SKONTO_INGEST_SUB: at most %d endpoints", INGEST_MAX_SUBS);
            rc = -1;
            break;
        }
        void *s = s_open_sub(ctx, ep);
        if (!s) {
            rc = -1;
            break;
        }
        subs[(*nsubs)++] = s;
        sk_log("subscribed to %s", ep);
    }
    free(copy);
    return rc;
}

/* ---------------------------------------------------------------- main */

/* Reads ingest's settings (sk_config); 0, or -1 after logging what is wrong. */
static int s_configure(const char **name, const char **endpoint, const char **subs,
                       int64_t *days, int64_t *max_conns)
{
    sk_err_t err;
    sk_clock_t *clock = NULL; /* ingest judges nothing by business time; it checks SKONTO_CLOCK */
    if (sk_config_string("SKONTO_WORKER_NAME", "ingest", SK_EVENT_ID_MAX, name, &err) ||
        sk_log_init(*name, &err) ||
        sk_config_string("SKONTO_INGEST_ENDPOINT", "tcp://127.0.0.1:7750", 1024, endpoint,
                         &err) ||
        sk_config_string("SKONTO_INGEST_SUB", NULL, 4096, subs, &err) ||
        sk_config_int("SKONTO_EVENT_ID_RETENTION_DAYS", INGEST_RETENTION_DAYS, 1, 3650, days,
                      &err) ||
        sk_config_int("SKONTO_INGEST_MAX_CONNECTIONS", S_MAX_CONNECTIONS, 1,
                      S_MAX_CONNECTIONS_LIMIT, max_conns, &err) ||
        !(clock = sk_clock_new_env(&err))) {
        sk_log_error("%s: refusing to start", err.msg);
        return -1;
    }
    sk_clock_destroy(&clock);
    return 0;
}

/* GET /metrics and /healthz when SKONTO_METRICS_ADDR is set (metrics.h).
 * NULL (logged) when the variable is bad: ingest refuses to start. */
static ingest_metrics_t *s_metrics_setup(void)
{
    sk_err_t err;
    ingest_metrics_t *m = ingest_metrics_new(&err);
    if (!m) {
        sk_log_error("%s: refusing to start", err.msg);
        return NULL;
    }
    if (*ingest_metrics_address(m))
        sk_log("metrics at http://%s/metrics and /healthz", ingest_metrics_address(m));
    return m;
}

int main(void)
{
    const char *name, *endpoint, *subs;
    int64_t days, max_conns;
    if (s_configure(&name, &endpoint, &subs, &days, &max_conns))
        return 2;
    if (sodium_init() < 0) {
        sk_log_error("libsodium cannot be initialised");
        return 1;
    }
    ingest_t *self = ingest_new(name, days * 86400000);
    if (!self) {
        sk_log_error("out of memory");
        return 1;
    }

    sk_err_t serr;
    void *ctx = NULL;
    sk_heartbeat_t *hb = sk_heartbeat_new(name, "ingest");
    if (!hb || !(ctx = sk_signal_zmq_ctx_new(&serr)) || sk_signal_install(&serr)) {
        sk_log_error("%s", hb ? serr.msg : "out of memory");
        if (ctx)
            zmq_ctx_term(ctx);
        sk_heartbeat_destroy(&hb);
        ingest_destroy(&self);
        return 1;
    }

    int status = 0;
    void *router = NULL, *subs_s[INGEST_MAX_SUBS];
    int nsubs = 0;
    sk_conns_t *conns = NULL; /* the watcher of the ROUTER's connections when ZAP does not watch */
    sk_zap_t *zap = NULL;
    sk_keypair_t server_key;
    memset(&server_key, 0, sizeof server_key);
    ingest_metrics_t *metrics = s_metrics_setup();
    if (!metrics) {
        status = 2;
        goto out;
    }
    ingest_set_metrics(self, metrics);
    const char *key_file = NULL, *registry = NULL;
    bool allow_open = false;
    if (sk_config_string("SKONTO_INGEST_SECRET_KEY_FILE", NULL, 4096, &key_file, &serr) ||
        sk_config_string("SKONTO_AUTHORIZED_KEYS", NULL, 4096, &registry, &serr) ||
        sk_config_bool("SKONTO_INGEST_ALLOW_UNAUTHENTICATED", false, &allow_open, &serr)) {
        sk_log_error("%s: refusing to start", serr.msg);
        status = 2;
        goto out;
    }
    bool curve = key_file != NULL, has_reg = registry != NULL;
    if (curve != has_reg) {
        sk_log_error("CURVE needs both SKONTO_INGEST_SECRET_KEY_FILE (the server's secret key) "
                     "and SKONTO_AUTHORIZED_KEYS (the key registry); only %s is set: refusing "
                     "to start",
                     curve ? "SKONTO_INGEST_SECRET_KEY_FILE" : "SKONTO_AUTHORIZED_KEYS");
        status = 2;
        goto out;
    }
    if (curve) {
        sk_err_t err;
        sk_registry_t *reg = NULL;
        if (sk_auth_keypair_load(key_file, &server_key, &err) ||
            !(reg = sk_registry_load(registry, &err)) ||
            !(zap = sk_zap_new(ctx, reg, SK_ROLES_SENDERS, sk_log_warn, &err))) {
            sk_log_error("%s: refusing to start", err.msg);
            status = 2;
            goto out;
        }
        sk_log("CURVE on: server public key %s, %zu registered keys in %s (roles erp and "
               "operator may send), at most %" PRId64 " connections",
               server_key.public_key, sk_registry_size(reg), registry, max_conns);
    } else if (!sk_auth_endpoint_is_local(endpoint) && !allow_open) {
        sk_log_error("%s is reachable from other machines: set SKONTO_INGEST_SECRET_KEY_FILE and "
                     "SKONTO_AUTHORIZED_KEYS (CURVE) or bind to loopback (or, inside an isolated "
                     "container network only, SKONTO_INGEST_ALLOW_UNAUTHENTICATED=1): refusing to "
                     "start",
                     endpoint);
        status = 2;
        goto out;
    } else {
        sk_log_warn("WARNING: %s is unauthenticated (no CURVE keys): anyone who can reach it may "
                    "send events; for loopback development only (docs/SECURITY.md)",
                    endpoint);
    }
    router = s_open_router(ctx, endpoint, curve ? server_key.secret_key : NULL);
    if (!router || (subs && *subs && s_open_subs(ctx, subs, subs_s, &nsubs))) {
        status = 1;
        goto out;
    }
    ingest_set_sockets(self, router, subs_s, nsubs);
    /* Every closed connection is logged and counted; with CURVE the ZAP
     * handler also refuses one connection more than max_conns, which bounds
     * what peers can queue (INGEST_RCVHWM frames of SK_EVENT_FRAME_MAX each). */
    sk_err_t cerr;
    if (sk_conns_monitor(router, S_MONITOR_EP, &cerr) ||
        (zap ? sk_zap_watch(zap, S_MONITOR_EP, endpoint, (int)max_conns, &cerr)
             : !(conns = sk_conns_new(ctx, S_MONITOR_EP, endpoint, sk_log, &cerr)))) {
        sk_log_error("%s", cerr.msg);
        status = 1;
        goto out;
    }
    ingest_set_conns(self, zap ? sk_zap_conns(zap) : conns);
    sk_log("listening on %s as %s; event ids are remembered for %" PRId64 " days", endpoint,
           name, days);

    int64_t backoff = S_BACKOFF_MIN_MS, next_connect = 0, next_hb = 0;
    zmq_pollitem_t items[2 + INGEST_MAX_SUBS];
    items[0] = (zmq_pollitem_t){router, 0, ZMQ_POLLIN, 0};
    for (int k = 0; k < nsubs; k++)
        items[1 + k] = (zmq_pollitem_t){subs_s[k], 0, ZMQ_POLLIN, 0};
    items[1 + nsubs] =
        (zmq_pollitem_t){conns ? sk_conns_socket(conns) : NULL, 0, ZMQ_POLLIN, 0};

    while (!sk_signal_stopping()) {
        int64_t now = s_mono_ms();
        ingest_metrics_loop(metrics, ingest_connected(self));
        if (!ingest_connected(self)) {
            if (now < next_connect) {
                struct timespec ts = {0, 50 * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            if (ingest_connect(self)) {
                ingest_metrics_redis_error(metrics);
                sk_log_warn("Redis unavailable: retrying in %" PRId64 " ms", backoff);
                next_connect = now + backoff;
                backoff = backoff * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            backoff = S_BACKOFF_MIN_MS;
            next_hb = 0;
            ingest_metrics_loop(metrics, true); /* /healthz: ok from now, not next turn */
        }
        if (now >= next_hb) {
            if (ingest_heartbeat(self, hb)) {
                ingest_metrics_redis_error(metrics);
                ingest_disconnect(self);
                continue;
            }
            next_hb = now + SK_HEARTBEAT_EVERY_MS;
        }
        long timeout = (long)(next_hb - now);
        if (timeout < 0 || ingest_has_received(self))
            timeout = 0;
        int rc = zmq_poll(items, (conns ? 2 : 1) + nsubs, timeout);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            sk_log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
            status = 1;
            break;
        }
        if (rc == 0 && !ingest_has_received(self))
            continue;
        if (conns && (items[1 + nsubs].revents & ZMQ_POLLIN))
            sk_conns_drain(conns);
        int nitems = ingest_receive_batch(self);
        ingest_metrics_batch(metrics, nitems);
        if (nitems && ingest_process(self)) {
            ingest_metrics_redis_error(metrics);
            sk_log_error("Redis failed during a batch of %d: unacknowledged events will be "
                         "retried by their clients (what a PUB feed sent in it shows as a "
                         "sequence gap)",
                         nitems);
            ingest_disconnect(self);
            next_connect = s_mono_ms() + S_BACKOFF_MIN_MS;
        }
        ingest_clear_batch(self);
        ingest_metrics_batch(metrics, 0);
    }

    if (ingest_connected(self) && ingest_heartbeat(self, hb))
        sk_log_error("final heartbeat and counters not written");
    const ingest_counts_t *n = ingest_counts(self);
    sk_log("stopping: %" PRIu64 " accepted, %" PRIu64 " duplicate, %" PRIu64
           " rejected, %" PRIu64 " errors",
           n->accepted, n->duplicate, n->rejected, n->errors);
out:
    sk_conns_destroy(&conns);
    if (router)
        zmq_close(router);
    for (int k = 0; k < nsubs; k++)
        zmq_close(subs_s[k]);
    sk_zap_destroy(&zap);
    sk_heartbeat_destroy(&hb);
    memset(&server_key, 0, sizeof server_key);
    zmq_ctx_term(ctx);
    ingest_destroy(&self);
    ingest_metrics_destroy(&metrics);
    return status;
}
