// Shared by the shard integration tests: librdkafka's mock cluster in process, with every
// Switchboard topic created (a real Kafka-protocol broker on a free loopback port), a one-domain
// routing config and the input events the tests send.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "router/kafka/topics.h"
#include "router/shard/shard.h"
#include "switchboard/v1/events.pb.h"
#include "tests/integration/mock_kafka.h"

namespace sb::shard {

using ::sb::testing::MockKafka;

// One domain, one queue that any agent with the general skill serves.
inline constexpr char kOneDomainConfig[] = R"(
skills: [{name: general}]
domains: [{name: d00}]
queues:
  - {name: d00.general, domain: d00, strategy: LONGEST_IDLE,
     required_skills: [{skill: general, min_proficiency: 1}], offer_timeout_s: 600}
)";

namespace pb = ::switchboard::v1;

inline pb::RoutingEvent Login(const std::string& agent) {
  pb::RoutingEvent ev;
  auto* a = ev.mutable_agent_login()->mutable_agent();
  a->set_id(agent);
  a->set_domain("d00");
  auto* s = a->add_skills();
  s->set_skill("general");
  s->set_proficiency(3);
  ev.mutable_agent_login()->set_ready(true);
  return ev;
}

inline pb::RoutingEvent Arrive(const std::string& contact) {
  pb::RoutingEvent ev;
  auto* c = ev.mutable_contact_arrived()->mutable_contact();
  c->set_id(contact);
  c->set_queue("d00.general");
  c->set_channel(pb::CHANNEL_VOICE);
  return ev;
}

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
    dir_ = std::filesystem::temp_directory_path() /
           ("sb-shard-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Owner MakeOwner(const std::string& node, int32_t partition,
                  const followup::Settings* followups = nullptr) {
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
    so.store_dir = (dir_ / node / std::to_string(partition)).string();
    so.bootstrap = kafka_.bootstrap();
    so.restore_timeout_ms = 20000;
    so.partitions = partitions_;
    so.followups = followups;
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

  static void Settle(Owner& o) {
    ASSERT_TRUE(o.shard->Flush().ok() || !o.shard->failure().ok());
    ASSERT_TRUE(o.producer->Flush(10000).ok());
  }

  // Every record of one partition, in order.
  std::vector<kafka::Record> ReadAll(std::string_view topic, int32_t partition) {
    auto reader = kafka::PartitionReader::Create(kafka_.bootstrap(), {});
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

  MockKafka kafka_;
  int32_t partitions_ = 1;
  pb::RoutingConfig config_;
  ManualClock clock_;
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<Shard*>> targets_;
};

}  // namespace sb::shard
