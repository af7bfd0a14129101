/* Tests of services/reminder/notice: golden files of every template (what
 * the customer reads, byte for byte: tests/reminder/golden/), which
 * templates a locale gets, amounts in the customer's own locale inside an
 * English mail, the statement's order and savings.
 *
 * SK_GOLDEN_UPDATE=1 rewrites the golden files from the current output
 * (then read the diff before committing it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "notice.h"

static reminder_notice_t *s_n;

static int s_setup(void **state)
{
    (void)state;
    sk_err_t e = {0};
    s_n = reminder_notice_new(&e);
    if (!s_n)
        fprintf(stderr, "reminder_notice_new: %s\n", e.msg);
    return s_n ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    reminder_notice_destroy(&s_n);
    return 0;
}

/* Compares got with golden file name (or rewrites it with SK_GOLDEN_UPDATE=1). */
static void s_golden(const char *name, const char *got)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SK_GOLDEN_DIR, name);
    const char *upd = getenv("SK_GOLDEN_UPDATE");
    if (upd && strcmp(upd, "1") == 0) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: missing (SK_GOLDEN_UPDATE=1 writes it)", path);
    static char want[65536];
    size_t n = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[n] = '\0';
    if (strcmp(want, got) != 0)
        fail_msg("%s differs from what was rendered:\n%s", path, got);
}

static void s_golden_mail(const char *kind, const reminder_mail_t *m)
{
    char name[64], *txt;
    snprintf(name, sizeof name, "%s.%s.txt", kind, m->lang);
    size_t len = strlen(m->subject) + strlen(m->text) + 16;
    txt = malloc(len);
    snprintf(txt, len, "Subject: %s\n\n%s", m->subject, m->text);
    s_golden(name, txt);
    free(txt);
    snprintf(name, sizeof name, "%s.%s.html", kind, m->lang);
    s_golden(name, m->html);
}

/* r rendered, or the test fails with the notice's message. */
static reminder_mail_t s_reminder(const reminder_letter_t *r)
{
    reminder_mail_t m;
    sk_err_t e = {0};
    if (reminder_notice_reminder(s_n, r, &m, &e) != 0)
        fail_msg("reminder_notice_reminder: %s", e.msg);
    return m;
}

static void test_lang(void **state)
{
    (void)state;
    assert_string_equal(reminder_notice_lang("zh-CN"), "zh-CN");
    assert_string_equal(reminder_notice_lang("zh"), "zh-CN");
    assert_string_equal(reminder_notice_lang("zh_CN"), "zh-CN");
    assert_string_equal(reminder_notice_lang("zh-Hans-CN"), "zh-CN");
    assert_string_equal(reminder_notice_lang("zh-TW"), "en");
    assert_string_equal(reminder_notice_lang("zh-Hant"), "en");
    assert_string_equal(reminder_notice_lang("en-US"), "en");
    assert_string_equal(reminder_notice_lang("de-DE"), "en");
    assert_string_equal(reminder_notice_lang(""), "en");
    assert_string_equal(reminder_notice_lang(NULL), "en");
}

static void test_reminder_en(void **state)
{
    (void)state;
    /* a name with markup: escaped in the HTML, as written in the text */
    reminder_letter_t r = reminder_fx_reminder("en-US", "Lee & <Partners>", "USD");
    reminder_mail_t m = s_reminder(&r);
    assert_string_equal(m.lang, "en");
    assert_string_equal(m.subject,
                        "Invoice SO-1001: save $22.60 if paid by Monday, November 9, 2026");
    assert_non_null(strstr(m.html, "Lee &amp; &lt;Partners&gt;"));
    assert_non_null(strstr(m.text, "Dear Lee & <Partners>,"));
    s_golden_mail("reminder", &m);
    reminder_mail_free(&m);
}

static void test_reminder_zh(void **state)
{
    (void)state;
    reminder_letter_t r = reminder_fx_reminder("zh-CN", "李伟", "CNY");
    reminder_mail_t m = s_reminder(&r);
    assert_string_equal(m.lang, "zh-CN");
    assert_string_equal(m.subject, "发票 SO-1001：请于 2026年11月9日星期一 前付款，可节省 ¥22.60");
    assert_non_null(strstr(m.text, "只需支付 ¥1,107.40"));
    s_golden_mail("reminder", &m);
    reminder_mail_free(&m);
}

/* de-DE: the English mail, amounts as a German reads them, dates in English
 * in German order. */
static void test_reminder_other_locale(void **state)
{
    (void)state;
    reminder_letter_t r = reminder_fx_reminder("de-DE", "Müller GmbH", "EUR");
    r.invoice.n_windows = 1;
    reminder_mail_t m = s_reminder(&r);
    assert_string_equal(m.lang, "en");
    assert_string_equal(m.subject,
                        "Invoice SO-1001: save 22,60\u00a0€ if paid by Monday, 9 November 2026");
    assert_non_null(strstr(m.text, "Pay 1.107,40\u00a0€ by then instead of 1.130,00\u00a0€"));
    assert_non_null(strstr(m.text, "the 2\u00a0% early-payment discount"));
    assert_null(strstr(m.text, "If you pay later")); /* one window: none after it */
    reminder_mail_free(&m);
}

static void test_reminder_refused(void **state)
{
    (void)state;
    reminder_letter_t r = reminder_fx_reminder("en-US", "Ann", "USD");
    reminder_mail_t m;
    sk_err_t e = {0};
    r.invoice.n_windows = 0;
    assert_int_equal(reminder_notice_reminder(s_n, &r, &m, &e), -1);
    assert_string_equal(e.code, "bad_notice");
    r = reminder_fx_reminder("en-US", "Ann", "USD");
    r.invoice.windows[1].last_day = r.invoice.windows[0].last_day;
    assert_int_equal(reminder_notice_reminder(s_n, &r, &m, &e), -1);
    assert_string_equal(e.code, "bad_notice");
    r = reminder_fx_reminder("en-US", "Ann", "XXX");
    assert_int_equal(reminder_notice_reminder(s_n, &r, &m, &e), -1);
    assert_string_equal(e.code, "bad_currency");
}

static void s_statement(const char *locale, const char *name, const char *cur)
{
    reminder_invoice_t inv[4];
    reminder_fx_statement_invoices(inv, cur);
    reminder_statement_t s = {
        .customer = {.id = "C-2", .name = name, .email = "c2@example.com", .locale = locale},
        .today = reminder_fx_day(2026, 11, 5),
        .invoices = inv,
        .n_invoices = 4};
    assert_true(reminder_statement_has_window(&s));
    reminder_mail_t m;
    sk_err_t e = {0};
    if (reminder_notice_statement(s_n, &s, &m, &e) != 0)
        fail_msg("%s", e.msg);
    /* soon first (SO-2 before SO-3), then SO-4, then SO-5 without a window */
    const char *p2 = strstr(m.text, "SO-2"), *p3 = strstr(m.text, "SO-3");
    const char *p4 = strstr(m.text, "SO-4"), *p5 = strstr(m.text, "SO-5");
    assert_true(p2 && p3 && p4 && p5 && p2 < p3 && p3 < p4 && p4 < p5);
    s_golden_mail("statement", &m);
    reminder_mail_free(&m);
}

static void test_statement_en(void **state)
{
    (void)state;
    s_statement("en-US", "Ann Lee", "USD");
}

static void test_statement_zh(void **state)
{
    (void)state;
    s_statement("zh-CN", "李伟", "CNY");
}

static void test_statement_without_window(void **state)
{
    (void)state;
    reminder_invoice_t inv = {
        .order_id = "SO-9", .currency = "USD", .amount = 100, .net_due = reminder_fx_day(2026, 11, 30)};
    reminder_statement_t s = {.customer = {.id = "C-3", .locale = "en"},
                        .today = 20000,
                        .invoices = &inv,
                        .n_invoices = 1};
    assert_false(reminder_statement_has_window(&s));
    s.n_invoices = 0;
    assert_false(reminder_statement_has_window(&s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang),
        cmocka_unit_test(test_reminder_en),
        cmocka_unit_test(test_reminder_zh),
        cmocka_unit_test(test_reminder_other_locale),
        cmocka_unit_test(test_reminder_refused),
        cmocka_unit_test(test_statement_en),
        cmocka_unit_test(test_statement_zh),
        cmocka_unit_test(test_statement_without_window),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
