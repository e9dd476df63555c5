#!/bin/bash
# serve.sh - `ferry serve` HTTP intake throughput, durable.
#
# Starts the daemon on a free loopback port with a scratch spool and the
# example config, mints an HS256 token (python3 stdlib), and runs wrk with
# 64 keep-alive connections posting ~1 KB valid submissions, each with its
# own front-end reference (built per request in Lua), for
# BENCH_SERVE_SECONDS (default 10; the token window is 30 s).  Every 202
# is durable: the ledger is committed (group commit, fsync) before the
# reply.  The accepted rate is counted from the ledger itself afterwards.
# In the same run wrk hits GET /healthz on the same server: the HTTP
# ceiling.  Prints "name value unit" lines, the ratio and the daemon's
# peak RSS.  Targets: >= 10000 accepted/s, p99 <= 50 ms.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
BIN=${FERRY_BIN:-$BUILD/ferry}
SECS=${BENCH_SERVE_SECONDS:-10}
CONNS=${BENCH_SERVE_CONNECTIONS:-64}
THREADS=${BENCH_SERVE_THREADS:-4}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-serve.XXXXXX")
PID=""
cleanup() {
    [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    rm -rf "$T"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "# serve: wrk not installed, skipped"; exit 0; }
command -v python3 >/dev/null || { echo "# serve: python3 not installed, skipped"; exit 0; }
[ -x "$BIN" ] || { echo "# serve: no $BIN"; exit 1; }

cp -r "$ROOT/examples/." "$T/ex/"
# wrk's connections all come from 127.0.0.1: let that one address hold
# them all (<intake max-connections-per-address>, 32 by default), or
# the rest are closed at once and wrk measures a reconnect storm
sed -i "s|<intake |<intake max-connections-per-address=\"$CONNS\" |" "$T/ex/ferry.xml"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/frontend.key"
chmod 600 "$T/ex/secrets/frontend.key"
# the example's ODBC target needs its connection file, as the tests make it
# (tests/integration/lib.sh example_config)
sqlite3 "$T/ex/legacy.db" < "$T/ex/legacy-schema.sql"
driver=$(ls /usr/lib/*/odbc/libsqlite3odbc.so 2>/dev/null | head -1)
printf 'Driver=%s;Database=%s/legacy.db;Timeout=5000\n' "${driver:-SQLite3}" "$T/ex" \
    > "$T/ex/secrets/customer-db.conn"
chmod 600 "$T/ex/secrets/customer-db.conn"
# a ~1 KB submission; @REF@ becomes a unique front-end reference
python3 - "$T/ex/submissions.ndjson" "$T/tpl.json" <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
d["submission_reference"] = "@REF@"
s = json.dumps(d, ensure_ascii=False)
open(sys.argv[2], "w").write(s)
EOF

"$BIN" serve --config "$T/ex/ferry.xml" --spool "$T/spool" \
    --listen 127.0.0.1:0 2>"$T/serve.log" &
PID=$!
PORT=""
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log")
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2>/dev/null || { echo "# serve: daemon exited"; tail -5 "$T/serve.log"; exit 1; }
    sleep 0.1
done
[ -n "$PORT" ] || { echo "# serve: no listening line"; exit 1; }
U="http://127.0.0.1:$PORT"

TOKEN=$(python3 - "$T/ex/secrets/frontend.key" <<'EOF'
import base64, hashlib, hmac, json, sys, time
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
key = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
h = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b(json.dumps({"iss": "heating-refund-frontend", "iat": int(time.time())}).encode())
s = b(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest())
print(h + "." + p + "." + s)
EOF
)

cat > "$T/post.lua" <<'EOF'
local f = io.open(os.getenv("BENCH_TPL"), "r")
local tpl = f:read("*a")
f:close()
local token = os.getenv("BENCH_TOKEN")
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local n = 0
function request()
    n = n + 1
    local ref = string.format("W%02d%09d", tid, n)
    local body = string.gsub(tpl, "@REF@", ref)
    return wrk.format("POST", "/v1/services/refund-claim/submissions", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }, body)
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d duration_us=%d status=%d socket=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, e.status,
        e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
EOF
cat > "$T/get.lua" <<'EOF'
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d duration_us=%d status=%d socket=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, e.status,
        e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
EOF

field() { sed -n "s/.*RESULT.* $1=\([0-9]*\).*/\1/p" "$2"; }

BENCH_TPL="$T/tpl.json" BENCH_TOKEN="$TOKEN" \
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s -s "$T/post.lua" \
    "$U/v1/services/refund-claim/submissions" > "$T/post.out" 2>&1
wrk -t"$THREADS" -c"$CONNS" -d"$(( SECS < 5 ? SECS : 5 ))s" -s "$T/get.lua" "$U/healthz" \
    > "$T/get.out" 2>&1

# accepted = what the ledger holds (durable), not what wrk counted
received=$(curl -s "$U/metrics" | sed -n 's/^ferry_received_total \([0-9]*\)$/\1/p')
commits=$(curl -s "$U/metrics" | sed -n 's/^ferry_spool_enqueue_commits_total \([0-9]*\)$/\1/p')
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status")
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=""

pdur=$(field duration_us "$T/post.out"); preq=$(field requests "$T/post.out")
pst=$(field status "$T/post.out"); psock=$(field socket "$T/post.out")
p99=$(field p99_us "$T/post.out"); p50=$(field p50_us "$T/post.out")
gdur=$(field duration_us "$T/get.out"); greq=$(field requests "$T/get.out")
if [ -z "$pdur" ] || [ -z "$gdur" ] || [ -z "$received" ]; then
    echo "# serve: a run failed"; cat "$T/post.out" "$T/get.out"; tail -5 "$T/serve.log"; exit 1
fi
awk -v r="$received" -v d="$pdur" -v g="$greq" -v gd="$gdur" -v p99="$p99" \
    -v p50="$p50" -v st="$pst" -v so="$psock" -v req="$preq" -v c="$commits" \
    -v hwm="$hwm" -v rc="$rc" 'BEGIN {
    acc = r / (d / 1e6); hz = g / (gd / 1e6);
    printf "serve_accepted_durable %.0f submissions/s\n", acc;
    printf "serve_accepted_p50 %.2f ms\n", p50 / 1000;
    printf "serve_accepted_p99 %.2f ms\n", p99 / 1000;
    printf "serve_requests_not_2xx %d requests\n", st;
    printf "serve_socket_errors %d errors\n", so;
    printf "serve_records_per_commit %.1f records\n", c ? r / c : 0;
    printf "serve_healthz_ceiling %.0f requests/s\n", hz;
    printf "serve_ratio_accepted_to_healthz %.3f ratio (goal >= 0.9: %s)\n",
        hz ? acc / hz : 0, (hz && acc >= 0.9 * hz ? "pass" : "miss");
    printf "serve_peak_rss %.1f MiB\n", hwm / 1024;
    printf "serve_sigterm_exit %d code\n", rc;
    printf "# targets: accepted >= 10000/s %s, p99 <= 50 ms %s\n",
        (acc >= 10000 ? "met" : "NOT met"), (p99 <= 50000 ? "met" : "NOT met");
}'
