"""skonto-audit (issue 9): the log across crashes, time and subscribers.

- a hand-off from the discount worker is logged once, even when the worker
  is killed (-9) after logging it and before deleting it from the queue;
- a request nobody decides expires on the business clock and can then not
  be approved;
- a late subscriber whose SUB high-water mark is forced low catches up with
  snapshots (the Clone pattern) and ends with every entry exactly once;
  a key of another role hears nothing on the feed;
- checkpoints are signed when nothing happens too;
- a log that does not verify is refused at start (exit 3), nothing appended.
"""
import os
import signal
import sys
import time
import unittest

import zmq

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import skingest  # noqa: E402
import skredis  # noqa: E402
from harness import wait_for  # noqa: E402
from test_audit_worker import (HOUR, NOW_MS, AuditClient, AuditStack, decide, decode_entry,  # noqa: E402
                               log_entries, read_key, request, show, snapshot, stored_notes,
                               stream)


class Base(unittest.TestCase):
    ttl = "72h"

    @classmethod
    def setUpClass(cls):
        cls.s = AuditStack(ttl=cls.ttl)
        cls.pb = skingest.pb

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def call(self, who, req, status=None, code=None):
        rep = self.s.client(who).call(req)
        self.assertIsNotNone(rep, "no reply; log:\n" + self.s.st.log("audit"))
        if status is not None:
            self.assertEqual((rep.status, rep.code), (status, code or ""), rep.message)
        return rep

    def rev(self, oid):
        return self.s.invoice(oid)["revision"]

    def approved(self, oid, rid):
        OK = self.pb.AuditReply.OK
        ovid = self.call("sam", request(oid, self.rev(oid), rid), OK).overrides[0].request.override_id
        return self.call("fay", decide(ovid), OK).overrides[0]


class HandoffTest(Base):
    def test_a_handoff_is_logged_once_across_a_kill_between_logging_and_deleting(self):
        pb, st = self.pb, self.s.st
        rec = self.approved("SO-SMALL", "r-handoff")
        ovid = rec.request.override_id
        shard = skredis.shard("C-1")
        applied = pb.AuditHandoff()
        a = applied.applied
        a.override_id, a.order_id = ovid, "SO-SMALL"
        a.old_value, a.new_value = rec.request.old_value, rec.request.new_value
        a.applied_at_ms = NOW_MS + 1000
        a.change.CopyFrom(rec.request.change)
        a.effect, a.currency = rec.decision.effect, "CNY"
        a.invoice_revision = rec.request.invoice_revision + 1
        a.requested_by, a.approved_by = "sam", "fay"
        changed = pb.AuditHandoff()
        c = changed.schedule_changed
        c.order_id, c.sender, c.old_version, c.new_version = "SO-BIG", "erp", 0, 1
        c.old_terms, c.new_terms = "2/0,1/10,0.5/30,n/60", "1/10,n/30"
        c.old_amount, c.new_amount, c.currency, c.event_id = 11300000, 11300000, "CNY", "e-v1"
        # the worker may log but not delete (a user without XDEL), so it is
        # killed in the state a crash between the two leaves behind
        st.stop("audit")
        pw = os.path.join(st.dir, "nodel.pass")
        with open(pw, "w") as f:
            f.write("nodel-pw\n")
        os.chmod(pw, 0o600)
        st.redis_cli("ACL", "SETUSER", "nodel", "on", ">nodel-pw", "~*", "&*", "+@all", "-xdel")
        q1, q2 = "sk:{s%d}:auditq" % shard, "sk:{s%d}:auditq" % skredis.shard("C-2")
        r = skredis.Redis(st.redis_sock, decode=False)
        r.cmd("XADD", q1, "*", "a", applied.SerializeToString())
        r.cmd("XADD", q2, "*", "a", changed.SerializeToString())
        r.cmd("XADD", q2, "*", "a", b"\xff\xffnot a hand-off")
        st.start_audit("audit-nodel", env=dict(self.s.audit_env, SKONTO_REDIS_USER="nodel",
                                               SKONTO_REDIS_PASSWORD_FILE=pw))

        def kinds():
            return [decode_entry(e).kind for _, _, e in log_entries(st)]
        wait_for(lambda: pb.AUDIT_KIND_OVERRIDE_APPLIED in kinds() and
                 pb.AUDIT_KIND_SCHEDULE_CHANGED in kinds(), what="the hand-offs logged; log:\n" + st.log("audit-nodel"))
        wait_for(lambda: "NOPERM" in st.log("audit-nodel"), what="the failed delete")
        time.sleep(0.5)  # it retries: still nothing twice
        self.assertEqual(len(r.cmd("XRANGE", q1, "-", "+")), 1, "not deleted")
        st.kill9("audit-nodel")
        self.s.proc = st.start_audit("audit-2", env=self.s.audit_env)
        wait_for(lambda: not r.cmd("XRANGE", q1, "-", "+") and not r.cmd("XRANGE", q2, "-", "+"),
                 what="the queues emptied")
        time.sleep(0.3)
        evs = [decode_entry(e) for _, _, e in log_entries(st)]
        self.assertEqual([e.applied.override_id for e in evs
                          if e.kind == pb.AUDIT_KIND_OVERRIDE_APPLIED], [ovid])
        self.assertEqual([e.schedule_changed.event_id for e in evs
                          if e.kind == pb.AUDIT_KIND_SCHEDULE_CHANGED], ["e-v1"])
        got = self.call("aud", show(ovid), pb.AuditReply.OK).overrides[0]
        self.assertEqual(got.status, pb.OverrideRecord.APPLIED)
        again = self.call("fay", decide(ovid), pb.AuditReply.REFUSED, "bad_request")
        self.assertIn("already applied", again.message)
        self.call("sam", decide(ovid), pb.AuditReply.REFUSED, "not_a_director")
        self.assertEqual(evs[got.applied_seq].kind, pb.AUDIT_KIND_OVERRIDE_APPLIED)
        self.assertEqual(got.applied.invoice_revision, rec.request.invoice_revision + 1)
        r.close()

    def test_a_stale_application_marks_the_override_stale(self):
        pb, st = self.pb, self.s.st
        rec = self.approved("SO-BIG", "r-stale-app")
        h = pb.AuditHandoff()
        h.applied.override_id, h.applied.order_id = rec.request.override_id, "SO-BIG"
        h.applied.refusal_code = "stale"
        r = skredis.Redis(st.redis_sock, decode=False)
        r.cmd("XADD", "sk:{s%d}:auditq" % skredis.shard("C-2"), "*", "a", h.SerializeToString())
        r.close()
        wait_for(lambda: self.call("aud", show(rec.request.override_id)).overrides[0].status ==
                 pb.OverrideRecord.STALE, what="the override marked stale")


class ExpiryTest(Base):
    ttl = "1h"

    def test_an_undecided_request_expires_and_cannot_be_approved(self):
        pb, st = self.pb, self.s.st
        OK = pb.AuditReply.OK
        rec = self.call("sam", request("SO-EXP", self.rev("SO-EXP"), "r-exp"), OK).overrides[0]
        ovid = rec.request.override_id
        self.assertEqual(rec.request.expires_at_ms, NOW_MS + HOUR)
        time.sleep(0.3)
        self.assertEqual(self.call("aud", show(ovid)).overrides[0].status,
                         pb.OverrideRecord.PENDING)
        st.redis_cli("SET", "sk:{sys}:clock", NOW_MS + HOUR + 1)
        wait_for(lambda: self.call("aud", show(ovid)).overrides[0].status ==
                 pb.OverrideRecord.EXPIRED, what="the request expired")
        evs = [decode_entry(e) for _, _, e in log_entries(st)]
        exp = [e for e in evs if e.kind == pb.AUDIT_KIND_OVERRIDE_EXPIRED]
        self.assertEqual([(e.expired.override_id, e.expired.order_id) for e in exp],
                         [(ovid, "SO-EXP")])
        self.call("fay", decide(ovid), pb.AuditReply.REFUSED, "expired")
        rep = self.call("fay", decide(ovid, approved=False), pb.AuditReply.REFUSED, "bad_request")
        self.assertIn("already expired", rep.message)
        self.assertEqual(st.redis_cli("ZSCORE", "sk:{audit}:ovopen", ovid), "")


class FeedTest(Base):
    def test_a_late_slow_subscriber_catches_up_with_every_entry_once(self):
        pb, st = self.pb, self.s.st
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.rcvhwm = 1
        secret = self.s.keys["aud"]
        sub.curve_secretkey = read_key(secret)
        sub.curve_publickey = zmq.curve_public(read_key(secret))
        sub.curve_serverkey = read_key(st.audit_server_pub)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(st.audit_feed_endpoint)
        other = ctx.socket(zmq.SUB)  # a salesperson's key: refused by the feed's ZAP
        other.linger = 0
        secret = self.s.keys["sam"]
        other.curve_secretkey = read_key(secret)
        other.curve_publickey = zmq.curve_public(read_key(secret))
        other.curve_serverkey = read_key(st.audit_server_pub)
        other.setsockopt(zmq.SUBSCRIBE, b"")
        other.connect(st.audit_feed_endpoint)
        # subscribed first: wait until a checkpoint (every second) arrives
        self.assertTrue(sub.poll(5000), "no checkpoint on the feed")
        ops = self.s.client("ops")
        rev = self.rev("SO-SMALL")

        def burst(n, tag):
            for i in range(n):
                req = request("SO-SMALL", rev, "%s-%d" % (tag, i))
                ops.n += 1
                req.correlation = "b%d" % ops.n
                ops.sock.send(req.SerializeToString())
            for i in range(n):
                self.assertTrue(ops.sock.poll(10000))
                ops.sock.recv()
        burst(400, "a")  # nobody reads the feed meanwhile: most of it is dropped
        # the Clone pattern: a snapshot from the next position, then the
        # updates past it; a gap means "ask again"
        have, via_feed, snapshots = {}, 0, 0

        def catch_up():
            nonlocal snapshots
            while True:
                frm = len(have)
                rep = self.call("aud", snapshot(frm), pb.AuditReply.OK)
                snapshots += 1
                for e in rep.entries:
                    self.assertNotIn(e.seq, have)
                    self.assertEqual(e.seq, len(have), "a snapshot page with a gap")
                    have[e.seq] = e.entry
                if len(have) >= rep.log_size:
                    return rep.log_size
        size = catch_up()
        burst(100, "b")
        end = time.time() + 10
        while time.time() < end and len(have) < size + 100:
            if not sub.poll(200):
                catch_up()
                continue
            topic, body = sub.recv_multipart()
            f = pb.AuditFeed()
            f.ParseFromString(body)
            if topic != b"entry" or f.seq < len(have):
                continue  # a checkpoint, or already had
            if f.seq > len(have):
                catch_up()  # a gap: ask again
                continue
            have[f.seq] = f.entry
            via_feed += 1
        self.assertEqual(sorted(have), list(range(len(have))))
        self.assertGreaterEqual(len(have), size + 100)
        stored = log_entries(st)
        self.assertEqual([have[i] for i in range(len(have))], [e for _, _, e in stored[:len(have)]])
        self.assertFalse(other.poll(500), "a salesperson's key heard the feed")
        sub.close()
        other.close()

    def test_checkpoints_seal_empty_intervals(self):
        before = stored_notes(self.s.st)
        time.sleep(2.5)
        after = stored_notes(self.s.st)
        self.assertGreaterEqual(len(after) - len(before), 2)
        self.assertEqual(after[-1].split("\n")[1], after[-2].split("\n")[1],
                         "same size, signed again")


class CorruptLogTest(Base):
    def test_a_log_that_does_not_verify_is_refused_at_start(self):
        pb, st = self.pb, self.s.st
        for i in range(3):
            self.call("ops", request("SO-SMALL", 1, "x-%d" % i), pb.AuditReply.REFUSED,
                      "wrong_role")
        st.stop("audit")  # SIGTERM: exit 0 (harness checks), every entry sealed
        size = len(log_entries(st))
        self.assertEqual(stored_notes(st)[-1].split("\n")[1], str(size))
        st.redis_cli("XDEL", "sk:{audit}:log", "0-2")  # entry 1 deleted
        p = st.start_audit("audit-bad", wait=False)
        p.wait(timeout=10)
        st.procs.pop("audit-bad")
        self.assertEqual(p.returncode, 3)
        self.assertIn("does not verify", st.log("audit-bad"))
        self.assertIn("entry 1 carries sequence \"2\"", st.log("audit-bad"))
        self.assertEqual(len(log_entries(st)), size - 1, "nothing appended")
        # truncation: the log emptied under checkpoints that signed entries
        st.redis_cli("DEL", "sk:{audit}:log")
        p = st.start_audit("audit-cut", wait=False)
        p.wait(timeout=10)
        st.procs.pop("audit-cut")
        self.assertEqual(p.returncode, 3)
        self.assertIn("truncated", st.log("audit-cut"))


if __name__ == "__main__":
    unittest.main()
