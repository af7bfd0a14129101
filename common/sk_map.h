/* sk_map — a map from strings to intptr_t, the one hash table of the project.
 *
 * Keys are copied (the map owns its copies); a value is an integer or a
 * pointer the caller owns. Open addressing with linear probing over
 * sk_fnv1a64 (sk_hash.h), at most half full, doubling as it grows;
 * deletion shifts entries back so every probe chain stays intact (no
 * tombstones). Bounded: a map holds at most the `max` keys given at
 * creation, so what a peer's input fills cannot grow without limit; FNV is
 * not keyed, so a table filled by an attacker is bounded by that too.
 *
 *     sk_map_t *m = sk_map_new(1000);
 *     sk_map_put(m, "SO-1", 7);
 *     intptr_t v;
 *     if (sk_map_get(m, "SO-1", &v)) ...
 *     sk_map_destroy(&m);
 */
#ifndef SK_MAP_H
#define SK_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sk_map_t sk_map_t;

/* A map of at most `max` keys (SIZE_MAX: as many as memory allows); NULL
 * when out of memory. */
sk_map_t *sk_map_new(size_t max);
void sk_map_destroy(sk_map_t **self_p);

/* Inserts key -> val, or replaces the value of a key already there.
 * 0 inserted, 1 replaced, -1 not inserted (full, or out of memory). */
int sk_map_put(sk_map_t *self, const char *key, intptr_t val);
/* Whether key is there; its value in *val (if val is not NULL). */
bool sk_map_get(const sk_map_t *self, const char *key, intptr_t *val);
/* Removes key if it is there. */
void sk_map_del(sk_map_t *self, const char *key);
/* Removes every key (the table stays allocated, for a map used again and again). */
void sk_map_clear(sk_map_t *self);
size_t sk_map_size(const sk_map_t *self);

#endif
