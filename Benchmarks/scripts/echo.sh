#!/usr/bin/env bash
# Echo servers side by side over loopback: Convoy's Examples/EchoServer (ConvoyNetwork) against a C
# echo server written directly on libevent bufferevents (Sources/CEchoServer), same machine, same
# run. Each server is pinned to CPU 0 and the load generator (Sources/EchoLoad, blocking sockets,
# one thread per connection) to CPU 1; rounds alternate the servers, and medians are reported.
#
#     bash Benchmarks/scripts/echo.sh [ROUNDS] [SECONDS]      (defaults 3 and 4)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-4}
(cd .. && swift build -c release --product EchoServer >/dev/null 2>&1) || (cd .. && swift build -c release --product EchoServer)
swift build -c release --product CEchoServer >/dev/null 2>&1 || swift build -c release --product CEchoServer
swift build -c release --product EchoLoad >/dev/null 2>&1 || swift build -c release --product EchoLoad
SWIFT_SERVER=../.build/release/EchoServer
C_SERVER=.build/release/CEchoServer
LOAD=.build/release/EchoLoad
PORT=18990
results=$(mktemp /tmp/echo-results.XXXXXX)
trap 'rm -f "$results"; kill $(jobs -p) 2>/dev/null || true' EXIT

start_server() {  # name
  if [ "$1" = convoy ]; then taskset -c 0 "$SWIFT_SERVER" "127.0.0.1:$PORT" >/dev/null & else taskset -c 0 "$C_SERVER" "$PORT" & fi
  server_pid=$!
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0
    sleep 0.05
  done
  echo "echo.sh: $1 did not start" >&2
  exit 1
}

# scenario: size connections
scenarios=("64 1" "64 16" "16384 4" "262144 1")
for round in $(seq "$ROUNDS"); do
  order=(convoy libevent)
  [ $((round % 2)) -eq 0 ] && order=(libevent convoy)
  for server in "${order[@]}"; do
    start_server "$server"
    for scenario in "${scenarios[@]}"; do
      read -r size connections <<<"$scenario"
      line=$(taskset -c 1 "$LOAD" "$PORT" "$size" "$SECONDS_PER_RUN" "$connections")
      echo "$server $size $connections $line" >>"$results"
    done
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    server, size, connections, payload = line.split(" ", 3)
    rows.setdefault((int(size), int(connections)), {}).setdefault(server, []).append(json.loads(payload))
print("| messages | connections | convoy MB/s | libevent MB/s | convoy / libevent | convoy p50 / p99 µs | libevent p50 / p99 µs |")
print("|---|---:|---:|---:|---:|---:|---:|")
for (size, connections), servers in sorted(rows.items()):
    def median(server, key):
        return statistics.median(r[key] for r in servers[server])
    ours, theirs = median("convoy", "mb_per_s"), median("libevent", "mb_per_s")
    label = f"{size} B" if size < 1024 else f"{size // 1024} KiB"
    print(f"| {label} | {connections} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}× | "
          f"{median('convoy', 'p50_us'):.0f} / {median('convoy', 'p99_us'):.0f} | "
          f"{median('libevent', 'p50_us'):.0f} / {median('libevent', 'p99_us'):.0f} |")
failed = [r for s in rows.values() for runs in s.values() for r in runs if r["failed"]]
if failed: print(f"\n{len(failed)} runs reported a failed connection")
PY
