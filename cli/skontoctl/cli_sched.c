/* cli_sched — the shared schedule options of skontoctl (see cli_sched.h). */
#include "cli_sched.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opts.h"
#include "cli_output.h"
#include "invoice.h"

bool sk_cli_sched_take(sk_cli_sched_args_t *a, const char *name, const char *value)
{
    static const struct {
        const char *name;
        size_t off;
    } slots[] = {
        {"terms", offsetof(sk_cli_sched_args_t, terms)},
        {"baseline", offsetof(sk_cli_sched_args_t, baseline)},
        {"amount", offsetof(sk_cli_sched_args_t, amount)},
        {"currency", offsetof(sk_cli_sched_args_t, currency)},
        {"tax", offsetof(sk_cli_sched_args_t, tax)},
        {"discount-base", offsetof(sk_cli_sched_args_t, discount_base)},
        {"grace-days", offsetof(sk_cli_sched_args_t, grace_days)},
        {"holidays", offsetof(sk_cli_sched_args_t, holidays)},
        {"rounding", offsetof(sk_cli_sched_args_t, rounding)},
    };
    if (!strcmp(name, "business-days")) {
        a->business_days = true;
        return true;
    }
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (!strcmp(name, slots[i].name)) {
            *(const char **)((char *)a + slots[i].off) = value;
            return true;
        }
    return false;
}

/* Unknown code: say whether it is a known code in the wrong case, else list
 * some that are known. */
static int s_bad_currency(const char *verb, const char *code)
{
    if (strlen(code) == 3) {
        char upper[4] = {0};
        for (int i = 0; i < 3; i++)
            upper[i] = (char)toupper((unsigned char)code[i]);
        if (strcmp(upper, code) != 0 && sk_currency_find(upper))
            return sk_cli_opt_error(verb, "currency", code,
                                    "use the ISO 4217 code in capitals, e.g. %s", upper);
    }
    static const char *const common[] = {"CNY", "USD", "EUR", "JPY", "GBP", "HKD", "KRW", "CHF"};
    char known[64] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (sk_currency_find(common[i]) && used + 5 < sizeof known)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", used ? " " : "",
                                     common[i]);
    return sk_cli_opt_error(verb, "currency", code,
                            "not a known ISO 4217 currency code (known include %s)", known);
}

static int s_load_holidays(const char *verb, const char *path, sk_calendar_t *cal)
{
    sk_err_t err;
    char *text = NULL;
    size_t len = 0;
    if (sk_cli_read_file(path, 1 << 20, &text, &len, &err) != 0)
        return sk_cli_opt_err(verb, "holidays", path, &err);
    int rc = sk_calendar_load_text(cal, text, len, &err);
    free(text);
    if (rc != 0)
        return sk_cli_opt_err(verb, "holidays", path, &err);
    return SK_EXIT_OK;
}

int sk_cli_sched_build(const char *verb, const sk_cli_sched_args_t *a, sk_cli_sched_t *out)
{
    sk_err_t err;
    memset(out, 0, sizeof *out);
    if (!a->terms)
        return sk_cli_usage_error(verb,
                                  "missing --terms, e.g. --terms 2/10,n/30 (try skontoctl "
                                  "%s --help)",
                                  verb);
    if (!a->baseline)
        return sk_cli_usage_error(verb,
                                  "missing --baseline, the date the terms count from, e.g. "
                                  "--baseline 2026-11-02 (try skontoctl %s --help)",
                                  verb);
    if (!a->amount)
        return sk_cli_usage_error(verb,
                                  "missing --amount, the invoice's gross amount, e.g. "
                                  "--amount 1130.00 (try skontoctl %s --help)",
                                  verb);

    if (sk_terms_parse(a->terms, &out->terms, &err) != 0)
        return sk_cli_opt_err(verb, "terms", a->terms, &err);
    sk_terms_format(&out->terms, out->terms_text, sizeof out->terms_text);

    sk_day_t baseline;
    if (sk_date_parse(a->baseline, &baseline, &err) != 0)
        return sk_cli_opt_err(verb, "baseline", a->baseline, &err);

    const char *code = a->currency ? a->currency : "CNY";
    const sk_currency_t *cur = sk_currency_find(code);
    if (!cur)
        return s_bad_currency(verb, code);

    int64_t amount, tax = 0;
    if (sk_money_parse(a->amount, cur, &amount, &err) != 0)
        return sk_cli_opt_err(verb, "amount", a->amount, &err);
    if (amount <= 0)
        return sk_cli_opt_error(verb, "amount", a->amount, "must be greater than 0");
    if (a->tax) {
        if (sk_money_parse(a->tax, cur, &tax, &err) != 0)
            return sk_cli_opt_err(verb, "tax", a->tax, &err);
        if (tax >= amount) {
            char buf[48];
            return sk_cli_opt_error(verb, "tax", a->tax,
                                    "must be less than --amount %s (the tax is part of the amount)",
                                    sk_money_format(amount, cur, buf, sizeof buf));
        }
    }

    sk_schedule_opts_t opts = {.base = SK_BASE_GROSS, .rounding = SK_ROUND_HALF_UP};
    if (a->discount_base) {
        if (!strcmp(a->discount_base, "gross"))
            opts.base = SK_BASE_GROSS;
        else if (!strcmp(a->discount_base, "net"))
            opts.base = SK_BASE_NET;
        else
            return sk_cli_opt_error(verb, "discount-base", a->discount_base,
                                    "want gross (the whole amount) or net (the amount less --tax)");
        if (opts.base == SK_BASE_NET && !a->tax)
            return sk_cli_usage_error(verb, "--discount-base net needs --tax, the tax included in "
                                            "--amount (--tax 0 if there is none)");
    }
    if (a->grace_days) {
        long g;
        if (sk_cli_parse_int(a->grace_days, 0, 365, &g) != 0)
            return sk_cli_opt_error(verb, "grace-days", a->grace_days,
                                    "want a whole number of days from 0 to 365");
        opts.grace_days = (int)g;
    }
    if (a->holidays && !a->business_days)
        return sk_cli_usage_error(verb, "--holidays needs --business-days (holidays only matter "
                                        "when last days move to the next business day)");
    if (a->rounding && sk_rounding_parse(a->rounding, &opts.rounding, &err) != 0)
        return sk_cli_opt_err(verb, "rounding", a->rounding, &err);

    sk_calendar_t *cal = NULL;
    if (a->business_days) {
        opts.business_days = true;
        if (a->holidays) {
            cal = sk_calendar_new();
            if (!cal)
                return sk_cli_fail(verb, "out of memory");
            int rc = s_load_holidays(verb, a->holidays, cal);
            if (rc != SK_EXIT_OK) {
                sk_calendar_destroy(&cal);
                return rc;
            }
            opts.calendar = cal;
        }
    }

    int rc =
        sk_schedule_compute(&out->terms, baseline, amount, tax, cur, &opts, &out->schedule, &err);
    sk_calendar_destroy(&cal);
    if (rc != 0) {
        if (!strcmp(err.code, "bad_terms"))
            return sk_cli_opt_err(verb, "terms", a->terms, &err);
        if (!strcmp(err.code, "bad_amount"))
            return sk_cli_opt_err(verb, "amount", a->amount, &err);
        if (!strcmp(err.code, "bad_date")) /* a date the terms reach from the baseline */
            return sk_cli_opt_err(verb, "baseline", a->baseline, &err);
        return sk_cli_usage_error(verb, "%s", err.msg);
    }
    out->base = opts.base;
    out->grace_days = opts.grace_days;
    out->business_days = opts.business_days;
    return SK_EXIT_OK;
}

void sk_cli_sched_help(FILE *out)
{
    fputs("the invoice (required):\n"
          "  --terms TERMS        the payment terms, e.g. 2/10,n/30 (see TERMS below)\n"
          "  --baseline DATE      the day the terms count from, YYYY-MM-DD: usually the ship\n"
          "                       date (or the invoice or delivery date, as agreed)\n"
          "  --amount AMOUNT      the invoice's gross amount, tax included, e.g. 1130.00; no\n"
          "                       more decimals than the currency has (JPY 999, CNY 1130.00)\n"
          "\n"
          "the invoice (optional):\n"
          "  --currency CODE      ISO 4217 code in capitals (default CNY): CNY USD EUR JPY GBP\n"
          "                       HKD KRW CHF and more\n"
          "  --tax AMOUNT         the tax included in --amount (default 0)\n"
          "  --discount-base gross|net\n"
          "                       what the percent is taken of: the whole amount (gross, the\n"
          "                       default) or the amount less --tax (net)\n"
          "  --grace-days N       0..365 days added to every discount window's last day; the\n"
          "                       net due date does not move\n"
          "  --business-days      a last day or net due date on a Saturday, a Sunday or a\n"
          "                       holiday moves to the next business day\n"
          "  --holidays FILE      with --business-days: holidays, one YYYY-MM-DD a line (blank\n"
          "                       lines and lines starting with # are ignored)\n"
          "  --rounding half-up|half-even\n"
          "                       how a discount is rounded to the currency's smallest unit:\n"
          "                       half-up (default) rounds an exact half up (0.125 -> 0.13),\n"
          "                       half-even to the even digit (0.125 -> 0.12, 0.135 -> 0.14)\n"
          "\n"
          "TERMS: discount tiers separated by commas, then the net term:\n"
          "  PERCENT/WHEN         PERCENT % off if paid by WHEN (PERCENT above 0 and below\n"
          "                       100, at most 4 decimals)\n"
          "  n/WHEN               otherwise the whole amount is due by WHEN\n"
          "WHEN is one of:\n"
          "  DAYS                 DAYS days after the baseline (0 = the baseline day: cash)\n"
          "  DAYSeom              DAYS days after the last day of the baseline's month\n"
          "  dDAY[+Mm]            day DAY of the baseline's month, or of M months later; a DAY\n"
          "                       past that month's end means its last day\n"
          "Every last day is inclusive. Rates must fall and last days rise from tier to tier,\n"
          "all before the net due date.\n"
          "  2/0,1/10,0.5/30,n/60        2 % if paid on the baseline day (cash), 1 % within\n"
          "                              10 days, 0.5 % within 30 days, net in 60 days\n"
          "  2/10,n/30                   2 % within 10 days, else net in 30 days\n"
          "  3/d15+1m,2/d25+2m,n/d15+3m  3 % by the 15th of next month, 2 % by the 25th of\n"
          "                              the month after, net by the 15th three months on\n"
          "  2/10eom,n/30eom             2 % within 10 days after the end of the baseline's\n"
          "                              month, net 30 days after it\n",
          out);
}

void sk_cli_sched_headline(const sk_cli_sched_t *s, FILE *out)
{
    const sk_schedule_t *sc = &s->schedule;
    char amount[48], base[48], tax[48], bl[24], net[24];
    sk_money_format(sc->amount, sc->currency, amount, sizeof amount);
    sk_money_format(sc->discount_base, sc->currency, base, sizeof base);
    sk_money_format(sc->tax, sc->currency, tax, sizeof tax);
    fprintf(out, "%s %s  terms %s  discount base %s", amount, sc->currency->code, s->terms_text,
            base);
    if (s->base == SK_BASE_NET)
        fprintf(out, " (net of tax %s)", tax);
    else
        fputs(" (gross)", out);
    fprintf(out, "  baseline %s  net due %s", sk_cli_date_wd(sc->baseline, bl, sizeof bl),
            sk_cli_date_wd(sc->net_due, net, sizeof net));
    if (s->grace_days)
        fprintf(out, "  grace %d day%s", s->grace_days, s->grace_days == 1 ? "" : "s");
    if (s->business_days)
        fputs("  business days", out);
    fputc('\n', out);
}
