#!/bin/bash
# 62_report_html - the management information page opens in a real
# browser and carries the same numbers as the CSV and the JSON.
#
#   1. a ledger of 6,000 records over 14 days in three services, every
#      channel and outcome (tests/helpers/mi_ledger), plus records that
#      came through the real CLI (ferry submit, ferry import, a discard);
#   2. ferry report --format html|csv|json on it: one self-contained page
#      (no script, nothing loaded); each service's figures in the page
#      equal the JSON's, formatted for people (thousands separators), and
#      the CSV's; outcomes add up to received on every day;
#   3. headless Chromium (Debian's `chromium`) renders the page to a
#      screenshot (kept: its path is printed, and copied to MI_SHOTS when
#      that folder is set) and dumps the DOM, which holds the trend charts.
set -eu
. "$(dirname "$0")/lib.sh"
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "skip: chromium not installed (apt-get install chromium)"; exit 77; }
HELPER=$FERRY_BUILD/tests/helpers/mi_ledger
[ -x "$HELPER" ] || { echo "skip: $HELPER not built"; exit 77; }
cleanup() {
    # keep the screenshot for people to look at; drop the rest
    rm -rf "$T/ex" "$T/spool" "$T/profile"
}
trap cleanup EXIT
mkdir -p "$T/ex"
cp -r "$FERRY_ROOT/examples/." "$T/ex/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/frontend.key"
chmod 600 "$T/ex/secrets/frontend.key"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }
today=$(date -u +%F)

"$HELPER" "$SP" 6000 14 "$today" > "$T/helper.out"
set +e
F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson" >/dev/null 2>&1
F import --config "$CFG" --spool "$SP" refund-claim "$T/ex/assisted-digital.csv" >/dev/null 2>&1
set -e
ref=$(F queue --spool "$SP" --json --service refund-claim | jq -r '.records[0].reference')
expect_exit 0 F discard --spool "$SP" --reason "test <b>&</b>" "$ref"
expect_exit 0 F report --config "$CFG" --spool "$SP" --format html --output "$T/report.html"
expect_exit 0 F report --config "$CFG" --spool "$SP" --format json --output "$T/report.json"
expect_exit 0 F report --config "$CFG" --spool "$SP" --format csv --output "$T/report.csv"
[ -s "$T/report.html" ] || fail html "empty report"
grep -qi '<script' "$T/report.html" && fail html "the report must need no script"
grep -Eqi '(src|href)=' "$T/report.html" && fail html "the report must load nothing"
ok "ferry report writes one self-contained page, the JSON and the CSV"

# the same numbers in all three: JSON as the reference
python3 - "$T/report.json" "$T/report.csv" "$T/report.html" > "$T/cmp.out" 2>&1 <<'PY' || fail formats "$(cat "$T/cmp.out")"
import csv, html, json, re, sys
rep = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
page = open(sys.argv[3]).read()
units = {m["key"]: m["unit"] for m in rep["measures"]}
def human(key, v):
    if v is None: return "-"
    u = units[key]
    if u == "records": return "{:,}".format(v)
    if u == "percent": return "%.1f%%" % v
    if u == "pence": return "\u00a3{:,}.{:02d}".format(v // 100, v % 100)
    s = v // 1000; d, s = divmod(s, 86400)
    t = "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)
    return ("%dd " % d + t) if d else t
bad = []
csvv = {(r["service"], r["day"], r["measure"]): r["value"] for r in rows}
outcomes = ["confirmed", "awaiting_confirmation", "in_progress", "rejected", "failed", "discarded"]
for s in rep["services"]:
    name = s["service"]
    if s["period"]["received"] == 0 and not s["days"]:
        if 'No records received in this period.' not in page: bad.append(name + " empty")
        continue
    for k, v in s["period"].items():
        cell = 'data-service="%s" data-measure="%s">%s<' % (name, k, html.escape(human(k, v), quote=False))
        if cell not in page: bad.append("page " + cell)
        cv = csvv.get((name, "period", k))
        if cv != ("" if v is None else str(v)): bad.append("csv %s %s: %r != %r" % (name, k, cv, v))
    for d in s["days"]:
        if sum(d[o] for o in outcomes) != d["received"]: bad.append("%s %s outcomes" % (name, d["day"]))
        if csvv.get((name, d["day"], "received")) != str(d["received"]): bad.append("csv day " + d["day"])
    if sum(s["period"][o] for o in outcomes) != s["period"]["received"]: bad.append(name + " outcomes")
t = rep["total"]
if t["received"] < 6000 or not rep["conservation"]["ok"]: bad.append("total %d" % t["received"])
if not re.search(r'>6,0\d\d<', page): bad.append("no thousands separator in the page")
print("; ".join(bad) if bad else "ok: %d services, %d received" % (len(rep["services"]), t["received"]))
sys.exit(1 if bad else 0)
PY
ok "the page, the CSV and the JSON carry the same figures ($(cat "$T/cmp.out"))"

# run_chrome ARGS... - headless Chromium, bounded to 60 s
run_chrome() {
    rm -rf "$T/profile"
    timeout -k 5 60 "$CHROME" --headless --no-sandbox --disable-gpu \
        --disable-quic --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run \
        --user-data-dir="$T/profile" "$@"
}
run_chrome --screenshot="$T/report.png" --window-size=1280,2000 \
    "file://$T/report.html" >"$T/chrome.out" 2>&1 || true
[ -s "$T/report.png" ] || fail screenshot "no screenshot: $(tail -5 "$T/chrome.out")"
head -c 8 "$T/report.png" | od -An -tx1 | grep -q '89 50 4e 47' || fail screenshot "not a PNG"
if [ -n "${MI_SHOTS:-}" ]; then mkdir -p "$MI_SHOTS" && cp "$T/report.png" "$MI_SHOTS/report.png"; fi
ok "chromium renders the report: screenshot $T/report.png"

run_chrome --dump-dom "file://$T/report.html" >"$T/dom.html" 2>"$T/chrome.err" || true
grep -q 'Conservation: OK - all 6,0[0-9][0-9] received' "$T/dom.html" || fail dom "conservation line missing"
[ "$(grep -o '<svg' "$T/dom.html" | wc -l)" -ge 6 ] || fail dom "two trend charts per service expected"
grep -q 'data-measure="digital_take_up"' "$T/dom.html" || fail dom "take-up missing"
grep -q 'Received per day, by outcome' "$T/dom.html" || fail dom "trend missing"
ok "rendered DOM holds the figures and the trend per service"

echo "screenshot: $T/report.png"
echo "62_report_html: $CASES cases passed"
