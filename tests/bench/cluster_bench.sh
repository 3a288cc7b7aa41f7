#!/usr/bin/env bash
# Cluster benchmark: broker + 1 router + loadgen at RATE contacts/s for SECONDS (default 5,000/s
# for 60 s). Writes the loadgen verdict (throughput, p50/p99 intake → offer, the raw librdkafka
# floor measured in the same run, ratio_p99) to RESULTS and prints it; exits non-zero when the
# run lost or duplicated anything, or when the benchmark check fails: sustained throughput below
# 90% of RATE or ratio_p99 above 3.
# Usage: cluster_bench.sh <switchboard binary> <routing config> <results.json>
set -euo pipefail
SB=$1
CONFIG=$2
RESULTS=$3
RATE=${SB_BENCH_RATE:-5000}
SECONDS_=${SB_BENCH_SECONDS:-60}
source "$(dirname "$0")/../system/cluster/lib.sh"

start_broker 12
start_router r1
wait_routing r1
"$SB" loadgen --kafka "$BOOTSTRAP" --config "$CONFIG" --verify --results "$RESULTS" \
  --contacts $((RATE * SECONDS_)) --rate "$RATE" --agents 2000 --domains 16 --seed 11 \
  --think-ms 0 --handle-ms 50 --wrap-ms 0 --patience-s 0 --timeout-s $((SECONDS_ + 60)) \
  --floor-messages 5000 2>"$WORK/loadgen.log" | tee "$WORK/loadgen.out"
tail -3 "$WORK/router-r1.log"
python3 - "$RESULTS" "$RATE" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); rate = float(sys.argv[2])
print(f"cluster bench: {v['throughput_per_s']}/s (target {rate:.0f}/s), p50 {v['p50_ms']} ms, "
      f"p99 {v['p99_ms']} ms, floor p99 {v['floor_p99_ms']} ms, ratio_p99 {v['ratio_p99']} (target <= 3)")
bad = []
if v["throughput_per_s"] < 0.9 * rate: bad.append("throughput below 90% of the rate")
if v["ratio_p99"] > 3: bad.append("ratio_p99 above 3")
if bad: sys.exit("benchmark check FAILED: " + "; ".join(bad))
PY
