/* cli_util — option scanning, one-line errors, tables, JSON and the shared
 * schedule options of skontoctl's verbs. See cli_util.h for the contract. */
#include "cli_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "invoice.h"
#include "sk_redis.h"

/* ---- one-line messages -------------------------------------------------- */

/* Writes "skontoctl VERB: " and the message on stderr as exactly one line:
 * bytes below 0x20 and DEL (a newline or escape sequence smuggled in through
 * an argument) are shown as \xNN instead of being written. */
__attribute__((format(printf, 2, 0))) static void s_vline(const char *verb, const char *fmt,
                                                          va_list ap)
{
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        snprintf(msg, sizeof msg, "(message could not be formatted)");
    fprintf(stderr, "skontoctl %s: ", verb);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

/* Copies untrusted input for a message: at most 60 bytes, then "...";
 * double quotes and backslashes are escaped so the quoted value reads back. */
static const char *s_shorten(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    if (!s)
        s = "";
    for (size_t i = 0; s[i]; i++) {
        if (i >= 60 || o + 6 >= n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] == '"' || s[i] == '\\')
            buf[o++] = '\\';
        buf[o++] = s[i];
    }
    buf[o] = '\0';
    return buf;
}

int sk_cli_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vline(verb, fmt, ap);
    va_end(ap);
    return SK_EXIT_USAGE;
}

int sk_cli_fail(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vline(verb, fmt, ap);
    va_end(ap);
    return SK_EXIT_FAIL;
}

int sk_cli_opt_error(const char *verb, const char *opt, const char *value, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(what, sizeof what, "invalid");
    char q[80];
    return sk_cli_usage_error(verb, "--%s \"%s\": %s", opt, s_shorten(value, q, sizeof q), what);
}

/* The domain library's messages start with what they parsed, e.g.
 * `date "2026-02-30": February 2026 has 28 days` or `terms: tier 2 ...`.
 * After `--baseline "2026-02-30": ` that lead-in only repeats the value, so
 * drop a leading lower-case word, optionally followed by a quoted value,
 * then ": ". A message of another shape is kept whole. */
static const char *s_drop_lead_in(const char *msg)
{
    const char *p = msg;
    while (*p >= 'a' && *p <= 'z')
        p++;
    if (p == msg)
        return msg;
    if (p[0] == ' ' && p[1] == '"') {
        const char *end = strstr(p + 2, "\": ");
        if (!end)
            return msg;
        return end + 3;
    }
    if (p[0] == ':' && p[1] == ' ')
        return p + 2;
    return msg;
}

int sk_cli_opt_err(const char *verb, const char *opt, const char *value, const sk_err_t *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "invalid";
    return sk_cli_opt_error(verb, opt, value, "%s", s_drop_lead_in(msg));
}

/* ---- option scanning ---------------------------------------------------- */

void sk_cli_scan_init(sk_cli_scan_t *sc, const char *verb, const sk_cli_opt_t *opts, int argc,
                      char **argv)
{
    memset(sc, 0, sizeof *sc);
    sc->verb = verb;
    sc->opts = opts;
    sc->argc = argc;
    sc->argv = argv;
    sc->next = 1;
}

bool sk_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    }
    return false;
}

int sk_cli_scan_next(sk_cli_scan_t *sc, const char **value)
{
    char q[80];
    *value = NULL;
    for (;;) {
        if (sc->next >= sc->argc)
            return SK_CLI_END;
        const char *arg = sc->argv[sc->next++];
        if (sc->words_only || arg[0] != '-' || !strcmp(arg, "-")) {
            *value = arg;
            return SK_CLI_WORD;
        }
        if (!strcmp(arg, "--")) {
            sc->words_only = true;
            continue;
        }
        if (arg[1] != '-')
            return sk_cli_usage_error(sc->verb,
                                      "unknown option \"%s\" (options are long, like "
                                      "--json; try skontoctl %s --help)",
                                      s_shorten(arg, q, sizeof q), sc->verb),
                   SK_CLI_BAD;
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int idx = -1;
        for (int i = 0; i < SK_CLI_MAX_OPTS && sc->opts[i].name; i++)
            if (strlen(sc->opts[i].name) == len && !memcmp(sc->opts[i].name, name, len)) {
                idx = i;
                break;
            }
        if (idx < 0) {
            char shown[80];
            snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), name);
            return sk_cli_usage_error(sc->verb, "unknown option \"--%s\" (try skontoctl %s --help)",
                                      s_shorten(shown, q, sizeof q), sc->verb),
                   SK_CLI_BAD;
        }
        const sk_cli_opt_t *o = &sc->opts[idx];
        if (sc->seen[idx] && !o->repeatable)
            return sk_cli_usage_error(sc->verb, "--%s given twice (give it once)", o->name),
                   SK_CLI_BAD;
        sc->seen[idx]++;
        if (!o->has_value) {
            if (eq)
                return sk_cli_usage_error(sc->verb, "--%s takes no value (got \"%s\")", o->name,
                                          s_shorten(eq + 1, q, sizeof q)),
                       SK_CLI_BAD;
            return idx;
        }
        if (eq) {
            *value = eq + 1;
            return idx;
        }
        /* `--amount -5` passes "-5" as the value (and gets "must not be
         * negative"); `--terms --json` means the value was forgotten. */
        if (sc->next >= sc->argc || !strncmp(sc->argv[sc->next], "--", 2))
            return sk_cli_usage_error(sc->verb, "--%s needs a value (try skontoctl %s --help)",
                                      o->name, sc->verb),
                   SK_CLI_BAD;
        *value = sc->argv[sc->next++];
        return idx;
    }
}

/* ---- small parsers ------------------------------------------------------ */

int sk_cli_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    bool neg = false;
    if (*p == '-' && min < 0) {
        neg = true;
        p++;
    }
    if (!*p || strlen(p) > 18)
        return -1;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int sk_cli_read_file(const char *path, size_t max, char **buf, size_t *len, sk_err_t *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sk_err_set(err, "bad_file", "cannot open: %s", strerror(errno));
    char *data = malloc(max + 1);
    if (!data) {
        fclose(f);
        return sk_err_set(err, "bad_file", "cannot read: out of memory");
    }
    size_t n = fread(data, 1, max + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    if (fclose(f) != 0 && !read_errno)
        read_errno = errno;
    if (read_errno) {
        free(data);
        return sk_err_set(err, "bad_file", "cannot read: %s", strerror(read_errno));
    }
    if (n > max) {
        free(data);
        return sk_err_set(err, "bad_file", "larger than %zu bytes", max);
    }
    data[n] = '\0';
    *buf = data;
    *len = n;
    return 0;
}

/* ---- formatting --------------------------------------------------------- */

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
    if (self->nrows == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        char **grown = realloc(self->cells, cap * (size_t)self->ncols * sizeof *grown);
        if (!grown)
            return -1;
        self->cells = grown;
        self->cap = cap;
    }
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

/* ---- the shared schedule options ---------------------------------------- */

bool sk_cli_sched_take(sk_cli_sched_args_t *a, const char *name, const char *value)
{
    static const struct {
        const char *name;
        size_t off;
    } slots[] = {
        {"terms", offsetof(sk_cli_sched_args_t, terms)},
        {"baseline", offsetof(sk_cli_sched_args_t, baseline)},
        {"amount", offsetof(sk_cli_sched_args_t, amount)},
        {"currency", offsetof(sk_cli_sched_args_t, currency)},
        {"tax", offsetof(sk_cli_sched_args_t, tax)},
        {"discount-base", offsetof(sk_cli_sched_args_t, discount_base)},
        {"grace-days", offsetof(sk_cli_sched_args_t, grace_days)},
        {"holidays", offsetof(sk_cli_sched_args_t, holidays)},
        {"rounding", offsetof(sk_cli_sched_args_t, rounding)},
    };
    if (!strcmp(name, "business-days")) {
        a->business_days = true;
        return true;
    }
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (!strcmp(name, slots[i].name)) {
            *(const char **)((char *)a + slots[i].off) = value;
            return true;
        }
    return false;
}

/* Unknown code: say whether it is a known code in the wrong case, else list
 * some that are known. */
static int s_bad_currency(const char *verb, const char *code)
{
    if (strlen(code) == 3) {
        char upper[4] = {0};
        for (int i = 0; i < 3; i++)
            upper[i] = (char)toupper((unsigned char)code[i]);
        if (strcmp(upper, code) != 0 && sk_currency_find(upper))
            return sk_cli_opt_error(verb, "currency", code,
                                    "use the ISO 4217 code in capitals, e.g. %s", upper);
    }
    static const char *const common[] = {"CNY", "USD", "EUR", "JPY", "GBP", "HKD", "KRW", "CHF"};
    char known[64] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (sk_currency_find(common[i]) && used + 5 < sizeof known)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", used ? " " : "",
                                     common[i]);
    return sk_cli_opt_error(verb, "currency", code,
                            "not a known ISO 4217 currency code (known include %s)", known);
}

static int s_load_holidays(const char *verb, const char *path, sk_calendar_t *cal)
{
    sk_err_t err;
    char *text = NULL;
    size_t len = 0;
    if (sk_cli_read_file(path, 1 << 20, &text, &len, &err) != 0)
        return sk_cli_opt_err(verb, "holidays", path, &err);
    int rc = sk_calendar_load_text(cal, text, len, &err);
    free(text);
    if (rc != 0)
        return sk_cli_opt_err(verb, "holidays", path, &err);
    return SK_EXIT_OK;
}

int sk_cli_sched_build(const char *verb, const sk_cli_sched_args_t *a, sk_cli_sched_t *out)
{
    sk_err_t err;
    memset(out, 0, sizeof *out);
    if (!a->terms)
        return sk_cli_usage_error(verb,
                                  "missing --terms, e.g. --terms 2/10,n/30 (try skontoctl "
                                  "%s --help)",
                                  verb);
    if (!a->baseline)
        return sk_cli_usage_error(verb,
                                  "missing --baseline, the date the terms count from, e.g. "
                                  "--baseline 2026-11-02 (try skontoctl %s --help)",
                                  verb);
    if (!a->amount)
        return sk_cli_usage_error(verb,
                                  "missing --amount, the invoice's gross amount, e.g. "
                                  "--amount 1130.00 (try skontoctl %s --help)",
                                  verb);

    if (sk_terms_parse(a->terms, &out->terms, &err) != 0)
        return sk_cli_opt_err(verb, "terms", a->terms, &err);
    sk_terms_format(&out->terms, out->terms_text, sizeof out->terms_text);

    sk_day_t baseline;
    if (sk_date_parse(a->baseline, &baseline, &err) != 0)
        return sk_cli_opt_err(verb, "baseline", a->baseline, &err);

    const char *code = a->currency ? a->currency : "CNY";
    const sk_currency_t *cur = sk_currency_find(code);
    if (!cur)
        return s_bad_currency(verb, code);

    int64_t amount, tax = 0;
    if (sk_money_parse(a->amount, cur, &amount, &err) != 0)
        return sk_cli_opt_err(verb, "amount", a->amount, &err);
    if (amount <= 0)
        return sk_cli_opt_error(verb, "amount", a->amount, "must be greater than 0");
    if (a->tax) {
        if (sk_money_parse(a->tax, cur, &tax, &err) != 0)
            return sk_cli_opt_err(verb, "tax", a->tax, &err);
        if (tax >= amount) {
            char buf[48];
            return sk_cli_opt_error(verb, "tax", a->tax,
                                    "must be less than --amount %s (the tax is part of the amount)",
                                    sk_money_format(amount, cur, buf, sizeof buf));
        }
    }

    sk_schedule_opts_t opts = {.base = SK_BASE_GROSS, .rounding = SK_ROUND_HALF_UP};
    if (a->discount_base) {
        if (!strcmp(a->discount_base, "gross"))
            opts.base = SK_BASE_GROSS;
        else if (!strcmp(a->discount_base, "net"))
            opts.base = SK_BASE_NET;
        else
            return sk_cli_opt_error(verb, "discount-base", a->discount_base,
                                    "want gross (the whole amount) or net (the amount less --tax)");
        if (opts.base == SK_BASE_NET && !a->tax)
            return sk_cli_usage_error(verb, "--discount-base net needs --tax, the tax included in "
                                            "--amount (--tax 0 if there is none)");
    }
    if (a->grace_days) {
        long g;
        if (sk_cli_parse_int(a->grace_days, 0, 365, &g) != 0)
            return sk_cli_opt_error(verb, "grace-days", a->grace_days,
                                    "want a whole number of days from 0 to 365");
        opts.grace_days = (int)g;
    }
    if (a->holidays && !a->business_days)
        return sk_cli_usage_error(verb, "--holidays needs --business-days (holidays only matter "
                                        "when last days move to the next business day)");
    if (a->rounding && sk_rounding_parse(a->rounding, &opts.rounding, &err) != 0)
        return sk_cli_opt_err(verb, "rounding", a->rounding, &err);

    sk_calendar_t *cal = NULL;
    if (a->business_days) {
        opts.business_days = true;
        if (a->holidays) {
            cal = sk_calendar_new();
            if (!cal)
                return sk_cli_fail(verb, "out of memory");
            int rc = s_load_holidays(verb, a->holidays, cal);
            if (rc != SK_EXIT_OK) {
                sk_calendar_destroy(&cal);
                return rc;
            }
            opts.calendar = cal;
        }
    }

    int rc =
        sk_schedule_compute(&out->terms, baseline, amount, tax, cur, &opts, &out->schedule, &err);
    sk_calendar_destroy(&cal);
    if (rc != 0) {
        if (!strcmp(err.code, "bad_terms"))
            return sk_cli_opt_err(verb, "terms", a->terms, &err);
        if (!strcmp(err.code, "bad_amount"))
            return sk_cli_opt_err(verb, "amount", a->amount, &err);
        if (!strcmp(err.code, "bad_date")) /* a date the terms reach from the baseline */
            return sk_cli_opt_err(verb, "baseline", a->baseline, &err);
        return sk_cli_usage_error(verb, "%s", err.msg);
    }
    out->base = opts.base;
    out->grace_days = opts.grace_days;
    out->business_days = opts.business_days;
    return SK_EXIT_OK;
}

void sk_cli_sched_help(FILE *out)
{
    fputs("the invoice (required):\n"
          "  --terms TERMS        the payment terms, e.g. 2/10,n/30 (see TERMS below)\n"
          "  --baseline DATE      the day the terms count from, YYYY-MM-DD: usually the ship\n"
          "                       date (or the invoice or delivery date, as agreed)\n"
          "  --amount AMOUNT      the invoice's gross amount, tax included, e.g. 1130.00; no\n"
          "                       more decimals than the currency has (JPY 999, CNY 1130.00)\n"
          "\n"
          "the invoice (optional):\n"
          "  --currency CODE      ISO 4217 code in capitals (default CNY): CNY USD EUR JPY GBP\n"
          "                       HKD KRW CHF and more\n"
          "  --tax AMOUNT         the tax included in --amount (default 0)\n"
          "  --discount-base gross|net\n"
          "                       what the percent is taken of: the whole amount (gross, the\n"
          "                       default) or the amount less --tax (net)\n"
          "  --grace-days N       0..365 days added to every discount window's last day; the\n"
          "                       net due date does not move\n"
          "  --business-days      a last day or net due date on a Saturday, a Sunday or a\n"
          "                       holiday moves to the next business day\n"
          "  --holidays FILE      with --business-days: holidays, one YYYY-MM-DD a line (blank\n"
          "                       lines and lines starting with # are ignored)\n"
          "  --rounding half-up|half-even\n"
          "                       how a discount is rounded to the currency's smallest unit:\n"
          "                       half-up (default) rounds an exact half up (0.125 -> 0.13),\n"
          "                       half-even to the even digit (0.125 -> 0.12, 0.135 -> 0.14)\n"
          "\n"
          "TERMS: discount tiers separated by commas, then the net term:\n"
          "  PERCENT/WHEN         PERCENT % off if paid by WHEN (PERCENT above 0 and below\n"
          "                       100, at most 4 decimals)\n"
          "  n/WHEN               otherwise the whole amount is due by WHEN\n"
          "WHEN is one of:\n"
          "  DAYS                 DAYS days after the baseline (0 = the baseline day: cash)\n"
          "  DAYSeom              DAYS days after the last day of the baseline's month\n"
          "  dDAY[+Mm]            day DAY of the baseline's month, or of M months later; a DAY\n"
          "                       past that month's end means its last day\n"
          "Every last day is inclusive. Rates must fall and last days rise from tier to tier,\n"
          "all before the net due date.\n"
          "  2/0,1/10,0.5/30,n/60        2 % if paid on the baseline day (cash), 1 % within\n"
          "                              10 days, 0.5 % within 30 days, net in 60 days\n"
          "  2/10,n/30                   2 % within 10 days, else net in 30 days\n"
          "  3/d15+1m,2/d25+2m,n/d15+3m  3 % by the 15th of next month, 2 % by the 25th of\n"
          "                              the month after, net by the 15th three months on\n"
          "  2/10eom,n/30eom             2 % within 10 days after the end of the baseline's\n"
          "                              month, net 30 days after it\n",
          out);
}

void sk_cli_sched_headline(const sk_cli_sched_t *s, FILE *out)
{
    const sk_schedule_t *sc = &s->schedule;
    char amount[48], base[48], tax[48], bl[24], net[24];
    sk_money_format(sc->amount, sc->currency, amount, sizeof amount);
    sk_money_format(sc->discount_base, sc->currency, base, sizeof base);
    sk_money_format(sc->tax, sc->currency, tax, sizeof tax);
    fprintf(out, "%s %s  terms %s  discount base %s", amount, sc->currency->code, s->terms_text,
            base);
    if (s->base == SK_BASE_NET)
        fprintf(out, " (net of tax %s)", tax);
    else
        fputs(" (gross)", out);
    fprintf(out, "  baseline %s  net due %s", sk_cli_date_wd(sc->baseline, bl, sizeof bl),
            sk_cli_date_wd(sc->net_due, net, sizeof net));
    if (s->grace_days)
        fprintf(out, "  grace %d day%s", s->grace_days, s->grace_days == 1 ? "" : "s");
    if (s->business_days)
        fputs("  business days", out);
    fputc('\n', out);
}

/* ---- ids and Redis --------------------------------------------------------- */

bool sk_cli_id_ok(const char *id)
{
    return sk_event_check_id("id", id, strlen(id), true, NULL) == 0;
}

int sk_cli_show_word(const char *verb, const char *usage, const char **words, int *nwords,
                     const char *word)
{
    if (*nwords == 2)
        return sk_cli_usage_error(verb, "unexpected \"%s\" (usage: %s)", word, usage);
    words[(*nwords)++] = word;
    return SK_EXIT_OK;
}

int sk_cli_show_check(const char *verb, const char *usage, const char *const *words, int nwords)
{
    if (nwords == 0 || strcmp(words[0], "show")) {
        if (nwords)
            return sk_cli_usage_error(verb, "usage: %s", usage);
        return sk_cli_usage_error(verb, "usage: %s (skontoctl %s --help)", usage, verb);
    }
    /* "order" -> ORDER_ID, as the usage line names it */
    char id[32];
    size_t n = 0;
    for (; verb[n] && n + 4 < sizeof id; n++)
        id[n] = (char)toupper((unsigned char)verb[n]);
    memcpy(id + n, "_ID", 4);
    if (nwords < 2)
        return sk_cli_usage_error(verb, "which %s? usage: skontoctl %s show %s", verb, verb, id);
    /* ingest's rule for ids, so any id ingest accepted can be looked up */
    char field[48];
    sk_err_t err;
    snprintf(field, sizeof field, "%s id", verb);
    if (sk_event_check_id(field, words[1], strlen(words[1]), true, &err))
        return sk_cli_usage_error(verb, "%s", err.msg);
    return SK_EXIT_OK;
}

redisContext *sk_cli_redis_connect(const char *verb)
{
    sk_err_t err;
    sk_err_clear(&err);
    redisContext *c = sk_redis_connect_env(&err);
    if (!c)
        sk_cli_fail(verb, "%s", err.msg);
    return c;
}

/* Fills lens for argv; false (after one line) for an argument count that
 * the fixed array cannot hold, which is a mistake in the calling verb. */
static bool s_redis_lens(const char *verb, int argc, const char **argv,
                         size_t lens[SK_CLI_REDIS_MAX_ARGS])
{
    if (argc < 1 || argc > SK_CLI_REDIS_MAX_ARGS) {
        sk_cli_fail(verb, "Redis command with %d arguments (at most %d)", argc,
                    SK_CLI_REDIS_MAX_ARGS);
        return false;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return true;
}

redisReply *sk_cli_redis_command(const char *verb, redisContext *c, int argc, const char **argv)
{
    size_t lens[SK_CLI_REDIS_MAX_ARGS];
    if (!s_redis_lens(verb, argc, argv, lens))
        return NULL;
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        sk_cli_fail(verb, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        sk_cli_fail(verb, "Redis %s %s: %s", argv[0], argc > 1 ? argv[1] : "", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int sk_cli_redis_append(const char *verb, redisContext *c, int argc, const char **argv)
{
    size_t lens[SK_CLI_REDIS_MAX_ARGS];
    if (!s_redis_lens(verb, argc, argv, lens))
        return SK_EXIT_FAIL;
    if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK)
        return sk_cli_fail(verb, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
    return SK_EXIT_OK;
}

redisReply *sk_cli_redis_reply(const char *verb, redisContext *c)
{
    void *rv = NULL;
    if (redisGetReply(c, &rv) != REDIS_OK || !rv) {
        if (rv)
            freeReplyObject(rv);
        sk_cli_fail(verb, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
        return NULL;
    }
    return rv;
}

const char *sk_cli_hash_get(const redisReply *h, const char *field, const char *dflt)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, field) &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1]->str;
    return dflt;
}
