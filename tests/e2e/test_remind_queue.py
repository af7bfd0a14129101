"""Issue 8: the discount worker's side of the due queue (docs/REMINDERS.md).

Through a real redis-server, skonto-ingest and skonto-discount, events sent
as an ERP sends them, on the simulated clock (SKONTO_CLOCK=redis, moved here
by writing sk:{sys}:clock): what lands in sk:{sN}:rdue (members = reminder
and statement keys, scores = due instants in ms) and sk:{sN}:stmt, compared
with instants computed independently here with Python's zoneinfo (the same
system tz database). That queue is what the reminder worker fires from, so
a wrong member or score is a reminder at the wrong time, a missing one a
customer not told, an extra one a mail too many.
"""
import datetime
import os
import subprocess
import sys
import unittest
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skingest  # noqa: E402
from harness import Stack, log_text, wait_for  # noqa: E402
from skredis import Redis, shard  # noqa: E402

pb = None
NY = "America/New_York"
TERMS = "2/8,1/20,n/30"  # shipped 03-02: last days 03-10 and 03-22, net 04-01
SHIP = "2026-03-02"


def ms(y, mo, d, h=0, mi=0, tz="UTC"):
    return int(datetime.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def local9(day, tz):
    """09:00 (the default send hour) on ISO day `day` in zone tz, as ms."""
    d = datetime.date.fromisoformat(day)
    return ms(d.year, d.month, d.day, 9, 0, tz)


def rkey(tier, last, lead, oid):
    return "r|%d|%s|%d|%s" % (tier, last, lead, oid)


def skey(at_ms, cid):
    t = datetime.datetime.fromtimestamp(at_ms / 1000, datetime.timezone.utc)
    return "s|%s|%s" % (t.strftime("%Y-%m-%dT%H:%M:%SZ"), cid)


def env(eid, seq):
    return pb.Envelope(event_id=eid, source="erp-queue", sequence=seq)


def customer(eid, cid, tz=NY, statement=None):
    e = env(eid, 1)
    c = e.customer
    c.customer_id, c.name, c.email, c.timezone, c.locale = cid, "Acme", "ap@example.com", tz, "en-US"
    c.statement = pb.STATEMENT_WEEKLY if statement is None else statement
    c.terms = TERMS
    return e


def order(eid, oid, cid, ship=SHIP, version=0, amount=113000):
    e = env(eid, 2)
    o = e.order_shipped
    o.order_id, o.customer_id, o.salesperson, o.currency = oid, cid, "S-1", "USD"
    o.amount, o.tax, o.ship_date, o.terms, o.version = amount, 13000, ship, TERMS, version
    return e


def payment(eid, oid, amount, paid_on):
    e = env(eid, 3)
    p = e.payment_received
    p.order_id, p.paid_on, p.amount, p.full = oid, paid_on, amount, True
    return e


def credit(eid, oid, amount):
    e = env(eid, 4)
    e.credit_note.order_id, e.credit_note.issued_on, e.credit_note.amount = oid, "2026-03-03", amount
    return e


def cancel(eid, oid):
    e = env(eid, 5)
    e.order_cancelled.order_id, e.order_cancelled.reason = oid, "test"
    return e


def start_stack():
    """redis-server and ingest on the simulated clock at 2026-03-01 12:00Z,
    and an ERP's client of ingest."""
    global pb
    pb = skingest.load()
    st = Stack()
    st.__enter__()
    st.env["SKONTO_CLOCK"] = "redis"
    st.redis_cli("SET", "sk:{sys}:clock", ms(2026, 3, 1, 12))
    st.start_ingest()
    return st, skingest.Client(st.ingest_endpoint)


def start_discount(st, name):
    st.start_discount(name)
    wait_for(lambda: st.redis_cli("HEXISTS", "sk:{sys}:hb", name) == "1",
             what=name + "'s heartbeat")


class RemindQueueTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st, cls.cli = start_stack()
        start_discount(cls.st, "discount-1")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.cli.close()
        cls.st.close()

    @classmethod
    def set_clock(cls, at_ms):
        cls.st.redis_cli("SET", "sk:{sys}:clock", at_ms)

    def send(self, e):
        ack = self.cli.send(e)
        self.assertIsNotNone(ack, "no ack; ingest log:\n" + self.st.log("ingest"))
        self.assertEqual(ack.status, skingest.ACCEPTED, ack.message)

    def eid(self):
        RemindQueueTest.n += 1
        return "Q%d" % RemindQueueTest.n

    @staticmethod
    def next_only(plan):
        """What the due queue holds of an invoice whose plan (key -> due, in
        plan order) is this and of which nothing was sent: its next
        reminder, the earliest (equal instants: the first in plan order)."""
        if not plan:
            return {}
        k = min(plan, key=lambda k: plan[k])
        return {k: plan[k]}

    def queue(self, cid, oid=None):
        """{member: score} of the customer's shard's rdue: the reminders of
        order oid (every member of the shard when oid is None)."""
        out = self.st.redis_cli("ZRANGE", "sk:{s%d}:rdue" % shard(cid), 0, -1, "WITHSCORES")
        lines = out.splitlines() if out else []
        got = {lines[i]: int(lines[i + 1]) for i in range(0, len(lines), 2)}
        if oid is None:
            return got
        return {k: v for k, v in got.items() if k.startswith("r|") and k.endswith("|" + oid)}

    def stmt(self, cid):
        return self.st.redis_cli("HGET", "sk:{s%d}:stmt" % shard(cid), cid)

    def statements(self, cid):
        return {k: v for k, v in self.queue(cid).items()
                if k.startswith("s|") and k.endswith("|" + cid)}

    def wait_queue(self, cid, oid, want, what):
        try:
            wait_for(lambda: self.queue(cid, oid) == want, timeout=15, what=what)
        except AssertionError:
            self.assertEqual(self.queue(cid, oid), want, what + "; discount log:\n" +
                             self.st.log("discount-1")[-3000:])

    def applied(self, oid, status=None):
        def ok():
            r = self.st.ctl("order", "show", oid, "--json", check=False)
            return r.returncode == 0 and (status is None or ('"status":"%s"' % status) in
                                          r.stdout.replace(" ", ""))
        wait_for(ok, timeout=15, what="order %s %s" % (oid, status or "stored"))

    def ny_customer(self, cid):
        self.send(customer(self.eid(), cid))
        wait_for(lambda: self.stmt(cid), timeout=15, what="statement of " + cid)

    def queued_order(self, cid, oid, customer=True):
        """On 2026-03-01 12:00Z: New York customer cid (when customer) and its
        order oid, once the order's next reminder is queued."""
        self.set_clock(ms(2026, 3, 1, 12))
        if customer:
            self.ny_customer(cid)
        self.send(order(self.eid(), oid, cid))
        wait_for(lambda: len(self.queue(cid, oid)) == 1, timeout=15, what=oid + " queued")

    # ------------------------------------------------------------------ tests

    def test_new_york_order_across_the_dst_change(self):
        self.set_clock(ms(2026, 3, 1, 12))  # a Sunday, EST
        self.ny_customer("C-DST")
        # the statement: weekly on Monday 09:00 New York, the first after now
        self.assertEqual(self.stmt("C-DST"), "s|2026-03-02T14:00:00Z|C-DST")
        self.assertEqual(self.statements("C-DST"), {"s|2026-03-02T14:00:00Z|C-DST": ms(2026, 3, 2, 14)})
        self.send(order(self.eid(), "SO-DST", "C-DST"))
        want = {
            rkey(0, "2026-03-10", 3, "SO-DST"): ms(2026, 3, 7, 14),   # 09:00 EST
            rkey(0, "2026-03-10", 1, "SO-DST"): ms(2026, 3, 9, 13),   # 09:00 EDT
            rkey(1, "2026-03-22", 3, "SO-DST"): local9("2026-03-19", NY),
            rkey(1, "2026-03-22", 1, "SO-DST"): local9("2026-03-21", NY),
        }
        self.assertEqual(want[rkey(1, "2026-03-22", 1, "SO-DST")], ms(2026, 3, 21, 13))
        # the queue holds the next one only (the reminder worker queues each
        # next when it settles one: test_reminder.py's chain test)
        self.wait_queue("C-DST", "SO-DST", self.next_only(want), "the order's next reminder")

    def test_late_orders_collapse_passed_reminders_and_skip_closed_windows(self):
        self.ny_customer("C-LATE")
        second = {(1, "2026-03-22", 3): ms(2026, 3, 19, 13), (1, "2026-03-22", 1): ms(2026, 3, 21, 13)}
        cases = [
            # 03-08 00:00Z: the 3-day reminder of the 03-10 window has passed,
            # the 1-day one has not: the passed one is due at once (now)
            (ms(2026, 3, 8, 0), "one passed reminder due now",
             {(0, "2026-03-10", 3): "now", (0, "2026-03-10", 1): ms(2026, 3, 9, 13)}),
            # 03-09 20:00Z: both passed, the window still open (until 03-11
            # 04:00Z): one reminder, due now
            (ms(2026, 3, 9, 20), "several passed reminders make one",
             {(0, "2026-03-10", 1): "now"}),
            # 03-11 04:00Z is midnight in New York: the first window has closed
            (ms(2026, 3, 11, 4), "a closed window never queued", {}),
        ]
        for i, (now, what, first) in enumerate(cases):
            oid = "SO-LATE%d" % i
            self.set_clock(now)
            self.send(order(self.eid(), oid, "C-LATE"))
            want = {rkey(t, d, lead, oid): now if at == "now" else at
                    for (t, d, lead), at in list(first.items()) + list(second.items())}
            self.wait_queue("C-LATE", oid, self.next_only(want), what)

    def test_payment_cancel_and_full_credit_remove_every_reminder(self):
        self.set_clock(ms(2026, 3, 1, 12))
        self.ny_customer("C-CLOSE")
        for oid in ("SO-PAY", "SO-CXL", "SO-CRD", "SO-PART"):
            self.send(order(self.eid(), oid, "C-CLOSE"))
        for oid in ("SO-PAY", "SO-CXL", "SO-CRD", "SO-PART"):
            wait_for(lambda: len(self.queue("C-CLOSE", oid)) == 1, timeout=15, what=oid)
        before_part = self.queue("C-CLOSE", "SO-PART")
        self.send(payment(self.eid(), "SO-PAY", 113000 - 2260, "2026-03-05"))
        self.send(cancel(self.eid(), "SO-CXL"))
        self.send(credit(self.eid(), "SO-CRD", 113000))
        p = payment(self.eid(), "SO-PART", 50000, "2026-03-05")
        p.payment_received.full = False
        self.send(p)
        self.applied("SO-PAY", "paid")
        self.applied("SO-CXL", "cancelled")
        wait_for(lambda: self.st.ctl_json("order", "show", "SO-CRD")["balance"] == "0.00",
                 timeout=15, what="SO-CRD credited in full")
        wait_for(lambda: len(self.st.ctl_json("order", "show", "SO-PART")["payments"]) == 1,
                 timeout=15, what="SO-PART's partial payment")
        for oid in ("SO-PAY", "SO-CXL", "SO-CRD"):
            self.wait_queue("C-CLOSE", oid, {}, oid + " keeps no reminder")
        # a partial payment leaves the invoice open: its reminders stay as they were
        self.assertEqual(self.queue("C-CLOSE", "SO-PART"), before_part)

    def test_a_new_version_with_moved_dates_replaces_the_keys(self):
        self.queued_order("C-VER", "SO-VER")
        self.send(order(self.eid(), "SO-VER", "C-VER", ship="2026-03-04", version=2))
        self.wait_queue("C-VER", "SO-VER", {
            rkey(0, "2026-03-12", 3, "SO-VER"): ms(2026, 3, 9, 13),
        }, "v2's next key only")

    def test_a_sent_reminder_is_not_queued_again_by_a_new_version(self):
        self.queued_order("C-SENT", "SO-SENT")
        # as the reminder worker leaves it: sent, out of rdue (and one in process)
        n = shard("C-SENT")
        sent = rkey(0, "2026-03-10", 3, "SO-SENT")
        busy = rkey(0, "2026-03-10", 1, "SO-SENT")
        self.st.redis_cli("ZREM", "sk:{s%d}:rdue" % n, sent, busy)
        self.st.redis_cli("HSET", "sk:{s%d}:rsent" % n, sent, '{"key":"%s"}' % sent)
        self.st.redis_cli("ZADD", "sk:{s%d}:rproc" % n, 9999999999999, busy)
        # version 2: same dates, another amount, stored after the first reminder's time
        self.set_clock(ms(2026, 3, 8, 0))
        self.send(order(self.eid(), "SO-SENT", "C-SENT", version=2, amount=120000))
        wait_for(lambda: self.st.ctl_json("order", "show", "SO-SENT")["amount"] == "1200.00",
                 timeout=15, what="v2 stored")
        # the next one neither sent nor in process
        self.assertEqual(self.queue("C-SENT", "SO-SENT"), {
            rkey(1, "2026-03-22", 3, "SO-SENT"): ms(2026, 3, 19, 13),
        })

    def test_a_zone_change_re_times_what_is_queued_and_the_statement(self):
        self.queued_order("C-TZ", "SO-TZ")
        n = shard("C-TZ")
        gone = rkey(0, "2026-03-10", 3, "SO-TZ")  # sent meanwhile: must not come back
        self.st.redis_cli("ZREM", "sk:{s%d}:rdue" % n, gone)
        self.st.redis_cli("HSET", "sk:{s%d}:rsent" % n, gone, '{"key":"%s"}' % gone)
        self.send(customer(self.eid(), "C-TZ", tz="Asia/Shanghai"))
        sh = "Asia/Shanghai"
        self.wait_queue("C-TZ", "SO-TZ", {
            rkey(0, "2026-03-10", 1, "SO-TZ"): local9("2026-03-09", sh),
        }, "the next one, re-timed to Shanghai's 09:00 (01:00Z)")
        self.assertEqual(local9("2026-03-09", sh), ms(2026, 3, 9, 1))
        want = "s|2026-03-02T01:00:00Z|C-TZ"
        wait_for(lambda: self.stmt("C-TZ") == want, timeout=15, what="statement re-timed")
        self.assertEqual(self.statements("C-TZ"), {want: ms(2026, 3, 2, 1)})

    def test_a_zone_change_re_times_every_open_invoice_past_one_chunk(self):
        """More open invoices than one re-time call takes (200): all moved."""
        self.queued_order("C-MANY", "SO-MANY-0")
        n = 230
        for i in range(1, n):
            self.send(order(self.eid(), "SO-MANY-%d" % i, "C-MANY"))
        lead1 = [rkey(0, "2026-03-10", 3, "SO-MANY-%d" % i) for i in range(n)]
        key = "sk:{s%d}:rdue" % shard("C-MANY")

        r = Redis(self.st.redis_sock)
        self.addCleanup(r.close)

        def scores():
            return set(r.pipe([("ZSCORE", key, k) for k in lead1]))
        wait_for(lambda: scores() == {str(ms(2026, 3, 7, 14))}, timeout=30, what="all queued")
        self.send(customer(self.eid(), "C-MANY", tz="Asia/Shanghai"))
        wait_for(lambda: scores() == {str(ms(2026, 3, 7, 1))}, timeout=30,
                 what="all %d re-timed" % n)
        self.assertEqual(sum(1 for k in self.queue("C-MANY") if "|SO-MANY-" in k), n)

    def test_statement_none_and_opt_out_remove_the_statement(self):
        self.set_clock(ms(2026, 3, 1, 12))
        for cid in ("C-NONE", "C-OUT"):
            self.ny_customer(cid)
            self.assertEqual(len(self.statements(cid)), 1)
        self.queued_order("C-NONE", "SO-NONE", customer=False)
        self.send(customer(self.eid(), "C-NONE", statement=pb.STATEMENT_NONE))
        wait_for(lambda: self.stmt("C-NONE") == "", timeout=15, what="C-NONE's statement gone")
        self.assertEqual(self.statements("C-NONE"), {})
        # statements stop, reminders do not
        self.assertEqual(len(self.queue("C-NONE", "SO-NONE")), 1)
        # opt-out (the profile's optout field), then a customer event
        self.st.redis_cli("HSET", "sk:{s%d}:cust:C-OUT" % shard("C-OUT"), "optout", "1")
        self.send(customer(self.eid(), "C-OUT", tz="Europe/Berlin"))
        wait_for(lambda: self.stmt("C-OUT") == "", timeout=15, what="C-OUT's statement gone")
        self.assertEqual(self.statements("C-OUT"), {})
        # and an order of an opted-out customer does not bring one back (its
        # reminders are queued: the reminder worker drops them as opted_out
        # at send time, so an opt-in before then still gets them)
        self.queued_order("C-OUT", "SO-OUT", customer=False)
        self.assertEqual(self.stmt("C-OUT"), "")
        self.assertEqual(self.statements("C-OUT"), {})

    def test_an_order_of_a_customer_without_statement_entry_adds_one(self):
        self.set_clock(ms(2026, 3, 1, 12))
        self.ny_customer("C-NEW")
        n = shard("C-NEW")
        self.st.redis_cli("ZREM", "sk:{s%d}:rdue" % n, self.stmt("C-NEW"))
        self.st.redis_cli("HDEL", "sk:{s%d}:stmt" % n, "C-NEW")
        self.send(order(self.eid(), "SO-NEW", "C-NEW"))
        wait_for(lambda: self.stmt("C-NEW") == "s|2026-03-02T14:00:00Z|C-NEW", timeout=15,
                 what="statement added by the order")
        self.assertEqual(self.statements("C-NEW"), {"s|2026-03-02T14:00:00Z|C-NEW": ms(2026, 3, 2, 14)})


class SettingsTest(unittest.TestCase):
    def test_a_bad_reminder_setting_stops_the_discount_worker(self):
        """One line naming the variable and its value, exit status 2, as for
        every setting (tests/e2e/test_config.py)."""
        with Stack() as st:
            for var, value, want in (
                    ("SKONTO_REMINDER_LEADS", "1,3", "want distinct lead times in descending"),
                    ("SKONTO_REMINDER_HOUR", "25:00", ""),
                    ("SKONTO_DEFAULT_TZ", "Mars/Olympus", ""),
                    ("SKONTO_STATEMENT_WEEKDAY", "Funday", ""),
                    ("SKONTO_MAIL_DOMAIN", "bad domain", "")):
                with self.subTest(var=var):
                    r = subprocess.run([os.path.join(st.bin, "skonto-discount")],
                                       env=dict(st.env, **{var: value}), capture_output=True,
                                       text=True, timeout=20)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    text = log_text(r.stderr)
                    self.assertEqual(len(text.strip().splitlines()), 1, text)
                    self.assertIn('%s "%s"' % (var, value), text)
                    self.assertIn(want, text)
                    self.assertIn("refusing to start", text)


class BackfillTest(unittest.TestCase):
    """Invoices and customers stored while nothing queued them (the marker
    absent, the queue empty, as before issue 8) are queued at the next start,
    once."""

    def setUp(self):
        self.st, self.cli = start_stack()

    def tearDown(self):
        self.cli.close()
        self.st.close()

    def start(self, name):
        start_discount(self.st, name)

    def snapshot(self):
        out = {}
        r = Redis(self.st.redis_sock)
        for s in range(16):
            z = self.st.redis_cli("ZRANGE", "sk:{s%d}:rdue" % s, 0, -1, "WITHSCORES").splitlines()
            out.update({z[i]: int(z[i + 1]) for i in range(0, len(z), 2)})
            h = r.cmd("HGETALL", "sk:{s%d}:stmt" % s)
            # (the field "" only keeps the hash a hash table; apply.lua)
            out.update({"stmt:" + h[i]: h[i + 1] for i in range(0, len(h), 2) if h[i]})
        r.close()
        return out

    def wipe(self):
        self.st.redis_cli("DEL", "sk:{sys}:rbackfill")
        for s in range(16):
            self.st.redis_cli("DEL", "sk:{s%d}:rdue" % s, "sk:{s%d}:stmt" % s)

    def test_backfill_queues_what_was_stored_and_is_idempotent(self):
        self.start("discount-1")
        n = 0
        for c in range(6):
            cid = "C-B%d" % c
            n += 1
            ack = self.cli.send(customer("B%d" % n, cid, tz=(NY, "Asia/Shanghai", "")[c % 3]))
            self.assertEqual(ack.status, skingest.ACCEPTED, ack.message)
            for o in range(3):
                n += 1
                ack = self.cli.send(order("B%d" % n, "SO-B%d-%d" % (c, o), cid))
                self.assertEqual(ack.status, skingest.ACCEPTED, ack.message)
        ack = self.cli.send(payment("B-PAID", "SO-B0-0", 113000 - 2260, "2026-03-05"))
        self.assertEqual(ack.status, skingest.ACCEPTED, ack.message)

        def settled():
            r = self.st.ctl("order", "show", "SO-B0-0", "--json", check=False)
            return r.returncode == 0 and '"paid"' in r.stdout
        wait_for(settled, timeout=20, what="all applied")
        wait_for(lambda: len([k for k in self.snapshot() if k.startswith("r|")]) == 17,
                 timeout=20, what="17 open invoices queued")
        expected = self.snapshot()
        self.assertEqual(len([k for k in expected if k.startswith("stmt:")]), 6)
        self.assertFalse([k for k in expected if k.endswith("|SO-B0-0")])

        # as before the due queue existed: no marker, nothing queued
        self.st.stop("discount-1")
        self.wipe()
        self.assertEqual(self.snapshot(), {})
        self.start("discount-2")
        self.assertEqual(self.snapshot(), expected)
        self.assertIn("due queue backfilled: 17 reminders of 17 open invoices, 6 statements",
                      self.st.log("discount-2"))
        self.assertEqual(self.st.redis_cli("GET", "sk:{sys}:rbackfill"), "1")

        # a later start (marker set) does nothing; a start without the marker
        # (a backfill killed midway), later on the clock, adds nothing twice
        # and moves nothing already queued
        self.st.stop("discount-2")
        self.start("discount-3")
        self.assertNotIn("backfilled", self.st.log("discount-3"))
        self.st.stop("discount-3")
        self.st.redis_cli("DEL", "sk:{sys}:rbackfill")
        self.st.redis_cli("SET", "sk:{sys}:clock", ms(2026, 3, 1, 13))
        self.start("discount-4")
        self.assertIn("due queue backfilled: 0 reminders of 17 open invoices, 0 statements",
                      self.st.log("discount-4"))
        self.assertEqual(self.snapshot(), expected)


if __name__ == "__main__":
    unittest.main()
