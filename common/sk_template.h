/* sk_template — a small logic-less renderer for the mails Skonto sends.
 *
 * Debian 12 has no C template engine, so this is a subset of mustache:
 *   {{name}}        the value of name, HTML-escaped (& < > " ') in an HTML
 *                   template; as it is in a text template
 *   {{{name}}}      the value as it is (raw), in either kind
 *   {{#name}}..{{/name}}  a section: once per element of a list, with the
 *                   element's names in front of the outer ones; once for a
 *                   true flag or a non-empty string; never for a false flag,
 *                   an empty list or a name that is not set
 *   {{^name}}..{{/name}}  inverted: once exactly when the section would not run
 *   {{! comment}}   nothing
 * A section, inverted, closing or comment tag alone on its line takes the
 * whole line with it, so text templates keep their layout.
 *
 * Invariants: a template is parsed once (sk_tpl_new) and every error in it is
 * reported there with its line ("reminder.en.txt:12: {{/later}} closes
 * {{#soon}}"); rendering never reads outside the template or the data. A
 * variable ({{x}}, {{{x}}}) whose name is not set anywhere in scope is a
 * render error, never an empty string: a mail with a blank amount is worse
 * than a mail not sent. Everything is bounded: template size, tag name
 * length, nesting depth, and the rendered size (SK_TPL_MAX_*).
 *
 * Data (sk_tpl_data_t) is a tree of names: a name holds a string, a flag or a
 * list of child objects. The tree owns copies of every string it is given;
 * a child object belongs to its parent. Not thread-safe per object; distinct
 * objects are independent. */
#ifndef SK_TEMPLATE_H
#define SK_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sk_error.h"

#define SK_TPL_MAX_SOURCE (256 * 1024) /* bytes of one template */
#define SK_TPL_MAX_NAME 64             /* bytes of a tag name */
#define SK_TPL_MAX_DEPTH 8             /* sections inside sections */
#define SK_TPL_MAX_OUTPUT (4 * 1024 * 1024)

typedef enum {
    SK_TPL_HTML = 0, /* {{x}} is HTML-escaped (the default) */
    SK_TPL_TEXT = 1, /* {{x}} is copied as it is: a text/plain body */
} sk_tpl_kind_t;

typedef struct sk_tpl sk_tpl_t;
typedef struct sk_tpl_data sk_tpl_data_t;

/* Parses src[0..len) (name is used in error messages only). NULL on error:
 * err code "bad_template", the message "name:LINE: what is wrong". */
sk_tpl_t *sk_tpl_new(const char *name, const char *src, size_t len, sk_tpl_kind_t kind,
                     sk_err_t *err);
void sk_tpl_destroy(sk_tpl_t **self_p);

/* Renders with data into a NUL-terminated malloc'd string (the caller frees
 * it), *len_out its length when not NULL. NULL on error: code "bad_template"
 * for a name that is not set, "too_large" past SK_TPL_MAX_OUTPUT, "no_memory". */
char *sk_tpl_render(const sk_tpl_t *self, const sk_tpl_data_t *data, size_t *len_out,
                    sk_err_t *err);

/* HTML-escapes s[0..len) into a malloc'd NUL-terminated string: & < > " '
 * become &amp; &lt; &gt; &quot; &#39;, every other byte is copied (UTF-8
 * stays UTF-8). NULL only when out of memory. */
char *sk_tpl_escape_html(const char *s, size_t len);

sk_tpl_data_t *sk_tpl_data_new(void);
void sk_tpl_data_destroy(sk_tpl_data_t **self_p);
/* Sets name to a copy of value (replacing what name held). 0, or -1 when out
 * of memory or name is longer than SK_TPL_MAX_NAME. */
int sk_tpl_data_set(sk_tpl_data_t *self, const char *name, const char *value);
int sk_tpl_data_set_flag(sk_tpl_data_t *self, const char *name, bool value);
/* Appends a new empty object to the list name (creating the list) and returns
 * it, owned by self; NULL when out of memory. */
sk_tpl_data_t *sk_tpl_data_append(sk_tpl_data_t *self, const char *name);

#endif
