#!/bin/bash
# 62_report_html - the HTML report opens in a real browser: headless
# Chromium (Debian's `chromium`) renders it to a screenshot (kept under
# the temp folder; its path is printed) and dumps the DOM, which must
# hold the figures and the inline SVG charts.  The page must be one
# self-contained file: no script, no external asset.
set -eu
. "$(dirname "$0")/lib.sh"
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "skip: chromium not installed (apt-get install chromium)"; exit 77; }
CPID=""
cleanup() {
    [ -n "$CPID" ] && kill -KILL "$CPID" 2>/dev/null
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

set +e
F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson" >/dev/null 2>&1
set -e
ref=$(F queue --spool "$SP" --json | jq -r '.records[0].reference')
expect_exit 0 F discard --spool "$SP" --reason "test <b>&</b>" "$ref"
expect_exit 0 F report --spool "$SP" --format html --output "$T/report.html"
[ -s "$T/report.html" ] || fail html "empty report"
grep -qi '<script' "$T/report.html" && fail html "the report must need no script"
grep -Eqi '(src|href)=' "$T/report.html" && fail html "the report must load nothing"
grep -q '<svg' "$T/report.html" || fail html "no inline SVG chart"
ok "ferry report --format html writes one self-contained file"

# run_chrome ARGS... - headless Chromium, bounded to 60 s
run_chrome() {
    rm -rf "$T/profile"
    timeout -k 5 60 "$CHROME" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --user-data-dir="$T/profile" "$@"
}
run_chrome --screenshot="$T/report.png" --window-size=1280,2000 \
    "file://$T/report.html" >"$T/chrome.out" 2>&1 || true
[ -s "$T/report.png" ] || fail screenshot "no screenshot: $(tail -5 "$T/chrome.out")"
head -c 8 "$T/report.png" | od -An -tx1 | grep -q '89 50 4e 47' || fail screenshot "not a PNG"
ok "chromium renders the report: screenshot $T/report.png"

run_chrome --dump-dom "file://$T/report.html" >"$T/dom.html" 2>"$T/chrome.err" || true
grep -q '<svg' "$T/dom.html" || fail dom "no <svg> in the rendered DOM"
grep -q 'id="mi-received">8<' "$T/dom.html" || fail dom "transactions received should be 8"
grep -q 'Conservation: OK - all 8 received' "$T/dom.html" || fail dom "conservation line missing"
grep -q '<td>refund-claim</td>' "$T/dom.html" || fail dom "service row missing"
[ "$(grep -o '<svg' "$T/dom.html" | wc -l)" -ge 3 ] || fail dom "three charts expected"
ok "rendered DOM holds the figures and three SVG charts"

echo "screenshot: $T/report.png"
echo "62_report_html: $CASES cases passed"
