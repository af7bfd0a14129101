# shellcheck shell=bash
# bench/lib.sh PREFIX — sourced by bench/run.sh and bench/remind.sh: a
# temporary directory /tmp/PREFIX.XXXXXX ($DIR) removed at exit together with
# every process whose pid was added to PIDS (SIGTERM, then wait), a
# redis-server of its own, a free loopback port. Sets DIR, PIDS, PY.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
DIR=$(mktemp -d "/tmp/$1.XXXXXX")
PIDS=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bench_redis SOCK: redis-server on the unix socket SOCK only, without
# persistence (the benches measure Skonto, not the disk), log in $DIR;
# returns once it answers PING. Sets REDIS_PID.
bench_redis() {
  redis-server --port 0 --unixsocket "$1" --unixsocketperm 700 --save '' --appendonly no \
    --dir "$DIR" --daemonize no --logfile "$DIR/redis.log" &
  PIDS+=($!)
  # shellcheck disable=SC2034 # run.sh reports its CPU
  REDIS_PID=$!
  for _ in $(seq 100); do
    [ "$(redis-cli -s "$1" PING 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
}

# bench_free_port: a loopback TCP port nothing listens on now.
bench_free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
