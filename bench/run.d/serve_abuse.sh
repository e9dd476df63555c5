#!/bin/bash
# serve_abuse.sh - the HTTP intake's front door under abuse, beside the
# serve bench.  One healthy client (good tokens, a new connection per
# request, from 127.0.0.1) posts valid submissions for
# BENCH_ABUSE_SECONDS (default 30) while 2,000 idle sockets (from
# BENCH_ABUSE_ADDRS loopback addresses, default 4, reopened as soon as
# the server closes them) and a
# flood of bad tokens naming the same client from the same address (a
# shared NAT) run; tests/helpers/abuse_drive.py drives all three.  The
# same-run baseline is the healthy client alone for the same time.
# Prints "name value unit" lines: success rate and p50/p99 of the healthy
# client with and without abuse, the flood's answers, and the daemon's
# peak RSS.  Goals: >= 99 % success, p99 <= 100 ms, RSS bounded.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
BIN=${FERRY_BIN:-$BUILD/ferry}
SECS=${BENCH_ABUSE_SECONDS:-30}
IDLE=${BENCH_ABUSE_IDLE:-2000}
ADDRS=${BENCH_ABUSE_ADDRS:-4}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-abuse.XXXXXX")
PID=""
cleanup() {
    [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    rm -rf "$T"
}
trap cleanup EXIT

command -v python3 >/dev/null || { echo "# serve_abuse: python3 not installed, skipped"; exit 0; }
command -v jq >/dev/null || { echo "# serve_abuse: jq not installed, skipped"; exit 0; }
[ -x "$BIN" ] || { echo "# serve_abuse: no $BIN"; exit 1; }
ulimit -n 8192 2>/dev/null || { echo "# serve_abuse: cannot raise the fd limit, skipped"; exit 0; }

cp -r "$ROOT/examples/." "$T/ex/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/frontend.key"
chmod 600 "$T/ex/secrets/frontend.key"
printf 'Driver=SQLite3;Database=%s/legacy.db\n' "$T/ex" > "$T/ex/secrets/customer-db.conn"
chmod 600 "$T/ex/secrets/customer-db.conn"
python3 - "$T/ex/ferry.xml" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'\s*<job\b[^>]*/>', '', s, flags=re.S)
open(p, "w").write(s)
PY
head -1 "$T/ex/submissions.ndjson" | jq -c '.submission_reference="@REF@"' > "$T/tpl.json"

"$BIN" serve --config "$T/ex/ferry.xml" --spool "$T/spool" \
    --listen 127.0.0.1:0 2>"$T/serve.log" &
PID=$!
PORT=""
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log")
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2>/dev/null || { echo "# serve_abuse: daemon exited"; tail -5 "$T/serve.log"; exit 1; }
    sleep 0.1
done
[ -n "$PORT" ] || { echo "# serve_abuse: no listening line"; exit 1; }

D="$ROOT/tests/helpers/abuse_drive.py"
A=("$PORT" "$T/ex/secrets/frontend.key" heating-refund-frontend "$T/tpl.json")
python3 "$D" "${A[@]}" --idle 0 --flood 0 --seconds "$SECS" --warmup 1 > "$T/base.json" \
    || { echo "# serve_abuse: baseline run failed"; exit 1; }
python3 "$D" "${A[@]}" --idle "$IDLE" --idle-addrs "$ADDRS" --flood 4 --seconds "$SECS" \
    --warmup 3 > "$T/abuse.json" || { echo "# serve_abuse: abuse run failed"; exit 1; }
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status")
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=""

j() { jq -r "$1" "$2"; }
echo "serve_abuse_baseline_success $(j .success_pct "$T/base.json") %"
echo "serve_abuse_baseline_p50 $(j .p50_ms "$T/base.json") ms"
echo "serve_abuse_baseline_p99 $(j .p99_ms "$T/base.json") ms"
echo "serve_abuse_success $(j .success_pct "$T/abuse.json") %"
echo "serve_abuse_requests $(j '.healthy_ok + .healthy_failed' "$T/abuse.json") requests"
echo "serve_abuse_p50 $(j .p50_ms "$T/abuse.json") ms"
echo "serve_abuse_p99 $(j .p99_ms "$T/abuse.json") ms"
echo "serve_abuse_flood_401 $(j '.flood_codes["401"] // 0' "$T/abuse.json") requests"
echo "serve_abuse_flood_429 $(j '.flood_codes["429"] // 0' "$T/abuse.json") requests"
echo "serve_abuse_idle_closed $(j .idle_closed "$T/abuse.json") sockets"
echo "serve_abuse_peak_rss $(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
echo "serve_abuse_sigterm_exit $rc code"
awk -v s="$(j .success_pct "$T/abuse.json")" -v p="$(j .p99_ms "$T/abuse.json")" 'BEGIN {
    printf "# goals: success >= 99 %% %s, p99 <= 100 ms %s\n",
        (s >= 99 ? "met" : "NOT met"), (p <= 100 ? "met" : "NOT met") }'
