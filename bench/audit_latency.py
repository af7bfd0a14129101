"""Append latency of the audit worker at a fixed offered load (issue 9's
benchmark, run by bench/audit.sh): a real redis-server, ingest, discount
worker and skonto-audit (tests/harness.py, loopback, CURVE), 50 invoices,
then override requests from a salesperson at RATE per second for SECONDS,
each a new request (its own request id) that the worker validates, prices
(sk_override_apply on the stored invoice) and appends to the log with its
record in one Lua call before it answers. The latency is the client's, send
to answer, so it includes the ZeroMQ round trip; printed as p50, p99, max.

    /usr/bin/python3 bench/audit_latency.py BUILD_DIR [RATE] [SECONDS]
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import skingest  # noqa: E402
from harness import Stack, wait_for  # noqa: E402
from test_audit_worker import AuditClient, request  # noqa: E402


def main():
    build = os.path.abspath(sys.argv[1])
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    skingest.load()
    with Stack(build) as st:
        st.redis_cli("SET", "sk:{sys}:clock", 1793606400000)  # 2026-11-02T08:00Z
        st.env["SKONTO_CLOCK"] = "redis"
        keys = st.audit_setup([("sam", "sam", "sales")])
        st.start_ingest()
        st.start_discount()
        erp = skingest.Client(st.ingest_endpoint)
        orders = ["SO-B%02d" % i for i in range(50)]
        acks = [erp.send(skingest.customer("bc", "C-B"))]
        acks += [erp.send(skingest.order("bo%d" % i, o, "C-B")) for i, o in enumerate(orders)]
        assert all(a is not None and a.status == skingest.ACCEPTED for a in acks), acks
        st.wait_drained()
        st.start_audit(env={"SKONTO_OVERRIDE_TTL": "72h"})
        sam = AuditClient(st, keys["sam"])
        revs = {o: st.ctl_json("order", "show", o)["revision"] for o in orders}
        n = rate * seconds
        lat = []
        t0 = time.perf_counter()
        for i in range(n):
            due = t0 + i / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            o = orders[i % len(orders)]
            req = request(o, revs[o], "bench-%d" % i, new_last_day="2026-11-14")
            s = time.perf_counter()
            rep = sam.call(req)
            lat.append(time.perf_counter() - s)
            assert rep is not None and rep.status == 0, (rep and rep.message)
        took = time.perf_counter() - t0
        size = int(st.redis_cli("XLEN", "sk:{audit}:log"))
        wait_for(lambda: True)
    lat.sort()
    ms = [x * 1000 for x in lat]
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    print("  %d override requests at %d/s in %.1f s: %d log entries" % (n, rate, took, size))
    print("figure                                                     measured   target")
    print("(e) append latency p50, ms (request to answer)              %7.3f" % p(0.50))
    print("(e) append latency p99, ms                                  %7.3f   <= 2 ms  %s"
          % (p(0.99), "met" if p(0.99) <= 2 else "SHORT"))
    print("(e) append latency max, ms                                  %7.3f" % ms[-1])


if __name__ == "__main__":
    main()
