#!/bin/bash
# serve_abuse.sh - the HTTP intake's front door under abuse, beside the
# serve bench.  One healthy client (good tokens, a new connection per
# request, from 127.0.0.1) posts valid submissions for
# BENCH_ABUSE_SECONDS (default 30) while 2,000 idle sockets (from
# BENCH_ABUSE_ADDRS loopback addresses, default 20, reopened as soon as
# the server closes them) and a flood of bad tokens naming the same
# client (BENCH_ABUSE_FLOOD threads, default 4, from 127.0.0.1, a shared
# NAT, and round robin from BENCH_ABUSE_FLOOD_ADDRS addresses in all,
# default 20) run; tests/helpers/abuse_drive.py drives all three.  The
# same-run baseline is the healthy client alone for the same time (and,
# for the RSS, the daemon's peak after it).
# Each figure is printed beside its baseline, the ratio and, where there
# is one, its goal with pass/miss:
#   serve_abuse_success  >= 99 %      serve_abuse_p99  <= 100 ms
#   serve_abuse_peak_rss <= BENCH_ABUSE_RSS_MB (default 128) MiB
# The load average before and after is printed too: the machine may be
# shared, and the tail figures move with it.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
BIN=${FERRY_BIN:-$BUILD/ferry}
SECS=${BENCH_ABUSE_SECONDS:-30}
IDLE=${BENCH_ABUSE_IDLE:-2000}
ADDRS=${BENCH_ABUSE_ADDRS:-20}
FLOOD=${BENCH_ABUSE_FLOOD:-4}
FLOOD_ADDRS=${BENCH_ABUSE_FLOOD_ADDRS:-20}
RSS_GOAL=${BENCH_ABUSE_RSS_MB:-128}
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
load0=$(cut -d' ' -f1-3 /proc/loadavg)
python3 "$D" "${A[@]}" --idle 0 --flood 0 --seconds "$SECS" --warmup 1 > "$T/base.json" \
    || { echo "# serve_abuse: baseline run failed"; exit 1; }
hwm0=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status")
python3 "$D" "${A[@]}" --idle "$IDLE" --idle-addrs "$ADDRS" --flood "$FLOOD" \
    --flood-addrs "$FLOOD_ADDRS" --seconds "$SECS" --warmup 3 > "$T/abuse.json" \
    || { echo "# serve_abuse: abuse run failed"; exit 1; }
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status")
load1=$(cut -d' ' -f1-3 /proc/loadavg)
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=""

j() { jq -r "$1" "$2"; }
# fig NAME VALUE BASELINE UNIT [GOAL_OP GOAL]: one line, ratio and pass/miss
fig() {
    awk -v n="$1" -v v="$2" -v b="$3" -v u="$4" -v op="${5:-}" -v g="${6:-}" 'BEGIN {
        r = (b + 0 != 0) ? sprintf("%.2f", v / b) : "-"
        line = sprintf("%s %s %s baseline %s %s ratio %s", n, v, u, b, u, r)
        if (op != "") {
            ok = (op == ">=") ? (v + 0 >= g + 0) : (v + 0 <= g + 0)
            line = line sprintf(" goal %s %s %s %s", op, g, u, ok ? "pass" : "miss")
        }
        print line }'
}
echo "# serve_abuse: ${IDLE} idle sockets from $ADDRS addresses, $FLOOD flood threads from $FLOOD_ADDRS addresses, ${SECS}s; load average $load0 before, $load1 after"
fig serve_abuse_success "$(j .success_pct "$T/abuse.json")" "$(j .success_pct "$T/base.json")" % ">=" 99
fig serve_abuse_p99 "$(j .p99_ms "$T/abuse.json")" "$(j .p99_ms "$T/base.json")" ms "<=" 100
fig serve_abuse_p50 "$(j .p50_ms "$T/abuse.json")" "$(j .p50_ms "$T/base.json")" ms
fig serve_abuse_requests "$(j '.healthy_ok + .healthy_failed' "$T/abuse.json")" \
    "$(j '.healthy_ok + .healthy_failed' "$T/base.json")" requests
fig serve_abuse_peak_rss "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$(awk -v k="$hwm0" 'BEGIN { printf "%.1f", k / 1024 }')" MiB "<=" "$RSS_GOAL"
echo "serve_abuse_healthy_codes $(jq -c .healthy_codes "$T/abuse.json")"
echo "serve_abuse_flood_401 $(j '.flood_codes["401"] // 0' "$T/abuse.json") requests"
echo "serve_abuse_flood_429 $(j '.flood_codes["429"] // 0' "$T/abuse.json") requests"
echo "serve_abuse_idle_closed $(j .idle_closed "$T/abuse.json") sockets"
echo "serve_abuse_sigterm_exit $rc code"
