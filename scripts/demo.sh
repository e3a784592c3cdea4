#!/usr/bin/env bash
# Builds Convoy in release mode and runs the demo of what exists today (the HTTP proxy comes next):
#  1. TimerAndSignals: a repeating timer on a Dispatcher, stopped after three ticks;
#  2. EchoServer behind TCPProxy: a message sent to the proxy comes back through both;
#  3. HelloHTTPServer (the HTTP/1.1 codec): two pipelined requests, then a smuggling attempt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product TimerAndSignals
swift build -c release --product EchoServer
swift build -c release --product TCPProxy
swift build -c release --product HelloHTTPServer
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

echo; echo "== 3. HelloHTTPServer on 127.0.0.1:18080 (ConvoyHTTP1's server codec)"
"$bin/HelloHTTPServer" 127.0.0.1:18080 &
hello_pid=$!
trap 'kill -INT $hello_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; sleep 0.05; done
ask() {  # sends $1 on a fresh connection and prints what comes back until the server closes
  exec 3<>/dev/tcp/127.0.0.1/18080
  printf '%b' "$1" >&3
  # After an error the server stops reading; bytes bash writes later make its close a reset,
  # which cat reports once it has printed the response (lingering close is a known gap).
  timeout 5 cat <&3 2>/dev/null | sed 's/\r$//; s/^/    /'
  exec 3<&-
}
echo "-- two pipelined requests on one connection, the second with Connection: close:"
ask 'GET /first HTTP/1.1\r\nHost: demo\r\n\r\nGET /second HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n'
echo "-- Content-Length and Transfer-Encoding together (request smuggling) is refused:"
ask 'POST / HTTP/1.1\r\nHost: demo\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: demo\r\n\r\n'
kill -INT $hello_pid
wait $hello_pid 2>/dev/null || true
trap - EXIT
echo; echo "demo done"
