/* sk_log and sk_heartbeat: the line formats other programs parse. A JSON log
 * line is one object with ts, worker, pid, level, event_id / order_id when
 * given, and msg; the text form is today's readable line; a heartbeat keeps
 * the stored format skontoctl status and deploy/local.sh read. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_heartbeat.h"
#include "sk_log.h"

#define S_TS INT64_C(1793610000123) /* 2026-11-02T09:00:00.123Z */

static json_t *s_parse(const char *line)
{
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    assert_non_null(o);
    assert_true(json_is_object(o));
    return o;
}

static void test_json_line_has_the_fields(void **state)
{
    (void)state;
    sk_err_t err;
    unsetenv("SKONTO_LOG_FORMAT");
    assert_int_equal(sk_log_init("discount-1", &err), 0);
    char line[4096];
    sk_log_format_line(line, sizeof line, SK_LOG_JSON, S_TS, SK_LOG_ERROR, "E7", "SO-1",
                       "payment on order SO-1 \"which is cancelled\"");
    assert_null(strchr(line, '\n'));
    json_t *o = s_parse(line);
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-11-02T09:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "worker")), "discount-1");
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "event_id")), "E7");
    assert_string_equal(json_string_value(json_object_get(o, "order_id")), "SO-1");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "payment on order SO-1 \"which is cancelled\"");
    json_decref(o);
    /* no ids: no such fields */
    sk_log_format_line(line, sizeof line, SK_LOG_JSON, S_TS, SK_LOG_WARN, NULL, "", "hello");
    o = s_parse(line);
    assert_null(json_object_get(o, "event_id"));
    assert_null(json_object_get(o, "order_id"));
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    json_decref(o);
}

static void test_json_line_survives_bad_utf8_and_controls(void **state)
{
    (void)state;
    char line[4096];
    /* an id a peer sent: invalid UTF-8 and a newline must not break the line */
    sk_log_format_line(line, sizeof line, SK_LOG_JSON, S_TS, SK_LOG_INFO, "E\xff\xfe", NULL,
                       "rejected \xc3\x28 line\nbreak 现金折扣");
    assert_null(strchr(line, '\n'));
    json_t *o = s_parse(line);
    assert_string_equal(json_string_value(json_object_get(o, "event_id")), "E??");
    const char *msg = json_string_value(json_object_get(o, "msg"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "现金折扣"));
    json_decref(o);
}

static void test_text_line_and_format_setting(void **state)
{
    (void)state;
    sk_err_t err;
    char line[1024], want[256];
    setenv("SKONTO_LOG_FORMAT", "text", 1);
    assert_int_equal(sk_log_init("ingest", &err), 0);
    sk_log_format_line(line, sizeof line, SK_LOG_TEXT, S_TS, SK_LOG_INFO, "E1", NULL,
                       "listening on tcp://127.0.0.1:7750");
    snprintf(want, sizeof want,
             "2026-11-02T09:00:00.123Z ingest[%d] info: listening on tcp://127.0.0.1:7750",
             (int)getpid());
    assert_string_equal(line, want);
    setenv("SKONTO_LOG_FORMAT", "yaml", 1);
    assert_int_equal(sk_log_init("ingest", &err), -1);
    assert_string_equal(err.msg, "SKONTO_LOG_FORMAT \"yaml\": want json or text");
    unsetenv("SKONTO_LOG_FORMAT");
}

static void test_heartbeat_keeps_its_stored_format(void **state)
{
    (void)state;
    sk_heartbeat_t *hb = sk_heartbeat_new("discount-2", "discount");
    assert_non_null(hb);
    sk_heartbeat_count(hb, "processed", 5);
    sk_heartbeat_count(hb, "errors", 1);
    sk_heartbeat_count(hb, "processed", 6); /* updates in place, keeps its position */
    char *json = sk_heartbeat_json(hb, INT64_C(1793610000123));
    char want[256];
    snprintf(want, sizeof want,
             "{\"pid\":%d,\"role\":\"discount\",\"at_ms\":1793610000123,\"processed\":6,"
             "\"errors\":1}",
             (int)getpid());
    assert_string_equal(json, want);
    free(json);
    assert_true(sk_heartbeat_due(hb, 0)); /* never written */
    sk_heartbeat_destroy(&hb);
    assert_null(hb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line_has_the_fields),
        cmocka_unit_test(test_json_line_survives_bad_utf8_and_controls),
        cmocka_unit_test(test_text_line_and_format_setting),
        cmocka_unit_test(test_heartbeat_keeps_its_stored_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
