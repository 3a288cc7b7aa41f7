#!/usr/bin/env bash
# The acceptance test of the gRPC API: an independent client written with Python grpcio (stubs
# generated from our proto at test time, grpc_cluster_client.py) acts as an integrator and as 20
# agent desktops against a 2-node cluster (`switchboard broker` + routers r1, r2, each serving
# the gRPC API with a token file written here). It submits 500 contacts; the agents accept and
# complete them: all complete, none twice. One desktop's stream is cut while it holds a CONNECTED
# contact (the engine requeues what a logged-out agent held, connected contacts included): after
# --agent-grace-s the cluster logs it out and another agent serves the contact.
# Usage: grpc_cluster_test.sh <switchboard binary> <routing config> <proto dir>
set -euo pipefail
SB=$1
CONFIG=$2
PROTO=$3
PY=${PYTHON:-/usr/bin/python3}
CONTACTS=${CONTACTS:-500}
GRACE_S=3
source "$(dirname "$0")/cluster/lib.sh"
# No failover is measured here: a session timeout well above a loaded machine's stalls.
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-10000}

"$PY" -c 'import grpc' 2>/dev/null || fail "no python grpcio for $PY (dev.sh installs python3-grpcio)"
command -v grpc_python_plugin >/dev/null ||
  fail "no grpc_python_plugin (dev.sh installs protobuf-compiler-grpc)"
mkdir -p "$WORK/py"
protoc -I"$PROTO" --python_out="$WORK/py" --grpc_out="$WORK/py" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$PROTO"/switchboard/v1/*.proto

# Tokens: one integrator, 20 agents (one per agent id). The routers get only their SHA-256.
"$PY" - "$WORK" <<'PYEOF'
import hashlib, json, os, secrets, sys
work = sys.argv[1]
tokens = {"integrator": "sbt_" + secrets.token_hex(32),
          "agents": {f"gc{i:02d}": "sbt_" + secrets.token_hex(32) for i in range(20)}}
h = lambda t: hashlib.sha256(t.encode()).hexdigest()
lines = ["tokens:", f"  - {{sha256: {h(tokens['integrator'])}, role: integrator, name: gc-integrator}}"]
lines += [f"  - {{sha256: {h(t)}, role: agent, agent_id: {a}}}" for a, t in tokens["agents"].items()]
open(f"{work}/tokens.yaml", "w").write("\n".join(lines) + "\n")
os.chmod(f"{work}/tokens.yaml", 0o600)
json.dump(tokens, open(f"{work}/tokens.json", "w"))
PYEOF

ROUTER_EXTRA=(--auth-tokens "$WORK/tokens.yaml" --agent-grace-s "$GRACE_S")
start_broker 4
start_router r1
start_router r2
A1=$(grpc_address r1)
A2=$(grpc_address r2)
wait_routing r1
wait_routing r2
echo "r1 grpc on $A1 routes [$(shards_of r1)], r2 grpc on $A2 routes [$(shards_of r2)]"

start=$(now_ms)
rc=0
PYTHONPATH="$WORK/py" timeout 200 "$PY" "$(dirname "$0")/grpc_cluster_client.py" \
  "$A1" "$A2" "$WORK/tokens.json" "$CONTACTS" "$GRACE_S" 150 || rc=$?
[ "$rc" -eq 0 ] || fail "grpc cluster client exited $rc"
for id in r1 r2; do kill -0 "${ROUTER_PID[$id]}" 2>/dev/null || fail "router $id died"; done
echo "PASS grpc cluster ($(($(now_ms) - start)) ms)"
