/* remind — see remind.h. */
#include "remind.h"

#include <string.h>

int discount_profile_parse(const sk_remind_settings_t *s, const char *tz, const char *statement,
                           const char *optout, discount_profile_t *p, sk_err_t *err)
{
    int rc = 0;
    sk_err_t e;
    p->tz = sk_remind_zone(s, tz ? tz : "", &e);
    if (!p->tz) {
        p->tz = s->default_tz;
        rc = sk_err_set(err, e.code, "%s: using the default zone %s", e.msg, sk_tz_id(p->tz));
    }
    if (sk_remind_cadence_parse(statement, &p->cadence) != 0) {
        p->cadence = SK_CADENCE_WEEKLY;
        rc = sk_err_set(err, "bad_field", "statement cadence is not weekly, daily or none");
    }
    p->optout = optout && !strcmp(optout, "1");
    return rc;
}

bool discount_remind_open(const sk_invoice_t *inv)
{
    return inv && inv->status == SK_INV_OPEN && inv->balance > 0;
}

static bool s_planned(const discount_remind_ops_t *ops, const char *key)
{
    for (size_t i = 0; i < ops->nadd; i++)
        if (!strcmp(ops->add[i].key, key))
            return true;
    return false;
}

int discount_remind_diff(const sk_remind_settings_t *s, const char *order_id,
                         const sk_invoice_t *old, const sk_invoice_t *neu, const sk_tz_t *tz,
                         int64_t now_ms, discount_remind_ops_t *ops, sk_err_t *err)
{
    ops->nadd = ops->ndrop = 0;
    if (discount_remind_open(neu)) {
        sk_reminder_t plan[DISCOUNT_REMIND_MAX];
        sk_day_t last[SK_TERMS_MAX_TIERS];
        int nt = neu->schedule.ntiers;
        if (nt < 0 || nt > SK_TERMS_MAX_TIERS)
            return sk_err_set(err, "bad_invoice", "order %s: %d tiers", order_id, nt);
        for (int i = 0; i < nt; i++)
            last[i] = neu->schedule.tiers[i].last_day;
        size_t n = 0;
        if (sk_remind_plan(s, order_id, last, (size_t)nt, tz, now_ms, plan, DISCOUNT_REMIND_MAX, &n,
                           err) != 0)
            return -1;
        sk_remind_sort_due(plan, n); /* the queue takes the first not sent */
        for (size_t i = 0; i < n; i++) {
            memcpy(ops->add[i].key, plan[i].key, sizeof ops->add[i].key);
            ops->add[i].due_ms = plan[i].due_ms;
        }
        ops->nadd = n;
    }
    /* What the old state may have queued: each of its tiers at each lead
     * (the plan left some out: closed windows, collapsed leads; dropping
     * a key that is not queued is harmless). */
    if (discount_remind_open(old)) {
        int nt = old->schedule.ntiers;
        for (int i = 0; i < nt && i < SK_TERMS_MAX_TIERS; i++) {
            for (size_t j = 0; j < s->nleads; j++) {
                char *k = ops->drop[ops->ndrop];
                if (sk_remind_key(k, SK_REMIND_KEY_MAX, order_id, i,
                                  old->schedule.tiers[i].last_day, s->leads[j]) != 0)
                    return sk_err_set(err, "bad_field", "order id of %zu bytes is too long",
                                      strlen(order_id));
                if (!s_planned(ops, k))
                    ops->ndrop++;
            }
        }
    }
    return 0;
}

bool discount_statement_next(const sk_remind_settings_t *s, const char *customer_id,
                             const discount_profile_t *p, int64_t now_ms, char *key,
                             int64_t *due_ms)
{
    if (p->optout || p->cadence == SK_CADENCE_NONE)
        return false;
    if (!sk_tz_statement_next(p->tz, p->cadence, s->statement_weekday, s->send_minute, now_ms,
                              due_ms))
        return false;
    return sk_statement_key(key, SK_REMIND_KEY_MAX, customer_id, *due_ms) == 0;
}
