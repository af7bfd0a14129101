"""The override and audit messages of issue 9, read by another protobuf
implementation (Python, code generated from proto/ at test time).

The .proto's messages were drafted before the design and changed compatibly:
every field of the draft keeps its number, name and type (a renumbered field
fails here); bytes written by the draft (the fuzz corpus's AuditEvent) still
read the same; and the new typed bodies round-trip, so an auditor's tool in
another language reads what the audit worker will write.
"""
import os
import unittest

from google.protobuf import descriptor

import skproto

pb = None
HERE = os.path.dirname(os.path.abspath(__file__))
T = descriptor.FieldDescriptor

# The draft as it was before issue 9 (proto/skonto/v1/skonto.proto at main).
DRAFT = {
    "OverrideRequested": {1: ("override_id", T.TYPE_STRING), 2: ("order_id", T.TYPE_STRING),
                          3: ("field", T.TYPE_STRING), 4: ("old_value", T.TYPE_STRING),
                          5: ("new_value", T.TYPE_STRING), 6: ("reason", T.TYPE_STRING),
                          7: ("requested_by", T.TYPE_STRING), 8: ("requested_at_ms", T.TYPE_INT64)},
    "OverrideDecided": {1: ("override_id", T.TYPE_STRING), 2: ("approved", T.TYPE_BOOL),
                        3: ("decided_by", T.TYPE_STRING), 4: ("role", T.TYPE_ENUM),
                        5: ("comment", T.TYPE_STRING), 6: ("decided_at_ms", T.TYPE_INT64)},
    "OverrideApplied": {1: ("override_id", T.TYPE_STRING), 2: ("order_id", T.TYPE_STRING),
                        3: ("field", T.TYPE_STRING), 4: ("old_value", T.TYPE_STRING),
                        5: ("new_value", T.TYPE_STRING), 6: ("applied_at_ms", T.TYPE_INT64)},
    "AuditEvent": {1: ("seq", T.TYPE_UINT64), 2: ("at_ms", T.TYPE_INT64),
                   3: ("actor", T.TYPE_STRING), 4: ("role", T.TYPE_ENUM),
                   5: ("action", T.TYPE_STRING), 6: ("subject", T.TYPE_STRING),
                   7: ("details", T.TYPE_STRING), 8: ("prev_hash", T.TYPE_BYTES),
                   9: ("hash", T.TYPE_BYTES)},
}


def setUpModule():
    global pb
    pb = skproto.load()


class AuditProtoTest(unittest.TestCase):
    def test_draft_fields_keep_number_name_and_type(self):
        for msg, fields in DRAFT.items():
            d = getattr(pb, msg).DESCRIPTOR
            for number, (name, typ) in fields.items():
                f = d.fields_by_number.get(number)
                self.assertIsNotNone(f, "%s.%d is gone" % (msg, number))
                self.assertEqual((f.name, f.type), (name, typ), "%s.%d" % (msg, number))

    def test_role_values_unchanged(self):
        self.assertEqual([pb.ROLE_UNSPECIFIED, pb.ROLE_ERP, pb.ROLE_SALES, pb.ROLE_SALES_DIRECTOR,
                          pb.ROLE_FINANCE_DIRECTOR, pb.ROLE_AUDITOR, pb.ROLE_OPERATOR],
                         list(range(7)))

    def test_draft_bytes_still_read(self):
        with open(os.path.join(HERE, "..", "fuzz", "corpus", "fuzz_proto", "18-audit.bin"),
                  "rb") as f:
            raw = f.read()
        e = pb.AuditEvent()
        e.ParseFromString(raw)
        self.assertEqual((e.seq, e.actor, e.action, e.subject), (7, "dir-1", "override.approved",
                                                                 "SO-1"))
        self.assertEqual(e.role, pb.ROLE_FINANCE_DIRECTOR)
        self.assertEqual(e.kind, pb.AUDIT_KIND_UNSPECIFIED)  # a draft entry has no typed body
        self.assertIsNone(e.WhichOneof("body"))

    def test_typed_bodies_round_trip(self):
        e = pb.AuditEvent(seq=12, at_ms=1796083200000, actor="S-7", role=pb.ROLE_SALES,
                          subject="SO-1", kind=pb.AUDIT_KIND_OVERRIDE_REQUESTED)
        r = e.requested
        r.override_id, r.order_id, r.request_id, r.reason = "OV-1", "SO-1", "req-1", "late mail"
        r.invoice_revision, r.effect, r.currency = 4, 1130, "CNY"
        r.change.kind, r.change.tier, r.change.new_last_day = (pb.OVERRIDE_KIND_EXTEND, 0,
                                                               "2026-11-17")
        r.requested_by, r.requester_role = "S-7", pb.ROLE_SALES
        back = pb.AuditEvent()
        back.ParseFromString(e.SerializeToString())
        self.assertEqual(back, e)
        self.assertEqual(back.WhichOneof("body"), "requested")
        self.assertEqual(back.requested.change.new_last_day, "2026-11-17")
        # Every kind the design logs has a body of its own.
        bodies = {pb.AUDIT_KIND_OVERRIDE_REQUESTED: "requested",
                  pb.AUDIT_KIND_OVERRIDE_DECIDED: "decided",
                  pb.AUDIT_KIND_OVERRIDE_EXPIRED: "expired",
                  pb.AUDIT_KIND_OVERRIDE_APPLIED: "applied",
                  pb.AUDIT_KIND_SCHEDULE_CHANGED: "schedule_changed",
                  pb.AUDIT_KIND_REFUSED_ATTEMPT: "refused"}
        oneof = pb.AuditEvent.DESCRIPTOR.oneofs_by_name["body"]
        self.assertEqual(sorted(f.name for f in oneof.fields), sorted(bodies.values()))
        self.assertEqual(len(pb.AuditKind.values()), len(bodies) + 1)

    def test_decided_carries_the_refusal_code(self):
        d = pb.OverrideDecided(override_id="OV-1", approved=True, decided_by="D-1",
                               role=pb.ROLE_SALES_DIRECTOR, refusal_code="needs_finance_director",
                               effect=500001, currency="CNY")
        back = pb.OverrideDecided()
        back.ParseFromString(d.SerializeToString())
        self.assertEqual(back.refusal_code, "needs_finance_director")
        self.assertEqual(back.effect, 500001)


if __name__ == "__main__":
    unittest.main()
