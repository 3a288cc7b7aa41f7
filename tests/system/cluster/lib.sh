# Shared helpers of the cluster system tests: a broker, router nodes and the load generator as
# separate processes on loopback, all killed on exit. Source it; set SB (switchboard binary) and
# CONFIG (routing config) first.
#
# The broker is the embedded one (`switchboard broker`, librdkafka's mock cluster) unless
# SB_TEST_KAFKA_DIR names a running Apache Kafka started by tools/kafka/kafka.sh (the ctest
# fixture `kafka` shares one between tests): then start_broker empties it (every topic and
# group of the previous test deleted) and creates the topics with `switchboard topics`.
set -euo pipefail
KAFKA_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/tools/kafka/kafka.sh"

WORK=$(mktemp -d /tmp/sb-cluster.XXXXXX)
declare -A ROUTER_PID=()
BROKER_PID=""
LOADGEN_PID=""
ROUTER_EXTRA=()  # more router flags (e.g. --kafka-setting k=v), set by the caller
OWN_KAFKA_DIR=""  # a Kafka cluster the test started itself (start_own_kafka), stopped on exit
ROUTER_GROUP=switchboard-routers

cleanup() {
  local code=$?
  for pid in "${ROUTER_PID[@]}" $LOADGEN_PID $BROKER_PID; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$OWN_KAFKA_DIR" ] || bash "$KAFKA_SH" stop "$OWN_KAFKA_DIR" || true
  if [ "$code" -ne 0 ] && [ -n "$OWN_KAFKA_DIR" ]; then
    for d in "$OWN_KAFKA_DIR"/broker-*; do cp "$d/server.log" "$WORK/kafka-$(basename "$d").log" || true; done
  fi
  if [ "$code" -ne 0 ]; then
    echo "--- logs (failure) in $WORK ---"
    for f in "$WORK"/*.log; do echo "== $f"; tail -25 "$f"; done
  elif [ -n "${SB_KEEP_WORK:-}" ]; then
    echo "--- logs kept in $WORK (SB_KEEP_WORK) ---"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

start_broker() {  # partitions
  if [ -n "${SB_TEST_KAFKA_DIR:-}" ]; then
    bash "$KAFKA_SH" reset "$SB_TEST_KAFKA_DIR" >"$WORK/kafka-reset.log" 2>&1 ||
      fail "could not empty the Kafka of $SB_TEST_KAFKA_DIR: $(tail -3 "$WORK/kafka-reset.log")"
    BOOTSTRAP=$(cat "$SB_TEST_KAFKA_DIR/bootstrap")
    # A JVM broker sharing 2 cores with the routers answers heartbeats later than the embedded
    # one: sessions shorter than 10 s time out under load (Kafka's own default is 45 s).
    [ "${SESSION_TIMEOUT_MS:-0}" -ge 10000 ] || SESSION_TIMEOUT_MS=10000
    # A group of this test's own: the previous test's static members (same node ids) may still
    # be in theirs, and a static member that rejoins gets its old assignment back, even of
    # partitions the recreated topics no longer have.
    ROUTER_GROUP="switchboard-routers-$(basename "$WORK")"
    "$SB" topics --kafka "$BOOTSTRAP" --partitions "$1" >"$WORK/topics.log" 2>&1 ||
      fail "switchboard topics: $(tail -3 "$WORK/topics.log")"
    echo "Apache Kafka at $BOOTSTRAP ($1 partitions)"
    return 0
  fi
  "$SB" broker --partitions "$1" --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.out" 2>"$WORK/broker.log" &
  BROKER_PID=$!
  for _ in $(seq 1 200); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
  [ -s "$WORK/bootstrap" ] || fail "broker did not start"
  BOOTSTRAP=$(cat "$WORK/bootstrap")
}

# Starts an Apache Kafka cluster of this test's own (N brokers, extra --set settings) and points
# start_broker at it.
start_own_kafka() {  # brokers, broker settings (key=value)...
  local n=$1; shift
  local sets=()
  for kv in "$@"; do sets+=(--set "$kv"); done
  OWN_KAFKA_DIR="$WORK/kafka"
  bash "$KAFKA_SH" start "$OWN_KAFKA_DIR" --brokers "$n" --warm ${sets[@]+"${sets[@]}"} \
    >"$WORK/kafka-start.log" 2>&1 || fail "Kafka did not start: $(tail -5 "$WORK/kafka-start.log")"
  SB_TEST_KAFKA_DIR="$OWN_KAFKA_DIR"
}

start_router() {  # node id
  local id=$1
  "$SB" router --kafka "$BOOTSTRAP" --node-id "$id" --data-dir "$WORK/data-$id" --config "$CONFIG" \
    --status-file "$WORK/status-$id.json" --status-interval-ms 5000 --kafka-setting "session.timeout.ms=${SESSION_TIMEOUT_MS:-3000}" \
    --kafka-setting heartbeat.interval.ms=500 --group "$ROUTER_GROUP" "${ROUTER_EXTRA[@]}" >>"$WORK/router-$id.log" 2>&1 &
  ROUTER_PID[$id]=$!
}

kill_router() {  # node id, signal
  local id=$1 sig=${2:-KILL}
  kill "-$sig" "${ROUTER_PID[$id]}"
  if [ "$sig" = TERM ]; then
    local rc=0
    wait "${ROUTER_PID[$id]}" || rc=$?
    [ "$rc" -eq 0 ] || fail "router $id exited $rc on SIGTERM"
  else
    wait "${ROUTER_PID[$id]}" 2>/dev/null || true
  fi
  unset "ROUTER_PID[$id]"
}

# A field of a router's status file (--status-file, router/node/status_file.h): a list printed
# space-separated; nothing while the file or the field does not exist yet.
status_field() {  # node id, field
  python3 - "$WORK/status-$1.json" "$2" <<'PY'
import json, sys
try:
    value = json.load(open(sys.argv[1])).get(sys.argv[2])
except (OSError, ValueError):
    sys.exit(0)
if isinstance(value, list):
    print(" ".join(map(str, value)))
elif value is not None:
    print(value)
PY
}

# Shards a router routes now (none while a rebalance runs, and after a clean stop).
shards_of() { status_field "$1" shards; }

# A status field of a router once it is set (bounded wait).
wait_field() {  # node id, field
  local v
  for _ in $(seq 1 300); do
    v=$(status_field "$1" "$2")
    [ -n "$v" ] && { echo "$v"; return 0; }
    sleep 0.1
  done
  fail "router $1: no $2 in its status file"
}

wait_routing() {  # node id: until it routes at least one shard (bounded)
  for _ in $(seq 1 300); do
    [ -n "$(shards_of "$1" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  fail "router $1 never routed a shard"
}

# A router that cannot work says why and exits non-zero within 30 s.
expect_refusal() {  # name, expected message part, router args...
  local name=$1 want=$2; shift 2
  local start rc=0
  start=$(now_ms)
  timeout 40 "$SB" router --node-id e1 --data-dir "$WORK/data-e1" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  local took=$(( $(now_ms) - start ))
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$name: exit $rc (want a non-zero exit of its own)"
  [ "$took" -le 30000 ] || fail "$name: took $took ms"
  grep -q -- "$want" "$WORK/$name.log" || fail "$name: no \"$want\" in: $(tail -3 "$WORK/$name.log")"
  echo "$name: exit $rc after $took ms: $(grep -- "$want" "$WORK/$name.log" | head -1)"
}

# The gRPC address a router logged (bounded: 30 s).
grpc_address() {  # node id
  for _ in $(seq 1 300); do
    addr=$(grep -o "router $1: grpc on [^ ]*" "$WORK/router-$1.log" | tail -1 | awk '{print $5}')
    [ -n "$addr" ] && { echo "$addr"; return; }
    sleep 0.1
  done
  fail "router $1: no \"grpc on\" line"
}

start_loadgen() {  # extra flags...
  "$SB" loadgen --kafka "$BOOTSTRAP" --config "$CONFIG" --verify --results "$WORK/verdict.json" \
    --epoch-log "$WORK/epochs.log" "$@" >"$WORK/loadgen.out" 2>"$WORK/loadgen.log" &
  LOADGEN_PID=$!
}

wait_loadgen() {
  local rc=0
  wait "$LOADGEN_PID" || rc=$?
  LOADGEN_PID=""
  cat "$WORK/loadgen.out"
  [ "$rc" -eq 0 ] || fail "loadgen exited $rc"
}

check_verdict() {  # expected submitted count
  python3 - "$WORK/verdict.json" "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
problems = [f"{k}={v[k]}" for k in ("lost", "duplicates", "ineligible", "over_capacity") if v[k] != 0]
if v["submitted"] < want: problems.append(f"submitted={v['submitted']} < {want}")
if v["assigned"] + v["abandoned"] != v["submitted"]: problems.append("assigned+abandoned != submitted")
if v["assigned"] == 0: problems.append("nothing assigned")
if problems: sys.exit("verdict: " + ", ".join(problems))
print(f"verdict ok: submitted {v['submitted']} assigned {v['assigned']} abandoned {v['abandoned']} "
      f"redelivered {v['redelivered']} p50 {v['p50_ms']} ms p99 {v['p99_ms']} ms "
      f"longest time without a new assignment {v.get('max_offer_gap_ms', 0)} ms")
PY
}

# Waits (up to 60 s) until the load generator has seen an output of one of the shards: a kill
# before that times nothing (on a busy machine Kafka's first outputs can take seconds).
wait_routed() {  # shards...
  for _ in $(seq 1 600); do
    [ -s "$WORK/epochs.log" ] && awk -v s=" $* " 'index(s, " " $2 " ") { f = 1 } END { exit !f }' \
      "$WORK/epochs.log" && return 0
    sleep 0.1
  done
  fail "no output of shards [$*] within 60 s of load"
}

# Time from a kill to the first output of a new owner of each shard the dead node routed (from
# the load generator's epoch log). Waits up to 40 s; prints per shard and the maximum; fails if
# some shard never got a new owner.
failover_ms() {  # kill time ms, shards...
  python3 - "$WORK/epochs.log" "$@" <<'PY'
import sys, time
log, kill_ms, shards = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
# Only shards that routed anything before the kill (a partition may hold no domain at all).
before = {int(l.split()[1]) for l in open(log) if int(l.split()[0]) < kill_ms}
shards = [s for s in shards if s in before]
if not shards: sys.exit("the dead node's shards had routed nothing before the kill")
deadline = time.time() + 40
while True:
    first = {}
    for line in open(log):
        t, shard, epoch = map(int, line.split())
        if t >= kill_ms and shard in shards and shard not in first:
            first[shard] = t - kill_ms
    missing = [s for s in shards if s not in first]
    if not missing: break
    if time.time() > deadline: sys.exit(f"shards {missing} got no new owner's output after the kill")
    time.sleep(0.2)
print(f"failover: kill -> first assignment on the dead node's shards {sorted(first.items())}; "
      f"max {max(first.values())} ms (target <= 10000)")
PY
}
