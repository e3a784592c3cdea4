#!/usr/bin/env bash
# Installs what building Convoy needs on Debian/Ubuntu, if it is missing: libevent's headers and
# pkg-config file (libevent-dev) and pkg-config itself. Needs a Swift 6.1+ toolchain on PATH.
# With --test-tools it also tries Prometheus (promtool and the server, for the stats tests) and
# Chromium (for the dashboard test); when they cannot be installed those tests say so and skip. Safe to run repeatedly; it installs
# nothing when everything is present.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! pkg-config --exists libevent_pthreads 2>/dev/null; then missing+=(libevent-dev); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test-tools" ]; then
  tools=()
  command -v promtool >/dev/null 2>&1 || tools+=(prometheus)
  command -v chromium >/dev/null 2>&1 || tools+=(chromium)
  if [ ${#tools[@]} -gt 0 ]; then
    echo "bootstrap: installing ${tools[*]} (for the stats and dashboard tests)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null; } ||
      echo "bootstrap: ${tools[*]} could not be installed; the tests that need them will say so and skip" >&2
  fi
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "bootstrap: no 'swift' on PATH; install a Swift 6.1 or later toolchain (swift.org/install)" >&2
  exit 1
fi
