/* fuzz_proto — libFuzzer target: the input decoded as every message of
 * proto/skonto/v1/skonto.proto.
 *
 * For each message type: unpack (protobuf-c), and if that succeeds check the
 * message, pack it again and free it. The input is also what ingest receives
 * from an ERP, so it goes through ingest's decoder and validator
 * (sk_event_decode / sk_event_validate) and
 * through the dead-letter display (sk_event_to_json), none of which may crash
 * on anything protobuf-c accepts. An envelope the validator accepts must also
 * survive the JSON bridge: shown as JSON, read back by sk_event_json_parse and
 * validated again. A new message in the .proto belongs in s_messages. */
#include <stdlib.h>

#include "event_json.h"
#include "fuzz_common.h"
#include "skonto/v1/skonto.pb-c.h"
#include "event.h"

static const ProtobufCMessageDescriptor *const s_messages[] = {
    &skonto__v1__envelope__descriptor,
    &skonto__v1__customer_upsert__descriptor,
    &skonto__v1__invoice__descriptor,
    &skonto__v1__payment_received__descriptor,
    &skonto__v1__credit_note__descriptor,
    &skonto__v1__order_cancelled__descriptor,
    &skonto__v1__ack__descriptor,
    &skonto__v1__schedule_tier__descriptor,
    &skonto__v1__schedule_computed__descriptor,
    &skonto__v1__reminder_due__descriptor,
    &skonto__v1__override_requested__descriptor,
    &skonto__v1__override_decided__descriptor,
    &skonto__v1__override_applied__descriptor,
    &skonto__v1__audit_event__descriptor,
};

static void s_unpack_each(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof s_messages / sizeof s_messages[0]; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(s_messages[i], NULL, size, data);
        if (!m)
            continue;
        CHECK(m->descriptor == s_messages[i]);
        CHECK(protobuf_c_message_check(m));
        size_t n = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);
        CHECK(buf != NULL);
        CHECK(protobuf_c_message_pack(m, buf) == n);
        free(buf);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* The dead-letter display of any decodable envelope, valid or not. */
static json_t *s_show(const Skonto__V1__Envelope *env)
{
    json_t *j = sk_event_to_json(env);
    CHECK(j != NULL);
    CHECK(json_is_string(json_object_get(j, "type")));
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(text != NULL);
    free(text);
    return j;
}

/* A valid envelope shown as a JSON line and read back is still valid: the
 * bridge (skontoctl send) loses nothing ingest needs. Lines whose amounts
 * cannot be shown in a currency (payments without one, credit notes) are
 * shown in minor units and are not input lines, so they are skipped. */
static void s_bridge_roundtrip(const Skonto__V1__Envelope *env, json_t *j)
{
    if (json_object_get(j, "amount_minor") || json_object_get(j, "tax_minor") ||
        json_is_string(json_object_get(j, "sequence")))
        return;
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(text != NULL);
    sk_err_t err;
    sk_err_clear(&err);
    sk_event_json_t *ev = sk_event_json_parse(text, strlen(text), NULL, NULL, &err);
    if (!ev) {
        fprintf(stderr, "fuzz_proto: valid envelope shown as %s is rejected: %s: %s\n", text,
                err.code, err.msg);
        abort();
    }
    const Skonto__V1__Envelope *back = sk_event_json_envelope(ev);
    CHECK(back->body_case == env->body_case);
    CHECK(strcmp(back->event_id, env->event_id) == 0);
    if (sk_event_validate(back, &err) != 0) {
        fprintf(stderr, "fuzz_proto: %s read back is invalid: %s: %s\n", text, err.code, err.msg);
        abort();
    }
    sk_event_json_destroy(&ev);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_unpack_each(data, size);

    Skonto__V1__Envelope *env = NULL;
    sk_err_t err;
    sk_err_clear(&err);
    int rc = sk_event_decode(data, size, &env, &err);
    if (rc != 0)
        sk_fuzz_check_err(&err);
    if (env) {
        json_t *j = s_show(env);
        if (rc == 0)
            s_bridge_roundtrip(env, j);
        json_decref(j);
        sk_event_free(env);
    } else {
        CHECK(rc != 0);
    }
    return 0;
}
