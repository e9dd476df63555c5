#!/bin/bash
# 64_reconcile_soap.sh - `ferry reconcile` of a SOAP target against the real
# SOAP peer (tests/peers/soap/server.js): every delivered and in-doubt
# record is put to the mapping's status-operation (ClaimStatus, keyed by the
# ferry reference: tests/data/deliver/soap-by-ref.xml), as
# scheduler/recon_stream.c and docs/reconcile.md describe:
#   found      -> confirmed (delivered or in doubt), receipt from ClaimStatus
#   not found  -> in doubt: requeued (safe to send again); delivered:
#                 reported missing, left delivered, exit 65
#   cannot ask -> nothing changes, exit 75
# In-doubt records are made as 33_deliver_soap.sh makes them for its
# ClaimStatus case: the peer is stopped (SIGSTOP) while the calls are in
# flight, so they time out after the request was sent.  (The peer's SLOW*
# behaviour cannot serve here: it keys on the claim id, ClaimStatus on the
# ferry reference, so a SLOW record is never "found".)  Then either the
# peer is continued (it processes them: "the target has it") or killed and
# restarted (its memory is gone: "the target lost it" - and so are the
# earlier delivered ones, which become "missing").  retry initial="1h"
# keeps `ferry deliver` from asking about in-doubt records itself, so only
# reconcile does.  The peer logs every SubmitClaim, so the test also shows
# that reconcile never sends a claim.
set -u
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/soap.sh"
DATA=$FERRY_ROOT/tests/data/deliver
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
trap 'soap_stop; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

command -v node >/dev/null || { echo "skip: node not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }

LOG=$T/requests.log
: > "$LOG"
# start_server PORT - the peer, logging to $LOG; sets PORT
start_server() {
    soap_start "$T" --port "$1" --log "$LOG" || fail setup "SOAP server did not start"
    PORT=$SOAP_PORT
}

C=$T/case
mkdir -p "$C"
cp "$DATA/soap-by-ref.xml" "$C/map.xml"
start_server 0
EP=http://127.0.0.1:$PORT/claims
sed -e "s#@ENDPOINT@#$EP#" -e 's#@ATTRS@#timeout="1s" concurrency="4"#' \
    -e 's#@CHILDREN@#<retry initial="1h"/>#' -e "s#@MAPPING@#map.xml#" \
    "$DATA/ferry-soap.xml.in" > "$C/ferry.xml"
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
submit() {
    local a
    for a in "$@"; do printf '{"id":"%s","amount":"1.00"}\n' "$a"; done |
        fy submit claim - > "$C/submit.out" 2>&1 || { cat "$C/submit.out"; fail submit "exit $?"; }
}
# deliver - exit 0, or 65 exactly when records are left in doubt
deliver() {
    fy deliver > "$C/deliver.out" 2> "$C/deliver.err"; local got=$? want=0
    [ "$(fy queue --json --state indoubt 2>/dev/null | jq '.count')" = 0 ] || want=65
    [ "$got" = "$want" ] || { tail -n 5 "$C/deliver.err"; fail deliver "exit $got, wanted $want"; }
}
# reconcile WANT_EXIT - JSON summary in $C/rec.json
reconcile() {
    fy reconcile claims-ws --json > "$C/rec.json" 2> "$C/rec.err"; local got=$?
    [ "$got" = "$1" ] || { cat "$C/rec.err"; head -c 2000 "$C/rec.json"; fail reconcile "exit $got, wanted $1"; }
}
counts() { jq -c '[.confirmed, .missing, .requeued, .transport_unavailable]' "$C/rec.json"; }
ref_of()   { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .reference'; }
state_of() { fy show --json "$(ref_of "$1")" 2>/dev/null | jq -r .state; }
states()   { local i s=""; for i in "$@"; do s="$s $(state_of "$i")"; done; echo "${s# }"; }
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
sent() { grep -c "^$(ref_of "$1")\$" "$LOG"; }

# --- set up: M delivered and B in doubt, then the peer loses its memory; -
# --- D delivered and A in doubt on the new peer, which then takes A ------
submit M1 M2
deliver
submit B1 B2
kill -STOP "$SOAP_PID"
deliver
kill -KILL "$SOAP_PID"; wait "$SOAP_PID" 2>/dev/null; SOAP_PID=""   # B lost
start_server "$PORT"
submit D1 D2 D3
deliver
submit A1 A2 A3
kill -STOP "$SOAP_PID"
deliver
kill -CONT "$SOAP_PID"                       # the peer catches up on A
for _ in $(seq 1 100); do
    [ "$(sent A1)" = 1 ] && [ "$(sent A2)" = 1 ] && [ "$(sent A3)" = 1 ] && break; sleep 0.05
done
[ "$(states M1 M2 D1 D2 D3)" = "delivered delivered delivered delivered delivered" ] ||
    fail setup "delivered: $(states M1 M2 D1 D2 D3)"
[ "$(states B1 B2 A1 A2 A3)" = "indoubt indoubt indoubt indoubt indoubt" ] ||
    fail setup "in doubt: $(states B1 B2 A1 A2 A3)"
[ "$(sent A1)$(sent A2)$(sent A3)" = 111 ] || fail setup "the peer did not take A: $(cat "$LOG" | tr '\n' ' ')"
ok "set up: M1 M2 delivered and B1 B2 in doubt to a peer since restarted; D1-D3 delivered and A1-A3 in doubt to the live peer, which took them"

# --- the peer unreachable: nothing changes --------------------------------
DOWN=$(free_port)
sed -i "s#$EP#http://127.0.0.1:$DOWN/claims#" "$C/ferry.xml"
reconcile 75
[ "$(counts)" = '[0,0,0,true]' ] || fail down "summary $(counts)"
[ "$(count_state delivered),$(count_state indoubt)" = "5,5" ] || fail down "states changed"
jq -r .transport_message "$C/rec.json" | grep -qi 'connect' || fail down "message: $(jq -r .transport_message "$C/rec.json")"
sed -i "s#http://127.0.0.1:$DOWN/claims#$EP#" "$C/ferry.xml"
ok "peer unreachable: exit 75, 10 cannot tell, nothing changed"

# --- reconcile: found -> confirmed, lost in doubt -> requeued, lost delivered -> missing
calls=$(wc -l < "$LOG")
reconcile 65
[ "$(counts)" = '[6,2,2,false]' ] || fail reconcile "confirmed,missing,requeued: $(counts)"
[ "$(states D1 D2 D3 A1 A2 A3)" = "confirmed confirmed confirmed confirmed confirmed confirmed" ] ||
    fail reconcile "found ones: $(states D1 D2 D3 A1 A2 A3)"
[ "$(states B1 B2)" = "queued queued" ] || fail reconcile "lost in-doubt ones: $(states B1 B2)"
[ "$(states M1 M2)" = "delivered delivered" ] || fail reconcile "lost delivered ones: $(states M1 M2)"
r=$(ref_of A2)
[ "$(fy show --json "$r" 2>/dev/null | jq -r .receipt)" = "RCPT-$r" ] || fail reconcile "A2 receipt from ClaimStatus"
[ "$(jq -r --arg r "$(ref_of M1)" '.items[] | select(.ref == $r) | .kind' "$C/rec.json")" = missing ] ||
    fail reconcile "M1 not listed missing"
[ "$(jq -r --arg r "$(ref_of B2)" '.items[] | select(.ref == $r) | .kind' "$C/rec.json")" = requeued ] ||
    fail reconcile "B2 not listed requeued"
[ "$(wc -l < "$LOG")" = "$calls" ] || fail reconcile "reconcile sent claims"
fy show --json "$(ref_of B1)" 2>/dev/null > "$C/b1.json"
# audited: the operator who ran reconcile is the actor, the reason names it
[ "$(jq -c '[.audit[] | select(.action == "retry") | [.before, .after, (.reason | startswith("reconcile:"))]]' "$C/b1.json")" = \
  '[["indoubt","queued",true]]' ] || fail reconcile "B1 requeue audit: $(jq -c .audit "$C/b1.json")"
ok "reconcile: 6 found -> confirmed (receipt from ClaimStatus), 2 lost in doubt -> requeued, 2 lost delivered -> missing, exit 65, no claim sent"

# --- again: nothing new; the requeued ones go out once and are confirmed ---
reconcile 65
[ "$(counts)" = '[0,2,0,false]' ] || fail again "summary $(counts)"
deliver
[ "$(states B1 B2)" = "delivered delivered" ] || fail again "B after deliver: $(states B1 B2)"
[ "$(sent B1)$(sent B2)$(sent A1)$(sent D1)" = 1111 ] ||
    fail again "calls per record B1 B2 A1 D1: $(sent B1)$(sent B2)$(sent A1)$(sent D1)"
reconcile 65
[ "$(counts)" = '[2,2,0,false]' ] || fail again "summary after resend $(counts)"
[ "$(states B1 B2 M1)" = "confirmed confirmed delivered" ] || fail again "states: $(states B1 B2 M1)"
ok "second run: only the 2 missing reported; requeued ones resent once (the peer handled each once: the first call died with the killed peer), then confirmed"
soap_stop
echo "$CASES cases passed"
