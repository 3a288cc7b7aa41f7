#!/usr/bin/env bash
# System test of `switchboard sim` as a user runs it: the issue's acceptance run reproduces the
# Erlang C textbook service level, the example day scenario runs (also --compare-strategies), and
# bad input exits 2 with a message naming the problem.
# usage: sim_cli_test.sh PATH/TO/switchboard PATH/TO/deploy/sim/day.yaml
set -euo pipefail

bin=${1:?usage: sim_cli_test.sh PATH/TO/switchboard PATH/TO/day.yaml}
day=${2:?usage: sim_cli_test.sh PATH/TO/switchboard PATH/TO/day.yaml}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. 200/h, AHT 180 s, 14 agents, T = 20 s: Erlang C says SL 0.8884.
"$bin" sim --arrivals-per-hour 200 --aht-s 180 --agents 14 --threshold-s 20 --hours 200 \
  --seed 1 --replications 5 --json >"$dir/out.json" || fail "acceptance run exited $?"
sl=$(grep -o '"total":{.*' "$dir/out.json" | grep -o '"service_level":[0-9.eE+-]*' | tail -1 | cut -d: -f2)
[[ -n $sl ]] || fail "no total service_level in: $(cat "$dir/out.json")"
awk -v sl="$sl" 'BEGIN { exit !(sl > 0.873 && sl < 0.903) }' || fail "SL $sl not within 0.888 ± 0.015"
for key in offered answered abandoned service_level asa_s abandon_rate occupancy max_wait_s ci95; do
  grep -q "\"$key\"" "$dir/out.json" || fail "JSON lacks \"$key\""
done

# 2. The example scenario, as a table and as a strategy comparison.
"$bin" sim --scenario "$day" --replications 2 >"$dir/day.txt" || fail "day scenario exited $?"
grep -q '^billing ' "$dir/day.txt" || fail "no billing row: $(cat "$dir/day.txt")"
"$bin" sim --scenario "$day" --replications 2 --compare-strategies >"$dir/cmp.txt" ||
  fail "--compare-strategies exited $?"
for s in longest-idle least-occupied best-skill; do
  grep -q "^$s " "$dir/cmp.txt" || fail "no $s row: $(cat "$dir/cmp.txt")"
done

# 3. Bad input: exit 2, and stderr names the problem.
expect_2() {
  local want=$1; shift
  set +e
  "$bin" sim "$@" >"$dir/o" 2>"$dir/e"
  local rc=$?
  set -e
  [[ $rc -eq 2 ]] || fail "sim $* exited $rc, want 2 (stderr: $(cat "$dir/e"))"
  grep -qF -- "$want" "$dir/e" || fail "sim $*: stderr lacks '$want': $(cat "$dir/e")"
}
expect_2 "--arrivals-per-hour" --arrivals-per-hour -5 --aht-s 180 --agents 14
expect_2 "required without --scenario" --aht-s 180 --agents 14
expect_2 "unknown strategy" --arrivals-per-hour 5 --aht-s 180 --agents 14 --strategy fastest
sed 's/{skill: tech, proficiency: 3}]/{skill: plumbing, proficiency: 3}]/' "$day" >"$dir/unknown_skill.yaml"
expect_2 'unknown skill "plumbing"' --scenario "$dir/unknown_skill.yaml"
printf 'traffic: [ {queue: billing\n' >"$dir/malformed.yaml"
expect_2 "malformed.yaml" --scenario "$dir/malformed.yaml"
sed 's/aht_s: 240/aht_s: -240/' "$day" >"$dir/negative.yaml"
expect_2 "traffic[0].aht_s: must not be negative" --scenario "$dir/negative.yaml"
expect_2 "file not found" --scenario "$dir/missing.yaml"
echo "PASS"
