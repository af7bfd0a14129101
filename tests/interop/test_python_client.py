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


if __name__ == "__main__":
    unittest.main(verbosity=2)
