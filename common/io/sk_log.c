/* sk_log — see sk_log.h. */
#include "sk_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "date.h"

static const char *s_worker = "skonto";

void sk_log_init(const char *worker)
{
    if (worker && *worker)
        s_worker = worker;
}

int64_t sk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sk_log(const char *fmt, ...)
{
    char line[1024];
    char ts[32];
    sk_time_format(sk_now_ms(), SK_TIME_ISO_MS, ts, sizeof ts);
    size_t n = (size_t)snprintf(line, sizeof line, "%s %s[%d]: ", ts, s_worker, (int)getpid());
    if (n < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "%s\n", line);
}
