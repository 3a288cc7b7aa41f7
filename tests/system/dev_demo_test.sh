#!/usr/bin/env bash
# System test of `switchboard dev`: the demo starts the broker and two routers as child processes
# and drives simulated customers (contacts through Kafka) and agents (gRPC AgentService.Session
# desktops on the routers' gateways); its status lines show a growing answered count while both
# routers route shards (together every partition), every agent logged in on its stream and the
# offers arriving on the streams; SIGINT stops it in order (exit 0) with a summary showing nothing
# lost or duplicated and every answered contact offered on an agent's stream first, and no child
# process is left behind.
# The README's Python snippet submits a contact over gRPC and sees it connected. No customer phone
# number reaches a log. Bad flags exit 2 naming the flag.
# usage: dev_demo_test.sh PATH/TO/switchboard
set -euo pipefail

bin=${1:?usage: dev_demo_test.sh PATH/TO/switchboard}
dir=$(mktemp -d /tmp/sb-dev-demo.XXXXXX)
partitions=12
pid=""
children=()
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  for c in "${children[@]}"; do kill -KILL "$c" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout ---" >&2; cat "$dir/stdout" >&2 || true
  echo "--- stderr ---" >&2; cat "$dir/stderr" >&2 || true
  for log in "$dir"/data/broker.log "$dir"/data/r*/router.log; do
    [[ -f $log ]] && { echo "--- $log (tail) ---" >&2; tail -20 "$log" >&2; }
  done
  exit 1
}

# Bad flags: exit 2, the message names the flag.
for bad in "--rate-per-s -1" "--routers 0" "--agents x" "--no-such-flag"; do
  rc=0
  "$bin" dev $bad >"$dir/stdout" 2>"$dir/stderr" || rc=$?
  (( rc == 2 )) || fail "dev $bad: exit $rc, want 2"
  grep -q -- "${bad%% *}" "$dir/stderr" || fail "dev $bad: the message does not name ${bad%% *}"
done
mkdir -p "$dir/used" && touch "$dir/used/x"
rc=0
"$bin" dev --data-dir "$dir/used" >"$dir/stdout" 2>"$dir/stderr" || rc=$?
(( rc == 2 )) && grep -q -- '--data-dir' "$dir/stderr" || fail "a non-empty --data-dir: exit $rc"

# The demo: tens of contacts per second, short handling so answers come quickly. It is stopped
# with SIGINT well before --duration-s, which only bounds it should this script be killed.
"$bin" dev --agents 40 --rate-per-s 20 --think-ms 100 --handle-ms 500 --wrap-ms 100 \
  --patience-s 60 --seed 7 --partitions "$partitions" --data-dir "$dir/data" --duration-s 150 \
  >"$dir/stdout" 2>"$dir/stderr" &
pid=$!

# Status lines start with hh:mm:ss; column 4 is the answered count, column 12 the agents' gRPC
# sessions logged in / agents, column 13 the offers received on those streams, columns 14.. the
# shards each router routes (r1[0,1,...] r2[...]).
status_lines() { grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2} ' "$dir/stdout" || true; }

# True when both routers route shards and together every partition, each exactly once.
shards_split() {  # the shards cells of one status line
  local all=() r1 r2
  r1=$(grep -oE 'r1\[[0-9,]*\]' <<<"$*" | sed -E 's/^r1\[(.*)\]$/\1/') || return 1
  r2=$(grep -oE 'r2\[[0-9,]*\]' <<<"$*" | sed -E 's/^r2\[(.*)\]$/\1/') || return 1
  [[ -n $r1 && -n $r2 ]] || return 1
  mapfile -t all < <(tr ',' '\n' <<<"$r1,$r2" | sort -n)
  [[ "${all[*]}" == "$(seq -s ' ' 0 $((partitions - 1)))" ]]
}

ok=0
for _ in $(seq 300); do  # up to 60 s: broker start, group join and shard claims, under sanitizers
  kill -0 "$pid" 2>/dev/null || fail "switchboard dev exited before it was stopped"
  mapfile -t answered < <(status_lines | awk '$4 > 0 { print $4 }')
  n=${#answered[@]}
  last=$(status_lines | tail -1 | awk '{ for (i = 14; i <= NF; i++) printf "%s ", $i }')
  sessions=$(status_lines | tail -1 | awk '{ print $12 }')
  stream_offers=$(status_lines | tail -1 | awk '{ print $13 }')
  if (( n >= 3 )) && (( answered[n-3] < answered[n-2] && answered[n-2] < answered[n-1] )) &&
     shards_split "$last" && [[ $sessions == 40/40 ]] && (( stream_offers > 0 )); then
    ok=1
    break
  fi
  sleep 0.2
done
(( ok )) || fail "within 60 s: no 3 status lines with a growing answered count while r1 and r2 \
split all $partitions shards, 40/40 agents logged in over gRPC and offers on their streams"
grep -qE '^ +contacts to Kafka .*agents: desktops on$' "$dir/stdout" &&
  grep -qE '^ +gRPC AgentService.Session, 2 gateways ' "$dir/stdout" ||
  fail "the header does not say the agents are gRPC desktops on both routers"

grep -q '^switchboard dev: a local Switchboard cluster' "$dir/stdout" || fail "no header"
grep -qE '^  broker +pid [0-9]+  bootstrap [^ ]+:[0-9]+' "$dir/stdout" || fail "no broker line"
mapfile -t children < <(grep -E '^  (broker|router r[0-9]+) +pid ' "$dir/stdout" |
                          grep -oE 'pid [0-9]+' | cut -d' ' -f2)
(( ${#children[@]} == 3 )) || fail "want 3 child pids in the header, got ${children[*]}"
for c in "${children[@]}"; do
  [[ $(ps -o ppid= -p "$c" | tr -d ' ') == "$pid" ]] || fail "pid $c is not a child of the demo"
done
# Each router's /metrics URL under its line; it answers with the router's families.
mapfile -t urls < <(grep -oE '^ +metrics http://127\.0\.0\.1:[0-9]+/metrics$' "$dir/stdout" | awk '{ print $2 }')
(( ${#urls[@]} == 2 )) || fail "want 2 router metrics URLs in the header, got ${urls[*]}"
for u in "${urls[@]}"; do
  # Read whole before grep: `curl | grep -q` fails under pipefail when grep stops reading early.
  scrape=$(curl -sf --max-time 5 "$u") || fail "$u: scrape failed"
  grep -q '^sb_router_shards_owned ' <<<"$scrape" || fail "$u: no sb_router_shards_owned"
done

# Each router's gRPC address and generated admin token under its line; the README's Python snippet
# submits a contact to the running demo and watches it get connected (a simulated agent takes it).
mapfile -t grpc_lines < <(grep -E '^ +grpc 127\.0\.0\.1:[0-9]+  admin token in /' "$dir/stdout")
(( ${#grpc_lines[@]} == 2 )) || fail "want 2 router gRPC lines in the header, got ${#grpc_lines[@]}"
read -r _ addr _ _ _ token <<<"${grpc_lines[0]}"
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir/py"
protoc -I"$src/proto" --python_out="$dir/py" --grpc_out="$dir/py" \
  --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin "$src"/proto/switchboard/v1/*.proto ||
  fail "protoc could not make the Python stubs"
sed -n "/<<'PY'\$/,/^PY\$/p" "$src/README.md" | sed '1d;$d' >"$dir/snippet.py"
[[ -s $dir/snippet.py ]] || fail "no Python snippet (<<'PY' ... PY) in README.md"
snippet_out=$(PYTHONPATH="$dir/py" timeout 90 /usr/bin/python3 "$dir/snippet.py" "$addr" "$token" 2>&1) ||
  fail "README snippet failed: $snippet_out"
grep -q '^CONTACT_STATE_CONNECTED ' <<<"$snippet_out" ||
  fail "README snippet did not see its contact connected: $snippet_out"
echo "README snippet: $(tr '\n' ' ' <<<"$snippet_out")"

# The customers file complaints (follow-ups with their phone numbers): wait until a router counts
# one (its status line every 5 s), so the personal data check below has something to find.
has_followups() {
  grep -qE 'follow-ups pending [1-9]|follow-ups pending [0-9]+ firing [1-9]|firing [0-9]+ done [1-9]' \
    "$dir"/data/r*/router.log 2>/dev/null
}
for _ in $(seq 300); do  # up to 60 s
  has_followups && break
  sleep 0.2
done
has_followups || fail "no follow-up was created by the demo within 60 s: the personal data check would prove nothing"

# The personal-data life cycle on the running cluster (README "Personal data"): the archive job
# makes a pass; a customer with follow-ups (found with the admin's FollowUpService.List) is erased:
# every shard confirms (tombstones on sb.followups), the report names the tasks, and the gateways'
# read model no longer lists any task of the customer.
cat >"$dir/followups.py" <<'PY'
import sys, grpc
from switchboard.v1 import followup_pb2 as f, services_pb2 as api, services_pb2_grpc as rpc
address, token_file, customer = sys.argv[1], sys.argv[2], sys.argv[3]
auth = [("authorization", "Bearer " + open(token_file).read().strip())]
stub = rpc.FollowUpServiceStub(grpc.insecure_channel(address))
if customer == "-":  # any customer with an open follow-up
    for state in (f.FOLLOW_UP_STATE_PENDING, f.FOLLOW_UP_STATE_FIRING):
        tasks = stub.List(api.ListFollowUpsRequest(state=state, page_size=1), metadata=auth,
                          timeout=10).tasks
        if tasks:
            print(tasks[0].request.customer_id)
            break
else:
    print(len(stub.List(api.ListFollowUpsRequest(customer_id=customer), metadata=auth,
                        timeout=10).tasks))
PY
followups_py() { PYTHONPATH="$dir/py" timeout 30 /usr/bin/python3 "$dir/followups.py" "$addr" "$token" "$1"; }
bootstrap=$(grep -oE '^  broker +pid [0-9]+  bootstrap [^ ]+' "$dir/stdout" | awk '{ print $5 }')
archive_out=$("$bin" privacy archive --kafka "$bootstrap" --dir "$dir/archive" --once 2>&1) ||
  fail "privacy archive --once: $archive_out"
grep -qE '^privacy archive: [0-9]+ ended tasks archived in ' <<<"$archive_out" ||
  fail "privacy archive: $archive_out"
[[ -f $dir/archive/positions ]] || fail "privacy archive saved no positions"
customer=$(followups_py -) || fail "FollowUpService.List failed"
[[ -n $customer ]] || fail "no open follow-up to erase"
(( $(followups_py "$customer") > 0 )) || fail "the read model does not list $customer's tasks"
erase_out=$("$bin" privacy erase --kafka "$bootstrap" --customer "$customer" \
  --archive-dir "$dir/archive" --requested-by dev-demo-test 2>&1) ||
  fail "privacy erase: $erase_out"
grep -qE '^  follow-up tasks: ([1-9][0-9]*) found in sb.followups, \1 removed$' <<<"$erase_out" ||
  fail "privacy erase report: $erase_out"
grep -q "a customer's follow-ups erased (asked by \"dev-demo-test\")" "$dir"/data/r*/router.log ||
  fail "no router logged the erasure"
listed=1
for _ in $(seq 50); do  # the gateways read the tombstones within a few seconds
  listed=$(followups_py "$customer") || fail "FollowUpService.List failed"
  (( listed == 0 )) && break
  sleep 0.2
done
(( listed == 0 )) || fail "the read model still lists $listed tasks of $customer after the erasure"
echo "privacy erase: $(tr '\n' ' ' <<<"$erase_out" | cut -c1-300)"

kill -INT "$pid"
for _ in $(seq 150); do  # the drain, the routers' and the broker's stop: well within 15 s
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 15 s after SIGINT"
rc=0
wait "$pid" || rc=$?
pid=""
(( rc == 0 )) || fail "exit code $rc after SIGINT, want 0"

summary=$(grep -E '^  submitted [0-9]+  assigned [0-9]+  abandoned [0-9]+  lost' "$dir/stdout") ||
  fail "no final summary"
[[ $summary =~ lost\ 0\ +duplicates\ 0\ +ineligible\ 0$ ]] || fail "summary: $summary"
[[ $summary =~ assigned\ ([0-9]+) ]] && (( BASH_REMATCH[1] > 0 )) || fail "nothing assigned"
assigned=${BASH_REMATCH[1]}
# The agents act only on offers their streams delivered: every answered contact was one of them.
want='^  agents over gRPC AgentService.Session, 2 gateways: offers received on their streams '
agents_line=$(grep -E "$want[0-9]+  refused actions 0 " "$dir/stdout") ||
  fail "no gRPC agents summary line"
[[ $agents_line =~ streams\ ([0-9]+) ]] && (( BASH_REMATCH[1] >= assigned )) ||
  fail "offers on the agents' streams < assigned $assigned: $agents_line"
for c in "${children[@]}"; do
  kill -0 "$c" 2>/dev/null && fail "child pid $c still running after the demo exited"
done
for r in r1 r2; do
  state=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["state"])' \
    "$dir/data/$r/status.json") || fail "$r: no status file"
  [ "$state" = stopped ] || fail "$r did not stop cleanly: state $state"
done
# No customer's personal data in any log: the demo's follow-ups (complaints, callbacks) carry
# phone numbers +86138/+86139 and 8 digits (tools/loadgen/traffic.cc); none may appear in the
# routers', the broker's or the demo's own output. Follow-ups must have been created, or the
# grep proves nothing.
leaks=$(grep -rlE '\+8613[89][0-9]{8}' "$dir/stdout" "$dir/stderr" "$dir"/data/*.log "$dir"/data/r*/*.log 2>/dev/null || true)
[[ -z $leaks ]] || fail "customer phone numbers in logs: $leaks: $(grep -hoE '.{0,60}\+8613[89][0-9]{8}' $leaks | head -3)"
echo "PASS: dev demo answered ${answered[*]: -3} (last 3 lines), shards $last; $summary;$agents_line"
