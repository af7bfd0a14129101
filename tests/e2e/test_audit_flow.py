"""Issue 9 through every worker at once: ingest (CURVE, the same key registry
as the audit worker), a discount worker and skonto-audit, on a real
redis-server.

- an operator's new order version that changes the terms is refused
  erp_only; the ERP's is applied, and the audit log records it
  (ScheduleChanged: the sender's user, old and new terms);
- a salesperson's override is refused to herself, approved by a sales
  director (below the threshold), applied by the discount worker (the
  invoice's window, its override record and its next reminder move), and
  logged: requested, refused decision, decided, applied, in that order;
- `skontoctl audit verify` with the public key passes over that log and
  `skontoctl audit reconcile` finds every schedule as its terms and approved
  overrides say.
"""
import os
import subprocess
import sys
import unittest

import zmq

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import skingest  # noqa: E402
from harness import Stack, wait_for  # noqa: E402
from skredis import shard  # noqa: E402
from test_audit_worker import AuditClient, decide, decode_entry, log_entries, read_key, request  # noqa: E402

NOW_MS = 1793869200000  # 2026-11-05T09:00:00Z
USERS = [("sam", "sam", "sales"), ("dora", "dora", "sales_director"),
         ("ava", "ava", "auditor"), ("erp", "erp-main", "erp"), ("ops", "ops.anna", "operator")]


class AuditFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skingest.load()
        cls.pb = skingest.pb
        cls.st = st = Stack().__enter__()
        st.redis_cli("SET", "sk:{sys}:clock", NOW_MS)
        st.env["SKONTO_CLOCK"] = "redis"
        cls.keys = st.audit_setup(USERS)
        server_key, cls.ingest_pub, _ = st.keygen("ingest-server")
        st.start_ingest(env={"SKONTO_INGEST_SECRET_KEY_FILE": server_key,
                             "SKONTO_AUTHORIZED_KEYS": st.audit_env["SKONTO_AUTHORIZED_KEYS"]})
        st.start_discount()
        st.start_audit(env={"SKONTO_OVERRIDE_FINANCE_ABOVE": "CNY:100.00"})
        cls.erp = cls.ingest_client("erp")
        cls.ops = cls.ingest_client("ops")
        cls.clients = {}

    @classmethod
    def tearDownClass(cls):
        cls.erp.close()
        cls.ops.close()
        for c in cls.clients.values():
            c.close()
        cls.st.__exit__(None, None, None)

    @classmethod
    def ingest_client(cls, who):
        c = skingest.Client.__new__(skingest.Client)
        c.ctx = zmq.Context.instance()
        c.sock = c.ctx.socket(zmq.DEALER)
        c.sock.setsockopt(zmq.LINGER, 0)
        key = cls.keys[who]
        c.sock.curve_secretkey = read_key(key)
        c.sock.curve_publickey = zmq.curve_public(read_key(key))
        c.sock.curve_serverkey = read_key(cls.ingest_pub)
        c.sock.connect(cls.st.ingest_endpoint)
        c.kind = zmq.DEALER
        return c

    def send(self, cli, env, status=None):
        ack = cli.send(env)
        self.assertIsNotNone(ack, "no ack; ingest log:\n" + self.st.log("ingest")[-2000:])
        self.assertEqual(ack.status, status or skingest.ACCEPTED, ack.message)
        return ack

    def call(self, who, req, status, code=""):
        if who not in self.clients:
            self.clients[who] = AuditClient(self.st, self.keys[who])
        rep = self.clients[who].call(req)
        self.assertIsNotNone(rep, "no reply; audit log:\n" + self.st.log("audit")[-2000:])
        self.assertEqual((rep.status, rep.code), (status, code), rep.message)
        return rep

    def show(self, oid):
        return self.st.ctl_json("order", "show", oid)

    def kinds(self):
        return [decode_entry(e).kind for _, _, e in log_entries(self.st)]

    def test_erp_change_and_an_override_through_every_worker(self):
        pb, OK, REFUSED = self.pb, self.pb.AuditReply.OK, self.pb.AuditReply.REFUSED
        cid, oid = "C-FLOW", "SO-FLOW"
        self.send(self.erp, skingest.customer("f-c", cid))
        self.send(self.erp, skingest.order("f-o1", oid, cid))
        wait_for(lambda: self.st.ctl("order", "show", oid, check=False).returncode == 0,
                 what="the invoice")

        # the schedule: an operator may not change it, the ERP may, and the log says who did
        ack = self.send(self.ops, skingest.order("f-o2", oid, cid, version=2, terms="1/12,n/30"),
                        skingest.REJECTED)
        self.assertEqual(ack.reason_code, "erp_only")
        self.assertIn("skontoctl override request", ack.message)
        self.send(self.erp, skingest.order("f-o3", oid, cid, version=2, terms="1/12,n/30"))
        wait_for(lambda: self.show(oid)["version"] == 2, what="version 2 applied")
        wait_for(lambda: pb.AUDIT_KIND_SCHEDULE_CHANGED in self.kinds(), what="the change logged")
        sc = [decode_entry(e).schedule_changed for _, _, e in log_entries(self.st)][0]
        self.assertEqual((sc.order_id, sc.sender, sc.old_version, sc.new_version, sc.old_terms,
                          sc.new_terms, sc.event_id),
                         (oid, "erp-main", 1, 2, "2/0,1/10,0.5/30,n/60", "1/12,n/30", "f-o3"))

        # 1/12 from 2026-11-02: its window ends on the 14th; sam asks for the 17th
        inv = self.show(oid)
        self.assertEqual(inv["tiers"][0]["last_day"], "2026-11-14")
        rec = self.call("sam", request(oid, inv["revision"], "f-r1", tier=0,
                                       new_last_day="2026-11-17"), OK).overrides[0]
        ovid = rec.request.override_id
        # 1 % of 1,130.00 for the three days added (no tier after it gave anything)
        self.assertEqual((rec.request.effect, rec.request.currency), (1130, "CNY"))
        self.call("sam", decide(ovid), REFUSED, "not_a_director")
        got = self.call("dora", decide(ovid, comment="bank holiday"), OK).overrides[0]
        self.assertEqual(got.status, pb.OverrideRecord.APPROVED)

        # the discount worker applies it; the invoice and its next reminder move
        wait_for(lambda: self.call("ava", show_req(ovid), OK).overrides[0].status ==
                 pb.OverrideRecord.APPLIED, what="the override applied")
        inv = self.show(oid)
        self.assertEqual(inv["tiers"][0]["last_day"], "2026-11-17")
        self.assertEqual(inv["revision"], rec.request.invoice_revision + 1)
        (o,) = inv["overrides"]
        self.assertEqual((o["override_id"], o["requested_by"], o["approved_by"]),
                         (ovid, "sam", "dora"))
        queued = self.st.redis_cli("ZRANGE", "sk:{s%d}:rdue" % shard(cid), 0, -1).split()
        self.assertEqual([k for k in queued if k.endswith("|" + oid)],
                         ["r|0|2026-11-17|3|" + oid])

        # the log, in order, and what an auditor's tools say of it
        self.assertEqual(self.kinds(), [pb.AUDIT_KIND_SCHEDULE_CHANGED,
                                        pb.AUDIT_KIND_OVERRIDE_REQUESTED,
                                        pb.AUDIT_KIND_OVERRIDE_DECIDED,
                                        pb.AUDIT_KIND_OVERRIDE_DECIDED,
                                        pb.AUDIT_KIND_OVERRIDE_APPLIED])
        decided = [decode_entry(e).decided for _, _, e in log_entries(self.st)][2:4]
        self.assertEqual([(d.decided_by, d.refusal_code) for d in decided],
                         [("sam", "not_a_director"), ("dora", "")])
        v = self.st.ctl("audit", "verify", "--pub", self.st.audit_public_key, check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertRegex(v.stdout, r"^ok size=5 root=[0-9a-f]{64} checkpoints=\d+")
        r = self.st.ctl("audit", "reconcile", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def show_req(ovid):
    req = skingest.pb.AuditRequest()
    req.show = ovid
    return req


if __name__ == "__main__":
    unittest.main()
