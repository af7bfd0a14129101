/* skonto-bench-mail — how many reminder mails per second Skonto's mail path
 * delivers (issue 8): build-release/bin/skonto-bench-mail [mails [SAMPLE_FILE]]
 *
 * Delivery comes from the environment exactly as the reminder worker's does
 * (sk_mailer_opts_from_env: SKONTO_SMTP_URL, else SKONTO_MAILDIR), so the
 * figure is the worker's path: one sk_mailer, one SMTP connection reused from
 * mail to mail. bench/remind.sh runs it against a local aiosmtpd sink and into
 * a maildir.
 *
 * Two phases, so the figure says which side limits:
 *   1. render + MIME: every mail rendered from the templates (notice, en and
 *      zh-CN alternating, each with its own order id and Message-ID) and built
 *      with GMime (sk_mime_build), kept in memory;
 *   2. delivery: the built mails handed to sk_mailer_send one after another.
 * Prints one line per phase (per mail and per second), the end-to-end rate
 * (1 / (render + delivery) per mail), how many connections the deliveries
 * opened (1: reused throughout) and the outcomes; exits 1 if a mail was not
 * sent. With SAMPLE_FILE it writes the first built mail there (the
 * sink-alone client sends the same bytes). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "notice.h"
#include "sk_mailer.h"
#include "sk_mime.h"

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One reminder as the worker fills it: 1,130.00 on 2/7,1/17,n/30. */
static reminder_letter_t s_letter(long k, char *order, size_t n)
{
    snprintf(order, n, "SO-%07ld", k);
    bool zh = k % 2 == 0;
    reminder_letter_t r = {.customer = {.id = "C-1",
                                        .name = zh ? "李伟贸易有限公司" : "Acme Industrial Supply",
                                        .email = "ap@example.com",
                                        .locale = zh ? "zh-CN" : "en-US"},
                           .invoice = {.order_id = order,
                                       .currency = zh ? "CNY" : "USD",
                                       .amount = 113000,
                                       .net_due = sk_date_from_ymd(2026, 12, 2),
                                       .n_windows = 2}};
    r.invoice.windows[0] = (reminder_window_t){sk_date_from_ymd(2026, 11, 9), 20000, 2260, 110740};
    r.invoice.windows[1] = (reminder_window_t){sk_date_from_ymd(2026, 11, 19), 10000, 1130, 111870};
    return r;
}

int main(int argc, char **argv)
{
    long mails = argc > 1 ? atol(argv[1]) : 5000;
    if (mails < 1 || mails > 10000000) {
        fprintf(stderr, "usage: skonto-bench-mail [mails 1..10000000 [SAMPLE_FILE]]\n");
        return 2;
    }
    sk_err_t err = {0};
    sk_mailer_opts_t o;
    char from[320];
    if (sk_mailer_opts_from_env(&o, NULL, &err) != 0 ||
        sk_mime_addr_spec(o.from, from, sizeof from, &err) != 0) {
        fprintf(stderr, "skonto-bench-mail: %s\n", err.msg);
        return 2;
    }
    if (!o.smtp_url && !o.maildir) {
        fprintf(stderr, "skonto-bench-mail: set SKONTO_SMTP_URL or SKONTO_MAILDIR\n");
        return 2;
    }
    reminder_notice_t *notice = reminder_notice_new(&err);
    if (!notice) {
        fprintf(stderr, "skonto-bench-mail: %s\n", err.msg);
        return 2;
    }
    char **bytes = calloc((size_t)mails, sizeof *bytes);
    size_t *lens = calloc((size_t)mails, sizeof *lens);
    if (!bytes || !lens) {
        fprintf(stderr, "skonto-bench-mail: out of memory\n");
        return 2;
    }

    /* 1. render + MIME */
    size_t total_bytes = 0;
    double t0 = s_now();
    for (long k = 0; k < mails; k++) {
        char order[32], mid[64];
        reminder_letter_t r = s_letter(k, order, sizeof order);
        snprintf(mid, sizeof mid, "<r.bench%010ld@skonto.invalid>", k);
        reminder_mail_t nm;
        if (reminder_notice_reminder(notice, &r, &nm, &err) != 0) {
            fprintf(stderr, "skonto-bench-mail: %s\n", err.msg);
            return 2;
        }
        sk_mime_mail_t m = {.from = o.from,
                            .reply_to = o.reply_to,
                            .to = r.customer.email,
                            .to_name = r.customer.name,
                            .subject = nm.subject,
                            .message_id = mid,
                            .unsubscribe = "mailto:billing@example.com?subject=unsubscribe",
                            .date_unix = 1762678800,
                            .text = nm.text,
                            .html = nm.html};
        int rc = sk_mime_build(&m, &bytes[k], &lens[k], &err);
        reminder_mail_free(&nm);
        if (rc != 0) {
            fprintf(stderr, "skonto-bench-mail: %s\n", err.msg);
            return 2;
        }
        total_bytes += lens[k];
    }
    double build_s = s_now() - t0;
    const char *sample = argc > 2 ? argv[2] : NULL;
    if (sample && *sample) {
        FILE *f = fopen(sample, "wb");
        if (!f || fwrite(bytes[0], 1, lens[0], f) != lens[0] || fclose(f) != 0) {
            fprintf(stderr, "skonto-bench-mail: cannot write %s\n", sample);
            return 2;
        }
    }

    /* 2. delivery through one sk_mailer */
    sk_mailer_t *mailer = sk_mailer_new(&o, &err);
    if (!mailer) {
        fprintf(stderr, "skonto-bench-mail: %s\n", err.msg);
        return 2;
    }
    long outcomes[4] = {0}, connects = 0;
    char last_detail[256] = "";
    t0 = s_now();
    for (long k = 0; k < mails; k++) {
        sk_send_result_t res;
        sk_send_outcome_t out =
            sk_mailer_send(mailer, from, "ap@example.com", bytes[k], lens[k], &res);
        outcomes[out]++;
        connects += res.connects;
        if (out != SK_SEND_SENT)
            snprintf(last_detail, sizeof last_detail, "%s", res.detail);
    }
    double send_s = s_now() - t0;
    sk_mailer_destroy(&mailer);

    const char *where = o.smtp_url ? o.smtp_url : o.maildir;
    double per_build = build_s / (double)mails, per_send = send_s / (double)mails;
    printf("mails: %ld (en and zh-CN reminders, %zu bytes each on average) to %s %s\n", mails,
           total_bytes / (size_t)mails, o.smtp_url ? "SMTP" : "maildir", where);
    printf("  render + MIME (notice, sk_mime)       %8.1f us/mail %9.0f mails/s\n", per_build * 1e6,
           1.0 / per_build);
    printf("  delivery (sk_mailer_send)             %8.1f us/mail %9.0f mails/s\n", per_send * 1e6,
           1.0 / per_send);
    printf("  end to end (render + MIME + delivery) %8.1f us/mail %9.0f mails/s\n",
           (per_build + per_send) * 1e6, 1.0 / (per_build + per_send));
    if (o.smtp_url)
        printf("  connections opened: %ld (1 = one connection reused for every mail)\n", connects);
    printf("  outcomes: sent %ld, retry %ld, permanent %ld, ambiguous %ld%s%s\n", outcomes[0],
           outcomes[1], outcomes[2], outcomes[3], *last_detail ? "; last failure: " : "",
           last_detail);
    for (long k = 0; k < mails; k++)
        free(bytes[k]);
    free(bytes);
    free(lens);
    reminder_notice_destroy(&notice);
    return outcomes[0] == mails ? 0 : 1;
}
