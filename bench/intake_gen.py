#!/usr/bin/env python3
"""intake_gen.py - deterministic input for bench/run.d/submit.sh.

Usage: intake_gen.py ndjson|csv N OUT

ndjson: N GOV.UK Forms-style "heating cost refund" submissions of about
1 KB each, one per line, valid for examples/mappings/refund-claim.xml,
each with its own submission_reference; csv: the same N claims as the
assisted-digital CSV that `ferry import` takes.  The values vary with
the line number only (no randomness), so every run reads the same bytes."""
import json
import sys

FORENAMES = ["Siân", "Gwenllïan", "Margaret", "Hywel", "Aled", "Ffion",
             "Rhys", "Catrin", "Dafydd", "Eleri"]
SURNAMES = ["Jones", "Llewellyn-Davies", "Thomas", "Pritchard", "Evans",
            "Hughes", "Roberts", "Price", "Morgan", "Williams"]
TOWNS = ["Caerdydd", "Abertawe", "Casnewydd", "Wrecsam", "Bangor"]
POSTCODES = ["cf10 1ep", "SA1 1AA", "NP20 1GA", "LL57 2DG", "SA31 1AA"]
TYPES = ["Cold weather", "Warm home", "Council tax"]
NINO_A = "ABCEGHJKLMNPRSTWXYZ"
NINO_B = "ABCEGHJKLMNPRSTWXYZ"


def nino_prefix(i):
    """two letters HMRC issues (none of the never-issued pairs)"""
    k = i
    while True:
        p = NINO_A[k % 19] + NINO_B[(k // 19) % 19]
        if p not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            return p
        k += 1


def claim(i):
    pence = [25000 + i % 997, 11237 + i % 313, 5000 + i % 101]
    total = sum(pence)
    money = lambda p: "%d.%02d" % (p // 100, p % 100)
    return {
        "ref": "HCR%09d" % i,
        "at": "2026-07-%02dT%02d:%02d:03.512Z" % (1 + i % 28, i % 24, i % 60),
        "first": " %s " % FORENAMES[i % len(FORENAMES)],
        "last": SURNAMES[(i // 10) % len(SURNAMES)],
        "nino": "%s %02d %02d %02d %s" % (nino_prefix(i),
                                            i % 100, (i // 100) % 100,
                                            (i // 10000) % 100, "ABCD"[i % 4]),
        "dob": "%02d/%02d/%04d" % (1 + i % 28, 1 + i % 12, 1930 + i % 70),
        "addr": "Flat %d, %d Heol y Frenhines" % (1 + i % 9, 1 + i % 200),
        "town": TOWNS[i % len(TOWNS)],
        "postcode": POSTCODES[i % len(POSTCODES)],
        "type": TYPES[i % len(TYPES)],
        "amount": money(total),
        "items": [("GS", money(pence[0])), ("EL", money(pence[1])),
                  ("OL", money(pence[2]))],
        "sort": "%02d %02d %02d" % (30 + i % 60, i % 100, (i // 100) % 100),
        "account": "%08d" % (10000000 + i),
    }


def ndjson(c):
    d = {"form_id": "apply-for-a-heating-cost-refund",
         "form_version": "2026-10-01",
         "submission_reference": c["ref"],
         "submitted_at": c["at"],
         "answers": [
             {"question_id": 1, "question_text": "What is your name?",
              "first_name": c["first"], "last_name": c["last"]},
             {"question_id": 2,
              "question_text": "What is your National Insurance number?",
              "answer_text": c["nino"]},
             {"question_id": 3, "question_text": "What is your date of birth?",
              "answer_text": c["dob"]},
             {"question_id": 4, "question_text": "What is your address?",
              "address1": c["addr"], "town": c["town"],
              "postcode": c["postcode"]},
             {"question_id": 5, "question_text": "What are you claiming for?",
              "answer_text": c["type"]},
             {"question_id": 6, "question_text": "How much are you claiming?",
              "answer_text": c["amount"]},
             {"question_id": 7, "question_text": "What did you pay for?",
              "items": [{"code": k, "amount": a} for k, a in c["items"]]},
             {"question_id": 8,
              "question_text": "Which account should we pay?",
              "sort_code": c["sort"], "account_number": c["account"]}]}
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def csv_row(c):
    cells = [c["ref"], c["at"], c["first"].strip(), c["last"], c["nino"],
             c["dob"], c["postcode"].upper(), c["type"], c["amount"],
             c["sort"].replace(" ", ""), c["account"]]
    return ",".join('"%s"' % x.replace('"', '""') if ("," in x or '"' in x)
                    else x for x in cells)


def main():
    kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        if kind == "csv":
            f.write("form_ref,submitted_at,forename,surname,nino,dob,postcode,"
                    "claim_type,amount,sort_code,account_no\n")
            for i in range(n):
                f.write(csv_row(claim(i)) + "\n")
        else:
            for i in range(n):
                f.write(ndjson(claim(i)) + "\n")


if __name__ == "__main__":
    main()
