/* test_invoice — the stored invoice's codec: the packed InvoiceState value
 * (round trip, its size, the header the apply script keeps, rejection of
 * malformed values) and the hash layout of before issue 7, which the
 * migration reads (round trip, the stored form, malformed stored data), and
 * that an invoice reads the same in both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "invoice.h"
#include "sk_fmt.h"

#define MAXF 64
#define S_ID_64 "0123456789012345678901234567890123456789012345678901234567890123"
#define S_ID_257 S_ID_64 S_ID_64 S_ID_64 S_ID_64 "x" /* one byte over SK_ID_MAX */

typedef struct {
    int n;
    char f[MAXF][16];
    char v[MAXF][4096];
} fields_t;

static void s_collect(void *arg, const char *field, const char *value)
{
    fields_t *fs = arg;
    assert_true(fs->n < MAXF);
    snprintf(fs->f[fs->n], sizeof fs->f[0], "%s", field);
    snprintf(fs->v[fs->n], sizeof fs->v[0], "%s", value);
    fs->n++;
}

static const char *s_get(const fields_t *fs, const char *field)
{
    for (int i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i], field))
            return fs->v[i];
    return NULL;
}

/* Parses the non-empty fields of fs, as HGETALL would return them. */
static int s_parse(const fields_t *fs, sk_invoice_t *out, sk_err_t *err)
{
    const char *f[MAXF], *v[MAXF];
    size_t l[MAXF], n = 0;
    for (int i = 0; i < fs->n; i++) {
        if (!fs->v[i][0])
            continue;
        f[n] = fs->f[i];
        v[n] = fs->v[i];
        l[n] = strlen(fs->v[i]);
        n++;
    }
    return sk_invoice_from_fields(out, "SO-1", n, f, v, l, err);
}

static void s_set(fields_t *fs, const char *field, const char *value)
{
    for (int i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i], field)) {
            snprintf(fs->v[i], sizeof fs->v[0], "%s", value);
            return;
        }
    s_collect(fs, field, value);
}

/* The seed's order: 1130.00 CNY, 2/0,1/10,0.5/30,n/60 from 2026-11-02. */
static void s_seed(sk_invoice_t *inv)
{
    sk_terms_t t;
    sk_err_t err;
    sk_day_t base;
    sk_invoice_init(inv);
    strcpy(inv->order_id, "SO-1");
    strcpy(inv->customer_id, "C-1");
    strcpy(inv->salesperson, "S-7");
    strcpy(inv->terms, "2/0,1/10,0.5/30,n/60");
    assert_int_equal(sk_terms_parse(inv->terms, &t, &err), 0);
    assert_int_equal(sk_date_parse("2026-11-02", &base, &err), 0);
    assert_int_equal(sk_date_parse("2026-11-03", &inv->invoice_date, &err), 0);
    assert_int_equal(sk_schedule_compute(&t, base, 113000, 13000, sk_currency_find("CNY"), NULL,
                                         &inv->schedule, &err),
                     0);
    inv->balance = 113000;
    inv->version = 1;
    inv->rev = 1;
    inv->fc_hist_day = inv->schedule.tiers[1].last_day;
    inv->fc_hist_amount = inv->schedule.tiers[1].payable;
    inv->fc_net_day = inv->schedule.net_due;
    inv->fc_net_amount = 113000;
}

static void test_seed_stored_form(void **state)
{
    sk_invoice_t inv;
    fields_t fs = {0};
    s_seed(&inv);
    sk_invoice_to_fields(&inv, s_collect, &fs);
    assert_string_equal(s_get(&fs, "c"), "C-1");
    assert_string_equal(s_get(&fs, "cur"), "CNY");
    assert_string_equal(s_get(&fs, "amt"), "113000");
    assert_string_equal(s_get(&fs, "bal"), "113000");
    assert_string_equal(s_get(&fs, "base"), "2026-11-02");
    assert_string_equal(s_get(&fs, "inv"), "2026-11-03");
    assert_string_equal(s_get(&fs, "dlv"), ""); /* absent */
    assert_string_equal(s_get(&fs, "net"), "2027-01-01");
    /* 2026-11-02 is day 20759 */
    assert_string_equal(s_get(&fs, "tiers"), "20000:20759:2260;10000:20769:1130;5000:20789:565");
    assert_string_equal(s_get(&fs, "pays"), "");
    assert_string_equal(s_get(&fs, "disc"), "");
    assert_string_equal(s_get(&fs, "st"), "open");
    assert_string_equal(s_get(&fs, "fch"), "2026-11-12|111870");
    assert_string_equal(s_get(&fs, "fcn"), "2027-01-01|113000");
    /* Redis keeps a hash a listpack only while every value is <= 64 bytes. */
    for (int i = 0; i < fs.n; i++)
        assert_true(strlen(fs.v[i]) <= 64);
}

static void test_round_trip(void **state)
{
    sk_invoice_t inv, back;
    fields_t fs = {0};
    sk_err_t err;
    s_seed(&inv);
    sk_payment_t p = {inv.schedule.tiers[1].last_day - 2, 50000, false};
    int64_t bal = inv.balance;
    assert_int_equal(sk_settle_apply(&inv.schedule, &bal, &p, &inv.payments[0], &err), 0);
    inv.payment_full[0] = false;
    sk_payment_t p2 = {inv.schedule.net_due + 3, 10000, true};
    assert_int_equal(sk_settle_apply(&inv.schedule, &bal, &p2, &inv.payments[1], &err), 0);
    inv.payment_full[1] = true;
    inv.npayments = 2;
    inv.balance = bal;
    inv.discount_total = inv.payments[0].discount + inv.payments[1].discount;
    inv.unearned_total = 7;
    inv.credit_total = 1;
    inv.rev = 42;
    inv.version = 3;
    inv.status = SK_INV_OPEN;

    sk_invoice_to_fields(&inv, s_collect, &fs);
    assert_int_equal(s_parse(&fs, &back, &err), 0);
    assert_string_equal(back.order_id, "SO-1");
    assert_string_equal(back.customer_id, "C-1");
    assert_string_equal(back.salesperson, "S-7");
    assert_string_equal(back.terms, inv.terms);
    assert_ptr_equal(back.schedule.currency, sk_currency_find("CNY"));
    assert_int_equal(back.schedule.amount, 113000);
    assert_int_equal(back.schedule.tax, 13000);
    assert_int_equal(back.schedule.baseline, inv.schedule.baseline);
    assert_int_equal(back.schedule.net_due, inv.schedule.net_due);
    assert_int_equal(back.schedule.ntiers, 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(back.schedule.tiers[k].rate_ppm, inv.schedule.tiers[k].rate_ppm);
        assert_int_equal(back.schedule.tiers[k].last_day, inv.schedule.tiers[k].last_day);
        assert_int_equal(back.schedule.tiers[k].discount, inv.schedule.tiers[k].discount);
        assert_int_equal(back.schedule.tiers[k].payable, inv.schedule.tiers[k].payable);
        assert_int_equal(back.schedule.tiers[k].apr_vs_net_bp, inv.schedule.tiers[k].apr_vs_net_bp);
        assert_int_equal(back.schedule.tiers[k].apr_vs_next_bp,
                         inv.schedule.tiers[k].apr_vs_next_bp);
    }
    assert_int_equal(back.invoice_date, inv.invoice_date);
    assert_int_equal(back.delivery_date, -1);
    assert_int_equal(back.balance, inv.balance);
    assert_int_equal(back.npayments, 2);
    for (int k = 0; k < 2; k++) {
        const sk_applied_t *a = &inv.payments[k], *b = &back.payments[k];
        assert_int_equal(b->date, a->date);
        assert_int_equal(b->paid, a->paid);
        assert_int_equal(b->tier, a->tier);
        assert_int_equal(b->rate_ppm, a->rate_ppm);
        assert_int_equal(b->discount, a->discount);
        assert_int_equal(b->settled, a->settled);
        assert_int_equal(b->unearned_discount, a->unearned_discount);
        assert_int_equal(b->overpaid, a->overpaid);
        assert_int_equal(back.payment_full[k], inv.payment_full[k]);
    }
    assert_int_equal(back.payments[0].tier, 1);
    assert_int_equal(back.payments[1].tier, -1);
    assert_int_equal(back.discount_total, inv.discount_total);
    assert_int_equal(back.unearned_total, 7);
    assert_int_equal(back.credit_total, 1);
    assert_int_equal(back.status, SK_INV_OPEN);
    assert_int_equal(back.version, 3);
    assert_int_equal(back.rev, 42);
    assert_int_equal(back.fc_hist_day, inv.fc_hist_day);
    assert_int_equal(back.fc_hist_amount, 111870);
    assert_int_equal(back.fc_net_amount, 113000);

    /* Rendering the parsed invoice gives the same fields again. */
    fields_t fs2 = {0};
    sk_invoice_to_fields(&back, s_collect, &fs2);
    assert_int_equal(fs2.n, fs.n);
    for (int i = 0; i < fs.n; i++) {
        assert_string_equal(fs2.f[i], fs.f[i]);
        assert_string_equal(fs2.v[i], fs.v[i]);
    }
}

static void test_closed_and_statuses(void **state)
{
    sk_invoice_t inv, back;
    fields_t fs = {0};
    sk_err_t err;
    s_seed(&inv);
    inv.status = SK_INV_CANCELLED;
    inv.fc_hist_amount = inv.fc_net_amount = 0;
    sk_invoice_to_fields(&inv, s_collect, &fs);
    assert_string_equal(s_get(&fs, "st"), "cancelled");
    assert_string_equal(s_get(&fs, "fch"), "");
    assert_int_equal(s_parse(&fs, &back, &err), 0);
    assert_int_equal(back.status, SK_INV_CANCELLED);
    assert_int_equal(back.fc_hist_amount, 0);
    assert_string_equal(sk_invoice_status_name(SK_INV_PAID), "paid");

    /* Fully credited: amount 0, no tiers, paid. */
    s_set(&fs, "amt", "0");
    s_set(&fs, "tax", "0");
    s_set(&fs, "bal", "0");
    s_set(&fs, "tiers", "");
    s_set(&fs, "st", "paid");
    assert_int_equal(s_parse(&fs, &back, &err), 0);
    assert_int_equal(back.schedule.amount, 0);
    assert_int_equal(back.schedule.ntiers, 0);
    assert_int_equal(back.status, SK_INV_PAID);
}

static void test_unknown_field_ignored(void **state)
{
    sk_invoice_t inv, back;
    fields_t fs = {0};
    sk_err_t err;
    s_seed(&inv);
    sk_invoice_to_fields(&inv, s_collect, &fs);
    s_set(&fs, "remind", "whatever a later worker stores");
    assert_int_equal(s_parse(&fs, &back, &err), 0);
    assert_int_equal(back.balance, 113000);
}

/* Each malformed value is rejected with code bad_invoice naming the field. */
static void test_malformed(void **state)
{
    static const struct {
        const char *field, *value;
    } cases[] = {
        {"amt", "12x"},
        {"amt", "-5"},
        {"amt", "1000000000000001"},
        {"amt", "99999999999999999999999"},
        {"bal", ""},
        {"bal", "+5"},
        {"cur", "XYZ"},
        {"cur", "CN"},
        {"base", "2026-02-30"},
        {"net", "2027/01/01"},
        {"inv", "yesterday"},
        {"tiers", "20000:20759"},
        {"tiers", "20000:20759:2260;20000:20769:1130"},     /* rate not decreasing */
        {"tiers", "20000:20769:2260;10000:20759:1130"},     /* days not increasing */
        {"tiers", "0:20759:2260"},                          /* rate 0 */
        {"tiers", "20000:99999999:2260"},                   /* year out of range */
        {"tiers", "20000:20759:2260;"},                     /* empty item */
        {"tiers", "1:1:1;2:2:2;3:3:3;4:4:4;5:5:5;6:6:6;7:7:7;8:8:8;9:9:9"}, /* 9 tiers */
        {"pays", "20767:111870:1:1130:113000:0:0"},         /* 7 parts */
        {"pays", "20767:111870:1:1130:113000:0:0:2"},       /* full not 0/1 */
        {"pays", "20767:0:1:1130:113000:0:0:1"},            /* paid 0 */
        {"pays", "20767:111870:9:1130:113000:0:0:1"},       /* tier out of range */
        {"pays", "20767:111870:-2:1130:113000:0:0:1"},
        {"st", "closed"},
        {"ver", "4294967296"},
        {"rev", "0"},
        {"fch", "2026-11-12"},
        {"fch", "2026-11-12|0"},
        {"fcn", "2026-11-12|abc"},
        {"c", ""},
        {"sp", S_ID_257},
        {"terms", "2/10"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sk_invoice_t inv, back;
        fields_t fs = {0};
        sk_err_t err;
        s_seed(&inv);
        sk_invoice_to_fields(&inv, s_collect, &fs);
        /* s_parse skips empty values; put the field in with an explicit empty value */
        const char *f[MAXF], *v[MAXF];
        size_t l[MAXF], n = 0;
        s_set(&fs, cases[i].field, cases[i].value);
        for (int k = 0; k < fs.n; k++) {
            if (!fs.v[k][0] && strcmp(fs.f[k], cases[i].field))
                continue;
            f[n] = fs.f[k];
            v[n] = fs.v[k];
            l[n] = strlen(fs.v[k]);
            n++;
        }
        memset(&err, 0, sizeof err);
        int rc = sk_invoice_from_fields(&back, "SO-1", n, f, v, l, &err);
        if (rc == 0)
            fail_msg("field %s = \"%s\" was accepted", cases[i].field, cases[i].value);
        assert_string_equal(err.code, "bad_invoice");
        if (!strstr(err.msg, cases[i].field) && strcmp(cases[i].field, "terms"))
            fail_msg("message for %s does not name it: %s", cases[i].field, err.msg);
    }
}

static void test_invariants_and_missing(void **state)
{
    sk_invoice_t inv, back;
    sk_err_t err;
    fields_t fs = {0};
    s_seed(&inv);
    sk_invoice_to_fields(&inv, s_collect, &fs);

    fields_t a = fs;
    s_set(&a, "bal", "113001");
    assert_int_equal(s_parse(&a, &back, &err), -1);
    assert_non_null(strstr(err.msg, "balance above the amount"));

    fields_t b = fs;
    s_set(&b, "tax", "113000");
    assert_int_equal(s_parse(&b, &back, &err), -1);
    assert_non_null(strstr(err.msg, "tax"));

    fields_t c = fs;
    s_set(&c, "net", "2026-12-01"); /* before the last tier */
    assert_int_equal(s_parse(&c, &back, &err), -1);
    assert_non_null(strstr(err.msg, "tiers outside"));

    fields_t d = fs;
    s_set(&d, "rev", ""); /* dropped by s_parse: missing */
    assert_int_equal(s_parse(&d, &back, &err), -1);
    assert_string_equal(err.msg, "order SO-1: field rev is missing");

    /* No fields at all: the invoice does not exist (yet). */
    assert_int_equal(sk_invoice_from_fields(&back, "SO-1", 0, NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "unknown_order");

    /* A NUL inside a value is not an id. */
    const char *f[] = {"c"};
    const char *v[] = {"C\0-1"};
    size_t l[] = {4};
    assert_int_equal(sk_invoice_from_fields(&back, "SO-1", 1, f, v, l, &err), -1);
    assert_string_equal(err.code, "bad_invoice");
}

/* Stored tiers that differ from the terms (a later override) keep their
 * values, and the annual rates are those of the stored tiers. */
static void test_overridden_tiers_kept(void **state)
{
    sk_invoice_t inv, back;
    sk_err_t err;
    fields_t fs = {0};
    s_seed(&inv);
    sk_invoice_to_fields(&inv, s_collect, &fs);
    s_set(&fs, "tiers", "20000:20759:2000;10000:20769:1130;5000:20789:565");
    assert_int_equal(s_parse(&fs, &back, &err), 0);
    assert_int_equal(back.schedule.tiers[0].discount, 2000);
    assert_int_equal(back.schedule.tiers[0].payable, 111000);
    /* rates and days match the terms: 2 % for 60 days = 12.41 % a year */
    assert_int_equal(back.schedule.tiers[0].apr_vs_net_bp, 1241);
    int32_t t1 = back.schedule.tiers[1].apr_vs_net_bp;
    assert_int_equal(t1, 737); /* 1 % for 50 days */
    /* tier 0 extended by a day: 2 % for 59 days before net = 12.63 % */
    s_set(&fs, "tiers", "20000:20760:2260;10000:20769:1130;5000:20789:565");
    assert_int_equal(s_parse(&fs, &back, &err), 0);
    assert_int_equal(back.schedule.tiers[0].last_day, 20760);
    assert_int_equal(back.schedule.tiers[0].apr_vs_net_bp, 1263);
    assert_int_equal(back.schedule.tiers[1].apr_vs_net_bp, t1);
}

/* The decimal formatter every stored amount and day number goes through. */
static void test_fmt_i64(void **state)
{
    (void)state;
    char b[24];
    assert_int_equal(sk_fmt_i64(b, 0), 1);
    assert_string_equal(b, "0");
    assert_int_equal(sk_fmt_i64(b, -113070), 7);
    assert_string_equal(b, "-113070");
    assert_int_equal(sk_fmt_i64(b, INT64_MAX), 19);
    assert_string_equal(b, "9223372036854775807");
    assert_int_equal(sk_fmt_i64(b, INT64_MIN), 20);
    assert_string_equal(b, "-9223372036854775808");
}


/* ---------------------------------------------------------------- the packed value */

/* The seed with two payments, a credit and forecast: every field in use. */
static void s_busy(sk_invoice_t *inv)
{
    sk_err_t err;
    s_seed(inv);
    sk_payment_t p = {inv->schedule.tiers[1].last_day - 2, 50000, false};
    int64_t bal = inv->balance;
    assert_int_equal(sk_settle_apply(&inv->schedule, &bal, &p, &inv->payments[0], &err), 0);
    sk_payment_t p2 = {inv->schedule.net_due + 3, 10000, true};
    assert_int_equal(sk_settle_apply(&inv->schedule, &bal, &p2, &inv->payments[1], &err), 0);
    inv->payment_full[1] = true;
    inv->npayments = 2;
    inv->balance = bal;
    inv->discount_total = inv->payments[0].discount + inv->payments[1].discount;
    inv->unearned_total = 7;
    inv->credit_total = 1;
    inv->rev = 42;
    inv->seq = 9;
    inv->version = 3;
    assert_int_equal(sk_date_parse("2026-11-04", &inv->delivery_date, &err), 0);
}

/* Every field a reader sees, a and b alike. */
static void s_assert_same(const sk_invoice_t *a, const sk_invoice_t *b)
{
    assert_string_equal(b->order_id, a->order_id);
    assert_string_equal(b->customer_id, a->customer_id);
    assert_string_equal(b->salesperson, a->salesperson);
    assert_string_equal(b->terms, a->terms);
    assert_ptr_equal(b->schedule.currency, a->schedule.currency);
    assert_int_equal(b->schedule.amount, a->schedule.amount);
    assert_int_equal(b->schedule.tax, a->schedule.tax);
    assert_int_equal(b->schedule.discount_base, a->schedule.discount_base);
    assert_int_equal(b->schedule.baseline, a->schedule.baseline);
    assert_int_equal(b->schedule.net_due, a->schedule.net_due);
    assert_int_equal(b->schedule.ntiers, a->schedule.ntiers);
    for (int k = 0; k < a->schedule.ntiers; k++) {
        const sk_schedule_tier_t *x = &a->schedule.tiers[k], *y = &b->schedule.tiers[k];
        assert_int_equal(y->rate_ppm, x->rate_ppm);
        assert_int_equal(y->last_day, x->last_day);
        assert_int_equal(y->discount, x->discount);
        assert_int_equal(y->payable, x->payable);
        assert_int_equal(y->apr_vs_net_bp, x->apr_vs_net_bp);
        assert_int_equal(y->apr_vs_next_bp, x->apr_vs_next_bp);
    }
    assert_int_equal(b->invoice_date, a->invoice_date);
    assert_int_equal(b->delivery_date, a->delivery_date);
    assert_int_equal(b->balance, a->balance);
    assert_int_equal(b->npayments, a->npayments);
    for (int k = 0; k < a->npayments; k++) {
        const sk_applied_t *x = &a->payments[k], *y = &b->payments[k];
        assert_int_equal(y->date, x->date);
        assert_int_equal(y->paid, x->paid);
        assert_int_equal(y->tier, x->tier);
        assert_int_equal(y->rate_ppm, x->rate_ppm);
        assert_int_equal(y->discount, x->discount);
        assert_int_equal(y->settled, x->settled);
        assert_int_equal(y->unearned_discount, x->unearned_discount);
        assert_int_equal(y->overpaid, x->overpaid);
        assert_int_equal(b->payment_full[k], a->payment_full[k]);
    }
    assert_int_equal(b->discount_total, a->discount_total);
    assert_int_equal(b->unearned_total, a->unearned_total);
    assert_int_equal(b->credit_total, a->credit_total);
    assert_int_equal(b->status, a->status);
    assert_int_equal(b->version, a->version);
    assert_int_equal(b->rev, a->rev);
    assert_int_equal(b->seq, a->seq);
    assert_int_equal(b->fc_hist_day, a->fc_hist_day);
    assert_int_equal(b->fc_hist_amount, a->fc_hist_amount);
    assert_int_equal(b->fc_net_day, a->fc_net_day);
    assert_int_equal(b->fc_net_amount, a->fc_net_amount);
}

static uint8_t s_val[SK_INVOICE_VALUE_MAX];

static void test_packed_round_trip(void **state)
{
    (void)state;
    static sk_invoice_t inv, back, again;
    sk_err_t err;
    s_busy(&inv);
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_true(n > 0);
    /* the header the apply script checks: rev 42, q 9 */
    assert_memory_equal(s_val, "42.9|", 5);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    /* what the reader fills in is what the writer had (parsing the seed the
     * same way fills its payables and annual rates) */
    inv.schedule.discount_base = inv.schedule.amount;
    for (int k = 0; k < inv.npayments; k++)
        inv.payments[k].balance_after = 0;
    s_assert_same(&inv, &back);
    /* and packing what was read gives the same bytes */
    static uint8_t v2[SK_INVOICE_VALUE_MAX];
    assert_int_equal(sk_invoice_pack(&back, v2, sizeof v2), n);
    assert_memory_equal(v2, s_val, n);
    assert_int_equal(sk_invoice_unpack(&again, "SO-1", v2, n, &err), 0);
    s_assert_same(&back, &again);
}

/* The usual invoice leaves defaults out (version 1, the net forecast on the
 * net due day for the balance) and reads them back. */
static void test_packed_defaults(void **state)
{
    (void)state;
    static sk_invoice_t inv, back;
    sk_err_t err;
    s_seed(&inv);
    inv.seq = 1;
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    inv.schedule.discount_base = inv.schedule.amount;
    s_assert_same(&inv, &back);
    assert_int_equal(back.version, 1);
    assert_int_equal(back.fc_net_day, inv.schedule.net_due);
    assert_int_equal(back.fc_net_amount, 113000);
    /* a net forecast that is not the default is written out */
    inv.fc_net_amount = 100000;
    inv.fc_net_day = inv.schedule.net_due + 1;
    inv.version = 7;
    n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    s_assert_same(&inv, &back);
}

static void test_packed_is_small(void **state)
{
    (void)state;
    static sk_invoice_t inv;
    s_seed(&inv);
    /* an open invoice of three tiers fits the 128-byte allocation Redis makes
     * for a string of up to 124 bytes (3 bytes of header and a NUL): less than
     * half of the 15-field hash of before (272 bytes) */
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_true(n > 60);
    assert_true(n <= 124);
    /* too small a buffer is refused, not overrun */
    assert_int_equal(sk_invoice_pack(&inv, s_val, n - 1), 0);
    assert_int_equal(sk_invoice_pack_state(&inv, s_val, 10), 0);
}

static void test_packed_statuses(void **state)
{
    (void)state;
    static sk_invoice_t inv, back;
    sk_err_t err;
    const sk_invoice_status_t st[3] = {SK_INV_OPEN, SK_INV_PAID, SK_INV_CANCELLED};
    for (int i = 0; i < 3; i++) {
        s_seed(&inv);
        inv.status = st[i];
        size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
        assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
        assert_int_equal(back.status, st[i]);
    }
    /* credited in full: no tiers, amount 0 */
    s_seed(&inv);
    inv.schedule.amount = inv.schedule.tax = 0;
    inv.schedule.ntiers = 0;
    inv.balance = 0;
    inv.fc_hist_amount = inv.fc_net_amount = 0;
    inv.status = SK_INV_PAID;
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    assert_int_equal(back.schedule.amount, 0);
    assert_int_equal(back.schedule.ntiers, 0);
    assert_int_equal(back.fc_net_amount, 0);
}

/* Unpacks v (len bytes); asserts it is refused with a message containing want. */
static void s_refused(const void *v, size_t len, const char *want)
{
    static sk_invoice_t back;
    sk_err_t err;
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", v, len, &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("\"%s\" does not say \"%s\"", err.msg, want);
}

/* Packs a doctored invoice and checks the reader refuses it, naming want. */
static void s_doctored(const sk_invoice_t *inv, const char *want)
{
    size_t n = sk_invoice_pack(inv, s_val, sizeof s_val);
    assert_true(n > 0);
    s_refused(s_val, n, want);
}

static void test_packed_malformed(void **state)
{
    (void)state;
    static sk_invoice_t inv;
    sk_err_t err;
    s_seed(&inv);
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    /* the header */
    s_refused("", 0, "no invoice");
    s_refused("1|xx", 4, "no revision header");
    s_refused("0.0|", 4, "no revision header"); /* rev starts at 1 */
    s_refused("a.1|", 4, "no revision header");
    s_refused("1.-1|", 5, "no revision header");
    /* a state cut short, or not protobuf at all */
    s_refused(s_val, 24, "does not decode"); /* inside the terms text */
    s_refused("1.0|\xff\xff\xff", 7, "does not decode");
    /* an empty state: required fields missing */
    s_refused("1.0|", 4, "field customer_id");
    /* fields out of bounds */
    s_seed(&inv), inv.customer_id[0] = '\0';
    s_doctored(&inv, "field customer_id");
    s_seed(&inv), inv.schedule.currency = NULL;
    s_doctored(&inv, "field currency");
    s_seed(&inv), inv.terms[0] = '\0';
    s_doctored(&inv, "field terms");
    s_seed(&inv), inv.schedule.amount = SK_MONEY_MAX + 1;
    s_doctored(&inv, "field amount");
    s_seed(&inv), inv.balance = -5;
    s_doctored(&inv, "field balance");
    s_seed(&inv), inv.schedule.baseline = 4000000; /* past 9999-12-31 */
    s_doctored(&inv, "field baseline_day");
    s_seed(&inv), inv.schedule.tiers[1].rate_ppm = 30000; /* rates must decrease */
    s_doctored(&inv, "field tiers");
    s_seed(&inv), inv.npayments = 1, inv.payments[0].paid = 0;
    s_doctored(&inv, "field payments");
    s_seed(&inv), inv.npayments = 1, inv.payments[0].paid = 1, inv.payments[0].tier = 8;
    s_doctored(&inv, "field payments");
    s_seed(&inv), inv.fc_net_amount = SK_MONEY_MAX + 1;
    s_doctored(&inv, "field forecast_net");
    /* invariants across fields */
    s_seed(&inv), inv.balance = inv.schedule.amount + 1;
    s_doctored(&inv, "balance above the amount");
    s_seed(&inv), inv.schedule.tax = inv.schedule.amount;
    s_doctored(&inv, "tax not below the amount");
    s_seed(&inv), inv.schedule.net_due = inv.schedule.baseline - 1;
    s_doctored(&inv, "net due before the baseline");
    /* a value larger than any invoice */
    static uint8_t big[SK_INVOICE_VALUE_MAX + 2];
    memcpy(big, s_val, n);
    s_refused(big, sizeof big, "too large");
    (void)err;
}

static void test_packed_unknown_fields_ignored(void **state)
{
    (void)state;
    static sk_invoice_t inv, back;
    sk_err_t err;
    s_seed(&inv);
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    /* field 30 (reminders, a later issue), varint 7: tag (30 << 3) = 240 = f0 01 */
    s_val[n++] = 0xf0, s_val[n++] = 0x01, s_val[n++] = 0x07;
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    assert_int_equal(back.balance, 113000);
}

/* An invoice stored in the hash layout of before issue 7 reads the same as
 * after the migration packs it. */
static void test_old_layout_reads_the_same_packed(void **state)
{
    (void)state;
    static sk_invoice_t inv, old, packed;
    fields_t fs = {0};
    sk_err_t err;
    s_busy(&inv);
    sk_invoice_to_fields(&inv, s_collect, &fs);
    assert_int_equal(s_parse(&fs, &old, &err), 0);
    size_t n = sk_invoice_pack(&old, s_val, sizeof s_val);
    assert_int_equal(sk_invoice_unpack(&packed, "SO-1", s_val, n, &err), 0);
    s_assert_same(&old, &packed);
    assert_int_equal(packed.rev, 42);
    assert_int_equal(packed.seq, 9);
}

static void test_history(void **state)
{
    (void)state;
    sk_history_t h;
    const char *f[6] = {"t0", "t1", "net", "n", "t9", "x"};
    const char *v[6] = {"2", "5", "1", "8", "4", "3"};
    sk_history_from_fields(&h, 6, f, v);
    assert_int_equal(h.tier[0], 2);
    assert_int_equal(h.tier[1], 5);
    assert_int_equal(h.net, 1);
    assert_int_equal(h.n, 8);
    assert_int_equal(sk_history_usual_tier(&h, 3), 1);
    const char *bad[3] = {"-1", "1x", ""};
    const char *ff[3] = {"t0", "t1", "net"};
    sk_history_from_fields(&h, 3, ff, bad);
    assert_int_equal(h.tier[0] + h.tier[1] + h.net, 0);
}

/* The overrides applied (issue 9): kept in the state, read back field by
 * field, nothing stored when there are none, and a malformed one refused. */
static void s_override(sk_invoice_override_t *o, const char *id, int kind)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", id);
    o->kind = kind;
    o->tier = 1;
    o->version = 3;
    o->revision = 41;
    o->effect = 1130;
    o->applied_at_ms = 1772450000123;
    snprintf(o->requested_by, sizeof o->requested_by, "sales.li");
    snprintf(o->approved_by, sizeof o->approved_by, "dir.wang");
    snprintf(o->old_value, sizeof o->old_value, "2026-11-12");
    snprintf(o->new_value, sizeof o->new_value, "2026-11-15");
}

static void test_packed_overrides(void **state)
{
    (void)state;
    static sk_invoice_t inv, back;
    sk_err_t err;
    s_busy(&inv);
    size_t plain = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, plain, &err), 0);
    assert_int_equal(back.noverrides, 0);

    s_override(&inv.overrides[0], "ov-17", 1);
    inv.overrides[0].new_last_day = inv.schedule.tiers[1].last_day + 3;
    s_override(&inv.overrides[1], "ov-18", 3);
    inv.overrides[1].new_rate_ppm = 15000;
    inv.overrides[1].version = 1; /* the default: left out, read back */
    snprintf(inv.overrides[1].old_value, sizeof inv.overrides[1].old_value, "1");
    snprintf(inv.overrides[1].new_value, sizeof inv.overrides[1].new_value, "1.5");
    s_override(&inv.overrides[2], "ov-19", 4);
    inv.overrides[2].tier = 0;
    inv.noverrides = 3;
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_true(n > plain);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    s_assert_same(&inv, &back);
    assert_int_equal(back.noverrides, 3);
    for (int i = 0; i < 3; i++) {
        const sk_invoice_override_t *a = &inv.overrides[i], *b = &back.overrides[i];
        assert_string_equal(b->id, a->id);
        assert_int_equal(b->kind, a->kind);
        assert_int_equal(b->tier, a->tier);
        assert_int_equal(b->new_rate_ppm, a->new_rate_ppm);
        assert_int_equal(b->payment, a->payment);
        assert_string_equal(b->old_value, a->old_value);
        assert_string_equal(b->new_value, a->new_value);
        assert_int_equal(b->effect, a->effect);
        assert_string_equal(b->requested_by, a->requested_by);
        assert_string_equal(b->approved_by, a->approved_by);
        assert_int_equal(b->applied_at_ms, a->applied_at_ms);
        assert_int_equal(b->version, a->version);
        assert_int_equal(b->revision, a->revision);
    }
    assert_int_equal(back.overrides[0].new_last_day, inv.overrides[0].new_last_day);
    assert_ptr_equal(sk_invoice_find_override(&back, "ov-18"), &back.overrides[1]);
    assert_null(sk_invoice_find_override(&back, "ov-20"));
    /* packing what was read gives the same bytes */
    static uint8_t v2[SK_INVOICE_VALUE_MAX];
    assert_int_equal(sk_invoice_pack(&back, v2, sizeof v2), n);
    assert_memory_equal(v2, s_val, n);
    /* none again: not a byte for them */
    inv.noverrides = 0;
    assert_int_equal(sk_invoice_pack(&inv, s_val, sizeof s_val), plain);

    /* malformed ones are refused by name */
    inv.noverrides = 1;
    inv.overrides[0].kind = 9;
    s_doctored(&inv, "field overrides");
    inv.overrides[0].kind = 1;
    inv.overrides[0].id[0] = '\0';
    s_doctored(&inv, "field overrides");
    s_override(&inv.overrides[0], "ov-1", 2);
    inv.overrides[0].effect = -1;
    s_doctored(&inv, "field overrides");
    s_override(&inv.overrides[0], "ov-1", 2);
    inv.overrides[0].tier = SK_TERMS_MAX_TIERS;
    s_doctored(&inv, "field overrides");
}

/* balance_after is not stored: the reader gives the last payment today's
 * balance and each earlier one the next one's plus what it settled (what a
 * grant settles again from). */
static void test_packed_balance_after(void **state)
{
    (void)state;
    static sk_invoice_t inv, back;
    sk_err_t err;
    s_busy(&inv);
    size_t n = sk_invoice_pack(&inv, s_val, sizeof s_val);
    assert_int_equal(sk_invoice_unpack(&back, "SO-1", s_val, n, &err), 0);
    assert_int_equal(back.payments[1].balance_after, inv.balance);
    assert_int_equal(back.payments[0].balance_after, inv.balance + inv.payments[1].settled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_stored_form),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_closed_and_statuses),
        cmocka_unit_test(test_unknown_field_ignored),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_invariants_and_missing),
        cmocka_unit_test(test_overridden_tiers_kept),
        cmocka_unit_test(test_fmt_i64),
        cmocka_unit_test(test_packed_round_trip),
        cmocka_unit_test(test_packed_defaults),
        cmocka_unit_test(test_packed_is_small),
        cmocka_unit_test(test_packed_statuses),
        cmocka_unit_test(test_packed_malformed),
        cmocka_unit_test(test_packed_overrides),
        cmocka_unit_test(test_packed_balance_after),
        cmocka_unit_test(test_packed_unknown_fields_ignored),
        cmocka_unit_test(test_old_layout_reads_the_same_packed),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
