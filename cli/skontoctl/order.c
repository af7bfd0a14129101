/* order — `skontoctl order show ID`: one invoice as Redis holds it.
 *
 * Reads the order index (sk:{oN}:o2c, order -> customer) to find the
 * customer's shard, then the invoice hash sk:{sN}:inv:<oid> that the discount
 * worker wrote, parsed by common/io/invoice. Nothing is recomputed here: what
 * is shown is exactly the stored schedule, payments and totals, so a person
 * sees what the system will act on. Read-only. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "invoice_store.h"
#include "keys.h"
#include "override_rules.h"
#include "sk_redis.h"

#define VERB "order"
#define S_USAGE "skontoctl order show ORDER_ID [--json]"

static const sk_cli_opt_t s_opts[] = {
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out, "usage: skontoctl order show ORDER_ID [--json]\n"
                 "\n"
                 "Shows one invoice as Skonto holds it: its discount schedule (each window's\n"
                 "rate, last day to pay, discount and the amount that settles it), the net due\n"
                 "date, the payments applied (the window each fell in, the discount it earned,\n"
                 "how much of the invoice it settled, and any unearned discount: a customer who\n"
                 "declared payment in full but paid less than the window allowed), credit\n"
                 "notes, the balance still open and the status (open, paid, cancelled).\n"
                 "\n"
                 "Tiers are numbered from 1 in the order they close; \"net\" is the due date\n"
                 "after every window. Amounts are in the invoice's currency. APR is the annual\n"
                 "rate the discount costs, against being paid at net or in the next window\n"
                 "(compare it with the cost of capital; see skontoctl quote --help).\n"
                 "\n"
                 "options:\n"
                 "  --json   print the invoice as JSON: amounts as decimal strings, dates\n"
                 "           YYYY-MM-DD, rates as percent strings (\"0.5\"); keys order_id,\n"
                 "           customer_id, salesperson, status, version, currency, amount, tax,\n"
                 "           terms, baseline, invoice_date, delivery_date, net_due,\n"
                 "           tiers [{tier, rate, last_day, discount, payable, apr_vs_net,\n"
                 "           apr_vs_next}], payments [{date, paid, full, tier, rate, discount,\n"
                 "           settled, unearned_discount, overpaid}], discount_earned,\n"
                 "           unearned_discount, credited, balance, revision (+1 on every\n"
                 "           change), forecast {by_history, at_net} (what the invoice adds to\n"
                 "           skontoctl forecast: {date, amount} or null); \"tier\" is the index\n"
                 "           into tiers (0 = the first window) or null for a payment after\n"
                 "           every window, as in skontoctl settle --json; overrides\n"
                 "           [{override_id, kind, tier, old_value, new_value, effect,\n"
                 "           requested_by, approved_by, applied_at (UTC), applied_at_ms,\n"
                 "           version, revision}]: every approved override applied to it\n"
                 "           (skontoctl override --help), in the order applied\n"
                 "\n"
                 "An unknown order is one line on stderr and exit status 1.\n"
                 "Environment: SKONTO_REDIS_URL (redis://host:port or unix:///path).\n");
}

/* Loads the invoice of order_id into inv: 0, or an exit status after one line on stderr. */
static int s_load(redisContext *c, const char *order_id, sk_invoice_t *inv)
{
    sk_err_t err;
    sk_err_clear(&err);
    if (sk_invoice_fetch(c, order_id, inv, &err) == 0)
        return SK_EXIT_OK;
    if (!strcmp(err.code, "unknown_order"))
        return sk_cli_fail(VERB, "order %s not found", order_id);
    if (!strcmp(err.code, "no_invoice"))
        return sk_cli_fail(VERB,
                           "order %s was accepted but has no schedule yet (is skonto-discount "
                           "running? see skontoctl status)",
                           order_id);
    if (!strcmp(err.code, "redis"))
        return sk_cli_fail(VERB, "Redis at %s: %s", sk_redis_url_env(), err.msg);
    return sk_cli_fail(VERB, "order %s: the stored invoice is malformed: %s", order_id, err.msg);
}

static json_t *s_json_day_or_null(sk_day_t d)
{
    return d >= 0 ? sk_cli_json_date(d) : json_null();
}

/* What the invoice now contributes to `skontoctl forecast`: {date, amount}, or null. */
static json_t *s_json_forecast(sk_day_t day, int64_t amount, const sk_currency_t *cur)
{
    if (amount <= 0)
        return json_null();
    return json_pack("{s:o, s:o}", "date", sk_cli_json_date(day), "amount",
                     sk_cli_json_money(amount, cur));
}

/* An instant in ms as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf. */
static const char *s_instant(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, n, "?");
    return buf;
}

/* The overrides applied to the invoice, as `order show --json` gives them. */
static json_t *s_json_overrides(const sk_invoice_t *inv)
{
    json_t *a = json_array();
    const sk_currency_t *cur = inv->schedule.currency;
    for (int i = 0; a && i < inv->noverrides; i++) {
        const sk_invoice_override_t *o = &inv->overrides[i];
        char at[32];
        json_t *tier = o->kind == SK_OVERRIDE_WAIVE ? json_null() : json_integer(o->tier);
        if (json_array_append_new(
                a, json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:i, s:I}",
                             "override_id", o->id, "kind",
                             sk_override_kind_name((sk_override_kind_t)o->kind), "tier", tier,
                             "old_value", o->old_value, "new_value", o->new_value, "effect",
                             sk_cli_json_money(o->effect, cur), "requested_by", o->requested_by,
                             "approved_by", o->approved_by, "applied_at",
                             s_instant(o->applied_at_ms, at, sizeof at), "applied_at_ms",
                             (json_int_t)o->applied_at_ms, "version", (int)o->version,
                             "revision", (json_int_t)o->revision)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *s_json_invoice(const sk_invoice_t *inv)
{
    const sk_schedule_t *s = &inv->schedule;
    const sk_currency_t *cur = s->currency;
    json_t *tiers = json_array(), *pays = json_array();
    json_t *root = json_object();
    int bad = !tiers || !pays || !root;
    if (bad) {
        json_decref(tiers);
        json_decref(pays);
        json_decref(root);
        return NULL;
    }
    for (int i = 0; i < s->ntiers; i++) {
        const sk_schedule_tier_t *t = &s->tiers[i];
        bad |= json_array_append_new(tiers,
                                     json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "tier", i,
                                               "rate", sk_cli_json_rate(t->rate_ppm), "last_day",
                                               sk_cli_json_date(t->last_day), "discount",
                                               sk_cli_json_money(t->discount, cur), "payable",
                                               sk_cli_json_money(t->payable, cur), "apr_vs_net",
                                               sk_cli_json_bp(t->apr_vs_net_bp), "apr_vs_next",
                                               sk_cli_json_bp(t->apr_vs_next_bp)));
    }
    for (int i = 0; i < inv->npayments; i++) {
        const sk_applied_t *p = &inv->payments[i];
        bad |= json_array_append_new(
            pays, json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "date",
                            sk_cli_json_date(p->date), "paid", sk_cli_json_money(p->paid, cur),
                            "full", inv->payment_full[i], "tier",
                            p->tier >= 0 ? json_integer(p->tier) : json_null(), "rate",
                            sk_cli_json_rate(p->tier >= 0 ? p->rate_ppm : 0), "discount",
                            sk_cli_json_money(p->discount, cur), "settled",
                            sk_cli_json_money(p->settled, cur), "unearned_discount",
                            sk_cli_json_money(p->unearned_discount, cur), "overpaid",
                            sk_cli_json_money(p->overpaid, cur)));
    }
    bad |= json_object_set_new(root, "order_id", json_string(inv->order_id));
    bad |= json_object_set_new(root, "customer_id", json_string(inv->customer_id));
    bad |= json_object_set_new(root, "salesperson", json_string(inv->salesperson));
    bad |= json_object_set_new(root, "status", json_string(sk_invoice_status_name(inv->status)));
    bad |= json_object_set_new(root, "version", json_integer(inv->version));
    bad |= json_object_set_new(root, "currency", json_string(cur->code));
    bad |= json_object_set_new(root, "amount", sk_cli_json_money(s->amount, cur));
    bad |= json_object_set_new(root, "tax", sk_cli_json_money(s->tax, cur));
    bad |= json_object_set_new(root, "terms", json_string(inv->terms));
    bad |= json_object_set_new(root, "baseline", sk_cli_json_date(s->baseline));
    bad |= json_object_set_new(root, "invoice_date", s_json_day_or_null(inv->invoice_date));
    bad |= json_object_set_new(root, "delivery_date", s_json_day_or_null(inv->delivery_date));
    bad |= json_object_set_new(root, "net_due", sk_cli_json_date(s->net_due));
    bad |= json_object_set_new(root, "tiers", tiers);
    bad |= json_object_set_new(root, "payments", pays);
    bad |=
        json_object_set_new(root, "discount_earned", sk_cli_json_money(inv->discount_total, cur));
    bad |=
        json_object_set_new(root, "unearned_discount", sk_cli_json_money(inv->unearned_total, cur));
    bad |= json_object_set_new(root, "credited", sk_cli_json_money(inv->credit_total, cur));
    bad |= json_object_set_new(root, "balance", sk_cli_json_money(inv->balance, cur));
    bad |= json_object_set_new(root, "revision", json_integer(inv->rev));
    json_t *ovr = s_json_overrides(inv);
    bad |= !ovr || json_object_set_new(root, "overrides", ovr);
    bad |= json_object_set_new(
        root, "forecast",
        json_pack("{s:o, s:o}", "by_history",
                  s_json_forecast(inv->fc_hist_day, inv->fc_hist_amount, cur), "at_net",
                  s_json_forecast(inv->fc_net_day, inv->fc_net_amount, cur)));
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int s_print_invoice(const sk_invoice_t *inv)
{
    const sk_schedule_t *s = &inv->schedule;
    const sk_currency_t *cur = s->currency;
    char a[40], b[40], c[40], d[40], e[40], f[40], g[40];

    printf("order %s   customer %s   salesperson %s   version %u   status %s\n", inv->order_id,
           inv->customer_id, inv->salesperson[0] ? inv->salesperson : "-", inv->version,
           sk_invoice_status_name(inv->status));
    printf("amount %s %s", sk_money_format(s->amount, cur, a, sizeof a), cur->code);
    if (s->tax)
        printf(" (tax %s)", sk_money_format(s->tax, cur, a, sizeof a));
    printf("   terms %s\n", inv->terms);
    printf("shipped %s", sk_cli_date_wd(s->baseline, a, sizeof a));
    if (inv->invoice_date >= 0)
        printf("   invoiced %s", sk_cli_date_wd(inv->invoice_date, a, sizeof a));
    if (inv->delivery_date >= 0)
        printf("   delivered %s", sk_cli_date_wd(inv->delivery_date, a, sizeof a));
    printf("   net due %s\n\n", sk_cli_date_wd(s->net_due, a, sizeof a));

    static const char *const sh[] = {"tier",    "rate",       "pay by",     "discount",
                                     "payable", "APR vs net", "APR vs next"};
    sk_cli_table_t *t = sk_cli_table_new(7, sh, "rrlrrrr");
    if (!t)
        return sk_cli_fail(VERB, "out of memory");
    int bad = 0;
    for (int i = 0; i < s->ntiers; i++) {
        const sk_schedule_tier_t *ti = &s->tiers[i];
        snprintf(a, sizeof a, "%d", i + 1);
        const char *row[] = {a,
                             sk_cli_rate_pct(ti->rate_ppm, b, sizeof b),
                             sk_cli_date_wd(ti->last_day, c, sizeof c),
                             sk_money_format(ti->discount, cur, d, sizeof d),
                             sk_money_format(ti->payable, cur, e, sizeof e),
                             sk_cli_bp_pct(ti->apr_vs_net_bp, f, sizeof f),
                             sk_cli_bp_pct(ti->apr_vs_next_bp, g, sizeof g)};
        bad |= sk_cli_table_add(t, row);
    }
    {
        const char *row[] = {"net",
                             "",
                             sk_cli_date_wd(s->net_due, c, sizeof c),
                             sk_money_format(0, cur, d, sizeof d),
                             sk_money_format(s->amount, cur, e, sizeof e),
                             "-",
                             "-"};
        bad |= sk_cli_table_add(t, row);
    }
    if (bad) {
        sk_cli_table_destroy(&t);
        return sk_cli_fail(VERB, "out of memory");
    }
    sk_cli_table_print(t, stdout);
    sk_cli_table_destroy(&t);

    if (inv->npayments) {
        printf("\npayments\n");
        static const char *const ph[] = {"date",     "paid",    "tier",     "rate",
                                         "discount", "settled", "unearned", "full"};
        t = sk_cli_table_new(8, ph, "lrrrrrrl");
        if (!t)
            return sk_cli_fail(VERB, "out of memory");
        for (int i = 0; i < inv->npayments; i++) {
            const sk_applied_t *p = &inv->payments[i];
            char tier[16];
            if (p->tier >= 0)
                snprintf(tier, sizeof tier, "%d", p->tier + 1);
            else
                snprintf(tier, sizeof tier, "net");
            const char *row[] = {sk_cli_date_wd(p->date, a, sizeof a),
                                 sk_money_format(p->paid, cur, b, sizeof b),
                                 tier,
                                 sk_cli_rate_pct(p->tier >= 0 ? p->rate_ppm : 0, c, sizeof c),
                                 sk_money_format(p->discount, cur, d, sizeof d),
                                 sk_money_format(p->settled, cur, e, sizeof e),
                                 sk_money_format(p->unearned_discount, cur, f, sizeof f),
                                 inv->payment_full[i] ? "yes" : "no"};
            bad |= sk_cli_table_add(t, row);
        }
        if (bad) {
            sk_cli_table_destroy(&t);
            return sk_cli_fail(VERB, "out of memory");
        }
        sk_cli_table_print(t, stdout);
        sk_cli_table_destroy(&t);
    } else {
        printf("\nno payments yet\n");
    }
    printf("\ndiscount earned %s   unearned %s   credited %s\n",
           sk_money_format(inv->discount_total, cur, a, sizeof a),
           sk_money_format(inv->unearned_total, cur, b, sizeof b),
           sk_money_format(inv->credit_total, cur, c, sizeof c));
    printf("balance %s %s\n", sk_money_format(inv->balance, cur, a, sizeof a), cur->code);
    if (inv->noverrides) {
        printf("\noverrides (approved and applied)\n");
        for (int i = 0; i < inv->noverrides; i++) {
            const sk_invoice_override_t *o = &inv->overrides[i];
            char tier[24] = "";
            if (o->kind == SK_OVERRIDE_EXTEND || o->kind == SK_OVERRIDE_RATE)
                snprintf(tier, sizeof tier, " tier %d", o->tier + 1);
            else if (o->kind == SK_OVERRIDE_GRANT) /* its values name the tiers */
                snprintf(tier, sizeof tier, " payment %d", o->payment + 1);
            printf("  %s  %s%s: %s -> %s, effect %s %s; requested by %s, approved by %s, "
                   "applied %s (revision %lld)\n",
                   o->id, sk_override_kind_name((sk_override_kind_t)o->kind), tier,
                   o->old_value, o->new_value, sk_money_format(o->effect, cur, a, sizeof a),
                   cur->code, o->requested_by, o->approved_by,
                   s_instant(o->applied_at_ms, b, sizeof b), (long long)o->revision);
        }
    }
    return SK_EXIT_OK;
}

int sk_cmd_order(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *words[2] = {NULL, NULL}, *value;
    int nwords = 0, o;
    bool json = false;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (sk_cli_show_word(VERB, S_USAGE, words, &nwords, value) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
        } else {
            json = true;
        }
    }
    if (sk_cli_show_check(VERB, S_USAGE, words, nwords) != SK_EXIT_OK)
        return SK_EXIT_USAGE;

    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    sk_invoice_t *inv = calloc(1, sizeof *inv);
    int rc = inv ? s_load(c, words[1], inv) : sk_cli_fail(VERB, "out of memory");
    redisFree(c);
    if (rc == SK_EXIT_OK) {
        if (json)
            rc = sk_cli_json_print(VERB, s_json_invoice(inv));
        else
            rc = s_print_invoice(inv);
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    free(inv);
    return rc;
}
