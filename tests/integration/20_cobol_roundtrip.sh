#!/bin/bash
# 20_cobol_roundtrip.sh - ferry's records against GnuCOBOL's, byte for byte.
#
# For each copybook in tests/data/copybooks (header/detail/trailer with
# COMP-3, COMP, zoned in every sign convention and REDEFINES; a customer
# master with OCCURS DEPENDING ON, JUSTIFIED RIGHT and a REDEFINES'd name;
# a free-format payment record with SYNC; numeric-edited report amounts
# with every editing symbol, $ and, in EBCDIC, the pound sign; numbers of
# 31 digits; a record built by COPY ... REPLACING from shared members,
# which GnuCOBOL expands from the same folder) and its values in
# tests/cobol:
#   1. a generated GnuCOBOL program COPYs the copybook and WRITEs the
#      reference records; ferry (fw_tool) encodes the same values: cmp;
#   2. a GnuCOBOL program READs ferry's file and DISPLAYs every field, and
#      ferry decodes GnuCOBOL's file: both must show the input values;
# in ASCII with IBM overpunch (cobc -fsign=EBCDIC) and with GnuCOBOL's
# own ASCII signs, and in EBCDIC IBM-285 and IBM-037 (GnuCOBOL writes
# ASCII, so its files are converted slot by slot with iconv: character
# fields only, offsets from the copybook, packed and binary bytes never).
set -eu
. "$FERRY_ROOT/tests/integration/lib.sh"
command -v cobc >/dev/null || { echo "cobc (gnucobol3) not installed"; exit 77; }
FW=$FERRY_BUILD/tests/helpers/fw_tool
[ -x "$FW" ] || fail setup "no $FW"
CB=$FERRY_ROOT/tests/data/copybooks
PY="python3 $FERRY_ROOT/tests/cobol/fwcobol.py"
cd "$T"

# ---- ferry copybook: the listing and its exit codes --------------------
expect_exit 0 "$FERRY_BIN" copybook "$CB/CLAIMREC.cpy"
grep -q "record CLAIM-DETAIL, 120 bytes" "$T/out" || fail "copybook listing" "no CLAIM-DETAIL"
grep -Eq "^05 +DTL-AMOUNT +52 +51 +5 +packed +S9\(07\)V99 +COMP-3 +9 +2" "$T/out" \
    || fail "copybook listing" "DTL-AMOUNT row"
ok "ferry copybook lists offsets 1- and 0-based"
expect_exit 0 "$FERRY_BIN" copybook --json --record CUSTOMER-RECORD "$CB/CUSTMAST.cpy"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["records"][0]; assert r["length"]==307 and r["variable"], r' "$T/out" \
    || fail "copybook --json" "length"
ok "ferry copybook --json --record"
printf '       01  CLAIM-REC.\n           05  A  PIC X(3).\n           05  B  PIC S9(7V99 COMP-3.\n' > bad.cpy
expect_exit 65 "$FERRY_BIN" copybook bad.cpy
grep -q "^ferry copybook: bad.cpy:3:27: PIC S9(7V99 expected ')'" "$T/err" || fail "copybook error" "$(cat "$T/err")"
ok "ferry copybook names FILE:LINE:COL (exit 65)"
expect_exit 66 "$FERRY_BIN" copybook no-such.cpy
expect_exit 64 "$FERRY_BIN" copybook
ok "ferry copybook exit codes 66 and 64"

# ---- round trips -------------------------------------------------------
# roundtrip NAME COPYBOOK VALUES CODEPAGE OVERPUNCH COBC-SIGN-FLAGS...
roundtrip() {
    local name=$1 cpy=$2 vals=$3 cp=$4 op=$5; shift 5
    local d="$T/$name"
    mkdir -p "$d"
    "$FW" layout "$CB/$cpy.cpy" > "$d/layout.json" || fail "$name" "layout"
    $PY writer "$d/layout.json" "$vals" "$cpy" ref.dat > "$d/w.cob"
    $PY reader "$d/layout.json" "$vals" "$cpy" in.dat > "$d/r.cob"
    (cd "$d" && cobc -x -std=ibm "$@" -I "${CB_COBOL:-$CB}" -o w w.cob && \
                cobc -x -std=ibm "$@" -I "${CB_COBOL:-$CB}" -o r r.cob) \
        || fail "$name" "cobc"
    (cd "$d" && ./w) || fail "$name" "COBOL writer"
    "$FW" encode "$CB/$cpy.cpy" "$cp" "$op" "$vals" "$d/ferry.dat" 2>"$d/enc.err" \
        || fail "$name" "ferry encode: $(cat "$d/enc.err")"
    local ref="$d/ref.dat"
    if [ "$cp" != ascii ]; then
        $PY slots "$d/layout.json" "$vals" "$cp" to-ebcdic "$d/ref.dat" "$d/ref.ebc" \
            || fail "$name" "slot conversion"
        ref="$d/ref.ebc"
    fi
    if ! cmp "$ref" "$d/ferry.dat"; then
        cmp -l "$ref" "$d/ferry.dat" | head -10
        fail "$name" "ferry's bytes differ from GnuCOBOL's"
    fi
    ok "$name: ferry encodes byte-for-byte as GnuCOBOL writes"
    # GnuCOBOL reads ferry's file (converted back to ASCII for EBCDIC)
    if [ "$cp" != ascii ]; then
        $PY slots "$d/layout.json" "$vals" "$cp" to-ascii "$d/ferry.dat" "$d/in.dat"
    else
        cp "$d/ferry.dat" "$d/in.dat"
    fi
    (cd "$d" && ./r) > "$d/cobol.txt" || fail "$name" "COBOL reader"
    "$FW" decode "$CB/$cpy.cpy" "$cp" "$op" "$vals" "$ref" > "$d/ferry.txt" \
        || fail "$name" "ferry decode"
    $PY compare "$vals" "$d/cobol.txt" "$d/ferry.txt" || fail "$name" "decoded values differ"
    ok "$name: GnuCOBOL reads ferry's records, ferry reads GnuCOBOL's"
}

for c in CLAIMREC:claims CUSTMAST:custmast PAYMENT:payment EDITED:edited \
         CLAIMADR:claimadr CLAIMLIB:claimlib \
         WIDE:wide; do
    cpy=${c%%:*}; v=$FERRY_ROOT/tests/cobol/${c##*:}.jsonl
    roundtrip "$cpy-ascii-ibm-signs" "$cpy" "$v" ascii ibm -fsign=EBCDIC
    roundtrip "$cpy-ascii-gnucobol-signs" "$cpy" "$v" ascii gnu
    roundtrip "$cpy-ibm285" "$cpy" "$v" IBM285 ibm -fsign=EBCDIC
    roundtrip "$cpy-ibm037" "$cpy" "$v" IBM037 ibm -fsign=EBCDIC
done

# the pound sign: GnuCOBOL reads its copybook in Latin-1 (CURRENCY SIGN IS
# X"A3"); ferry reads the UTF-8 one and writes the pound in EBCDIC, where
# IBM-285 has it at 5B and IBM-037 at B1.  ASCII cannot hold it: refused.
mkdir -p "$T/latin1"
iconv -f UTF-8 -t LATIN1 "$CB/EDITGBP.cpy" > "$T/latin1/EDITGBP.cpy"
v=$FERRY_ROOT/tests/cobol/editgbp.jsonl
CB_COBOL=$T/latin1 roundtrip EDITGBP-ibm285 EDITGBP "$v" IBM285 ibm
CB_COBOL=$T/latin1 roundtrip EDITGBP-ibm037 EDITGBP "$v" IBM037 ibm
if "$FW" encode "$CB/EDITGBP.cpy" ascii ibm "$v" "$T/gbp.dat" 2> "$T/gbp.err"; then
    fail "pound in ASCII" "encoded without error"
fi
grep -q "GBP-FIXED: offset 13: character '£' (U+00A3) cannot be written in ASCII" "$T/gbp.err" \
    || fail "pound in ASCII" "$(cat "$T/gbp.err")"
ok "a pound sign ASCII cannot hold is refused, naming the field"

# ---- variable-length records: RECFM=V and VB -------------------------
# CUSTMAST's OCCURS DEPENDING ON sizes each record.  GnuCOBOL cannot write
# a mainframe RDW: its variable files (COB_VARSEQ_FORMAT 0) count the data
# alone, so its file is turned into RECFM=V by adding 4 to each length,
# and must then equal ferry's byte for byte; ferry decodes that file.  A
# COBOL program reads ferry's V and VB files as a byte stream
# (CBL_READ_FILE), decoding the RDWs and BDWs itself, and shows the same
# values.
vrec() {
    local d="$T/vrec-$1-$2" cp=$1 op=$2; shift 2
    local v=$FERRY_ROOT/tests/cobol/custmast.jsonl
    mkdir -p "$d"
    "$FW" layout "$CB/CUSTMAST.cpy" > "$d/layout.json" || fail vrec layout
    $PY vwriter "$d/layout.json" "$v" CUSTMAST gnu.var > "$d/w.cob"
    $PY vreader "$d/layout.json" "$v" CUSTMAST ferry.v V > "$d/r.cob"
    $PY vreader "$d/layout.json" "$v" CUSTMAST ferry.vb VB > "$d/rb.cob"
    (cd "$d" && for p in w r rb; do
        cobc -x -std=ibm "$@" -I "$CB" -o $p $p.cob || exit 1; done) \
        || fail "vrec-$cp" "cobc"
    (cd "$d" && COB_VARSEQ_FORMAT=0 ./w) || fail "vrec-$cp" "COBOL writer"
    $PY varseq-to-rdw "$d/gnu.var" "$d/gnu.rdw" || fail "vrec-$cp" "varseq"
    "$FW" encode "$CB/CUSTMAST.cpy" "$cp" "$op" "$v" "$d/ferry.v" V \
        || fail "vrec-$cp" "ferry encode V"
    "$FW" encode "$CB/CUSTMAST.cpy" "$cp" "$op" "$v" "$d/ferry.vb" VB:200 \
        || fail "vrec-$cp" "ferry encode VB"
    cmp "$d/gnu.rdw" "$d/ferry.v" || fail "vrec-$cp" "RECFM=V bytes differ"
    [ "$(od -An -tx1 -N4 "$d/ferry.v" | tr -d ' ')" = 007f0000 ] ||
        fail "vrec-$cp" "first RDW is not 007F0000 (123 bytes + 4)"
    [ "$(od -An -tx1 -N4 "$d/ferry.vb" | tr -d ' ')" = 00830000 ] ||
        fail "vrec-$cp" "first BDW is not 00830000 (one 127-byte record + 4)"
    ok "vrec-$cp-$op: RECFM=V sized by OCCURS DEPENDING ON, as GnuCOBOL writes it (RDW = its length + 4)"
    (cd "$d" && ./r > cobol-v.txt && ./rb > cobol-vb.txt) || fail "vrec-$cp" "COBOL reader"
    "$FW" decode "$CB/CUSTMAST.cpy" "$cp" "$op" "$v" "$d/gnu.rdw" V > "$d/ferry.txt" \
        || fail "vrec-$cp" "ferry decode V"
    $PY compare "$v" "$d/cobol-v.txt" "$d/ferry.txt" || fail "vrec-$cp" "V values differ"
    $PY compare "$v" "$d/cobol-vb.txt" "$d/ferry.txt" || fail "vrec-$cp" "VB values differ"
    ok "vrec-$cp-$op: COBOL reads ferry's V and VB (byte stream, RDW/BDW decoded), ferry reads GnuCOBOL's"
    mapdecode "$d" "$cp" "$op"
}

# mapdecode DIR CODEPAGE OVERPUNCH: `ferry map --decode` of GnuCOBOL's V
# file (vrec's gnu.rdw) and of the same records in VB blocks: every
# record by its RDW, sized by OCCURS DEPENDING ON, every value what
# GnuCOBOL DISPLAYed (cobol-v.txt); a damaged RDW and a record longer
# than its count are refused naming the byte offset and the record
mapdecode() {
    local d=$1 cp=$2 op=$3
    mkdir -p "$d/cfg/mappings" "$d/cfg/copybooks"
    cp "$CB/CUSTMAST.cpy" "$d/cfg/copybooks/"
    cat > "$d/cfg/ferry.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ferry xmlns="urn:ferry:config:1">
  <spool dir="var/ferry"/>
  <target name="custv" type="fixed-width"><transport type="local" dir="var/drop"/></target>
  <target name="custvb" type="fixed-width"><transport type="local" dir="var/drop"/></target>
  <service name="custv" mapping="mappings/custv.xml" target="custv"/>
  <service name="custvb" mapping="mappings/custvb.xml" target="custvb"/>
</ferry>
XML
    local m rf
    for m in custv custvb; do
        rf='recfm="V"'; [ $m = custvb ] && rf='recfm="VB" block-size="32760"'
        cat > "$d/cfg/mappings/$m.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<mapping xmlns="urn:ferry:mapping:1" service="$m">
  <accept><field name="number" path="number" type="string" required="true"/></accept>
  <target name="$m" copybook="../copybooks/CUSTMAST.cpy" record="CUSTOMER-RECORD"
          encoding="$cp" overpunch="$op" $rf>
    <map to="CUST-NUMBER" from="number"/>
  </target>
</mapping>
XML
    done
    # GnuCOBOL's records in VB blocks of at most 400 bytes
    python3 - "$d/gnu.rdw" "$d/gnu.vb" <<'PY'
import sys
data, out, blk, pos = open(sys.argv[1], "rb").read(), bytearray(), bytearray(), 0
def flush():
    global blk
    if blk:
        out.extend(bytes([(len(blk) + 4) >> 8, (len(blk) + 4) & 0xFF, 0, 0]) + blk)
    blk = bytearray()
while pos < len(data):
    n = data[pos] << 8 | data[pos + 1]
    if len(blk) + n + 4 > 400:
        flush()
    blk += data[pos:pos + n]; pos += n
flush()
open(sys.argv[2], "wb").write(bytes(out))
PY
    local svc f
    for svc in custv:gnu.rdw custvb:gnu.vb; do
        f=${svc#*:}; svc=${svc%%:*}
        "$FERRY_BIN" map --config "$d/cfg/ferry.xml" --decode "$svc" "$d/$f" \
            > "$d/map-$svc.txt" 2> "$d/map-$svc.err" ||
            fail "map-decode-$svc-$cp-$op" "exit $?: $(cat "$d/map-$svc.err")"
        python3 - "$FERRY_ROOT/tests/cobol" "$d/cobol-v.txt" "$d/map-$svc.txt" "$d/gnu.rdw" <<'PY' ||
import re, sys
sys.path.insert(0, sys.argv[1])
import fwcobol
cobol = fwcobol.parse_listing(sys.argv[2])
raw, rdws, pos = open(sys.argv[4], "rb").read(), [], 0
while pos < len(raw):
    rdws.append(raw[pos] << 8 | raw[pos + 1]); pos += rdws[-1]
recs, cur = [], None
for line in open(sys.argv[3], encoding="latin-1"):
    h = re.match(r"record \d+ at byte \d+, RDW (\d+) \((\S+)\):", line)
    if h:
        cur = {}; recs.append((int(h.group(1)), h.group(2), cur)); continue
    m = re.match(r'\s+\d+\s+\d+\s+\d+\s+(\S+)\s+(?:"(.*)"|(\S+))\s+[0-9A-F.]+$', line)
    if m and cur is not None and m.group(1) != "FILLER":
        name = m.group(1)
        name = re.sub(r"^\S+\((\d+)\)\.(\S+)$", lambda x: "%s(%02d)" % (x.group(2), int(x.group(1))), name)
        name = re.sub(r"^([^(]+)\((\d+)\)$", lambda x: "%s(%02d)" % (x.group(1), int(x.group(2))), name)
        cur[name] = m.group(2) if m.group(2) is not None else m.group(3)
assert len(recs) == len(cobol) == len(rdws), (len(recs), len(cobol), len(rdws))
for i, ((rdw, name, got), (cname, want)) in enumerate(zip(recs, cobol)):
    assert rdw == rdws[i], ("record %d: RDW %d, GnuCOBOL's %d" % (i + 1, rdw, rdws[i]))
    assert name == cname, (name, cname)
    assert got, "record %d: no fields" % (i + 1)
    for k, v in got.items():
        assert k in want and fwcobol.same(v, want[k]), ("record %d %s: %r, GnuCOBOL %r" % (i + 1, k, v, want.get(k)))
print(len(recs))
PY
            fail "map-decode-$svc-$cp-$op" "values differ from GnuCOBOL's"
    done
    ok "map-decode-$cp-$op: ferry map --decode reads GnuCOBOL's RECFM=V file and the same records in VB blocks: RDWs, OCCURS DEPENDING ON sizes and every value as GnuCOBOL shows them"
    # a damaged RDW: its byte offset and the record it begins
    python3 - "$d/gnu.rdw" "$d/badrdw.v" "$d/long.v" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
n = b[0] << 8 | b[1]
bad = bytearray(b); bad[n] = 0xFF            # the second RDW's length
open(sys.argv[2], "wb").write(bytes(bad))
long = bytearray(b[:n]) + bytearray(b[n:])   # the first record one byte longer
long[1] += 1; long[n:n] = b"X"
open(sys.argv[3], "wb").write(bytes(long))
PY
    local want2="$d/badrdw.v: record 2: offset $(($(od -An -tu1 -N2 "$d/gnu.rdw" | awk '{print $1*256+$2}'))): bad record descriptor"
    if "$FERRY_BIN" map --config "$d/cfg/ferry.xml" --decode custv "$d/badrdw.v" >/dev/null 2>"$d/bad.err"; then
        fail "map-decode bad RDW" "exit 0"
    fi
    grep -qF "$want2" "$d/bad.err" && grep -q "its length runs past the end of the file" "$d/bad.err" ||
        fail "map-decode bad RDW" "$(cat "$d/bad.err")"
    local rc=0
    "$FERRY_BIN" map --config "$d/cfg/ferry.xml" --decode custv "$d/long.v" >/dev/null 2>"$d/long.err" || rc=$?
    [ $rc = 65 ] && grep -q "long.v: record 1 at byte offset 0: the RDW says 124 bytes of data, layout CUSTOMER-RECORD uses 123 (by its OCCURS DEPENDING ON count)" "$d/long.err" ||
        fail "map-decode long record" "exit $rc: $(cat "$d/long.err")"
    ok "map-decode-$cp-$op: a bad RDW names its byte offset and record (exit 65); a record longer than its OCCURS DEPENDING ON count is refused"
}
vrec ascii ibm -fsign=EBCDIC
vrec ascii gnu
# a damaged RDW is an error naming its offset, never a short record
python3 - "$T/vrec-ascii-ibm/ferry.v" "$T/vrec-ascii-ibm/bad.v" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[0x7f + 2] = 1               # the second RDW's reserved bytes
open(sys.argv[2], "wb").write(bytes(b))
PY
if "$FW" decode "$CB/CUSTMAST.cpy" ascii ibm "$FERRY_ROOT/tests/cobol/custmast.jsonl" \
        "$T/vrec-ascii-ibm/bad.v" V > /dev/null 2> "$T/badv.err"; then
    fail "bad RDW" "decoded without error"
fi
grep -q "offset 127: bad record descriptor 00510100" "$T/badv.err" \
    || fail "bad RDW" "$(cat "$T/badv.err")"
ok "a bad RDW is refused with its offset"

# a decoder on damaged bytes names the field and offset, never returns 0
d=$T/CLAIMREC-ascii-ibm-signs
python3 - "$d/ferry.dat" "$d/bad.dat" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[120 + 55] = 0x45          # DTL-AMOUNT's sign nibble in the first detail
open(sys.argv[2], "wb").write(b)
EOF
if "$FW" decode "$CB/CLAIMREC.cpy" ascii ibm "$FERRY_ROOT/tests/cobol/claims.jsonl" \
        "$d/bad.dat" > /dev/null 2> "$d/bad.err"; then
    fail "bad sign nibble" "decoded without error"
fi
grep -q "DTL-AMOUNT: offset 51: bad sign nibble 5 at +4" "$d/bad.err" \
    || fail "bad sign nibble" "$(cat "$d/bad.err")"
ok "decoder reports a bad sign nibble by field and offset"
echo "$CASES cases"
