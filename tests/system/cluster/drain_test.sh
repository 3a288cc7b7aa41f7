#!/usr/bin/env bash
# Drain under load (AdminService.Drain): 2 routers, 4 partitions, the load generator submitting
# and answering contacts; r1 is drained through r2's gRPC API half way. r1 must release every
# shard and stay up idle ("drained"), r2 must route all 4, and the verdict must show no contact
# lost, duplicated or given to an ineligible agent. Bounded: about 30 s.
# Usage: drain_test.sh <switchboard binary> <routing config> <proto dir>
set -euo pipefail
SB=$1
CONFIG=$2
PROTO=$3
PY=${PYTHON:-/usr/bin/python3}
source "$(dirname "$0")/lib.sh"
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-6000}

"$PY" -c 'import grpc' 2>/dev/null || fail "no python grpcio for $PY (dev.sh installs python3-grpcio)"
command -v grpc_python_plugin >/dev/null || fail "no grpc_python_plugin"
mkdir -p "$WORK/py"
protoc -I"$PROTO" --python_out="$WORK/py" --grpc_out="$WORK/py" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$PROTO"/switchboard/v1/*.proto

grpc_address() { wait_field "$1" grpc_address; }  # node id

ROUTER_EXTRA=(--no-auth)
start_broker 4
start_router r1
start_router r2
wait_routing r1
wait_routing r2
A2=$(grpc_address r2)
echo "before: r1 routes [$(shards_of r1)], r2 routes [$(shards_of r2)]"

CONTACTS=3000
start_loadgen --contacts "$CONTACTS" --rate 200 --agents 200 --domains 8 --seed 11 --think-ms 100 \
  --handle-ms 300 --wrap-ms 100 --timeout-s 60 --floor-messages 100
sleep 5
start=$(now_ms)
PYTHONPATH="$WORK/py" "$PY" - "$A2" <<'PYEOF'
import sys, grpc
from switchboard.v1 import services_pb2, services_pb2_grpc
stub = services_pb2_grpc.AdminServiceStub(grpc.insecure_channel(sys.argv[1]))
stub.Drain(services_pb2.DrainRequest(node_id="r1"), timeout=20)
PYEOF
for _ in $(seq 1 300); do
  [ "$(status_field r1 state)" = drained ] && [ "$(shards_of r2 | wc -w)" -eq 4 ] && break
  sleep 0.1
done
[ "$(status_field r1 state)" = drained ] || fail "r1 did not drain: $(cat "$WORK/status-r1.json")"
[ "$(shards_of r2 | wc -w)" -eq 4 ] || fail "r2 routes [$(shards_of r2)], not all 4 shards"
echo "drain: r1 drained and r2 routes [$(shards_of r2)] $(($(now_ms) - start)) ms after the request"
wait_loadgen
check_verdict "$CONTACTS"
kill -0 "${ROUTER_PID[r1]}" 2>/dev/null || fail "r1 exited instead of staying up idle"
kill_router r1 TERM
kill_router r2 TERM
echo "PASS drain"
