/* report_advice — the policy report's recommendation items
 * (common/policy_advice.h) as sentences, in English (the text report, the
 * JSON's `text`, the HTML in en) or Chinese (the HTML in zh-CN). Numbers as
 * in --json whatever the locale. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli_output.h"
#include "money.h"
#include "report_policy.h"

char *sk_pol_advice_text(const sk_pol_rep_t *r, const sk_advice_t *a, const char *locale, char *buf,
                         size_t n)
{
    bool zh = locale && !strcmp(locale, "zh-CN");
    const sk_currency_t *cur = a->cur ? sk_currency_find(a->cur) : NULL;
    /* a customer's amount is in the currency where it is largest: say so when
     * there are others */
    char ccx[64];
    snprintf(ccx, sizeof ccx, "%s%s", a->cur && a->cur[0] ? a->cur : "",
             !a->other_currencies ? ""
             : zh                 ? "，另有其他币种"
                                  : ", and more in other currencies");
    const char *cc = ccx;
    char rate[24], bal[24], k[24], apr[24], disc[40], val[40], exc[40], year[40], amt[40], tn[16];
    sk_cli_rate_pct(a->rate_ppm, rate, sizeof rate);
    sk_cli_rate_pct(a->balance_ppm, bal, sizeof bal);
    sk_cli_rate_pct(r->k_ppm, k, sizeof k);
    sk_cli_bp_pct(a->apr_bp, apr, sizeof apr);
    sk_money_format(a->discounted, cur, disc, sizeof disc);
    sk_money_format(a->value, cur, val, sizeof val);
    sk_money_format(a->excess, cur, exc, sizeof exc);
    sk_money_format(a->per_year, cur, year, sizeof year);
    sk_money_format(a->amount, cur, amt, sizeof amt);
    sk_pol_tier_name(a->tier, tn, sizeof tn);
    switch (a->kind) {
    case SK_ADVICE_TIER_ABOVE_COST:
        snprintf(buf, n,
                 zh ? "%s %s（%s）：折扣率 %s 高于平衡点 %s（资金成本 %s，年化有效利率 %s）：折扣 "
                      "%s，提前收款价值 %s，区间内多付 %s，折合每年 %s。"
                    : "%s %s (%s): its rate %s is above the balance rate %s at a cost of "
                      "capital of %s (%s a year effective): discounts %s against earlier cash "
                      "worth %s, %s more in the range, %s a year.",
                 a->terms, tn, cc, rate, bal, k, apr, disc, val, exc, year);
        break;
    case SK_ADVICE_TIER_BELOW_BALANCE:
        snprintf(buf, n,
                 zh ? "%s %s（%s）：折扣率 %s 低于平衡点 %s：在资金成本 %s 下，不超过 %s "
                      "的折扣仍然划算（目前净收益 %s）。"
                    : "%s %s (%s): its rate %s is below the balance rate %s: at a cost of "
                      "capital of %s a rate up to %s would still pay (it earns %s now).",
                 a->terms, tn, cc, rate, bal, k, bal, amt);
        break;
    case SK_ADVICE_CUSTOMER_PAYS_AT_NET:
        snprintf(buf, n,
                 zh ? "客户 %s 的 %" PRId64 " 张发票中有 %" PRId64
                      " 张按净期付款：折扣换不来提前收款，只会增加成本（已给折扣 %s %s）；"
                      "净期条款即可。"
                    : "%s paid %" PRId64 " of %" PRId64
                      " invoices at net: a discount buys no earlier cash from them, it only "
                      "costs (granted %s %s); net terms would do.",
                 a->customer, zh ? a->closed : a->count, zh ? a->count : a->closed, amt, cc);
        break;
    case SK_ADVICE_CUSTOMER_TAKES_FIRST_TIER:
        snprintf(buf, n,
                 zh ? "客户 %s 的全部 %" PRId64 " 张发票都享受第一档折扣（已给折扣 %s "
                                                "%s）：较小的第一档折扣或较晚的档位多半也会被采用。"
                    : "%s took the first tier on all %" PRId64
                      " invoices (granted %s %s): a smaller first-tier rate or a later tier "
                      "would likely be taken too.",
                 a->customer, a->closed, amt, cc);
        break;
    case SK_ADVICE_CUSTOMER_UNEARNED:
        snprintf(buf, n,
                 zh ? "客户 %s 在折扣期后仍扣除折扣 %" PRId64
                      " 次%s（%s %s）：提醒其折扣期限，或追收差额。"
                    : "%s claimed a discount after its window %" PRId64
                      " time%s (%s %s): remind them of the windows or collect the difference.",
                 a->customer, a->count, zh || a->count == 1 ? "" : "s", amt, cc);
        break;
    default:
        snprintf(buf, n, "?");
    }
    return buf;
}
