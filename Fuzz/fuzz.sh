#!/usr/bin/env bash
# Fuzzes ConvoyHTTP1's parser with libFuzzer (and AddressSanitizer) from the seed corpus.
#
#     bash Fuzz/fuzz.sh [SECONDS]        (default 600; extra arguments go to libFuzzer)
# New inputs collect in .build-fuzz/corpus; crashes are written to .build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_TO_RUN=${1:-600}; shift || true
swift build -c release --scratch-path ../.build-fuzz/build --product ParserFuzzer \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
mkdir -p ../.build-fuzz/corpus
exec ../.build-fuzz/build/release/ParserFuzzer ../.build-fuzz/corpus seeds \
  -max_total_time="$SECONDS_TO_RUN" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
  -artifact_prefix=../.build-fuzz/ -print_final_stats=1 "$@"
