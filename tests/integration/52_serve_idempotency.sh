#!/bin/bash
# 52_serve_idempotency - against the real daemon: the mapping's
# idempotency field (the front-end's own reference) always identifies a
# submission, and a client's Idempotency-Key only adds to it.
# - one submission_reference sent with keys k1, k2 and none is ONE record;
#   each key gets its first answer back on a retry, also after a restart;
# - a key reused with a different body is 422 conflict naming the key;
# - an NDJSON batch retried under one key gets the same references;
# - a service whose mapping names no reference is protected by the key
#   alone (same key twice: one record; no key twice: two).
set -eu
. "$(dirname "$0")/lib.sh"
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
[ -x "$DRIVE" ] || { echo "no $DRIVE"; exit 1; }
for c in curl jq sqlite3 python3; do
    command -v $c >/dev/null || { echo "$c not installed"; exit 77; }
done

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

example_config "$T/ex"
KEY="$T/ex/secrets/frontend.key"
ISS=heating-refund-frontend
SVC=refund-claim
SP="$T/spool"
head -1 "$T/ex/submissions.ndjson" | jq -c '.submission_reference="@REF@"' > "$T/tpl.json"
sub() { sed "s/@REF@/$1/" "$T/tpl.json"; }

start() {   # start CONFIG
    : > "$T/serve.log"
    "$FERRY_BIN" serve --config "$1" --spool "$SP" --listen 127.0.0.1:0 \
        2>"$T/serve.log" &
    PID=$!
    PIDS+=("$PID")
    PORT=""
    for _ in $(seq 100); do
        PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log")
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$T/serve.log"; fail start "daemon exited"; }
        sleep 0.1
    done
    [ -n "$PORT" ] || fail start "no listening line"
    U="http://127.0.0.1:$PORT"
}
stop_term() { kill -TERM "$PID"; RC=0; wait "$PID" || RC=$?; }
tok() { "$DRIVE" token "$KEY" "$ISS" 0 HS256; }
# post FILE [SERVICE] [curl args...] - the status code; the body in $T/body
post() {
    local f=$1 svc=${2:-$SVC}; shift; [ $# -gt 0 ] && shift
    local ct=application/json
    case "$f" in *.ndjson) ct=application/x-ndjson ;; esac
    curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -X POST \
        -H "Authorization: Bearer $(tok)" -H "Content-Type: $ct" \
        --data-binary @"$f" "$@" "$U/v1/services/$svc/submissions"
}
want() { [ "$2" = "$3" ] || fail "$1" "HTTP $3, wanted $2: $(cat "$T/body")"; }
records() { sqlite3 "$SP/ledger.db" "SELECT count(*) FROM records WHERE $1"; }

start "$T/ex/ferry.xml"

# ---- one front-end reference, three keys ---------------------------------
sub IDEM0001A > "$T/a.json"
want k1 202 "$(post "$T/a.json" "" -H 'Idempotency-Key: k1')"
REF=$(jq -r .reference "$T/body")
want k2 200 "$(post "$T/a.json" "" -H 'Idempotency-Key: k2')"
[ "$(jq -r .reference "$T/body")/$(jq -r .status "$T/body")" = "$REF/duplicate" ] \
    || fail k2 "a fresh key let the same reference in: $(cat "$T/body")"
want none 200 "$(post "$T/a.json")"
[ "$(jq -r .reference "$T/body")" = "$REF" ] || fail none "other reference"
[ "$(records "fe_ref = 'IDEM0001A'")" = 1 ] \
    || fail one-record "$(records "fe_ref = 'IDEM0001A'") records for one submission_reference"
ok "one submission_reference with keys k1, k2 and none -> one record ($REF)"

want k1-again 202 "$(post "$T/a.json" "" -H 'Idempotency-Key: k1')"
[ "$(jq -r .reference "$T/body")/$(jq -r .status "$T/body")" = "$REF/accepted" ] \
    || fail k1-again "not the first answer: $(cat "$T/body")"
want k2-again 200 "$(post "$T/a.json" "" -H 'Idempotency-Key: k2')"
[ "$(jq -r .status "$T/body")" = duplicate ] || fail k2-again "not its first answer"
ok "a retried key gets its own first answer (k1: 202 accepted, k2: 200 duplicate)"

# ---- same key, another body ------------------------------------------------
sub IDEM0002B > "$T/b.json"
want conflict 422 "$(post "$T/b.json" "" -H 'Idempotency-Key: k1')"
[ "$(jq -r .status "$T/body")" = conflict ] || fail conflict "status word"
jq -e '.problems[0].where == "header:Idempotency-Key" and (.problems[0].reason | test("k1"))' \
    "$T/body" >/dev/null || fail conflict "problem does not name the key: $(cat "$T/body")"
[ "$(records "fe_ref = 'IDEM0002B'")" = 0 ] || fail conflict "the conflicting body was stored"
ok "key k1 with a different body -> 422 conflict naming k1, nothing stored"

# ---- NDJSON under one key --------------------------------------------------
{ sub IDEM0003C; sub IDEM0004D; } > "$T/n.ndjson"
want nd-first 202 "$(post "$T/n.ndjson" "" -H 'Idempotency-Key: batch-7')"
R1=$(jq -c '[.results[].reference]' "$T/body")
want nd-retry 202 "$(post "$T/n.ndjson" "" -H 'Idempotency-Key: batch-7')"
[ "$(jq -c '[.results[].reference]' "$T/body")" = "$R1" ] || fail nd-retry "other references"
[ "$(records "fe_ref IN ('IDEM0003C','IDEM0004D')")" = 2 ] || fail nd-retry "records doubled"
ok "an NDJSON batch retried under one key -> the same references, 2 records"

# ---- keys survive a restart ------------------------------------------------
stop_term
[ "$RC" = 0 ] || fail restart "serve exited $RC"
start "$T/ex/ferry.xml"
want restart 202 "$(post "$T/a.json" "" -H 'Idempotency-Key: k1')"
[ "$(jq -r .reference "$T/body")" = "$REF" ] || fail restart "other reference after restart"
ok "after a restart k1 still gets its first answer"
stop_term

# ---- a service whose mapping names no reference ----------------------------
sed 's/<accept idempotency-field="form_ref">/<accept>/' \
    "$T/ex/mappings/refund-claim.xml" > "$T/ex/mappings/noref.xml"
grep -q '<accept>' "$T/ex/mappings/noref.xml" || fail noref "mapping not rewritten"
sed 's|mappings/refund-claim.xml|mappings/noref.xml|' "$T/ex/ferry.xml" > "$T/ex/noref.xml"
start "$T/ex/noref.xml"
sub IDEM0005E > "$T/e.json"
want nk1 202 "$(post "$T/e.json" "" -H 'Idempotency-Key: only-key')"
RE=$(jq -r .reference "$T/body")
want nk2 202 "$(post "$T/e.json" "" -H 'Idempotency-Key: only-key')"
[ "$(jq -r .reference "$T/body")" = "$RE" ] || fail nk2 "other reference"
[ "$(records "fe_ref IS NULL")" = 1 ] || fail nk2 "$(records "fe_ref IS NULL") records under one key"
want nn1 202 "$(post "$T/e.json")"
want nn2 202 "$(post "$T/e.json")"
[ "$(records "fe_ref IS NULL")" = 3 ] || fail nn "without a key or a reference, each POST is new"
ok "no front-end reference: the key alone keeps a retry to one record"
stop_term

echo "$CASES cases passed"
