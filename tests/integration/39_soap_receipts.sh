#!/bin/bash
# 39_soap_receipts.sh - a SOAP target's answers kept in full, against the
# real SOAP peer (tests/peers/soap/server.js, node `soap`), with
# tests/data/deliver/soap-receipts.xml:
#   - receipt-field-number and receipt-field-status capture two parts of
#     SubmitClaimResponse into the record's receipt data (ledger column
#     receipt_data), shown by `ferry show` (text and --json); the one-value
#     receipt (receipt-xpath) is kept as before;
#   - `ferry reconcile` asks ClaimStatus and keeps what the status answer
#     gives for the same fields (status FOUND) on the record it confirms;
#   - a Client fault with a detail keeps the detail fields beside the
#     fault string in last_error, the personal name the peer echoes in one
#     of them masked (***), and the record is failed in those words.
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
soap_start "$T" --log "$LOG" || fail setup "SOAP server did not start"
C=$T/case
mkdir -p "$C"
cp "$DATA/soap-receipts.xml" "$C/map.xml"
sed -e "s#@ENDPOINT@#http://127.0.0.1:$SOAP_PORT/claims#" -e 's#@ATTRS@#timeout="5s"#' \
    -e 's#@CHILDREN@##' -e 's#@MAPPING@#map.xml#' "$DATA/ferry-soap.xml.in" > "$C/ferry.xml"
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
ref_of() { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .reference'; }

fy check > "$C/check.out" 2>&1 || { cat "$C/check.out"; fail check "exit $?"; }
printf '%s\n' '{"id":"R1","name":"Alice Jones","amount":"12.50"}' '{"id":"R2","name":"Bob Smith","amount":"3.00"}' \
    '{"id":"F1","name":"Detlef Brown","amount":"4.00"}' | fy submit claim - > "$C/submit.out" 2>&1 ||
    { cat "$C/submit.out"; fail submit "exit $?"; }
fy deliver > "$C/d.out" 2> "$C/d.err"; rc=$?
[ "$rc" = 65 ] || { tail "$C/d.err"; fail deliver "exit $rc, wanted 65 (one fault)"; }

# --- several named receipt fields ---------------------------------------
r1=$(ref_of R1)
got=$(fy show --json "$r1" 2>/dev/null | jq -c '[.receipt, .receipt_data]')
[ "$got" = "[\"RCPT-$r1\",{\"number\":\"RCPT-$r1\",\"status\":\"ACCEPTED\"}]" ] || fail receipts "show --json: $got"
fy show "$r1" > "$C/show.txt" 2>/dev/null
grep -q "^receipt data:  number=RCPT-$r1 status=ACCEPTED$" "$C/show.txt" || fail receipts "show: $(grep receipt "$C/show.txt")"
ok "receipt-field-number and -status: both parts kept in the ledger beside the receipt, shown by ferry show and --json"

# --- reconcile keeps what the status answer says ---------------------------
fy reconcile claims-ws --json > "$C/rec.json" 2> "$C/rec.err"; rc=$?
[ "$rc" = 0 ] || { cat "$C/rec.err"; fail reconcile "exit $rc"; }
[ "$(jq -r .confirmed "$C/rec.json")" = 2 ] || fail reconcile "$(jq -c . "$C/rec.json" | head -c 400)"
got=$(fy show --json "$r1" 2>/dev/null | jq -c '[.state, .receipt_data]')
[ "$got" = "[\"confirmed\",{\"number\":\"RCPT-$r1\",\"status\":\"FOUND\"}]" ] || fail reconcile "after reconcile: $got"
ok "reconcile: ClaimStatus confirms 2, and the receipt data of each is what the status answer gave (status FOUND)"

# --- a fault's detail beside the fault string, personal values masked ----
f1=$(ref_of F1)
le=$(fy show --json "$f1" 2>/dev/null | jq -r '.state + " | " + .last_error')
[ "$le" = "failed | SOAP fault Client: claimant not matched (detail: ErrorCode=E042, Field=Name, Given=***)" ] ||
    fail detail "got: $le"
if command -v sqlite3 >/dev/null; then
    [ "$(sqlite3 -readonly "$C/spool/ledger.db" "SELECT count(*) FROM records WHERE last_error LIKE '%Detlef%'")/$(sqlite3 -readonly "$C/spool/ledger.db" "SELECT count(*) FROM attempts WHERE message LIKE '%Detlef%'")" = 0/0 ] ||
        fail detail "the echoed name is stored"
fi
grep -q Detlef "$C/d.err" && fail detail "the echoed name is logged"
ok "fault detail kept beside the fault string (ErrorCode, Field), the echoed personal name masked, not in the ledger's error nor the log"
echo "$CASES cases passed"
