/* settle — `skontoctl settle`: payments applied to one invoice, in order.
 *
 * Pure computation, no server: the schedule comes from the same options as
 * `skontoctl quote` (cli_sched), each --payment DATE:AMOUNT[:full] goes through
 * sk_settle_apply in the order given, and the result is printed as a table or
 * as JSON. Payments must be given in date order; a payment the library
 * refuses (before the baseline, on an invoice already settled) is invalid
 * input like any other: one line on stderr and exit status 2.
 *
 * Tier numbers: JSON carries the schedule's 0-based tier index (null after
 * every window has closed); the table shows tiers numbered from 1, as quote's
 * table does, and "-" after every window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_sched.h"
#include "settlement.h"

#define VERB "settle"
#define S_PAYMENT_MAX_LEN 128 /* longest accepted --payment value */

static const sk_cli_opt_t s_opts[] = {
    SK_CLI_SCHEDULE_OPTS,
    {"payment", true, true},
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fputs("usage: skontoctl settle --terms TERMS --baseline DATE --amount AMOUNT\n"
          "         --payment DATE:AMOUNT[:full] [--payment ...] [--currency CODE]\n"
          "         [--tax AMOUNT] [--discount-base gross|net] [--grace-days N]\n"
          "         [--business-days [--holidays FILE]] [--rounding half-up|half-even] [--json]\n"
          "\n"
          "Applies payments to an invoice, in the order given, and shows for each the\n"
          "discount it earned, how much of the invoice it settled and the balance left.\n"
          "Pure computation: no server is needed. Options may also be written\n"
          "--option=value.\n"
          "\n"
          "payments (at least one, in date order):\n"
          "  --payment DATE:AMOUNT[:full]\n"
          "                       AMOUNT received on DATE (YYYY-MM-DD), e.g.\n"
          "                       --payment 2020-06-28:294.00\n"
          "                       Paid inside a tier with rate r, it settles AMOUNT/(1-r) of\n"
          "                       the open balance (at most the balance) and earns the\n"
          "                       difference as discount; partial payments earn in proportion.\n"
          "                       After every window it settles just AMOUNT.\n"
          "                       :full means the customer declared the invoice paid in full\n"
          "                       with it: the discount is the tier's on the whole open\n"
          "                       balance, and whatever is still short is reported as\n"
          "                       unearned discount and stays in the balance.\n"
          "\n",
          out);
    sk_cli_sched_help(out);
    fputs(
        "\n"
        "output:\n"
        "  --json               print JSON instead of the table:\n"
        "                       {\"currency\", \"amount\", \"balance\", \"payments\": [{\"date\",\n"
        "                        \"paid\", \"tier\", \"rate\", \"discount\", \"settled\",\n"
        "                        \"unearned_discount\", \"overpaid\", \"balance_after\"}]}\n"
        "                       \"tier\" is the 0-based index of the tier the payment fell in\n"
        "                       (0 = the first tier), null after every window\n"
        "  --help, -h           this text\n"
        "\n"
        "The table numbers tiers from 1, like skontoctl quote's table; \"-\" means every\n"
        "discount window had closed. \"settled\" is what the payment took off the balance\n"
        "(paid + discount); \"unearned\" is discount a customer took without earning it.\n"
        "\n"
        "example (the two payments earn 6.00 and 7.00 and settle the invoice):\n"
        "  skontoctl settle --terms 2/5,1/14,n/30 --baseline 2020-06-25 --amount 1000.00 \\\n"
        "      --payment 2020-06-28:294.00 --payment 2020-07-08:693.00\n"
        "\n"
        "exit status: 0 done, 2 invalid input (one line on stderr says what is wrong).\n",
        out);
}

/* DATE:AMOUNT[:full] -> a payment at the schedule's currency. */
static int s_parse_payment(const char *text, const sk_schedule_t *sc, sk_payment_t *p)
{
    static const char *const syntax = "want DATE:AMOUNT or DATE:AMOUNT:full, "
                                      "e.g. 2020-06-28:294.00";
    char buf[S_PAYMENT_MAX_LEN + 1];
    if (strlen(text) > S_PAYMENT_MAX_LEN)
        return sk_cli_opt_error(VERB, "payment", text, "too long; %s", syntax);
    memcpy(buf, text, strlen(text) + 1);
    char *date = buf;
    char *amount = strchr(buf, ':');
    if (!amount)
        return sk_cli_opt_error(VERB, "payment", text, "%s", syntax);
    *amount++ = '\0';
    char *flag = strchr(amount, ':');
    if (flag)
        *flag++ = '\0';
    if (!*date || !*amount)
        return sk_cli_opt_error(VERB, "payment", text, "%s", syntax);
    if (flag && strcmp(flag, "full") != 0)
        return sk_cli_opt_error(VERB, "payment", text,
                                "after DATE:AMOUNT only \":full\" may follow; %s", syntax);

    sk_err_t err;
    memset(p, 0, sizeof *p);
    p->full = flag != NULL;
    if (sk_date_parse(date, &p->date, &err) != 0)
        return sk_cli_opt_err(VERB, "payment", text, &err);
    if (sk_money_parse(amount, sc->currency, &p->amount, &err) != 0)
        return sk_cli_opt_err(VERB, "payment", text, &err);
    if (p->amount <= 0)
        return sk_cli_opt_error(VERB, "payment", text, "the amount must be greater than 0");
    return SK_EXIT_OK;
}

static json_t *s_json(const sk_schedule_t *sc, const sk_applied_t *applied, int n, int64_t balance)
{
    const sk_currency_t *cur = sc->currency;
    json_t *payments = json_array();
    if (!payments)
        return NULL;
    for (int i = 0; i < n; i++) {
        const sk_applied_t *a = &applied[i];
        /* one key and its value a line */
        /* clang-format off */
        json_t *row = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                                "date", sk_cli_json_date(a->date),
                                "paid", sk_cli_json_money(a->paid, cur),
                                "tier", a->tier >= 0 ? json_integer(a->tier) : json_null(),
                                "rate", sk_cli_json_rate(a->rate_ppm),
                                "discount", sk_cli_json_money(a->discount, cur),
                                "settled", sk_cli_json_money(a->settled, cur),
                                "unearned_discount", sk_cli_json_money(a->unearned_discount, cur),
                                "overpaid", sk_cli_json_money(a->overpaid, cur),
                                "balance_after", sk_cli_json_money(a->balance_after, cur));
        /* clang-format on */
        if (!row || json_array_append_new(payments, row) != 0) {
            json_decref(payments);
            return NULL;
        }
    }
    /* clang-format off */
    return json_pack("{s:s, s:o, s:o, s:o}",
                     "currency", cur->code,
                     "amount", sk_cli_json_money(sc->amount, cur),
                     "balance", sk_cli_json_money(balance, cur),
                     "payments", payments);
    /* clang-format on */
}

/* "windows: tier 1 2% to 2020-06-30 Tue, tier 2 1% to 2020-07-09 Thu, net 2020-07-25 Sat" */
static void s_windows_line(const sk_schedule_t *sc, FILE *out)
{
    char rate[24], day[24];
    fputs("windows:", out);
    for (int i = 0; i < sc->ntiers; i++)
        fprintf(out, " tier %d %s to %s,", i + 1,
                sk_cli_rate_pct(sc->tiers[i].rate_ppm, rate, sizeof rate),
                sk_cli_date_wd(sc->tiers[i].last_day, day, sizeof day));
    fprintf(out, " net %s\n", sk_cli_date_wd(sc->net_due, day, sizeof day));
}

static int s_table(const sk_cli_sched_t *s, const sk_applied_t *applied, int n, int64_t balance)
{
    const sk_schedule_t *sc = &s->schedule;
    const sk_currency_t *cur = sc->currency;
    bool any_overpaid = false;
    int64_t paid = 0, discount = 0, unearned = 0, overpaid = 0;
    for (int i = 0; i < n; i++) {
        any_overpaid |= applied[i].overpaid > 0;
        paid += applied[i].paid;
        discount += applied[i].discount;
        unearned += applied[i].unearned_discount;
        overpaid += applied[i].overpaid;
    }
    static const char *const headers[] = {
        "#",        "date",    "paid",     "tier",          "rate",
        "discount", "settled", "unearned", "balance after", "overpaid"};
    int ncols = any_overpaid ? 10 : 9;
    sk_cli_table_t *table =
        sk_cli_table_new(ncols, headers, any_overpaid ? "rlrrrrrrrr" : "rlrrrrrrr");
    if (!table)
        return sk_cli_fail(VERB, "out of memory");
    for (int i = 0; i < n; i++) {
        const sk_applied_t *a = &applied[i];
        char no[16], day[24], pd[48], tier[16], rate[24], disc[48], set[48], unr[48], bal[48],
            over[48];
        snprintf(no, sizeof no, "%d", i + 1);
        if (a->tier >= 0)
            snprintf(tier, sizeof tier, "%d", a->tier + 1);
        else
            snprintf(tier, sizeof tier, "-");
        const char *row[] = {no,
                             sk_cli_date_wd(a->date, day, sizeof day),
                             sk_money_format(a->paid, cur, pd, sizeof pd),
                             tier,
                             sk_cli_rate_pct(a->rate_ppm, rate, sizeof rate),
                             sk_money_format(a->discount, cur, disc, sizeof disc),
                             sk_money_format(a->settled, cur, set, sizeof set),
                             sk_money_format(a->unearned_discount, cur, unr, sizeof unr),
                             sk_money_format(a->balance_after, cur, bal, sizeof bal),
                             sk_money_format(a->overpaid, cur, over, sizeof over)};
        if (sk_cli_table_add(table, row) != 0) {
            sk_cli_table_destroy(&table);
            return sk_cli_fail(VERB, "out of memory");
        }
    }
    char b[48], p[48], d[48], u[48];
    sk_cli_sched_headline(s, stdout);
    s_windows_line(sc, stdout);
    fputc('\n', stdout);
    sk_cli_table_print(table, stdout);
    sk_cli_table_destroy(&table);
    fprintf(stdout, "\nbalance %s %s  (paid %s, discount earned %s, unearned discount %s",
            sk_money_format(balance, cur, b, sizeof b), cur->code,
            sk_money_format(paid, cur, p, sizeof p), sk_money_format(discount, cur, d, sizeof d),
            sk_money_format(unearned, cur, u, sizeof u));
    if (any_overpaid) {
        char o[48];
        fprintf(stdout, ", overpaid %s", sk_money_format(overpaid, cur, o, sizeof o));
    }
    fputs(")\n", stdout);
    return SK_EXIT_OK;
}

int sk_cmd_settle(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return sk_cli_finish(VERB);
    }
    sk_cli_sched_args_t args = {0};
    bool json = false;
    /* At most one payment per argument: argc bounds the count. */
    const char **texts = calloc((size_t)(argc > 0 ? argc : 1), sizeof *texts);
    if (!texts)
        return sk_cli_fail(VERB, "out of memory");
    int npay = 0, rc = SK_EXIT_OK;
    sk_cli_scan_t scan;
    sk_cli_scan_init(&scan, VERB, s_opts, argc, argv);
    for (;;) {
        const char *value;
        int idx = sk_cli_scan_next(&scan, &value);
        if (idx == SK_CLI_END)
            break;
        if (idx == SK_CLI_BAD) {
            rc = SK_EXIT_USAGE;
            break;
        }
        if (idx == SK_CLI_WORD) {
            rc = sk_cli_usage_error(VERB,
                                    "unexpected argument \"%.60s\" (every input is an "
                                    "option; try skontoctl settle --help)",
                                    value);
            break;
        }
        if (sk_cli_sched_take(&args, s_opts[idx].name, value))
            continue;
        if (!strcmp(s_opts[idx].name, "payment"))
            texts[npay++] = value;
        else if (!strcmp(s_opts[idx].name, "json"))
            json = true;
    }

    sk_cli_sched_t sched;
    if (rc == SK_EXIT_OK)
        rc = sk_cli_sched_build(VERB, &args, &sched);
    if (rc == SK_EXIT_OK && npay == 0)
        rc = sk_cli_usage_error(VERB, "missing --payment DATE:AMOUNT[:full], e.g. --payment "
                                      "2020-06-28:294.00 (try skontoctl settle --help)");

    sk_applied_t *applied = NULL;
    int64_t balance = 0;
    if (rc == SK_EXIT_OK) {
        applied = calloc((size_t)npay, sizeof *applied);
        if (!applied)
            rc = sk_cli_fail(VERB, "out of memory");
        balance = sched.schedule.amount;
    }
    for (int i = 0; i < npay && rc == SK_EXIT_OK; i++) {
        sk_payment_t p;
        rc = s_parse_payment(texts[i], &sched.schedule, &p);
        if (rc != SK_EXIT_OK)
            break;
        if (i > 0 && p.date < applied[i - 1].date) {
            char prev[16];
            rc = sk_cli_opt_error(VERB, "payment", texts[i],
                                  "dated before the previous payment (%s): give payments in date "
                                  "order",
                                  sk_date_format(applied[i - 1].date, prev, sizeof prev));
            break;
        }
        sk_err_t err;
        if (sk_settle_apply(&sched.schedule, &balance, &p, &applied[i], &err) != 0)
            rc = sk_cli_opt_err(VERB, "payment", texts[i], &err);
    }
    if (rc == SK_EXIT_OK)
        rc = json ? sk_cli_json_print(VERB, s_json(&sched.schedule, applied, npay, balance))
                  : s_table(&sched, applied, npay, balance);
    free(applied);
    free(texts);
    if (rc != SK_EXIT_OK)
        return rc;
    return sk_cli_finish(VERB);
}
