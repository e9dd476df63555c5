#!/bin/bash
# 83_pg_restart.sh - PostgreSQL restarted under load (issue 18).
#
# Two `ferry serve` nodes (two spool folders, one PostgreSQL ledger,
# tests/peers/pg.sh) take change-of-address submissions over HTTP, one
# bounded curl loop per node, each answer recorded (front-end reference,
# status, Retry-After, reference).  Mid-load the server is restarted:
# once `pg_ctl restart -m fast`, once `-m immediate` (a crash: in-flight
# transactions are cut).  Then, without restarting the nodes:
# - every 202 reference is in the ledger with its front-end reference,
#   and no 202 was given for a submission that is not there;
# - every other answer was 503 with a Retry-After (never a 5xx of
#   another kind, never a dropped connection);
# - each node serves again: readers outside a transaction (/metrics, a
#   status lookup) and intake answer at once (the session is made again
#   by the layer, not by a node restart);
# - each 503'd submission sent again is 202 or 200 (a commit whose answer
#   was lost is found by its idempotency key, never stored twice);
# - the deliveries cut by the restarts follow the usual rules: every
#   record ends delivered (or in doubt, counted), the ODBC table holds
#   each submission once, and `ferry queue` on a restarted server works.
# Then two spools, one SQLite and one PostgreSQL, same services, into one
# ODBC table and marker table: references repeat across them (they are
# per spool), delivery identities, rows and markers never do, and the
# spool identities differ; `ferry spool copy` into a second PostgreSQL
# database keeps the copied spool's identities.
# PG_RESTART_N (default 60) is the submissions per node per phase.
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
set -e
for c in jq curl sqlite3 psql; do
    command -v $c >/dev/null || { echo "skip: $c not installed"; exit 77; }
done
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
N=${PG_RESTART_N:-60}
PIDS=()
trap 'set +e; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; pg_cleanup; rm -rf "$T"' EXIT
chmod 0755 "$T"
pg_start "$T/pg" restart >/dev/null || { cat "$PG_DIR/log"; fail pg-start "postgres did not start"; }
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "CREATE DATABASE ferry_rs" >/dev/null
ledger() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry ferry_rs -c "$1"; }

C=$T/ex
example_config "$C"
printf 'host=127.0.0.1 port=%s user=ferry dbname=ferry_rs connect_timeout=3\n' "$PGPORT" \
    > "$C/secrets/ledger.conn"
chmod 600 "$C/secrets/ledger.conn"
# the PostgreSQL spool; deliveries retried soon, leases short
sed -i -e 's#<spool dir="../var/ferry"/>#<spool dir="../var/ferry" backend="postgresql" connection-file="secrets/ledger.conn"/>#' \
    -e 's#<retry initial="30s"#<retry initial="300ms"#' \
    -e 's#batch-size="100"#batch-size="100" lease="2s"#' "$C/ferry.xml"
KEY=$C/secrets/frontend.key
ISS=heating-refund-frontend
head -1 "$C/address-changes.ndjson" |
    jq -c '.submission_reference="@REF@" | .answers[0].answer_text="@NINO@"' > "$T/tpl.json"

declare -A URL
start() {   # start NODE
    local log=$T/serve-$1.log port=""
    "$FERRY_BIN" serve --config "$C/ferry.xml" --spool "$T/spool-$1" \
        --listen 127.0.0.1:0 2> "$log" &
    PIDS+=($!)
    eval "PID_$1=$!"
    for _ in $(seq 150); do
        port=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$log"; fail start "node $1 did not listen"; }
    URL[$1]=http://127.0.0.1:$port
}
# post NODE FE NUM - one submission (NUM makes its NINO); prints
# "FE STATUS RETRY-AFTER REF NUM"
post() {
    local h=$T/h.$1 b=$T/b.$1 code
    sed -e "s/@REF@/$2/" -e "s/@NINO@/$(printf 'AB%06dC' "$3")/" "$T/tpl.json" > "$T/s.$1"
    code=$(curl -s -D "$h" -o "$b" -w '%{http_code}' --max-time 20 -X POST \
        -H "Authorization: Bearer $("$DRIVE" token "$KEY" "$ISS" 0 HS256)" \
        -H "Content-Type: application/json" --data-binary @"$T/s.$1" \
        "${URL[$1]}/v1/services/change-of-address/submissions") || true
    local ra ref
    ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$h" 2>/dev/null)
    ref=$(jq -r '.reference // "-"' "$b" 2>/dev/null || echo -)
    echo "$2 $code ${ra:--} ${ref:--} $3"
}
# load NODE PHASE BASE - N submissions, one after another, answers logged
load() {
    for i in $(seq 0 $((N - 1))); do
        post "$1" "$(printf 'P%s%s%06d' "$2" "$1" "$i" | tr a-z A-Z)" $(($3 + i)) >> "$T/answers"
    done
}

start a
start b
: > "$T/answers"
phase() {   # phase TAG MODE BASE
    load a "$1" "$3" & local la=$!
    load b "$1" $(($3 + 100000)) & local lb=$!
    # mid-load: when a third of the answers are in
    local want=$(( $(wc -l < "$T/answers") + 2 * N / 3 ))
    for _ in $(seq 300); do [ "$(wc -l < "$T/answers")" -ge "$want" ] && break; sleep 0.1; done
    "${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "$2" -w restart \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PG_DIR -c fsync=off" \
        -l "$PG_DIR/log" > /dev/null || { tail "$PG_DIR/log"; fail "$1" "pg_ctl restart -m $2"; }
    wait $la $lb
}
phase f fast 0
phase i immediate 200000

# ---- every answer: 202 / 200, or 503 with Retry-After --------------------
total=$(wc -l < "$T/answers")
[ "$total" = $((4 * N)) ] || fail answers "$total answers, wanted $((4 * N))"
awk '$2 != 202 && $2 != 200 && !($2 == 503 && $3 != "-")' "$T/answers" > "$T/bad"
[ ! -s "$T/bad" ] || fail statuses "answers neither 202/200 nor 503 with Retry-After: $(head -5 "$T/bad")"
n503=$(awk '$2 == 503' "$T/answers" | wc -l)
n202=$(awk '$2 == 202' "$T/answers" | wc -l)
ok "$total answers through two restarts (fast, immediate): $n202 x 202, $n503 x 503 with Retry-After, nothing else"

# ---- every 202 is in the ledger, with its front-end reference -------------
ledger "SELECT fe_ref || ' ' || ref FROM records WHERE service = 'change-of-address'" | sort > "$T/ledger"
awk '$2 == 202 || $2 == 200 {print $1 " " $4}' "$T/answers" | sort > "$T/acked"
comm -23 "$T/acked" "$T/ledger" > "$T/lost"
[ ! -s "$T/lost" ] || fail lost "acknowledged but not in the ledger: $(head -5 "$T/lost")"
dups=$(ledger "SELECT count(*) - count(DISTINCT fe_ref) FROM records WHERE service = 'change-of-address'")
[ "$dups" = 0 ] || fail doubled "$dups submissions stored twice"
ok "every 202 reference is in the ledger under its front-end reference; none stored twice"

# ---- the nodes serve again without a restart of their own -----------------
for n in a b; do
    eval "kill -0 \$PID_$n" || fail "alive-$n" "node $n died: $(tail -3 "$T/serve-$n.log")"
    code=$(curl -s -o "$T/m.$n" -w '%{http_code}' --max-time 10 "${URL[$n]}/metrics")
    [ "$code" = 200 ] || fail "metrics-$n" "GET /metrics $code after the restart"
done
# the 503'd ones again: stored now, each once (200 when the lost commit had
# in fact committed)
# (the same body: a different one under the same reference is a conflict)
awk '$2 == 503 {print $1, $5}' "$T/answers" | sort -u > "$T/again"
i=0
while read -r fe num; do
    n=$([ $((i % 2)) = 0 ] && echo a || echo b)
    post "$n" "$fe" "$num" >> "$T/answers2"
    i=$((i + 1))
done < "$T/again"
if [ -s "$T/again" ]; then
    awk '$2 != 202 && $2 != 200' "$T/answers2" > "$T/bad2"
    [ ! -s "$T/bad2" ] || fail resend "503'd submissions sent again: $(head -3 "$T/bad2")"
fi
post a PRSAFTER1 990001 > "$T/one"
read -r _ code _ ref _ < "$T/one"
[ "$code" = 202 ] || fail intake-after "node a: $(cat "$T/one")"
code=$(curl -s -o "$T/st" -w '%{http_code}' --max-time 10 \
    -H "Authorization: Bearer $("$DRIVE" token "$KEY" "$ISS" 0 HS256)" "${URL[b]}/v1/submissions/$ref")
[ "$code" = 200 ] || fail status-after "node b GET /v1/submissions/$ref: $code $(cat "$T/st")"
ok "both nodes serve again unrestarted: /metrics 200, intake 202, a status lookup on the other node 200; the $(wc -l < "$T/again") 503'd submissions sent again are stored once each ($(awk '$2 == 202' "$T/answers2" 2>/dev/null | wc -l) x 202, $(awk '$2 == 200' "$T/answers2" 2>/dev/null | wc -l) x 200: committed although refused)"

# ---- a reader first after a restart: no transaction before it -------------
"${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w restart \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PG_DIR -c fsync=off" \
    -l "$PG_DIR/log" > /dev/null
TOK=$("$DRIVE" token "$KEY" "$ISS" 0 HS256)
for n in b a; do
    code=$(curl -s -o "$T/st" -w '%{http_code}' --max-time 10 \
        -H "Authorization: Bearer $TOK" "${URL[$n]}/v1/submissions/$ref")
    [ "$code" = 200 ] || fail "reader-$n" "GET /v1/submissions/$ref $code right after a restart: $(cat "$T/st")"
    curl -s -o "$T/m.$n" --max-time 10 "${URL[$n]}/metrics"
    grep -q '^ferry_records{service="change-of-address"' "$T/m.$n" ||
        fail "reader-$n" "/metrics without the ledger's counts right after a restart"
done
"$FERRY_BIN" queue --config "$C/ferry.xml" --spool "$T/spool-a" --json > "$T/q.json" 2> "$T/q.err" ||
    fail queue "ferry queue after the restart: $(cat "$T/q.err")"
ok "right after another restart, before any transaction: a status lookup (200) and /metrics with the ledger's counts on both nodes; ferry queue works"

# ---- deliveries cut by the restarts: the usual rules ----------------------
stored=$(ledger "SELECT count(*) FROM records WHERE service = 'change-of-address'")
for _ in $(seq 300); do
    left=$(ledger "SELECT count(*) FROM records WHERE service = 'change-of-address' AND state NOT IN ('delivered', 'indoubt', 'failed', 'rejected')")
    [ "$left" = 0 ] && break
    sleep 0.2
done
[ "$left" = 0 ] || fail settle "$left records not settled: $(ledger "SELECT state, count(*) FROM records GROUP BY state")"
states=$(ledger "SELECT state || '=' || count(*) FROM records WHERE service = 'change-of-address' GROUP BY state ORDER BY 1" | tr '\n' ' ')
rows=$(sqlite3 "$C/legacy.db" "SELECT count(*) FROM ADDRESS_CHANGES")
distinct=$(sqlite3 "$C/legacy.db" "SELECT count(DISTINCT FORM_REF) FROM ADDRESS_CHANGES")
delivered=$(ledger "SELECT count(*) FROM records WHERE service = 'change-of-address' AND state = 'delivered'")
[ "$rows" = "$distinct" ] || fail odbc-doubled "$rows rows for $distinct submissions"
[ "$delivered" -le "$rows" ] && [ "$rows" -le "$stored" ] ||
    fail odbc-count "$rows rows in the table, $delivered delivered, $stored stored"
ok "deliveries: $states; the ODBC table holds $rows rows, each submission once"

for n in a b; do eval "kill -TERM \$PID_$n"; eval "wait \$PID_$n" || true; done
PIDS=()

# ---- two spools, one SQLite and one PostgreSQL: never one identity --------
# The same services on an SQLite spool deliver into the same ODBC table
# and marker table.  References are per spool (FRY-date-sequence: both
# spools hand out FRY-<today>-000001); the delivery identity, which rows
# and markers are keyed on, is 128 random bits per record, and the spool
# identity is the spool's own.
sed 's# backend="postgresql" connection-file="secrets/ledger.conn"##' "$C/ferry.xml" > "$C/lite.xml"
L=$T/spool-lite
for i in 1 2 3 4 5; do
    sed -e "s/@REF@/LITE0000$i/" -e "s/@NINO@/$(printf 'AB%06dC' $((700000 + i)))/" "$T/tpl.json"
done | "$FERRY_BIN" submit change-of-address - --config "$C/lite.xml" --spool "$L" > "$T/sub.out" 2>&1 ||
    fail lite-submit "$(cat "$T/sub.out")"
"$FERRY_BIN" deliver --once --config "$C/lite.xml" --spool "$L" > "$T/del.out" 2>&1 ||
    fail lite-deliver "$(cat "$T/del.out")"
[ "$(sqlite3 "$L/ledger.db" "SELECT count(*) FROM records WHERE state = 'delivered'")" = 5 ] ||
    fail lite-delivered "$(sqlite3 "$L/ledger.db" "SELECT state, count(*) FROM records GROUP BY state")"
shared=$(sqlite3 "$C/legacy.db" "SELECT count(*) FROM (SELECT REF FROM ADDRESS_CHANGES GROUP BY REF HAVING count(*) > 1)")
[ "$shared" -ge 1 ] || fail refs "no reference repeated across the spools (the test needs one)"
{ ledger "SELECT delivery_id FROM records WHERE service = 'change-of-address'"
  sqlite3 "$L/ledger.db" "SELECT delivery_id FROM records"; } | sort > "$T/ids"
[ "$(sort -u "$T/ids" | wc -l)" = "$(wc -l < "$T/ids")" ] || fail ids "a delivery identity in both spools"
sqlite3 "$C/legacy.db" "SELECT delivery_id FROM FERRY_MARKER" | sort > "$T/markers"
cmp -s "$T/ids" "$T/markers" || fail markers "the markers are not the two spools' delivery identities: $(diff "$T/ids" "$T/markers" | head -5)"
sqlite3 "$C/legacy.db" "SELECT trim(DELIVERY_ID) FROM ADDRESS_CHANGES" | sort > "$T/rowids"
cmp -s "$T/ids" "$T/rowids" || fail rows "the table's rows are not keyed by the two spools' delivery identities"
id_pg=$(ledger "SELECT value FROM meta WHERE name = 'spool_id'")
id_lite=$(sqlite3 "$L/ledger.db" "SELECT value FROM meta WHERE name = 'spool_id'")
[ -n "$id_pg" ] && [ -n "$id_lite" ] && [ "$id_pg" != "$id_lite" ] ||
    fail spool-id "spool identities '$id_pg' and '$id_lite'"
ok "an SQLite and a PostgreSQL spool into one table: $shared references repeat across them, yet $(wc -l < "$T/ids") rows and $(wc -l < "$T/markers") markers, one per delivery identity, none shared; two spool identities"

# ferry spool copy keeps the identity (it is the same spool, moved);
# a fresh spool got a new one (the PostgreSQL ledger above)
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "CREATE DATABASE ferry_cp" >/dev/null
printf 'host=127.0.0.1 port=%s user=ferry dbname=ferry_cp\n' "$PGPORT" > "$T/cp.conn"
chmod 600 "$T/cp.conn"
"$FERRY_BIN" spool copy --config "$C/lite.xml" --spool "$L" --to "$T/cp.conn" > "$T/cp.out" 2>&1 ||
    fail copy "$(cat "$T/cp.out")"
cpq() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry ferry_cp -c "$1"; }
[ "$(cpq "SELECT value FROM meta WHERE name = 'spool_id'")" = "$id_lite" ] ||
    fail copy-id "the copy's spool_id is not the source's"
cpq "SELECT delivery_id FROM records" | sort > "$T/cpids"
sqlite3 "$L/ledger.db" "SELECT delivery_id FROM records" | sort | cmp -s - "$T/cpids" ||
    fail copy-ids "the copy's delivery identities differ"
ok "ferry spool copy into a second PostgreSQL database keeps the spool identity and every delivery identity; the fresh PostgreSQL spool has its own"
echo "$CASES cases passed"
