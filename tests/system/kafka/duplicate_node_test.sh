#!/usr/bin/env bash
# Real-Kafka-only system test: two routers started with the same --node-id (an operator's
# copy-paste, two pods with one name). Static membership makes each one's join fence the other;
# each fenced router releases its shards and joins again, and one fenced four times within five
# minutes stops, naming the node id. Exactly one must be left, routing every shard.
# Usage: duplicate_node_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/../cluster/lib.sh"

start_broker 4
start_router r1
wait_routing r1
# The twin: same node id, its own data directory and log.
"$SB" router --kafka "$BOOTSTRAP" --node-id r1 --data-dir "$WORK/data-twin" --config "$CONFIG" \
  --status-file "$WORK/status-twin.json" --status-interval-ms 5000 --kafka-setting "session.timeout.ms=$SESSION_TIMEOUT_MS" \
  --kafka-setting heartbeat.interval.ms=500 --group "$ROUTER_GROUP" >"$WORK/router-twin.log" 2>&1 &
ROUTER_PID[twin]=$!

alive() { kill -0 "${ROUTER_PID[$1]}" 2>/dev/null; }
for _ in $(seq 1 1800); do  # up to 180 s
  alive r1 && alive twin || break
  sleep 0.1
done
if alive r1 && alive twin; then fail "both routers with node id r1 still run after 180 s"; fi
if alive r1; then gone=twin; left=r1; else gone=r1; left=twin; fi
# It says why, in its status file (and its log).
why=$(status_field "$gone" error)
[ "$(status_field "$gone" state)" = failed ] && [[ $why == *"is another router running with --node-id r1"* ]] ||
  fail "the router that stopped did not say why: $(cat "$WORK/status-$gone.json"; tail -3 "$WORK/router-$gone.log")"
echo "$gone stopped: $why"
# The one left routes all 4 shards again.
for _ in $(seq 1 600); do
  [ "$(shards_of "$left" | wc -w)" -eq 4 ] && break
  sleep 0.1
done
[ "$(shards_of "$left" | wc -w)" -eq 4 ] || fail "$left routes [$(shards_of "$left")], not all 4 shards"
echo "$left routes [$(shards_of "$left")]"
echo "PASS kafka duplicate node id"
