#!/usr/bin/env bash
# Real-Kafka-only system test: the topic settings Switchboard needs. `switchboard topics`
# creates the topics (compacted state topics, time-retained streams); a router refuses topics
# with the wrong cleanup policy or too few partitions, naming the topic and the setting.
# Usage: topics_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/../cluster/lib.sh"
[ -n "${SB_TEST_KAFKA_DIR:-}" ] || fail "needs SB_TEST_KAFKA_DIR (the ctest fixture kafka)"

kafka_tool() { bash "$KAFKA_SH" tool "$SB_TEST_KAFKA_DIR" "$@"; }
# Every topic's dynamic configs in one JVM run: lines "topic key=value".
describe_all() {
  kafka_tool org.apache.kafka.tools.ConfigCommand --describe --entity-type topics | python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"Dynamic configs for topic (\S+) are:", line)
    if m: topic = m.group(1); continue
    m = re.match(r"\s+([a-z.]+)=(\S+)", line)
    if m: print(topic, m.group(1) + "=" + m.group(2))'
}
alter() {  # topic, key=value
  kafka_tool org.apache.kafka.tools.ConfigCommand --alter --entity-type topics --entity-name "$1" \
    --add-config "$2" >/dev/null
}

start_broker 4  # resets the shared Kafka, then `switchboard topics --partitions 4`
cat "$WORK/topics.log"
describe_all >"$WORK/configs.txt"
has() { grep -qx "$1 $2" "$WORK/configs.txt" || fail "$1 was not created with $2"; }
for t in sb.router-changelog sb.stats sb.followups sb.control; do
  has $t cleanup.policy=compact
  has $t min.compaction.lag.ms=3600000
done
for t in sb.contacts sb.agent-events sb.assignments; do
  has $t cleanup.policy=delete
  has $t retention.ms=604800000
done
echo "created: state topics compacted, streams kept 7 days"
"$SB" topics --kafka "$BOOTSTRAP" >"$WORK/check.log" 2>&1 || fail "check of good topics: $(cat "$WORK/check.log")"

alter sb.router-changelog cleanup.policy=delete
expect_refusal changelog_delete "topic sb.router-changelog: cleanup.policy=delete, Switchboard needs cleanup.policy=compact" \
  --kafka "$BOOTSTRAP" --config "$CONFIG"
rc=0; "$SB" topics --kafka "$BOOTSTRAP" >"$WORK/topics-bad.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "sb.router-changelog: cleanup.policy=delete" "$WORK/topics-bad.log" ||
  fail "switchboard topics accepted a deleting changelog (exit $rc)"
alter sb.router-changelog cleanup.policy=compact

alter sb.contacts cleanup.policy=compact
expect_refusal contacts_compact "topic sb.contacts: cleanup.policy=compact, Switchboard needs cleanup.policy=delete" \
  --kafka "$BOOTSTRAP" --config "$CONFIG"
alter sb.contacts cleanup.policy=delete

kafka_tool org.apache.kafka.tools.TopicCommand --delete --topic sb.assignments >/dev/null
for _ in $(seq 1 100); do
  kcat -b "$BOOTSTRAP" -L -t sb.assignments 2>/dev/null | grep -q 'partition 0' || break
  sleep 0.2
done
kafka_tool org.apache.kafka.tools.TopicCommand --create --topic sb.assignments --partitions 2 \
  --config cleanup.policy=delete >/dev/null
expect_refusal few_partitions "sb.assignments=2" --kafka "$BOOTSTRAP" --config "$CONFIG" --partitions 4
echo "PASS kafka topics"
