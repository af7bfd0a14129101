/* cli_audit — what skontoctl's override, audit and report verbs share: one
 * AuditRequest answered by the audit worker (over cli_rpc), and the words,
 * lines and JSON objects in which overrides (OverrideRecord) and audit log
 * entries (AuditEvent) are shown to a person.
 *
 * Conventions: amounts in the currency's decimals with its code ("12.34
 * CNY"; an unknown currency's minor units as they are), instants in UTC ISO
 * ("2026-11-20T09:00:00Z"), roles and statuses as their lower-case names. */
#ifndef SK_CLI_AUDIT_H
#define SK_CLI_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_rpc.h"
#include "skonto/v1/skonto.pb-c.h"

/* Exit statuses of the verbs that ask the audit worker, beside SK_EXIT_OK (0),
 * SK_EXIT_FAIL (1: the worker could not be reached or did not answer) and
 * SK_EXIT_USAGE (2). */
#define SK_EXIT_REFUSED 3 /* the rules said no (AuditReply REFUSED) */
#define SK_EXIT_ERROR 4   /* the worker answered ERROR (a bad request, no such override) */

/* Sends req (its correlation is set here) and waits for the reply with the
 * same correlation. SK_EXIT_OK with *out (the caller frees it with
 * skonto__v1__audit_reply__free_unpacked), else an exit status after one
 * line. A REFUSED or ERROR reply is returned as OK: the caller says it. */
int sk_cli_audit_ask(const char *verb, sk_cli_rpc_t *rpc, Skonto__V1__AuditRequest *req,
                     Skonto__V1__AuditReply **out);

/* Says a REFUSED or ERROR reply on stderr ("skontoctl override approve:
 * refused self_approval: ...") and returns its exit status; SK_EXIT_OK for OK. */
int sk_cli_audit_status(const char *verb, const Skonto__V1__AuditReply *r);

const char *sk_cli_role_name(Skonto__V1__Role role);                 /* "sales_director", "" */
const char *sk_cli_ovr_status(Skonto__V1__OverrideRecord__Status s); /* "pending" ... */
const char *sk_cli_audit_kind(Skonto__V1__AuditKind k);              /* "requested" ... */

/* "extend t1 to 2026-11-17", "grant t0 to payment 1", "rate t1 to 2.5%", "waive". */
char *sk_cli_change_text(const Skonto__V1__OverrideChange *c, char *buf, size_t n);
/* "12.34 CNY"; "-" when currency is empty and minor is 0. n >= 48. */
char *sk_cli_amount(int64_t minor, const char *currency, char *buf, size_t n);
/* A message from the worker for one line: control characters escaped as
 * \xNN, cut with "..." to fit n (n >= 16). */
char *sk_cli_clean(const char *s, char *buf, size_t n);
/* "2026-11-20T09:00:00Z", or "-" for 0. n >= 32. */
char *sk_cli_instant(int64_t ms, char *buf, size_t n);

/* One override as JSON (new reference; NULL on ENOMEM). */
json_t *sk_cli_record_json(const Skonto__V1__OverrideRecord *r);
/* One override for a person, a few lines. */
void sk_cli_record_print(FILE *out, const Skonto__V1__OverrideRecord *r);

/* One log entry as JSON / as one line for a person ("facts": the body's key
 * facts). ev NULL: the bytes did not decode (said as such). */
json_t *sk_cli_event_json(uint64_t seq, const Skonto__V1__AuditEvent *ev);
void sk_cli_event_print(FILE *out, uint64_t seq, const Skonto__V1__AuditEvent *ev);

#endif
