#!/usr/bin/env bash
# Instructions per dispatcher operation, Swift (ConvoyDispatcher) against C (raw libevent), counted
# with callgrind. Each workload runs with N and 2N operations; (I(2N) - I(N)) / N cancels start-up
# and tear-down. valgrind 3.19 cannot read Swift 6.3's debug info, so a stripped copy is profiled.
#
#     bash Benchmarks/scripts/instructions.sh [N]      (default N = 20000)
N=${1:-20000}
# shellcheck source=callgrind-frame.sh
source "$(dirname "$0")/callgrind-frame.sh" DispatcherOps

printf '| operation | Swift instr/op | C instr/op | Swift / C |\n|---|---:|---:|---:|\n'
for workload in post timer activate pingpong deferred lifetime echo64 echo16k; do
  n=$N
  case "$workload" in echo*) n=$((N / 10));; esac  # a round trip is four syscalls and two iterations
  row=()
  for impl in swift c; do
    one=$(instructions "$workload" "$impl" "$n")
    two=$(instructions "$workload" "$impl" $((2 * n)))
    row+=("$(( (two - one) / n ))")
  done
  ratio=$(awk -v s="${row[0]}" -v c="${row[1]}" 'BEGIN { printf "%.2f", s / c }')
  printf '| %s | %s | %s | %s× |\n' "$workload" "${row[0]}" "${row[1]}" "$ratio"
done
