/* terms — the payment-terms notation: parse, validate, format, resolve.
 *
 * Parsing is a hand-written scanner over at most SK_TERMS_MAX_LEN bytes: the
 * text is split on ',' (spaces and tabs around a comma are ignored), every
 * piece but the last is a discount tier, the last is the net term. Every
 * number is bounded (days <= SK_TERMS_MAX_DAYS, months <= SK_TERMS_MAX_MONTHS,
 * day-of-month 1..31) so no later date arithmetic can overflow. What needs no
 * baseline is checked here: rates strictly decrease, and tiers of the same
 * WHEN kind as an earlier tier (or as the net term) are strictly ordered. Mixed
 * kinds (10 vs d15+1m) can only be ordered once dates are known: the schedule
 * checks those. Every error has code "bad_terms" and names the piece. */
#include "terms.h"

#include <stdio.h>
#include <string.h>

#include "money.h"
#include "sk_fmt.h"

static char s_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Reads 1..5 decimal digits at *p into *v; returns the digit count, or -1 on
 * more digits than that (a number nobody means). */
static int s_number(const char **p, const char *end, int *v)
{
    int n = 0, x = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (n == 5)
            return -1;
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *v = x;
    return n;
}

/* WHEN as the terms write it: "30", "10eom", "d15", "d15+1m" (without
 * printf: the discount worker writes an invoice's terms per order). */
static void s_when_text(const sk_when_t *w, sk_text_t *t)
{
    switch (w->kind) {
    case SK_WHEN_EOM:
        sk_text_int(t, w->days);
        sk_text_str(t, "eom");
        break;
    case SK_WHEN_DOM:
        sk_text_char(t, 'd');
        sk_text_int(t, w->dom);
        if (w->months) {
            sk_text_char(t, '+');
            sk_text_int(t, w->months);
            sk_text_char(t, 'm');
        }
        break;
    case SK_WHEN_DAYS:
    default:
        sk_text_int(t, w->days);
        break;
    }
}

/* The same into buf (n bytes). */
static void s_when_buf(const sk_when_t *w, char *buf, size_t n)
{
    sk_text_t t = sk_text(buf, n);
    s_when_text(w, &t);
}

/* Parses WHEN from [s, end). On failure writes the reason (without context)
 * into why and returns -1. */
static int s_parse_when(const char *s, const char *end, sk_when_t *w, char *why, size_t whyn)
{
    char q[SK_ERR_QUOTE_MAX];
    const char *p = s;
    memset(w, 0, sizeof *w);
    if (p == end) {
        snprintf(why, whyn, "no days after the \"/\"");
        return -1;
    }
    if (s_lower(*p) == 'd') {
        p++;
        int dom = 0, months = 0;
        int nd = s_number(&p, end, &dom);
        if (nd <= 0) {
            snprintf(why, whyn, "\"%s\": want d DAY, e.g. d15 or d15+1m",
                     sk_err_quote(s, (size_t)(end - s), q, sizeof q));
            return -1;
        }
        if (dom < 1 || dom > 31) {
            snprintf(why, whyn, "d%d: day must be 1..31", dom);
            return -1;
        }
        if (p < end && *p == '+') {
            p++;
            int nm = s_number(&p, end, &months);
            if (nm <= 0 || p == end || s_lower(*p) != 'm' || p + 1 != end) {
                snprintf(why, whyn, "\"%s\": want d DAY + MONTHS m, e.g. d15+1m",
                         sk_err_quote(s, (size_t)(end - s), q, sizeof q));
                return -1;
            }
            p++;
            if (months > SK_TERMS_MAX_MONTHS) {
                snprintf(why, whyn, "+%dm: at most %d months", months, SK_TERMS_MAX_MONTHS);
                return -1;
            }
        }
        if (p != end) {
            snprintf(why, whyn, "\"%s\": want d DAY, e.g. d15 or d15+1m",
                     sk_err_quote(s, (size_t)(end - s), q, sizeof q));
            return -1;
        }
        w->kind = SK_WHEN_DOM;
        w->dom = dom;
        w->months = months;
        return 0;
    }
    int days = 0;
    int nd = s_number(&p, end, &days);
    if (nd == 0) {
        snprintf(why, whyn, "\"%s\": want DAYS, DAYSeom or dDAY[+MONTHSm]",
                 sk_err_quote(s, (size_t)(end - s), q, sizeof q));
        return -1;
    }
    if (nd < 0 || days > SK_TERMS_MAX_DAYS) {
        snprintf(why, whyn, "\"%s\": at most %d days",
                 sk_err_quote(s, (size_t)(end - s), q, sizeof q), SK_TERMS_MAX_DAYS);
        return -1;
    }
    w->kind = SK_WHEN_DAYS;
    w->days = days;
    if (p == end)
        return 0;
    if (end - p == 3 && s_lower(p[0]) == 'e' && s_lower(p[1]) == 'o' && s_lower(p[2]) == 'm') {
        w->kind = SK_WHEN_EOM;
        return 0;
    }
    snprintf(why, whyn, "\"%s\": want DAYS, DAYSeom or dDAY[+MONTHSm]",
             sk_err_quote(s, (size_t)(end - s), q, sizeof q));
    return -1;
}

/* <0, 0, >0 as a resolves before, with, after b, for two WHENs of one kind. */
static int s_when_cmp(const sk_when_t *a, const sk_when_t *b)
{
    if (a->kind == SK_WHEN_DOM) {
        if (a->months != b->months)
            return a->months < b->months ? -1 : 1;
        return (a->dom > b->dom) - (a->dom < b->dom);
    }
    return (a->days > b->days) - (a->days < b->days);
}

static bool s_space(char c)
{
    return c == ' ' || c == '\t';
}

int sk_terms_parse(const char *s, sk_terms_t *out, sk_err_t *err)
{
    char q[SK_ERR_QUOTE_MAX], pq[SK_ERR_QUOTE_MAX], why[160];
    if (!s)
        return sk_err_set(err, "bad_terms", "terms are empty");
    size_t len = strnlen(s, SK_TERMS_MAX_LEN + 1);
    sk_err_quote(s, len, q, sizeof q);
    if (len > SK_TERMS_MAX_LEN)
        return sk_err_set(err, "bad_terms", "terms \"%s\": too long (at most %d characters)", q,
                          SK_TERMS_MAX_LEN);
    const char *p = s, *end = s + len;
    while (p < end && s_space(*p))
        p++;
    if (p == end)
        return sk_err_set(err, "bad_terms", "terms are empty (e.g. 2/10,n/30)");

    sk_terms_t t;
    memset(&t, 0, sizeof t);
    bool have_net = false;
    for (int piece = 1; p <= end; piece++) {
        const char *a = p, *b = p;
        while (b < end && *b != ',')
            b++;
        p = b + 1; /* past the comma, or past end to stop */
        const char *pe = b;
        while (a < pe && s_space(*a))
            a++;
        while (pe > a && s_space(pe[-1]))
            pe--;
        sk_err_quote(a, (size_t)(pe - a), pq, sizeof pq);
        if (a == pe)
            return sk_err_set(err, "bad_terms", "terms \"%s\": term %d is empty", q, piece);
        if (have_net)
            return sk_err_set(err, "bad_terms", "terms \"%s\": the net term must come last", q);
        for (const char *c = a; c < pe; c++)
            if (s_space(*c) || *c < 0x20 || *c >= 0x7f)
                return sk_err_set(err, "bad_terms",
                                  "terms \"%s\": term %d (%s) has a space or an "
                                  "unexpected character",
                                  q, piece, pq);
        const char *slash = memchr(a, '/', (size_t)(pe - a));
        if (s_lower(*a) == 'n' && (pe - a == 1 || a[1] == '/')) {
            if (!slash)
                return sk_err_set(err, "bad_terms",
                                  "terms \"%s\": net term \"%s\" needs \"n/DAYS\"", q, pq);
            if (s_parse_when(slash + 1, pe, &t.net, why, sizeof why) != 0)
                return sk_err_set(err, "bad_terms", "terms \"%s\": net term (%s): %s", q, pq, why);
            have_net = true;
            continue;
        }
        if (t.ntiers == SK_TERMS_MAX_TIERS)
            return sk_err_set(err, "bad_terms", "terms \"%s\": too many tiers (at most %d)", q,
                              SK_TERMS_MAX_TIERS);
        int tier = t.ntiers + 1;
        if (!slash)
            return sk_err_set(err, "bad_terms",
                              "terms \"%s\": tier %d (%s): want RATE/DAYS, e.g. 2/10", q, tier, pq);
        char rate[24];
        size_t rl = (size_t)(slash - a);
        if (rl >= sizeof rate)
            rl = sizeof rate - 1; /* still fails: too many digits or junk */
        memcpy(rate, a, rl);
        rate[rl] = '\0';
        sk_err_t e;
        sk_tier_t *ti = &t.tiers[t.ntiers];
        if (sk_percent_parse(rate, &ti->rate_ppm, &e) != 0)
            return sk_err_set(err, "bad_terms", "terms \"%s\": tier %d (%s): %s", q, tier, pq,
                              e.msg);
        if (s_parse_when(slash + 1, pe, &ti->when, why, sizeof why) != 0)
            return sk_err_set(err, "bad_terms", "terms \"%s\": tier %d (%s): %s", q, tier, pq, why);
        if (t.ntiers > 0) {
            const sk_tier_t *prev = &t.tiers[t.ntiers - 1];
            if (ti->rate_ppm >= prev->rate_ppm) {
                char r1[16], r0[16];
                return sk_err_set(err, "bad_terms",
                                  "terms \"%s\": tier %d (%s): rate %s %% must be below the "
                                  "previous tier's %s %%",
                                  q, tier, pq, sk_percent_format(ti->rate_ppm, r1, sizeof r1),
                                  sk_percent_format(prev->rate_ppm, r0, sizeof r0));
            }
            /* The latest earlier tier of the same kind; kinds that differ are
             * ordered by the schedule once the baseline is known. */
            for (int k = t.ntiers - 1; k >= 0; k--) {
                const sk_when_t *pw = &t.tiers[k].when;
                if (pw->kind != ti->when.kind)
                    continue;
                if (s_when_cmp(&ti->when, pw) <= 0) {
                    char w1[32], w0[32];
                    s_when_buf(&ti->when, w1, sizeof w1);
                    s_when_buf(pw, w0, sizeof w0);
                    if (ti->when.kind == SK_WHEN_DOM)
                        return sk_err_set(
                            err, "bad_terms",
                            "terms \"%s\": tier %d (%s): %s must be after tier %d's %s", q, tier,
                            pq, w1, k + 1, w0);
                    return sk_err_set(err, "bad_terms",
                                      "terms \"%s\": tier %d (%s): %s days must be after the "
                                      "previous tier's %s days",
                                      q, tier, pq, w1, w0);
                }
                break;
            }
        }
        t.ntiers++;
    }
    if (!have_net)
        return sk_err_set(err, "bad_terms", "terms \"%s\": missing net term (e.g. \",n/30\")", q);
    for (int k = 0; k < t.ntiers; k++) {
        const sk_when_t *w = &t.tiers[k].when;
        if (w->kind != t.net.kind)
            continue;
        int c = s_when_cmp(w, &t.net);
        if (c >= 0) {
            char wt[32], nt[32], rt[16];
            s_when_buf(w, wt, sizeof wt);
            s_when_buf(&t.net, nt, sizeof nt);
            sk_percent_format(t.tiers[k].rate_ppm, rt, sizeof rt);
            return sk_err_set(err, "bad_terms",
                              "terms \"%s\": tier %d (%s/%s): ends %s the net term n/%s", q, k + 1,
                              rt, wt, c > 0 ? "after" : "on the same day as", nt);
        }
    }
    *out = t;
    return 0;
}

char *sk_terms_format(const sk_terms_t *t, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    sk_text_t out = sk_text(buf, n);
    for (int k = 0; k < t->ntiers; k++) {
        char r[16];
        sk_text_str(&out, sk_percent_format(t->tiers[k].rate_ppm, r, sizeof r));
        sk_text_char(&out, '/');
        s_when_text(&t->tiers[k].when, &out);
        sk_text_char(&out, ',');
    }
    sk_text_str(&out, "n/");
    s_when_text(&t->net, &out);
    return buf;
}

sk_day_t sk_when_resolve(const sk_when_t *w, sk_day_t baseline)
{
    switch (w->kind) {
    case SK_WHEN_EOM:
        return sk_date_end_of_month(baseline) + w->days;
    case SK_WHEN_DOM:
        return sk_date_day_of_month(baseline, w->dom, w->months);
    case SK_WHEN_DAYS:
    default:
        return baseline + w->days;
    }
}
