"""The audit log's proofs checked by two implementations: the C code
(tests/io/auditlog over common/io/sk_merkle, sk_checkpoint, sk_auditverify)
writes an audit log of AuditEvent protobufs and its signed checkpoints;
tests/auditcheck.py, written from docs/AUDIT.md alone (hashlib, PyNaCl),
verifies them. For each tampering of the files an attacker with write access
to the store but not the signing key could do, both must refuse the log
and name the same first wrong entry."""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import auditcheck  # noqa: E402

BUILD = os.environ.get("SK_BUILD_DIR", "build")
TOOL = os.path.join(BUILD, "tests", "io", "auditlog")
N, EVERY = 200, 25


class AuditVerifyInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sk_audit_")
        cls.key = os.path.join(cls.dir, "audit.key")
        cls.pub = os.path.join(cls.dir, "audit.pub")
        cls.leaves = os.path.join(cls.dir, "leaves")
        cls.cps = os.path.join(cls.dir, "checkpoints")
        subprocess.run([TOOL, "keygen", "skonto.test/audit", cls.key, cls.pub], check=True)
        subprocess.run([TOOL, "write", cls.key, str(N), str(EVERY), cls.leaves, cls.cps],
                       check=True)
        with open(cls.leaves, "rb") as f:
            cls.lines = f.read().splitlines(keepends=True)
        with open(cls.cps, "rb") as f:
            cls.notes = auditcheck.split_notes(f.read())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def both(self, lines, notes, saved=None, pub=None):
        """Runs both verifiers on the files given; returns (C's line, Python's line)."""
        d = tempfile.mkdtemp(dir=self.dir)
        lp, cp = os.path.join(d, "leaves"), os.path.join(d, "checkpoints")
        with open(lp, "wb") as f:
            f.writelines(lines)
        with open(cp, "wb") as f:
            f.writelines(notes)
        files = [cp]
        if saved is not None:
            files.append(os.path.join(d, "saved"))
            with open(files[-1], "wb") as f:
                f.writelines(saved)
        args = [pub or self.pub, lp] + files
        c = subprocess.run([TOOL, "verify"] + args, capture_output=True, text=True)
        py = subprocess.run([sys.executable, auditcheck.__file__] + args, capture_output=True,
                            text=True)
        self.assertIn(c.returncode, (0, 1), c.stderr)
        self.assertEqual(c.returncode, py.returncode, (c.stdout, py.stdout, py.stderr))
        return c.stdout.strip(), py.stdout.strip()

    def assert_wrong(self, want_reason, want_entry, **kw):
        args = kw.pop("args")
        c, py = self.both(*args, **kw)
        prefix = "wrong reason=%s entry=%d " % (want_reason, want_entry)
        self.assertTrue(c.startswith(prefix), "C said: " + c)
        self.assertTrue(py.startswith(prefix), "Python said: " + py)

    @staticmethod
    def entry(seq, data):
        return b"%d %s %s\n" % (seq, auditcheck.leaf_hash(data).hex().encode(),
                                base64.b64encode(data))

    @staticmethod
    def data_of(line):
        return base64.b64decode(line.split()[2])

    def test_auditcheck_itself_on_the_rfc6962_reference_tree(self):
        leaves = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                             "5051525354555657",
                                             "606162636465666768696a6b6c6d6e6f")]
        hashes = [auditcheck.leaf_hash(x) for x in leaves]
        self.assertEqual(auditcheck.tree_hash([]).hex(),
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        self.assertEqual(auditcheck.tree_hash(hashes[:3]).hex(),
                         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77")
        self.assertEqual(auditcheck.tree_hash(hashes).hex(),
                         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")

    def test_honest_log_both_agree(self):
        c, py = self.both(self.lines, self.notes)
        # a checkpoint of the empty log, then one every 25 entries
        want = "ok size=%d root=" % N
        self.assertTrue(c.startswith(want), c)
        self.assertEqual(c, py)
        self.assertEqual(len(self.notes), 1 + N // EVERY)
        root = auditcheck.tree_hash([auditcheck.leaf_hash(self.data_of(x)) for x in self.lines])
        self.assertIn("root=" + root.hex(), c)
        # the leaves are the AuditEvent bytes: field 1 (seq) first, as varint
        self.assertEqual(self.data_of(self.lines[5])[:2], b"\x08\x05")

    def test_changed_byte(self):
        lines = list(self.lines)
        data = bytearray(self.data_of(lines[77]))
        data[-3] ^= 0x01  # a digit of the details' new value
        seq, stored, _ = lines[77].split(b" ")
        lines[77] = b"%s %s %s\n" % (seq, stored, base64.b64encode(bytes(data)))
        self.assert_wrong("leaf_hash", 77, args=(lines, self.notes))
        # with the stored hash rewritten too: the root of 100 no longer comes
        # out, and 75 is the first entry no matching signed root covers
        lines[77] = self.entry(77, bytes(data))
        self.assert_wrong("root", 75, args=(lines, self.notes))

    def test_deleted_entry(self):
        lines = self.lines[:120] + self.lines[121:]
        self.assert_wrong("sequence", 120, args=(lines, self.notes))

    def test_two_entries_swapped(self):
        lines = list(self.lines)
        lines[40], lines[41] = lines[41], lines[40]
        self.assert_wrong("sequence", 40, args=(lines, self.notes))
        # swapped with their sequence numbers rewritten: the signed root of 50
        lines[40] = self.entry(40, self.data_of(self.lines[41]))
        lines[41] = self.entry(41, self.data_of(self.lines[40]))
        self.assert_wrong("root", 25, args=(lines, self.notes))

    def test_truncation(self):
        # XTRIM to 130 entries, and the log's checkpoints past it deleted too
        lines = self.lines[:130]
        notes = self.notes[:1 + 125 // EVERY]
        c, py = self.both(lines, notes)
        self.assertTrue(c.startswith("ok size=130"), c)  # why auditors save checkpoints
        self.assert_wrong("truncated", 130, args=(lines, notes), saved=self.notes)
        self.assert_wrong("truncated", 0, args=([], self.notes[:1]), saved=self.notes)

    def test_rollback_to_an_earlier_checkpoint(self):
        # the store restored to its state at the checkpoint of 100
        lines, notes = self.lines[:100], self.notes[:1 + 100 // EVERY]
        self.assert_wrong("truncated", 100, args=(lines, notes), saved=self.notes)
        # ... and other entries appended after it, consistent in themselves
        forged = [self.entry(i, b"forged %d" % i) for i in range(100, N)]
        self.assert_wrong("root", 100, args=(lines + forged, notes), saved=self.notes)

    def test_forged_checkpoint_and_foreign_key(self):
        notes = list(self.notes)
        b = bytearray(notes[3])
        b[len("skonto.test/audit\n")] ^= 0x01  # its size digit
        notes[3] = bytes(b)
        c, py = self.both(self.lines, notes)
        self.assertTrue(c.startswith("wrong reason=bad_checkpoint entry=-1 checkpoint=3"), c)
        self.assertTrue(py.startswith("wrong reason=bad_checkpoint entry=-1 checkpoint=3"), py)
        other_key, other_pub = os.path.join(self.dir, "o.key"), os.path.join(self.dir, "o.pub")
        subprocess.run([TOOL, "keygen", "skonto.test/audit", other_key, other_pub], check=True)
        c, py = self.both(self.lines, self.notes, pub=other_pub)
        self.assertTrue(c.startswith("wrong reason=bad_checkpoint entry=-1 checkpoint=0"), c)
        self.assertTrue(py.startswith("wrong reason=bad_checkpoint entry=-1 checkpoint=0"), py)

    def test_secret_key_file_readable_by_others_is_refused(self):
        os.chmod(self.key, 0o644)
        try:
            r = subprocess.run([TOOL, "write", self.key, "1", "1", os.devnull, os.devnull],
                               capture_output=True, text=True)
        finally:
            os.chmod(self.key, 0o600)
        self.assertEqual(r.returncode, 2)
        self.assertIn("0644", r.stderr)
        with open(self.key) as f:
            # PRIVATE+KEY+NAME+HASH+BASE64: the base64 may hold '+' itself
            secret = "+".join(f.read().strip().split("+")[4:])
        self.assertNotIn(secret[:12], r.stderr)


if __name__ == "__main__":
    unittest.main()
