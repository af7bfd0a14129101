"""The demo's generated ERP history tells the truth about itself.

deploy/gen_history.py computes payment amounts with the engine's rule so that
a customer who "pays in a window" closes the invoice, a short-payer leaves an
unearned discount open, and so on; the demo then shows such orders as
examples. Sent through the real workers, every invoice must end in the state
the generator claims, every event must be accepted, the same seed must give
the same bytes, and the bad events must be rejected with their reasons.
"""
import json
import os
import subprocess
import sys
import time
import unittest

import harness

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_crash import SHARDS, Redis, minor, shard  # noqa: E402
import skinvoice  # noqa: E402

SRC = os.path.abspath(os.environ.get("SK_SOURCE_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "deploy"))
import gen_history  # noqa: E402

TODAY = "2026-11-27"


def generate(**kw):
    import datetime
    h = gen_history.History(kw.get("seed", 7), datetime.date.fromisoformat(TODAY),
                            kw.get("customers", 40), kw.get("orders", 600), 90)
    h.make_customers()
    h.make_orders()
    return h


class GenHistoryTest(unittest.TestCase):
    def test_same_seed_same_bytes(self):
        cmd = [sys.executable, os.path.join(SRC, "deploy", "gen_history.py"), "--today", TODAY,
               "--orders", "300", "--customers", "30"]
        a = subprocess.run(cmd, capture_output=True, check=True).stdout
        b = subprocess.run(cmd, capture_output=True, check=True).stdout
        c = subprocess.run(cmd + ["--seed", "8"], capture_output=True, check=True).stdout
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertEqual(len(a.splitlines()), len(list(generate(seed=20261102, customers=30,
                                                                orders=300).lines())))

    def test_history_through_the_workers(self):
        h = generate()
        lines = list(h.lines())
        with harness.Stack() as st:
            st.start_ingest()
            st.start_discount("discount-1")
            sent = st.ctl("send", "-", "--json", input="\n".join(lines) + "\n", check=False)
            self.assertEqual(sent.returncode, 0, sent.stdout[-2000:] + sent.stderr[-2000:])
            out = json.loads(sent.stdout)
            self.assertEqual((out["accepted"], out["rejected"]), (len(lines), 0))

            bad = "\n".join(json.dumps(e) for e in h.bad_events()) + "\n"
            r = st.ctl("send", "-", "--json", input=bad, check=False)
            self.assertEqual(r.returncode, 1)
            rej = {x["event_id"]: x["reason_code"] for x in json.loads(r.stdout)["rejections"]}
            self.assertEqual(rej, {"BAD-1": "bad_terms", "BAD-2": "bad_terms",
                                   "BAD-3": "bad_amount", "BAD-4": "unknown_customer",
                                   "BAD-5": "unknown_order", "BAD-6": "bad_currency",
                                   "BAD-7": "bad_date", "BAD-8": "unknown_field"})
            dlq = st.ctl_json("dlq", "list")
            self.assertEqual(sorted(d["event_id"] for d in dlq["dead_letters"]),
                             ["BAD-1", "BAD-2", "BAD-3", "BAD-4", "BAD-5"])

            rd = Redis(st.redis_sock)
            self.addCleanup(rd.close)
            end = time.time() + 60
            while sum(rd.pipe([("XLEN", "sk:{s%d}:events" % s) for s in range(SHARDS)])):
                self.assertLess(time.time(), end, "streams not drained")
                time.sleep(0.1)

            wrong = []
            counts = {"paid": 0, "cancelled": 0, "short": 0, "partial": 0, "open": 0}
            raw = Redis(st.redis_sock, decode=False)
            self.addCleanup(raw.close)
            oids = sorted(h.orders)
            stored = skinvoice.read_many(
                raw, ["sk:{s%d}:inv:%s" % (shard(h.orders[o]["customer"]), o) for o in oids])
            for oid, inv in zip(oids, stored):
                o = h.orders[oid]
                bal, unearned = inv["balance"], inv["unearned_total"]
                if o["cancelled"]:
                    ok, kind = inv["status"] == "cancelled", "cancelled"
                elif o["closed"]:
                    ok, kind = inv["status"] == "paid" and bal == 0, "paid"
                elif o["unearned"]:
                    ok, kind = inv["status"] == "open" and bal == unearned > 0, "short"
                elif o["paid"]:  # the first part of a partial payment
                    ok, kind = (inv["status"] == "open" and 0 < bal < o["amount"] and
                                inv["discount_total"] > 0), "partial"
                else:
                    ok, kind = (inv["status"] == "open" and
                                bal == o["amount"] - o["credit"]), "open"
                counts[kind] += 1
                if not ok:
                    wrong.append("%s (%s, %s): %r" % (oid, kind, o["habit"], inv))
            self.assertEqual(wrong[:5], [], "%d invoices not as generated" % len(wrong))
            # The history has every kind the demo talks about.
            self.assertTrue(all(counts.values()), counts)

            hl = h.highlights()
            paid = st.ctl_json("order", "show", hl["paid_in_window"])
            self.assertEqual((paid["status"], minor(paid["balance"])), ("paid", 0))
            self.assertGreater(minor(paid["discount_earned"]), 0,
                               "paid inside a window: a discount earned")

if __name__ == "__main__":
    unittest.main()
