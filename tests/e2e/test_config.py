"""Bad settings stop a worker at start, with one line naming the variable, the
value and the form wanted (common/io/sk_config), and exit status 2; a good
value in another accepted form (a duration with a unit) is taken.
"""
import os
import subprocess
import unittest

import harness

CASES = [
    ("skonto-ingest", "SKONTO_INGEST_MAX_CONNECTIONS", "abc",
     'SKONTO_INGEST_MAX_CONNECTIONS "abc": want a whole number from 1 to 1024'),
    ("skonto-ingest", "SKONTO_EVENT_ID_RETENTION_DAYS", "0",
     'SKONTO_EVENT_ID_RETENTION_DAYS "0": want a whole number from 1 to 3650'),
    ("skonto-ingest", "SKONTO_INGEST_ALLOW_UNAUTHENTICATED", "maybe",
     'SKONTO_INGEST_ALLOW_UNAUTHENTICATED "maybe": want 1 or 0'),
    ("skonto-ingest", "SKONTO_CLOCK", "tomorrow",
     'SKONTO_CLOCK "tomorrow": want system, redis or fixed:INSTANT'),
    ("skonto-discount", "SKONTO_CLAIM_IDLE_MS", "soon",
     'SKONTO_CLAIM_IDLE_MS "soon": want a duration such as 500ms, 30s'),
    ("skonto-discount", "SKONTO_NOINV_GIVEUP_MS", "400d",
     'SKONTO_NOINV_GIVEUP_MS "400d": want a duration from 0ms to 365d'),
    ("skonto-discount", "SKONTO_TODAY", "2026-02-30",
     'SKONTO_TODAY "2026-02-30": want a date, YYYY-MM-DD'),
    ("skonto-discount", "SKONTO_CLOCK", "fixed:2026-11-02 09:00",
     'SKONTO_CLOCK "fixed:2026-11-02 09:00": want system, redis or fixed:INSTANT'),
    ("skonto-discount", "SKONTO_WORKER_NAME", "x" * 300,
     "SKONTO_WORKER_NAME \"" + "x" * 40 + "...\": want at most"),
]


class ConfigTest(unittest.TestCase):
    def test_bad_values_stop_the_worker_with_the_variable_named(self):
        with harness.Stack() as st:
            for program, var, value, want in CASES:
                with self.subTest(program=program, var=var):
                    e = dict(st.env, **{var: value})
                    r = subprocess.run([os.path.join(st.bin, program)], env=e,
                                       capture_output=True, text=True, timeout=20)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    text = harness.log_text(r.stderr)
                    self.assertIn(want, text)
                    self.assertIn("refusing to start", text)
                    self.assertEqual(len(text.strip().splitlines()), 1, text)

    def test_a_duration_with_its_unit_is_taken(self):
        with harness.Stack() as st:
            st.start_discount("discount-1", env={"SKONTO_CLAIM_IDLE_MS": "45s",
                                                 "SKONTO_CLOCK": "fixed:2026-11-02T09:00:00Z"})
            harness.wait_for(lambda: "own pending entries done" in st.log("discount-1"),
                             what="discount started")
            self.assertIn("clock fixed at 2026-11-02T09:00:00Z (SKONTO_CLOCK)",
                          st.log("discount-1"))
            st.stop("discount-1")


if __name__ == "__main__":
    unittest.main()
