"""skonto-reminder (issue 8, the worker): what customers receive and what is
recorded, through a real redis-server, real ingest and discount workers for
the invoices, and a real SMTP server (Debian's python3-aiosmtpd, on a free
loopback port, in this process).

These tests hold the worker to what it does with what is queued, so each
test first lets the discount worker apply its events and then empties the
due queue the discount worker filled (`own_queue`), and queues exactly the
reminders and statements it is about: a ZADD of the key into the
customer's `rdue` (and, for a statement, its `stmt` entry), as
docs/REMINDERS.md says the discount worker does. The two together, from
the ERP's events to the mails, are tests/e2e/test_remind_scenario.py. Invoices come from real events through
ingest and discount. The worker's business time is fixed (SKONTO_CLOCK), so
which windows are open is known. Mails are read with Python's email package;
expected amounts are computed here from the terms (half-up percent of the
amount), dates from the calendar.
"""
import asyncio
import collections
import datetime
import email
import email.policy
import hashlib
import itertools
import json
import os
import threading
import time
import unittest
import urllib.request

from aiosmtpd.controller import Controller

import skingest
from harness import Stack, free_port, wait_for
from skredis import shard

ACCEPTED = 1
DOMAIN = "skonto.test"
FROM = "Skonto Billing <billing@skonto.test>"
REPLY_TO = "Sales <sales@skonto.test>"
TERMS = "2/0,1/10,0.5/30,n/60"
# Monday 2026-11-09, 09:30 in New York (EST), 22:30 in Shanghai
NOW = "2026-11-09T14:30:00Z"
pb = None
EVENTS = itertools.count(1)


def setUpModule():
    global pb
    pb = skingest.load()


def ms(iso):
    return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def rkey(oid, tier, last_day, lead):
    return "r|%d|%s|%d|%s" % (tier, last_day, lead, oid)


def skey(cid, at):
    return "s|%s|%s" % (at, cid)


def msgid(key):
    return "<%s.%s@%s>" % (key[0], hashlib.sha256(key.encode()).hexdigest()[:32], DOMAIN)


def pct(amount, ppm):
    return (amount * ppm + 500000) // 1000000


class Sink:
    """An SMTP server's handler: accepts everything but RCPT nouser@ (550);
    the first mail to drop@ is taken and the connection closed before the
    answer (the sender cannot know: ambiguous); keeps (recipients, raw bytes)
    of each mail; can take `delay` s per mail."""

    def __init__(self, delay=0.0):
        self.lock = threading.Lock()
        self.raw = []
        self.delay = delay
        self.dropped = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nouser@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if envelope.rcpt_tos[0].startswith("drop@") and not self.dropped:
            self.dropped.append(envelope.original_content)
            server.transport.close()
            return "250 never seen"
        with self.lock:
            self.raw.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Message accepted"

    def mails(self):
        with self.lock:
            raw = list(self.raw)
        return [(to, email.message_from_bytes(b, policy=email.policy.default)) for to, b in raw]

    def ids(self):
        return [m["Message-ID"] for _, m in self.mails()]


class ReminderCase(unittest.TestCase):
    """One redis-server, ingest and discount for the class; each test starts
    its own SMTP server and reminder worker(s)."""

    @classmethod
    def setUpClass(cls):
        cls.st = Stack()
        cls.st.__enter__()
        cls.st.start_ingest()
        cls.st.start_discount(env={"SKONTO_TODAY": "2026-11-05"})
        cls.cli = skingest.Client(cls.st.ingest_endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.cli.close()
        cls.st.close()

    def setUp(self):
        self.sink = Sink()
        self.smtp_port = free_port()
        self.smtp = Controller(self.sink, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        self.workers = []
        self.owned = False

    def tearDown(self):
        for name in self.workers:
            self.st.stop(name)
        if self.smtp:
            self.smtp.stop()

    # -- events, through ingest
    def send(self, env):
        n = next(EVENTS)
        env.event_id = "E-%d" % n
        env.source = "erp-reminder"
        env.sequence = n
        ack = self.cli.send(env)
        self.assertIsNotNone(ack, self.st.log("ingest"))
        self.assertEqual(ack.status, ACCEPTED, ack.message)

    def customer(self, cid, tz="America/New_York", locale="en-US", mail="ap@example.com",
                 name="Acme Inc", reminders=None):
        env = pb.Envelope()
        c = env.customer
        c.customer_id, c.name, c.email, c.timezone, c.locale = cid, name, mail, tz, locale
        c.statement, c.terms = pb.STATEMENT_WEEKLY, TERMS
        if reminders is not None:
            c.reminders = reminders
        self.send(env)

    def order(self, oid, cid, amount=113000, currency="USD", ship="2026-11-02", wait=True):
        env = pb.Envelope()
        o = env.order_shipped
        o.order_id, o.customer_id, o.salesperson = oid, cid, "S-1"
        o.currency, o.amount, o.tax, o.ship_date, o.terms = currency, amount, 0, ship, TERMS
        self.send(env)
        if wait:
            self.wait_invoices(cid, [oid])

    def pay(self, oid, amount, paid_on="2026-11-05"):
        env = pb.Envelope()
        p = env.payment_received
        p.order_id, p.paid_on, p.amount, p.full = oid, paid_on, amount, True
        self.send(env)

    def wait_invoices(self, cid, oids, timeout=30):
        keys = ["sk:{s%d}:inv:%s" % (shard(cid), o) for o in oids]
        wait_for(lambda: int(self.st.redis_cli("EXISTS", *keys)) == len(keys), timeout,
                 "invoices stored by discount")

    def r(self, *args):
        return self.st.redis_cli(*args)

    # -- the queue, as docs/REMINDERS.md says the discount worker fills it
    def own_queue(self):
        """Once per test, before its first key: every event applied, then the
        discount worker's reminders and statements out of the queue."""
        if self.owned:
            return
        self.owned = True
        self.st.wait_drained()
        for s in range(16):
            self.r("DEL", "sk:{s%d}:rdue" % s, "sk:{s%d}:stmt" % s)

    def queue(self, cid, key, due):
        self.own_queue()
        self.r("ZADD", "sk:{s%d}:rdue" % shard(cid), ms(due), key)

    def record(self, cid, key):
        v = self.r("HGET", "sk:{s%d}:rsent" % shard(cid), key)
        return json.loads(v) if v else None

    # -- the worker
    def start_reminder(self, name="reminder-1", clock=NOW, **env):
        self.metrics_port = free_port()
        e = {"SKONTO_WORKER_NAME": name, "SKONTO_CLOCK": "fixed:" + clock,
             "SKONTO_SMTP_URL": "smtp://127.0.0.1:%d" % self.smtp_port,
             "SKONTO_MAIL_FROM": FROM, "SKONTO_MAIL_REPLY_TO": REPLY_TO,
             "SKONTO_MAIL_DOMAIN": DOMAIN,
             "SKONTO_METRICS_ADDR": "127.0.0.1:%d" % self.metrics_port}
        e.update(env)
        self.st.start(name, "skonto-reminder", env=e)
        self.workers.append(name)
        port = self.metrics_port
        wait_for(lambda: self._get(port) is not None, 10, "reminder metrics endpoint")
        return port

    @staticmethod
    def _get(port):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as f:
                return f.read().decode()
        except OSError:
            return None

    def metric(self, name, port=None, **labels):
        text = self._get(port or self.metrics_port) or ""
        want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                       if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return int(line.split()[1])
        return None

    def wait_metric(self, name, value, port=None, timeout=20, **labels):
        wait_for(lambda: (self.metric(name, port, **labels) or 0) >= value, timeout,
                 "%s%s >= %d; log:\n%s" % (name, labels, value,
                                           "".join(self.st.log(w) for w in self.workers)))


class ReminderMailTest(ReminderCase):
    def test_due_reminder_mailed_once(self):
        """A due reminder goes out once, to the customer, in its language, with
        the amounts and dates of the window, and is recorded."""
        self.customer("C-A1", "America/New_York", "en-US", "ann@example.com", "Ann & Partners")
        self.customer("C-A2", "Asia/Shanghai", "zh-CN", "li.wei@example.cn", "李伟")
        self.order("SO-A1", "C-A1", 113000, "USD")
        self.order("SO-A2", "C-A2", 250000, "CNY")
        k1 = rkey("SO-A1", 1, "2026-11-12", 3)  # due 09:00 New York = 14:00Z
        k2 = rkey("SO-A2", 1, "2026-11-12", 3)  # due 09:00 Shanghai = 01:00Z
        self.queue("C-A1", k1, "2026-11-09T14:00:00Z")
        self.queue("C-A2", k2, "2026-11-09T01:00:00Z")
        # not due yet at 14:30Z: the 1-day lead, due on the 11th
        k3 = rkey("SO-A1", 1, "2026-11-12", 1)
        self.queue("C-A1", k3, "2026-11-11T14:00:00Z")
        self.start_reminder()
        wait_for(lambda: len(self.sink.raw) >= 2, 20, "two mails")
        self.wait_metric("skonto_reminder_sent_total", 2, kind="reminder")
        time.sleep(1.0)  # several more turns: nothing else goes out
        mails = {m["Message-ID"]: (to, m) for to, m in self.sink.mails()}
        self.assertEqual(sorted(mails), sorted([msgid(k1), msgid(k2)]))
        self.assertEqual(len(self.sink.raw), 2)

        to, en = mails[msgid(k1)]
        self.assertEqual(to, ["ann@example.com"])
        self.assertEqual(en["To"].addresses[0].display_name, "Ann & Partners")
        self.assertEqual(en["From"].addresses[0].addr_spec, "billing@skonto.test")
        self.assertEqual(en["Reply-To"].addresses[0].addr_spec, "sales@skonto.test")
        self.assertEqual(en["List-Unsubscribe"], "<mailto:billing@skonto.test?subject=unsubscribe>")
        d1, d2 = pct(113000, 10000), pct(113000, 5000)
        self.assertEqual((d1, d2), (1130, 565))
        self.assertEqual(en["Subject"],
                         "Invoice SO-A1: save $11.30 if paid by Thursday, November 12, 2026")
        body = en.get_body(("plain",)).get_content()
        self.assertIn("Pay $1,118.70 by then instead of $1,130.00, and you save $11.30.", body)
        self.assertIn("by Wednesday, December 2, 2026: pay $1,124.35 (save $5.65, 0.5%)", body)
        self.assertIn("$1,130.00 is due on Friday, January 1, 2027", body)
        self.assertNotIn("November 2, 2026", body)  # the closed 2 % window is not offered
        self.assertIn("Ann &amp; Partners", en.get_body(("html",)).get_content())

        to, zh = mails[msgid(k2)]
        self.assertEqual(to, ["li.wei@example.cn"])
        self.assertEqual(zh["Subject"],
                         "发票 SO-A2：请于 2026年11月12日星期四 前付款，可节省 ¥25.00")
        zbody = zh.get_body(("plain",)).get_content()
        self.assertIn("¥2,475.00", zbody)
        self.assertIn('<html lang="zh-CN">', zh.get_body(("html",)).get_content())

        rec = self.record("C-A1", k1)
        self.assertEqual((rec["kind"], rec["customer_id"], rec["order_id"], rec["to"],
                          rec["message_id"], rec["outcome"], rec["attempts"]),
                         ("reminder", "C-A1", "SO-A1", "ann@example.com", msgid(k1), "sent", 1))
        self.assertEqual(rec["sent_ms"], ms(NOW))
        self.assertEqual(rec["scheduled_ms"], ms("2026-11-09T14:00:00Z"))
        self.assertEqual([(w["tier"], w["last_day"], w["discount"], w["payable"]) for w in
                          rec["windows"]], [(1, "2026-11-12", 1130, 111870),
                                            (2, "2026-12-02", 565, 112435)])
        # what sales sees of it (skontoctl reminders sent reads the same record)
        sent = self.st.ctl_json("reminders", "sent", "--customer", "C-A1")["sent"]
        self.assertEqual([(x["key"], x["to"], x["message_id"]) for x in sent],
                         [(k1, "ann@example.com", msgid(k1))])
        log = self.r("ZRANGE", "sk:{s%d}:rlog:C-A1" % shard("C-A1"), 0, -1, "WITHSCORES")
        self.assertEqual(log.split("\n"), [k1, str(ms(NOW))])
        # the queue: sent keys are gone, the one not yet due waits
        self.assertEqual(self.r("ZCARD", "sk:{s%d}:rproc" % shard("C-A1")), "0")
        self.assertEqual(self.r("ZSCORE", "sk:{s%d}:rdue" % shard("C-A1"), k3),
                         str(ms("2026-11-11T14:00:00Z")))
        # and queued again by mistake, it is not sent twice
        self.queue("C-A1", k1, "2026-11-09T14:00:00Z")
        self.wait_metric("skonto_reminder_skipped_total", 1, reason="already_sent")
        self.assertEqual(len(self.sink.raw), 2)
        self.r("ZREM", "sk:{s%d}:rdue" % shard("C-A1"), k3)  # not for the next tests' clocks
        # the heartbeat, and a clean stop on SIGTERM (tearDown checks the exit status)
        hb = wait_for(lambda: (lambda h: h if h["skipped"] == 1 else None)(
            json.loads(self.r("HGET", "sk:{sys}:hb", "reminder-1"))), 5, "the heartbeat")
        self.assertEqual((hb["role"], hb["sent"], hb["skipped"]), ("reminder", 2, 1))
        self.assertEqual((hb["processed"], hb["errors"]), (3, 0))  # skontoctl status's columns
        self.assertEqual(hb["metrics"], "127.0.0.1:%d" % self.metrics_port)

    def test_not_sent_and_counted(self):
        """Paid, superseded, closed, collapsed, opted-out, undeliverable, no
        address: nothing is mailed, each is counted by its reason."""
        st = self.st
        self.customer("C-B1")
        for o in ("SO-B1", "SO-B2", "SO-B3", "SO-B4"):
            self.order(o, "C-B1")
        self.pay("SO-B1", 111870)
        wait_for(lambda: skingest_status(st, "SO-B1") == "paid", 20, "SO-B1 paid")
        self.customer("C-B2", mail="out@example.com")
        self.order("SO-B5", "C-B2")
        self.customer("C-B2", mail="out@example.com", reminders=pb.REMINDERS_OFF)  # opts out
        wait_for(lambda: self.r("HGET", "sk:{s%d}:cust:C-B2" % shard("C-B2"), "optout") == "1",
                 10, "the opt-out stored")
        self.customer("C-B3", mail="gone@example.com")
        self.order("SO-B6", "C-B3")
        self.r("HSET", "sk:{s%d}:undeliv" % shard("C-B3"), "C-B3", "gone@example.com")
        self.customer("C-B4", mail="")
        self.order("SO-B7", "C-B4")
        due = "2026-11-09T14:00:00Z"
        self.queue("C-B1", rkey("SO-B1", 1, "2026-11-12", 3), due)      # paid
        self.queue("C-B1", rkey("SO-B2", 1, "2026-11-13", 3), due)      # superseded (moved)
        self.queue("C-B1", rkey("SO-B3", 0, "2026-11-02", 1), due)      # closed on the 2nd
        self.queue("C-B1", rkey("SO-B4", 1, "2026-11-12", 3), due)      # collapsed into ...
        self.queue("C-B1", rkey("SO-B4", 1, "2026-11-12", 1), due)      # ... this one, sent
        self.queue("C-B2", rkey("SO-B5", 1, "2026-11-12", 1), due)      # opted out
        self.queue("C-B3", rkey("SO-B6", 1, "2026-11-12", 1), due)      # undeliverable
        self.queue("C-B4", rkey("SO-B7", 1, "2026-11-12", 1), due)      # no address
        self.queue("C-B1", rkey("SO-NONE", 1, "2026-11-12", 3), due)    # no invoice
        # at 2026-11-11 15:00Z both leads of SO-B4's window have passed (so the
        # others are given their 1-day keys: a 3-day one would be collapsed)
        self.start_reminder(clock="2026-11-11T15:00:00Z")
        for reason in ("paid", "superseded", "closed", "collapsed", "opted_out",
                       "undeliverable", "no_address", "no_invoice"):
            self.wait_metric("skonto_reminder_skipped_total", 1, reason=reason)
        self.wait_metric("skonto_reminder_sent_total", 1, kind="reminder")
        time.sleep(0.5)
        # none of the keys above went out but the one the collapsed key left
        # its place to (what the others' settling queued next may follow:
        # the chain, test_next_reminder_follows)
        skipped = [rkey("SO-B1", 1, "2026-11-12", 3), rkey("SO-B2", 1, "2026-11-13", 3),
                   rkey("SO-B3", 0, "2026-11-02", 1), rkey("SO-B4", 1, "2026-11-12", 3),
                   rkey("SO-B5", 1, "2026-11-12", 1), rkey("SO-B6", 1, "2026-11-12", 1),
                   rkey("SO-B7", 1, "2026-11-12", 1), rkey("SO-NONE", 1, "2026-11-12", 3)]
        sent = self.sink.ids()
        self.assertIn(msgid(rkey("SO-B4", 1, "2026-11-12", 1)), sent)
        self.assertFalse({msgid(k) for k in skipped} & set(sent), sent)
        self.assertEqual(len(sent), len(set(sent)))
        for reason in ("paid", "superseded", "closed", "collapsed", "opted_out",
                       "undeliverable", "no_address", "no_invoice"):
            self.assertEqual(self.metric("skonto_reminder_skipped_total", reason=reason), 1,
                             reason)
        for s in {shard(c) for c in ("C-B1", "C-B2", "C-B3", "C-B4")}:
            self.assertEqual(self.r("ZCARD", "sk:{s%d}:rproc" % s), "0")
        self.assertIn("not sent: opted_out", st.log("reminder-1"))


class ReminderChainTest(ReminderCase):
    def test_next_reminder_follows(self):
        """The due queue holds an invoice's next reminder only: settling it
        (sent, or dropped) queues the one after, in due order across tiers."""
        self.customer("C-N1", mail="nia@example.com")
        self.order("SO-N1", "C-N1")
        n = shard("C-N1")

        def queued():
            z = self.r("ZRANGE", "sk:{s%d}:rdue" % n, 0, -1, "WITHSCORES").split()
            return {z[i]: int(z[i + 1]) for i in range(0, len(z), 2) if z[i].endswith("|SO-N1")}
        first = rkey("SO-N1", 1, "2026-11-12", 3)  # the 2 % window closed on the 2nd
        self.queue("C-N1", first, "2026-11-09T14:00:00Z")
        self.start_reminder()  # at NOW, 11-09 14:30Z
        wait_for(lambda: self.record("C-N1", first), 20, "the first reminder sent")
        second = rkey("SO-N1", 1, "2026-11-12", 1)
        wait_for(lambda: queued() == {second: ms("2026-11-11T14:00:00Z")}, 10, "the next queued")
        self.st.stop("reminder-1")
        self.workers.remove("reminder-1")
        # two days later the 1-day one goes, and the 0.5 % window's 3-day one follows
        self.start_reminder(clock="2026-11-11T14:30:00Z")
        wait_for(lambda: self.record("C-N1", second), 20, "the second reminder sent")
        third = rkey("SO-N1", 2, "2026-12-02", 3)
        wait_for(lambda: queued() == {third: ms("2026-11-29T14:00:00Z")}, 10, "the third queued")
        self.assertEqual(self.sink.ids(), [msgid(first), msgid(second)])


    def test_sent_records_forgotten_after_retention(self):
        """Sent records older than SKONTO_SENT_RETENTION_DAYS are forgotten once
        their key cannot come back; a record whose window is still open stays,
        and a forgotten reminder queued again (a new order version) is not
        mailed again: its window has closed."""
        self.customer("C-R1", mail="rae@example.com")
        self.order("SO-R1", "C-R1")
        n = shard("C-R1")
        k1 = rkey("SO-R1", 1, "2026-11-12", 3)
        s1 = skey("C-R1", "2026-11-09T14:00:00Z")
        self.queue("C-R1", k1, "2026-11-09T14:00:00Z")
        self.queue("C-R1", s1, "2026-11-09T14:00:00Z")
        self.r("HSET", "sk:{s%d}:stmt" % n, "C-R1", s1)  # as discount queues the first one
        self.start_reminder()  # 11-09 14:30Z: the reminder and the statement
        wait_for(lambda: self.record("C-R1", k1) and self.record("C-R1", s1), 20, "both sent")
        self.st.stop("reminder-1")
        self.workers.remove("reminder-1")
        # 11-30: the 1-day lead of 11-12 is dropped (closed), the 0.5 % window's
        # 3-day one goes, and the statement of 11-16 (the one queued when the
        # first was sent; the next is planned from now: 12-07)
        self.start_reminder(clock="2026-11-30T14:30:00Z")
        k2 = rkey("SO-R1", 2, "2026-12-02", 3)
        later = [skey("C-R1", "2026-11-16T14:00:00Z")]
        wait_for(lambda: self.record("C-R1", k2) and all(self.record("C-R1", k) for k in later),
                 20, "the 0.5 % reminder and the statement sent")
        self.st.stop("reminder-1")
        self.workers.remove("reminder-1")
        mailed = [msgid(k) for k in [k1, s1, k2] + later]
        self.assertEqual(sorted(self.sink.ids()), sorted(mailed))
        # 12-01 15:00Z with one day's retention: k1 and both statements go
        # (sent a day ago or more, their instants passed), k2 stays (its window is
        # open until 12-03 05:00Z), the 1-day lead is sent and stays
        # (k1 queued again, due in a year: kept while it is queued, then forgotten)
        self.r("ZADD", "sk:{s%d}:rdue" % n, ms("2027-12-01T00:00:00Z"), k1)
        self.start_reminder(clock="2026-12-01T15:00:00Z", SKONTO_SENT_RETENTION_DAYS="1")
        k3 = rkey("SO-R1", 2, "2026-12-02", 1)
        wait_for(lambda: self.record("C-R1", k3) and not any(
            self.record("C-R1", k) for k in [s1] + later), 40,
            "the statements forgotten; log:\n" + self.st.log("reminder-1"))
        self.assertIsNotNone(self.record("C-R1", k1))
        self.r("ZREM", "sk:{s%d}:rdue" % n, k1)
        wait_for(lambda: not self.record("C-R1", k1), 40, "k1 forgotten once no longer queued")
        self.assertGreaterEqual(self.metric("skonto_reminder_sent_records_forgotten_total"), 3)
        sent = self.st.ctl_json("reminders", "sent", "--customer", "C-R1")["sent"]
        self.assertEqual(sorted(x["key"] for x in sent), sorted([k2, k3]))
        log = self.r("ZRANGE", "sk:{s%d}:rlog:C-R1" % n, 0, -1).split()
        self.assertEqual(sorted(log), sorted([k2, k3]))
        # the ERP sends version 2 with the same dates: the discount worker (its
        # day is 11-05) queues k1 again, which the reminder worker drops as closed
        closed = self.metric("skonto_reminder_skipped_total", reason="closed") or 0
        env = pb.Envelope()
        o = env.order_shipped
        o.order_id, o.customer_id, o.salesperson, o.version = "SO-R1", "C-R1", "S-1", 2
        o.currency, o.amount, o.tax, o.ship_date, o.terms = "USD", 113000, 0, "2026-11-02", TERMS
        self.send(env)
        wait_for(lambda: (self.metric("skonto_reminder_skipped_total", reason="closed") or 0)
                 > closed, 20, "the re-queued k1 dropped as closed")
        time.sleep(1.0)
        self.assertEqual(sorted(self.sink.ids()), sorted(mailed + [msgid(k3)]))  # nothing twice
        self.assertIsNone(self.record("C-R1", k1))

def skingest_status(st, oid):
    r = st.ctl("order", "show", oid, "--json", check=False)
    return json.loads(r.stdout).get("status") if r.returncode == 0 else None


class ReminderFailureTest(ReminderCase):
    def test_smtp_down_then_back(self):
        """The SMTP server is down: the mail is retried with backoff and
        delivered once it is back, with the same Message-ID."""
        self.customer("C-D1", mail="dora@example.com")
        self.order("SO-D1", "C-D1")
        k = rkey("SO-D1", 1, "2026-11-12", 3)
        self.smtp.stop()
        self.smtp = None
        self.queue("C-D1", k, "2026-11-09T14:00:00Z")
        self.start_reminder(SKONTO_REMINDER_RETRY_MAX_MS="1500")
        self.wait_metric("skonto_reminder_retried_total", 2)
        self.assertIsNone(self.record("C-D1", k))
        self.smtp = Controller(self.sink, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        wait_for(lambda: self.sink.raw, 20, "the mail once the server is back")
        self.wait_metric("skonto_reminder_sent_total", 1, kind="reminder")
        time.sleep(0.5)
        self.assertEqual(self.sink.ids(), [msgid(k)])
        rec = self.record("C-D1", k)
        self.assertGreaterEqual(rec["attempts"], 3)
        self.assertEqual(rec["outcome"], "sent")
        self.assertEqual(self.r("HLEN", "sk:{s%d}:rtry" % shard("C-D1")), "0")
        self.assertIn("retry", self.st.log("reminder-1"))

    def test_ambiguous_resent_with_same_message_id(self):
        """The connection dies after the whole mail was sent: the mail may have
        arrived, so it is sent again with the same Message-ID, and the record
        says so."""
        self.customer("C-F1", mail="drop@example.com")
        self.order("SO-F1", "C-F1")
        k = rkey("SO-F1", 1, "2026-11-12", 3)
        self.queue("C-F1", k, "2026-11-09T14:00:00Z")
        self.start_reminder()
        wait_for(lambda: self.sink.raw, 20, "the mail, sent again")
        self.wait_metric("skonto_reminder_sent_total", 1, kind="reminder")
        self.assertEqual(self.metric("skonto_reminder_ambiguous_total"), 1)
        first = email.message_from_bytes(self.sink.dropped[0], policy=email.policy.default)
        self.assertEqual(first["Message-ID"], msgid(k))
        self.assertEqual(self.sink.ids(), [msgid(k)])
        rec = self.record("C-F1", k)
        self.assertEqual((rec["outcome"], rec["attempts"]), ("ambiguous_resent", 2))
        self.assertEqual(self.r("HLEN", "sk:{s%d}:rtry" % shard("C-F1")), "0")

    def test_5xx_dead_letter(self):
        """A 5xx: a dead letter with the server's text, the address marked
        undeliverable, and the customer's next reminder not sent."""
        self.customer("C-E1", mail="nouser@example.com")
        self.order("SO-E1", "C-E1")
        self.order("SO-E2", "C-E1")
        k1 = rkey("SO-E1", 1, "2026-11-12", 3)
        self.queue("C-E1", k1, "2026-11-09T14:00:00Z")
        self.start_reminder()
        self.wait_metric("skonto_reminder_dead_lettered_total", 1)
        letters = self.st.ctl_json("dlq", "list")["dead_letters"]
        mine = [d for d in letters if d.get("source") == "reminder"]
        self.assertEqual(len(mine), 1, letters)
        self.assertEqual(mine[0]["message"], "550 5.1.1 <nouser@example.com>: no such user here")
        self.assertEqual(mine[0]["reason_code"], "undeliverable")
        self.assertEqual(self.r("HGET", "sk:{s%d}:undeliv" % shard("C-E1"), "C-E1"),
                         "nouser@example.com")
        self.assertIsNone(self.record("C-E1", k1))
        self.queue("C-E1", rkey("SO-E2", 1, "2026-11-12", 3), "2026-11-09T14:00:00Z")
        self.wait_metric("skonto_reminder_skipped_total", 1, reason="undeliverable")
        self.assertEqual(self.sink.raw, [])
        self.assertEqual(self.metric("skonto_reminder_dead_lettered_total"), 1)


class ReminderStatementTest(ReminderCase):
    def test_statement_every_open_window_and_advanced(self):
        cid = "C-S1"
        self.customer(cid, mail="sam@example.com", name="Sam Co")
        self.order("SO-S1", cid, 113000, ship="2026-11-02")
        self.order("SO-S2", cid, 200000, ship="2026-11-06")
        self.order("SO-S3", cid, 50000, ship="2026-11-02")
        self.pay("SO-S3", 49500)
        wait_for(lambda: skingest_status(self.st, "SO-S3") == "paid", 20, "SO-S3 paid")
        # a customer without an open window: no statement, but advanced
        self.customer("C-S2", mail="nil@example.com")
        k = skey(cid, "2026-11-09T14:00:00Z")  # Monday 09:00 New York
        self.own_queue()
        self.r("HSET", "sk:{s%d}:stmt" % shard(cid), cid, k)
        self.queue(cid, k, "2026-11-09T14:00:00Z")
        k2 = skey("C-S2", "2026-11-09T14:00:00Z")
        self.r("HSET", "sk:{s%d}:stmt" % shard("C-S2"), "C-S2", k2)
        self.queue("C-S2", k2, "2026-11-09T14:00:00Z")
        self.start_reminder()
        wait_for(lambda: self.sink.raw, 20, "the statement")
        self.wait_metric("skonto_reminder_skipped_total", 1, reason="no_window")
        time.sleep(0.5)
        self.assertEqual(self.sink.ids(), [msgid(k)])
        (to, m), = self.sink.mails()
        self.assertEqual(to, ["sam@example.com"])
        self.assertEqual(m["Subject"],
                         "Your statement of Monday, November 9, 2026: early-payment discounts on "
                         "2 open invoices")
        body = m.get_body(("plain",)).get_content().replace("\r\n", "\n")
        soon, later = body.split("CLOSING IN THE NEXT 7 DAYS")[1].split("LATER")
        # SO-S1's 1 % window closes on the 12th (within 7 days), SO-S2's on the 16th
        self.assertIn("Invoice SO-S1: $1,130.00, due on Friday, January 1, 2027", soon)
        self.assertIn("by Thursday, November 12, 2026: pay $1,118.70 (save $11.30, 1%)", soon)
        self.assertIn("by Wednesday, December 2, 2026: pay $1,124.35 (save $5.65, 0.5%)", soon)
        self.assertIn("Pay these in time and you save:\n  - $11.30", soon)
        self.assertIn("Invoice SO-S2: $2,000.00, due on Tuesday, January 5, 2027", later)
        self.assertIn("by Monday, November 16, 2026: pay $1,980.00 (save $20.00, 1%)", later)
        self.assertIn("by Sunday, December 6, 2026: pay $1,990.00 (save $10.00, 0.5%)", later)
        self.assertNotIn("SO-S3", body)
        rec = self.record(cid, k)
        self.assertEqual(rec["kind"], "statement")
        self.assertEqual(sorted((w["order_id"], w["last_day"]) for w in rec["windows"]),
                         [("SO-S1", "2026-11-12"), ("SO-S1", "2026-12-02"),
                          ("SO-S2", "2026-11-16"), ("SO-S2", "2026-12-06")])
        # advanced to next Monday 09:00 New York
        nxt = skey(cid, "2026-11-16T14:00:00Z")
        self.assertEqual(self.r("HGET", "sk:{s%d}:stmt" % shard(cid), cid), nxt)
        self.assertEqual(self.r("ZSCORE", "sk:{s%d}:rdue" % shard(cid), nxt),
                         str(ms("2026-11-16T14:00:00Z")))
        self.assertEqual([x["key"] for x in
                          self.st.ctl_json("reminders", "sent", "--order", "SO-S2")["sent"]], [k])
        nxt2 = skey("C-S2", "2026-11-16T14:00:00Z")
        self.assertEqual(self.r("HGET", "sk:{s%d}:stmt" % shard("C-S2"), "C-S2"), nxt2)
        self.assertIsNone(self.record("C-S2", k2))

        # skontoctl shows the same statement, made at the same instant
        self.st.env["SKONTO_CLOCK"] = "fixed:" + NOW
        out = self.st.ctl("statement", "preview", cid)
        self.assertIn("Invoice SO-S1: $1,130.00", out.stdout)
        j = self.st.ctl_json("statement", "preview", cid)
        self.assertEqual(j["subject"], m["Subject"])
        self.assertEqual(j["to"], "sam@example.com")
        self.assertEqual(j["text"].replace("\r\n", "\n"), body.replace("\r\n", "\n"))
        self.assertEqual(j["has_window"], True)
        html = os.path.join(self.st.dir, "s.html")
        self.st.ctl("statement", "preview", cid, "--html", html)
        with open(html, encoding="utf-8") as f:
            self.assertEqual(f.read(), m.get_body(("html",)).get_content().replace("\r\n", "\n"))
        # a customer without an open window: said so, and nothing to send
        out = self.st.ctl("statement", "preview", "C-S2").stdout
        self.assertIn("(no discount window is open on 2026-11-09: no statement is sent)", out)
        self.assertIs(self.st.ctl_json("statement", "preview", "C-S2")["has_window"], False)

    def test_statement_preview_usage(self):
        st = self.st
        r = st.ctl("statement", "--help")
        self.assertIn("usage: skontoctl statement preview CUSTOMER_ID [--html FILE] [--json]",
                      r.stdout)
        r = st.ctl("statement", "preview", "C-NOPE", check=False)
        self.assertEqual((r.returncode, r.stderr.strip()),
                         (1, "skontoctl statement: customer C-NOPE not found"))
        for args in (["statement"], ["statement", "preview"], ["statement", "show", "C-1"],
                     ["statement", "preview", "C-1", "--bogus"],
                     ["statement", "preview", "x" * 65]):
            r = st.ctl(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("skontoctl statement: "), r.stderr)


class ReminderCrashTest(ReminderCase):
    def many(self, prefix, ncust, per):
        """ncust customers with per open orders each; returns [(cid, key)]."""
        out = []
        for c in range(ncust):
            cid = "%s-C%d" % (prefix, c)
            self.customer(cid, mail="%s.%d@example.com" % (prefix.lower(), c))
            oids = ["%s-%d-%d" % (prefix, c, i) for i in range(per)]
            for o in oids:
                self.order(o, cid, wait=False)
            out += [(cid, rkey(o, 1, "2026-11-12", 3)) for o in oids]
        for c in range(ncust):
            cid = "%s-C%d" % (prefix, c)
            self.wait_invoices(cid, ["%s-%d-%d" % (prefix, c, i) for i in range(per)])
        return out

    def queue_all(self, keys):
        self.own_queue()
        by_shard = collections.defaultdict(list)
        for cid, k in keys:
            by_shard[shard(cid)] += [ms("2026-11-09T14:00:00Z"), k]
        for s, args in by_shard.items():
            self.r("ZADD", "sk:{s%d}:rdue" % s, *args)

    def sent_all(self, keys):
        return all(self.record(cid, k) for cid, k in keys)

    def test_kill9_mid_batch(self):
        """kill -9 while mails go out, restarted: none lost; a mail sent twice
        (sent, then killed before it was recorded) carries the same Message-ID."""
        keys = self.many("K", 8, 15)
        self.sink.delay = 0.01
        self.queue_all(keys)
        env = {"SKONTO_REMINDER_LEASE_MS": "1500", "SKONTO_REMINDER_BATCH": "10"}
        self.start_reminder(**env)
        kills = 0
        for threshold in (20, 50, 80):
            wait_for(lambda: len(self.sink.raw) >= threshold, 30, "%d mails" % threshold)
            self.st.kill9("reminder-1")
            self.workers.remove("reminder-1")
            kills += 1
            self.start_reminder(**env)
        wait_for(lambda: self.sent_all(keys), 60, "every key recorded")
        time.sleep(0.5)
        ids = collections.Counter(self.sink.ids())
        self.assertEqual(set(ids), {msgid(k) for _, k in keys}, "none lost")
        dups = sum(n - 1 for n in ids.values())
        self.assertLessEqual(dups, kills, ids.most_common(5))
        # the last worker took back the leases the killed one held
        self.assertGreater(self.metric("skonto_reminder_claims_total", **{"from": "expired"}), 0)
        # nothing sent is left in the queue; what is there is each order's
        # next reminder (its 1-day one, not due yet), queued by the chain
        queued = set()
        for s in {shard(c) for c, _ in keys}:
            self.assertEqual(self.r("ZCARD", "sk:{s%d}:rproc" % s), "0")
            queued |= set(self.r("ZRANGE", "sk:{s%d}:rdue" % s, 0, -1).split())
        self.assertEqual(queued, {k.replace("|3|", "|1|") for _, k in keys})

    def test_two_workers_each_key_once(self):
        keys = self.many("W", 20, 15)
        self.assertEqual(len(keys), 300)
        self.queue_all(keys)
        p1 = self.start_reminder("reminder-a", SKONTO_REMINDER_BATCH="5")
        p2 = self.start_reminder("reminder-b", SKONTO_REMINDER_BATCH="5")
        wait_for(lambda: self.sent_all(keys), 60, "every key recorded")
        time.sleep(0.5)
        ids = collections.Counter(self.sink.ids())
        self.assertEqual(len(ids), 300)
        self.assertEqual(max(ids.values()), 1, ids.most_common(3))
        a = self.metric("skonto_reminder_sent_total", p1, kind="reminder")
        b = self.metric("skonto_reminder_sent_total", p2, kind="reminder")
        self.assertEqual(a + b, 300)
        self.assertGreater(min(a, b), 0, "both workers sent")


if __name__ == "__main__":
    unittest.main(verbosity=2)
