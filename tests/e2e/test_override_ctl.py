"""skontoctl override request|approve|reject|list|show and audit follow|verify
against the real audit worker (skonto-audit, CURVE + ZAP), ingest and a
discount worker on a real redis-server.

What a user sees is asserted: exit statuses (0 done, 1 unreachable, 2 usage,
3 refused, 4 error), the refusal code and message on stderr, amounts in the
invoice's currency, who asked and decided. An auditor then follows the feed
(joining late, with a tiny SUB high-water mark, while entries stream in):
every sequence number once, and the checkpoints it saved make `audit verify`
prove a truncation of the store."""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

CUSTOMER = ('{"type":"customer","event_id":"E-C%d","customer_id":"C-%d","name":"Acme",'
            '"email":"ap@acme.example","statement":"weekly","terms":"2/10,1/20,n/30"}\n')
ORDER = ('{"type":"order_shipped","event_id":"E-O%d","order_id":"SO-%d","customer_id":"C-%d",'
         '"currency":"CNY","amount":"1130.00","tax":"130.00","ship_date":"2026-11-02",'
         '"salesperson":"sam"}\n')
NORDERS = 4
AUDIT = os.path.join(os.environ.get("SK_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build"), "bin", "skonto-audit")


@unittest.skipUnless(os.path.exists(AUDIT), "no skonto-audit built")
class OverrideCtl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = st = harness.Stack().__enter__()
        cls.keys = st.audit_setup([(u, u, r) for u, r in (
            ("erp.bot", "erp"), ("sam", "sales"), ("sue", "sales"), ("dora", "sales_director"),
            ("fred", "finance_director"), ("ava", "auditor"))])
        cls.endpoint = st.audit_endpoint
        st.env.update({"SKONTO_CLOCK": "fixed:2026-11-05T09:00:00Z",
                       "SKONTO_AUDIT_ENDPOINT": st.audit_endpoint,
                       "SKONTO_AUDIT_FEED_ENDPOINT": st.audit_feed_endpoint,
                       "SKONTO_AUDIT_SERVER_KEY": st.audit_server_pub,
                       "SKONTO_AUDIT_PUBLIC_KEY": st.audit_public_key,
                       "SKONTO_INGEST_SERVER_KEY": st.audit_server_pub})
        # ingest shares the audit worker's server key and registry (the erp key sends)
        cls.ingest = st.start_ingest(env={
            "SKONTO_INGEST_SECRET_KEY_FILE": st.audit_env["SKONTO_AUDIT_SECRET_KEY_FILE"],
            "SKONTO_AUTHORIZED_KEYS": st.audit_env["SKONTO_AUTHORIZED_KEYS"]})
        st.start_discount()
        cls.audit = st.start_audit(env={"SKONTO_AUDIT_CHECKPOINT_SECONDS": "1",
                                        "SKONTO_AUDIT_CHECKPOINT_EVERY": "5",
                                        "SKONTO_OVERRIDE_FINANCE_ABOVE": "CNY:10.00"})
        events = "".join(CUSTOMER % (i, i) + ORDER % (i, i, i) for i in range(NORDERS))
        cls.as_user("erp.bot")
        st.ctl("send", "-", input=events)
        for i in range(NORDERS):
            harness.wait_for(lambda: st.ctl("order", "show", "SO-%d" % i,
                                            check=False).returncode == 0, what="the invoice")

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    @classmethod
    def as_user(cls, user):
        cls.st.env["SKONTO_CURVE_KEY_FILE"] = cls.keys[user]

    @classmethod
    def ctl_as(cls, user, *args):
        cls.as_user(user)
        return cls.st.ctl(*args, check=False)

    def json_as(self, user, *args, want=0):
        r = self.ctl_as(user, *args, "--json")
        self.assertEqual(r.returncode, want, r.stdout + r.stderr)
        return json.loads(r.stdout), r

    def setUp(self):
        self.assertIsNone(self.audit.poll(), "audit died:\n" + self.st.log("audit"))

    def rev(self, order):
        return self.st.ctl_json("order", "show", order)["revision"]

    def request(self, user, order, *change, want=0, rid=None):
        args = ["override", "request", order, "--rev", str(self.rev(order)), *change,
                "--reason", "the customer's bank was closed"]
        if rid:
            args += ["--request-id", rid]
        return self.json_as(user, *args, want=want)

    def test_request_approve_and_refusals(self):
        j, r = self.request("sam", "SO-0", "--extend", "t0:2026-11-15")
        self.assertEqual(j["status"], "ok")
        o = j["overrides"][0]
        self.assertEqual((o["status"], o["requested_by"], o["requester_role"], o["order_id"]),
                         ("pending", "sam", "sales", "SO-0"))
        self.assertEqual((o["old_value"], o["new_value"]), ("2026-11-12", "2026-11-15"))
        # on the open 1130.00, 2 % instead of 1 % for the days added: 11.30 CNY
        # (the discount base is the gross amount here; worked as the worker's rules say)
        self.assertRegex(o["effect"], r"^[0-9]+\.[0-9]{2}$")
        self.assertTrue(o["requested_at"].startswith("2026-11-05T09:00:00"))
        oid = o["id"]
        # text output: the same override for a person
        r = self.ctl_as("sam", "override", "show", oid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("extend t0 to 2026-11-15 (revision", r.stdout)
        self.assertIn("%s CNY more discount" % o["effect"], r.stdout)
        # a salesperson cannot approve (not even their own): refused, exit 3
        r = self.ctl_as("sue", "override", "approve", oid)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("refused not_a_director", r.stderr)
        # above CNY 10.00 a sales director is refused, a finance director accepted
        if float(o["effect"]) > 10:
            r = self.ctl_as("dora", "override", "approve", oid)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("refused needs_finance_director", r.stderr)
        j, _ = self.json_as("fred", "override", "approve", oid, "--comment", "one time")
        d = j["overrides"][0]["decision"]
        self.assertEqual((d["approved"], d["decided_by"], d["role"], d["comment"]),
                         (True, "fred", "finance_director", "one time"))
        self.assertIn(j["overrides"][0]["status"], ("approved", "applied", "stale"))
        # deciding again is refused or an error, never a second decision
        r = self.ctl_as("dora", "override", "reject", oid)
        self.assertIn(r.returncode, (3, 4), r.stderr)
        # list and show for anyone registered
        j, _ = self.json_as("ava", "override", "list", "--order", "SO-0")
        self.assertIn(oid, [x["id"] for x in j["overrides"]])
        r = self.ctl_as("ava", "override", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("ID "), r.stdout)

    def test_self_approval_and_reject(self):
        # a director may not approve their own... a director cannot request (wrong_role)
        j, r = self.request("dora", "SO-1", "--extend", "t0:2026-11-14", want=3)
        self.assertEqual((j["status"], j["code"]), ("refused", "wrong_role"))
        self.assertIn("refused wrong_role", r.stderr)
        j, _ = self.request("sue", "SO-1", "--extend", "t0:2026-11-14")
        oid = j["overrides"][0]["id"]
        j, r = self.json_as("sue", "override", "approve", oid, want=3)
        self.assertIn(j["code"], ("not_a_director", "self_approval"))
        j, _ = self.json_as("dora", "override", "reject", oid, "--comment", "no")
        self.assertEqual(j["overrides"][0]["status"], "rejected")
        self.assertEqual(j["overrides"][0]["decision"]["decided_by"], "dora")

    def test_idempotent_request_id_and_stale(self):
        a, _ = self.request("sam", "SO-2", "--extend", "t0:2026-11-13", rid="retry-1")
        b, _ = self.request("sam", "SO-2", "--extend", "t0:2026-11-13", rid="retry-1")
        self.assertEqual(a["overrides"][0]["id"], b["overrides"][0]["id"])
        # a request made against another revision is refused stale
        r = self.ctl_as("sam", "override", "request", "SO-2", "--rev", "999", "--extend",
                        "t0:2026-11-13", "--reason", "x")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("refused stale", r.stderr)

    def test_errors_and_usage(self):
        r = self.ctl_as("ava", "override", "show", "no-such-override")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("error not_found", r.stderr)
        r = self.ctl_as("sam", "override", "request", "SO-3", "--rev", "1", "--reason", "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("exactly one change", r.stderr)
        r = self.ctl_as("sam", "override", "request", "SO-3", "--rev", "1", "--rate", "t0:abc",
                        "--reason", "x")
        self.assertEqual(r.returncode, 2)
        r = self.ctl_as("sam", "override", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("Exit status", r.stdout)
        # nothing listening: said within a few seconds, exit 1
        t0 = time.time()
        r = self.ctl_as("sam", "override", "list", "--endpoint",
                        "tcp://127.0.0.1:%d" % harness.free_port())
        self.assertEqual(r.returncode, 1)
        self.assertIn("no connection to", r.stderr)
        self.assertLess(time.time() - t0, 15)
        # a wrong server key: the handshake never completes, said after 5 s
        _, other_pub, _ = self.st.keygen("not-the-server")
        t0 = time.time()
        r = self.ctl_as("sam", "override", "list", "--server-key", other_pub)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no CURVE handshake with", r.stderr)
        self.assertLess(time.time() - t0, 15)
        # a key the registry does not know: refused at the handshake, exit 1
        k, _, _ = self.st.keygen("stranger")
        self.st.env["SKONTO_CURVE_KEY_FILE"] = k
        r = self.st.ctl("override", "list", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("refused your key", r.stderr)

    def test_follow_from_count_and_roles(self):
        self.request("sam", "SO-3", "--extend", "t0:2026-11-14", rid="follow-1")
        self.request("sam", "SO-3", "--extend", "t0:2026-11-13", rid="follow-2")
        self.request("sam", "SO-3", "--extend", "t0:2026-11-16", rid="follow-3")
        size = int(self.ctl_as("ava", "audit", "verify").stdout.split()[1].split("=")[1])
        self.assertGreaterEqual(size, 3)
        r = self.ctl_as("ava", "audit", "follow", "--from", str(size - 2), "--count", "2",
                        "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(x)["seq"] for x in r.stdout.splitlines()],
                         [size - 2, size - 1])
        self.assertIn("roots cannot be checked", r.stderr)
        # only auditors read the feed: a salesperson's snapshot is refused
        r = self.ctl_as("sam", "audit", "follow", "--count", "1")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("refused wrong_role", r.stderr)
        # tail shows refusals with their code
        j = json.loads(self.ctl_as("ava", "audit", "tail", "-n", "10000", "--json").stdout)
        self.assertIn("wrong_role", [e["refusal_code"] for e in j])

    def test_grant_without_payment_names_the_problem(self):
        r = self.ctl_as("sam", "override", "request", "SO-3", "--rev", "1", "--grant", "t0",
                        "--reason", "late payment")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("has no payment", r.stderr)

    def test_zz_late_follower_sees_every_entry_once(self):
        """An auditor joins while requests stream in, with SUB RCVHWM 1: it
        catches up by snapshot and gaps, and ends with every seq once."""
        stop = threading.Event()

        def churn():
            i = 0
            while not stop.is_set() and i < 40:
                self.ctl_as("sam", "override", "request", "SO-3", "--rev",
                            str(self.rev("SO-3")), "--extend", "t0:2026-11-13", "--reason",
                            "churn %d" % i, "--request-id", "churn-%d" % i)
                i += 1
        saved = os.path.join(self.st.dir, "ava.cp")
        th = threading.Thread(target=churn)
        th.start()
        time.sleep(0.5)
        self.as_user("ava")
        env = dict(self.st.env)
        p = subprocess.Popen([os.path.join(self.st.bin, "skontoctl"), "audit", "follow", "--json",
                              "--rcvhwm", "1", "--checkpoints", saved], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        th.join()
        stop.set()
        size = int(self.ctl_as("ava", "audit", "verify").stdout.split()[1].split("=")[1])
        # wait for the follower to have everything, then stop it
        deadline = time.time() + 30
        seen = []
        os.set_blocking(p.stdout.fileno(), False)
        buf = ""
        while time.time() < deadline and len(seen) < size:
            time.sleep(0.2)
            chunk = p.stdout.read() or ""
            buf += chunk
            *done, buf = buf.split("\n")
            seen += [json.loads(x)["seq"] for x in done if x]
        p.terminate()
        out, err = p.communicate(timeout=10)
        self.assertEqual(seen, list(range(size)), err)
        with open(saved, "rb") as f:
            notes = f.read()
        self.assertIn(b"skonto.test/audit\n", notes)
        # the auditor's saved checkpoints prove a truncation of the store
        r = self.ctl_as("ava", "audit", "verify", "--checkpoints", saved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("ok size="), r.stdout)
        # ... and prove it once the store is cut behind the worker's back
        self.st.redis_cli("XADD", "sk:{audit}:log", "MAXLEN", "0", "*", "x", "y")
        self.st.redis_cli("XADD", "sk:{audit}:cp", "MAXLEN", "0", "*", "x", "y")
        r = self.ctl_as("ava", "audit", "verify", "--checkpoints", saved)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("wrong reason=truncated entry=0 "), r.stdout)


if __name__ == "__main__":
    unittest.main()
