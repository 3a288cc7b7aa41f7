// A router node end to end on librdkafka's mock cluster: a backlog far larger than one poll
// batch is consumed whole — every contact of it offered, none skipped between batches.
#include "router/shard/node.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/config/config.h"
#include "fixtures.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {
namespace {

constexpr int32_t kPartitions = 2;
constexpr int kBacklog = 2500;  // agents and contacts each: several poll batches

TEST(NodeTest, BacklogLargerThanABatchIsConsumedWhole) {
  auto config = config::ParseRoutingConfig(kOneDomainConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  MockKafka kafka(kPartitions);
  const int32_t partition = kafka::PartitionFor("d00", kPartitions);

  auto producer = kafka::Producer::Create(kafka.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < kBacklog; ++i) {
    const std::string agent = "ag" + std::to_string(i), contact = "c" + std::to_string(i);
    ASSERT_TRUE((*producer)
                    ->Produce(kafka::kAgentEventsTopic, partition, agent,
                              Login(agent).SerializeAsString(), {}, 0)
                    .ok());
    ASSERT_TRUE((*producer)
                    ->Produce(kafka::kContactsTopic, partition, contact,
                              Arrive(contact).SerializeAsString(), {}, 0)
                    .ok());
  }
  ASSERT_TRUE((*producer)->Flush(20000).ok());

  const auto dir =
      std::filesystem::temp_directory_path() / ("sb-node-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  NodeOptions options;
  options.bootstrap = kafka.bootstrap();
  options.node_id = "n1";
  options.data_dir = dir.string();
  options.partitions = kPartitions;
  options.status_interval_ms = 0;
  auto node = Node::Start(options, *config);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  std::atomic<bool> stop{false};
  Status run_status;
  std::thread loop([&] { run_status = (*node)->Run(stop); });

  auto reader = kafka::PartitionReader::Create(kafka.bootstrap(), {});
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Assign(kafka::kAssignmentsTopic, partition, 0).ok());
  std::set<std::string> offered;
  const int64_t deadline = MonotonicMs() + 60000;
  while (static_cast<int>(offered.size()) < kBacklog && MonotonicMs() < deadline) {
    auto rec = (*reader)->Poll(20);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec->has_value() || !(*rec)->value) continue;
    pb::ShardOutput out;
    ASSERT_TRUE(out.ParseFromString(*(*rec)->value));
    if (out.decision().type() == pb::DECISION_OFFER) offered.insert(out.decision().contact_id());
  }
  stop = true;
  loop.join();
  EXPECT_TRUE(run_status.ok()) << run_status.ToString();
  EXPECT_EQ(static_cast<int>(offered.size()), kBacklog);
  node->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sb::shard
