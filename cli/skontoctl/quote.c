/* quote — `skontoctl quote`: one invoice's cash-discount windows from terms.
 *
 * Pure computation, no server: parses the schedule options (cli_sched), asks
 * the domain library for the schedule, and prints it as an aligned table or
 * as JSON. Every figure comes from sk_schedule_compute; this file only
 * formats it (amounts stay int64 minor units down to their decimal string). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_sched.h"

#define VERB "quote"

static const sk_cli_opt_t s_opts[] = {
    SK_CLI_SCHEDULE_OPTS,
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fputs("usage: skontoctl quote --terms TERMS --baseline DATE --amount AMOUNT [--currency CODE]\n"
          "         [--tax AMOUNT] [--discount-base gross|net] [--grace-days N]\n"
          "         [--business-days [--holidays FILE]] [--rounding half-up|half-even] [--json]\n"
          "\n"
          "Shows what an invoice's payment terms are worth: for each discount tier, the last\n"
          "day a payment still earns it, the discount, what the customer then pays, and the\n"
          "annual rate that discount costs you. Pure computation: no server is needed.\n"
          "Options may also be written --option=value.\n"
          "\n",
          out);
    sk_cli_sched_help(out);
    fputs(
        "\n"
        "output:\n"
        "  --json               print JSON instead of the table:\n"
        "                       {\"currency\", \"amount\", \"discount_base\", \"baseline\",\n"
        "                        \"net_due\", \"tiers\": [{\"rate\", \"last_day\", \"discount\",\n"
        "                        \"payable\", \"apr_vs_net\", \"apr_vs_next\"}]}\n"
        "                       amounts are decimal strings (\"1130.00\", JPY \"999\"), rate\n"
        "                       the percent as a string (\"0.5\"), dates YYYY-MM-DD, the\n"
        "                       annual rates numbers with 2 decimals (37.24)\n"
        "  --help, -h           this text\n"
        "\n"
        "The table has one row per tier (numbered from 1) and a last row for the net due\n"
        "date. APR vs net is the nominal annual rate (365-day year) of granting the tier\n"
        "instead of being paid on the net due date: r/(1-r) x 365 / days between them.\n"
        "APR vs next compares the tier with the next one (or net for the last tier).\n"
        "Compare them with your cost of capital: above it, the discount costs you more\n"
        "than waiting for the money.\n"
        "\n"
        "example:\n"
        "  skontoctl quote --terms 2/0,1/10,0.5/30,n/60 --baseline 2026-11-02 \\\n"
        "      --amount 1130.00 --tax 130.00\n"
        "\n"
        "exit status: 0 done, 2 invalid input (one line on stderr says what is wrong).\n",
        out);
}

static json_t *s_json(const sk_cli_sched_t *s)
{
    const sk_schedule_t *sc = &s->schedule;
    json_t *tiers = json_array();
    if (!tiers)
        return NULL;
    for (int i = 0; i < sc->ntiers; i++) {
        const sk_schedule_tier_t *t = &sc->tiers[i];
        /* one key and its value a line */
        /* clang-format off */
        json_t *row = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
                                "rate", sk_cli_json_rate(t->rate_ppm),
                                "last_day", sk_cli_json_date(t->last_day),
                                "discount", sk_cli_json_money(t->discount, sc->currency),
                                "payable", sk_cli_json_money(t->payable, sc->currency),
                                "apr_vs_net", sk_cli_json_bp(t->apr_vs_net_bp),
                                "apr_vs_next", sk_cli_json_bp(t->apr_vs_next_bp));
        /* clang-format on */
        if (!row || json_array_append_new(tiers, row) != 0) {
            json_decref(tiers);
            return NULL;
        }
    }
    /* clang-format off */
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
                     "currency", sc->currency->code,
                     "amount", sk_cli_json_money(sc->amount, sc->currency),
                     "discount_base", sk_cli_json_money(sc->discount_base, sc->currency),
                     "baseline", sk_cli_json_date(sc->baseline),
                     "net_due", sk_cli_json_date(sc->net_due),
                     "tiers", tiers);
    /* clang-format on */
}

static int s_table(const sk_cli_sched_t *s)
{
    const sk_schedule_t *sc = &s->schedule;
    static const char *const headers[] = {"tier",    "rate",       "last day",   "discount",
                                          "payable", "APR vs net", "APR vs next"};
    sk_cli_table_t *table = sk_cli_table_new(7, headers, "rrlrrrr");
    if (!table)
        return sk_cli_fail(VERB, "out of memory");
    int rc = 0;
    char no[16], rate[24], day[24], disc[48], pay[48], vs_net[24], vs_next[24];
    for (int i = 0; i < sc->ntiers && rc == 0; i++) {
        const sk_schedule_tier_t *t = &sc->tiers[i];
        snprintf(no, sizeof no, "%d", i + 1);
        const char *row[] = {no,
                             sk_cli_rate_pct(t->rate_ppm, rate, sizeof rate),
                             sk_cli_date_wd(t->last_day, day, sizeof day),
                             sk_money_format(t->discount, sc->currency, disc, sizeof disc),
                             sk_money_format(t->payable, sc->currency, pay, sizeof pay),
                             sk_cli_bp_pct(t->apr_vs_net_bp, vs_net, sizeof vs_net),
                             sk_cli_bp_pct(t->apr_vs_next_bp, vs_next, sizeof vs_next)};
        rc = sk_cli_table_add(table, row);
    }
    if (rc == 0) {
        const char *row[] = {"net",
                             "0%",
                             sk_cli_date_wd(sc->net_due, day, sizeof day),
                             sk_money_format(0, sc->currency, disc, sizeof disc),
                             sk_money_format(sc->amount, sc->currency, pay, sizeof pay),
                             "-",
                             "-"};
        rc = sk_cli_table_add(table, row);
    }
    if (rc != 0) {
        sk_cli_table_destroy(&table);
        return sk_cli_fail(VERB, "out of memory");
    }
    sk_cli_sched_headline(s, stdout);
    fputc('\n', stdout);
    sk_cli_table_print(table, stdout);
    sk_cli_table_destroy(&table);
    return SK_EXIT_OK;
}

int sk_cmd_quote(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return sk_cli_finish(VERB);
    }
    sk_cli_sched_args_t args = {0};
    bool json = false;
    sk_cli_scan_t scan;
    sk_cli_scan_init(&scan, VERB, s_opts, argc, argv);
    for (;;) {
        const char *value;
        int idx = sk_cli_scan_next(&scan, &value);
        if (idx == SK_CLI_END)
            break;
        if (idx == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (idx == SK_CLI_WORD)
            return sk_cli_usage_error(VERB,
                                      "unexpected argument \"%.60s\" (every input is an "
                                      "option; try skontoctl quote --help)",
                                      value);
        if (sk_cli_sched_take(&args, s_opts[idx].name, value))
            continue;
        if (!strcmp(s_opts[idx].name, "json"))
            json = true;
    }

    sk_cli_sched_t sched;
    int rc = sk_cli_sched_build(VERB, &args, &sched);
    if (rc != SK_EXIT_OK)
        return rc;
    rc = json ? sk_cli_json_print(VERB, s_json(&sched)) : s_table(&sched);
    if (rc != SK_EXIT_OK)
        return rc;
    return sk_cli_finish(VERB);
}
