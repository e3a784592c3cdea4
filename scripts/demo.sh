#!/usr/bin/env bash
# Builds Convoy in release mode and runs the main demo. Until the proxy exists this is the
# TimerAndSignals example: a repeating timer stopped after five ticks (or by Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product TimerAndSignals
exec .build/release/TimerAndSignals --ticks "${TICKS:-5}"
