#!/usr/bin/env python3
"""submit_baseline.py - the Python 3 baseline for `ferry submit`: the same
intake done the straightforward way, for bench/run.d/submit.sh.

Each NDJSON line of the input is parsed with json, checked and mapped as
examples/mappings/refund-claim.xml says (selectors by question_id, trim,
fold, upper, strip-spaces, the postcode rule, patterns, lengths, the
never-issued NINO prefixes, DD/MM/YYYY dates and their range, the enum
code table, exact decimals with decimal.Decimal and their ranges, the
items list), and the mapped record is made canonical JSON.  Valid ones
are stored in SQLite (WAL, synchronous=FULL), 1,000 per transaction, as
ferry's ledger keeps them: the idempotency check (service + front-end
reference), a FRY-YYYYMMDD-NNNNNN reference, a random delivery identity,
the payload and the record, and a keyed hash (HMAC-SHA256) per searchable
value.  Refused lines are counted.

With a .csv FILE it does what `ferry import` does instead: each row of
the assisted-digital CSV (header naming the mapping's fields) through the
same checks, the row kept as a JSON object of its columns.

Usage: submit_baseline.py FILE.ndjson|FILE.csv DB
Prints "submit_python_rate N records/s" and the counts."""
import csv
import datetime
import decimal
import hashlib
import hmac
import json
import os
import re
import sqlite3
import sys
import time
import unicodedata

RE_FORM_REF = re.compile(r"^[A-Z0-9]{8,12}$")
RE_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")
RE_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
RE_CODE = re.compile(r"^[A-Z]{2}$")
RE_SORT = re.compile(r"^[0-9]{6}$")
RE_ACCOUNT = re.compile(r"^[0-9]{8}$")
RE_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]*)?$")
NEVER_ISSUED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
CLAIM_TYPES = {"Cold weather": "CW", "Warm home": "WH", "Council tax": "CT"}
DOB_MIN = datetime.date(1900, 1, 1)
DOB_MAX = datetime.date(2010, 12, 31)
CENT = decimal.Decimal("0.01")


class Invalid(ValueError):
    pass


def select(answers, qid):
    for a in answers:
        if isinstance(a, dict) and a.get("question_id") == qid:
            return a
    return {}


def fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s)
                   if not unicodedata.combining(c))


def need(v, name):
    if v is None or v == "":
        raise Invalid(name + ": required field missing")
    if not isinstance(v, str):
        raise Invalid(name + ": not a string")
    return v


def money(s, lo, hi, name):
    if not RE_DECIMAL.match(s):
        raise Invalid(name + ": not a decimal number")
    v = decimal.Decimal(s)
    if v != v.quantize(CENT):
        raise Invalid(name + ": more than 2 decimal places")
    if v < lo or v > hi:
        raise Invalid(name + ": out of range")
    return v.quantize(CENT)


def postcode_rule(s):
    s = "".join(s.split()).upper()
    return s[:-3] + " " + s[-3:] if len(s) > 3 else s


def field(t, v, personal=False):
    f = {"t": t, "v": v}
    if t == "decimal":
        f["s"] = 2
    if personal:
        f["p"] = True
    return f


def row_doc(row):
    """a CSV row (a dict by header) as the document map_claim reads: the
    mapping's fields by name, as `ferry import` applies them"""
    g = lambda k: row.get(k) or None
    return {"submission_reference": g("form_ref"),
            "submitted_at": g("submitted_at"),
            "answers": [
                {"question_id": 1, "first_name": g("forename"),
                 "last_name": g("surname")},
                {"question_id": 2, "answer_text": g("nino")},
                {"question_id": 3, "answer_text": g("dob")},
                {"question_id": 4, "postcode": g("postcode")},
                {"question_id": 5, "answer_text": g("claim_type")},
                {"question_id": 6, "answer_text": g("amount")},
                {"question_id": 8, "sort_code": g("sort_code"),
                 "account_number": g("account_no")}]}


def map_claim(sub):
    """the mapped record (a dict of typed fields) or Invalid"""
    if not isinstance(sub, dict):
        raise Invalid("not an object")
    answers = sub.get("answers") or []
    form_ref = need(sub.get("submission_reference"), "form_ref")
    if not RE_FORM_REF.match(form_ref):
        raise Invalid("form_ref: pattern")
    at = datetime.datetime.fromisoformat(
        need(sub.get("submitted_at"), "submitted_at").replace("Z", "+00:00"))
    at = at.astimezone(datetime.timezone.utc)
    name = select(answers, 1)
    forename = " ".join(need(name.get("first_name"), "forename").split())
    forename = fold(forename).upper()
    surname = fold(need(name.get("last_name"), "surname").strip()).upper()
    if len(forename) > 15 or len(surname) > 20:
        raise Invalid("name: too long")
    nino = "".join(need(select(answers, 2).get("answer_text"), "nino").split()).upper()
    if not RE_NINO.match(nino) or nino[:2] in NEVER_ISSUED:
        raise Invalid("nino: pattern")
    d, mo, y = need(select(answers, 3).get("answer_text"), "dob").split("/")
    dob = datetime.date(int(y), int(mo), int(d))
    if not DOB_MIN <= dob <= DOB_MAX:
        raise Invalid("dob: out of range")
    postcode = postcode_rule(need(select(answers, 4).get("postcode"), "postcode"))
    if len(postcode) > 8 or not RE_POSTCODE.match(postcode):
        raise Invalid("postcode: pattern")
    claim_type = CLAIM_TYPES.get(need(select(answers, 5).get("answer_text"),
                                      "claim_type"))
    if not claim_type:
        raise Invalid("claim_type: not one of the codes")
    amount = money(need(select(answers, 6).get("answer_text"), "amount"),
                   CENT, decimal.Decimal("9999.99"), "amount")
    items = []
    for it in select(answers, 7).get("items") or []:
        code = need(it.get("code"), "items.code")
        if not RE_CODE.match(code):
            raise Invalid("items.code: pattern")
        amt = money(need(it.get("amount"), "items.amount"),
                    decimal.Decimal("0.00"), decimal.Decimal("99999.99"),
                    "items.amount")
        items.append({"code": field("string", code),
                      "amount": field("decimal", str(amt))})
    bank = select(answers, 8)
    sort_code = "".join(need(bank.get("sort_code"), "sort_code").split())
    account = need(bank.get("account_number"), "account_no")
    if not RE_SORT.match(sort_code) or not RE_ACCOUNT.match(account):
        raise Invalid("bank details: pattern")
    return {
        "form_ref": field("string", form_ref),
        "submitted_at": field("datetime", at.strftime("%Y-%m-%dT%H:%M:%S.")
                              + "%03dZ" % (at.microsecond // 1000)),
        "forename": field("string", forename, True),
        "surname": field("string", surname, True),
        "nino": field("string", nino, True),
        "dob": field("date", dob.isoformat(), True),
        "postcode": field("string", postcode),
        "claim_type": field("enum", claim_type),
        "amount": field("decimal", str(amount)),
        "items": {"t": "list", "items": items},
        "sort_code": field("string", sort_code, True),
        "account_no": field("string", account, True),
    }


SCHEMA = """
CREATE TABLE IF NOT EXISTS records(id INTEGER PRIMARY KEY, ref TEXT UNIQUE,
  service TEXT, fe_ref TEXT, idem_key TEXT, received_at INTEGER,
  state TEXT, delivery_id TEXT, channel TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS records_idem ON records(service, idem_key);
CREATE TABLE IF NOT EXISTS record_data(id INTEGER PRIMARY KEY, payload BLOB,
  record_json TEXT);
CREATE TABLE IF NOT EXISTS search(hash BLOB, record_id INTEGER,
  PRIMARY KEY(hash, record_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sequences(name TEXT PRIMARY KEY, value INTEGER);
"""


def main():
    path, dbpath = sys.argv[1], sys.argv[2]
    key = os.urandom(32)
    db = sqlite3.connect(dbpath, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    accepted = refused = dups = 0
    seq = 0
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    t0 = time.perf_counter()

    def store(batch):
        nonlocal accepted, dups, seq
        db.execute("BEGIN")
        now = int(time.time() * 1000)
        for raw, rec in batch:
            fe = rec["form_ref"]["v"]
            if db.execute("SELECT ref FROM records WHERE service=? AND "
                          "idem_key=?", ("refund-claim", fe)).fetchone():
                dups += 1
                continue
            seq += 1
            ref = "FRY-%s-%06d" % (day, seq)
            cur = db.execute(
                "INSERT INTO records(ref, service, fe_ref, idem_key, "
                "received_at, state, delivery_id, channel) "
                "VALUES(?,?,?,?,?,?,?,?)",
                (ref, "refund-claim", fe, fe, now, "queued",
                 os.urandom(16).hex(), "cli"))
            rid = cur.lastrowid
            db.execute("INSERT INTO record_data VALUES(?,?,?)",
                       (rid, raw, json.dumps(rec, separators=(",", ":"))))
            for index, value in (
                    ("nino", rec["nino"]["v"]),
                    ("postcode", rec["postcode"]["v"]),
                    ("surname-dob", rec["surname"]["v"] + "\0"
                     + rec["dob"]["v"])):
                h = hmac.new(key, ("refund-claim\0%s\0%s" % (index, value))
                             .encode(), hashlib.sha256).digest()
                db.execute("INSERT OR IGNORE INTO search VALUES(?,?)",
                           (h, rid))
            accepted += 1
        db.execute("INSERT INTO sequences VALUES(?,?) ON CONFLICT(name) "
                   "DO UPDATE SET value=excluded.value", ("ref:" + day, seq))
        db.execute("COMMIT")

    batch = []
    if path.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                try:
                    rec = map_claim(row_doc(row))
                except (Invalid, ValueError, KeyError, TypeError,
                        AttributeError):
                    refused += 1
                    continue
                batch.append((json.dumps(row, ensure_ascii=False,
                                         separators=(",", ":")).encode(), rec))
                if len(batch) == 1000:
                    store(batch)
                    batch = []
    with open(path, "rb") as f:
        for line in f if not path.endswith(".csv") else ():
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                rec = map_claim(json.loads(line))
            except (Invalid, ValueError, KeyError, TypeError, AttributeError):
                refused += 1
                continue
            batch.append((line, rec))
            if len(batch) == 1000:
                store(batch)
                batch = []
    if batch:
        store(batch)
    t = time.perf_counter() - t0
    db.close()
    print("submit_python_records %d accepted, %d duplicates, %d refused"
          % (accepted, dups, refused))
    print("submit_python_rate %.0f records/s" % ((accepted + dups + refused) / t))


if __name__ == "__main__":
    main()
