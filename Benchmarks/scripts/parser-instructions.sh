#!/usr/bin/env bash
# Instructions per parsed message, Convoy's HTTP1Parser against http-parser, counted with callgrind
# on ParserBench's `once` mode: each input parsed N and 2N times, (I(2N) - I(N)) / N. The Swift
# side's figure includes appending each message to the input buffer (outside the timed part of
# the throughput table); http-parser's loop parses resident bytes. valgrind 3.19 cannot read Swift
# 6.3's debug info, so a copy without it is profiled.
#
#     bash Benchmarks/scripts/parser-instructions.sh [N]      (default N = 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "parser-instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
N=${1:-20000}
swift build -c release --product ParserBench >/dev/null 2>&1 || swift build -c release --product ParserBench
binary=$(mktemp /tmp/ParserBench.XXXXXX)
trap 'rm -f "$binary"' EXIT
strip --strip-debug -o "$binary" .build/release/ParserBench

instructions() {  # input impl count -> total instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" once "$1" "$2" "$3" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '| input | Convoy instr/message | http-parser instr/message | Convoy / http-parser |\n|---|---:|---:|---:|\n'
for input in a_get_small b_get_browser c_post_chunked d_response_20h; do
  row=()
  for impl in swift c; do
    one=$(instructions "$input" "$impl" "$N")
    two=$(instructions "$input" "$impl" $((2 * N)))
    row+=("$(( (two - one) / N ))")
  done
  ratio=$(awk -v s="${row[0]}" -v c="${row[1]}" 'BEGIN { printf "%.2f", s / c }')
  printf '| %s | %s | %s | %s× |\n' "$input" "${row[0]}" "${row[1]}" "$ratio"
done
