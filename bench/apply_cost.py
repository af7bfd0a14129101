#!/usr/bin/python3
"""bench/apply_cost.py [--script services/discount/apply.lua] [--calls 300] [--sizes 4,17,64]

What one entry of the discount worker's apply script costs Redis, by entries
per call, away from the rest of the stack (whose noise hides changes of a few
per cent in `./run bench`). Starts a throw-away redis-server on a unix socket,
fills a shard's due queue with 60 000 members (the size the bench reaches)
and its pending statements with the 5 000 customers', and for each batch
size calls the script `--calls` times with
N new pending stream entries, each a first version of an order planned the
way the bench's are (6 counter deltas, summed for the call as the worker
does, one reminder, the customer's statement; customers BC-000000 ..
BC-004999 in turn). Prints, per size, the
EVALSHA time per entry (INFO commandstats, which includes the commands the
script runs), redis-server's on-CPU time per entry (/proc/PID/schedstat,
which also counts the XADD and XREADGROUP that set each call up), and the
commands the script ran. Exits 1 if an entry is not answered OK.

Run it a few times, alternating the scripts compared, and take the lowest
figures: on a shared machine one run can be 50 % slower than the next.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from skredis import Redis  # noqa: E402  (the tests' RESP client)

SHARD = "sk:{s0}:"
STATE = bytes(range(1, 120))  # a packed InvoiceState's size; the script never reads it


def commandstats(r):
    stats = {}
    for line in r.cmd("INFO", "commandstats").decode().split("\r\n"):
        if line.startswith("cmdstat_"):
            name, fields = line[8:].split(":", 1)
            d = dict(kv.split("=") for kv in fields.split(","))
            stats[name] = (int(d["calls"]), int(d["usec"]))
    return stats


# an entry's counter increments: (KEYS index of the counter, field, delta)
INCR = [(8, "s|2026-12|CNY", 9992382), (2, "2027-01-30|CNY", 9992382),
        (3, "2027-01-30|CNY", 9992382), (4, "offered|t0|20000", 1),
        (4, "offered|t1|10000", 1), (4, "offered|t2|5000", 1)]


def record(entry_id, kb, n):
    """One entry's record (see apply.lua's header), a first version."""
    oid, cid = "B%07d" % n, "BC-%06d" % (n % 5000)
    incs = "".join("%d\t%s\t%d\n" % (k, f, d) for k, f, d in INCR)
    return [entry_id, "0", kb, oid, "20848", STATE, "1", incs,
            "0", "0", "1", "1796691600000", "r|1|2026-12-11|3|" + oid,
            cid, "s|2026-12-07T01:00:00Z|" + cid, "1796605200000"], oid, cid


def sums(size):
    """The call's counter sums, as the worker computes them: (KEYS index, field, sum)."""
    out = {}
    for k, f, d in INCR:
        out[(k, f)] = out.get((k, f), 0) + d * size
    return [str(len(out))] + [str(x) for (k, f), v in out.items() for x in (k, f, v)]


def run(r, sha, size, calls, first):
    stream = SHARD + "events"
    shard_keys = [stream] + [SHARD + k for k in ("fc:hist", "fc:net", "takeup",
                                                  "unapplied", "rdue", "stmt", "pol", "pcust",
                                                  "psp")]
    n = first
    for _ in range(calls):
        ids = r.pipe([("XADD", stream, "*", "e", "x", "q", "1")] * size)
        r.cmd("XREADGROUP", "GROUP", "discount", "w", "COUNT", size, "STREAMS", stream, ">")
        keys, args = list(shard_keys), [SHARD + "rsent", SHARD + "rproc"] + sums(size)
        for eid in ids:
            n += 1
            rec, oid, cid = record(eid.decode(), len(keys) + 1, n)
            keys += [SHARD + "inv:" + oid, SHARD + "copen:" + cid, SHARD + "hist:" + cid]
            args += rec
        out = r.cmd("EVALSHA", sha, len(keys), *keys, *args)
        if not isinstance(out, list) or any(x not in ("OK", b"OK") for x in out):
            print("apply_cost: the script answered %r" % (out[:4] if isinstance(out, list) else out))
            sys.exit(1)
    return n


def main():
    p = argparse.ArgumentParser()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    p.add_argument("--script", default=os.path.join(root, "services/discount/apply.lua"))
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--sizes", default="4,17,64")
    o = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="skonto-apply-cost.")
    sock = os.path.join(tmp, "redis.sock")
    redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                              "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                              "--dir", tmp], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        r = Redis(sock, decode=False)
        with open(o.script, "rb") as lua:
            sha = r.cmd("SCRIPT", "LOAD", lua.read()).decode()
        r.cmd("XGROUP", "CREATE", SHARD + "events", "discount", "$", "MKSTREAM")
        r.pipe([("ZADD", SHARD + "rdue", 1796691600000 + i, "r|pre|%d" % i) for i in range(60000)])
        # every customer's statement already queued, as after the bench's first orders
        r.pipe([("HSET", SHARD + "stmt", "BC-%06d" % i, "s|pre|%d" % i) for i in range(5000)])
        schedstat = "/proc/%d/schedstat" % redis.pid
        n = 0
        print("%s, %d calls per size" % (os.path.relpath(o.script), o.calls))
        for size in (int(x) for x in o.sizes.split(",")):
            before, cpu0 = commandstats(r), int(open(schedstat).read().split()[0])
            n = run(r, sha, size, o.calls, n)
            after, cpu1 = commandstats(r), int(open(schedstat).read().split()[0])
            entries = size * o.calls
            ev = after["evalsha"][1] - before.get("evalsha", (0, 0))[1]
            print("  %3d entries a call: EVALSHA %5.2f us an entry, redis-server on CPU %5.2f us"
                  " an entry" % (size, ev / entries, (cpu1 - cpu0) / 1e3 / entries))
            inner = sorted(((after[c][1] - before.get(c, (0, 0))[1], c) for c in after
                            if c not in ("evalsha", "xadd", "xreadgroup", "info")), reverse=True)
            print("       " + ", ".join("%s %.2f" % (c, us / entries) for us, c in inner if us))
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
