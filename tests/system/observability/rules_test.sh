#!/usr/bin/env bash
# Test: the Prometheus rules of deploy/observability are valid (promtool check rules: YAML, PromQL,
# names, templates) and compute what they claim (promtool test rules: every recording rule with
# exact expected values on synthetic series, every alert seen firing and not firing).
# Usage: rules_test.sh <deploy/observability directory>
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: $0 <deploy/observability directory>"
DIR=$1
command -v promtool >/dev/null || fail "promtool not found on PATH (Debian package 'prometheus'; dev.sh installs it)"
RULES=("$DIR/rules/switchboard.rules.yml" "$DIR/rules/switchboard.alerts.yml")
for f in "${RULES[@]}"; do [ -f "$f" ] || fail "missing rules file $f"; done

promtool check rules "${RULES[@]}" || fail "promtool check rules found errors"

shopt -s nullglob
TESTS=("$DIR"/tests/*.test.yml)
[ ${#TESTS[@]} -gt 0 ] || fail "no rule tests in $DIR/tests"
# Every recording rule and alert must appear in some test (a rule nobody tests can be wrong).
names=$(grep -hoE '^\s*- (record|alert): \S+' "${RULES[@]}" | awk '{print $3}')
for n in $names; do
  grep -qE "(expr: |alertname: )$n\s*$" "${TESTS[@]}" || fail "rule $n is not tested in $DIR/tests"
done
# Every alert is tested both firing (a non-empty exp_alerts) and not firing (exp_alerts: []).
cases=$(awk '/alertname:/ {a = $NF; next} a != "" && /exp_alerts:/ {print a, ($NF == "[]" ? "quiet" : "fires"); a = ""}' "${TESTS[@]}")
for n in $(grep -hoE '^\s*- alert: \S+' "${RULES[@]}" | awk '{print $3}'); do
  grep -qx "$n fires" <<<"$cases" || fail "alert $n is never tested firing"
  grep -qx "$n quiet" <<<"$cases" || fail "alert $n is never tested not firing"
done
promtool test rules "${TESTS[@]}" || fail "promtool test rules failed"
echo "PASS: $(wc -w <<<"$names") rules checked and tested by ${#TESTS[@]} test files"
