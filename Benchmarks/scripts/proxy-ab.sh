#!/usr/bin/env bash
# Two builds of convoy side by side with nginx, for judging one change: nginx (the peers harness's
# proxy configuration), convoy build A and convoy build B, one worker each, in front of one nginx
# backend. Proxies and backend on CPU 0, `wrk -t1 -c50` on CPU 1; the three run in interleaved
# rounds (the order reverses every other round). Prints each round, then medians of req/s, of
# p99 latency and of the proxy's CPU time per request (user + system, from /proc/PID/stat).
#
#     bash Benchmarks/scripts/proxy-ab.sh BINARY_A BINARY_B [ROUNDS=5] [SECONDS=5]
#
# Copy a build aside first (cp .build/release/convoy /tmp/convoy.a), make the change, build again.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,10p "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
peers=${PEERS_BENCH_DIR:-$here/../../../shared/bench}
binary_a=$(realpath "$1") binary_b=$(realpath "$2") rounds=${3:-5} seconds=${4:-5}
for tool in nginx wrk taskset; do
  command -v "$tool" >/dev/null || { echo "proxy-ab.sh: needs $tool" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/proxy-ab.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
backend_port=18170 nginx_port=18171
declare -A port=([nginx]=$nginx_port [A]=18172 [B]=18173)
render() {
  sed -e "s|@TMP@|$tmp|g" -e "s|@BACKEND_PORT@|$backend_port|g" -e "s|@NGINX_PORT@|$nginx_port|g" \
      -e "s|@NOFILE@|4096|g" -e "s|@NGX_WORKER_CONNS@|2048|g" "$1" > "$2"
}
mkdir -p "$tmp/www/body" "$tmp/A" "$tmp/B"
render "$peers/backend-nginx.conf.tmpl" "$tmp/backend.conf"
render "$peers/proxy-nginx.conf.tmpl" "$tmp/nginx-proxy.conf"
# master_process off: the PID started is the one worker that does the proxying.
taskset -c 0 nginx -c "$tmp/backend.conf" -e "$tmp/backend.log" -g 'master_process off;' >/dev/null 2>&1 &
pids+=($!)
taskset -c 0 nginx -c "$tmp/nginx-proxy.conf" -e "$tmp/nginx.log" -g 'master_process off;' >/dev/null 2>&1 &
pids+=($!)
declare -A pid=([nginx]=$!)
admin=15170
for build in A B; do
  CONFIG_ONLY=1 PEERS_TMP=$tmp/$build CANDIDATE_PORT=${port[$build]} BACKEND_ADDR=127.0.0.1:$backend_port \
    bash "$here/convoy-candidate.sh"
  admin=$((admin + 1))
  echo "  admin: {address: 127.0.0.1:$admin}" >> "$tmp/$build/convoy-candidate.yaml"  # two admin listeners
  binary=$binary_a; [[ $build == B ]] && binary=$binary_b
  taskset -c 0 "$binary" run -c "$tmp/$build/convoy-candidate.yaml" --log-level warning > "$tmp/$build.log" 2>&1 &
  pids+=($!)
  pid[$build]=$!
done
for target in nginx A B; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/${port[$target]}") 2>/dev/null && break
    sleep 0.05
  done
  taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:${port[$target]}/" >/dev/null  # warm-up
done
cpu_ticks() { local stat; stat=$(cat "/proc/$1/stat"); stat=${stat##*) }; set -- $stat; echo $(( ${12} + ${13} )); }
ticks_per_second=$(getconf CLK_TCK)
printf 'round target req/s p50 p99 cpu-us/req\n'
for round in $(seq 1 "$rounds"); do
  order=(nginx A B); (( round % 2 == 0 )) && order=(B A nginx)
  for target in "${order[@]}"; do
    before=$(cpu_ticks "${pid[$target]}")
    out=$(taskset -c 1 wrk -t1 -c50 -d"${seconds}s" --latency "http://127.0.0.1:${port[$target]}/")
    after=$(cpu_ticks "${pid[$target]}")
    echo "$out" | awk -v r="$round" -v t="$target" -v c=$((after - before)) -v hz="$ticks_per_second" '
      /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
      END { printf "%s %s %s %s %s %.2f\n", r, t, rps, p50, p99, c / hz * 1e6 / n }'
  done
done | tee "$tmp/rounds"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
to_ms() { awk '{ v = $1; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }'; }
printf '\n| target | req/s | p99 ms | CPU µs per request |\n|---|---:|---:|---:|\n'
for target in nginx A B; do
  rps=$(awk -v t="$target" '$2 == t { print $3 }' "$tmp/rounds" | median)
  p99=$(awk -v t="$target" '$2 == t { print $5 }' "$tmp/rounds" | to_ms | median)
  cpu=$(awk -v t="$target" '$2 == t { print $6 }' "$tmp/rounds" | median)
  printf '| %s | %s | %s | %s |\n' "$target" "$rps" "$p99" "$cpu"
done
