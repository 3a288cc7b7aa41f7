#!/usr/bin/env bash
# Real-Kafka-only system test: static group membership (group.instance.id = node id). Three
# routers own 12 shards; under load, r2 is killed with SIGKILL and started again within the
# session timeout. It must get its own shards back without a rebalance of the others: r1 and r3
# release nothing and route the same shards before and after; r2 routes the same shards as before.
# The load generator's verdict must stay clean (customers who never hang up).
# Usage: static_membership_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/../cluster/lib.sh"

CONTACTS=${SB_CLUSTER_CONTACTS:-8000}
LOAD=(--contacts "$CONTACTS" --rate 400 --agents 500 --domains 16 --seed 23 --think-ms 100
      --handle-ms 300 --wrap-ms 100 --patience-s 0 --timeout-s 120 --floor-messages 200)
# Long enough for a restart (process start, RocksDB open) to come back inside it.
SESSION_TIMEOUT_MS=15000

start_broker 12
for n in r1 r2 r3; do start_router $n; done
# Settled: every one of the 12 shards routed by exactly one router.
settled() {
  local all
  all=$(for n in r1 r2 r3; do shards_of $n; echo; done | tr ' ' '\n' | grep -c . || true)
  [ -n "$(shards_of r1)" ] && [ -n "$(shards_of r2)" ] && [ -n "$(shards_of r3)" ] && [ "$all" -eq 12 ]
}
for _ in $(seq 1 600); do settled && break; sleep 0.1; done
settled || fail "the group did not settle on 12 shards over 3 routers"
sleep 2  # no rebalance still in flight
declare -A BEFORE RELEASED
for n in r1 r2 r3; do
  BEFORE[$n]=$(shards_of $n)
  RELEASED[$n]=$(grep -c 'released' "$WORK/router-$n.log" || true)
done
echo "before: r1 [${BEFORE[r1]}] r2 [${BEFORE[r2]}] r3 [${BEFORE[r3]}]"

start_loadgen "${LOAD[@]}"
sleep 6
routed_before=$(grep -c 'routing shards' "$WORK/router-r2.log")
restart_at=$(now_ms)
kill_router r2 KILL
start_router r2
for _ in $(seq 1 300); do
  [ "$(grep -c 'routing shards' "$WORK/router-r2.log")" -gt "$routed_before" ] && break
  sleep 0.1
done
[ "$(grep -c 'routing shards' "$WORK/router-r2.log")" -gt "$routed_before" ] ||
  fail "restarted r2 routes nothing 30 s after its restart"
echo "r2 restarted and routing again after $(( $(now_ms) - restart_at )) ms"
sleep 3
moved=""
for n in r1 r2 r3; do
  after=$(shards_of $n)
  echo "after:  $n [$after]"
  [ "$after" = "${BEFORE[$n]}" ] || moved+=" $n: [${BEFORE[$n]}] -> [$after]"
done
for n in r1 r3; do
  [ "$(grep -c 'released' "$WORK/router-$n.log" || true)" -eq "${RELEASED[$n]}" ] ||
    moved+=" $n released shards"
done
[ -z "$moved" ] || fail "shards moved on a restart within the session timeout:$moved"
echo "shards moved by the restart: none"
wait_loadgen
check_verdict "$CONTACTS"
echo "PASS kafka static membership"
