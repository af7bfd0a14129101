/* fuzz_checkpoint — libFuzzer target for the audit log's own parsers
 * (common/io/sk_checkpoint): a checkpoint note checked with a fixed public
 * key, the same bytes read as a public key, and as a file of saved notes.
 * Properties checked, each an abort() (a finding) when broken:
 *   - a rejection has a code and a one-line message;
 *   - an accepted checkpoint is of the key's log, and its body is exactly
 *     the canonical text of the values parsed (one spelling only);
 *   - a key text accepted has a name the spec allows;
 *   - splitting saved notes always advances and stays inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sk_checkpoint.h"

/* docs/AUDIT.md's example key (seed 00..1f) */
static const char VKEY[] =
    "skonto.example/audit+506164a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

static void s_check_err(const sk_err_t *err)
{
    if (err->code[0] == '\0' || err->msg[0] == '\0' || strchr(err->msg, '\n'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sk_checkpoint_verifier_t *key;
    if (!key && !(key = sk_checkpoint_verifier_parse(VKEY, strlen(VKEY), NULL)))
        abort();
    const char *text = (const char *)data;
    sk_err_t err;
    sk_checkpoint_t cp;
    memset(&err, 0, sizeof err);
    if (sk_checkpoint_verify(key, text, size, &cp, &err) == 0) {
        if (strcmp(cp.origin, sk_checkpoint_verifier_name(key)) != 0 || cp.time_ms < 0 ||
            cp.size > SK_MERKLE_MAX_SIZE)
            abort();
        char b64[64], body[SK_CHECKPOINT_MAX];
        sodium_bin2base64(b64, sizeof b64, cp.root, 32, sodium_base64_VARIANT_ORIGINAL);
        int n = snprintf(body, sizeof body, "%s\n%llu\n%s\ntime-ms %lld\n\n", cp.origin,
                         (unsigned long long)cp.size, b64, (long long)cp.time_ms);
        if (n <= 0 || (size_t)n > size || memcmp(body, text, (size_t)n) != 0)
            abort();
    } else {
        s_check_err(&err);
    }

    memset(&err, 0, sizeof err);
    sk_checkpoint_verifier_t *v = sk_checkpoint_verifier_parse(text, size, &err);
    if (v) {
        const char *name = sk_checkpoint_verifier_name(v);
        size_t len = strlen(name);
        if (len == 0 || len > SK_CHECKPOINT_NAME_MAX || strchr(name, '+') || strchr(name, ' '))
            abort();
        sk_checkpoint_verifier_destroy(&v);
    } else {
        s_check_err(&err);
    }

    for (size_t off = 0; off < size;) {
        size_t n;
        memset(&err, 0, sizeof err);
        if (sk_checkpoint_split(text + off, size - off, &n, &err) != 0) {
            s_check_err(&err);
            break;
        }
        if (n == 0 || n > size - off || n > SK_CHECKPOINT_MAX)
            abort();
        off += n;
    }
    return 0;
}
