// A router node end to end on librdkafka's mock cluster: a backlog far larger than one poll
// batch is consumed whole — every contact of it offered, none skipped between batches.
#include "router/shard/node.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/config/config.h"
#include "fixtures.h"
#include "support/running_node.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {
namespace {

using ::sb::testing::Deadline;
using ::sb::testing::NodeOptionsFor;
using ::sb::testing::RunningNode;
using ::sb::testing::TempDir;
using ::sb::testing::WaitUntil;

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

  const TempDir dir("sb-node-test-");
  auto node = RunningNode::Start(
      NodeOptionsFor(kafka.bootstrap(), "n1", dir.path().string(), kPartitions), *config);
  ASSERT_TRUE(node.ok()) << node.status().ToString();

  auto reader = kafka::PartitionReader::Create(kafka.bootstrap(), {});
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Assign(kafka::kAssignmentsTopic, partition, 0).ok());
  std::set<std::string> offered;
  const Deadline deadline(std::chrono::seconds(60));
  while (static_cast<int>(offered.size()) < kBacklog && !deadline.passed()) {
    auto rec = (*reader)->Poll(20);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec->has_value() || !(*rec)->value) continue;
    pb::ShardOutput out;
    ASSERT_TRUE(out.ParseFromString(*(*rec)->value));
    if (out.decision().type() == pb::DECISION_OFFER) offered.insert(out.decision().contact_id());
  }
  const Status run_status = (*node)->Stop();
  EXPECT_TRUE(run_status.ok()) << run_status.ToString();
  EXPECT_EQ(static_cast<int>(offered.size()), kBacklog);
}

// Claiming is slow (restores under ASan on a busy machine take seconds): a node claiming its
// shards must stay a live member of the group. A second node joins while the first is still
// claiming its 6 shards, ~1 s each, with a 3 s session timeout. A node that claims inside the
// rebalance callback cannot rejoin in time and is evicted; its shards are claimed again by the
// other node, which is evicted in turn the same way (3 claims of each shard; in production, a
// fenced router); even unevicted, it claims every shard before giving half of them up. Here
// the first node rejoins between two claims: only the few shards it claimed before each
// rebalance are claimed twice. Both nodes must end up routing a share of the shards,
// every contact of the backlog must be offered, and neither node may fail.
TEST(NodeTest, SlowClaimsDoNotCostTheGroupMembership) {
  constexpr int32_t kShards = 6;
  constexpr int kContacts = 200;
  auto config = config::ParseRoutingConfig(kOneDomainConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  MockKafka kafka(kShards);
  const int32_t partition = kafka::PartitionFor("d00", kShards);
  auto producer = kafka::Producer::Create(kafka.bootstrap(), {}, nullptr);
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < kContacts; ++i) {
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

  const TempDir dir("sb-node-slow-");
  std::atomic<int> claims_started{0};
  auto start = [&](const std::string& id) {
    NodeOptions options =
        NodeOptionsFor(kafka.bootstrap(), id, (dir.path() / id).string(), kShards);
    options.kafka_settings = {{"session.timeout.ms", "3000"}, {"heartbeat.interval.ms", "500"}};
    options.before_claim = [&](int32_t) {
      ++claims_started;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    };
    return RunningNode::Start(options, *config);
  };
  auto n1 = start("n1");
  ASSERT_TRUE(n1.ok()) << n1.status().ToString();
  const Deadline deadline(std::chrono::seconds(60));
  // n2 joins once n1 is claiming; a first claim that never starts shows below as shards unrouted.
  (void)WaitUntil(deadline, [&] { return claims_started > 0; });
  auto n2 = start("n2");
  ASSERT_TRUE(n2.ok()) << n2.status().ToString();  // n1 is stopped as it goes out of scope

  // Settled: every shard routed, by both nodes, for a whole second.
  int64_t settled_since = -1;
  while (!deadline.passed()) {
    const int a = (*n1)->node().routed_shards(), b = (*n2)->node().routed_shards();
    if (a > 0 && b > 0 && a + b == kShards) {
      if (settled_since < 0) settled_since = MonotonicMs();
      if (MonotonicMs() - settled_since >= 1000) break;
    } else {
      settled_since = -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int routed1 = (*n1)->node().routed_shards(), routed2 = (*n2)->node().routed_shards();

  std::set<std::string> offered;
  auto reader = kafka::PartitionReader::Create(kafka.bootstrap(), {});
  Status read_status =
      reader.ok() ? (*reader)->Assign(kafka::kAssignmentsTopic, partition, 0) : reader.status();
  while (read_status.ok() && static_cast<int>(offered.size()) < kContacts && !deadline.passed()) {
    auto rec = (*reader)->Poll(20);
    if (!rec.ok()) read_status = rec.status();
    if (!rec.ok() || !rec->has_value() || !(*rec)->value) continue;
    pb::ShardOutput out;
    if (out.ParseFromString(*(*rec)->value) && out.decision().type() == pb::DECISION_OFFER) {
      offered.insert(out.decision().contact_id());
    }
  }
  // Both at once: a node stopping first would hand its shards to the other, whose claims would
  // count in claims_started below.
  (*n1)->RequestStop();
  (*n2)->RequestStop();
  const Status status1 = (*n1)->Stop(), status2 = (*n2)->Stop();
  EXPECT_TRUE(read_status.ok()) << read_status.ToString();
  EXPECT_TRUE(status1.ok()) << status1.ToString();
  EXPECT_TRUE(status2.ok()) << status2.ToString();
  EXPECT_GT(routed1, 0);
  EXPECT_GT(routed2, 0);
  EXPECT_EQ(routed1 + routed2, kShards);
  EXPECT_EQ(static_cast<int>(offered.size()), kContacts);
  // Each shard once, plus a few the first node claimed before a rebalance reached it; claiming
  // inside the rebalance callback makes it 2 * kShards, each eviction kShards more.
  EXPECT_LT(claims_started.load(), 2 * kShards) << "claims held up the rebalances";
}

}  // namespace
}  // namespace sb::shard
