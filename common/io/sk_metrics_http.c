/* sk_metrics_http — /metrics and /healthz (see sk_metrics_http.h). */
#include "sk_metrics_http.h"

#include "sk_config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CONNECTIONS 8 /* scrapers at once; more wait in the listen queue */
#define S_TIMEOUT_S 10  /* an idle connection is closed after this */
#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct _sk_metrics_http_t {
    sk_metrics_t *metrics;
    sk_metrics_t *owned;       /* the same, when this object made it (sk_metrics_http_worker) */
    struct MHD_Daemon *daemon; /* NULL: nothing served */
    char address[SK_METRICS_ADDR_MAX];
    _Atomic int64_t alive_ms; /* monotonic ms of the loop's last turn; 0: not yet */
    _Atomic bool redis_up;
};

static int64_t s_mono_ms(void)
{
    return (int64_t)(sk_metrics_now_ns() / 1000000);
}

/* ---------------------------------------------------------------- address */

int sk_metrics_addr_parse(const char *addr, struct sockaddr_storage *out, socklen_t *outlen,
                          sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    if (!addr || !*addr)
        return sk_err_set(err, "bad_config", "empty: want host:port, e.g. 127.0.0.1:9464");
    sk_err_quote(addr, strlen(addr), q, sizeof q);
    if (strlen(addr) >= SK_METRICS_ADDR_MAX)
        return sk_err_set(err, "bad_config", "%s: longer than %d bytes", q,
                          SK_METRICS_ADDR_MAX - 1);
    char host[SK_METRICS_ADDR_MAX];
    const char *port;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return sk_err_set(err, "bad_config", "%s: want [IPv6 address]:port", q);
        memcpy(host, addr + 1, (size_t)(close - addr - 1));
        host[close - addr - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || strchr(addr, ':') != colon)
            return sk_err_set(err, "bad_config",
                              "%s: want host:port (an IPv6 address in brackets), e.g. "
                              "127.0.0.1:9464",
                              q);
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        port = colon + 1;
    }
    if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
        atoi(port) > 65535)
        return sk_err_set(err, "bad_config", "%s: the port must be a number 0..65535", q);
    /* No host: loopback. Only an address that names a host listens beyond it. */
    if (!*host)
        strcpy(host, "127.0.0.1");
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc || !res) {
        if (res)
            freeaddrinfo(res);
        return sk_err_set(err, "bad_config", "%s: cannot resolve host %s: %s", q, host,
                          rc ? gai_strerror(rc) : "no address");
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *outlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ---------------------------------------------------------------- requests */

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned int status, char *body,
                               size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (rc == MHD_YES)
        rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
    return s_reply(c, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT,
                   "text/plain; charset=utf-8");
}

static enum MHD_Result s_health(sk_metrics_http_t *self, struct MHD_Connection *c)
{
    int64_t alive = atomic_load(&self->alive_ms);
    if (!alive)
        return s_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
    int64_t age = s_mono_ms() - alive;
    if (age > SK_METRICS_STALE_MS) {
        char *msg = malloc(64);
        if (!msg)
            return MHD_NO;
        int n = snprintf(msg, 64, "worker loop stalled for %" PRId64 " s\n", age / 1000);
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg, (size_t)n, MHD_RESPMEM_MUST_FREE,
                       "text/plain; charset=utf-8");
    }
    if (!atomic_load(&self->redis_up))
        return s_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "redis unreachable\n");
    return s_text(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result s_request(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    sk_metrics_http_t *self = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        /* A body, if any, is not read: answer at once and let the connection close. */
        *upload_data_size = 0;
        (void)con_cls;
        return s_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    if (!strcmp(url, "/metrics")) {
        size_t len;
        char *text = sk_metrics_render(self->metrics, &len);
        if (!text)
            return s_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return s_reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE, S_CONTENT_TYPE);
    }
    if (!strcmp(url, "/healthz"))
        return s_health(self, c);
    return s_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

/* ---------------------------------------------------------------- server */

sk_metrics_http_t *sk_metrics_http_new(sk_metrics_t *m, const char *addr, sk_err_t *err)
{
    struct sockaddr_storage sa = {0};
    socklen_t salen;
    if (sk_metrics_addr_parse(addr, &sa, &salen, err))
        return NULL;
    sk_metrics_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        sk_err_set(err, "out_of_memory", "out of memory");
        return NULL;
    }
    self->metrics = m;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The server's thread takes no signals: SIGTERM must reach the worker's
     * loop (and interrupt its poll), wherever it is delivered. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, s_request, self, MHD_OPTION_SOCK_ADDR,
                                    (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                                    (unsigned int)S_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                    (unsigned int)S_TIMEOUT_S, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    char q[SK_ERR_QUOTE_MAX];
    sk_err_quote(addr, strlen(addr), q, sizeof q);
    if (!self->daemon) {
        free(self);
        sk_err_set(err, "bind_failed", "%s: cannot listen there (in use, or not this machine's)",
                   q);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof host);
        snprintf(self->address, sizeof self->address, "[%s]:%u", host, port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof host);
        snprintf(self->address, sizeof self->address, "%s:%u", host, port);
    }
    return self;
}

sk_metrics_http_t *sk_metrics_http_worker(sk_metrics_register_fn *reg, void *arg, sk_err_t *err)
{
    const char *addr = NULL;
    if (sk_config_string("SKONTO_METRICS_ADDR", NULL, 256, &addr, err))
        return NULL;
    sk_metrics_t *m = sk_metrics_new();
    if (!m) {
        sk_err_set(err, "out_of_memory", "metrics: out of memory");
        return NULL;
    }
    sk_metrics_http_t *self = NULL;
    if (reg(m, arg, err) == 0) {
        self = addr && *addr ? sk_metrics_http_new(m, addr, err) : calloc(1, sizeof *self);
        if (!self && addr && *addr)
            sk_err_prefix(err, "SKONTO_METRICS_ADDR");
        else if (!self)
            sk_err_set(err, "out_of_memory", "metrics: out of memory");
    }
    if (!self) {
        sk_metrics_destroy(&m);
        return NULL;
    }
    self->metrics = self->owned = m;
    return self;
}

sk_metrics_t *sk_metrics_http_registry(const sk_metrics_http_t *self)
{
    return self ? self->metrics : NULL;
}

void sk_metrics_http_destroy(sk_metrics_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->daemon)
        MHD_stop_daemon((*self_p)->daemon); /* first: its thread reads the registry */
    sk_metrics_destroy(&(*self_p)->owned);
    free(*self_p);
    *self_p = NULL;
}

const char *sk_metrics_http_address(const sk_metrics_http_t *self)
{
    return self ? self->address : "";
}

void sk_metrics_http_alive(sk_metrics_http_t *self, bool redis_up)
{
    if (!self)
        return;
    atomic_store_explicit(&self->redis_up, redis_up, memory_order_relaxed);
    atomic_store_explicit(&self->alive_ms, s_mono_ms(), memory_order_relaxed);
}
