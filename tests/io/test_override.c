/* sk_override: the override settings (SKONTO_OVERRIDE_FINANCE_ABOVE,
 * SKONTO_OVERRIDE_TTL) as an operator writes them, the defaults, and every
 * bad value's one line naming the variable and the form wanted; the
 * thresholds parsed here decide exactly as override_rules' tests expect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_override.h"

static sk_override_settings_t s_set;

static void s_ok(const char *above, const char *ttl)
{
    sk_err_t e;
    if (sk_override_settings_parse(&s_set, above, ttl, &e) != 0)
        fail_msg("%s / %s: %s", above ? above : "-", ttl ? ttl : "-", e.msg);
}

/* The message for a bad value; fails the test if it was accepted. */
static const char *s_bad(const char *above, const char *ttl)
{
    static sk_err_t e;
    sk_override_settings_t keep = s_set;
    if (sk_override_settings_parse(&s_set, above, ttl, &e) == 0)
        fail_msg("%s / %s accepted", above ? above : "-", ttl ? ttl : "-");
    assert_string_equal(e.code, "bad_config");
    assert_memory_equal(&keep, &s_set, sizeof keep); /* untouched */
    return e.msg;
}

static int64_t s_above(const char *cur)
{
    int64_t v = -1;
    if (sk_override_threshold(&s_set.finance_above, cur, &v) != 0)
        return -1;
    return v;
}

static void test_thresholds_per_currency_in_minor_units(void **state)
{
    (void)state;
    s_ok("CNY:5000.00,USD:700.00", NULL);
    assert_int_equal(s_set.finance_above.n, 2);
    assert_int_equal(s_above("CNY"), 500000);
    assert_int_equal(s_above("USD"), 70000);
    assert_int_equal(s_above("EUR"), -1);
    /* Fewer fraction digits are fine; JPY has none; 0 means every effect. */
    s_ok("CNY:5000,JPY:100000,EUR:0.5,GBP:0", NULL);
    assert_int_equal(s_above("CNY"), 500000);
    assert_int_equal(s_above("JPY"), 100000);
    assert_int_equal(s_above("EUR"), 50);
    assert_int_equal(s_above("GBP"), 0);
    /* Unset or empty: no currency named, every override to a finance director. */
    s_ok(NULL, NULL);
    assert_int_equal(s_set.finance_above.n, 0);
    s_ok("", "");
    assert_int_equal(s_set.finance_above.n, 0);
}

static void test_bad_thresholds_say_the_variable_and_the_form(void **state)
{
    (void)state;
    const char *want = "want CUR:AMOUNT[,CUR:AMOUNT...] such as CNY:5000.00,USD:700.00";
    const char *bad[] = {
        "CNY:5000.000", /* more digits than the currency */
        "JPY:1.5",      "XXX:1",  "cny:1",       "CNY5000", "CNY:",    "CNY:-1",
        "CNY:1,",       ",CNY:1", "CNY:1,CNY:2", "CNY: 1",  "CNY:1e3", "CNY:10000000000000.01",
        "CNY:1;USD:2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *m = s_bad(bad[i], NULL);
        char head[80];
        snprintf(head, sizeof head, "SKONTO_OVERRIDE_FINANCE_ABOVE \"%s\": ", bad[i]);
        if (strncmp(m, head, strlen(head)) || !strstr(m, want))
            fail_msg("%s: %s", bad[i], m);
        assert_null(strchr(m, '\n'));
    }
    assert_non_null(strstr(s_bad("CNY:1,CNY:2", NULL), "a currency named twice"));
    assert_non_null(strstr(s_bad("ABC:1", NULL), "unknown currency"));
    /* At most 16 currencies: 16 pass, the 17th is refused. */
    const char *codes[] = {"CNY", "USD", "EUR", "JPY", "GBP", "HKD", "KRW", "CHF", "SGD",
                           "AUD", "CAD", "NZD", "SEK", "NOK", "DKK", "TWD", "INR"};
    char many[256] = "";
    for (size_t i = 0; i < 16; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s%s:1", i ? "," : "", codes[i]);
    s_ok(many, NULL);
    assert_int_equal(s_set.finance_above.n, 16);
    assert_int_equal(s_above("TWD"), 100);
    snprintf(many + strlen(many), sizeof many - strlen(many), ",%s:1", codes[16]);
    assert_non_null(strstr(s_bad(many, NULL), "more than 16 currencies"));
}

static void test_ttl_durations(void **state)
{
    (void)state;
    s_ok(NULL, NULL);
    assert_int_equal(s_set.ttl_ms, (int64_t)72 * 3600 * 1000);
    s_ok(NULL, "72h");
    assert_int_equal(s_set.ttl_ms, (int64_t)72 * 3600 * 1000);
    s_ok(NULL, "3d");
    assert_int_equal(s_set.ttl_ms, (int64_t)72 * 3600 * 1000);
    s_ok(NULL, "1d12h");
    assert_int_equal(s_set.ttl_ms, (int64_t)36 * 3600 * 1000);
    s_ok(NULL, "1m");
    assert_int_equal(s_set.ttl_ms, 60000);
    s_ok(NULL, "365d");
    const char *m = s_bad(NULL, "72");
    assert_non_null(strstr(m, "SKONTO_OVERRIDE_TTL \"72\""));
    m = s_bad(NULL, "30s");
    assert_string_equal(m, "SKONTO_OVERRIDE_TTL \"30s\": want a duration from 1m to 365d");
    s_bad(NULL, "366d");
    s_bad(NULL, "three days");
    s_bad(NULL, "-1h");
}

static void test_read_from_the_environment(void **state)
{
    (void)state;
    sk_err_t e;
    setenv("SKONTO_OVERRIDE_FINANCE_ABOVE", "CNY:5000.00,USD:700.00", 1);
    setenv("SKONTO_OVERRIDE_TTL", "3d", 1);
    assert_int_equal(sk_override_settings_load(&s_set, &e), 0);
    assert_int_equal(s_above("USD"), 70000);
    assert_int_equal(s_set.ttl_ms, (int64_t)72 * 3600 * 1000);
    setenv("SKONTO_OVERRIDE_TTL", "72", 1);
    assert_int_equal(sk_override_settings_load(&s_set, &e), -1);
    assert_non_null(strstr(e.msg, "SKONTO_OVERRIDE_TTL"));
    unsetenv("SKONTO_OVERRIDE_TTL");
    setenv("SKONTO_OVERRIDE_FINANCE_ABOVE", "CNY:1\x01", 1);
    assert_int_equal(sk_override_settings_load(&s_set, &e), -1);
    assert_non_null(strstr(e.msg, "SKONTO_OVERRIDE_FINANCE_ABOVE"));
    unsetenv("SKONTO_OVERRIDE_FINANCE_ABOVE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thresholds_per_currency_in_minor_units),
        cmocka_unit_test(test_bad_thresholds_say_the_variable_and_the_form),
        cmocka_unit_test(test_ttl_durations),
        cmocka_unit_test(test_read_from_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
