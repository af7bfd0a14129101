"""kill -9 of each worker while ~20,000 events are in flight: nothing lost, nothing doubled.

A real redis-server, one skonto-ingest and two skonto-discount workers. About
20,000 generated events (customers, orders, payments for most orders) go
through `skontoctl send` in three files (customers, then orders, then
payments, so that no event can overtake the one it depends on when a resend
reorders things). Meanwhile a thread watches how many events Redis has
accepted and, at fixed fractions of the stream, kill -9s a discount worker
or ingest and restarts it under the same name; skontoctl resends whatever
was not acknowledged. Once, a discount worker is stopped while it holds
entries and killed for good: the other one must claim them
(SKONTO_CLAIM_IDLE_MS). Afterwards, once the workers have drained every
stream, the state must be exactly what the events say:

  - every order has exactly one invoice hash, in its customer's shard, and
    there are as many invoices as orders; ingest's accepted counter (skontoctl
    status) equals the number of distinct events, kills or not;
  - each invoice's balance, discount, status and payments equal what the
    engine's rule gives (computed here for the simple cases generated, and
    for a sample cross-checked with `skontoctl settle --json`); no payment
    appears twice in any invoice's `pays`;
  - the take-up counters (per tier, per salesperson, per customer) add up to
    exactly the invoices closed in each tier; the `offered` counters to the
    invoices scheduled;
  - the forecast at net adds up, per currency, to the open balances, and the
    forecast by history to the invoices' own contributions.
"""
import datetime
import json
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
import unittest
from decimal import Decimal

import harness
import skinvoice
from skredis import Redis, shard

TERMS_A = "2/0,1/10,0.5/30,n/60"
TERMS_B = "2/10,n/30"
N_CUSTOMERS = 300
N_ORDERS = 12000
SHARDS = 16
CLAIM_ENV = {"SKONTO_CLAIM_IDLE_MS": "300"}


# ------------------------------------------------------------------ the engine's rule, for simple cases

def plus(s, n):
    return (datetime.date.fromisoformat(s) + datetime.timedelta(days=n)).isoformat()


def discount(amount, ppm):
    return (amount * ppm + 500000) // 1000000  # half-up, amounts positive


def money(minor):
    return "%d.%02d" % (minor // 100, minor % 100)


def minor(text):
    return int((Decimal(text) * 100).to_integral_value())


def generate(seed=20261127):
    """Customers, orders and payments, with the state each order must end in."""
    r = random.Random(seed)
    customers, orders, payments = [], [], []
    expect = {}
    for i in range(N_CUSTOMERS):
        cid = "K-%04d" % i
        terms = TERMS_A if i % 2 == 0 else TERMS_B
        customers.append({"type": "customer", "event_id": "kc-%d" % i, "customer_id": cid,
                          "name": "Kunde %d" % i, "email": "ap%d@example.com" % i,
                          "statement": "weekly", "terms": terms})
    for n in range(N_ORDERS):
        ci = r.randrange(N_CUSTOMERS)
        cid = "K-%04d" % ci
        terms = TERMS_A if ci % 2 == 0 else TERMS_B
        cur = "CNY" if n % 10 else "USD"
        amount = r.randrange(10000, 5000000)
        ship = plus("2026-09-01", r.randrange(60))
        oid = "KO-%06d" % n
        sp = "S-%d" % (n % 7)
        orders.append({"type": "order_shipped", "event_id": "ko-%d" % n, "order_id": oid,
                       "customer_id": cid, "salesperson": sp, "currency": cur,
                       "amount": money(amount), "ship_date": ship})
        e = {"customer": cid, "sp": sp, "cur": cur, "amount": amount, "terms": terms,
             "ship": ship, "bal": amount, "disc": 0, "st": "open", "pays": [], "taken": None}
        habit = r.random()
        two_zero = terms == TERMS_A
        if habit < 0.20:    # cash: the first tier's payable
            d = ship if two_zero else plus(ship, 3)
            e["pays"].append((d, amount - discount(amount, 20000), True))
            e.update(bal=0, disc=discount(amount, 20000), st="paid", taken="t0|20000")
        elif habit < 0.40:  # within ten days (the 1 % tier of A, the 2 % tier of B on its last day)
            ppm, tier = (10000, "t1|10000") if two_zero else (20000, "t0|20000")
            d = plus(ship, 7 if two_zero else 10)
            e["pays"].append((d, amount - discount(amount, ppm), True))
            e.update(bal=0, disc=discount(amount, ppm), st="paid", taken=tier)
        elif habit < 0.55:  # at net, the whole amount
            d = plus(ship, 60 if two_zero else 30)
            e["pays"].append((d, amount, True))
            e.update(bal=0, st="paid", taken="net")
        elif habit < 0.68:  # part inside a window: P settles P / (1 - r) exactly
            ppm = 10000 if two_zero else 20000
            step = 1000000 // math.gcd(1000000, 1000000 - ppm)
            settled = (amount // 2) // step * step
            paid = settled * (1000000 - ppm) // 1000000
            e["pays"].append((plus(ship, 5), paid, False))
            e.update(bal=amount - settled, disc=settled - paid)
        expect[oid] = e
        for k, (d, amt, full) in enumerate(e["pays"]):
            payments.append({"type": "payment_received", "event_id": "kp-%d-%d" % (n, k),
                             "order_id": oid, "paid_on": d, "amount": money(amt), "full": full})
    return customers, orders, payments, expect


# ------------------------------------------------------------------ the test

class KillNineTest(unittest.TestCase):
    def test_kill9_ingest_and_discount_while_20000_events_are_in_flight(self):
        customers, orders, payments, expect = generate()
        total = len(customers) + len(orders) + len(payments)
        self.assertGreater(total, 19000)

        with harness.Stack() as st:
            st.start_ingest()
            st.start_discount("discount-1", env=CLAIM_ENV)
            st.start_discount("discount-2", env=CLAIM_ENV)
            rd = Redis(st.redis_sock)
            self.addCleanup(rd.close)

            def accepted():
                """ingest's exact accepted counter, kept per shard (README)."""
                return sum(int(v or 0) for v in rd.pipe(
                    [("HGET", "sk:{s%d}:ingest" % s, "accepted") for s in range(SHARDS)]))

            # Kill plan: at these fractions of the accepted stream, kill -9 and restart
            # under the same name -- except discount-2 at the end, which stays dead:
            # discount-1 must claim what it held (SKONTO_CLAIM_IDLE_MS).
            plan = [(0.08, "discount-1", True), (0.18, "ingest", True),
                    (0.30, "discount-2", True), (0.42, "ingest", True),
                    (0.55, "discount-1", True), (0.68, "ingest", True),
                    (0.80, "discount-2", False), (0.90, "ingest", True)]
            orphaned = []
            done = threading.Event()
            kills = []
            errors = []

            def consumer_pending(r, name):
                n = 0
                for s in range(SHARDS):
                    try:
                        n += len(r.cmd("XPENDING", "sk:{s%d}:events" % s, "discount",
                                       "-", "+", 100000, name))
                    except RuntimeError:
                        pass  # no group on this shard yet
                return n

            def restart(name):
                if name == "ingest":
                    st.start_ingest()
                else:
                    st.start_discount(name, env=CLAIM_ENV)

            def killer():
                krd = Redis(st.redis_sock)
                try:
                    for frac, name, again in plan:
                        while not done.is_set():
                            n = sum(int(v or 0) for v in krd.pipe(
                                [("HGET", "sk:{s%d}:ingest" % s, "accepted")
                                 for s in range(SHARDS)]))
                            if n >= frac * total:
                                break
                            time.sleep(0.01)
                        if done.is_set():
                            return
                        held = 0
                        if not again:
                            # Stopped first, until it holds entries it will never apply
                            # (taken before it stopped, or handed to its blocked read),
                            # counted while it is stopped: after SKONTO_CLAIM_IDLE_MS the
                            # other worker may claim them before the count would run.
                            p = st.procs[name]
                            for _ in range(60):  # a loaded machine may need a while
                                p.send_signal(signal.SIGSTOP)
                                time.sleep(0.25)
                                held = consumer_pending(krd, name)
                                if held:
                                    break
                                p.send_signal(signal.SIGCONT)
                                time.sleep(0.02)
                        st.kill9(name)
                        kills.append((name, n))
                        if not again:
                            orphaned.append(held)
                            continue
                        time.sleep(0.2)
                        restart(name)
                except Exception as e:  # surfaced by the main thread
                    errors.append(repr(e))
                finally:
                    krd.close()

            th = threading.Thread(target=killer, daemon=True)
            th.start()
            tmp = tempfile.mkdtemp(dir=st.dir)
            results = []
            try:
                for label, events in (("customers", customers), ("orders", orders),
                                      ("payments", payments)):
                    path = os.path.join(tmp, label + ".jsonl")
                    with open(path, "w") as f:
                        for ev in events:
                            f.write(json.dumps(ev) + "\n")
                    r = st.ctl("send", path, "--json", "--timeout-ms", "1500", "--retries", "40",
                               check=False)
                    results.append((label, r))
            finally:
                done.set()
                th.join(timeout=60)
            self.assertEqual(errors, [])
            for label, r in results:
                self.assertEqual(r.returncode, 0, "%s: skontoctl send -> %d\n%s\n%s" % (
                    label, r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
                out = json.loads(r.stdout)
                self.assertEqual(out["rejected"], 0, out.get("rejections"))
                self.assertEqual(out["unacknowledged"], 0)
                print("%-9s accepted %5d, duplicate %4d (resent after a kill)" % (
                    label, out["accepted"], out["duplicate"]), file=sys.stderr)

            # A worker killed while the streams drain must not lose its entries either.
            st.kill9("discount-1")
            kills.append(("discount-1", "drain"))
            st.start_discount("discount-1", env=CLAIM_ENV)
            print("kill -9 at accepted events: %s" % kills, file=sys.stderr)
            names = [k[0] for k in kills]
            self.assertGreaterEqual(names.count("ingest"), 3, kills)
            self.assertGreaterEqual(names.count("discount-1") + names.count("discount-2"), 4, kills)

            self._wait_drained(st, rd)
            print("discount-2 held %s entries when it died for good; all claimed" % orphaned,
                  file=sys.stderr)
            self.assertGreater(orphaned[0], 0, "the claim path was exercised")
            self.assertEqual(consumer_pending(rd, "discount-2"), 0)
            self.assertEqual(accepted(), total, "every event accepted exactly once")
            self.assertEqual(st.ctl_json("status")["ingest"]["accepted"], total,
                             "skontoctl status counts every accepted event, kills or not")
            self._check_invoices(st, rd, expect)
            self._check_counters(rd, expect)
            self._check_forecast(rd)
            self._check_sample_with_settle(st, rd, expect)

    # -- drain

    def _wait_drained(self, st, rd, timeout=150):
        end = time.time() + timeout
        while time.time() < end:
            cmds = [("XLEN", "sk:{s%d}:events" % s) for s in range(SHARDS)]
            queued = sum(rd.pipe(cmds))
            pending = 0
            for s in range(SHARDS):
                try:
                    pending += rd.cmd("XPENDING", "sk:{s%d}:events" % s, "discount")[0]
                except RuntimeError:
                    pass  # no group yet on an empty shard
            if queued == 0 and pending == 0:
                return
            time.sleep(0.2)
        self.fail("streams not drained after %d s: %d queued, %d pending\n%s\n%s" % (
            timeout, queued, pending, st.log("discount-1")[-3000:], st.log("discount-2")[-3000:]))

    # -- invoices

    def _check_invoices(self, st, rd, expect):
        keys = rd.scan("sk:*:inv:*")
        self.assertEqual(len(keys), len(expect), "one invoice per order, no more")
        self.assertEqual(len(set(k.split(":inv:", 1)[1] for k in keys)), len(expect),
                         "no order has invoices in two shards")
        oids = sorted(expect)
        raw = Redis(st.redis_sock, decode=False)
        try:
            stored = skinvoice.read_many(
                raw, ["sk:{s%d}:inv:%s" % (shard(expect[o]["customer"]), o) for o in oids])
        finally:
            raw.close()
        bad = []
        self.invoices = {}
        for oid, inv in zip(oids, stored):
            self.invoices[oid] = inv
            e = expect[oid]
            if not inv:
                bad.append("%s: no invoice in shard %d" % (oid, shard(e["customer"])))
                continue
            pays = inv["payments"]
            got = (inv["balance"], inv["discount_total"], inv["status"], len(pays),
                   inv["amount"], inv["currency"], inv["customer_id"])
            want = (e["bal"], e["disc"], e["st"], len(e["pays"]), e["amount"], e["cur"],
                    e["customer"])
            if got != want:
                bad.append("%s: (bal, disc, st, payments, amt, cur, customer) = %r, want %r"
                           % (oid, got, want))
            paid = sorted(p["paid"] for p in pays)
            if paid != sorted(a for _, a, _ in e["pays"]):
                bad.append("%s: payments %r, want %r" % (oid, paid, [a for _, a, _ in e["pays"]]))
        self.assertEqual(bad[:20], [], "%d invoices differ" % len(bad))

    # -- counters

    def _check_counters(self, rd, expect):
        takeup = {}
        for s in range(SHARDS):
            for k, v in rd.hgetall("sk:{s%d}:takeup" % s).items():
                takeup[k] = takeup.get(k, 0) + int(v)
        closed = [e for e in expect.values() if e["st"] == "paid"]
        want_taken = {}
        for e in closed:
            want_taken["taken|" + e["taken"]] = want_taken.get("taken|" + e["taken"], 0) + 1
        got_taken = {k: v for k, v in takeup.items() if k.startswith("taken|") and v}
        self.assertEqual(got_taken, want_taken, "take-up per tier = invoices closed in the tier")

        want_sp = {}
        for e in closed:
            t = e["taken"].split("|")[0]
            k = "sp|%s|%s" % (e["sp"], t)
            want_sp[k] = want_sp.get(k, 0) + 1
        got_sp = {k: v for k, v in takeup.items() if k.startswith("sp|") and v}
        self.assertEqual(got_sp, want_sp, "take-up per salesperson")

        # Every scheduled invoice was offered its first tier exactly once.
        offered_t0 = sum(v for k, v in takeup.items() if k.startswith("offered|t0|"))
        self.assertEqual(offered_t0, len(expect), "offered|t0 counts each invoice once")

        # Per customer: history n = invoices closed.
        cust_closed = {}
        for e in closed:
            cust_closed[e["customer"]] = cust_closed.get(e["customer"], 0) + 1
        cids = sorted(set(e["customer"] for e in expect.values()))
        hist = rd.pipe([("HGET", "sk:{s%d}:hist:%s" % (shard(c), c), "n") for c in cids])
        got_hist = {c: int(h) for c, h in zip(cids, hist) if h and int(h)}
        self.assertEqual(got_hist, cust_closed, "customer history counts closed invoices")

    # -- forecast

    def _check_forecast(self, rd):
        def sums(kind):
            out = {}
            for s in range(SHARDS):
                for k, v in rd.hgetall("sk:{s%d}:fc:%s" % (s, kind)).items():
                    cur = k.split("|")[1]
                    out[cur] = out.get(cur, 0) + int(v)
            return {c: v for c, v in out.items() if v}

        open_bal, own_hist = {}, {}
        for inv in self.invoices.values():
            if not inv or inv["status"] != "open":
                continue
            open_bal[inv["currency"]] = open_bal.get(inv["currency"], 0) + inv["balance"]
            if inv["forecast_history"]:
                amt = inv["forecast_history"][1]
                own_hist[inv["currency"]] = own_hist.get(inv["currency"], 0) + amt
        self.assertEqual(sums("net"), {c: v for c, v in open_bal.items() if v},
                         "forecast at net = open balances per currency")
        self.assertEqual(sums("hist"), {c: v for c, v in own_hist.items() if v},
                         "forecast by history = the open invoices' own contributions")

    # -- a sample against the engine through skontoctl settle

    def _check_sample_with_settle(self, st, rd, expect):
        r = random.Random(7)
        sample = r.sample(sorted(o for o, e in expect.items() if e["pays"]), 12)
        for oid in sample:
            e = expect[oid]
            args = ["settle", "--terms", e["terms"], "--baseline", e["ship"],
                    "--amount", money(e["amount"]), "--currency", e["cur"], "--json"]
            for d, amt, full in e["pays"]:
                args += ["--payment", "%s:%s%s" % (d, money(amt), ":full" if full else "")]
            out = json.loads(st.ctl(*args).stdout)
            inv = self.invoices[oid]
            self.assertEqual(minor(out["balance"]), inv["balance"], oid)
            self.assertEqual(sum(minor(p["discount"]) for p in out["payments"]),
                             inv["discount_total"], oid)


if __name__ == "__main__":
    unittest.main()
