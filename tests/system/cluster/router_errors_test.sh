#!/usr/bin/env bash
# A router that cannot work says why and exits non-zero within 30 s: unreachable bootstrap,
# topics whose partition counts disagree, a --partitions the topics do not have, a bad config.
# Usage: router_errors_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/lib.sh"

# Nothing listens on a port we just found free.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_refusal unreachable "no Kafka broker answered" --kafka "127.0.0.1:$port" --config "$CONFIG" \
  --connect-timeout-ms 10000

"$SB" broker --partitions 4 --topic-partitions sb.assignments=6 --bootstrap-file "$WORK/bootstrap" \
  >"$WORK/broker.out" 2>"$WORK/broker.log" &
BROKER_PID=$!
for _ in $(seq 1 200); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
[ -s "$WORK/bootstrap" ] || fail "broker did not start"
BOOTSTRAP=$(cat "$WORK/bootstrap")
expect_refusal mismatch "sb.assignments=6" --kafka "$BOOTSTRAP" --config "$CONFIG"
expect_refusal partitions_flag "same partition count (--partitions 8)" --kafka "$BOOTSTRAP" \
  --config "$CONFIG" --partitions 8
echo "queues: [{name: x, domain: nowhere}]" >"$WORK/bad.yaml"
expect_refusal bad_config "bad.yaml" --kafka "$BOOTSTRAP" --config "$WORK/bad.yaml"
# A wallboard off loopback needs the API's tokens: none under --no-auth.
expect_refusal open_wallboard "--wallboard-bind 0.0.0.0 is not loopback" --kafka "$BOOTSTRAP" \
  --config "$CONFIG" --no-auth --wallboard-bind 0.0.0.0
echo "PASS router errors"
