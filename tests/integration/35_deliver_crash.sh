#!/bin/bash
# 35_deliver_crash.sh - SIGKILL `ferry deliver` in the middle of delivery,
# then run it again, against real peers.
#
# Crash points (SAN/test build, FERRY_CRASH_AT=name@N: the Nth time):
#   deliver-before-outcomes  calls made, nothing recorded
#   outcome-before-commit    outcomes written, transaction not committed
#   outcome-after-commit     committed, process dies straight after
# The target's lease is 2s; the test waits it out, so the dead run's
# claims come back (as in doubt: their calls may have arrived).
#
# ODBC (PostgreSQL via psqlODBC, marker table): after every crash and
# rerun, target rows == records, each reference once.
# SOAP (node peer): with the ClaimStatus probe, in-doubt records are asked
# about first; with resend-in-doubt and no probe they are sent again.
# Duplicates are counted from the peer's log and reported; each must
# belong to a record that was in doubt (an "expired" or "indoubt" attempt).
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}" "${TMPDIR:=/tmp}"
DATA=$FERRY_ROOT/tests/data/deliver
PEER=$FERRY_ROOT/tests/peers/soap
PGBIN=/usr/lib/postgresql/15/bin
PSQLODBC=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so
POINTS="deliver-before-outcomes outcome-before-commit outcome-after-commit"
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

W=$(mktemp -d "$TMPDIR/deliver-crash.XXXXXX")
chmod 0755 "$W"
SRV_PID=""
PG_UP=""
CASES=0
ok()   { CASES=$((CASES+1)); echo "ok   $1"; }
fail() { echo "FAIL $1: ${2:-}"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
echo "leak:psqlodbcw.so" > "$W/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$W/lsan.supp"

stop_server() {
    [ -n "$SRV_PID" ] || return 0
    kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=""
}
RUNAS=()
[ "$(id -u)" = 0 ] && RUNAS=(runuser -u postgres --)
PGW=$W/pg
pg_stop() { "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGW/data" -m "${1:-fast}" -w stop >/dev/null 2>&1; }
cleanup() {
    stop_server
    [ -n "$PG_UP" ] && pg_stop immediate
    rm -rf "$W"; [ "$PGW" = "$W/pg" ] || rm -rf "$PGW"
}
trap cleanup EXIT

fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
# crash_run POINT - ferry deliver that must die at POINT (second time it is
# reached, so some work is already recorded), then the lease is waited out
crash_run() {
    FERRY_CRASH_AT="$1@2" fy deliver > "$C/crash.out" 2> "$C/crash.err"
    local rc=$?
    [ "$rc" = 137 ] || { tail -3 "$C/crash.err"; fail "$1" "ferry deliver exit $rc, wanted SIGKILL (137)"; }
    grep -q 'crash point reached' "$C/crash.err" || fail "$1" "crash point not reached"
    [ "$(count_state delivering)" -gt 0 ] || [ "$1" = outcome-after-commit ] ||
        fail "$1" "no claims left behind by the crash"
    sleep 2.3
}
rerun() {
    fy deliver --wait 30s > "$C/rerun.out" 2> "$C/rerun.err"
    local rc=$?
    [ "$rc" = 0 ] || { tail -5 "$C/rerun.err"; fail "$1" "rerun exit $rc"; }
}

# --- ODBC into PostgreSQL with the marker ----------------------------------
if [ -x "$PGBIN/postgres" ] && [ -f "$PSQLODBC" ]; then
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin postgres
    fi
    mkdir -p "$PGW"; [ "$(id -u)" = 0 ] && chown postgres "$PGW"
    if ! "${RUNAS[@]}" test -w "$PGW" 2>/dev/null; then
        PGW=$(mktemp -d /tmp/ferry-dcrash.XXXXXX); [ "$(id -u)" = 0 ] && chown postgres "$PGW"
    fi
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${RUNAS[@]}" "$PGBIN/initdb" -D "$PGW/data" -A trust -U ferry -E UTF8 \
        --locale=C.UTF-8 >/dev/null || fail setup "initdb failed"
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGW/data" -l "$PGW/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$PGW -c fsync=off" \
        start >/dev/null || { cat "$PGW/log"; fail setup "postgres did not start"; }
    PG_UP=1
    export FERRY_ODBC_CONN="Driver=$PSQLODBC;Server=127.0.0.1;Port=$PORT;Database=postgres;UID=ferry"
    export PGOPTIONS="-c client_min_messages=warning"
    psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U ferry postgres -c "$1"; }
    for p in $POINTS; do
        psql_q "DROP TABLE IF EXISTS claims, ferry_marker;
          CREATE TABLE claims (ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL,
            amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0));"
        C=$W/odbc-$p; mkdir -p "$C"; cp "$DATA/odbc-claims.xml" "$C/map.xml"
        sed -e 's#@ATTRS@#batch-size="50" lease="2s" marker-table="ferry_marker" create-marker="true"#' \
            -e 's#@CHILDREN@#<retry initial="500ms"/>#' -e 's#@LEVEL@#warn#' \
            "$DATA/ferry-odbc.xml.in" > "$C/ferry.xml"
        N=300
        seq 1 $N | awk '{printf "{\"id\":\"K%06d\",\"name\":\"N%d\",\"amount\":\"1.00\"}\n", $1, $1}' |
            fy submit claim - > /dev/null 2>&1 || fail "$p" "submit"
        crash_run "$p"
        before=$(psql_q "SELECT count(*) FROM claims")
        rerun "$p"
        [ "$(count_state delivered)" = "$N" ] || fail "odbc $p" "$(count_state delivered) of $N delivered"
        rows=$(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")
        [ "$rows" = "$N|$N" ] || fail "odbc $p" "rows|distinct = $rows, records $N"
        expired=$(sqlite3 -readonly "$C/spool/ledger.db" "SELECT count(DISTINCT record_id) FROM attempts WHERE outcome = 'expired'" 2>/dev/null || echo "?")
        ok "odbc crash at $p: $before rows at the crash, $expired claims expired; after rerun $N records = $N rows"
    done
    pg_stop fast; PG_UP=""
else
    echo "skip odbc: PostgreSQL 15 or psqlODBC not installed"
fi

# --- SOAP -----------------------------------------------------------------
if command -v node >/dev/null && [ -d "$PEER/node_modules/soap" ]; then
    LOG=$W/requests.log; : > "$LOG"
    node "$PEER/server.js" 0 --log "$LOG" > "$W/port" 2> "$W/server.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do SPORT=$(head -n1 "$W/port"); [ -n "$SPORT" ] && break; sleep 0.1; done
    [ -n "$SPORT" ] || fail setup "SOAP server did not start"
    EP=http://127.0.0.1:$SPORT/claims
    # dups_only_in_doubt - duplicates in the peer log, each in doubt
    dups_only_in_doubt() {
        local n=0 r
        for r in $(sort "$LOG" | uniq -d); do
            n=$((n+1))
            fy show --json "$r" 2>/dev/null |
                jq -e '[.attempts_log[].outcome] | any(. == "indoubt" or . == "expired")' >/dev/null ||
                fail duplicates "$r sent twice but never in doubt"
        done
        echo "$n"
    }
    for mode in probe resend; do
        for p in $POINTS; do
            C=$W/soap-$mode-$p; mkdir -p "$C"
            if [ $mode = probe ]; then
                cp "$DATA/soap-by-ref.xml" "$C/map.xml"; extra=''
            else
                # the ferry reference as Reference, no status-operation:
                # the target says repeats are harmless
                sed -e '/status-/d' -e 's#receipt-xpath="\([^"]*\)"#receipt-xpath="\1">#' \
                    "$DATA/soap-by-ref.xml" > "$C/map.xml"
                extra='resend-in-doubt="true"'
            fi
            sed -e "s#@ENDPOINT@#$EP#" -e "s#@ATTRS@#concurrency=\"8\" lease=\"2s\" $extra#" \
                -e 's#@CHILDREN@#<retry initial="500ms"/>#' -e 's#@MAPPING@#map.xml#' \
                -e 's#level="info"#level="warn"#' "$DATA/ferry-soap.xml.in" > "$C/ferry.xml"
            : > "$LOG"
            N=200
            seq 1 $N | awk '{printf "{\"id\":\"S%06d\",\"amount\":\"1.00\"}\n", $1}' |
                fy submit claim - > /dev/null 2>&1 || fail "$p" "submit"
            crash_run "$p"
            rerun "$p"
            [ "$(count_state delivered)" = "$N" ] || fail "soap $mode $p" "$(count_state delivered) of $N delivered"
            [ "$(sort -u "$LOG" | wc -l)" = "$N" ] || fail "soap $mode $p" "peer saw $(sort -u "$LOG" | wc -l) distinct"
            d=$(dups_only_in_doubt)
            if [ $mode = probe ] && [ "$d" != 0 ]; then
                fail "soap probe $p" "$d duplicates although the probe could tell"
            fi
            ok "soap ($mode) crash at $p: $N delivered; $(wc -l < "$LOG") calls, $d duplicates, all in doubt"
        done
    done
    stop_server
else
    echo "skip soap: node or the soap package missing"
fi
[ "$CASES" -gt 0 ] || { echo "skip: no peer could run"; exit 77; }
echo "$CASES cases passed"
