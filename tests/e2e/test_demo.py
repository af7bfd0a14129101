"""The README's main job: deploy/demo.sh on a small history, start to finish.

What a person running `./run demo` sees: seven numbered steps, every event
of the history acknowledged, the queues drained, a paid order with its
earned discount, an open order, a customer's windows, the forecast, the
dead-letter list with the bad events' reasons, two simulated weeks of
reminders and statements in the maildir it names (counted, one of each
shown as text, and the same count of mails really in the maildir); with
SKONTO_DEMO_KEEP=0 nothing is left running afterwards.
"""
import mailbox
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import xml.dom.minidom

import harness

SRC = os.path.abspath(os.environ.get("SK_SOURCE_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("SK_BUILD_DIR") or os.path.join(SRC, "build"))


class DemoTest(unittest.TestCase):
    def test_demo_runs_end_to_end_and_stops(self):
        tmp = tempfile.mkdtemp(prefix="skonto-demo-")
        self.addCleanup(shutil.rmtree, tmp, True)
        run_dir = os.path.join(tmp, "demo")
        env = dict(os.environ)
        for k in ("SKONTO_REDIS_URL", "SKONTO_INGEST_ENDPOINT", "SKONTO_RUN_DIR"):
            env.pop(k, None)
        env.update({"SKONTO_BIN": os.path.join(BUILD, "bin"), "SKONTO_DEMO_DIR": run_dir,
                    "SKONTO_DEMO_ORDERS": "400", "SKONTO_DEMO_CUSTOMERS": "40",
                    "SKONTO_DEMO_KEEP": "0", "SKONTO_INGEST_PORT": str(harness.free_port()),
                    "SKONTO_AUDIT_PORT": str(harness.free_port()), "SKONTO_AUDIT_FEED_PORT": str(harness.free_port())})

        def down():  # whatever happens, leave nothing running
            subprocess.run(["bash", os.path.join(SRC, "deploy", "local.sh"), "down", run_dir],
                           env=env, capture_output=True, timeout=60)
        self.addCleanup(down)

        r = subprocess.run(["bash", os.path.join(SRC, "deploy", "demo.sh")], env=env,
                           capture_output=True, text=True, timeout=300)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out[-4000:])
        for n in range(1, 10):
            self.assertIn("[%d/9]" % n, out)
        self.assertRegex(out, r"accepted\s+\d+\s+duplicate\s+0\s+rejected\s+0")
        self.assertIn("drained", out)
        self.assertIn("status paid", out)          # the order paid inside a window
        self.assertIn("no payments yet", out)      # the open one
        self.assertIn("unearned", out)
        self.assertIn("by history", out)           # the forecast
        self.assertIn("skontoctl report policy", out)  # the policy report ran
        self.assertNotIn("report policy: ", out)         # and said no error
        # its HTML file, named so a person can open it: it parses, with its charts
        m = re.search(r"^open (\S+policy\.html)$", out, re.M)
        self.assertIsNotNone(m, out[-4000:])
        page = m.group(1) if os.path.isabs(m.group(1)) else os.path.join(SRC, m.group(1))
        with open(page, encoding="utf-8") as f:
            doc = xml.dom.minidom.parseString(f.read())
        svgs = [e.getAttribute("id") for e in doc.getElementsByTagName("svg")]
        self.assertIn("chart-takeup", svgs)
        self.assertTrue(any(i.startswith("chart-months-") for i in svgs), svgs)
        self.assertGreater(len(doc.getElementsByTagName("rect")), 0)
        self.assertEqual(len(doc.getElementsByTagName("script")), 0)
        for reason in ("bad_terms", "unknown_customer", "unknown_order"):
            self.assertIn(reason, out)
        # the simulated weeks: mails counted, in the maildir it names, one of each shown
        m = re.search(r"(\d+) reminders and (\d+) statements are in the maildir (\S+)", out)
        self.assertIsNotNone(m, out[-4000:])
        reminders, statements, maildir = int(m.group(1)), int(m.group(2)), m.group(3)
        self.assertGreater(reminders, 0)
        self.assertGreater(statements, 0)
        box = mailbox.Maildir(maildir if os.path.isabs(maildir) else os.path.join(SRC, maildir),
                              create=False)
        ids = [msg["Message-ID"] for msg in box]
        self.assertEqual(len(ids), len(set(ids)), "no mail twice")
        self.assertEqual((sum(i.startswith("<r.") for i in ids),
                          sum(i.startswith("<s.") for i in ids)), (reminders, statements))
        self.assertIn("--- one reminder, as the customer reads it", out)
        self.assertIn("--- one statement, as the customer reads it", out)
        # the override: refused to the salesperson and to the sales director,
        # approved by the finance director, applied, followed and verified
        self.assertIn("refused not_a_director", out)
        self.assertIn("refused needs_finance_director", out)
        m = re.search(r"override (OV-\d+)  approved  order (\S+)", out)
        self.assertIsNotNone(m, out[-4000:])
        ovid, order = m.group(1), m.group(2)
        self.assertRegex(out, r"%s +extend tier \d: \S+ -> \S+, effect [\d.]+ CNY; requested by "
                         r"sales-local, approved by finance-local" % ovid)
        self.assertRegex(out, r"\d+ +\S+ +- +- +applied +%s +%s applied" % (order, ovid))
        self.assertRegex(out, r"ok size=5 root=[0-9a-f]{64} checkpoints=\d+")
        self.assertIn("Stopping the stack", out)
        self.assertEqual(os.listdir(os.path.join(run_dir, "pid")), [])


if __name__ == "__main__":
    unittest.main()
