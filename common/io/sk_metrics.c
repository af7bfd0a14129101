/* sk_metrics — registry and Prometheus text writer (see sk_metrics.h). */
#include "sk_metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk_grow.h"

const uint64_t SK_METRICS_LATENCY_NS[] = {
    100000,   250000,    500000,    1000000,   2500000,    5000000,    10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000};
const size_t SK_METRICS_LATENCY_N = sizeof SK_METRICS_LATENCY_NS / sizeof SK_METRICS_LATENCY_NS[0];

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

static const char *const s_type_name[] = {"counter", "gauge", "histogram"};

/* One series. The three public handle types are this struct under another
 * name, so a counter cannot be passed where a gauge is meant. */
typedef struct {
    s_type_t type;
    char *labels;           /* rendered and escaped: `kind="customer",outcome="accepted"`, or "" */
    _Atomic uint64_t value; /* counter; a gauge's int64 bits */
    size_t nbounds;
    uint64_t bounds[SK_METRICS_MAX_BUCKETS];
    _Atomic uint64_t buckets[SK_METRICS_MAX_BUCKETS + 1]; /* not cumulative; last: +Inf */
    _Atomic uint64_t sum_ns;
} s_series_t;

struct _sk_counter_t {
    s_series_t s;
};
struct _sk_gauge_t {
    s_series_t s;
};
struct _sk_histogram_t {
    s_series_t s;
};

typedef struct {
    char *name, *help;
    s_type_t type;
    int nlabels;
    char *label_names[SK_METRICS_MAX_LABELS];
    s_series_t **series;
    size_t nseries, cap;
} s_family_t;

struct _sk_metrics_t {
    pthread_mutex_t lock; /* registration and rendering; never the increments */
    s_family_t **families;
    size_t nfamilies, cap;
};

/* ---------------------------------------------------------------- registry */

sk_metrics_t *sk_metrics_new(void)
{
    sk_metrics_t *self = calloc(1, sizeof *self);
    if (self && pthread_mutex_init(&self->lock, NULL)) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_family_free(s_family_t *f)
{
    for (size_t i = 0; i < f->nseries; i++) {
        free(f->series[i]->labels);
        free(f->series[i]);
    }
    for (int i = 0; i < f->nlabels; i++)
        free(f->label_names[i]);
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

void sk_metrics_destroy(sk_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->nfamilies; i++)
        s_family_free(self->families[i]);
    free(self->families);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

static bool s_valid_name(const char *s, bool colon)
{
    if (!s || !*s || strlen(s) > SK_METRICS_NAME_MAX)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (colon && *p == ':');
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

static bool s_ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n > t && !strcmp(s + n - t, tail);
}

/* A growable text buffer; `failed` once an allocation failed. */
typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} s_buf_t;

static void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void s_puts(s_buf_t *b, const char *s)
{
    s_put(b, s, strlen(s));
}

/* Text with backslash and newline escaped, and the double quote too when
 * `quote` (label values; a help text keeps its quotes). */
static void s_put_escaped(s_buf_t *b, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            s_put(b, "\\\\", 2);
        else if (*p == '\n')
            s_put(b, "\\n", 2);
        else if (*p == '"' && quote)
            s_put(b, "\\\"", 2);
        else
            s_put(b, p, 1);
    }
}

/* Checks the label pairs and renders them (escaped) into *out. */
static int s_labels(const char *const *labels, int *n, const char *names[], char **out,
                    sk_err_t *err)
{
    s_buf_t b = {0};
    *n = 0;
    s_puts(&b, "");
    for (const char *const *l = labels; l && l[0]; l += 2) {
        if (*n == SK_METRICS_MAX_LABELS) {
            free(b.p);
            return sk_err_set(err, "bad_metric", "more than %d labels", SK_METRICS_MAX_LABELS);
        }
        if (!l[1]) {
            free(b.p);
            return sk_err_set(err, "bad_metric", "label %s has no value", l[0]);
        }
        if (!s_valid_name(l[0], false) || !strncmp(l[0], "__", 2) ||
            strlen(l[1]) > SK_METRICS_VALUE_MAX) {
            free(b.p);
            return sk_err_set(err, "bad_metric", "bad label name or value: %.64s", l[0]);
        }
        for (int k = 0; k < *n; k++)
            if (!strcmp(names[k], l[0])) {
                free(b.p);
                return sk_err_set(err, "bad_metric", "label %s given twice", l[0]);
            }
        names[(*n)++] = l[0];
        if (b.len)
            s_puts(&b, ",");
        s_puts(&b, l[0]);
        s_puts(&b, "=\"");
        s_put_escaped(&b, l[1], true);
        s_puts(&b, "\"");
    }
    if (b.failed) {
        free(b.p);
        return sk_err_set(err, "out_of_memory", "out of memory");
    }
    *out = b.p;
    return 0;
}

static s_family_t *s_family(sk_metrics_t *self, const char *name, const char *help, s_type_t type,
                            int nlabels, const char *names[], sk_err_t *err)
{
    for (size_t i = 0; i < self->nfamilies; i++) {
        s_family_t *f = self->families[i];
        if (strcmp(f->name, name))
            continue;
        bool same = f->type == type && !strcmp(f->help, help) && f->nlabels == nlabels;
        for (int k = 0; same && k < nlabels; k++)
            same = !strcmp(f->label_names[k], names[k]);
        if (!same) {
            sk_err_set(err, "bad_metric",
                       "%s registered again with another type, help or label names", name);
            return NULL;
        }
        return f;
    }
    s_family_t **v = sk_grow(self->families, self->nfamilies, &self->cap, sizeof *v, 16);
    if (!v)
        goto oom;
    self->families = v;
    s_family_t *f = calloc(1, sizeof *f);
    if (!f)
        goto oom;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help);
    bool ok = f->name && f->help;
    for (int k = 0; k < nlabels; k++, f->nlabels++)
        ok = ok && (f->label_names[k] = strdup(names[k])) != NULL;
    if (!ok) {
        s_family_free(f);
        goto oom;
    }
    self->families[self->nfamilies++] = f;
    return f;
oom:
    sk_err_set(err, "out_of_memory", "out of memory");
    return NULL;
}

static s_series_t *s_register(sk_metrics_t *self, s_type_t type, const char *name, const char *help,
                              const char *const *labels, const uint64_t *bounds, size_t nbounds,
                              sk_err_t *err)
{
    if (!self) {
        sk_err_set(err, "bad_metric", "no registry");
        return NULL;
    }
    if (!s_valid_name(name, true) || (type == S_COUNTER && !s_ends_with(name, "_total"))) {
        sk_err_set(err, "bad_metric", "bad metric name %.64s%s", name ? name : "(null)",
                   type == S_COUNTER ? " (a counter's name ends in _total)" : "");
        return NULL;
    }
    if (!help || strlen(help) > SK_METRICS_HELP_MAX) {
        sk_err_set(err, "bad_metric", "%s: help missing or too long", name);
        return NULL;
    }
    if (type == S_HISTOGRAM) {
        if (nbounds < 1 || nbounds > SK_METRICS_MAX_BUCKETS) {
            sk_err_set(err, "bad_metric", "%s: 1..%d buckets", name, SK_METRICS_MAX_BUCKETS);
            return NULL;
        }
        for (size_t i = 1; i < nbounds; i++)
            if (bounds[i] <= bounds[i - 1]) {
                sk_err_set(err, "bad_metric", "%s: bucket bounds must increase", name);
                return NULL;
            }
    }
    const char *names[SK_METRICS_MAX_LABELS];
    int n;
    char *rendered = NULL;
    if (s_labels(labels, &n, names, &rendered, err) || !rendered)
        return NULL;
    for (int k = 0; type == S_HISTOGRAM && k < n; k++)
        if (!strcmp(names[k], "le")) {
            free(rendered);
            sk_err_set(err, "bad_metric", "%s: a histogram cannot have a label le", name);
            return NULL;
        }

    s_series_t *s = NULL;
    pthread_mutex_lock(&self->lock);
    s_family_t *f = s_family(self, name, help, type, n, names, err);
    for (size_t i = 0; f && i < f->nseries && !s; i++)
        if (!strcmp(f->series[i]->labels, rendered))
            s = f->series[i];
    if (f && !s) {
        s_series_t **v = sk_grow(f->series, f->nseries, &f->cap, sizeof *v, 8);
        if (v)
            f->series = v;
    }
    if (f && !s && f->nseries < f->cap && (s = calloc(1, sizeof *s))) {
        s->type = type;
        s->labels = rendered;
        rendered = NULL;
        s->nbounds = nbounds;
        if (nbounds)
            memcpy(s->bounds, bounds, nbounds * sizeof *bounds);
        f->series[f->nseries++] = s;
    } else if (f && !s) {
        sk_err_set(err, "out_of_memory", "out of memory");
    }
    pthread_mutex_unlock(&self->lock);
    free(rendered);
    return s;
}

sk_counter_t *sk_metrics_counter(sk_metrics_t *self, const char *name, const char *help,
                                 const char *const *labels, sk_err_t *err)
{
    return (sk_counter_t *)s_register(self, S_COUNTER, name, help, labels, NULL, 0, err);
}

sk_gauge_t *sk_metrics_gauge(sk_metrics_t *self, const char *name, const char *help,
                             const char *const *labels, sk_err_t *err)
{
    return (sk_gauge_t *)s_register(self, S_GAUGE, name, help, labels, NULL, 0, err);
}

sk_histogram_t *sk_metrics_histogram(sk_metrics_t *self, const char *name, const char *help,
                                     const char *const *labels, const uint64_t *bounds_ns,
                                     size_t nbounds, sk_err_t *err)
{
    if (!bounds_ns) {
        bounds_ns = SK_METRICS_LATENCY_NS;
        nbounds = SK_METRICS_LATENCY_N;
    }
    return (sk_histogram_t *)s_register(self, S_HISTOGRAM, name, help, labels, bounds_ns, nbounds,
                                        err);
}

/* ---------------------------------------------------------------- hot path */

void sk_counter_add(sk_counter_t *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->s.value, n, memory_order_relaxed);
}

void sk_counter_inc(sk_counter_t *c)
{
    sk_counter_add(c, 1);
}

uint64_t sk_counter_value(const sk_counter_t *c)
{
    return c ? atomic_load_explicit(&c->s.value, memory_order_relaxed) : 0;
}

void sk_gauge_set(sk_gauge_t *g, int64_t v)
{
    if (g)
        atomic_store_explicit(&g->s.value, (uint64_t)v, memory_order_relaxed);
}

void sk_gauge_add(sk_gauge_t *g, int64_t delta)
{
    /* Two's complement: adding the bits of a negative delta subtracts. */
    if (g)
        atomic_fetch_add_explicit(&g->s.value, (uint64_t)delta, memory_order_relaxed);
}

int64_t sk_gauge_value(const sk_gauge_t *g)
{
    return g ? (int64_t)atomic_load_explicit(&g->s.value, memory_order_relaxed) : 0;
}

void sk_histogram_observe_ns(sk_histogram_t *h, uint64_t ns)
{
    if (!h)
        return;
    size_t i = 0;
    while (i < h->s.nbounds && ns > h->s.bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->s.buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->s.sum_ns, ns, memory_order_relaxed);
}

uint64_t sk_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sk_histogram_since(sk_histogram_t *h, uint64_t since_ns)
{
    if (!h || !since_ns)
        return;
    uint64_t now = sk_metrics_now_ns();
    sk_histogram_observe_ns(h, now > since_ns ? now - since_ns : 0);
}

uint64_t sk_histogram_count(const sk_histogram_t *h)
{
    uint64_t n = 0;
    for (size_t i = 0; h && i <= h->s.nbounds; i++)
        n += atomic_load_explicit(&h->s.buckets[i], memory_order_relaxed);
    return n;
}

/* ---------------------------------------------------------------- text format */

/* ns as decimal seconds, exactly: 5000000 -> "0.005", 1000000000 -> "1.0"
 * (the form Prometheus's own clients write). */
static void s_put_seconds(s_buf_t *b, uint64_t ns)
{
    char num[48];
    uint64_t frac = ns % 1000000000u;
    int n = snprintf(num, sizeof num, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, frac);
    while (n > 2 && num[n - 1] == '0' && num[n - 2] != '.')
        num[--n] = '\0';
    s_puts(b, num);
}

static void s_put_u64(s_buf_t *b, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    s_puts(b, num);
}

/* name{labels[,extra]} — the braces only when there is a label. */
static void s_put_sample_name(s_buf_t *b, const char *name, const char *suffix, const char *labels,
                              const char *extra)
{
    s_puts(b, name);
    s_puts(b, suffix);
    if (!*labels && !extra)
        return;
    s_puts(b, "{");
    s_puts(b, labels);
    if (extra) {
        if (*labels)
            s_puts(b, ",");
        s_puts(b, extra);
    }
    s_puts(b, "}");
}

static void s_put_histogram(s_buf_t *b, const char *name, const s_series_t *s)
{
    uint64_t acc = 0;
    for (size_t i = 0; i <= s->nbounds; i++) {
        acc += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        s_buf_t le = {0};
        s_puts(&le, "le=\"");
        if (i < s->nbounds)
            s_put_seconds(&le, s->bounds[i]);
        else
            s_puts(&le, "+Inf");
        s_puts(&le, "\"");
        if (le.failed)
            b->failed = true;
        else
            s_put_sample_name(b, name, "_bucket", s->labels, le.p);
        free(le.p);
        s_puts(b, " ");
        s_put_u64(b, acc);
        s_puts(b, "\n");
    }
    s_put_sample_name(b, name, "_sum", s->labels, NULL);
    s_puts(b, " ");
    s_put_seconds(b, atomic_load_explicit(&s->sum_ns, memory_order_relaxed));
    s_puts(b, "\n");
    s_put_sample_name(b, name, "_count", s->labels, NULL);
    s_puts(b, " ");
    s_put_u64(b, acc);
    s_puts(b, "\n");
}

char *sk_metrics_render(sk_metrics_t *self, size_t *len)
{
    s_buf_t b = {0};
    s_puts(&b, "");
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->nfamilies; i++) {
        const s_family_t *f = self->families[i];
        s_puts(&b, "# HELP ");
        s_puts(&b, f->name);
        s_puts(&b, " ");
        s_put_escaped(&b, f->help, false);
        s_puts(&b, "\n# TYPE ");
        s_puts(&b, f->name);
        s_puts(&b, " ");
        s_puts(&b, s_type_name[f->type]);
        s_puts(&b, "\n");
        for (size_t k = 0; k < f->nseries; k++) {
            const s_series_t *s = f->series[k];
            if (f->type == S_HISTOGRAM) {
                s_put_histogram(&b, f->name, s);
                continue;
            }
            s_put_sample_name(&b, f->name, "", s->labels, NULL);
            char num[24];
            uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
            if (f->type == S_GAUGE)
                snprintf(num, sizeof num, " %" PRId64 "\n", (int64_t)v);
            else
                snprintf(num, sizeof num, " %" PRIu64 "\n", v);
            s_puts(&b, num);
        }
    }
    pthread_mutex_unlock(&self->lock);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
