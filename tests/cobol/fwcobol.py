#!/usr/bin/env python3
"""fwcobol.py - helpers for tests/integration/20_cobol_roundtrip.sh.

  fwcobol.py writer LAYOUT.json VALUES.jsonl COPYNAME FILE > W.cob
      a GnuCOBOL program that COPYs the copybook, MOVEs the values of each
      line of VALUES.jsonl into its 01 record and WRITEs it to FILE;
  fwcobol.py reader LAYOUT.json VALUES.jsonl COPYNAME FILE > R.cob
      a program that READs FILE and DISPLAYs every elementary field as
      FIELD=value (FIELD(01)=value in tables; numbers MOVEd (de-edited,
      for numeric-edited fields) to a signed DISPLAY item as wide as the
      copybook's widest, then DISPLAYed through PIC -9(i).9(f));
  fwcobol.py vwriter LAYOUT.json VALUES.jsonl COPYNAME FILE > W.cob
      the writer with a variable-length file (RECORD VARYING DEPENDING
      ON each record's LENGTH OF, so OCCURS DEPENDING ON sizes it): what
      GnuCOBOL writes is its own format (COB_VARSEQ_FORMAT 0: a 2-byte
      big-endian length of the data alone, 2 zero bytes), not an RDW;
  fwcobol.py vreader LAYOUT.json VALUES.jsonl COPYNAME FILE V|VB > R.cob
      the reader, reading FILE as a byte stream (CBL_OPEN_FILE,
      CBL_READ_FILE) and decoding the mainframe's descriptors itself:
      each record after its RDW (length including the RDW), in VB each
      block after its BDW;
  fwcobol.py varseq-to-rdw IN OUT
      GnuCOBOL's variable file as RECFM=V: each length plus 4;
  fwcobol.py slots LAYOUT.json VALUES.jsonl CODEPAGE to-ebcdic|to-ascii IN OUT
      convert the character bytes (PIC X/A, zoned DISPLAY numbers, FILLER,
      slack) between ASCII and the EBCDIC code page with iconv; the bytes
      of packed and binary fields (every occurrence, offsets from the
      copybook) are copied untouched;
  fwcobol.py compare VALUES.jsonl A.txt B.txt
      A and B (FIELD=value listings) agree field by field, and both hold
      every value in VALUES.jsonl.

LAYOUT.json is the `--json` listing of the copybook (fw_tool layout).
"""
import json
import re
import subprocess
import sys
from decimal import Decimal, InvalidOperation


def load(layout_path, values_path):
    layout = json.load(open(layout_path))
    recs = {r["name"]: r for r in layout["records"]}
    vals = [json.loads(l) for l in open(values_path) if l.strip()]
    return recs, vals


def elementary(rec):
    """(field, chain of table ancestors incl. self, in a REDEFINES view)"""
    by_name = {}
    out = []
    for f in rec["fields"]:
        by_name[f["name"]] = f
    kids = {}
    for f in rec["fields"]:
        kids.setdefault(f.get("parent"), []).append(f)
    for f in rec["fields"]:
        if f["level"] in (66, 88) or f["type"] == "group":
            continue
        chain, view, p = [], False, f
        while p is not None:
            if "occurs" in p:
                chain.insert(0, p)
            if "redefines" in p:
                view = True
            p = by_name.get(p.get("parent")) if p.get("parent") else None
        out.append((f, chain, view))
    return out


def cobol_lit(f, v):
    if f["type"] in ("alphanumeric", "alphabetic"):
        return "'" + v.replace("'", "''") + "'"
    return v


def emit(lines, s):
    lines.append("           " + s)


NUMERIC = ("zoned", "packed", "binary", "comp-5", "edited")


def widths(recs):
    """integer and fraction digits that hold every number of the layout"""
    i, f = 18, 2
    for rec in recs.values():
        for fld in rec["fields"]:
            if fld.get("type") in NUMERIC:
                d, sc = fld.get("digits", 1), fld.get("scale", 0)
                i = max(i, d - max(sc, 0) + max(-sc, 0))
                f = max(f, max(sc, 0))
    if i + f > 38:
        raise SystemExit("numbers wider than GnuCOBOL's 38 digits")
    return i, f


def currency(recs):
    """SPECIAL-NAMES for a layout whose edited pictures use the pound"""
    for rec in recs.values():
        for fld in rec["fields"]:
            if "\u00a3" in (fld.get("pic") or ""):
                return ['       CONFIGURATION SECTION.',
                        '       SPECIAL-NAMES.',
                        '           CURRENCY SIGN IS X"A3".']
    return []


def cobol_deedits(f):
    """GnuCOBOL 3.1's MOVE of a numeric-edited item to a number ignores a
    DB sign and takes insertion zeros (99B0099) for digits; the reader
    shows those fields' text instead ("raw:..."), and compare holds
    ferry's reading of them to VALUES.jsonl alone"""
    if f["type"] != "edited":
        return True
    symbols = re.sub(r"\([0-9]+\)", "", f.get("pic") or "")
    return "DB" not in symbols and "0" not in symbols


def program(kind, recs, vals, copyname, fname, blocked=False):
    maxlen = max(recs[v["record"]]["length"] for v in vals)
    wi, wf = widths(recs)
    vstream = kind == "vreader"
    varying = kind == "vwriter"
    kind = "writer" if varying else "reader" if vstream else kind
    fd = ["       FD  DATA-FILE" + ("" if not varying else
          "\n           RECORD IS VARYING IN SIZE FROM 1 TO %d CHARACTERS"
          "\n           DEPENDING ON WS-LEN" % maxlen) + ".",
          "       01  DATA-REC PIC X(%d)." % maxlen]
    files = ["       INPUT-OUTPUT SECTION.",
             "       FILE-CONTROL.",
             "           SELECT DATA-FILE ASSIGN TO \"%s\"" % fname,
             "               ORGANIZATION IS SEQUENTIAL."]
    stream = ["       01  WS-LEN   PIC 9(5) COMP-5.",
              "       01  WS-FNAME PIC X(256) VALUE \"%s\"." % fname,
              "       01  WS-HANDLE PIC X(4).",
              "       01  WS-MODE  PIC X COMP-X VALUE 1.",
              "       01  WS-DENY  PIC X COMP-X VALUE 0.",
              "       01  WS-DEV   PIC X COMP-X VALUE 0.",
              "       01  WS-FLAGS PIC X COMP-X VALUE 0.",
              "       01  WS-OFF   PIC X(8) COMP-X VALUE 0.",
              "       01  WS-CNT   PIC X(4) COMP-X.",
              "       01  WS-BLEFT PIC 9(5) COMP-5 VALUE 0.",
              "       01  WS-DW.",
              "           05  WS-DW-LEN  PIC 9(4) COMP.",
              "           05  WS-DW-ZERO PIC 9(4) COMP.",
              "       01  DATA-REC PIC X(%d)." % maxlen]
    L = ["       IDENTIFICATION DIVISION.",
         "       PROGRAM-ID. FW%s." % kind.upper(),
         "       ENVIRONMENT DIVISION."] + currency(recs) + \
        ([] if vstream else files) + [
         "       DATA DIVISION."] + \
        ([] if vstream else ["       FILE SECTION."] + fd) + [
         "       WORKING-STORAGE SECTION."] + \
        (stream if vstream else
         ["       01  WS-LEN   PIC 9(5) COMP-5."] if varying else []) + [
         "       01  WS-I     PIC 9(4) COMP.",
         "       01  WS-IX    PIC 99.",
         "       01  WS-NUM   PIC -9(%d).9(%d)." % (wi, wf),
         "       01  WS-DEC   PIC S9(%d)V9(%d)." % (wi, wf),
         "       COPY %s." % copyname,
         "       PROCEDURE DIVISION."]
    if vstream:
        emit(L, "CALL \"CBL_OPEN_FILE\" USING WS-FNAME WS-MODE WS-DENY")
        emit(L, "    WS-DEV WS-HANDLE")
        emit(L, "IF RETURN-CODE NOT = 0 DISPLAY \"# OPEN FAILED\" STOP RUN")
        emit(L, "END-IF")
    else:
        emit(L, "OPEN %s DATA-FILE" % ("OUTPUT" if kind == "writer" else "INPUT"))
    for line in vals:
        rec = recs[line["record"]]
        name, length = rec["name"], rec["length"]
        fields = {f["name"]: f for f in rec["fields"]}
        odo = [f for f in rec["fields"] if f.get("occurs", {}).get("depending_on")]
        if kind == "writer":
            emit(L, "INITIALIZE %s WITH FILLER ALL TO VALUE" % name)
            emit(L, "    THEN TO DEFAULT")
            for t in odo:
                cnt, mx = t["occurs"]["depending_on"], t["occurs"]["max"]
                emit(L, "MOVE %d TO %s" % (mx, cnt))
                emit(L, "PERFORM VARYING WS-I FROM 1 BY 1")
                emit(L, "        UNTIL WS-I > %d" % mx)
                emit(L, "    INITIALIZE %s(WS-I) WITH FILLER ALL TO VALUE" % t["name"])
                emit(L, "        THEN TO DEFAULT")
                emit(L, "END-PERFORM")
            for key, v in line["values"].items():
                f = fields[key]
                if isinstance(v, list):
                    for i, item in enumerate(v, 1):
                        for sk, sv in item.items():
                            emit(L, "MOVE %s" % cobol_lit(fields[sk], sv))
                            emit(L, "  TO %s(%d)" % (sk, i))
                    continue
                emit(L, "MOVE %s" % cobol_lit(f, v))
                emit(L, "  TO %s" % key)
            for t in odo:
                n = len(line["values"].get(t["name"], []))
                emit(L, "MOVE %d TO %s" % (n, t["occurs"]["depending_on"]))
            if varying:
                emit(L, "MOVE FUNCTION LENGTH(%s) TO WS-LEN" % name)
                emit(L, "MOVE %s(1:WS-LEN) TO DATA-REC" % name)
            else:
                emit(L, "MOVE %s(1:%d) TO DATA-REC" % (name, length))
            emit(L, "WRITE DATA-REC")
        else:
            if vstream:
                # the block descriptor, at the start of each block
                if blocked:
                    emit(L, "IF WS-BLEFT = 0")
                    emit(L, "    MOVE 4 TO WS-CNT")
                    emit(L, "    CALL \"CBL_READ_FILE\" USING WS-HANDLE WS-OFF")
                    emit(L, "        WS-CNT WS-FLAGS WS-DW")
                    emit(L, "    IF WS-DW-ZERO NOT = 0 OR WS-DW-LEN < 8")
                    emit(L, "        DISPLAY \"# BAD BDW\" STOP RUN")
                    emit(L, "    END-IF")
                    emit(L, "    ADD 4 TO WS-OFF")
                    emit(L, "    COMPUTE WS-BLEFT = WS-DW-LEN - 4")
                    emit(L, "END-IF")
                emit(L, "MOVE 4 TO WS-CNT")
                emit(L, "CALL \"CBL_READ_FILE\" USING WS-HANDLE WS-OFF WS-CNT")
                emit(L, "    WS-FLAGS WS-DW")
                emit(L, "IF WS-DW-ZERO NOT = 0 OR WS-DW-LEN < 5")
                emit(L, "    DISPLAY \"# BAD RDW\" STOP RUN")
                emit(L, "END-IF")
                emit(L, "ADD 4 TO WS-OFF")
                emit(L, "COMPUTE WS-LEN = WS-DW-LEN - 4")
                emit(L, "MOVE WS-LEN TO WS-CNT")
                emit(L, "CALL \"CBL_READ_FILE\" USING WS-HANDLE WS-OFF WS-CNT")
                emit(L, "    WS-FLAGS DATA-REC")
                emit(L, "ADD WS-LEN TO WS-OFF")
                if blocked:
                    emit(L, "SUBTRACT WS-DW-LEN FROM WS-BLEFT")
                emit(L, "MOVE DATA-REC(1:WS-LEN) TO %s(1:WS-LEN)" % name)
            else:
                emit(L, "READ DATA-FILE AT END DISPLAY \"# EOF\" END-READ")
                emit(L, "MOVE DATA-REC(1:%d) TO %s(1:%d)" % (length, name, length))
            emit(L, "DISPLAY \"# %s\"" % name)
            for f, chain, view in elementary(rec):
                if f["name"] == "FILLER":
                    continue
                num = f["type"] in NUMERIC
                ref = f["name"] + ("(WS-I)" if chain else "")
                if chain:
                    if len(chain) > 1:
                        raise SystemExit("nested tables not generated")
                    t = chain[0]
                    lim = t["occurs"].get("depending_on") or str(t["occurs"]["max"])
                    emit(L, "PERFORM VARYING WS-I FROM 1 BY 1")
                    emit(L, "        UNTIL WS-I > %s" % lim)
                    emit(L, "    MOVE WS-I TO WS-IX")
                key = '"%s(" WS-IX ")="' % f["name"] if chain else '"%s="' % f["name"]
                if num and not cobol_deedits(f):
                    emit(L, "    DISPLAY %s \"raw:\"" % key)
                    emit(L, "        %s" % ref)
                elif num:
                    emit(L, "    MOVE %s TO WS-DEC" % ref)
                    emit(L, "    MOVE WS-DEC TO WS-NUM")
                    emit(L, "    DISPLAY %s WS-NUM" % key)
                else:
                    emit(L, "    DISPLAY %s" % key)
                    emit(L, "        %s" % ref)
                if chain:
                    emit(L, "END-PERFORM")
    if vstream:
        emit(L, "CALL \"CBL_CLOSE_FILE\" USING WS-HANDLE")
    else:
        emit(L, "CLOSE DATA-FILE")
    emit(L, "STOP RUN.")
    return "\n".join(L) + "\n"


def iconv_table(cp):
    src = bytes(range(0x20, 0x7F))
    out = subprocess.run(["iconv", "-f", "ASCII", "-t", cp], input=src,
                         capture_output=True, check=True).stdout
    assert len(out) == len(src), "code page table"
    table = dict(zip(src, out))
    # the pound sign of edited pictures: GnuCOBOL writes Latin-1 A3
    pound = subprocess.run(["iconv", "-f", "UTF-8", "-t", cp],
                           input="\u00a3".encode(), capture_output=True)
    if pound.returncode == 0 and len(pound.stdout) == 1:
        table[0xA3] = pound.stdout[0]
    return table


def slots(recs, vals, cp, direction, src, dst):
    """convert every byte except those of packed and binary fields"""
    a2e = iconv_table(cp)
    table = a2e if direction == "to-ebcdic" else {v: k for k, v in a2e.items()}
    data = bytearray(open(src, "rb").read())
    pos = 0
    for line in vals:
        rec = recs[line["record"]]
        binary = set()
        for f, chain, view in elementary(rec):
            if view or f.get("usage") in (None, "DISPLAY"):
                continue
            offs = [f["offset"]]
            for t in chain:
                step = t["length"]
                offs = [o + i * step for o in offs for i in range(t["occurs"]["max"])]
            for o in offs:
                binary.update(range(o, o + f["length"]))
        for k in range(rec["length"]):
            if k in binary:
                continue
            b = data[pos + k]
            if b not in table:
                raise SystemExit("byte 0x%02X at %d is not text" % (b, pos + k))
            data[pos + k] = table[b]
        pos += rec["length"]
    open(dst, "wb").write(bytes(data))


def parse_listing(path):
    recs, cur = [], None
    for line in open(path, encoding="latin-1"):
        line = line.rstrip("\n")
        if line.startswith("# "):
            cur = {}
            recs.append((line[2:].strip(), cur))
        elif "=" in line and cur is not None:
            k, v = line.split("=", 1)
            cur[k.strip()] = v
    return recs


def same(a, b):
    try:
        return Decimal(a.strip()) == Decimal(b.strip())
    except InvalidOperation:
        return a.strip() == b.strip()


def compare(vals, pa, pb):
    A, B = parse_listing(pa), parse_listing(pb)
    bad = 0
    if len(A) != len(B) or len(A) != len(vals):
        print("record counts differ: %d %d %d" % (len(A), len(B), len(vals)))
        return 1
    for i, ((na, ra), (nb, rb), want) in enumerate(zip(A, B, vals)):
        if na != nb or na != want["record"]:
            print("record %d: %s / %s / %s" % (i + 1, na, nb, want["record"]))
            bad += 1
        for k in sorted(set(ra) | set(rb)):
            if ra.get(k, "").startswith("raw:") and k in rb:
                continue          # held to VALUES.jsonl below, through rb
            if k not in ra or k not in rb or not same(ra[k], rb[k]):
                print("record %d %s: %r vs %r" % (i + 1, k, ra.get(k), rb.get(k)))
                bad += 1
        for k, v in want["values"].items():
            items = v if isinstance(v, list) else [{k: v}]
            for j, item in enumerate(items, 1):
                for sk, sv in item.items():
                    key = "%s(%02d)" % (sk, j) if isinstance(v, list) else sk
                    got = ra.get(key)
                    if got is not None and got.startswith("raw:"):
                        got = rb.get(key)
                    if got is None or not same(got, sv):
                        print("record %d %s: want %r, got %r" % (i + 1, key, sv, got))
                        bad += 1
    return 1 if bad else 0


def main(argv):
    cmd = argv[1]
    if cmd in ("writer", "reader", "vwriter", "vreader"):
        recs, vals = load(argv[2], argv[3])
        blocked = len(argv) > 6 and argv[6].startswith("VB")
        sys.stdout.write(program(cmd, recs, vals, argv[4], argv[5], blocked))
        return 0
    if cmd == "varseq-to-rdw":
        data, out, pos = open(argv[2], "rb").read(), bytearray(), 0
        while pos < len(data):
            n = data[pos] << 8 | data[pos + 1]
            if data[pos + 2:pos + 4] != b"\0\0":
                raise SystemExit("offset %d: not COB_VARSEQ_FORMAT 0" % pos)
            out += bytes([(n + 4) >> 8, (n + 4) & 0xFF, 0, 0])
            out += data[pos + 4:pos + 4 + n]
            pos += 4 + n
        open(argv[3], "wb").write(bytes(out))
        return 0
    if cmd == "slots":
        recs, vals = load(argv[2], argv[3])
        slots(recs, vals, argv[4], argv[5], argv[6], argv[7])
        return 0
    if cmd == "compare":
        vals = [json.loads(l) for l in open(argv[2]) if l.strip()]
        return compare(vals, argv[3], argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
