#!/usr/bin/env bash
# System test: a real Prometheus server scrapes two routers on the embedded broker (job
# "switchboard", every second, with the recording and alert rules of deploy/observability loaded)
# while the load generator runs contacts through them. The routing config is the given one with
# one queue (d00.general) given its own service level: threshold 0.01 s, target 0.5 (no answer
# can be that fast: agents think 50 ms before accepting). Afterwards Prometheus's own answers
# agree with the load generator's verdict and the config: contacts offered = submitted and
# answered = assigned exactly, abandoned = the verdict's abandoned (0: customers never abandon
# here), the queues drained (waiting contacts 0 by the recording rule); every queue's target and
# threshold (recording rules from sb_router_queue_sl_*, exported by both routers) are the
# config's; the within-threshold counter equals the wait histogram's le="20" bucket on the 20 s
# queues and is absent on d00.general; the per-queue SL rule is 0 on d00.general (its own
# threshold applies, although every answer there was within 20 s) and about 1 elsewhere; the
# cluster SL rule is in [0, 1), consistent with the counts; SwitchboardServiceLevelLow is pending
# for d00.general (SL 0 < its target 0.5) and for no queue at or above its target. Proves the
# rules evaluate in a real Prometheus on real scrapes, not only on promtool's synthetic series.
# Usage: prometheus_scrape_test.sh <switchboard binary> <routing config> <recording rules file>
set -euo pipefail
SB=$1
CONFIG=$2
RULES=$3
source "$(dirname "$0")/../cluster/lib.sh"

command -v prometheus >/dev/null || fail "prometheus not found on PATH (Debian package 'prometheus')"
[ -f "$RULES" ] || fail "no rules file $RULES"
ALERTS_RULES=$(dirname "$RULES")/switchboard.alerts.yml
[ -f "$ALERTS_RULES" ] || fail "no alerts file $ALERTS_RULES"

# The config with d00.general's own service level (routers and load generator both read it).
SL_QUEUE=d00.general
python3 - "$CONFIG" "$WORK/config.yaml" "$SL_QUEUE" <<'PY'
import re, sys
src, dst, queue = sys.argv[1:4]
text = open(src).read()
block = re.search(r"(?m)^  - name: %s\n(?:    .*\n)*" % re.escape(queue), text)
if not block: sys.exit(f"queue {queue} not in {src}")
b = block.group(0)
b = re.sub(r"(?m)^    service_level_(threshold_s|target):.*\n", "", b)
b += "    service_level_threshold_s: 0.01\n    service_level_target: 0.5\n"
open(dst, "w").write(text[:block.start()] + b + text[block.end():])
PY
CONFIG=$WORK/config.yaml
# Expected settings per queue, "domain,queue target threshold" (the config's defaults: 0.8, 20 s).
# (The queues are blocks "  - name: ..." of "    key: value" lines, as in deploy/config.)
expected_settings=$(python3 - "$CONFIG" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
queues = text[re.search(r"(?m)^queues:\n", text).end():]
end = re.search(r"(?m)^\S", queues)  # the next top-level key
queues = queues[:end.start()] if end else queues
for block in re.finditer(r"(?m)^  - name: (\S+)\n((?:    .*\n)*)", queues):
    keys = dict(re.findall(r"(?m)^    (\w+): (.*)$", block.group(2)))
    print("%s,%s %s %s" % (keys["domain"], block.group(1),
                           float(keys.get("service_level_target", 0)) or 0.8,
                           float(keys.get("service_level_threshold_s", 0)) or 20.0))
PY
)
[ "$(wc -l <<<"$expected_settings")" -gt 1 ] || fail "no queues read from $CONFIG"

PROM_PID=""
stop_prometheus() {
  if [ -n "$PROM_PID" ]; then
    kill "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
    PROM_PID=""
  fi
}
# lib.sh's cleanup kills the cluster and keeps $WORK (logs) on failure; Prometheus goes first.
trap 'rc=$?; stop_prometheus; (exit $rc); cleanup' EXIT

PARTITIONS=4
ROUTER_EXTRA=(--metrics-bind 127.0.0.1)
# No failover is wanted here (a node that stops takes its counters along): a session timeout
# that a router or the broker starved for a few seconds on a busy machine does not outlast.
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-10000}
start_broker "$PARTITIONS"
for n in r1 r2; do start_router $n; done
for n in r1 r2; do wait_routing $n; done

# Each router's metrics address from its status file (metrics_url http://127.0.0.1:PORT/metrics).
targets=()
for n in r1 r2; do
  addr=$(wait_field $n metrics_url | sed -n 's|^http://\(127\.0\.0\.1:[0-9]*\)/metrics$|\1|p')
  [ -n "$addr" ] || fail "router $n: metrics_url is not http://127.0.0.1:PORT/metrics"
  targets+=("\"$addr\"")
done

# Prometheus on a free loopback port, scraping both routers every second.
PROM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PROM=http://127.0.0.1:$PROM_PORT
cp "$RULES" "$WORK/switchboard.rules.yml"
cp "$ALERTS_RULES" "$WORK/switchboard.alerts.yml"
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $WORK/switchboard.rules.yml
  - $WORK/switchboard.alerts.yml
scrape_configs:
  - job_name: switchboard
    static_configs:
      - targets: [$(IFS=,; echo "${targets[*]}")]
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
for _ in $(seq 1 300); do
  curl -sf --max-time 2 "$PROM/-/ready" >/dev/null 2>&1 && break
  kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited at startup (see prometheus.log)"
  sleep 0.1
done
curl -sf --max-time 2 "$PROM/-/ready" >/dev/null || fail "prometheus not ready on $PROM after 30 s"

# query EXPR: the value of the single sample of an instant query; "none" for an empty result.
query() {
  curl -sf --max-time 5 -G --data-urlencode "query=$1" "$PROM/api/v1/query" |
    python3 -c '
import json, sys
r = json.load(sys.stdin)
if r.get("status") != "success": sys.exit("query failed: %s" % r)
res = r["data"]["result"]
if len(res) > 1: sys.exit("%d samples, want 1: %s" % (len(res), res))
print(res[0]["value"][1] if res else "none")' || fail "query $1 failed"
}
# query_all EXPR: "labels value" per sample.
query_all() {
  curl -sf --max-time 5 -G --data-urlencode "query=$1" "$PROM/api/v1/query" |
    python3 -c '
import json, sys
for s in json.load(sys.stdin)["data"]["result"]:
    print(",".join("%s=%s" % kv for kv in sorted(s["metric"].items())), s["value"][1])' ||
    fail "query $1 failed"
}

# Both targets scraped before the load starts (bounded).
for _ in $(seq 1 300); do
  [ "$(query 'sum(up{job="switchboard"})')" = 2 ] && break
  sleep 0.1
done
[ "$(query 'sum(up{job="switchboard"})')" = 2 ] || fail "prometheus does not see both routers up after 30 s"

# Customers never abandon (--patience-s 0), so the verdict is deterministic: all answered.
start_loadgen --contacts 200 --rate 50 --agents 20 --domains 4 --seed 3 --think-ms 50 \
  --handle-ms 200 --wrap-ms 50 --patience-s 0 --timeout-s 60 --floor-messages 0
wait_loadgen
check_verdict 200
read -r submitted assigned abandoned < <(python3 -c '
import json, sys; v = json.load(open(sys.argv[1])); print(v["submitted"], v["assigned"], v["abandoned"])' "$WORK/verdict.json")
echo "loadgen: submitted $submitted assigned $assigned abandoned $abandoned"

# Prometheus catches up with the routers' final counters and gauges within a few scrapes and
# rule evaluations: wait (bounded) until every figure is final, then check them.
OFFERED='sum(sb_router_contacts_offered_total{job="switchboard"})'
ANSWERED='sum(sb_router_contacts_answered_total{job="switchboard"})'
ABANDONED='sum(sb_router_contacts_abandoned_total{job="switchboard"})'
IN_SL='sum(sb_router_contacts_answered_within_sl_total{job="switchboard"})'
WAITING='job:sb_router_waiting_contacts:sum{job="switchboard"}'
SL='job:sb_service_level:ratio_rate5m{job="switchboard"}'
# sl_consistent SL IN_SL ANSWERED ABANDONED: the cluster SL is a number in [0, 1), below 1 since
# d00.general's answers count in the denominator and never in the numerator, and close to the
# counts' ratio answered within the threshold / (answered + abandoned) (rates over 5m extrapolate
# each series apart, so not exactly).
sl_consistent() {
  python3 - "$@" <<'PY'
import math, sys
if "none" in sys.argv[1:5]: sys.exit("no value yet")
sl, in_sl, answered, abandoned = (float(x) for x in sys.argv[1:5])
if math.isnan(sl) or not 0 <= sl < 1: sys.exit(f"SL {sl} not in [0, 1)")
expected = in_sl / (answered + abandoned)
if abs(sl - expected) > 0.05: sys.exit(f"SL {sl}, counts give {expected} (tolerance 0.05)")
print(f"SL {sl} (counts: answered within threshold {in_sl:.0f} / (answered {answered:.0f} + abandoned {abandoned:.0f}) = {expected:.4f})")
PY
}
deadline=$((SECONDS + 60))
while :; do
  offered=$(query "$OFFERED")
  answered=$(query "$ANSWERED")
  abandoned_m=$(query "$ABANDONED")
  [ "$abandoned_m" = none ] && abandoned_m=0  # no contact abandoned: no series at all
  in_sl=$(query "$IN_SL")
  waiting=$(query "$WAITING")
  sl=$(query "$SL")
  state="offered $offered answered $answered abandoned $abandoned_m within threshold $in_sl waiting $waiting SL $sl"
  if [ "$offered" = "$submitted" ] && [ "$answered" = "$assigned" ] &&
    [ "$abandoned_m" = "$abandoned" ] && [ "$waiting" = 0 ] &&
    sl_consistent "$sl" "$in_sl" "$answered" "$abandoned_m" >/dev/null 2>&1; then
    break
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "after 60 s Prometheus has $state; the loadgen: submitted $submitted assigned $assigned abandoned $abandoned"
  sleep 0.5
done
echo "prometheus: $state"

# The counters: exact (no failover here, so nothing is counted twice).
[ "$offered" = "$submitted" ] || fail "offered $offered != submitted $submitted"
[ "$answered" = "$assigned" ] || fail "answered $answered != assigned $assigned"
[ "$abandoned_m" = "$abandoned" ] || fail "abandoned $abandoned_m != the verdict's $abandoned"
[ "$waiting" = 0 ] || fail "$waiting contacts waiting after the load drained"

# The service level (the rule of the whole cluster).
sl_consistent "$sl" "$in_sl" "$answered" "$abandoned" || fail "service level $sl inconsistent with the counts"

# Every queue's settings: both routers export every queue's gauges, the recording rules (max
# over the nodes) give the config's target and threshold.
for gauge in sb_router_queue_sl_target_ratio sb_router_queue_sl_threshold_seconds; do
  per_node=$(query_all "count by (domain, queue) ($gauge{job=\"switchboard\"}) != 2")
  [ -z "$per_node" ] || fail "$gauge not exported by both routers for: $per_node"
done
settings=$(python3 - "$(query_all 'queue:sb_service_level_target:ratio')" \
  "$(query_all 'queue:sb_service_level_threshold:seconds')" <<'PY'
import sys
def parse(text):
    out = {}
    for line in text.splitlines():
        labels, value = line.rsplit(" ", 1)
        kv = dict(x.split("=", 1) for x in labels.split(","))
        out["%s,%s" % (kv["domain"], kv["queue"])] = float(value)
    return out
target, threshold = parse(sys.argv[1]), parse(sys.argv[2])
for key in sorted(set(target) | set(threshold)):
    print(key, target.get(key), threshold.get(key))
PY
)
[ "$(sort <<<"$settings")" = "$(sort <<<"$expected_settings")" ] ||
  fail "queue target/threshold rules differ from the config:$(diff <(sort <<<"$expected_settings") <(sort <<<"$settings") | sed 's/^/ /')"
echo "settings: $(wc -l <<<"$settings") queues, $SL_QUEUE: $(grep "^d00,$SL_QUEUE " <<<"$settings")"

# The numerator is the within-threshold counter: on the 20 s queues it counts exactly the
# histogram's le="20" bucket; on d00.general (0.01 s) nothing, although it answered contacts.
mismatch=$(query_all "sum by (queue) (sb_router_contacts_answered_within_sl_total{job=\"switchboard\"}) != sum by (queue) (sb_router_wait_seconds_bucket{job=\"switchboard\",outcome=\"answered\",le=~\"20|20\\\\.0+\",queue!=\"$SL_QUEUE\"})")
[ -z "$mismatch" ] || fail "answered within 20 s by the counter and by the le=\"20\" bucket differ: $mismatch"
only_bucket=$(query_all "sum by (queue) (sb_router_wait_seconds_bucket{job=\"switchboard\",outcome=\"answered\",le=~\"20|20\\\\.0+\",queue!=\"$SL_QUEUE\"}) unless sum by (queue) (sb_router_contacts_answered_within_sl_total{job=\"switchboard\"})")
[ -z "$only_bucket" ] || fail "answered within 20 s by the bucket but no within-threshold counter: $only_bucket"
sl_answered=$(query "sum(sb_router_contacts_answered_total{job=\"switchboard\",queue=\"$SL_QUEUE\"})")
[ "$sl_answered" != none ] && [ "$sl_answered" != 0 ] || fail "$SL_QUEUE answered no contact (the load generator's seed should give it some)"
sl_within=$(query "sum(sb_router_contacts_answered_within_sl_total{job=\"switchboard\",queue=\"$SL_QUEUE\"})")
[ "$sl_within" = none ] || [ "$sl_within" = 0 ] || fail "$SL_QUEUE answered $sl_within contacts within 0.01 s"

# Per queue: every queue that was offered contacts has an SL; d00.general exactly 0 (its own
# threshold), any other queue whose every answer was within its threshold about 1 (exactly 1
# unless a scrape fell between the two counters' increments), the rest in [0, 1] (NaN only if
# its counters did not move between two scrapes); the per-queue waiting rule is 0 everywhere.
queues=$(query_all 'sum by (queue) (sb_router_contacts_offered_total{job="switchboard"}) > 0' | wc -l)
[ "$queues" -gt 0 ] || fail "no queue was offered contacts by the metrics"
per_queue=$(query_all 'queue:sb_service_level:ratio_rate5m')
[ "$(wc -l <<<"$per_queue")" = "$queues" ] || fail "SL rule has $(wc -l <<<"$per_queue") queues, $queues were offered contacts: $per_queue"
all_within=$(query_all 'sum by (domain, queue) (sb_router_contacts_answered_within_sl_total{job="switchboard"}) == sum by (domain, queue) (sb_router_contacts_answered_total{job="switchboard"})' | cut -d' ' -f1)
while read -r labels value; do
  python3 - "$labels" "$value" "$SL_QUEUE" "$all_within" <<'PY' || fail "SL of $labels is $value"
import math, sys
labels, v, sl_queue, all_within = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4].split()
labels = ",".join(kv for kv in labels.split(",") if not kv.startswith("__name__="))
if labels.endswith("queue=" + sl_queue): sys.exit(0 if v == 0 else 1)
if labels in all_within: sys.exit(0 if abs(v - 1) <= 0.05 else 1)
sys.exit(0 if math.isnan(v) or 0 <= v <= 1 else 1)
PY
done <<<"$per_queue"
echo "per-queue SL: $(grep -c . <<<"$per_queue") queues, $(grep "queue=$SL_QUEUE " <<<"$per_queue")"
busy=$(query 'count(queue:sb_router_waiting_contacts:sum > 0)')
[ "$busy" = none ] || fail "$busy queues still have waiting contacts by the per-queue rule"

# The alert compares each queue with its own target: pending (for: 15m) for d00.general (SL 0 <
# 0.5) within a few evaluations, and for no queue whose SL is at or above its target.
ALERT='ALERTS{alertname="SwitchboardServiceLevelLow"}'
PENDING="count(ALERTS{alertname=\"SwitchboardServiceLevelLow\",queue=\"$SL_QUEUE\",alertstate=\"pending\"})"
for _ in $(seq 1 60); do
  [ "$(query "$PENDING")" = 1 ] && break
  sleep 0.5
done
[ "$(query "$PENDING")" = 1 ] ||
  fail "SwitchboardServiceLevelLow not pending for $SL_QUEUE: $(query_all "$ALERT")"
wrong=$(query_all "$ALERT and on (domain, queue) (queue:sb_service_level:ratio_rate5m >= on (domain, queue) queue:sb_service_level_target:ratio)")
[ -z "$wrong" ] || fail "SwitchboardServiceLevelLow for queues at or above their target: $wrong"
echo "alerts: $(query_all "$ALERT" | tr '\n' ';')"

stop_prometheus
for n in r1 r2; do kill_router $n TERM; done
echo "PASS"
