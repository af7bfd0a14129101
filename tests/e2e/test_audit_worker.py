"""skonto-audit (issue 9, the worker): overrides asked for, decided and
logged, as the people using them see it, over real CURVE sockets and a real
redis-server; invoices made by the real ingest and discount workers.

Who may do what (docs/AUDIT.md section 8, common/override_rules.h): only a
salesperson requests; only a director decides, never their own request, a
sales director only up to the currency's threshold; what a client writes
about itself is ignored and logged; an unknown key never gets an answer
and is logged at most once per key per SKONTO_AUDIT_UNKNOWN_KEY_EVERY.
Every entry of the log verifies with tests/auditcheck.py (written from
docs/AUDIT.md alone) and the log's public key."""
import base64
import json
import os
import subprocess
import sys
import time
import unittest

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import auditcheck  # noqa: E402
import skingest  # noqa: E402
import skredis  # noqa: E402
from harness import Stack, free_port, wait_for  # noqa: E402

NOW_MS = 1793869200000  # 2026-11-05T09:00:00Z: t1 of the orders (ship 11-02, 1/10) ends 11-12
HOUR = 3600 * 1000
THRESHOLD = "CNY:10.00"  # a sales director may approve up to 1000 fen

UNKNOWN_EVERY_S = 3  # SKONTO_AUDIT_UNKNOWN_KEY_EVERY here (default 1h)

USERS = [("sam", "sam", "sales"), ("sue", "sue", "sales"), ("dan", "dan", "sales_director"),
         ("fay", "fay", "finance_director"), ("aud", "aud", "auditor"),
         ("ops", "ops", "operator"), ("erp", "erp", "erp"),
         # one person with two keys: a salesperson who is also a sales director
         ("ann-sales", "ann", "sales"), ("ann-dir", "ann", "sales_director")]


def read_key(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return line.encode()
    raise ValueError(path)


class AuditClient:
    """A DEALER with CURVE acting as the user of one key file."""

    def __init__(self, st, secret_path, server_pub=None):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.curve_secretkey = read_key(secret_path)
        self.sock.curve_publickey = zmq.curve_public(read_key(secret_path))
        self.sock.curve_serverkey = read_key(server_pub or st.audit_server_pub)
        self.sock.connect(st.audit_endpoint)
        self.n = 0

    def call(self, req, timeout_ms=5000):
        pb = skingest.pb
        self.n += 1
        req.correlation = "c%d" % self.n
        self.sock.send(req.SerializeToString() if not isinstance(req, bytes) else req)
        if not self.sock.poll(timeout_ms):
            return None
        rep = pb.AuditReply()
        rep.ParseFromString(self.sock.recv())
        assert rep.correlation == req.correlation, (rep.correlation, req.correlation)
        return rep

    def raw(self, data, timeout_ms=5000):
        self.sock.send(data)
        if not self.sock.poll(timeout_ms):
            return None
        rep = skingest.pb.AuditReply()
        rep.ParseFromString(self.sock.recv())
        return rep

    def close(self):
        self.sock.close()


def stream(st, key):
    """A stream as [(id, {field: bytes})], read as bytes."""
    r = skredis.Redis(st.redis_sock, decode=False)
    try:
        return [(i.decode(), dict(zip(f[::2], f[1::2]))) for i, f in
                r.cmd("XRANGE", key, "-", "+")]
    finally:
        r.close()


def log_entries(st):
    """sk:{audit}:log as stored: [(seq, leaf hash bytes, entry bytes)]."""
    return [(int(f[b"seq"]), bytes.fromhex(f[b"h"].decode()), f[b"e"])
            for _, f in stream(st, "sk:{audit}:log")]


def stored_notes(st):
    return [f[b"n"].decode() for _, f in stream(st, "sk:{audit}:cp")]


class AuditStack:
    """redis + ingest + discount + audit, a few invoices, one client per user."""

    def __init__(self, ttl="72h", audit_env=None, start=True, discount=True):
        skingest.load()
        self.st = Stack().__enter__()
        st = self.st
        st.redis_cli("SET", "sk:{sys}:clock", NOW_MS)
        st.env["SKONTO_CLOCK"] = "redis"
        self.keys = st.audit_setup(USERS)
        st.start_ingest()
        st.start_discount()
        erp = skingest.Client(st.ingest_endpoint)
        acks = [erp.send(skingest.customer("e-c1", "C-1")),
                erp.send(skingest.customer("e-c2", "C-2")),
                erp.send(skingest.order("e-o1", "SO-SMALL", "C-1", amount=113000, tax=13000)),
                erp.send(skingest.order("e-o2", "SO-BIG", "C-2", amount=11300000, tax=1300000)),
                erp.send(skingest.order("e-o3", "SO-STALE", "C-1", amount=113000, tax=13000)),
                erp.send(skingest.order("e-o4", "SO-EXP", "C-2", amount=113000, tax=13000)),
                erp.send(skingest.order("e-o5", "SO-DIR", "C-1", amount=113000, tax=13000))]
        assert all(a is not None and a.status == skingest.ACCEPTED for a in acks), acks
        self.erp = erp
        for oid in ("SO-SMALL", "SO-BIG", "SO-STALE", "SO-EXP", "SO-DIR"):
            wait_for(lambda: self.invoice(oid), timeout=20, what="invoice " + oid)
        if not discount:
            # the invoices are stored; with no discount worker left, approved
            # overrides wait in sk:{audit}:ovq:N and the only hand-offs are
            # the ones a test writes (as the discount worker would)
            st.stop("discount-1")
        self.metrics_addr = "127.0.0.1:%d" % free_port()
        env = {"SKONTO_OVERRIDE_FINANCE_ABOVE": THRESHOLD, "SKONTO_OVERRIDE_TTL": ttl,
               "SKONTO_AUDIT_CHECKPOINT_SECONDS": "1", "SKONTO_METRICS_ADDR": self.metrics_addr}
        env.update(audit_env or {})
        self.audit_env = env
        self.proc = st.start_audit(env=env) if start else None
        self.clients = {}

    def client(self, name):
        if name not in self.clients:
            self.clients[name] = AuditClient(self.st, self.keys[name])
        return self.clients[name]

    def invoice(self, oid):
        r = self.st.ctl("order", "show", oid, "--json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def close(self):
        for c in self.clients.values():
            c.close()
        self.erp.close()
        self.st.close()


def request(oid, rev, rid, kind=1, tier=1, new_last_day="2026-11-17", reason="customer asked"):
    pb = skingest.pb
    req = pb.AuditRequest()
    r = req.request
    r.order_id = oid
    r.invoice_revision = rev
    r.request_id = rid
    r.reason = reason
    r.change.kind = kind
    r.change.tier = tier
    r.change.new_last_day = new_last_day
    return req


def decide(ovid, approved=True, comment="ok", invoice_revision=0):
    req = skingest.pb.AuditRequest()
    req.decide.override_id = ovid
    req.decide.approved = approved
    req.decide.comment = comment
    req.decide.invoice_revision = invoice_revision
    return req


def show(ovid):
    req = skingest.pb.AuditRequest()
    req.show = ovid
    return req


def snapshot(from_seq=0, mx=0):
    req = skingest.pb.AuditRequest()
    req.snapshot.from_seq = from_seq
    req.snapshot.max = mx
    return req


def decode_entry(data):
    ev = skingest.pb.AuditEvent()
    ev.ParseFromString(data)
    return ev


class AuditWorkerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = AuditStack(audit_env={"SKONTO_AUDIT_UNKNOWN_KEY_EVERY": "%ds" % UNKNOWN_EVERY_S})
        cls.pb = skingest.pb

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.assertIsNone(self.s.proc.poll(), "skonto-audit died:\n" + self.s.st.log("audit"))

    # -- helpers
    def call(self, who, req, status=None, code=None):
        rep = self.s.client(who).call(req)
        self.assertIsNotNone(rep, "no reply; log:\n" + self.s.st.log("audit"))
        if status is not None:
            self.assertEqual((rep.status, rep.code), (status, code or ""), rep.message)
        return rep

    def snapshot_all(self):
        """Every entry of the log, through the auditor's snapshot requests."""
        out, frm = [], 0
        while True:
            rep = self.call("aud", snapshot(frm), self.pb.AuditReply.OK)
            out += list(rep.entries)
            if not rep.entries or len(out) >= rep.log_size:
                return out, rep
            frm = out[-1].seq + 1

    def events(self):
        return [decode_entry(e.entry) for e in self.snapshot_all()[0]]

    def rev(self, oid):
        return self.s.invoice(oid)["revision"]

    # -- requests
    def test_salesperson_requests_and_a_repeat_returns_the_first(self):
        OK = self.pb.AuditReply.OK
        rev = self.rev("SO-SMALL")
        rep = self.call("sam", request("SO-SMALL", rev, "r-first"), OK)
        rec = rep.overrides[0]
        self.assertEqual(rec.status, self.pb.OverrideRecord.PENDING)
        self.assertTrue(rec.request.override_id.startswith("OV-"))
        self.assertEqual(rec.request.requested_by, "sam")
        self.assertEqual(rec.request.requester_role, self.pb.ROLE_SALES)
        self.assertEqual(rec.request.requested_at_ms, NOW_MS)
        self.assertEqual(rec.request.expires_at_ms, NOW_MS + 72 * HOUR)
        self.assertEqual(rec.request.currency, "CNY")
        self.assertGreater(rec.request.effect, 0)
        self.assertEqual((rec.request.old_value, rec.request.new_value),
                         ("2026-11-12", "2026-11-17"))
        self.assertEqual((rec.customer_id, rec.salesperson), ("C-1", "S-7"))
        ev = decode_entry(self.snapshot_all()[0][rep.entry_seq].entry)
        self.assertEqual((ev.kind, ev.actor, ev.requested.override_id),
                         (self.pb.AUDIT_KIND_OVERRIDE_REQUESTED, "sam", rec.request.override_id))
        again = self.call("sam", request("SO-SMALL", rev, "r-first"), OK)
        self.assertEqual(again.overrides[0].request.override_id, rec.request.override_id)
        self.assertEqual(again.entry_seq, rep.entry_seq)
        # another salesperson's same request id is a request of its own
        other = self.call("sue", request("SO-SMALL", rev, "r-first"), OK)
        self.assertNotEqual(other.overrides[0].request.override_id, rec.request.override_id)
        shown = self.call("dan", show(rec.request.override_id), OK)
        self.assertEqual(shown.overrides[0].request.override_id, rec.request.override_id)

    def test_only_a_salesperson_may_request(self):
        rev = self.rev("SO-SMALL")
        for who in ("dan", "fay", "aud", "ops", "erp"):
            rep = self.call(who, request("SO-SMALL", rev, "r-" + who),
                            self.pb.AuditReply.REFUSED, "wrong_role")
            ev = decode_entry(self.snapshot_all()[0][rep.entry_seq].entry)
            self.assertEqual((ev.kind, ev.refused.user, ev.refused.reason_code, ev.refused.attempted),
                             (self.pb.AUDIT_KIND_REFUSED_ATTEMPT, who, "wrong_role", "request"))

    def test_request_refused_by_the_rules_is_logged(self):
        rev = self.rev("SO-SMALL")
        # a day before the tier's last day is not an extension
        rep = self.call("sam", request("SO-SMALL", rev, "r-earlier", new_last_day="2026-11-10"),
                        self.pb.AuditReply.REFUSED, "not_later")
        ev = decode_entry(self.snapshot_all()[0][rep.entry_seq].entry)
        self.assertEqual(ev.refused.reason_code, "not_later")
        self.call("sam", request("SO-SMALL", rev + 5, "r-stale"), self.pb.AuditReply.REFUSED,
                  "stale")
        self.call("sam", request("SO-NONE", 1, "r-none"), self.pb.AuditReply.REFUSED,
                  "unknown_order")

    def test_forged_fields_are_ignored_and_logged(self):
        OK = self.pb.AuditReply.OK
        rev = self.rev("SO-SMALL")
        honest = self.call("sam", request("SO-SMALL", rev, "r-honest"), OK).overrides[0]
        req = request("SO-SMALL", rev, "r-forged")
        req.request.requested_by = "fay"
        req.request.requester_role = self.pb.ROLE_FINANCE_DIRECTOR
        req.request.effect = 99999999
        req.request.expires_at_ms = NOW_MS + 1000 * HOUR
        rep = self.call("sam", req, OK)
        rec = rep.overrides[0]
        self.assertEqual(rec.request.requested_by, "sam")
        self.assertEqual(rec.request.requester_role, self.pb.ROLE_SALES)
        self.assertEqual(rec.request.effect, honest.request.effect)
        self.assertEqual(rec.request.expires_at_ms, NOW_MS + 72 * HOUR)
        forged = [e for e in self.events()
                  if e.kind == self.pb.AUDIT_KIND_REFUSED_ATTEMPT
                  and e.refused.reason_code == "forged_field"]
        self.assertEqual(len(forged), 1)
        self.assertEqual(sorted(forged[0].refused.forged_fields),
                         ["effect", "expires_at_ms", "requested_by", "requester_role"])
        self.assertEqual(forged[0].refused.user, "sam")

    # -- decisions
    def test_above_the_threshold_a_sales_director_is_refused_a_finance_director_not(self):
        pb = self.pb
        rev = self.rev("SO-BIG")
        rec = self.call("sam", request("SO-BIG", rev, "r-big"), pb.AuditReply.OK).overrides[0]
        self.assertGreater(rec.request.effect, 1000)
        ovid = rec.request.override_id
        rep = self.call("dan", decide(ovid), pb.AuditReply.REFUSED, "needs_finance_director")
        self.assertEqual(rep.overrides[0].refused_decisions, 1)
        self.assertEqual(rep.overrides[0].status, pb.OverrideRecord.PENDING)
        ev = decode_entry(self.snapshot_all()[0][rep.entry_seq].entry)
        self.assertEqual((ev.kind, ev.decided.refusal_code, ev.decided.decided_by),
                         (pb.AUDIT_KIND_OVERRIDE_DECIDED, "needs_finance_director", "dan"))
        rep = self.call("fay", decide(ovid, comment="fine"), pb.AuditReply.OK)
        rec = rep.overrides[0]
        self.assertEqual(rec.status, pb.OverrideRecord.APPROVED)
        self.assertEqual((rec.decision.decided_by, rec.decision.role),
                         ("fay", pb.ROLE_FINANCE_DIRECTOR))
        self.assertEqual(rec.decision_seq, rep.entry_seq)
        # the discount worker's order, written with the decision
        orders = [f[b"o"] for _, f in stream(self.s.st, "sk:{audit}:ovq:%d" % skredis.shard("C-2"))]
        self.assertEqual(len(orders), 1)
        order = pb.OverrideOrder()
        order.ParseFromString(orders[0])
        self.assertEqual((order.override_id, order.approved_by, order.customer_id,
                          order.invoice_revision, order.effect),
                         (ovid, "fay", "C-2", rev, rec.decision.effect))
        again = self.call("fay", decide(ovid), pb.AuditReply.REFUSED, "bad_request")
        self.assertIn("already approved", again.message)

    def test_below_the_threshold_a_sales_director_approves_and_rejections_stand(self):
        pb = self.pb
        # approved: the discount worker applies it, so an invoice of its own
        rev = self.rev("SO-DIR")
        a = self.call("sam", request("SO-DIR", rev, "r-small-1"), pb.AuditReply.OK)
        ovid = a.overrides[0].request.override_id
        self.assertLessEqual(a.overrides[0].request.effect, 1000)
        self.call("sam", decide(ovid), pb.AuditReply.REFUSED, "not_a_director")
        self.call("ops", decide(ovid), pb.AuditReply.REFUSED, "not_a_director")
        self.call("aud", decide(ovid), pb.AuditReply.REFUSED, "not_a_director")
        rep = self.call("dan", decide(ovid), pb.AuditReply.OK)
        self.assertEqual(rep.overrides[0].status, pb.OverrideRecord.APPROVED)
        self.assertEqual(rep.overrides[0].refused_decisions, 3)
        b = self.call("sue", request("SO-SMALL", self.rev("SO-SMALL"), "r-small-2"),
                      pb.AuditReply.OK)
        ovid = b.overrides[0].request.override_id
        rep = self.call("fay", decide(ovid, approved=False, comment="no"), pb.AuditReply.OK)
        self.assertEqual(rep.overrides[0].status, pb.OverrideRecord.REJECTED)
        # list: newest first, filtered
        req = pb.AuditRequest()
        req.list.order_id = "SO-SMALL"
        req.list.status = "rejected"
        lst = self.call("aud", req, pb.AuditReply.OK)
        self.assertIn(ovid, [r.request.override_id for r in lst.overrides])
        self.assertTrue(all(r.status == pb.OverrideRecord.REJECTED for r in lst.overrides))

    def test_self_approval_is_refused(self):
        pb = self.pb
        rev = self.rev("SO-SMALL")
        rec = self.call("ann-sales", request("SO-SMALL", rev, "r-ann"), pb.AuditReply.OK)
        self.assertEqual(rec.overrides[0].request.requested_by, "ann")
        self.call("ann-dir", decide(rec.overrides[0].request.override_id), pb.AuditReply.REFUSED,
                  "self_approval")

    def test_a_changed_invoice_cannot_be_approved(self):
        pb = self.pb
        rev = self.rev("SO-STALE")
        ovid = self.call("sam", request("SO-STALE", rev, "r-stale-1"),
                         pb.AuditReply.OK).overrides[0].request.override_id
        ack = self.s.erp.send(skingest.payment("e-p-stale", "SO-STALE", amount=10000,
                                               paid_on="2026-11-04"))
        self.assertEqual(ack.status, skingest.ACCEPTED)
        wait_for(lambda: self.rev("SO-STALE") > rev, timeout=20, what="the payment applied")
        self.call("fay", decide(ovid), pb.AuditReply.REFUSED, "stale")
        # a rejection still stands
        self.call("fay", decide(ovid, approved=False), pb.AuditReply.OK)

    def test_any_role_lists_and_shows_only_an_auditor_reads_the_log(self):
        pb = self.pb
        for who in ("sam", "dan", "fay", "aud", "ops", "erp"):
            self.call(who, pb.AuditRequest(list=pb.OverrideQuery(limit=5)), pb.AuditReply.OK)
        for who in ("sam", "dan", "fay", "ops", "erp"):
            rep = self.call(who, snapshot(0), pb.AuditReply.REFUSED, "wrong_role")
            self.assertEqual(len(rep.entries), 0)
        self.call("aud", snapshot(0), pb.AuditReply.OK)
        self.call("sam", show("OV-999999"), pb.AuditReply.ERROR, "not_found")

    def test_metrics_count_what_was_refused(self):
        import urllib.request
        self.call("erp", request("SO-SMALL", 1, "r-metrics"), self.pb.AuditReply.REFUSED,
                  "wrong_role")

        def metric(name, **labels):
            text = urllib.request.urlopen("http://%s/metrics" % self.s.metrics_addr).read().decode()
            want = name + ("{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}"
                           if labels else "")
            for line in text.splitlines():
                if line.startswith(want + " "):
                    return float(line.split()[-1])
            return None
        self.assertGreaterEqual(metric("skonto_audit_refused_total", reason="wrong_role"), 1)
        self.assertGreater(metric("skonto_audit_log_size"), 0)
        self.assertEqual(metric("skonto_audit_refused_total", reason="no_effect"), 0)

    # -- malformed input
    def test_malformed_requests_are_answered_bad_request(self):
        pb = self.pb
        ERR = pb.AuditReply.ERROR
        rev = self.rev("SO-SMALL")
        cases = [(request("SO-SMALL", rev, "r-nul", reason="a\x00b"), "reason"),
                 (request("SO-SMALL", rev, "r-long", reason="x" * 201), "reason"),
                 (request("SO-SMALL", rev, "r-ctl", reason="a\nb"), "reason"),
                 (request("SO-SMALL", rev, ""), "request_id"),
                 (request("SO-SMALL", rev, "x" * 65), "request_id"),
                 (request("SO\x00X", rev, "r-oid"), "order_id"),
                 (request("SO-SMALL", rev, "r-kind", kind=0), "change.kind"),
                 (request("SO-SMALL", rev, "r-day", new_last_day="11/17/2026"),
                  "change.new_last_day"),
                 (decide("OV-1", comment="c" * 201), "comment")]
        size = self.snapshot_all()[1].log_size
        for req, field in cases:
            rep = self.call("sam", req, ERR, "bad_request")
            self.assertIn(field, rep.message)
        rep = self.s.client("sam").raw(b"\xff\xff\xff not protobuf")
        self.assertEqual((rep.status, rep.code), (ERR, "bad_request"))
        self.assertIsNotNone(self.s.client("sam").raw(b""))  # an empty message: no action
        self.assertEqual(self.snapshot_all()[1].log_size, size, "malformed requests are not logged")

    def test_mutated_requests_are_all_answered(self):
        """Flipped bytes of valid requests: each gets a reply, none kills the worker."""
        import random
        rnd = random.Random(9)
        seeds = [request("SO-SMALL", 1, "r-mut").SerializeToString(),
                 decide("OV-1", comment="fine").SerializeToString(),
                 snapshot(0, 3).SerializeToString()]
        c = self.s.client("dan")
        for i in range(600):
            data = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 4)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
            self.assertIsNotNone(c.raw(bytes(data)), "no reply to %r" % bytes(data))
        self.assertIsNone(self.s.proc.poll())

    def metric(self, name, **labels):
        import urllib.request
        text = urllib.request.urlopen("http://%s/metrics" % self.s.metrics_addr).read().decode()
        want = name + ("{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}"
                       if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return None

    def unknown_entries(self, z85):
        return [(ev.seq, ev.refused) for ev in self.events()
                if ev.WhichOneof("body") == "refused" and ev.refused.reason_code == "unknown_key"
                and z85 in ev.refused.message]

    def rogue_attempts(self, secret, n):
        """n connections with an unregistered key: none is answered."""
        for _ in range(n):
            c = AuditClient(self.s.st, secret)
            try:
                self.assertIsNone(c.call(show("OV-1"), timeout_ms=300))
            finally:
                c.close()

    def test_unknown_key_gets_no_answer_and_is_logged_bounded(self):
        """Every attempt of an unknown key is refused before a message; the
        log gets one entry per key per SKONTO_AUDIT_UNKNOWN_KEY_EVERY, the
        attempts beyond are counted and said by the key's next entry."""
        st = self.s.st
        secret1, pub1, _ = st.keygen("rogue1")
        secret2, pub2, _ = st.keygen("rogue2")
        z1, z2 = read_key(pub1).decode(), read_key(pub2).decode()
        unlogged = "skonto_audit_unknown_key_unlogged_total"
        self.assertEqual(self.metric(unlogged), 0)
        self.rogue_attempts(secret1, 4)
        wait_for(lambda: self.unknown_entries(z1), what="the unknown key logged")
        t1 = time.monotonic()
        wait_for(lambda: self.metric(unlogged) >= 3, what="the other attempts counted")
        time.sleep(0.5)  # reconnects still reported
        n1 = int(self.metric(unlogged))
        self.assertIn("auth: refused %s" % z1, st.log("audit"))
        got = self.unknown_entries(z1)
        self.assertEqual(len(got), 1, got)
        seq1, ra = got[0]
        self.assertEqual((ra.user, ra.role, ra.attempted, ra.override_id, ra.order_id),
                         ("", self.pb.ROLE_UNSPECIFIED, "connect", "", ""))
        self.assertEqual(ra.message, "unknown key %s from 127.0.0.1: 1 attempt" % z1)

        # another key: an entry of its own
        self.rogue_attempts(secret2, 1)
        wait_for(lambda: self.unknown_entries(z2), what="the second key logged")
        self.assertEqual(len(self.unknown_entries(z2)), 1)
        self.assertEqual(len(self.unknown_entries(z1)), 1, "nothing more of the first key")

        # the first key again after SKONTO_AUDIT_UNKNOWN_KEY_EVERY: its next
        # entry stands for this attempt and the n1 counted since
        time.sleep(max(0, UNKNOWN_EVERY_S + 0.3 - (time.monotonic() - t1)))
        self.rogue_attempts(secret1, 1)
        wait_for(lambda: len(self.unknown_entries(z1)) == 2, what="the first key's next entry")
        seq2, ra2 = self.unknown_entries(z1)[1]
        self.assertEqual(ra2.message, "unknown key %s from 127.0.0.1: %d attempts (this one and "
                         "%d more attempts since entry %d)" % (z1, n1 + 1, n1, seq1))
        self.assertGreaterEqual(self.metric("skonto_audit_refused_total", reason="unknown_key"), 3)
        self.verify_log()

    # -- the log
    def verify_log(self):
        """The whole log, covered by a checkpoint, verifies with tests/auditcheck.py."""
        size = self.snapshot_all()[1].log_size
        st = self.s.st

        def covered():
            rep = self.call("aud", snapshot(0, 1))
            return rep.checkpoint and int(rep.checkpoint.split("\n")[1]) >= size
        wait_for(covered, what="a checkpoint of every entry")
        entries, _ = self.snapshot_all()
        leaves = os.path.join(st.dir, "leaves")
        with open(leaves, "w") as f:
            for e in entries:
                f.write("%d %s %s\n" % (e.seq, e.leaf_hash.hex(), base64.b64encode(e.entry).decode()))
        notes = os.path.join(st.dir, "checkpoints")
        cps = stored_notes(st)
        self.assertGreater(len(cps), 1)
        self.assertTrue(cps[0].split("\n")[1] == "0", "the empty log is sealed first")
        with open(notes, "w") as f:
            f.write("".join(cps))
        out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..",
                                                           "auditcheck.py"),
                              st.audit_public_key, leaves, notes], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertTrue(out.stdout.startswith("ok size=%d " % len(entries)), out.stdout)
        # and the stream as stored says the same as the snapshot
        self.assertEqual([(e.seq, e.leaf_hash, e.entry) for e in entries],
                         log_entries(st)[:len(entries)])

    # -- the log
    def test_every_entry_verifies_with_the_public_key(self):
        OK = self.pb.AuditReply.OK
        self.call("sam", request("SO-SMALL", self.rev("SO-SMALL"), "r-verify"), OK)
        self.verify_log()


if __name__ == "__main__":
    unittest.main()
