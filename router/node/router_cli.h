// `switchboard router` command line: the composition root of a router process. It wires the
// shard node (router/shard), the gRPC gateway (router/gateway), the wallboard (router/wallboard)
// and the metrics server together; none of those modules links another of them.
#pragma once

namespace sb::node {

// argv[0] is "router". Exit codes: 0 stopped by signal, 1 cannot start (Kafka unreachable,
// topics disagree), 2 bad flags or config, 3 stopped by a failure (fenced, Kafka delivery).
int RouterMain(int argc, char** argv);

}  // namespace sb::node
