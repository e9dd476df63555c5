#!/bin/bash
# 79_spool_pg - the spool's unit tests on a PostgreSQL ledger: starts a
# PostgreSQL 15 of its own (tests/peers/pg_unit.sh, a free 127.0.0.1
# port, a temp folder, stopped at the end) and runs the chosen unit
# binaries with FERRY_TEST_PG set, so test_spool_open
# (tests/unit/spool_test.h) gives every spool folder a database of its
# own there.  Tests that are SQLite's by nature say TEST_SQLITE_ONLY()
# and pass quietly.
#
#   PG_UNITS="check_spool check_search"   which binaries (default: all
#                                         the spool ones below)
#   CK_RUN_CASE=...                       passes through to Check
#
# Every failure fails this test, except the cases named in NOT_YET: they
# need a spool file still on the SQLite-only spool_stmt (issue 18), and
# are run and reported, never hidden.  A case there that passes is
# reported too, so the list only shrinks.  Skipped (77) only when the
# PostgreSQL server is not installed.
set -eu
. "$(dirname "$0")/lib.sh"
PGU="$FERRY_ROOT/tests/peers/pg_unit.sh"
UNITS=${PG_UNITS:-check_spool check_search check_report check_batch check_joblock}

# ---- NOT_YET: binary:case that fail on PostgreSQL today ---------------
# Empty since every spool module moved onto the statement layer: every
# case of these binaries passes on PostgreSQL.  A case that cannot pass
# there yet goes here, one "binary:case" a line, under a comment saying
# what it waits for; whoever makes it pass removes its line.
NOT_YET="
"

chmod 0755 "$T"          # the server may run as postgres (root runner)
rc=0; line=$(bash "$PGU" start "$T") || rc=$?
if [ $rc = 77 ]; then echo "skip: $line"; exit 77; fi
[ $rc = 0 ] || fail pg-start "$line"
read -r PG_PORT PG_D PG_OWN <<< "$line"
trap 'bash "$PGU" stop "$PG_D" "$PG_OWN" >/dev/null 2>&1; rm -rf "$T"' EXIT
export FERRY_TEST_PG="host=127.0.0.1 port=$PG_PORT user=ferry dbname=postgres connect_timeout=10"
ok "PostgreSQL 15 on 127.0.0.1:$PG_PORT"

not_yet() { case "$NOT_YET" in *"
$1 "*|*"
$1
"*) return 0;; esac; return 1; }

bad=0
for u in $UNITS; do
    bin="$FERRY_BUILD/tests/$u"
    [ -x "$bin" ] || fail "$u" "no $bin (build first)"
    urc=0; "$bin" > "$T/$u.out" 2>&1 || urc=$?
    # Check's CK_NORMAL lines: FILE:LINE:F|E|S:TCASE:TEST:ITER: message
    # (F failed, E error or signal, S its setup failed)
    awk -F: '$3 == "F" || $3 == "E" || $3 == "S" { print $5 }' "$T/$u.out" | sort -u \
        > "$T/$u.failed"
    summary=$(grep -E '^[0-9]+%: Checks' "$T/$u.out" || echo "no summary (exit $urc)")
    nf=0; nyf=0
    while read -r t; do
        [ -n "$t" ] || continue
        if not_yet "$u:$t"; then
            nyf=$((nyf+1)); echo "  not yet on PostgreSQL: $u:$t"
        else
            nf=$((nf+1)); bad=1
            echo "FAIL $u:$t on PostgreSQL:"
            grep -F ":$t:" "$T/$u.out" | sed 's/^/    | /' | head -5
        fi
    done < "$T/$u.failed"
    for t in $(printf '%s\n' $NOT_YET | sed -n "s/^$u://p"); do
        grep -qx "$t" "$T/$u.failed" ||
            echo "  now passes on PostgreSQL (remove it from NOT_YET): $u:$t"
    done
    if [ $urc != 0 ] && [ ! -s "$T/$u.failed" ]; then
        bad=1; echo "FAIL $u exited $urc with no failed case:"
        tail -20 "$T/$u.out" | sed 's/^/    | /'
    fi
    echo "  $u: $summary; $nf unexpected, $nyf not yet"
done
[ $bad = 0 ] || fail units "unexpected failures on PostgreSQL (above)"
ok "$UNITS on PostgreSQL: every case passes but those in NOT_YET"
