// What a shard publishes to sb.stats, from a real engine on a manual clock: the day's counters
// (one definition with the engine's: short abandons, test and outbound contacts apart), the live
// snapshot, the day change, and a new owner publishing the same numbers from the meta record.
#include "router/shard/stats_book.h"

#include <gtest/gtest.h>

#include <map>

#include "unit/engine/engine_fixture.h"

namespace sb::shard {
namespace {

namespace pb = ::switchboard::v1;

constexpr int64_t kDayMs = 24 * 3600 * 1000;

class StatsBookTest : public engine::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    clock_.SetMs(10 * kDayMs + 8 * 3600 * 1000);  // 1970-01-11 08:00 UTC
    book_ = std::make_unique<StatsBook>(&config_, 0, 1);
  }

  // Collect() as key -> record bytes.
  std::map<std::string, std::string> Collect(StatsBook& book) {
    std::map<std::string, std::string> out;
    for (auto& [k, v] : book.Collect(clock_.NowMs(), 3, "r1", engine_->Summarize(), nullptr)) {
      out[k] = v;
    }
    return out;
  }
  static pb::QueueDay Day(const std::map<std::string, std::string>& records,
                          const std::string& key) {
    pb::QueueDay d;
    auto it = records.find(key);
    EXPECT_NE(it, records.end()) << key;
    if (it != records.end()) {
      EXPECT_TRUE(d.ParseFromString(it->second));
    }
    return d;
  }
  void Abandon(const std::string& id) {
    Do([&](engine::Decisions* o) { return engine_->ContactAbandoned(id, o); });
  }

  std::unique_ptr<StatsBook> book_;
};

TEST_F(StatsBookTest, CountsTheDayLikeTheEngineAndPublishesOnlyChanges) {
  Collect(*book_);  // the day's baselines
  Login("a1", {{"sales", 3}});
  Arrive("c1", "sales");  // offered to a1 at once
  clock_.AdvanceMs(2000);
  Accept("a1", "c1");  // answered after 2 s: within the 20 s threshold
  Arrive("c2", "sales");
  clock_.AdvanceMs(3000);
  Abandon("c2");  // 3 s: a short abandon
  Arrive("c3", "sales");
  clock_.AdvanceMs(30000);
  Abandon("c3");  // 30 s: abandoned
  pb::Contact test = MakeContact("t1", "sales");
  test.mutable_flags()->set_test(true);
  Arrive(test);
  Abandon("t1");
  pb::Contact callback = MakeContact("cb1", "sales");
  callback.mutable_flags()->set_outbound(true);
  Arrive(callback);
  clock_.AdvanceMs(60000);
  End("c1");
  WrapUp("a1");  // frees a1, who is offered cb1

  auto records = Collect(*book_);
  const pb::QueueDay d = Day(records, "day/sales/1970-01-11");
  EXPECT_EQ(d.offered(), 3u);
  EXPECT_EQ(d.answered(), 1u);
  EXPECT_EQ(d.answered_within_sl(), 1u);
  EXPECT_EQ(d.abandoned_short(), 1u);
  EXPECT_EQ(d.abandoned(), 1u);
  EXPECT_DOUBLE_EQ(d.answered_wait_s_sum(), 2.0);
  EXPECT_EQ(d.handled(), 1u);
  EXPECT_EQ(d.excluded_test(), 1u);
  EXPECT_EQ(d.outbound_offered(), 1u);
  EXPECT_EQ(d.epoch(), 3);
  EXPECT_DOUBLE_EQ(d.sl_threshold_s(), 20);

  pb::ShardLive live;
  ASSERT_TRUE(live.ParseFromString(records.at("live/0")));
  EXPECT_EQ(live.node_id(), "r1");
  bool saw_sales = false;
  for (const pb::QueueLive& q : live.queues()) {
    if (q.queue() != "sales") continue;
    saw_sales = true;
    EXPECT_EQ(q.today().offered(), 3u);
  }
  EXPECT_TRUE(saw_sales);

  // Nothing changed: only the live record again.
  records = Collect(*book_);
  EXPECT_EQ(records.size(), 1u);
  EXPECT_TRUE(records.count("live/0"));
}

TEST_F(StatsBookTest, DayChangeClosesTheOldDayAndANewOwnerContinuesFromTheMeta) {
  Login("a1", {{"sales", 3}});
  Arrive("c1", "sales");
  Accept("a1", "c1");
  Collect(*book_);  // a fresh book counts from its first call: c1 is in the baseline
  Arrive("c2", "sales");

  // Midnight passes: the old day's final record, then today's from zero.
  clock_.SetMs(11 * kDayMs + 1000);
  Arrive("c3", "sales");
  auto records = Collect(*book_);
  EXPECT_EQ(Day(records, "day/sales/1970-01-11").offered(), 2u);  // c3 came before this call
  EXPECT_EQ(Day(records, "day/sales/1970-01-12").offered(), 0u);
  Arrive("c4", "sales");
  records = Collect(*book_);
  EXPECT_EQ(Day(records, "day/sales/1970-01-12").offered(), 1u);

  // A new owner restores the meta the old one wrote with its last group.
  pb::ShardMeta meta;
  book_->SaveTo(&meta);
  EXPECT_EQ(meta.stats_day(), "1970-01-12");
  StatsBook successor(&config_, 0, 1);
  successor.Restore(meta);
  records = Collect(successor);
  EXPECT_EQ(Day(records, "day/sales/1970-01-12").offered(), 1u);
  EXPECT_FALSE(records.count("day/sales/1970-01-11"));
}

TEST_F(StatsBookTest, OnlyTheShardsOwnDomainsArePublished) {
  // Two partitions: each queue's records come from the shard of its domain only.
  std::map<std::string, int> seen;
  for (int32_t p = 0; p < 2; ++p) {
    StatsBook book(&config_, p, 2);
    for (auto& [k, v] : book.Collect(clock_.NowMs(), 1, "r1", engine_->Summarize(), nullptr)) {
      if (k.rfind("day/", 0) == 0) ++seen[k];
    }
  }
  ASSERT_FALSE(seen.empty());
  for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << key;
}

TEST(UtcDayTest, FormatsUtcDates) {
  EXPECT_EQ(UtcDay(0), "1970-01-01");
  EXPECT_EQ(UtcDay(kDayMs - 1), "1970-01-01");
  EXPECT_EQ(UtcDay(kDayMs), "1970-01-02");
  EXPECT_EQ(UtcDay(1795392000000), "2026-11-23");
}

}  // namespace
}  // namespace sb::shard
