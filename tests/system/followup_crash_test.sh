#!/usr/bin/env bash
# Follow-up crash safety: the drill creates 10,000 follow-ups due over the next seconds while
# firing them; it is killed with SIGKILL at random moments (at least 5 times) and restarted on the
# same data dir. At the end the sink's durable log must hold every attempt of every task exactly
# once, and every task must have ended. Then: a corrupt data dir is refused, naming its path, and
# left byte-for-byte untouched.
set -euo pipefail
SB=${1:?usage: followup_crash_test.sh path/to/switchboard path/to/sb_future_store}
FUTURE_STORE=${2:?usage: followup_crash_test.sh path/to/switchboard path/to/sb_future_store}
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

# A store this build must not use is refused with its path named, and not modified.
refused() {  # $1 = data dir, $2 = what the message must say
  local before after
  before=$(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  if "$SB" followup-drill --data-dir "$1" --sink-log "$work/other.log" >"$work/refused.out" \
    2>"$work/refused.err"; then
    echo "FAIL: $1 was accepted"
    exit 1
  fi
  grep -q "$1" "$work/refused.err" || { cat "$work/refused.err"; echo "FAIL: path not named"; exit 1; }
  grep -q "$2" "$work/refused.err" || { cat "$work/refused.err"; echo "FAIL: no \"$2\""; exit 1; }
  after=$(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  [ "$before" = "$after" ] || { echo "FAIL: $1 was modified"; exit 1; }
  echo "refused: $(head -c 300 "$work/refused.err")"
}
"$FUTURE_STORE" "$work/future"
refused "$work/future" "newer than this build"
printf 'garbage' >"$work/data/CURRENT"
refused "$work/data" "cannot open state store"
echo "PASS"
