#!/bin/bash
# mainframe-ack.sh DROP_FILE ACK_FILE - play the claims mainframe for the
# demo: read the batch file ferry sent (IBM-285, RECFM=FB, 150-byte
# records), accept every claim except two, and write the acknowledgement
# file the CLAIMACK copybook describes (IBM-285, RECFM=FB, 80 bytes).
# The tests use a real GnuCOBOL program for this; the demo keeps to shell.
set -euo pipefail
in=$1 out=$2
n=$(( $(stat -c %s "$in") / 150 ))
tmp=$(mktemp)
acc=0 rej=0 det=0
for i in $(seq 2 $((n - 1))); do            # skip header and trailer
    ref=$(dd if="$in" bs=150 skip=$((i - 1)) count=1 status=none |
          iconv -f IBM285 -t UTF-8 2>/dev/null | cut -c2-21 || true)
    det=$((det + 1))
    case $det in
        2) st=R code=E01 text="NI NUMBER NOT RECOGNISED"; rej=$((rej+1)); case_no=0 ;;
        5) st=R code=E07 text="BANK DETAILS FAILED VALIDATION"; rej=$((rej+1)); case_no=0 ;;
        *) st=A code="   " text=""; acc=$((acc+1)); case_no=$((400000000 + det)) ;;
    esac
    printf 'D%-20.20s%s%-3.3s%-40.40s%09d%6s' "$ref" "$st" "$code" "$text" "$case_no" "" >> "$tmp"
done
printf 'T%07d%07d%07d%58s' "$det" "$acc" "$rej" "" >> "$tmp"
iconv -f UTF-8 -t IBM285 "$tmp" > "$out.part"
mv "$out.part" "$out"
rm -f "$tmp"
echo "mainframe: $det claims read, $acc accepted, $rej rejected -> $(basename "$out")"
