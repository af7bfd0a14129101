#!/usr/bin/env bash
# bench/run.sh BUILD_DIR [skonto-bench options]
#
# Starts a throw-away stack in a temporary directory — redis-server on a unix
# socket without persistence (the bench measures Skonto, not the disk),
# skonto-ingest on a free loopback TCP port, SKONTO_BENCH_WORKERS (default 2)
# skonto-discount workers — runs BUILD_DIR/bin/skonto-bench against it, and
# removes everything afterwards. `./run bench` calls this with build-release.
# SKONTO_BENCH_PROGRAM=skonto-bench-policy runs issue 10's report benchmark
# instead (options --invoices N (1000000), --customers C (20000), --window W).
#
# Options after BUILD_DIR go to skonto-bench: --orders N (200000),
# --customers C (5000), --window W (20000), --rate R (5000), --seconds S (10),
# --no-redis-benchmark.
set -euo pipefail
BUILD=${1:-build-release}
shift || true
BIN=$(cd "$BUILD/bin" && pwd)
PROGRAM=${SKONTO_BENCH_PROGRAM:-skonto-bench}
for p in "$PROGRAM" skonto-ingest skonto-discount; do
  [ -x "$BIN/$p" ] || { echo "bench/run.sh: $BIN/$p not found (build first)" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" skonto-bench
SOCK=$DIR/redis.sock
bench_redis "$SOCK"
PORT=$(bench_free_port)
export SKONTO_REDIS_URL=unix://$SOCK SKONTO_INGEST_ENDPOINT=tcp://127.0.0.1:$PORT

SKONTO_WORKER_NAME=ingest "$BIN/skonto-ingest" >"$DIR/ingest.log" 2>&1 &
PIDS+=($!)
BENCH_PIDS="redis-server:$REDIS_PID ingest:$!"
for n in $(seq 1 "${SKONTO_BENCH_WORKERS:-2}"); do
  SKONTO_WORKER_NAME=discount-$n "$BIN/skonto-discount" >"$DIR/discount-$n.log" 2>&1 &
  PIDS+=($!)
  BENCH_PIDS="$BENCH_PIDS discount-$n:$!"
done

# Wait until every worker heartbeats (its pid appears in sk:{sys}:hb).
for entry in $BENCH_PIDS; do
  pid=${entry##*:}
  [ "${entry%%:*}" = redis-server ] && continue
  for i in $(seq 200); do
    redis-cli -s "$SOCK" --raw HVALS 'sk:{sys}:hb' | grep -Eq "\"pid\" *: *${pid}[,} ]" && break
    kill -0 "$pid" 2>/dev/null || { echo "bench/run.sh: ${entry%%:*} died:" >&2; cat "$DIR"/*.log >&2; exit 1; }
    [ "$i" = 200 ] && { echo "bench/run.sh: ${entry%%:*} sent no heartbeat" >&2; exit 1; }
    sleep 0.1
  done
done

echo "stack: redis-server (unix socket, no persistence), 1 ingest, ${SKONTO_BENCH_WORKERS:-2} discount;" \
  "$(nproc) CPU cores; $(redis-server --version | cut -d' ' -f3)"
rc=0
SKONTO_BENCH_PIDS=$BENCH_PIDS "$BIN/$PROGRAM" "$@" || rc=$?
if [ $rc -ne 0 ]; then
  echo "bench/run.sh: $PROGRAM failed ($rc); worker logs:" >&2
  tail -n 20 "$DIR"/*.log >&2 || true
fi
exit $rc
