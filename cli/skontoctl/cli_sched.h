/* cli_sched — the options that describe one invoice's schedule (--terms,
 * --baseline, --amount, --currency, --tax, --discount-base, --grace-days,
 * --business-days, --holidays, --rounding), shared by quote and settle and
 * by any verb that computes a schedule from the command line: their
 * validation (one line for the first problem), the schedule they give, its
 * help text and its headline. */
#ifndef SK_CLI_SCHED_H
#define SK_CLI_SCHED_H

#include <stdbool.h>
#include <stdio.h>

#include "cli_msg.h"
#include "schedule.h"
#include "terms.h"

/* Spread into a verb's option table: { SK_CLI_SCHEDULE_OPTS, {"json", false, false}, {NULL} }. */
#define SK_CLI_SCHEDULE_OPTS                                                                       \
    {"terms", true, false}, {"baseline", true, false}, {"amount", true, false},                    \
        {"currency", true, false}, {"tax", true, false}, {"discount-base", true, false},           \
        {"grace-days", true, false}, {"business-days", false, false}, {"holidays", true, false},   \
    {                                                                                              \
        "rounding", true, false                                                                    \
    }

typedef struct {
    const char *terms, *baseline, *amount, *currency, *tax, *discount_base, *grace_days, *holidays,
        *rounding;
    bool business_days;
} sk_cli_sched_args_t;

/* Records the option `name` if it is one of SK_CLI_SCHEDULE_OPTS: returns
 * true if it was, false if the caller should handle it. */
bool sk_cli_sched_take(sk_cli_sched_args_t *a, const char *name, const char *value);

typedef struct {
    sk_terms_t terms;
    char terms_text[SK_TERMS_MAX_LEN]; /* canonical form */
    sk_discount_base_t base;           /* gross or net of tax */
    int grace_days;                    /* as given (the schedule already includes them) */
    bool business_days;
    sk_schedule_t schedule;
} sk_cli_sched_t;

/* Validates every schedule option (the first problem wins, in the order of
 * the usage line) and computes the schedule. On invalid input prints one line
 * and returns SK_EXIT_USAGE; on success SK_EXIT_OK. */
int sk_cli_sched_build(const char *verb, const sk_cli_sched_args_t *a, sk_cli_sched_t *out);

/* Help text for the schedule options and the terms notation. */
void sk_cli_sched_help(FILE *out);

/* The schedule's headline, one line: "1130.00 CNY  discount base 1000.00 (net
 * of tax 130.00)  terms 2/10,n/30  baseline 2026-11-02 Mon  net due 2026-12-02 Wed" */
void sk_cli_sched_headline(const sk_cli_sched_t *s, FILE *out);

#endif
