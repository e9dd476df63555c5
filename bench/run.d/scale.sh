#!/bin/bash
# scale.sh - cost follows the work, not the history (issue 17).
#
# Two ledgers with the same work in hand and the same daily volume
# (10,000 records a day), one of BENCH_SCALE_SMALL records (default
# 10,000: one day of history) and one of BENCH_SCALE_BIG (default
# 10,000,000: a thousand days).  Each is made by ferry itself (the
# example department: submit, one night batch, one delivery round that
# defers its records) and then given its history by bulk SQL straight
# into the ledger: mostly confirmed, some discarded, with the intake
# counters and the final-state totals that ferry keeps beside them.  The
# work in hand is the same in both: 500 sent awaiting acknowledgement,
# 200 failed, 50 held, 250 deferred to a later attempt.
#
# Timed on each, best of BENCH_RUNS (default 5) wall-clock runs:
#   ferry batch --target claims-mainframe (nothing queued)
#   ferry deliver                (nothing due)
#   GET /metrics                 (ferry serve)
#   ferry queue --state failed
#   ferry report --date D        (the day view of the last day)
# Each big-ledger figure is printed beside its small-ledger baseline
# with the ratio, met when within 2x; the empty batch must also take
# 50 ms or less.  Then `ferry purge --older-than 30d` on the big ledger,
# timed, with what it moved, and the batch timed again after it.
#
# BENCH_SCALE_DIR keeps the two built ledgers between runs.
set -eu
cd "$FERRY_ROOT"
command -v sqlite3 >/dev/null || { echo "# sqlite3 (the CLI) is needed"; exit 1; }
command -v curl >/dev/null || { echo "# curl is needed"; exit 1; }
SMALL=${BENCH_SCALE_SMALL:-10000}
BIG=${BENCH_SCALE_BIG:-10000000}
runs=${BENCH_RUNS:-5}
F=$FERRY_BIN
dir=${BENCH_SCALE_DIR:-}
tmp=""
if [ -z "$dir" ]; then
    tmp=$(mktemp -d); dir=$tmp
fi
SERVE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
    [ -n "$tmp" ] && rm -rf "$tmp"
    return 0
}
trap cleanup EXIT
WORK=1000
DAY_MS=86400000
# history days end yesterday (UTC); the day view is of the last one
now_ms=$(( $(date +%s) * 1000 ))
today0=$(( now_ms / DAY_MS * DAY_MS ))

# setup D - the example department in D, its jobs removed (the daemon
# must not run a catch-up batch while it is being measured)
setup() {
    local d=$1
    mkdir -p "$d/drop" "$d/acks"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    echo "DSN=ferry-bench-nowhere" > "$d/secrets/customer-db.conn"
    chmod 600 "$d/secrets/customer-db.conn"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"|; s|dir=\"../var/mainframe-drop\"|dir=\"$d/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$d/acks\"|; /<job /,/\/>/d" "$d/ferry.xml"
}

# build D N - a ledger of N records in D (skipped when already built)
build() {
    local d=$1 n=$2
    [ -s "$d/built" ] && [ "$(cat "$d/built")" = "$n" ] && return 0
    rm -rf "$d"; mkdir -p "$d"
    setup "$d"
    local c=(--config "$d/ferry.xml")
    "$F" submit refund-claim "$d/submissions.ndjson" "${c[@]}" >/dev/null 2>&1 || true
    "$F" submit change-of-address "$d/address-changes.ndjson" "${c[@]}" >/dev/null 2>&1 || true
    "$F" batch --target claims-mainframe "${c[@]}" --date "$(date -u +%F)" >/dev/null 2>&1
    "$F" deliver "${c[@]}" --once >/dev/null 2>&1 || true
    local have hist days t0 t1
    have=$(sqlite3 "$d/spool/ledger.db" "SELECT count(*) FROM records")
    hist=$(( n - WORK - have ))
    days=$(( (hist + 9999) / 10000 ))
    local base=$(( today0 - days * DAY_MS ))
    t0=$(date +%s.%N)
    sqlite3 "$d/spool/ledger.db" <<SQL >/dev/null
PRAGMA cache_size = -262144;
PRAGMA synchronous = OFF;
BEGIN;
-- history: 10,000 a day, alternate services; 1 in 33 discarded
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $hist)
INSERT INTO records(ref, service, target, client, channel, received_at,
  state, attempts, updated_at, confirmed_at, payload_purged, delivery_id,
  closed_reason)
SELECT printf('HST-%010d', i),
  CASE i % 2 WHEN 0 THEN 'refund-claim' ELSE 'change-of-address' END,
  CASE i % 2 WHEN 0 THEN 'claims-mainframe' ELSE 'customer-db' END,
  'cli', CASE i % 3 WHEN 0 THEN 'http' WHEN 1 THEN 'cli' ELSE 'csv' END,
  $base + (i / 10000) * $DAY_MS + (i % 10000) * 8640,
  CASE WHEN i % 33 = 0 THEN 'discarded' ELSE 'confirmed' END, 1,
  $base + (i / 10000) * $DAY_MS + (i % 10000) * 8640 + 3600000,
  CASE WHEN i % 33 = 0 THEN 0
       ELSE $base + (i / 10000) * $DAY_MS + (i % 10000) * 8640 + 3600000 END,
  1, printf('00000000-0000-4000-8000-%012d', i),
  CASE WHEN i % 33 = 0 THEN 'bench history' END
FROM s;
-- the work in hand, the same in both ledgers, received in the last days
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $WORK)
INSERT INTO records(ref, service, target, client, channel, received_at,
  state, attempts, next_attempt_at, updated_at, last_error, delivery_id)
SELECT printf('WRK-%010d', i),
  CASE WHEN i < 750 THEN 'refund-claim' ELSE 'change-of-address' END,
  CASE WHEN i < 750 THEN 'claims-mainframe' ELSE 'customer-db' END,
  'cli', 'http', $today0 - $DAY_MS * 3 + i * 100000,
  CASE WHEN i < 500 THEN 'sent' WHEN i < 700 THEN 'failed'
       WHEN i < 750 THEN 'held' ELSE 'deferred' END,
  1, CASE WHEN i >= 750 THEN $now_ms + 30 * $DAY_MS ELSE 0 END,
  $today0 - $DAY_MS * 3 + i * 100000,
  CASE WHEN i BETWEEN 500 AND 699 THEN 'E01: national insurance number not known' END,
  printf('00000000-0000-4000-9000-%012d', i)
FROM s;
-- what ferry keeps beside the rows: intake counters per day and channel,
-- and the totals of final records
INSERT INTO counters(service, day, name, value)
  SELECT service, strftime('%Y-%m-%d', received_at / 1000, 'unixepoch'),
         'accepted', count(*) FROM records
  WHERE ref GLOB 'HST-*' OR ref GLOB 'WRK-*' GROUP BY 1, 2
  ON CONFLICT(service, day, name) DO UPDATE SET value = value + excluded.value;
INSERT INTO counters(service, day, name, value)
  SELECT service, strftime('%Y-%m-%d', received_at / 1000, 'unixepoch'),
         'accepted:' || channel, count(*) FROM records
  WHERE ref GLOB 'HST-*' OR ref GLOB 'WRK-*' GROUP BY 1, 2, 3
  ON CONFLICT(service, day, name) DO UPDATE SET value = value + excluded.value;
DELETE FROM state_totals;
INSERT INTO state_totals(service, target, state, n)
  SELECT service, target, state, count(*) FROM records
  WHERE state IN ('confirmed', 'discarded') GROUP BY 1, 2, 3;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
SQL
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "# built a %d-record ledger in %.1f s\n", n, b - a }'
    echo "$n" > "$d/built"
}

# best CMD... - best wall time of $runs runs, in ms (stdout dropped)
best() {
    local b=""
    for _ in $(seq "$runs"); do
        local t0 t1 ms
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000 ))
        if [ -z "$b" ] || [ "$ms" -lt "$b" ]; then b=$ms; fi
    done
    awk -v u="$b" 'BEGIN { printf "%.1f", u / 1000 }'
}

declare -A R
measure() {
    local tag=$1 d=$2
    local c=(--config "$d/ferry.xml")
    local lastday
    lastday=$(sqlite3 "$d/spool/ledger.db" "SELECT max(day) FROM counters WHERE day < strftime('%Y-%m-%d','now') AND name = 'accepted'")
    R[$tag.batch]=$(best "$F" batch --target claims-mainframe "${c[@]}" --date "$(date -u +%F)")
    R[$tag.deliver]=$(best "$F" deliver "${c[@]}")
    R[$tag.queue]=$(best "$F" queue "${c[@]}" --state failed)
    R[$tag.report]=$(best "$F" report "${c[@]}" --date "$lastday" --format json)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    sed -i "s|<intake listen=\"[^\"]*\"|<intake listen=\"127.0.0.1:$port\"|" "$d/ferry.xml"
    "$F" serve "${c[@]}" >"$d/serve.log" 2>&1 &
    SERVE=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    R[$tag.metrics]=$(best curl -sf "http://127.0.0.1:$port/metrics")
    curl -sf "http://127.0.0.1:$port/metrics" > "$d/metrics.txt" || true
    kill "$SERVE"; wait "$SERVE" 2>/dev/null || true
    SERVE=""
    R[$tag.conservation]=$(awk '/^ferry_conservation_difference /{print $2}' "$d/metrics.txt")
}

build "$dir/small" "$SMALL"
build "$dir/big" "$BIG"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure small "$dir/small"
measure big "$dir/big"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ledgers: $SMALL and $BIG records, the same work in hand ($WORK open + the example's)"
for k in batch deliver metrics queue report; do
    awk -v k="$k" -v b="${R[big.$k]}" -v s="${R[small.$k]}" -v big="$BIG" -v small="$SMALL" 'BEGIN {
        r = s > 0 ? b / s : 0;
        printf "scale_%s_%d %s ms (baseline %d records: %s ms) ratio %.2f x %s\n",
               k, big, b, small, s, r, (r <= 2.0 ? "met" : "missed") }'
done
awk -v b="${R[big.batch]}" 'BEGIN { printf "scale_empty_batch_under_50ms %s ms %s\n", b, (b <= 50 ? "met" : "missed") }'
echo "scale_conservation_difference small=${R[small.conservation]:-?} big=${R[big.conservation]:-?}"

# retention on the big ledger: what moves, how long it takes
if [ -z "${BENCH_SCALE_NO_PURGE:-}" ]; then
    c=(--config "$dir/big/ferry.xml")
    t0=$(date +%s%N)
    out=$("$F" purge "${c[@]}" --older-than 30d --json)
    t1=$(date +%s%N)
    moved=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["archived_records"])')
    awk -v m="$moved" -v ns=$((t1 - t0)) 'BEGIN { printf "scale_purge_moved %d records in %.1f s (%.0f records/s)\n", m, ns / 1e9, m / (ns / 1e9) }'
    left=$(sqlite3 "$dir/big/spool/ledger.db" "SELECT count(*) FROM records")
    echo "scale_working_rows_after_purge $left"
    sync     # the purge wrote gigabytes: let them reach the disk first
    ab=$(best "$F" batch --target claims-mainframe "${c[@]}" --date "$(date -u +%F)")
    awk -v b="$ab" -v s="${R[small.batch]}" 'BEGIN { printf "scale_batch_after_purge %s ms (baseline %s ms) ratio %.2f x\n", b, s, b / s }'
    "$F" spool verify --spool "$dir/big/spool" >/dev/null 2>&1 && echo "scale_verify_after_purge ok" || echo "scale_verify_after_purge FAILED"
    rm -f "$dir/big/built"     # the big ledger was changed: build again next run
fi
