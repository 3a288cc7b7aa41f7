// librdkafka's mock cluster in process, with every Switchboard topic created: a real
// Kafka-protocol broker on a free loopback port, for the integration tests of every module.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>

#include "router/kafka/topics.h"

namespace sb::testing {

class MockKafka {
 public:
  explicit MockKafka(int partitions) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);  // no "no bootstrap" notice
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    mc_ = rd_kafka_mock_cluster_new(rk_, 1);
    for (const auto& t : kafka::kTopics) {
      rd_kafka_mock_topic_create(mc_, std::string(t.name).c_str(), partitions, 1);
    }
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc_);
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(rk_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* mc_;
  std::string bootstrap_;
};

}  // namespace sb::testing
