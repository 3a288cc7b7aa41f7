// The one in-process Kafka of the integration tests (shard, gateway, admin, loadgen, stats):
// librdkafka's mock cluster, a real Kafka-protocol broker on a free loopback port, with every
// Switchboard topic created; what a test reads back from it; and a stand-in for a shard's
// sb.stats producer.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/kafka/client.h"

namespace sb::testing {

// One broker; the test's thread creates and destroys it, clients on any thread use bootstrap().
class MockKafka {
 public:
  // Every topic of router/kafka/topics.h with `partitions` partitions, replication 1.
  explicit MockKafka(int partitions);
  ~MockKafka();
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

  // Every record of one partition, in order, up to its high watermark when called: what was
  // acknowledged before the call. Gives up after 500 polls of 20 ms. Expects (EXPECT_TRUE) a
  // reader to be made, to learn the watermarks and to be assigned.
  std::vector<kafka::Record> ReadPartition(std::string_view topic, int32_t partition) const;

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* mc_;
  std::string bootstrap_;
};

// Publishes to sb.stats the way a shard does and waits for the broker's acknowledgement, for
// the readers' tests (stats feed, report). Failures fail the current test.
class StatsPublisher {
 public:
  explicit StatsPublisher(const std::string& bootstrap);
  // `value` nullopt: a tombstone.
  void Publish(int32_t partition, const std::string& key, const std::optional<std::string>& value);

 private:
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace sb::testing
