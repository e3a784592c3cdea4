#!/usr/bin/env bash
# Hot reload under load: convoy (2 workers, release build) in front of two DemoBackends takes
# wrk -t2 -c50 for 16 s while it is reloaded 20 times with SIGHUP, the route alternating between
# the two backends. Prints wrk's figures and how many reloads convoy reported; exits 1 when wrk
# saw any socket error or non-2xx response. Ports 18290-18292 and 18299 (admin) must be free.
#
#     bash Benchmarks/scripts/reload-under-load.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product convoy >/dev/null
swift build -c release --product DemoBackend >/dev/null
tmp=$(mktemp -d)
trap 'kill $proxy $b1 $b2 2>/dev/null; rm -rf "$tmp"' EXIT
.build/release/DemoBackend v1 127.0.0.1:18291 > $tmp/b1.log 2>&1 &
b1=$!
.build/release/DemoBackend v2 127.0.0.1:18292 > $tmp/b2.log 2>&1 &
b2=$!
config() {
cat <<YAML
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers: [{port: {number: 18290, protocol: HTTP}, bind: 127.0.0.1, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc}
spec:
  hosts: [svc.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {http: 18291}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {http: 18292}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc}
spec:
  host: svc.local
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route: [{destination: {host: svc.local, subset: $1}}]
---
apiVersion: convoy/v1alpha1
kind: Bootstrap
spec:
  admin: {address: "127.0.0.1:18299"}
  concurrency: 2
YAML
}
config v1 > $tmp/convoy.yaml
.build/release/convoy run -c $tmp/convoy.yaml --log-level info > $tmp/convoy.log 2>&1 &
proxy=$!
sleep 1
wrk -t2 -c50 -d16s http://127.0.0.1:18290/ > $tmp/wrk.txt 2>&1 &
wrkpid=$!
sleep 3
for i in $(seq 1 20); do
  if [ $((i % 2)) -eq 1 ]; then config v2 > $tmp/convoy.yaml; else config v1 > $tmp/convoy.yaml; fi
  kill -HUP $proxy
  sleep 0.5
done
wait $wrkpid
cat $tmp/wrk.txt
echo "reloads done: $(grep -c "reloaded (" $tmp/convoy.log)"
if grep -q 'Non-2xx\|Socket errors' $tmp/wrk.txt; then echo "FAILED: requests failed during the reloads"; exit 1; fi
echo "OK: no failed request"
