#!/bin/bash
# 84_cluster_breaker.sh - two `ferry serve` nodes on one PostgreSQL spool
# share a target's breaker (docs/cluster.md).
#
# The SOAP target first answers every call 503 (a small failing peer,
# below, that logs each call with its time).  Node a opens its breaker
# after 3 failures; node b's threshold is so high that it never opens on
# its own, so when b stops sending it is because it read a's breaker from
# the ledger.  Checked: a logs breaker-open, b logs breaker-shared
# state=open by a; in the cool-downs that follow, the peer sees at most
# one call (the cluster's one probe) per cool-down, not a node's retry
# stream; then the real SOAP peer (tests/peers/soap/server.js) takes the
# port, one probe succeeds, both nodes close (the other by breaker-shared
# state=closed) and every record is delivered, once.  The nodes'
# configurations differ (the thresholds): one of them warns
# (config-differs).  Then /metrics of
# each node: its own figures labelled with its node (a by <spool
# node="alpha">, b by HOST:PID), the ledger's figures unlabelled and the same from both, and
# `ferry report` the same from both (docs/mi.md).
# Skipped when PostgreSQL 15 or node is not installed.
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
. "$FERRY_ROOT/tests/peers/soap.sh"
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }
PIDS=()
FAILPID=""
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "$FAILPID" ] && kill "$FAILPID" 2>/dev/null
    soap_stop
    [ -n "${PG_DIR:-}" ] && pg_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
DATA=$FERRY_ROOT/tests/data/deliver
COOL_MS=3000
N=20

chmod 0755 "$T"
pg_start "$T/pg" cluster >/dev/null || { cat "$PG_DIR/log"; fail pg-start "postgres did not start"; }
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "CREATE DATABASE ferry_c" >/dev/null

# the failing peer: 503 to every call, one line per call (ms since epoch)
PORT=$(free_port)
python3 - "$PORT" "$T/fail.log" <<'EOF' 2>"$T/fail.err" &
import http.server, sys, time
log = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        log.write("%d\n" % int(time.time() * 1000))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
FAILPID=$!
for _ in $(seq 50); do [ -f "$T/fail.log" ] && curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
: > "$T/fail.log"

# mknode NAME THRESHOLD [SPOOL-ATTRS] - a configuration on the shared ledger
mknode() {
    mkdir -p "$T/$1"
    cp "$DATA/soap-by-id.xml" "$T/$1/map.xml"
    sed -e "s#@ENDPOINT@#http://127.0.0.1:$PORT/claims#" \
        -e 's#@ATTRS@#timeout="2s" connect-timeout="1s" concurrency="2"#' \
        -e "s#@CHILDREN@#<retry initial=\"100ms\" factor=\"1\" jitter=\"0%\" max-attempts=\"100000\"/><breaker threshold=\"$2\" cooldown=\"${COOL_MS}ms\"/>#" \
        -e 's#@MAPPING@#map.xml#' \
        -e "s#<spool dir=\"spool\"/>#<spool dir=\"spool\" backend=\"postgresql\" connection-file=\"ledger.conn\"${3:-}/>#" \
        "$DATA/ferry-soap.xml.in" > "$T/$1/ferry.xml"
    printf 'host=127.0.0.1 port=%s user=ferry dbname=ferry_c\n' "$PGPORT" > "$T/$1/ledger.conn"
    chmod 600 "$T/$1/ledger.conn"
}
fy() { "$FERRY_BIN" "$2" --config "$T/$1/ferry.xml" "${@:3}"; }
# serve NAME - a daemon on NAME's configuration
serve() {
    (cd "$T/$1" && exec "$FERRY_BIN" serve --config "$T/$1/ferry.xml" \
        --listen 127.0.0.1:0 2> "$T/$1.log") &
    PIDS+=("$!")
}
mknode a 3 ' node="alpha"'
mknode b 1000000
seq 1 "$N" | awk '{printf "{\"id\":\"K%05d\",\"amount\":\"1.00\"}\n", $1}' |
    fy a submit claim - > "$T/submit.out" 2>&1 || { cat "$T/submit.out"; fail setup submit; }

serve a
serve b
for _ in $(seq 150); do grep -q 'event=breaker-open' "$T/a.log" && break; sleep 0.1; done
grep -q 'event=breaker-open' "$T/a.log" || { tail -5 "$T/a.log"; fail open "node a never opened its breaker"; }
t_open=$(date +%s%3N)
for _ in $(seq 30); do grep -q 'event=breaker-shared.*state=open' "$T/b.log" && break; sleep 0.1; done
grep -q 'event=breaker-shared.*state=open' "$T/b.log" || { tail -5 "$T/b.log"; fail shared "node b never took on a's open breaker"; }
owner_a=$(sed -n 's/.*event=breaker-shared.*state=open by=\([^ ]*\).*/\1/p' "$T/b.log" | head -1)
ok "node a opened its breaker; node b took it on from the ledger (by $owner_a)"
# their breaker thresholds differ on purpose: the second to start says so
grep -q 'event=config-differs' "$T/a.log" "$T/b.log" ||
    fail config "no node warned that the nodes' configurations differ"
ok "the nodes' configurations differ (breaker threshold): $(grep -ho 'event=config-differs nodes=[^ ]*' "$T/a.log" "$T/b.log" | head -1)"

# two cool-downs after b took it on: one call per cool-down at most
sleep 1
t0=$(date +%s%3N)
sleep $(( 2 * COOL_MS / 1000 ))
t1=$(date +%s%3N)
calls=$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 < b' "$T/fail.log" | wc -l)
before=$(awk -v a="$t_open" '$1 < a' "$T/fail.log" | wc -l)
[ "$calls" -le 3 ] || fail probe "$calls calls in $((t1 - t0)) ms while open (cool-down ${COOL_MS} ms): not one probe per cool-down"
[ "$calls" -ge 1 ] || fail probe "no probe at all in two cool-downs"
probes=$(cat "$T/a.log" "$T/b.log" | grep -c 'event=breaker-half-open')
ok "while open: $calls call(s) in $((t1 - t0)) ms across both nodes (one probe per ${COOL_MS} ms cool-down; $before calls before it opened; $probes probes so far)"

# recovery: the real SOAP peer on the same port
kill "$FAILPID"; wait "$FAILPID" 2>/dev/null; FAILPID=""
soap_start "$T" --port "$PORT" --log "$T/soap.log" || fail recover "SOAP peer did not start"
delivered=0
for _ in $(seq 200); do
    delivered=$(fy a queue --json --state delivered 2>/dev/null | jq '.count')
    [ "$delivered" = "$N" ] && break
    sleep 0.1
done
[ "$delivered" = "$N" ] || fail recover "$delivered of $N delivered after the peer came back"
grep -q 'event=breaker-closed' "$T/a.log" "$T/b.log" || fail recover "no node logged breaker-closed"
closer=$(grep -l 'event=breaker-closed' "$T/a.log" "$T/b.log" | head -1)
other=$T/a.log; [ "$closer" = "$T/a.log" ] && other=$T/b.log
for _ in $(seq 30); do     # it reads the shared row every 500 ms
    grep -q 'event=breaker-shared.*state=closed\|event=breaker-closed' "$other" && break
    sleep 0.1
done
grep -q 'event=breaker-shared.*state=closed\|event=breaker-closed' "$other" ||
    fail recover "the other node never closed: $(grep 'event=breaker' "$other" | tail -2)"
sent=$(grep -c . "$T/soap.log")
uniq=$(grep -o 'K[0-9]*' "$T/soap.log" | sort -u | wc -l)
[ "$uniq" = "$N" ] || fail recover "the peer got $uniq distinct records of $N"
[ "$sent" = "$N" ] || fail recover "the peer got $sent calls for $N records"
ok "after the peer came back: $(basename "$closer" .log)'s probe closed the breaker, the other node followed, $N records delivered once each"
# /metrics: each node's own figures labelled with its node; the
# ledger's the same from both; ferry report the same from both
for n in a b; do
    port=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$n.log" | head -1)
    [ -n "$port" ] || fail metrics "node $n: no listening line"
    curl -sf "http://127.0.0.1:$port/metrics" > "$T/$n.prom" || fail metrics "node $n: GET /metrics failed"
    grep -Eq '^ferry_breaker_state\{node="[^"]+",target="claims-ws"\} 0$' "$T/$n.prom" ||
        fail metrics "node $n: $(grep '^ferry_breaker_state' "$T/$n.prom")"
    grep '^ferry_delivery_attempts_total{' "$T/$n.prom" | grep -qv 'node="' &&
        fail metrics "node $n: a delivery figure without its node"
    grep -E '^ferry_(records|mi_records)\{' "$T/$n.prom" | grep -q 'node=' &&
        fail metrics "node $n: a ledger figure labelled with a node"
    grep -E '^ferry_(records|mi_records|received_total)[{ ]' "$T/$n.prom" > "$T/$n.ledger"
    fy "$n" report --format json 2>/dev/null | jq -S 'del(.generated_at, .generated_at_ms)' > "$T/$n.report" ||
        fail report "node $n: ferry report failed"
done
na=$(sed -n 's/^ferry_breaker_state{node="\([^"]*\)".*/\1/p' "$T/a.prom")
nb=$(sed -n 's/^ferry_breaker_state{node="\([^"]*\)".*/\1/p' "$T/b.prom")
[ "$na" = alpha ] || fail metrics "node a (<spool node=\"alpha\">) is labelled '$na'"
case "$nb" in *:[0-9]*) ;; *) fail metrics "node b (no name) is labelled '$nb', not HOST:PID" ;; esac
[ -s "$T/a.ledger" ] && cmp -s "$T/a.ledger" "$T/b.ledger" ||
    fail metrics "the ledger's figures differ between nodes: $(diff "$T/a.ledger" "$T/b.ledger" | head -4)"
cmp -s "$T/a.report" "$T/b.report" || fail report "ferry report differs between nodes"
[ "$(jq '.total.received' "$T/a.report")" = "$N" ] || fail report "ferry report: $(jq '.total.received' "$T/a.report") received, wanted $N"
ok "/metrics: node-local figures labelled node=\"$na\" and node=\"$nb\"; ledger figures ($(wc -l < "$T/a.ledger") lines) and ferry report the same from both"
for p in "${PIDS[@]}"; do kill -TERM "$p"; wait "$p" 2>/dev/null; done
PIDS=()
echo "$CASES cases passed"
