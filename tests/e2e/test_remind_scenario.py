"""Sixty days of reminders and statements (issue 8), end to end.

A real redis-server, ingest, discount and reminder workers on the simulated
clock (SKONTO_CLOCK=redis), and a real SMTP server (Debian's
python3-aiosmtpd on a free loopback port). Four customers in four zones —
New York and Berlin each cross a daylight-saving change inside the 60 days,
Shanghai gets daily statements, Chicago opts out on day 12 — get orders
every few days; some pay early, one order is re-sent with a new version and
moved dates. The clock moves in 8-hour steps; at each step the test waits
until the workers have done everything due.

What must go out is computed here, independently of the C code, with
tests/remindplan.py (zoneinfo and hashlib only) from the schedules the
discount worker stored and from when each event happened; the test then
compares it, Message-ID by Message-ID, with what the SMTP server received:
none after its window closed, none for a paid invoice, none for the old
version's dates, none for the customer who opted out, every statement on the
customer's cadence while it has an open window, each statement listing every
invoice with an open window. The second test runs the same 60 days while
the reminder worker is killed with -9 at random steps and restarted: no mail
is lost, and a mail sent twice (killed between "sent" and "recorded", the
documented window) carries the same Message-ID.

The harness's Redis has no ACL users, so the test moves the clock as the
administrator, writing the key `skontoctl clock set` writes.
"""
import collections
import datetime as dt
import json
import os
import random
import re
import sys
import time
import unittest

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import remindplan as rp  # noqa: E402
import skingest  # noqa: E402
from harness import Stack, free_port, wait_for  # noqa: E402
from test_reminder import Sink  # noqa: E402  (its SMTP handler; its tests do not run here)

ACCEPTED = 1
DOMAIN = "skonto.test"
TERMS = "2/10,1/20,n/45"
START = rp.utc("2026-02-23T00:00:00Z")  # a Monday
DAYS = 60
STEP = dt.timedelta(hours=8)
CUSTOMERS = {  # id: zone, locale, currency, cadence
    "C-NY": ("America/New_York", "en-US", "USD", "weekly"),  # DST from 2026-03-08
    "C-BE": ("Europe/Berlin", "de-DE", "EUR", "weekly"),     # DST from 2026-03-29
    "C-SH": ("Asia/Shanghai", "zh-CN", "CNY", "daily"),
    "C-CH": ("America/Chicago", "en-US", "USD", "weekly"),   # opts out on day 12
}
OPTOUT = ("C-CH", 12)
pb = None


def setUpModule():
    global pb
    pb = skingest.load()


def scenario():
    """{day: [event]}: the ERP's events, each sent at 00:00Z of its day."""
    ev = collections.defaultdict(list)
    for cid, (zone, locale, cur, cadence) in CUSTOMERS.items():
        ev[0].append(("customer", cid))
    n = 0
    for day in range(0, 40, 4):
        for cid in CUSTOMERS:
            n += 1
            oid = "SO-%s-%02d" % (cid[2:], n)
            # ship day: the day itself, or ten days back (stored late: the
            # first window's reminders have both passed, one goes out at once)
            ship = day - (10 if n % 5 == 0 else 0)
            ev[day].append(("order", oid, cid, ship, 1, 100000 + 137 * n))
            if n % 3 == 0:  # pays early, inside the first window
                ev[day + 2].append(("pay", oid))
            elif n % 7 == 0:  # pays inside the second window
                ev[day + 14].append(("pay", oid))
    # one order re-sent with a new version: shipped five days later
    ev[6].append(("order", "SO-NY-01", "C-NY", 5, 2, 100137))
    ev[OPTOUT[1]].append(("optout", OPTOUT[0]))
    return ev


def day_str(day):
    return (START.date() + dt.timedelta(days=day)).isoformat()


class Scenario:
    """Runs the 60 days on one stack; kill_rate: the chance, at each step, that
    the reminder worker is killed with -9 within 0.3 s of the clock's move
    (seeded), and started again."""

    def __init__(self, case, kill_rate=0.0, seed=8):
        self.case, self.kill_rate, self.rng = case, kill_rate, random.Random(seed)
        self.kills = 0

    def __enter__(self):
        self.st = Stack()
        self.st.__enter__()
        self.sink = Sink()
        self.smtp = Controller(self.sink, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.set_clock(START)
        self.st.env.update({"SKONTO_CLOCK": "redis", "SKONTO_MAIL_DOMAIN": DOMAIN})
        self.st.start_ingest()
        self.st.start_discount()
        self.start_reminder()
        self.cli = skingest.Client(self.st.ingest_endpoint)
        self.seq = 0
        return self

    def __exit__(self, *exc):
        self.cli.close()
        self.smtp.stop()
        self.st.__exit__(*exc)

    def start_reminder(self):
        self.st.start("reminder", "skonto-reminder", env={
            "SKONTO_WORKER_NAME": "reminder",
            "SKONTO_SMTP_URL": "smtp://127.0.0.1:%d" % self.smtp.port,
            "SKONTO_MAIL_FROM": "Billing <billing@skonto.test>",
            "SKONTO_REMINDER_LEASE_MS": "1500"})

    def set_clock(self, t):
        self.now = t
        self.st.redis_cli("SET", "sk:{sys}:clock", rp.ms(t))

    def send(self, env):
        self.seq += 1
        env.event_id = "E-%d" % self.seq
        env.source = "erp-scenario"
        env.sequence = self.seq
        ack = self.cli.send(env)
        self.case.assertIsNotNone(ack, self.st.log("ingest"))
        self.case.assertEqual(ack.status, ACCEPTED, ack.message)

    def event(self, e):
        env = pb.Envelope()
        if e[0] == "customer":
            cid = e[1]
            zone, locale, cur, cadence = CUSTOMERS[cid]
            c = env.customer
            c.customer_id, c.name, c.email = cid, "Customer " + cid, cid.lower() + "@example.com"
            c.timezone, c.locale, c.terms = zone, locale, TERMS
            c.statement = {"weekly": pb.STATEMENT_WEEKLY, "daily": pb.STATEMENT_DAILY}[cadence]
        elif e[0] == "order":
            _, oid, cid, ship, version, amount = e
            o = env.order_shipped
            o.order_id, o.customer_id, o.salesperson = oid, cid, "S-1"
            o.currency, o.amount, o.tax = CUSTOMERS[cid][2], amount, 0
            o.ship_date, o.terms, o.version = day_str(ship), TERMS, version
        elif e[0] == "pay":  # in full: the payable of the window it is paid in, or all
            inv = ctl_json("order", "show", e[1], sc=self)
            p = env.payment_received
            p.order_id, p.paid_on, p.full = e[1], self.now.date().isoformat(), True
            tier = next((t for t in inv["tiers"] if t["last_day"] >= p.paid_on), None)
            p.amount = minor(tier["payable"] if tier else inv["balance"])
        elif e[0] == "optout":
            env.customer.customer_id = e[1]
            env.customer.reminders = pb.REMINDERS_OFF
        self.send(env)

    def drained(self):
        """Nothing waiting: the event streams applied, nothing due or in
        process in the due queue."""
        s = json.loads(self.st.ctl("status", "--json").stdout)["queue"]
        if s["waiting"] + s["pending"]:
            return False
        script = ("local n = 0 for i = 0, 15 do "
                  "n = n + redis.call('ZCOUNT', 'sk:{s' .. i .. '}:rdue', '-inf', ARGV[1]) "
                  "+ redis.call('ZCARD', 'sk:{s' .. i .. '}:rproc') end return n")
        return self.st.redis_cli("EVAL", script, 0, rp.ms(self.now)) == "0"

    def run(self):
        """Every step: the day's events (at 00:00Z), then the clock moves on
        8 hours and everything due is done. Returns the event log:
        [(instant, event)] and the instants of the steps."""
        events, log, steps = scenario(), [], []
        t = START
        end = START + dt.timedelta(days=DAYS)
        while t < end:
            day = (t - START).days
            if t.hour == 0:
                for e in events.get(day, []):
                    self.event(e)
                    log.append((t, e))
            if self.kill_rate and self.rng.random() < self.kill_rate:
                # while it works on what just became due (or on the
                # events' reminders): its leases expire and are taken back
                time.sleep(self.rng.uniform(0, 0.3))
                self.st.kill9("reminder")
                self.kills += 1
                self.start_reminder()
            wait_for(self.drained, 60, "the workers at %s" % t)
            steps.append(t)
            t += STEP
            self.set_clock(t)
        wait_for(self.drained, 60, "the workers at the end")
        steps.append(t)
        time.sleep(0.5)  # a few more turns: nothing else goes out
        return log, steps


def ctl_json(*args, sc):
    return json.loads(sc.st.ctl(*args, "--json").stdout)


def minor(decimal_text):
    """skontoctl's "1234.56" in minor units (every currency here has two decimals)."""
    units, _, cents = decimal_text.partition(".")
    return int(units) * 100 + int((cents + "00")[:2])


ORDER_ID = re.compile(r"SO-[A-Z]+-[0-9]+")


class ScenarioTest(unittest.TestCase):
    def ctl_json(self, sc, *args):
        return ctl_json(*args, sc=sc)

    def expected(self, sc, log, steps):
        """{Message-ID: (kind, key, recipient)} of what must go out, and
        {statement Message-ID: set of order ids it must list}."""
        want, lists = {}, {}
        # per order: the schedule's last days as stored, each version's store
        # time, and when it closed
        stored, closed, opted = collections.defaultdict(list), {}, {}
        for t, e in log:
            if e[0] == "order":
                stored[e[1]].append((t, e[2]))
            elif e[0] == "pay":
                closed[e[1]] = t
            elif e[0] == "optout":
                opted[e[1]] = t
        schedules = {}
        for oid, versions in stored.items():
            inv = self.ctl_json(sc, "order", "show", oid)
            schedules[oid] = inv
            cid = versions[-1][1]
            zone = CUSTOMERS[cid][0]
            last_days = [w["last_day"] for w in inv["tiers"]]
            # the last version's plan, from when it was stored; an earlier
            # version's reminders count only while it was the current one
            for i, (t, _) in enumerate(versions):
                if i + 1 < len(versions):
                    old = self.old_last_days(oid, versions, i)
                    until = versions[i + 1][0]
                    plan = rp.plan(oid, old, zone, t, domain=DOMAIN)
                else:
                    until = closed.get(oid)
                    plan = rp.plan(oid, last_days, zone, t, domain=DOMAIN)
                for r in plan:
                    fire = next(s for s in steps if s >= r.due) if r.due > t else t
                    if fire >= steps[-1] or (until and fire >= until):
                        continue
                    if cid in opted and fire >= opted[cid]:
                        continue
                    if r.closes <= fire:
                        continue
                    want[r.message_id] = ("reminder", r.key, cid.lower() + "@example.com")
        for cid, (zone, locale, cur, cadence) in CUSTOMERS.items():
            t = rp.statement_next(zone, cadence, START)
            while t is not None and t < steps[-1]:
                fire = next(s for s in steps if s >= t)
                if cid in opted and fire >= opted[cid]:
                    break
                key = rp.statement_key(cid, t)
                listed, window = set(), False  # every open invoice; one window open?
                for oid, versions in stored.items():
                    if versions[-1][1] != cid or versions[0][0] > fire:
                        continue
                    if oid in closed and closed[oid] <= fire:
                        continue
                    listed.add(oid)
                    days = [dt.date.fromisoformat(w["last_day"]) for w in schedules[oid]["tiers"]]
                    if len(versions) > 1 and versions[-1][0] > fire:
                        days = self.old_last_days(oid, versions, 0)
                    window = window or any(rp.day_close(zone, d) > fire for d in days)
                if window:
                    mid = rp.message_id(key, DOMAIN)
                    want[mid] = ("statement", key, cid.lower() + "@example.com")
                    lists[mid] = listed
                t = rp.statement_next(zone, cadence, fire)
        return want, lists

    @staticmethod
    def old_last_days(oid, versions, i):
        """The first version's last days: shipped on its own ship day."""
        ship = dt.date.fromisoformat(day_str(SHIPS[oid][i]))
        return [ship + dt.timedelta(days=10), ship + dt.timedelta(days=20)]

    def check(self, sc, log, steps, exact=True):
        want, lists = self.expected(sc, log, steps)
        mails = sc.sink.mails()
        got = collections.Counter(m["Message-ID"] for _, m in mails)
        missing = set(want) - set(got)
        extra = set(got) - set(want)
        self.assertFalse(missing, "expected, not received: %s" % sorted(
            want[m][1] for m in missing)[:10])
        self.assertFalse(extra, "received, not expected: %s" % sorted(
            (m["Subject"], m["Message-ID"]) for _, m in mails if m["Message-ID"] in extra)[:10])
        kinds = collections.Counter(k for k, _, _ in want.values())
        self.assertGreater(kinds["reminder"], 40)
        self.assertGreater(kinds["statement"], 60)
        for to, m in mails:
            kind, key, rcpt = want[m["Message-ID"]]
            self.assertEqual(to, [rcpt], key)
            cid = rcpt.split("@")[0].upper()
            body = m.get_body(("plain",)).get_content()
            if CUSTOMERS[cid][1] == "zh-CN":
                self.assertRegex(m["Subject"], "[\u4e00-\u9fff]", key)
            if kind == "reminder":
                self.assertIn(key.split("|", 4)[4], m["Subject"], key)
            else:
                self.assertEqual(set(ORDER_ID.findall(body)), lists[m["Message-ID"]], key)
        dups = sum(n - 1 for n in got.values())
        if exact:
            self.assertEqual(dups, 0, got.most_common(3))
        return dups, kinds

    def test_sixty_days(self):
        with Scenario(self) as sc:
            log, steps = sc.run()
            dups, kinds = self.check(sc, log, steps)
            # the opt-out and the paid invoices were counted, not mailed
            m = sc.st.ctl("status").stdout
            self.assertTrue(m)
            print("\n60 days: %d reminders, %d statements" % (kinds["reminder"],
                                                               kinds["statement"]))

    def test_sixty_days_with_kill9(self):
        with Scenario(self, kill_rate=0.15, seed=20261201) as sc:
            log, steps = sc.run()
            dups, _ = self.check(sc, log, steps, exact=False)
            self.assertGreater(sc.kills, 10)
            self.assertLessEqual(dups, sc.kills)
            print("\n60 days with %d kills: %d mails sent twice, each with its Message-ID" % (
                sc.kills, dups))


SHIPS = collections.defaultdict(list)
for _d, _evs in scenario().items():
    for _e in _evs:
        if _e[0] == "order":
            SHIPS[_e[1]].append(_e[3])

if __name__ == "__main__":
    unittest.main(verbosity=2)
