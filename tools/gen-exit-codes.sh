#!/bin/bash
# gen-exit-codes.sh FERRY [--check] - write the exit-code table of
# cli/cli_exit.c (as `ferry help exit-codes-markdown` and `-man` print it)
# into docs/operator-guide.md and docs/man/ferry.1, between their
# "exit-codes" markers.  --check changes nothing and exits 1 when either
# file differs from what it would write (tests/integration/72_cli_conventions.sh).
set -eu
FERRY=${1:?usage: gen-exit-codes.sh FERRY [--check]}
CHECK=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$FERRY" help exit-codes-markdown > "$tmp/md"
"$FERRY" help exit-codes-man > "$tmp/man"
# splice FILE BEGIN END BODY - replace the lines between the markers
splice() {
    B=$2 E=$3 BODY=$4 awk '
        index($0, ENVIRON["B"]) == 1 { print; while ((getline l < ENVIRON["BODY"]) > 0) print l; skip = 1; next }
        index($0, ENVIRON["E"]) == 1 { skip = 0 }
        !skip' "$1"
}
rc=0
for f in docs/operator-guide.md docs/man/ferry.1; do
    case $f in
    *.md) splice "$ROOT/$f" '<!-- exit-codes begin' '<!-- exit-codes end' "$tmp/md" > "$tmp/out" ;;
    *)    splice "$ROOT/$f" '.\" exit-codes begin' '.\" exit-codes end' "$tmp/man" > "$tmp/out" ;;
    esac
    grep -q 'exit-codes begin' "$ROOT/$f" || { echo "$f: no exit-codes markers"; exit 1; }
    if cmp -s "$tmp/out" "$ROOT/$f"; then continue; fi
    if [ "$CHECK" = --check ]; then
        echo "$f: the exit-code table differs from cli/cli_exit.c (run tools/gen-exit-codes.sh bin/ferry):"
        diff "$ROOT/$f" "$tmp/out" | head -20
        rc=1
    else
        cp "$tmp/out" "$ROOT/$f"
        echo "wrote $f"
    fi
done
exit $rc
