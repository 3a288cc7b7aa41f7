#!/usr/bin/env bash
# Cluster benchmark: broker (the embedded one, or Apache Kafka when SB_TEST_KAFKA_DIR names one
# started by tools/kafka/kafka.sh) + 1 router + loadgen at RATE contacts/s for SECONDS (default 5,000/s
# for 60 s). Writes the loadgen verdict (throughput, p50/p99 intake → offer, the raw librdkafka
# floor measured in the same run, ratio_p99) to RESULTS and prints it; exits non-zero when the
# run lost or duplicated anything, or when the benchmark check fails: sustained throughput below
# 90% of RATE or ratio_p99 above 3.
# Knobs: SB_BENCH_RATE, SB_BENCH_SECONDS, SB_BENCH_PARTITIONS (default 12), SB_BENCH_KAFKA
# ("k=v ..." librdkafka settings for the router and the load generator). On the embedded broker
# the latency at 5,000/s is bounded by the broker, not the router: librdkafka's mock cluster finds
# a fetch offset by walking the partition's batches from the oldest, and returns one batch per
# partition per fetch (see the cluster section of README.md for measured figures).
# Usage: cluster_bench.sh <switchboard binary> <routing config> <results.json>
set -euo pipefail
SB=$1
CONFIG=$2
RESULTS=$3
RATE=${SB_BENCH_RATE:-5000}
SECONDS_=${SB_BENCH_SECONDS:-60}
source "$(dirname "$0")/../system/cluster/lib.sh"
# Extra librdkafka settings for the router and the load generator alike: SB_BENCH_KAFKA="k=v ...".
KAFKA_ARGS=()
for kv in ${SB_BENCH_KAFKA:-}; do KAFKA_ARGS+=(--kafka-setting "$kv"); done
ROUTER_EXTRA=("${KAFKA_ARGS[@]}")

start_broker "${SB_BENCH_PARTITIONS:-12}"
start_router r1
wait_routing r1
"$SB" loadgen --kafka "$BOOTSTRAP" --config "$CONFIG" --verify --results "$RESULTS" \
  --contacts $((RATE * SECONDS_)) --rate "$RATE" --agents 2000 --domains 16 --seed 11 \
  --think-ms 0 --handle-ms 50 --wrap-ms 0 --patience-s 0 --timeout-s $((SECONDS_ + 60)) \
  --floor-messages 5000 "${KAFKA_ARGS[@]}" 2>"$WORK/loadgen.log" | tee "$WORK/loadgen.out"
tail -3 "$WORK/router-r1.log"
BROKER_KIND=embedded
[ -z "${SB_TEST_KAFKA_DIR:-}" ] || BROKER_KIND="apache-kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "$KAFKA_SH")/pom.xml")"
python3 - "$RESULTS" "$RATE" "${SB_BENCH_PARTITIONS:-12}" "${SB_BENCH_KAFKA:-}" "$BROKER_KIND" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); rate = float(sys.argv[2])
v["partitions"] = int(sys.argv[3]); v["kafka_settings"] = sys.argv[4]; v["broker"] = sys.argv[5]
v["ratio_target_met"] = v["ratio_p99"] <= 3
json.dump(v, open(sys.argv[1], "w"), indent=2)
print(f"cluster bench ({v['broker']}): {v['throughput_per_s']}/s (target {rate:.0f}/s), p50 {v['p50_ms']} ms, "
      f"p99 {v['p99_ms']} ms, floor p99 {v['floor_p99_ms']} ms, ratio_p99 {v['ratio_p99']} (target <= 3)")
bad = []
if v["throughput_per_s"] < 0.9 * rate: bad.append("throughput below 90% of the rate")
if v["ratio_p99"] > 3: bad.append("ratio_p99 above 3")
if bad: sys.exit("benchmark check FAILED: " + "; ".join(bad))
PY
