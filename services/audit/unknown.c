/* unknown — see unknown.h. */
#include "unknown.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HOUR_MS ((int64_t)3600 * 1000)

typedef struct {
    uint8_t key[32];
    int64_t last_ms; /* its last entry */
    uint64_t seq;    /* ... at this position */
    uint64_t more;   /* attempts since, not logged */
} s_key_t;

struct _audit_unknown_t {
    int64_t every_ms;
    s_key_t keys[AUDIT_UNKNOWN_KEYS_MAX];
    size_t nkeys;
    /* the times of the last AUDIT_UNKNOWN_PER_HOUR entries, oldest at head */
    int64_t ring[AUDIT_UNKNOWN_PER_HOUR];
    size_t nring, head;
    uint64_t other; /* attempts of keys without an entry, since the last entry */
    bool has_last;
    uint64_t last_seq; /* the last unknown-key entry */
    uint64_t unlogged;
};

audit_unknown_t *audit_unknown_new(int64_t every_ms)
{
    audit_unknown_t *self = calloc(1, sizeof *self);
    if (self)
        self->every_ms = every_ms;
    return self;
}

void audit_unknown_destroy(audit_unknown_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static s_key_t *s_find(audit_unknown_t *self, const uint8_t key[32])
{
    for (size_t i = 0; i < self->nkeys; i++)
        if (!memcmp(self->keys[i].key, key, 32))
            return &self->keys[i];
    return NULL;
}

/* One more attempt without an entry: its key's, if known, else nobody's. */
static void s_count(audit_unknown_t *self, s_key_t *k, uint64_t n)
{
    if (k)
        k->more += n;
    else
        self->other += n;
    self->unlogged += n;
}

bool audit_unknown_attempt(audit_unknown_t *self, const uint8_t key[32], int64_t now_ms,
                           audit_unknown_verdict_t *v)
{
    memset(v, 0, sizeof *v);
    s_key_t *k = s_find(self, key);
    bool budget =
        self->nring < AUDIT_UNKNOWN_PER_HOUR || now_ms - self->ring[self->head] >= S_HOUR_MS;
    if ((k && now_ms - k->last_ms < self->every_ms) || !budget) {
        s_count(self, k, 1);
        return false;
    }
    if (k)
        v->key_more = k->more, v->key_prev = true, v->key_prev_seq = k->seq;
    v->other_more = self->other;
    v->other_prev = self->has_last, v->other_prev_seq = self->last_seq;
    return true;
}

void audit_unknown_logged(audit_unknown_t *self, const uint8_t key[32], int64_t now_ms, bool ok,
                          uint64_t seq)
{
    s_key_t *k = s_find(self, key);
    if (!ok) {
        s_count(self, k, 1);
        return;
    }
    if (!k && self->nkeys < AUDIT_UNKNOWN_KEYS_MAX)
        k = &self->keys[self->nkeys++];
    else if (!k) {
        /* full: forget the key logged longest ago; its count is nobody's now */
        k = &self->keys[0];
        for (size_t i = 1; i < self->nkeys; i++)
            if (self->keys[i].last_ms < k->last_ms)
                k = &self->keys[i];
        self->other += k->more;
    }
    memcpy(k->key, key, 32);
    k->last_ms = now_ms, k->seq = seq, k->more = 0;
    self->other = 0;
    self->has_last = true, self->last_seq = seq;
    if (self->nring < AUDIT_UNKNOWN_PER_HOUR) {
        self->ring[(self->head + self->nring++) % AUDIT_UNKNOWN_PER_HOUR] = now_ms;
    } else {
        self->ring[self->head] = now_ms;
        self->head = (self->head + 1) % AUDIT_UNKNOWN_PER_HOUR;
    }
}

void audit_unknown_dropped(audit_unknown_t *self, uint64_t n)
{
    s_count(self, NULL, n);
}

uint64_t audit_unknown_unlogged(const audit_unknown_t *self)
{
    return self->unlogged;
}

void audit_unknown_message(char *buf, size_t n, const char *key_z85, const char *addr,
                           const audit_unknown_verdict_t *v)
{
    int w = snprintf(buf, n, "unknown key %s from %s: %" PRIu64 " attempt%s", key_z85,
                     *addr ? addr : "?", 1 + v->key_more, v->key_more ? "s" : "");
    if (w < 0 || (size_t)w >= n)
        return;
    if (v->key_more)
        w += snprintf(buf + w, n - (size_t)w,
                      " (this one and %" PRIu64 " more attempts since entry %" PRIu64 ")",
                      v->key_more, v->key_prev_seq);
    if (w < 0 || (size_t)w >= n || !v->other_more)
        return;
    if (v->other_prev)
        snprintf(buf + w, n - (size_t)w,
                 "; and %" PRIu64 " more attempts of unknown keys not logged since entry %" PRIu64
                 " (at most %d entries an hour)",
                 v->other_more, v->other_prev_seq, AUDIT_UNKNOWN_PER_HOUR);
    else
        snprintf(buf + w, n - (size_t)w,
                 "; and %" PRIu64 " more attempts of unknown keys not logged since the worker "
                 "started (at most %d entries an hour)",
                 v->other_more, AUDIT_UNKNOWN_PER_HOUR);
}
