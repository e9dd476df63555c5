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
         CLAIMADR:claimadr \
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
