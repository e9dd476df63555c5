# tests/peers/pg.sh - a real PostgreSQL 15 for test and bench scripts, in a
# temp folder on a free 127.0.0.1 port.  Sourced (bash), never run.
#
#   . "$FERRY_ROOT/tests/peers/pg.sh"
#   pg_have || { echo "skip: $PG_MISSING"; exit 77; }
#   trap 'pg_cleanup; rm -rf "$W"' EXIT
#   pg_start "$W" odbcpg || { cat "$PG_DIR/log"; echo "postgres did not start"; exit 1; }
#   ... psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" postgres ...
#   pg_stop fast; pg_start         # stop / restart the same server
#
# pg_have          0 when PostgreSQL 15 and psqlODBC are installed, else 1
#                  with PG_MISSING naming what is not
# pg_start DIR [TAG]
#                  first call: as root, runs the server as the postgres user
#                  (created if missing) in DIR/pg, or in /tmp/ferry-TAG.XXXXXX
#                  when postgres cannot write DIR (a runner's private 0700
#                  TMPDIR); picks a free port; initdb (trust, superuser
#                  ferry, UTF8, C.UTF-8); then starts the server.  Later
#                  calls (no arguments) start the same server again.
#                  Sets PG_DIR (log in $PG_DIR/log, socket dir $PG_DIR),
#                  PGHOST=127.0.0.1, PGPORT, PGUSER=ferry (not exported).
#                  fsync and full_page_writes are off unless PG_DURABLE=1
#                  (benchmarks that measure durable commits).
#                  Returns 1 (with "initdb failed" printed) or the pg_ctl
#                  status; callers print $PG_DIR/log when they wish.
# pg_stop [MODE]   pg_ctl stop -m MODE (default fast), waits, quiet
# pg_cleanup       pg_stop immediate, and removes the /tmp fallback folder
#                  (DIR/pg itself goes with the caller's DIR)

PG_BIN=/usr/lib/postgresql/15/bin
PG_PSQLODBC=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so
PG_RUNAS=()
PG_DIR=""
PG_OWNDIR=""

# pg_have - are the server and the ODBC driver installed?
pg_have() {
    PG_MISSING=""
    if [ ! -x "$PG_BIN/postgres" ]; then PG_MISSING="PostgreSQL 15 not installed"
    elif [ ! -f "$PG_PSQLODBC" ]; then PG_MISSING="psqlODBC not installed"
    fi
    [ -z "$PG_MISSING" ]
}

# pg_setup_ - first pg_start: user, folder, port, initdb
pg_setup_() {
    local dir=$1 tag=${2:-pg}
    PG_RUNAS=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin postgres
        PG_RUNAS=(runuser -u postgres --)
    fi
    # the server runs as postgres: its folder must be reachable by that user
    # (a test runner's private 0700 TMPDIR is not), else a folder of its own
    PG_DIR=$dir/pg
    mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
    if ! "${PG_RUNAS[@]}" test -w "$PG_DIR" 2>/dev/null; then
        PG_DIR=$(mktemp -d "/tmp/ferry-$tag.XXXXXX") || return 1
        PG_OWNDIR=$PG_DIR
        [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
    fi
    PGHOST=127.0.0.1
    PGUSER=ferry
    PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])') || return 1
    "${PG_RUNAS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U ferry -E UTF8 \
        --locale=C.UTF-8 >/dev/null || { echo "initdb failed"; return 1; }
}

# pg_start - set up on the first call, then start the server
pg_start() {
    local opts
    if [ -z "$PG_DIR" ]; then
        [ -n "${1:-}" ] || { echo "pg_start: no folder"; return 1; }
        pg_setup_ "$1" "${2:-}" || return 1
    fi
    opts="-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PG_DIR"
    [ "${PG_DURABLE:-0}" = 1 ] || opts="$opts -c fsync=off -c full_page_writes=off"
    "${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "$opts" start >/dev/null
}

# pg_stop - stop the server (MODE: fast, immediate, smart)
pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    "${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w stop >/dev/null 2>&1
}

# pg_cleanup - for the EXIT trap
pg_cleanup() {
    pg_stop immediate
    [ -n "$PG_OWNDIR" ] && rm -rf "$PG_OWNDIR"
    return 0
}

# pg_odbc_env DIR - after pg_start: FERRY_ODBC_CONN for psqlODBC as ferry,
# the leak suppression for the driver's own leaks (see 31_odbc_pg.sh),
# quiet notices; defines psql_q SQL (one query, unaligned, tuples only)
pg_odbc_env() {
    export FERRY_ODBC_CONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    echo "leak:psqlodbcw.so" > "$1/lsan.supp"
    export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$1/lsan.supp"
    export PGOPTIONS="-c client_min_messages=warning"
    psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "$1"; }
}
