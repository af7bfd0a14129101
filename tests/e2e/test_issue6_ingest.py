"""Issue 6 regressions through the real sockets: what an ERP integrator saw
break the promise "an event the ERP saw acknowledged is stored once, and an
event it did not see acknowledged was not stored".

One test class per defect class, asserting on Acks and on `skontoctl`
output (order show, status, dlq list), not on Redis key layouts:

  - oversize envelopes are answered too_large and do not take other events
    with them; only frames over the 1 MiB transport limit drop a connection;
  - a duplicate that names another order leaves nothing behind;
  - an event id is accepted once in the whole system (every shard, several
    ingest workers, restarts);
  - an order re-sent with a version that is not higher is a duplicate when
    nothing changed and stale_version when it differs, never silently dropped;
  - every Ack can be matched by the id's raw bytes;
  - ingest's accepted counter is exact even when ingest is killed with -9.
"""
import json
import time
import unittest


import skingest
from harness import Stack, _can_connect, free_port, wait_for
from skingest import ACCEPTED, DUPLICATE, REJECTED, Client, customer, order, payment
from skredis import shard


def setUpModule():
    skingest.load()


class Base(skingest.IngestCase):
    def status(self):
        return self.st.ctl_json("status")

    def dead_letters(self):
        return self.st.ctl_json("dlq", "list", "--limit", "1000")["dead_letters"]

    def start_ingest2(self, ep=None):
        """A second ingest worker, "ingest-2", on endpoint ep (default: a free
        port); returns the endpoint once it listens."""
        ep = ep or "tcp://127.0.0.1:%d" % free_port()
        self.st.start("ingest-2", "skonto-ingest",
                      env={"SKONTO_INGEST_ENDPOINT": ep, "SKONTO_WORKER_NAME": "ingest-2"})
        wait_for(lambda: _can_connect(int(ep.rsplit(":", 1)[1])), what="ingest-2")
        return ep


class TestOversizeEnvelope(Base):
    def test_too_large_is_answered_and_the_connection_stays(self):
        self.expect(customer("Z-E0", "Z-C1"), ACCEPTED)
        big = order("Z-BIG", "Z-SO1", "Z-C1")
        big.order_shipped.customer.name = "x" * 66000  # 66 kB envelope: over the limit
        data = big.SerializeToString()
        self.assertGreater(len(data), 65536)
        # Before, the oversize one and after it, on one connection, in one go.
        before, after = customer("Z-E1", "Z-C2"), customer("Z-E2", "Z-C3")
        for env in (before, big, after):
            self.cli.send_raw(env.SerializeToString())
        acks = {}
        for _ in range(3):
            a = self.cli.recv_ack()
            self.assertIsNotNone(a, self.st.log("ingest"))
            acks[a.event_id] = a
        self.assertEqual(acks["Z-E1"].status, ACCEPTED)
        self.assertEqual(acks["Z-E2"].status, ACCEPTED)
        self.assertEqual((acks["Z-BIG"].status, acks["Z-BIG"].reason_code),
                         (REJECTED, "too_large"))
        self.assertIn("65536", acks["Z-BIG"].message)
        self.assertIn(str(len(data)), acks["Z-BIG"].message)
        # The dead letter keeps size, hash and the first bytes, not the payload.
        dl = [d for d in self.dead_letters() if d.get("event_id") == "Z-BIG"]
        self.assertEqual(len(dl), 1, dl)
        self.assertEqual(dl[0]["reason_code"], "too_large")
        self.assertEqual(dl[0]["payload_bytes"], len(data))
        import base64
        import hashlib
        self.assertEqual(dl[0]["payload_sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(base64.b64decode(dl[0]["payload_head_b64"]), data[:256])
        self.assertEqual(dl[0]["payload_b64"], "")
        # The same connection goes on working.
        self.expect(order("Z-E3", "Z-SO2", "Z-C2"), ACCEPTED)

    def test_beyond_the_transport_limit_only_that_connection_drops(self):
        other = Client(self.st.ingest_endpoint)
        try:
            other.send_raw(b"\x0a" + b"x" * (1 << 20) + b"y")
            self.assertIsNone(other.recv_ack(700))
        finally:
            other.close()
        wait_for(lambda: "closed" in self.st.log("ingest"), what="the drop logged")
        self.expect(customer("Z-E9", "Z-C9"), ACCEPTED)


class TestDeadLettersBounded(Base):
    def test_dead_letter_list_is_bounded_in_bytes(self):
        # 900 rejected envelopes of ~64 kB each: their records (base64) come
        # to ~77 MB, over the 64 MiB bound, so the oldest go.
        n = 900
        for i in range(n):
            env = customer("B-E%04d" % i, "B-C1")
            env.customer.name = "x" * 63000  # over 200 bytes: bad_field
            self.cli.send_raw(env.SerializeToString())
            if i % 100 == 99:
                for _ in range(100):
                    self.assertIsNotNone(self.cli.recv_ack(), self.st.log("ingest"))
        d = self.st.ctl_json("dlq", "list", "--limit", "100000")
        kept = [x["event_id"] for x in d["dead_letters"]]
        self.assertLess(len(kept), n)
        self.assertGreater(len(kept), 600)
        self.assertEqual(kept[0], "B-E%04d" % (n - 1))  # newest first, newest kept
        self.assertNotIn("B-E0000", kept)
        self.assertEqual(self.status()["ingest"]["rejected"], n)


class TestDuplicateNamingAnotherOrder(Base):
    def test_duplicate_leaves_no_phantom_order(self):
        self.expect(customer("P-E0", "P-C1"), ACCEPTED)
        self.expect(customer("P-E00", "P-C2"), ACCEPTED)
        self.expect(order("P-E2", "P-SO1", "P-C1"), ACCEPTED)
        self.expect(order("P-E2", "P-SO2", "P-C1"), DUPLICATE)
        r = self.st.ctl("order", "show", "P-SO2", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("no schedule yet", r.stdout + r.stderr)
        self.expect(payment("P-E3", "P-SO2"), REJECTED, "unknown_order")
        # A genuine P-SO2, for another customer, is an order like any other.
        self.expect(order("P-E4", "P-SO2", "P-C2"), ACCEPTED)


class TestEventIdAcrossShards(Base):
    def test_one_event_id_for_twenty_orders_is_accepted_once(self):
        for i in range(20):
            self.expect(customer("X-C%d-E" % i, "X-C%d" % i), ACCEPTED)
        acks = [self.expect(order("X-SAME", "X-SO%d" % i, "X-C%d" % i),
                            ACCEPTED if i == 0 else DUPLICATE) for i in range(20)]
        self.assertEqual(len(acks), 20)
        for i in range(1, 20):
            r = self.st.ctl("order", "show", "X-SO%d" % i, check=False)
            self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_across_ingest_workers_and_restarts(self):
        st = self.st
        ep2 = self.start_ingest2()
        c2 = Client(ep2)
        try:
            for i in range(8):
                self.expect(customer("Y-C%d-E" % i, "Y-C%d" % i), ACCEPTED)
            # The same id, alternately through both workers, all at once.
            envs = [order("Y-SAME", "Y-SO%d" % i, "Y-C%d" % i) for i in range(8)]
            for i, e in enumerate(envs):
                (self.cli if i % 2 == 0 else c2).send_raw(e.SerializeToString())
            statuses = []
            for i in range(8):
                for _ in range(3):  # no Ack while another worker stores it: resend
                    a = (self.cli if i % 2 == 0 else c2).recv_ack(3000)
                    if a is not None:
                        break
                    (self.cli if i % 2 == 0 else c2).send_raw(envs[i].SerializeToString())
                self.assertIsNotNone(a, st.log("ingest") + st.log("ingest-2"))
                statuses.append(a.status)
            self.assertEqual(statuses.count(ACCEPTED), 1, statuses)
            self.assertEqual(statuses.count(DUPLICATE), 7, statuses)
            # Remembered across a restart of both.
            st.kill9("ingest-2")
            self.start_ingest2(ep2)
            self.expect(order("Y-SAME", "Y-SO3", "Y-C3"), DUPLICATE, cli=c2)
        finally:
            c2.close()
            st.stop("ingest-2")


class TestStaleVersion(Base):
    def test_not_higher_versions_are_never_silently_dropped(self):
        self.expect(customer("V-E0", "V-C1"), ACCEPTED)
        self.expect(order("V-E1", "V-SO1", "V-C1", version=2), ACCEPTED)
        # The same content again under a new event id: acknowledged, nothing changes.
        a = self.expect(order("V-E2", "V-SO1", "V-C1", version=2), DUPLICATE)
        self.assertIn("same content", a.message)
        # Other content with a version that is not higher: a clear rejection.
        for eid, ver in (("V-E3", 2), ("V-E4", 1)):
            a = self.expect(order(eid, "V-SO1", "V-C1", amount=200000, version=ver),
                            REJECTED, "stale_version")
            self.assertIn("at version 2", a.message)
            self.assertIn("version 3 or higher", a.message)
        dl = {d["event_id"]: d for d in self.dead_letters()}
        self.assertEqual(dl["V-E3"]["reason_code"], "stale_version")
        # A higher version replaces it.
        self.expect(order("V-E5", "V-SO1", "V-C1", amount=200000, version=3), ACCEPTED)
        self.st.start_discount("discount-1")
        try:
            def shown():
                r = self.st.ctl("order", "show", "V-SO1", "--json", check=False)
                return r.returncode == 0 and json.loads(r.stdout)
            wait_for(shown, timeout=20, what="V-SO1 scheduled")
            wait_for(lambda: "2000.00" in self.st.ctl("order", "show", "V-SO1").stdout,
                     timeout=20, what="version 3's amount")
        finally:
            self.st.stop("discount-1")

    def test_versions_within_one_batch(self):
        """An order's versions in one burst (one batch, one storing call):
        each is compared with the one accepted just before it in the burst."""
        self.expect(customer("W-E0", "W-C1"), ACCEPTED)
        acks = self.burst([
            order("W-E1", "W-SO1", "W-C1", version=1),
            order("W-E2", "W-SO1", "W-C1", version=1),                 # same content
            order("W-E3", "W-SO1", "W-C1", amount=250000, version=2),
            order("W-E4", "W-SO1", "W-C1", amount=250000, version=2),  # same again
            order("W-E5", "W-SO1", "W-C1", amount=90000, version=1),   # older, other content
            order("W-E6", "W-SO1", "W-C1", amount=90000, version=2),   # not higher
        ])
        self.assertEqual(acks, {
            "W-E1": [(ACCEPTED, "")],
            "W-E2": [(DUPLICATE, "")],
            "W-E3": [(ACCEPTED, "")],
            "W-E4": [(DUPLICATE, "")],
            "W-E5": [(REJECTED, "stale_version")],
            "W-E6": [(REJECTED, "stale_version")],
        })
        # After the burst the order is at version 2: a resend of version 2 is
        # the same content, version 3 is accepted.
        a = self.expect(order("W-E7", "W-SO1", "W-C1", amount=250000, version=2), DUPLICATE)
        self.assertIn("same content", a.message)
        self.expect(order("W-E8", "W-SO1", "W-C1", amount=260000, version=3), ACCEPTED)
        self.st.start_discount("discount-1")
        try:
            wait_for(lambda: "2600.00" in self.st.ctl("order", "show", "W-SO1",
                                                       check=False).stdout,
                     timeout=20, what="version 3's amount")
        finally:
            self.st.stop("discount-1")


class TestSettledClaims(Base):
    def test_watermark_settles_stored_events_and_never_a_refused_one(self):
        """A batch's accepted claims are settled by raising ingest's watermark
        past them (one write per shard), only after the claims of events it
        did not store are released: later batches, another ingest worker and
        a restart answer the stored ones DUPLICATE, and the id of a refused
        event stays free for its corrected resend."""
        st = self.st
        self.expect(customer("S-E0", "S-C1"), ACCEPTED)
        self.expect(order("S-E1", "S-SO1", "S-C1", version=2), ACCEPTED)
        self.expect(order("S-E2", "S-SO1", "S-C1", amount=200000, version=1),
                    REJECTED, "stale_version")
        for i in range(3):  # later batches: the watermark moves past S-E2's
            self.expect(order("S-E3%d" % i, "S-SO3%d" % i, "S-C1"), ACCEPTED)
        self.expect(order("S-E1", "S-SO1", "S-C1", version=2), DUPLICATE)
        self.expect(order("S-E30", "S-SO30", "S-C1"), DUPLICATE)
        self.expect(order("S-E2", "S-SO1", "S-C1", amount=200000, version=3), ACCEPTED)
        self.expect(order("S-E2", "S-SO1", "S-C1", amount=200000, version=3), DUPLICATE)
        # the batches' stored records go once the watermark covers them (the
        # last one's within a heartbeat or two): nothing is left behind
        stored = "sk:{s%d}:stored" % shard("S-C1")
        wait_for(lambda: st.redis_cli("HLEN", stored) == "0", timeout=5,
                 what="the stored records dropped")
        c2 = Client(self.start_ingest2())
        try:
            for eid, oid in (("S-E1", "S-SO1"), ("S-E31", "S-SO31"), ("S-E2", "S-SO1")):
                self.expect(order(eid, oid, "S-C1", version=2), DUPLICATE, cli=c2)
        finally:
            c2.close()
            st.stop("ingest-2")
        st.kill9("ingest")
        type(self).proc = st.start_ingest()  # the DEALER reconnects by itself
        self.expect(order("S-E32", "S-SO32", "S-C1"), DUPLICATE)
        self.expect(order("S-E1", "S-SO1", "S-C1", version=2), DUPLICATE)
        self.assertEqual(self.status()["ingest"]["accepted"], 6)


    def test_a_crashed_ingests_claims_are_settled_from_its_stored_records(self):
        """What an ingest killed between storing a batch and settling its
        claims leaves behind: pending claims, and in each customer shard a
        record of the events the batch stored there (docs/DATAFLOW.md, step
        4; before records, one marker per event). The next ingest's recovery
        accepts the claims a record or marker lists (their resend is
        DUPLICATE) and drops it; a claim no record
        lists is released when its event is resent, which is then stored
        once."""
        with Stack() as st:
            dead = "p:%d:ingest/999999/1" % (int(time.time() * 1000) - 60000)
            for eid in ("K-E1", "K-E2", "K-E3", "K-E4"):
                st.redis_cli("SET", "sk:{s%d}:eid:%s" % (shard(eid), eid), dead)
            stored = "sk:{s%d}:stored" % shard("K-C1")
            st.redis_cli("HSET", stored, dead, "\nK-E1\nK-E2\n")
            st.redis_cli("HSET", stored, "K-E4", "1")  # a marker of before the records
            st.start_ingest()
            c = Client(st.ingest_endpoint)
            try:
                self.expect(customer("K-E0", "K-C1"), ACCEPTED, cli=c)
                self.expect(order("K-E1", "K-SO1", "K-C1"), DUPLICATE, cli=c)
                self.expect(order("K-E2", "K-SO2", "K-C1"), DUPLICATE, cli=c)
                self.expect(order("K-E4", "K-SO4", "K-C1"), DUPLICATE, cli=c)
                self.assertEqual(st.redis_cli("HLEN", stored), "0")
                e3 = order("K-E3", "K-SO3", "K-C1")
                self.assertIsNone(c.send(e3, timeout_ms=1500))  # settled, no Ack yet
                self.expect(e3, ACCEPTED, cli=c)
                self.expect(e3, DUPLICATE, cli=c)
            finally:
                c.close()
            self.assertEqual(st.ctl_json("status")["ingest"]["accepted"], 2)


class TestAckMatching(Base):
    def test_raw_id_bytes_are_echoed(self):
        # Two ids that differ only in bytes that are not valid UTF-8: their
        # printable copies are the same, their raw bytes are not.
        sent = []
        for bad in (b"\xff", b"\xfe"):
            env = customer("M-IDxx", "M-C1")
            data = env.SerializeToString().replace(b"M-IDxx", b"M-ID" + bad + b"x")
            sent.append(b"M-ID" + bad + b"x")
            self.cli.send_raw(data)
        got = []
        for _ in sent:
            a = self.cli.recv_ack()
            self.assertIsNotNone(a)
            self.assertEqual((a.status, a.reason_code), (REJECTED, "bad_utf8"))
            got.append(a.event_id_raw)
        self.assertEqual(sorted(got), sorted(sent))
        a = self.expect(customer("M-OK", "M-C1"), ACCEPTED)
        self.assertEqual(a.event_id_raw, b"M-OK")
        # An id with a NUL: rejected, and echoed whole (not cut at the NUL).
        data = customer("M-NULx", "M-C1").SerializeToString().replace(b"M-NULx", b"M-NUL\0")
        self.cli.send_raw(data)
        a = self.cli.recv_ack()
        self.assertEqual((a.status, a.reason_code), (REJECTED, "bad_id"))
        self.assertEqual(a.event_id_raw, b"M-NUL\0")


class TestAcceptedCounterAfterKill(unittest.TestCase):
    def test_counter_is_exact_after_kill9(self):
        with Stack() as st:
            st.start_ingest()
            c = Client(st.ingest_endpoint)
            try:
                n = 60
                for i in range(n):
                    c.send_raw(customer("N-E%d" % i, "N-C%d" % i).SerializeToString())
                for _ in range(n):
                    a = c.recv_ack()
                    self.assertIsNotNone(a)
                    self.assertEqual(a.status, ACCEPTED)
                # Killed right after its Acks, before any heartbeat could flush.
                st.kill9("ingest")
            finally:
                c.close()
            self.assertEqual(st.ctl_json("status")["ingest"]["accepted"], n)


if __name__ == "__main__":
    unittest.main(verbosity=2)
