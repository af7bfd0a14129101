/* skontoctl — the command-line tool for people and scripts. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} s_verbs[] = {
    {"quote", sk_cmd_quote, "compute an invoice's discount windows from terms (no server needed)"},
    {"settle", sk_cmd_settle, "apply payments to an invoice and show discount earned (no server needed)"},
    {"send", sk_cmd_send, "send ERP events (JSON lines) to ingest and wait for every acknowledgement"},
    {"order", sk_cmd_order, "order show ID: an invoice's schedule, payments and balance"},
    {"customer", sk_cmd_customer, "customer show ID: open invoices and their remaining windows"},
    {"forecast", sk_cmd_forecast, "expected receivables by day or week, by history and at net"},
    {"status", sk_cmd_status, "workers' heartbeats, queue depths, dead letters, sequence gaps"},
    {"dlq", sk_cmd_dlq, "dlq list: events that were rejected, with their reasons"},
    {"keygen", sk_cmd_keygen, "keygen --out PREFIX: a CURVE key pair for ingest, an ERP or a person"},
    {"reminders", sk_cmd_reminders, "reminders list|sent: mail waiting to go to customers, and mail sent"},
    {"statement", sk_cmd_statement, "statement preview ID: the statement the reminder worker would send now"},
    {"clock", sk_cmd_clock, "clock show|set|advance: business time (simulated with SKONTO_CLOCK=redis)"},
    /* two-word verbs: matched on the first two words, before any one-word verb */
    {"report policy", sk_cmd_report_policy, "is the discount policy paying: take-up, rates, net effect, DSO"},
    {"audit reconcile", sk_cmd_audit_reconcile, "every open invoice's schedule against its terms and applied overrides"},
    {"override", sk_cmd_override, "override request|approve|reject|list|show: change a computed discount"},
    {"audit", sk_cmd_audit, "audit verify|tail|follow|reconcile: check and read the signed audit log"},
    {"report", sk_cmd_report, "report overrides|policy: overrides per salesperson x customer; the discount policy"},
};

/* Whether the verb `name` (one word, or two separated by a space) is what
 * argv[1..] says. */
static bool s_is(const char *name, int argc, char **argv)
{
    const char *sp = strchr(name, ' ');
    if (!sp)
        return !strcmp(argv[1], name);
    return argc > 2 && strlen(argv[1]) == (size_t)(sp - name) &&
           !strncmp(argv[1], name, (size_t)(sp - name)) && !strcmp(argv[2], sp + 1);
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: skontoctl VERB [options]   (skontoctl VERB --help for a verb's options)\n\n"
                 "Skonto turns cash-discount terms into money on time.\n\nverbs:\n");
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++)
        fprintf(out, "  %-15s %s\n", s_verbs[i].name, s_verbs[i].summary);
    fprintf(out, "\nServer verbs read SKONTO_REDIS_URL (redis://host:port or unix:///path) and\n"
                 "SKONTO_INGEST_ENDPOINT; see the README. Credentials: SKONTO_REDIS_USER,\n"
                 "SKONTO_REDIS_PASSWORD_FILE, SKONTO_INGEST_SERVER_KEY, SKONTO_CURVE_KEY_FILE\n"
                 "(docs/SECURITY.md). override and audit follow talk to the audit worker\n"
                 "(SKONTO_AUDIT_ENDPOINT, SKONTO_AUDIT_SERVER_KEY); audit verify checks the log\n"
                 "with SKONTO_AUDIT_PUBLIC_KEY (docs/AUDIT.md).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        s_usage(stdout);
        return 0;
    }
    for (int words = 2; words >= 1; words--)
        for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++)
            if ((strchr(s_verbs[i].name, ' ') != NULL) == (words == 2) &&
                s_is(s_verbs[i].name, argc, argv))
                return s_verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "skontoctl: unknown verb '%s' (try skontoctl --help)\n", argv[1]);
    return 2;
}
