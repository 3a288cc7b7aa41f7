// switchboard <subcommand> [flags]: the one binary of the cluster.
#include <cstdio>
#include <cstring>
#include <string>

#include "router/node/router_cli.h"
#include "tools/broker/broker.h"
#include "tools/dead_letters/dead_letters.h"
#include "tools/dev/dev.h"
#include "tools/drill/drill.h"
#include "tools/loadgen/loadgen.h"
#include "tools/privacy/privacy.h"
#include "tools/report/report.h"
#include "tools/sim/sim.h"
#include "tools/staffing/staffing.h"
#include "tools/topics/topics.h"

namespace {

// Command-line output (not a log line): the usage text.
void Usage(FILE* f) {
  std::fputs(
      "usage: switchboard <command> [flags]\n"
      "commands:\n"
      "  broker    embedded Kafka-protocol broker for development and tests (librdkafka mock)\n"
      "  router    a router node of the cluster (--kafka, --node-id, --data-dir, --config)\n"
      "  loadgen   contacts and simulated agents through Kafka; --verify checks exactly-once\n"
      "  dev       demo cluster: broker + 2 routers with simulated agents and traffic\n"
      "  sim       contact-center simulation over the routing engine (what-if, Erlang check)\n"
      "  staffing  Erlang C / Erlang A staffing calculator\n"
      "  report    KPIs per queue and day from sb.stats (--kafka, --from, --to, --format)\n"
      "  topics    check the Kafka topics; --partitions creates missing ones as routers need\n"
      "  dead-letters  print sb.dead-letter: records a shard or gateway could not process\n"
      "  privacy   archive ended follow-ups; erase a customer's personal data (and report where)\n"
      "  followup-drill  follow-up crash drill (kill -9 at will, then --verify)\n"
      "run 'switchboard <command> --help' for its flags\n",
      f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "broker") return sb::broker::Main(argc - 1, argv + 1);
  if (command == "router") return sb::node::RouterMain(argc - 1, argv + 1);
  if (command == "loadgen") return sb::loadgen::Main(argc - 1, argv + 1);
  if (command == "dev") return sb::dev::Main(argc - 1, argv + 1);
  if (command == "sim") return sb::sim::Main(argc - 1, argv + 1);
  if (command == "staffing") return sb::staffing::Main(argc - 1, argv + 1);
  if (command == "report") return sb::report::Main(argc - 1, argv + 1);
  if (command == "topics") return sb::topics::Main(argc - 1, argv + 1);
  if (command == "dead-letters") return sb::dead_letters::Main(argc - 1, argv + 1);
  if (command == "privacy") return sb::privacy::Main(argc - 1, argv + 1);
  if (command == "followup-drill") return sb::drill::Main(argc - 1, argv + 1);
  std::fputs(("switchboard: unknown command \"" + command + "\"\n").c_str(), stderr);
  Usage(stderr);
  return 2;
}
