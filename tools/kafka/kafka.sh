#!/usr/bin/env bash
# Apache Kafka (KRaft) on loopback for tests, benchmarks and local runs: 1 or 3 brokers, each a
# combined controller+broker, on free ports, in a directory of the caller's. The broker jars are
# fetched once by Maven (tools/kafka/pom.xml, pinned) into a cache outside the repository.
#
#   kafka.sh fetch                        fetch the jars (idempotent); prints the libs directory
#   kafka.sh start DIR [--brokers N] [--set key=value]... [--fresh] [--warm]
#                                         format KRaft storage in DIR, start N brokers (default 1),
#                                         wait until all serve metadata; prints the bootstrap list
#                                         (also in DIR/bootstrap). --set adds broker settings;
#                                         --fresh first stops and removes what DIR held; --warm
#                                         pushes records through so the JVM compiles its paths.
#   kafka.sh stop DIR                     stop every broker of DIR (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh kill DIR NODE                SIGKILL broker NODE (1-based)
#   kafka.sh restart DIR NODE             start broker NODE again on its ports and data
#   kafka.sh wait DIR [N]                 wait until N brokers (default all) serve metadata
#   kafka.sh controller DIR               print the node id of the active KRaft controller
#   kafka.sh reset DIR                    delete every non-internal topic and consumer group
#                                         (a fixture shared by tests; groups with live members
#                                         are left alone)
#   kafka.sh tool DIR CLASS ARGS...       run a Kafka command-line tool against DIR's brokers,
#                                         e.g. `tool DIR org.apache.kafka.tools.TopicCommand --list`
#
# Environment: SB_KAFKA_CACHE (default ~/.cache/switchboard), SB_KAFKA_HEAP (default 512m per
# broker), JAVA (default java).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
CACHE=${SB_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}
LIBS="$CACHE/kafka-$VERSION/libs"
JAVA=${JAVA:-java}
HEAP=${SB_KAFKA_HEAP:-512m}

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] error: %s\n' "$*" >&2; exit 1; }

fetch() {
  if [ -f "$LIBS/.complete" ]; then echo "$LIBS"; return 0; fi
  command -v mvn >/dev/null || die "mvn not found (install Debian's maven)"
  command -v "$JAVA" >/dev/null || die "java not found (install Debian's default-jre-headless)"
  log "fetching Apache Kafka $VERSION from Maven Central into $LIBS"
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >&2 || die "mvn could not fetch org.apache.kafka:kafka_2.13:$VERSION"
  rm -rf "$LIBS"
  mkdir -p "$(dirname "$LIBS")"
  mv "$tmp" "$LIBS"
  touch "$LIBS/.complete"
  echo "$LIBS"
}

free_ports() {  # count: prints that many distinct free loopback ports
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

cluster_id() {  # a Kafka Uuid: 16 random bytes, URL-safe base64 without padding
  python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))'
}

java_run() {  # class args...: a Kafka JVM in the foreground, quiet
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j2.configurationFile="$HERE/log4j2-tools.properties" -cp "$LIBS/*" "$@"
}

broker_pid() {  # DIR NODE
  local f="$1/broker-$2/pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

launch() {  # DIR NODE: start one formatted broker in the background
  local dir=$1 node=$2 b="$1/broker-$2"
  # setsid: the broker is not in the caller's process group, so a test's Ctrl-C or a ctest
  # timeout does not hit it; `stop` ends it.
  setsid "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Xlog:gc:file="$b/gc.log":time,uptime \
    -Djava.awt.headless=true -Dkafka.logs.dir="$b" \
    -Dlog4j2.configurationFile="$HERE/log4j2-broker.properties" \
    -cp "$LIBS/*" kafka.Kafka "$b/server.properties" >"$b/stdout.log" 2>&1 </dev/null &
  echo $! >"$b/pid"
}

brokers_up() {  # BOOTSTRAP: how many brokers the metadata lists (0 when none answers)
  kcat -b "$1" -L -m 3 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p' | head -1 || true
}

wait_brokers() {  # DIR N
  local dir=$1 want=$2 bootstrap
  bootstrap=$(cat "$dir/bootstrap")
  for _ in $(seq 1 240); do
    local n
    n=$(brokers_up "$bootstrap")
    [ "${n:-0}" -ge "$want" ] && return 0
    for p in "$dir"/broker-*/pid; do
      kill -0 "$(cat "$p")" 2>/dev/null && continue
      local d; d=$(dirname "$p")
      [ -f "$d/stopped" ] && continue
      tail -20 "$d/server.log" "$d/stdout.log" >&2 2>/dev/null || true
      die "broker $(basename "$d") exited during start-up (logs in $d)"
    done
    sleep 0.25
  done
  die "$want broker(s) did not serve metadata at $bootstrap within 60 s"
}

start() {
  local dir=$1; shift
  local n=1 sets=() warm_up=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --brokers) n=$2; shift 2 ;;
      --set) sets+=("$2"); shift 2 ;;
      --fresh) stop "$dir"; rm -rf "$dir"; shift ;;
      --warm) warm_up=1; shift ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  [ "$n" -ge 1 ] && [ "$n" -le 5 ] || die "start: --brokers must be 1..5, got $n"
  fetch >/dev/null
  mkdir -p "$dir"
  [ -z "$(ls "$dir"/broker-*/pid 2>/dev/null)" ] || die "start: $dir already holds brokers (stop it first)"
  local ports; read -r -a ports <<<"$(free_ports $((2 * n)))"
  local voters="" bootstrap="" id
  for i in $(seq 1 "$n"); do
    voters+="${voters:+,}$i@127.0.0.1:${ports[$((2 * i - 1))]}"
    bootstrap+="${bootstrap:+,}127.0.0.1:${ports[$((2 * i - 2))]}"
  done
  local rf=$(( n >= 3 ? 3 : n )) isr=$(( n >= 3 ? 2 : 1 ))
  id=$(cluster_id)
  for i in $(seq 1 "$n"); do
    local b="$dir/broker-$i"
    mkdir -p "$b"
    # Logs on tmpfs where there is one: the KRaft controller fsyncs its metadata log on every
    # write, and on a disk shared with a compiler an fsync can stall it for seconds (measured
    # here: controller events of 16 s, group heartbeats timing out). A killed broker still
    # finds its data: tmpfs lives as long as the machine.
    if [ "${SB_KAFKA_TMPFS:-1}" = 1 ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
      local shm; shm=$(mktemp -d /dev/shm/sb-kafka.XXXXXX)
      ln -sfn "$shm" "$b/data"
    else
      mkdir -p "$b/data"
    fi
    {
      echo "process.roles=broker,controller"
      echo "node.id=$i"
      echo "controller.quorum.voters=$voters"
      echo "listeners=PLAINTEXT://127.0.0.1:${ports[$((2 * i - 2))]},CONTROLLER://127.0.0.1:${ports[$((2 * i - 1))]}"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:${ports[$((2 * i - 2))]}"
      echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
      echo "controller.listener.names=CONTROLLER"
      echo "inter.broker.listener.name=PLAINTEXT"
      echo "log.dirs=$b/data"
      echo "num.partitions=1"
      echo "default.replication.factor=$rf"
      echo "min.insync.replicas=$isr"
      echo "offsets.topic.replication.factor=$rf"
      echo "offsets.topic.num.partitions=4"
      echo "transaction.state.log.replication.factor=$rf"
      echo "transaction.state.log.min.isr=$isr"
      echo "share.coordinator.state.topic.replication.factor=$rf"
      echo "share.coordinator.state.topic.min.isr=$isr"
      # Topics are created by the router with the settings it needs, never by a typo.
      echo "auto.create.topics.enable=false"
      # A test's consumer group forms at once (production keeps Kafka's 3 s default).
      echo "group.initial.rebalance.delay.ms=0"
      # Tests fail over in seconds (session.timeout.ms=3000); Kafka's floor is 6 s by default.
      echo "group.min.session.timeout.ms=1000"
      echo "num.network.threads=2"
      echo "num.io.threads=4"
      echo "log.flush.interval.messages=9223372036854775807"
      for kv in ${sets[@]+"${sets[@]}"}; do echo "$kv"; done
    } >"$b/server.properties"
  done
  local t0; t0=$(date +%s%3N)
  # Each format by its pid: `wait -n` may also return for another child of this shell, and a
  # broker started on a half-formatted directory exits ("No readable meta.properties files").
  local formats=()
  for i in $(seq 1 "$n"); do
    java_run kafka.tools.StorageTool format --ignore-formatted -t "$id" \
      -c "$dir/broker-$i/server.properties" >"$dir/broker-$i/format.log" 2>&1 &
    formats+=("$!")
  done
  local rc=0
  for p in "${formats[@]}"; do wait "$p" || rc=$?; done
  [ "$rc" -eq 0 ] || { cat "$dir"/broker-*/format.log >&2; die "formatting KRaft storage failed"; }
  echo "$bootstrap" >"$dir/bootstrap"
  echo "$n" >"$dir/brokers"
  for i in $(seq 1 "$n"); do launch "$dir" "$i"; done
  wait_brokers "$dir" "$n"
  local t1; t1=$(date +%s%3N)
  log "$n broker(s) up in $((t1 - t0)) ms at $bootstrap (cluster $id, data in $dir)"
  if [ "$warm_up" = 1 ]; then
    warm "$dir"
    log "warmed up in $(( $(date +%s%3N) - t1 )) ms"
  fi
  echo "$bootstrap"
}

stop_node() {  # DIR NODE SIGNAL
  local pid
  pid=$(broker_pid "$1" "$2") || return 0
  touch "$1/broker-$2/stopped"
  kill "-$3" "$pid" 2>/dev/null || true
  if [ "$3" = TERM ]; then
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    log "broker $2 ignored SIGTERM for 30 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
}

stop() {
  local dir=$1
  [ -f "$dir/brokers" ] || return 0
  # All at once: a lone survivor of a quorum would wait for its peers' votes.
  for i in $(seq 1 "$(cat "$dir/brokers")"); do stop_node "$dir" "$i" TERM & done
  wait
  rm -f "$dir"/broker-*/pid
  # Data on tmpfs goes with the brokers.
  for d in "$dir"/broker-*/data; do
    [ -L "$d" ] && rm -rf "$(readlink "$d")" && rm -f "$d"
  done
  return 0
}

# A cold JVM interprets the broker's code paths for its first minute and, on 2 busy cores, can
# then answer heartbeats late enough to time group sessions out (measured here). Pushing 200,000
# records through a scratch topic gets produce and fetch compiled first. `reset` deletes it.
warm() {  # DIR
  local dir=$1 bootstrap; bootstrap=$(cat "$dir/bootstrap")
  tool "$dir" org.apache.kafka.tools.TopicCommand --create --topic sb.warm-up --partitions 4 \
    --config cleanup.policy=delete >/dev/null
  seq 1 200000 | kcat -b "$bootstrap" -P -t sb.warm-up -X linger.ms=5 -X acks=all ||
    die "warm-up: producing to $bootstrap failed"
  kcat -b "$bootstrap" -C -t sb.warm-up -o beginning -e -q >/dev/null ||
    die "warm-up: consuming from $bootstrap failed"
}

controller() {  # DIR: the active KRaft controller's node id (the metadata quorum's leader)
  local id
  id=$(tool "$1" org.apache.kafka.tools.MetadataQuorumCommand describe --status 2>/dev/null |
    sed -n 's/^LeaderId:[[:space:]]*\([0-9][0-9]*\).*/\1/p')
  [ -n "$id" ] || die "controller: the brokers of $1 name no quorum leader"
  echo "$id"
}

restart() {  # DIR NODE
  local dir=$1 node=$2
  [ -f "$dir/broker-$node/server.properties" ] || die "restart: no broker $node in $dir"
  ! broker_pid "$dir" "$node" >/dev/null || die "restart: broker $node is running"
  rm -f "$dir/broker-$node/stopped"
  launch "$dir" "$node"
}

tool() {  # DIR CLASS ARGS...
  local dir=$1 cls=$2; shift 2
  java_run "$cls" --bootstrap-server "$(cat "$dir/bootstrap")" "$@"
}

reset() {
  local dir=$1 topics
  topics=$(kcat -b "$(cat "$dir/bootstrap")" -L -J 2>/dev/null | python3 -c '
import json, sys
print("\n".join(t["topic"] for t in json.load(sys.stdin)["topics"] if not t["topic"].startswith("__")))') ||
    die "reset: the brokers of $dir do not answer"
  if [ -n "$topics" ]; then
    tool "$dir" org.apache.kafka.tools.TopicCommand --delete --topic "$(echo "$topics" | paste -sd'|')" \
      >/dev/null
  fi
  # Groups of a previous test: empty ones go now; those whose dead members have not yet timed
  # out are refused and expire by themselves.
  tool "$dir" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --delete --all-groups \
    >/dev/null 2>&1 || true
  # Deletion is asynchronous: wait until the metadata no longer lists them.
  local bootstrap; bootstrap=$(cat "$dir/bootstrap")
  for _ in $(seq 1 120); do
    kcat -b "$bootstrap" -L -m 3 2>/dev/null | grep -q 'topic "sb\.' || return 0
    sleep 0.25
  done
  die "reset: topics still listed 30 s after their deletion"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  fetch) fetch ;;
  start) [ $# -ge 1 ] || die "usage: kafka.sh start DIR [--brokers N] [--set k=v]..."; start "$@" ;;
  stop) [ $# -eq 1 ] || die "usage: kafka.sh stop DIR"; stop "$1" ;;
  kill) [ $# -eq 2 ] || die "usage: kafka.sh kill DIR NODE"; stop_node "$1" "$2" KILL ;;
  restart) [ $# -eq 2 ] || die "usage: kafka.sh restart DIR NODE"; restart "$1" "$2" ;;
  wait) [ $# -ge 1 ] || die "usage: kafka.sh wait DIR [N]"; wait_brokers "$1" "${2:-$(cat "$1/brokers")}" ;;
  reset) [ $# -eq 1 ] || die "usage: kafka.sh reset DIR"; reset "$1" ;;
  controller) [ $# -eq 1 ] || die "usage: kafka.sh controller DIR"; controller "$1" ;;
  tool) [ $# -ge 2 ] || die "usage: kafka.sh tool DIR CLASS ARGS..."; tool "$@" ;;
  *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
