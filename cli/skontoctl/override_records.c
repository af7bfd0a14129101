/* override_records — see override_records.h. */
#include "override_records.h"

#include <stdio.h>
#include <string.h>

#include "cli_msg.h"
#include "keys.h"
#include "sk_redis.h"

bool sk_override_record_approved(const Skonto__V1__OverrideRecord *o)
{
    return o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__APPROVED ||
           o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__APPLIED ||
           o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__STALE;
}

long sk_override_record_refusals(const Skonto__V1__OverrideRecord *o)
{
    return (o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__REJECTED ||
            o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__EXPIRED ||
            o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__STALE) +
           (long)o->refused_decisions;
}

/* One page's records (kv: id, bytes, id, bytes, ...). */
static void s_page(const char *verb, const redisReply *kv, sk_day_t from, sk_day_t to,
                   sk_override_record_fn each, void *arg, const bool *stop)
{
    for (size_t i = 0; i + 1 < kv->elements && !(stop && *stop); i += 2) {
        const redisReply *v = kv->element[i + 1];
        Skonto__V1__OverrideRecord *o =
            v->type == REDIS_REPLY_STRING
                ? skonto__v1__override_record__unpack(NULL, v->len, (const uint8_t *)v->str)
                : NULL;
        if (!o) {
            char q[72];
            fprintf(stderr, "skontoctl %s: override %s does not decode; skipped\n", verb,
                    sk_cli_shorten(kv->element[i]->type == REDIS_REPLY_STRING ? kv->element[i]->str
                                                                              : "?",
                                   q, sizeof q));
            continue;
        }
        const Skonto__V1__OverrideRequested *q = o->request;
        sk_day_t day = q ? sk_time_day(q->requested_at_ms) : 0;
        if (q && day >= from && day <= to)
            each(arg, o, *o->salesperson ? o->salesperson : q->requested_by);
        skonto__v1__override_record__free_unpacked(o, NULL);
    }
}

int sk_override_records_scan(const char *verb, redisContext *c, sk_day_t from, sk_day_t to,
                             sk_override_record_fn each, void *arg, const bool *stop, char *why,
                             size_t nwhy)
{
    char cursor[32] = "0";
    do {
        const char *argv[] = {"HSCAN", SK_KEY_AUDIT_OVERRIDES, cursor, "COUNT", "1000"};
        redisReply *rep = redisCommandArgv(c, 5, argv, NULL);
        if (!rep) {
            snprintf(why, nwhy, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
            return -1;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            snprintf(why, nwhy, "Redis HSCAN %s: %s", SK_KEY_AUDIT_OVERRIDES, rep->str);
            freeReplyObject(rep);
            return -1;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(why, nwhy, "Redis HSCAN %s: not a scan reply", SK_KEY_AUDIT_OVERRIDES);
            freeReplyObject(rep);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        s_page(verb, rep->element[1], from, to, each, arg, stop);
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") && !(stop && *stop));
    return 0;
}
