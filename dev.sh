#!/usr/bin/env bash
# Switchboard developer entry point. Every step is idempotent.
#   ./dev.sh demo          install deps, build, run the embedded demo (switchboard dev)
#   ./dev.sh test          install deps, build (sanitized), run the whole ctest suite
#   ./dev.sh deps          install missing Debian packages only
#   ./dev.sh build         configure + build into build/
#   ./dev.sh bench [NAME]  build (Release) and run benchmarks; NAME=engine writes bench-results/engine.json,
#                          NAME=cluster runs router + loadgen at 5,000/s on the embedded broker
#                          (bench-results/cluster.json) and on Apache Kafka (cluster-kafka.json)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache clang clang-format clang-tidy
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev librdkafka-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  kcat
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

# build DIR [cmake args...]
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
  cmake -S . -B "$dir" "${gen[@]}" "${launcher[@]}" "$@" >/dev/null
  cmake --build "$dir" -j "${JOBS:-2}"
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
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
