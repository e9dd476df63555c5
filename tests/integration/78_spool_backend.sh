#!/bin/bash
# 78_spool_backend - <spool backend="postgresql" connection-file="...">
# is read and checked, and refused, never pretended: `ferry check` names
# a connection file others can read and says the backend is not
# finished (exit 78); every command that opens the spool (serve, submit,
# queue) refuses with the same words before it creates anything; the
# connection file's password appears nowhere; backend="sqlite" is the
# default it always was, and a connection-file without the PostgreSQL
# backend is an error.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
C=$T/cfg
cp -r "$FERRY_ROOT/tests/data/config/spool-postgresql" "$C"
cd "$C"
chmod 0644 secrets/ledger.conn
WORDS='the PostgreSQL spool backend is not finished'

rc=0; "$FERRY_BIN" check --config ferry.xml > out 2>&1 || rc=$?
[ $rc = 78 ] || fail check-rc "ferry check exit $rc: $(cat out)"
grep -q "$WORDS" out || fail check-words "$(cat out)"
grep -q 'ledger.conn is readable by others' out || fail check-mode "$(cat out)"
ok "ferry check: the connection file's mode and 'not finished' (exit 78)"

chmod 0600 secrets/ledger.conn
for cmd in "serve" "queue" "submit claim -"; do
    rc=0; echo '{}' | "$FERRY_BIN" $cmd --config ferry.xml > out 2>&1 || rc=$?
    [ $rc = 78 ] || fail refuse "ferry $cmd exit $rc: $(cat out)"
    grep -q "$WORDS" out || fail refuse-words "ferry $cmd: $(cat out)"
    if grep -q Hunter2pw out; then fail password "ferry $cmd printed the password"; fi
done
[ ! -e var ] || fail nothing-made "a spool folder was made: $(ls -R var)"
ok "serve, queue and submit refuse with the same words, exit 78, nothing made, no password"

sed 's/backend="postgresql"/backend="sqlite"/' ferry.xml > lite.xml
rc=0; "$FERRY_BIN" check --config lite.xml > out 2>&1 || rc=$?
grep -q 'connection-file is for backend="postgresql"' out || fail stray-conn "$(cat out)"
sed 's/ backend="postgresql" connection-file="secrets\/ledger.conn"//' ferry.xml > plain.xml
"$FERRY_BIN" check --config plain.xml > out 2>&1 || fail plain "$(cat out)"
ok "backend=sqlite with a connection-file is an error; no backend is SQLite as before"
