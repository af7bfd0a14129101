#!/usr/bin/env bash
# demo.sh — Skonto running on 90 days of generated ERP history.
#
# `./run demo` builds everything and runs this. It
#   1. brings the stack up in a fresh run directory (var/demo) with deploy/local.sh,
#   2. generates an ERP history with deploy/gen_history.py (about 300 customers
#      with different payment habits, 5 000 orders over the 90 days ending today,
#      their payments, credit notes and cancellations, and a few bad events),
#   3. feeds it to ingest with `skontoctl send --progress`,
#   4. waits until the discount workers have drained the queues,
#   5. shows schedules, a customer's open windows, the receivables forecast,
#      the workers' status and the dead-letter list,
#   6. runs two simulated weeks (`skontoctl clock advance 1d`, fourteen
#      times): the reminder worker mails a reminder before each discount
#      window closes and each customer's statement on its cadence into the
#      maildir (SKONTO_MAILDIR, default RUNDIR/maildir); it counts them,
#      shows one reminder and one statement as text, what was sent to one
#      customer (`skontoctl reminders sent`), the same customer two weeks
#      later, and the workers' counters as their /metrics pages show them,
#   7. an override: the salesperson of the run directory's people keys
#      (deploy/local.sh: sales-local) asks to extend an open invoice's
#      window, cannot approve it herself, a sales director may not approve
#      it (SKONTO_OVERRIDE_FINANCE_ABOVE names no currency), the finance
#      director does, the discount worker applies it, and the auditor
#      follows the signed log's feed and verifies it with the public key,
#   8. the policy report (skontoctl report policy, issue 10) on the history and
#      the two weeks, and its HTML file (RUNDIR/policy.html, named),
#   9. leaves the stack running (SKONTO_DEMO_KEEP=0 stops it instead).
#
# Environment: SKONTO_BIN (default build/bin), SKONTO_DEMO_DIR (default
# var/demo), SKONTO_DEMO_SEED (default 20261102), SKONTO_DEMO_ORDERS (5000),
# SKONTO_DEMO_CUSTOMERS (300), SKONTO_DEMO_KEEP (1), and everything
# deploy/local.sh reads. The stack runs on simulated time (SKONTO_CLOCK=redis,
# starting at the real instant) unless SKONTO_CLOCK says otherwise; the
# simulated weeks of step 6 need it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNDIR=${SKONTO_DEMO_DIR:-$ROOT/var/demo}
mkdir -p "$RUNDIR"
RUNDIR=$(cd "$RUNDIR" && pwd)
SHOWDIR=${RUNDIR#"$ROOT"/} # how to name it to the user: relative to the repository if inside
export SKONTO_BIN=${SKONTO_BIN:-$ROOT/build/bin}
export SKONTO_CLOCK=${SKONTO_CLOCK:-redis}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NSTEPS=9
STEP=0

step() {
  STEP=$((STEP + 1))
  printf '\n\033[1m==> [%d/%d] %s\033[0m\n' "$STEP" "$NSTEPS" "$*"
}
show() { # show CMD...: print the command, run it, keep going if it fails
  printf '\n\033[2m$ %s\033[0m\n' "$*"
  "$@" || printf '(exit status %d)\n' "$?"
}
on_error() {
  printf '\ndemo.sh: step %d failed. Logs: %s/log/; stop the stack with: deploy/local.sh down %s\n' \
    "$STEP" "$RUNDIR" "$SHOWDIR" >&2
}
trap on_error ERR

for p in skontoctl skonto-ingest skonto-discount skonto-reminder; do
  [ -x "$SKONTO_BIN/$p" ] || { echo "demo.sh: $SKONTO_BIN/$p is missing: run ./run demo (it builds first)" >&2; exit 1; }
done

# ---------------------------------------------------------------- 1
step "Starting redis-server, skonto-ingest, ${SKONTO_DISCOUNT_WORKERS:-2} skonto-discount workers, skonto-reminder and skonto-audit in $SHOWDIR"
if [ -n "$(ls -A "$RUNDIR")" ] && [ ! -e "$RUNDIR/env" ] && [ ! -d "$RUNDIR/pid" ]; then
  echo "demo.sh: $RUNDIR is not empty and not a run directory: refusing to wipe it" >&2
  exit 1
fi
if [ -d "$RUNDIR/pid" ]; then
  deploy/local.sh down "$RUNDIR" 2>&1 | sed 's/^/    /'
fi
rm -rf "$RUNDIR"
deploy/local.sh up "$RUNDIR" >/dev/null
# shellcheck disable=SC1091
. "$RUNDIR/env"
echo "    SKONTO_REDIS_URL=$SKONTO_REDIS_URL"
echo "    SKONTO_INGEST_ENDPOINT=$SKONTO_INGEST_ENDPOINT"
echo "    SKONTO_CLOCK=$SKONTO_CLOCK"
MAILDIR=${SKONTO_MAILDIR:-$RUNDIR/maildir}
if [ -n "${SKONTO_SMTP_URL:-}" ]; then
  echo "    mail: to $SKONTO_SMTP_URL"
else
  echo "    mail: into the maildir ${MAILDIR#"$ROOT"/} (no SKONTO_SMTP_URL)"
fi
# Each worker's /metrics and /healthz, as deploy/local.sh recorded them.
METRICS=$(sed -n 's/^metrics-\(.*\)=\(.*\)$/\1=http:\/\/127.0.0.1:\2\/metrics/p' "$RUNDIR/ports")
for m in $METRICS; do echo "    metrics of ${m%%=*}: ${m#*=}"; done
skontoctl() { "$SKONTO_BIN/skontoctl" "$@"; }

# ---------------------------------------------------------------- 2
TODAY=$(date -u +%F)
step "Generating an ERP history: 90 days ending $TODAY (seed ${SKONTO_DEMO_SEED:-20261102})"
"$PY" deploy/gen_history.py --today "$TODAY" --seed "${SKONTO_DEMO_SEED:-20261102}" \
  --customers "${SKONTO_DEMO_CUSTOMERS:-300}" --orders "${SKONTO_DEMO_ORDERS:-5000}" \
  --out "$RUNDIR/history.jsonl" --bad "$RUNDIR/bad.jsonl" --highlights "$RUNDIR/highlights.json" \
  2>&1 | sed 's/^/    /'
echo "    $(wc -l <"$RUNDIR/history.jsonl") events in $RUNDIR/history.jsonl; 3 sample lines:"
for n in 1 400 9000; do sed -n "${n}p" "$RUNDIR/history.jsonl" | cut -c1-150 | sed 's/^/      /'; done
hl() { "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print(v or "")' \
  "$RUNDIR/highlights.json" "$1"; }

# ---------------------------------------------------------------- 3
step "Feeding the history to ingest (skontoctl send --progress): every event waits for its acknowledgement"
start=$(date +%s.%N)
show skontoctl send --progress "$RUNDIR/history.jsonl"
secs=$("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
echo "    sent and acknowledged in $secs s"
echo
echo "    Now eight deliberately bad events. Five reach ingest, which rejects them with a"
echo "    reason and keeps them in the dead-letter list; three are not even valid JSON events"
echo "    and skontoctl rejects them before sending. skontoctl exits 1 because of them."
show skontoctl send "$RUNDIR/bad.jsonl"

# ---------------------------------------------------------------- 4
step "Waiting until the discount workers have drained the event streams"
queued() { # events waiting in the shard streams or taken but not yet applied (skontoctl status)
  skontoctl status --json | "$PY" -c 'import json,sys
q = json.load(sys.stdin)["queue"]
print(q["waiting"] + q["pending"])'
}
deadline=$((SECONDS + 300))
while :; do
  q=$(queued)
  printf '\r    %6d events queued ' "$q"
  [ "$q" -eq 0 ] && break
  if [ $SECONDS -ge $deadline ]; then
    echo
    echo "demo.sh: the queues did not drain in 300 s; see $RUNDIR/log/" >&2
    exit 1
  fi
  sleep 0.5
done
echo "- drained."
# Workers publish their counters with the heartbeat, once a second: let one
# more beat pass so the status shows the counts of everything just sent.
sleep 1.2
show skontoctl status

# ---------------------------------------------------------------- 5
step "What Skonto computed"
paid=$(hl paid_in_window)
open=$(hl open_with_window)
short=$(hl short_paid)
cust=$(hl customer_with_windows)
if [ -n "$paid" ]; then
  echo
  echo "--- an order paid inside a discount window: the discount was earned"
  show skontoctl order show "$paid"
fi
if [ -n "$open" ]; then
  echo
  echo "--- an open order whose discount windows are still open"
  show skontoctl order show "$open"
fi
if [ -n "$short" ]; then
  echo
  echo "--- a customer paid \"in full\" after the window closed but still deducted the discount:"
  echo "    the shortfall is an unearned discount and stays open"
  show skontoctl order show "$short"
fi
if [ -n "$cust" ]; then
  echo
  echo "--- a customer's statement: open invoices and the windows left to pay them"
  show skontoctl customer show "$cust"
fi
echo
echo "--- expected receivables, week by week: by each customer's habit vs everybody paying at net"
show skontoctl forecast --by week
echo
echo "--- the dead-letter list (newest first)"
show skontoctl dlq list --limit 5

# ---------------------------------------------------------------- 6
step "Two simulated weeks: reminders before the windows close, and statements"
mails() { # mails delivered so far: reminders and statements (by Message-ID)
  "$PY" - "$MAILDIR" <<'PY'
import mailbox, sys
r = s = 0
for m in mailbox.Maildir(sys.argv[1], create=False):
    if m["Message-ID"].startswith("<r."):
        r += 1
    else:
        s += 1
print(r, s)
PY
}
if [ "$SKONTO_CLOCK" != redis ]; then
  echo "    SKONTO_CLOCK=$SKONTO_CLOCK: the simulated weeks need SKONTO_CLOCK=redis; skipped"
elif [ -n "${SKONTO_SMTP_URL:-}" ]; then
  echo "    mails go to $SKONTO_SMTP_URL, not a maildir: nothing to count here; skipped"
else
  due_now() { # reminders and statements due by the clock's instant, not yet sent
    local now
    now=$(skontoctl clock show --json | "$PY" -c 'import json,sys,datetime as d
ms = json.load(sys.stdin)["instant_ms"] + 1000
print(d.datetime.fromtimestamp(ms // 1000, d.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
    skontoctl reminders list --due-before "$now" --limit 1 --json |
      "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])'
  }
  wait_mail() { # until nothing due is left unsent (the worker sends within a second)
    local deadline=$((SECONDS + 300))
    while [ "$(due_now)" != 0 ]; do
      if [ $SECONDS -ge $deadline ]; then
        echo "demo.sh: reminders still due after 300 s; see $RUNDIR/log/reminder.log" >&2
        exit 1
      fi
      sleep 0.3
    done
  }
  wait_mail
  read -r r0 s0 < <(mails)
  echo "    before: $r0 reminders and $s0 statements (what was due at the start)"
  for d in $(seq 1 14); do
    skontoctl clock advance 1d >/dev/null
    wait_mail
    read -r r s < <(mails)
    printf '    day %2d  %s  reminders %5d  statements %5d\n' "$d" \
      "$(skontoctl clock show --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["instant"][:10])')" \
      "$r" "$s"
  done
  echo
  echo "    $r reminders and $s statements are in the maildir ${MAILDIR#"$ROOT"/}"
  echo "    (new/ holds one file per mail; open it with: mutt -f $MAILDIR)"
  "$PY" - "$MAILDIR" <<'PY'
import email.policy, mailbox, sys
seen = set()
for m in sorted(mailbox.Maildir(sys.argv[1], create=False),
                key=lambda m: (m["Message-ID"][:2], m["To"])):
    kind = "reminder" if m["Message-ID"].startswith("<r.") else "statement"
    msg = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
    if kind in seen or not str(msg["Subject"]).isascii():  # one in English of each
        continue
    seen.add(kind)
    print("\n--- one %s, as the customer reads it (text part)" % kind)
    for h in ("From", "To", "Subject", "Date", "Message-ID"):
        print("    %s: %s" % (h, msg[h]))
    print()
    body = msg.get_body(("plain",)).get_content().splitlines()
    for line in body[:40]:
        print("    " + line)
    if len(body) > 40:
        print("    ... (%d more lines)" % (len(body) - 40))
PY
  if [ -n "$cust" ]; then
    echo
    echo "--- what customer $cust was told, and when (for the salesperson)"
    show skontoctl reminders sent --customer "$cust" --limit 5
    echo
    echo "--- the same customer two weeks later: fewer days left, windows closed"
    show skontoctl customer show "$cust"
  fi
fi
if [ -n "$METRICS" ]; then
  echo
  echo "--- what the workers count, from their /metrics pages (Prometheus text)"
  for m in $METRICS; do
    printf '\n\033[2m$ curl -s %s | grep _total\033[0m\n' "${m#*=}"
    "$PY" - "${m#*=}" <<'PY' || true
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith("skonto_") and "_total" in line and not line.rstrip().endswith(" 0"):
        print("    " + line)
PY
  done
fi

# ---------------------------------------------------------------- 7
step "An override: a salesperson asks, a director decides, the invoice changes, an auditor checks the log"
if [ ! -x "$SKONTO_BIN/skonto-audit" ] || [ ! -s "$RUNDIR/secrets/sales-local.key" ]; then
  echo "    no audit worker in this stack: skipped"
else
  as() { # as PERSON skontoctl-args...: skontoctl acting as the user of PERSON's key
    local who=$1
    shift
    printf '\n\033[2m$ SKONTO_CURVE_KEY_FILE=secrets/%s.key skontoctl %s\033[0m\n' "$who" "$*"
    SKONTO_CURVE_KEY_FILE="$RUNDIR/secrets/$who.key" "$SKONTO_BIN/skontoctl" "$@" ||
      printf '(exit status %d)\n' "$?"
  }
  # An open invoice whose next window is still open with room to extend it
  # by two days (before the next window's last day and the net due date).
  pick=$(skontoctl reminders list --limit 200 --json | "$PY" -c '
import json, subprocess, sys, datetime as d
bin = sys.argv[1]
for r in json.load(sys.stdin).get("due", []):
    oid = r.get("order_id")
    if not oid:
        continue
    inv = json.loads(subprocess.run([bin, "order", "show", oid, "--json"], capture_output=True,
                                    text=True).stdout or "{}")
    if inv.get("status") != "open":
        continue
    tiers = inv["tiers"]
    for i, t in enumerate(tiers):
        if t["last_day"] != r.get("last_day"):
            continue
        new = d.date.fromisoformat(t["last_day"]) + d.timedelta(days=2)
        nxt = tiers[i + 1]["last_day"] if i + 1 < len(tiers) else inv["net_due"]
        if new.isoformat() < nxt:
            print(oid, inv["revision"], i, new.isoformat())
            sys.exit(0)
' "$SKONTO_BIN/skontoctl" || true)
  if [ -z "$pick" ]; then
    echo "    no open invoice with a window to extend: skipped"
  else
    read -r ord rev tier newday <<<"$pick"
    echo
    echo "--- the salesperson (sales-local) asks to extend order $ord's tier t$tier to $newday;"
    echo "    the audit worker works out what it costs (the effect), not the salesperson"
    as sales-local override request "$ord" --rev "$rev" --extend "t$tier:$newday" \
      --reason "the customer's payment run moved by a bank holiday"
    ovid=$(SKONTO_CURVE_KEY_FILE="$RUNDIR/secrets/sales-local.key" "$SKONTO_BIN/skontoctl" \
      override list --order "$ord" --status pending --json |
      "$PY" -c 'import json,sys; print(json.load(sys.stdin)["overrides"][0]["id"])')
    echo
    echo "--- the salesperson cannot approve it, and a sales director may not approve an"
    echo "    effect above SKONTO_OVERRIDE_FINANCE_ABOVE (unset here: every one needs finance)"
    as sales-local override approve "$ovid"
    as director-local override approve "$ovid" --comment "fine by me"
    echo
    echo "--- the finance director approves; the discount worker applies it to the invoice"
    as finance-local override approve "$ovid" --comment "one time, bank holiday"
    deadline=$((SECONDS + 60))
    until [ "$(SKONTO_CURVE_KEY_FILE="$RUNDIR/secrets/auditor-local.key" "$SKONTO_BIN/skontoctl" \
      override show "$ovid" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["overrides"][0]["status"])')" = applied ]; do
      [ $SECONDS -lt $deadline ] || { echo "demo.sh: override $ovid not applied after 60 s" >&2; exit 1; }
      sleep 0.3
    done
    show skontoctl order show "$ord"
    echo
    echo "--- the auditor (auditor-local) follows the signed log's feed, checking every entry"
    echo "    and checkpoint as it comes, and keeps the checkpoints it saw"
    size=$(SKONTO_REDIS_USER=auditor SKONTO_REDIS_PASSWORD_FILE="$RUNDIR/secrets/redis-auditor.pass" \
      "$SKONTO_BIN/skontoctl" audit tail -n 1 --json | "$PY" -c 'import json,sys
e = json.load(sys.stdin); print(e[-1]["seq"] + 1 if e else 0)')
    rm -f "$RUNDIR/auditor.checkpoints"
    as auditor-local audit follow --checkpoints "$RUNDIR/auditor.checkpoints" --until-size "$size"
    echo
    echo "--- and verifies the whole log with the public key alone (a read-only Redis user)"
    printf '\n\033[2m$ SKONTO_REDIS_USER=auditor skontoctl audit verify --pub audit-log.pub --checkpoints auditor.checkpoints\033[0m\n'
    SKONTO_REDIS_USER=auditor SKONTO_REDIS_PASSWORD_FILE="$RUNDIR/secrets/redis-auditor.pass" \
      "$SKONTO_BIN/skontoctl" audit verify --pub "$RUNDIR/audit-log.pub" \
      --checkpoints "$RUNDIR/auditor.checkpoints"
  fi
fi

# ---------------------------------------------------------------- 8
step "Is the discount policy paying? The policy report on the demo history"
echo "    take-up per tier, the rates against the cost of capital (${SKONTO_COST_OF_CAPITAL:-8} % a year),"
echo "    the balance points, the net effect and DSO, from the discount workers' counters"
show skontoctl report policy
show skontoctl report policy --html "$RUNDIR/policy.html" && echo "open $SHOWDIR/policy.html"

# ---------------------------------------------------------------- 9
if [ "${SKONTO_DEMO_KEEP:-1}" = 0 ]; then
  step "Stopping the stack (SKONTO_DEMO_KEEP=0)"
  deploy/local.sh down "$RUNDIR" 2>&1 | sed 's/^/    /'
else
  step "The stack keeps running"
  FIRST_METRICS=$(printf '%s\n' "$METRICS" | sed -n '1s/^[^=]*=//p')
  cat <<EOF
    Use it from this shell:   . $SHOWDIR/env
    then for example:         skontoctl order show ${open:-SO-000001}
                              skontoctl customer show ${cust:-C-0001}
                              skontoctl forecast --by day --json
                              skontoctl clock advance 7d      (simulated time)
                              skontoctl reminders list --customer ${cust:-C-0001}
                              skontoctl statement preview ${cust:-C-0001}
                              curl -s $FIRST_METRICS
                              deploy/local.sh status $SHOWDIR
    Stop it:                  deploy/local.sh down $SHOWDIR
EOF
fi
