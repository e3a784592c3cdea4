#!/usr/bin/env bash
# convoy against nginx and HAProxy as reverse proxies, one worker each, the same nginx backend,
# wrk on loopback, in one run: the shared harness ../shared/bench/peers.sh with convoy as its
# candidate. Prints the harness's tables (req/s, latency percentiles, CPU per request, memory
# per idle keep-alive connection) and writes JSON to $RESULT_JSON (default /tmp/peers-result.json).
#
#     bash Benchmarks/scripts/proxy.sh          # about 4 minutes; SUITES="rps" for throughput only
set -euo pipefail
cd "$(dirname "$0")/../.."
harness=${PEERS_HARNESS:-../shared/bench/peers.sh}
[[ -f $harness ]] || { echo "proxy.sh: the peers harness is not at $harness (set PEERS_HARNESS)" >&2; exit 1; }
swift build -c release --product convoy >/dev/null 2>&1 || swift build -c release --product convoy
CONVOY_BIN="$PWD/.build/release/convoy" CANDIDATE_NAME=convoy \
CANDIDATE_CMD="bash $PWD/Benchmarks/scripts/convoy-candidate.sh" \
RPS_DURATION=${RPS_DURATION:-8} LAT_DURATION=${LAT_DURATION:-3} \
  bash "$harness"
