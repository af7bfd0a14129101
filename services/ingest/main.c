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
 * ingest_process (batch.c), which pipelines the Redis work and sends the
 * Acks. When Redis is unreachable ingest stops reading (messages wait in
 * ZeroMQ's queues, clients retry) and reconnects with backoff.
 * SIGTERM / SIGINT (common/io/sk_signal): finish the batch, flush counters,
 * exit 0. Settings are read with common/io/sk_config; a bad one is one log
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
#include "sk_auth.h"
#include "sk_clock.h"
#include "sk_config.h"
#include "sk_conns.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_redis.h"
#include "sk_signal.h"

#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_MAX_FRAMES 4 /* routing id + delimiter + body, and one to notice extras */
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
    if (curve_secret && sk_auth_curve_server(s, curve_secret, &err)) {
        sk_log_error("%s", err.msg);
        zmq_close(s);
        return NULL;
    }
    if (zmq_bind(s, endpoint)) {
        sk_log_error("cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
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

/* Splits SKONTO_INGEST_SUB and connects a SUB per endpoint. */
static int s_open_subs(ingest_t *self, void *ctx, const char *list)
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
        if (self->nsubs == INGEST_MAX_SUBS) {
            sk_log_error("SKONTO_INGEST_SUB: at most %d endpoints", INGEST_MAX_SUBS);
            rc = -1;
            break;
        }
        void *s = s_open_sub(ctx, ep);
        if (!s) {
            rc = -1;
            break;
        }
        self->subs[self->nsubs++] = s;
        sk_log("subscribed to %s", ep);
    }
    free(copy);
    return rc;
}

/* ---------------------------------------------------------------- receiving */

/* Receives one ROUTER message into it; 1 got one, 0 nothing waiting, -1 error. */
static int s_recv_router(ingest_t *self, ingest_item_t *it)
{
    zmq_msg_t f[S_MAX_FRAMES];
    bool extra = false;
    zmq_msg_init(&f[0]);
    if (zmq_msg_recv(&f[0], self->router, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&f[0]);
        if (e == EAGAIN || e == EINTR)
            return 0;
        sk_log_error("zmq_msg_recv ROUTER: %s", zmq_strerror(e));
        return -1;
    }
    int n = 1;
    bool more = zmq_msg_more(&f[0]);
    while (more) {
        /* The rest of a multipart message is already here: recv does not block. */
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->router, 0) < 0) {
            sk_log_error("zmq_msg_recv ROUTER: %s", zmq_strerror(zmq_errno()));
            zmq_msg_close(&m);
            for (int k = 0; k < n; k++)
                zmq_msg_close(&f[k]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < S_MAX_FRAMES) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &m);
        } else {
            extra = true; /* keep the last frame as the body, drop the ones between */
            zmq_msg_move(&f[n - 1], &m);
        }
        zmq_msg_close(&m);
    }
    ingest_item_init(it, 0);
    zmq_msg_move(&it->ident, &f[0]);
    if (n == 2 && !extra) {
        zmq_msg_move(&it->body, &f[1]); /* DEALER: the envelope */
    } else if (n == 3 && !extra && zmq_msg_size(&f[1]) == 0) {
        it->delim = true; /* REQ: empty delimiter, then the envelope */
        zmq_msg_move(&it->body, &f[2]);
    } else {
        it->delim = n >= 2 && zmq_msg_size(&f[1]) == 0;
        if (n >= 2)
            zmq_msg_move(&it->body, &f[n - 1]);
        it->status = INGEST_REJECTED;
        sk_err_set(&it->err, SK_REASON_BAD_ENVELOPE,
                   "want one frame (a skonto.v1.Envelope), optionally after an empty delimiter");
    }
    for (int k = 0; k < n; k++)
        zmq_msg_close(&f[k]);
    return 1;
}

/* Receives one PUB message (a single frame) from SUB socket origin-1 into it; 1, 0 or -1. */
static int s_recv_sub(ingest_t *self, int origin, ingest_item_t *it)
{
    void *sub = self->subs[origin - 1];
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&m);
        if (e == EAGAIN || e == EINTR)
            return 0;
        sk_log_error("zmq_msg_recv SUB: %s", zmq_strerror(e));
        return -1;
    }
    ingest_item_init(it, origin);
    zmq_msg_move(&it->body, &m);
    zmq_msg_close(&m);
    if (zmq_msg_more(&it->body)) {
        /* A multi-frame publication is not ours: drop the rest, keep the first. */
        int more = 1;
        while (more) {
            zmq_msg_t x;
            zmq_msg_init(&x);
            if (zmq_msg_recv(&x, sub, 0) < 0) {
                zmq_msg_close(&x);
                break;
            }
            more = zmq_msg_more(&x);
            zmq_msg_close(&x);
        }
        it->status = INGEST_REJECTED;
        sk_err_set(&it->err, SK_REASON_BAD_ENVELOPE,
                   "want one frame (a skonto.v1.Envelope) per publication");
    }
    return 1;
}

/* Drains up to INGEST_BATCH waiting messages, taking turns between sockets. */
static void s_drain(ingest_t *self)
{
    self->nitems = 0;
    bool any = true;
    while (any && self->nitems < INGEST_BATCH) {
        any = false;
        /* origin 0 is the ROUTER, origin i >= 1 the SUB socket i-1. */
        for (int origin = 0; origin <= self->nsubs && self->nitems < INGEST_BATCH; origin++) {
            /* A few at a time from each socket so that one busy feed cannot starve the others. */
            for (int burst = 0; burst < 32 && self->nitems < INGEST_BATCH; burst++) {
                ingest_item_t *it = &self->items[self->nitems];
                int rc = origin ? s_recv_sub(self, origin, it) : s_recv_router(self, it);
                if (rc <= 0)
                    break;
                ingest_item_decode(self, it);
                self->nitems++;
                any = true;
            }
        }
    }
}

static void s_clear_batch(ingest_t *self)
{
    for (int i = 0; i < self->nitems; i++)
        ingest_item_clear(&self->items[i]);
    self->nitems = 0;
}

/* ---------------------------------------------------------------- Redis */

static void s_drop_redis(ingest_t *self)
{
    if (self->redis)
        redisFree(self->redis);
    self->redis = NULL;
    /* What was read from Redis may be stale after an outage. */
    for (size_t i = 0; i < self->nsources; i++)
        self->sources[i].loaded = self->sources[i].loading = false;
}

static int s_connect_redis(ingest_t *self)
{
    sk_err_t err;
    self->redis = sk_redis_connect_env(&err);
    if (!self->redis) {
        sk_log_error("%s", err.msg);
        return -1;
    }
    if (ingest_load_script(self) || ingest_recover(self)) {
        s_drop_redis(self);
        return -1;
    }
    sk_log("connected to Redis at %s", sk_redis_url_env());
    return 0;
}

/* ---------------------------------------------------------------- main */

/* Reads ingest's settings (sk_config); 0, or -1 after logging what is wrong. */
static int s_configure(ingest_t *self, const char **endpoint, const char **subs,
                       int64_t *days, int64_t *max_conns, sk_clock_t **clock)
{
    sk_err_t err;
    if (sk_config_string("SKONTO_WORKER_NAME", "ingest", SK_EVENT_ID_MAX, &self->name, &err) ||
        sk_log_init(self->name, &err) ||
        sk_config_string("SKONTO_INGEST_ENDPOINT", "tcp://127.0.0.1:7750", 1024, endpoint,
                         &err) ||
        sk_config_string("SKONTO_INGEST_SUB", NULL, 4096, subs, &err) ||
        sk_config_int("SKONTO_EVENT_ID_RETENTION_DAYS", INGEST_RETENTION_DAYS, 1, 3650, days,
                      &err) ||
        sk_config_int("SKONTO_INGEST_MAX_CONNECTIONS", S_MAX_CONNECTIONS, 1,
                      S_MAX_CONNECTIONS_LIMIT, max_conns, &err) ||
        !(*clock = sk_clock_new_env(&err))) {
        sk_log_error("%s: refusing to start", err.msg);
        return -1;
    }
    return 0;
}

/* GET /metrics and /healthz when SKONTO_METRICS_ADDR is set (metrics.h).
 * 0, or -1 (logged) when the variable is bad: ingest refuses to start. */
static int s_metrics_setup(ingest_t *self)
{
    sk_err_t err;
    self->metrics = ingest_metrics_new(&err);
    if (!self->metrics) {
        sk_log_error("%s: refusing to start", err.msg);
        return -1;
    }
    if (*ingest_metrics_address(self->metrics))
        sk_log("metrics at http://%s/metrics and /healthz", ingest_metrics_address(self->metrics));
    return 0;
}

int main(void)
{
    ingest_t *self = calloc(1, sizeof *self); /* large: the batch and its arguments */
    if (!self) {
        sk_log_error("out of memory");
        return 1;
    }
    const char *endpoint, *subs;
    int64_t days, max_conns;
    sk_clock_t *clock = NULL; /* ingest judges nothing by business time; it checks SKONTO_CLOCK */
    if (s_configure(self, &endpoint, &subs, &days, &max_conns, &clock)) {
        free(self);
        return 2;
    }
    sk_clock_destroy(&clock);
    if (sodium_init() < 0) {
        sk_log_error("libsodium cannot be initialised");
        free(self);
        return 1;
    }
    self->finish = self->finbuf[0];
    self->flushing = self->finbuf[1];
    /* Whose pending claims these are: a restarted ingest is another owner,
     * so its recovery settles what the dead one left. */
    snprintf(self->owner, sizeof self->owner, "%s/%d/%" PRId64, self->name, (int)getpid(),
             sk_now_ms());
    self->retention_ms = days * 86400000;

    sk_err_t serr;
    void *ctx = NULL;
    sk_heartbeat_t *hb = sk_heartbeat_new(self->name, "ingest");
    if (!hb || !(ctx = sk_signal_zmq_ctx_new(&serr)) || sk_signal_install(&serr)) {
        sk_log_error("%s", hb ? serr.msg : "out of memory");
        if (ctx)
            zmq_ctx_term(ctx);
        sk_heartbeat_destroy(&hb);
        free(self);
        return 1;
    }

    int status = 0;
    sk_conns_t *conns = NULL; /* the watcher of the ROUTER's connections when ZAP does not watch */
    sk_zap_t *zap = NULL;
    sk_keypair_t server_key;
    memset(&server_key, 0, sizeof server_key);
    if (s_metrics_setup(self)) {
        status = 2;
        goto out;
    }
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
        sk_log_error("CURVE needs both SKONTO_INGEST_SECRET_KEY_FILE (the server's secret key) and "
                   "SKONTO_AUTHORIZED_KEYS (the key registry); only %s is set: refusing to start",
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
    self->router = s_open_router(ctx, endpoint, curve ? server_key.secret_key : NULL);
    if (!self->router || (subs && *subs && s_open_subs(self, ctx, subs))) {
        status = 1;
        goto out;
    }
    /* Every closed connection is logged and counted; with CURVE the ZAP
     * handler also refuses one connection more than max_conns, which bounds
     * what peers can queue (INGEST_RCVHWM frames of SK_EVENT_FRAME_MAX each). */
    sk_err_t cerr;
    if (sk_conns_monitor(self->router, S_MONITOR_EP, &cerr) ||
        (zap ? sk_zap_watch(zap, S_MONITOR_EP, endpoint, (int)max_conns, &cerr)
             : !(conns = sk_conns_new(ctx, S_MONITOR_EP, endpoint, sk_log, &cerr)))) {
        sk_log_error("%s", cerr.msg);
        status = 1;
        goto out;
    }
    self->conns = zap ? sk_zap_conns(zap) : conns;
    sk_log("listening on %s as %s; event ids are remembered for %" PRId64 " days", endpoint,
           self->name, days);

    int64_t backoff = S_BACKOFF_MIN_MS, next_connect = 0, next_hb = 0;
    zmq_pollitem_t items[2 + INGEST_MAX_SUBS];
    items[0] = (zmq_pollitem_t){self->router, 0, ZMQ_POLLIN, 0};
    for (int k = 0; k < self->nsubs; k++)
        items[1 + k] = (zmq_pollitem_t){self->subs[k], 0, ZMQ_POLLIN, 0};
    items[1 + self->nsubs] =
        (zmq_pollitem_t){conns ? sk_conns_socket(conns) : NULL, 0, ZMQ_POLLIN, 0};

    while (!sk_signal_stopping()) {
        int64_t now = s_mono_ms();
        ingest_metrics_loop(self->metrics, self->redis != NULL);
        if (!self->redis) {
            if (now < next_connect) {
                struct timespec ts = {0, 50 * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            if (s_connect_redis(self)) {
                ingest_metrics_redis_error(self->metrics);
                sk_log_warn("Redis unavailable: retrying in %" PRId64 " ms", backoff);
                next_connect = now + backoff;
                backoff = backoff * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            backoff = S_BACKOFF_MIN_MS;
            next_hb = 0;
            ingest_metrics_loop(self->metrics, true); /* /healthz: ok from now, not next turn */
        }
        if (now >= next_hb) {
            if (ingest_heartbeat(self, hb)) {
                ingest_metrics_redis_error(self->metrics);
                s_drop_redis(self);
                continue;
            }
            next_hb = now + SK_HEARTBEAT_EVERY_MS;
        }
        long timeout = (long)(next_hb - now);
        if (timeout < 0)
            timeout = 0;
        int rc = zmq_poll(items, (conns ? 2 : 1) + self->nsubs, timeout);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            sk_log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
            status = 1;
            break;
        }
        if (rc == 0)
            continue;
        if (conns && (items[1 + self->nsubs].revents & ZMQ_POLLIN))
            sk_conns_drain(conns);
        s_drain(self);
        ingest_metrics_batch(self->metrics, self->nitems);
        if (self->nitems && ingest_process(self)) {
            self->errors++;
            ingest_metrics_redis_error(self->metrics);
            sk_log_error("Redis failed during a batch of %d: unacknowledged events will be retried "
                       "by their clients (what a PUB feed sent in it shows as a sequence gap)",
                       self->nitems);
            s_drop_redis(self);
            next_connect = s_mono_ms() + S_BACKOFF_MIN_MS;
        }
        s_clear_batch(self);
        ingest_metrics_batch(self->metrics, 0);
    }

    if (self->redis && ingest_heartbeat(self, hb))
        sk_log_error("final heartbeat and counters not written");
    sk_log("stopping: %" PRIu64 " accepted, %" PRIu64 " duplicate, %" PRIu64
               " rejected, %" PRIu64 " errors",
               self->accepted, self->duplicate, self->rejected, self->errors);
out:
    sk_conns_destroy(&conns);
    if (self->router)
        zmq_close(self->router);
    for (int k = 0; k < self->nsubs; k++)
        zmq_close(self->subs[k]);
    sk_zap_destroy(&zap);
    sk_heartbeat_destroy(&hb);
    memset(&server_key, 0, sizeof server_key);
    zmq_ctx_term(ctx);
    s_drop_redis(self);
    ingest_metrics_destroy(&self->metrics);
    free(self->sources);
    free(self);
    return status;
}
