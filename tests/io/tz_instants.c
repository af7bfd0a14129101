/* tz_instants — the test helper of test_tz_zoneinfo.py: reads lines
 * "ZONE YYYY-MM-DD MINUTE" on stdin and writes, a line each, the instant
 * (ms) sk_tz_local_instant gives, or "refused" for a zone sk_tz refuses. */
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "sk_tz.h"

int main(void)
{
    char zone[128], date[16];
    int minute;
    while (scanf("%127s %15s %d", zone, date, &minute) == 3) {
        sk_day_t day;
        const sk_tz_t *tz = sk_tz_find(zone, NULL);
        if (!tz || sk_date_parse(date, &day, NULL) || minute < 0 || minute > 1439) {
            puts("refused");
            continue;
        }
        printf("%lld\n", (long long)sk_tz_local_instant(tz, day, minute));
    }
    sk_tz_cache_clear();
    return 0;
}
