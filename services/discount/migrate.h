/* migrate — moves invoices stored in the layout of before issue 7 (a
 * ~15-field hash per invoice) to the packed layout (one string, see
 * common/io/invoice.h), when a discount worker starts.
 *
 * SCANs every invoice key that is still a hash, reads it (HGETALL), packs it
 * through the codec and replaces it with migrate.lua, which checks that the
 * hash's rev is still the one read: each invoice moves atomically, so a
 * worker killed midway leaves every invoice in one layout or the other, and
 * the next start finishes the job. Two workers migrating at once are safe
 * (the second finds a string and leaves it). When a pass finds nothing left
 * it sets SK_KEY_LAYOUT to "2", and later starts skip the scan. Until an
 * invoice is migrated, the worker's reads see WRONGTYPE and its events wait;
 * skontoctl reads both layouts. */
#ifndef DISCOUNT_MIGRATE_H
#define DISCOUNT_MIGRATE_H

#include <hiredis/hiredis.h>

#include "sk_error.h"

/* Says why one invoice could not be migrated (it stays a hash; the marker is
 * not set, so the next start tries again). */
typedef void (*discount_migrate_warn_fn)(const char *msg);

/* Migrates every invoice still in the old layout; *migrated receives how
 * many this call moved. Returns 0, or -1 on a Redis error (err set). */
int discount_migrate(redisContext *c, discount_migrate_warn_fn warn, long *migrated, sk_err_t *err);

/* migrate.lua, embedded at build time. */
extern const char DISCOUNT_MIGRATE_LUA[];

#endif
