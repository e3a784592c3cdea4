#!/usr/bin/env bash
# The whole test suite: installs missing build dependencies, runs every test in a debug build, in
# a release build (misuse traps must still say what was misused when optimized), and under
# ThreadSanitizer (its own build folder, so no build invalidates another).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test-tools
swift build --build-tests
swift test --skip-build --disable-xctest
swift test -c release --disable-xctest
swift test --disable-xctest --sanitize=thread --scratch-path .build-tsan
