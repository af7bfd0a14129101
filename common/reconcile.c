/* reconcile — see reconcile.h. */
#include "reconcile.h"

#include <string.h>

const char *sk_recon_field_name(sk_recon_field_t f)
{
    static const char *const names[] = {"tiers",    "net_due",  "rate",
                                        "last_day", "discount", "override"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

static void s_diff(sk_recon_t *out, sk_recon_field_t f, int tier, int64_t stored, int64_t expected)
{
    if (stored == expected || out->ndiffs == SK_RECON_MAX_DIFFS)
        return;
    sk_recon_diff_t *d = &out->diffs[out->ndiffs++];
    d->field = f;
    d->tier = tier;
    d->stored = stored;
    d->expected = expected;
}

int sk_reconcile(const sk_invoice_t *inv, const sk_override_change_t *ovr, int n, sk_recon_t *out,
                 sk_err_t *err)
{
    memset(out, 0, sizeof *out);
    const sk_schedule_t *st = &inv->schedule;
    sk_terms_t terms;
    if (sk_terms_parse(inv->terms, &terms, err) != 0)
        return -1;
    sk_schedule_t *ex = &out->expected;
    if (sk_schedule_compute(&terms, st->baseline, st->amount, st->tax, st->currency, NULL, ex,
                            err) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const sk_override_change_t *c = &ovr[i];
        if (!sk_schedule_redo_override(ex, (int)c->kind, c->tier, c->new_last_day, c->new_rate_ppm))
            s_diff(out, SK_RECON_OVERRIDE, -1, c->tier, -1); /* cannot be on this schedule */
    }
    s_diff(out, SK_RECON_TIERS, -1, st->ntiers, ex->ntiers);
    s_diff(out, SK_RECON_NET_DUE, -1, st->net_due, ex->net_due);
    int nt = st->ntiers < ex->ntiers ? st->ntiers : ex->ntiers;
    for (int k = 0; k < nt; k++) {
        s_diff(out, SK_RECON_RATE, k, st->tiers[k].rate_ppm, ex->tiers[k].rate_ppm);
        s_diff(out, SK_RECON_LAST_DAY, k, st->tiers[k].last_day, ex->tiers[k].last_day);
        s_diff(out, SK_RECON_DISCOUNT, k, st->tiers[k].discount, ex->tiers[k].discount);
    }
    return 0;
}
