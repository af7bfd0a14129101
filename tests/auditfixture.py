"""auditfixture — an audit log in Redis written the way the audit worker
writes it (docs/AUDIT.md section 8), for tests of skontoctl audit and report
verbs without the worker: the stream sk:{audit}:log (fields seq, h = the leaf
hash in hex, e = the exact AuditEvent bytes), the checkpoints sk:{audit}:cp
(fields size, n = the signed note, signed with PyNaCl as the C2SP note of
docs/AUDIT.md section 3), and OverrideRecords in sk:{audit}:ovr.

    log = AuditLog(redis_sock, name="skonto.test/audit")
    log.pub_text                      # the public key line auditors get
    log.append(ev) ; log.checkpoint()  # ev: an AuditEvent (seq set here)
"""
import base64
import hashlib
import os
import sys

import nacl.signing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auditcheck  # noqa: E402
import skproto  # noqa: E402
import skredis  # noqa: E402

LOG, CP, OVR = "sk:{audit}:log", "sk:{audit}:cp", "sk:{audit}:ovr"


class AuditLog:
    def __init__(self, sock, name="skonto.test/audit", seed=bytes(range(32))):
        self.pb = skproto.load()
        self.r = skredis.Redis(sock, decode=False)
        self.name = name.encode()
        self.sk = nacl.signing.SigningKey(seed)
        pub = bytes(self.sk.verify_key)
        self.kh = auditcheck.key_hash(self.name, pub)
        self.pub_text = "%s+%s+%s" % (name, self.kh.hex(),
                                      base64.b64encode(b"\x01" + pub).decode())
        self.leaves = []  # (seq, hash, bytes) as written
        self.t = 1764547200000

    def note(self, size, root=None, t=None):
        root = root if root is not None else auditcheck.tree_hash(
            [h for _, h, _ in self.leaves[:size]])
        body = b"%s\n%d\n%s\ntime-ms %d\n" % (self.name, size, base64.b64encode(root),
                                             t if t is not None else self.t)
        sig = self.sk.sign(body).signature
        return body + b"\n\xe2\x80\x94 " + self.name + b" " + base64.b64encode(self.kh + sig) + b"\n"

    def append(self, ev):
        ev.seq = len(self.leaves)
        self.t += 1000
        if not ev.at_ms:
            ev.at_ms = self.t
        data = ev.SerializeToString()
        h = auditcheck.leaf_hash(data)
        self.leaves.append((ev.seq, h, data))
        self.r.cmd("XADD", LOG, "*", "seq", str(ev.seq), "h", h.hex(), "e", data)
        return ev.seq

    def checkpoint(self):
        n = self.note(len(self.leaves))
        self.r.cmd("XADD", CP, "*", "size", str(len(self.leaves)), "n", n)
        return n

    def stream(self, key=LOG):
        """[(id, {field: bytes})] as stored now."""
        out = []
        for eid, fields in self.r.cmd("XRANGE", key, "-", "+"):
            out.append((eid, dict(zip(fields[0::2], fields[1::2]))))
        return out

    def rewrite(self, entries, key=LOG):
        """Replaces the stream by entries [{field: bytes}] (what an attacker
        with the admin connection can do; new ids)."""
        cmds = [("DEL", key)]
        for f in entries:
            args = ["XADD", key, "*"]
            for k, v in f.items():
                args += [k, v]
            cmds.append(args)
        self.r.pipe(cmds)

    def export(self, path):
        """The stream in the export form (docs/AUDIT.md section 6), for auditcheck.py."""
        with open(path, "wb") as f:
            for _, fl in self.stream():
                f.write(b"%s %s %s\n" % (fl.get(b"seq", b"0"), fl.get(b"h", b"0" * 64),
                                        base64.b64encode(fl.get(b"e", b""))))

    def checkpoints(self):
        return [fl[b"n"] for _, fl in self.stream(CP)]

    # -- bodies
    def requested(self, oid, order, actor="sam", effect=1234, currency="CNY", reason="late bank"):
        pb = self.pb
        ev = pb.AuditEvent(actor=actor, role=pb.ROLE_SALES, subject=order,
                           kind=pb.AUDIT_KIND_OVERRIDE_REQUESTED)
        ev.requested.override_id = oid
        ev.requested.order_id = order
        ev.requested.old_value = "2026-11-12"
        ev.requested.new_value = "2026-11-17"
        ev.requested.reason = reason
        ev.requested.requested_by = actor
        ev.requested.effect = effect
        ev.requested.currency = currency
        ev.requested.change.kind = pb.OVERRIDE_KIND_EXTEND
        ev.requested.change.tier = 1
        ev.requested.change.new_last_day = "2026-11-17"
        return ev

    def decided(self, oid, order, actor="dora", approved=True, refusal="", effect=1234):
        pb = self.pb
        ev = pb.AuditEvent(actor=actor, role=pb.ROLE_SALES_DIRECTOR, subject=order,
                           kind=pb.AUDIT_KIND_OVERRIDE_DECIDED)
        ev.decided.override_id = oid
        ev.decided.approved = approved
        ev.decided.decided_by = actor
        ev.decided.refusal_code = refusal
        ev.decided.effect = effect
        ev.decided.currency = "CNY"
        return ev

    def record(self, oid, order, customer, requested_by, status, effect=0, currency="CNY",
               decided_by="", salesperson="", refused=0, at_ms=None):
        pb = self.pb
        rec = pb.OverrideRecord(status=status, customer_id=customer, salesperson=salesperson,
                                refused_decisions=refused)
        rec.request.override_id = oid
        rec.request.order_id = order
        rec.request.requested_by = requested_by
        rec.request.requested_at_ms = at_ms or self.t
        rec.request.effect = effect
        rec.request.currency = currency
        rec.request.change.kind = pb.OVERRIDE_KIND_WAIVE
        if decided_by:
            rec.decision.decided_by = decided_by
            rec.decision.approved = status != pb.OverrideRecord.REJECTED
        if status == pb.OverrideRecord.APPLIED:
            rec.applied.effect = effect
            rec.applied.currency = currency
        self.r.cmd("HSET", OVR, oid, rec.SerializeToString())
        return rec
