/* sk_redis — connecting to Redis from SKONTO_REDIS_URL, and small helpers.
 *
 * URL forms: "redis://host:port" (host defaults 127.0.0.1, port 6379),
 * "unix:///absolute/path.sock". Optional "redis://user:password@host:port"
 * authenticates with AUTH user password (Redis ACL users, one per worker).
 * When the URL carries no credentials, SKONTO_REDIS_USER and
 * SKONTO_REDIS_PASSWORD_FILE (a file whose first line is the password, mode
 * 0600) apply to any URL, unix:// included; a password file without a user
 * authenticates as the default user (requirepass). docs/SECURITY.md.
 * Default when SKONTO_REDIS_URL is unset: redis://127.0.0.1:6379. */
#ifndef SK_REDIS_H
#define SK_REDIS_H

#include <hiredis/hiredis.h>

#include "sk_error.h"

/* Connects (with a 5 s timeout); NULL and err ("redis") on failure. */
redisContext *sk_redis_connect(const char *url, sk_err_t *err);
/* The same as Redis user `user` with the password in password_file (first
 * line), instead of SKONTO_REDIS_USER / SKONTO_REDIS_PASSWORD_FILE: for a
 * second identity, such as skontoctl's clock user. */
redisContext *sk_redis_connect_as(const char *url, const char *user, const char *password_file,
                                  sk_err_t *err);
/* Connects to getenv("SKONTO_REDIS_URL") or the default. */
redisContext *sk_redis_connect_env(sk_err_t *err);
const char *sk_redis_url_env(void);

/* Loads a Lua script (SCRIPT LOAD); writes its 40-hex SHA1 into sha (41 bytes). */
int sk_redis_load_script(redisContext *c, const char *lua, char sha[41], sk_err_t *err);

/* The Redis protocol (RESP) of a command, written directly (for
 * redisAppendFormattedCommand): no printf, and no second pass over every
 * argument as hiredis' own formatting makes. sk_resp_array writes
 * "*<argc>\r\n" (at most SK_RESP_HEAD bytes), sk_resp_bulk "$<len>\r\n",
 * the bytes and "\r\n" (len + SK_RESP_HEAD bytes at most); each returns the
 * bytes written. */
#define SK_RESP_HEAD 32
size_t sk_resp_array(char *p, size_t argc);
size_t sk_resp_bulk(char *p, const char *s, size_t len);

/* The value of field `name` in a stream entry's field list (the second
 * element of an XRANGE / XREADGROUP entry: name, value, name, value ...), or
 * NULL when the list is not an array or has no string field of that name. */
const redisReply *sk_redis_stream_field(const redisReply *fields, const char *name);

#endif
