"""kill -9 of redis-server (three times), ingest and a discount worker while
~20,000 events stream in: no acknowledged event lost, nothing doubled (issue 6).

docs/RUNNING.md promises that with `appendfsync always` an event the ERP saw
acknowledged survives a kill -9 of redis-server. This test runs the stack an
operator runs -- `deploy/local.sh up RUNDIR` in a temporary run directory:
redis-server (AOF, appendfsync always, unix socket only), skonto-ingest on a
free loopback port (CURVE), two skonto-discount workers -- and feeds it a
deterministic history from deploy/gen_history.py (seed 20261102, today
2026-11-30: 300 customers, 11,000 orders, 8,390 payments, 114 credit notes,
139 cancellations = 19,943 events; its deliberately bad events are left out,
so the dead-letter and unapplied lists must stay empty) through
`skontoctl send`, as an ERP would.

The stream goes out as five `skontoctl send` runs: customers, orders, credit
notes and cancellations, first payments, second payments. An event never
shares a run with the event it depends on: after a kill, send resends what
was in flight in slot order, not line order, so inside one run a payment could
reach ingest before its order and be rejected as `unknown_order`. Payments and
credit notes carry their order's `currency` (the format allows it), so send
never needs Redis itself (see the note at the end).

The kills are placed by event counts, not by sleeps. send reads its standard
input, which the test writes; at each kill point K (in events of the whole
stream) the writer stops at line K + 1,500 and waits, the test polls
`skontoctl status --json` until ingest's accepted counter reaches K -- so
send has up to ~1,500 events unacknowledged, most of them in flight -- and
then kills with SIGKILL, waits, and restarts with `deploy/local.sh up RUNDIR`
(which starts what is not running); then writing goes on:

    K = 2,500   redis-server   (orders; down 1 s)
    K = 5,500   skonto-ingest  (orders; down 0.3 s)
    K = 8,500   redis-server   (orders; down 1 s)
    K = 13,000  discount-1     (first payments, the workers busy; down 0.3 s)
    K = 16,500  redis-server   (first payments; down 1 s)

send runs with --window 1000 --timeout-ms 1000 --retries 60: it resends what
is not acknowledged within a second, for a minute, so an outage of a few
seconds costs resends, not events. Should it give up on some events anyway it
lists them (`unacknowledged_events`) and exactly those lines are sent again.
Every restart must keep ingest's endpoint, and after every `up` nothing the
stack runs listens beyond 127.0.0.1 (its sockets in /proc/net/*).

Then, once `skontoctl status --json` shows the queues drained (and ingest has
written its counters), the state is checked EXACTLY, only through skontoctl:

  - `status --json`: no dead letters, nothing unapplied, nothing waiting or
    pending, three live workers, ingest's accepted counter = the number of
    distinct events (19,943), its rejected counter 0;
  - `dlq list --json` and `dlq list --unapplied --json`: empty (each entry is
    named in the failure);
  - `order show --json` for every order: one invoice, with its customer,
    salesperson, currency, terms and baseline, the amount sent minus its
    credit note, the credit note credited once, cancelled orders cancelled,
    exactly the payments sent (date, amount, full flag), each once, in stream
    order, with the tier, discount, settled amount and unearned discount the
    engine's rule gives, and the balance, discount earned and status that
    follow (the rule is computed here for the cases the generator makes, and
    checked first against `skontoctl settle --json` for two orders of every
    kind). Payments applied in another order than sent are named as such
    ("APPLIED OUT OF STREAM ORDER") with what that order changed;
  - `customer show --json` for every customer: the profile sent, exactly the
    open invoices expected with their amounts and balances, and the payment
    history (invoices closed per tier and after every window).

This check runs on the state the kills left, BEFORE the whole stream is sent
once more, because a resend that re-adds a lost event would hide which one
was lost. The final resend (one file, all 19,943 lines) must be answered
"duplicate" for every event (an "accepted" there is an acknowledged event
that was lost) and leave ingest's accepted counter where it was; afterwards
status, both lists, every customer and a sample of 300 orders are checked
again, unchanged. Finally `local.sh down`, and no sanitizer report in any log.

A mismatch does not stop the test: each one is collected with the event's
position in the stream and the kill nearest to it, and the temporary
directory (run/log: redis, ingest and worker logs; report.txt: the kill
timeline, the send results, every problem; the files sent) is kept and named
in the failure. SKONTO_TEST_KEEP=1 keeps it after a pass too;
SKONTO_TEST_KILLS=0 makes the same run without kills (a reference).

Time: ~10 s of streaming and ~50-70 s for the 11,300 skontoctl reads (about
11 ms each under ASan; run two at a time, without LeakSanitizer's exit scan,
which is 4 ms of that and not what this test is about).

Note: without explicit currencies, a payment file sent while Redis restarts
loses lines: send looks the currency of an order it has not seen in its
input up in Redis, and after one failed lookup it rejects every later such
line locally as `bad_currency` (cli/skontoctl/send.c: redis_failed is never
reset).
"""
import datetime as dt
import importlib.util
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import harness

SRC = os.path.abspath(os.environ.get("SK_SOURCE_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("SK_BUILD_DIR") or os.path.join(SRC, "build"))
BIN = os.path.join(BUILD, "bin")
LOCAL_SH = os.path.join(SRC, "deploy", "local.sh")
GEN_HISTORY = os.path.join(SRC, "deploy", "gen_history.py")

SEED, TODAY, N_CUSTOMERS, N_ORDERS, DAYS = 20261102, "2026-11-30", 300, 11000, 90
WINDOW = 1000
AHEAD = 1500  # lines written past a kill's point before the writer waits for the kill
SEND_OPTS = ["--window", str(WINDOW), "--timeout-ms", "1000", "--retries", "60"]
PROGRAMS = {"redis": "redis-server", "ingest": "skonto-ingest",
            "discount-1": "skonto-discount", "discount-2": "skonto-discount"}
# (accepted events reached, process to kill -9, seconds it stays down)
KILL_PLAN = [(2500, "redis", 1.0), (5500, "ingest", 0.3), (8500, "redis", 1.0),
             (13000, "discount-1", 0.3), (16500, "redis", 1.0)]
PARALLEL = max(2, os.cpu_count() or 2)  # concurrent skontoctl reads for the checks
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def minor(text):
    """A decimal amount string of a 2-digit currency (CNY, USD, EUR) in minor units."""
    return int((Decimal(text) * 100).to_integral_value())


def money(m):
    return "%s%d.%02d" % ("-" if m < 0 else "", abs(m) // 100, abs(m) % 100)


def parse_send_json(out):
    """The summary of `skontoctl send --json`: one JSON document, or JSON lines (one per
    event send gave up on, as it happens) ending with the summary line. None if neither."""
    try:
        res = json.loads(out)
    except ValueError:
        lines = [l for l in out.splitlines() if l.strip()]
        try:
            res = json.loads(lines[-1]) if lines else None
        except ValueError:
            return None
    return res if isinstance(res, dict) and "accepted" in res else None


def tier_name(t):
    return "open" if t == "open" else ("after every window" if t is None else "in tier %d" % t)


def load_gen_history():
    spec = importlib.util.spec_from_file_location("gen_history", GEN_HISTORY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------ the stream and its outcome

class Stream:
    """The generated events, the files they go out in, and the state they must leave."""

    PHASES = ("customers", "orders", "corrections", "payments-1", "payments-2")

    def __init__(self):
        self.gh = load_gen_history()
        h = self.gh.History(SEED, dt.date.fromisoformat(TODAY), N_CUSTOMERS, N_ORDERS, DAYS)
        h.make_customers()
        h.make_orders()
        self.events = [json.loads(line) for line in h.lines()]
        currency = {e["order_id"]: e["currency"] for e in self.events
                    if e["type"] == "order_shipped"}
        for e in self.events:
            if e["type"] in ("payment_received", "credit_note"):
                e.setdefault("currency", currency[e["order_id"]])
        self.lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":"))
                      for e in self.events]
        ids = [e["event_id"] for e in self.events]
        assert len(set(ids)) == len(ids), "event ids are unique"
        # Files: an event never shares a file with the event it depends on.
        self.phase_lines = {p: [] for p in self.PHASES}
        npay = {}
        for line, e in zip(self.lines, self.events):
            t = e["type"]
            if t == "customer":
                p = "customers"
            elif t == "order_shipped":
                p = "orders"
            elif t in ("credit_note", "order_cancelled"):
                p = "corrections"
            else:
                k = npay[e["order_id"]] = npay.get(e["order_id"], 0) + 1
                assert k <= 2, "at most two payments per order"
                p = "payments-%d" % k
            self.phase_lines[p].append(line)
        # Where each event sits in the stream as sent (for blaming the nearest kill).
        self.position = {}
        n = 0
        for p in self.PHASES:
            for line in self.phase_lines[p]:
                n += 1
                self.position[json.loads(line)["event_id"]] = n
        self._expect()

    def _expect(self):
        self.customers = {}
        self.orders = {}
        for e in self.events:
            t = e["type"]
            if t == "customer":
                self.customers[e["customer_id"]] = e
            elif t == "order_shipped":
                c = self.customers[e["customer_id"]]
                self.orders[e["order_id"]] = {
                    "event": e, "customer": e["customer_id"], "currency": e["currency"],
                    "amount": minor(e["amount"]), "tax": minor(e.get("tax", "0")),
                    "ship": e["ship_date"], "terms": e.get("terms") or c["terms"],
                    "salesperson": e["salesperson"], "credit": 0, "credit_events": [],
                    "cancelled": False, "cancel_events": [], "pays": []}
            elif t == "credit_note":
                o = self.orders[e["order_id"]]
                o["credit"] += minor(e["amount"])
                o["credit_events"].append(e["event_id"])
            elif t == "order_cancelled":
                o = self.orders[e["order_id"]]
                o["cancelled"] = True
                o["cancel_events"].append(e["event_id"])
            elif t == "payment_received":
                self.orders[e["order_id"]]["pays"].append(
                    {"event_id": e["event_id"], "date": e["paid_on"],
                     "paid": minor(e["amount"]), "full": bool(e.get("full", False))})
        for oid, o in self.orders.items():
            o["final_amount"] = o["amount"] - o["credit"]
            rows, res = self.apply(o, o["pays"])  # in stream order (= date order here)
            for p, row in zip(o["pays"], rows):
                p.update(row)
            o.update(res)
        # Per customer: the open invoices and the history of closed ones.
        self.cust_open = {c: {} for c in self.customers}
        self.cust_hist = {c: {"invoices_closed": 0, "tiers": {}, "after_windows": 0}
                          for c in self.customers}
        for oid, o in self.orders.items():
            if o["status"] == "open":
                self.cust_open[o["customer"]][oid] = (o["currency"], o["final_amount"],
                                                      o["balance"])
            elif o["status"] == "paid":
                h = self.cust_hist[o["customer"]]
                h["invoices_closed"] += 1
                if o["closed_tier"] is None:
                    h["after_windows"] += 1
                else:
                    h["tiers"][o["closed_tier"]] = h["tiers"].get(o["closed_tier"], 0) + 1

    def apply(self, o, pays):
        """The engine's rule for the cases generated: pays applied in the given order to
        order o -> (per payment {tier, discount, settled, unearned}, the invoice's totals)."""
        amt = o["final_amount"]
        tiers, _ = self.gh.schedule(o["terms"], dt.date.fromisoformat(o["ship"]), amt)
        bal, disc, unearned, closed_tier = amt, 0, 0, "open"
        rows = []
        for p in pays:
            d = dt.date.fromisoformat(p["date"])
            tier = next((i for i, t in enumerate(tiers) if d <= t[1]), None)
            P = p["paid"]
            if tier is None:  # after every window
                settled, dsc = P, 0
                une = bal - P if p["full"] and P < bal else 0
            else:
                ppm, _, tdisc, payable = tiers[tier]
                if p["full"]:  # declared in full: the window's discount, unearned if short
                    settled, dsc = P + tdisc, tdisc
                    une = max(0, payable - P)
                else:  # part inside a window: P settles P / (1 - r), exact when generated
                    settled = P * 1000000 // (1000000 - ppm)
                    dsc, une = settled - P, 0
            rows.append({"tier": tier, "discount": dsc, "settled": settled, "unearned": une})
            bal -= settled
            disc += dsc
            unearned += une
            if bal == 0:
                closed_tier = tier
        paid = bal == 0 and bool(pays)
        return rows, {"balance": bal, "disc": disc, "unearned": unearned,
                      "status": "cancelled" if o["cancelled"] else ("paid" if paid else "open"),
                      "closed_tier": closed_tier if paid else "open"}

    def counts(self):
        kinds = {}
        for e in self.events:
            kinds[e["type"]] = kinds.get(e["type"], 0) + 1
        return kinds


# ------------------------------------------------------------------ the stack (deploy/local.sh)

def _alive(pid):
    """The process exists and is not a zombie (the workers are not our children)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _socket_inodes(pid):
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def _addr(hexaddr):
    ip, port = hexaddr.split(":")
    if len(ip) == 8:
        return ".".join(str(int(ip[i:i + 2], 16)) for i in (6, 4, 2, 0)), int(port, 16)
    words = [ip[i:i + 8] for i in range(0, 32, 8)]
    raw = b"".join(bytes.fromhex(w)[::-1] for w in words)
    return ":".join(raw[i:i + 2].hex() for i in range(0, 16, 2)), int(port, 16)


def listening(pids):
    """(proto, address, port, pid) of every TCP listener and bound UDP socket of pids."""
    owner = {}
    for pid in pids:
        for ino in _socket_inodes(pid):
            owner[ino] = pid
    out = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open("/proc/net/" + proto) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            col = row.split()
            if len(col) < 10 or col[9] not in owner:
                continue
            state = col[3]
            if proto.startswith("tcp") and state != "0A":
                continue  # only listening TCP sockets
            addr, port = _addr(col[1])
            if proto.startswith("udp") and port == 0:
                continue
            out.append((proto, addr, port, owner[col[9]]))
    return out


class Run:
    """One deploy/local.sh run directory and the skontoctl environment it writes."""

    def __init__(self, root):
        self.root = root
        self.dir = os.path.join(root, "run")
        self.port = harness.free_port()
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("SKONTO_"):
                del self.env[k]
        self.env.update({"SKONTO_BIN": BIN, "SKONTO_INGEST_PORT": str(self.port),
                         "SKONTO_AUDIT_PORT": str(harness.free_port()), "SKONTO_AUDIT_FEED_PORT": str(harness.free_port()),
                         "SKONTO_DISCOUNT_WORKERS": "2", "SKONTO_REDIS_FSYNC": "always",
                         # no mail: this is about the events (the reminder
                         # worker's kill -9: test_reminder, test_remind_scenario)
                         "SKONTO_REMINDER_WORKERS": "0", "SKONTO_AUDIT_WORKERS": "0",
                         "SKONTO_STOP_TIMEOUT": "10", "SKONTO_UP_TIMEOUT": "60",
                         "SKONTO_TODAY": TODAY})
        self.ctl_env = None
        self.endpoint = None
        self.lock = threading.Lock()  # local.sh is not run twice at once

    def sh(self, verb, timeout=180):
        with self.lock:
            return subprocess.run(["bash", LOCAL_SH, verb, self.dir], env=self.env,
                                  capture_output=True, text=True, timeout=timeout)

    def up(self):
        r = self.sh("up")
        if r.returncode != 0:
            raise AssertionError("local.sh up -> %d\n%s\n%s" % (r.returncode, r.stderr[-3000:],
                                                                  self.logs()))
        env = {}
        for line in r.stdout.splitlines():
            if line.startswith("export "):
                k, _, v = line[len("export "):].partition("=")
                env[k] = shlex.split(v)[0] if v else ""
        env.pop("PATH", None)
        e = dict(self.env)
        e.update(env)
        self.ctl_env = e
        if self.endpoint is None:
            self.endpoint = env["SKONTO_INGEST_ENDPOINT"]
        return r, env["SKONTO_INGEST_ENDPOINT"]

    def down(self):
        return self.sh("down", timeout=120)

    def pids(self):
        d = os.path.join(self.dir, "pid")
        out = {}
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            try:
                with open(os.path.join(d, n)) as f:
                    out[n[:-4]] = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pass
        return out

    def kill9(self, name):
        """SIGKILL the live process NAME of the run (checked to run its program); its pid."""
        pid = self.pids()[name]
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        if PROGRAMS[name] not in cmd or not _alive(pid):
            raise AssertionError("%s: pid %d is not a live %s (%s)" % (
                name, pid, PROGRAMS[name], cmd))
        os.kill(pid, signal.SIGKILL)
        harness.wait_for(lambda: not _alive(pid), timeout=15, what="%s to die" % name)
        return pid

    def ctl(self, *args, timeout=120, leaks=True):
        """skontoctl ARGS against the stack. leaks=False: without LeakSanitizer's exit scan
        (it costs 4 of the 11 ms a call takes under ASan; the checks make 11,000 calls)."""
        env = self.ctl_env or self.env  # before the first up: settle, which needs no server
        if not leaks:
            env = dict(env)
            opts = [o for o in env.get("ASAN_OPTIONS", "").split(":")
                    if o and not o.startswith("detect_leaks=")]
            env["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=0"])
        return subprocess.run([os.path.join(BIN, "skontoctl"), *args], env=env,
                              capture_output=True, text=True, timeout=timeout)

    def ctl_json(self, *args):
        r = self.ctl(*args, "--json")
        if r.returncode != 0:
            raise AssertionError("skontoctl %s -> %d: %s" % (" ".join(args), r.returncode,
                                                             r.stderr.strip()))
        return json.loads(r.stdout)

    def status(self):
        return self.ctl_json("status")

    def listeners_beyond_loopback(self):
        pids = [p for p in self.pids().values() if _alive(p)]
        return [x for x in listening(pids) if x[1] != "127.0.0.1"]

    def logs(self, tail=3000):
        out = []
        d = os.path.join(self.dir, "log")
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), errors="replace") as f:
                out.append("--- %s\n%s" % (n, f.read()[-tail:]))
        return "\n".join(out)

    def sanitizer_reports(self):
        found = []
        d = os.path.join(self.dir, "log")
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), errors="replace") as f:
                for i, line in enumerate(f, 1):
                    if any(m in line for m in SANITIZER_MARKS):
                        found.append("%s:%d: %s" % (n, i, line.strip()))
        return found


# ------------------------------------------------------------------ the test

class RedisKillTest(unittest.TestCase):
    def setUp(self):
        self.t0 = time.time()
        self.root = tempfile.mkdtemp(prefix="skonto-rk-")
        self.run = Run(self.root)
        self.procs = []
        self.passed = False
        self.report = []
        self.out_of_order = {}  # order id -> tier the invoice closed in as applied
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        r = self.run.down()
        if r.returncode != 0:
            print("local.sh down -> %d: %s" % (r.returncode, r.stderr[-1000:]), file=sys.stderr)
        left = [n for n, pid in self.run.pids().items() if _alive(pid)]
        if left:
            print("still running after down: %s" % left, file=sys.stderr)
        try:
            with open(os.path.join(self.root, "report.txt"), "w") as f:
                f.write("\n".join(self.report) + "\n")
        except OSError:
            pass
        if self.passed and os.environ.get("SKONTO_TEST_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            print("run directory kept: %s (logs in run/log, report.txt)" % self.root,
                  file=sys.stderr)

    def note(self, msg):
        line = "%6.1fs  %s" % (time.time() - self.t0, msg)
        self.report.append(line)
        print(line, file=sys.stderr)

    # -- sending

    def send_file(self, path, lines=None, gates=()):
        """skontoctl send on a file, or, with lines, on its standard input: the lines are
        written in segments, and after each gate's segment the writer waits for the gate's
        kill to be done (the sender meanwhile has the segment's end in flight)."""
        stdin = subprocess.PIPE if lines is not None else subprocess.DEVNULL
        p = subprocess.Popen([os.path.join(BIN, "skontoctl"), "send",
                              "-" if lines is not None else path, "--json", *SEND_OPTS],
                             env=self.run.ctl_env, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.procs.append(p)
        writer = None
        if lines is not None:
            def write():
                try:
                    at = 0
                    for g in list(gates) + [None]:
                        end = len(lines) if g is None else g["line"]
                        p.stdin.write("".join(l + "\n" for l in lines[at:end]))
                        p.stdin.flush()
                        at = end
                        if g is not None:
                            g["reached"].set()
                            g["resume"].wait(timeout=180)
                    p.stdin.close()
                except (BrokenPipeError, ValueError, OSError) as e:
                    self.note("writing to skontoctl send: %r" % e)
            writer = threading.Thread(target=write, daemon=True)
            writer.start()
        for g in gates:
            g["reached"].wait(timeout=180)
            try:
                self.kill_at(g)
            finally:
                g["resume"].set()
        if writer:
            writer.join(timeout=300)
            p.stdin = None  # closed by the writer; communicate must not touch it
        out, err = p.communicate(timeout=300)
        res = parse_send_json(out)
        if res is None:
            raise AssertionError("skontoctl send %s -> %d, no JSON result:\n%s\n%s" % (
                path, p.returncode, out[-2000:], err[-2000:]))
        res["rc"], res["stderr"] = p.returncode, err
        return res

    def send_phase(self, name, lines, problems, gates=()):
        """Sends one file's lines (through standard input, gated at the kills); then resends
        exactly what send gave up on, until every event is answered."""
        total = {"accepted": 0, "duplicate": 0, "rejected": 0, "resent": 0, "rounds": 0}
        todo = list(enumerate(lines, 1))
        for rnd in range(6):
            path = os.path.join(self.root, "%s%s.jsonl" % (name, "" if rnd == 0 else
                                                           "-resend-%d" % rnd))
            with open(path, "w", encoding="utf-8") as f:
                for _, line in todo:
                    f.write(line + "\n")
            if rnd == 0:
                res = self.send_file(path, [l for _, l in todo], gates)
            else:
                res = self.send_file(path)
            total["rounds"] += 1
            for k in ("accepted", "duplicate", "rejected"):
                total[k] += res[k]
            for rj in res["rejections"]:
                n, line = todo[rj["line"] - 1]
                problems.append("REJECTED %s line %d (event %s, stream position %s): %s: %s" % (
                    name, n, rj["event_id"], self.stream.position.get(rj["event_id"]),
                    rj["reason_code"], rj["message"]))
            lost = [todo[u["line"] - 1] for u in res["unacknowledged_events"]]
            if res["unacknowledged"] != len(lost):
                problems.append("%s: send counted %d unacknowledged but listed %d" % (
                    name, res["unacknowledged"], len(lost)))
            if not lost:
                break
            self.note("%s: send gave up on %d events (%s...): resending exactly those" % (
                name, len(lost), ", ".join(json.loads(l)["event_id"] for _, l in lost[:5])))
            total["resent"] += len(lost)
            todo = lost
        else:
            problems.append("%s: %d events still unacknowledged after 6 rounds of send" % (
                name, len(todo)))
        return total

    # -- the kills

    def kill_at(self, g):
        """Once ingest has accepted g's number of events: kill -9, wait, local.sh up."""
        threshold, name, down_s = g["threshold"], g["name"], g["down_s"]
        end = time.time() + 30
        st, late = None, True
        while time.time() < end:
            try:
                st = self.run.status()
                if st.get("ingest", {}).get("accepted", 0) >= threshold:
                    late = False
                    break
            except Exception:  # Redis restarting, say: ask again
                pass
            time.sleep(0.02)
        k = {"name": name, "threshold": threshold, "phase": g["phase"],
             "written": g["position"], "late": late,
             "accepted": st["ingest"].get("accepted", 0) if st else None,
             "duplicate": st["ingest"].get("duplicate", 0) if st else None,
             "waiting": st["queue"]["waiting"] if st else None,
             "pending": st["queue"]["pending"] if st else None,
             "at_s": round(time.time() - self.t0, 1)}
        k["pid"] = self.run.kill9(name)
        time.sleep(down_s)
        t = time.time()
        _, endpoint = self.run.up()
        k["up_s"] = round(time.time() - t, 2)
        k["new_pid"] = self.run.pids().get(name)
        k["endpoint_kept"] = endpoint == self.run.endpoint
        k["beyond_loopback"] = self.run.listeners_beyond_loopback()
        self.kills.append(k)
        self.note("kill -9 %-10s (pid %d) at %s accepted (%d lines written; %s waiting, %s taken "
                  "by workers) during %s%s; down %.1fs, up in %.2fs -> pid %s" % (
                      name, k["pid"], k["accepted"], k["written"], k["waiting"], k["pending"],
                      k["phase"], " LATE" if late else "", down_s, k["up_s"], k["new_pid"]))

    def blame(self, event_id):
        """Where an event was in the stream and the kill nearest to it."""
        pos = self.stream.position.get(event_id)
        if pos is None or not self.kills:
            return "stream position %s" % pos
        k = min(self.kills, key=lambda k: abs(k["accepted"] - pos))
        return "stream position %d; nearest kill: %s at %d accepted (%+d)" % (
            pos, k["name"], k["accepted"], pos - k["accepted"])

    # -- checks through skontoctl

    def wait_drained(self, since, timeout=120):
        """status once the queues are empty and ingest has written a heartbeat after `since`
        (the end of the last send): ingest adds its counters to Redis with its next batch or
        heartbeat, so only then do they include every acknowledgement sent."""
        end = time.time() + timeout
        st = None
        while time.time() < end:
            try:
                st = self.run.status()
                hb = [w for w in st["workers"] if w["name"] == "ingest"]
                if st["queue"]["waiting"] == 0 and st["queue"]["pending"] == 0 and hb and \
                        hb[0]["age_s"] < time.time() - since - 0.2:
                    return st
            except Exception:
                pass
            time.sleep(0.25)
        self.fail("queues not drained after %d s: %s\n%s" % (timeout, st and st["queue"],
                                                            self.run.logs()))

    def check_status(self, st, problems, accepted_want):
        if st["dead_letters"]:
            problems.append("status: %d dead letters" % st["dead_letters"])
        if st["unapplied"]:
            problems.append("status: %d events not recorded (unapplied)" % st["unapplied"])
        if st["queue"]["waiting"] or st["queue"]["pending"]:
            problems.append("status: queue not empty: %s" % st["queue"])
        names = sorted(w["name"] for w in st["workers"])
        if names != ["discount-1", "discount-2", "ingest"]:
            problems.append("status: workers %s" % names)
        for w in st["workers"]:
            if w["stale"]:
                problems.append("status: worker %s is stale" % w["name"])
        ing = st["ingest"]
        if ing.get("accepted", 0) != accepted_want:
            problems.append("status: ingest accepted counter %d, want %d distinct events "
                            "(%+d); duplicate %d, rejected %d" % (
                                ing.get("accepted", 0), accepted_want,
                                ing.get("accepted", 0) - accepted_want,
                                ing.get("duplicate", 0), ing.get("rejected", 0)))
        if ing.get("rejected", 0):
            problems.append("status: ingest rejected counter %d, want 0" % ing["rejected"])

    def check_lists(self, problems):
        dlq = self.run.ctl_json("dlq", "list", "--limit", "100000")
        if dlq["total"] or dlq["dead_letters"]:
            problems.append("dlq list: %d dead letters, want none" % dlq["total"])
            for d in dlq["dead_letters"][:50]:
                problems.append("  dead letter %s: %s: %s (%s)" % (
                    d["event_id"], d["reason_code"], d["message"], self.blame(d["event_id"])))
        un = self.run.ctl_json("dlq", "list", "--unapplied", "--limit", "100000")
        if un["total"] or un["unapplied"]:
            problems.append("dlq list --unapplied: %d events, want none" % un["total"])
            for u in un["unapplied"][:50]:
                problems.append("  unapplied %s (%s order %s): %s (%s)" % (
                    u["event_id"], u["kind"], u["order_id"], u["reason"],
                    self.blame(u["event_id"])))

    def parallel(self, args_list):
        def one(args):
            r = self.run.ctl(*args, leaks=False)
            return args, r
        with ThreadPoolExecutor(PARALLEL) as ex:
            return list(ex.map(one, args_list))

    def check_customers(self, problems):
        """customer show --json for every customer; returns what was shown (for comparison)."""
        s = self.stream
        shown = {}
        for args, r in self.parallel([("customer", "show", c, "--json") for c in s.customers]):
            cid = args[2]
            ev = s.customers[cid]
            if r.returncode != 0:
                problems.append("customer %s: customer show -> %d: %s (event %s, %s)" % (
                    cid, r.returncode, r.stderr.strip(), ev["event_id"],
                    self.blame(ev["event_id"])))
                continue
            c = json.loads(r.stdout)
            shown[cid] = c
            for field, key in (("name", "name"), ("email", "email"), ("timezone", "timezone"),
                               ("locale", "locale"), ("statement", "statement"),
                               ("terms", "terms")):
                if c.get(field) != ev.get(key):
                    problems.append("customer %s: %s %r, sent %r" % (cid, field, c.get(field),
                                                                     ev.get(key)))
            got = {i["order_id"]: (i["currency"], minor(i["amount"]), minor(i["balance"]))
                   for i in c["invoices"]}
            if len(got) != len(c["invoices"]):
                problems.append("customer %s: an open invoice listed twice" % cid)
            want = s.cust_open[cid]
            for oid in sorted(set(got) | set(want)):
                if got.get(oid) != want.get(oid):
                    problems.append("customer %s: open invoice %s shown as %s, want %s" % (
                        cid, oid, got.get(oid), want.get(oid)))
            h, wh = c["history"], s.cust_hist[cid]
            tiers = {t["tier"]: t["count"] for t in h["tiers"] if t["count"]}
            shown_h = (h["invoices_closed"], tiers, h["after_windows"])
            if shown_h != (wh["invoices_closed"], wh["tiers"], wh["after_windows"]):
                # Explained by this customer's orders found applied out of order?
                mine = sorted(o for o in self.out_of_order if s.orders[o]["customer"] == cid)
                alt = {"tiers": dict(wh["tiers"]), "after_windows": wh["after_windows"]}
                for oid in mine:
                    for t, d in ((s.orders[oid]["closed_tier"], -1), (self.out_of_order[oid], 1)):
                        if t is None:
                            alt["after_windows"] += d
                        elif t != "open":
                            alt["tiers"][t] = alt["tiers"].get(t, 0) + d
                alt["tiers"] = {t: n for t, n in alt["tiers"].items() if n}
                why = ""
                if mine and shown_h == (wh["invoices_closed"], alt["tiers"], alt["after_windows"]):
                    why = " (exactly what orders %s applied out of order give)" % ", ".join(mine)
                problems.append("customer %s: history closed %d, per tier %s, after windows %d; "
                                "want %d, %s, %d%s" % (cid, h["invoices_closed"], tiers,
                                                       h["after_windows"], wh["invoices_closed"],
                                                       wh["tiers"], wh["after_windows"], why))
        return shown

    def check_order(self, oid, inv, problems):
        o = self.stream.orders[oid]
        ev = o["event"]
        bad = []

        def eq(what, got, want, fmt=repr):
            if got != want:
                bad.append("%s %s, want %s" % (what, fmt(got), fmt(want)))
        eq("customer", inv["customer_id"], o["customer"])
        eq("currency", inv["currency"], o["currency"])
        eq("salesperson", inv["salesperson"], o["salesperson"])
        eq("baseline", inv["baseline"], o["ship"])
        eq("terms", inv["terms"], o["terms"])
        eq("version", inv["version"], 1)
        eq("amount", minor(inv["amount"]), o["final_amount"], money)
        eq("credited", minor(inv["credited"]), o["credit"], money)
        def key(p):
            return (p["date"], p["paid"], p["full"])
        got = [(p["date"], minor(p["paid"]), p["full"]) for p in inv["payments"]]
        want = [key(p) for p in o["pays"]]  # in stream order
        exp, out_of_order = o, None
        if sorted(got) != sorted(want):
            missing = [w for w in want if w not in got]
            extra = list(got)
            for w in want:
                if w in extra:
                    extra.remove(w)
            for w in missing:
                pe = next(p for p in o["pays"] if key(p) == w)
                bad.append("payment %s (%s %s) MISSING [%s]" % (
                    pe["event_id"], w[0], money(w[1]), self.blame(pe["event_id"])))
            for x in extra:
                pe = next((p for p in o["pays"] if key(p) == x), None)
                bad.append("payment %s %s applied %s [%s]" % (
                    x[0], money(x[1]), "TWICE" if pe else "but never sent",
                    self.blame(pe["event_id"]) if pe else "?"))
        else:
            # Every payment sent, each once. order show lists them as applied: in stream order?
            applied, left = [], list(o["pays"])
            for g in got:
                p = next(p for p in left if key(p) == g)
                applied.append(p)
                left.remove(p)
            rows, exp = self.stream.apply(o, applied)
            if [p["event_id"] for p in applied] != [p["event_id"] for p in o["pays"]]:
                out_of_order = applied
                self.out_of_order[oid] = exp["closed_tier"]
            for p, w, row in zip(inv["payments"], applied, rows):
                what = "payment %s " % w["event_id"]
                eq(what + "tier", p["tier"], row["tier"])
                eq(what + "discount", minor(p["discount"]), row["discount"], money)
                eq(what + "settled", minor(p["settled"]), row["settled"], money)
                eq(what + "unearned", minor(p["unearned_discount"]), row["unearned"], money)
        eq("status", inv["status"], exp["status"])
        eq("balance", minor(inv["balance"]), exp["balance"], money)
        eq("discount earned", minor(inv["discount_earned"]), exp["disc"], money)
        eq("unearned", minor(inv["unearned_discount"]), exp["unearned"], money)
        if out_of_order:
            diff = []
            for what, k, fmt in (("status", "status", str), ("balance", "balance", money),
                                 ("discount earned", "disc", money),
                                 ("unearned discount", "unearned", money),
                                 ("closed", "closed_tier", tier_name)):
                if exp[k] != o[k]:
                    diff.append("%s %s instead of %s" % (what, fmt(exp[k]), fmt(o[k])))
            problems.append(
                "order %s: payments APPLIED OUT OF STREAM ORDER: %s, sent as %s; so %s%s [%s]" % (
                    oid, " then ".join("%s (%s %s)" % (p["event_id"], p["date"], money(p["paid"]))
                                       for p in out_of_order),
                    " then ".join(p["event_id"] for p in o["pays"]),
                    ", ".join(diff) or "the same totals",
                    "; and besides: " + "; ".join(bad) if bad else "",
                    "; ".join("%s: %s" % (p["event_id"], self.blame(p["event_id"]))
                              for p in o["pays"])))
        elif bad:
            who = [ev["event_id"]] + o["credit_events"] + o["cancel_events"]
            problems.append("order %s: %s (order event %s, %s)" % (
                oid, "; ".join(bad), ev["event_id"], self.blame(who[-1] if len(who) > 1
                                                                 else who[0])))

    def check_orders(self, problems, ids=None):
        s = self.stream
        ids = sorted(s.orders) if ids is None else ids
        shown = {}
        for args, r in self.parallel([("order", "show", o, "--json") for o in ids]):
            oid = args[2]
            if r.returncode != 0:
                ev = s.orders[oid]["event"]
                problems.append("order %s: order show -> %d: %s (event %s LOST? %s)" % (
                    oid, r.returncode, r.stderr.strip(), ev["event_id"],
                    self.blame(ev["event_id"])))
                continue
            inv = json.loads(r.stdout)
            shown[oid] = inv
            self.check_order(oid, inv, problems)
        return shown

    def check_rule_with_settle(self, problems):
        """The expected payments above follow the engine's rule: a sample through settle."""
        s = self.stream
        r = random.Random(6)
        by_kind = {}
        for oid, o in s.orders.items():
            if not o["pays"] or o["cancelled"]:
                continue
            kind = (o["terms"], len(o["pays"]), o["credit"] > 0, o["unearned"] > 0,
                    o["status"], tuple(p["tier"] for p in o["pays"]))
            by_kind.setdefault(kind, []).append(oid)
        sample = []
        for kind in sorted(by_kind, key=repr):
            sample += r.sample(sorted(by_kind[kind]), min(2, len(by_kind[kind])))
        args_list = []
        for oid in sample:
            o = s.orders[oid]
            a = ["settle", "--terms", o["terms"], "--baseline", o["ship"], "--amount",
                 money(o["final_amount"]), "--currency", o["currency"], "--json"]
            for p in sorted(o["pays"], key=lambda p: p["date"]):
                a += ["--payment", "%s:%s%s" % (p["date"], money(p["paid"]),
                                                ":full" if p["full"] else "")]
            args_list.append(a)
        for args, rr in self.parallel(args_list):
            oid = sample[args_list.index(list(args))]
            o = s.orders[oid]
            if rr.returncode != 0:
                problems.append("settle for %s -> %d: %s" % (oid, rr.returncode, rr.stderr))
                continue
            out = json.loads(rr.stdout)
            got = (minor(out["balance"]), [(p["tier"], minor(p["discount"]), minor(p["settled"]))
                                           for p in out["payments"]])
            want = (o["balance"], [(p["tier"], p["discount"], p["settled"])
                                   for p in sorted(o["pays"], key=lambda p: p["date"])])
            if got != want:
                problems.append("the test's rule for %s differs from skontoctl settle: %s vs %s"
                                % (oid, want, got))
        return len(sample)

    # -- the run

    def test_redis_kill9_three_times_plus_ingest_and_discount_during_20000_events(self):
        self.stream = s = Stream()
        total = len(s.lines)
        self.note("stream: %d events %s, files %s" % (
            total, s.counts(), {p: len(v) for p, v in s.phase_lines.items()}))
        self.assertGreater(total, 19000)
        problems = []
        n = self.check_rule_with_settle(problems)
        self.assertEqual(problems, [], "the expected state follows the engine (%d settles)" % n)

        _, endpoint = self.run.up()
        with open(os.path.join(self.run.dir, "redis", "redis.conf")) as f:
            conf = f.read()
        self.assertIn("appendfsync always", conf)
        self.assertIn("appendonly yes", conf)
        self.assertEqual(endpoint, "tcp://127.0.0.1:%d" % self.run.port)
        self.assertEqual(sorted(self.run.pids()), ["discount-1", "discount-2", "ingest", "redis"])
        self.assertEqual(self.run.listeners_beyond_loopback(), [])
        self.note("stack up in %s, ingest at %s" % (self.run.dir, endpoint))

        plan = KILL_PLAN if os.environ.get("SKONTO_TEST_KILLS", "1") != "0" else []
        self.kills = []
        sends = {}
        start = 0
        for p in Stream.PHASES:
            lines = s.phase_lines[p]
            gates = []
            for threshold, name, down_s in plan:
                if start < threshold <= start + len(lines):
                    at = min(threshold + AHEAD, start + len(lines)) - start
                    gates.append({"threshold": threshold, "name": name, "down_s": down_s,
                                  "phase": p, "line": at, "position": start + at,
                                  "reached": threading.Event(), "resume": threading.Event()})
            t = time.time()
            sends[p] = self.send_phase(p, lines, problems, gates)
            self.note("sent %-11s %5d events in %5.1fs: %s" % (
                p, len(lines), time.time() - t, sends[p]))
            start += len(lines)
        self.assertEqual([k["name"] for k in self.kills], [k[1] for k in plan],
                         "every kill of the plan happened")
        for k in self.kills:
            self.assertTrue(k["endpoint_kept"], "ingest kept its endpoint after %s" % k)
            self.assertEqual(k["beyond_loopback"], [], "listeners after restarting %s" % k)
            self.assertNotEqual(k["new_pid"], k["pid"], "%s was restarted" % k["name"])
        st = self.run.sh("status")
        self.assertEqual(st.returncode, 0, "every process alive:\n%s" % st.stdout)
        self.assertEqual(self.run.listeners_beyond_loopback(), [])
        acc = sum(v["accepted"] for v in sends.values())
        dup = sum(v["duplicate"] for v in sends.values())
        self.note("send answered %d accepted + %d duplicate (resends after the kills) for %d "
                  "events; %d events resent because send gave up on them" % (
                      acc, dup, total, sum(v["resent"] for v in sends.values())))
        if acc > total:
            problems.append("send saw %d events accepted, more than the %d distinct events: "
                            "ingest accepted some event twice" % (acc, total))

        # The state the kills left, exactly.
        t = time.time()
        st = self.wait_drained(since=t)
        self.note("drained in %.1fs" % (time.time() - t))
        before = list(problems)
        self.check_status(st, problems, total)
        self.check_lists(problems)
        t = time.time()
        orders = self.check_orders(problems)
        customers = self.check_customers(problems)
        self.note("checked %d orders and %d customers in %.1fs: %d problems" % (
            len(orders), len(customers), time.time() - t, len(problems) - len(before)))
        accepted_before = st["ingest"].get("accepted", 0)
        dup_before = st["ingest"].get("duplicate", 0)
        self.report.append("status after the kills, drained: " + json.dumps(st))

        # The whole stream once more: every event must be a duplicate.
        path = os.path.join(self.root, "all.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(s.lines) + "\n")
        t = time.time()
        res = self.send_file(path)
        self.note("resent all %d events in %.1fs: %d accepted, %d duplicate, %d rejected, "
                  "%d unacknowledged" % (total, time.time() - t, res["accepted"],
                                         res["duplicate"], res["rejected"],
                                         res["unacknowledged"]))
        if res["accepted"] or res["duplicate"] != total or res["rejected"] or \
                res["unacknowledged"]:
            problems.append("final resend of all %d events: %d accepted (acknowledged events "
                            "that were lost), %d duplicate, %d rejected, %d unacknowledged" % (
                                total, res["accepted"], res["duplicate"], res["rejected"],
                                res["unacknowledged"]))
            for rj in res["rejections"][:20]:
                problems.append("  final resend rejected %s: %s: %s" % (
                    rj["event_id"], rj["reason_code"], rj["message"]))
        st = self.wait_drained(since=time.time())
        self.report.append("status after the final resend: " + json.dumps(st))
        after = []
        self.check_status(st, after, total)
        if st["ingest"].get("accepted", 0) != accepted_before:
            problems.append("the final resend moved ingest's accepted counter from %d to %d" % (
                accepted_before, st["ingest"].get("accepted", 0)))
        if st["ingest"].get("duplicate", 0) - dup_before != res["duplicate"]:
            problems.append("the final resend got %d duplicate answers; ingest's duplicate "
                            "counter moved by %d" % (res["duplicate"],
                                                     st["ingest"].get("duplicate", 0) - dup_before))
        self.check_lists(after)
        again = self.check_customers(after)
        changed = sorted(c for c in customers if again.get(c) != customers[c])
        if changed:
            problems.append("the final resend changed customers %s" % changed[:20])
        sample = random.Random(3).sample(sorted(orders), min(300, len(orders)))
        orders_again = self.check_orders(after, sample)
        changed = sorted(o for o in sample if orders_again.get(o) != orders[o])
        if changed:
            problems.append("the final resend changed orders %s" % changed[:20])
        seen = set(problems)  # what the first check found already is not repeated
        problems += ["after the final resend: " + p for p in after if p not in seen]

        # Stop the stack (sanitizers report leaks at exit), then read the logs.
        r = self.run.down()
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in self.run.sanitizer_reports():
            problems.append("sanitizer: " + line)

        self.report.append("kills: " + json.dumps(self.kills))
        self.report.append("sends: " + json.dumps(sends))
        self.report += ["PROBLEM " + p for p in problems]
        self.note("%d problems; test took %.1fs" % (len(problems), time.time() - self.t0))
        self.assertEqual(problems[:60], [], "%d problems after the kills (run directory %s, "
                                            "report.txt there)" % (len(problems), self.root))
        self.passed = True


if __name__ == "__main__":
    unittest.main()
