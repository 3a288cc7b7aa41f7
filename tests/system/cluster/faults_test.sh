#!/usr/bin/env bash
# Fault-injection system tests (issue "exactly-once under every takeover"), on the embedded
# broker, with customers who never hang up (--patience-s 0): every contact must be assigned,
# once, to an eligible agent within its capacity (verdict lost = duplicates = ineligible =
# over_capacity = 0).
#   freeze      a router frozen (SIGSTOP) past its session timeout under load, then resumed: the
#               others took its shards; its late writes are fenced and ignored.
#   mid_claim   a router killed (-9), and a second one killed while the survivors claim its
#               shards; both restarted.
#   desk_move   the agents' desktops over gRPC (loadgen --agents-via grpc): the streams to r1 drop
#               mid-load, connected calls and open offers included; every desktop logs in again
#               through r2 within the grace period (a session move): r1 drops its grace-period
#               logouts on hearing of the move, and the engine would refuse them as stale; no
#               call is taken from its agent (a stolen call shows as connected twice).
#   fresh       two routers under load (2 partitions) until retention removed the head of a
#               changelog partition (the embedded broker keeps ~5 MB of one), then both killed: a third with NO local
#               state takes every shard over from the newest snapshot and the log after it.
# Usage: faults_test.sh <switchboard binary> <routing config> <freeze|mid_claim|fresh>
set -euo pipefail
SB=$1
CONFIG=$2
MODE=$3
source "$(dirname "$0")/lib.sh"

CONTACTS=${SB_CLUSTER_CONTACTS:-6000}
LOAD=(--contacts "$CONTACTS" --rate 400 --agents 400 --domains 16 --seed 11 --think-ms 100
      --handle-ms 300 --wrap-ms 100 --patience-s 0 --timeout-s 150 --floor-messages 200)

# The lowest offset partition P of the changelog still holds.
changelog_first() {
  kcat -b "$BOOTSTRAP" -Q -t "sb.router-changelog:$1:-2" 2>/dev/null | awk '{print $NF; exit}'
}

# fresh: 2 partitions, so each changelog partition outgrows the embedded broker's ~5 MB early.
PARTITIONS=12
[ "$MODE" = fresh ] && PARTITIONS=2
start_broker $PARTITIONS
case "$MODE" in
  freeze)
    for n in r1 r2 r3; do start_router $n; done
    for n in r1 r2 r3; do wait_routing $n; done
    start_loadgen "${LOAD[@]}"
    sleep 8
    # Bounded, as in cluster_test.sh: a rebalance may still run (a router that joined last makes
    # the group claim again, and under a loaded CI a claim takes most of a second per shard),
    # and a router lists no shards until all it was given are claimed.
    frozen=""
    for _ in $(seq 1 300); do
      frozen=$(shards_of r2)
      [ -n "$frozen" ] && break
      sleep 0.1
    done
    [ -n "$frozen" ] || fail "r2 routes nothing 38 s after the load started"
    wait_routed $frozen
    frozen_at=$(now_ms)
    kill -STOP "${ROUTER_PID[r2]}"
    echo "froze r2 (shards $frozen)"
    # Past its session timeout (3 s), until the others routed its shards.
    failover_ms "$frozen_at" $frozen
    kill -CONT "${ROUTER_PID[r2]}"
    echo "resumed r2"
    wait_loadgen
    check_verdict "$CONTACTS"
    ;;
  mid_claim)
    for n in r1 r2 r3; do start_router $n; done
    for n in r1 r2 r3; do wait_routing $n; done
    start_loadgen "${LOAD[@]}"
    sleep 8
    kill_router r2 KILL
    echo "killed r2"
    # r1 and r3 claim r2's shards once its session (3 s) expired: kill r3 as the claims begin.
    for _ in $(seq 1 100); do
      grep -q "claimed epoch 2" "$WORK/router-r1.log" "$WORK/router-r3.log" 2>/dev/null && break
      sleep 0.05
    done
    kill_router r3 KILL
    echo "killed r3 during the claims"
    start_router r2
    start_router r3
    wait_loadgen
    check_verdict "$CONTACTS"
    ;;
  desk_move)
    ROUTER_EXTRA=(--no-auth --agent-grace-s 10)
    start_router r1
    start_router r2
    A1=$(grpc_address r1)
    A2=$(grpc_address r2)
    wait_routing r1
    wait_routing r2
    # Calls of 1.5 s, so many are connected when the streams drop; ~40% of the agents' capacity
    # (each agent's skills serve only some queues: near full load, some queues back up).
    start_loadgen --contacts 2000 --rate 50 --agents 240 --domains 16 --seed 13 --think-ms 100 \
      --handle-ms 1500 --wrap-ms 200 --patience-s 0 --timeout-s 150 --floor-messages 200 \
      --agents-via grpc --gateways "$A1,$A2" --cut-desks-after-s 10
    wait_loadgen
    check_verdict 2000
    grep -q "loadgen: cut [1-9]" "$WORK/loadgen.log" || fail "no desktop stream was cut"
    # A stolen call would show in the verdict (connected twice); the routers log the first
    # refusals they make, stale logouts among them when they come early enough.
    echo "stale-session refusals logged: $(cat "$WORK"/router-r*.log | grep -c "ignored: session" || true)"
    ;;
  fresh)
    start_router r1
    start_router r2
    wait_routing r1
    start_loadgen "${LOAD[@]}"
    gone=""
    for _ in $(seq 1 600); do
      for p in $(seq 0 $((PARTITIONS - 1))); do
        first=$(changelog_first "$p")
        if [ -n "$first" ] && [ "$first" -gt 0 ]; then gone="$p@$first"; break; fi
      done
      [ -n "$gone" ] && break
      sleep 0.1
    done
    [ -n "$gone" ] || fail "retention removed no changelog head within 60 s"
    echo "changelog head gone: partition@first offset $gone"
    kill_router r1 KILL
    kill_router r2 KILL
    echo "killed r1 and r2; r3 takes over every shard with no local state"
    start_router r3
    wait_loadgen
    check_verdict "$CONTACTS"
    p=${gone%@*}
    grep -E "shard $p: claimed epoch" "$WORK/router-r3.log" | grep -qv " 0 complete snapshots read" ||
      fail "r3 restored shard $p without a snapshot: $(grep "shard $p: " "$WORK/router-r3.log" | tail -3)"
    ;;
  *) fail "unknown mode $MODE" ;;
esac
echo "PASS faults $MODE"
