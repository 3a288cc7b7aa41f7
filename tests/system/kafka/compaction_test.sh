#!/usr/bin/env bash
# Real-Kafka-only system test: restore from a changelog that Kafka really compacted. One broker
# with a cleaner that runs every half second; the changelog rolls a segment every second and
# is compacted 5 s after a record is written (test-only settings). Fewer agents than the load
# needs, so queues build up and many records are not rewritten for a while. Router r1 routes all
# 12 shards (epoch 1 of each), then r2 joins and takes half of them (a newer epoch), while
# compaction removes superseded records, the older claims among them. Then both are killed and
# r3, with NO local state, takes over every shard from the log alone. The verdict must be
# lost = duplicates = ineligible = 0 with customers who never hang up.
# Usage: compaction_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/../cluster/lib.sh"

CONTACTS=${SB_CLUSTER_CONTACTS:-6000}
LOAD=(--contacts "$CONTACTS" --rate 300 --agents 120 --domains 16 --seed 29 --think-ms 100
      --handle-ms 300 --wrap-ms 100 --patience-s 0 --timeout-s 240 --floor-messages 200)

start_own_kafka 1 log.cleaner.backoff.ms=500 log.cleaner.dedupe.buffer.size=16777216 \
  log.retention.check.interval.ms=1000
start_broker 12
bash "$KAFKA_SH" tool "$OWN_KAFKA_DIR" org.apache.kafka.tools.ConfigCommand --alter \
  --entity-type topics --entity-name sb.router-changelog \
  --add-config segment.ms=1000,min.cleanable.dirty.ratio=0.01,min.compaction.lag.ms=5000,delete.retention.ms=0 \
  >/dev/null
# Snapshots every 0.5 s, so the 5 s compaction lag (10 x that, as the router checks) is met and
# compaction removes older snapshots, claims' neighbours and superseded records within the run.
ROUTER_EXTRA=(--snapshot-interval-s 0.5)

start_router r1
wait_routing r1
start_loadgen "${LOAD[@]}"
sleep 8
start_router r2
for _ in $(seq 1 300); do [ -n "$(shards_of r2)" ] && break; sleep 0.1; done
[ -n "$(shards_of r2)" ] || fail "r2 took no shard from r1"
echo "r2 joined: r1 routes [$(shards_of r1)], r2 routes [$(shards_of r2)]"

# Records the changelog still holds, against the offsets it has used.
changelog_holds() {
  local kept used q=()
  kept=$(kcat -b "$BOOTSTRAP" -C -t sb.router-changelog -o beginning -e -q -f '.\n' 2>/dev/null | wc -l)
  for p in $(seq 0 11); do q+=(-t "sb.router-changelog:$p:-1"); done
  used=$(kcat -b "$BOOTSTRAP" -Q "${q[@]}" 2>/dev/null | awk '{n += $NF} END {print n + 0}')
  echo "$kept $used"
}
sleep 8
compacted=""
for _ in $(seq 1 30); do
  read -r kept used <<<"$(changelog_holds)"
  if [ "$used" -gt 0 ] && [ "$kept" -lt $((used * 8 / 10)) ]; then compacted=yes; break; fi
  sleep 1
done
[ -n "$compacted" ] || fail "the changelog was not compacted within 30 s ($kept records kept of $used)"
echo "changelog compacted: $kept records kept of $used written"
kill_router r1 KILL
kill_router r2 KILL
echo "killed r1 and r2; r3 takes over every shard with no local state"
start_router r3
wait_loadgen
check_verdict "$CONTACTS"
echo "PASS kafka compaction"
