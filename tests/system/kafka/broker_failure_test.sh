#!/usr/bin/env bash
# Real-Kafka-only system test: a broker dies under load. Three Apache Kafka brokers (replication
# 3, min.insync.replicas 2), two routers, 4 shards, 100 contacts/s from customers who never hang
# up (three JVM brokers idle take a third of this machine's 2 cores: the load is kept small). The
# broker that leads the most sb.contacts and changelog partitions, among those that are not the
# active KRaft controller, is killed with SIGKILL and started again 15 s later. (Killing the
# controller as well makes the two survivors re-elect one with Kafka's 2 s raft timeouts, which
# on this machine, starved by three JVMs and two sanitized routers, flapped for up to 40 s:
# measured, and a property of the machine, not of the routers.) The routers must keep routing: 0 lost, 0 duplicates, 0 ineligible; prints the
# longest time without a new assignment (leadership moves once the controller fences the dead
# broker: broker.session.timeout.ms, 9 s by default).
# Usage: broker_failure_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/../cluster/lib.sh"

CONTACTS=${SB_CLUSTER_CONTACTS:-3500}
LOAD=(--contacts "$CONTACTS" --rate 100 --agents 200 --domains 8 --seed 17 --think-ms 100
      --handle-ms 300 --wrap-ms 100 --patience-s 0 --timeout-s 150 --floor-messages 200)

# The controllers' raft timeouts (fetch 2 s, election 1 s by default) are raised: with three JVMs,
# two routers and the load generator on 2 cores (load average ~35 during this test, measured), the
# quorum lost its leader every few seconds even before the kill. Partition leadership still
# moves once the controller fences the dead broker (broker.session.timeout.ms, 9 s).
start_own_kafka 3 num.network.threads=1 num.io.threads=2 controller.quorum.fetch.timeout.ms=10000 \
  controller.quorum.election.timeout.ms=3000
start_broker 4
for n in r1 r2; do start_router $n; done
for n in r1 r2; do wait_routing $n; done

# Partition leaders of sb.contacts and sb.router-changelog by broker, most first ("2:4 1:2 3:2");
# asked again while a busy broker does not answer the metadata request.
leader_counts() {
  local counts
  for _ in $(seq 1 20); do
    counts=$(kcat -b "$BOOTSTRAP" -L -J 2>/dev/null | leader_counts_of) && [ -n "$counts" ] &&
      { echo "$counts"; return 0; }
    sleep 0.5
  done
  echo "(metadata unavailable)"
}
leader_counts_of() {
  python3 -c '
import json, sys, collections
md = json.load(sys.stdin)
n = collections.Counter()
for t in md["topics"]:
    if t["topic"] in ("sb.contacts", "sb.router-changelog"):
        for p in t["partitions"]:
            n[p["leader"]] += 1
print(" ".join(f"{b}:{c}" for b, c in n.most_common()))' 2>/dev/null
}

controller=$(bash "$KAFKA_SH" controller "$OWN_KAFKA_DIR")
start_loadgen "${LOAD[@]}"
sleep 10
counts=$(leader_counts)
victim=""
for c in $counts; do
  [ "${c%%:*}" = "$controller" ] || { victim=${c%%:*}; break; }
done
[[ $victim =~ ^[0-9]+$ ]] || fail "no partition leader besides the controller $controller: $counts"
kill_at=$(now_ms)
bash "$KAFKA_SH" kill "$OWN_KAFKA_DIR" "$victim"
echo "killed broker $victim (partition leaders before: $counts; controller $controller) at $kill_at"
sleep 15
bash "$KAFKA_SH" restart "$OWN_KAFKA_DIR" "$victim"
bash "$KAFKA_SH" wait "$OWN_KAFKA_DIR" 3 || fail "broker $victim did not come back"
echo "broker $victim back after $(( $(now_ms) - kill_at )) ms; leaders now: $(leader_counts)"
wait_loadgen
check_verdict "$CONTACTS"
for n in r1 r2; do
  kill -0 "${ROUTER_PID[$n]}" 2>/dev/null || fail "router $n died during the broker failure"
done
echo "PASS kafka broker failure"
