"""Simulated time: a stack started with SKONTO_CLOCK=redis (deploy/local.sh up)
runs on the instant kept in Redis, which `skontoctl clock set|advance` moves
forward and never back.

What a newcomer sees: `skontoctl clock advance 10d` and `customer show`'s days
left and open windows move with it, and so does the discount worker's "today"
(the next reminder it queues for an order it schedules afterwards); an
earlier `clock set` is refused; skontoctl's read-only Redis user cannot write
the clock key even with redis-cli, and the clock's own user can write nothing
else. A stack without SKONTO_CLOCK=redis refuses `clock set`, and has no
clock user at all.
"""
import datetime
import json
import os
import subprocess
import sys
import time
import unittest

import harness

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_local_sh as lsh  # noqa: E402  (a module: its tests do not run here)

BUILD = lsh.BUILD
DAY_MS = 86400000


def day_number(ymd):
    return (datetime.date.fromisoformat(ymd) - datetime.date(1970, 1, 1)).days


def iso(day):
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()


class ClockTest(unittest.TestCase):
    # The run directory, environment and local.sh runner of test_local_sh.
    sh, logs, _cleanup = lsh.LocalShTest.sh, lsh.LocalShTest.logs, lsh.LocalShTest._cleanup

    def setUp(self):
        lsh.LocalShTest.setUp(self)
        for k in ("SKONTO_TODAY", "SKONTO_CLOCK", "SKONTO_CLOCK_PASSWORD_FILE",
                  "SKONTO_REDIS_USER", "SKONTO_REDIS_PASSWORD_FILE", "SKONTO_LOG_FORMAT"):
            self.env.pop(k, None)
        self.env["SKONTO_DISCOUNT_WORKERS"] = "1"
        # No reminder worker: the due queue read below holds a reminder due at
        # once, which a reminder worker could take, send and follow with the
        # next one before the test looks (seen once in ~10 runs).
        self.env["SKONTO_REMINDER_WORKERS"] = "0"

    def up(self, **env):
        self.stack = lsh.LocalShTest.exported(self, self.sh("up", env=env).stdout)
        self.stack.pop("PATH", None)

    def ctl(self, *args, input=None):
        return lsh.LocalShTest.ctl(self, self.stack, *args, input=input)

    def ok(self, *args, input=None):
        r = self.ctl(*args, input=input)
        self.assertEqual(r.returncode, 0, "skontoctl %s: %s%s" % (" ".join(args), r.stdout,
                                                                 r.stderr))
        return r.stdout

    def redis_cli(self, user, *args):
        """redis-cli on the stack's socket as `user` (its password from secrets/)."""
        secrets = os.path.join(self.run_dir, "secrets")
        with open(os.path.join(secrets, "redis-%s.pass" % user)) as f:
            pw = f.read().strip()
        sock = os.path.join(os.path.realpath(self.run_dir), "redis.sock")
        return subprocess.run(["redis-cli", "--no-auth-warning", "-s", sock, "--user", user,
                               "--pass", pw, *map(str, args)],
                              capture_output=True, text=True, timeout=30).stdout.strip()

    def windows(self, cid, oid):
        c = json.loads(self.ok("customer", "show", cid, "--json"))
        inv = [i for i in c["invoices"] if i["order_id"] == oid][0]
        return c["today"], [(w["tier"], w["days_left"]) for w in inv["windows"]], \
            inv["days_to_net"]

    def test_advance_moves_what_customer_show_and_discount_see(self):
        self.up(SKONTO_CLOCK="redis")
        self.assertEqual(self.stack.get("SKONTO_CLOCK"), "redis")
        shown = json.loads(self.ok("clock", "show", "--json"))
        self.assertEqual(shown["mode"], "redis")
        self.assertTrue(shown["set"], shown)  # up starts simulated time at the wall clock
        self.assertIn("redis", self.ok("clock", "show"))

        # Simulated time stands still until someone moves it.
        time.sleep(1.1)
        self.assertEqual(json.loads(self.ok("clock", "show", "--json")), shown)

        # Tomorrow 09:00 UTC (later than the start, so allowed), so that the
        # days below do not depend on the time of day the test runs at.
        d0 = iso(day_number(shown["today"]) + 1)
        self.assertIn("simulated time is now %sT09:00:00Z (today %s)" % (d0, d0),
                      self.ok("clock", "set", d0 + "T09:00:00Z"))
        start = json.loads(self.ok("clock", "show", "--json"))["instant_ms"]
        self.assertEqual(start % DAY_MS, 9 * 3600 * 1000)

        events = ('{"type":"customer","event_id":"K1","customer_id":"C-K","name":"Acme",'
                  '"terms":"2/0,1/10,0.5/30,n/60"}\n'
                  '{"type":"order_shipped","event_id":"K2","order_id":"SO-K1","customer_id":"C-K",'
                  '"currency":"CNY","amount":"1130.00","tax":"130.00","ship_date":"%s"}\n' % d0)
        self.ok("send", "-", input=events)
        harness.wait_for(lambda: self.ctl("order", "show", "SO-K1").returncode == 0, timeout=15,
                         what="the order's schedule")
        self.assertEqual(self.windows("C-K", "SO-K1"), (d0, [(0, 0), (1, 10), (2, 30)], 60))

        out = self.ok("clock", "advance", "10d")
        d10 = iso(day_number(d0) + 10)
        self.assertIn("today %s" % d10, out)
        self.assertEqual(json.loads(self.ok("clock", "show", "--json"))["instant_ms"],
                         start + 10 * DAY_MS)
        self.assertEqual(self.windows("C-K", "SO-K1"), (d10, [(1, 0), (2, 20)], 50))

        # The discount worker judges by the same clock: an order shipped on d0
        # and scheduled now has its next window on d0 + 10, not d0.
        self.ok("send", "-", input=(
            '{"type":"order_shipped","event_id":"K3","order_id":"SO-K2","customer_id":"C-K",'
            '"currency":"CNY","amount":"1130.00","tax":"130.00","ship_date":"%s"}\n' % d0))
        harness.wait_for(lambda: self.ctl("order", "show", "SO-K2").returncode == 0, timeout=15,
                         what="the second order's schedule")
        # Its next reminder in the due queue: tier 0's window (d0) has closed,
        # tier 1's closes at the end of today, and its reminders of 3 and 1 days
        # before have passed, so the 1-day one is queued, due at once.
        queued = [m for n in range(16) for m in
                  self.redis_cli("default", "ZRANGE", "sk:{s%d}:rdue" % n, 0, -1).split("\n")
                  if m.endswith("|SO-K2")]
        self.assertEqual(queued, ["r|1|%s|1|SO-K2" % d10])

        self.ok("clock", "advance", "36h")
        self.assertEqual(self.windows("C-K", "SO-K1"),
                         (iso(day_number(d0) + 11), [(2, 19)], 49))

        # Never backwards: an earlier instant is refused and nothing moves.
        before = json.loads(self.ok("clock", "show", "--json"))
        r = self.ctl("clock", "set", d0)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("simulated time only moves forward: %sT00:00:00Z is before the current %s"
                      % (d0, before["instant"]), r.stderr)
        self.assertEqual(json.loads(self.ok("clock", "show", "--json")), before)
        # A later one is taken.
        later = iso(day_number(d0) + 40) + "T09:00:00Z"
        self.assertIn("simulated time is now %s" % later, self.ok("clock", "set", later))
        self.assertEqual(json.loads(self.ok("clock", "show", "--json"))["instant"], later)

        # skontoctl's own user is read-only, even with redis-cli; the clock's
        # user may write the clock key and nothing else.
        self.assertIn("NOPERM", self.redis_cli("skontoctl", "SET", "sk:{sys}:clock", "0"))
        self.assertIn("NOPERM", self.redis_cli(
            "skontoctl", "EVAL", "return redis.call('SET', KEYS[1], '0')", "1", "sk:{sys}:clock"))
        self.assertIn("NOPERM", self.redis_cli("clock", "SET", "sk:{sys}:hb", "x"))
        self.assertIn("NOPERM", self.redis_cli("clock", "DEL", "sk:{s0}:events"))
        self.assertEqual(json.loads(self.ok("clock", "show", "--json"))["instant"], later)

        # A later `up` (restarting a worker) keeps the stack's clock.
        r = self.sh("up", env={"SKONTO_CLOCK": "system"})
        self.assertIn("SKONTO_CLOCK=system ignored", r.stderr)
        self.assertIn("export SKONTO_CLOCK=redis", r.stdout)

    def test_without_simulated_time_set_is_refused(self):
        self.up()
        self.assertEqual(self.stack.get("SKONTO_CLOCK"), "system")
        self.assertIn("system (the wall clock)", self.ok("clock", "show"))
        for args in (("set", "2030-01-01T00:00:00Z"), ("advance", "7d")):
            r = self.ctl("clock", *args)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("this stack does not run on simulated time", r.stderr)
        # no clock user exists, and the clock key was never written
        acl = self.redis_cli("default", "ACL", "USERS").split()
        self.assertNotIn("clock", acl)
        self.assertIn("skontoctl", acl)
        self.assertEqual(self.redis_cli("default", "EXISTS", "sk:{sys}:clock"), "0")
        # bad values are refused with the variable and the form
        r = self.ctl("clock", "advance", "ten days")
        self.assertEqual(r.returncode, 2)
        self.assertIn('advance "ten days": want a duration such as', r.stderr)


if __name__ == "__main__":
    unittest.main()
