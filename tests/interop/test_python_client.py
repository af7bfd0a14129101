"""Interop: an ERP client written on another protobuf implementation.

The client is Python: Debian's python3-zmq and python3-protobuf, with code
generated from proto/ by protoc into a temporary directory at test time (never
committed). It talks to a real skonto-ingest (C, protobuf-c) over a DEALER
socket, sends orders built with google.protobuf, and reads the
acknowledgements: accepted, duplicate, and rejected with a reason code.
"""
import unittest

import zmq

import skproto
import skredis
from harness import Stack
from skredis import shard

pb = None


def setUpModule():
    global pb
    pb = skproto.load()


def redis(st, *args):
    """One command over the unix socket; bulk replies as bytes."""
    return skredis.command(st.redis_sock, *args)


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.st = Stack()
        self.st.__enter__()
        self.st.start_ingest()
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.st.ingest_endpoint)

    def tearDown(self):
        self.sock.close()
        self.st.close()

    def send_all(self, envelopes):
        """Sends every envelope without waiting, then reads one Ack per envelope."""
        for e in envelopes:
            self.sock.send(e if isinstance(e, bytes) else e.SerializeToString())
        acks = []
        for _ in envelopes:
            self.assertTrue(self.sock.poll(10000), "no ack; ingest log:\n" + self.st.log("ingest"))
            ack = pb.Ack()
            ack.ParseFromString(self.sock.recv())
            acks.append(ack)
        return acks

    def customer(self, eid, cid, name):
        env = pb.Envelope(event_id=eid, source="py-erp", sequence=1)
        c = env.customer
        c.customer_id, c.name, c.email = cid, name, "ap@example.jp"
        c.timezone, c.locale, c.statement = "Asia/Tokyo", "ja-JP", pb.STATEMENT_DAILY
        c.terms = "2/10,n/30"
        return env

    def order(self, eid, oid, cid, amount, currency="JPY"):
        env = pb.Envelope(event_id=eid, source="py-erp", sequence=2, occurred_at_ms=1767225600000)
        inv = env.invoice_issued
        inv.order_id, inv.customer_id, inv.salesperson = oid, cid, "S-1"
        inv.currency, inv.amount, inv.tax = currency, amount, amount // 11
        inv.ship_date, inv.invoice_date, inv.version = "2026-03-31", "2026-04-01", 1
        return env

    def test_orders_from_python_are_acknowledged(self):
        st = self.st
        customers = [self.customer("PY-C%d" % i, "PYC-%d" % i, "株式会社テスト %d" % i)
                     for i in range(10)]
        acks = self.send_all(customers)
        self.assertEqual({a.status for a in acks}, {pb.ACK_ACCEPTED})

        orders = [self.order("PY-O%d" % i, "PYO-%d" % i, "PYC-%d" % (i % 10), 1000 + i)
                  for i in range(300)]
        acks = self.send_all(orders)
        by_id = {a.event_id: a for a in acks}
        self.assertEqual(len(by_id), 300)
        for o in orders:
            self.assertEqual(by_id[o.event_id].status, pb.ACK_ACCEPTED, by_id[o.event_id].message)

        # Every order is in its customer's shard stream, as the bytes Python sent.
        stored = set()
        for n in range(16):
            for entry in redis(st, "XRANGE", "sk:{s%d}:events" % n, "-", "+") or []:
                fields = entry[1]
                stored.add(fields[fields.index(b"e") + 1])
        for o in orders:
            self.assertIn(o.SerializeToString(), stored)
        n0 = shard("PYC-0")
        self.assertGreaterEqual(redis(st, "XLEN", "sk:{s%d}:events" % n0), 31)
        # protobuf-c read Python's encoding: the index and the customer profile.
        self.assertEqual(redis(st, "HGET", "sk:{o%d}:o2c" % shard("PYO-7"), "PYO-7"), b"PYC-7\tJPY")
        self.assertEqual(redis(st, "HGET", "sk:{s%d}:cust:PYC-3" % shard("PYC-3"), "name").decode(),
                         "株式会社テスト 3")
        self.assertEqual(redis(st, "HGET", "sk:{s%d}:cust:PYC-3" % shard("PYC-3"), "statement"),
                         b"daily")

        # Sent again: duplicates, and nothing new is stored.
        before = sum(redis(st, "XLEN", "sk:{s%d}:events" % n) for n in range(16))
        acks = self.send_all(orders[:20])
        self.assertEqual({a.status for a in acks}, {pb.ACK_DUPLICATE})
        self.assertEqual({a.reason_code for a in acks}, {""})
        after = sum(redis(st, "XLEN", "sk:{s%d}:events" % n) for n in range(16))
        self.assertEqual(before, after)

    def test_rejections_carry_reason_codes(self):
        self.assertEqual(self.send_all([self.customer("PY-C1", "PYC-1", "K.K.")])[0].status,
                         pb.ACK_ACCEPTED)
        zero = self.order("PY-R1", "PYR-1", "PYC-1", 0)
        cur = self.order("PY-R2", "PYR-2", "PYC-1", 500, currency="ZZZ")
        who = self.order("PY-R3", "PYR-3", "PYC-404", 500)
        pay = pb.Envelope(event_id="PY-R4", source="py-erp")
        pay.payment_received.order_id = "PYR-404"
        pay.payment_received.paid_on = "2026-04-05"
        pay.payment_received.amount = 100
        acks = self.send_all([zero, cur, who, pay])
        self.assertEqual([(a.event_id, a.status, a.reason_code) for a in acks], [
            ("PY-R1", pb.ACK_REJECTED, "bad_amount"),
            ("PY-R2", pb.ACK_REJECTED, "bad_currency"),
            ("PY-R3", pb.ACK_REJECTED, "unknown_customer"),
            ("PY-R4", pb.ACK_REJECTED, "unknown_order"),
        ])
        for a in acks:
            self.assertTrue(a.message, a)
        self.assertEqual(redis(self.st, "LLEN", "sk:{sys}:dlq"), 4)

    def test_fields_from_a_newer_contract_are_kept(self):
        """A client on a newer proto adds a field ingest does not know: the
        event is accepted and stored with that field intact."""
        self.send_all([self.customer("PY-C1", "PYC-1", "K.K.")])
        data = self.order("PY-N1", "PYN-1", "PYC-1", 700).SerializeToString()
        data += b"\xf8\x06\x2a"  # field 111 (varint) = 42
        ack = self.send_all([data])[0]
        self.assertEqual((ack.event_id, ack.status), ("PY-N1", pb.ACK_ACCEPTED))
        entries = redis(self.st, "XRANGE", "sk:{s%d}:events" % shard("PYC-1"), "-", "+")
        self.assertIn(data, [e[1][e[1].index(b"e") + 1] for e in entries])
        env = pb.Envelope()
        env.ParseFromString(data)
        self.assertEqual(env.invoice_issued.amount, 700)

    def test_customer_opts_out_from_python(self):
        """Issue 8: google.protobuf's encoding of CustomerUpsert.reminders (an
        enum added in field 8) is read by protobuf-c: a customer sent with
        reminders=OFF is accepted and stored opted out; the same customer's id
        alone with reminders=ON opts it in again and keeps the rest."""
        env = self.customer("PY-OPT1", "PYC-OPT", "Opt K.K.")
        env.customer.reminders = pb.REMINDERS_OFF
        ack = self.send_all([env])[0]
        self.assertEqual((ack.event_id, ack.status), ("PY-OPT1", pb.ACK_ACCEPTED), ack.message)
        key = "sk:{s%d}:cust:PYC-OPT" % shard("PYC-OPT")
        self.assertEqual(redis(self.st, "HGET", key, "optout"), b"1")
        back = pb.Envelope(event_id="PY-OPT2", source="py-erp", sequence=2)
        back.customer.customer_id, back.customer.reminders = "PYC-OPT", pb.REMINDERS_ON
        self.assertEqual(self.send_all([back])[0].status, pb.ACK_ACCEPTED)
        self.assertEqual(redis(self.st, "HGET", key, "optout"), b"0")
        self.assertEqual(redis(self.st, "HGET", key, "name").decode(), "Opt K.K.")
        self.assertEqual(redis(self.st, "HGET", key, "statement"), b"daily")

    # ---------------------------------------------------------------- issue 6

    def test_nul_in_string(self):
        """google.protobuf sends a NUL inside a string as it is; ingest must
        not read the string only up to it (protobuf-c hands strings over
        NUL-terminated): every such event is rejected with the field named."""
        self.assertEqual(self.send_all([self.customer("PY-C1", "PYC-1", "K.K.")])[0].status,
                         pb.ACK_ACCEPTED)
        eid = self.order("X\0", "PYZ-1", "PYC-1", 700)
        eid_other = self.order("X\0other", "PYZ-2", "PYC-1", 700)
        oid_a = self.order("PY-Z3", "O\0A", "PYC-1", 700)
        oid_b = self.order("PY-Z4", "O\0B", "PYC-1", 700)
        name = self.customer("PY-Z5", "PYC-5", "Ac\0me")
        terms = self.order("PY-Z6", "PYZ-6", "PYC-1", 700)
        terms.invoice_issued.terms = "2/10,n/30\0garbage"
        cur = self.order("PY-Z7", "PYZ-7", "PYC-1", 700, currency="JPY\0x")
        date = self.order("PY-Z8", "PYZ-8", "PYC-1", 700)
        date.invoice_issued.ship_date = "2026-03-31\0"
        acks = self.send_all([eid, eid_other, oid_a, oid_b, name, terms, cur, date])
        self.assertEqual([(a.status, a.reason_code, a.message) for a in acks], [
            (pb.ACK_REJECTED, "bad_id", "event_id contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_id", "event_id contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_id", "order_id contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_id", "order_id contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_field", "name contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_field", "terms contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_field", "currency contains a NUL byte"),
            (pb.ACK_REJECTED, "bad_field", "ship_date contains a NUL byte"),
        ])
        # Nothing was taken for the id before the NUL.
        self.assertIsNone(redis(self.st, "HGET", "sk:{o%d}:o2c" % shard("O"), "O"))
        ack = self.send_all([self.order("X", "PYZ-9", "PYC-1", 700)])[0]
        self.assertEqual((ack.event_id, ack.status), ("X", pb.ACK_ACCEPTED))

    def test_id_counts_characters(self):
        """Ids are 1..64 characters (the .proto's words), whatever their bytes:
        a Japanese ERP's order numbers are three bytes a character."""
        cid = "顧客" * 32                    # 64 characters, 192 bytes
        oid35 = "注文番号" * 8 + "注文番"      # 35 characters, 105 bytes
        oid65 = "注" * 65
        self.assertEqual(self.send_all([self.customer("PY-C9", cid, "K.K.")])[0].status,
                         pb.ACK_ACCEPTED)
        acks = self.send_all([self.order("PY-I1", oid35, cid, 700),
                              self.order("PY-I2", "注" * 64, cid, 700),
                              self.order("PY-I3", oid65, cid, 700)])
        self.assertEqual([(a.status, a.reason_code) for a in acks[:2]],
                         [(pb.ACK_ACCEPTED, "")] * 2)
        self.assertEqual((acks[2].status, acks[2].reason_code, acks[2].message),
                         (pb.ACK_REJECTED, "bad_id",
                          "order_id is 65 characters long (at most 64 characters and 256 bytes)"))
        self.assertEqual(redis(self.st, "HGET", "sk:{o%d}:o2c" % shard(oid35), oid35),
                         (cid + "\tJPY").encode())

    def test_amounts_in_currency_decimals(self):
        """Rejections quote amounts as the ERP wrote them, not in minor units."""
        self.send_all([self.customer("PY-C1", "PYC-1", "K.K.")])
        jpy = self.order("PY-A1", "PYA-1", "PYC-1", 500)
        jpy.invoice_issued.tax = 500
        cny = self.order("PY-A2", "PYA-2", "PYC-1", 113000, currency="CNY")
        cny.invoice_issued.tax = 113000
        acks = self.send_all([jpy, cny])
        self.assertEqual([(a.reason_code, a.message) for a in acks], [
            ("bad_amount", "tax 500 must be less than the amount 500"),
            ("bad_amount", "tax 1130.00 must be less than the amount 1130.00"),
        ])


    # -- issue 6: the contract of the acknowledged endpoint, as an outside ERP sees it

    def test_too_large(self):
        big = self.customer("PY-BIG", "PYC-BIG", "x" * 70000)
        before, after = self.customer("PY-B1", "PYC-B1", "a"), self.customer("PY-B2", "PYC-B2", "b")
        acks = {a.event_id: a for a in self.send_all([before, big, after])}
        self.assertEqual((acks["PY-BIG"].status, acks["PY-BIG"].reason_code),
                         (pb.ACK_REJECTED, "too_large"))
        self.assertIn("65536", acks["PY-BIG"].message)
        self.assertEqual(acks["PY-B1"].status, pb.ACK_ACCEPTED)
        self.assertEqual(acks["PY-B2"].status, pb.ACK_ACCEPTED)

    def test_duplicate_naming_another_order(self):
        self.send_all([self.customer("PY-DC", "PYC-D", "D")])
        a, b = self.send_all([self.order("PY-D1", "PYO-D1", "PYC-D", 1000)]) + \
            self.send_all([self.order("PY-D1", "PYO-D2", "PYC-D", 1000)])
        self.assertEqual((a.status, b.status), (pb.ACK_ACCEPTED, pb.ACK_DUPLICATE))
        pay = pb.Envelope(event_id="PY-D2", source="py-erp")
        pay.payment_received.order_id, pay.payment_received.paid_on = "PYO-D2", "2026-04-05"
        pay.payment_received.amount = 1000
        (p,) = self.send_all([pay])
        self.assertEqual((p.status, p.reason_code), (pb.ACK_REJECTED, "unknown_order"))

    def test_event_id_once_across_shards(self):
        self.send_all([self.customer("PY-S%d" % i, "PYC-S%d" % i, "S") for i in range(16)])
        acks = []
        for i in range(16):  # one at a time: each after the previous one's answer
            acks += self.send_all([self.order("PY-SAME", "PYO-S%d" % i, "PYC-S%d" % i, 1000)])
        self.assertEqual([a.status for a in acks],
                         [pb.ACK_ACCEPTED] + [pb.ACK_DUPLICATE] * 15)

    def test_stale_version(self):
        self.send_all([self.customer("PY-VC", "PYC-V", "V")])
        o = self.order("PY-V1", "PYO-V", "PYC-V", 1000)
        o.invoice_issued.version = 2
        same = self.order("PY-V2", "PYO-V", "PYC-V", 1000)
        same.invoice_issued.version = 2
        other = self.order("PY-V3", "PYO-V", "PYC-V", 2000)
        other.invoice_issued.version = 2
        acks = []
        for e in (o, same, other):
            acks += self.send_all([e])
        self.assertEqual([a.status for a in acks],
                         [pb.ACK_ACCEPTED, pb.ACK_DUPLICATE, pb.ACK_REJECTED])
        self.assertEqual(acks[2].reason_code, "stale_version")
        self.assertIn("at version 2", acks[2].message)

    def test_acks_match_by_raw_id(self):
        raw = []
        for tail in (b"\xff", b"\xfe"):
            data = self.customer("PY-RAWx", "PYC-R", "R").SerializeToString()
            raw.append(b"PY-RAW" + tail)
            self.sock.send(data.replace(b"PY-RAWx", raw[-1]))
        got = []
        for _ in raw:
            self.assertTrue(self.sock.poll(10000))
            ack = pb.Ack()
            ack.ParseFromString(self.sock.recv())
            got.append(ack.event_id_raw)
        self.assertEqual(sorted(got), sorted(raw))

if __name__ == "__main__":
    unittest.main(verbosity=2)
