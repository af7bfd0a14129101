/* cli_output — tables, JSON and formatters of skontoctl (see cli_output.h). */
#include "cli_output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sk_grow.h"

const char *sk_cli_weekday(sk_day_t day)
{
    static const char *const names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    int wd = sk_date_weekday(day);
    return wd >= 1 && wd <= 7 ? names[wd - 1] : "???";
}

char *sk_cli_date_wd(sk_day_t day, char *buf, size_t n)
{
    char d[16];
    snprintf(buf, n, "%s %s", sk_date_format(day, d, sizeof d), sk_cli_weekday(day));
    return buf;
}

char *sk_cli_rate(int32_t ppm, char *buf, size_t n)
{
    if (ppm == 0)
        snprintf(buf, n, "0");
    else
        sk_percent_format(ppm, buf, n);
    return buf;
}

char *sk_cli_rate_pct(int32_t ppm, char *buf, size_t n)
{
    char r[16];
    snprintf(buf, n, "%s%%", sk_cli_rate(ppm, r, sizeof r));
    return buf;
}

char *sk_cli_bp_pct(int32_t bp, char *buf, size_t n)
{
    int64_t v = bp;
    const char *sign = v < 0 ? "-" : "";
    if (v < 0)
        v = -v;
    snprintf(buf, n, "%s%lld.%02lld%%", sign, (long long)(v / 100), (long long)(v % 100));
    return buf;
}

/* ---- aligned text tables ------------------------------------------------ */

struct sk_cli_table {
    int ncols;
    char align[16];
    char **cells; /* (nrows + 1) * ncols; row 0 is the header */
    size_t nrows; /* including the header */
    size_t cap;   /* rows allocated */
};

sk_cli_table_t *sk_cli_table_new(int ncols, const char *const *headers, const char *align)
{
    if (ncols < 1 || ncols > 15 || strlen(align) != (size_t)ncols)
        return NULL;
    sk_cli_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ncols = ncols;
    memcpy(self->align, align, (size_t)ncols);
    if (sk_cli_table_add(self, headers) != 0)
        sk_cli_table_destroy(&self);
    return self;
}

void sk_cli_table_destroy(sk_cli_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_cli_table_t *self = *self_p;
    for (size_t i = 0; i < self->nrows * (size_t)self->ncols; i++)
        free(self->cells[i]);
    free(self->cells);
    free(self);
    *self_p = NULL;
}

int sk_cli_table_add(sk_cli_table_t *self, const char *const *cells)
{
    char **grown = sk_grow(self->cells, self->nrows, &self->cap,
                           (size_t)self->ncols * sizeof *grown, 8); /* a row of cells */
    if (!grown)
        return -1;
    self->cells = grown;
    char **row = self->cells + self->nrows * (size_t)self->ncols;
    for (int c = 0; c < self->ncols; c++) {
        row[c] = strdup(cells[c] ? cells[c] : "");
        if (!row[c]) {
            while (c-- > 0)
                free(row[c]);
            return -1;
        }
    }
    self->nrows++;
    return 0;
}

void sk_cli_table_print(const sk_cli_table_t *self, FILE *out)
{
    size_t width[16] = {0};
    for (size_t r = 0; r < self->nrows; r++)
        for (int c = 0; c < self->ncols; c++) {
            size_t w = strlen(self->cells[r * (size_t)self->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < self->nrows; r++) {
        for (int c = 0; c < self->ncols; c++) {
            const char *cell = self->cells[r * (size_t)self->ncols + c];
            int w = (int)width[c];
            bool last = c == self->ncols - 1;
            if (c > 0)
                fputs("  ", out);
            if (self->align[c] == 'r')
                fprintf(out, "%*s", w, cell);
            else if (last)
                fputs(cell, out);
            else
                fprintf(out, "%-*s", w, cell);
        }
        fputc('\n', out);
    }
}

int sk_cli_table_emit(const char *verb, sk_cli_table_t **self_p, int bad)
{
    if (!bad && self_p && *self_p)
        sk_cli_table_print(*self_p, stdout);
    sk_cli_table_destroy(self_p);
    return bad ? sk_cli_fail(verb, "out of memory") : SK_EXIT_OK;
}

/* ---- JSON --------------------------------------------------------------- */

json_t *sk_cli_json_money(int64_t minor, const sk_currency_t *cur)
{
    char buf[48];
    return json_string(sk_money_format(minor, cur, buf, sizeof buf));
}

json_t *sk_cli_json_rate(int32_t ppm)
{
    char buf[16];
    return json_string(sk_cli_rate(ppm, buf, sizeof buf));
}

json_t *sk_cli_json_date(sk_day_t day)
{
    char buf[16];
    return json_string(sk_date_format(day, buf, sizeof buf));
}

json_t *sk_cli_json_bp(int32_t bp)
{
    /* A rate, not an amount: the double only carries hundredths of a percent
     * to the JSON number, and 15 significant digits print it back exactly. */
    return json_real(bp / 100.0);
}

int sk_cli_json_print(const char *verb, json_t *root)
{
    if (!root)
        return sk_cli_fail(verb, "out of memory while building the JSON output");
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!text)
        return sk_cli_fail(verb, "out of memory while writing the JSON output");
    int rc = (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF) ? -1 : 0;
    free(text);
    if (rc != 0)
        return sk_cli_fail(verb, "cannot write to standard output: %s", strerror(errno));
    return SK_EXIT_OK;
}

int sk_cli_finish(const char *verb)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return sk_cli_fail(verb, "cannot write to standard output: %s", strerror(errno));
    return SK_EXIT_OK;
}

int sk_cli_json_finish(const char *verb, json_t *root, const char *name, json_t *arr, int bad)
{
    bad |= !root || !arr;
    if (!bad) {
        bad |= json_object_set_new(root, name, arr);
        arr = NULL;
    }
    json_decref(arr);
    if (bad) {
        json_decref(root);
        root = NULL;
    }
    return sk_cli_json_print(verb, root);
}
