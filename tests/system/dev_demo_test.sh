#!/usr/bin/env bash
# System test of `switchboard dev`: the demo starts, its status lines show contacts being answered
# as simulated time runs, and SIGINT stops it cleanly (exit 0) after a final summary.
# usage: dev_demo_test.sh PATH/TO/switchboard
set -euo pipefail

bin=${1:?usage: dev_demo_test.sh PATH/TO/switchboard}
dir=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout ---" >&2; cat "$dir/stdout" >&2 || true
  echo "--- stderr ---" >&2; cat "$dir/stderr" >&2 || true
  exit 1
}

"$bin" dev --duration-s 0 --speed 20 --seed 7 >"$dir/stdout" 2>"$dir/stderr" &
pid=$!

# Status lines start with the simulated time (hh:mm:ss); their 4th column is the answered count.
answered_counts() {
  grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2} ' "$dir/stdout" | awk '$4 > 0 { print $4 }' || true
}

progress=0
for _ in $(seq 200); do  # up to 20 s
  kill -0 "$pid" 2>/dev/null || fail "switchboard dev exited before it was stopped"
  mapfile -t counts < <(answered_counts)
  n=${#counts[@]}
  if (( n >= 3 )) && (( counts[n-3] < counts[n-2] && counts[n-2] < counts[n-1] )); then
    progress=1
    break
  fi
  sleep 0.1
done
(( progress )) || fail "no 3 status lines with a non-zero, growing answered count within 20 s"
grep -q '^switchboard dev: engine + 40 simulated agents, 35 contacts/min (Ctrl-C to stop)$' \
  "$dir/stdout" || fail "header line missing"

kill -INT "$pid"
for _ in $(seq 50); do  # SIGINT must be handled well within 5 s
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGINT"
rc=0
wait "$pid" || rc=$?
pid=""
(( rc == 0 )) || fail "exit code $rc after SIGINT, want 0"

grep -q '^final summary after ' "$dir/stdout" || fail "no final summary"
for queue in billing tech_support complaints chat email total; do
  grep -qE "^  $queue +[0-9]+ +[0-9]+ " "$dir/stdout" || fail "final summary has no row for $queue"
done
grep -q 'unexpected engine errors: 0$' "$dir/stdout" || fail "the engine reported unexpected errors"
[[ ! -s $dir/stderr ]] || fail "unexpected output on stderr"
echo "PASS: dev demo answered contacts (last status counts: ${counts[*]: -3}) and stopped cleanly"
