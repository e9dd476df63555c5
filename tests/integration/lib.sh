# lib.sh - shared helpers for integration tests (sourced).
#   ok NAME / fail NAME MSG     one line per sub-case; fail exits non-zero
#   expect_exit CODE CMD...     run CMD, check its exit status
#   free_port                   a free TCP port on 127.0.0.1
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-it.XXXXXX")
CASES=0
ok()   { CASES=$((CASES+1)); echo "ok   $1"; }
fail() { echo "FAIL $1: ${2:-}"; exit 1; }
expect_exit() {
    local want=$1; shift
    set +e; "$@" >"$T/out" 2>"$T/err"; local got=$?; set -e
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
        fail "$*" "exit $got, wanted $want"
    fi
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# example_config DIR - a copy of examples/ in DIR with a fresh secret
example_config() {
    cp -r "$FERRY_ROOT/examples/." "$1/"
    mkdir -p "$1/../var/mainframe-drop" "$1/../var/mainframe-acks"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1/secrets/frontend.key"
    chmod 600 "$1/secrets/frontend.key"
    sqlite3 "$1/legacy.db" < "$1/legacy-schema.sql"
    local driver
    driver=$(ls /usr/lib/*/odbc/libsqlite3odbc.so 2>/dev/null | head -1)
    printf 'Driver=%s;Database=%s/legacy.db;Timeout=5000\n' "${driver:-SQLite3}" "$1" \
        > "$1/secrets/customer-db.conn"
    chmod 600 "$1/secrets/customer-db.conn"
}
