#!/usr/bin/env bash
# Builds Convoy in release mode and runs the demo of what exists today (the HTTP proxy comes next):
#  1. TimerAndSignals: a repeating timer on a Dispatcher, stopped after three ticks;
#  2. EchoServer behind TCPProxy: a message sent to the proxy comes back through both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product TimerAndSignals
swift build -c release --product EchoServer
swift build -c release --product TCPProxy
bin=.build/release

echo; echo "== 1. TimerAndSignals (a TimerEvent re-armed from its own callback)"
"$bin/TimerAndSignals" --ticks "${TICKS:-3}"

echo; echo "== 2. EchoServer on 127.0.0.1:19000, TCPProxy 127.0.0.1:18000 → 19000"
"$bin/EchoServer" 127.0.0.1:19000 &
echo_pid=$!
"$bin/TCPProxy" 127.0.0.1:18000 127.0.0.1:19000 &
proxy_pid=$!
trap 'kill -INT $echo_pid $proxy_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18000) 2>/dev/null && break; sleep 0.05; done
exec 3<>/dev/tcp/127.0.0.1/18000
for message in "hello through convoy" "bytes move, they are not copied"; do
  printf '%s\n' "$message" >&3
  IFS= read -r reply <&3
  echo "sent: $message"
  echo "got:  $reply"
done
exec 3<&-
kill -INT $proxy_pid $echo_pid
wait $proxy_pid $echo_pid 2>/dev/null || true
trap - EXIT
echo; echo "demo done"
