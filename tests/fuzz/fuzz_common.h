/* fuzz_common — what the Skonto fuzz targets share: a CHECK that aborts
 * (libFuzzer reports an abort as a crash and keeps the input), and the
 * contract every error must meet: a code and one line of valid UTF-8. */
#ifndef SK_FUZZ_COMMON_H
#define SK_FUZZ_COMMON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed: %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A rejection must say what and why, on one line that can go into JSON. */
static inline void sk_fuzz_check_err(const sk_err_t *err)
{
    CHECK(err->code[0] != '\0');
    CHECK(err->msg[0] != '\0');
    for (const char *p = err->msg; *p; p++)
        CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    json_t *s = json_string(err->msg); /* NULL if not valid UTF-8 */
    if (!s) {
        fprintf(stderr, "fuzz: message is not valid UTF-8: %s\n", err->msg);
        abort();
    }
    json_decref(s);
}

#endif
