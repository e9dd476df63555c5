#!/bin/bash
# soap.sh - SOAP adapter throughput against the local node SOAP server.
#
# One adapter instance (tests/helpers/soap_drive) delivers N claims with 32
# calls in flight, end to end (envelope built, sent, response parsed,
# receipt taken by XPath; no ledger yet).  In the same run, wrk posts the
# very same envelope with 32 connections: the raw rate of the server.
# Prints "name value unit" lines and the ratio adapter / raw.
# BENCH_SOAP_N (default 20000) deliveries; BENCH_SOAP_SECONDS (default 5)
# for wrk.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
DRIVE=$BUILD/tests/helpers/soap_drive
. "$ROOT/tests/peers/soap.sh"
N=${BENCH_SOAP_N:-20000}
SECS=${BENCH_SOAP_SECONDS:-5}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-soap.XXXXXX")
cleanup() { soap_stop; rm -rf "$T"; }
trap cleanup EXIT

command -v node >/dev/null || { echo "# soap: node not installed, skipped"; exit 0; }
if [ ! -x "$DRIVE" ]; then
    rel=${BUILD#"$ROOT"/}
    make -C "$ROOT" -s "$rel/tests/helpers/soap_drive" >/dev/null ||
        { echo "# soap: cannot build $DRIVE"; exit 1; }
fi
soap_have "$T" >/dev/null || { echo "# soap: npm ci failed"; exit 1; }

soap_start "$T" || { echo "# soap: server did not start"; exit 1; }
PORT=$SOAP_PORT
URL=http://127.0.0.1:$PORT/claims

# warm up both paths (JIT in node, connections)
"$DRIVE" --endpoint "$URL" --concurrency 32 --count 2000 --prefix WARM --quiet >/dev/null
out=$("$DRIVE" --endpoint "$URL" --concurrency 32 --count "$N" --prefix BENCH --quiet) ||
    { echo "# soap: driver failed"; exit 1; }
# "deliveries N seconds S rate R ok K"
set -- $out
ours=$6 okn=$8
[ "$okn" = "$N" ] || echo "# soap: only $okn of $N deliveries ok"

"$DRIVE" --endpoint "$URL" --print-envelope BENCH0 > "$T/envelope.xml"
cat > "$T/post.lua" <<LUA
local f = io.open("$T/envelope.xml", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = '"urn:ferry:test:claims/SubmitClaim"'
LUA
raw=""
if command -v wrk >/dev/null; then
    wrk -t4 -c32 -d"${SECS}s" -s "$T/post.lua" "$URL" > "$T/wrk.txt" 2>&1
    raw=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$T/wrk.txt")
    grep -q "Non-2xx" "$T/wrk.txt" && echo "# soap: wrk saw non-2xx answers"
fi

echo "soap_adapter_deliveries $ours deliveries/s"
if [ -n "$raw" ] && [ "$raw" != 0 ]; then
    echo "soap_wrk_raw $raw requests/s"
    awk -v a="$ours" -v b="$raw" 'BEGIN { printf "soap_ratio_adapter_to_raw %.2f ratio\n", a / b }'
else
    echo "# soap: wrk not available, no raw baseline"
fi
echo "soap_target_deliveries 2000 deliveries/s (issue 5 goal, with ledger updates)"
