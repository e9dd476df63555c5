#!/bin/bash
# 80_queue_claimed.sh - `ferry queue` names the node that holds a claim.
#
# A `ferry deliver` is killed (crash point deliver-before-outcomes, SAN
# build) after it claimed its records and made its calls, so the records
# stay `delivering` under its lease.  The SOAP target is a closed port on
# loopback: the calls are refused, which is all the claim needs.
# Checked: every delivering line's CLAIMED-BY is the dead run's lease
# owner (host:pid:deliver), JSON says the same (claimed_by, lease_until),
# a record in any other state shows "-" and null; after the rerun the
# claims are gone.
. "$(dirname "$0")/lib.sh"
set -e
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
trap 'rm -rf "$T"' EXIT
DATA=$FERRY_ROOT/tests/data/deliver
C=$T/c; mkdir -p "$C"
cp "$DATA/soap-by-ref.xml" "$C/map.xml"
sed -e "s#@ENDPOINT@#http://127.0.0.1:$(free_port)/claims#" \
    -e 's#@ATTRS@#concurrency="2" lease="1s"#' \
    -e 's#@CHILDREN@#<retry initial="100ms"/>#' -e 's#@MAPPING@#map.xml#' \
    -e 's#level="info"#level="warn"#' "$DATA/ferry-soap.xml.in" > "$C/ferry.xml"
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }

seq 1 6 | awk '{printf "{\"id\":\"Q%06d\",\"amount\":\"1.00\"}\n", $1}' |
    fy submit claim - > /dev/null 2>&1 || fail setup "submit"
fy hold "$(fy queue --json | jq -r '.records[0].reference')" --reason "kept back" \
    > /dev/null 2>&1 || fail setup "hold"

set +e
FERRY_CRASH_AT="deliver-before-outcomes@1" fy deliver > "$T/crash.out" 2> "$T/crash.err"
rc=$?
set -e
[ "$rc" = 137 ] || { tail -3 "$T/crash.err"; fail crash "ferry deliver exit $rc, wanted SIGKILL (137)"; }

fy queue --json > "$T/q.json"
n=$(jq '[.records[] | select(.state == "delivering")] | length' "$T/q.json")
[ "$n" -gt 0 ] || fail claims "no record left delivering by the killed run"
owner=$(jq -r '[.records[] | select(.state == "delivering")][0].claimed_by' "$T/q.json")
case "$owner" in
    *:*:deliver) ;;
    *) fail json "claimed_by '$owner' is not host:pid:deliver" ;;
esac
jq -e --arg o "$owner" '[.records[] | select(.state == "delivering")]
    | all(.claimed_by == $o and (.lease_until | test("Z$")))' "$T/q.json" > /dev/null ||
    fail json "a delivering record without the owner or its lease end"
jq -e '[.records[] | select(.state != "delivering")]
    | length > 0 and all(.claimed_by == null and (has("lease_until") | not))' \
    "$T/q.json" > /dev/null || fail json "a record not delivering shows a claim"
ok "queue --json: $n delivering records claimed_by $owner with lease_until; others null"

fy queue > "$T/q.txt"
head -1 "$T/q.txt" | grep -q 'TRY  CLAIMED-BY ' || fail text "no CLAIMED-BY column: $(head -1 "$T/q.txt")"
[ "$(grep -c " delivering .* $owner " "$T/q.txt")" = "$n" ] ||
    fail text "delivering lines naming $owner: $(grep -c " $owner " "$T/q.txt"), wanted $n"
grep ' held ' "$T/q.txt" | grep -q '  -  ' || fail text "the held record shows a claim"
ok "queue: CLAIMED-BY column, $owner on the $n delivering lines, - on the held one"

sleep 1.3                              # the dead run's lease runs out
fy deliver --once > /dev/null 2>&1 || true
fy queue --json > "$T/q2.json"
jq -e '[.records[] | select(.claimed_by != null)] | length == 0' "$T/q2.json" > /dev/null ||
    fail rerun "claims left after the rerun: $(jq -c '[.records[] | select(.claimed_by != null) | .state]' "$T/q2.json")"
ok "after the lease ran out and a rerun: no claims shown"
echo "$CASES cases passed"
