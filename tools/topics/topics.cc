#include "tools/topics/topics.h"

#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "router/kafka/client.h"
#include "router/kafka/topics.h"

namespace sb::topics {
namespace {

void PrintTable(int32_t partitions, int replication) {
  const std::string header = "settings (replication " + std::to_string(replication) + ")";
  std::printf("%-22s %10s  %s\n", "topic", "partitions", header.c_str());
  for (const kafka::TopicSpec& t : kafka::kTopics) {
    std::string settings;
    for (const auto& [k, v] : kafka::RequiredTopicSettings(t.name, replication)) {
      settings += (settings.empty() ? "" : " ") + k + "=" + v;
    }
    const std::string count = partitions > 0 ? std::to_string(partitions) : "same";
    std::printf("%-22s %10s  %s\n", std::string(t.name).c_str(), count.c_str(), settings.c_str());
  }
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "Checks the Switchboard topics of a Kafka cluster (same partition count everywhere, "
      "cleanup.policy compact or delete as each needs) and, with --partitions, creates the "
      "missing ones with the router's settings.",
      "switchboard topics"};
  std::string bootstrap;
  int32_t partitions = 0;
  int timeout_ms = 15000;
  std::vector<std::string> settings;
  bool print_only = false;
  app.add_option("--kafka", bootstrap, "Kafka bootstrap servers (host:port,...)");
  app.add_option("--partitions", partitions, "create missing topics with this many partitions")
      ->check(CLI::Range(1, 100000));
  app.add_option("--kafka-setting", settings, "extra librdkafka setting key=value (repeatable)");
  app.add_option("--timeout-ms", timeout_ms, "give up reaching Kafka after this")
      ->check(CLI::PositiveNumber);
  app.add_flag("--print", print_only,
               "print the topics and the settings to create them with (3 brokers), then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (print_only) {
    PrintTable(partitions, 3);
    return 0;
  }
  if (bootstrap.empty()) {
    std::fprintf(stderr, "topics: --kafka is required (or --print)\n");
    return 2;
  }
  auto parsed = kafka::ParseSettings(settings);
  if (!parsed.ok()) {
    std::fprintf(stderr, "topics: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const kafka::Settings& extra = *parsed;
  auto n = kafka::EnsureTopics(bootstrap, partitions, timeout_ms, extra);
  if (!n.ok()) {
    std::fprintf(stderr, "topics: %s\n", n.status().message().c_str());
    return 1;
  }
  auto brokers = kafka::ClusterBrokers(bootstrap, timeout_ms, extra);
  if (!brokers.ok()) {
    std::fprintf(stderr, "topics: %s\n", brokers.status().message().c_str());
    return 1;
  }
  PrintTable(*n, kafka::ReplicationFor(*brokers));
  return 0;
}

}  // namespace sb::topics
