"""skontoctl reminders list|sent: what a salesperson reads about the reminder mail.

Real orders go in through skontoctl send, skonto-ingest and skonto-discount,
so the invoices, the order index and the customers are the workers' own. The
due queue (sk:{sN}:rdue, rproc) and the sent records (rsent, rlog:<cid>) are
then written here with redis-cli exactly as docs/REMINDERS.md says the
discount and reminder workers write them (the test first clears whatever a
discount worker queued itself, so the figures below are the test's). Every
expected instant, local time and Message-ID is computed here with Python's
zoneinfo and hashlib, independently of the C code.

The customers:
  C-NY  America/New_York; order "SO-1|A" (an id with '|'), terms 2/7,1/14,n/30
        shipped 2026-03-02: tier 1 (2 %) last day 2026-03-09, tier 2 (1 %)
        2026-03-16. New York moves to daylight-saving time on 2026-03-08, so
        its 09:00 reminders are 14:00Z on 03-06 and 13:00Z on 03-08.
        A second order SO-9 of the same customer, for the --order filter.
  C-SH  Asia/Shanghai; order SO-2.
  C-UT  no zone: SKONTO_DEFAULT_TZ (Europe/Berlin in this test).
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import unittest
from zoneinfo import ZoneInfo

from harness import Stack
from test_ctl import fnv_shard

UTC = datetime.timezone.utc
DOMAIN = "mail.skonto.test"


def ms(dt):
    return int(dt.timestamp() * 1000)


def local_ms(zone, y, m, d, hh=9, mm=0):
    return ms(datetime.datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone)))


def msgid(key, kind):
    return "<%s.%s@%s>" % (kind, hashlib.sha256(key.encode()).hexdigest()[:32], DOMAIN)


def rkey(tier, last_day, lead, oid):
    return "r|%d|%s|%d|%s" % (tier, last_day, lead, oid)


def skey(at_ms, cid):
    at = datetime.datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "s|%s|%s" % (at, cid)


EVENTS = [
    dict(type="customer", event_id="E1", customer_id="C-NY", name="New York Inc",
         email="ap@ny.example", timezone="America/New_York", locale="en",
         statement="weekly", terms="2/7,1/14,n/30"),
    dict(type="customer", event_id="E2", customer_id="C-SH", name="Shanghai Ltd",
         email="ap@sh.example", timezone="Asia/Shanghai", locale="zh-CN",
         statement="weekly", terms="2/7,1/14,n/30"),
    dict(type="customer", event_id="E3", customer_id="C-UT", name="No Zone GmbH",
         email="ap@ut.example", locale="en", statement="daily", terms="2/7,1/14,n/30"),
    dict(type="order_shipped", event_id="E4", order_id="SO-1|A", customer_id="C-NY",
         currency="USD", amount="1000.00", ship_date="2026-03-02"),
    dict(type="order_shipped", event_id="E5", order_id="SO-9", customer_id="C-NY",
         currency="USD", amount="500.00", ship_date="2026-03-02"),
    dict(type="order_shipped", event_id="E6", order_id="SO-2", customer_id="C-SH",
         currency="CNY", amount="1130.00", ship_date="2026-03-02"),
    dict(type="order_shipped", event_id="E7", order_id="SO-3", customer_id="C-UT",
         currency="EUR", amount="200.00", ship_date="2026-03-02"),
]

NOW = "2026-03-05T12:00:00Z"
NOW_MS = ms(datetime.datetime(2026, 3, 5, 12, tzinfo=UTC))

# The queue the test writes: (key, due ms, customer).
NY_3D = rkey(0, "2026-03-09", 3, "SO-1|A")   # 2026-03-06 09:00 EST = 14:00Z
NY_1D = rkey(0, "2026-03-09", 1, "SO-1|A")   # 2026-03-08 09:00 EDT = 13:00Z
NY_T2 = rkey(1, "2026-03-16", 3, "SO-1|A")   # 2026-03-13 09:00 EDT
SH_3D = rkey(0, "2026-03-09", 3, "SO-2")     # 2026-03-06 09:00 CST = 01:00Z
UT_3D = rkey(0, "2026-03-09", 3, "SO-3")     # Europe/Berlin 09:00 CET = 08:00Z
NY_STMT_MS = local_ms("America/New_York", 2026, 3, 9)
NY_STMT = skey(NY_STMT_MS, "C-NY")
QUEUE = [
    (NY_3D, local_ms("America/New_York", 2026, 3, 6)),
    (NY_1D, local_ms("America/New_York", 2026, 3, 8)),
    (NY_T2, local_ms("America/New_York", 2026, 3, 13)),
    (SH_3D, local_ms("Asia/Shanghai", 2026, 3, 6)),
    (UT_3D, local_ms("Europe/Berlin", 2026, 3, 6)),
    (NY_STMT, NY_STMT_MS),
]
SHARD_OF_KEY = {NY_3D: "C-NY", NY_1D: "C-NY", NY_T2: "C-NY", SH_3D: "C-SH", UT_3D: "C-UT",
                NY_STMT: "C-NY"}
# In process: claimed by a worker, lease until NOW + 30 s (Redis TIME; the value is opaque).
NY_PROC = rkey(1, "2026-03-16", 1, "SO-9")


class Reminders(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = st = Stack()
        st.__enter__()
        try:
            st.env.update({"SKONTO_CLOCK": "fixed:" + NOW, "SKONTO_MAIL_DOMAIN": DOMAIN,
                           "SKONTO_DEFAULT_TZ": "Europe/Berlin"})
            st.start_ingest()
            st.start_discount("discount-1")
            path = os.path.join(st.dir, "events.jsonl")
            with open(path, "w") as f:
                f.write("".join(json.dumps(e) + "\n" for e in EVENTS))
            r = st.ctl("send", path, check=False)
            assert r.returncode == 0, r.stdout + r.stderr
            st.wait_drained()
        except BaseException:
            st.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def setUp(self):
        st = self.st
        for n in range(16):
            st.redis_cli("DEL", "sk:{s%d}:rdue" % n, "sk:{s%d}:rproc" % n, "sk:{s%d}:rsent" % n,
                         "sk:{s%d}:stmt" % n)
        for cid in ("C-NY", "C-SH", "C-UT"):
            st.redis_cli("DEL", "sk:{s%d}:rlog:%s" % (fnv_shard(cid), cid))
        for key, due in QUEUE:
            st.redis_cli("ZADD", "sk:{s%d}:rdue" % fnv_shard(SHARD_OF_KEY[key]), due, key)
        st.redis_cli("HSET", "sk:{s%d}:stmt" % fnv_shard("C-NY"), "C-NY", NY_STMT)
        st.redis_cli("ZADD", "sk:{s%d}:rproc" % fnv_shard("C-NY"), NOW_MS + 30000, NY_PROC)

    def ctl(self, *args, **kw):
        return self.st.ctl("reminders", *args, **kw)

    def list_json(self, *args):
        return self.st.ctl_json("reminders", "list", *args)

    # ---- list
    def test_list_every_customer_soonest_first_in_process_first(self):
        out = self.list_json()
        self.assertEqual(out["now"], NOW)
        self.assertEqual(out["total"], len(QUEUE) + 1)
        keys = [d["key"] for d in out["due"]]
        expect = [NY_PROC] + [k for k, _ in sorted(QUEUE, key=lambda kv: (kv[1], kv[0]))]
        self.assertEqual(keys, expect)
        self.assertEqual(out["due"][0]["state"], "in_process")
        self.assertIsNone(out["due"][0]["due_ms"])
        self.assertEqual(out["due"][0]["customer_id"], "C-NY")  # from SO-9's invoice

    def test_new_york_across_the_dst_change(self):
        due = {d["key"]: d for d in self.list_json("--customer", "C-NY")["due"]}
        a, b = due[NY_3D], due[NY_1D]
        self.assertEqual((a["due_utc"], a["due_local"]),
                         ("2026-03-06T14:00:00Z", "2026-03-06T09:00:00-05:00"))
        self.assertEqual((b["due_utc"], b["due_local"]),
                         ("2026-03-08T13:00:00Z", "2026-03-08T09:00:00-04:00"))
        self.assertEqual(a["due_ms"], local_ms("America/New_York", 2026, 3, 6))
        self.assertEqual(a["timezone"], "America/New_York")
        # the window closes at the end of its last day, New York time
        self.assertEqual(a["closes_ms"], local_ms("America/New_York", 2026, 3, 10, 0, 0))
        self.assertEqual((a["kind"], a["order_id"], a["customer_id"], a["tier"], a["last_day"],
                          a["lead_days"], a["remind_on"], a["rate"], a["discount"],
                          a["currency"], a["message_id"]),
                         ("reminder", "SO-1|A", "C-NY", 0, "2026-03-09", 3, "2026-03-06", "2",
                          "20.00", "USD", msgid(NY_3D, "r")))
        self.assertEqual((due[NY_T2]["rate"], due[NY_T2]["discount"]), ("1", "10.00"))
        s = due[NY_STMT]
        self.assertEqual((s["kind"], s["customer_id"], s["due_ms"], s["message_id"],
                          s["timezone"]),
                         ("statement", "C-NY", NY_STMT_MS, msgid(NY_STMT, "s"),
                          "America/New_York"))
        self.assertEqual(s["due_local"], "2026-03-09T09:00:00-04:00")

    def test_customer_filter_keeps_only_that_customer(self):
        out = self.list_json("--customer", "C-NY")
        self.assertEqual(sorted(d["key"] for d in out["due"]),
                         sorted([NY_3D, NY_1D, NY_T2, NY_STMT, NY_PROC]))
        self.assertEqual(out["total"], 5)
        sh = self.list_json("--customer", "C-SH")["due"]
        self.assertEqual([(d["key"], d["due_local"]) for d in sh],
                         [(SH_3D, "2026-03-06T09:00:00+08:00")])
        self.assertEqual(sh[0]["due_utc"], "2026-03-06T01:00:00Z")

    def test_customer_without_zone_uses_default(self):
        ut = self.list_json("--customer", "C-UT")["due"]
        self.assertEqual([(d["key"], d["timezone"], d["due_local"], d["due_utc"]) for d in ut],
                         [(UT_3D, "Europe/Berlin", "2026-03-06T09:00:00+01:00",
                           "2026-03-06T08:00:00Z")])

    def test_due_before(self):
        out = self.list_json("--due-before", "2026-03-07")
        self.assertEqual([d["key"] for d in out["due"]], [NY_PROC, SH_3D, UT_3D, NY_3D])
        self.assertEqual(out["total"], 4)
        # exclusive: a reminder due exactly at the bound is not before it
        out = self.list_json("--due-before", "2026-03-06T14:00:00Z", "--customer", "C-NY")
        self.assertEqual([d["key"] for d in out["due"]], [NY_PROC])
        # a bound before now: what is in process (due now) is not before it
        out = self.list_json("--due-before", "2026-03-01")
        self.assertEqual((out["due"], out["total"]), ([], 0))

    def test_limit_and_total(self):
        out = self.list_json("--limit", "2")
        self.assertEqual(([d["key"] for d in out["due"]], out["total"]),
                         ([NY_PROC, SH_3D], 7))
        r = self.ctl("list", "--limit", "2")
        self.assertIn("(2 of 7; --limit N shows more)", r.stdout)

    def test_text_table_shows_both_times(self):
        r = self.ctl("list", "--customer", "C-NY")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "now 2026-03-05 12:00:00 UTC (the stack's clock)")
        row3 = next(l for l in lines if msgid(NY_3D, "r") in l)
        row1 = next(l for l in lines if msgid(NY_1D, "r") in l)
        for row, utc, loc in ((row3, "2026-03-06 14:00:00", "2026-03-06 09:00 -05:00"),
                              (row1, "2026-03-08 13:00:00", "2026-03-08 09:00 -04:00")):
            self.assertTrue(row.startswith(utc), row)
            self.assertIn(loc, row)
            self.assertIn("America/New_York", row)
            self.assertIn("SO-1|A", row)
            self.assertIn("20.00 USD (2%)", row)
        self.assertIn("in process", lines[2])
        self.assertIn("statement", next(l for l in lines if msgid(NY_STMT, "s") in l))

    def test_nothing_due(self):
        for n in range(16):
            self.st.redis_cli("DEL", "sk:{s%d}:rdue" % n, "sk:{s%d}:rproc" % n)
        r = self.ctl("list")
        self.assertEqual(r.stdout.splitlines()[1:], ["nothing due"])

    # ---- sent
    def seed_sent(self, key, cid, sent_ms, to, windows, order_id=None, outcome="sent",
                  attempts=1):
        kind = "reminder" if key.startswith("r|") else "statement"
        rec = {"key": key, "kind": kind, "customer_id": cid, "to": to,
               "message_id": msgid(key, key[0]), "sent_ms": sent_ms, "scheduled_ms": sent_ms,
               "outcome": outcome, "attempts": attempts, "windows": windows}
        if order_id:
            rec["order_id"] = order_id
        n = fnv_shard(cid)
        self.st.redis_cli("HSET", "sk:{s%d}:rsent" % n, key, json.dumps(rec))
        self.st.redis_cli("ZADD", "sk:{s%d}:rlog:%s" % (n, cid), sent_ms, key)
        return rec

    def seed_history(self):
        # amounts in minor units, as the reminder worker records them
        w1 = {"order_id": "SO-1|A", "tier": 0, "last_day": "2026-03-09", "rate_ppm": 20000,
              "discount": 2000, "payable": 98000, "currency": "USD"}
        w9 = {"order_id": "SO-9", "tier": 0, "last_day": "2026-03-09", "rate_ppm": 20000,
              "discount": 1000, "payable": 49000, "currency": "USD"}
        t3 = local_ms("America/New_York", 2026, 3, 6)
        t1 = local_ms("America/New_York", 2026, 3, 8)
        stmt_ms = local_ms("America/New_York", 2026, 3, 2)
        stmt = skey(stmt_ms, "C-NY")
        self.seed_sent(stmt, "C-NY", stmt_ms, "ap@ny.example", [w1, w9])
        self.seed_sent(NY_3D, "C-NY", t3, "ap@ny.example", [w1], "SO-1|A")
        self.seed_sent(NY_1D, "C-NY", t1, "ap@ny.example", [w1], "SO-1|A",
                       outcome="ambiguous_resent", attempts=2)
        self.seed_sent(rkey(0, "2026-03-09", 3, "SO-9"), "C-NY", t3 + 1, "ap@ny.example", [w9],
                       "SO-9")
        self.seed_sent(SH_3D, "C-SH", local_ms("Asia/Shanghai", 2026, 3, 6), "ap@sh.example",
                       [], "SO-2")
        return stmt

    def test_sent_for_an_order_with_a_bar_in_its_id(self):
        stmt = self.seed_history()
        out = self.st.ctl_json("reminders", "sent", "--order", "SO-1|A")
        self.assertEqual([s["key"] for s in out["sent"]], [NY_1D, NY_3D, stmt])  # newest first
        self.assertEqual(out["total"], 3)
        by = {s["key"]: s for s in out["sent"]}
        self.assertEqual((by[NY_3D]["sent_local"], by[NY_3D]["sent_utc"],
                          by[NY_3D]["timezone"], by[NY_3D]["to"], by[NY_3D]["message_id"]),
                         ("2026-03-06T09:00:00-05:00", "2026-03-06T14:00:00Z",
                          "America/New_York", "ap@ny.example", msgid(NY_3D, "r")))
        self.assertEqual(by[NY_1D]["sent_local"], "2026-03-08T09:00:00-04:00")
        self.assertEqual(by[NY_1D]["outcome"], "ambiguous_resent")
        self.assertEqual(by[stmt]["sent_local"], "2026-03-02T09:00:00-05:00")

    def test_sent_text_answers_when_they_were_told(self):
        self.seed_history()
        r = self.ctl("sent", "--order", "SO-1|A")
        text = r.stdout
        self.assertIn("2026-03-06 09:00 -05:00 America/New_York (2026-03-06 14:00:00 UTC)  "
                      "reminder to ap@ny.example, customer C-NY, order SO-1|A", text)
        self.assertIn("2026-03-08 09:00 -04:00 America/New_York", text)
        self.assertIn("Message-ID %s" % msgid(NY_3D, "r"), text)
        self.assertIn("named: order SO-1|A, tier 1 (2%), last day 2026-03-09: pay 980.00 USD, "
                      "saves 20.00 USD", text)
        self.assertIn("attempts 2, ambiguous_resent", text)
        self.assertIn("named: order SO-9, tier 1 (2%), last day 2026-03-09: pay 490.00 USD, "
                      "saves 10.00 USD", text)  # in the statement
        self.assertNotIn("order SO-9\n", text)  # SO-9's own reminder is not about SO-1|A

    def test_sent_for_a_customer_and_everyone(self):
        self.seed_history()
        ny = self.st.ctl_json("reminders", "sent", "--customer", "C-NY")
        self.assertEqual(ny["total"], 4)
        self.assertEqual(ny["sent"][0]["key"], NY_1D)
        sh = self.st.ctl_json("reminders", "sent", "--customer", "C-SH")
        self.assertEqual([(s["key"], s["sent_local"]) for s in sh["sent"]],
                         [(SH_3D, "2026-03-06T09:00:00+08:00")])
        every = self.st.ctl_json("reminders", "sent", "--limit", "2")
        self.assertEqual(every["total"], 5)
        self.assertEqual([s["key"] for s in every["sent"]], [NY_1D, rkey(0, "2026-03-09", 3, "SO-9")])
        r = self.ctl("sent", "--limit", "2")
        self.assertIn("(2 newest of 5; --limit N shows more)", r.stdout)

    def test_sent_damaged_record_is_shown_raw(self):
        n = fnv_shard("C-NY")
        self.st.redis_cli("HSET", "sk:{s%d}:rsent" % n, NY_3D, "not json")
        self.st.redis_cli("ZADD", "sk:{s%d}:rlog:C-NY" % n, NOW_MS, NY_3D)
        out = self.st.ctl_json("reminders", "sent", "--customer", "C-NY")
        self.assertEqual(out["sent"], [{"key": NY_3D, "raw": "not json"}])
        r = self.ctl("sent", "--order", "SO-1|A")
        self.assertIn("the sent record cannot be read: not json", r.stdout)

    def test_sent_unknown_order_and_wrong_customer(self):
        r = self.ctl("sent", "--order", "SO-NONE", check=False)
        self.assertEqual((r.returncode, r.stderr.strip()),
                         (1, "skontoctl reminders: order SO-NONE not found"))
        r = self.ctl("sent", "--order", "SO-2", "--customer", "C-NY", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("order SO-2 is customer C-SH's", r.stderr)
        self.assertEqual(self.ctl("sent", "--customer", "C-NONE").stdout, "nothing sent\n")

    # ---- as skontoctl's read-only Redis user of deploy/local.sh
    def test_read_only_user_reads_everything(self):
        self.seed_history()
        src = os.environ.get("SK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        with open(os.path.join(src, "deploy", "local.sh")) as f:
            m = re.search(r'user skontoctl on >\$\(s_pw skontoctl\) ([^"]*)"', f.read())
        self.assertIsNotNone(m, "deploy/local.sh defines the skontoctl user")
        self.assertEqual(self.st.redis_cli("ACL", "SETUSER", "ctl-test", "reset", "on", ">pw-ctl",
                                           *m.group(1).split()), "OK")
        pw = os.path.join(self.st.dir, "ctl.pass")
        with open(pw, "w") as f:
            f.write("pw-ctl\n")
        env = dict(self.st.env, SKONTO_REDIS_USER="ctl-test", SKONTO_REDIS_PASSWORD_FILE=pw)
        binary = os.path.join(self.st.bin, "skontoctl")
        for args in (["list", "--customer", "C-NY"], ["list"], ["sent", "--order", "SO-1|A"],
                     ["sent"]):
            r = subprocess.run([binary, "reminders", *args, "--json"], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
            out = json.loads(r.stdout)
            self.assertGreater(out["total"], 0, args)
        # and the user is the read-only one: it cannot write the queue
        r = subprocess.run(["redis-cli", "-s", self.st.redis_sock, "--user", "ctl-test", "--pass",
                            "pw-ctl", "--no-auth-warning", "ZADD", "sk:{s0}:rdue", "1", "x"],
                           capture_output=True, text=True)
        self.assertIn("NOPERM", r.stdout + r.stderr)

    # ---- usage
    def test_bad_usage_is_one_line_and_status_2(self):
        cases = [
            (["list", "--due-before", "2026-03-32"], "--due-before"),
            (["list", "--limit", "0"], "want a whole number from 1 to 10000"),
            (["list", "--order", "SO-1"], "--order is for reminders sent"),
            (["sent", "--due-before", "2026-03-01"], "--due-before is for reminders list"),
            (["bogus"], "usage: skontoctl reminders list"),
            ([], "skontoctl reminders --help"),
            (["list", "--customer", "x" * 65], "--customer"),
        ]
        for args, want in cases:
            r = self.ctl(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertEqual(r.stdout, "")
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertIn(want, r.stderr)
        h = self.ctl("--help").stdout
        self.assertIn("in process", h)
        self.assertIn("--limit N   show at most N (default 50", h)


if __name__ == "__main__":
    unittest.main()
