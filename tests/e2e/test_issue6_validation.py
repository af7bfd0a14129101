"""Issue 6: ingest keeps its contract for every input.

Regression tests for three defects, through the real sockets: a real
redis-server, skonto-ingest and a discount worker; raw envelopes over a DEALER
socket; assertions on what an ERP and an operator see (the Acks, and
skontoctl's output), never on Redis key layouts.

  - test_nul_in_string: a NUL byte inside a string was accepted and cut the
    string there (protobuf-c hands strings over NUL-terminated), so `X\\0` was
    stored as `X`, `X\\0other` was then a DUPLICATE, `O\\0A` and `O\\0B` became
    one invoice `O`.
  - test_id_counts_characters: ids were counted in bytes; the contract says
    1..64 characters, so a 35-character Chinese order id (105 bytes) was
    rejected.
  - test_amounts_in_currency_decimals: messages spoke in minor units
    ("tax 113000 is out of range (0..amount-1 = 112999)").
"""
import unittest


import skingest
from harness import wait_for

pb = None

ACCEPTED, DUPLICATE, REJECTED = 1, 2, 3
TERMS = "2/0,1/10,0.5/30,n/60"


def setUpModule():
    global pb
    pb = skingest.load()


def customer(eid, cid, name="Acme 有限公司", terms=TERMS):
    env = pb.Envelope(event_id=eid, source="erp-issue6", sequence=1)
    c = env.customer
    c.customer_id, c.name, c.email = cid, name, "ap@example.com"
    c.timezone, c.locale, c.statement = "Asia/Shanghai", "zh-CN", pb.STATEMENT_WEEKLY
    c.terms = terms
    return env


def order(eid, oid, cid, amount=113000, tax=13000, currency="CNY", terms=TERMS):
    env = pb.Envelope(event_id=eid, source="erp-issue6", sequence=2)
    inv = env.order_shipped
    inv.order_id, inv.customer_id, inv.salesperson = oid, cid, "S-7"
    inv.currency, inv.amount, inv.tax = currency, amount, tax
    inv.ship_date, inv.terms = "2026-11-02", terms
    return env


def credit_note(eid, oid, amount):
    env = pb.Envelope(event_id=eid, source="erp-issue6", sequence=3)
    env.credit_note.order_id = oid
    env.credit_note.issued_on = "2026-11-05"
    env.credit_note.amount = amount
    return env


class Issue6Test(skingest.IngestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.st.start_discount("discount-1")

    def send(self, env):
        """Sends one envelope and returns its Ack (one at a time, so an Ack
        whose printable event id was cut still belongs to this envelope)."""
        ack = self.cli.send(env.SerializeToString(), timeout_ms=10000)
        self.assertIsNotNone(ack, "no ack; ingest log:\n" + self.st.log("ingest"))
        return ack

    def assert_ack(self, env, status, reason="", message=None):
        ack = self.send(env)
        self.assertEqual((ack.status, ack.reason_code), (status, reason), ack)
        if message is not None:
            self.assertEqual(ack.message, message)
        return ack

    def dead_letters(self):
        return self.st.ctl_json("dlq", "list", "--limit", "1000")["dead_letters"]

    def order_shown(self, oid):
        """skontoctl order show --json once the discount worker has the invoice."""
        def shown():
            r = self.st.ctl("order", "show", oid, "--json", check=False)
            return r.returncode == 0 and r.stdout
        import json
        return json.loads(wait_for(shown, timeout=20, what="order %s shown" % oid))

    def assert_no_order(self, oid):
        r = self.st.ctl("order", "show", oid, check=False)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("not found", r.stderr)

    # ------------------------------------------------------------ NUL bytes

    def test_nul_in_string(self):
        st = self.st
        self.assert_ack(customer("N-C1", "C-N1"), ACCEPTED)

        # (a) `X\0` is not `X`: rejected, and so is `X\0other` (not a
        # duplicate of it); the plain `X` is then new.
        self.assert_ack(customer("X\0", "C-N2"), REJECTED, "bad_id",
                        "event_id contains a NUL byte")
        self.assert_ack(customer("X\0other", "C-N2"), REJECTED, "bad_id",
                        "event_id contains a NUL byte")
        self.assert_ack(customer("X", "C-N2"), ACCEPTED)
        self.assert_ack(customer("X", "C-N2"), DUPLICATE)

        # (b) `O\0A` and `O\0B` are two bad ids, not one invoice `O`.
        self.assert_ack(order("N-O1", "O\0A", "C-N1"), REJECTED, "bad_id",
                        "order_id contains a NUL byte")
        self.assert_ack(order("N-O2", "O\0B", "C-N1"), REJECTED, "bad_id",
                        "order_id contains a NUL byte")

        # (c) a name is not stored cut: in a customer, and in an order's
        # inline customer.
        self.assert_ack(customer("N-C3", "C-N3", name="Ac\0me"), REJECTED, "bad_field",
                        "name contains a NUL byte")
        inline = order("N-O3", "SO-N3", "C-N4")
        inline.order_shipped.customer.name = "Ac\0me"
        inline.order_shipped.customer.email = "ap@example.com"
        self.assert_ack(inline, REJECTED, "bad_field", "customer.name contains a NUL byte")

        # (d) terms, and a currency, are not read up to the NUL.
        self.assert_ack(order("N-O4", "SO-N4", "C-N1", terms="2/10,n/30\0garbage"), REJECTED,
                        "bad_field", "terms contains a NUL byte")
        self.assert_ack(order("N-O5", "SO-N5", "C-N1", currency="CNY\0x"), REJECTED,
                        "bad_field", "currency contains a NUL byte")

        # What an operator sees: none of them exists, each is a dead letter.
        self.assert_no_order("O")
        self.assert_no_order("SO-N3")
        self.assert_no_order("SO-N4")
        self.assert_no_order("SO-N5")
        r = st.ctl("customer", "show", "C-N3", check=False)
        self.assertEqual(r.returncode, 1, r)
        letters = [(d["reason_code"], d["message"]) for d in self.dead_letters()]
        for want in [("bad_id", "event_id contains a NUL byte"),
                     ("bad_id", "order_id contains a NUL byte"),
                     ("bad_field", "name contains a NUL byte"),
                     ("bad_field", "customer.name contains a NUL byte"),
                     ("bad_field", "terms contains a NUL byte"),
                     ("bad_field", "currency contains a NUL byte")]:
            self.assertIn(want, letters)
        self.assertEqual(letters.count(("bad_id", "order_id contains a NUL byte")), 2)

        # The same order without the NUL is fine.
        self.assert_ack(order("N-O6", "SO-N6", "C-N1", terms="2/10,n/30"), ACCEPTED)
        self.assertEqual(self.order_shown("SO-N6")["terms"], "2/10,n/30")

    # ------------------------------------------------------------ ids in characters

    def test_id_counts_characters(self):
        st = self.st
        cid = "客户" * 32  # 64 characters, 192 bytes
        oid35 = "订单号" * 11 + "订单"  # 35 characters, 105 bytes
        oid64 = "订" * 64
        oid65 = "订" * 65
        self.assertEqual((len(oid35), len(oid35.encode())), (35, 105))
        self.assert_ack(customer("I-C1", cid), ACCEPTED)
        self.assert_ack(order("I-O1", oid35, cid), ACCEPTED)
        self.assert_ack(order("I-O2", oid64, cid), ACCEPTED)
        self.assert_ack(order("I-O3", oid65, cid), REJECTED, "bad_id",
                        "order_id is 65 characters long (at most 64 characters and 256 bytes)")
        self.assert_ack(order("I-O4", "x" * 257, cid), REJECTED, "bad_id",
                        "order_id is 257 bytes long (at most 64 characters and 256 bytes)")
        # An event id of 64 four-byte characters is 256 bytes: the cap, allowed.
        self.assert_ack(order("😀" * 64, "SO-I5", cid), ACCEPTED)

        shown = self.order_shown(oid35)
        self.assertEqual((shown["order_id"], shown["customer_id"]), (oid35, cid))
        self.assertEqual(shown["amount"], "1130.00")
        self.assertIn(oid35, st.ctl("order", "show", oid35).stdout)
        self.assertEqual(self.order_shown(oid64)["order_id"], oid64)
        self.assertEqual(self.order_shown("SO-I5")["customer_id"], cid)

        # skontoctl takes the ids ingest takes, by the same rule and words.
        r = st.ctl("order", "show", oid65, check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("order id is 65 characters long (at most 64 characters and 256 bytes)",
                      r.stderr)
        self.assertIn(oid35, st.ctl("customer", "show", cid).stdout)

    # ------------------------------------------------------------ amounts as written

    def test_amounts_in_currency_decimals(self):
        st = self.st
        self.assert_ack(customer("A-C1", "C-A1"), ACCEPTED)

        # (f) in the Ack and in the dead-letter list, as the ERP wrote it.
        want = "tax 1130.00 must be less than the amount 1130.00"
        self.assert_ack(order("A-O1", "SO-A1", "C-A1", amount=113000, tax=113000), REJECTED,
                        "bad_amount", want)
        letter = [d for d in self.dead_letters() if d["event_id"] == "A-O1"]
        self.assertEqual([(d["reason_code"], d["message"]) for d in letter],
                         [("bad_amount", want)])
        self.assertIn(want, st.ctl("dlq", "list").stdout)
        # A currency without decimals, and an amount out of range.
        self.assert_ack(order("A-O2", "SO-A2", "C-A1", amount=500, tax=500, currency="JPY"),
                        REJECTED, "bad_amount", "tax 500 must be less than the amount 500")
        self.assert_ack(order("A-O3", "SO-A3", "C-A1", amount=0, tax=0), REJECTED, "bad_amount",
                        "amount 0.00 must be greater than 0")
        # A credit note names no currency: its decimals are not known at ingest.
        self.assert_ack(credit_note("A-N0", "SO-A1", 0), REJECTED, "bad_amount",
                        "amount must be greater than 0 (it is 0 minor units)")

        # The discount worker's reasons for what it does not record, too.
        self.assert_ack(order("A-O4", "SO-A4", "C-A1"), ACCEPTED)
        self.order_shown("SO-A4")
        self.assert_ack(credit_note("A-N1", "SO-A4", 200000), ACCEPTED)

        def unapplied():
            lst = st.ctl_json("dlq", "list", "--unapplied")["unapplied"]
            return [u for u in lst if u["event_id"] == "A-N1"]
        got = wait_for(unapplied, timeout=20, what="the credit note kept as not recorded")
        self.assertEqual(got[0]["reason"],
                         "event A-N1: credit note of 2000.00 CNY on order SO-A4 is above its "
                         "open balance 1130.00 CNY: not recorded")
        self.assertIn("2000.00 CNY", st.ctl("dlq", "list", "--unapplied").stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
