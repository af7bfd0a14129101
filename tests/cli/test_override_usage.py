"""skontoctl override, audit and report: help a newcomer can act on, and
usage errors said before anything is sent (exit 2, one line naming the
option). No server is involved: every case here is refused while parsing."""
import os
import unittest

import skctl


class Help(unittest.TestCase):
    def test_each_verb_explains_who_may_and_gives_an_example(self):
        for verb, words in (("override", ("role sales", "sales_director", "Examples:",
                                          "skontoctl override request SO-1 --rev 2",
                                          "3 refused by the rules")),
                            ("audit", ("ok size=N root=HEX checkpoints=K", "role auditor",
                                       "--checkpoints FILE", "Examples:")),
                            ("report", ("per salesperson", "20 %", "Example:"))):
            r = skctl.run(verb, "--help")
            self.assertEqual(r.returncode, 0, r.stderr)
            for w in words:
                self.assertIn(w, r.stdout, verb)
        # the sub-verbs' --help is the verb's
        r = skctl.run("override", "approve", "--help")
        self.assertIn("never the requester", r.stdout)


class UsageErrors(unittest.TestCase):
    def refused(self, args, *expect):
        r = skctl.run(*args)
        self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        for e in expect:
            self.assertIn(e, r.stderr)

    def test_request(self):
        base = ["override", "request", "SO-1", "--rev", "2", "--reason", "late"]
        self.refused(base, "exactly one change")
        self.refused(base + ["--waive", "--rate", "t1:2"], "exactly one change")
        self.refused(["override", "request", "SO-1", "--waive", "--reason", "x"], "--rev N is required")
        self.refused(["override", "request", "SO-1", "--rev", "2", "--waive"], "--reason")
        self.refused(base + ["--extend", "t1:2026-02-30"], "--extend", "February")
        self.refused(base + ["--extend", "1-2026-11-20"], "TIER:YYYY-MM-DD")
        self.refused(base + ["--rate", "t1:101"], "--rate")
        self.refused(base + ["--grant", "tx"], "TIER or TIER:PAYMENT")
        self.refused(base[:-1] + ["x" * 201, "--waive"], "201 bytes (at most 200)")
        self.refused(base + ["--waive", "--request-id", "y" * 65], "1 to 64 characters")
        self.refused(["override", "request", "--rev", "2", "--waive", "--reason", "x"],
                     "which order?")

    def test_decide_list_show(self):
        self.refused(["override", "approve"], "which override?")
        self.refused(["override", "reject", "OV-1", "--rev", "3"], 'unknown option "--rev"')
        self.refused(["override", "list", "--status", "done"], "pending, approved")
        self.refused(["override", "list", "--limit", "0"], "1 to 1000")
        self.refused(["override", "show"], "which override?")
        self.refused(["override", "frobnicate"], "unknown \"frobnicate\"")

    def test_audit_and_report(self):
        env_pub = os.environ.pop("SKONTO_AUDIT_PUBLIC_KEY", None)
        try:
            self.refused(["audit", "verify"], "SKONTO_AUDIT_PUBLIC_KEY")
        finally:
            if env_pub is not None:
                os.environ["SKONTO_AUDIT_PUBLIC_KEY"] = env_pub
        self.refused(["audit", "verify", "--pub", "not+a+key"], "--pub")
        self.refused(["audit", "tail", "-n", "0"], "from 1 to 10000")
        self.refused(["audit", "follow", "--from", "-1"], "--from")
        self.refused(["report", "overrides", "--from", "2026-13-01"], "--from")
        self.refused(["report", "overrides", "--from", "2026-11-02", "--to", "2026-11-01"],
                     "is after")
        self.refused(["report", "nothing"], "want overrides")


if __name__ == "__main__":
    unittest.main()
