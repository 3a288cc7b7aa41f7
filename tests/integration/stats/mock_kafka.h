// librdkafka's mock cluster in process with every Switchboard topic, and a helper that publishes
// sb.stats records the way a shard does (a stand-in for the producer side in these tests).
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <optional>
#include <string>

#include "router/kafka/client.h"
#include "router/kafka/topics.h"
#include "tests/integration/mock_kafka.h"

namespace sb::stats::testing {

using ::sb::testing::MockKafka;

// Publishes to sb.stats and waits for the broker's acknowledgement.
class StatsPublisher {
 public:
  explicit StatsPublisher(const std::string& bootstrap) {
    auto p =
        kafka::Producer::Create(bootstrap, {}, [](uint64_t, int32_t, int64_t, const Status&) {});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (p.ok()) producer_ = std::move(*p);
  }
  void Publish(int32_t partition, const std::string& key, const std::optional<std::string>& value) {
    ASSERT_TRUE(producer_ != nullptr);
    Status st = producer_->Produce(kafka::kStatsTopic, partition, key, value, {}, 0);
    ASSERT_TRUE(st.ok()) << st.ToString();
    st = producer_->Flush(10'000);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

 private:
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace sb::stats::testing
