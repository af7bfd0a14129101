/* sk_tz — see sk_tz.h. GLib does the zone rules; this file only picks which
 * of GLib's answers a local time gets (gap, overlap) and caches zones. */
#include "sk_tz.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "sk_error.h"

struct sk_tz {
    GTimeZone *zone;
    char id[SK_TZ_ID_MAX + 1];
};

#define S_DAY_S 86400

G_LOCK_DEFINE_STATIC(s_cache);
static GHashTable *s_zones; /* id -> sk_tz_t *, known zones only */
/* the cache's generation, moved on by sk_tz_cache_clear (see s_memo) */
static unsigned s_gen = 1;

/* An IANA id's shape: parts of [A-Za-z0-9_+-] that start with a letter,
 * joined by '/'. No '.', so never a path outside the database. */
static bool s_id_shape(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > SK_TZ_ID_MAX)
        return false;
    bool part_start = true;
    for (const char *p = id; *p; p++) {
        char c = *p;
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool other = (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
        if (c == '/') {
            if (part_start)
                return false;
            part_start = true;
        } else if (part_start) {
            if (!letter)
                return false;
            part_start = false;
        } else if (!letter && !other) {
            return false;
        }
    }
    return !part_start;
}

/* Names that are files of the database but not a place's rules. */
static bool s_id_excluded(const char *id)
{
    return !strncmp(id, "posix/", 6) || !strncmp(id, "right/", 6) || !strcmp(id, "localtime") ||
           !strcmp(id, "posixrules");
}

/* Loads a zone from the system database, or NULL. GLib would also take a
 * POSIX rule or an offset for an id that is no file, so the file must exist
 * where GLib reads zones (TZDIR, as GLib reads it, else /usr/share/zoneinfo). */
static GTimeZone *s_load(const char *id)
{
    if (!s_id_shape(id) || s_id_excluded(id))
        return NULL;
    const char *dir = g_getenv("TZDIR");
    char *path = g_build_filename(dir && *dir ? dir : "/usr/share/zoneinfo", id, NULL);
    bool file = g_file_test(path, G_FILE_TEST_IS_REGULAR);
    g_free(path);
    return file ? g_time_zone_new_identifier(id) : NULL;
}

static void s_tz_free(gpointer p)
{
    sk_tz_t *tz = p;
    g_time_zone_unref(tz->zone);
    g_free(tz);
}

const sk_tz_t *sk_tz_find(const char *id, sk_err_t *err)
{
    if (!id)
        id = "";
    G_LOCK(s_cache);
    sk_tz_t *tz = s_zones ? g_hash_table_lookup(s_zones, id) : NULL;
    G_UNLOCK(s_cache);
    if (tz)
        return tz;
    /* Parsing the file happens outside the lock; two threads that both miss
     * load it twice and the second copy is dropped. */
    GTimeZone *zone = s_load(id);
    if (!zone) {
        char q[SK_ERR_QUOTE_MAX];
        sk_err_set(err, SK_TZ_REASON,
                   "timezone \"%s\" is not a zone of the system's tz database (an IANA id "
                   "such as Europe/Berlin)",
                   sk_err_quote(id, strlen(id), q, sizeof q));
        return NULL;
    }
    sk_tz_t *fresh = g_new0(sk_tz_t, 1);
    fresh->zone = zone;
    g_strlcpy(fresh->id, id, sizeof fresh->id);
    G_LOCK(s_cache);
    if (!s_zones)
        s_zones = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, s_tz_free);
    tz = g_hash_table_lookup(s_zones, id);
    if (!tz) {
        g_hash_table_insert(s_zones, fresh->id, fresh);
        tz = fresh;
        fresh = NULL;
    }
    G_UNLOCK(s_cache);
    if (fresh)
        s_tz_free(fresh);
    return tz;
}

bool sk_tz_known(const char *id)
{
    return sk_tz_find(id, NULL) != NULL;
}

const char *sk_tz_id(const sk_tz_t *tz)
{
    return tz->id;
}

void sk_tz_cache_clear(void)
{
    G_LOCK(s_cache);
    if (s_zones)
        g_hash_table_destroy(s_zones);
    s_zones = NULL;
    __atomic_add_fetch(&s_gen, 1, __ATOMIC_RELEASE);
    G_UNLOCK(s_cache);
}

/* Local seconds (a local date and time counted as if it were UTC) to UTC
 * seconds. GLib finds the interval a local time falls in for either type:
 * both found and different = an overlap, and the larger offset is the
 * earlier instant; none = a gap, and g_time_zone_adjust_time moves the time
 * to the gap's end. */
static int64_t s_local_to_utc_s(GTimeZone *zone, int64_t local)
{
    int std = g_time_zone_find_interval(zone, G_TIME_TYPE_STANDARD, local);
    int dst = g_time_zone_find_interval(zone, G_TIME_TYPE_DAYLIGHT, local);
    if (std >= 0 || dst >= 0) {
        int32_t off = INT32_MIN;
        if (std >= 0)
            off = g_time_zone_get_offset(zone, std);
        if (dst >= 0 && g_time_zone_get_offset(zone, dst) > off)
            off = g_time_zone_get_offset(zone, dst);
        return local - off;
    }
    gint64 t = local;
    int i = g_time_zone_adjust_time(zone, G_TIME_TYPE_STANDARD, &t);
    return t - g_time_zone_get_offset(zone, i);
}

/* The last answers of sk_tz_local_instant, per thread: the discount worker
 * asks for the same few instants (reminders, statements) order after order,
 * and GLib searches a zone's transitions one by one for each. Entries of a
 * cache generation before the last sk_tz_cache_clear are not used (a zone
 * freed then may come back at the same address). */
#define S_MEMO 64
typedef struct {
    const sk_tz_t *tz;
    unsigned gen;
    int64_t local, utc;
} s_memo_t;
static _Thread_local s_memo_t s_memo[S_MEMO];

int64_t sk_tz_local_instant(const sk_tz_t *tz, sk_day_t day, int minute)
{
    int64_t local = (int64_t)day * S_DAY_S + (int64_t)minute * 60;
    unsigned gen = __atomic_load_n(&s_gen, __ATOMIC_ACQUIRE);
    uint64_t h = ((uint64_t)(uintptr_t)tz ^ (uint64_t)local) * 0x9E3779B97F4A7C15ull;
    _Static_assert(S_MEMO == 1 << 6, "the index is the hash's top 6 bits");
    s_memo_t *m = &s_memo[h >> 58];
    if (m->tz != tz || m->gen != gen || m->local != local)
        *m = (s_memo_t){tz, gen, local, s_local_to_utc_s(tz->zone, local)};
    return m->utc * 1000;
}

int64_t sk_tz_day_start(const sk_tz_t *tz, sk_day_t day)
{
    return sk_tz_local_instant(tz, day, 0);
}

int sk_tz_offset_s(const sk_tz_t *tz, int64_t ms)
{
    /* whole seconds, rounded down (GLib's transitions are at whole seconds) */
    int64_t s = ms / 1000 - (ms % 1000 < 0);
    int i = g_time_zone_find_interval(tz->zone, G_TIME_TYPE_UNIVERSAL, s);
    return g_time_zone_get_offset(tz->zone, i);
}

sk_day_t sk_tz_local_day(const sk_tz_t *tz, int64_t ms, int *minute)
{
    int64_t local_ms = ms + (int64_t)sk_tz_offset_s(tz, ms) * 1000;
    sk_day_t day = sk_time_day(local_ms);
    if (minute)
        *minute = (int)((local_ms - (int64_t)day * S_DAY_S * 1000) / 60000);
    return day;
}

bool sk_tz_statement_next(const sk_tz_t *tz, sk_cadence_t cadence, int weekday, int minute,
                          int64_t after_ms, int64_t *next_ms)
{
    if (cadence != SK_CADENCE_DAILY && cadence != SK_CADENCE_WEEKLY)
        return false;
    sk_day_t day = sk_tz_local_day(tz, after_ms, NULL);
    /* Today's send time may have passed: the next qualifying day is at most
     * 7 days on for weekly (8 with today's passed). */
    for (int k = 0; k <= 8; k++) {
        sk_day_t d = day + k;
        if (cadence == SK_CADENCE_WEEKLY && sk_date_weekday(d) != weekday)
            continue;
        int64_t t = sk_tz_local_instant(tz, d, minute);
        if (t > after_ms) {
            *next_ms = t;
            return true;
        }
    }
    return false; /* weekday outside 1..7 */
}
