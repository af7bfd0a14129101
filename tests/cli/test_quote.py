"""skontoctl quote: discount windows from terms, as a finance person works them out.

Runs the real binary from $SK_BUILD_DIR/bin; no server is involved. Every
figure below was worked out by hand from the terms (see the comments), not
copied from the program's output.
"""
import json
import os
import subprocess
import tempfile
import unittest

import skctl

# The seed's terms on an invoice of 1130.00 CNY incl. 130.00 tax, shipped 2026-11-02.
SEED = ["--terms", "2/0,1/10,0.5/30,n/60", "--baseline", "2026-11-02", "--amount", "1130.00"]


def run(*args):
    return skctl.run("quote", *args)


def quote_json(*args):
    return skctl.run_json("quote", *args)


class SeedTerms(unittest.TestCase):
    def test_gross_discounts_and_dates(self):
        q = quote_json(*SEED)
        # 2 % / 1 % / 0.5 % of 1130.00 = 22.60 / 11.30 / 5.65; day 0, 10, 30, net 60.
        # Effective vs net: (1/0.98)^(365/60) - 1 = 13.0771 %, (1/0.99)^(365/50) - 1 =
        # 7.6126 %, (1/0.995)^(365/30) - 1 = 6.2884 %. No cost of capital, no balance rates.
        self.assertEqual(q, {
            "currency": "CNY", "amount": "1130.00", "discount_base": "1130.00",
            "baseline": "2026-11-02", "net_due": "2027-01-01",
            "tiers": [
                {"rate": "2", "last_day": "2026-11-02", "discount": "22.60", "payable": "1107.40",
                 "apr_vs_net": 12.41, "apr_effective_vs_net": 13.08, "apr_vs_next": 37.24},
                {"rate": "1", "last_day": "2026-11-12", "discount": "11.30", "payable": "1118.70",
                 "apr_vs_net": 7.37, "apr_effective_vs_net": 7.61, "apr_vs_next": 9.22},
                {"rate": "0.5", "last_day": "2026-12-02", "discount": "5.65", "payable": "1124.35",
                 "apr_vs_net": 6.11, "apr_effective_vs_net": 6.29, "apr_vs_next": 6.11},
            ]})

    def test_net_discount_base(self):
        q = quote_json(*SEED, "--tax", "130.00", "--discount-base", "net")
        # The percent is taken of 1000.00: 20.00 / 10.00 / 5.00.
        self.assertEqual(q["discount_base"], "1000.00")
        self.assertEqual(q["amount"], "1130.00")
        self.assertEqual([t["discount"] for t in q["tiers"]], ["20.00", "10.00", "5.00"])
        self.assertEqual([t["payable"] for t in q["tiers"]], ["1110.00", "1120.00", "1125.00"])

    def test_tax_alone_keeps_gross_base(self):
        q = quote_json(*SEED, "--tax", "130.00")
        self.assertEqual(q["discount_base"], "1130.00")
        self.assertEqual(q["tiers"][0]["discount"], "22.60")

    def test_table_shows_every_figure_aligned(self):
        r = run(*SEED)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        head = lines[0]
        for part in ("CNY", "1130.00", "discount base 1130.00", "baseline 2026-11-02 Mon",
                     "net due 2027-01-01 Fri"):
            self.assertIn(part, head)
        table = [l for l in lines[1:] if l.strip()]
        self.assertEqual(len(table), 5)  # header, three tiers, net
        self.assertEqual(table[0].split()[:2], ["tier", "rate"])
        self.assertEqual(table[0].split("  ")[-3:], ["APR vs net", "eff. vs net", "APR vs next"])
        self.assertEqual(table[1].split(), ["1", "2%", "2026-11-02", "Mon", "22.60", "1107.40",
                                            "12.41%", "13.08%", "37.24%"])
        self.assertEqual(table[2].split(), ["2", "1%", "2026-11-12", "Thu", "11.30", "1118.70",
                                            "7.37%", "7.61%", "9.22%"])
        self.assertEqual(table[3].split(), ["3", "0.5%", "2026-12-02", "Wed", "5.65", "1124.35",
                                            "6.11%", "6.29%", "6.11%"])
        self.assertEqual(table[4].split(), ["net", "0%", "2027-01-01", "Fri", "0.00", "1130.00",
                                            "-", "-", "-"])
        # Right-aligned columns end at the same place on every line.
        self.assertEqual(len({len(l) for l in table}), 1, table)
        col = table[0].index("payable") + len("payable")
        for l in table[1:]:
            self.assertNotEqual(l[col - 1], " ", l)
            self.assertEqual(l[col], " ", l)


class Rates(unittest.TestCase):
    def test_classic_2_10_net_30_apr(self):
        # 2/98 x 365/20 = 37.2449 % a year.
        r = run("--terms", "2/10,n/30", "--baseline", "2026-03-02", "--amount", "100.00", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"apr_vs_net": 37.24', r.stdout)  # a JSON number, printed exactly
        q = json.loads(r.stdout)
        # Compounded: (1/0.98)^(365/20) - 1 = 44.5853 %.
        self.assertIn('"apr_effective_vs_net": 44.59', r.stdout)
        self.assertEqual(q["tiers"], [{"rate": "2", "last_day": "2026-03-12", "discount": "2.00",
                                       "payable": "98.00", "apr_vs_net": 37.24,
                                       "apr_effective_vs_net": 44.59, "apr_vs_next": 37.24}])
        self.assertEqual(q["net_due"], "2026-04-01")
        table = run("--terms", "2/10,n/30", "--baseline", "2026-03-02", "--amount", "100.00")
        self.assertIn("37.24%", table.stdout)
        self.assertIn("44.59%", table.stdout)

    def test_balance_rates_at_8_percent(self):
        # 2/10,n/30 paid on day 10 instead of 30: 20 days earlier. At 8 % a year that is
        # worth 1 - 1.08^(-20/365) = 0.420816 %; simple: x = 0.08 x 20/365, x/(1+x) = 0.436443 %.
        # Both far below the 2 % granted.
        args = ["--terms", "2/10,n/30", "--baseline", "2026-03-02", "--amount", "100.00",
                "--cost-of-capital", "8"]
        r = run(*args, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"balance_rate": 0.4208', r.stdout)
        self.assertIn('"balance_rate_simple": 0.4364', r.stdout)
        q = json.loads(r.stdout)
        self.assertEqual(q["cost_of_capital"], "8")
        self.assertEqual(q["tiers"], [{"rate": "2", "last_day": "2026-03-12", "discount": "2.00",
                                       "payable": "98.00", "apr_vs_net": 37.24,
                                       "apr_effective_vs_net": 44.59, "apr_vs_next": 37.24,
                                       "balance_rate": 0.4208, "balance_rate_simple": 0.4364}])
        lines = run(*args).stdout.splitlines()
        self.assertEqual(lines[1], "cost of capital 8% a year")
        table = [l for l in lines[2:] if l.strip()]
        self.assertEqual(table[0].split("  ")[-2:], ["balance rate", "balance simple"])
        self.assertEqual(table[1].split(), ["1", "2%", "2026-03-12", "Thu", "2.00", "98.00",
                                            "37.24%", "44.59%", "37.24%", "0.4208%", "0.4364%"])
        self.assertEqual(table[2].split()[-5:], ["-"] * 5)
        self.assertEqual(len({len(l) for l in table}), 1, table)

    def test_balance_rates_per_tier_of_the_seed(self):
        # 2/0,1/10,0.5/30,n/60 at 8 %: 60, 50 and 30 days before net.
        # 1 - 1.08^(-60/365) = 1.257144 %, -50/365: 1.048723 %, -30/365: 0.630560 %;
        # simple: 1.297999 %, 1.084011 %, 0.653239 %.
        q = quote_json(*SEED, "--cost-of-capital", "8")
        self.assertEqual([(t["balance_rate"], t["balance_rate_simple"]) for t in q["tiers"]],
                         [(1.2571, 1.2980), (1.0487, 1.0840), (0.6306, 0.6532)])

    def test_fractional_cost_of_capital(self):
        # 7.5 %: 1 - 1.075^(-20/365) = 0.395493 %; simple 0.409277 %.
        q = quote_json("--terms", "2/10,n/30", "--baseline", "2026-03-02", "--amount", "100.00",
                       "--cost-of-capital", "7.5")
        self.assertEqual(q["cost_of_capital"], "7.5")
        self.assertEqual((q["tiers"][0]["balance_rate"], q["tiers"][0]["balance_rate_simple"]),
                         (0.3955, 0.4093))

    def test_days_per_month_change_the_rates_not_the_year(self):
        # 3/d15+1m,n/d15+2m: 15 February to 15 March, 28 days in 2023, 29 in 2024; the
        # year has 365 days in both. 3/97 x 365/28 = 40.3166 %, (1/0.97)^(365/28) - 1 =
        # 48.7441 %, at 8 % 1 - 1.08^(-28/365) = 0.588647 %, simple 0.609955 %;
        # 29 days: 38.9264 %, 46.7215 %, 0.609606 %, 0.631602 %.
        got = []
        for year in ("2023", "2024"):
            q = quote_json("--terms", "3/d15+1m,n/d15+2m", "--baseline", year + "-01-10",
                           "--amount", "100.00", "--cost-of-capital", "8")
            t = q["tiers"][0]
            got.append((t["apr_vs_net"], t["apr_effective_vs_net"], t["balance_rate"],
                        t["balance_rate_simple"]))
        self.assertEqual(got, [(40.32, 48.74, 0.5886, 0.61), (38.93, 46.72, 0.6096, 0.6316)])

    def test_numbers_do_not_follow_the_locale(self):
        # A German locale writes 0,4208: built here with localedef (LOCPATH), so the
        # check is real even on a machine that has no locales installed.
        args = ["--terms", "2/10,n/30", "--baseline", "2026-03-02", "--amount", "100.00",
                "--cost-of-capital", "8"]
        with tempfile.TemporaryDirectory() as loc:
            made = subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                                   os.path.join(loc, "de_DE.UTF-8")], capture_output=True)
            if made.returncode not in (0, 1):  # 1: warnings only
                self.skipTest("localedef cannot build de_DE.UTF-8: %r" % made.stderr)
            env = dict(os.environ, LOCPATH=loc, LC_ALL="de_DE.UTF-8", LANG="de_DE.UTF-8")
            probe = subprocess.run(["/usr/bin/python3", "-c",
                                    "import locale; locale.setlocale(locale.LC_ALL, '');"
                                    "print(locale.localeconv()['decimal_point'])"],
                                   capture_output=True, text=True, env=env)
            self.assertEqual(probe.stdout.strip(), ",", probe.stderr)  # the locale is live
            for extra in (["--json"], []):
                plain = run(*args, *extra).stdout
                r = subprocess.run([skctl.BIN, "quote", *args, *extra], capture_output=True,
                                   text=True, env=env, timeout=60)
                self.assertEqual(r.stdout, plain)
                self.assertIn("0.4208", r.stdout)
                self.assertIn("44.59", r.stdout)

    def test_fractional_percent_string(self):
        q = quote_json("--terms", "1.25/10,0.5/20,n/30", "--baseline", "2026-03-02",
                       "--amount", "800.00")
        self.assertEqual([t["rate"] for t in q["tiers"]], ["1.25", "0.5"])
        self.assertEqual([t["discount"] for t in q["tiers"]], ["10.00", "4.00"])


class Currencies(unittest.TestCase):
    def test_jpy_has_no_decimals(self):
        # 2 % of 999 = 19.98 -> 20; 1 % = 9.99 -> 10.
        q = quote_json("--terms", "2/10,1/20,n/30", "--baseline", "2026-01-01",
                       "--amount", "999", "--currency", "JPY")
        self.assertEqual(q["currency"], "JPY")
        self.assertEqual(q["amount"], "999")
        self.assertEqual([(t["discount"], t["payable"]) for t in q["tiers"]],
                         [("20", "979"), ("10", "989")])
        self.assertEqual(q["tiers"][1]["apr_vs_net"], 36.87)  # 1/99 x 365/10
        self.assertEqual(q["tiers"][1]["apr_effective_vs_net"], 44.32)  # (1/0.99)^36.5 - 1

    def test_usd_and_option_equals_form(self):
        a = quote_json("--terms=2/10,n/30", "--baseline=2026-01-01", "--amount=250.00",
                       "--currency=USD")
        b = quote_json("--terms", "2/10,n/30", "--baseline", "2026-01-01", "--amount", "250.00",
                       "--currency", "USD")
        self.assertEqual(a, b)
        self.assertEqual(a["tiers"][0]["discount"], "5.00")


class Rounding(unittest.TestCase):
    def discount(self, amount, rule):
        q = quote_json("--terms", "1/2,n/30", "--baseline", "2026-01-01", "--amount", amount,
                       "--rounding", rule)
        return q["tiers"][0]["discount"]

    def test_half_up_vs_half_even_on_a_tie(self):
        # 1 % of 100.50 = 1.005: half-up 1.01, half-even to the even cent 1.00.
        self.assertEqual(self.discount("100.50", "half-up"), "1.01")
        self.assertEqual(self.discount("100.50", "half-even"), "1.00")
        # 1 % of 101.50 = 1.015: both give 1.02 (2 is even).
        self.assertEqual(self.discount("101.50", "half-up"), "1.02")
        self.assertEqual(self.discount("101.50", "half-even"), "1.02")

    def test_default_is_half_up(self):
        q = quote_json("--terms", "1/2,n/30", "--baseline", "2026-01-01", "--amount", "100.50")
        self.assertEqual(q["tiers"][0]["discount"], "1.01")


class Dates(unittest.TestCase):
    def test_leap_year_month_end(self):
        q = quote_json("--terms", "2/d31+1m,n/d31+2m", "--baseline", "2024-01-31",
                       "--amount", "100.00")
        self.assertEqual(q["tiers"][0]["last_day"], "2024-02-29")
        self.assertEqual(q["net_due"], "2024-03-31")
        q = quote_json("--terms", "2/d31+1m,n/d31+2m", "--baseline", "2023-01-31",
                       "--amount", "100.00")
        self.assertEqual(q["tiers"][0]["last_day"], "2023-02-28")

    def test_sap_style_and_eom(self):
        q = quote_json("--terms", "3/d15+1m,2/d25+2m,n/d15+3m", "--baseline", "2026-01-20",
                       "--amount", "100.00")
        self.assertEqual([t["last_day"] for t in q["tiers"]], ["2026-02-15", "2026-03-25"])
        self.assertEqual(q["net_due"], "2026-04-15")
        q = quote_json("--terms", "2/10eom,n/30eom", "--baseline", "2026-01-20",
                       "--amount", "100.00")
        self.assertEqual(q["tiers"][0]["last_day"], "2026-02-10")
        self.assertEqual(q["net_due"], "2026-03-02")

    def test_grace_days_move_tiers_not_net(self):
        q = quote_json("--terms", "2/10,n/30", "--baseline", "2026-01-01", "--amount", "100.00",
                       "--grace-days", "3")
        self.assertEqual(q["tiers"][0]["last_day"], "2026-01-14")
        self.assertEqual(q["net_due"], "2026-01-31")

    def test_business_days_saturday_to_monday(self):
        # 2026-01-01 is a Thursday: day 2 is Saturday 01-03, net day 30 Saturday 01-31.
        args = ["--terms", "1/2,n/30", "--baseline", "2026-01-01", "--amount", "100.00"]
        plain = quote_json(*args)
        self.assertEqual(plain["tiers"][0]["last_day"], "2026-01-03")
        moved = quote_json(*args, "--business-days")
        self.assertEqual(moved["tiers"][0]["last_day"], "2026-01-05")
        self.assertEqual(moved["net_due"], "2026-02-02")
        self.assertIn("2026-01-05 Mon", run(*args, "--business-days").stdout)

    def test_holiday_file_moves_past_the_holiday(self):
        args = ["--terms", "1/2,n/30", "--baseline", "2026-01-01", "--amount", "100.00",
                "--business-days"]
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("# company holidays\n\n2026-01-05\n2026-02-02\n")
            f.flush()
            q = quote_json(*args, "--holidays", f.name)
        self.assertEqual(q["tiers"][0]["last_day"], "2026-01-06")
        self.assertEqual(q["net_due"], "2026-02-03")


class Help(unittest.TestCase):
    def test_help_explains_options_and_notation(self):
        for flag in ("--help", "-h"):
            r = run(flag)
            self.assertEqual(r.returncode, 0)
            for text in ("--terms", "--baseline", "--amount", "--currency", "--tax",
                         "--discount-base", "--grace-days", "--business-days", "--holidays",
                         "--rounding", "--json", "--cost-of-capital", "apr_effective_vs_net",
                         "balance_rate", "balance_rate_simple", "compounded",
                         "largest discount worth granting", "simple interest",
                         "2/0,1/10,0.5/30,n/60", "2/10,n/30",
                         "3/d15+1m,2/d25+2m,n/d15+3m", "2/10eom", "example:",
                         "skontoctl quote --terms"):
                self.assertIn(text, r.stdout)

    def test_help_wins_over_bad_options(self):
        self.assertEqual(run("--bogus", "--help").returncode, 0)


class Rejections(unittest.TestCase):
    """Each class of invalid input: exit 2 and one line naming what is wrong."""

    OK = {"--terms": "2/10,n/30", "--baseline": "2026-01-01", "--amount": "100.00"}

    def reject(self, args, *expect):
        return skctl.assert_rejected(self, "quote", args, *expect)

    def with_(self, **over):
        opts = dict(self.OK)
        args = []
        for k, v in over.items():
            opts["--" + k.replace("_", "-")] = v
        for k, v in opts.items():
            if v is None:
                continue
            args += [k] if v is True else [k, v]
        return args

    def test_bad_dates(self):
        self.reject(self.with_(baseline="2026-02-30"),
                    '--baseline "2026-02-30": February 2026 has 28 days')
        self.reject(self.with_(baseline="2026-13-01"), '--baseline "2026-13-01"', "month")
        self.reject(self.with_(baseline="garbage"), '--baseline "garbage"', "YYYY-MM-DD")
        self.reject(self.with_(baseline="2026-1-1"), '--baseline "2026-1-1"', "YYYY-MM-DD")
        # Valid itself, but the terms reach past the last supported date.
        self.reject(self.with_(baseline="9999-12-30"), '--baseline "9999-12-30"', "9999-12-31")

    def test_bad_amounts(self):
        self.reject(self.with_(amount="-5.00"), '--amount "-5.00"', "negative")
        self.reject(self.with_(amount="12.345"), '--amount "12.345"', "CNY has 2 decimals")
        self.reject(self.with_(amount="12.5", currency="JPY"), '--amount "12.5"', "JPY",
                    "no decimals")
        self.reject(self.with_(amount="abc"), '--amount "abc"', "not a decimal number")
        self.reject(self.with_(amount="0"), '--amount "0"', "greater than 0")
        self.reject(self.with_(amount="0.00"), '--amount "0.00"', "greater than 0")
        self.reject(self.with_(amount="100000000000000000"), '--amount "100000000000000000"',
                    "largest")
        self.reject(self.with_(amount="1,130.00"), '--amount "1,130.00"')

    def test_bad_currencies(self):
        self.reject(self.with_(currency="XYZ"), '--currency "XYZ"', "ISO 4217")
        self.reject(self.with_(currency="cny"), '--currency "cny"', "capitals", "CNY")

    def test_bad_terms(self):
        self.reject(self.with_(terms="2/10"), '--terms "2/10"', "net")
        self.reject(self.with_(terms="1/10,2/20,n/30"), '--terms "1/10,2/20,n/30"', "tier 2")
        self.reject(self.with_(terms="2/10,n/5"), '--terms "2/10,n/5"', "tier 1")
        self.reject(self.with_(terms="two/10,n/30"), '--terms "two/10,n/30"')
        self.reject(self.with_(terms=""), '--terms ""')

    def test_missing_required(self):
        self.reject(self.with_(terms=None), "missing --terms", "--help")
        self.reject(self.with_(baseline=None), "missing --baseline")
        self.reject(self.with_(amount=None), "missing --amount")

    def test_unknown_option_and_stray_words(self):
        self.reject(self.with_(bogus="1"), 'unknown option "--bogus"', "skontoctl quote --help")
        self.reject(self.with_() + ["-x"], '"-x"', "--help")
        self.reject(self.with_() + ["stray"], '"stray"')
        self.reject(self.with_() + ["--json=yes"], "--json takes no value")
        self.reject(self.with_() + ["--terms", "2/10,n/30"], "--terms given twice")
        self.reject(["--baseline", "2026-01-01", "--amount", "1", "--terms"],
                    "--terms needs a value")

    def test_tax_and_base(self):
        self.reject(self.with_(tax="100.00"), '--tax "100.00"', "less than --amount 100.00")
        self.reject(self.with_(tax="150.00"), '--tax "150.00"', "less than")
        self.reject(self.with_(tax="1.001"), '--tax "1.001"', "CNY has 2 decimals")
        self.reject(self.with_(discount_base="half"), '--discount-base "half"', "gross", "net")
        self.reject(self.with_(discount_base="net"), "--discount-base net needs --tax")

    def test_grace_days_range(self):
        for bad in ("366", "-1", "x", "1.5", ""):
            self.reject(self.with_(grace_days=bad), '--grace-days "%s"' % bad, "0 to 365")
        self.assertEqual(run(*self.with_(grace_days="365")).returncode, 2)  # past net: terms
        self.assertEqual(run("--terms", "2/10,n/400", "--baseline", "2026-01-01", "--amount",
                             "1", "--grace-days", "365").returncode, 0)

    def test_rounding(self):
        self.reject(self.with_(rounding="up"), '--rounding "up"', "half-up", "half-even")

    def test_holidays(self):
        self.reject(self.with_(business_days=True, holidays="/nonexistent/holidays.txt"),
                    '--holidays "/nonexistent/holidays.txt"', "No such file")
        self.reject(self.with_(holidays="/etc/hostname"), "--holidays needs --business-days")
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("2026-01-05\n2026-02-30\n")
            f.flush()
            self.reject(self.with_(business_days=True, holidays=f.name), "--holidays", "line 2")

    def test_cost_of_capital(self):
        for bad in ("0", "100", "-8", "8%", "7.12345", "abc", "8,5", ""):
            self.reject(self.with_(cost_of_capital=bad), '--cost-of-capital "%s"' % bad,
                        "percent a year above 0 and below 100", "at most 4 decimals")
        self.reject(self.with_() + ["--cost-of-capital"], "--cost-of-capital needs a value")
        self.reject(self.with_(cost_of_capital="8") + ["--cost-of-capital", "9"],
                    "--cost-of-capital given twice")
        # The schedule's own options are checked first, as the usage line orders them.
        self.reject(self.with_(amount="abc", cost_of_capital="abc"), '--amount "abc"')

    def test_control_characters_stay_on_one_line(self):
        line = self.reject(self.with_(terms="2/1\n0,n/30"), "--terms")
        self.assertNotIn("\n", line)


if __name__ == "__main__":
    unittest.main()
