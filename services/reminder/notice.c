/* notice — see notice.h. */
#include "notice.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sk_format.h"
#include "sk_template.h"

/* the templates, compiled in by sk_embed (CMakeLists.txt) */
extern const char SK_TPL_REMINDER_EN_TXT[], SK_TPL_REMINDER_EN_HTML[];
extern const char SK_TPL_REMINDER_ZH_CN_TXT[], SK_TPL_REMINDER_ZH_CN_HTML[];
extern const char SK_TPL_STATEMENT_EN_TXT[], SK_TPL_STATEMENT_EN_HTML[];
extern const char SK_TPL_STATEMENT_ZH_CN_TXT[], SK_TPL_STATEMENT_ZH_CN_HTML[];

enum { S_REMINDER, S_STATEMENT, S_KINDS };
enum { S_EN, S_ZH, S_LANGS };
static const char *const s_lang_name[S_LANGS] = {"en", "zh-CN"};

static const struct {
    const char *file;
    const char *src;
} s_files[S_KINDS][S_LANGS][2] = {
    {{{"reminder.en.txt", SK_TPL_REMINDER_EN_TXT}, {"reminder.en.html", SK_TPL_REMINDER_EN_HTML}},
     {{"reminder.zh-CN.txt", SK_TPL_REMINDER_ZH_CN_TXT},
      {"reminder.zh-CN.html", SK_TPL_REMINDER_ZH_CN_HTML}}},
    {{{"statement.en.txt", SK_TPL_STATEMENT_EN_TXT},
      {"statement.en.html", SK_TPL_STATEMENT_EN_HTML}},
     {{"statement.zh-CN.txt", SK_TPL_STATEMENT_ZH_CN_TXT},
      {"statement.zh-CN.html", SK_TPL_STATEMENT_ZH_CN_HTML}}},
};

struct reminder_notice {
    sk_tpl_t *tpl[S_KINDS][S_LANGS][2]; /* [..][..][0] text, [1] HTML */
    sk_format_t *fmt;
};

reminder_notice_t *reminder_notice_new(sk_err_t *err)
{
    reminder_notice_t *n = calloc(1, sizeof *n);
    if (!n || !(n->fmt = sk_format_new())) {
        reminder_notice_destroy(&n);
        sk_err_set(err, "no_memory", "out of memory");
        return NULL;
    }
    for (int k = 0; k < S_KINDS; k++)
        for (int l = 0; l < S_LANGS; l++)
            for (int h = 0; h < 2; h++) {
                const char *src = s_files[k][l][h].src;
                n->tpl[k][l][h] = sk_tpl_new(s_files[k][l][h].file, src, strlen(src),
                                             h ? SK_TPL_HTML : SK_TPL_TEXT, err);
                if (!n->tpl[k][l][h]) {
                    reminder_notice_destroy(&n);
                    return NULL;
                }
            }
    return n;
}

void reminder_notice_destroy(reminder_notice_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    reminder_notice_t *n = *self_p;
    for (int k = 0; k < S_KINDS; k++)
        for (int l = 0; l < S_LANGS; l++)
            for (int h = 0; h < 2; h++)
                sk_tpl_destroy(&n->tpl[k][l][h]);
    sk_format_destroy(&n->fmt);
    free(n);
    *self_p = NULL;
}

void reminder_mail_free(reminder_mail_t *m)
{
    free(m->subject);
    free(m->text);
    free(m->html);
    memset(m, 0, sizeof *m);
}

/* ---- locales */

/* The subtags of a locale: language, and region (2 letters or 3 digits) if any. */
static void s_subtags(const char *locale, char lang[9], char region[4], bool *hans, bool *hant)
{
    lang[0] = region[0] = '\0';
    *hans = *hant = false;
    if (!locale)
        return;
    const char *p = locale;
    for (int i = 0; *p; i++) {
        size_t len = strcspn(p, "-_");
        if (i == 0 && len < 9) {
            for (size_t j = 0; j < len; j++)
                lang[j] = (char)tolower((unsigned char)p[j]);
            lang[len] = '\0';
        } else if (len == 4) {
            *hans = *hans || strncasecmp(p, "Hans", 4) == 0;
            *hant = *hant || strncasecmp(p, "Hant", 4) == 0;
        } else if ((len == 2 && isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1])) ||
                   (len == 3 && isdigit((unsigned char)p[0]))) {
            for (size_t j = 0; j < len; j++)
                region[j] = (char)toupper((unsigned char)p[j]);
            region[len] = '\0';
        }
        p += len;
        if (*p)
            p++;
    }
}

static int s_lang(const char *locale)
{
    char lang[9], region[4];
    bool hans, hant;
    s_subtags(locale, lang, region, &hans, &hant);
    if (strcmp(lang, "zh") != 0 || hant)
        return S_EN;
    return (!region[0] || strcmp(region, "CN") == 0 || hans) ? S_ZH : S_EN;
}

const char *reminder_notice_lang(const char *locale)
{
    return s_lang_name[s_lang(locale)];
}

typedef struct {
    reminder_notice_t *n;
    char num[40];  /* locale for amounts and rates: the customer's */
    char date[40]; /* locale for dates: the mail's language, the customer's region */
    int lang;
    sk_err_t *err;
    bool failed;
} s_ctx_t;

static int s_ctx(s_ctx_t *c, reminder_notice_t *n, const char *locale, sk_err_t *err)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->err = err;
    c->lang = s_lang(locale);
    if (!locale || !*locale)
        locale = "en";
    if (strlen(locale) > SK_FORMAT_LOCALE_MAX)
        return sk_err_set(err, "bad_locale", "locale longer than %d bytes", SK_FORMAT_LOCALE_MAX);
    snprintf(c->num, sizeof c->num, "%s", locale);
    char lang[9], region[4];
    bool hans, hant;
    s_subtags(locale, lang, region, &hans, &hant);
    if (c->lang == S_ZH)
        snprintf(c->date, sizeof c->date, "zh-CN");
    else if (strcmp(lang, "en") == 0)
        snprintf(c->date, sizeof c->date, "%s", locale);
    else if (region[0])
        snprintf(c->date, sizeof c->date, "en-%s", region);
    else
        snprintf(c->date, sizeof c->date, "en");
    return 0;
}

/* Setters that remember the first failure, so building the data reads straight. */
static void s_set(s_ctx_t *c, sk_tpl_data_t *d, const char *name, const char *value)
{
    if (!c->failed && (!d || sk_tpl_data_set(d, name, value) != 0)) {
        sk_err_set(c->err, "no_memory", "out of memory");
        c->failed = true;
    }
}

static void s_flag(s_ctx_t *c, sk_tpl_data_t *d, const char *name, bool value)
{
    if (!c->failed && (!d || sk_tpl_data_set_flag(d, name, value) != 0)) {
        sk_err_set(c->err, "no_memory", "out of memory");
        c->failed = true;
    }
}

static void s_money(s_ctx_t *c, sk_tpl_data_t *d, const char *name, const char *cur, int64_t v)
{
    char buf[96];
    if (c->failed)
        return;
    if (sk_format_money(c->n->fmt, c->num, cur, v, buf, sizeof buf, c->err) != 0)
        c->failed = true;
    else
        s_set(c, d, name, buf);
}

static void s_rate(s_ctx_t *c, sk_tpl_data_t *d, const char *name, int32_t ppm)
{
    char buf[64];
    if (c->failed)
        return;
    if (sk_format_percent(c->n->fmt, c->num, ppm, buf, sizeof buf, c->err) != 0)
        c->failed = true;
    else
        s_set(c, d, name, buf);
}

static void s_date(s_ctx_t *c, sk_tpl_data_t *d, const char *name, sk_day_t day)
{
    char buf[128];
    if (c->failed)
        return;
    if (sk_format_date(c->n->fmt, c->date, day, buf, sizeof buf, c->err) != 0)
        c->failed = true;
    else
        s_set(c, d, name, buf);
}

static void s_window(s_ctx_t *c, sk_tpl_data_t *d, const char *cur, const reminder_window_t *w)
{
    s_date(c, d, "closes", w->last_day);
    s_rate(c, d, "rate", w->rate_ppm);
    s_money(c, d, "discount", cur, w->discount);
    s_money(c, d, "payable", cur, w->payable);
}

static int s_check_invoice(const reminder_invoice_t *inv, sk_err_t *err)
{
    if (!inv->order_id || !*inv->order_id || !inv->currency)
        return sk_err_set(err, "bad_notice", "an invoice without order id or currency");
    if (inv->n_windows < 0 || inv->n_windows > SK_TERMS_MAX_TIERS)
        return sk_err_set(err, "bad_notice", "invoice %s: %d windows", inv->order_id,
                          inv->n_windows);
    for (int i = 1; i < inv->n_windows; i++)
        if (inv->windows[i].last_day <= inv->windows[i - 1].last_day)
            return sk_err_set(err, "bad_notice", "invoice %s: windows are not earliest first",
                              inv->order_id);
    return 0;
}

/* Fills an invoice object: order, amount, net_due, windows (all remaining). */
static void s_invoice(s_ctx_t *c, sk_tpl_data_t *d, const reminder_invoice_t *inv)
{
    s_set(c, d, "order", inv->order_id);
    s_money(c, d, "amount", inv->currency, inv->amount);
    s_date(c, d, "net_due", inv->net_due);
    s_flag(c, d, "has_windows", inv->n_windows > 0);
    for (int i = 0; i < inv->n_windows; i++) {
        sk_tpl_data_t *w = c->failed ? NULL : sk_tpl_data_append(d, "windows");
        s_window(c, w, inv->currency, &inv->windows[i]);
    }
}

static void s_customer(s_ctx_t *c, sk_tpl_data_t *d, const reminder_customer_t *cu)
{
    s_set(c, d, "customer_name", cu->name && *cu->name ? cu->name : cu->id ? cu->id : "");
    s_set(c, d, "customer_id", cu->id ? cu->id : "");
}

/* Renders kind in c->lang with d into out: subject from the text's first line. */
static int s_render(s_ctx_t *c, int kind, const sk_tpl_data_t *d, reminder_mail_t *out)
{
    memset(out, 0, sizeof *out);
    out->lang = s_lang_name[c->lang];
    char *text = sk_tpl_render(c->n->tpl[kind][c->lang][0], d, NULL, c->err);
    char *html = text ? sk_tpl_render(c->n->tpl[kind][c->lang][1], d, NULL, c->err) : NULL;
    const char *body = text && strncmp(text, "Subject: ", 9) == 0 ? strstr(text, "\n\n") : NULL;
    if (!text || !html || !body) {
        if (text && html)
            sk_err_set(c->err, "bad_template",
                       "%s: the first line must be \"Subject: ...\" and "
                       "a blank line follow it",
                       s_files[kind][c->lang][0].file);
        free(text);
        free(html);
        return -1;
    }
    out->subject = strndup(text + 9, (size_t)(strchr(text, '\n') - text) - 9);
    out->text = strdup(body + 2);
    out->html = html;
    free(text);
    if (!out->subject || !out->text) {
        reminder_mail_free(out);
        return sk_err_set(c->err, "no_memory", "out of memory");
    }
    return 0;
}

int reminder_notice_reminder(reminder_notice_t *self, const reminder_letter_t *r, reminder_mail_t *out,
                       sk_err_t *err)
{
    const reminder_invoice_t *inv = &r->invoice;
    if (s_check_invoice(inv, err) != 0)
        return -1;
    if (inv->n_windows < 1)
        return sk_err_set(err, "bad_notice", "reminder for %s names no window", inv->order_id);
    s_ctx_t c;
    if (s_ctx(&c, self, r->customer.locale, err) != 0)
        return -1;
    sk_tpl_data_t *d = sk_tpl_data_new();
    s_customer(&c, d, &r->customer);
    s_invoice(&c, d, inv);
    s_window(&c, d, inv->currency, &inv->windows[0]);
    s_flag(&c, d, "has_later", inv->n_windows > 1);
    for (int i = 1; i < inv->n_windows; i++) {
        sk_tpl_data_t *w = c.failed ? NULL : sk_tpl_data_append(d, "later");
        s_window(&c, w, inv->currency, &inv->windows[i]);
    }
    int rc = c.failed ? -1 : s_render(&c, S_REMINDER, d, out);
    sk_tpl_data_destroy(&d);
    return rc;
}

int reminder_statement_has_window(const reminder_statement_t *s)
{
    for (size_t i = 0; i < s->n_invoices; i++)
        if (s->invoices[i].n_windows > 0)
            return 1;
    return 0;
}

typedef struct {
    const reminder_invoice_t *inv;
    bool soon;
} s_item_t;

/* Closing soon first; within each group the earliest next window, then
 * invoices without one by net due day; ties by order id (a stable order). */
static int s_item_cmp(const void *a, const void *b)
{
    const s_item_t *x = a, *y = b;
    if (x->soon != y->soon)
        return x->soon ? -1 : 1;
    bool xw = x->inv->n_windows > 0, yw = y->inv->n_windows > 0;
    if (xw != yw)
        return xw ? -1 : 1;
    sk_day_t xd = xw ? x->inv->windows[0].last_day : x->inv->net_due;
    sk_day_t yd = yw ? y->inv->windows[0].last_day : y->inv->net_due;
    if (xd != yd)
        return xd < yd ? -1 : 1;
    return strcmp(x->inv->order_id, y->inv->order_id);
}

#define S_MAX_CURRENCIES 32

int reminder_notice_statement(reminder_notice_t *self, const reminder_statement_t *s, reminder_mail_t *out,
                        sk_err_t *err)
{
    if (s->n_invoices > REMINDER_NOTICE_MAX_INVOICES)
        return sk_err_set(err, "bad_notice", "statement of %zu invoices, more than %d",
                          s->n_invoices, REMINDER_NOTICE_MAX_INVOICES);
    for (size_t i = 0; i < s->n_invoices; i++)
        if (s_check_invoice(&s->invoices[i], err) != 0)
            return -1;
    s_ctx_t c;
    if (s_ctx(&c, self, s->customer.locale, err) != 0)
        return -1;
    s_item_t *items = calloc(s->n_invoices ? s->n_invoices : 1, sizeof *items);
    sk_tpl_data_t *d = sk_tpl_data_new();
    if (!items || !d) {
        free(items);
        sk_tpl_data_destroy(&d);
        return sk_err_set(err, "no_memory", "out of memory");
    }
    struct {
        const char *cur;
        int64_t saved;
    } sums[S_MAX_CURRENCIES];
    int nsums = 0;
    size_t nsoon = 0;
    for (size_t i = 0; i < s->n_invoices; i++) {
        const reminder_invoice_t *inv = &s->invoices[i];
        items[i].inv = inv;
        items[i].soon = inv->n_windows > 0 && inv->windows[0].last_day >= s->today &&
                        inv->windows[0].last_day < s->today + REMINDER_NOTICE_SOON_DAYS;
        if (!items[i].soon)
            continue;
        nsoon++;
        int k = 0;
        while (k < nsums && strcmp(sums[k].cur, inv->currency) != 0)
            k++;
        if (k == nsums) {
            if (nsums == S_MAX_CURRENCIES) {
                free(items);
                sk_tpl_data_destroy(&d);
                return sk_err_set(err, "bad_notice", "more than %d currencies", S_MAX_CURRENCIES);
            }
            sums[nsums].cur = inv->currency;
            sums[nsums++].saved = 0;
        }
        sums[k].saved += inv->windows[0].discount; /* each <= SK_MONEY_MAX: no overflow */
    }
    qsort(items, s->n_invoices, sizeof *items, s_item_cmp);
    s_customer(&c, d, &s->customer);
    s_date(&c, d, "date", s->today);
    char count[24];
    snprintf(count, sizeof count, "%zu", s->n_invoices);
    s_set(&c, d, "n_open", count);
    s_flag(&c, d, "has_soon", nsoon > 0);
    s_flag(&c, d, "has_later", nsoon < s->n_invoices);
    for (size_t i = 0; i < s->n_invoices && !c.failed; i++) {
        sk_tpl_data_t *o = sk_tpl_data_append(d, items[i].soon ? "soon" : "later");
        s_invoice(&c, o, items[i].inv);
    }
    /* currencies in code order, so the same invoices always read the same */
    for (int a = 1; a < nsums; a++)
        for (int b = a; b > 0 && strcmp(sums[b - 1].cur, sums[b].cur) > 0; b--) {
            const char *tc = sums[b].cur;
            int64_t ts = sums[b].saved;
            sums[b].cur = sums[b - 1].cur;
            sums[b].saved = sums[b - 1].saved;
            sums[b - 1].cur = tc;
            sums[b - 1].saved = ts;
        }
    for (int k = 0; k < nsums && !c.failed; k++) {
        sk_tpl_data_t *o = sk_tpl_data_append(d, "savings");
        s_set(&c, o, "currency", sums[k].cur);
        s_money(&c, o, "saved", sums[k].cur, sums[k].saved);
    }
    int rc = c.failed ? -1 : s_render(&c, S_STATEMENT, d, out);
    free(items);
    sk_tpl_data_destroy(&d);
    return rc;
}
