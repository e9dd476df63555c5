#!/bin/bash
# 05_admit - a submission is accepted only if every target of its service
# can take it.  Before, a newline in a surname was accepted at the door
# (exit 0) and dead-lettered by the night batch at 01:30 ("control
# character U+000A not allowed") although `ferry map` already said it
# could not be encoded.  Now the CLI and the HTTP intake refuse it with the
# target's own problem, nothing is spooled, and the night batch finds
# nothing to dead-letter.  A too-long surname the copybook cannot hold is
# refused the same way; a plain message from the mapping travels beside
# the technical reason in --json and in the HTTP 422.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'kill $SRV 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
SRV=
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }

good=$(head -1 "$T/ex/submissions.ndjson")
# a newline inside the surname (the forename's mapping turns controls into
# spaces; the surname's does not, as a department may choose)
bad=$(printf '%s' "$good" | jq -c '.submission_reference = "ADMIT0001" |
      (.answers[] | select(.question_id == 1) | .last_name) = "Jones\nSmith"')
printf '%s\n' "$bad" > "$T/bad.ndjson"
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/bad.ndjson"
grep -q 'cannot be encoded for target claims-mainframe' "$T/err" ||
    fail cli "no target problem: $(cat "$T/err")"
grep -q 'U+000A' "$T/err" || fail cli "the character is not named: $(cat "$T/err")"
grep -qi 'smith' "$T/err" "$T/out" && fail cli "the refused value was echoed"
n=$(F queue --config "$CFG" --spool "$SP" --json | jq '.records | length')
[ "$n" = 0 ] || fail cli "a refused record was spooled ($n)"
ok "submit refuses a record the mainframe's copybook cannot hold (newline), nothing spooled"

long=$(printf '%s' "$good" | jq -c '.submission_reference = "ADMIT0002" |
      (.answers[] | select(.question_id == 1) | .last_name) = "Featherstonehaugh-Cholmondeley"')
printf '%s\n' "$long" > "$T/long.ndjson"
expect_exit 65 F submit --config "$CFG" --spool "$SP" --json refund-claim "$T/long.ndjson"
jq -e '.results[0].status == "rejected"' "$T/out" >/dev/null || fail long "not rejected: $(cat "$T/out")"
ok "a surname longer than the mapping allows is refused"

nino=$(printf '%s' "$good" | jq -c '.submission_reference = "ADMIT0003" |
      (.answers[] | select(.question_id == 2) | .answer_text) = "GB123456A"')
printf '%s\n' "$nino" > "$T/nino.ndjson"
expect_exit 65 F submit --config "$CFG" --spool "$SP" --json refund-claim "$T/nino.ndjson"
jq -e '[.results[0].problems[] | select(.message ==
      "Enter a National Insurance number in the correct format")] | length == 1' \
    "$T/out" >/dev/null || fail message "no plain message: $(cat "$T/out")"
jq -e '[.results[0].problems[] | select(.reason | test("not allowed"))] | length == 1' \
    "$T/out" >/dev/null || fail message "no technical reason: $(cat "$T/out")"
ok "submit --json carries the mapping's plain message beside the technical reason"

expect_exit 0 F submit --config "$CFG" --spool "$SP" refund-claim <(printf '%s\n' "$good")
# an edit goes through the same door: the edited record must encode too
ref=$(F queue --config "$CFG" --spool "$SP" --json | jq -r '.records[0].reference')
expect_exit 65 F edit --config "$CFG" --spool "$SP" --actor support.officer "$ref" \
    --set $'answers[question_id=1].last_name=Jones\nSmith' --reason "test"
grep -q 'cannot be encoded for target claims-mainframe' "$T/err" ||
    fail edit "no target problem: $(cat "$T/err")"
F show --config "$CFG" --spool "$SP" --json "$ref" | jq -e '.state == "queued"' >/dev/null ||
    fail edit "the record changed"
ok "ferry edit refuses a change one of the targets could not encode, nothing changed"
expect_exit 0 F batch --config "$CFG" --spool "$SP" claims-nightly
n=$(F queue --config "$CFG" --spool "$SP" --state failed --json | jq '.records | length')
[ "$n" = 0 ] || fail batch "the night batch dead-lettered $n records"
ok "what the door accepted, the night batch encodes: no dead letter"

# ---- the HTTP intake refuses it the same way ------------------------------
PORT=$(free_port)
F serve --config "$CFG" --spool "$T/spool2" --listen "127.0.0.1:$PORT" \
    >"$T/serve.log" 2>&1 &
SRV=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
TOKEN=$(python3 "$T/ex/mint-token.py" heating-refund-frontend "$T/ex/secrets/frontend.key")
code=$(printf '%s' "$bad" | curl -s -o "$T/resp.json" -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary @- "http://127.0.0.1:$PORT/v1/services/refund-claim/submissions")
[ "$code" = 422 ] || fail http "status $code, wanted 422: $(cat "$T/resp.json")"
jq -e '[.problems[] | select(.reason | test("cannot be encoded for target claims-mainframe"))] | length >= 1' \
    "$T/resp.json" >/dev/null || fail http "no target problem: $(cat "$T/resp.json")"
ok "the HTTP intake answers 422 with the target's problem"
echo "$CASES cases"
