/* sk_config: one reader for SKONTO_* variables. A bad value is refused with
 * one line naming the variable, the value and the form wanted; an unset or
 * empty one takes the default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_config.h"

static void test_int_in_range(void **state)
{
    (void)state;
    sk_err_t err;
    int64_t v = -1;
    assert_int_equal(sk_config_parse_int("SK_TEST_X", "16", 8, 1, 1024, &v, &err), 0);
    assert_int_equal(v, 16);
    assert_int_equal(sk_config_parse_int("SK_TEST_X", NULL, 8, 1, 1024, &v, &err), 0);
    assert_int_equal(v, 8);
    assert_int_equal(sk_config_parse_int("SK_TEST_X", "", 9, 1, 1024, &v, &err), 0);
    assert_int_equal(v, 9);
    assert_int_equal(sk_config_parse_int("SK_TEST_X", "1024", 8, 1, 1024, &v, &err), 0);
    assert_int_equal(v, 1024);
}

static void test_int_refused_names_variable_and_form(void **state)
{
    (void)state;
    sk_err_t err;
    int64_t v = 7;
    assert_int_equal(
        sk_config_parse_int("SKONTO_INGEST_MAX_CONNECTIONS", "abc", 16, 1, 1024, &v, &err), -1);
    assert_string_equal(
        err.msg, "SKONTO_INGEST_MAX_CONNECTIONS \"abc\": want a whole number from 1 to 1024");
    assert_string_equal(err.code, "bad_config");
    assert_int_equal(v, 7); /* untouched */
    const char *bad[] = {"0", "1025", "12x", " 12", "1.5", "-", "99999999999999999999", "+3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sk_config_parse_int("SK_TEST_X", bad[i], 16, 1, 1024, &v, &err), -1);
    /* control characters in the value never reach the message */
    assert_int_equal(sk_config_parse_int("SK_TEST_X", "1\n2", 16, 1, 1024, &v, &err), -1);
    assert_null(strchr(err.msg, '\n'));
}

static void test_int_reads_environment(void **state)
{
    (void)state;
    sk_err_t err;
    int64_t v;
    setenv("SK_TEST_INT", "42", 1);
    assert_int_equal(sk_config_int("SK_TEST_INT", 1, 1, 100, &v, &err), 0);
    assert_int_equal(v, 42);
    unsetenv("SK_TEST_INT");
    assert_int_equal(sk_config_int("SK_TEST_INT", 1, 1, 100, &v, &err), 0);
    assert_int_equal(v, 1);
}

static void test_durations(void **state)
{
    (void)state;
    sk_err_t err;
    int64_t ms;
    const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"500ms", 500},     {"30s", 30000},      {"15m", 900000},    {"72h", 259200000},
        {"36h", 129600000}, {"7d", 604800000},   {"10d", 864000000}, {"1d12h", 129600000},
        {"1h30m", 5400000}, {"2m500ms", 120500}, {"0s", 0},          {"36500d", 3153600000000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(sk_duration_parse("advance", ok[i].s, 0, &ms, &err), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    const char *bad[] = {"",
                         "d",
                         "7",
                         "7 d",
                         "7D",
                         "-1d",
                         "1.5h",
                         "h7",
                         "7dd",
                         "7x",
                         "1d 2h",
                         "36601d",
                         "999999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sk_duration_parse("advance", bad[i], 0, &ms, &err), -1);
    assert_int_equal(sk_duration_parse("advance", "7x", 0, &ms, &err), -1);
    assert_string_equal(
        err.msg, "advance \"7x\": want a duration such as 500ms, 30s, 15m, 36h, 7d or 1d12h");
}

static void test_duration_variable_bare_number_in_its_unit(void **state)
{
    (void)state;
    sk_err_t err;
    int64_t ms = 0;
    /* SKONTO_CLAIM_IDLE_MS=30000 stays milliseconds; a unit may be given */
    assert_int_equal(
        sk_config_parse_duration_ms("SKONTO_CLAIM_IDLE_MS", "30000", 1, 1, 86400000, 1, &ms, &err),
        0);
    assert_int_equal(ms, 30000);
    assert_int_equal(
        sk_config_parse_duration_ms("SKONTO_CLAIM_IDLE_MS", "45s", 1, 1, 86400000, 1, &ms, &err),
        0);
    assert_int_equal(ms, 45000);
    assert_int_equal(
        sk_config_parse_duration_ms("SKONTO_CLAIM_IDLE_MS", NULL, 30000, 1, 86400000, 1, &ms, &err),
        0);
    assert_int_equal(ms, 30000);
    /* a bare number only alone: "1d5" is not a duration */
    assert_int_equal(sk_config_parse_duration_ms("SKONTO_CLAIM_IDLE_MS", "1d5", 1, 1, 86400000 * 9,
                                                 1, &ms, &err),
                     -1);
    assert_int_equal(
        sk_config_parse_duration_ms("SKONTO_CLAIM_IDLE_MS", "2d", 1, 1, 86400000, 1, &ms, &err),
        -1);
    assert_string_equal(err.msg, "SKONTO_CLAIM_IDLE_MS \"2d\": want a duration from 1ms to 1d");
    assert_int_equal(
        sk_config_parse_duration_ms("SKONTO_CLAIM_IDLE_MS", "soon", 1, 1, 86400000, 1, &ms, &err),
        -1);
    assert_string_equal(err.msg, "SKONTO_CLAIM_IDLE_MS \"soon\": want a duration such as 500ms, "
                                 "30s, 15m, 36h, 7d or 1d12h, or a whole number");
}

static void test_bool(void **state)
{
    (void)state;
    sk_err_t err;
    bool b = false;
    const char *yes[] = {"1", "true", "TRUE", "yes", "on"}, *no[] = {"0", "false", "No", "off"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(sk_config_parse_bool("SK_TEST_B", yes[i], false, &b, &err), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sk_config_parse_bool("SK_TEST_B", no[i], true, &b, &err), 0);
        assert_false(b);
    }
    assert_int_equal(sk_config_parse_bool("SK_TEST_B", NULL, true, &b, &err), 0);
    assert_true(b);
    assert_int_equal(sk_config_parse_bool("SK_TEST_B", "2", false, &b, &err), -1);
    assert_string_equal(err.msg, "SK_TEST_B \"2\": want 1 or 0 (true/false, yes/no, on/off)");
}

static void test_choice(void **state)
{
    (void)state;
    sk_err_t err;
    const char *const formats[] = {"json", "text", NULL};
    const char *const three[] = {"always", "everysec", "no", NULL};
    int k = -1;
    assert_int_equal(sk_config_parse_choice("SKONTO_LOG_FORMAT", "text", formats, 0, &k, &err), 0);
    assert_int_equal(k, 1);
    assert_int_equal(sk_config_parse_choice("SKONTO_LOG_FORMAT", "", formats, 0, &k, &err), 0);
    assert_int_equal(k, 0);
    assert_int_equal(sk_config_parse_choice("SKONTO_LOG_FORMAT", "xml", formats, 0, &k, &err), -1);
    assert_string_equal(err.msg, "SKONTO_LOG_FORMAT \"xml\": want json or text");
    assert_int_equal(sk_config_parse_choice("SK_TEST_F", "JSON", three, 0, &k, &err), -1);
    assert_string_equal(err.msg, "SK_TEST_F \"JSON\": want always, everysec or no");
}

static void test_string_and_file(void **state)
{
    (void)state;
    sk_err_t err;
    const char *s = NULL;
    assert_int_equal(sk_config_parse_string("SKONTO_WORKER_NAME", "d-1", "x", 8, &s, &err), 0);
    assert_string_equal(s, "d-1");
    assert_int_equal(sk_config_parse_string("SKONTO_WORKER_NAME", NULL, "x", 8, &s, &err), 0);
    assert_string_equal(s, "x");
    assert_int_equal(sk_config_parse_string("SKONTO_WORKER_NAME", "123456789", "x", 8, &s, &err),
                     -1);
    assert_string_equal(err.msg,
                        "SKONTO_WORKER_NAME \"123456789\": want at most 8 bytes (it has 9)");
    assert_int_equal(sk_config_parse_string("SKONTO_WORKER_NAME", "a\tb", "x", 8, &s, &err), -1);
    assert_string_equal(err.msg, "SKONTO_WORKER_NAME \"a?b\": want no control characters");

    char path[] = "/tmp/sk_config_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(sk_config_parse_file("SK_TEST_F", path, true, &s, &err), 0);
    assert_string_equal(s, path);
    unlink(path);
    close(fd);
    assert_int_equal(sk_config_parse_file("SK_TEST_F", path, true, &s, &err), -1);
    assert_non_null(strstr(err.msg, "want a readable file (No such file or directory)"));
    assert_int_equal(sk_config_parse_file("SK_TEST_F", "/tmp", true, &s, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(sk_config_parse_file("SK_TEST_F", NULL, false, &s, &err), 0);
    assert_null(s);
    assert_int_equal(sk_config_parse_file("SK_TEST_F", NULL, true, &s, &err), -1);
    assert_string_equal(err.msg, "SK_TEST_F is not set: want the path of a readable file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_in_range),
        cmocka_unit_test(test_int_refused_names_variable_and_form),
        cmocka_unit_test(test_int_reads_environment),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_duration_variable_bare_number_in_its_unit),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_string_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
