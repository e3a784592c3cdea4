#!/usr/bin/env bash
# The README's first command: builds convoy and runs the canary from Istio's docs.
#  - two example backends, catalog v1 (127.0.0.1:18081) and v2 (127.0.0.1:18082), started here;
#  - convoy with its built-in demo configuration (Gateway on 127.0.0.1:18080, a VirtualService
#    splitting 70/30 between the v1 and v2 subsets, testers with `x-canary: always` pinned to v2);
#  - a handful of requests whose answers show the split.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product convoy
swift build -c release --product DemoBackend
bin=.build/release

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$bin/DemoBackend" v1 127.0.0.1:18081 & pids+=($!)
"$bin/DemoBackend" v2 127.0.0.1:18082 & pids+=($!)
"$bin/convoy" run --concurrency 2 & pids+=($!)
for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; sleep 0.05; done

get() {  # prints the status line, the backend that answered and the body of GET $1 with headers $2...
  local path=$1; shift
  exec 3<>/dev/tcp/127.0.0.1/18080
  printf 'GET %s HTTP/1.1\r\nHost: catalog.shop.svc.cluster.local\r\nConnection: close\r\n%b\r\n' "$path" "$*" >&3
  { timeout 5 cat <&3 || true; } | tr -d '\r' | awk 'NR==1 {status=$2} /^x-backend:/ {b=$2} /^x-served-by:/ {s=" x-served-by: " $2} body {print "  " status " " b s "  " $0} /^$/ {body=1}'
  exec 3<&-
}

echo; echo "== 20 requests: the VirtualService sends about 70% to v1 and 30% to v2"
v1=0; v2=0
for i in $(seq 20); do
  line=$(get "/products/$i")
  echo "$line"
  case "$line" in *"hello from v1"*) v1=$((v1+1));; *"hello from v2"*) v2=$((v2+1));; esac
done
echo "  -> v1: $v1, v2: $v2"

echo; echo "== 3 requests from a tester (x-canary: always): pinned to v2 by the first rule"
for i in 1 2 3; do get "/checkout/$i" 'x-canary: always\r\n'; done

echo; echo "== a backend is stopped: its share of requests now fails fast with a 503 that says why"
kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
for i in 1 2 3 4 5 6; do get "/after/$i"; done

echo; echo "demo done (convoy check -c FILE validates your own configuration; convoy run -c FILE serves it)"
