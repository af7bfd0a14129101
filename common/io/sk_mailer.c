/* sk_mailer — see sk_mailer.h. */
#include "sk_mailer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sk_config.h"
#include "sk_mime.h"

#define S_PASSWORD_MAX 1024

struct sk_mailer {
    bool smtp;
    /* maildir */
    char *maildir;
    char host[128]; /* the hostname, '/' and ':' escaped as the spec says */
    unsigned long count;
    /* SMTP */
    CURL *curl;
    char *password;
    char errbuf[CURL_ERROR_SIZE];
    /* the send in progress */
    const char *body;
    size_t len, pos;
    bool body_done;        /* the read callback has handed over the last byte */
    bool reply_after_body; /* the server answered after that */
    char reply[256];       /* its last reply line */
    char refusal[256];     /* its first 4xx/5xx line (libcurl's QUIT gets "221" after it) */
};

const char *sk_send_outcome_name(sk_send_outcome_t o)
{
    switch (o) {
    case SK_SEND_SENT:
        return "sent";
    case SK_SEND_RETRY:
        return "retry";
    case SK_SEND_PERMANENT:
        return "permanent";
    default:
        return "ambiguous";
    }
}

int sk_mailer_opts_from_env(sk_mailer_opts_t *o, const char *default_maildir, sk_err_t *err)
{
    memset(o, 0, sizeof *o);
    bool tls = false;
    if (sk_config_string("SKONTO_SMTP_URL", NULL, 512, &o->smtp_url, err) != 0 ||
        sk_config_string("SKONTO_SMTP_USER", NULL, 256, &o->smtp_user, err) != 0 ||
        sk_config_file("SKONTO_SMTP_PASSWORD_FILE", false, &o->smtp_password_file, err) != 0 ||
        sk_config_bool("SKONTO_SMTP_STARTTLS", false, &tls, err) != 0 ||
        sk_config_file("SKONTO_SMTP_CA_FILE", false, &o->smtp_ca_file, err) != 0 ||
        sk_config_string("SKONTO_MAILDIR", default_maildir, 4096, &o->maildir, err) != 0 ||
        sk_config_string("SKONTO_MAIL_FROM", SK_MAIL_FROM_DEFAULT, 512, &o->from, err) != 0 ||
        sk_config_string("SKONTO_MAIL_REPLY_TO", NULL, 512, &o->reply_to, err) != 0)
        return -1;
    o->starttls = tls;
    if (o->smtp_url && strncmp(o->smtp_url, "smtp://", 7) != 0 &&
        strncmp(o->smtp_url, "smtps://", 8) != 0) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, "bad_config",
                          "SKONTO_SMTP_URL \"%s\": want smtp://host:port or smtps://host:port",
                          sk_err_quote(o->smtp_url, strlen(o->smtp_url), q, sizeof q));
    }
    if (o->smtp_url) {
        /* the URL is logged at start and libcurl would take user:password@ from
         * it: credentials have their own variables, and the value is not quoted */
        const char *host = strstr(o->smtp_url, "://") + 3;
        if (memchr(host, '@', strcspn(host, "/?#")))
            return sk_err_set(err, "bad_config",
                              "SKONTO_SMTP_URL holds a user or password (user@host): put them in "
                              "SKONTO_SMTP_USER and SKONTO_SMTP_PASSWORD_FILE");
    }
    char addr[320];
    sk_err_t e;
    if (sk_mime_addr_spec(o->from, addr, sizeof addr, &e) != 0)
        return sk_err_set(err, "bad_config", "SKONTO_MAIL_FROM: %s", e.msg);
    if (o->reply_to && sk_mime_addr_spec(o->reply_to, addr, sizeof addr, &e) != 0)
        return sk_err_set(err, "bad_config", "SKONTO_MAIL_REPLY_TO: %s", e.msg);
    return 0;
}

/* ---- maildir */

static int s_mkdir(const char *path, sk_err_t *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sk_err_set(err, "maildir", "%s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return sk_err_set(err, "maildir", "%s: not a directory", path);
    return 0;
}

static int s_maildir_open(sk_mailer_t *m, const char *dir, sk_err_t *err)
{
    if (!(m->maildir = strdup(dir)))
        return sk_err_set(err, "no_memory", "out of memory");
    if (s_mkdir(dir, err) != 0)
        return -1;
    const char *sub[] = {"tmp", "new", "cur"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        if (s_mkdir(p, err) != 0)
            return -1;
    }
    char h[64] = "localhost";
    if (gethostname(h, sizeof h - 1) != 0)
        snprintf(h, sizeof h, "localhost");
    h[sizeof h - 1] = '\0';
    /* the maildir spec: '/' and ':' in the host part become \057 and \072 */
    size_t o = 0;
    for (const char *c = h; *c && o + 5 < sizeof m->host; c++) {
        if (*c == '/' || *c == ':')
            o += (size_t)snprintf(m->host + o, sizeof m->host - o, "\\%03o", *c);
        else
            m->host[o++] = *c;
    }
    m->host[o] = '\0';
    return 0;
}

static sk_send_outcome_t s_retry(sk_send_result_t *res, const char *what, const char *path)
{
    res->outcome = SK_SEND_RETRY;
    snprintf(res->detail, sizeof res->detail, "%s %.160s: %.60s", what, path, strerror(errno));
    return res->outcome;
}

static sk_send_outcome_t s_maildir_send(sk_mailer_t *m, const char *mail, size_t len,
                                        sk_send_result_t *res)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char name[256], tmp[4500], dst[4500];
    snprintf(name, sizeof name, "%lld.M%06ldP%ldQ%lu.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
             (long)getpid(), ++m->count, m->host);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s", m->maildir, name);
    snprintf(dst, sizeof dst, "%s/new/%s", m->maildir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return s_retry(res, "create", tmp);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, mail + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s_retry(res, "write", tmp);
            close(fd);
            unlink(tmp);
            return res->outcome;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        s_retry(res, "fsync", tmp);
        close(fd);
        unlink(tmp);
        return res->outcome;
    }
    close(fd);
    /* link, not rename: a name that somehow exists fails instead of being replaced */
    if (link(tmp, dst) != 0) {
        s_retry(res, "link", dst);
        unlink(tmp);
        return res->outcome;
    }
    unlink(tmp);
    char nd[4200];
    snprintf(nd, sizeof nd, "%s/new", m->maildir);
    int dfd = open(nd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        /* the mail is in new/ but may not survive a crash: say so, a resend has the same id */
        if (dfd >= 0)
            close(dfd);
        res->outcome = SK_SEND_AMBIGUOUS;
        snprintf(res->detail, sizeof res->detail, "fsync %.160s: %.60s", nd, strerror(errno));
        return res->outcome;
    }
    close(dfd);
    res->outcome = SK_SEND_SENT;
    snprintf(res->detail, sizeof res->detail, "new/%.200s", name);
    return res->outcome;
}

/* ---- SMTP */

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static CURLcode s_curl_init_rc;

static void s_curl_init(void)
{
    s_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t s_read(char *buf, size_t size, size_t nitems, void *arg)
{
    sk_mailer_t *m = arg;
    size_t n = size * nitems, left = m->len - m->pos;
    if (n > left)
        n = left;
    memcpy(buf, m->body + m->pos, n);
    m->pos += n;
    /* with the size known libcurl may never ask past the end: handing over
     * the last byte counts as sent (a failure while it is still in flight is
     * then called ambiguous, the safe side: the retry has the same Message-ID) */
    if (m->pos == m->len)
        m->body_done = true;
    return n;
}

/* libcurl passes every SMTP reply line here: keep the last, and whether it
 * came after the body. */
static size_t s_reply(char *buf, size_t size, size_t nitems, void *arg)
{
    sk_mailer_t *m = arg;
    size_t n = size * nitems, k = n;
    while (k && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
        k--;
    if (k >= sizeof m->reply)
        k = sizeof m->reply - 1;
    for (size_t i = 0; i < k; i++)
        m->reply[i] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
    m->reply[k] = '\0';
    if (!m->refusal[0] && (m->reply[0] == '4' || m->reply[0] == '5'))
        memcpy(m->refusal, m->reply, k + 1);
    if (m->body_done)
        m->reply_after_body = true;
    return n;
}

static int s_read_password(const char *path, char **out, sk_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sk_err_set(err, "bad_config", "SKONTO_SMTP_PASSWORD_FILE %s: %s", path,
                          strerror(errno));
    char buf[S_PASSWORD_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!*buf || strlen(buf) > S_PASSWORD_MAX)
        return sk_err_set(err, "bad_config",
                          "SKONTO_SMTP_PASSWORD_FILE %s: want a password of 1..%d bytes", path,
                          S_PASSWORD_MAX);
    *out = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    return *out ? 0 : sk_err_set(err, "no_memory", "out of memory");
}

#define S_SETOPT(c, opt, val)                                                                      \
    do {                                                                                           \
        if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK)                                       \
            return sk_err_set(err, "curl", "curl_easy_setopt(%s) failed", #opt);                   \
    } while (0)

static int s_smtp_open(sk_mailer_t *m, const sk_mailer_opts_t *o, sk_err_t *err)
{
    pthread_once(&s_curl_once, s_curl_init);
    if (s_curl_init_rc != CURLE_OK)
        return sk_err_set(err, "curl", "curl_global_init: %s", curl_easy_strerror(s_curl_init_rc));
    if (!(m->curl = curl_easy_init()))
        return sk_err_set(err, "curl", "curl_easy_init failed");
    CURL *c = m->curl;
    S_SETOPT(c, CURLOPT_URL, o->smtp_url);
    S_SETOPT(c, CURLOPT_UPLOAD, 1L);
    S_SETOPT(c, CURLOPT_READFUNCTION, s_read);
    S_SETOPT(c, CURLOPT_READDATA, m);
    S_SETOPT(c, CURLOPT_HEADERFUNCTION, s_reply);
    S_SETOPT(c, CURLOPT_HEADERDATA, m);
    S_SETOPT(c, CURLOPT_ERRORBUFFER, m->errbuf);
    S_SETOPT(c, CURLOPT_NOSIGNAL, 1L);
    S_SETOPT(c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 60000L);
    S_SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    if (o->starttls)
        S_SETOPT(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* _TRY would fall back to plain */
    /* libcurl's defaults, set anyway: this module never turns them off */
    S_SETOPT(c, CURLOPT_SSL_VERIFYPEER, 1L);
    S_SETOPT(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->smtp_ca_file)
        S_SETOPT(c, CURLOPT_CAINFO, o->smtp_ca_file);
    if (o->smtp_user)
        S_SETOPT(c, CURLOPT_USERNAME, o->smtp_user);
    if (o->smtp_password_file) {
        if (s_read_password(o->smtp_password_file, &m->password, err) != 0)
            return -1;
        S_SETOPT(c, CURLOPT_PASSWORD, m->password);
    }
    return 0;
}

static sk_send_outcome_t s_smtp_send(sk_mailer_t *m, const char *from, const char *rcpt,
                                     const char *mail, size_t len, sk_send_result_t *res)
{
    CURL *c = m->curl;
    m->body = mail;
    m->len = len;
    m->pos = 0;
    m->body_done = m->reply_after_body = false;
    m->reply[0] = m->refusal[0] = m->errbuf[0] = '\0';
    struct curl_slist *to = curl_slist_append(NULL, rcpt);
    if (!to || curl_easy_setopt(c, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) != CURLE_OK) {
        curl_slist_free_all(to);
        res->outcome = SK_SEND_RETRY;
        snprintf(res->detail, sizeof res->detail, "curl: out of memory");
        return res->outcome;
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(to);
    long code = 0, connects = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    if (m->refusal[0]) /* the refusal's code, whatever libcurl's QUIT got after it */
        code = strtol(m->refusal, NULL, 10);
    res->smtp_code = code;
    res->connects = connects;
    if (rc == CURLE_OK) {
        res->outcome = SK_SEND_SENT;
    } else if (m->body_done) {
        /* only an answer to the body settles it; without one the mail may have arrived */
        if (m->reply_after_body && code >= 400 && code < 500)
            res->outcome = SK_SEND_RETRY;
        else if (m->reply_after_body && code >= 500 && code < 600)
            res->outcome = SK_SEND_PERMANENT;
        else
            res->outcome = SK_SEND_AMBIGUOUS;
    } else if (code >= 500 && code < 600 && rc != CURLE_LOGIN_DENIED &&
               rc != CURLE_USE_SSL_FAILED) {
        /* a 5xx to MAIL, RCPT or DATA; one to AUTH or STARTTLS is the sender's settings */
        res->outcome = SK_SEND_PERMANENT;
    } else {
        res->outcome = SK_SEND_RETRY;
    }
    if (rc == CURLE_USE_SSL_FAILED && !m->refusal[0])
        /* libcurl's own words are "STARTTLS not supported." */
        snprintf(res->detail, sizeof res->detail,
                 "the server offers no STARTTLS, and SKONTO_SMTP_STARTTLS=1 requires it: "
                 "nothing sent");
    else if (rc != CURLE_OK && m->refusal[0] && res->outcome != SK_SEND_AMBIGUOUS)
        snprintf(res->detail, sizeof res->detail, "%s", m->refusal);
    else if (rc == CURLE_OK)
        snprintf(res->detail, sizeof res->detail, "%s", m->reply);
    else
        snprintf(res->detail, sizeof res->detail, "%s",
                 m->errbuf[0] ? m->errbuf : curl_easy_strerror(rc));
    return res->outcome;
}

/* ---- the interface */

sk_mailer_t *sk_mailer_new(const sk_mailer_opts_t *opts, sk_err_t *err)
{
    if (!opts->smtp_url && (!opts->maildir || !*opts->maildir)) {
        sk_err_set(err, "bad_config", "neither SKONTO_SMTP_URL nor SKONTO_MAILDIR is set");
        return NULL;
    }
    sk_mailer_t *m = calloc(1, sizeof *m);
    if (!m) {
        sk_err_set(err, "no_memory", "out of memory");
        return NULL;
    }
    m->smtp = opts->smtp_url != NULL;
    int rc = m->smtp ? s_smtp_open(m, opts, err) : s_maildir_open(m, opts->maildir, err);
    if (rc != 0)
        sk_mailer_destroy(&m);
    return m;
}

void sk_mailer_destroy(sk_mailer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_mailer_t *m = *self_p;
    if (m->curl)
        curl_easy_cleanup(m->curl);
    if (m->password) {
        explicit_bzero(m->password, strlen(m->password));
        free(m->password);
    }
    free(m->maildir);
    free(m);
    *self_p = NULL;
}

sk_send_outcome_t sk_mailer_send(sk_mailer_t *self, const char *from, const char *rcpt,
                                 const char *mail, size_t len, sk_send_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (self->smtp)
        return s_smtp_send(self, from, rcpt, mail, len, res);
    return s_maildir_send(self, mail, len, res);
}
