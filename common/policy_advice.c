/* policy_advice — the recommendation's items; see policy_advice.h for the
 * kinds, their conditions and their order. */
#include "policy_advice.h"

#include <string.h>

#include "money.h"

const char *sk_advice_kind_code(sk_advice_kind_t kind)
{
    static const char *const codes[SK_ADVICE_KINDS] = {
        "tier_above_cost", "tier_below_balance", "customer_pays_at_net",
        "customer_takes_first_tier", "customer_unearned"};
    return kind >= 0 && kind < SK_ADVICE_KINDS ? codes[kind] : "?";
}

static int s_strcmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* < 0 when a comes before b: larger amount, then terms, tier, customer. */
static int s_before(const sk_advice_t *a, const sk_advice_t *b)
{
    if (a->amount != b->amount)
        return a->amount > b->amount ? -1 : 1;
    int c = s_strcmp(a->terms, b->terms);
    if (!c)
        c = a->tier - b->tier;
    if (!c)
        c = s_strcmp(a->customer, b->customer);
    if (!c)
        c = s_strcmp(a->cur, b->cur);
    return c;
}

/* The best SK_ADVICE_PER_KIND of one kind, kept in order. */
typedef struct {
    sk_advice_t item[SK_ADVICE_PER_KIND];
    int n;
} s_top_t;

static void s_offer(s_top_t *top, const sk_advice_t *x)
{
    int at = top->n;
    while (at > 0 && s_before(x, &top->item[at - 1]) < 0)
        at--;
    if (at == SK_ADVICE_PER_KIND)
        return;
    int last = top->n < SK_ADVICE_PER_KIND ? top->n : SK_ADVICE_PER_KIND - 1;
    memmove(&top->item[at + 1], &top->item[at], (size_t)(last - at) * sizeof top->item[0]);
    top->item[at] = *x;
    if (top->n < SK_ADVICE_PER_KIND)
        top->n++;
}

static void s_tier(s_top_t *top, const sk_advice_tier_t *t, int range_days)
{
    sk_advice_t a;
    memset(&a, 0, sizeof a);
    a.terms = t->terms;
    a.cur = t->cur;
    a.tier = t->tier;
    a.rate_ppm = t->rate_ppm;
    a.balance_ppm = t->balance_ppm;
    a.apr_bp = t->apr_bp;
    a.discounted = t->discounted;
    a.value = t->value;
    a.excess = t->discounted - t->value;
    a.closed = t->taken;
    if (t->rate_ppm > t->balance_ppm) {
        if (t->taken <= 0 || a.excess <= 0)
            return;
        a.kind = SK_ADVICE_TIER_ABOVE_COST;
        a.per_year = sk_div_round((__int128)a.excess * 365, range_days, SK_ROUND_HALF_UP);
        a.amount = a.per_year;
    } else if (t->rate_ppm < t->balance_ppm) {
        a.kind = SK_ADVICE_TIER_BELOW_BALANCE;
        a.amount = t->value - t->discounted;
    } else {
        return; /* at the balance point: nothing to change */
    }
    s_offer(&top[a.kind], &a);
}

static void s_cust(s_top_t *top, const sk_advice_cust_t *c)
{
    sk_advice_t a;
    memset(&a, 0, sizeof a);
    a.customer = c->id;
    a.cur = c->cur;
    a.tier = -1;
    a.closed = c->closed;
    a.other_currencies = c->discount_other;
    if (c->closed > 0 && c->at_net * 2 > c->closed) {
        a.kind = SK_ADVICE_CUSTOMER_PAYS_AT_NET;
        a.count = c->at_net;
        a.amount = c->discount;
        s_offer(&top[a.kind], &a);
    }
    if (c->closed >= SK_ADVICE_MIN_CLOSES && c->in_first == c->closed) {
        a.kind = SK_ADVICE_CUSTOMER_TAKES_FIRST_TIER;
        a.count = c->in_first;
        a.amount = c->discount;
        s_offer(&top[a.kind], &a);
    }
    if (c->unearned_count > 0 && c->unearned_cur) {
        a.kind = SK_ADVICE_CUSTOMER_UNEARNED;
        a.cur = c->unearned_cur;
        a.other_currencies = c->unearned_other;
        a.count = c->unearned_count;
        a.amount = c->unearned_amount;
        s_offer(&top[a.kind], &a);
    }
}

int sk_policy_advise(const sk_advice_tier_t *tiers, size_t nt, const sk_advice_cust_t *custs,
                     size_t nc, int range_days, sk_advice_t *out)
{
    s_top_t top[SK_ADVICE_KINDS];
    memset(top, 0, sizeof top);
    if (range_days < 1)
        range_days = 1;
    for (size_t i = 0; i < nt; i++)
        if (tiers[i].terms && tiers[i].cur && tiers[i].tier >= 0)
            s_tier(top, &tiers[i], range_days);
    for (size_t i = 0; i < nc; i++)
        if (custs[i].id && custs[i].cur)
            s_cust(top, &custs[i]);
    int n = 0;
    for (int k = 0; k < SK_ADVICE_KINDS; k++)
        for (int i = 0; i < top[k].n; i++)
            out[n++] = top[k].item[i];
    return n;
}
