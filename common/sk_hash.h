/* sk_hash — FNV-1a, the one string hash of the project: the shard of an id
 * (32-bit, part of the data layout: keys.h), and hash tables in memory
 * (64-bit). Of a NUL-terminated string's bytes. Not for anything a peer
 * could use to attack a table it fills: tables that hold peer input are
 * bounded by what a batch holds. */
#ifndef SK_HASH_H
#define SK_HASH_H

#include <stdint.h>

static inline uint32_t sk_fnv1a32(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static inline uint64_t sk_fnv1a64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

#endif
