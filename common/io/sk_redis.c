#include "sk_redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sk_fmt.h"

const char *sk_redis_url_env(void)
{
    const char *u = getenv("SKONTO_REDIS_URL");
    return (u && *u) ? u : "redis://127.0.0.1:6379";
}

redisContext *sk_redis_connect_env(sk_err_t *err)
{
    return sk_redis_connect(sk_redis_url_env(), err);
}

/* Credentials from SKONTO_REDIS_USER and SKONTO_REDIS_PASSWORD_FILE (the
 * first line of the file, which should be mode 0600). 0 or -1 and err. */
static int s_credentials(const char *u, const char *pf, char *user, size_t ucap, char *pass,
                         size_t pcap, sk_err_t *err)
{
    if (u && *u) {
        if (strlen(u) >= ucap)
            return sk_err_set(err, "redis", "SKONTO_REDIS_USER: too long");
        snprintf(user, ucap, "%s", u);
    }
    if (!pf || !*pf) {
        if (user[0])
            return sk_err_set(err, "redis",
                              "SKONTO_REDIS_USER=%s needs SKONTO_REDIS_PASSWORD_FILE", user);
        return 0;
    }
    FILE *f = fopen(pf, "r");
    if (!f)
        return sk_err_set(err, "redis", "SKONTO_REDIS_PASSWORD_FILE %s: %s", pf, strerror(errno));
    char line[512];
    int rc = 0;
    if (!fgets(line, sizeof line, f))
        rc = sk_err_set(err, "redis", "SKONTO_REDIS_PASSWORD_FILE %s: empty", pf);
    fclose(f);
    if (rc)
        return rc;
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0] || strlen(line) >= pcap)
        return sk_err_set(err, "redis", "SKONTO_REDIS_PASSWORD_FILE %s: want a password of 1 to %zu "
                                        "bytes on the first line",
                          pf, pcap - 1);
    memcpy(pass, line, strlen(line) + 1);
    return 0;
}

static redisContext *s_connect(const char *url, const char *env_user, const char *env_pf,
                               sk_err_t *err);

redisContext *sk_redis_connect(const char *url, sk_err_t *err)
{
    return s_connect(url, getenv("SKONTO_REDIS_USER"), getenv("SKONTO_REDIS_PASSWORD_FILE"), err);
}

redisContext *sk_redis_connect_as(const char *url, const char *user, const char *password_file,
                                  sk_err_t *err)
{
    return s_connect(url, user, password_file, err);
}

static redisContext *s_connect(const char *url, const char *env_user, const char *env_pf,
                               sk_err_t *err)
{
    struct timeval tv = {5, 0};
    char user[128] = "", pass[256] = "", host[256] = "127.0.0.1";
    int port = 6379;
    redisContext *c = NULL;

    if (!strncmp(url, "unix://", 7)) {
        if (url[7] != '/' || strlen(url + 7) >= 108)
            return sk_err_set(err, "redis", "SKONTO_REDIS_URL %s: want unix:///absolute/path", url),
                   NULL;
        c = redisConnectUnixWithTimeout(url + 7, tv);
    } else if (!strncmp(url, "redis://", 8)) {
        const char *rest = url + 8;
        const char *at = strrchr(rest, '@');
        if (at) {
            const char *colon = memchr(rest, ':', (size_t)(at - rest));
            if (!colon || (size_t)(colon - rest) >= sizeof user ||
                (size_t)(at - colon - 1) >= sizeof pass)
                return sk_err_set(err, "redis", "SKONTO_REDIS_URL: want redis://user:password@host:port"),
                       NULL;
            memcpy(user, rest, (size_t)(colon - rest));
            memcpy(pass, colon + 1, (size_t)(at - colon - 1));
            rest = at + 1;
        }
        const char *colon = strrchr(rest, ':');
        size_t hlen = colon ? (size_t)(colon - rest) : strlen(rest);
        if (hlen >= sizeof host)
            return sk_err_set(err, "redis", "SKONTO_REDIS_URL: host too long"), NULL;
        if (hlen) {
            memcpy(host, rest, hlen);
            host[hlen] = '\0';
        }
        if (colon) {
            char *end;
            long p = strtol(colon + 1, &end, 10);
            if (*end != '\0' && *end != '/')
                return sk_err_set(err, "redis", "SKONTO_REDIS_URL %s: bad port", url), NULL;
            if (p <= 0 || p > 65535)
                return sk_err_set(err, "redis", "SKONTO_REDIS_URL %s: bad port", url), NULL;
            port = (int)p;
        }
        c = redisConnectWithTimeout(host, port, tv);
    } else {
        return sk_err_set(err, "redis", "SKONTO_REDIS_URL %s: want redis://host:port or unix:///path",
                          url),
               NULL;
    }
    /* Credentials in the URL win; else the environment's apply to any URL
     * (a unix:// URL has no room for them). */
    if (!user[0] && !pass[0] &&
        s_credentials(env_user, env_pf, user, sizeof user, pass, sizeof pass, err)) {
        if (c)
            redisFree(c);
        return NULL;
    }
    if (!c)
        return sk_err_set(err, "redis", "cannot allocate a Redis context"), NULL;
    if (c->err) {
        sk_err_set(err, "redis", "cannot connect to Redis at %s: %s", url, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (user[0] || pass[0]) {
        redisReply *r = user[0] ? redisCommand(c, "AUTH %s %s", user, pass)
                                : redisCommand(c, "AUTH %s", pass);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            sk_err_set(err, "redis", "Redis AUTH as %s failed: %s", user[0] ? user : "default",
                       r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    /* Commands block at most this long; a worker that loses Redis notices. */
    struct timeval cmd_tv = {30, 0};
    redisSetTimeout(c, cmd_tv);
    return c;
}

int sk_redis_load_script(redisContext *c, const char *lua, char sha[41], sk_err_t *err)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", lua);
    if (!r)
        return sk_err_set(err, "redis", "SCRIPT LOAD: %s", c->errstr);
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING && r->len == 40)
        memcpy(sha, r->str, 41);
    else
        rc = sk_err_set(err, "redis", "SCRIPT LOAD failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}

const redisReply *sk_redis_stream_field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && k->len == n &&
            !memcmp(k->str, name, n))
            return v;
    }
    return NULL;
}

static size_t s_resp_head(char *p, char type, size_t n)
{
    size_t k = 0;
    p[k++] = type;
    k += sk_fmt_i64(p + k, (int64_t)n);
    p[k++] = '\r';
    p[k++] = '\n';
    return k;
}

size_t sk_resp_array(char *p, size_t argc)
{
    return s_resp_head(p, '*', argc);
}

size_t sk_resp_bulk(char *p, const char *s, size_t len)
{
    size_t k = s_resp_head(p, '$', len);
    memcpy(p + k, s, len);
    k += len;
    p[k++] = '\r';
    p[k++] = '\n';
    return k;
}
