#!/usr/bin/env python3
"""encode_baseline.py - the Python 3 baseline for bench_encode: the same
GOV.UK Forms-style submission mapped and packed by hand into the same
150-byte record (IBM-285 text, COMP-3, zoned), with json and exact
integer arithmetic (no floats).  Prints "encode_python_rate N records/s".

IBM-285 is not among Python's codecs, so its table for printable ASCII
is taken from iconv once, before timing."""
import json
import subprocess
import sys
import time

PRINTABLE = bytes(range(0x20, 0x7F))
E285 = subprocess.run(["iconv", "-f", "ASCII", "-t", "IBM285"],
                      input=PRINTABLE, capture_output=True, check=True).stdout
TABLE = {c: E285[i] for i, c in enumerate(PRINTABLE)}
SPACE = TABLE[0x20]


def text(s, n):
    b = s.encode("ascii")
    if len(b) > n:
        raise ValueError("too long")
    return bytes(TABLE[c] for c in b) + bytes([SPACE]) * (n - len(b))


def scaled(s, scale):
    neg = s.startswith("-")
    s = s.lstrip("+-")
    whole, _, frac = s.partition(".")
    if len(frac) > scale:
        raise ValueError("too many places")
    v = int(whole or "0") * 10 ** scale + int((frac + "0" * scale)[:scale] or "0")
    return -v if neg else v


def zoned(v, digits, signed):
    neg = v < 0
    d = str(abs(v)).rjust(digits, "0")
    if len(d) > digits:
        raise ValueError("overflow")
    out = bytearray(0xF0 | int(c) for c in d)
    if signed:
        out[-1] = (0xD0 if neg else 0xC0) | (out[-1] & 0x0F)
    return bytes(out)


def comp3(v, digits):
    neg = v < 0
    d = str(abs(v))
    if len(d) > digits:
        raise ValueError("overflow")
    nbytes = digits // 2 + 1
    d = d.rjust(nbytes * 2 - 1, "0")
    nib = [int(c) for c in d] + [0xD if neg else 0xC]
    return bytes(nib[i] << 4 | nib[i + 1] for i in range(0, len(nib), 2))


def encode(raw):
    sub = json.loads(raw)
    a = {x["question_id"]: x["answer_text"] for x in sub["answers"]}
    sub_date = sub["submitted_at"][:10].replace("-", "")
    dob = a[3].replace("-", "")
    rec = b"".join([
        text("A", 1),
        text(sub["submission_reference"], 12),
        zoned(int(sub_date), 8, False),
        text(a[1], 30),
        text(a[2], 20),
        text(a[4], 8),
        zoned(int(dob), 8, False),
        comp3(scaled(a[5], 2), 11),
        comp3(scaled(a[6], 2), 9),
        zoned(scaled(a[7], 0), 2, False),
        zoned(scaled(a[8], 1), 4, True),
        text(a[9], 9),
        text(a[10], 35),
        text("", 2),
    ])
    assert len(rec) == 150
    return rec


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/data/submission.json"
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    raw = open(path).read()
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
