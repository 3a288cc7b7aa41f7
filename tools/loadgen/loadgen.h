// switchboard loadgen: contacts and simulated agents through Kafka, with end-to-end verification.
#pragma once

namespace sb::loadgen {

// argv[0] is "loadgen". Exit codes: 0 done (and, with --verify, nothing lost, duplicated,
// ineligible or over an agent's capacity), 1 verification failed or Kafka or a gateway failed,
// 2 bad flags or config.
int Main(int argc, char** argv);

}  // namespace sb::loadgen
