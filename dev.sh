#!/usr/bin/env bash
# Switchboard developer entry point. Every step is idempotent.
#   ./dev.sh demo          install deps, build, run the embedded demo (switchboard dev)
#   ./dev.sh test          install deps, build (sanitized), run the whole ctest suite
#   ./dev.sh deps          install missing Debian packages only
#   ./dev.sh build         configure + build into build/
#   ./dev.sh bench [NAME]  build (Release) and run benchmarks; NAME=engine writes bench-results/engine.json,
#                          NAME=cluster runs router + loadgen at 5,000/s on the embedded broker
#                          (bench-results/cluster.json) and on Apache Kafka (cluster-kafka.json)
#   ./dev.sh fuzz [SECONDS] build the libFuzzer targets (clang, ASan+UBSan) into build-fuzz/, run each
#                          SECONDS (60), keep inputs with new coverage in tests/fuzz/corpus/<target>;
#                          crashes in fuzz-results/<target>/, table in fuzz-results/summary.tsv
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache clang clang-format clang-tidy
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev librdkafka-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  kcat libclang-rt-dev  # libclang-rt-dev: clang's libFuzzer and sanitizer runtimes (./dev.sh fuzz)
  libboost-dev python3-grpcio python3-grpc-tools prometheus chromium
  default-jre-headless maven  # Apache Kafka for tests and benchmarks (tools/kafka/)
)

log() { printf '[dev.sh] %s\n' "$*" >&2; }

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [cmake args...] [--target TARGET...]
build() {
  local dir=$1; shift
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # Paths inside the checkout hash as relative ones, and the build directory's path not at all: a
  # fresh clone in another folder reuses the cache of an earlier one. (No test finds the tree from
  # __FILE__, which then is relative: tests/support/configs.h.)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  local gen=()
  command -v ninja >/dev/null && [ ! -f "$dir/Makefile" ] && gen=(-G Ninja)
  # Arguments from --target on are the build's (which targets), the others cmake's.
  local config=() targets=()
  while [ $# -gt 0 ]; do
    if [ "$1" = --target ]; then targets=("$@"); break; fi
    config+=("$1"); shift
  done
  cmake -S . -B "$dir" "${gen[@]}" "${launcher[@]}" "${config[@]}" >/dev/null
  cmake --build "$dir" -j "${JOBS:-2}" "${targets[@]}"
}

# fuzz SECONDS: every target of tests/fuzz/CMakeLists.txt for SECONDS each, one after another, on
# a copy of its corpus; what adds coverage is merged back (-merge=1: only inputs that reach new
# edges, so the checked-in corpus stays small; nothing over 64 KiB). Non-zero when a target found
# a crash.
fuzz() {
  local seconds=$1
  [[ $seconds =~ ^[1-9][0-9]*$ ]] || { log "fuzz: SECONDS must be a positive number, not '$seconds'"; exit 2; }
  local max_len=65536
  local targets
  mapfile -t targets < <(sed -n 's/^sb_fuzz_target(\([a-z0-9_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
  # Debian's gRPC and protobuf are built with GCC against libstdc++, which clang links by default.
  CC=clang CXX=clang++ build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_FUZZ=ON -DSB_SANITIZE=ON \
    --target "${targets[@]}"
  mkdir -p fuzz-results
  local summary=fuzz-results/summary.tsv work
  work=$(mktemp -d /tmp/sb-fuzz.XXXXXX)
  trap "rm -rf '$work'" EXIT  # expanded now: $work is gone when the trap runs
  printf 'target\tseconds\texecutions\tcov\tft\tcorpus\tadded\tcrashes\n' >"$summary"
  local t failed=0
  for t in "${targets[@]}"; do
    local out=fuzz-results/$t corpus=tests/fuzz/corpus/$t bin=build-fuzz/tests/fuzz/$t
    rm -rf "$out" "$work/$t"
    mkdir -p "$out" "$work/$t" "$corpus"
    cp -r "$corpus/." "$work/$t/"
    log "fuzz: $t for ${seconds} s"
    local rc=0
    "$bin" "$work/$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$out/" >"$out/fuzz.log" 2>&1 || rc=$?
    local before after
    before=$(find "$corpus" -type f | wc -l)
    # New coverage is new edges (-use_counters=0): new hit counts of known edges would add
    # twice as many files.
    "$bin" -merge=1 -use_counters=0 -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 \
      "$corpus" "$work/$t" >"$out/merge.log" 2>&1 || log "fuzz: $t: merge failed (see $out/merge.log)"
    find "$corpus" -type f -size +64k -newer "$out/fuzz.log" -print -delete
    after=$(find "$corpus" -type f | wc -l)
    local execs status cov ft crashes
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log" | tail -1)
    status=$(grep -E '^#[0-9]+' "$out/fuzz.log" | grep ' cov: ' | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    crashes=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
      -o -name 'leak-*' \) | wc -l)
    if [ "$crashes" -gt 0 ] || { [ "$rc" -ne 0 ] && [ -z "$execs" ]; }; then
      failed=1
      log "fuzz: $t FAILED (exit $rc): $out/fuzz.log"
      grep -m1 -A30 -E '^==[0-9]+==ERROR|^[a-z_]+_fuzz: |deadly signal' "$out/fuzz.log" >&2 || true
      [ "$crashes" -gt 0 ] || crashes=1  # died without an artifact (startup, or an abort in the run)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-0}" "${cov:-?}" "${ft:-?}" \
      "$after" "$((after - before))" "$crashes" >>"$summary"
  done
  column -t -s $'\t' "$summary"
  [ "$failed" -eq 0 ] || { log "fuzz: a target found a crash (fuzz-results/<target>/)"; exit 1; }
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build build -DCMAKE_BUILD_TYPE=Release ;;
  demo)
    deps; build build -DCMAKE_BUILD_TYPE=Release
    exec build/switchboard dev "${@:2}"
    ;;
  test)
    deps
    # Tests run sanitized (ASan+UBSan) in their own tree so the Release build stays fast for demo/bench.
    build build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_SANITIZE=ON
    cd build-test && exec ctest --output-on-failure -j "${JOBS:-2}" "${@:2}"
    ;;
  bench)
    deps; build build -DCMAKE_BUILD_TYPE=Release
    mkdir -p bench-results
    name=${2:-all}
    for b in build/bench/*_bench; do
      n=$(basename "$b" _bench)
      [ "$name" = all ] || [ "$name" = "$n" ] || continue
      "$b" --results "bench-results/$n.json"
    done
    if [ "$name" = all ] || [ "$name" = cluster ]; then
      # The same load on the embedded broker and on Apache Kafka (1 broker, started here); both
      # run even when the first misses its targets.
      failed=0
      bash tests/bench/cluster_bench.sh build/switchboard deploy/config/cluster.yaml \
        bench-results/cluster.json || failed=1
      kdir=$(mktemp -d /tmp/sb-bench-kafka.XXXXXX)
      trap 'bash tools/kafka/kafka.sh stop "$kdir"; rm -rf "$kdir"' EXIT
      bash tools/kafka/kafka.sh start "$kdir" --warm >/dev/null
      SB_TEST_KAFKA_DIR=$kdir bash tests/bench/cluster_bench.sh build/switchboard \
        deploy/config/cluster.yaml bench-results/cluster-kafka.json || failed=1
      [ "$failed" -eq 0 ] || { log "a cluster benchmark missed its targets (above)"; exit 1; }
    fi
    ;;
  fuzz) deps; fuzz "${2:-60}" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
