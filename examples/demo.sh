#!/bin/bash
# demo.sh - `make demo`: the example department's day, end to end, on the
# embedded defaults (SQLite ledger, local folders) in a scratch var/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FERRY=${FERRY_BIN:-$ROOT/bin/ferry}
CFG=examples/ferry.xml

# bold headings on a terminal only: a log or a pipe gets no escape codes
if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi
run()  { printf '$ %s\n' "$*"; "$@"; }
# expect CODE CMD... - run, and insist on the documented exit code
expect() {
    local want=$1; shift
    printf '$ %s\n' "$*"
    set +e; "$@"; local got=$?; set -e
    if [ "$got" -ne "$want" ]; then
        echo "demo: expected exit $want, got $got" >&2; exit 1
    fi
    echo "(exit $got, as documented)"
}

rm -rf var
mkdir -p var/mainframe-drop var/mainframe-acks   # the "mainframe" side
umask 077
if [ ! -f examples/secrets/frontend.key ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > examples/secrets/frontend.key
fi
chmod 600 examples/secrets/frontend.key
# The legacy customer database (SQLite through its ODBC driver) and the
# 0600 file holding its connection string.
sqlite3 var/legacy.db < examples/legacy-schema.sql
driver=$(ls /usr/lib/*/odbc/libsqlite3odbc.so 2>/dev/null | head -1)
printf 'Driver=%s;Database=%s/var/legacy.db;Timeout=5000\n' \
    "${driver:-SQLite3}" "$ROOT" > examples/secrets/customer-db.conn
chmod 600 examples/secrets/customer-db.conn

step "1. Check the configuration and its mapping"
run "$FERRY" check --config "$CFG"

step "2. The mainframe's copybook, as ferry reads it"
run "$FERRY" copybook examples/copybooks/CLAIMREC.cpy --record CLAIM-DETAIL

step "3. The day's online submissions (NDJSON; some invalid on purpose)"
expect 65 "$FERRY" submit --config "$CFG" refund-claim examples/submissions.ndjson

step "4. Paper forms keyed in by staff (assisted digital CSV)"
expect 65 "$FERRY" import --config "$CFG" refund-claim examples/assisted-digital.csv

step "5. The queue"
run "$FERRY" queue --config "$CFG"
run "$FERRY" queue --config "$CFG" --counts

step "6. One record's story (personal fields masked)"
ref=$("$FERRY" queue --config "$CFG" --json | sed -n 's/.*"reference": *"\([^"]*\)".*/\1/p' | head -1)
run "$FERRY" show --config "$CFG" "$ref"

step "7. Changes of address go straight to the legacy database (ODBC)"
expect 65 "$FERRY" submit --config "$CFG" change-of-address examples/address-changes.ndjson
expect 65 "$FERRY" deliver --config "$CFG"
run "$FERRY" targets --config "$CFG"
echo "Rows in the legacy ADDRESS_CHANGES table:"
sqlite3 -header -column var/legacy.db \
    "SELECT REF, FORM_REF, TOWN, POSTCODE, MOVE_DATE, SOURCE FROM ADDRESS_CHANGES ORDER BY REF"
echo "The record the legacy database refused (UNIQUE(NINO, MOVE_DATE)):"
run "$FERRY" queue --config "$CFG" --state failed

step "8. The night batch: a fixed-width EBCDIC file for the claims mainframe"
run "$FERRY" batch --config "$CFG" claims-nightly
f=$(ls var/mainframe-drop/CLM.* | head -1)
echo "The first 300 bytes of $f (header, then the first detail), in hex:"
od -A d -t x1 -N 300 "$f" | head -20
echo "The first detail record as the mainframe's copybook reads it:"
"$FERRY" map --config "$CFG" --decode refund-claim "$f" | sed -n '/^record 2 /,/^$/p' | head -40
run "$FERRY" batches --config "$CFG"

step "9. Next morning: the mainframe's acknowledgements (two rejections)"
examples/mainframe-ack.sh "$f" "var/mainframe-acks/CLMACK.D$(date -u +%y%m%d).S001"
run "$FERRY" reconcile --config "$CFG" claims-mainframe
run "$FERRY" queue --config "$CFG" --state rejected
echo "The legacy database is asked which delivered rows it holds:"
run "$FERRY" reconcile --config "$CFG" customer-db

step "10. Support staff: fix one rejected claim"
rej=$("$FERRY" queue --config "$CFG" --state rejected --json | sed -n 's/.*"reference": *"\([^"]*\)".*/\1/p' | head -1)
run "$FERRY" edit --config "$CFG" --actor support.officer "$rej" \
    --set 'answers[question_id=2].answer_text=CE 65 43 21 B' \
    --reason "citizen phoned with the right NI number"
# The change of address the legacy table refused stays failed: the
# README's tour finds it in its step 7 and closes it in step 8.
dup=$("$FERRY" queue --config "$CFG" --state failed --service change-of-address --json | sed -n 's/.*"reference": *"\([^"]*\)".*/\1/p' | head -1)
echo "Left for the README tour: $dup (failed; close it with ferry discard $dup --reason ...)"
run "$FERRY" audit --config "$CFG"

step "11. The day's report"
run "$FERRY" report --config "$CFG" --format text
"$FERRY" report --config "$CFG" --format html --output var/report.html
echo "HTML report (one self-contained file): $ROOT/var/report.html"
run "$FERRY" audit --config "$CFG" verify
step "Done.  The spool is in var/ferry; try: bin/ferry queue --config $CFG"
