#!/bin/bash
# 53_serve_exclusive - one daemon per port and per spool, against the
# real binary: a second `ferry serve` on a busy address exits 69 saying
# the address is in use (no SO_REUSEPORT: the kernel never splits the
# submissions between two daemons); a second one on a held spool exits 69
# naming the holder's PID; after the holder is SIGKILLed the spool can be
# taken again at once (the lock dies with its process).
set -eu
. "$(dirname "$0")/lib.sh"
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
[ -x "$DRIVE" ] || { echo "no $DRIVE"; exit 1; }
for c in curl jq; do
    command -v $c >/dev/null || { echo "$c not installed"; exit 77; }
done

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

example_config "$T/ex"
CFG="$T/ex/ferry.xml"
KEY="$T/ex/secrets/frontend.key"
# up NAME SPOOL LISTEN - start a daemon and wait for "listening"; PID set
up() {
    "$FERRY_BIN" serve --config "$CFG" --spool "$2" --listen "$3" 2>"$T/$1.log" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do
        grep -q 'event=listening' "$T/$1.log" && return 0
        kill -0 "$PID" 2>/dev/null || { cat "$T/$1.log"; fail "up $1" "exited"; }
        sleep 0.1
    done
    fail "up $1" "no listening line: $(cat "$T/$1.log")"
}
# second NAME SPOOL LISTEN - a daemon that must refuse to start: RC, log
second() {
    RC=0
    timeout 20 "$FERRY_BIN" serve --config "$CFG" --spool "$2" --listen "$3" \
        2>"$T/$1.log" || RC=$?
}

P=$(free_port)
up first "$T/sp1" "127.0.0.1:$P"
FIRST=$PID

# ---- same port, another spool ------------------------------------------
second port "$T/sp2" "127.0.0.1:$P"
[ "$RC" = 69 ] || fail port "second daemon on a busy port exited $RC, wanted 69: $(cat "$T/port.log")"
grep -q 'Address already in use' "$T/port.log" || fail port "reason not said: $(cat "$T/port.log")"
grep -q 'event=listening' "$T/port.log" && fail port "second daemon listened"
# every submission reaches the one daemon that holds the port
head -1 "$T/ex/submissions.ndjson" > "$T/a.json"
for i in $(seq 10); do
    jq -c ".submission_reference=\"EXCL$(printf %04d "$i")X\"" "$T/a.json" > "$T/s.json"
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $("$DRIVE" token "$KEY" heating-refund-frontend 0 HS256)" \
        -H 'Content-Type: application/json' --data-binary @"$T/s.json" \
        "http://127.0.0.1:$P/v1/services/refund-claim/submissions")
    [ "$code" = 202 ] || fail port "submission $i: HTTP $code"
done
[ "$(sqlite3 "$T/sp1/ledger.db" 'SELECT count(*) FROM records')" = 10 ] \
    || fail port "the first spool does not hold all 10 submissions"
ok "second serve on a busy port exits 69 (Address already in use); all 10 submissions reach the first"

# ---- same spool, another port ------------------------------------------
second spool "$T/sp1" "127.0.0.1:0"
[ "$RC" = 69 ] || fail spool "second daemon on a held spool exited $RC, wanted 69: $(cat "$T/spool.log")"
grep -q "pid $FIRST" "$T/spool.log" || fail spool "holder's PID $FIRST not named: $(cat "$T/spool.log")"
[ "$(tr -d '\n' < "$T/sp1/daemon.lock")" = "$FIRST" ] || fail spool "daemon.lock does not name $FIRST"
ok "second serve on a held spool exits 69 naming the holder (pid $FIRST)"

# ---- the lock dies with its holder -------------------------------------
kill -9 "$FIRST"; wait "$FIRST" 2>/dev/null || true
up third "$T/sp1" "127.0.0.1:$P"
ok "after SIGKILL of the holder, a new serve takes the spool and the port at once"
kill -TERM "$PID"; wait "$PID" || fail third "exit $?"

echo "$CASES cases passed"
