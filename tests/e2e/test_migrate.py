"""The stored invoice's migration (issue 7): invoices written in the layout of
before it (a ~15-field hash per invoice, written here with that encoding by
hand: "rate_ppm:last_day:discount;..." and so on) read the same through
skontoctl before and after a discount worker has moved them to the packed
layout (one string: "<rev>.<q>|" + skonto.v1.InvoiceState), and keep working:
an event that was waiting in the stream applies to the migrated invoice.

The migration runs when a discount worker starts (so `deploy/local.sh up`
migrates a run directory); it is idempotent (a second start moves nothing),
and resumes when it was stopped midway (here: one invoice put back in the old
layout and the "done" marker removed, as a kill before the end leaves it).
"""
import datetime
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_for  # noqa: E402
from skredis import shard  # noqa: E402
from test_discount import feed, payment  # noqa: E402
import skproto  # noqa: E402
import test_discount  # noqa: E402

TODAY = "2026-11-05"
SEED = "2/0,1/10,0.5/30,n/60"


def day(iso):
    return (datetime.date.fromisoformat(iso) - datetime.date(1970, 1, 1)).days


# Three invoices of customer C-1 in the old layout: open with a partial
# payment (500.00 on 2026-11-10 in the 1 % window: discount 5.05, settles
# 505.05) and forecasts, paid in full in tier 1, and cancelled.
D = {k: day(v) for k, v in (("t0", "2026-11-02"), ("t1", "2026-11-12"), ("t2", "2026-12-02"),
                            ("p", "2026-11-10"))}
TIERS = "20000:%d:2260;10000:%d:1130;5000:%d:565" % (D["t0"], D["t1"], D["t2"])
OLD = {
    "SO-OPEN": {"c": "C-1", "sp": "S-7", "cur": "CNY", "amt": "113000", "tax": "13000",
                "bal": "62495", "base": "2026-11-02", "inv": "2026-11-03", "terms": SEED,
                "net": "2027-01-01", "tiers": TIERS,
                "pays": "%d:50000:1:505:50505:0:0:0" % D["p"], "disc": "505", "st": "open",
                "ver": "1", "rev": "2", "fch": "2026-11-12|61870", "fcn": "2027-01-01|62495",
                "q": "2"},
    "SO-PAID": {"c": "C-1", "sp": "S-7", "cur": "CNY", "amt": "113000", "tax": "13000",
                "bal": "0", "base": "2026-11-02", "terms": SEED, "net": "2027-01-01",
                "tiers": TIERS, "pays": "%d:111870:1:1130:113000:0:0:1" % D["p"],
                "disc": "1130", "st": "paid", "ver": "1", "rev": "2"},
    "SO-GONE": {"c": "C-1", "cur": "CNY", "amt": "50000", "tax": "0", "bal": "50000",
                "base": "2026-11-02", "dlv": "2026-11-04", "terms": "n/30", "net": "2026-12-02",
                "tiers": "", "st": "cancelled", "ver": "3", "rev": "7", "q": "4"},
}


class MigrateTest(unittest.TestCase):
    def setUp(self):
        self.st = Stack()
        self.st.__enter__()
        self.st.env["SKONTO_TODAY"] = TODAY
        test_discount.pb = skproto.load()
        n = shard("C-1")
        self.st.redis_cli("HSET", "sk:{s%d}:cust:C-1" % n, "name", "Acme", "terms", SEED,
                          "statement", "weekly")
        for oid, fields in OLD.items():
            self.write_old(oid, fields)
            self.st.redis_cli("HSET", "sk:{o%d}:o2c" % shard(oid), oid, "C-1\tCNY")
        self.st.redis_cli("ZADD", "sk:{s%d}:copen:C-1" % n, day("2027-01-01"), "SO-OPEN")
        # what SO-OPEN contributes to the forecast (its fch / fcn)
        self.st.redis_cli("HSET", "sk:{s%d}:fc:hist" % n, "2026-11-12|CNY", "61870")
        self.st.redis_cli("HSET", "sk:{s%d}:fc:net" % n, "2027-01-01|CNY", "62495")

    def tearDown(self):
        self.st.close()

    def write_old(self, oid, fields):
        key = "sk:{s%d}:inv:%s" % (shard("C-1"), oid)
        self.st.redis_cli("DEL", key)
        args = []
        for k, v in fields.items():
            if v != "":
                args += [k, v]
        self.st.redis_cli("HSET", key, *args)

    def shown(self):
        """What a user sees of the three invoices and the customer."""
        out = {oid: self.st.ctl_json("order", "show", oid) for oid in OLD}
        out["customer"] = self.st.ctl_json("customer", "show", "C-1")
        out["text"] = self.st.ctl("order", "show", "SO-OPEN").stdout
        return out

    def types(self):
        return {oid: self.st.redis_cli("TYPE", "sk:{s%d}:inv:%s" % (shard("C-1"), oid))
                for oid in OLD}

    def start_and_wait(self, name):
        self.st.start_discount(name, env={"SKONTO_TODAY": TODAY})
        wait_for(lambda: self.st.redis_cli("HEXISTS", "sk:{sys}:hb", name) == "1",
                 what=name + "'s heartbeat")

    def test_old_invoices_read_the_same_after_the_migration(self):
        before = self.shown()
        self.assertEqual(self.types(), {oid: "hash" for oid in OLD})
        # what the old fields said, as skontoctl shows it
        self.assertEqual(before["SO-OPEN"]["balance"], "624.95")
        self.assertEqual(before["SO-OPEN"]["forecast"]["by_history"],
                         {"date": "2026-11-12", "amount": "618.70"})
        self.assertEqual(before["SO-GONE"]["status"], "cancelled")
        self.assertEqual(before["customer"]["invoices"][0]["order_id"], "SO-OPEN")

        self.start_and_wait("discount-1")
        self.assertEqual(self.types(), {oid: "string" for oid in OLD})
        self.assertEqual(self.shown(), before)
        self.assertIn("migrated 3 invoices", self.st.log("discount-1"))
        self.assertEqual(self.st.redis_cli("GET", "sk:{sys}:layout"), "2")
        # rev and the order's event number come along, in the header
        head = self.st.redis_cli("GETRANGE", "sk:{s%d}:inv:SO-GONE" % shard("C-1"), 0, 3)
        self.assertEqual(head, "7.4|")

        # a second start moves nothing
        self.st.stop("discount-1")
        self.start_and_wait("discount-2")
        self.assertNotIn("migrated", self.st.log("discount-2"))
        self.assertEqual(self.shown(), before)

    def test_a_migration_stopped_midway_is_finished_by_the_next_start(self):
        before = self.shown()
        self.start_and_wait("discount-1")
        self.st.stop("discount-1")
        # as a worker killed midway leaves it: one invoice still old, no marker
        self.write_old("SO-PAID", OLD["SO-PAID"])
        self.st.redis_cli("DEL", "sk:{sys}:layout")
        self.assertEqual(self.shown(), before)  # skontoctl reads both layouts meanwhile
        self.start_and_wait("discount-2")
        self.assertIn("migrated 1 invoices", self.st.log("discount-2"))
        self.assertEqual(self.types(), {oid: "string" for oid in OLD})
        self.assertEqual(self.shown(), before)

    def test_an_event_waiting_for_the_migration_applies_after_it(self):
        # the rest of SO-OPEN inside the 0.5 % window: 0.5 % of 624.95 = 3.12
        feed_redis = test_discount.Redis(self.st.redis_sock)
        try:
            feed(feed_redis, [(payment("E9", "SO-OPEN", 62495 - 312, "2026-11-20"), "C-1")])
        finally:
            feed_redis.close()
        self.start_and_wait("discount-1")
        o = wait_for(lambda: (lambda o: o if o["status"] == "paid" else None)(
            self.st.ctl_json("order", "show", "SO-OPEN")), what="SO-OPEN paid")
        self.assertEqual((o["balance"], o["discount_earned"], len(o["payments"])),
                         ("0.00", "8.17", 2))
        self.assertEqual(o["revision"], 3)
        # closed: out of the customer's open invoices, and the forecast cleared
        self.assertEqual(self.st.ctl_json("customer", "show", "C-1")["invoices"], [])
        n = shard("C-1")
        self.assertEqual(self.st.redis_cli("HGETALL", "sk:{s%d}:fc:net" % n), "")


if __name__ == "__main__":
    unittest.main()
