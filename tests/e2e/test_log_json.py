"""Worker logs: one JSON object a line on stderr (common/io/sk_log).

Every line of ingest's and discount's logs parses and has ts (UTC, ms),
worker, level and msg; a line about one event names it in event_id and its
order in order_id (ingest's rejections, discount's errors), so an operator can
grep a log by id. SKONTO_LOG_FORMAT=text gives readable lines instead, and a
bad value stops the worker with a message naming the variable.
"""
import json
import os
import re
import subprocess
import unittest

import harness

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

EVENTS = "".join(json.dumps(e) + "\n" for e in [
    {"type": "customer", "event_id": "J1", "customer_id": "C-J", "name": "Acme",
     "terms": "2/10,n/30"},
    {"type": "order_shipped", "event_id": "J2", "order_id": "SO-J", "customer_id": "C-J",
     "currency": "CNY", "amount": "1000.00", "ship_date": "2026-11-02"},
    {"type": "order_cancelled", "event_id": "J3", "order_id": "SO-J"},
    {"type": "payment_received", "event_id": "J4", "order_id": "SO-J", "paid_on": "2026-11-05",
     "amount": "980.00", "full": True},
    # a customer nobody sent: ingest rejects it
    {"type": "order_shipped", "event_id": "J9", "order_id": "SO-X", "customer_id": "C-NONE",
     "currency": "CNY", "amount": "10.00", "ship_date": "2026-11-02"},
])


def lines(raw):
    out = []
    for line in raw.splitlines():
        o = json.loads(line)  # every line is one JSON object
        assert isinstance(o, dict), line
        out.append(o)
    return out


class LogJsonTest(unittest.TestCase):
    def test_every_line_is_json_with_the_fields(self):
        with harness.Stack() as st:
            st.start_ingest()
            st.start_discount("discount-1")
            r = st.ctl("send", "-", input=EVENTS, check=False)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # J9 rejected
            harness.wait_for(lambda: "which is cancelled" in st.log("discount-1"), timeout=20,
                             what="the payment on a cancelled order logged")
            st.stop("ingest")
            st.stop("discount-1")
            for name in ("ingest", "discount-1"):
                got = lines(st.raw_log(name))
                self.assertGreater(len(got), 2, name)
                for o in got:
                    self.assertRegex(o["ts"], TS)
                    self.assertEqual(o["worker"], name)
                    self.assertIn(o["level"], ("info", "warn", "error"))
                    self.assertIsInstance(o["msg"], str)
                    self.assertIsInstance(o["pid"], int)
                    self.assertEqual(list(o)[:4], ["ts", "worker", "pid", "level"])
                    self.assertEqual(list(o)[-1], "msg")
            rejected = [o for o in lines(st.raw_log("ingest")) if o.get("event_id") == "J9"]
            self.assertEqual(len(rejected), 1, st.raw_log("ingest"))
            self.assertEqual(rejected[0]["order_id"], "SO-X")
            self.assertEqual(rejected[0]["level"], "warn")
            self.assertIn("rejected event J9", rejected[0]["msg"])
            self.assertIn("customer C-NONE is unknown", rejected[0]["msg"])
            err = [o for o in lines(st.raw_log("discount-1")) if o.get("event_id") == "J4"]
            self.assertEqual(len(err), 1, st.raw_log("discount-1"))
            self.assertEqual((err[0]["order_id"], err[0]["level"]), ("SO-J", "error"))
            self.assertIn("which is cancelled", err[0]["msg"])
            # the stopping lines say what was done, at level info
            stop = [o for o in lines(st.raw_log("ingest")) if o["msg"].startswith("stopping:")]
            self.assertEqual([o["level"] for o in stop], ["info"])

    def test_text_format_and_a_bad_format(self):
        with harness.Stack() as st:
            st.start_discount("discount-t", env={"SKONTO_LOG_FORMAT": "text"})
            harness.wait_for(lambda: "own pending entries done" in st.raw_log("discount-t"),
                             what="discount started")
            st.stop("discount-t")
            first = st.raw_log("discount-t").splitlines()[0]
            self.assertRegex(first, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z discount-t\[\d+\] "
                                    r"info: starting \(pid \d+, Redis unix://")
            for program in ("skonto-discount", "skonto-ingest"):
                e = dict(st.env, SKONTO_LOG_FORMAT="yaml")
                r = subprocess.run([os.path.join(st.bin, program)], env=e, capture_output=True,
                                   text=True, timeout=20)
                self.assertEqual(r.returncode, 2, program)
                self.assertIn('SKONTO_LOG_FORMAT "yaml": want json or text',
                              harness.log_text(r.stderr))


if __name__ == "__main__":
    unittest.main()
