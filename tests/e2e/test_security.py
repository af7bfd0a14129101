"""Authentication: CURVE + ZAP on ingest's endpoint, Redis ACL users per worker.

What an operator relies on (docs/SECURITY.md):
  - with CURVE on, only a key registered as erp or operator gets its events
    acknowledged; an unregistered key, an auditor's key and a plain client
    get nothing at all, and nothing they sent is stored;
  - the dead letter of a rejected event names the authenticated user;
  - skontoctl send reads a server key that names a file as that file, even a
    path of 40 characters that is also valid Z85 text, takes 40 Z85
    characters as the key itself, and refuses anything else naming the option
    or variable; with a wrong server key it says so within seconds and exits 1;
  - ingest refuses to start half-configured, or unauthenticated on a
    non-loopback endpoint;
  - under deploy/local.sh each worker's Redis user writes only its own keys:
    discount cannot touch a customer, ingest cannot touch an invoice (not even
    through a Lua script), skontoctl's credentials cannot change anything.
"""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import zmq

import harness

SRC = os.path.abspath(os.environ.get("SK_SOURCE_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("SK_BUILD_DIR") or os.path.join(SRC, "build"))

CUSTOMER = ('{"type":"customer","event_id":"%s","customer_id":"%s","name":"Acme",'
            '"terms":"2/10,n/30"}\n')
ORDER = ('{"type":"order_shipped","event_id":"%s","order_id":"%s","customer_id":"%s",'
         '"currency":"CNY","amount":"1000.00","ship_date":"2026-11-02"}\n')


def read_key(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")][0].encode()


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85_decodes(s):
    """True if s is text zmq_z85_decode accepts as a 32-byte CURVE key."""
    if len(s) != 40 or any(c not in Z85 for c in s):
        return False
    for i in range(0, 40, 5):
        v = 0
        for c in s[i:i + 5]:
            v = v * 85 + Z85.index(c)
        if v >= 1 << 32:
            return False
    return True


def path_of_length(n, name, tmp="/tmp"):
    """A new directory under tmp such that DIR/name is exactly n characters of
    the Z85 alphabet; returns (dir, path)."""
    import random
    width = n - len(tmp) - 2 - len(name)
    assert width >= 4, (tmp, name)
    for _ in range(100):
        d = os.path.join(tmp, "".join(random.choice("abcdefghijkmnpqrstuvwxyz23456789")
                                      for _ in range(width)))
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        return d, os.path.join(d, name)
    raise AssertionError("no free directory name under " + tmp)


class CurveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = harness.Stack().__enter__()
        st = cls.st
        cls.server_key, cls.server_pub, _ = st.keygen("server")
        cls.erp_key, cls.erp_pub, erp_line = st.keygen("erp", "erp-1", "erp")
        cls.op_key, _, op_line = st.keygen("op", "ops.anna", "operator")
        cls.aud_key, cls.aud_pub, aud_line = st.keygen("aud", "audit.bo", "auditor")
        cls.rogue_key, cls.rogue_pub, _ = st.keygen("rogue")
        cls.registry = os.path.join(st.dir, "authorized_keys")
        with open(cls.registry, "w") as f:
            f.write("# test registry\n\n%s\n%s\n%s   # the auditor\n" % (erp_line, op_line, aud_line))
        cls.curve_env = {"SKONTO_INGEST_SECRET_KEY_FILE": cls.server_key,
                         "SKONTO_AUTHORIZED_KEYS": cls.registry}
        st.start_ingest(env=cls.curve_env)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def send(self, events, key=None, extra=()):
        args = ["send", "-", "--json", "--timeout-ms", "300", "--retries", "1", *extra]
        if key:
            args += ["--server-key", self.server_pub, "--key", key]
        return self.st.ctl(*args, input=events, check=False)

    def stored(self, customer_id):
        """True if the customer event for customer_id was stored: skontoctl
        customer show knows the customer."""
        return self.st.ctl("customer", "show", customer_id, check=False).returncode == 0

    def raw_reply(self, secret_path=None, public_path=None, timeout_ms=1500):
        """A Python DEALER sends junk bytes; ingest answers any message it
        receives (a bad_envelope rejection), so a reply means 'connected'."""
        ctx = zmq.Context()
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        try:
            if secret_path:
                s.curve_secretkey = read_key(secret_path)
                s.curve_publickey = zmq.curve_public(read_key(secret_path))
                s.curve_serverkey = read_key(self.server_pub)
            s.connect(self.st.ingest_endpoint)
            try:
                s.send(b"\xff\xfenot an envelope", zmq.NOBLOCK)
            except zmq.Again:
                return None
            if s.poll(timeout_ms):
                return s.recv()
            return None
        finally:
            s.close()
            ctx.term()

    def test_registered_erp_key_gets_accepted(self):
        r = self.send(CUSTOMER % ("SEC-1", "C-SEC1"), key=self.erp_key)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["accepted"], 1)
        self.assertTrue(self.stored("C-SEC1"))
        # An operator may send too.
        r = self.send(CUSTOMER % ("SEC-1b", "C-SEC1"), key=self.op_key)
        self.assertEqual(json.loads(r.stdout)["accepted"], 1, r.stderr)
        # The raw positive control for the tests below: a registered key gets an answer.
        self.assertIsNotNone(self.raw_reply(self.erp_key))

    def test_unregistered_key_gets_nothing(self):
        self.assertIsNone(self.raw_reply(self.rogue_key))
        r = self.send(CUSTOMER % ("SEC-2", "C-SEC2"), key=self.rogue_key)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused this sender", r.stderr)
        time.sleep(0.3)
        self.assertFalse(self.stored("C-SEC2"))
        self.assertRegex(self.st.log("ingest"), r"refused \S+ from 127\.0\.0\.1: unregistered key")

    def test_auditor_key_cannot_send(self):
        self.assertIsNone(self.raw_reply(self.aud_key))
        r = self.send(CUSTOMER % ("SEC-3", "C-SEC3"), key=self.aud_key)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused this sender", r.stderr)
        time.sleep(0.3)
        self.assertFalse(self.stored("C-SEC3"))
        self.assertIn("(user audit.bo, role auditor): role may not connect here",
                      self.st.log("ingest"))

    def test_plain_client_gets_nothing(self):
        self.assertIsNone(self.raw_reply())
        r = self.send(CUSTOMER % ("SEC-4", "C-SEC4"))
        self.assertEqual(r.returncode, 1)
        # skontoctl sees the refused handshake (or, on a slow machine, the
        # event times out first, and it says CURVE may be why); either way
        # the event is listed and counted.
        out = json.loads(r.stdout.splitlines()[-1])
        self.assertEqual((out["accepted"], out["unacknowledged"]), (0, 1), r.stdout)
        self.assertEqual(out["unacknowledged_events"][0]["event_id"], "SEC-4")
        if out["stopped"]:
            self.assertIn("ingest requires CURVE", r.stderr)
        self.assertFalse(self.stored("C-SEC4"))

    def test_wrong_server_key_fails_within_seconds(self):
        t = time.time()
        r = self.st.ctl("send", "-", "--server-key", self.rogue_pub, "--key", self.erp_key,
                        input=CUSTOMER % ("SEC-5", "C-SEC5"), check=False)
        took = time.time() - t
        self.assertEqual(r.returncode, 1)
        self.assertLess(took, 10, "send kept waiting for a handshake that cannot happen")
        err = r.stderr.splitlines()
        self.assertIn("skontoctl send: no CURVE handshake with %s within 5 s (wrong server key, "
                      "or ingest not running?)" % self.st.ingest_endpoint, err)
        self.assertIn("skontoctl send: line 1 (event SEC-5): unacknowledged, after 1 try", err)
        self.assertFalse(self.stored("C-SEC5"))

    def test_wrong_server_key_with_short_retries_still_says_why(self):
        # Every event gives up (2 x 300 ms) before the handshake timeout: the
        # reason is the same, with the time it actually waited.
        r = self.st.ctl("send", "-", "--server-key", self.rogue_pub, "--key", self.erp_key,
                        "--timeout-ms", "300", "--retries", "1",
                        input=CUSTOMER % ("SEC-5b", "C-SEC5"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"no CURVE handshake with %s within [0-9.]+ s \(wrong server "
                         r"key" % self.st.ingest_endpoint)

    def test_server_key_file_at_a_40_character_path(self):
        d, path = path_of_length(40, "ingest.pub")
        self.addCleanup(shutil.rmtree, d, True)
        shutil.copy(self.server_pub, path)
        self.assertTrue(z85_decodes(path), path)  # the path itself reads as a key
        # Through the variable, as deploy/local.sh's env sets it ...
        e = {"SKONTO_INGEST_SERVER_KEY": path, "SKONTO_CURVE_KEY_FILE": self.erp_key}
        r = subprocess.run([os.path.join(self.st.bin, "skontoctl"), "send", "-", "--json"],
                           env={**self.st.env, **e}, input=CUSTOMER % ("SEC-7", "C-SEC7"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["accepted"], 1)
        # ... and through the option.
        r = self.st.ctl("send", "-", "--json", "--server-key", path, "--key", self.erp_key,
                        input=CUSTOMER % ("SEC-7b", "C-SEC7B"), check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(self.stored("C-SEC7") and self.stored("C-SEC7B"))

    def test_server_key_as_z85_text(self):
        r = self.st.ctl("send", "-", "--json", "--server-key", read_key(self.server_pub).decode(),
                        "--key", self.erp_key, input=CUSTOMER % ("SEC-8", "C-SEC8"), check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["accepted"], 1)

    def test_server_key_neither_file_nor_key_is_refused(self):
        for value, why in (("/no/such/ingest-server.pub", "it is 26 characters long"),
                           ("#" * 40, "it does not decode as Z85")):
            r = self.st.ctl("send", "-", "--server-key", value, "--key", self.erp_key,
                            input=CUSTOMER % ("SEC-9", "C-SEC9"), check=False)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr.splitlines(), [
                'skontoctl send: --server-key "%s": want a key file or a 40-character Z85 key: '
                'no file has that name, and %s' % (value, why)])
        e = {"SKONTO_INGEST_SERVER_KEY": "nonsense", "SKONTO_CURVE_KEY_FILE": self.erp_key}
        r = subprocess.run([os.path.join(self.st.bin, "skontoctl"), "send", "-"],
                           env={**self.st.env, **e}, input=CUSTOMER % ("SEC-9", "C-SEC9"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn('skontoctl send: SKONTO_INGEST_SERVER_KEY "nonsense": want a key file or '
                      'a 40-character Z85 key', r.stderr)
        self.assertFalse(self.stored("C-SEC9"))

    def test_dead_letter_names_the_user(self):
        r = self.send(ORDER % ("SEC-6", "SO-SEC6", "C-NOBODY"), key=self.erp_key)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["rejections"][0]["reason_code"], "unknown_customer")
        letters = [json.loads(x) for x in
                   self.st.redis_cli("LRANGE", "sk:{sys}:dlq", 0, -1).splitlines()]
        mine = [d for d in letters if d["event_id"] == "SEC-6"]
        self.assertEqual(len(mine), 1, letters)
        self.assertEqual(mine[0]["user"], "erp-1")
        self.assertIn("rejected event SEC-6 (order_shipped from skontoctl via ROUTER as erp-1)",
                      self.st.log("ingest"))


class ConnectionCapTest(unittest.TestCase):
    """What peers can make ingest queue is bounded: per connection by the
    receive high-water mark and the frame limit, in total by the number of
    connections past their handshake, which SKONTO_INGEST_MAX_CONNECTIONS
    caps (CURVE's ZAP handler refuses the handshake of one more); idle TCP
    connections take no place, so they cannot lock the ERPs out."""

    def test_connections_beyond_the_cap_are_refused_until_one_closes(self):
        st = harness.Stack().__enter__()
        self.addCleanup(st.close)
        server_key, server_pub, _ = st.keygen("server")
        erp_key, _, erp_line = st.keygen("erp", "erp-1", "erp")
        registry = os.path.join(st.dir, "authorized_keys")
        with open(registry, "w") as f:
            f.write(erp_line + "\n")
        st.start_ingest(env={"SKONTO_INGEST_SECRET_KEY_FILE": server_key,
                             "SKONTO_AUTHORIZED_KEYS": registry,
                             "SKONTO_INGEST_MAX_CONNECTIONS": "2"})
        ctx = zmq.Context()
        self.addCleanup(ctx.term)

        def client():
            s = ctx.socket(zmq.DEALER)
            s.linger = 0
            s.curve_secretkey = read_key(erp_key)
            s.curve_publickey = zmq.curve_public(read_key(erp_key))
            s.curve_serverkey = read_key(server_pub)
            s.connect(st.ingest_endpoint)
            return s

        def answers(s):
            s.send(b"\xff\xfenot an envelope")  # any message gets a rejection back
            return s.poll(1500) and s.recv() is not None

        # Idle TCP connections that never handshake take no place.
        import socket
        port = int(st.ingest_endpoint.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        self.addCleanup(lambda: [i.close() for i in idle])
        a, b = client(), client()
        self.assertTrue(answers(a))
        self.assertTrue(answers(b))
        c = client()
        self.assertFalse(answers(c), "a third connection was admitted")
        self.assertIn("too many connections open", st.log("ingest"))
        # A refused client is held (ZAP 300) until the handshake interval
        # ends; closing it and one admitted client frees a place once ingest
        # has seen both connections close.
        closed = lambda: st.log("ingest").count("a client connection to ")
        before = closed()
        c.close()
        a.close()
        harness.wait_for(lambda: closed() >= before + 2, timeout=10,
                         what="ingest to see two connections close")
        d = client()
        self.assertTrue(harness.wait_for(lambda: answers(d), timeout=10,
                                         what="a connection after one closed"))
        for s in (b, d):
            s.close()


class IngestStartTest(unittest.TestCase):
    """ingest's refusals at start, each a clear line and exit status 2."""

    def setUp(self):
        self.st = harness.Stack().__enter__()
        self.addCleanup(self.st.close)

    def run_ingest(self, env):
        e = dict(self.st.env)
        e.update(env)
        r = subprocess.run([os.path.join(self.st.bin, "skonto-ingest")], env=e,
                           capture_output=True, text=True, timeout=20)
        r.stderr = harness.log_text(r.stderr)  # the messages of its JSON log lines
        return r

    def test_half_configured_curve_is_refused(self):
        key, _, _ = self.st.keygen("server")
        r = self.run_ingest({"SKONTO_INGEST_SECRET_KEY_FILE": key})
        self.assertEqual(r.returncode, 2)
        self.assertIn("only SKONTO_INGEST_SECRET_KEY_FILE is set: refusing to start", r.stderr)

    def test_bad_registry_line_is_refused(self):
        key, _, _ = self.st.keygen("server")
        reg = os.path.join(self.st.dir, "reg")
        _, _, line = self.st.keygen("x", "bob", "erp")
        with open(reg, "w") as f:
            f.write("# ok\n%s\n%s sales_manager\n" % (line, line.rsplit(" ", 1)[0]))
        r = self.run_ingest({"SKONTO_INGEST_SECRET_KEY_FILE": key, "SKONTO_AUTHORIZED_KEYS": reg})
        self.assertEqual(r.returncode, 2)
        self.assertIn("reg:3:", r.stderr)
        self.assertIn('role "sales_manager"', r.stderr)

    def test_public_endpoint_without_curve_is_refused(self):
        r = self.run_ingest({"SKONTO_INGEST_ENDPOINT": "tcp://0.0.0.0:%d" % harness.free_port()})
        self.assertEqual(r.returncode, 2)
        self.assertIn("is reachable from other machines", r.stderr)

    def test_loopback_without_curve_warns(self):
        self.st.start_ingest()
        harness.wait_for(lambda: "unauthenticated" in self.st.log("ingest"), what="the warning")
        self.assertEqual(self.st.log("ingest").count("WARNING"), 1)


class RedisAclTest(unittest.TestCase):
    """deploy/local.sh's Redis users: each can write only its own keys."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="skonto-acl-")
        cls.run_dir = os.path.join(cls.dir, "run")
        cls.env = dict(os.environ)
        for k in list(cls.env):
            if k.startswith("SKONTO_"):
                del cls.env[k]
        cls.env.update({"SKONTO_BIN": os.path.join(BUILD, "bin"),
                        "SKONTO_INGEST_PORT": str(harness.free_port()),
                        "SKONTO_AUDIT_PORT": str(harness.free_port()), "SKONTO_AUDIT_FEED_PORT": str(harness.free_port()),
                        "SKONTO_DISCOUNT_WORKERS": "1",
                        "SKONTO_CLOCK": "redis"})  # so the clock's user is in the matrix
        try:
            cls._up()
        except BaseException:
            cls.sh("down")  # a failed set-up must not leave a stack running
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise

    @classmethod
    def _up(cls):
        r = cls.sh("up")
        if r.returncode != 0:
            raise AssertionError("local.sh up failed:\n" + r.stderr)
        cls.stack_env = {}
        for line in r.stdout.splitlines():
            if line.startswith("export "):
                k, _, v = line[len("export "):].partition("=")
                cls.stack_env[k] = v
        cls.sock = os.path.join(os.path.realpath(cls.run_dir), "redis.sock")
        cls.secrets = os.path.join(os.path.realpath(cls.run_dir), "secrets")
        # A real order through the stack: a computed invoice to attack.
        events = CUSTOMER % ("A1", "C-ACL") + ORDER % ("A2", "SO-ACL", "C-ACL")
        s = cls.ctl("send", "-", input=events)
        assert s.returncode == 0, s.stdout + s.stderr
        harness.wait_for(lambda: cls.ctl("order", "show", "SO-ACL").returncode == 0,
                         timeout=15, what="the order's schedule")
        cls.inv_key = [k for k in cls.redis("default", "KEYS", "sk:*:inv:SO-ACL").split()][0]
        cls.cust_key = [k for k in cls.redis("default", "KEYS", "sk:*:cust:C-ACL").split()][0]

    @classmethod
    def tearDownClass(cls):
        cls.sh("down")
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def sh(cls, verb):
        return subprocess.run(["bash", os.path.join(SRC, "deploy", "local.sh"), verb,
                               cls.run_dir], env=cls.env, capture_output=True, text=True,
                              timeout=120)

    @classmethod
    def ctl(cls, *args, input=None):
        e = dict(cls.env)
        e.update(cls.stack_env)
        return subprocess.run([os.path.join(BUILD, "bin", "skontoctl"), *args], env=e,
                              input=input, capture_output=True, text=True, timeout=60)

    @classmethod
    def redis(cls, user, *args):
        """redis-cli as a local.sh user (None: no credentials); stdout + stderr."""
        e = dict(os.environ)
        cmd = ["redis-cli", "--no-auth-warning", "-s", cls.sock]
        if user:
            with open(os.path.join(cls.secrets, "redis-%s.pass" % user)) as f:
                e["REDISCLI_AUTH"] = f.read().strip()
            if user != "default":
                cmd += ["--user", user]
        r = subprocess.run(cmd + [str(a) for a in args], env=e, capture_output=True, text=True,
                           timeout=10)
        return (r.stdout + r.stderr).strip()

    def test_discount_cannot_write_a_customer(self):
        self.assertIn("NOPERM", self.redis("discount", "HSET", self.cust_key, "terms", "9/99,n/100"))
        self.assertIn("NOPERM", self.redis("discount", "DEL", self.cust_key))
        self.assertEqual(self.redis("default", "HGET", self.cust_key, "terms"), "2/10,n/30")
        # ... while it may read the customer's terms (what its code does).
        self.assertEqual(self.redis("discount", "HGET", self.cust_key, "terms"), "2/10,n/30")

    def test_ingest_cannot_write_an_invoice(self):
        # the stored value is binary (a packed InvoiceState): compare its digest
        digest = ("EVAL", "return redis.sha1hex(redis.call('GET', KEYS[1]))", 1, self.inv_key)
        before = self.redis("default", *digest)
        self.assertRegex(before, r"^[0-9a-f]{40}")
        self.assertIn("NOPERM", self.redis("ingest", "HSET", self.inv_key, "st", "closed"))
        self.assertIn("NOPERM", self.redis("ingest", "SET", self.inv_key, "1.1|"))
        # Not through a script either: Lua runs with the caller's permissions.
        sha = self.redis("ingest", "SCRIPT", "LOAD",
                         "return redis.call('HSET', KEYS[1], 'st', 'closed')")
        self.assertRegex(sha, r"^[0-9a-f]{40}$")
        self.assertIn("NOPERM", self.redis("ingest", "EVALSHA", sha, 1, self.inv_key))
        self.assertIn("NOPERM", self.redis("ingest", "EVAL", "return 1", 0))
        self.assertEqual(self.redis("default", *digest), before)

    def test_skontoctl_credentials_cannot_alter_a_computed_result(self):
        shown = self.ctl("order", "show", "SO-ACL").stdout
        self.assertIn("980.00", shown)
        for cmd in (("HSET", self.inv_key, "st", "closed"), ("DEL", self.inv_key),
                    ("SET", self.inv_key, "1.1|"),
                    ("HINCRBY", self.inv_key, "rev", "1"), ("FLUSHALL",),
                    ("EVAL", "return redis.call('DEL', KEYS[1])", 1, self.inv_key),
                    ("ACL", "SETUSER", "skontoctl", "+@all")):
            self.assertIn("NOPERM", self.redis("skontoctl", *cmd), cmd)
        self.assertEqual(self.ctl("order", "show", "SO-ACL").stdout, shown)

    def dry(self, user, *cmd):
        """ACL DRYRUN: "OK" if user may run cmd, else Redis's reason."""
        return self.redis("default", "ACL", "DRYRUN", user, *cmd)

    def test_reminder_user_writes_only_its_queue(self):
        """Issue 8 (docs/REMINDERS.md): the reminder worker claims, records
        and advances; it reads invoices and customers and cannot change them."""
        for cmd in (("ZADD", "sk:{s3}:rdue", 1, "k"), ("ZADD", "sk:{s3}:rproc", 1, "k"),
                    ("ZREM", "sk:{s12}:rdue", "k"), ("HSET", "sk:{s3}:rsent", "k", "{}"),
                    ("HINCRBY", "sk:{s3}:rtry", "k", 1), ("ZADD", "sk:{s3}:rlog:C-1", 1, "k"),
                    ("HSET", "sk:{s3}:stmt", "C-1", "k"), ("HSET", "sk:{s3}:undeliv", "C-1", "a"),
                    ("LPUSH", "sk:{sys}:dlq", "{}"), ("HSET", "sk:{sys}:hb", "reminder", "{}"),
                    ("GET", self.inv_key), ("HGETALL", self.cust_key),
                    ("ZRANGE", "sk:{s3}:copen:C-1", 0, -1), ("GET", "sk:{sys}:clock"),
                    ("TIME",), ("EVALSHA", "0" * 40, 1, "sk:{s3}:rdue")):
            self.assertEqual(self.dry("reminder", *cmd), "OK", cmd)
        for cmd in (("SET", self.inv_key, "1.1|"), ("HSET", self.cust_key, "optout", "0"),
                    ("XADD", "sk:{s3}:events", "*", "e", "x"), ("DEL", "sk:{s3}:rdue"),
                    ("ZADD", "sk:{s3}:copen:C-1", 1, "SO-1"), ("SET", "sk:{sys}:clock", 1),
                    ("EVAL", "return 1", 0), ("FLUSHALL",), ("GET", "sk:{s3}:eid:E1"),
                    ("ZADD", "sk:{s3}x:rdue", 1, "k")):
            self.assertIn("no permissions", self.dry("reminder", *cmd), cmd)

    def test_discount_user_plans_reminders_but_never_records_them(self):
        for cmd in (("ZADD", "sk:{s3}:rdue", 1, "k"), ("ZREM", "sk:{s3}:rdue", "k"),
                    ("HSETNX", "sk:{s3}:stmt", "C-1", "k"), ("HDEL", "sk:{s3}:stmt", "C-1"),
                    ("HEXISTS", "sk:{s3}:rsent", "k"), ("ZSCORE", "sk:{s3}:rproc", "k"),
                    ("SET", "sk:{sys}:rbackfill", "1"), ("GET", "sk:{sys}:rbackfill"),
                    ("ZRANGE", "sk:{s3}:copen:C-1", 0, -1),
                    ("XINFO", "GROUPS", "sk:{s3}:events")):
            self.assertEqual(self.dry("discount", *cmd), "OK", cmd)
        for cmd in (("HSET", "sk:{s3}:rsent", "k", "{}"), ("ZADD", "sk:{s3}:rproc", 1, "k"),
                    ("HSET", "sk:{s3}:undeliv", "C-1", "a"), ("HSET", self.cust_key, "optout", "0")):
            self.assertIn("no permissions", self.dry("discount", *cmd), cmd)

    def test_discount_user_consumes_overrides_and_hands_off_only(self):
        """Issue 9 (docs/AUDIT.md section 8): the discount worker reads the
        approved overrides of sk:{audit}:ovq:N with its group and hands what
        it did to sk:{sN}:auditq; it cannot write the queue otherwise, XADD
        anywhere else (not its event streams), or touch the log."""
        q = "sk:{audit}:ovq:3"
        for cmd in (("XREADGROUP", "GROUP", "discount", "d-1", "STREAMS", q, ">"),
                    ("XACK", q, "discount", "1-1"), ("XDEL", q, "1-1"),
                    ("XAUTOCLAIM", q, "discount", "d-1", 100, "0-0"),
                    ("XGROUP", "CREATE", q, "discount", "0", "MKSTREAM"),
                    ("XADD", "sk:{s3}:auditq", "*", "a", "x"),
                    ("HSETNX", "sk:{s12}:ovref", "ov-1", "1"),
                    ("EVALSHA", "0" * 40, 3, "sk:{s3}:events", "sk:{s3}:auditq", "sk:{s3}:ovref")):
            self.assertEqual(self.dry("discount", *cmd), "OK", cmd)
        for cmd in (("XADD", q, "*", "o", "x"), ("SET", q, "x"), ("DEL", q),
                    ("XADD", "sk:{s3}:events", "*", "e", "x"),
                    ("XADD", "sk:{audit}:log", "*", "e", "x"), ("HSET", "sk:{audit}:ovr", "a", "b"),
                    ("XREADGROUP", "GROUP", "discount", "d-1", "STREAMS", "sk:{audit}:log", ">")):
            self.assertIn("no permissions", self.dry("discount", *cmd), cmd)

    def test_reconcile_runs_with_skontoctls_read_only_user(self):
        r = self.ctl("audit", "reconcile")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("every schedule is as it must be", r.stdout)

    # Every key family, a command that writes it, and the only users that
    # may run it (docs/DATAFLOW.md, docs/REMINDERS.md, docs/AUDIT.md).
    WRITES = [
        (("XADD", "sk:{s3}:events", "*", "e", "x"), {"ingest"}),
        (("XACK", "sk:{s3}:events", "discount", "0-1"), {"discount"}),
        (("SET", "sk:{s3}:inv:SO-1", "1.1|"), {"discount"}),
        # the apply script trims what it acknowledged, and takes back a new
        # invoice it stored for an entry that turned out applied already
        (("XTRIM", "sk:{s3}:events", "MINID", "0-1"), {"discount"}),
        (("DEL", "sk:{s3}:inv:SO-1"), {"discount"}),
        (("HSET", "sk:{s3}:cust:C-1", "terms", "9/99,n/100"), {"ingest"}),
        (("ZADD", "sk:{s3}:copen:C-1", 1, "SO-1"), {"discount"}),
        # no longer written (the due queue replaced it): nobody may
        (("ZADD", "sk:{s3}:windows", 1, "SO-1"), set()),
        (("HINCRBY", "sk:{s3}:hist:C-1", "t0", 1), {"discount"}),
        (("HINCRBY", "sk:{s3}:fc:hist", "CNY|20800", 1), {"discount"}),
        (("HINCRBY", "sk:{s3}:takeup", "t0", 1), {"discount"}),
        (("LPUSH", "sk:{s3}:unapplied", "{}"), {"discount"}),
        (("SET", "sk:{s3}:eid:E1", "a"), {"ingest"}),
        (("HSET", "sk:{s3}:settled", "ingest/1/2", "3"), {"ingest"}),
        (("HSET", "sk:{s3}:stored", "E1", "1"), {"ingest"}),
        (("HSET", "sk:{s3}:over", "SO-1", "9:h:1"), {"ingest"}),
        (("HINCRBY", "sk:{s3}:ingest", "accepted", 1), {"ingest"}),
        (("HSET", "sk:{o3}:o2c", "SO-1", "C-1\tCNY"), {"ingest"}),
        (("ZADD", "sk:{s3}:rdue", 1, "k"), {"discount", "reminder"}),
        (("ZADD", "sk:{s3}:rproc", 1, "k"), {"reminder"}),
        (("HSET", "sk:{s3}:rsent", "k", "{}"), {"reminder"}),
        (("HINCRBY", "sk:{s3}:rtry", "k", 1), {"reminder"}),
        (("ZADD", "sk:{s3}:rlog:C-1", 1, "k"), {"reminder"}),
        (("HSET", "sk:{s3}:stmt", "C-1", "k"), {"discount", "reminder"}),
        (("HSET", "sk:{s3}:undeliv", "C-1", "a"), {"reminder"}),
        (("XADD", "sk:{s3}:auditq", "*", "a", "x"), {"discount"}),
        # audit deletes what it logged; discount may too, being its writer
        # (one that hands nothing off needs no XDEL to hide it)
        (("XDEL", "sk:{s3}:auditq", "0-1"), {"audit", "discount"}),
        (("HSET", "sk:{s3}:ovref", "OV-1", "1"), {"discount"}),
        (("HINCRBY", "sk:{s3}:pol", "s|2026-11|CNY", 1), {"discount"}),
        (("HINCRBY", "sk:{s3}:pcust", "2026-11|n|C-1", 1), {"discount"}),
        (("HINCRBY", "sk:{s3}:psp", "2026-11|n|SP-1", 1), {"discount"}),
        (("HDEL", "sk:{s3}:pol", "s|2026-11|CNY"), {"discount"}),
        (("XADD", "sk:{audit}:log", "*", "seq", "0"), {"audit"}),
        (("XTRIM", "sk:{audit}:log", "MAXLEN", 0), set()),
        (("DEL", "sk:{audit}:log"), set()),
        (("XADD", "sk:{audit}:cp", "*", "size", "0"), {"audit"}),
        (("HSET", "sk:{audit}:ovr", "OV-1", "x"), {"audit"}),
        (("XADD", "sk:{audit}:ovq:3", "*", "o", "x"), {"audit"}),
        (("XACK", "sk:{audit}:ovq:3", "discount", "0-1"), {"discount"}),
        (("HSET", "sk:{sys}:hb", "w", "{}"), {"ingest", "discount", "reminder", "audit"}),
        (("LPUSH", "sk:{sys}:dlq", "{}"), {"ingest", "reminder"}),
        (("HSET", "sk:{sys}:seq", "erp", 1), {"ingest"}),
        (("SET", "sk:{sys}:clock", 1), {"clock"}),
        (("SET", "sk:{sys}:layout", "2"), {"discount"}),
        (("SET", "sk:{sys}:rbackfill", "1"), {"discount"}),
        (("SET", "sk:{sys}:pbackfill", "1"), {"discount"}),
        (("SET", "sk:{sys}:other", "1"), set()),
        (("SET", "elsewhere", "1"), set()),
    ]
    USERS = ("ingest", "discount", "reminder", "audit", "auditor", "skontoctl", "clock")

    def test_acl_matrix_every_user_writes_only_its_own_keys(self):
        """ACL DRYRUN of a write to every key family as every user: allowed
        exactly for the family's writers; the people's tools (skontoctl's
        user, an auditor's) write nothing."""
        for cmd, writers in self.WRITES:
            for user in self.USERS:
                got = self.dry(user, *cmd)
                with self.subTest(user=user, cmd=cmd[:2]):
                    if user in writers:
                        self.assertEqual(got, "OK")
                    else:
                        self.assertIn("no permissions", got)

    def test_reads_of_the_people_tools(self):
        """skontoctl's user reads every family; an auditor's only the audit slot."""
        for key in ("sk:{s3}:inv:SO-1", "sk:{audit}:log", "sk:{audit}:ovr", "sk:{audit}:cp"):
            self.assertEqual(self.dry("skontoctl", "TYPE", key), "OK", key)
        for key in ("sk:{audit}:log", "sk:{audit}:cp", "sk:{audit}:ovr"):
            self.assertEqual(self.dry("auditor", "TYPE", key), "OK", key)
        for key in ("sk:{s3}:inv:SO-1", "sk:{s3}:cust:C-1", "sk:{sys}:hb", "sk:{s3}:auditq"):
            self.assertIn("no permissions", self.dry("auditor", "TYPE", key), key)

    def test_no_worker_may_manage_scripts_or_functions(self):
        """Scripts run with their caller's permissions, and only EVALSHA and
        SCRIPT LOAD are granted (the clock's user: EVAL of its one script):
        nobody but the admin can flush scripts or load functions."""
        for user in self.USERS:
            for cmd in (("SCRIPT", "FLUSH"), ("SCRIPT", "KILL"), ("FUNCTION", "FLUSH"),
                        ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', "
                         "function() return 1 end)"), ("FCALL", "f", 0),
                        ("CONFIG", "SET", "appendonly", "no"), ("ACL", "SETUSER", user, "+@all"),
                        ("FLUSHALL",), ("DEBUG", "SLEEP", 0), ("MODULE", "LIST")):
                with self.subTest(user=user, cmd=cmd[:2]):
                    self.assertIn("no permissions", self.dry(user, *cmd))
            if user not in ("auditor", "skontoctl", "clock"):
                self.assertEqual(self.dry(user, "EVALSHA", "0" * 40, 0), "OK", user)

    def test_default_user_needs_the_password(self):
        self.assertIn("NOAUTH", self.redis(None, "GET", "x"))
        self.assertEqual(self.redis("default", "PING"), "PONG")

    def test_secrets_are_private(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.secrets).st_mode), 0o700)
        for name in ("ingest-server.key", "erp-local.key", "redis-ingest.pass",
                     "redis-discount.pass", "redis-reminder.pass", "redis-skontoctl.pass",
                     "redis-default.pass"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.secrets, name)).st_mode),
                             0o600, name)
        conf = os.path.join(os.path.realpath(self.run_dir), "redis", "redis.conf")
        self.assertEqual(stat.S_IMODE(os.stat(conf).st_mode), 0o600)
        with open(os.path.join(self.secrets, "authorized_keys")) as f:
            self.assertRegex(f.read(), r"\n\S{40} erp-local erp\n")
        with open(os.path.join(self.run_dir, "log", "ingest.log")) as f:
            self.assertIn("CURVE on", f.read())


if __name__ == "__main__":
    unittest.main()
