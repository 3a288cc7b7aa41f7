#!/usr/bin/env bash
# System test of `switchboard broker` against a real Kafka client (kcat): bad flags exit 2 naming
# the flag; the broker announces its bootstrap list on stdout and in --bootstrap-file; kcat sees
# the five Switchboard topics with 12 partitions each; 20 keyed messages produced to sb.contacts
# come back through a consumer group; SIGTERM stops the broker with exit 0 within 5 s.
# Without kcat the kcat part is skipped (exit 0), unless CI is set: then it is a failure.
# usage: broker_kcat_test.sh PATH/TO/switchboard
set -euo pipefail

bin=${1:?usage: broker_kcat_test.sh PATH/TO/switchboard}
dir=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in stdout stderr kcat.err; do
    if [[ -f $dir/$f ]]; then echo "--- broker $f ---" >&2; cat "$dir/$f" >&2; fi
  done
  exit 1
}

# --- bad flags: exit 2, message on stderr naming the flag, nothing on stdout ---
for bad in 0 abc; do
  rc=0
  timeout 10 "$bin" broker --partitions "$bad" >"$dir/bad.out" 2>"$dir/bad.err" || rc=$?
  [[ $rc == 2 ]] || fail "--partitions $bad: exit $rc, want 2"
  grep -q -- '--partitions' "$dir/bad.err" ||
    fail "--partitions $bad: stderr does not name the flag"
  [[ ! -s $dir/bad.out ]] || fail "--partitions $bad: wrote to stdout"
done
echo "ok: --partitions 0 and --partitions abc exit 2 naming the flag"

if ! command -v kcat >/dev/null; then
  if [[ -n ${CI:-} ]]; then fail "kcat not found (CI=$CI): install it (Debian package kcat)"; fi
  echo "SKIP: kcat not found; install it (apt-get install kcat) to run the kcat checks"
  exit 0
fi

# --- start: bootstrap file within 20 s, one stdout line that matches it ---
"$bin" broker --partitions 12 --bootstrap-file "$dir/bootstrap" >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
for _ in $(seq 200); do
  [[ -s $dir/bootstrap ]] && break
  kill -0 "$pid" 2>/dev/null || fail "broker exited before writing the bootstrap file"
  sleep 0.1
done
[[ -s $dir/bootstrap ]] || fail "no bootstrap file after 20 s"
B=$(cat "$dir/bootstrap")
[[ $B =~ ^[^=,:]+:[0-9]+(,[^=,:]+:[0-9]+)*$ ]] || fail "bootstrap file is not HOST:PORT,...: '$B'"
[[ $(cat "$dir/stdout") == "bootstrap=$B" ]] || fail "stdout is not exactly 'bootstrap=$B'"
[[ ! -e $dir/bootstrap.tmp ]] || fail "bootstrap.tmp left behind"
echo "ok: broker up at $B"

# --- metadata: the five topics, 12 partitions each ---
timeout 15 kcat -b "$B" -L >"$dir/metadata" 2>"$dir/kcat.err" || fail "kcat -L failed"
for topic in sb.contacts sb.agent-events sb.assignments sb.router-changelog sb.stats; do
  grep -q "topic \"$topic\" with 12 partitions:" "$dir/metadata" ||
    fail "kcat -L does not show $topic with 12 partitions: $(cat "$dir/metadata")"
done
echo "ok: kcat -L lists the five topics with 12 partitions each"

# --- produce 20 keyed messages, consume them back through a consumer group ---
run_id=$RANDOM$RANDOM
for i in $(seq 1 20); do echo "domain-$((i % 5)):contact-$i-$run_id"; done >"$dir/sent"
timeout 20 kcat -b "$B" -P -t sb.contacts -K: <"$dir/sent" 2>"$dir/kcat.err" ||
  fail "kcat -P failed"

# A new group starts at auto.offset.reset (default latest); earliest sees what came before.
rc=0
timeout 30 kcat -b "$B" -G testgroup -X auto.offset.reset=earliest -c 20 -f '%k:%s\n' \
  sb.contacts >"$dir/received" 2>"$dir/kcat.err" || rc=$?
[[ $rc == 0 ]] ||
  fail "kcat -G exited $rc (124 = timed out) after $(wc -l <"$dir/received") messages"
if ! diff <(sort "$dir/sent") <(sort "$dir/received") >"$dir/diff"; then
  fail "consumed messages differ from produced ones (< sent, > received): $(cat "$dir/diff")"
fi
echo "ok: 20 keyed messages produced to sb.contacts came back through consumer group testgroup"

# --- SIGTERM: exit 0 within 5 s ---
kill -TERM "$pid"
for _ in $(seq 50); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then fail "broker still running 5 s after SIGTERM"; fi
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc == 0 ]] || fail "broker exited $rc after SIGTERM, want 0"
echo "ok: SIGTERM stops the broker with exit 0"
echo "PASS"
