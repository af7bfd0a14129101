"""Every worker's /metrics and /healthz, as Prometheus and an operator see them.

A real redis-server, one ingest and two discount workers, each with
SKONTO_METRICS_ADDR on a free loopback port. Events go in through ingest's
ROUTER (accepted, duplicate, rejected for three reasons); then each worker's
whole /metrics output is parsed with Prometheus's own Python parser
(Debian's python3-prometheus-client), and the counters must have moved by
exactly what was sent: by kind and outcome, by rejection reason, one ack
latency observation per Ack, one apply latency observation per entry. The
endpoints listen on 127.0.0.1 only; /healthz says "ok", and 503 with the
reason once Redis is gone; a bad SKONTO_METRICS_ADDR stops a worker at once
with a message naming the variable.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import skingest
from harness import Stack, free_port, wait_for
from skingest import ACCEPTED, DUPLICATE, REJECTED, Client, customer, order, payment

SRC = os.path.abspath(os.environ.get("SK_SOURCE_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("SK_BUILD_DIR") or os.path.join(SRC, "build"))
# deploy/local.sh starts the reminder worker once it is built
HAVE_REMINDER = os.access(os.path.join(BUILD, "bin", "skonto-reminder"), os.X_OK)
HAVE_AUDIT = os.access(os.path.join(BUILD, "bin", "skonto-audit"), os.X_OK)
TODAY = "2026-11-05"
KINDS = ["customer", "order_shipped", "invoice_issued", "payment_received", "credit_note",
         "order_cancelled", "unknown"]


def setUpModule():
    skingest.load()


def get(addr, path):
    """(status, body) of GET http://addr/path."""
    try:
        with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(addr):
    """The whole /metrics output, parsed: {family name: family}. The parser
    raises on anything that is not valid text exposition format."""
    status, text = get(addr, "/metrics")
    assert status == 200, (status, text)
    fams = {}
    for f in text_string_to_metric_families(text):
        assert f.name not in fams, "family %s written twice" % f.name
        fams[f.name] = f
    return fams


def samples(fams, family, sample=None):
    """{tuple(sorted labels): value} of one sample name of a family."""
    f = fams[family]
    name = sample or (family + "_total" if f.type == "counter" else family)
    return {tuple(sorted(s.labels.items())): s.value for s in f.samples if s.name == name}


def by_kind(outcomes, want):
    """The samples family{kind,outcome} must have: want ({(kind, outcome): n})
    and every other kind and outcome at 0."""
    return {(("kind", k), ("outcome", o)): float(want.get((k, o), 0))
            for k in KINDS for o in outcomes}


INGEST_OUTCOMES = ["accepted", "duplicate", "rejected"]
DISCOUNT_OUTCOMES = ["applied", "duplicate", "error"]


def listeners(port):
    """Local addresses (hex, as in /proc/net/tcp*) listening on port."""
    out = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    addr, p = cols[1].rsplit(":", 1)
                    if cols[3] == "0A" and int(p, 16) == port:  # 0A: LISTEN
                        out.append(addr)
        except FileNotFoundError:
            pass
    return out


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack()
        cls.st.__enter__()
        cls.addr = {}
        for name in ("ingest", "discount-1", "discount-2"):
            cls.addr[name] = "127.0.0.1:%d" % free_port()
        env = {"SKONTO_METRICS_ADDR": cls.addr["ingest"]}
        cls.st.start_ingest(env=env)
        for name in ("discount-1", "discount-2"):
            cls.st.start_discount(name, env={"SKONTO_METRICS_ADDR": cls.addr[name],
                                             "SKONTO_TODAY": TODAY})
        for name, addr in cls.addr.items():
            wait_for(lambda: cls._healthy(addr), timeout=20, what=name + " /healthz ok")
        cls.cli = Client(cls.st.ingest_endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.cli.close()
        cls.st.close()

    @staticmethod
    def _healthy(addr):
        try:
            return get(addr, "/healthz") == (200, "ok\n")
        except OSError:
            return False

    def send(self, env, status, reason=""):
        data = env if isinstance(env, bytes) else env.SerializeToString()
        ack = self.cli.send(data)
        self.assertIsNotNone(ack, "no Ack; log:\n" + self.st.log("ingest"))
        self.assertEqual((ack.status, ack.reason_code), (status, reason), ack.message)

    def discount_totals(self):
        """entries_total and apply latency counts summed over both discount workers."""
        entries, latency = {}, 0.0
        for name in ("discount-1", "discount-2"):
            fams = scrape(self.addr[name])
            for k, v in samples(fams, "skonto_discount_entries").items():
                entries[k] = entries.get(k, 0.0) + v
            latency += samples(fams, "skonto_discount_apply_latency_seconds",
                               "skonto_discount_apply_latency_seconds_count")[()]
        return entries, latency

    def test_counters_move_by_exactly_what_was_sent(self):
        # Before anything: every series is there, at zero.
        fams = scrape(self.addr["ingest"])
        self.assertEqual(samples(fams, "skonto_ingest_events"), by_kind(INGEST_OUTCOMES, {}))
        before_acks = samples(fams, "skonto_ingest_ack_latency_seconds",
                              "skonto_ingest_ack_latency_seconds_count")[()]
        self.assertEqual(before_acks, 0)

        self.send(customer("M-E1", "M-C1"), ACCEPTED)
        self.send(order("M-E2", "M-SO1", "M-C1"), ACCEPTED)
        self.send(order("M-E3", "M-SO2", "M-C1"), ACCEPTED)
        self.send(payment("M-E4", "M-SO1"), ACCEPTED)            # full: closes M-SO1
        self.send(order("M-E2", "M-SO1", "M-C1"), DUPLICATE)     # the same event again
        self.send(order("M-E5", "M-SO3", "M-C1", amount=0), REJECTED, "bad_amount")
        self.send(payment("M-E6", "M-NOPE"), REJECTED, "unknown_order")
        self.send(b"\xff\xfe not protobuf", REJECTED, "bad_envelope")
        # ingest accepts it (the order exists); discount cannot record a
        # payment on a paid invoice: its outcome there is "error"
        self.send(payment("M-E7", "M-SO1", amount=1000, paid_on="2026-11-11"), ACCEPTED)

        # ingest observes an Ack's latency just after sending it, so the
        # client may read the last Ack a moment before it is counted
        lat = "skonto_ingest_ack_latency_seconds"
        wait_for(lambda: samples(scrape(self.addr["ingest"]), lat, lat + "_count")[()] >= 9,
                 timeout=5, what="the last Ack's latency observed")
        fams = scrape(self.addr["ingest"])
        self.assertEqual(samples(fams, "skonto_ingest_events"), by_kind(INGEST_OUTCOMES, {
            ("customer", "accepted"): 1, ("order_shipped", "accepted"): 2,
            ("payment_received", "accepted"): 2, ("order_shipped", "duplicate"): 1,
            ("order_shipped", "rejected"): 1, ("payment_received", "rejected"): 1,
            ("unknown", "rejected"): 1}))
        rej = {k[0][1]: v for k, v in samples(fams, "skonto_ingest_rejections").items()}
        self.assertEqual({k: v for k, v in rej.items() if v},
                         {"bad_amount": 1, "unknown_order": 1, "bad_envelope": 1})
        self.assertIn("stale_version", rej)  # every reason is listed, at 0
        # one latency observation per Ack, buckets cumulative up to +Inf = count
        self.assertEqual(samples(fams, lat, lat + "_count")[()], 9)
        buckets = sorted(((float(dict(k)["le"]), v) for k, v in
                          samples(fams, lat, lat + "_bucket").items()))
        self.assertEqual(buckets[-1], (float("inf"), 9))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertGreater(samples(fams, lat, lat + "_sum")[()], 0)
        self.assertLess(samples(fams, lat, lat + "_sum")[()], 9 * 5.0)
        self.assertEqual(samples(fams, "skonto_ingest_redis_errors")[()], 0)
        self.assertEqual(fams["skonto_ingest_batch_messages"].type, "gauge")

        # discount: the six accepted events, applied once each across the two workers
        expect = by_kind(DISCOUNT_OUTCOMES, {
            ("customer", "applied"): 1, ("order_shipped", "applied"): 2,
            ("payment_received", "applied"): 1, ("payment_received", "error"): 1})
        try:
            wait_for(lambda: self.discount_totals()[0] == expect, timeout=30,
                     what="discount's entries")
        except AssertionError:
            self.assertEqual(self.discount_totals()[0], expect)  # says which differ
        entries, latency = self.discount_totals()
        self.assertEqual(entries, expect)
        self.assertEqual(latency, 5)
        for name in ("discount-1", "discount-2"):
            fams = scrape(self.addr[name])
            self.assertEqual(samples(fams, "skonto_discount_redis_errors")[()], 0)
            self.assertEqual(samples(fams, "skonto_discount_retry_entries")[()], 0)
            self.assertEqual(fams["skonto_discount_batch_entries"].type, "gauge")
        # what skontoctl shows agrees
        self.assertEqual(self.st.ctl_json("status")["ingest"]["rejected"], 3)

    def test_healthz_ok_and_other_paths(self):
        for name, addr in self.addr.items():
            self.assertEqual(get(addr, "/healthz"), (200, "ok\n"), name)
            self.assertEqual(get(addr, "/nothing")[0], 404, name)
            try:
                urllib.request.urlopen(urllib.request.Request(
                    "http://%s/metrics" % addr, data=b"x", method="POST"), timeout=5)
                self.fail("POST /metrics answered 2xx")
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 405, name)
            status, text = get(addr, "/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(text.startswith("# HELP skonto_"), text[:80])

    def test_bound_to_loopback_only(self):
        for name, addr in self.addr.items():
            port = int(addr.rsplit(":", 1)[1])
            # 0100007F: 127.0.0.1 in /proc/net/tcp's byte order; nothing on 0.0.0.0 or ::
            self.assertEqual(listeners(port), ["0100007F"], name)


class BadAddressTest(unittest.TestCase):
    def test_bad_address_refuses_to_start(self):
        with Stack() as st:
            for program in ("skonto-ingest", "skonto-discount"):
                for bad in ("9464", "127.0.0.1:70000", "127.0.0.1:http"):
                    env = dict(st.env, SKONTO_METRICS_ADDR=bad)
                    r = subprocess.run([os.path.join(st.bin, program)], env=env,
                                       capture_output=True, text=True, timeout=20)
                    self.assertEqual(r.returncode, 2, (program, bad, r.stderr))
                    self.assertIn("SKONTO_METRICS_ADDR: " + bad, r.stderr)
                    self.assertIn("refusing to start", r.stderr)

    def test_no_host_means_loopback(self):
        with Stack() as st:
            port = free_port()
            st.start_discount("discount-1", env={"SKONTO_METRICS_ADDR": ":%d" % port})
            wait_for(lambda: listeners(port), timeout=20, what="discount's metrics port")
            self.assertEqual(listeners(port), ["0100007F"])


class HealthTest(unittest.TestCase):
    def test_healthz_503_when_redis_is_gone(self):
        with Stack() as st:
            ia, da = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
            st.start_ingest(env={"SKONTO_METRICS_ADDR": ia})
            st.start_discount("discount-1", env={"SKONTO_METRICS_ADDR": da})
            for a in (ia, da):
                wait_for(lambda: MetricsTest._healthy(a), timeout=20, what="/healthz ok")
            st.redis.kill()
            st.redis.wait()
            st.redis = None
            for a in (ia, da):
                wait_for(lambda: get(a, "/healthz") == (503, "redis unreachable\n"),
                         timeout=20, what="/healthz 503 at " + a)
                # the failed connections are counted
                fam = "skonto_ingest_redis_errors" if a == ia else "skonto_discount_redis_errors"
                wait_for(lambda: samples(scrape(a), fam)[()] >= 1, timeout=20,
                         what=fam + " to move")


class LocalShMetricsTest(unittest.TestCase):
    """deploy/local.sh gives every worker a metrics port, keeps it across a
    down/up, and skontoctl status shows where each worker serves."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="skonto-metrics-local-")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SKONTO_REDIS_URL", "SKONTO_INGEST_ENDPOINT", "SKONTO_RUN_DIR")}
        self.env.update({"SKONTO_BIN": os.path.join(BUILD, "bin"),
                         "SKONTO_INGEST_PORT": str(free_port()),
                         "SKONTO_AUDIT_PORT": str(free_port()), "SKONTO_AUDIT_FEED_PORT": str(free_port()),
                         "SKONTO_DISCOUNT_WORKERS": "2"})
        self.addCleanup(lambda: (self.sh("down"), shutil.rmtree(self.dir, ignore_errors=True)))

    def sh(self, verb):
        return subprocess.run([os.path.join(SRC, "deploy", "local.sh"), verb, self.dir],
                              env=self.env, capture_output=True, text=True, timeout=120)

    def ports(self):
        with open(os.path.join(self.dir, "ports")) as f:
            return {k[len("metrics-"):]: int(v) for k, v in
                    (l.strip().split("=", 1) for l in f if l.startswith("metrics-"))}

    def status(self):
        env = dict(self.env, SKONTO_REDIS_URL="unix://" + os.path.join(self.dir, "redis.sock"),
                   SKONTO_REDIS_USER="skontoctl",
                   SKONTO_REDIS_PASSWORD_FILE=os.path.join(self.dir, "secrets",
                                                           "redis-skontoctl.pass"))
        r = subprocess.run([os.path.join(BUILD, "bin", "skontoctl"), "status", "--json"],
                           env=env, capture_output=True, text=True, timeout=30, check=True)
        return {w["name"]: w["metrics"] for w in json.loads(r.stdout)["workers"]}

    def check_served(self, ports):
        want = {name: "127.0.0.1:%d" % p for name, p in ports.items()}
        wait_for(lambda: self.status() == want, timeout=20,
                 what="skontoctl status to show %s (shows %s)" % (want, self.status()))
        for name, addr in want.items():
            wait_for(lambda: MetricsTest._healthy(addr), timeout=20, what=name + " /healthz")
            fams = scrape(addr)
            role = name if name in ("ingest", "reminder", "audit") else "discount"
            self.assertIn("skonto_%s_redis_errors" % role, fams)
            self.assertEqual(listeners(ports[name]), ["0100007F"], name)

    def test_each_worker_keeps_its_metrics_port(self):
        r = self.sh("up")
        self.assertEqual(r.returncode, 0, r.stderr)
        first = self.ports()
        workers = sorted(["discount-1", "discount-2", "ingest"] + (["reminder"] if HAVE_REMINDER else [])
                         + (["audit"] if HAVE_AUDIT else []))
        self.assertEqual(sorted(first), workers)
        self.assertEqual(len(set(first.values())), len(workers))
        self.check_served(first)
        self.assertEqual(self.sh("down").returncode, 0)
        r = self.sh("up")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ports(), first)
        self.check_served(first)


if __name__ == "__main__":
    unittest.main()
