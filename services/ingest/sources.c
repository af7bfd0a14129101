/* sources — sequence tracking of the PUB feeds (see sources.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "sk_log.h"
#include "sources.h"

/* Sequence tracking of one PUB source. */
typedef struct {
    char name[SK_EVENT_ID_MAX + 1];
    uint64_t last;     /* last sequence number seen (0 = none) */
    uint64_t new_gaps; /* missing numbers found since the last write to Redis */
    bool loaded;       /* last was read from sk:{sys}:seq */
    bool loading;      /* an HGET is in the current pipeline */
    bool dirty;        /* last must be written back */
} s_source_t;

struct _ingest_sources_t {
    s_source_t *sources;
    size_t nsources, cap_sources;
};

ingest_sources_t *ingest_sources_new(void)
{
    return calloc(1, sizeof(ingest_sources_t));
}

void ingest_sources_destroy(ingest_sources_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->sources);
    free(*self_p);
    *self_p = NULL;
}

/* The sequence record of a PUB source, created on first sight; -1 if the
 * source is not a clean id (the message is then rejected anyway). */
static int s_source_index(ingest_sources_t *self, const char *name)
{
    size_t len = strlen(name);
    char clean[SK_EVENT_ID_MAX + 1];
    if (len == 0 || len > SK_EVENT_ID_MAX)
        return -1;
    sk_utf8_sanitize(clean, sizeof clean, name, len);
    if (strcmp(clean, name) != 0)
        return -1;
    for (size_t i = 0; i < self->nsources; i++)
        if (!strcmp(self->sources[i].name, name))
            return (int)i;
    if (self->nsources == self->cap_sources) {
        size_t cap = self->cap_sources ? self->cap_sources * 2 : 8;
        if (cap > 4096)
            return -1; /* a feed inventing sources: stop tracking new ones */
        s_source_t *s = realloc(self->sources, cap * sizeof *s);
        if (!s)
            return -1;
        self->sources = s;
        self->cap_sources = cap;
    }
    s_source_t *s = &self->sources[self->nsources];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, len + 1);
    return (int)self->nsources++;
}

void ingest_sources_track(ingest_sources_t *self, ingest_item_t *it)
{
    if (it->origin > 0 && it->env && it->env->sequence > 0)
        it->src = s_source_index(self, ingest_str(it->env->source));
}

void ingest_sources_forget(ingest_sources_t *self)
{
    for (size_t i = 0; i < self->nsources; i++)
        self->sources[i].loaded = self->sources[i].loading = false;
}

int ingest_sources_append_load(ingest_sources_t *self, ingest_pipe_t *pipe, ingest_item_t *it)
{
    it->seq_load = false;
    if (it->src < 0)
        return 0;
    s_source_t *src = &self->sources[it->src];
    if (src->loaded || src->loading)
        return 0;
    const char *argv[3] = {"HGET", SK_KEY_SEQUENCES, src->name};
    if (ingest_pipe_appendv(pipe, 3, argv))
        return -1;
    src->loading = true;
    it->seq_load = true;
    return 0;
}

int ingest_sources_read_load(ingest_sources_t *self, ingest_pipe_t *pipe, ingest_item_t *it)
{
    if (!it->seq_load)
        return 0;
    redisReply *r;
    if (ingest_pipe_get(pipe, &r))
        return -1;
    s_source_t *src = &self->sources[it->src];
    src->loading = false;
    if (r->type == REDIS_REPLY_STRING) {
        src->last = strtoull(r->str, NULL, 10);
        src->loaded = true;
    } else if (r->type == REDIS_REPLY_NIL) {
        src->last = 0;
        src->loaded = true;
    } else {
        sk_log("redis: HGET %s %s: %s", SK_KEY_SEQUENCES, src->name,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return 0;
}

void ingest_sources_account(ingest_sources_t *self, const ingest_item_t *it)
{
    /* An event Redis did not take counts as missing. */
    if (it->src < 0 || ingest_item_unrecorded(it))
        return;
    s_source_t *src = &self->sources[it->src];
    if (!src->loaded)
        return;
    uint64_t seq = it->env->sequence;
    if (seq > src->last + 1) {
        uint64_t missing = seq - src->last - 1;
        src->new_gaps += missing;
        sk_log("gap: source %s missing %" PRIu64 " event%s (%" PRIu64 "..%" PRIu64 ")", src->name,
               missing, missing == 1 ? "" : "s", src->last + 1, seq - 1);
    } else if (seq <= src->last && !ingest_item_duplicate(it)) {
        sk_log("sequence: source %s sent %" PRIu64 " after %" PRIu64
               " (publisher restarted or reordered)",
               src->name, seq, src->last);
    }
    if (seq > src->last) {
        src->last = seq;
        src->dirty = true;
    }
}

/* The two writes of a source: k 0 its last number (HSET), k 1 the gaps found
 * since the last write (HINCRBY); whether it has one to make. */
static bool s_unwritten(const s_source_t *s, int k)
{
    return k == 0 ? s->dirty : s->new_gaps != 0;
}

int ingest_sources_write(ingest_sources_t *self, ingest_pipe_t *pipe)
{
    int queued = 0;
    for (size_t i = 0; i < self->nsources; i++) {
        s_source_t *s = &self->sources[i];
        for (int k = 0; k < 2; k++) {
            if (!s_unwritten(s, k))
                continue;
            char num[24];
            snprintf(num, sizeof num, "%" PRIu64, k == 0 ? s->last : s->new_gaps);
            const char *argv[4] = {k == 0 ? "HSET" : "HINCRBY",
                                   k == 0 ? SK_KEY_SEQUENCES : SK_KEY_GAPS, s->name, num};
            if (ingest_pipe_appendv(pipe, 4, argv))
                return -1;
            queued++;
        }
    }
    if (!queued)
        return 0;
    for (size_t i = 0; i < self->nsources; i++) {
        s_source_t *s = &self->sources[i];
        for (int k = 0; k < 2; k++) {
            if (!s_unwritten(s, k))
                continue;
            redisReply *r;
            if (ingest_pipe_get(pipe, &r))
                return -1;
            if (r->type == REDIS_REPLY_INTEGER) {
                if (k == 0)
                    s->dirty = false;
                else
                    s->new_gaps = 0;
            } else {
                sk_log("redis: sequence bookkeeping for %s: %s", s->name,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            }
            freeReplyObject(r);
        }
    }
    return 0;
}
