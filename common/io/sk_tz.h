/* sk_tz — a customer's IANA time zone: civil dates and local clock times to
 * UTC instants and back, over GLib's GTimeZone and the system's tz database
 * (Debian's tzdata, kept current by its updates; ICU's copy in Debian 12 is
 * from 2022 and still gives Mexico City daylight-saving time).
 *
 * What it answers, for the reminder and statement schedule:
 *   - the UTC instant of a local clock time on a local day (09:00 on
 *     2026-03-09 in America/New_York is 13:00Z, on 2026-03-07 14:00Z);
 *   - the first instant of a local day (so "the end of day D" is the first
 *     instant of D + 1: the next local midnight, or the first time that
 *     exists on D + 1 where midnight falls in a daylight-saving gap);
 *   - the local day and clock time of an instant;
 *   - a statement's next instant for a cadence after a given instant.
 *
 * Daylight-saving changes, decided once here:
 *   - a local time in a gap (it never happens: 02:30 on the day New York
 *     springs forward) moves forward to the first instant after the gap
 *     (03:00 local = the gap's end), which is GLib's adjustment;
 *   - a local time in an overlap (it happens twice: 01:30 on the day New
 *     York falls back) is its first occurrence, the earlier instant (05:30Z,
 *     EDT), whichever of the two GLib calls "daylight" (Europe/Dublin's
 *     winter time is the "daylight" one in tzdata).
 * So every local (day, time) has exactly one instant, and instants are
 * non-decreasing in local time: a reminder is never moved earlier than its
 * local time and never sent twice by an overlap.
 *
 * Zones are named by IANA ids that exist as files of the system database
 * ("Europe/Berlin", "UTC", "EST5EDT"); GLib also accepts offsets ("+05:00")
 * and POSIX rules ("ABC3"), and the "posix/" and "right/" copies (the latter
 * counts leap seconds): those are refused, because a customer's zone must be
 * a place whose rules tzdata keeps. Unknown ids fail with code
 * "bad_timezone".
 *
 * Zones are cached: sk_tz_find returns a handle shared by every caller and
 * thread, valid until sk_tz_cache_clear (at exit, or never). Looking a zone up
 * in GLib reads and parses its file, ~110 us a call measured here
 * (skonto-bench-tz); the cached handle is found in ~25 ns and a due instant
 * computed in ~0.3 us. The cache holds only known zones, and there are as
 * many as tzdata has files (~600), so peers cannot make it grow without
 * bound. Every function is thread-safe: the cache behind a mutex, GTimeZone
 * immutable.
 *
 * Instants are int64 milliseconds since the Unix epoch (UTC); local clock
 * times are minutes after local midnight (0 .. 1439); days are sk_day_t. */
#ifndef SK_TZ_H
#define SK_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "date.h"
#include "sk_error.h"

#define SK_TZ_ID_MAX 64 /* bytes of an id, as the event contract bounds it */
#define SK_TZ_REASON "bad_timezone"

typedef struct sk_tz sk_tz_t;

/* The zone named id, cached; NULL and err (code "bad_timezone", the message
 * quotes the id) if the system database has no such zone. */
const sk_tz_t *sk_tz_find(const char *id, sk_err_t *err);
/* Whether id names a zone of the system database (what ingest accepts). */
bool sk_tz_known(const char *id);
/* The id the zone was found by. */
const char *sk_tz_id(const sk_tz_t *tz);
/* Releases every cached zone; handles found before are invalid after it.
 * For leak checkers and tests; not while other threads use handles. */
void sk_tz_cache_clear(void);

/* The instant of local clock time `minute` (0..1439) on local day `day`,
 * with the gap and overlap rules above. */
int64_t sk_tz_local_instant(const sk_tz_t *tz, sk_day_t day, int minute);
/* The first instant of local day `day`; the end of day D is
 * sk_tz_day_start(tz, D + 1). */
int64_t sk_tz_day_start(const sk_tz_t *tz, sk_day_t day);
/* The local day of instant ms; *minute (may be NULL) its local clock time. */
sk_day_t sk_tz_local_day(const sk_tz_t *tz, int64_t ms, int *minute);
/* The zone's offset from UTC at instant ms, in seconds (east positive). */
int sk_tz_offset_s(const sk_tz_t *tz, int64_t ms);

typedef enum {
    SK_CADENCE_NONE = 0,
    SK_CADENCE_DAILY,
    SK_CADENCE_WEEKLY,
} sk_cadence_t;

/* A statement's next scheduled instant strictly after `after_ms`: the send
 * time `minute` on the next local day that qualifies (every day, or weekday
 * 1 = Monday .. 7 = Sunday for weekly). false for SK_CADENCE_NONE. */
bool sk_tz_statement_next(const sk_tz_t *tz, sk_cadence_t cadence, int weekday, int minute,
                          int64_t after_ms, int64_t *next_ms);

#endif
