#!/usr/bin/env bash
# Runs a libFuzzer target (with AddressSanitizer) from its seed corpus:
#
#     bash Fuzz/fuzz.sh [SECONDS]                      ConvoyHTTP1's parser (seeds in Fuzz/seeds)
#     FUZZER=PathFuzzer bash Fuzz/fuzz.sh [SECONDS]    path normalization (seeds in Fuzz/path-seeds)
#     FUZZER=ProxyHeaderFuzzer bash Fuzz/fuzz.sh [SECONDS]    PROXY protocol headers (Fuzz/proxy-header-seeds)
#
# Default 600 s; extra arguments go to libFuzzer. New inputs collect in .build-fuzz/corpus (the
# parser's) or .build-fuzz/corpus-FUZZER; crashes are written to .build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_TO_RUN=${1:-600}; shift || true
FUZZER=${FUZZER:-ParserFuzzer}
case $FUZZER in
  ParserFuzzer) seeds=seeds; corpus=../.build-fuzz/corpus;;
  PathFuzzer) seeds=path-seeds; corpus=../.build-fuzz/corpus-PathFuzzer;;
  ProxyHeaderFuzzer) seeds=proxy-header-seeds; corpus=../.build-fuzz/corpus-ProxyHeaderFuzzer;;
  *) echo "fuzz.sh: FUZZER is ParserFuzzer, PathFuzzer or ProxyHeaderFuzzer" >&2; exit 2;;
esac
swift build -c release --scratch-path ../.build-fuzz/build --product "$FUZZER" \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
mkdir -p "$corpus"
exec ../.build-fuzz/build/release/"$FUZZER" "$corpus" "$seeds" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
  -artifact_prefix=../.build-fuzz/ -print_final_stats=1 "$@"
