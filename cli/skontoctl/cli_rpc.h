/* cli_rpc — one request, one reply, over a ZeroMQ DEALER with CURVE: how
 * skontoctl talks to the audit worker's ROUTER (override request|approve|
 * reject|list|show, and audit follow's snapshot pages).
 *
 * The connection is watched the way `skontoctl send` watches ingest's: a
 * refused handshake (a key the server does not admit) is final and said at
 * once; a handshake that has not completed within the handshake timeout (a
 * wrong server key, nothing listening) is said as such. A request is sent
 * once (never resent: a decision must not be made twice by accident; an
 * override request is idempotent by its request id, so the user may run
 * the command again); a reply that does not come within the reply timeout
 * is a failure.
 *
 * Invariants: every failure is one line on stderr, prefixed by the verb; the
 * secret key is zeroed after use and never printed. */
#ifndef SK_CLI_RPC_H
#define SK_CLI_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_opts.h"

/* Where and as whom: endpoint, the server's public key (a .pub path or Z85
 * text) and this user's secret key file, each with the option or variable it
 * came from (for messages). */
typedef struct {
    const char *what; /* "the audit worker": names the peer in messages */
    const char *endpoint;
    const char *server_key, *server_key_from;
    const char *server_key_env; /* the variable of the server's key, for messages */
    const char *key_file, *key_file_from;
    long handshake_timeout_ms; /* default 5000 */
    long timeout_ms;           /* a reply, after the handshake; default 10000 */
} sk_cli_peer_t;

/* The options every audit-worker verb takes, for its option table: --endpoint,
 * --server-key, --key, --timeout-ms. */
#define SK_CLI_PEER_OPTS                                                                           \
    {"endpoint", true, false}, {"server-key", true, false}, {"key", true, false},                  \
    {                                                                                              \
        "timeout-ms", true, false                                                                  \
    }

/* The peer of the audit worker from the environment: SKONTO_AUDIT_ENDPOINT
 * (default tcp://127.0.0.1:7770), SKONTO_AUDIT_SERVER_KEY,
 * SKONTO_CURVE_KEY_FILE. */
void sk_cli_peer_audit(sk_cli_peer_t *p);

/* Takes one of SK_CLI_PEER_OPTS: 1 when name was one (value taken),
 * 0 when it was not, -1 after a usage line for a bad value. */
int sk_cli_peer_opt(sk_cli_peer_t *p, const char *verb, const char *name, const char *value);

/* The next argument of a verb that talks to a peer: SK_CLI_PEER_OPTS are
 * taken into p here. A positional word goes to *word, one at most ("one WHAT
 * only (got ...)"); with word NULL none is allowed ("unexpected "W" (HINT)").
 * Returns the index of another option (its value in *value), SK_CLI_END, or
 * SK_CLI_BAD after one line. */
int sk_cli_scan_peer(sk_cli_scan_t *sc, sk_cli_peer_t *p, const char **word, const char *what,
                     const char **value);

/* The help lines for SK_CLI_PEER_OPTS. */
void sk_cli_peer_help(FILE *out);

/* Makes sock a CURVE client of the peer (before connect). SK_EXIT_OK, or
 * SK_EXIT_USAGE after one line (a key missing or unreadable), or SK_EXIT_FAIL. */
int sk_cli_peer_curve(const sk_cli_peer_t *p, const char *verb, void *sock);

/* Watches a client socket's connections and handshakes through a ZeroMQ
 * socket monitor, for `send` and cli_rpc alike. Why: a refused handshake is
 * final (libzmq does not reconnect after the server refused the key, or
 * CURVE on one side only), so the socket would wait for ever; a handshake
 * that never completes is not reported at all (a CURVE server that cannot
 * decrypt the HELLO, a wrong server key, drops the connection and libzmq
 * tries again for ever; with nothing listening it retries the connect), so
 * the caller gives the first handshake a deadline. */
typedef struct {
    void *monitor;   /* the PAIR the monitor's events arrive on */
    bool connected;  /* a connection was made at least once */
    bool handshaken; /* a handshake completed at least once (or a message came) */
} sk_cli_watch_t;

/* Starts watching sock (of context zctx), before it connects. 0, or -1 with errno. */
int sk_cli_watch_open(sk_cli_watch_t *w, void *zctx, void *sock);
/* Reads what the monitor said so far: 0, or ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
 * (*status the ZAP status, e.g. 400) or ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
 * when a handshake was refused. */
int sk_cli_watch_read(sk_cli_watch_t *w, uint32_t *status);
void sk_cli_watch_close(sk_cli_watch_t *w);

typedef struct sk_cli_rpc sk_cli_rpc_t;

/* Connects a DEALER to the peer in its own ZeroMQ context. NULL after one
 * line, *rc the exit status (SK_EXIT_USAGE or SK_EXIT_FAIL). */
sk_cli_rpc_t *sk_cli_rpc_open(const char *verb, const sk_cli_peer_t *p, int *rc);

/* The ZeroMQ context, for another socket to the same peer (a SUB). */
void *sk_cli_rpc_context(sk_cli_rpc_t *self);

/* Sends req[0..len) as one frame and waits for reply frames: each is given
 * to accept(arg, bytes, n), which returns 1 to take it (the call returns),
 * 0 to drop it (a late reply to an earlier request) or -1 to fail (it said
 * why). SK_EXIT_OK once one was taken; SK_EXIT_FAIL after one line (refused
 * or missing handshake, no reply within the timeout, a socket error). */
int sk_cli_rpc_call(sk_cli_rpc_t *self, const void *req, size_t len,
                    int (*accept)(void *arg, const uint8_t *bytes, size_t n), void *arg);

void sk_cli_rpc_destroy(sk_cli_rpc_t **self_p);

#endif
