"""Issue 8: a customer's opt-out from reminders and statements, at the edge.

`skontoctl customer optout|optin ID` sends ingest a customer event that
carries only the id and `reminders` (under the caller's CURVE key, a fresh
event id each call); ingest stores `optout` = "1" / "0" in the profile and
changes nothing else. A customer event with only `statement` does the same
for the cadence. Real redis-server and skonto-ingest with CURVE; what is
asserted is what an operator sees (skontoctl's output and exit status,
`customer show`) and the profile field the reminder workers read
(docs/REMINDERS.md: `optout` of sk:{sN}:cust:<cid>).
"""
import json
import os
import unittest

import zmq

import harness
import skingest
from skredis import shard

pb = None
ACCEPTED, DUPLICATE, REJECTED = 1, 2, 3

CUSTOMER = ('{"type":"customer","event_id":"%s","customer_id":"%s","name":"Acme GmbH",'
            '"email":"ap@acme.example","timezone":"Europe/Berlin","locale":"de-DE",'
            '"statement":"daily","terms":"2/10,n/30"}\n')
PROFILE = {"name": "Acme GmbH", "email": "ap@acme.example", "timezone": "Europe/Berlin",
           "locale": "de-DE", "terms": "2/10,n/30"}


def setUpModule():
    global pb
    pb = skingest.load()


class OptOutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = harness.Stack().__enter__()
        st = cls.st
        cls.server_key, cls.server_pub, _ = st.keygen("server")
        cls.op_key, _, op_line = st.keygen("op", "ops.anna", "operator")
        cls.aud_key, _, aud_line = st.keygen("aud", "audit.bo", "auditor")
        registry = os.path.join(st.dir, "authorized_keys")
        with open(registry, "w") as f:
            f.write("%s\n%s\n" % (op_line, aud_line))
        cls.ingest = st.start_ingest(env={"SKONTO_INGEST_SECRET_KEY_FILE": cls.server_key,
                                          "SKONTO_AUTHORIZED_KEYS": registry})
        st.start_discount()
        # the operator's key as skontoctl takes it from the environment
        st.env.update({"SKONTO_INGEST_SERVER_KEY": cls.server_pub,
                       "SKONTO_CURVE_KEY_FILE": cls.op_key})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def setUp(self):
        self.assertIsNone(self.ingest.poll(), "ingest died:\n" + self.st.log("ingest"))

    def send(self, lines):
        r = self.st.ctl("send", "-", "--json", "--timeout-ms", "2000", input=lines, check=False)
        return r, json.loads(r.stdout.splitlines()[-1])

    def new_customer(self, eid, cid):
        r, out = self.send(CUSTOMER % (eid, cid))
        self.assertEqual(out["accepted"], 1, r)

    def show(self, cid):
        return self.st.ctl_json("customer", "show", cid)

    def stored_optout(self, cid):
        return self.st.redis_cli("HGET", "sk:{s%d}:cust:%s" % (shard(cid), cid), "optout")

    def assert_profile_kept(self, cid, statement="daily"):
        got = self.show(cid)
        for k, v in PROFILE.items():
            self.assertEqual(got[k], v, k)
        self.assertEqual(got["statement"], statement)

    def test_optout_then_optin(self):
        st = self.st
        self.new_customer("OPT-1", "C-OPT1")
        self.assertEqual(self.show("C-OPT1")["reminders"], "on")
        self.assertEqual(self.stored_optout("C-OPT1"), "")  # never set: on

        r = st.ctl("customer", "optout", "C-OPT1")
        self.assertRegex(r.stdout, r"^customer C-OPT1: opted out: no more reminders or statements "
                                   r"\(event ctl-optout-\d+-[0-9a-f]{16} accepted by ingest\)\n$")
        self.assertEqual(self.show("C-OPT1")["reminders"], "off")
        self.assertEqual(self.stored_optout("C-OPT1"), "1")
        self.assert_profile_kept("C-OPT1")
        text = st.ctl("customer", "show", "C-OPT1").stdout
        self.assertIn("zone Europe/Berlin   locale de-DE   reminders off (opted out", text)
        self.assertIn("statement daily", text)

        # again: a new event (a fresh id), accepted, and nothing else moves
        a = st.ctl_json("customer", "optout", "C-OPT1")
        b = st.ctl_json("customer", "optin", "C-OPT1")
        self.assertEqual((a["status"], b["status"]), ("accepted", "accepted"))
        self.assertNotEqual(a["event_id"], b["event_id"])
        self.assertEqual((a["customer_id"], a["reminders"], b["reminders"]),
                         ("C-OPT1", "off", "on"))
        self.assertEqual(self.show("C-OPT1")["reminders"], "on")
        self.assertEqual(self.stored_optout("C-OPT1"), "0")
        self.assert_profile_kept("C-OPT1")
        self.assertIn("reminders on\n", st.ctl("customer", "show", "C-OPT1").stdout)

    def test_statement_none_alone_keeps_the_profile(self):
        self.new_customer("ST-1", "C-ST1")
        self.st.ctl("customer", "optout", "C-ST1")
        r, out = self.send('{"type":"customer","event_id":"ST-2","customer_id":"C-ST1",'
                           '"statement":"none"}\n')
        self.assertEqual(out["accepted"], 1, r)
        self.assert_profile_kept("C-ST1", statement="none")
        self.assertEqual(self.show("C-ST1")["reminders"], "off")  # opt-out kept too
        # the JSON form of reminders alone, as an ERP would send it
        r, out = self.send('{"type":"customer","event_id":"ST-3","customer_id":"C-ST1",'
                           '"reminders":"on"}\n')
        self.assertEqual(out["accepted"], 1, r)
        self.assertEqual(self.show("C-ST1")["reminders"], "on")
        self.assert_profile_kept("C-ST1", statement="none")
        # a value that is not on/off never leaves skontoctl
        r, out = self.send('{"type":"customer","event_id":"ST-4","customer_id":"C-ST1",'
                           '"reminders":"maybe"}\n')
        self.assertEqual(r.returncode, 1)
        self.assertEqual(out["rejections"][0]["reason_code"], "bad_field")
        self.assertIn('reminders "maybe" must be on or off', out["rejections"][0]["message"])

    def test_opted_out_customer_still_gets_schedules(self):
        self.new_customer("SC-1", "C-SC1")
        self.st.ctl("customer", "optout", "C-SC1")
        r, out = self.send('{"type":"order_shipped","event_id":"SC-2","order_id":"SO-SC1",'
                           '"customer_id":"C-SC1","currency":"EUR","amount":"1000.00",'
                           '"ship_date":"2026-11-02"}\n')
        self.assertEqual(out["accepted"], 1, r)
        harness.wait_for(lambda: self.st.ctl("order", "show", "SO-SC1", check=False)
                         .returncode == 0, timeout=15, what="the order's schedule")
        self.assertIn("980.00", self.st.ctl("order", "show", "SO-SC1").stdout)  # 2/10 of 1000
        self.assertEqual(self.show("C-SC1")["reminders"], "off")

    def test_bare_event_for_a_new_customer_is_accepted_as_before(self):
        """Ingest's rule is unchanged: a customer event with only an id (and
        now `reminders`) is accepted for any customer and writes what it
        carries; only skontoctl's optout refuses an unknown id."""
        r, out = self.send('{"type":"customer","event_id":"NB-1","customer_id":"C-NB1",'
                           '"reminders":"off"}\n')
        self.assertEqual(out["accepted"], 1, r)
        got = self.show("C-NB1")
        self.assertEqual((got["name"], got["terms"], got["statement"], got["reminders"]),
                         ("", "", "weekly", "off"))

    def test_unknown_reminders_value_is_rejected(self):
        self.new_customer("UN-1", "C-UN1")
        env = pb.Envelope(event_id="UN-2", source="erp-test", sequence=1)
        env.customer.customer_id = "C-UN1"
        env.customer.reminders = 7  # an open proto3 enum carries any number
        ack = self.curve_send(env)
        self.assertEqual((ack.status, ack.reason_code), (REJECTED, "bad_field"), ack.message)
        self.assertEqual(ack.message, "reminders 7 is not on (1) or off (2)")
        self.assertEqual(self.show("C-UN1")["reminders"], "on")
        letters = [json.loads(x) for x in
                   self.st.redis_cli("LRANGE", "sk:{sys}:dlq", 0, -1).splitlines()]
        self.assertIn(("UN-2", "bad_field", "ops.anna"),
                      [(d["event_id"], d["reason_code"], d["user"]) for d in letters])

    def curve_send(self, env):
        """One envelope over CURVE under the operator's key; its Ack."""
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        secret = _read_key(self.op_key)
        s.curve_secretkey = secret
        s.curve_publickey = zmq.curve_public(secret)
        s.curve_serverkey = _read_key(self.server_pub)
        s.connect(self.st.ingest_endpoint)
        try:
            s.send(env.SerializeToString())
            self.assertTrue(s.poll(10000), "no Ack; log:\n" + self.st.log("ingest"))
            ack = pb.Ack()
            ack.ParseFromString(s.recv_multipart()[-1])
            return ack
        finally:
            s.close()

    def test_unknown_customer_is_not_sent(self):
        r = self.st.ctl("customer", "optout", "C-NOBODY", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "skontoctl customer: customer C-NOBODY is unknown: nothing was "
                                   "sent (send the customer first)\n")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.st.ctl("customer", "show", "C-NOBODY", check=False).returncode, 1)

    def test_refused_key_is_a_clear_error(self):
        self.new_customer("RF-1", "C-RF1")
        r = self.st.ctl("customer", "optout", "C-RF1", "--key", self.aud_key, "--retries", "0",
                        "--timeout-ms", "500", check=False)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("skontoctl customer: ingest at %s refused this sender" %
                      self.st.ingest_endpoint, r.stderr)
        self.assertEqual(self.show("C-RF1")["reminders"], "on")

    def test_usage(self):
        r = self.st.ctl("customer", "optout", check=False)
        self.assertEqual((r.returncode, r.stderr),
                         (2, "skontoctl customer: which customer? usage: skontoctl customer "
                             "optout CUSTOMER_ID\n"))
        r = self.st.ctl("customer", "optin", "C-1", "extra", check=False)
        self.assertEqual((r.returncode, r.stderr),
                         (2, 'skontoctl customer: unexpected argument "extra"\n'))
        h = self.st.ctl("customer", "optout", "--help").stdout
        self.assertIn("skontoctl customer optout CUSTOMER_ID", h)
        self.assertIn("--json", h)


def _read_key(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return line.encode()
    raise AssertionError("no key in " + path)


if __name__ == "__main__":
    unittest.main()
