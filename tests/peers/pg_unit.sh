#!/bin/bash
# tests/peers/pg_unit.sh - a real PostgreSQL 15 for the C unit tests
# (check_sql_pg), through tests/peers/pg.sh: the same server the
# integration tests use, on a free 127.0.0.1 port in a temp folder.
#
#   pg_unit.sh start DIR   starts a server under DIR; prints one line
#                          "PORT PG_DIR OWNDIR" (OWNDIR "-" when none)
#   pg_unit.sh stop PG_DIR OWNDIR
#                          stops it (immediate) and removes OWNDIR
# Exit 77 (with a reason) when the server binaries are not installed.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/peers/pg.sh"
case "${1:-}" in
start)
    [ -x "$PG_BIN/postgres" ] || { echo "PostgreSQL 15 server not installed (make deps)"; exit 77; }
    [ -n "${2:-}" ] || { echo "pg_unit.sh start DIR"; exit 2; }
    pg_start "$2" unit >&2 || { cat "$PG_DIR/log" >&2 2>/dev/null; echo "postgres did not start"; exit 1; }
    echo "$PGPORT $PG_DIR ${PG_OWNDIR:--}"
    ;;
stop)
    PG_DIR=${2:?}; PG_OWNDIR=${3:--}
    [ "$PG_OWNDIR" = - ] && PG_OWNDIR=""
    [ "$(id -u)" = 0 ] && PG_RUNAS=(runuser -u postgres --)
    pg_cleanup
    ;;
*)
    echo "pg_unit.sh start DIR | stop PG_DIR OWNDIR"; exit 2
    ;;
esac
