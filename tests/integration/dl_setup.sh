# dl_setup.sh - sourced by the delimited-file tests (46-48): a copy of the
# example department in $T/NAME whose refund claims go to a delimited
# target "claims-csv" (tests/data/batch/refund-claim-csv/target.xml)
# instead of the mainframe.
#
# dl_setup NAME 'DIALECT ATTRIBUTES' ['TRANSPORT ELEMENT']
#   the transport defaults to a local drop folder $T/NAME/drop.
dl_setup() {
    local d=$T/$1 attrs=$2 tr=${3:-}
    mkdir -p "$d/drop" "$d/acks"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    [ -n "$tr" ] || tr="<transport type=\"local\" dir=\"$d/drop\" ack-dir=\"$d/acks\"/>"
    python3 - "$d" "$attrs" "$tr" "$FERRY_ROOT/tests/data/batch/refund-claim-csv/target.xml" <<'PY'
import re, sys
d, attrs, tr, tgt = sys.argv[1:5]
x = open(d + "/ferry.xml").read()
x = re.sub(r'<spool dir="[^"]*"', '<spool dir="%s/spool"' % d, x)
x = x.replace('target="claims-mainframe">\n    <cost',
              'target="claims-csv">\n    <cost', 1)
x = x.replace('<target name="customer-db"',
              '<target name="claims-csv" type="delimited" %s>\n    %s\n  </target>\n\n'
              '  <target name="customer-db"' % (attrs, tr), 1)
x = x.replace('action="batch" target="claims-mainframe"',
              'action="batch" target="claims-csv"', 1)
open(d + "/ferry.xml", "w").write(x)
m = open(d + "/mappings/refund-claim.xml").read()
m = re.sub(r'  <target name="claims-mainframe".*?</target>\n', open(tgt).read(),
           m, flags=re.S)
open(d + "/mappings/refund-claim.xml", "w").write(m)
PY
    grep -q 'name="claims-csv" type="delimited"' "$d/ferry.xml" &&
        grep -q '<target name="claims-csv"' "$d/mappings/refund-claim.xml" ||
        { echo "FAIL  setup: example not rewritten"; exit 1; }
}
