/* override_records — the audit worker's override records (sk:{audit}:ovr,
 * one OverrideRecord per override id) as the reports read them: `report
 * overrides` (per salesperson x customer) and `report policy` (per
 * salesperson) count the same records the same way, from here.
 *
 * A record counts on the day of its request (UTC); its salesperson is the
 * invoice's (OverrideRecord.salesperson), else the user who asked. Read-only:
 * HSCAN pages of 1000. */
#ifndef SK_OVERRIDE_RECORDS_H
#define SK_OVERRIDE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "date.h"
#include "skonto/v1/skonto.pb-c.h"

/* Called once per record requested from..to; salesperson never NULL. */
typedef void (*sk_override_record_fn)(void *arg, const Skonto__V1__OverrideRecord *o,
                                      const char *salesperson);

/* Calls each for every record of sk:{audit}:ovr requested between from and
 * to (days, inclusive); a record that does not decode is skipped with a
 * line on stderr naming `verb`. *stop (may be NULL) is read after each
 * record: true ends the scan (the caller ran out of memory). 0, or -1 with
 * why (one line: "Redis at URL: ...", "Redis HSCAN sk:{audit}:ovr: NOPERM
 * ...") when Redis refused or failed. */
int sk_override_records_scan(const char *verb, redisContext *c, sk_day_t from, sk_day_t to,
                             sk_override_record_fn each, void *arg, const bool *stop, char *why,
                             size_t nwhy);

/* A director approved it (approved, applied, or stale: approved, then the
 * invoice had moved). */
bool sk_override_record_approved(const Skonto__V1__OverrideRecord *o);

/* How often it was refused: rejected, expired or stale (1), plus each
 * refused decision attempt. */
long sk_override_record_refusals(const Skonto__V1__OverrideRecord *o);

#endif
