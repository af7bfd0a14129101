/* sk_auth — who may talk to Skonto over ZeroMQ: CURVE keys, the key
 * registry and a ZAP handler (docs/SECURITY.md).
 *
 * Keys are ZeroMQ CURVE key pairs written as Z85 text (40 characters). A key
 * file holds one key on its first line that is not blank and not a '#'
 * comment: PREFIX.key the secret key (mode 0600), PREFIX.pub the public key.
 * The public key is always derived again from the secret one, so a .key file
 * alone is enough to act as its owner.
 *
 * The registry (SKONTO_AUTHORIZED_KEYS) names every principal, one a line:
 *     <public-key-z85> <user-id> <role>      # comments and blank lines allowed
 * roles: erp operator sales sales_director finance_director auditor. A key
 * appears at most once; user ids are 1..64 bytes of [A-Za-z0-9._@-].
 *
 * The ZAP handler (RFC 27) answers libzmq's authentication requests for the
 * sockets of one context: it binds inproc://zeromq.zap.01 in that context
 * and runs in its own thread. It answers 200, with User-Id = the registered
 * user, only for a CURVE client whose public key is registered with a role
 * the handler admits (sk_zap_new's `admit`), on the handler's domain, and
 * property Role = the key's role name (read with zmq_msg_gets(msg, "Role"));
 * everything else gets 400 and the connection is dropped by libzmq before a
 * single message is delivered. The server socket must name the domain
 * (ZMQ_ZAP_DOMAIN, set by sk_auth_curve_server): libzmq only consults a ZAP
 * handler that exists when the connection is made, so the handler is started
 * before the server socket binds.
 *
 * Invariants: a secret key is never logged; a registry that does not parse
 * is refused as a whole (a typo must not silently drop or admit someone). */
#ifndef SK_AUTH_H
#define SK_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "sk_conns.h"
#include "sk_error.h"

#define SK_AUTH_Z85_LEN 40   /* a CURVE key in Z85 text */
#define SK_AUTH_USER_MAX 64  /* bytes of a user id */
#define SK_AUTH_DOMAIN "skonto"

typedef enum {
    SK_ROLE_NONE = 0,
    SK_ROLE_ERP,
    SK_ROLE_OPERATOR,
    SK_ROLE_SALES,
    SK_ROLE_SALES_DIRECTOR,
    SK_ROLE_FINANCE_DIRECTOR,
    SK_ROLE_AUDITOR,
} sk_role_t;

/* Bit of a role in an admit mask. */
#define SK_ROLE_BIT(r) (1u << (r))
/* The roles that may send ERP events to ingest. */
#define SK_ROLES_SENDERS (SK_ROLE_BIT(SK_ROLE_ERP) | SK_ROLE_BIT(SK_ROLE_OPERATOR))

sk_role_t sk_role_parse(const char *name); /* SK_ROLE_NONE if unknown */
/* True for 1..SK_AUTH_USER_MAX bytes of [A-Za-z0-9._@-]. */
bool sk_auth_user_valid(const char *user);
const char *sk_role_name(sk_role_t role);

/* ---- keys */

typedef struct {
    char public_key[SK_AUTH_Z85_LEN + 1];
    char secret_key[SK_AUTH_Z85_LEN + 1];
} sk_keypair_t;

/* A new random key pair (zmq_curve_keypair). 0, or -1 and err ("auth"). */
int sk_auth_keypair_new(sk_keypair_t *kp, sk_err_t *err);
/* Writes PREFIX.key (secret, created 0600, never overwritten) and PREFIX.pub.
 * comment (may be NULL) goes on a '#' line above each key. */
int sk_auth_keypair_save(const sk_keypair_t *kp, const char *prefix, const char *comment,
                         sk_err_t *err);
/* Reads the Z85 key of a key file into out (41 bytes); checks it decodes. */
int sk_auth_key_read(const char *path, char out[SK_AUTH_Z85_LEN + 1], sk_err_t *err);
/* A key given as the path of a key file or as Z85 text: a value naming an
 * existing file is read as that file (Z85 text can contain '/', so a path of
 * 40 characters may also decode as a key); otherwise it must be 40 Z85
 * characters that zmq_z85_decode accepts. The error names both forms; the
 * caller adds the option or variable the value came from. */
int sk_auth_key_arg(const char *value, char out[SK_AUTH_Z85_LEN + 1], sk_err_t *err);
/* Loads a secret key file and derives its public key (zmq_curve_public). */
int sk_auth_keypair_load(const char *secret_path, sk_keypair_t *kp, sk_err_t *err);
/* True if s is 40 Z85 characters that decode to 32 bytes. */
bool sk_auth_key_valid(const char *s);

/* ---- the registry */

typedef struct {
    uint8_t key[32];
    char user[SK_AUTH_USER_MAX + 1];
    sk_role_t role;
} sk_principal_t;

typedef struct _sk_registry_t sk_registry_t;

/* Parses a registry file; NULL and err (with the line number) if any line is bad. */
sk_registry_t *sk_registry_load(const char *path, sk_err_t *err);
void sk_registry_destroy(sk_registry_t **self_p);
size_t sk_registry_size(const sk_registry_t *self);
/* The principal holding a 32-byte public key, or NULL. */
const sk_principal_t *sk_registry_find(const sk_registry_t *self, const uint8_t key[32]);
/* The principal of a user id (a ZAP User-Id), or NULL. A user holding
 * several keys of different roles has no single role: NULL too, so that a
 * worker judging by role refuses rather than picks one. */
const sk_principal_t *sk_registry_find_user(const sk_registry_t *self, const char *user);

/* ---- the ZAP handler */

typedef struct _sk_zap_t sk_zap_t;
typedef void (*sk_zap_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Starts a ZAP handler in ctx that admits registered keys whose role is in
 * `admit` (a mask of SK_ROLE_BIT). Takes ownership of reg. log (may be NULL)
 * receives one line per decision. NULL and err on failure (reg is freed). */
sk_zap_t *sk_zap_new(void *ctx, sk_registry_t *reg, unsigned admit, sk_zap_log_fn log,
                     sk_err_t *err);
/* Makes the handler watch a socket's connections through the monitor that
 * sk_conns_monitor started at monitor_ep (sk_conns.h): each closed one is
 * logged (naming `what`) and counted, and a new client is refused (ZAP 300,
 * "too many connections open") while max_open connections that passed their
 * handshake are open (connections still in their handshake do not count, so
 * idle TCP connections cannot lock clients out). A refused client hears
 * nothing and tries again when its handshake interval ends. The count is
 * what the monitor has said so far: a connection closed a moment ago may
 * still hold its place. 0 or -1. */
int sk_zap_watch(sk_zap_t *self, const char *monitor_ep, const char *what, int max_open,
                 sk_err_t *err);
/* The watched connections (after sk_zap_watch), for sk_conns_closed. */
const sk_conns_t *sk_zap_conns(const sk_zap_t *self);
/* What sk_zap_report sends, for each refusal, as one message of three
 * frames: the client's 32-byte public key (0 bytes when it sent none), its
 * address (ZAP's, e.g. "127.0.0.1") and the reason, one of: */
#define SK_ZAP_UNREGISTERED "unregistered key"
#define SK_ZAP_ROLE_REFUSED "role may not connect here"
#define SK_ZAP_FULL "too many connections open"
/* Makes the handler report every refusal to its owner: a PUSH socket of
 * the handler's own (in its thread and context) connects to endpoint (an
 * inproc:// endpoint of ctx the owner binds a PULL socket to) and sends
 * each report without waiting: a report that does not fit (at most hwm
 * queued, or no peer yet) is dropped and counted (sk_zap_reports_dropped),
 * so a slow owner never delays a handshake. Without it nothing is sent.
 * Call once, after sk_zap_new, before the server socket binds. 0 or -1. */
int sk_zap_report(sk_zap_t *self, const char *endpoint, int hwm, sk_err_t *err);
/* Reports dropped since start (thread-safe). */
uint64_t sk_zap_reports_dropped(const sk_zap_t *self);
/* Stops the handler thread and closes its socket. Call before zmq_ctx_term. */
void sk_zap_destroy(sk_zap_t **self_p);

/* ---- sockets */

/* Makes sock a CURVE server with this secret key on SK_AUTH_DOMAIN (before bind). */
int sk_auth_curve_server(void *sock, const char *secret_z85, sk_err_t *err);
/* A worker's listening socket: sk_auth_curve_server with secret_z85 (NULL:
 * no CURVE), then bound to endpoint. 0, or -1 with err ("cannot bind E: ...");
 * the caller closes the socket. */
int sk_auth_bind_server(void *sock, const char *secret_z85, const char *endpoint, sk_err_t *err);
/* Makes sock a CURVE client of server_public with this key pair (before connect). */
int sk_auth_curve_client(void *sock, const char *server_public_z85, const sk_keypair_t *kp,
                         sk_err_t *err);

/* True if a ZeroMQ endpoint is reachable from this machine only: ipc://,
 * inproc://, or tcp:// on 127.0.0.0/8, ::1 or localhost. */
bool sk_auth_endpoint_is_local(const char *endpoint);

#endif
