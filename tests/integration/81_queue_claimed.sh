#!/bin/bash
# 81_queue_claimed.sh - `ferry queue` names the node that holds a claim.
#
# A `ferry deliver` is killed (crash point deliver-before-outcomes, SAN
# build) after it claimed its records and made its calls, so the records
# stay `delivering` under its lease.  The SOAP target is a closed port on
# loopback: the calls are refused, which is all the claim needs.
# Checked on SQLite, then on a PostgreSQL spool shared by two nodes (two
# spool folders, one database; tests/peers/pg.sh, skipped when the server
# is not installed), each node killed holding claims of its own:
# every delivering line's CLAIMED-BY is the lease owner of the run that
# claimed it (host:pid:deliver), JSON says the same (claimed_by,
# lease_until), a record in any other state shows "-" and null; after the
# leases run out and a rerun takes the records back, no claim is shown.
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
set -e
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
trap 'set +e; [ -n "${PG_DIR:-}" ] && pg_cleanup; rm -rf "$T"' EXIT
DATA=$FERRY_ROOT/tests/data/deliver
ENDPOINT=http://127.0.0.1:$(free_port)/claims

# node DIR [SPOOL-ATTRS] - a ferry configuration in DIR (the SOAP target
# refused, lease 1 s); fy DIR CMD ... runs ferry on it
node() {
    mkdir -p "$1"
    cp "$DATA/soap-by-ref.xml" "$1/map.xml"
    sed -e "s#@ENDPOINT@#$ENDPOINT#" -e 's#@ATTRS@#concurrency="2" lease="1s"#' \
        -e 's#@CHILDREN@#<retry initial="100ms"/>#' -e 's#@MAPPING@#map.xml#' \
        -e 's#level="info"#level="warn"#' \
        -e "s#<spool dir=\"spool\"/>#<spool dir=\"spool\"${2:-}/>#" \
        "$DATA/ferry-soap.xml.in" > "$1/ferry.xml"
}
fy() { "$FERRY_BIN" "$2" --config "$1/ferry.xml" "${@:3}"; }
# killed DIR - a ferry deliver on DIR killed holding its claims
killed() {
    set +e
    FERRY_CRASH_AT="deliver-before-outcomes@1" fy "$1" deliver > "$T/crash.out" 2> "$T/crash.err"
    local rc=$?
    set -e
    [ "$rc" = 137 ] || { tail -3 "$T/crash.err"; fail crash "ferry deliver exit $rc, wanted SIGKILL (137)"; }
}
# check_claims TAG DIR NOWNERS - the queue of DIR, text and JSON
check_claims() {
    local tag=$1 d=$2 want=$3
    fy "$d" queue --json > "$T/q.json"
    local n owners
    n=$(jq '[.records[] | select(.state == "delivering")] | length' "$T/q.json")
    [ "$n" -gt 0 ] || fail "$tag claims" "no record left delivering by the killed run"
    owners=$(jq -r '[.records[] | select(.state == "delivering") | .claimed_by] | unique | .[]' "$T/q.json")
    [ "$(echo "$owners" | wc -l)" = "$want" ] || fail "$tag owners" "claimed by: $owners; wanted $want owners"
    for o in $owners; do
        case "$o" in *:*:deliver) ;; *) fail "$tag json" "claimed_by '$o' is not host:pid:deliver" ;; esac
    done
    jq -e '[.records[] | select(.state == "delivering")]
        | all(.claimed_by != null and (.lease_until | test("Z$")))' "$T/q.json" > /dev/null ||
        fail "$tag json" "a delivering record without its owner or lease end"
    jq -e '[.records[] | select(.state != "delivering")]
        | length > 0 and all(.claimed_by == null and (has("lease_until") | not))' \
        "$T/q.json" > /dev/null || fail "$tag json" "a record not delivering shows a claim"
    fy "$d" queue > "$T/q.txt"
    head -1 "$T/q.txt" | grep -q 'TRY  CLAIMED-BY ' || fail "$tag text" "no CLAIMED-BY column: $(head -1 "$T/q.txt")"
    for o in $owners; do
        local k
        k=$(jq --arg o "$o" '[.records[] | select(.claimed_by == $o)] | length' "$T/q.json")
        [ "$(grep -c " delivering .* $o " "$T/q.txt")" = "$k" ] ||
            fail "$tag text" "lines naming $o: $(grep -c " $o " "$T/q.txt"), wanted $k"
    done
    grep ' held ' "$T/q.txt" | grep -q '  -  ' || fail "$tag text" "the held record shows a claim"
    ok "$tag: $n delivering records, CLAIMED-BY and claimed_by name their $want owner(s) ($(echo $owners)); - and null on the others"
}
# released TAG DIR - after the leases and a rerun: no claim shown
released() {
    sleep 1.3
    # a pass takes back as many as the target's concurrency (2)
    for _ in 1 2 3 4; do
        fy "$2" deliver --once > /dev/null 2>&1 || true
        fy "$2" queue --json > "$T/q2.json"
        jq -e '[.records[] | select(.claimed_by != null)] | length == 0' "$T/q2.json" > /dev/null && break
    done
    jq -e '[.records[] | select(.claimed_by != null)] | length == 0' "$T/q2.json" > /dev/null ||
        fail "$1 rerun" "claims left: $(jq -c '[.records[] | select(.claimed_by != null) | .state]' "$T/q2.json")"
    ok "$1: after the leases ran out and a rerun, no claims shown"
}
submit6() {
    seq "$2" $(( $2 + 5 )) | awk '{printf "{\"id\":\"Q%06d\",\"amount\":\"1.00\"}\n", $1}' |
        fy "$1" submit claim - > /dev/null 2>&1 || fail setup "submit"
}

# ---- SQLite: one node --------------------------------------------------
node "$T/lite"
submit6 "$T/lite" 1
fy "$T/lite" hold "$(fy "$T/lite" queue --json | jq -r '.records[0].reference')" \
    --reason "kept back" > /dev/null 2>&1 || fail setup "hold"
killed "$T/lite"
check_claims sqlite "$T/lite" 1
released sqlite "$T/lite"

# ---- PostgreSQL: two nodes, one database --------------------------------
if pg_have; then
    chmod 0755 "$T"
    pg_start "$T/pg" queue >/dev/null || { cat "$PG_DIR/log"; fail pg-start "postgres did not start"; }
    psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "CREATE DATABASE ferry_q" >/dev/null
    for n in a b; do
        node "$T/pg-$n" ' backend="postgresql" connection-file="ledger.conn"'
        printf 'host=127.0.0.1 port=%s user=ferry dbname=ferry_q\n' "$PGPORT" > "$T/pg-$n/ledger.conn"
        chmod 600 "$T/pg-$n/ledger.conn"
    done
    submit6 "$T/pg-a" 101
    fy "$T/pg-b" hold "$(fy "$T/pg-b" queue --json | jq -r '.records[5].reference')" \
        --reason "kept back" > /dev/null 2>&1 || fail setup "hold on PostgreSQL"
    killed "$T/pg-a"
    killed "$T/pg-b"
    check_claims "postgresql, node a's view" "$T/pg-a" 2
    check_claims "postgresql, node b's view" "$T/pg-b" 2
    released postgresql "$T/pg-b"
else
    echo "skip postgresql: $PG_MISSING"
fi
echo "$CASES cases passed"
