#!/bin/bash
# 65_mi_serve - management information from a running daemon:
#   1. `ferry serve` on a free loopback port takes submissions over HTTP
#      while `ferry submit` (NDJSON) and `ferry import` (CSV) feed the same
#      spool, and one record is discarded by support;
#   2. GET /v1/mi (bearer token as for a submission) returns the JSON that
#      `ferry report --format json` prints for the same service and days,
#      member for member (but the time it was made);
#   3. the client may read only its own services (another is 404), a bad
#      day is 400, no token is 401;
#   4. /metrics carries ferry_mi_received_total by service and channel and
#      ferry_mi_records by service and outcome, equal to the report's.
set -eu
. "$(dirname "$0")/lib.sh"
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
[ -x "$DRIVE" ] || { echo "no $DRIVE (make SAN=1 build/san/tests/helpers/http_drive)"; exit 1; }
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
PID=""
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/ex"
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
KEY="$T/ex/secrets/frontend.key"
ISS=heating-refund-frontend
SVC=refund-claim
F() { "$FERRY_BIN" "$@"; }

: > "$T/serve.log"
"$FERRY_BIN" serve --config "$CFG" --spool "$SP" --listen 127.0.0.1:0 2>"$T/serve.log" &
PID=$!
PORT=""
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log")
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2>/dev/null || fail start "daemon exited: $(cat "$T/serve.log")"
    sleep 0.1
done
[ -n "$PORT" ] || fail start "no listening line: $(cat "$T/serve.log")"
U="http://127.0.0.1:$PORT"
tok() { "$DRIVE" token "$KEY" "$ISS" 0 HS256; }
req() { curl -s -o "$T/body" -w '%{http_code}' --max-time 30 "$@"; }

# three by HTTP, with front-end references of their own
head -1 "$T/ex/submissions.ndjson" | jq -c '.submission_reference="@REF@"' > "$T/tpl.json"
for i in 1 2 3; do
    sed "s/@REF@/MIHTTP0$i/" "$T/tpl.json" > "$T/s$i.json"
    st=$(req -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/json' \
        --data-binary @"$T/s$i.json" "$U/v1/services/$SVC/submissions")
    [ "$st" = 202 ] || fail "http submit $i" "status $st: $(cat "$T/body")"
done
set +e
F submit --config "$CFG" --spool "$SP" "$SVC" "$T/ex/submissions.ndjson" >/dev/null 2>&1
F import --config "$CFG" --spool "$SP" "$SVC" "$T/ex/assisted-digital.csv" >/dev/null 2>&1
set -e
ref=$(F queue --spool "$SP" --json --service "$SVC" | jq -r '.records[-1].reference')
expect_exit 0 F discard --spool "$SP" --reason "withdrawn by phone" "$ref"
F queue --spool "$SP" --json --service "$SVC" | jq -r '.records[].channel' | sort | uniq -c > "$T/channels"
grep -q ' http$' "$T/channels" && grep -q ' cli$' "$T/channels" && grep -q ' csv$' "$T/channels" \
    || fail channels "$(cat "$T/channels")"
ok "records by HTTP, ferry submit and ferry import in one spool: $(tr -s ' \n' ' ' < "$T/channels")"

today=$(date -u +%F)
st=$(req -H "Authorization: Bearer $(tok)" "$U/v1/mi?from=$today&to=$today&service=$SVC")
[ "$st" = 200 ] || fail "GET /v1/mi" "status $st: $(cat "$T/body")"
cp "$T/body" "$T/mi.json"
F report --config "$CFG" --spool "$SP" --from "$today" --to "$today" --service "$SVC" \
    --format json > "$T/report.json"
jq -S 'del(.generated_at_ms, .generated_at)' "$T/mi.json" > "$T/a.json"
jq -S 'del(.generated_at_ms, .generated_at)' "$T/report.json" > "$T/b.json"
cmp -s "$T/a.json" "$T/b.json" || fail "same JSON" "$(diff "$T/a.json" "$T/b.json" | head -20)"
[ "$(jq -r .schema "$T/mi.json")" = ferry-mi/1 ] || fail schema "$(head -c 200 "$T/mi.json")"
recv=$(jq '.services[0].period.received' "$T/mi.json")
[ "$recv" -ge 5 ] || fail received "$recv"
[ "$(jq '.services[0].period.discarded' "$T/mi.json")" = 1 ] || fail discarded "$(jq .services[0].period "$T/mi.json")"
[ "$(jq '.services[0].period.channel_http' "$T/mi.json")" = 3 ] || fail http "$(jq .services[0].period "$T/mi.json")"
ok "GET /v1/mi is ferry report --format json for the same days ($recv received)"

# without service=: the client posts to two services, so it must name one
st=$(req -H "Authorization: Bearer $(tok)" "$U/v1/mi")
[ "$st" = 400 ] || fail "no service" "status $st: $(cat "$T/body")"
st=$(req -H "Authorization: Bearer $(tok)" "$U/v1/mi?service=no-such-service")
[ "$st" = 404 ] || fail "other service" "status $st: $(cat "$T/body")"
st=$(req -H "Authorization: Bearer $(tok)" "$U/v1/mi?service=$SVC&from=2026-13-45")
[ "$st" = 400 ] || fail "bad day" "status $st: $(cat "$T/body")"
st=$(req -H "Authorization: Bearer $(tok)" "$U/v1/mi?service=$SVC&from=2026-1-4")
[ "$st" = 400 ] || fail "bad day shape" "status $st: $(cat "$T/body")"
st=$(req "$U/v1/mi?service=$SVC")
[ "$st" = 401 ] || fail "no token" "status $st: $(cat "$T/body")"
st=$(req -X POST -H "Authorization: Bearer $(tok)" "$U/v1/mi?service=$SVC")
[ "$st" = 405 ] || fail "POST" "status $st"
ok "GET /v1/mi: 400 without service or with a bad day, 404 for a service not the client's, 401 without a token"

# /metrics agrees with the report over the whole ledger
F report --config "$CFG" --spool "$SP" --service "$SVC" --format json > "$T/all.json"
st=$(req "$U/metrics")
[ "$st" = 200 ] || fail metrics "status $st"
python3 - "$T/all.json" "$T/body" "$SVC" > "$T/cmp.out" 2>&1 <<'PY' || fail "metrics agree" "$(cat "$T/cmp.out")"
import json, re, sys
rep = json.load(open(sys.argv[1])); page = open(sys.argv[2]).read(); svc = sys.argv[3]
p = rep["services"][0]["period"]
bad = []
for ch in ("http", "cli", "csv", "assisted"):
    m = re.search(r'^ferry_mi_received_total\{service="%s",channel="%s"\} (\d+)$' % (svc, ch), page, re.M)
    got = int(m.group(1)) if m else 0
    if got != p["channel_" + ch]: bad.append("%s: metrics %d, report %d" % (ch, got, p["channel_" + ch]))
for o in ("confirmed", "awaiting_confirmation", "in_progress", "rejected", "failed", "discarded"):
    m = re.search(r'^ferry_mi_records\{service="%s",outcome="%s"\} (\d+)$' % (svc, o), page, re.M)
    if not m or int(m.group(1)) != p[o]: bad.append("%s: metrics %s, report %d" % (o, m and m.group(1), p[o]))
print("; ".join(bad) if bad else "ok")
sys.exit(1 if bad else 0)
PY
ok "/metrics ferry_mi_received_total and ferry_mi_records equal the report's channels and outcomes"

kill -TERM "$PID"
RC=0; wait "$PID" || RC=$?
PID=""
[ "$RC" = 0 ] || fail "SIGTERM" "exit $RC: $(tail -5 "$T/serve.log")"
echo "65_mi_serve: $CASES cases passed"
