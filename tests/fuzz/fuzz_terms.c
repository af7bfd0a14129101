/* fuzz_terms — libFuzzer target for the payment-terms parser and the schedule.
 *
 * Input: the bytes of a terms string (up to SK_TERMS_MAX_LEN * 2 bytes; a NUL
 * ends it early, as it would for a C string from argv or Redis).
 * Properties checked, each an abort() (a finding) when broken:
 *   - a rejection has a code and a one-line message;
 *   - accepted terms format to canonical text that parses back to the same
 *     struct and formats to the same text again (a fixpoint);
 *   - sk_schedule_compute on fixed baselines/amounts never crashes, and when it
 *     succeeds the schedule keeps its documented invariants: last days strictly
 *     increase, all on or after the baseline and before net due, rates strictly
 *     decrease, payable + discount == amount, 0 <= discount <= base. */
#include "fuzz_common.h"
#include "money.h"
#include "schedule.h"
#include "terms.h"

static int s_when_equal(const sk_when_t *a, const sk_when_t *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == SK_WHEN_DOM)
        return a->dom == b->dom && a->months == b->months;
    return a->days == b->days;
}

static int s_terms_equal(const sk_terms_t *a, const sk_terms_t *b)
{
    if (a->ntiers != b->ntiers || !s_when_equal(&a->net, &b->net))
        return 0;
    for (int k = 0; k < a->ntiers; k++)
        if (a->tiers[k].rate_ppm != b->tiers[k].rate_ppm ||
            !s_when_equal(&a->tiers[k].when, &b->tiers[k].when))
            return 0;
    return 1;
}

static void s_schedule(const sk_terms_t *t, sk_day_t baseline, int64_t amount, int64_t tax,
                       const char *code, const sk_schedule_opts_t *opts)
{
    const sk_currency_t *cur = sk_currency_find(code);
    CHECK(cur != NULL);
    sk_schedule_t s;
    sk_err_t err;
    sk_err_clear(&err);
    if (sk_schedule_compute(t, baseline, amount, tax, cur, opts, &s, &err) != 0) {
        sk_fuzz_check_err(&err);
        return;
    }
    CHECK(s.ntiers == t->ntiers);
    CHECK(s.amount == amount);
    CHECK(s.discount_base > 0 && s.discount_base <= amount);
    for (int k = 0; k < s.ntiers; k++) {
        const sk_schedule_tier_t *ti = &s.tiers[k];
        CHECK(ti->rate_ppm == t->tiers[k].rate_ppm);
        CHECK(ti->payable + ti->discount == amount);
        CHECK(ti->discount >= 0 && ti->discount <= s.discount_base);
        CHECK(ti->last_day >= baseline);
        CHECK(ti->last_day < s.net_due);
        if (k > 0) {
            CHECK(ti->last_day > s.tiers[k - 1].last_day);
            CHECK(ti->rate_ppm < s.tiers[k - 1].rate_ppm);
            CHECK(ti->discount <= s.tiers[k - 1].discount);
        }
        CHECK(sk_schedule_tier_on(&s, ti->last_day) == k);
    }
    CHECK(sk_schedule_tier_on(&s, s.net_due) == -1);
    char day[11];
    CHECK(strlen(sk_date_format(s.net_due, day, sizeof day)) == 10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * SK_TERMS_MAX_LEN)
        return 0;
    char text[2 * SK_TERMS_MAX_LEN + 1];
    memcpy(text, data, size);
    text[size] = '\0';

    sk_terms_t t;
    sk_err_t err;
    sk_err_clear(&err);
    if (sk_terms_parse(text, &t, &err) != 0) {
        sk_fuzz_check_err(&err);
        CHECK(strcmp(err.code, "bad_terms") == 0);
        return 0;
    }
    CHECK(t.ntiers >= 0 && t.ntiers <= SK_TERMS_MAX_TIERS);

    char canon[SK_TERMS_MAX_LEN], again[SK_TERMS_MAX_LEN];
    sk_terms_format(&t, canon, sizeof canon);
    sk_terms_t t2;
    if (sk_terms_parse(canon, &t2, &err) != 0) {
        fprintf(stderr, "fuzz_terms: canonical \"%s\" of accepted \"%s\" is rejected: %s\n", canon,
                text, err.msg);
        abort();
    }
    CHECK(s_terms_equal(&t, &t2));
    sk_terms_format(&t2, again, sizeof again);
    CHECK(strcmp(canon, again) == 0);

    /* A plain invoice, a leap-year month end, a currency without decimals with
     * every option switched on. */
    s_schedule(&t, sk_date_from_ymd(2026, 11, 2), 113000, 13000, "CNY", NULL);
    sk_schedule_opts_t opts = {.base = SK_BASE_NET,
                               .grace_days = 3,
                               .business_days = true,
                               .calendar = NULL,
                               .rounding = SK_ROUND_HALF_EVEN};
    s_schedule(&t, sk_date_from_ymd(2024, 1, 31), 1000, 1, "JPY", &opts);
    s_schedule(&t, sk_date_from_ymd(9999, 10, 15), SK_MONEY_MAX, 0, "USD", NULL);
    return 0;
}
