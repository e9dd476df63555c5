#!/bin/bash
# 72_cli_conventions - what an operator can rely on across commands:
# the exit-code table of cli/cli_exit.c is the one in the operator guide
# and ferry(1), and every code a --help names is in it; every long option
# of every command's table is in its --help and in ferry(1); global
# options before the command; `ferry help CMD`; `ferry version` names the
# libraries it runs on; an unknown service or target is 64 with a "did
# you mean" in every command that takes one; an unopenable spool is 73 as
# the helps say; references read from stdin skip '#' comments and blank
# lines; a problem in JSON output has one shape in every command.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
cd "$FERRY_ROOT"

# ---- exit codes: one table --------------------------------------------------
tools/gen-exit-codes.sh "$FERRY_BIN" --check > "$T/gen" || fail exit-table "$(cat "$T/gen")"
"$FERRY_BIN" help exit-codes | awk '{ print $1 }' > "$T/codes"
[ "$(wc -l < "$T/codes")" -ge 10 ] || fail exit-table "$(cat "$T/codes")"
ok "operator guide and ferry(1) carry cli/cli_exit.c's table ($(wc -l < "$T/codes") codes)"
CMDS=$("$FERRY_BIN" help | awk '/^Commands:/ { on = 1; next } on && NF == 0 { on = 0 } on { print $1 }')
[ "$(echo "$CMDS" | wc -w)" -ge 20 ] || fail commands "$CMDS"
for c in $CMDS; do
    "$FERRY_BIN" "$c" --help > "$T/h" 2>&1 || fail help "$c --help exits $?"
    # the numbers after "Exit" up to the next blank line
    for n in $(awk '/^Exit/ { on = 1 } on && NF == 0 { on = 0 } on' "$T/h" | grep -o '\b[0-9][0-9]\b\|\b0\b'); do
        grep -qx "$n" "$T/codes" || fail help-exit "ferry $c --help names exit $n, not in the table"
    done
done
ok "every code a command's --help names is in the table"

# ---- options: table, --help and ferry(1) agree --------------------------------
sed 's/\\-/-/g; s/\\f[BIRP]//g' docs/man/ferry.1 > "$T/man"
n=0
for f in cli/cmd_*.c; do
    for o in $(grep -o '{ *"[a-z][a-z-]*", *\(required\|no\|optional\)_argument' "$f" |
               sed 's/{ *"\([a-z-]*\)".*/\1/' | sort -u); do
        n=$((n+1))
        grep -q -- "--$o\b" "$f" || fail options "$f: --$o is in an option table but not in its usage text"
        grep -q -- "--$o\b" "$T/man" || fail options "$f: --$o is not in ferry(1)"
    done
done
for o in config spool actor json quiet help; do
    grep -q -- "--$o\b" "$T/man" || fail options "common --$o is not in ferry(1)"
done
for c in $CMDS; do
    grep -q "^\.B $c\b" docs/man/ferry.1 || grep -q "^\.B .*\b$c \\\\fI" docs/man/ferry.1 ||
        grep -q "$c" "$T/man" || fail man "command $c is not in ferry(1)"
done
ok "$n long options: each in its command's usage and in ferry(1)"

# ---- global options, help CMD, version ---------------------------------------
SP=$T/spool
"$FERRY_BIN" queue --spool "$SP" --json > "$T/a" 2>&1 || fail global "queue --spool: $(cat "$T/a")"
"$FERRY_BIN" --spool "$SP" --json queue > "$T/b" 2>&1 || fail global "--spool before queue: $(cat "$T/b")"
cmp -s "$T/a" "$T/b" || fail global "$(diff "$T/a" "$T/b")"
"$FERRY_BIN" "--spool=$SP" queue --counts > /dev/null || fail global "--spool=DIR before the command"
ok "ferry --spool DIR --json queue is ferry queue --spool DIR --json"
"$FERRY_BIN" help queue > "$T/a"; "$FERRY_BIN" queue --help > "$T/b"
cmp -s "$T/a" "$T/b" || fail help "help queue differs from queue --help"
expect_exit 64 "$FERRY_BIN" help qeue
grep -q "did you mean 'queue'" "$T/err" || fail help "$(cat "$T/err")"
ok "ferry help CMD; an unknown command gets a did-you-mean"
V=$(sed -n 's/^#define FERRY_VERSION "\(.*\)"/\1/p' cli/cli.h)
"$FERRY_BIN" version > "$T/v"
[ "$(head -1 "$T/v")" = "ferry $V" ] || fail version "$(head -1 "$T/v")"
"$FERRY_BIN" --version | cmp -s - "$T/v" || fail version "--version differs"
if command -v sqlite3 >/dev/null; then
    grep -q "SQLite/$(sqlite3 --version | awk '{ print $1 }')" "$T/v" || fail version "SQLite: $(cat "$T/v")"
fi
for lib in jansson/ libxml2/ libmicrohttpd/ libssh2/ unixODBC/ OpenSSL libcurl/; do
    grep -q "$lib" "$T/v" || fail version "no $lib: $(cat "$T/v")"
done
ok "ferry version: $V and the libraries it runs on"

# ---- unknown service / target: 64 and did you mean -------------------------
example_config "$T/ex"
CFG=$T/ex/ferry.xml
unknown() {   # unknown NEAR CMD... - exit 64, names NEAR
    local near=$1; shift
    expect_exit 64 "$FERRY_BIN" "$@"
    grep -q "did you mean '$near'" "$T/err" || fail unknown "$*: $(cat "$T/err")"
}
echo '{}' > "$T/one.json"
unknown refund-claim queue --config "$CFG" --spool "$SP" --service refund-clam
unknown claims-mainframe queue --config "$CFG" --spool "$SP" --target claims-mainfram
unknown refund-claim report --config "$CFG" --spool "$SP" --service refund-claimm
unknown refund-claim retry --config "$CFG" --spool "$SP" --state failed --service refnd-claim
unknown refund-claim submit --config "$CFG" --spool "$SP" refund-clam "$T/one.json"
unknown refund-claim import --config "$CFG" --spool "$SP" refund-clam "$T/one.json"
unknown refund-claim map --config "$CFG" refund-clam "$T/one.json"
unknown claims-mainframe batch --config "$CFG" --spool "$SP" --target claims-mainfram
unknown claims-nightly batch --config "$CFG" --spool "$SP" claims-nightl
unknown claims-mainframe batches --config "$CFG" --spool "$SP" --target claim-mainframe
unknown customer-db deliver --config "$CFG" --spool "$SP" --target customerdb
unknown customer-db reconcile --config "$CFG" --spool "$SP" customer-bd
# with --spool alone the ledger's own services count
expect_exit 64 "$FERRY_BIN" queue --spool "$SP" --service nothing-here
ok "unknown service, target or job: 64 with a did-you-mean (queue, report, retry, submit, import, map, batch, batches, deliver, reconcile)"

# ---- did you mean: attributes, elements and names in ferry.xml and a mapping --
mkdir -p "$T/typo"
cp -r "$T/ex/." "$T/typo/"
sed -i 's/max-attempts="8"/max-attempt="8"/; s/<breaker threshold/<breakr threshold/;
        s/target="customer-db">/target="customer-bd">/' "$T/typo/ferry.xml"
sed -i 's/max-length="15"/max-lenght="15"/; s/<transform op="trim"\/>/<transfrom op="trim"\/>/' \
    "$T/typo/mappings/refund-claim.xml"
expect_exit 78 "$FERRY_BIN" check --config "$T/typo/ferry.xml"
for want in "attribute 'max-attempt'.*did you mean 'max-attempts'?" \
            "Element 'breakr'.*did you mean 'breaker'?" \
            "unknown target 'customer-bd'; did you mean 'customer-db'?" \
            "refund-claim.xml:[0-9]*: Element 'field', attribute 'max-lenght'.*did you mean 'max-length'?" \
            "refund-claim.xml:[0-9]*: Element 'transfrom'.*did you mean 'transform'?"; do
    grep -q "^ferry check: .*$want" "$T/err" || fail did-you-mean "no '$want': $(cat "$T/err")"
done
grep -q '{urn:' "$T/err" && fail did-you-mean "namespace noise: $(cat "$T/err")"
# nothing near: no suggestion
sed -i 's/format="logfmt"/colour="logfmt"/' "$T/typo/ferry.xml"
expect_exit 78 "$FERRY_BIN" check --config "$T/typo/ferry.xml"
grep "attribute 'colour'" "$T/err" | grep -q 'did you mean' && fail did-you-mean "a far name got one: $(grep colour "$T/err")"
ok "ferry check: a near attribute, element or target name in ferry.xml and a mapping gets a did-you-mean"

# ---- an unopenable spool is 73, and the helps say so -------------------------
: > "$T/not-a-folder"
for c in serve jobs submit; do
    set +e
    case $c in
    submit) "$FERRY_BIN" submit --config "$CFG" --spool "$T/not-a-folder" refund-claim "$T/one.json" >/dev/null 2>&1 ;;
    *)      "$FERRY_BIN" $c --config "$CFG" --spool "$T/not-a-folder" >/dev/null 2>&1 ;;
    esac
    rc=$?; set -e
    [ $rc = 73 ] || fail spool-exit "$c with an unopenable spool exits $rc"
    "$FERRY_BIN" $c --help | tr '\n' ' ' | grep -q '73 spool cannot be *opened' ||
        fail spool-exit "$c --help does not say 73"
done
ok "an unopenable spool: 73 (serve, jobs, submit), as their --help says"

# ---- references from stdin: comments and blank lines -------------------------
head -1 "$T/ex/submissions.ndjson" > "$T/s.json"
"$FERRY_BIN" submit --config "$CFG" --spool "$SP" refund-claim "$T/s.json" > "$T/sub" 2>"$T/err" ||
    fail stdin "submit: $(cat "$T/err")"
REF=$(awk '{ print $1 }' "$T/sub")
printf '# records to hold while the mainframe is down\n\n  %s\n   # done\n\n' "$REF" |
    "$FERRY_BIN" hold --config "$CFG" --spool "$SP" --reason "test" - > "$T/out" 2> "$T/err" ||
    fail stdin "hold -: $(cat "$T/err")"
"$FERRY_BIN" queue --config "$CFG" --spool "$SP" --state held --json | jq -e ".count == 1" >/dev/null ||
    fail stdin "not held"
ok "hold - : '#' comments and blank lines skipped"

# ---- --limit says when it cut; JSON times are RFC 3339 UTC with ms ----------
sed -n 2,3p "$T/ex/submissions.ndjson" > "$T/two.ndjson"
"$FERRY_BIN" submit --config "$CFG" --spool "$SP" refund-claim "$T/two.ndjson" > /dev/null 2>&1 || true
total=$("$FERRY_BIN" queue --config "$CFG" --spool "$SP" --json | jq .count)
[ "$total" -ge 3 ] || fail limit "only $total records"
"$FERRY_BIN" queue --config "$CFG" --spool "$SP" --limit 2 | tail -1 | grep -q '^-- 2 records (--limit cut' ||
    fail limit "$("$FERRY_BIN" queue --config "$CFG" --spool "$SP" --limit 2 | tail -1)"
"$FERRY_BIN" queue --config "$CFG" --spool "$SP" --limit "$total" | tail -1 | grep -q 'cut' &&
    fail limit "--limit $total of $total says cut"
"$FERRY_BIN" queue --config "$CFG" --spool "$SP" --limit 2 --json |
    jq -e '.truncated == true and .count == 2' > /dev/null || fail limit "json"
"$FERRY_BIN" queue --config "$CFG" --spool "$SP" --limit "$total" --json |
    jq -e '.truncated == false' > /dev/null || fail limit "json not cut"
"$FERRY_BIN" queue --config "$CFG" --spool "$SP" --json |
    jq -e '[.records[].received_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")] | all' > /dev/null ||
    fail json-time "$("$FERRY_BIN" queue --config "$CFG" --spool "$SP" --json | jq -r '.records[0].received_at')"
ok "queue --limit says when it cut (text and JSON); JSON times are RFC 3339 UTC with milliseconds"
# every time in every JSON output: a time-named member, or any string that
# looks like a date and a time, is RFC 3339 UTC with milliseconds
"$FERRY_BIN" release --config "$CFG" --spool "$SP" "$REF" > /dev/null 2>&1 || true
"$FERRY_BIN" batch --config "$CFG" --spool "$SP" --target claims-mainframe > /dev/null 2>&1 ||
    fail json-time "batch: $("$FERRY_BIN" batch --config "$CFG" --spool "$SP" --target claims-mainframe 2>&1 | tail -3)"
"$FERRY_BIN" spool backup --config "$CFG" --spool "$SP" "$T/bk" > /dev/null 2>&1 || fail json-time "backup"
RFC='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$'
TIMES='[.. | objects | to_entries[] | select(.key | test("(^|_)at$|^started$|^ended$|_utc$|_since$")) | .value | select(. != null)]
       + [.. | strings | select(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}"))]'
n_times=0
for args in "queue" "show $REF" "find $REF" "batches" "jobs" "targets" "audit" "report --format json"; do
    "$FERRY_BIN" $args --config "$CFG" --spool "$SP" $( [ "${args%% *}" = report ] || echo --json ) \
        > "$T/j" 2> "$T/err" || fail json-time "$args: $(cat "$T/err")"
    bad=$(jq -c "$TIMES | map(select(type != \"string\" or (test(\"$RFC\") | not)))" "$T/j")
    [ "$bad" = "[]" ] || fail json-time "$args: $bad"
    n_times=$((n_times + $(jq "$TIMES | length" "$T/j")))
done
jq -e ".generated_at | test(\"$RFC\")" "$T/j" > /dev/null || fail json-time "report has no generated_at"
bad=$(jq -c "$TIMES | map(select(test(\"$RFC\") | not))" "$T/bk/MANIFEST")
[ "$bad" = "[]" ] || fail json-time "backup MANIFEST: $bad"
[ "$n_times" -ge 20 ] || fail json-time "only $n_times times seen"
ok "every JSON time is RFC 3339 UTC with ms ($n_times in queue, show, find, batches, jobs, targets, audit, report, the backup MANIFEST)"
# ---- shared messages name the command ----------------------------------------
mkdir -p "$T/empty"
(cd "$T/empty" && "$FERRY_BIN" queue > /dev/null 2> "$T/err") || true
grep -q "^ferry queue: no configuration" "$T/err" || fail prefix "$(cat "$T/err")"
printf 'FRY-20261203-000001-AND-MUCH-TOO-LONG-FOR-ONE\n' |
    "$FERRY_BIN" hold --config "$CFG" --spool "$SP" - > /dev/null 2> "$T/err" || true
grep -q "^ferry hold: " "$T/err" || fail prefix "$(cat "$T/err")"
ok "shared messages start with 'ferry COMMAND:'"
# every command with an option it does not have: getopt's own words too
for c in $CMDS; do
    set +e; "$FERRY_BIN" "$c" --no-such-option < /dev/null > /dev/null 2> "$T/err"; rc=$?; set -e
    [ $rc = 64 ] || fail prefix "$c --no-such-option exits $rc"
    head -1 "$T/err" | grep -q "^ferry $c: " || fail prefix "$c --no-such-option: $(head -1 "$T/err")"
done
# and with a bad value or name: every line on stderr that is not a log
# line or the usage text starts with "ferry COMMAND:"
NOREF=FRY-20990101-000001
while IFS='|' read -r c args; do
    [ -n "$c" ] || continue
    set +e; (cd "$T/ex" && eval "\"\$FERRY_BIN\" $c $args") < /dev/null > /dev/null 2> "$T/err"; rc=$?; set -e
    [ $rc != 0 ] || fail prefix "$c $args exits 0"
    sed '/^usage: /,$d' "$T/err" | grep -v '^ts=' > "$T/msgs" || true
    [ -s "$T/msgs" ] || fail prefix "$c $args: no message: $(cat "$T/err")"
    bad=$(grep -v "^ferry ${c%% *}\( [a-z]*\)\?: " "$T/msgs" || true)
    [ -z "$bad" ] || fail prefix "$c $args: $bad"
done <<EOF2
serve|--config nope.xml
check|--config nope.xml
submit|--spool ../spool refund-claim nope.json
submit|--spool ../spool refund-claim ../bad.json
import|--spool ../spool refund-claim assisted-digital.csv
queue|--spool ../spool --since yesterday-ish
show|--spool ../spool $NOREF
find|--spool ../spool nope=1
map|refund-claim ../bad.json
copybook|nope.cpy
batch|--spool ../spool no-such-job
batches|--spool ../spool --limit x
deliver|--spool ../spool --wait forever
reconcile|--spool ../spool claims-mainframe nope.ack
edit|--spool ../spool $NOREF --set x=1
report|--spool ../spool --date notadate
retry|--spool ../spool $NOREF
settle|--spool ../spool $NOREF
hold|--spool ../spool --reason r $NOREF
release|--spool ../spool $NOREF
discard|--spool ../spool $NOREF
audit|--spool ../spool $NOREF
purge|--spool ../spool --older-than soon
config|--config nope.xml
spool|verify ../nope-dir
spool|frobnicate
jobs|--spool ../not-a-folder
targets|--config nope.xml
show|--spool ../spool
queue|--spool ../spool extra
edit|--spool ../spool
submit|--spool ../spool refund-claim
map|refund-claim
copybook|
batch|--spool ../spool
report|--spool ../spool extra
purge|--spool ../spool
staff|frobnicate
staff|
spool|backup
version|extra
reconcile|--spool ../spool
EOF2
ok "every command's messages start with 'ferry COMMAND:' (an unknown option, a bad value or name, missing or extra arguments)"

# ---- problems: one shape in every command's JSON (util/errs_json.c) ------------
# every "problems" array anywhere in the document: each item is exactly
# {where, reason} or {where, reason, message}, strings, reason not empty
SHAPE='[.. | objects | select(has("problems")) | .problems[]] as $p
       | ($p | length) > 0 and ($p | all(((keys - ["message"]) == ["reason", "where"])
         and (.where | type) == "string" and (.reason | type) == "string"
         and (.reason | length) > 0 and ((.message // "") | type) == "string"))'
shape() {   # shape WHAT RC CMD... - exit RC, its stdout has the one shape
    local what=$1 want=$2; shift 2
    set +e; "$FERRY_BIN" "$@" > "$T/out" 2> "$T/err"; local rc=$?; set -e
    [ $rc = "$want" ] || fail shape "$what exits $rc, not $want: $(cat "$T/err")"
    jq -e "$SHAPE" "$T/out" > /dev/null || fail shape "$what: $(cat "$T/out")"
}
echo '{"form_ref":"x"}' > "$T/bad.json"
shape "submit --json" 65 submit --config "$CFG" --spool "$SP" --json refund-claim "$T/bad.json"
shape "import --json" 65 import --config "$CFG" --spool "$SP" --json refund-claim "$T/ex/assisted-digital.csv"
jq -e '[.results[] | select(.status == "rejected") | .problems[] | select(.where == "nino")] | length >= 1' \
    "$T/out" > /dev/null || fail shape "import: the bad NINO's where: $(cat "$T/out")"
shape "map --json" 65 map --config "$CFG" --json refund-claim "$T/bad.json"
shape "hold --json (refused)" 65 hold --config "$CFG" --spool "$SP" --json --reason again "$REF"
mkdir -p "$T/bad-cfg" "$T/junk-spool"
cp -r "$T/ex/." "$T/bad-cfg/"
sed -i 's/target="customer-db"/target="customer-bd"/' "$T/bad-cfg/ferry.xml"
shape "check --json" 78 check --config "$T/bad-cfg/ferry.xml" --json
jq -e '[.problems[] | select(.where | test("^.*ferry.xml:[0-9]+$"))] | length >= 1' "$T/out" > /dev/null ||
    fail shape "check: where is FILE:LINE: $(cat "$T/out")"
echo 'not a database' > "$T/junk-spool/ledger.db"
shape "spool verify --json" 73 spool verify --json "$T/junk-spool"
grep -rq '"path"' "$T/out" && fail shape "a 'path' key is left"
ok "problems: one shape {where, reason[, message]} in submit, import, map, hold, check, spool verify"

# ---- ferry config: the effective configuration ---------------------------------
"$FERRY_BIN" config --config "$CFG" > "$T/ex/effective.xml" || fail config "exit $?"
grep -q 'lease="5m"' "$T/ex/effective.xml" && grep -q 'max-fields="1000"' "$T/ex/effective.xml" &&
    grep -q 'shutdown-deadline="30s"' "$T/ex/effective.xml" || fail config "defaults not filled in: $(head -8 "$T/ex/effective.xml")"
grep -q 'secret-file="secrets/frontend.key"' "$T/ex/effective.xml" || fail config "secret reference missing"
grep -qF "$(cat "$T/ex/secrets/frontend.key")" "$T/ex/effective.xml" && fail config "a secret's content is printed"
grep -qF "$(cat "$T/ex/secrets/customer-db.conn")" "$T/ex/effective.xml" && fail config "a connection string is printed"
"$FERRY_BIN" check --config "$T/ex/effective.xml" > "$T/out" 2>&1 || fail config "effective config does not check: $(cat "$T/out")"
"$FERRY_BIN" config --config "$T/ex/effective.xml" | tail -n +3 > "$T/again"
tail -n +3 "$T/ex/effective.xml" | cmp -s - "$T/again" || fail config "not a fixed point: $(tail -n +3 "$T/ex/effective.xml" | diff - "$T/again" | head -5)"
ok "ferry config: defaults filled in, secrets only as their files, checks clean and reads back the same"
echo "$CASES cases"
