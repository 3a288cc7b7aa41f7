#!/usr/bin/env bash
# `switchboard router` serves the gRPC API: authentication on by default (a generated admin token
# in the data dir, mode 0600, reused after a restart), health and reflection without a token,
# UNAUTHENTICATED without one, Submit idempotent through Python grpcio, --no-auth with
# --auth-tokens refused, an operator's token file reloaded on SIGHUP (revocation, a broken file).
# Usage: grpc_router_test.sh <switchboard binary> <routing config> <proto dir>
set -euo pipefail
SB=$1
CONFIG=$2
PROTO=$3
PY=${PYTHON:-/usr/bin/python3}
source "$(dirname "$0")/cluster/lib.sh"
# No failover is measured here: a session timeout well above a loaded machine's stalls (the
# library's 3 s default is for the failover tests).
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-10000}

"$PY" -c 'import grpc' 2>/dev/null || fail "no python grpcio for $PY (dev.sh installs python3-grpcio)"
command -v grpc_python_plugin >/dev/null || fail "no grpc_python_plugin (dev.sh installs protobuf-compiler-grpc)"
mkdir -p "$WORK/py"
protoc -I"$PROTO" --python_out="$WORK/py" --grpc_out="$WORK/py" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$PROTO"/switchboard/v1/*.proto

start_broker 4
start_router r1
ADDR=$(wait_field r1 grpc_address)
TOKEN_FILE=$(wait_field r1 admin_token_file)
[ "$TOKEN_FILE" = "$WORK/data-r1/admin.token" ] || fail "admin token at \"$TOKEN_FILE\""
[ "$(stat -c %a "$TOKEN_FILE")" = 600 ] || fail "admin token mode $(stat -c %a "$TOKEN_FILE")"
TOKEN=$(cat "$TOKEN_FILE")
echo "grpc on $ADDR, admin token in $TOKEN_FILE"

client() {  # address token phase
  PYTHONPATH="$WORK/py" "$PY" - "$@" <<'PYEOF'
import sys, grpc
from switchboard.v1 import services_pb2 as s, services_pb2_grpc as g, common_pb2 as c
addr, token, phase = sys.argv[1:4]
ch = grpc.insecure_channel(addr)
grpc.channel_ready_future(ch).result(timeout=20)
health = ch.unary_unary('/grpc.health.v1.Health/Check',
                        request_serializer=lambda b: b, response_deserializer=lambda b: b)
assert health(b'', timeout=10) == b'\x08\x01', 'health: not SERVING'
# Server reflection, without a token: ServerReflectionRequest{list_services: ""} on the wire.
reflect = ch.stream_stream('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
listing = b''.join(reflect(iter([b'\x3a\x00']), timeout=10))
for svc in (b'switchboard.v1.ContactService', b'switchboard.v1.AgentService',
            b'switchboard.v1.FollowUpService', b'switchboard.v1.AdminService', b'grpc.health.v1.Health'):
    assert svc in listing, (svc, listing)
admin = g.AdminServiceStub(ch)
try:
    admin.GetConfig(s.GetConfigRequest(), timeout=10)
    sys.exit('GetConfig without a token succeeded')
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
md = [('authorization', 'Bearer ' + token)]
cfg = admin.GetConfig(s.GetConfigRequest(), metadata=md, timeout=10)
assert any(q.name == 'd00.general' for q in cfg.config.queues), cfg
contacts = g.ContactServiceStub(ch)
req = s.SubmitContactRequest()
req.contact.idempotency_key = 'py-' + phase
req.contact.queue = 'd00.general'
req.contact.channel = c.CHANNEL_VOICE
first = contacts.Submit(req, metadata=md, timeout=20)
again = contacts.Submit(req, metadata=md, timeout=20)
assert first.contact_id == again.contact_id and again.existing, (first, again)
got = contacts.Get(s.GetContactRequest(contact_id=first.contact_id), metadata=md, timeout=10)
assert got.status.queue == 'd00.general', got
try:
    contacts.Submit(s.SubmitContactRequest(contact=s.SubmitContactRequest().contact), metadata=md,
                    timeout=10)
    sys.exit('Submit without a contact succeeded')
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
print(phase, 'ok', first.contact_id, got.status.state)
PYEOF
}
client "$ADDR" "$TOKEN" first

# A restart reuses the token.
kill_router r1 TERM
[ "$(status_field r1 state)" = stopped ] || fail "r1 status after SIGTERM: $(cat "$WORK/status-r1.json")"
rm "$WORK/status-r1.json"
start_router r1
ADDR=$(wait_field r1 grpc_address)
[ "$(cat "$TOKEN_FILE")" = "$TOKEN" ] || fail "admin token changed across a restart"
client "$ADDR" "$TOKEN" second

# Contradicting flags: refused by the flag parser (CLI11's ExcludesError exit code, like every
# other flag error of the router).
rc=0
timeout 20 "$SB" router --kafka "$BOOTSTRAP" --node-id r2 --data-dir "$WORK/data-r2" \
  --config "$CONFIG" --no-auth --auth-tokens "$WORK/data-r1/tokens.yaml" >"$WORK/r2.log" 2>&1 || rc=$?
[ "$rc" -eq 108 ] || fail "--no-auth with --auth-tokens: exit $rc"
grep -q "excludes" "$WORK/r2.log" || fail "--no-auth with --auth-tokens: $(cat "$WORK/r2.log")"
# An operator's token file: SIGHUP reloads it; a token left out is refused from then on, a new one
# works, and a broken file leaves the tokens in force.
token_status() {  # address token: the status code name of GetConfig with that token
  PYTHONPATH="$WORK/py" "$PY" - "$@" <<'PYEOF'
import sys, grpc
from switchboard.v1 import services_pb2 as s, services_pb2_grpc as g
addr, token = sys.argv[1:3]
ch = grpc.insecure_channel(addr)
grpc.channel_ready_future(ch).result(timeout=20)
try:
    g.AdminServiceStub(ch).GetConfig(s.GetConfigRequest(), metadata=[('authorization', 'Bearer ' + token)], timeout=10)
    print('OK')
except grpc.RpcError as e:
    print(e.code().name)
PYEOF
}
token_line() { echo "  - {sha256: $(printf '%s' "$1" | sha256sum | cut -d' ' -f1), role: admin, name: $1}"; }
(umask 077 && printf 'tokens:\n%s\n' "$(token_line ops-token-a)" >"$WORK/tokens.yaml")
kill_router r1 TERM
rm "$WORK/status-r1.json"
ROUTER_EXTRA=(--auth-tokens "$WORK/tokens.yaml")
start_router r1
ADDR=$(wait_field r1 grpc_address)
[ "$(token_status "$ADDR" ops-token-a)" = OK ] || fail "token a refused before any reload"
reloads() { grep -c 'SIGHUP: token file' "$WORK/router-r1.log" || true; }
hup_and_wait() {  # until the router logged one more reload line (bounded)
  local before
  before=$(reloads)
  kill -HUP "${ROUTER_PID[r1]}"
  for _ in $(seq 1 100); do
    [ "$(reloads)" -gt "$before" ] && return 0
    sleep 0.1
  done
  fail "no reload logged within 10 s of SIGHUP"
}
echo "tokens: [{sha256: nothex, role: admin}]" >"$WORK/tokens.yaml"
hup_and_wait
grep -q 'SIGHUP: token file not reloaded: .*tokens\[0\].sha256' "$WORK/router-r1.log" ||
  fail "a broken token file was not reported: $(grep SIGHUP "$WORK/router-r1.log")"
[ "$(token_status "$ADDR" ops-token-a)" = OK ] || fail "a broken file revoked token a"
printf 'tokens:\n%s\n' "$(token_line ops-token-b)" >"$WORK/tokens.yaml"
hup_and_wait
grep -q 'SIGHUP: token file reloaded, 1 tokens in force' "$WORK/router-r1.log" || fail "reload not logged"
[ "$(token_status "$ADDR" ops-token-a)" = UNAUTHENTICATED ] || fail "token a still admitted after its removal"
[ "$(token_status "$ADDR" ops-token-b)" = OK ] || fail "token b refused after the reload"
kill_router r1 TERM

echo "PASS grpc router"
