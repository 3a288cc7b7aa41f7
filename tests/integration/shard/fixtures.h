// Shared by the shard integration tests: shards of one or several owners on the in-process Kafka
// (support/mock_kafka.h), with their stores in a temp dir, fed by hand; the one-domain world of
// support/one_domain.h.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/kafka/dead_letter.h"
#include "router/kafka/topics.h"
#include "router/shard/shard.h"
#include "support/mock_kafka.h"
#include "support/one_domain.h"
#include "support/temp_dir.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"

namespace sb::shard {

using ::sb::testing::Arrive;
using ::sb::testing::kOneDomainConfig;
using ::sb::testing::Login;
using ::sb::testing::MockKafka;

namespace pb = ::switchboard::v1;

// One router node's worth of shard: its producer and its local store directory.
// Members in this order: the producer goes first, and its final flush still reaches the shard.
struct Owner {
  std::unique_ptr<Shard> shard;
  std::unique_ptr<kafka::Producer> producer;
};

// A mock cluster, a routing config, a manual clock and a temp dir for the shards' stores.
class ShardFixture : public ::testing::Test {
 protected:
  ShardFixture(int32_t partitions, int64_t start_ms) : kafka_(partitions), clock_(start_ms) {
    partitions_ = partitions;
  }

  void SetUpConfig(const std::string& yaml) {
    auto config = config::ParseRoutingConfig(yaml);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
  }

  Owner MakeOwner(const std::string& node, int32_t partition,
                  const followup::Settings* followups = nullptr,
                  SnapshotPolicy::Options snapshots = {}) {
    Owner o;
    Shard** target = new Shard*(nullptr);  // filled below; owned by the callback
    auto producer = kafka::Producer::Create(
        kafka_.bootstrap(), {},
        [target](uint64_t token, int32_t, int64_t offset, const Status& st) {
          if (*target != nullptr) (*target)->OnDelivery(token, offset, st);
        });
    EXPECT_TRUE(producer.ok());
    o.producer = std::move(*producer);
    ShardOptions so;
    so.node_id = node;
    so.partition = partition;
    so.store_dir = (dir_.path() / node / std::to_string(partition)).string();
    so.bootstrap = kafka_.bootstrap();
    so.restore_timeout_ms = 20000;
    so.partitions = partitions_;
    so.followups = followups;
    so.snapshots = snapshots;
    so.reserve_identities = reserve_identities_;
    so.configs = configs_;
    so.config_wait_ms = 50;
    o.shard = std::make_unique<Shard>(
        so, &config_, &clock_,
        Producers{.changelog = o.producer.get(), .outputs = o.producer.get()});
    *target = o.shard.get();
    targets_.emplace_back(target);
    return o;
  }

  static kafka::Record Input(std::string_view topic, int32_t partition, int64_t offset,
                             const pb::RoutingEvent& ev) {
    kafka::Record r;
    r.topic = std::string(topic);
    r.partition = partition;
    r.offset = offset;
    r.value = ev.SerializeAsString();
    return r;
  }

  // The records of sb.dead-letter's `partition`.
  std::vector<pb::DeadLetter> DeadLetters(int32_t partition) const {
    std::vector<pb::DeadLetter> letters;
    for (const kafka::Record& r : kafka_.ReadPartition(kafka::kDeadLetterTopic, partition)) {
      EXPECT_TRUE(r.value && letters.emplace_back().ParseFromString(*r.value)) << r.key;
      EXPECT_EQ(r.key, kafka::DeadLetterKey(letters.back()));
    }
    return letters;
  }

  static void Settle(Owner& o) {
    ASSERT_TRUE(o.shard->Flush().ok() || !o.shard->failure().ok());
    ASSERT_TRUE(o.producer->Flush(10000).ok());
  }

  MockKafka kafka_;
  int32_t partitions_ = 1;
  // Off by default: one shard alone, no home shard answers (router/engine identity tests do).
  bool reserve_identities_ = false;
  control::ConfigSource* configs_ = nullptr;  // where ConfigChanged markers' versions are found
  pb::RoutingConfig config_;
  ManualClock clock_;
  const ::sb::testing::TempDir dir_{"sb-shard-test-"};
  std::vector<std::unique_ptr<Shard*>> targets_;
};

}  // namespace sb::shard
