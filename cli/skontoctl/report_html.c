/* report_html — the policy report as one HTML file; see report_html.h.
 *
 * Every byte of markup goes through libxml2's xmlTextWriter: it escapes text
 * and attribute values, so a customer id or terms string can never open a
 * tag. Elements are always closed with a full end tag (`<td></td>`, never
 * `<td/>`), which HTML parsers read the same way as XML. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "cli_msg.h"
#include "cli_output.h"
#include "report_html.h"
#include "scale.h"

/* ---------------------------------------------------------------- labels */

enum {
    L_TITLE,
    L_RANGE,
    L_ANY,
    L_COST,
    L_ASOF,
    L_TIERS,
    L_TERMS,
    L_CUR,
    L_TIER,
    L_RATE,
    L_OFFERED,
    L_TAKEN,
    L_SHARE,
    L_DISCOUNTED,
    L_DAYS,
    L_APR_NET,
    L_EFF_NET,
    L_EFF_NEXT,
    L_BALANCE,
    L_VALUE,
    L_NET_EFFECT,
    L_CUSTS,
    L_CUSTOMER,
    L_CLOSED,
    L_PREFERRED,
    L_ON_TIME,
    L_UNEARNED,
    L_IMPLIED,
    L_IMPLIED_EFF,
    L_NEVER,
    L_ALWAYS,
    L_NONE,
    L_SPS,
    L_SALESPERSON,
    L_AMOUNT,
    L_UNEARNED_AMT,
    L_OV_REQUESTED,
    L_OV_APPROVED,
    L_OV_REFUSED,
    L_OV_NOT_COUNTED,
    L_NET_TITLE,
    L_MONTH,
    L_DISCOUNTS,
    L_TOTAL,
    L_DSO,
    L_RECEIVABLES,
    L_DSO_DAYS,
    L_STATUS,
    L_REC_NET,
    L_DSO_NET,
    L_CHART_TAKEUP,
    L_CHART_MONTHS,
    L_CHART_RATE,
    L_COST_LINE,
    L_NO_DATA,
    L_CHART_FORECAST,
    L_BY_HISTORY,
    L_AT_NET,
    L_RECOMMENDATIONS,
    L_TIER_BARS,
    L_NET_BAR,
    L_NO_AUDIT_LOG,
    L_COUNT
};

static const char *const s_en[] = {
    "Discount policy report",
    "Invoices closed",
    "any month",
    "Cost of capital (a year)",
    "DSO as of",
    "Per terms and tier",
    "Terms",
    "Currency",
    "Tier",
    "Rate",
    "Offered",
    "Taken",
    "Share",
    "Discounted",
    "Days before net",
    "APR vs net",
    "Effective vs net",
    "Effective vs next tier",
    "Balance-point rate",
    "Value of earlier cash",
    "Net effect",
    "Per customer",
    "Customer",
    "Closed",
    "Preferred tier",
    "On time",
    "Unearned attempts",
    "Implied APR",
    "Implied effective",
    "Never take a discount",
    "Always take a discount",
    "none",
    "Per salesperson",
    "Salesperson",
    "Amount",
    "Unearned amount",
    "Overrides requested",
    "Approved",
    "Refused",
    "Overrides not counted",
    "Net effect by month (value of earlier cash minus discounts)",
    "Month",
    "Discounts",
    "Total",
    "DSO (countback)",
    "Receivables",
    "DSO days",
    "Status",
    "Receivables at net",
    "DSO days at net",
    "Take-up by tier (share of invoices, %)",
    "Discounts against the value of earlier cash, per month",
    "What the discounts cost a year, per month (%), against the cost of capital",
    "cost of capital",
    "no data",
    "Receivables forecast by week (Monday), by history and at net",
    "by history",
    "at net",
    "Recommendations",
    "discount tiers, t0 first",
    "paid at net",
    "no audit log in this store"};

static const char *const s_zh[] = {"现金折扣政策报告",
                                   "结清发票",
                                   "所有月份",
                                   "资金成本（年）",
                                   "DSO 截至",
                                   "按条款与档位",
                                   "条款",
                                   "币种",
                                   "档位",
                                   "折扣率",
                                   "发票数",
                                   "享受折扣",
                                   "占比",
                                   "折扣金额",
                                   "早于净期天数",
                                   "名义年化（对净期）",
                                   "实际年化（对净期）",
                                   "实际年化（对下一档）",
                                   "平衡点折扣率",
                                   "提前收款价值",
                                   "净效果",
                                   "按客户",
                                   "客户",
                                   "已结清",
                                   "常用档位",
                                   "按时付款",
                                   "未得折扣尝试",
                                   "隐含年化",
                                   "隐含实际年化",
                                   "从不享受折扣",
                                   "总是享受折扣",
                                   "无",
                                   "按销售员",
                                   "销售员",
                                   "金额",
                                   "未得折扣金额",
                                   "特批申请",
                                   "已批准",
                                   "被拒绝",
                                   "未统计特批",
                                   "按月净效果（提前收款价值减折扣）",
                                   "月份",
                                   "折扣",
                                   "合计",
                                   "DSO（倒推法）",
                                   "应收账款",
                                   "DSO 天数",
                                   "状态",
                                   "按净期的应收账款",
                                   "按净期的 DSO 天数",
                                   "各档位折扣享受率（发票占比，%）",
                                   "每月折扣与提前收款价值",
                                   "每月折扣的年化成本（%）与资金成本",
                                   "资金成本",
                                   "无数据",
                                   "按周应收账款预测（周一），按历史与按净期",
                                   "按历史",
                                   "按净期",
                                   "建议",
                                   "折扣档位（t0 在最左）",
                                   "按净期付款",
                                   "本库中没有审计日志"};
_Static_assert(sizeof s_en / sizeof s_en[0] == L_COUNT, "an English label for each");
_Static_assert(sizeof s_zh / sizeof s_zh[0] == L_COUNT, "a Chinese label for each");

/* ---------------------------------------------------------------- writer */

typedef struct {
    xmlTextWriterPtr w;
    const char *const *l;
    int bad;
} s_out_t;

static void s_start(s_out_t *o, const char *name)
{
    o->bad |= xmlTextWriterStartElement(o->w, BAD_CAST name) < 0;
}

static void s_end(s_out_t *o)
{
    o->bad |= xmlTextWriterFullEndElement(o->w) < 0;
}

static void s_attr(s_out_t *o, const char *name, const char *value)
{
    o->bad |= xmlTextWriterWriteAttribute(o->w, BAD_CAST name, BAD_CAST value) < 0;
}

static void s_attrf(s_out_t *o, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_attrf(s_out_t *o, const char *name, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s_attr(o, name, buf);
}

static void s_text(s_out_t *o, const char *text)
{
    o->bad |= xmlTextWriterWriteString(o->w, BAD_CAST text) < 0;
}

/* <name>text</name> */
static void s_el(s_out_t *o, const char *name, const char *text)
{
    s_start(o, name);
    s_text(o, text);
    s_end(o);
}

/* A table cell with the figure's --json key and value (NULL value: "-"). */
static void s_td(s_out_t *o, const char *key, const char *value)
{
    s_start(o, "td");
    if (key)
        s_attr(o, "data-k", key);
    if (value)
        s_attr(o, "data-v", value);
    s_text(o, value ? value : "-");
    s_end(o);
}

/* bp as the JSON number prints it: 3724 -> "37.24" */
static const char *s_bp(int32_t bp, char *buf, size_t n)
{
    snprintf(buf, n, "%s%d.%02d", bp < 0 ? "-" : "", abs(bp) / 100, abs(bp) % 100);
    return buf;
}

static void s_td_bp(s_out_t *o, const char *key, bool has, int32_t bp)
{
    char b[24];
    s_td(o, key, has ? s_bp(bp, b, sizeof b) : NULL);
}

static void s_td_money(s_out_t *o, const char *key, int64_t minor, const sk_currency_t *cur)
{
    char b[48];
    s_td(o, key, sk_money_format(minor, cur, b, sizeof b));
}

static void s_td_int(s_out_t *o, const char *key, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    s_td(o, key, b);
}

static void s_head_row(s_out_t *o, const int *labels, int n)
{
    s_start(o, "tr");
    for (int i = 0; i < n; i++)
        s_el(o, "th", o->l[labels[i]]);
    s_end(o);
}

/* ---------------------------------------------------------------- charts */

#define S_W 720
#define S_H 260
#define S_L 70 /* left margin: the axis labels */
#define S_B 50 /* bottom margin: the bar labels */
#define S_T 16

typedef struct {
    char label[64];  /* under the bar */
    char title[160]; /* the bar's <title> */
    const char *key; /* data-k */
    char value[48];  /* data-v */
    char week[16];   /* data-week, if any */
    int64_t v;       /* on the scale */
    int series;      /* 0, 1: colour */
    int group;       /* consecutive bars of one group stand side by side in one slot */
} s_bar_t;

static const char *const s_colour[2] = {"#3b6ea5", "#d08c2c"};

/* The y axis: 1-2-5 ticks, their grid lines and labels (fmt: scaled value). */
static void s_axis(s_out_t *o, const sk_scale_t *sc, int64_t unit, int decimals)
{
    for (int i = 0; i < sc->n; i++) {
        int64_t v = sc->lo + (int64_t)i * sc->step;
        int64_t y = S_T + (S_H - S_T - S_B) - sk_scale_pos(sc, v, S_H - S_T - S_B);
        s_start(o, "line");
        s_attr(o, "class", "grid");
        s_attrf(o, "x1", "%d", S_L);
        s_attrf(o, "x2", "%d", S_W - 10);
        s_attrf(o, "y1", "%" PRId64, y);
        s_attrf(o, "y2", "%" PRId64, y);
        s_attr(o, "stroke", v == 0 ? "#444" : "#ddd");
        s_end(o);
        char b[48];
        if (decimals == 2)
            s_bp((int32_t)(v / (unit / 100 ? unit / 100 : 1)), b, sizeof b);
        else
            snprintf(b, sizeof b, "%" PRId64, v / unit);
        s_start(o, "text");
        s_attr(o, "class", "tick");
        s_attrf(o, "x", "%d", S_L - 6);
        s_attrf(o, "y", "%" PRId64, y + 4);
        s_attr(o, "text-anchor", "end");
        s_attr(o, "font-size", "11");
        s_text(o, b);
        s_end(o);
    }
}

/* A bar chart: bars[n] on a 1-2-5 scale; ref (if has_ref) a dashed reference
 * line with its label. unit: scale units per displayed unit for the ticks. */
static void s_bar_chart(s_out_t *o, const char *id, const char *caption, const s_bar_t *bars, int n,
                        int64_t unit, int decimals, bool has_ref, int64_t ref,
                        const char *ref_label)
{
    s_el(o, "h3", caption);
    if (n == 0) {
        s_el(o, "p", o->l[L_NO_DATA]);
        return;
    }
    int64_t lo = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        lo = bars[i].v < lo ? bars[i].v : lo;
        hi = bars[i].v > hi ? bars[i].v : hi;
    }
    if (has_ref)
        hi = ref > hi ? ref : hi;
    sk_scale_t sc;
    if (sk_scale_ticks(lo, hi, 5, &sc) != 0) {
        o->bad = 1;
        return;
    }
    s_start(o, "svg");
    s_attr(o, "xmlns", "http://www.w3.org/2000/svg");
    s_attr(o, "id", id);
    s_attrf(o, "viewBox", "0 0 %d %d", S_W, S_H);
    s_attr(o, "width", "100%");
    s_attr(o, "style", "max-width:720px");
    s_attr(o, "role", "img");
    s_el(o, "title", caption);
    s_axis(o, &sc, unit, decimals);
    int plot = S_H - S_T - S_B, y0 = S_T + plot - (int)sk_scale_pos(&sc, 0, plot);
    /* one slot per group (a run of bars with the same group), its bars side
     * by side and touching, never overlapping; the label under the group */
    int groups = 0, widest = 0;
    for (int i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && bars[j].group == bars[i].group; j++)
            ;
        groups++;
        widest = j - i > widest ? j - i : widest;
    }
    int slot = (S_W - 10 - S_L) / groups, bw = slot * 7 / 10 / widest;
    bw = bw > 60 ? 60 : bw < 1 ? 1 : bw;
    for (int i = 0, j, g = 0; i < n; i = j, g++) {
        for (j = i + 1; j < n && bars[j].group == bars[i].group; j++)
            ;
        int x0 = S_L + g * slot + (slot - (j - i) * bw) / 2;
        for (int b = i; b < j; b++) {
            int y = S_T + plot - (int)sk_scale_pos(&sc, bars[b].v, plot);
            s_start(o, "rect");
            s_attr(o, "class", "bar");
            s_attr(o, "data-k", bars[b].key);
            s_attr(o, "data-v", bars[b].value);
            s_attr(o, "data-label", bars[b].title);
            if (bars[b].week[0])
                s_attr(o, "data-week", bars[b].week);
            s_attrf(o, "x", "%d", x0 + (b - i) * bw);
            s_attrf(o, "y", "%d", y < y0 ? y : y0);
            s_attrf(o, "width", "%d", bw);
            s_attrf(o, "height", "%d", abs(y0 - y));
            s_attr(o, "fill", s_colour[bars[b].series & 1]);
            s_el(o, "title", bars[b].title);
            s_end(o);
        }
        if (bars[i].label[0]) {
            s_start(o, "text");
            s_attrf(o, "x", "%d", x0 + (j - i) * bw / 2);
            s_attrf(o, "y", "%d", S_H - S_B + 16);
            s_attr(o, "text-anchor", "middle");
            s_attr(o, "font-size", "11");
            s_text(o, bars[i].label);
            s_end(o);
        }
    }
    if (has_ref) {
        int y = S_T + plot - (int)sk_scale_pos(&sc, ref, plot);
        s_start(o, "line");
        s_attr(o, "class", "ref");
        s_attrf(o, "x1", "%d", S_L);
        s_attrf(o, "x2", "%d", S_W - 10);
        s_attrf(o, "y1", "%d", y);
        s_attrf(o, "y2", "%d", y);
        s_attr(o, "stroke", "#c0392b");
        s_attr(o, "stroke-dasharray", "6 4");
        s_el(o, "title", ref_label);
        s_end(o);
        s_start(o, "text");
        s_attrf(o, "x", "%d", S_W - 12);
        s_attrf(o, "y", "%d", y - 4);
        s_attr(o, "text-anchor", "end");
        s_attr(o, "font-size", "11");
        s_attr(o, "fill", "#c0392b");
        s_text(o, ref_label);
        s_end(o);
    }
    s_end(o); /* svg */
}

/* Which colour is which series. */
static void s_legend(s_out_t *o, const char *first, const char *second)
{
    s_start(o, "p");
    s_attr(o, "class", "legend");
    for (int i = 0; i < 2; i++) {
        s_start(o, "span");
        s_attrf(o, "style", "color:%s", s_colour[i]);
        s_text(o, "\xe2\x96\xa0 ");
        s_end(o);
        s_text(o, i ? second : first);
        s_text(o, i ? "" : "   ");
    }
    s_end(o);
}

/* ---------------------------------------------------------------- sections */

static void s_tiers(s_out_t *o, const sk_pol_rep_t *r)
{
    s_el(o, "h2", o->l[L_TIERS]);
    s_start(o, "table");
    s_attr(o, "id", "tiers");
    static const int h[] = {L_TERMS,   L_CUR,      L_TIER,       L_RATE,  L_OFFERED,
                            L_TAKEN,   L_SHARE,    L_DISCOUNTED, L_DAYS,  L_APR_NET,
                            L_EFF_NET, L_EFF_NEXT, L_BALANCE,    L_VALUE, L_NET_EFFECT};
    s_head_row(o, h, (int)(sizeof h / sizeof h[0]));
    for (size_t i = 0; i < r->tiers.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->tiers, sk_pol_trow_t, i);
        if (row->tier == SK_POL_TIER_ALL)
            continue;
        sk_pol_tier_fig_t f;
        sk_pol_tier_figures(r, row, &f);
        char b[48];
        s_start(o, "tr");
        s_attr(o, "data-terms", row->terms);
        s_attr(o, "data-currency", row->cur);
        s_attr(o, "data-tier", sk_pol_tier_name(row->tier, b, sizeof b));
        s_td(o, "terms", row->terms);
        s_td(o, "currency", row->cur);
        s_td(o, "tier", b);
        s_td(o, "rate", f.has_rates ? sk_cli_rate(f.rate_ppm, b, sizeof b) : NULL);
        s_td_int(o, "offered", f.offered);
        s_td_int(o, "taken", f.taken);
        s_td_bp(o, "share", true, f.share_bp);
        s_td_money(o, "discounted", f.discounted, f.cur);
        s_td_bp(o, "avg_days_before_net", f.has_days, f.avg_days_c);
        s_td_bp(o, "apr_vs_net.nominal", f.has_rates, f.vs_net.nominal_bp);
        s_td_bp(o, "apr_vs_net.effective", f.has_rates, f.vs_net.effective_bp);
        s_td_bp(o, "apr_vs_next.effective", f.has_rates, f.vs_next.effective_bp);
        s_td(o, "balance_rate", f.has_rates ? sk_cli_rate(f.balance_ppm, b, sizeof b) : NULL);
        s_td_money(o, "value_of_earlier_cash", f.value, f.cur);
        s_td_money(o, "net_effect", f.net_effect, f.cur);
        s_end(o);
    }
    s_end(o);

    /* take-up by tier */
    s_bar_t *bars = calloc(r->tiers.n ? r->tiers.n : 1, sizeof *bars);
    if (!bars) {
        o->bad = 1;
        return;
    }
    int n = 0, group = 0;
    const sk_pol_trow_t *prev = NULL;
    for (size_t i = 0; i < r->tiers.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->tiers, sk_pol_trow_t, i);
        if (row->tier == SK_POL_TIER_ALL)
            continue;
        sk_pol_tier_fig_t f;
        sk_pol_tier_figures(r, row, &f);
        s_bar_t *b = &bars[n++];
        char tn[16], v[24];
        sk_pol_tier_name(row->tier, tn, sizeof tn);
        s_bp(f.share_bp, v, sizeof v);
        snprintf(b->title, sizeof b->title, "%.60s %s %s: %s%% (%" PRId64 "/%" PRId64 ")",
                 row->terms, row->cur, tn, v, f.taken, f.offered);
        b->key = "share";
        snprintf(b->value, sizeof b->value, "%s", v);
        b->v = f.share_bp;
        /* the tiers of one terms and currency side by side, labelled by the terms */
        if (prev && (strcmp(row->terms, prev->terms) || strcmp(row->cur, prev->cur)))
            group++;
        if (!prev || group != bars[n > 1 ? n - 2 : 0].group)
            snprintf(b->label, sizeof b->label, "%.40s %s", row->terms, row->cur);
        else
            b->label[0] = '\0';
        prev = row;
        b->group = group;
        b->series = row->tier == SK_POL_TIER_NET ? 1 : 0;
    }
    s_bar_chart(o, "chart-takeup", o->l[L_CHART_TAKEUP], bars, n, 100, 0, false, 0, NULL);
    if (n)
        s_legend(o, o->l[L_TIER_BARS], o->l[L_NET_BAR]);
    free(bars);
}

static void s_customers(s_out_t *o, const sk_pol_rep_t *r)
{
    s_el(o, "h2", o->l[L_CUSTS]);
    s_start(o, "table");
    s_attr(o, "id", "customers");
    static const int h[] = {L_CUSTOMER, L_CLOSED,   L_PREFERRED, L_ON_TIME,
                            L_DAYS,     L_UNEARNED, L_IMPLIED,   L_IMPLIED_EFF};
    s_head_row(o, h, (int)(sizeof h / sizeof h[0]));
    for (size_t i = 0; i < r->custs.n; i++) {
        const sk_pol_crow_t *c = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
        if (c->n <= 0)
            continue;
        sk_pol_cust_fig_t f;
        sk_pol_cust_figures(c, &f);
        char b[16];
        s_start(o, "tr");
        s_attr(o, "data-customer", c->id);
        s_td(o, "customer", c->id);
        s_td_int(o, "closed", c->n);
        s_td(o, "preferred_tier", sk_pol_tier_name(f.preferred, b, sizeof b));
        s_td_bp(o, "on_time_share", true, f.on_time_bp);
        s_td_bp(o, "avg_days_before_net", true, f.avg_days_c);
        s_td_int(o, "unearned_attempts", c->un);
        s_td_bp(o, "implied_apr.nominal", f.has_implied, f.implied.nominal_bp);
        s_td_bp(o, "implied_apr.effective", f.has_implied, f.implied.effective_bp);
        s_end(o);
    }
    s_end(o);
    for (int always = 0; always < 2; always++) {
        s_start(o, "p");
        s_attr(o, "id", always ? "always_take" : "never_take");
        s_el(o, "strong", o->l[always ? L_ALWAYS : L_NEVER]);
        s_text(o, ": ");
        int n = 0;
        for (size_t i = 0; i < r->custs.n; i++) {
            const sk_pol_crow_t *c = SK_POL_AT(&r->custs, sk_pol_crow_t, i);
            sk_pol_cust_fig_t f;
            sk_pol_cust_figures(c, &f);
            /* as --json: never = no discount taken; always = taken, never at net */
            if (c->n > 0 &&
                (always ? f.discounted_count > 0 && c->net == 0 : f.discounted_count == 0)) {
                if (n++)
                    s_text(o, " ");
                s_start(o, "span");
                s_attr(o, "class", "cust");
                s_text(o, c->id);
                s_end(o);
            }
        }
        if (!n)
            s_text(o, o->l[L_NONE]);
        s_end(o);
    }
}

/* A {CUR: money} cell: data-k key, data-v "CUR amount" per currency whose
 * value is not 0, "; " between them, in the row's order (none: "-"). */
static void s_td_cur_map(s_out_t *o, const char *key, const char (*cur)[4], const int64_t *v)
{
    char b[SK_POL_CUR_MAX * 48];
    s_td(o, key, sk_pol_cur_list(cur, v, true, "; ", b, sizeof b)[0] ? b : NULL);
}

static void s_salespeople(s_out_t *o, const sk_pol_rep_t *r)
{
    s_el(o, "h2", o->l[L_SPS]);
    s_start(o, "table");
    s_attr(o, "id", "salespeople");
    static const int h[] = {L_SALESPERSON,  L_CLOSED,      L_TAKEN,     L_SHARE,
                            L_DISCOUNTED,   L_AMOUNT,      L_UNEARNED,  L_UNEARNED_AMT,
                            L_OV_REQUESTED, L_OV_APPROVED, L_OV_REFUSED};
    s_head_row(o, h, (int)(sizeof h / sizeof h[0]));
    bool ov = !r->sps_no_overrides[0];
    for (size_t i = 0; i < r->sps.n; i++) {
        const sk_pol_srow_t *sp = SK_POL_AT(&r->sps, sk_pol_srow_t, i);
        s_start(o, "tr");
        s_attr(o, "data-salesperson", sp->id); /* "": invoices without one (JSON null) */
        s_td(o, "salesperson", sp->id[0] ? sp->id : NULL);
        s_td_int(o, "closed", sp->n);
        s_td_int(o, "taken", sp->tk);
        s_td_bp(o, "share", true, sk_pol_sp_share_bp(sp));
        s_td_cur_map(o, "discounted", sp->cur, sp->dc);
        s_td_cur_map(o, "amount", sp->cur, sp->a);
        s_td_int(o, "unearned_attempts", sp->un);
        s_td_cur_map(o, "unearned_amount", sp->cur, sp->ua);
        if (ov) {
            s_td_int(o, "overrides.requested", sp->ov_requested);
            s_td_int(o, "overrides.approved", sp->ov_approved);
            s_td_int(o, "overrides.refused", sp->ov_refused);
        } else {
            s_td(o, "overrides.requested", NULL);
            s_td(o, "overrides.approved", NULL);
            s_td(o, "overrides.refused", NULL);
        }
        s_end(o);
    }
    s_end(o);
    if (!ov) {
        s_start(o, "p");
        s_attr(o, "id", "overrides_not_counted");
        s_el(o, "strong", o->l[L_OV_NOT_COUNTED]);
        s_text(o, ": ");
        /* the store's reason in the page's language; a Redis error as Redis said it */
        if (r->sps_no_audit_log)
            s_text(o, o->l[L_NO_AUDIT_LOG]);
        else
            s_text(o, r->sps_no_overrides);
        s_end(o);
    }
}

static void s_net_effect(s_out_t *o, const sk_pol_rep_t *r)
{
    s_el(o, "h2", o->l[L_NET_TITLE]);
    s_start(o, "table");
    s_attr(o, "id", "net_effect");
    static const int h[] = {L_MONTH, L_CUR, L_TIER, L_VALUE, L_DISCOUNTS, L_NET_EFFECT};
    s_head_row(o, h, (int)(sizeof h / sizeof h[0]));
    for (size_t i = 0; i < r->months.n; i++) {
        const sk_pol_trow_t *row = SK_POL_AT(&r->months, sk_pol_trow_t, i);
        const sk_currency_t *cc = sk_currency_find(row->cur);
        int64_t v = sk_pol_value(row->v[SK_POL_V_PD], r->k_ppm);
        char tn[16];
        s_start(o, "tr");
        s_attr(o, "class", "month");
        s_td(o, "month", row->terms);
        s_td(o, "currency", row->cur);
        s_td(o, "tier", sk_pol_tier_name(row->tier, tn, sizeof tn));
        s_td_money(o, "value_of_earlier_cash", v, cc);
        s_td_money(o, "discounts", row->v[SK_POL_V_DC], cc);
        s_td_money(o, "net_effect", v - row->v[SK_POL_V_DC], cc);
        s_end(o);
    }
    /* per currency totals (the month rows are sorted by currency) */
    for (size_t i = 0; i < r->months.n;) {
        sk_pol_sum_t t;
        i = sk_pol_month_sum(r, i, false, &t);
        const sk_currency_t *cc = sk_currency_find(t.cur);
        s_start(o, "tr");
        s_attr(o, "class", "total");
        s_attr(o, "data-currency", t.cur);
        s_el(o, "th", o->l[L_TOTAL]);
        s_td(o, "currency", t.cur);
        s_td(o, NULL, NULL);
        s_td_money(o, "value_of_earlier_cash", t.value, cc);
        s_td_money(o, "discounts", t.discounts, cc);
        s_td_money(o, "net_effect", t.value - t.discounts, cc);
        s_end(o);
    }
    s_end(o);

    /* per month and currency: discounts against the value of earlier cash,
     * and what the discounts cost a year against the cost of capital */
    size_t nb = 2 * r->months.n + 1;
    s_bar_t *bars = calloc(nb, sizeof *bars), *rates = calloc(nb, sizeof *rates);
    if (!bars || !rates) {
        free(bars);
        free(rates);
        o->bad = 1;
        return;
    }
    for (size_t i = 0, j; i < r->months.n; i = j) {
        const sk_pol_trow_t *first = SK_POL_AT(&r->months, sk_pol_trow_t, i);
        const sk_currency_t *cc = sk_currency_find(first->cur);
        int n = 0, nr = 0;
        /* one pair of bars per month of this currency (the rows are per tier) */
        for (j = i; j < r->months.n;) {
            const sk_pol_trow_t *row = SK_POL_AT(&r->months, sk_pol_trow_t, j);
            if (strcmp(row->cur, first->cur))
                break;
            sk_pol_sum_t t;
            j = sk_pol_month_sum(r, j, true, &t);
            int64_t v = t.value, dc = t.discounts, pd = t.cash_days;
            char a[48], b[48];
            sk_money_format(dc, cc, a, sizeof a);
            sk_money_format(v, cc, b, sizeof b);
            s_bar_t *x = &bars[n++], *y = &bars[n++];
            snprintf(x->label, sizeof x->label, "%.7s", row->terms);
            snprintf(x->title, sizeof x->title, "%.7s %s %s %s", row->terms, o->l[L_DISCOUNTS], a,
                     first->cur);
            x->key = "discounts";
            snprintf(x->value, sizeof x->value, "%s", a);
            x->v = dc;
            x->series = 0;
            x->group = y->group = n / 2; /* the month's pair side by side */
            snprintf(y->title, sizeof y->title, "%.7s %s %s %s", row->terms, o->l[L_VALUE], b,
                     first->cur);
            y->key = "value_of_earlier_cash";
            snprintf(y->value, sizeof y->value, "%s", b);
            y->v = v;
            y->series = 1;
            if (pd > 0) {
                /* discounts / (cash x days / 365): the annual rate they cost, bp */
                int64_t bp = (int64_t)((__int128)dc * 365 * 10000 / pd);
                s_bar_t *z = &rates[nr++];
                char c[24];
                s_bp((int32_t)(bp > INT32_MAX ? INT32_MAX : bp), c, sizeof c);
                snprintf(z->label, sizeof z->label, "%.7s", row->terms);
                snprintf(z->title, sizeof z->title, "%.7s: %s%%", row->terms, c);
                z->key = "discount_cost_rate";
                snprintf(z->value, sizeof z->value, "%s", c);
                z->v = bp;
                z->group = nr;
            }
        }
        char id[32], cap[200], kb[24], kl[64];
        snprintf(id, sizeof id, "chart-months-%s", first->cur);
        snprintf(cap, sizeof cap, "%s (%s)", o->l[L_CHART_MONTHS], first->cur);
        int64_t unit = 1;
        for (int d = 0; cc && d < cc->digits; d++)
            unit *= 10;
        s_bar_chart(o, id, cap, bars, n, unit, 0, false, 0, NULL);
        s_legend(o, o->l[L_DISCOUNTS], o->l[L_VALUE]);
        snprintf(id, sizeof id, "chart-rate-%s", first->cur);
        snprintf(cap, sizeof cap, "%s (%s)", o->l[L_CHART_RATE], first->cur);
        snprintf(kl, sizeof kl, "%s %s%%", o->l[L_COST_LINE], sk_cli_rate(r->k_ppm, kb, sizeof kb));
        s_bar_chart(o, id, cap, rates, nr, 100, 0, true, r->k_ppm / 100, kl);
    }
    free(bars);
    free(rates);
}

static void s_dso_section(s_out_t *o, const sk_pol_rep_t *r)
{
    s_el(o, "h2", o->l[L_DSO]);
    s_start(o, "table");
    s_attr(o, "id", "dso");
    static const int h[] = {L_CUR, L_RECEIVABLES, L_DSO_DAYS, L_STATUS, L_REC_NET, L_DSO_NET};
    s_head_row(o, h, (int)(sizeof h / sizeof h[0]));
    sk_pol_dso_t d[SK_POL_DSO_MAX];
    int nd = sk_pol_dso(r, d, SK_POL_DSO_MAX);
    for (int k = 0; k < nd; k++) {
        const sk_currency_t *cc = sk_currency_find(d[k].cur);
        s_start(o, "tr");
        s_attr(o, "data-currency", d[k].cur);
        s_td(o, "currency", d[k].cur);
        s_td_money(o, "receivables", d[k].receivables, cc);
        s_td_bp(o, "days", true, d[k].dso_c);
        s_td(o, "status", sk_pol_dso_status(d[k].st));
        s_td_money(o, "receivables_at_net", d[k].receivables_at_net, cc);
        s_td_bp(o, "days_at_net", true, d[k].dso_at_net_c);
        s_end(o);
    }
    s_end(o);
}

/* ---------------------------------------------------------------- forecast */

typedef struct {
    char cur[4];
    sk_day_t monday;
    int64_t hist, net;
} s_week_t;

static int s_cmp_week(const void *a, const void *b)
{
    const s_week_t *x = a, *y = b;
    int c = strcmp(x->cur, y->cur);
    return c ? c : (x->monday > y->monday) - (x->monday < y->monday);
}

#define S_WEEKS_MAX 52

/* The open balances by ISO week as skontoctl forecast --by week groups them:
 * by the day history expects them and by the net due day. */
static void s_forecast(s_out_t *o, const sk_pol_rep_t *r)
{
    size_t n = r->hist.n + r->open.n;
    s_week_t *w = calloc(n ? n : 1, sizeof *w);
    s_bar_t *bars = calloc(2 * S_WEEKS_MAX, sizeof *bars);
    if (!w || !bars) {
        free(w);
        free(bars);
        o->bad = 1;
        return;
    }
    size_t k = 0;
    for (int t = 0; t < 2; t++) {
        const sk_pol_tab_t *tab = t ? &r->open : &r->hist;
        for (size_t i = 0; i < tab->n; i++) {
            const sk_pol_drow_t *d = SK_POL_AT(tab, sk_pol_drow_t, i);
            sk_day_t day;
            sk_err_t err;
            if (d->v == 0 || sk_date_parse(d->key, &day, &err) != 0)
                continue;
            memcpy(w[k].cur, d->cur, 4);
            w[k].monday = day - (sk_date_weekday(day) - 1);
            *(t ? &w[k].net : &w[k].hist) = d->v;
            k++;
        }
    }
    if (k)
        qsort(w, k, sizeof *w, s_cmp_week);
    s_el(o, "h2", o->l[L_CHART_FORECAST]);
    if (!k)
        s_el(o, "p", o->l[L_NO_DATA]);
    for (size_t i = 0, j; i < k; i = j) {
        const sk_currency_t *cc = sk_currency_find(w[i].cur);
        int nb = 0, weeks = 0;
        for (j = i; j < k && !strcmp(w[j].cur, w[i].cur);) {
            int64_t h = 0, net = 0;
            size_t e = j;
            for (; e < k && !strcmp(w[e].cur, w[i].cur) && w[e].monday == w[j].monday; e++) {
                h += w[e].hist;
                net += w[e].net;
            }
            if (weeks++ < S_WEEKS_MAX) {
                char day[16], a[48];
                sk_date_format(w[j].monday, day, sizeof day);
                for (int s = 0; s < 2; s++) {
                    s_bar_t *b = &bars[nb++];
                    int64_t v = s ? net : h;
                    sk_money_format(v, cc, a, sizeof a);
                    if (!s)
                        snprintf(b->label, sizeof b->label, "%.5s", day + 5);
                    snprintf(b->title, sizeof b->title, "%s %s %s %s", day,
                             o->l[s ? L_AT_NET : L_BY_HISTORY], a, w[i].cur);
                    b->key = s ? "at_net" : "by_history";
                    snprintf(b->value, sizeof b->value, "%s", a);
                    snprintf(b->week, sizeof b->week, "%s", day);
                    b->v = v;
                    b->series = s;
                    b->group = weeks; /* the week's pair side by side */
                }
            }
            j = e;
        }
        /* a label under every few weeks' bars, never overlapping */
        int every = (nb / 2 + 11) / 12;
        for (int b = 0; every > 1 && b < nb; b += 2)
            if ((b / 2) % every)
                bars[b].label[0] = '\0';
        char id[32], cap[200];
        snprintf(id, sizeof id, "chart-forecast-%s", w[i].cur);
        snprintf(cap, sizeof cap, "%s (%s)", o->l[L_CHART_FORECAST], w[i].cur);
        int64_t unit = 1;
        for (int d = 0; cc && d < cc->digits; d++)
            unit *= 10;
        s_bar_chart(o, id, cap, bars, nb, unit, 0, false, 0, NULL);
        s_legend(o, o->l[L_BY_HISTORY], o->l[L_AT_NET]);
    }
    free(w);
    free(bars);
}

/* The recommendation in words, as the text report and --json's `text` (en). */
static void s_recommendations(s_out_t *o, const sk_pol_rep_t *r, const char *locale)
{
    static sk_advice_t a[SK_ADVICE_MAX];
    int n = sk_pol_advice(r, a);
    if (n < 0) {
        o->bad = 1;
        return;
    }
    s_start(o, "section");
    s_attr(o, "id", "recommendations");
    s_el(o, "h2", o->l[L_RECOMMENDATIONS]);
    if (n == 0)
        s_el(o, "p", o->l[L_NONE]);
    s_start(o, "ul");
    for (int i = 0; i < n; i++) {
        const sk_advice_t *x = &a[i];
        char text[1024], tn[16], amt[48];
        s_start(o, "li");
        s_attr(o, "data-kind", sk_advice_kind_code(x->kind));
        if (x->customer)
            s_attr(o, "data-customer", x->customer);
        else {
            s_attr(o, "data-terms", x->terms);
            s_attr(o, "data-tier", sk_pol_tier_name(x->tier, tn, sizeof tn));
        }
        if (x->cur && x->cur[0])
            s_attr(o, "data-currency", x->cur);
        s_attr(
            o, "data-amount",
            sk_money_format(x->amount, x->cur ? sk_currency_find(x->cur) : NULL, amt, sizeof amt));
        s_text(o, sk_pol_advice_text(r, x, locale, text, sizeof text));
        s_end(o);
    }
    s_end(o); /* ul */
    s_end(o); /* section */
}

static const char s_css[] =
    "body{font-family:'WenQuanYi Micro Hei',sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
    "td{text-align:right}th{background:#f2f2f2}";

int sk_report_html_write(const char *verb, const sk_pol_rep_t *r, const char *locale,
                         const char *path)
{
    s_out_t o = {NULL, !strcmp(locale, "zh-CN") ? s_zh : s_en, 0};
    o.w = xmlNewTextWriterFilename(path, 0);
    if (!o.w)
        return sk_cli_fail(verb, "cannot write %s", path);
    o.bad |= xmlTextWriterStartDTD(o.w, BAD_CAST "html", NULL, NULL) < 0;
    o.bad |= xmlTextWriterEndDTD(o.w) < 0;
    s_start(&o, "html");
    s_attr(&o, "lang", locale);
    s_start(&o, "head");
    s_start(&o, "meta");
    s_attr(&o, "charset", "utf-8");
    s_end(&o);
    s_el(&o, "title", o.l[L_TITLE]);
    s_el(&o, "style", s_css);
    s_end(&o);
    s_start(&o, "body");
    s_el(&o, "h1", o.l[L_TITLE]);
    char k[24], day[16], line[200];
    sk_date_format(r->as_of, day, sizeof day);
    s_start(&o, "p");
    s_attr(&o, "id", "meta");
    s_attr(&o, "data-cost-of-capital", sk_cli_rate(r->k_ppm, k, sizeof k));
    s_attr(&o, "data-as-of", day);
    snprintf(line, sizeof line, "%s: %s – %s; %s: %s%%; %s %s", o.l[L_RANGE],
             r->from[0] ? r->from : o.l[L_ANY], r->to[0] ? r->to : o.l[L_ANY], o.l[L_COST], k,
             o.l[L_ASOF], day);
    s_text(&o, line);
    s_end(&o);
    s_recommendations(&o, r, locale);
    s_tiers(&o, r);
    s_customers(&o, r);
    s_salespeople(&o, r);
    s_net_effect(&o, r);
    s_dso_section(&o, r);
    s_forecast(&o, r);
    s_end(&o); /* body */
    s_end(&o); /* html */
    o.bad |= xmlTextWriterEndDocument(o.w) < 0;
    xmlFreeTextWriter(o.w);
    if (o.bad)
        return sk_cli_fail(verb, "cannot write %s", path);
    return SK_EXIT_OK;
}
