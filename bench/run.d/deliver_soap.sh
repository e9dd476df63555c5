#!/bin/bash
# deliver_soap.sh - stream delivery end to end WITH ledger updates: the
# real `ferry deliver` (claim with lease, 32 SOAP calls in flight, outcomes
# and receipts committed per claim) against the local node SOAP peer.
# In the same run, wrk posts the same envelope with 32 connections: the
# raw rate of the server; the ratio is ferry / raw.
# Prints "name value unit" lines.  BENCH_DELIVER_SOAP_N (default 20000)
# records; BENCH_SOAP_SECONDS (default 5) for wrk.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
FERRY=${FERRY_BIN:-$BUILD/ferry}
DRIVE=$BUILD/tests/helpers/soap_drive
. "$ROOT/tests/peers/soap.sh"
DATA=$ROOT/tests/data/deliver
N=${BENCH_DELIVER_SOAP_N:-20000}
SECS=${BENCH_SOAP_SECONDS:-5}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-dsoap.XXXXXX")
cleanup() { soap_stop; rm -rf "$T"; }
trap cleanup EXIT
command -v node >/dev/null || { echo "# deliver_soap: node not installed, skipped"; exit 0; }
[ -x "$FERRY" ] || { echo "# deliver_soap: no $FERRY"; exit 1; }
soap_have "$T" >/dev/null || { echo "# deliver_soap: npm ci failed"; exit 1; }

soap_start "$T" >/dev/null || { echo "# deliver_soap: server did not start"; exit 1; }
PORT=$SOAP_PORT
URL=http://127.0.0.1:$PORT/claims

# setup DIR N - config, mapping and N submitted records in DIR
setup() {
    mkdir -p "$1"
    cp "$DATA/soap-by-ref.xml" "$1/map.xml"
    sed -e "s#@ENDPOINT@#$URL#" -e 's#@ATTRS@#concurrency="32" timeout="10s"#' \
        -e 's#@CHILDREN@##' -e 's#@MAPPING@#map.xml#' -e 's#level="info"#level="warn"#' \
        "$DATA/ferry-soap.xml.in" > "$1/ferry.xml"
    seq 1 "$2" | awk '{printf "{\"id\":\"B%07d\",\"amount\":\"12.50\"}\n", $1}' |
        "$FERRY" submit --config "$1/ferry.xml" claim - >/dev/null 2>&1
}
setup "$T/warm" 2000
"$FERRY" deliver --config "$T/warm/ferry.xml" >/dev/null 2>&1     # warm node's JIT
setup "$T/run" "$N"
s=$(date +%s%N)
"$FERRY" deliver --config "$T/run/ferry.xml" > /dev/null 2> "$T/deliver.err" ||
    { tail -3 "$T/deliver.err"; echo "# deliver_soap: ferry deliver failed"; exit 1; }
e=$(date +%s%N)
got=$("$FERRY" queue --config "$T/run/ferry.xml" --json --state delivered 2>/dev/null |
      sed -n 's/.*"count":\([0-9]*\).*/\1/p')
[ "$got" = "$N" ] || echo "# deliver_soap: only $got of $N delivered"
ours=$(awk -v n="$got" -v ns=$((e - s)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')

raw=""
if command -v wrk >/dev/null; then
    if [ ! -x "$DRIVE" ]; then
        make -C "$ROOT" -s "${BUILD#"$ROOT"/}/tests/helpers/soap_drive" >/dev/null 2>&1
    fi
    if [ -x "$DRIVE" ]; then
        "$DRIVE" --endpoint "$URL" --print-envelope FRY-20261127-0000001 > "$T/envelope.xml"
    fi
    if [ -s "$T/envelope.xml" ]; then
        cat > "$T/post.lua" <<LUA
local f = io.open("$T/envelope.xml", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = '"urn:ferry:test:claims/SubmitClaim"'
LUA
        wrk -t4 -c32 -d"${SECS}s" -s "$T/post.lua" "$URL" > "$T/wrk.txt" 2>&1
        raw=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$T/wrk.txt")
        grep -q "Non-2xx" "$T/wrk.txt" && echo "# deliver_soap: wrk saw non-2xx answers"
    fi
fi
echo "deliver_soap_end_to_end $ours deliveries/s"
echo "deliver_soap_records $got records"
if [ -n "$raw" ] && [ "$raw" != 0 ]; then
    echo "deliver_soap_wrk_raw $raw requests/s"
    awk -v a="$ours" -v b="$raw" 'BEGIN { printf "deliver_soap_ratio_ferry_to_raw %.2f ratio\n", a / b }'
else
    echo "# deliver_soap: wrk or soap_drive not available, no raw baseline"
fi
echo "deliver_soap_target 2000 deliveries/s"
