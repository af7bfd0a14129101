"""deploy/local.sh up / status / down in a temporary run directory.

What an operator relies on: `up` starts redis and the workers and prints the
environment to use; the stack then takes events; a second `up` starts no
duplicates; `status` says which processes are alive and fails when one is
dead; `up` restarts a dead worker; `down` stops everything; the data survives
a down/up (Redis's append-only file); a busy ingest port is avoided by the
first `up`, and a restarted ingest gets its recorded endpoint back (a running
`skontoctl send` finishes across the restart), or `up` fails naming the port;
a run directory whose key file paths are 40 characters long works; the
reminder worker (issue 8) is started when it is built, as Redis user
`reminder`, with its mails in RUNDIR/maildir unless SKONTO_MAILDIR or
SKONTO_SMTP_URL says otherwise, a metrics port in RUNDIR/ports, and every
SKONTO_* variable of the caller (as every worker gets them); without it the
stack runs and `up` says why no reminders go out.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness

SRC = os.environ.get("SK_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
LOCAL_SH = os.path.join(os.path.abspath(SRC), "deploy", "local.sh")
BUILD = os.path.abspath(os.environ.get("SK_BUILD_DIR") or os.path.join(SRC, "build"))
HAVE_REMINDER = os.access(os.path.join(BUILD, "bin", "skonto-reminder"), os.X_OK)
HAVE_AUDIT = os.access(os.path.join(BUILD, "bin", "skonto-audit"), os.X_OK)
WORKERS = sorted(["discount-1", "discount-2", "ingest", "redis"] + (["reminder"] if HAVE_REMINDER else [])
                 + (["audit"] if HAVE_AUDIT else []))

# A stand-in skonto-reminder for the tests that must not depend on the real
# one being built: it heartbeats as Redis user `reminder` (so up waits for it
# as for any worker, and that user may write sk:{sys}:hb) and idles; the
# test reads the environment local.sh gave it from /proc.
STAND_IN = r"""#!/bin/sh
REDISCLI_AUTH=$(cat "$SKONTO_REDIS_PASSWORD_FILE") redis-cli --no-auth-warning \
  --user "$SKONTO_REDIS_USER" -s "${SKONTO_REDIS_URL#unix://}" \
  HSET 'sk:{sys}:hb' "$SKONTO_WORKER_NAME" "{\"pid\":$$,\"role\":\"reminder\"}"
trap 'exit 0' TERM
while :; do sleep 0.2; done
"""


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0")
                    if "=" in kv)


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_dead(pid, timeout=15):
    """True once pid is gone (or a zombie waiting for init to reap it)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def bind_ok(sock, port):
    try:
        sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


class LocalShTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="skonto-local-")
        self.run_dir = os.path.join(self.dir, "run")
        self.env = dict(os.environ)
        for k in ("SKONTO_REDIS_URL", "SKONTO_INGEST_ENDPOINT", "SKONTO_RUN_DIR"):
            self.env.pop(k, None)
        self.port = harness.free_port()
        self.env.update({"SKONTO_BIN": os.path.join(BUILD, "bin"),
                         "SKONTO_INGEST_PORT": str(self.port),
                         "SKONTO_AUDIT_PORT": str(harness.free_port()), "SKONTO_AUDIT_FEED_PORT": str(harness.free_port()),
                         "SKONTO_DISCOUNT_WORKERS": "2",
                         "SKONTO_STOP_TIMEOUT": "10"})
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        self.sh("down", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def sh(self, verb, check=True, env=None):
        e = dict(self.env)
        e.update(env or {})
        r = subprocess.run(["bash", LOCAL_SH, verb, self.run_dir], env=e, capture_output=True,
                           text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("local.sh %s -> %d\nstdout:%s\nstderr:%s\n%s" % (
                verb, r.returncode, r.stdout, r.stderr, self.logs()))
        return r

    def logs(self):
        out = []
        logdir = os.path.join(self.run_dir, "log")
        for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
            with open(os.path.join(logdir, name), errors="replace") as f:
                out.append("--- %s\n%s" % (name, f.read()[-2000:]))
        return "\n".join(out)

    def pids(self):
        d = os.path.join(self.run_dir, "pid")
        out = {}
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n)) as f:
                out[n[:-4]] = int(f.read())
        return out

    def exported(self, stdout):
        env = {}
        for line in stdout.splitlines():
            if line.startswith("export "):
                k, _, v = line[len("export "):].partition("=")
                env[k] = v
        return env

    def ctl(self, env, *args, input=None):
        e = dict(self.env)
        e.update(env)
        return subprocess.run([os.path.join(BUILD, "bin", "skontoctl"), *args], env=e,
                              input=input, capture_output=True, text=True, timeout=60)

    def test_up_status_down(self):
        r = self.sh("up")
        env = self.exported(r.stdout)
        sock = os.path.join(os.path.realpath(self.run_dir), "redis.sock")
        self.assertEqual(env.get("SKONTO_REDIS_URL"), "unix://" + sock)
        self.assertEqual(env.get("SKONTO_INGEST_ENDPOINT"), "tcp://127.0.0.1:%d" % self.port)
        with open(os.path.join(self.run_dir, "redis", "redis.conf")) as f:
            conf = f.read()
        self.assertIn("appendonly yes", conf)
        self.assertIn("appendfsync always", conf)
        first = self.pids()
        self.assertEqual(sorted(first), WORKERS)
        self.assertTrue(all(alive(p) for p in first.values()), first)

        # The stack works: an order sent through ingest gets its schedule.
        events = ('{"type":"customer","event_id":"L1","customer_id":"C-L","name":"Acme",'
                  '"terms":"2/10,n/30"}\n'
                  '{"type":"order_shipped","event_id":"L2","order_id":"SO-L","customer_id":"C-L",'
                  '"currency":"CNY","amount":"1000.00","ship_date":"2026-11-02"}\n')
        s = self.ctl(env, "send", "-", input=events)
        self.assertEqual(s.returncode, 0, s.stdout + s.stderr)
        harness.wait_for(lambda: self.ctl(env, "order", "show", "SO-L").returncode == 0,
                         timeout=15, what="the order's schedule")
        self.assertIn("980.00", self.ctl(env, "order", "show", "SO-L").stdout)

        # Idempotent: a second up starts nothing new.
        again = self.sh("up")
        self.assertIn("already running", again.stderr)
        self.assertEqual(self.pids(), first)
        self.assertEqual(self.exported(again.stdout)["SKONTO_INGEST_ENDPOINT"],
                         env["SKONTO_INGEST_ENDPOINT"])

        st = self.sh("status")
        for name in WORKERS:
            self.assertRegex(st.stdout, r"%s\s+pid %d\s+alive" % (name, first[name]))

        # A dead worker shows in status, and up brings it back.
        os.kill(first["discount-2"], signal.SIGKILL)
        self.assertTrue(wait_dead(first["discount-2"]))
        st = self.sh("status", check=False)
        self.assertNotEqual(st.returncode, 0)
        self.assertRegex(st.stdout, r"discount-2\s+pid %d\s+DEAD" % first["discount-2"])
        self.sh("up")
        now = self.pids()
        self.assertNotEqual(now["discount-2"], first["discount-2"])
        self.assertTrue(alive(now["discount-2"]))
        self.assertEqual(now["ingest"], first["ingest"])

        # down stops every process.
        self.sh("down")
        for name, pid in now.items():
            self.assertTrue(wait_dead(pid), "%s (pid %d) still alive after down" % (name, pid))
        self.assertEqual(os.listdir(os.path.join(self.run_dir, "pid")), [])
        st = self.sh("status", check=False)
        self.assertNotEqual(st.returncode, 0)

        # The data survives down/up: Redis's append-only file.
        r = self.sh("up")
        env = self.exported(r.stdout)
        shown = self.ctl(env, "order", "show", "SO-L")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("980.00", shown.stdout)

    def test_busy_ingest_port_is_avoided(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", self.port))
        busy.listen(1)
        self.addCleanup(busy.close)
        r = self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"})
        endpoint = self.exported(r.stdout)["SKONTO_INGEST_ENDPOINT"]
        self.assertTrue(endpoint.startswith("tcp://127.0.0.1:"), endpoint)
        self.assertNotEqual(endpoint, "tcp://127.0.0.1:%d" % self.port)
        self.assertIn("busy", r.stderr)
        self.assertEqual(sorted(self.pids()),
                         sorted(["discount-1", "ingest", "redis"] + (["reminder"] if HAVE_REMINDER else [])
                                + (["audit"] if HAVE_AUDIT else [])))

    def test_restarted_ingest_keeps_its_endpoint(self):
        # The first up finds SKONTO_INGEST_PORT busy and takes a free port.
        busy = socket.socket()
        busy.bind(("127.0.0.1", self.port))
        busy.listen(1)
        self.addCleanup(busy.close)
        env = self.exported(self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"}).stdout)
        endpoint = env["SKONTO_INGEST_ENDPOINT"]
        self.assertNotEqual(endpoint, "tcp://127.0.0.1:%d" % self.port)
        port = int(endpoint.rsplit(":", 1)[1])

        # A send is running: its first event is stored, then ingest dies and
        # the second goes out while nobody listens. (send reads its input as
        # it sends, so it is waiting on stdin for the rest.)
        e = dict(self.env)
        e.update(env)
        send = subprocess.Popen(
            [os.path.join(BUILD, "bin", "skontoctl"), "send", "-", "--json",
             "--timeout-ms", "500", "--retries", "60"],
            env=e, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(lambda: send.poll() is None and send.kill())
        send.stdin.write('{"type":"customer","event_id":"R1","customer_id":"C-R","name":"Acme",'
                         '"terms":"2/10,n/30"}\n')
        send.stdin.flush()
        harness.wait_for(lambda: self.ctl(env, "customer", "show", "C-R").returncode == 0,
                         timeout=15, what="the first event to be stored")
        first = self.pids()["ingest"]
        os.kill(first, signal.SIGKILL)
        self.assertTrue(wait_dead(first))
        send.stdin.write('{"type":"order_shipped","event_id":"R2","order_id":"SO-R",'
                         '"customer_id":"C-R","currency":"CNY","amount":"1000.00",'
                         '"ship_date":"2026-11-02"}\n')
        send.stdin.flush()

        # up restarts ingest on the same endpoint, and the send finishes.
        again = self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"})
        self.assertEqual(self.exported(again.stdout)["SKONTO_INGEST_ENDPOINT"], endpoint)
        self.assertNotEqual(self.pids()["ingest"], first)
        with open(os.path.join(self.run_dir, "ports")) as f:
            self.assertIn("ingest=%d\n" % port, f.read())  # docs/RUNNING.md
        out, err = send.communicate(timeout=60)  # closes stdin: the input ends
        self.assertEqual(send.returncode, 0, out + err)
        summary = json.loads(out.splitlines()[-1])
        # R1's Ack may have been lost with the connection: resent, it is a duplicate.
        self.assertEqual((summary["accepted"] + summary["duplicate"], summary["unacknowledged"]),
                         (2, 0), out)
        harness.wait_for(lambda: self.ctl(env, "order", "show", "SO-R").returncode == 0,
                         timeout=15, what="the order sent while ingest was down")

        # ingest dies again, and something else takes its port: up refuses to
        # move it, says which port and what to do, and leaves env as it was.
        second = self.pids()["ingest"]
        os.kill(second, signal.SIGKILL)
        self.assertTrue(wait_dead(second))
        squatter = socket.socket()
        self.addCleanup(squatter.close)
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        # ingest's main thread is a zombie before its last thread has closed the port.
        harness.wait_for(lambda: bind_ok(squatter, port), timeout=10, what="ingest's port")
        squatter.listen(1)
        r = self.sh("up", check=False, env={"SKONTO_DISCOUNT_WORKERS": "1"})
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("ingest's port %d (recorded in %s) is taken" % (
            port, os.path.join(os.path.realpath(self.run_dir), "ports")), r.stderr)
        self.assertIn("stop what holds port %d and run up again" % port, r.stderr)
        with open(os.path.join(self.run_dir, "env")) as f:
            self.assertIn("export SKONTO_INGEST_ENDPOINT=%s\n" % endpoint, f.read())
        st = self.sh("status", check=False)
        self.assertRegex(st.stdout, r"ingest\s+pid %d\s+DEAD" % second)

        # Once the port is free again, up brings ingest back there.
        squatter.close()
        r = self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"})
        self.assertEqual(self.exported(r.stdout)["SKONTO_INGEST_ENDPOINT"], endpoint)

    def test_run_dir_with_40_character_key_paths(self):
        # RUNDIR/secrets/ingest-server.pub is 40 characters when RUNDIR is 14:
        # a path that is also valid Z85 text, once taken for the key itself.
        for _ in range(100):
            run_dir = "/tmp/sk" + "".join(random.choice("abcdefghijkmnpqrstuvwxyz23456789")
                                          for _ in range(7))
            try:
                os.mkdir(run_dir, 0o700)
                break
            except FileExistsError:
                continue
        default_run_dir, self.run_dir = self.run_dir, run_dir

        def cleanup():
            self.sh("down", check=False)
            shutil.rmtree(run_dir, ignore_errors=True)
            self.run_dir = default_run_dir  # for setUp's cleanup, which runs after this one
        self.addCleanup(cleanup)
        env = self.exported(self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"}).stdout)
        key = env["SKONTO_INGEST_SERVER_KEY"]
        self.assertEqual(len(key), 40, env)
        self.assertTrue(all(c in Z85 for c in key), key)  # so the path reads as Z85 text too
        s = self.ctl(env, "send", "-", "--json", input='{"type":"customer","event_id":"K1",'
                     '"customer_id":"C-K","name":"Acme","terms":"2/10,n/30"}\n')
        self.assertEqual(s.returncode, 0, s.stdout + s.stderr)
        self.assertEqual(json.loads(s.stdout)["accepted"], 1)

    def bin_dir(self, stand_in):
        """A SKONTO_BIN with the built programs but skonto-reminder: the
        stand-in, or none at all."""
        d = os.path.join(self.dir, "bin")
        os.makedirs(d, exist_ok=True)
        for name in ("skontoctl", "skonto-ingest", "skonto-discount"):
            os.symlink(os.path.join(BUILD, "bin", name), os.path.join(d, name))
        if stand_in:
            with open(os.path.join(d, "skonto-reminder"), "w") as f:
                f.write(STAND_IN)
            os.chmod(os.path.join(d, "skonto-reminder"), 0o755)
        return d

    def ports(self):
        with open(os.path.join(self.run_dir, "ports")) as f:
            return dict(l.strip().split("=", 1) for l in f if "=" in l and not l.startswith("#"))

    def test_without_the_reminder_the_stack_runs(self):
        r = self.sh("up", env={"SKONTO_BIN": self.bin_dir(False), "SKONTO_DISCOUNT_WORKERS": "1"})
        self.assertIn("skonto-reminder not built: no reminders or statements are sent", r.stderr)
        self.assertEqual(sorted(self.pids()), ["discount-1", "ingest", "redis"])
        self.assertNotIn("metrics-reminder", self.ports())
        self.assertRegex(self.sh("status").stdout, r"discount-1\s+pid \d+\s+alive")

    @unittest.skipUnless(HAVE_AUDIT, "skonto-audit not built")
    def test_audit_worker_gets_its_user_keys_and_endpoints(self):
        env = self.exported(self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1",
                                               "SKONTO_CLOCK": "fixed:2026-11-05T09:00:00Z"}).stdout)
        pids = self.pids()
        got = environ_of(pids["audit"])
        self.assertEqual((got["SKONTO_REDIS_USER"], got["SKONTO_WORKER_NAME"]), ("audit", "audit"))
        run_dir = os.path.realpath(self.run_dir)
        key = os.path.join(run_dir, "secrets", "audit-log.key")
        self.assertEqual(got["SKONTO_AUDIT_KEY"], key)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(env["SKONTO_AUDIT_PUBLIC_KEY"], os.path.join(run_dir, "audit-log.pub"))
        self.assertEqual(os.stat(env["SKONTO_AUDIT_PUBLIC_KEY"]).st_mode & 0o777, 0o644)
        with open(env["SKONTO_AUDIT_PUBLIC_KEY"]) as f:
            self.assertTrue(f.read().startswith("skonto.local/audit+"))
        self.assertEqual(env["SKONTO_AUDIT_ENDPOINT"], "tcp://127.0.0.1:" + self.ports()["audit"])
        self.assertEqual(got["SKONTO_AUDIT_FEED_ENDPOINT"], env["SKONTO_AUDIT_FEED_ENDPOINT"])
        with open(os.path.join(run_dir, "secrets", "redis-default.pass")) as f:
            pw = f.read().strip()

        def dryrun(user, *cmd):
            return subprocess.run(["redis-cli", "-s", os.path.join(run_dir, "redis.sock"), "--user",
                                   "default", "--pass", pw, "--no-auth-warning", "ACL", "DRYRUN",
                                   user, *cmd], capture_output=True, text=True).stdout.strip()
        self.assertEqual(dryrun("audit", "XDEL", "sk:{s12}:auditq", "1-1"), "OK")
        self.assertIn("no permissions", dryrun("audit", "XADD", "sk:{s12}:auditq", "*", "a", "b"))
        self.assertIn("no permissions", dryrun("audit", "SET", "sk:{s1}:inv:X", "1"))
        self.assertIn("no permissions", dryrun("audit", "SCRIPT", "FLUSH"))
        self.assertEqual(dryrun("auditor", "XRANGE", "sk:{audit}:log", "-", "+"), "OK")
        self.assertIn("no permissions", dryrun("auditor", "HSET", "sk:{audit}:ovr", "a", "b"))
        self.assertIn("no permissions", dryrun("auditor", "GET", "sk:{s1}:inv:X"))
        self.audit_works_as_its_user(env, run_dir, pw, pids["audit"])

    def audit_works_as_its_user(self, env, run_dir, pw, pid):
        """An override requested, approved and applied through the stack's
        audit worker, running as Redis user audit: its ACL lets it do all of it."""
        import skingest
        from test_audit_worker import AuditClient, decide, request, show
        pb = skingest.load()
        keys = os.path.join(self.dir, "keys")
        os.makedirs(keys, exist_ok=True)
        lines = []
        for name, role in (("s1", "sales"), ("f1", "finance_director")):
            lines.append(self.ctl(env, "keygen", "--out", os.path.join(keys, name), "--user", name,
                                  "--role", role).stdout.strip())
        with open(os.path.join(run_dir, "secrets", "authorized_keys"), "a") as f:
            f.write("\n".join(lines) + "\n")
        os.kill(pid, signal.SIGTERM)  # it reads the registry at start: up starts it again
        harness.wait_for(lambda: not alive(pid), what="the audit worker to stop")
        self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"})
        events = ('{"type":"customer","event_id":"A1","customer_id":"C-A","name":"Acme",'
                  '"terms":"2/10,n/30"}\n'
                  '{"type":"order_shipped","event_id":"A2","order_id":"SO-A","customer_id":"C-A",'
                  '"currency":"CNY","amount":"1000.00","ship_date":"2026-11-02"}\n')
        self.assertEqual(self.ctl(env, "send", "-", input=events).returncode, 0)
        harness.wait_for(lambda: self.ctl(env, "order", "show", "SO-A").returncode == 0,
                         timeout=15, what="the order's schedule")
        rev = json.loads(self.ctl(env, "order", "show", "SO-A", "--json").stdout)["revision"]
        st = type("st", (), {"audit_server_pub": env["SKONTO_AUDIT_SERVER_KEY"],
                             "audit_endpoint": env["SKONTO_AUDIT_ENDPOINT"]})
        sales = AuditClient(st, os.path.join(keys, "s1.key"))
        fin = AuditClient(st, os.path.join(keys, "f1.key"))
        self.addCleanup(sales.close)
        self.addCleanup(fin.close)
        rep = sales.call(request("SO-A", rev, "r-1", kind=1, tier=0, new_last_day="2026-11-20"))
        self.assertEqual((rep.status, rep.code), (pb.AuditReply.OK, ""), rep.message)
        ovid = rep.overrides[0].request.override_id
        rep = fin.call(decide(ovid))
        self.assertEqual(rep.overrides[0].status, pb.OverrideRecord.APPROVED, rep.message)
        h = pb.AuditHandoff()
        h.applied.override_id, h.applied.order_id = ovid, "SO-A"
        import skredis
        q = "sk:{s%d}:auditq" % skredis.shard("C-A")
        subprocess.run(["redis-cli", "-s", os.path.join(run_dir, "redis.sock"), "--user", "default",
                        "--pass", pw, "--no-auth-warning", "XADD", q, "*", "a",
                        h.SerializeToString()], check=True, capture_output=True)
        harness.wait_for(lambda: fin.call(show(ovid)).overrides[0].status ==
                         pb.OverrideRecord.APPLIED, what="the hand-off logged")
        harness.wait_for(lambda: subprocess.run(
            ["redis-cli", "-s", os.path.join(run_dir, "redis.sock"), "--user", "default", "--pass",
             pw, "--no-auth-warning", "XLEN", q], capture_output=True, text=True).stdout.strip()
            == "0", what="the hand-off deleted")
        with open(os.path.join(run_dir, "log", "audit.log")) as f:
            self.assertNotIn("NOPERM", f.read())

    def test_reminder_workers_0_starts_none(self):
        bins = self.bin_dir(True)
        r = self.sh("up", env={"SKONTO_BIN": bins, "SKONTO_DISCOUNT_WORKERS": "1",
                               "SKONTO_REMINDER_WORKERS": "0"})
        self.assertIn("SKONTO_REMINDER_WORKERS=0: no reminder worker", r.stderr)
        self.assertEqual(sorted(self.pids()), ["discount-1", "ingest", "redis"])
        self.sh("down")
        r = self.sh("up", check=False, env={"SKONTO_BIN": bins, "SKONTO_REMINDER_WORKERS": "2"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SKONTO_REMINDER_WORKERS=2: want 0 or 1", r.stderr)

    def test_reminder_gets_its_user_maildir_port_and_the_callers_settings(self):
        caller = {"SKONTO_BIN": self.bin_dir(True), "SKONTO_DISCOUNT_WORKERS": "1",
                  "SKONTO_REMINDER_LEADS": "7,1",
                  "SKONTO_MAIL_DOMAIN": "mail.example"}
        self.sh("up", env=caller)
        pids = self.pids()
        self.assertEqual(sorted(pids), ["discount-1", "ingest", "redis", "reminder"])
        got = environ_of(pids["reminder"])
        run_dir = os.path.realpath(self.run_dir)
        self.assertEqual(got["SKONTO_MAILDIR"], os.path.join(run_dir, "maildir"))
        self.assertEqual((got["SKONTO_REDIS_USER"], got["SKONTO_WORKER_NAME"]),
                         ("reminder", "reminder"))
        self.assertEqual(got["SKONTO_REDIS_PASSWORD_FILE"],
                         os.path.join(run_dir, "secrets", "redis-reminder.pass"))
        self.assertEqual(got["SKONTO_METRICS_ADDR"], "127.0.0.1:" + self.ports()["metrics-reminder"])
        self.assertEqual(len(set(self.ports().values())), len(self.ports()))  # no port twice
        self.assertEqual(got["SKONTO_REDIS_URL"], "unix://" + os.path.join(run_dir, "redis.sock"))
        # the caller's SKONTO_* settings reach every worker, as they are
        for name in ("reminder", "discount-1", "ingest"):
            e = environ_of(pids[name])
            self.assertEqual((e.get("SKONTO_REMINDER_LEADS"), e.get("SKONTO_MAIL_DOMAIN")),
                             ("7,1", "mail.example"), name)
        self.assertRegex(self.sh("status").stdout, r"reminder\s+pid %d\s+alive" % pids["reminder"])

        # With an SMTP server named, no maildir is imposed; the caller's own
        # SKONTO_MAILDIR is kept as given.
        self.sh("down")
        self.assertTrue(wait_dead(pids["reminder"]))
        self.sh("up", env=dict(caller, SKONTO_SMTP_URL="smtp://127.0.0.1:2525"))
        got = environ_of(self.pids()["reminder"])
        self.assertEqual(got["SKONTO_SMTP_URL"], "smtp://127.0.0.1:2525")
        self.assertNotIn("SKONTO_MAILDIR", got)
        self.sh("down")
        mine = os.path.join(self.dir, "my-maildir")
        self.sh("up", env=dict(caller, SKONTO_MAILDIR=mine))
        self.assertEqual(environ_of(self.pids()["reminder"])["SKONTO_MAILDIR"], mine)

    @unittest.skipUnless(HAVE_REMINDER, "build/bin/skonto-reminder is not built (yet)")
    def test_real_reminder_comes_up(self):
        self.sh("up", env={"SKONTO_DISCOUNT_WORKERS": "1"})
        pid = self.pids()["reminder"]
        self.assertTrue(alive(pid))
        self.assertRegex(self.sh("status").stdout, r"reminder\s+pid %d\s+alive" % pid)

    def test_missing_binaries_are_named(self):
        r = self.sh("up", check=False, env={"SKONTO_BIN": os.path.join(self.dir, "nowhere")})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("skontoctl not found", r.stderr)


if __name__ == "__main__":
    unittest.main()
