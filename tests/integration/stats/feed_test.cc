// StatsFeed against the mock broker: what a report or a wallboard sees after CatchUp.
#include "router/stats/feed.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/mock_kafka.h"

namespace sb::stats {
namespace {

namespace pb = ::switchboard::v1;
using ::sb::testing::MockKafka;
using ::sb::testing::StatsPublisher;

std::string Day(const std::string& queue, const std::string& day, int64_t epoch, uint64_t offered) {
  pb::QueueDay d;
  d.set_queue(queue);
  d.set_day(day);
  d.set_epoch(epoch);
  d.set_offered(offered);
  return d.SerializeAsString();
}

std::string Live(int32_t shard, int64_t epoch, int64_t at_ms, uint32_t waiting) {
  pb::ShardLive s;
  s.set_shard(shard);
  s.set_epoch(epoch);
  s.set_at_ms(at_ms);
  auto* q = s.add_queues();
  q->set_queue("d0" + std::to_string(shard) + ".general");
  q->set_waiting(waiting);
  return s.SerializeAsString();
}

TEST(StatsFeedTest, CatchUpSeesEverythingWithEpochFencingAndGarbageCounted) {
  MockKafka kafka(2);
  StatsPublisher pub(kafka.bootstrap());
  pub.Publish(0, "day/q/2026-11-22", Day("q", "2026-11-22", 3, 10));
  pub.Publish(0, "day/q/2026-11-23", Day("q", "2026-11-23", 3, 20));
  // A zombie owner's late record (epoch 2 after epoch 3) must not win.
  pub.Publish(0, "day/q/2026-11-23", Day("q", "2026-11-23", 2, 999));
  pub.Publish(1, "live/1", Live(1, 1, 50'000, 4));
  pub.Publish(1, "live/1", std::string("\x08\x01\xff\xff garbage", 12));
  pub.Publish(1, "nonsense", std::string("x"));
  pub.Publish(1, "live/1", Live(1, 1, 51'000, 5));

  auto feed = StatsFeed::Open(kafka.bootstrap(), {}, 10'000);
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  EXPECT_EQ((*feed)->partitions(), 2);
  Status st = (*feed)->CatchUp(std::chrono::seconds(20));
  ASSERT_TRUE(st.ok()) << st.ToString();
  const StatsView& v = (*feed)->view();
  auto days = v.Days("2026-11-01", "2026-11-30", "q");
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].offered(), 10u);
  EXPECT_EQ(days[1].offered(), 20u);
  EXPECT_EQ(v.older_ignored(), 1u);
  EXPECT_EQ(v.malformed_total(), 2u);
  EXPECT_EQ(v.malformed().at("unparsable ShardLive"), 1u);
  auto live = v.LiveQueues(52'000);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->second.queue.waiting(), 5u);
  EXPECT_TRUE(v.LiveQueues(70'000).empty());  // stale 10 s later

  // Later records arrive through Poll.
  pub.Publish(1, "live/1", Live(1, 2, 60'000, 9));
  int got = 0;
  for (int i = 0; i < 50 && got == 0; ++i) {
    auto n = (*feed)->Poll(200);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    got += *n;
  }
  EXPECT_EQ((*feed)->view().LiveQueues(60'000).begin()->second.queue.waiting(), 9u);
}

TEST(StatsFeedTest, EmptyTopicCatchesUpAtOnce) {
  MockKafka kafka(3);
  auto feed = StatsFeed::Open(kafka.bootstrap(), {}, 10'000);
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  Status st = (*feed)->CatchUp(std::chrono::seconds(10));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(StatsFeedTest, UnreachableBrokerFailsInBoundedTime) {
  const auto start = std::chrono::steady_clock::now();
  auto feed = StatsFeed::Open("127.0.0.1:1", {}, 1500);
  EXPECT_FALSE(feed.ok());
  EXPECT_EQ(feed.status().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace sb::stats
