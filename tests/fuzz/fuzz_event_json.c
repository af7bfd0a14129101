/* fuzz_event_json — libFuzzer target: the input as one JSON line for
 * `skontoctl send` (sk_event_json_parse).
 *
 * Properties, each an abort() when broken:
 *   - a rejection has one of the documented codes and a one-line UTF-8 message;
 *   - an accepted line packs to bytes that protobuf-c decodes and re-packs to
 *     the same bytes;
 *   - the envelope shown as JSON (sk_event_to_json) reads back to the same
 *     bytes, whenever its amounts could be shown in a currency;
 *   - ingest's validator never crashes on it, and its rejections are one line.
 * The lookup plays the caller's order table: order ids starting with 'S' are
 * CNY orders, 'J' JPY, 'X' an order with a currency the table does not know. */
#include <stdlib.h>

#include "event_json.h"
#include "fuzz_common.h"
#include "event.h"

static const char *s_lookup(void *arg, const char *order_id)
{
    (void)arg;
    switch (order_id[0]) {
    case 'S':
        return "CNY";
    case 'J':
        return "JPY";
    case 'X':
        return "XXX";
    default:
        return NULL;
    }
}

static const char *const s_codes[] = {"bad_json",      "bad_type",  "missing_field",
                                      "unknown_field", "bad_field", "bad_amount",
                                      "bad_currency",  "bad_date",  "nomem"};

static void s_check_rejection(const sk_err_t *err)
{
    sk_fuzz_check_err(err);
    for (size_t i = 0; i < sizeof s_codes / sizeof s_codes[0]; i++)
        if (strcmp(err->code, s_codes[i]) == 0)
            return;
    fprintf(stderr, "fuzz_event_json: undocumented code %s (%s)\n", err->code, err->msg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    sk_err_t err;
    sk_err_clear(&err);
    sk_event_json_t *ev = sk_event_json_parse((const char *)data, size, s_lookup, NULL, &err);
    if (!ev) {
        s_check_rejection(&err);
        return 0;
    }
    const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
    CHECK(env->body_case != SKONTO__V1__ENVELOPE__BODY__NOT_SET);

    uint8_t *bytes = NULL;
    size_t n = sk_event_json_pack(ev, &bytes);
    CHECK(n > 0 && bytes != NULL);
    Skonto__V1__Envelope *back = skonto__v1__envelope__unpack(NULL, n, bytes);
    CHECK(back != NULL);
    CHECK(skonto__v1__envelope__get_packed_size(back) == n);
    uint8_t *again = malloc(n);
    CHECK(again != NULL);
    CHECK(skonto__v1__envelope__pack(back, again) == n);
    CHECK(memcmp(bytes, again, n) == 0);
    free(again);
    skonto__v1__envelope__free_unpacked(back, NULL);

    json_t *j = sk_event_to_json(env);
    CHECK(j != NULL);
    if (!json_object_get(j, "amount_minor") && !json_object_get(j, "tax_minor")) {
        char *text = json_dumps(j, JSON_COMPACT);
        CHECK(text != NULL);
        sk_event_json_t *ev2 = sk_event_json_parse(text, strlen(text), s_lookup, NULL, &err);
        if (!ev2) {
            fprintf(stderr, "fuzz_event_json: shown as %s, rejected: %s: %s\n", text, err.code,
                    err.msg);
            abort();
        }
        uint8_t *bytes2 = NULL;
        size_t n2 = sk_event_json_pack(ev2, &bytes2);
        CHECK(n2 == n && memcmp(bytes, bytes2, n) == 0);
        free(bytes2);
        sk_event_json_destroy(&ev2);
        free(text);
    }
    json_decref(j);

    if (sk_event_validate(env, &err) != 0)
        sk_fuzz_check_err(&err);
    free(bytes);
    sk_event_json_destroy(&ev);
    return 0;
}
