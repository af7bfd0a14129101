"""skontoctl audit verify|tail and report overrides against a real
redis-server holding an audit log written as the audit worker writes it
(tests/auditfixture.py), read with an auditor's read-only Redis user.

Every tampering an attacker with the admin Redis connection (but not the
signing key) can do — change a byte, delete an entry, reorder, truncate
(XTRIM, XADD MAXLEN 0), roll back — must make `audit verify` fail naming the
exact entry, and the same one tests/auditcheck.py (the independent verifier
written from docs/AUDIT.md) names."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import auditcheck  # noqa: E402
import auditfixture  # noqa: E402
import harness  # noqa: E402

N, EVERY = 60, 10


class AuditVerifyCtl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = harness.Stack()
        cls.st.__enter__()
        pw = os.path.join(cls.st.dir, "auditor.pw")
        with open(pw, "w") as f:
            f.write("auditor-secret\n")
        cls.st.redis_cli("ACL", "SETUSER", "auditor", "on", ">auditor-secret", "resetkeys",
                         "~sk:{audit}:*", "-@all", "+@read", "-@dangerous", "+ping")
        cls.st.env.update({"SKONTO_REDIS_USER": "auditor", "SKONTO_REDIS_PASSWORD_FILE": pw})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def setUp(self):
        self.st.redis_cli("DEL", auditfixture.LOG, auditfixture.CP, auditfixture.OVR)
        self.log = auditfixture.AuditLog(self.st.redis_sock)
        self.pubf = os.path.join(self.st.dir, "audit.pub")
        with open(self.pubf, "w") as f:
            f.write(self.log.pub_text + "\n")
        self.st.env["SKONTO_AUDIT_PUBLIC_KEY"] = self.pubf
        self.log.checkpoint()  # the empty log's, as the worker starts
        for i in range(N):
            if i % 2:
                self.log.append(self.log.decided("ov-%d" % (i // 2), "SO-%d" % (i // 2)))
            else:
                self.log.append(self.log.requested("ov-%d" % (i // 2), "SO-%d" % (i // 2)))
            if (i + 1) % EVERY == 0:
                self.log.checkpoint()
        self.saved = os.path.join(self.st.dir, "saved.cp")
        with open(self.saved, "wb") as f:
            f.writelines(self.log.checkpoints())

    def tearDown(self):
        self.log.r.close()

    def verify(self, *extra):
        r = self.st.ctl("audit", "verify", *extra, check=False)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return r

    def independent(self, with_saved):
        """auditcheck.py over the stream as it is now, its checkpoints (and the saved ones)."""
        leaves, cps = os.path.join(self.st.dir, "leaves"), os.path.join(self.st.dir, "cps")
        self.log.export(leaves)
        with open(cps, "wb") as f:
            f.writelines(self.log.checkpoints())
        args = [self.pubf, leaves, cps] + ([self.saved] if with_saved else [])
        return subprocess.run([sys.executable, auditcheck.__file__] + args, capture_output=True,
                              text=True).stdout.strip()

    def assert_wrong(self, reason, entry, with_saved=True):
        r = self.verify(*(["--checkpoints", self.saved] if with_saved else []))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        want = "wrong reason=%s entry=%d " % (reason, entry)
        self.assertTrue(r.stdout.startswith(want), r.stdout)
        # the independent verifier names the same entry for the same reason
        # (its messages, and the index of the checkpoint in its own list, differ)
        self.assertTrue(self.independent(with_saved).startswith(want), self.independent(with_saved))

    def test_honest_log(self):
        r = self.verify("--checkpoints", self.saved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        root = auditcheck.tree_hash([h for _, h, _ in self.log.leaves]).hex()
        # the log's 7 checkpoints and the 7 saved copies
        self.assertEqual(r.stdout, "ok size=%d root=%s checkpoints=14\n" % (N, root))
        self.assertEqual(self.independent(True), r.stdout.strip())
        # the public key as text works as well as its file
        r = self.st.ctl("audit", "verify", "--pub", self.log.pub_text)
        self.assertTrue(r.stdout.startswith("ok size=60 "), r.stdout)

    def test_changed_byte(self):
        s = self.log.stream()
        fields = [f for _, f in s]
        e = bytearray(fields[23][b"e"])
        e[-1] ^= 0x01
        fields[23][b"e"] = bytes(e)
        self.log.rewrite(fields)
        self.assert_wrong("leaf_hash", 23)
        # the stored hash rewritten too: the root of 30 fails, 20 is the first uncovered entry
        fields[23][b"h"] = auditcheck.leaf_hash(bytes(e)).hex().encode()
        self.log.rewrite(fields)
        self.assert_wrong("root", 20)

    def test_deleted_entry(self):
        s = self.log.stream()
        self.st.redis_cli("XDEL", auditfixture.LOG, s[30][0].decode())
        self.assert_wrong("sequence", 30)
        # where the auditor finds it: the stream id now at position 30
        self.assertIn("(stream id %s of sk:{audit}:log)" % s[31][0].decode(),
                      self.verify().stdout)

    def test_reordered(self):
        fields = [f for _, f in self.log.stream()]
        fields[40], fields[41] = fields[41], fields[40]
        self.log.rewrite(fields)
        self.assert_wrong("sequence", 40)

    def test_truncated_with_xadd_maxlen_0_and_xtrim(self):
        self.st.redis_cli("XADD", auditfixture.LOG, "MAXLEN", "0", "*", "x", "y")
        self.st.redis_cli("XADD", auditfixture.CP, "MAXLEN", "0", "*", "x", "y")
        self.assertEqual(self.st.redis_cli("XLEN", auditfixture.LOG), "0")
        # without saved checkpoints an empty store proves nothing ...
        r = self.verify()
        self.assertTrue(r.stdout.startswith("ok size=0 "), r.stdout)
        # ... with them the cut is found at the first missing entry
        self.assert_wrong("truncated", 0)

    def test_xtrim_cuts_the_oldest(self):
        self.st.redis_cli("XTRIM", auditfixture.LOG, "MAXLEN", "20")
        self.assert_wrong("sequence", 0, with_saved=False)

    def test_tail_cut_and_rollback(self):
        # the store rolled back to its state at the checkpoint of 30
        log = [f for _, f in self.log.stream()][:30]
        cps = [f for _, f in self.log.stream(auditfixture.CP)][:4]
        self.log.rewrite(log)
        self.log.rewrite(cps, auditfixture.CP)
        r = self.verify()
        self.assertTrue(r.stdout.startswith("ok size=30 "), r.stdout)
        self.assert_wrong("truncated", 30)
        # ... and new entries appended since, consistent in themselves
        for i in range(30, 45):
            data = b"forged %d" % i
            self.log.r.cmd("XADD", auditfixture.LOG, "*", "seq", str(i), "h",
                           auditcheck.leaf_hash(data).hex(), "e", data)
        self.assert_wrong("root", 30)

    def test_bad_key_and_usage(self):
        other = auditfixture.AuditLog(self.st.redis_sock, seed=b"\x07" * 32)
        other.r.close()
        r = self.st.ctl("audit", "verify", "--pub", other.pub_text, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stdout.startswith("wrong reason=bad_checkpoint entry=-1 checkpoint=0"),
                        r.stdout)
        r = self.st.ctl("audit", "verify", "--pub", "nonsense", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--pub", r.stderr)
        env_pub = self.st.env.pop("SKONTO_AUDIT_PUBLIC_KEY")
        try:
            r = self.st.ctl("audit", "verify", check=False)
        finally:
            self.st.env["SKONTO_AUDIT_PUBLIC_KEY"] = env_pub
        self.assertEqual(r.returncode, 2)
        self.assertIn("SKONTO_AUDIT_PUBLIC_KEY", r.stderr)

    def test_auditor_user_cannot_write_the_log(self):
        r = subprocess.run(["redis-cli", "-s", self.st.redis_sock, "--user", "auditor", "--pass",
                            "auditor-secret", "--no-auth-warning", "XADD", auditfixture.LOG,
                            "MAXLEN", "0", "*", "a", "b"], capture_output=True, text=True)
        self.assertIn("NOPERM", r.stdout + r.stderr)

    def test_tail(self):
        r = self.st.ctl("audit", "tail", "-n", "3")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 4, r.stdout)  # header + 3
        self.assertTrue(lines[0].startswith("SEQ"))
        self.assertTrue(lines[1].startswith("57 "), lines[1])
        self.assertIn("requested", lines[2])
        self.assertIn("extend t1 to 2026-11-17: 2026-11-12 -> 2026-11-17, effect 12.34 CNY",
                      lines[2])
        self.assertIn('reason "late bank"', lines[2])
        self.assertIn("T", lines[1].split()[1])  # an ISO time
        self.assertTrue(lines[1].split()[1].endswith("Z"))
        j = self.st.ctl_json("audit", "tail", "-n", "2")
        self.assertEqual([e["seq"] for e in j], [58, 59])
        self.assertEqual(j[0]["kind"], "requested")
        self.assertEqual(j[0]["actor"], "sam")
        self.assertEqual(j[0]["role"], "sales")
        self.assertEqual(j[1]["role"], "sales_director")
        self.assertEqual(j[0]["order_id"], "SO-29")
        self.assertEqual((j[0]["override_id"], j[0]["effect"], j[0]["currency"]),
                         ("ov-29", "12.34", "CNY"))

    def test_report_overrides(self):
        pb = self.log.pb
        R = pb.OverrideRecord
        day = 1764547200000  # 2025-12-01
        # sam asked three times for C-1: flagged by count
        for i, st in enumerate((R.APPLIED, R.REJECTED, R.PENDING)):
            self.log.record("o%d" % i, "SO-%d" % i, "C-1", "sam", st, effect=5000,
                            decided_by="dora" if st != R.PENDING else "", at_ms=day)
        # kim once for C-2, applied, granting 100.00 CNY: no invoice known, so all of
        # the discount came from the override: flagged by share
        self.log.record("o9", "SO-9", "C-2", "kim", R.APPLIED, effect=10000, decided_by="fred",
                        at_ms=day + 86400000)
        # lee once for C-3, expired, with one refused decision: not flagged
        self.log.record("o7", "SO-7", "C-3", "lee", R.EXPIRED, refused=1, at_ms=day)
        r = self.st.ctl("report", "overrides")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 4, r.stdout)
        self.assertTrue(lines[1].startswith("FLAG  sam"), r.stdout)
        self.assertIn("50.00 CNY", lines[1])
        self.assertIn("3 requests", lines[1])
        self.assertTrue(lines[2].startswith("FLAG  kim"), r.stdout)
        self.assertIn("100.00 CNY", lines[2])
        self.assertIn("fred", lines[2])
        self.assertTrue(lines[3].lstrip().startswith("lee"), r.stdout)
        j = self.st.ctl_json("report", "overrides")
        sam = j["pairs"][0]
        self.assertEqual((sam["salesperson"], sam["customer_id"], sam["requested"],
                          sam["approved"], sam["refused"]), ("sam", "C-1", 3, 1, 1))
        self.assertEqual(sam["granted"][0]["amount"], "50.00")
        self.assertEqual(sam["approvers"], ["dora"])
        lee = j["pairs"][2]
        self.assertEqual((lee["refused"], lee["flagged"]), (2, False))
        # --from / --to: only kim's request was made on 2025-12-02
        j = self.st.ctl_json("report", "overrides", "--from", "2025-12-02", "--to", "2025-12-02")
        self.assertEqual([p["salesperson"] for p in j["pairs"]], ["kim"])
        r = self.st.ctl("report", "overrides", "--from", "2025-12-03", "--to", "2025-12-02",
                        check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("after", r.stderr)


if __name__ == "__main__":
    unittest.main()
