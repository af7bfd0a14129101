/* sk_base64 — see sk_base64.h. */
#include "sk_base64.h"

#include <sodium.h>
#include <stdlib.h>

char *sk_base64(const void *p, size_t n)
{
    size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(len);
    if (out)
        sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}
