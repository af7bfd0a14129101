"""skontoctl settle: payments applied in order, discount earned and unearned.

Runs the real binary from $SK_BUILD_DIR/bin; no server is involved. The
figures are worked out by hand in the comments.
"""
import re
import unittest

import skctl

# The worked example: 2/5,1/14,n/30 on 1000.00 CNY from 2020-06-25.
# Tier 1 (2 %) ends 2020-06-30, tier 2 (1 %) 2020-07-09, net 2020-07-25.
EXAMPLE = ["--terms", "2/5,1/14,n/30", "--baseline", "2020-06-25", "--amount", "1000.00"]


def run(*args):
    return skctl.run("settle", *args)


def settle_json(*args):
    return skctl.run_json("settle", *args)


def pay(date, amount, full=False):
    return ["--payment", "%s:%s%s" % (date, amount, ":full" if full else "")]


class WorkedExample(unittest.TestCase):
    def test_json(self):
        # 294.00 / 0.98 = 300.00 settled, 6.00 earned; 693.00 / 0.99 = 700.00, 7.00 earned.
        s = settle_json(*EXAMPLE, *pay("2020-06-28", "294.00"), *pay("2020-07-08", "693.00"))
        self.assertEqual(s["currency"], "CNY")
        self.assertEqual(s["amount"], "1000.00")
        self.assertEqual(s["balance"], "0.00")
        self.assertEqual(s["payments"], [
            {"date": "2020-06-28", "paid": "294.00", "tier": 0, "rate": "2", "discount": "6.00",
             "settled": "300.00", "unearned_discount": "0.00", "overpaid": "0.00",
             "balance_after": "700.00"},
            {"date": "2020-07-08", "paid": "693.00", "tier": 1, "rate": "1", "discount": "7.00",
             "settled": "700.00", "unearned_discount": "0.00", "overpaid": "0.00",
             "balance_after": "0.00"},
        ])

    def test_table(self):
        r = run(*EXAMPLE, *pay("2020-06-28", "294.00"), *pay("2020-07-08", "693.00"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        self.assertIn("1000.00 CNY", lines[0])
        self.assertIn("2020-06-30", lines[1])  # the windows line names each last day
        header = next(l for l in lines if l.startswith("#"))
        self.assertEqual(header.split()[:4], ["#", "date", "paid", "tier"])
        rows = [l.split() for l in lines if re.match(r"\d+  \d{4}-\d\d-\d\d ", l)]
        self.assertEqual(len(rows), 2, lines)
        # Tiers are numbered from 1 in the table.
        self.assertEqual(rows[0], ["1", "2020-06-28", "Sun", "294.00", "1", "2%", "6.00",
                                   "300.00", "0.00", "700.00"])
        self.assertEqual(rows[1], ["2", "2020-07-08", "Wed", "693.00", "2", "1%", "7.00",
                                   "700.00", "0.00", "0.00"])
        self.assertTrue(lines[-1].startswith("balance 0.00 CNY"), lines[-1])
        self.assertIn("discount earned 13.00", lines[-1])


class Payments(unittest.TestCase):
    TERMS = ["--terms", "2/10,n/30", "--baseline", "2026-01-01", "--amount", "1000.00"]

    def test_partial_then_after_every_window(self):
        # 490.00 in the 2 % window settles 500.00; 500.00 after net settles itself.
        s = settle_json(*self.TERMS, *pay("2026-01-05", "490.00"), *pay("2026-02-20", "500.00"))
        p1, p2 = s["payments"]
        self.assertEqual((p1["discount"], p1["settled"], p1["balance_after"]),
                         ("10.00", "500.00", "500.00"))
        self.assertIsNone(p2["tier"])
        self.assertEqual((p2["rate"], p2["discount"], p2["settled"]), ("0", "0.00", "500.00"))
        self.assertEqual(s["balance"], "0.00")
        table = run(*self.TERMS, *pay("2026-01-05", "490.00"), *pay("2026-02-20", "500.00"))
        row = [l.split() for l in table.stdout.splitlines() if l.startswith("2 ")][0]
        self.assertEqual(row[4:6], ["-", "0%"])

    def test_last_day_is_inclusive(self):
        s = settle_json(*self.TERMS, *pay("2026-01-11", "980.00"))
        self.assertEqual(s["payments"][0]["tier"], 0)
        self.assertEqual(s["balance"], "0.00")
        s = settle_json(*self.TERMS, *pay("2026-01-12", "980.00"))
        self.assertIsNone(s["payments"][0]["tier"])
        self.assertEqual(s["balance"], "20.00")

    def test_prepayment_before_the_baseline_earns_the_first_window(self):
        s = settle_json(*EXAMPLE, *pay("2020-06-20", "294.00"))
        self.assertEqual(s["payments"][0]["tier"], 0)
        self.assertEqual(s["payments"][0]["discount"], "6.00")
        self.assertEqual(s["balance"], "700.00")

    def test_full_payment_short_of_payable_leaves_unearned_discount(self):
        # Declared full with 900.00: the tier gives 20.00 on 1000.00, so 980.00 was
        # due; 80.00 of the discount taken was not earned and stays open.
        s = settle_json(*self.TERMS, *pay("2026-01-05", "900.00", full=True))
        p = s["payments"][0]
        self.assertEqual((p["discount"], p["settled"], p["unearned_discount"]),
                         ("20.00", "920.00", "80.00"))
        self.assertEqual(s["balance"], "80.00")
        r = run(*self.TERMS, *pay("2026-01-05", "900.00", full=True))
        self.assertIn("unearned discount 80.00", r.stdout)

    def test_full_payment_of_the_payable_settles_everything(self):
        s = settle_json(*self.TERMS, *pay("2026-01-05", "980.00", full=True))
        self.assertEqual(s["payments"][0]["unearned_discount"], "0.00")
        self.assertEqual(s["balance"], "0.00")

    def test_overpayment_is_reported(self):
        s = settle_json(*self.TERMS, *pay("2026-03-01", "1100.00"))
        self.assertEqual(s["payments"][0]["overpaid"], "100.00")
        self.assertEqual(s["balance"], "0.00")
        self.assertIn("overpaid 100.00", run(*self.TERMS, *pay("2026-03-01", "1100.00")).stdout)

    def test_net_discount_base(self):
        # 2 % of the 1000.00 net of tax is 20.00: 1110.00 settles 1130.00.
        s = settle_json("--terms", "2/10,n/30", "--baseline", "2026-01-01", "--amount",
                        "1130.00", "--tax", "130.00", "--discount-base", "net",
                        *pay("2026-01-05", "1110.00"))
        p = s["payments"][0]
        self.assertEqual((p["discount"], p["settled"]), ("20.00", "1130.00"))
        self.assertEqual(s["balance"], "0.00")

    def test_jpy(self):
        s = settle_json("--terms", "2/10,n/30", "--baseline", "2026-01-01", "--amount", "999",
                        "--currency", "JPY", *pay("2026-01-05", "979"))
        self.assertEqual(s["currency"], "JPY")
        self.assertEqual((s["payments"][0]["discount"], s["balance"]), ("20", "0"))

    def test_business_days_extend_the_window(self):
        # Tier 1 of 1/2 from Thursday 2026-01-01 ends Saturday 01-03, moved to Monday 01-05.
        args = ["--terms", "1/2,n/30", "--baseline", "2026-01-01", "--amount", "100.00",
                *pay("2026-01-05", "99.00")]
        self.assertIsNone(settle_json(*args)["payments"][0]["tier"])
        s = settle_json(*args, "--business-days")
        self.assertEqual((s["payments"][0]["tier"], s["balance"]), (0, "0.00"))


class Help(unittest.TestCase):
    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for text in ("--payment DATE:AMOUNT[:full]", "0-based", "numbers tiers from 1",
                     "unearned", "--terms", "2/10,n/30", "example"):
            self.assertIn(text, r.stdout)


class Rejections(unittest.TestCase):
    def reject(self, args, *expect):
        return skctl.assert_rejected(self, "settle", args, *expect)

    def test_payment_syntax(self):
        self.reject(EXAMPLE, "missing --payment")
        for bad in ("2020-06-28", "2020-06-28:", ":5", "2020-06-28:5:fully", "x" * 200):
            self.reject(EXAMPLE + ["--payment", bad], "--payment", "DATE:AMOUNT")

    def test_payment_values(self):
        self.reject(EXAMPLE + pay("2020-06-31", "5"), '--payment "2020-06-31:5"',
                    "June 2020 has 30 days")
        self.reject(EXAMPLE + pay("2020-06-28", "5.001"), "CNY has 2 decimals")
        self.reject(EXAMPLE + pay("2020-06-28", "-5"), "negative")
        self.reject(EXAMPLE + pay("2020-06-28", "0"), "greater than 0")

    def test_payment_order_and_settled_invoice(self):
        self.reject(EXAMPLE + pay("2020-06-28", "10") + pay("2020-06-27", "5"),
                    '--payment "2020-06-27:5"', "date order")
        self.reject(EXAMPLE + pay("2020-06-28", "980") + pay("2020-06-29", "5"),
                    '--payment "2020-06-29:5"', "settled")

    def test_schedule_options_are_checked_as_in_quote(self):
        self.reject(["--terms", "2/10", "--baseline", "2020-06-25", "--amount", "1",
                     *pay("2020-06-28", "1")], "--terms")
        self.reject(EXAMPLE + ["--currency", "cny"] + pay("2020-06-28", "1"), "capitals")
        self.reject(EXAMPLE + ["--bogus"] + pay("2020-06-28", "1"), "--bogus", "--help")
        self.reject(EXAMPLE + ["--tax", "1000.00"] + pay("2020-06-28", "1"), "--tax")


if __name__ == "__main__":
    unittest.main()
