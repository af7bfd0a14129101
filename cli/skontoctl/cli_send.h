/* cli_send — one event sent to ingest the way `skontoctl send` sends a file
 * (send.c): the same endpoint, CURVE key, timeout, retry and handshake rules
 * and options, so a verb such as `customer optout` is acknowledged,
 * de-duplicated by its event id and attributed to the caller's key like any
 * ERP event. Nothing is written to Redis. */
#ifndef SK_CLI_SEND_H
#define SK_CLI_SEND_H

#include <stdbool.h>

#include "skonto/v1/skonto.pb-c.h"

/* Called once with the event's Ack (accepted, duplicate or rejected). */
typedef void (*sk_cli_ack_fn)(void *arg, const Skonto__V1__Ack *ack);

/* Called once the options are known good, before anything is sent: an exit
 * status, SK_EXIT_OK to send. */
typedef int (*sk_cli_check_fn)(void *arg);

/* Sends `line`, one JSON event as `skontoctl send` reads it, with send's
 * options taken from argv (argv[0] is skipped; any word is a usage error).
 * *json tells whether --json was given (the caller prints the Ack). Returns
 * SK_EXIT_OK once on_ack has had the Ack, SK_EXIT_FAIL when none came (every
 * try unanswered, or a refused or missing handshake: said on stderr),
 * SK_EXIT_USAGE for invalid options or keys, or what check returned.
 * verb prefixes every message; check may be NULL. */
int sk_cli_send_line(const char *verb, const char *line, int argc, char **argv, bool *json,
                     sk_cli_check_fn check, sk_cli_ack_fn on_ack, void *arg);

#endif
