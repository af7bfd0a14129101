"""Talking to a real skonto-ingest from Python tests, as an ERP would: a
DEALER/REQ client, envelope builders, and a test case with a stack of its
own (redis-server + ingest) per class. The protobuf module is generated
from proto/ at test time (skproto). Used by tests/e2e and tests/interop."""
import signal
import time
import unittest

import zmq

import skproto
from harness import Stack

pb = None

ACCEPTED, DUPLICATE, REJECTED = 1, 2, 3


def load():
    """Generates (once) and returns the skonto.v1 Python module."""
    global pb
    if pb is None:
        pb = skproto.load()
    return pb


class Client:
    """A DEALER (default) or REQ client of ingest."""

    def __init__(self, endpoint, kind=zmq.DEALER):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.kind = kind

    def send_raw(self, data):
        self.sock.send(data)

    def recv_ack(self, timeout_ms=5000):
        if not self.sock.poll(timeout_ms):
            return None
        frames = self.sock.recv_multipart()
        ack = pb.Ack()
        ack.ParseFromString(frames[-1])
        return ack

    def send(self, env, timeout_ms=5000):
        data = env if isinstance(env, bytes) else env.SerializeToString()
        self.send_raw(data)
        return self.recv_ack(timeout_ms)

    def close(self):
        self.sock.close()


def customer(eid, cid, terms="2/0,1/10,0.5/30,n/60", **kw):
    env = pb.Envelope(event_id=eid, source="erp-test", sequence=1)
    env.customer.customer_id = cid
    env.customer.name = kw.get("name", "Acme 有限公司")
    env.customer.email = kw.get("email", "ap@example.com")
    env.customer.timezone = "Asia/Shanghai"
    env.customer.locale = "zh-CN"
    env.customer.statement = kw.get("statement", pb.STATEMENT_WEEKLY)
    env.customer.terms = terms
    return env


def credit_note(eid, oid, amount=10000, currency="", issued_on="2026-11-05"):
    env = pb.Envelope(event_id=eid, source="erp-test", sequence=4)
    env.credit_note.order_id = oid
    env.credit_note.issued_on = issued_on
    env.credit_note.amount = amount
    env.credit_note.currency = currency
    return env


def order(eid, oid, cid, amount=113000, currency="CNY", terms="2/0,1/10,0.5/30,n/60",
          ship="2026-11-02", tax=13000, version=0):
    env = pb.Envelope(event_id=eid, source="erp-test", sequence=2)
    inv = env.order_shipped
    inv.version = version
    inv.order_id = oid
    inv.customer_id = cid
    inv.salesperson = "S-7"
    inv.currency = currency
    inv.amount = amount
    inv.tax = tax
    inv.ship_date = ship
    inv.terms = terms
    return env


def payment(eid, oid, amount=111870, currency="", paid_on="2026-11-10"):
    env = pb.Envelope(event_id=eid, source="erp-test", sequence=3)
    env.payment_received.order_id = oid
    env.payment_received.paid_on = paid_on
    env.payment_received.amount = amount
    env.payment_received.full = True
    env.payment_received.currency = currency
    return env


class IngestCase(unittest.TestCase):
    """One redis-server and one ingest for the whole class, and a DEALER."""

    @classmethod
    def setUpClass(cls):
        load()
        cls.st = Stack()
        cls.st.__enter__()
        cls.proc = cls.st.start_ingest()
        cls.cli = Client(cls.st.ingest_endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.cli.close()
        cls.st.close()

    def setUp(self):
        self.assertIsNone(self.proc.poll(), "ingest died:\n" + self.st.log("ingest"))

    def expect(self, env, status, reason="", cli=None):
        """Sends env, waits for its Ack and checks status and reason code."""
        data = env if isinstance(env, bytes) else env.SerializeToString()
        ack = (cli or self.cli).send(data)
        self.assertIsNotNone(ack, "no acknowledgement; log:\n" + self.st.log("ingest"))
        self.assertEqual((ack.status, ack.reason_code), (status, reason), ack.message)
        if not isinstance(env, bytes):
            self.assertEqual(ack.event_id, env.event_id)
        return ack

    def burst(self, envs):
        """Sends envs while ingest is stopped (SIGSTOP), so that it finds them
        all waiting and handles them as one batch; returns event_id -> [acks]."""
        self.proc.send_signal(signal.SIGSTOP)
        try:
            for e in envs:
                self.cli.send_raw(e.SerializeToString())
            time.sleep(0.1)
        finally:
            self.proc.send_signal(signal.SIGCONT)
        acks = {}
        for _ in envs:
            a = self.cli.recv_ack()
            self.assertIsNotNone(a, self.st.log("ingest"))
            acks.setdefault(a.event_id, []).append((a.status, a.reason_code))
        return acks
