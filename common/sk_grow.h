/* sk_grow — the one way an array grows in this project: by doubling.
 *
 *     s_node_t *p = sk_grow(t->nodes, t->n, &t->cap, sizeof *p, 32);
 *     if (!p)
 *         return -1;        // out of memory: t->nodes and t->cap unchanged
 *     t->nodes = p;
 *     t->nodes[t->n++] = node;
 *
 * Returns arr with room for element n (arr itself while n < *cap, else the
 * array reallocated to twice *cap elements of `size` bytes, or to `first`
 * when it has none, and *cap updated); NULL when out of memory or the size
 * would overflow, leaving arr and *cap as they were. */
#ifndef SK_GROW_H
#define SK_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline void *sk_grow(void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc < *cap || (size && nc > SIZE_MAX / size))
        return NULL;
    void *p = realloc(arr, nc * size);
    if (p)
        *cap = nc;
    return p;
}

#endif
