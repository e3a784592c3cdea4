#!/usr/bin/env bash
# Runs convoy as the candidate of the shared peers harness (../shared/bench/peers.sh): writes a
# configuration forwarding every path to $BACKEND_ADDR, listening on $CANDIDATE_PORT, one worker,
# then execs convoy so its PID is the proxy's.
set -euo pipefail
config="${PEERS_TMP:-/tmp}/convoy-candidate.yaml"
backend_port=${BACKEND_ADDR##*:}
cat > "$config" <<YAML
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  servers:
  - port: {number: ${CANDIDATE_PORT}, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {http: ${backend_port}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: backend}
spec:
  host: backend.local
  trafficPolicy:
    connectionPool: {http: {idleTimeout: 60s}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all}
spec:
  hosts: ["*"]
  gateways: [bench]
  http:
  - route: [{destination: {host: backend.local}}]
---
apiVersion: convoy/v1alpha1
kind: Bootstrap
spec:
  concurrency: 1
YAML
[[ -n ${CONFIG_ONLY:-} ]] && exit 0   # just write the configuration (proxy-instructions.sh)
exec "${CONVOY_BIN:-$(dirname "$0")/../../.build/release/convoy}" run -c "$config" --log-level warning
