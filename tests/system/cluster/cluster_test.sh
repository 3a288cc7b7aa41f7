#!/usr/bin/env bash
# Cluster system tests (multi-process, real librdkafka mock broker):
#   basic     3 routers, 12 partitions, 20,000 contacts, 500 agents: lost = duplicates = ineligible = 0
#   failover  the same while a router is SIGKILLed and restarted, twice; prints kill → first
#             assignment on the dead node's shards
#   scale     1 → 3 → 2 routers under load (the last leaves with SIGTERM)
# Usage: cluster_test.sh <switchboard binary> <routing config> <basic|failover|scale>
set -euo pipefail
SB=$1
CONFIG=$2
MODE=$3
source "$(dirname "$0")/lib.sh"

CONTACTS=${SB_CLUSTER_CONTACTS:-20000}
LOAD=(--contacts "$CONTACTS" --rate 400 --agents 500 --domains 16 --seed 7 --think-ms 100
      --handle-ms 300 --wrap-ms 100 --timeout-s 150 --floor-messages 500)

start_broker 12
case "$MODE" in
  basic)
    for n in r1 r2 r3; do start_router $n; done
    for n in r1 r2 r3; do wait_routing $n; done
    start_loadgen "${LOAD[@]}"
    wait_loadgen
    check_verdict "$CONTACTS"
    ;;
  failover)
    for n in r1 r2 r3; do start_router $n; done
    for n in r1 r2 r3; do wait_routing $n; done
    start_loadgen "${LOAD[@]}"
    sleep 12
    for victim in r2 r3; do
      # The previous restart's rebalance may still be under way (its status then lists no
      # shards): the victim is killed once it routes again.
      dead_shards=""
      for _ in $(seq 1 300); do
        dead_shards=$(shards_of $victim)
        [ -n "$dead_shards" ] && break
        sleep 0.1
      done
      [ -n "$dead_shards" ] || fail "$victim routes nothing before the kill"
      wait_routed $dead_shards
      kill_at=$(now_ms)
      kill_router $victim KILL
      echo "killed $victim (shards $dead_shards) at $kill_at"
      failover_ms "$kill_at" $dead_shards
      start_router $victim
      echo "restarted $victim"
      sleep 6
    done
    wait_loadgen
    check_verdict "$CONTACTS"
    ;;
  scale)
    # No failover is timed here: the default session timeout, since a node claiming several
    # shards under ASan can outlast 3 s and be evicted, which only makes for more rebalances.
    SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-6000}
    start_router r1
    wait_routing r1
    start_loadgen "${LOAD[@]}"
    sleep 10
    start_router r2
    start_router r3
    for _ in $(seq 1 600); do  # up to 60 s for the group to settle with all three
      [ -n "$(shards_of r2)" ] && [ -n "$(shards_of r3)" ] && break
      sleep 0.1
    done
    [ -n "$(shards_of r2)" ] && [ -n "$(shards_of r3)" ] || fail "scale-out did not give r2 and r3 shards"
    kill_router r3 TERM
    echo "r3 left gracefully"
    wait_loadgen
    check_verdict "$CONTACTS"
    ;;
  *) fail "unknown mode $MODE" ;;
esac
echo "PASS cluster $MODE"
