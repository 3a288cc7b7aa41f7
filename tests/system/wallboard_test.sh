#!/usr/bin/env bash
# System test of the wallboard in a real browser: `switchboard dev` runs a broker and two routers
# with simulated traffic; headless Chromium loads a router's /wallboard twice, several seconds
# apart. The dumped DOM must show live non-zero numbers (offered, agents) that change between the
# two loads, and a screenshot of the page must be written.
# Needs the shards to publish sb.stats (router/shard, the producer side of stats.proto).
# usage: wallboard_test.sh PATH/TO/switchboard
set -euo pipefail

bin=${1:?usage: wallboard_test.sh PATH/TO/switchboard}
chromium=${CHROMIUM:-chromium}
dir=$(mktemp -d /tmp/sb-wallboard.XXXXXX)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  [[ -n ${SB_KEEP_DIR:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout (head) ---" >&2; head -30 "$dir/stdout" >&2 || true
  echo "--- stderr ---" >&2; tail -20 "$dir/stderr" >&2 || true
  [[ -f $dir/data.json ]] && { echo "--- last /wallboard/data ---" >&2; cat "$dir/data.json" >&2; }
  for log in "$dir"/data/r*/router.log; do
    [[ -f $log ]] && { echo "--- $log (tail) ---" >&2; tail -10 "$log" >&2; }
  done
  exit 1
}

command -v "$chromium" >/dev/null || fail "no $chromium on PATH (set CHROMIUM)"

"$bin" dev --agents 30 --rate-per-s 10 --think-ms 200 --handle-ms 2000 --wrap-ms 200 \
  --patience-s 60 --seed 11 --partitions 4 --data-dir "$dir/data" --duration-s 200 \
  >"$dir/stdout" 2>"$dir/stderr" &
pid=$!

# The header lists each router's wallboard URL (from its "wallboard on <url>" log line).
url=""
for _ in $(seq 300); do  # up to 60 s
  kill -0 "$pid" 2>/dev/null || fail "switchboard dev exited early"
  url=$(grep -oE '^ +wallboard http://127\.0\.0\.1:[0-9]+/wallboard$' "$dir/stdout" | head -1 |
        awk '{ print $2 }') || true
  [[ -n $url ]] && break
  sleep 0.2
done
[[ -n $url ]] || fail "no wallboard URL in the switchboard dev header within 60 s"

# Live numbers: offered today and agents logged in, both non-zero, from the JSON the page uses.
number() {  # number KEY FILE: totals.KEY of a /wallboard/data document
  grep -oE "\"$1\":[0-9]+" "$2" | head -1 | cut -d: -f2
}
live=0
for _ in $(seq 60); do  # up to 60 s
  curl -sf --max-time 5 "$url/data" >"$dir/data.json" 2>/dev/null || true
  o=$(number offered_today "$dir/data.json"); a=$(number agents "$dir/data.json")
  if [[ -n $o && -n $a ]] && (( o > 0 && a > 0 )); then live=1; break; fi
  sleep 1
done
(( live )) || fail "wallboard shows no live numbers: is sb.stats being published? ($url/data)"

# What the browser renders: the text of an element by its data-testid in a dumped DOM.
shown() {  # shown TESTID FILE
  grep -oE "data-testid=\"$1\"[^>]*>[^<]*<" "$2" | head -1 | sed -E 's/.*>([^<]*)<$/\1/'
}
browse() {  # browse OUT-ARGS...: one headless Chromium run, bounded
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir/chrome" --virtual-time-budget=3000 "$@" 2>>"$dir/chrome.log"
}
browse --dump-dom "$url" >"$dir/dom1.html" || fail "chromium --dump-dom failed (see $dir/chrome.log)"
sleep 5
browse --dump-dom "$url" >"$dir/dom2.html" || fail "chromium --dump-dom failed (second run)"
browse --screenshot="$dir/wallboard.png" --window-size=1280,900 "$url" >/dev/null ||
  fail "chromium --screenshot failed"

for n in 1 2; do
  f=$dir/dom$n.html
  grep -q 'Switchboard wallboard' "$f" || fail "dump $n is not the wallboard page"
  for id in total-waiting total-offered total-answered total-agents total-overdue; do
    [[ $(shown "$id" "$f") =~ ^[0-9]+$ ]] || fail "dump $n: #$id shows \"$(shown "$id" "$f")\", not a number"
  done
  (( $(shown total-offered "$f") > 0 )) || fail "dump $n: offered today is 0: wallboard shows no live numbers: is sb.stats being published?"
  (( $(shown total-agents "$f") > 0 )) || fail "dump $n: no agents: wallboard shows no live numbers: is sb.stats being published?"
  grep -qE 'data-testid="waiting-[^"]+"' "$f" || fail "dump $n: no queue rows"
  grep -qE 'data-testid="ready-[^"]+"' "$f" || fail "dump $n: no domain rows"
done
state() { for id in total-waiting total-offered total-answered; do printf '%s ' "$(shown "$id" "$1")"; done; }
s1=$(state "$dir/dom1.html"); s2=$(state "$dir/dom2.html")
[[ $s1 != "$s2" ]] || fail "the wallboard did not change in 5 s (waiting offered answered: $s1)"
(( $(shown total-offered "$dir/dom2.html") >= $(shown total-offered "$dir/dom1.html") )) ||
  fail "offered today went down: $s1 -> $s2"

[[ -f $dir/wallboard.png ]] || fail "no screenshot written"
size=$(stat -c %s "$dir/wallboard.png")
(( size > 20000 )) || fail "screenshot is only $size bytes"
[[ -n ${SB_KEEP_SCREENSHOT:-} ]] && cp "$dir/wallboard.png" "$SB_KEEP_SCREENSHOT"

echo "wallboard_test: OK ($url; waiting offered answered: $s1-> $s2; screenshot $size bytes)"
