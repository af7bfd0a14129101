/* cli_redis — reading Redis for the read-only verbs (order, customer,
 * forecast, status, dlq): connect to $SKONTO_REDIS_URL, one command,
 * pipelined commands and replies, each failure reported as one line naming
 * the server. */
#ifndef SK_CLI_REDIS_H
#define SK_CLI_REDIS_H

#include <hiredis/hiredis.h>

#include "cli_msg.h"

#define SK_CLI_REDIS_MAX_ARGS 8 /* arguments of one command, verb included */

/* Connects to $SKONTO_REDIS_URL; NULL after printing the reason as one line. */
redisContext *sk_cli_redis_connect(const char *verb);

/* Runs one command of argc (1..SK_CLI_REDIS_MAX_ARGS) NUL-terminated
 * arguments. NULL after printing one line: "Redis at URL: REASON" when the
 * connection failed, "Redis CMD KEY: ERROR" for an error reply. The caller
 * frees the reply. */
redisReply *sk_cli_redis_command(const char *verb, redisContext *c, int argc, const char **argv);

/* Queues one command for a pipeline (argc as above). SK_EXIT_OK, or
 * SK_EXIT_FAIL after printing "Redis at URL: REASON". */
int sk_cli_redis_append(const char *verb, redisContext *c, int argc, const char **argv);

/* The next reply of a pipeline, error replies included (the caller judges
 * them); NULL after printing "Redis at URL: REASON". The caller frees it. */
redisReply *sk_cli_redis_reply(const char *verb, redisContext *c);

/* The string value of field in an HGETALL reply h (h may be NULL), or dflt. */
const char *sk_cli_hash_get(const redisReply *h, const char *field, const char *dflt);

#endif
