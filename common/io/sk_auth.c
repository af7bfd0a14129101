/* sk_auth — CURVE keys, the key registry and the ZAP handler (see sk_auth.h). */
#include "sk_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "sk_grow.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_LINE_MAX 512

static const char *const s_roles[] = {
    [SK_ROLE_NONE] = NULL,
    [SK_ROLE_ERP] = "erp",
    [SK_ROLE_OPERATOR] = "operator",
    [SK_ROLE_SALES] = "sales",
    [SK_ROLE_SALES_DIRECTOR] = "sales_director",
    [SK_ROLE_FINANCE_DIRECTOR] = "finance_director",
    [SK_ROLE_AUDITOR] = "auditor",
};

sk_role_t sk_role_parse(const char *name)
{
    for (size_t i = 1; i < sizeof s_roles / sizeof s_roles[0]; i++)
        if (!strcmp(name, s_roles[i]))
            return (sk_role_t)i;
    return SK_ROLE_NONE;
}

const char *sk_role_name(sk_role_t role)
{
    if ((size_t)role < sizeof s_roles / sizeof s_roles[0] && s_roles[role])
        return s_roles[role];
    return "none";
}

/* ---------------------------------------------------------------- keys */

bool sk_auth_key_valid(const char *s)
{
    uint8_t bin[32];
    return s && strlen(s) == SK_AUTH_Z85_LEN && zmq_z85_decode(bin, s) != NULL;
}

int sk_auth_keypair_new(sk_keypair_t *kp, sk_err_t *err)
{
    memset(kp, 0, sizeof *kp);
    if (zmq_curve_keypair(kp->public_key, kp->secret_key))
        return sk_err_set(err, "auth", "cannot generate a CURVE key pair: %s (libzmq without CURVE?)",
                          zmq_strerror(zmq_errno()));
    return 0;
}

static int s_write_file(const char *path, mode_t mode, const char *comment, const char *key,
                        sk_err_t *err)
{
    /* O_EXCL: a key is never overwritten; someone may already trust it. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return sk_err_set(err, "auth", "%s: %s", path, strerror(errno));
    char buf[S_LINE_MAX];
    int n = snprintf(buf, sizeof buf, "%s%s%s%s\n", comment ? "# " : "", comment ? comment : "",
                     comment ? "\n" : "", key);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof buf)
        rc = sk_err_set(err, "auth", "%s: comment too long", path);
    else if (fchmod(fd, mode) || write(fd, buf, (size_t)n) != n || fsync(fd))
        rc = sk_err_set(err, "auth", "%s: %s", path, strerror(errno));
    if (close(fd) && !rc)
        rc = sk_err_set(err, "auth", "%s: %s", path, strerror(errno));
    if (rc)
        unlink(path);
    return rc;
}

int sk_auth_keypair_save(const sk_keypair_t *kp, const char *prefix, const char *comment,
                         sk_err_t *err)
{
    char kpath[4096], ppath[4096];
    if ((size_t)snprintf(kpath, sizeof kpath, "%s.key", prefix) >= sizeof kpath ||
        (size_t)snprintf(ppath, sizeof ppath, "%s.pub", prefix) >= sizeof ppath)
        return sk_err_set(err, "auth", "key file prefix too long");
    if (comment && strchr(comment, '\n'))
        return sk_err_set(err, "auth", "a key comment is one line");
    if (access(ppath, F_OK) == 0)
        return sk_err_set(err, "auth", "%s exists: not overwriting a key", ppath);
    if (s_write_file(kpath, 0600, comment, kp->secret_key, err))
        return -1;
    if (s_write_file(ppath, 0644, comment, kp->public_key, err)) {
        unlink(kpath);
        return -1;
    }
    return 0;
}

int sk_auth_key_read(const char *path, char out[SK_AUTH_Z85_LEN + 1], sk_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sk_err_set(err, "auth", "%s: %s", path, strerror(errno));
    char line[S_LINE_MAX];
    int rc = sk_err_set(err, "auth", "%s: no key in the file", path);
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        const char *p = line + strspn(line, " \t");
        if (!*p || *p == '#')
            continue;
        if (!sk_auth_key_valid(p))
            rc = sk_err_set(err, "auth", "%s: not a Z85 CURVE key (want 40 characters)", path);
        else {
            memcpy(out, p, SK_AUTH_Z85_LEN + 1);
            rc = 0;
        }
        break;
    }
    if (ferror(f))
        rc = sk_err_set(err, "auth", "%s: %s", path, strerror(errno));
    fclose(f);
    return rc;
}

int sk_auth_key_arg(const char *value, char out[SK_AUTH_Z85_LEN + 1], sk_err_t *err)
{
    /* A file wins: the Z85 alphabet includes '/', '.' and '-', so a path such
     * as RUNDIR/secrets/ingest-server.pub that happens to be 40 characters
     * long is also valid Z85 text, and reading it as the key made every CURVE
     * handshake fail without a word. An existing file is what was meant. */
    struct stat st;
    if (stat(value, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return sk_err_set(err, "auth", "a directory, not a key file");
        return sk_auth_key_read(value, out, err);
    }
    int stat_errno = errno;
    if (sk_auth_key_valid(value)) {
        memcpy(out, value, SK_AUTH_Z85_LEN + 1);
        return 0;
    }
    size_t n = strlen(value);
    if (stat_errno != ENOENT && stat_errno != ENOTDIR) /* a file we may not look at */
        return sk_err_set(err, "auth", "cannot read it as a key file: %s", strerror(stat_errno));
    if (n == SK_AUTH_Z85_LEN)
        return sk_err_set(err, "auth",
                          "want a key file or a 40-character Z85 key: no file has that name, "
                          "and it does not decode as Z85");
    return sk_err_set(err, "auth",
                      "want a key file or a 40-character Z85 key: no file has that name, and "
                      "it is %zu characters long",
                      n);
}

int sk_auth_keypair_load(const char *secret_path, sk_keypair_t *kp, sk_err_t *err)
{
    memset(kp, 0, sizeof *kp);
    struct stat st;
    if (stat(secret_path, &st) == 0 && (st.st_mode & 077))
        return sk_err_set(err, "auth", "%s: a secret key file must not be readable by others "
                                       "(chmod 600)",
                          secret_path);
    if (sk_auth_key_read(secret_path, kp->secret_key, err))
        return -1;
    if (zmq_curve_public(kp->public_key, kp->secret_key))
        return sk_err_set(err, "auth", "%s: cannot derive the public key: %s", secret_path,
                          zmq_strerror(zmq_errno()));
    return 0;
}

/* ---------------------------------------------------------------- registry */

struct _sk_registry_t {
    sk_principal_t *p;
    size_t n, cap;
};

bool sk_auth_user_valid(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > SK_AUTH_USER_MAX)
        return false;
    for (const char *c = u; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '@' || *c == '-'))
            return false;
    return true;
}

static int s_registry_line(sk_registry_t *self, char *line, sk_err_t *err)
{
    char *save = NULL;
    char *key = strtok_r(line, " \t", &save);
    if (!key || *key == '#')
        return 0;
    char *user = strtok_r(NULL, " \t", &save);
    char *role = user ? strtok_r(NULL, " \t", &save) : NULL;
    char *extra = role ? strtok_r(NULL, " \t", &save) : NULL;
    if (!role || (extra && *extra != '#'))
        return sk_err_set(err, "auth", "want <public-key-z85> <user-id> <role>");
    if (!sk_auth_key_valid(key))
        return sk_err_set(err, "auth", "not a Z85 CURVE public key (want 40 characters)");
    if (!sk_auth_user_valid(user))
        return sk_err_set(err, "auth", "user id: want 1 to %d of A-Z a-z 0-9 . _ @ -",
                          SK_AUTH_USER_MAX);
    sk_role_t r = sk_role_parse(role);
    if (r == SK_ROLE_NONE)
        return sk_err_set(err, "auth",
                          "role \"%.32s\": want erp, operator, sales, sales_director, "
                          "finance_director or auditor",
                          role);
    sk_principal_t pr;
    memset(&pr, 0, sizeof pr);
    zmq_z85_decode(pr.key, key);
    if (sk_registry_find(self, pr.key))
        return sk_err_set(err, "auth", "key registered twice");
    memcpy(pr.user, user, strlen(user) + 1);
    pr.role = r;
    sk_principal_t *p = sk_grow(self->p, self->n, &self->cap, sizeof *p, 16);
    if (!p)
        return sk_err_set(err, "auth", "out of memory");
    self->p = p;
    self->p[self->n++] = pr;
    return 0;
}

sk_registry_t *sk_registry_load(const char *path, sk_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sk_err_set(err, "auth", "%s: %s", path, strerror(errno)), NULL;
    sk_registry_t *self = calloc(1, sizeof *self);
    if (!self) {
        fclose(f);
        return sk_err_set(err, "auth", "out of memory"), NULL;
    }
    char line[S_LINE_MAX];
    long no = 0;
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        no++;
        size_t n = strcspn(line, "\r\n");
        if (line[n] == '\0' && !feof(f)) {
            rc = sk_err_set(err, "auth", "%s:%ld: line too long", path, no);
            break;
        }
        line[n] = '\0';
        sk_err_t e;
        if (s_registry_line(self, line, &e))
            rc = sk_err_set(err, "auth", "%s:%ld: %s", path, no, e.msg);
    }
    if (!rc && ferror(f))
        rc = sk_err_set(err, "auth", "%s: %s", path, strerror(errno));
    fclose(f);
    if (rc)
        sk_registry_destroy(&self);
    return self;
}

void sk_registry_destroy(sk_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->p);
    free(*self_p);
    *self_p = NULL;
}

size_t sk_registry_size(const sk_registry_t *self)
{
    return self->n;
}

const sk_principal_t *sk_registry_find(const sk_registry_t *self, const uint8_t key[32])
{
    for (size_t i = 0; i < self->n; i++)
        if (!memcmp(self->p[i].key, key, 32))
            return &self->p[i];
    return NULL;
}

const sk_principal_t *sk_registry_find_user(const sk_registry_t *self, const char *user)
{
    const sk_principal_t *found = NULL;
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->p[i].user, user))
            continue;
        if (found && found->role != self->p[i].role)
            return NULL;
        found = &self->p[i];
    }
    return found;
}

/* ---------------------------------------------------------------- ZAP */

struct _sk_zap_t {
    void *ctx;
    void *pipe; /* our end of the control pair: one message stops the thread */
    pthread_t thread;
    char pipe_ep[64];
    sk_registry_t *reg;
    unsigned admit;
    sk_zap_log_fn log;
    /* sk_zap_watch: the watched socket's connections (made and read in the
     * handler's thread) and how many may be open */
    char watch_ep[128];
    char watch_what[64];
    int max_open;
    sk_conns_t *conns;
    /* sk_zap_report: the PUSH socket (the handler thread's), where to, how
     * many may wait, and how many reports were dropped (read by the owner) */
    char report_ep[128];
    int report_hwm;
    void *report;
    uint64_t dropped;
};

enum { S_ZAP_STOP = 1, S_ZAP_WATCH = 2, S_ZAP_REPORT = 3 }; /* control messages */

#define S_ZAP_FRAMES 7 /* version, request id, domain, address, routing id, mechanism, key */

/* Receives one request (every frame, however many came); returns how many
 * frames, or -1 on a socket error. Frames beyond S_ZAP_FRAMES are dropped. */
static int s_zap_recv(void *sock, zmq_msg_t f[S_ZAP_FRAMES])
{
    int n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            for (int k = 0; k < n; k++)
                zmq_msg_close(&f[k]);
            return -1;
        }
        int more = zmq_msg_more(&m);
        if (n < S_ZAP_FRAMES) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &m);
        }
        zmq_msg_close(&m);
        if (!more)
            return n;
    }
}

static bool s_frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && !memcmp(zmq_msg_data(m), s, n);
}

static void s_zap_reply(void *sock, zmq_msg_t *request_id, const char *code, const char *text,
                        const char *user, const char *role)
{
    /* RFC 27 reply: version, request id, status code, status text, user id,
     * metadata. The metadata always names the key's role (ZMTP property
     * "Role", "" when refused): a property the handler sets wins over one of
     * the same name the peer sends, so zmq_msg_gets(msg, "Role") is the
     * registry's role of the key that sent msg. */
    uint8_t meta[1 + 4 + 4 + 32];
    size_t rl = strlen(role) < 32 ? strlen(role) : 32;
    meta[0] = 4;
    memcpy(meta + 1, "Role", 4);
    meta[5] = 0, meta[6] = 0, meta[7] = 0, meta[8] = (uint8_t)rl;
    memcpy(meta + 9, role, rl);
    const void *parts[6] = {"1.0", request_id ? zmq_msg_data(request_id) : "", code, text, user,
                            meta};
    size_t lens[6] = {3, request_id ? zmq_msg_size(request_id) : 0, 3, strlen(text), strlen(user),
                      9 + rl};
    for (int i = 0; i < 6; i++)
        if (zmq_send(sock, parts[i], lens[i], i < 5 ? ZMQ_SNDMORE : 0) < 0)
            return; /* the requesting connection is gone; libzmq drops it anyway */
}

static void s_zap_handle(sk_zap_t *self, void *sock)
{
    zmq_msg_t f[S_ZAP_FRAMES];
    int n = s_zap_recv(sock, f);
    if (n < 0)
        return;
    char addr[64] = "?";
    if (n >= 4) {
        size_t al = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), al);
        addr[al] = '\0';
    }
    const sk_principal_t *p = NULL;
    const char *why = NULL;
    if (n < 6 || !s_frame_is(&f[0], "1.0"))
        why = "malformed ZAP request";
    else if (!s_frame_is(&f[2], SK_AUTH_DOMAIN))
        why = "wrong ZAP domain";
    else if (!s_frame_is(&f[5], "CURVE") || n != 7 || zmq_msg_size(&f[6]) != 32)
        why = "not a CURVE client";
    else if (!(p = sk_registry_find(self->reg, zmq_msg_data(&f[6]))))
        why = SK_ZAP_UNREGISTERED;
    else if (!(self->admit & SK_ROLE_BIT(p->role)))
        why = SK_ZAP_ROLE_REFUSED;
    /* Only connections past their handshake count: someone who merely opens
     * TCP connections cannot use up the places. */
    if (self->conns)
        sk_conns_drain(self->conns);
    bool full = !why && self->conns && sk_conns_authenticated(self->conns) >= self->max_open;
    if (full)
        why = SK_ZAP_FULL;
    char z85[SK_AUTH_Z85_LEN + 1] = "";
    if (n == 7 && zmq_msg_size(&f[6]) == 32)
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
    if (why && self->report) {
        size_t kl = n == 7 && zmq_msg_size(&f[6]) == 32 ? 32 : 0;
        const void *key = kl ? zmq_msg_data(&f[6]) : "";
        /* never waits: a report that does not fit is dropped, and counted */
        if (zmq_send(self->report, key, kl, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(self->report, addr, strlen(addr), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(self->report, why, strlen(why), ZMQ_DONTWAIT) < 0)
            __atomic_add_fetch(&self->dropped, 1, __ATOMIC_RELAXED);
    }
    if (why) {
        if (self->log)
            self->log("auth: refused %s from %s%s%s%s%s%s: %s", *z85 ? z85 : "a client", addr,
                      p ? " (user " : "", p ? p->user : "", p ? ", role " : "",
                      p ? sk_role_name(p->role) : "", p ? ")" : "", why);
        /* 300: a temporary refusal (the client may try again later). */
        s_zap_reply(sock, n >= 2 ? &f[1] : NULL, full ? "300" : "400", why, "", "");
    } else {
        if (self->log)
            self->log("auth: %s (%s) connected from %s", p->user, sk_role_name(p->role), addr);
        s_zap_reply(sock, &f[1], "200", "OK", p->user, sk_role_name(p->role));
    }
    for (int k = 0; k < n; k++)
        zmq_msg_close(&f[k]);
}

static void *s_zap_thread(void *arg)
{
    sk_zap_t *self = arg;
    /* Sockets are created, used and closed in this thread only. */
    void *zap = zmq_socket(self->ctx, ZMQ_REP);
    void *pipe = zmq_socket(self->ctx, ZMQ_PAIR);
    int ok = zap && pipe && zmq_connect(pipe, self->pipe_ep) == 0;
    /* The ZAP endpoint is bound here; sk_zap_new waits for this first word. */
    if (ok)
        ok = zmq_bind(zap, S_ZAP_ENDPOINT) == 0;
    int e = ok ? 0 : zmq_errno();
    if (pipe)
        zmq_send(pipe, &e, sizeof e, 0);
    while (ok) {
        zmq_pollitem_t items[3] = {{zap, 0, ZMQ_POLLIN, 0}, {pipe, 0, ZMQ_POLLIN, 0},
                                   {self->conns ? sk_conns_socket(self->conns) : NULL, 0,
                                    ZMQ_POLLIN, 0}};
        if (zmq_poll(items, self->conns ? 3 : 2, -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            break;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int msg = S_ZAP_STOP;
            if (zmq_recv(pipe, &msg, sizeof msg, 0) < 0 ||
                (msg != S_ZAP_WATCH && msg != S_ZAP_REPORT))
                break;
            if (msg == S_ZAP_REPORT) {
                int ok_report = 0;
                int zero = 0;
                if (!self->report &&
                    (!(self->report = zmq_socket(self->ctx, ZMQ_PUSH)) ||
                     zmq_setsockopt(self->report, ZMQ_SNDHWM, &self->report_hwm,
                                    sizeof self->report_hwm) ||
                     zmq_setsockopt(self->report, ZMQ_LINGER, &zero, sizeof zero) ||
                     zmq_connect(self->report, self->report_ep))) {
                    if (self->report)
                        zmq_close(self->report);
                    self->report = NULL;
                    ok_report = -1;
                }
                zmq_send(pipe, &ok_report, sizeof ok_report, 0);
                continue;
            }
            sk_err_t err;
            int watching = 0;
            if (!self->conns &&
                !(self->conns = sk_conns_new(self->ctx, self->watch_ep, self->watch_what,
                                             self->log, &err)))
                watching = -1;
            zmq_send(pipe, &watching, sizeof watching, 0);
            continue;
        }
        if (self->conns && (items[2].revents & ZMQ_POLLIN))
            sk_conns_drain(self->conns);
        if (items[0].revents & ZMQ_POLLIN)
            s_zap_handle(self, zap);
    }
    sk_conns_destroy(&self->conns);
    if (self->report)
        zmq_close(self->report); /* linger 0 */
    self->report = NULL;
    int linger = 0;
    if (zap) {
        zmq_setsockopt(zap, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(zap);
    }
    if (pipe) {
        zmq_setsockopt(pipe, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(pipe);
    }
    return NULL;
}

/* Asks the handler's thread to do control message msg; its answer (0 or -1). */
static int s_zap_control(sk_zap_t *self, int msg)
{
    int e = -1, got;
    while (zmq_send(self->pipe, &msg, sizeof msg, 0) < 0 && zmq_errno() == EINTR)
        ;
    do
        got = zmq_recv(self->pipe, &e, sizeof e, 0);
    while (got < 0 && zmq_errno() == EINTR);
    return got == (int)sizeof e && e == 0 ? 0 : -1;
}

int sk_zap_watch(sk_zap_t *self, const char *monitor_ep, const char *what, int max_open,
                 sk_err_t *err)
{
    snprintf(self->watch_ep, sizeof self->watch_ep, "%s", monitor_ep);
    snprintf(self->watch_what, sizeof self->watch_what, "%s", what);
    self->max_open = max_open;
    if (s_zap_control(self, S_ZAP_WATCH))
        return sk_err_set(err, "auth", "the ZAP handler cannot watch %s", monitor_ep);
    return 0;
}

int sk_zap_report(sk_zap_t *self, const char *endpoint, int hwm, sk_err_t *err)
{
    if (strlen(endpoint) >= sizeof self->report_ep || hwm < 1)
        return sk_err_set(err, "auth", "ZAP reports: a bad endpoint or queue length");
    memcpy(self->report_ep, endpoint, strlen(endpoint) + 1);
    self->report_hwm = hwm;
    if (s_zap_control(self, S_ZAP_REPORT))
        return sk_err_set(err, "auth", "the ZAP handler cannot report to %s", endpoint);
    return 0;
}

uint64_t sk_zap_reports_dropped(const sk_zap_t *self)
{
    return __atomic_load_n(&self->dropped, __ATOMIC_RELAXED);
}

const sk_conns_t *sk_zap_conns(const sk_zap_t *self)
{
    return self->conns;
}

sk_zap_t *sk_zap_new(void *ctx, sk_registry_t *reg, unsigned admit, sk_zap_log_fn log,
                     sk_err_t *err)
{
    static int s_seq;
    sk_zap_t *self = calloc(1, sizeof *self);
    if (!self) {
        sk_registry_destroy(&reg);
        return sk_err_set(err, "auth", "out of memory"), NULL;
    }
    self->ctx = ctx, self->reg = reg, self->admit = admit, self->log = log;
    snprintf(self->pipe_ep, sizeof self->pipe_ep, "inproc://sk-zap-%p-%d", (void *)self,
             __atomic_add_fetch(&s_seq, 1, __ATOMIC_RELAXED));
    self->pipe = zmq_socket(ctx, ZMQ_PAIR);
    if (!self->pipe || zmq_bind(self->pipe, self->pipe_ep)) {
        sk_err_set(err, "auth", "ZAP control socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* The thread must not take the process's signals (ingest waits for them in zmq_poll). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&self->thread, NULL, s_zap_thread, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        sk_err_set(err, "auth", "cannot start the ZAP thread: %s", strerror(rc));
        goto fail;
    }
    int e = -1;
    int got;
    do
        got = zmq_recv(self->pipe, &e, sizeof e, 0);
    while (got < 0 && zmq_errno() == EINTR);
    if (got != (int)sizeof e || e != 0) {
        sk_err_set(err, "auth", "cannot bind the ZAP handler at %s: %s", S_ZAP_ENDPOINT,
                   got == (int)sizeof e ? zmq_strerror(e) : "no answer from its thread");
        pthread_join(self->thread, NULL);
        goto fail;
    }
    return self;
fail:
    if (self->pipe)
        zmq_close(self->pipe);
    sk_registry_destroy(&self->reg);
    free(self);
    return NULL;
}

void sk_zap_destroy(sk_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_zap_t *self = *self_p;
    int stop = S_ZAP_STOP;
    while (zmq_send(self->pipe, &stop, sizeof stop, 0) < 0 && zmq_errno() == EINTR)
        ;
    pthread_join(self->thread, NULL);
    int linger = 0;
    zmq_setsockopt(self->pipe, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(self->pipe);
    sk_registry_destroy(&self->reg);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------- sockets */

int sk_auth_curve_server(void *sock, const char *secret_z85, sk_err_t *err)
{
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_z85, SK_AUTH_Z85_LEN) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, SK_AUTH_DOMAIN, strlen(SK_AUTH_DOMAIN)))
        return sk_err_set(err, "auth", "cannot make a CURVE server socket: %s",
                          zmq_strerror(zmq_errno()));
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
    /* A draft option: libzmq built without draft APIs refuses it, and the
     * ZAP handler, which is always bound first, enforces the domain anyway. */
    (void)zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one);
#endif
    return 0;
}

int sk_auth_bind_server(void *sock, const char *secret_z85, const char *endpoint, sk_err_t *err)
{
    if (secret_z85 && sk_auth_curve_server(sock, secret_z85, err) != 0)
        return -1;
    if (zmq_bind(sock, endpoint))
        return sk_err_set(err, "bind", "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
    return 0;
}

int sk_auth_curve_client(void *sock, const char *server_public_z85, const sk_keypair_t *kp,
                         sk_err_t *err)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public_z85, SK_AUTH_Z85_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kp->public_key, SK_AUTH_Z85_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp->secret_key, SK_AUTH_Z85_LEN))
        return sk_err_set(err, "auth", "cannot make a CURVE client socket: %s",
                          zmq_strerror(zmq_errno()));
    return 0;
}

bool sk_auth_endpoint_is_local(const char *ep)
{
    if (!strncmp(ep, "ipc://", 6) || !strncmp(ep, "inproc://", 9))
        return true;
    if (strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *h = ep + 6;
    /* tcp://[src;]host:port: a source address before ';' does not change who can connect. */
    const char *semi = strchr(h, ';');
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon)
        return false;
    size_t n = (size_t)(colon - h);
    if ((n == 9 && !strncmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)))
        return true;
    if (n >= 4 && n <= 15 && !strncmp(h, "127.", 4)) {
        for (size_t i = 4; i < n; i++)
            if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
                return false;
        return true;
    }
    return false;
}
