#!/usr/bin/env bash
# audit.sh — issue 9's benchmark of the audit log:
#   (e) append latency at 500 override requests a second (bench/audit_latency.py:
#       the real audit worker behind ingest and a discount worker; target p99
#       <= 2 ms), and
#   (f) `skontoctl audit verify` over a log of 1,000,000 entries (written by
#       skonto-bench-auditfill as the worker stores them, a signed checkpoint
#       every 100) in a redis-server of its own: the CPU seconds of skontoctl
#       (target 5 s or less on one core) and the wall time beside them.
# Usage: bench/audit.sh BUILD_DIR [ENTRIES] [RATE]   (defaults 1000000, 500)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: bench/audit.sh BUILD_DIR [ENTRIES] [RATE]}" && pwd)
N=${2:-1000000}
RATE=${3:-500}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/skonto-bench-audit.XXXXXX)
cleanup() {
  [ -S "$TMP/redis.sock" ] && redis-cli -s "$TMP/redis.sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "  (e) audit worker: $RATE override requests/s for 10 s"
SK_BUILD_DIR=$BUILD "$PY" "$ROOT/bench/audit_latency.py" "$BUILD" "$RATE" 10

echo "  (f) audit verify over $N entries"
redis-server --port 0 --unixsocket "$TMP/redis.sock" --unixsocketperm 700 --save "" \
  --appendonly no --dir "$TMP" --daemonize yes --logfile "$TMP/redis.log" >/dev/null
for _ in $(seq 50); do [ -S "$TMP/redis.sock" ] && break; sleep 0.1; done
"$BUILD/bin/skonto-audit" keygen bench.skonto/audit "$TMP/log.key" "$TMP/log.pub" >/dev/null
"$BUILD/bin/skonto-bench-auditfill" "$TMP/redis.sock" "$TMP/log.key" "$N" | sed 's/^/    /'
mem=$(redis-cli -s "$TMP/redis.sock" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
SKONTO_REDIS_URL="unix://$TMP/redis.sock" "$PY" - "$BUILD/bin/skontoctl" "$TMP/log.pub" "$N" "$mem" <<'PY'
import resource, subprocess, sys, time
ctl, pub, n, mem = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0, r0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
r = subprocess.run([ctl, "audit", "verify", "--pub", pub], capture_output=True, text=True)
wall, r1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
print("    " + (r.stdout + r.stderr).strip())
if r.returncode != 0:
    sys.exit("audit verify failed")
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print("figure                                                     measured   target")
print("(f) audit verify, CPU s of skontoctl for %-8d entries     %7.2f   <= 5 s  %s"
      % (n, cpu, "met" if cpu <= 5 else "SHORT"))
print("(f) audit verify, wall s (Redis reads included)            %7.2f" % wall)
print("(f) Redis bytes per log entry (with its checkpoints)       %7d" % (mem // n))
PY
