#!/usr/bin/env bash
# System test: a real Prometheus server scrapes two routers on the embedded broker (job
# "switchboard", every second, with the recording rules of deploy/observability loaded) while the
# load generator runs contacts through them. Afterwards Prometheus's own answers agree with the
# load generator's verdict: contacts offered = submitted and answered = assigned exactly,
# abandoned = the verdict's abandoned (0: customers never abandon here), the queues drained
# (waiting contacts 0 by the recording rule), and the service-level recording rules are numbers
# in [0, 1] consistent with the counts (answered within 20 s / answered; 1 when every answered
# wait was within 20 s). Proves the rules evaluate in a real Prometheus on real scrapes, not
# only on promtool's synthetic series.
# Usage: prometheus_scrape_test.sh <switchboard binary> <routing config> <recording rules file>
set -euo pipefail
SB=$1
CONFIG=$2
RULES=$3
source "$(dirname "$0")/../cluster/lib.sh"

command -v prometheus >/dev/null || fail "prometheus not found on PATH (Debian package 'prometheus')"
[ -f "$RULES" ] || fail "no rules file $RULES"

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
start_broker "$PARTITIONS"
for n in r1 r2; do start_router $n; done
for n in r1 r2; do wait_routing $n; done

# Each router's metrics address from its "metrics on http://127.0.0.1:PORT/metrics" log line.
targets=()
for n in r1 r2; do
  addr=$(sed -n "s|^router $n: metrics on http://\(127\.0\.0\.1:[0-9]*\)/metrics$|\1|p" "$WORK/router-$n.log" | tail -1)
  [ -n "$addr" ] || fail "router $n logged no 'metrics on http://127.0.0.1:PORT/metrics' line"
  targets+=("\"$addr\"")
done

# Prometheus on a free loopback port, scraping both routers every second.
PROM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PROM=http://127.0.0.1:$PROM_PORT
cp "$RULES" "$WORK/switchboard.rules.yml"
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $WORK/switchboard.rules.yml
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
IN_SL='sum(sb_router_wait_seconds_bucket{job="switchboard",outcome="answered",le=~"20|20\\.0+"})'
WAITING='job:sb_router_waiting_contacts:sum{job="switchboard"}'
SL='job:sb_service_level:ratio_rate5m{job="switchboard"}'
# sl_consistent SL IN_SL ANSWERED ABANDONED: SL is a number in [0, 1] and, with no abandon,
# answered within 20 s / answered: exactly 1 when every answered wait was within 20 s (the
# bucket and the answered counter then hold the same samples, so their rates are equal); else
# close to the counts' ratio (rates over 5m extrapolate each series apart).
sl_consistent() {
  python3 - "$@" <<'PY'
import math, sys
if "none" in sys.argv[1:5]: sys.exit("no value yet")
sl, in_sl, answered, abandoned = (float(x) for x in sys.argv[1:5])
if math.isnan(sl) or not 0 <= sl <= 1: sys.exit(f"SL {sl} not in [0, 1]")
expected = in_sl / (answered + abandoned)
tolerance = 1e-9 if in_sl == answered and abandoned == 0 else 0.05
if abs(sl - expected) > tolerance: sys.exit(f"SL {sl}, counts give {expected} (tolerance {tolerance})")
print(f"SL {sl} = answered within 20 s {in_sl:.0f} / (answered {answered:.0f} + abandoned {abandoned:.0f})")
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
  state="offered $offered answered $answered abandoned $abandoned_m within 20 s $in_sl waiting $waiting SL $sl"
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

# Per queue: every queue that was offered contacts has an SL in [0, 1] (NaN only if its counters
# did not move between two scrapes), and the per-queue waiting rule is 0 everywhere.
queues=$(query_all 'sum by (queue) (sb_router_contacts_offered_total{job="switchboard"}) > 0' | wc -l)
[ "$queues" -gt 0 ] || fail "no queue was offered contacts by the metrics"
per_queue=$(query_all 'queue:sb_service_level:ratio_rate5m')
[ "$(wc -l <<<"$per_queue")" = "$queues" ] || fail "SL rule has $(wc -l <<<"$per_queue") queues, $queues were offered contacts: $per_queue"
while read -r labels value; do
  python3 -c 'import math, sys; v = float(sys.argv[1]); sys.exit(0 if math.isnan(v) or 0 <= v <= 1 else 1)' "$value" ||
    fail "SL of $labels is $value"
done <<<"$per_queue"
busy=$(query 'count(queue:sb_router_waiting_contacts:sum > 0)')
[ "$busy" = none ] || fail "$busy queues still have waiting contacts by the per-queue rule"

stop_prometheus
for n in r1 r2; do kill_router $n TERM; done
echo "PASS"
