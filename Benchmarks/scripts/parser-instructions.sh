#!/usr/bin/env bash
# Instructions per parsed message, Convoy's HTTP1Parser against http-parser, counted with callgrind
# on ParserBench's `once` mode: each input parsed N and 2N times, (I(2N) - I(N)) / N. The Swift
# side's figure includes appending each message to the input buffer (outside the timed part of
# the throughput table); http-parser's loop parses resident bytes. valgrind 3.19 cannot read Swift
# 6.3's debug info, so a copy without it is profiled.
#
#     bash Benchmarks/scripts/parser-instructions.sh [N]      (default N = 20000)
N=${1:-20000}
# shellcheck source=callgrind-frame.sh
source "$(dirname "$0")/callgrind-frame.sh" ParserBench

printf '| input | Convoy instr/message | http-parser instr/message | Convoy / http-parser |\n|---|---:|---:|---:|\n'
for input in a_get_small b_get_browser c_post_chunked d_response_20h; do
  row=()
  for impl in swift c; do
    one=$(instructions once "$input" "$impl" "$N")
    two=$(instructions once "$input" "$impl" $((2 * N)))
    row+=("$(( (two - one) / N ))")
  done
  ratio=$(awk -v s="${row[0]}" -v c="${row[1]}" 'BEGIN { printf "%.2f", s / c }')
  printf '| %s | %s | %s | %s× |\n' "$input" "${row[0]}" "${row[1]}" "$ratio"
done
