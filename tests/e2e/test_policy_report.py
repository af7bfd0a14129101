"""skontoctl report policy against a real stack (redis-server, skonto-ingest,
skonto-discount; events in through `skontoctl send`): the figures of a small
history worked out by hand, how a credit note and a payment move them, and
that the discount worker's rebuild (sk:{sys}:pbackfill absent) gives the
same report as the live counters. PerSalesperson: a generated history of
three salespeople (and invoices without one) with the audit worker running,
an override counted for its invoice's salesperson, and the rebuild of a
store whose marker is "1" (rebuilt before sk:{sN}:psp existed).

Terms 2/10,n/30 (2 % up to 10 days after shipping, net at 30: 20 days
before net), CNY, cost of capital 8 %:
  SO-1 C-A 1000.00 ship 11-02 (last day 11-12, net 12-02): 980.00 on 11-10, tier 0,
       discount 20.00, 22 days before net; tier 0's last day 2 days after
  SO-2 C-A  500.00 ship 11-16 (11-26, 12-16): 490.00 on 11-26, tier 0, 10.00, 20 days
  SO-3 C-B 2000.00 ship 11-05 (11-15, 12-05): 2000.00 on 12-10: net, 5 days late
  SO-4 C-B  800.00 ship 12-01 (12-11, 12-31): open
  SO-5 C-B  600.00 ship 12-03 (12-13, 2027-01-02): credit note 100.00, then
       500.00 on 12-20: net, 13 days before net
  SO-6 C-B 1000.00 ship 12-01 (12-11, 12-31): 980.00 "full" on 12-15 (after the
       window: 20.00 unearned, 16 days before net), 20.00 on 12-20 (11 days): net
Closed by payment: 5, amounts 5000.00, every one offered tier 0.
  tier 0: taken 2 (40 %), discounted 30.00, days before net (22+20)/2 = 21.00;
          2 % for 20 days: 37.24 % nominal, 44.59 % effective, against net and
          (the only tier) against the next; balance rate at 8 % 0.4208 (0.4364 simple);
          cash x days 980.00 x 22 + 490.00 x 20 = 31360.00 day-yuan, worth
          31360.00 x 8 % / 365 = 6.87, net effect 6.87 - 30.00 = -23.13
  net:    taken 3 (60 %), days (-5+13+11)/3 = 6.33; cash x days
          2000 x -5 + 500 x 13 + 980 x 16 + 20 x 11 = 12400.00, worth 2.72
  total:  43760.00 day-yuan, worth 9.59; discounts 30.00; net effect -20.41
Salespeople: S-1 sold SO-1 and SO-2 (2 closed, both in tier 0: 100 %, 30.00
  discount on 1500.00), S-2 SO-3, SO-4 and SO-6 (2 closed, none taken, 3000.00,
  SO-6's unearned 20.00), SO-5 has none (1 closed, 500.00).
Customers: C-A 2 closed, tier 0, on time 100 %, 21.00 days, always takes;
  C-B 3 at net, on time 2 of 3 (66.67 %), 6.33 days, 1 unearned attempt of
  20.00, never takes; its implied rate: 2 % for on average round(41/3) = 14
  days after tier 0's last day (25, 7, 9).
DSO as of 2026-12-31: receivables 800.00 (SO-4), December's sales 1000.00 +
  800.00 + 500.00 (SO-5 after its credit) = 2300.00 over 31 days:
  31 x 800 / 2300 = 10.78 days. As if everyone paid at net on its due date,
  still open on 12-31: SO-5's 500.00 (net 2027-01-02): 31 x 500/2300 = 6.74.
"""
import datetime
import json
import math
import os
import time
import unittest

from harness import Stack, wait_for
from test_override_ctl import AUDIT

T = "2/10,n/30"


def line(**kw):
    return json.dumps(kw)


def order(eid, oid, cid, amount, ship, sp=None):
    kw = {"salesperson": sp} if sp else {}
    return line(type="order_shipped", event_id=eid, order_id=oid, customer_id=cid,
                currency="CNY", amount=amount, ship_date=ship, terms=T, **kw)


def pay(eid, oid, amount, on, full=True):
    return line(type="payment_received", event_id=eid, order_id=oid, paid_on=on, amount=amount,
                full=full)


def credit(eid, oid, amount, on):
    return line(type="credit_note", event_id=eid, order_id=oid, issued_on=on, amount=amount)


HISTORY = [
    line(type="customer", event_id="E1", customer_id="C-A", name="A", terms=T),
    line(type="customer", event_id="E2", customer_id="C-B", name="B", terms=T),
    order("E3", "SO-1", "C-A", "1000.00", "2026-11-02", "S-1"),
    pay("E4", "SO-1", "980.00", "2026-11-10"),
    order("E5", "SO-2", "C-A", "500.00", "2026-11-16", "S-1"),
    pay("E6", "SO-2", "490.00", "2026-11-26"),
    order("E7", "SO-3", "C-B", "2000.00", "2026-11-05", "S-2"),
    pay("E8", "SO-3", "2000.00", "2026-12-10"),
    order("E9", "SO-4", "C-B", "800.00", "2026-12-01", "S-2"),
    order("E10", "SO-5", "C-B", "600.00", "2026-12-03"),
    credit("E11", "SO-5", "100.00", "2026-12-04"),
    pay("E12", "SO-5", "500.00", "2026-12-20"),
    order("E13", "SO-6", "C-B", "1000.00", "2026-12-01", "S-2"),
    pay("E14", "SO-6", "980.00", "2026-12-15"),
    pay("E15", "SO-6", "20.00", "2026-12-20", full=False),
]


def implied(rate, days):
    """The implied rate of common/policy.h, in percent with 2 decimals."""
    nominal = rate / (1 - rate) * 365 / days
    effective = math.expm1(365 / days * -math.log1p(-rate))
    return round(nominal * 100, 2), round(effective * 100, 2)


class PolicyStack(unittest.TestCase):
    """A stack on 2027-01-15 at the default cost of capital (8 %); each class
    starts its workers and sends its history in start()."""

    @classmethod
    def setUpClass(cls):
        cls.st = st = Stack()
        st.__enter__()
        st.env["SKONTO_TODAY"] = "2027-01-15"
        st.env.pop("SKONTO_COST_OF_CAPITAL", None)
        try:
            cls.start(st)
        except BaseException:
            st.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    @classmethod
    def send(cls, lines, name):
        path = os.path.join(cls.st.dir, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = cls.st.ctl("send", path, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.st.wait_drained()


class PolicyReport(PolicyStack):
    @classmethod
    def start(cls, st):
        st.start_ingest()
        st.start_discount("discount-1")
        cls.send(HISTORY, "history.jsonl")

    def report(self, *args):
        return self.st.ctl_json("report", "policy", "--to", "2026-12-31", *args)

    def tier(self, rep, tier):
        rows = [t for t in rep["tiers"] if t["tier"] == tier]
        self.assertEqual(len(rows), 1, rep["tiers"])
        self.assertEqual((rows[0]["terms"], rows[0]["currency"]), (T, "CNY"))
        return rows[0]

    def cust(self, rep, cid):
        return next(c for c in rep["customers"] if c["customer"] == cid)

    def test_1_hand_worked_history(self):
        rep = self.report()
        self.assertEqual((rep["to"], rep["as_of"], rep["cost_of_capital"]),
                         ("2026-12", "2026-12-31", "8"))
        t0 = self.tier(rep, "t0")
        self.assertEqual((t0["offered"], t0["taken"], t0["share"], t0["discounted"]),
                         (5, 2, 40.0, "30.00"))
        self.assertEqual((t0["avg_days_before_net"], t0["rate"], t0["days_to_net"],
                          t0["days_to_next"]), (21.0, "2", 20, 20))
        self.assertEqual(t0["apr_vs_net"], {"nominal": 37.24, "effective": 44.59,
                                            "above_cost_of_capital": True})
        self.assertEqual(t0["apr_vs_next"], t0["apr_vs_net"])
        self.assertEqual((t0["balance_rate"], t0["balance_rate_simple"]), ("0.4208", "0.4364"))
        self.assertEqual((t0["value_of_earlier_cash"], t0["net_effect"]), ("6.87", "-23.13"))
        net = self.tier(rep, "net")
        self.assertEqual((net["offered"], net["taken"], net["share"], net["discounted"],
                          net["avg_days_before_net"], net["value_of_earlier_cash"],
                          net["net_effect"], net["apr_vs_net"]),
                         (5, 3, 60.0, "0.00", 6.33, "2.72", "2.72", None))
        self.assertEqual(rep["net_effect"]["total"],
                         [{"currency": "CNY", "value_of_earlier_cash": "9.59",
                           "discounts": "30.00", "net_effect": "-20.41"}])
        self.assertEqual([(m["month"], m["tier"], m["value_of_earlier_cash"], m["discounts"],
                           m["net_effect"]) for m in rep["net_effect"]["by_month"]],
                         [("2026-11", "t0", "6.87", "30.00", "-23.13"),
                          ("2026-12", "net", "2.72", "0.00", "2.72")])
        a, b = self.cust(rep, "C-A"), self.cust(rep, "C-B")
        self.assertEqual((a["closed"], a["preferred_tier"], a["taken"], a["on_time_share"],
                          a["avg_days_before_net"], a["unearned_attempts"], a["implied_apr"]),
                         (2, "t0", 2, 100.0, 21.0, 0, None))
        nominal, effective = implied(0.02, 14)
        self.assertEqual((b["closed"], b["preferred_tier"], b["taken"], b["on_time_share"],
                          b["avg_days_before_net"], b["unearned_attempts"],
                          b["unearned_amount"], b["implied_apr"]),
                         (3, "net", 0, 66.67, 6.33, 1, {"CNY": "20.00"},
                          {"nominal": nominal, "effective": effective}))
        self.assertEqual((rep["never_take"], rep["always_take"]), (["C-B"], ["C-A"]))
        self.assertEqual(rep["dso"], [{"currency": "CNY", "receivables": "800.00", "days": 10.78,
                                       "status": "ok", "receivables_at_net": "500.00",
                                       "days_at_net": 6.74, "status_at_net": "ok",
                                       "months": 2}])
        # the recommendation over the 61 days of 2026-11..12: tier 0 costs
        # 30.00 - 6.87 = 23.13 more than its earlier cash is worth, 2313 x 365 / 61
        # = 13840.08 -> 138.40 a year; C-B pays at net (3 of 3) and claimed 20.00
        # unearned once; C-A takes tier 0 on both invoices (30.00 granted)
        self.assertEqual(rep["range_days"], 61)
        rec = rep["recommendations"]
        self.assertEqual([(x["kind"], x["terms"], x["tier"], x["customer"], x["amount"])
                          for x in rec],
                         [("tier_above_cost", T, "t0", None, "138.40"),
                          ("customer_pays_at_net", None, None, "C-B", "0.00"),
                          ("customer_takes_first_tier", None, None, "C-A", "30.00"),
                          ("customer_unearned", None, None, "C-B", "20.00")])
        self.assertEqual((rec[0]["rate"], rec[0]["balance_rate"], rec[0]["discounted"],
                          rec[0]["value_of_earlier_cash"], rec[0]["excess"],
                          rec[0]["per_year"]), ("2", "0.4208", "30.00", "6.87", "23.13",
                                                "138.40"))
        self.assertEqual((rec[1]["count"], rec[1]["closed"]), (3, 3))
        self.assertIn("138.40 a year", rec[0]["text"])
        self.assertIn("C-B paid 3 of 3 invoices at net", rec[1]["text"])
        self.assertEqual(self.cust(rep, "C-A")["discounted"], {"CNY": "30.00"})
        # per salesperson (SO-5 has none); no audit worker here: overrides not counted
        self.assertEqual([(p["salesperson"], p["closed"], p["taken"], p["share"],
                           p["discounted"], p["amount"], p["unearned_attempts"],
                           p["unearned_amount"], p["overrides"]) for p in rep["salespeople"]],
                         [(None, 1, 0, 0.0, {}, {"CNY": "500.00"}, 0, {}, None),
                          ("S-1", 2, 2, 100.0, {"CNY": "30.00"}, {"CNY": "1500.00"}, 0, {}, None),
                          ("S-2", 2, 0, 0.0, {}, {"CNY": "3000.00"}, 1, {"CNY": "20.00"},
                           None)])
        self.assertRegex(rep["overrides_not_counted"], r"^no audit log in this store")
        # November alone: only C-A's two closes in tier 0
        nov = self.st.ctl_json("report", "policy", "--from", "2026-11-01", "--to", "2026-11-30")
        self.assertEqual([(t["tier"], t["offered"], t["taken"]) for t in nov["tiers"]],
                         [("t0", 2, 2)])
        self.assertEqual([c["customer"] for c in nov["customers"]], ["C-A"])
        self.assertEqual([p["salesperson"] for p in nov["salespeople"]], ["S-1"])
        # the text table says the same
        text = self.st.ctl("report", "policy", "--to", "2026-12-31").stdout
        self.assertIn("37.24%", text)
        self.assertIn("-23.13", text)
        self.assertIn("10.78 days", text)
        self.assertIn("recommendations (over 61 days)", text)
        self.assertIn(rec[0]["text"], text)
        self.assertIn("\nper salesperson\n", text)
        self.assertIn("overrides not counted: no audit log in this store", text)

    def test_2_a_credit_note_then_a_payment_move_the_figures(self):
        self.send([credit("E20", "SO-4", "100.00", "2026-12-05")], "credit.jsonl")
        rep = self.report()
        # December's sales 2200.00, receivables 700.00: 31 x 700 / 2200
        self.assertEqual((rep["dso"][0]["receivables"], rep["dso"][0]["days"]), ("700.00", 9.86))
        self.assertEqual(self.tier(rep, "t0")["offered"], 5)
        # 2 % of 700.00 is 14.00: 686.00 on 12-11, tier 0, 20 days before net
        self.send([pay("E21", "SO-4", "686.00", "2026-12-11")], "pay.jsonl")
        rep = self.report()
        t0 = self.tier(rep, "t0")
        self.assertEqual((t0["offered"], t0["taken"], t0["share"], t0["discounted"],
                          t0["avg_days_before_net"]), (6, 3, 50.0, "44.00", 20.67))
        # + 686.00 x 20 = 13720.00 day-yuan: 45080.00 worth 9.88 in tier 0
        self.assertEqual(t0["value_of_earlier_cash"], "9.88")
        self.assertEqual(self.tier(rep, "net")["offered"], 6)
        b = self.cust(rep, "C-B")
        self.assertEqual((b["closed"], b["taken"], b["preferred_tier"]), (4, 1, "net"))
        self.assertEqual((rep["never_take"], rep["always_take"]), ([], ["C-A"]))
        s2 = next(p for p in rep["salespeople"] if p["salesperson"] == "S-2")
        self.assertEqual((s2["closed"], s2["taken"], s2["share"], s2["discounted"],
                          s2["amount"]), (3, 1, 33.33, {"CNY": "14.00"}, {"CNY": "3700.00"}))
        self.assertEqual((rep["dso"][0]["receivables"], rep["dso"][0]["days"],
                          rep["dso"][0]["status"]), ("0.00", 0.0, "ok"))

    def test_3_the_rebuild_gives_the_live_report(self):
        live = self.report()
        self.st.stop("discount-1")
        # as if stored before the counters existed
        for s in range(16):
            self.st.redis_cli("DEL", "sk:{s%d}:pol" % s, "sk:{s%d}:pcust" % s,
                              "sk:{s%d}:psp" % s)
        self.st.redis_cli("DEL", "sk:{sys}:pbackfill")
        empty = self.report()
        self.assertEqual((empty["tiers"], empty["salespeople"]), ([], []))
        self.st.start_discount("discount-2")
        wait_for(lambda: "policy counters rebuilt from 6 invoices" in self.st.log("discount-2"),
                 what="the rebuild")
        self.assertEqual(self.st.redis_cli("GET", "sk:{sys}:pbackfill"), "2")
        self.assertEqual(self.report(), live)
        # a later start does not rebuild
        self.st.stop("discount-2")
        self.st.start_discount("discount-3")
        wait_for(lambda: "discount-3" in self.st.redis_cli("HKEYS", "sk:{sys}:hb"),
                 what="discount-3's heartbeat")
        self.assertNotIn("rebuilt", self.st.log("discount-3"))
        self.assertEqual(self.report(), live)

    def test_4_end_of_month_terms_weigh_each_invoices_days(self):
        # 2/10,n/30eom: net is 30 days after the end of the shipping month, so
        # the days bought differ per invoice. 1000.00 shipped 11-02 (tier 0 to
        # 11-12, net 12-30: 48 days), 500.00 shipped 11-16 (11-26: 34 days),
        # both paid in tier 0. Per invoice, 2 % for 48 days: 2/98 x 365/48 =
        # 15.52 % nominal, (1/0.98)^(365/48) - 1 = 16.61 % effective, balance at
        # 8 % 1 - 1.08^(-48/365) = 1.0070 %; for 34 days 21.91 %, 24.22 %, 0.7143 %.
        # Weighted by amount 2:1: (2 x 15.52 + 21.91) / 3 = 17.65 %,
        # (2 x 16.61 + 24.22) / 3 = 19.15 %, (2 x 1.0070 + 0.7143) / 3 = 0.9094 %;
        # at the mean 43 days (kept as days_to_net) it would be 17.32 %.
        eom = "2/10,n/30eom"
        self.send([line(type="customer", event_id="E30", customer_id="C-E", name="E",
                        terms=eom),
                   line(type="order_shipped", event_id="E31", order_id="SO-31",
                        customer_id="C-E", currency="CNY", amount="1000.00",
                        ship_date="2026-11-02", terms=eom),
                   pay("E32", "SO-31", "980.00", "2026-11-10"),
                   line(type="order_shipped", event_id="E33", order_id="SO-32",
                        customer_id="C-E", currency="CNY", amount="500.00",
                        ship_date="2026-11-16", terms=eom),
                   pay("E34", "SO-32", "490.00", "2026-11-26")], "eom.jsonl")
        rep = self.report()
        t0 = next(t for t in rep["tiers"] if t["terms"] == eom and t["tier"] == "t0")
        self.assertEqual((t0["taken"], t0["rate"], t0["days_to_net"], t0["days_to_next"]),
                         (2, "2", 43, 43))
        self.assertEqual(t0["apr_vs_net"], {"nominal": 17.65, "effective": 19.15,
                                            "above_cost_of_capital": True})
        self.assertEqual(t0["apr_vs_next"], t0["apr_vs_net"])
        self.assertEqual(t0["balance_rate"], "0.9094")

    def test_5_currencies_listed_in_one_order(self):
        # one salesperson's discounts in three currencies, sent USD, EUR, CNY:
        # every output lists them by code, whatever order Redis returns them in
        lines = [line(type="customer", event_id="E40", customer_id="C-M", name="M", terms=T)]
        for i, cur in enumerate(["USD", "EUR", "CNY"]):
            lines.append(line(type="order_shipped", event_id="E4%d" % (2 * i + 1),
                              order_id="SO-4%d" % i, customer_id="C-M", currency=cur,
                              amount="100.00", ship_date="2026-11-02", terms=T,
                              salesperson="S-9"))
            lines.append(pay("E4%d" % (2 * i + 2), "SO-4%d" % i, "98.00", "2026-11-10"))
        self.send(lines, "currencies.jsonl")
        rep = self.report()
        sp = next(p for p in rep["salespeople"] if p["salesperson"] == "S-9")
        self.assertEqual(list(sp["discounted"].items()),
                         [("CNY", "2.00"), ("EUR", "2.00"), ("USD", "2.00")])
        self.assertEqual(list(sp["amount"]), ["CNY", "EUR", "USD"])
        self.assertEqual(list(self.cust(rep, "C-M")["discounted"]), ["CNY", "EUR", "USD"])
        text = self.st.ctl("report", "policy").stdout
        row = next(x for x in text.splitlines() if x.startswith("S-9 "))
        self.assertIn("2.00 CNY, 2.00 EUR, 2.00 USD", row)

    def test_6_malformed_counter_fields_are_skipped_and_counted(self):
        before = self.report()
        bad = ["2026-11|zz|bob", "2026-11|n.EUR|bob", "2026-11|dc.XXX|bob", "2026-11|dc|bob"]
        for f in bad:
            self.st.redis_cli("HSET", "sk:{s0}:psp", f, "1")
        try:
            rep = self.report()
        finally:
            self.st.redis_cli("HDEL", "sk:{s0}:psp", *bad)
        self.assertEqual(rep["skipped_fields"], before["skipped_fields"] + len(bad))
        self.assertNotIn("bob", [p["salesperson"] for p in rep["salespeople"]])
        self.assertEqual(rep["salespeople"], before["salespeople"])

    def test_usage_errors(self):
        r = self.st.ctl("report", "policy", "--cost-of-capital", "120", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("cost of capital", r.stderr)
        r = self.st.ctl("report", "policy", "--from", "2026-12-01", "--to", "2026-11-01",
                        check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("before --from", r.stderr)
        h = self.st.ctl("report", "policy", "--help").stdout
        self.assertIn("Not computed", h)


def day(d, n):
    return (datetime.date.fromisoformat(d) + datetime.timedelta(days=n)).isoformat()


def generated():
    """Three salespeople on 2/10,n/30 (CNY), one payment behaviour each:
      S-1       10 x 1000.00 paid 980.00 5 days after shipping: all in tier 0,
                200.00 discount on 10000.00;
      S-2|EAST  8 x 500.00 (an id with a '|'): 6 paid 500.00 on day 25 (net),
                2 paid 490.00 "full" on day 15 (after the window: 10.00 unearned
                each), the 10.00 on day 20: none taken, 2 attempts, 20.00;
      S-3       5 x 200.00: 3 paid 196.00 on day 3 (tier 0, 4.00 each), 2 paid
                200.00 on day 30 (net): 60 %, 12.00 discount on 1000.00;
                and SO-X1, SO-X2 shipped 2027-01-10, open, for the overrides;
      none      1 x 300.00 paid on day 30.
    All shipped from 2026-11-02, one a day."""
    out, n = [], [0]

    def eid():
        n[0] += 1
        return "G%d" % n[0]

    for c in ("C-G1", "C-G2", "C-G3"):
        out.append(line(type="customer", event_id=eid(), customer_id=c, name=c, terms=T))
    ship0 = "2026-11-02"
    for i in range(10):
        o, ship = "SO-A%d" % i, day(ship0, i)
        out += [order(eid(), o, "C-G1", "1000.00", ship, "S-1"),
                pay(eid(), o, "980.00", day(ship, 5))]
    for i in range(8):
        o, ship = "SO-B%d" % i, day(ship0, i)
        out.append(order(eid(), o, "C-G2", "500.00", ship, "S-2|EAST"))
        if i < 6:
            out.append(pay(eid(), o, "500.00", day(ship, 25)))
        else:
            out += [pay(eid(), o, "490.00", day(ship, 15)),
                    pay(eid(), o, "10.00", day(ship, 20), full=False)]
    for i in range(5):
        o, ship = "SO-C%d" % i, day(ship0, i)
        out.append(order(eid(), o, "C-G3", "200.00", ship, "S-3"))
        out.append(pay(eid(), o, "196.00", day(ship, 3)) if i < 3
                   else pay(eid(), o, "200.00", day(ship, 30)))
    out += [order(eid(), "SO-N0", "C-G3", "300.00", ship0),
            pay(eid(), "SO-N0", "300.00", day(ship0, 30))]
    for o in ("SO-X1", "SO-X2"):
        out.append(order(eid(), o, "C-G3", "200.00", "2027-01-10", "S-3"))
    return out


def figures(rep):
    return {p["salesperson"]: (p["closed"], p["taken"], p["share"], p["discounted"],
                               p["amount"], p["unearned_attempts"], p["unearned_amount"],
                               p["overrides"]) for p in rep["salespeople"]}


@unittest.skipUnless(os.path.exists(AUDIT), "no skonto-audit built")
class PerSalesperson(PolicyStack):
    @classmethod
    def start(cls, st):
        cls.keys = st.audit_setup([(u, u, r) for u, r in (
            ("erp.bot", "erp"), ("sam", "sales"), ("dora", "sales_director"))])
        st.env.update({"SKONTO_AUDIT_ENDPOINT": st.audit_endpoint,
                       "SKONTO_AUDIT_SERVER_KEY": st.audit_server_pub,
                       "SKONTO_INGEST_SERVER_KEY": st.audit_server_pub})
        # ingest shares the audit worker's server key and registry (the erp key sends)
        st.start_ingest(env={
            "SKONTO_INGEST_SECRET_KEY_FILE": st.audit_env["SKONTO_AUDIT_SECRET_KEY_FILE"],
            "SKONTO_AUTHORIZED_KEYS": st.audit_env["SKONTO_AUTHORIZED_KEYS"]})
        st.start_discount("discount-1")
        st.start_audit(env={"SKONTO_OVERRIDE_FINANCE_ABOVE": "CNY:1000.00"})
        cls.as_user("erp.bot")
        cls.send(generated(), "generated.jsonl")

    @classmethod
    def as_user(cls, user):
        cls.st.env["SKONTO_CURVE_KEY_FILE"] = cls.keys[user]

    def override(self, order, decision):
        """sam asks to extend tier 0 of order; dora approves or rejects it."""
        rev = self.st.ctl_json("order", "show", order)["revision"]
        self.as_user("sam")
        j = self.st.ctl_json("override", "request", order, "--rev", rev, "--extend",
                             "t0:2027-01-25", "--reason", "the customer's bank was closed")
        oid = j["overrides"][0]["id"]
        self.as_user("dora")
        j = self.st.ctl_json("override", decision, oid, "--comment", "checked")
        return j["overrides"][0]

    def test_1_shares_discounts_unearned_and_overrides(self):
        self.assertEqual(self.override("SO-X1", "reject")["status"], "rejected")
        self.assertIn(self.override("SO-X2", "approve")["status"], ("approved", "applied"))
        rep = self.st.ctl_json("report", "policy")
        self.assertIsNone(rep["overrides_not_counted"])
        none = {"requested": 0, "approved": 0, "refused": 0}
        self.assertEqual(figures(rep), {
            None: (1, 0, 0.0, {}, {"CNY": "300.00"}, 0, {}, none),
            "S-1": (10, 10, 100.0, {"CNY": "200.00"}, {"CNY": "10000.00"}, 0, {}, none),
            "S-2|EAST": (8, 0, 0.0, {}, {"CNY": "4000.00"}, 2, {"CNY": "20.00"}, none),
            # the requests were sam's, for S-3's invoices: counted for S-3
            "S-3": (5, 3, 60.0, {"CNY": "12.00"}, {"CNY": "1000.00"}, 0, {},
                    {"requested": 2, "approved": 1, "refused": 1})})
        self.assertEqual([p["salesperson"] for p in rep["salespeople"]],
                         [None, "S-1", "S-2|EAST", "S-3"])
        # the overrides were requested in January: not in a range that ends in December
        dec = self.st.ctl_json("report", "policy", "--to", "2026-12-31")
        self.assertEqual(figures(dec)["S-3"][7], none)
        text = self.st.ctl("report", "policy").stdout
        self.assertIn("per salesperson", text)
        self.assertRegex(text, r"\nS-3 +5 +3 +60\.00%")
        self.assertNotIn("overrides not counted", text)

    def test_3_audit_keys_it_may_not_read(self):
        # a reader allowed the counters but not the audit worker's keys: the
        # report still answers, overrides null, and says why in one line
        pw = os.path.join(self.st.dir, "noaudit.pw")
        with open(pw, "w") as f:
            f.write("noaudit-secret\n")
        self.st.redis_cli("ACL", "SETUSER", "noaudit", "on", ">noaudit-secret", "resetkeys",
                          "~sk:{s*}:*", "-@all", "+@read", "-@dangerous", "+ping")
        env = dict(self.st.env)
        self.st.env.update({"SKONTO_REDIS_USER": "noaudit", "SKONTO_REDIS_PASSWORD_FILE": pw})
        try:
            rep = self.st.ctl_json("report", "policy")
            text = self.st.ctl("report", "policy").stdout
        finally:
            self.st.env = env
        self.assertRegex(rep["overrides_not_counted"], r"^Redis EXISTS sk:\{audit\}:ovr: NOPERM")
        self.assertEqual({p["salesperson"]: p["overrides"] for p in rep["salespeople"]},
                         {None: None, "S-1": None, "S-2|EAST": None, "S-3": None})
        self.assertEqual(figures(rep)["S-3"][:7], figures(self.st.ctl_json("report", "policy"))
                         ["S-3"][:7])
        self.assertEqual(text.count("overrides not counted: Redis EXISTS"), 1)

    def test_2_a_store_rebuilt_before_psp_is_rebuilt(self):
        live = self.st.ctl_json("report", "policy")
        self.st.stop("discount-1")
        # a store whose counters were rebuilt by a worker of before sk:{sN}:psp
        # (marker "1"): the counters stay, the next start empties and recounts
        self.st.redis_cli("SET", "sk:{sys}:pbackfill", "1")
        self.st.start_discount("discount-2")
        wait_for(lambda: "policy counters rebuilt from 26 invoices" in self.st.log("discount-2"),
                 what="the rebuild")
        self.assertEqual(self.st.redis_cli("GET", "sk:{sys}:pbackfill"), "2")
        self.assertEqual(self.st.ctl_json("report", "policy"), live)


if __name__ == "__main__":
    unittest.main()
