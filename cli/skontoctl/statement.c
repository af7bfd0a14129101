/* statement — `skontoctl statement preview CUSTOMER [--html FILE] [--json]`:
 * the statement the reminder worker would send the customer now.
 *
 * "Now" is the stack's clock (SKONTO_CLOCK / SKONTO_TODAY, a simulated
 * instant read from Redis with redis); the customer's day is that instant's
 * day in the customer's zone. What it says is built by the worker's own code
 * (services/reminder/gather.h, then notice.h), so the preview and the mail
 * never disagree. Read-only: skontoctl's Redis user reads the customer, its
 * copen set and its invoices. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "gather.h"
#include "notice.h"
#include "sk_clock.h"
#include "sk_remind.h"

#define VERB "statement"
#define S_USAGE "skontoctl statement preview CUSTOMER_ID [--html FILE] [--json]"

static const sk_cli_opt_t s_opts[] = {
    {"html", true, false},
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out, "usage: " S_USAGE "\n"
                 "\n"
                 "Shows the statement the reminder worker would send the customer now: the\n"
                 "recipient, the subject and the text of the mail, in the customer's language,\n"
                 "with every open invoice and the discount windows still open on the customer's\n"
                 "local day (those closing in the next 7 days first, and what paying them in\n"
                 "time saves). Now is the stack's clock ($SKONTO_TODAY, else $SKONTO_CLOCK:\n"
                 "with redis the simulated instant, see skontoctl clock). Nothing is sent.\n"
                 "A customer without an open window gets no statement: said so, exit 0.\n"
                 "\n"
                 "options:\n"
                 "  --html FILE  also write the mail's HTML part to FILE\n"
                 "  --json       print as JSON: customer_id, to, name, locale, lang, timezone,\n"
                 "               today, opted_out, has_window, subject, text, invoices\n"
                 "               [{order_id, currency, amount, net_due, windows [{last_day,\n"
                 "               rate_ppm, discount, payable}]}] (amounts in minor units)\n"
                 "\n"
                 "Reads SKONTO_REDIS_URL (read-only) and the reminder settings\n"
                 "(SKONTO_DEFAULT_TZ for a customer without a zone). Exit 1 for an unknown\n"
                 "customer or an unreachable Redis, 2 for invalid usage.\n");
}

static json_t *s_invoices_json(const reminder_statement_t *st)
{
    json_t *a = json_array();
    char d[16];
    for (size_t i = 0; a && i < st->n_invoices; i++) {
        const reminder_invoice_t *inv = &st->invoices[i];
        json_t *ws = json_array();
        for (int k = 0; ws && k < inv->n_windows; k++) {
            const reminder_window_t *w = &inv->windows[k];
            json_array_append_new(ws,
                                  json_pack("{s:s,s:i,s:I,s:I}", "last_day",
                                            sk_date_format(w->last_day, d, sizeof d), "rate_ppm",
                                            (int)w->rate_ppm, "discount", (json_int_t)w->discount,
                                            "payable", (json_int_t)w->payable));
        }
        json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s,s:o}", "order_id", inv->order_id,
                                           "currency", inv->currency, "amount",
                                           (json_int_t)inv->amount, "net_due",
                                           sk_date_format(inv->net_due, d, sizeof d), "windows",
                                           ws ? ws : json_array()));
    }
    return a ? a : json_array();
}

static int s_print(const reminder_profile_t *p, const reminder_statement_t *st,
                   const reminder_mail_t *m, bool has_window, bool json)
{
    char today[16];
    sk_date_format(st->today, today, sizeof today);
    if (json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:o}", "customer_id",
                              p->id, "to", p->email, "name", p->name, "locale", p->locale, "lang",
                              reminder_notice_lang(p->locale), "timezone", sk_tz_id(p->tz), "today",
                              today, "opted_out", p->optout, "has_window", has_window, "subject",
                              m->subject, "text", m->text, "invoices", s_invoices_json(st));
        return sk_cli_json_print(VERB, o);
    }
    printf("To: %s%s<%s>\nSubject: %s\n", p->name, *p->name ? " " : "", p->email, m->subject);
    if (p->optout)
        printf("(the customer has opted out: no statement is sent)\n");
    if (!has_window)
        printf("(no discount window is open on %s: no statement is sent)\n", today);
    printf("\n%s", m->text);
    return SK_EXIT_OK;
}

static int s_write_html(const char *path, const char *html)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return sk_cli_fail(VERB, "--html %s: cannot open for writing", path);
    size_t n = strlen(html);
    bool ok = fwrite(html, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    return ok ? SK_EXIT_OK : sk_cli_fail(VERB, "--html %s: write failed", path);
}

int sk_cmd_statement(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *words[2] = {NULL, NULL}, *value, *html = NULL;
    int nwords = 0, o;
    bool json = false;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (sk_cli_show_word(VERB, S_USAGE, words, &nwords, value) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
        } else if (!strcmp(s_opts[o].name, "html")) {
            html = value;
        } else {
            json = true;
        }
    }
    if (nwords < 1 || strcmp(words[0], "preview") != 0)
        return sk_cli_usage_error(VERB, "usage: %s", S_USAGE);
    if (nwords < 2)
        return sk_cli_usage_error(VERB, "which customer? usage: %s", S_USAGE);
    if (!sk_cli_id_ok(words[1]))
        return sk_cli_usage_error(VERB, "customer id: at most 64 characters and 256 bytes, "
                                        "no control characters");
    sk_err_t err;
    sk_remind_settings_t set;
    sk_clock_t *clock = NULL;
    if (sk_remind_settings_load(&set, &err) != 0 || !(clock = sk_clock_new_env(&err)))
        return sk_cli_usage_error(VERB, "%s", err.msg);
    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c) {
        sk_clock_destroy(&clock);
        return SK_EXIT_FAIL;
    }
    int rc = SK_EXIT_OK;
    reminder_gathered_t *g = NULL;
    reminder_notice_t *n = NULL;
    reminder_mail_t m = {0};
    bool rendered = false;
    if (sk_clock_tick(clock, c, &err) != 0)
        rc = sk_cli_fail(VERB, "%s", err.msg);
    if (rc == SK_EXIT_OK &&
        !(g = reminder_statement_gather(c, words[1], &set, sk_clock_now(clock), &err)))
        rc = !strcmp(err.code, "no_customer") ? sk_cli_fail(VERB, "customer %s not found", words[1])
                                              : sk_cli_fail(VERB, "%s", err.msg);
    if (rc == SK_EXIT_OK &&
        (!(n = reminder_notice_new(&err)) ||
         reminder_notice_statement(n, reminder_gathered_statement(g), &m, &err) != 0))
        rc = sk_cli_fail(VERB, "%s", err.msg);
    else if (rc == SK_EXIT_OK)
        rendered = true;
    if (rc == SK_EXIT_OK && html)
        rc = s_write_html(html, m.html ? m.html : "");
    if (rc == SK_EXIT_OK) {
        const reminder_statement_t *st = reminder_gathered_statement(g);
        rc = s_print(reminder_gathered_profile(g), st, &m, reminder_statement_has_window(st), json);
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    if (rendered)
        reminder_mail_free(&m);
    reminder_notice_destroy(&n);
    reminder_gathered_destroy(&g);
    redisFree(c);
    sk_clock_destroy(&clock);
    return rc;
}
