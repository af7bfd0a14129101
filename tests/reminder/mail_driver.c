/* mail_driver — a test program (not a worker): renders one reminder per
 * argument and delivers them, in order, through one sk_mailer, so
 * tests/e2e/test_remindmail.py can watch a real SMTP server (or a maildir)
 * receive them.
 *
 *   mail_driver LOCALE:ADDRESS ...
 *
 * Delivery comes from the environment as the worker's will (SKONTO_SMTP_URL,
 * SKONTO_SMTP_*, SKONTO_MAILDIR, SKONTO_MAIL_FROM, SKONTO_MAIL_REPLY_TO).
 * The k-th mail is for invoice SO-<k> (the fixtures' amounts, the currency
 * of the locale: zh-CN CNY, de-DE EUR, else USD) with Message-ID
 * reminder.SO-<k>.1@skonto.test. One JSON line per mail on stdout:
 *   {"rcpt":..., "message_id":..., "outcome":"sent|retry|permanent|ambiguous",
 *    "code":250, "connects":0, "detail":"..."}
 * Exit 0 when every mail got an outcome, 2 on a setup error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "notice.h"
#include "sk_mailer.h"
#include "sk_mime.h"

/* detail as a JSON string body: quotes, backslashes and controls escaped */
static void s_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    sk_err_t e = {0};
    sk_mailer_opts_t o;
    if (argc < 2) {
        fprintf(stderr, "usage: mail_driver LOCALE:ADDRESS ...\n");
        return 2;
    }
    if (sk_mailer_opts_from_env(&o, NULL, &e) != 0) {
        fprintf(stderr, "mail_driver: %s\n", e.msg);
        return 2;
    }
    char from[320];
    sk_mailer_t *m = sk_mailer_new(&o, &e);
    reminder_notice_t *n = m ? reminder_notice_new(&e) : NULL;
    if (!m || !n || sk_mime_addr_spec(o.from, from, sizeof from, &e) != 0) {
        fprintf(stderr, "mail_driver: %s\n", e.msg);
        sk_mailer_destroy(&m);
        reminder_notice_destroy(&n);
        return 2;
    }
    int rc = 0;
    for (int k = 1; k < argc; k++) {
        char locale[40], order[32], id[64], unsub[400];
        const char *colon = strchr(argv[k], ':');
        if (!colon || colon - argv[k] >= (int)sizeof locale) {
            fprintf(stderr, "mail_driver: %s: want LOCALE:ADDRESS\n", argv[k]);
            rc = 2;
            break;
        }
        snprintf(locale, sizeof locale, "%.*s", (int)(colon - argv[k]), argv[k]);
        const char *rcpt = colon + 1;
        const char *cur = strcmp(reminder_notice_lang(locale), "zh-CN") == 0 ? "CNY"
                          : strncmp(locale, "de", 2) == 0              ? "EUR"
                                                                       : "USD";
        snprintf(order, sizeof order, "SO-%d", k);
        snprintf(id, sizeof id, "reminder.%s.1@skonto.test", order);
        snprintf(unsub, sizeof unsub, "mailto:%s?subject=unsubscribe", from);
        reminder_letter_t r = reminder_fx_reminder(locale, "李伟 & Partners", cur);
        r.invoice.order_id = order;
        r.customer.email = rcpt;
        reminder_mail_t nm;
        char *bytes = NULL;
        size_t len = 0;
        if (reminder_notice_reminder(n, &r, &nm, &e) != 0) {
            fprintf(stderr, "mail_driver: %s\n", e.msg);
            rc = 2;
            break;
        }
        sk_mime_mail_t mail = {.from = o.from,
                               .reply_to = o.reply_to,
                               .to = rcpt,
                               .to_name = r.customer.name,
                               .subject = nm.subject,
                               .message_id = id,
                               .unsubscribe = unsub,
                               .date_unix = 1762678800,
                               .text = nm.text,
                               .html = nm.html};
        int built = sk_mime_build(&mail, &bytes, &len, &e);
        reminder_mail_free(&nm);
        if (built != 0) {
            fprintf(stderr, "mail_driver: %s\n", e.msg);
            rc = 2;
            break;
        }
        sk_send_result_t res;
        sk_mailer_send(m, from, rcpt, bytes, len, &res);
        free(bytes);
        printf("{\"rcpt\":");
        s_json_str(rcpt);
        printf(",\"message_id\":\"%s\",\"outcome\":\"%s\",\"code\":%ld,\"connects\":%ld,"
               "\"detail\":",
               id, sk_send_outcome_name(res.outcome), res.smtp_code, res.connects);
        s_json_str(res.detail);
        printf("}\n");
        fflush(stdout);
    }
    reminder_notice_destroy(&n);
    sk_mailer_destroy(&m);
    return rc;
}
