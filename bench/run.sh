#!/bin/bash
# run.sh BUILD - run every benchmark, each printing "name value unit" lines
# with its same-run baseline and the ratio between them.
#
#   BUILD/bench/bench_*   compiled C benchmarks (Makefile)
#   bench/run.d/*.sh      benchmarks that start a peer (sshd, PostgreSQL,
#                         SOAP server) and stop it again
# BENCH=pattern limits the run.  Figures are ratios measured in one run,
# because the machine is shared and noisy.
set -u
BUILD=${1:-build/release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export FERRY_ROOT=$ROOT FERRY_BUILD=$ROOT/$BUILD FERRY_BIN=$ROOT/$BUILD/ferry
status=0
for b in "$BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    case "$(basename "$b")" in *${BENCH:-}*) ;; *) continue ;; esac
    echo "# $(basename "$b")"
    "$b" || { echo "# $(basename "$b") failed"; status=1; }
done
for s in bench/run.d/*.sh; do
    [ -f "$s" ] || continue
    case "$(basename "$s")" in *${BENCH:-}*) ;; *) continue ;; esac
    echo "# $(basename "$s" .sh)"
    bash "$s" || { echo "# $(basename "$s") failed"; status=1; }
done
exit $status
