// `switchboard broker`: an embedded Kafka-protocol broker for development and tests, built on
// librdkafka's mock cluster. Creates every topic of sb::kafka::kTopics, prints
// `bootstrap=HOST:PORT,...` on stdout and serves until SIGTERM or SIGINT. Never for production.
#pragma once

namespace sb::broker {

// argv[0] is the subcommand name. Runs on the calling thread, which must be the process's main
// thread: it blocks SIGTERM and SIGINT before librdkafka starts its threads (so they inherit the
// mask) and waits for them with sigwait. Exit codes: 0 stopped by SIGTERM/SIGINT (or --help),
// 1 the mock cluster, a topic or the bootstrap file could not be created (message on stderr),
// 2 bad flags (the message names the flag).
int Main(int argc, char** argv);

}  // namespace sb::broker
