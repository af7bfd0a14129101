/* skontoctl verbs. Each takes argv after the verb name (argv[0] = the verb)
 * and returns the process exit status: 0 success, 1 a failure at run time
 * (e.g. an event was rejected, Redis unreachable), 2 invalid usage or input
 * (one line on stderr saying what is wrong). */
#ifndef SK_CLI_H
#define SK_CLI_H

int sk_cmd_quote(int argc, char **argv);
int sk_cmd_settle(int argc, char **argv);
int sk_cmd_send(int argc, char **argv);
int sk_cmd_order(int argc, char **argv);
int sk_cmd_customer(int argc, char **argv);
int sk_cmd_forecast(int argc, char **argv);
int sk_cmd_status(int argc, char **argv);
int sk_cmd_dlq(int argc, char **argv);
int sk_cmd_keygen(int argc, char **argv);
int sk_cmd_clock(int argc, char **argv);
int sk_cmd_reminders(int argc, char **argv);
int sk_cmd_statement(int argc, char **argv);
/* `audit reconcile` (argv[0] "audit", argv[1] "reconcile") */
int sk_cmd_audit_reconcile(int argc, char **argv);
int sk_cmd_override(int argc, char **argv);
int sk_cmd_audit(int argc, char **argv);
int sk_cmd_report(int argc, char **argv);
int sk_cmd_report_policy(int argc, char **argv); /* report_policy.c */

#endif
