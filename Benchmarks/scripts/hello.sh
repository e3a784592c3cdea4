#!/usr/bin/env bash
# HelloHTTPServer against nginx's `return 200` (same 13-byte body), one worker each, under wrk,
# in the same run: rounds alternate which server goes first; medians are reported.
#
#     bash Benchmarks/scripts/hello.sh [ROUNDS] [SECONDS] [CONNECTIONS]     (default 5 5 50)
# Server on CPU 0, wrk on CPU 1 (taskset). Needs nginx and wrk (apt-get install nginx wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}; SECONDS_PER_RUN=${2:-5}; CONNECTIONS=${3:-50}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "hello.sh: needs nginx and wrk" >&2; exit 1; }
swift build -c release --product HelloHTTPServer >/dev/null 2>&1 || swift build -c release --product HelloHTTPServer
work=$(mktemp -d /tmp/hello-bench.XXXXXX)
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:18181;
    location / { default_type text/plain; return 200 "Hello, world\n"; }
  }
}
CONF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" 2>/dev/null &
nginx_pid=$!
taskset -c 0 .build/release/HelloHTTPServer 127.0.0.1:18182 >/dev/null &
hello_pid=$!
trap 'kill $nginx_pid $hello_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
curl -sf http://127.0.0.1:18181/ >/dev/null && curl -sf http://127.0.0.1:18182/ >/dev/null
rps() { taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ { print $2 }'; }
nginx_rates=(); hello_rates=()
for round in $(seq 1 "$ROUNDS"); do
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s http://127.0.0.1:18181/ >/dev/null; taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s http://127.0.0.1:18182/ >/dev/null
  if (( round % 2 )); then n=$(rps 18181); h=$(rps 18182); else h=$(rps 18182); n=$(rps 18181); fi
  nginx_rates+=("$n"); hello_rates+=("$h")
  echo "round $round: nginx $n req/s, HelloHTTPServer $h req/s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
n=$(median "${nginx_rates[@]}"); h=$(median "${hello_rates[@]}")
printf '| server | req/s (median of %s × %ss, wrk -t1 -c%s) |\n|---|---:|\n' "$ROUNDS" "$SECONDS_PER_RUN" "$CONNECTIONS"
printf '| nginx 1 worker, `return 200` | %s |\n| HelloHTTPServer | %s |\n' "$n" "$h"
awk -v h="$h" -v n="$n" 'BEGIN { printf "| HelloHTTPServer / nginx | %.2f× |\n", h / n }'
