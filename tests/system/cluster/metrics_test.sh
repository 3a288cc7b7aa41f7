#!/usr/bin/env bash
# System test: two routers on the embedded broker each serve /metrics on loopback (port 0, the
# address logged), and after a small load the scrapes show the sb_router_* families with what the
# load did: every shard owned once, contacts offered and answered, wait buckets at the config's
# service-level threshold.
# Usage: metrics_test.sh <switchboard binary> <routing config>
set -euo pipefail
SB=$1
CONFIG=$2
source "$(dirname "$0")/lib.sh"
# No failover is measured here: a session timeout well above a loaded machine's stalls (the
# library's 3 s default is for the failover tests).
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-10000}

PARTITIONS=4
ROUTER_EXTRA=(--metrics-bind 127.0.0.1)
start_broker "$PARTITIONS"
for n in r1 r2; do start_router $n; done
for n in r1 r2; do wait_routing $n; done

url_of() {  # node id: the URL its "metrics on" line gave
  sed -n "s|^router $1: metrics on \(http://127\.0\.0\.1:[0-9]*/metrics\)$|\1|p" "$WORK/router-$1.log" | tail -1
}
declare -A URL=()
for n in r1 r2; do
  URL[$n]=$(url_of $n)
  [ -n "${URL[$n]}" ] || fail "router $n logged no 'metrics on http://127.0.0.1:PORT/metrics' line"
  echo "router $n: ${URL[$n]}"
done

start_loadgen --contacts 200 --rate 100 --agents 20 --domains 4 --seed 3 --think-ms 50 \
  --handle-ms 200 --wrap-ms 50 --timeout-s 60 --floor-messages 0
wait_loadgen
check_verdict 200

# Sums a family over both routers' scrapes (filter: a regex on the sample line). The gauges are
# refreshed once a second: scrape until the shard count settles (bounded).
scrape_all() { for n in r1 r2; do curl -sf --max-time 5 "${URL[$n]}" || fail "scrape of $n failed"; done; }
sum_of() {  # regex
  scrape_all | grep -E "$1" | awk '{s += $NF} END {printf "%d\n", s}'
}
for _ in $(seq 1 50); do
  [ "$(sum_of '^sb_router_shards_owned ')" = "$PARTITIONS" ] && break
  sleep 0.2
done
owned=$(sum_of '^sb_router_shards_owned ')
[ "$owned" = "$PARTITIONS" ] || fail "routers own $owned shards by their metrics, want $PARTITIONS"

# Everything submitted was consumed: the lag by the metrics drains to 0 (refreshed each second).
for _ in $(seq 1 50); do
  [ "$(sum_of '^sb_router_consumer_lag_records\{')" = 0 ] && break
  sleep 0.2
done
lag=$(sum_of '^sb_router_consumer_lag_records\{')
[ "$lag" = 0 ] || fail "consumer lag $lag after the load was consumed"
lags=$(scrape_all | grep -c '^sb_router_consumer_lag_records{' || true)
[ "$lags" = $((2 * PARTITIONS)) ] || fail "$lags consumer lag series, want 2 topics x $PARTITIONS shards"

text=$(scrape_all)
for family in sb_router_contacts_offered_total sb_router_contacts_answered_total \
  sb_router_wait_seconds sb_router_handle_seconds sb_router_acw_seconds sb_router_waiting_contacts \
  sb_router_oldest_wait_seconds sb_router_estimated_wait_seconds sb_router_agents \
  sb_router_capacity_used_units sb_router_occupancy_ratio sb_router_decision_latency_seconds \
  sb_router_shards_owned sb_router_shard_events_total sb_router_consumer_lag_records \
  sb_router_store_sst_bytes sb_router_store_write_stopped sb_router_dead_letters_total; do
  grep -q "^# TYPE $family " <<<"$text" || fail "no family $family in the scrapes"
done

offered=$(sum_of '^sb_router_contacts_offered_total\{')
answered=$(sum_of '^sb_router_contacts_answered_total\{')
abandoned=$(sum_of '^sb_router_contacts_abandoned_total\{')
in_sl=$(sum_of '^sb_router_wait_seconds_bucket\{.*le="20(\.0+)?".*outcome="answered"|^sb_router_wait_seconds_bucket\{.*outcome="answered".*le="20(\.0+)?"')
echo "metrics: offered $offered answered $answered abandoned $abandoned answered within 20 s $in_sl"
# No failover here, so the counts are exact: every contact the load generator submitted (its
# probes included) was offered to a queue once and ended answered or abandoned once.
submitted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["submitted"])' "$WORK/verdict.json")
[ "$offered" = "$submitted" ] || fail "offered $offered, but $submitted contacts were submitted"
[ "$answered" -gt 0 ] || fail "nothing answered by the metrics"
[ $((answered + abandoned)) = "$offered" ] || fail "answered $answered + abandoned $abandoned != offered $offered"
grep -qE '^sb_router_wait_seconds_bucket\{.*le="20(\.0+)?"' <<<"$text" || fail "no wait bucket at the 20 s SL threshold"
[ "$in_sl" -gt 0 ] && [ "$in_sl" -le "$answered" ] || fail "answered within 20 s: $in_sl of $answered"
# Labels are bounded: only these label names (never a contact or agent id).
labels=$(grep -E '^sb_router_' <<<"$text" | grep -oE '[a-z_]+="' | sort -u | tr -d '="' | tr '\n' ' ')
for l in $labels; do
  case "$l" in
    domain | queue | channel | short | outcome | reason | state | event | shard | topic | \
      column_family | le) ;;
    *) fail "unexpected label $l (labels: $labels)" ;;
  esac
done

# A record no shard can read (written with kcat, a real client) goes to sb.dead-letter: counted
# by sb_router_dead_letters_total and listed by `switchboard dead-letters`; routing goes on.
probe_key="dead-letter-probe-$$"
printf '\377\377 not a RoutingEvent' | kcat -P -b "$BOOTSTRAP" -t sb.contacts -p 0 -k "$probe_key" ||
  fail "kcat could not write the probe record"
for _ in $(seq 1 50); do
  [ "$(sum_of '^sb_router_dead_letters_total\{')" -ge 1 ] && break
  sleep 0.2
done
dead=$(sum_of '^sb_router_dead_letters_total\{')
[ "$dead" = 1 ] || fail "sb_router_dead_letters_total is $dead after one unreadable record, want 1"
"$SB" dead-letters --kafka "$BOOTSTRAP" --partition 0 >"$WORK/dead-letters.jsonl" 2>"$WORK/dead-letters.log" ||
  fail "switchboard dead-letters failed: $(cat "$WORK/dead-letters.log")"
python3 - "$WORK/dead-letters.jsonl" "$probe_key" <<'PY' || fail "the probe record is not listed as a dead letter"
import json, sys
letters = [json.loads(line) for line in open(sys.argv[1])]
mine = [l for l in letters if l["key"] == sys.argv[2]]
assert len(mine) == 1, letters
l = mine[0]
assert l["source_topic"] == "sb.contacts" and l["source_partition"] == 0, l
assert l["reason"] == "not a RoutingEvent" and l["written_by"] == "shard 0", l
assert l["value_bytes"] == 21 and "value_base64" not in l, l
print("dead letter:", json.dumps(l))
PY

for n in r1 r2; do kill_router $n TERM; done
echo "PASS"
