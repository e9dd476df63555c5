#!/bin/bash
# 38_soap_outage.sh - an outage with records in doubt, through the real
# `ferry` binary against the real SOAP peer (tests/peers/soap/server.js).
# The target has no status-operation, so its in-doubt records cannot be
# checked.  Cases:
#   - records that time out after sending are in doubt: `ferry deliver`
#     exits 65 and says how many;
#   - the peer is stopped while 200 records wait and restarted during one
#     `ferry deliver --wait`: the breaker opens, its half-open probe is a
#     real call (never an in-doubt record), each change of state is logged
#     once, `ferry targets` (another process) shows the breaker open from
#     the ledger while the run is going, and after the restart every
#     queued record is delivered within about one cool-down; --wait ends
#     as soon as only the uncheckable in-doubt records remain; the time to
#     drain after the restart is measured and printed;
#   - `ferry settle` (refs on stdin with comments, --delivered --receipt,
#     --not-delivered) settles them, audited; a requeued one is sent again.
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/soap.sh"
DATA=$FERRY_ROOT/tests/data/deliver
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
trap 'soap_stop; [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null; rm -rf "$T"' EXIT
command -v node >/dev/null || { echo "skip: node not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }
LOG=$T/requests.log

soap_start "$T" --log "$LOG" --slow-ms 3000 || fail setup "SOAP server did not start"
PORT=$SOAP_PORT
C=$T/outage
mkdir -p "$C"
cp "$DATA/soap-by-id.xml" "$C/map.xml"
COOL_MS=2000
sed -e "s#@ENDPOINT@#http://127.0.0.1:$PORT/claims#" \
    -e 's#@ATTRS@#timeout="1s" connect-timeout="1s" concurrency="8"#' \
    -e "s#@CHILDREN@#<retry initial=\"200ms\" factor=\"1\" jitter=\"10%\" max-attempts=\"1000\"/><breaker threshold=\"3\" cooldown=\"${COOL_MS}ms\"/>#" \
    -e 's#@MAPPING@#map.xml#' "$DATA/ferry-soap.xml.in" > "$C/ferry.xml"
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
ref_of() { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .reference'; }
submit_ids() { for a in "$@"; do printf '{"id":"%s","amount":"1.00"}\n' "$a"; done |
    fy submit claim - > "$C/submit.out" 2>&1 || { cat "$C/submit.out"; fail submit "exit $?"; }; }

# --- records in doubt make deliver exit non-zero, with their count -----------
submit_ids SLOW1 SLOW2 SLOW3 SLOW4 SLOW5
fy deliver > "$C/d1.out" 2> "$C/d1.err"; rc=$?
[ "$rc" = 65 ] || { tail "$C/d1.err"; fail indoubt "exit $rc, wanted 65"; }
[ "$(count_state indoubt)" = 5 ] || fail indoubt "$(count_state indoubt) in doubt"
grep -q '^ferry deliver: 5 record(s) in doubt' "$C/d1.err" || fail indoubt "$(tail -2 "$C/d1.err")"
grep -q 'claims-ws: 0 delivered, 0 to retry, 0 failed, 5 in doubt' "$C/d1.err" || fail indoubt "$(grep claims-ws "$C/d1.err")"
ok "5 calls timed out after sending: 5 in doubt, deliver exits 65 and says so"

# --- outage with the in-doubt records present --------------------------------
soap_stop
seq 1 200 | awk '{printf "{\"id\":\"G%05d\",\"amount\":\"1.00\"}\n", $1}' |
    fy submit claim - > "$C/submit.out" 2>&1 || fail outage submit
: > "$LOG"
fy deliver --wait 60s > "$C/d2.out" 2> "$C/d2.err" &
DPID=$!
for _ in $(seq 1 100); do grep -q 'event=breaker-open' "$C/d2.err" && break; sleep 0.1; done
grep -q 'event=breaker-open' "$C/d2.err" || fail outage "the breaker never opened"
sleep 3                          # at least one cool-down and a failed probe
b=$(fy targets --json 2>/dev/null | jq -r '.targets[0].breaker')
case "$b" in open|half-open) ;; *) fail targets "ferry targets beside the run says breaker '$b'";; esac
ok "ferry targets in another process shows the breaker $b (from the ledger)"
soap_start "$T" --port "$PORT" --log "$LOG" --slow-ms 10 || fail outage "peer did not restart"
t0=$(date +%s%3N)
drained=""
for _ in $(seq 1 400); do
    [ "$(wc -l < "$LOG")" -ge 200 ] && { drained=$(date +%s%3N); break; }
    sleep 0.05
done
wait "$DPID"; rc=$?; DPID=""
t1=$(date +%s%3N)
[ -n "$drained" ] || fail outage "only $(wc -l < "$LOG") of 200 calls after the restart"
[ "$rc" = 65 ] || { tail "$C/d2.err"; fail outage "exit $rc, wanted 65 (in doubt remain)"; }
[ "$(count_state delivered)" = 200 ] || fail outage "$(count_state delivered) of 200 delivered"
[ "$(count_state indoubt)" = 5 ] || fail outage "$(count_state indoubt) in doubt"
grep -q '^SLOW' "$LOG" && fail outage "an in-doubt record was sent again (or used as the probe)"
drain=$((drained - t0)); total=$((t1 - t0))
# within one cool-down (plus the 200 calls themselves, on a shared 2-core
# machine under ASan): the bug this guards against took minutes
[ "$drain" -le $((2 * COOL_MS + 5000)) ] || fail outage "drain took ${drain}ms after the restart (cool-down ${COOL_MS}ms)"
[ "$((total - drain))" -le 3000 ] || fail outage "--wait went on $((total - drain))ms after the drain with only uncheckable records left"
opens=$(grep -c 'event=breaker-open' "$C/d2.err"); halfs=$(grep -c 'event=breaker-half-open' "$C/d2.err")
closes=$(grep -c 'event=breaker-closed' "$C/d2.err")
[ "$closes" = 1 ] && [ "$halfs" = "$opens" ] || fail outage "breaker events: open $opens, half-open $halfs, closed $closes"
# each half-open was a real call: the line after it is a delivery of a G record
awk '/event=breaker-half-open/{h=1; next} h && /event=delivery/{print $0; h=0}' "$C/d2.err" |
    grep -vq 'ref=FRY' && fail outage "a probe that was not a delivery"
grep -q 'claims-ws: 200 delivered, 0 to retry, 0 failed, 5 in doubt' "$C/d2.err" || fail outage "summary: $(grep claims-ws: "$C/d2.err")"
[ "$(grep -c 'event=indoubt-uncheckable' "$C/d2.err")" -le 1 ] || fail outage "uncheckable said more than once"
echo "drain after restart: ${drain}ms for 200 records (cool-down ${COOL_MS}ms); run ended ${total}ms after the restart"
ok "peer restarted: 200 queued records drained in ${drain}ms (cool-down ${COOL_MS}ms), breaker open x$opens half-open x$halfs closed x1, in-doubt never probed, --wait ended with only 5 uncheckable left (exit 65)"
[ "$(fy targets --json 2>/dev/null | jq -r '.targets[0].breaker')" = closed ] || fail targets "breaker not closed after the run"

# --- ferry settle ------------------------------------------------------------
r1=$(ref_of SLOW1); r2=$(ref_of SLOW2); r3=$(ref_of SLOW3); r4=$(ref_of SLOW4); r5=$(ref_of SLOW5)
fy settle --delivered "$r1" >/dev/null 2>&1; [ $? = 64 ] || fail settle "no reason: not refused"
printf '# checked with the claims office, 3 Dec\n\n%s\n  %s\n' "$r1" "$r2" |
    fy settle --delivered --receipt OFFICE-77 --reason "claims office confirms receipt" - > "$C/s1.out" 2> "$C/s1.err" ||
    { cat "$C/s1.err"; fail settle "delivered: exit $?"; }
[ "$(fy show --json "$r1" 2>/dev/null | jq -r '.state + " " + .receipt')" = "delivered OFFICE-77" ] || fail settle "$r1"
[ "$(fy show --json "$r2" 2>/dev/null | jq -r .state)" = delivered ] || fail settle "$r2"
fy settle --not-delivered --reason "claims office has no trace" "$r3" > /dev/null 2>&1 || fail settle "not-delivered"
[ "$(fy show --json "$r3" 2>/dev/null | jq -r .state)" = queued ] || fail settle "$r3 not requeued"
fy audit "$r1" > "$C/audit.out" 2>&1
[ "$(grep -Ec 'settle +FRY-[0-9-]+ +indoubt +delivered +claims office confirms receipt' "$C/audit.out")" = 1 ] ||
    fail settle "audit: $(cat "$C/audit.out")"
fy settle --delivered --reason "again" "$r1" >/dev/null 2>&1
[ $? = 65 ] || fail settle "a delivered record settled again"
: > "$LOG"
fy deliver > "$C/d3.out" 2> "$C/d3.err"; rc=$?
[ "$rc" = 65 ] || fail settle "deliver with 2 in doubt: exit $rc"
[ "$(cat "$LOG")" = SLOW3 ] || fail settle "peer got: $(tr '\n' ' ' < "$LOG")"
grep -q '^ferry deliver: 2 record(s) in doubt' "$C/d3.err" || fail settle "$(tail -1 "$C/d3.err")"
fy settle --delivered --reason "office confirms" "$r4" "$r5" >/dev/null 2>&1 || fail settle "last two"
fy deliver > "$C/d4.out" 2> "$C/d4.err" || fail settle "deliver with none in doubt: exit $?"
ok "settle: refs from stdin (comment and blank skipped) --delivered --receipt, --not-delivered requeues and it is sent once; audited; deliver exits 0 once none is in doubt"

# --- one target refused by WS-Security stops alone; the other goes on ------
soap_start "$T" --port "$PORT" --log "$LOG" --user claims --password 's3cr&t' ||
    fail stop "peer did not restart"
S=$T/side
mkdir -p "$S"
printf 's3cr&t\n' > "$S/good.pw"; printf 'wrong\n' > "$S/bad.pw"; chmod 600 "$S"/*.pw
sed -e 's/name="claims-ws"/name="good-ws"/' "$DATA/soap-by-id.xml" > "$S/good.xml"
sed -e 's/name="claims-ws"/name="bad-ws"/' -e 's/service="claim"/service="claim2"/' "$DATA/soap-by-id.xml" > "$S/bad.xml"
cat > "$S/ferry.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ferry xmlns="urn:ferry:config:1">
  <spool dir="spool"/>
  <log format="logfmt" level="info"/>
  <target name="good-ws" type="soap" endpoint="http://127.0.0.1:$PORT/claims"
          username="claims" password-file="good.pw" timeout="5s"/>
  <target name="bad-ws" type="soap" endpoint="http://127.0.0.1:$PORT/claims"
          username="claims" password-file="bad.pw" timeout="5s"/>
  <target name="locked-ws" type="soap" endpoint="http://127.0.0.1:$PORT/locked/claims"
          timeout="5s"/>
  <service name="claim" mapping="good.xml" target="good-ws"/>
  <service name="claim2" mapping="bad.xml" target="bad-ws"/>
  <service name="claim3" mapping="locked.xml" target="locked-ws"/>
</ferry>
XML
sed -e 's/name="claims-ws"/name="locked-ws"/' -e 's/service="claim"/service="claim3"/' "$DATA/soap-by-id.xml" > "$S/locked.xml"
fs() { "$FERRY_BIN" "$1" --config "$S/ferry.xml" "${@:2}"; }
for i in 1 2 3 4 5 6; do printf '{"id":"OK%d","amount":"1.00"}\n' "$i"; done | fs submit claim - >/dev/null 2>&1 || fail stop "submit good"
for i in 1 2 3 4; do printf '{"id":"NO%d","amount":"1.00"}\n' "$i"; done | fs submit claim2 - >/dev/null 2>&1 || fail stop "submit bad"
for i in 1 2 3; do printf '{"id":"LK%d","amount":"1.00"}\n' "$i"; done | fs submit claim3 - >/dev/null 2>&1 || fail stop "submit locked"
: > "$LOG"
fs deliver > "$S/d.out" 2> "$S/d.err"; rc=$?
[ "$rc" = 78 ] || { tail "$S/d.err"; fail stop "exit $rc, wanted 78"; }
grep -q 'good-ws: 6 delivered' "$S/d.err" || fail stop "$(grep good-ws "$S/d.err")"
grep -q 'bad-ws: STOPPED: .*authentication failed' "$S/d.err" || fail stop "$(grep bad-ws "$S/d.err")"
grep -q 'locked-ws: STOPPED: HTTP 401: credentials refused' "$S/d.err" || fail stop "$(grep locked-ws "$S/d.err")"
[ "$(grep -c 'event=target-stopped' "$S/d.err")" = 2 ] || fail stop "target-stopped said $(grep -c 'event=target-stopped' "$S/d.err") times for 2 targets"
q=$(fs queue --json --state queued 2>/dev/null | jq '[.records[] | select(.target=="bad-ws" and .attempts==0)] | length')
[ "$q/$(fs queue --json --state failed 2>/dev/null | jq .count)" = "4/0" ] || fail stop "bad-ws records queued uncounted $q"
q=$(fs queue --json --state queued 2>/dev/null | jq '[.records[] | select(.target=="locked-ws" and .attempts==0)] | length')
[ "$q" = 3 ] || fail stop "locked-ws records queued uncounted $q"
[ "$(fs targets --json 2>/dev/null | jq -r '.targets[] | select(.target=="bad-ws") | .breaker')" = stopped ] ||
    fail stop "ferry targets does not say stopped"
[ "$(fs targets --json 2>/dev/null | jq -r '.targets[] | select(.target=="locked-ws") | .stopped')" = "HTTP 401: credentials refused" ] ||
    fail stop "ferry targets does not say why locked-ws stopped"
ok "WS-Security refused on bad-ws, HTTP 401 on locked-ws: each stops once with the reason (exit 78), their 4 and 3 records wait uncounted, none failed; good-ws delivered 6; ferry targets says stopped and why"
echo "$CASES cases passed"
