/* sk_map — a bounded string -> intptr_t hash map (see sk_map.h). */
#include <stdlib.h>
#include <string.h>

#include "sk_hash.h"
#include "sk_map.h"

#define S_MIN_CAP 64

typedef struct {
    char *key; /* owned; NULL = empty slot */
    intptr_t val;
} s_entry_t;

struct _sk_map_t {
    s_entry_t *e;
    size_t cap; /* power of two, or 0 before the first insert */
    size_t n;
    size_t max;
};

sk_map_t *sk_map_new(size_t max)
{
    sk_map_t *self = calloc(1, sizeof *self);
    if (self)
        self->max = max;
    return self;
}

void sk_map_destroy(sk_map_t **self_p)
{
    sk_map_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->cap; i++)
        free(self->e[i].key);
    free(self->e);
    free(self);
    *self_p = NULL;
}

static s_entry_t *s_find(const sk_map_t *self, const char *key)
{
    if (!self->cap)
        return NULL;
    size_t mask = self->cap - 1;
    for (size_t i = sk_fnv1a64(key) & mask;; i = (i + 1) & mask) {
        if (!self->e[i].key)
            return NULL;
        if (!strcmp(self->e[i].key, key))
            return &self->e[i];
    }
}

static int s_grow(sk_map_t *self)
{
    if (self->cap > SIZE_MAX / 2 / sizeof(s_entry_t))
        return -1;
    size_t cap = self->cap ? self->cap * 2 : S_MIN_CAP;
    s_entry_t *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    for (size_t j = 0; j < self->cap; j++) {
        if (!self->e[j].key)
            continue;
        size_t i = sk_fnv1a64(self->e[j].key) & (cap - 1);
        while (e[i].key)
            i = (i + 1) & (cap - 1);
        e[i] = self->e[j];
    }
    free(self->e);
    self->e = e;
    self->cap = cap;
    return 0;
}

int sk_map_put(sk_map_t *self, const char *key, intptr_t val)
{
    s_entry_t *f = s_find(self, key);
    if (f) {
        f->val = val;
        return 1;
    }
    if (self->n >= self->max)
        return -1;
    /* At most half full: probe chains stay short. */
    if ((self->n + 1) * 2 > self->cap && s_grow(self) < 0)
        return -1;
    char *k = strdup(key);
    if (!k)
        return -1;
    size_t mask = self->cap - 1;
    size_t i = sk_fnv1a64(key) & mask;
    while (self->e[i].key)
        i = (i + 1) & mask;
    self->e[i].key = k;
    self->e[i].val = val;
    self->n++;
    return 0;
}

bool sk_map_get(const sk_map_t *self, const char *key, intptr_t *val)
{
    const s_entry_t *f = s_find(self, key);
    if (f && val)
        *val = f->val;
    return f != NULL;
}

void sk_map_del(sk_map_t *self, const char *key)
{
    s_entry_t *f = s_find(self, key);
    if (!f)
        return;
    size_t mask = self->cap - 1;
    size_t i = (size_t)(f - self->e);
    free(f->key);
    f->key = NULL;
    self->n--;
    /* Backward-shift deletion: an entry after the hole moves into it unless
     * its home slot lies in (i, j] cyclically, where a lookup still finds it. */
    for (size_t j = (i + 1) & mask; self->e[j].key; j = (j + 1) & mask) {
        size_t home = sk_fnv1a64(self->e[j].key) & mask;
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        self->e[i] = self->e[j];
        self->e[j].key = NULL;
        i = j;
    }
}

void sk_map_clear(sk_map_t *self)
{
    for (size_t i = 0; i < self->cap && self->n; i++) {
        if (self->e[i].key) {
            free(self->e[i].key);
            self->e[i].key = NULL;
            self->n--;
        }
    }
}

size_t sk_map_size(const sk_map_t *self)
{
    return self->n;
}
