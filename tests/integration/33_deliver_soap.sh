#!/bin/bash
# 33_deliver_soap.sh - the delivery engine through the real `ferry` binary
# against the real SOAP peer (tests/peers/soap/server.js, node `soap`).
#
# Each case writes its own ferry.xml (tests/data/deliver/ferry-soap.xml.in)
# and mapping into a folder of the temp dir, submits with `ferry submit`
# and runs `ferry deliver`.  The peer logs every SubmitClaim's Reference,
# so duplicates are counted from the peer's side: they may occur only for
# records that were in doubt.
# Cases: happy path with receipts and `ferry targets`; the idempotency
# header and element carry the delivery identity; a Client fault is
# failed at once in the back end's words and blocks nothing; target down ->
# deferred with jittered next attempts, then max-attempts -> failed (exit
# 75, 65); circuit breaker skips the target then probes with ONE record;
# delivery window shut / holiday -> nothing attempted, nothing failed;
# timeout after sending -> in doubt, not resent without a way to tell,
# resent with resend-in-doubt; in doubt with the ClaimStatus probe ->
# delivered without resending when the peer has it, resent when it lost
# it; the peer stopped while records flow and restarted -> all delivered.
set -u
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/soap.sh"
DATA=$FERRY_ROOT/tests/data/deliver
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
trap 'soap_stop; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

command -v node >/dev/null || { echo "skip: node not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 not installed"; exit 77; }
soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }

# start_server [PORT] ARGS... - the peer, logging to $LOG; sets PORT
start_server() {
    local want=${1:-0}; shift
    soap_start "$T" --port "$want" --log "$LOG" "$@" || fail setup "SOAP server did not start"
    PORT=$SOAP_PORT
}

# mkcase NAME MAPPING ENDPOINT ATTRS CHILDREN - a fresh folder $C with
# ferry.xml and mappings; the peer's log is emptied
mkcase() {
    C=$T/$1
    mkdir -p "$C"
    cp "$DATA/$2.xml" "$C/map.xml"
    sed -e "s#@ENDPOINT@#$3#" -e "s#@ATTRS@#$4#" -e "s#@CHILDREN@#$5#" \
        -e "s#@MAPPING@#map.xml#" "$DATA/ferry-soap.xml.in" > "$C/ferry.xml"
    : > "$LOG"
}
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
# submit ID:AMOUNT... - one record each
submit() {
    local a
    for a in "$@"; do printf '{"id":"%s","amount":"%s"}\n' "${a%%:*}" "${a#*:}"; done |
        fy submit claim - > "$C/submit.out" 2>&1 || { cat "$C/submit.out"; fail submit "exit $?"; }
}
submit_n() {   # PREFIX N
    seq 1 "$2" | awk -v p="$1" '{printf "{\"id\":\"%s%05d\",\"amount\":\"1.00\"}\n", p, $1}' |
        fy submit claim - > "$C/submit.out" 2>&1 || { cat "$C/submit.out"; fail submit "exit $?"; }
}
# deliver WANT_EXIT ARGS... - stdout/stderr in $C/deliver.{out,err}
deliver() {
    local want=$1; shift
    fy deliver "$@" > "$C/deliver.out" 2> "$C/deliver.err"
    local got=$?
    [ "$got" = "$want" ] || { tail -n 20 "$C/deliver.err"; fail deliver "exit $got, wanted $want"; }
}
# state_of ID - state of the record whose front-end id is ID
state_of() { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .state'; }
ref_of()   { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .reference'; }
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
sql() { sqlite3 -readonly "$C/spool/ledger.db" "$1"; }
# dups_only_in_doubt - every Reference the peer logged more than once had
# an in-doubt (or expired-lease) attempt in the ledger; prints the count
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

LOG=$T/requests.log
: > "$LOG"
start_server 0
EP=http://127.0.0.1:$PORT/claims

# --- happy path ----------------------------------------------------------
mkcase happy soap-by-ref "$EP" 'concurrency="8" timeout="5s"' ''
submit_n H 40
deliver 0
[ "$(count_state delivered)" = 40 ] || fail happy "$(count_state delivered) of 40 delivered"
[ "$(wc -l < "$LOG")" = 40 ] || fail happy "peer logged $(wc -l < "$LOG") calls for 40"
[ "$(sort "$LOG" | uniq -d | wc -l)" = 0 ] || fail happy "duplicates on the happy path"
r=$(ref_of H00007)
[ "$(fy show --json "$r" 2>/dev/null | jq -r .receipt)" = "RCPT-$r" ] || fail happy "receipt of $r"
fy targets --json > "$C/t.json" 2>/dev/null || fail happy "ferry targets exit $?"
[ "$(jq -c '.targets[0] | [.queued,.due,.failed,.indoubt,.window_state]' "$C/t.json")" = '[0,0,0,0,"always"]' ] ||
    fail happy "targets: $(cat "$C/t.json")"
grep -q "claims-ws: 40 delivered, 0 to retry, 0 failed, 0 in doubt" "$C/deliver.err" || fail happy "summary: $(tail -1 "$C/deliver.err")"
ok "happy path: 40 delivered once each, receipts stored, targets counts 0, exit 0"

# --- the idempotency key a service keeps is the delivery identity --------
# (references are unique only within one spool); idempotency-value="$reference"
# keeps the old key where a service wants it
IDEM=$T/idem.log
soap_stop
start_server "$PORT" --idem-log "$IDEM"
mkcase idem soap-by-id "$EP" 'idempotency-header="X-Idempotency-Key"' ''
sed -i 's#receipt-xpath=#idempotency-element="RequestId" receipt-xpath=#' "$C/map.xml"
: > "$IDEM"
submit K1:1.00 K2:1.00 K3:1.00
deliver 0
for i in K1 K2 K3; do
    id=$(fy show --json "$(ref_of $i)" 2>/dev/null | jq -r .delivery_id)
    [[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail idem "$i delivery id '$id'"
    [ "$(grep -c "^$i	" "$IDEM")" = 1 ] || fail idem "$i logged $(grep -c "^$i	" "$IDEM") times"
    [ "$(grep "^$i	" "$IDEM" | cut -f2,3)" = "$id	$id" ] ||
        fail idem "$i: the peer got '$(grep "^$i	" "$IDEM" | cut -f2,3)', ferry show says $id"
done
mkcase idemref soap-by-id "$EP" 'idempotency-header="X-Idempotency-Key" idempotency-value="\$reference"' ''
: > "$IDEM"
submit K4:1.00
deliver 0
[ "$(grep "^K4	" "$IDEM" | cut -f2)" = "$(ref_of K4)" ] || fail idem "idempotency-value=\$reference: $(cat "$IDEM")"
mkcase idembad soap-by-id "$EP" 'idempotency-header="X-Idempotency-Key" idempotency-value="\$service"' ''
fy check > "$C/check.out" 2>&1 && fail idem "ferry check passed idempotency-value=\$service"
grep -q 'idempotency-value "\$service": use \$delivery-id' "$C/check.out" || fail idem "check: $(cat "$C/check.out")"
soap_stop
start_server "$PORT"
ok "idempotency header and element carry the delivery identity that ferry show gives (3 of 3), \$reference on request; a bad value is a check problem"

# --- a Client fault fails at once and blocks nothing ----------------------
mkcase poison soap-by-id "$EP" 'concurrency="4"' ''
submit A1:1.00 BAD1:1.00 A2:1.00 ZERO1:0.00 A3:1.00
deliver 65
for i in A1 A2 A3; do [ "$(state_of $i)" = delivered ] || fail poison "$i is $(state_of $i)"; done
[ "$(state_of BAD1)" = failed ] || fail poison "BAD1 is $(state_of BAD1)"
fy show --json "$(ref_of BAD1)" 2>/dev/null | jq -r .last_error | grep -qx 'SOAP fault Client: reference BAD1 rejected: unknown claimant' ||
    fail poison "BAD1 error: $(fy show --json "$(ref_of BAD1)" 2>/dev/null | jq -r .last_error)"
fy show --json "$(ref_of ZERO1)" 2>/dev/null | jq -r .last_error | grep -q 'Amount must be greater than zero' ||
    fail poison "ZERO1 not failed with the peer's words"
[ "$(fy show --json "$(ref_of BAD1)" 2>/dev/null | jq .attempts)" = 1 ] || fail poison "BAD1 tried more than once"
[ "$(jq -r '.targets[0].failed' <(fy targets --json 2>/dev/null))" = 2 ] || fail poison "targets failed count"
ok "Client fault -> failed at once with the peer's words; the rest delivered; exit 65"

# --- target down: deferred with jitter, then exhausted -------------------
DOWN=$(free_port)
mkcase down soap-by-id "http://127.0.0.1:$DOWN/claims" 'connect-timeout="1s"' \
    '<retry initial="2s" factor="2" jitter="50%" max-attempts="2"/><breaker threshold="100"/>'
submit_n D 12
t0=$(date +%s%3N)
deliver 75
t1=$(date +%s%3N)
[ "$(count_state deferred)" = 12 ] || fail down "$(count_state deferred) of 12 deferred"
sql "SELECT next_attempt_at FROM records" > "$C/next"
awk -v a="$t0" -v b="$t1" '$1 < a + 1000 || $1 > b + 3000 { bad++ } END { exit bad > 0 }' "$C/next" ||
    fail down "next attempts outside [now+1s, now+3s]: $(tr '\n' ' ' < "$C/next")"
distinct=$(sort -u "$C/next" | wc -l)
spread=$(sort -n "$C/next" | awk 'NR==1{a=$1} {b=$1} END{print b-a}')
[ "$distinct" -ge 10 ] && [ "$spread" -ge 300 ] || fail down "jitter: $distinct distinct, spread ${spread}ms"
[ "$(sql "SELECT min(attempts)||','||max(attempts) FROM records")" = "1,1" ] || fail down "attempts after pass 1"
grep -q 'cannot connect' <<<"$(sql "SELECT last_error FROM records LIMIT 1")" || fail down "last error"
deliver 0                                   # nothing due yet: nothing tried
[ "$(sql "SELECT max(attempts) FROM records")" = 1 ] || fail down "retried before due"
ok "target down -> 12 deferred, next attempts spread ${spread}ms by jitter, exit 75"
sleep 3.2
deliver 65
[ "$(count_state failed)" = 12 ] || fail down "$(count_state failed) of 12 failed after max-attempts"
[ "$(sql "SELECT count(*) FROM records WHERE attempts = 2 AND last_error LIKE 'retries spent (2 of 2): cannot connect%'")" = 12 ] ||
    fail down "failed records lack attempts=2 / 'retries spent (2 of 2)' beside the last error"
ok "max-attempts reached -> failed: 'retries spent (2 of 2): <last error>', exit 65"

# --- circuit breaker ------------------------------------------------------
BRK='<retry initial="1h"/><breaker threshold="3" cooldown="2s"/>'
# 8 records per claim: concurrency 2 x (lease 5m / timeout 60s - 1) waves
BATTR='concurrency="2" timeout="60s"'
mkcase breaker1 soap-by-id "$EP" "$BATTR" "$BRK"
submit SRV1:1 SRV2:1 SRV3:1 SRV4:1 SRV5:1 SRV6:1 SRV7:1 SRV8:1 G01:1 G02:1 G03:1 G04:1
deliver 75
[ "$(wc -l < "$LOG")" = 8 ] || fail breaker "open breaker still called: $(wc -l < "$LOG") calls"
[ "$(count_state queued)" = 4 ] || fail breaker "$(count_state queued) left queued, wanted 4"
grep -q 'event=breaker-open target=claims-ws' "$C/deliver.err" || fail breaker "no breaker-open event"
grep -q '(breaker open)' "$C/deliver.err" || fail breaker "summary does not say breaker open"
ok "breaker: 3 RETRYs in a row open it; the rest is not called; exit 75"

mkcase breaker2 soap-by-id "$EP" "$BATTR" "$BRK"
submit SRV1:1 SRV2:1 SRV3:1 SRV4:1 SRV5:1 SRV6:1 SRV7:1 SRV8:1
submit_n G 12
t0=$(date +%s%3N)
deliver 0 --wait 4s
t1=$(date +%s%3N)
[ "$(head -n 8 "$LOG" | grep -c '^SRV')" = 8 ] || fail breaker "first 8 calls: $(head -n 8 "$LOG" | tr '\n' ' ')"
[ "$(sed -n 9p "$LOG")" = G00001 ] || fail breaker "probe call: $(sed -n 9p "$LOG")"
[ "$(wc -l < "$LOG")" = 20 ] || fail breaker "$(wc -l < "$LOG") calls, wanted 20"
[ "$(count_state delivered)" = 12 ] || fail breaker "$(count_state delivered) delivered"
# between half-open and closed exactly one delivery: the probe
awk '/event=breaker-half-open/{h=1; n=0; next} h && /event=delivery/{n++} /event=breaker-closed/{print n; exit}' \
    "$C/deliver.err" > "$C/probe_n"
[ "$(cat "$C/probe_n")" = 1 ] || fail breaker "probe carried $(cat "$C/probe_n") records"
[ $((t1 - t0)) -ge 2000 ] || fail breaker "cool-down not waited (run took $((t1 - t0))ms)"
ok "breaker: after the 2s cool-down ONE record probes, then the rest flows"

# --- delivery window ------------------------------------------------------
H=$(date -u +%-H); S=$(( (H + 2) % 24 )); E=$(( S + 1 ))
WIN=$(printf '%02d:00-%02d:00 UTC' "$S" "$E")
mkcase window soap-by-id "$EP" '' "<window>$WIN</window>"
submit W1:1 W2:1 W3:1
deliver 0
[ "$(count_state queued)" = 3 ] && [ "$(wc -l < "$LOG")" = 0 ] || fail window "called outside $WIN"
[ "$(sql "SELECT max(attempts) FROM records")" = 0 ] || fail window "attempts counted outside the window"
grep -q 'outside its delivery window' "$C/deliver.err" || fail window "summary does not say so"
[ "$(jq -r '.targets[0].window_state' <(fy targets --json 2>/dev/null))" = shut ] || fail window "targets not shut"
ok "window $WIN shut now: nothing attempted, nothing failed, exit 0"
TODAY=$(date -u +%F)
sed -i "s#<window>[^<]*</window>#<window>00:00-24:00 UTC</window><holiday>$TODAY</holiday>#" "$C/ferry.xml"
deliver 0
[ "$(count_state queued)" = 3 ] && [ "$(wc -l < "$LOG")" = 0 ] || fail window "called on a holiday"
sed -i "s#<holiday>[^<]*</holiday>##" "$C/ferry.xml"
deliver 0
[ "$(count_state delivered)" = 3 ] || fail window "not delivered once open"
ok "holiday today closes an all-day window; once open, delivered"

# --- in doubt: timeout after sending (SLOW), no way to tell ---------------
start_server "$PORT" --slow-ms 2500
mkcase slow soap-by-id "$EP" 'timeout="1s"' '<retry initial="1s"/>'
submit SLOW1:1 S2:1
deliver 65                                  # a record is left in doubt
grep -q '^ferry deliver: 1 record(s) in doubt' "$C/deliver.err" || fail slow "count of in-doubt records not said"
[ "$(state_of SLOW1)" = indoubt ] || fail slow "SLOW1 is $(state_of SLOW1)"
fy show --json "$(ref_of SLOW1)" 2>/dev/null | jq -r .last_error | grep -q 'after the request was sent' || fail slow "message"
[ "$(state_of S2)" = delivered ] || fail slow "S2 blocked by the slow one"
sleep 3
deliver 65
[ "$(grep -c '^SLOW1$' "$LOG")" = 1 ] || fail slow "resent without a way to tell"
[ "$(state_of SLOW1)" = indoubt ] || fail slow "SLOW1 is $(state_of SLOW1)"
ok "timeout after sending -> in doubt; no probe, no resend-in-doubt: not resent"
start_server "$PORT" --slow-ms 10
sed -i 's#timeout="1s"#timeout="1s" resend-in-doubt="true"#' "$C/ferry.xml"
sleep 2.2                                   # 2nd rest: 1s x factor 2
deliver 0
[ "$(state_of SLOW1)" = delivered ] || fail slow "resend-in-doubt: SLOW1 is $(state_of SLOW1)"
n=$(dups_only_in_doubt)
[ "$n" = 1 ] || fail slow "$n duplicates, wanted exactly SLOW1"
ok "resend-in-doubt=true: resent and delivered; the one duplicate was in doubt"

# --- in doubt with the probe: ask first ----------------------------------
mkcase probe soap-by-ref "$EP" 'timeout="1s" concurrency="4"' '<retry initial="1s"/>'
submit P1:1 P2:1 P3:1 P4:1
kill -STOP "$SOAP_PID"                       # hangs after taking the requests
deliver 65
kill -CONT "$SOAP_PID"
[ "$(count_state indoubt)" = 4 ] || fail probe "$(count_state indoubt) of 4 in doubt"
sleep 1.5                                   # the peer catches up; rest 1s
deliver 0
[ "$(count_state delivered)" = 4 ] || fail probe "$(count_state delivered) of 4 delivered after probe"
[ "$(wc -l < "$LOG")" = 4 ] && [ "$(sort "$LOG" | uniq -d | wc -l)" = 0 ] ||
    fail probe "resent: peer log $(sort "$LOG" | uniq -c | tr '\n' ' ')"
r=$(ref_of P3)
[ "$(fy show --json "$r" 2>/dev/null | jq -r .receipt)" = "RCPT-$r" ] || fail probe "receipt from ClaimStatus"
ok "in doubt + probe: peer has them -> delivered, receipts from ClaimStatus, nothing resent"

submit P5:1 P6:1
kill -STOP "$SOAP_PID"
deliver 65
kill -KILL "$SOAP_PID"; wait "$SOAP_PID" 2>/dev/null; SOAP_PID=""   # requests lost
[ "$(state_of P5)" = indoubt ] || fail probe "P5 is $(state_of P5)"
: > "$LOG"
start_server "$PORT"
sleep 1
deliver 0
[ "$(state_of P5)" = delivered ] && [ "$(state_of P6)" = delivered ] || fail probe "lost ones not resent"
[ "$(wc -l < "$LOG")" = 2 ] || fail probe "peer log: $(cat "$LOG" | tr '\n' ' ')"
ok "in doubt + probe: peer lost them -> probe says no -> resent once, delivered"

# --- the peer stopped while records flow, then restarted ------------------
mkcase flow soap-by-ref "$EP" 'timeout="2s" connect-timeout="1s" concurrency="8"' \
    '<retry initial="500ms" factor="1" jitter="20%" max-attempts="100"/><breaker threshold="5" cooldown="1s"/>'
N=3000
submit_n F $N
fy deliver --wait 60s > "$C/deliver.out" 2> "$C/deliver.err" &
DPID=$!
for _ in $(seq 1 200); do [ "$(wc -l < "$LOG")" -ge 300 ] && break; sleep 0.05; done
soap_stop
before=$(wc -l < "$LOG")
sleep 2
start_server "$PORT"
wait "$DPID"; rc=$?
[ "$rc" = 0 ] || { tail -n 5 "$C/deliver.err"; fail flow "deliver exit $rc"; }
[ "$before" -lt "$N" ] || fail flow "the peer was stopped too late ($before calls)"
[ "$(count_state delivered)" = "$N" ] || fail flow "$(count_state delivered) of $N delivered"
[ "$(sort -u "$LOG" | wc -l)" = "$N" ] || fail flow "peer saw $(sort -u "$LOG" | wc -l) distinct of $N"
grep -q 'event=delivery .*outcome=retry' "$C/deliver.err" || fail flow "no retry seen: the stop did not bite"
n=$(dups_only_in_doubt)
ok "peer stopped after $before calls and restarted: $N of $N delivered; $n duplicates, all in doubt"

soap_stop
echo "$CASES cases passed"
