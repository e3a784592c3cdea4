#!/usr/bin/env bash
# The whole test suite: installs missing build dependencies, runs every test, then runs them all
# again under ThreadSanitizer (separate build folder, so neither build invalidates the other).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build --disable-xctest
swift test --disable-xctest --sanitize=thread --scratch-path .build-tsan
