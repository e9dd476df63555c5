#!/bin/bash
# 07_find - `ferry find`: by the front-end's reference and the ferry
# reference, by the mapping's searchable fields typed as staff would
# (spaces, case, the form's date format), several matches, --json, 67 when
# nothing matches, 65 for a field that is not searchable; a record that
# came in over HTTP is findable too; the ledger holds no NINO in clear
# (spool key on); an existing ledger without entries is fixed by
# --reindex; the search key is 0600 beside the spool key.
set -eu
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }
# payloads encrypted: then the NINO can only be in the ledger via the index
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/spool.key"
chmod 600 "$T/ex/secrets/spool.key"
sed -i 's|<spool dir="../var/ferry"/>|<spool dir="../var/ferry" key-file="secrets/spool.key"/>|' "$CFG"
grep -q 'key-file="secrets/spool.key"' "$CFG" || fail setup "spool key set"

expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson"
[ -f "$T/ex/secrets/search.key" ] || fail key "search.key made beside the spool key"
[ "$(stat -c %a "$T/ex/secrets/search.key")" = 600 ] || fail key "search.key is 0600"
ok "search key made 0600 beside the spool key"

expect_exit 0 F find --config "$CFG" --spool "$SP" HCR001002X
grep -q "HCR001002X" "$T/out" || fail feref "front-end reference found: $(cat "$T/out")"
ref2=$(awk 'NR==2 {print $1}' "$T/out")
expect_exit 0 F find --config "$CFG" --spool "$SP" --json "$ref2"
jq -e '.count == 1 and .records[0].frontend_reference == "HCR001002X"' "$T/out" >/dev/null \
    || fail ref "ferry reference found: $(cat "$T/out")"
ok "find by the front-end's reference and by the ferry reference"

# the first submission: Siân Jones, AB 12 34 56 C, 14/03/1956, CF10 1AA
expect_exit 0 F find --config "$CFG" --spool "$SP" --json "nino=ab123456c"
jq -e '.count == 1 and .by == "nino" and .records[0].frontend_reference == "HCR001001X"' "$T/out" >/dev/null \
    || fail nino "lower case, no spaces: $(cat "$T/out")"
expect_exit 0 F find --config "$CFG" --spool "$SP" --json "nino=AB 12 34 56 C"
jq -e '.count == 1' "$T/out" >/dev/null || fail nino "with spaces"
expect_exit 0 F find --config "$CFG" --spool "$SP" --json "surname=jones" "dob=14/03/1956"
jq -e '.count == 1 and .records[0].frontend_reference == "HCR001001X"' "$T/out" >/dev/null \
    || fail surname-dob "as on the form: $(cat "$T/out")"
expect_exit 0 F find --config "$CFG" --spool "$SP" --json "dob=1956-03-14" "surname= JONES "
jq -e '.count == 1' "$T/out" >/dev/null || fail surname-dob "ISO date, any order"
expect_exit 67 F find --config "$CFG" --spool "$SP" "surname=jones" "dob=15/03/1956"
n=$(F find --config "$CFG" --spool "$SP" --json "postcode=cf10 1aa" | jq '.count')
want=$(jq -r 'select(.answers[3].postcode != null) | .answers[3].postcode' "$T/ex/submissions.ndjson" | tr a-z A-Z | grep -c '^CF10 1AA$' || true)
[ "$n" -ge 1 ] || fail postcode "postcode finds records"
ok "find by nino (any spacing and case), surname + date of birth (form or ISO date), postcode ($n)"

expect_exit 67 F find --config "$CFG" --spool "$SP" "nino=ZZ999999D"
grep -q "no record matches" "$T/err" || fail none "says so"
expect_exit 67 F find --config "$CFG" --spool "$SP" --json NOSUCHREF1
jq -e '.count == 0' "$T/out" >/dev/null || fail none "json count 0"
expect_exit 65 F find --config "$CFG" --spool "$SP" "forename=SIAN"
grep -q "searchable" "$T/err" || fail unsearchable "names the reason: $(cat "$T/err")"
expect_exit 65 F find --config "$CFG" --spool "$SP" "surname=x" "dob=31/02/1990"
expect_exit 64 F find --config "$CFG" --spool "$SP"
ok "exit 67 when nothing matches, 65 for a field that is not searchable or a bad date, 64 usage"

# nothing personal in clear anywhere in the ledger
for f in "$SP"/ledger.db*; do
    if grep -a -q "AB123456C" "$f"; then fail clear "NINO in clear in $f"; fi
done
ok "no NINO in clear in the ledger files (payload key on)"

# an existing ledger without entries (made before searchable=): --reindex
sqlite3 "$SP/ledger.db" 'DELETE FROM search'
expect_exit 67 F find --config "$CFG" --spool "$SP" "nino=AB123456C"
expect_exit 0 F find --config "$CFG" --spool "$SP" --actor ops --reindex
grep -q "refund-claim: 8 records indexed" "$T/out" || fail reindex "counted: $(cat "$T/out")"
expect_exit 0 F find --config "$CFG" --spool "$SP" "nino=AB123456C"
F audit --spool "$SP" --json | jq -e '[.audit[] | select(.action == "reindex" and .actor == "ops")] | length == 2' >/dev/null \
    || fail reindex "audited per service"
ok "--reindex indexes stored records (audited)"

# over HTTP: the daemon's intake indexes the same way
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
: > "$T/serve.log"
"$FERRY_BIN" serve --config "$CFG" --spool "$SP" --listen 127.0.0.1:0 2>"$T/serve.log" &
PID=$!; PIDS+=("$PID")
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || fail serve "no listening line: $(cat "$T/serve.log")"
head -1 "$T/ex/submissions.ndjson" | jq -c '.submission_reference="HTTP00001X" | .answers[1].answer_text="JG 10 37 25 B"' > "$T/one.json"
TOK=$(python3 "$T/ex/mint-token.py" heating-refund-frontend "$T/ex/secrets/frontend.key")
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
    -H 'Content-Type: application/json' --data-binary @"$T/one.json" \
    "http://127.0.0.1:$PORT/v1/services/refund-claim/submissions")
[ "$code" = 202 ] || fail http "202 expected, got $code: $(cat "$T/resp")"
kill -TERM "$PID"; wait "$PID" || true
expect_exit 0 F find --config "$CFG" --spool "$SP" --json "nino=jg103725b"
jq -e '.count == 1 and .records[0].frontend_reference == "HTTP00001X"' "$T/out" >/dev/null \
    || fail http "HTTP submission found by nino: $(cat "$T/out")"
ok "a submission over HTTP is found by its NINO"
echo "$CASES cases"
