/* Tests of common/io/sk_base64: the RFC 4648 vectors, and bytes no text
 * holds (NUL, 0xff), which is why dead letters carry payloads this way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_base64.h"

/* RFC 4648 section 10 test vectors: dead letters carry raw bytes this way. */
static void test_base64_rfc4648(void **state)
{
    (void)state;
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char *b = sk_base64(in[i], strlen(in[i]));
        assert_non_null(b);
        assert_string_equal(b, out[i]);
        free(b);
    }
}

static void test_base64_binary(void **state)
{
    (void)state;
    static const unsigned char raw[] = {0x00, 0xff, 0x10, 0x0a, 0x00};
    char *b = sk_base64(raw, sizeof raw);
    assert_non_null(b);
    assert_string_equal(b, "AP8QCgA=");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
