"""skonto-ingest end to end: a real redis-server, a real ingest, ZeroMQ clients.

What an ERP notices: every event gets an acknowledgement (accepted, duplicate,
or rejected with a reason code) only after it is stored; accepted events are in
their customer's shard stream byte for byte; a duplicate changes nothing; a
rejected event is in the dead-letter list and never blocks the ones behind it;
garbage does not kill ingest; a PUB feed's missing sequence numbers are
counted. The Python protobuf code is generated from proto/ at test time.
"""
import base64
import json
import os
import subprocess
import unittest

import zmq

import skingest
import skredis
from skingest import (ACCEPTED, DUPLICATE, REJECTED, Client, credit_note, customer, order,
                      payment)
from harness import Stack, free_port, wait_for
from skredis import shard

pb = None


def setUpModule():
    global pb
    pb = skingest.load()


def resp(st, *args):
    """One Redis command over the unix socket, with binary-safe replies."""
    return skredis.command(st.redis_sock, *args)


def dead_letters(st):
    return [json.loads(x) for x in resp(st, "LRANGE", "sk:{sys}:dlq", 0, -1)]


def counters(st):
    """ingest's counters as `skontoctl status` reports them."""
    return st.ctl_json("status")["ingest"]




class IngestTest(skingest.IngestCase):
    def test_accepted_event_is_stored_byte_for_byte(self):
        st = self.st
        c = customer("A-E1", "A-C1")
        o = order("A-E2", "A-SO1", "A-C1")
        self.expect(c, ACCEPTED)
        self.expect(o, ACCEPTED)
        n = shard("A-C1")
        entries = resp(st, "XRANGE", "sk:{s%d}:events" % n, "-", "+")
        stored = [dict(zip(e[1][::2], e[1][1::2]))[b"e"] for e in entries]
        self.assertIn(c.SerializeToString(), stored)
        self.assertIn(o.SerializeToString(), stored)
        self.expect(o, DUPLICATE)  # its event id is remembered
        cust = resp(st, "HGETALL", "sk:{s%d}:cust:A-C1" % n)
        cust = {cust[i].decode(): cust[i + 1].decode() for i in range(0, len(cust), 2)}
        self.assertEqual(cust["name"], "Acme 有限公司")
        self.assertEqual(cust["email"], "ap@example.com")
        self.assertEqual(cust["tz"], "Asia/Shanghai")
        self.assertEqual(cust["statement"], "weekly")
        self.assertEqual(cust["terms"], "2/0,1/10,0.5/30,n/60")
        self.assertGreater(int(cust["updated_ms"]), 1600000000000)
        idx = resp(st, "HGET", "sk:{o%d}:o2c" % shard("A-SO1"), "A-SO1")
        self.assertEqual(idx, b"A-C1\tCNY")
        # A payment names only the order: it lands in the customer's shard.
        before = resp(st, "XLEN", "sk:{s%d}:events" % n)
        self.expect(payment("A-E3", "A-SO1"), ACCEPTED)
        self.assertEqual(resp(st, "XLEN", "sk:{s%d}:events" % n), before + 1)

    def test_duplicate_changes_nothing(self):
        st = self.st
        self.expect(customer("D-E1", "D-C1"), ACCEPTED)
        o = order("D-E2", "D-SO1", "D-C1")
        self.expect(o, ACCEPTED)
        n = shard("D-C1")
        xlen = resp(st, "XLEN", "sk:{s%d}:events" % n)
        dups = counters(st).get("duplicate", 0)
        self.expect(o, DUPLICATE)
        # Same event id with other content is still the same event.
        o2 = order("D-E2", "D-SO1", "D-C1", amount=200000)
        self.expect(o2, DUPLICATE)
        self.assertEqual(resp(st, "XLEN", "sk:{s%d}:events" % n), xlen)
        wait_for(lambda: counters(st).get("duplicate", 0) >= dups + 2, what="duplicate counter")

    def test_resent_order_is_duplicate_even_if_customer_terms_changed(self):
        self.expect(customer("D-E10", "D-C2", terms="2/10,n/30"), ACCEPTED)
        o = order("D-E11", "D-SO2", "D-C2", terms="", ship="2026-01-10")
        self.expect(o, ACCEPTED)
        # The customer's new terms do not work for that ship date ...
        self.expect(customer("D-E12", "D-C2", terms="2/10,n/d15"), ACCEPTED)
        self.expect(order("D-E13", "D-SO3", "D-C2", terms="", ship="2026-01-10"), REJECTED,
                    "bad_terms")
        # ... but the order accepted before is acknowledged as what it is.
        self.expect(o, DUPLICATE)
        self.assertNotIn("D-E11", [d["event_id"] for d in dead_letters(self.st)])

    def test_every_rejection_class(self):
        st = self.st
        self.expect(customer("R-E0", "R-C1"), ACCEPTED)
        self.expect(order("R-E00", "R-SO1", "R-C1"), ACCEPTED)
        # Customer with default terms that break for some ship dates, and one without terms.
        self.expect(customer("R-E01", "R-C2", terms="2/10,n/d15"), ACCEPTED)
        self.expect(customer("R-E02", "R-C3", terms=""), ACCEPTED)

        no_body = pb.Envelope(event_id="R-X1", source="erp-test")
        bad_id = order("R-X2", "", "R-C1")
        # protobuf refuses to encode invalid UTF-8, so patch the bytes after encoding.
        bad_utf8 = customer("R-X3", "R-C9", name="NAMEXX").SerializeToString().replace(
            b"NAMEXX", b"NAM\xff\xfeX")
        bad_amount = order("R-X4", "R-SO2", "R-C1", amount=0)
        bad_tax = order("R-X5", "R-SO2", "R-C1", amount=100, tax=100)
        bad_currency = order("R-X6", "R-SO2", "R-C1", currency="XYZ")
        bad_date = order("R-X7", "R-SO2", "R-C1", ship="2026-02-30")
        bad_terms = order("R-X8", "R-SO2", "R-C1", terms="2/10")
        # Parses, but the tier would end after the net day for this ship date.
        bad_window = order("R-X9", "R-SO2", "R-C1", terms="2/10,n/d15", ship="2026-01-10")
        stored_terms_break = order("R-X10", "R-SO3", "R-C2", terms="", ship="2026-01-10")
        no_terms = order("R-X11", "R-SO4", "R-C3", terms="")
        bad_field = customer("R-X12", "R-C4", email="nobody")
        unknown_customer = order("R-X13", "R-SO5", "R-NOBODY")
        unknown_order = payment("R-X14", "R-NOSUCH")
        mismatch = order("R-X15", "R-SO1", "R-C2")
        currency_mismatch = payment("R-X16", "R-SO1", currency="USD")
        currency_change = order("R-X17", "R-SO1", "R-C1", currency="USD")
        credit_currency = credit_note("R-X18", "R-SO1", currency="JPY")

        cases = [
            (no_body, "bad_envelope", "no event body"),
            (bad_id, "bad_id", "order_id is empty"),
            (bad_utf8, "bad_utf8", "name is not valid UTF-8"),
            (bad_amount, "bad_amount", "amount 0"),
            (bad_tax, "bad_amount", "tax 1.00 must be less than the amount 1.00"),
            (bad_currency, "bad_currency", "XYZ"),
            (bad_date, "bad_date", "ship_date"),
            (bad_terms, "bad_terms", "terms"),
            (bad_window, "bad_terms", "terms"),
            (stored_terms_break, "bad_terms", "customer R-C2's terms"),
            (no_terms, "bad_terms", "no default terms"),
            (bad_field, "bad_field", "email"),
            (unknown_customer, "unknown_customer", "R-NOBODY"),
            (unknown_order, "unknown_order", "R-NOSUCH"),
            (mismatch, "order_customer_mismatch", "belongs to customer R-C1"),
            (currency_mismatch, "currency_mismatch", "USD"),
            (currency_change, "currency_mismatch", "CNY"),
            (credit_currency, "currency_mismatch", "credit note in JPY"),
        ]
        for env, code, needle in cases:
            with self.subTest(code=code, needle=needle):
                ack = self.expect(env, REJECTED, code)
                self.assertIn(needle, ack.message)
        # Each is a dead letter with its reason and the exact bytes received.
        dl = {d["event_id"]: d for d in dead_letters(st)}
        for env, code, _ in cases:
            data = env if isinstance(env, bytes) else env.SerializeToString()
            eid = "R-X3" if isinstance(env, bytes) else env.event_id
            with self.subTest(event=eid):
                self.assertIn(eid, dl)
                self.assertEqual(dl[eid]["reason_code"], code)
                self.assertEqual(dl[eid]["source"], "erp-test")
                self.assertEqual(base64.b64decode(dl[eid]["payload_b64"]), data)
                self.assertGreater(dl[eid]["at_ms"], 1600000000000)
                self.assertTrue(dl[eid]["message"])
        # Nothing rejected reached a stream, claimed an order or created a customer.
        self.assertIsNone(resp(st, "HGET", "sk:{o%d}:o2c" % shard("R-SO5"), "R-SO5"))
        self.assertIsNone(resp(st, "HGET", "sk:{o%d}:o2c" % shard("R-SO3"), "R-SO3"))
        self.assertEqual(resp(st, "EXISTS", "sk:{s%d}:cust:R-C4" % shard("R-C4")), 0)
        self.assertEqual(resp(st, "HGET", "sk:{o%d}:o2c" % shard("R-SO1"), "R-SO1"), b"R-C1\tCNY")
        # The events behind them are still accepted, and a once-rejected order
        # can be sent again once fixed.
        self.expect(order("R-E20", "R-SO5", "R-C1"), ACCEPTED)
        self.expect(payment("R-E21", "R-SO5", currency="CNY"), ACCEPTED)
        self.expect(order("R-E22", "R-SO3", "R-C2", terms="", ship="2026-01-01"), ACCEPTED)
        wait_for(lambda: counters(st).get("rejected", 0) >= len(cases), what="rejected counter")

    def test_undecodable_frame(self):
        junk = b"\xff\xff\xff\xff\xff"
        ack = self.expect(junk, REJECTED, "bad_envelope")
        self.assertEqual(ack.event_id, "")
        self.assertIn("not a skonto.v1.Envelope", ack.message)
        dl = [d for d in dead_letters(self.st) if d["payload_b64"] == base64.b64encode(junk).decode()]
        self.assertEqual(len(dl), 1)
        self.assertEqual(dl[0]["reason_code"], "bad_envelope")

    def test_inline_customer(self):
        st = self.st
        o = order("I-E1", "I-SO1", "I-C1", terms="")
        o.order_shipped.customer.name = "Inline GmbH"
        o.order_shipped.customer.terms = "2/10,n/30"
        o.order_shipped.customer.statement = pb.STATEMENT_DAILY
        self.expect(o, ACCEPTED)
        cust = resp(st, "HGETALL", "sk:{s%d}:cust:I-C1" % shard("I-C1"))
        cust = {cust[i].decode(): cust[i + 1].decode() for i in range(0, len(cust), 2)}
        self.assertEqual((cust["name"], cust["terms"], cust["statement"]),
                         ("Inline GmbH", "2/10,n/30", "daily"))
        # Now known: a later order without terms uses the stored ones.
        self.expect(order("I-E2", "I-SO2", "I-C1", terms=""), ACCEPTED)

    def test_batch_with_dependencies(self):
        """Many events sent at once: a customer and its orders and payments in
        one burst are resolved in order, and a payment before its order is not."""
        st = self.st
        envs = [payment("B-E0", "B-SO0")]  # before its order: unknown
        for i in range(20):
            envs.append(customer("B-C%d" % i, "B-C%d" % i))
            envs.append(order("B-O%d" % i, "B-SO%d" % i, "B-C%d" % i, terms=""))
            envs.append(payment("B-P%d" % i, "B-SO%d" % i))
        envs.append(order("B-O0", "B-SO0", "B-C0"))  # duplicate of the first order
        acks = self.burst(envs)
        self.assertEqual(acks["B-E0"], [(REJECTED, "unknown_order")])
        self.assertEqual(acks["B-O0"], [(ACCEPTED, ""), (DUPLICATE, "")])
        for i in range(20):
            for eid in ("B-C%d" % i, "B-P%d" % i):
                self.assertEqual(acks[eid], [(ACCEPTED, "")], eid)

    def test_batch_order_claims(self):
        """Orders and payments for the same order id in one burst: a rejected
        order's claim on the order index is released, and nothing that came
        after it in the burst is taken for an order that exists."""
        st = self.st
        self.expect(customer("K-E0", "K-C1"), ACCEPTED)
        self.expect(customer("K-E00", "K-C2"), ACCEPTED)
        envs = [
            order("K-E1", "K-SO1", "K-NOBODY"),          # rejected: unknown customer
            payment("K-E2", "K-SO1"),                     # so its order does not exist
            order("K-E3", "K-SO1", "K-C1"),               # the fixed order, same burst
            payment("K-E4", "K-SO1"),                     # now it does
            order("K-E5", "K-SO2", "K-C1"),
            order("K-E6", "K-SO2", "K-C1", amount=200000, version=2),  # a revision, same burst
            order("K-E7", "K-SO2", "K-C2"),               # another customer's: mismatch
        ]
        acks = self.burst(envs)
        self.assertEqual(acks, {
            "K-E1": [(REJECTED, "unknown_customer")],
            "K-E2": [(REJECTED, "unknown_order")],
            "K-E3": [(ACCEPTED, "")],
            "K-E4": [(ACCEPTED, "")],
            "K-E5": [(ACCEPTED, "")],
            "K-E6": [(ACCEPTED, "")],
            "K-E7": [(REJECTED, "order_customer_mismatch")],
        })
        self.assertEqual(resp(st, "HGET", "sk:{o%d}:o2c" % shard("K-SO1"), "K-SO1"), b"K-C1\tCNY")
        self.assertEqual(resp(st, "HGET", "sk:{o%d}:o2c" % shard("K-SO2"), "K-SO2"), b"K-C1\tCNY")

    def test_req_client(self):
        req = Client(self.st.ingest_endpoint, zmq.REQ)
        try:
            ack = req.send(customer("Q-E1", "Q-C1"))
            self.assertIsNotNone(ack)
            self.assertEqual(ack.status, ACCEPTED)
            ack = req.send(customer("Q-E1", "Q-C1"))
            self.assertEqual(ack.status, DUPLICATE)
            ack = req.send(b"\x08")
            self.assertEqual((ack.status, ack.reason_code), (REJECTED, "bad_envelope"))
        finally:
            req.close()

    def test_survives_garbage(self):
        st = self.st
        import random
        rnd = random.Random(7)
        d = Client(st.ingest_endpoint)
        try:
            n = 300
            for _ in range(n):
                d.send_raw(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 80))))
            got = 0
            for _ in range(n):
                a = d.recv_ack()
                self.assertIsNotNone(a, "ingest stopped answering; log:\n" + st.log("ingest"))
                self.assertEqual(a.status, REJECTED)
                got += 1
            self.assertEqual(got, n)
            # Several frames where one is expected.
            d.sock.send_multipart([b"a", b"b", b"c"])
            a = d.recv_ack()
            self.assertEqual((a.status, a.reason_code), (REJECTED, "bad_envelope"))
        finally:
            d.close()
        # A frame over the transport limit makes ZeroMQ drop that connection,
        # nothing more, and ingest says so.
        big = Client(st.ingest_endpoint)
        try:
            big.send_raw(b"\x0a" + b"x" * (1 << 20))
            self.assertIsNone(big.recv_ack(500))
        finally:
            big.close()
        wait_for(lambda: "closed" in st.log("ingest"), what="the dropped connection logged")
        self.assertIsNone(self.proc.poll(), st.log("ingest"))
        self.expect(customer("G-E1", "G-C1"), ACCEPTED)

    def test_event_redis_cannot_store_gets_no_ack_and_is_not_seen(self):
        st = self.st
        cid = "F-C1"
        n = shard(cid)
        key = "sk:{s%d}:events" % n
        saved = resp(st, "DUMP", key)
        resp(st, "DEL", key)
        resp(st, "SET", key, "not a stream")  # XADD on it fails inside the accept script
        try:
            self.assertIsNone(self.cli.send(customer("F-E1", cid), timeout_ms=1000))
        finally:
            resp(st, "DEL", key)
            if saved is not None:
                resp(st, "RESTORE", key, 0, saved)
        # The client's retry is accepted, not taken for a duplicate.
        self.expect(customer("F-E1", cid), ACCEPTED)
        self.assertIn("accept script", st.log("ingest"))
        # An order's first version too: its versions record, written before
        # the XADD that failed, is undone, so the retry is not "the same
        # content again" (a duplicate) but stored.
        saved = resp(st, "DUMP", key)
        resp(st, "DEL", key)
        resp(st, "SET", key, "not a stream")
        try:
            self.assertIsNone(self.cli.send(order("F-E2", "F-SO1", cid), timeout_ms=1000))
        finally:
            resp(st, "DEL", key)
            if saved is not None:
                resp(st, "RESTORE", key, 0, saved)
        self.expect(order("F-E2", "F-SO1", cid), ACCEPTED)
        self.expect(order("F-E3", "F-SO1", cid), DUPLICATE)  # the same content, another id

    def test_heartbeat(self):
        def hb():
            v = resp(self.st, "HGET", "sk:{sys}:hb", "ingest")
            return json.loads(v) if v else None
        h = wait_for(hb, what="heartbeat")
        self.assertEqual(h["role"], "ingest")
        self.assertEqual(h["pid"], self.proc.pid)
        for k in ("at_ms", "processed", "errors", "accepted", "duplicate", "rejected"):
            self.assertIn(k, h)
        first = h["at_ms"]
        wait_for(lambda: hb()["at_ms"] > first, timeout=5, what="a newer heartbeat")


class IngestLifecycleTest(unittest.TestCase):
    def test_sigterm_exits_cleanly(self):
        with Stack() as st:
            p = st.start_ingest()
            c = Client(st.ingest_endpoint)
            a = c.send(customer("S-E1", "S-C1"))
            self.assertEqual(a.status, ACCEPTED)
            c.close()
            p.send_signal(15)
            self.assertEqual(p.wait(timeout=10), 0, st.log("ingest"))
            st.procs.pop("ingest")
            self.assertIn("stopping: 1 accepted", st.log("ingest"))
            # The counters were flushed on the way out.
            self.assertEqual(counters(st).get("accepted"), 1)

    def test_redis_outage_means_no_ack_then_recovery(self):
        with Stack() as st:
            st.start_ingest()
            c = Client(st.ingest_endpoint)
            self.assertEqual(c.send(customer("O-E1", "O-C1")).status, ACCEPTED)
            st.redis.kill()
            st.redis.wait()
            os.unlink(st.redis_sock)
            # While Redis is down the event is not acknowledged: the client must retry.
            self.assertIsNone(c.send(order("O-E2", "O-SO1", "O-C1"), timeout_ms=1500))
            # Redis comes back empty (no persistence in tests); ingest reconnects and reloads its script.
            st.redis = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(st.redis_port),
                 "--unixsocket", st.redis_sock, "--unixsocketperm", "700", "--save", "",
                 "--appendonly", "no", "--dir", st.dir, "--daemonize", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: os.path.exists(st.redis_sock), what="redis socket")
            retry = c.send(customer("O-E3", "O-C1"), timeout_ms=10000)
            # The order queued while Redis was down may be answered first (the
            # customer is unknown to the fresh Redis); then the retry's ack.
            acks = [retry] + [c.recv_ack(3000)]
            acks = {a.event_id: a for a in acks if a is not None}
            self.assertEqual(acks["O-E3"].status, ACCEPTED, st.log("ingest"))
            self.assertIn("connected to Redis", st.log("ingest"))
            c.close()


class IngestSubTest(unittest.TestCase):
    def test_pub_feed_sequence_gaps(self):
        ctx = zmq.Context.instance()
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        port = free_port()
        pub.bind("tcp://127.0.0.1:%d" % port)
        with Stack() as st:
            st.start_ingest(env={"SKONTO_INGEST_SUB": "tcp://127.0.0.1:%d" % port})

            def publish(env):
                pub.send(env.SerializeToString())

            def seq():
                v = resp(st, "HGET", "sk:{sys}:seq", "erp-pub")
                return int(v) if v else 0

            c = customer("P-E1", "P-C1")
            c.source, c.sequence = "erp-pub", 1
            # A SUB joins late: repeat the first event (a duplicate after the
            # first time) until ingest has seen it.
            wait_for(lambda: publish(c) or seq() == 1, what="the SUB to join")
            n_before = resp(st, "XLEN", "sk:{s%d}:events" % shard("P-C1"))
            for s in (2, 3, 4, 8, 9, 12):
                o = order("P-O%d" % s, "P-SO%d" % s, "P-C1")
                o.source, o.sequence = "erp-pub", s
                publish(o)
            bad = order("P-BAD", "P-SO99", "P-C1", amount=0)
            bad.source, bad.sequence = "erp-pub", 13
            publish(bad)
            publish(pb.Envelope())  # empty envelope, no source: rejected, not sequenced
            wait_for(lambda: seq() == 13, what="sequence 13")
            gaps = resp(st, "HGET", "sk:{sys}:gaps", "erp-pub")
            self.assertEqual(int(gaps), 3 + 2)
            log = st.log("ingest")
            self.assertIn("gap: source erp-pub missing 3 events (5..7)", log)
            self.assertIn("gap: source erp-pub missing 2 events (10..11)", log)
            self.assertEqual(resp(st, "XLEN", "sk:{s%d}:events" % shard("P-C1")), n_before + 6)
            dl = [d for d in dead_letters(st) if d["event_id"] == "P-BAD"]
            self.assertEqual(dl[0]["reason_code"], "bad_amount")
            # An old sequence number that is not a duplicate is logged, not counted as a gap.
            late = order("P-O5", "P-SO5", "P-C1")
            late.source, late.sequence = "erp-pub", 5
            publish(late)
            wait_for(lambda: "sent 5 after 13" in st.log("ingest"), what="out-of-order log")
            self.assertEqual(int(resp(st, "HGET", "sk:{sys}:gaps", "erp-pub")), 5)
            self.assertEqual(seq(), 13)
        pub.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
