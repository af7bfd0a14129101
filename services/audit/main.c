/* skonto-audit — the audit worker of issue 9 (docs/AUDIT.md section 8): the
 * one writer of the audit log that proves itself, and of the overrides.
 *
 *   skonto-audit                          run the worker
 *   skonto-audit keygen NAME SECRET PUB   make the log's signing key pair
 *                                         (secret 0600, never over a file)
 *
 * Binds a ROUTER at SKONTO_AUDIT_ENDPOINT (default tcp://127.0.0.1:7770),
 * a CURVE server (SKONTO_AUDIT_SECRET_KEY_FILE) whose ZAP handler admits the
 * registered keys (SKONTO_AUTHORIZED_KEYS) of the roles sales,
 * sales_director, finance_director, auditor, operator and erp: one frame
 * AuditRequest in, one frame AuditReply out (audit.h). A key the registry
 * does not know is refused by ZAP before a message arrives (logged and
 * counted; the handler reports it to this loop, which appends it to the log
 * at most once per key per SKONTO_AUDIT_UNKNOWN_KEY_EVERY: unknown.h). The
 * PUB feed at SKONTO_AUDIT_FEED_ENDPOINT (default tcp://127.0.0.1:7771)
 * lives in a ZeroMQ context of its own, because ZAP is one handler per
 * context, whose handler admits the role auditor only.
 *
 * At start the whole log is read and verified (auditlog.h); a log that does
 * not verify is refused: exit status 3 and one line saying what was found.
 * Checkpoints are signed with SKONTO_AUDIT_KEY (a 0600 file; never in Redis,
 * never logged) every SKONTO_AUDIT_CHECKPOINT_EVERY entries (default 100)
 * or SKONTO_AUDIT_CHECKPOINT_SECONDS of wall time (default 5), also when
 * nothing was appended. Every loop turn (at most 100 ms apart) reads the
 * business clock (SKONTO_CLOCK), expires what is past its TTL and logs the
 * discount workers' hand-offs.
 *
 * Redis failures: the request being handled is answered ERROR unavailable,
 * the connection is dropped, later requests wait in ZeroMQ's queue, and
 * after reconnecting (with backoff) the log is read and verified again (a
 * reply lost with the connection may hide an append that happened).
 * SIGTERM / SIGINT: finish the request, last heartbeat, exit 0. A bad
 * setting: one line naming it, exit 2. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "audit.h"
#include "auditlog.h"
#include "metrics.h"
#include "sk_auth.h"
#include "sk_checkpoint.h"
#include "sk_clock.h"
#include "sk_config.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_override.h"
#include "sk_redis.h"
#include "sk_signal.h"

#define S_TICK_MS 100
#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_FRAME_MAX 65536 /* an AuditRequest is a few hundred bytes */
#define S_ROLES_ENDPOINT                                                                           \
    (SK_ROLE_BIT(SK_ROLE_SALES) | SK_ROLE_BIT(SK_ROLE_SALES_DIRECTOR) |                            \
     SK_ROLE_BIT(SK_ROLE_FINANCE_DIRECTOR) | SK_ROLE_BIT(SK_ROLE_AUDITOR) |                        \
     SK_ROLE_BIT(SK_ROLE_OPERATOR) | SK_ROLE_BIT(SK_ROLE_ERP))
#define S_EXIT_BAD_LOG 3
#define S_REPORTS_EP "inproc://sk-audit-zap-reports"
#define S_REPORTS_HWM 1000  /* refusals waiting for the loop; more are dropped, counted */
#define S_REPORTS_BATCH 256 /* refusals read per loop turn */

static audit_metrics_t *s_metrics; /* for the ZAP threads' log lines */

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The ZAP handlers' lines: every refusal is logged and counted. */
__attribute__((format(printf, 1, 2))) static void s_zap_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!strncmp(line, "auth: refused", 13)) {
        audit_metrics_unknown_key(s_metrics);
        sk_log_warn("%s", line);
    } else {
        sk_log("%s", line);
    }
}

typedef struct {
    const char *name, *endpoint, *feed_endpoint, *server_key, *registry, *sign_key;
    int64_t every, seconds, unknown_every_ms;
    sk_override_settings_t override;
} s_config_t;

static int s_configure(s_config_t *cf)
{
    sk_err_t err;
    if (sk_config_string("SKONTO_WORKER_NAME", "audit", 64, &cf->name, &err) ||
        sk_log_init(cf->name, &err) ||
        sk_config_string("SKONTO_AUDIT_ENDPOINT", "tcp://127.0.0.1:7770", 1024, &cf->endpoint,
                         &err) ||
        sk_config_string("SKONTO_AUDIT_FEED_ENDPOINT", "tcp://127.0.0.1:7771", 1024,
                         &cf->feed_endpoint, &err) ||
        sk_config_file("SKONTO_AUDIT_SECRET_KEY_FILE", true, &cf->server_key, &err) ||
        sk_config_file("SKONTO_AUTHORIZED_KEYS", true, &cf->registry, &err) ||
        sk_config_file("SKONTO_AUDIT_KEY", true, &cf->sign_key, &err) ||
        sk_config_int("SKONTO_AUDIT_CHECKPOINT_EVERY", 100, 1, 1000000, &cf->every, &err) ||
        sk_config_int("SKONTO_AUDIT_CHECKPOINT_SECONDS", 5, 1, 3600, &cf->seconds, &err) ||
        sk_config_duration_ms("SKONTO_AUDIT_UNKNOWN_KEY_EVERY", AUDIT_UNKNOWN_EVERY_DEFAULT_MS,
                              1000, (int64_t)7 * 86400 * 1000, 0, &cf->unknown_every_ms, &err) ||
        sk_override_settings_load(&cf->override, &err)) {
        sk_log_error("%s: refusing to start", err.msg);
        return -1;
    }
    return 0;
}

static void *s_socket(void *ctx, int type, const char *endpoint, const char *secret)
{
    void *s = zmq_socket(ctx, type);
    int linger = 2000, one = 1;
    int64_t max = S_FRAME_MAX;
    sk_err_t err;
    if (!s) {
        sk_log_error("zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        (type == ZMQ_ROUTER && zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one))) {
        sk_log_error("zmq_setsockopt: %s", zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    if (sk_auth_bind_server(s, secret, endpoint, &err)) {
        sk_log_error("%s", err.msg);
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Receives one request (routing id, an optional empty delimiter, the body)
 * and answers it. 0, or -1 when Redis failed while handling it. */
static int s_serve(audit_t *a, void *router)
{
    zmq_msg_t f[3];
    int n = 0, more = 1, dropped = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 3) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &m);
        } else {
            dropped = 1;
        }
        zmq_msg_close(&m);
    }
    int rc = 0;
    zmq_msg_t *body = n >= 2 ? &f[n - 1] : NULL;
    bool delim = n == 3 && zmq_msg_size(&f[1]) == 0;
    if (body && !dropped && (n == 2 || delim)) {
        const char *user = zmq_msg_gets(body, "User-Id"), *role = zmq_msg_gets(body, "Role");
        uint8_t *out = NULL;
        size_t outlen = 0;
        rc = audit_handle(a, user, role, zmq_msg_data(body), zmq_msg_size(body), &out, &outlen);
        /* never blocks: a client that does not read its replies loses them */
        if (out && (zmq_send(router, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
                             ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                    (delim && zmq_send(router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
                    zmq_send(router, out, outlen, ZMQ_DONTWAIT) < 0))
            sk_log_warn("reply not sent: %s", zmq_strerror(zmq_errno()));
        free(out);
    } else if (n) {
        sk_log_warn("a request of %d frames: want one AuditRequest frame (dropped)", n);
        audit_metrics_bad_request(a->metrics);
    }
    for (int k = 0; k < n; k++)
        zmq_msg_close(&f[k]);
    return rc;
}

/* The ZAP handler's refusals (sk_zap_report: key, address, reason): each of
 * an unregistered key goes to audit_unknown_key; the others are logged and
 * counted by s_zap_log already. At most a batch; -1 when Redis failed. */
static int s_reports(audit_t *a, void *pull)
{
    for (int b = 0; b < S_REPORTS_BATCH; b++) {
        uint8_t f[3][64];
        int len[3] = {-1, -1, -1}, nf = 0, more = 1;
        while (more) {
            int got = zmq_recv(pull, f[nf < 3 ? nf : 2], sizeof f[0] - 1, ZMQ_DONTWAIT);
            if (got < 0)
                return 0; /* nothing more */
            if (nf < 3)
                len[nf++] = got;
            size_t ml = sizeof more;
            if (zmq_getsockopt(pull, ZMQ_RCVMORE, &more, &ml))
                more = 0;
        }
        size_t wl = strlen(SK_ZAP_UNREGISTERED);
        if (nf != 3 || len[0] != 32 || len[1] >= (int)sizeof f[1] || len[2] != (int)wl ||
            memcmp(f[2], SK_ZAP_UNREGISTERED, wl))
            continue;
        f[1][len[1]] = '\0';
        if (audit_unknown_key(a, f[0], (const char *)f[1], s_mono_ms()))
            return -1;
    }
    return 0;
}

static int s_keygen(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: skonto-audit keygen NAME SECRET_FILE PUBLIC_FILE\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    sk_err_t err;
    if (sk_checkpoint_keygen(argv[2], argv[3], argv[4], &err)) {
        fprintf(stderr, "skonto-audit keygen: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", argv[4]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "keygen"))
        return s_keygen(argc, argv);
    if (argc > 1) {
        fprintf(stderr, "usage: skonto-audit [keygen NAME SECRET_FILE PUBLIC_FILE]\n");
        return 2;
    }
    s_config_t cf;
    if (s_configure(&cf))
        return 2;
    if (sodium_init() < 0) {
        sk_log_error("libsodium cannot be initialised");
        return 1;
    }
    int status = 0;
    sk_err_t err;
    void *ctx = NULL, *feed_ctx = NULL, *router = NULL, *pub = NULL, *reports = NULL;
    audit_unknown_t *unknown = NULL;
    sk_zap_t *zap = NULL, *feed_zap = NULL;
    sk_registry_t *reg = NULL, *reg_zap = NULL, *reg_feed = NULL;
    sk_checkpoint_signer_t *signer = NULL;
    sk_clock_t *clock = NULL;
    audit_log_t *log = NULL;
    redisContext *c = NULL;
    sk_keypair_t server_key;
    memset(&server_key, 0, sizeof server_key);
    sk_heartbeat_t *hb = sk_heartbeat_new(cf.name, "audit");
    if (!hb || !(s_metrics = audit_metrics_new(&err)) || !(clock = sk_clock_new_env(&err)) ||
        !(signer = sk_checkpoint_signer_load(cf.sign_key, &err)) ||
        sk_auth_keypair_load(cf.server_key, &server_key, &err) ||
        !(reg = sk_registry_load(cf.registry, &err)) ||
        !(reg_zap = sk_registry_load(cf.registry, &err)) ||
        !(reg_feed = sk_registry_load(cf.registry, &err))) {
        sk_log_error("%s: refusing to start", hb ? err.msg : "out of memory");
        status = 2;
        goto out;
    }
    if (!(ctx = sk_signal_zmq_ctx_new(&err)) || !(feed_ctx = sk_signal_zmq_ctx_new(&err)) ||
        sk_signal_install(&err)) {
        sk_log_error("%s", err.msg);
        status = 1;
        goto out;
    }
    /* the handlers own their registries from here, whatever happens */
    sk_registry_t *rz = reg_zap, *rf = reg_feed;
    reg_zap = reg_feed = NULL;
    if (!(zap = sk_zap_new(ctx, rz, S_ROLES_ENDPOINT, s_zap_log, &err)) ||
        !(feed_zap = sk_zap_new(feed_ctx, rf, SK_ROLE_BIT(SK_ROLE_AUDITOR), s_zap_log, &err))) {
        if (!zap)
            sk_registry_destroy(&rf);
        sk_log_error("%s: refusing to start", err.msg);
        status = 2;
        goto out;
    }
    /* the refusals the ROUTER's handler reports (bound before it connects) */
    int hwm = S_REPORTS_HWM, zero = 0;
    if (!(unknown = audit_unknown_new(cf.unknown_every_ms)) ||
        !(reports = zmq_socket(ctx, ZMQ_PULL)) ||
        zmq_setsockopt(reports, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(reports, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(reports, S_REPORTS_EP)) {
        sk_log_error("the ZAP handler's reports: %s",
                     unknown ? zmq_strerror(zmq_errno()) : "out of memory");
        status = 1;
        goto out;
    }
    if (sk_zap_report(zap, S_REPORTS_EP, S_REPORTS_HWM, &err)) {
        sk_log_error("%s", err.msg);
        status = 1;
        goto out;
    }
    if (!(router = s_socket(ctx, ZMQ_ROUTER, cf.endpoint, server_key.secret_key)) ||
        !(pub = s_socket(feed_ctx, ZMQ_PUB, cf.feed_endpoint, server_key.secret_key))) {
        status = 1;
        goto out;
    }
    memset(&server_key.secret_key, 0, sizeof server_key.secret_key);
    if (!(log = audit_log_new(signer, pub))) {
        sk_log_error("out of memory");
        status = 1;
        goto out;
    }
    if (*audit_metrics_address(s_metrics))
        sk_log("metrics at http://%s/metrics and /healthz", audit_metrics_address(s_metrics));
    char cdesc[128];
    sk_log("listening on %s (feed %s) as %s, server public key %s, %zu registered keys; log %s, "
           "a checkpoint every %" PRId64 " entries or %" PRId64 " s; clock %s",
           cf.endpoint, cf.feed_endpoint, cf.name, server_key.public_key, sk_registry_size(reg),
           sk_checkpoint_signer_name(signer), cf.every, cf.seconds,
           sk_clock_describe(clock, cdesc, sizeof cdesc));

    audit_t a = {.log = log,
                 .reg = reg,
                 .clock = clock,
                 .settings = &cf.override,
                 .metrics = s_metrics,
                 .unknown = unknown};
    uint64_t dropped = 0;
    int64_t backoff = S_BACKOFF_MIN_MS, next_connect = 0, last_work = 0;
    while (!sk_signal_stopping()) {
        int64_t now = s_mono_ms();
        audit_metrics_loop(s_metrics, c != NULL);
        if (!c) {
            if (now < next_connect) {
                struct timespec ts = {0, 50 * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            if (!(c = sk_redis_connect_env(&err)) || audit_log_load(log, c, &err)) {
                if (c && !strcmp(err.code, "log_corrupt")) {
                    sk_log_error("the audit log does not verify: %s; refusing to start (nothing "
                                 "was appended; docs/AUDIT.md section 5)",
                                 err.msg);
                    status = S_EXIT_BAD_LOG;
                    break;
                }
                audit_metrics_redis_error(s_metrics);
                sk_log_warn("Redis: %s; retrying in %" PRId64 " ms", err.msg, backoff);
                if (c)
                    redisFree(c), c = NULL;
                next_connect = now + backoff;
                backoff = backoff * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            backoff = S_BACKOFF_MIN_MS;
            sk_heartbeat_reset(hb);
            a.c = c;
            sk_log("the audit log verifies: %" PRIu64 " entries", audit_log_size(log));
        }
        zmq_pollitem_t items[2] = {{router, 0, ZMQ_POLLIN, 0}, {reports, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, S_TICK_MS);
        if (rc < 0 && zmq_errno() != EINTR) {
            sk_log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
            status = 1;
            break;
        }
        bool failed = false;
        if (sk_clock_tick(clock, c, &err)) {
            sk_log_error("clock: %s", err.msg);
            failed = c->err != 0;
        }
        /* a bounded batch of requests, then the log's own work */
        for (int k = 0; !failed && (items[0].revents & ZMQ_POLLIN) && k < 64; k++) {
            if (s_serve(&a, router))
                failed = true;
            int ev = 0;
            size_t el = sizeof ev;
            if (zmq_getsockopt(router, ZMQ_EVENTS, &ev, &el) || !(ev & ZMQ_POLLIN))
                break;
        }
        /* unknown keys: a bounded batch; what the handler dropped is counted */
        if (!failed && (items[1].revents & ZMQ_POLLIN) && s_reports(&a, reports))
            failed = true;
        uint64_t d = sk_zap_reports_dropped(zap);
        if (d > dropped) {
            audit_unknown_dropped(unknown, d - dropped);
            audit_metrics_unknown_unlogged(s_metrics, d - dropped);
            dropped = d;
        }
        /* expiries and hand-offs once per tick, however busy the ROUTER is */
        if (!failed && now - last_work >= S_TICK_MS) {
            last_work = now;
            if (audit_expire(&a) || audit_handoffs(&a))
                failed = true;
        }
        int64_t wall = sk_now_ms();
        if (!failed && (audit_log_unsealed(log) >= (uint64_t)cf.every ||
                        wall - audit_log_last_checkpoint_ms(log) >= cf.seconds * 1000)) {
            if (audit_log_checkpoint(log, c, &err)) {
                sk_log_error("checkpoint: %s", err.msg);
                failed = true;
            }
        }
        const audit_log_counts_t *n = audit_log_counts(log);
        audit_metrics_log(s_metrics, n->entries, n->checkpoints, n->feed, audit_log_size(log));
        if (!failed && sk_heartbeat_due(hb, wall)) {
            sk_heartbeat_count(hb, "processed", (int64_t)n->entries);
            sk_heartbeat_count(hb, "log_size", (int64_t)audit_log_size(log));
            sk_heartbeat_count(hb, "checkpoints", (int64_t)n->checkpoints);
            sk_heartbeat_count(hb, "refused", (int64_t)a.refused);
            sk_heartbeat_count(hb, "handoffs", (int64_t)a.handoffs);
            sk_heartbeat_count(hb, "errors", (int64_t)a.errors);
            sk_heartbeat_text(hb, "metrics",
                              audit_metrics_address(s_metrics)); /* skontoctl status */
            if (sk_heartbeat_write(hb, c, &err)) {
                sk_log_error("heartbeat: %s", err.msg);
                failed = true;
            }
        }
        if (failed) {
            audit_metrics_redis_error(s_metrics);
            a.errors++;
            sk_log_warn("Redis failed: reconnecting, then reading the log again");
            redisFree(c);
            c = a.c = NULL;
            next_connect = s_mono_ms() + S_BACKOFF_MIN_MS;
        }
    }
    if (c && status == 0) {
        if (audit_log_unsealed(log) && audit_log_checkpoint(log, c, &err))
            sk_log_error("last checkpoint: %s", err.msg);
        if (sk_heartbeat_write(hb, c, &err))
            sk_log_error("final heartbeat not written: %s", err.msg);
    }
    if (log)
        sk_log("stopping: %" PRIu64 " entries in the log, %" PRIu64 " appended, %" PRIu64
               " checkpoints",
               audit_log_size(log), audit_log_counts(log)->entries,
               audit_log_counts(log)->checkpoints);
out:
    if (c)
        redisFree(c);
    audit_log_destroy(&log);
    if (router)
        zmq_close(router);
    if (pub)
        zmq_close(pub);
    sk_zap_destroy(&zap);
    if (reports)
        zmq_close(reports);
    audit_unknown_destroy(&unknown);
    sk_zap_destroy(&feed_zap);
    if (ctx)
        zmq_ctx_term(ctx);
    if (feed_ctx)
        zmq_ctx_term(feed_ctx);
    sk_registry_destroy(&reg);
    sk_registry_destroy(&reg_zap);
    sk_registry_destroy(&reg_feed);
    sk_checkpoint_signer_destroy(&signer);
    sk_clock_destroy(&clock);
    sk_heartbeat_destroy(&hb);
    audit_metrics_destroy(&s_metrics);
    sodium_memzero(&server_key, sizeof server_key);
    return status;
}
