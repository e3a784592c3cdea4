#!/usr/bin/env bash
# The ceiling for any proxy on this machine: the shared peers harness with Sources/TCPRelay as its
# candidate — a raw-epoll TCP relay that parses nothing and makes only the system calls any
# keep-alive HTTP proxy must make (a recv and a send on each side per request). Its req/s ÷ nginx
# bounds what convoy can reach in Benchmarks/scripts/proxy.sh with the same layout.
#
#     SUITES=rps ROUNDS=5 bash Benchmarks/scripts/relay-bound.sh
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${PEERS_HARNESS:-../../shared/bench/peers.sh}
[[ -f $harness ]] || { echo "relay-bound.sh: the peers harness is not at $harness (set PEERS_HARNESS)" >&2; exit 1; }
swift build -c release --product TCPRelay >/dev/null 2>&1 || swift build -c release --product TCPRelay
CANDIDATE_NAME=relay CANDIDATE_CMD="$PWD/.build/release/TCPRelay \$CANDIDATE_PORT \$BACKEND_PORT" \
RPS_DURATION=${RPS_DURATION:-8} LAT_DURATION=${LAT_DURATION:-3} SUITES=${SUITES:-rps} \
  bash "$harness"
