#!/bin/bash
# 08_copybook_confine.sh - a mapping may name copybooks only under its
# configuration folder (or a folder of <ferry copybook-path>), issue 12 §3.
# With `ferry check` on a copy of examples/:
# - the example as shipped (copybooks in ../copybooks of the mapping) passes;
# - a copybook named by "../..", by an absolute path elsewhere, or through a
#   symlink (file or folder) pointing out is a configuration error naming
#   the mapping file:line, and the error quotes no line of the outside
#   file (which is a copybook-looking file full of a marker word, so that
#   a parse error quoting it would show);
# - the same for a section's own copybook (the ack layout);
# - copybook-path="/that/folder" admits it; a copybook-path folder that
#   does not exist is an error naming ferry.xml.
# `ferry serve`/`batch` load the same configuration, so they refuse the
# same mappings (checked once, with `ferry batch`).
set -eu
. "$(dirname "$0")/lib.sh"
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
example_config "$T/ex"
CFG=$T/ex/ferry.xml
MAP=$T/ex/mappings/refund-claim.xml
cp "$MAP" "$T/map.orig"
cp "$CFG" "$T/cfg.orig"
# outside the configuration folder: a copybook with a secret-looking line
# (parseable up to a bad line, so a parser would quote it)
mkdir -p "$T/outside"
cp "$T/ex/copybooks/CLAIMREC.cpy" "$T/outside/CLAIMREC.cpy"
printf '       SECRETMARKER-DO-NOT-QUOTE root:x:0:0 SECRETMARKER\n' >> "$T/outside/CLAIMREC.cpy"
cp "$T/ex/copybooks/CLAIMACK.cpy" "$T/outside/CLAIMACK.cpy"

chk() { "$FERRY_BIN" check --config "$CFG"; }
main_line=$(grep -n 'copybook="../copybooks/CLAIMREC.cpy"' "$T/map.orig" | cut -d: -f1)
ack_line=$(grep -n 'copybook="../copybooks/CLAIMACK.cpy"' "$T/map.orig" | cut -d: -f1)
[ -n "$main_line" ] && [ -n "$ack_line" ] || fail setup "copybook lines in the example mapping"

expect_exit 0 chk
grep -q "outside" "$T/err" && fail shipped "$(cat "$T/err")"
ok "the example's copybooks (../copybooks of the mapping, under the configuration folder) pass"

# refused REF CASE LINE: the mapping names REF for the main copybook
# (LINE main) or the ack section's (LINE ack); check exits 78 naming
# mapping:line and never shows the marker
refused() {
    local ref=$1 case=$2 which=$3 line
    if [ "$which" = main ]; then
        line=$main_line
        sed "s|copybook=\"../copybooks/CLAIMREC.cpy\"|copybook=\"$ref\"|" "$T/map.orig" > "$MAP"
    else
        line=$ack_line
        sed "s|copybook=\"../copybooks/CLAIMACK.cpy\"|copybook=\"$ref\"|" "$T/map.orig" > "$MAP"
    fi
    expect_exit 78 chk
    # the element's line as libxml2 gives it: where its start tag ends
    got=$(grep -F ": copybook '$ref': it is outside the configuration folder" "$T/err" |
          sed -n "s|^\(ferry [a-z]*: \)\{0,1\}$MAP:\([0-9]*\): .*|\2|p" | head -1)
    [ -n "$got" ] && [ "$got" -ge "$line" ] && [ "$got" -le $((line + 8)) ] ||
        fail "$case" "no error at $MAP:$line: $(cat "$T/err")"
    line=$got
    [ "$(grep -c "outside the configuration folder" "$T/err")" = 1 ] ||
        fail "$case" "the problem is not said once only: $(cat "$T/err")"
    grep -q SECRETMARKER "$T/out" "$T/err" && fail "$case" "a line of the outside file was quoted: $(grep -h SECRETMARKER "$T/out" "$T/err")"
    ok "$case: '$ref' refused at mapping line $line (said once), no line of the outside file quoted"
}
refused "../../outside/CLAIMREC.cpy" dotdot main
refused "$T/outside/CLAIMREC.cpy" absolute main
ln -s "$T/outside/CLAIMREC.cpy" "$T/ex/copybooks/LINKED.cpy"
refused "../copybooks/LINKED.cpy" symlink-file main
ln -s "$T/outside" "$T/ex/copybooks/linkdir"
refused "../copybooks/linkdir/CLAIMREC.cpy" symlink-folder main
refused "../../outside/CLAIMACK.cpy" ack-section ack

# the daemon's and the batch's load refuse the same mapping
sed "s|copybook=\"../copybooks/CLAIMREC.cpy\"|copybook=\"../../outside/CLAIMREC.cpy\"|" "$T/map.orig" > "$MAP"
set +e; "$FERRY_BIN" batch --config "$CFG" --spool "$T/spool" claims-mainframe >"$T/out" 2>"$T/err"; rc=$?; set -e
[ "$rc" = 78 ] || fail batch "exit $rc: $(cat "$T/err")"
grep -qE "^(ferry [a-z]+: )?$MAP:[0-9]+: copybook" "$T/err" || fail batch "$(cat "$T/err")"
grep -q SECRETMARKER "$T/out" "$T/err" && fail batch "outside line quoted"
ok "ferry batch refuses the same mapping (exit 78, same message)"

# copybook-path names the outside folder: admitted (and then parsed: its
# bad line is the copybook's own problem, quoted with its own name)
sed 's|<ferry xmlns="urn:ferry:config:1"|<ferry xmlns="urn:ferry:config:1" copybook-path="../outside"|' "$T/cfg.orig" > "$CFG"
grep -q 'copybook-path="../outside"' "$CFG" || fail setup "copybook-path set: $(head -5 "$CFG")"
sed "s|copybook=\"../copybooks/CLAIMACK.cpy\"|copybook=\"../../outside/CLAIMACK.cpy\"|" "$T/map.orig" > "$MAP"
expect_exit 0 chk
grep -q "outside the configuration" "$T/err" && fail copybook-path "$(cat "$T/err")"
ok "copybook-path=\"../outside\" admits a copybook there"
sed 's|<ferry xmlns="urn:ferry:config:1"|<ferry xmlns="urn:ferry:config:1" copybook-path="nowhere"|' "$T/cfg.orig" > "$CFG"
cp "$T/map.orig" "$MAP"
expect_exit 78 chk
grep -qF "$CFG:" "$T/err" && grep -qF "copybook-path folder $T/ex/nowhere: No such file or directory" "$T/err" ||
    fail copybook-path "missing folder: $(cat "$T/err")"
ok "a copybook-path folder that does not exist is an error naming ferry.xml"
echo "$CASES cases passed"
