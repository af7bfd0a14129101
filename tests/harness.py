"""Test harness: real redis-server, real workers, on loopback / unix sockets.

Used by every Python test under tests/ (run with /usr/bin/python3). Nothing
listens beyond 127.0.0.1; every port is a free one picked at start.

    with Stack(build_dir) as st:        # redis only
        st.start_ingest(); st.start_discount("d1")
        out = st.ctl("order", "show", "SO-1", "--json")
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Stack:
    def __init__(self, build_dir=None):
        self.build = build_dir or os.environ.get("SK_BUILD_DIR") or os.path.join(
            os.path.dirname(__file__), "..", "build")
        self.bin = os.path.join(os.path.abspath(self.build), "bin")
        self.dir = tempfile.mkdtemp(prefix="skonto-test-")
        self.procs = {}
        self.redis = None

    # -- lifecycle
    def __enter__(self):
        self.start_redis()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for name in list(self.procs):
            self.stop(name)
        if self.redis:
            self.redis.kill()
            self.redis.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_redis(self):
        self.redis_sock = os.path.join(self.dir, "redis.sock")
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
             "--unixsocket", self.redis_sock, "--unixsocketperm", "700", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.redis_sock), what="redis-server socket")
        self.ingest_endpoint = "tcp://127.0.0.1:%d" % free_port()
        self.env = dict(os.environ)
        self.env.update({
            "SKONTO_REDIS_URL": "unix://" + self.redis_sock,
            "SKONTO_INGEST_ENDPOINT": self.ingest_endpoint,
        })

    def redis_cli(self, *args):
        out = subprocess.run(["redis-cli", "-s", self.redis_sock, *map(str, args)],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    # -- workers
    def start(self, name, program, *args, env=None):
        e = dict(self.env)
        e.update(env or {})
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen([os.path.join(self.bin, program), *args], env=e,
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = p
        return p

    def start_ingest(self, name="ingest", env=None):
        p = self.start(name, "skonto-ingest", env=env)
        host, port = self.ingest_endpoint.rsplit(":", 1)
        wait_for(lambda: _can_connect(int(port)), what="ingest endpoint")
        return p

    def start_discount(self, name="discount-1", env=None):
        e = {"SKONTO_WORKER_NAME": name}
        e.update(env or {})
        return self.start(name, "skonto-discount", env=e)

    # -- the audit worker (issue 9; docs/AUDIT.md section 8)
    def audit_setup(self, users, log_name="skonto.test/audit"):
        """Keys for skonto-audit: its CURVE server key, its log's Ed25519
        signing key (skonto-audit keygen; the public key beside it) and a key
        registry of users, a list of (key name, user, role). Returns
        {key name: secret key path}; sets audit_env, audit_endpoint,
        audit_feed_endpoint, audit_server_pub and audit_public_key."""
        d = os.path.join(self.dir, "keys")
        os.makedirs(d, exist_ok=True)
        server_key, self.audit_server_pub, _ = self.keygen("audit-server")
        sign_key = os.path.join(d, "audit-log.key")
        self.audit_public_key = os.path.join(d, "audit-log.pub")
        subprocess.run([os.path.join(self.bin, "skonto-audit"), "keygen", log_name, sign_key,
                        self.audit_public_key], check=True, capture_output=True)
        keys, lines = {}, []
        for name, user, role in users:
            secret, _, line = self.keygen(name, user, role)
            keys[name] = secret
            lines.append(line)
        registry = os.path.join(self.dir, "audit_authorized_keys")
        with open(registry, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.audit_endpoint = "tcp://127.0.0.1:%d" % free_port()
        self.audit_feed_endpoint = "tcp://127.0.0.1:%d" % free_port()
        self.audit_env = {
            "SKONTO_AUDIT_ENDPOINT": self.audit_endpoint,
            "SKONTO_AUDIT_FEED_ENDPOINT": self.audit_feed_endpoint,
            "SKONTO_AUDIT_SECRET_KEY_FILE": server_key,
            "SKONTO_AUTHORIZED_KEYS": registry,
            "SKONTO_AUDIT_KEY": sign_key,
        }
        return keys

    def start_audit(self, name="audit", env=None, wait=True):
        """Starts skonto-audit (after audit_setup); waits until it has
        verified the log and listens, unless wait is False."""
        e = dict(self.audit_env)
        e["SKONTO_WORKER_NAME"] = name
        e.update(env or {})
        p = self.start(name, "skonto-audit", env=e)
        if wait:
            wait_for(lambda: "the audit log verifies" in self.log(name) or p.poll() is not None,
                     what="the audit worker to verify its log")
            if p.poll() is not None:
                raise AssertionError("skonto-audit exited with %s:\n%s" % (p.returncode,
                                                                          self.log(name)))
        return p

    def wait_drained(self, timeout=30):
        """Waits until the discount workers have applied every stored event
        (skontoctl status: nothing waiting in the streams, nothing pending)."""
        def drained():
            q = self.ctl_json("status")["queue"]
            return q["waiting"] == 0 and q["pending"] == 0
        wait_for(drained, timeout=timeout, what="the discount worker to apply every event")

    def kill9(self, name):
        p = self.procs.pop(name)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p and p.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL, None):
            raise AssertionError("%s exited with %s; log:\n%s" % (name, p.returncode, self.log(name)))

    def raw_log(self, name):
        """The worker's log file as written: JSON lines (common/io/sk_log)."""
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log(self, name):
        """The worker's log as text: the msg of each JSON line (other lines,
        a sanitizer's report say, as they are)."""
        return log_text(self.raw_log(name))

    # -- skontoctl
    def ctl(self, *args, input=None, check=True):
        """Runs skontoctl; returns CompletedProcess (text)."""
        r = subprocess.run([os.path.join(self.bin, "skontoctl"), *map(str, args)], env=self.env,
                           input=input, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError("skontoctl %s -> %d\nstdout:%s\nstderr:%s" % (
                " ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
        return r

    def ctl_json(self, *args, input=None):
        return json.loads(self.ctl(*args, "--json", input=input).stdout)

    # -- CURVE keys (optional; docs/SECURITY.md)
    def keygen(self, name, user=None, role=None):
        """Makes DIR/keys/NAME.key and .pub with skontoctl keygen; returns
        (secret key path, public key path, stdout line: the registry line
        with user and role, else the public key)."""
        d = os.path.join(self.dir, "keys")
        os.makedirs(d, exist_ok=True)
        prefix = os.path.join(d, name)
        args = ["keygen", "--out", prefix]
        if user:
            args += ["--user", user, "--role", role]
        line = self.ctl(*args).stdout.strip()
        return prefix + ".key", prefix + ".pub", line


def log_text(raw):
    """The msg fields of a log's JSON lines, one a line; lines that are not a
    JSON object with a msg stay as they are."""
    out = []
    for line in raw.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            o = None
        out.append(o["msg"] if isinstance(o, dict) and "msg" in o else line)
    return "\n".join(out) + ("\n" if out else "")


def _can_connect(port):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
