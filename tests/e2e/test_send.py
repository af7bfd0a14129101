"""skontoctl send: what it tells an ERP when it gives up, and how it matches Acks.

What an ERP relies on (skontoctl send --help, README "ERP events as JSON lines"):
  - every event send gives up on is listed with its line and event id: on
    stderr as it gives up, and with --json as one JSON line on stdout
    ({"line","event_id","status":"unacknowledged","tries"}) before the
    summary, which stays the last line;
  - when no handshake with ingest completes within --handshake-timeout-ms,
    send says so in one line and stops, and every event not acknowledged
    (sent or not) is listed, every line counted once;
  - an Ack is matched by Ack.event_id_raw (the id's bytes as ingest received
    them) when it carries them, else by Ack.event_id.

Against fake ingests (a ROUTER the test controls, a TCP listener that never
speaks ZMTP, a port nobody listens on), so nothing here needs Redis.
"""
import json
import os
import socket
import subprocess
import threading
import time
import unittest

import zmq

import harness
import skproto

BUILD = os.path.abspath(os.environ.get("SK_BUILD_DIR") or
                        os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SKONTOCTL = os.path.join(BUILD, "bin", "skontoctl")


def order(eid, oid):
    return json.dumps({"type": "order_shipped", "event_id": eid, "order_id": oid,
                       "customer_id": "C-1", "currency": "CNY", "amount": "1130.00",
                       "ship_date": "2026-11-02"})


def send(text, *args, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKONTO_")}
    t = time.time()
    r = subprocess.run([SKONTOCTL, "send", "-", *args], input=text, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return r, time.time() - t


def json_lines(stdout):
    """stdout of send --json: every line one JSON object."""
    return [json.loads(l) for l in stdout.splitlines()]


class FakeIngest:
    """A ROUTER on a free port; answer(envelope, try) -> None (no answer) or
    an Ack to send back."""

    def __init__(self, answer):
        self.answer = answer
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.endpoint = "tcp://127.0.0.1:%d" % self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.tries = {}
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        pb = skproto.load()
        while not self.stop:
            if not self.sock.poll(50):
                continue
            ident, data = self.sock.recv_multipart()
            env = pb.Envelope()
            env.ParseFromString(data)
            n = self.tries[env.event_id] = self.tries.get(env.event_id, 0) + 1
            ack = self.answer(env, n)
            if ack is not None:
                self.sock.send_multipart([ident, ack.SerializeToString()])

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        self.ctx.term()


class GiveUpTest(unittest.TestCase):
    def setUp(self):
        self.pb = skproto.load()

    def fake(self, answer):
        f = FakeIngest(answer)
        self.addCleanup(f.close)
        return f

    def accept_all_but(self, *silent):
        def answer(env, n):
            if env.event_id in silent:
                return None
            return self.pb.Ack(event_id=env.event_id, status=self.pb.ACK_ACCEPTED)
        return answer

    def test_text_lists_each_given_up_event_on_stderr(self):
        f = self.fake(self.accept_all_but("E2", "E4"))
        text = "\n".join(order("E%d" % i, "SO-%d" % i) for i in range(1, 5)) + "\n"
        r, _ = send(text, "--endpoint", f.endpoint, "--timeout-ms", "200", "--retries", "1")
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr.splitlines()
        self.assertIn("skontoctl send: line 2 (event E2): unacknowledged, after 2 tries", err)
        self.assertIn("skontoctl send: line 4 (event E4): unacknowledged, after 2 tries", err)
        self.assertEqual(len(err), 2, r.stderr)
        # The report on stdout still counts and lists them.
        self.assertIn("accepted        2", r.stdout)
        self.assertIn("unacknowledged  2", r.stdout)
        self.assertIn("line 4 (event E4): unacknowledged", r.stdout.splitlines())

    def test_json_gives_one_line_per_given_up_event_then_the_summary(self):
        f = self.fake(self.accept_all_but("E3"))
        text = "\n".join(order("E%d" % i, "SO-%d" % i) for i in range(1, 5)) + "\n"
        r, _ = send(text, "--endpoint", f.endpoint, "--timeout-ms", "200", "--retries", "2",
                    "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = json_lines(r.stdout)
        self.assertEqual(lines[:-1], [{"line": 3, "event_id": "E3", "status": "unacknowledged",
                                       "tries": 3}])
        summary = lines[-1]
        self.assertEqual((summary["accepted"], summary["unacknowledged"], summary["stopped"]),
                         (3, 1, None))
        self.assertEqual(summary["unacknowledged_events"],
                         [{"line": 3, "event_id": "E3", "tries": 3}])
        self.assertEqual(r.stderr, "")

    def test_all_acknowledged_json_is_one_summary_line(self):
        f = self.fake(self.accept_all_but())
        r, _ = send(order("E1", "SO-1") + "\n", "--endpoint", f.endpoint, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)
        self.assertEqual(json.loads(r.stdout)["accepted"], 1)


class HandshakeTimeoutTest(unittest.TestCase):
    """No handshake within --handshake-timeout-ms: one line, exit 1, and every
    event listed, whether it was sent or not."""

    EVENTS = (order("H1", "SO-1") + "\n" + "# a comment\n" + order("H2", "SO-2") + "\n" +
              '{"type":"order_shipped","event_id":"H3"\n' + order("H4", "SO-4") + "\n")

    def silent_listener(self):
        """Accepts TCP connections and never says a word: not ZeroMQ."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        self.addCleanup(s.close)
        return "tcp://127.0.0.1:%d" % s.getsockname()[1]

    def test_no_handshake_stops_send_and_lists_every_event(self):
        ep = self.silent_listener()
        r, took = send(self.EVENTS, "--endpoint", ep, "--handshake-timeout-ms", "1000",
                       "--timeout-ms", "30000", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertLess(took, 8, "send waited past its handshake timeout")
        self.assertEqual(r.stderr.splitlines(),
                         ["skontoctl send: no handshake with %s within 1 s (ingest requires "
                          "CURVE? set SKONTO_INGEST_SERVER_KEY and SKONTO_CURVE_KEY_FILE; or "
                          "it is not ingest listening there)" % ep])
        lines = json_lines(r.stdout)
        self.assertEqual([(x["line"], x["event_id"], x["status"]) for x in lines[:-1]],
                         [(1, "H1", "unacknowledged"), (3, "H2", "unacknowledged"),
                          (5, "H4", "unacknowledged")])
        summary = lines[-1]
        self.assertEqual((summary["accepted"], summary["rejected"], summary["unacknowledged"]),
                         (0, 1, 3))
        self.assertEqual(summary["rejections"][0]["line"], 4)  # not JSON: rejected, never sent
        self.assertIn("no handshake with %s" % ep, summary["stopped"])

    def test_nothing_listening_is_named(self):
        port = harness.free_port()
        r, took = send(self.EVENTS, "--endpoint", "tcp://127.0.0.1:%d" % port,
                       "--handshake-timeout-ms", "500")
        self.assertEqual(r.returncode, 1)
        self.assertLess(took, 8)
        err = r.stderr.splitlines()
        self.assertEqual(err[0], "skontoctl send: no connection to tcp://127.0.0.1:%d within "
                         "0.5 s (ingest not running, or a wrong endpoint?)" % port)
        self.assertEqual(err[1:], ["skontoctl send: line 1 (event H1): unacknowledged, after 1 try",
                                   "skontoctl send: line 3 (event H2): unacknowledged, after 1 try",
                                   "skontoctl send: line 5 (event H4): unacknowledged, after 1 try"])
        self.assertIn("unacknowledged  3   (send stopped: no connection to", r.stdout)

    def test_option_is_checked_and_documented(self):
        r, _ = send("", "--handshake-timeout-ms", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--handshake-timeout-ms", r.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKONTO_")}
        h = subprocess.run([SKONTOCTL, "send", "--help"], env=env, capture_output=True,
                           text=True).stdout
        self.assertIn("--handshake-timeout-ms H", h)
        self.assertIn('"status":"unacknowledged"', h)


class AckMatchingTest(unittest.TestCase):
    """Ack.event_id_raw, when present, decides which event an Ack answers."""

    def setUp(self):
        self.pb = skproto.load()

    def run_with(self, answer):
        f = FakeIngest(answer)
        self.addCleanup(f.close)
        r, _ = send(order("R1", "SO-1") + "\n", "--endpoint", f.endpoint, "--timeout-ms", "200",
                    "--retries", "1")
        return r

    def test_raw_bytes_match_whatever_event_id_says(self):
        r = self.run_with(lambda env, n: self.pb.Ack(
            event_id="something else", event_id_raw=env.event_id.encode(),
            status=self.pb.ACK_ACCEPTED))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("accepted        1", r.stdout.splitlines())

    def test_other_raw_bytes_do_not_match_even_with_the_same_event_id(self):
        # An Ack whose event_id reads "R1" but whose raw id is other bytes
        # answers some other event (one whose id printed the same), not this one.
        r = self.run_with(lambda env, n: self.pb.Ack(
            event_id=env.event_id, event_id_raw=b"R1\x00", status=self.pb.ACK_ACCEPTED))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("accepted        0", r.stdout.splitlines())
        self.assertIn("line 1 (event R1): unacknowledged", r.stdout.splitlines())

    def test_without_raw_bytes_event_id_matches(self):
        r = self.run_with(lambda env, n: self.pb.Ack(event_id=env.event_id,
                                                     status=self.pb.ACK_DUPLICATE))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("duplicate       1", r.stdout.splitlines())


class CurrencyLookupTest(unittest.TestCase):
    """A payment line without "currency" takes its order's currency from
    Redis's order index. A Redis restart while send runs is waited out; a
    Redis that stays away is reported as what it is, not as a bad line."""

    LINES = [json.dumps({"type": "customer", "event_id": "L-E1", "customer_id": "C-1",
                         "name": "Acme", "terms": "2/10,n/30"}),
             order("L-E2", "SO-L1")]
    PAY = json.dumps({"type": "payment_received", "event_id": "L-E3", "order_id": "SO-L1",
                      "paid_on": "2026-11-05", "amount": "1107.40"}) + "\n"

    def setUp(self):
        self.st = harness.Stack()
        self.st.__enter__()
        self.addCleanup(self.st.close)
        self.st.start_ingest()
        self.st.ctl("send", "-", input="\n".join(self.LINES) + "\n")
        self.st.redis_cli("SAVE")  # the restarted server loads it back
        self.st.redis.kill()
        self.st.redis.wait()
        os.unlink(self.st.redis_sock)

    def restart_redis(self):
        st = self.st
        st.redis = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(st.redis_port),
             "--unixsocket", st.redis_sock, "--unixsocketperm", "700", "--save", "",
             "--appendonly", "no", "--dir", st.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def test_a_redis_restart_is_waited_out(self):
        p = subprocess.Popen([os.path.join(self.st.bin, "skontoctl"), "send", "-"],
                             env=self.st.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p.stdin.write(self.PAY)
        p.stdin.flush()  # its lookup meets no Redis and keeps trying
        time.sleep(1.5)
        self.restart_redis()
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        self.assertRegex(out, r"accepted\s+1")
        self.assertNotIn("send the order first", out + err)

    def test_a_redis_that_stays_away_is_named(self):
        r = self.st.ctl("send", "-", input=self.PAY, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("lookup_failed", r.stdout)
        self.assertIn("resend this line", r.stdout)
        self.assertNotIn("send the order first", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
