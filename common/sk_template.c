/* sk_template — see sk_template.h. */
#include "sk_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk_grow.h"

#define S_CODE "bad_template"

typedef enum { S_TEXT, S_VAR, S_RAW, S_SECTION, S_INVERTED } s_type_t;

/* One parsed piece. Text and names point into the template's copy of its
 * source; a section's children are nodes (i+1 .. end-1). */
typedef struct {
    s_type_t type;
    size_t off, len;
    size_t end;
    int line;
} s_node_t;

struct sk_tpl {
    char *name;
    char *src;
    size_t len;
    sk_tpl_kind_t kind;
    s_node_t *nodes;
    size_t n, cap;
};

typedef enum { S_STR, S_FLAG, S_LIST } s_vtype_t;

typedef struct {
    char *name;
    s_vtype_t type;
    char *str;
    bool flag;
    sk_tpl_data_t **items;
    size_t n, cap;
} s_entry_t;

struct sk_tpl_data {
    s_entry_t *e;
    size_t n, cap;
};

/* ---- parsing */

typedef struct {
    const sk_tpl_t *t;
    size_t line_pos; /* line is the line number of offset line_pos */
    int line;
} s_lines_t;

/* The line number of offset off (off never goes backwards between calls). */
static int s_line_at(s_lines_t *l, size_t off)
{
    for (; l->line_pos < off; l->line_pos++)
        if (l->t->src[l->line_pos] == '\n')
            l->line++;
    return l->line;
}

static int s_push(sk_tpl_t *t, s_type_t type, size_t off, size_t len, int line)
{
    s_node_t *p = sk_grow(t->nodes, t->n, &t->cap, sizeof *p, 32);
    if (!p)
        return -1;
    t->nodes = p;
    t->nodes[t->n++] = (s_node_t){type, off, len, 0, line};
    return 0;
}

static bool s_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trims blanks around src[*off..*off+*len) and checks it is a name. */
static int s_name(const sk_tpl_t *t, size_t *off, size_t *len, int line, sk_err_t *err)
{
    while (*len && s_blank(t->src[*off])) {
        (*off)++;
        (*len)--;
    }
    while (*len && s_blank(t->src[*off + *len - 1]))
        (*len)--;
    if (*len == 0)
        return sk_err_set(err, S_CODE, "%s:%d: a tag without a name", t->name, line);
    if (*len > SK_TPL_MAX_NAME)
        return sk_err_set(err, S_CODE, "%s:%d: a tag name longer than %d bytes", t->name, line,
                          SK_TPL_MAX_NAME);
    for (size_t i = 0; i < *len; i++)
        if (!s_name_char(t->src[*off + i])) {
            char q[SK_ERR_QUOTE_MAX];
            return sk_err_set(err, S_CODE, "%s:%d: tag name \"%s\": want letters, digits, _ - .",
                              t->name, line, sk_err_quote(t->src + *off, *len, q, sizeof q));
        }
    return 0;
}

static const char *s_find(const char *s, size_t from, size_t len, const char *what)
{
    size_t wl = strlen(what);
    for (size_t i = from; i + wl <= len; i++)
        if (memcmp(s + i, what, wl) == 0)
            return s + i;
    return NULL;
}

static int s_parse(sk_tpl_t *t, sk_err_t *err)
{
    s_lines_t lines = {t, 0, 1};
    size_t open[SK_TPL_MAX_DEPTH];
    int depth = 0;
    size_t pos = 0;
    const char *s = t->src;
    for (;;) {
        const char *o = s_find(s, pos, t->len, "{{");
        size_t start = o ? (size_t)(o - s) : t->len;
        if (!o) {
            if (start > pos && s_push(t, S_TEXT, pos, start - pos, 0) != 0)
                return sk_err_set(err, "no_memory", "%s: out of memory", t->name);
            break;
        }
        int line = s_line_at(&lines, start);
        bool triple = start + 2 < t->len && s[start + 2] == '{';
        const char *c = s_find(s, start + 2, t->len, triple ? "}}}" : "}}");
        if (!c)
            return sk_err_set(err, S_CODE, "%s:%d: \"%s\" is never closed with \"%s\"", t->name,
                              line, triple ? "{{{" : "{{", triple ? "}}}" : "}}");
        size_t end = (size_t)(c - s) + (triple ? 3 : 2);
        char sigil = triple ? '{' : s[start + 2];
        size_t noff = start + 3, nlen = (size_t)(c - s) - noff;
        s_type_t type;
        switch (sigil) {
        case '{':
        case '&':
            type = S_RAW;
            break;
        case '#':
            type = S_SECTION;
            break;
        case '^':
            type = S_INVERTED;
            break;
        case '/':
        case '!':
            type = S_TEXT; /* placeholder: closing and comment tags make no node */
            break;
        case '>':
        case '=':
            return sk_err_set(err, S_CODE,
                              "%s:%d: \"{{%c\" (partials, delimiters) is not supported", t->name,
                              line, sigil);
        default:
            type = S_VAR;
            noff = start + 2;
            nlen = (size_t)(c - s) - noff;
        }
        /* A block tag alone on its line takes the line (indentation and newline) with it. */
        size_t text_end = start, next = end;
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') {
            size_t ls = start;
            while (ls > pos && s_blank(s[ls - 1]))
                ls--;
            bool at_line_start = ls == 0 || (ls > pos && s[ls - 1] == '\n') ||
                                 (ls == pos && pos > 0 && s[pos - 1] == '\n');
            size_t e = end;
            while (e < t->len && s_blank(s[e]))
                e++;
            if (at_line_start && (e == t->len || s[e] == '\n')) {
                text_end = ls;
                next = e < t->len ? e + 1 : e;
            }
        }
        if (text_end > pos && s_push(t, S_TEXT, pos, text_end - pos, 0) != 0)
            return sk_err_set(err, "no_memory", "%s: out of memory", t->name);
        pos = next;
        if (sigil == '!')
            continue;
        if (s_name(t, &noff, &nlen, line, err) != 0)
            return -1;
        if (sigil == '/') {
            if (depth == 0)
                return sk_err_set(err, S_CODE, "%s:%d: {{/%.*s}} closes no section", t->name, line,
                                  (int)nlen, s + noff);
            s_node_t *sec = &t->nodes[open[depth - 1]];
            if (sec->len != nlen || memcmp(s + sec->off, s + noff, nlen) != 0)
                return sk_err_set(err, S_CODE, "%s:%d: {{/%.*s}} closes {{%c%.*s}} of line %d",
                                  t->name, line, (int)nlen, s + noff,
                                  sec->type == S_SECTION ? '#' : '^', (int)sec->len, s + sec->off,
                                  sec->line);
            sec->end = t->n;
            depth--;
            continue;
        }
        if (type == S_SECTION || type == S_INVERTED) {
            if (depth == SK_TPL_MAX_DEPTH)
                return sk_err_set(err, S_CODE, "%s:%d: sections nested deeper than %d", t->name,
                                  line, SK_TPL_MAX_DEPTH);
            open[depth++] = t->n;
        }
        if (s_push(t, type, noff, nlen, line) != 0)
            return sk_err_set(err, "no_memory", "%s: out of memory", t->name);
    }
    if (depth > 0) {
        const s_node_t *sec = &t->nodes[open[depth - 1]];
        return sk_err_set(err, S_CODE, "%s:%d: {{%c%.*s}} is never closed", t->name, sec->line,
                          sec->type == S_SECTION ? '#' : '^', (int)sec->len, s + sec->off);
    }
    return 0;
}

sk_tpl_t *sk_tpl_new(const char *name, const char *src, size_t len, sk_tpl_kind_t kind,
                     sk_err_t *err)
{
    if (len > SK_TPL_MAX_SOURCE) {
        sk_err_set(err, S_CODE, "%s: %zu bytes, more than the %d a template may have", name, len,
                   SK_TPL_MAX_SOURCE);
        return NULL;
    }
    sk_tpl_t *t = calloc(1, sizeof *t);
    if (t) {
        t->name = strdup(name);
        t->src = malloc(len + 1);
    }
    if (!t || !t->name || !t->src) {
        sk_tpl_destroy(&t);
        sk_err_set(err, "no_memory", "%s: out of memory", name);
        return NULL;
    }
    memcpy(t->src, src, len);
    t->src[len] = '\0';
    t->len = len;
    t->kind = kind;
    if (s_parse(t, err) != 0)
        sk_tpl_destroy(&t);
    return t;
}

void sk_tpl_destroy(sk_tpl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_tpl_t *t = *self_p;
    free(t->name);
    free(t->src);
    free(t->nodes);
    free(t);
    *self_p = NULL;
}

/* ---- data */

sk_tpl_data_t *sk_tpl_data_new(void)
{
    return calloc(1, sizeof(sk_tpl_data_t));
}

static void s_entry_clear(s_entry_t *e)
{
    free(e->str);
    e->str = NULL;
    for (size_t i = 0; i < e->n; i++)
        sk_tpl_data_destroy(&e->items[i]);
    free(e->items);
    e->items = NULL;
    e->n = e->cap = 0;
}

void sk_tpl_data_destroy(sk_tpl_data_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_tpl_data_t *d = *self_p;
    for (size_t i = 0; i < d->n; i++) {
        s_entry_clear(&d->e[i]);
        free(d->e[i].name);
    }
    free(d->e);
    free(d);
    *self_p = NULL;
}

static const s_entry_t *s_lookup(const sk_tpl_data_t *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->n; i++)
        if (strlen(d->e[i].name) == len && memcmp(d->e[i].name, name, len) == 0)
            return &d->e[i];
    return NULL;
}

/* The entry called name, created empty if absent; NULL when out of memory. */
static s_entry_t *s_entry(sk_tpl_data_t *d, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > SK_TPL_MAX_NAME)
        return NULL;
    s_entry_t *e = (s_entry_t *)s_lookup(d, name, len);
    if (e)
        return e;
    s_entry_t *p = sk_grow(d->e, d->n, &d->cap, sizeof *p, 8);
    if (!p)
        return NULL;
    d->e = p;
    e = &d->e[d->n];
    memset(e, 0, sizeof *e);
    if (!(e->name = strdup(name)))
        return NULL;
    d->n++;
    return e;
}

int sk_tpl_data_set(sk_tpl_data_t *self, const char *name, const char *value)
{
    char *copy = strdup(value);
    s_entry_t *e = copy ? s_entry(self, name) : NULL;
    if (!e) {
        free(copy);
        return -1;
    }
    s_entry_clear(e);
    e->type = S_STR;
    e->str = copy;
    return 0;
}

int sk_tpl_data_set_flag(sk_tpl_data_t *self, const char *name, bool value)
{
    s_entry_t *e = s_entry(self, name);
    if (!e)
        return -1;
    s_entry_clear(e);
    e->type = S_FLAG;
    e->flag = value;
    return 0;
}

sk_tpl_data_t *sk_tpl_data_append(sk_tpl_data_t *self, const char *name)
{
    s_entry_t *e = s_entry(self, name);
    if (!e)
        return NULL;
    if (e->type != S_LIST) {
        s_entry_clear(e);
        e->type = S_LIST;
    }
    sk_tpl_data_t **p = sk_grow(e->items, e->n, &e->cap, sizeof *p, 4);
    if (!p)
        return NULL;
    e->items = p;
    sk_tpl_data_t *child = sk_tpl_data_new();
    if (child)
        e->items[e->n++] = child;
    return child;
}

/* ---- rendering */

typedef struct {
    char *buf;
    size_t len, cap;
    bool too_large, no_memory;
} s_out_t;

static void s_put(s_out_t *o, const char *s, size_t len)
{
    if (o->too_large || o->no_memory)
        return;
    if (len > SK_TPL_MAX_OUTPUT - o->len) {
        o->too_large = true;
        return;
    }
    if (o->len + len + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->len + len + 1)
            cap *= 2;
        char *p = realloc(o->buf, cap);
        if (!p) {
            o->no_memory = true;
            return;
        }
        o->buf = p;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, len);
    o->len += len;
    o->buf[o->len] = '\0';
}

static const char *s_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

static void s_put_escaped(s_out_t *o, const char *s, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *ent = s_entity(s[i]);
        if (ent) {
            s_put(o, s + from, i - from);
            s_put(o, ent, strlen(ent));
            from = i + 1;
        }
    }
    s_put(o, s + from, len - from);
}

char *sk_tpl_escape_html(const char *s, size_t len)
{
    s_out_t o = {0};
    s_put(&o, "", 0);
    s_put_escaped(&o, s, len);
    if (o.no_memory || o.too_large) {
        free(o.buf);
        return NULL;
    }
    if (!o.buf)
        return strdup("");
    return o.buf;
}

/* The innermost scope's entry for name (scopes[n-1] is the innermost). */
static const s_entry_t *s_resolve(const sk_tpl_data_t *const *scopes, int n, const char *name,
                                  size_t len)
{
    for (int i = n - 1; i >= 0; i--) {
        const s_entry_t *e = s_lookup(scopes[i], name, len);
        if (e)
            return e;
    }
    return NULL;
}

static bool s_truthy(const s_entry_t *e)
{
    if (!e)
        return false;
    switch (e->type) {
    case S_STR:
        return e->str[0] != '\0';
    case S_FLAG:
        return e->flag;
    default:
        return e->n > 0;
    }
}

static int s_render(const sk_tpl_t *t, size_t from, size_t to, const sk_tpl_data_t **scopes,
                    int nscopes, s_out_t *o, sk_err_t *err)
{
    for (size_t i = from; i < to; i++) {
        const s_node_t *n = &t->nodes[i];
        const char *name = t->src + n->off;
        if (n->type == S_TEXT) {
            s_put(o, name, n->len);
            continue;
        }
        const s_entry_t *e = s_resolve(scopes, nscopes, name, n->len);
        if (n->type == S_VAR || n->type == S_RAW) {
            if (!e || e->type == S_LIST)
                return sk_err_set(err, S_CODE, "%s:%d: no value named \"%.*s\"", t->name, n->line,
                                  (int)n->len, name);
            const char *v = e->type == S_STR ? e->str : e->flag ? "true" : "false";
            if (n->type == S_VAR && t->kind == SK_TPL_HTML)
                s_put_escaped(o, v, strlen(v));
            else
                s_put(o, v, strlen(v));
            continue;
        }
        bool run = s_truthy(e);
        if (n->type == S_INVERTED) {
            if (!run && s_render(t, i + 1, n->end, scopes, nscopes, o, err) != 0)
                return -1;
        } else if (run && e->type == S_LIST) {
            /* nscopes <= depth + 1 <= SK_TPL_MAX_DEPTH + 1: the parser bounds it */
            for (size_t k = 0; k < e->n; k++) {
                scopes[nscopes] = e->items[k];
                if (s_render(t, i + 1, n->end, scopes, nscopes + 1, o, err) != 0)
                    return -1;
            }
        } else if (run && s_render(t, i + 1, n->end, scopes, nscopes, o, err) != 0) {
            return -1;
        }
        i = n->end - 1;
        if (o->too_large || o->no_memory)
            break;
    }
    return 0;
}

char *sk_tpl_render(const sk_tpl_t *self, const sk_tpl_data_t *data, size_t *len_out, sk_err_t *err)
{
    const sk_tpl_data_t *scopes[SK_TPL_MAX_DEPTH + 1] = {data};
    s_out_t o = {0};
    s_put(&o, "", 0);
    if (s_render(self, 0, self->n, scopes, 1, &o, err) != 0) {
        free(o.buf);
        return NULL;
    }
    if (o.too_large || o.no_memory) {
        free(o.buf);
        if (o.too_large)
            sk_err_set(err, "too_large", "%s: renders to more than %d bytes", self->name,
                       SK_TPL_MAX_OUTPUT);
        else
            sk_err_set(err, "no_memory", "%s: out of memory", self->name);
        return NULL;
    }
    if (len_out)
        *len_out = o.len;
    return o.buf;
}
