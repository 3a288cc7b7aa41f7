#!/usr/bin/env bash
# Follow-up crash safety: the drill creates 10,000 follow-ups due over the next seconds while
# firing them; it is killed with SIGKILL at random moments (at least 5 times) and restarted on the
# same data dir. At the end the sink's durable log must hold every attempt of every task exactly
# once, and every task must have ended. Then: a corrupt data dir is refused, naming its path, and
# left byte-for-byte untouched.
set -euo pipefail
SB=${1:?usage: followup_crash_test.sh path/to/switchboard}
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
args=(followup-drill --data-dir "$work/data" --sink-log "$work/sink.log" --tasks 10000 --seed 7)
RANDOM=42  # the kill moments vary the run, but reproducibly

kills=0
for round in $(seq 1 8); do
  "$SB" "${args[@]}" >"$work/run.out" 2>"$work/run.err" &
  pid=$!
  sleep "0.$((3 + RANDOM % 8))"  # 0.3 .. 1.0 s
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    lines=$(wc -l <"$work/sink.log" 2>/dev/null || echo 0)
    echo "round $round: killed with SIGKILL; sink log has $lines contacts"
  else
    wait "$pid" || { cat "$work/run.err"; echo "FAIL: drill exited with an error"; exit 1; }
    echo "round $round: the drill finished before the kill"
    break
  fi
done
if [ "$kills" -lt 5 ]; then
  echo "FAIL: only $kills kills landed while the drill ran (need at least 5)"
  exit 1
fi

echo "restarting to completion after $kills kills"
timeout 60 "$SB" "${args[@]}" || { echo "FAIL: final run did not complete"; exit 1; }
result=$("$SB" "${args[@]}" --verify) || { echo "$result"; echo "FAIL: verification"; exit 1; }
echo "$result"
for field in '"duplicates":0' '"missing":0' '"not_ended":0' '"unexpected":0' '"tasks":10000'; do
  grep -q "$field" <<<"$result" || { echo "FAIL: expected $field"; exit 1; }
done

# A corrupt store is refused with its path named, and not modified.
printf 'garbage' >"$work/data/CURRENT"
before=$(cd "$work/data" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
if "$SB" "${args[@]}" >"$work/corrupt.out" 2>"$work/corrupt.err"; then
  echo "FAIL: a corrupt data dir was accepted"
  exit 1
fi
grep -q "$work/data" "$work/corrupt.err" || { cat "$work/corrupt.err"; echo "FAIL: path not named"; exit 1; }
after=$(cd "$work/data" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
[ "$before" = "$after" ] || { echo "FAIL: the corrupt data dir was modified"; exit 1; }
echo "corrupt data dir refused: $(head -c 300 "$work/corrupt.err")"
echo "PASS"
