/* quote — `skontoctl quote`: one invoice's cash-discount windows from terms.
 *
 * Pure computation, no server: parses the schedule options (cli_sched), asks
 * the domain library for the schedule, and prints it as an aligned table or
 * as JSON. Every figure comes from sk_schedule_compute and, for the
 * effective and balance-point rates, from sk_policy; this file only formats
 * it (amounts stay int64 minor units down to their decimal string, rates
 * integers down to theirs, so no locale touches a number). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_sched.h"
#include "policy.h"

#define VERB "quote"

static const sk_cli_opt_t s_opts[] = {
    SK_CLI_SCHEDULE_OPTS,
    {"cost-of-capital", true, false},
    {"json", false, false},
    {NULL, false, false},
};

/* The rates quote adds to each tier of the schedule (see sk_policy). */
typedef struct {
    int32_t effective_vs_net_bp;
    int32_t balance_ppm;        /* with --cost-of-capital */
    int32_t balance_simple_ppm; /* with --cost-of-capital */
} s_tier_rates_t;

typedef struct {
    const sk_cli_sched_t *sched;
    bool has_cost;
    int32_t cost_ppm;
    s_tier_rates_t tiers[SK_TERMS_MAX_TIERS];
} s_quote_t;

static void s_rates(s_quote_t *q)
{
    const sk_schedule_t *sc = &q->sched->schedule;
    for (int i = 0; i < sc->ntiers; i++) {
        /* The schedule's invariants (rates below 100 %, last days before net)
         * keep these inside sk_policy's domain. */
        int days = (int)(sc->net_due - sc->tiers[i].last_day);
        s_tier_rates_t *r = &q->tiers[i];
        sk_policy_effective_bp(sc->tiers[i].rate_ppm, 0, days, &r->effective_vs_net_bp);
        if (q->has_cost) {
            sk_policy_balance_ppm(q->cost_ppm, days, &r->balance_ppm);
            sk_policy_balance_simple_ppm(q->cost_ppm, days, &r->balance_simple_ppm);
        }
    }
}

/* A balance rate (ppm, i.e. ten-thousandths of a percent) as a JSON number
 * with 4 decimals: 4208 -> 0.4208. The double only carries the digits to the
 * output; 15 significant digits print them back exactly. */
static json_t *s_json_pct4(int32_t ppm)
{
    return json_real(ppm / 10000.0);
}

/* The same for the table, in integers: 4208 -> "0.4208%". */
static char *s_pct4(int32_t ppm, char *buf, size_t n)
{
    snprintf(buf, n, "%d.%04d%%", (int)(ppm / 10000), (int)(ppm % 10000));
    return buf;
}

static void s_help(FILE *out)
{
    fputs("usage: skontoctl quote --terms TERMS --baseline DATE --amount AMOUNT [--currency CODE]\n"
          "         [--tax AMOUNT] [--discount-base gross|net] [--grace-days N]\n"
          "         [--business-days [--holidays FILE]] [--rounding half-up|half-even]\n"
          "         [--cost-of-capital PCT] [--json]\n"
          "\n"
          "Shows what an invoice's payment terms are worth: for each discount tier, the last\n"
          "day a payment still earns it, the discount, what the customer then pays, and the\n"
          "annual rate that discount costs you. Pure computation: no server is needed.\n"
          "Options may also be written --option=value.\n"
          "\n",
          out);
    sk_cli_sched_help(out);
    fputs("\n"
          "rates:\n"
          "  --cost-of-capital PCT\n"
          "                       what money costs you, in percent a year (8 for 8 %, at\n"
          "                       most 4 decimals, above 0 and below 100); adds each\n"
          "                       tier's balance rate and simple balance rate\n"
          "\n"
          "output:\n"
          "  --json               print JSON instead of the table:\n"
          "                       {\"currency\", \"amount\", \"discount_base\", \"baseline\",\n"
          "                        \"net_due\", [\"cost_of_capital\",] \"tiers\": [{\"rate\",\n"
          "                        \"last_day\", \"discount\", \"payable\", \"apr_vs_net\",\n"
          "                        \"apr_effective_vs_net\", \"apr_vs_next\"[, \"balance_rate\",\n"
          "                        \"balance_rate_simple\"]}]}\n"
          "                       amounts are decimal strings (\"1130.00\", JPY \"999\"), rate\n"
          "                       and cost_of_capital the percent as a string (\"0.5\"),\n"
          "                       dates YYYY-MM-DD, the annual rates percent numbers with 2\n"
          "                       decimals (37.24), the balance rates percent numbers with\n"
          "                       4 decimals (0.4208); the keys in [] only with\n"
          "                       --cost-of-capital\n"
          "  --help, -h           this text\n"
          "\n"
          "The table has one row per tier (numbered from 1) and a last row for the net due\n"
          "date. APR vs net is the nominal annual rate (365-day year) of granting the tier\n"
          "instead of being paid on the net due date: r/(1-r) x 365 / days between them.\n"
          "Effective vs net is the same rate compounded, as a bank quotes a loan:\n"
          "(1/(1-r))^(365/days) - 1, the yearly return of a customer who takes the discount\n"
          "every time. APR vs next compares the tier with the next one (or net for the\n"
          "last tier). Compare them with your cost of capital: above it, the discount\n"
          "costs you more than waiting for the money.\n"
          "With --cost-of-capital K, the balance rate is the largest discount worth granting\n"
          "for being paid on the tier's last day instead of at net: what the money is worth\n"
          "those days earlier, 1 - (1+K)^(-days/365). The simple balance rate is the same\n"
          "with simple interest, x/(1+x) with x = K x days/365. A tier whose rate is above\n"
          "its balance rate costs more than the earlier cash is worth.\n"
          "\n"
          "example:\n"
          "  skontoctl quote --terms 2/0,1/10,0.5/30,n/60 --baseline 2026-11-02 \\\n"
          "      --amount 1130.00 --tax 130.00\n"
          "  skontoctl quote --terms 2/10,n/30 --baseline 2026-11-02 --amount 100.00 \\\n"
          "      --cost-of-capital 8     (balance rate 0.4208%, simple 0.4364%)\n"
          "\n"
          "exit status: 0 done, 2 invalid input (one line on stderr says what is wrong).\n",
          out);
}

static json_t *s_json(const s_quote_t *q)
{
    const sk_schedule_t *sc = &q->sched->schedule;
    json_t *tiers = json_array();
    if (!tiers)
        return NULL;
    for (int i = 0; i < sc->ntiers; i++) {
        const sk_schedule_tier_t *t = &sc->tiers[i];
        const s_tier_rates_t *r = &q->tiers[i];
        /* one key and its value a line */
        /* clang-format off */
        json_t *row = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                                "rate", sk_cli_json_rate(t->rate_ppm),
                                "last_day", sk_cli_json_date(t->last_day),
                                "discount", sk_cli_json_money(t->discount, sc->currency),
                                "payable", sk_cli_json_money(t->payable, sc->currency),
                                "apr_vs_net", sk_cli_json_bp(t->apr_vs_net_bp),
                                "apr_effective_vs_net", sk_cli_json_bp(r->effective_vs_net_bp),
                                "apr_vs_next", sk_cli_json_bp(t->apr_vs_next_bp));
        /* clang-format on */
        if (row && q->has_cost &&
            (json_object_set_new(row, "balance_rate", s_json_pct4(r->balance_ppm)) != 0 ||
             json_object_set_new(row, "balance_rate_simple", s_json_pct4(r->balance_simple_ppm)) !=
                 0)) {
            json_decref(row);
            row = NULL;
        }
        if (!row || json_array_append_new(tiers, row) != 0) {
            json_decref(tiers);
            return NULL;
        }
    }
    /* clang-format off */
    json_t *root = json_pack("{s:s, s:o, s:o, s:o, s:o}",
                             "currency", sc->currency->code,
                             "amount", sk_cli_json_money(sc->amount, sc->currency),
                             "discount_base", sk_cli_json_money(sc->discount_base, sc->currency),
                             "baseline", sk_cli_json_date(sc->baseline),
                             "net_due", sk_cli_json_date(sc->net_due));
    /* clang-format on */
    if (!root ||
        (q->has_cost &&
         json_object_set_new(root, "cost_of_capital", sk_cli_json_rate(q->cost_ppm)) != 0) ||
        json_object_set_new(root, "tiers", tiers) != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int s_table(const s_quote_t *q)
{
    const sk_schedule_t *sc = &q->sched->schedule;
    static const char *const headers[] = {
        "tier",       "rate",        "last day",    "discount",     "payable",
        "APR vs net", "eff. vs net", "APR vs next", "balance rate", "balance simple"};
    int ncols = q->has_cost ? 10 : 8;
    sk_cli_table_t *table =
        sk_cli_table_new(ncols, headers, q->has_cost ? "rrlrrrrrrr" : "rrlrrrrr");
    if (!table)
        return sk_cli_fail(VERB, "out of memory");
    int rc = 0;
    char no[16], rate[24], day[24], disc[48], pay[48], vs_net[24], eff[24], vs_next[24], bal[24],
        bal_simple[24];
    for (int i = 0; i < sc->ntiers && rc == 0; i++) {
        const sk_schedule_tier_t *t = &sc->tiers[i];
        const s_tier_rates_t *r = &q->tiers[i];
        snprintf(no, sizeof no, "%d", i + 1);
        const char *row[] = {no,
                             sk_cli_rate_pct(t->rate_ppm, rate, sizeof rate),
                             sk_cli_date_wd(t->last_day, day, sizeof day),
                             sk_money_format(t->discount, sc->currency, disc, sizeof disc),
                             sk_money_format(t->payable, sc->currency, pay, sizeof pay),
                             sk_cli_bp_pct(t->apr_vs_net_bp, vs_net, sizeof vs_net),
                             sk_cli_bp_pct(r->effective_vs_net_bp, eff, sizeof eff),
                             sk_cli_bp_pct(t->apr_vs_next_bp, vs_next, sizeof vs_next),
                             s_pct4(r->balance_ppm, bal, sizeof bal),
                             s_pct4(r->balance_simple_ppm, bal_simple, sizeof bal_simple)};
        rc = sk_cli_table_add(table, row);
    }
    if (rc == 0) {
        const char *row[] = {"net",
                             "0%",
                             sk_cli_date_wd(sc->net_due, day, sizeof day),
                             sk_money_format(0, sc->currency, disc, sizeof disc),
                             sk_money_format(sc->amount, sc->currency, pay, sizeof pay),
                             "-",
                             "-",
                             "-",
                             "-",
                             "-"};
        rc = sk_cli_table_add(table, row);
    }
    if (rc != 0) {
        sk_cli_table_destroy(&table);
        return sk_cli_fail(VERB, "out of memory");
    }
    sk_cli_sched_headline(q->sched, stdout);
    if (q->has_cost)
        printf("cost of capital %s a year\n", sk_cli_rate_pct(q->cost_ppm, rate, sizeof rate));
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
    const char *cost = NULL;
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
        else if (!strcmp(s_opts[idx].name, "cost-of-capital"))
            cost = value;
    }

    sk_cli_sched_t sched;
    int rc = sk_cli_sched_build(VERB, &args, &sched);
    if (rc != SK_EXIT_OK)
        return rc;
    s_quote_t q = {.sched = &sched, .has_cost = cost != NULL};
    /* The option names the value; the rule says what would be accepted. */
    if (cost && sk_policy_cost_parse(cost, &q.cost_ppm, NULL) != 0)
        return sk_cli_opt_error(VERB, "cost-of-capital", cost, "want %s", SK_POLICY_COST_RULE);
    s_rates(&q);
    rc = json ? sk_cli_json_print(VERB, s_json(&q)) : s_table(&q);
    if (rc != SK_EXIT_OK)
        return rc;
    return sk_cli_finish(VERB);
}
