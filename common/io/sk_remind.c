/* sk_remind — see sk_remind.h. */
#include "sk_remind.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "sk_config.h"
#include "sk_fmt.h"
#include "terms.h"

#define S_CODE "bad_config"

static const char *const s_weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday",    NULL};

static const char *s_quote(const char *v, char q[SK_ERR_QUOTE_MAX])
{
    return sk_err_quote(v, strlen(v), q, SK_ERR_QUOTE_MAX);
}

/* "3,1": whole days, distinct and descending (so "distinct" is "strictly
 * descending"), each 0..SK_REMIND_MAX_LEAD_DAYS, at most SK_REMIND_MAX_LEADS. */
static int s_parse_leads(const char *name, const char *v, sk_remind_settings_t *s, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX];
    int leads[SK_REMIND_MAX_LEADS];
    size_t n = 0;
    const char *p = v;
    for (;;) {
        if (*p < '0' || *p > '9')
            return sk_err_set(err, S_CODE,
                              "%s \"%s\": want whole days before the last day, separated by "
                              "commas, e.g. 3,1",
                              name, s_quote(v, q));
        int d = 0;
        while (*p >= '0' && *p <= '9' && d <= SK_REMIND_MAX_LEAD_DAYS)
            d = d * 10 + (*p++ - '0');
        if (d > SK_REMIND_MAX_LEAD_DAYS || (*p >= '0' && *p <= '9'))
            return sk_err_set(err, S_CODE, "%s \"%s\": a lead time is at most %d days", name,
                              s_quote(v, q), SK_REMIND_MAX_LEAD_DAYS);
        if (n == SK_REMIND_MAX_LEADS)
            return sk_err_set(err, S_CODE, "%s \"%s\": at most %d lead times", name, s_quote(v, q),
                              SK_REMIND_MAX_LEADS);
        if (n > 0 && d >= leads[n - 1])
            return sk_err_set(err, S_CODE,
                              "%s \"%s\": want distinct lead times in descending order, e.g. 3,1",
                              name, s_quote(v, q));
        leads[n++] = d;
        if (*p == '\0')
            break;
        if (*p++ != ',')
            return sk_err_set(err, S_CODE,
                              "%s \"%s\": want whole days before the last day, separated by "
                              "commas, e.g. 3,1",
                              name, s_quote(v, q));
    }
    memcpy(s->leads, leads, n * sizeof leads[0]);
    s->nleads = n;
    return 0;
}

/* "HH:MM", 00:00 .. 23:59, two digits each. */
static int s_parse_hour(const char *name, const char *v, int *minute, sk_err_t *err)
{
    bool shape = strlen(v) == 5 && v[2] == ':';
    for (int i = 0; shape && i < 5; i++)
        if (i != 2 && (v[i] < '0' || v[i] > '9'))
            shape = false;
    int h = shape ? (v[0] - '0') * 10 + (v[1] - '0') : 99;
    int m = shape ? (v[3] - '0') * 10 + (v[4] - '0') : 99;
    if (h > 23 || m > 59) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, S_CODE, "%s \"%s\": want a local time HH:MM from 00:00 to 23:59",
                          name, s_quote(v, q));
    }
    *minute = h * 60 + m;
    return 0;
}

/* A domain for Message-IDs: dot-separated labels of letters, digits and
 * '-' (RFC 5322 dot-atom, RFC 1035 labels), so it needs no quoting. */
static int s_parse_domain(const char *name, const char *v, char *out, sk_err_t *err)
{
    size_t len = strlen(v), label = 0;
    bool ok = len > 0 && len <= SK_REMIND_DOMAIN_MAX;
    for (size_t i = 0; ok && i <= len; i++) {
        char c = v[i];
        if (c == '.' || c == '\0') {
            ok = label > 0 && label <= 63 && v[i - 1] != '-';
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            label++;
        } else {
            ok = false;
        }
    }
    if (!ok) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, S_CODE, "%s \"%s\": want a domain name such as example.com", name,
                          s_quote(v, q));
    }
    memcpy(out, v, len + 1);
    return 0;
}

int sk_remind_settings_parse(sk_remind_settings_t *s, const char *leads, const char *hour,
                             const char *default_tz, const char *weekday, const char *domain,
                             sk_err_t *err)
{
    sk_remind_settings_t t;
    memset(&t, 0, sizeof t);
    const char *v;
    if (sk_config_parse_string("SKONTO_REMINDER_LEADS", leads, "3,1", 64, &v, err) ||
        s_parse_leads("SKONTO_REMINDER_LEADS", v, &t, err))
        return -1;
    if (sk_config_parse_string("SKONTO_REMINDER_HOUR", hour, "09:00", 16, &v, err) ||
        s_parse_hour("SKONTO_REMINDER_HOUR", v, &t.send_minute, err))
        return -1;
    if (sk_config_parse_string("SKONTO_DEFAULT_TZ", default_tz, "UTC", SK_TZ_ID_MAX, &v, err))
        return -1;
    t.default_tz = sk_tz_find(v, NULL);
    if (!t.default_tz) {
        char q[SK_ERR_QUOTE_MAX];
        return sk_err_set(err, S_CODE,
                          "SKONTO_DEFAULT_TZ \"%s\": want a zone of the system's tz database, "
                          "an IANA id such as Europe/Berlin",
                          s_quote(v, q));
    }
    int wd;
    if (sk_config_parse_choice("SKONTO_STATEMENT_WEEKDAY", weekday, s_weekdays, 0, &wd, err))
        return -1;
    t.statement_weekday = wd + 1;
    if (sk_config_parse_string("SKONTO_MAIL_DOMAIN", domain, SK_REMIND_DEFAULT_DOMAIN,
                               SK_REMIND_DOMAIN_MAX, &v, err) ||
        s_parse_domain("SKONTO_MAIL_DOMAIN", v, t.mail_domain, err))
        return -1;
    *s = t;
    return 0;
}

int sk_remind_settings_load(sk_remind_settings_t *s, sk_err_t *err)
{
    /* Each raw value through sk_config (the one reader), parsed above. */
    const char *names[] = {"SKONTO_REMINDER_LEADS", "SKONTO_REMINDER_HOUR", "SKONTO_DEFAULT_TZ",
                           "SKONTO_STATEMENT_WEEKDAY", "SKONTO_MAIL_DOMAIN"};
    const char *v[5];
    for (size_t i = 0; i < 5; i++)
        if (sk_config_string(names[i], NULL, 4096, &v[i], err))
            return -1;
    return sk_remind_settings_parse(s, v[0], v[1], v[2], v[3], v[4], err);
}

const sk_tz_t *sk_remind_zone(const sk_remind_settings_t *s, const char *tz_id, sk_err_t *err)
{
    if (!tz_id || !*tz_id)
        return s->default_tz;
    return sk_tz_find(tz_id, err);
}

static int s_fits(int w, size_t n)
{
    return w >= 0 && (size_t)w < n ? 0 : -1;
}

int sk_remind_key(char *buf, size_t n, const char *order_id, int tier, sk_day_t last_day,
                  int lead_days)
{
    char d[16];
    sk_text_t t = sk_text(buf, n); /* "r|%d|%s|%d|%s" without printf: one or more per order */
    sk_text_str(&t, "r|");
    sk_text_int(&t, tier);
    sk_text_char(&t, '|');
    sk_text_str(&t, sk_date_format(last_day, d, sizeof d));
    sk_text_char(&t, '|');
    sk_text_int(&t, lead_days);
    sk_text_char(&t, '|');
    sk_text_str(&t, order_id);
    return t.cut ? -1 : 0;
}

int sk_statement_key(char *buf, size_t n, const char *customer_id, int64_t scheduled_ms)
{
    char when[32];
    sk_text_t t = sk_text(buf, n); /* "s|%s|%s" */
    sk_text_str(&t, "s|");
    sk_text_str(&t, sk_time_format(scheduled_ms, SK_TIME_ISO, when, sizeof when));
    sk_text_char(&t, '|');
    sk_text_str(&t, customer_id);
    return t.cut ? -1 : 0;
}

int sk_remind_message_id(char *buf, size_t n, const char *key, const char *domain)
{
    /* SHA-256 (GLib's) of the key: ids may hold any UTF-8, a Message-ID's
     * left part may not; 128 bits keep a million reminders a day apart. */
    char *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    int w = snprintf(buf, n, "<%c.%.32s@%s>", key[0] == 's' ? 's' : 'r', hex, domain);
    g_free(hex);
    return s_fits(w, n);
}

/* A decimal number of at most 10 digits at *p, ending at `end`; advances *p. */
static int s_number(const char **p, char end, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 10; s++, digits++)
        v = v * 10 + (*s - '0');
    if (!digits || *s != end)
        return -1;
    *out = v, *p = s + 1;
    return 0;
}

int sk_remind_key_parse(const char *key, sk_remind_key_parts_t *out)
{
    memset(out, 0, sizeof *out);
    if (!key || (key[0] != 'r' && key[0] != 's') || key[1] != '|')
        return -1;
    const char *p = key + 2, *bar;
    if (key[0] == 's') {
        char t[32];
        bar = strchr(p, '|');
        /* exactly as sk_statement_key writes it: YYYY-MM-DDTHH:MM:SSZ */
        if (!bar || bar - p != 20 || bar[-1] != 'Z' || !bar[1])
            return -1;
        memcpy(t, p, (size_t)(bar - p));
        t[bar - p] = '\0';
        if (sk_time_parse(t, &out->scheduled_ms, NULL))
            return -1;
        out->kind = SK_REMIND_KIND_STATEMENT, out->id = bar + 1;
        return 0;
    }
    int64_t tier, lead;
    char d[16];
    if (s_number(&p, '|', &tier) || tier >= SK_TERMS_MAX_TIERS)
        return -1;
    bar = strchr(p, '|');
    if (!bar || (size_t)(bar - p) >= sizeof d)
        return -1;
    memcpy(d, p, (size_t)(bar - p));
    d[bar - p] = '\0';
    if (sk_date_parse(d, &out->last_day, NULL))
        return -1;
    p = bar + 1;
    if (s_number(&p, '|', &lead) || lead > SK_REMIND_MAX_LEAD_DAYS || !*p)
        return -1;
    out->kind = SK_REMIND_KIND_REMINDER, out->id = p;
    out->tier = (int)tier, out->lead_days = (int)lead;
    return 0;
}

int sk_remind_cadence_parse(const char *v, sk_cadence_t *out)
{
    if (!v || !*v || !strcmp(v, "weekly"))
        *out = SK_CADENCE_WEEKLY;
    else if (!strcmp(v, "daily"))
        *out = SK_CADENCE_DAILY;
    else if (!strcmp(v, "none"))
        *out = SK_CADENCE_NONE;
    else
        return -1;
    return 0;
}

int sk_remind_plan(const sk_remind_settings_t *s, const char *order_id, const sk_day_t *last_days,
                   size_t ntiers, const sk_tz_t *tz, int64_t now_ms, sk_reminder_t *out, size_t cap,
                   size_t *n, sk_err_t *err)
{
    size_t k = 0;
    for (size_t i = 0; i < ntiers; i++) {
        sk_day_t last = last_days[i];
        int64_t closes = sk_tz_day_start(tz, last + 1);
        if (closes <= now_ms)
            continue; /* the window has closed: never reminded */
        /* Leads are descending, so due instants ascend: the passed ones come
         * first, and the last of them is the one kept. */
        size_t first = k;
        for (size_t j = 0; j < s->nleads; j++) {
            int64_t at = sk_tz_local_instant(tz, last - s->leads[j], s->send_minute);
            if (at <= now_ms && k > first && out[k - 1].scheduled_ms <= now_ms)
                k--; /* a later passed one replaces the earlier */
            if (k == cap)
                return sk_err_set(err, "bad_field", "reminders: more than %zu", cap);
            sk_reminder_t *r = &out[k];
            memset(r, 0, sizeof *r); /* the same plan is the same bytes */
            if (sk_remind_key(r->key, sizeof r->key, order_id, (int)i, last, s->leads[j]))
                return sk_err_set(err, "bad_field", "reminders: order id of %zu bytes is too long",
                                  strlen(order_id));
            r->tier = (int)i;
            r->last_day = last;
            r->lead_days = s->leads[j];
            r->scheduled_ms = at;
            r->due_ms = at <= now_ms ? now_ms : at;
            r->closes_ms = closes;
            k++;
        }
    }
    *n = k;
    return 0;
}

void sk_remind_sort_due(sk_reminder_t *plan, size_t n)
{
    /* insertion sort: stable, and n is at most tiers x leads (64) */
    for (size_t i = 1; i < n; i++) {
        if (plan[i - 1].due_ms <= plan[i].due_ms)
            continue;
        sk_reminder_t t = plan[i];
        size_t j = i;
        while (j > 0 && plan[j - 1].due_ms > t.due_ms) {
            plan[j] = plan[j - 1];
            j--;
        }
        plan[j] = t;
    }
}

bool sk_remind_forgettable(const char *key, int64_t sent_ms, int64_t now_ms, int64_t retention_ms)
{
    sk_remind_key_parts_t k;
    if (sk_remind_key_parse(key, &k) != 0 || retention_ms < 0 || now_ms - retention_ms < sent_ms)
        return false;
    if (k.kind == SK_REMIND_KIND_STATEMENT)
        return k.scheduled_ms < now_ms;
    return now_ms >= ((int64_t)k.last_day + 2) * SK_MS_PER_DAY;
}
