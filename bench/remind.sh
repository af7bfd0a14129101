#!/usr/bin/env bash
# bench/remind.sh BUILD_DIR [mails] [pending]
#
# Issue 8's benchmark, in a temporary directory removed afterwards:
#   (a) reminder mails per second through common/io/sk_mailer
#       (skonto-bench-mail: render + MIME, then delivery over one reused
#       connection) to a local SMTP sink, Debian's aiosmtpd with its Sink
#       handler (accepts and discards) on a free loopback port; the sink alone
#       (bench/smtp_client.py: Python smtplib over one connection, the same
#       mail bytes), so the figure says which side limits; and into a maildir
#       (tmp/, fsync, rename into new/) on the temporary directory's disk;
#   (b) the due queue with `pending` (default 1 000 000) reminders in the 16
#       sk:{sN}:rdue sets of a redis-server of its own (unix socket, no
#       persistence): load rate, Redis bytes per pending reminder, and claims
#       per second through the reminder worker's services/reminder/claim.lua
#       (skonto-bench-queue).
# `mails` defaults to 5000. Run it on a Release build:
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release
#   bench/remind.sh build-release
set -euo pipefail
BUILD=${1:-build-release}
MAILS=${2:-5000}
PENDING=${3:-1000000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$BUILD/bin" && pwd)
for p in skonto-bench-mail skonto-bench-queue; do
  [ -x "$BIN/$p" ] || { echo "bench/remind.sh: $BIN/$p not found (build first)" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh" skonto-bench-remind
PY=/usr/bin/python3 # aiosmtpd is Debian's
"$PY" -c 'import aiosmtpd' 2>/dev/null || { echo "bench/remind.sh: needs python3-aiosmtpd (./run deps)" >&2; exit 1; }

echo "machine: $(nproc) CPU cores; $(redis-server --version | cut -d' ' -f3);" \
  "aiosmtpd $("$PY" -c 'import aiosmtpd; print(aiosmtpd.__version__)')"

# (a) mail
PORT=$(bench_free_port)
"$PY" -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Sink >"$DIR/smtpd.log" 2>&1 &
PIDS+=($!)
for i in $(seq 100); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
  [ "$i" = 100 ] && { echo "bench/remind.sh: aiosmtpd did not start:" >&2; cat "$DIR/smtpd.log" >&2; exit 1; }
  sleep 0.1
done
echo "(a) reminder mails"
env -u SKONTO_SMTP_USER -u SKONTO_SMTP_PASSWORD_FILE -u SKONTO_SMTP_STARTTLS \
  SKONTO_SMTP_URL="smtp://127.0.0.1:$PORT" "$BIN/skonto-bench-mail" "$MAILS" "$DIR/sample.eml"
"$PY" "$SRC/bench/smtp_client.py" 127.0.0.1 "$PORT" "$DIR/sample.eml" "$MAILS"
env -u SKONTO_SMTP_URL SKONTO_MAILDIR="$DIR/maildir" "$BIN/skonto-bench-mail" "$MAILS"
echo "  (maildir on $(df -P "$DIR" | awk 'NR==2 {print $1}'): $(find "$DIR/maildir/new" -type f | wc -l) files in new/)"

# (b) the due queue
SOCK=$DIR/redis.sock
bench_redis "$SOCK"
echo "(b) due queue"
"$BIN/skonto-bench-queue" "$SOCK" "$SRC/services/reminder/claim.lua" "$PENDING"
