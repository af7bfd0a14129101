/* sk_metrics_event — counters by event kind and outcome (see sk_metrics_event.h). */
#include "sk_metrics_event.h"

#include <stdlib.h>
#include <string.h>

#define S_CASES 64 /* body cases (field numbers) with a row of their own; others: unknown */

struct _sk_event_counters_t {
    int noutcomes;
    /* Row per body case; every case without a kind of its own points at the
     * "unknown" row (case 0), so the lookup needs no test. */
    sk_counter_t *by_case[S_CASES][SK_METRICS_EVENT_OUTCOMES];
};

static int s_row(sk_event_counters_t *self, sk_metrics_t *m, int row, const char *kind,
                 const char *name, const char *help, const char *const *outcomes, sk_err_t *err)
{
    for (int k = 0; k < self->noutcomes; k++) {
        const char *labels[] = {"kind", kind, "outcome", outcomes[k], NULL};
        self->by_case[row][k] = sk_metrics_counter(m, name, help, labels, err);
        if (!self->by_case[row][k])
            return -1;
    }
    return 0;
}

sk_event_counters_t *sk_event_counters_new(sk_metrics_t *m, const char *name, const char *help,
                                           const char *const *outcomes, sk_err_t *err)
{
    sk_event_counters_t *self = calloc(1, sizeof *self);
    if (!self) {
        sk_err_set(err, "out_of_memory", "out of memory");
        return NULL;
    }
    while (outcomes[self->noutcomes] && self->noutcomes < SK_METRICS_EVENT_OUTCOMES)
        self->noutcomes++;
    if (outcomes[self->noutcomes]) {
        sk_err_set(err, "bad_metric", "%s: more than %d outcomes", name, SK_METRICS_EVENT_OUTCOMES);
        free(self);
        return NULL;
    }
    const ProtobufCMessageDescriptor *d = &skonto__v1__envelope__descriptor;
    int rc = 0;
    for (unsigned i = 0; i < d->n_fields && !rc; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->id >= S_CASES)
            continue;
        Skonto__V1__Envelope probe = SKONTO__V1__ENVELOPE__INIT;
        probe.body_case = (Skonto__V1__Envelope__BodyCase)f->id;
        rc = s_row(self, m, (int)f->id, sk_event_kind_name(&probe), name, help, outcomes, err);
    }
    if (!rc)
        rc = s_row(self, m, 0, sk_event_kind_name(NULL), name, help, outcomes, err);
    if (rc) {
        free(self);
        return NULL;
    }
    for (int row = 1; row < S_CASES; row++)
        if (!self->by_case[row][0])
            memcpy(self->by_case[row], self->by_case[0], sizeof self->by_case[0]);
    return self;
}

void sk_event_counters_destroy(sk_event_counters_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p); /* the counters belong to the registry */
    *self_p = NULL;
}

void sk_event_counters_inc(sk_event_counters_t *self, const Skonto__V1__Envelope *env, int outcome)
{
    if (!self || outcome < 0 || outcome >= self->noutcomes)
        return;
    unsigned c = env ? (unsigned)env->body_case : 0;
    sk_counter_inc(self->by_case[c < S_CASES ? c : 0][outcome]);
}
