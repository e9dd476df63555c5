#!/usr/bin/env python3
"""encode_baseline.py - the Python 3 baseline for bench_encode: the same
job done the straightforward way.  A GOV.UK Forms-style refund claim is
read with json, validated and transformed as examples/mappings/
refund-claim.xml says (selectors by question_id, trim, fold, upper,
strip-spaces, patterns, lengths, DD/MM/YYYY dates, the enum code table,
exact decimals and their ranges, the items list), then packed by hand into
the 150-byte CLAIM-DETAIL record of examples/copybooks/CLAIMREC.cpy:
IBM-285 text, COMP-3 amounts, zoned numbers, the OCCURS 3 item table and
its count, and the received date in Europe/London time.  Exact integer
arithmetic, no floats.

Usage: encode_baseline.py [SUBMISSION.json [SECONDS]]
Prints "# record HEX" (bench/run.d/encode.sh checks it equals ferry's
record) and "encode_python_rate N records/s".

IBM-285 is not among Python's codecs, so its table for printable ASCII is
taken from iconv once, before timing."""
import datetime
import json
import re
import subprocess
import sys
import time
import unicodedata
import zoneinfo

PRINTABLE = bytes(range(0x20, 0x7F))
E285 = subprocess.run(["iconv", "-f", "ASCII", "-t", "IBM285"],
                      input=PRINTABLE, capture_output=True, check=True).stdout
TABLE = {c: E285[i] for i, c in enumerate(PRINTABLE)}
SPACE = TABLE[0x20]
LONDON = zoneinfo.ZoneInfo("Europe/London")
REFERENCE = "FRY-20260728-000042"   # the same "$reference" as bench_encode

RE_FORM_REF = re.compile(r"^[A-Z0-9]{8,12}$")
RE_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")
RE_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
RE_CODE = re.compile(r"^[A-Z]{2}$")
RE_SORT = re.compile(r"^[0-9]{6}$")
RE_ACCOUNT = re.compile(r"^[0-9]{8}$")
RE_DECIMAL = re.compile(r"^[+-]?([0-9]+)(?:\.([0-9]*))?$")
CLAIM_TYPES = {"Cold weather": "CW", "Warm home": "WH", "Council tax": "CT"}
DOB_MIN = datetime.date(1900, 1, 1)
DOB_MAX = datetime.date(2010, 12, 31)


class Invalid(ValueError):
    pass


def select(answers, qid):
    for a in answers:
        if a.get("question_id") == qid:
            return a
    return {}


def fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s)
                   if not unicodedata.combining(c))


def need(v, name):
    if v is None or v == "":
        raise Invalid(name + ": required field missing")
    return v


def decimal(s, scale, lo, hi, name):
    m = RE_DECIMAL.match(s)
    if not m or len(m.group(2) or "") > scale:
        raise Invalid(name + ": not a decimal number")
    frac = (m.group(2) or "").ljust(scale, "0")
    v = int(m.group(1)) * 10 ** scale + int(frac or "0")
    if s.startswith("-"):
        v = -v
    if v < lo or v > hi:
        raise Invalid(name + ": out of range")
    return v


def text(s, n):
    b = s.encode("ascii")
    if len(b) > n:
        raise Invalid("too long")
    return bytes(TABLE[c] for c in b) + bytes([SPACE]) * (n - len(b))


def zoned(v, digits):
    d = str(v)
    if v < 0 or len(d) > digits:
        raise Invalid("overflow")
    return bytes(0xF0 | int(c) for c in d.rjust(digits, "0"))


def comp3(v, digits):
    neg = v < 0
    d = str(abs(v))
    if len(d) > digits:
        raise Invalid("overflow")
    nbytes = digits // 2 + 1
    d = d.rjust(nbytes * 2 - 1, "0")
    nib = [int(c) for c in d] + [0xD if neg else 0xC]
    return bytes(nib[i] << 4 | nib[i + 1] for i in range(0, len(nib), 2))


def encode(raw):
    sub = json.loads(raw)
    answers = sub["answers"]
    form_ref = need(sub.get("submission_reference"), "form_ref")
    if not RE_FORM_REF.match(form_ref):
        raise Invalid("form_ref: pattern")
    at = datetime.datetime.fromisoformat(
        need(sub.get("submitted_at"), "submitted_at").replace("Z", "+00:00"))
    name = select(answers, 1)
    forename = fold(need(name.get("first_name", "").strip(), "forename")).upper()
    surname = fold(need(name.get("last_name", "").strip(), "surname")).upper()
    if len(forename) > 15 or len(surname) > 20:
        raise Invalid("name: too long")
    nino = "".join(need(select(answers, 2).get("answer_text"), "nino").split()).upper()
    if not RE_NINO.match(nino):
        raise Invalid("nino: pattern")
    d, mo, y = need(select(answers, 3).get("answer_text"), "dob").split("/")
    dob = datetime.date(int(y), int(mo), int(d))
    if not DOB_MIN <= dob <= DOB_MAX:
        raise Invalid("dob: out of range")
    postcode = need(select(answers, 4).get("postcode", "").strip().upper(), "postcode")
    if len(postcode) > 8 or not RE_POSTCODE.match(postcode):
        raise Invalid("postcode: pattern")
    claim_type = CLAIM_TYPES[need(select(answers, 5).get("answer_text"), "claim_type")]
    amount = decimal(need(select(answers, 6).get("answer_text"), "amount"),
                     2, 1, 999999, "amount")
    items = []
    for it in select(answers, 7).get("items") or []:
        code = need(it.get("code"), "items.code")
        if not RE_CODE.match(code):
            raise Invalid("items.code: pattern")
        items.append((code, decimal(need(it.get("amount"), "items.amount"),
                                    2, 0, 9999999, "items.amount")))
    if len(items) > 3:
        raise Invalid("items: the table holds 3")
    bank = select(answers, 8)
    sort_code = "".join(need(bank.get("sort_code"), "sort_code").split())
    account = need(bank.get("account_number"), "account_no")
    if not RE_SORT.match(sort_code) or not RE_ACCOUNT.match(account):
        raise Invalid("bank details: pattern")
    local = at.astimezone(LONDON)

    table = b"".join(text(c, 2) + comp3(a, 7) for c, a in items)
    table += (text("", 2) + comp3(0, 7)) * (3 - len(items))
    rec = b"".join([
        text("D", 1),
        text(REFERENCE, 20),
        text(form_ref, 12),
        text(nino, 9),
        text(surname, 20),
        text(forename, 15),
        zoned(dob.year * 10000 + dob.month * 100 + dob.day, 8),
        text(postcode, 8),
        text(claim_type, 2),
        comp3(amount, 9),
        zoned(local.year * 10000 + local.month * 100 + local.day, 8),
        zoned(len(items), 1),
        table,
        zoned(int(sort_code), 6),
        zoned(int(account), 8),
        text("", 9),
    ])
    assert len(rec) == 150
    return rec


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/data/refund-claim.json"
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    with open(path, "rb") as f:
        raw = f.read()
    print("# record " + encode(raw).hex().upper())
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(1000):
            encode(raw)
        n += 1000
        t = time.perf_counter() - t0
        if t >= secs:
            break
    print("encode_python_rate %.0f records/s" % (n / t))


if __name__ == "__main__":
    main()
