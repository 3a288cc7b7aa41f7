#include "support/mock_kafka.h"

#include <gtest/gtest.h>

#include "router/kafka/topics.h"

namespace sb::testing {

MockKafka::MockKafka(int partitions) {
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

MockKafka::~MockKafka() {
  rd_kafka_mock_cluster_destroy(mc_);
  rd_kafka_destroy(rk_);
}

std::vector<kafka::Record> MockKafka::ReadPartition(std::string_view topic,
                                                    int32_t partition) const {
  auto reader = kafka::PartitionReader::Create(bootstrap_, {});
  EXPECT_TRUE(reader.ok());
  auto marks = (*reader)->Watermarks(topic, partition, 5000);
  EXPECT_TRUE(marks.ok());
  EXPECT_TRUE((*reader)->Assign(topic, partition, 0).ok());
  std::vector<kafka::Record> out;
  for (int i = 0; i < 500 && static_cast<int64_t>(out.size()) < marks->second; ++i) {
    auto rec = (*reader)->Poll(20);
    if (rec.ok() && rec->has_value()) out.push_back(std::move(**rec));
  }
  return out;
}

StatsPublisher::StatsPublisher(const std::string& bootstrap) {
  auto p = kafka::Producer::Create(bootstrap, {}, [](uint64_t, int32_t, int64_t, const Status&) {});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (p.ok()) producer_ = std::move(*p);
}

void StatsPublisher::Publish(int32_t partition, const std::string& key,
                             const std::optional<std::string>& value) {
  ASSERT_TRUE(producer_ != nullptr);
  Status st = producer_->Produce(kafka::kStatsTopic, partition, key, value, {}, 0);
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = producer_->Flush(10'000);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

}  // namespace sb::testing
