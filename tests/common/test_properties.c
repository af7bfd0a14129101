/* test_properties — invariants over thousands of random valid terms, amounts,
 * currencies, dates and options (fixed seed, so a failure reproduces):
 *   - the canonical text of terms parses back to the same terms;
 *   - payable + discount == amount, discounts never grow from tier to tier;
 *   - last days strictly increase, from the baseline, before the net due date;
 *   - a full payment's discount never grows with a later payment date, and is
 *     the schedule's discount of the tier that day;
 *   - paying a tier's payable inside it leaves a balance of 0;
 *   - any sequence of payments keeps 0 <= balance, settled == paid + discount - overpaid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "settlement.h"

#define CASES 3000

static uint64_t s_rng = 42;

/* xorshift64*: small, fast, and the same sequence on every platform. */
static uint64_t s_next(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * UINT64_C(2685821657736338717);
}

/* Uniform-ish in [lo, hi]. */
static int64_t s_between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(s_next() % (uint64_t)(hi - lo + 1));
}

static int s_when_text(char *buf, size_t n, int kind, int a, int b)
{
    if (kind == SK_WHEN_EOM)
        return snprintf(buf, n, "%deom", a);
    if (kind == SK_WHEN_DOM)
        return b ? snprintf(buf, n, "d%d+%dm", a, b) : snprintf(buf, n, "d%d", a);
    return snprintf(buf, n, "%d", a);
}

/* Random terms text: decreasing rates, increasing WHENs of one kind (or, now
 * and then, mixed kinds the schedule may reject). Net within about a year. */
static void s_random_terms(char *buf, size_t n)
{
    int ntiers = (int)s_between(0, 10) > 8 ? 0 : (int)s_between(1, SK_TERMS_MAX_TIERS);
    int kind = (int)s_between(0, 2);
    bool mixed = s_between(0, 9) == 0;
    int32_t rate = (int32_t)s_between(ntiers, 150000); /* room for ntiers distinct rates */
    int days = (int)s_between(0, 15), dom = (int)s_between(1, 20), months = (int)s_between(0, 1);
    size_t at = 0;
    for (int k = 0; k < ntiers; k++) {
        int kk = mixed ? (int)s_between(0, 2) : kind;
        char r[16], w[32];
        sk_percent_format(rate, r, sizeof r);
        if (kk == SK_WHEN_DOM)
            s_when_text(w, sizeof w, kk, dom, months);
        else
            s_when_text(w, sizeof w, kk, days, 0);
        at += (size_t)snprintf(buf + at, n - at, "%s/%s,", r, w);
        /* Leave room below for the tiers still to come: rate stays >= ntiers - k. */
        if (k + 1 < ntiers)
            rate = (int32_t)s_between(ntiers - k - 1, rate - 1);
        days += (int)s_between(1, 30);
        if (s_between(0, 1) || dom >= 28) {
            months++;
            dom = (int)s_between(1, 31);
        } else {
            dom += (int)s_between(1, 31 - dom);
        }
    }
    char w[32];
    if (kind == SK_WHEN_DOM)
        s_when_text(w, sizeof w, kind, dom, months + 1);
    else
        s_when_text(w, sizeof w, kind, days + (int)s_between(1, 60), 0);
    snprintf(buf + at, n - at, "n/%s", w);
}

static const char *const s_codes[] = {"CNY", "USD", "JPY", "KRW", "EUR", "BHD"};

typedef struct {
    char text[SK_TERMS_MAX_LEN];
    sk_terms_t terms;
    sk_schedule_t s;
} s_case_t;

/* Draws cases until one makes a valid schedule; counts the tries. */
static void s_random_case(s_case_t *c, sk_calendar_t *cal, int *rejected)
{
    for (;;) {
        sk_err_t e;
        s_random_terms(c->text, sizeof c->text);
        if (sk_terms_parse(c->text, &c->terms, &e) != 0) {
            /* Only mixed kinds may fail, and only at the schedule: the parser
             * must accept everything the generator makes. */
            fail_msg("generated terms \"%s\" rejected: %s", c->text, e.msg);
        }
        char canon[SK_TERMS_MAX_LEN];
        sk_terms_t back;
        sk_terms_format(&c->terms, canon, sizeof canon);
        if (sk_terms_parse(canon, &back, &e) != 0 || memcmp(&back, &c->terms, sizeof back) != 0)
            fail_msg("\"%s\": canonical \"%s\" does not parse back", c->text, canon);

        const sk_currency_t *cur = sk_currency_find(s_codes[s_between(0, 5)]);
        int64_t amount;
        switch (s_between(0, 3)) {
        case 0:
            amount = s_between(1, 1000);
            break;
        case 1:
            amount = s_between(1, SK_MONEY_MAX);
            break;
        default:
            amount = s_between(1, 100000000);
        }
        int64_t tax = s_between(0, 1) ? s_between(0, amount - 1) : 0;
        sk_schedule_opts_t o = {
            .base = s_between(0, 1) ? SK_BASE_NET : SK_BASE_GROSS,
            .grace_days = s_between(0, 3) ? 0 : (int)s_between(1, 5),
            .business_days = s_between(0, 1),
            .calendar = s_between(0, 1) ? cal : NULL,
            .rounding = s_between(0, 1) ? SK_ROUND_HALF_EVEN : SK_ROUND_HALF_UP,
        };
        sk_day_t base = sk_date_from_ymd((int)s_between(1990, 2090), (int)s_between(1, 12),
                                         (int)s_between(1, 28));
        if (sk_schedule_compute(&c->terms, base, amount, tax, cur, &o, &c->s, &e) == 0)
            return;
        if (strcmp(e.code, "bad_terms") != 0)
            fail_msg("\"%s\": unexpected %s: %s", c->text, e.code, e.msg);
        (*rejected)++;
    }
}

static sk_calendar_t *s_calendar(void)
{
    /* Every 1 January, 1 May and 1 October of the years drawn, and a few more. */
    sk_calendar_t *cal = sk_calendar_new();
    assert_non_null(cal);
    for (int y = 1990; y <= 2100; y++) {
        assert_int_equal(sk_calendar_add(cal, sk_date_from_ymd(y, 1, 1)), 0);
        assert_int_equal(sk_calendar_add(cal, sk_date_from_ymd(y, 5, 1)), 0);
        assert_int_equal(sk_calendar_add(cal, sk_date_from_ymd(y, 10, 1)), 0);
        assert_int_equal(sk_calendar_add(cal, sk_date_from_ymd(y, 10, 2)), 0);
        assert_int_equal(sk_calendar_add(cal, sk_date_from_ymd(y, 12, 25)), 0);
    }
    return cal;
}

static void test_schedule_invariants(void **state)
{
    (void)state;
    s_rng = 42;
    sk_calendar_t *cal = s_calendar();
    int rejected = 0, tiers_seen = 0;
    static s_case_t c;
    for (int i = 0; i < CASES; i++) {
        s_random_case(&c, cal, &rejected);
        const sk_schedule_t *s = &c.s;
        assert_int_equal(s->ntiers, c.terms.ntiers);
        for (int k = 0; k < s->ntiers; k++) {
            const sk_schedule_tier_t *t = &s->tiers[k];
            tiers_seen++;
            if (t->payable + t->discount != s->amount || t->discount < 0 ||
                t->discount > s->discount_base)
                fail_msg("\"%s\" tier %d: payable %lld + discount %lld != amount %lld", c.text,
                         k + 1, (long long)t->payable, (long long)t->discount,
                         (long long)s->amount);
            if (t->last_day < s->baseline || t->last_day >= s->net_due)
                fail_msg("\"%s\" tier %d: last day outside baseline..net", c.text, k + 1);
            if (k > 0 &&
                (t->last_day <= s->tiers[k - 1].last_day ||
                 t->discount > s->tiers[k - 1].discount || t->rate_ppm >= s->tiers[k - 1].rate_ppm))
                fail_msg("\"%s\" tier %d: not after tier %d", c.text, k + 1, k);
            if (t->apr_vs_net_bp < 0 || t->apr_vs_next_bp < 0)
                fail_msg("\"%s\" tier %d: annual rate negative", c.text, k + 1);
            assert_int_equal(sk_schedule_tier_on(s, t->last_day), k);
            assert_int_equal(sk_schedule_tier_on(s, t->last_day + 1),
                             k + 1 < s->ntiers ? k + 1 : -1);
        }
        if (s->ntiers)
            assert_int_equal(s->tiers[s->ntiers - 1].apr_vs_next_bp,
                             s->tiers[s->ntiers - 1].apr_vs_net_bp);
    }
    /* The generator must mostly make valid schedules, or this proves little. */
    printf("# %d schedules, %d tiers, %d generated terms rejected by the schedule\n", CASES,
           tiers_seen, rejected);
    assert_true(rejected < CASES / 5);
    assert_true(tiers_seen > CASES * 3);
    sk_calendar_destroy(&cal);
}

static void test_discount_never_grows(void **state)
{
    (void)state;
    s_rng = 4242;
    sk_calendar_t *cal = s_calendar();
    int rejected = 0;
    long payments = 0;
    static s_case_t c;
    for (int i = 0; i < CASES; i++) {
        s_random_case(&c, cal, &rejected);
        const sk_schedule_t *s = &c.s;
        /* A full payment of the best payable on each day: it earns exactly the
         * discount of the tier that day, short payments leave it unearned. */
        int64_t pay = s->ntiers ? s->tiers[0].payable : s->amount;
        int64_t prev = INT64_MAX;
        for (sk_day_t day = s->baseline; day <= s->net_due + 5; day++) {
            int64_t bal = s->amount;
            sk_payment_t p = {day, pay, true};
            sk_applied_t a;
            sk_err_t e;
            if (sk_settle_apply(s, &bal, &p, &a, &e) != 0)
                fail_msg("\"%s\": %s", c.text, e.msg);
            payments++;
            int64_t want = a.tier >= 0 ? s->tiers[a.tier].discount : 0;
            if (a.discount != want || a.discount > prev)
                fail_msg("\"%s\" day %d: discount %lld, tier %d wants %lld, day before %lld",
                         c.text, day - s->baseline, (long long)a.discount, a.tier, (long long)want,
                         (long long)prev);
            if (a.settled + a.unearned_discount != s->amount || bal != a.unearned_discount)
                fail_msg("\"%s\": settled %lld + unearned %lld != amount", c.text,
                         (long long)a.settled, (long long)a.unearned_discount);
            prev = a.discount;
        }
    }
    assert_true(payments > CASES * 10);
    sk_calendar_destroy(&cal);
}

static void test_payable_settles(void **state)
{
    (void)state;
    s_rng = 424242;
    sk_calendar_t *cal = s_calendar();
    int rejected = 0;
    static s_case_t c;
    for (int i = 0; i < CASES; i++) {
        s_random_case(&c, cal, &rejected);
        const sk_schedule_t *s = &c.s;
        for (int k = 0; k < s->ntiers; k++) {
            /* Any day inside the tier: its first day or its last. */
            sk_day_t first = k ? s->tiers[k - 1].last_day + 1 : s->baseline;
            sk_day_t day = s_between(0, 1) ? first : s->tiers[k].last_day;
            int64_t bal = s->amount;
            sk_payment_t p = {day, s->tiers[k].payable, s_between(0, 1)};
            sk_applied_t a;
            sk_err_t e;
            if (sk_settle_apply(s, &bal, &p, &a, &e) != 0)
                fail_msg("\"%s\": %s", c.text, e.msg);
            if (bal != 0 || a.discount != s->tiers[k].discount || a.tier != k)
                fail_msg("\"%s\" tier %d: paying the payable left %lld open", c.text, k + 1,
                         (long long)bal);
        }
    }
    sk_calendar_destroy(&cal);
}

static void test_payment_sequences(void **state)
{
    (void)state;
    s_rng = 42424242;
    sk_calendar_t *cal = s_calendar();
    int rejected = 0;
    static s_case_t c;
    for (int i = 0; i < CASES; i++) {
        s_random_case(&c, cal, &rejected);
        const sk_schedule_t *s = &c.s;
        int64_t bal = s->amount;
        sk_day_t day = s->baseline;
        for (int n = 0; n < 6 && bal > 0; n++) {
            day += (sk_day_t)s_between(0, 20);
            int64_t amt = s_between(1, bal + bal / 10 + 1);
            if (amt > SK_MONEY_MAX)
                amt = SK_MONEY_MAX;
            int64_t before = bal;
            sk_payment_t p = {day, amt, s_between(0, 4) == 0};
            sk_applied_t a;
            sk_err_t e;
            if (sk_settle_apply(s, &bal, &p, &a, &e) != 0)
                fail_msg("\"%s\": %s", c.text, e.msg);
            if (bal < 0 || bal > before || a.discount < 0 || a.unearned_discount < 0 ||
                a.overpaid < 0 || a.settled != a.paid + a.discount - a.overpaid ||
                a.settled != before - bal || a.settled <= 0)
                fail_msg("\"%s\" payment %d: inconsistent result", c.text, n + 1);
            /* The discount never exceeds the tier's rate on the balance (+1 for rounding). */
            __int128 cap = (__int128)before * a.rate_ppm / SK_PPM + 1;
            if (a.discount > cap)
                fail_msg("\"%s\" payment %d: discount %lld above the rate", c.text, n + 1,
                         (long long)a.discount);
        }
    }
    sk_calendar_destroy(&cal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_invariants),
        cmocka_unit_test(test_discount_never_grows),
        cmocka_unit_test(test_payable_settles),
        cmocka_unit_test(test_payment_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
