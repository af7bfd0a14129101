/* Tests of common/sk_template: what a customer would see in a rendered mail
 * (escaped names, lists of windows, lines kept or dropped) and the errors an
 * author of a template gets, with their line numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_template.h"

static char *s_render(const char *src, sk_tpl_kind_t kind, const sk_tpl_data_t *d)
{
    sk_err_t e = {0};
    sk_tpl_t *t = sk_tpl_new("t", src, strlen(src), kind, &e);
    if (!t)
        fail_msg("parse: %s", e.msg);
    char *out = sk_tpl_render(t, d, NULL, &e);
    if (!out)
        fail_msg("render: %s", e.msg);
    sk_tpl_destroy(&t);
    assert_null(t);
    return out;
}

/* The parse error's message for src (fails if src parses). */
static void s_assert_parse_error(const char *src, const char *want)
{
    sk_err_t e = {0};
    sk_tpl_t *t = sk_tpl_new("mail.html", src, strlen(src), SK_TPL_HTML, &e);
    assert_null(t);
    assert_string_equal(e.code, "bad_template");
    assert_string_equal(e.msg, want);
}

static void test_escape_html(void **state)
{
    (void)state;
    const char *in = "<b>Müller & Söhne</b> \"1\" 'x' 现金折扣";
    char *out = sk_tpl_escape_html(in, strlen(in));
    assert_string_equal(out, "&lt;b&gt;Müller &amp; Söhne&lt;/b&gt; &quot;1&quot; &#39;x&#39; "
                             "现金折扣");
    free(out);
    out = sk_tpl_escape_html("", 0);
    assert_string_equal(out, "");
    free(out);
}

/* A customer called "<script>" sees its name, not a script; {{{x}}} is raw. */
static void test_variables_escaped_in_html_raw_when_asked(void **state)
{
    (void)state;
    sk_tpl_data_t *d = sk_tpl_data_new();
    assert_int_equal(sk_tpl_data_set(d, "name", "<script>alert('x')</script> & Co"), 0);
    assert_int_equal(sk_tpl_data_set(d, "link", "<a href=\"x\">pay</a>"), 0);
    char *out = s_render("<p>Dear {{ name }},</p>{{{link}}}{{&link}}", SK_TPL_HTML, d);
    assert_string_equal(out, "<p>Dear &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                             "Co,</p><a href=\"x\">pay</a><a href=\"x\">pay</a>");
    free(out);
    /* a text template copies the value as it is */
    out = s_render("Dear {{name}},", SK_TPL_TEXT, d);
    assert_string_equal(out, "Dear <script>alert('x')</script> & Co,");
    free(out);
    /* a later set replaces the value */
    assert_int_equal(sk_tpl_data_set(d, "name", "Li Wei"), 0);
    out = s_render("{{name}}", SK_TPL_HTML, d);
    assert_string_equal(out, "Li Wei");
    free(out);
    sk_tpl_data_destroy(&d);
    assert_null(d);
}

/* A list of windows: one line per window, outer names visible inside, the
 * section lines themselves leave no blank lines behind. */
static void test_sections_over_lists(void **state)
{
    (void)state;
    sk_tpl_data_t *d = sk_tpl_data_new();
    sk_tpl_data_set(d, "cur", "CNY");
    const char *days[] = {"11-09", "11-19", "12-09"};
    const char *disc[] = {"22.60", "11.30", "5.65"};
    for (int i = 0; i < 3; i++) {
        sk_tpl_data_t *w = sk_tpl_data_append(d, "windows");
        assert_non_null(w);
        sk_tpl_data_set(w, "day", days[i]);
        sk_tpl_data_set(w, "discount", disc[i]);
    }
    const char *src = "Windows:\n"
                      "  {{#windows}}\n"
                      "- by {{day}}: {{discount}} {{cur}}\n"
                      "  {{/windows}}\n"
                      "{{^windows}}\n"
                      "no window\n"
                      "{{/windows}}\n"
                      "{{! a note for the author }}\n"
                      "End\n";
    char *out = s_render(src, SK_TPL_TEXT, d);
    assert_string_equal(out, "Windows:\n"
                             "- by 11-09: 22.60 CNY\n"
                             "- by 11-19: 11.30 CNY\n"
                             "- by 12-09: 5.65 CNY\n"
                             "End\n");
    free(out);
    sk_tpl_data_t *empty = sk_tpl_data_new();
    sk_tpl_data_set(empty, "cur", "CNY");
    out = s_render(src, SK_TPL_TEXT, empty);
    assert_string_equal(out, "Windows:\nno window\nEnd\n");
    free(out);
    sk_tpl_data_destroy(&empty);
    sk_tpl_data_destroy(&d);
}

/* Flags and strings as sections; an inline section keeps its line. */
static void test_flags_and_inverted(void **state)
{
    (void)state;
    sk_tpl_data_t *d = sk_tpl_data_new();
    sk_tpl_data_set_flag(d, "soon", true);
    sk_tpl_data_set_flag(d, "later", false);
    sk_tpl_data_set(d, "note", "");
    char *out = s_render("a{{#soon}}S{{/soon}}{{#later}}L{{/later}}{{^later}}!L{{/later}}"
                         "{{#note}}N{{/note}}{{^note}}!N{{/note}}{{^missing}}!M{{/missing}}b",
                         SK_TPL_HTML, d);
    assert_string_equal(out, "aS!L!N!Mb");
    free(out);
    sk_tpl_data_destroy(&d);
}

/* A variable that is not set is an error naming it and its line. */
static void test_missing_variable_is_an_error(void **state)
{
    (void)state;
    sk_tpl_data_t *d = sk_tpl_data_new();
    sk_tpl_data_set(d, "name", "x");
    const char *src = "Dear {{name}},\n\nyou save {{savings}}.\n";
    sk_err_t e = {0};
    sk_tpl_t *t = sk_tpl_new("reminder.en.txt", src, strlen(src), SK_TPL_TEXT, &e);
    assert_non_null(t);
    assert_null(sk_tpl_render(t, d, NULL, &e));
    assert_string_equal(e.code, "bad_template");
    assert_string_equal(e.msg, "reminder.en.txt:3: no value named \"savings\"");
    sk_tpl_destroy(&t);
    sk_tpl_data_destroy(&d);
}

static void test_parse_errors_name_the_line(void **state)
{
    (void)state;
    s_assert_parse_error("a\nb {{name\n", "mail.html:2: \"{{\" is never closed with \"}}\"");
    s_assert_parse_error("{{{raw}}\n", "mail.html:1: \"{{{\" is never closed with \"}}}\"");
    s_assert_parse_error("\n\n{{#soon}}\n{{/later}}\n",
                         "mail.html:4: {{/later}} closes {{#soon}} of line 3");
    s_assert_parse_error("x\n{{/soon}}", "mail.html:2: {{/soon}} closes no section");
    s_assert_parse_error("x\n\n{{^soon}}\n", "mail.html:3: {{^soon}} is never closed");
    s_assert_parse_error("{{}}", "mail.html:1: a tag without a name");
    s_assert_parse_error("{{a b}}", "mail.html:1: tag name \"a b\": want letters, digits, _ - .");
    s_assert_parse_error("{{> footer}}",
                         "mail.html:1: \"{{>\" (partials, delimiters) is not supported");
    s_assert_parse_error("{{#a}}{{#b}}{{#c}}{{#d}}{{#e}}{{#f}}{{#g}}{{#h}}{{#i}}",
                         "mail.html:1: sections nested deeper than 8");
}

/* Bounded: a huge template is refused, and so is output past the limit. */
static void test_bounds(void **state)
{
    (void)state;
    size_t big = SK_TPL_MAX_SOURCE + 1;
    char *src = malloc(big);
    memset(src, 'x', big);
    sk_err_t e = {0};
    assert_null(sk_tpl_new("big", src, big, SK_TPL_TEXT, &e));
    assert_string_equal(e.code, "bad_template");
    free(src);

    /* 64 KiB of value, 128 list items: 8 MiB would be rendered */
    char *v = malloc(65537);
    memset(v, 'y', 65536);
    v[65536] = '\0';
    sk_tpl_data_t *d = sk_tpl_data_new();
    for (int i = 0; i < 128; i++)
        sk_tpl_data_set(sk_tpl_data_append(d, "l"), "v", v);
    free(v);
    sk_tpl_t *t = sk_tpl_new("loop", "{{#l}}{{v}}{{/l}}", 17, SK_TPL_TEXT, &e);
    assert_non_null(t);
    assert_null(sk_tpl_render(t, d, NULL, &e));
    assert_string_equal(e.code, "too_large");
    sk_tpl_destroy(&t);
    sk_tpl_data_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_html),
        cmocka_unit_test(test_variables_escaped_in_html_raw_when_asked),
        cmocka_unit_test(test_sections_over_lists),
        cmocka_unit_test(test_flags_and_inverted),
        cmocka_unit_test(test_missing_variable_is_an_error),
        cmocka_unit_test(test_parse_errors_name_the_line),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
