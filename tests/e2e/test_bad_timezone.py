"""Issue 8: ingest rejects a customer whose time zone the system's tz database
does not have (reason `bad_timezone`), so that every stored customer's
reminders can be timed in its zone.

Through the real sockets: a real redis-server and skonto-ingest, envelopes
over a DEALER socket; assertions on what an ERP and an operator see (the
Ack, `skontoctl dlq list`, `skontoctl customer show`), never on Redis keys.
An empty zone stays allowed: the customer then uses SKONTO_DEFAULT_TZ.
"""
import unittest

import skingest

pb = None

ACCEPTED, DUPLICATE, REJECTED = 1, 2, 3
TERMS = "2/0,1/10,0.5/30,n/60"


def setUpModule():
    global pb
    pb = skingest.load()


def customer(eid, cid, tz):
    env = pb.Envelope(event_id=eid, source="erp-issue8", sequence=1)
    c = env.customer
    c.customer_id, c.name, c.email = cid, "Acme", "ap@example.com"
    c.timezone, c.locale, c.statement = tz, "en-US", pb.STATEMENT_WEEKLY
    c.terms = TERMS
    return env


def order_with_customer(eid, oid, cid, tz):
    env = pb.Envelope(event_id=eid, source="erp-issue8", sequence=2)
    inv = env.order_shipped
    inv.order_id, inv.customer_id, inv.salesperson = oid, cid, "S-1"
    inv.currency, inv.amount, inv.tax = "USD", 113000, 13000
    inv.ship_date, inv.terms = "2026-11-02", TERMS
    c = inv.customer
    c.name, c.email, c.timezone, c.locale = "Inline Inc", "ap@example.com", tz, "en-US"
    return env


def message(tz):
    return ('timezone "%s" is not a zone of the system\'s tz database (an IANA id such as '
            'Europe/Berlin)' % tz)


class BadTimezoneTest(skingest.IngestCase):
    def assert_ack(self, env, status, reason="", msg=None):
        """IngestCase.expect (status and reason code), and the message."""
        ack = self.expect(env, status, reason)
        if msg is not None:
            self.assertEqual(ack.message, msg)
        return ack

    def test_unknown_zone_rejected(self):
        st = self.st
        # a typo, a zone that never existed, an offset and a POSIX rule that
        # GLib alone would take, tzdata's leap-second copy, a path
        for i, tz in enumerate(["Asia/Shangai", "Mars/Olympus", "+08:00", "EST+5", "right/UTC",
                                "../../../etc/passwd"]):
            self.assert_ack(customer("T-B%d" % i, "C-B%d" % i, tz), REJECTED, "bad_timezone",
                            message(tz))
            r = st.ctl("customer", "show", "C-B%d" % i, check=False)
            self.assertEqual(r.returncode, 1, r)
        # an order's inline customer too, and then no order exists
        self.assert_ack(order_with_customer("T-O1", "SO-T1", "C-T1", "Europe/Berlim"), REJECTED,
                        "bad_timezone", "inline customer: " + message("Europe/Berlim"))
        r = st.ctl("order", "show", "SO-T1", check=False)
        self.assertEqual(r.returncode, 1, r)
        letters = [(d["event_id"], d["reason_code"], d["message"])
                   for d in st.ctl_json("dlq", "list", "--limit", "1000")["dead_letters"]]
        self.assertIn(("T-B0", "bad_timezone", message("Asia/Shangai")), letters)
        self.assertIn("T-O1", [e for e, code, _ in letters if code == "bad_timezone"])
        # the same event id, corrected, is accepted (a rejection is not remembered)
        self.assert_ack(customer("T-B0", "C-B0", "Asia/Shanghai"), ACCEPTED)
        self.assertEqual(st.ctl_json("customer", "show", "C-B0")["timezone"],
                         "Asia/Shanghai")

    def test_known_and_empty_zones_accepted(self):
        st = self.st
        for i, tz in enumerate(["America/New_York", "America/Mexico_City",
                                "America/Ciudad_Juarez", "UTC", "Etc/GMT-14", ""]):
            self.assert_ack(customer("T-G%d" % i, "C-G%d" % i, tz), ACCEPTED)
            self.assertEqual(st.ctl_json("customer", "show", "C-G%d" % i)["timezone"],
                             tz)
        self.assert_ack(order_with_customer("T-O2", "SO-T2", "C-T2", "America/Chicago"),
                        ACCEPTED)


if __name__ == "__main__":
    unittest.main()
