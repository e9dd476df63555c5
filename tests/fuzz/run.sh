#!/bin/bash
# run.sh - build every tests/fuzz/fuzz_*.c with libFuzzer and run each for
# a bounded time (FUZZ_SECONDS, default 30).
#
# Each target names the library sources it needs on a comment line
#   // fuzz-sources: mappings/csv.c util/errs.c ...
# (globs allowed; "gen:schemas" stands for the embedded XSDs that
# tools/embed.sh generates, as the Makefile does) and may name seed folders
# (every file below them is copied in):
#   // fuzz-corpus: tests/data/copybooks ...
# A target may name leak suppressions for a library it drives (one
# LeakSanitizer pattern a line, with the reason beside it in the target):
#   // fuzz-lsan: leak:libssh2.so.1
# Crashes are kept in build/fuzz/<name>/ and make the run fail.  Each PASS
# line gives the executions and the coverage (libFuzzer's cov) reached.
# FUZZ=pattern limits the run to matching targets.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CC=${FUZZ_CC:-clang}
SECS=${FUZZ_SECONDS:-30}
OUT=build/fuzz
PKGS="jansson libxml-2.0 libcurl libmicrohttpd libssh2 odbc sqlite3 openssl gpgme"
CFLAGS="-std=c11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer -DFUZZ_ROOT=\"$ROOT\" \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 $(pkg-config --cflags $PKGS 2>/dev/null)"
LIBS="$(pkg-config --libs $PKGS 2>/dev/null) -lm -pthread"
command -v "$CC" >/dev/null || { echo "fuzz: $CC not installed"; exit 1; }
status=0
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    case "$name" in *${FUZZ:-}*) ;; *) continue ;; esac
    srcs=""
    for w in $(sed -n 's|^// *fuzz-sources: *||p' "$src" | tr '\n' ' '); do
        if [ "$w" = gen:schemas ]; then
            mkdir -p "$OUT/gen"
            # shellcheck disable=SC2046
            tools/embed.sh "$OUT/gen/schemas.c" $(ls config/*.xsd | sort) \
                || { echo "fuzz: embed.sh failed"; exit 1; }
            w=$OUT/gen/schemas.c
        fi
        srcs="$srcs $w"
    done
    seeds=$(sed -n 's|^// *fuzz-corpus: *||p' "$src" | tr '\n' ' ')
    dir=$OUT/$name
    mkdir -p "$dir/corpus"
    for s in $seeds; do
        [ -e "$s" ] && find "$s" -type f -size -64k -exec sh -c \
            'for f; do cp "$f" "$0/$(echo "$f" | tr / _)"; done' "$dir/corpus" {} +
    done
    echo "# $name: build"
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS -o "$dir/$name" "$src" $srcs $LIBS; then
        echo "FAIL  $name (build)"; status=1; continue
    fi
    sed -n 's|^// *fuzz-lsan: *||p' "$src" > "$dir/lsan.supp"
    echo "# $name: ${SECS}s"
    if (cd "$dir" && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=lsan.supp \
            ./"$name" -max_total_time="$SECS" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 corpus \
            > run.log 2>&1); then
        last=$(grep -E '^#[0-9]+' "$dir/run.log" | tail -1)
        execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
        cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        echo "PASS  $name ($(ls "$dir/corpus" | wc -l) corpus files, ${execs:-?} execs, cov ${cov:-?})"
    else
        echo "FAIL  $name (see $dir/run.log)"; tail -n 30 "$dir/run.log"
        status=1
    fi
done
exit $status
