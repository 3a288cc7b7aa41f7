// `switchboard router` command line.
#pragma once

namespace sb::shard {

// argv[0] is "router". Exit codes: 0 stopped by signal, 1 cannot start (Kafka unreachable,
// topics disagree), 2 bad flags or config, 3 stopped by a failure (fenced, Kafka delivery).
int RouterMain(int argc, char** argv);

}  // namespace sb::shard
