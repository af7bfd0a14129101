"""Issue 9: approved overrides applied by the discount worker, ERP-only
schedule changes, and `skontoctl audit reconcile` (docs/AUDIT.md section 8).

A real redis-server, skonto-ingest and skonto-discount. An order is sent as
an ERP sends it; then, as the audit worker would on an approval (with the
admin Redis connection), an OverrideOrder is XADDed into sk:{audit}:ovq:N.
What a user would notice is checked against figures worked out by hand:
the schedule and its amounts, the settlement, the due reminders
(sk:{sN}:rdue), the hand-off to the audit log (sk:{sN}:auditq), `order
show`; a redelivered order changes nothing, a stale one changes nothing and
says "stale". With CURVE on, an operator's new order version that changes
the terms is refused erp_only, an erp one is applied and its ScheduleChanged
hand-off names the sender. Last, `audit reconcile` passes, and names an
invoice whose tier was edited behind the workers' back.

Terms 2/8,1/20,n/30 on a ship date of 2026-03-02: tier 0 (2 %) to 03-10,
tier 1 (1 %) to 03-22, net 04-01; amount 1130.00 USD (tax 130.00), gross
discount base: tier 0 gives 22.60, tier 1 11.30. The customers are in UTC,
reminders at 09:00 local, 3 and 1 days before a tier's last day.
"""
import datetime
import itertools
import os
import sys
import unittest

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skingest  # noqa: E402
import skinvoice  # noqa: E402
from harness import Stack, wait_for  # noqa: E402
from skredis import Redis, shard  # noqa: E402

pb = None
TERMS = "2/8,1/20,n/30"
SHIP = "2026-03-02"
UTC = datetime.timezone.utc
EIDS = itertools.count(1)


def ms(y, mo, d, h=0):
    return int(datetime.datetime(y, mo, d, h, tzinfo=UTC).timestamp() * 1000)


def at9(iso):
    d = datetime.date.fromisoformat(iso)
    return ms(d.year, d.month, d.day, 9)


def rkey(tier, last, lead, oid):
    return "r|%d|%s|%d|%s" % (tier, last, lead, oid)


def env(eid, seq):
    return pb.Envelope(event_id=eid, source="erp-ovr", sequence=seq)


def customer(eid, cid):
    e = env(eid, 1)
    c = e.customer
    c.customer_id, c.name, c.email, c.timezone, c.locale = cid, "Acme", "ap@example.com", "UTC", "en-US"
    c.statement = pb.STATEMENT_NONE
    c.terms = TERMS
    return e


def order(eid, oid, cid, version=0, terms=TERMS, amount=113000, ship=SHIP):
    e = env(eid, 2)
    o = e.order_shipped
    o.order_id, o.customer_id, o.salesperson, o.currency = oid, cid, "S-1", "USD"
    o.amount, o.tax, o.ship_date, o.terms, o.version = amount, 13000, ship, terms, version
    return e


def payment(eid, oid, amount, paid_on, full=True):
    e = env(eid, 3)
    p = e.payment_received
    p.order_id, p.paid_on, p.amount, p.full = oid, paid_on, amount, full
    return e


def credit(eid, oid, amount):
    e = env(eid, 4)
    e.credit_note.order_id, e.credit_note.issued_on, e.credit_note.amount = oid, "2026-03-03", amount
    return e


def read_key(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")][0].encode()


class OverrideCase(unittest.TestCase):
    """One stack (redis, ingest, one discount worker) on the simulated clock."""

    @classmethod
    def setUpClass(cls):
        global pb
        pb = skingest.load()
        cls.st = Stack()
        cls.st.__enter__()
        cls.st.env["SKONTO_CLOCK"] = "redis"
        cls.set_clock(ms(2026, 3, 1, 12))
        cls.extra_setup()
        cls.st.start_discount("discount-1")
        wait_for(lambda: cls.st.redis_cli("HEXISTS", "sk:{sys}:hb", "discount-1") == "1",
                 what="discount-1's heartbeat")
        cls.r = Redis(cls.st.redis_sock, decode=False)

    @classmethod
    def extra_setup(cls):
        cls.st.start_ingest()
        cls.cli = skingest.Client(cls.st.ingest_endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.cli.close()
        cls.r.close()
        cls.st.close()

    @classmethod
    def set_clock(cls, at_ms):
        cls.st.redis_cli("SET", "sk:{sys}:clock", at_ms)

    def setUp(self):
        self.set_clock(ms(2026, 3, 1, 12))

    def eid(self):
        return "OV%d" % next(EIDS)

    def send(self, e, status=None, cli=None):
        ack = (cli or self.cli).send(e)
        self.assertIsNotNone(ack, "no ack; ingest log:\n" + self.st.log("ingest"))
        self.assertEqual(ack.status, status or skingest.ACCEPTED, ack.message)
        return ack

    def show(self, oid):
        return self.st.ctl_json("order", "show", oid)

    def wait_rev(self, oid, rev):
        def ok():
            r = self.st.ctl("order", "show", oid, "--json", check=False)
            return r.returncode == 0 and ('"revision": %d' % rev in r.stdout or
                                          '"revision":%d' % rev in r.stdout)
        try:
            wait_for(ok, timeout=15, what="order %s at revision %d" % (oid, rev))
        except AssertionError:
            raise AssertionError("order %s not at revision %d; discount log:\n%s" % (
                oid, rev, self.st.log("discount-1")[-3000:]))

    def new_order(self, cid, oid):
        self.send(customer(self.eid(), cid))
        self.send(order(self.eid(), oid, cid))
        self.wait_rev(oid, 1)

    def queue(self, cid, oid):
        out = self.st.redis_cli("ZRANGE", "sk:{s%d}:rdue" % shard(cid), 0, -1, "WITHSCORES")
        lines = out.splitlines() if out else []
        got = {lines[i]: int(lines[i + 1]) for i in range(0, len(lines), 2)}
        return {k: v for k, v in got.items() if k.startswith("r|") and k.endswith("|" + oid)}

    def handoffs(self, cid):
        """Every AuditHandoff in the customer's shard's auditq, decoded."""
        out = []
        for _id, fields in self.r.cmd("XRANGE", "sk:{s%d}:auditq" % shard(cid), "-", "+"):
            f = dict(zip(fields[::2], fields[1::2]))
            h = pb.AuditHandoff()
            h.ParseFromString(f[b"a"])
            out.append(h)
        return out

    def applied(self, cid, override_id):
        return [h.applied for h in self.handoffs(cid)
                if h.WhichOneof("body") == "applied" and h.applied.override_id == override_id]

    def approve(self, cid, oid, override_id, rev, kind, tier=0, new_last_day="", rate=0,
                payment=0):
        """XADDs the OverrideOrder the audit worker writes on an approval."""
        o = pb.OverrideOrder(override_id=override_id, order_id=oid, customer_id=cid,
                             invoice_revision=rev, requested_by="sales.li",
                             approved_by="dir.wang", approved_at_ms=ms(2026, 3, 1, 13),
                             effect=0, currency="USD")
        o.change.kind = kind
        o.change.tier = tier
        o.change.new_last_day = new_last_day
        o.change.new_rate_ppm = rate
        o.change.payment = payment
        q = "sk:{audit}:ovq:%d" % shard(cid)
        self.r.cmd("XADD", q, "*", "o", o.SerializeToString())
        return q

    def wait_consumed(self, q):
        """Until the worker acknowledged and deleted every order of the queue."""
        def done():
            return (self.r.cmd("XLEN", q) == 0 and
                    self.r.cmd("XPENDING", q, "discount")[0] == 0)
        try:
            wait_for(done, timeout=15, what="the override queue %s consumed" % q)
        except AssertionError:
            raise AssertionError("not consumed; discount log:\n" +
                                 self.st.log("discount-1")[-3000:])


class OverrideApplyTest(OverrideCase):
    def test_extend_on_an_open_invoice(self):
        cid, oid = "C-OVX", "SO-OVX"
        self.new_order(cid, oid)
        # the due queue holds the invoice's next reminder (docs/REMINDERS.md)
        self.assertEqual(self.queue(cid, oid), {rkey(0, "2026-03-10", 3, oid): at9("2026-03-07")})

        # tier 0 to 03-15: on the open 1130.00 the 2 % (22.60) instead of the
        # 1 % those days gave (11.30): effect 11.30
        q = self.approve(cid, oid, "ov-1", 1, pb.OVERRIDE_KIND_EXTEND, tier=0,
                         new_last_day="2026-03-15")
        self.wait_rev(oid, 2)
        self.wait_consumed(q)
        inv = self.show(oid)
        self.assertEqual([(t["rate"], t["last_day"], t["discount"]) for t in inv["tiers"]],
                         [("2", "2026-03-15", "22.60"), ("1", "2026-03-22", "11.30")])
        self.assertEqual(inv["balance"], "1130.00")
        self.assertEqual(len(inv["overrides"]), 1)
        o = inv["overrides"][0]
        self.assertEqual((o["override_id"], o["kind"], o["tier"], o["old_value"], o["new_value"],
                          o["effect"], o["requested_by"], o["approved_by"], o["revision"]),
                         ("ov-1", "extend", 0, "2026-03-10", "2026-03-15", "11.30", "sales.li",
                          "dir.wang", 2))
        self.assertEqual(o["applied_at_ms"], ms(2026, 3, 1, 12))
        text = self.st.ctl("order", "show", oid).stdout
        self.assertIn("ov-1  extend tier 1: 2026-03-10 -> 2026-03-15, effect 11.30 USD; "
                      "requested by sales.li, approved by dir.wang", text)
        # the next reminder follows the window: 3 days before its new last day
        self.assertEqual(self.queue(cid, oid), {rkey(0, "2026-03-15", 3, oid): at9("2026-03-12")})
        # the hand-off, in the same step
        a = self.applied(cid, "ov-1")
        self.assertEqual(len(a), 1)
        a = a[0]
        self.assertEqual((a.order_id, a.old_value, a.new_value, a.effect, a.currency,
                          a.invoice_revision, a.requested_by, a.approved_by, a.refusal_code,
                          a.change.kind, a.change.new_last_day),
                         (oid, "2026-03-10", "2026-03-15", 1130, "USD", 2, "sales.li",
                          "dir.wang", "", pb.OVERRIDE_KIND_EXTEND, "2026-03-15"))

        # a redelivery (the same order again, as after a crash before the ack): nothing
        n_handoffs = len(self.handoffs(cid))
        q = self.approve(cid, oid, "ov-1", 1, pb.OVERRIDE_KIND_EXTEND, tier=0,
                         new_last_day="2026-03-15")
        self.wait_consumed(q)
        self.assertEqual(self.show(oid)["revision"], 2)
        self.assertEqual(len(self.handoffs(cid)), n_handoffs)

        # stale: approved against revision 1, the invoice is at 2
        q = self.approve(cid, oid, "ov-2", 1, pb.OVERRIDE_KIND_EXTEND, tier=1,
                         new_last_day="2026-03-25")
        self.wait_consumed(q)
        inv = self.show(oid)
        self.assertEqual((inv["revision"], inv["tiers"][1]["last_day"], len(inv["overrides"])),
                         (2, "2026-03-22", 1))
        a = self.applied(cid, "ov-2")
        self.assertEqual([(x.refusal_code, x.effect, x.invoice_revision) for x in a],
                         [("stale", 0, 2)])
        # handed off once, also when redelivered
        q = self.approve(cid, oid, "ov-2", 1, pb.OVERRIDE_KIND_EXTEND, tier=1,
                         new_last_day="2026-03-25")
        self.wait_consumed(q)
        self.assertEqual(len(self.applied(cid, "ov-2")), 1)

        # the extension counts when the customer pays: 1107.40 on 03-14, in
        # the extended window, settles the invoice at 2 %
        self.set_clock(ms(2026, 3, 14, 12))
        self.send(payment(self.eid(), oid, 110740, "2026-03-14"))
        self.wait_rev(oid, 3)
        inv = self.show(oid)
        p = inv["payments"][0]
        self.assertEqual((p["tier"], p["discount"], p["settled"], inv["status"], inv["balance"]),
                         (0, "22.60", "1130.00", "paid", "0.00"))
        self.assertEqual(self.queue(cid, oid), {})
        self.assertEqual(len(self.show(oid)["overrides"]), 1)  # kept with the invoice
        self.set_clock(ms(2026, 3, 1, 12))

    def test_grant_on_a_late_payment(self):
        cid, oid = "C-OVG", "SO-OVG"
        self.new_order(cid, oid)
        # 1107.40 (the 2 % payable) on 03-12, after tier 0 closed, declared
        # full: tier 1 earns 11.30, 11.30 stays open as unearned
        self.set_clock(ms(2026, 3, 12, 12))
        self.send(payment(self.eid(), oid, 110740, "2026-03-12"))
        self.wait_rev(oid, 2)
        inv = self.show(oid)
        self.assertEqual((inv["payments"][0]["tier"], inv["payments"][0]["discount"],
                          inv["payments"][0]["unearned_discount"], inv["balance"]),
                         (1, "11.30", "11.30", "11.30"))
        # open: what is queued stays (no reminder worker runs here to fire it)
        self.assertEqual(self.queue(cid, oid), {rkey(0, "2026-03-10", 3, oid): at9("2026-03-07")})
        # grant tier 0 to it: settled as on 03-10, 22.60 discount, closed
        q = self.approve(cid, oid, "ov-g", 2, pb.OVERRIDE_KIND_GRANT, tier=0, payment=0)
        self.wait_rev(oid, 3)
        self.wait_consumed(q)
        inv = self.show(oid)
        p = inv["payments"][0]
        self.assertEqual((p["date"], p["tier"], p["discount"], p["settled"],
                          p["unearned_discount"], inv["balance"], inv["status"],
                          inv["discount_earned"]),
                         ("2026-03-12", 0, "22.60", "1130.00", "0.00", "0.00", "paid", "22.60"))
        o = inv["overrides"][0]
        self.assertEqual((o["kind"], o["old_value"], o["new_value"], o["effect"]),
                         ("grant", "tier 1", "tier 0", "11.30"))
        self.assertIn("ov-g  grant payment 1: tier 1 -> tier 0, effect 11.30 USD",
                      self.st.ctl("order", "show", oid).stdout)
        self.assertEqual(self.queue(cid, oid), {})  # closed: no reminder left
        n = shard(cid)
        self.assertEqual(self.st.redis_cli("HGET", "sk:{s%d}:takeup" % n, "taken|t0|20000"), "1")
        self.assertEqual(self.st.redis_cli("HGET", "sk:{s%d}:takeup" % n, "disc|USD"), "2260")
        self.assertEqual(self.st.redis_cli("HGET", "sk:{s%d}:hist:%s" % (n, cid), "t0"), "1")
        a = self.applied(cid, "ov-g")[0]
        self.assertEqual((a.effect, a.invoice_revision, a.refusal_code), (1130, 3, ""))
        self.set_clock(ms(2026, 3, 1, 12))

    def test_rate_raises_a_tier_and_its_discount(self):
        cid, oid = "C-OVR", "SO-OVR"
        self.new_order(cid, oid)
        before = self.queue(cid, oid)
        # tier 1 from 1 % to 1.5 %: discount 16.95; effect 16.95 - 11.30 = 5.65
        q = self.approve(cid, oid, "ov-r", 1, pb.OVERRIDE_KIND_RATE, tier=1, rate=15000)
        self.wait_rev(oid, 2)
        self.wait_consumed(q)
        inv = self.show(oid)
        self.assertEqual([(t["rate"], t["discount"], t["payable"]) for t in inv["tiers"]],
                         [("2", "22.60", "1107.40"), ("1.5", "16.95", "1113.05")])
        o = inv["overrides"][0]
        self.assertEqual((o["kind"], o["old_value"], o["new_value"], o["effect"]),
                         ("rate", "1", "1.5", "5.65"))
        self.assertEqual(self.queue(cid, oid), before)  # same windows, same reminders
        n = shard(cid)
        self.assertEqual(self.st.redis_cli("HGET", "sk:{s%d}:takeup" % n, "offered|t1|15000"), "1")
        # a payment of the new payable in tier 1 settles it
        self.send(payment(self.eid(), oid, 111305, "2026-03-20"))
        self.wait_rev(oid, 3)
        inv = self.show(oid)
        self.assertEqual((inv["payments"][0]["discount"], inv["status"]), ("16.95", "paid"))

    def test_waive_an_unearned_discount(self):
        cid, oid = "C-OVW", "SO-OVW"
        self.new_order(cid, oid)
        # 1100.00 on 03-05 declared full: 22.60 earned, 7.40 short stays open
        self.set_clock(ms(2026, 3, 5, 12))
        self.send(payment(self.eid(), oid, 110000, "2026-03-05"))
        self.wait_rev(oid, 2)
        self.assertEqual(self.show(oid)["balance"], "7.40")
        q = self.approve(cid, oid, "ov-w", 2, pb.OVERRIDE_KIND_WAIVE)
        self.wait_rev(oid, 3)
        self.wait_consumed(q)
        inv = self.show(oid)
        p = inv["payments"][0]
        self.assertEqual((p["discount"], p["settled"], p["unearned_discount"], inv["balance"],
                          inv["status"], inv["discount_earned"]),
                         ("30.00", "1130.00", "0.00", "0.00", "paid", "30.00"))
        o = inv["overrides"][0]
        self.assertEqual((o["kind"], o["tier"], o["old_value"], o["new_value"], o["effect"]),
                         ("waive", None, "7.40 unearned", "0.00 unearned", "7.40"))
        self.assertEqual(self.queue(cid, oid), {})
        # a rule's refusal: nothing left to waive now (the invoice is paid)
        q = self.approve(cid, oid, "ov-w2", 3, pb.OVERRIDE_KIND_WAIVE)
        self.wait_consumed(q)
        self.assertEqual(self.show(oid)["revision"], 3)
        self.assertEqual([x.refusal_code for x in self.applied(cid, "ov-w2")], ["not_open"])
        self.set_clock(ms(2026, 3, 1, 12))

    def test_a_credit_note_keeps_the_extension(self):
        cid, oid = "C-OVN", "SO-OVN"
        self.new_order(cid, oid)
        q = self.approve(cid, oid, "ov-n", 1, pb.OVERRIDE_KIND_EXTEND, tier=0,
                         new_last_day="2026-03-15")
        self.wait_rev(oid, 2)
        self.wait_consumed(q)
        # 130.00 credited: the schedule is recomputed on 1000.00, the window
        # the director extended stays extended (2 % of 1000.00 = 20.00)
        self.send(credit(self.eid(), oid, 13000))
        self.wait_rev(oid, 3)
        inv = self.show(oid)
        self.assertEqual([(t["rate"], t["last_day"], t["discount"]) for t in inv["tiers"]],
                         [("2", "2026-03-15", "20.00"), ("1", "2026-03-22", "10.00")])
        self.assertEqual(self.queue(cid, oid), {rkey(0, "2026-03-15", 3, oid): at9("2026-03-12")})

    def test_kill9_leaves_the_order_pending_and_it_applies_once(self):
        cid, oid = "C-OVK", "SO-OVK"
        self.new_order(cid, oid)
        q = "sk:{audit}:ovq:%d" % shard(cid)

        def restart():
            self.st.start_discount("discount-1", env={"SKONTO_CLAIM_IDLE_MS": "100"})

        # read by this worker, which was killed before applying it
        self.st.kill9("discount-1")
        self.approve(cid, oid, "ov-k", 1, pb.OVERRIDE_KIND_RATE, tier=1, rate=12000)
        self.r.cmd("XREADGROUP", "GROUP", "discount", "discount-1", "COUNT", "10", "STREAMS", q,
                   ">")
        restart()
        self.wait_rev(oid, 2)
        self.wait_consumed(q)
        self.assertEqual(len(self.applied(cid, "ov-k")), 1)

        # read by a worker that died (another consumer): claimed once idle
        self.st.kill9("discount-1")
        self.approve(cid, oid, "ov-k", 1, pb.OVERRIDE_KIND_RATE, tier=1, rate=12000)
        self.approve(cid, oid, "ov-k2", 2, pb.OVERRIDE_KIND_RATE, tier=1, rate=13000)
        self.r.cmd("XREADGROUP", "GROUP", "discount", "discount-9", "COUNT", "10", "STREAMS", q,
                   ">")
        import time
        time.sleep(0.3)
        restart()
        self.wait_rev(oid, 3)
        self.wait_consumed(q)
        inv = self.show(oid)
        self.assertEqual(([o["override_id"] for o in inv["overrides"]], inv["tiers"][1]["rate"]),
                         (["ov-k", "ov-k2"], "1.3"))
        self.assertEqual(len(self.applied(cid, "ov-k")), 1)  # the redelivery: no second one
        self.assertEqual(len(self.applied(cid, "ov-k2")), 1)

    def test_malformed_order_is_acknowledged_and_changes_nothing(self):
        cid, oid = "C-OVM", "SO-OVM"
        self.new_order(cid, oid)
        q = "sk:{audit}:ovq:%d" % shard(cid)
        self.r.cmd("XADD", q, "*", "o", b"\xff\xfe junk")
        # an order naming another customer (whose shard has no such invoice)
        other = next(c for c in ("C-A", "C-B", "C-C", "C-D") if shard(c) != shard(cid))
        qq = self.approve(other, oid, "ov-m", 1, pb.OVERRIDE_KIND_RATE, tier=1, rate=15000)
        self.wait_consumed(q)
        self.wait_consumed(qq)
        self.assertEqual(self.show(oid)["revision"], 1)
        self.assertIn("does not decode", self.st.log("discount-1"))
        self.assertEqual([x.refusal_code for x in self.applied(other, "ov-m")],
                         ["unknown_order"])
        # a malformed order that names its override is answered bad_request
        q = self.approve(cid, oid, "ov-bad", 0, pb.OVERRIDE_KIND_RATE, tier=1, rate=15000)
        self.wait_consumed(q)
        self.assertEqual([x.refusal_code for x in self.applied(cid, "ov-bad")], ["bad_request"])
        self.assertEqual(self.show(oid)["revision"], 1)



class ReconcileTest(OverrideCase):
    """A stack of its own: every override applied here has its record."""

    def test_reconcile(self):
        cid, oid = "C-OVC", "SO-OVC"
        self.new_order(cid, oid)
        q = self.approve(cid, oid, "ov-c", 1, pb.OVERRIDE_KIND_EXTEND, tier=0,
                         new_last_day="2026-03-16")
        self.wait_rev(oid, 2)
        self.wait_consumed(q)
        # the audit worker's record of it: approved and applied
        rec = pb.OverrideRecord(status=pb.OverrideRecord.APPLIED)
        rec.request.override_id, rec.request.order_id = "ov-c", oid
        rec.request.change.kind = pb.OVERRIDE_KIND_EXTEND
        rec.request.change.new_last_day = "2026-03-16"
        rec.applied.invoice_revision = 2
        self.r.cmd("HSET", "sk:{audit}:ovr", "ov-c", rec.SerializeToString())
        r = self.st.ctl("audit", "reconcile", "--json", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        import json
        out = json.loads(r.stdout)
        self.assertEqual(out["differ"], [])
        self.assertGreaterEqual(out["checked"], 1)

        # without its record the extension is a write nobody approved
        self.r.cmd("HDEL", "sk:{audit}:ovr", "ov-c")
        r = self.st.ctl("audit", "reconcile", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("order %s (customer %s): tier 1 last_day: stored 2026-03-16, expected "
                      "2026-03-10" % (oid, cid), r.stdout)
        self.r.cmd("HSET", "sk:{audit}:ovr", "ov-c", rec.SerializeToString())

        # an admin SET that edits the invoice's tier 1 behind the workers' back
        key = "sk:{s%d}:inv:%s" % (shard(cid), oid)
        raw = self.r.cmd("GET", key)
        head, body = raw.split(b"|", 1)
        st = pb_state()
        st.ParseFromString(body)
        st.tiers[1].rate_ppm = 15000
        st.tiers[1].discount = 1695
        self.r.cmd("SET", key, head + b"|" + st.SerializeToString())
        r = self.st.ctl("audit", "reconcile", "--json", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        out = json.loads(r.stdout)
        mine = [d for d in out["differ"] if d["order_id"] == oid]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["customer_id"], cid)
        self.assertEqual(sorted((d["tier"], d["field"], d["stored"], d["expected"])
                                for d in mine[0]["differences"]),
                         [(1, "discount", "16.95", "11.30"), (1, "rate", "1.5", "1")])


def pb_state():
    import skproto
    return skproto.load_invoice_state().InvoiceState()


class ErpOnlyTest(OverrideCase):
    """CURVE on: an erp key and an operator key."""

    @classmethod
    def extra_setup(cls):
        st = cls.st
        server_key, cls.server_pub, _ = st.keygen("server")
        cls.erp_key, _, erp_line = st.keygen("erp", "erp-1", "erp")
        cls.op_key, _, op_line = st.keygen("op", "ops.anna", "operator")
        registry = os.path.join(st.dir, "authorized_keys")
        with open(registry, "w") as f:
            f.write("%s\n%s\n" % (erp_line, op_line))
        st.start_ingest(env={"SKONTO_INGEST_SECRET_KEY_FILE": server_key,
                             "SKONTO_AUTHORIZED_KEYS": registry})
        cls.cli = cls.curve_client(cls.erp_key)
        cls.op = cls.curve_client(cls.op_key)

    @classmethod
    def curve_client(cls, key):
        c = skingest.Client.__new__(skingest.Client)
        c.ctx = zmq.Context.instance()
        c.sock = c.ctx.socket(zmq.DEALER)
        c.sock.setsockopt(zmq.LINGER, 0)
        c.sock.curve_secretkey = read_key(key)
        c.sock.curve_publickey = zmq.curve_public(read_key(key))
        c.sock.curve_serverkey = read_key(cls.server_pub)
        c.sock.connect(cls.st.ingest_endpoint)
        c.kind = zmq.DEALER
        return c

    @classmethod
    def tearDownClass(cls):
        cls.op.close()
        super().tearDownClass()

    def test_operator_may_not_change_a_schedule_erp_may(self):
        cid, oid = "C-ERP", "SO-ERP"
        self.new_order(cid, oid)
        # an operator's version 2 with other terms: refused, pointing to overrides
        ack = self.send(order(self.eid(), oid, cid, version=2, terms="3/8,n/30"),
                        status=skingest.REJECTED, cli=self.op)
        self.assertEqual(ack.reason_code, "erp_only")
        self.assertIn("skontoctl override request", ack.message)
        # ... and one changing only the amount
        ack = self.send(order(self.eid(), oid, cid, version=2, amount=120000),
                        status=skingest.REJECTED, cli=self.op)
        self.assertEqual(ack.reason_code, "erp_only")
        self.assertEqual(self.show(oid)["version"], 1)
        # the same version 1 again from the operator: a duplicate as before
        self.send(order(self.eid(), oid, cid), status=skingest.DUPLICATE, cli=self.op)

        # the ERP's version 2 with other terms: applied, handed to the log with its sender
        self.send(order(self.eid(), oid, cid, version=2, terms="3/8,n/30"))
        self.wait_rev(oid, 2)
        inv = self.show(oid)
        self.assertEqual((inv["version"], inv["terms"], inv["tiers"][0]["discount"]),
                         (2, "3/8,n/30", "33.90"))
        sc = [h.schedule_changed for h in self.handoffs(cid)
              if h.WhichOneof("body") == "schedule_changed"]
        self.assertEqual(len(sc), 1)
        s = sc[0]
        self.assertEqual((s.order_id, s.sender, s.old_version, s.new_version, s.old_terms,
                          s.new_terms, s.old_amount, s.new_amount, s.old_baseline,
                          s.new_baseline, s.currency),
                         (oid, "erp-1", 1, 2, TERMS, "3/8,n/30", 113000, 113000, SHIP, SHIP,
                          "USD"))
        self.assertTrue(s.event_id.startswith("OV"))
        # an operator's version 3 that changes no schedule input (the salesperson) is accepted
        e = order(self.eid(), oid, cid, version=3, terms="3/8,n/30")
        e.order_shipped.salesperson = "S-2"
        self.send(e, cli=self.op)
        self.wait_rev(oid, 3)
        self.assertEqual(len([h for h in self.handoffs(cid)
                              if h.WhichOneof("body") == "schedule_changed"]), 1)

    def test_a_value_stored_before_the_schedule_hash_counts_as_changed(self):
        cid, oid = "C-ERP3", "SO-ERP3"
        self.new_order(cid, oid)
        over = "sk:{s%d}:over" % shard(cid)
        value = self.st.redis_cli("HGET", over, oid)
        ver, content, q, sched = value.split(":")
        self.assertEqual((ver, q, len(sched)), ("1", "1", 16))
        # as ingest stored it before issue 9: three parts
        self.st.redis_cli("HSET", over, oid, ":".join((ver, content, q)))
        e = order(self.eid(), oid, cid, version=2)
        e.order_shipped.salesperson = "S-2"  # no schedule input changed, but who can tell
        ack = self.send(e, status=skingest.REJECTED, cli=self.op)
        self.assertEqual(ack.reason_code, "erp_only")
        # the ERP may; the value gets its fourth part and the event number goes on
        self.send(order(self.eid(), oid, cid, version=2))
        self.wait_rev(oid, 2)
        ver, content, q, sched2 = self.st.redis_cli("HGET", over, oid).split(":")
        self.assertEqual((ver, q, sched2), ("2", "2", sched))


if __name__ == "__main__":
    unittest.main()
