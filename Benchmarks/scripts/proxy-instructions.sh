#!/usr/bin/env bash
# Instructions per proxied request, counted with callgrind: convoy, nginx and HAProxy as reverse
# proxies (the shared peers harness's configurations: one worker, upstream keep-alive) in front of
# one nginx backend that is not profiled. Each proxy runs under callgrind twice, for N and for 2N
# keep-alive `GET /` requests sent by lockstep_client.py over C connections; (I(2N) - I(N)) / N
# cancels start-up, configuration loading and shut-down. valgrind 3.19 cannot read Swift 6.3's
# debug info, so a stripped copy of convoy is profiled.
#
#     bash Benchmarks/scripts/proxy-instructions.sh [N] [C]     (default N = 20000, C = 8)
#     KEEP_PROFILE=1 ...   keeps convoy's profiles as /tmp/convoy.COUNT.callgrind (see
#                      profile-diff.py for the per-request difference by function)
#     PROXIES=convoy ...   profiles only the proxies named (default: nginx haproxy convoy)
#     CALLGRIND_ARGS=--dump-instr=yes ...   extra callgrind options (per-instruction costs for
#                      annotate-asm.py)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/Benchmarks/scripts
peers=${PEERS_BENCH_DIR:-$PWD/../shared/bench}
N=${1:-20000}
C=${2:-8}
for tool in valgrind nginx haproxy python3; do
  command -v "$tool" >/dev/null || { echo "proxy-instructions.sh: needs $tool (apt-get install $tool)" >&2; exit 1; }
done
swift build -c release --product convoy >/dev/null 2>&1 || swift build -c release --product convoy
tmp=$(mktemp -d /tmp/proxy-instructions.XXXXXX)
backend_pid=
cleanup() {
  [[ -n $backend_pid ]] && kill "$backend_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
strip --strip-debug -o "$tmp/convoy" "${CONVOY_BINARY:-.build/release/convoy}"

backend_port=18180 proxy_port=18183
render() {
  sed -e "s|@TMP@|$tmp|g" -e "s|@BACKEND_PORT@|$backend_port|g" -e "s|@NGINX_PORT@|$proxy_port|g" \
      -e "s|@HAPROXY_PORT@|$proxy_port|g" -e "s|@NOFILE@|4096|g" -e "s|@NGX_WORKER_CONNS@|2048|g" \
      -e "s|@HAP_MAXCONN@|1024|g" "$1" > "$2"
}
render "$peers/backend-nginx.conf.tmpl" "$tmp/backend.conf"
render "$peers/proxy-nginx.conf.tmpl" "$tmp/nginx-proxy.conf"
render "$peers/proxy-haproxy.cfg.tmpl" "$tmp/haproxy.cfg"
mkdir -p "$tmp/www/body"
nginx -c "$tmp/backend.conf" -e "$tmp/backend.stderr.log" >/dev/null 2>&1 &
backend_pid=$!
CANDIDATE_PORT=$proxy_port BACKEND_ADDR=127.0.0.1:$backend_port PEERS_TMP=$tmp CONFIG_ONLY=1 \
  bash "$here/convoy-candidate.sh"

wait_for_port() {
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "proxy-instructions.sh: nothing listening on port $1" >&2; return 1
}

instructions() {  # proxy count -> total instructions executed by the proxy
  local out=$tmp/callgrind.out command
  case $1 in
    convoy) command=("$tmp/convoy" run -c "$tmp/convoy-candidate.yaml" --log-level warning) ;;
    nginx) command=(nginx -c "$tmp/nginx-proxy.conf" -e "$tmp/proxy.stderr.log" -g 'master_process off;') ;;
    haproxy) command=(haproxy -db -f "$tmp/haproxy.cfg") ;;
  esac
  # SIGTERM stops all three (a background job of a script ignores SIGINT).
  # shellcheck disable=SC2086  # CALLGRIND_ARGS is a list of options
  valgrind --tool=callgrind --callgrind-out-file="$out" ${CALLGRIND_ARGS:-} "${command[@]}" > "$tmp/valgrind.log" 2>&1 &
  local pid=$!
  wait_for_port "$proxy_port"
  python3 "$here/lockstep_client.py" "127.0.0.1:$proxy_port" "$2" "$C"
  kill -TERM "$pid"
  wait "$pid" || true
  if [[ $1 == convoy && -n ${KEEP_PROFILE:-} ]]; then cp "$out" "/tmp/convoy.$2.callgrind"; fi
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/valgrind.log"
}

wait_for_port "$backend_port"
printf '| proxy | instructions per request | ÷ nginx |\n|---|---:|---:|\n'
declare -A per
for proxy in ${PROXIES:-nginx haproxy convoy}; do
  one=$(instructions "$proxy" "$N")
  two=$(instructions "$proxy" $((2 * N)))
  per[$proxy]=$(( (two - one) / N ))
  ratio=$(awk -v a="${per[$proxy]}" -v b="${per[nginx]:-0}" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "–" }')
  printf '| %s | %s | %s |\n' "$proxy" "${per[$proxy]}" "$ratio"
done
