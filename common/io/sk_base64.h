/* sk_base64 — standard base64 (RFC 4648, padded), the one encoder of the
 * project: raw event bytes in dead letters and unapplied records, which a
 * person or script decodes to see exactly what was received. Over
 * libsodium's sodium_bin2base64 (constant time), so only a program that
 * writes such records links libsodium for it. */
#ifndef SK_BASE64_H
#define SK_BASE64_H

#include <stddef.h>

/* The base64 of p[0..n), NUL-terminated; malloc'd, NULL when out of memory. */
char *sk_base64(const void *p, size_t n);

#endif
