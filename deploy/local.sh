#!/usr/bin/env bash
# local.sh — run Skonto on this machine: redis-server, one skonto-ingest, N
# skonto-discount workers and, once they are built, one skonto-reminder and
# one skonto-audit in the background, all state under one run directory.
#
#   deploy/local.sh up     [RUNDIR]   start what is not running; print the env to use
#   deploy/local.sh status [RUNDIR]   which processes are alive, then `skontoctl status`
#   deploy/local.sh down   [RUNDIR]   stop the workers (TERM, then KILL), then redis
#
# RUNDIR defaults to $SKONTO_RUN_DIR, else var/local in the repository (not
# run/: that is the ./run script). Inside it:
#   redis/        redis-server's data directory (redis.conf, the append-only file)
#   redis.sock    the unix socket every worker and skontoctl use
#   log/          one log per process (redis.log, ingest.log, discount-1.log, ...)
#   maildir/      the reminder's mails (tmp/ new/ cur/), unless SKONTO_MAILDIR
#                 or SKONTO_SMTP_URL says otherwise
#   pid/          one pid file per process
#   ports         the TCP ports of this run directory, one NAME=PORT a line:
#                 ingest=7750, ingest's loopback ROUTER port, audit=7770 and
#                 audit-feed=7771, the audit worker's ROUTER and PUB feed, and
#                 metrics-WORKER=PORT, where each worker serves /metrics and
#                 /healthz on 127.0.0.1 (SKONTO_METRICS_ADDR; `skontoctl
#                 status` shows them). Chosen by the first `up` and kept: a
#                 restarted worker gets its port back, so clients (a running
#                 `skontoctl send`, a Prometheus scraping) find it where it
#                 was; if something else holds ingest's, `up` fails; if
#                 something holds a metrics port, that worker's metrics move
#                 to a free port (recorded, and `up` says so)
#   secrets/      made once per run directory, mode 0700 (docs/SECURITY.md):
#                 ingest-server.key/.pub  ingest's CURVE key pair
#                 erp-local.key/.pub      an ERP client key (user erp-local, role erp)
#                 sales-local, director-local, finance-local, auditor-local
#                                         .key/.pub: one person of each role of
#                                         the override workflow (roles sales,
#                                         sales_director, finance_director, auditor)
#                 authorized_keys         the key registry ingest and audit admit
#                 audit-server.key/.pub   the audit worker's CURVE key pair
#                 audit-log.key           the audit log's Ed25519 signing key
#                                         (0600; only skonto-audit reads it)
#                 redis-<user>.pass       Redis ACL passwords: default (admin,
#                                         used by this script), ingest, discount,
#                                         reminder, audit, auditor, skontoctl,
#                                         clock (used only with SKONTO_CLOCK=redis)
#   audit-log.pub the audit log's public key, for auditors (0644; docs/AUDIT.md)
#   clock         the clock the stack runs on (SKONTO_CLOCK of the `up` that
#                 started redis; kept while it runs)
#   env           the environment to use the stack: `. RUNDIR/env` (skontoctl
#                 as Redis user skontoctl, read-only; send as erp-local over CURVE)
#
# `up` is idempotent: a process whose pid file names a live process of the
# right program is left alone, so running `up` twice starts nothing twice.
# `up` prints `export VAR=value` lines on stdout (progress goes to stderr),
# so `eval "$(deploy/local.sh up)"` configures the calling shell.
#
# Every worker gets the caller's whole environment (so every SKONTO_* setting,
# SKONTO_REMINDER_LEADS or SKONTO_SMTP_URL say, reaches every worker), with
# what this script sets per worker on top: SKONTO_REDIS_URL, _USER and
# _PASSWORD_FILE, SKONTO_INGEST_ENDPOINT, SKONTO_CLOCK, SKONTO_WORKER_NAME,
# SKONTO_METRICS_ADDR, ingest's CURVE files and the reminder's SKONTO_MAILDIR
# default. A worker a later `up` restarts gets that `up`'s environment.
#
# Environment (see docs/RUNNING.md):
#   SKONTO_BIN               where the programs are (default: <repo>/build/bin)
#   SKONTO_DISCOUNT_WORKERS  how many discount workers (default 2)
#   SKONTO_REMINDER_WORKERS  1 (default): start the reminder worker; 0: do not
#                            (no reminders or statements are mailed; the
#                            discount workers still queue them)
#   SKONTO_AUDIT_WORKERS     1 (default): start the audit worker; 0: do not (no
#                            override can be requested; hand-offs wait in auditq)
#   SKONTO_AUDIT_PORT, SKONTO_AUDIT_FEED_PORT  the audit worker's ROUTER and PUB
#                            feed ports for the first `up` of a run directory
#                            (default 7770, 7771; a free one if busy; recorded)
#   SKONTO_INGEST_PORT       ingest's loopback TCP port for the first `up` of a run
#                            directory (default 7750; a free one if busy); later
#                            `up`s keep the port recorded in RUNDIR/ports
#   SKONTO_INGEST_SUB        optional ERP PUB endpoint for ingest to subscribe to
#   SKONTO_REDIS_PORT        also listen on 127.0.0.1:PORT (default 0: unix socket only)
#   SKONTO_REDIS_FSYNC       appendfsync policy: always (default) or everysec
#   SKONTO_UP_TIMEOUT        seconds to wait for heartbeats (default 30)
#   SKONTO_STOP_TIMEOUT      seconds between SIGTERM and SIGKILL in `down` (default 10)
#   SKONTO_CLOCK             the workers' clock: system (default), fixed:INSTANT, or
#                            redis (simulated time: `skontoctl clock advance 7d`); read
#                            when redis starts, kept in RUNDIR/clock while it runs
#
# Security: ingest runs with CURVE and admits only the keys in
# secrets/authorized_keys (add a line per ERP or operator: `skontoctl keygen`);
# each worker uses its own Redis ACL user that can write only its own keys;
# the default user is the administrator, with a password. See docs/SECURITY.md.
#
# Durability: redis-server runs with the append-only file on and, by default,
# `appendfsync always`. ingest acknowledges an event only after Redis has
# answered the script that stored it, and with `always` Redis writes and
# fsyncs the AOF before it sends that answer (one fsync per event-loop turn,
# shared by every command in it, so pipelined writers pay little). An
# acknowledged event therefore survives even a crash of redis-server or of the
# machine. `everysec` is faster on slow disks but can lose up to a second of
# acknowledged events; choose it knowingly with SKONTO_REDIS_FSYNC=everysec.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

say() { printf '%s\n' "local.sh: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd=${1:-}
[ -n "$cmd" ] || usage
RUNDIR=${2:-${SKONTO_RUN_DIR:-$ROOT/var/local}}
mkdir -p "$RUNDIR"
RUNDIR=$(cd "$RUNDIR" && pwd)
BIN=${SKONTO_BIN:-$ROOT/build/bin}
BIN=$(cd "$BIN" 2>/dev/null && pwd || echo "$BIN")
NWORKERS=${SKONTO_DISCOUNT_WORKERS:-2}
SOCK=$RUNDIR/redis.sock
PIDDIR=$RUNDIR/pid
LOGDIR=$RUNDIR/log
SECRETS=$RUNDIR/secrets
PORTS=$RUNDIR/ports

case "$NWORKERS" in ''|*[!0-9]*) die "SKONTO_DISCOUNT_WORKERS=$NWORKERS: want a number" ;; esac
NREMINDERS=${SKONTO_REMINDER_WORKERS:-1}
case "$NREMINDERS" in 0|1) ;; *) die "SKONTO_REMINDER_WORKERS=$NREMINDERS: want 0 or 1" ;; esac
NAUDITS=${SKONTO_AUDIT_WORKERS:-1}
case "$NAUDITS" in 0|1) ;; *) die "SKONTO_AUDIT_WORKERS=$NAUDITS: want 0 or 1 (the log has one writer)" ;; esac

# ---------------------------------------------------------------- processes

# s_pid NAME: the pid recorded for NAME if that process is alive and runs
# PROGRAM (so a recycled pid is never mistaken for ours), else nothing.
s_pid() {
  local name=$1 program=$2 f=$PIDDIR/$1.pid pid
  [ -s "$f" ] || return 0
  pid=$(tr -dc 0-9 <"$f")
  [ -n "$pid" ] && s_running "$pid" || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$program" || return 0
  echo "$pid"
}

# s_redis ARGS...: redis-cli as the administrator (the password-protected default user).
s_redis() {
  local pass=
  [ -r "$SECRETS/redis-default.pass" ] && pass=$(cat "$SECRETS/redis-default.pass")
  REDISCLI_AUTH=$pass redis-cli --no-auth-warning -s "$SOCK" "$@"
}

# s_running PID: the process exists and is not a zombie waiting to be reaped
# (the workers are not our children: init reaps them, sometimes seconds later).
s_running() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# s_heartbeat PID: true once some worker's heartbeat in sk:{sys}:hb carries PID.
s_heartbeat() {
  s_redis --raw HVALS 'sk:{sys}:hb' 2>/dev/null | grep -Eq "\"pid\" *: *$1[,} ]"
}

# s_start NAME PROGRAM [VAR=value...]: start a worker unless it is running.
s_start() {
  local name=$1 program=$2 pid
  shift 2
  pid=$(s_pid "$name" "$program")
  if [ -n "$pid" ]; then
    say "$name already running (pid $pid)"
    return 0
  fi
  [ -x "$BIN/$program" ] || die "$BIN/$program not found: build first (./run build) or set SKONTO_BIN"
  # setsid: the worker outlives this shell and a Ctrl-C in the terminal.
  env SKONTO_REDIS_URL="unix://$SOCK" SKONTO_INGEST_ENDPOINT="$ENDPOINT" SKONTO_CLOCK="$CLOCK" "$@" \
    setsid "$BIN/$program" >>"$LOGDIR/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDDIR/$name.pid"
  STARTED+=("$name:$program:$!")
  say "started $name (pid $!), log $LOGDIR/$name.log"
}

s_port_free() { # PORT -> true if 127.0.0.1:PORT can be bound now
  "$PY" -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}

# s_port_free_soon PORT: s_port_free, waiting up to 3 s: a worker killed a
# moment ago still holds its port while its last threads exit.
s_port_free_soon() {
  local _
  for _ in $(seq 30); do
    s_port_free "$1" && return 0
    sleep 0.1
  done
  s_port_free "$1"
}

s_free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# s_port_holder PORT: " by PROGRAM (pid N)" for the process listening on PORT,
# if ss can tell (it cannot for another user's process without privileges).
s_port_holder() {
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null |
    sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/ by \1 (pid \2)/p' | head -n 1
}

# ---------------------------------------------------------------- RUNDIR/ports

# RUNDIR/ports records each port a worker of this run directory listens on,
# one NAME=PORT a line, so that a worker restarted by a later `up` gets the
# same port and its clients need no new configuration. Names: ingest (its
# ROUTER) and metrics-WORKER (each worker's /metrics and /healthz).

# s_port_get NAME: the port recorded for NAME, or nothing.
s_port_get() {
  [ -f "$PORTS" ] || return 0
  sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" "$PORTS" | tail -n 1
}

# s_port_set NAME PORT: records NAME's port (replacing an earlier line).
s_port_set() {
  {
    if [ -f "$PORTS" ]; then
      grep -v -e "^$1=" "$PORTS" || true
    else
      echo "# TCP ports of this run directory, NAME=PORT (written by deploy/local.sh up)"
    fi
    echo "$1=$2"
  } >"$PORTS.tmp"
  mv "$PORTS.tmp" "$PORTS"
}

# s_ingest_port: sets ENDPOINT. The port recorded for ingest if there is one
# (a run directory from before RUNDIR/ports: the one its env names), else
# SKONTO_INGEST_PORT or a free port; records it. Fails, changing nothing,
# when ingest must be started and something else holds the recorded port:
# moving ingest elsewhere would strand every client configured from env.
s_ingest_port() {
  local port=${SKONTO_INGEST_PORT:-} recorded holder
  case "$port" in *[!0-9]*) die "SKONTO_INGEST_PORT=$port: want a number" ;; esac
  recorded=$(s_port_get ingest)
  if [ -z "$recorded" ] && [ -f "$RUNDIR/env" ]; then
    recorded=$(sed -n 's|^export SKONTO_INGEST_ENDPOINT=tcp://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' \
      "$RUNDIR/env")
  fi
  if [ -n "$recorded" ]; then
    if [ -n "$port" ] && [ "$port" != "$recorded" ]; then
      say "SKONTO_INGEST_PORT=$port ignored: ingest of $RUNDIR keeps port $recorded ($PORTS)"
    fi
    port=$recorded
    if [ -z "$(s_pid ingest skonto-ingest)" ] && ! s_port_free_soon "$port"; then
      holder=$(s_port_holder "$port")
      say "ingest's port $port (recorded in $PORTS) is taken${holder:- by another process}," \
        "so ingest cannot get its endpoint tcp://127.0.0.1:$port back; nothing was started"
      die "stop what holds port $port and run up again; or, to move ingest, delete the line" \
        "'ingest=$port' from $PORTS, run up again, and give every client the new" \
        "SKONTO_INGEST_ENDPOINT from $RUNDIR/env"
    fi
  else
    port=${port:-7750}
    if ! s_port_free "$port"; then
      local other
      other=$(s_free_port)
      say "port $port is busy; ingest takes free port $other (recorded in $PORTS)"
      port=$other
    fi
  fi
  s_port_set ingest "$port"
  ENDPOINT=tcp://127.0.0.1:$port
}

# s_metrics_port NAME PROGRAM: sets MPORT, NAME's metrics port: the one
# recorded as metrics-NAME, else a free one not recorded for another worker;
# records it. A recorded port something else holds when NAME must start is
# replaced by a free one, loudly: only a scraper has to follow, and a stack
# that does not come up over its metrics port helps nobody.
s_metrics_port() {
  local name=$1 program=$2 port holder
  port=$(s_port_get "metrics-$name")
  if [ -n "$port" ] && [ -z "$(s_pid "$name" "$program")" ] && ! s_port_free_soon "$port"; then
    holder=$(s_port_holder "$port")
    say "$name's metrics port $port (recorded in $PORTS) is taken${holder:- by another process};" \
      "its metrics move to a free port: point scrapers at the new one"
    port=
  fi
  while [ -z "$port" ] || { [ "$(s_port_get "metrics-$name")" != "$port" ] &&
    grep -q "=$port\$" "$PORTS" 2>/dev/null; }; do
    port=$(s_free_port)
  done
  s_port_set "metrics-$name" "$port"
  MPORT=$port
}

s_write_env() {
  {
    echo "# Skonto stack in $RUNDIR (written by deploy/local.sh up)"
    printf 'export SKONTO_REDIS_URL=%q\n' "unix://$SOCK"
    printf 'export SKONTO_REDIS_USER=%q\n' skontoctl
    printf 'export SKONTO_REDIS_PASSWORD_FILE=%q\n' "$SECRETS/redis-skontoctl.pass"
    printf 'export SKONTO_INGEST_ENDPOINT=%q\n' "$ENDPOINT"
    printf 'export SKONTO_INGEST_SERVER_KEY=%q\n' "$SECRETS/ingest-server.pub"
    printf 'export SKONTO_CURVE_KEY_FILE=%q\n' "$SECRETS/erp-local.key"
    printf 'export SKONTO_AUDIT_ENDPOINT=%q\n' "$AUDIT_ENDPOINT"
    printf 'export SKONTO_AUDIT_FEED_ENDPOINT=%q\n' "$AUDIT_FEED_ENDPOINT"
    printf 'export SKONTO_AUDIT_SERVER_KEY=%q\n' "$SECRETS/audit-server.pub"
    printf 'export SKONTO_AUDIT_PUBLIC_KEY=%q\n' "$RUNDIR/audit-log.pub"
    printf 'export SKONTO_RUN_DIR=%q\n' "$RUNDIR"
    printf 'export SKONTO_CLOCK=%q\n' "$CLOCK"
    if [ "$CLOCK" = redis ]; then
      # `skontoctl clock set|advance` connect as the clock's own user
      printf 'export SKONTO_CLOCK_USER=%q\n' clock
      printf 'export SKONTO_CLOCK_PASSWORD_FILE=%q\n' "$SECRETS/redis-clock.pass"
    fi
    # shellcheck disable=SC2016 # $PATH is for the shell that reads the file
    printf 'export PATH=%q:"$PATH"\n' "$BIN"
  } >"$RUNDIR/env"
}

# ---------------------------------------------------------------- secrets

# s_secrets: CURVE keys, the key registry and Redis passwords, made once per
# run directory (a later `up` reuses them, so clients configured before keep working).
s_secrets() {
  local old_umask u
  old_umask=$(umask)
  umask 077
  mkdir -p "$SECRETS"
  chmod 700 "$SECRETS"
  if [ ! -s "$SECRETS/ingest-server.key" ]; then
    rm -f "$SECRETS/ingest-server.key" "$SECRETS/ingest-server.pub"
    "$BIN/skontoctl" keygen --out "$SECRETS/ingest-server" >/dev/null 2>&1 ||
      die "skontoctl keygen could not make ingest's key pair in $SECRETS"
    say "made ingest's CURVE key pair in $SECRETS"
  fi
  if [ ! -s "$SECRETS/authorized_keys" ]; then
    rm -f "$SECRETS/erp-local.key" "$SECRETS/erp-local.pub"
    {
      echo "# Skonto key registry: <public-key-z85> <user-id> <role> (docs/SECURITY.md)"
      "$BIN/skontoctl" keygen --out "$SECRETS/erp-local" --user erp-local --role erp 2>/dev/null
      # one person of each role of the override workflow, to try it locally
      # (README, "Overrides and the audit log"); a real deployment gives each
      # person a key of their own (skontoctl keygen)
      local who
      for who in sales-local:sales director-local:sales_director \
        finance-local:finance_director auditor-local:auditor; do
        rm -f "$SECRETS/${who%%:*}.key" "$SECRETS/${who%%:*}.pub"
        "$BIN/skontoctl" keygen --out "$SECRETS/${who%%:*}" --user "${who%%:*}" \
          --role "${who#*:}" 2>/dev/null
      done
    } >"$SECRETS/authorized_keys.tmp" || die "skontoctl keygen could not make the ERP key in $SECRETS"
    mv "$SECRETS/authorized_keys.tmp" "$SECRETS/authorized_keys"
    say "made the ERP key erp-local, the people keys sales-local, director-local," \
      "finance-local, auditor-local and the key registry $SECRETS/authorized_keys"
  fi
  if [ ! -s "$SECRETS/audit-server.key" ]; then
    rm -f "$SECRETS/audit-server.key" "$SECRETS/audit-server.pub"
    "$BIN/skontoctl" keygen --out "$SECRETS/audit-server" >/dev/null 2>&1 ||
      die "skontoctl keygen could not make the audit worker's key pair in $SECRETS"
    say "made the audit worker's CURVE key pair in $SECRETS"
  fi
  # The log's signing key: made once (skonto-audit keygen refuses to overwrite
  # it), 0600 in secrets/; its public key where auditors can read it.
  if [ ! -s "$SECRETS/audit-log.key" ] && [ -x "$BIN/skonto-audit" ]; then
    rm -f "$SECRETS/audit-log.key" "$RUNDIR/audit-log.pub"
    "$BIN/skonto-audit" keygen "skonto.local/audit" "$SECRETS/audit-log.key" \
      "$RUNDIR/audit-log.pub" >/dev/null || die "skonto-audit keygen could not make the log's key"
    chmod 644 "$RUNDIR/audit-log.pub"
    say "made the audit log's signing key in $SECRETS; auditors verify with $RUNDIR/audit-log.pub"
  fi
  for u in default ingest discount reminder audit auditor skontoctl clock; do
    if [ ! -s "$SECRETS/redis-$u.pass" ]; then
      od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$SECRETS/redis-$u.pass"
      echo >>"$SECRETS/redis-$u.pass"
    fi
  done
  umask "$old_umask"
}

# s_keys PATTERN...: ACL key rules, each pattern with SHARD standing for a
# shard number (0..15: one or two digits, never a '}' or ':' an id could smuggle in).
s_keys() {
  local p
  for p in "$@"; do
    case "$p" in
      *SHARD*) printf ' %s %s' "${p//SHARD/[0-9]}" "${p//SHARD/[0-9][0-9]}" ;;
      *) printf ' %s' "$p" ;;
    esac
  done
}

s_pw() { cat "$SECRETS/redis-$1.pass"; }

# s_acl: the ACL users of redis.conf. Each worker may run exactly the commands
# its code sends (services/*/) and write only its own keys (docs/DATAFLOW.md);
# Lua scripts run with the caller's permissions, so EVALSHA cannot widen them.
s_acl() {
  echo "user default on >$(s_pw default) ~* &* +@all"
  echo "user ingest on >$(s_pw ingest) resetchannels -@all" \
    "+ping +hget +hmget +hgetall +hsetnx +hexists +hset +hdel +hincrby +hscan +xadd" \
    "+get +set +del +lpush +rpop +llen +lrange" \
    "+evalsha +script|load" \
    "$(s_keys '~sk:{sSHARD}:seen' '~sk:{sSHARD}:events' '~sk:{sSHARD}:cust:*' \
      '~sk:{sSHARD}:eid:*' '~sk:{sSHARD}:settled' '~sk:{sSHARD}:stored' '~sk:{sSHARD}:over' \
      '~sk:{sSHARD}:ingest' '~sk:{oSHARD}:o2c' '~sk:{sys}:hb' '~sk:{sys}:dlq' \
      '~sk:{sys}:ingest' '~sk:{sys}:seq' '~sk:{sys}:gaps' '%R~sk:{sys}:clock')"
  # discount also plans reminders and statements (docs/REMINDERS.md): it
  # writes the due queue and the pending statements, reads what was sent or
  # is being sent (so nothing is queued twice; its scripts name rsent and
  # rproc in ARGV, as EVALSHA wants write access to every KEYS entry), reads
  # the customer's zone and cadence (HMGET), and sets the backfill marker.
  # Overrides (docs/AUDIT.md section 8): it consumes the approved ones of
  # sk:{audit}:ovq:N (group discount; a selector: only the stream commands
  # on those keys) and its apply script hands what it did to the audit log
  # (XADD sk:{sN}:auditq, the only key it may XADD to: a second selector)
  # and records a refusal once (sk:{sN}:ovref). The policy report's counters
  # (sk:{sN}:pol, sk:{sN}:pcust, sk:{sN}:psp) and their rebuild marker are its own.
  echo "user discount on >$(s_pw discount) resetchannels -@all" \
    "+ping +get +set +del +scan +hget +hmget +hgetall +hset +hdel +hincrby +zadd +zrem" \
    "+lpush +hexists +hsetnx +zscore +zrange +hscan" \
    "+xreadgroup +xack +xdel +xtrim +xinfo|groups +xautoclaim +xgroup|create +xpending" \
    "+evalsha +script|load" \
    "$(s_keys '~sk:{sSHARD}:events' '~sk:{sSHARD}:inv:*' '~sk:{sSHARD}:copen:*' \
      '~sk:{sSHARD}:hist:*' '~sk:{sSHARD}:fc:*' '~sk:{sSHARD}:takeup' \
      '~sk:{sSHARD}:stats' '~sk:{sSHARD}:unapplied' '~sk:{sys}:hb' '~sk:{sys}:layout' \
      '~sk:{sSHARD}:rdue' '~sk:{sSHARD}:stmt' '~sk:{sys}:rbackfill' \
      '~sk:{sSHARD}:auditq' '~sk:{sSHARD}:ovref' \
      '~sk:{sSHARD}:pol' '~sk:{sSHARD}:pcust' '~sk:{sSHARD}:psp' '~sk:{sys}:pbackfill' \
      '%R~sk:{sSHARD}:rsent' '%R~sk:{sSHARD}:rproc' \
      '%R~sk:{sSHARD}:cust:*' '%R~sk:{sys}:clock')" \
    "(~sk:{audit}:ovq:* +xreadgroup +xack +xdel +xautoclaim +xgroup|create)" \
    "(+xadd$(s_keys '~sk:{sSHARD}:auditq'))"
  # reminder fires the due queue (docs/REMINDERS.md): claims (rdue -> rproc,
  # leases on Redis TIME), re-reads invoice, customer and open set, records
  # what it sent, keeps tries and undeliverable addresses, advances
  # statements, and pushes dead letters through the bounded list (whose byte
  # count lives in sk:{sys}:ingest).
  echo "user reminder on >$(s_pw reminder) resetchannels -@all" \
    "+ping +time +get +hget +hmget +hgetall +hexists +hset +hdel +hincrby" \
    "+zadd +zrem +zscore +zcard +zrange +zrangebyscore +lpush +rpop +llen +lrange +hscan" \
    "+evalsha +script|load" \
    "$(s_keys '~sk:{sSHARD}:rdue' '~sk:{sSHARD}:rproc' '~sk:{sSHARD}:rsent' \
      '~sk:{sSHARD}:rtry' '~sk:{sSHARD}:rlog:*' '~sk:{sSHARD}:stmt' '~sk:{sSHARD}:undeliv' \
      '~sk:{sys}:dlq' '~sk:{sys}:ingest' '~sk:{sys}:hb' \
      '%R~sk:{sSHARD}:inv:*' '%R~sk:{sSHARD}:cust:*' '%R~sk:{sSHARD}:copen:*' \
      '%R~sk:{sys}:clock')"
  # audit writes the audit slot only (the log, checkpoints, overrides, their
  # indexes, the discount workers' queues sk:{audit}:ovq:N) and its
  # heartbeat; reads invoices (GET, or HGETALL for the layout of before
  # issue 7), the order index, customers and the clock; and may only read
  # and delete the hand-offs (XRANGE, XDEL: a selector) of sk:{sN}:auditq.
  # Its append script runs XLEN/XADD/HSET/ZADD/ZREM on its KEYS.
  echo "user audit on >$(s_pw audit) resetchannels -@all" \
    "+ping +get +hget +hgetall +hset +hscan +incr +zadd +zrem +zrangebyscore" \
    "+xadd +xlen +xrange +xrevrange +evalsha +script|load" \
    "$(s_keys '~sk:{audit}:*' '~sk:{sys}:hb' \
      '%R~sk:{sSHARD}:inv:*' '%R~sk:{oSHARD}:o2c' '%R~sk:{sSHARD}:cust:*' '%R~sk:{sys}:clock')" \
    "($(s_keys '~sk:{sSHARD}:auditq' | sed 's/^ //') +xrange +xdel)"
  # auditors read the log, checkpoints and overrides, nothing else
  echo "user auditor on >$(s_pw auditor) resetchannels -@all +@read +ping -@dangerous" \
    "%R~sk:{audit}:*"
  echo "user skontoctl on >$(s_pw skontoctl) resetchannels -@all +@read +ping -@dangerous %R~sk:*"
  # Simulated time (SKONTO_CLOCK=redis only): the clock's user may write the
  # clock key and nothing else; its script (common/io/sk_clock.lua) runs with
  # these permissions and only ever moves the instant forward.
  if [ "$CLOCK" = redis ]; then
    echo "user clock on >$(s_pw clock) resetchannels -@all +ping +eval +get +set ~sk:{sys}:clock"
  fi
}

# ---------------------------------------------------------------- clock

# s_clock: sets CLOCK, the SKONTO_CLOCK every worker gets. A running stack
# keeps the clock it was started with (its Redis users depend on it: the
# clock user exists only for redis), so a later `up` that restarts one worker
# cannot put it on another clock; the clock changes with down, then up.
s_clock() {
  local want=${SKONTO_CLOCK:-} recorded=
  [ -s "$RUNDIR/clock" ] && recorded=$(cat "$RUNDIR/clock")
  if [ -n "$recorded" ] && [ -n "$(s_pid redis redis-server)" ]; then
    if [ -n "$want" ] && [ "$want" != "$recorded" ]; then
      say "SKONTO_CLOCK=$want ignored: the running stack of $RUNDIR runs on $recorded" \
        "(down, then up, to change it)"
    fi
    CLOCK=$recorded
  else
    CLOCK=${want:-system}
  fi
  case "$CLOCK" in
    system|redis|fixed:*) ;;
    *) die "SKONTO_CLOCK=$CLOCK: want system, redis or fixed:INSTANT (such as fixed:2026-11-02T09:00:00Z)" ;;
  esac
  echo "$CLOCK" >"$RUNDIR/clock"
}

# ---------------------------------------------------------------- up

# s_audit_ports: sets AUDIT_ENDPOINT and AUDIT_FEED_ENDPOINT, the ports
# recorded for audit and audit-feed, else SKONTO_AUDIT_PORT /
# SKONTO_AUDIT_FEED_PORT, else 7770 / 7771, or free ones if busy; recorded.
s_audit_ports() {
  local name dflt port
  for name in audit audit-feed; do
    if [ "$name" = audit ]; then dflt=${SKONTO_AUDIT_PORT:-7770}; else dflt=${SKONTO_AUDIT_FEED_PORT:-7771}; fi
    case "$dflt" in ''|*[!0-9]*) die "SKONTO_AUDIT_PORT / SKONTO_AUDIT_FEED_PORT=$dflt: want a number" ;; esac
    port=$(s_port_get "$name")
    if [ -z "$port" ]; then
      port=$dflt
      s_port_free "$port" || port=$(s_free_port)
      s_port_set "$name" "$port"
    fi
    [ "$name" = audit ] && AUDIT_ENDPOINT=tcp://127.0.0.1:$port ||
      AUDIT_FEED_ENDPOINT=tcp://127.0.0.1:$port
  done
}

# s_start_audit: the audit worker, when it is built and its key exists.
s_start_audit() {
  if [ "$NAUDITS" = 0 ]; then
    say "SKONTO_AUDIT_WORKERS=0: no audit worker, overrides cannot be requested"
    return 0
  fi
  if [ ! -x "$BIN/skonto-audit" ] || [ ! -s "$SECRETS/audit-log.key" ]; then
    say "$BIN/skonto-audit not built: no audit worker, overrides cannot be requested"
    return 0
  fi
  s_metrics_port audit skonto-audit
  s_start audit skonto-audit SKONTO_WORKER_NAME=audit \
    SKONTO_METRICS_ADDR="127.0.0.1:$MPORT" \
    SKONTO_REDIS_USER=audit SKONTO_REDIS_PASSWORD_FILE="$SECRETS/redis-audit.pass" \
    SKONTO_AUDIT_ENDPOINT="$AUDIT_ENDPOINT" SKONTO_AUDIT_FEED_ENDPOINT="$AUDIT_FEED_ENDPOINT" \
    SKONTO_AUDIT_SECRET_KEY_FILE="$SECRETS/audit-server.key" \
    SKONTO_AUTHORIZED_KEYS="$SECRETS/authorized_keys" SKONTO_AUDIT_KEY="$SECRETS/audit-log.key"
}

# s_start_reminder: the reminder worker, when it is built (a stack of before
# issue 8's worker runs without it, and says so). Its mails go to the
# caller's SKONTO_SMTP_URL or SKONTO_MAILDIR, else to RUNDIR/maildir.
s_start_reminder() {
  if [ "$NREMINDERS" = 0 ]; then
    say "SKONTO_REMINDER_WORKERS=0: no reminder worker, no reminders or statements are sent"
    return 0
  fi
  if [ ! -x "$BIN/skonto-reminder" ]; then
    say "$BIN/skonto-reminder not built: no reminders or statements are sent"
    return 0
  fi
  local mail=()
  if [ -z "${SKONTO_SMTP_URL:-}" ] && [ -z "${SKONTO_MAILDIR:-}" ]; then
    mail=(SKONTO_MAILDIR="$RUNDIR/maildir")
  fi
  s_metrics_port reminder skonto-reminder
  s_start reminder skonto-reminder SKONTO_WORKER_NAME=reminder "${mail[@]}" \
    SKONTO_METRICS_ADDR="127.0.0.1:$MPORT" \
    SKONTO_REDIS_USER=reminder SKONTO_REDIS_PASSWORD_FILE="$SECRETS/redis-reminder.pass"
}

up() {
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  command -v setsid >/dev/null || die "setsid not found (util-linux)"
  [ -x "$BIN/skontoctl" ] || die "$BIN/skontoctl not found: build first (./run build) or set SKONTO_BIN"
  [ ${#SOCK} -lt 104 ] || die "run directory path too long for a unix socket: $SOCK"
  mkdir -p "$RUNDIR/redis" "$LOGDIR" "$PIDDIR"
  STARTED=()
  s_secrets
  s_ingest_port
  s_audit_ports
  s_clock

  # -- redis
  local fsync=${SKONTO_REDIS_FSYNC:-always} rport=${SKONTO_REDIS_PORT:-0} pid
  case "$fsync" in always|everysec) ;; *) die "SKONTO_REDIS_FSYNC=$fsync: want always or everysec" ;; esac
  pid=$(s_pid redis redis-server)
  if [ -n "$pid" ]; then
    say "redis already running (pid $pid)"
  else
    # redis.conf holds the ACL passwords: only its owner may read it.
    : >"$RUNDIR/redis/redis.conf"
    chmod 600 "$RUNDIR/redis/redis.conf"
    cat >>"$RUNDIR/redis/redis.conf" <<EOF
# written by deploy/local.sh up; edit SKONTO_REDIS_* instead
bind 127.0.0.1
port $rport
unixsocket "$SOCK"
unixsocketperm 700
dir "$RUNDIR/redis"
appendonly yes
appendfsync $fsync
save ""
daemonize yes
pidfile "$PIDDIR/redis.pid"
logfile "$LOGDIR/redis.log"
EOF
    s_acl >>"$RUNDIR/redis/redis.conf"
    rm -f "$SOCK"
    redis-server "$RUNDIR/redis/redis.conf" || die "redis-server did not start; see $LOGDIR/redis.log"
    for _ in $(seq 100); do
      [ "$(s_redis PING 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
    [ "$(s_redis PING 2>/dev/null)" = PONG ] || die "redis-server does not answer on $SOCK; see $LOGDIR/redis.log"
    say "started redis (pid $(cat "$PIDDIR/redis.pid")), unix socket $SOCK, appendfsync $fsync"
  fi
  if [ "$CLOCK" = redis ]; then
    # Simulated time starts at the wall clock's instant and stays there until
    # `skontoctl clock set|advance` moves it (NX: a restart keeps the clock).
    [ "$(s_redis SET 'sk:{sys}:clock' "$(date +%s%3N)" NX)" != ERR ] ||
      die "cannot start the simulated clock in Redis"
    say "clock: simulated time (skontoctl clock show|set|advance)"
  fi

  s_write_env

  # -- workers
  local sub=()
  [ -n "${SKONTO_INGEST_SUB:-}" ] && sub=(SKONTO_INGEST_SUB="$SKONTO_INGEST_SUB")
  s_metrics_port ingest skonto-ingest
  s_start ingest skonto-ingest SKONTO_WORKER_NAME=ingest "${sub[@]}" \
    SKONTO_METRICS_ADDR="127.0.0.1:$MPORT" \
    SKONTO_REDIS_USER=ingest SKONTO_REDIS_PASSWORD_FILE="$SECRETS/redis-ingest.pass" \
    SKONTO_INGEST_SECRET_KEY_FILE="$SECRETS/ingest-server.key" \
    SKONTO_AUTHORIZED_KEYS="$SECRETS/authorized_keys"
  local n
  for n in $(seq 1 "$NWORKERS"); do
    s_metrics_port "discount-$n" skonto-discount
    s_start "discount-$n" skonto-discount SKONTO_WORKER_NAME="discount-$n" \
      SKONTO_METRICS_ADDR="127.0.0.1:$MPORT" \
      SKONTO_REDIS_USER=discount SKONTO_REDIS_PASSWORD_FILE="$SECRETS/redis-discount.pass"
  done
  s_start_reminder
  s_start_audit

  # -- wait until every process we started heartbeats
  local deadline=$((SECONDS + ${SKONTO_UP_TIMEOUT:-30})) entry name program
  for entry in "${STARTED[@]}"; do
    IFS=: read -r name program pid <<<"$entry"
    until s_heartbeat "$pid"; do
      if ! s_running "$pid"; then
        say "$name exited during start-up; last lines of $LOGDIR/$name.log:"
        tail -n 20 "$LOGDIR/$name.log" >&2 || true
        exit 1
      fi
      [ $SECONDS -lt $deadline ] || die "$name (pid $pid) has not sent a heartbeat; see $LOGDIR/$name.log"
      sleep 0.1
    done
  done
  say "stack up in $RUNDIR; ingest at $ENDPOINT"
  say "metrics and /healthz: $(sed -n "s/^metrics-\(.*\)=\(.*\)$/\1 http:\/\/127.0.0.1:\2\/metrics/p" "$PORTS" | paste -sd, - | sed "s/,/, /g")"
  cat "$RUNDIR/env"
}

# ---------------------------------------------------------------- down

s_stop() { # NAME PROGRAM
  local name=$1 pid
  pid=$(s_pid "$1" "$2")
  if [ -z "$pid" ]; then
    rm -f "$PIDDIR/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${SKONTO_STOP_TIMEOUT:-10}))
  while s_running "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if s_running "$pid"; then
    say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while s_running "$pid"; do sleep 0.05; done
  fi
  rm -f "$PIDDIR/$name.pid"
  say "stopped $name (pid $pid)"
}

down() {
  local f name
  for f in "$PIDDIR"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    case "$name" in
      redis) ;;
      ingest) s_stop ingest skonto-ingest ;;
      discount-*) s_stop "$name" skonto-discount ;;
      reminder) s_stop reminder skonto-reminder ;;
      audit) s_stop audit skonto-audit ;;
      *) s_stop "$name" skonto- ;;
    esac
  done
  local pid
  pid=$(s_pid redis redis-server)
  if [ -n "$pid" ]; then
    # With `save ""` and the AOF on, SHUTDOWN fsyncs the AOF and writes no RDB.
    s_redis SHUTDOWN >/dev/null 2>&1 || true
    local deadline=$((SECONDS + ${SKONTO_STOP_TIMEOUT:-10}))
    while s_running "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    if s_running "$pid"; then
      say "redis (pid $pid) did not shut down; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped redis (pid $pid); data kept in $RUNDIR/redis"
  fi
  rm -f "$PIDDIR/redis.pid"
}

# ---------------------------------------------------------------- status

status() {
  local f name pid program all=0 any=0
  if [ -d "$PIDDIR" ]; then
    for f in "$PIDDIR"/*.pid; do
      [ -e "$f" ] || continue
      any=1
      name=$(basename "$f" .pid)
      case "$name" in
        redis) program=redis-server ;;
        ingest) program=skonto-ingest ;;
        discount-*) program=skonto-discount ;;
        reminder) program=skonto-reminder ;;
        audit) program=skonto-audit ;;
        *) program=skonto- ;;
      esac
      pid=$(s_pid "$name" "$program")
      if [ -n "$pid" ]; then
        printf '%-12s pid %-8s alive\n' "$name" "$pid"
      else
        printf '%-12s pid %-8s DEAD (log: %s)\n' "$name" "$(tr -dc 0-9 <"$f")" "$LOGDIR/$name.log"
        all=1
      fi
    done
  fi
  if [ $any = 0 ]; then
    echo "nothing running in $RUNDIR"
    return 1
  fi
  if [ -n "$(s_pid redis redis-server)" ] && [ -x "$BIN/skontoctl" ]; then
    echo
    SKONTO_REDIS_URL="unix://$SOCK" SKONTO_REDIS_USER=skontoctl \
      SKONTO_REDIS_PASSWORD_FILE="$SECRETS/redis-skontoctl.pass" "$BIN/skontoctl" status || all=1
  fi
  return $all
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  -h|--help|help) usage ;;
  *) say "unknown command '$cmd'"; usage ;;
esac
