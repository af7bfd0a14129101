/* sk_log — see sk_log.h. */
#include "sk_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "date.h"
#include "event.h"
#include "sk_config.h"

#define S_MSG_MAX 1024

static const char *s_worker = "skonto";
static sk_log_format_t s_format = SK_LOG_JSON;
static const char *const s_levels[] = {"info", "warn", "error"};

int sk_log_init(const char *worker, sk_err_t *err)
{
    static const char *const formats[] = {"json", "text", NULL};
    if (worker && *worker)
        s_worker = worker;
    int f = SK_LOG_JSON;
    if (sk_config_choice("SKONTO_LOG_FORMAT", formats, SK_LOG_JSON, &f, err))
        return -1;
    s_format = (sk_log_format_t)f;
    return 0;
}

void sk_log_set_format(sk_log_format_t format)
{
    s_format = format;
}

/* A JSON string of s; s made valid UTF-8 first when it is not (jansson refuses it). */
static json_t *s_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char clean[S_MSG_MAX];
    sk_utf8_sanitize(clean, sizeof clean, s, strlen(s));
    return json_string(clean);
}

char *sk_log_format_line(char *buf, size_t n, sk_log_format_t format, int64_t ts_ms,
                         sk_log_level_t level, const char *event_id, const char *order_id,
                         const char *msg)
{
    char ts[40];
    sk_time_format(ts_ms, SK_TIME_ISO_MS, ts, sizeof ts);
    const char *lv = s_levels[level <= SK_LOG_ERROR ? level : SK_LOG_ERROR];
    if (format == SK_LOG_TEXT) {
        snprintf(buf, n, "%s %s[%d] %s: %s", ts, s_worker, (int)getpid(), lv, msg);
        return buf;
    }
    json_t *o = json_object();
    char *line = NULL;
    if (o && !json_object_set_new(o, "ts", json_string(ts)) &&
        !json_object_set_new(o, "worker", s_json_text(s_worker)) &&
        !json_object_set_new(o, "pid", json_integer((json_int_t)getpid())) &&
        !json_object_set_new(o, "level", json_string(lv)) &&
        (!event_id || !*event_id || !json_object_set_new(o, "event_id", s_json_text(event_id))) &&
        (!order_id || !*order_id || !json_object_set_new(o, "order_id", s_json_text(order_id))) &&
        !json_object_set_new(o, "msg", s_json_text(msg)))
        line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* Out of memory: still one line a reader can parse, saying what was lost. */
    snprintf(buf, n, "%s",
             line ? line : "{\"level\":\"error\",\"msg\":\"log line lost: out of memory\"}");
    free(line);
    return buf;
}

static void s_write(sk_log_level_t level, const char *event_id, const char *order_id,
                    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void s_write(sk_log_level_t level, const char *event_id, const char *order_id,
                    const char *fmt, va_list ap)
{
    char msg[S_MSG_MAX], line[12 * S_MSG_MAX]; /* escapes: up to 6 bytes a byte, ids too */
    vsnprintf(msg, sizeof msg, fmt, ap);
    sk_log_format_line(line, sizeof line, s_format, sk_now_ms(), level, event_id, order_id, msg);
    fprintf(stderr, "%s\n", line);
}

void sk_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_write(SK_LOG_INFO, NULL, NULL, fmt, ap);
    va_end(ap);
}

void sk_log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_write(SK_LOG_WARN, NULL, NULL, fmt, ap);
    va_end(ap);
}

void sk_log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_write(SK_LOG_ERROR, NULL, NULL, fmt, ap);
    va_end(ap);
}

void sk_log_at(sk_log_level_t level, const char *event_id, const char *order_id, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_write(level, event_id, order_id, fmt, ap);
    va_end(ap);
}
