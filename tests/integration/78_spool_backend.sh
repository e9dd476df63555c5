#!/bin/bash
# 78_spool_backend - <spool backend="postgresql" connection-file="...">
# against a real PostgreSQL 15 (tests/peers/pg.sh, a free 127.0.0.1
# port, a temp folder): `ferry check` refuses a connection file others
# can read and accepts one of mode 0600 without touching anything; a
# ferry command then runs on the PostgreSQL spool: `ferry audit verify`
# opens it, which builds the ledger's schema and identity in the
# database once (the folder gets outbound/, inbound/, archive/, locks/
# and no ledger.db); `ferry submit` spools a record there (one row) and
# `ferry queue` lists it; a server that is down is named, exit 73.  The connection file's password
# appears nowhere.  backend="sqlite" is the default it always was, and a
# connection-file without the PostgreSQL backend is an error.
set -eu
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
[ -x "$PG_BIN/postgres" ] || { echo "skip: PostgreSQL 15 server not installed (make deps)"; exit 77; }
trap 'set +e; pg_cleanup; rm -rf "$T"' EXIT   # the server may be down already
chmod 0755 "$T"          # the server may run as postgres (root runner)
pg_start "$T" backend >/dev/null || { cat "$PG_DIR/log"; fail pg-start "postgres did not start"; }
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "CREATE DATABASE ferry_it"
C=$T/cfg
cp -r "$FERRY_ROOT/tests/data/config/spool-postgresql" "$C"
cd "$C"
# trust authentication: the password is sent to nobody, but it is in the
# file, so every output below is searched for it
printf 'host=127.0.0.1 port=%s user=ferry dbname=ferry_it password=Hunter2pw\n' \
    "$PGPORT" > secrets/ledger.conn
chmod 0644 secrets/ledger.conn
: > all.out
run() { local rc=0; "$@" > out 2>&1 || rc=$?; cat out >> all.out; return $rc; }
ledger() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry ferry_it -c "$1"; }

rc=0; run "$FERRY_BIN" check --config ferry.xml || rc=$?
[ $rc = 78 ] || fail check-rc "ferry check exit $rc: $(cat out)"
grep -q 'ledger.conn is readable by others' out || fail check-mode "$(cat out)"
if grep -q 'not finished' out; then fail check-words "$(cat out)"; fi
chmod 0600 secrets/ledger.conn
run "$FERRY_BIN" check --config ferry.xml || fail check-ok "$(cat out)"
[ ! -e var ] || fail check-made "ferry check made a spool folder: $(ls -R var)"
[ -z "$(ledger "SELECT to_regclass('meta')")" ] || fail check-db "ferry check wrote to the database"
ok "ferry check: a readable connection file refused (78), a 0600 one accepted, nothing made"

run "$FERRY_BIN" audit verify --config ferry.xml || fail audit "$(cat out)"
grep -q 'audit chain intact: 0 entries' out || fail audit-words "$(cat out)"
[ "$(ledger "SELECT value FROM meta WHERE name = 'schema_version'")" = 16 ] ||
    fail schema "$(ledger "SELECT * FROM meta")"
id1=$(ledger "SELECT value FROM meta WHERE name = 'spool_id'")
[ ${#id1} = 36 ] || fail identity "spool_id '$id1'"
for d in outbound inbound archive locks; do
    [ "$(stat -c %a "var/ferry/$d")" = 700 ] || fail folder "var/ferry/$d: $(ls -ld "var/ferry/$d" 2>&1)"
done
[ ! -e var/ferry/ledger.db ] || fail no-ledger-db "a ledger.db was made beside a PostgreSQL ledger"
run "$FERRY_BIN" audit verify --config ferry.xml || fail audit-again "$(cat out)"
[ "$(ledger "SELECT value FROM meta WHERE name = 'spool_id'")" = "$id1" ] ||
    fail identity-kept "reopening made a new identity"
ok "ferry audit verify runs on the PostgreSQL spool: schema 16 and identity made once, the folder without ledger.db"

echo '{"reference":"R1","amount":"12.50"}' | run "$FERRY_BIN" submit claim - --config ferry.xml ||
    fail submit "$(cat out)"
grep -q '1 accepted' out || fail submit-words "$(cat out)"
[ "$(ledger "SELECT count(*) FROM records")" = 1 ] || fail submit-stored "not one row"
run "$FERRY_BIN" queue --config ferry.xml || fail queue "$(cat out)"
grep -q 'claim' out || fail queue-lists "$(cat out)"
ok "ferry submit then ferry queue on the PostgreSQL spool: one row, listed"

pg_stop immediate
rc=0; run "$FERRY_BIN" audit verify --config ferry.xml || rc=$?
[ $rc = 73 ] || fail down-rc "server down: exit $rc: $(cat out)"
grep -q 'cannot connect to the PostgreSQL ledger' out || fail down-words "$(cat out)"
if grep -q Hunter2pw all.out; then fail password "a command printed the password"; fi
ok "a server that is down is named (exit 73); the password appears in no output"

sed 's/backend="postgresql"/backend="sqlite"/' ferry.xml > lite.xml
rc=0; "$FERRY_BIN" check --config lite.xml > out 2>&1 || rc=$?
grep -q 'connection-file is for backend="postgresql"' out || fail stray-conn "$(cat out)"
sed 's/ backend="postgresql" connection-file="secrets\/ledger.conn"//' ferry.xml > plain.xml
"$FERRY_BIN" check --config plain.xml > out 2>&1 || fail plain "$(cat out)"
ok "backend=sqlite with a connection-file is an error; no backend is SQLite as before"
