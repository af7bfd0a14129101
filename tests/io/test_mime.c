/* Tests of common/io/sk_mime: the mail a customer's client receives, parsed
 * back with GMime — headers, the subject in Chinese, charset, 7-bit transfer
 * encodings, CRLF everywhere, line lengths — and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "sk_mime.h"

/* spaced as the zh-CN templates are: GMime splits encoded words at spaces */
#define S_SUBJECT "发票 SO-1001：请于 2026年11月9日星期一 前付款，可节省 ¥22.60（现金折扣 2%）"
/* one long run without a space, as Chinese is usually written */
#define S_SUBJECT_RUN                                                                              \
    "发票SO-1001：2026年11月9日星期一前付款可节省¥22.60，现金折扣2%，逾期将按全额付款"

static char s_text[4096], s_html[4096];

static sk_mime_mail_t s_mail(void)
{
    /* a line of 300 characters: a client must still see it whole */
    char line[1000] = "";
    for (int i = 0; i < 30; i++)
        strcat(line, "现金折扣 Skonto ");
    snprintf(s_text, sizeof s_text, "李伟，您好：\n\n%s\n支付 ¥1,107.40\n", line);
    snprintf(s_html, sizeof s_html, "<p>李伟 &amp; Co</p>\n<p>%s</p>\n", line);
    return (sk_mime_mail_t){
        .from = "Skonto Billing <billing@example.com>",
        .reply_to = "Sales <sales@example.com>",
        .to = "li.wei@example.cn",
        .to_name = "李伟",
        .subject = S_SUBJECT,
        .message_id = "r.SO-1001.1.20401.3@skonto.example.com",
        .unsubscribe = "mailto:billing@example.com?subject=unsubscribe%20C-1",
        .date_unix = 1762678800, /* 2025-11-09T09:00:00Z */
        .text = s_text,
        .html = s_html,
    };
}

/* m built, or the test fails with sk_mime's message. */
static char *s_build(const sk_mime_mail_t *m, size_t *len)
{
    char *buf = NULL;
    sk_err_t e = {0};
    if (sk_mime_build(m, &buf, len, &e) != 0)
        fail_msg("sk_mime_build: %s", e.msg);
    return buf;
}

static GMimeMessage *s_parse(const char *buf, size_t len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(buf, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(st);
    assert_non_null(m);
    return m;
}

static char *s_part_text(GMimeObject *part)
{
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
    GMimeStream *out = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, out); /* decodes QP / base64 */
    GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
    char *s = malloc(b->len + 1);
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != '\r') /* the wire form has CRLF; compare the text */
            s[n++] = (char)b->data[i];
    s[n] = '\0';
    g_object_unref(out);
    return s;
}

/* The subject as RFC 2047 says to read it: each encoded word decoded on its
 * own, the folding white space between two encoded words dropped. (GMime
 * 3.2.13's own reader concatenates adjacent base64 words before decoding and
 * so drops every word after one that ends in '=' padding; Python's email
 * package and mail clients decode word by word: tests/e2e/test_remindmail.py.) */
static char *s_subject_by_words(const char *mail)
{
    const char *h = strstr(mail, "\r\nSubject: ");
    assert_non_null(h);
    h += 11;
    static char out[2048];
    out[0] = '\0';
    for (;;) {
        size_t n = strcspn(h, " \r");
        char word[1024];
        assert_true(n < sizeof word);
        memcpy(word, h, n);
        word[n] = '\0';
        assert_int_equal(strncmp(word, "=?UTF-8?", 8), 0);
        char *d = g_mime_utils_header_decode_text(NULL, word);
        strcat(out, d);
        g_free(d);
        h += n;
        if (strncmp(h, "\r\n ", 3) == 0)
            h += 3;
        else if (*h == ' ')
            h++;
        else
            break;
    }
    return out;
}

/* Every byte 7-bit, every line ending CRLF; the longest line's length. */
static size_t s_check_wire(const char *buf, size_t len)
{
    size_t col = 0, longest = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        assert_true(c < 0x80 && c != 0);
        if (c == '\n') {
            assert_true(i > 0 && buf[i - 1] == '\r');
            col = 0;
        } else if (c == '\r') {
            assert_true(i + 1 < len && buf[i + 1] == '\n');
        } else if (++col > longest) {
            longest = col;
        }
    }
    return longest;
}

/* A long Chinese subject without spaces: GMime cannot fold inside it and
 * writes encoded words longer than RFC 2047's 75 characters (lines of ~90),
 * still far inside the 998 every server takes, and still readable word by word. */
static void test_long_cjk_subject(void **state)
{
    (void)state;
    sk_mime_mail_t m = s_mail();
    m.subject = S_SUBJECT_RUN;
    size_t len = 0;
    char *buf = s_build(&m, &len);
    assert_true(s_check_wire(buf, len) <= 998);
    assert_string_equal(s_subject_by_words(buf), S_SUBJECT_RUN);
    free(buf);
}

static void test_wire_form(void **state)
{
    (void)state;
    sk_mime_mail_t m = s_mail();
    size_t len = 0;
    char *buf = s_build(&m, &len);
    assert_int_equal(strlen(buf), len);
    /* 7-bit, CRLF only, no line over 78 characters (RFC 5322's SHOULD; 998 MUST) */
    assert_true(s_check_wire(buf, len) <= 78);
    /* the raw subject is RFC 2047 encoded words of UTF-8 */
    assert_non_null(strstr(buf, "Subject: =?UTF-8?"));
    assert_string_equal(s_subject_by_words(buf), S_SUBJECT);
    assert_non_null(strstr(buf, "Message-Id: <r.SO-1001.1.20401.3@skonto.example.com>") ||
                    strstr(buf, "Message-ID: <r.SO-1001.1.20401.3@skonto.example.com>"));
    free(buf);
}

static void test_parsed_back(void **state)
{
    (void)state;
    sk_mime_mail_t m = s_mail();
    size_t len = 0;
    char *buf = s_build(&m, &len);
    GMimeMessage *msg = s_parse(buf, len);
    assert_string_equal(g_mime_message_get_message_id(msg),
                        "r.SO-1001.1.20401.3@skonto.example.com");
    InternetAddress *from = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
    assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(from)),
                        "billing@example.com");
    assert_string_equal(internet_address_get_name(from), "Skonto Billing");
    InternetAddress *to = internet_address_list_get_address(g_mime_message_get_to(msg), 0);
    assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(to)),
                        "li.wei@example.cn");
    assert_string_equal(internet_address_get_name(to), "李伟");
    InternetAddress *rt = internet_address_list_get_address(g_mime_message_get_reply_to(msg), 0);
    assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(rt)),
                        "sales@example.com");
    assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(msg), "List-Unsubscribe"),
                        "<mailto:billing@example.com?subject=unsubscribe%20C-1>");
    assert_non_null(g_mime_object_get_header(GMIME_OBJECT(msg), "MIME-Version"));
    GDateTime *date = g_mime_message_get_date(msg);
    assert_int_equal(g_date_time_to_unix(date), 1762678800);

    GMimeObject *body = g_mime_message_get_mime_part(msg);
    assert_true(GMIME_IS_MULTIPART(body));
    GMimeContentType *ct = g_mime_object_get_content_type(body);
    assert_true(g_mime_content_type_is_type(ct, "multipart", "alternative"));
    assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 2);
    const char *sub[] = {"plain", "html"};
    const char *want[] = {s_text, s_html};
    for (int i = 0; i < 2; i++) {
        GMimeObject *part = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
        GMimeContentType *pct = g_mime_object_get_content_type(part);
        assert_true(g_mime_content_type_is_type(pct, "text", sub[i]));
        assert_string_equal(g_mime_content_type_get_parameter(pct, "charset"), "utf-8");
        GMimeContentEncoding enc = g_mime_part_get_content_encoding(GMIME_PART(part));
        assert_true(enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                    enc == GMIME_CONTENT_ENCODING_BASE64);
        char *text = s_part_text(part);
        assert_string_equal(text, want[i]);
        free(text);
    }
    g_object_unref(msg);
    free(buf);
}

/* An ASCII mail stays readable: 7bit, and no Reply-To when none is set. */
static void test_ascii_and_optional_headers(void **state)
{
    (void)state;
    sk_mime_mail_t m = s_mail();
    m.subject = "Invoice SO-1: save $22.60 if paid by Monday, November 9, 2026";
    m.text = "Dear Ann,\nthe 2% discount ends soon.\n";
    m.html = "<p>Dear Ann</p>\n";
    m.reply_to = NULL;
    m.unsubscribe = NULL;
    m.to_name = NULL;
    m.message_id = "<r.0123abcd@skonto.invalid>"; /* as sk_remind_message_id writes it */
    size_t len = 0;
    char *buf = s_build(&m, &len);
    assert_non_null(strstr(buf, "Subject: Invoice SO-1: save $22.60 if paid by Monday, November"));
    assert_non_null(strstr(buf, "\r\nMessage-Id: <r.0123abcd@skonto.invalid>\r\n"));
    assert_null(strstr(buf, "<<"));
    assert_null(strstr(buf, "Reply-To"));
    assert_null(strstr(buf, "List-Unsubscribe"));
    assert_non_null(strstr(buf, "Dear Ann,\r\nthe 2% discount ends soon.\r\n"));
    free(buf);
}

static void s_refused(sk_mime_mail_t m, const char *fragment)
{
    char *buf = NULL;
    size_t len = 0;
    sk_err_t e = {0};
    assert_int_equal(sk_mime_build(&m, &buf, &len, &e), -1);
    assert_null(buf);
    assert_string_equal(e.code, "bad_mail");
    if (!strstr(e.msg, fragment))
        fail_msg("message \"%s\" does not name \"%s\"", e.msg, fragment);
}

static void test_refused(void **state)
{
    (void)state;
    /* one field of a good mail replaced by a bad value; the message names the field */
    static const struct {
        size_t field;
        const char *value, *names;
    } cases[] = {
        {offsetof(sk_mime_mail_t, subject), "Hello\r\nBcc: everyone@example.com", "Subject"},
        {offsetof(sk_mime_mail_t, to), "a@example.com, b@example.com", "To"},
        {offsetof(sk_mime_mail_t, to), "not an address", "To"},
        {offsetof(sk_mime_mail_t, from), "", "From"},
        {offsetof(sk_mime_mail_t, text), "caf\xc3", "text"},
        {offsetof(sk_mime_mail_t, message_id), "x@", "Message-ID"},
        {offsetof(sk_mime_mail_t, message_id), "<x@y", "Message-ID"},
        {offsetof(sk_mime_mail_t, message_id), "<x@>", "Message-ID"},
        {offsetof(sk_mime_mail_t, unsubscribe), "https://example.com/u", "List-Unsubscribe"},
        {offsetof(sk_mime_mail_t, to_name), "Ann\nBcc: x@y", "recipient name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sk_mime_mail_t m = s_mail();
        memcpy((char *)&m + cases[i].field, &cases[i].value, sizeof(const char *));
        s_refused(m, cases[i].names);
    }

    char addr[64];
    sk_err_t e = {0};
    assert_int_equal(
        sk_mime_addr_spec("Skonto Billing <billing@example.com>", addr, sizeof addr, &e), 0);
    assert_string_equal(addr, "billing@example.com");
    assert_int_equal(sk_mime_addr_spec("nobody", addr, sizeof addr, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_form),        cmocka_unit_test(test_parsed_back),
        cmocka_unit_test(test_long_cjk_subject), cmocka_unit_test(test_ascii_and_optional_headers),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
