"""skontoctl's server verbs: send, order show, customer show, forecast, status, dlq list.

Two groups:
  * Seeded: a real redis-server only; the keys are written by hand (invoices
    in the hash layout of before issue 7, which skontoctl still reads), so each
    verb is checked against figures worked out by hand, independently of the
    workers.
  * EndToEnd: redis-server, skonto-ingest and skonto-discount; events go in
    through `skontoctl send` and come out through the other verbs.

The hand-worked invoice (the seed's terms): 2/0,1/10,0.5/30,n/60 on 1130.00
CNY shipped 2026-11-02 (a Monday).
  tier 0: 2 %   last day 2026-11-02, discount 22.60, payable 1107.40
  tier 1: 1 %   last day 2026-11-12, discount 11.30, payable 1118.70
  tier 2: 0.5 % last day 2026-12-02, discount  5.65, payable 1124.35
  net due 2027-01-01.
A payment of 1118.70 declared full on 2026-11-10 falls in tier 1: discount
11.30, settles 1130.00, balance 0.00.
"""
import datetime
import json
import os
import subprocess
import time
import unittest

import skproto
from harness import Stack, wait_for

SEED_TERMS = "2/0,1/10,0.5/30,n/60"


def day(s):
    """YYYY-MM-DD -> day number (days since 1970-01-01), as Redis stores it."""
    return (datetime.date.fromisoformat(s) - datetime.date(1970, 1, 1)).days


def fnv_shard(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % 16


def seed_invoice(st, oid, cid, *, cur="CNY", amt=113000, tax=13000, bal=113000,
                 base="2026-11-02", net="2027-01-01", terms=SEED_TERMS,
                 tiers=((20000, "2026-11-02", 2260), (10000, "2026-11-12", 1130),
                        (5000, "2026-12-02", 565)),
                 pays=(), status="open", disc=0, sp="S-7", ver=1, open_index=True):
    """Writes an invoice hash, its order-index entry and (if open) the customer's
    open-invoice zset entry, by hand, in the invoice layout of before issue 7
    (README, "Migration"), which skontoctl reads until the discount worker has
    migrated it; EndToEnd and test_migrate.py cover the packed layout."""
    n = fnv_shard(cid)
    fields = {
        "c": cid, "sp": sp, "cur": cur, "amt": amt, "tax": tax, "bal": bal, "base": base,
        "terms": terms, "net": net, "st": status, "ver": ver, "rev": 1,
        "tiers": ";".join("%d:%d:%d" % (r, day(d), x) for r, d, x in tiers),
    }
    if pays:
        fields["pays"] = ";".join(pays)
    if disc:
        fields["disc"] = disc
    args = []
    for k, v in fields.items():
        args += [k, v]
    st.redis_cli("HSET", "sk:{s%d}:inv:%s" % (n, oid), *args)
    st.redis_cli("HSET", "sk:{o%d}:o2c" % fnv_shard(oid), oid, "%s\t%s" % (cid, cur))
    if open_index and status == "open":
        st.redis_cli("ZADD", "sk:{s%d}:copen:%s" % (n, cid), day(net), oid)


def line(**kw):
    return json.dumps(kw)


def order_line(eid, oid, cid="C-1", cur="CNY", amount="1130.00", **kw):
    return line(type="order_shipped", event_id=eid, order_id=oid, customer_id=cid, currency=cur,
                amount=amount, ship_date="2026-11-02", **kw)


def payment_line(eid, oid, amount, **kw):
    return line(type="payment_received", event_id=eid, order_id=oid, paid_on="2026-11-10",
                amount=amount, **kw)


def seed_customer(st, cid, **fields):
    args = []
    for k, v in fields.items():
        args += [k, v]
    st.redis_cli("HSET", "sk:{s%d}:cust:%s" % (fnv_shard(cid), cid), *args)


class Seeded(unittest.TestCase):
    """Redis only; keys written by hand."""

    @classmethod
    def setUpClass(cls):
        cls.st = Stack()
        cls.st.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def setUp(self):
        self.st.redis_cli("FLUSHALL")

    def ctl(self, *args, **kw):
        return self.st.ctl(*args, **kw)

    # ---- order show
    def test_order_show_paid_in_tier_two(self):
        seed_invoice(self.st, "SO-1", "C-1", bal=0, status="paid", disc=1130,
                     pays=("%d:111870:1:1130:113000:0:0:1" % day("2026-11-10"),))
        o = self.st.ctl_json("order", "show", "SO-1")
        self.assertEqual([(t["tier"], t["rate"], t["last_day"], t["discount"], t["payable"])
                          for t in o["tiers"]],
                         [(0, "2", "2026-11-02", "22.60", "1107.40"),
                          (1, "1", "2026-11-12", "11.30", "1118.70"),
                          (2, "0.5", "2026-12-02", "5.65", "1124.35")])
        self.assertEqual(o["net_due"], "2027-01-01")
        self.assertEqual(o["payments"], [{
            "date": "2026-11-10", "paid": "1118.70", "full": True, "tier": 1, "rate": "1",
            "discount": "11.30", "settled": "1130.00", "unearned_discount": "0.00",
            "overpaid": "0.00"}])
        self.assertEqual((o["discount_earned"], o["unearned_discount"], o["credited"],
                          o["balance"]), ("11.30", "0.00", "0.00", "0.00"))
        self.assertEqual((o["status"], o["customer_id"], o["salesperson"], o["currency"],
                          o["amount"], o["tax"], o["terms"], o["version"]),
                         ("paid", "C-1", "S-7", "CNY", "1130.00", "130.00", SEED_TERMS, 1))
        # The annual rate of the 2/10 style tiers vs net, as skontoctl quote shows it.
        self.assertEqual(o["tiers"][0]["apr_vs_net"], 12.41)

    def test_order_show_table(self):
        seed_invoice(self.st, "SO-1", "C-1")
        r = self.ctl("order", "show", "SO-1")
        self.assertEqual(r.stderr, "")
        out = r.stdout
        self.assertIn("order SO-1", out)
        self.assertIn("1130.00 CNY", out)
        rows = [l.split() for l in out.splitlines()]
        self.assertIn(["2", "1%", "2026-11-12", "Thu", "11.30", "1118.70", "7.37%", "9.22%"], rows)
        self.assertIn("status open", out)
        self.assertIn("no payments yet", out)
        self.assertIn("balance 1130.00 CNY", out)

    def test_order_unknown(self):
        r = self.ctl("order", "show", "SO-9", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.strip().splitlines(), ["skontoctl order: order SO-9 not found"])

    def test_order_accepted_not_yet_scheduled(self):
        self.st.redis_cli("HSET", "sk:{o%d}:o2c" % fnv_shard("SO-2"), "SO-2", "C-1\tCNY")
        r = self.ctl("order", "show", "SO-2", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no schedule yet", r.stderr)

    def test_order_usage(self):
        for args in (["order"], ["order", "show"], ["order", "list"], ["order", "show", "A", "B"],
                     ["order", "show", "x" * 65], ["order", "show", "SO-1", "--bogus"]):
            r = self.ctl(*args, check=False)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))
        r = self.ctl("order", "--help")
        self.assertIn("usage: skontoctl order show ORDER_ID", r.stdout)

    # ---- customer show
    def test_customer_show_remaining_windows(self):
        seed_customer(self.st, "C-1", name="Acme", email="ap@example.com", tz="Asia/Shanghai",
                      locale="zh-CN", statement="weekly", terms=SEED_TERMS)
        seed_invoice(self.st, "SO-1", "C-1")
        # Shipped 2026-09-01 with 2/10,n/30: every window closed by 2026-11-05.
        seed_invoice(self.st, "SO-2", "C-1", amt=50000, tax=0, bal=50000, base="2026-09-01",
                     net="2026-10-01", terms="2/10,n/30", tiers=((20000, "2026-09-11", 1000),))
        # A paid invoice is not open.
        seed_invoice(self.st, "SO-3", "C-1", bal=0, status="paid", disc=1130,
                     pays=("%d:111870:1:1130:113000:0:0:1" % day("2026-11-10"),))
        self.st.redis_cli("HSET", "sk:{s%d}:hist:C-1" % fnv_shard("C-1"), "t1", 3, "net", 1, "n", 4)
        c = self.st.ctl_json("customer", "show", "C-1", "--today", "2026-11-05")
        self.assertEqual((c["name"], c["email"], c["statement"], c["terms"], c["today"]),
                         ("Acme", "ap@example.com", "weekly", SEED_TERMS, "2026-11-05"))
        invs = {i["order_id"]: i for i in c["invoices"]}
        self.assertEqual(sorted(invs), ["SO-1", "SO-2"])
        # Tier 0 (cash, 2026-11-02) has closed; tiers 1 and 2 remain.
        self.assertEqual([(w["tier"], w["rate"], w["last_day"], w["days_left"], w["pay"],
                           w["saves"]) for w in invs["SO-1"]["windows"]],
                         [(1, "1", "2026-11-12", 7, "1118.70", "11.30"),
                          (2, "0.5", "2026-12-02", 27, "1124.35", "5.65")])
        self.assertEqual(invs["SO-1"]["balance"], "1130.00")
        self.assertFalse(invs["SO-1"]["overdue"])
        self.assertEqual(invs["SO-2"]["windows"], [])
        self.assertTrue(invs["SO-2"]["overdue"])
        self.assertEqual(c["totals"], [{"currency": "CNY", "invoices": 2, "balance": "1630.00",
                                        "saves_next": "11.30"}])
        self.assertEqual(c["history"], {"invoices_closed": 4,
                                        "tiers": [{"tier": 0, "count": 0},
                                                  {"tier": 1, "count": 3}],
                                        "after_windows": 1})
        # On the window's last day it is still open; the day after it is gone.
        c = self.st.ctl_json("customer", "show", "C-1", "--today", "2026-11-12")
        w = [i for i in c["invoices"] if i["order_id"] == "SO-1"][0]["windows"]
        self.assertEqual([x["tier"] for x in w], [1, 2])
        env = dict(self.st.env, SKONTO_TODAY="2026-11-13")
        r = subprocess.run([os.path.join(self.st.bin, "skontoctl"), "customer", "show", "C-1",
                            "--json"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        w = [i for i in json.loads(r.stdout)["invoices"] if i["order_id"] == "SO-1"][0]["windows"]
        self.assertEqual([x["tier"] for x in w], [2])

    def test_customer_partly_paid_saves_on_balance(self):
        seed_customer(self.st, "C-2", name="Beta")
        # 551.35 paid inside tier 0 on 2026-11-02 settles 562.60 (551.35 / 0.98),
        # leaving 567.40; in tier 1 the rest costs 567.40 - 5.67 (1 % half-up) = 561.73.
        seed_invoice(self.st, "SO-5", "C-2", bal=56740, disc=1125,
                     pays=("%d:55135:0:1125:56260:0:0:0" % day("2026-11-02"),))
        c = self.st.ctl_json("customer", "show", "C-2", "--today", "2026-11-03")
        w = c["invoices"][0]["windows"]
        self.assertEqual((w[0]["tier"], w[0]["pay"], w[0]["saves"]), (1, "561.73", "5.67"))

    def test_customer_table(self):
        seed_customer(self.st, "C-1", name="Acme", email="ap@example.com", terms=SEED_TERMS,
                      statement="weekly")
        seed_invoice(self.st, "SO-1", "C-1")
        r = self.ctl("customer", "show", "C-1", "--today", "2026-11-05")
        rows = [l.split() for l in r.stdout.splitlines()]
        self.assertIn(["2", "1%", "2026-11-12", "Thu", "7", "1118.70", "11.30"], rows)
        self.assertIn(["net", "2027-01-01", "Fri", "57", "1130.00", "0.00"], rows)
        self.assertIn("saves 11.30 CNY", r.stdout)

    def test_customer_unknown_and_usage(self):
        r = self.ctl("customer", "show", "C-404", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "skontoctl customer: customer C-404 not found")
        r = self.ctl("customer", "show", "C-1", "--today", "2026-02-30", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--today", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    # ---- forecast
    def seed_forecast(self):
        # Two shards, two currencies; 2026-11-02 is a Monday, 2026-11-09 the next.
        self.st.redis_cli("HSET", "sk:{s0}:fc:hist", "2026-11-02|CNY", 110740,
                          "2026-11-12|CNY", 50000, "2026-11-03|USD", 990)
        self.st.redis_cli("HSET", "sk:{s7}:fc:hist", "2026-11-02|CNY", 1000,
                          "2027-01-01|CNY", 20000)
        self.st.redis_cli("HSET", "sk:{s0}:fc:net", "2027-01-01|CNY", 113000,
                          "2026-12-03|USD", 1000)
        self.st.redis_cli("HSET", "sk:{s7}:fc:net", "2026-11-12|CNY", 70000,
                          "2027-01-01|CNY", 1000)

    def test_forecast_by_day(self):
        self.seed_forecast()
        f = self.st.ctl_json("forecast")
        self.assertEqual(f["by"], "day")
        cur = {c["currency"]: c for c in f["currencies"]}
        self.assertEqual(sorted(cur), ["CNY", "USD"])
        cny = cur["CNY"]
        self.assertEqual([(r["date"], r["by_history"], r["at_net"], r["difference"])
                          for r in cny["rows"]],
                         [("2026-11-02", "1117.40", "0.00", "1117.40"),
                          ("2026-11-12", "500.00", "700.00", "-200.00"),
                          ("2027-01-01", "200.00", "1140.00", "-940.00")])
        self.assertEqual([r["cum_difference"] for r in cny["rows"]],
                         ["1117.40", "917.40", "-22.60"])
        self.assertEqual(cny["total"], {"by_history": "1817.40", "at_net": "1840.00",
                                        "difference": "-22.60"})
        self.assertEqual(cur["USD"]["total"], {"by_history": "9.90", "at_net": "10.00",
                                               "difference": "-0.10"})

    def test_forecast_by_week_range_currency(self):
        self.seed_forecast()
        f = self.st.ctl_json("forecast", "--by", "week", "--currency", "CNY",
                             "--from", "2026-11-03", "--to", "2026-12-31")
        self.assertEqual([c["currency"] for c in f["currencies"]], ["CNY"])
        # Only 2026-11-12 (week of Monday 2026-11-09) is inside the range.
        self.assertEqual([(r["date"], r["by_history"], r["at_net"])
                          for r in f["currencies"][0]["rows"]],
                         [("2026-11-09", "500.00", "700.00")])
        f = self.st.ctl_json("forecast", "--by", "week")
        weeks = [r["date"] for r in f["currencies"][0]["rows"]]
        self.assertEqual(weeks, ["2026-11-02", "2026-11-09", "2026-12-28"])

    def test_forecast_table_and_usage(self):
        self.seed_forecast()
        r = self.ctl("forecast", "--currency", "CNY")
        self.assertIn("total CNY: by history 1817.40, at net 1840.00, difference -22.60",
                      r.stdout.splitlines())
        rows = [l.split() for l in r.stdout.splitlines()]
        self.assertIn(["2026-11-12", "Thu", "500.00", "700.00", "-200.00", "1617.40", "700.00",
                       "917.40"], rows)
        for args in (["forecast", "--by", "month"], ["forecast", "--from", "2026-13-01"],
                     ["forecast", "--currency", "XXX"],
                     ["forecast", "--from", "2026-12-01", "--to", "2026-11-01"]):
            r = self.ctl(*args, check=False)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.st.redis_cli("FLUSHALL")
        self.assertIn("no expected receivables", self.ctl("forecast").stdout)

    # ---- status
    def test_status(self):
        now = int(time.time() * 1000)
        self.st.redis_cli("HSET", "sk:{sys}:hb",
                          "ingest", json.dumps({"pid": 11, "role": "ingest", "at_ms": now,
                                                "processed": 7, "errors": 1}),
                          "discount-1", json.dumps({"pid": 12, "role": "discount",
                                                    "at_ms": now - 60000, "processed": 5,
                                                    "errors": 0}))
        self.st.redis_cli("XADD", "sk:{s3}:events", "*", "e", "x")
        self.st.redis_cli("XADD", "sk:{s3}:events", "*", "e", "y")
        self.st.redis_cli("XADD", "sk:{s9}:events", "*", "e", "z")
        self.st.redis_cli("XGROUP", "CREATE", "sk:{s3}:events", "discount", "0")
        self.st.redis_cli("XREADGROUP", "GROUP", "discount", "w", "COUNT", "1", "STREAMS",
                          "sk:{s3}:events", ">")
        self.st.redis_cli("LPUSH", "sk:{sys}:dlq", "{}", "{}")
        self.st.redis_cli("HSET", "sk:{sys}:ingest", "accepted", 7, "duplicate", 2, "rejected", 2)
        self.st.redis_cli("HSET", "sk:{sys}:gaps", "erp-pub", 3)
        s = self.st.ctl_json("status")
        w = {x["name"]: x for x in s["workers"]}
        self.assertFalse(w["ingest"]["stale"])
        self.assertTrue(w["discount-1"]["stale"])
        self.assertEqual((w["ingest"]["pid"], w["ingest"]["processed"], w["ingest"]["errors"]),
                         (11, 7, 1))
        self.assertGreaterEqual(w["discount-1"]["age_s"], 59)
        self.assertEqual(s["queue"], {"waiting": 3, "pending": 1})
        self.assertEqual(s["dead_letters"], 2)
        self.assertEqual(s["ingest"], {"accepted": 7, "duplicate": 2, "rejected": 2})
        self.assertEqual(s["gaps"], {"erp-pub": 3})
        out = self.ctl("status").stdout
        self.assertIn("STALE", [l.split()[-1] for l in out.splitlines() if l.startswith("discount-1")])
        self.assertIn("erp-pub: 3 missing", out)

    # ---- dlq list
    def test_dlq_list(self):
        old = json.dumps({"at_ms": 1790000000000, "event_id": "E1", "source": "erp",
                          "reason_code": "bad_terms", "message": "terms: tier 2 ...",
                          "payload_b64": ""})
        new = json.dumps({"at_ms": 1790000001000, "event_id": "E2", "source": "erp",
                          "reason_code": "unknown_order", "message": "order SO-9 is unknown",
                          "payload_b64": "AA=="})
        self.st.redis_cli("LPUSH", "sk:{sys}:dlq", old, "not json\nat all", new)
        d = self.st.ctl_json("dlq", "list")
        self.assertEqual(d["total"], 3)
        self.assertEqual([(x["event_id"], x["reason_code"]) for x in d["dead_letters"]],
                         [("E2", "unknown_order"), ("", "?"), ("E1", "bad_terms")])
        self.assertEqual(d["dead_letters"][0]["at"], "2026-09-21 14:13:21")
        d = self.st.ctl_json("dlq", "list", "--limit", "1")
        self.assertEqual([x["event_id"] for x in d["dead_letters"]], ["E2"])
        out = self.ctl("dlq", "list", "--limit", "2").stdout
        self.assertIn("unknown_order", out)
        self.assertIn("not json at all", out)
        self.assertIn("2 newest of 3", out)
        self.assertEqual(self.ctl("dlq", "list", "--limit", "0", check=False).returncode, 2)
        self.assertEqual(self.ctl("dlq", check=False).returncode, 2)

    # ---- Redis unreachable: one line, exit 1, for every verb
    def test_redis_down(self):
        env = dict(self.st.env, SKONTO_REDIS_URL="unix://" + os.path.join(self.st.dir, "nope.sock"))
        for args in (["order", "show", "SO-1"], ["customer", "show", "C-1"], ["forecast"],
                     ["status"], ["dlq", "list"]):
            r = subprocess.run([os.path.join(self.st.bin, "skontoctl"), *args], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, args)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("cannot connect to Redis at unix://", lines[0])


# ---------------------------------------------------------------- end to end: ingest + discount

# File A: everything an ERP sends, with a repeated line, a line ingest rejects
# and a line skontoctl rejects before sending.
FILE_A = "\n".join([
    line(type="customer", event_id="E1", customer_id="C-1", name="Acme", email="ap@example.com",
         timezone="Asia/Shanghai", locale="zh-CN", statement="weekly", terms=SEED_TERMS),
    line(type="customer", event_id="E2", customer_id="C-2", name="Beta", email="ar@beta.example",
         statement="daily", terms="2/10,n/30"),
    line(type="order_shipped", event_id="E3", order_id="SO-1", customer_id="C-1",
         salesperson="S-7", currency="CNY", amount="1130.00", tax="130.00",
         ship_date="2026-11-02", invoice_date="2026-11-03", terms=SEED_TERMS),
    line(type="payment_received", event_id="E4", order_id="SO-1", paid_on="2026-11-10",
         amount="1118.70", full=True),
    # C-2's terms 2/10,n/30: 2 % to 2026-11-30, net 2026-12-20.
    line(type="order_shipped", event_id="E5", order_id="SO-2", customer_id="C-2",
         currency="CNY", amount="500.00", ship_date="2026-11-20"),
    line(type="credit_note", event_id="E6", order_id="SO-2", issued_on="2026-11-21",
         amount="100.00"),
    line(type="order_shipped", event_id="E7", order_id="SO-3", customer_id="C-2",
         currency="CNY", amount="200.00", ship_date="2026-11-05"),
    line(type="order_cancelled", event_id="E8", order_id="SO-3", reason="customer cancelled"),
    line(type="order_shipped", event_id="E5", order_id="SO-2", customer_id="C-2",
         currency="CNY", amount="500.00", ship_date="2026-11-20"),          # line 9: repeated
    "# rates must decrease: ingest rejects the next line",
    line(type="order_shipped", event_id="E9", order_id="SO-4", customer_id="C-1",
         currency="CNY", amount="10.00", ship_date="2026-11-02", terms="1/10,2/20,n/30"),
    line(type="order_shipped", event_id="E10", order_id="SO-5", customer_id="C-1",
         currency="CNY", amount="abc", ship_date="2026-11-02"),              # line 12
]) + "\n"

# File B, sent once A is applied: C-1 has paid one invoice in tier 1, so its
# history puts SO-6 in tier 1 (2026-11-30, 300.00 - 1 % = 297.00).
FILE_B = line(type="order_shipped", event_id="E11", order_id="SO-6", customer_id="C-1",
              salesperson="S-7", currency="CNY", amount="300.00", ship_date="2026-11-20") + "\n"


class EndToEnd(unittest.TestCase):
    """Events in through skontoctl send, results out through the other verbs."""

    @classmethod
    def setUpClass(cls):
        cls.st = st = Stack()
        st.__enter__()
        try:
            st.start_ingest()
            st.start_discount("discount-1")
            cls.first = cls.send(FILE_A, "a.jsonl")
            cls.drain()
            cls.second = cls.send(FILE_B, "b.jsonl")
            cls.drain()
            cls.again = cls.send(FILE_A, "a.jsonl", "--json")  # everything once more
            cls.drain()
        except BaseException:
            st.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    @classmethod
    def send(cls, text, name, *args):
        path = os.path.join(cls.st.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return cls.st.ctl("send", path, *args, check=False)

    @classmethod
    def drain(cls):
        cls.st.wait_drained()

    def test_send_counts_and_rejections(self):
        r = self.first
        self.assertEqual(r.returncode, 1, r.stderr)  # because of the two rejections
        lines = r.stdout.splitlines()
        self.assertEqual(lines[:3], ["accepted        8", "duplicate       1", "rejected        2"])
        self.assertEqual(lines[3].split(":")[:2], ["line 11 (event E9)", " bad_terms"])
        self.assertTrue(lines[4].startswith("line 12 (event E10): bad_amount: "), lines[4])
        self.assertEqual(len(lines), 5, lines)
        self.assertEqual(self.second.returncode, 0, self.second.stdout + self.second.stderr)
        self.assertIn("accepted        1", self.second.stdout)

    def test_resend_is_all_duplicates_and_changes_nothing(self):
        out = json.loads(self.again.stdout)
        self.assertEqual((out["accepted"], out["duplicate"], out["rejected"],
                          out["unacknowledged"]), (0, 9, 2, 0))
        self.assertEqual(self.again.returncode, 1)
        o = self.st.ctl_json("order", "show", "SO-1")
        self.assertEqual((len(o["payments"]), o["balance"], o["discount_earned"]),
                         (1, "0.00", "11.30"))

    def test_order_show_hand_worked(self):
        o = self.st.ctl_json("order", "show", "SO-1")
        self.assertEqual([(t["rate"], t["last_day"], t["discount"], t["payable"])
                          for t in o["tiers"]],
                         [("2", "2026-11-02", "22.60", "1107.40"),
                          ("1", "2026-11-12", "11.30", "1118.70"),
                          ("0.5", "2026-12-02", "5.65", "1124.35")])
        self.assertEqual(o["net_due"], "2027-01-01")
        self.assertEqual(o["payments"], [{
            "date": "2026-11-10", "paid": "1118.70", "full": True, "tier": 1, "rate": "1",
            "discount": "11.30", "settled": "1130.00", "unearned_discount": "0.00",
            "overpaid": "0.00"}])
        self.assertEqual((o["discount_earned"], o["unearned_discount"], o["balance"], o["status"]),
                         ("11.30", "0.00", "0.00", "paid"))
        self.assertEqual((o["customer_id"], o["salesperson"], o["terms"], o["invoice_date"],
                          o["amount"], o["tax"]),
                         ("C-1", "S-7", SEED_TERMS, "2026-11-03", "1130.00", "130.00"))

    def test_credit_note_and_cancellation(self):
        o = self.st.ctl_json("order", "show", "SO-2")
        # 500.00 - 100.00 credited = 400.00; 2 % of it is 8.00; C-2's terms apply.
        self.assertEqual((o["amount"], o["credited"], o["balance"], o["terms"], o["status"]),
                         ("400.00", "100.00", "400.00", "2/10,n/30", "open"))
        self.assertEqual([(t["last_day"], t["discount"], t["payable"]) for t in o["tiers"]],
                         [("2026-11-30", "8.00", "392.00")])
        self.assertEqual(o["net_due"], "2026-12-20")
        self.assertEqual(self.st.ctl_json("order", "show", "SO-3")["status"], "cancelled")
        r = self.st.ctl("order", "show", "SO-4", check=False)  # rejected: never stored
        self.assertEqual((r.returncode, r.stderr.strip()), (1, "skontoctl order: order SO-4 not found"))

    def test_customer_show_remaining_windows(self):
        c = self.st.ctl_json("customer", "show", "C-1", "--today", "2026-11-25")
        self.assertEqual((c["name"], c["email"], c["statement"], c["terms"]),
                         ("Acme", "ap@example.com", "weekly", SEED_TERMS))
        # SO-1 is paid; SO-6 (300.00 shipped 2026-11-20) is open. Tier 0 (cash,
        # 2026-11-20) has closed; 1 % to 2026-11-30 and 0.5 % to 2026-12-20 remain.
        self.assertEqual([i["order_id"] for i in c["invoices"]], ["SO-6"])
        inv = c["invoices"][0]
        self.assertEqual((inv["balance"], inv["net_due"], inv["days_to_net"]),
                         ("300.00", "2027-01-19", 55))
        self.assertEqual([(w["tier"], w["last_day"], w["days_left"], w["pay"], w["saves"])
                          for w in inv["windows"]],
                         [(1, "2026-11-30", 5, "297.00", "3.00"),
                          (2, "2026-12-20", 25, "298.50", "1.50")])
        self.assertEqual(c["history"]["invoices_closed"], 1)
        self.assertEqual(c["history"]["tiers"], [{"tier": 0, "count": 0}, {"tier": 1, "count": 1}])

    def test_forecast_by_history_and_at_net(self):
        # Open: SO-2 400.00 (C-2, no history: net 2026-12-20 both ways) and SO-6
        # 300.00 (C-1, usually tier 1: 297.00 on 2026-11-30; at net 2027-01-19).
        f = self.st.ctl_json("forecast")
        self.assertEqual([c["currency"] for c in f["currencies"]], ["CNY"])
        cny = f["currencies"][0]
        self.assertEqual([(r["date"], r["by_history"], r["at_net"]) for r in cny["rows"]],
                         [("2026-11-30", "297.00", "0.00"), ("2026-12-20", "400.00", "400.00"),
                          ("2027-01-19", "0.00", "300.00")])
        self.assertEqual(cny["total"], {"by_history": "697.00", "at_net": "700.00",
                                        "difference": "-3.00"})
        self.assertEqual([r["cum_difference"] for r in cny["rows"]], ["297.00", "297.00", "-3.00"])

    def test_status_shows_both_workers(self):
        # ingest writes its counters with its heartbeat, once a second.
        def counted():
            s = self.st.ctl_json("status")
            i = s["ingest"]
            return s if (i.get("accepted"), i.get("duplicate"), i.get("rejected")) == (9, 10, 2) \
                else None
        s = wait_for(counted, timeout=5, what="ingest's counters: accepted 9, duplicate 10, "
                     "rejected 2")
        w = {x["name"]: x for x in s["workers"]}
        self.assertEqual(sorted(w), ["discount-1", "ingest"])
        self.assertEqual(w["ingest"]["role"], "ingest")
        self.assertEqual(w["discount-1"]["role"], "discount")
        self.assertFalse(any(x["stale"] for x in w.values()), w)
        self.assertEqual(s["queue"], {"waiting": 0, "pending": 0})
        self.assertEqual(s["dead_letters"], 2)  # E9, sent twice; E10 never left skontoctl
        out = self.st.ctl("status").stdout
        self.assertRegex(out, r"(?m)^ingest\s+ingest\s+\d+\s+\d+\.\ds\s+\d+\s+\d+\s+ok$")

    def test_dlq_shows_the_rejection(self):
        d = self.st.ctl_json("dlq", "list")
        self.assertEqual([(x["event_id"], x["reason_code"]) for x in d["dead_letters"]],
                         [("E9", "bad_terms"), ("E9", "bad_terms")])
        self.assertIn("rate", d["dead_letters"][0]["message"])
        out = self.st.ctl("dlq", "list").stdout
        self.assertIn("bad_terms", out)
        self.assertNotIn("E10", out)


class SendInvalidIds(unittest.TestCase):
    """Events whose ids ingest must reject still get their Ack matched to their
    line (ingest echoes a sanitized id), so nothing is left unacknowledged."""

    def test_invalid_ids_are_rejected_not_lost(self):
        with Stack() as st:
            st.start_ingest()
            lines = [line(type="customer", event_id="E" * 100, customer_id="C-1"),
                     line(type="customer", event_id="", customer_id="C-1"),
                     line(type="customer", event_id="bad\u0001id", customer_id="C-1"),
                     line(type="customer", event_id="caf\u00e9", customer_id="C-1")]
            t = time.time()
            r = st.ctl("send", "-", "--timeout-ms", "3000", "--json", input="\n".join(lines) + "\n",
                       check=False)
            self.assertLess(time.time() - t, 2.5, "an Ack was not matched: send waited for a retry")
            out = json.loads(r.stdout)
            self.assertEqual((out["accepted"], out["rejected"], out["unacknowledged"]), (1, 3, 0))
            self.assertEqual([(x["line"], x["event_id"], x["reason_code"])
                              for x in out["rejections"]],
                             [(1, "E" * 100, "bad_id"), (2, None, "bad_id"), (3, "bad?id", "bad_id")])
            self.assertEqual(r.returncode, 1)


# ---------------------------------------------------------------- send, against a fake ingest

class FakeIngest:
    """A ROUTER on a free port that answers Envelopes as `policy` says.

    policy(envelope, try_number) -> "accepted" | "duplicate" | ("rejected", code, msg) | None
    (None: no answer). With batch=True, answers are held until no message has
    arrived for 50 ms, so that what a client has in flight at once can be seen."""

    def __init__(self, pb2, policy, batch=False):
        import threading
        import zmq
        self.pb2, self.policy, self.batch = pb2, policy, batch
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.received = []     # Envelopes in arrival order
        self.batches = []      # with batch=True: event ids received per batch
        self.tries = {}
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def answer(self, ident, env):
        n = self.tries[env.event_id] = self.tries.get(env.event_id, 0) + 1
        verdict = self.policy(env, n)
        if verdict is None:
            return
        ack = self.pb2.Ack(event_id=env.event_id)
        if verdict == "accepted":
            ack.status = self.pb2.ACK_ACCEPTED
        elif verdict == "duplicate":
            ack.status = self.pb2.ACK_DUPLICATE
        else:
            ack.status = self.pb2.ACK_REJECTED
            ack.reason_code, ack.message = verdict[1], verdict[2]
        self.sock.send_multipart([ident, ack.SerializeToString()])

    def run(self):
        import zmq
        held = []
        while not self.stop:
            if self.sock.poll(50, zmq.POLLIN):
                ident, data = self.sock.recv_multipart()
                env = self.pb2.Envelope()
                env.ParseFromString(data)
                self.received.append(env)
                if self.batch:
                    held.append((ident, env))
                else:
                    self.answer(ident, env)
            elif held:
                self.batches.append([e.event_id for _, e in held])
                for ident, env in held:
                    self.answer(ident, env)
                held = []

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close(0)
        self.ctx.term()


class SendFakeIngest(unittest.TestCase):
    """skontoctl send's windowing, acknowledgement matching, retries and local
    conversion, against a fake ingest whose answers the test controls."""

    @classmethod
    def setUpClass(cls):
        cls.pb2 = skproto.load()
        cls.st = Stack()
        cls.st.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def setUp(self):
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.close()

    def fake(self, policy, batch=False):
        f = FakeIngest(self.pb2, policy, batch)
        self.fakes.append(f)
        return f

    def send(self, fake, text, *args):
        path = os.path.join(self.st.dir, "events.jsonl")
        with open(path, "w") as fh:
            fh.write(text)
        return self.st.ctl("send", path, "--endpoint", fake.endpoint, *args, check=False)

    def test_retries_until_acknowledged(self):
        # The first try of every event goes unanswered (as if the Ack were lost).
        f = self.fake(lambda env, n: "accepted" if n >= 2 else None)
        text = "\n".join(order_line("E%d" % i, "SO-%d" % i) for i in range(20)) + "\n"
        r = self.send(f, text, "--timeout-ms", "300", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["accepted"], out["duplicate"], out["rejected"],
                          out["unacknowledged"]), (20, 0, 0, 0))
        # Every event was sent again (a slow machine may even send a third copy).
        self.assertEqual(sorted(f.tries), sorted("E%d" % i for i in range(20)))
        self.assertTrue(all(n >= 2 for n in f.tries.values()), f.tries)

    def test_gives_up_after_retries(self):
        f = self.fake(lambda env, n: None)
        r = self.send(f, order_line("E1", "SO-1") + "\n" + order_line("E2", "SO-2") + "\n",
                      "--timeout-ms", "100", "--retries", "2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unacknowledged  2", r.stdout)
        self.assertIn("line 2 (event E2): unacknowledged", r.stdout)
        self.assertEqual(f.tries, {"E1": 3, "E2": 3})

    def test_window_bounds_events_in_flight(self):
        f = self.fake(lambda env, n: "accepted", batch=True)
        text = "\n".join(order_line("E%d" % i, "SO-%d" % i) for i in range(30)) + "\n"
        r = self.send(f, text, "--window", "4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("accepted        30", r.stdout)
        self.assertTrue(f.batches)
        self.assertLessEqual(max(len(b) for b in f.batches), 4, f.batches)
        # Events arrive in input order: an order before the payments behind it.
        self.assertEqual([e.event_id for e in f.received], ["E%d" % i for i in range(30)])

    def test_repeated_event_id_waits_for_the_first_ack(self):
        seen = set()

        def policy(env, n):
            if env.event_id in seen:
                return "duplicate"
            seen.add(env.event_id)
            return "accepted"
        f = self.fake(policy, batch=True)
        lines = [order_line("E1", "SO-1"), order_line("E2", "SO-2"), order_line("E1", "SO-1"),
                 order_line("E3", "SO-3")]
        r = self.send(f, "\n".join(lines) + "\n", "--json")
        out = json.loads(r.stdout)
        self.assertEqual((out["accepted"], out["duplicate"]), (3, 1))
        self.assertEqual(r.returncode, 0, r.stderr)
        # The repeated E1 was not in flight together with the first one.
        for b in f.batches:
            self.assertLessEqual(b.count("E1"), 1, f.batches)

    def test_conversion_and_currency_lookup(self):
        # SO-R is known only to Redis (ingest indexed it earlier), in JPY.
        self.st.redis_cli("HSET", "sk:{o%d}:o2c" % fnv_shard("SO-R"), "SO-R", "C-9\tJPY")
        f = self.fake(lambda env, n: "accepted")
        lines = [
            "# a comment, then a blank line",
            "",
            order_line("E1", "SO-1"),                              # line 3
            payment_line("E2", "SO-1", "1118.70", full=True),      # line 4: CNY from line 3
            payment_line("E3", "SO-R", "500"),                     # line 5: JPY from Redis
            payment_line("E4", "SO-404", "1.00"),                  # line 6: unknown order
            '{"type":"order_shipped","event_id":"E5"',             # line 7: not JSON
            order_line("E6", "SO-6", amount="12.345"),             # line 8: 3 decimals in CNY
            line(type="credit_note", event_id="E7", order_id="SO-1", issued_on="2026-11-05",
                 amount="100.00"),                                 # line 9
            line(type="order_cancelled", event_id="E8", order_id="SO-1", colour="red"),  # 10
        ]
        r = self.send(f, "\n".join(lines) + "\n", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["accepted"], out["rejected"]), (4, 4))
        self.assertEqual([(x["line"], x["event_id"], x["reason_code"]) for x in out["rejections"]],
                         [(6, "E4", "bad_currency"), (7, None, "bad_json"),
                          (8, "E6", "bad_amount"), (10, "E8", "unknown_field")])
        self.assertTrue(all(x["message"] for x in out["rejections"]))
        got = {e.event_id: e for e in f.received}
        self.assertEqual(sorted(got), ["E1", "E2", "E3", "E7"])  # rejected lines never sent
        self.assertEqual(got["E1"].order_shipped.amount, 113000)
        self.assertEqual(got["E2"].payment_received.amount, 111870)
        self.assertTrue(got["E2"].payment_received.full)
        self.assertEqual(got["E3"].payment_received.amount, 500)
        self.assertEqual(got["E7"].credit_note.amount, 10000)

    def test_rejection_by_ingest_is_reported_with_its_line(self):
        f = self.fake(lambda env, n: ("rejected", "bad_terms", "terms: tier 2 (1/10): rate must "
                                      "be below the previous tier's 1 %")
                      if env.event_id == "E2" else "accepted")
        r = self.send(f, order_line("E1", "SO-1") + "\n" + order_line("E2", "SO-2") + "\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("accepted        1", r.stdout)
        self.assertIn("rejected        1", r.stdout)
        self.assertIn("line 2 (event E2): bad_terms: terms: tier 2 (1/10): rate must be below "
                      "the previous tier's 1 %", r.stdout.splitlines())

    def test_stdin_and_progress(self):
        f = self.fake(lambda env, n: "accepted")
        r = self.st.ctl("send", "-", "--endpoint", f.endpoint, "--progress",
                        input=order_line("E1", "SO-1") + "\n", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 acknowledged", r.stderr)

    def test_usage(self):
        for args in (["send"], ["send", "a", "b"], ["send", "/nonexistent/x.jsonl"],
                     ["send", "-", "--window", "0"], ["send", "-", "--timeout-ms", "x"],
                     ["send", "-", "--retries", "-1"], ["send", "-", "--endpoint", "nonsense"]):
            r = self.st.ctl(*args, input="", check=False)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))
        self.assertIn("--window N", self.st.ctl("send", "--help").stdout)


if __name__ == "__main__":
    unittest.main()
