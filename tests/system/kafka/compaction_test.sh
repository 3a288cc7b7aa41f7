#!/usr/bin/env bash
# Real-Kafka-only system test: restore from a changelog that Kafka really compacted. One broker
# with a cleaner that runs every half second; the changelog rolls a segment every second and
# is compacted as soon as anything is dirty (test-only settings). Router r1 routes 12 shards
# under load (customers who never hang up) long enough for compaction to remove records; then it
# is killed and r2, with NO local state, takes over every shard from the log alone. The verdict
# must be lost = duplicates = ineligible = 0.
# Usage: compaction_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/../cluster/lib.sh"

CONTACTS=${SB_CLUSTER_CONTACTS:-12000}
LOAD=(--contacts "$CONTACTS" --rate 400 --agents 300 --domains 16 --seed 29 --think-ms 100
      --handle-ms 300 --wrap-ms 100 --patience-s 0 --timeout-s 150 --floor-messages 200)

start_own_kafka 1 log.cleaner.backoff.ms=500 log.cleaner.dedupe.buffer.size=16777216 \
  log.retention.check.interval.ms=1000
start_broker 12
bash "$KAFKA_SH" tool "$OWN_KAFKA_DIR" org.apache.kafka.tools.ConfigCommand --alter \
  --entity-type topics --entity-name sb.router-changelog \
  --add-config segment.ms=1000,min.cleanable.dirty.ratio=0.01,min.compaction.lag.ms=0,delete.retention.ms=0 \
  >/dev/null

start_router r1
wait_routing r1
start_loadgen "${LOAD[@]}"

# Records a partition still holds, against the offsets it has used.
changelog_holds() {
  local kept=0 used=0 p n hw
  for p in $(seq 0 11); do
    n=$(kcat -b "$BOOTSTRAP" -C -t sb.router-changelog -p "$p" -o beginning -e -q -f '.\n' 2>/dev/null | wc -l)
    hw=$(kcat -b "$BOOTSTRAP" -Q -t "sb.router-changelog:$p:-1" 2>/dev/null | awk '{print $NF}')
    kept=$((kept + n)); used=$((used + ${hw:-0}))
  done
  echo "$kept $used"
}
compacted=""
for _ in $(seq 1 60); do
  sleep 1
  read -r kept used <<<"$(changelog_holds)"
  if [ "$used" -gt 0 ] && [ "$kept" -lt $((used * 9 / 10)) ]; then compacted=yes; break; fi
done
[ -n "$compacted" ] || fail "the changelog was not compacted within 60 s ($kept records kept of $used)"
echo "changelog compacted: $kept records kept of $used written"
sleep 5
kill_router r1 KILL
echo "killed r1; r2 takes over with no local state"
start_router r2
wait_loadgen
check_verdict "$CONTACTS"
echo "PASS kafka compaction"
